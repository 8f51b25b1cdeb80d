/*
 * serve.c - the daemon: threads, signals, the work queue, periodic jobs.
 *
 * Threads:
 *   - the loop (main thread): libevent base with the SMTP/LMTP listeners, signals and the
 *     shutdown timer;
 *   - spool writers (owned by smtp.c): fsync messages into spool/new/, then queue their ids;
 *   - workers (spool.workers, 0 = one per core): take a batch of ids from the queue, read the
 *     spool files, run pipeline_process() on each with ref = spool id inside one outer store
 *     transaction (each message is still all-or-nothing; a duplicate is skipped), then move the
 *     files to done/ (or delete them). A crash between the commit and the move reprocesses
 *     the files on restart, which the pipeline recognises as duplicates. With SQLite the
 *     workers write in turn (a mutex) instead of sleeping in SQLite's busy handler;
 *   - housekeeping: decay sweep (sweep.interval), spool purge (spool.keep_days) and mailbox
 *     scans (mailbox.source every mailbox.interval);
 *   - the HTTP API's own pool (api.c), when http.listen is set.
 * Startup rescans spool/new/ (crash recovery) before the listeners open.
 *
 * Doesn't: fork into the background, write a pid file, or drop privileges (run it under a
 * service manager as an unprivileged user).
 *
 * Signals: SIGTERM/SIGINT stop accepting, let open SMTP transactions finish for at most
 * shutdown_grace seconds, process everything queued, exit 0 (a second signal closes sessions
 * at once). SIGHUP re-reads the config file and rules and swaps in a new ctx: workers pick it
 * up before their next message, the API through get_ctx(). Old contexts are kept until exit,
 * so a request or message that still uses one is never left with a dangling pointer.
 *
 * LIMITS: a message that fails SERVE_MAX_ATTEMPTS times with a store error is moved to
 * spool/hold/ (logged at warn) so it cannot block the queue forever.
 *
 * Ownership: serve_run owns everything it creates and frees it before returning.
 */
#define _GNU_SOURCE /* pthread_setname_np(3): thread names in top -H, ps -L */
#include "server/serve.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "api/api.h"
#include "classify/classify.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "hygiene/policy.h"
#include "ingest/mailbox.h"
#include "ingest/smtp.h"
#include "ingest/spool.h"
#include "ingest/webhook.h"
#include "pipeline/process.h"
#include "store/model.h"
#include "store/store.h"

#define SERVE_MAX_ATTEMPTS 5
#define SERVE_BATCH        64
#define SERVE_PURGE_EVERY  3600

struct wq_item {
    char id[SPOOL_ID_MAX];
    char proto[8];
    int attempts;
};

struct ctx_node {
    bnc_ctx *ctx;
    struct bnc_config *cfg; /* the config it was built from (owned) */
    struct ctx_node *older; /* retired contexts, freed at exit */
};

struct serve {
    const struct serve_options *o;
    struct event_base *base;
    struct spool *spool;
    struct smtp_server *smtp;
    struct api_server *api;

    /* the current ctx and config; retired ones hang off ->older */
    pthread_mutex_t ctx_mu;
    pthread_mutex_t reload_mu; /* one reload at a time (SIGHUP, API rules change) */
    struct ctx_node *cur;
    atomic_uint gen;

    /* work queue: a ring of spool ids */
    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;
    struct wq_item *ring;
    size_t cap, head, len;
    bool q_closed;
    size_t busy; /* workers inside a message */

    pthread_t *workers;
    int nworkers;
    pthread_mutex_t store_mu; /* SQLite: workers write in turn */
    struct store **stores;    /* one per worker, then housekeeping, then reloads */

    pthread_t hk;
    bool hk_started;
    pthread_mutex_t hk_mu;
    pthread_cond_t hk_cv;
    bool hk_stop;

    struct event *sig_term, *sig_int, *sig_hup, *stop_timer, *reloaded_ev;
    pthread_t reloader; /* SIGHUP builds the new ctx off the loop (rules compile takes time) */
    bool reloading;
    bool reload_ok;
    bool stopping;
    time_t stop_deadline;
    int64_t processed;
};

