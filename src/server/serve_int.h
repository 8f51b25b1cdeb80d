/*
 * serve_int.h - what the files of the daemon share: the one struct serve of a run and the
 * entry points of each job. Not for use outside src/server.
 *
 * The files, by job (as OpenSMTPD splits smtpd, queue and scheduler), calling one way:
 *   serve.c         serve_run: start everything in order, run the loop, stop in reverse;
 *                   signals and the shutdown timer
 *   workers.c       worker threads: batches of spool ids through the pipeline
 *   housekeeping.c  the periodic jobs: decay sweep, spool purge, mailbox polls
 *   followers.c     the log followers ([logs.NAME]) on a thread of their own
 *   reload.c        the current ctx and config, rebuilding them (SIGHUP, rules changed
 *                   through the API), and the callbacks the API is given
 *   queue.c         the work queue of spool ids
 * Ownership: serve_run owns the struct serve and everything hanging off it.
 */
#ifndef BNC_SERVER_SERVE_INT_H
#define BNC_SERVER_SERVE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "bounced.h"
#include "ingest/spool.h"
#include "server/serve.h"
#include "server/service.h"

#define SERVE_MAX_ATTEMPTS   5
#define SERVE_BATCH          64
#define SERVE_PURGE_EVERY    3600
#define SERVE_GUARD_EVERY    15 /* seconds between guard evaluations and alert deliveries */
/* Store outage: the workers probe again after 250 ms, doubling up to 10 s (workers.c). */
#define SERVE_BACKOFF_MIN_MS 250u
#define SERVE_BACKOFF_MAX_MS 10000u

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

    /* store outage (workers.c), under q_mu: while store_down no worker takes work; the one
     * whose turn it is probes the store at retry_at (CLOCK_MONOTONIC) */
    bool store_down;
    bool probing;
    unsigned backoff_ms;
    struct timespec retry_at;
    struct timespec down_since;

    pthread_t *workers;
    int nworkers;
    pthread_mutex_t store_mu; /* SQLite: workers write in turn */
    struct store **stores;    /* one per worker, then housekeeping, then reloads */

    struct followers *followers; /* followers.c; NULL without [logs.NAME] */

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
    struct service svc; /* smtp.user and systemd notifications (service.c) */
};

/* The store of housekeeping and of reloads: after the workers' ones. */
#define SERVE_STORE_HK(sv)     ((sv)->stores[(sv)->nworkers])
#define SERVE_STORE_RELOAD(sv) ((sv)->stores[(sv)->nworkers + 1])

/* "now" of this run: the fixed clock of the options, else the real one. */
static inline int64_t
serve_now(const struct serve *sv)
{
    return sv->o->now != 0 ? sv->o->now : (int64_t)time(NULL);
}

/* ---- queue.c ---- */
void wq_push(struct serve *sv, const char *id, const char *proto, int attempts);
/* Blocks until at least one item, then takes up to max without waiting; 0 when the queue
 * is closed and empty. */
size_t wq_pop_batch(struct serve *sv, struct wq_item *out, size_t max);
/* No more items: wakes every worker, which drain the queue and stop. */
void wq_close(struct serve *sv);
/* The listener's and the startup rescan's callbacks: queue a spool id. */
void wq_on_spooled(void *ud, const char *id, const char *proto);
void wq_on_rescanned(void *ud, const char *id);

/* ---- workers.c ---- */
/* Start sv->nworkers workers: 0, or -1 (sv->nworkers is then the number started). */
int workers_start(struct serve *sv);
/* After wq_close(): wait for every worker to drain the queue and stop. */
void workers_join(struct serve *sv);

/* ---- housekeeping.c ---- */
void housekeeping_start(struct serve *sv); /* a failure to start is not fatal */
void housekeeping_stop(struct serve *sv);  /* wake, stop and join; no-op if not started */

/* ---- followers.c ---- */
int followers_start(struct serve *sv); /* 0, or 3 after saying why (a bad [logs.NAME]) */
void followers_stop(struct serve *sv); /* stop and join; no-op if not started */

/* ---- reload.c ---- */
/* The current ctx node (borrowed: nodes live until reload_free_all()); *gen_out, when not
 * NULL, its generation. */
struct ctx_node *ctx_current(struct serve *sv, unsigned *gen_out);
/* The first ctx, from cfg (taken over on success) plus the rules stored through the API. */
bnc_status reload_first(struct serve *sv, struct bnc_config *cfg);
/* SIGHUP on the loop: re-read the config and rebuild the ctx on a thread of its own, then
 * smtp_server_reload() on the loop when it is done. */
void reload_begin(struct serve *sv);
void reload_join(struct serve *sv); /* at shutdown: wait for a reload still running */
/* The loop's event (sv->reloaded_ev) when the reload thread is done. */
void reload_done_cb(evutil_socket_t fd, short what, void *ud);
void reload_free_all(struct serve *sv);
/* The callbacks of struct api_options: current ctx, rules changed, webhook received. */
bnc_ctx *reload_api_get_ctx(void *ud);
bnc_status reload_api_rules(void *ud);
int reload_api_webhook(void *ud, const char *esp, const char *body, size_t len, const char *headers,
                       char *reply, size_t replylen);
bnc_status reload_api_raw(void *ud, const char *source, const char *ref, char **data_out,
                          size_t *len_out);

#endif
