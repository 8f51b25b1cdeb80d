/*
 * test_mime.c - the MIME scanner on well-formed and lying structures (guard-page buffers so
 * any read past the end faults): multipart splitting, nesting, LF-only, missing or wrong
 * boundaries, prefix boundaries, NUL bytes, transfer decodings and RFC 2047 headers.
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

struct scan {
    struct guard_buf g;
    struct arena *a;
    struct mime_msg m;
    struct parse_limits lim;
};

static void
scan(struct scan *s, const char *msg)
{
    parse_limits_default(&s->lim);
    guard_init(&s->g, msg, strlen(msg));
    s->a = arena_new(s->lim.report_memory);
    assert_int_equal(mime_scan(s->a, &s->lim, s->g.p, s->g.len, &s->m), BNC_OK);
}

static void
scan_free(struct scan *s)
{
    arena_free(s->a);
    guard_free(&s->g);
}

static void
assert_slice(struct bnc_slice v, const char *want)
{
    if (v.len != strlen(want) || memcmp(v.p, want, v.len) != 0) {
        print_error("got '%.*s' want '%s'\n", (int)v.len, v.p, want);
        fail();
    }
}

static void
test_multipart(void **state)
{
    struct scan s;
    (void)state;
    scan(&s, "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\npreamble\r\n"
             "--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\none\r\n"
             "--b  \r\n\r\ntwo\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
             "Subject: inner\r\n\r\ninner body\r\n--b--\r\nepilogue\r\n");
    assert_int_equal(s.m.nparts, 5);
    assert_int_equal(s.m.flags, 0);
    assert_true(mime_part_is(&s.m.parts[0], "multipart", "mixed"));
    assert_slice(s.m.parts[0].boundary, "b");
    assert_true(mime_part_is(&s.m.parts[1], "TEXT", "plain"));
    assert_slice(s.m.parts[1].charset, "iso-8859-1");
    assert_slice(s.m.parts[1].body, "one");
    assert_int_equal(s.m.parts[1].parent, 0);
    assert_int_equal(s.m.parts[1].depth, 1);
    /* a part without headers defaults to text/plain */
    assert_true(mime_part_is(&s.m.parts[2], "text", "plain"));
    assert_slice(s.m.parts[2].body, "two");
    assert_true(mime_part_is(&s.m.parts[3], "message", "rfc822"));
    assert_int_equal(s.m.parts[4].parent, 3);
    assert_int_equal(s.m.parts[4].depth, 2);
    assert_slice(s.m.parts[4].body, "inner body");
    assert_string_equal(mime_header(s.a, s.m.parts[4].header, "subject"), "inner");
    scan_free(&s);
}

static void
test_lf_and_prefix_boundaries(void **state)
{
    struct scan s;
    (void)state;
    /* LF-only; the inner boundary starts with the outer one */
    scan(&s, "Content-Type: multipart/report; boundary=abc;\n report-type=delivery-status\n\n"
             "--abc\nContent-Type: multipart/alternative; boundary=abc-1\n\n"
             "--abc-1\n\ninner one\n--abc-1\n\ninner two\n--abc-1--\n"
             "--abc\nContent-Type: message/delivery-status\n\nStatus: 5.1.1\n--abc--\n");
    assert_int_equal(s.m.nparts, 5);
    assert_slice(s.m.parts[0].report_type, "delivery-status");
    assert_true(mime_part_is(&s.m.parts[1], "multipart", "alternative"));
    assert_slice(s.m.parts[2].body, "inner one");
    assert_slice(s.m.parts[3].body, "inner two");
    assert_true(mime_part_is(&s.m.parts[4], "message", "delivery-status"));
    assert_slice(s.m.parts[4].body, "Status: 5.1.1");
    scan_free(&s);
}

static void
test_lies(void **state)
{
    struct scan s;
    (void)state;
    /* no boundary parameter */
    scan(&s, "Content-Type: multipart/mixed\n\n--x\n\nbody\n");
    assert_int_equal(s.m.nparts, 1);
    assert_true(s.m.flags & BNC_PF_NO_BOUNDARY);
    assert_slice(s.m.parts[0].body, "--x\n\nbody\n");
    scan_free(&s);
    /* a multipart header without a body (returned headers only): nothing is lost */
    scan(&s, "Content-Type: multipart/mixed; boundary=zz\n\n\n");
    assert_int_equal(s.m.nparts, 1);
    assert_int_equal(s.m.flags, 0);
    scan_free(&s);
    /* a boundary that never occurs */
    scan(&s, "Content-Type: multipart/mixed; boundary=nope\n\n--x\n\nbody\n");
    assert_int_equal(s.m.nparts, 1);
    assert_true(s.m.flags & BNC_PF_NO_BOUNDARY);
    scan_free(&s);
    /* no closing delimiter: the last part runs to the end */
    scan(&s, "Content-Type: multipart/mixed; boundary=q\n\n--q\n\none\n--q\n\ntwo, cut");
    assert_int_equal(s.m.nparts, 3);
    assert_slice(s.m.parts[2].body, "two, cut");
    scan_free(&s);
    /* NUL bytes and no header/body separator */
    {
        static const char bin[] = "Subject: x\n\nab\0cd";
        struct guard_buf g;
        struct arena *a = arena_new(0);
        struct mime_msg m;
        struct parse_limits lim;
        parse_limits_default(&lim);
        guard_init(&g, bin, sizeof(bin) - 1);
        assert_int_equal(mime_scan(a, &lim, g.p, g.len, &m), BNC_OK);
        assert_true(m.flags & BNC_PF_BINARY);
        assert_int_equal(m.parts[0].body.len, 5);
        guard_free(&g);
        arena_free(a);
    }
    scan(&s, "Subject: only headers");
    assert_int_equal(s.m.nparts, 1);
    assert_int_equal(s.m.parts[0].body.len, 0);
    assert_string_equal(mime_header(s.a, s.m.parts[0].header, "Subject"), "only headers");
    scan_free(&s);
    scan(&s, "this is not a header line\nSubject: no\n");
    assert_int_equal(s.m.parts[0].header.len, 0);
    assert_null(mime_header(s.a, s.m.parts[0].header, "Subject"));
    scan_free(&s);
    scan(&s, "");
    assert_int_equal(s.m.nparts, 1);
    scan_free(&s);
}

