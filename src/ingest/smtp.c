/*
 * smtp.c - SMTP and LMTP listeners on libevent: sockets, TLS, timers, and the spool writers.
 *
 * One connection = one bufferevent + one smtp_session (the protocol lives in
 * smtp_session.c). Input is fed to the session as it arrives; replies are written back;
 * SMTP_EV_MESSAGE hands a copy of the message and envelope to a few writer threads; each
 * takes every message waiting and makes them durable together (spool_write_batch: about two
 * journal commits per batch, a group commit), and only when the writer reports
 * back through an event on the loop does the session say 250. The session is fed nothing
 * meanwhile, so a pipelining client cannot run ahead of durability. With one fsync'd
 * file per message a busy disk manages a few hundred messages/s; with group commit the cost
 * is shared by every client waiting at that moment.
 *
 * Doesn't: parse messages (the workers do), authenticate, relay, or speak the PROXY protocol.
 *
 * STANDARDS: RFC 5321 3.1 (greeting; 421 when refusing a connection), 4.5.3.2 (timeouts: one
 * idle timeout, smtp.idle_timeout, for every read and write), RFC 3207 (STARTTLS: input
 * buffered before the handshake is discarded, 6), RFC 2033 (LMTP over TCP or a Unix socket).
 *
 * LIMITS: smtp.max_connections open sessions (421 4.7.0 past it, at accept), and
 * smtp.max_connections_per_ip from one client address (an IPv6 client by its /64; the
 * addresses of smtp.connection_limit_exempt are not counted); input is read at most
 * SMTP_READ_HIGH bytes ahead of the session; one message per connection in flight; the
 * protocol limits are the session's (smtp_session.c).
 *
 * Deadlines: the idle timeout restarts with every byte, so a client sending one byte every
 * few seconds would hold a session for ever (slowloris). Two deadlines do not restart:
 * smtp.command_deadline runs from the reply before a command (or the greeting) until the
 * command line is complete, and smtp.transaction_deadline from MAIL FROM to the end of the
 * data. Past either, 421 4.4.2 and close. While a message is with the spool writers the
 * client is not waiting on itself, so neither deadline runs out then.
 *
 * Ownership: the server owns its connections, jobs, listeners, TLS context and threads; it
 * borrows the event base and the spool.
 */
#define _GNU_SOURCE /* pthread_setname_np(3) */
#include "ingest/smtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/cfg.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "ingest/smtp_session.h"
#include "ingest/spool.h"

#define SMTP_READ_HIGH    (256 * 1024)
#define SMTP_WRITERS_DEF  4
#define SMTP_BATCH_MAX    256
#define SMTP_ADDR_MAX     300
#define SMTP_HOSTNAME_MAX 256
#define SMTP_EXEMPT_MAX   64

struct conn;

struct job {
    struct job *next;
    struct conn *c;
    char *data;
    size_t len;
    char *helo, *from, *peer;
    char **rcpts;
    size_t nrcpts;
    const char *proto; /* static string */
    bool ok;
    char id[SPOOL_ID_MAX];
};

struct conn {
    struct conn *prev, *next;
    struct smtp_server *srv;
    struct bufferevent *bev;
    struct smtp_session *sess;
    char peer[64];
    bool lmtp;
    bool pending;           /* a spool job is in flight */
    bool dead;              /* the client went away while a job was in flight */
    bool closing;           /* flush the output, then free */
    bool refusing;          /* over the connection limit: 421 and close */
    bool per_ip;            /* counted against smtp.max_connections_per_ip */
    char ipkey[64];         /* the address the per-IP cap counts (IPv6: its /64) */
    struct event *close_ev; /* TLS: polls until the encrypted output is out, then frees */
    int close_polls;
    /* deadlines (monotonic ms, 0 = not running) and the timer armed for the nearer one */
    struct event *deadline_ev;
    int64_t cmd_due, txn_due, armed_due;
    size_t cmd_mark; /* the session's command count when cmd_due was set; SIZE_MAX = none */
};

/* One entry of smtp.connection_limit_exempt: an address and a prefix length. */
struct exempt {
    int family;
    unsigned char a[16];
    int bits;
};

struct smtp_server {
    struct event_base *base;
    struct spool *spool;
    void (*on_spooled)(void *ud, const char *id, const char *proto);
    void *ud;

    /* settings copied from the config; reloadable ones are replaced by smtp_server_reload */
    char hostname[SMTP_HOSTNAME_MAX];
    char *domains;
    size_t max_size, max_rcpts, max_cmds, max_conns, max_per_ip;
    struct timeval idle;
    int64_t cmd_ms, txn_ms; /* smtp.command_deadline, smtp.transaction_deadline */
    struct exempt exempt[SMTP_EXEMPT_MAX];
    size_t nexempt;

    struct evconnlistener *lis[2]; /* [0] SMTP, [1] LMTP */
    char addr[2][SMTP_ADDR_MAX];
    char *unix_path;
    SSL_CTX *ssl;

    struct conn *conns;
    size_t nconns;  /* sessions, refused ones excluded */
    size_t naccept; /* counters */
    size_t nmsgs;
    bool draining;

