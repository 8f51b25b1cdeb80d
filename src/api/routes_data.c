/*
 * routes_data.c - handlers of the data routes: contacts (list, get, create, PUT merge, PATCH
 * merge patch, delete, reverify), /verify/{token}, POST /bounces, events, review queue,
 * rules, stats and the audit log.
 *
 * Every handler validates its input completely before touching the store, answers 400 with
 * a message naming the problem, and leaves domain rules to the model (src/store/model.h)
 * and the pipeline. Hygiene fields are never writable through the API.
 * STANDARDS: RFC 7386 (JSON merge patch, PATCH on attributes), RFC 9110 (201 + Location,
 * 204, 410 for a used or expired verification link).
 * LIMITS: list pages API_PAGE_MAX; stats rows API_STATS_ROWS per dimension (days: 400);
 * verdicts per POST /bounces API_VERDICTS_MAX; rule lines API_RULE_MAX bytes.
 * Ownership: jansson trees are released before returning; replies go to r->out.
 */
#include "routes_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "classify/classify.h"
#include "core/cfg.h"
#include "core/xmalloc.h"
#include "hygiene/policy.h"
#include "pipeline/process.h"
#include "store/api_store.h"
#include "store/model.h"
#include "store/store.h"

#define API_STATS_ROWS   50
#define API_VERDICTS_MAX 1000
#define API_RULE_MAX     4096

/* Fields bounced alone writes (DESIGN §6): refused on PUT/PATCH/POST. */
static const char *const api_hygiene_fields[] = {
    "hygiene_status", "soft_bounce_count", "last_bounce_at", "last_reason", "last_status",
    "suppressed",     "suppression",       "last_soft_day",  "id",          "created_at",
    "updated_at",
};

/* ---- helpers ---- */

int
api_page_args(struct api_req *r, int64_t *after_out, size_t *limit_out)
{
    const char *a = api_query(r, "after");
    const char *l = api_query(r, "limit");
    int64_t v;

    *after_out = 0;
    *limit_out = API_PAGE_DEF;
    if (a != NULL && a[0] != '\0') {
        if (!apij_parse_i64(a, &v)) {
            return api_error(r, 400, "bad_request", "\"after\" must be a cursor (an id)");
        }
        *after_out = v;
    }
    if (l != NULL && l[0] != '\0') {
        if (!apij_parse_i64(l, &v) || v < 1 || v > API_PAGE_MAX) {
            return api_error(r, 400, "bad_request", "\"limit\" must be 1..%d", API_PAGE_MAX);
        }
        *limit_out = (size_t)v;
    }
    return 0;
}

void
api_next_cursor(struct buf *b, int64_t last_id)
{
    if (last_id > 0) {
        buf_printf(b, "\"%lld\"", (long long)last_id);
    } else {
        buf_adds(b, "null");
    }
}

void
api_actor(const struct api_req *r, char *out, size_t outlen)
{
    snprintf(out, outlen, "token:%lld", (long long)r->token_id);
}

