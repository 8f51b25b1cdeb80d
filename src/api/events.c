/*
 * events.c - the bounce events resource: GET /api/v1/events (a page, filtered by recipient,
 * domain, reason, kind, time (since, until) and source; in id order with ?after=, or newest
 * event time first with ?order=newest and an opaque ?cursor=), GET /api/v1/events/{id},
 * GET /api/v1/events/{id}/raw (the raw bounce while the daemon keeps it, message/rfc822,
 * admin only) and GET /api/v1/events.csv (every matching event, newest first).
 *
 * The store filters on everything but the source, which is checked here on each row (the
 * cursor still advances past a row filtered out). Each event lists every path that
 * reported it ("reported_by": its own source first, then the event_reports rows, read only
 * for the events that have some).
 * STANDARDS: RFC 2046 5.2.1 (message/rfc822), RFC 4180 (the export).
 * LIMITS: pages API_PAGE_MAX events; reason and kind must be names of the taxonomy (400); an
 * export at most API_CSV_MAX bytes (413 past it, nothing cut silently).
 * Ownership: replies go to r->out; a raw message is copied into r->out and freed.
 */
#include "routes_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/model.h"
#include "store/model_dash.h"

#define API_CSV_MAX (32u * 1024u * 1024u)

struct api_events_ud {
    struct api_list list;
    const char *source;      /* post-filter */
    struct store *st;        /* for the later paths of an event that has some */
    struct model_cursor cur; /* the last row seen, for ?order=newest */
    bool csv;
    bool too_big;
};

static int
api_report_cb(void *ud, const char *source, const char *ref, const char *origin,
              int64_t reported_at)
{
    struct buf *b = ud;

    buf_adds(b, ",{\"source\":");
    buf_add_json_str(b, source, strlen(source));
    apij_kv_str(b, "ref", ref);
    apij_kv_str(b, "origin", origin);
    buf_printf(b, ",\"at\":%lld}", (long long)reported_at);
    return 0;
}

/* "reported_by": every path that reported the event, the first one first. */
static void
api_event_paths(struct store *st, struct buf *b, const struct model_event *e)
{
    buf_adds(b, ",\"reported_by\":[{\"source\":");
    buf_add_json_str(b, e->source, strlen(e->source));
    apij_kv_str(b, "ref", e->ref);
    apij_kv_str(b, "origin", e->origin);
    buf_printf(b, ",\"at\":%lld}", (long long)e->created_at);
    if (e->reports > 0) {
        (void)model_event_reports(st, e->id, api_report_cb, b);
    }
    buf_adds(b, "]");
}

static void
api_event_json(struct buf *b, const struct model_event *e, struct store *st)
{
    buf_printf(b, "{\"id\":%lld,\"contact_id\":", (long long)e->id);
    apij_int_or_null(b, e->contact_id);
    apij_kv_str(b, "recipient", e->recipient);
    apij_kv_str(b, "domain", e->domain);
    apij_kv_str(b, "status", e->status);
    apij_kv_str(b, "replycode", e->replycode);
    apij_kv_str(b, "reason", e->reason);
    apij_kv_str(b, "kind", e->kind);
    buf_printf(b, ",\"hard\":%s", e->hard == 1 ? "true" : e->hard == 0 ? "false" : "null");
    apij_kv_str(b, "action", e->action);
    apij_kv_str(b, "diagnostic", e->diagnostic);
    apij_kv_str(b, "origin", e->origin);
    apij_kv_str(b, "source", e->source);
    apij_kv_str(b, "ref", e->ref);
    apij_kv_str(b, "decided_by", e->decided_by);
    apij_kv_str(b, "policy", e->policy);
    apij_kv_str(b, "message_id", e->message_id);
    apij_kv_str(b, "original_message_id", e->original_message_id);
    apij_kv_str(b, "feedback_type", e->feedback_type);
    api_event_paths(st, b, e);
    buf_printf(b, ",\"event_time\":%lld,\"created_at\":%lld}", (long long)e->event_time,
               (long long)e->created_at);
}

