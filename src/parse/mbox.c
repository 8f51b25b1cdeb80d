/*
 * mbox.c - mbox splitter: finds "From " separator lines and hands out message slices.
 *
 * Does not unescape ">From " lines, read files or lock mailboxes (ingest/ does I/O).
 * STANDARDS: RFC 4155 (the application/mbox format: "From " lines after an empty line; a
 * complete "From sender Www Mmm dd hh:mm:ss yyyy" line is taken without the empty line).
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

/* "From SENDER DAY MON ..." with a weekday and a month: a separator line even where the
 * writer left out the empty line before it (some MTAs append without one). */
static bool
mbox_from_line(const char *p, const char *end)
{
    static const char days[] = "MonTueWedThuFriSatSun";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *q = p + 5;
    size_t i;

    while (q < end && *q != ' ' && *q != '\n') {
        q++; /* the envelope sender */
    }
    if (q == p + 5) {
        return false;
    }
    while (q < end && *q == ' ') {
        q++;
    }
    if (end - q < 8 || q[3] != ' ') {
        return false;
    }
    for (i = 0; i < 21; i += 3) {
        if (memcmp(q, days + i, 3) == 0) {
            break;
        }
    }
    if (i == 21) {
        return false;
    }
    for (i = 0; i < 36; i += 3) {
        if (memcmp(q + 4, months + i, 3) == 0) {
            return true;
        }
    }
    return false;
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
        /* the separator follows an empty line ("\n\nFrom " or "\n\r\nFrom "), or is a
         * complete "From sender Www Mmm ..." line */
        if ((hit > s && hit[-1] == '\n') || (hit - 1 > s && hit[-1] == '\r' && hit[-2] == '\n') ||
            mbox_from_line(hit + 1, end)) {
            e = hit + 1;
            *msg = slice_make(s, (size_t)(e - s));
            it->p = hit + 1;
            return true;
        }
        q = hit + 1;
    }
}
