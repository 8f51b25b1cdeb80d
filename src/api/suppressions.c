/*
 * suppressions.c - the suppressions resource (address-level, DESIGN §7; works for addresses
 * with no contact): GET /api/v1/suppressions (a page), GET/DELETE
 * /api/v1/suppressions/{address}, POST /api/v1/suppressions (suppress by hand), and
 * GET /api/v1/suppressions.csv (the export). With a search argument (q, reason, source,
 * since, until) or ?order=newest the list is newest first and pages with ?before=ID.
 *
 * Addresses are normalized (model_normalize_email) before every lookup; a manual
 * suppression is written by the model with the token as actor, so it shows in the audit log.
 * LIMITS: pages API_PAGE_MAX rows; a reason at most 63 bytes; q at most MODEL_EMAIL_MAX bytes;
 * an export at most API_SUPP_CSV_MAX bytes (413 past it).
 * Ownership: replies go to r->out.
 */
#include "routes_int.h"

#include <string.h>

#include "store/model.h"
#include "store/model_dash.h"

#define API_SUPP_CSV_MAX (32u * 1024u * 1024u)

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

/* The search arguments: 1 when any is given, 0 when none, -1 after writing a 400. */
static int
api_supp_filter(struct api_req *r, struct model_supp_filter *f)
{
    memset(f, 0, sizeof(*f));
    if (api_time_arg(r, "since", &f->since) != 0 || api_time_arg(r, "until", &f->until) != 0) {
        return -1;
    }
    f->q = api_qopt(r, "q");
    f->reason = api_qopt(r, "reason");
    f->source = api_qopt(r, "source");
    if (f->q != NULL && strlen(f->q) > MODEL_EMAIL_MAX) {
        api_error(r, 400, "bad_request", "\"q\" is longer than %d bytes", MODEL_EMAIL_MAX);
        return -1;
    }
    return f->q != NULL || f->reason != NULL || f->source != NULL || f->since != 0 || f->until != 0;
}

/* Newest first: ?before=ID pages; "next" is the id to pass as before. */
static int
api_supp_search(struct api_req *r, struct store *st, const struct model_supp_filter *f,
                size_t limit)
{
    struct api_list l = {&r->out, 0, 0};
    const char *bs = api_qopt(r, "before");
    int64_t before = 0, total = 0;
    bnc_status rc;

    if (bs != NULL && (!apij_parse_i64(bs, &before) || before <= 0)) {
        return api_error(r, 400, "bad_request", "\"before\" must be an id from \"next\"");
    }
    if ((rc = model_supp_count(st, f, &total)) != BNC_OK) {
        return api_error_status(r, rc, "suppressions");
    }
    api_page_begin(r, &l);
    rc = model_supp_search(st, f, before, limit, api_supp_cb, &l, NULL);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "suppressions");
    }
    buf_printf(&r->out, "],\"total\":%lld,\"next\":", (long long)total);
    if (l.n == limit) {
        buf_printf(&r->out, "\"%lld\"}\n", (long long)l.last);
    } else {
        buf_adds(&r->out, "null}\n");
    }
    return 200;
}

int
h_supp_list(struct api_req *r)
{
    struct store *st = api_need_store(r);
    struct api_list l = {&r->out, 0, 0};
    struct model_supp_filter f;
    const char *order = api_qopt(r, "order");
    int64_t after = 0;
    size_t limit;
    int search;
    bnc_status rc;

    if (st == NULL) {
        return r->status;
    }
    if (api_page_args(r, &after, &limit) != 0 || (search = api_supp_filter(r, &f)) < 0) {
        return r->status;
    }
    if (order != NULL && strcmp(order, "newest") != 0 && strcmp(order, "id") != 0) {
        return api_error(r, 400, "bad_request", "\"order\" must be id or newest");
    }
    if (search > 0 || (order != NULL && strcmp(order, "newest") == 0)) {
        return api_supp_search(r, st, &f, limit);
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

struct api_supp_csv {
    struct buf *b;
    int64_t last;
    size_t n;
    bool too_big;
};

static int
api_supp_csv_cb(void *ud, const struct model_suppression *s)
{
    struct api_supp_csv *c = ud;

    c->last = s->id;
    c->n++;
    apic_int(c->b, s->id);
    apic_sep(c->b);
    apic_cell(c->b, s->address);
    apic_sep(c->b);
    apic_cell(c->b, s->reason);
    apic_sep(c->b);
    apic_cell(c->b, s->source);
    apic_sep(c->b);
    apic_cell(c->b, s->ref);
    apic_sep(c->b);
    apic_time(c->b, s->created_at);
    apic_end(c->b);
    if (c->b->len > API_SUPP_CSV_MAX) {
        c->too_big = true;
        return 1;
    }
    return 0;
}

int
h_supp_csv(struct api_req *r)
{
    struct store *st = api_need_store(r);
    struct model_supp_filter f;
    struct api_supp_csv c = {&r->out, 0, 0, false};
    size_t before;
    bnc_status rc;

    if (st == NULL || api_supp_filter(r, &f) < 0) {
        return r->status;
    }
    buf_adds(&r->out, "id,address,reason,source,ref,created_at\r\n");
    do {
        before = c.n;
        rc = model_supp_search(st, &f, c.last, MODEL_LIMIT_MAX, api_supp_csv_cb, &c, NULL);
    } while (rc == BNC_OK && !c.too_big && c.n - before == MODEL_LIMIT_MAX);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "suppressions");
    }
    if (c.too_big) {
        return apic_too_large(r, API_SUPP_CSV_MAX, "q, reason, source or dates");
    }
    apic_reply(r, "bounced-suppressions.csv");
    return 200;
}
