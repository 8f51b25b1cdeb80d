/*
 * spool.h - the durable spool between the SMTP listener (or a mailbox scan) and the workers.
 *
 * Layout under spool.dir: tmp/ (being written), new/ (accepted, durable, not yet processed),
 * done/ (processed, kept spool.keep_days), hold/ (messages that fail on their own content,
 * each with a <id>.reason file saying why; moved back to new/ at the daemon's start and by
 * `bounced process --requeue`).
 * A message is in new/ only after its bytes and the rename are on disk (file fsync, rename,
 * directory fsync), so a 250 sent after spool_write() returns survives a crash. The spool id
 * is the file name: unique across processes and restarts, made of [0-9a-f.] only.
 * Ownership: a struct spool is shared by threads (every call is thread-safe); strings passed
 * in are borrowed for the call; spool_read() hands over a buffer the caller frees.
 */
#ifndef BNC_INGEST_SPOOL_H
#define BNC_INGEST_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounced.h"

#define SPOOL_ID_MAX 48

struct spool;

/* The envelope written as trace headers in front of the message (RFC 5321 4.4). */
struct spool_envelope {
    const char *proto;     /* "ESMTP", "ESMTPS", "SMTP", "LMTP", "mailbox", ... */
    const char *helo;      /* client's HELO name, or NULL */
    const char *peer;      /* client address, or NULL */
    const char *hostname;  /* our name (Received: by) */
    const char *mail_from; /* reverse-path, "" for <> ; NULL = no Return-Path header */
    const char *const *rcpts;
    size_t nrcpts;
};

/* Create dir and its subdirectories when missing (mode 0700) and open it. */
bnc_status spool_open(const char *dir, struct spool **out, char *err, size_t errlen);
void spool_close(struct spool *sp); /* NULL-safe */
const char *spool_dir(const struct spool *sp);

/*
 * Write one message durably into new/: trace headers from env (may be NULL) then data.
 * now is the Received: date (Unix seconds). On BNC_OK id_out holds the spool id. On failure
 * nothing is left in new/ (BNC_EIO).
 */
bnc_status spool_write(struct spool *sp, const struct spool_envelope *env, const char *data,
                       size_t len, int64_t now, char id_out[SPOOL_ID_MAX] /* OUT */);

/* One message of a group commit (spool_write_batch). */
struct spool_msg {
    const struct spool_envelope *env; /* may be NULL */
    const char *data;
    size_t len;
    int64_t now;
    char id[SPOOL_ID_MAX]; /* OUT */
    bnc_status rc;         /* OUT: BNC_OK = durable in new/ */
    int fd;                /* internal */
};

/*
 * Group commit: write every message to tmp/ and start its writeback, then fdatasync each
 * (the first commit covers the batch), rename them into new/ and fsync new/ once. A batch
 * costs about two journal commits, like one spool_write(), which is what lets the listener
 * keep up with many clients on a slow disk. Each message gets its own rc; a message whose
 * sync failed is not left in new/.
 */
void spool_write_batch(struct spool *sp, struct spool_msg *msgs, size_t n);

/* Read new/<id> whole; *data_out is NUL-terminated (not counted) and freed by the caller. */
bnc_status spool_read(struct spool *sp, const char *id, char **data_out /* OUT */,
                      size_t *len_out /* OUT */);
/* The message with this id wherever the spool still keeps it (done/, new/, hold/): the same
 * contract as spool_read(); BNC_ENOTFOUND once spool.keep_days purged it. */
bnc_status spool_read_kept(struct spool *sp, const char *id, char **data_out /* OUT */,
                           size_t *len_out /* OUT */);
/* Processed: move new/<id> to done/ (keep) or delete it. BNC_ENOTFOUND when already gone. */
bnc_status spool_done(struct spool *sp, const char *id, bool keep);
/* Failed on its own content: move new/<id> to hold/, and write reason (one line, may be
 * NULL) to hold/<id>.reason first. */
bnc_status spool_hold(struct spool *sp, const char *id, const char *reason);
/* Move hold/<id> back to new/ (its .reason file removed). */
bnc_status spool_unhold(struct spool *sp, const char *id);
/* Every message in hold/ back to new/: how many moved. */
size_t spool_unhold_all(struct spool *sp);
/* Every id in hold/, in name order. Returns how many cb saw. */
size_t spool_scan_hold(struct spool *sp, void (*cb)(void *ud, const char *id), void *ud);

/* Every id in new/, oldest first (crash recovery at startup). Returns how many cb saw. */
size_t spool_scan_new(struct spool *sp, void (*cb)(void *ud, const char *id), void *ud);
/* Remove leftovers in tmp/ (never acknowledged). Returns how many. */
size_t spool_clean_tmp(struct spool *sp);
/* Remove done/ files last modified before `before` (Unix seconds). Returns how many. */
size_t spool_purge(struct spool *sp, int64_t before);
/* Number of files in new/ (a gauge; scans the directory). */
size_t spool_count_new(struct spool *sp);

/* Is s a well-formed spool id (the charset above, bounded length)? */
bool spool_id_valid(const char *s);

#endif
