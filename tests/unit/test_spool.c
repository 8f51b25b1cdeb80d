/*
 * test_spool.c - the durable spool: write (trace headers, header injection), read, done/hold,
 * crash-recovery scan order, tmp cleanup, purge of done/ by age, id validation.
 * layer: ingest (links bnc_ingest and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ingest/spool.h"

static char root[256];

static int
setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/bnc-test-spool-XXXXXX");
    assert_non_null(mkdtemp(root));
    return 0;
}

static int
teardown(void **state)
{
    char cmd[400];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static bool
exists(const char *sub, const char *id)
{
    char p[600];
    struct stat st;
    snprintf(p, sizeof(p), "%s/sp/%s/%s", root, sub, id);
    return stat(p, &st) == 0;
}

struct ids {
    char v[8][SPOOL_ID_MAX];
    size_t n;
};

static void
collect(void *ud, const char *id)
{
    struct ids *ids = ud;
    if (ids->n < 8) {
        snprintf(ids->v[ids->n++], SPOOL_ID_MAX, "%s", id);
    }
}

static void
test_write_read_done(void **state)
{
    char dir[400], id[SPOOL_ID_MAX], id2[SPOOL_ID_MAX], err[200];
    const char *rcpts[] = {"b+x@bounce.example"};
    struct spool_envelope env = {"ESMTP", "client\r\nX-Evil: 1", "127.0.0.1", "mx.test", "", rcpts,
                                 1};
    struct spool *sp;
    char *data;
    size_t len;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/sp", root);
    assert_int_equal(spool_open(dir, &sp, err, sizeof(err)), BNC_OK);
    assert_string_equal(spool_dir(sp), dir);
    assert_int_equal(spool_write(sp, &env, "Subject: x\r\n\r\nbody\r\n", 20, 1795000000, id),
                     BNC_OK);
    assert_true(spool_id_valid(id));
    assert_true(exists("new", id));
    assert_int_equal(spool_count_new(sp), 1);
    assert_int_equal(spool_read(sp, id, &data, &len), BNC_OK);
    assert_int_equal(len, strlen(data));
    {
        const char *want = "Return-Path: <>\r\nX-Original-To: <b+x@bounce.example>\r\n"
                           "Received: from client??X-Evil: 1 ([127.0.0.1])\r\n\tby mx.test "
                           "(bounced) with ESMTP id ";
        assert_true(strncmp(data, want, strlen(want)) == 0);
        assert_true(strncmp(data + strlen(want), id, strlen(id)) == 0);
    }
    assert_non_null(strstr(data, "\r\n\tfor <b+x@bounce.example>; Wed, 18 Nov 2026 "));
    assert_non_null(strstr(data, "+0000\r\nSubject: x\r\n\r\nbody\r\n"));
    assert_null(strstr(data, "\nX-Evil"));
    free(data);

    /* no envelope: the bytes as given */
    assert_int_equal(spool_write(sp, NULL, "abc", 3, 0, id2), BNC_OK);
    assert_string_not_equal(id, id2);
    assert_true(strcmp(id, id2) < 0); /* ids sort by arrival */
    assert_int_equal(spool_read(sp, id2, &data, &len), BNC_OK);
    assert_int_equal(len, 3);
    assert_string_equal(data, "abc");
    free(data);

    assert_int_equal(spool_done(sp, id, true), BNC_OK);
    assert_false(exists("new", id));
    assert_true(exists("done", id));
    assert_int_equal(spool_done(sp, id, true), BNC_ENOTFOUND);
    assert_int_equal(spool_read(sp, id, &data, &len), BNC_ENOTFOUND);
    assert_int_equal(spool_done(sp, id2, false), BNC_OK);
    assert_false(exists("new", id2));
    assert_false(exists("done", id2));
    assert_int_equal(spool_count_new(sp), 0);
    spool_close(sp);
}

