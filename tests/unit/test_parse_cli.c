/*
 * test_parse_cli.c - `bounced parse` end to end (the binary named by $BOUNCED_BIN): JSON
 * lines, file names relative to the directory scanned, sorted recursion without dot files,
 * mbox messages with mbox_index, stdin, --dump, --format text, the size cap and the exit
 * codes (0 all read, 1 some unreadable, 2 usage). Skipped (77) without the binary.
 * layer: core (links bnc_core and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buf.h"

static const char *bin;
static char dir[] = "/tmp/bnc-parse-cli-XXXXXX";

static const char dsn_tmpl[] =
    "From: MAILER-DAEMON@mx.example.net\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
    "--b\nContent-Type: message/delivery-status\n\n"
    "Reporting-MTA: dns; mx.example.net\n\n"
    "Final-Recipient: rfc822; %s\nAction: failed\nStatus: 5.1.1\n"
    "Diagnostic-Code: smtp; 550 5.1.1 user unknown\n--b--\n";

static void
write_file(const char *rel, const char *content)
{
    char path[512];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(content, fp);
    fclose(fp);
}

static void
write_dsn(const char *rel, const char *rcpt)
{
    char msg[1024];
    snprintf(msg, sizeof(msg), dsn_tmpl, rcpt);
    write_file(rel, msg);
}

/* Run a shell command; capture stdout into out; return the exit status. */
static int
run(const char *cmd, struct buf *out)
{
    FILE *fp = popen(cmd, "r");
    char chunk[4096];
    size_t n;
    int st;

    assert_non_null(fp);
    buf_reset(out);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        buf_add(out, chunk, n);
    }
    st = pclose(fp);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
count(const char *hay, const char *needle)
{
    int n = 0;
    const char *p = hay;
    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

static int
setup(void **state)
{
    char path[512];
    char mbox[2048];
    (void)state;
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/sub", dir);
    mkdir(path, 0700);
    write_dsn("b.eml", "b@example.com");
    write_dsn("a.eml", "a@example.com");
    write_dsn("sub/c.eml", "c@example.com");
    write_dsn(".hidden.eml", "hidden@example.com");
    snprintf(mbox, sizeof(mbox), "From MAILER-DAEMON Mon Nov 23 00:00:00 2026\n");
    snprintf(mbox + strlen(mbox), sizeof(mbox) - strlen(mbox), dsn_tmpl, "m0@example.com");
    snprintf(mbox + strlen(mbox), sizeof(mbox) - strlen(mbox),
             "\nFrom MAILER-DAEMON Mon Nov 23 00:00:01 2026\n");
    snprintf(mbox + strlen(mbox), sizeof(mbox) - strlen(mbox), dsn_tmpl, "m1@example.com");
    write_file("sub/box.mbox", mbox);
    return 0;
}

static int
teardown(void **state)
{
    char cmd[600];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
test_dir(void **state)
{
    struct buf out;
    char cmd[1024];
    const char *a, *b, *c;
    (void)state;
    buf_init(&out, 0);
    snprintf(cmd, sizeof(cmd), "'%s' parse '%s/' 2>/dev/null", bin, dir);
    assert_int_equal(run(cmd, &out), 0);
    assert_int_equal(count(out.p, "\n"), 5);
    a = strstr(out.p, "{\"file\":\"a.eml\",\"recipient\":\"a@example.com\",\"status\":\"5.1.1\","
                      "\"replycode\":\"550\"");
    b = strstr(out.p, "{\"file\":\"b.eml\"");
    c = strstr(out.p, "{\"file\":\"sub/c.eml\"");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c); /* sorted */
    assert_null(strstr(out.p, "hidden"));
    assert_non_null(strstr(out.p, "{\"file\":\"sub/box.mbox\",\"mbox_index\":0,"
                                  "\"recipient\":\"m0@example.com\""));
    assert_non_null(strstr(out.p, "{\"file\":\"sub/box.mbox\",\"mbox_index\":1,"
                                  "\"recipient\":\"m1@example.com\""));
    assert_int_equal(count(out.p, "\"action\":\"failed\""), 5);
    assert_int_equal(count(out.p, "\"origin\":\"dsn\""), 5);
    buf_free(&out);
}

static void
test_single_stdin_formats(void **state)
{
    struct buf out;
    char cmd[1024];
    (void)state;
    buf_init(&out, 0);
    /* a single file keeps the path as given */
    snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' parse sub/c.eml", dir, bin);
    assert_int_equal(run(cmd, &out), 0);
    assert_non_null(strstr(out.p, "{\"file\":\"sub/c.eml\",\"recipient\":\"c@example.com\""));
    snprintf(cmd, sizeof(cmd), "'%s' parse - < '%s/a.eml'", bin, dir);
    assert_int_equal(run(cmd, &out), 0);
    assert_non_null(strstr(out.p, "{\"file\":\"-\",\"recipient\":\"a@example.com\""));
    snprintf(cmd, sizeof(cmd), "'%s' parse --dump '%s/a.eml'", bin, dir);
    assert_int_equal(run(cmd, &out), 0);
    assert_non_null(strstr(out.p, "\nrcpt[0].recipient: a@example.com\n"));
    assert_non_null(strstr(out.p, "\nrcpts: 1\n"));
    snprintf(cmd, sizeof(cmd), "'%s' parse --format text '%s/a.eml'", bin, dir);
    assert_int_equal(run(cmd, &out), 0);
    assert_non_null(strstr(out.p, "a@example.com"));
    assert_null(strstr(out.p, "{\""));
    buf_free(&out);
}

static void
test_exit_codes(void **state)
{
    struct buf out;
    char cmd[1024];
    (void)state;
    buf_init(&out, 0);
    /* an unreadable input is reported, the others still processed */
    snprintf(cmd, sizeof(cmd), "'%s' parse '%s/nope.eml' '%s/a.eml' 2>/dev/null", bin, dir, dir);
    assert_int_equal(run(cmd, &out), 1);
    assert_non_null(strstr(out.p, "a@example.com"));
    snprintf(cmd, sizeof(cmd), "'%s' parse 2>/dev/null", bin);
    assert_int_equal(run(cmd, &out), 2);
    snprintf(cmd, sizeof(cmd), "'%s' parse --format xml '%s/a.eml' 2>/dev/null", bin, dir);
    assert_int_equal(run(cmd, &out), 2);
    snprintf(cmd, sizeof(cmd), "'%s' parse --help", bin);
    assert_int_equal(run(cmd, &out), 0);
    assert_non_null(strstr(out.p, "usage: bounced parse"));
    /* over limits.message_size: reported and counted as unreadable */
    snprintf(cmd, sizeof(cmd),
             "head -c 2048 /dev/zero > '%s/big.bin' && BOUNCED_LIMITS_MESSAGE_SIZE=1024 '%s' parse "
             "'%s/big.bin' '%s/a.eml' 2>/dev/null; rc=$?; rm -f '%s/big.bin'; exit $rc",
             dir, bin, dir, dir, dir);
    assert_int_equal(run(cmd, &out), 1);
    assert_non_null(strstr(out.p, "a@example.com"));
    buf_free(&out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dir),
        cmocka_unit_test(test_single_stdin_formats),
        cmocka_unit_test(test_exit_codes),
    };
    bin = getenv("BOUNCED_BIN");
    if (bin == NULL || access(bin, X_OK) != 0) {
        fprintf(stderr, "test_parse_cli: BOUNCED_BIN not set; skipped\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
