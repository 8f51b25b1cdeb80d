/*
 * test_formats.c - the non-RFC recognizers, ARF and auto-replies on small hand-written
 * messages, one per layout: qmail, Postfix plain text, Exim, Sendmail transcript lines,
 * Exchange recipient lists (X.400 prefix), a Gmail-style separate error paragraph, a delay
 * warning, Amazon SES JSON (bounce and delivery), ARF, auto-replies (English, Japanese), a
 * DSN whose diagnostic is only in the text part, and an ordinary reply (not a bounce).
 * Each checks recipients, reason and hard through the public bnc_parse().
 * layer: classify (links bnc_classify and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bounced.h"
#include "classify/classify.h"
#include "core/cfg.h"

static bnc_ctx *ctx;

static int
setup(void **state)
{
    struct bnc_config cfg;
    (void)state;
    cfg_init(&cfg);
    free(cfg.rules_dir);
    cfg.rules_dir = NULL; /* no user rules from the working directory */
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

static bnc_report *
parse(const char *msg)
{
    bnc_report *r = NULL;
    assert_int_equal(bnc_parse(ctx, msg, strlen(msg), &r), BNC_OK);
    assert_non_null(r);
    return r;
}

/* The verdict for addr, or a test failure. */
static const struct bnc_rcpt *
rcpt(const bnc_report *r, const char *addr)
{
    size_t i;
    for (i = 0; i < bnc_report_rcpt_count(r); i++) {
        const struct bnc_rcpt *rc = bnc_report_rcpt(r, i);
        if (strcmp(rc->recipient, addr) == 0) {
            return rc;
        }
    }
    fail_msg("no verdict for %s (%zu verdicts)", addr, bnc_report_rcpt_count(r));
    return NULL;
}

static void
expect(const bnc_report *r, const char *addr, bnc_reason reason, int hard)
{
    const struct bnc_rcpt *rc = rcpt(r, addr);
    if (rc->reason != reason || rc->hard != hard) {
        fail_msg("%s: got %s hard=%d (diag '%s', by %s); want %s hard=%d", addr,
                 bnc_reason_name(rc->reason), rc->hard, rc->diagnostic, rc->decided_by,
                 bnc_reason_name(reason), hard);
    }
}

static void
test_qmail(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: MAILER-DAEMON@mx.example.net\n"
              "Subject: failure notice\n"
              "To: sender@example.org\n"
              "\n"
              "Hi. This is the qmail-send program at mx.example.net.\n"
              "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
              "This is a permanent error; I've given up. Sorry it didn't work out.\n"
              "\n"
              "<gone@example.com>:\n"
              "203.0.113.5 does not like recipient.\n"
              "Remote host said: 550 5.1.1 <gone@example.com>: no such user here\n"
              "Giving up on 203.0.113.5.\n"
              "\n"
              "<full@example.com>:\n"
              "Remote host said: 552 5.2.2 <full@example.com>: mailbox is full\n"
              "\n"
              /* the remote's reply quotes another spelling or the alias's target: a
               * quoted reply, not a recipient of its own */
              "<Alias@Example.com>:\n"
              "Remote host said: 550 5.1.1 <target@example.net>: Recipient address rejected:\n"
              "550 5.1.1 <alias@example.com>: User unknown in virtual alias table\n"
              "Giving up on 203.0.113.5.\n"
              "\n"
              "--- Below this line is a copy of the message.\n"
              "\n"
              "Return-Path: <sender@example.org>\n"
              "To: gone@example.com, full@example.com, Alias@Example.com\n"
              "Subject: hi\n"
              "\n"
              "hello\n");
    assert_int_equal(bnc_report_rcpt_count(r), 3);
    expect(r, "gone@example.com", BNC_R_USERUNKNOWN, 1);
    expect(r, "full@example.com", BNC_R_MAILBOXFULL, 0);
    expect(r, "alias@example.com", BNC_R_USERUNKNOWN, 1);
    assert_string_equal(rcpt(r, "gone@example.com")->status, "5.1.1");
    assert_string_equal(rcpt(r, "gone@example.com")->origin, "format:qmail");
    bnc_report_free(r);
}

/* Sendmail pipelines RCPT TO and DATA: Postfix's answer to the RCPT TO shows after ">>> DATA"
 * in the transcript; the recipient was never accepted, so it is its address that is dead. */
static void
test_sendmail_pipelined_rcpt(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: MAILER-DAEMON@mta.example.org (Mail Delivery Subsystem)\n"
              "Subject: Returned mail: see transcript for details\n"
              "To: sender@example.org\n"
              "MIME-Version: 1.0\n"
              "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n"
              "\n"
              "--B\n"
              "\n"
              "   ----- The following addresses had permanent fatal errors -----\n"
              "<gone@example.net>\n"
              "    (reason: 550 5.7.1 <gone@example.net>: Recipient address rejected: User "
              "unknown)\n"
              "\n"
              "   ----- Transcript of session follows -----\n"
              "... while talking to mx.example.net.:\n"
              ">>> DATA\n"
              "<<< 550 5.7.1 <gone@example.net>: Recipient address rejected: User unknown\n"
              "550 5.1.1 <gone@example.net>... User unknown\n"
              "<<< 554 5.5.1 Error: no valid recipients\n"
              "\n"
              "--B\n"
              "Content-Type: message/delivery-status\n"
              "\n"
              "Reporting-MTA: dns; mta.example.org\n"
              "\n"
              "Final-Recipient: RFC822; gone@example.net\n"
              "Action: failed\n"
              "Status: 5.7.1\n"
              "Diagnostic-Code: SMTP; 550 5.7.1 <gone@example.net>: Recipient address "
              "rejected: User unknown\n"
              "\n"
              "--B--\n");
    expect(r, "gone@example.net", BNC_R_USERUNKNOWN, 1);
    bnc_report_free(r);
}

