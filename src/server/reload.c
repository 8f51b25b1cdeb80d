/*
 * reload.c - the daemon's classification context: the current ctx and the config it was
 * built from, built first at startup and again on SIGHUP (config file, environment and
 * the serve flags re-read) or after a rules change through the API (same config, rules
 * re-read from the store), and the callbacks the HTTP API is given to reach it.
 *
 * A new ctx is published under ctx_mu with a generation number: workers and the mailbox poll
 * switch before their next batch, the API through get_ctx(), the listener takes the
 * reloadable smtp.* settings for new sessions (on the loop, once the reload thread is done).
 * Old contexts are kept until exit, so a request or message that still uses one is never
 * left with a dangling pointer. One reload runs at a time (reload_mu).
 * Ownership: the ctx nodes belong to the struct serve and are freed by reload_free_all().
 */
#include "server/serve_int.h"

#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "classify/classify.h"
#include "core/cfg.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "ingest/smtp.h"
#include "ingest/spool.h"
#include "ingest/webhook.h"

static bnc_status ctx_build(struct serve *sv, struct bnc_config *cfg, struct store *st,
                            struct ctx_node **out);
static bnc_status reload(struct serve *sv, bool reread_config);
static bnc_status apply_overrides(struct serve *sv, struct bnc_config *c, char *err, size_t errlen);
static void *reload_main(void *arg);

struct ctx_node *
ctx_current(struct serve *sv, unsigned *gen_out)
{
    struct ctx_node *n;

    pthread_mutex_lock(&sv->ctx_mu);
    n = sv->cur;
    if (gen_out != NULL) {
        *gen_out = atomic_load(&sv->gen);
    }
    pthread_mutex_unlock(&sv->ctx_mu);
    return n;
}

bnc_status
reload_first(struct serve *sv, struct bnc_config *cfg)
{
    struct ctx_node *n;
    bnc_status rc;

    if ((rc = ctx_build(sv, cfg, SERVE_STORE_RELOAD(sv), &n)) != BNC_OK) {
        return rc;
    }
    sv->cur = n;
    return BNC_OK;
}

void
reload_begin(struct serve *sv)
{
    if (sv->reloading) {
        log_info("event=reload_pending");
        return;
    }
    log_info("event=reloading");
    sv->reloading = true;
    if (pthread_create(&sv->reloader, NULL, reload_main, sv) != 0) {
        sv->reloading = false;
        log_warnx("event=reload_failed detail=\"cannot start a thread\"");
    }
}

/* On the loop: the listener takes the new smtp.* settings for new sessions. */
void
reload_done_cb(evutil_socket_t fd, short what, void *ud)
{
    struct serve *sv = ud;
    (void)fd;
    (void)what;

    pthread_join(sv->reloader, NULL);
    sv->reloading = false;
    if (sv->reload_ok) {
        smtp_server_reload(sv->smtp, ctx_current(sv, NULL)->cfg);
        log_info("event=reloaded generation=%u", atomic_load(&sv->gen));
    }
}

void
reload_join(struct serve *sv)
{
    if (sv->reloading) {
        pthread_join(sv->reloader, NULL);
    }
}

void
reload_free_all(struct serve *sv)
{
    while (sv->cur != NULL) {
        struct ctx_node *older = sv->cur->older;
        bnc_ctx_free(sv->cur->ctx);
        cfg_free(sv->cur->cfg);
        free(sv->cur->cfg);
        free(sv->cur);
        sv->cur = older;
    }
}

bnc_ctx *
reload_api_get_ctx(void *ud)
{
    return ctx_current(ud, NULL)->ctx;
}

bnc_status
reload_api_rules(void *ud)
{
    return reload(ud, false);
}

/* POST /webhooks/{esp}: the current ctx (its config has the reloadable webhook.* keys) */
int
reload_api_webhook(void *ud, const char *esp, const char *body, size_t len, const char *headers,
                   char *reply, size_t replylen)
{
    struct serve *sv = ud;
    bnc_ctx *ctx = ctx_current(sv, NULL)->ctx;

    return webhook_receive(ctx, bnc_ctx_config(ctx), esp, body, len, headers, serve_now(sv), reply,
                           replylen);
}

