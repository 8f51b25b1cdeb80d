/*
 * model_dash.c - the queries behind the dashboard and the exports (model_dash.h): events
 * newest first by event time, per-day series, top domains, the span of history, searched
 * suppressions, the diagnostic walk for a rule's impact, and reopening a review item.
 *
 * Newest-first paging uses a (event_time, id) cursor so a page boundary inside one second
 * neither repeats nor skips a row; the cursor bound is always present (INT64_MAX when the
 * page starts at the newest), so the event_time index gives the range directly.
 * What it does not do: write events or decide anything (model_hygiene.c does).
 * LIMITS: pages MODEL_LIMIT_MAX rows; the diagnostic walk reads MODEL_DIAG_PAGE rows per
 * query; a review resolution is undone over at most MODEL_REOPEN_MAX audit entries
 * (BNC_ELIMIT past it: nothing is changed).
 * Ownership: see model_dash.h.
 */
#include "store/model_dash.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "store/model_int.h"

#define MODEL_DIAG_PAGE  1000
#define MODEL_REOPEN_MAX 64
#define EV_WHERE_MAX     400
#define EV_PARAMS_MAX    12

/* The WHERE clause of an event filter: the time bounds always (open = the extremes), then
 * one plain comparison per filter that is set, so the planner can pick the index that fits
 * (bounce_events_dash_idx covers a filter on time alone). The text is built from fixed
 * fragments; every value is a bound parameter. */
struct ev_where {
    char sql[EV_WHERE_MAX];
    struct store_value p[EV_PARAMS_MAX];
    size_t np;
    char addr[MODEL_EMAIL_MAX + 1];
};

struct dash_ev {
    model_event_cb cb;
    void *ud;
    size_t n;
};

static int
dash_ev_cb(void *ud, const struct store_row *r)
{
    struct dash_ev *d = ud;
    struct model_event e;

    mrow_event(r, &e);
    d->n++;
    return d->cb(d->ud, &e);
}

/* Append " AND <col> = $n" with its value, when the value is set. */
static void
ev_where_add(struct ev_where *w, const char *col, struct store_value v, bool set)
{
    size_t len = strlen(w->sql);

    if (!set) {
        return;
    }
    w->p[w->np++] = v;
    snprintf(w->sql + len, sizeof(w->sql) - len, " AND %s = $%zu", col, w->np);
}

static void
ev_where_build(struct ev_where *w, const struct model_event_filter *f)
{
    struct model_event_filter none;

    if (f == NULL) {
        memset(&none, 0, sizeof(none));
        f = &none;
    }
    w->addr[0] = '\0';
    if (f->recipient != NULL && f->recipient[0] != '\0' &&
        !model_normalize_email(f->recipient, w->addr)) {
        mcopy(w->addr, sizeof(w->addr), f->recipient);
    }
    w->p[0] = sv_int(f->since != 0 ? f->since : INT64_MIN);
    w->p[1] = sv_int(f->until != 0 ? f->until : INT64_MAX);
    w->np = 2;
    snprintf(w->sql, sizeof(w->sql), "event_time >= $1 AND event_time < $2");
    ev_where_add(w, "recipient", sv_text(w->addr), w->addr[0] != '\0');
    ev_where_add(w, "domain", sv_text(f->domain), f->domain != NULL && f->domain[0] != '\0');
    ev_where_add(w, "reason", sv_text(f->reason), f->reason != NULL && f->reason[0] != '\0');
    ev_where_add(w, "kind", sv_text(f->kind), f->kind != NULL && f->kind[0] != '\0');
    ev_where_add(w, "contact_id", sv_int(f->contact_id), f->contact_id != 0);
}

