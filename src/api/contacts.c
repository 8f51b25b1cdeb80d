/*
 * contacts.c - the contacts resource: GET /api/v1/contacts (a page, or ?email=, filtered by
 * status as decay leaves it, list, domain, last reason and ?since= last bounce), POST (create, with attributes and list memberships), GET, PUT
 * (top-level merge of attributes), PATCH (RFC 7386 merge patch of attributes) and DELETE
 * /api/v1/contacts/{id}.
 *
 * Every handler validates its input completely before touching the store, answers 400 with
 * a message naming the problem, and leaves domain rules to the model (src/store/model.h).
 * Hygiene fields are never writable through the API (DESIGN §6): a body naming one is 400.
 * STANDARDS: RFC 7386 (JSON merge patch), RFC 9110 (201 + Location, 204).
 * LIMITS: pages API_PAGE_MAX contacts; list names 200 bytes; the lists shown with one
 * contact 4 KiB.
 * Ownership: jansson trees are released before returning; replies go to r->out.
 */
#include "routes_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hygiene/policy.h"
#include "store/model.h"
#include "store/store.h"

struct api_contacts_ud {
    struct api_list list;
    const char *domain; /* filter: email ends with "@domain" */
};

/* 400 if the object has a key bounced owns or a key not in `allowed`. */
static int
api_check_keys(struct api_req *r, json_t *obj, const char *const *allowed, size_t nallowed)
{
    const char *key;
    json_t *v;
    size_t i;

    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        (void)v;
        if (model_is_hygiene_field(key)) { /* DESIGN §6: refused on PUT/PATCH/POST */
            return api_error(r, 400, "read_only_field",
                             "\"%s\" is managed by bounced and cannot be set", key);
        }
        for (i = 0; i < nallowed; i++) {
            if (strcmp(key, allowed[i]) == 0) {
                ok = true;
            }
        }
        if (!ok) {
            return api_error(r, 400, "unknown_field", "unknown field \"%.64s\"", key);
        }
    }
    return 0;
}

/* The body of POST, PUT and PATCH: a JSON object with none but the allowed keys. With id_out
 * (PUT, PATCH) the path's contact id too, checked once the body parses. NULL after writing
 * the error (400, or 404 for the id); the caller releases the object. */
static json_t *
api_contact_body(struct api_req *r, const char *const *allowed, size_t nallowed, int64_t *id_out)
{
    json_t *body = api_json_body(r);

    if (body == NULL) {
        return NULL;
    }
    if (id_out != NULL && !api_path_id(r, 3, "contact", id_out)) {
        json_decref(body);
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        api_error(r, 400, "bad_request", "expected a JSON object");
        return NULL;
    }
    if (api_check_keys(r, body, allowed, nallowed) != 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

static void
api_contact_json(struct buf *b, const struct model_contact *c, const char *lists)
{
    buf_printf(b, "{\"id\":%lld,\"email\":", (long long)c->id);
    apij_str(b, c->email);
    apij_kv_str(b, "hygiene_status", hyg_status_name(c->status));
    buf_printf(b, ",\"soft_bounce_count\":%lld,\"last_bounce_at\":", (long long)c->soft_count);
    apij_int_or_null(b, c->last_bounce_at);
    apij_kv_str(b, "last_reason", c->last_reason[0] != '\0' ? c->last_reason : NULL);
    apij_kv_str(b, "last_status", c->last_status[0] != '\0' ? c->last_status : NULL);
    if (c->suppressed) {
        buf_adds(b, ",\"suppressed\":true,\"suppression\":{\"reason\":");
        apij_str(b, c->supp_reason);
        apij_kv_str(b, "source", c->supp_source);
        buf_printf(b, ",\"since\":%lld}", (long long)c->supp_since);
    } else {
        buf_adds(b, ",\"suppressed\":false,\"suppression\":null");
    }
    buf_adds(b, ",\"attributes\":");
    buf_adds(b, c->attributes != NULL && c->attributes[0] != '\0' ? c->attributes : "{}");
    if (lists != NULL) {
        const char *p = lists;
        bool first = true;
        buf_adds(b, ",\"lists\":[");
        while (*p != '\0') {
            const char *e = strchr(p, ',');
            size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
            if (n > 0) {
                if (!first) {
                    buf_addc(b, ',');
                }
                first = false;
                buf_add_json_str(b, p, n);
            }
            p += n;
            if (*p == ',') {
                p++;
            }
        }
        buf_addc(b, ']');
    }
    buf_printf(b, ",\"created_at\":%lld,\"updated_at\":%lld}", (long long)c->created_at,
               (long long)c->updated_at);
}

static int
api_contact_reply(struct api_req *r, struct store *st, int64_t id, int status)
{
    struct policy_cfg pc;
    struct model_contact c;
    char lists[4096];
    bnc_status rc;

    policy_cfg_from_config(&pc, r->srv->cfg);
    memset(&c, 0, sizeof(c));
    rc = model_contact_get(st, &pc, id, api_now(r), &c);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "contact");
    }
    lists[0] = '\0';
    if (model_contact_lists(st, id, lists, sizeof(lists)) != BNC_OK) {
        lists[0] = '\0';
    }
    buf_reset(&r->out);
    api_contact_json(&r->out, &c, lists);
    buf_addc(&r->out, '\n');
    model_contact_free(&c);
    return status;
}

