/*
 * smtp_session.c - the server side of SMTP and LMTP as a pure state machine.
 *
 * Bytes in, replies and events out: no sockets, no clock, no files. The listener (smtp.c)
 * feeds what it reads, writes what the session queues, and acts on the events (spool a
 * message, start TLS, close). Everything a client can send is bounded here, so the fuzz target
 * (tests/fuzz/fuzz_smtp_session.c) drives this file alone.
 *
 * Doesn't: relay (a recipient outside smtp.domains gets 550 5.7.1), authenticate, announce DSN,
 * SMTPUTF8, CHUNKING or BINARYMIME, or interpret the message (that is parse/).
 *
 * STANDARDS: RFC 5321 (SMTP: 4.1 commands, 4.1.1.4 DATA and 4.5.2 dot-stuffing, 4.2 replies,
 * 4.5.1 postmaster, 4.5.3.1 size limits), RFC 2033 (LMTP: LHLO, one reply per recipient after
 * the data), RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 2920 (PIPELINING), RFC 2034 and
 * RFC 3463 (enhanced status codes), RFC 3207 (STARTTLS: input after the command is discarded
 * by the caller, the session forgets the EHLO state once TLS is on).
 *
 * LIMITS: command line 512 octets with CRLF (RFC 5321 4.5.3.1.4) and text line 1000 octets
 * (4.5.3.1.6), both 500 5.5.2; message size (smtp.max_message_size; 552 5.3.4 on a SIZE=
 * declaration; when the data passes it, 552 5.3.4 at once and the connection is closed:
 * reading on to the final dot would let a client stream without end, and nothing is
 * delivered); recipients per
 * transaction (smtp.max_recipients; 452 4.5.3); commands per connection (smtp.max_commands;
 * 421 4.7.0 and close); a path is at most 256 octets (4.5.3.1.3) and the HELO name 255. The end
 * of data is only <CRLF>.<CRLF>: a dot line ending in a bare LF, or following one, is data
 * (the SMTP smuggling defence), while other lines may end in a bare LF.
 *
 * Ownership: the session owns its line buffer, the message buffer (freed or reused per
 * transaction), the envelope strings and the output buffer.
 */
#include "ingest/smtp_session.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/xmalloc.h"

#define SMTP_PATH_MAX 256
#define SMTP_HELO_MAX 255

enum sess_state {
    ST_START = 0, /* greeted, no HELO yet */
    ST_READY,     /* HELO/EHLO/LHLO seen, no transaction */
    ST_MAIL,      /* MAIL accepted */
    ST_RCPT,      /* at least one RCPT accepted */
    ST_DATA,      /* receiving the message */
    ST_DELIVER,   /* message handed to the caller, waiting for smtp_session_deliver() */
    ST_TLS,       /* STARTTLS accepted, waiting for smtp_session_tls_on() */
    ST_CLOSED
};

enum data_err { DATA_OK = 0, DATA_LINE_TOO_LONG };

struct smtp_session {
    struct smtp_session_opts o;
    enum sess_state st;
    bool esmtp;
    bool tls;
    bool closing;
    char helo[SMTP_HELO_MAX + 1];
    char *mail_from;
    char **rcpts;
    size_t nrcpts;
    size_t ncmds;
    size_t accepted;
    size_t refused;

    /* the line being assembled: up to SMTP_SESSION_TEXT_LINE_MAX octets (LF included) */
    char line[SMTP_SESSION_TEXT_LINE_MAX];
    size_t linelen;
    bool line_over;
    bool pending_cr; /* the last byte fed so far (of an unfinished line) was CR */

    /* DATA */
    struct buf msg;
    enum data_err derr;
    bool prev_crlf; /* the previous data line ended in CRLF (or DATA just began) */

    struct buf out;
};

