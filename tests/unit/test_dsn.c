/*
 * test_dsn.c - RFC 3464 / RFC 6533 field groups through parse_message(): folding, comments,
 * case, missing blank lines, duplicated fields, status preference, address types, dates and
 * the returned message's headers.
 * layer: parse (links bnc_parse and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "parse/parse.h"

#define HEAD                                                           \
    "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"    \
    "To: sender@example.org\r\n"                                       \
    "Subject: Undelivered Mail Returned to Sender\r\n"                 \
    "Message-ID: <bounce-1@mx.example.net>\r\n"                        \
    "Date: Mon, 23 Nov 2026 01:00:00 +0000\r\n"                        \
    "MIME-Version: 1.0\r\n"                                            \
    "Content-Type: multipart/report; report-type=delivery-status;\r\n" \
    "\tboundary=\"BND\"\r\n\r\n"                                       \
    "--BND\r\nContent-Type: text/plain\r\n\r\nhuman text\r\n"          \
    "--BND\r\nContent-Type: message/delivery-status\r\n\r\n"

#define TAIL                                                                 \
    "\r\n--BND\r\nContent-Type: message/rfc822\r\n\r\n"                      \
    "From: sender@example.org\r\nTo: rcpt@example.com\r\nSubject: hello\r\n" \
    "Message-ID: <orig-1@example.org>\r\nX-Campaign: c42\r\n\r\nbody\r\n--BND--\r\n"

static struct bnc_report *
parse_str(const char *msg)
{
    struct parse_limits lim;
    struct bnc_report *r = NULL;
    struct guard_buf g;

    parse_limits_default(&lim);
    guard_init(&g, msg, strlen(msg));
    assert_int_equal(parse_message(&lim, g.p, g.len, &r), BNC_OK);
    guard_free(&g); /* the report holds its own copy */
    return r;
}

static void
test_basic(void **state)
{
    struct bnc_report *r = parse_str(
        HEAD "Reporting-MTA: dns; mx.example.net\r\nArrival-Date: Mon, 23 Nov 2026 00:59:00 "
             "+0000\r\n\r\nFinal-Recipient: rfc822; Rcpt@Example.com\r\nOriginal-Recipient: "
             "rfc822;rcpt@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; "
             "mx.example.com\r\nDiagnostic-Code: smtp; 550 5.1.1 <rcpt@example.com>: Recipient "
             "address rejected: User unknown\r\nLast-Attempt-Date: Mon, 23 Nov 2026 00:59:30 "
             "+0000\r\n" TAIL);
    const struct bnc_rcpt *rc;
    (void)state;

    assert_int_equal(r->nrcpts, 1);
    rc = &r->rcpts[0];
    assert_string_equal(rc->recipient, "rcpt@example.com");
    assert_string_equal(rc->original_recipient, "rcpt@example.com");
    assert_string_equal(rc->status, "5.1.1");
    assert_string_equal(rc->replycode, "550");
    assert_int_equal(rc->action, BNC_ACTION_FAILED);
    assert_string_equal(rc->diagnostic_type, "smtp");
    assert_string_equal(rc->diagnostic,
                        "550 5.1.1 <rcpt@example.com>: Recipient address rejected: User unknown");
    assert_string_equal(rc->remote_mta, "mx.example.com");
    assert_string_equal(rc->reporting_mta, "mx.example.net");
    assert_int_equal(rc->time, 1795395570);
    assert_string_equal(rc->origin, "dsn");
    assert_string_equal(rc->message_id, "bounce-1@mx.example.net");
    assert_string_equal(rc->original_message_id, "orig-1@example.org");
    assert_string_equal(r->orig_to, "rcpt@example.com");
    assert_string_equal(r->orig_subject, "hello");
    assert_string_equal(r->subject, "Undelivered Mail Returned to Sender");
    assert_int_equal(r->time, 1795395600);
    assert_int_equal(r->flags & (BNC_PF_NO_DSN_PART | BNC_PF_BAD_STATUS), 0);
    {
        struct bnc_slice v;
        assert_true(mime_header_raw(r->orig_headers, "x-campaign", &v));
        assert_int_equal(v.len, 3);
        assert_memory_equal(v.p, "c42", 3);
        assert_string_equal(report_orig_header(r, "X-CAMPAIGN"), "c42");
        assert_null(report_orig_header(r, "X-Missing"));
    }
    bnc_report_free(r);
}

