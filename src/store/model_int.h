/*
 * model_int.h - shared by src/store/model_*.c only: row accessors, the audit snapshot (a
 * contact's hygiene state, its suppression and list memberships as JSON), the audit writer
 * and the hygiene plan that model_apply_verdict() and review resolution share.
 * Ownership: a snapshot owns its heap strings (snap_free()); row accessors borrow.
 */
#ifndef BNC_STORE_MODEL_INT_H
#define BNC_STORE_MODEL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/model.h"
#include "store/store.h"

/* Row accessors: out-of-range or NULL columns read as 0 / "". */
int64_t mrow_int(const struct store_row *r, size_t i);
const char *mrow_text(const struct store_row *r, size_t i);
/* Bounded copy that always NUL-terminates (truncates at a UTF-8 boundary). */
void mcopy(char *dst, size_t dstlen, const char *src);
size_t mlimit(size_t limit);

/* The contact columns every contact query selects, in this order (see model_contacts.c). */
#define MODEL_CONTACT_COLS                                                                      \
    "c.id, c.email, c.hygiene_status, c.soft_bounce_count, c.last_soft_day, c.last_bounce_at, " \
    "c.last_reason, c.last_status, c.attributes, c.created_at, c.updated_at, s.reason, "        \
    "s.source, s.created_at, s.id"
#define MODEL_CONTACT_FROM "contacts c LEFT JOIN suppressions s ON s.address = c.email"
/* A contact's hygiene_status as every read reports it: SOFT_BOUNCING whose last strike is
 * before the decay cutoff (parameter `cut`, policy_decay_cutoff()) reads as ACTIVE, exactly
 * what policy_decay() decides in C, so a filter, a count and a lookup agree between sweeps. */
#define MODEL_STATUS_NOW(cut)                                                  \
    "(CASE WHEN c.hygiene_status = 'SOFT_BOUNCING' AND c.last_soft_day < " cut \
    " THEN 'ACTIVE' ELSE c.hygiene_status END)"
/* Fill a model_contact from a row of MODEL_CONTACT_COLS (attributes duplicated to heap). */
void mrow_contact(const struct store_row *r, struct model_contact *c);
void model_contact_state(const struct model_contact *c, struct contact_state *cs);

/* The event columns every event query selects, in the order mrow_event() reads them (the
 * last: how many other paths reported the event). */
#define MODEL_EVENT_COLS                                                                     \
    "id, contact_id, dedupe_key, recipient, domain, status, replycode, reason, kind, hard, " \
    "action, diagnostic, origin, source, ref, decided_by, policy, event_time, created_at, "  \
    "message_id, original_message_id, feedback_type, (SELECT COUNT(*) FROM event_reports rp "  \
    "WHERE rp.event_id = bounce_events.id)"
/* Fill an event from a row of MODEL_EVENT_COLS (strings borrowed from the row). */
void mrow_event(const struct store_row *r, struct model_event *e);
/* Fill a suppression from a row of "id, address, reason, source, ref, created_at". */
void mrow_suppression(const struct store_row *r, struct model_suppression *s);

/* A snapshot of what an audit entry can restore. */
struct snap {
    bool contact; /* the address has a contact */
    struct contact_state cs;
    char last_status[16];
    bool suppressed;
    char supp_reason[64];
    char supp_source[32];
    char *supp_ref; /* heap */
    int64_t supp_since;
    char **lists; /* subscribed list names, heap */
    size_t nlists;
};

void snap_free(struct snap *s);
/* Load the current snapshot of address (and contact_id, 0 = none). */
bnc_status snap_load(struct store *st, int64_t contact_id, const char *address, struct snap *s);
char *snap_json(const struct snap *s); /* heap JSON text, free() */
bool snap_parse(const char *json, struct snap *s);
bool snap_has_list(const struct snap *s, const char *name);

