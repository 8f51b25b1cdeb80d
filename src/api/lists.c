/*
 * lists.c - lists and memberships through the API: GET /api/v1/lists (every list with its
 * subscriber counts, paginated), GET /api/v1/contacts/{id}/lists (the contact's memberships,
 * subscribed or left, with when and by whom) and PUT /api/v1/contacts/{id}/lists
 * ({"lists": ["news", ...]}: exactly these lists from now on; audited).
 *
 * A membership a bounce removed shows "unsubscribed_by": "bounce"; re-verification of the
 * contact (verify.c) subscribes it again. PUT only changes memberships, never the contact's
 * hygiene state: a suppressed contact may be put on a list and stays unsendable (GET
 * /api/v1/check is the gate before a send).
 * STANDARDS: RFC 9110 (PUT replaces the resource's state).
 * LIMITS: MODEL_LISTS_MAX names per PUT (413 past it), names MODEL_LIST_NAME_MAX bytes
 * without control characters (400).
 * Ownership: jansson trees are released before returning; replies go to r->out.
 */
#include "routes_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "store/model.h"

static int
api_lists_cb(void *ud, const struct model_list *l)
{
    struct api_list *al = ud;
    struct buf *b = api_list_item(al, l->id);

    buf_printf(b, "{\"id\":%lld,\"name\":", (long long)l->id);
    apij_str(b, l->name);
    buf_printf(b, ",\"subscribed\":%lld,\"unsubscribed\":%lld,\"created_at\":%lld}",
               (long long)l->subscribed, (long long)l->unsubscribed, (long long)l->created_at);
    return 0;
}

int
h_lists(struct api_req *r)
{
    struct api_list l;
    struct store *st;
    int64_t after;
    size_t limit, got = 0;
    bnc_status rc;

    if (api_page_args(r, &after, &limit) != 0 || (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    api_page_begin(r, &l);
    if ((rc = model_lists(st, after, limit, api_lists_cb, &l, &got)) != BNC_OK) {
        return api_error_status(r, rc, "lists");
    }
    api_page_end(r, got == limit ? l.last : 0);
    return 200;
}

struct api_members {
    struct buf *b;
    size_t n;
};

static int
api_member_cb(void *ud, const struct model_membership *m)
{
    struct api_members *am = ud;

    buf_adds(am->b, am->n++ > 0 ? ",{\"name\":" : "{\"name\":");
    apij_str(am->b, m->list);
    buf_printf(am->b, ",\"status\":\"%s\",\"subscribed_at\":%lld,\"unsubscribed_at\":",
               m->subscribed ? "subscribed" : "unsubscribed", (long long)m->subscribed_at);
    apij_int_or_null(am->b, m->subscribed ? 0 : m->unsubscribed_at);
    apij_kv_str(am->b, "unsubscribed_by",
                !m->subscribed && m->unsubscribed_by[0] != '\0' ? m->unsubscribed_by : NULL);
    buf_addc(am->b, '}');
    return 0;
}

/* The reply of GET and PUT: {"contact": id, "lists": [ memberships ]}. */
static int
api_memberships_reply(struct api_req *r, struct store *st, int64_t id)
{
    struct api_members am = {&r->out, 0};
    bnc_status rc;

    buf_reset(&r->out);
    buf_printf(&r->out, "{\"contact\":%lld,\"lists\":[", (long long)id);
    if ((rc = model_contact_memberships(st, id, api_member_cb, &am)) != BNC_OK) {
        return api_error_status(r, rc, "contact");
    }
    buf_adds(&r->out, "]}\n");
    return 200;
}

int
h_contact_lists_get(struct api_req *r)
{
    struct store *st;
    int64_t id;

    if (!api_path_id(r, 3, "contact", &id) || (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    return api_memberships_reply(r, st, id);
}

/* The names of {"lists": [...]} (borrowed from body), or NULL after writing the 400/413. */
static const char **
api_list_names(struct api_req *r, json_t *body, size_t *n_out)
{
    json_t *lists = json_is_object(body) ? json_object_get(body, "lists") : NULL, *v;
    const char **names;
    size_t i;

    if (!json_is_array(lists) || json_object_size(body) != 1) {
        api_error(r, 400, "bad_request", "expected {\"lists\": [\"name\", ...]}");
        return NULL;
    }
    *n_out = json_array_size(lists);
    if (*n_out > MODEL_LISTS_MAX) {
        api_error(r, 413, "too_many", "at most %d lists", MODEL_LISTS_MAX);
        return NULL;
    }
    names = xcalloc(*n_out > 0 ? *n_out : 1, sizeof(*names));
    json_array_foreach(lists, i, v)
    {
        names[i] = json_string_value(v);
        if (!model_list_name_ok(names[i])) {
            free(names);
            api_error(r, 400, "bad_request",
                      "lists[%zu] must be a name of 1 to %d bytes without control characters", i,
                      MODEL_LIST_NAME_MAX);
            return NULL;
        }
    }
    return names;
}

int
h_contact_lists_put(struct api_req *r)
{
    json_t *body = NULL;
    const char **names = NULL;
    struct store *st;
    char actor[48];
    int64_t id;
    size_t n = 0;
    bnc_status rc;
    int status;

    if (!api_path_id(r, 3, "contact", &id) || (body = api_json_body(r)) == NULL) {
        return r->status;
    }
    if ((names = api_list_names(r, body, &n)) == NULL || (st = api_need_store(r)) == NULL) {
        free(names);
        json_decref(body);
        return r->status;
    }
    api_actor(r, actor, sizeof(actor));
    rc = model_contact_set_lists(st, id, names, n, actor, "api", api_now(r), NULL);
    status = rc == BNC_OK ? api_memberships_reply(r, st, id) : api_error_status(r, rc, "contact");
    free(names);
    json_decref(body);
    return status;
}