static void reply(struct smtp_session *s, const char *text);
static void replyf(struct smtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void txn_reset(struct smtp_session *s);
static enum smtp_session_event handle_line(struct smtp_session *s, const char *p, size_t n,
                                           bool over, bool crlf);
static enum smtp_session_event handle_data_line(struct smtp_session *s, const char *p, size_t n,
                                                bool over, bool crlf);
static enum smtp_session_event handle_command(struct smtp_session *s, const char *p, size_t n);
static void cmd_helo(struct smtp_session *s, const char *arg, size_t alen, bool ehlo);
static void cmd_mail(struct smtp_session *s, const char *arg, size_t alen);
static void cmd_rcpt(struct smtp_session *s, const char *arg, size_t alen);
static void cmd_data(struct smtp_session *s, size_t alen);
static enum smtp_session_event data_too_big(struct smtp_session *s);
static int parse_path(const char *p, const char *end, const char **after, char *out, size_t outlen);
static bool ascii_eq_ci(const char *a, size_t alen, const char *b);

struct smtp_session *
smtp_session_new(const struct smtp_session_opts *o)
{
    struct smtp_session *s = xcalloc(1, sizeof(*s));

    s->o = *o;
    if (s->o.hostname == NULL || s->o.hostname[0] == '\0') {
        s->o.hostname = "localhost";
    }
    if (s->o.domains == NULL) {
        s->o.domains = "";
    }
    if (s->o.max_rcpts == 0) {
        s->o.max_rcpts = 1;
    }
    s->st = ST_START;
    /* The message buffer holds the data up to the size limit; a line more is the bound. */
    buf_init(&s->msg, s->o.max_size + SMTP_SESSION_TEXT_LINE_MAX);
    buf_init(&s->out, 0);
    return s;
}

void
smtp_session_free(struct smtp_session *s)
{
    if (s == NULL) {
        return;
    }
    txn_reset(s);
    free(s->rcpts);
    buf_free(&s->msg);
    buf_free(&s->out);
    free(s);
}

void
smtp_session_greet(struct smtp_session *s)
{
    replyf(s, "220 %s %s bounced ready\r\n", s->o.hostname, s->o.lmtp ? "LMTP" : "ESMTP");
}

void
smtp_session_refuse(struct smtp_session *s, const char *text)
{
    reply(s, text);
    reply(s, "\r\n");
    s->st = ST_CLOSED;
    s->closing = true;
}

void
smtp_session_timeout(struct smtp_session *s)
{
    if (s->st != ST_CLOSED) {
        replyf(s, "421 4.4.2 %s Error: timeout exceeded\r\n", s->o.hostname);
    }
    s->st = ST_CLOSED;
    s->closing = true;
}

void
smtp_session_shutdown(struct smtp_session *s)
{
    if (s->st != ST_CLOSED) {
        replyf(s, "421 4.3.2 %s Service shutting down, try again later\r\n", s->o.hostname);
    }
    s->st = ST_CLOSED;
    s->closing = true;
}

enum smtp_session_event
smtp_session_feed(struct smtp_session *s, const char *data, size_t len, size_t *consumed_out)
{
    size_t off = 0;

    *consumed_out = 0;
    if (s->st == ST_CLOSED) {
        return SMTP_EV_CLOSE;
    }
    if (s->st == ST_DELIVER) {
        return SMTP_EV_MESSAGE;
    }
    if (s->st == ST_TLS) {
        return SMTP_EV_STARTTLS;
    }
    while (off < len) {
        const char *lf = memchr(data + off, '\n', len - off);
        size_t chunk = lf ? (size_t)(lf - (data + off)) + 1 : len - off;
        size_t room = sizeof(s->line) - s->linelen;
        enum smtp_session_event ev;
        bool crlf;

        if (chunk <= room) {
            memcpy(s->line + s->linelen, data + off, chunk);
            s->linelen += chunk;
        } else {
            /* Keep what fits (a data line is still delivered as far as it goes) and flag it. */
            memcpy(s->line + s->linelen, data + off, room);
            s->linelen += room;
            s->line_over = true;
        }
        if (lf == NULL) {
            s->pending_cr = data[len - 1] == '\r';
            off += chunk;
            break;
        }
        /* Whether the line ends in CRLF, even when its middle was cut at the limit. */
        crlf = chunk >= 2 ? data[off + chunk - 2] == '\r' : s->pending_cr;
        s->pending_cr = false;
        off += chunk;
        ev = handle_line(s, s->line, s->linelen, s->line_over, crlf);
        s->linelen = 0;
        s->line_over = false;
        if (ev != SMTP_EV_NONE) {
            *consumed_out = off;
            return ev;
        }
    }
    *consumed_out = off;
    return SMTP_EV_NONE;
}

const char *
smtp_session_message(const struct smtp_session *s, size_t *len_out)
{
    *len_out = s->msg.len;
    return s->msg.p != NULL ? s->msg.p : "";
}

void
smtp_session_envelope(const struct smtp_session *s, struct smtp_envelope *out)
{
    out->helo = s->helo;
    out->mail_from = s->mail_from != NULL ? s->mail_from : "";
    out->rcpts = (const char *const *)s->rcpts;
    out->nrcpts = s->nrcpts;
    out->esmtp = s->esmtp;
    out->tls = s->tls;
}

void
smtp_session_deliver(struct smtp_session *s, bool ok, const char *queue_id)
{
    size_t i;

    if (s->st != ST_DELIVER) {
        return;
    }
    if (queue_id == NULL) {
        queue_id = "";
    }
    if (s->o.lmtp) {
        /* RFC 2033 4.2: one reply per accepted recipient, in RCPT order. */
        for (i = 0; i < s->nrcpts; i++) {
            if (ok) {
                replyf(s, "250 2.0.0 <%s> Ok: queued as %s\r\n", s->rcpts[i], queue_id);
            } else {
                replyf(s, "451 4.3.0 <%s> Error: queue file write error\r\n", s->rcpts[i]);
            }
        }
    } else if (ok) {
        replyf(s, "250 2.0.0 Ok: queued as %s\r\n", queue_id);
    } else {
        reply(s, "451 4.3.0 Error: queue file write error\r\n");
    }
    if (ok) {
        s->accepted++;
    }
    txn_reset(s);
    s->st = ST_READY;
}

void
smtp_session_tls_on(struct smtp_session *s)
{
    if (s->st != ST_TLS) {
        return;
    }
    /* RFC 3207 4.2: forget everything learnt before the handshake. */
    txn_reset(s);
    s->helo[0] = '\0';
    s->esmtp = false;
    s->tls = true;
    s->linelen = 0;
    s->line_over = false;
    s->pending_cr = false;
    s->st = ST_START;
}

const char *
smtp_session_output(const struct smtp_session *s, size_t *len_out)
{
    *len_out = s->out.len;
    return s->out.p != NULL ? s->out.p : "";
}

void
smtp_session_output_done(struct smtp_session *s, size_t n)
{
    if (n >= s->out.len) {
        buf_reset(&s->out);
        return;
    }
    memmove(s->out.p, s->out.p + n, s->out.len - n);
    s->out.len -= n;
    s->out.p[s->out.len] = '\0';
}

bool
smtp_session_closing(const struct smtp_session *s)
{
    return s->closing;
}

bool
smtp_session_in_data(const struct smtp_session *s)
{
    return s->st == ST_DATA;
}

bool
smtp_session_in_transaction(const struct smtp_session *s)
{
    return s->st == ST_MAIL || s->st == ST_RCPT || s->st == ST_DATA || s->st == ST_DELIVER;
}

size_t
smtp_session_commands(const struct smtp_session *s)
{
    return s->ncmds;
}

size_t
smtp_session_accepted(const struct smtp_session *s)
{
    return s->accepted;
}

size_t
smtp_session_refused(const struct smtp_session *s)
{
    return s->refused;
}

bool
smtp_session_domain_ok(const char *domains, const char *addr)
{
    const char *at = strrchr(addr, '@');
    const char *dom;
    const char *p;
    size_t dlen;

    if (at == NULL) {
        return false;
    }
    dom = at + 1;
    dlen = strlen(dom);
    if (dlen > 0 && dom[dlen - 1] == '.') {
        dlen--; /* a trailing root dot names the same domain */
    }
    if (dlen == 0) {
        return false;
    }
    if (domains == NULL || domains[0] == '\0') {
        return ascii_eq_ci(dom, dlen, "localhost");
    }
    p = domains;
    while (*p != '\0') {
        const char *e;
        const char *q;
        while (*p == ',' || *p == ' ' || *p == '\t') {
            p++;
        }
        e = p;
        while (*e != '\0' && *e != ',') {
            e++;
        }
        q = e;
        while (q > p && (q[-1] == ' ' || q[-1] == '\t')) {
            q--;
        }
        if (q > p && (size_t)(q - p) == dlen) {
            size_t i;
            for (i = 0; i < dlen; i++) {
                char a = dom[i], b = p[i];
                if (a >= 'A' && a <= 'Z') {
                    a = (char)(a - 'A' + 'a');
                }
                if (b >= 'A' && b <= 'Z') {
                    b = (char)(b - 'A' + 'a');
                }
                if (a != b) {
                    break;
                }
            }
            if (i == dlen) {
                return true;
            }
        }
        p = e;
    }
    return false;
}

/* ---- statics ---- */

static void
reply(struct smtp_session *s, const char *text)
{
    (void)buf_adds(&s->out, text);
}

static void
replyf(struct smtp_session *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)buf_vprintf(&s->out, fmt, ap);
    va_end(ap);
}

