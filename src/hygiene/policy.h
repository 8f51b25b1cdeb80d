/*
 * policy.h - the contact hygiene state machine (DESIGN §6), pure: a contact's state, one
 * verdict and the clock in; the new state and a set of actions out. No I/O, no globals.
 *
 * The store layer (src/store/model_*.c) loads the state, calls policy_apply() and carries
 * out the actions (event row, suppression, unsubscribe, review item, audit row).
 * Ownership: every struct here is a plain value; policy_cfg borrows its reason lists.
 */
#ifndef BNC_HYGIENE_POLICY_H
#define BNC_HYGIENE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "bounced.h"
#include "hygiene/guard.h"

struct bnc_config;

#define POLICY_DAY ((int64_t)86400)

/* Contact hygiene_status values; the names are the stored text (DESIGN §6). */
enum hyg_status { HYG_ACTIVE = 0, HYG_SOFT_BOUNCING, HYG_BOUNCED_HARD, HYG_COMPLAINED, HYG__COUNT };

const char *hyg_status_name(enum hyg_status s); /* static string */
bool hyg_status_from_name(const char *name, enum hyg_status *out);

struct policy_cfg {
    int64_t soft_threshold;      /* strikes (days) tolerated; one more is treated as hard */
    int64_t soft_decay_days;     /* quiet days after which the soft count resets */
    const char *address_reasons; /* comma list, borrowed */
    const char *sender_reasons;  /* comma list, borrowed */
    struct guard_cfg guard;      /* the outage guard (guard.h); zeroed = off */
};

/* Fill from the config table (borrows the config's strings). */
void policy_cfg_from_config(struct policy_cfg *pc, const struct bnc_config *cfg);

/* What the policy needs to know about a contact. */
struct contact_state {
    enum hyg_status status;
    int64_t soft_count;     /* strikes: days with an address-side soft bounce */
    int64_t last_soft_day;  /* UTC day number (unix / 86400) of the last strike, 0 = none */
    int64_t last_bounce_at; /* unix seconds of the last counted bounce, 0 = none */
    bnc_reason last_reason; /* BNC_R_UNDEFINED when none */
};

/* The part of a verdict the policy reads. */
struct policy_verdict {
    bnc_kind kind;
    bnc_reason reason;
    int64_t time;  /* event time (from the bounce), 0 = use now */
    bnc_side side; /* BNC_SIDE_UNKNOWN = derive from the reason and the config lists;
                      a person resolving a review item forces ADDRESS for "soft" */
};

/* Action bits returned by policy_apply(). */
#define POLICY_A_EVENT       (1u << 0)  /* record the event (always set) */
#define POLICY_A_CHANGED     (1u << 1)  /* the contact state differs from the input */
#define POLICY_A_SUPPRESS    (1u << 2)  /* add an address-level suppression */
#define POLICY_A_UNSUBSCRIBE (1u << 3)  /* unsubscribe from every list */
#define POLICY_A_REVIEW      (1u << 4)  /* queue for a person; contact untouched */
#define POLICY_A_STRIKE      (1u << 5)  /* a soft strike was counted */
#define POLICY_A_ESCALATED   (1u << 6)  /* soft count passed the threshold: treated as hard */
#define POLICY_A_DECAYED     (1u << 7)  /* the soft count was reset by decay first */
#define POLICY_A_SENDER      (1u << 8)  /* sender-side failure: recorded, no penalty */
#define POLICY_A_SAME_DAY    (1u << 9)  /* address-side soft on an already counted day */
#define POLICY_A_INFO        (1u << 10) /* autoreply / delivered / already suppressed: no change */

/* Which side of the hygiene policy a soft reason falls on (config lists first, then the
 * taxonomy). Returns BNC_SIDE_ADDRESS, BNC_SIDE_SENDER or BNC_SIDE_UNKNOWN. */
bnc_side policy_soft_side(const struct policy_cfg *pc, bnc_reason reason);

/*
 * Decay: if the contact's last strike is more than soft_decay_days UTC days before `now`,
 * reset the count (and SOFT_BOUNCING back to ACTIVE). Returns true when *out differs from
 * *in. in and out may be the same object. Hard and complained contacts never decay.
 */
bool policy_decay(const struct policy_cfg *pc, const struct contact_state *in, int64_t now,
                  struct contact_state *out);
/* The UTC day number before which a strike has decayed at `now` (a last_soft_day below it is
 * stale): what policy_decay() tests, for queries that must decide the same in SQL. INT64_MIN
 * (nothing decays) when pc is NULL. */
int64_t policy_decay_cutoff(const struct policy_cfg *pc, int64_t now);

/*
 * Apply one verdict. `now` is the processing clock; the verdict's own time (when non-zero)
 * decides the strike day and the decay reference. Writes the new state to *out (may alias
 * *in) and the POLICY_A_* bits to *actions.
 */
void policy_apply(const struct policy_cfg *pc,    /* thresholds and reason lists */
                  const struct contact_state *in, /* the contact now (zeroed = new) */
                  const struct policy_verdict *v, /* the verdict */
                  int64_t now,                    /* processing time, unix seconds */
                  struct contact_state *out,      /* OUT: the new state */
                  unsigned *actions);             /* OUT: POLICY_A_* */

/* Reactivation (unsuppress, re-verification, changed address): ACTIVE, count 0. */
void policy_reactivate(const struct contact_state *in, struct contact_state *out);

#endif