    /* writers: jobs in, completions out */
    pthread_t *thr;
    int nthr;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *jq_head, *jq_tail;
    bool stop;
    pthread_mutex_t dmu;
    struct job *dq_head, *dq_tail;
    struct event *done_ev;
};

static bnc_status listen_on(struct smtp_server *s, const char *spec, int idx, char *err,
                            size_t errlen);
static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *ud);
static void accept_error_cb(struct evconnlistener *l, void *ud);
static void read_cb(struct bufferevent *bev, void *ud);
static void write_cb(struct bufferevent *bev, void *ud);
static void event_cb(struct bufferevent *bev, short what, void *ud);
static void conn_pump(struct conn *c);
static void conn_flush(struct conn *c);
static void conn_close_when_flushed(struct conn *c);
static void conn_free(struct conn *c);
static size_t conn_pending_out(struct conn *c);
static void close_poll_cb(evutil_socket_t fd, short what, void *ud);
static void conn_starttls(struct conn *c);
static void conn_submit(struct conn *c);
static void conn_refuse(struct conn *c, const char *why, const char *reason, size_t limit);
static bool conn_over_ip_limit(struct conn *c, const struct sockaddr *sa);
static void conn_deadlines(struct conn *c);
static void deadline_cb(evutil_socket_t fd, short what, void *ud);
static void exempt_parse(struct smtp_server *s, const char *list);
static void *writer_main(void *arg);
static void done_cb(evutil_socket_t fd, short what, void *ud);
static void job_free(struct job *j);
static void apply_cfg(struct smtp_server *s, const struct bnc_config *cfg);
static bnc_status tls_init(struct smtp_server *s, const struct bnc_config *cfg, char *err,
                           size_t errlen);

bnc_status
smtp_server_start(const struct smtp_server_opts *o, struct smtp_server **out, char *err,
                  size_t errlen)
{
    const struct bnc_config *cfg = o->cfg;
    struct smtp_server *s;
    bnc_status rc;
    int i;

    *out = NULL;
    s = xcalloc(1, sizeof(*s));
    s->base = o->base;
    s->spool = o->spool;
    s->on_spooled = o->on_spooled;
    s->ud = o->ud;
    if (cfg->smtp_hostname != NULL && cfg->smtp_hostname[0] != '\0') {
        snprintf(s->hostname, sizeof(s->hostname), "%s", cfg->smtp_hostname);
    } else if (gethostname(s->hostname, sizeof(s->hostname) - 1) != 0 || s->hostname[0] == 0) {
        snprintf(s->hostname, sizeof(s->hostname), "localhost");
    }
    apply_cfg(s, cfg);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->dmu, NULL);
    s->done_ev = event_new(s->base, -1, EV_PERSIST | EV_READ, done_cb, s);

    if ((rc = tls_init(s, cfg, err, errlen)) != BNC_OK) {
        smtp_server_free(s);
        return rc;
    }
    if (cfg->smtp_listen != NULL && cfg->smtp_listen[0] != '\0' &&
        (rc = listen_on(s, cfg->smtp_listen, 0, err, errlen)) != BNC_OK) {
        smtp_server_free(s);
        return rc;
    }
    if (cfg->smtp_lmtp_listen != NULL && cfg->smtp_lmtp_listen[0] != '\0' &&
        (rc = listen_on(s, cfg->smtp_lmtp_listen, 1, err, errlen)) != BNC_OK) {
        smtp_server_free(s);
        return rc;
    }
    s->nthr = o->writers > 0 ? o->writers : SMTP_WRITERS_DEF;
    s->thr = xcalloc((size_t)s->nthr, sizeof(*s->thr));
    for (i = 0; i < s->nthr; i++) {
        if (pthread_create(&s->thr[i], NULL, writer_main, s) != 0) {
            snprintf(err, errlen, "smtp: cannot start spool writer threads");
            s->nthr = i;
            smtp_server_free(s);
            return BNC_EINTERNAL;
        }
    }
    metrics_describe("bounced_smtp_connections_total", "SMTP/LMTP connections accepted");
    metrics_describe("bounced_smtp_messages_total", "messages spooled (250 sent)");
    metrics_describe("bounced_smtp_sessions", "open SMTP/LMTP sessions");
    *out = s;
    return BNC_OK;
}

const char *
smtp_server_address(const struct smtp_server *s, bool lmtp)
{
    return s->addr[lmtp ? 1 : 0];
}

void
smtp_server_reload(struct smtp_server *s, const struct bnc_config *cfg)
{
    apply_cfg(s, cfg);
}

void
smtp_server_drain(struct smtp_server *s)
{
    struct conn *c, *next;
    int i;

    s->draining = true;
    for (i = 0; i < 2; i++) {
        if (s->lis[i] != NULL) {
            evconnlistener_free(s->lis[i]);
            s->lis[i] = NULL;
        }
    }
    for (c = s->conns; c != NULL; c = next) {
        next = c->next;
        if (!c->pending && !c->closing && !smtp_session_in_transaction(c->sess)) {
            smtp_session_shutdown(c->sess);
            conn_flush(c);
            conn_close_when_flushed(c);
        }
    }
}

