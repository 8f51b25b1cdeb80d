/*
 * slice.c - string slices and cursor parsing helpers.
 */
#include "slice.h"

#include <string.h>

static inline unsigned char
lc(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static inline bool
is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

struct bnc_slice
slice_trim(struct bnc_slice s)
{
    while (s.len && is_ws(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len && is_ws(s.p[s.len - 1])) {
        s.len--;
    }
    return s;
}

/* How common each byte is in mail text (higher = more common); the search anchors on the
 * needle's least common byte so memchr stops rarely. Letters rank by English frequency
 * ("etaoinshrdlcumwfgypbvkjxqz", either case), white space and punctuation of headers and
 * separators above them, everything else below. A table, not a function: the ranking is
 * looked up for every needle byte of every search. */
#define FC_LETTER(l, v) [l] = v, [l - 32] = v
static const unsigned char find_commonness[256] = {
    FC_LETTER('e', 99), FC_LETTER('t', 98), FC_LETTER('a', 97), FC_LETTER('o', 96),
    FC_LETTER('i', 95), FC_LETTER('n', 94), FC_LETTER('s', 93), FC_LETTER('h', 92),
    FC_LETTER('r', 91), FC_LETTER('d', 90), FC_LETTER('l', 89), FC_LETTER('c', 88),
    FC_LETTER('u', 87), FC_LETTER('m', 86), FC_LETTER('w', 85), FC_LETTER('f', 84),
    FC_LETTER('g', 83), FC_LETTER('y', 82), FC_LETTER('p', 81), FC_LETTER('b', 80),
    FC_LETTER('v', 79), FC_LETTER('k', 78), FC_LETTER('j', 77), FC_LETTER('x', 76),
    FC_LETTER('q', 75), FC_LETTER('z', 74), /* letters */
    [' '] = 100,        ['-'] = 85,         ['.'] = 85,         ['\n'] = 85,
    ['\r'] = 85,        ['='] = 85,
};
#undef FC_LETTER

/* Anchored on the needle's least common byte; the next occurrence of each case of that byte
 * is remembered, so memchr passes every byte of the haystack at most twice (linear). This is
 * the one case-insensitive search of bounced: the parse layer's text_find_ci and the format
 * recognizers' fmt_find_ci call it. */
const char *
mem_find_ci(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    unsigned char lo, up;
    const char *end, *a, *b, *p, *base;
    size_t j, k = 0;
    int best = 1000;

    if (nlen == 0) {
        return hay;
    }
    if (hay == NULL || nlen > hlen) {
        return NULL;
    }
    for (j = 0; j < nlen && j < 64; j++) {
        int c = find_commonness[(unsigned char)needle[j]];
        if (c == 0) {
            c = 50; /* digits, punctuation, 8-bit: rarer than any letter */
        }
        if (c < best) {
            best = c;
            k = j;
        }
    }
    lo = lc((unsigned char)needle[k]);
    up = (lo >= 'a' && lo <= 'z') ? (unsigned char)(lo - 32) : lo;
    /* the anchor byte of a match lies in [hay + k, end) */
    end = hay + (hlen - nlen + 1) + k;
    a = memchr(hay + k, lo, (size_t)(end - (hay + k)));
    b = up != lo ? memchr(hay + k, up, (size_t)(end - (hay + k))) : NULL;
    while (a != NULL || b != NULL) {
        p = (a == NULL) ? b : (b == NULL ? a : (a < b ? a : b));
        base = p - k;
        for (j = 0; j < nlen; j++) {
            if (lc((unsigned char)base[j]) != lc((unsigned char)needle[j])) {
                break;
            }
        }
        if (j == nlen) {
            return base;
        }
        if (p == a) {
            a = p + 1 < end ? memchr(p + 1, lo, (size_t)(end - p - 1)) : NULL;
        } else {
            b = p + 1 < end ? memchr(p + 1, up, (size_t)(end - p - 1)) : NULL;
        }
    }
    return NULL;
}

int
cur_skip_ws(const char **pp, const char *end)
{
    const char *p = *pp;
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    *pp = p;
    return 0;
}

int
cur_char(const char **pp, const char *end, char c)
{
    if (*pp < end && **pp == c) {
        (*pp)++;
        return 0;
    }
    return 1;
}

int
cur_lit_ci(const char **pp, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(end - *pp) < n || !slice_prefix_ci(slice_make(*pp, n), lit)) {
        return 1;
    }
    *pp += n;
    return 0;
}

int
cur_until(const char **pp, const char *end, char stop, struct bnc_slice *out)
{
    const char *q = memchr(*pp, stop, (size_t)(end - *pp));
    if (q == NULL) {
        return 1;
    }
    out->p = *pp;
    out->len = (size_t)(q - *pp);
    *pp = q;
    return 0;
}

int
cur_digits(const char **pp, const char *end, size_t min, size_t max, struct bnc_slice *out)
{
    const char *p = *pp;
    size_t n = 0;

    while (p < end && *p >= '0' && *p <= '9' && n < max + 1) {
        p++;
        n++;
    }
    if (n < min || n > max) {
        return 1;
    }
    out->p = *pp;
    out->len = n;
    *pp = p;
    return 0;
}
