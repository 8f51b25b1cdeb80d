/*
 * model_dash.h - the read queries an operator's screen needs beyond model.h: bounce events
 * newest first by event time (a time+id cursor), one event by id, per-day counts by kind and
 * reason, the top recipient domains, the span of all stored events, suppressions searched
 * and filtered newest first, every event's diagnostic for a rule's impact, and undoing a
 * review resolution. Portable SQL over store_exec(), like model.h.
 * Ownership: strings in rows handed to callbacks are borrowed for the callback; every
 * function borrows its arguments.
 */
#ifndef BNC_STORE_MODEL_DASH_H
#define BNC_STORE_MODEL_DASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounced.h"
#include "store/model.h"

struct store;

/* Where a newest-first page starts: rows strictly older than (time, id); 0, 0 = newest. */
struct model_cursor {
    int64_t time;
    int64_t id;
};

/* Events matching f (model.h filter), newest event_time first (ties: highest id first),
 * strictly before cur (NULL or zeros = from the newest), at most limit
 * (1..MODEL_LIMIT_MAX). */
bnc_status model_event_recent(struct store *st, const struct model_event_filter *f,
                              const struct model_cursor *cur, /* may be NULL */
                              size_t limit, model_event_cb cb, void *ud,
                              size_t *n_out); /* OUT: rows delivered; may be NULL */
/* How many events match f. */
bnc_status model_event_count(struct store *st, const struct model_event_filter *f, int64_t *n_out);
/* One event; BNC_ENOTFOUND. */
bnc_status model_event_get(struct store *st, int64_t id, model_event_cb cb, void *ud);

/* Counts of events matching f per UTC day number (event_time / 86400), kind and reason, in
 * day order. */
typedef int (*model_series_cb)(void *ud, int64_t day, const char *kind, const char *reason,
                               int64_t count);
bnc_status model_event_series(struct store *st, const struct model_event_filter *f,
                              model_series_cb cb, void *ud);
/* The recipient domains of events matching f, most events first, at most limit. */
bnc_status model_event_domains(struct store *st, const struct model_event_filter *f, size_t limit,
                               model_stat_cb cb, void *ud);

/* Every stored event: how many, the oldest and newest event_time (0 when none). */
struct model_span {
    int64_t count;
    int64_t first;
    int64_t last;
};
bnc_status model_event_span(struct store *st, struct model_span *out);

/* Every event's diagnostic, reason and kind in id order, for reasoning over history (what a
 * new rule would change). cb returns non-zero to stop. Reads in pages; the whole walk is not
 * one snapshot. */
typedef int (*model_diag_cb)(void *ud, int64_t id, const char *diagnostic, const char *reason,
                             const char *kind);
bnc_status model_event_diagnostics(struct store *st, model_diag_cb cb, void *ud,
                                   size_t *n_out); /* OUT: rows read; may be NULL */

struct model_supp_filter {
    const char *q;      /* part of the address (case-insensitive); NULL = any */
    const char *reason; /* exact; NULL = any */
    const char *source; /* exact; NULL = any */
    int64_t since;      /* created_at >= since; 0 = open */
    int64_t until;      /* created_at < until; 0 = open */
};
/* Suppressions matching f, newest first (highest id first), ids below before_id (0 = from
 * the newest), at most limit. */
bnc_status model_supp_search(struct store *st, const struct model_supp_filter *f, int64_t before_id,
                             size_t limit, model_suppression_cb cb, void *ud,
                             size_t *n_out); /* OUT: rows delivered; may be NULL */
/* How many suppressions match f. */
bnc_status model_supp_count(struct store *st, const struct model_supp_filter *f, int64_t *n_out);

/* Undo the resolution of review item id: revert the audit entries it wrote (the contact,
 * its suppression and lists as before), and open the item again. BNC_ENOTFOUND,
 * BNC_ECONFLICT when the item is open. *reverted_out: audit entries reverted. */
bnc_status model_review_reopen(struct store *st, int64_t id, const char *actor, int64_t now,
                               size_t *reverted_out); /* OUT; may be NULL */

#endif
