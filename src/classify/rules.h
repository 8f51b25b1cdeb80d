/*
 * rules.h - the classification rule set: built-in rules (rules/default.rules, embedded) plus
 * the operator's rules (rules.dir/NAME.rules, rules.file, --rules FILE, the database), compiled
 * into ONE Vectorscan database and matched in one pass per diagnostic.
 *
 * Rule line syntax (one rule a line; '#' starts a comment line; blank lines are ignored):
 *     TEXT ==> VERDICT          case-insensitive phrase, matched anywhere in the text
 *     /REGEX/i ==> VERDICT      Vectorscan regex (always caseless; the trailing i is optional)
 *     VERDICT := hard | soft | hard:REASON | soft:REASON | REASON
 * A bare REASON takes hard/soft from the reason (DESIGN §5). Rules are matched against the
 * diagnostic in a normal form: each run of white space is one space and the typographic
 * apostrophe (U+2019) is the ASCII one; so in TEXT any run of white space matches any run of
 * white space, and a REGEX sees single spaces.
 * The syntax is rules_syntax.c, the compiled database and matching rules_db.c, the build from
 * a configuration ctx.c (with core/load.c reading the files and keeping the compiled cache).
 * Ownership: a ruleset is immutable once built; it may be shared by any number of threads.
 */
#ifndef BNC_CLASSIFY_RULES_H
#define BNC_CLASSIFY_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "bounced.h"
#include "classify/classify.h"

struct bnc_ruleset;

enum rules_tier {
    RULES_TIER_USER = 0,   /* operator rules: checked first */
    RULES_TIER_BUILTIN = 1 /* rules/default.rules */
};

/* One rule as loaded (for `bounced rules list`). Strings borrowed from the ruleset. */
struct rule_info {
    const char *origin;  /* file name or "db:<id>" */
    unsigned line;       /* 1-based line within origin */
    const char *pattern; /* TEXT or /REGEX/ as written */
    bool regex;
    enum rules_tier tier;
    bnc_reason reason; /* BNC_R_UNDEFINED for a bare hard|soft */
    int hard;          /* 1 hard, 0 soft, -1 from the reason */
};

/* Outcome of matching one text: the winning rule (lowest tier, then first in load order). */
struct rule_match {
    const struct rule_info *rule;  /* NULL when nothing matched */
    const struct rule_info *cause; /* the first matching rule that names a cause (a reason
                                    * other than expired, onhold or none):
                                    * a queue that ran out is an outcome, and the reply it
                                    * quotes ("421 Sender address blocked: retry timeout
                                    * exceeded") may name the cause; NULL when none */
};

/* A rule's verdict as the rule syntax writes it ("hard:userunknown", "soft", "mailboxfull"),
 * into out[0..n). */
void rules_verdict_text(const struct rule_info *ri, char *out, size_t n);

size_t rules_count(const struct bnc_ruleset *rs);
const struct rule_info *rules_get(const struct bnc_ruleset *rs, size_t i); /* borrowed */

/* Copy in[0..len) into the normal form rules are matched against: each run of white space
 * (space, tab, CR, LF, VT, FF, NUL) is one space and U+2019 is an apostrophe. Writes at most
 * cap - 1 bytes and a NUL; returns the length written. cap must be at least 1. */
size_t rules_normalize(const char *in, size_t len, char *out, size_t cap);

/* Match text[0..len), in the normal form above, against every rule in one pass. Thread-safe
 * (per-thread scratch). Returns BNC_OK (with m->rule NULL when nothing matched) or
 * BNC_EINTERNAL. */
bnc_status rules_match(const struct bnc_ruleset *rs, const char *text, size_t len,
                       struct rule_match *m);

/* Every rule that matches text (same form), in precedence order (the first is the one
 * rules_match() picks): up to cap of them into out, how many in *n_out. For showing why a
 * verdict was decided (`bounced rules test --all`); the classifier needs only the first. */
bnc_status rules_match_all(const struct bnc_ruleset *rs, const char *text, size_t len,
                           const struct rule_info **out, size_t cap, size_t *n_out);

/* A ruleset from one text only (no built-in rules, no config): tests and the fuzzer. The
 * text need not be NUL-terminated; NUL bytes inside a line make that line an error. Same
 * reporting and ownership as rules_build(). */
bnc_status rules_build_text(const char *text, size_t len, const char *origin, rules_err_cb cb,
                            void *ud, struct bnc_ruleset **out);

/* The Vectorscan expression rule i is compiled from (a phrase as an escaped literal, a regex
 * with the white-space rewrite applied); borrowed, NULL when i is out of range. For
 * `bounced rules lint`, which reasons about what each rule can match. */
const char *rules_expr(const struct bnc_ruleset *rs, size_t i);

/* A ruleset of the given sources only, in order, all in the user tier: no configuration, no
 * built-in rules, no cache. Same reporting and ownership as rules_build(). */
bnc_status rules_build_only(const struct rule_src *src, size_t n, rules_err_cb cb, void *ud,
                            struct bnc_ruleset **out);

/* Split "hard:reason" etc.; false when it is not a valid verdict. */
bool rules_parse_verdict(const char *s, size_t n, bnc_reason *reason_out, int *hard_out);

#endif