/* The same transcript with a reply that is not Postfix's: the reply DATA itself got ("503
 * 5.0.0 Need RCPT") after the one naming the recipient says which answered the RCPT TO.
 * Without a reply after it, the one naming the recipient answered DATA. */
static bnc_report *
sendmail_after_data(const char *transcript)
{
    char msg[2048];
    snprintf(msg, sizeof(msg),
             "From: MAILER-DAEMON@mta.example.org (Mail Delivery Subsystem)\n"
             "Subject: Returned mail: see transcript for details\n"
             "MIME-Version: 1.0\n"
             "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n"
             "\n"
             "--B\n"
             "\n"
             "   ----- The following addresses had permanent fatal errors -----\n"
             "<gone@example.net>\n"
             "    (reason: 550 5.0.0 <gone@example.net>... User unknown)\n"
             "\n"
             "   ----- Transcript of session follows -----\n"
             "... while talking to mx.example.net.:\n"
             ">>> DATA\n"
             "%s"
             "\n"
             "--B\n"
             "Content-Type: message/delivery-status\n"
             "\n"
             "Reporting-MTA: dns; mta.example.org\n"
             "\n"
             "Final-Recipient: RFC822; gone@example.net\n"
             "Action: failed\n"
             "Status: 5.0.0\n"
             "Diagnostic-Code: SMTP; 550 5.0.0 <gone@example.net>... User unknown\n"
             "\n"
             "--B--\n",
             transcript);
    return parse(msg);
}

static void
test_sendmail_pipelined_reply_order(void **state)
{
    bnc_report *r;
    (void)state;
    r = sendmail_after_data("<<< 550 5.0.0 <gone@example.net>... User unknown\n"
                            "550 5.1.1 <gone@example.net>... User unknown\n"
                            "<<< 503 5.0.0 Need RCPT (recipient)\n");
    expect(r, "gone@example.net", BNC_R_USERUNKNOWN, 1);
    assert_string_equal(rcpt(r, "gone@example.net")->smtp_command, "RCPT");
    bnc_report_free(r);
    /* a multi-line reply is one reply: its continuation lines are not a second one */
    r = sendmail_after_data("<<< 550-5.0.0 <gone@example.net>... User unknown\n"
                            "<<< 550 5.0.0 see our policy\n");
    assert_string_equal(rcpt(r, "gone@example.net")->smtp_command, "DATA");
    expect(r, "gone@example.net", BNC_R_FILTERED, 0);
    bnc_report_free(r);
    r = sendmail_after_data("<<< 550 5.0.0 <gone@example.net>... User unknown\n");
    assert_string_equal(rcpt(r, "gone@example.net")->smtp_command, "DATA");
    bnc_report_free(r);
}

/* An address at the end of a sentence ("... to a@b.example. See ..."), and a recipient named
 * on the line that announces the list. */
static void
test_address_before_full_stop(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
              "To: sender@example.org\n"
              "Subject: Delivery Status Notification (Failure)\n"
              "\n"
              "** Message not delivered **\n"
              "\n"
              "There was a problem delivering your message to gone@example.net. See the "
              "technical details below.\n"
              "\n"
              "The response was:\n"
              "\n"
              "The email account that you tried to reach does not exist.\n");
    assert_int_equal(bnc_report_rcpt_count(r), 1);
    expect(r, "gone@example.net", BNC_R_USERUNKNOWN, 1);
    assert_string_equal(rcpt(r, "gone@example.net")->origin, "format:gmail");
    bnc_report_free(r);
    /* Gmail's delay notice, without the remote's answer: still being tried */
    r = parse("From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
              "To: sender@example.org\n"
              "Subject: Delivery Status Notification (Delay)\n"
              "\n"
              "** Delivery incomplete **\n"
              "\n"
              "There was a temporary problem delivering your message to slow@example.net. "
              "Gmail will retry for 46 more hours. You'll be notified if the delivery fails "
              "permanently.\n");
    assert_int_equal(bnc_report_rcpt_count(r), 1);
    expect(r, "slow@example.net", BNC_R_EXPIRED, 0);
    assert_int_equal(rcpt(r, "slow@example.net")->action, BNC_ACTION_DELAYED);
    bnc_report_free(r);
    r = parse("From: postmaster@mx.example.net\n"
              "To: sender@example.org\n"
              "Subject: Delivery failure\n"
              "\n"
              "We had trouble delivering your message. Full details follow:\n"
              "\n"
              "The following recipients returned permanent errors: full@example.net. Reason: "
              "SMTP Server <192.0.2.1> refused to accept your message (RCPT), with the "
              "following error message: [552 5.2.2 Mailbox full]\n");
    assert_int_equal(bnc_report_rcpt_count(r), 1);
    expect(r, "full@example.net", BNC_R_MAILBOXFULL, 0);
    assert_true(strncmp(rcpt(r, "full@example.net")->origin, "format:", 7) == 0);
    bnc_report_free(r);
}

