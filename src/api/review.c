/*
 * review.c - the review queue resource: GET /api/v1/review (a page of items, open ones or
 * all) and POST /api/v1/review/{id} (a person resolves an item as hard, soft or ignore);
 * POST /api/v1/review/{id}/reopen undoes a resolution (its audit entries reverted, the item
 * open again).
 *
 * Resolution applies the hygiene policy to the contact through the model, exactly as if the
 * verdict had been that kind from the start (DESIGN §6: unknown verdicts wait for a person).
 * LIMITS: pages API_PAGE_MAX items.
 * Ownership: replies go to r->out; the resolution string is written before the body is
 * released.
 */
#include "routes_int.h"

#include <string.h>

#include "hygiene/policy.h"
#include "store/model.h"
#include "store/model_dash.h"

static int
api_review_cb(void *ud, const struct model_review *x)
{
    struct buf *b = api_list_item(ud, x->id);

    buf_printf(b, "{\"id\":%lld,\"event_id\":%lld,\"contact_id\":", (long long)x->id,
               (long long)x->event_id);
    apij_int_or_null(b, x->contact_id);
    apij_kv_str(b, "recipient", x->recipient);
    apij_kv_str(b, "reason", x->reason);
    apij_kv_str(b, "status", x->status);
    apij_kv_str(b, "diagnostic", x->diagnostic);
    apij_kv_str(b, "source", x->source);
    apij_kv_str(b, "ref", x->ref);
    apij_kv_str(b, "state", x->state);
    apij_kv_str(b, "resolution", x->resolution);
    apij_kv_str(b, "resolved_by", x->resolved_by);
    buf_printf(b, ",\"event_time\":%lld,\"resolved_at\":", (long long)x->event_time);
    apij_int_or_null(b, x->resolved_at);
    buf_printf(b, ",\"created_at\":%lld}", (long long)x->created_at);
    return 0;
}

int
h_review_list(struct api_req *r)
{
    struct store *st;
    struct api_list l;
    const char *state = api_qopt(r, "state");
    int64_t after;
    size_t limit, got = 0;
    bool open_only = true;
    bnc_status rc;

    if (api_page_args(r, &after, &limit) != 0) {
        return r->status;
    }
    if (state != NULL) {
        if (strcmp(state, "all") == 0) {
            open_only = false;
        } else if (strcmp(state, "open") != 0) {
            return api_error(r, 400, "bad_request", "\"state\" must be open or all");
        }
    }
    if ((st = api_need_store(r)) == NULL) {
        return r->status;
    }
    api_page_begin(r, &l);
    rc = model_review_list(st, open_only, after, limit, api_review_cb, &l, &got);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "review");
    }
    api_page_end(r, got == limit ? l.last : 0);
    return 200;
}

int
h_review_resolve(struct api_req *r)
{
    json_t *body;
    struct store *st;
    struct policy_cfg pc;
    struct model_outcome out;
    const char *res;
    char actor[48];
    int64_t id;
    bnc_status rc;

    if (!api_path_id(r, 3, "review item", &id)) {
        return r->status;
    }
    if ((body = api_json_body(r)) == NULL) {
        return r->status;
    }
    res = json_string_value(json_object_get(body, "resolution"));
    if (res == NULL ||
        (strcmp(res, "hard") != 0 && strcmp(res, "soft") != 0 && strcmp(res, "ignore") != 0)) {
        json_decref(body);
        return api_error(r, 400, "bad_request", "\"resolution\" must be hard, soft or ignore");
    }
    if ((st = api_need_store(r)) == NULL) {
        json_decref(body);
        return r->status;
    }
    policy_cfg_from_config(&pc, r->srv->cfg);
    api_actor(r, actor, sizeof(actor));
    memset(&out, 0, sizeof(out));
    rc = model_review_resolve(st, &pc, id, res, actor, api_now(r), &out);
    if (rc == BNC_OK) {
        buf_printf(&r->out, "{\"id\":%lld,\"state\":\"resolved\",\"resolution\":", (long long)id);
        apij_str(&r->out, res); /* res lives in body: write before releasing it */
        buf_printf(&r->out, ",\"contact_changed\":%s}\n", out.contact_changed ? "true" : "false");
    }
    json_decref(body);
    if (rc == BNC_ECONFLICT) {
        return api_error(r, 409, "conflict", "this review item is already resolved");
    }
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "review item");
    }
    return 200;
}

int
h_review_reopen(struct api_req *r)
{
    struct store *st;
    char actor[48];
    size_t reverted = 0;
    int64_t id;
    bnc_status rc;

    if (!api_path_id(r, 3, "review item", &id) || (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    api_actor(r, actor, sizeof(actor));
    rc = model_review_reopen(st, id, actor, api_now(r), &reverted);
    if (rc == BNC_ECONFLICT) {
        return api_error(r, 409, "conflict", "this review item is open");
    }
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "review item");
    }
    buf_printf(&r->out, "{\"id\":%lld,\"state\":\"open\",\"reverted\":%zu}\n", (long long)id,
               reverted);
    return 200;
}