static int
api_contacts_cb(void *ud, const struct model_contact *c)
{
    struct api_contacts_ud *l = ud;

    if (l->domain != NULL) {
        const char *at = strrchr(c->email, '@');
        if (at == NULL || strcasecmp(at + 1, l->domain) != 0) {
            l->list.last = c->id; /* filtered out, but the next page starts after it */
            return 0;
        }
    }
    api_list_item(&l->list, c->id);
    api_contact_json(l->list.b, c, NULL);
    return 0;
}

/* ?email=: the one contact with that address, as a page of none or one. */
static int
api_contacts_by_email(struct api_req *r, struct store *st, const struct policy_cfg *pc,
                      const char *email, struct api_contacts_ud *l)
{
    struct model_contact c;
    char norm[MODEL_EMAIL_MAX + 1];
    bnc_status rc;

    if (!model_normalize_email(email, norm)) {
        return api_error(r, 400, "bad_address", "\"email\" is not an email address");
    }
    memset(&c, 0, sizeof(c));
    api_page_begin(r, &l->list);
    rc = model_contact_find(st, pc, norm, api_now(r), &c);
    if (rc == BNC_OK) {
        api_contacts_cb(l, &c);
        model_contact_free(&c);
    } else if (rc != BNC_ENOTFOUND) {
        return api_error_status(r, rc, "contact");
    }
    api_page_end(r, 0);
    return 200;
}

int
h_contacts_list(struct api_req *r)
{
    struct store *st;
    struct policy_cfg pc;
    struct model_contact_filter f;
    struct api_contacts_ud l;
    const char *email = api_query(r, "email");
    const char *status = api_query(r, "status");
    enum hyg_status hs;
    int64_t after;
    size_t limit, got = 0;
    bnc_status rc;

    if (api_page_args(r, &after, &limit) != 0 || (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    policy_cfg_from_config(&pc, r->srv->cfg);
    memset(&l, 0, sizeof(l));
    l.domain = api_qopt(r, "domain");
    if (email != NULL) {
        return api_contacts_by_email(r, st, &pc, email, &l);
    }
    memset(&f, 0, sizeof(f));
    if (status != NULL && status[0] != '\0') {
        if (!hyg_status_from_name(status, &hs)) {
            return api_error(r, 400, "bad_request",
                             "\"status\" must be ACTIVE, SOFT_BOUNCING, BOUNCED_HARD or "
                             "COMPLAINED");
        }
        f.status = hyg_status_name(hs);
    }
    f.list = api_qopt(r, "list");
    f.reason = api_qopt(r, "reason");
    if (api_time_arg(r, "since", &f.since) != 0) {
        return r->status;
    }
    api_page_begin(r, &l.list);
    rc = model_contact_list(st, &pc, &f, after, limit, api_now(r), api_contacts_cb, &l, &got);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "contacts");
    }
    api_page_end(r, got == limit ? l.list.last : 0);
    return 200;
}

