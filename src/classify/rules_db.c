/*
 * rules_db.c - the compiled rule database: the rules of a ruleset (rules_syntax.c) compiled
 * into one Vectorscan block-mode database, and a text matched against it in one pass.
 *
 * Every rule (user tier first, then the built-in rules/default.rules) becomes one expression
 * of a single database, compiled caseless and single-match, with the expression id equal to
 * the rule's position. A scan reports every rule that matches; the lowest id wins, so user
 * rules beat built-in ones and, within a tier, the earlier line wins (default.rules lists
 * specific phrases before general ones). A rule whose pattern does not compile is reported
 * and dropped, and the rest compiled again.
 * Doesn't: parse a rule (rules_syntax.c), read a file or touch the cache directory (the
 * compile goes through parse/hsdb.c, whose bytes core/load.c keeps), or decide precedence
 * against status codes (classify.c).
 * STANDARDS: none.
 * LIMITS: matching scans at most the diagnostic limit the caller already applied.
 * Threads: scratch space is per thread (thread-local, regrown for a newer ruleset), so one
 * ruleset serves any number of threads without locks.
 * Ownership: the ruleset owns its database, rule table and strings.
 */
#include "classify/rules_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "parse/hsdb.h"

static atomic_ulong rules_gen_counter = 1;

/* Per-thread scratch; regrown when a thread meets a ruleset it has not scanned with yet. */
static _Thread_local hs_scratch_t *rules_tls_scratch;
static _Thread_local unsigned long rules_tls_gen;
/* Frees a thread's scratch when the thread exits (daemon workers, HTTP pool threads). */
static pthread_key_t rules_tls_key;
static pthread_once_t rules_tls_once = PTHREAD_ONCE_INIT;

static void
rules_tls_free(void *p)
{
    hs_free_scratch(p);
}

static void
rules_tls_init(void)
{
    (void)pthread_key_create(&rules_tls_key, rules_tls_free);
}

static bool
rules_compile_one(const char *expr, char *err, size_t errlen)
{
    hs_database_t *db = NULL;
    hs_compile_error_t *ce = NULL;

    if (hs_compile(expr, HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH, HS_MODE_BLOCK, NULL, &db, &ce) !=
        HS_SUCCESS) {
        snprintf(err, errlen, "pattern does not compile: %s", ce ? ce->message : "?");
        hs_free_compile_error(ce);
        return false;
    }
    hs_free_database(db);
    return true;
}

bnc_status
rules_check_line(const char *line, char *err, size_t errlen)
{
    struct rule_info ri;
    char *expr = NULL;
    int rc;
    bool ok;

    if (line == NULL) {
        snprintf(err, errlen, "no rule");
        return BNC_EINVAL;
    }
    if (strchr(line, '\n') != NULL) {
        snprintf(err, errlen, "one rule a line");
        return BNC_EINVAL;
    }
    memset(&ri, 0, sizeof(ri));
    rc = rules_parse_line(line, strlen(line), &ri, &expr, err, errlen);
    if (rc == 0) {
        snprintf(err, errlen, "empty rule");
        return BNC_EINVAL;
    }
    if (rc < 0) {
        return BNC_EINVAL;
    }
    ok = rules_compile_one(expr, err, errlen);
    free(expr);
    rules_xfree(ri.pattern);
    if (ok && errlen > 0) {
        err[0] = '\0';
    }
    return ok ? BNC_OK : BNC_EINVAL;
}

/* Drop rule i (its compile failed). */
static void
rules_drop(struct bnc_ruleset *rs, size_t i)
{
    /* The origin string is owned by the first rule of its origin: keep it alive by moving
     * ownership to a later rule with the same pointer, else free it. */
    size_t j;
    bool shared = false;
    for (j = 0; j < rs->n; j++) {
        if (j != i && rs->rules[j].origin == rs->rules[i].origin) {
            shared = true;
            break;
        }
    }
    if (!shared) {
        rules_xfree(rs->rules[i].origin);
    }
    rules_xfree(rs->rules[i].pattern);
    free(rs->exprs[i]);
    memmove(&rs->rules[i], &rs->rules[i + 1], (rs->n - i - 1) * sizeof(*rs->rules));
    memmove(&rs->exprs[i], &rs->exprs[i + 1], (rs->n - i - 1) * sizeof(*rs->exprs));
    rs->n--;
}

