/*
 * rules.c - load, validate and compile classification rules; match a text in one pass.
 *
 * Every rule (user tier first, then the built-in rules/default.rules) becomes one expression
 * of a single Vectorscan block-mode database, compiled caseless and single-match, with the
 * expression id equal to the rule's position. A scan reports every rule that matches; the
 * lowest id wins, so user rules beat built-in ones and, within a tier, the earlier line wins
 * (default.rules lists specific phrases before general ones).
 * Doesn't: decide precedence against status codes (classify.c) or read the database.
 * STANDARDS: none (the rule syntax is ours; documented in rules.h and rules/default.rules).
 * LIMITS: a rule line is at most RULES_LINE_MAX bytes, a ruleset at most RULES_MAX rules; a
 * longer line or a rule past the cap is reported and skipped. Matching scans at most the
 * diagnostic limit the caller already applied.
 * Threads: scratch space is per thread (thread-local, regrown for a newer ruleset), so one
 * ruleset serves any number of threads without locks.
 * Ownership: the ruleset owns its database, rule table and strings.
 */
#include "classify/rules.h"

#include <errno.h>
#include <hs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "classify/classify.h"
#include "core/buf.h"
#include "core/cfg.h"
#include "core/dirlist.h"
#include "core/embedded.h"
#include "core/xmalloc.h"
#include "parse/hsdb.h"

#define RULES_LINE_MAX 4096
#define RULES_MAX      20000
#define RULES_FILE_MAX (4u << 20)

struct bnc_ruleset {
    hs_database_t *db; /* NULL when there are no rules */
    struct rule_info *rules;
    char **exprs; /* Vectorscan expression per rule */
    size_t n, cap;
    unsigned long gen;                /* unique per built ruleset, keys the thread scratch */
    struct bnc_ruleset *retired_next; /* ctx.c: chain of replaced rulesets */
};

static atomic_ulong rules_gen_counter = 1;

/* Free a string the ruleset owns but exposes as const (rule_info). */
static void
rules_xfree(const void *p)
{
    free((void *)(uintptr_t)p);
}

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

static void
rules_report(rules_err_cb cb, void *ud, const char *origin, unsigned line, const char *msg)
{
    char where[512];
    if (cb == NULL) {
        return;
    }
    if (line > 0) {
        snprintf(where, sizeof(where), "%s:%u", origin, line);
    } else {
        snprintf(where, sizeof(where), "%s", origin);
    }
    cb(ud, where, msg);
}

bool
rules_parse_verdict(const char *s, size_t n, bnc_reason *reason_out, int *hard_out)
{
    char name[64];
    size_t i = 0;

    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
        n--;
    }
    if (n == 0 || n >= sizeof(name)) {
        return false;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];
        name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    name[n] = '\0';
    *reason_out = BNC_R_UNDEFINED;
    *hard_out = -1;
    if (strncmp(name, "hard", 4) == 0 && (name[4] == '\0' || name[4] == ':')) {
        *hard_out = 1;
    } else if (strncmp(name, "soft", 4) == 0 && (name[4] == '\0' || name[4] == ':')) {
        *hard_out = 0;
    }
    if (*hard_out >= 0) {
        if (name[4] == '\0') {
            return true;
        }
        return bnc_reason_from_name(name + 5, reason_out) && *reason_out != BNC_R_UNDEFINED;
    }
    return bnc_reason_from_name(name, reason_out) && *reason_out != BNC_R_UNDEFINED;
}

/* Turn a phrase into a Vectorscan expression: a plain literal (punctuation escaped; each
 * white-space run as one space, each apostrophe as the ASCII one). The text a ruleset is
 * matched against has the same normal form (classify.c: white-space runs are one space,
 * U+2019 is an apostrophe), so the phrases stay literals, which Vectorscan matches fastest. */
static char *
rules_phrase_expr(const char *p, size_t n)
{
    struct buf b;
    size_t i;
    bool ws = false;

    buf_init(&b, 0);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == ' ' || c == '\t') {
            if (!ws) {
                buf_adds(&b, "\\x20");
            }
            ws = true;
            continue;
        }
        ws = false;
        if (c == 0xe2 && i + 2 < n && (unsigned char)p[i + 1] == 0x80 &&
            (unsigned char)p[i + 2] == 0x99) {
            buf_adds(&b, "\\x27"); /* U+2019, as the text has it: an apostrophe */
            i += 2;
            continue;
        }
        if (c < 0x80 &&
            !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
            buf_printf(&b, "\\x%02x", c);
        } else {
            buf_addc(&b, (char)c);
        }
    }
    return buf_take(&b);
}

