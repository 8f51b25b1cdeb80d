/*
 * routes.c - the route table of the API (DESIGN §8) and the handlers of the operational
 * routes: /healthz, /metrics, the OpenAPI document, the dashboard assets, the suppression
 * check (the hot path before every send) and the suppressions resource.
 *
 * Data routes (contacts, events, review, rules, stats, bounces, verification) are in
 * routes_data.c. Handlers never touch sockets: they read struct api_req and write a status
 * and a body (http.c sends it).
 * STANDARDS: Prometheus text format 0.0.4 (/metrics); RFC 5321 §4.5.3.1 address lengths.
 * LIMITS: POST /api/v1/check takes at most API_CHECK_MAX addresses (413 past it); list
 * pages at most API_PAGE_MAX rows.
 * Ownership: replies are built into the request's buffer; static assets are served from the
 * binary without a copy.
 */
#include "api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "core/embedded.h"
#include "core/metrics.h"
#include "routes_int.h"
#include "store/api_store.h"
#include "store/model.h"
#include "store/store.h"

#define API_CHECK_MAX 1000

static int h_healthz(struct api_req *r);
static int h_metrics(struct api_req *r);
static int h_openapi(struct api_req *r);
static int h_index(struct api_req *r);
static int h_static(struct api_req *r);
static int h_check_get(struct api_req *r);
static int h_check_post(struct api_req *r);
static int h_supp_list(struct api_req *r);
static int h_supp_get(struct api_req *r);
static int h_supp_add(struct api_req *r);
static int h_supp_del(struct api_req *r);
static int h_webhook(struct api_req *r);

#define R_CR AUTH_S_CONTACT_READ
#define R_CW AUTH_S_CONTACT_WRITE
#define R_BW AUTH_S_BOUNCE_WRITE
#define R_AD AUTH_S_ADMIN

/* Order matters only among entries whose paths overlap: the first match serves. */
static const struct api_route api_route_table[] = {
    {API_GET, "/healthz", 0, h_healthz, "/healthz"},
    {API_GET, "/metrics", 0, h_metrics, "/metrics"},
    {API_GET, "/api/v1/openapi.yaml", 0, h_openapi, "/api/v1/openapi.yaml"},
    {API_GET, "/", 0, h_index, "/"},
    {API_GET, "/static/{}", 0, h_static, "/static/{name}"},
    {API_GET, "/verify/{}", 0, h_verify, "/verify/{token}"},
    {API_GET, "/api/v1/check/{}", R_CR, h_check_get, "/api/v1/check/{address}"},
    {API_POST, "/api/v1/check", R_CR, h_check_post, "/api/v1/check"},
    {API_GET, "/api/v1/contacts", R_CR, h_contacts_list, "/api/v1/contacts"},
    {API_POST, "/api/v1/contacts", R_CW, h_contacts_create, "/api/v1/contacts"},
    {API_GET, "/api/v1/contacts/{}", R_CR, h_contact_get, "/api/v1/contacts/{id}"},
    {API_PUT, "/api/v1/contacts/{}", R_CW, h_contact_put, "/api/v1/contacts/{id}"},
    {API_PATCH, "/api/v1/contacts/{}", R_CW, h_contact_patch, "/api/v1/contacts/{id}"},
    {API_DELETE, "/api/v1/contacts/{}", R_CW, h_contact_delete, "/api/v1/contacts/{id}"},
    {API_POST, "/api/v1/contacts/{}/reverify", R_CW, h_contact_reverify,
     "/api/v1/contacts/{id}/reverify"},
    {API_GET, "/api/v1/suppressions", R_AD, h_supp_list, "/api/v1/suppressions"},
    {API_POST, "/api/v1/suppressions", R_AD, h_supp_add, "/api/v1/suppressions"},
    {API_GET, "/api/v1/suppressions/{}", R_AD, h_supp_get, "/api/v1/suppressions/{address}"},
    {API_DELETE, "/api/v1/suppressions/{}", R_AD, h_supp_del, "/api/v1/suppressions/{address}"},
    {API_POST, "/api/v1/bounces", R_BW, h_bounces, "/api/v1/bounces"},
    {API_GET, "/api/v1/events", R_CR, h_events, "/api/v1/events"},
    {API_GET, "/api/v1/review", R_CR, h_review_list, "/api/v1/review"},
    {API_POST, "/api/v1/review/{}", R_AD, h_review_resolve, "/api/v1/review/{id}"},
    {API_GET, "/api/v1/rules", R_AD, h_rules_list, "/api/v1/rules"},
    {API_POST, "/api/v1/rules", R_AD, h_rules_add, "/api/v1/rules"},
    {API_DELETE, "/api/v1/rules/{}", R_AD, h_rules_delete, "/api/v1/rules/{id}"},
    {API_GET, "/api/v1/stats", R_CR, h_stats, "/api/v1/stats"},
    {API_GET, "/api/v1/audit", R_AD, h_audit_list, "/api/v1/audit"},
    {API_POST, "/api/v1/audit/{}/revert", R_AD, h_audit_revert, "/api/v1/audit/{id}/revert"},
    {API_POST, "/webhooks/{}", 0, h_webhook, "/webhooks/{esp}"},
};

