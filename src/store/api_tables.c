/*
 * api_tables.c - queries over the API's own tables (api_tokens, verifications, rules).
 *
 * Portable SQL only ($n parameters, integer times, RETURNING), one static string per query
 * so each backend prepares it once per connection. It does not hash or generate tokens
 * (src/api/auth.c does) and does not decide scopes.
 * LIMITS: names and scopes are copied into fixed arrays (longer values are cut, they were
 * validated on the way in); api_rule_list returns at most API_RULES_MAX rows.
 * Ownership: see api_store.h.
 */
#include "api_store.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "model.h"
#include "store.h"

#define API_RULES_MAX 10000

static void
api_copy(char *dst, size_t dstlen, const struct store_value *v)
{
    size_t n = 0;

    if (v->type == SV_TEXT && v->s != NULL) {
        n = v->len < dstlen - 1 ? v->len : dstlen - 1;
        memcpy(dst, v->s, n);
    }
    dst[n] = '\0';
}

static int64_t
api_int(const struct store_value *v)
{
    return v->type == SV_INT ? v->i : 0;
}

static void
api_token_from_row(const struct store_row *row, struct api_token_row *t)
{
    memset(t, 0, sizeof(*t));
    if (row->ncols < 6) {
        return;
    }
    t->id = api_int(&row->cols[0]);
    api_copy(t->name, sizeof(t->name), &row->cols[1]);
    api_copy(t->scopes, sizeof(t->scopes), &row->cols[2]);
    t->created_at = api_int(&row->cols[3]);
    t->last_used_at = api_int(&row->cols[4]);
    t->revoked_at = api_int(&row->cols[5]);
}

static int
api_token_one_cb(void *ud, const struct store_row *row)
{
    struct api_token_row *t = ud;

    api_token_from_row(row, t);
    return 1;
}

bnc_status
api_token_insert(struct store *st, const char *name, const char *hash_hex, const char *scopes,
                 int64_t now, int64_t *id_out)
{
    static const char sql[] = "INSERT INTO api_tokens (name, token_hash, scopes, created_at) "
                              "VALUES ($1, $2, $3, $4) RETURNING id";
    struct store_value p[4];

    p[0] = sv_text(name);
    p[1] = sv_text(hash_hex);
    p[2] = sv_text(scopes);
    p[3] = sv_int(now);
    return store_query_int(st, sql, p, 4, id_out);
}

bnc_status
api_token_lookup(struct store *st, const char *hash_hex, struct api_token_row *out)
{
    static const char sql[] =
        "SELECT id, name, scopes, created_at, last_used_at, revoked_at FROM api_tokens "
        "WHERE token_hash = $1 AND revoked_at IS NULL";
    struct store_value p[1];
    bnc_status rc;

    memset(out, 0, sizeof(*out));
    p[0] = sv_text(hash_hex);
    rc = store_exec(st, sql, p, 1, api_token_one_cb, out, NULL);
    if (rc != BNC_OK) {
        return rc;
    }
    return out->id == 0 ? BNC_ENOTFOUND : BNC_OK;
}

bnc_status
api_token_touch(struct store *st, int64_t id, int64_t now)
{
    static const char sql[] = "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2";
    struct store_value p[2];

    p[0] = sv_int(now);
    p[1] = sv_int(id);
    return store_exec(st, sql, p, 2, NULL, NULL, NULL);
}

struct api_list_ud {
    void (*cb)(void *ud, const struct api_token_row *t);
    void *ud;
};

static int
api_token_list_cb(void *ud, const struct store_row *row)
{
    struct api_list_ud *l = ud;
    struct api_token_row t;

    api_token_from_row(row, &t);
    l->cb(l->ud, &t);
    return 0;
}

bnc_status
api_token_list(struct store *st, void (*cb)(void *ud, const struct api_token_row *t), void *ud)
{
    static const char sql[] =
        "SELECT id, name, scopes, created_at, last_used_at, revoked_at FROM api_tokens "
        "ORDER BY id DESC";
    struct api_list_ud l = {cb, ud};

    return store_exec(st, sql, NULL, 0, api_token_list_cb, &l, NULL);
}