bnc_status
model_event_recent(struct store *st, const struct model_event_filter *f,
                   const struct model_cursor *cur, size_t limit, model_event_cb cb, void *ud,
                   size_t *n_out)
{
    struct ev_where w;
    struct dash_ev d = {cb, ud, 0};
    bool from_newest = cur == NULL || (cur->time == 0 && cur->id == 0);
    char q[EV_WHERE_MAX + sizeof(MODEL_EVENT_COLS) + 200];
    bnc_status rc;
    size_t n;

    ev_where_build(&w, f);
    n = w.np;
    snprintf(q, sizeof(q),
             "SELECT " MODEL_EVENT_COLS " FROM bounce_events WHERE %s AND event_time <= $%zu AND "
             "(event_time < $%zu OR id < $%zu) ORDER BY event_time DESC, id DESC LIMIT $%zu",
             w.sql, n + 1, n + 1, n + 2, n + 3);
    w.p[n] = sv_int(from_newest ? INT64_MAX : cur->time);
    w.p[n + 1] = sv_int(from_newest ? INT64_MAX : cur->id);
    w.p[n + 2] = sv_int((int64_t)mlimit(limit));
    rc = store_exec(st, q, w.p, n + 3, dash_ev_cb, &d, NULL);
    if (n_out != NULL) {
        *n_out = d.n;
    }
    return rc;
}

bnc_status
model_event_count(struct store *st, const struct model_event_filter *f, int64_t *n_out)
{
    struct ev_where w;
    char q[EV_WHERE_MAX + 64];

    ev_where_build(&w, f);
    snprintf(q, sizeof(q), "SELECT COUNT(*) FROM bounce_events WHERE %s", w.sql);
    return store_query_int(st, q, w.p, w.np, n_out);
}

bnc_status
model_event_get(struct store *st, int64_t id, model_event_cb cb, void *ud)
{
    static const char *q = "SELECT " MODEL_EVENT_COLS " FROM bounce_events WHERE id = $1";
    struct store_value p[1] = {sv_int(id)};
    struct dash_ev d = {cb, ud, 0};
    bnc_status rc = store_exec(st, q, p, 1, dash_ev_cb, &d, NULL);

    return rc == BNC_OK && d.n == 0 ? BNC_ENOTFOUND : rc;
}

struct dash_series {
    model_series_cb cb;
    void *ud;
};

static int
dash_series_cb(void *ud, const struct store_row *r)
{
    struct dash_series *d = ud;

    return d->cb(d->ud, mrow_int(r, 0), mrow_text(r, 1), mrow_text(r, 2), mrow_int(r, 3));
}

bnc_status
model_event_series(struct store *st, const struct model_event_filter *f, model_series_cb cb,
                   void *ud)
{
    struct ev_where w;
    struct dash_series d = {cb, ud};
    char q[EV_WHERE_MAX + 200];

    ev_where_build(&w, f);
    snprintf(q, sizeof(q),
             "SELECT event_time / 86400, kind, reason, COUNT(*) FROM bounce_events WHERE %s "
             "GROUP BY event_time / 86400, kind, reason ORDER BY 1, 2, 3",
             w.sql);
    return store_exec(st, q, w.p, w.np, dash_series_cb, &d, NULL);
}

struct dash_stat {
    model_stat_cb cb;
    void *ud;
};

static int
dash_stat_cb(void *ud, const struct store_row *r)
{
    struct dash_stat *d = ud;

    return d->cb(d->ud, mrow_text(r, 0), mrow_int(r, 1));
}

bnc_status
model_event_domains(struct store *st, const struct model_event_filter *f, size_t limit,
                    model_stat_cb cb, void *ud)
{
    struct ev_where w;
    struct dash_stat d = {cb, ud};
    char q[EV_WHERE_MAX + 200];

    ev_where_build(&w, f);
    snprintf(q, sizeof(q),
             "SELECT domain, COUNT(*) FROM bounce_events WHERE %s GROUP BY domain ORDER BY "
             "COUNT(*) DESC, domain LIMIT $%zu",
             w.sql, w.np + 1);
    w.p[w.np] = sv_int((int64_t)mlimit(limit));
    return store_exec(st, q, w.p, w.np + 1, dash_stat_cb, &d, NULL);
}

static int
dash_span_cb(void *ud, const struct store_row *r)
{
    struct model_span *s = ud;

    s->count = mrow_int(r, 0);
    s->first = mrow_int(r, 1);
    s->last = mrow_int(r, 2);
    return 1;
}

bnc_status
model_event_span(struct store *st, struct model_span *out)
{
    static const char *q = "SELECT COUNT(*), COALESCE(MIN(event_time), 0), "
                           "COALESCE(MAX(event_time), 0) FROM bounce_events";

    memset(out, 0, sizeof(*out));
    return store_exec(st, q, NULL, 0, dash_span_cb, out, NULL);
}

