/*
 * test_events_stream.c - logs read line by line (events_stream_*, follow_stream): a log
 * split at every byte gives the verdicts it gives whole; the PowerMTA layout from the header
 * row or from record_fields; f records naming the address in rcpt, header_To or a VERP
 * header_Return-Path; Postfix and Exim queue ids carrying the original Message-ID; lines at
 * EVENTS_MAX_LINE and one past; the Mailgun legacy form and signature fields; the SNS host
 * rule; the [logs.NAME] configuration sections.
 * layer: ingest (links bnc_ingest and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "classify/classify.h"
#include "core/cfg.h"
#include "core/xmalloc.h"
#include "guard.h"
#include "ingest/events.h"
#include "ingest/follow.h"
#include "ingest/webhook_sns.h"

static bnc_ctx *ctx;

static const char maillog[] =
    "Mar  5 10:00:00 mx postfix/cleanup[1]: 4TqB1: message-id=<orig-1@sender.example>\n"
    "Mar  5 10:00:01 mx postfix/qmgr[2]: 4TqB1: from=<bounces@sender.example>, size=900, "
    "nrcpt=1 (queue active)\n"
    "Mar  5 10:00:02 mx postfix/smtp[3]: 4TqB1: to=<gone@example.net>, relay=mx.example.net"
    "[192.0.2.1]:25, delay=2, dsn=5.1.1, status=bounced (host said: 550 5.1.1 no such user)\n"
    "Mar  5 10:00:02 mx postfix/qmgr[2]: 4TqB1: removed\n"
    "Mar  5 10:00:03 mx postfix/smtp[3]: 4TqB1: to=<late@example.net>, relay=x, delay=2, "
    "dsn=5.1.1, status=bounced (550 5.1.1 no such user)\n";

static const char exim[] =
    "2026-03-05 10:00:00 1rhXyZ-000ABC-12 <= bounces@sender.example H=app [10.0.0.5] P=esmtp "
    "S=1234 id=orig-2@sender.example\n"
    "2026-03-05 10:00:01 1rhXyZ-000ABC-12 ** gone@example.org R=dnslookup T=remote_smtp "
    "H=mx.example.org [192.0.2.7]: SMTP error from remote mail server after RCPT "
    "TO:<gone@example.org>: 550 5.1.1 <gone@example.org>: Recipient address rejected\n"
    "2026-03-05 10:00:01 +0100 [4242] 1rhXyZ-000ABC-12 == slow@example.org R=dnslookup "
    "T=remote_smtp defer (-44) H=mx.example.org [192.0.2.7]: SMTP error from remote mail server "
    "after RCPT TO:<slow@example.org>: 451 4.7.1 greylisted\n"
    "2026-03-05 10:00:02 1rhXyZ-000ABC-12 => ok@example.org R=dnslookup T=remote_smtp "
    "H=mx.example.org [192.0.2.7] C=\"250 2.0.0 Ok\"\n"
    "2026-03-05 10:00:03 1rhXyZ-000ABC-12 Completed\n"
    "2026-03-05 10:00:04 H=(spam) [203.0.113.9] F=<x@spam.example> rejected RCPT "
    "<user@here.example>: 550 5.7.1 relay not permitted\n";

/* Verdicts of data fed to one stream in pieces of `step` bytes cut at line ends only. */
static size_t
stream_verdicts(enum events_format f, const char *rf, const char *data, size_t step,
                char out[][160], size_t max)
{
    struct events_stream *s = NULL;
    char err[256];
    size_t off = 0, n = 0, len = strlen(data);

    assert_int_equal(events_stream_new(f, rf, &s, err, sizeof(err)), BNC_OK);
    while (off < len) {
        size_t end = off + step < len ? off + step : len;
        bnc_report *r = NULL;
        size_t i;
        while (end < len && data[end - 1] != '\n') {
            end++;
        }
        assert_int_equal(
            events_stream_parse(ctx, s, data + off, end - off, &r, NULL, err, sizeof(err)), BNC_OK);
        for (i = 0; i < bnc_report_rcpt_count(r) && n < max; i++) {
            const struct bnc_rcpt *v = bnc_report_rcpt(r, i);
            snprintf(out[n++], 160, "%s %s %s %s", v->recipient, bnc_kind_name(v->kind), v->status,
                     v->original_message_id);
        }
        bnc_report_free(r);
        off = end;
    }
    events_stream_free(s);
    return n;
}

