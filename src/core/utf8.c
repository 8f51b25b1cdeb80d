/*
 * utf8.c - UTF-8 validation (RFC 3629 §4 syntax: no overlongs, no surrogates).
 */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

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
    size_t i = 0;
    uint64_t w;

    for (; n - i >= 8; i += 8) {
        memcpy(&w, p + i, 8);
        if (w & UINT64_C(0x8080808080808080)) {
            return false;
        }
    }
    for (; i < n; i++) {
        if ((unsigned char)p[i] >= 0x80) {
            return false;
        }
    }
    return true;
}

/* Mail text is mostly ASCII: eight bytes at a time while no byte has its high bit set, and the
 * sequence check only for the rest. */
bool
utf8_valid(const char *p, size_t n)
{
    size_t i = 0, l;

    while (i < n) {
        uint64_t w;
        while (n - i >= 8) {
            memcpy(&w, p + i, 8);
            if (w & UINT64_C(0x8080808080808080)) {
                break;
            }
            i += 8;
        }
        while (i < n && (unsigned char)p[i] < 0x80) {
            i++;
        }
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
