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
