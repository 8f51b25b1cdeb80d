/*
 * test_classify.c - precedence (user rules, built-in text rules, status code, reply code,
 * format hint), hard/soft and kind (DESIGN §5-6), pseudo status codes and decided_by, over
 * hand-built reports.
 * layer: classify (links bnc_classify and the libraries below it, nothing above)
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "classify/classify.h"
#include "classify/rules.h"
#include "core/arena.h"
#include "core/cfg.h"
#include "parse/parse.h"

static struct bnc_ruleset *builtin, *withuser;

static int
setup(void **state)
{
    struct rule_src src = {"# user rules\n"
                           "550 5.7.1 Unfortunately, messages from ==> hard\n"
                           "frobnicated mailbox ==> soft:suspend\n"
                           "/quota of [0-9]+ kb/i ==> soft:blocked\n",
                           "site.rules"};
    (void)state;
    if (rules_build(NULL, NULL, 0, NULL, NULL, &builtin) != BNC_OK ||
        rules_build(NULL, &src, 1, NULL, NULL, &withuser) != BNC_OK) {
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    rules_free(builtin);
    rules_free(withuser);
    return 0;
}

struct one {
    struct bnc_report rep;
    struct bnc_rcpt *rc;
};

static void
one_init(struct one *o, const char *status, const char *reply, const char *diag, bnc_action act)
{
    memset(&o->rep, 0, sizeof(o->rep));
    parse_limits_default(&o->rep.limits);
    o->rep.arena = arena_new(0);
    o->rc = report_add_rcpt(&o->rep);
    assert_non_null(o->rc);
    o->rc->recipient = "a@b.example";
    snprintf(o->rc->status, sizeof(o->rc->status), "%s", status);
    snprintf(o->rc->replycode, sizeof(o->rc->replycode), "%s", reply);
    o->rc->diagnostic = diag;
    o->rc->action = act;
}

static void
one_free(struct one *o)
{
    arena_free(o->rep.arena);
}

/* Classify one recipient with the built-in rules and check reason, hard, status. */
static void
check(const struct bnc_ruleset *rs, const char *status, const char *reply, const char *diag,
      bnc_action act, bnc_reason want, int hard, const char *want_status, const char *by_prefix)
{
    struct one o;
    one_init(&o, status, reply, diag, act);
    classify_report(rs, &o.rep);
    if (o.rc->reason != want || o.rc->hard != hard || strcmp(o.rc->status, want_status) != 0 ||
        strncmp(o.rc->decided_by, by_prefix, strlen(by_prefix)) != 0) {
        fail_msg("'%s' [%s/%s]: got %s hard=%d status=%s by=%s; want %s hard=%d status=%s by=%s*",
                 diag, status, reply, bnc_reason_name(o.rc->reason), o.rc->hard, o.rc->status,
                 o.rc->decided_by, bnc_reason_name(want), hard, want_status, by_prefix);
    }
    one_free(&o);
}

static void
test_text_beats_status(void **state)
{
    (void)state;
    /* words and code weighed together: the text names the sender */
    check(builtin, "5.1.1", "550", "550 5.1.1 <s@x>: Sender address rejected: not owned",
          BNC_ACTION_FAILED, BNC_R_REJECTED, 0, "5.1.1", "rule:default.rules:");
    check(builtin, "5.7.1", "554", "554 5.7.1 Client host rejected: blocked using zen.example",
          BNC_ACTION_FAILED, BNC_R_BLOCKED, 0, "5.7.1", "rule:default.rules:");
    check(builtin, "5.0.0", "550", "550 5.0.0 Mailbox is full", BNC_ACTION_FAILED,
          BNC_R_MAILBOXFULL, 0, "5.0.0", "rule:");
    check(builtin, "5.7.1", "550", "550 5.7.1 Email rejected per DMARC policy for x.example",
          BNC_ACTION_FAILED, BNC_R_AUTHFAILURE, 0, "5.7.1", "rule:");
}

static void
test_status_then_reply(void **state)
{
    (void)state;
    check(builtin, "5.1.1", "", "", BNC_ACTION_FAILED, BNC_R_USERUNKNOWN, 1, "5.1.1",
          "status:5.1.1");
    check(builtin, "4.2.2", "", "zzz", BNC_ACTION_DELAYED, BNC_R_MAILBOXFULL, 0, "4.2.2",
          "status:4.2.2");
    check(builtin, "5.1.2", "", "", BNC_ACTION_FAILED, BNC_R_HOSTUNKNOWN, 1, "5.1.2", "status:");
    check(builtin, "4.4.7", "", "", BNC_ACTION_DELAYED, BNC_R_EXPIRED, 0, "4.4.7", "status:");
    check(builtin, "", "552", "552 qwerty", BNC_ACTION_FAILED, BNC_R_MAILBOXFULL, 0, "5.0.922",
          "reply:552");
    /* ... but not under a security or policy status: review, never a full mailbox */
    check(builtin, "5.7.0", "552", "552 5.7.0 qwerty", BNC_ACTION_FAILED, BNC_R_ONHOLD, 0, "5.7.0",
          "status:5.7.0");
    /* a bare 5.0.0 with nothing else: a failure whose cause is not known yet */
    check(builtin, "5.0.0", "", "", BNC_ACTION_FAILED, BNC_R_ONHOLD, 0, "5.0.0", "status:5.0.0");
    /* nothing at all: nothing classified, and nothing says the address is dead */
    check(builtin, "", "", "", BNC_ACTION_NONE, BNC_R_UNDEFINED, 0, "5.0.900", "");
}