static void
api_event_csv(struct buf *b, const struct model_event *e)
{
    const char *cells[] = {e->recipient,
                           e->domain,
                           e->reason,
                           e->kind,
                           e->status,
                           e->replycode,
                           e->action,
                           e->policy,
                           e->source,
                           e->origin,
                           e->decided_by,
                           e->message_id,
                           e->original_message_id,
                           e->feedback_type,
                           e->diagnostic};
    size_t i;

    apic_int(b, e->id);
    apic_sep(b);
    apic_time(b, e->event_time);
    for (i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
        apic_sep(b);
        apic_cell(b, cells[i]);
    }
    apic_end(b);
}

static int
api_event_cb(void *ud, const struct model_event *e)
{
    struct api_events_ud *l = ud;

    l->cur.time = e->event_time;
    l->cur.id = e->id;
    if (l->source != NULL && strcmp(l->source, e->source) != 0) {
        l->list.last = e->id; /* filtered out, but the next page starts after it */
        return 0;
    }
    if (l->csv) {
        api_event_csv(l->list.b, e);
        l->list.n++;
        if (l->list.b->len > API_CSV_MAX) {
            l->too_big = true;
            return 1;
        }
        return 0;
    }
    api_event_json(api_list_item(&l->list, e->id), e, l->st);
    return 0;
}

int
api_event_filter(struct api_req *r, struct model_event_filter *f)
{
    bnc_reason reason;
    bnc_kind kind;

    memset(f, 0, sizeof(*f));
    if (api_time_arg(r, "since", &f->since) != 0 || api_time_arg(r, "until", &f->until) != 0) {
        return r->status;
    }
    f->recipient = api_qopt(r, "recipient");
    f->domain = api_qopt(r, "domain");
    f->reason = api_qopt(r, "reason");
    f->kind = api_qopt(r, "kind");
    if (f->reason != NULL && !bnc_reason_from_name(f->reason, &reason)) {
        return api_error(r, 400, "bad_request", "unknown reason \"%.40s\"", f->reason);
    }
    if (f->kind != NULL && !bnc_kind_from_name(f->kind, &kind)) {
        return api_error(r, 400, "bad_request", "unknown kind \"%.40s\"", f->kind);
    }
    return 0;
}

/* ?cursor=TIME.ID of ?order=newest: 0, or the 400 already written. */
static int
api_cursor_arg(struct api_req *r, struct model_cursor *cur)
{
    const char *s = api_qopt(r, "cursor");
    char *end = NULL;
    long long t, id;

    cur->time = cur->id = 0;
    if (s == NULL) {
        return 0;
    }
    t = strtoll(s, &end, 10);
    if (end == s || *end != '.' || t < 0) {
        return api_error(r, 400, "bad_request", "\"cursor\" must be a cursor from \"next\"");
    }
    s = end + 1;
    id = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || id <= 0) {
        return api_error(r, 400, "bad_request", "\"cursor\" must be a cursor from \"next\"");
    }
    cur->time = t;
    cur->id = id;
    return 0;
}

/* ?order=newest: a page newest first; "next" is the cursor of the last row read. */
static int
api_events_newest(struct api_req *r, struct store *st, const struct model_event_filter *f,
                  size_t limit)
{
    struct api_events_ud l;
    struct model_cursor cur;
    size_t got = 0;
    bnc_status rc;

    memset(&l, 0, sizeof(l));
    if (api_cursor_arg(r, &cur) != 0) {
        return r->status;
    }
    l.source = api_qopt(r, "source");
    l.st = st;
    api_page_begin(r, &l.list);
    rc = model_event_recent(st, f, &cur, limit, api_event_cb, &l, &got);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "events");
    }
    buf_adds(&r->out, "],\"next\":");
    if (got == limit) {
        buf_printf(&r->out, "\"%" PRId64 ".%" PRId64 "\"}\n", l.cur.time, l.cur.id);
    } else {
        buf_adds(&r->out, "null}\n");
    }
    return 200;
}

