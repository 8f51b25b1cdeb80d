/*
 * test_email.c - the one address form (core/email.c): a table of IDN, mixed-case and
 * trailing-dot addresses with the form each must take, that the form is stable (normalizing
 * it again changes nothing), refusals, the domain alone, a DSN's recipient parsed into the
 * same form, and the store: the U-label, A-label and upper-case forms are one contact and
 * one suppression (SQLite in a temporary file).
 * layer: pipeline (links bnc_pipeline: the store and the parser, nothing above)
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

#include "core/cfg.h"
#include "core/email.h"
#include "parse/parse.h"
#include "store/model.h"
#include "store/store.h"

static const struct {
    const char *in;
    const char *want; /* NULL: refused */
} cases[] = {
    {"anna@example.com", "anna@example.com"},
    {"Anna.Smith@Example.COM", "anna.smith@example.com"},
    {"  anna@example.com \r\n", "anna@example.com"},
    {"anna@example.com.", "anna@example.com"},
    {"anna@bücher.example", "anna@xn--bcher-kva.example"},
    {"anna@xn--bcher-kva.example", "anna@xn--bcher-kva.example"},
    {"ANNA@BÜCHER.EXAMPLE", "anna@xn--bcher-kva.example"},
    {"ANNA@XN--BCHER-KVA.EXAMPLE.", "anna@xn--bcher-kva.example"},
    {"Anna@Bücher.Example.", "anna@xn--bcher-kva.example"},
    {"neko@地域猫.jp", "neko@xn--cesupi09d.jp"},
    {"user@straße.de", "user@xn--strae-oqa.de"}, /* non-transitional: ß is kept */
    {"user@münchen.de", "user@xn--mnchen-3ya.de"},
    {"Ünïcode@example.com", "Ünïcode@example.com"}, /* local part: only ASCII case folds */
    {"first+tag@Example.com", "first+tag@example.com"},
    {"user@[192.0.2.1]", "user@[192.0.2.1]"},
    {"user@xn--zz.example", "user@xn--zz.example"}, /* IDNA refuses it: kept as written */
    {"user@localhost", "user@localhost"},
    {"", NULL},
    {"no-at-sign.example", NULL},
    {"two@@example.com", NULL},
    {"a@b@example.com", NULL},
    {"@example.com", NULL},
    {"user@", NULL},
    {"user@.", NULL},
    {"us er@example.com", NULL},
    {"<user@example.com>", NULL},
    {"user@exa\x01mple.com", NULL},
    {"user@\xff\xfe.example", NULL},
};

static void
test_table(void **state)
{
    char out[EMAIL_MAX + 1], again[EMAIL_MAX + 1];
    size_t i, len;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool ok = email_normalize(cases[i].in, strlen(cases[i].in), out, &len);
        if (cases[i].want == NULL) {
            if (ok) {
                fail_msg("case %zu \"%s\": accepted as \"%s\"", i, cases[i].in, out);
            }
            assert_string_equal(out, "");
            continue;
        }
        if (!ok || strcmp(out, cases[i].want) != 0) {
            fail_msg("case %zu \"%s\": got %s \"%s\", want \"%s\"", i, cases[i].in,
                     ok ? "ok" : "refused", out, cases[i].want);
        }
        assert_int_equal(len, strlen(out));
        /* the form is a fixed point */
        assert_true(email_normalize(out, len, again, NULL));
        assert_string_equal(again, out);
    }
}

static void
test_lengths_and_domain(void **state)
{
    char in[EMAIL_MAX + 2], out[EMAIL_MAX + 1];

    (void)state;
    /* exactly EMAIL_MAX bytes is accepted, one more is refused */
    memset(in, 'a', sizeof(in));
    memcpy(in + EMAIL_MAX - 12, "@example.com", 12);
    assert_true(email_normalize(in, EMAIL_MAX, out, NULL));
    memcpy(in + EMAIL_MAX - 11, "@example.com", 12);
    assert_false(email_normalize(in, EMAIL_MAX + 1, out, NULL));
    assert_false(email_normalize(NULL, 0, out, NULL));
    assert_true(email_normalize_domain("BÜCHER.example.", 16, out));
    assert_string_equal(out, "xn--bcher-kva.example");
    assert_true(email_normalize_domain("Example.COM", 11, out));
    assert_string_equal(out, "example.com");
    assert_false(email_normalize_domain("a@b", 3, out));
    assert_false(email_normalize_domain(" ", 1, out));
}

/* A DSN's Final-Recipient comes out of the parser in the same form. */
static void
test_parsed_recipient(void **state)
{
    static const char msg[] =
        "From: MAILER-DAEMON@mx.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n"
        "\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example\r\n\r\n"
        "Final-Recipient: utf-8; ANNA@B\\x{DC}CHER.EXAMPLE.\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n";
    struct bnc_config cfg;
    struct parse_limits lim;
    bnc_report *r = NULL;

    (void)state;
    cfg_init(&cfg);
    parse_limits_from_config(&lim, &cfg);
    assert_int_equal(parse_message(&lim, msg, sizeof(msg) - 1, &r), BNC_OK);
    assert_int_equal(bnc_report_rcpt_count(r), 1);
    assert_string_equal(bnc_report_rcpt(r, 0)->recipient, "anna@xn--bcher-kva.example");
    bnc_report_free(r);
    cfg_free(&cfg);
}