static void
test_notaccept_hard_unless_4xx(void **state)
{
    (void)state;
    check(builtin, "5.1.10", "", "", BNC_ACTION_FAILED, BNC_R_NOTACCEPT, 1, "5.1.10", "");
    check(builtin, "", "", "The domain x.example does not accept mail (Null MX)",
          BNC_ACTION_DELAYED, BNC_R_NOTACCEPT, 0, "4.0.932", "rule:");
    check(builtin, "", "", "The domain x.example does not accept mail (Null MX)", BNC_ACTION_FAILED,
          BNC_R_NOTACCEPT, 1, "5.0.932", "rule:");
}

static void
test_sender_side_not_hard(void **state)
{
    (void)state;
    check(builtin, "5.7.1", "550", "550 5.7.1 Message content rejected, UBE", BNC_ACTION_FAILED,
          BNC_R_SPAMDETECTED, 0, "5.7.1", "rule:");
    check(builtin, "5.7.1", "554", "554 5.7.1 <x@y>: Relay access denied", BNC_ACTION_FAILED,
          BNC_R_NORELAYING, 0, "5.7.1", "rule:");
    check(builtin, "5.7.25", "550",
          "550 5.7.25 The IP address sending this message does not "
          "have a PTR record setup",
          BNC_ACTION_FAILED, BNC_R_REQUIREPTR, 0, "5.7.25", "rule:");
}

static void
test_user_rules_first(void **state)
{
    struct one o;
    (void)state;
    /* a bare `==> hard` keeps the reason of the lower tiers and forces hard */
    one_init(&o, "5.7.1", "550", "550 5.7.1 Unfortunately, messages from 1.2.3.4 weren't sent",
             BNC_ACTION_FAILED);
    classify_report(withuser, &o.rep);
    assert_int_equal(o.rc->hard, 1);
    assert_int_equal(o.rc->kind, BNC_KIND_HARD);
    assert_string_equal(o.rc->decided_by, "rule:site.rules:2");
    one_free(&o);
    /* the user's phrase beats the built-in "mailbox" rules and the status code */
    check(withuser, "5.1.1", "550", "550 5.1.1 frobnicated mailbox, user unknown",
          BNC_ACTION_FAILED, BNC_R_SUSPEND, 0, "5.1.1", "rule:site.rules:3");
    check(withuser, "5.2.2", "552", "552 over quota of 100 KB", BNC_ACTION_FAILED, BNC_R_BLOCKED, 0,
          "5.2.2", "rule:site.rules:4");
    /* without the user rule the built-in one answers */
    check(builtin, "5.2.2", "552", "552 over quota of 100 KB", BNC_ACTION_FAILED, BNC_R_MAILBOXFULL,
          0, "5.2.2", "rule:default.rules:");
}

static void
test_reports_and_hints(void **state)
{
    struct one o;
    (void)state;
    check(builtin, "2.0.0", "250", "250 ok", BNC_ACTION_DELIVERED, BNC_R_DELIVERED, 0, "2.0.0",
          "action:delivered");
    one_init(&o, "", "", "", BNC_ACTION_NONE);
    o.rc->reason_hint = BNC_R_FEEDBACK;
    classify_report(builtin, &o.rep);
    assert_int_equal(o.rc->reason, BNC_R_FEEDBACK);
    assert_int_equal(o.rc->kind, BNC_KIND_COMPLAINT);
    assert_int_equal(o.rc->hard, 0);
    assert_string_equal(o.rc->status, "");
    assert_string_equal(o.rc->decided_by, "arf");
    one_free(&o);
    one_init(&o, "", "", "I am out of the office", BNC_ACTION_NONE);
    o.rc->reason_hint = BNC_R_VACATION;
    classify_report(builtin, &o.rep);
    assert_int_equal(o.rc->kind, BNC_KIND_AUTOREPLY);
    one_free(&o);
    /* the format's hint is the last resort, after text and status */
    one_init(&o, "", "", "qwerty", BNC_ACTION_FAILED);
    o.rc->reason_hint = BNC_R_HOSTUNKNOWN;
    o.rc->origin = "format:qmail";
    classify_report(builtin, &o.rep);
    assert_int_equal(o.rc->reason, BNC_R_HOSTUNKNOWN);
    assert_string_equal(o.rc->status, "5.0.912");
    assert_string_equal(o.rc->decided_by, "format:qmail");
    one_free(&o);
    one_init(&o, "5.2.2", "", "qwerty", BNC_ACTION_FAILED);
    o.rc->reason_hint = BNC_R_HOSTUNKNOWN;
    classify_report(builtin, &o.rep);
    assert_int_equal(o.rc->reason, BNC_R_MAILBOXFULL);
    one_free(&o);
}

