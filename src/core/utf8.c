/*
 * utf8.c - UTF-8 validation (RFC 3629 §4 syntax: no overlongs, no surrogates).
 */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The length of the run of ASCII bytes at p[0..n): sixteen bytes at a time (SSE2), else eight,
 * then byte by byte. */
static size_t
utf8_ascii_run(const char *p, size_t n)
{
    size_t i = 0;
    uint64_t w;

#if defined(__SSE2__)
    for (; n - i >= 16; i += 16) {
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_loadu_si128((const __m128i *)(const void *)(p + i)));
        if (m != 0) {
            return i + (size_t)__builtin_ctz(m);
        }
    }
#endif
    for (; n - i >= 8; i += 8) {
        memcpy(&w, p + i, 8);
        if (w & UINT64_C(0x8080808080808080)) {
            break;
        }
    }
    while (i < n && (unsigned char)p[i] < 0x80) {
        i++;
    }
    return i;
}

size_t
utf8_valid_len(const unsigned char *p, size_t n)
{
    unsigned char c;

    if (n == 0) {
        return 0;
    }
    c = p[0];
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        return (n >= 2 && (p[1] & 0xc0) == 0x80) ? 2 : 0;
    }
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80) {
            return 0;
        }
        if (c == 0xe0 && p[1] < 0xa0) {
            return 0;
        }
        if (c == 0xed && p[1] >= 0xa0) {
            return 0;
        }
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80) {
            return 0;
        }
        if (c == 0xf0 && p[1] < 0x90) {
            return 0;
        }
        if (c == 0xf4 && p[1] >= 0x90) {
            return 0;
        }
        return 4;
    }
    return 0;
}

bool
utf8_ascii(const char *p, size_t n)
{
    return utf8_ascii_run(p, n) == n;
}

/* Mail text is mostly ASCII: whole runs of it are skipped (utf8_ascii_run), and the sequence
 * check is only for the rest. */
bool
utf8_valid(const char *p, size_t n)
{
    size_t i = 0, l;

    while (i < n) {
        i += utf8_ascii_run(p + i, n - i);
        if (i >= n) {
            break;
        }
        l = utf8_valid_len((const unsigned char *)p + i, n - i);
        if (l == 0) {
            return false;
        }
        i += l;
    }
    return true;
}
