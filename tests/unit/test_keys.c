/*
 * test_keys.c - what identifies a bounce and an event (pipeline/keys.c): the identity of a
 * message ignores trace fields, line ends and trailing blank lines and nothing else; event
 * keys name the failure (original Message-ID, recipient in its one form, status, day), fall
 * back to the identity, then to a log line's queue id and time; long keys are hashed whole.
 * layer: pipeline (links bnc_pipeline and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline/keys.h"

#define DAY 86400

static const char base[] = "From: MAILER-DAEMON@mx.example\r\n"
                           "Subject: failure\r\n"
                           "Message-ID: <dsn-1@mx.example>\r\n"
                           "\r\n"
                           "body line 1\r\n"
                           "\r\n"
                           "body line 3\r\n";

static void
ident(const char *msg, char out[KEY_HASH_HEX + 1])
{
    key_message_identity(msg, strlen(msg), out);
}

static void
test_identity(void **state)
{
    static const char *const same[] = {
        /* a hop's trace fields, folded ones too, in any case */
        "Received: from a.example by b.example;\r\n\tMon, 23 Nov 2026 01:00:00 +0000\r\n"
        "Return-Path: <>\r\nX-Original-To: <bounces@bounce.example>\r\n"
        "From: MAILER-DAEMON@mx.example\r\nSubject: failure\r\n"
        "DELIVERED-TO: x@y.example\r\nMessage-ID: <dsn-1@mx.example>\r\n"
        "Authentication-Results: mx; spf=pass\r\n\r\nbody line 1\r\n\r\nbody line 3\r\n",
        /* LF line ends, and blank lines at the end (the DATA terminator, an HTTP body) */
        "From: MAILER-DAEMON@mx.example\nSubject: failure\nMessage-ID: <dsn-1@mx.example>\n\n"
        "body line 1\n\nbody line 3\n\n\n",
        "From: MAILER-DAEMON@mx.example\nSubject: failure\nMessage-ID: <dsn-1@mx.example>\n\n"
        "body line 1\n\nbody line 3",
    };
    static const char *const other[] = {
        /* the bounce's own fields and body are its identity */
        "From: MAILER-DAEMON@mx.example\r\nSubject: failure\r\nMessage-ID: <dsn-2@mx.example>"
        "\r\n\r\nbody line 1\r\n\r\nbody line 3\r\n",
        "From: MAILER-DAEMON@mx.example\r\nSubject: failure\r\nMessage-ID: <dsn-1@mx.example>"
        "\r\n\r\nbody line 1\r\nbody line 3\r\n",
        /* a trace field's name inside the body is body text */
        "From: MAILER-DAEMON@mx.example\r\nSubject: failure\r\nMessage-ID: <dsn-1@mx.example>"
        "\r\n\r\nReceived: x\r\nbody line 1\r\n\r\nbody line 3\r\n",
    };
    char a[KEY_HASH_HEX + 1], b[KEY_HASH_HEX + 1];
    size_t i;

    (void)state;
    ident(base, a);
    assert_int_equal(strlen(a), KEY_HASH_HEX);
    for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        ident(same[i], b);
        if (strcmp(a, b) != 0) {
            fail_msg("same[%zu] has another identity", i);
        }
    }
    for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        ident(other[i], b);
        if (strcmp(a, b) == 0) {
            fail_msg("other[%zu] has the same identity", i);
        }
    }
    key_message_identity("", 0, b);
    assert_int_equal(strlen(b), KEY_HASH_HEX);
}

static struct bnc_rcpt
verdict(const char *rcpt, const char *status, const char *omid)
{
    struct bnc_rcpt v;

    memset(&v, 0, sizeof(v));
    v.recipient = rcpt;
    snprintf(v.status, sizeof(v.status), "%s", status);
    v.original_message_id = omid;
    v.origin = "dsn";
    return v;
}

static void
test_event_keys(void **state)
{
    char k1[KEY_MAX], k2[KEY_MAX];
    struct bnc_rcpt v = verdict("Anna@Bücher.Example.", "5.1.1", "<orig-1@sender.example>");
    struct bnc_rcpt w = verdict("anna@xn--bcher-kva.example", "5.1.1", "orig-1@sender.example");
    int64_t t = 1795395600; /* 2026-11-23 01:00 UTC */

    (void)state;
    /* the failure, whichever path and form: one key */
    key_event(k1, &v, "aaaa", "spool-1", t);
    w.origin = "log:maillog";
    w.message_id = "4F2A1C0B3D";
    key_event(k2, &w, NULL, NULL, t + 3600);
    assert_string_equal(k1, k2);
    assert_string_equal(k1, "fail|orig-1@sender.example|anna@xn--bcher-kva.example|5.1.1|20780");
    /* another day, another status: another event */
    key_event(k2, &w, NULL, NULL, t + DAY);
    assert_string_not_equal(k1, k2);
    snprintf(w.status, sizeof(w.status), "4.2.2");
    key_event(k2, &w, NULL, NULL, t);
    assert_string_not_equal(k1, k2);

    /* no original Message-ID: the identity of the message */
    v.original_message_id = "";
    key_event(k1, &v, "aaaa", "spool-1", t);
    key_event(k2, &v, "aaaa", "spool-2", t + 5 * DAY);
    assert_string_equal(k1, k2);
    assert_string_equal(k1, "msg|aaaa|anna@xn--bcher-kva.example|5.1.1");

    /* a log line: its queue id and time keep same-second lines apart */
    w.original_message_id = NULL;
    w.time = t;
    key_event(k1, &w, NULL, NULL, t);
    w.message_id = "4F2A1C0B3E";
    key_event(k2, &w, NULL, NULL, t);
    assert_string_not_equal(k1, k2);

    /* nothing else: the ref and the day */
    w.message_id = NULL;
    w.time = 0;
    key_event(k1, &w, NULL, "ref-1", t);
    key_event(k2, &w, NULL, "ref-2", t);
    assert_string_not_equal(k1, k2);
}

static void
test_long_keys(void **state)
{
    char mid[3000], k1[KEY_MAX], k2[KEY_MAX];
    struct bnc_rcpt v;

    (void)state;
    memset(mid, 'm', sizeof(mid) - 1);
    mid[sizeof(mid) - 1] = '\0';
    v = verdict("a@b.example", "5.1.1", mid);
    key_event(k1, &v, NULL, NULL, 0);
    assert_int_equal(strncmp(k1, "sha256:", 7), 0);
    assert_int_equal(strlen(k1), 7 + KEY_HASH_HEX);
    mid[sizeof(mid) - 2] = 'n'; /* differs only past KEY_MAX: still another key */
    key_event(k2, &v, NULL, NULL, 0);
    assert_string_not_equal(k1, k2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_event_keys),
        cmocka_unit_test(test_long_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