/* A regex rule as matched: the text has one space for each white-space run (the same
 * normal form as for phrases), so outside a bracket class `\s+` and `\s` are one space and
 * `\s*` an optional one; the patterns keep their meaning and lose most of their automata,
 * which Vectorscan then matches from literals. Everything else is copied as written. */
static char *
rules_regex_expr(const char *p, size_t n)
{
    struct buf b;
    size_t i;
    bool cls = false;

    buf_init(&b, 0);
    for (i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            if (!cls && p[i + 1] == 's') {
                i++;
                if (i + 1 < n && p[i + 1] == '+') {
                    buf_adds(&b, "\\x20");
                    i++;
                } else if (i + 1 < n && p[i + 1] == '*') {
                    buf_adds(&b, "\\x20?");
                    i++;
                } else {
                    buf_adds(&b, "\\x20");
                    continue;
                }
                if (i + 1 < n && p[i + 1] == '?') {
                    i++; /* a lazy quantifier finds the same matches */
                }
                continue;
            }
            buf_addc(&b, c);
            buf_addc(&b, p[++i]);
            continue;
        }
        if (c == '[' && !cls) {
            cls = true;
            buf_addc(&b, c);
            if (i + 1 < n && p[i + 1] == '^') {
                buf_addc(&b, p[++i]);
            }
            if (i + 1 < n && p[i + 1] == ']') {
                buf_addc(&b, p[++i]); /* "[]...]": a leading ] is a member */
            }
            continue;
        }
        if (c == ']' && cls) {
            cls = false;
        }
        buf_addc(&b, c);
    }
    return buf_take(&b);
}

/* Parse one rule line. Returns 1 for a rule (*expr_out, fields set), 0 for a blank or comment
 * line, -1 for an error (err filled). */
static int
rules_parse_line(const char *line, size_t len, struct rule_info *ri, char **expr_out, char *err,
                 size_t errlen)
{
    const char *arrow = NULL, *p;
    const char *pat;
    size_t patlen;

    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t')) {
        len--;
    }
    while (len > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        len--;
    }
    if (len == 0 || line[0] == '#') {
        return 0;
    }
    if (len > RULES_LINE_MAX) {
        snprintf(err, errlen, "rule longer than %d bytes", RULES_LINE_MAX);
        return -1;
    }
    if (memchr(line, '\0', len) != NULL) {
        snprintf(err, errlen, "NUL byte in rule");
        return -1;
    }
    for (p = line; p + 3 <= line + len; p++) {
        if (p[0] == '=' && p[1] == '=' && p[2] == '>') {
            arrow = p; /* the last arrow: a pattern may contain "==>" */
        }
    }
    if (arrow == NULL) {
        snprintf(err, errlen, "missing '==>' (expected: PATTERN ==> hard|soft[:reason])");
        return -1;
    }
    if (!rules_parse_verdict(arrow + 3, (size_t)(line + len - (arrow + 3)), &ri->reason,
                             &ri->hard)) {
        snprintf(err, errlen,
                 "bad verdict '%.*s' (expected hard, soft, hard:REASON, "
                 "soft:REASON or a reason name)",
                 (int)(line + len - (arrow + 3) > 64 ? 64 : line + len - (arrow + 3)), arrow + 3);
        return -1;
    }
    pat = line;
    patlen = (size_t)(arrow - line);
    while (patlen > 0 && (pat[patlen - 1] == ' ' || pat[patlen - 1] == '\t')) {
        patlen--;
    }
    if (patlen == 0) {
        snprintf(err, errlen, "empty pattern");
        return -1;
    }
    ri->pattern = xstrndup(pat, patlen);
    ri->regex = false;
    if (pat[0] == '/' && patlen >= 2) {
        size_t end = patlen;
        if (pat[end - 1] == 'i' && end >= 3 && pat[end - 2] == '/') {
            end--;
        }
        if (pat[end - 1] != '/' || end < 3) {
            snprintf(err, errlen, "regex must be written /REGEX/ or /REGEX/i");
            rules_xfree(ri->pattern);
            ri->pattern = NULL;
            return -1;
        }
        ri->regex = true;
        *expr_out = rules_regex_expr(pat + 1, end - 2);
    } else {
        *expr_out = rules_phrase_expr(pat, patlen);
    }
    return 1;
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

