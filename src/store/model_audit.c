/*
 * model_audit.c - the audit log (list, revert) and the decay sweep.
 *
 * An audit row holds JSON snapshots of what it changed: the contact's hygiene fields, the
 * address suppression and the subscribed lists, before and after. A revert restores the
 * "before" side for exactly what the entry changed: hygiene fields are set back, a
 * suppression the entry added is lifted (one it removed is put back), lists it unsubscribed
 * are subscribed again and lists it subscribed are left again. Memberships the entry did not
 * touch stay as they are now. The revert is itself an audit row (action "revert").
 * An entry that later entries on the same contact or address were made on top of is not
 * reverted alone (that would undo them without a trace): the revert is refused and names
 * them, unless the caller asks for the cascade, which reverts them newest first and then the
 * entry, in one transaction.
 * What it does not do: revert attribute changes (attributes are not hygiene data).
 * STANDARDS: none. LIMITS: the sweep works in batches of SWEEP_BATCH contacts; a cascade
 * reverts at most MODEL_REVERT_CASCADE_MAX entries (BNC_ELIMIT past it, nothing done).
 * Ownership: see model.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "store/model_int.h"

#define SWEEP_BATCH 500

#define AUDIT_COLS                                                                              \
    "id, contact_id, address, actor, action, reason, decided_by, ref, event_id, state_before, " \
    "state_after, created_at, reverted_at, reverts"

struct au_ctx {
    model_audit_cb cb;
    void *ud;
    size_t n;
};

static void
au_fill(const struct store_row *r, struct model_audit *a)
{
    a->id = mrow_int(r, 0);
    a->contact_id = mrow_int(r, 1);
    a->address = mrow_text(r, 2);
    a->actor = mrow_text(r, 3);
    a->action = mrow_text(r, 4);
    a->reason = mrow_text(r, 5);
    a->decided_by = mrow_text(r, 6);
    a->ref = mrow_text(r, 7);
    a->event_id = mrow_int(r, 8);
    a->before = mrow_text(r, 9);
    a->after = mrow_text(r, 10);
    a->created_at = mrow_int(r, 11);
    a->reverted_at = mrow_int(r, 12);
    a->reverts = mrow_int(r, 13);
}

static int
au_row_cb(void *ud, const struct store_row *r)
{
    struct au_ctx *ac = ud;
    struct model_audit a;

    au_fill(r, &a);
    ac->n++;
    return ac->cb(ac->ud, &a);
}

bnc_status
model_audit_list(struct store *st, const char *address, int64_t after_id, size_t limit,
                 model_audit_cb cb, void *ud, size_t *n_out)
{
    static const char *q = "SELECT " AUDIT_COLS " FROM audit_log WHERE id > $1 AND ($2 = '' OR "
                           "address = $2) ORDER BY id LIMIT $3";
    char addr[MODEL_EMAIL_MAX + 1];
    struct au_ctx ac = {cb, ud, 0};
    struct store_value p[3];
    bnc_status rc;

    addr[0] = '\0';
    if (address != NULL && address[0] != '\0' && !model_normalize_email(address, addr)) {
        return BNC_EINVAL;
    }
    p[0] = sv_int(after_id);
    p[1] = sv_text(addr);
    p[2] = sv_int((int64_t)mlimit(limit));
    rc = store_exec(st, q, p, 3, au_row_cb, &ac, NULL);
    if (n_out != NULL) {
        *n_out = ac.n;
    }
    return rc;
}

struct au_one {
    bool found;
    int64_t contact_id;
    int64_t reverted_at;
    char address[MODEL_EMAIL_MAX + 1];
    char action[32];
    char *before;
    char *after;
};

static int
au_one_cb(void *ud, const struct store_row *r)
{
    struct au_one *o = ud;
    struct model_audit a;

    au_fill(r, &a);
    o->found = true;
    o->contact_id = a.contact_id;
    o->reverted_at = a.reverted_at;
    mcopy(o->address, sizeof(o->address), a.address);
    mcopy(o->action, sizeof(o->action), a.action);
    o->before = xstrdup(a.before);
    o->after = xstrdup(a.after);
    return 1;
}

static bnc_status
contact_exists(struct store *st, int64_t id, bool *yes)
{
    static const char *q = "SELECT id FROM contacts WHERE id = $1";
    struct store_value p[1] = {sv_int(id)};
    int64_t got;
    bnc_status rc = store_query_int(st, q, p, 1, &got);

    *yes = rc == BNC_OK;
    return rc == BNC_ENOTFOUND ? BNC_OK : rc;
}

static bnc_status
restore_lists(struct store *st, int64_t contact_id, const struct snap *b, const struct snap *a,
              int64_t now)
{
    static const char *q_sub =
        "INSERT INTO list_members (list_id, contact_id, status, subscribed_at) VALUES ($1, $2, "
        "'subscribed', $3) ON CONFLICT (list_id, contact_id) DO UPDATE SET status = 'subscribed', "
        "unsubscribed_at = NULL, unsubscribed_by = NULL";
    static const char *q_unsub =
        "UPDATE list_members SET status = 'unsubscribed', unsubscribed_at = $3, unsubscribed_by = "
        "'revert' WHERE contact_id = $2 AND list_id = (SELECT id FROM lists WHERE name = $1)";
    struct store_value p[3];
    int64_t list_id;
    bnc_status rc;
    size_t i;

    for (i = 0; i < b->nlists; i++) {
        if (snap_has_list(a, b->lists[i])) {
            continue;
        }
        if ((rc = model_list_ensure(st, b->lists[i], now, &list_id)) != BNC_OK) {
            return rc;
        }
        p[0] = sv_int(list_id);
        p[1] = sv_int(contact_id);
        p[2] = sv_int(now);
        if ((rc = store_exec(st, q_sub, p, 3, NULL, NULL, NULL)) != BNC_OK) {
            return rc;
        }
    }
    for (i = 0; i < a->nlists; i++) {
        if (snap_has_list(b, a->lists[i])) {
            continue;
        }
        p[0] = sv_text(a->lists[i]);
        p[1] = sv_int(contact_id);
        p[2] = sv_int(now);
        if ((rc = store_exec(st, q_unsub, p, 3, NULL, NULL, NULL)) != BNC_OK) {
            return rc;
        }
    }
    return BNC_OK;
}

static bnc_status
restore_suppression(struct store *st, const char *address, const struct snap *b,
                    const struct snap *a, int64_t now)
{
    static const char *q_ins =
        "INSERT INTO suppressions (address, reason, source, ref, created_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (address) DO NOTHING";
    static const char *q_del = "DELETE FROM suppressions WHERE address = $1";
    struct store_value p[5];

    if (b->suppressed && !a->suppressed) {
        p[0] = sv_text(address);
        p[1] = sv_text(b->supp_reason);
        p[2] = sv_text(b->supp_source);
        p[3] = sv_text(b->supp_ref ? b->supp_ref : "");
        p[4] = sv_int(b->supp_since ? b->supp_since : now);
        return store_exec(st, q_ins, p, 5, NULL, NULL, NULL);
    }
    if (!b->suppressed && a->suppressed) {
        p[0] = sv_text(address);
        return store_exec(st, q_del, p, 1, NULL, NULL, NULL);
    }
    return BNC_OK;
}

/* The target row, checked (exists, not reverted, not a revert) and its snapshots parsed. */
static bnc_status
revert_load(struct store *st, int64_t id, struct au_one *one, struct snap *b, struct snap *a)
{
    static const char *q_get = "SELECT " AUDIT_COLS " FROM audit_log WHERE id = $1";
    struct store_value p[1] = {sv_int(id)};
    bnc_status rc;

    if ((rc = store_exec(st, q_get, p, 1, au_one_cb, one, NULL)) != BNC_OK) {
        return rc;
    }
    if (!one->found) {
        return BNC_ENOTFOUND;
    }
    if (one->reverted_at != 0 || strcmp(one->action, "revert") == 0) {
        return BNC_ECONFLICT;
    }
    if (!snap_parse(one->before, b) || !snap_parse(one->after, a)) {
        return BNC_EINVAL;
    }
    return BNC_OK;
}

