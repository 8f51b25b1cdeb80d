/*
 * auth.h - API tokens: generation, hashing, scopes, and the server's token cache with its
 * per-token rate limiter and its per-address limit on failed authentications.
 *
 * A token is "bnc_" followed by 64 hex digits of 32 random bytes (OpenSSL RAND_bytes); only
 * its SHA-256 (hex) is stored. Scopes are contact:read, contact:write, bounce:write and
 * admin; admin implies every other scope.
 * Ownership: plain values; the cache owns its entries and is thread-safe.
 */
#ifndef BNC_API_AUTH_H
#define BNC_API_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounced.h"

struct store;

#define AUTH_TOKEN_LEN 68 /* "bnc_" + 64 hex */
#define AUTH_HASH_LEN  64 /* hex SHA-256 */
#define AUTH_PREFIX    "bnc_"

#define AUTH_S_CONTACT_READ  (1u << 0)
#define AUTH_S_CONTACT_WRITE (1u << 1)
#define AUTH_S_BOUNCE_WRITE  (1u << 2)
#define AUTH_S_ADMIN         (1u << 3)
#define AUTH_S_ALL           0xfu

/* A fresh token into out (outlen > AUTH_TOKEN_LEN). BNC_EINTERNAL if the RNG fails. */
bnc_status auth_token_generate(char *out, size_t outlen);
/* Hex SHA-256 of s[0..len) into out (NUL-terminated, AUTH_HASH_LEN + 1 bytes). */
void auth_sha256_hex(const void *s, size_t len, char out[AUTH_HASH_LEN + 1]);
/* Parse a comma list of scope names into bits; BNC_EINVAL (bad names in err) if unknown or
 * empty. */
bnc_status auth_scopes_parse(const char *list, unsigned *bits_out, char *err, size_t errlen);
/* Canonical comma list for bits into out. */
void auth_scopes_format(unsigned bits, char *out, size_t outlen);
/* Does a token with `have` satisfy `need` (admin implies all)? */
bool auth_scopes_allow(unsigned have, unsigned need);

/* The verdict of authenticating one request. AUTH_BLOCKED: the client's address spent its
 * failed authentications; nothing it sends is looked at until its bucket refills. */
enum auth_result {
    AUTH_OK = 0,
    AUTH_MISSING,
    AUTH_INVALID,
    AUTH_RATE_LIMITED,
    AUTH_FAULT,
    AUTH_BLOCKED
};

struct auth_cache;
/* ttl: how long a looked-up token is trusted before it is read again (revocation delay);
 * rate: requests per second per token, 0 = unlimited (burst = rate); fails_per_minute:
 * failed authentications per client address per minute (burst = the same), 0 = unlimited. */
struct auth_cache *auth_cache_new(int64_t ttl_seconds, int64_t rate, int64_t fails_per_minute);
void auth_cache_free(struct auth_cache *c); /* NULL-safe */
/* Seconds a client told AUTH_RATE_LIMITED or AUTH_BLOCKED should wait (Retry-After). */
int64_t auth_retry_after(const struct auth_cache *c, enum auth_result res);
/* Authenticate the bearer token `tok` (not NUL-terminated, len bytes) using st on a miss.
 * peer is the client's address (NULL = not limited by address). On AUTH_OK fills *id_out and
 * *scopes_out. now_ms is a monotonic clock in milliseconds; wall is Unix seconds (for
 * last_used_at). Thread-safe. */
enum auth_result auth_check(struct auth_cache *c,        /* the server's cache */
                            struct store *st,            /* this thread's store, for a miss */
                            const char *tok, size_t len, /* the bearer token */
                            const char *peer,            /* client address; may be NULL */
                            int64_t now_ms, int64_t wall, int64_t *id_out, /* OUT: token id */
                            unsigned *scopes_out);                         /* OUT: AUTH_S_* */

#endif