int
h_contact_get(struct api_req *r)
{
    struct store *st;
    int64_t id;

    if (!api_path_id(r, 3, "contact", &id) || (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    return api_contact_reply(r, st, id, 200);
}

/* "lists" of a new contact: an array of names of 1..200 bytes; 0, or the 400 written. */
static int
api_lists_check(struct api_req *r, json_t *lists)
{
    json_t *v;
    size_t i;

    if (!json_is_array(lists)) {
        return api_error(r, 400, "bad_request", "\"lists\" must be an array of names");
    }
    json_array_foreach(lists, i, v)
    {
        const char *n = json_string_value(v);
        if (n == NULL || n[0] == '\0' || strlen(n) > 200) {
            return api_error(r, 400, "bad_request", "lists[%zu] must be a list name", i);
        }
    }
    return 0;
}

/* One transaction: the contact, then its list memberships (lists may be NULL). */
static bnc_status
api_contact_insert(struct store *st, const char *email, const char *attr_text, json_t *lists,
                   int64_t now, int64_t *id_out)
{
    json_t *v;
    size_t i;
    bnc_status rc;

    rc = store_begin(st);
    if (rc == BNC_OK) {
        rc = model_contact_create(st, email, attr_text, now, id_out);
    }
    if (rc == BNC_OK && lists != NULL) {
        json_array_foreach(lists, i, v)
        {
            int64_t lid = 0;
            rc = model_list_ensure(st, json_string_value(v), now, &lid);
            if (rc == BNC_OK) {
                rc = model_list_subscribe(st, lid, *id_out, now);
            }
            if (rc != BNC_OK) {
                break;
            }
        }
    }
    if (rc == BNC_OK) {
        rc = store_commit(st);
    } else {
        store_rollback(st);
    }
    return rc;
}

int
h_contacts_create(struct api_req *r)
{
    static const char *const allowed[] = {"email", "attributes", "lists"};
    json_t *body, *attrs, *lists;
    struct store *st;
    const char *email;
    char norm[MODEL_EMAIL_MAX + 1], *attr_text = NULL, loc[64];
    int64_t id = 0, now = api_now(r);
    bnc_status rc;

    if ((body = api_contact_body(r, allowed, 3, NULL)) == NULL) {
        return r->status;
    }
    email = json_string_value(json_object_get(body, "email"));
    if (email == NULL || !model_normalize_email(email, norm)) {
        json_decref(body);
        return api_error(r, 400, "bad_address", "\"email\" must be an email address");
    }
    attrs = json_object_get(body, "attributes");
    if (attrs != NULL && !json_is_object(attrs)) {
        json_decref(body);
        return api_error(r, 400, "bad_request", "\"attributes\" must be an object");
    }
    lists = json_object_get(body, "lists");
    if (lists != NULL && api_lists_check(r, lists) != 0) {
        json_decref(body);
        return r->status;
    }
    if ((st = api_need_store(r)) == NULL) {
        json_decref(body);
        return r->status;
    }
    if (attrs != NULL) {
        attr_text = json_dumps(attrs, JSON_COMPACT);
    }
    rc = api_contact_insert(st, norm, attr_text, lists, now, &id);
    free(attr_text);
    json_decref(body);
    if (rc == BNC_ECONFLICT) {
        return api_error(r, 409, "conflict", "a contact with this email exists");
    }
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "contact");
    }
    snprintf(loc, sizeof(loc), "/api/v1/contacts/%lld", (long long)id);
    api_add_header(r, "Location", loc);
    return api_contact_reply(r, st, id, 201);
}

