/*
 * test_smtp_session.c - the pure SMTP/LMTP state machine: every command, pipelining, each
 * limit at the bound and one past it, bad sequences, LMTP replies, STARTTLS, dot handling.
 * layer: ingest (links bnc_ingest and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "ingest/smtp_session.h"

/* What one conversation produced. */
struct convo {
    struct buf out;  /* every reply, in order */
    struct buf msgs; /* every delivered message, each followed by "\n--END--\n" */
    size_t nmsgs;
    size_t nrcpts_last;
    char from_last[300];
    int starttls;
    int closed;
};

static struct smtp_session_opts
opts(void)
{
    struct smtp_session_opts o;
    memset(&o, 0, sizeof(o));
    o.hostname = "mx.test";
    o.domains = "bounce.example, Other.Example";
    o.max_size = 1000;
    o.max_rcpts = 3;
    o.max_cmds = 50;
    return o;
}

static void
drain(struct smtp_session *s, struct convo *c)
{
    size_t n;
    const char *p = smtp_session_output(s, &n);
    buf_add(&c->out, p, n);
    smtp_session_output_done(s, n);
}

/* Feed input in chunks of `step` bytes (0 = all at once), acting on every event. */
static void
feed(struct smtp_session *s, struct convo *c, const char *in, size_t step)
{
    size_t len = strlen(in), off = 0;

    while (off < len) {
        size_t n = step ? (len - off < step ? len - off : step) : len - off;
        size_t used = 0;
        enum smtp_session_event ev = smtp_session_feed(s, in + off, n, &used);
        off += used;
        drain(s, c);
        if (ev == SMTP_EV_MESSAGE) {
            struct smtp_envelope env;
            size_t mlen;
            const char *m = smtp_session_message(s, &mlen);
            smtp_session_envelope(s, &env);
            buf_add(&c->msgs, m, mlen);
            buf_adds(&c->msgs, "\n--END--\n");
            c->nmsgs++;
            c->nrcpts_last = env.nrcpts;
            snprintf(c->from_last, sizeof(c->from_last), "%s", env.mail_from);
            smtp_session_deliver(s, true, "Q1");
            drain(s, c);
        } else if (ev == SMTP_EV_STARTTLS) {
            c->starttls++;
            smtp_session_tls_on(s);
            /* input after STARTTLS is discarded by the caller (RFC 3207 6) */
            return;
        } else if (ev == SMTP_EV_CLOSE) {
            c->closed++;
            return;
        }
    }
}

static struct smtp_session *
start(const struct smtp_session_opts *o, struct convo *c)
{
    struct smtp_session *s = smtp_session_new(o);
    memset(c, 0, sizeof(*c));
    buf_init(&c->out, 0);
    buf_init(&c->msgs, 0);
    smtp_session_greet(s);
    drain(s, c);
    return s;
}

static void
finish(struct smtp_session *s, struct convo *c)
{
    smtp_session_free(s);
    buf_free(&c->out);
    buf_free(&c->msgs);
}

static bool
has(const struct convo *c, const char *needle)
{
    return c->out.p != NULL && strstr(c->out.p, needle) != NULL;
}

