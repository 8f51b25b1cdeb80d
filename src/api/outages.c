/*
 * outages.c - the guards' resources (DESIGN §10, docs/guards.md): GET /api/v1/outages[/{id}]
 * (outages and reputation incidents), POST /api/v1/outages/{id}/apply and .../release (an
 * operator decides on the held penalties), GET /api/v1/alerts (?state=dead is the
 * dead-letter list) and POST /api/v1/sends (send counts, so that spike alerts compare
 * rates instead of absolute counts).
 *
 * A sends body is one object {"campaign", "sender_domain", "recipient_domain", "count",
 * "time"} or an array of them, applied in one transaction (all or none).
 * LIMITS: pages API_PAGE_MAX items; at most SENDS_MAX entries per POST (more is refused
 * whole, 413); keys longer than GUARD_KEY_MAX are refused (400), never cut.
 * Ownership: replies go to r->out.
 */
#include "routes_int.h"

#include <string.h>

#include "hygiene/policy.h"
#include "store/guards.h"
#include "store/store.h"

#define SENDS_MAX 1000

static int
api_outage_cb(void *ud, const struct guard_outage *o)
{
    struct buf *b = api_list_item(ud, o->id);

    buf_printf(b, "{\"id\":%lld", (long long)o->id);
    apij_kv_str(b, "kind", o->kind);
    apij_kv_str(b, "domain", o->domain);
    apij_kv_str(b, "state", o->state);
    apij_kv_str(b, "decided_by", o->decided_by);
    buf_printf(b,
               ",\"opened_at\":%lld,\"last_seen_at\":%lld,\"recovered_at\":%lld,"
               "\"decided_at\":%lld,\"window_count\":%lld,\"baseline\":%lld,\"held\":%lld,"
               "\"applied\":%lld,\"released\":%lld}",
               (long long)o->opened_at, (long long)o->last_seen_at, (long long)o->recovered_at,
               (long long)o->decided_at, (long long)o->window_count, (long long)o->baseline,
               (long long)o->held, (long long)o->applied, (long long)o->released);
    return 0;
}

int
h_outages_list(struct api_req *r)
{
    struct store *st;
    struct api_list l;
    int64_t after;
    size_t limit, got = 0;
    bnc_status rc;

    if (api_page_args(r, &after, &limit) != 0) {
        return r->status;
    }
    if ((st = api_need_store(r)) == NULL) {
        return r->status;
    }
    api_page_begin(r, &l);
    rc = guard_outage_list(st, api_qopt(r, "state"), after, limit, api_outage_cb, &l, &got);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "outages");
    }
    api_page_end(r, got == limit ? l.last : 0);
    return 200;
}

static int
one_outage_cb(void *ud, const struct guard_outage *o)
{
    struct api_list l;

    memset(&l, 0, sizeof(l));
    l.b = ud; /* one object, no list around it */
    return api_outage_cb(&l, o);
}

int
h_outage_get(struct api_req *r)
{
    struct store *st;
    int64_t id;
    bnc_status rc;

    if (!api_path_id(r, 3, "outage", &id) || (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    rc = guard_outage_get(st, id, one_outage_cb, &r->out);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "outage");
    }
    buf_addc(&r->out, '\n');
    return 200;
}

static int
outage_decide(struct api_req *r, bool apply)
{
    struct policy_cfg pc;
    struct store *st;
    char actor[48];
    size_t n = 0;
    int64_t id;
    bnc_status rc;

    if (!api_path_id(r, 3, "outage", &id) || (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    policy_cfg_from_config(&pc, r->srv->cfg);
    api_actor(r, actor, sizeof(actor));
    rc = apply ? guard_outage_apply(st, &pc, id, actor, api_now(r), &n)
               : guard_outage_release(st, id, actor, api_now(r), &n);
    if (rc == BNC_ECONFLICT) {
        return api_error(r, 409, "conflict",
                         "this outage was already decided, or is a reputation incident");
    }
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "outage");
    }
    buf_printf(&r->out, "{\"id\":%lld,\"state\":\"%s\",\"decided\":%zu}\n", (long long)id,
               apply ? "applied" : "released", n);
    return 200;
}

int
h_outage_apply(struct api_req *r)
{
    return outage_decide(r, true);
}

int
h_outage_release(struct api_req *r)
{
    return outage_decide(r, false);
}

