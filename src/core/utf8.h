/*
 * utf8.h - UTF-8 validation helpers. Pure functions over (ptr, len); no allocation.
 */
#ifndef BNC_CORE_UTF8_H
#define BNC_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1-4) of the valid UTF-8 sequence at p, or 0 when it is not valid (overlongs,
 * surrogates and code points past U+10FFFF are invalid). */
size_t utf8_valid_len(const unsigned char *p, size_t n);
bool utf8_valid(const char *p, size_t n);
/* True when no byte of p[0..n) has its high bit set (plain ASCII). */
bool utf8_ascii(const char *p, size_t n);

#endif
