/*
 * tokens.c - API tokens outside a request: the first admin token of a fresh store, made by
 * `bounced serve` (and `bounced token create`) so that a new installation can be used at
 * all. Tokens are otherwise managed by the CLI (`bounced token`); there is no token route.
 *
 * The clear token is returned once and never stored: only its SHA-256 (auth.c).
 * Ownership: the caller's buffer receives the token.
 */
#include "api.h"

#include <string.h>
#include <time.h>

#include "auth.h"
#include "core/log.h"
#include "store/api_store.h"
#include "store/store.h"

bool
api_bootstrap_admin_token(struct store *st, char *out, size_t outlen)
{
    char tok[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_LEN + 1];
    int64_t n = 0, id = 0;
    bnc_status rc;

    if (outlen <= AUTH_TOKEN_LEN) {
        return false;
    }
    if ((rc = store_begin(st)) != BNC_OK) {
        return false;
    }
    rc = api_token_count(st, &n);
    if (rc == BNC_OK && n > 0) {
        store_rollback(st);
        return false;
    }
    if (rc == BNC_OK) {
        rc = auth_token_generate(tok, sizeof(tok));
    }
    if (rc == BNC_OK) {
        auth_sha256_hex(tok, strlen(tok), hash);
        rc = api_token_insert(st, "admin", hash, "admin", (int64_t)time(NULL), &id);
    }
    if (rc == BNC_OK) {
        rc = store_commit(st);
    } else {
        store_rollback(st);
    }
    if (rc != BNC_OK) {
        log_warnx("api: could not create the first admin token: %s", bnc_strerror(rc));
        return false;
    }
    memcpy(out, tok, sizeof(tok));
    return true;
}
