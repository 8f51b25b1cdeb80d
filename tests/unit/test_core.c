/*
 * test_core.c - arena, buf, slices, UTF-8 and the configuration table.
 * layer: core (links bnc_core and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/cfg.h"
#include "core/date.h"
#include "core/reasons.h"
#include "core/slice.h"
#include "core/utf8.h"

static void
test_arena_cap(void **state)
{
    struct arena *a = arena_new(64);
    (void)state;
    assert_non_null(arena_alloc(a, 32));
    assert_non_null(arena_alloc(a, 32)); /* exactly at the cap */
    assert_null(arena_alloc(a, 1));      /* one past */
    arena_free(a);
    a = arena_new(0);
    assert_non_null(arena_alloc(a, 3 * 1024 * 1024)); /* larger than a chunk */
    assert_string_equal(arena_strndup(a, "hello", 3), "hel");
    arena_free(a);
}

static void
test_buf_cap(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 8);
    assert_int_equal(buf_adds(&b, "12345678"), BNC_OK); /* at the cap */
    assert_int_equal(buf_addc(&b, '9'), BNC_ELIMIT);    /* one past */
    assert_string_equal(b.p, "12345678");
    buf_free(&b);
    buf_init(&b, 0);
    assert_int_equal(buf_add_json_str(&b, "a\"b\\\n\x01\xff", 7), BNC_OK);
    assert_string_equal(b.p, "\"a\\\"b\\\\\\n\\u0001\xef\xbf\xbd\"");
    buf_free(&b);
}

static void
test_slices(void **state)
{
    const char *h = "Diagnostic-Code: SMTP; 550 user UNKNOWN";
    (void)state;
    assert_ptr_equal(mem_find_ci(h, strlen(h), "user unknown", 12), h + 27);
    assert_null(mem_find_ci(h, strlen(h), "mailbox", 7));
    assert_true(slice_eq_ci(slice_trim(slice_make("  Failed \r\n", 11)), "failed"));
}

/* byte-by-byte reference for mem_find_ci (ci) and mem_find */
static const char *
naive_find(const char *h, size_t hl, const char *n, size_t nl, bool ci)
{
    size_t i, j;
    for (i = 0; i + nl <= hl; i++) {
        for (j = 0; j < nl; j++) {
            char a = h[i + j], b = n[j];
            if (ci) {
                a = (char)((a >= 'A' && a <= 'Z') ? a + 32 : a);
                b = (char)((b >= 'A' && b <= 'Z') ? b + 32 : b);
            }
            if (a != b) {
                break;
            }
        }
        if (j == nl) {
            return h + i;
        }
    }
    return nl == 0 ? h : NULL;
}

/* haystacks up to 89 bytes: the vector widths (32, then 16 positions a time) and the
 * byte-by-byte tail all meet matches, at every offset */
static void
test_find_ci_random(void **state)
{
    static const char alpha[] = "aAbB:";
    char h[96], n[8];
    unsigned seed = 12345;
    size_t hl, nl, i;
    int t;
    (void)state;
    for (t = 0; t < 200000; t++) {
        seed = seed * 1103515245u + 12345u;
        hl = (seed >> 8) % 90;
        nl = (seed >> 20) % 7;
        for (i = 0; i < hl; i++) {
            seed = seed * 1103515245u + 12345u;
            h[i] = alpha[(seed >> 16) % 5];
        }
        for (i = 0; i < nl; i++) {
            seed = seed * 1103515245u + 12345u;
            n[i] = alpha[(seed >> 16) % 5];
        }
        assert_ptr_equal(mem_find_ci(h, hl, n, nl), naive_find(h, hl, n, nl, true));
        assert_ptr_equal(mem_find(h, hl, n, nl), naive_find(h, hl, n, nl, false));
    }
}