static void
txn_reset(struct smtp_session *s)
{
    size_t i;

    free(s->mail_from);
    s->mail_from = NULL;
    for (i = 0; i < s->nrcpts; i++) {
        free(s->rcpts[i]);
    }
    s->nrcpts = 0;
    /* Keep the storage of a small message for the next one; give back a large one. */
    if (s->msg.alloc > 256 * 1024) {
        buf_free(&s->msg);
    } else {
        buf_reset(&s->msg);
    }
    s->derr = DATA_OK;
}

static enum smtp_session_event
handle_line(struct smtp_session *s, const char *p, size_t n, bool over, bool crlf)
{
    if (s->st == ST_DATA) {
        return handle_data_line(s, p, n, over, crlf);
    }
    /* A command: drop the line ending (CRLF, or a bare LF, which is tolerated here). */
    s->ncmds++;
    if (s->ncmds > s->o.max_cmds) {
        replyf(s, "421 4.7.0 %s Error: too many commands\r\n", s->o.hostname);
        s->st = ST_CLOSED;
        s->closing = true;
        return SMTP_EV_CLOSE;
    }
    if (over || n > SMTP_SESSION_CMD_LINE_MAX) {
        reply(s, "500 5.5.2 Error: line too long\r\n");
        return SMTP_EV_NONE;
    }
    if (n > 0 && p[n - 1] == '\n') {
        n--;
    }
    if (n > 0 && p[n - 1] == '\r') {
        n--;
    }
    return handle_command(s, p, n);
}

