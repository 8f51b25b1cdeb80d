/*
 * tokens.c - the token tables of 0002_api.sql: api_tokens (the API's bearer tokens and their
 * scopes, revocation and last use) and verifications (the one-use re-verification links).
 *
 * Both hold only the hex SHA-256 of a token, never the token (src/api/auth.c hashes and
 * generates them and decides scopes). Portable SQL only ($n parameters, integer times,
 * RETURNING), one static string per query so each backend prepares it once per connection.
 * LIMITS: names and scopes are copied into fixed arrays (longer values are cut, they were
 * validated on the way in).
 * Ownership: see api_store.h.
 */
#include "api_store.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static void
api_token_from_row(const struct store_row *row, struct api_token_row *t)
{
    memset(t, 0, sizeof(*t));
    if (row->ncols < 6) {
        return;
    }
    t->id = sv_as_int(&row->cols[0]);
    sv_copy(t->name, sizeof(t->name), &row->cols[1]);
    sv_copy(t->scopes, sizeof(t->scopes), &row->cols[2]);
    t->created_at = sv_as_int(&row->cols[3]);
    t->last_used_at = sv_as_int(&row->cols[4]);
    t->revoked_at = sv_as_int(&row->cols[5]);
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
        v->contact_id = sv_as_int(&row->cols[0]);
        v->expires_at = sv_as_int(&row->cols[1]);
        v->used_at = sv_as_int(&row->cols[2]);
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
