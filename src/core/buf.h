/*
 * buf.h - bounded growable byte buffer (in the spirit of curl's dynbuf and Postfix VSTRING).
 *
 * A buf grows on demand up to its cap; an append past the cap fails with BNC_ELIMIT and the
 * buffer keeps what it had. The content is always NUL-terminated (the NUL is not counted).
 * Ownership: the buf owns its storage; buf_free() releases it, buf_take() hands it over.
 */
#ifndef BNC_CORE_BUF_H
#define BNC_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "bounced.h"

struct buf {
    char *p;
    size_t len;
    size_t alloc;
    size_t cap; /* 0 = unbounded (only for program-built output) */
};

void buf_init(struct buf *b, size_t cap);
void buf_free(struct buf *b);  /* leaves an empty, reusable buf */
void buf_reset(struct buf *b); /* len = 0, keeps storage */
char *buf_take(struct buf *b); /* caller frees with free(); buf is left empty */
bnc_status buf_add(struct buf *b, const void *p, size_t n);
bnc_status buf_adds(struct buf *b, const char *s);
bnc_status buf_addc(struct buf *b, char c);
bnc_status buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bnc_status buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Append s as a JSON string literal (quotes included); invalid UTF-8 becomes U+FFFD. */
bnc_status buf_add_json_str(struct buf *b, const char *s, size_t n);

#endif
