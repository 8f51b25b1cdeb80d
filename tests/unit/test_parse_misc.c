/*
 * test_parse_misc.c - addresses (prefixes, brackets, comments, VERP), RFC 5322 dates, the
 * mbox splitter and charset conversion (aliases, Japanese encodings, invalid bytes).
 * layer: parse (links bnc_parse and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "parse/mbox.h"
#include "parse/parse.h"

static struct bnc_report *
empty_report(void)
{
    struct parse_limits lim;
    struct bnc_report *r = NULL;

    parse_limits_default(&lim);
    assert_int_equal(parse_message(&lim, "Subject: x\n\n", 12, &r), BNC_OK);
    return r;
}

static void
test_addr(void **state)
{
    static const struct {
        const char *in, *want;
    } t[] = {
        {"rfc822; kijitora@example.jp", "kijitora@example.jp"},
        {"RFC822;<Kijitora@Example.JP>", "kijitora@example.jp"},
        {"utf-8; neko@example.org", "neko@example.org"},
        {"Neko <neko@example.org>", "neko@example.org"},
        {"neko@example.org (the cat)", "neko@example.org"},
        {"  <neko@example.org>  ", "neko@example.org"},
        {"mailto:neko@example.org", "neko@example.org"},
        {"'neko@example.org'", "neko@example.org"},
        {"neko@example.org.", "neko@example.org"},
        {"bounces+user=example.com@return.example.net", "user@example.com"},
        {"bounce+a.b=sub.example.co.uk@r.example.net", "a.b@sub.example.co.uk"},
        {"user+tag@example.com", "user+tag@example.com"},
        {"rfc822; \"quoted name\"@example.com", "\"quoted name\"@example.com"},
        {"unknown user: neko@example.org", "neko@example.org"},
        {"utf-8; \\x{732B}@example.jp", "\xe7\x8c\xab@example.jp"},
        {"utf-8; caf\\x{E9}@example.fr", "caf\xc3\xa9@example.fr"},
    };
    static const char *const bad[] = {
        "", "rfc822;", "no address here", "@example.com", "neko@", "neko@localhost", "<>"};
    struct bnc_report *r = empty_report();
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct guard_buf g;
        const char *a;
        guard_init(&g, t[i].in, strlen(t[i].in));
        a = addr_normalize(r, g.p, g.len);
        if (a == NULL || strcmp(a, t[i].want) != 0) {
            print_error("case %zu '%s': got '%s'\n", i, t[i].in, a ? a : "(null)");
        }
        assert_non_null(a);
        assert_string_equal(a, t[i].want);
        guard_free(&g);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct guard_buf g;
        guard_init(&g, bad[i], strlen(bad[i]));
        assert_null(addr_normalize(r, g.p, g.len));
        guard_free(&g);
    }
    bnc_report_free(r);
}

static void
test_dates(void **state)
{
    static const struct {
        const char *in;
        int64_t want;
    } t[] = {
        {"Thu, 29 Apr 2006 23:34:45 +0000 (UTC)", 1146353685},
        {"29 Apr 2006 23:34:45 +0000", 1146353685},
        {"Fri, 30 Apr 2006 08:34:45 +0900", 1146353685},
        {"Thu, 29 Apr 2006 19:34:45 -0400", 1146353685},
        {"Thu, 29 Apr 2006 19:34:45 EDT", 1146353685},
        {"Thu, 29 Apr 06 23:34:45 GMT", 1146353685},
        {"Thu, 29 Apr 2006 23:34 +0000", 1146353640},
        {"Wed, 3 May 2007 23:34:45", 1178235285},
        {"Mon, 29 Feb 2016 00:00:00 +0000", 1456704000},
    };
    static const char *const bad[] = {"",
                                      "yesterday",
                                      "Thu, 29 Foo 2006 23:34:45",
                                      "29 Apr 2006",
                                      "99 Apr 2006 10:00:00",
                                      "29 Apr 2006 25:00"};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct guard_buf g;
        int64_t v = 0;
        guard_init(&g, t[i].in, strlen(t[i].in));
        assert_true(date_parse(g.p, g.len, &v));
        if (v != t[i].want) {
            print_error("case %zu '%s': got %lld\n", i, t[i].in, (long long)v);
        }
        assert_int_equal(v, t[i].want);
        guard_free(&g);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct guard_buf g;
        int64_t v;
        guard_init(&g, bad[i], strlen(bad[i]));
        assert_false(date_parse(g.p, g.len, &v));
        guard_free(&g);
    }
}

static void
test_mbox(void **state)
{
    static const char box[] = "From a@b Mon Nov 23 00:00:00 2026\n"
                              "Subject: one\n\nbody\nFrom inside a line stays\n\n"
                              "From c@d Mon Nov 23 00:00:01 2026\n"
                              "Subject: two\n\nbody two\n";
    struct guard_buf g;
    struct mbox_iter it;
    struct bnc_slice m;
    (void)state;
    guard_init(&g, box, sizeof(box) - 1);
    assert_true(mbox_is(g.p, g.len));
    assert_false(mbox_is("Subject: x", 10));
    mbox_iter_init(&it, g.p, g.len);
    assert_true(mbox_next(&it, &m));
    assert_true(m.len > 12 && memcmp(m.p, "Subject: one", 12) == 0);
    assert_non_null(text_find_ci(m.p, m.len, "From inside", 11));
    assert_true(mbox_next(&it, &m));
    assert_true(m.len > 12 && memcmp(m.p, "Subject: two", 12) == 0);
    assert_false(mbox_next(&it, &m));
    guard_free(&g);

    /* a complete "From sender Www Mmm ..." line separates even without the empty line; a
     * prose line that starts with "From " does not */
    {
        static const char tight[] = "From a@b Mon Nov 23 00:00:00 2026\n"
                                    "Subject: one\n\nbody\nFrom the desk of Mon Nov\n--b--\n"
                                    "From double-bounce@x.example  Thu Jul  2 12:05:05 2020\n"
                                    "Subject: two\n\nbody two\n";
        guard_init(&g, tight, sizeof(tight) - 1);
        mbox_iter_init(&it, g.p, g.len);
        assert_true(mbox_next(&it, &m));
        assert_non_null(text_find_ci(m.p, m.len, "From the desk", 13));
        assert_true(mbox_next(&it, &m));
        assert_true(m.len > 12 && memcmp(m.p, "Subject: two", 12) == 0);
        assert_false(mbox_next(&it, &m));
        guard_free(&g);
    }
}

