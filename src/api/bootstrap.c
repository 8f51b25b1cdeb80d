/*
 * bootstrap.c - what `serve` / `make run` and the daemon call outside a request: the first
 * admin token, and the API-stored rules as extra rule sources for a ctx rebuild.
 *
 * It does not start anything and does not print: the caller shows the token once.
 * LIMITS: api_rule_list's row cap.
 * Ownership: api_rules_load() hands over a heap array (api_rules_free()).
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "core/log.h"
#include "core/xmalloc.h"
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

bnc_status
api_rules_load(struct store *st, struct api_rule_line **rules_out, size_t *n_out)
{
    struct api_rule_row *rows = NULL;
    struct api_rule_line *lines;
    size_t n = 0, i;
    bnc_status rc;
    char origin[48];

    *rules_out = NULL;
    *n_out = 0;
    if ((rc = api_rule_list(st, &rows, &n)) != BNC_OK) {
        return rc;
    }
    if (n == 0) {
        api_rule_rows_free(rows, n);
        return BNC_OK;
    }
    lines = xcalloc(n, sizeof(*lines));
    for (i = 0; i < n; i++) {
        lines[i].text = rows[i].pattern;
        rows[i].pattern = NULL;
        snprintf(origin, sizeof(origin), "db:rules:%lld", (long long)rows[i].id);
        lines[i].origin = xstrdup(origin);
    }
    api_rule_rows_free(rows, n);
    *rules_out = lines;
    *n_out = n;
    return BNC_OK;
}

void
api_rules_free(struct api_rule_line *rules, size_t n)
{
    size_t i;

    if (rules == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        free(rules[i].text);
        free(rules[i].origin);
    }
    free(rules);
}