static void
rules_push(struct bnc_ruleset *rs, const struct rule_info *ri, char *expr)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 256;
        rs->rules = xrealloc(rs->rules, rs->cap * sizeof(*rs->rules));
        rs->exprs = xrealloc(rs->exprs, rs->cap * sizeof(*rs->exprs));
    }
    rs->rules[rs->n] = *ri;
    rs->exprs[rs->n] = expr;
    rs->n++;
}

/* Add every rule of one text. origin is copied. */
static void
rules_add_text(struct bnc_ruleset *rs, const char *text, size_t len, const char *origin,
               enum rules_tier tier, rules_err_cb cb, void *ud)
{
    const char *p = text, *end = text + len;
    unsigned lineno = 0;
    char *orig = NULL;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        struct rule_info ri;
        char *expr = NULL;
        char err[256];
        int rc;

        lineno++;
        memset(&ri, 0, sizeof(ri));
        rc = rules_parse_line(p, (size_t)(le - p), &ri, &expr, err, sizeof(err));
        if (rc < 0) {
            rules_report(cb, ud, origin, lineno, err);
        } else if (rc > 0 && rs->n >= RULES_MAX) {
            rules_report(cb, ud, origin, lineno, "too many rules; the rest are ignored");
            free(expr);
            rules_xfree(ri.pattern);
            return;
        } else if (rc > 0) {
            if (orig == NULL) {
                orig = xstrdup(origin); /* owned by the first rule of this origin */
                ri.origin = orig;
            } else {
                ri.origin = orig;
            }
            ri.line = lineno;
            ri.tier = tier;
            rules_push(rs, &ri, expr);
        }
        p = nl ? nl + 1 : end;
    }
}

static char *
rules_read_file(const char *path, size_t max, size_t *len_out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct buf b;
    char tmp[8192];
    size_t n;

    if (f == NULL) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return NULL;
    }
    buf_init(&b, max);
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
        if (buf_add(&b, tmp, n) != BNC_OK) {
            snprintf(err, errlen, "file larger than %zu bytes", max);
            fclose(f);
            buf_free(&b);
            return NULL;
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "read error");
        fclose(f);
        buf_free(&b);
        return NULL;
    }
    fclose(f);
    *len_out = b.len;
    if (b.p == NULL) {
        buf_addc(&b, '\0');
        b.len = 0;
    }
    return buf_take(&b);
}

static void
rules_add_file(struct bnc_ruleset *rs, const char *path, rules_err_cb cb, void *ud)
{
    char err[256];
    size_t len = 0;
    char *text = rules_read_file(path, RULES_FILE_MAX, &len, err, sizeof(err));
    if (text == NULL) {
        rules_report(cb, ud, path, 0, err);
        return;
    }
    rules_add_text(rs, text, len, path, RULES_TIER_USER, cb, ud);
    free(text);
}

/* rules.d entries: NAME.rules, not hidden */
static bool
rules_keep_file(const char *name, void *ud)
{
    size_t l = strlen(name);
    (void)ud;
    return name[0] != '.' && l >= 7 && strcmp(name + l - 6, ".rules") == 0;
}

