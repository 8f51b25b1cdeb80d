/*
 * audit.c - the audit log resource: GET /api/v1/audit (a page of entries, newest first,
 * optionally of one address) and POST /api/v1/audit/{id}/revert[?cascade=true] (undo one
 * hygiene change; refused with 409 and the ids of the later entries on the same contact that
 * depend on it, unless cascade reverts those first, newest first).
 *
 * The model (store/model_audit.c) restores the contact, its suppression and its list
 * memberships and writes the revert as an entry of its own; this file only reads
 * arguments and writes JSON.
 * LIMITS: pages API_PAGE_MAX entries.
 * Ownership: replies go to r->out.
 */
#include "routes_int.h"

#include <string.h>

#include "store/model.h"

static int
api_audit_cb(void *ud, const struct model_audit *a)
{
    struct buf *b = api_list_item(ud, a->id);

    buf_printf(b, "{\"id\":%lld,\"contact_id\":%lld,\"address\":", (long long)a->id,
               (long long)a->contact_id);
    apij_str(b, a->address);
    apij_kv_str(b, "actor", a->actor);
    apij_kv_str(b, "action", a->action);
    apij_kv_str(b, "reason", a->reason);
    apij_kv_str(b, "decided_by", a->decided_by);
    apij_kv_str(b, "ref", a->ref);
    buf_adds(b, ",\"before\":");
    buf_adds(b, a->before != NULL && a->before[0] != '\0' ? a->before : "null");
    buf_adds(b, ",\"after\":");
    buf_adds(b, a->after != NULL && a->after[0] != '\0' ? a->after : "null");
    buf_printf(b, ",\"created_at\":%lld,\"reverted_at\":", (long long)a->created_at);
    if (a->reverted_at != 0) {
        buf_printf(b, "%lld}", (long long)a->reverted_at);
    } else {
        buf_adds(b, "null}");
    }
    return 0;
}

int
h_audit_list(struct api_req *r)
{
    struct store *st;
    struct api_list l;
    const char *addr = api_qopt(r, "address");
    char norm[MODEL_EMAIL_MAX + 1];
    int64_t after;
    size_t limit, got = 0;
    bnc_status rc;

    if (api_page_args(r, &after, &limit) != 0) {
        return r->status;
    }
    if (addr != NULL && !model_normalize_email(addr, norm)) {
        return api_error(r, 400, "bad_address", "\"address\" is not an email address");
    }
    if ((st = api_need_store(r)) == NULL) {
        return r->status;
    }
    api_page_begin(r, &l);
    rc = model_audit_list(st, addr != NULL ? norm : NULL, after, limit, api_audit_cb, &l, &got);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "audit");
    }
    api_page_end(r, got == limit ? l.last : 0);
    return 200;
}

/* 409 naming the entries that stand on top of the one asked for. */
static int
api_revert_refused(struct api_req *r, int64_t id, const struct model_revert *rv)
{
    size_t i, shown = rv->ndeps < MODEL_REVERT_DEPS_SHOWN ? rv->ndeps : MODEL_REVERT_DEPS_SHOWN;

    api_error(r, 409, "has_dependents",
              "%zu later entr%s on this contact depend on audit entry %lld: revert them first "
              "(newest first) or ask for cascade=true",
              rv->ndeps, rv->ndeps == 1 ? "y" : "ies", (long long)id);
    /* the error object plus the ids: {"error":{...,"dependents":[...]}} */
    r->out.len -= 3; /* "}}\n" */
    buf_adds(&r->out, ",\"dependents\":[");
    for (i = 0; i < shown; i++) {
        buf_printf(&r->out, "%s%lld", i > 0 ? "," : "", (long long)rv->deps[i]);
    }
    buf_adds(&r->out, "]}}\n");
    return 409;
}

int
h_audit_revert(struct api_req *r)
{
    const char *cascade = api_qopt(r, "cascade");
    struct model_revert rv;
    struct store *st;
    char actor[48];
    int64_t id;
    bnc_status rc;

    if (!api_path_id(r, 3, "audit entry", &id)) {
        return r->status;
    }
    memset(&rv, 0, sizeof(rv));
    if (cascade != NULL && strcmp(cascade, "true") != 0 && strcmp(cascade, "1") != 0 &&
        strcmp(cascade, "false") != 0 && strcmp(cascade, "0") != 0) {
        return api_error(r, 400, "bad_request", "\"cascade\" must be true or false");
    }
    rv.cascade = cascade != NULL && (strcmp(cascade, "true") == 0 || strcmp(cascade, "1") == 0);
    if ((st = api_need_store(r)) == NULL) {
        return r->status;
    }
    api_actor(r, actor, sizeof(actor));
    rc = model_audit_revert(st, id, actor, api_now(r), &rv);
    if (rc == BNC_ECONFLICT && rv.ndeps > 0) {
        return api_revert_refused(r, id, &rv);
    }
    if (rc == BNC_ECONFLICT) {
        return api_error(r, 409, "conflict", "this entry was already reverted or is a revert");
    }
    if (rc == BNC_ELIMIT) {
        return api_error(r, 422, "too_many_dependents",
                         "%zu entries depend on this one; a cascade reverts at most %d", rv.ndeps,
                         MODEL_REVERT_CASCADE_MAX);
    }
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "audit entry");
    }
    buf_printf(&r->out, "{\"reverted\":%lld,\"audit_id\":%lld,\"entries_reverted\":%zu}\n",
               (long long)id, (long long)rv.new_id, rv.reverted);
    return 200;
}