struct bnc_ruleset *
rules_new(void)
{
    struct bnc_ruleset *rs = xcalloc(1, sizeof(*rs));

    rs->gen = atomic_fetch_add(&rules_gen_counter, 1);
    return rs;
}

/* Report the rule a compile error names. */
static void
rules_report_compile(const struct bnc_ruleset *rs, const hs_compile_error_t *ce, rules_err_cb cb,
                     void *ud)
{
    char msg[512];
    const struct rule_info *bad = &rs->rules[ce->expression];

    snprintf(msg, sizeof(msg), "pattern does not compile: %s", ce->message);
    rules_report(cb, ud, bad->origin, bad->line, msg);
}

bnc_status
rules_compile(struct bnc_ruleset *rs, const char *cache_dir, rules_err_cb cb, void *ud)
{
    const char *dir = cache_dir;
    unsigned *flags, *ids;
    size_t i;

    while (rs->n > 0) {
        hs_compile_error_t *ce = NULL;
        hs_error_t he;

        flags = xmalloc(rs->n * sizeof(*flags));
        ids = xmalloc(rs->n * sizeof(*ids));
        for (i = 0; i < rs->n; i++) {
            flags[i] = HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH;
            ids[i] = (unsigned)i;
        }
        he = hsdb_compile_multi(dir, (const char *const *)rs->exprs, flags, ids, (unsigned)rs->n,
                                &rs->db, &ce);
        free(flags);
        free(ids);
        if (he == HS_SUCCESS) {
            hs_free_compile_error(ce);
            return BNC_OK;
        }
        if (ce == NULL || ce->expression < 0 || (size_t)ce->expression >= rs->n) {
            rules_report(cb, ud, "rules", 0, ce ? ce->message : "pattern database failed");
            hs_free_compile_error(ce);
            return BNC_EINTERNAL;
        }
        rules_report_compile(rs, ce, cb, ud);
        rules_drop(rs, (size_t)ce->expression);
        hs_free_compile_error(ce);
        rs->db = NULL;
        /* a ruleset that lost a rule is not kept: its next start must report the error
         * again */
        dir = NULL;
    }
    return BNC_OK;
}

bnc_status
rules_build_text(const char *text, size_t len, const char *origin, rules_err_cb cb, void *ud,
                 struct bnc_ruleset **out)
{
    struct bnc_ruleset *rs = rules_new();
    bnc_status st;

    if (text != NULL && len > 0) {
        rules_add_text(rs, text, len, origin ? origin : "text", RULES_TIER_USER, cb, ud);
    }
    st = rules_compile(rs, NULL, cb, ud);
    *out = rs;
    return st;
}

bnc_status
rules_build_only(const struct rule_src *src, size_t n, rules_err_cb cb, void *ud,
                 struct bnc_ruleset **out)
{
    struct bnc_ruleset *rs = rules_new();
    bnc_status st;

    rules_add_srcs(rs, src, n, "text", cb, ud);
    st = rules_compile(rs, NULL, cb, ud);
    *out = rs;
    return st;
}

void
rules_free(struct bnc_ruleset *rs)
{
    size_t i, j;
    if (rs == NULL) {
        return;
    }
    for (i = 0; i < rs->n; i++) {
        bool first = true;
        for (j = 0; j < i; j++) {
            if (rs->rules[j].origin == rs->rules[i].origin) {
                first = false;
                break;
            }
        }
        if (first) {
            rules_xfree(rs->rules[i].origin);
        }
        rules_xfree(rs->rules[i].pattern);
        free(rs->exprs[i]);
    }
    free(rs->rules);
    free(rs->exprs);
    hs_free_database(rs->db);
    free(rs);
}

size_t
rules_count(const struct bnc_ruleset *rs)
{
    return rs ? rs->n : 0;
}

const struct rule_info *
rules_get(const struct bnc_ruleset *rs, size_t i)
{
    return (rs != NULL && i < rs->n) ? &rs->rules[i] : NULL;
}

const char *
rules_expr(const struct bnc_ruleset *rs, size_t i)
{
    return (rs != NULL && i < rs->n) ? rs->exprs[i] : NULL;
}

struct bnc_ruleset **
rules_retired_link(struct bnc_ruleset *rs)
{
    return &rs->retired_next;
}

/* A reason that says why a delivery failed: not the queue's expiry (an outcome), not
 * "undecided" (onhold) and not a bare hard|soft rule. */
