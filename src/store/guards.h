/*
 * guards.h - the store side of the guards (DESIGN §10, docs/guards.md): per-minute counters
 * per recipient domain, campaign and sending domain; outages that hold penalties and
 * reputation incidents that only alert; the alerts table that the daemon delivers from;
 * and what bounced last agreed with each ESP's suppression list.
 *
 * The hold itself happens inside model_apply_verdict() (one call to guard_on_verdict(),
 * model_int.h); everything here is for the pipeline (campaign tags), the daemon's periodic
 * evaluation, the CLI and the API. Every write runs in a (nested) transaction.
 * Ownership: strings in structs handed to callbacks are borrowed for the callback only;
 * every function borrows its arguments. One struct store per thread (store.h).
 */
#ifndef BNC_STORE_GUARDS_H
#define BNC_STORE_GUARDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounced.h"
#include "hygiene/policy.h"

struct store;
struct bnc_config;

#define GUARD_KEY_MAX 255 /* longest campaign id or domain counted; longer ones are cut */

/* ---- counting -------------------------------------------------------------------- */

/* Count one applied verdict for its campaign and its sending domain (either may be NULL or
 * ""): what the spike alerts read. acts are the outcome's POLICY_A_* bits. */
bnc_status guard_count_tags(struct store *st, const char *campaign, const char *sender_domain,
                            const struct bnc_rcpt *v, unsigned acts, int64_t event_time);
/* Add posted send counts (POST /api/v1/sends) at time t for a campaign, a sending domain
 * and/or a recipient domain (each may be NULL). BNC_EINVAL for a negative count. */
bnc_status guard_sends_add(struct store *st, const char *campaign, const char *sender_domain,
                           const char *recipient_domain, int64_t count, int64_t t);

/* ---- outages --------------------------------------------------------------------- */

struct guard_outage {
    int64_t id;
    const char *kind;   /* outage, reputation */
    const char *domain; /* recipient domain */
    const char *state;  /* open, recovered, applied, released, settled, closed */
    const char *decided_by;
    int64_t opened_at, last_seen_at, recovered_at, decided_at;
    int64_t window_count; /* failures in the window that opened it */
    int64_t baseline;     /* failures over the baseline period before that window */
    int64_t held, applied, released;
};
typedef int (*guard_outage_cb)(void *ud, const struct guard_outage *o); /* non-zero stops */

/* state NULL = any; cursor-paginated like model.h's lists. */
bnc_status guard_outage_list(struct store *st, const char *state, int64_t after_id, size_t limit,
                             guard_outage_cb cb, void *ud, size_t *n_out);
bnc_status guard_outage_get(struct store *st, int64_t id, guard_outage_cb cb, void *ud);
/* An operator's decision on an outage that still holds penalties (open or recovered):
 * apply carries out every held penalty (audited, actor given), release drops them (the
 * events stay, marked released). *n_out gets how many held events were decided.
 * BNC_ENOTFOUND, BNC_ECONFLICT when already decided or a reputation incident. */
bnc_status guard_outage_apply(struct store *st, const struct policy_cfg *pc, int64_t id,
                              const char *actor, int64_t now, size_t *n_out);
bnc_status guard_outage_release(struct store *st, int64_t id, const char *actor, int64_t now,
                                size_t *n_out);

/* What one evaluation did. */
struct guard_eval {
    size_t recovered; /* outages whose burst ended */
    size_t settled;   /* outages decided after recovery (per address) */
    size_t applied;   /* outages applied because the burst outlasted guard.max_hold */
    size_t closed;    /* reputation incidents that ended */
    size_t alerts;    /* spike alerts raised */
};
/* The periodic work (serve, `bounced alerts run`): end, settle or apply outages and raise
 * spike alerts for the period before now. */
bnc_status guard_evaluate(struct store *st, const struct policy_cfg *pc,
                          const struct bnc_config *cfg, int64_t now, struct guard_eval *out);

/* ---- alerts ---------------------------------------------------------------------- */

struct guard_alert {
    int64_t id;
    const char *kind;   /* outage, reputation, spike */
    const char *scope;  /* domain, campaign, sender */
    const char *key;    /* the domain or campaign */
    const char *metric; /* hard_bounces, complaint_rate, ... */
    int64_t value, threshold;
    const char *payload; /* the JSON body delivered */
    const char *state;   /* pending, delivered, dead, logged */
    int64_t attempts, next_at;
    const char *last_error;
    bool announced; /* written to syslog and counted in the metrics */
    int64_t created_at, delivered_at;
};
typedef int (*guard_alert_cb)(void *ud, const struct guard_alert *a);

/* state NULL = any ("dead" is the dead-letter list). */
bnc_status guard_alert_list(struct store *st, const char *state, int64_t after_id, size_t limit,
                            guard_alert_cb cb, void *ud, size_t *n_out);
/* Alerts to work on at now: pending ones due, and any not yet announced. */
bnc_status guard_alert_due(struct store *st, int64_t now, size_t limit, guard_alert_cb cb, void *ud,
                           size_t *n_out);
/* Record a delivery outcome: the new state, attempts, next try, last error ("" = none). */
bnc_status guard_alert_update(struct store *st, int64_t id, const char *state, int64_t attempts,
                              int64_t next_at, const char *last_error, int64_t delivered_at);
bnc_status guard_alert_announced(struct store *st, int64_t id);
/* Put a dead alert back on the queue (an operator after fixing the receiver). */
bnc_status guard_alert_retry(struct store *st, int64_t id, int64_t now);

/* ---- ESP suppression lists --------------------------------------------------------- */

/* One address bounced and the ESP agreed on: origin "pushed" (bounced added it there) or
 * "imported" (the ESP had it first). Strings borrowed for the callback. */
typedef int (*guard_esp_cb)(void *ud, const char *address, const char *origin);
bnc_status guard_esp_list(struct store *st, const char *esp, guard_esp_cb cb, void *ud);
bnc_status guard_esp_mark(struct store *st, const char *esp, const char *address,
                          const char *origin, int64_t now);
bnc_status guard_esp_forget(struct store *st, const char *esp, const char *address);

#endif