const struct api_route *
api_routes(size_t *n_out)
{
    *n_out = sizeof(api_route_table) / sizeof(api_route_table[0]);
    return api_route_table;
}

/* ---- system ---- */

static int
h_healthz(struct api_req *r)
{
    struct store *st = api_store(r);
    int64_t one = 0;

    if (st == NULL || store_query_int(st, "SELECT 1", NULL, 0, &one) != BNC_OK) {
        return api_error(r, 503, "unavailable", "the store is not reachable");
    }
    buf_adds(&r->out, "{\"status\":\"ok\"}\n");
    return 200;
}

static int
h_metrics(struct api_req *r)
{
    metrics_render(&r->out);
    r->ctype = "text/plain; version=0.0.4; charset=utf-8";
    return 200;
}

static const struct bnc_embedded *
api_asset(const char *name)
{
    const struct bnc_embedded *e;

    for (e = bnc_web_assets; e->name != NULL; e++) {
        if (strcmp(e->name, name) == 0) {
            return e;
        }
    }
    return NULL;
}

static const char *
api_asset_type(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot == NULL) {
        return "application/octet-stream";
    }
    if (strcmp(dot, ".html") == 0) {
        return "text/html; charset=utf-8";
    }
    if (strcmp(dot, ".js") == 0) {
        return "text/javascript; charset=utf-8";
    }
    if (strcmp(dot, ".css") == 0) {
        return "text/css; charset=utf-8";
    }
    if (strcmp(dot, ".svg") == 0) {
        return "image/svg+xml";
    }
    if (strcmp(dot, ".yaml") == 0) {
        return "application/yaml; charset=utf-8";
    }
    return "application/octet-stream";
}

static int
api_serve_asset(struct api_req *r, const char *name)
{
    const struct bnc_embedded *e = api_asset(name);

    if (e == NULL) {
        return api_error(r, 404, "not_found", "no such file");
    }
    r->static_out = true;
    r->out_static = e->data;
    r->out_static_len = e->len;
    r->ctype = api_asset_type(name);
    if (strstr(r->ctype, "html") != NULL) {
        /* the dashboard loads nothing from elsewhere */
        api_add_header(r, "Content-Security-Policy",
                       "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
        api_add_header(r, "Referrer-Policy", "no-referrer");
    }
    return 200;
}

static int
h_openapi(struct api_req *r)
{
    return api_serve_asset(r, "openapi.yaml");
}

static int
h_index(struct api_req *r)
{
    return api_serve_asset(r, "index.html");
}

static int
h_static(struct api_req *r)
{
    return api_serve_asset(r, r->seg[1]);
}

static int
h_webhook(struct api_req *r)
{
    struct api_server *s = r->srv;
    char reply[4096];
    struct buf hdrs;
    int status;
    static const char *names[] = {"Content-Type",
                                  "X-Amz-Sns-Message-Type",
                                  "X-Twilio-Email-Event-Webhook-Signature",
                                  "X-Twilio-Email-Event-Webhook-Timestamp",
                                  "X-Mailgun-Signature",
                                  "X-Postmark-Signature",
                                  "X-MessageSystems-Webhook-Token",
                                  "Authorization"};
    size_t i;

    if (s->o.webhook == NULL) {
        return api_error(r, 404, "not_found", "webhooks are not enabled in this server");
    }
    buf_init(&hdrs, 64 * 1024);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = api_header(r, names[i]);
        if (v != NULL) {
            buf_printf(&hdrs, "%s: %s\n", names[i], v);
        }
    }
    reply[0] = '\0';
    status = s->o.webhook(s->o.ud, r->seg[1], r->body.p != NULL ? r->body.p : "", r->body.len,
                          hdrs.p != NULL ? hdrs.p : "", reply, sizeof(reply));
    buf_free(&hdrs);
    if (status < 200 || status > 599) {
        status = 500;
    }
    buf_adds(&r->out, reply);
    return status;
}

