/*
 * http.c - the HTTP server of the API on libmicrohttpd: listen, thread pool, per-request
 * state, body limits, routing, authentication, rate limit, CORS, metrics, replies.
 *
 * Each MHD pool thread serves its own connections start to finish, so every request of a
 * connection runs on one thread; that thread opens one store connection (and one pipeline)
 * the first time it needs one and keeps them in thread-local storage until the server
 * stops. Handlers (routes.c) receive a parsed request and write a status and a body; this
 * file does no domain work.
 *
 * STANDARDS: RFC 9110 (HTTP semantics: 401 + WWW-Authenticate, 405 + Allow, 413, 429 +
 * Retry-After), RFC 6750 (Bearer), Fetch/CORS (Access-Control-Allow-* when configured).
 * LIMITS: request body http.body_limit (413, answered before the body is read when
 * Content-Length already says so); path segments API_MAX_SEGS (404 beyond); connection
 * idle timeout http.timeout; per-token rate http.rate_limit (429); MHD's own per-connection
 * memory limit bounds headers.
 * Ownership: the server owns its daemon, auth cache and per-thread stores; a request owns
 * its copies of path, body and reply.
 */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api_int.h"
#include "auth.h"
#include "core/cfg.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "pipeline/process.h"
#include "store/api_store.h"
#include "store/store.h"

#define API_AUTH_TTL 2 /* seconds a token lookup is trusted (revocation delay) */

static _Thread_local struct api_thread *api_tl;
static _Thread_local struct api_server *api_tl_srv;

static enum MHD_Result api_access(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls);
static void api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                          enum MHD_RequestTerminationCode toe);
static int api_listen_socket(const char *addr, int *port_out);

static int64_t
api_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bnc_status
api_server_start(const struct api_options *o, struct api_server **out)
{
    struct api_server *s;
    pthread_mutex_t *mu;
    unsigned int flags;
    int fd, port = 0;
    long threads;

    *out = NULL;
    if (o == NULL || o->cfg == NULL) {
        return BNC_EINVAL;
    }
    fd = api_listen_socket(o->cfg->http_listen, &port);
    if (fd < 0) {
        return BNC_EIO;
    }
    s = xcalloc(1, sizeof(*s));
    s->o = *o;
    s->cfg = o->cfg;
    s->port = port;
    s->auth = auth_cache_new(API_AUTH_TTL, o->cfg->http_rate_limit);
    mu = xmalloc(sizeof(*mu));
    pthread_mutex_init(mu, NULL);
    s->threads_mu = mu;

    threads = (long)o->cfg->http_threads;
    if (threads <= 0) {
        threads = sysconf(_SC_NPROCESSORS_ONLN);
        if (threads <= 0) {
            threads = 2;
        }
    }
    metrics_describe("bounced_http_requests_total", "HTTP requests by route and status");
    metrics_describe("bounced_http_request_seconds", "HTTP request latency by route");

    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES) {
        flags |= MHD_USE_EPOLL;
    } else {
        flags |= MHD_USE_POLL;
    }
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, api_access, s, MHD_OPTION_LISTEN_SOCKET, fd,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)o->cfg->http_timeout,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16 * 1024,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)4096,
                            MHD_OPTION_NOTIFY_COMPLETED, api_completed, s, MHD_OPTION_END);
    if (s->d == NULL) {
        log_warnx("api: cannot start the HTTP server on %s", o->cfg->http_listen);
        close(fd);
        auth_cache_free(s->auth);
        pthread_mutex_destroy(mu);
        free(mu);
        free(s);
        return BNC_EIO;
    }
    log_info("api: listening on %s (port %d, %ld threads)", o->cfg->http_listen, port, threads);
    *out = s;
    return BNC_OK;
}

