/*
 * test_events.c - webhook and MTA-log normalisers (src/ingest/events*.c): one case per
 * vendor event type, the vendor-judgement rules, the JSON depth and body limits at the
 * bound and one past, malformed input, and the signature checks.
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

#include "classify/classify.h"
#include "core/cfg.h"
#include "core/xmalloc.h"
#include "guard.h"
#include "ingest/events.h"

static bnc_ctx *ctx;

struct want {
    const char *rcpt;
    bnc_kind kind;
    const char *reason; /* NULL: any */
};

static void
expect(enum events_format f, const char *data, const struct want *w, size_t nw)
{
    struct guard_buf g;
    bnc_report *r = NULL;
    char err[256];
    size_t i;

    guard_init(&g, data, strlen(data));
    assert_int_equal(events_parse(ctx, f, g.p, g.len, &r, err, sizeof(err)), BNC_OK);
    if (bnc_report_rcpt_count(r) != nw) {
        fail_msg("%s: %zu verdicts, want %zu", events_format_name(f), bnc_report_rcpt_count(r),
                 nw);
    }
    for (i = 0; i < nw; i++) {
        const struct bnc_rcpt *v = bnc_report_rcpt(r, i);
        assert_string_equal(v->recipient, w[i].rcpt);
        if (v->kind != w[i].kind) {
            fail_msg("%s %s: kind %s, want %s (reason %s, decided_by %s)",
                     events_format_name(f), v->recipient, bnc_kind_name(v->kind),
                     bnc_kind_name(w[i].kind), bnc_reason_name(v->reason), v->decided_by);
        }
        if (w[i].reason != NULL) {
            assert_string_equal(bnc_reason_name(v->reason), w[i].reason);
        }
        assert_string_equal(v->origin, events_format_origin(f));
    }
    bnc_report_free(r);
    guard_free(&g);
}

static void
test_ses(void **state)
{
    static const char sns[] =
        "{\"Type\":\"Notification\",\"Message\":\"{\\\"notificationType\\\":\\\"Bounce\\\","
        "\\\"bounce\\\":{\\\"bounceType\\\":\\\"Permanent\\\",\\\"bounceSubType\\\":"
        "\\\"NoEmail\\\",\\\"bouncedRecipients\\\":[{\\\"emailAddress\\\":"
        "\\\"Gone@Example.com\\\"}],\\\"timestamp\\\":\\\"2026-01-02T03:04:05.000Z\\\"}}\"}";
    static const char transient[] =
        "{\"eventType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Transient\",\"bounceSubType\":"
        "\"MailboxFull\",\"bouncedRecipients\":[{\"emailAddress\":\"full@example.com\","
        "\"status\":\"5.2.2\",\"diagnosticCode\":\"smtp; 552 5.2.2 mailbox full\"}]}}";
    static const char complaint[] =
        "{\"notificationType\":\"Complaint\",\"complaint\":{\"complainedRecipients\":"
        "[{\"emailAddress\":\"angry@example.com\"}],\"complaintFeedbackType\":\"abuse\"}}";
    static const char sub[] = "{\"Type\":\"SubscriptionConfirmation\",\"SubscribeURL\":\"x\"}";
    static const char hello[] = "{\"Type\":\"Notification\",\"Message\":\"hello world\"}";
    const struct want w1[] = {{"gone@example.com", BNC_KIND_HARD, "userunknown"}};
    const struct want w2[] = {{"full@example.com", BNC_KIND_SOFT, "mailboxfull"}};
    const struct want w3[] = {{"angry@example.com", BNC_KIND_COMPLAINT, "feedback"}};
    (void)state;
    expect(EVENTS_SES, sns, w1, 1);
    expect(EVENTS_SES, transient, w2, 1); /* Transient never hard, whatever the code */
    expect(EVENTS_SES, complaint, w3, 1);
    expect(EVENTS_SES, sub, NULL, 0);
    expect(EVENTS_SES, hello, NULL, 0);
}

