/*
 * test_pipeline.c - pipeline_process() and pipeline_process_verdicts() against a fresh
 * SQLite file: the hard path from a raw DSN, event time from the DSN's Arrival-Date,
 * idempotency by (source, ref) and by content hash, not-a-bounce mail and auto-replies that
 * never count against a contact, attributes never touched, and fault injection: a store
 * failure at any call inside one message leaves nothing of that message behind.
 * layer: pipeline (links bnc_pipeline and the libraries below it, nothing above)
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
#include "pipeline/process.h"
#include "store/fault.h"
#include "store/model.h"
#include "store/store.h"

#define NOW ((int64_t)1794268800) /* 2026-11-10 */

/* 2026-11-02 09:59:00 UTC */
#define ARRIVAL_T ((int64_t)1793613540)

static const char dsn_hard[] =
    "From: MAILER-DAEMON@mx.example.net\r\n"
    "To: bounces@sender.example\r\n"
    "Subject: Undelivered Mail Returned to Sender\r\n"
    "Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
    "Message-ID: <b1@mx.example.net>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"BB\"\r\n"
    "\r\n"
    "--BB\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Your message could not be delivered.\r\n"
    "\r\n"
    "--BB\r\n"
    "Content-Type: message/delivery-status\r\n"
    "\r\n"
    "Reporting-MTA: dns; mx.example.net\r\n"
    "Arrival-Date: Mon, 2 Nov 2026 09:59:00 +0000\r\n"
    "\r\n"
    "Final-Recipient: rfc822; a@news.example\r\n"
    "Action: failed\r\n"
    "Status: 5.1.1\r\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <a@news.example>: Recipient address rejected: User "
    "unknown\r\n"
    "\r\n"
    "--BB\r\n"
    "Content-Type: text/rfc822-headers\r\n"
    "\r\n"
    "From: news@sender.example\r\n"
    "To: a@news.example\r\n"
    "Message-ID: <orig-a-1@sender.example>\r\n"
    "\r\n"
    "--BB--\r\n";

static const char not_bounce[] = "From: bob@example.org\r\n"
                                 "To: news@sender.example\r\n"
                                 "Subject: hello\r\n"
                                 "Date: Tue, 3 Nov 2026 10:00:00 +0000\r\n"
                                 "\r\n"
                                 "Thanks for the newsletter!\r\n";

static const char autoreply[] = "From: a@news.example\r\n"
                                "To: news@sender.example\r\n"
                                "Subject: Out of office\r\n"
                                "Auto-Submitted: auto-replied\r\n"
                                "Date: Tue, 3 Nov 2026 10:00:00 +0000\r\n"
                                "Message-ID: <ar1@news.example>\r\n"
                                "\r\n"
                                "I am away until Monday.\r\n";

struct fx {
    char dir[256];
    char path[300];
    struct bnc_config cfg;
    bnc_ctx *ctx;
    struct store *st;
    struct pipeline *pl;
    int64_t contact;
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[256];
    const char *tmp = getenv("TMPDIR");

