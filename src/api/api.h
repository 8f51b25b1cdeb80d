/*
 * api.h - the HTTP/JSON API of `bounced serve` (DESIGN §8): scoped bearer tokens, contacts,
 * suppression check, suppressions, events, review, rules, stats, POST /bounces, reverify,
 * /metrics, /healthz, the OpenAPI document and the embedded dashboard.
 *
 * The server runs on libmicrohttpd's own thread pool (http.threads, 0 = one per core). Each
 * pool thread opens its own store connection lazily and keeps it (thread-local); the daemon
 * only hands over the config and a way to get the current classification context.
 * Ownership: api_server_start() borrows *o->cfg (and o->ud) until api_server_stop(); the
 * caller keeps them alive and unchanged meanwhile. The server owns everything else.
 */
#ifndef BNC_API_API_H
#define BNC_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounced.h"

struct bnc_config;
struct store;
struct api_server;

struct api_options {
    const struct bnc_config *cfg; /* http.*, verify.*, limits.json_depth, store.url */
    /* The classification context to use for one request (POST /bounces, rule checks).
     * Called on a pool thread per request; must be thread-safe. The daemon swaps its ctx on
     * SIGHUP and returns the current one; the pointer must stay valid until the request ends
     * (the daemon frees an old ctx only after a grace period or under its own refcount). */
    bnc_ctx *(*get_ctx)(void *ud);
    void *ud;
    /* Optional. Called after a rules CRUD call committed (POST/DELETE /api/v1/rules) so the
     * daemon rebuilds its ctx with the DB rules as extra sources (api_rules_load() gives
     * them) and swaps it in, exactly as on SIGHUP. NULL: the server rebuilds nothing and
     * the change takes effect at the next reload. Return BNC_OK or a failure status (the
     * API then answers 500 with the message, and the rule stays stored). */
    bnc_status (*reload_rules)(void *ud);
    /* Optional. Handles POST /webhooks/{esp} (the ingest module's webhook receivers):
     * body is the raw request body, sig_headers the request headers as "Name: value\n"
     * lines. Writes a JSON or empty reply into *reply (caller-owned buffer of replylen) and
     * returns the HTTP status. NULL: /webhooks/... answers 404. */
    int (*webhook)(void *ud, const char *esp, const char *body, size_t len, const char *headers,
                   char *reply, size_t replylen);
    /* Optional. The raw bounce an event was read from (GET /api/v1/events/{id}/raw), by the
     * event's source and ref, while the daemon still keeps it (its spool). On BNC_OK *data_out
     * is a heap copy the API frees (free()) and *len_out its length; BNC_ENOTFOUND when it
     * is not kept (any more). Called on a pool thread; must be thread-safe. NULL: 404. */
    bnc_status (*raw_message)(void *ud, const char *source, const char *ref, char **data_out,
                              size_t *len_out);
    /* Optional: fixed "now" for tests (0 = the real clock). */
    int64_t now;
};

/* Bind http.listen and start the pool. On failure nothing is left running. *out is freed
 * by api_server_stop(). */
bnc_status api_server_start(const struct api_options *o, struct api_server **out);
/* Stop accepting, finish running requests, join the pool, close per-thread stores.
 * NULL-safe. */
void api_server_stop(struct api_server *s);
/* The TCP port actually bound (useful with http.listen = 127.0.0.1:0), 0 if unknown. */
int api_server_port(const struct api_server *s);

/* Create an admin token (all scopes) named "admin" only when the store has no token at all.
 * On creation writes the clear token into out (NUL-terminated; outlen >= 80) and returns
 * true; the token is shown to the user once and never stored in clear. Returns false when a
 * token already exists or on a store failure (logged). */
bool api_bootstrap_admin_token(struct store *st, char *out, size_t outlen);

/* One rule stored through the API: the same shape as classify's struct rule_src, so the
 * daemon passes them as extra sources to bnc_ctx_reload_rules(). */
struct api_rule_line {
    char *text;   /* the full rule line, e.g. "550 5.7.1 Unfortunately ==> soft:blocked" */
    char *origin; /* "db:rules:<id>", for decided_by */
};

/* The rules stored through the API, oldest first, for the daemon's ctx rebuild: fills
 * *rules_out with a heap array (free with api_rules_free()) and *n_out. */
bnc_status api_rules_load(struct store *st, struct api_rule_line **rules_out, size_t *n_out);
void api_rules_free(struct api_rule_line *rules, size_t n); /* NULL-safe */
/* Rebuild ctx's rules with those stored in st as extra sources (checked before the built-in
 * ones): the rule set `serve` classifies with, for every command that applies bounces.
 * Returns the store's status, or bnc_ctx_reload_rules()'s (ctx keeps its rules then, and
 * bnc_ctx_errmsg() says which rule failed). */
bnc_status api_rules_apply(struct store *st, bnc_ctx *ctx);

#endif
