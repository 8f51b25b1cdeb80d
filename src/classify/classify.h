/*
 * classify.h - internal seam of the classify layer: the rule set (built-in + user rules,
 * one Vectorscan database), report classification, and the bnc_ctx internals.
 *
 * classify_report() fills reason, hard, kind and decided_by of every recipient by walking
 * one ordered decision table (classify.c: classify_steps, then classify_adjust; the same
 * tables are in docs/internals/classify.md); `undefined` only when nothing decides.
 * Ownership: a ruleset is immutable once built and shared read-only by threads; the ctx owns
 * its config and ruleset.
 */
#ifndef BNC_CLASSIFY_CLASSIFY_H
#define BNC_CLASSIFY_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "bounced.h"
#include "core/cfg.h"
#include "core/load.h"
#include "core/reasons.h"

struct bnc_ruleset;
struct rule_info;

struct bnc_ctx {
    struct bnc_config cfg;
    struct bnc_ruleset *rules;   /* swapped whole on reload (atomic load/store) */
    struct bnc_ruleset *retired; /* replaced rulesets, freed by bnc_ctx_free() */
    bool quiet;                  /* do not pass rule errors to the message handler */
    char errmsg[512];
};

/* Build a ctx from an already loaded config (copied). */
bnc_status bnc_ctx_new_config(const struct bnc_config *cfg, bnc_ctx **out);
const struct bnc_config *bnc_ctx_config(const bnc_ctx *ctx);
/* Parse only (no classification): used by tests and by `parse --raw`. */
bnc_status bnc_parse_only(bnc_ctx *ctx, const void *msg, size_t len, bnc_report **out);

/* Rule sets: built from the built-in rules text plus user rule files; errors are reported
 * per file:line through the callback (rules_err_cb, core/load.h) and the bad rule is
 * skipped. Extra rule text from outside the config (the database's `rules` table,
 * `--rules FILE`) comes as struct rule_src (core/load.h): several lines each, a bad line
 * reported as "origin:line", borrowed. */

/* Build a ruleset (ctx.c): user rules (cfg rules.dir/NAME.rules in name order, cfg
 * rules.file, read by core/load.c; then extra[0..nextra)) before the built-in rules,
 * compiled through cfg's rules.cache_dir (cfg may be NULL: no files, no cache). Every bad
 * rule is reported through cb (may be NULL) with file:line and skipped; the rest load. *out
 * is always set (free with rules_free()); BNC_OK unless the pattern database itself cannot
 * be built. */
bnc_status rules_build(const struct bnc_config *cfg, const struct rule_src *extra, size_t nextra,
                       rules_err_cb cb, void *ud, struct bnc_ruleset **out);
void rules_free(struct bnc_ruleset *rs); /* NULL-safe */
/* Validate one rule line: syntax, reason name, and that Vectorscan compiles the pattern.
 * BNC_OK, or BNC_EINVAL with a message in err. */
bnc_status rules_check_line(const char *line, char *err, size_t errlen);
/* ctx.c internal: link field used to keep replaced rulesets alive until bnc_ctx_free(). */
struct bnc_ruleset **rules_retired_link(struct bnc_ruleset *rs);

/* Replace the ctx's ruleset with one built from its config plus extra. Safe while other
 * threads parse with the ctx: the new set is published with an atomic pointer swap and the
 * old one is freed only by bnc_ctx_free(). Reloads themselves must not run concurrently
 * (one reloader at a time). On a build failure the old set stays. Bad rules are reported
 * through the ctx's error message (first one) and the message handler; they do not fail the reload. */
bnc_status bnc_ctx_reload_rules(bnc_ctx *ctx, const struct rule_src *extra, size_t nextra);
/* The ctx's current ruleset (borrowed; valid until bnc_ctx_free()). */
const struct bnc_ruleset *bnc_ctx_rules(const bnc_ctx *ctx);

/* Fill reason, hard, kind, decided_by (and a pseudo status when none) of every recipient.
 * Thread-safe for a shared ruleset. */
void classify_report(const struct bnc_ruleset *rs, bnc_report *r);

/* Pieces of the precedence, exposed for `bounced rules test` and the unit tests. */
bnc_reason classify_reason_from_status(const char *status); /* RFC 3463; UNDEFINED if none */
bnc_reason classify_reason_from_reply(const char *reply);   /* RFC 5321; UNDEFINED if none */
int classify_hard(bnc_reason reason, bool temporary);       /* 1, 0, -1 (undefined) */
bnc_kind classify_kind(bnc_reason reason, int hard);
/* The decision table's step names in order (adjustment false), or its adjustments (true);
 * NULL past the end. docs/internals/classify.md lists the same; a unit test compares. */
const char *classify_step_name(size_t i, bool adjustment);
/* Every rule that matches a diagnostic as the classifier sees it (addresses blanked, white
 * space normalized), in precedence order; see rules_match_all(). */
bnc_status classify_rules_matching(const struct bnc_ruleset *rs, const char *diagnostic,
                                   const struct rule_info **out, size_t cap, size_t *n_out);

#endif