    snprintf(f->dir, sizeof(f->dir), "%s/test_pipeline.XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(f->dir) == NULL) {
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    cfg_init(&f->cfg);
    if (bnc_ctx_new_config(&f->cfg, &f->ctx) != BNC_OK) {
        return -1;
    }
    if (store_open(f->path, &f->cfg, &f->st, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "store_open: %s\n", err);
        return -1;
    }
    if (model_contact_create(f->st, "a@news.example", "{\"plan\":\"gold\"}", NOW, &f->contact) !=
        BNC_OK) {
        return -1;
    }
    {
        int64_t lid;
        if (model_list_ensure(f->st, "news", NOW, &lid) != BNC_OK ||
            model_list_subscribe(f->st, lid, f->contact, NOW) != BNC_OK) {
            return -1;
        }
    }
    if (pipeline_new(f->ctx, f->st, &f->pl) != BNC_OK) {
        return -1;
    }
    pipeline_set_now(f->pl, NOW);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char p[400];

    pipeline_free(f->pl);
    store_close(f->st);
    bnc_ctx_free(f->ctx);
    cfg_free(&f->cfg);
    snprintf(p, sizeof(p), "%s/t.db", f->dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/t.db-wal", f->dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/t.db-shm", f->dir);
    unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

static int64_t
count(struct store *st, const char *sql)
{
    int64_t n = -1;
    assert_int_equal(store_query_int(st, sql, NULL, 0, &n), BNC_OK);
    return n;
}

static bnc_status
run(struct fx *f, const char *msg, size_t len, const char *ref, struct pipeline_result *res)
{
    struct pipeline_input in;

    memset(&in, 0, sizeof(in));
    in.data = msg;
    in.len = len;
    in.source = "file";
    in.ref = ref;
    in.received_at = NOW;
    return pipeline_process(f->pl, &in, res);
}

static void
test_hard_dsn_and_dedupe(void **state)
{
    struct fx *f = *state;
    struct pipeline_result res;
    struct model_contact c;

    assert_int_equal(run(f, dsn_hard, sizeof(dsn_hard) - 1, "spool/1", &res), BNC_OK);
    assert_false(res.duplicate);
    assert_int_equal(res.verdicts, 1);
    assert_int_equal(res.by_kind[BNC_KIND_HARD], 1);
    assert_int_equal(res.contacts_changed, 1);
    assert_int_equal(model_contact_get(f->st, NULL, f->contact, NOW, &c), BNC_OK);
    assert_int_equal(c.status, HYG_BOUNCED_HARD);
    assert_true(c.suppressed);
    assert_int_equal(c.last_bounce_at, ARRIVAL_T); /* event time from the DSN, not now */
    assert_string_equal(c.attributes, "{\"plan\":\"gold\"}");
    model_contact_free(&c);
    assert_int_equal(count(f->st, "SELECT event_time FROM bounce_events"), ARRIVAL_T);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_log WHERE ref = 'spool/1' AND "
                                  "actor = 'bounce' AND decided_by <> ''"),
                     1);

    /* the same ref again, and the same bytes under another ref: duplicates */
    assert_int_equal(run(f, dsn_hard, sizeof(dsn_hard) - 1, "spool/1", &res), BNC_OK);
    assert_true(res.duplicate);
    assert_int_equal(res.verdicts, 0);
    assert_int_equal(run(f, dsn_hard, sizeof(dsn_hard) - 1, "spool/2", &res), BNC_OK);
    assert_true(res.duplicate);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM bounce_events"), 1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM ingested"), 1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_log"), 1);
}

/* The final address is an alias's target that is no contact; the Original-Recipient (the
 * address the message was sent to) is the contact that the verdict changes. */
static void
test_original_recipient(void **state)
{
    static const char dsn[] = "From: MAILER-DAEMON@mx.example.net\r\n"
                              "Subject: Undelivered Mail Returned to Sender\r\n"
                              "Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
                              "MIME-Version: 1.0\r\n"
                              "Content-Type: multipart/report; report-type=delivery-status; "
                              "boundary=\"BB\"\r\n"
                              "\r\n"
                              "--BB\r\n"
                              "Content-Type: message/delivery-status\r\n"
                              "\r\n"
                              "Reporting-MTA: dns; mx.example.net\r\n"
                              "\r\n"
                              "Final-Recipient: rfc822; a.mailbox@store7.news.example\r\n"
                              "Original-Recipient: rfc822; A@news.example\r\n"
                              "Action: failed\r\n"
                              "Status: 5.1.1\r\n"
                              "\r\n"
                              "--BB--\r\n";
    struct fx *f = *state;
    struct pipeline_result res;
    struct model_contact c;

    assert_int_equal(run(f, dsn, sizeof(dsn) - 1, "spool/orig", &res), BNC_OK);
    assert_int_equal(res.verdicts, 1);
    assert_int_equal(res.contacts_changed, 1);
    assert_int_equal(model_contact_get(f->st, NULL, f->contact, NOW, &c), BNC_OK);
    assert_int_equal(c.status, HYG_BOUNCED_HARD);
    model_contact_free(&c);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM bounce_events WHERE recipient = "
                                  "'a@news.example'"),
                     1);
}