/* ---- check ---- */

/* Write one check result object. */
static bnc_status
api_check_one(struct api_req *r, struct store *st, const char *addr, struct buf *b)
{
    char norm[MODEL_EMAIL_MAX + 1];
    struct model_check c;
    bnc_status rc;

    if (!model_normalize_email(addr, norm)) {
        return BNC_EINVAL;
    }
    if ((rc = api_check_lookup(st, norm, &c)) != BNC_OK) {
        return rc;
    }
    (void)r;
    buf_adds(b, "{\"address\":");
    buf_add_json_str(b, norm, strlen(norm));
    buf_adds(b, c.sendable ? ",\"sendable\":true,\"hygiene_status\":"
                           : ",\"sendable\":false,\"hygiene_status\":");
    if (c.known) {
        buf_add_json_str(b, c.status, strlen(c.status));
    } else {
        buf_adds(b, "null");
    }
    buf_adds(b, ",\"reason\":");
    if (c.reason[0] != '\0') {
        buf_add_json_str(b, c.reason, strlen(c.reason));
    } else {
        buf_adds(b, "null");
    }
    buf_adds(b, ",\"source\":");
    if (c.source[0] != '\0') {
        buf_add_json_str(b, c.source, strlen(c.source));
    } else {
        buf_adds(b, "null");
    }
    if (c.since != 0) {
        buf_printf(b, ",\"since\":%lld}", (long long)c.since);
    } else {
        buf_adds(b, ",\"since\":null}");
    }
    return BNC_OK;
}

static int
h_check_get(struct api_req *r)
{
    struct store *st = api_store(r);
    bnc_status rc;

    if (st == NULL) {
        return api_error(r, 500, "internal", "the store is not available");
    }
    rc = api_check_one(r, st, r->seg[3], &r->out);
    if (rc == BNC_EINVAL) {
        return api_error(r, 400, "bad_address", "not an email address");
    }
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "check");
    }
    buf_addc(&r->out, '\n');
    return 200;
}

static int
h_check_post(struct api_req *r)
{
    json_t *body = apij_body(r), *arr, *v;
    struct store *st;
    size_t i, n;
    int status = 200;

    if (body == NULL) {
        return r->status;
    }
    arr = json_is_array(body) ? body : json_object_get(body, "addresses");
    if (!json_is_array(arr)) {
        json_decref(body);
        return api_error(r, 400, "bad_request",
                         "expected {\"addresses\": [\"a@example.com\", ...]} or an array");
    }
    n = json_array_size(arr);
    if (n > API_CHECK_MAX) {
        json_decref(body);
        return api_error(r, 413, "too_many", "at most %d addresses per request", API_CHECK_MAX);
    }
    if ((st = api_store(r)) == NULL) {
        json_decref(body);
        return api_error(r, 500, "internal", "the store is not available");
    }
    buf_adds(&r->out, "{\"results\":[");
    json_array_foreach(arr, i, v)
    {
        const char *addr = json_string_value(v);
        bnc_status rc;

        if (i > 0) {
            buf_addc(&r->out, ',');
        }
        if (addr == NULL) {
            status = api_error(r, 400, "bad_address", "addresses[%zu] is not a string", i);
            break;
        }
        rc = api_check_one(r, st, addr, &r->out);
        if (rc == BNC_EINVAL) {
            status = api_error(r, 400, "bad_address", "addresses[%zu] is not an email address", i);
            break;
        }
        if (rc != BNC_OK) {
            status = api_error_status(r, rc, "check");
            break;
        }
    }
    if (status == 200) {
        buf_adds(&r->out, "]}\n");
    }
    json_decref(body);
    return status;
}

/* ---- suppressions ---- */

