/*
 * serve.c - the daemon's lifecycle: serve_run() starts every part in order, runs the event
 * loop until a signal stops it, and stops the parts in reverse. The jobs themselves live in
 * files of their own (serve_int.h lists them).
 *
 * Threads:
 *   - the loop (main thread): libevent base with the SMTP/LMTP listeners, signals and the
 *     shutdown timer;
 *   - spool writers (owned by smtp.c): fsync messages into spool/new/, then queue their ids;
 *   - workers (workers.c), housekeeping (housekeeping.c), a reload thread on SIGHUP
 *     (reload.c);
 *   - the HTTP API's own pool (src/api), when http.listen is set.
 * Startup refuses a store it cannot write (exit 3), moves spool/hold/ back to spool/new/ and
 * rescans spool/new/ (crash recovery) before the listeners open.
 *
 * Privileges: started as root with smtp.user set, everything is opened as that user and
 * root is given up right after the listeners bind (service.c), before the workers start.
 * Under systemd: READY=1 once listening, WATCHDOG=1 from the loop, STOPPING=1 on SIGTERM.
 * Doesn't: fork into the background or write a pid file.
 *
 * Signals: SIGTERM/SIGINT stop accepting, let open SMTP transactions finish for at most
 * shutdown_grace seconds, process everything queued, exit 0 (a second signal closes sessions
 * at once). SIGHUP re-reads the config file and rules and swaps in a new ctx (reload.c).
 *
 * Ownership: serve_run owns everything it creates and frees it before returning.
 */
#include "server/serve.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/thread.h>

#include "api/api.h"
#include "core/cfg.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "ingest/smtp.h"
#include "ingest/spool.h"
#include "server/serve_int.h"
#include "store/store.h"

static int serve_open(struct serve *sv, struct bnc_config *cfg);
static int serve_start(struct serve *sv);
static void serve_announce(struct serve *sv);
static void serve_stop(struct serve *sv);
static void signal_cb(evutil_socket_t sig, short what, void *ud);
static void stop_timer_cb(evutil_socket_t fd, short what, void *ud);
static int make_parent_dirs(const char *path);