/* The SQLite files of a test store and their directory. */
static void
remove_dir(const char *dir)
{
    static const char *const files[] = {"t.db", "t.db-wal", "t.db-shm"};
    char path[64];
    size_t i;

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* The store: three forms, one contact, one suppression. */
static void
test_store_one_contact(void **state)
{
    char dir[] = "/tmp/bnc-email-XXXXXX", path[64], err[256];
    struct bnc_config cfg;
    struct store *st = NULL;
    struct model_contact c;
    struct model_check ck;
    int64_t id = 0, id2 = 0;
    bool created = true;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/t.db", dir);
    cfg_init(&cfg);
    assert_int_equal(store_open(path, &cfg, &st, err, sizeof(err)), BNC_OK);
    assert_int_equal(model_contact_create(st, "anna@bücher.example", NULL, 1000, &id), BNC_OK);
    assert_int_equal(model_contact_create(st, "ANNA@XN--BCHER-KVA.EXAMPLE", NULL, 1000, &id2),
                     BNC_ECONFLICT);
    assert_int_equal(model_contact_upsert(st, "Anna@Bücher.Example.", "{\"k\":1}", 1000, &id2,
                                          &created),
                     BNC_OK);
    assert_false(created);
    assert_int_equal(id2, id);
    assert_int_equal(model_contact_find(st, NULL, "anna@xn--bcher-kva.example.", 1000, &c),
                     BNC_OK);
    assert_int_equal(c.id, id);
    assert_string_equal(c.email, "anna@xn--bcher-kva.example");
    model_contact_free(&c);
    /* a hard bounce reported in one form suppresses every form */
    assert_int_equal(model_suppress(st, "ANNA@BÜCHER.EXAMPLE", "userunknown", "bounce", "test",
                                    "t", 1000, &created),
                     BNC_OK);
    assert_int_equal(model_check(st, NULL, "anna@xn--bcher-kva.example", 0, &ck), BNC_OK);
    assert_false(ck.sendable);
    assert_int_equal(model_check(st, NULL, "Anna@bücher.example.", 0, &ck), BNC_OK);
    assert_false(ck.sendable);
    store_close(st);
    cfg_free(&cfg);
    remove_dir(dir);
}

/* A store written before 0003 holds addresses in their old form: the migration rewrites
 * them, so what was suppressed stays suppressed under the new form. */
static void
test_upgrade_rewrites(void **state)
{
    static const char *const files[] = {"t.db", "t.db-wal", "t.db-shm"};
    static const char *const old[] = {
        "INSERT INTO contacts (email, created_at, updated_at) VALUES ('anna@bücher.example', 1, "
        "1)",
        "INSERT INTO contacts (email, created_at, updated_at) VALUES ('carl@example.com.', 1, 1)",
        "INSERT INTO contacts (email, created_at, updated_at) VALUES ('carl@example.com', 1, 1)",
        "INSERT INTO suppressions (address, created_at) VALUES ('bob@straße.de.', 1)",
        "INSERT INTO suppressions (address, created_at) VALUES ('carl@example.com.', 1)",
        "INSERT INTO suppressions (address, created_at) VALUES ('carl@example.com', 1)",
        "DELETE FROM schema_migrations WHERE version = '0003_event_reports'",
        "DROP TABLE event_reports",
        "DROP INDEX bounce_events_ref_idx",
        "DROP INDEX api_tokens_live_name",
    };
    char dir[] = "/tmp/bnc-email-XXXXXX", path[64], err[256];
    struct bnc_config cfg;
    struct store *st = NULL;
    struct model_contact c;
    struct model_check ck;
    int64_t n = 0;
    size_t i;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/t.db", dir);
    cfg_init(&cfg);
    assert_int_equal(store_open(path, &cfg, &st, err, sizeof(err)), BNC_OK);
    for (i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
        if (store_exec(st, old[i], NULL, 0, NULL, NULL, NULL) != BNC_OK) {
            fail_msg("%s: %s", old[i], store_errmsg(st));
        }
    }
    store_close(st);
    assert_int_equal(store_open(path, &cfg, &st, err, sizeof(err)), BNC_OK);
    assert_int_equal(model_contact_find(st, NULL, "ANNA@xn--bcher-kva.example", 1, &c), BNC_OK);
    assert_int_equal(c.id, 1);
    model_contact_free(&c);
    assert_int_equal(model_check(st, NULL, "bob@straße.de", 0, &ck), BNC_OK);
    assert_false(ck.sendable);
    /* two contacts that are one address now: both kept (a person merges them) */
    assert_int_equal(store_query_int(st, "SELECT COUNT(*) FROM contacts WHERE email LIKE 'carl@%'",
                                     NULL, 0, &n),
                     BNC_OK);
    assert_int_equal(n, 2);
    /* two suppressions that are one address now: one left */
    assert_int_equal(store_query_int(st,
                                     "SELECT COUNT(*) FROM suppressions WHERE address LIKE 'carl@%'",
                                     NULL, 0, &n),
                     BNC_OK);
    assert_int_equal(n, 1);
    store_close(st);
    cfg_free(&cfg);
    remove_dir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_lengths_and_domain),
        cmocka_unit_test(test_parsed_recipient),
        cmocka_unit_test(test_store_one_contact),
        cmocka_unit_test(test_upgrade_rewrites),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