static int64_t
api_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    /* Howard Hinnant's days_from_civil: proleptic Gregorian, day 0 = 1970-01-01. */
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool
api_digits(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool
api_parse_time(const char *s, int64_t *out)
{
    int64_t y, mo, d, h = 0, mi = 0, se = 0;
    size_t n = strlen(s);

    if (apij_parse_i64(s, out)) {
        return true;
    }
    if (n < 10 || s[4] != '-' || s[7] != '-' || !api_digits(s, 4, &y) ||
        !api_digits(s + 5, 2, &mo) || !api_digits(s + 8, 2, &d) || mo < 1 || mo > 12 || d < 1 ||
        d > 31) {
        return false;
    }
    if (n > 10) {
        if (n != 20 || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' ||
            s[19] != 'Z' || !api_digits(s + 11, 2, &h) || !api_digits(s + 14, 2, &mi) ||
            !api_digits(s + 17, 2, &se) || h > 23 || mi > 59 || se > 60) {
            return false;
        }
    }
    *out = api_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return true;
}

static int
api_time_arg(struct api_req *r, const char *key, int64_t *out)
{
    const char *v = api_query(r, key);

    if (v == NULL || v[0] == '\0') {
        return 0;
    }
    if (!api_parse_time(v, out)) {
        return api_error(r, 400, "bad_request",
                         "\"%s\" must be Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", key);
    }
    return 0;
}

static bool
api_id_arg(const char *s, int64_t *out)
{
    return apij_parse_i64(s, out) && *out > 0;
}

static struct store *
api_need_store(struct api_req *r)
{
    struct store *st = api_store(r);

    if (st == NULL) {
        api_error(r, 500, "internal", "the store is not available");
    }
    return st;
}

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
        for (i = 0; i < sizeof(api_hygiene_fields) / sizeof(api_hygiene_fields[0]); i++) {
            if (strcmp(key, api_hygiene_fields[i]) == 0) {
                return api_error(r, 400, "read_only_field",
                                 "\"%s\" is managed by bounced and cannot be set", key);
            }
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

/* ---- contacts ---- */

static void
api_contact_json(struct buf *b, const struct model_contact *c, const char *lists)
{
    buf_printf(b, "{\"id\":%lld,\"email\":", (long long)c->id);
    apij_str(b, c->email);
    buf_adds(b, ",\"hygiene_status\":");
    apij_str(b, hyg_status_name(c->status));
    buf_printf(b, ",\"soft_bounce_count\":%lld,\"last_bounce_at\":", (long long)c->soft_count);
    if (c->last_bounce_at != 0) {
        buf_printf(b, "%lld", (long long)c->last_bounce_at);
    } else {
        buf_adds(b, "null");
    }
    buf_adds(b, ",\"last_reason\":");
    apij_str(b, c->last_reason[0] != '\0' ? c->last_reason : NULL);
    buf_adds(b, ",\"last_status\":");
    apij_str(b, c->last_status[0] != '\0' ? c->last_status : NULL);
    if (c->suppressed) {
        buf_adds(b, ",\"suppressed\":true,\"suppression\":{\"reason\":");
        apij_str(b, c->supp_reason);
        buf_adds(b, ",\"source\":");
        apij_str(b, c->supp_source);
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

struct api_contacts_ud {
    struct buf *b;
    size_t n;
    int64_t last;
    const char *domain; /* filter: email ends with "@domain" */
};

static int
api_contacts_cb(void *ud, const struct model_contact *c)
{
    struct api_contacts_ud *l = ud;

    l->last = c->id;
    if (l->domain != NULL) {
        const char *at = strrchr(c->email, '@');
        if (at == NULL || strcasecmp(at + 1, l->domain) != 0) {
            return 0;
        }
    }
    if (l->n++ > 0) {
        buf_addc(l->b, ',');
    }
    api_contact_json(l->b, c, NULL);
    return 0;
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
    l.b = &r->out;
    l.domain = api_query(r, "domain");
    if (l.domain != NULL && l.domain[0] == '\0') {
        l.domain = NULL;
    }
    if (email != NULL) {
        struct model_contact c;
        char norm[MODEL_EMAIL_MAX + 1];
        if (!model_normalize_email(email, norm)) {
            return api_error(r, 400, "bad_address", "\"email\" is not an email address");
        }
        memset(&c, 0, sizeof(c));
        buf_adds(&r->out, "{\"data\":[");
        rc = model_contact_find(st, &pc, norm, api_now(r), &c);
        if (rc == BNC_OK) {
            api_contacts_cb(&l, &c);
            model_contact_free(&c);
        } else if (rc != BNC_ENOTFOUND) {
            return api_error_status(r, rc, "contact");
        }
        buf_adds(&r->out, "],\"next\":null}\n");
        return 200;
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
    f.list = api_query(r, "list");
    if (f.list != NULL && f.list[0] == '\0') {
        f.list = NULL;
    }
    buf_adds(&r->out, "{\"data\":[");
    rc = model_contact_list(st, &pc, &f, after, limit, api_now(r), api_contacts_cb, &l, &got);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "contacts");
    }
    buf_adds(&r->out, "],\"next\":");
    api_next_cursor(&r->out, got == limit ? l.last : 0);
    buf_adds(&r->out, "}\n");
    return 200;
}

static bool
api_contact_id(struct api_req *r, int64_t *id)
{
    if (!api_id_arg(r->seg[3], id)) {
        api_error(r, 404, "not_found", "contact: not found");
        return false;
    }
    return true;
}

int
h_contact_get(struct api_req *r)
{
    struct store *st;
    int64_t id;

    if (!api_contact_id(r, &id) || (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    return api_contact_reply(r, st, id, 200);
}

int
h_contacts_create(struct api_req *r)
{
    static const char *const allowed[] = {"email", "attributes", "lists"};
    json_t *body = apij_body(r), *attrs, *lists, *v;
    struct store *st;
    const char *email;
    char norm[MODEL_EMAIL_MAX + 1], *attr_text = NULL, loc[64];
    int64_t id = 0, now = api_now(r);
    size_t i;
    bnc_status rc;

    if (body == NULL) {
        return r->status;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        return api_error(r, 400, "bad_request", "expected a JSON object");
    }
    if (api_check_keys(r, body, allowed, 3) != 0) {
        json_decref(body);
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
    if (lists != NULL) {
        if (!json_is_array(lists)) {
            json_decref(body);
            return api_error(r, 400, "bad_request", "\"lists\" must be an array of names");
        }
        json_array_foreach(lists, i, v)
        {
            const char *n = json_string_value(v);
            if (n == NULL || n[0] == '\0' || strlen(n) > 200) {
                json_decref(body);
                return api_error(r, 400, "bad_request", "lists[%zu] must be a list name", i);
            }
        }
    }
    if ((st = api_need_store(r)) == NULL) {
        json_decref(body);
        return r->status;
    }
    if (attrs != NULL) {
        attr_text = json_dumps(attrs, JSON_COMPACT);
    }
    rc = store_begin(st);
    if (rc == BNC_OK) {
        rc = model_contact_create(st, norm, attr_text, now, &id);
    }
    if (rc == BNC_OK && lists != NULL) {
        json_array_foreach(lists, i, v)
        {
            int64_t lid = 0;
            rc = model_list_ensure(st, json_string_value(v), now, &lid);
            if (rc == BNC_OK) {
                rc = model_list_subscribe(st, lid, id, now);
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

/* PUT (merge = top-level merge of attributes) and PATCH (RFC 7386 on attributes). */
static int
api_contact_update(struct api_req *r, bool patch)
{
    static const char *const allowed[] = {"email", "attributes"};
    json_t *body = apij_body(r), *attrs, *emailv;
    struct store *st;
    struct policy_cfg pc;
    struct model_contact c;
    char norm[MODEL_EMAIL_MAX + 1], actor[48], *text = NULL;
    int64_t id, now = api_now(r);
    bnc_status rc;

    if (body == NULL) {
        return r->status;
    }
    if (!api_contact_id(r, &id)) {
        json_decref(body);
        return r->status;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        return api_error(r, 400, "bad_request", "expected a JSON object");
    }
    if (api_check_keys(r, body, allowed, 2) != 0) {
        json_decref(body);
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
        if (patch) {
            json_error_t jerr;
            json_t *cur = json_loads(c.attributes != NULL ? c.attributes : "{}", 0, &jerr);
            json_t *merged = apij_merge_patch(cur, attrs);
            if (!json_is_object(merged)) {
                json_decref(merged);
                merged = json_object();
            }
            text = json_dumps(merged, JSON_COMPACT);
            json_decref(merged);
            json_decref(cur);
            rc = model_contact_set_attributes(st, id, text, false, now);
        } else {
            text = json_dumps(attrs, JSON_COMPACT);
            rc = model_contact_set_attributes(st, id, text, true, now);
        }
    }
    if (rc == BNC_OK) {
        rc = store_commit(st);
    } else {
        store_rollback(st);
    }
    model_contact_free(&c);
    free(text);
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

    if (!api_contact_id(r, &id) || (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    rc = model_contact_delete(st, id);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "contact");
    }
    return 204;
}

int
h_contact_reverify(struct api_req *r)
{
    struct store *st;
    struct model_contact c;
    char tok[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_LEN + 1];
    int64_t id, now = api_now(r), exp;
    const char *base = r->srv->cfg->verify_base_url;
    size_t bl;
    bnc_status rc;

    if (!api_contact_id(r, &id) || (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    memset(&c, 0, sizeof(c));
    rc = model_contact_get(st, NULL, id, now, &c);
    model_contact_free(&c);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "contact");
    }
    if (auth_token_generate(tok, sizeof(tok)) != BNC_OK) {
        return api_error(r, 500, "internal", "no randomness available");
    }
    memcpy(tok, "vfy_", 4); /* tells a link token from an API token at a glance */
    auth_sha256_hex(tok, strlen(tok), hash);
    exp = now + r->srv->cfg->verify_ttl;
    rc = api_verif_insert(st, id, hash, now, exp);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "verification");
    }
    bl = base != NULL ? strlen(base) : 0;
    while (bl > 0 && base[bl - 1] == '/') {
        bl--;
    }
    buf_adds(&r->out, "{\"token\":");
    apij_str(&r->out, tok);
    buf_adds(&r->out, ",\"url\":");
    {
        struct buf u;
        buf_init(&u, 4096);
        buf_add(&u, base != NULL ? base : "", bl);
        buf_printf(&u, "/verify/%s", tok);
        apij_str(&r->out, u.p);
        buf_free(&u);
    }
    buf_printf(&r->out, ",\"contact_id\":%lld,\"expires_at\":%lld}\n", (long long)id,
               (long long)exp);
    return 201;
}

static bool
api_wants_html(struct api_req *r)
{
    const char *accept = api_header(r, "Accept");

    return accept != NULL && strstr(accept, "text/html") != NULL;
}

int
h_verify(struct api_req *r)
{
    struct store *st;
    const char *tok = r->seg[1];
    char hash[AUTH_HASH_LEN + 1];
    int64_t cid = 0, now = api_now(r);
    bnc_status rc;

    if (strlen(tok) != AUTH_TOKEN_LEN || strncmp(tok, "vfy_", 4) != 0) {
        return api_error(r, 404, "not_found", "unknown verification link");
    }
    if ((st = api_need_store(r)) == NULL) {
        return r->status;
    }
    auth_sha256_hex(tok, strlen(tok), hash);
    rc = store_begin(st);
    if (rc == BNC_OK) {
        rc = api_verif_consume(st, hash, now, &cid);
    }
    if (rc == BNC_OK) {
        rc = model_contact_reactivate(st, cid, "verify", "re-verification link", now);
    }
    if (rc == BNC_OK) {
        rc = store_commit(st);
    } else {
        store_rollback(st);
    }
    switch (rc) {
    case BNC_OK:
        break;
    case BNC_ENOTFOUND:
        return api_error(r, 404, "not_found", "unknown verification link");
    case BNC_ECONFLICT:
        return api_error(r, 410, "gone", "this verification link was already used");
    case BNC_ELIMIT:
        return api_error(r, 410, "gone", "this verification link has expired");
    default:
        return api_error_status(r, rc, "verification");
    }
    if (api_wants_html(r)) {
        /* a person clicked the link in a mail client or browser */
        buf_adds(&r->out, "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">"
                          "<title>Address confirmed</title><body><h1>Thank you</h1>"
                          "<p>Your address is confirmed; you will receive our mail again.</p>"
                          "</body></html>\n");
        r->ctype = "text/html; charset=utf-8";
        return 200;
    }
    buf_printf(&r->out, "{\"status\":\"reactivated\",\"contact_id\":%lld}\n", (long long)cid);
    return 200;
}

/* ---- POST /bounces ---- */

static bool
api_kind_from_name(const char *s, bnc_kind *out)
{
    int k;

    for (k = BNC_KIND_UNKNOWN; k <= BNC_KIND_DELIVERED; k++) {
        if (strcmp(bnc_kind_name((bnc_kind)k), s) == 0) {
            *out = (bnc_kind)k;
            return true;
        }
    }
    return false;
}

static bool
api_action_from_name(const char *s, bnc_action *out)
{
    int a;

    for (a = BNC_ACTION_NONE; a <= BNC_ACTION_EXPANDED; a++) {
        if (strcmp(bnc_action_name((bnc_action)a), s) == 0) {
            *out = (bnc_action)a;
            return true;
        }
    }
    return false;
}

static const char *
api_jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL ? s : "";
}

/* Fill v from one JSON verdict object; returns 0 or the error status written into r. */
static int
api_verdict_from_json(struct api_req *r, json_t *o, size_t idx, struct bnc_rcpt *v)
{
    char norm[MODEL_EMAIL_MAX + 1];
    const char *s;
    json_t *h, *t;

    memset(v, 0, sizeof(*v));
    if (!json_is_object(o)) {
        return api_error(r, 400, "bad_verdict", "verdicts[%zu] is not an object", idx);
    }
    s = json_string_value(json_object_get(o, "recipient"));
    if (s == NULL || !model_normalize_email(s, norm)) {
        return api_error(r, 400, "bad_verdict", "verdicts[%zu].recipient must be an address", idx);
    }
    v->recipient = s;
    v->original_recipient = api_jstr(o, "original_recipient");
    s = api_jstr(o, "status");
    if (strlen(s) >= sizeof(v->status)) {
        return api_error(r, 400, "bad_verdict", "verdicts[%zu].status is too long", idx);
    }
    memcpy(v->status, s, strlen(s) + 1);
    s = api_jstr(o, "replycode");
    if (strlen(s) >= sizeof(v->replycode)) {
        return api_error(r, 400, "bad_verdict", "verdicts[%zu].replycode must be 3 digits", idx);
    }
    memcpy(v->replycode, s, strlen(s) + 1);
    v->reason = BNC_R_UNDEFINED;
    s = api_jstr(o, "reason");
    if (s[0] != '\0' && !bnc_reason_from_name(s, &v->reason)) {
        return api_error(r, 400, "bad_verdict", "verdicts[%zu].reason \"%.40s\" is unknown", idx,
                         s);
    }
    v->reason_hint = v->reason;
    h = json_object_get(o, "hard");
    v->hard = json_is_boolean(h) ? (json_is_true(h) ? 1 : 0) : -1;
    s = api_jstr(o, "kind");
    if (s[0] != '\0') {
        if (!api_kind_from_name(s, &v->kind)) {
            return api_error(r, 400, "bad_verdict", "verdicts[%zu].kind \"%.40s\" is unknown", idx,
                             s);
        }
    } else if (v->hard == 1) {
        v->kind = BNC_KIND_HARD;
    } else if (v->hard == 0) {
        v->kind = BNC_KIND_SOFT;
    } else if (v->reason != BNC_R_UNDEFINED) {
        bnc_side side = bnc_reason_side(v->reason);
        v->kind = side == BNC_SIDE_DEAD ? BNC_KIND_HARD : BNC_KIND_SOFT;
    }
    if (v->hard == -1 && v->kind == BNC_KIND_HARD) {
        v->hard = 1;
    }
    v->action = BNC_ACTION_FAILED;
    s = api_jstr(o, "action");
    if (s[0] != '\0' && !api_action_from_name(s, &v->action)) {
        return api_error(r, 400, "bad_verdict", "verdicts[%zu].action \"%.40s\" is unknown", idx,
                         s);
    }
    v->diagnostic = api_jstr(o, "diagnostic");
    v->diagnostic_type = api_jstr(o, "diagnostic_type");
    v->remote_mta = api_jstr(o, "remote_mta");
    v->reporting_mta = api_jstr(o, "reporting_mta");
    v->date = api_jstr(o, "date");
    t = json_object_get(o, "time");
    v->time = json_is_integer(t) ? (int64_t)json_integer_value(t) : 0;
    v->origin = json_object_get(o, "origin") != NULL ? api_jstr(o, "origin") : "api";
    v->message_id = api_jstr(o, "message_id");
    v->original_message_id = api_jstr(o, "original_message_id");
    v->feedback_type = api_jstr(o, "feedback_type");
    v->decided_by = json_object_get(o, "decided_by") != NULL ? api_jstr(o, "decided_by") : "api";
    v->smtp_command = api_jstr(o, "smtp_command");
    return 0;
}

static void
api_result_json(struct buf *b, const struct pipeline_result *res)
{
    int k;

    buf_printf(b, "{\"verdicts\":%zu,\"by_kind\":{", res->verdicts);
    for (k = BNC_KIND_UNKNOWN; k <= BNC_KIND_DELIVERED; k++) {
        buf_printf(b, "%s\"%s\":%zu", k > 0 ? "," : "", bnc_kind_name((bnc_kind)k),
                   res->by_kind[k]);
    }
    buf_printf(b,
               "},\"contacts_changed\":%zu,\"review_items\":%zu,\"duplicate\":%s,"
               "\"not_bounce\":%s}\n",
               res->contacts_changed, res->review_items, res->duplicate ? "true" : "false",
               res->not_bounce ? "true" : "false");
}

int
h_bounces(struct api_req *r)
{
    const char *ct = api_header(r, "Content-Type");
    struct pipeline *p;
    struct pipeline_result res;
    bnc_status rc;

    if (r->body.len == 0) {
        return api_error(r, 400, "bad_request", "the body must be a bounce message or verdicts");
    }
    memset(&res, 0, sizeof(res));
    if (ct != NULL && strncasecmp(ct, "application/json", 16) == 0) {
        json_t *body = apij_body(r), *arr;
        struct bnc_rcpt *v;
        char ref[AUTH_HASH_LEN + 8];
        const char *uref = NULL;
        size_t n, i;

        if (body == NULL) {
            return r->status;
        }
        if (json_is_array(body)) {
            arr = body;
        } else if (json_is_object(body) && json_is_array(json_object_get(body, "verdicts"))) {
            arr = json_object_get(body, "verdicts");
            uref = json_string_value(json_object_get(body, "ref"));
        } else if (json_is_object(body)) {
            arr = NULL;
            uref = json_string_value(json_object_get(body, "ref"));
        } else {
            json_decref(body);
            return api_error(r, 400, "bad_request", "expected a verdict object or an array");
        }
        n = arr != NULL ? json_array_size(arr) : 1;
        if (n == 0 || n > API_VERDICTS_MAX) {
            json_decref(body);
            return api_error(r, n == 0 ? 400 : 413, n == 0 ? "bad_request" : "too_many",
                             "1..%d verdicts per request", API_VERDICTS_MAX);
        }
        if (uref != NULL && (uref[0] == '\0' || strlen(uref) > 200)) {
            json_decref(body);
            return api_error(r, 400, "bad_request", "\"ref\" must be 1..200 characters");
        }
        v = xcalloc(n, sizeof(*v));
        for (i = 0; i < n; i++) {
            if (api_verdict_from_json(r, arr != NULL ? json_array_get(arr, i) : body, i, &v[i]) !=
                0) {
                free(v);
                json_decref(body);
                return r->status;
            }
        }
        if ((p = api_pipeline(r)) == NULL) {
            free(v);
            json_decref(body);
            return api_error(r, 503, "unavailable", "bounce processing is not available");
        }
        if (uref == NULL) {
            memcpy(ref, "sha256:", 7);
            auth_sha256_hex(r->body.p, r->body.len, ref + 7);
            uref = ref;
        }
        rc = pipeline_process_verdicts(p, v, n, "api", uref, &res);
        free(v);
        json_decref(body);
    } else {
        struct pipeline_input in;

        if ((p = api_pipeline(r)) == NULL) {
            return api_error(r, 503, "unavailable", "bounce processing is not available");
        }
        memset(&in, 0, sizeof(in));
        in.data = r->body.p;
        in.len = r->body.len;
        in.source = "api";
        in.ref = api_query(r, "ref");
        in.received_at = api_now(r);
        rc = pipeline_process(p, &in, &res);
    }
    if (rc != BNC_OK) {
        if (rc == BNC_EPARSE || rc == BNC_EINVAL) {
            return api_error(r, 400, "unparseable", "%s", pipeline_errmsg(p));
        }
        return api_error_status(r, rc, "processing");
    }
    api_result_json(&r->out, &res);
    return res.duplicate ? 200 : 201;
}

/* ---- events ---- */

struct api_events_ud {
    struct buf *b;
    size_t n;
    int64_t last;
    const char *source; /* post-filter */
};

static int
api_event_cb(void *ud, const struct model_event *e)
{
    struct api_events_ud *l = ud;
    struct buf *b = l->b;

    l->last = e->id;
    if (l->source != NULL && strcmp(l->source, e->source) != 0) {
        return 0;
    }
    if (l->n++ > 0) {
        buf_addc(b, ',');
    }
    buf_printf(b, "{\"id\":%lld,\"contact_id\":", (long long)e->id);
    if (e->contact_id != 0) {
        buf_printf(b, "%lld", (long long)e->contact_id);
    } else {
        buf_adds(b, "null");
    }
#define EV_STR(k, f)                \
    do {                            \
        buf_adds(b, ",\"" k "\":"); \
        apij_str(b, e->f);          \
    } while (0)
    EV_STR("recipient", recipient);
    EV_STR("domain", domain);
    EV_STR("status", status);
    EV_STR("replycode", replycode);
    EV_STR("reason", reason);
    EV_STR("kind", kind);
    buf_printf(b, ",\"hard\":%s", e->hard == 1 ? "true" : e->hard == 0 ? "false" : "null");
    EV_STR("action", action);
    EV_STR("diagnostic", diagnostic);
    EV_STR("origin", origin);
    EV_STR("source", source);
    EV_STR("ref", ref);
    EV_STR("decided_by", decided_by);
    EV_STR("policy", policy);
    EV_STR("message_id", message_id);
    EV_STR("original_message_id", original_message_id);
    EV_STR("feedback_type", feedback_type);
#undef EV_STR
    buf_printf(b, ",\"event_time\":%lld,\"created_at\":%lld}", (long long)e->event_time,
               (long long)e->created_at);
    return 0;
}

static const char *
api_qopt(struct api_req *r, const char *key)
{
    const char *v = api_query(r, key);

    return v != NULL && v[0] != '\0' ? v : NULL;
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
    if (f.kind != NULL && !api_kind_from_name(f.kind, &kind)) {
        return api_error(r, 400, "bad_request", "unknown kind \"%.40s\"", f.kind);
    }
    if ((st = api_need_store(r)) == NULL) {
        return r->status;
    }
    memset(&l, 0, sizeof(l));
    l.b = &r->out;
    l.source = api_qopt(r, "source");
    buf_adds(&r->out, "{\"data\":[");
    rc = model_event_list(st, &f, after, limit, api_event_cb, &l, &got);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "events");
    }
    buf_adds(&r->out, "],\"next\":");
    api_next_cursor(&r->out, got == limit ? l.last : 0);
    buf_adds(&r->out, "}\n");
    return 200;
}

/* ---- review ---- */

static int
api_review_cb(void *ud, const struct model_review *x)
{
    struct api_events_ud *l = ud;
    struct buf *b = l->b;

    l->last = x->id;
    if (l->n++ > 0) {
        buf_addc(b, ',');
    }
    buf_printf(b, "{\"id\":%lld,\"event_id\":%lld,\"contact_id\":", (long long)x->id,
               (long long)x->event_id);
    if (x->contact_id != 0) {
        buf_printf(b, "%lld", (long long)x->contact_id);
    } else {
        buf_adds(b, "null");
    }
#define RV_STR(k, f)                \
    do {                            \
        buf_adds(b, ",\"" k "\":"); \
        apij_str(b, x->f);          \
    } while (0)
    RV_STR("recipient", recipient);
    RV_STR("reason", reason);
    RV_STR("status", status);
    RV_STR("diagnostic", diagnostic);
    RV_STR("source", source);
    RV_STR("ref", ref);
    RV_STR("state", state);
    RV_STR("resolution", resolution);
    RV_STR("resolved_by", resolved_by);
#undef RV_STR
    buf_printf(b, ",\"event_time\":%lld,\"resolved_at\":", (long long)x->event_time);
    if (x->resolved_at != 0) {
        buf_printf(b, "%lld", (long long)x->resolved_at);
    } else {
        buf_adds(b, "null");
    }
    buf_printf(b, ",\"created_at\":%lld}", (long long)x->created_at);
    return 0;
}

int
h_review_list(struct api_req *r)
{
    struct store *st;
    struct api_events_ud l;
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
    memset(&l, 0, sizeof(l));
    l.b = &r->out;
    buf_adds(&r->out, "{\"data\":[");
    rc = model_review_list(st, open_only, after, limit, api_review_cb, &l, &got);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "review");
    }
    buf_adds(&r->out, "],\"next\":");
    api_next_cursor(&r->out, got == limit ? l.last : 0);
    buf_adds(&r->out, "}\n");
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

    if (!api_id_arg(r->seg[3], &id)) {
        return api_error(r, 404, "not_found", "review item: not found");
    }
    if ((body = apij_body(r)) == NULL) {
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

/* ---- rules ---- */

static void
api_rule_json(struct buf *b, const struct api_rule_row *x)
{
    buf_printf(b, "{\"id\":%lld,\"rule\":", (long long)x->id);
    apij_str(b, x->pattern);
    buf_adds(b, ",\"note\":");
    apij_str(b, x->note);
    buf_adds(b, ",\"created_by\":");
    apij_str(b, x->created_by);
    buf_printf(b, ",\"created_at\":%lld}", (long long)x->created_at);
}

int
h_rules_list(struct api_req *r)
{
    struct store *st;
    struct api_rule_row *rows = NULL;
    size_t n = 0, i;
    bnc_status rc;

    if ((st = api_need_store(r)) == NULL) {
        return r->status;
    }
    if ((rc = api_rule_list(st, &rows, &n)) != BNC_OK) {
        return api_error_status(r, rc, "rules");
    }
    buf_adds(&r->out, "{\"data\":[");
    for (i = 0; i < n; i++) {
        if (i > 0) {
            buf_addc(&r->out, ',');
        }
        api_rule_json(&r->out, &rows[i]);
    }
    buf_adds(&r->out, "]}\n");
    api_rule_rows_free(rows, n);
    return 200;
}

static int
api_rules_reload(struct api_req *r)
{
    bnc_status rc;

    if (r->srv->o.reload_rules == NULL) {
        return 0;
    }
    rc = r->srv->o.reload_rules(r->srv->o.ud);
    if (rc != BNC_OK) {
        return api_error(r, 500, "reload_failed",
                         "the rule is stored but the rule set could not be rebuilt: %s",
                         bnc_strerror(rc));
    }
    return 0;
}

int
h_rules_add(struct api_req *r)
{
    json_t *body;
    struct store *st;
    const char *line, *note;
    char err[512], actor[48], loc[64];
    struct api_rule_row row;
    int64_t id = 0;
    bnc_status rc;

    if ((body = apij_body(r)) == NULL) {
        return r->status;
    }
    line = json_string_value(json_object_get(body, "rule"));
    note = json_string_value(json_object_get(body, "note"));
    if (line == NULL || line[0] == '\0' || strlen(line) > API_RULE_MAX ||
        strchr(line, '\n') != NULL || strchr(line, '\r') != NULL) {
        json_decref(body);
        return api_error(r, 400, "bad_rule",
                         "\"rule\" must be one rule line, e.g. \"550 5.7.1 Unfortunately ==> "
                         "soft:blocked\"");
    }
    if (note != NULL && strlen(note) > 1000) {
        json_decref(body);
        return api_error(r, 400, "bad_request", "\"note\" is longer than 1000 bytes");
    }
    err[0] = '\0';
    if (rules_check_line(line, err, sizeof(err)) != BNC_OK) {
        json_decref(body);
        return api_error(r, 400, "bad_rule", "%s", err[0] != '\0' ? err : "invalid rule");
    }
    if ((st = api_need_store(r)) == NULL) {
        json_decref(body);
        return r->status;
    }
    api_actor(r, actor, sizeof(actor));
    rc = api_rule_insert(st, line, actor, note, api_now(r), &id);
    if (rc != BNC_OK) {
        json_decref(body);
        return api_error_status(r, rc, "rule");
    }
    row.id = id;
    row.pattern = (char *)(uintptr_t)line;
    row.note = (char *)(uintptr_t)(note != NULL ? note : "");
    row.created_by = actor;
    row.created_at = api_now(r);
    if (api_rules_reload(r) != 0) {
        json_decref(body);
        return r->status;
    }
    api_rule_json(&r->out, &row);
    buf_addc(&r->out, '\n');
    json_decref(body);
    snprintf(loc, sizeof(loc), "/api/v1/rules/%lld", (long long)id);
    api_add_header(r, "Location", loc);
    return 201;
}

int
h_rules_delete(struct api_req *r)
{
    struct store *st;
    int64_t id;
    bnc_status rc;

    if (!api_id_arg(r->seg[3], &id)) {
        return api_error(r, 404, "not_found", "rule: not found");
    }
    if ((st = api_need_store(r)) == NULL) {
        return r->status;
    }
    if ((rc = api_rule_delete(st, id)) != BNC_OK) {
        return api_error_status(r, rc, "rule");
    }
    if (api_rules_reload(r) != 0) {
        return r->status;
    }
    return 204;
}

/* ---- stats ---- */

struct api_stat_ud {
    struct buf *b;
    size_t n;
};

static int
api_stat_cb(void *ud, const char *key, int64_t count)
{
    struct api_stat_ud *s = ud;

    if (s->n++ > 0) {
        buf_addc(s->b, ',');
    }
    buf_adds(s->b, "{\"key\":");
    apij_str(s->b, key);
    buf_printf(s->b, ",\"count\":%lld}", (long long)count);
    return 0;
}

int
h_stats(struct api_req *r)
{
    static const struct {
        const char *name;
        enum model_stat_dim dim;
        size_t limit;
    } dims[] = {{"by_reason", MODEL_STAT_REASON, API_STATS_ROWS},
                {"by_kind", MODEL_STAT_KIND, API_STATS_ROWS},
                {"by_domain", MODEL_STAT_DOMAIN, API_STATS_ROWS},
                {"by_day", MODEL_STAT_DAY, 400},
                {"by_status", MODEL_STAT_STATUS, API_STATS_ROWS}};
    struct store *st;
    struct model_totals t;
    int64_t now = api_now(r), since = 0, until = 0;
    size_t i;
    int s;
    bnc_status rc;

    if (api_time_arg(r, "since", &since) != 0 || api_time_arg(r, "until", &until) != 0) {
        return r->status;
    }
    if (since == 0) {
        since = (now / 86400 - 29) * 86400; /* the last 30 UTC days */
    }
    if (until == 0) {
        until = (now / 86400 + 1) * 86400;
    }
    if (until <= since) {
        return api_error(r, 400, "bad_request", "\"until\" must be after \"since\"");
    }
    if ((st = api_need_store(r)) == NULL) {
        return r->status;
    }
    buf_printf(&r->out, "{\"since\":%lld,\"until\":%lld", (long long)since, (long long)until);
    for (i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
        struct api_stat_ud u = {&r->out, 0};
        buf_printf(&r->out, ",\"%s\":[", dims[i].name);
        rc = model_stats(st, dims[i].dim, since, until, dims[i].limit, api_stat_cb, &u);
        if (rc != BNC_OK) {
            return api_error_status(r, rc, "stats");
        }
        buf_addc(&r->out, ']');
    }
    memset(&t, 0, sizeof(t));
    if ((rc = model_totals(st, &t)) != BNC_OK) {
        return api_error_status(r, rc, "stats");
    }
    buf_printf(&r->out,
               ",\"totals\":{\"contacts\":%lld,\"suppressions\":%lld,\"events\":%lld,"
               "\"review_open\":%lld,\"messages\":%lld,\"not_bounce\":%lld,"
               "\"by_status\":{",
               (long long)t.contacts, (long long)t.suppressions, (long long)t.events,
               (long long)t.review_open, (long long)t.messages, (long long)t.not_bounce);
    for (s = 0; s < HYG__COUNT; s++) {
        buf_printf(&r->out, "%s\"%s\":%lld", s > 0 ? "," : "", hyg_status_name((enum hyg_status)s),
                   (long long)t.by_status[s]);
    }
    buf_adds(&r->out, "}}}\n");
    return 200;
}

/* ---- audit ---- */

static int
api_audit_cb(void *ud, const struct model_audit *a)
{
    struct api_events_ud *l = ud;
    struct buf *b = l->b;

    l->last = a->id;
    if (l->n++ > 0) {
        buf_addc(b, ',');
    }
    buf_printf(b, "{\"id\":%lld,\"contact_id\":%lld,\"address\":", (long long)a->id,
               (long long)a->contact_id);
    apij_str(b, a->address);
    buf_adds(b, ",\"actor\":");
    apij_str(b, a->actor);
    buf_adds(b, ",\"action\":");
    apij_str(b, a->action);
    buf_adds(b, ",\"reason\":");
    apij_str(b, a->reason);
    buf_adds(b, ",\"decided_by\":");
    apij_str(b, a->decided_by);
    buf_adds(b, ",\"ref\":");
    apij_str(b, a->ref);
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
    struct api_events_ud l;
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
    memset(&l, 0, sizeof(l));
    l.b = &r->out;
    buf_adds(&r->out, "{\"data\":[");
    rc = model_audit_list(st, addr != NULL ? norm : NULL, after, limit, api_audit_cb, &l, &got);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "audit");
    }
    buf_adds(&r->out, "],\"next\":");
    api_next_cursor(&r->out, got == limit ? l.last : 0);
    buf_adds(&r->out, "}\n");
    return 200;
}

int
h_audit_revert(struct api_req *r)
{
    struct store *st;
    char actor[48];
    int64_t id, nid = 0;
    bnc_status rc;

    if (!api_id_arg(r->seg[3], &id)) {
        return api_error(r, 404, "not_found", "audit entry: not found");
    }
    if ((st = api_need_store(r)) == NULL) {
        return r->status;
    }
    api_actor(r, actor, sizeof(actor));
    rc = model_audit_revert(st, id, actor, api_now(r), &nid);
    if (rc == BNC_ECONFLICT) {
        return api_error(r, 409, "conflict", "this entry was already reverted or is a revert");
    }
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "audit entry");
    }
    buf_printf(&r->out, "{\"reverted\":%lld,\"audit_id\":%lld}\n", (long long)id, (long long)nid);
    return 200;
}