static enum smtp_session_event
handle_data_line(struct smtp_session *s, const char *p, size_t n, bool over, bool crlf)
{
    if (!over && crlf && s->prev_crlf && n == 3 && p[0] == '.') {
        /* End of data. */
        if (s->derr != DATA_OK) {
            size_t i, k = s->o.lmtp ? s->nrcpts : 1;
            for (i = 0; i < k; i++) {
                reply(s, "500 5.5.2 Error: message line too long\r\n");
            }
            txn_reset(s);
            s->st = ST_READY;
            return SMTP_EV_NONE;
        }
        s->st = ST_DELIVER;
        return SMTP_EV_MESSAGE;
    }
    s->prev_crlf = crlf;
    if (over) {
        if (s->derr == DATA_OK) {
            s->derr = DATA_LINE_TOO_LONG;
        }
        buf_reset(&s->msg);
        return SMTP_EV_NONE;
    }
    if (s->derr != DATA_OK) {
        return SMTP_EV_NONE; /* discarding to the end of the data */
    }
    /* RFC 5321 4.5.2: a leading dot of a data line is removed. */
    if (n > 0 && p[0] == '.') {
        p++;
        n--;
    }
    if (s->msg.len + n > s->o.max_size || buf_add(&s->msg, p, n) != BNC_OK) {
        return data_too_big(s);
    }
    return SMTP_EV_NONE;
}

/* The data passed smtp.max_message_size: 552 (one per recipient for LMTP, RFC 2033 4.2)
 * and close, without reading the rest. */
static enum smtp_session_event
data_too_big(struct smtp_session *s)
{
    size_t i, k = s->o.lmtp ? s->nrcpts : 1;

    for (i = 0; i < k; i++) {
        reply(s, "552 5.3.4 Error: message file too big\r\n");
    }
    txn_reset(s);
    s->st = ST_CLOSED;
    s->closing = true;
    return SMTP_EV_CLOSE;
}