static void
rules_add_dir(struct bnc_ruleset *rs, const char *dir, rules_err_cb cb, void *ud)
{
    char **names;
    size_t n, i;

    if (dir_names(dir, rules_keep_file, NULL, &names, &n) != BNC_OK) {
        if (errno != ENOENT) {
            rules_report(cb, ud, dir, 0, strerror(errno));
        }
        return; /* no rules directory is the normal case */
    }
    for (i = 0; i < n; i++) {
        struct buf path;
        buf_init(&path, 0);
        buf_printf(&path, "%s/%s", dir, names[i]);
        rules_add_file(rs, path.p, cb, ud);
        buf_free(&path);
    }
    dir_names_free(names, n);
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

/* ---- the compiled-database cache (rules.cache_dir; parse/hsdb.c) ---- */

/* What the compile reads, as bytes: the key of a cached database. */
static char *
rules_cache_input(const struct bnc_ruleset *rs, unsigned flags, size_t *len_out)
{
    struct buf b;
    size_t i;

    buf_init(&b, 0);
    buf_printf(&b, "%s\n%u\n%zu\n", hs_version(), flags, rs->n);
    for (i = 0; i < rs->n; i++) {
        buf_adds(&b, rs->exprs[i]);
        buf_addc(&b, '\0');
    }
    *len_out = b.len;
    return buf_take(&b);
}

static bnc_status
rules_compile(struct bnc_ruleset *rs, const struct bnc_config *cfg, rules_err_cb cb, void *ud)
{
    unsigned *flags, *ids;
    size_t i, inlen = 0;
    bnc_status st = BNC_OK;
    char dir[4096], path[4200], name[64], *in = NULL;
    bool cache = rs->n > 0 && hsdb_cache_dir(cfg, dir, sizeof(dir));

    if (cache) {
        in = rules_cache_input(rs, HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH, &inlen);
        snprintf(name, sizeof(name), "rules-%016llx.hsdb",
                 (unsigned long long)hsdb_hash(in, inlen));
        cache = (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path);
        if (cache && (rs->db = hsdb_cache_load(path, in, inlen)) != NULL) {
            free(in);
            return BNC_OK;
        }
    }
    for (;;) {
        hs_compile_error_t *ce = NULL;
        hs_error_t he;

        if (rs->n == 0) {
            return BNC_OK;
        }
        flags = xmalloc(rs->n * sizeof(*flags));
        ids = xmalloc(rs->n * sizeof(*ids));
        for (i = 0; i < rs->n; i++) {
            flags[i] = HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH;
            ids[i] = (unsigned)i;
        }
        he = hs_compile_multi((const char *const *)rs->exprs, flags, ids, (unsigned)rs->n,
                              HS_MODE_BLOCK, NULL, &rs->db, &ce);
        free(flags);
        free(ids);
        if (he == HS_SUCCESS) {
            hs_free_compile_error(ce);
            if (cache && st == BNC_OK && in != NULL) {
                /* (a ruleset that lost a rule to a compile error is not kept: its next
                 * start must report the error again) */
                hsdb_cache_store(dir, path, name, in, inlen, rs->db);
            }
            free(in);
            return st;
        }
        if (ce == NULL || ce->expression < 0 || (size_t)ce->expression >= rs->n) {
            rules_report(cb, ud, "rules", 0, ce ? ce->message : "pattern database failed");
            hs_free_compile_error(ce);
            free(in);
            return BNC_EINTERNAL;
        }
        {
            char msg[512];
            const struct rule_info *bad = &rs->rules[ce->expression];
            snprintf(msg, sizeof(msg), "pattern does not compile: %s", ce->message);
            rules_report(cb, ud, bad->origin, bad->line, msg);
        }
        rules_drop(rs, (size_t)ce->expression);
        hs_free_compile_error(ce);
        rs->db = NULL;
        free(in);
        in = NULL;
    }
}

bnc_status
rules_build(const struct bnc_config *cfg, const struct rule_src *extra, size_t nextra,
            rules_err_cb cb, void *ud, struct bnc_ruleset **out)
{
    struct bnc_ruleset *rs = xcalloc(1, sizeof(*rs));
    size_t i;
    bnc_status st;

    rs->gen = atomic_fetch_add(&rules_gen_counter, 1);
    if (cfg != NULL && cfg->rules_dir != NULL && cfg->rules_dir[0] != '\0') {
        rules_add_dir(rs, cfg->rules_dir, cb, ud);
    }
    if (cfg != NULL && cfg->rules_file != NULL && cfg->rules_file[0] != '\0') {
        rules_add_file(rs, cfg->rules_file, cb, ud);
    }
    for (i = 0; i < nextra; i++) {
        if (extra[i].text != NULL) {
            rules_add_text(rs, extra[i].text, strlen(extra[i].text),
                           extra[i].origin ? extra[i].origin : "extra", RULES_TIER_USER, cb, ud);
        }
    }
    rules_add_text(rs, (const char *)bnc_default_rules, bnc_default_rules_len, "default.rules",
                   RULES_TIER_BUILTIN, cb, ud);
    st = rules_compile(rs, cfg, cb, ud);
    *out = rs;
    return st;
}

bnc_status
rules_build_text(const char *text, size_t len, const char *origin, rules_err_cb cb, void *ud,
                 struct bnc_ruleset **out)
{
    struct bnc_ruleset *rs = xcalloc(1, sizeof(*rs));
    bnc_status st;

    rs->gen = atomic_fetch_add(&rules_gen_counter, 1);
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
    struct bnc_ruleset *rs = xcalloc(1, sizeof(*rs));
    size_t i;
    bnc_status st;

    rs->gen = atomic_fetch_add(&rules_gen_counter, 1);
    for (i = 0; i < n; i++) {
        if (src[i].text != NULL) {
            rules_add_text(rs, src[i].text, strlen(src[i].text),
                           src[i].origin ? src[i].origin : "text", RULES_TIER_USER, cb, ud);
        }
    }
    st = rules_compile(rs, NULL, cb, ud);
    *out = rs;
    return st;
}

bnc_status
rules_src_file(const char *path, struct rule_src *out, char *err, size_t errlen)
{
    size_t len = 0;
    char *text = rules_read_file(path, RULES_FILE_MAX, &len, err, errlen);
    if (text == NULL) {
        return BNC_EIO;
    }
    if (strlen(text) != len) {
        free(text);
        snprintf(err, errlen, "NUL byte in rules file");
        return BNC_EINVAL;
    }
    out->text = text;
    out->origin = xstrdup(path);
    return BNC_OK;
}

void
rules_src_free(struct rule_src *src)
{
    rules_xfree(src->text);
    rules_xfree(src->origin);
    src->text = NULL;
    src->origin = NULL;
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

void
rules_verdict_text(const struct rule_info *ri, char *out, size_t n)
{
    if (ri->hard >= 0 && ri->reason != BNC_R_UNDEFINED) {
        snprintf(out, n, "%s:%s", ri->hard ? "hard" : "soft", bnc_reason_name(ri->reason));
    } else if (ri->hard >= 0) {
        snprintf(out, n, "%s", ri->hard ? "hard" : "soft");
    } else {
        snprintf(out, n, "%s", bnc_reason_name(ri->reason));
    }
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

/* rules_normalize's byte classes: 1 white space (and NUL), 2 the first byte of U+2019. */
static const unsigned char rules_norm_class[256] = {
    [' '] = 1, ['\t'] = 1, ['\r'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, [0] = 1, [0xe2] = 2,
};

size_t
rules_normalize(const char *in, size_t len, char *out, size_t cap)
{
    size_t n = 0, i = 0;
    bool ws = false;

    while (i < len && n + 1 < cap) {
        unsigned char c = (unsigned char)in[i];
        unsigned char k = rules_norm_class[c];
        if (k == 0) {
            /* a run of other bytes, copied whole (as far as cap allows) */
            size_t j = i + 1, stop = len - i < cap - 1 - n ? len : i + (cap - 1 - n);
            while (j < stop && rules_norm_class[(unsigned char)in[j]] == 0) {
                j++;
            }
            memcpy(out + n, in + i, j - i);
            n += j - i;
            i = j;
            ws = false;
            continue;
        }
        if (k == 1) {
            if (!ws) {
                out[n++] = ' ';
            }
            ws = true;
            i++;
            continue;
        }
        ws = false;
        if (i + 2 < len && (unsigned char)in[i + 1] == 0x80 && (unsigned char)in[i + 2] == 0x99) {
            out[n++] = '\'';
            i += 3;
            continue;
        }
        out[n++] = (char)c;
        i++;
    }
    out[n] = '\0';
    return n;
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

bnc_status
rules_match(const struct bnc_ruleset *rs, const char *text, size_t len, struct rule_match *m)
{
    struct rules_best b = {rs, UINT32_MAX, UINT32_MAX};
    hs_error_t he;

    m->rule = NULL;
    m->cause = NULL;
    if (rs == NULL || rs->db == NULL || text == NULL || len == 0) {
        return BNC_OK;
    }
    if (!rules_scratch_for(rs)) {
        return BNC_EINTERNAL;
    }
    if (len > UINT32_MAX) {
        len = UINT32_MAX;
    }
    he = hs_scan(rs->db, text, (unsigned)len, 0, rules_tls_scratch, rules_on_match, &b);
    if (he != HS_SUCCESS && he != HS_SCAN_TERMINATED) {
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
    hs_error_t he;

    *n_out = 0;
    if (rs == NULL || rs->db == NULL || text == NULL || len == 0 || cap == 0) {
        return BNC_OK;
    }
    if (!rules_scratch_for(rs)) {
        return BNC_EINTERNAL;
    }
    if (len > UINT32_MAX) {
        len = UINT32_MAX;
    }
    he = hs_scan(rs->db, text, (unsigned)len, 0, rules_tls_scratch, rules_on_any, &a);
    if (he != HS_SUCCESS) {
        return BNC_EINTERNAL;
    }
    *n_out = a.n;
    return BNC_OK;
}
