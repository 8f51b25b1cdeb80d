/*
 * events.c - the bounce events resource: GET /api/v1/events, a page of events newest first,
 * filtered by recipient, domain, reason, kind, time (since, until) and source.
 *
 * The store filters on everything but the source, which is checked here on each row (the
 * cursor still advances past a row filtered out). Each event lists every path that
 * reported it ("reported_by": its own source first, then the event_reports rows, read only
 * for the events that have some).
 * LIMITS: pages API_PAGE_MAX events; reason and kind must be names of the taxonomy (400).
 * Ownership: replies go to r->out.
 */
#include "routes_int.h"

#include <string.h>

#include "store/model.h"

struct api_events_ud {
    struct api_list list;
    const char *source; /* post-filter */
    struct store *st;   /* for the later paths of an event that has some */
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
api_event_paths(struct api_events_ud *l, struct buf *b, const struct model_event *e)
{
    buf_adds(b, ",\"reported_by\":[{\"source\":");
    buf_add_json_str(b, e->source, strlen(e->source));
    apij_kv_str(b, "ref", e->ref);
    apij_kv_str(b, "origin", e->origin);
    buf_printf(b, ",\"at\":%lld}", (long long)e->created_at);
    if (e->reports > 0) {
        (void)model_event_reports(l->st, e->id, api_report_cb, b);
    }
    buf_adds(b, "]");
}

static int
api_event_cb(void *ud, const struct model_event *e)
{
    struct api_events_ud *l = ud;
    struct buf *b;

    if (l->source != NULL && strcmp(l->source, e->source) != 0) {
        l->list.last = e->id; /* filtered out, but the next page starts after it */
        return 0;
    }
    b = api_list_item(&l->list, e->id);
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
    api_event_paths(l, b, e);
    buf_printf(b, ",\"event_time\":%lld,\"created_at\":%lld}", (long long)e->event_time,
               (long long)e->created_at);
    return 0;
}

int
h_events(struct api_req *r)
{
    struct store *st;
    struct model_event_filter f;
    struct api_events_ud l;
    int64_t after;
    size_t limit, got = 0;
    bnc_reason reason;
    bnc_kind kind;
    bnc_status rc;

    memset(&f, 0, sizeof(f));
    if (api_page_args(r, &after, &limit) != 0 || api_time_arg(r, "since", &f.since) != 0 ||
        api_time_arg(r, "until", &f.until) != 0) {
        return r->status;
    }
    f.recipient = api_qopt(r, "recipient");
    f.domain = api_qopt(r, "domain");
    f.reason = api_qopt(r, "reason");
    f.kind = api_qopt(r, "kind");
    if (f.reason != NULL && !bnc_reason_from_name(f.reason, &reason)) {
        return api_error(r, 400, "bad_request", "unknown reason \"%.40s\"", f.reason);
    }
    if (f.kind != NULL && !bnc_kind_from_name(f.kind, &kind)) {
        return api_error(r, 400, "bad_request", "unknown kind \"%.40s\"", f.kind);
    }
    if ((st = api_need_store(r)) == NULL) {
        return r->status;
    }
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