/* Put back what entry `id` changed and write the revert row (inside the caller's
 * transaction). */
static bnc_status
revert_apply(struct store *st, int64_t id, const struct au_one *one, const struct snap *b,
             const struct snap *a, const char *actor, int64_t now, int64_t *new_id)
{
    static const char *q_mark = "UPDATE audit_log SET reverted_at = $2 WHERE id = $1 AND "
                                "reverted_at IS NULL";
    static const char *q_link = "UPDATE audit_log SET reverts = $2 WHERE id = $1";
    struct store_value p[2];
    struct snap cur;
    char why[64];
    int64_t changes = 0, cid;
    bool has_contact = false;
    bnc_status rc;

    memset(&cur, 0, sizeof(cur));
    if (one->contact_id > 0 && (rc = contact_exists(st, one->contact_id, &has_contact)) != BNC_OK) {
        return rc;
    }
    cid = has_contact ? one->contact_id : 0;
    if ((rc = snap_load(st, cid, one->address, &cur)) != BNC_OK) {
        return rc;
    }
    snprintf(why, sizeof(why), "revert of audit #%lld", (long long)id);
    if ((has_contact && b->contact &&
         (rc = model_write_state(st, cid, &b->cs, b->last_status, now)) != BNC_OK) ||
        (rc = restore_suppression(st, one->address, b, a, now)) != BNC_OK ||
        (has_contact && (rc = restore_lists(st, cid, b, a, now)) != BNC_OK) ||
        (rc = audit_change(st, cid, one->address, &cur, actor ? actor : "admin", "revert", why, "",
                           "", 0, now, new_id)) != BNC_OK) {
        snap_free(&cur);
        return rc;
    }
    snap_free(&cur);
    p[0] = sv_int(*new_id);
    p[1] = sv_int(id);
    if ((rc = store_exec(st, q_link, p, 2, NULL, NULL, NULL)) != BNC_OK) {
        return rc;
    }
    p[0] = sv_int(id);
    p[1] = sv_int(now);
    if ((rc = store_exec(st, q_mark, p, 2, NULL, NULL, &changes)) != BNC_OK) {
        return rc;
    }
    return changes == 0 ? BNC_ECONFLICT : BNC_OK; /* 0: reverted concurrently */
}