static enum smtp_session_event
handle_command(struct smtp_session *s, const char *p, size_t n)
{
    const char *end = p + n;
    const char *verb = p;
    const char *arg;
    size_t vlen, alen;

    while (p < end && *p != ' ') {
        p++;
    }
    vlen = (size_t)(p - verb);
    while (p < end && *p == ' ') {
        p++;
    }
    arg = p;
    alen = (size_t)(end - p);
    while (alen > 0 && (arg[alen - 1] == ' ' || arg[alen - 1] == '\t')) {
        alen--;
    }

    if (ascii_eq_ci(verb, vlen, "EHLO") || ascii_eq_ci(verb, vlen, "HELO")) {
        if (s->o.lmtp) {
            reply(s, "500 5.5.1 Error: this is LMTP, use LHLO\r\n");
        } else {
            cmd_helo(s, arg, alen, verb[0] == 'E' || verb[0] == 'e');
        }
    } else if (ascii_eq_ci(verb, vlen, "LHLO")) {
        if (!s->o.lmtp) {
            reply(s, "500 5.5.1 Error: command not recognized\r\n");
        } else {
            cmd_helo(s, arg, alen, true);
        }
    } else if (ascii_eq_ci(verb, vlen, "MAIL")) {
        cmd_mail(s, arg, alen);
    } else if (ascii_eq_ci(verb, vlen, "RCPT")) {
        cmd_rcpt(s, arg, alen);
    } else if (ascii_eq_ci(verb, vlen, "DATA")) {
        cmd_data(s, alen);
    } else if (ascii_eq_ci(verb, vlen, "RSET")) {
        if (alen > 0) {
            reply(s, "501 5.5.4 Syntax: RSET\r\n");
        } else {
            txn_reset(s);
            if (s->st != ST_START) {
                s->st = ST_READY;
            }
            reply(s, "250 2.0.0 Ok\r\n");
        }
    } else if (ascii_eq_ci(verb, vlen, "NOOP")) {
        reply(s, "250 2.0.0 Ok\r\n");
    } else if (ascii_eq_ci(verb, vlen, "QUIT")) {
        replyf(s, "221 2.0.0 %s closing connection\r\n", s->o.hostname);
        s->st = ST_CLOSED;
        s->closing = true;
        return SMTP_EV_CLOSE;
    } else if (ascii_eq_ci(verb, vlen, "VRFY") || ascii_eq_ci(verb, vlen, "EXPN")) {
        /* RFC 5321 7.3: refusing to verify or expand is allowed; say so plainly. */
        reply(s, "502 5.5.1 Error: command disabled\r\n");
    } else if (ascii_eq_ci(verb, vlen, "HELP")) {
        reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT\r\n");
    } else if (ascii_eq_ci(verb, vlen, "STARTTLS")) {
        if (!s->o.tls_offered) {
            reply(s, "502 5.5.1 Error: command not implemented\r\n");
        } else if (alen > 0) {
            reply(s, "501 5.5.4 Syntax: STARTTLS\r\n");
        } else if (s->tls) {
            reply(s, "503 5.5.1 Error: TLS already active\r\n");
        } else if (s->st != ST_READY) {
            reply(s, "503 5.5.1 Error: send EHLO first, and no STARTTLS in a transaction\r\n");
        } else {
            reply(s, "220 2.0.0 Ready to start TLS\r\n");
            s->st = ST_TLS;
            s->linelen = 0;
            s->pending_cr = false;
            return SMTP_EV_STARTTLS;
        }
    } else {
        reply(s, "500 5.5.1 Error: command not recognized\r\n");
    }
    return SMTP_EV_NONE;
}

static void
cmd_helo(struct smtp_session *s, const char *arg, size_t alen, bool ehlo)
{
    size_t i;

    if (alen == 0) {
        replyf(s, "501 5.5.4 Syntax: %s hostname\r\n",
               s->o.lmtp ? "LHLO" : (ehlo ? "EHLO" : "HELO"));
        return;
    }
    if (alen > SMTP_HELO_MAX) {
        alen = SMTP_HELO_MAX;
    }
    for (i = 0; i < alen; i++) {
        unsigned char c = (unsigned char)arg[i];
        /* Only printable ASCII reaches the Received: header. */
        s->helo[i] = (c > 32 && c < 127) ? (char)c : '?';
    }
    s->helo[alen] = '\0';
    txn_reset(s);
    s->esmtp = ehlo;
    s->st = ST_READY;
    if (!ehlo) {
        replyf(s, "250 %s\r\n", s->o.hostname);
        return;
    }
    replyf(s, "250-%s\r\n250-PIPELINING\r\n250-SIZE %zu\r\n250-8BITMIME\r\n", s->o.hostname,
           s->o.max_size);
    if (s->o.tls_offered && !s->tls) {
        reply(s, "250-STARTTLS\r\n");
    }
    reply(s, "250 ENHANCEDSTATUSCODES\r\n");
}

