/*
 * test_status_code.c - RFC 3463 status codes and SMTP reply codes: validation and
 * extraction from diagnostic text (table-driven, inputs in guard-page buffers).
 * layer: parse (links bnc_parse and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "parse/parse.h"

static void
test_parse_valid(void **state)
{
    static const struct {
        const char *in, *want;
        size_t used;
    } t[] = {
        {"5.1.1", "5.1.1", 5},         {"4.4.7 x", "4.4.7", 5},
        {"2.0.0", "2.0.0", 5},         {"5.7.26", "5.7.26", 6},
        {"5.123.456", "5.123.456", 9}, {"5.1.1 (user unknown)", "5.1.1", 5},
        {"4.2.2.", "4.2.2", 5},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct guard_buf g;
        char out[16];
        size_t used = 0;
        guard_init(&g, t[i].in, strlen(t[i].in));
        assert_true(status_code_parse(g.p, g.len, out, &used));
        assert_string_equal(out, t[i].want);
        assert_int_equal(used, t[i].used);
        guard_free(&g);
    }
}

static void
test_parse_invalid(void **state)
{
    static const char *const bad[] = {
        "",     "5",     "5.1",    "3.1.1", "6.0.0", "5.1.1.2", "5.1234.1", "5..1",
        "5.1.", "x.1.1", "5.1.1x", "550",   "5,1,1", "5.a.1",   "5.1.1000", "1.2.3",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct guard_buf g;
        char out[16];
        guard_init(&g, bad[i], strlen(bad[i]));
        assert_false(status_code_parse(g.p, g.len, out, NULL));
        guard_free(&g);
    }
}

static void
test_from_text(void **state)
{
    static const struct {
        const char *in, *st, *rc;
    } t[] = {
        {"smtp; 550 5.1.1 <x@y>: user unknown", "5.1.1", "550"},
        {"550-5.1.1 The email account does not exist", "5.1.1", "550"},
        {"552 5.2.2 Mailbox full", "5.2.2", "552"},
        {"host mx.example.jp [192.0.2.20]: 550 5.7.0 <a@b>... Please use", "5.7.0", "550"},
        {"421 4.4.2 timeout", "4.4.2", "421"},
        {"Remote host said: 554 delivery error", "", "554"},
        {"#5.1.1 user unknown", "5.1.1", ""},
        {"(#5.5.0)", "5.5.0", ""},
        {"connect to 192.0.2.250:25: timed out", "", ""},
        {"Postfix 2.5.1 said: nothing", "2.5.1", ""},
        {"retry timeout exceeded 2026-11-23 12:00", "", ""},
        {"550 user unknown (in reply to RCPT TO command) 4.4.1", "", "550"},
        {"", "", ""},
        {"5.1.10 Recipient not found 550", "5.1.10", "550"},
        {"<a@b>: 550: 5.2.2 <a@b>... Mailbox Full", "5.2.2", "550"},
        {"Invalid Address, ERROR_CODE :550, ERROR_CODE :5.2.1 <a@b>", "5.2.1", "550"},
        {"connect to 192.0.2.1:550: refused", "", ""},
        {"at 10:550 said 5.1.1", "5.1.1", ""},
        {"host said 550:25 x", "", ""},
        {"220-greeting 421 4.2.1 Service refused", "4.2.1", "421"},
        {"554 4.4.7 Message expired", "", "554"},
        {"Diagnostic 522 5.2.0 over quota", "5.2.0", ""},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct guard_buf g;
        char st[16], rc[4];
        guard_init(&g, t[i].in, strlen(t[i].in));
        status_code_from_text(g.p, g.len, st, rc);
        if (strcmp(st, t[i].st) != 0 || strcmp(rc, t[i].rc) != 0) {
            print_error("case %zu '%s': got '%s' '%s'\n", i, t[i].in, st, rc);
        }
        assert_string_equal(st, t[i].st);
        assert_string_equal(rc, t[i].rc);
        guard_free(&g);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_from_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
