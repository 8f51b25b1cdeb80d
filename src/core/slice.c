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

const char *
mem_find_ci(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    unsigned char f0, f1;
    const char *na = NULL, *nb = NULL, *p;
    size_t i, j, last;

    if (nlen == 0) {
        return hay;
    }
    if (nlen > hlen) {
        return NULL;
    }
    f0 = lc((unsigned char)needle[0]);
    f1 = (unsigned char)((f0 >= 'a' && f0 <= 'z') ? f0 - 32 : f0);
    last = hlen - nlen; /* the last start position */
    i = 0;
    /* Candidates for the first byte come from memchr on each case. The next position of
     * each case is remembered and searched again only once the scan has passed it, so the
     * whole search reads the haystack a bounded number of times (linear, not quadratic). */
    while (i <= last) {
        if (na == NULL || na < hay + i) {
            na = memchr(hay + i, f0, last + 1 - i);
            if (na == NULL) {
                na = hay + hlen; /* none left */
            }
        }
        if (f1 != f0 && (nb == NULL || nb < hay + i)) {
            nb = memchr(hay + i, f1, last + 1 - i);
            if (nb == NULL) {
                nb = hay + hlen;
            }
        }
        p = (f1 == f0 || na < nb) ? na : nb;
        if (p >= hay + hlen) {
            return NULL;
        }
        i = (size_t)(p - hay);
        for (j = 1; j < nlen; j++) {
            if (lc((unsigned char)hay[i + j]) != lc((unsigned char)needle[j])) {
                break;
            }
        }
        if (j == nlen) {
            return hay + i;
        }
        i++;
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