/* A CJK notice joins its label and the address with a full-width colon ("收件人：a@b"): the
 * colon and the label are not the local part. */
static void
test_address_after_fullwidth_colon(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: PostMaster <PostMaster@qq.example>\n"
              "To: sender@example.org\n"
              "Subject: =?UTF-8?B?6YCA5L+h?=\n"
              "MIME-Version: 1.0\n"
              "Content-Type: text/plain; charset=utf-8\n"
              "\n"
              "\xe5\x8e\x9f\xe9\x82\xae\xe4\xbb\xb6\xe4\xbf\xa1\xe6\x81\xaf\xef\xbc\x9a\n"
              "  \xe6\x94\xb6\xe4\xbb\xb6\xe4\xba\xba\xef\xbc\x9agone@example.net\n"
              "\n"
              "\xe9\x80\x80\xe4\xbf\xa1\xe5\x8e\x9f\xe5\x9b\xa0\xef\xbc\x9a\n"
              "\xe6\x94\xb6\xe4\xbb\xb6\xe4\xba\xba\xe4\xb8\x8d\xe5\xad\x98\xe5\x9c\xa8 "
              "(The recipient does not exist)\n");
    assert_int_equal(bnc_report_rcpt_count(r), 1);
    expect(r, "gone@example.net", BNC_R_USERUNKNOWN, 1);
    bnc_report_free(r);
}

/* Postfix wraps the remote's reply onto indented lines; one may start with an address the
 * reply names (here the sender), which is no recipient of its own. */
static void
test_postfix_wrapped_address(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
              "Subject: Undelivered Mail Returned to Sender\n"
              "To: news@sender.example\n"
              "\n"
              "This is the mail system at host mx.example.net.\n"
              "\n"
              "<live@relay.example>: host\n"
              "    mx.relay.example[192.0.2.9] said: 550 5.1.1\n"
              "    <bounces+x1@sender.example>: unauthorized sender (in\n"
              "    reply to RCPT TO command)\n");
    assert_int_equal(bnc_report_rcpt_count(r), 1);
    expect(r, "live@relay.example", BNC_R_REJECTED, 0);
    bnc_report_free(r);
}

/* Sendmail's DSN keeps only the first line of a multi-line reply; the transcript holds the
 * rest, and the words that decide may be on a later line. */
static void
test_sendmail_multiline_reply(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: MAILER-DAEMON@mta.example.org (Mail Delivery Subsystem)\n"
              "Subject: Returned mail: see transcript for details\n"
              "To: sender@example.org\n"
              "MIME-Version: 1.0\n"
              "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n"
              "\n"
              "--B\n"
              "\n"
              "   ----- The following addresses had permanent fatal errors -----\n"
              "<user@gmail.example>\n"
              "    (reason: 550-5.7.1 [192.0.2.1] The IP you're using to send mail is not "
              "authorized to)\n"
              "\n"
              "   ----- Transcript of session follows -----\n"
              "... while talking to mx.gmail.example.:\n"
              ">>> DATA\n"
              "<<< 550-5.7.1 [192.0.2.1] The IP you're using to send mail is not authorized to\n"
              "<<< 550-5.7.1 send email directly to our servers. Please use the SMTP relay at "
              "your\n"
              "<<< 550 5.7.1 service provider instead. a1si123 - gsmtp\n"
              "554 5.0.0 Service unavailable\n"
              "\n"
              "--B\n"
              "Content-Type: message/delivery-status\n"
              "\n"
              "Reporting-MTA: dns; mta.example.org\n"
              "\n"
              "Final-Recipient: RFC822; user@gmail.example\n"
              "Action: failed\n"
              "Status: 5.7.1\n"
              "Diagnostic-Code: SMTP; 550-5.7.1 [192.0.2.1] The IP you're using to send mail is "
              "not authorized to\n"
              "\n"
              "--B--\n");
    expect(r, "user@gmail.example", BNC_R_BLOCKED, 0);
    assert_non_null(strstr(rcpt(r, "user@gmail.example")->diagnostic, "service provider"));
    assert_null(strstr(rcpt(r, "user@gmail.example")->diagnostic, "<<<"));
    bnc_report_free(r);
    /* a DSN without a diagnostic: the transcript's last reply, joined without its marks */
    r = parse("From: MAILER-DAEMON@mta.example.org (Mail Delivery Subsystem)\n"
              "Subject: Returned mail: see transcript for details\n"
              "To: sender@example.org\n"
              "MIME-Version: 1.0\n"
              "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n"
              "\n"
              "--B\n"
              "\n"
              "   ----- The following addresses had permanent fatal errors -----\n"
              "user@gmail.example\n"
              "    (reason: )\n"
              "\n"
              "   ----- Transcript of session follows -----\n"
              "... while talking to mx.gmail.example.:\n"
              ">>> DATA\n"
              "<<< 421-4.7.28 Gmail has detected an unusual rate of unsolicited mail. To protect\n"
              "<<< 421-4.7.28 our users from spam, mail has been temporarily rate limited.\n"
              "<<< 421 4.7.28 Please review our Bulk Email Senders Guidelines. a1si1 - gsmtp\n"
              "user@gmail.example... Deferred: 421-4.7.28 Gmail has detected an unusual rate\n"
              "Message could not be delivered for 5 days\n"
              "\n"
              "--B\n"
              "Content-Type: message/delivery-status\n"
              "\n"
              "Reporting-MTA: dns; mta.example.org\n"
              "\n"
              "Final-Recipient: RFC822; user@gmail.example\n"
              "Action: failed\n"
              "Status: 4.4.7\n"
              "\n"
              "--B--\n");
    assert_non_null(strstr(rcpt(r, "user@gmail.example")->diagnostic, "Bulk Email Senders"));
    assert_null(strstr(rcpt(r, "user@gmail.example")->diagnostic, "<<<"));
    bnc_report_free(r);
}

