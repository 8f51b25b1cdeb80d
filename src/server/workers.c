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
 *
 * Failures are sorted by whose fault they are:
 *   - a store error (busy, locked, read-only, unreachable) is not the message's: the worker
 *     probes the store (store_check_writable). When the probe fails too, the store is down:
 *     the failed messages go back to the queue with their attempts untouched, and no worker
 *     takes work again until a probe succeeds (one worker probes, after 250 ms, doubling up
 *     to 10 s; event=store_down, then event=store_up). The spool keeps taking mail meanwhile.
 *     At shutdown during an outage the queued ids stay in spool/new/ for the next start.
 *   - a store error while the store is writable counts as an attempt: after
 *     SERVE_MAX_ATTEMPTS the message is held (it is the one that fails);
 *   - any other failure (too large, unreadable) is the message's own: spool/hold/ at once,
 *     with hold/<id>.reason and an event=held log line saying why.
 * LIMITS: SERVE_BATCH messages per transaction.
 * Ownership: each worker owns its pipeline; the stores belong to serve.c.
 */
#define _GNU_SOURCE /* pthread_setname_np(3): thread names in top -H, ps -L */
#include "server/serve_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
    bool deferred; /* not run: an earlier message of the batch found the store failing */
};

struct worker {
    struct serve *sv;
    struct store *st;
    struct pipeline *p;
    unsigned gen;
    bool serial; /* SQLite: one writer at a time, taken in turn instead of busy-waiting */
    bool probed; /* this batch has probed the store already: probe_rc */
    bnc_status probe_rc;
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

/* A failure of the store rather than of the message. */
static bool
store_class(bnc_status rc)
{
    return rc == BNC_EBUSY || rc == BNC_ESTORE || rc == BNC_EIO || rc == BNC_ECONFLICT;
}

static void
ts_add_ms(struct timespec *t, unsigned ms)
{
    t->tv_sec += (time_t)(ms / 1000u);
    t->tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static bool
ts_reached(const struct timespec *now, const struct timespec *t)
{
    return now->tv_sec > t->tv_sec || (now->tv_sec == t->tv_sec && now->tv_nsec >= t->tv_nsec);
}

/* The store failed its probe: (still) down, next probe after the doubled back-off. */
static void
outage_enter(struct serve *sv, bnc_status rc, const char *detail)
{
    struct timespec now;
    bool first;
    size_t queued;

    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&sv->q_mu);
    queued = sv->len;
    first = !sv->store_down;
    if (first) {
        sv->store_down = true;
        sv->down_since = now;
        sv->backoff_ms = SERVE_BACKOFF_MIN_MS;
    } else {
        sv->backoff_ms =
            sv->backoff_ms * 2 > SERVE_BACKOFF_MAX_MS ? SERVE_BACKOFF_MAX_MS : sv->backoff_ms * 2;
    }
    sv->retry_at = now;
    ts_add_ms(&sv->retry_at, sv->backoff_ms);
    pthread_mutex_unlock(&sv->q_mu);
    if (first) {
        log_warnx("event=store_down status=%s detail=\"%s\" queued=%zu", bnc_strerror(rc), detail,
                  queued);
        metrics_gauge_set("bounced_store_up", NULL, 0);
    } else {
        log_debug("event=store_probe_failed status=%s retry_ms=%u", bnc_strerror(rc),
                  sv->backoff_ms);
    }
}

/* Probe this worker's store (in turn with the other writers on SQLite). Inside a batch
 * (locked), once per batch: a locked SQLite file costs store.busy_timeout_ms per probe. */
static bnc_status
worker_probe(struct worker *w, bool locked)
{
    bnc_status rc;

    if (locked && w->probed) {
        return w->probe_rc;
    }
    if (w->serial && !locked) {
        pthread_mutex_lock(&w->sv->store_mu);
    }
    rc = store_check_writable(w->st);
    if (w->serial && !locked) {
        pthread_mutex_unlock(&w->sv->store_mu);
    }
    if (locked) {
        w->probed = true;
        w->probe_rc = rc;
    }
    return rc;
}

/*
 * Before taking work: while the store is down, wait; the worker whose turn it is probes, and
 * a successful probe ends the outage for all. Returns false when the queue was closed during
 * an outage: the caller then leaves what is queued in spool/new/.
 */
static bool
outage_wait(struct worker *w)
{
    struct serve *sv = w->sv;
    struct timespec now, until;
    bnc_status rc;

    pthread_mutex_lock(&sv->q_mu);
    while (sv->store_down && !sv->q_closed) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!sv->probing && ts_reached(&now, &sv->retry_at)) {
            sv->probing = true;
            pthread_mutex_unlock(&sv->q_mu);
            rc = worker_probe(w, false);
            if (rc != BNC_OK) {
                outage_enter(sv, rc, store_errmsg(w->st));
                pthread_mutex_lock(&sv->q_mu);
                sv->probing = false;
                continue;
            }
            pthread_mutex_lock(&sv->q_mu);
            sv->probing = false;
            sv->store_down = false;
            clock_gettime(CLOCK_MONOTONIC, &now);
            log_info("event=store_up down_seconds=%lld queued=%zu",
                     (long long)(now.tv_sec - sv->down_since.tv_sec), sv->len);
            metrics_gauge_set("bounced_store_up", NULL, 1);
            pthread_cond_broadcast(&sv->q_cv);
            break;
        }
        until = sv->probing ? now : sv->retry_at;
        if (sv->probing) {
            ts_add_ms(&until, 200);
        }
        (void)pthread_cond_timedwait(&sv->q_cv, &sv->q_mu, &until);
    }
    if (sv->store_down && sv->q_closed) {
        pthread_mutex_unlock(&sv->q_mu);
        return false;
    }
    pthread_mutex_unlock(&sv->q_mu);
    return true;
}

