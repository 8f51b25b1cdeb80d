/*
 * suppressions.c - the suppressions resource (address-level, DESIGN §7; works for addresses
 * with no contact): GET /api/v1/suppressions (a page), GET/DELETE
 * /api/v1/suppressions/{address}, POST /api/v1/suppressions (suppress by hand).
 *
 * Addresses are normalized (model_normalize_email) before every lookup; a manual
 * suppression is written by the model with the token as actor, so it shows in the audit log.
 * LIMITS: pages API_PAGE_MAX rows; a reason at most 63 bytes.
 * Ownership: replies go to r->out.
 */
#include "routes_int.h"

#include <string.h>

#include "store/model.h"

static void
api_supp_json(struct buf *b, const struct model_suppression *s)
{
    buf_printf(b, "{\"id\":%lld,\"address\":", (long long)s->id);
    apij_str(b, s->address);
    apij_kv_str(b, "reason", s->reason);
    apij_kv_str(b, "source", s->source);
    apij_kv_str(b, "ref", s->ref);
    buf_printf(b, ",\"created_at\":%lld}", (long long)s->created_at);
}

static int
api_supp_cb(void *ud, const struct model_suppression *s)
{
    struct api_list *l = ud;

    api_list_item(l, s->id);
    api_supp_json(l->b, s);
    return 0;
}

int
h_supp_list(struct api_req *r)
{
    struct store *st = api_need_store(r);
    struct api_list l = {&r->out, 0, 0};
    int64_t after = 0;
    size_t limit;
    bnc_status rc;

    if (st == NULL) {
        return r->status;
    }
    if (api_page_args(r, &after, &limit) != 0) {
        return r->status;
    }
    api_page_begin(r, &l);
    rc = model_suppression_list(st, after, limit, api_supp_cb, &l, NULL);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "suppressions");
    }
    api_page_end(r, l.n == limit ? l.last : 0);
    return 200;
}

int
h_supp_get(struct api_req *r)
{
    struct store *st = api_need_store(r);
    struct api_list l = {&r->out, 0, 0};
    char norm[MODEL_EMAIL_MAX + 1];
    bnc_status rc;

    if (st == NULL) {
        return r->status;
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

int
h_supp_add(struct api_req *r)
{
    json_t *body = api_json_body(r);
    struct store *st;
    const char *addr, *reason;
    char norm[MODEL_EMAIL_MAX + 1], actor[48];
    bool created = false;
    bnc_status rc;
    struct api_list l = {&r->out, 0, 0};

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
    if ((st = api_need_store(r)) == NULL) {
        json_decref(body);
        return r->status;
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

int
h_supp_del(struct api_req *r)
{
    struct store *st = api_need_store(r);
    char norm[MODEL_EMAIL_MAX + 1], actor[48];
    bnc_status rc;

    if (st == NULL) {
        return r->status;
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