/* The copy of the returned message inline in a base64 text part: its sender is found in the
 * decoded text and is no recipient. */
static void
test_inline_copy_base64(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: Mail Delivery System <Mailer-Daemon@mx.example.org>\n"
              "To: bounces@sender.example\n"
              "Subject: Mail delivery failed: returning message to sender\n"
              "MIME-Version: 1.0\n"
              "Content-Type: text/plain; charset=us-ascii\n"
              "Content-Transfer-Encoding: base64\n"
              "\n"
              "VGhpcyBtZXNzYWdlIHdhcyBjcmVhdGVkIGF1dG9tYXRpY2FsbHkgYnkgbWFpbCBkZWxpdmVyeSBz\n"
              "b2Z0d2FyZS4KCkEgbWVzc2FnZSBzZW50IGJ5CgogIDxuZXdzQHNlbmRlci5leGFtcGxlPgoKY291\n"
              "bGQgbm90IGJlIGRlbGl2ZXJlZCB0byBvbmUgb3IgbW9yZSBvZiBpdHMgcmVjaXBpZW50cy4gVGhl\n"
              "IGZvbGxvd2luZwphZGRyZXNzKGVzKSBmYWlsZWQ6CgogIGdvbmVAZXhhbXBsZS5uZXQKICAgIGFs\n"
              "bCBob3N0cyBoYXZlIGJlZW4gZmFpbGluZyBmb3IgYSBsb25nIHRpbWUgYW5kIHdlcmUgbGFzdCB0\n"
              "cmllZCBhZnRlciB0aGlzIG1lc3NhZ2UgYXJyaXZlZAoKLS0tLS0tIFRoaXMgaXMgYSBjb3B5IG9m\n"
              "IHRoZSBtZXNzYWdlLCBpbmNsdWRpbmcgYWxsIHRoZSBoZWFkZXJzLiAtLS0tLS0KClJldHVybi1w\n"
              "YXRoOiA8bmV3c0BzZW5kZXIuZXhhbXBsZT4KRnJvbTogbmV3c0BzZW5kZXIuZXhhbXBsZQpUbzog\n"
              "Z29uZUBleGFtcGxlLm5ldApTdWJqZWN0OiBoZWxsbwoKaGkK\n"
              );
    assert_int_equal(bnc_report_rcpt_count(r), 1);
    expect(r, "gone@example.net", BNC_R_EXPIRED, 0);
    bnc_report_free(r);
}

static void
test_postfix_plain(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
              "Subject: Undelivered Mail Returned to Sender\n"
              "To: sender@example.org\n"
              "\n"
              "This is the mail system at host mx.example.net.\n"
              "\n"
              "<blocked@example.com>: host mx.example.com[203.0.113.4] said: 554 5.7.1\n"
              "    Service unavailable; Client host [198.51.100.2] blocked using\n"
              "    zen.example.org (in reply to RCPT TO command)\n"
              "\n"
              "<sender-bad@example.com>: host mx.example.com[203.0.113.4] said: 550 5.1.1\n"
              "    <sender@example.org>: Sender address rejected: not owned by user\n"
              "    (in reply to RCPT TO command)\n");
    expect(r, "blocked@example.com", BNC_R_BLOCKED, 0);
    /* a 5.1.1 whose words name the sender is not a dead recipient */
    expect(r, "sender-bad@example.com", BNC_R_REJECTED, 0);
    assert_string_equal(rcpt(r, "blocked@example.com")->smtp_command, "RCPT");
    bnc_report_free(r);
}

/* A message saved with white-space lines before its header is still read as one: the From,
 * Subject and the failed recipient come out. */
static void
test_leading_blank_lines(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("   \n\n"
              "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
              "Subject: Undelivered Mail Returned to Sender\n"
              "To: sender@example.org\n"
              "\n"
              "This is the mail system at host mx.example.net.\n"
              "\n"
              "<gone@example.com>: host mx.example.com[203.0.113.4] said: 550 gone@example.com...User\n"
              "    unknown (in reply to RCPT TO command)\n");
    expect(r, "gone@example.com", BNC_R_USERUNKNOWN, 1);
    assert_string_equal(bnc_report_header(r, "Subject"), "Undelivered Mail Returned to Sender");
    bnc_report_free(r);
}

/* The SMTP stage a report names decides the side: Sendmail's transcript with a reply right
 * after "... while talking to" is the greeting, DMA's "did not like our connect" too; a
 * permanent greeting refusal is our host's (blocked), and a syntax-class answer to EHLO is
 * our command's (syntaxerror). */