static void
test_quirks(void **state)
{
    /* no per-message group, LF-only mixed in, folded diagnostic with a comment, lower-case
     * names, white space before the colon, groups without a blank line between them,
     * a duplicated Status (first wins), generic Status refined by the diagnostic */
    struct bnc_report *r = parse_str(HEAD "final-recipient: RFC822; <a@example.com> (first)\n"
                                          "ACTION : Failed (permanent)\r\n"
                                          "status: 5.0.0 (generic)\r\n"
                                          "Status: 4.4.1\r\n"
                                          "Diagnostic-Code: smtp;\r\n"
                                          "  550-5.2.2 mailbox\r\n"
                                          "\t  is full\r\n"
                                          "Final-Recipient: utf-8; b@example.com\n"
                                          "Action: delayed\n"
                                          "Status: 4.4.7\n"
                                          "\n"
                                          "Original-Recipient: rfc822;orig-c@example.com\n"
                                          "Action: failed\n"
                                          "Status: 550\n"
                                          "\n"
                                          "Final-Recipient: x-unknown; not an address\n"
                                          "X-Actual-Recipient: rfc822; d@example.com\n"
                                          "Action: failed\n"
                                          "Status: 5.1.1\n" TAIL);
    (void)state;

    assert_int_equal(r->nrcpts, 4);
    assert_string_equal(r->rcpts[0].recipient, "a@example.com");
    assert_int_equal(r->rcpts[0].action, BNC_ACTION_FAILED);
    assert_string_equal(r->rcpts[0].status, "5.2.2");
    assert_string_equal(r->rcpts[0].replycode, "550");
    assert_string_equal(r->rcpts[0].diagnostic, "550-5.2.2 mailbox is full");
    assert_string_equal(r->rcpts[1].recipient, "b@example.com");
    assert_int_equal(r->rcpts[1].action, BNC_ACTION_DELAYED);
    assert_string_equal(r->rcpts[1].status, "4.4.7");
    assert_string_equal(r->rcpts[2].recipient, "orig-c@example.com");
    assert_string_equal(r->rcpts[2].status, "");
    assert_string_equal(r->rcpts[2].replycode, "550");
    assert_true(r->flags & BNC_PF_BAD_STATUS);
    assert_string_equal(r->rcpts[3].recipient, "d@example.com");
    assert_string_equal(r->rcpts[3].status, "5.1.1");
    bnc_report_free(r);
}

/* A Diagnostic-Code wrapped onto lines without folding white space: the lines that are no
 * field continue it; the next field ends it. */
static void
test_unfolded_diagnostic(void **state)
{
    struct bnc_report *r = parse_str(HEAD "Final-Recipient: rfc822; a@example.com\r\n"
                                          "Action: failed\r\n"
                                          "Status: 5.2.0\r\n"
                                          "Diagnostic-Code: smtp; 552 5.2.0 rejected due to content judged to b\r\n"
                                          "e spam, see the page: <https://che\r\n"
                                          "ck.example.net/>\r\n"
                                          "Last-Attempt-Date: Mon, 23 Nov 2026 00:59:30 +0000\r\n"
                                          "Final-Recipient: rfc822; b@example.com\r\n"
                                          "Action: failed\r\n"
                                          "Status: 5.1.1\r\n" TAIL);
    (void)state;

    assert_int_equal(r->nrcpts, 2);
    assert_string_equal(r->rcpts[0].diagnostic, "552 5.2.0 rejected due to content judged to b e "
                                                "spam, see the page: <https://che ck.example.net/>");
    assert_string_equal(r->rcpts[1].recipient, "b@example.com");
    assert_string_equal(r->rcpts[1].status, "5.1.1");
    bnc_report_free(r);
}

/* Exim's X-Exim-Diagnostic is the diagnostic when no Diagnostic-Code gives one. */
static void
test_exim_diagnostic(void **state)
{
    struct bnc_report *r = parse_str(HEAD "Final-Recipient: rfc822; a@example.com\r\n"
                                          "Action: failed\r\n"
                                          "Status: 5.0.0\r\n"
                                          "X-Exim-Diagnostic: X-str; a TLS session is required, "
                                          "but the server did not offer TLS support\r\n"
                                          "\r\n"
                                          "Final-Recipient: rfc822; b@example.com\r\n"
                                          "Action: failed\r\n"
                                          "Status: 5.0.0\r\n"
                                          "X-Exim-Diagnostic: X-str; not this one\r\n"
                                          "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n" TAIL);
    (void)state;

    assert_int_equal(r->nrcpts, 2);
    assert_string_equal(r->rcpts[0].diagnostic,
                        "a TLS session is required, but the server did not offer TLS support");
    assert_string_equal(r->rcpts[1].diagnostic, "550 5.1.1 no such user");
    bnc_report_free(r);
}

