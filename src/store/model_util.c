/*
 * model_util.c - helpers shared by the model queries: row accessors, address normalisation,
 * the audit snapshot (JSON via jansson) and the audit writer.
 *
 * What it does not do: decide anything (hygiene/policy.c) or talk to a backend directly
 * (everything goes through store_exec()).
 * STANDARDS: RFC 5321 §4.5.3.1 (address length limits), RFC 8259 (JSON).
 * LIMITS: addresses up to MODEL_EMAIL_MAX bytes; snapshot list names up to 1000 per contact.
 * Ownership: snapshots own their heap strings; snap_free() releases them.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/email.h"
#include "core/utf8.h"
#include "core/xmalloc.h"
#include "store/model_int.h"

#define SNAP_LISTS_MAX 1000

int64_t
mrow_int(const struct store_row *r, size_t i)
{
    const struct store_value *v;

    if (i >= r->ncols) {
        return 0;
    }
    v = &r->cols[i];
    if (v->type == SV_INT) {
        return v->i;
    }
    if (v->type == SV_TEXT && v->s != NULL) {
        return (int64_t)strtoll(v->s, NULL, 10);
    }
    return 0;
}

const char *
mrow_text(const struct store_row *r, size_t i)
{
    if (i >= r->ncols || r->cols[i].type != SV_TEXT || r->cols[i].s == NULL) {
        return "";
    }
    return r->cols[i].s;
}

void
mcopy(char *dst, size_t dstlen, const char *src)
{
    size_t n;

    if (dstlen == 0) {
        return;
    }
    if (src == NULL) {
        dst[0] = '\0';
        return;
    }
    n = strlen(src);
    if (n >= dstlen) {
        n = dstlen - 1;
        /* do not cut a UTF-8 sequence in half */
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

size_t
mlimit(size_t limit)
{
    if (limit == 0) {
        return MODEL_LIMIT_DEFAULT;
    }
    return limit > MODEL_LIMIT_MAX ? MODEL_LIMIT_MAX : limit;
}

bool
model_normalize_email(const char *in, char out[MODEL_EMAIL_MAX + 1])
{
    return email_normalize(in, in != NULL ? strlen(in) : 0, out, NULL);
}

void
mrow_contact(const struct store_row *r, struct model_contact *c)
{
    enum hyg_status s;

    memset(c, 0, sizeof(*c));
    c->id = mrow_int(r, 0);
    mcopy(c->email, sizeof(c->email), mrow_text(r, 1));
    c->status = hyg_status_from_name(mrow_text(r, 2), &s) ? s : HYG_ACTIVE;
    c->soft_count = mrow_int(r, 3);
    c->last_soft_day = mrow_int(r, 4);
    c->last_bounce_at = mrow_int(r, 5);
    mcopy(c->last_reason, sizeof(c->last_reason), mrow_text(r, 6));
    mcopy(c->last_status, sizeof(c->last_status), mrow_text(r, 7));
    c->attributes = xstrdup(mrow_text(r, 8)[0] ? mrow_text(r, 8) : "{}");
    c->created_at = mrow_int(r, 9);
    c->updated_at = mrow_int(r, 10);
    c->suppressed = r->ncols > 14 && r->cols[14].type != SV_NULL;
    if (c->suppressed) {
        mcopy(c->supp_reason, sizeof(c->supp_reason), mrow_text(r, 11));
        mcopy(c->supp_source, sizeof(c->supp_source), mrow_text(r, 12));
        c->supp_since = mrow_int(r, 13);
    }
}

void
model_contact_state(const struct model_contact *c, struct contact_state *cs)
{
    bnc_reason r;

    cs->status = c->status;
    cs->soft_count = c->soft_count;
    cs->last_soft_day = c->last_soft_day;
    cs->last_bounce_at = c->last_bounce_at;
    cs->last_reason = bnc_reason_from_name(c->last_reason, &r) ? r : BNC_R_UNDEFINED;
}