bnc_status
api_token_revoke(struct store *st, const char *id_or_name, int64_t now, int64_t *n_out)
{
    static const char by_id[] =
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
    static const char by_name[] =
        "UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL";
    struct store_value p[2];
    const char *s;
    int64_t id = 0;
    bool numeric = id_or_name[0] != '\0';

    for (s = id_or_name; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || id > (INT64_MAX - 9) / 10) {
            numeric = false;
            break;
        }
        id = id * 10 + (*s - '0');
    }
    p[0] = sv_int(now);
    if (numeric) {
        p[1] = sv_int(id);
        return store_exec(st, by_id, p, 2, NULL, NULL, n_out);
    }
    p[1] = sv_text(id_or_name);
    return store_exec(st, by_name, p, 2, NULL, NULL, n_out);
}

bnc_status
api_token_count(struct store *st, int64_t *n_out)
{
    static const char sql[] = "SELECT COUNT(*) FROM api_tokens";

    return store_query_int(st, sql, NULL, 0, n_out);
}

bnc_status
api_verif_insert(struct store *st, int64_t contact_id, const char *hash_hex, int64_t now,
                 int64_t expires_at)
{
    static const char sql[] = "INSERT INTO verifications (contact_id, token_hash, created_at, "
                              "expires_at) VALUES ($1, $2, $3, $4)";
    struct store_value p[4];

    p[0] = sv_int(contact_id);
    p[1] = sv_text(hash_hex);
    p[2] = sv_int(now);
    p[3] = sv_int(expires_at);
    return store_exec(st, sql, p, 4, NULL, NULL, NULL);
}

struct api_verif_ud {
    bool found;
    int64_t contact_id, expires_at, used_at;
};

static int
api_verif_cb(void *ud, const struct store_row *row)
{
    struct api_verif_ud *v = ud;

    if (row->ncols >= 3) {
        v->found = true;
        v->contact_id = api_int(&row->cols[0]);
        v->expires_at = api_int(&row->cols[1]);
        v->used_at = api_int(&row->cols[2]);
    }
    return 1;
}

bnc_status
api_verif_consume(struct store *st, const char *hash_hex, int64_t now, int64_t *contact_id_out)
{
    static const char sel[] =
        "SELECT contact_id, expires_at, used_at FROM verifications WHERE token_hash = $1";
    /* The used_at IS NULL guard makes "once" hold even when two requests race. */
    static const char upd[] =
        "UPDATE verifications SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL";
    struct store_value p[2];
    struct api_verif_ud v = {false, 0, 0, 0};
    int64_t changed = 0;
    bnc_status rc;

    p[0] = sv_text(hash_hex);
    if ((rc = store_exec(st, sel, p, 1, api_verif_cb, &v, NULL)) != BNC_OK) {
        return rc;
    }
    if (!v.found) {
        return BNC_ENOTFOUND;
    }
    if (v.used_at != 0) {
        return BNC_ECONFLICT;
    }
    if (now > v.expires_at) {
        return BNC_ELIMIT;
    }
    p[0] = sv_int(now);
    p[1] = sv_text(hash_hex);
    if ((rc = store_exec(st, upd, p, 2, NULL, NULL, &changed)) != BNC_OK) {
        return rc;
    }
    if (changed != 1) {
        return BNC_ECONFLICT;
    }
    *contact_id_out = v.contact_id;
    return BNC_OK;
}

static int
api_check_cb(void *ud, const struct store_row *row)
{
    struct model_check *c = ud;

    if (row->ncols < 6) {
        return 1;
    }
    if (row->cols[0].type != SV_NULL) { /* a suppression row */
        c->sendable = false;
        api_copy(c->reason, sizeof(c->reason), &row->cols[0]);
        api_copy(c->source, sizeof(c->source), &row->cols[1]);
        c->since = api_int(&row->cols[2]);
    }
    if (row->cols[3].type != SV_NULL) { /* a contact */
        c->known = true;
        api_copy(c->status, sizeof(c->status), &row->cols[3]);
        if (c->sendable &&
            (strcmp(c->status, "BOUNCED_HARD") == 0 || strcmp(c->status, "COMPLAINED") == 0)) {
            c->sendable = false;
            api_copy(c->reason, sizeof(c->reason), &row->cols[4]);
            memcpy(c->source, "contact", sizeof("contact"));
            c->since = api_int(&row->cols[5]);
        }
    }
    return 1;
}

