/*
 * req.c - the request/reply layer of the API: one request's lifetime, its accessors (query
 * arguments, headers, path ids, times, the page cursor), the JSON body, and the replies every
 * handler shares (errors, pages, list separators).
 *
 * It has no transport of its own: http.c creates the request with a lookup function for
 * query arguments and headers, and sends what the handler left in r->out. Nothing here
 * touches the store except to name its last error in a log line.
 * STANDARDS: RFC 8259 (error bodies are JSON), RFC 9110 (Retry-After on 503).
 * LIMITS: list pages 1..API_PAGE_MAX rows (default API_PAGE_DEF); JSON nesting
 * limits.json_depth (400 past it); headers added per reply API_MAX_HDRS (more are dropped);
 * an error message 511 bytes.
 * Ownership: the request owns its path copy, body, reply and added header values;
 * api_json_body() returns a new reference the caller releases.
 */
#include "api_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cfg.h"
#include "core/date.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/store.h"

/* ---- lifetime and accessors ---- */

struct api_req *
api_req_new(struct api_server *srv, void *conn, api_lookup_fn lookup)
{
    struct api_req *r = xcalloc(1, sizeof(*r));

    r->srv = srv;
    r->conn = conn;
    r->lookup = lookup;
    r->start_ns = api_mono_ns();
    buf_init(&r->body, srv->cfg->http_body_limit);
    buf_init(&r->out, API_OUT_CAP);
    return r;
}

void
api_req_free(struct api_req *r)
{
    size_t i;

    if (r == NULL) {
        return;
    }
    free(r->path);
    buf_free(&r->body);
    buf_free(&r->out);
    for (i = 0; i < r->nhdr; i++) {
        free(r->hdr_value[i]);
    }
    free(r);
}

int64_t
api_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
api_now(const struct api_req *r)
{
    return r->srv->o.now != 0 ? r->srv->o.now : (int64_t)time(NULL);
}

const char *
api_query(struct api_req *r, const char *key)
{
    return r->lookup(r->conn, API_LOOKUP_QUERY, key);
}

const char *
api_qopt(struct api_req *r, const char *key)
{
    const char *v = api_query(r, key);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

const char *
api_header(struct api_req *r, const char *name)
{
    return r->lookup(r->conn, API_LOOKUP_HEADER, name);
}

void
api_add_header(struct api_req *r, const char *name, const char *value)
{
    if (r->nhdr < API_MAX_HDRS) {
        r->hdr_name[r->nhdr] = name;
        r->hdr_value[r->nhdr] = xstrdup(value);
        r->nhdr++;
    }
}

bool
api_path_id(struct api_req *r, size_t seg, const char *what, int64_t *out)
{
    if (seg < r->nseg && apij_parse_i64(r->seg[seg], out) && *out > 0) {
        return true;
    }
    api_error(r, 404, "not_found", "%s: not found", what);
    return false;
}

void
api_actor(const struct api_req *r, char *out, size_t outlen)
{
    snprintf(out, outlen, "token:%lld", (long long)r->token_id);
}

bool
api_parse_time(const char *s, int64_t *out)
{
    return apij_parse_i64(s, out) || date_parse_iso_utc(s, out);
}

int
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

json_t *
api_json_body(struct api_req *r)
{
    json_error_t jerr;
    json_t *v;
    int64_t max = r->srv->cfg->limit_json_depth;

    if (r->body.len == 0) {
        api_error(r, 400, "bad_json", "a JSON body is required");
        return NULL;
    }
    if (!apij_depth_ok(r->body.p, r->body.len, max)) {
        api_error(r, 400, "too_deep", "JSON nesting is deeper than %lld", (long long)max);
        return NULL;
    }
    v = json_loadb(r->body.p, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL) {
        api_error(r, 400, "bad_json", "malformed JSON at line %d column %d: %s", jerr.line,
                  jerr.column, jerr.text);
        return NULL;
    }
    return v;
}

/* ---- errors ---- */

int
api_error(struct api_req *r, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    buf_reset(&r->out);
    r->static_out = false;
    buf_adds(&r->out, "{\"error\":{\"code\":");
    buf_add_json_str(&r->out, code, strlen(code));
    buf_adds(&r->out, ",\"message\":");
    buf_add_json_str(&r->out, msg, strlen(msg));
    buf_adds(&r->out, "}}\n");
    r->ctype = "application/json";
    r->status = status;
    return status;
}

int
api_error_status(struct api_req *r, bnc_status rc, const char *what)
{
    switch (rc) {
    case BNC_ENOTFOUND:
        return api_error(r, 404, "not_found", "%s: not found", what);
    case BNC_ECONFLICT:
        return api_error(r, 409, "conflict", "%s: conflicts with an existing record", what);
    case BNC_EINVAL:
        return api_error(r, 400, "bad_request", "%s: invalid value", what);
    case BNC_ELIMIT:
        return api_error(r, 413, "too_large", "%s: over a configured limit", what);
    case BNC_EBUSY:
        api_add_header(r, "Retry-After", "1");
        return api_error(r, 503, "busy", "%s: the store is busy, retry", what);
    default:
        log_warnx("api: %s failed: %s", what, r->st != NULL ? store_errmsg(r->st) : "no store");
        if ((rc == BNC_ESTORE || rc == BNC_EIO) && !api_store_answers(r)) {
            return api_unavailable(r);
        }
        return api_error(r, 500, "internal", "%s failed", what);
    }
}

bool
api_store_answers(struct api_req *r)
{
    int64_t one = 0;

    /* a dead PostgreSQL connection is reset by the backend before this statement */
    return r->st != NULL && store_query_int(r->st, "SELECT 1", NULL, 0, &one) == BNC_OK;
}

int
api_unavailable(struct api_req *r)
{
    api_add_header(r, "Retry-After", API_RETRY_AFTER);
    return api_error(r, 503, "unavailable", "the store is not reachable, retry later");
}

/* ---- pages ---- */

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
api_page_begin(struct api_req *r, struct api_list *l)
{
    l->b = &r->out;
    l->n = 0;
    l->last = 0;
    buf_adds(&r->out, "{\"data\":[");
}

void
api_page_end(struct api_req *r, int64_t next_id)
{
    buf_adds(&r->out, "],\"next\":");
    if (next_id > 0) {
        buf_printf(&r->out, "\"%lld\"", (long long)next_id);
    } else {
        buf_adds(&r->out, "null");
    }
    buf_adds(&r->out, "}\n");
}

struct buf *
api_list_item(struct api_list *l, int64_t id)
{
    l->last = id;
    if (l->n++ > 0) {
        buf_addc(l->b, ',');
    }
    return l->b;
}