static void
test_sendgrid(void **state)
{
    static const char batch[] =
        "[{\"email\":\"a@example.com\",\"event\":\"bounce\",\"type\":\"bounce\","
        "\"status\":\"5.1.1\",\"reason\":\"550 5.1.1 user unknown\",\"timestamp\":1700000000},"
        " {\"email\":\"b@example.com\",\"event\":\"bounce\",\"type\":\"blocked\","
        "\"status\":\"5.7.1\",\"reason\":\"550 5.7.1 blocked using zen.spamhaus.org\"},"
        " {\"email\":\"c@example.com\",\"event\":\"dropped\",\"reason\":\"Bounced Address\"},"
        " {\"email\":\"d@example.com\",\"event\":\"open\"},"
        " {\"email\":\"e@example.com\",\"event\":\"spamreport\"},"
        " {\"email\":\"f@example.com\",\"event\":\"delivered\",\"response\":\"250 OK\"},"
        " {\"email\":\"g@example.com\",\"event\":\"deferred\",\"response\":\"421 try later\"}]";
    const struct want w[] = {
        {"a@example.com", BNC_KIND_HARD, "userunknown"},
        {"b@example.com", BNC_KIND_SOFT, NULL},
        {"c@example.com", BNC_KIND_HARD, "suppressed"},
        {"e@example.com", BNC_KIND_COMPLAINT, "feedback"},
        {"f@example.com", BNC_KIND_DELIVERED, "delivered"},
        {"g@example.com", BNC_KIND_SOFT, NULL},
    };
    (void)state;
    expect(EVENTS_SENDGRID, batch, w, sizeof(w) / sizeof(w[0]));
}

static void
test_mailgun_postmark_sparkpost(void **state)
{
    static const char mg[] =
        "{\"signature\":{},\"event-data\":{\"event\":\"failed\",\"severity\":\"permanent\","
        "\"recipient\":\"x@example.com\",\"delivery-status\":{\"code\":550,"
        "\"message\":\"No Such User Here\"}}}";
    static const char mg_sender[] =
        "{\"event-data\":{\"event\":\"failed\",\"severity\":\"permanent\","
        "\"recipient\":\"y@example.com\",\"delivery-status\":{\"code\":554,\"enhanced-code\":"
        "\"5.7.1\",\"message\":\"Service unavailable; client host blocked using "
        "bl.spamcop.net\"}}}";
    static const char pm[] = "{\"RecordType\":\"Bounce\",\"Type\":\"SoftBounce\",\"TypeCode\":4096,"
                             "\"Email\":\"p@example.com\",\"Details\":\"mailbox full\"}";
    static const char pm_c[] = "{\"RecordType\":\"SpamComplaint\",\"Email\":\"q@example.com\"}";
    static const char sp[] = "[{\"msys\":{\"message_event\":{\"type\":\"bounce\",\"bounce_class\":"
                             "\"10\",\"rcpt_to\":\"s@example.com\",\"raw_reason\":\"550 5.1.1 "
                             "unknown user\",\"error_code\":\"550\"}}},"
                             "{\"msys\":{\"track_event\":{\"type\":\"click\",\"rcpt_to\":\"t@x.com\"}}}]";
    const struct want w_mg[] = {{"x@example.com", BNC_KIND_HARD, NULL}};
    /* permanent, but the receiver refused the sender: never suppress the address */
    const struct want w_mg2[] = {{"y@example.com", BNC_KIND_SOFT, NULL}};
    const struct want w_pm[] = {{"p@example.com", BNC_KIND_SOFT, NULL}};
    const struct want w_pmc[] = {{"q@example.com", BNC_KIND_COMPLAINT, "feedback"}};
    const struct want w_sp[] = {{"s@example.com", BNC_KIND_HARD, "userunknown"}};
    (void)state;
    expect(EVENTS_MAILGUN, mg, w_mg, 1);
    expect(EVENTS_MAILGUN, mg_sender, w_mg2, 1);
    expect(EVENTS_POSTMARK, pm, w_pm, 1);
    expect(EVENTS_POSTMARK, pm_c, w_pmc, 1);
    expect(EVENTS_SPARKPOST, sp, w_sp, 1);
}

