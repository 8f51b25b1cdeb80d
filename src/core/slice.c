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

bool
slice_eq_ci(struct bnc_slice s, const char *lit)
{
    size_t n = strlen(lit), i;

    if (n != s.len) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (lc((unsigned char)s.p[i]) != lc((unsigned char)lit[i])) {
            return false;
        }
    }
    return true;
}

bool
slice_prefix_ci(struct bnc_slice s, const char *lit)
{
    size_t n = strlen(lit), i;

    if (n > s.len) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (lc((unsigned char)s.p[i]) != lc((unsigned char)lit[i])) {
            return false;
        }
    }
    return true;
}

/* How common a byte is in mail text (higher = more common); the search anchors on the
 * needle's least common byte so memchr stops rarely. */
static int
find_commonness(unsigned char c)
{
    static const char order[] = "etaoinshrdlcumwfgypbvkjxqz";
    const char *q;

    c = lc(c);
    if (c == ' ') {
        return 100;
    }
    if (c >= 'a' && c <= 'z') {
        q = memchr(order, c, sizeof(order) - 1);
        return 99 - (int)(q - order);
    }
    if (c == '-' || c == '.' || c == '\n' || c == '\r' || c == '=') {
        return 85;
    }
    return 50;
}

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
        int c = find_commonness((unsigned char)needle[j]);
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
