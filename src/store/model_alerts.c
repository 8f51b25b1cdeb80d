/*
 * model_alerts.c - the alerts table: raising an alert (one per incident; one per scope, key
 * and metric within guard.alert_cooldown for spikes), the spike evaluation over the
 * per-minute counters, and the delivery bookkeeping the daemon's sender writes back
 * (attempts, next try, dead letters).
 *
 * The payload is built once, when the alert is raised, and never changes: every retry
 * delivers (and signs) the same bytes, so a receiver can deduplicate on "id". Its fields are
 * documented in docs/guards.md.
 * What it does not do: send anything (server/alerts.c) or hold penalties (model_guard.c).
 * STANDARDS: RFC 8259 (JSON).
 * LIMITS: one evaluation reads every (scope, key) counted in the period; keys were cut at
 * GUARD_KEY_MAX when counted.
 * Ownership: see guards.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/guards.h"
#include "store/model_int.h"

/* What an alert is about; the payload is built from it. */
struct alert_in {
    const char *kind, *scope, *key, *metric, *unit;
    int64_t value, threshold;
    int64_t incident_id;             /* outage or reputation id, 0 for spikes */
    const struct guard_rates *rates; /* spikes: the period's numbers, else NULL */
    int64_t period;                  /* seconds the numbers cover */
    int64_t baseline;                /* incidents: failures over the baseline period */
    bool pause;                      /* ask the sender to pause the campaign */
};

static char *
alert_payload(const struct alert_in *a, int64_t id, int64_t now)
{
    json_t *o = json_object();
    char *s;

    json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "type", json_string(a->kind));
    json_object_set_new(o, "scope", json_string(a->scope));
    json_object_set_new(o, "key", json_string(a->key));
    json_object_set_new(o, "metric", json_string(a->metric));
    json_object_set_new(o, "value", json_integer(a->value));
    json_object_set_new(o, "threshold", json_integer(a->threshold));
    json_object_set_new(o, "unit", json_string(a->unit));
    json_object_set_new(o, "period", json_integer(a->period));
    json_object_set_new(o, "created_at", json_integer(now));
    if (a->incident_id > 0) {
        json_object_set_new(o, "incident_id", json_integer(a->incident_id));
        json_object_set_new(o, "baseline", json_integer(a->baseline));
    }
    if (a->rates != NULL) {
        json_t *c = json_object();
        json_object_set_new(c, "hard", json_integer(a->rates->hard));
        json_object_set_new(c, "soft", json_integer(a->rates->soft));
        json_object_set_new(c, "complaint", json_integer(a->rates->complaint));
        json_object_set_new(c, "sender_side", json_integer(a->rates->sender));
        json_object_set_new(c, "bounces", json_integer(a->rates->total));
        json_object_set_new(c, "sends", json_integer(a->rates->sends));
        json_object_set_new(o, "counts", c);
    }
    if (a->pause) {
        json_object_set_new(o, "request", json_string("pause"));
        json_object_set_new(o, "campaign", json_string(a->key));
    }
    s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

static bnc_status
alert_insert(struct store *st, const struct alert_in *a, int64_t now)
{
    static const char *q_ins =
        "INSERT INTO alerts (kind, scope, key, metric, value, threshold, payload, state, "
        "next_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, '{}', 'pending', $7, $7) "
        "RETURNING id";
    static const char *q_pay = "UPDATE alerts SET payload = $2 WHERE id = $1";
    struct store_value p[7];
    int64_t id = 0;
    char *payload;
    bnc_status rc;

    p[0] = sv_text(a->kind);
    p[1] = sv_text(a->scope);
    p[2] = sv_text(a->key);
    p[3] = sv_text(a->metric);
    p[4] = sv_int(a->value);
    p[5] = sv_int(a->threshold);
    p[6] = sv_int(now);
    if ((rc = store_query_int(st, q_ins, p, 7, &id)) != BNC_OK) {
        return rc;
    }
    payload = alert_payload(a, id, now);
    if (payload == NULL) {
        return BNC_EINTERNAL;
    }
    p[0] = sv_int(id);
    p[1] = sv_text(payload);
    rc = store_exec(st, q_pay, p, 2, NULL, NULL, NULL);
    free(payload);
    return rc;
}

bnc_status
guard_alert_incident(struct store *st, const char *kind, const char *domain, int64_t incident_id,
                     int64_t count, int64_t threshold, int64_t baseline, int64_t window,
                     int64_t now)
{
    struct alert_in a;

    memset(&a, 0, sizeof(a));
    a.kind = kind;
    a.scope = "domain";
    a.key = domain;
    a.metric = strcmp(kind, "outage") == 0 ? "hard_bounces" : "sender_refusals";
    a.unit = "count";
    a.value = count;
    a.threshold = threshold;
    a.incident_id = incident_id;
    a.baseline = baseline;
    a.period = window;
    return alert_insert(st, &a, now);
}