static void
test_greeting_and_helo_stage(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: MAILER-DAEMON@mta.example.org (Mail Delivery Subsystem)\n"
              "Subject: Returned mail: see transcript for details\n"
              "To: sender@example.org\n"
              "MIME-Version: 1.0\n"
              "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n"
              "\n"
              "--B\n"
              "\n"
              "   ----- The following addresses had permanent fatal errors -----\n"
              "<user@example.net>\n"
              "    (reason: 554 mx.example.net ESMTP not accepting messages)\n"
              "\n"
              "   ----- Transcript of session follows -----\n"
              "... while talking to mx.example.net.:\n"
              "<<< 554 mx.example.net ESMTP not accepting messages\n"
              "554 5.0.0 Service unavailable\n"
              "\n"
              "--B\n"
              "Content-Type: message/delivery-status\n"
              "\n"
              "Reporting-MTA: dns; mta.example.org\n"
              "\n"
              "Final-Recipient: RFC822; user@example.net\n"
              "Action: failed\n"
              "Status: 5.5.0\n"
              "Diagnostic-Code: SMTP; 554 mx.example.net ESMTP not accepting messages\n"
              "\n"
              "--B--\n");
    expect(r, "user@example.net", BNC_R_BLOCKED, 0);
    assert_string_equal(rcpt(r, "user@example.net")->smtp_command, "CONN");
    bnc_report_free(r);
    r = parse("From: MAILER-DAEMON <>\n"
              "Subject: Mail delivery failed\n"
              "To: sender@example.org\n"
              "\n"
              "This is the DragonFly Mail Agent v0.13 at dma.example.org.\n"
              "There was an error delivering your mail to <user@example.net>.\n"
              "\n"
              "mx.example.net [192.0.2.1] did not like our connect:\n"
              "521 5.3.2 Service currently unavailable\n");
    expect(r, "user@example.net", BNC_R_BLOCKED, 0);
    bnc_report_free(r);
    r = parse("From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
              "Subject: Undelivered Mail Returned to Sender\n"
              "To: sender@example.org\n"
              "\n"
              "This is the mail system at host mx.example.net.\n"
              "\n"
              "<user@example.com>: host mx.example.com[203.0.113.4] refused to talk to me:\n"
              "    501 5.5.4 Invalid command arguments: Invalid domain name\n");
    expect(r, "user@example.com", BNC_R_SYNTAXERROR, 0);
    bnc_report_free(r);
}

static void
test_exim_after_mail_from(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: Mail Delivery System <Mailer-Daemon@mx.example.net>\n"
              "Subject: Mail delivery failed: returning message to sender\n"
              "To: sender@example.org\n"
              "\n"
              "This message was created automatically by mail delivery software.\n"
              "\n"
              "A message that you sent could not be delivered to one or more of its\n"
              "recipients. This is a permanent error. The following address(es) failed:\n"
              "\n"
              "  someone@example.com\n"
              "    host mx.example.com [203.0.113.7]\n"
              "    SMTP error from remote mail server after MAIL FROM:<sender@example.org>:\n"
              "    550 5.1.8 Domain of sender address does not exist\n"
              "\n"
              "------ This is a copy of the message, including all the headers. ------\n");
    expect(r, "someone@example.com", BNC_R_REJECTED, 0);
    assert_string_equal(rcpt(r, "someone@example.com")->origin, "format:exim");
    bnc_report_free(r);
}

static void
test_sendmail_code_lines(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\n"
              "Subject: Returned mail: see transcript for details\n"
              "\n"
              "   ----- Transcript of session follows -----\n"
              "550 <nohost@example.invalid>... 550 Host unknown\n"
              "554 <nohost2@example.invalid>... Host unknown (Authoritative answer)\n"
              "\n"
              "   ----- Unsent message follows -----\n");
    expect(r, "nohost@example.invalid", BNC_R_HOSTUNKNOWN, 1);
    expect(r, "nohost2@example.invalid", BNC_R_HOSTUNKNOWN, 1);
    bnc_report_free(r);
}

static void
test_exchange_list(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: System Administrator <postmaster@example.com>\n"
              "Subject: Undeliverable: report\n"
              "\n"
              "Your message\n"
              "\n"
              "  To:      person@example.com\n"
              "  Subject: report\n"
              "\n"
              "did not reach the following recipient(s):\n"
              "\n"
              "c=US;a= ;p=ORG;o=X;dda:SMTP=person@example.com; on Mon, 2 Mar 2026\n"
              "    The recipient name is not recognized\n");
    assert_int_equal(bnc_report_rcpt_count(r), 1);
    expect(r, "person@example.com", BNC_R_USERUNKNOWN, 1);
    assert_string_equal(rcpt(r, "person@example.com")->status, "5.0.911");
    bnc_report_free(r);
}

static void
test_separate_paragraph_and_delay(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
              "Subject: Delivery Status Notification (Failure)\n"
              "\n"
              "Delivery to the following recipient failed permanently:\n"
              "\n"
              "     over@example.com\n"
              "\n"
              "Technical details of permanent failure:\n"
              "The error that the other server returned was:\n"
              "552 5.2.2 The email account that you tried to reach is over quota.\n");
    expect(r, "over@example.com", BNC_R_MAILBOXFULL, 0);
    assert_string_equal(rcpt(r, "over@example.com")->status, "5.2.2");
    bnc_report_free(r);

    r = parse("From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
              "Subject: Delivery Status Notification (Delay)\n"
              "\n"
              "THIS IS A WARNING MESSAGE ONLY.\n"
              "\n"
              "Delivery to the following recipient has been delayed:\n"
              "\n"
              "     slow@example.com\n"
              "\n"
              "Message will be retried for 2 more day(s)\n");
    expect(r, "slow@example.com", BNC_R_EXPIRED, 0);
    assert_int_equal(rcpt(r, "slow@example.com")->action, BNC_ACTION_DELAYED);
    assert_string_equal(rcpt(r, "slow@example.com")->status, "4.0.947");
    bnc_report_free(r);
}