struct dash_diag {
    model_diag_cb cb;
    void *ud;
    size_t n;
    int64_t last;
    bool stop;
};

static int
dash_diag_cb(void *ud, const struct store_row *r)
{
    struct dash_diag *d = ud;

    d->n++;
    d->last = mrow_int(r, 0);
    if (d->cb(d->ud, d->last, mrow_text(r, 1), mrow_text(r, 2), mrow_text(r, 3)) != 0) {
        d->stop = true;
        return 1;
    }
    return 0;
}

bnc_status
model_event_diagnostics(struct store *st, model_diag_cb cb, void *ud, size_t *n_out)
{
    static const char *q = "SELECT id, diagnostic, reason, kind FROM bounce_events WHERE id > $1 "
                           "ORDER BY id LIMIT $2";
    struct dash_diag d = {cb, ud, 0, 0, false};
    struct store_value p[2];
    bnc_status rc = BNC_OK;
    size_t before;

    do {
        before = d.n;
        p[0] = sv_int(d.last);
        p[1] = sv_int(MODEL_DIAG_PAGE);
        rc = store_exec(st, q, p, 2, dash_diag_cb, &d, NULL);
    } while (rc == BNC_OK && !d.stop && d.n - before == MODEL_DIAG_PAGE);
    if (n_out != NULL) {
        *n_out = d.n;
    }
    return rc;
}

/* ---- suppressions ---- */

/* The suppression filter as parameters $1..$5: LIKE pattern, reason, source, since, until. */
#define SUPP_FILTER                                                                         \
    "($1 = '' OR address LIKE $1 ESCAPE '!') AND ($2 = '' OR reason = $2) AND ($3 = '' OR " \
    "source = $3) AND ($4 = 0 OR created_at >= $4) AND ($5 = 0 OR created_at < $5)"
#define SUPP_NFILTER 5

/* A LIKE pattern "%q%" with q lower-cased and %, _ and ! escaped by '!'; "" for no q. */
static void
supp_like(const char *q, char *out, size_t outlen)
{
    size_t o = 0;

    out[0] = '\0';
    if (q == NULL || q[0] == '\0' || outlen < 4) {
        return;
    }
    out[o++] = '%';
    for (; *q != '\0' && o + 3 < outlen; q++) {
        if (*q == '%' || *q == '_' || *q == '!') {
            out[o++] = '!';
        }
        out[o++] = (char)tolower((unsigned char)*q);
    }
    out[o++] = '%';
    out[o] = '\0';
}

static void
supp_filter_bind(const struct model_supp_filter *f, char *like, size_t likelen,
                 struct store_value *p)
{
    supp_like(f != NULL ? f->q : NULL, like, likelen);
    p[0] = sv_text(like);
    p[1] = sv_text(f != NULL && f->reason != NULL ? f->reason : "");
    p[2] = sv_text(f != NULL && f->source != NULL ? f->source : "");
    p[3] = sv_int(f != NULL ? f->since : 0);
    p[4] = sv_int(f != NULL ? f->until : 0);
}

struct dash_supp {
    model_suppression_cb cb;
    void *ud;
    size_t n;
};

static int
dash_supp_cb(void *ud, const struct store_row *r)
{
    struct dash_supp *d = ud;
    struct model_suppression s;

    mrow_suppression(r, &s);
    d->n++;
    return d->cb(d->ud, &s);
}

bnc_status
model_supp_search(struct store *st, const struct model_supp_filter *f, int64_t before_id,
                  size_t limit, model_suppression_cb cb, void *ud, size_t *n_out)
{
    static const char *q = "SELECT id, address, reason, source, ref, created_at FROM "
                           "suppressions WHERE " SUPP_FILTER " AND id < $6 ORDER BY id DESC "
                           "LIMIT $7";
    char like[2 * MODEL_EMAIL_MAX + 4];
    struct store_value p[SUPP_NFILTER + 2];
    struct dash_supp d = {cb, ud, 0};
    bnc_status rc;

    supp_filter_bind(f, like, sizeof(like), p);
    p[5] = sv_int(before_id > 0 ? before_id : INT64_MAX);
    p[6] = sv_int((int64_t)mlimit(limit));
    rc = store_exec(st, q, p, SUPP_NFILTER + 2, dash_supp_cb, &d, NULL);
    if (n_out != NULL) {
        *n_out = d.n;
    }
    return rc;
}

