/*
 * model_outage.c - outages after they opened: listing, an operator's apply or release, and
 * the periodic evaluation that ends, settles or applies them (the rules are in
 * model_guard.c's header and docs/guards.md).
 *
 * Applying a held penalty runs the policy again over the stored event (kind, reason,
 * status, time) against the contact as it is now, and carries the plan out exactly as
 * model_apply_verdict() would have, audited with the operator (or "guard:...") as actor.
 * Releasing only marks the events: the contact was never touched.
 * What it does not do: hold anything (model_guard.c) or raise spike alerts
 * (model_alerts.c).
 * STANDARDS: none beyond store.h's portable SQL.
 * LIMITS: held events are decided in pages of MODEL_LIMIT_MAX; counters older than
 * guard.baseline + guard.window (or guard.spike_period) are purged at each evaluation.
 * Ownership: see guards.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/guards.h"
#include "store/model_int.h"

#define OUTAGE_COLS                                                                \
    "id, kind, domain, state, decided_by, opened_at, last_seen_at, recovered_at, " \
    "decided_at, window_count, baseline, held, applied, released"

struct ol_ctx {
    guard_outage_cb cb;
    void *ud;
    size_t n;
    bool found;
};

static int
ol_row_cb(void *ud, const struct store_row *r)
{
    struct ol_ctx *c = ud;
    struct guard_outage o;

    o.id = mrow_int(r, 0);
    o.kind = mrow_text(r, 1);
    o.domain = mrow_text(r, 2);
    o.state = mrow_text(r, 3);
    o.decided_by = mrow_text(r, 4);
    o.opened_at = mrow_int(r, 5);
    o.last_seen_at = mrow_int(r, 6);
    o.recovered_at = mrow_int(r, 7);
    o.decided_at = mrow_int(r, 8);
    o.window_count = mrow_int(r, 9);
    o.baseline = mrow_int(r, 10);
    o.held = mrow_int(r, 11);
    o.applied = mrow_int(r, 12);
    o.released = mrow_int(r, 13);
    c->n++;
    c->found = true;
    return c->cb != NULL ? c->cb(c->ud, &o) : 0;
}

bnc_status
guard_outage_list(struct store *st, const char *state, int64_t after_id, size_t limit,
                  guard_outage_cb cb, void *ud, size_t *n_out)
{
    static const char *q = "SELECT " OUTAGE_COLS " FROM outages WHERE id > $1 AND ($2 = '' OR "
                           "state = $2) ORDER BY id LIMIT $3";
    struct store_value p[3] = {sv_int(after_id), sv_text(state ? state : ""),
                               sv_int((int64_t)mlimit(limit))};
    struct ol_ctx c = {cb, ud, 0, false};
    bnc_status rc = store_exec(st, q, p, 3, ol_row_cb, &c, NULL);

    if (n_out != NULL) {
        *n_out = c.n;
    }
    return rc;
}

bnc_status
guard_outage_get(struct store *st, int64_t id, guard_outage_cb cb, void *ud)
{
    static const char *q = "SELECT " OUTAGE_COLS " FROM outages WHERE id = $1";
    struct store_value p[1] = {sv_int(id)};
    struct ol_ctx c = {cb, ud, 0, false};
    bnc_status rc = store_exec(st, q, p, 1, ol_row_cb, &c, NULL);

    if (rc == BNC_OK && !c.found) {
        return BNC_ENOTFOUND;
    }
    return rc;
}

/* One held event, as stored. */
struct held {
    int64_t id;
    char recipient[MODEL_EMAIL_MAX + 1];
    char kind[16], reason[32], status[16], source[64];
    char *ref, *decided_by;
    int64_t event_time;
};

struct held_list {
    struct held *v;
    size_t n, cap;
};

static int
held_cb(void *ud, const struct store_row *r)
{
    struct held_list *hl = ud;
    struct held *h;

    if (hl->n == hl->cap) {
        hl->cap = hl->cap ? hl->cap * 2 : 64;
        hl->v = xrealloc(hl->v, hl->cap * sizeof(*hl->v));
    }
    h = &hl->v[hl->n++];
    h->id = mrow_int(r, 0);
    mcopy(h->recipient, sizeof(h->recipient), mrow_text(r, 1));
    mcopy(h->kind, sizeof(h->kind), mrow_text(r, 2));
    mcopy(h->reason, sizeof(h->reason), mrow_text(r, 3));
    mcopy(h->status, sizeof(h->status), mrow_text(r, 4));
    mcopy(h->source, sizeof(h->source), mrow_text(r, 5));
    h->ref = xstrdup(mrow_text(r, 6));
    h->decided_by = xstrdup(mrow_text(r, 7));
    h->event_time = mrow_int(r, 8);
    return 0;
}

