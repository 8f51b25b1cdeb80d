/*
 * test_limits_parse.c - every parse limit (DESIGN §9) at the bound and one past it: message
 * size, header block (incl. a 2 MiB header line), MIME depth, MIME parts, boundary length,
 * recipients per DSN, diagnostic length, and the report arena cap.
 * layer: parse (links bnc_parse and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "guard.h"
#include "parse/parse.h"

static bnc_status
parse_buf(const struct parse_limits *lim, const struct buf *b, struct bnc_report **r)
{
    struct guard_buf g;
    bnc_status rc;

    guard_init(&g, b->p, b->len);
    rc = parse_message(lim, g.p, g.len, r);
    guard_free(&g);
    return rc;
}

static void
test_message_size(void **state)
{
    struct parse_limits lim;
    struct bnc_report *r = NULL;
    struct buf b;
    (void)state;
    parse_limits_default(&lim);
    lim.message_size = 4096;
    buf_init(&b, 0);
    buf_adds(&b, "Subject: x\n\n");
    while (b.len < 4096) {
        buf_addc(&b, 'a');
    }
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_int_equal(r->rawlen, 4096);
    bnc_report_free(r);
    buf_addc(&b, 'a');
    r = NULL;
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_ELIMIT);
    assert_null(r);
    buf_free(&b);
}

/* A header block of exactly n bytes (the final newline included), then "\nbody". */
static void
header_of(struct buf *b, size_t n)
{
    buf_reset(b);
    buf_adds(b, "X-Pad: ");
    while (b->len < n - 1) {
        buf_addc(b, 'p');
    }
    buf_adds(b, "\n\nbody");
}

