/*
 * classify.h - internal seam of the classify layer: the rule set (built-in + user rules,
 * one Vectorscan database), report classification, and the bnc_ctx internals.
 *
 * classify_report() fills reason, hard, kind and decided_by of every recipient, in this
 * precedence: user rules, built-in text rules, status code, reply code, format hint;
 * `undefined` only when nothing matches.
 * Ownership: a ruleset is immutable once built and shared read-only by threads; the ctx owns
 * its config and ruleset.
 */
#ifndef BNC_CLASSIFY_CLASSIFY_H
#define BNC_CLASSIFY_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "bounced.h"
#include "core/cfg.h"

struct bnc_ruleset;

struct bnc_ctx {
    struct bnc_config cfg;
    struct bnc_ruleset *rules; /* swapped whole on reload */
    char errmsg[512];
};

/* Build a ctx from an already loaded config (copied). */
bnc_status bnc_ctx_new_config(const struct bnc_config *cfg, bnc_ctx **out);
const struct bnc_config *bnc_ctx_config(const bnc_ctx *ctx);
/* Parse only (no classification): used by tests and by `parse --raw`. */
bnc_status bnc_parse_only(bnc_ctx *ctx, const void *msg, size_t len, bnc_report **out);

/* Rule sets: built from the built-in rules text plus user rule files; errors are reported
 * per file:line through the callback and the bad rule is skipped. */
typedef void (*rules_err_cb)(void *ud, const char *where, const char *msg);
bnc_status rules_build(const struct bnc_config *cfg, const char *extra_file, rules_err_cb cb,
                       void *ud, struct bnc_ruleset **out);
void rules_free(struct bnc_ruleset *rs);

void classify_report(const struct bnc_ruleset *rs, bnc_report *r);

/* The reason taxonomy (reasons.c): pseudo status for reasons without a code. */
void reason_pseudo_status(bnc_reason r, bool temporary, char out[16]); /* "" for reports */

#endif
