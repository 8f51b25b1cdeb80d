/*
 * mailbox.h - read bounces from a mailbox: mbox, Maildir, or IMAP(S) through libcurl.
 *
 * mailbox_ingest() runs one pass: every message is passed through the pipeline (source
 * "mailbox", ref = where it came from) and marked only after its transaction committed:
 * Maildir moves new/NAME (or an unseen cur/NAME) to cur/NAME:2,S; IMAP sets \Seen (or moves
 * the message to a folder); mbox keeps the byte offset reached in the store (ingest_offsets),
 * and relies on the pipeline's (source, ref) + content-hash idempotency when the offset is
 * lost. A message that fails is left as it was for the next pass.
 * Ownership: everything is borrowed for the call. One call at a time per pipeline/store.
 */
#ifndef BNC_INGEST_MAILBOX_H
#define BNC_INGEST_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounced.h"

struct pipeline;
struct store;

struct mailbox_opts {
    const char *source;   /* "mbox:PATH", "maildir:PATH", "imap://host/INBOX", "imaps://..." */
    const char *user;     /* IMAP */
    const char *password; /* IMAP */
    const char *move_to;  /* IMAP: move processed messages to this folder instead of \Seen */
    bool progress;        /* draw a progress bar on stderr (only when it is a TTY) */
    size_t limit;         /* stop after this many messages (0 = all) */
    int64_t received_at;  /* passed to the pipeline (0 = now) */
};

struct mailbox_stats {
    size_t seen;       /* messages looked at */
    size_t processed;  /* committed (duplicates included) */
    size_t duplicates; /* already processed before */
    size_t not_bounce; /* recognised as not a bounce */
    size_t verdicts;
    size_t failed; /* left for the next pass */
};

/* Which kind of source is this? 0 mbox, 1 maildir, 2 imap; -1 unknown. */
int mailbox_kind(const char *source);

/* One pass over the source (see above). BNC_OK even when single messages failed (counted in
 * stats->failed); an error when the source itself cannot be read (err says why). */
bnc_status mailbox_ingest(struct pipeline *p, struct store *st, const struct mailbox_opts *o,
                          struct mailbox_stats *stats /* OUT */, char *err, size_t errlen);

#endif
