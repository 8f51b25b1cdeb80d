/*
 * textscan.c - linear-time ASCII case-insensitive substring search for the parse layer.
 *
 * Anchored on the needle's least common byte (English letter frequencies); the next
 * occurrence of each case of that byte is remembered, so every byte of the haystack is
 * passed by memchr at most twice whatever the number of candidates.
 * Does not fold non-ASCII bytes. LIMITS: none; no allocation.
 */
#include "parse/parse.h"

#include <string.h>

static unsigned char
fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* How common a byte is in mail text (higher = more common); the search anchors on the
 * needle's least common byte so memchr stops rarely. */
static int
commonness(unsigned char c)
{
    static const char order[] = "etaoinshrdlcumwfgypbvkjxqz";
    const char *q;

    c = fold(c);
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

const char *
text_find_ci(const char *hay, size_t hlen, const char *needle, size_t nlen)
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
        int c = commonness((unsigned char)needle[j]);
        if (c < best) {
            best = c;
            k = j;
        }
    }
    lo = fold((unsigned char)needle[k]);
    up = (lo >= 'a' && lo <= 'z') ? (unsigned char)(lo - 32) : lo;
    /* the anchor byte of a match lies in [hay + k, end) */
    end = hay + (hlen - nlen + 1) + k;
    a = memchr(hay + k, lo, (size_t)(end - (hay + k)));
    b = up != lo ? memchr(hay + k, up, (size_t)(end - (hay + k))) : NULL;
    while (a != NULL || b != NULL) {
        p = (a == NULL) ? b : (b == NULL ? a : (a < b ? a : b));
        base = p - k;
        for (j = 0; j < nlen; j++) {
            if (fold((unsigned char)base[j]) != fold((unsigned char)needle[j])) {
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

static bool
eq_ci(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (fold((unsigned char)a[i]) != fold((unsigned char)b[i])) {
            return false;
        }
    }
    return true;
}

const char *
text_find_marker_line(const char *p, size_t n, const char *const *keys, size_t nkeys,
                      const char *const *markers, size_t nmarkers)
{
    const char *end = p + n, *best = NULL;
    size_t i, k;

    for (i = 0; i < nkeys; i++) {
        size_t kl = strlen(keys[i]);
        const char *q = p, *hit;
        while (q < end && (hit = text_find_ci(q, (size_t)(end - q), keys[i], kl)) != NULL) {
            const char *ls = hit;
            if (best != NULL && hit >= best) {
                break;
            }
            /* does a marker holding this key sit around the hit? */
            for (k = 0; k < nmarkers; k++) {
                size_t ml = strlen(markers[k]);
                const char *at = text_find_ci(markers[k], ml, keys[i], kl);
                size_t off;
                if (at == NULL) {
                    continue;
                }
                off = (size_t)(at - markers[k]);
                if ((size_t)(hit - p) >= off && (size_t)(end - (hit - off)) >= ml &&
                    eq_ci(hit - off, markers[k], ml)) {
                    break;
                }
            }
            if (k < nmarkers) {
                while (ls > p && ls[-1] != '\n') {
                    ls--;
                }
                if (best == NULL || ls < best) {
                    best = ls;
                }
                break;
            }
            q = hit + 1;
        }
    }
    return best;
}