static void
test_header_block(void **state)
{
    struct parse_limits lim;
    struct bnc_report *r = NULL;
    struct buf b;
    (void)state;
    parse_limits_default(&lim);
    lim.header_block = 2048;
    buf_init(&b, 0);
    header_of(&b, 2048);
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_int_equal(r->flags & BNC_PF_LONG_HEADER, 0);
    assert_int_equal(r->mime.parts[0].header.len, 2048);
    assert_int_equal(r->mime.parts[0].body.len, 4);
    bnc_report_free(r);
    header_of(&b, 2049);
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_true(r->flags & BNC_PF_LONG_HEADER);
    assert_true(r->mime.parts[0].header.len <= 2048);
    assert_int_equal(r->mime.parts[0].body.len, 4); /* the body is still found */
    bnc_report_free(r);

    /* a 2 MiB header line under the default limit: flagged, bounded, no crash */
    parse_limits_default(&lim);
    buf_reset(&b);
    buf_adds(&b, "Subject: fine\nX-Long: ");
    while (b.len < 2u * 1024u * 1024u) {
        buf_adds(&b, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    }
    buf_adds(&b, "\n\nbody");
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_true(r->flags & BNC_PF_LONG_HEADER);
    assert_string_equal(r->subject, "fine");
    assert_int_equal(r->mime.parts[0].body.len, 4);
    bnc_report_free(r);
    buf_free(&b);
}

/* n message/rfc822 entities nested inside each other. */
static void
nest_of(struct buf *b, int n)
{
    int i;
    buf_reset(b);
    for (i = 0; i < n; i++) {
        buf_adds(b, "Content-Type: message/rfc822\n\n");
    }
    buf_adds(b, "Subject: deepest\n\nbody");
}

static void
test_depth(void **state)
{
    struct parse_limits lim;
    struct bnc_report *r = NULL;
    struct buf b;
    (void)state;
    parse_limits_default(&lim);
    buf_init(&b, 0);
    /* depth 0 is the message; lim.mime_depth levels below it are scanned */
    nest_of(&b, (int)lim.mime_depth);
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_int_equal(r->flags & BNC_PF_NESTING, 0);
    assert_int_equal(r->mime.nparts, lim.mime_depth + 1);
    assert_int_equal(r->mime.parts[r->mime.nparts - 1].depth, (int)lim.mime_depth);
    bnc_report_free(r);
    nest_of(&b, (int)lim.mime_depth + 1);
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_true(r->flags & BNC_PF_NESTING);
    assert_int_equal(r->mime.nparts, lim.mime_depth + 1);
    bnc_report_free(r);

    /* multipart nesting 10000 deep: bounded, flagged, no stack overflow */
    buf_reset(&b);
    {
        int i;
        for (i = 0; i < 10000; i++) {
            buf_printf(&b, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
        }
        buf_adds(&b, "\nbody\n");
    }
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_true(r->flags & BNC_PF_NESTING);
    bnc_report_free(r);
    buf_free(&b);
}

static void
parts_of(struct buf *b, size_t n)
{
    size_t i;
    buf_reset(b);
    buf_adds(b, "Content-Type: multipart/mixed; boundary=p\n\n");
    for (i = 0; i < n; i++) {
        buf_printf(b, "--p\n\npart %zu\n", i);
    }
    buf_adds(b, "--p--\n");
}

static void
test_parts(void **state)
{
    struct parse_limits lim;
    struct bnc_report *r = NULL;
    struct buf b;
    (void)state;
    parse_limits_default(&lim);
    buf_init(&b, 0);
    parts_of(&b, lim.mime_parts - 1); /* + the message itself = the limit */
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_int_equal(r->flags & BNC_PF_TOO_MANY_PARTS, 0);
    assert_int_equal(r->mime.nparts, lim.mime_parts);
    bnc_report_free(r);
    parts_of(&b, lim.mime_parts);
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_true(r->flags & BNC_PF_TOO_MANY_PARTS);
    assert_int_equal(r->mime.nparts, lim.mime_parts);
    bnc_report_free(r);
    buf_free(&b);
}

static void
boundary_of(struct buf *b, size_t n)
{
    struct buf bd;
    buf_init(&bd, 0);
    while (bd.len < n) {
        buf_addc(&bd, 'B');
    }
    buf_reset(b);
    buf_printf(b, "Content-Type: multipart/mixed; boundary=\"%s\"\n\n--%s\n\none\n--%s--\n", bd.p,
               bd.p, bd.p);
    buf_free(&bd);
}

static void
test_boundary(void **state)
{
    struct parse_limits lim;
    struct bnc_report *r = NULL;
    struct buf b;
    (void)state;
    parse_limits_default(&lim);
    buf_init(&b, 0);
    boundary_of(&b, lim.boundary);
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_int_equal(r->flags & BNC_PF_NO_BOUNDARY, 0);
    assert_int_equal(r->mime.nparts, 2);
    bnc_report_free(r);
    boundary_of(&b, lim.boundary + 1);
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_true(r->flags & BNC_PF_NO_BOUNDARY);
    assert_int_equal(r->mime.nparts, 1);
    bnc_report_free(r);
    buf_free(&b);
}

static void
dsn_of(struct buf *b, size_t nrcpt, size_t diaglen)
{
    size_t i;
    buf_reset(b);
    buf_adds(b, "From: MAILER-DAEMON@example.net\n"
                "Content-Type: multipart/report; report-type=delivery-status; boundary=d\n\n"
                "--d\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x.example\n");
    for (i = 0; i < nrcpt; i++) {
        buf_printf(b,
                   "\nFinal-Recipient: rfc822; r%zu@example.com\nAction: failed\n"
                   "Status: 5.1.1\n",
                   i);
        if (diaglen) {
            size_t k;
            buf_adds(b, "Diagnostic-Code: smtp; ");
            for (k = 0; k < diaglen; k++) {
                buf_addc(b, (char)('a' + k % 26));
            }
            buf_addc(b, '\n');
        }
    }
    buf_adds(b, "--d--\n");
}

static void
test_rcpts(void **state)
{
    struct parse_limits lim;
    struct bnc_report *r = NULL;
    struct buf b;
    (void)state;
    parse_limits_default(&lim);
    buf_init(&b, 0);
    dsn_of(&b, lim.dsn_rcpts, 0);
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_int_equal(r->flags & BNC_PF_TOO_MANY_RCPTS, 0);
    assert_int_equal(r->nrcpts, lim.dsn_rcpts);
    bnc_report_free(r);
    dsn_of(&b, lim.dsn_rcpts + 1, 0);
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_true(r->flags & BNC_PF_TOO_MANY_RCPTS);
    assert_int_equal(r->nrcpts, lim.dsn_rcpts);
    bnc_report_free(r);
    buf_free(&b);
}

static void
test_diagnostic(void **state)
{
    struct parse_limits lim;
    struct bnc_report *r = NULL;
    struct buf b;
    (void)state;
    parse_limits_default(&lim);
    buf_init(&b, 0);
    dsn_of(&b, 1, lim.diagnostic);
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_int_equal(r->flags & BNC_PF_DIAG_TRUNCATED, 0);
    assert_int_equal(strlen(r->rcpts[0].diagnostic), lim.diagnostic);
    bnc_report_free(r);
    dsn_of(&b, 1, lim.diagnostic + 1);
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_true(r->flags & BNC_PF_DIAG_TRUNCATED);
    assert_int_equal(strlen(r->rcpts[0].diagnostic), lim.diagnostic);
    bnc_report_free(r);
    buf_free(&b);
}

static void
test_report_memory(void **state)
{
    struct parse_limits lim;
    struct bnc_report *r = NULL;
    struct buf b;
    (void)state;
    parse_limits_default(&lim);
    buf_init(&b, 0);
    dsn_of(&b, 200, 64);
    /* enough memory: every recipient */
    lim.report_memory = 1u << 20;
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_int_equal(r->nrcpts, 200);
    assert_int_equal(r->flags & BNC_PF_TRUNCATED, 0);
    bnc_report_free(r);
    /* room for the copy of the message but not for all the verdicts: truncated, flagged */
    lim.report_memory = b.len + 8192;
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_OK);
    assert_true(r->flags & BNC_PF_TRUNCATED);
    assert_true(r->nrcpts < 200);
    bnc_report_free(r);
    /* not even room for the copy */
    lim.report_memory = b.len / 2;
    assert_int_equal(parse_buf(&lim, &b, &r), BNC_ELIMIT);
    assert_null(r);
    buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_size), cmocka_unit_test(test_header_block),
        cmocka_unit_test(test_depth),        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_boundary),     cmocka_unit_test(test_rcpts),
        cmocka_unit_test(test_diagnostic),   cmocka_unit_test(test_report_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
