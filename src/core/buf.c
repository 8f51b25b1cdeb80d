/*
 * buf.c - bounded growable byte buffer.
 * LIMITS: the cap given to buf_init(); appends past it fail with BNC_ELIMIT.
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "xmalloc.h"

void
buf_init(struct buf *b, size_t cap)
{
    b->p = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void
buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->alloc = 0;
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->p != NULL) {
        b->p[0] = '\0';
    }
}

char *
buf_take(struct buf *b)
{
    char *p = b->p;
    if (p == NULL) {
        p = xstrdup("");
    }
    b->p = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}

static bnc_status
buf_grow(struct buf *b, size_t n)
{
    size_t want, na;

    if (n > (size_t)-1 - b->len - 1) {
        return BNC_ELIMIT;
    }
    want = b->len + n + 1;
    if (b->cap != 0 && want > b->cap + 1) {
        return BNC_ELIMIT;
    }
    if (want <= b->alloc) {
        return BNC_OK;
    }
    na = b->alloc ? b->alloc : 64;
    while (na < want) {
        na *= 2;
    }
    if (b->cap != 0 && na > b->cap + 1) {
        na = b->cap + 1;
    }
    b->p = xrealloc(b->p, na);
    b->alloc = na;
    return BNC_OK;
}

bnc_status
buf_add(struct buf *b, const void *p, size_t n)
{
    bnc_status rc;

    if ((rc = buf_grow(b, n)) != BNC_OK) {
        return rc;
    }
    if (n) {
        memcpy(b->p + b->len, p, n);
    }
    b->len += n;
    b->p[b->len] = '\0';
    return BNC_OK;
}

bnc_status
buf_adds(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

bnc_status
buf_addc(struct buf *b, char c)
{
    return buf_add(b, &c, 1);
}

bnc_status
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    bnc_status rc;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        return BNC_EINVAL;
    }
    if ((rc = buf_grow(b, (size_t)n)) != BNC_OK) {
        return rc;
    }
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return BNC_OK;
}

bnc_status
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    bnc_status rc;

    va_start(ap, fmt);
    rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

bnc_status
buf_add_json_str(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0, start;
    bnc_status rc;
    char esc[7];

    if ((rc = buf_addc(b, '"')) != BNC_OK) {
        return rc;
    }
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        start = i;
        if (c >= 0x80) {
            size_t l = utf8_valid_len((const unsigned char *)s + i, n - i);
            if (l == 0) {
                rc = buf_add(b, "\xef\xbf\xbd", 3);
                i++;
            } else {
                rc = buf_add(b, s + i, l);
                i += l;
            }
        } else if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            rc = buf_add(b, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            switch (c) {
            case '\n':
                rc = buf_add(b, "\\n", 2);
                break;
            case '\r':
                rc = buf_add(b, "\\r", 2);
                break;
            case '\t':
                rc = buf_add(b, "\\t", 2);
                break;
            default:
                esc[0] = '\\';
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                rc = buf_add(b, esc, 6);
                break;
            }
            i++;
        } else {
            while (i < n && (unsigned char)s[i] >= 0x20 && s[i] != '"' && s[i] != '\\' &&
                   (unsigned char)s[i] < 0x7f) {
                i++;
            }
            rc = buf_add(b, s + start, i - start);
        }
        if (rc != BNC_OK) {
            return rc;
        }
    }
    return buf_addc(b, '"');
}