/* The same through Sendmail's text: "(expanded from: <addr>)" names the contact. */
static void
test_expanded_from(void **state)
{
    static const char bounce[] =
        "From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.net>\r\n"
        "Subject: Returned mail: see transcript for details\r\n"
        "Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
        "\r\n"
        "   ----- The following addresses had permanent fatal errors -----\r\n"
        "a.mailbox@store7.news.example\r\n"
        "    (expanded from: <A@news.example>)\r\n"
        "\r\n"
        "   ----- Transcript of session follows -----\r\n"
        "550 5.1.1 a.mailbox@store7.news.example... User unknown\r\n";
    struct fx *f = *state;
    struct pipeline_result res;
    struct model_contact c;

    assert_int_equal(run(f, bounce, sizeof(bounce) - 1, "spool/expanded", &res), BNC_OK);
    assert_int_equal(res.verdicts, 1);
    assert_int_equal(res.contacts_changed, 1);
    assert_int_equal(model_contact_get(f->st, NULL, f->contact, NOW, &c), BNC_OK);
    assert_int_equal(c.status, HYG_BOUNCED_HARD);
    model_contact_free(&c);
}

/* A bounce dated more than a day after "now" takes the received time instead. */
static void
test_future_date_clamped(void **state)
{
    struct fx *f = *state;
    struct pipeline_result res;

    pipeline_set_now(f->pl, ARRIVAL_T - 3 * 86400);
    assert_int_equal(run(f, dsn_hard, sizeof(dsn_hard) - 1, "future", &res), BNC_OK);
    assert_int_equal(res.verdicts, 1);
    assert_int_equal(count(f->st, "SELECT event_time FROM bounce_events"), NOW);
}

static void
test_not_bounce_and_autoreply(void **state)
{
    struct fx *f = *state;
    struct pipeline_result res;
    struct model_contact c;

    assert_int_equal(run(f, not_bounce, sizeof(not_bounce) - 1, NULL, &res), BNC_OK);
    assert_true(res.not_bounce);
    assert_int_equal(res.verdicts, 0);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM ingested WHERE not_bounce = 1"), 1);
    assert_int_equal(run(f, not_bounce, sizeof(not_bounce) - 1, NULL, &res), BNC_OK);
    assert_true(res.duplicate);

    assert_int_equal(run(f, autoreply, sizeof(autoreply) - 1, "ar", &res), BNC_OK);
    assert_int_equal(res.by_kind[BNC_KIND_AUTOREPLY], res.verdicts);
    assert_int_equal(res.contacts_changed, 0);
    assert_int_equal(model_contact_get(f->st, NULL, f->contact, NOW, &c), BNC_OK);
    assert_int_equal(c.status, HYG_ACTIVE);
    assert_int_equal(c.soft_count, 0);
    assert_false(c.suppressed);
    model_contact_free(&c);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM bounce_events WHERE kind <> 'autoreply'"),
                     0);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_log"), 0);
}

static void
test_verdicts_api(void **state)
{
    struct fx *f = *state;
    struct pipeline_result res;
    struct bnc_rcpt v[2];
    struct model_check ck;
    int i;

    memset(v, 0, sizeof(v));
    for (i = 0; i < 2; i++) {
        v[i].recipient = i == 0 ? "a@news.example" : "x@other.example";
        v[i].original_recipient = v[i].diagnostic = v[i].diagnostic_type = "";
        v[i].remote_mta = v[i].reporting_mta = v[i].date = v[i].message_id = "";
        v[i].original_message_id = v[i].feedback_type = v[i].smtp_command = "";
        v[i].origin = "webhook:ses";
        v[i].decided_by = "webhook:ses";
        v[i].time = NOW - 3600;
    }
    v[0].kind = BNC_KIND_COMPLAINT;
    v[0].reason = BNC_R_FEEDBACK;
    v[0].feedback_type = "abuse";
    v[1].kind = BNC_KIND_HARD;
    v[1].reason = BNC_R_HOSTUNKNOWN;
    v[1].hard = 1;
    snprintf(v[1].status, sizeof(v[1].status), "5.1.2");
    assert_int_equal(pipeline_process_verdicts(f->pl, v, 2, "webhook:ses", "evt-1", &res), BNC_OK);
    assert_int_equal(res.verdicts, 2);
    assert_int_equal(res.by_kind[BNC_KIND_COMPLAINT], 1);
    assert_int_equal(model_check(f->st, NULL, "a@news.example", 0, &ck), BNC_OK);
    assert_false(ck.sendable);
    assert_string_equal(ck.status, "COMPLAINED");
    assert_string_equal(ck.source, "complaint");
    assert_int_equal(model_check(f->st, NULL, "x@other.example", 0, &ck), BNC_OK);
    assert_false(ck.sendable); /* no contact needed */
    assert_int_equal(pipeline_process_verdicts(f->pl, v, 2, "webhook:ses", "evt-1", &res), BNC_OK);
    assert_true(res.duplicate);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM bounce_events"), 2);
}

