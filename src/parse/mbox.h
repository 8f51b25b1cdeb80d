/*
 * mbox.h - split an mbox buffer into messages (pure: buffer in, message slices out).
 *
 * A message starts at a line beginning with "From " that is the first line of the buffer or
 * follows an empty line; the "From " line itself is not part of the message. ">From "
 * unescaping is left to the caller (parsing does not need it).
 * Used by `bounced parse` and by the mailbox scanner. Ownership: slices borrow the buffer.
 */
#ifndef BNC_PARSE_MBOX_H
#define BNC_PARSE_MBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "core/slice.h"

struct mbox_iter {
    const char *p; /* next unread byte */
    const char *end;
};

/* True when buf begins with an mbox "From " separator line. */
bool mbox_is(const char *buf, size_t len);
void mbox_iter_init(struct mbox_iter *it, const char *buf, size_t len);
/* Next message (without its "From " line); false at the end. Linear in the buffer. */
bool mbox_next(struct mbox_iter *it, struct bnc_slice *msg);

#endif
