/*
 * service.c - what a handler reaches beyond its request: this pool thread's store
 * connection and pipeline, and the daemon's current classification context.
 *
 * Each pool thread serves its own connections start to finish, so it opens one store
 * connection (and one pipeline) the first time a request needs one and keeps them in
 * thread-local storage until the server stops; the server keeps a registry of them so that
 * api_threads_close() can close them once the pool is joined. A pipeline is rebuilt when
 * the daemon swapped its ctx (SIGHUP or a rules change).
 * Ownership: the server owns every thread's store and pipeline; handlers borrow them for
 * one request.
 */
#include "api_int.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/cfg.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "pipeline/process.h"
#include "store/store.h"

static _Thread_local struct api_thread *api_tl;
static _Thread_local struct api_server *api_tl_srv;

static struct api_thread *
api_thread_get(struct api_server *srv)
{
    struct api_thread *t;
    pthread_mutex_t *mu = srv->threads_mu;

    if (api_tl != NULL && api_tl_srv == srv) {
        return api_tl;
    }
    t = xcalloc(1, sizeof(*t));
    pthread_mutex_lock(mu);
    if (srv->nthreads == srv->athreads) {
        srv->athreads = srv->athreads == 0 ? 8 : srv->athreads * 2;
        srv->threads = xrealloc(srv->threads, srv->athreads * sizeof(*srv->threads));
    }
    srv->threads[srv->nthreads++] = t;
    pthread_mutex_unlock(mu);
    api_tl = t;
    api_tl_srv = srv;
    return t;
}

struct store *
api_store(struct api_req *r)
{
    struct api_thread *t = api_thread_get(r->srv);
    char err[256];

    if (t->st == NULL) {
        err[0] = '\0';
        if (store_open(r->srv->cfg->store_url, r->srv->cfg, &t->st, err, sizeof(err)) != BNC_OK) {
            log_warnx("api: cannot open the store: %s", err);
            t->st = NULL;
        }
    }
    r->st = t->st;
    return t->st;
}

struct store *
api_need_store(struct api_req *r)
{
    struct store *st = api_store(r);

    if (st == NULL) {
        (void)api_unavailable(r);
    }
    return st;
}

bnc_ctx *
api_ctx(struct api_req *r)
{
    return r->srv->o.get_ctx != NULL ? r->srv->o.get_ctx(r->srv->o.ud) : NULL;
}

struct pipeline *
api_pipeline(struct api_req *r)
{
    struct api_thread *t = api_thread_get(r->srv);
    bnc_ctx *ctx = api_ctx(r);
    struct store *st = api_store(r);

    if (ctx == NULL || st == NULL) {
        return NULL;
    }
    if (t->pipe != NULL && t->pipe_ctx != ctx) {
        pipeline_free(t->pipe); /* the daemon swapped its ctx (SIGHUP or rules change) */
        t->pipe = NULL;
    }
    if (t->pipe == NULL) {
        if (pipeline_new(ctx, st, &t->pipe) != BNC_OK) {
            t->pipe = NULL;
            return NULL;
        }
        t->pipe_ctx = ctx;
        if (r->srv->o.now != 0) {
            pipeline_set_now(t->pipe, r->srv->o.now);
        }
    }
    return t->pipe;
}

void
api_threads_close(struct api_server *s)
{
    size_t i;

    for (i = 0; i < s->nthreads; i++) {
        pipeline_free(s->threads[i]->pipe);
        store_close(s->threads[i]->st);
        free(s->threads[i]);
    }
    free(s->threads);
    s->threads = NULL;
    s->nthreads = s->athreads = 0;
}