static bnc_status
revert_one(struct store *st, int64_t id, const char *actor, int64_t now, int64_t *new_id)
{
    struct au_one one;
    struct snap b, a;
    bnc_status rc;

    memset(&one, 0, sizeof(one));
    memset(&b, 0, sizeof(b));
    memset(&a, 0, sizeof(a));
    if ((rc = revert_load(st, id, &one, &b, &a)) == BNC_OK) {
        rc = revert_apply(st, id, &one, &b, &a, actor, now, new_id);
    }
    free(one.before);
    free(one.after);
    snap_free(&b);
    snap_free(&a);
    return rc;
}

struct dep_list {
    struct model_revert *rv;
    int64_t *all; /* every dependent id, newest first (cascade) */
    size_t n, cap;
};

static int
dep_cb(void *ud, const struct store_row *r)
{
    struct dep_list *d = ud;
    int64_t id = mrow_int(r, 0);

    if (d->rv->ndeps < MODEL_REVERT_DEPS_SHOWN) {
        d->rv->deps[d->rv->ndeps] = id;
    }
    d->rv->ndeps++;
    if (d->n < d->cap) {
        d->all[d->n++] = id;
    }
    return 0;
}

/* The entries after `id` on the same contact or address that still stand: each was made on
 * top of what `id` did, so putting back what was before `id` would undo them silently. */
static bnc_status
revert_deps(struct store *st, int64_t id, struct dep_list *d)
{
    static const char *q_subj = "SELECT id FROM audit_log WHERE id = $1";
    static const char *q_deps =
        "SELECT d.id FROM audit_log t JOIN audit_log d ON d.id > t.id AND d.reverted_at IS NULL "
        "AND d.action <> 'revert' AND ((t.contact_id > 0 AND d.contact_id = t.contact_id) OR "
        "d.address = t.address) WHERE t.id = $1 ORDER BY d.id DESC LIMIT $2";
    struct store_value p[2] = {sv_int(id), sv_int(MODEL_REVERT_CASCADE_MAX + 1)};
    int64_t ignored;
    bnc_status rc = store_query_int(st, q_subj, p, 1, &ignored);

    if (rc != BNC_OK) {
        return rc; /* BNC_ENOTFOUND: no such entry */
    }
    return store_exec(st, q_deps, p, 2, dep_cb, d, NULL);
}

bnc_status
model_audit_revert(struct store *st, int64_t id, const char *actor, int64_t now,
                   struct model_revert *rv)
{
    struct model_revert none;
    struct dep_list d;
    int64_t new_id = 0;
    bnc_status rc;
    size_t i;