/* ---- spikes ---- */

struct scope_row {
    char scope[16];
    char key[GUARD_KEY_MAX + 1];
    struct guard_rates r;
};

struct scope_rows {
    struct scope_row *v;
    size_t n, cap;
};

static int
scope_row_cb(void *ud, const struct store_row *r)
{
    struct scope_rows *sr = ud;
    struct scope_row *x;

    if (sr->n == sr->cap) {
        sr->cap = sr->cap ? sr->cap * 2 : 32;
        sr->v = xrealloc(sr->v, sr->cap * sizeof(*sr->v));
    }
    x = &sr->v[sr->n++];
    mcopy(x->scope, sizeof(x->scope), mrow_text(r, 0));
    mcopy(x->key, sizeof(x->key), mrow_text(r, 1));
    x->r.hard = mrow_int(r, 2);
    x->r.soft = mrow_int(r, 3);
    x->r.complaint = mrow_int(r, 4);
    x->r.sender = mrow_int(r, 5);
    x->r.total = mrow_int(r, 6);
    x->r.sends = mrow_int(r, 7);
    return 0;
}

/* Was an alert for (scope, key, metric) raised since `since`? For a recipient domain's
 * hard bounces an outage or reputation incident counts too: the outage guard spoke. */
static bnc_status
alerted_since(struct store *st, const char *scope, const char *key, const char *metric,
              int64_t since, bool *out)
{
    static const char *q =
        "SELECT COUNT(*) FROM alerts WHERE scope = $1 AND key = $2 AND created_at > $4 AND "
        "(metric = $3 OR (scope = 'domain' AND kind IN ('outage', 'reputation') AND $3 IN "
        "('hard_bounces', 'hard_bounce_rate')))";
    struct store_value p[4] = {sv_text(scope), sv_text(key), sv_text(metric), sv_int(since)};
    int64_t n = 0;
    bnc_status rc = store_query_int(st, q, p, 4, &n);

    *out = n > 0;
    return rc;
}

static bnc_status
spike_row(struct store *st, const struct bnc_config *cfg, const struct scope_row *x, int64_t now,
          size_t *n_out)
{
    struct guard_spike_cfg sc;
    struct guard_breach b[2];
    struct alert_in a;
    bnc_status rc = BNC_OK;
    bool seen;
    int i, n;

    guard_spike_cfg_from_config(&sc, cfg);
    n = guard_spikes(&sc, &x->r, b);
    for (i = 0; i < n && rc == BNC_OK; i++) {
        memset(&a, 0, sizeof(a));
        a.kind = "spike";
        a.scope = x->scope;
        a.key = x->key;
        a.metric = guard_metric_name(b[i].metric);
        rc = alerted_since(st, a.scope, a.key, a.metric, now - cfg->guard_alert_cooldown, &seen);
        if (rc != BNC_OK || seen) {
            continue;
        }
        a.unit = x->r.sends > 0 ? "basis_points" : "count";
        a.value = b[i].value;
        a.threshold = b[i].threshold;
        a.rates = &x->r;
        a.period = cfg->guard_spike_period;
        a.pause = cfg->guard_pause_campaigns && strcmp(x->scope, "campaign") == 0;
        log_warnx("event=spike_alert scope=%s key=%s metric=%s value=%lld threshold=%lld", a.scope,
                  a.key, a.metric, (long long)a.value, (long long)a.threshold);
        if ((rc = alert_insert(st, &a, now)) == BNC_OK) {
            (*n_out)++;
        }
    }
    return rc;
}

bnc_status
guard_spike_alerts(struct store *st, const struct bnc_config *cfg, int64_t now, size_t *n_out)
{
    static const char *q =
        "SELECT scope, key, SUM(hard), SUM(soft), SUM(complaint), SUM(sender), SUM(total), "
        "SUM(sends) FROM guard_counts WHERE bucket > $1 AND bucket <= $2 GROUP BY scope, key "
        "HAVING SUM(hard) > 0 OR SUM(complaint) > 0 ORDER BY scope, key";
    struct store_value p[2] = {sv_int(now - cfg->guard_spike_period), sv_int(now)};
    struct scope_rows sr = {0};
    bnc_status rc;
    size_t i;

    *n_out = 0;
    if ((rc = store_begin(st)) != BNC_OK) {
        return rc;
    }
    rc = store_exec(st, q, p, 2, scope_row_cb, &sr, NULL);
    for (i = 0; i < sr.n && rc == BNC_OK; i++) {
        rc = spike_row(st, cfg, &sr.v[i], now, n_out);
    }
    free(sr.v);
    if (rc != BNC_OK) {
        store_rollback(st);
        *n_out = 0;
        return rc;
    }
    return store_commit(st);
}

