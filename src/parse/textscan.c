/*
 * textscan.c - linear-time ASCII case-insensitive substring search for the parse layer.
 *
 * The next occurrence of each case of the needle's first byte is remembered, so every byte
 * of the haystack is passed by memchr at most twice whatever the number of candidates.
 * Does not fold non-ASCII bytes. LIMITS: none; no allocation.
 */
#include "parse/parse.h"

#include <string.h>

static unsigned char
fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

const char *
text_find_ci(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    unsigned char lo, up;
    const char *end, *a, *b, *p;
    size_t j;

    if (nlen == 0) {
        return hay;
    }
    if (hay == NULL || nlen > hlen) {
        return NULL;
    }
    lo = fold((unsigned char)needle[0]);
    up = (lo >= 'a' && lo <= 'z') ? (unsigned char)(lo - 32) : lo;
    end = hay + (hlen - nlen + 1); /* candidates start before end */
    a = memchr(hay, lo, (size_t)(end - hay));
    b = up != lo ? memchr(hay, up, (size_t)(end - hay)) : NULL;
    while (a != NULL || b != NULL) {
        p = (a == NULL) ? b : (b == NULL ? a : (a < b ? a : b));
        for (j = 1; j < nlen; j++) {
            if (fold((unsigned char)p[j]) != fold((unsigned char)needle[j])) {
                break;
            }
        }
        if (j == nlen) {
            return p;
        }
        if (p == a) {
            a = p + 1 < end ? memchr(p + 1, lo, (size_t)(end - p - 1)) : NULL;
        } else {
            b = p + 1 < end ? memchr(p + 1, up, (size_t)(end - p - 1)) : NULL;
        }
    }
    return NULL;
}