static void
test_user_unknown_after_data(void **state)
{
    struct one o;
    (void)state;
    one_init(&o, "5.0.0", "550", "550 5.0.0 <x@y>... User unknown", BNC_ACTION_FAILED);
    o.rc->smtp_command = "DATA";
    classify_report(builtin, &o.rep);
    assert_int_equal(o.rc->reason, BNC_R_FILTERED);
    assert_int_equal(o.rc->hard, 0);
    one_free(&o);
}

/* A generic "user unknown" is a dead mailbox only when the refusal is about the recipient
 * (RCPT, an address status, the recipient's own mail store); a directory-only phrase is
 * taken as it is. */
static void
test_user_unknown_needs_the_recipient(void **state)
{
    static const struct {
        const char *status, *diag, *cmd;
        unsigned traits;
        bnc_reason want;
        int hard;
    } cases[] = {
        /* a missing mailbox is dead whichever command was answered ... */
        {"", "550 kijitora@example.com... No such user", "", 0, BNC_R_USERUNKNOWN, 1},
        {"", "550 kijitora@example.com... No such user", "RCPT", 0, BNC_R_USERUNKNOWN, 1},
        {"5.1.1", "550 5.1.1 User unknown", "", 0, BNC_R_USERUNKNOWN, 1},
        {"5.2.1", "550 5.2.1 <a@b.example>... User Unknown", "RCPT", 0, BNC_R_USERUNKNOWN, 1},
        {"5.0.0", "Unknown user: a@b.example", "", 0, BNC_R_USERUNKNOWN, 1},
        /* ... unless the report says the message was refused: after DATA, a status of a
         * mailbox that exists (x.2.y) or of a policy (x.7.y) outside RCPT TO, a filtering
         * gateway */
        {"5.0.0", "550 Unknown user a@b.example", "DATA", 0, BNC_R_FILTERED, 0},
        {"5.2.1", "550 5.2.1 <a@b.example>... User Unknown", "", 0, BNC_R_FILTERED, 0},
        {"5.7.1", "550 5.7.1 550 User Unknown: a@b.example", "", 0, BNC_R_FILTERED, 0},
        {"", "550 kijitora@example.com... No such user", "", BNC_FT_FILTER_GATEWAY, BNC_R_FILTERED,
         0},
        {"", "550 kijitora@example.com... No such user", "",
         BNC_FT_FILTER_GATEWAY | BNC_FT_MAILSTORE, BNC_R_USERUNKNOWN, 1},
        {"", "Sorry, no mailbox here by that name. (#5.1.1)", "", 0, BNC_R_USERUNKNOWN, 1},
        {"5.0.0", "The email address wasn't found at the destination", "DATA", 0, BNC_R_USERUNKNOWN,
         1},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct one o;
        one_init(&o, cases[i].status, "", cases[i].diag, BNC_ACTION_FAILED);
        o.rc->smtp_command = cases[i].cmd;
        o.rep.family_traits = cases[i].traits;
        classify_report(builtin, &o.rep);
        if (o.rc->reason != cases[i].want || o.rc->hard != cases[i].hard) {
            fail_msg("case %zu '%s': got %s hard=%d", i, cases[i].diag,
                     bnc_reason_name(o.rc->reason), o.rc->hard);
        }
        one_free(&o);
    }
}

/* What a family's format tells the classifier (BNC_FT_*), and a delivery-status part that
 * says nothing of the recipient. */