static void
test_logs(void **state)
{
    static const char pmta[] =
        "type,timeLogged,rcpt,dsnStatus,dsnDiag,bounceCat,feedbackType\r\n"
        "d,1700000000,ok@example.com,2.0.0 (success),smtp;250 ok,,\r\n"
        "b,1700000001,dead@example.com,5.1.1 (bad destination mailbox address),"
        "\"smtp;550 5.1.1 <dead@example.com>... User unknown, \"\"really\"\"\",bad-mailbox,\r\n"
        "b,1700000002,full@example.com,5.2.2 (mailbox full),smtp;552 quota,quota-issues,\r\n"
        "t,1700000003,later@example.com,4.7.0,smtp;421 try later,policy-related,\r\n"
        "f,1700000004,fbl@example.com,,,,abuse\r\n";
    static const char maillog[] =
        "Jan  5 14:21:51 mx postfix/smtp[2500]: 39D9336AFA81: to=<u@example.org>, "
        "relay=mx.example.org[192.0.2.1]:25, delay=1, dsn=5.1.1, status=bounced (host "
        "mx.example.org[192.0.2.1] said: 550 5.1.1 <u@example.org>: Recipient address "
        "rejected: User unknown (in reply to RCPT TO command))\n"
        "Jan  5 14:22:00 mx postfix/smtpd[7453]: NOQUEUE: reject: RCPT from x[192.0.2.9]: "
        "550 5.1.1 <in@example.net>: Recipient address rejected; from=<a@b> to=<in@example.net>\n"
        "2026-01-05T14:23:00.123456+00:00 mx postfix/smtp[2501]: 4AB: to=<v@example.org>, "
        "relay=none, delay=9, dsn=4.4.1, status=deferred (connect to mx[192.0.2.2]:25: "
        "Connection timed out)\n"
        "Jan  5 14:24:00 mx postfix/local[2502]: 5CD: to=<w@example.org>, relay=local, "
        "dsn=2.0.0, status=sent (delivered to mailbox)\n";
    const struct want w_pmta[] = {
        {"ok@example.com", BNC_KIND_DELIVERED, "delivered"},
        {"dead@example.com", BNC_KIND_HARD, "userunknown"},
        {"full@example.com", BNC_KIND_SOFT, "mailboxfull"},
        {"later@example.com", BNC_KIND_SOFT, NULL},
        {"fbl@example.com", BNC_KIND_COMPLAINT, "feedback"},
    };
    const struct want w_ml[] = {
        {"u@example.org", BNC_KIND_HARD, "userunknown"},
        {"v@example.org", BNC_KIND_SOFT, NULL},
        {"w@example.org", BNC_KIND_DELIVERED, "delivered"},
    };
    (void)state;
    expect(EVENTS_PMTA, pmta, w_pmta, sizeof(w_pmta) / sizeof(w_pmta[0]));
    expect(EVENTS_MAILLOG, maillog, w_ml, sizeof(w_ml) / sizeof(w_ml[0]));
}

static void
test_malformed(void **state)
{
    static const char *bad[] = {"", "{", "[1,2", "\"str\"", "{\"a\":\"\\u12\"}", "\x01\x02\xff",
                                "null"};
    bnc_report *r;
    char err[256];
    size_t i;
    int f;
    (void)state;
    for (f = EVENTS_SES; f <= EVENTS_SPARKPOST; f++) {
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            struct guard_buf g;
            bnc_status rc;
            guard_init(&g, bad[i], strlen(bad[i]));
            r = NULL;
            rc = events_parse(ctx, (enum events_format)f, g.p, g.len, &r, err, sizeof(err));
            /* never a crash; either a clear error or an empty result */
            if (rc == BNC_OK) {
                assert_int_equal(bnc_report_rcpt_count(r), 0);
            } else {
                assert_int_equal(rc, BNC_EPARSE);
                assert_true(err[0] != '\0');
            }
            bnc_report_free(r);
            guard_free(&g);
        }
    }
    /* a PowerMTA file without its header is refused with a reason */
    assert_int_equal(events_parse(ctx, EVENTS_PMTA, "b,1,x@y.z\n", 10, &r, err, sizeof(err)),
                     BNC_EPARSE);
    assert_non_null(strstr(err, "header"));
}

