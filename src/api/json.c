/*
 * json.c - JSON helpers of the API over plain buffers: a bounded nesting pre-check (jansson
 * has no depth option of its own), small writers that build replies straight into a struct
 * buf (no intermediate tree on the hot paths), RFC 7386 merge patch, integer arguments.
 *
 * It knows no request (req.c reads bodies with these) and validates no domain fields (the
 * resource files do).
 * STANDARDS: RFC 8259 (JSON), RFC 7386 (merge patch).
 * LIMITS: the caller passes the nesting limit and the length.
 * Ownership: apij_merge_patch() returns a new reference the caller releases.
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

void
apij_str(struct buf *b, const char *s)
{
    if (s == NULL) {
        buf_adds(b, "null");
        return;
    }
    buf_add_json_str(b, s, strlen(s));
}

void
apij_kv_str(struct buf *b, const char *key, const char *s)
{
    buf_printf(b, ",\"%s\":", key);
    apij_str(b, s);
}

void
apij_int_or_null(struct buf *b, int64_t v)
{
    if (v != 0) {
        buf_printf(b, "%lld", (long long)v);
    } else {
        buf_adds(b, "null");
    }
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