static void wq_push(struct serve *sv, const char *id, const char *proto, int attempts);
static size_t wq_pop_batch(struct serve *sv, struct wq_item *out, size_t max);
static void on_spooled(void *ud, const char *id, const char *proto);
static void rescan_cb(void *ud, const char *id);
static void *worker_main(void *arg);
static void *housekeeping_main(void *arg);
static struct ctx_node *ctx_current(struct serve *sv, unsigned *gen_out);
static bnc_status ctx_build(struct serve *sv, struct bnc_config *cfg, struct store *st,
                            struct ctx_node **out);
static bnc_status reload(struct serve *sv, bool reread_config);
static bnc_status apply_overrides(struct serve *sv, struct bnc_config *c, char *err, size_t errlen);
static bnc_ctx *api_get_ctx(void *ud);
static bnc_status api_reload_rules(void *ud);
static int api_webhook(void *ud, const char *esp, const char *body, size_t len, const char *headers,
                       char *reply, size_t replylen);
static void signal_cb(evutil_socket_t sig, short what, void *ud);
static void stop_timer_cb(evutil_socket_t fd, short what, void *ud);
static void reloaded_cb(evutil_socket_t fd, short what, void *ud);
static void *reload_main(void *arg);
static int make_parent_dirs(const char *path);
static int64_t now_of(const struct serve *sv);