static void
test_charsets(void **state)
{
    static const struct {
        const char *cs, *in, *want;
    } t[] = {
        {"uft-8", "caf\xc3\xa9", "caf\xc3\xa9"},
        {"iso8859-1", "caf\xe9", "caf\xc3\xa9"},
        {"ISO-8859-1", "caf\xe9", "caf\xc3\xa9"},
        {"windows-1252", "\x80", "\xe2\x82\xac"},
        {"x-sjis", "\x82\xa0", "\xe3\x81\x82"},
        {"Shift_JIS", "\x82\xa0", "\xe3\x81\x82"},
        {"euc-jp", "\xa4\xa2", "\xe3\x81\x82"},
        {"ISO-2022-JP", "\x1b$B$\"\x1b(B", "\xe3\x81\x82"},
        /* no escape sequence: ASCII as it is */
        {"ISO-2022-JP", "Mail delivery failed", "Mail delivery failed"},
        /* bytes it rejects: one U+FFFD each, in ASCII and after a shift that one ended */
        {"ISO-2022-JP", "a\xa4\xa2z", "a\xef\xbf\xbd\xef\xbf\xbdz"},
        {"ISO-2022-JP", "\xa4\x1b$B$\"\xa4\xa4$\"\x1b(Bq\xff",
         "\xef\xbf\xbd\xe3\x81\x82\xef\xbf\xbd\xef\xbf\xbd$\"q\xef\xbf\xbd"},
        {"utf-7", "+MEI-", "\xe3\x81\x82"},
        {"no-such-charset", "caf\xe9", "caf\xc3\xa9"},
        {"utf-8", "a\xffz", "a\xef\xbf\xbdz"},
        {"us-ascii", "plain", "plain"},
    };
    struct arena *a = arena_new(1u << 20);
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct guard_buf g;
        struct bnc_slice out;
        guard_init(&g, t[i].in, strlen(t[i].in));
        assert_int_equal(charset_to_utf8(a, t[i].cs, strlen(t[i].cs), g.p, g.len, &out), BNC_OK);
        if (out.len != strlen(t[i].want) || memcmp(out.p, t[i].want, out.len) != 0) {
            print_error("case %zu (%s): got '%.*s'\n", i, t[i].cs, (int)out.len, out.p);
        }
        assert_int_equal(out.len, strlen(t[i].want));
        assert_memory_equal(out.p, t[i].want, out.len);
        guard_free(&g);
    }
    arena_free(a);
}

static void
test_find_ci(void **state)
{
    static const char hay[] = "aaaaaaaaaaaaAAAAAAAAAAAaaaaaaaaaaaaaaaFinal-Recipient: x";
    (void)state;
    assert_ptr_equal(text_find_ci(hay, sizeof(hay) - 1, "final-RECIPIENT", 15),
                     hay + (sizeof(hay) - 1 - 18));
    assert_null(text_find_ci(hay, sizeof(hay) - 1, "aab", 3));
    assert_ptr_equal(text_find_ci(hay, sizeof(hay) - 1, "", 0), hay);
    assert_null(text_find_ci("ab", 2, "abc", 3));
    /* the anchor (least common byte) is inside the needle: matches at both ends */
    {
        static const char h2[] = "Copy of the message follows";
        struct guard_buf g;
        guard_init(&g, h2, sizeof(h2) - 1);
        assert_ptr_equal(text_find_ci(g.p, g.len, "COPY OF", 7), g.p);
        assert_ptr_equal(text_find_ci(g.p, g.len, "Follows", 7), g.p + g.len - 7);
        assert_ptr_equal(text_find_ci(g.p, g.len, "message follows", 15), g.p + g.len - 15);
        assert_null(text_find_ci(g.p, g.len, "follows!", 8));
        assert_null(text_find_ci(g.p + 1, g.len - 1, "copy", 4));
        guard_free(&g);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr),    cmocka_unit_test(test_dates),
        cmocka_unit_test(test_mbox),    cmocka_unit_test(test_charsets),
        cmocka_unit_test(test_find_ci),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
