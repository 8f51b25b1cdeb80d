/*
 * json.c - JSON helpers of the API: a bounded nesting pre-check (jansson has no depth option
 * of its own), request body parsing with precise 400 messages, and small writers that build
 * replies straight into a struct buf (no intermediate tree on the hot paths).
 *
 * It does not validate domain fields (routes.c does).
 * STANDARDS: RFC 8259 (JSON), RFC 7386 (merge patch is applied in routes.c).
 * LIMITS: nesting limits.json_depth (400 past it); the body size was bounded by http.c.
 * Ownership: apij_body() returns a new reference the caller releases.
 */
#include "api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"

bool
apij_depth_ok(const char *p, size_t n, int64_t max)
{
    int64_t depth = 0;
    size_t i;
    bool in_str = false;

    for (i = 0; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (c == '\\') {
                i++; /* skip the escaped character (bounded by the loop test) */
            } else if (c == '"') {
                in_str = false;
            }
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max) {
                return false;
            }
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return true;
}

json_t *
apij_body(struct api_req *r)
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

void
apij_str(struct buf *b, const char *s)
{
    if (s == NULL) {
        buf_adds(b, "null");
        return;
    }
    buf_add_json_str(b, s, strlen(s));
}

static int
apij_dump_cb(const char *p, size_t n, void *ud)
{
    return buf_add(ud, p, n) == BNC_OK ? 0 : -1;
}

void
apij_dump(struct buf *b, const json_t *v)
{
    if (v == NULL) {
        buf_adds(b, "null");
        return;
    }
    json_dump_callback(v, apij_dump_cb, b, JSON_COMPACT | JSON_ENCODE_ANY);
}

json_t *
apij_merge_patch(json_t *target, json_t *patch)
{
    json_t *res, *v;
    const char *key;

    if (!json_is_object(patch)) {
        return json_incref(patch);
    }
    res = json_is_object(target) ? json_copy(target) : json_object();
    json_object_foreach(patch, key, v)
    {
        if (json_is_null(v)) {
            json_object_del(res, key);
        } else {
            /* recursion depth is bounded by the patch's depth (limits.json_depth) */
            json_object_set_new(res, key, apij_merge_patch(json_object_get(res, key), v));
        }
    }
    return res;
}

bool
apij_parse_i64(const char *s, int64_t *out)
{
    int64_t v = 0;

    if (s == NULL || *s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10) {
            return false;
        }
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return true;
}