static void
test_split_anywhere(void **state)
{
    static const char *const fmts[] = {maillog, exim};
    static const enum events_format ff[] = {EVENTS_MAILLOG, EVENTS_EXIM};
    char whole[8][160], part[8][160];
    size_t k, step, nw, np, i;
    (void)state;

    for (k = 0; k < 2; k++) {
        nw = stream_verdicts(ff[k], NULL, fmts[k], strlen(fmts[k]), whole, 8);
        for (step = 1; step < 200; step += 7) {
            np = stream_verdicts(ff[k], NULL, fmts[k], step, part, 8);
            assert_int_equal(np, nw);
            for (i = 0; i < nw; i++) {
                assert_string_equal(part[i], whole[i]);
            }
        }
    }
}

static void
test_correlation(void **state)
{
    char v[8][160];
    (void)state;

    assert_int_equal(stream_verdicts(EVENTS_MAILLOG, NULL, maillog, 1 << 20, v, 8), 2);
    assert_string_equal(v[0], "gone@example.net hard 5.1.1 orig-1@sender.example");
    /* after "removed" the queue id is forgotten: no message id */
    assert_string_equal(v[1], "late@example.net hard 5.1.1 ");
    assert_int_equal(stream_verdicts(EVENTS_EXIM, NULL, exim, 1 << 20, v, 8), 3);
    assert_string_equal(v[0], "gone@example.org hard 5.1.1 orig-2@sender.example");
    assert_string_equal(v[1], "slow@example.org soft 4.7.1 orig-2@sender.example");
    assert_string_equal(v[2], "ok@example.org delivered  orig-2@sender.example");
}

static void
test_pmta_layouts(void **state)
{
    static const char fbl[] = "type,timeLogged,feedbackType,reportedDomain,header_To,"
                              "header_Return-Path\n"
                              "f,1700000000,abuse,example.com,\"Ann <ann@example.com>\",\n"
                              "f,1700000001,abuse,example.com,,bounces+bob=example.com@us.example\n"
                              "f,1700000002,abuse,example.com,,\n";
    static const char noheader[] = "b,1700000000,carl@example.com,5.1.1,bad-mailbox\n";
    char v[8][160], err[256];
    struct events_stream *s = NULL;
    (void)state;

    assert_int_equal(stream_verdicts(EVENTS_PMTA_FBL, NULL, fbl, 1 << 20, v, 8), 2);
    assert_string_equal(v[0], "ann@example.com complaint  ");
    assert_string_equal(v[1], "bob@example.com complaint  "); /* VERP Return-Path */
    assert_int_equal(stream_verdicts(EVENTS_PMTA, "type,timeLogged,rcpt,dsnStatus,bounceCat",
                                     noheader, 1 << 20, v, 8),
                     1);
    assert_string_equal(v[0], "carl@example.com hard 5.1.1 ");
    /* no header and no layout: not a PowerMTA file; a layout without an address column */
    assert_int_equal(events_stream_new(EVENTS_PMTA, NULL, &s, err, sizeof(err)), BNC_OK);
    {
        bnc_report *r = NULL;
        assert_int_equal(
            events_stream_parse(ctx, s, noheader, strlen(noheader), &r, NULL, err, sizeof(err)),
            BNC_EPARSE);
    }
    events_stream_free(s);
    assert_int_equal(events_stream_new(EVENTS_PMTA, "type,timeLogged", &s, err, sizeof(err)),
                     BNC_ECONFIG);
    assert_int_equal(events_stream_new(EVENTS_MAILLOG, "type,rcpt", &s, err, sizeof(err)),
                     BNC_ECONFIG);
    assert_int_equal(events_stream_new(EVENTS_SES, NULL, &s, err, sizeof(err)), BNC_EINVAL);
}

