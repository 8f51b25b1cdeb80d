/*
 * ingest_state.c - the follower positions, SNS subscriptions and webhook replay tokens of
 * 0005_follow.sql (see ingest_state.h), in portable SQL over store_exec().
 *
 * What it does not do: decide whether a file is the one a position belongs to (the follower
 * compares identities), or fetch a SubscribeURL (the CLI does, when an operator asks).
 * LIMITS: none of its own; the texts it stores were bounded by their callers.
 */
#include "store/ingest_state.h"

#include <string.h>

#include "store/store.h"

static int
pos_row(void *ud, const struct store_row *r)
{
    struct ingest_pos *p = ud;

    p->position = sv_as_int(&r->cols[0]);
    p->dev = sv_as_int(&r->cols[1]);
    p->ino = sv_as_int(&r->cols[2]);
    p->head_len = sv_as_int(&r->cols[3]);
    sv_copy(p->head_hash, sizeof(p->head_hash), &r->cols[4]);
    p->head_hash[INGEST_HEAD_HEX - 1] = '\0';
    return 1;
}

bnc_status
ingest_pos_get(struct store *st, const char *source, struct ingest_pos *out, bool *found_out)
{
    static const char *q = "SELECT position, file_dev, file_ino, head_len, head_hash FROM "
                           "ingest_offsets WHERE source = $1";
    struct store_value p[1] = {sv_text(source)};
    bnc_status rc;

    memset(out, 0, sizeof(*out));
    out->position = -1;
    rc = store_exec(st, q, p, 1, pos_row, out, NULL);
    *found_out = rc == BNC_OK && out->position >= 0;
    if (!*found_out) {
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

bnc_status
ingest_pos_set(struct store *st, const char *source, const struct ingest_pos *pos, int64_t now)
{
    static const char *q =
        "INSERT INTO ingest_offsets (source, position, updated_at, file_dev, file_ino, head_len, "
        "head_hash) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (source) DO UPDATE SET "
        "position = excluded.position, updated_at = excluded.updated_at, file_dev = "
        "excluded.file_dev, file_ino = excluded.file_ino, head_len = excluded.head_len, "
        "head_hash = excluded.head_hash";
    struct store_value p[7] = {sv_text(source),        sv_int(pos->position), sv_int(now),
                               sv_int(pos->dev),       sv_int(pos->ino),      sv_int(pos->head_len),
                               sv_text(pos->head_hash)};
    return store_exec(st, q, p, 7, NULL, NULL, NULL);
}

bnc_status
ingest_sns_add(struct store *st, const char *topic_arn, const char *subscribe_url,
               const char *message_id, int64_t now)
{
    static const char *q = "INSERT INTO sns_subscriptions (topic_arn, subscribe_url, message_id, "
                           "received_at) VALUES ($1, $2, $3, $4) ON CONFLICT (subscribe_url) DO "
                           "NOTHING";
    struct store_value p[4] = {sv_text(topic_arn), sv_text(subscribe_url), sv_text(message_id),
                               sv_int(now)};
    return store_exec(st, q, p, 4, NULL, NULL, NULL);
}

struct sns_list_ctx {
    ingest_sns_cb cb;
    void *ud;
};

static int
sns_row(void *ud, const struct store_row *r)
{
    struct sns_list_ctx *c = ud;
    struct ingest_sns_sub s;

    s.id = sv_as_int(&r->cols[0]);
    s.topic_arn = r->cols[1].type == SV_TEXT ? r->cols[1].s : "";
    s.subscribe_url = r->cols[2].type == SV_TEXT ? r->cols[2].s : "";
    s.message_id = r->cols[3].type == SV_TEXT ? r->cols[3].s : "";
    s.received_at = sv_as_int(&r->cols[4]);
    s.confirmed_at = sv_as_int(&r->cols[5]);
    c->cb(c->ud, &s);
    return 0;
}

bnc_status
ingest_sns_list(struct store *st, bool pending_only, ingest_sns_cb cb, void *ud)
{
    static const char *q = "SELECT id, topic_arn, subscribe_url, message_id, received_at, "
                           "confirmed_at FROM sns_subscriptions WHERE $1 = 0 OR confirmed_at IS "
                           "NULL ORDER BY id";
    struct store_value p[1] = {sv_int(pending_only ? 1 : 0)};
    struct sns_list_ctx c = {cb, ud};

    return store_exec(st, q, p, 1, sns_row, &c, NULL);
}

bnc_status
ingest_sns_confirmed(struct store *st, int64_t id, int64_t now)
{
    static const char *q = "UPDATE sns_subscriptions SET confirmed_at = $2 WHERE id = $1";
    struct store_value p[2] = {sv_int(id), sv_int(now)};
    int64_t changes = 0;
    bnc_status rc = store_exec(st, q, p, 2, NULL, NULL, &changes);

    return rc == BNC_OK && changes == 0 ? BNC_ENOTFOUND : rc;
}

bnc_status
ingest_replay_check(struct store *st, const char *vendor, const char *token, int64_t now,
                    int64_t max_age)
{
    static const char *q_old = "DELETE FROM webhook_replay WHERE seen_at < $1";
    static const char *q_add = "INSERT INTO webhook_replay (vendor, token, seen_at) VALUES ($1, "
                               "$2, $3) ON CONFLICT DO NOTHING";
    struct store_value po[1] = {sv_int(now - max_age)};
    struct store_value pa[3] = {sv_text(vendor), sv_text(token), sv_int(now)};
    int64_t changes = 0;
    bnc_status rc;

    if ((rc = store_begin(st)) != BNC_OK) {
        return rc;
    }
    if ((rc = store_exec(st, q_old, po, 1, NULL, NULL, NULL)) != BNC_OK ||
        (rc = store_exec(st, q_add, pa, 3, NULL, NULL, &changes)) != BNC_OK) {
        (void)store_rollback(st);
        return rc;
    }
    if ((rc = store_commit(st)) != BNC_OK) {
        return rc;
    }
    return changes == 0 ? BNC_ECONFLICT : BNC_OK;
}

bnc_status
ingest_replay_seen(struct store *st, const char *vendor, const char *token, int64_t now,
                   int64_t max_age, bool *seen_out)
{
    static const char *q = "SELECT 1 FROM webhook_replay WHERE vendor = $1 AND token = $2 AND "
                           "seen_at >= $3";
    struct store_value p[3] = {sv_text(vendor), sv_text(token), sv_int(now - max_age)};
    int64_t one = 0;
    bnc_status rc = store_query_int(st, q, p, 3, &one);

    *seen_out = rc == BNC_OK;
    return rc == BNC_ENOTFOUND ? BNC_OK : rc;
}