int
serve_run(const struct serve_options *o)
{
    struct serve sv;
    struct bnc_config *cfg;
    char err[512], token[128];
    bnc_status rc;
    long ncpu;
    int i, nstores, exit_code = 0;
    size_t recovered, cleaned;

    memset(&sv, 0, sizeof(sv));
    sv.o = o;
    pthread_mutex_init(&sv.ctx_mu, NULL);
    pthread_mutex_init(&sv.reload_mu, NULL);
    pthread_mutex_init(&sv.q_mu, NULL);
    pthread_mutex_init(&sv.store_mu, NULL);
    pthread_cond_init(&sv.q_cv, NULL);
    pthread_mutex_init(&sv.hk_mu, NULL);
    pthread_cond_init(&sv.hk_cv, NULL);
    atomic_init(&sv.gen, 1);
    signal(SIGPIPE, SIG_IGN);

    cfg = xcalloc(1, sizeof(*cfg));
    cfg_copy(cfg, o->cfg);

    /* ./var for the default SQLite path; the spool makes its own directories */
    if (strncmp(cfg->store_url, "postgres", 8) != 0 && make_parent_dirs(cfg->store_url) != 0) {
        log_warn("event=startup_failed what=mkdir path=%s", cfg->store_url);
        cfg_free(cfg);
        free(cfg);
        return 3;
    }

    /* stores: one per worker plus housekeeping; the first open runs the migrations */
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    sv.nworkers = cfg->workers > 0 ? (int)cfg->workers : (ncpu > 0 ? (int)ncpu : 2);
    nstores = sv.nworkers + 2;
    sv.stores = xcalloc((size_t)nstores, sizeof(*sv.stores));
    for (i = 0; i < nstores; i++) {
        if ((rc = store_open(cfg->store_url, cfg, &sv.stores[i], err, sizeof(err))) != BNC_OK) {
            fprintf(stderr, "bounced serve: store %s: %s\n", cfg->store_url, err);
            exit_code = 3;
            goto out;
        }
    }
    {
        struct ctx_node *n;
        if ((rc = ctx_build(&sv, cfg, sv.stores[sv.nworkers + 1], &n)) != BNC_OK) {
            exit_code = 3;
            goto out;
        }
        sv.cur = n;
        cfg = NULL; /* owned by the ctx node now */
    }

    if ((rc = spool_open(sv.cur->cfg->spool_dir, &sv.spool, err, sizeof(err))) != BNC_OK) {
        fprintf(stderr, "bounced serve: %s\n", err);
        exit_code = 3;
        goto out;
    }
    cleaned = spool_clean_tmp(sv.spool);
    recovered = spool_scan_new(sv.spool, rescan_cb, &sv);
    if (recovered > 0 || cleaned > 0) {
        log_info("event=spool_recovery queued=%zu tmp_removed=%zu", recovered, cleaned);
    }

    sv.workers = xcalloc((size_t)sv.nworkers, sizeof(*sv.workers));
    for (i = 0; i < sv.nworkers; i++) {
        struct {
            struct serve *sv;
            int idx;
        } *wa = xmalloc(sizeof(*wa));
        wa->sv = &sv;
        wa->idx = i;
        if (pthread_create(&sv.workers[i], NULL, worker_main, wa) != 0) {
            free(wa);
            fprintf(stderr, "bounced serve: cannot start worker threads\n");
            sv.nworkers = i;
            exit_code = 3;
            goto out;
        }
    }
    if (pthread_create(&sv.hk, NULL, housekeeping_main, &sv) == 0) {
        sv.hk_started = true;
    }

    if (evthread_use_pthreads() != 0 || (sv.base = event_base_new()) == NULL) {
        fprintf(stderr, "bounced serve: cannot create the event loop\n");
        exit_code = 3;
        goto out;
    }
    {
        struct smtp_server_opts so;
        memset(&so, 0, sizeof(so));
        so.cfg = sv.cur->cfg;
        so.base = sv.base;
        so.spool = sv.spool;
        so.on_spooled = on_spooled;
        so.ud = &sv;
        if (smtp_server_start(&so, &sv.smtp, err, sizeof(err)) != BNC_OK) {
            fprintf(stderr, "bounced serve: %s\n", err);
            exit_code = 3;
            goto out;
        }
    }
    if (sv.cur->cfg->http_listen[0] != '\0') {
        {
            struct api_options ao;
            memset(&ao, 0, sizeof(ao));
            ao.cfg = sv.cur->cfg;
            ao.get_ctx = api_get_ctx;
            ao.reload_rules = api_reload_rules;
            ao.webhook = api_webhook;
            ao.ud = &sv;
            ao.now = o->now;
            if (api_server_start(&ao, &sv.api) != BNC_OK) {
                fprintf(stderr, "bounced serve: cannot start the HTTP API on %s\n",
                        sv.cur->cfg->http_listen);
                exit_code = 3;
                goto out;
            }
        }
    }

    sv.sig_term = evsignal_new(sv.base, SIGTERM, signal_cb, &sv);
    sv.sig_int = evsignal_new(sv.base, SIGINT, signal_cb, &sv);
    sv.sig_hup = evsignal_new(sv.base, SIGHUP, signal_cb, &sv);
    sv.stop_timer = event_new(sv.base, -1, EV_PERSIST, stop_timer_cb, &sv);
    sv.reloaded_ev = event_new(sv.base, -1, 0, reloaded_cb, &sv);
    evsignal_add(sv.sig_term, NULL);
    evsignal_add(sv.sig_int, NULL);
    evsignal_add(sv.sig_hup, NULL);

    {
        const char *sa = smtp_server_address(sv.smtp, false);
        const char *la = smtp_server_address(sv.smtp, true);
        char http[300];
        if (sv.api != NULL && api_server_port(sv.api) > 0) {
            const char *hl = sv.cur->cfg->http_listen;
            const char *colon = strrchr(hl, ':');
            snprintf(http, sizeof(http), "%.*s:%d", colon ? (int)(colon - hl) : 0, hl,
                     api_server_port(sv.api));
        } else {
            snprintf(http, sizeof(http), "%s", sv.api != NULL ? sv.cur->cfg->http_listen : "off");
        }
        log_info("event=listening smtp=%s lmtp=%s http=%s store=%s spool=%s workers=%d",
                 sa[0] ? sa : "off", la[0] ? la : "off", http, sv.cur->cfg->store_url,
                 spool_dir(sv.spool), sv.nworkers);
        printf("bounced serve: SMTP on %s, LMTP on %s, HTTP on %s\n", sa[0] ? sa : "off",
               la[0] ? la : "off", http);
        printf("bounced serve: store %s, spool %s, %d workers\n", sv.cur->cfg->store_url,
               spool_dir(sv.spool), sv.nworkers);
        if (sv.api != NULL &&
            api_bootstrap_admin_token(sv.stores[sv.nworkers + 1], token, sizeof(token))) {
            printf("bounced serve: admin API token (shown once, keep it): %s\n", token);
        }
        fflush(stdout);
    }

    event_base_dispatch(sv.base);
    log_info("event=stopping queued=%zu", sv.len);

out:
    if (sv.api != NULL) {
        api_server_stop(sv.api);
    }
    /* the writers finish what they hold and queue the ids; then the workers drain the queue */
    smtp_server_free(sv.smtp);
    pthread_mutex_lock(&sv.q_mu);
    sv.q_closed = true;
    pthread_cond_broadcast(&sv.q_cv);
    pthread_mutex_unlock(&sv.q_mu);
    for (i = 0; i < sv.nworkers && sv.workers != NULL; i++) {
        pthread_join(sv.workers[i], NULL);
    }
    if (sv.hk_started) {
        pthread_mutex_lock(&sv.hk_mu);
        sv.hk_stop = true;
        pthread_cond_broadcast(&sv.hk_cv);
        pthread_mutex_unlock(&sv.hk_mu);
        pthread_join(sv.hk, NULL);
    }
    if (sv.reloading) {
        pthread_join(sv.reloader, NULL);
    }
    if (sv.sig_term != NULL) {
        event_free(sv.reloaded_ev);
        event_free(sv.sig_term);
        event_free(sv.sig_int);
        event_free(sv.sig_hup);
        event_free(sv.stop_timer);
    }
    if (sv.base != NULL) {
        event_base_free(sv.base);
    }
    spool_close(sv.spool);
    for (i = 0; sv.stores != NULL && i < sv.nworkers + 2; i++) {
        store_close(sv.stores[i]);
    }
    free(sv.stores);
    free(sv.workers);
    while (sv.cur != NULL) {
        struct ctx_node *older = sv.cur->older;
        bnc_ctx_free(sv.cur->ctx);
        cfg_free(sv.cur->cfg);
        free(sv.cur->cfg);
        free(sv.cur);
        sv.cur = older;
    }
    if (cfg != NULL) {
        cfg_free(cfg);
        free(cfg);
    }
    free(sv.ring);
    pthread_mutex_destroy(&sv.ctx_mu);
    pthread_mutex_destroy(&sv.reload_mu);
    pthread_mutex_destroy(&sv.q_mu);
    pthread_mutex_destroy(&sv.store_mu);
    pthread_cond_destroy(&sv.q_cv);
    pthread_mutex_destroy(&sv.hk_mu);
    pthread_cond_destroy(&sv.hk_cv);
    if (exit_code == 0) {
        log_info("event=stopped processed=%lld", (long long)sv.processed);
    }
    return exit_code;
}

