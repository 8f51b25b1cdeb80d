/*
 * model_guard.c - the outage guard in the store: per-minute counters, the hold of a
 * verdict's penalty while its recipient domain is in an outage, and the outage's life
 * (open, recovered, then applied, released or settled per address).
 *
 * guard_on_verdict() runs inside model_apply_verdict()'s transaction, after the event row
 * is in and before the contact is touched: it counts the verdict, and when the domain has
 * an open outage (or this verdict opens one) it strips the penalty from the plan and marks
 * the event held. Opening an outage also holds the penalties already carried out in the
 * window that proved it: their audit entries are reverted (contact, suppression and lists
 * as they were) and the events marked held, so a burst suppresses nobody however early it
 * is recognised.
 * Life of an outage (guard_evaluate(), docs/guards.md): it recovers when the hard bounces
 * in the last window fall below guard.min_count; guard.decide_after later each held
 * address that failed hard again after the recovery has its penalty applied and the rest
 * are released ("settled"); a burst still going after guard.max_hold is no outage (a
 * domain that is gone), and everything held is applied.
 * What it does not do: decide what a burst is (hygiene/guard.c), deliver alerts
 * (server/alerts.c) or evaluate spikes (model_alerts.c).
 * STANDARDS: none beyond store.h's portable SQL.
 * LIMITS: keys (domains, campaigns) are cut at GUARD_KEY_MAX bytes at a UTF-8 boundary;
 * one retroactive hold or one decision handles every held event of the outage, read in
 * pages of MODEL_LIMIT_MAX ids.
 * Ownership: see guards.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "store/guards.h"
#include "store/model_int.h"

struct gsum {
    int64_t hard, sender;
};

static int
gsum_cb(void *ud, const struct store_row *r)
{
    struct gsum *g = ud;
    g->hard = mrow_int(r, 0);
    g->sender = mrow_int(r, 1);
    return 1;
}

/* Sums of the buckets of (scope, key) in (from, to]. */
static bnc_status
guard_sum(struct store *st, const char *scope, const char *key, int64_t from, int64_t to,
          struct gsum *out)
{
    static const char *q = "SELECT COALESCE(SUM(hard), 0), COALESCE(SUM(sender), 0) FROM "
                           "guard_counts WHERE scope = $1 AND key = $2 AND bucket > $3 AND "
                           "bucket <= $4";
    struct store_value p[4] = {sv_text(scope), sv_text(key), sv_int(from), sv_int(to)};

    memset(out, 0, sizeof(*out));
    return store_exec(st, q, p, 4, gsum_cb, out, NULL);
}

bnc_status
guard_count_add(struct store *st, const char *scope, const char *key, int64_t t,
                const int64_t add[6])
{
    static const char *q =
        "INSERT INTO guard_counts (scope, key, bucket, hard, soft, complaint, sender, total, "
        "sends) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (scope, key, bucket) "
        "DO UPDATE SET hard = guard_counts.hard + excluded.hard, soft = guard_counts.soft + "
        "excluded.soft, complaint = guard_counts.complaint + excluded.complaint, sender = "
        "guard_counts.sender + excluded.sender, total = guard_counts.total + excluded.total, "
        "sends = guard_counts.sends + excluded.sends";
    char k[GUARD_KEY_MAX + 1];
    struct store_value p[9];
    size_t i;

    if (key == NULL || key[0] == '\0') {
        return BNC_OK;
    }
    mcopy(k, sizeof(k), key);
    p[0] = sv_text(scope);
    p[1] = sv_text(k);
    p[2] = sv_int(t - ((t % GUARD_BUCKET) + GUARD_BUCKET) % GUARD_BUCKET);
    for (i = 0; i < 6; i++) {
        p[3 + i] = sv_int(add[i]);
    }
    return store_exec(st, q, p, 9, NULL, NULL, NULL);
}