static void
job_hold(struct worker *w, struct job *j, const char *why)
{
    char reason[600];

    snprintf(reason, sizeof(reason), "status=%s detail=\"%s\" attempts=%d", bnc_strerror(j->rc),
             why, j->it.attempts + 1);
    log_warnx("event=held id=%s %s", j->it.id, reason);
    metrics_counter_add("bounced_held_total", NULL, 1);
    (void)spool_hold(w->sv->spool, j->it.id, reason);
}

/* After the commit: move the spool file, count, log. */
static void
job_done(struct worker *w, struct job *j)
{
    struct serve *sv = w->sv;
    struct wq_item *it = &j->it;
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
}

/*
 * Settle a batch after it ran: done, retried, held, or (store down) back in the queue as it
 * was. Called with the SQLite writer turn held when there is one.
 */
static void
batch_settle(struct worker *w, struct job *jobs, size_t n)
{
    struct serve *sv = w->sv;
    bnc_status probe = BNC_OK;
    bool store_failed = false, closed;
    char detail[400];
    size_t i, requeued = 0;

    detail[0] = '\0';
    for (i = 0; i < n; i++) {
        if (jobs[i].rc != BNC_OK && store_class(jobs[i].rc) && !jobs[i].deferred) {
            store_failed = true;
            snprintf(detail, sizeof(detail), "%s", pipeline_errmsg(w->p));
        }
    }
    if (store_failed) {
        probe = worker_probe(w, true);
    }
    pthread_mutex_lock(&sv->q_mu);
    closed = sv->q_closed;
    pthread_mutex_unlock(&sv->q_mu);
    for (i = 0; i < n; i++) {
        struct job *j = &jobs[i];
        if (j->rc == BNC_OK) {
            job_done(w, j);
        } else if (j->deferred || (store_class(j->rc) && probe != BNC_OK)) {
            /* not the message's fault: as it was, or left in spool/new/ at shutdown */
            if (!closed) {
                wq_push(sv, j->it.id, j->it.proto, j->it.attempts);
            }
            requeued++;
        } else if (store_class(j->rc) && j->it.attempts + 1 < SERVE_MAX_ATTEMPTS) {
            log_warnx("event=retry id=%s attempt=%d status=%s detail=\"%s\"", j->it.id,
                      j->it.attempts + 1, bnc_strerror(j->rc), detail);
            wq_push(sv, j->it.id, j->it.proto, j->it.attempts + 1);
        } else {
            job_hold(w, j, store_class(j->rc) ? detail : pipeline_errmsg(w->p));
        }
    }
    if (probe != BNC_OK) {
        outage_enter(sv, probe, store_errmsg(w->st));
        if (closed) {
            log_warnx("event=left_in_spool count=%zu why=store_down", requeued);
        }
    } else if (store_failed) {
        usleep(100000u); /* a busy store: give the other writer its turn */
    }
}

/* One message on its own; the rest of the batch is deferred once the store fails. */
static void
job_run_alone(struct worker *w, struct job *jobs, size_t n)
{
    size_t i;
    bool store_failing = false;

    for (i = 0; i < n; i++) {
        if (store_failing) {
            jobs[i].deferred = true;
            jobs[i].rc = BNC_EBUSY;
            continue;
        }
        job_run(w, &jobs[i]);
        if (jobs[i].rc != BNC_OK && store_class(jobs[i].rc) && worker_probe(w, true) != BNC_OK) {
            store_failing = true; /* every further message would wait for the store too */
        }
    }
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
    bnc_status rc = BNC_OK;

    w->probed = false;
    for (i = 0; i < n; i++) {
        jobs[i].deferred = false;
    }
    if (n > 1 && (rc = store_begin(w->st)) == BNC_OK) {
        for (i = 0; i < n && ok; i++) {
            job_run(w, &jobs[i]);
            ok = jobs[i].rc == BNC_OK;
        }
        if (ok) {
            ok = store_commit(w->st) == BNC_OK;
        } else {
            rc = jobs[i - 1].rc;
            (void)store_rollback(w->st);
        }
        if (ok) {
            batch_settle(w, jobs, n);
            return;
        }
    }
    if (n > 1 && store_class(rc) && worker_probe(w, true) != BNC_OK) {
        /* the store itself is failing: the whole batch waits, nobody is to blame */
        for (i = 0; i < n; i++) {
            jobs[i].deferred = true;
            jobs[i].rc = BNC_EBUSY;
        }
        jobs[0].deferred = false; /* one non-deferred store failure makes settle probe */
        batch_settle(w, jobs, n);
        return;
    }
    job_run_alone(w, jobs, n);
    batch_settle(w, jobs, n);
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
            (void)spool_hold(w->sv->spool, items[i].id, "spool file unreadable");
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
        if (!outage_wait(&w)) {
            /* stopping while the store is down: what is queued stays in spool/new/ */
            log_warnx("event=left_in_spool count=%zu why=store_down", n);
            continue;
        }
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
