/*
 * model.h - the domain queries of bounced (DESIGN §7): contacts, lists and memberships,
 * address-level suppressions, bounce events, the review queue, the audit log with undo,
 * whole-input idempotency records, log-tailer offsets and statistics. Written once over
 * store_exec() in portable SQL, so every function works on SQLite and PostgreSQL alike.
 *
 * Conventions:
 *   - addresses are normalized by the model (model_normalize_email: callers may pass any
 *     case, U-labels or A-labels, a trailing dot);
 *   - times are Unix seconds passed by the caller (`now`), so --now / BOUNCED_NOW work;
 *   - list functions are cursor-paginated: rows with id > after_id in ascending id order, at
 *     most `limit` (1..MODEL_LIMIT_MAX; 0 = MODEL_LIMIT_DEFAULT), one callback per row; the
 *     caller's next cursor is the last id it saw;
 *   - every hygiene change (status, counts, suppression, list memberships) writes one audit
 *     row with actor, reason, deciding rule, reference and JSON snapshots before and after;
 *   - a function that changes several rows runs inside store_begin/commit (they nest, so a
 *     caller may wrap several calls in one transaction); on failure nothing is left half done.
 * Ownership: strings inside row structs handed to callbacks are borrowed for the duration of
 * the callback; struct model_contact owns its `attributes` (model_contact_free()). Every
 * function borrows its arguments. One struct store per thread (store.h).
 */
#ifndef BNC_STORE_MODEL_H
#define BNC_STORE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounced.h"
#include "core/email.h"
#include "hygiene/policy.h"

struct store;

#define MODEL_EMAIL_MAX     EMAIL_MAX /* longest address accepted (core/email.h) */
#define MODEL_LIMIT_DEFAULT 100
#define MODEL_LIMIT_MAX     10000

/* ---- contacts ---------------------------------------------------------------------- */

struct model_contact {
    int64_t id;
    char email[MODEL_EMAIL_MAX + 1];
    enum hyg_status status; /* with decay applied when a policy_cfg was given */
    int64_t soft_count;
    int64_t last_soft_day; /* UTC day number of the last strike */
    int64_t last_bounce_at;
    char last_reason[32];
    char last_status[16];
    char *attributes; /* JSON object text, owned (heap) */
    int64_t created_at;
    int64_t updated_at;
    /* the address-level suppression, when there is one */
    bool suppressed;
    char supp_reason[64];
    char supp_source[32];
    int64_t supp_since;
};

void model_contact_free(struct model_contact *c); /* frees attributes; NULL-safe */
/* Is name (any case) a field bounced alone writes (hygiene_status, soft_bounce_count, ...,
 * DESIGN §6)? Such a name is never taken as a contact attribute (API, CSV import, set). */
bool model_is_hygiene_field(const char *name);

/* The store's form of an address: email_normalize() (core/email.h: IDNA (A-labels) and
 * case-folded domain, ASCII-lower-cased local part, no trailing dot; one '@', no spaces or controls,
 * at most MODEL_EMAIL_MAX). Returns false when it is not usable. */
bool model_normalize_email(const char *in, char out[MODEL_EMAIL_MAX + 1]);

/* Get by id / by email. With pc non-NULL the returned state has lazy decay applied (the
 * stored row is not rewritten; `sweep` and the next update persist it). BNC_ENOTFOUND. */
bnc_status model_contact_get(struct store *st, const struct policy_cfg *pc, int64_t id, int64_t now,
                             struct model_contact *out);
bnc_status model_contact_find(struct store *st, const struct policy_cfg *pc, const char *email,
                              int64_t now, struct model_contact *out);

/* Create a contact; attributes_json NULL means {}; it must be a JSON object (BNC_EINVAL).
 * BNC_ECONFLICT when the email exists. */
bnc_status model_contact_create(struct store *st, const char *email, const char *attributes_json,
                                int64_t now, int64_t *id_out);
