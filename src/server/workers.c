/*
 * workers.c - the daemon's worker threads (spool.workers, 0 = one per core): each takes a
 * batch of spool ids from the queue, reads the files, runs pipeline_process() on each with
 * ref = spool id inside one outer store transaction (each message is still all-or-nothing;
 * a duplicate is skipped), then moves the files to done/ (or deletes them).
 *
 * A crash between the commit and the move reprocesses the files on restart, which the
 * pipeline recognises as duplicates. With SQLite the workers write in turn (a mutex) instead
 * of sleeping in SQLite's busy handler. A worker switches to a reloaded ctx before its next
 * batch.
 * LIMITS: SERVE_BATCH messages per transaction; a message that fails SERVE_MAX_ATTEMPTS
 * times with a store error is moved to spool/hold/ (logged at warn) so it cannot block the
 * queue forever.
 * Ownership: each worker owns its pipeline; the stores belong to serve.c.
 */
#define _GNU_SOURCE /* pthread_setname_np(3): thread names in top -H, ps -L */
#include "server/serve_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "pipeline/process.h"
#include "store/store.h"

struct worker_arg {
    struct serve *sv;
    int idx;
};

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

/* A pipeline on the current ctx: rebuilt when a reload published a new one. */
static bnc_status
worker_refresh(struct worker *w)
{
    unsigned g = atomic_load(&w->sv->gen);
    struct ctx_node *cn;

    if (w->p != NULL && g == w->gen) {
        return BNC_OK;
    }
    cn = ctx_current(w->sv, &w->gen);
    pipeline_free(w->p);
    w->p = NULL;
    if (pipeline_new(cn->ctx, w->st, &w->p) != BNC_OK) {
        w->p = NULL;
        return BNC_EINTERNAL;
    }
    if (w->sv->o->now != 0) {
        pipeline_set_now(w->p, w->sv->o->now);
    }
    return BNC_OK;
}

/* Read the spool files of items[0..n) into jobs: how many jobs. A file gone is skipped (it
 * was queued twice); one that cannot be read is held. */
static size_t
worker_read(struct worker *w, const struct wq_item *items, size_t n, struct job *jobs)
{
    size_t i, nj = 0;

    for (i = 0; i < n; i++) {
        bnc_status rc = spool_read(w->sv->spool, items[i].id, &jobs[nj].data, &jobs[nj].len);
        if (rc == BNC_ENOTFOUND) {
            continue; /* already processed (queued twice: rescan and listener) */
        }
        if (rc != BNC_OK) {
            log_warnx("event=spool_read_failed id=%s status=%s", items[i].id, bnc_strerror(rc));
            (void)spool_hold(w->sv->spool, items[i].id);
            continue;
        }
        jobs[nj].it = items[i];
        nj++;
    }
    return nj;
}

static void *
worker_main(void *arg)
{
    struct worker_arg *wa = arg;
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
        if (worker_refresh(&w) != BNC_OK) {
            log_warnx("event=worker_error what=pipeline_new");
            for (i = 0; i < n; i++) {
                wq_push(w.sv, items[i].id, items[i].proto, items[i].attempts);
            }
            sleep(1);
            continue;
        }
        nj = worker_read(&w, items, n, jobs);
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

int
workers_start(struct serve *sv)
{
    int i;

    sv->workers = xcalloc((size_t)sv->nworkers, sizeof(*sv->workers));
    for (i = 0; i < sv->nworkers; i++) {
        struct worker_arg *wa = xmalloc(sizeof(*wa));
        wa->sv = sv;
        wa->idx = i;
        if (pthread_create(&sv->workers[i], NULL, worker_main, wa) != 0) {
            free(wa);
            sv->nworkers = i;
            return -1;
        }
    }
    return 0;
}

void
workers_join(struct serve *sv)
{
    int i;

    for (i = 0; i < sv->nworkers && sv->workers != NULL; i++) {
        pthread_join(sv->workers[i], NULL);
    }
}
