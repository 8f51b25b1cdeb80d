/*
 * model_lists.c - lists and a contact's memberships as a person sees and changes them: every
 * list with its subscriber count, a contact's memberships with who left each, the set of
 * lists a contact is subscribed to replaced in one audited change, and the memberships a
 * bounce took away given back when the contact is reactivated.
 *
 * A membership row is never deleted (an audit revert puts it back as it was); leaving sets
 * status 'unsubscribed', the time and who did it (unsubscribed_by: 'bounce' for the hygiene
 * policy, else the actor's channel such as 'api' or 'import'). Reactivation restores only the
 * 'bounce' ones: a contact who left a list himself stays off it.
 * What it does not do: create contacts (model_contacts.c) or unsubscribe on bounces
 * (model_hygiene.c).
 * STANDARDS: none. LIMITS: list names 1..MODEL_LIST_NAME_MAX bytes; at most MODEL_LISTS_MAX
 * lists in one set.
 * Ownership: see model.h.
 */
#include <stdlib.h>
#include <string.h>

#include "store/model_int.h"

static const char SQL_SUBSCRIBE[] =
    "INSERT INTO list_members (list_id, contact_id, status, subscribed_at) VALUES ($1, $2, "
    "'subscribed', $3) ON CONFLICT (list_id, contact_id) DO UPDATE SET status = 'subscribed', "
    "subscribed_at = excluded.subscribed_at, unsubscribed_at = NULL, unsubscribed_by = NULL "
    "WHERE list_members.status <> 'subscribed'";

struct lists_ctx {
    model_list_cb cb;
    void *ud;
    size_t n;
};

static int
lists_row_cb(void *ud, const struct store_row *r)
{
    struct lists_ctx *lc = ud;
    struct model_list l;

    l.id = mrow_int(r, 0);
    l.name = mrow_text(r, 1);
    l.created_at = mrow_int(r, 2);
    l.subscribed = mrow_int(r, 3);
    l.unsubscribed = mrow_int(r, 4);
    lc->n++;
    return lc->cb(lc->ud, &l);
}

bnc_status
model_lists(struct store *st, int64_t after_id, size_t limit, model_list_cb cb, void *ud,
            size_t *n_out)
{
    static const char *q =
        "SELECT l.id, l.name, l.created_at, (SELECT COUNT(*) FROM list_members m WHERE "
        "m.list_id = l.id AND m.status = 'subscribed'), (SELECT COUNT(*) FROM list_members m "
        "WHERE m.list_id = l.id AND m.status <> 'subscribed') FROM lists l WHERE l.id > $1 "
        "ORDER BY l.id LIMIT $2";
    struct lists_ctx lc = {cb, ud, 0};
    struct store_value p[2] = {sv_int(after_id), sv_int((int64_t)mlimit(limit))};
    bnc_status rc = store_exec(st, q, p, 2, lists_row_cb, &lc, NULL);

    if (n_out != NULL) {
        *n_out = lc.n;
    }
    return rc;
}

struct member_ctx {
    model_membership_cb cb;
    void *ud;
};

static int
member_row_cb(void *ud, const struct store_row *r)
{
    struct member_ctx *mc = ud;
    struct model_membership m;

    m.list = mrow_text(r, 0);
    m.subscribed = strcmp(mrow_text(r, 1), "subscribed") == 0;
    m.subscribed_at = mrow_int(r, 2);
    m.unsubscribed_at = mrow_int(r, 3);
    m.unsubscribed_by = mrow_text(r, 4);
    return mc->cb(mc->ud, &m);
}

bnc_status
model_contact_memberships(struct store *st, int64_t contact_id, model_membership_cb cb, void *ud)
{
    static const char *q_c = "SELECT id FROM contacts WHERE id = $1";
    static const char *q = "SELECT l.name, m.status, m.subscribed_at, m.unsubscribed_at, "
                           "m.unsubscribed_by FROM list_members m JOIN lists l ON l.id = "
                           "m.list_id WHERE m.contact_id = $1 ORDER BY l.name";
    struct member_ctx mc = {cb, ud};
    struct store_value p[1] = {sv_int(contact_id)};
    int64_t got;
    bnc_status rc;

    if ((rc = store_query_int(st, q_c, p, 1, &got)) != BNC_OK) {
        return rc; /* BNC_ENOTFOUND: no such contact */
    }
    return store_exec(st, q, p, 1, member_row_cb, &mc, NULL);
}