/* A line of exactly EVENTS_MAX_LINE bytes is read; one byte more is skipped and counted. */
static void
test_line_limit(void **state)
{
    static const char tail[] = ": to=<big@example.net>, relay=x, dsn=5.1.1, status=bounced (x)";
    size_t n, k;
    (void)state;

    for (k = 0; k < 2; k++) {
        size_t len = EVENTS_MAX_LINE + k;
        char *line = xmalloc(len + 1);
        struct events_stream *s = NULL;
        bnc_report *r = NULL;
        char err[256];
        memset(line, 'x', len);
        line[0] = 'Q';
        line[1] = ' ';
        memcpy(line + len - strlen(tail), tail, strlen(tail));
        line[len] = '\n';
        assert_int_equal(events_stream_new(EVENTS_MAILLOG, NULL, &s, err, sizeof(err)), BNC_OK);
        assert_int_equal(events_stream_parse(ctx, s, line, len + 1, &r, &n, err, sizeof(err)),
                         BNC_OK);
        assert_int_equal(bnc_report_rcpt_count(r), k == 0 ? 1 : 0);
        assert_int_equal(n, k);
        bnc_report_free(r);
        events_stream_free(s);
        free(line);
    }
}

static size_t applied;

static bnc_status
count_apply(void *ud, const bnc_report *r)
{
    (void)ud;
    applied += bnc_report_rcpt_count(r);
    return BNC_OK;
}

static void
test_follow_stream_pipe(void **state)
{
    int fds[2];
    size_t overlong = 9, half = 200;
    char err[256];
    (void)state;

    assert_int_equal(pipe(fds), 0);
    /* the writer stops in the middle of a line; the reader takes it at the end of input */
    assert_true(write(fds[1], maillog, half) == (ssize_t)half);
    assert_true(write(fds[1], maillog + half, strlen(maillog) - half - 1) ==
                (ssize_t)(strlen(maillog) - half - 1));
    close(fds[1]);
    applied = 0;
    assert_int_equal(follow_stream(fds[0], false, ctx, EVENTS_MAILLOG, NULL, count_apply, NULL,
                                   &overlong, err, sizeof(err)),
                     BNC_OK);
    close(fds[0]);
    assert_int_equal(applied, 2);
    assert_int_equal(overlong, 0);
}

static void
test_mailgun_form(void **state)
{
    static const char form[] = "event=bounced&recipient=Gone%40Example.org&code=550&error=5.1.1+"
                               "no+such+user&timestamp=1700000000&token=ab%2Bc&signature=00ff";
    char ts[32], tok[64], sig[80];
    bnc_report *r = NULL;
    char err[256];
    (void)state;

    assert_true(events_mailgun_signature(form, strlen(form), ts, sizeof(ts), tok, sizeof(tok), sig,
                                         sizeof(sig)));
    assert_string_equal(ts, "1700000000");
    assert_string_equal(tok, "ab+c");
    assert_string_equal(sig, "00ff");
    assert_false(
        events_mailgun_signature(form, strlen(form), ts, 4, tok, sizeof(tok), sig, sizeof(sig)));
    assert_int_equal(events_parse(ctx, EVENTS_MAILGUN, form, strlen(form), &r, err, sizeof(err)),
                     BNC_OK);
    assert_int_equal(bnc_report_rcpt_count(r), 1);
    assert_string_equal(bnc_report_rcpt(r, 0)->recipient, "gone@example.org");
    assert_int_equal(bnc_report_rcpt(r, 0)->kind, BNC_KIND_HARD);
    assert_string_equal(bnc_report_rcpt(r, 0)->replycode, "550");
    bnc_report_free(r);
}

static void
test_sns_hosts(void **state)
{
    (void)state;
    assert_true(sns_host_ok("https://sns.us-east-1.amazonaws.com/cert.pem"));
    assert_true(sns_host_ok("https://sns.cn-north-1.amazonaws.com.cn/?Action=x"));
    assert_false(sns_host_ok("http://sns.us-east-1.amazonaws.com/cert.pem"));
    assert_false(sns_host_ok("https://sns.us-east-1.amazonaws.com.evil.example/x"));
    assert_false(sns_host_ok("https://evil.example/sns.us-east-1.amazonaws.com/"));
    assert_false(sns_host_ok("https://x@sns.us-east-1.amazonaws.com/"));
    assert_false(sns_host_ok("https://sns.us-east-1.amazonaws.com:8443/"));
    assert_false(sns_host_ok("https://sns.evil.example.amazonaws.com/"));
    assert_false(sns_host_ok("https://s3.amazonaws.com/"));
    assert_false(sns_host_ok(NULL));
}