/* One ESMTP parameter of MAIL (RFC 5321 4.1.1.2; SIZE RFC 1870, BODY RFC 6152): NULL when
 * it is fine, else the reply that refuses it. */
static const char *
mail_param(const struct smtp_session *s, const char *k, size_t klen, const char *v, size_t vlen)
{
    uint64_t sz = 0;
    size_t i;

    if (ascii_eq_ci(k, klen, "SIZE")) {
        if (vlen == 0 || vlen > 20) {
            return "501 5.5.4 Error: bad SIZE parameter\r\n";
        }
        for (i = 0; i < vlen; i++) {
            if (v[i] < '0' || v[i] > '9') {
                return "501 5.5.4 Error: bad SIZE parameter\r\n";
            }
            sz = sz > UINT64_MAX / 10 ? UINT64_MAX : sz * 10 + (uint64_t)(v[i] - '0');
        }
        return sz > (uint64_t)s->o.max_size ? "552 5.3.4 Error: message file too big\r\n" : NULL;
    }
    if (ascii_eq_ci(k, klen, "BODY")) {
        return ascii_eq_ci(v, vlen, "7BIT") || ascii_eq_ci(v, vlen, "8BITMIME")
                   ? NULL
                   : "501 5.5.4 Error: bad BODY parameter\r\n";
    }
    return "555 5.5.4 Error: unsupported MAIL parameter\r\n";
}

static void
cmd_mail(struct smtp_session *s, const char *arg, size_t alen)
{
    const char *end = arg + alen;
    const char *p = arg;
    char path[SMTP_PATH_MAX + 1];

    if (s->st == ST_START) {
        reply(s, "503 5.5.1 Error: send HELO/EHLO first\r\n");
        return;
    }
    if (s->st != ST_READY) {
        reply(s, "503 5.5.1 Error: nested MAIL command\r\n");
        return;
    }
    if (alen < 5 || !ascii_eq_ci(p, 5, "FROM:")) {
        reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
        return;
    }
    p += 5;
    while (p < end && *p == ' ') {
        p++; /* tolerated: "MAIL FROM: <a@b>" */
    }
    switch (parse_path(p, end, &p, path, sizeof(path))) {
    case 0:
        break;
    case 2:
        reply(s, "553 5.1.7 Error: sender address too long\r\n");
        return;
    default:
        reply(s, "501 5.1.7 Error: bad sender address syntax\r\n");
        return;
    }
    /* ESMTP parameters (RFC 5321 4.1.1.2): only the ones announced are known. */
    while (p < end) {
        const char *k, *v, *ke, *err;
        size_t klen, vlen;
        while (p < end && *p == ' ') {
            p++;
        }
        if (p == end) {
            break;
        }
        k = p;
        while (p < end && *p != ' ' && *p != '=') {
            p++;
        }
        ke = p;
        klen = (size_t)(ke - k);
        v = ke;
        vlen = 0;
        if (p < end && *p == '=') {
            v = ++p;
            while (p < end && *p != ' ') {
                p++;
            }
            vlen = (size_t)(p - v);
        }
        if (!s->esmtp) {
            reply(s, "555 5.5.4 Error: parameters need EHLO\r\n");
            return;
        }
        if ((err = mail_param(s, k, klen, v, vlen)) != NULL) {
            reply(s, err);
            return;
        }
    }
    s->mail_from = xstrdup(path);
    s->st = ST_MAIL;
    reply(s, "250 2.1.0 Ok\r\n");
}