size_t
smtp_server_sessions(const struct smtp_server *s)
{
    size_t n = 0;
    const struct conn *c;

    for (c = s->conns; c != NULL; c = c->next) {
        n++;
    }
    return n;
}

void
smtp_server_close_all(struct smtp_server *s)
{
    struct conn *c, *next;

    for (c = s->conns; c != NULL; c = next) {
        next = c->next;
        if (c->pending) {
            /* a writer still holds its job: done_cb frees the connection when it returns */
            c->dead = true;
            c->closing = true;
            bufferevent_disable(c->bev, EV_READ | EV_WRITE);
            continue;
        }
        if (!c->closing) {
            smtp_session_shutdown(c->sess);
            conn_flush(c);
        }
        conn_free(c);
    }
}

void
smtp_server_free(struct smtp_server *s)
{
    int i;

    if (s == NULL) {
        return;
    }
    for (i = 0; i < 2; i++) {
        if (s->lis[i] != NULL) {
            evconnlistener_free(s->lis[i]);
        }
    }
    /* finish queued writes: their messages are durable even if no one hears the 250 */
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (i = 0; i < s->nthr; i++) {
        pthread_join(s->thr[i], NULL);
    }
    free(s->thr);
    if (s->done_ev != NULL) {
        done_cb(-1, 0, s); /* free completed jobs and their dead connections */
        event_free(s->done_ev);
    }
    s->draining = true;
    smtp_server_close_all(s);
    if (s->unix_path != NULL) {
        (void)unlink(s->unix_path);
        free(s->unix_path);
    }
    if (s->ssl != NULL) {
        SSL_CTX_free(s->ssl);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->dmu);
    free(s->domains);
    free(s);
}

size_t
smtp_server_accepted_total(const struct smtp_server *s)
{
    return s->naccept;
}

size_t
smtp_server_messages_total(const struct smtp_server *s)
{
    return s->nmsgs;
}

/* ---- statics: setup ---- */

static void
apply_cfg(struct smtp_server *s, const struct bnc_config *cfg)
{
    free(s->domains);
    s->domains = xstrdup(cfg->smtp_domains != NULL ? cfg->smtp_domains : "");
    s->max_size = cfg->smtp_max_size;
    s->max_rcpts = cfg->smtp_max_rcpts > 0 ? (size_t)cfg->smtp_max_rcpts : 1;
    s->max_cmds = cfg->smtp_max_cmds > 0 ? (size_t)cfg->smtp_max_cmds : 1;
    s->max_conns = cfg->smtp_max_conns > 0 ? (size_t)cfg->smtp_max_conns : 1;
    s->idle.tv_sec = cfg->smtp_idle > 0 ? (time_t)cfg->smtp_idle : 300;
    s->idle.tv_usec = 0;
    s->cmd_ms = (cfg->smtp_cmd_deadline > 0 ? cfg->smtp_cmd_deadline : 300) * 1000;
    s->txn_ms = (cfg->smtp_txn_deadline > 0 ? cfg->smtp_txn_deadline : 600) * 1000;
    s->max_per_ip = cfg->smtp_max_per_ip > 0 ? (size_t)cfg->smtp_max_per_ip : 0;
    exempt_parse(s, cfg->smtp_per_ip_exempt != NULL ? cfg->smtp_per_ip_exempt : "");
}

/* smtp.connection_limit_exempt: "ADDR[/BITS], ..."; an entry that does not parse is logged
 * and skipped (the cap then applies to it, the safe side). */
static void
exempt_parse(struct smtp_server *s, const char *list)
{
    const char *p = list;

    s->nexempt = 0;
    while (*p != '\0' && s->nexempt < SMTP_EXEMPT_MAX) {
        char tok[INET6_ADDRSTRLEN + 8], *slash;
        struct exempt *e = &s->exempt[s->nexempt];
        size_t n = strcspn(p, ", \t");
        long bits;

        if (n == 0) {
            p++;
            continue;
        }
        snprintf(tok, sizeof(tok), "%.*s", (int)(n < sizeof(tok) ? n : sizeof(tok) - 1), p);
        p += n;
        slash = strchr(tok, '/');
        if (slash != NULL) {
            *slash++ = '\0';
        }
        memset(e, 0, sizeof(*e));
        e->family = strchr(tok, ':') != NULL ? AF_INET6 : AF_INET;
        bits = slash != NULL ? strtol(slash, NULL, 10) : (e->family == AF_INET6 ? 128 : 32);
        if (inet_pton(e->family, tok, e->a) != 1 || bits < 0 ||
            bits > (e->family == AF_INET6 ? 128 : 32)) {
            log_warnx("smtp.connection_limit_exempt: '%s' is not an address or prefix", tok);
            continue;
        }
        e->bits = (int)bits;
        s->nexempt++;
    }
}

