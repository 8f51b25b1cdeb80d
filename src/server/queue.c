/*
 * queue.c - the daemon's work queue: a growing ring of spool ids, filled by the listener's
 * spool writers (wq_on_spooled) and the startup rescan of spool/new/, emptied in batches by
 * the workers.
 *
 * An id may be queued twice (the rescan and the listener race at startup); the worker finds
 * the second copy already processed. The depth is the gauge bounced_queue_depth.
 * LIMITS: none of its own: the ring doubles as needed (1024 first); the listener's limits
 * bound what arrives.
 * Ownership: the ring belongs to the struct serve (freed by serve.c).
 */
#include "server/serve_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/metrics.h"
#include "core/xmalloc.h"

void
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

size_t
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

void
wq_close(struct serve *sv)
{
    pthread_mutex_lock(&sv->q_mu);
    sv->q_closed = true;
    pthread_cond_broadcast(&sv->q_cv);
    pthread_mutex_unlock(&sv->q_mu);
}

void
wq_on_spooled(void *ud, const char *id, const char *proto)
{
    wq_push(ud, id, proto, 0);
}

void
wq_on_rescanned(void *ud, const char *id)
{
    wq_push(ud, id, "smtp", 0);
}
