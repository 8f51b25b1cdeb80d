/*
 * policy.c - the contact hygiene state machine of DESIGN §6.
 *
 * Pure: no I/O, no clock, no allocation. The caller passes the state it loaded and the time.
 * What it does not do: decide a verdict's reason or kind (classify/ does), write anything
 * (store/model_hygiene.c carries out the actions), or reactivate on its own (an admin, a
 * re-verification or an address change does, through policy_reactivate()).
 *
 * Rules, in order:
 *   hard       -> BOUNCED_HARD (a COMPLAINED contact stays COMPLAINED), suppress, unsubscribe
 *   complaint  -> COMPLAINED, suppress, unsubscribe
 *   soft       -> by side: sender-side is recorded only; address-side counts at most one
 *                 strike per UTC day (Mailman's rule), after decaying a stale count; a count
 *                 past soft_threshold is treated as hard with the reason kept; an unknown
 *                 side goes to review. A suppressed contact takes no further strikes.
 *   autoreply, delivered -> recorded, no change
 *   unknown    -> review item, no change
 * STANDARDS: none (policy); day boundaries are UTC days of Unix time.
 * LIMITS: counts saturate far below INT64_MAX (threshold <= 1000 by the config table).
 * Ownership: values only.
 */
#include "hygiene/policy.h"

#include <string.h>
#include <strings.h>

#include "core/cfg.h"

static const char *const status_names[HYG__COUNT] = {
    [HYG_ACTIVE] = "ACTIVE",
    [HYG_SOFT_BOUNCING] = "SOFT_BOUNCING",
    [HYG_BOUNCED_HARD] = "BOUNCED_HARD",
    [HYG_COMPLAINED] = "COMPLAINED",
};

const char *
hyg_status_name(enum hyg_status s)
{
    if ((unsigned)s >= HYG__COUNT) {
        return "ACTIVE";
    }
    return status_names[s];
}

bool
hyg_status_from_name(const char *name, enum hyg_status *out)
{
    int i;

    if (name == NULL) {
        return false;
    }
    for (i = 0; i < HYG__COUNT; i++) {
        if (strcasecmp(name, status_names[i]) == 0) {
            *out = (enum hyg_status)i;
            return true;
        }
    }
    return false;
}

void
policy_cfg_from_config(struct policy_cfg *pc, const struct bnc_config *cfg)
{
    pc->soft_threshold = cfg->policy_soft_threshold;
    pc->soft_decay_days = cfg->policy_soft_decay_days;
    pc->address_reasons = cfg->policy_address_reasons ? cfg->policy_address_reasons : "";
    pc->sender_reasons = cfg->policy_sender_reasons ? cfg->policy_sender_reasons : "";
    guard_cfg_from_config(&pc->guard, cfg);
}

bnc_side
policy_soft_side(const struct policy_cfg *pc, bnc_reason reason)
{
    const char *name = bnc_reason_name(reason);

    /* The configured lists win over the built-in taxonomy, so an operator can move a
     * reason from one side to the other without a rebuild. */
    if (pc->address_reasons != NULL && cfg_list_has(pc->address_reasons, name)) {
        return BNC_SIDE_ADDRESS;
    }
    if (pc->sender_reasons != NULL && cfg_list_has(pc->sender_reasons, name)) {
        return BNC_SIDE_SENDER;
    }
    switch (bnc_reason_side(reason)) {
    case BNC_SIDE_ADDRESS:
    case BNC_SIDE_DEAD: /* a temporary failure of a "dead" reason (4xx notaccept) */
        return BNC_SIDE_ADDRESS;
    case BNC_SIDE_SENDER:
        return BNC_SIDE_SENDER;
    case BNC_SIDE_REPORT:
    case BNC_SIDE_UNKNOWN:
        break;
    }
    return BNC_SIDE_UNKNOWN;
}

static int64_t
utc_day(int64_t t)
{
    /* floor division, so times before 1970 do not land on the same day as day 0 */
    return t >= 0 ? t / POLICY_DAY : -((-t + POLICY_DAY - 1) / POLICY_DAY);
}

static bool
state_equal(const struct contact_state *a, const struct contact_state *b)
{
    return a->status == b->status && a->soft_count == b->soft_count &&
           a->last_soft_day == b->last_soft_day && a->last_bounce_at == b->last_bounce_at &&
           a->last_reason == b->last_reason;
}

static bool
suppressed_status(enum hyg_status s)
{
    return s == HYG_BOUNCED_HARD || s == HYG_COMPLAINED;
}