/* GET /api/v1/events/{id}/raw: the message an SMTP event was read from, from the spool. */
bnc_status
reload_api_raw(void *ud, const char *source, const char *ref, char **data_out, size_t *len_out)
{
    struct serve *sv = ud;

    if (strcmp(source, "smtp") != 0 || sv->spool == NULL) {
        return BNC_ENOTFOUND;
    }
    return spool_read_kept(sv->spool, ref, data_out, len_out);
}

/* A ctx from cfg (taken over on success) plus the rules stored through the API. */
static bnc_status
ctx_build(struct serve *sv, struct bnc_config *cfg, struct store *st, struct ctx_node **out)
{
    struct ctx_node *n;
    bnc_ctx *ctx = NULL;
    bnc_status rc;
    (void)sv;

    *out = NULL;
    if ((rc = bnc_ctx_new_config(cfg, &ctx)) != BNC_OK) {
        log_warnx("event=ctx_failed detail=\"%s\"", ctx ? bnc_ctx_errmsg(ctx) : bnc_strerror(rc));
        bnc_ctx_free(ctx);
        return rc;
    }
    if (st != NULL) {
        (void)api_rules_apply(st, ctx);
    }
    n = xcalloc(1, sizeof(*n));
    n->ctx = ctx;
    n->cfg = cfg;
    *out = n;
    return BNC_OK;
}

static bnc_status
reload(struct serve *sv, bool reread_config)
{
    struct bnc_config *nc = xcalloc(1, sizeof(*nc));
    struct ctx_node *n;
    enum log_level lvl;
    char err[512];
    bnc_status rc;

    pthread_mutex_lock(&sv->reload_mu);
    if (reread_config) {
        cfg_init(nc);
        if ((sv->o->config_path != NULL &&
             (rc = cfg_load_file(nc, sv->o->config_path, err, sizeof(err))) != BNC_OK) ||
            (rc = cfg_load_env(nc, err, sizeof(err))) != BNC_OK ||
            (sv->o->db_url != NULL &&
             (rc = cfg_set(nc, "store.url", sv->o->db_url, err, sizeof(err))) != BNC_OK) ||
            (rc = apply_overrides(sv, nc, err, sizeof(err))) != BNC_OK) {
            log_warnx("event=reload_failed detail=\"%s\"", err);
            cfg_free(nc);
            free(nc);
            pthread_mutex_unlock(&sv->reload_mu);
            return rc;
        }
    } else {
        cfg_copy(nc, ctx_current(sv, NULL)->cfg);
    }
    if ((rc = ctx_build(sv, nc, SERVE_STORE_RELOAD(sv), &n)) != BNC_OK) {
        cfg_free(nc);
        free(nc);
        pthread_mutex_unlock(&sv->reload_mu);
        return rc;
    }
    pthread_mutex_lock(&sv->ctx_mu);
    n->older = sv->cur;
    sv->cur = n;
    atomic_fetch_add(&sv->gen, 1);
    pthread_mutex_unlock(&sv->ctx_mu);
    if (log_level_parse(nc->log_level, &lvl) == 0) {
        log_set_level(lvl);
    }
    pthread_mutex_unlock(&sv->reload_mu);
    return BNC_OK;
}

static bnc_status
apply_overrides(struct serve *sv, struct bnc_config *c, char *err, size_t errlen)
{
    size_t i;
    bnc_status rc;

    for (i = 0; i + 1 < sv->o->noverrides; i += 2) {
        if ((rc = cfg_set(c, sv->o->overrides[i], sv->o->overrides[i + 1], err, errlen)) !=
            BNC_OK) {
            return rc;
        }
    }
    return BNC_OK;
}

/* Off the loop: build the new ctx, then tell the loop. */
static void *
reload_main(void *arg)
{
    struct serve *sv = arg;

    sv->reload_ok = reload(sv, true) == BNC_OK;
    event_active(sv->reloaded_ev, 0, 0);
    return NULL;
}