static void
test_ses_json(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: no-reply@sns.amazonaws.com\n"
              "Subject: AWS Notification Message\n"
              "Content-Type: text/plain; charset=UTF-8\n"
              "\n"
              "{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\","
              "\"bouncedRecipients\":[{\"emailAddress\":\"a@example.com\",\"action\":\"failed\","
              "\"status\":\"5.1.1\",\"diagnosticCode\":\"smtp; 550 5.1.1 user unknown\"}]},"
              "\"mail\":{\"source\":\"s@example.org\"}}\n");
    expect(r, "a@example.com", BNC_R_USERUNKNOWN, 1);
    bnc_report_free(r);
    r = parse("From: no-reply@sns.amazonaws.com\n"
              "Subject: AWS Notification Message\n"
              "\n"
              "{\"notificationType\":\"Delivery\",\"mail\":{\"source\":\"s@example.org\"},"
              "\"delivery\":{\"recipients\":[\"ok@example.com\"],"
              "\"smtpResponse\":\"250 2.6.0 Message received\"}}\n");
    expect(r, "ok@example.com", BNC_R_DELIVERED, 0);
    assert_int_equal(rcpt(r, "ok@example.com")->kind, BNC_KIND_DELIVERED);
    bnc_report_free(r);
}

static void
test_arf(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: feedback@isp.example\n"
              "Subject: FW: report\n"
              "MIME-Version: 1.0\n"
              "Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\n"
              "\n"
              "--b\n"
              "Content-Type: text/plain\n"
              "\n"
              "This is an abuse report.\n"
              "--b\n"
              "Content-Type: message/feedback-report\n"
              "\n"
              "Feedback-Type: abuse\n"
              "User-Agent: test/1.0\n"
              "Version: 1\n"
              "Original-Rcpt-To: <complainer@example.com>\n"
              "Original-Rcpt-To: second@example.com\n"
              "\n"
              "--b\n"
              "Content-Type: message/rfc822\n"
              "\n"
              "From: sender@example.org\n"
              "To: complainer@example.com\n"
              "Subject: offer\n"
              "\n"
              "buy\n"
              "--b--\n");
    assert_int_equal(bnc_report_rcpt_count(r), 2);
    expect(r, "complainer@example.com", BNC_R_FEEDBACK, 0);
    expect(r, "second@example.com", BNC_R_FEEDBACK, 0);
    assert_string_equal(rcpt(r, "complainer@example.com")->feedback_type, "abuse");
    assert_int_equal(rcpt(r, "complainer@example.com")->kind, BNC_KIND_COMPLAINT);
    bnc_report_free(r);
    /* Microsoft's earlier junk mail report: the reported message itself, the complaining
     * mailbox in X-HmXmrOriginalRecipient */
    r = parse("Return-Path: staff@hotmail.com\n"
              "X-HmXmrOriginalRecipient: reporter@hotmail.example\n"
              "From: news@sender.example\n"
              "To: reporter@hotmail.example\n"
              "Subject: our offers\n"
              "\n"
              "buy\n");
    assert_int_equal(bnc_report_rcpt_count(r), 1);
    expect(r, "reporter@hotmail.example", BNC_R_FEEDBACK, 0);
    assert_int_equal(rcpt(r, "reporter@hotmail.example")->kind, BNC_KIND_COMPLAINT);
    bnc_report_free(r);
}

static void
test_autoreply(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: Person <person@example.com>\n"
              "To: sender@example.org\n"
              "Subject: Automatic reply: hello\n"
              "Auto-Submitted: auto-replied\n"
              "\n"
              "I am out of the office until Monday.\n");
    assert_int_equal(bnc_report_rcpt_count(r), 1);
    expect(r, "person@example.com", BNC_R_VACATION, 0);
    assert_int_equal(rcpt(r, "person@example.com")->kind, BNC_KIND_AUTOREPLY);
    bnc_report_free(r);
    /* Japanese subject (UTF-8, RFC 2047 B-encoded): 不在のお知らせ */
    r = parse("From: taro@example.jp\n"
              "To: sender@example.org\n"
              "Subject: =?UTF-8?B?5LiN5Zyo44Gu44GK55+l44KJ44Gb?=\n"
              "\n"
              "only text\n");
    expect(r, "taro@example.jp", BNC_R_VACATION, 0);
    bnc_report_free(r);
    /* X-Auto-Response-Suppress asks the receiver not to auto-reply (Outlook and Exchange
     * set it on ordinary messages); it does not make this message an auto-reply */
    r = parse("From: Person <person@example.com>\n"
              "To: sender@example.org\n"
              "Subject: Re: hello\n"
              "X-Auto-Response-Suppress: All\n"
              "\n"
              "Thanks, see you on Monday.\n");
    assert_int_equal(bnc_report_rcpt_count(r), 0);
    bnc_report_free(r);
}