/* Create or update (import): attributes are merged into the existing ones. */
bnc_status model_contact_upsert(struct store *st, const char *email, const char *attributes_json,
                                int64_t now, int64_t *id_out, /* OUT: the contact id */
                                bool *created_out);           /* OUT: true when new; may be NULL */
/* Attributes: merge (PATCH/PUT semantics of DESIGN §8: keys given replace, others stay; a
 * JSON null value removes the key) or replace the whole object. Hygiene fields untouched. */
bnc_status model_contact_set_attributes(struct store *st, int64_t id, const char *json, bool merge,
                                        int64_t now);
/* Change the address: the contact returns to ACTIVE (DESIGN §6), audited as "email_change".
 * BNC_ECONFLICT when another contact has the new address. */
bnc_status model_contact_set_email(struct store *st, int64_t id, const char *new_email,
                                   const char *actor, int64_t now);
/* Reactivation (re-verification link used, admin): ACTIVE, soft count 0, the address
 * suppression lifted; audited with actor and why. BNC_ENOTFOUND. */
bnc_status model_contact_reactivate(struct store *st, int64_t contact_id, const char *actor,
                                    const char *why, int64_t now);
/* Delete a contact (its events and audit rows stay, detached). BNC_ENOTFOUND. */
bnc_status model_contact_delete(struct store *st, int64_t id);

struct model_contact_filter {
    const char *status; /* hygiene_status name (as decay leaves it at `now`), NULL = any */
    const char *list;   /* subscribed to this list, NULL = any */
    const char *reason; /* last_reason, NULL = any */
    int64_t since;      /* last_bounce_at >= since; 0 = any */
};
typedef int (*model_contact_cb)(void *ud, const struct model_contact *c); /* non-zero stops */
bnc_status model_contact_list(struct store *st, const struct policy_cfg *pc,
                              const struct model_contact_filter *f, /* may be NULL */
                              int64_t after_id, size_t limit, int64_t now, model_contact_cb cb,
                              void *ud, size_t *n_out); /* OUT: rows delivered; may be NULL */

/* ---- lists ------------------------------------------------------------------------- */

bnc_status model_list_ensure(struct store *st, const char *name, int64_t now, int64_t *id_out);
bnc_status model_list_subscribe(struct store *st, int64_t list_id, int64_t contact_id, int64_t now);
/* Names of the lists the contact is subscribed to, comma-separated into out ("" if none). */
bnc_status model_contact_lists(struct store *st, int64_t contact_id, char *out, size_t outlen);

#define MODEL_LIST_NAME_MAX 200
#define MODEL_LISTS_MAX     1000 /* lists in one model_contact_set_lists() */
/* A list name is 1..MODEL_LIST_NAME_MAX bytes without control characters. */
bool model_list_name_ok(const char *name);

struct model_list {
    int64_t id;
    const char *name;
    int64_t created_at;
    int64_t subscribed;   /* members subscribed now */
    int64_t unsubscribed; /* members who left (or were taken off by a bounce) */
};
typedef int (*model_list_cb)(void *ud, const struct model_list *l); /* non-zero stops */
/* Every list, cursor-paginated by id. */
bnc_status model_lists(struct store *st, int64_t after_id, size_t limit, model_list_cb cb, void *ud,
                       size_t *n_out); /* OUT: rows delivered; may be NULL */

struct model_membership {
    const char *list;
    bool subscribed;
    int64_t subscribed_at;
    int64_t unsubscribed_at;     /* 0 while subscribed */
    const char *unsubscribed_by; /* "bounce", "api", "import", "revert", "" = unknown */
};
typedef int (*model_membership_cb)(void *ud, const struct model_membership *m);
/* Every membership row of a contact (subscribed or not), by list name. BNC_ENOTFOUND. */
bnc_status model_contact_memberships(struct store *st, int64_t contact_id, model_membership_cb cb,
                                     void *ud);
/* Make names (duplicates allowed) the exact set of lists the contact is subscribed to:
 * missing lists are created, the others are left with unsubscribed_by = by. One audit row
 * (action "lists") when anything changed. BNC_EINVAL for a bad name, BNC_ELIMIT past
 * MODEL_LISTS_MAX, BNC_ENOTFOUND. */
