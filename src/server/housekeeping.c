/*
 * housekeeping.c - the daemon's periodic jobs, on one thread of their own: the decay sweep
 * (every sweep.interval: soft counts older than policy.soft_decay_days reset, DESIGN §6),
 * the purge of spool/done/ (hourly, files older than spool.keep_days) and the mailbox poll
 * (mailbox.source every mailbox.interval, through the pipeline like every ingest), and the
 * guards (every SERVE_GUARD_EVERY: outages ended, settled or applied, spike alerts raised,
 * alerts delivered; server/alerts.c).
 *
 * Each job reads the current config on every tick, so a reload changes its interval; the
 * mailbox poll rebuilds its pipeline when the ctx was reloaded. A failing job logs and
 * tries again at its next time.
 * LIMITS: wakes once a second; first sweep 5 s, purge 10 s, mailbox poll 1 s after start.
 * Ownership: the thread owns its pipeline; its store is SERVE_STORE_HK (serve.c's).
 */
#define _GNU_SOURCE /* pthread_setname_np(3) */
#include "server/serve_int.h"

#include <string.h>

#include "core/cfg.h"
#include "core/log.h"
#include "core/metrics.h"
#include "hygiene/policy.h"
#include "ingest/mailbox.h"
#include "pipeline/process.h"
#include "server/alerts.h"
#include "store/guards.h"
#include "store/model.h"
#include "store/store.h"

/* The jobs' state between ticks. */
struct hk {
    struct serve *sv;
    struct store *st;
    struct pipeline *p; /* the mailbox poll's, on ctx generation gen */
    unsigned gen;
    int64_t next_sweep, next_purge, next_mail, next_guard;
};

static void *housekeeping_main(void *arg);

void
housekeeping_start(struct serve *sv)
{
    if (pthread_create(&sv->hk, NULL, housekeeping_main, sv) == 0) {
        sv->hk_started = true;
    }
}

void
housekeeping_stop(struct serve *sv)
{
    if (!sv->hk_started) {
        return;
    }
    pthread_mutex_lock(&sv->hk_mu);
    sv->hk_stop = true;
    pthread_cond_broadcast(&sv->hk_cv);
    pthread_mutex_unlock(&sv->hk_mu);
    pthread_join(sv->hk, NULL);
}

static void
hk_sweep(struct hk *h, const struct bnc_config *cfg)
{
    struct policy_cfg pc;
    size_t k = 0;
    bnc_status rc;

    policy_cfg_from_config(&pc, cfg);
    rc = model_sweep(h->st, &pc, serve_now(h->sv), &k);
    if (rc == BNC_OK) {
        log_info("event=sweep reset=%zu", k);
    } else {
        log_warnx("event=sweep_failed status=%s", bnc_strerror(rc));
    }
}

static void
hk_purge(struct hk *h, const struct bnc_config *cfg, int64_t now)
{
    if (cfg->spool_keep_days > 0) {
        size_t k = spool_purge(h->sv->spool, now - cfg->spool_keep_days * 86400);
        if (k > 0) {
            log_info("event=spool_purge removed=%zu", k);
        }
    }
}

static void
hk_mailbox(struct hk *h, const struct bnc_config *cfg)
{
    struct mailbox_opts mo;
    struct mailbox_stats ms;
    char err[512];
    unsigned g = atomic_load(&h->sv->gen);

    if (h->p == NULL || g != h->gen) {
        struct ctx_node *n;
        pipeline_free(h->p);
        h->p = NULL;
        n = ctx_current(h->sv, &h->gen);
        if (pipeline_new(n->ctx, h->st, &h->p) != BNC_OK) {
            return;
        }
        if (h->sv->o->now != 0) {
            pipeline_set_now(h->p, h->sv->o->now);
        }
    }
    memset(&mo, 0, sizeof(mo));
    mo.source = cfg->mailbox_source;
    mo.user = cfg->mailbox_user;
    mo.password = cfg->mailbox_password;
    if (mailbox_ingest(h->p, h->st, &mo, &ms, err, sizeof(err)) != BNC_OK) {
        log_warnx("event=mailbox_failed detail=\"%s\"", err);
    } else if (ms.seen > 0) {
        log_info("event=mailbox_scan seen=%zu processed=%zu duplicates=%zu "
                 "not_bounce=%zu failed=%zu",
                 ms.seen, ms.processed, ms.duplicates, ms.not_bounce, ms.failed);
    }
}

static void
hk_guard(struct hk *h, const struct bnc_config *cfg)
{
    struct policy_cfg pc;
    struct guard_eval ge;
    struct alerts_stats as;
    int64_t now = serve_now(h->sv);
    size_t open = 0;

    policy_cfg_from_config(&pc, cfg);
    if (guard_evaluate(h->st, &pc, cfg, now, &ge) != BNC_OK) {
        log_warnx("event=guard_failed detail=\"%s\"", store_errmsg(h->st));
    }
    if (alerts_run(h->st, cfg, now, &as) != BNC_OK) {
        log_warnx("event=alerts_failed detail=\"%s\"", store_errmsg(h->st));
    }
    if (guard_outage_list(h->st, "open", 0, MODEL_LIMIT_MAX, NULL, NULL, &open) == BNC_OK) {
        metrics_gauge_set("bounced_outages_open", NULL, (int64_t)open);
    }
}

/* Wait a second or until told to stop: true to go on. */
static bool
hk_tick(struct serve *sv)
{
    struct timespec until;
    bool stop;

    pthread_mutex_lock(&sv->hk_mu);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    if (!sv->hk_stop) {
        pthread_cond_timedwait(&sv->hk_cv, &sv->hk_mu, &until);
    }
    stop = sv->hk_stop;
    pthread_mutex_unlock(&sv->hk_mu);
    return !stop;
}

static void *
housekeeping_main(void *arg)
{
    struct hk h;
    int64_t start = (int64_t)time(NULL);

    memset(&h, 0, sizeof(h));
    h.sv = arg;
    h.st = SERVE_STORE_HK(h.sv);
    (void)pthread_setname_np(pthread_self(), "bnc-housekeep");
    h.next_sweep = start + 5; /* a first sweep soon after startup */
    h.next_purge = start + 10;
    h.next_mail = start + 1;
    h.next_guard = start + 1;
    for (;;) {
        const struct bnc_config *cfg;
        int64_t now = (int64_t)time(NULL); /* the time the tick began */

        if (!hk_tick(h.sv)) {
            break;
        }
        cfg = ctx_current(h.sv, NULL)->cfg;
        if (cfg->sweep_interval > 0 && now >= h.next_sweep) {
            h.next_sweep = now + cfg->sweep_interval;
            hk_sweep(&h, cfg);
        }
        if (now >= h.next_purge) {
            h.next_purge = now + SERVE_PURGE_EVERY;
            hk_purge(&h, cfg, now);
        }
        if (cfg->mailbox_source[0] != '\0' && cfg->mailbox_interval > 0 && now >= h.next_mail) {
            h.next_mail = now + cfg->mailbox_interval;
            hk_mailbox(&h, cfg);
        }
        if (now >= h.next_guard) {
            h.next_guard = now + SERVE_GUARD_EVERY;
            hk_guard(&h, cfg);
        }
    }
    pipeline_free(h.p);
    return NULL;
}
