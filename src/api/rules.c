/*
 * rules.c - the rules stored through the API (DESIGN §8, user rules checked before the
 * built-in ones): GET /api/v1/rules, POST (one rule line, checked by the classifier's syntax
 * and pattern compiler before it is stored), DELETE /api/v1/rules/{id}; and
 * api_rules_load() / api_rules_apply(), the same rules as rule sources for the daemon's ctx
 * rebuild and for the CLI commands that apply bounces (process, scan, ingest).
 *
 * After a change the daemon's reload_rules() rebuilds the ctx (as on SIGHUP); when that
 * fails the rule stays stored and the reply is 500 with the reason.
 * LIMITS: a rule line API_RULE_MAX bytes, one line; a note 1000 bytes.
 * Ownership: replies go to r->out; api_rules_load() hands the caller a heap array.
 */
#include "routes_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify/classify.h"
#include "core/xmalloc.h"
#include "store/api_store.h"

#define API_RULE_MAX 4096

static void
api_rule_json(struct buf *b, const struct api_rule_row *x)
{
    buf_printf(b, "{\"id\":%lld,\"rule\":", (long long)x->id);
    apij_str(b, x->pattern);
    apij_kv_str(b, "note", x->note);
    apij_kv_str(b, "created_by", x->created_by);
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

    if ((body = api_json_body(r)) == NULL) {
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

    if (!api_path_id(r, 3, "rule", &id)) {
        return r->status;
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

/* ---- outside a request: the daemon's ctx rebuild ---- */

bnc_status
api_rules_load(struct store *st, struct api_rule_line **rules_out, size_t *n_out)
{
    struct api_rule_row *rows = NULL;
    struct api_rule_line *lines;
    size_t n = 0, i;
    bnc_status rc;
    char origin[48];

    *rules_out = NULL;
    *n_out = 0;
    if ((rc = api_rule_list(st, &rows, &n)) != BNC_OK) {
        return rc;
    }
    if (n == 0) {
        api_rule_rows_free(rows, n);
        return BNC_OK;
    }
    lines = xcalloc(n, sizeof(*lines));
    for (i = 0; i < n; i++) {
        lines[i].text = rows[i].pattern;
        rows[i].pattern = NULL;
        snprintf(origin, sizeof(origin), "db:rules:%lld", (long long)rows[i].id);
        lines[i].origin = xstrdup(origin);
    }
    api_rule_rows_free(rows, n);
    *rules_out = lines;
    *n_out = n;
    return BNC_OK;
}

void
api_rules_free(struct api_rule_line *rules, size_t n)
{
    size_t i;

    if (rules == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        free(rules[i].text);
        free(rules[i].origin);
    }
    free(rules);
}

bnc_status
api_rules_apply(struct store *st, bnc_ctx *ctx)
{
    struct api_rule_line *rl = NULL;
    struct rule_src *src;
    size_t nr = 0, i;
    bnc_status rc;

    if ((rc = api_rules_load(st, &rl, &nr)) != BNC_OK || nr == 0) {
        api_rules_free(rl, nr);
        return rc;
    }
    src = xcalloc(nr, sizeof(*src));
    for (i = 0; i < nr; i++) {
        src[i].text = rl[i].text;
        src[i].origin = rl[i].origin;
    }
    rc = bnc_ctx_reload_rules(ctx, src, nr);
    free(src);
    api_rules_free(rl, nr);
    return rc;
}