static void
held_list_free(struct held_list *hl)
{
    size_t i;

    for (i = 0; i < hl->n; i++) {
        free(hl->v[i].ref);
        free(hl->v[i].decided_by);
    }
    free(hl->v);
    memset(hl, 0, sizeof(*hl));
}

/* The next page of events still held by outage id. */
static bnc_status
held_page(struct store *st, int64_t outage_id, int64_t after_id, struct held_list *hl)
{
    static const char *q =
        "SELECT id, recipient, kind, reason, status, source, ref, decided_by, event_time FROM "
        "bounce_events WHERE held_by_outage = $1 AND hold_state = 'held' AND id > $2 ORDER BY "
        "id LIMIT $3";
    struct store_value p[3] = {sv_int(outage_id), sv_int(after_id), sv_int(MODEL_LIMIT_MAX)};

    return store_exec(st, q, p, 3, held_cb, hl, NULL);
}

/* Carry out the penalty of one held event against the contact as it is now. */
static bnc_status
apply_held(struct store *st, const struct policy_cfg *pc, const struct held *h, const char *actor,
           int64_t now)
{
    struct policy_verdict pv;
    struct hyg_plan plan;
    bnc_kind kind = BNC_KIND_UNKNOWN;
    bnc_reason reason = BNC_R_UNDEFINED;
    bnc_status rc;

    (void)bnc_kind_from_name(h->kind, &kind);
    (void)bnc_reason_from_name(h->reason, &reason);
    pv.kind = kind;
    pv.reason = reason;
    pv.time = h->event_time;
    pv.side = BNC_SIDE_UNKNOWN;
    if ((rc = hyg_plan_make(st, pc, h->recipient, &pv, now, &plan)) != BNC_OK) {
        return rc;
    }
    if ((plan.acts & POLICY_A_REVIEW) == 0) {
        rc = hyg_plan_carry_out(st, &plan, h->reason, h->status,
                                kind == BNC_KIND_COMPLAINT ? "complaint" : "bounce", h->ref,
                                h->decided_by, actor, h->id, now, NULL);
    }
    hyg_plan_free(&plan);
    return rc;
}

static bnc_status
mark_held(struct store *st, int64_t event_id, const char *state)
{
    static const char *q = "UPDATE bounce_events SET hold_state = $2 WHERE id = $1";
    struct store_value p[2] = {sv_int(event_id), sv_text(state)};
    return store_exec(st, q, p, 2, NULL, NULL, NULL);
}

/* Did the address fail hard again after t (the domain had recovered)? */
static bnc_status
failed_again(struct store *st, const char *recipient, int64_t after, int64_t t, bool *out)
{
    static const char *q = "SELECT COUNT(*) FROM bounce_events WHERE recipient = $1 AND id > $2 "
                           "AND event_time > $3 AND kind = 'hard'";
    struct store_value p[3] = {sv_text(recipient), sv_int(after), sv_int(t)};
    int64_t n = 0;
    bnc_status rc = store_query_int(st, q, p, 3, &n);

    *out = n > 0;
    return rc;
}

/* How each held event is decided. */
enum decide_how { DECIDE_APPLY, DECIDE_RELEASE, DECIDE_BY_ADDRESS };

/* Decide every held event of outage id; counts go to applied/released. */
static bnc_status
decide_all(struct store *st, const struct policy_cfg *pc, int64_t id, enum decide_how how,
           int64_t recovered_at, const char *actor, int64_t now, int64_t *applied,
           int64_t *released)
{
    struct held_list hl = {0};
    int64_t after = 0;
    bnc_status rc = BNC_OK;
    size_t i;

    do {
        held_list_free(&hl);
        if ((rc = held_page(st, id, after, &hl)) != BNC_OK) {
            break;
        }
        for (i = 0; i < hl.n && rc == BNC_OK; i++) {
            bool apply = how == DECIDE_APPLY;
            after = hl.v[i].id;
            if (how == DECIDE_BY_ADDRESS) {
                rc = failed_again(st, hl.v[i].recipient, hl.v[i].id, recovered_at, &apply);
            }
            if (rc == BNC_OK && apply) {
                rc = apply_held(st, pc, &hl.v[i], actor, now);
            }
            if (rc == BNC_OK) {
                rc = mark_held(st, hl.v[i].id, apply ? "applied" : "released");
                *(apply ? applied : released) += 1;
            }
        }
    } while (rc == BNC_OK && hl.n == MODEL_LIMIT_MAX);
    held_list_free(&hl);
    return rc;
}