/* What one verdict adds to the counters: hard, soft, complaint, sender, total, sends. */
static void
verdict_counts(const struct bnc_rcpt *v, unsigned acts, int64_t add[6])
{
    memset(add, 0, 6 * sizeof(add[0]));
    add[0] = v->kind == BNC_KIND_HARD || (acts & POLICY_A_ESCALATED) ? 1 : 0;
    add[1] = v->kind == BNC_KIND_SOFT && !(acts & POLICY_A_SENDER) ? 1 : 0;
    add[2] = v->kind == BNC_KIND_COMPLAINT ? 1 : 0;
    add[3] = (acts & POLICY_A_SENDER) ? 1 : 0;
    add[4] = v->kind == BNC_KIND_HARD || v->kind == BNC_KIND_SOFT ? 1 : 0;
}

bnc_status
guard_count_tags(struct store *st, const char *campaign, const char *sender_domain,
                 const struct bnc_rcpt *v, unsigned acts, int64_t event_time)
{
    int64_t add[6];
    bnc_status rc;

    verdict_counts(v, acts, add);
    if ((rc = guard_count_add(st, "campaign", campaign, event_time, add)) != BNC_OK) {
        return rc;
    }
    return guard_count_add(st, "sender", sender_domain, event_time, add);
}

bnc_status
guard_sends_add(struct store *st, const char *campaign, const char *sender_domain,
                const char *recipient_domain, int64_t count, int64_t t)
{
    int64_t add[6] = {0, 0, 0, 0, 0, count};
    bnc_status rc;

    if (count < 0) {
        return BNC_EINVAL;
    }
    if ((rc = store_begin(st)) != BNC_OK) {
        return rc;
    }
    rc = guard_count_add(st, "campaign", campaign, t, add);
    if (rc == BNC_OK) {
        rc = guard_count_add(st, "sender", sender_domain, t, add);
    }
    if (rc == BNC_OK) {
        rc = guard_count_add(st, "domain", recipient_domain, t, add);
    }
    if (rc != BNC_OK) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st);
}

/* The open (or recovered, when also_recovered) incident of this kind at domain: its id, or
 * 0 when there is none. */
static bnc_status
outage_find(struct store *st, const char *kind, const char *domain, bool also_recovered,
            int64_t *id_out)
{
    static const char *q = "SELECT id FROM outages WHERE domain = $1 AND kind = $2 AND (state = "
                           "'open' OR (state = 'recovered' AND $3 = 1)) ORDER BY id DESC LIMIT 1";
    struct store_value p[3] = {sv_text(domain), sv_text(kind), sv_int(also_recovered ? 1 : 0)};
    bnc_status rc = store_query_int(st, q, p, 3, id_out);

    if (rc == BNC_ENOTFOUND) {
        *id_out = 0;
        return BNC_OK;
    }
    return rc;
}

/* Mark one event held by outage id and count it. */
static bnc_status
hold_event(struct store *st, int64_t outage_id, int64_t event_id, int64_t event_time)
{
    static const char *q_ev = "UPDATE bounce_events SET held_by_outage = $1, hold_state = 'held' "
                              "WHERE id = $2 AND held_by_outage IS NULL";
    static const char *q_out = "UPDATE outages SET held = held + $2, last_seen_at = CASE WHEN "
                               "last_seen_at < $3 THEN $3 ELSE last_seen_at END WHERE id = $1";
    struct store_value p[3] = {sv_int(outage_id), sv_int(event_id), sv_int(event_time)};
    int64_t changes = 0;
    bnc_status rc;

    if ((rc = store_exec(st, q_ev, p, 2, NULL, NULL, &changes)) != BNC_OK || changes == 0) {
        return rc;
    }
    p[1] = sv_int(changes);
    return store_exec(st, q_out, p, 3, NULL, NULL, NULL);
}

struct idpairs {
    int64_t *ev, *au;
    size_t n, cap;
};