void
model_contact_free(struct model_contact *c)
{
    if (c != NULL) {
        free(c->attributes);
        c->attributes = NULL;
    }
}

/* ---- snapshots ---- */

void
snap_free(struct snap *s)
{
    size_t i;

    free(s->supp_ref);
    for (i = 0; i < s->nlists; i++) {
        free(s->lists[i]);
    }
    free(s->lists);
    memset(s, 0, sizeof(*s));
}

static void
snap_add_list(struct snap *s, const char *name)
{
    if (s->nlists >= SNAP_LISTS_MAX) {
        return;
    }
    s->lists = xrealloc(s->lists, (s->nlists + 1) * sizeof(*s->lists));
    s->lists[s->nlists++] = xstrdup(name);
}

bool
snap_has_list(const struct snap *s, const char *name)
{
    size_t i;
    for (i = 0; i < s->nlists; i++) {
        if (strcmp(s->lists[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static int
snap_contact_cb(void *ud, const struct store_row *r)
{
    struct snap *s = ud;
    struct model_contact c;

    mrow_contact(r, &c);
    s->contact = true;
    model_contact_state(&c, &s->cs);
    mcopy(s->last_status, sizeof(s->last_status), c.last_status);
    model_contact_free(&c);
    return 1;
}

static int
snap_supp_cb(void *ud, const struct store_row *r)
{
    struct snap *s = ud;

    s->suppressed = true;
    mcopy(s->supp_reason, sizeof(s->supp_reason), mrow_text(r, 0));
    mcopy(s->supp_source, sizeof(s->supp_source), mrow_text(r, 1));
    s->supp_ref = xstrdup(mrow_text(r, 2));
    s->supp_since = mrow_int(r, 3);
    return 1;
}

static int
snap_list_cb(void *ud, const struct store_row *r)
{
    snap_add_list(ud, mrow_text(r, 0));
    return 0;
}

bnc_status
snap_load_lists(struct store *st, int64_t contact_id, struct snap *s)
{
    static const char *q_lists = "SELECT l.name FROM list_members m JOIN lists l ON l.id = "
                                 "m.list_id WHERE m.contact_id = $1 AND m.status = 'subscribed' "
                                 "ORDER BY l.name";
    struct store_value p[1] = {sv_int(contact_id)};
    return store_exec(st, q_lists, p, 1, snap_list_cb, s, NULL);
}

void
snap_copy(struct snap *dst, const struct snap *src)
{
    size_t i;

    *dst = *src;
    dst->supp_ref = src->supp_ref ? xstrdup(src->supp_ref) : NULL;
    dst->lists = NULL;
    dst->nlists = 0;
    for (i = 0; i < src->nlists; i++) {
        snap_add_list(dst, src->lists[i]);
    }
}

bnc_status
snap_load(struct store *st, int64_t contact_id, const char *address, struct snap *s)
{
    static const char *q_contact =
        "SELECT " MODEL_CONTACT_COLS " FROM " MODEL_CONTACT_FROM " WHERE c.id = $1";
    static const char *q_supp =
        "SELECT reason, source, ref, created_at FROM suppressions WHERE address = $1";
    struct store_value p[1];
    bnc_status rc;

    memset(s, 0, sizeof(*s));
    if (contact_id > 0) {
        p[0] = sv_int(contact_id);
        if ((rc = store_exec(st, q_contact, p, 1, snap_contact_cb, s, NULL)) != BNC_OK) {
            return rc;
        }
        if (s->contact && (rc = snap_load_lists(st, contact_id, s)) != BNC_OK) {
            snap_free(s);
            return rc;
        }
    }
    p[0] = sv_text(address);
    if ((rc = store_exec(st, q_supp, p, 1, snap_supp_cb, s, NULL)) != BNC_OK) {
        snap_free(s);
        return rc;
    }
    return BNC_OK;
}

char *
snap_json(const struct snap *s)
{
    json_t *o = json_object();
    json_t *lists = json_array();
    char *txt, *out;
    size_t i;

    json_object_set_new(o, "contact", json_boolean(s->contact));
    if (s->contact) {
        json_object_set_new(o, "status", json_string(hyg_status_name(s->cs.status)));
        json_object_set_new(o, "soft_bounce_count", json_integer(s->cs.soft_count));
        json_object_set_new(o, "last_soft_day", json_integer(s->cs.last_soft_day));
        json_object_set_new(o, "last_bounce_at", json_integer(s->cs.last_bounce_at));
        json_object_set_new(o, "last_reason",
                            json_string(s->cs.last_reason == BNC_R_UNDEFINED
                                            ? ""
                                            : bnc_reason_name(s->cs.last_reason)));
        json_object_set_new(o, "last_status", json_string(s->last_status));
    }
    json_object_set_new(o, "suppressed", json_boolean(s->suppressed));
    if (s->suppressed) {
        json_t *sp = json_object();
        json_object_set_new(sp, "reason", json_string(s->supp_reason));
        json_object_set_new(sp, "source", json_string(s->supp_source));
        json_object_set_new(sp, "ref", json_string(s->supp_ref ? s->supp_ref : ""));
        json_object_set_new(sp, "created_at", json_integer(s->supp_since));
        json_object_set_new(o, "suppression", sp);
    }
    for (i = 0; i < s->nlists; i++) {
        json_array_append_new(lists, json_string(s->lists[i]));
    }
    json_object_set_new(o, "lists", lists);
    txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    out = xstrdup(txt ? txt : "{}");
    free(txt);
    return out;
}

static const char *
jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

bool
snap_parse(const char *json, struct snap *s)
{
    json_error_t jerr;
    json_t *o = json_loads(json, 0, &jerr);
    json_t *sp, *lists, *it;
    enum hyg_status st;
    bnc_reason r;
    size_t i;

    memset(s, 0, sizeof(*s));
    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        return false;
    }
    s->contact = json_is_true(json_object_get(o, "contact"));
    if (s->contact) {
        s->cs.status = hyg_status_from_name(jstr(o, "status"), &st) ? st : HYG_ACTIVE;
        s->cs.soft_count = json_integer_value(json_object_get(o, "soft_bounce_count"));
        s->cs.last_soft_day = json_integer_value(json_object_get(o, "last_soft_day"));
        s->cs.last_bounce_at = json_integer_value(json_object_get(o, "last_bounce_at"));
        s->cs.last_reason = bnc_reason_from_name(jstr(o, "last_reason"), &r) ? r : BNC_R_UNDEFINED;
        mcopy(s->last_status, sizeof(s->last_status), jstr(o, "last_status"));
    }
    s->suppressed = json_is_true(json_object_get(o, "suppressed"));
    sp = json_object_get(o, "suppression");
    if (s->suppressed && json_is_object(sp)) {
        mcopy(s->supp_reason, sizeof(s->supp_reason), jstr(sp, "reason"));
        mcopy(s->supp_source, sizeof(s->supp_source), jstr(sp, "source"));
        s->supp_ref = xstrdup(jstr(sp, "ref"));
        s->supp_since = json_integer_value(json_object_get(sp, "created_at"));
    }
    lists = json_object_get(o, "lists");
    json_array_foreach(lists, i, it)
    {
        if (json_is_string(it)) {
            snap_add_list(s, json_string_value(it));
        }
    }
    json_decref(o);
    return true;
}

/* ---- audit ---- */

bnc_status
audit_add(struct store *st, int64_t contact_id, const char *address, const char *actor,
          const char *action, const char *reason, const char *decided_by, const char *ref,
          int64_t event_id, const char *before_json, const char *after_json, int64_t now,
          int64_t *id_out)
{
    static const char *q =
        "INSERT INTO audit_log (contact_id, address, actor, action, reason, decided_by, ref, "
        "event_id, state_before, state_after, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
        "$9, $10, $11) RETURNING id";
    struct store_value p[11];
    int64_t id = 0;
    bnc_status rc;

    p[0] = contact_id > 0 ? sv_int(contact_id) : sv_null();
    p[1] = sv_text(address ? address : "");
    p[2] = sv_text(actor ? actor : "");
    p[3] = sv_text(action ? action : "");
    p[4] = sv_text(reason ? reason : "");
    p[5] = sv_text(decided_by ? decided_by : "");
    p[6] = sv_text(ref ? ref : "");
    p[7] = event_id > 0 ? sv_int(event_id) : sv_null();
    p[8] = sv_text(before_json ? before_json : "{}");
    p[9] = sv_text(after_json ? after_json : "{}");
    p[10] = sv_int(now);
    rc = store_query_int(st, q, p, 11, &id);
    if (rc == BNC_OK && id_out != NULL) {
        *id_out = id;
    }
    return rc;
}

bnc_status
audit_change(struct store *st, int64_t contact_id, const char *address, const struct snap *before,
             const char *actor, const char *action, const char *reason, const char *decided_by,
             const char *ref, int64_t event_id, int64_t now, int64_t *id_out)
{
    struct snap after;
    char *bj, *aj;
    bnc_status rc;

    if ((rc = snap_load(st, contact_id, address, &after)) != BNC_OK) {
        return rc;
    }
    bj = snap_json(before);
    aj = snap_json(&after);
    rc = audit_add(st, contact_id, address, actor, action, reason, decided_by, ref, event_id, bj,
                   aj, now, id_out);
    free(bj);
    free(aj);
    snap_free(&after);
    return rc;
}

/* $1..$8 of the contact-state UPDATEs below: id, then the new state. */
static void
state_params(struct store_value p[8], int64_t contact_id, const struct contact_state *cs,
             const char *last_status, int64_t now)
{
    p[0] = sv_int(contact_id);
    p[1] = sv_text(hyg_status_name(cs->status));
    p[2] = sv_int(cs->soft_count);
    p[3] = sv_int(cs->last_soft_day);
    p[4] = sv_int(cs->last_bounce_at);
    p[5] = sv_text(cs->last_reason == BNC_R_UNDEFINED ? "" : bnc_reason_name(cs->last_reason));
    p[6] = sv_text(last_status ? last_status : "");
    p[7] = sv_int(now);
}

bnc_status
model_write_state(struct store *st, int64_t contact_id, const struct contact_state *cs,
                  const char *last_status, int64_t now)
{
    static const char *q =
        "UPDATE contacts SET hygiene_status = $2, soft_bounce_count = $3, last_soft_day = $4, "
        "last_bounce_at = $5, last_reason = $6, last_status = $7, updated_at = $8 WHERE id = $1";
    struct store_value p[8];

    state_params(p, contact_id, cs, last_status, now);
    return store_exec(st, q, p, 8, NULL, NULL, NULL);
}

bnc_status
model_write_state_if(struct store *st, int64_t contact_id, const struct contact_state *expected,
                     const struct contact_state *cs, const char *last_status, int64_t now)
{
    static const char *q =
        "UPDATE contacts SET hygiene_status = $2, soft_bounce_count = $3, last_soft_day = $4, "
        "last_bounce_at = $5, last_reason = $6, last_status = $7, updated_at = $8 WHERE id = $1 "
        "AND hygiene_status = $9 AND soft_bounce_count = $10 AND last_soft_day = $11 AND "
        "last_bounce_at = $12";
    struct store_value p[12];
    int64_t changes = 0;
    bnc_status rc;

    state_params(p, contact_id, cs, last_status, now);
    p[8] = sv_text(hyg_status_name(expected->status));
    p[9] = sv_int(expected->soft_count);
    p[10] = sv_int(expected->last_soft_day);
    p[11] = sv_int(expected->last_bounce_at);
    rc = store_exec(st, q, p, 12, NULL, NULL, &changes);
    if (rc == BNC_OK && changes == 0) {
        return BNC_EBUSY; /* changed by a concurrent transaction since it was read */
    }
    return rc;
}
