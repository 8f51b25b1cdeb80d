/*
 * model_contacts.c - contacts, lists, memberships, the send-time check and address-level
 * suppressions (DESIGN §6, §7).
 *
 * What it does not do: apply bounce verdicts (model_hygiene.c) or resolve reviews. Reads
 * apply lazy decay to what they return but never write; sweep and updates persist it.
 * Attributes are the contact's own campaign data: merged or replaced only through
 * model_contact_set_attributes()/upsert, never by hygiene code.
 * STANDARDS: RFC 8259 (attributes are a JSON object).
 * LIMITS: MODEL_EMAIL_MAX per address; attributes up to MODEL_ATTR_MAX bytes of JSON.
 * Ownership: see model.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"
#include "store/model_int.h"

#define MODEL_ATTR_MAX (64 * 1024)

struct one_contact {
    struct model_contact *c;
    bool found;
};

/* Fields bounced alone writes (DESIGN §6), with the names the CSV export gives them. */
static const char *const hygiene_fields[] = {
    "hygiene_status", "soft_bounce_count", "last_bounce_at", "last_reason",
    "last_status",    "last_soft_day",     "suppressed",     "suppression",
    "suppression_reason", "id",            "created_at",     "updated_at",
};

bool
model_is_hygiene_field(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < sizeof(hygiene_fields) / sizeof(hygiene_fields[0]); i++) {
        if (strcasecmp(name, hygiene_fields[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int
one_contact_cb(void *ud, const struct store_row *r)
{
    struct one_contact *oc = ud;
    mrow_contact(r, oc->c);
    oc->found = true;
    return 1;
}

static void
apply_read_decay(const struct policy_cfg *pc, int64_t now, struct model_contact *c)
{
    struct contact_state cs;

    if (pc == NULL) {
        return;
    }
    model_contact_state(c, &cs);
    if (policy_decay(pc, &cs, now, &cs)) {
        c->status = cs.status;
        c->soft_count = cs.soft_count;
    }
}

bnc_status
model_contact_get(struct store *st, const struct policy_cfg *pc, int64_t id, int64_t now,
                  struct model_contact *out)
{
    static const char *q =
        "SELECT " MODEL_CONTACT_COLS " FROM " MODEL_CONTACT_FROM " WHERE c.id = $1";
    struct store_value p[1] = {sv_int(id)};
    struct one_contact oc = {out, false};
    bnc_status rc;

    memset(out, 0, sizeof(*out));
    if ((rc = store_exec(st, q, p, 1, one_contact_cb, &oc, NULL)) != BNC_OK) {
        return rc;
    }
    if (!oc.found) {
        return BNC_ENOTFOUND;
    }
    apply_read_decay(pc, now, out);
    return BNC_OK;
}

bnc_status
model_contact_find(struct store *st, const struct policy_cfg *pc, const char *email, int64_t now,
                   struct model_contact *out)
{
    static const char *q =
        "SELECT " MODEL_CONTACT_COLS " FROM " MODEL_CONTACT_FROM " WHERE c.email = $1";
    char addr[MODEL_EMAIL_MAX + 1];
    struct store_value p[1];
    struct one_contact oc = {out, false};
    bnc_status rc;

    memset(out, 0, sizeof(*out));
    if (!model_normalize_email(email, addr)) {
        return BNC_ENOTFOUND;
    }
    p[0] = sv_text(addr);
    if ((rc = store_exec(st, q, p, 1, one_contact_cb, &oc, NULL)) != BNC_OK) {
        return rc;
    }
    if (!oc.found) {
        return BNC_ENOTFOUND;
    }
    apply_read_decay(pc, now, out);
    return BNC_OK;
}

/* Parse attributes: must be a JSON object; returns a new reference or NULL. */
static json_t *
attrs_parse(const char *json)
{
    json_error_t jerr;
    json_t *o;

    if (json == NULL) {
        return json_object();
    }
    if (strlen(json) > MODEL_ATTR_MAX) {
        return NULL;
    }
    o = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static char *
attrs_dump(json_t *o)
{
    char *txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    char *out = xstrdup(txt ? txt : "{}");
    free(txt);
    return out;
}

/* Merge src into dst: keys replace, a null value removes the key. */
static void
attrs_merge(json_t *dst, json_t *src)
{
    const char *key;
    json_t *val;

    json_object_foreach(src, key, val)
    {
        if (json_is_null(val)) {
            json_object_del(dst, key);
        } else {
            json_object_set(dst, key, val);
        }
    }
}

static bnc_status
contact_insert(struct store *st, const char *addr, const char *attrs, int64_t now, int64_t *id_out)
{
    static const char *q = "INSERT INTO contacts (email, attributes, created_at, updated_at) "
                           "VALUES ($1, $2, $3, $3) ON CONFLICT (email) DO NOTHING RETURNING id";
    struct store_value p[3];
    bnc_status rc;

    p[0] = sv_text(addr);
    p[1] = sv_text(attrs);
    p[2] = sv_int(now);
    rc = store_query_int(st, q, p, 3, id_out);
    return rc == BNC_ENOTFOUND ? BNC_ECONFLICT : rc;
}

bnc_status
model_contact_create(struct store *st, const char *email, const char *attributes_json, int64_t now,
                     int64_t *id_out)
{
    char addr[MODEL_EMAIL_MAX + 1];
    json_t *o;
    char *attrs;
    int64_t id = 0;
    bnc_status rc;

    if (!model_normalize_email(email, addr) || (o = attrs_parse(attributes_json)) == NULL) {
        return BNC_EINVAL;
    }
    attrs = attrs_dump(o);
    json_decref(o);
    rc = contact_insert(st, addr, attrs, now, &id);
    free(attrs);
    if (rc == BNC_OK && id_out != NULL) {
        *id_out = id;
    }
    return rc;
}

static bnc_status
contact_attrs_write(struct store *st, int64_t id, const char *attrs, int64_t now)
{
    static const char *q = "UPDATE contacts SET attributes = $2, updated_at = $3 WHERE id = $1";
    struct store_value p[3];
    int64_t changes = 0;
    bnc_status rc;

    p[0] = sv_int(id);
    p[1] = sv_text(attrs);
    p[2] = sv_int(now);
    rc = store_exec(st, q, p, 3, NULL, NULL, &changes);
    if (rc == BNC_OK && changes == 0) {
        return BNC_ENOTFOUND;
    }
    return rc;
}

bnc_status
model_contact_set_attributes(struct store *st, int64_t id, const char *json, bool merge,
                             int64_t now)
{
    struct model_contact c;
    json_t *in, *cur;
    char *attrs;
    bnc_status rc;

    if ((in = attrs_parse(json)) == NULL) {
        return BNC_EINVAL;
    }
    if ((rc = store_begin(st)) != BNC_OK) {
        json_decref(in);
        return rc;
    }
    if ((rc = model_contact_get(st, NULL, id, now, &c)) != BNC_OK) {
        json_decref(in);
        store_rollback(st);
        return rc;
    }
    if (merge) {
        cur = attrs_parse(c.attributes);
        if (cur == NULL) {
            cur = json_object();
        }
        attrs_merge(cur, in);
        attrs = attrs_dump(cur);
        json_decref(cur);
    } else {
        attrs = attrs_dump(in);
    }
    json_decref(in);
    model_contact_free(&c);
    rc = strlen(attrs) > MODEL_ATTR_MAX ? BNC_ELIMIT : contact_attrs_write(st, id, attrs, now);
    free(attrs);
    if (rc != BNC_OK) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st);
}

bnc_status
model_contact_upsert(struct store *st, const char *email, const char *attributes_json, int64_t now,
                     int64_t *id_out, bool *created_out)
{
    struct model_contact c;
    bnc_status rc;
    bool created = false;
    int64_t id = 0;

    if (created_out != NULL) {
        *created_out = false;
    }
    if ((rc = store_begin(st)) != BNC_OK) {
        return rc;
    }
    rc = model_contact_find(st, NULL, email, now, &c);
    if (rc == BNC_OK) {
        id = c.id;
        model_contact_free(&c);
        rc = attributes_json ? model_contact_set_attributes(st, id, attributes_json, true, now)
                             : BNC_OK;
    } else if (rc == BNC_ENOTFOUND) {
        rc = model_contact_create(st, email, attributes_json, now, &id);
        created = rc == BNC_OK;
    }
    if (rc != BNC_OK) {
        store_rollback(st);
        return rc;
    }
    if ((rc = store_commit(st)) != BNC_OK) {
        return rc;
    }
    if (id_out != NULL) {
        *id_out = id;
    }
    if (created_out != NULL) {
        *created_out = created;
    }
    return BNC_OK;
}

static bnc_status
supp_delete(struct store *st, const char *addr, int64_t *changes)
{
    static const char *q = "DELETE FROM suppressions WHERE address = $1";
    struct store_value p[1] = {sv_text(addr)};
    return store_exec(st, q, p, 1, NULL, NULL, changes);
}

/* Reactivate a loaded contact: state ACTIVE, suppression lifted, audited. */
static bnc_status
reactivate_loaded(struct store *st, const struct model_contact *c, const char *actor,
                  const char *action, const char *why, int64_t now)
{
    struct contact_state cs;
    struct snap before;
    bnc_status rc;

    if ((rc = snap_load(st, c->id, c->email, &before)) != BNC_OK) {
        return rc;
    }
    model_contact_state(c, &cs);
    policy_reactivate(&cs, &cs);
    if ((rc = model_write_state(st, c->id, &cs, c->last_status, now)) == BNC_OK &&
        (rc = supp_delete(st, c->email, NULL)) == BNC_OK &&
        (strcmp(action, "reactivate") != 0 ||
         (rc = model_lists_restore_bounced(st, c->id, now, NULL)) == BNC_OK)) {
        rc = audit_change(st, c->id, c->email, &before, actor, action, why, "", "", 0, now, NULL);
    }
    snap_free(&before);
    return rc;
}

bnc_status
model_contact_reactivate(struct store *st, int64_t contact_id, const char *actor, const char *why,
                         int64_t now)
{
    struct model_contact c;
    bnc_status rc;

    if ((rc = store_begin(st)) != BNC_OK) {
        return rc;
    }
    if ((rc = model_contact_get(st, NULL, contact_id, now, &c)) == BNC_OK) {
        rc = reactivate_loaded(st, &c, actor, "reactivate", why, now);
        model_contact_free(&c);
    }
    if (rc != BNC_OK) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st);
}

bnc_status
model_contact_set_email(struct store *st, int64_t id, const char *new_email, const char *actor,
                        int64_t now)
{
    static const char *q = "UPDATE contacts SET email = $2, updated_at = $3 WHERE id = $1";
    char addr[MODEL_EMAIL_MAX + 1], why[MODEL_EMAIL_MAX + 32];
    struct model_contact c, other;
    struct store_value p[3];
    bnc_status rc;

    if (!model_normalize_email(new_email, addr)) {
        return BNC_EINVAL;
    }
    if ((rc = store_begin(st)) != BNC_OK) {
        return rc;
    }
    if ((rc = model_contact_get(st, NULL, id, now, &c)) != BNC_OK) {
        store_rollback(st);
        return rc;
    }
    if (strcmp(c.email, addr) == 0) {
        model_contact_free(&c);
        return store_commit(st);
    }
    rc = model_contact_find(st, NULL, addr, now, &other);
    if (rc == BNC_OK) {
        model_contact_free(&other);
        rc = BNC_ECONFLICT;
    } else if (rc == BNC_ENOTFOUND) {
        p[0] = sv_int(id);
        p[1] = sv_text(addr);
        p[2] = sv_int(now);
        snprintf(why, sizeof(why), "address changed from %s", c.email);
        {
            /* before: the contact's state and lists, the suppression of the new address (the
             * old address keeps its own: suppressions are address-level) */
            struct contact_state cs;
            struct snap before;
            if ((rc = snap_load(st, id, addr, &before)) != BNC_OK) {
                model_contact_free(&c);
                store_rollback(st);
                return rc;
            }
            model_contact_state(&c, &cs);
            policy_reactivate(&cs, &cs);
            if ((rc = store_exec(st, q, p, 3, NULL, NULL, NULL)) == BNC_OK &&
                (rc = model_write_state(st, id, &cs, c.last_status, now)) == BNC_OK) {
                rc = audit_change(st, id, addr, &before, actor, "email_change", why, "", "", 0, now,
                                  NULL);
            }
            snap_free(&before);
        }
    }
    model_contact_free(&c);
    if (rc != BNC_OK) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st);
}

bnc_status
model_contact_delete(struct store *st, int64_t id)
{
    static const char *q_ev = "UPDATE bounce_events SET contact_id = NULL WHERE contact_id = $1";
    static const char *q_rv = "UPDATE review_items SET contact_id = NULL WHERE contact_id = $1";
    static const char *q_lm = "DELETE FROM list_members WHERE contact_id = $1";
    static const char *q_c = "DELETE FROM contacts WHERE id = $1";
    struct store_value p[1] = {sv_int(id)};
    int64_t changes = 0;
    bnc_status rc;

    if ((rc = store_begin(st)) != BNC_OK) {
        return rc;
    }
    if ((rc = store_exec(st, q_ev, p, 1, NULL, NULL, NULL)) != BNC_OK ||
        (rc = store_exec(st, q_rv, p, 1, NULL, NULL, NULL)) != BNC_OK ||
        (rc = store_exec(st, q_lm, p, 1, NULL, NULL, NULL)) != BNC_OK ||
        (rc = store_exec(st, q_c, p, 1, NULL, NULL, &changes)) != BNC_OK) {
        store_rollback(st);
        return rc;
    }
    if (changes == 0) {
        store_rollback(st);
        return BNC_ENOTFOUND;
    }
    return store_commit(st);
}

struct list_ctx {
    const struct policy_cfg *pc;
    int64_t now;
    model_contact_cb cb;
    void *ud;
    size_t n;
};

static int
list_contact_cb(void *ud, const struct store_row *r)
{
    struct list_ctx *lc = ud;
    struct model_contact c;
    int stop;

    mrow_contact(r, &c);
    apply_read_decay(lc->pc, lc->now, &c);
    lc->n++;
    stop = lc->cb(lc->ud, &c);
    model_contact_free(&c);
    return stop;
}

bnc_status
model_contact_list(struct store *st, const struct policy_cfg *pc,
                   const struct model_contact_filter *f, int64_t after_id, size_t limit,
                   int64_t now, model_contact_cb cb, void *ud, size_t *n_out)
{
    static const char *q =
        "SELECT " MODEL_CONTACT_COLS " FROM " MODEL_CONTACT_FROM
        " WHERE c.id > $1 AND ($2 = '' OR " MODEL_STATUS_NOW(
            "$5") " = $2) AND ($3 = '' OR "
                  "EXISTS (SELECT 1 FROM list_members m JOIN lists l ON l.id = m.list_id WHERE "
                  "m.contact_id = c.id AND m.status = 'subscribed' AND l.name = $3)) AND ($6 = '' "
                  "OR "
                  "c.last_reason = $6) AND ($7 = 0 OR c.last_bounce_at >= $7) ORDER BY c.id LIMIT "
                  "$4";
    struct list_ctx lc = {pc, now, cb, ud, 0};
    struct store_value p[7];
    bnc_status rc;

    p[0] = sv_int(after_id);
    p[1] = sv_text(f && f->status ? f->status : "");
    p[2] = sv_text(f && f->list ? f->list : "");
    p[3] = sv_int((int64_t)mlimit(limit));
    p[4] = sv_int(policy_decay_cutoff(pc, now));
    p[5] = sv_text(f && f->reason ? f->reason : "");
    p[6] = sv_int(f ? f->since : 0);
    rc = store_exec(st, q, p, 7, list_contact_cb, &lc, NULL);
    if (n_out != NULL) {
        *n_out = lc.n;
    }
    return rc;
}

/* ---- lists ---- */

bnc_status
model_list_ensure(struct store *st, const char *name, int64_t now, int64_t *id_out)
{
    static const char *q_ins =
        "INSERT INTO lists (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
    static const char *q_get = "SELECT id FROM lists WHERE name = $1";
    struct store_value p[2];
    bnc_status rc;

    if (name == NULL || name[0] == '\0' || strlen(name) > 200) {
        return BNC_EINVAL;
    }
    p[0] = sv_text(name);
    p[1] = sv_int(now);
    if ((rc = store_exec(st, q_ins, p, 2, NULL, NULL, NULL)) != BNC_OK) {
        return rc;
    }
    return store_query_int(st, q_get, p, 1, id_out);
}

bnc_status
model_list_subscribe(struct store *st, int64_t list_id, int64_t contact_id, int64_t now)
{
    static const char *q = "INSERT INTO list_members (list_id, contact_id, status, subscribed_at) "
                           "VALUES ($1, $2, 'subscribed', $3) ON CONFLICT (list_id, contact_id) "
                           "DO NOTHING";
    struct store_value p[3];

    p[0] = sv_int(list_id);
    p[1] = sv_int(contact_id);
    p[2] = sv_int(now);
    return store_exec(st, q, p, 3, NULL, NULL, NULL);
}

struct names_ctx {
    char *out;
    size_t outlen, used;
};

static int
names_cb(void *ud, const struct store_row *r)
{
    struct names_ctx *nc = ud;
    int w = snprintf(nc->out + nc->used, nc->outlen - nc->used, "%s%s", nc->used ? "," : "",
                     mrow_text(r, 0));
    if (w < 0 || (size_t)w >= nc->outlen - nc->used) {
        return 1; /* full: stop */
    }
    nc->used += (size_t)w;
    return 0;
}

bnc_status
model_contact_lists(struct store *st, int64_t contact_id, char *out, size_t outlen)
{
    static const char *q = "SELECT l.name FROM list_members m JOIN lists l ON l.id = m.list_id "
                           "WHERE m.contact_id = $1 AND m.status = 'subscribed' ORDER BY l.name";
    struct names_ctx nc = {out, outlen, 0};
    struct store_value p[1] = {sv_int(contact_id)};

    if (outlen == 0) {
        return BNC_EINVAL;
    }
    out[0] = '\0';
    return store_exec(st, q, p, 1, names_cb, &nc, NULL);
}

/* ---- check and suppressions ---- */

struct check_ctx {
    struct model_check *c;
    int64_t cut; /* policy_decay_cutoff() */
};

static int
check_cb(void *ud, const struct store_row *r)
{
    struct check_ctx *cc = ud;
    struct model_check *c = cc->c;

    if (r->cols[0].type != SV_NULL) {
        c->sendable = false;
        mcopy(c->reason, sizeof(c->reason), mrow_text(r, 1));
        mcopy(c->source, sizeof(c->source), mrow_text(r, 2));
        c->since = mrow_int(r, 3);
    }
    if (r->cols[4].type != SV_NULL) {
        c->known = true;
        mcopy(c->status, sizeof(c->status), mrow_text(r, 4));
        if (strcmp(c->status, "SOFT_BOUNCING") == 0 && mrow_int(r, 7) < cc->cut) {
            mcopy(c->status, sizeof(c->status), "ACTIVE"); /* decayed, as policy_decay() says */
        }
        if (c->sendable &&
            (strcmp(c->status, "BOUNCED_HARD") == 0 || strcmp(c->status, "COMPLAINED") == 0)) {
            /* defensive: a suppressed status without a suppression row is not sendable */
            c->sendable = false;
            mcopy(c->reason, sizeof(c->reason), mrow_text(r, 5));
            mcopy(c->source, sizeof(c->source), "contact");
            c->since = mrow_int(r, 6);
        }
    }
    return 1;
}

bnc_status
model_check(struct store *st, const struct policy_cfg *pc, const char *address, int64_t now,
            struct model_check *out)
{
    /* one statement (one read transaction): this is the hot path before every send */
    static const char *q =
        "SELECT s.id, s.reason, s.source, s.created_at, c.hygiene_status, c.last_reason, "
        "c.last_bounce_at, c.last_soft_day FROM (SELECT CAST($1 AS TEXT) AS a) x LEFT JOIN "
        "suppressions s ON s.address = x.a LEFT JOIN contacts c ON c.email = x.a";
    struct check_ctx cc = {out, policy_decay_cutoff(pc, now)};
    struct store_value p[1];

    memset(out, 0, sizeof(*out));
    out->sendable = true;
    if (address == NULL || !model_normalize_email(address, out->address)) {
        return BNC_EINVAL;
    }
    p[0] = sv_text(out->address);
    return store_exec(st, q, p, 1, check_cb, &cc, NULL);
}

bnc_status
model_check_many(struct store *st, const struct policy_cfg *pc, const char *const *addresses,
                 size_t n, int64_t now, struct model_check *out, bnc_status *rcs)
{
    bnc_status rc;
    size_t i;

    if ((rc = store_begin_read(st)) != BNC_OK) {
        return rc;
    }
    for (i = 0; i < n; i++) {
        rcs[i] = model_check(st, pc, addresses[i], now, &out[i]);
        if (rcs[i] != BNC_OK && rcs[i] != BNC_EINVAL) {
            rc = rcs[i];
            break;
        }
    }
    if (rc != BNC_OK) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st);
}

static int64_t
contact_id_of(struct store *st, const char *addr)
{
    static const char *q = "SELECT id FROM contacts WHERE email = $1";
    struct store_value p[1] = {sv_text(addr)};
    int64_t id = 0;

    if (store_query_int(st, q, p, 1, &id) != BNC_OK) {
        return 0;
    }
    return id;
}

bnc_status
model_suppress(struct store *st, const char *address, const char *reason, const char *source,
               const char *actor, const char *ref, int64_t now, bool *created_out)
{
    static const char *q = "INSERT INTO suppressions (address, reason, source, ref, created_at) "
                           "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (address) DO NOTHING";
    char addr[MODEL_EMAIL_MAX + 1];
    struct store_value p[5];
    struct snap before;
    int64_t changes = 0, cid;
    bnc_status rc;

    if (created_out != NULL) {
        *created_out = false;
    }
    if (!model_normalize_email(address, addr)) {
        return BNC_EINVAL;
    }
    if ((rc = store_begin(st)) != BNC_OK) {
        return rc;
    }
    cid = contact_id_of(st, addr);
    if ((rc = snap_load(st, cid, addr, &before)) != BNC_OK) {
        store_rollback(st);
        return rc;
    }
    p[0] = sv_text(addr);
    p[1] = sv_text(reason ? reason : "manual");
    p[2] = sv_text(source ? source : "manual");
    p[3] = sv_text(ref ? ref : "");
    p[4] = sv_int(now);
    rc = store_exec(st, q, p, 5, NULL, NULL, &changes);
    if (rc == BNC_OK && changes > 0) {
        rc = audit_change(st, cid, addr, &before, actor, "suppress", reason ? reason : "manual", "",
                          ref, 0, now, NULL);
    }
    snap_free(&before);
    if (rc != BNC_OK) {
        store_rollback(st);
        return rc;
    }
    if (created_out != NULL) {
        *created_out = changes > 0;
    }
    return store_commit(st);
}

bnc_status
model_unsuppress(struct store *st, const char *address, const char *actor, const char *why,
                 int64_t now)
{
    char addr[MODEL_EMAIL_MAX + 1];
    struct model_contact c;
    struct snap before;
    int64_t changes = 0;
    bnc_status rc;

    if (!model_normalize_email(address, addr)) {
        return BNC_EINVAL;
    }
    if ((rc = store_begin(st)) != BNC_OK) {
        return rc;
    }
    rc = model_contact_find(st, NULL, addr, now, &c);
    if (rc == BNC_OK) {
        if (c.status != HYG_ACTIVE || c.soft_count != 0 || c.suppressed) {
            rc = reactivate_loaded(st, &c, actor, "unsuppress", why, now);
        } else {
            rc = BNC_ENOTFOUND;
        }
        model_contact_free(&c);
    } else if (rc == BNC_ENOTFOUND) {
        if ((rc = snap_load(st, 0, addr, &before)) == BNC_OK) {
            rc = supp_delete(st, addr, &changes);
            if (rc == BNC_OK && changes == 0) {
                rc = BNC_ENOTFOUND;
            } else if (rc == BNC_OK) {
                rc = audit_change(st, 0, addr, &before, actor, "unsuppress", why, "", "", 0, now,
                                  NULL);
            }
            snap_free(&before);
        }
    }
    if (rc != BNC_OK) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st);
}