/* PUT: attrs replace the top-level keys they name (the model merges); PATCH: RFC 7386 merge
 * patch of the contact's attributes with attrs (null deletes a key; a result that is not an
 * object becomes {}). */
static bnc_status
api_contact_set_attrs(struct store *st, const struct model_contact *c, json_t *attrs, bool patch,
                      int64_t now)
{
    char *text;
    bnc_status rc;

    if (patch) {
        json_error_t jerr;
        json_t *cur = json_loads(c->attributes != NULL ? c->attributes : "{}", 0, &jerr);
        json_t *merged = apij_merge_patch(cur, attrs);
        if (!json_is_object(merged)) {
            json_decref(merged);
            merged = json_object();
        }
        text = json_dumps(merged, JSON_COMPACT);
        json_decref(merged);
        json_decref(cur);
        rc = model_contact_set_attributes(st, c->id, text, false, now);
    } else {
        text = json_dumps(attrs, JSON_COMPACT);
        rc = model_contact_set_attributes(st, c->id, text, true, now);
    }
    free(text);
    return rc;
}

/* PUT (merge = top-level merge of attributes) and PATCH (RFC 7386 on attributes). */
static int
api_contact_update(struct api_req *r, bool patch)
{
    static const char *const allowed[] = {"email", "attributes"};
    json_t *body, *attrs, *emailv;
    struct store *st;
    struct policy_cfg pc;
    struct model_contact c;
    char norm[MODEL_EMAIL_MAX + 1], actor[48];
    int64_t id, now = api_now(r);
    bnc_status rc;

    if ((body = api_contact_body(r, allowed, 2, &id)) == NULL) {
        return r->status;
    }
    emailv = json_object_get(body, "email");
    if (emailv != NULL &&
        (!json_is_string(emailv) || !model_normalize_email(json_string_value(emailv), norm))) {
        json_decref(body);
        return api_error(r, 400, "bad_address", "\"email\" must be an email address");
    }
    attrs = json_object_get(body, "attributes");
    if (attrs != NULL && !json_is_object(attrs) && !(patch && json_is_null(attrs))) {
        json_decref(body);
        return api_error(r, 400, "bad_request", "\"attributes\" must be an object");
    }
    if ((st = api_need_store(r)) == NULL) {
        json_decref(body);
        return r->status;
    }
    policy_cfg_from_config(&pc, r->srv->cfg);
    memset(&c, 0, sizeof(c));
    rc = store_begin(st);
    if (rc == BNC_OK) {
        rc = model_contact_get(st, &pc, id, now, &c);
    }
    if (rc == BNC_OK && emailv != NULL && strcmp(norm, c.email) != 0) {
        api_actor(r, actor, sizeof(actor));
        rc = model_contact_set_email(st, id, norm, actor, now);
    }
    if (rc == BNC_OK && attrs != NULL) {
        rc = api_contact_set_attrs(st, &c, attrs, patch, now);
    }
    if (rc == BNC_OK) {
        rc = store_commit(st);
    } else {
        store_rollback(st);
    }
    model_contact_free(&c);
    json_decref(body);
    if (rc == BNC_ECONFLICT) {
        return api_error(r, 409, "conflict", "another contact has this email");
    }
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "contact");
    }
    return api_contact_reply(r, st, id, 200);
}

int
h_contact_put(struct api_req *r)
{
    return api_contact_update(r, false);
}

int
h_contact_patch(struct api_req *r)
{
    return api_contact_update(r, true);
}

int
h_contact_delete(struct api_req *r)
{
    struct store *st;
    int64_t id;
    bnc_status rc;

    if (!api_path_id(r, 3, "contact", &id) || (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    rc = model_contact_delete(st, id);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "contact");
    }
    return 204;
}
