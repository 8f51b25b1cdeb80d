/*
 * alerts.h - delivery of the guards' alerts (DESIGN §10, docs/guards.md): each alert the
 * store raised is written to syslog and counted in /metrics once, then POSTed to
 * alerts.webhook_url, signed, with retries and a dead-letter list.
 *
 * Used by the daemon's periodic job (guard evaluation, then delivery, housekeeping.c) and
 * by `bounced alerts run`. One call works through what is due at `now`.
 * Ownership: borrows the store and the config for the call; not thread-safe per store.
 */
#ifndef BNC_SERVER_ALERTS_H
#define BNC_SERVER_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "bounced.h"

struct store;
struct bnc_config;

#define ALERTS_SIG_HEADER  "X-Bounced-Signature" /* "v1=" + hex HMAC-SHA256 */
#define ALERTS_TS_HEADER   "X-Bounced-Timestamp" /* Unix seconds, signed with the body */
#define ALERTS_BACKOFF_MAX 3600                  /* longest wait between two tries */

struct alerts_stats {
    size_t announced; /* written to syslog and the metrics */
    size_t delivered; /* accepted by the receiver (2xx) */
    size_t retried;   /* failed, tried again later */
    size_t dead;      /* failed alerts.max_attempts times: on the dead-letter list */
    size_t logged;    /* no webhook configured: syslog and metrics only */
};

/* Deliver what is due at now. BNC_OK unless the store failed (delivery failures are
 * counted, and recorded on the alert). */
bnc_status alerts_run(struct store *st, const struct bnc_config *cfg, int64_t now,
                      struct alerts_stats *out);

/* The signature of one delivery: "v1=" + lower-case hex of HMAC-SHA256(secret,
 * "<timestamp>.<body>"), NUL-terminated into out (at least 68 bytes). */
void alerts_sign(const char *secret, int64_t ts, const char *body, size_t len, char out[68]);

/* Wait before try number `attempt` + 1 after `attempt` failures: base doubled per failure,
 * capped at ALERTS_BACKOFF_MAX. */
int64_t alerts_backoff(int64_t base, int64_t attempt);

#endif
