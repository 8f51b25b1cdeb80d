/*
 * bounces.c - POST /api/v1/bounces: a raw bounce message (any content type but JSON) or
 * verdicts as JSON (one object, an array, or {"ref": ..., "verdicts": [...]}), run through
 * the pipeline like every other source (source "api").
 *
 * A JSON verdict is checked field by field (recipient an address, reason/kind/action names
 * of the taxonomy); a missing kind follows hard, then the reason's side. Without a "ref"
 * the dedupe reference is the SHA-256 of the body, so a repeated request is a duplicate.
 * STANDARDS: RFC 5322 (raw messages), RFC 3464 field names for the verdict's members.
 * LIMITS: API_VERDICTS_MAX verdicts per request (413 past it); ref 1..200 bytes.
 * Ownership: the verdicts borrow the request's JSON tree, released after the pipeline ran.
 */
#include "routes_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "core/xmalloc.h"
#include "pipeline/process.h"
#include "store/model.h"

#define API_VERDICTS_MAX 1000

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
        if (!bnc_kind_from_name(s, &v->kind)) {
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
    if (s[0] != '\0' && !bnc_action_from_name(s, &v->action)) {
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

/* POST /bounces with JSON verdicts (an object, an array, or {"ref":..., "verdicts":[...]}):
 * 0 after the pipeline ran (*rc_out its status, *p_out the pipeline), or the error status
 * already written into r. */
static int
api_bounces_json(struct api_req *r, struct pipeline **p_out, struct pipeline_result *res,
                 bnc_status *rc_out)
{
    struct pipeline *p;
    json_t *body = api_json_body(r), *arr;
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
        if (api_verdict_from_json(r, arr != NULL ? json_array_get(arr, i) : body, i, &v[i]) != 0) {
            free(v);
            json_decref(body);
            return r->status;
        }
    }
    if ((p = *p_out = api_pipeline(r)) == NULL) {
        free(v);
        json_decref(body);
        return api_error(r, 503, "unavailable", "bounce processing is not available");
    }
    if (uref == NULL) {
        memcpy(ref, "sha256:", 7);
        auth_sha256_hex(r->body.p, r->body.len, ref + 7);
        uref = ref;
    }
    *rc_out = pipeline_process_verdicts(p, v, n, "api", uref, res);
    free(v);
    json_decref(body);
    return 0;
}

int
h_bounces(struct api_req *r)
{
    const char *ct = api_header(r, "Content-Type");
    struct pipeline *p = NULL;
    struct pipeline_result res;
    bnc_status rc = BNC_OK;

    if (r->body.len == 0) {
        return api_error(r, 400, "bad_request", "the body must be a bounce message or verdicts");
    }
    memset(&res, 0, sizeof(res));
    if (ct != NULL && strncasecmp(ct, "application/json", 16) == 0) {
        if (api_bounces_json(r, &p, &res, &rc) != 0) {
            return r->status;
        }
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