struct oc_state {
    char kind[16], state[16];
    int64_t recovered_at;
};

static int
oc_state_cb(void *ud, const struct guard_outage *o)
{
    struct oc_state *s = ud;
    mcopy(s->kind, sizeof(s->kind), o->kind);
    mcopy(s->state, sizeof(s->state), o->state);
    s->recovered_at = o->recovered_at;
    return 1;
}

/* Decide outage id as a whole (apply, release or per address) and close it as `state`. */
static bnc_status
outage_decide(struct store *st, const struct policy_cfg *pc, int64_t id, enum decide_how how,
              const char *state, const char *actor, int64_t now, size_t *n_out)
{
    static const char *q = "UPDATE outages SET state = $2, decided_at = $3, decided_by = $4, "
                           "applied = applied + $5, released = released + $6 WHERE id = $1";
    struct oc_state s;
    struct store_value p[6];
    int64_t applied = 0, released = 0;
    bnc_status rc;

    memset(&s, 0, sizeof(s));
    if ((rc = store_begin(st)) != BNC_OK) {
        return rc;
    }
    if ((rc = guard_outage_get(st, id, oc_state_cb, &s)) != BNC_OK) {
        goto fail;
    }
    if (strcmp(s.kind, "outage") != 0 ||
        (strcmp(s.state, "open") != 0 && strcmp(s.state, "recovered") != 0)) {
        rc = BNC_ECONFLICT;
        goto fail;
    }
    rc = decide_all(st, pc, id, how, s.recovered_at, actor, now, &applied, &released);
    if (rc != BNC_OK) {
        goto fail;
    }
    p[0] = sv_int(id);
    p[1] = sv_text(state);
    p[2] = sv_int(now);
    p[3] = sv_text(actor);
    p[4] = sv_int(applied);
    p[5] = sv_int(released);
    if ((rc = store_exec(st, q, p, 6, NULL, NULL, NULL)) != BNC_OK) {
        goto fail;
    }
    log_info("event=outage_%s id=%lld by=%s applied=%lld released=%lld", state, (long long)id,
             actor, (long long)applied, (long long)released);
    if (n_out != NULL) {
        *n_out = (size_t)(applied + released);
    }
    return store_commit(st);
fail:
    store_rollback(st);
    return rc;
}

bnc_status
guard_outage_apply(struct store *st, const struct policy_cfg *pc, int64_t id, const char *actor,
                   int64_t now, size_t *n_out)
{
    return outage_decide(st, pc, id, DECIDE_APPLY, "applied", actor, now, n_out);
}

bnc_status
guard_outage_release(struct store *st, int64_t id, const char *actor, int64_t now, size_t *n_out)
{
    struct policy_cfg pc;

    memset(&pc, 0, sizeof(pc)); /* releasing runs no policy */
    return outage_decide(st, &pc, id, DECIDE_RELEASE, "released", actor, now, n_out);
}

/* ---- evaluation ---- */

struct live {
    int64_t id[64];
    char domain[64][GUARD_KEY_MAX + 1];
    char kind[64][16], state[64][16];
    int64_t opened_at[64], recovered_at[64];
    size_t n;
};

static int
live_cb(void *ud, const struct guard_outage *o)
{
    struct live *l = ud;

    if (l->n == 64) {
        return 1;
    }
    l->id[l->n] = o->id;
    mcopy(l->domain[l->n], sizeof(l->domain[0]), o->domain);
    mcopy(l->kind[l->n], sizeof(l->kind[0]), o->kind);
    mcopy(l->state[l->n], sizeof(l->state[0]), o->state);
    l->opened_at[l->n] = o->opened_at;
    l->recovered_at[l->n] = o->recovered_at;
    l->n++;
    return 0;
}