bnc_status
api_check_lookup(struct store *st, const char *address, struct model_check *out)
{
    /* CAST gives PostgreSQL the parameter's type; both sides are unique indexes. */
    static const char sql[] =
        "SELECT s.reason, s.source, s.created_at, c.hygiene_status, c.last_reason, "
        "c.last_bounce_at FROM (SELECT CAST($1 AS TEXT) AS a) q "
        "LEFT JOIN suppressions s ON s.address = q.a LEFT JOIN contacts c ON c.email = q.a";
    struct store_value p[1];

    memset(out, 0, sizeof(*out));
    out->sendable = true;
    p[0] = sv_text(address);
    return store_exec(st, sql, p, 1, api_check_cb, out, NULL);
}

bnc_status
api_rule_insert(struct store *st, const char *pattern, const char *created_by, const char *note,
                int64_t now, int64_t *id_out)
{
    static const char sql[] = "INSERT INTO rules (pattern, created_at, created_by, note) "
                              "VALUES ($1, $2, $3, $4) RETURNING id";
    struct store_value p[4];

    p[0] = sv_text(pattern);
    p[1] = sv_int(now);
    p[2] = sv_text(created_by != NULL ? created_by : "");
    p[3] = sv_text(note != NULL ? note : "");
    return store_query_int(st, sql, p, 4, id_out);
}

bnc_status
api_rule_delete(struct store *st, int64_t id)
{
    static const char sql[] = "DELETE FROM rules WHERE id = $1";
    struct store_value p[1];
    int64_t changed = 0;
    bnc_status rc;

    p[0] = sv_int(id);
    rc = store_exec(st, sql, p, 1, NULL, NULL, &changed);
    if (rc == BNC_OK && changed == 0) {
        rc = BNC_ENOTFOUND;
    }
    return rc;
}

struct api_rules_ud {
    struct api_rule_row *rows;
    size_t n, alloc;
};

static char *
api_dup(const struct store_value *v)
{
    if (v->type != SV_TEXT || v->s == NULL) {
        return xstrdup("");
    }
    return xstrndup(v->s, v->len);
}

static int
api_rules_cb(void *ud, const struct store_row *row)
{
    struct api_rules_ud *r = ud;
    struct api_rule_row *x;

    if (row->ncols < 5) {
        return 0;
    }
    if (r->n >= API_RULES_MAX) {
        return 1;
    }
    if (r->n == r->alloc) {
        r->alloc = r->alloc == 0 ? 16 : r->alloc * 2;
        r->rows = xrealloc(r->rows, r->alloc * sizeof(*r->rows));
    }
    x = &r->rows[r->n++];
    x->id = api_int(&row->cols[0]);
    x->pattern = api_dup(&row->cols[1]);
    x->created_at = api_int(&row->cols[2]);
    x->created_by = api_dup(&row->cols[3]);
    x->note = api_dup(&row->cols[4]);
    return 0;
}

bnc_status
api_rule_list(struct store *st, struct api_rule_row **rows_out, size_t *n_out)
{
    static const char sql[] =
        "SELECT id, pattern, created_at, created_by, note FROM rules ORDER BY id";
    struct api_rules_ud r = {NULL, 0, 0};
    bnc_status rc;

    rc = store_exec(st, sql, NULL, 0, api_rules_cb, &r, NULL);
    if (rc != BNC_OK) {
        api_rule_rows_free(r.rows, r.n);
        *rows_out = NULL;
        *n_out = 0;
        return rc;
    }
    *rows_out = r.rows;
    *n_out = r.n;
    return BNC_OK;
}

void
api_rule_rows_free(struct api_rule_row *rows, size_t n)
{
    size_t i;

    if (rows == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        free(rows[i].pattern);
        free(rows[i].created_by);
        free(rows[i].note);
    }
    free(rows);
}
