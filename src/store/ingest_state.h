/*
 * ingest_state.h - what the log followers and the webhook receivers remember between calls
 * and across restarts (0005_follow.sql): a follower's position with the identity of the file
 * it belongs to, the SNS subscriptions waiting for an operator, and the webhook signature
 * tokens seen in the replay window.
 * Ownership: every function borrows its arguments; strings handed to callbacks are borrowed
 * for the duration of the callback. One struct store per thread (store.h).
 */
#ifndef BNC_STORE_INGEST_STATE_H
#define BNC_STORE_INGEST_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounced.h"

struct store;

#define INGEST_HEAD_HEX 65 /* SHA-256 in hex, NUL-terminated */

/* A position in a file and that file's identity. */
struct ingest_pos {
    int64_t position; /* bytes consumed (of the decompressed text for a .gz) */
    int64_t dev, ino; /* st_dev, st_ino of the file when the position was saved */
    int64_t head_len; /* the first head_len bytes hash to head_hash */
    char head_hash[INGEST_HEAD_HEX];
};

/* The saved position of source; *found_out false (and *out zeroed) when there is none. */
bnc_status ingest_pos_get(struct store *st, const char *source, struct ingest_pos *out,
                          bool *found_out);
/* Save it (insert or replace); meant to run in the caller's transaction. */
bnc_status ingest_pos_set(struct store *st, const char *source, const struct ingest_pos *pos,
                          int64_t now);

/* One SNS SubscriptionConfirmation as stored. */
struct ingest_sns_sub {
    int64_t id;
    const char *topic_arn;
    const char *subscribe_url;
    const char *message_id;
    int64_t received_at;
    int64_t confirmed_at; /* 0 while pending */
};
typedef void (*ingest_sns_cb)(void *ud, const struct ingest_sns_sub *s);

/* Record a confirmation request (the same SubscribeURL twice is one row). */
bnc_status ingest_sns_add(struct store *st, const char *topic_arn, const char *subscribe_url,
                          const char *message_id, int64_t now);
/* Every stored request, oldest first; pending_only leaves the confirmed ones out. */
bnc_status ingest_sns_list(struct store *st, bool pending_only, ingest_sns_cb cb, void *ud);
/* Mark request id confirmed at now; BNC_ENOTFOUND when there is no such id. */
bnc_status ingest_sns_confirmed(struct store *st, int64_t id, int64_t now);

/*
 * A signature token of vendor seen at now: BNC_OK the first time, BNC_ECONFLICT when it was
 * seen before (a replay). Tokens older than max_age are forgotten first (a token outside the
 * window is refused by its timestamp anyway). Runs in a transaction of its own.
 */
bnc_status ingest_replay_check(struct store *st, const char *vendor, const char *token, int64_t now,
                               int64_t max_age);

/* Was token of vendor seen within max_age before now? */
bnc_status ingest_replay_seen(struct store *st, const char *vendor, const char *token, int64_t now,
                              int64_t max_age, bool *seen_out);

#endif