/* A store failure at any call inside one message leaves nothing of it behind. */
static void
test_fault_injection(void **state)
{
    struct fx *f = *state;
    static const char *const tables[] = {"bounce_events", "suppressions", "audit_log",
                                         "review_items",  "ingested",     "list_members"};
    struct pipeline_result res;
    struct store *fs;
    struct pipeline *pl;
    int64_t before[6];
    long n, k;
    size_t t;
    char q[160];

    assert_int_equal(store_fault_wrap(f->st, &fs), BNC_OK);
    f->st = fs;
    pipeline_free(f->pl);
    assert_int_equal(pipeline_new(f->ctx, fs, &pl), BNC_OK);
    pipeline_set_now(pl, NOW);
    f->pl = pl;
    for (t = 0; t < 6; t++) {
        snprintf(q, sizeof(q), "SELECT COUNT(*) FROM %s", tables[t]);
        before[t] = count(fs, q);
    }
    before[5] = count(fs, "SELECT COUNT(*) FROM list_members WHERE status = 'subscribed'");
    /* learn N: count the calls of one run whose commit then fails (so it leaves nothing) */
    store_fault_fail_at(fs, 0, BNC_OK);
    store_fault_fail_commit(fs, BNC_EIO);
    assert_int_not_equal(run(f, dsn_hard, sizeof(dsn_hard) - 1, "f", &res), BNC_OK);
    n = store_fault_exec_count(fs);
    store_fault_fail_commit(fs, BNC_OK);
    assert_true(n > 5);
    for (k = 1; k <= n + 1; k++) {
        if (k <= n) {
            store_fault_fail_at(fs, k, k % 2 ? BNC_EIO : BNC_EBUSY);
        } else {
            store_fault_fail_at(fs, 0, BNC_OK);
            store_fault_fail_commit(fs, BNC_EIO); /* and a failed commit */
        }
        assert_int_not_equal(run(f, dsn_hard, sizeof(dsn_hard) - 1, "f", &res), BNC_OK);
        assert_false(res.duplicate);
        assert_int_equal(res.verdicts, 0);
        store_fault_fail_at(fs, 0, BNC_OK);
        store_fault_fail_commit(fs, BNC_OK);
        for (t = 0; t < 5; t++) {
            snprintf(q, sizeof(q), "SELECT COUNT(*) FROM %s", tables[t]);
            if (count(fs, q) != before[t]) {
                fail_msg("failure at call %ld of %ld left rows in %s", k, n, tables[t]);
            }
        }
        if (count(fs, "SELECT COUNT(*) FROM list_members WHERE status = 'subscribed'") !=
            before[5]) {
            fail_msg("failure at call %ld left an unsubscribe behind", k);
        }
        {
            struct model_check ck;
            assert_int_equal(model_check(fs, NULL, "a@news.example", 0, &ck), BNC_OK);
            assert_true(ck.sendable);
            assert_string_equal(ck.status, "ACTIVE");
        }
    }
    /* unarmed, the retry goes through exactly once */
    assert_int_equal(run(f, dsn_hard, sizeof(dsn_hard) - 1, "f", &res), BNC_OK);
    assert_int_equal(res.contacts_changed, 1);
    assert_int_equal(run(f, dsn_hard, sizeof(dsn_hard) - 1, "f", &res), BNC_OK);
    assert_true(res.duplicate);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hard_dsn_and_dedupe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_future_date_clamped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_original_recipient, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expanded_from, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_bounce_and_autoreply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verdicts_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_injection, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