/* An Office 365 NDR without its delivery-status part: the text for users explains, the
 * administrators' section quotes the remote's reply, which decides. */
static void
test_exchange_admin_reply(void **state)
{
    static const char head[] = "From: postmaster@example.onmicrosoft.com\n"
                               "To: sender@example.org\n"
                               "Subject: Undeliverable: hello\n"
                               "X-MS-Exchange-Message-Is-Ndr: \n"
                               "Content-Type: text/plain\n"
                               "\n"
                               "mx.example.net rejected your message to the following email "
                               "addresses:\n"
                               "\n"
                               "a@example.net<mailto:a@example.net>\n"
                               "Your message was rejected by the recipient email server. Please "
                               "check the recipient's email address. See DSN code 5.1.0 in "
                               "Exchange Online.\n"
                               "\n"
                               "Diagnostic information for administrators:\n"
                               "\n"
                               "Generating server: AB1PR01MB.prod.outlook.com\n"
                               "\n"
                               "a@example.net\n"
                               "mx.example.net\n";
    char msg[2048];
    bnc_report *r;
    (void)state;
    snprintf(msg, sizeof(msg), "%s%s", head,
             "Remote Server returned '550 5.1.0 192.0.2.1 is not allowed to send from "
             "<example.org> per its SPF Record'\n\nOriginal message headers:\n\nX: y\n");
    r = parse(msg);
    expect(r, "a@example.net", BNC_R_AUTHFAILURE, 0);
    assert_string_equal(rcpt(r, "a@example.net")->replycode, "550");
    bnc_report_free(r);
    /* Exchange 2007's "#550 5.1.1 ... ##" */
    snprintf(msg, sizeof(msg), "%s%s", head,
             "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##\n\n"
             "Original message headers:\n\nX: y\n");
    r = parse(msg);
    expect(r, "a@example.net", BNC_R_USERUNKNOWN, 1);
    assert_non_null(strstr(rcpt(r, "a@example.net")->diagnostic, "RecipNotFound"));
    bnc_report_free(r);
}

/* A read receipt (RFC 8098) is a multipart/report too; its Final-Recipient read the
 * message and is no failed recipient. */
static void
test_read_receipt(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: Reader <reader@example.com>\n"
              "To: sender@example.org\n"
              "Subject: Read: report\n"
              "MIME-Version: 1.0\n"
              "Content-Type: multipart/report; report-type=disposition-notification;\n"
              "  boundary=\"B\"\n"
              "\n"
              "--B\n"
              "\n"
              "The message sent to reader@example.com has been displayed.\n"
              "--B\n"
              "Content-Type: message/disposition-notification\n"
              "\n"
              "Reporting-UA: pc.example.com; Mail 1.0\n"
              "Original-Recipient: rfc822;reader@example.com\n"
              "Final-Recipient: rfc822;reader@example.com\n"
              "Original-Message-ID: <1@example.org>\n"
              "Disposition: manual-action/MDN-sent-manually; displayed\n"
              "\n"
              "--B--\n");
    assert_int_equal(bnc_report_rcpt_count(r), 0);
    bnc_report_free(r);
    /* its text quoting the message's To: no failure either */
    r = parse("From: Reader <reader@example.com>\n"
              "To: sender@example.org\n"
              "Subject: Read: test\n"
              "MIME-Version: 1.0\n"
              "Content-Type: multipart/report; report-type=disposition-notification;\n"
              "  boundary=\"B\"\n"
              "\n"
              "--B\n"
              "Content-Type: text/plain\n"
              "\n"
              "To: sender@example.org\n"
              "Subject: test\n"
              "Message was displayed on Tue Mar 30 2021 10:31:50\n"
              "--B\n"
              "Content-Type: message/disposition-notification\n"
              "\n"
              "Final-Recipient: rfc822; reader@example.com\n"
              "Disposition: manual-action/MDN-sent-manually;displayed\n"
              "Error: Message1\n"
              "\n"
              "--B--\n");
    assert_int_equal(bnc_report_rcpt_count(r), 0);
    bnc_report_free(r);
    /* a Sieve reject (RFC 5429) is an MDN too, "deleted": the recipient's filter refused */
    r = parse("From: Mail Delivery Subsystem <postmaster@mx.example.com>\n"
              "To: sender@example.org\n"
              "Subject: Automatically rejected mail\n"
              "MIME-Version: 1.0\n"
              "Content-Type: multipart/report; report-type=disposition-notification;\n"
              "  boundary=\"B\"\n"
              "\n"
              "--B\n"
              "Content-Type: text/plain\n"
              "\n"
              "Your message to <reader@example.com> was automatically rejected:\n"
              "I do not accept mail from you.\n"
              "--B\n"
              "Content-Type: message/disposition-notification\n"
              "\n"
              "Final-Recipient: rfc822; reader@example.com\n"
              "Disposition: automatic-action/MDN-sent-automatically; deleted\n"
              "\n"
              "--B--\n");
    assert_int_equal(bnc_report_rcpt_count(r), 1);
    assert_non_null(rcpt(r, "reader@example.com"));
    bnc_report_free(r);
}