static bnc_status
tls_init(struct smtp_server *s, const struct bnc_config *cfg, char *err, size_t errlen)
{
    unsigned long e;

    if (cfg->smtp_tls_cert == NULL || cfg->smtp_tls_cert[0] == '\0') {
        return BNC_OK;
    }
    s->ssl = SSL_CTX_new(TLS_server_method());
    if (s->ssl == NULL) {
        snprintf(err, errlen, "smtp: cannot create a TLS context");
        return BNC_EINTERNAL;
    }
    SSL_CTX_set_min_proto_version(s->ssl, TLS1_2_VERSION);
    SSL_CTX_set_options(s->ssl, SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(s->ssl, cfg->smtp_tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(s->ssl,
                                    cfg->smtp_tls_key != NULL && cfg->smtp_tls_key[0] != '\0'
                                        ? cfg->smtp_tls_key
                                        : cfg->smtp_tls_cert,
                                    SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(s->ssl) != 1) {
        e = ERR_get_error();
        snprintf(err, errlen, "smtp: TLS certificate/key %s: %s", cfg->smtp_tls_cert,
                 e ? ERR_reason_error_string(e) : "unusable");
        return BNC_ECONFIG;
    }
    return BNC_OK;
}

/* LMTP on a Unix socket ("unix:/path"). */
static bnc_status
listen_unix(struct smtp_server *s, const char *spec, int idx, char *err, size_t errlen)
{
    const unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC;
    struct sockaddr_un un;
    const char *path = spec + 5;

    if (idx != 1) {
        snprintf(err, errlen, "smtp.listen: a Unix socket is for LMTP only");
        return BNC_ECONFIG;
    }
    if (strlen(path) == 0 || strlen(path) >= sizeof(un.sun_path)) {
        snprintf(err, errlen, "smtp.lmtp_listen: bad socket path '%s'", path);
        return BNC_ECONFIG;
    }
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    memcpy(un.sun_path, path, strlen(path) + 1);
    (void)unlink(path); /* a stale socket of an earlier run */
    s->lis[idx] = evconnlistener_new_bind(s->base, accept_cb, s, flags, 128, (struct sockaddr *)&un,
                                          sizeof(un));
    if (s->lis[idx] == NULL) {
        snprintf(err, errlen, "smtp: cannot listen on %s: %s", spec, strerror(errno));
        return BNC_EIO;
    }
    /* the MTA in front (e.g. Postfix's lmtp client) runs as another user */
    (void)chmod(path, 0666);
    s->unix_path = xstrdup(path);
    snprintf(s->addr[idx], sizeof(s->addr[idx]), "unix:%s", path);
    evconnlistener_set_error_cb(s->lis[idx], accept_error_cb);
    return BNC_OK;
}

static bnc_status
listen_on(struct smtp_server *s, const char *spec, int idx, char *err, size_t errlen)
{
    const unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    char host[256], port[16];
    const char *colon;
    struct addrinfo hints, *res = NULL;
    int gai;

    if (strncmp(spec, "unix:", 5) == 0) {
        return listen_unix(s, spec, idx, err, errlen);
    }

    colon = strrchr(spec, ':');
    if (colon == NULL || colon == spec || strlen(colon + 1) == 0 ||
        strlen(colon + 1) >= sizeof(port) || (size_t)(colon - spec) >= sizeof(host)) {
        snprintf(err, errlen, "smtp: bad listen address '%s' (want host:port)", spec);
        return BNC_ECONFIG;
    }
    if (spec[0] == '[' && colon[-1] == ']') {
        memcpy(host, spec + 1, (size_t)(colon - spec) - 2);
        host[colon - spec - 2] = '\0';
    } else {
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
    }
    snprintf(port, sizeof(port), "%s", colon + 1);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((gai = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res)) != 0 ||
        res == NULL) {
        snprintf(err, errlen, "smtp: listen address '%s': %s", spec, gai_strerror(gai));
        return BNC_ECONFIG;
    }
    s->lis[idx] = evconnlistener_new_bind(s->base, accept_cb, s, flags, 511, res->ai_addr,
                                          (int)res->ai_addrlen);
    freeaddrinfo(res);
    if (s->lis[idx] == NULL) {
        snprintf(err, errlen, "smtp: cannot listen on %s: %s", spec, strerror(errno));
        return BNC_EIO;
    }
    evconnlistener_set_error_cb(s->lis[idx], accept_error_cb);
    /* report the port actually bound (port 0 = any free port, used by the tests) */
    if (getsockname(evconnlistener_get_fd(s->lis[idx]), (struct sockaddr *)&ss, &sslen) == 0) {
        char a[INET6_ADDRSTRLEN];
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a6->sin6_addr, a, sizeof(a));
            snprintf(s->addr[idx], sizeof(s->addr[idx]), "[%s]:%u", a,
                     (unsigned)ntohs(a6->sin6_port));
        } else {
            struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a4->sin_addr, a, sizeof(a));
            snprintf(s->addr[idx], sizeof(s->addr[idx]), "%s:%u", a, (unsigned)ntohs(a4->sin_port));
        }
    } else {
        snprintf(s->addr[idx], sizeof(s->addr[idx]), "%s", spec);
    }
    return BNC_OK;
}