static int
idpair_cb(void *ud, const struct store_row *r)
{
    struct idpairs *ip = ud;

    if (ip->n == ip->cap) {
        ip->cap = ip->cap ? ip->cap * 2 : 64;
        ip->ev = xrealloc(ip->ev, ip->cap * sizeof(*ip->ev));
        ip->au = xrealloc(ip->au, ip->cap * sizeof(*ip->au));
    }
    ip->ev[ip->n] = mrow_int(r, 0);
    ip->au[ip->n] = mrow_int(r, 1);
    ip->n++;
    return 0;
}

static void
idpairs_free(struct idpairs *ip)
{
    free(ip->ev);
    free(ip->au);
    memset(ip, 0, sizeof(*ip));
}

/*
 * The penalties already carried out in the window that proved the outage: each event that
 * penalised (policy hard, strike or escalated) and is not held yet; its audit entry (when
 * the penalty changed anything) is reverted, and the event is held.
 */
static bnc_status
hold_window(struct store *st, int64_t outage_id, const char *domain, int64_t from, int64_t now)
{
    static const char *q =
        "SELECT e.id, COALESCE((SELECT MIN(a.id) FROM audit_log a WHERE a.event_id = e.id AND "
        "a.action = 'bounce' AND a.reverted_at IS NULL), 0) FROM bounce_events e WHERE "
        "e.domain = $1 AND e.event_time > $2 AND e.held_by_outage IS NULL AND e.policy IN "
        "('hard', 'strike', 'escalated') ORDER BY e.id";
    struct store_value p[2] = {sv_text(domain), sv_int(from)};
    struct idpairs ip = {0};
    bnc_status rc;
    size_t i;

    if ((rc = store_exec(st, q, p, 2, idpair_cb, &ip, NULL)) != BNC_OK) {
        idpairs_free(&ip);
        return rc;
    }
    for (i = 0; i < ip.n && rc == BNC_OK; i++) {
        if (ip.au[i] > 0) {
            rc = model_audit_revert(st, ip.au[i], "guard:outage", now, NULL);
            if (rc == BNC_ECONFLICT) {
                rc = BNC_OK; /* reverted meanwhile by a person: nothing left to hold */
            }
        }
        if (rc == BNC_OK) {
            rc = hold_event(st, outage_id, ip.ev[i], 0);
        }
    }
    idpairs_free(&ip);
    return rc;
}

/* Open an incident (or reopen a recovered outage) and raise its alert. */
static bnc_status
outage_open(struct store *st, const struct policy_cfg *pc, const char *kind, const char *domain,
            const struct gsum *win, const struct gsum *base, int64_t t, int64_t now,
            int64_t *id_out)
{
    static const char *q_new =
        "INSERT INTO outages (kind, domain, state, opened_at, last_seen_at, window_count, "
        "baseline) VALUES ($1, $2, 'open', $3, $3, $4, $5) ON CONFLICT (domain, kind) WHERE "
        "state IN ('open', 'recovered') DO NOTHING RETURNING id";
    static const char *q_reopen = "UPDATE outages SET state = 'open', recovered_at = 0, "
                                  "last_seen_at = $2 WHERE id = $1";
    bool outage = strcmp(kind, "outage") == 0;
    int64_t count = outage ? win->hard : win->sender, usual = outage ? base->hard : base->sender;
    struct store_value p[5];
    int64_t id = 0;
    bnc_status rc;

    if (outage && (rc = outage_find(st, kind, domain, true, &id)) != BNC_OK) {
        return rc;
    }
    if (id > 0) {
        p[0] = sv_int(id);
        p[1] = sv_int(t);
        rc = store_exec(st, q_reopen, p, 2, NULL, NULL, NULL);
    } else {
        p[0] = sv_text(kind);
        p[1] = sv_text(domain);
        p[2] = sv_int(t);
        p[3] = sv_int(count);
        p[4] = sv_int(usual);
        rc = store_query_int(st, q_new, p, 5, &id);
        if (rc == BNC_OK) {
            rc = guard_alert_incident(st, kind, domain, id, count,
                                      outage ? pc->guard.min_count : pc->guard.reputation_min,
                                      usual, pc->guard.window, now);
        } else if (rc == BNC_ENOTFOUND) {
            /* another node opened it a moment ago (and raised the alert): join it */
            rc = outage_find(st, kind, domain, true, &id);
        }
    }
    if (rc == BNC_OK && outage) {
        rc = hold_window(st, id, domain, t - pc->guard.window, now);
    }
    *id_out = id;
    return rc;
}

