/*
 * check.c - the suppression check, the hot path before every send: GET
 * /api/v1/check/{address} and POST /api/v1/check (bulk, {"addresses": [...]} or an array).
 *
 * One indexed statement per address (model_check: the suppression row first, then a
 * BOUNCED_HARD or COMPLAINED contact without one); unknown addresses are sendable. The
 * contact's status is reported with decay applied, as every read reports it. The bulk form
 * answers every address on its own: one that is not an address (or not a string) gets its
 * own "error" object in its place of the results, and the others are still answered; the
 * whole batch runs in one read transaction.
 * STANDARDS: RFC 5321 §4.5.3.1 address lengths (model_normalize_email).
 * LIMITS: POST takes at most API_CHECK_MAX addresses (413 past it).
 * Ownership: replies go to r->out.
 */
#include "routes_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "hygiene/policy.h"
#include "store/model.h"

#define API_CHECK_MAX 1000

static void
api_str_or_null(struct buf *b, const char *key, const char *s)
{
    apij_kv_str(b, key, s != NULL && s[0] != '\0' ? s : NULL);
}

/* Write one check result object. */
static void
api_check_json(struct buf *b, const struct model_check *c)
{
    buf_adds(b, "{\"address\":");
    apij_str(b, c->address);
    buf_adds(b, c->sendable ? ",\"sendable\":true" : ",\"sendable\":false");
    api_str_or_null(b, "hygiene_status", c->known ? c->status : NULL);
    api_str_or_null(b, "reason", c->reason);
    api_str_or_null(b, "source", c->source);
    buf_adds(b, ",\"since\":");
    apij_int_or_null(b, c->since);
    buf_addc(b, '}');
}

/* The place of an entry that could not be checked: what was given, and why. */
static void
api_check_error_json(struct buf *b, const char *given, size_t i)
{
    buf_adds(b, "{\"address\":");
    apij_str(b, given);
    buf_printf(b, ",\"error\":{\"code\":\"bad_address\",\"message\":\"addresses[%zu] is not %s\"}}",
               i, given != NULL ? "an email address" : "a string");
}

int
h_check_get(struct api_req *r)
{
    struct store *st = api_need_store(r);
    struct policy_cfg pc;
    struct model_check c;
    bnc_status rc;

    if (st == NULL) {
        return r->status;
    }
    policy_cfg_from_config(&pc, r->srv->cfg);
    rc = model_check(st, &pc, r->seg[3], api_now(r), &c);
    if (rc == BNC_EINVAL) {
        return api_error(r, 400, "bad_address", "not an email address");
    }
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "check");
    }
    api_check_json(&r->out, &c);
    buf_addc(&r->out, '\n');
    return 200;
}

/* The addresses of a bulk request, or NULL after writing the error. *n_out entries; a
 * non-string entry is NULL. The array borrows from body. */
static const char **
api_check_addresses(struct api_req *r, json_t *body, size_t *n_out)
{
    json_t *arr = json_is_array(body) ? body : json_object_get(body, "addresses"), *v;
    const char **addrs;
    size_t i;

    if (!json_is_array(arr)) {
        api_error(r, 400, "bad_request",
                  "expected {\"addresses\": [\"a@example.com\", ...]} or an array");
        return NULL;
    }
    *n_out = json_array_size(arr);
    if (*n_out > API_CHECK_MAX) {
        api_error(r, 413, "too_many", "at most %d addresses per request", API_CHECK_MAX);
        return NULL;
    }
    addrs = xcalloc(*n_out > 0 ? *n_out : 1, sizeof(*addrs));
    json_array_foreach(arr, i, v)
    {
        addrs[i] = json_string_value(v);
    }
    return addrs;
}

int
h_check_post(struct api_req *r)
{
    json_t *body = api_json_body(r);
    struct model_check *res = NULL;
    bnc_status *rcs = NULL, rc = BNC_OK;
    const char **addrs;
    struct policy_cfg pc;
    struct store *st;
    size_t i, n = 0;

    if (body == NULL) {
        return r->status;
    }
    if ((addrs = api_check_addresses(r, body, &n)) == NULL || (st = api_need_store(r)) == NULL) {
        free(addrs);
        json_decref(body);
        return r->status;
    }
    policy_cfg_from_config(&pc, r->srv->cfg);
    res = xcalloc(n > 0 ? n : 1, sizeof(*res));
    rcs = xcalloc(n > 0 ? n : 1, sizeof(*rcs));
    if (n > 0) {
        rc = model_check_many(st, &pc, addrs, n, api_now(r), res, rcs);
    }
    if (rc == BNC_OK) {
        buf_adds(&r->out, "{\"results\":[");
        for (i = 0; i < n; i++) {
            if (i > 0) {
                buf_addc(&r->out, ',');
            }
            if (rcs[i] == BNC_OK) {
                api_check_json(&r->out, &res[i]);
            } else {
                api_check_error_json(&r->out, addrs[i], i);
            }
        }
        buf_adds(&r->out, "]}\n");
    }
    free(res);
    free(rcs);
    free(addrs);
    json_decref(body);
    return rc == BNC_OK ? 200 : api_error_status(r, rc, "check");
}