/* ---- statics: connections ---- */

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *ud)
{
    struct smtp_server *s = ud;
    struct smtp_session_opts so;
    struct conn *c;

    c = xcalloc(1, sizeof(*c));
    c->srv = s;
    c->lmtp = l == s->lis[1];
    if (sa->sa_family == AF_INET && (size_t)salen >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in a4;
        memcpy(&a4, sa, sizeof(a4));
        inet_ntop(AF_INET, &a4.sin_addr, c->peer, sizeof(c->peer));
    } else if (sa->sa_family == AF_INET6 && (size_t)salen >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 a6;
        memcpy(&a6, sa, sizeof(a6));
        inet_ntop(AF_INET6, &a6.sin6_addr, c->peer, sizeof(c->peer));
    } else {
        snprintf(c->peer, sizeof(c->peer), "local");
    }
    memset(&so, 0, sizeof(so));
    so.hostname = s->hostname;
    so.domains = s->domains;
    so.max_size = s->max_size;
    so.max_rcpts = s->max_rcpts;
    so.max_cmds = s->max_cmds;
    so.lmtp = c->lmtp;
    so.tls_offered = s->ssl != NULL;
    c->sess = smtp_session_new(&so);
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        evutil_closesocket(fd);
        smtp_session_free(c->sess);
        free(c);
        return;
    }
    /* link first: every later exit path goes through conn_free() */
    c->next = s->conns;
    if (s->conns != NULL) {
        s->conns->prev = c;
    }
    s->conns = c;
    s->naccept++;
    metrics_counter_add("bounced_smtp_connections_total",
                        c->lmtp ? "proto=\"lmtp\"" : "proto=\"smtp\"", 1);
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, SMTP_READ_HIGH);
    bufferevent_set_timeouts(c->bev, &s->idle, &s->idle);
    if (s->nconns >= s->max_conns || s->draining) {
        conn_refuse(c, "too many connections", "max_connections", s->max_conns);
        return;
    }
    if (conn_over_ip_limit(c, sa)) {
        conn_refuse(c, "too many connections from your address", "max_connections_per_ip",
                    s->max_per_ip);
        return;
    }
    s->nconns++;
    metrics_gauge_set("bounced_smtp_sessions", NULL, (int64_t)s->nconns);
    log_debug("event=connect peer=%s proto=%s", c->peer, c->lmtp ? "lmtp" : "smtp");
    c->cmd_mark = SIZE_MAX;
    c->deadline_ev = evtimer_new(s->base, deadline_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    smtp_session_greet(c->sess);
    conn_flush(c);
    conn_deadlines(c);
}

/* 421 at accept, then close: the connection never becomes a session. */
static void
conn_refuse(struct conn *c, const char *why, const char *reason, size_t limit)
{
    struct smtp_server *s = c->srv;
    char r[SMTP_HOSTNAME_MAX + 96];

    c->refusing = true;
    c->per_ip = false;
    snprintf(r, sizeof(r), "421 4.7.0 %s Error: %s, try again later", s->hostname, why);
    smtp_session_refuse(c->sess, r);
    log_info("event=refused peer=%s reason=%s limit=%zu", c->peer, reason, limit);
    bufferevent_enable(c->bev, EV_WRITE);
    conn_flush(c);
    conn_close_when_flushed(c);
}