bool
model_list_name_ok(const char *name)
{
    size_t i, n = name != NULL ? strlen(name) : 0;

    if (n == 0 || n > MODEL_LIST_NAME_MAX) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
            return false; /* no control characters: names end up in CSV, JSON and logs */
        }
    }
    return true;
}

/* Subscribe to each of names (creating lists), then leave every other subscribed list. */
static bnc_status
lists_write(struct store *st, int64_t contact_id, const char *const *names, size_t n,
            const struct snap *before, const char *by, int64_t now)
{
    static const char *q_leave = "UPDATE list_members SET status = 'unsubscribed', "
                                 "unsubscribed_at = $3, unsubscribed_by = $4 WHERE contact_id = "
                                 "$2 AND status = 'subscribed' AND list_id = (SELECT id FROM lists "
                                 "WHERE name = $1)";
    struct store_value p[4];
    int64_t list_id;
    bnc_status rc;
    size_t i, k;

    for (i = 0; i < n; i++) {
        if ((rc = model_list_ensure(st, names[i], now, &list_id)) != BNC_OK) {
            return rc;
        }
        p[0] = sv_int(list_id);
        p[1] = sv_int(contact_id);
        p[2] = sv_int(now);
        if ((rc = store_exec(st, SQL_SUBSCRIBE, p, 3, NULL, NULL, NULL)) != BNC_OK) {
            return rc;
        }
    }
    for (i = 0; i < before->nlists; i++) {
        for (k = 0; k < n && strcmp(names[k], before->lists[i]) != 0; k++) {
        }
        if (k < n) {
            continue; /* still wanted */
        }
        p[0] = sv_text(before->lists[i]);
        p[1] = sv_int(contact_id);
        p[2] = sv_int(now);
        p[3] = sv_text(by);
        if ((rc = store_exec(st, q_leave, p, 4, NULL, NULL, NULL)) != BNC_OK) {
            return rc;
        }
    }
    return BNC_OK;
}

/* Is the set of names (duplicates allowed) other than the subscribed lists of before? */
static bool
lists_differ(const struct snap *before, const char *const *names, size_t n)
{
    size_t i, k;

    for (i = 0; i < n; i++) {
        if (!snap_has_list(before, names[i])) {
            return true;
        }
    }
    for (i = 0; i < before->nlists; i++) {
        for (k = 0; k < n && strcmp(names[k], before->lists[i]) != 0; k++) {
        }
        if (k == n) {
            return true;
        }
    }
    return false;
}

bnc_status
model_contact_set_lists(struct store *st, int64_t contact_id, const char *const *names, size_t n,
                        const char *actor, const char *by, int64_t now, bool *changed_out)
{
    struct model_contact c;
    struct snap before;
    bool changed = false;
    bnc_status rc;
    size_t i;

    if (n > MODEL_LISTS_MAX) {
        return BNC_ELIMIT;
    }
    for (i = 0; i < n; i++) {
        if (!model_list_name_ok(names[i])) {
            return BNC_EINVAL;
        }
    }
    if ((rc = store_begin(st)) != BNC_OK) {
        return rc;
    }
    if ((rc = model_contact_get(st, NULL, contact_id, now, &c)) != BNC_OK) {
        store_rollback(st);
        return rc;
    }
    if ((rc = snap_load(st, contact_id, c.email, &before)) == BNC_OK) {
        changed = lists_differ(&before, names, n);
        if (changed && (rc = lists_write(st, contact_id, names, n, &before, by, now)) == BNC_OK) {
            rc = audit_change(st, contact_id, c.email, &before, actor, "lists", "lists set", "", "",
                              0, now, NULL);
        }
        snap_free(&before);
    }
    model_contact_free(&c);
    if (rc != BNC_OK) {
        store_rollback(st);
        return rc;
    }
    if (changed_out != NULL) {
        *changed_out = changed;
    }
    return store_commit(st);
}

bnc_status
model_lists_restore_bounced(struct store *st, int64_t contact_id, int64_t now, int64_t *n_out)
{
    static const char *q =
        "UPDATE list_members SET status = 'subscribed', subscribed_at = $2, unsubscribed_at = "
        "NULL, unsubscribed_by = NULL WHERE contact_id = $1 AND status = 'unsubscribed' AND "
        "unsubscribed_by = 'bounce'";
    struct store_value p[2] = {sv_int(contact_id), sv_int(now)};

    return store_exec(st, q, p, 2, NULL, NULL, n_out);
}