static void
test_format_traits(void **state)
{
    static const struct {
        unsigned traits, flags;
        const char *origin, *status, *diag, *cmd;
        bnc_action act;
        bnc_reason want;
        const char *want_status;
    } cases[] = {
        /* OpenSMTPD's placeholder 5.0.0 gives way to the reason's pseudo status ... */
        {BNC_FT_GENERIC_DSN_STATUS, 0, "dsn", "5.0.0", "a@b.example: Domain does not exist", "",
         BNC_ACTION_FAILED, BNC_R_HOSTUNKNOWN, "5.0.912"},
        /* ... a bare 5.0.0 of any other MTA is kept */
        {0, 0, "dsn", "5.0.0", "a@b.example: Domain does not exist", "", BNC_ACTION_FAILED,
         BNC_R_HOSTUNKNOWN, "5.0.0"},
        /* Exim's refusal of MAIL FROM: the recipient's status is undecided */
        {BNC_FT_MAIL_FROM_UNDECIDED, BNC_PF_NO_DSN_PART, "format:exim", "",
         "550 Unroutable sender address", "MAIL", BNC_ACTION_FAILED, BNC_R_REJECTED, "5.0.901"},
        {BNC_FT_MAIL_FROM_UNDECIDED, BNC_PF_NO_DSN_PART, "format:exim", "",
         "450 too many unverifiable sending IPs", "MAIL", BNC_ACTION_DELAYED, BNC_R_REQUIREPTR,
         "4.0.901"},
        {0, BNC_PF_NO_DSN_PART, "format:ezweb", "", "550 Unroutable sender address", "MAIL",
         BNC_ACTION_FAILED, BNC_R_REJECTED, "5.0.918"},
        /* a delivery-status part without the recipient's fields: nothing classified ... */
        {0, BNC_PF_HEURISTIC, "format:postfix", "", "The mail system", "", BNC_ACTION_FAILED,
         BNC_R_UNDEFINED, "5.0.900"},
        /* ... where a notice alone, with no such part, is a failure of unknown cause */
        {0, BNC_PF_HEURISTIC | BNC_PF_NO_DSN_PART, "format:heuristic", "", "Did not reach", "",
         BNC_ACTION_FAILED, BNC_R_ONHOLD, "5.0.901"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct one o;
        one_init(&o, cases[i].status, "", cases[i].diag, cases[i].act);
        o.rc->origin = cases[i].origin;
        o.rc->smtp_command = cases[i].cmd;
        o.rep.flags = cases[i].flags;
        o.rep.family_traits = cases[i].traits;
        classify_report(builtin, &o.rep);
        if (o.rc->reason != cases[i].want || strcmp(o.rc->status, cases[i].want_status) != 0) {
            fail_msg("case %zu '%s': got %s %s, want %s %s", i, cases[i].diag,
                     bnc_reason_name(o.rc->reason), o.rc->status, bnc_reason_name(cases[i].want),
                     cases[i].want_status);
        }
        one_free(&o);
    }
}

/* The typical signals REASONS.md gives for each reason, in the words real MTAs write them,
 * land on that reason. */
static void
test_reasons_signals(void **state)
{
    static const struct {
        const char *status, *diag;
        bnc_reason want;
    } cases[] = {
        {"5.2.1", "550 5.2.1 mailbox suspended", BNC_R_SUSPEND},
        {"5.2.1", "550 5.2.1 This account is inactive", BNC_R_SUSPEND},
        {"5.0.0", "554 delivery error: dd This user's account has been suspended", BNC_R_SUSPEND},
        {"5.7.1", "554 5.7.1 message infected", BNC_R_VIRUSDETECTED},
        {"5.0.0", "550 File attachment is infected", BNC_R_VIRUSDETECTED},
        {"5.2.2", "552 5.2.2 insufficient storage", BNC_R_MAILBOXFULL},
        {"5.0.0", "550 Mailbox quota usage exceeded", BNC_R_MAILBOXFULL},
        {"5.7.26",
         "550 5.7.26 This mail is unauthenticated, which poses a security risk to the sender",
         BNC_R_AUTHFAILURE},
        {"5.0.0", "554 Your IP 192.0.2.1 is listed at zen.spamhaus.org", BNC_R_BLOCKED},
        {"5.0.0", "Message could not be delivered within 5 days", BNC_R_EXPIRED},
        {"5.4.6", "554 5.4.6 Hop count exceeded - possible mail loop", BNC_R_NETWORKERROR},
        {"5.0.0", "mail loops back to myself", BNC_R_NETWORKERROR},
        {"5.0.0",
         "Host or domain name not found. Name service error for name=x.example type=MX: Host not "
         "found",
         BNC_R_HOSTUNKNOWN},
        {"5.0.0", "550 unrouteable address", BNC_R_HOSTUNKNOWN},
        {"5.1.10", "556 5.1.10 Recipient address has null MX", BNC_R_NOTACCEPT},
        {"5.1.6", "550 5.1.6 Recipient no longer on server", BNC_R_HASMOVED},
        {"5.2.3", "552 5.2.3 Message exceeds the recipient's limit", BNC_R_EXCEEDLIMIT},
        {"4.3.1", "452 4.3.1 Insufficient system storage", BNC_R_SYSTEMFULL},
        {"5.0.0", "451 Local error in processing", BNC_R_SYSTEMERROR},
        {"5.0.0", "550 Command died with status 1", BNC_R_MAILERERROR},
        {"5.7.1", "550 5.7.1 rejected by recipient's filter", BNC_R_FILTERED},
        {"5.1.8", "550 5.1.8 Domain of sender address does not exist", BNC_R_REJECTED},
        {"4.7.0",
         "421 4.7.0 Our system has detected an unusual rate of unsolicited mail originating from "
         "your IP address",
         BNC_R_BADREPUTATION},
        {"5.7.1", "550 5.7.1 Message rejected as spam", BNC_R_SPAMDETECTED},
        {"5.7.1", "550 5.7.1 Message rejected due to policy", BNC_R_POLICYVIOLATION},
        {"5.7.25",
         "550 5.7.25 The IP address sending this message does not have a PTR record setup",
         BNC_R_REQUIREPTR},
        {"5.7.0", "530 5.7.0 Must issue a STARTTLS command first", BNC_R_SECURITYERROR},
        {"5.0.0", "TLS negotiation failed", BNC_R_FAILEDSTARTTLS},
        {"5.6.0", "550 5.6.0 message contains bare LF", BNC_R_CONTENTERROR},
        {"5.3.4", "552 5.3.4 Message size exceeds fixed maximum message size", BNC_R_MESGTOOBIG},
        {"5.7.1", "554 5.7.1 Relay access denied", BNC_R_NORELAYING},
        {"4.0.0", "421 Too many concurrent SMTP connections", BNC_R_TOOMANYCONN},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct one o;
        one_init(&o, cases[i].status, "", cases[i].diag, BNC_ACTION_FAILED);
        o.rc->origin = "dsn";
        classify_report(builtin, &o.rep);
        if (o.rc->reason != cases[i].want) {
            fail_msg("'%s' [%s]: got %s (%s), want %s", cases[i].diag, cases[i].status,
                     bnc_reason_name(o.rc->reason), o.rc->decided_by,
                     bnc_reason_name(cases[i].want));
        }
        one_free(&o);
    }
}

/* What generalizes: a multi-line reply read as one text, the resolver's own words, a TCP
 * refusal, and the families of a missing mailbox or domain in the languages providers use. */
static void
test_general_wordings(void **state)
{
    static const struct {
        const char *status, *reply, *diag;
        bnc_action act;
        bnc_reason want;
        int hard;
    } cases[] = {
        /* RFC 5321 §4.2.1 continuation codes inside a phrase */
        {"5.7.1", "550",
         "host gmail-smtp-in.l.google.com[192.0.2.1] said: 550-5.7.1 [192.0.2.9] The IP "
         "you're using to send mail is not authorized to 550-5.7.1 send email directly to our "
         "servers. Please use the SMTP 550 5.7.1 relay at your service provider instead.",
         BNC_ACTION_FAILED, BNC_R_BLOCKED, 0},
        {"5.1.1", "550",
         "550-5.1.1 The email account that you tried to reach does not\n550-5.1.1 exist. Please "
         "try double-checking\n550 5.1.1 the recipient's email address",
         BNC_ACTION_FAILED, BNC_R_USERUNKNOWN, 1},
        /* the resolver's answer */
        {"5.1.2", "", "DNS Error: DNS type 'mx' lookup of x.example responded with code NXDOMAIN",
         BNC_ACTION_FAILED, BNC_R_HOSTUNKNOWN, 1},
        {"4.4.3", "", "DNS Error: DNS type 'mx' lookup of x.example responded with code SERVFAIL",
         BNC_ACTION_DELAYED, BNC_R_NETWORKERROR, 0},
        {"4.0.0", "", "DNS Error: lookup of x.example responded with code NXDOMAIN",
         BNC_ACTION_DELAYED, BNC_R_NETWORKERROR, 0},
        {"5.0.0", "", "x.example: Name or service not known", BNC_ACTION_FAILED, BNC_R_HOSTUNKNOWN,
         1},
        {"4.0.0", "", "Temporary failure in name resolution", BNC_ACTION_DELAYED,
         BNC_R_NETWORKERROR, 0},
        {"5.0.0", "", "all relevant MX records point to non-existent hosts", BNC_ACTION_FAILED,
         BNC_R_HOSTUNKNOWN, 1},
        /* a connect() refused is the network, an SMTP refusal is a block */
        {"4.4.1", "", "connect to mx.x.example[192.0.2.1]:25: Connection refused",
         BNC_ACTION_DELAYED, BNC_R_NETWORKERROR, 0},
        {"4.0.0", "", "Deferred: Connection refused by mx.x.example.", BNC_ACTION_DELAYED,
         BNC_R_NETWORKERROR, 0},
        {"5.7.1", "554", "554 5.7.1 Connection refused: your IP has a poor history",
         BNC_ACTION_FAILED, BNC_R_BLOCKED, 0},
        /* one phrase for the variants of a missing mailbox, in several languages */
        {"5.0.0", "550", "550 Recipient is not known here", BNC_ACTION_FAILED, BNC_R_USERUNKNOWN,
         1},
        {"5.0.0", "550", "550 Nonexistent mailbox", BNC_ACTION_FAILED, BNC_R_USERUNKNOWN, 1},
        {"5.0.0", "550", "550 Requested mailbox no longer exists", BNC_ACTION_FAILED,
         BNC_R_USERUNKNOWN, 1},
        {"5.0.0", "550", "550 Die Adresse existiert nicht", BNC_ACTION_FAILED, BNC_R_USERUNKNOWN,
         1},
        {"5.0.0", "550", "550 Adresse du destinataire inconnue", BNC_ACTION_FAILED,
         BNC_R_USERUNKNOWN, 1},
        {"5.0.0", "550", "550 El usuario no existe", BNC_ACTION_FAILED, BNC_R_USERUNKNOWN, 1},
        {"5.0.0", "550", "550 Skrzynka odbiorcy nie istnieje", BNC_ACTION_FAILED, BNC_R_USERUNKNOWN,
         1},
        {"5.0.0", "550",
         "550 \xe8\xaf\xa5\xe9\x82\xae\xe7\xae\xb1\xe4\xb8\x8d\xe5\xad\x98\xe5\x9c\xa8",
         BNC_ACTION_FAILED, BNC_R_USERUNKNOWN, 1},
        {"5.0.0", "550", "550 Le domaine n'existe pas", BNC_ACTION_FAILED, BNC_R_HOSTUNKNOWN, 1},
        {"5.0.0", "550", "550 unroutable domain", BNC_ACTION_FAILED, BNC_R_HOSTUNKNOWN, 1},
        /* MTAs' own texts */
        {"5.4.6", "", "mail forwarding loop for a@b.example", BNC_ACTION_FAILED, BNC_R_NETWORKERROR,
         0},
        {"4.4.7", "", "Warning: could not send message for past 4 hours", BNC_ACTION_DELAYED,
         BNC_R_EXPIRED, 0},
        {"5.0.0", "",
         "Child process of address_pipe transport returned 69 (could mean service or program "
         "unavailable) from command: /usr/local/bin/x",
         BNC_ACTION_FAILED, BNC_R_MAILERERROR, 0},
        {"5.0.0", "551", "551 User not local; please try <b@c.example>", BNC_ACTION_FAILED,
         BNC_R_HASMOVED, 1},
        /* refusals that name our side, not the address */
        {"5.7.1", "553", "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
         BNC_ACTION_FAILED, BNC_R_NORELAYING, 0},
        {"5.0.0", "550", "550 Rejected for too many bad recipients", BNC_ACTION_FAILED,
         BNC_R_BADREPUTATION, 0},
        {"5.7.27", "550", "550 5.7.27 Sender address has null MX", BNC_ACTION_FAILED,
         BNC_R_REJECTED, 0},
        {"4.2.0", "450",
         "450 4.2.0 <a@b.example>: Recipient address rejected: Greylisted, see "
         "http://postgrey.schweikert.ch/help/b.example.html",
         BNC_ACTION_FAILED, BNC_R_BLOCKED, 0},
        {"4.0.0", "450", "450 Requested mail action not taken: mailbox unavailable",
         BNC_ACTION_FAILED, BNC_R_ONHOLD, 0},
        {"5.0.0", "550",
         "550 Message was not accepted -- invalid mailbox.  Local mailbox a@b.example is "
         "unavailable: account is disabled",
         BNC_ACTION_FAILED, BNC_R_SUSPEND, 0},
        {"5.2.2", "552", "552 5.2.2 <a@b.example> Too many messages in the mailbox",
         BNC_ACTION_FAILED, BNC_R_MAILBOXFULL, 0},
        {"5.7.0", "554", "554 5.7.0 Reject, id=12345-01 - INFECTED: Eicar-Test-Signature",
         BNC_ACTION_FAILED, BNC_R_VIRUSDETECTED, 0},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct one o;
        one_init(&o, cases[i].status, cases[i].reply, cases[i].diag, cases[i].act);
        o.rc->origin = "dsn";
        classify_report(builtin, &o.rep);
        if (o.rc->reason != cases[i].want || o.rc->hard != cases[i].hard) {
            fail_msg("'%s' [%s]: got %s hard=%d (%s), want %s hard=%d", cases[i].diag,
                     cases[i].status, bnc_reason_name(o.rc->reason), o.rc->hard, o.rc->decided_by,
                     bnc_reason_name(cases[i].want), cases[i].hard);
        }
        one_free(&o);
    }
}

/* A refusal before any recipient was offered is about our sender or our host. */
static void
test_stage_side(void **state)
{
    static const struct {
        const char *status, *diag, *cmd;
        bnc_reason want;
    } cases[] = {
        {"5.1.1", "550 5.1.1 User unknown", "MAIL", BNC_R_REJECTED},
        {"5.2.1", "550 5.2.1 mailbox disabled", "MAIL", BNC_R_REJECTED},
        {"5.0.0", "554 mx.b.example ESMTP not accepting messages", "CONN", BNC_R_BLOCKED},
        {"5.0.0", "554 No SMTP service here", "CONN", BNC_R_BLOCKED},
        {"5.2.2", "552 5.2.2 Mailbox full", "HELO", BNC_R_BLOCKED},
        {"4.3.2", "421 4.3.2 System not accepting network messages", "RCPT", BNC_R_NOTACCEPT},
        {"5.2.2", "552 5.2.2 Mailbox full", "RCPT", BNC_R_MAILBOXFULL},
        /* a refusal of MAIL FROM whose cause nothing names is about our sender */
        {"5.0.0", "550 zorglub", "MAIL", BNC_R_REJECTED},
        /* the greeting: transient with no cause is the server's, permanent is ours */
        {"4.0.0", "421 mx.b.example Service not available, closing channel", "CONN",
         BNC_R_SYSTEMERROR},
        {"5.3.2", "521 5.3.2 Service currently unavailable", "CONN", BNC_R_BLOCKED},
        {"5.7.1", "554 5.7.1 zorglub", "CONN", BNC_R_BLOCKED},
        /* a queue expiry that quotes a reply with a cause takes the cause */
        {"5.0.0", "421 Sender address blocked: retry timeout exceeded", "RCPT", BNC_R_REJECTED},
        {"5.0.0", "452 4.3.1 Insufficient system storage: retry timeout exceeded", "RCPT",
         BNC_R_SYSTEMFULL},
        {"5.0.0", "zorglub: retry timeout exceeded", "RCPT", BNC_R_EXPIRED},
        {"5.0.0", "temporary failure: retry timeout exceeded", "RCPT", BNC_R_EXPIRED},
        {"4.3.5", "451 4.3.5 zorglub: retry timeout exceeded", "RCPT", BNC_R_SYSTEMERROR},
        {"4.4.1", "451 4.4.1 zorglub: retry timeout exceeded", "RCPT", BNC_R_EXPIRED},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct one o;
        char reply[4] = "";
        memcpy(reply, cases[i].diag, 3);
        one_init(&o, cases[i].status, isdigit((unsigned char)reply[0]) ? reply : "",
                 cases[i].diag, BNC_ACTION_FAILED);
        o.rc->origin = "dsn";
        o.rc->smtp_command = cases[i].cmd;
        classify_report(builtin, &o.rep);
        if (o.rc->reason != cases[i].want) {
            fail_msg("'%s' at %s: got %s, want %s", cases[i].diag, cases[i].cmd,
                     bnc_reason_name(o.rc->reason), bnc_reason_name(cases[i].want));
        }
        one_free(&o);
    }
}

/* The names in the first column of the markdown table between <!-- tag --> and
 * <!-- /tag --> of doc, in order, into names[0..cap); returns how many. */
static size_t
doc_table_names(const char *doc, const char *tag, char names[][32], size_t cap)
{
    char open[64], close[64];
    const char *p, *end;
    size_t n = 0;

    snprintf(open, sizeof(open), "<!-- %s -->", tag);
    snprintf(close, sizeof(close), "<!-- /%s -->", tag);
    p = strstr(doc, open);
    end = p != NULL ? strstr(p, close) : NULL;
    assert_non_null(end);
    while ((p = strstr(p, "\n| `")) != NULL && p < end && n < cap) {
        const char *q = p + 4, *tick = strchr(q, '`');
        assert_non_null(tick);
        assert_true((size_t)(tick - q) < sizeof(names[0]));
        memcpy(names[n], q, (size_t)(tick - q));
        names[n][tick - q] = '\0';
        n++;
        p = tick;
    }
    return n;
}

/* docs/internals/classify.md lists the decision table's steps and adjustments in the
 * code's order. */
static void
test_doc_table(void **state)
{
    const char *src = getenv("BNC_SOURCE_DIR");
    char path[4096], names[32][32];
    char *doc;
    FILE *fp;
    long len;
    size_t n, i;
    int adj;
    (void)state;

    snprintf(path, sizeof(path), "%s/docs/internals/classify.md", src ? src : ".");
    fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    len = ftell(fp);
    assert_true(len > 0);
    rewind(fp);
    doc = malloc((size_t)len + 1);
    assert_non_null(doc);
    assert_int_equal(fread(doc, 1, (size_t)len, fp), (size_t)len);
    doc[len] = '\0';
    fclose(fp);
    for (adj = 0; adj < 2; adj++) {
        n = doc_table_names(doc, adj ? "classify-adjust" : "classify-steps", names, 32);
        for (i = 0; classify_step_name(i, adj) != NULL; i++) {
            if (i >= n || strcmp(names[i], classify_step_name(i, adj)) != 0) {
                fail_msg("classify.md %s row %zu is '%s', the code's is '%s'",
                         adj ? "adjustment" : "step", i, i < n ? names[i] : "(none)",
                         classify_step_name(i, adj));
            }
        }
        assert_int_equal(n, i);
    }
    free(doc);
}

/* An x-unix diagnostic is an exit status (sysexits.h). */
static void
test_exit_status(void **state)
{
    static const struct {
        const char *diag;
        bnc_reason want;
    } cases[] = {{"67", BNC_R_USERUNKNOWN}, {"68", BNC_R_HOSTUNKNOWN},  {"77", BNC_R_SYSTEMERROR},
                 {"75", BNC_R_MAILERERROR}, {"255", BNC_R_MAILERERROR}, {"", BNC_R_MAILERERROR}};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct one o;
        one_init(&o, "5.3.0", "", cases[i].diag, BNC_ACTION_FAILED);
        o.rc->diagnostic_type = "x-unix";
        classify_report(builtin, &o.rep);
        if (o.rc->reason != cases[i].want) {
            fail_msg("exit '%s': got %s", cases[i].diag, bnc_reason_name(o.rc->reason));
        }
        one_free(&o);
    }
}