static bool
exempt_match(const struct exempt *e, int family, const unsigned char *a)
{
    int full = e->bits / 8, rest = e->bits % 8;

    if (e->family != family || memcmp(e->a, a, (size_t)full) != 0) {
        return false;
    }
    return rest == 0 || ((e->a[full] ^ a[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* Key the connection by its client address (IPv6 by its /64) and say whether one more from
 * it passes smtp.max_connections_per_ip. Unix sockets and exempt addresses are not counted.
 * A linear walk of the open sessions: at most smtp.max_connections, only at accept. */
static bool
conn_over_ip_limit(struct conn *c, const struct sockaddr *sa)
{
    struct smtp_server *s = c->srv;
    unsigned char a[16];
    int family = sa->sa_family;
    const struct conn *o;
    size_t i, n = 0;

    if (s->max_per_ip == 0 || (family != AF_INET && family != AF_INET6)) {
        return false;
    }
    if (family == AF_INET) {
        struct sockaddr_in a4;
        memcpy(&a4, sa, sizeof(a4));
        memcpy(a, &a4.sin_addr, 4);
    } else {
        struct sockaddr_in6 a6;
        memcpy(&a6, sa, sizeof(a6));
        memcpy(a, &a6.sin6_addr, 16);
        if (IN6_IS_ADDR_V4MAPPED(&a6.sin6_addr)) {
            /* an IPv4 client of a dual-stack listener: its own address, not the /64 that
             * every IPv4 client would share */
            family = AF_INET;
            memmove(a, a + 12, 4);
        }
    }
    for (i = 0; i < s->nexempt; i++) {
        if (exempt_match(&s->exempt[i], family, a)) {
            return false;
        }
    }
    if (family == AF_INET6) {
        memset(a + 8, 0, 8);
    }
    (void)inet_ntop(family, a, c->ipkey, sizeof(c->ipkey));
    for (o = s->conns; o != NULL; o = o->next) {
        if (o != c && o->per_ip && strcmp(o->ipkey, c->ipkey) == 0) {
            n++;
        }
    }
    c->per_ip = true;
    return n >= s->max_per_ip;
}

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Start, keep or stop the deadlines for the session's state, and arm the timer for the
 * nearer one. Called after every change of turn (reply sent, message back from the spool). */
static void
conn_deadlines(struct conn *c)
{
    struct smtp_server *s = c->srv;
    int64_t now, due;
    size_t mark;

    if (c->deadline_ev == NULL) {
        return;
    }
    if (c->pending || c->closing) {
        c->cmd_mark = SIZE_MAX; /* the next command's clock starts after our reply */
        c->armed_due = 0;
        evtimer_del(c->deadline_ev);
        return;
    }
    now = mono_ms();
    if (!smtp_session_in_transaction(c->sess)) {
        c->txn_due = 0;
    } else if (c->txn_due == 0) {
        c->txn_due = now + s->txn_ms;
    }
    if (smtp_session_in_data(c->sess)) {
        c->cmd_due = 0; /* the data is bounded by the transaction deadline */
        c->cmd_mark = SIZE_MAX;
    } else if ((mark = smtp_session_commands(c->sess)) != c->cmd_mark) {
        c->cmd_mark = mark;
        c->cmd_due = now + s->cmd_ms;
    }
    due = c->cmd_due;
    if (c->txn_due != 0 && (due == 0 || c->txn_due < due)) {
        due = c->txn_due;
    }
    if (due == c->armed_due) {
        return;
    }
    c->armed_due = due;
    if (due == 0) {
        evtimer_del(c->deadline_ev);
    } else {
        struct timeval tv;
        int64_t left = due > now ? due - now : 0;
        tv.tv_sec = (time_t)(left / 1000);
        tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
        evtimer_add(c->deadline_ev, &tv);
    }
}

static void
deadline_cb(evutil_socket_t fd, short what, void *ud)
{
    struct conn *c = ud;
    int64_t now = mono_ms();
    bool cmd, txn;
    (void)fd;
    (void)what;

    c->armed_due = 0;
    if (c->closing || c->pending) {
        return;
    }
    cmd = c->cmd_due != 0 && now >= c->cmd_due;
    txn = c->txn_due != 0 && now >= c->txn_due;
    if (!cmd && !txn) {
        conn_deadlines(c); /* woken early: arm again */
        return;
    }
    log_info("event=deadline peer=%s kind=%s commands=%zu", c->peer,
             txn ? "transaction" : "command", smtp_session_commands(c->sess));
    smtp_session_timeout(c->sess);
    conn_flush(c);
    conn_close_when_flushed(c);
}

static void
accept_error_cb(struct evconnlistener *l, void *ud)
{
    (void)l;
    (void)ud;
    /* EMFILE and friends: the listener retries on the next readiness */
    log_warn("event=accept_failed");
}

static void
read_cb(struct bufferevent *bev, void *ud)
{
    (void)bev;
    conn_pump(ud);
}

static void
write_cb(struct bufferevent *bev, void *ud)
{
    struct conn *c = ud;

    (void)bev;
    if (c->closing && !c->pending && c->close_ev == NULL && conn_pending_out(c) == 0) {
        conn_free(c);
    }
}

static void
event_cb(struct bufferevent *bev, short what, void *ud)
{
    struct conn *c = ud;
    (void)bev;

    if (what & BEV_EVENT_CONNECTED) {
        /* the STARTTLS handshake finished */
        log_debug("event=tls peer=%s", c->peer);
        smtp_session_tls_on(c->sess);
        conn_pump(c);
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && !(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
        if (c->pending) {
            /* a writer holds this connection's message: done_cb decides */
            if (c->closing || (what & BEV_EVENT_WRITING)) {
                c->dead = true;
                c->closing = true;
                bufferevent_disable(bev, EV_READ | EV_WRITE);
            }
            return;
        }
        if (c->closing || (what & BEV_EVENT_WRITING)) {
            conn_free(c); /* the client does not read what we write */
            return;
        }
        log_info("event=timeout peer=%s", c->peer);
        smtp_session_timeout(c->sess);
        conn_flush(c);
        conn_close_when_flushed(c);
        return;
    }
    /* EOF or error */
    if (c->pending) {
        c->dead = true;
        c->closing = true;
        bufferevent_disable(bev, EV_READ | EV_WRITE);
        return;
    }
    conn_free(c);
}

/* Feed buffered input to the session until it needs more, or waits for us. */
static void
conn_pump(struct conn *c)
{
    struct smtp_server *s = c->srv;
    struct evbuffer *in = bufferevent_get_input(c->bev);

    while (!c->pending && !c->closing) {
        struct evbuffer_iovec v;
        enum smtp_session_event ev;
        size_t used = 0;

        if (evbuffer_get_length(in) == 0) {
            break;
        }
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) {
            break;
        }
        ev = smtp_session_feed(c->sess, v.iov_base, v.iov_len, &used);
        evbuffer_drain(in, used);
        conn_flush(c);
        if (ev == SMTP_EV_MESSAGE) {
            conn_submit(c);
        } else if (ev == SMTP_EV_STARTTLS) {
            conn_deadlines(c); /* the handshake is part of the STARTTLS command's turn */
            conn_starttls(c);
            return;
        } else if (ev == SMTP_EV_CLOSE) {
            conn_close_when_flushed(c);
            return;
        }
    }
    conn_deadlines(c);
    if (s->draining && !c->pending && !c->closing && !smtp_session_in_transaction(c->sess)) {
        smtp_session_shutdown(c->sess);
        conn_flush(c);
        conn_close_when_flushed(c);
    }
}

static void
conn_flush(struct conn *c)
{
    size_t n;
    const char *p = smtp_session_output(c->sess, &n);

    if (n > 0) {
        bufferevent_write(c->bev, p, n);
        smtp_session_output_done(c->sess, n);
    }
}

/* Close once the replies are out; frees now when there is nothing left to write. */
static void
conn_close_when_flushed(struct conn *c)
{
    struct timeval tick = {0, 20000};

    c->closing = true;
    bufferevent_disable(c->bev, EV_READ);
    if (c->pending) {
        return;
    }
    if (conn_pending_out(c) == 0) {
        conn_free(c);
        return;
    }
    /* A TLS filter hands its output to the socket bufferevent below it at once, so its own
     * write callback cannot tell when the bytes are out: poll (bounded, about 5 s). */
    if (bufferevent_get_underlying(c->bev) != NULL && c->close_ev == NULL) {
        c->close_ev = evtimer_new(c->srv->base, close_poll_cb, c);
        if (c->close_ev != NULL) {
            evtimer_add(c->close_ev, &tick);
        }
    }
}

/* Bytes not yet handed to the kernel, including those under a TLS filter. */
static size_t
conn_pending_out(struct conn *c)
{
    struct bufferevent *u = bufferevent_get_underlying(c->bev);
    size_t n = evbuffer_get_length(bufferevent_get_output(c->bev));

    if (u != NULL) {
        n += evbuffer_get_length(bufferevent_get_output(u));
    }
    return n;
}

static void
close_poll_cb(evutil_socket_t fd, short what, void *ud)
{
    struct conn *c = ud;
    struct timeval tick = {0, 20000};
    (void)fd;
    (void)what;

    if (conn_pending_out(c) == 0 || ++c->close_polls > 250) {
        conn_free(c);
        return;
    }
    evtimer_add(c->close_ev, &tick);
}

static void
conn_free(struct conn *c)
{
    struct smtp_server *s = c->srv;

    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else if (s->conns == c) {
        s->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    if (!c->refusing && s->nconns > 0) {
        s->nconns--;
        metrics_gauge_set("bounced_smtp_sessions", NULL, (int64_t)s->nconns);
    }
    log_debug("event=disconnect peer=%s commands=%zu messages=%zu", c->peer,
              smtp_session_commands(c->sess), smtp_session_accepted(c->sess));
    if (c->close_ev != NULL) {
        event_free(c->close_ev);
    }
    if (c->deadline_ev != NULL) {
        event_free(c->deadline_ev);
    }
    bufferevent_free(c->bev);
    smtp_session_free(c->sess);
    free(c);
}

static void
conn_starttls(struct conn *c)
{
    struct smtp_server *s = c->srv;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct bufferevent *tb;
    SSL *ssl;

    /* RFC 3207 6: anything pipelined after STARTTLS was sent in clear: drop it */
    evbuffer_drain(in, evbuffer_get_length(in));
    ssl = SSL_new(s->ssl);
    if (ssl == NULL) {
        conn_close_when_flushed(c);
        return;
    }
    tb = bufferevent_openssl_filter_new(s->base, c->bev, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                        BEV_OPT_CLOSE_ON_FREE);
    if (tb == NULL) {
        SSL_free(ssl);
        conn_close_when_flushed(c);
        return;
    }
    c->bev = tb;
    bufferevent_setcb(tb, read_cb, write_cb, event_cb, c);
    bufferevent_setwatermark(tb, EV_READ, 0, SMTP_READ_HIGH);
    bufferevent_set_timeouts(tb, &s->idle, &s->idle);
    bufferevent_enable(tb, EV_READ | EV_WRITE);
}

/* Hand the finished message to a spool writer; the session waits until it comes back. */
static void
conn_submit(struct conn *c)
{
    struct smtp_server *s = c->srv;
    struct smtp_envelope env;
    const char *m;
    struct job *j;
    size_t i;

    j = xcalloc(1, sizeof(*j));
    j->c = c;
    m = smtp_session_message(c->sess, &j->len);
    j->data = xmalloc(j->len + 1);
    memcpy(j->data, m, j->len);
    j->data[j->len] = '\0';
    smtp_session_envelope(c->sess, &env);
    j->helo = xstrdup(env.helo);
    j->from = xstrdup(env.mail_from);
    j->peer = xstrdup(c->peer);
    j->nrcpts = env.nrcpts;
    j->rcpts = xcalloc(env.nrcpts ? env.nrcpts : 1, sizeof(*j->rcpts));
    for (i = 0; i < env.nrcpts; i++) {
        j->rcpts[i] = xstrdup(env.rcpts[i]);
    }
    j->proto = c->lmtp
                   ? "LMTP"
                   : (env.tls ? (env.esmtp ? "ESMTPS" : "SMTPS") : (env.esmtp ? "ESMTP" : "SMTP"));
    /* Reading goes on (bounded by SMTP_READ_HIGH), but nothing more is fed to the session
     * until the message is durable: pipelined commands wait in the input buffer. */
    c->pending = true;

    pthread_mutex_lock(&s->mu);
    if (s->jq_tail != NULL) {
        s->jq_tail->next = j;
    } else {
        s->jq_head = j;
    }
    s->jq_tail = j;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---- statics: spool writers ---- */

static void *
writer_main(void *arg)
{
    struct smtp_server *s = arg;
    struct spool_envelope *envs = xcalloc(SMTP_BATCH_MAX, sizeof(*envs));
    struct spool_msg *msgs = xcalloc(SMTP_BATCH_MAX, sizeof(*msgs));
    struct job **jobs = xcalloc(SMTP_BATCH_MAX, sizeof(*jobs));

    (void)pthread_setname_np(pthread_self(), "bnc-spool");

    for (;;) {
        size_t n = 0, i;

        /* take everything waiting (up to a batch): one group commit for all of it */
        pthread_mutex_lock(&s->mu);
        while (s->jq_head == NULL && !s->stop) {
            pthread_cond_wait(&s->cv, &s->mu);
        }
        while (s->jq_head != NULL && n < SMTP_BATCH_MAX) {
            jobs[n++] = s->jq_head;
            s->jq_head = s->jq_head->next;
        }
        if (s->jq_head == NULL) {
            s->jq_tail = NULL;
        }
        pthread_mutex_unlock(&s->mu);
        if (n == 0) {
            break;
        }

        for (i = 0; i < n; i++) {
            struct job *j = jobs[i];
            j->next = NULL;
            memset(&envs[i], 0, sizeof(envs[i]));
            envs[i].proto = j->proto;
            envs[i].helo = j->helo;
            envs[i].peer = j->peer;
            envs[i].hostname = s->hostname;
            envs[i].mail_from = j->from;
            envs[i].rcpts = (const char *const *)j->rcpts;
            envs[i].nrcpts = j->nrcpts;
            memset(&msgs[i], 0, sizeof(msgs[i]));
            msgs[i].env = &envs[i];
            msgs[i].data = j->data;
            msgs[i].len = j->len;
        }
        spool_write_batch(s->spool, msgs, n);
        for (i = 0; i < n; i++) {
            struct job *j = jobs[i];
            j->ok = msgs[i].rc == BNC_OK;
            memcpy(j->id, msgs[i].id, sizeof(j->id));
            if (!j->ok) {
                log_warnx("event=spool_write_failed peer=%s", j->peer);
            } else if (s->on_spooled != NULL) {
                s->on_spooled(s->ud, j->id, strcmp(j->proto, "LMTP") == 0 ? "lmtp" : "smtp");
            }
            free(j->data); /* the message is on disk now; only the reply is left */
            j->data = NULL;
        }

        pthread_mutex_lock(&s->dmu);
        for (i = 0; i < n; i++) {
            if (s->dq_tail != NULL) {
                s->dq_tail->next = jobs[i];
            } else {
                s->dq_head = jobs[i];
            }
            s->dq_tail = jobs[i];
        }
        pthread_mutex_unlock(&s->dmu);
        event_active(s->done_ev, EV_READ, 0);
    }
    free(envs);
    free(msgs);
    free(jobs);
    return NULL;
}

/* On the loop: completed spool writes become 250 (or 451) replies. */
static void
done_cb(evutil_socket_t fd, short what, void *ud)
{
    struct smtp_server *s = ud;
    struct job *j;
    (void)fd;
    (void)what;

    pthread_mutex_lock(&s->dmu);
    j = s->dq_head;
    s->dq_head = s->dq_tail = NULL;
    pthread_mutex_unlock(&s->dmu);
    while (j != NULL) {
        struct job *next = j->next;
        struct conn *c = j->c;

        c->pending = false;
        if (j->ok) {
            char h[16];
            s->nmsgs++;
            metrics_counter_add("bounced_smtp_messages_total",
                                c->lmtp ? "proto=\"lmtp\"" : "proto=\"smtp\"", 1);
            log_addr_hash(j->nrcpts > 0 ? j->rcpts[0] : "", h);
            log_info("event=queued id=%s proto=%s peer=%s null_sender=%s rcpts=%zu rcpt=%s", j->id,
                     c->lmtp ? "lmtp" : "smtp", c->peer, j->from[0] ? "no" : "yes", j->nrcpts, h);
        }
        if (c->dead) {
            /* the client is gone (or we are closing everything); the message stays spooled */
            conn_free(c);
        } else {
            smtp_session_deliver(c->sess, j->ok, j->id);
            conn_flush(c);
            bufferevent_enable(c->bev, EV_READ);
            conn_pump(c);
        }
        job_free(j);
        j = next;
    }
}

static void
job_free(struct job *j)
{
    size_t i;

    for (i = 0; i < j->nrcpts; i++) {
        free(j->rcpts[i]);
    }
    free(j->rcpts);
    free(j->data);
    free(j->helo);
    free(j->from);
    free(j->peer);
    free(j);
}
