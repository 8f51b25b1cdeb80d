/*
 * check.c - the suppression check, the hot path before every send: GET
 * /api/v1/check/{address} and POST /api/v1/check (bulk, {"addresses": [...]} or an array).
 *
 * One store round trip per address (api_check_lookup: the suppression row first, then a
 * BOUNCED_HARD or COMPLAINED contact without one); unknown addresses are sendable.
 * STANDARDS: RFC 5321 §4.5.3.1 address lengths (model_normalize_email).
 * LIMITS: POST takes at most API_CHECK_MAX addresses (413 past it).
 * Ownership: replies go to r->out.
 */
#include "routes_int.h"

#include <string.h>

#include "store/api_store.h"
#include "store/model.h"

#define API_CHECK_MAX 1000

/* Write one check result object. */
static bnc_status
api_check_one(struct api_req *r, struct store *st, const char *addr, struct buf *b)
{
    char norm[MODEL_EMAIL_MAX + 1];
    struct model_check c;
    bnc_status rc;

    if (!model_normalize_email(addr, norm)) {
        return BNC_EINVAL;
    }
    if ((rc = api_check_lookup(st, norm, &c)) != BNC_OK) {
        return rc;
    }
    (void)r;
    buf_adds(b, "{\"address\":");
    buf_add_json_str(b, norm, strlen(norm));
    buf_adds(b, c.sendable ? ",\"sendable\":true,\"hygiene_status\":"
                           : ",\"sendable\":false,\"hygiene_status\":");
    if (c.known) {
        buf_add_json_str(b, c.status, strlen(c.status));
    } else {
        buf_adds(b, "null");
    }
    buf_adds(b, ",\"reason\":");
    if (c.reason[0] != '\0') {
        buf_add_json_str(b, c.reason, strlen(c.reason));
    } else {
        buf_adds(b, "null");
    }
    buf_adds(b, ",\"source\":");
    if (c.source[0] != '\0') {
        buf_add_json_str(b, c.source, strlen(c.source));
    } else {
        buf_adds(b, "null");
    }
    if (c.since != 0) {
        buf_printf(b, ",\"since\":%lld}", (long long)c.since);
    } else {
        buf_adds(b, ",\"since\":null}");
    }
    return BNC_OK;
}

int
h_check_get(struct api_req *r)
{
    struct store *st = api_need_store(r);
    bnc_status rc;

    if (st == NULL) {
        return r->status;
    }
    rc = api_check_one(r, st, r->seg[3], &r->out);
    if (rc == BNC_EINVAL) {
        return api_error(r, 400, "bad_address", "not an email address");
    }
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "check");
    }
    buf_addc(&r->out, '\n');
    return 200;
}

int
h_check_post(struct api_req *r)
{
    json_t *body = api_json_body(r), *arr, *v;
    struct store *st;
    size_t i, n;
    int status = 200;

    if (body == NULL) {
        return r->status;
    }
    arr = json_is_array(body) ? body : json_object_get(body, "addresses");
    if (!json_is_array(arr)) {
        json_decref(body);
        return api_error(r, 400, "bad_request",
                         "expected {\"addresses\": [\"a@example.com\", ...]} or an array");
    }
    n = json_array_size(arr);
    if (n > API_CHECK_MAX) {
        json_decref(body);
        return api_error(r, 413, "too_many", "at most %d addresses per request", API_CHECK_MAX);
    }
    if ((st = api_need_store(r)) == NULL) {
        json_decref(body);
        return r->status;
    }
    buf_adds(&r->out, "{\"results\":[");
    json_array_foreach(arr, i, v)
    {
        const char *addr = json_string_value(v);
        bnc_status rc;

        if (i > 0) {
            buf_addc(&r->out, ',');
        }
        if (addr == NULL) {
            status = api_error(r, 400, "bad_address", "addresses[%zu] is not a string", i);
            break;
        }
        rc = api_check_one(r, st, addr, &r->out);
        if (rc == BNC_EINVAL) {
            status = api_error(r, 400, "bad_address", "addresses[%zu] is not an email address", i);
            break;
        }
        if (rc != BNC_OK) {
            status = api_error_status(r, rc, "check");
            break;
        }
    }
    if (status == 200) {
        buf_adds(&r->out, "]}\n");
    }
    json_decref(body);
    return status;
}
