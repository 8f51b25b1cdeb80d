/*
 * rules_int.h - shared by the rule files of classify/: the layout of a ruleset, the rule
 * syntax as the database and the builder use it (rules_syntax.c), and the compile
 * (rules_db.c). A ruleset is built by rules_new(), rules_add_text() / rules_add_srcs() for
 * each source in precedence order, then rules_compile() once.
 * Ownership: the ruleset owns its rule table, strings, expressions and database.
 */
#ifndef BNC_CLASSIFY_RULES_INT_H
#define BNC_CLASSIFY_RULES_INT_H

#include <stddef.h>

#include <hs/hs.h>

#include "classify/rules.h"

#define RULES_LINE_MAX 4096
#define RULES_MAX      20000

struct bnc_ruleset {
    hs_database_t *db; /* NULL when there are no rules */
    struct rule_info *rules;
    char **exprs; /* Vectorscan expression per rule */
    size_t n, cap;
    unsigned long gen;                /* unique per built ruleset, keys the thread scratch */
    struct bnc_ruleset *retired_next; /* ctx.c: chain of replaced rulesets */
};

/* ---- rules_syntax.c ---- */

/* Free a string the ruleset owns but exposes as const (rule_info). */
void rules_xfree(const void *p);
/* Pass msg to cb (may be NULL) as "origin:line", or "origin" when line is 0. */
void rules_report(rules_err_cb cb, void *ud, const char *origin, unsigned line, const char *msg);
/* Parse one rule line. Returns 1 for a rule (*expr_out, ri's pattern, regex, reason and hard
 * set; both strings owned by the caller), 0 for a blank or comment line, -1 for an error
 * (err filled). */
int rules_parse_line(const char *line, size_t len, struct rule_info *ri, char **expr_out,
                     char *err, size_t errlen);
/* Add every rule of text[0..len) to rs in tier, reporting each bad line through cb as
 * "origin:line" and skipping it. origin is copied. */
void rules_add_text(struct bnc_ruleset *rs, const char *text, size_t len, const char *origin,
                    enum rules_tier tier, rules_err_cb cb, void *ud);
/* The same for src[0..n) in order, all in the user tier; a source without an origin is
 * named unnamed. */
void rules_add_srcs(struct bnc_ruleset *rs, const struct rule_src *src, size_t n,
                    const char *unnamed, rules_err_cb cb, void *ud);

/* ---- rules_db.c ---- */

/* An empty ruleset (free with rules_free()). */
struct bnc_ruleset *rules_new(void);
/* Compile rs's rules into its database, through the cache in cache_dir (NULL: none). A rule
 * that does not compile is reported through cb and dropped, and the rest compiled again
 * (without the cache: a ruleset that lost a rule is not kept, so that the next start reports
 * the error again). BNC_OK, or BNC_EINTERNAL when no database can be built. */
bnc_status rules_compile(struct bnc_ruleset *rs, const char *cache_dir, rules_err_cb cb,
                         void *ud);

#endif