/* ---- the work queue ---- */

static void
wq_push(struct serve *sv, const char *id, const char *proto, int attempts)
{
    struct wq_item *it;

    pthread_mutex_lock(&sv->q_mu);
    if (sv->len == sv->cap) {
        size_t ncap = sv->cap ? sv->cap * 2 : 1024;
        struct wq_item *nr = xcalloc(ncap, sizeof(*nr));
        size_t i;
        for (i = 0; i < sv->len; i++) {
            nr[i] = sv->ring[(sv->head + i) % sv->cap];
        }
        free(sv->ring);
        sv->ring = nr;
        sv->cap = ncap;
        sv->head = 0;
    }
    it = &sv->ring[(sv->head + sv->len) % sv->cap];
    snprintf(it->id, sizeof(it->id), "%s", id);
    snprintf(it->proto, sizeof(it->proto), "%s", proto);
    it->attempts = attempts;
    sv->len++;
    metrics_gauge_set("bounced_queue_depth", NULL, (int64_t)sv->len);
    pthread_cond_signal(&sv->q_cv);
    pthread_mutex_unlock(&sv->q_mu);
}

/* Blocks until at least one item, then takes up to max without waiting; 0 when the queue
 * is closed and empty. */
static size_t
wq_pop_batch(struct serve *sv, struct wq_item *out, size_t max)
{
    size_t n = 0;

    pthread_mutex_lock(&sv->q_mu);
    while (sv->len == 0 && !sv->q_closed) {
        pthread_cond_wait(&sv->q_cv, &sv->q_mu);
    }
    while (sv->len > 0 && n < max) {
        out[n++] = sv->ring[sv->head];
        sv->head = (sv->head + 1) % sv->cap;
        sv->len--;
    }
    metrics_gauge_set("bounced_queue_depth", NULL, (int64_t)sv->len);
    pthread_mutex_unlock(&sv->q_mu);
    return n;
}

static void
on_spooled(void *ud, const char *id, const char *proto)
{
    wq_push(ud, id, proto, 0);
}

static void
rescan_cb(void *ud, const char *id)
{
    wq_push(ud, id, "smtp", 0);
}

/* ---- workers ---- */