    if (rv == NULL) { /* no cascade, nothing to report */
        memset(&none, 0, sizeof(none));
        rv = &none;
    }
    rv->ndeps = 0;
    rv->reverted = 0;
    rv->new_id = 0;
    memset(&d, 0, sizeof(d));
    d.rv = rv;
    d.cap = rv->cascade ? MODEL_REVERT_CASCADE_MAX + 1 : 0;
    d.all = d.cap > 0 ? xcalloc(d.cap, sizeof(*d.all)) : NULL;
    if ((rc = store_begin(st)) != BNC_OK) {
        free(d.all);
        return rc;
    }
    rc = revert_deps(st, id, &d);
    if (rc == BNC_OK && rv->ndeps > 0 && !rv->cascade) {
        rc = BNC_ECONFLICT; /* the caller names rv->deps */
    } else if (rc == BNC_OK && rv->ndeps > MODEL_REVERT_CASCADE_MAX) {
        rc = BNC_ELIMIT;
    }
    for (i = 0; rc == BNC_OK && i < d.n; i++) {
        rc = revert_one(st, d.all[i], actor, now, &new_id); /* newest first */
        rv->reverted++;
    }
    if (rc == BNC_OK) {
        rc = revert_one(st, id, actor, now, &new_id);
    }
    free(d.all);
    if (rc != BNC_OK) {
        store_rollback(st);
        rv->reverted = 0;
        return rc;
    }
    if ((rc = store_commit(st)) != BNC_OK) {
        rv->reverted = 0;
        return rc;
    }
    rv->reverted++;
    rv->new_id = new_id;
    return BNC_OK;
}

/* ---- sweep ---- */

struct id_list {
    int64_t *ids;
    size_t n;
};

static int
id_cb(void *ud, const struct store_row *r)
{
    struct id_list *l = ud;
    if (l->n < SWEEP_BATCH) {
        l->ids[l->n++] = mrow_int(r, 0);
    }
    return 0;
}

static bnc_status
sweep_one(struct store *st, const struct policy_cfg *pc, int64_t id, int64_t now, bool *done)
{
    struct model_contact c;
    struct contact_state cs;
    struct snap before;
    bnc_status rc;

    *done = false;
    if ((rc = store_begin(st)) != BNC_OK) {
        return rc;
    }
    rc = model_contact_get(st, NULL, id, now, &c);
    if (rc == BNC_ENOTFOUND) {
        return store_commit(st);
    }
    if (rc != BNC_OK) {
        store_rollback(st);
        return rc;
    }
    model_contact_state(&c, &cs);
    if (policy_decay(pc, &cs, now, &cs)) {
        if ((rc = snap_load(st, id, c.email, &before)) == BNC_OK) {
            if ((rc = model_write_state(st, id, &cs, c.last_status, now)) == BNC_OK) {
                rc = audit_change(st, id, c.email, &before, "sweep", "sweep", "soft count decayed",
                                  "policy.soft_decay_days", "", 0, now, NULL);
            }
            snap_free(&before);
        }
        *done = rc == BNC_OK;
    }
    model_contact_free(&c);
    if (rc != BNC_OK) {
        store_rollback(st);
        *done = false;
        return rc;
    }
    return store_commit(st);
}

bnc_status
model_sweep(struct store *st, const struct policy_cfg *pc, int64_t now, size_t *n_out)
{
    static const char *q = "SELECT id FROM contacts WHERE soft_bounce_count > 0 AND "
                           "hygiene_status IN ('ACTIVE', 'SOFT_BOUNCING') AND last_soft_day < $1 "
                           "AND id > $2 ORDER BY id LIMIT $3";
    int64_t cutoff = policy_decay_cutoff(pc, now);
    struct id_list l;
    struct store_value p[3];
    int64_t after = 0;
    size_t total = 0, i;
    bnc_status rc = BNC_OK;
    bool done;

    l.ids = xcalloc(SWEEP_BATCH, sizeof(*l.ids));
    for (;;) {
        l.n = 0;
        p[0] = sv_int(cutoff);
        p[1] = sv_int(after);
        p[2] = sv_int(SWEEP_BATCH);
        if ((rc = store_exec(st, q, p, 3, id_cb, &l, NULL)) != BNC_OK || l.n == 0) {
            break;
        }
        for (i = 0; i < l.n && rc == BNC_OK; i++) {
            rc = sweep_one(st, pc, l.ids[i], now, &done);
            total += done ? 1 : 0;
        }
        if (rc != BNC_OK) {
            break;
        }
        after = l.ids[l.n - 1];
    }
    free(l.ids);
    if (n_out != NULL) {
        *n_out = total;
    }
    return rc;
}