static char *
nested(size_t depth)
{
    /* depth levels of arrays around one SendGrid event object (itself one level) */
    char *s = xmalloc(2 * depth + 64);
    size_t i, n = 0;
    for (i = 0; i + 1 < depth; i++) {
        s[n++] = '[';
    }
    n += (size_t)snprintf(s + n, 64, "{\"event\":\"open\"}");
    for (i = 0; i + 1 < depth; i++) {
        s[n++] = ']';
    }
    s[n] = '\0';
    return s;
}

static void
test_limits(void **state)
{
    const struct bnc_config *cfg = bnc_ctx_config(ctx);
    size_t depth = (size_t)cfg->limit_json_depth, lim = cfg->limit_webhook_body;
    bnc_report *r = NULL;
    char err[256], *s, *big;
    (void)state;

    s = nested(depth); /* at the bound */
    assert_int_equal(events_parse(ctx, EVENTS_SENDGRID, s, strlen(s), &r, err, sizeof(err)),
                     BNC_OK);
    bnc_report_free(r);
    free(s);
    s = nested(depth + 1); /* one past */
    assert_int_equal(events_parse(ctx, EVENTS_SENDGRID, s, strlen(s), &r, err, sizeof(err)),
                     BNC_EPARSE);
    assert_non_null(strstr(err, "deeper"));
    free(s);

    big = xmalloc(lim + 1);
    memset(big, ' ', lim + 1);
    big[0] = '[';
    big[lim - 1] = ']';
    assert_int_equal(events_parse(ctx, EVENTS_SENDGRID, big, lim, &r, err, sizeof(err)), BNC_OK);
    bnc_report_free(r);
    assert_int_equal(events_parse(ctx, EVENTS_SENDGRID, big, lim + 1, &r, err, sizeof(err)),
                     BNC_ELIMIT);
    free(big);
}

static void
test_signatures(void **state)
{
    static const char body[] = "[{\"email\":\"hello@world.com\",\"event\":\"dropped\",\"reason\":\"Bounced Address\",\"sg_event_id\":\"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA\",\"sg_message_id\":\"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0\",\"smtp-id\":\"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>\",\"timestamp\":1600112492}]\r\n"
    "";
    static const char key[] = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAf"
                              "SmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
    static const char sig[] = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0"
                              "JuG+luQAbPIqHh89M15TluLtEZtM=";
    (void)state;
    assert_true(events_sendgrid_verify(key, "1600112502", body, strlen(body), sig));
    assert_false(events_sendgrid_verify(key, "1600112503", body, strlen(body), sig));
    assert_false(events_sendgrid_verify(key, "1600112502", body, strlen(body) - 1, sig));
    assert_false(events_sendgrid_verify("not base64!", "1600112502", body, strlen(body), sig));

    assert_true(events_mailgun_verify(
        "key-abc123", "1661590666", "fff0ebc59c0516f4ce0823212a2f45e5c67814420b99fe558b",
        "cc14b3e0bc53439359aad03c8db76ff55c4c54af7e024b8bf1d2134f2839216f"));
    assert_false(events_mailgun_verify(
        "key-abc124", "1661590666", "fff0ebc59c0516f4ce0823212a2f45e5c67814420b99fe558b",
        "cc14b3e0bc53439359aad03c8db76ff55c4c54af7e024b8bf1d2134f2839216f"));
    assert_false(events_mailgun_verify("key-abc123", "1661590666", "t", "zz"));
}

static int
setup(void **state)
{
    struct bnc_config cfg;
    (void)state;
    cfg_init(&cfg);
    if (bnc_ctx_new_config(&cfg, &ctx) != BNC_OK) {
        cfg_free(&cfg);
        return -1;
    }
    cfg_free(&cfg);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    bnc_ctx_free(ctx);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ses),        cmocka_unit_test(test_sendgrid),
        cmocka_unit_test(test_mailgun_postmark_sparkpost),
        cmocka_unit_test(test_logs),       cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),     cmocka_unit_test(test_signatures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