static void
test_global_and_inline(void **state)
{
    /* RFC 6533 global delivery status with a UTF-8 address; text/rfc822-headers */
    static const char msg[] =
        "From: MAILER-DAEMON@mx.example.net\nSubject: failure\n"
        "Content-Type: multipart/report; report-type=global-delivery-status; boundary=b1\n\n"
        "--b1\nContent-Type: message/global-delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.net\n\n"
        "Final-Recipient: utf-8; \xe7\x8c\xab@example.jp\nAction: failed\nStatus: 5.1.1\n\n"
        "--b1\nContent-Type: text/rfc822-headers\n\n"
        "Message-ID: <orig-2@example.org>\nTo: =?UTF-8?B?54yr?= <\xe7\x8c\xab@example.jp>\n\n"
        "--b1--\n";
    struct bnc_report *r = parse_str(msg);
    (void)state;
    assert_int_equal(r->nrcpts, 1);
    assert_string_equal(r->rcpts[0].recipient, "\xe7\x8c\xab@example.jp");
    assert_string_equal(r->orig_message_id, "orig-2@example.org");
    assert_string_equal(r->orig_to, "\xe7\x8c\xab <\xe7\x8c\xab@example.jp>");
    bnc_report_free(r);
}

static void
test_no_dsn_part(void **state)
{
    /* fields pasted into a text part still count; the flag says there was no DSN part */
    static const char msg[] = "From: postmaster@example.net\nSubject: Delivery failure\n\n"
                              "Your message could not be delivered.\n\n"
                              "Final-Recipient: rfc822; e@example.com\nAction: failed\n"
                              "Status: 5.2.1\n";
    struct bnc_report *r = parse_str(msg);
    (void)state;
    assert_true(r->flags & BNC_PF_NO_DSN_PART);
    assert_int_equal(r->nrcpts, 1);
    assert_string_equal(r->rcpts[0].recipient, "e@example.com");
    assert_string_equal(r->rcpts[0].status, "5.2.1");
    bnc_report_free(r);
}

static void
test_missing_action(void **state)
{
    struct bnc_report *r =
        parse_str(HEAD "Final-Recipient: rfc822; g@example.com\r\nStatus: 4.2.2\r\n\r\n"
                       "Final-Recipient: rfc822; h@example.com\r\nStatus: 5.1.1\r\n\r\n"
                       "Final-Recipient: rfc822; i@example.com\r\n"
                       "Diagnostic-Code: smtp; 250 ok\r\n" TAIL);
    (void)state;
    assert_int_equal(r->nrcpts, 3);
    assert_int_equal(r->rcpts[0].action, BNC_ACTION_DELAYED);
    assert_int_equal(r->rcpts[1].action, BNC_ACTION_FAILED);
    assert_int_equal(r->rcpts[2].action, BNC_ACTION_DELIVERED);
    bnc_report_free(r);
}

static void
test_from_line(void **state)
{
    /* a leading mbox envelope line does not hide the header */
    struct bnc_report *r = parse_str(
        "From MAILER-DAEMON Mon Nov 23 01:00:00 2026\n" HEAD
        "Final-Recipient: rfc822; f@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n" TAIL);
    (void)state;
    assert_int_equal(r->nrcpts, 1);
    assert_string_equal(r->rcpts[0].recipient, "f@example.com");
    assert_string_equal(r->subject, "Undelivered Mail Returned to Sender");
    bnc_report_free(r);
}

static void
test_direct_fields(void **state)
{
    struct parse_limits lim;
    struct bnc_report *r = NULL;
    static const char f[] = "Reporting-MTA: dns; a.example\n\n"
                            "Final-Recipient: rfc822; x@example.com\nAction: relayed\n\n"
                            "Final-Recipient: rfc822; x@example.com\nAction: failed\n"
                            "Status: 5.0.0\n";
    struct guard_buf g;
    (void)state;
    parse_limits_default(&lim);
    assert_int_equal(parse_message(&lim, "", 0, &r), BNC_OK);
    guard_init(&g, f, sizeof(f) - 1);
    /* the same address with two different outcomes is two verdicts */
    assert_int_equal(dsn_parse_fields(r, g.p, g.len), 2);
    assert_int_equal(r->rcpts[0].action, BNC_ACTION_RELAYED);
    assert_int_equal(r->rcpts[1].action, BNC_ACTION_FAILED);
    assert_string_equal(r->rcpts[1].reporting_mta, "a.example");
    guard_free(&g);
    bnc_report_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_quirks),
        cmocka_unit_test(test_unfolded_diagnostic),
        cmocka_unit_test(test_exim_diagnostic),
        cmocka_unit_test(test_global_and_inline),
        cmocka_unit_test(test_no_dsn_part),
        cmocka_unit_test(test_missing_action),
        cmocka_unit_test(test_from_line),
        cmocka_unit_test(test_direct_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
