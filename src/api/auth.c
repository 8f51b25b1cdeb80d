/*
 * auth.c - bearer tokens for the HTTP API: generation, SHA-256 hashing, scopes, a small
 * cache in front of the api_tokens table, a per-token request limit and a per-address limit
 * on failed authentications.
 *
 * The cache exists so the hot path (GET /api/v1/check/{address}) does not read the token
 * row on every request: a looked-up token (valid or not) is trusted for `ttl` seconds, which
 * is therefore the longest a revocation takes to bite. It does not parse HTTP headers (the
 * caller hands over the token text) and does not decide which scope a route needs.
 *
 * STANDARDS: RFC 6750 (Bearer token usage), FIPS 180-4 (SHA-256).
 * The rate state is not in the cache: a cache slot is shared by every token whose hash lands
 * on it, so a bucket kept there would be reset by any colliding token (a second token of the
 * same client, or junk minted to collide). Buckets live in rate tables keyed by the token's
 * whole SHA-256 and by the client's address (ratelimit.c); only valid tokens get a request
 * bucket, only failures spend an address's bucket.
 *
 * LIMITS: AUTH_CACHE_SLOTS entries (a full cache evicts the slot it hashes to: a re-read, never
 * a wrong answer); AUTH_RATE_KEYS token buckets and AUTH_FAIL_KEYS address buckets; a token
 * must be exactly AUTH_TOKEN_LEN characters of the documented shape, so junk never reaches
 * the store; last_used_at is written at most once per AUTH_TOUCH_EVERY seconds per token.
 * Ownership: the cache owns its fixed table; everything else is a plain value.
 */
#include "auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/cfg.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "ratelimit.h"
#include "store/api_store.h"

#define AUTH_CACHE_SLOTS 1024
#define AUTH_TOUCH_EVERY 60
#define AUTH_RATE_KEYS   65536
#define AUTH_FAIL_KEYS   16384

static const struct {
    const char *name;
    unsigned bit;
} auth_scope_names[] = {
    {"contact:read", AUTH_S_CONTACT_READ},
    {"contact:write", AUTH_S_CONTACT_WRITE},
    {"bounce:write", AUTH_S_BOUNCE_WRITE},
    {"admin", AUTH_S_ADMIN},
};
#define AUTH_NSCOPES (sizeof(auth_scope_names) / sizeof(auth_scope_names[0]))

struct auth_entry {
    bool used;
    bool valid; /* the token exists and is not revoked */
    char hash[AUTH_HASH_LEN + 1];
    int64_t id;
    unsigned scopes;
    int64_t fetched_ms;
    int64_t touched; /* wall seconds of the last last_used_at write */
};

struct auth_cache {
    pthread_mutex_t mu;
    int64_t ttl_ms;
    struct rate_table *tokens; /* requests per token (full hash); NULL = unlimited */
    struct rate_table *fails;  /* failed authentications per client address; NULL = off */
    int64_t fails_per_min;
    struct auth_entry slots[AUTH_CACHE_SLOTS];
};

static const char auth_hex[] = "0123456789abcdef";

bnc_status
auth_token_generate(char *out, size_t outlen)
{
    unsigned char raw[32];
    size_t i, o;

    if (outlen <= AUTH_TOKEN_LEN) {
        return BNC_EINVAL;
    }
    if (RAND_bytes(raw, (int)sizeof(raw)) != 1) {
        return BNC_EINTERNAL;
    }
    memcpy(out, AUTH_PREFIX, 4);
    o = 4;
    for (i = 0; i < sizeof(raw); i++) {
        out[o++] = auth_hex[raw[i] >> 4];
        out[o++] = auth_hex[raw[i] & 15];
    }
    out[o] = '\0';
    return BNC_OK;
}