/* ---- the queue ---- */

#define ALERT_COLS                                                                        \
    "id, kind, scope, key, metric, value, threshold, payload, state, attempts, next_at, " \
    "last_error, announced, created_at, delivered_at"

struct al_ctx {
    guard_alert_cb cb;
    void *ud;
    size_t n;
};

static int
al_row_cb(void *ud, const struct store_row *r)
{
    struct al_ctx *c = ud;
    struct guard_alert a;

    a.id = mrow_int(r, 0);
    a.kind = mrow_text(r, 1);
    a.scope = mrow_text(r, 2);
    a.key = mrow_text(r, 3);
    a.metric = mrow_text(r, 4);
    a.value = mrow_int(r, 5);
    a.threshold = mrow_int(r, 6);
    a.payload = mrow_text(r, 7);
    a.state = mrow_text(r, 8);
    a.attempts = mrow_int(r, 9);
    a.next_at = mrow_int(r, 10);
    a.last_error = mrow_text(r, 11);
    a.announced = mrow_int(r, 12) != 0;
    a.created_at = mrow_int(r, 13);
    a.delivered_at = mrow_int(r, 14);
    c->n++;
    return c->cb(c->ud, &a);
}

bnc_status
guard_alert_list(struct store *st, const char *state, int64_t after_id, size_t limit,
                 guard_alert_cb cb, void *ud, size_t *n_out)
{
    static const char *q = "SELECT " ALERT_COLS " FROM alerts WHERE id > $1 AND ($2 = '' OR "
                           "state = $2) ORDER BY id LIMIT $3";
    struct store_value p[3] = {sv_int(after_id), sv_text(state ? state : ""),
                               sv_int((int64_t)mlimit(limit))};
    struct al_ctx c = {cb, ud, 0};
    bnc_status rc = store_exec(st, q, p, 3, al_row_cb, &c, NULL);

    if (n_out != NULL) {
        *n_out = c.n;
    }
    return rc;
}

bnc_status
guard_alert_due(struct store *st, int64_t now, size_t limit, guard_alert_cb cb, void *ud,
                size_t *n_out)
{
    static const char *q = "SELECT " ALERT_COLS " FROM alerts WHERE (state = 'pending' AND "
                           "next_at <= $1) OR announced = 0 ORDER BY id LIMIT $2";
    struct store_value p[2] = {sv_int(now), sv_int((int64_t)mlimit(limit))};
    struct al_ctx c = {cb, ud, 0};
    bnc_status rc = store_exec(st, q, p, 2, al_row_cb, &c, NULL);

    if (n_out != NULL) {
        *n_out = c.n;
    }
    return rc;
}

bnc_status
guard_alert_update(struct store *st, int64_t id, const char *state, int64_t attempts,
                   int64_t next_at, const char *last_error, int64_t delivered_at)
{
    static const char *q = "UPDATE alerts SET state = $2, attempts = $3, next_at = $4, "
                           "last_error = $5, delivered_at = $6 WHERE id = $1";
    char err[512];
    struct store_value p[6];

    mcopy(err, sizeof(err), last_error ? last_error : "");
    p[0] = sv_int(id);
    p[1] = sv_text(state);
    p[2] = sv_int(attempts);
    p[3] = sv_int(next_at);
    p[4] = sv_text(err);
    p[5] = sv_int(delivered_at);
    return store_exec(st, q, p, 6, NULL, NULL, NULL);
}

bnc_status
guard_alert_announced(struct store *st, int64_t id)
{
    static const char *q = "UPDATE alerts SET announced = 1 WHERE id = $1";
    struct store_value p[1] = {sv_int(id)};
    return store_exec(st, q, p, 1, NULL, NULL, NULL);
}

bnc_status
guard_alert_retry(struct store *st, int64_t id, int64_t now)
{
    static const char *q = "UPDATE alerts SET state = 'pending', attempts = 0, next_at = $2 "
                           "WHERE id = $1 AND state = 'dead'";
    struct store_value p[2] = {sv_int(id), sv_int(now)};
    int64_t changes = 0;
    bnc_status rc = store_exec(st, q, p, 2, NULL, NULL, &changes);

    if (rc == BNC_OK && changes == 0) {
        return BNC_ENOTFOUND;
    }
    return rc;
}
