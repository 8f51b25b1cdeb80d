/*
 * api_store.h - what the HTTP API needs from the store beyond the model: its own tables
 * (0002_api.sql: api_tokens, verifications in tokens.c; rules in user_rules.c) and the
 * one-statement suppression check (check.c). Portable SQL over store_exec().
 *
 * Tokens are never stored in clear: callers pass the hex SHA-256 (api_token_hash() in
 * src/api/auth.h). Times are Unix seconds supplied by the caller (so --now works).
 * Ownership: strings in the structs below are fixed arrays or heap strings the caller frees
 * with the matching _free function; every function borrows its arguments.
 */
#ifndef BNC_STORE_API_STORE_H
#define BNC_STORE_API_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounced.h"

struct store;

#define API_TOKEN_NAME_MAX   64
#define API_TOKEN_SCOPES_MAX 128

struct api_token_row {
    int64_t id;
    char name[API_TOKEN_NAME_MAX + 1];
    char scopes[API_TOKEN_SCOPES_MAX + 1];
    int64_t created_at;
    int64_t last_used_at; /* 0 = never */
    int64_t revoked_at;   /* 0 = active */
};

/* Insert a token; *id_out gets its id. BNC_ECONFLICT if the hash exists. */
bnc_status api_token_insert(struct store *st, const char *name, const char *hash_hex,
                            const char *scopes, int64_t now, int64_t *id_out);
/* The active (not revoked) token with this hash: BNC_ENOTFOUND if none. */
bnc_status api_token_lookup(struct store *st, const char *hash_hex, struct api_token_row *out);
/* Record use (throttled by the caller). */
bnc_status api_token_touch(struct store *st, int64_t id, int64_t now);
/* Every token, newest first, through cb. */
bnc_status api_token_list(struct store *st, void (*cb)(void *ud, const struct api_token_row *t),
                          void *ud);
/* Revoke by numeric id or by name (all active tokens of that name). *n_out = how many. */
bnc_status api_token_revoke(struct store *st, const char *id_or_name, int64_t now, int64_t *n_out);
/* Number of tokens ever created (revoked included). */
bnc_status api_token_count(struct store *st, int64_t *n_out);

/* Re-verification links. */
bnc_status api_verif_insert(struct store *st, int64_t contact_id, const char *hash_hex, int64_t now,
                            int64_t expires_at);
/* Mark the link used, once: *contact_id_out gets its contact. BNC_ENOTFOUND when unknown,
 * BNC_ECONFLICT when already used, BNC_ELIMIT when expired. */
bnc_status api_verif_consume(struct store *st, const char *hash_hex, int64_t now,
                             int64_t *contact_id_out);


/* Rules stored through the API. */
struct api_rule_row {
    int64_t id;
    char *pattern; /* heap */
    int64_t created_at;
    char *created_by; /* heap */
    char *note;       /* heap */
};
bnc_status api_rule_insert(struct store *st, const char *pattern, const char *created_by,
                           const char *note, int64_t now, int64_t *id_out);
/* BNC_ENOTFOUND when no such rule. */
bnc_status api_rule_delete(struct store *st, int64_t id);
/* Every rule, oldest first: *rows_out is a heap array, free with api_rule_rows_free(). */
bnc_status api_rule_list(struct store *st, struct api_rule_row **rows_out, size_t *n_out);
void api_rule_rows_free(struct api_rule_row *rows, size_t n); /* NULL-safe */

#endif