static void
test_cfg_logs(void **state)
{
    static const char ini[] = "[logs.pmta]\npath = /var/log/pmta/acct.csv\nformat = pmta\n"
                              "[logs.mail-1]\npath = /var/log/maillog\nformat = maillog\n"
                              "rotated_dir = /var/log/old\n";
    struct bnc_config c, d;
    char err[256];
    (void)state;

    cfg_init(&c);
    assert_int_equal(cfg_load_text(&c, "t", ini, err, sizeof(err)), BNC_OK);
    assert_int_equal(c.nlogs, 2);
    assert_string_equal(c.logs[1].name, "mail-1");
    assert_string_equal(c.logs[1].rotated_dir, "/var/log/old");
    cfg_copy(&d, &c);
    cfg_free(&c);
    assert_string_equal(d.logs[0].path, "/var/log/pmta/acct.csv");
    assert_int_equal(cfg_set(&d, "logs.x.color", "red", err, sizeof(err)), BNC_ECONFIG);
    assert_int_equal(cfg_set(&d, "logs.bad name.path", "/x", err, sizeof(err)), BNC_ECONFIG);
    assert_int_equal(cfg_set(&d, "logs.path", "/x", err, sizeof(err)), BNC_ECONFIG);
    cfg_free(&d);
}

/* One SES notification decoder for mail and webhooks: bounceType is read alike both ways
 * (a Transient bounce by mail is a delayed action, soft here; a Permanent NoEmail hard), and
 * the mailed copy may have had its long line wrapped by sendmail ("!", a line break and a
 * space). */
static void
test_ses_both_ways(void **state)
{
    static const char *const recs[2] = {
        "{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Transient\","
        "\"bounceSubType\":\"General\",\"bouncedRecipients\":[{\"emailAddress\":"
        "\"full@example.com\",\"status\":\"5.4.4\",\"diagnosticCode\":\"smtp; 550 5.4.4 "
        "unable to ro!\n ute\"}]},\"mail\":{\"messageId\":\"0102-a\"}}",
        "{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\","
        "\"bounceSubType\":\"NoEmail\",\"bouncedRecipients\":[{\"emailAddress\":"
        "\"gone@example.com\"}]},\"mail\":{\"messageId\":\"0102-b\"}}",
    };
    static const bnc_kind want[2] = {BNC_KIND_SOFT, BNC_KIND_HARD};
    char msg[2048], err[256];
    size_t k;
    (void)state;

    for (k = 0; k < 2; k++) {
        bnc_report *r = NULL;
        int n = snprintf(msg, sizeof(msg),
                         "From: no-reply@sns.amazonaws.com\r\nTo: bounces@example.org\r\n"
                         "Subject: AWS Notification Message\r\nDate: Mon, 5 Mar 2026 10:00:00 "
                         "+0000\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n%s\r\n",
                         recs[k]);
        assert_int_equal(bnc_parse(ctx, msg, (size_t)n, &r), BNC_OK);
        assert_int_equal(bnc_report_rcpt_count(r), 1);
        assert_int_equal(bnc_report_rcpt(r, 0)->kind, want[k]);
        assert_int_equal(bnc_report_rcpt(r, 0)->action, k ? BNC_ACTION_FAILED : BNC_ACTION_DELAYED);
        assert_string_equal(bnc_report_rcpt(r, 0)->original_message_id, k ? "0102-b" : "0102-a");
        bnc_report_free(r);
        if (k == 0) {
            continue; /* a raw line break inside a JSON string: only mail undoes that */
        }
        assert_int_equal(
            events_parse(ctx, EVENTS_SES, recs[k], strlen(recs[k]), &r, err, sizeof(err)), BNC_OK);
        assert_int_equal(bnc_report_rcpt(r, 0)->kind, want[k]);
        bnc_report_free(r);
    }
}

/* The built-in rules and defaults (no configuration file); freed by the last call. */
static int
ctx_up_down(void **state)
{
    bool up = *state == NULL;

    if (up) {
        *state = &ctx;
        return bnc_ctx_new(NULL, &ctx) == BNC_OK ? 0 : -1;
    }
    bnc_ctx_free(ctx);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_anywhere),     cmocka_unit_test(test_correlation),
        cmocka_unit_test(test_pmta_layouts),       cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_follow_stream_pipe), cmocka_unit_test(test_mailgun_form),
        cmocka_unit_test(test_sns_hosts),          cmocka_unit_test(test_cfg_logs),
        cmocka_unit_test(test_ses_both_ways),
    };
    return cmocka_run_group_tests(tests, ctx_up_down, ctx_up_down);
}