int
serve_run(const struct serve_options *o)
{
    struct serve sv;
    struct bnc_config *cfg;
    int exit_code;

    memset(&sv, 0, sizeof(sv));
    sv.o = o;
    pthread_mutex_init(&sv.ctx_mu, NULL);
    pthread_mutex_init(&sv.reload_mu, NULL);
    pthread_mutex_init(&sv.q_mu, NULL);
    pthread_mutex_init(&sv.store_mu, NULL);
    {
        /* the workers' outage back-off waits on q_cv against the monotonic clock */
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&sv.q_cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    pthread_mutex_init(&sv.hk_mu, NULL);
    pthread_cond_init(&sv.hk_cv, NULL);
    atomic_init(&sv.gen, 1);
    signal(SIGPIPE, SIG_IGN);

    {
        char err[256];
        if (service_enter(&sv.svc, o->cfg->smtp_user, err, sizeof(err)) != 0) {
            fprintf(stderr, "bounced serve: %s\n", err);
            return 3;
        }
    }
    cfg = xcalloc(1, sizeof(*cfg));
    cfg_copy(cfg, o->cfg);
    exit_code = serve_open(&sv, cfg);
    if (exit_code == 0) {
        exit_code = serve_start(&sv);
    }
    if (exit_code == 0) {
        serve_announce(&sv);
        event_base_dispatch(sv.base);
        log_info("event=stopping queued=%zu", sv.len);
    }
    serve_stop(&sv);
    if (exit_code == 0) {
        log_info("event=stopped processed=%lld", (long long)sv.processed);
    }
    return exit_code;
}

/* The store's directory, one store per worker plus housekeeping and reloads (the first open
 * runs the migrations), the first ctx (it takes cfg over), the spool and its recovery: 0, or
 * 3 after saying why. cfg is freed either way. */
static int
serve_open(struct serve *sv, struct bnc_config *cfg)
{
    char err[512];
    long ncpu;
    int i, nstores;
    size_t recovered, cleaned, unheld;

    /* ./var for the default SQLite path; the spool makes its own directories */
    if (strncmp(cfg->store_url, "postgres", 8) != 0 && make_parent_dirs(cfg->store_url) != 0) {
        log_warn("event=startup_failed what=mkdir path=%s", cfg->store_url);
        cfg_free(cfg);
        free(cfg);
        return 3;
    }
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    sv->nworkers = cfg->workers > 0 ? (int)cfg->workers : (ncpu > 0 ? (int)ncpu : 2);
    nstores = sv->nworkers + 2;
    sv->stores = xcalloc((size_t)nstores, sizeof(*sv->stores));
    for (i = 0; i < nstores; i++) {
        if (store_open(cfg->store_url, cfg, &sv->stores[i], err, sizeof(err)) != BNC_OK) {
            fprintf(stderr, "bounced serve: store %s: %s\n", cfg->store_url, err);
            cfg_free(cfg);
            free(cfg);
            return 3;
        }
    }
    /* a store this daemon cannot write would take mail it can never apply: refuse now */
    if (store_check_writable(sv->stores[0]) != BNC_OK) {
        fprintf(stderr, "bounced serve: store %s is not writable: %s\n", cfg->store_url,
                store_errmsg(sv->stores[0]));
        cfg_free(cfg);
        free(cfg);
        return 3;
    }
    metrics_preset();
    metrics_gauge_set("bounced_store_up", NULL, 1);
    if (reload_first(sv, cfg) != BNC_OK) {
        cfg_free(cfg);
        free(cfg);
        return 3;
    }
    if (spool_open(sv->cur->cfg->spool_dir, &sv->spool, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bounced serve: %s\n", err);
        return 3;
    }
    cleaned = spool_clean_tmp(sv->spool);
    /* held messages get another chance with this run's limits and store (those that fail on
     * their content again go back to hold/) */
    unheld = spool_unhold_all(sv->spool);
    recovered = spool_scan_new(sv->spool, wq_on_rescanned, sv);
    if (recovered > 0 || cleaned > 0) {
        log_info("event=spool_recovery queued=%zu tmp_removed=%zu from_hold=%zu", recovered,
                 cleaned, unheld);
    }
    return 0;
}

/* The loop, the listeners, the API, the drop of root, workers, housekeeping, the signals:
 * 0, or 3 after saying why. Workers start after the listeners so none runs as root. */
static int
serve_start(struct serve *sv)
{
    const struct bnc_config *cfg = sv->cur->cfg;
    struct smtp_server_opts so;
    struct api_options ao;
    char err[512];

    if (evthread_use_pthreads() != 0 || (sv->base = event_base_new()) == NULL) {
        fprintf(stderr, "bounced serve: cannot create the event loop\n");
        return 3;
    }
    if (service_bind_begin(&sv->svc, err, sizeof(err)) != 0) {
        fprintf(stderr, "bounced serve: %s\n", err);
        return 3;
    }
    memset(&so, 0, sizeof(so));
    so.cfg = cfg;
    so.base = sv->base;
    so.spool = sv->spool;
    so.on_spooled = wq_on_spooled;
    so.ud = sv;
    if (smtp_server_start(&so, &sv->smtp, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bounced serve: %s\n", err);
        return 3;
    }
    if (cfg->http_listen[0] != '\0') {
        memset(&ao, 0, sizeof(ao));
        ao.cfg = cfg;
        ao.get_ctx = reload_api_get_ctx;
        ao.reload_rules = reload_api_rules;
        ao.webhook = reload_api_webhook;
        ao.raw_message = reload_api_raw;
        ao.ud = sv;
        ao.now = sv->o->now;
        if (api_server_start(&ao, &sv->api) != BNC_OK) {
            fprintf(stderr, "bounced serve: cannot start the HTTP API on %s\n", cfg->http_listen);
            return 3;
        }
    }
    /* bound: root goes now, before any worker touches a message */
    if (service_drop(&sv->svc, err, sizeof(err)) != 0) {
        fprintf(stderr, "bounced serve: %s\n", err);
        return 3;
    }
    if (workers_start(sv) != 0) {
        fprintf(stderr, "bounced serve: cannot start worker threads\n");
        return 3;
    }
    housekeeping_start(sv);
    if (followers_start(sv) != 0) {
        return 3;
    }
    sv->sig_term = evsignal_new(sv->base, SIGTERM, signal_cb, sv);
    sv->sig_int = evsignal_new(sv->base, SIGINT, signal_cb, sv);
    sv->sig_hup = evsignal_new(sv->base, SIGHUP, signal_cb, sv);
    sv->stop_timer = event_new(sv->base, -1, EV_PERSIST, stop_timer_cb, sv);
    sv->reloaded_ev = event_new(sv->base, -1, 0, reload_done_cb, sv);
    evsignal_add(sv->sig_term, NULL);
    evsignal_add(sv->sig_int, NULL);
    evsignal_add(sv->sig_hup, NULL);
    return 0;
}

/* Where everything listens (stdout and a log line), the dashboard, on a fresh store the
 * admin token (else how to make one), then readiness to systemd. */
static void
serve_announce(struct serve *sv)
{
    const struct bnc_config *cfg = sv->cur->cfg;
    const char *sa = smtp_server_address(sv->smtp, false);
    const char *la = smtp_server_address(sv->smtp, true);
    char http[300], token[128], status[1024];

    if (sv->api != NULL && api_server_port(sv->api) > 0) {
        const char *hl = cfg->http_listen;
        const char *colon = strrchr(hl, ':');
        snprintf(http, sizeof(http), "%.*s:%d", colon ? (int)(colon - hl) : 0, hl,
                 api_server_port(sv->api));
    } else {
        snprintf(http, sizeof(http), "%s", sv->api != NULL ? cfg->http_listen : "off");
    }
    log_info("event=listening smtp=%s lmtp=%s http=%s store=%s spool=%s workers=%d",
             sa[0] ? sa : "off", la[0] ? la : "off", http, cfg->store_url, spool_dir(sv->spool),
             sv->nworkers);
    printf("bounced serve: SMTP on %s, LMTP on %s, HTTP on %s\n", sa[0] ? sa : "off",
           la[0] ? la : "off", http);
    printf("bounced serve: store %s, spool %s, %d workers\n", cfg->store_url, spool_dir(sv->spool),
           sv->nworkers);
    if (sv->api != NULL) {
        printf("bounced serve: dashboard http://%s/ (API http://%s/api/v1/, metrics "
               "http://%s/metrics)\n", http, http, http);
        if (api_bootstrap_admin_token(SERVE_STORE_RELOAD(sv), token, sizeof(token))) {
            printf("bounced serve: admin API token (shown once, keep it): %s\n", token);
        } else {
            printf("bounced serve: API tokens exist already; make another with "
                   "`bounced token create --name NAME --scopes admin`\n");
        }
    }
    fflush(stdout);
    snprintf(status, sizeof(status), "SMTP %s, LMTP %s, HTTP %s", sa[0] ? sa : "off",
             la[0] ? la : "off", http);
    service_ready(&sv->svc, sv->base, status);
}

/* Everything serve_open and serve_start made, in reverse; safe on a partial start. */
static void
serve_stop(struct serve *sv)
{
    int i;

    if (sv->api != NULL) {
        api_server_stop(sv->api);
    }
    /* the writers finish what they hold and queue the ids; then the workers drain the queue */
    smtp_server_free(sv->smtp);
    wq_close(sv);
    workers_join(sv);
    followers_stop(sv);
    housekeeping_stop(sv);
    reload_join(sv);
    service_close(&sv->svc);
    if (sv->sig_term != NULL) {
        event_free(sv->reloaded_ev);
        event_free(sv->sig_term);
        event_free(sv->sig_int);
        event_free(sv->sig_hup);
        event_free(sv->stop_timer);
    }
    if (sv->base != NULL) {
        event_base_free(sv->base);
    }
    spool_close(sv->spool);
    for (i = 0; sv->stores != NULL && i < sv->nworkers + 2; i++) {
        store_close(sv->stores[i]);
    }
    free(sv->stores);
    free(sv->workers);
    reload_free_all(sv);
    free(sv->ring);
    pthread_mutex_destroy(&sv->ctx_mu);
    pthread_mutex_destroy(&sv->reload_mu);
    pthread_mutex_destroy(&sv->q_mu);
    pthread_mutex_destroy(&sv->store_mu);
    pthread_cond_destroy(&sv->q_cv);
    pthread_mutex_destroy(&sv->hk_mu);
    pthread_cond_destroy(&sv->hk_cv);
}

/* ---- signals and shutdown ---- */

static void
signal_cb(evutil_socket_t sig, short what, void *ud)
{
    struct serve *sv = ud;
    struct timeval tick = {0, 100000};
    (void)what;

    if (sig == SIGHUP) {
        reload_begin(sv);
        return;
    }
    if (sv->stopping) {
        log_info("event=shutdown_now sessions=%zu", smtp_server_sessions(sv->smtp));
        smtp_server_close_all(sv->smtp);
        event_base_loopexit(sv->base, NULL);
        return;
    }
    sv->stopping = true;
    service_stopping();
    sv->stop_deadline = time(NULL) + (sv->o->shutdown_grace > 0 ? sv->o->shutdown_grace : 10);
    log_info("event=shutdown signal=%d sessions=%zu", (int)sig, smtp_server_sessions(sv->smtp));
    smtp_server_drain(sv->smtp);
    event_add(sv->stop_timer, &tick);
}

static void
stop_timer_cb(evutil_socket_t fd, short what, void *ud)
{
    struct serve *sv = ud;
    (void)fd;
    (void)what;

    if (smtp_server_sessions(sv->smtp) == 0) {
        event_base_loopexit(sv->base, NULL);
        return;
    }
    if (time(NULL) >= sv->stop_deadline) {
        log_info("event=shutdown_grace_over sessions=%zu", smtp_server_sessions(sv->smtp));
        smtp_server_close_all(sv->smtp);
        event_base_loopexit(sv->base, NULL);
    }
}

static int
make_parent_dirs(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path), i;
    char *slash;

    if (n == 0 || n >= sizeof(tmp)) {
        return n == 0 ? 0 : -1;
    }
    memcpy(tmp, path, n + 1);
    slash = strrchr(tmp, '/');
    if (slash == NULL || slash == tmp) {
        return 0;
    }
    *slash = '\0';
    for (i = 1; tmp[i] != '\0'; i++) {
        if (tmp[i] == '/') {
            tmp[i] = '\0';
            if (mkdir(tmp, 0750) != 0 && errno != EEXIST) {
                return -1;
            }
            tmp[i] = '/';
        }
    }
    if (mkdir(tmp, 0750) != 0 && errno != EEXIST) {
        return -1;
    }
    return 0;
}