static void
count_kinds(const char *proto, const struct pipeline_result *r)
{
    static const char *const kinds[] = {"unknown",   "hard",      "soft",
                                        "complaint", "autoreply", "delivered"};
    char labels[96];
    size_t k;

    if (r->duplicate) {
        snprintf(labels, sizeof(labels), "source=\"%s\"", proto);
        metrics_counter_add("bounced_duplicates_total", labels, 1);
        return;
    }
    if (r->not_bounce) {
        snprintf(labels, sizeof(labels), "source=\"%s\",kind=\"not_bounce\"", proto);
        metrics_counter_add("bounced_ingested_total", labels, 1);
        return;
    }
    for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        if (r->by_kind[k] > 0) {
            snprintf(labels, sizeof(labels), "source=\"%s\",kind=\"%s\"", proto, kinds[k]);
            metrics_counter_add("bounced_ingested_total", labels, r->by_kind[k]);
        }
    }
    if (r->verdicts == 0) {
        snprintf(labels, sizeof(labels), "source=\"%s\",kind=\"none\"", proto);
        metrics_counter_add("bounced_ingested_total", labels, 1);
    }
}

/* One spooled message in a worker's batch. */
struct job {
    struct wq_item it;
    char *data;
    size_t len;
    struct pipeline_result res;
    double seconds;
    bnc_status rc;
};

struct worker {
    struct serve *sv;
    struct store *st;
    struct pipeline *p;
    unsigned gen;
    bool serial; /* SQLite: one writer at a time, taken in turn instead of busy-waiting */
};