bnc_status model_contact_set_lists(struct store *st, int64_t contact_id, const char *const *names,
                                   size_t n, const char *actor, /* audit actor */
                                   const char *by, /* "api", "import": who left the others */
                                   int64_t now, bool *changed_out); /* OUT; may be NULL */
/* Subscribe the contact again to every list a bounce took it off (not those it left). Part
 * of reactivation; call inside its transaction. *n_out = memberships restored; may be NULL. */
bnc_status model_lists_restore_bounced(struct store *st, int64_t contact_id, int64_t now,
                                       int64_t *n_out);

/* ---- check and suppressions -------------------------------------------------------- */

struct model_check {
    char address[MODEL_EMAIL_MAX + 1]; /* the address as normalized */
    bool sendable;
    bool known;      /* a contact exists */
    char status[16]; /* the contact's hygiene_status, "" when unknown */
    char reason[64]; /* the suppression reason when suppressed */
    char source[32]; /* bounce, complaint, manual, api, ... */
    int64_t since;   /* when it was suppressed */
};
/* One indexed lookup: is the address suppressed? (the hot path before every send). The
 * status is reported with decay applied at `now` when pc is non-NULL, as every read does.
 * BNC_EINVAL for an unusable address. */
bnc_status model_check(struct store *st, const struct policy_cfg *pc, const char *address,
                       int64_t now, struct model_check *out);
/* Bulk check (POST /api/v1/check): n addresses in one read-only transaction (far cheaper
 * per address on SQLite). rcs[i] is model_check's status for address i (BNC_EINVAL for an
 * unusable address, which fails only its own entry); returns BNC_OK unless the store
 * failed. A NULL address is BNC_EINVAL too. */
bnc_status model_check_many(struct store *st, const struct policy_cfg *pc,
                            const char *const *addresses, size_t n, int64_t now,
                            struct model_check *out, /* OUT: n results */
                            bnc_status *rcs);        /* OUT: n status codes */

struct model_suppression {
    int64_t id;
    const char *address;
    const char *reason;
    const char *source;
    const char *ref;
    int64_t created_at;
};
typedef int (*model_suppression_cb)(void *ud, const struct model_suppression *s);

/* Suppress an address (contact or not); *created_out false when it already was. Audited. */
bnc_status model_suppress(struct store *st, const char *address, const char *reason,
                          const char *source, const char *actor, const char *ref, int64_t now,
                          bool *created_out);
/* Lift the suppression; the contact (if any) returns to ACTIVE with count 0. Audited.
 * BNC_ENOTFOUND when the address was neither suppressed nor a non-ACTIVE contact. */
bnc_status model_unsuppress(struct store *st, const char *address, const char *actor,
                            const char *why, int64_t now);
bnc_status model_suppression_get(struct store *st, const char *address, model_suppression_cb cb,
                                 void *ud);
bnc_status model_suppression_list(struct store *st, int64_t after_id, size_t limit,
                                  model_suppression_cb cb, void *ud, size_t *n_out);

/* ---- bounce events ----------------------------------------------------------------- */

struct model_event {
    int64_t id;
    int64_t contact_id; /* 0 when the address has no contact */
    const char *dedupe_key;
    const char *recipient;
    const char *domain;
    const char *status;
    const char *replycode;
    const char *reason;
    const char *kind;
    int hard; /* 1, 0, -1 */
    const char *action;
    const char *diagnostic;
    const char *origin;
    const char *source;
    const char *ref;
    const char *decided_by;
    const char *policy; /* what the policy did: strike, same_day, hard, escalated, ... */
    int64_t event_time;
    int64_t created_at;
    const char *message_id;
    const char *original_message_id;
    const char *feedback_type;
    int64_t reports; /* later paths that reported it (event_reports rows): model_event_reports */
};
struct model_event_filter {
    const char *recipient; /* NULL = any */
    const char *domain;
    const char *reason;
    const char *kind;
    int64_t contact_id; /* 0 = any */
    int64_t since;      /* event_time >= since; 0 = open */
    int64_t until;      /* event_time < until; 0 = open */
};
typedef int (*model_event_cb)(void *ud, const struct model_event *e);
bnc_status model_event_list(struct store *st, const struct model_event_filter *f, int64_t after_id,
                            size_t limit, model_event_cb cb, void *ud, size_t *n_out);