void
auth_sha256_hex(const void *s, size_t len, char out[AUTH_HASH_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;

    if (EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        memset(out, '0', AUTH_HASH_LEN);
        out[AUTH_HASH_LEN] = '\0';
        return;
    }
    for (i = 0; i < 32; i++) {
        out[2 * i] = auth_hex[md[i] >> 4];
        out[2 * i + 1] = auth_hex[md[i] & 15];
    }
    out[AUTH_HASH_LEN] = '\0';
}

bnc_status
auth_scopes_parse(const char *list, unsigned *bits_out, char *err, size_t errlen)
{
    unsigned bits = 0;
    const char *p = list, *e;
    size_t i, n;

    if (list == NULL) {
        snprintf(err, errlen, "no scopes given");
        return BNC_EINVAL;
    }
    while (*p != '\0') {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        for (e = p; *e != '\0' && *e != ',' && *e != ' '; e++) {
        }
        n = (size_t)(e - p);
        for (i = 0; i < AUTH_NSCOPES; i++) {
            if (strlen(auth_scope_names[i].name) == n &&
                memcmp(auth_scope_names[i].name, p, n) == 0) {
                bits |= auth_scope_names[i].bit;
                break;
            }
        }
        if (i == AUTH_NSCOPES) {
            snprintf(err, errlen,
                     "unknown scope \"%.*s\" (known: contact:read, contact:write, "
                     "bounce:write, admin)",
                     (int)(n > 40 ? 40 : n), p);
            return BNC_EINVAL;
        }
        p = e;
    }
    if (bits == 0) {
        snprintf(err, errlen, "no scopes given");
        return BNC_EINVAL;
    }
    *bits_out = bits;
    return BNC_OK;
}

void
auth_scopes_format(unsigned bits, char *out, size_t outlen)
{
    size_t i, o = 0;

    if (outlen == 0) {
        return;
    }
    out[0] = '\0';
    for (i = 0; i < AUTH_NSCOPES; i++) {
        if ((bits & auth_scope_names[i].bit) != 0) {
            int w =
                snprintf(out + o, outlen - o, "%s%s", o > 0 ? "," : "", auth_scope_names[i].name);
            if (w < 0 || (size_t)w >= outlen - o) {
                return;
            }
            o += (size_t)w;
        }
    }
}

bool
auth_scopes_allow(unsigned have, unsigned need)
{
    if ((have & AUTH_S_ADMIN) != 0) {
        return true;
    }
    return (have & need) == need;
}

struct auth_cache *
auth_cache_new(int64_t ttl_seconds, int64_t rate, int64_t fails_per_minute)
{
    struct auth_cache *c = xcalloc(1, sizeof(*c));

    pthread_mutex_init(&c->mu, NULL);
    c->ttl_ms = ttl_seconds * 1000;
    if (rate > 0) {
        c->tokens = rate_table_new(AUTH_RATE_KEYS, (double)rate, (double)rate);
    }
    if (fails_per_minute > 0) {
        c->fails = rate_table_new(AUTH_FAIL_KEYS, (double)fails_per_minute / 60.0,
                                  (double)fails_per_minute);
        c->fails_per_min = fails_per_minute;
    }
    return c;
}

int64_t
auth_retry_after(const struct auth_cache *c, enum auth_result res)
{
    if (res == AUTH_BLOCKED && c->fails_per_min > 0) {
        return (60 + c->fails_per_min - 1) / c->fails_per_min; /* one failure's refill */
    }
    return 1;
}

void
auth_cache_free(struct auth_cache *c)
{
    if (c == NULL) {
        return;
    }
    pthread_mutex_destroy(&c->mu);
    rate_table_free(c->tokens);
    rate_table_free(c->fails);
    free(c);
}

static bool
auth_shape_ok(const char *tok, size_t len)
{
    size_t i;

    if (len != AUTH_TOKEN_LEN || memcmp(tok, AUTH_PREFIX, 4) != 0) {
        return false;
    }
    for (i = 4; i < len; i++) {
        char ch = tok[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
            return false;
        }
    }
    return true;
}

static size_t
auth_slot(const char *hash)
{
    size_t h = 0;
    int i;

    for (i = 0; i < 8; i++) {
        h = h * 16 + (size_t)(strchr(auth_hex, hash[i]) - auth_hex);
    }
    return h % AUTH_CACHE_SLOTS;
}

/* A valid token's request: its own bucket, keyed by the whole hash. */
static enum auth_result
auth_rate(struct auth_cache *c, const char *hash, int64_t now_ms)
{
    if (c->tokens == NULL || rate_take(c->tokens, hash, now_ms)) {
        return AUTH_OK;
    }
    return AUTH_RATE_LIMITED;
}

/* A failed authentication from peer: spend one of its address's failures. */
static enum auth_result
auth_failed(struct auth_cache *c, const char *peer, int64_t now_ms)
{
    if (c->fails != NULL && peer != NULL) {
        (void)rate_take(c->fails, peer, now_ms);
    }
    return AUTH_INVALID;
}

enum auth_result
auth_check(struct auth_cache *c, struct store *st, const char *tok, size_t len, const char *peer,
           int64_t now_ms, int64_t wall, int64_t *id_out, unsigned *scopes_out)
{
    char hash[AUTH_HASH_LEN + 1];
    struct auth_entry *e;
    struct api_token_row row;
    bnc_status rc;
    bool valid, touch = false;
    char err[64];
    unsigned bits = 0;

    if (tok == NULL || len == 0) {
        return AUTH_MISSING;
    }
    if (c->fails != NULL && peer != NULL && rate_exhausted(c->fails, peer, now_ms)) {
        return AUTH_BLOCKED; /* guessing: not even a valid token is looked at until it cools */
    }
    if (!auth_shape_ok(tok, len)) {
        return auth_failed(c, peer, now_ms);
    }
    auth_sha256_hex(tok, len, hash);
    e = &c->slots[auth_slot(hash)];

    pthread_mutex_lock(&c->mu);
    if (e->used && strcmp(e->hash, hash) == 0 && now_ms - e->fetched_ms < c->ttl_ms) {
        valid = e->valid;
        *id_out = e->id;
        *scopes_out = e->scopes;
        pthread_mutex_unlock(&c->mu);
        return valid ? auth_rate(c, hash, now_ms) : auth_failed(c, peer, now_ms);
    }
    pthread_mutex_unlock(&c->mu);

    /* Miss or stale: read the row without holding the lock (the store is this thread's). */
    rc = api_token_lookup(st, hash, &row);
    if (rc != BNC_OK && rc != BNC_ENOTFOUND) {
        return AUTH_FAULT;
    }
    valid = rc == BNC_OK;
    if (valid && auth_scopes_parse(row.scopes, &bits, err, sizeof(err)) != BNC_OK) {
        valid = false; /* a row with no known scope grants nothing */
    }

    pthread_mutex_lock(&c->mu);
    if (!e->used || strcmp(e->hash, hash) != 0) {
        memset(e, 0, sizeof(*e));
        e->used = true;
        memcpy(e->hash, hash, sizeof(hash));
        e->touched = row.last_used_at;
    }
    e->valid = valid;
    e->id = valid ? row.id : 0;
    e->scopes = bits;
    e->fetched_ms = now_ms;
    if (valid && wall - e->touched >= AUTH_TOUCH_EVERY) {
        e->touched = wall;
        touch = true;
    }
    *id_out = e->id;
    *scopes_out = e->scopes;
    pthread_mutex_unlock(&c->mu);

    if (!valid) {
        return auth_failed(c, peer, now_ms);
    }
    if (touch && api_token_touch(st, row.id, wall) != BNC_OK) {
        log_debug("api: could not record token use: %s", "store failure");
    }
    return auth_rate(c, hash, now_ms);
}