void
api_server_stop(struct api_server *s)
{
    size_t i;
    int fd;

    if (s == NULL) {
        return;
    }
    fd = MHD_quiesce_daemon(s->d);
    MHD_stop_daemon(s->d);
    if (fd >= 0) {
        close(fd);
    }
    /* The pool threads are joined: their stores and pipelines are ours to close. */
    for (i = 0; i < s->nthreads; i++) {
        pipeline_free(s->threads[i]->pipe);
        store_close(s->threads[i]->st);
        free(s->threads[i]);
    }
    free(s->threads);
    pthread_mutex_destroy((pthread_mutex_t *)s->threads_mu);
    free(s->threads_mu);
    auth_cache_free(s->auth);
    free(s);
}

int
api_server_port(const struct api_server *s)
{
    return s != NULL ? s->port : 0;
}

/* ---- outside a request: first admin token, API-stored rules ----
 * These live in this file so that a program that links the bootstrap (the `token` command)
 * also links the server, which the daemon references weakly. */

bool
api_bootstrap_admin_token(struct store *st, char *out, size_t outlen)
{
    char tok[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_LEN + 1];
    int64_t n = 0, id = 0;
    bnc_status rc;

    if (outlen <= AUTH_TOKEN_LEN) {
        return false;
    }
    if ((rc = store_begin(st)) != BNC_OK) {
        return false;
    }
    rc = api_token_count(st, &n);
    if (rc == BNC_OK && n > 0) {
        store_rollback(st);
        return false;
    }
    if (rc == BNC_OK) {
        rc = auth_token_generate(tok, sizeof(tok));
    }
    if (rc == BNC_OK) {
        auth_sha256_hex(tok, strlen(tok), hash);
        rc = api_token_insert(st, "admin", hash, "admin", (int64_t)time(NULL), &id);
    }
    if (rc == BNC_OK) {
        rc = store_commit(st);
    } else {
        store_rollback(st);
    }
    if (rc != BNC_OK) {
        log_warnx("api: could not create the first admin token: %s", bnc_strerror(rc));
        return false;
    }
    memcpy(out, tok, sizeof(tok));
    return true;
}

bnc_status
api_rules_load(struct store *st, struct api_rule_line **rules_out, size_t *n_out)
{
    struct api_rule_row *rows = NULL;
    struct api_rule_line *lines;
    size_t n = 0, i;
    bnc_status rc;
    char origin[48];

    *rules_out = NULL;
    *n_out = 0;
    if ((rc = api_rule_list(st, &rows, &n)) != BNC_OK) {
        return rc;
    }
    if (n == 0) {
        api_rule_rows_free(rows, n);
        return BNC_OK;
    }
    lines = xcalloc(n, sizeof(*lines));
    for (i = 0; i < n; i++) {
        lines[i].text = rows[i].pattern;
        rows[i].pattern = NULL;
        snprintf(origin, sizeof(origin), "db:rules:%lld", (long long)rows[i].id);
        lines[i].origin = xstrdup(origin);
    }
    api_rule_rows_free(rows, n);
    *rules_out = lines;
    *n_out = n;
    return BNC_OK;
}

void
api_rules_free(struct api_rule_line *rules, size_t n)
{
    size_t i;

    if (rules == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        free(rules[i].text);
        free(rules[i].origin);
    }
    free(rules);
}

/* ---- services for handlers ---- */

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
    return t->st;
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

int64_t
api_now(const struct api_req *r)
{
    return r->srv->o.now != 0 ? r->srv->o.now : (int64_t)time(NULL);
}