static void
test_utf8(void **state)
{
    (void)state;
    assert_true(utf8_valid("h\xc3\xa9llo", 6));
    assert_false(utf8_valid("\xc0\xaf", 2));     /* overlong */
    assert_false(utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    assert_false(utf8_valid("\xe2\x82", 2));     /* truncated */
    {
        /* a sequence or a bad byte after a run of ASCII longer than one vector, at each
         * offset */
        char t[80];
        size_t at;
        for (at = 0; at + 2 <= sizeof(t); at++) {
            memset(t, 'a', sizeof(t));
            t[at] = '\xc3';
            t[at + 1] = '\xa9';
            assert_true(utf8_valid(t, sizeof(t)));
            assert_false(utf8_ascii(t, sizeof(t)));
            assert_true(utf8_ascii(t, at));
            t[at + 1] = 'a';
            assert_false(utf8_valid(t, sizeof(t)));
        }
    }
}

static void
test_cfg(void **state)
{
    struct bnc_config c;
    char err[256];
    int64_t v;
    (void)state;
    cfg_init(&c);
    assert_int_equal(c.limit_message_size, 10 * 1024 * 1024);
    assert_int_equal(c.policy_soft_threshold, 3);
    assert_int_equal(cfg_set(&c, "policy.soft_threshold", "5", err, sizeof(err)), BNC_OK);
    assert_int_equal(c.policy_soft_threshold, 5);
    assert_int_equal(cfg_set(&c, "limits.mime_depth", "0", err, sizeof(err)), BNC_ECONFIG);
    assert_int_equal(cfg_set(&c, "no.such", "1", err, sizeof(err)), BNC_ECONFIG);
    assert_int_equal(cfg_set(&c, "smtp.idle_timeout", "2m", err, sizeof(err)), BNC_OK);
    assert_int_equal(c.smtp_idle, 120);
    assert_int_equal(cfg_parse_size("100k", &v), 0);
    assert_int_equal(v, 102400);
    assert_int_not_equal(cfg_parse_size("10x", &v), 0);
    assert_true(cfg_list_has(c.policy_sender_reasons, "blocked"));
    assert_false(cfg_list_has(c.policy_sender_reasons, "block"));
    setenv("BOUNCED_POLICY_SOFT_DECAY_DAYS", "12", 1);
    assert_int_equal(cfg_load_env(&c, err, sizeof(err)), BNC_OK);
    assert_int_equal(c.policy_soft_decay_days, 12);
    setenv("BOUNCED_POLICY_SOFT_DECAY_DAYS", "zero", 1);
    assert_int_equal(cfg_load_env(&c, err, sizeof(err)), BNC_ECONFIG);
    unsetenv("BOUNCED_POLICY_SOFT_DECAY_DAYS");
    cfg_free(&c);
}

static void
test_date(void **state)
{
    int64_t t = -1;
    (void)state;
    assert_int_equal(date_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(date_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(date_days_from_civil(1969, 12, 31), -1);
    assert_true(date_parse_iso_utc("2024-02-29", &t));
    assert_int_equal(t, 1709164800);
    assert_true(date_parse_iso_utc("2024-02-29T12:30:05Z", &t));
    assert_int_equal(t, 1709209805);
    assert_true(date_parse_iso_utc("2024-02-29 12:30:05Z", &t));
    assert_false(date_parse_iso_utc("2024-13-01", &t));
    assert_false(date_parse_iso_utc("2024-02-29T12:30:05", &t));
    assert_false(date_parse_iso_utc("2024-02-29T24:00:00Z", &t));
    assert_false(date_parse_iso_utc("1709164800", &t));
    assert_int_equal(t, 1709209805); /* untouched on failure */
}

static void
test_cfg_text(void **state)
{
    struct bnc_config c;
    char err[256];
    (void)state;
    cfg_init(&c);
    assert_int_equal(cfg_load_text(&c, "t.conf", "[policy]\nsoft_threshold = 5\n", err, sizeof(err)),
                     BNC_OK);
    assert_int_equal(c.policy_soft_threshold, 5);
    assert_int_equal(cfg_load_text(&c, "t.conf", "[policy]\nnope = 1\n", err, sizeof(err)),
                     BNC_ECONFIG);
    assert_non_null(strstr(err, "t.conf"));
    assert_int_equal(cfg_load_text(&c, "t.conf", "[broken\n", err, sizeof(err)), BNC_ECONFIG);
    assert_string_equal(err, "t.conf:1: syntax error");
    cfg_free(&c);
}

static void
test_names(void **state)
{
    bnc_kind k = BNC_KIND_UNKNOWN;
    bnc_action a = BNC_ACTION_NONE;
    bnc_reason r = BNC_R_UNDEFINED;
    char ps[16];
    (void)state;
    assert_true(bnc_kind_from_name("complaint", &k));
    assert_int_equal(k, BNC_KIND_COMPLAINT);
    assert_false(bnc_kind_from_name("bogus", &k));
    assert_true(bnc_action_from_name("delayed", &a));
    assert_int_equal(a, BNC_ACTION_DELAYED);
    assert_false(bnc_action_from_name("bogus", &a));
    assert_true(bnc_reason_from_name("mailboxfull", &r));
    assert_string_equal(bnc_reason_name(r), "mailboxfull");
    reason_pseudo_status(BNC_R_USERUNKNOWN, false, ps);
    assert_string_equal(ps, "5.0.911");
    reason_pseudo_status(BNC_R_FEEDBACK, true, ps);
    assert_string_equal(ps, "");
    assert_string_equal(bnc_strerror(BNC_ECONFLICT), "conflict");
    assert_string_equal(bnc_strerror(BNC__LAST), "unknown status");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_cap), cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_slices),    cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_find_ci_random),
        cmocka_unit_test(test_cfg),       cmocka_unit_test(test_date),
        cmocka_unit_test(test_names),       cmocka_unit_test(test_cfg_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