int64_t
policy_decay_cutoff(const struct policy_cfg *pc, int64_t now)
{
    if (pc == NULL) {
        return INT64_MIN; /* no policy: nothing decays */
    }
    return utc_day(now) - pc->soft_decay_days;
}

bool
policy_decay(const struct policy_cfg *pc, const struct contact_state *in, int64_t now,
             struct contact_state *out)
{
    struct contact_state s = *in;
    bool changed;

    if (!suppressed_status(s.status) && (s.soft_count > 0 || s.status == HYG_SOFT_BOUNCING) &&
        s.last_soft_day < policy_decay_cutoff(pc, now)) {
        s.soft_count = 0;
        s.status = HYG_ACTIVE;
    }
    changed = !state_equal(in, &s); /* before the copy: in and out may alias */
    *out = s;
    return changed;
}

static void
apply_soft(const struct policy_cfg *pc, const struct policy_verdict *v, int64_t t,
           struct contact_state *s, unsigned *acts)
{
    bnc_side side = v->side != BNC_SIDE_UNKNOWN ? v->side : policy_soft_side(pc, v->reason);
    int64_t day = utc_day(t);

    if (side == BNC_SIDE_SENDER) {
        *acts |= POLICY_A_SENDER;
        return;
    }
    if (side != BNC_SIDE_ADDRESS) {
        *acts |= POLICY_A_REVIEW;
        return;
    }
    if (suppressed_status(s->status)) {
        *acts |= POLICY_A_INFO; /* already out of the sending pool */
        return;
    }
    if (policy_decay(pc, s, t, s)) {
        *acts |= POLICY_A_DECAYED;
    }
    if (s->soft_count > 0 && day == s->last_soft_day) {
        *acts |= POLICY_A_SAME_DAY;
        return;
    }
    s->soft_count++;
    if (day > s->last_soft_day) {
        s->last_soft_day = day;
    }
    if (t > s->last_bounce_at) {
        s->last_bounce_at = t;
    }
    s->last_reason = v->reason;
    *acts |= POLICY_A_STRIKE;
    if (s->soft_count > pc->soft_threshold) {
        s->status = HYG_BOUNCED_HARD;
        *acts |= POLICY_A_ESCALATED | POLICY_A_SUPPRESS | POLICY_A_UNSUBSCRIBE;
    } else {
        s->status = HYG_SOFT_BOUNCING;
    }
}

void
policy_apply(const struct policy_cfg *pc, const struct contact_state *in,
             const struct policy_verdict *v, int64_t now, struct contact_state *out,
             unsigned *actions)
{
    struct contact_state s = *in;
    int64_t t = v->time != 0 ? v->time : now;
    unsigned acts = POLICY_A_EVENT;
    bnc_kind kind = v->kind;

    if (kind == BNC_KIND_SOFT && v->side == BNC_SIDE_DEAD) {
        kind = BNC_KIND_HARD;
    }
    switch (kind) {
    case BNC_KIND_HARD:
        if (s.status != HYG_COMPLAINED) {
            s.status = HYG_BOUNCED_HARD;
        }
        if (t > s.last_bounce_at) {
            s.last_bounce_at = t;
        }
        s.last_reason = v->reason;
        acts |= POLICY_A_SUPPRESS | POLICY_A_UNSUBSCRIBE;
        break;
    case BNC_KIND_COMPLAINT:
        s.status = HYG_COMPLAINED;
        if (t > s.last_bounce_at) {
            s.last_bounce_at = t;
        }
        s.last_reason = v->reason;
        acts |= POLICY_A_SUPPRESS | POLICY_A_UNSUBSCRIBE;
        break;
    case BNC_KIND_SOFT:
        apply_soft(pc, v, t, &s, &acts);
        break;
    case BNC_KIND_AUTOREPLY:
    case BNC_KIND_DELIVERED:
        acts |= POLICY_A_INFO;
        break;
    case BNC_KIND_UNKNOWN:
    default:
        acts |= POLICY_A_REVIEW;
        break;
    }
    if (!state_equal(in, &s)) {
        acts |= POLICY_A_CHANGED;
    }
    *out = s;
    *actions = acts;
}

void
policy_reactivate(const struct contact_state *in, struct contact_state *out)
{
    struct contact_state s = *in;

    s.status = HYG_ACTIVE;
    s.soft_count = 0;
    s.last_soft_day = 0;
    *out = s;
}