int
h_events(struct api_req *r)
{
    struct store *st;
    struct model_event_filter f;
    struct api_events_ud l;
    const char *order = api_qopt(r, "order");
    int64_t after;
    size_t limit, got = 0;
    bnc_status rc;

    if (api_page_args(r, &after, &limit) != 0 || api_event_filter(r, &f) != 0) {
        return r->status;
    }
    if (order != NULL && strcmp(order, "newest") != 0 && strcmp(order, "id") != 0) {
        return api_error(r, 400, "bad_request", "\"order\" must be id or newest");
    }
    if ((st = api_need_store(r)) == NULL) {
        return r->status;
    }
    if (order != NULL && strcmp(order, "newest") == 0) {
        return api_events_newest(r, st, &f, limit);
    }
    memset(&l, 0, sizeof(l));
    l.source = api_qopt(r, "source");
    l.st = st;
    api_page_begin(r, &l.list);
    rc = model_event_list(st, &f, after, limit, api_event_cb, &l, &got);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "events");
    }
    api_page_end(r, got == limit ? l.list.last : 0);
    return 200;
}

struct api_one_event {
    struct buf *b;
    struct store *st;
};

static int
api_one_event_cb(void *ud, const struct model_event *e)
{
    struct api_one_event *one = ud;

    api_event_json(one->b, e, one->st);
    return 1;
}

int
h_event_get(struct api_req *r)
{
    struct api_one_event one;
    struct store *st;
    int64_t id;
    bnc_status rc;

    if (!api_path_id(r, 3, "event", &id) || (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    one.b = &r->out;
    one.st = st;
    if ((rc = model_event_get(st, id, api_one_event_cb, &one)) != BNC_OK) {
        return api_error_status(r, rc, "event");
    }
    buf_addc(&r->out, '\n');
    return 200;
}

struct api_raw_ref {
    char source[64];
    char ref[512];
};

static int
api_raw_ref_cb(void *ud, const struct model_event *e)
{
    struct api_raw_ref *x = ud;

    snprintf(x->source, sizeof(x->source), "%s", e->source);
    snprintf(x->ref, sizeof(x->ref), "%s", e->ref);
    return 1;
}

int
h_event_raw(struct api_req *r)
{
    struct api_raw_ref x;
    struct store *st;
    char *data = NULL;
    size_t len = 0;
    int64_t id;
    bnc_status rc;

    if (!api_path_id(r, 3, "event", &id) || (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    memset(&x, 0, sizeof(x));
    if ((rc = model_event_get(st, id, api_raw_ref_cb, &x)) != BNC_OK) {
        return api_error_status(r, rc, "event");
    }
    rc = BNC_ENOTFOUND;
    if (r->srv->o.raw_message != NULL && x.ref[0] != '\0') {
        rc = r->srv->o.raw_message(r->srv->o.ud, x.source, x.ref, &data, &len);
    }
    if (rc == BNC_ENOTFOUND || rc == BNC_EINVAL) {
        return api_error(r, 404, "not_kept",
                         "the raw bounce of this event is not kept (source %s; the spool keeps "
                         "SMTP messages spool.keep_days)",
                         x.source);
    }
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "raw bounce");
    }
    if (buf_add(&r->out, data, len) != BNC_OK) {
        free(data);
        return api_error(r, 500, "internal", "the raw bounce is larger than a reply can be");
    }
    free(data);
    r->ctype = "message/rfc822";
    api_add_header(r, "Content-Disposition", "inline; filename=\"bounce.eml\"");
    api_add_header(r, "X-Content-Type-Options", "nosniff");
    return 200;
}

int
h_events_csv(struct api_req *r)
{
    static const char *header = "id,event_time,recipient,domain,reason,kind,status,replycode,"
                                "action,policy,source,origin,decided_by,message_id,"
                                "original_message_id,feedback_type,diagnostic\r\n";
    struct store *st;
    struct model_event_filter f;
    struct api_events_ud l;
    size_t got;
    bnc_status rc;

    if (api_event_filter(r, &f) != 0 || (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    memset(&l, 0, sizeof(l));
    l.source = api_qopt(r, "source");
    l.csv = true;
    l.list.b = &r->out;
    buf_adds(&r->out, header);
    do {
        struct model_cursor cur = l.cur;
        got = 0;
        rc = model_event_recent(st, &f, &cur, MODEL_LIMIT_MAX, api_event_cb, &l, &got);
    } while (rc == BNC_OK && !l.too_big && got == MODEL_LIMIT_MAX);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "events");
    }
    if (l.too_big) {
        return apic_too_large(r, API_CSV_MAX, "since, until or a filter");
    }
    apic_reply(r, "bounced-events.csv");
    return 200;
}