/* Append one audit row; *id_out may be NULL. */
bnc_status audit_add(struct store *st, int64_t contact_id, const char *address, const char *actor,
                     const char *action, const char *reason, const char *decided_by,
                     const char *ref, int64_t event_id, const char *before_json,
                     const char *after_json, int64_t now, int64_t *id_out);
/* Load snapshot `before` for (contact_id, address); after the caller's writes, load the
 * snapshot after and write the audit row. Convenience over the two calls above. */
bnc_status audit_change(struct store *st, int64_t contact_id, const char *address,
                        const struct snap *before, const char *actor, const char *action,
                        const char *reason, const char *decided_by, const char *ref,
                        int64_t event_id, int64_t now, int64_t *id_out);

/* Write a contact's hygiene fields only if they still are `expected` (optimistic
 * concurrency: two nodes applying verdicts to one contact at once must not lose a strike).
 * BNC_EBUSY when the row changed meanwhile: the caller retries the whole transaction. */
bnc_status model_write_state_if(struct store *st, int64_t contact_id,
                                const struct contact_state *expected,
                                const struct contact_state *cs, const char *last_status,
                                int64_t now);
/* Write a contact's hygiene fields. */
bnc_status model_write_state(struct store *st, int64_t contact_id, const struct contact_state *cs,
                             const char *last_status, int64_t now);

/* Hygiene plan: what the policy decided for one address, before anything is written. */
struct hyg_plan {
    char address[MODEL_EMAIL_MAX + 1];
    bool valid;         /* the address is usable */
    int64_t contact_id; /* 0 = no contact */
    struct contact_state in, out;
    unsigned acts;
    struct snap before; /* as loaded (carry_out adds the lists when needed); owned */
};
bnc_status hyg_plan_make(struct store *st, const struct policy_cfg *pc, const char *address,
                         const struct policy_verdict *pv, int64_t now, struct hyg_plan *plan);
const char *hyg_plan_word(const struct hyg_plan *plan, bnc_kind kind);
void hyg_plan_free(struct hyg_plan *plan);
/* Load the subscribed lists of a contact into a snapshot. */
bnc_status snap_load_lists(struct store *st, int64_t contact_id, struct snap *s);
/* Deep copy. */
void snap_copy(struct snap *dst, const struct snap *src);
/* Carry out a plan (contact, suppression, unsubscribe, audit); review items are the caller's. */
bnc_status hyg_plan_carry_out(struct store *st, struct hyg_plan *plan, const char *reason_name,
                              const char *status_code, const char *supp_source, const char *ref,
                              const char *decided_by, const char *actor, int64_t event_id,
                              int64_t now, bool *changed_out);

/* ---- guards (model_guard.c, model_alerts.c) ---- */

/* The outage guard's one call from model_apply_verdict(), after the event row is in and
 * before the plan is carried out: counts the verdict at its recipient domain; when the
 * domain is in an outage (or this verdict proves one) *acts loses its penalty
 * (guard_hold()) and the event is marked held. */
bnc_status guard_on_verdict(struct store *st, const struct policy_cfg *pc,
                            const struct bnc_rcpt *v, /* the verdict */
                            const char *domain,       /* its recipient domain */
                            int64_t event_id, int64_t event_time, int64_t now,
                            unsigned *acts); /* IN/OUT: POLICY_A_* of the plan */
/* Add to the counters of (scope, key) at time t: hard, soft, complaint, sender, total,
 * sends. An empty key counts nothing. */
bnc_status guard_count_add(struct store *st, const char *scope, const char *key, int64_t t,
                           const int64_t add[6]);
/* Raise the one alert of a new outage or reputation incident. */
bnc_status guard_alert_incident(struct store *st, const char *kind, const char *domain,
                                int64_t incident_id, int64_t count, int64_t threshold,
                                int64_t baseline, int64_t window, int64_t now);
/* Raise the spike alerts of the period before now; *n_out gets how many. */
bnc_status guard_spike_alerts(struct store *st, const struct bnc_config *cfg, int64_t now,
                              size_t *n_out);

#endif