bnc_status
model_supp_count(struct store *st, const struct model_supp_filter *f, int64_t *n_out)
{
    static const char *q = "SELECT COUNT(*) FROM suppressions WHERE " SUPP_FILTER;
    char like[2 * MODEL_EMAIL_MAX + 4];
    struct store_value p[SUPP_NFILTER];

    supp_filter_bind(f, like, sizeof(like), p);
    return store_query_int(st, q, p, SUPP_NFILTER, n_out);
}

/* ---- review ---- */

struct dash_ids {
    int64_t id[MODEL_REOPEN_MAX];
    size_t n;
    bool over;
};

static int
dash_ids_cb(void *ud, const struct store_row *r)
{
    struct dash_ids *d = ud;

    if (d->n == MODEL_REOPEN_MAX) {
        d->over = true;
        return 1;
    }
    d->id[d->n++] = mrow_int(r, 0);
    return 0;
}

static int
dash_item_cb(void *ud, const struct store_row *r)
{
    int64_t *v = ud;

    v[0] = 1;
    v[1] = strcmp(mrow_text(r, 0), "open") == 0;
    v[2] = mrow_int(r, 1);
    return 1;
}

/* The audit entries review item `id` wrote and nobody reverted, newest first. */
static bnc_status
reopen_entries(struct store *st, int64_t id, struct dash_ids *ids)
{
    static const char *q = "SELECT id FROM audit_log WHERE decided_by = $1 AND reverted_at IS "
                           "NULL AND reverts IS NULL ORDER BY id DESC";
    char decided[48];
    struct store_value p[1];
    bnc_status rc;

    snprintf(decided, sizeof(decided), "review:%lld", (long long)id);
    p[0] = sv_text(decided);
    rc = store_exec(st, q, p, 1, dash_ids_cb, ids, NULL);
    return rc == BNC_OK && ids->over ? BNC_ELIMIT : rc;
}

bnc_status
model_review_reopen(struct store *st, int64_t id, const char *actor, int64_t now,
                    size_t *reverted_out)
{
    static const char *q_get = "SELECT state, event_id FROM review_items WHERE id = $1";
    static const char *q_open = "UPDATE review_items SET state = 'open', resolution = '', "
                                "resolved_by = '', resolved_at = NULL WHERE id = $1";
    static const char *q_ev = "UPDATE bounce_events SET policy = 'review' WHERE id = $1";
    int64_t item[3] = {0, 0, 0}; /* found, open, event id */
    struct dash_ids ids;
    struct store_value p[1] = {sv_int(id)};
    bnc_status rc;
    size_t i;

    memset(&ids, 0, sizeof(ids));
    if ((rc = store_begin(st)) != BNC_OK) {
        return rc;
    }
    rc = store_exec(st, q_get, p, 1, dash_item_cb, item, NULL);
    if (rc == BNC_OK && item[0] == 0) {
        rc = BNC_ENOTFOUND;
    } else if (rc == BNC_OK && item[1] != 0) {
        rc = BNC_ECONFLICT;
    }
    if (rc == BNC_OK) {
        rc = reopen_entries(st, id, &ids);
    }
    for (i = 0; rc == BNC_OK && i < ids.n; i++) {
        rc = model_audit_revert(st, ids.id[i], actor, now, NULL);
    }
    if (rc == BNC_OK) {
        rc = store_exec(st, q_open, p, 1, NULL, NULL, NULL);
    }
    if (rc == BNC_OK && item[2] > 0) {
        p[0] = sv_int(item[2]);
        rc = store_exec(st, q_ev, p, 1, NULL, NULL, NULL);
    }
    if (rc != BNC_OK) {
        store_rollback(st);
        return rc;
    }
    if ((rc = store_commit(st)) == BNC_OK && reverted_out != NULL) {
        *reverted_out = ids.n;
    }
    return rc;
}
