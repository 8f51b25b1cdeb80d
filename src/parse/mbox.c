/*
 * mbox.c - mbox splitter: finds "From " separator lines and hands out message slices.
 *
 * Does not unescape ">From " lines, read files or lock mailboxes (ingest/ does I/O).
 * STANDARDS: RFC 4155 (the application/mbox format: "From " lines after an empty line).
 * LIMITS: none of its own; one memchr pass over the buffer; no allocation.
 */
#include "parse/mbox.h"

#include <string.h>

bool
mbox_is(const char *buf, size_t len)
{
    return len >= 5 && memcmp(buf, "From ", 5) == 0;
}

void
mbox_iter_init(struct mbox_iter *it, const char *buf, size_t len)
{
    it->p = buf;
    it->end = buf + len;
}

bool
mbox_next(struct mbox_iter *it, struct bnc_slice *msg)
{
    const char *p = it->p, *end = it->end, *s, *q;

    if (p >= end) {
        return false;
    }
    if (end - p >= 5 && memcmp(p, "From ", 5) == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    s = p;
    q = p;
    for (;;) {
        const char *hit = memchr(q, '\n', (size_t)(end - q));
        const char *e;
        if (hit != NULL && (end - hit < 6 || memcmp(hit + 1, "From ", 5) != 0)) {
            q = hit + 1;
            continue;
        }
        if (hit == NULL) {
            *msg = slice_make(s, (size_t)(end - s));
            it->p = end;
            return true;
        }
        /* the separator must follow an empty line ("\n\nFrom " or "\n\r\nFrom ") */
        if ((hit > s && hit[-1] == '\n') || (hit - 1 > s && hit[-1] == '\r' && hit[-2] == '\n')) {
            e = hit + 1;
            *msg = slice_make(s, (size_t)(e - s));
            it->p = hit + 1;
            return true;
        }
        q = hit + 1;
    }
}