static void
test_dsn_enriched_from_text(void **state)
{
    bnc_report *r;
    const struct bnc_rcpt *rc;
    (void)state;
    r = parse("From: MAILER-DAEMON@mx.example.net\n"
              "Subject: Undelivered Mail Returned to Sender\n"
              "MIME-Version: 1.0\n"
              "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n"
              "\n"
              "--b\n"
              "Content-Type: text/plain\n"
              "\n"
              "<weak@example.com>: host mx.example.com said: 550 5.7.1 Message rejected as\n"
              "    spam by Content Filtering (in reply to end of DATA command)\n"
              "\n"
              "--b\n"
              "Content-Type: message/delivery-status\n"
              "\n"
              "Reporting-MTA: dns; mx.example.net\n"
              "\n"
              "Final-Recipient: rfc822; weak@example.com\n"
              "Action: failed\n"
              "Status: 5.0.0\n"
              "\n"
              "--b--\n");
    assert_int_equal(bnc_report_rcpt_count(r), 1); /* enriched, not duplicated */
    rc = rcpt(r, "weak@example.com");
    assert_int_equal(rc->reason, BNC_R_SPAMDETECTED);
    assert_string_equal(rc->smtp_command, "DATA");
    assert_non_null(strstr(rc->diagnostic, "spam"));
    bnc_report_free(r);
}

static void
test_iso2022jp_body(void **state)
{
    bnc_report *r;
    const struct bnc_rcpt *rc;
    (void)state;
    /* a Japanese carrier's notice: the error sentence exists only in ISO-2022-JP */
    r = parse("From: no-reply@mail.example.ne.jp\n"
              "Subject: Mail System Error - Returned Mail\n"
              "MIME-Version: 1.0\n"
              "Content-Type: text/plain; charset=\"ISO-2022-JP\"\n"
              "Content-Transfer-Encoding: 7bit\n"
              "\n"
              "\x1b"
              "$BAw?.@h$N%a!<%k%\x5c"
              "%C%/%9$,0lGU$N$?$a!\x22"
              "Aw?.$G$-$^$;$s$G$7$?!#\x1b"
              "(B\n"
              "\n"
              "     Could not be delivered to: <full@example.ne.jp>\n");
    rc = rcpt(r, "full@example.ne.jp");
    assert_int_equal(rc->reason, BNC_R_MAILBOXFULL);
    /* the diagnostic is UTF-8: U+30E1 KATAKANA LETTER ME is e3 83 a1 */
    assert_non_null(strstr(rc->diagnostic, "\xe3\x83\xa1"));
    bnc_report_free(r);
}

static void
test_family_by_header(void **state)
{
    bnc_report *r;
    (void)state;
    /* the family is told by a header field, not by the text */
    r = parse("From: postmaster@gw.example.net\n"
              "Subject: Delivery Status Notification\n"
              "X-NAI-Header: Modified by gateway\n"
              "\n"
              "Your message could not be delivered.\n"
              "\n"
              "<gone@example.com>: 550 5.1.1 mailbox unavailable\n");
    assert_string_equal(rcpt(r, "gone@example.com")->origin, "format:mcafee");
    bnc_report_free(r);
}

static void
test_not_a_bounce(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: Friend <friend@example.com>\n"
              "To: sender@example.org\n"
              "Subject: Re: lunch\n"
              "\n"
              "Sure, see you at noon. Write to other@example.net if I am late.\n");
    assert_int_equal(bnc_report_rcpt_count(r), 0);
    assert_true(bnc_report_flags(r) & BNC_PF_NOT_BOUNCE);
    bnc_report_free(r);
}

static void
test_heuristic_unknown_mta(void **state)
{
    bnc_report *r;
    (void)state;
    r = parse("From: postmaster@mail.example.net\n"
              "Subject: Nondeliverable mail\n"
              "Return-Path: <>\n"
              "\n"
              "Delivery failed for the following address.\n"
              "Recipient: lost@example.com\n"
              "Reason: 550 5.1.1 mailbox not found\n");
    expect(r, "lost@example.com", BNC_R_USERUNKNOWN, 1);
    assert_true(bnc_report_flags(r) & BNC_PF_HEURISTIC);
    bnc_report_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qmail),
        cmocka_unit_test(test_sendmail_pipelined_rcpt),
        cmocka_unit_test(test_sendmail_pipelined_reply_order),
        cmocka_unit_test(test_address_before_full_stop),
        cmocka_unit_test(test_address_after_fullwidth_colon),
        cmocka_unit_test(test_postfix_plain),
        cmocka_unit_test(test_postfix_wrapped_address),
        cmocka_unit_test(test_sendmail_multiline_reply),
        cmocka_unit_test(test_inline_copy_base64),
        cmocka_unit_test(test_exim_after_mail_from),
        cmocka_unit_test(test_sendmail_code_lines),
        cmocka_unit_test(test_exchange_list),
        cmocka_unit_test(test_separate_paragraph_and_delay),
        cmocka_unit_test(test_ses_json),
        cmocka_unit_test(test_arf),
        cmocka_unit_test(test_autoreply),
        cmocka_unit_test(test_read_receipt),
        cmocka_unit_test(test_exchange_admin_reply),
        cmocka_unit_test(test_dsn_enriched_from_text),
        cmocka_unit_test(test_iso2022jp_body),
        cmocka_unit_test(test_family_by_header),
        cmocka_unit_test(test_not_a_bounce),
        cmocka_unit_test(test_leading_blank_lines),
        cmocka_unit_test(test_greeting_and_helo_stage),
        cmocka_unit_test(test_heuristic_unknown_mta),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