struct supp_ctx {
    model_suppression_cb cb;
    void *ud;
    size_t n;
};

void
mrow_suppression(const struct store_row *r, struct model_suppression *s)
{
    s->id = mrow_int(r, 0);
    s->address = mrow_text(r, 1);
    s->reason = mrow_text(r, 2);
    s->source = mrow_text(r, 3);
    s->ref = mrow_text(r, 4);
    s->created_at = mrow_int(r, 5);
}

static int
supp_row_cb(void *ud, const struct store_row *r)
{
    struct supp_ctx *sc = ud;
    struct model_suppression s;

    mrow_suppression(r, &s);
    sc->n++;
    return sc->cb(sc->ud, &s);
}

bnc_status
model_suppression_get(struct store *st, const char *address, model_suppression_cb cb, void *ud)
{
    static const char *q = "SELECT id, address, reason, source, ref, created_at FROM "
                           "suppressions WHERE address = $1";
    char addr[MODEL_EMAIL_MAX + 1];
    struct supp_ctx sc = {cb, ud, 0};
    struct store_value p[1];
    bnc_status rc;

    if (!model_normalize_email(address, addr)) {
        return BNC_EINVAL;
    }
    p[0] = sv_text(addr);
    rc = store_exec(st, q, p, 1, supp_row_cb, &sc, NULL);
    if (rc == BNC_OK && sc.n == 0) {
        return BNC_ENOTFOUND;
    }
    return rc;
}

bnc_status
model_suppression_list(struct store *st, int64_t after_id, size_t limit, model_suppression_cb cb,
                       void *ud, size_t *n_out)
{
    static const char *q = "SELECT id, address, reason, source, ref, created_at FROM "
                           "suppressions WHERE id > $1 ORDER BY id LIMIT $2";
    struct supp_ctx sc = {cb, ud, 0};
    struct store_value p[2];
    bnc_status rc;

    p[0] = sv_int(after_id);
    p[1] = sv_int((int64_t)mlimit(limit));
    rc = store_exec(st, q, p, 2, supp_row_cb, &sc, NULL);
    if (n_out != NULL) {
        *n_out = sc.n;
    }
    return rc;
}