static void
test_scan_hold_purge(void **state)
{
    char dir[400], id[3][SPOOL_ID_MAX], err[200], p[600];
    struct spool *sp;
    struct ids ids;
    size_t i;
    FILE *fp;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/sp", root);
    assert_int_equal(spool_open(dir, &sp, err, sizeof(err)), BNC_OK);
    for (i = 0; i < 3; i++) {
        assert_int_equal(spool_write(sp, NULL, "m", 1, 0, id[i]), BNC_OK);
    }
    /* a stray tmp file (a crash before the 250) and junk names are ignored or cleaned */
    snprintf(p, sizeof(p), "%s/tmp/0123abc.1.0", dir);
    fp = fopen(p, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(p, sizeof(p), "%s/new/README", dir);
    fp = fopen(p, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(spool_clean_tmp(sp), 1);
    memset(&ids, 0, sizeof(ids));
    assert_int_equal(spool_scan_new(sp, collect, &ids), 3);
    for (i = 0; i < 3; i++) {
        assert_string_equal(ids.v[i], id[i]);
    }
    assert_int_equal(spool_hold(sp, id[0], "test"), BNC_OK);
    assert_true(exists("hold", id[0]));
    assert_int_equal(spool_done(sp, id[1], true), BNC_OK);
    assert_int_equal(spool_done(sp, id[2], true), BNC_OK);
    /* purge by age: nothing is older than an hour ago, everything is older than tomorrow */
    assert_int_equal(spool_purge(sp, (int64_t)time(NULL) - 3600), 0);
    assert_int_equal(spool_purge(sp, (int64_t)time(NULL) + 86400), 2);
    assert_false(exists("done", id[1]));
    spool_close(sp);
}

static void
test_write_batch(void **state)
{
    char dir[400], err[200];
    const char *rcpts[] = {"a@bounce.example"};
    struct spool_envelope env = {"ESMTP", "c", NULL, "mx.test", "", rcpts, 1};
    struct spool_msg msgs[3];
    struct spool *sp;
    char *data;
    size_t len, i;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/sp", root);
    assert_int_equal(spool_open(dir, &sp, err, sizeof(err)), BNC_OK);
    memset(msgs, 0, sizeof(msgs));
    for (i = 0; i < 3; i++) {
        msgs[i].env = i == 1 ? NULL : &env;
        msgs[i].data = i == 2 ? "third" : "m";
        msgs[i].len = i == 2 ? 5 : 1;
    }
    spool_write_batch(sp, msgs, 3);
    for (i = 0; i < 3; i++) {
        assert_int_equal(msgs[i].rc, BNC_OK);
        assert_true(exists("new", msgs[i].id));
        assert_false(exists("tmp", msgs[i].id));
    }
    assert_string_not_equal(msgs[0].id, msgs[1].id);
    assert_int_equal(spool_count_new(sp), 3);
    assert_int_equal(spool_read(sp, msgs[1].id, &data, &len), BNC_OK);
    assert_string_equal(data, "m"); /* no envelope: no trace headers */
    free(data);
    assert_int_equal(spool_read(sp, msgs[2].id, &data, &len), BNC_OK);
    assert_non_null(strstr(data, "Return-Path: <>\r\n"));
    assert_non_null(strstr(data, "\r\nthird"));
    free(data);
    /* a batch of one works the same way */
    spool_write_batch(sp, msgs, 1);
    assert_int_equal(msgs[0].rc, BNC_OK);
    assert_int_equal(spool_count_new(sp), 4);
    spool_close(sp);
}

static void
test_id_valid(void **state)
{
    char longid[SPOOL_ID_MAX + 2];
    (void)state;
    assert_true(spool_id_valid("0123456789abcdef.1a.0"));
    assert_false(spool_id_valid(""));
    assert_false(spool_id_valid(NULL));
    assert_false(spool_id_valid("../etc/passwd"));
    assert_false(spool_id_valid(".hidden"));
    assert_false(spool_id_valid("ABC"));
    memset(longid, 'a', sizeof(longid));
    longid[SPOOL_ID_MAX - 1] = '\0'; /* SPOOL_ID_MAX-1 characters: the bound */
    assert_true(spool_id_valid(longid));
    memset(longid, 'a', sizeof(longid));
    longid[SPOOL_ID_MAX] = '\0'; /* one past */
    assert_false(spool_id_valid(longid));
}

static void
test_open_errors(void **state)
{
    struct spool *sp;
    char err[200], dir[400];
    FILE *fp;
    (void)state;

    assert_int_equal(spool_open("", &sp, err, sizeof(err)), BNC_ECONFIG);
    assert_null(sp);
    snprintf(dir, sizeof(dir), "%s/file", root);
    fp = fopen(dir, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_not_equal(spool_open(dir, &sp, err, sizeof(err)), BNC_OK);
    assert_null(sp);
    assert_int_equal(spool_done(NULL, "../x", true), BNC_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_read_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_hold_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_batch, setup, teardown),
        cmocka_unit_test(test_id_valid),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