const char *
api_query(struct api_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *
api_header(struct api_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

void
api_add_header(struct api_req *r, const char *name, const char *value)
{
    if (r->nhdr < API_MAX_HDRS) {
        r->hdr_name[r->nhdr] = name;
        r->hdr_value[r->nhdr] = xstrdup(value);
        r->nhdr++;
    }
}

int
api_error(struct api_req *r, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    buf_reset(&r->out);
    r->static_out = false;
    buf_adds(&r->out, "{\"error\":{\"code\":");
    buf_add_json_str(&r->out, code, strlen(code));
    buf_adds(&r->out, ",\"message\":");
    buf_add_json_str(&r->out, msg, strlen(msg));
    buf_adds(&r->out, "}}\n");
    r->ctype = "application/json";
    r->status = status;
    return status;
}

int
api_error_status(struct api_req *r, bnc_status rc, const char *what)
{
    switch (rc) {
    case BNC_ENOTFOUND:
        return api_error(r, 404, "not_found", "%s: not found", what);
    case BNC_ECONFLICT:
        return api_error(r, 409, "conflict", "%s: conflicts with an existing record", what);
    case BNC_EINVAL:
        return api_error(r, 400, "bad_request", "%s: invalid value", what);
    case BNC_ELIMIT:
        return api_error(r, 413, "too_large", "%s: over a configured limit", what);
    case BNC_EBUSY:
        api_add_header(r, "Retry-After", "1");
        return api_error(r, 503, "busy", "%s: the store is busy, retry", what);
    default:
        log_warnx("api: %s failed: %s", what,
                  r->srv != NULL && api_tl != NULL && api_tl->st ? store_errmsg(api_tl->st)
                                                                 : "no store");
        return api_error(r, 500, "internal", "%s failed", what);
    }
}

/* ---- request lifecycle ---- */

static unsigned
api_method_bit(const char *m)
{
    static const struct {
        const char *name;
        unsigned bit;
    } tab[] = {{"GET", API_GET},        {"POST", API_POST},     {"PUT", API_PUT},
               {"PATCH", API_PATCH},    {"DELETE", API_DELETE}, {"HEAD", API_HEAD},
               {"OPTIONS", API_OPTIONS}};
    size_t i;

    for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        if (strcmp(tab[i].name, m) == 0) {
            return tab[i].bit;
        }
    }
    return 0;
}

static void
api_req_free(struct api_req *r)
{
    size_t i;

    if (r == NULL) {
        return;
    }
    free(r->path);
    buf_free(&r->body);
    buf_free(&r->out);
    for (i = 0; i < r->nhdr; i++) {
        free(r->hdr_value[i]);
    }
    free(r);
}

static void
api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
              enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    api_req_free(*con_cls);
    *con_cls = NULL;
}

/* Split the path into segments in place; false when there are too many. */
static bool
api_split(struct api_req *r, const char *url)
{
    char *p;

    r->path = xstrdup(url);
    r->nseg = 0;
    p = r->path;
    while (*p == '/') {
        p++;
    }
    while (*p != '\0') {
        char *e = strchr(p, '/');
        if (r->nseg == API_MAX_SEGS) {
            return false;
        }
        r->seg[r->nseg++] = p;
        if (e == NULL) {
            break;
        }
        *e = '\0';
        p = e + 1;
    }
    return true;
}

static bool
api_route_match(const struct api_route *rt, const struct api_req *r)
{
    const char *p = rt->path;
    size_t i = 0;

    while (*p == '/') {
        p++;
    }
    while (*p != '\0') {
        const char *e = strchr(p, '/');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        if (i >= r->nseg) {
            return false;
        }
        if (!(n == 2 && p[0] == '{' && p[1] == '}')) {
            if (strlen(r->seg[i]) != n || memcmp(r->seg[i], p, n) != 0) {
                return false;
            }
        } else if (r->seg[i][0] == '\0') {
            return false;
        }
        i++;
        p += n;
        while (*p == '/') {
            p++;
        }
    }
    return i == r->nseg;
}

static void
api_allow_header(unsigned methods, char *out, size_t outlen)
{
    static const char *names[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
    size_t i, o = 0;

    out[0] = '\0';
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if ((methods & (1u << i)) != 0) {
            int w = snprintf(out + o, outlen - o, "%s%s", o ? ", " : "", names[i]);
            if (w < 0 || (size_t)w >= outlen - o) {
                return;
            }
            o += (size_t)w;
        }
    }
}

