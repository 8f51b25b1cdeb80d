/*
 * guard.c - the pure decisions of the guards (contract in guard.h).
 *
 * A burst: a provider whose DNS or mailbox store goes down answers "user unknown" for every
 * address for a while. Counted per recipient domain over guard.window, against the domain's
 * own usual count per window over guard.baseline: a big domain with a steady trickle of
 * dead addresses needs a proportionally bigger burst than a quiet one.
 * A spike: with send counts posted, rates in basis points (1/10,000) so that the thresholds
 * of the mailbox providers' sender guidelines (complaints 0.1%, bounces 2%) are integers;
 * without them, absolute counts per period.
 * What it does not do: count (store/model_guard.c), or decide when an outage ends (the
 * store's evaluation, with these same functions over the last window).
 * STANDARDS: none (policy).
 * LIMITS: counts are int64; rates are computed in int64 without overflow for counts below
 * 2^49.
 * Ownership: values only.
 */
#include "hygiene/guard.h"

#include "core/cfg.h"
#include "hygiene/policy.h"

void
guard_cfg_from_config(struct guard_cfg *gc, const struct bnc_config *cfg)
{
    gc->enabled = cfg->guard_enabled;
    gc->window = cfg->guard_window;
    gc->min_count = cfg->guard_min_count;
    gc->ratio = cfg->guard_ratio;
    gc->baseline = cfg->guard_baseline;
    gc->decide_after = cfg->guard_decide_after;
    gc->max_hold = cfg->guard_max_hold;
    gc->reputation_min = cfg->guard_reputation_min;
}

void
guard_spike_cfg_from_config(struct guard_spike_cfg *sc, const struct bnc_config *cfg)
{
    sc->complaint_bp = cfg->guard_complaint_bp;
    sc->hard_bp = cfg->guard_hard_bp;
    sc->complaints = cfg->guard_complaints_abs;
    sc->hard = cfg->guard_hard_abs;
}

bool
guard_is_burst(const struct guard_cfg *gc, int64_t in_window, int64_t in_baseline, int64_t floor)
{
    int64_t windows, usual;

    if (gc->window <= 0 || in_window < floor) {
        return false;
    }
    windows = gc->baseline / gc->window;
    if (windows < 1) {
        windows = 1;
    }
    /* the usual count per window, rounded up, and never below one: a domain with no
     * history needs `floor` failures, not ratio times zero */
    usual = (in_baseline + windows - 1) / windows;
    if (usual < 1) {
        usual = 1;
    }
    return in_window >= gc->ratio * usual;
}

bool
guard_penalises(unsigned acts, bnc_kind kind)
{
    if (kind == BNC_KIND_COMPLAINT) {
        return false;
    }
    return (acts &
            (POLICY_A_SUPPRESS | POLICY_A_UNSUBSCRIBE | POLICY_A_STRIKE | POLICY_A_ESCALATED)) != 0;
}

unsigned
guard_hold(unsigned acts)
{
    return (acts & (POLICY_A_EVENT | POLICY_A_INFO)) | POLICY_A_EVENT | GUARD_A_HELD;
}

/* numerator / denominator in basis points, 0 for an empty denominator */
static int64_t
basis_points(int64_t num, int64_t den)
{
    return den > 0 ? num * 10000 / den : 0;
}

/* A rate breaches when it is above its threshold, a count when it reaches it. */
static int
add_breach(struct guard_breach *out, int n, enum guard_metric m, int64_t value, int64_t thr,
           bool reach)
{
    if (value > thr || (reach && value == thr)) {
        out[n].metric = m;
        out[n].value = value;
        out[n].threshold = thr;
        return n + 1;
    }
    return n;
}

int
guard_spikes(const struct guard_spike_cfg *sc, const struct guard_rates *r,
             struct guard_breach out[2])
{
    int n = 0;

    if (r->sends > 0) {
        n = add_breach(out, n, GUARD_M_COMPLAINT_RATE, basis_points(r->complaint, r->sends),
                       sc->complaint_bp, false);
        n = add_breach(out, n, GUARD_M_HARD_RATE, basis_points(r->hard, r->sends + r->total),
                       sc->hard_bp, false);
        return n;
    }
    n = add_breach(out, n, GUARD_M_COMPLAINTS, r->complaint, sc->complaints, true);
    n = add_breach(out, n, GUARD_M_HARD, r->hard, sc->hard, true);
    return n;
}

const char *
guard_metric_name(enum guard_metric m)
{
    switch (m) {
    case GUARD_M_COMPLAINT_RATE:
        return "complaint_rate";
    case GUARD_M_HARD_RATE:
        return "hard_bounce_rate";
    case GUARD_M_COMPLAINTS:
        return "complaints";
    case GUARD_M_HARD:
        return "hard_bounces";
    case GUARD_M_NONE:
        break;
    }
    return "none";
}
