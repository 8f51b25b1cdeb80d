/*
 * slice.h - string slices and cursor parsing helpers (curl strparse in spirit).
 *
 * A slice is a (pointer, length) pair into memory owned by someone else (the message buffer
 * or an arena); it is never NUL-terminated by contract. Cursor helpers advance a
 * `const char **pp` within [*pp, end) and return 0 on success, non-zero when the expected
 * token is not there (leaving *pp unchanged), so calls chain with ||.
 */
#ifndef BNC_CORE_SLICE_H
#define BNC_CORE_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

struct bnc_slice {
    const char *p;
    size_t len;
};

#define SLICE_NULL ((struct bnc_slice){NULL, 0})

static inline struct bnc_slice
slice_make(const char *p, size_t len)
{
    struct bnc_slice s = {p, len};
    return s;
}

struct bnc_slice slice_trim(struct bnc_slice s); /* strips ASCII white space both ends */
/* Literal comparisons are inline: callers pass string literals, whose strlen the compiler
 * folds, and most comparisons fail on the length or the first byte. */
static inline unsigned char
slice_lc(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static inline bool
slice_mem_eq_ci(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x != y && slice_lc(x) != slice_lc(y)) { /* (most bytes are equal as they are) */
            return false;
        }
    }
    return true;
}

/* whole-slice, ASCII case-insensitive */
static inline bool
slice_eq_ci(struct bnc_slice s, const char *lit)
{
    size_t n = strlen(lit);

    return n == s.len && slice_mem_eq_ci(s.p, lit, n);
}

/* starts with lit, case-insensitive */
static inline bool
slice_prefix_ci(struct bnc_slice s, const char *lit)
{
    size_t n = strlen(lit);

    return n <= s.len && slice_mem_eq_ci(s.p, lit, n);
}
#if defined(__SSE2__)
/* Which of the sixteen bytes at p are spaces (the result, bit i for p[i]) and which are other
 * white space or NUL (*ctl: tab, CR, LF, NUL): the masks the white-space folding loops test
 * sixteen bytes at a time (report_diag, fmt_smtp_command_wrapped). */
static inline unsigned
mem_ws16(const char *p, unsigned *ctl)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    *ctl = (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')),
                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))),
                     _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
                                  _mm_cmpeq_epi8(v, _mm_setzero_si128()))));
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')));
}
#endif

/* The first '\n' in [p, end), or NULL: memchr for the short lines of a header block, inline
 * (thirty-two bytes a step with SSE2, one test for both halves), so walking a block line by
 * line costs no call a line. */
static inline const char *
mem_nl(const char *p, const char *end)
{
#if defined(__SSE2__)
    const __m128i nl = _mm_set1_epi8('\n');
    while (end - p >= 32) {
        unsigned lo = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), nl));
        unsigned hi = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16)), nl));
        unsigned m = lo | (hi << 16);
        if (m != 0) {
            return p + __builtin_ctz(m);
        }
        p += 32;
    }
    if (end - p >= 16) {
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), nl));
        if (m != 0) {
            return p + __builtin_ctz(m);
        }
        p += 16;
    }
#endif
    for (; p < end; p++) {
        if (*p == '\n') {
            return p;
        }
    }
    return NULL;
}

/* First case-insensitive occurrence of needle (ASCII) in hay, or NULL. Linear in practice. */
const char *mem_find_ci(const char *hay, size_t hlen, const char *needle, size_t nlen);
/* First exact occurrence of needle in hay, or NULL (memmem, which C11 and POSIX lack). */
const char *mem_find(const char *hay, size_t hlen, const char *needle, size_t nlen);

/* Cursor helpers: 0 on success, 1 on mismatch (cursor untouched). */
int cur_skip_ws(const char **pp, const char *end); /* spaces/tabs; always 0 */
int cur_char(const char **pp, const char *end, char c);
int cur_lit_ci(const char **pp, const char *end, const char *lit);
int cur_until(const char **pp, const char *end, char stop, struct bnc_slice *out);
int cur_digits(const char **pp, const char *end, size_t min, size_t max, struct bnc_slice *out);

#endif
