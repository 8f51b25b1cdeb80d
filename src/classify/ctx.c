/*
 * ctx.c - the bnc_ctx (configuration + compiled rule set) and the library facade
 * bnc_parse(): parse_message() then classify_report().
 *
 * Also where a configuration becomes a ruleset (rules_build()): core/load.c reads the rule
 * files and keeps the compiled-database cache, rules_syntax.c parses the texts and rules_db.c
 * compiles them; the rest of classify/ never sees a file.
 *
 * A ctx is built once and read-only afterwards; bnc_parse() may run on many threads with
 * one ctx. bnc_ctx_reload_rules() builds a new rule set and publishes it with an atomic
 * pointer store; parses that already loaded the old pointer finish with it, because replaced
 * sets are kept on a retired list until bnc_ctx_free() (reloads are rare and small).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify/classify.h"
#include "classify/rules_int.h"
#include "core/embedded.h"
#include "core/load.h"
#include "core/xmalloc.h"
#include "parse/parse.h"

struct ctx_err {
    bnc_ctx *ctx;
};

static _Atomic(bnc_message_fn) ctx_message_fn;

void
bnc_set_message_handler(bnc_message_fn fn)
{
    ctx_message_fn = fn;
}

static void
ctx_rules_err(void *ud, const char *where, const char *msg)
{
    struct ctx_err *ce = ud;
    bnc_message_fn fn = ctx_message_fn;

    if (!ce->ctx->quiet && fn != NULL) {
        fn(where, msg);
    }
    if (ce->ctx->errmsg[0] == '\0') {
        snprintf(ce->ctx->errmsg, sizeof(ce->ctx->errmsg), "%s: %s", where, msg);
    }
}

/* A ruleset being built from the rule files of a config. */
struct ctx_build {
    struct bnc_ruleset *rs;
    rules_err_cb cb;
    void *ud;
};

static void
ctx_add_file(void *ud, const char *origin, const char *text, size_t len)
{
    struct ctx_build *b = ud;

    rules_add_text(b->rs, text, len, origin, RULES_TIER_USER, b->cb, b->ud);
}

static void
ctx_file_err(void *ud, const char *where, const char *msg)
{
    struct ctx_build *b = ud;

    rules_report(b->cb, b->ud, where, 0, msg);
}

bnc_status
rules_build(const struct bnc_config *cfg, const struct rule_src *extra, size_t nextra,
            rules_err_cb cb, void *ud, struct bnc_ruleset **out)
{
    struct ctx_build b = {rules_new(), cb, ud};
    char dir[4096];
    bnc_status st;

    load_rule_files(cfg, ctx_add_file, ctx_file_err, &b);
    rules_add_srcs(b.rs, extra, nextra, "extra", cb, ud);
    rules_add_text(b.rs, (const char *)bnc_default_rules, bnc_default_rules_len, "default.rules",
                   RULES_TIER_BUILTIN, cb, ud);
    st = rules_compile(b.rs, load_cache_dir(cfg, dir, sizeof(dir)) ? dir : NULL, cb, ud);
    *out = b.rs;
    return st;
}

bnc_status
bnc_ctx_new_config(const struct bnc_config *cfg, bnc_ctx **out)
{
    bnc_ctx *ctx = xcalloc(1, sizeof(*ctx));
    struct ctx_err ce = {ctx};
    const char *problem;
    bnc_status rc;

    cfg_copy(&ctx->cfg, cfg);
    rc = rules_build(&ctx->cfg, NULL, 0, ctx_rules_err, &ce, &ctx->rules);
    parse_prepare(&ctx->cfg); /* the phrase tables, loaded from the same cache */
    /* a problem there is the ctx's message, not a failure (parsing falls back to searching
     * each phrase) */
    if ((problem = parse_tables_problem()) != NULL) {
        ctx_rules_err(&ce, "formats", problem);
    }
    *out = ctx;
    return rc;
}

bnc_status
bnc_ctx_reload_rules(bnc_ctx *ctx, const struct rule_src *extra, size_t nextra)
{
    struct ctx_err ce = {ctx};
    struct bnc_ruleset *rs = NULL, *old;
    bnc_status rc;

    if (ctx == NULL) {
        return BNC_EINVAL;
    }
    ctx->errmsg[0] = '\0';
    rc = rules_build(&ctx->cfg, extra, nextra, ctx_rules_err, &ce, &rs);
    if (rc != BNC_OK) {
        rules_free(rs);
        return rc;
    }
    old = __atomic_exchange_n(&ctx->rules, rs, __ATOMIC_ACQ_REL);
    if (old != NULL) {
        *rules_retired_link(old) = ctx->retired;
        ctx->retired = old;
    }
    return BNC_OK;
}

const struct bnc_ruleset *
bnc_ctx_rules(const bnc_ctx *ctx)
{
    return __atomic_load_n(&ctx->rules, __ATOMIC_ACQUIRE);
}

bnc_status
bnc_ctx_new(const char *conf_path, bnc_ctx **out)
{
    struct bnc_config cfg;
    char err[512];
    bnc_status rc;

    *out = NULL;
    cfg_init(&cfg);
    if ((conf_path != NULL && (rc = cfg_load_file(&cfg, conf_path, err, sizeof(err))) != BNC_OK) ||
        (rc = cfg_load_env(&cfg, err, sizeof(err))) != BNC_OK) {
        bnc_ctx *ctx = xcalloc(1, sizeof(*ctx));
        cfg_copy(&ctx->cfg, &cfg);
        snprintf(ctx->errmsg, sizeof(ctx->errmsg), "%s", err);
        cfg_free(&cfg);
        *out = ctx;
        return rc;
    }
    rc = bnc_ctx_new_config(&cfg, out);
    cfg_free(&cfg);
    return rc;
}

void
bnc_ctx_free(bnc_ctx *ctx)
{
    if (ctx == NULL) {
        return;
    }
    rules_free(ctx->rules);
    while (ctx->retired != NULL) {
        struct bnc_ruleset *next = *rules_retired_link(ctx->retired);
        rules_free(ctx->retired);
        ctx->retired = next;
    }
    cfg_free(&ctx->cfg);
    free(ctx);
}

const char *
bnc_ctx_errmsg(const bnc_ctx *ctx)
{
    return ctx ? ctx->errmsg : "no context";
}

const struct bnc_config *
bnc_ctx_config(const bnc_ctx *ctx)
{
    return &ctx->cfg;
}

bnc_status
bnc_parse_only(bnc_ctx *ctx, const void *msg, size_t len, bnc_report **out)
{
    struct parse_limits lim;

    if (ctx == NULL || (msg == NULL && len != 0) || out == NULL) {
        return BNC_EINVAL;
    }
    parse_limits_from_config(&lim, &ctx->cfg);
    return parse_message(&lim, msg, len, out);
}

bnc_status
bnc_parse(bnc_ctx *ctx, const void *msg, size_t len, bnc_report **out)
{
    bnc_status rc = bnc_parse_only(ctx, msg, len, out);
    if (rc == BNC_OK) {
        classify_report(bnc_ctx_rules(ctx), *out);
    }
    return rc;
}
