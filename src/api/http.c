/*
 * http.c - the transport of the API on libmicrohttpd: bind http.listen, run MHD's thread
 * pool, read each request (method, path, body within the limit), hand it to dispatch.c and
 * send the reply it leaves (status, headers, CORS, body), then free the request.
 *
 * The only file of src/api that includes <microhttpd.h>: the rest sees a request through
 * the lookup function this file puts into it. It does no routing, no authentication and
 * no domain work.
 * Each MHD pool thread serves its own connections start to finish, so every request of a
 * connection runs on one thread (service.c keeps that thread's store and pipeline).
 * STANDARDS: RFC 9110 (413 before the body is read; HEAD without a body; 204 without a
 * Content-Type), Fetch/CORS (Access-Control-Allow-Origin when configured).
 * LIMITS: request body http.body_limit (413, answered before the body is read when
 * Content-Length already says so); connection idle timeout http.timeout; 4096 connections;
 * MHD's own per-connection memory limit (16 KiB) bounds headers.
 * Ownership: the server owns its daemon and auth cache; a request owns its copies of path,
 * body and reply.
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

#define API_AUTH_TTL 2 /* seconds a token lookup is trusted (revocation delay) */

static enum MHD_Result api_access(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls);
static void api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                          enum MHD_RequestTerminationCode toe);
static int api_listen_socket(const char *addr, int *port_out);

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
    s->auth = auth_cache_new(API_AUTH_TTL, o->cfg->http_rate_limit, o->cfg->http_auth_fail_limit);
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
    api_threads_close(s);
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

/* ---- request lifecycle ---- */

/* The request's view of its connection (api_lookup_fn). */
static const char *
http_lookup(void *conn, enum api_lookup what, const char *key)
{
    return MHD_lookup_connection_value(
        conn, what == API_LOOKUP_QUERY ? MHD_GET_ARGUMENT_KIND : MHD_HEADER_KIND, key);
}

/* The client's address as the failed-authentication limit keys it: an IPv4 address whole,
 * an IPv6 one by its /64 (one host holds a whole /64 and could otherwise step through it). */
static void
http_peer(struct MHD_Connection *conn, char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

    out[0] = '\0';
    if (sa == NULL) {
        return;
    }
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in a4;
        memcpy(&a4, sa, sizeof(a4));
        (void)inet_ntop(AF_INET, &a4.sin_addr, out, (socklen_t)outlen);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 a6;
        memcpy(&a6, sa, sizeof(a6));
        if (IN6_IS_ADDR_V4MAPPED(&a6.sin6_addr)) {
            /* an IPv4 client of a dual-stack socket is one address, not a /64 */
            (void)inet_ntop(AF_INET, a6.sin6_addr.s6_addr + 12, out, (socklen_t)outlen);
            return;
        }
        memset(a6.sin6_addr.s6_addr + 8, 0, 8);
        if (inet_ntop(AF_INET6, &a6.sin6_addr, out, (socklen_t)outlen) != NULL) {
            size_t n = strlen(out);
            snprintf(out + n, outlen - n, "/64");
        }
    }
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

        r = api_req_new(srv, conn, http_lookup);
        *con_cls = r;
        http_peer(conn, r->peer, sizeof(r->peer));
        if (api_request_open(r, method, url) != 0) {
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