static void
test_tables(void **state)
{
    char st[16];
    (void)state;
    assert_int_equal(classify_reason_from_status("5.1.1"), BNC_R_USERUNKNOWN);
    assert_int_equal(classify_reason_from_status("5.7.1"), BNC_R_SECURITYERROR);
    assert_int_equal(classify_reason_from_status("4.7.1"), BNC_R_BLOCKED);
    assert_int_equal(classify_reason_from_status("4.5.3"), BNC_R_TOOMANYCONN);
    assert_int_equal(classify_reason_from_status("5.7.0"), BNC_R_UNDEFINED);
    assert_int_equal(classify_reason_from_status("5.0.911"), BNC_R_UNDEFINED);
    assert_int_equal(classify_reason_from_status("2.0.0"), BNC_R_UNDEFINED);
    assert_int_equal(classify_reason_from_status(""), BNC_R_UNDEFINED);
    assert_int_equal(classify_reason_from_reply("552"), BNC_R_MAILBOXFULL);
    assert_int_equal(classify_reason_from_reply("421"), BNC_R_UNDEFINED);
    assert_int_equal(classify_reason_from_reply("250"), BNC_R_UNDEFINED);
    assert_int_equal(classify_hard(BNC_R_BLOCKED, false), 0);
    assert_int_equal(classify_hard(BNC_R_HASMOVED, true), 1);
    assert_int_equal(classify_hard(BNC_R_HOSTUNKNOWN, false), 1);
    assert_int_equal(classify_hard(BNC_R_HOSTUNKNOWN, true), 0); /* a 450 4.1.2, retried */
    assert_int_equal(classify_kind(BNC_R_MAILBOXFULL, 0), BNC_KIND_SOFT);
    assert_int_equal(classify_kind(BNC_R_ONHOLD, 0), BNC_KIND_UNKNOWN);
    reason_pseudo_status(BNC_R_EXPIRED, true, st);
    assert_string_equal(st, "4.0.947");
    reason_pseudo_status(BNC_R_VACATION, false, st);
    assert_string_equal(st, "");
}

