/*
 * guard.h - the pure decisions of the guards (DESIGN §10, docs/guards.md): when a burst of
 * hard bounces at one domain is an outage (its penalties held), when sender-side refusals
 * are a reputation incident, what holding a verdict's penalty leaves of the policy's
 * actions, and when a campaign's or a domain's bounce and complaint rates raise an alert.
 *
 * The counts come from the store (store/model_guard.c keeps them per minute); nothing here
 * does I/O or reads a clock. Ownership: plain values; guard_cfg borrows nothing.
 */
#ifndef BNC_HYGIENE_GUARD_H
#define BNC_HYGIENE_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "bounced.h"

struct bnc_config;

#define GUARD_BUCKET ((int64_t)60) /* counters are kept per minute */

/* Action bit added to the policy's POLICY_A_* when an outage holds the penalty. */
#define GUARD_A_HELD (1u << 16)

struct guard_cfg {
    bool enabled;           /* zeroed = no guard (a policy_cfg built by hand) */
    int64_t window;         /* seconds over which a burst is counted */
    int64_t min_count;      /* hard bounces per window before a burst can be an outage */
    int64_t ratio;          /* times the usual per-window count that make a burst */
    int64_t baseline;       /* seconds of history before the window: the usual rate */
    int64_t decide_after;   /* watch held addresses this long after recovery */
    int64_t max_hold;       /* a burst this long is no outage: apply */
    int64_t reputation_min; /* sender-side refusals per window for a reputation alert */
};

/* The numbers of one scope (a campaign, a sending or recipient domain) over a period. */
struct guard_rates {
    int64_t hard, soft, complaint, sender, total; /* verdicts */
    int64_t sends;                                /* posted through POST /api/v1/sends */
};

/* What spike thresholds apply (from the config table). */
struct guard_spike_cfg {
    int64_t complaint_bp; /* complaints per 10,000 sends */
    int64_t hard_bp;      /* hard bounces per 10,000 bounces + sends */
    int64_t complaints;   /* absolute per period without send counts */
    int64_t hard;         /* absolute per period without send counts */
};

enum guard_metric {
    GUARD_M_NONE = 0,
    GUARD_M_COMPLAINT_RATE,
    GUARD_M_HARD_RATE,
    GUARD_M_COMPLAINTS,
    GUARD_M_HARD
};

struct guard_breach {
    enum guard_metric metric;
    int64_t value;     /* basis points for the rates, a count for the absolute ones */
    int64_t threshold; /* in the same unit */
};

void guard_cfg_from_config(struct guard_cfg *gc, const struct bnc_config *cfg);
void guard_spike_cfg_from_config(struct guard_spike_cfg *sc, const struct bnc_config *cfg);

/* Is `in_window` failures (this one included) within one window a burst, given
 * `in_baseline` of them over the baseline period before it? At least `floor` of them, and
 * at least ratio times the usual count per window (never less than one). */
bool guard_is_burst(const struct guard_cfg *gc, int64_t in_window, int64_t in_baseline,
                    int64_t floor);

/* Does applying the policy's POLICY_A_* `acts` penalise the address (what an outage
 * holds)? Complaints are the person's own word and are never held. */
bool guard_penalises(unsigned acts, bnc_kind kind);

/* The actions left when an outage holds the penalty: the event is recorded, nothing else
 * (GUARD_A_HELD added). */
unsigned guard_hold(unsigned acts);

/* Up to two breaches of one scope's numbers (rates when send counts were posted, absolute
 * counts otherwise), complaints first. Returns how many were written to out. */
int guard_spikes(const struct guard_spike_cfg *sc, const struct guard_rates *r,
                 struct guard_breach out[2]);

const char *guard_metric_name(enum guard_metric m); /* static string */

#endif