static void
test_decoding(void **state)
{
    struct scan s;
    struct bnc_slice d;
    (void)state;
    scan(&s, "Content-Type: multipart/mixed; boundary=z\n\n"
             "--z\nContent-Transfer-Encoding: quoted-printable\n"
             "Content-Type: text/plain; charset=\"ISO-8859-1\"\n\n"
             "caf=E9 au=\nlait =3D ok=\r\n!\n"
             "--z\nContent-Transfer-Encoding: BASE64\n\naGVsbG8g\nd29ybGQ=\n"
             "--z\nContent-Transfer-Encoding: base64\n\n!!!aGk=junk\n--z--\n");
    assert_int_equal(s.m.nparts, 4);
    assert_int_equal(mime_part_decoded(s.a, &s.m.parts[1], &d), BNC_OK);
    assert_int_equal(d.len, strlen("caf\xe9 aulait = ok!"));
    assert_memory_equal(d.p, "caf\xe9 aulait = ok!", d.len);
    assert_int_equal(mime_part_text(s.a, &s.m.parts[1], &d), BNC_OK);
    assert_slice(d, "caf\xc3\xa9 aulait = ok!");
    assert_int_equal(mime_part_decoded(s.a, &s.m.parts[2], &d), BNC_OK);
    assert_slice(d, "hello world");
    assert_int_equal(mime_part_decoded(s.a, &s.m.parts[3], &d), BNC_OK);
    assert_slice(d, "hi");
    {
        unsigned flags = 0;
        assert_int_equal(mime_part_decoded_flags(s.a, &s.m.parts[2], &d, &flags), BNC_OK);
        assert_int_equal(flags, 0);
        assert_int_equal(mime_part_decoded_flags(s.a, &s.m.parts[3], &d, &flags), BNC_OK);
        assert_int_equal(flags, BNC_PF_BAD_ENCODING);
    }
    scan_free(&s);
}

static void
test_headers(void **state)
{
    struct scan s;
    struct bnc_slice raw;
    (void)state;
    scan(&s, "Subject: =?UTF-8?B?5LiN5b+F6KaB?= =?utf-8?q?_caf=C3=A9?=\r\n"
             "\tand more\r\n"
             "From: =?ISO-2022-JP?B?GyRCJCIbKEI=?= <a@example.jp>\r\n"
             "X-Latin: r\xe9sum\xe9\r\n"
             "X-Broken: =?utf-8?B?not closed\r\n"
             "X-Unknown: =?x-nothing?Q?abc?=\r\n"
             "To : spaced@example.com\r\n\r\nbody");
    assert_string_equal(mime_header(s.a, s.m.parts[0].header, "subject"),
                        "\xe4\xb8\x8d\xe5\xbf\x85\xe8\xa6\x81 caf\xc3\xa9 and more");
    assert_string_equal(mime_header(s.a, s.m.parts[0].header, "From"),
                        "\xe3\x81\x82 <a@example.jp>");
    assert_string_equal(mime_header(s.a, s.m.parts[0].header, "X-Latin"), "r\xc3\xa9sum\xc3\xa9");
    assert_string_equal(mime_header(s.a, s.m.parts[0].header, "X-Broken"), "=?utf-8?B?not closed");
    assert_string_equal(mime_header(s.a, s.m.parts[0].header, "X-Unknown"), "abc");
    assert_true(mime_header_raw(s.m.parts[0].header, "TO", &raw));
    assert_slice(raw, "spaced@example.com");
    assert_false(mime_header_raw(s.m.parts[0].header, "Subj", &raw));
    assert_null(mime_header(s.a, s.m.parts[0].header, "Cc"));
    scan_free(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multipart), cmocka_unit_test(test_lf_and_prefix_boundaries),
        cmocka_unit_test(test_lies),      cmocka_unit_test(test_decoding),
        cmocka_unit_test(test_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