static size_t
count(const char *hay, const char *needle)
{
    size_t n = 0;
    const char *p = hay;
    while (p != NULL && (p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

static void
test_greeting_and_ehlo(void **state)
{
    struct smtp_session_opts o = opts();
    struct convo c;
    struct smtp_session *s = start(&o, &c);
    (void)state;

    assert_true(has(&c, "220 mx.test ESMTP"));
    feed(s, &c, "EHLO client.example\r\n", 0);
    assert_true(has(&c, "250-mx.test\r\n"));
    assert_true(has(&c, "250-PIPELINING\r\n"));
    assert_true(has(&c, "250-SIZE 1000\r\n"));
    assert_true(has(&c, "250-8BITMIME\r\n"));
    assert_true(has(&c, "250 ENHANCEDSTATUSCODES\r\n"));
    assert_false(has(&c, "STARTTLS"));
    feed(s, &c, "HELO again\r\nNOOP\r\nHELP\r\nVRFY postmaster\r\nEXPN list\r\nFOO\r\n", 0);
    assert_true(has(&c, "250 mx.test\r\n"));
    assert_true(has(&c, "250 2.0.0 Ok\r\n"));
    assert_true(has(&c, "214 "));
    assert_int_equal(count(c.out.p, "502 5.5.1"), 2);
    assert_true(has(&c, "500 5.5.1 Error: command not recognized"));
    feed(s, &c, "EHLO\r\nQUIT\r\nNOOP\r\n", 0);
    assert_true(has(&c, "501 5.5.4 Syntax: EHLO hostname"));
    assert_true(has(&c, "221 2.0.0"));
    assert_int_equal(c.closed, 1);
    assert_true(smtp_session_closing(s));
    assert_int_equal(count(c.out.p, "250 2.0.0 Ok\r\n"), 1); /* NOOP after QUIT unanswered */
    finish(s, &c);
}

static const char dsn[] = "From: MAILER-DAEMON@mta.example\r\n"
                          "Subject: Undelivered Mail\r\n"
                          "\r\n"
                          "..leading dot\r\n"
                          "...two\r\n"
                          ".\r\n";

static void
test_pipelined_transaction(void **state)
{
    struct smtp_session_opts o = opts();
    struct convo c;
    struct smtp_session *s;
    struct buf in;
    size_t steps[] = {0, 1, 2, 7, 64};
    size_t i;
    (void)state;

    buf_init(&in, 0);
    buf_adds(&in, "EHLO c\r\nMAIL FROM:<> SIZE=100 BODY=8BITMIME\r\n"
                  "RCPT TO:<bounces+u=x.example@bounce.example>\r\n"
                  "RCPT TO:<b@OTHER.EXAMPLE.>\r\nDATA\r\n");
    buf_adds(&in, dsn);
    buf_adds(&in, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@bounce.example>\r\nDATA\r\n"
                  "x\r\n.\r\nQUIT\r\n");
    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        s = start(&o, &c);
        feed(s, &c, in.p, steps[i]);
        assert_int_equal(c.nmsgs, 2);
        assert_string_equal(c.msgs.p, "From: MAILER-DAEMON@mta.example\r\n"
                                      "Subject: Undelivered Mail\r\n\r\n"
                                      ".leading dot\r\n..two\r\n\n--END--\nx\r\n\n--END--\n");
        assert_string_equal(c.from_last, "a@b.example");
        assert_int_equal(count(c.out.p, "250 2.1.5 Ok"), 3);
        assert_int_equal(count(c.out.p, "354 "), 2);
        assert_int_equal(count(c.out.p, "250 2.0.0 Ok: queued as Q1"), 2);
        assert_true(has(&c, "221 "));
        assert_int_equal(smtp_session_accepted(s), 2);
        finish(s, &c);
    }
    buf_free(&in);
}

static void
test_relay_and_unknown_domain(void **state)
{
    struct smtp_session_opts o = opts();
    struct convo c;
    struct smtp_session *s = start(&o, &c);
    (void)state;

    feed(s, &c,
         "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<victim@gmail.example>\r\n"
         "RCPT TO:<@relay.example:x@bounce.example.evil>\r\nRCPT TO:<x@sub.bounce.example>\r\n"
         "RCPT TO:<user%elsewhere.example@bounce.example>\r\nDATA\r\n",
         0);
    assert_int_equal(count(c.out.p, "550 5.7.1"), 3);
    /* the percent hack names a local part of ours: accepted, never relayed */
    assert_int_equal(count(c.out.p, "250 2.1.5"), 1);
    assert_true(has(&c, "354 "));
    assert_int_equal(smtp_session_refused(s), 3);
    finish(s, &c);

    s = start(&o, &c);
    feed(s, &c, "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<victim@gmail.example>\r\nDATA\r\n", 0);
    assert_true(has(&c, "554 5.5.1 Error: no valid recipients"));
    assert_int_equal(c.nmsgs, 0);
    /* postmaster without a domain is always accepted (RFC 5321 4.5.1) */
    feed(s, &c, "RCPT TO:<Postmaster>\r\n", 0);
    assert_int_equal(count(c.out.p, "250 2.1.5"), 1);
    finish(s, &c);
}

static void
test_domain_ok(void **state)
{
    (void)state;
    assert_true(smtp_session_domain_ok("bounce.example", "a@BOUNCE.example"));
    assert_true(smtp_session_domain_ok(" a.example ,bounce.example ", "a@bounce.example."));
    assert_false(smtp_session_domain_ok("bounce.example", "a@bounce.example.org"));
    assert_false(smtp_session_domain_ok("bounce.example", "a@xbounce.example"));
    assert_false(smtp_session_domain_ok("bounce.example", "bounce.example"));
    assert_false(smtp_session_domain_ok("bounce.example", "a@"));
    assert_true(smtp_session_domain_ok("", "a@localhost"));
    assert_false(smtp_session_domain_ok("", "a@bounce.example"));
    assert_false(smtp_session_domain_ok(",,", "a@bounce.example"));
}

static void
test_size_limit(void **state)
{
    struct smtp_session_opts o = opts();
    struct convo c;
    struct smtp_session *s = start(&o, &c);
    struct buf in;
    size_t i;
    (void)state;

    feed(s, &c, "EHLO c\r\nMAIL FROM:<> SIZE=1001\r\nMAIL FROM:<> SIZE=99999999999999999999\r\n",
         0);
    assert_int_equal(count(c.out.p, "552 5.3.4"), 2);
    feed(s, &c, "MAIL FROM:<> SIZE=1000\r\nRCPT TO:<a@bounce.example>\r\nDATA\r\n", 0);
    assert_true(has(&c, "354 "));
    /* exactly at the limit: 100 lines of 10 octets = 1000 */
    buf_init(&in, 0);
    for (i = 0; i < 100; i++) {
        buf_adds(&in, "12345678\r\n");
    }
    buf_adds(&in, ".\r\n");
    feed(s, &c, in.p, 0);
    assert_int_equal(c.nmsgs, 1);
    assert_int_equal(c.msgs.len, 1000 + strlen("\n--END--\n"));
    /* one past: nothing delivered, 552 at the octet past the limit, and the connection is
     * closed: the rest of the stream (here a final dot and a NOOP) is never read */
    feed(s, &c, "MAIL FROM:<>\r\nRCPT TO:<a@bounce.example>\r\nDATA\r\n", 0);
    in.len = 0;
    for (i = 0; i < 100; i++) {
        buf_adds(&in, "12345678\r\n");
    }
    buf_adds(&in, "x\r\n.\r\nNOOP\r\n");
    feed(s, &c, in.p, 0);
    assert_int_equal(c.nmsgs, 1);
    assert_int_equal(c.closed, 1);
    assert_true(smtp_session_closing(s));
    assert_true(has(&c, "552 5.3.4 Error: message file too big\r\n"));
    {
        /* nothing after it: the final dot and the NOOP got no reply */
        const char *tail = "552 5.3.4 Error: message file too big\r\n";
        assert_true(c.out.len >= strlen(tail));
        assert_string_equal(c.out.p + c.out.len - strlen(tail), tail);
    }
    buf_free(&in);
    finish(s, &c);
}

static void
test_line_limits(void **state)
{
    struct smtp_session_opts o = opts();
    struct convo c;
    struct smtp_session *s;
    char line[2000];
    (void)state;

    o.max_size = 100000;
    s = start(&o, &c);
    /* command line: 512 octets with CRLF is fine, 513 is not */
    memset(line, 0, sizeof(line));
    memcpy(line, "NOOP ", 5);
    memset(line + 5, 'a', 512 - 5 - 2);
    memcpy(line + 510, "\r\n", 2);
    feed(s, &c, line, 0);
    assert_true(has(&c, "250 2.0.0 Ok\r\n"));
    memset(line + 5, 'a', 513 - 5 - 2);
    memcpy(line + 511, "\r\n", 3);
    feed(s, &c, line, 0);
    assert_true(has(&c, "500 5.5.2 Error: line too long"));
    /* a line far over the buffer is still one error, and the session goes on */
    memset(line + 5, 'b', 1900);
    memcpy(line + 1905, "\r\n", 3);
    feed(s, &c, line, 3);
    assert_int_equal(count(c.out.p, "500 5.5.2"), 2);
    feed(s, &c, "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@bounce.example>\r\nDATA\r\n", 0);
    /* text line: 1000 with CRLF is accepted */
    memset(line, 'c', 998);
    memcpy(line + 998, "\r\n.\r\n", 6);
    feed(s, &c, line, 0);
    assert_int_equal(c.nmsgs, 1);
    /* 1001 is refused after the data, nothing is delivered */
    feed(s, &c, "MAIL FROM:<>\r\nRCPT TO:<a@bounce.example>\r\nDATA\r\n", 0);
    memset(line, 'c', 999);
    memcpy(line + 999, "\r\nok\r\n.\r\n", 10);
    feed(s, &c, line, 5);
    assert_int_equal(c.nmsgs, 1);
    assert_true(has(&c, "500 5.5.2 Error: message line too long"));
    finish(s, &c);
}

static void
test_recipient_limit(void **state)
{
    struct smtp_session_opts o = opts();
    struct convo c;
    struct smtp_session *s = start(&o, &c);
    (void)state;

    feed(s, &c,
         "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@bounce.example>\r\nRCPT TO:<b@bounce.example>\r\n"
         "RCPT TO:<c@bounce.example>\r\nRCPT TO:<d@bounce.example>\r\nDATA\r\nhi\r\n.\r\n",
         0);
    assert_int_equal(count(c.out.p, "250 2.1.5"), 3); /* at the bound */
    assert_int_equal(count(c.out.p, "452 4.5.3"), 1); /* one past */
    assert_int_equal(c.nmsgs, 1);
    assert_int_equal(c.nrcpts_last, 3);
    finish(s, &c);
}

static void
test_command_limit(void **state)
{
    struct smtp_session_opts o = opts();
    struct convo c;
    struct smtp_session *s;
    size_t i;
    (void)state;

    o.max_cmds = 10;
    s = start(&o, &c);
    for (i = 0; i < 10; i++) {
        feed(s, &c, "NOOP\r\n", 0);
    }
    assert_int_equal(count(c.out.p, "250 2.0.0 Ok"), 10);
    assert_int_equal(c.closed, 0);
    feed(s, &c, "NOOP\r\n", 0);
    assert_true(has(&c, "421 4.7.0"));
    assert_int_equal(c.closed, 1);
    assert_int_equal(smtp_session_commands(s), 11);
    finish(s, &c);
}

static void
test_bad_sequences(void **state)
{
    struct smtp_session_opts o = opts();
    struct convo c;
    struct smtp_session *s = start(&o, &c);
    (void)state;

    feed(s, &c, "MAIL FROM:<>\r\n", 0);
    assert_true(has(&c, "503 5.5.1 Error: send HELO/EHLO first"));
    feed(s, &c, "RCPT TO:<a@bounce.example>\r\nDATA\r\n", 0);
    assert_true(has(&c, "503 5.5.1 Error: need MAIL command"));
    assert_true(has(&c, "503 5.5.1 Error: need RCPT command"));
    feed(s, &c, "HELO c\r\nMAIL FROM:<> SIZE=10\r\n", 0);
    assert_true(has(&c, "555 5.5.4 Error: parameters need EHLO"));
    feed(s, &c, "EHLO c\r\nMAIL FROM:<>\r\nMAIL FROM:<>\r\n", 0);
    assert_true(has(&c, "503 5.5.1 Error: nested MAIL command"));
    feed(s, &c, "RSET\r\nMAIL FROM:<a@b.example> RET=FULL\r\nMAIL FROM:<a b>\r\n", 0);
    assert_true(has(&c, "555 5.5.4 Error: unsupported MAIL parameter"));
    assert_true(has(&c, "501 5.1.7"));
    feed(s, &c, "MAIL TO:<>\r\nMAIL FROM:<unterminated\r\nMAIL FROM:<> BODY=BINARYMIME\r\n", 0);
    assert_true(has(&c, "501 5.5.4 Syntax: MAIL FROM:<address>"));
    assert_true(has(&c, "501 5.5.4 Error: bad BODY parameter"));
    feed(s, &c,
         "MAIL FROM:<>\r\nRCPT TO:<>\r\nRCPT TO:<nodomain>\r\nRCPT TO:<a@bounce.example> X=1\r\n",
         0);
    assert_true(has(&c, "501 5.1.3 Error: empty recipient"));
    assert_true(has(&c, "501 5.1.3 Error: bad recipient address syntax"));
    assert_true(has(&c, "555 5.5.4 Error: unsupported RCPT parameter"));
    feed(s, &c, "DATA now\r\nRSET x\r\nRSET\r\nDATA\r\n", 0);
    assert_true(has(&c, "501 5.5.4 Syntax: DATA"));
    assert_true(has(&c, "501 5.5.4 Syntax: RSET"));
    assert_int_equal(count(c.out.p, "503 5.5.1 Error: need RCPT command"), 2);
    assert_int_equal(c.nmsgs, 0);
    /* a too long address */
    {
        char cmd[700];
        memcpy(cmd, "MAIL FROM:<", 11);
        memset(cmd + 11, 'a', 300);
        memcpy(cmd + 311, "@b.example>\r\n", 14);
        feed(s, &c, cmd, 0);
        assert_true(has(&c, "553 5.1.7"));
    }
    finish(s, &c);
}

static void
test_lmtp(void **state)
{
    struct smtp_session_opts o = opts();
    struct convo c;
    struct smtp_session *s;
    (void)state;

    o.lmtp = true;
    s = start(&o, &c);
    assert_true(has(&c, "220 mx.test LMTP"));
    feed(s, &c, "EHLO c\r\nHELO c\r\n", 0);
    assert_int_equal(count(c.out.p, "500 5.5.1 Error: this is LMTP, use LHLO"), 2);
    feed(s, &c,
         "LHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@bounce.example>\r\nRCPT TO:<x@nope.example>\r\n"
         "RCPT TO:<b@bounce.example>\r\nDATA\r\nhello\r\n.\r\n",
         0);
    assert_true(has(&c, "250 2.0.0 <a@bounce.example> Ok: queued as Q1\r\n"
                        "250 2.0.0 <b@bounce.example> Ok: queued as Q1\r\n"));
    assert_int_equal(c.nmsgs, 1);
    /* too big in LMTP: one 552 per recipient */
    feed(s, &c,
         "MAIL FROM:<>\r\nRCPT TO:<a@bounce.example>\r\nRCPT TO:<b@bounce.example>\r\nDATA\r\n", 0);
    {
        char big[1200];
        memset(big, 'z', 800);
        memcpy(big + 800, "\r\n", 2);
        memset(big + 802, 'z', 300);
        memcpy(big + 1102, "\r\n.\r\n", 6);
        feed(s, &c, big, 0);
    }
    assert_int_equal(count(c.out.p, "552 5.3.4"), 2);
    assert_int_equal(c.nmsgs, 1);
    finish(s, &c);

    o.lmtp = false;
    s = start(&o, &c);
    feed(s, &c, "LHLO c\r\n", 0);
    assert_true(has(&c, "500 5.5.1 Error: command not recognized"));
    finish(s, &c);
}

static void
test_lmtp_deliver_failure(void **state)
{
    struct smtp_session_opts o = opts();
    struct smtp_session *s;
    size_t used, n;
    const char *in = "LHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@bounce.example>\r\n"
                     "RCPT TO:<b@bounce.example>\r\nDATA\r\nhi\r\n.\r\nNOOP\r\n";
    const char *out;
    (void)state;

    o.lmtp = true;
    s = smtp_session_new(&o);
    assert_int_equal(smtp_session_feed(s, in, strlen(in), &used), SMTP_EV_MESSAGE);
    assert_int_equal(used, strlen(in) - strlen("NOOP\r\n"));
    /* while the message is pending nothing more is consumed */
    assert_int_equal(smtp_session_feed(s, in + used, 6, &n), SMTP_EV_MESSAGE);
    assert_int_equal(n, 0);
    smtp_session_deliver(s, false, NULL);
    assert_int_equal(smtp_session_feed(s, in + used, 6, &n), SMTP_EV_NONE);
    out = smtp_session_output(s, &n);
    assert_non_null(strstr(out, "451 4.3.0 <a@bounce.example>"));
    assert_non_null(strstr(out, "451 4.3.0 <b@bounce.example>"));
    assert_non_null(strstr(out, "250 2.0.0 Ok\r\n"));
    assert_int_equal(smtp_session_accepted(s), 0);
    smtp_session_free(s);
}

static void
test_starttls(void **state)
{
    struct smtp_session_opts o = opts();
    struct convo c;
    struct smtp_session *s = start(&o, &c);
    (void)state;

    feed(s, &c, "EHLO c\r\nSTARTTLS\r\n", 0);
    assert_true(has(&c, "502 5.5.1 Error: command not implemented"));
    finish(s, &c);

    o.tls_offered = true;
    s = start(&o, &c);
    feed(s, &c, "STARTTLS\r\n", 0);
    assert_true(has(&c, "503 5.5.1"));
    feed(s, &c, "EHLO c\r\n", 0);
    assert_true(has(&c, "250-STARTTLS\r\n"));
    feed(s, &c, "STARTTLS x\r\n", 0);
    assert_true(has(&c, "501 5.5.4 Syntax: STARTTLS"));
    /* pipelined commands after STARTTLS are dropped by the caller */
    feed(s, &c, "STARTTLS\r\nMAIL FROM:<>\r\n", 0);
    assert_int_equal(c.starttls, 1);
    assert_true(has(&c, "220 2.0.0 Ready to start TLS"));
    assert_false(has(&c, "250 2.1.0"));
    /* after the handshake the EHLO state is forgotten */
    c.out.len = 0;
    c.out.p[0] = '\0';
    feed(s, &c, "MAIL FROM:<>\r\nEHLO c\r\nSTARTTLS\r\n", 0);
    assert_true(has(&c, "503 5.5.1 Error: send HELO/EHLO first"));
    assert_false(has(&c, "250-STARTTLS"));
    assert_true(has(&c, "503 5.5.1 Error: TLS already active"));
    {
        struct smtp_envelope env;
        smtp_session_envelope(s, &env);
        assert_true(env.tls);
        assert_true(env.esmtp);
        assert_string_equal(env.helo, "c");
    }
    finish(s, &c);
}

static void
test_dot_handling(void **state)
{
    struct smtp_session_opts o = opts();
    struct convo c;
    struct smtp_session *s = start(&o, &c);
    (void)state;

    feed(s, &c, "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@bounce.example>\r\nDATA\r\n", 0);
    /* bare-LF dot lines never end the data (SMTP smuggling), CRLF.CRLF does */
    feed(s, &c, "a\n.\nMAIL FROM:<x@y.example>\r\n\n.\r\nb\r\n.\n\r\n.\r\n", 0);
    assert_int_equal(c.nmsgs, 1);
    assert_string_equal(c.msgs.p, "a\n\nMAIL FROM:<x@y.example>\r\n\n\r\nb\r\n\n\r\n\n--END--\n");
    assert_int_equal(count(c.out.p, "250 2.1.0"), 1);
    finish(s, &c);

    /* an empty message, and a CR split from its LF across feeds */
    s = start(&o, &c);
    feed(s, &c, "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@bounce.example>\r\nDATA\r\n.\r", 0);
    feed(s, &c, "\n", 0);
    assert_int_equal(c.nmsgs, 1);
    assert_string_equal(c.msgs.p, "\n--END--\n");
    finish(s, &c);
}

static void
test_timeout_shutdown_refuse(void **state)
{
    struct smtp_session_opts o = opts();
    struct convo c;
    struct smtp_session *s = start(&o, &c);
    (void)state;

    smtp_session_timeout(s);
    drain(s, &c);
    assert_true(has(&c, "421 4.4.2"));
    feed(s, &c, "NOOP\r\n", 0);
    assert_int_equal(c.closed, 1);
    finish(s, &c);

    s = start(&o, &c);
    smtp_session_shutdown(s);
    drain(s, &c);
    assert_true(has(&c, "421 4.3.2"));
    finish(s, &c);

    s = smtp_session_new(&o);
    memset(&c, 0, sizeof(c));
    buf_init(&c.out, 0);
    buf_init(&c.msgs, 0);
    smtp_session_refuse(s, "421 4.7.0 mx.test Error: too many connections");
    drain(s, &c);
    assert_string_equal(c.out.p, "421 4.7.0 mx.test Error: too many connections\r\n");
    assert_true(smtp_session_closing(s));
    finish(s, &c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greeting_and_ehlo),
        cmocka_unit_test(test_pipelined_transaction),
        cmocka_unit_test(test_relay_and_unknown_domain),
        cmocka_unit_test(test_domain_ok),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_line_limits),
        cmocka_unit_test(test_recipient_limit),
        cmocka_unit_test(test_command_limit),
        cmocka_unit_test(test_bad_sequences),
        cmocka_unit_test(test_lmtp),
        cmocka_unit_test(test_lmtp_deliver_failure),
        cmocka_unit_test(test_starttls),
        cmocka_unit_test(test_dot_handling),
        cmocka_unit_test(test_timeout_shutdown_refuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