static void
test_ctx_reload(void **state)
{
    static const char msg[] = "From: MAILER-DAEMON@mx.example.net\n"
                              "Subject: Undelivered Mail Returned to Sender\n"
                              "\n"
                              "<x@example.com>: host mx.example.com said: 550 5.7.1 zorglub\n"
                              "    refused this (in reply to RCPT TO command)\n";
    struct bnc_config cfg;
    bnc_ctx *ctx = NULL;
    bnc_report *r = NULL;
    struct rule_src bad_and_good = {"zorglub ==> nonsense\nzorglub ==> soft:policyviolation\n",
                                    "db"};
    (void)state;
    cfg_init(&cfg);
    free(cfg.rules_dir);
    cfg.rules_dir = NULL;
    assert_int_equal(bnc_ctx_new_config(&cfg, &ctx), BNC_OK);
    cfg_free(&cfg);
    assert_int_equal(bnc_parse(ctx, msg, sizeof(msg) - 1, &r), BNC_OK);
    assert_int_equal(bnc_report_rcpt_count(r), 1);
    assert_int_not_equal(bnc_report_rcpt(r, 0)->reason, BNC_R_POLICYVIOLATION);
    bnc_report_free(r);
    /* a reload adds the database's rules; the bad one is reported, the good one works */
    ctx->quiet = true;
    assert_int_equal(bnc_ctx_reload_rules(ctx, &bad_and_good, 1), BNC_OK);
    assert_non_null(strstr(bnc_ctx_errmsg(ctx), "db:1"));
    assert_int_equal(bnc_parse(ctx, msg, sizeof(msg) - 1, &r), BNC_OK);
    assert_int_equal(bnc_report_rcpt(r, 0)->reason, BNC_R_POLICYVIOLATION);
    assert_string_equal(bnc_report_rcpt(r, 0)->decided_by, "rule:db:2");
    bnc_report_free(r);
    bnc_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_beats_status),
        cmocka_unit_test(test_status_then_reply),
        cmocka_unit_test(test_notaccept_hard_unless_4xx),
        cmocka_unit_test(test_sender_side_not_hard),
        cmocka_unit_test(test_user_rules_first),
        cmocka_unit_test(test_reports_and_hints),
        cmocka_unit_test(test_user_unknown_after_data),
        cmocka_unit_test(test_user_unknown_needs_the_recipient),
        cmocka_unit_test(test_format_traits),
        cmocka_unit_test(test_reasons_signals),
        cmocka_unit_test(test_general_wordings),
        cmocka_unit_test(test_doc_table),
        cmocka_unit_test(test_stage_side),
        cmocka_unit_test(test_exit_status),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_ctx_reload),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
