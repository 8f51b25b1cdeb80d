/*
 * rules_view.c - the rule set as the daemon runs it, for people: GET /api/v1/rules/loaded
 * (every loaded rule, user tier first, with the decided_by name events carry) and POST
 * /api/v1/rules/impact (what one rule line, not yet stored, would change in the stored
 * history).
 *
 * Impact walks every stored event's diagnostic through a ruleset of that one line, matched
 * as the classifier matches (addresses blanked, white space normalized:
 * classify_rules_matching). An event "would change" when the rule matches and its verdict
 * names another reason or another kind than the event has. It is a forecast, not a replay:
 * a user rule wins over the built-in rules, but steps before the rules (an SMTP stage, a
 * code that decides on its own) still decide as before, as `bounced rules test` on the raw
 * messages would show.
 * LIMITS: a rule line API_IMPACT_RULE_MAX bytes; API_IMPACT_EXAMPLES event ids returned.
 * Ownership: replies go to r->out; the one-rule ruleset is freed before returning.
 */
#include "routes_int.h"

#include <stdio.h>
#include <string.h>

#include "classify/classify.h"
#include "classify/rules.h"
#include "store/model_dash.h"

#define API_IMPACT_RULE_MAX 4096
#define API_IMPACT_EXAMPLES 20

static const char *
api_origin_base(const char *origin)
{
    const char *slash = strrchr(origin, '/');

    return slash != NULL ? slash + 1 : origin;
}

int
h_rules_loaded(struct api_req *r)
{
    bnc_ctx *ctx = api_ctx(r);
    const struct bnc_ruleset *rs = ctx != NULL ? bnc_ctx_rules(ctx) : NULL;
    size_t i, n;

    if (rs == NULL) {
        return api_error(r, 503, "unavailable", "no rule set is loaded");
    }
    n = rules_count(rs);
    buf_adds(&r->out, "{\"data\":[");
    for (i = 0; i < n; i++) {
        const struct rule_info *ri = rules_get(rs, i);
        char verdict[64], name[600];

        rules_verdict_text(ri, verdict, sizeof(verdict));
        snprintf(name, sizeof(name), "rule:%s:%u", api_origin_base(ri->origin), ri->line);
        buf_adds(&r->out, i > 0 ? ",{\"origin\":" : "{\"origin\":");
        apij_str(&r->out, ri->origin);
        buf_printf(&r->out, ",\"line\":%u", ri->line);
        apij_kv_str(&r->out, "decided_by", name);
        apij_kv_str(&r->out, "tier", ri->tier == RULES_TIER_USER ? "user" : "builtin");
        apij_kv_str(&r->out, "pattern", ri->pattern);
        apij_kv_str(&r->out, "verdict", verdict);
        buf_printf(&r->out, ",\"regex\":%s}", ri->regex ? "true" : "false");
    }
    buf_printf(&r->out, "],\"count\":%zu}\n", n);
    return 200;
}

struct api_impact {
    const struct bnc_ruleset *rs;
    const char *reason; /* the rule's reason, NULL for a bare hard|soft */
    const char *kind;   /* "hard", "soft" or NULL when it follows the reason */
    int64_t matched, changed;
    int64_t example[API_IMPACT_EXAMPLES];
    size_t nexample;
    bnc_status rc;
};

/* The kind a rule's verdict gives: hard/soft as written, else from its reason's side. */
static const char *
api_rule_kind(const struct rule_info *ri)
{
    if (ri->hard == 1) {
        return "hard";
    }
    if (ri->hard == 0) {
        return "soft";
    }
    switch (bnc_reason_side(ri->reason)) {
    case BNC_SIDE_DEAD:
        return "hard";
    case BNC_SIDE_ADDRESS:
    case BNC_SIDE_SENDER:
        return "soft";
    default:
        return NULL;
    }
}

static int
api_impact_cb(void *ud, int64_t id, const char *diagnostic, const char *reason, const char *kind)
{
    struct api_impact *x = ud;
    const struct rule_info *m = NULL;
    size_t n = 0;

    if (diagnostic[0] == '\0') {
        return 0;
    }
    x->rc = classify_rules_matching(x->rs, diagnostic, &m, 1, &n);
    if (x->rc != BNC_OK) {
        return 1;
    }
    if (n == 0) {
        return 0;
    }
    x->matched++;
    if ((x->reason != NULL && strcmp(x->reason, reason) != 0) ||
        (x->kind != NULL && strcmp(x->kind, kind) != 0)) {
        x->changed++;
        if (x->nexample < API_IMPACT_EXAMPLES) {
            x->example[x->nexample++] = id;
        }
    }
    return 0;
}

static void
api_impact_err(void *ud, const char *where, const char *msg)
{
    (void)where;
    snprintf(ud, 256, "%s", msg);
}

/* The impact of the one rule in rs over every stored event, as the reply. */
static int
api_impact_run(struct api_req *r, struct store *st, const struct bnc_ruleset *rs)
{
    const struct rule_info *ri = rules_get(rs, 0);
    struct api_impact x;
    size_t scanned = 0, i;
    bnc_status rc;

    memset(&x, 0, sizeof(x));
    x.rs = rs;
    x.reason = ri->reason != BNC_R_UNDEFINED ? bnc_reason_name(ri->reason) : NULL;
    x.kind = api_rule_kind(ri);
    rc = model_event_diagnostics(st, api_impact_cb, &x, &scanned);
    if (rc == BNC_OK) {
        rc = x.rc;
    }
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "rule impact");
    }
    buf_printf(&r->out, "{\"scanned\":%zu,\"matched\":%lld,\"changed\":%lld", scanned,
               (long long)x.matched, (long long)x.changed);
    apij_kv_str(&r->out, "reason", x.reason);
    apij_kv_str(&r->out, "kind", x.kind);
    buf_adds(&r->out, ",\"examples\":[");
    for (i = 0; i < x.nexample; i++) {
        buf_printf(&r->out, "%s%lld", i > 0 ? "," : "", (long long)x.example[i]);
    }
    buf_adds(&r->out, "]}\n");
    return 200;
}

int
h_rules_impact(struct api_req *r)
{
    json_t *body;
    struct store *st;
    struct bnc_ruleset *rs = NULL;
    const char *line;
    char err[256];
    int status;

    if ((body = api_json_body(r)) == NULL) {
        return r->status;
    }
    line = json_string_value(json_object_get(body, "rule"));
    err[0] = '\0';
    if (line == NULL || line[0] == '\0' || strlen(line) > API_IMPACT_RULE_MAX ||
        strpbrk(line, "\r\n") != NULL) {
        status = api_error(r, 400, "bad_rule", "\"rule\" must be one rule line");
    } else if (rules_check_line(line, err, sizeof(err)) != BNC_OK ||
               rules_build_text(line, strlen(line), "impact", api_impact_err, err, &rs) != BNC_OK ||
               rs == NULL || rules_count(rs) != 1) {
        status = api_error(r, 400, "bad_rule", "%s", err[0] != '\0' ? err : "invalid rule");
    } else if ((st = api_need_store(r)) == NULL) {
        status = r->status;
    } else {
        status = api_impact_run(r, st, rs);
    }
    rules_free(rs);
    json_decref(body);
    return status;
}