/* ---- applying verdicts (used by the pipeline and review resolution) ----------------- */

struct model_outcome {
    unsigned actions;     /* POLICY_A_* */
    bool duplicate;       /* the dedupe key existed: nothing was written */
    bool contact_changed; /* a contact's hygiene state changed */
    bool review_created;
    int64_t event_id;
    int64_t contact_id; /* 0 when the address has no contact */
};

/*
 * Record one verdict and carry out the policy: event row (dedupe_key unique), contact state
 * (with lazy decay), suppression, unsubscribe from every list, review item, audit row with
 * the state before and after. All inside one (nested) transaction. A contact's attributes
 * are never touched. event_time 0 = now. When the dedupe key exists, nothing changes but
 * (source, ref) is kept as one more path that reported the event (out->duplicate is set).
 */
bnc_status model_apply_verdict(struct store *st, const struct policy_cfg *pc,
                               const struct bnc_rcpt *v, /* the verdict */
                               const char *source,       /* "file", "smtp", "webhook:ses" */
                               const char *ref,          /* raw bounce reference */
                               const char *dedupe_key,   /* unique per event */
                               int64_t event_time,       /* from the bounce; 0 = now */
                               const char *actor,        /* "bounce", "review:<who>" */
                               int64_t now, struct model_outcome *out); /* OUT */

/* ---- review queue ------------------------------------------------------------------ */

struct model_review {
    int64_t id;
    int64_t event_id;
    int64_t contact_id;
    const char *recipient;
    const char *reason;
    const char *status;
    const char *diagnostic;
    const char *source;
    const char *ref;
    const char *state;      /* open, resolved */
    const char *resolution; /* hard, soft, ignore, "" */
    const char *resolved_by;
    int64_t event_time;
    int64_t resolved_at;
    int64_t created_at;
};
typedef int (*model_review_cb)(void *ud, const struct model_review *r);
bnc_status model_review_list(struct store *st, bool open_only, int64_t after_id, size_t limit,
                             model_review_cb cb, void *ud, size_t *n_out);
/* Resolve as "hard" (the hard path), "soft" (an address-side strike) or "ignore".
 * BNC_ENOTFOUND, BNC_ECONFLICT when already resolved, BNC_EINVAL for another word. */
bnc_status model_review_resolve(struct store *st, const struct policy_cfg *pc, int64_t id,
                                const char *resolution, const char *actor, int64_t now,
                                struct model_outcome *out); /* OUT; may be NULL */

/* ---- audit log --------------------------------------------------------------------- */

struct model_audit {
    int64_t id;
    int64_t contact_id; /* 0 when none */
    const char *address;
    const char *actor;
    const char *action; /* bounce, suppress, unsuppress, reactivate, email_change, sweep,
                           review, revert */
    const char *reason;
    const char *decided_by;
    const char *ref;
    int64_t event_id;
    const char *before; /* JSON */
    const char *after;  /* JSON */
    int64_t created_at;
    int64_t reverted_at; /* 0 = not reverted */
    int64_t reverts;     /* for a revert row: the id it reverted */
};
typedef int (*model_audit_cb)(void *ud, const struct model_audit *a);
/* address NULL = every entry. */
bnc_status model_audit_list(struct store *st, const char *address, int64_t after_id, size_t limit,
                            model_audit_cb cb, void *ud, size_t *n_out);