static int
api_authenticate(struct api_req *r, unsigned need)
{
    const char *h = api_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *tok = NULL;
    size_t len = 0;
    struct store *st;
    enum auth_result ar;

    if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
        tok = h + 7;
        while (*tok == ' ') {
            tok++;
        }
        len = strlen(tok);
        while (len > 0 && tok[len - 1] == ' ') {
            len--;
        }
    }
    if (tok == NULL || len == 0) {
        api_add_header(r, "WWW-Authenticate", "Bearer realm=\"bounced\"");
        return api_error(r, 401, "unauthorized", "a bearer token is required");
    }
    st = api_store(r);
    if (st == NULL) {
        return api_error(r, 500, "internal", "the store is not available");
    }
    ar = auth_check(r->srv->auth, st, tok, len, api_mono_ns() / 1000000, api_now(r), &r->token_id,
                    &r->scopes);
    switch (ar) {
    case AUTH_OK:
        break;
    case AUTH_RATE_LIMITED:
        api_add_header(r, "Retry-After", "1");
        return api_error(r, 429, "rate_limited", "too many requests for this token");
    case AUTH_FAULT:
        return api_error(r, 500, "internal", "token lookup failed");
    default:
        api_add_header(r, "WWW-Authenticate", "Bearer realm=\"bounced\", error=\"invalid_token\"");
        return api_error(r, 401, "unauthorized", "the token is not valid");
    }
    if (!auth_scopes_allow(r->scopes, need)) {
        char want[128];
        auth_scopes_format(need, want, sizeof(want));
        return api_error(r, 403, "forbidden", "this token lacks the scope %s", want);
    }
    return 0;
}

static void
api_dispatch(struct api_req *r)
{
    size_t n, i;
    const struct api_route *routes = api_routes(&n);
    unsigned allowed = 0;
    unsigned m = r->method;

    for (i = 0; i < n; i++) {
        if (!api_route_match(&routes[i], r)) {
            continue;
        }
        allowed |= routes[i].methods;
        if ((routes[i].methods & m) != 0 || (m == API_HEAD && (routes[i].methods & API_GET))) {
            r->route = &routes[i];
            break;
        }
    }
    if (r->route == NULL) {
        if (allowed != 0 && m == API_OPTIONS && r->srv->cfg->http_cors_origin[0] != '\0') {
            char allow[96];
            api_allow_header(allowed | API_OPTIONS, allow, sizeof(allow));
            api_add_header(r, "Access-Control-Allow-Methods", allow);
            api_add_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
            api_add_header(r, "Access-Control-Max-Age", "600");
            r->status = 204;
            return;
        }
        if (allowed != 0) {
            char allow[96];
            api_allow_header(allowed, allow, sizeof(allow));
            api_add_header(r, "Allow", allow);
            api_error(r, 405, "method_not_allowed", "method not allowed here (allowed: %s)", allow);
            return;
        }
        api_error(r, 404, "not_found", "no such route");
        return;
    }
    if (r->body_too_big) {
        api_error(r, 413, "too_large", "the request body is over %zu bytes",
                  r->srv->cfg->http_body_limit);
        return;
    }
    if (r->route->scope != 0 && api_authenticate(r, r->route->scope) != 0) {
        return;
    }
    r->status = r->route->fn(r);
}

static void
api_count(struct api_req *r)
{
    char labels[160];
    double secs = (double)(api_mono_ns() - r->start_ns) / 1e9;
    const char *route = r->route != NULL ? r->route->label : "unmatched";

    snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%d\"", route, r->status);
    metrics_counter_add("bounced_http_requests_total", labels, 1);
    snprintf(labels, sizeof(labels), "route=\"%s\"", route);
    metrics_observe("bounced_http_request_seconds", labels, secs);
}