static void
cmd_rcpt(struct smtp_session *s, const char *arg, size_t alen)
{
    const char *end = arg + alen;
    const char *p = arg;
    char path[SMTP_PATH_MAX + 1];

    if (s->st != ST_MAIL && s->st != ST_RCPT) {
        reply(s, "503 5.5.1 Error: need MAIL command\r\n");
        return;
    }
    if (alen < 3 || !ascii_eq_ci(p, 3, "TO:")) {
        reply(s, "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
        return;
    }
    p += 3;
    while (p < end && *p == ' ') {
        p++;
    }
    switch (parse_path(p, end, &p, path, sizeof(path))) {
    case 0:
        break;
    case 2:
        reply(s, "553 5.1.3 Error: recipient address too long\r\n");
        return;
    default:
        reply(s, "501 5.1.3 Error: bad recipient address syntax\r\n");
        return;
    }
    while (p < end && *p == ' ') {
        p++;
    }
    if (p < end) {
        reply(s, "555 5.5.4 Error: unsupported RCPT parameter\r\n");
        return;
    }
    if (path[0] == '\0') {
        reply(s, "501 5.1.3 Error: empty recipient\r\n");
        return;
    }
    if (s->nrcpts >= s->o.max_rcpts) {
        reply(s, "452 4.5.3 Error: too many recipients\r\n");
        return;
    }
    /* RFC 5321 4.5.1: "postmaster" without a domain is always accepted. */
    if (!ascii_eq_ci(path, strlen(path), "postmaster") &&
        !smtp_session_domain_ok(s->o.domains, path)) {
        s->refused++;
        replyf(s, "550 5.7.1 <%s>: Recipient address rejected: relay access denied\r\n", path);
        return;
    }
    if ((s->nrcpts & (s->nrcpts - 1)) == 0) {
        /* grow at powers of two: 1, 2, 4, ... */
        s->rcpts = xrealloc(s->rcpts, (s->nrcpts ? s->nrcpts * 2 : 1) * sizeof(*s->rcpts));
    }
    s->rcpts[s->nrcpts++] = xstrdup(path);
    s->st = ST_RCPT;
    reply(s, "250 2.1.5 Ok\r\n");
}

static void
cmd_data(struct smtp_session *s, size_t alen)
{
    if (alen > 0) {
        reply(s, "501 5.5.4 Syntax: DATA\r\n");
        return;
    }
    if (s->st == ST_MAIL) {
        reply(s, "554 5.5.1 Error: no valid recipients\r\n");
        return;
    }
    if (s->st != ST_RCPT) {
        reply(s, "503 5.5.1 Error: need RCPT command\r\n");
        return;
    }
    buf_reset(&s->msg);
    s->derr = DATA_OK;
    s->prev_crlf = true;
    s->st = ST_DATA;
    reply(s, "354 End data with <CR><LF>.<CR><LF>\r\n");
}

/*
 * Parse "<path>" (RFC 5321 4.1.2): "<>" gives "", a source route "@a,@b:" is dropped, a
 * quoted local part is kept as written. Returns 0 ok, 1 syntax error, 2 too long. Brackets are
 * required, as RFC 5321 says; a bare address is tolerated when it has no spaces.
 */
static int
parse_path(const char *p, const char *end, const char **after, char *out, size_t outlen)
{
    const char *start, *stop;
    size_t n, i;
    bool quoted = false;

    if (p < end && *p == '<') {
        start = ++p;
        while (p < end) {
            if (*p == '"') {
                quoted = !quoted;
            } else if (*p == '\\' && quoted && p + 1 < end) {
                p++;
            } else if (*p == '>' && !quoted) {
                break;
            }
            p++;
        }
        if (p == end) {
            return 1;
        }
        stop = p;
        *after = p + 1;
    } else {
        start = p;
        while (p < end && *p != ' ') {
            p++;
        }
        stop = p;
        *after = p;
        if (start == stop) {
            return 1;
        }
    }
    /* A source route (obsolete, RFC 5321 4.1.2 and appendix C) is ignored. */
    if (start < stop && *start == '@') {
        const char *colon = memchr(start, ':', (size_t)(stop - start));
        if (colon == NULL) {
            return 1;
        }
        start = colon + 1;
    }
    n = (size_t)(stop - start);
    if (n >= outlen) {
        return 2;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)start[i];
        if (c < 32 || c == 127) {
            return 1; /* control characters never reach the spool headers */
        }
        out[i] = (char)c;
    }
    out[n] = '\0';
    if (n > 0) {
        const char *at = strrchr(out, '@');
        if (at == NULL || at == out || at[1] == '\0') {
            /* "postmaster" alone is the one address without a domain */
            if (!(at == NULL && ascii_eq_ci(out, n, "postmaster"))) {
                return 1;
            }
        }
    }
    return 0;
}

static bool
ascii_eq_ci(const char *a, size_t alen, const char *b)
{
    size_t i;

    for (i = 0; i < alen; i++) {
        char x = a[i], y = b[i];
        if (y == '\0') {
            return false;
        }
        if (x >= 'A' && x <= 'Z') {
            x = (char)(x - 'A' + 'a');
        }
        if (y >= 'A' && y <= 'Z') {
            y = (char)(y - 'A' + 'a');
        }
        if (x != y) {
            return false;
        }
    }
    return b[alen] == '\0';
}