#define MODEL_REVERT_DEPS_SHOWN  32   /* dependents named in a refusal */
#define MODEL_REVERT_CASCADE_MAX 1000 /* most entries one cascade reverts */
struct model_revert {
    bool cascade;                          /* in: revert the dependent entries too, newest first */
    int64_t deps[MODEL_REVERT_DEPS_SHOWN]; /* out: dependents, newest first */
    size_t ndeps;                          /* out: how many there are (may exceed the ids shown) */
    size_t reverted;                       /* out: entries reverted (dependents and the entry) */
    int64_t new_id;                        /* out: the revert row of the entry itself */
};
/* Restore the contact's hygiene state, its suppression and its list memberships as they were
 * before entry `id`; itself audited (action "revert"). Later entries on the same contact or
 * address that still stand depend on it: without rv->cascade the revert is refused with
 * BNC_ECONFLICT and rv->ndeps > 0 (rv->deps names them); with it they are reverted first,
 * newest first, all in one transaction (BNC_ELIMIT past MODEL_REVERT_CASCADE_MAX).
 * BNC_ENOTFOUND; BNC_ECONFLICT with ndeps 0 when already reverted or itself a revert.
 * rv may be NULL: no cascade, and nothing reported back. */
bnc_status model_audit_revert(struct store *st, int64_t id, const char *actor, int64_t now,
                              struct model_revert *rv); /* IN/OUT */

/* ---- sweep, ingest records, stats ------------------------------------------------- */

/* Persist decay for every contact whose last strike is older than the decay window;
 * each reset is audited (actor "sweep"). */
bnc_status model_sweep(struct store *st, const struct policy_cfg *pc, int64_t now, size_t *n_out);

/* Has this input been committed before (same source+ref, or same content hash)? */
bnc_status model_ingested_find(struct store *st, const char *source, const char *ref,
                               const char *content_hash, bool *found_out);
/* Record a committed input (call inside the input's transaction). BNC_ECONFLICT when it
 * already exists (a concurrent node committed it first). */
bnc_status model_ingested_add(struct store *st, const char *source, const char *ref,
                              const char *content_hash, int64_t verdicts, bool not_bounce,
                              int64_t now);
/* A whole input was a duplicate of the one committed with content_hash: keep (source, ref)
 * as another path that reported each of that input's events (nothing when it is the same
 * path). Call inside the caller's transaction. */
bnc_status model_event_reports_copy(struct store *st, const char *content_hash,
                                    const char *source, const char *ref, int64_t now);
/* The paths that reported event_id after the first one (bounce_events.source/ref), oldest
 * first; the strings are valid during the callback only. */
typedef int (*model_report_cb)(void *ud, const char *source, const char *ref, const char *origin,
                               int64_t reported_at);
bnc_status model_event_reports(struct store *st, int64_t event_id, model_report_cb cb, void *ud);
bnc_status model_offset_get(struct store *st, const char *source, int64_t *pos_out);
bnc_status model_offset_set(struct store *st, const char *source, int64_t pos, int64_t now);

enum model_stat_dim {
    MODEL_STAT_REASON = 0, /* events by reason */
    MODEL_STAT_KIND,       /* events by kind */
    MODEL_STAT_DOMAIN,     /* events by recipient domain */
    MODEL_STAT_DAY,        /* events by UTC day, key "YYYY-MM-DD" */
    MODEL_STAT_STATUS      /* contacts by hygiene_status (since/until ignored) */
};
typedef int (*model_stat_cb)(void *ud, const char *key, int64_t count);
/* Counts, largest first (by day: oldest first); since/until bound event_time (0 = open).
 * Contacts by status are counted with decay applied at `now` (pc non-NULL), as reads do. */
bnc_status model_stats(struct store *st, const struct policy_cfg *pc, int64_t now,
                       enum model_stat_dim dim, int64_t since, int64_t until, size_t limit,
                       model_stat_cb cb, void *ud);

struct model_totals {
    int64_t contacts;
    int64_t by_status[HYG__COUNT];
    int64_t suppressions;
    int64_t events;
    int64_t review_open;
    int64_t messages;   /* committed inputs */
    int64_t not_bounce; /* of which not bounces */
};
/* by_status with decay applied at `now` when pc is non-NULL. */
bnc_status model_totals(struct store *st, const struct policy_cfg *pc, int64_t now,
                        struct model_totals *out);

#endif