static int
api_alert_cb(void *ud, const struct guard_alert *a)
{
    struct buf *b = api_list_item(ud, a->id);

    buf_printf(b, "{\"id\":%lld", (long long)a->id);
    apij_kv_str(b, "type", a->kind);
    apij_kv_str(b, "scope", a->scope);
    apij_kv_str(b, "key", a->key);
    apij_kv_str(b, "metric", a->metric);
    apij_kv_str(b, "state", a->state);
    apij_kv_str(b, "last_error", a->last_error);
    buf_printf(b,
               ",\"value\":%lld,\"threshold\":%lld,\"attempts\":%lld,\"created_at\":%lld,"
               "\"delivered_at\":%lld,\"payload\":",
               (long long)a->value, (long long)a->threshold, (long long)a->attempts,
               (long long)a->created_at, (long long)a->delivered_at);
    buf_adds(b, a->payload); /* JSON the store built */
    buf_addc(b, '}');
    return 0;
}

int
h_alerts_list(struct api_req *r)
{
    struct store *st;
    struct api_list l;
    int64_t after;
    size_t limit, got = 0;
    bnc_status rc;

    if (api_page_args(r, &after, &limit) != 0 || (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    api_page_begin(r, &l);
    rc = guard_alert_list(st, api_qopt(r, "state"), after, limit, api_alert_cb, &l, &got);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "alerts");
    }
    api_page_end(r, got == limit ? l.last : 0);
    return 200;
}

/* A key of a sends entry: absent/null is NULL; a string within GUARD_KEY_MAX, else error. */
static bool
sends_key(json_t *o, const char *name, const char **out)
{
    json_t *v = json_object_get(o, name);

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        return true;
    }
    if (!json_is_string(v) || json_string_length(v) > GUARD_KEY_MAX) {
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* Validate and add one entry; the error (400) is written into r when it returns false. */
static bool
sends_one(struct api_req *r, struct store *st, json_t *o, size_t i, bnc_status *rc)
{
    const char *camp, *sdom, *rdom;
    json_t *cnt = json_object_get(o, "count"), *tm = json_object_get(o, "time");
    int64_t t = api_now(r);

    if (!json_is_object(o) || !sends_key(o, "campaign", &camp) ||
        !sends_key(o, "sender_domain", &sdom) || !sends_key(o, "recipient_domain", &rdom) ||
        !json_is_integer(cnt) || json_integer_value(cnt) < 0 ||
        (tm != NULL && (!json_is_integer(tm) || json_integer_value(tm) <= 0))) {
        api_error(r, 400, "bad_request",
                  "entry %zu: wants \"count\" (integer >= 0), optional \"time\" (Unix seconds) "
                  "and \"campaign\", \"sender_domain\", \"recipient_domain\" (strings of at "
                  "most %d bytes)",
                  i, GUARD_KEY_MAX);
        return false;
    }
    if (camp == NULL && sdom == NULL && rdom == NULL) {
        api_error(r, 400, "bad_request",
                  "entry %zu: names no campaign, sender_domain or recipient_domain", i);
        return false;
    }
    if (tm != NULL) {
        t = (int64_t)json_integer_value(tm);
    }
    *rc = guard_sends_add(st, camp, sdom, rdom, (int64_t)json_integer_value(cnt), t);
    return *rc == BNC_OK;
}

int
h_sends(struct api_req *r)
{
    json_t *body, *one[1];
    struct store *st;
    bnc_status rc = BNC_OK;
    size_t i, n;

    if ((body = api_json_body(r)) == NULL) {
        return r->status;
    }
    n = json_is_array(body) ? json_array_size(body) : 1;
    if (n > SENDS_MAX) {
        json_decref(body);
        return api_error(r, 413, "too_large", "at most %d entries per request", SENDS_MAX);
    }
    if ((st = api_need_store(r)) == NULL || (rc = store_begin(st)) != BNC_OK) {
        json_decref(body);
        return st == NULL ? r->status : api_error_status(r, rc, "sends");
    }
    one[0] = body;
    for (i = 0; i < n; i++) {
        if (!sends_one(r, st, json_is_array(body) ? json_array_get(body, i) : one[0], i, &rc)) {
            store_rollback(st);
            json_decref(body);
            return rc != BNC_OK ? api_error_status(r, rc, "sends") : r->status;
        }
    }
    json_decref(body);
    if ((rc = store_commit(st)) != BNC_OK) {
        return api_error_status(r, rc, "sends");
    }
    buf_printf(&r->out, "{\"accepted\":%zu}\n", n);
    return 200;
}