static double
elapsed(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
job_run(struct worker *w, struct job *j)
{
    struct pipeline_input in;
    struct timespec t0;

    memset(&in, 0, sizeof(in));
    memset(&j->res, 0, sizeof(j->res));
    in.data = j->data;
    in.len = j->len;
    /* One source for every spooled message, so a reprocessed file is the same ingest. */
    in.source = "smtp";
    in.ref = j->it.id;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    j->rc = pipeline_process(w->p, &in, &j->res);
    j->seconds = elapsed(&t0);
}

/* After the commit: move the spool file, count, log. Or retry / hold on failure. */
static void
job_finish(struct worker *w, struct job *j)
{
    struct serve *sv = w->sv;
    struct wq_item *it = &j->it;

    if (j->rc == BNC_OK) {
        bool keep;
        pthread_mutex_lock(&sv->ctx_mu);
        keep = sv->cur->cfg->spool_keep_days > 0;
        sv->processed++;
        pthread_mutex_unlock(&sv->ctx_mu);
        (void)spool_done(sv->spool, it->id, keep);
        count_kinds(it->proto, &j->res);
        metrics_observe("bounced_processing_seconds", NULL, j->seconds);
        log_info("event=processed id=%s source=%s verdicts=%zu hard=%zu soft=%zu "
                 "complaint=%zu duplicate=%s not_bounce=%s contacts_changed=%zu",
                 it->id, it->proto, j->res.verdicts, j->res.by_kind[BNC_KIND_HARD],
                 j->res.by_kind[BNC_KIND_SOFT], j->res.by_kind[BNC_KIND_COMPLAINT],
                 j->res.duplicate ? "yes" : "no", j->res.not_bounce ? "yes" : "no",
                 j->res.contacts_changed);
        return;
    }
    if ((j->rc == BNC_EBUSY || j->rc == BNC_ESTORE || j->rc == BNC_EIO || j->rc == BNC_ECONFLICT) &&
        it->attempts + 1 < SERVE_MAX_ATTEMPTS) {
        log_warnx("event=retry id=%s attempt=%d status=%s detail=\"%s\"", it->id, it->attempts + 1,
                  bnc_strerror(j->rc), pipeline_errmsg(w->p));
        usleep(100000u * (unsigned)(it->attempts + 1));
        wq_push(sv, it->id, it->proto, it->attempts + 1);
        return;
    }
    log_warnx("event=held id=%s status=%s detail=\"%s\"", it->id, bnc_strerror(j->rc),
              pipeline_errmsg(w->p));
    metrics_counter_add("bounced_held_total", NULL, 1);
    (void)spool_hold(sv->spool, it->id);
}

/*
 * Process a batch: all messages inside one outer store transaction (store.h nests them, so
 * each pipeline_process() still is all-or-nothing, and the batch costs one commit). Spool
 * files move to done/ only after that commit. If anything in the batch fails, the batch is
 * rolled back and every message is run again on its own, so one bad message never takes
 * the others with it.
 */
static void
batch_run(struct worker *w, struct job *jobs, size_t n)
{
    size_t i;
    bool ok = true;

    if (n > 1 && store_begin(w->st) == BNC_OK) {
        for (i = 0; i < n && ok; i++) {
            job_run(w, &jobs[i]);
            ok = jobs[i].rc == BNC_OK;
        }
        if (ok) {
            ok = store_commit(w->st) == BNC_OK;
        } else {
            (void)store_rollback(w->st);
        }
        if (ok) {
            for (i = 0; i < n; i++) {
                job_finish(w, &jobs[i]);
            }
            return;
        }
    }
    for (i = 0; i < n; i++) {
        job_run(w, &jobs[i]);
        job_finish(w, &jobs[i]);
    }
}

static void *
worker_main(void *arg)
{
    struct {
        struct serve *sv;
        int idx;
    } *wa = arg;
    struct worker w;
    struct wq_item items[SERVE_BATCH];
    struct job jobs[SERVE_BATCH];
    size_t n, i, nj;

    memset(&w, 0, sizeof(w));
    w.sv = wa->sv;
    w.st = w.sv->stores[wa->idx];
    w.serial = strcmp(store_backend_name(w.st), "sqlite") == 0;
    free(wa);
    (void)pthread_setname_np(pthread_self(), "bnc-worker");
    while ((n = wq_pop_batch(w.sv, items, SERVE_BATCH)) > 0) {
        unsigned g = atomic_load(&w.sv->gen);

        if (w.p == NULL || g != w.gen) {
            struct ctx_node *cn = ctx_current(w.sv, &w.gen);
            pipeline_free(w.p);
            w.p = NULL;
            if (pipeline_new(cn->ctx, w.st, &w.p) != BNC_OK) {
                log_warnx("event=worker_error what=pipeline_new");
                for (i = 0; i < n; i++) {
                    wq_push(w.sv, items[i].id, items[i].proto, items[i].attempts);
                }
                sleep(1);
                continue;
            }
            if (w.sv->o->now != 0) {
                pipeline_set_now(w.p, w.sv->o->now);
            }
        }
        for (i = 0, nj = 0; i < n; i++) {
            bnc_status rc = spool_read(w.sv->spool, items[i].id, &jobs[nj].data, &jobs[nj].len);
            if (rc == BNC_ENOTFOUND) {
                continue; /* already processed (queued twice: rescan and listener) */
            }
            if (rc != BNC_OK) {
                log_warnx("event=spool_read_failed id=%s status=%s", items[i].id, bnc_strerror(rc));
                (void)spool_hold(w.sv->spool, items[i].id);
                continue;
            }
            jobs[nj].it = items[i];
            nj++;
        }
        if (w.serial) {
            pthread_mutex_lock(&w.sv->store_mu);
        }
        batch_run(&w, jobs, nj);
        if (w.serial) {
            pthread_mutex_unlock(&w.sv->store_mu);
        }
        for (i = 0; i < nj; i++) {
            free(jobs[i].data);
        }
    }
    pipeline_free(w.p);
    return NULL;
}

/* ---- housekeeping: sweep, purge, mailbox ---- */

static void *
housekeeping_main(void *arg)
{
    struct serve *sv = arg;
    struct store *st = sv->stores[sv->nworkers];
    struct pipeline *p = NULL;
    unsigned gen = 0;
    int64_t next_sweep, next_purge, next_mail;
    int64_t start = (int64_t)time(NULL);

    (void)pthread_setname_np(pthread_self(), "bnc-housekeep");
    next_sweep = start + 5; /* a first sweep soon after startup */
    next_purge = start + 10;
    next_mail = start + 1;
    for (;;) {
        struct timespec until;
        struct bnc_config *cfg;
        struct ctx_node *n;
        int64_t now = (int64_t)time(NULL);
        bool stop;

        pthread_mutex_lock(&sv->hk_mu);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        if (!sv->hk_stop) {
            pthread_cond_timedwait(&sv->hk_cv, &sv->hk_mu, &until);
        }
        stop = sv->hk_stop;
        pthread_mutex_unlock(&sv->hk_mu);
        if (stop) {
            break;
        }
        n = ctx_current(sv, NULL);
        cfg = n->cfg;

        if (cfg->sweep_interval > 0 && now >= next_sweep) {
            next_sweep = now + cfg->sweep_interval;
            {
                struct policy_cfg pc;
                size_t k = 0;
                bnc_status rc;
                policy_cfg_from_config(&pc, cfg);
                rc = model_sweep(st, &pc, now_of(sv), &k);
                if (rc == BNC_OK) {
                    log_info("event=sweep reset=%zu", k);
                } else {
                    log_warnx("event=sweep_failed status=%s", bnc_strerror(rc));
                }
            }
        }
        if (now >= next_purge) {
            next_purge = now + SERVE_PURGE_EVERY;
            if (cfg->spool_keep_days > 0) {
                size_t k = spool_purge(sv->spool, now - cfg->spool_keep_days * 86400);
                if (k > 0) {
                    log_info("event=spool_purge removed=%zu", k);
                }
            }
        }
        if (cfg->mailbox_source[0] != '\0' && cfg->mailbox_interval > 0 && now >= next_mail) {
            struct mailbox_opts mo;
            struct mailbox_stats ms;
            char err[512];
            unsigned g = atomic_load(&sv->gen);

            next_mail = now + cfg->mailbox_interval;
            if (p == NULL || g != gen) {
                pipeline_free(p);
                p = NULL;
                n = ctx_current(sv, &gen);
                if (pipeline_new(n->ctx, st, &p) != BNC_OK) {
                    continue;
                }
                if (sv->o->now != 0) {
                    pipeline_set_now(p, sv->o->now);
                }
            }
            memset(&mo, 0, sizeof(mo));
            mo.source = cfg->mailbox_source;
            mo.user = cfg->mailbox_user;
            mo.password = cfg->mailbox_password;
            if (mailbox_ingest(p, st, &mo, &ms, err, sizeof(err)) != BNC_OK) {
                log_warnx("event=mailbox_failed detail=\"%s\"", err);
            } else if (ms.seen > 0) {
                log_info("event=mailbox_scan seen=%zu processed=%zu duplicates=%zu "
                         "not_bounce=%zu failed=%zu",
                         ms.seen, ms.processed, ms.duplicates, ms.not_bounce, ms.failed);
            }
        }
    }
    pipeline_free(p);
    return NULL;
}

/* ---- contexts and reload ---- */

static struct ctx_node *
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
        struct api_rule_line *rl = NULL;
        size_t nr = 0, i;
        if (api_rules_load(st, &rl, &nr) == BNC_OK && nr > 0) {
            struct rule_src *src = xcalloc(nr, sizeof(*src));
            for (i = 0; i < nr; i++) {
                src[i].text = rl[i].text;
                src[i].origin = rl[i].origin;
            }
            (void)bnc_ctx_reload_rules(ctx, src, nr);
            free(src);
        }
        api_rules_free(rl, nr);
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
    if ((rc = ctx_build(sv, nc, sv->stores[sv->nworkers + 1], &n)) != BNC_OK) {
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

static bnc_ctx *
api_get_ctx(void *ud)
{
    return ctx_current(ud, NULL)->ctx;
}

static bnc_status
api_reload_rules(void *ud)
{
    return reload(ud, false);
}

/* POST /webhooks/{esp}: the current ctx (its config has the reloadable webhook.* keys) */
static int
api_webhook(void *ud, const char *esp, const char *body, size_t len, const char *headers,
            char *reply, size_t replylen)
{
    struct serve *sv = ud;
    bnc_ctx *ctx = ctx_current(sv, NULL)->ctx;

    return webhook_receive(ctx, bnc_ctx_config(ctx), esp, body, len, headers, now_of(sv), reply,
                           replylen);
}

/* ---- signals and shutdown ---- */

static void
signal_cb(evutil_socket_t sig, short what, void *ud)
{
    struct serve *sv = ud;
    struct timeval tick = {0, 100000};
    (void)what;

    if (sig == SIGHUP) {
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
        return;
    }
    if (sv->stopping) {
        log_info("event=shutdown_now sessions=%zu", smtp_server_sessions(sv->smtp));
        smtp_server_close_all(sv->smtp);
        event_base_loopexit(sv->base, NULL);
        return;
    }
    sv->stopping = true;
    sv->stop_deadline = time(NULL) + (sv->o->shutdown_grace > 0 ? sv->o->shutdown_grace : 10);
    log_info("event=shutdown signal=%d sessions=%zu", (int)sig, smtp_server_sessions(sv->smtp));
    smtp_server_drain(sv->smtp);
    event_add(sv->stop_timer, &tick);
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

/* On the loop: the listener takes the new smtp.* settings for new sessions. */
static void
reloaded_cb(evutil_socket_t fd, short what, void *ud)
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

static int64_t
now_of(const struct serve *sv)
{
    return sv->o->now != 0 ? sv->o->now : (int64_t)time(NULL);
}