/* Failures of the incident's kind at domain in the window before now. */
static bnc_status
window_count(struct store *st, const struct guard_cfg *gc, const char *domain, bool sender,
             int64_t now, int64_t *out)
{
    static const char *q_hard = "SELECT COALESCE(SUM(hard), 0) FROM guard_counts WHERE scope = "
                                "'domain' AND key = $1 AND bucket > $2 AND bucket <= $3";
    static const char *q_sender = "SELECT COALESCE(SUM(sender), 0) FROM guard_counts WHERE "
                                  "scope = 'domain' AND key = $1 AND bucket > $2 AND bucket <= $3";
    struct store_value p[3] = {sv_text(domain), sv_int(now - gc->window), sv_int(now)};

    return store_query_int(st, sender ? q_sender : q_hard, p, 3, out);
}

static bnc_status
set_state(struct store *st, int64_t id, const char *state, int64_t now)
{
    static const char *q = "UPDATE outages SET state = $2, recovered_at = CASE WHEN $2 = "
                           "'recovered' THEN $3 ELSE recovered_at END, decided_at = CASE WHEN "
                           "$2 = 'closed' THEN $3 ELSE decided_at END WHERE id = $1";
    struct store_value p[3] = {sv_int(id), sv_text(state), sv_int(now)};
    return store_exec(st, q, p, 3, NULL, NULL, NULL);
}

/* One live incident at now. */
static bnc_status
evaluate_one(struct store *st, const struct policy_cfg *pc, const struct live *l, size_t i,
             int64_t now, struct guard_eval *out)
{
    const struct guard_cfg *gc = &pc->guard;
    bool sender = strcmp(l->kind[i], "reputation") == 0;
    int64_t n = 0;
    bnc_status rc;

    if (strcmp(l->state[i], "recovered") == 0) {
        if (now < l->recovered_at[i] + gc->decide_after) {
            return BNC_OK;
        }
        out->settled++;
        return outage_decide(st, pc, l->id[i], DECIDE_BY_ADDRESS, "settled", "guard:settle", now,
                             NULL);
    }
    if ((rc = window_count(st, gc, l->domain[i], sender, now, &n)) != BNC_OK) {
        return rc;
    }
    if (n < (sender ? gc->reputation_min : gc->min_count)) {
        *(sender ? &out->closed : &out->recovered) += 1;
        log_info("event=%s id=%lld domain=%s", sender ? "reputation_closed" : "outage_recovered",
                 (long long)l->id[i], l->domain[i]);
        return set_state(st, l->id[i], sender ? "closed" : "recovered", now);
    }
    if (!sender && now - l->opened_at[i] >= gc->max_hold) {
        out->applied++;
        return outage_decide(st, pc, l->id[i], DECIDE_APPLY, "applied", "guard:max_hold", now,
                             NULL);
    }
    return BNC_OK;
}

/* Counters older than anything a decision reads (the baseline before the window, the spike
 * period) are dropped, so guard_counts stays as large as a few days of minutes. */
static bnc_status
purge_counts(struct store *st, const struct bnc_config *cfg, int64_t now)
{
    static const char *q = "DELETE FROM guard_counts WHERE bucket < $1";
    int64_t keep = cfg->guard_baseline + cfg->guard_window;
    struct store_value p[1];

    if (cfg->guard_spike_period > keep) {
        keep = cfg->guard_spike_period;
    }
    p[0] = sv_int(now - keep - GUARD_BUCKET);
    return store_exec(st, q, p, 1, NULL, NULL, NULL);
}

bnc_status
guard_evaluate(struct store *st, const struct policy_cfg *pc, const struct bnc_config *cfg,
               int64_t now, struct guard_eval *out)
{
    static const char *q = "SELECT " OUTAGE_COLS " FROM outages WHERE state IN ('open', "
                           "'recovered') AND id > $1 ORDER BY id LIMIT 64";
    struct live *l = xcalloc(1, sizeof(*l));
    int64_t after = 0;
    bnc_status rc = BNC_OK;
    size_t i;

    memset(out, 0, sizeof(*out));
    do {
        struct store_value p[1] = {sv_int(after)};
        struct ol_ctx c = {live_cb, l, 0, false};
        l->n = 0;
        if ((rc = store_exec(st, q, p, 1, ol_row_cb, &c, NULL)) != BNC_OK) {
            break;
        }
        for (i = 0; i < l->n && rc == BNC_OK; i++) {
            after = l->id[i];
            rc = evaluate_one(st, pc, l, i, now, out);
        }
    } while (rc == BNC_OK && l->n == 64);
    free(l);
    if (rc == BNC_OK) {
        rc = guard_spike_alerts(st, cfg, now, &out->alerts);
    }
    if (rc == BNC_OK) {
        rc = purge_counts(st, cfg, now);
    }
    return rc;
}
