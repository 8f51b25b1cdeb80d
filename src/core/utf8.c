/*
 * utf8.c - UTF-8 validation (RFC 3629 §4 syntax: no overlongs, no surrogates).
 */
#include "utf8.h"

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
utf8_valid(const char *p, size_t n)
{
    size_t i = 0, l;

    while (i < n) {
        l = utf8_valid_len((const unsigned char *)p + i, n - i);
        if (l == 0) {
            return false;
        }
        i += l;
    }
    return true;
}