static bool
rules_names_cause(bnc_reason why)
{
    return why != BNC_R_EXPIRED && why != BNC_R_ONHOLD && why != BNC_R_UNDEFINED;
}

struct rules_best {
    const struct bnc_ruleset *rs;
    unsigned best;  /* lowest id that matched */
    unsigned cause; /* lowest id that matched whose reason is not expired */
};

static int
rules_on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
               void *ctx)
{
    struct rules_best *b = ctx;
    (void)from;
    (void)to;
    (void)flags;
    if (id >= b->rs->n) {
        return 0;
    }
    if (id < b->best) {
        b->best = id;
    }
    if (id < b->cause && rules_names_cause(b->rs->rules[id].reason)) {
        b->cause = id;
    }
    return b->best == 0 && b->cause == 0 ? 1 : 0; /* nothing beats rule 0 */
}

/* This thread's scratch, (re)grown for rs; false when Vectorscan cannot allocate it. */
static bool
rules_scratch_for(const struct bnc_ruleset *rs)
{
    if (rules_tls_scratch == NULL || rules_tls_gen != rs->gen) {
        if (hs_alloc_scratch(rs->db, &rules_tls_scratch) != HS_SUCCESS) {
            return false;
        }
        rules_tls_gen = rs->gen;
        (void)pthread_once(&rules_tls_once, rules_tls_init);
        (void)pthread_setspecific(rules_tls_key, rules_tls_scratch);
    }
    return true;
}

/* One scan of text[0..len) with this thread's scratch, fn called per matching rule (a
 * callback that stops the scan is fine). BNC_OK, or BNC_EINTERNAL when Vectorscan fails. */
static bnc_status
rules_scan(const struct bnc_ruleset *rs, const char *text, size_t len, match_event_handler fn,
           void *ctx)
{
    hs_error_t he;

    if (!rules_scratch_for(rs)) {
        return BNC_EINTERNAL;
    }
    if (len > UINT32_MAX) {
        len = UINT32_MAX;
    }
    he = hs_scan(rs->db, text, (unsigned)len, 0, rules_tls_scratch, fn, ctx);
    return he == HS_SUCCESS || he == HS_SCAN_TERMINATED ? BNC_OK : BNC_EINTERNAL;
}

bnc_status
rules_match(const struct bnc_ruleset *rs, const char *text, size_t len, struct rule_match *m)
{
    struct rules_best b = {rs, UINT32_MAX, UINT32_MAX};

    m->rule = NULL;
    m->cause = NULL;
    if (rs == NULL || rs->db == NULL || text == NULL || len == 0) {
        return BNC_OK;
    }
    if (rules_scan(rs, text, len, rules_on_match, &b) != BNC_OK) {
        return BNC_EINTERNAL;
    }
    if (b.best < rs->n) {
        m->rule = &rs->rules[b.best];
    }
    if (b.cause < rs->n) {
        m->cause = &rs->rules[b.cause];
    }
    return BNC_OK;
}

struct rules_all {
    const struct bnc_ruleset *rs;
    const struct rule_info **out;
    size_t cap, n;
};

static int
rules_on_any(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
             void *ctx)
{
    struct rules_all *a = ctx;
    size_t i;
    (void)from;
    (void)to;
    (void)flags;
    if (id >= a->rs->n) {
        return 0;
    }
    /* keep the cap lowest ids, in order (single-match: each id comes once) */
    for (i = a->n; i > 0 && a->out[i - 1] > &a->rs->rules[id]; i--) {
        if (i < a->cap) {
            a->out[i] = a->out[i - 1];
        }
    }
    if (i < a->cap) {
        a->out[i] = &a->rs->rules[id];
        if (a->n < a->cap) {
            a->n++;
        }
    }
    return 0;
}

bnc_status
rules_match_all(const struct bnc_ruleset *rs, const char *text, size_t len,
                const struct rule_info **out, size_t cap, size_t *n_out)
{
    struct rules_all a = {rs, out, cap, 0};

    *n_out = 0;
    if (rs == NULL || rs->db == NULL || text == NULL || len == 0 || cap == 0) {
        return BNC_OK;
    }
    if (rules_scan(rs, text, len, rules_on_any, &a) != BNC_OK) {
        return BNC_EINTERNAL;
    }
    *n_out = a.n;
    return BNC_OK;
}