/* Does this verdict prove a burst of kind at domain? */
static bnc_status
burst_check(struct store *st, const struct guard_cfg *gc, bool sender, const char *domain,
            int64_t t, struct gsum *win, struct gsum *base, bool *burst)
{
    int64_t floor = sender ? gc->reputation_min : gc->min_count;
    bnc_status rc;

    *burst = false;
    if ((rc = guard_sum(st, "domain", domain, t - gc->window, t, win)) != BNC_OK) {
        return rc;
    }
    if ((sender ? win->sender : win->hard) < floor) {
        return BNC_OK;
    }
    rc = guard_sum(st, "domain", domain, t - gc->window - gc->baseline, t - gc->window, base);
    if (rc == BNC_OK) {
        *burst = guard_is_burst(gc, sender ? win->sender : win->hard,
                                sender ? base->sender : base->hard, floor);
    }
    return rc;
}

/* Sender-side refusals: a reputation incident raises an alert once; no penalty anyway. */
static bnc_status
reputation_check(struct store *st, const struct policy_cfg *pc, const char *domain, int64_t t,
                 int64_t now)
{
    struct gsum win, base;
    int64_t id;
    bool burst;
    bnc_status rc;

    if ((rc = outage_find(st, "reputation", domain, false, &id)) != BNC_OK || id > 0) {
        return rc;
    }
    if ((rc = burst_check(st, &pc->guard, true, domain, t, &win, &base, &burst)) != BNC_OK ||
        !burst) {
        return rc;
    }
    log_warnx("event=reputation_incident domain=%s refusals=%lld", domain, (long long)win.sender);
    return outage_open(st, pc, "reputation", domain, &win, &base, t, now, &id);
}

bnc_status
guard_on_verdict(struct store *st, const struct policy_cfg *pc, const struct bnc_rcpt *v,
                 const char *domain, int64_t event_id, int64_t event_time, int64_t now,
                 unsigned *acts)
{
    struct gsum win, base;
    int64_t add[6], id = 0;
    bool burst = false;
    bnc_status rc;

    if (domain == NULL || domain[0] == '\0') {
        return BNC_OK;
    }
    verdict_counts(v, *acts, add);
    if ((rc = guard_count_add(st, "domain", domain, event_time, add)) != BNC_OK) {
        return rc;
    }
    if (!pc->guard.enabled) {
        return BNC_OK;
    }
    if (*acts & POLICY_A_SENDER) {
        return reputation_check(st, pc, domain, event_time, now);
    }
    if (!guard_penalises(*acts, v->kind)) {
        return BNC_OK;
    }
    if ((rc = outage_find(st, "outage", domain, false, &id)) != BNC_OK) {
        return rc;
    }
    if (id == 0 && add[0] > 0) {
        rc = burst_check(st, &pc->guard, false, domain, event_time, &win, &base, &burst);
        if (rc == BNC_OK && burst) {
            log_warnx("event=outage_opened domain=%s hard=%lld baseline=%lld", domain,
                      (long long)win.hard, (long long)base.hard);
            rc = outage_open(st, pc, "outage", domain, &win, &base, event_time, now, &id);
        }
    }
    if (rc != BNC_OK || id == 0) {
        return rc;
    }
    *acts = guard_hold(*acts);
    return hold_event(st, id, event_id, event_time);
}