static void
api_supp_json(struct buf *b, const struct model_suppression *s)
{
    buf_printf(b, "{\"id\":%lld,\"address\":", (long long)s->id);
    apij_str(b, s->address);
    buf_adds(b, ",\"reason\":");
    apij_str(b, s->reason);
    buf_adds(b, ",\"source\":");
    apij_str(b, s->source);
    buf_adds(b, ",\"ref\":");
    apij_str(b, s->ref);
    buf_printf(b, ",\"created_at\":%lld}", (long long)s->created_at);
}

struct api_list_ud {
    struct buf *b;
    size_t n;
    int64_t last;
};

static int
api_supp_cb(void *ud, const struct model_suppression *s)
{
    struct api_list_ud *l = ud;

    if (l->n++ > 0) {
        buf_addc(l->b, ',');
    }
    api_supp_json(l->b, s);
    l->last = s->id;
    return 0;
}

static int
h_supp_list(struct api_req *r)
{
    struct store *st = api_store(r);
    struct api_list_ud l = {&r->out, 0, 0};
    int64_t after = 0;
    size_t limit;
    bnc_status rc;

    if (st == NULL) {
        return api_error(r, 500, "internal", "the store is not available");
    }
    if (api_page_args(r, &after, &limit) != 0) {
        return r->status;
    }
    buf_adds(&r->out, "{\"data\":[");
    rc = model_suppression_list(st, after, limit, api_supp_cb, &l, NULL);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "suppressions");
    }
    buf_adds(&r->out, "],\"next\":");
    api_next_cursor(&r->out, l.n == limit ? l.last : 0);
    buf_adds(&r->out, "}\n");
    return 200;
}

static int
h_supp_get(struct api_req *r)
{
    struct store *st = api_store(r);
    struct api_list_ud l = {&r->out, 0, 0};
    char norm[MODEL_EMAIL_MAX + 1];
    bnc_status rc;

    if (st == NULL) {
        return api_error(r, 500, "internal", "the store is not available");
    }
    if (!model_normalize_email(r->seg[3], norm)) {
        return api_error(r, 400, "bad_address", "not an email address");
    }
    rc = model_suppression_get(st, norm, api_supp_cb, &l);
    if (rc == BNC_OK && l.n == 0) {
        rc = BNC_ENOTFOUND;
    }
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "suppression");
    }
    buf_addc(&r->out, '\n');
    return 200;
}

static int
h_supp_add(struct api_req *r)
{
    json_t *body = apij_body(r);
    struct store *st;
    const char *addr, *reason;
    char norm[MODEL_EMAIL_MAX + 1], actor[48];
    bool created = false;
    bnc_status rc;
    struct api_list_ud l = {&r->out, 0, 0};

    if (body == NULL) {
        return r->status;
    }
    addr = json_string_value(json_object_get(body, "address"));
    reason = json_string_value(json_object_get(body, "reason"));
    if (addr == NULL || !model_normalize_email(addr, norm)) {
        json_decref(body);
        return api_error(r, 400, "bad_address", "\"address\" must be an email address");
    }
    if (reason != NULL && strlen(reason) > 63) {
        json_decref(body);
        return api_error(r, 400, "bad_request", "\"reason\" is longer than 63 bytes");
    }
    if ((st = api_store(r)) == NULL) {
        json_decref(body);
        return api_error(r, 500, "internal", "the store is not available");
    }
    api_actor(r, actor, sizeof(actor));
    rc = model_suppress(st, norm, reason != NULL ? reason : "manual", "api", actor, "", api_now(r),
                        &created);
    json_decref(body);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "suppress");
    }
    rc = model_suppression_get(st, norm, api_supp_cb, &l);
    if (rc != BNC_OK || l.n == 0) {
        return api_error_status(r, rc == BNC_OK ? BNC_EINTERNAL : rc, "suppression");
    }
    buf_addc(&r->out, '\n');
    return created ? 201 : 200;
}

static int
h_supp_del(struct api_req *r)
{
    struct store *st = api_store(r);
    char norm[MODEL_EMAIL_MAX + 1], actor[48];
    bnc_status rc;

    if (st == NULL) {
        return api_error(r, 500, "internal", "the store is not available");
    }
    if (!model_normalize_email(r->seg[3], norm)) {
        return api_error(r, 400, "bad_address", "not an email address");
    }
    api_actor(r, actor, sizeof(actor));
    rc = model_unsuppress(st, norm, actor, "DELETE /api/v1/suppressions", api_now(r));
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "suppression");
    }
    return 204;
}