static enum MHD_Result
api_send(struct api_req *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    const char *cors = r->srv->cfg->http_cors_origin;
    size_t i;

    if (r->status == 0) {
        api_error(r, 500, "internal", "the handler gave no reply");
    }
    api_count(r);
    if (r->method == API_HEAD) {
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    } else if (r->static_out) {
        resp = MHD_create_response_from_buffer(r->out_static_len, (void *)(uintptr_t)r->out_static,
                                               MHD_RESPMEM_PERSISTENT);
    } else {
        size_t len = r->out.len;
        char *body = buf_take(&r->out);
        resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
    }
    if (resp == NULL) {
        return MHD_NO;
    }
    if (r->status != 204) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                r->ctype != NULL ? r->ctype : "application/json");
    }
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (cors != NULL && cors[0] != '\0') {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", cors);
        MHD_add_response_header(resp, "Vary", "Origin");
    }
    for (i = 0; i < r->nhdr; i++) {
        MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
    }
    ret = MHD_queue_response(r->conn, (unsigned int)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result
api_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct api_server *srv = cls;
    struct api_req *r = *con_cls;

    (void)version;
    if (r == NULL) {
        const char *cl;
        uint64_t clen = 0;

        r = xcalloc(1, sizeof(*r));
        r->srv = srv;
        r->conn = conn;
        r->start_ns = api_mono_ns();
        r->method = api_method_bit(method);
        buf_init(&r->body, srv->cfg->http_body_limit);
        buf_init(&r->out, API_OUT_CAP);
        *con_cls = r;
        if (!api_split(r, url)) {
            api_error(r, 404, "not_found", "no such route");
            return api_send(r);
        }
        if (r->method == 0) {
            api_error(r, 405, "method_not_allowed", "unknown method");
            return api_send(r);
        }
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL) {
            const char *c;
            for (c = cl; *c >= '0' && *c <= '9' && clen <= UINT64_MAX / 10 - 10; c++) {
                clen = clen * 10 + (uint64_t)(*c - '0');
            }
            if (clen > srv->cfg->http_body_limit) {
                /* Refuse before reading: MHD closes the connection after this reply. */
                r->body_too_big = true;
                api_error(r, 413, "too_large", "the request body is over %zu bytes",
                          srv->cfg->http_body_limit);
                return api_send(r);
            }
        }
        return MHD_YES;
    }
    if (r->status != 0) {
        *upload_data_size = 0; /* already answered: discard the rest */
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        if (!r->body_too_big && buf_add(&r->body, upload_data, *upload_data_size) != BNC_OK) {
            r->body_too_big = true;
            buf_free(&r->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    api_dispatch(r);
    return api_send(r);
}

/* Bind host:port ("127.0.0.1:8025", "[::1]:8025", ":8025"); returns the fd or -1. */
static int
api_listen_socket(const char *addr, int *port_out)
{
    char host[256], port[16];
    const char *colon;
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1, one = 1, rc;
    size_t hl;

    if (addr == NULL) {
        return -1;
    }
    colon = strrchr(addr, ':');
    if (colon == NULL || strlen(colon + 1) >= sizeof(port)) {
        log_warnx("api: http.listen must be host:port, not \"%s\"", addr);
        return -1;
    }
    hl = (size_t)(colon - addr);
    if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
        addr++;
        hl -= 2;
    }
    if (hl >= sizeof(host)) {
        return -1;
    }
    memcpy(host, addr, hl);
    host[hl] = '\0';
    memcpy(port, colon + 1, strlen(colon + 1) + 1);

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(hl > 0 ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        log_warnx("api: cannot resolve http.listen %s: %s", addr, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0) {
            break;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        log_warn("api: cannot listen on %s", addr);
        return -1;
    }
    {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
            if (ss.ss_family == AF_INET) {
                *port_out = ntohs(((struct sockaddr_in *)&ss)->sin_port);
            } else if (ss.ss_family == AF_INET6) {
                *port_out = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
            }
        }
    }
    return fd;
}
