/*
 * test_store_backend.c - one suite for every store backend: run without arguments it tests
 * SQLite (a fresh file per test in a temporary directory); run as `test_store_backend pg` it
 * tests PostgreSQL in a throwaway database created on the server named by $BNC_PG_URL or by
 * the file $BNC_PG_URL_FILE (written by the CTest fixture, scripts/pg-test.sh). The PG run
 * exits 77 (skipped) when no server is available, except under CI=true where that fails.
 * layer: store (links bnc_store and the libraries below it, nothing above)
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cfg.h"
#include "core/embedded.h"
#include "store/fault.h"
#include "store/store.h"
#include "store/store_int.h"

static int g_pg;               /* testing PostgreSQL */
static char g_tmpdir[256];     /* SQLite: per-run temporary directory */
static char g_url[1024];       /* the URL of the store under test */
static char g_admin_url[1024]; /* PG: the server's database, to create/drop ours */
static char g_dbname[64];
static int g_seq;
static struct bnc_config g_cfg;

static int admin_exec(const char *sql);

/* ---- helpers -------------------------------------------------------------------------- */

static const char SQL_DROP[] = "DROP TABLE IF EXISTS t_sb";
static const char SQL_CREATE[] =
    "CREATE TABLE t_sb (id BIGINT PRIMARY KEY, name TEXT UNIQUE, n BIGINT CHECK (n > -1000000), "
    "note TEXT)";
static const char SQL_INSERT[] = "INSERT INTO t_sb (id, name, n, note) VALUES ($1, $2, $3, $4)";
static const char SQL_COUNT[] = "SELECT count(*) FROM t_sb";
static const char SQL_GET[] = "SELECT id, name, n, note FROM t_sb WHERE id = $1";

/* A new store URL for one test: a fresh SQLite file, or the test database on PG. */
static void
next_url(char *out, size_t outlen)
{
    if (g_pg) {
        snprintf(out, outlen, "%s", g_url);
    } else {
        snprintf(out, outlen, "%s/t%d.db", g_tmpdir, ++g_seq);
    }
}

static struct store *
open_store(void)
{
    char url[1100], err[512];
    struct store *st = NULL;
    bnc_status rc;

    next_url(url, sizeof(url));
    rc = store_open(url, &g_cfg, &st, err, sizeof(err));
    if (rc != BNC_OK) {
        fail_msg("store_open(%s): %s: %s", url, bnc_strerror(rc), err);
    }
    assert_int_equal(store_exec(st, SQL_DROP, NULL, 0, NULL, NULL, NULL), BNC_OK);
    assert_int_equal(store_exec(st, SQL_CREATE, NULL, 0, NULL, NULL, NULL), BNC_OK);
    return st;
}

static bnc_status
insert(struct store *st, int64_t id, const char *name, int64_t n)
{
    struct store_value p[4] = {sv_int(id), sv_text(name), sv_int(n), sv_null()};
    bnc_status rc = store_exec(st, SQL_INSERT, p, 4, NULL, NULL, NULL);
    if (getenv("BNC_TEST_DEBUG") != NULL) {
        fprintf(stderr, "insert %lld: %s %s\n", (long long)id, bnc_strerror(rc), store_errmsg(st));
    }
    return rc;
}

static int64_t
count_rows(struct store *st)
{
    int64_t n = -1;
    assert_int_equal(store_query_int(st, SQL_COUNT, NULL, 0, &n), BNC_OK);
    return n;
}

struct rows {
    int n;
    size_t ncols;
    enum store_vtype type[4][8];
    int64_t i[4][8];
    char s[4][8][64];
    size_t len[4][8];
    char name[8][32];
    int stop_after; /* 0 = never */
};

static int
collect(void *ud, const struct store_row *row)
{
    struct rows *r = ud;
    size_t c;

    if (r->n < 4) {
        r->ncols = row->ncols;
        for (c = 0; c < row->ncols && c < 8; c++) {
            const struct store_value *v = &row->cols[c];
            r->type[r->n][c] = v->type;
            r->i[r->n][c] = v->i;
            if (v->type == SV_TEXT) {
                size_t l = v->len < 63 ? v->len : 63;
                assert_int_equal(v->s[v->len], '\0'); /* NUL-terminated in callbacks */
                memcpy(r->s[r->n][c], v->s, l);
                r->s[r->n][c][l] = '\0';
                r->len[r->n][c] = v->len;
            }
            snprintf(r->name[c], sizeof(r->name[c]), "%s", row->names[c]);
        }
    }
    r->n++;
    return r->stop_after > 0 && r->n >= r->stop_after;
}

/* ---- tests ---------------------------------------------------------------------------- */

static void
test_params_and_types(void **state)
{
    static const char sql[] = "SELECT $1, $2, $3, $4";
    struct store *st = open_store();
    struct store_value p[4] = {sv_int(INT64_MAX), sv_int(INT64_MIN), sv_null(), sv_text("plain")};
    struct rows r;
    (void)state;

    memset(&r, 0, sizeof(r));
    assert_int_equal(store_exec(st, sql, p, 4, collect, &r, NULL), BNC_OK);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ncols, 4);
    assert_int_equal(r.type[0][0], SV_INT);
    assert_true(r.i[0][0] == INT64_MAX);
    assert_int_equal(r.type[0][1], SV_INT);
    assert_true(r.i[0][1] == INT64_MIN);
    assert_int_equal(r.type[0][2], SV_NULL);
    assert_int_equal(r.type[0][3], SV_TEXT);
    assert_string_equal(r.s[0][3], "plain");

    /* stored and read back through a table, with column names */
    assert_int_equal(insert(st, 7, "seven", -42), BNC_OK);
    memset(&r, 0, sizeof(r));
    p[0] = sv_int(7);
    assert_int_equal(store_exec(st, SQL_GET, p, 1, collect, &r, NULL), BNC_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.name[0], "id");
    assert_string_equal(r.name[3], "note");
    assert_int_equal(r.type[0][0], SV_INT);
    assert_int_equal(r.i[0][0], 7);
    assert_string_equal(r.s[0][1], "seven");
    assert_int_equal(r.i[0][2], -42);
    assert_int_equal(r.type[0][3], SV_NULL);

    /* a parameter used twice, out of order */
    {
        static const char sql2[] = "SELECT $2 + $1, $1 * $2, $2";
        struct store_value q[2] = {sv_int(3), sv_int(4)};
        memset(&r, 0, sizeof(r));
        assert_int_equal(store_exec(st, sql2, q, 2, collect, &r, NULL), BNC_OK);
        assert_int_equal(r.i[0][0], 7);
        assert_int_equal(r.i[0][1], 12);
        assert_int_equal(r.i[0][2], 4);
    }
    /* booleans come back as integers */
    {
        static const char sql3[] = "SELECT count(*) > 0, 1 = 2 FROM t_sb";
        memset(&r, 0, sizeof(r));
        assert_int_equal(store_exec(st, sql3, NULL, 0, collect, &r, NULL), BNC_OK);
        assert_int_equal(r.type[0][0], SV_INT);
        assert_int_equal(r.i[0][0], 1);
        assert_int_equal(r.i[0][1], 0);
    }
    store_close(st);
}

static void
test_text_utf8_and_nul(void **state)
{
    static const char utf8[] =
        "h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x93\xa7";
    static const char with_nul[] = "ab\0cd";
    static const char bad_utf8[] = "ab\xff\xfe";
    struct store *st = open_store();
    struct store_value p[4];
    struct rows r;
    (void)state;

    p[0] = sv_int(1);
    p[1] = sv_text(utf8);
    p[2] = sv_null();
    p[3] = sv_textn("slice-not-terminated", 5); /* only "slice" */
    assert_int_equal(store_exec(st, SQL_INSERT, p, 4, NULL, NULL, NULL), BNC_OK);
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_exec(st, SQL_GET, p, 1, collect, &r, NULL), BNC_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.s[0][1], utf8);
    assert_int_equal(r.len[0][1], strlen(utf8));
    assert_string_equal(r.s[0][3], "slice");
    assert_int_equal(r.len[0][3], 5);

    /* the empty string is not NULL */
    p[0] = sv_int(2);
    p[1] = sv_textn("", 0);
    assert_int_equal(store_exec(st, SQL_INSERT, p, 4, NULL, NULL, NULL), BNC_OK);
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_exec(st, SQL_GET, p, 1, collect, &r, NULL), BNC_OK);
    assert_int_equal(r.type[0][1], SV_TEXT);
    assert_int_equal(r.len[0][1], 0);

    /* NUL bytes and invalid UTF-8 are refused alike on every backend */
    p[0] = sv_int(3);
    p[1] = sv_textn(with_nul, 5);
    assert_int_equal(store_exec(st, SQL_INSERT, p, 4, NULL, NULL, NULL), BNC_EINVAL);
    assert_non_null(strstr(store_errmsg(st), "NUL"));
    p[1] = sv_textn(bad_utf8, 4);
    assert_int_equal(store_exec(st, SQL_INSERT, p, 4, NULL, NULL, NULL), BNC_EINVAL);
    assert_non_null(strstr(store_errmsg(st), "UTF-8"));
    assert_int_equal(count_rows(st), 2);
    store_close(st);
}

static void
test_returning_and_changes(void **state)
{
    static const char ins[] =
        "INSERT INTO t_sb (id, name, n) VALUES ($1, $2, $3) RETURNING id, name";
    static const char upd[] = "UPDATE t_sb SET n = n + 1 WHERE n >= $1";
    static const char del[] = "DELETE FROM t_sb WHERE id > $1";
    static const char sel[] = "SELECT id FROM t_sb ORDER BY id";
    struct store *st = open_store();
    struct store_value p[3] = {sv_int(10), sv_text("ten"), sv_int(5)};
    struct rows r;
    int64_t changes = -1;
    int i;
    (void)state;

    memset(&r, 0, sizeof(r));
    assert_int_equal(store_exec(st, ins, p, 3, collect, &r, &changes), BNC_OK);
    assert_int_equal(changes, 1);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.i[0][0], 10);
    assert_string_equal(r.s[0][1], "ten");
    for (i = 11; i <= 14; i++) {
        assert_int_equal(insert(st, i, NULL, i), BNC_OK);
    }
    p[0] = sv_int(12);
    assert_int_equal(store_exec(st, upd, p, 1, NULL, NULL, &changes), BNC_OK);
    assert_int_equal(changes, 3); /* 12, 13, 14 */
    p[0] = sv_int(1000);
    assert_int_equal(store_exec(st, upd, p, 1, NULL, NULL, &changes), BNC_OK);
    assert_int_equal(changes, 0);
    /* a SELECT changes nothing; a callback may stop early */
    memset(&r, 0, sizeof(r));
    r.stop_after = 2;
    assert_int_equal(store_exec(st, sel, NULL, 0, collect, &r, &changes), BNC_OK);
    assert_int_equal(changes, 0);
    assert_int_equal(r.n, 2);
    /* stopping early on a writing statement still runs all of it */
    memset(&r, 0, sizeof(r));
    r.stop_after = 1;
    {
        static const char updr[] = "UPDATE t_sb SET n = 0 WHERE id >= $1 RETURNING id";
        p[0] = sv_int(10);
        assert_int_equal(store_exec(st, updr, p, 1, collect, &r, &changes), BNC_OK);
        assert_int_equal(r.n, 1);
        assert_int_equal(changes, 5);
    }
    p[0] = sv_int(11);
    assert_int_equal(store_exec(st, del, p, 1, NULL, NULL, &changes), BNC_OK);
    assert_int_equal(changes, 3);
    assert_int_equal(count_rows(st), 2);
    /* DDL changes no rows (SQLite must not repeat the last DML's count) */
    {
        static const char ddl[] = "CREATE TABLE t_sb2 (x BIGINT)";
        static const char drop[] = "DROP TABLE t_sb2";
        assert_int_equal(store_exec(st, ddl, NULL, 0, NULL, NULL, &changes), BNC_OK);
        assert_int_equal(changes, 0);
        assert_int_equal(store_exec(st, drop, NULL, 0, NULL, NULL, &changes), BNC_OK);
        assert_int_equal(changes, 0);
    }
    store_close(st);
}

static void
test_on_conflict(void **state)
{
    static const char nothing[] =
        "INSERT INTO t_sb (id, name, n) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING";
    static const char upsert[] =
        "INSERT INTO t_sb (id, name, n) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE "
        "SET n = t_sb.n + excluded.n RETURNING n";
    struct store *st = open_store();
    struct store_value p[3] = {sv_int(1), sv_text("one"), sv_int(5)};
    int64_t changes = -1, n = 0;
    (void)state;

    assert_int_equal(store_exec(st, nothing, p, 3, NULL, NULL, &changes), BNC_OK);
    assert_int_equal(changes, 1);
    assert_int_equal(store_exec(st, nothing, p, 3, NULL, NULL, &changes), BNC_OK);
    assert_int_equal(changes, 0);
    assert_int_equal(store_query_int(st, upsert, p, 3, &n), BNC_OK);
    assert_int_equal(n, 10);
    assert_int_equal(store_query_int(st, upsert, p, 3, &n), BNC_OK);
    assert_int_equal(n, 15);
    assert_int_equal(count_rows(st), 1);

    /* a plain duplicate is BNC_ECONFLICT, on the primary key and on a UNIQUE column */
    assert_int_equal(insert(st, 1, "other", 0), BNC_ECONFLICT);
    assert_true(store_errmsg(st)[0] != '\0');
    assert_int_equal(insert(st, 2, "one", 0), BNC_ECONFLICT);
    /* other constraint failures are BNC_ESTORE, not conflicts */
    {
        assert_int_equal(insert(st, 3, "three", -2000000), BNC_ESTORE);
    }
    store_close(st);
}

static void
test_transactions(void **state)
{
    struct store *st = open_store();
    (void)state;

    /* nested begin/commit: only the outermost commit counts */
    assert_int_equal(store_begin(st), BNC_OK);
    assert_int_equal(store_begin(st), BNC_OK);
    assert_int_equal(insert(st, 1, "a", 1), BNC_OK);
    assert_int_equal(store_commit(st), BNC_OK);
    assert_int_equal(insert(st, 2, "b", 1), BNC_OK);
    assert_int_equal(store_commit(st), BNC_OK);
    assert_int_equal(count_rows(st), 2);

    /* rollback discards */
    assert_int_equal(store_begin(st), BNC_OK);
    assert_int_equal(insert(st, 3, "c", 1), BNC_OK);
    assert_int_equal(count_rows(st), 3);
    assert_int_equal(store_rollback(st), BNC_OK);
    assert_int_equal(count_rows(st), 2);

    /* an inner rollback rolls everything back; the outer commit then fails */
    assert_int_equal(store_begin(st), BNC_OK);
    assert_int_equal(insert(st, 4, "d", 1), BNC_OK);
    assert_int_equal(store_begin(st), BNC_OK);
    assert_int_equal(insert(st, 5, "e", 1), BNC_OK);
    assert_int_equal(store_rollback(st), BNC_OK);
    assert_int_not_equal(insert(st, 6, "f", 1), BNC_OK);
    assert_int_not_equal(store_commit(st), BNC_OK);
    assert_int_equal(count_rows(st), 2);

    /* a failure inside a transaction dooms it (as PostgreSQL does) */
    assert_int_equal(store_begin(st), BNC_OK);
    assert_int_equal(insert(st, 7, "g", 1), BNC_OK);
    assert_int_equal(insert(st, 1, "dup", 1), BNC_ECONFLICT);
    assert_int_equal(insert(st, 8, "h", 1), BNC_ECONFLICT);
    assert_int_equal(store_commit(st), BNC_ECONFLICT);
    assert_int_equal(count_rows(st), 2);

    /* unbalanced calls are refused, and the store is usable afterwards */
    assert_int_equal(store_commit(st), BNC_EINVAL);
    assert_int_equal(store_rollback(st), BNC_EINVAL);
    assert_int_equal(insert(st, 9, "i", 1), BNC_OK);
    assert_int_equal(count_rows(st), 3);

    /* closing with an open transaction rolls it back */
    assert_int_equal(store_begin(st), BNC_OK);
    assert_int_equal(insert(st, 10, "j", 1), BNC_OK);
    store_close(st);
    {
        char url[1100], err[256];
        if (g_pg) {
            snprintf(url, sizeof(url), "%s", g_url);
        } else {
            snprintf(url, sizeof(url), "%s/t%d.db", g_tmpdir, g_seq); /* the same file */
        }
        assert_int_equal(store_open(url, &g_cfg, &st, err, sizeof(err)), BNC_OK);
        assert_int_equal(count_rows(st), 3);
        store_close(st);
    }
}

static void
test_read_transactions(void **state)
{
    static const char get[] = "SELECT n FROM t_sb WHERE id = $1";
    struct store *st = open_store();
    struct store_value p[1] = {sv_int(1)};
    int64_t v = 0;
    int i;
    (void)state;

    assert_int_equal(insert(st, 1, "a", 10), BNC_OK);
    assert_int_equal(store_begin_read(st), BNC_OK);
    for (i = 0; i < 100; i++) {
        assert_int_equal(store_query_int(st, get, p, 1, &v), BNC_OK);
        assert_int_equal(v, 10);
    }
    assert_int_equal(store_begin_read(st), BNC_OK); /* nests */
    assert_int_equal(store_commit(st), BNC_OK);
    assert_int_equal(store_begin(st), BNC_EINVAL); /* cannot upgrade */
    assert_int_equal(store_commit(st), BNC_OK);

    /* one snapshot: a write committed by another connection meanwhile is not seen */
    {
        struct store *w = NULL;
        char url[1100], err[256];
        if (g_pg) {
            snprintf(url, sizeof(url), "%s", g_url);
        } else {
            snprintf(url, sizeof(url), "%s/t%d.db", g_tmpdir, g_seq);
        }
        assert_int_equal(store_open(url, &g_cfg, &w, err, sizeof(err)), BNC_OK);
        assert_int_equal(store_begin_read(st), BNC_OK);
        assert_int_equal(store_query_int(st, get, p, 1, &v), BNC_OK);
        assert_int_equal(v, 10);
        {
            static const char upd[] = "UPDATE t_sb SET n = 11 WHERE id = $1";
            assert_int_equal(store_exec(w, upd, p, 1, NULL, NULL, NULL), BNC_OK);
        }
        assert_int_equal(store_query_int(st, get, p, 1, &v), BNC_OK);
        assert_int_equal(v, 10);
        assert_int_equal(store_commit(st), BNC_OK);
        assert_int_equal(store_query_int(st, get, p, 1, &v), BNC_OK);
        assert_int_equal(v, 11);
        store_close(w);
    }

    /* a write inside is refused and dooms the transaction */
    assert_int_equal(store_begin_read(st), BNC_OK);
    assert_int_not_equal(insert(st, 2, "b", 1), BNC_OK);
    assert_int_not_equal(store_commit(st), BNC_OK);
    assert_int_equal(count_rows(st), 1);

    /* a read transaction inside a write one just counts */
    assert_int_equal(store_begin(st), BNC_OK);
    assert_int_equal(store_begin_read(st), BNC_OK);
    assert_int_equal(store_commit(st), BNC_OK);
    assert_int_equal(insert(st, 3, "c", 1), BNC_OK);
    assert_int_equal(store_commit(st), BNC_OK);
    assert_int_equal(count_rows(st), 2);

    /* after it, writes work again */
    assert_int_equal(store_begin_read(st), BNC_OK);
    assert_int_equal(store_rollback(st), BNC_OK);
    assert_int_equal(insert(st, 4, "d", 1), BNC_OK);
    assert_int_equal(count_rows(st), 3);
    store_close(st);
}

static void
test_errors(void **state)
{
    static const char wrong_style[] = "SELECT ?";
    static const char two[] = "SELECT $1, $2";
    static const char bad[] = "SELEKT 1";
    static const char missing[] = "SELECT * FROM no_such_table";
    struct store *st = open_store();
    struct store_value p[3] = {sv_int(1), sv_int(2), sv_int(3)};
    int64_t v = 0;
    (void)state;

    assert_int_equal(store_exec(st, two, p, 1, NULL, NULL, NULL), BNC_EINVAL);
    assert_non_null(strstr(store_errmsg(st), "$1..$2"));
    assert_int_equal(store_exec(st, two, p, 3, NULL, NULL, NULL), BNC_EINVAL);
    assert_int_equal(store_exec(st, two, p, 2, NULL, NULL, NULL), BNC_OK);
    assert_int_equal(store_exec(st, wrong_style, p, 1, NULL, NULL, NULL), BNC_EINVAL);
    assert_int_equal(store_exec(st, bad, NULL, 0, NULL, NULL, NULL), BNC_ESTORE);
    assert_true(strlen(store_errmsg(st)) > 5);
    assert_int_equal(store_exec(st, missing, NULL, 0, NULL, NULL, NULL), BNC_ESTORE);
    assert_non_null(strstr(store_errmsg(st), "no_such_table"));

    /* store_query_int: no row and NULL are "not found" */
    {
        static const char none[] = "SELECT n FROM t_sb WHERE id = $1";
        static const char null[] = "SELECT max(n) FROM t_sb";
        static const char sum[] = "SELECT sum(n) FROM t_sb";
        assert_int_equal(store_query_int(st, none, p, 1, &v), BNC_ENOTFOUND);
        assert_int_equal(store_query_int(st, null, NULL, 0, &v), BNC_ENOTFOUND);
        assert_int_equal(insert(st, 1, "x", 40), BNC_OK);
        assert_int_equal(insert(st, 2, "y", 2), BNC_OK);
        assert_int_equal(store_query_int(st, sum, NULL, 0, &v), BNC_OK); /* numeric on PG */
        assert_int_equal(v, 42);
    }
    store_close(st);

    /* URL dispatch and clear open errors */
    {
        char err[512], url[400];
        assert_int_equal(store_open("ftp://x/y", &g_cfg, &st, err, sizeof(err)), BNC_ECONFIG);
        assert_null(st);
        assert_int_equal(store_open("", &g_cfg, &st, err, sizeof(err)), BNC_ECONFIG);
        snprintf(url, sizeof(url), "%s/no/such/dir/x.db", g_tmpdir[0] ? g_tmpdir : "/tmp");
        assert_int_not_equal(store_open(url, &g_cfg, &st, err, sizeof(err)), BNC_OK);
        assert_non_null(strstr(err, "does not exist"));
        assert_int_not_equal(store_open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2",
                                        &g_cfg, &st, err, sizeof(err)),
                             BNC_OK);
        assert_non_null(strstr(err, "cannot connect"));
    }
}

static void
test_statement_cache(void **state)
{
    static const char sel[] = "SELECT n FROM t_sb WHERE id = $1";
    struct store *st = open_store();
    struct store_value p[1];
    uint64_t before;
    int64_t v;
    char buf[128];
    int i;
    (void)state;

    assert_int_equal(insert(st, 1, "a", 100), BNC_OK);
    assert_int_equal(insert(st, 2, "b", 200), BNC_OK);
    p[0] = sv_int(1);
    assert_int_equal(store_query_int(st, sel, p, 1, &v), BNC_OK);
    before = store_prepare_count(st);
    for (i = 0; i < 1000; i++) {
        p[0] = sv_int(1 + (i & 1));
        assert_int_equal(store_query_int(st, sel, p, 1, &v), BNC_OK);
        assert_int_equal(v, (1 + (i & 1)) * 100);
    }
    assert_true(store_prepare_count(st) == before); /* no prepare per call */

    /* one buffer reused for different SQL never runs the stale statement */
    snprintf(buf, sizeof(buf), "SELECT n + 1 FROM t_sb WHERE id = $1");
    p[0] = sv_int(1);
    assert_int_equal(store_query_int(st, buf, p, 1, &v), BNC_OK);
    assert_int_equal(v, 101);
    snprintf(buf, sizeof(buf), "SELECT n + 2 FROM t_sb WHERE id = $1");
    assert_int_equal(store_query_int(st, buf, p, 1, &v), BNC_OK);
    assert_int_equal(v, 102);

    /* many distinct statements: the cache stays bounded and correct */
    for (i = 0; i < 600; i++) {
        char *sql = malloc(64);
        assert_non_null(sql);
        snprintf(sql, 64, "SELECT n + %d FROM t_sb WHERE id = $1", i);
        assert_int_equal(store_query_int(st, sql, p, 1, &v), BNC_OK);
        assert_int_equal(v, 100 + i);
        free(sql);
    }
    assert_int_equal(store_query_int(st, sel, p, 1, &v), BNC_OK);
    assert_int_equal(v, 100);
    store_close(st);
}

static void
test_schema_change_under_cache(void **state)
{
    static const char star[] = "SELECT * FROM t_sb WHERE id = $1";
    static const char alter[] = "ALTER TABLE t_sb ADD COLUMN extra TEXT";
    struct store *st = open_store();
    struct store_value p[1] = {sv_int(1)};
    struct rows r;
    (void)state;

    assert_int_equal(insert(st, 1, "a", 5), BNC_OK);
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_exec(st, star, p, 1, collect, &r, NULL), BNC_OK);
    assert_int_equal(r.ncols, 4);
    assert_int_equal(store_exec(st, alter, NULL, 0, NULL, NULL, NULL), BNC_OK);
    /* the cached statement is re-planned, not failed */
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_exec(st, star, p, 1, collect, &r, NULL), BNC_OK);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ncols, 5);
    assert_string_equal(r.name[4], "extra");
    assert_int_equal(r.type[0][4], SV_NULL);
    store_close(st);
}

static void
test_reconnect(void **state)
{
    static const char pid_sql[] = "SELECT pg_backend_pid()";
    static const char kill_sql[] = "SELECT pg_terminate_backend(CAST($1 AS INTEGER))";
    static const char one[] = "SELECT 1";
    struct store *st, *killer;
    struct store_value p[1];
    int64_t pid = 0, v = 0;
    bnc_status rc;
    int i;
    (void)state;

    if (!g_pg) {
        skip(); /* an SQLite connection cannot be lost */
    }
    st = open_store();
    killer = open_store();
    assert_int_equal(store_query_int(st, pid_sql, NULL, 0, &pid), BNC_OK);
    p[0] = sv_int(pid);
    assert_int_equal(store_query_int(killer, kill_sql, p, 1, &v), BNC_OK);
    assert_int_equal(v, 1);
    usleep(100000);
    /* the loss is reported once, clearly; the next call outside a transaction reconnects */
    rc = store_query_int(st, one, NULL, 0, &v);
    if (rc != BNC_OK) {
        assert_int_equal(rc, BNC_ESTORE);
        assert_non_null(strstr(store_errmsg(st), "connection"));
    }
    for (i = 0; i < 2; i++) {
        assert_int_equal(store_query_int(st, one, NULL, 0, &v), BNC_OK);
        assert_int_equal(v, 1);
    }
    assert_int_equal(insert(st, 1, "after", 1), BNC_OK);
    assert_int_equal(count_rows(killer), 1);
    store_close(killer);
    store_close(st);
}

static void
test_busy(void **state)
{
    static const char upd[] = "UPDATE t_sb SET n = n + 1 WHERE id = $1";
    struct bnc_config cfg;
    struct store *a = open_store(), *b = NULL;
    struct store_value p[1] = {sv_int(1)};
    char url[1100], err[256];
    time_t t0;
    (void)state;

    assert_int_equal(insert(a, 1, "a", 0), BNC_OK);
    cfg_init(&cfg);
    cfg.store_busy_timeout = 100;
    if (g_pg) {
        snprintf(url, sizeof(url), "%s", g_url);
    } else {
        snprintf(url, sizeof(url), "%s/t%d.db", g_tmpdir, g_seq); /* a's file */
    }
    assert_int_equal(store_open(url, &cfg, &b, err, sizeof(err)), BNC_OK);
    assert_int_equal(store_begin(a), BNC_OK);
    assert_int_equal(store_exec(a, upd, p, 1, NULL, NULL, NULL), BNC_OK);
    t0 = time(NULL);
    if (g_pg) {
        /* store.busy_timeout_ms is PostgreSQL's lock_timeout */
        assert_int_equal(store_exec(b, upd, p, 1, NULL, NULL, NULL), BNC_EBUSY);
    } else {
        assert_int_equal(store_begin(b), BNC_EBUSY);
        assert_int_equal(store_exec(b, upd, p, 1, NULL, NULL, NULL), BNC_EBUSY);
    }
    assert_true(time(NULL) - t0 < 5);
    assert_int_equal(store_commit(a), BNC_OK);
    /* once the lock is gone b proceeds */
    assert_int_equal(store_begin(b), BNC_OK);
    assert_int_equal(store_exec(b, upd, p, 1, NULL, NULL, NULL), BNC_OK);
    assert_int_equal(store_commit(b), BNC_OK);
    {
        static const char get[] = "SELECT n FROM t_sb WHERE id = $1";
        int64_t v = 0;
        assert_int_equal(store_query_int(a, get, p, 1, &v), BNC_OK);
        assert_int_equal(v, 2);
    }
    store_close(b);
    store_close(a);
    cfg_free(&cfg);
}

struct mig_seen {
    int known_applied;
    int pending;
    int unknown;
};

static void
mig_cb(void *ud, const struct store_migration_info *m)
{
    struct mig_seen *s = ud;
    if (m->known && m->applied) {
        s->known_applied++;
        assert_true(m->applied_at > 0);
    } else if (m->known) {
        s->pending++;
    } else {
        s->unknown++;
    }
}

static void
test_migrations(void **state)
{
    const struct bnc_embedded *m = g_pg ? bnc_pg_migrations : bnc_sqlite_migrations;
    struct store *st = open_store();
    struct mig_seen seen;
    char err[512];
    int nfiles = 0, applied = -1;
    int64_t rows = -1;
    (void)state;

    for (; m->name != NULL; m++) {
        nfiles++;
    }
    /* store_open ran them all; running again applies nothing */
    assert_int_equal(store_migrate_n(st, &applied, err, sizeof(err)), BNC_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(store_migrate_n(st, &applied, err, sizeof(err)), BNC_OK);
    assert_int_equal(applied, 0);
    {
        static const char cnt[] = "SELECT count(*) FROM schema_migrations";
        assert_int_equal(store_query_int(st, cnt, NULL, 0, &rows), BNC_OK);
        assert_true(rows >= nfiles);
    }
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_migrate_status(st, mig_cb, &seen, err, sizeof(err)), BNC_OK);
    assert_int_equal(seen.known_applied, nfiles);
    assert_int_equal(seen.pending, 0);

    /* a version this build does not know is reported, not touched */
    {
        static const char ins[] =
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2) "
            "ON CONFLICT (version) DO NOTHING";
        static const char del[] = "DELETE FROM schema_migrations WHERE version = $1";
        struct store_value p[2] = {sv_text("9999_future"), sv_int(1)};
        assert_int_equal(store_exec(st, ins, p, 2, NULL, NULL, NULL), BNC_OK);
        memset(&seen, 0, sizeof(seen));
        assert_int_equal(store_migrate_status(st, mig_cb, &seen, err, sizeof(err)), BNC_OK);
        assert_int_equal(seen.unknown, 1);
        assert_int_equal(store_exec(st, del, p, 1, NULL, NULL, NULL), BNC_OK);
    }
    /* not inside a transaction */
    assert_int_equal(store_begin(st), BNC_OK);
    assert_int_equal(store_migrate(st, err, sizeof(err)), BNC_EINVAL);
    assert_int_equal(store_rollback(st), BNC_OK);
    store_close(st);

    if (!g_pg) {
        /* a fresh file opened without migrating shows every file pending, then applies */
        char url[400];
        snprintf(url, sizeof(url), "%s/fresh.db", g_tmpdir);
        assert_int_equal(store_open_ex(url, &g_cfg, STORE_OPEN_NO_MIGRATE, &st, err, sizeof(err)),
                         BNC_OK);
        memset(&seen, 0, sizeof(seen));
        assert_int_equal(store_migrate_status(st, mig_cb, &seen, err, sizeof(err)), BNC_OK);
        assert_int_equal(seen.pending, nfiles);
        assert_int_equal(store_migrate_n(st, &applied, err, sizeof(err)), BNC_OK);
        assert_int_equal(applied, nfiles);
        assert_int_equal(store_migrate_n(st, &applied, err, sizeof(err)), BNC_OK);
        assert_int_equal(applied, 0);
        store_close(st);
    }
}

/* The URL of a new, empty store named after tag (a database next to ours on PG). */
static void
fresh_store_url(const char *tag, char *url, size_t urllen)
{
    char sql[160], name[96], *at;

    if (!g_pg) {
        snprintf(url, urllen, "%s/fresh_%s.db", g_tmpdir, tag);
        return;
    }
    snprintf(name, sizeof(name), "%s_%s", g_dbname, tag);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    assert_int_equal(admin_exec(sql), 0);
    snprintf(url, urllen, "%s", g_url);
    at = strstr(url, g_dbname);
    assert_non_null(at);
    assert_true(strlen(url) + strlen(tag) + 2 < urllen);
    memmove(at + strlen(name), at + strlen(g_dbname), strlen(at + strlen(g_dbname)) + 1);
    memcpy(at, name, strlen(name));
}

static void
fresh_store_drop(const char *tag)
{
    char sql[200];

    if (g_pg) {
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s_%s WITH (FORCE)", g_dbname, tag);
        assert_int_equal(admin_exec(sql), 0);
    }
}

/* Several processes opening one fresh store at once apply each migration exactly once. */
static void
test_migrations_concurrent(void **state)
{
    static const char cnt[] = "SELECT count(*) FROM schema_migrations";
    const struct bnc_embedded *m = g_pg ? bnc_pg_migrations : bnc_sqlite_migrations;
    char url[1100], err[512];
    struct store *st = NULL;
    pid_t kids[4];
    int i, status, nfiles = 0;
    int64_t rows = -1;
    (void)state;

    for (; m->name != NULL; m++) {
        nfiles++;
    }
    fresh_store_url("mc", url, sizeof(url));
    for (i = 0; i < 4; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            bnc_status rc = store_open(url, &g_cfg, &st, err, sizeof(err));
            if (rc != BNC_OK) {
                fprintf(stderr, "child %d: %s\n", i, err);
            }
            store_close(st);
            _exit(rc == BNC_OK ? 0 : 1);
        }
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(store_open(url, &g_cfg, &st, err, sizeof(err)), BNC_OK);
    assert_int_equal(store_query_int(st, cnt, NULL, 0, &rows), BNC_OK);
    assert_int_equal(rows, nfiles);
    store_close(st);
    fresh_store_drop("mc");
}

/* A migration that fails half-way leaves neither its tables nor its version row. */
static void
test_migration_failure_rolls_back(void **state)
{
    static const char cnt[] = "SELECT count(*) FROM schema_migrations";
    static const char tables[] = "SELECT count(*) FROM contacts";
    const struct bnc_embedded *m = g_pg ? bnc_pg_migrations : bnc_sqlite_migrations;
    struct store *inner = NULL, *st = NULL;
    char url[1100], err[512];
    int64_t rows = -1;
    int applied = -1, nfiles = 0;
    (void)state;

    for (; m->name != NULL; m++) {
        nfiles++;
    }
    if (nfiles == 0 || strncmp(g_pg ? bnc_pg_migrations[0].name : bnc_sqlite_migrations[0].name,
                               "0001_", 5) != 0) {
        skip();
    }
    fresh_store_url("mf", url, sizeof(url));
    assert_int_equal(store_open_ex(url, &g_cfg, STORE_OPEN_NO_MIGRATE, &inner, err, sizeof(err)),
                     BNC_OK);
    assert_int_equal(store_fault_wrap(inner, &st), BNC_OK);
    /* the runner's execs: list applied (fails: no table yet), create schema_migrations,
     * check 0001, re-check it in its transaction, after its script INSERT its version */
    store_fault_fail_at(st, 5, BNC_EIO);
    assert_int_equal(store_migrate_n(st, &applied, err, sizeof(err)), BNC_EIO);
    assert_int_equal(store_fault_exec_count(st), 5);
    assert_non_null(strstr(err, "0001_"));
    assert_int_equal(store_query_int(st, cnt, NULL, 0, &rows), BNC_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(store_exec(st, tables, NULL, 0, NULL, NULL, NULL), BNC_ESTORE); /* gone */
    /* unarmed, everything applies */
    store_fault_fail_at(st, 0, BNC_OK);
    assert_int_equal(store_migrate_n(st, &applied, err, sizeof(err)), BNC_OK);
    assert_int_equal(applied, nfiles);
    assert_int_equal(store_query_int(st, tables, NULL, 0, &rows), BNC_OK);
    assert_int_equal(rows, 0);
    store_close(st);
    fresh_store_drop("mf");
}

/* Run `bounced --db URL migrate ARGS`; returns the exit code, output in out. */
static int
run_migrate(const char *bin, const char *url, const char *args, char *out, size_t outlen)
{
    char cmd[2048];
    FILE *fp;
    size_t n;
    int st;

    snprintf(cmd, sizeof(cmd), "'%s' --db '%s' migrate %s 2>&1", bin, url, args);
    fp = popen(cmd, "r");
    assert_non_null(fp);
    n = fread(out, 1, outlen - 1, fp);
    out[n] = '\0';
    st = pclose(fp);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_cli_migrate(void **state)
{
    const char *bin = getenv("BOUNCED_BIN");
    char url[1100], out[4096];
    (void)state;

    if (bin == NULL || access(bin, X_OK) != 0) {
        skip();
    }
    if (g_pg) {
        struct store *st = open_store(); /* migrated by store_open */
        store_close(st);
        snprintf(url, sizeof(url), "%s", g_url);
        assert_int_equal(run_migrate(bin, url, "", out, sizeof(out)), 0);
        assert_non_null(strstr(out, "up to date"));
    } else {
        snprintf(url, sizeof(url), "%s/cli.db", g_tmpdir);
        assert_int_equal(run_migrate(bin, url, "--status", out, sizeof(out)), 1);
        assert_non_null(strstr(out, "pending  "));
        assert_int_equal(run_migrate(bin, url, "", out, sizeof(out)), 0);
        assert_non_null(strstr(out, "applied "));
        assert_int_equal(run_migrate(bin, url, "", out, sizeof(out)), 0);
        assert_non_null(strstr(out, "up to date"));
    }
    assert_int_equal(run_migrate(bin, url, "--status", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "0 pending"));
    assert_null(strstr(out, "pending  "));
    assert_int_equal(run_migrate(bin, url, "--bogus", out, sizeof(out)), 2);
    snprintf(url, sizeof(url), "%s/no/such/dir/x.db", g_tmpdir);
    assert_int_equal(run_migrate(bin, url, "", out, sizeof(out)), 3);
    assert_non_null(strstr(out, "does not exist"));
}

/* Several writers (processes, as several nodes or workers would be) upsert the same keys in
 * transactions; BNC_EBUSY (lock timeout, deadlock) is retried. No update may be lost. */
static void
test_concurrent_writers(void **state)
{
    static const char up[] = "INSERT INTO t_sb (id, name, n) VALUES ($1, NULL, 1) "
                             "ON CONFLICT (id) DO UPDATE SET n = t_sb.n + 1";
    static const char total[] = "SELECT sum(n) FROM t_sb";
    enum { WRITERS = 4, TXNS = 60, PER = 5 };
    struct store *st = open_store();
    char url[1100];
    pid_t kids[WRITERS];
    int i, status;
    int64_t sum = 0;
    (void)state;

    if (g_pg) {
        snprintf(url, sizeof(url), "%s", g_url);
    } else {
        snprintf(url, sizeof(url), "%s/t%d.db", g_tmpdir, g_seq);
    }
    for (i = 0; i < WRITERS; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            struct store *w = NULL;
            char err[256];
            unsigned seed = (unsigned)i * 7919u + 1u;
            int t, k, tries = 0, ok = 1;
            if (store_open(url, &g_cfg, &w, err, sizeof(err)) != BNC_OK) {
                fprintf(stderr, "writer %d: %s\n", i, err);
                _exit(1);
            }
            for (t = 0; t < TXNS && ok; t++) {
                bnc_status rc;
                int64_t keys[PER];
                for (k = 0; k < PER; k++) {
                    seed = seed * 1103515245u + 12345u;
                    keys[k] = (int64_t)((seed >> 16) % 8); /* few keys: real contention */
                }
                /* ascending key order, as the model locks rows: waits, but no deadlocks */
                for (k = 1; k < PER; k++) {
                    int64_t x = keys[k];
                    int j = k;
                    for (; j > 0 && keys[j - 1] > x; j--) {
                        keys[j] = keys[j - 1];
                    }
                    keys[j] = x;
                }
                do {
                    rc = store_begin(w);
                    for (k = 0; k < PER && rc == BNC_OK; k++) {
                        struct store_value p[1] = {sv_int(keys[k])};
                        rc = store_exec(w, up, p, 1, NULL, NULL, NULL);
                    }
                    if (rc == BNC_OK) {
                        rc = store_commit(w);
                    } else if (store_rollback(w) != BNC_OK && rc == BNC_OK) {
                        rc = BNC_ESTORE;
                    }
                } while (rc == BNC_EBUSY && ++tries < 10000);
                if (rc != BNC_OK) {
                    fprintf(stderr, "writer %d: %s: %s\n", i, bnc_strerror(rc), store_errmsg(w));
                    ok = 0;
                }
            }
            store_close(w);
            _exit(ok ? 0 : 1);
        }
    }
    for (i = 0; i < WRITERS; i++) {
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(store_query_int(st, total, NULL, 0, &sum), BNC_OK);
    assert_int_equal(sum, WRITERS * TXNS * PER);
    store_close(st);
}

/* PostgreSQL: two transactions locking two rows in opposite order; the server breaks the
 * deadlock by failing one of them, which must come back as BNC_EBUSY. (SQLite cannot
 * deadlock: BEGIN IMMEDIATE takes the one write lock up front.) */
/* Read-modify-write from two connections: one of them is told BNC_EBUSY (SQLite: at begin,
 * the write lock is taken; PostgreSQL: at the update, the row changed after its snapshot),
 * and after its retry no increment is lost. */
static void
test_no_lost_update(void **state)
{
    static const char get[] = "SELECT n FROM t_sb WHERE id = $1";
    static const char set[] = "UPDATE t_sb SET n = $2 WHERE id = $1";
    struct bnc_config cfg;
    struct store *a = open_store(), *b = NULL;
    char url[1100], err[256];
    int64_t va = 0, vb = 0;
    bnc_status rb, ra;
    int busy = 0, began;
    (void)state;

    assert_int_equal(insert(a, 1, "a", 10), BNC_OK);
    cfg_init(&cfg);
    cfg.store_busy_timeout = 100;
    if (g_pg) {
        snprintf(url, sizeof(url), "%s", g_url);
    } else {
        snprintf(url, sizeof(url), "%s/t%d.db", g_tmpdir, g_seq);
    }
    assert_int_equal(store_open(url, &cfg, &b, err, sizeof(err)), BNC_OK);
    {
        struct store_value k[1] = {sv_int(1)};
        assert_int_equal(store_begin(a), BNC_OK);
        assert_int_equal(store_query_int(a, get, k, 1, &va), BNC_OK);
        assert_int_equal(va, 10);
        /* b increments in between */
        rb = store_begin(b);
        began = rb == BNC_OK;
        if (rb == BNC_OK) {
            rb = store_query_int(b, get, k, 1, &vb);
        }
        if (rb == BNC_OK) {
            struct store_value q[2] = {sv_int(1), sv_int(vb + 1)};
            rb = store_exec(b, set, q, 2, NULL, NULL, NULL);
        }
        if (rb == BNC_OK) {
            rb = store_commit(b);
        } else if (began) {
            assert_int_equal(store_rollback(b), BNC_OK);
        }
        if (rb != BNC_OK) {
            assert_int_equal(rb, BNC_EBUSY);
            busy++;
        }
        /* a writes what it computed from its snapshot */
        {
            struct store_value q[2] = {sv_int(1), sv_int(va + 1)};
            ra = store_exec(a, set, q, 2, NULL, NULL, NULL);
        }
        if (ra == BNC_OK) {
            ra = store_commit(a);
        } else {
            (void)store_rollback(a);
        }
        if (ra != BNC_OK) {
            assert_int_equal(ra, BNC_EBUSY);
            busy++;
        }
        assert_int_equal(busy, 1); /* exactly one loser */
        /* the loser retries */
        {
            struct store *loser = ra != BNC_OK ? a : b;
            int64_t v = 0;
            assert_int_equal(store_begin(loser), BNC_OK);
            assert_int_equal(store_query_int(loser, get, k, 1, &v), BNC_OK);
            assert_int_equal(v, 11);
            {
                struct store_value q[2] = {sv_int(1), sv_int(v + 1)};
                assert_int_equal(store_exec(loser, set, q, 2, NULL, NULL, NULL), BNC_OK);
            }
            assert_int_equal(store_commit(loser), BNC_OK);
        }
        assert_int_equal(store_query_int(a, get, k, 1, &va), BNC_OK);
        assert_int_equal(va, 12);
    }
    store_close(b);
    store_close(a);
    cfg_free(&cfg);
}

static void
test_deadlock_is_busy(void **state)
{
    static const char upd[] = "UPDATE t_sb SET n = n + 1 WHERE id = $1";
    struct store *a;
    struct store_value k1[1] = {sv_int(1)}, k2[1] = {sv_int(2)};
    bnc_status rc;
    pid_t kid;
    int status, child_busy, parent_busy, sync[2];
    char c;
    (void)state;

    if (!g_pg) {
        skip();
    }
    a = open_store();
    assert_int_equal(insert(a, 1, "one", 0), BNC_OK);
    assert_int_equal(insert(a, 2, "two", 0), BNC_OK);
    assert_int_equal(store_begin(a), BNC_OK);
    assert_int_equal(store_exec(a, upd, k1, 1, NULL, NULL, NULL), BNC_OK);
    assert_int_equal(pipe(sync), 0);
    kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        struct store *b = NULL;
        char err[256];
        bnc_status r;
        close(sync[0]);
        if (store_open(g_url, &g_cfg, &b, err, sizeof(err)) != BNC_OK) {
            _exit(3);
        }
        r = store_begin(b);
        if (r == BNC_OK) {
            r = store_exec(b, upd, k2, 1, NULL, NULL, NULL);
        }
        /* row 2 is ours: from here on the two orders must deadlock, whatever the timing */
        if (write(sync[1], "x", 1) != 1) {
            _exit(4);
        }
        if (r == BNC_OK) {
            r = store_exec(b, upd, k1, 1, NULL, NULL, NULL); /* waits for a */
        }
        if (r == BNC_OK) {
            r = store_commit(b);
        } else {
            (void)store_rollback(b);
        }
        store_close(b);
        _exit(r == BNC_OK ? 0 : r == BNC_EBUSY ? 1 : 2);
    }
    close(sync[1]);
    assert_int_equal(read(sync[0], &c, 1), 1);
    close(sync[0]);
    usleep(100000); /* usually b is waiting for row 1 by now; the deadlock happens either way */
    rc = store_exec(a, upd, k2, 1, NULL, NULL, NULL);
    parent_busy = rc == BNC_EBUSY;
    if (rc == BNC_OK) {
        assert_int_equal(store_commit(a), BNC_OK);
    } else {
        assert_int_equal(rc, BNC_EBUSY);
        assert_non_null(strstr(store_errmsg(a), "deadlock"));
        assert_int_equal(store_rollback(a), BNC_OK);
    }
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFEXITED(status));
    assert_true(WEXITSTATUS(status) <= 1);
    child_busy = WEXITSTATUS(status) == 1;
    assert_int_equal(parent_busy + child_busy, 1); /* exactly one victim */
    store_close(a);
}

/* A row callback may run statements on the same store, the same SQL included; each level's
 * row arrays stay intact. */
struct nest {
    struct store *st;
    int depth;
    int rows; /* this level's rows and those of the levels it ran */
    int own;  /* this level's rows */
    int64_t sum;
    int filler; /* run many distinct statements inside, to force a cache flush */
};

static const char SQL_NEST[] = "SELECT id, name, n FROM t_sb WHERE id <= $1 ORDER BY id";

static int
nest_cb(void *ud, const struct store_row *row)
{
    struct nest *n = ud;
    int64_t id, v;
    char name[32];

    assert_int_equal(row->ncols, 3);
    id = row->cols[0].i;
    snprintf(name, sizeof(name), "%s", row->cols[1].s);
    v = row->cols[2].i;
    n->rows++;
    n->own++;
    if (n->depth < 2) {
        struct nest inner = {n->st, n->depth + 1, 0, 0, 0, n->filler};
        struct store_value p[1] = {sv_int(id)};
        assert_int_equal(store_exec(n->st, SQL_NEST, p, 1, nest_cb, &inner, NULL), BNC_OK);
        assert_int_equal(inner.own, (int)id);
        n->rows += inner.rows;
    }
    if (n->filler > 0) {
        int i;
        for (i = 0; i < n->filler; i++) {
            char sql[64];
            int64_t got = 0;
            snprintf(sql, sizeof(sql), "SELECT %d + n FROM t_sb WHERE id = $1", i);
            {
                struct store_value q[1] = {sv_int(id)};
                assert_int_equal(store_query_int(n->st, sql, q, 1, &got), BNC_OK);
            }
            assert_int_equal(got, i + v);
        }
    }
    /* this level's values are still ours after the nested calls */
    assert_int_equal(row->cols[0].i, id);
    assert_string_equal(row->cols[1].s, name);
    assert_string_equal(row->names[1], "name");
    assert_int_equal(row->cols[2].i, v);
    n->sum += v;
    return 0;
}

static void
test_nested_exec(void **state)
{
    struct store *st = open_store();
    struct store_value p[1] = {sv_int(3)};
    struct nest n;
    int i;
    (void)state;

    for (i = 1; i <= 3; i++) {
        char name[8];
        snprintf(name, sizeof(name), "r%d", i);
        assert_int_equal(insert(st, i, name, 10 * i), BNC_OK);
    }
    memset(&n, 0, sizeof(n));
    n.st = st;
    assert_int_equal(store_exec(st, SQL_NEST, p, 1, nest_cb, &n, NULL), BNC_OK);
    /* 3 rows at depth 0; 1+2+3 at depth 1; for id k at depth 1, k(k+1)/2 at depth 2 */
    assert_int_equal(n.rows, 3 + 6 + (1 + 3 + 6));
    assert_int_equal(n.sum, 60);

    /* the same with a statement cache that overflows under the callbacks */
    memset(&n, 0, sizeof(n));
    n.st = st;
    n.depth = 1;
    n.filler = 300;
    assert_int_equal(store_exec(st, SQL_NEST, p, 1, nest_cb, &n, NULL), BNC_OK);
    assert_int_equal(n.sum, 60);
    store_close(st);
}

static void
test_sql_param_scan(void **state)
{
    static const struct {
        const char *sql;
        long want;
    } cases[] = {
        {"SELECT 1", 0},
        {"SELECT $1", 1},
        {"SELECT $10, $2", 10},
        {"SELECT '$5', $2", 2},
        {"SELECT 'it''s $4'", 0},
        {"SELECT \"$9\" FROM t WHERE a = $1", 1},
        {"SELECT $1 -- $7\n", 1},
        {"SELECT /* $8 */ $2", 2},
        {"SELECT x::text FROM t WHERE y = $3", 3},
        {"SELECT $$ body $$", 0},
        {"SELECT ?", -1},
        {"SELECT :name", -1},
        {"SELECT @p", -1},
        {"SELECT 'unterminated $3", 0},
        {"SELECT /* unterminated $3", 0},
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long got = store_sql_max_param(cases[i].sql);
        if (got != cases[i].want) {
            fail_msg("case %zu (%s): got %ld, want %ld", i, cases[i].sql, got, cases[i].want);
        }
    }
}

static void
test_param_checks(void **state)
{
    static const char nul[] = "a\0b";
    static const struct {
        struct store_value v;
        bnc_status want;
    } cases[] = {
        {{SV_NULL, 0, NULL, 0}, BNC_OK},
        {{SV_INT, -1, NULL, 0}, BNC_OK},
        {{SV_TEXT, 0, "", 0}, BNC_OK},
        {{SV_TEXT, 0, NULL, 0}, BNC_OK},               /* empty */
        {{SV_TEXT, 0, NULL, 3}, BNC_EINVAL},           /* no pointer */
        {{SV_TEXT, 0, nul, 3}, BNC_EINVAL},            /* NUL inside */
        {{SV_TEXT, 0, nul, 1}, BNC_OK},                /* the slice before it */
        {{SV_TEXT, 0, "\xc3\xa9", 2}, BNC_OK},         /* U+00E9 */
        {{SV_TEXT, 0, "\xc3\xa9", 1}, BNC_EINVAL},     /* cut in the middle */
        {{SV_TEXT, 0, "\xed\xa0\x80", 3}, BNC_EINVAL}, /* surrogate */
        {{(enum store_vtype)7, 0, NULL, 0}, BNC_EINVAL},
        /* the word-at-a-time ASCII scan: bad bytes at every position of a word and after */
        {{SV_TEXT, 0, "abcdefghijklmnop", 16}, BNC_OK},
        {{SV_TEXT, 0, "abcdefg\0ijklmnop", 16}, BNC_EINVAL},
        {{SV_TEXT, 0, "abcdefghijklmno\0", 16}, BNC_EINVAL},
        {{SV_TEXT, 0, "\0bcdefghijklmnop", 16}, BNC_EINVAL},
        {{SV_TEXT, 0, "abcdefghi\xffklmnop", 16}, BNC_EINVAL},
        {{SV_TEXT, 0, "abcdefghijklmnopq\x80", 18}, BNC_EINVAL},
        {{SV_TEXT, 0, "abcdefghijklmnopq\xc3\xa9", 19}, BNC_OK},
        {{SV_TEXT, 0, "abcdefgh\xc3\xa9jklmnop\0", 18}, BNC_EINVAL},
        {{SV_TEXT, 0, "\x7f\x01\x7f\x01\x7f\x01\x7f\x01\x7f", 9}, BNC_OK},
    };
    char err[128];
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bnc_status got = store_check_params(&cases[i].v, 1, err, sizeof(err));
        if (got != cases[i].want) {
            fail_msg("case %zu: got %d, want %d", i, (int)got, (int)cases[i].want);
        }
    }
}

static void
test_migration_sets_match(void **state)
{
    const struct bnc_embedded *a = bnc_sqlite_migrations, *b = bnc_pg_migrations;
    (void)state;

    /* same numbered files for both backends, sorted */
    for (; a->name != NULL && b->name != NULL; a++, b++) {
        assert_string_equal(a->name, b->name);
        assert_true(a->len > 0 && a->data[a->len] == '\0');
        if (a[1].name != NULL) {
            assert_true(strcmp(a->name, a[1].name) < 0);
        }
    }
    assert_null(a->name);
    assert_null(b->name);
}

static void
test_fault_injection(void **state)
{
    struct store *inner = open_store(), *st = NULL;
    int64_t n;
    long calls, k;
    (void)state;

    assert_int_equal(store_fault_wrap(inner, &st), BNC_OK);
    assert_string_equal(store_backend_name(st), "fault");

    /* learn how many execs the unit of work makes, then fail each one in turn */
    store_fault_fail_at(st, 0, BNC_OK);
    assert_int_equal(store_begin(st), BNC_OK);
    assert_int_equal(insert(st, 1, "a", 1), BNC_OK);
    assert_int_equal(insert(st, 2, "b", 1), BNC_OK);
    assert_int_equal(insert(st, 3, "c", 1), BNC_OK);
    assert_int_equal(store_rollback(st), BNC_OK);
    calls = store_fault_exec_count(st);
    assert_int_equal(calls, 3);
    for (k = 1; k <= calls; k++) {
        bnc_status want = (k & 1) ? BNC_EIO : BNC_EBUSY, rc = BNC_OK;
        store_fault_fail_at(st, k, want);
        assert_int_equal(store_begin(st), BNC_OK);
        if (rc == BNC_OK) {
            rc = insert(st, 1, "a", 1);
        }
        if (rc == BNC_OK) {
            rc = insert(st, 2, "b", 1);
        }
        if (rc == BNC_OK) {
            rc = insert(st, 3, "c", 1);
        }
        assert_int_equal(rc, want);
        assert_non_null(strstr(store_errmsg(st), "injected"));
        assert_int_not_equal(store_commit(st), BNC_OK); /* doomed */
        assert_int_equal(store_query_int(inner, SQL_COUNT, NULL, 0, &n), BNC_OK);
        assert_int_equal(n, 0);
    }
    /* a failing commit leaves nothing either */
    store_fault_fail_at(st, 0, BNC_OK);
    store_fault_fail_commit(st, BNC_EIO);
    assert_int_equal(store_begin(st), BNC_OK);
    assert_int_equal(insert(st, 1, "a", 1), BNC_OK);
    assert_int_equal(store_commit(st), BNC_EIO);
    assert_int_equal(count_rows(st), 0);
    /* unarmed, the work goes through */
    assert_int_equal(store_begin(st), BNC_OK);
    assert_int_equal(insert(st, 1, "a", 1), BNC_OK);
    assert_int_equal(store_commit(st), BNC_OK);
    assert_int_equal(count_rows(st), 1);
    assert_ptr_equal(store_fault_inner(st), inner);
    /* migrations work through the wrapper */
    {
        char err[256];
        assert_int_equal(store_migrate(st, err, sizeof(err)), BNC_OK);
    }
    store_close(st); /* closes inner too */
}

/* ---- setup ---------------------------------------------------------------------------- */

static int
read_url_file(const char *path, char *out, size_t outlen)
{
    FILE *fp = fopen(path, "r");
    size_t n;

    if (fp == NULL) {
        return -1;
    }
    n = fread(out, 1, outlen - 1, fp);
    fclose(fp);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ')) {
        out[--n] = '\0';
    }
    return n > 0 ? 0 : -1;
}

static int
admin_exec(const char *sql)
{
    struct store *st = NULL;
    char err[512];
    bnc_status rc =
        store_open_ex(g_admin_url, &g_cfg, STORE_OPEN_NO_MIGRATE, &st, err, sizeof(err));
    if (rc != BNC_OK) {
        fprintf(stderr, "test_store_backend: %s\n", err);
        return -1;
    }
    rc = store_exec(st, sql, NULL, 0, NULL, NULL, NULL);
    if (rc != BNC_OK) {
        fprintf(stderr, "test_store_backend: %s: %s\n", sql, store_errmsg(st));
    }
    store_close(st);
    return rc == BNC_OK ? 0 : -1;
}

/* PG: a database of our own, so parallel test runs on one server never share tables. */
static int
pg_setup(void)
{
    const char *env = getenv("BNC_PG_URL");
    const char *file = getenv("BNC_PG_URL_FILE");
    const char *ci = getenv("CI");
    char sql[128];
    char *slash, *q;

    if (env != NULL && env[0] != '\0') {
        snprintf(g_admin_url, sizeof(g_admin_url), "%s", env);
    } else if (file == NULL || read_url_file(file, g_admin_url, sizeof(g_admin_url)) != 0) {
        if (ci != NULL && strcmp(ci, "true") == 0) {
            fprintf(stderr,
                    "test_store_backend: no PostgreSQL URL (BNC_PG_URL or %s) under "
                    "CI: the PostgreSQL leg must run\n",
                    file != NULL ? file : "BNC_PG_URL_FILE");
            return 1;
        }
        fprintf(stderr, "test_store_backend: no PostgreSQL available, skipping\n");
        return 77;
    }
    snprintf(g_dbname, sizeof(g_dbname), "bnc_sb_%ld_%ld", (long)getpid(), (long)time(NULL));
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", g_dbname);
    if (admin_exec(sql) != 0) {
        return 1;
    }
    /* same server, our database: replace the path of the URL, keep its query */
    snprintf(g_url, sizeof(g_url), "%s", g_admin_url);
    q = strchr(g_url, '?');
    slash = strchr(g_url + strlen("postgresql://"), '/');
    if (slash == NULL || (q != NULL && slash > q)) {
        fprintf(stderr, "test_store_backend: cannot derive a URL from %s\n", g_admin_url);
        return 1;
    }
    {
        char tail[512] = "";
        if (q != NULL) {
            snprintf(tail, sizeof(tail), "%s", strchr(g_admin_url, '?'));
        }
        snprintf(slash, sizeof(g_url) - (size_t)(slash - g_url), "/%s%s", g_dbname, tail);
    }
    return 0;
}

static void
pg_teardown(void)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", g_dbname);
    (void)admin_exec(sql);
}

static void
rm_tree(const char *dir)
{
    char cmd[400];
    int rc;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    rc = system(cmd);
    (void)rc;
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_and_types),
        cmocka_unit_test(test_text_utf8_and_nul),
        cmocka_unit_test(test_returning_and_changes),
        cmocka_unit_test(test_on_conflict),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_statement_cache),
        cmocka_unit_test(test_busy),
        cmocka_unit_test(test_migrations),
        cmocka_unit_test(test_migration_sets_match),
        cmocka_unit_test(test_fault_injection),
        cmocka_unit_test(test_schema_change_under_cache),
        cmocka_unit_test(test_reconnect),
        cmocka_unit_test(test_migrations_concurrent),
        cmocka_unit_test(test_cli_migrate),
        cmocka_unit_test(test_read_transactions),
        cmocka_unit_test(test_migration_failure_rolls_back),
        cmocka_unit_test(test_sql_param_scan),
        cmocka_unit_test(test_param_checks),
        cmocka_unit_test(test_concurrent_writers),
        cmocka_unit_test(test_deadlock_is_busy),
        cmocka_unit_test(test_nested_exec),
        cmocka_unit_test(test_no_lost_update),
    };
    int rc;

    cfg_init(&g_cfg);
    g_pg = argc > 1 && strcmp(argv[1], "pg") == 0;
    snprintf(g_tmpdir, sizeof(g_tmpdir), "%s/bnc_store_XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(g_tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    if (g_pg) {
        if ((rc = pg_setup()) != 0) {
            rm_tree(g_tmpdir);
            return rc;
        }
        rc = _cmocka_run_group_tests("store_backend_postgresql", tests,
                                     sizeof(tests) / sizeof(tests[0]), NULL, NULL);
        pg_teardown();
    } else {
        rc = _cmocka_run_group_tests("store_backend_sqlite", tests,
                                     sizeof(tests) / sizeof(tests[0]), NULL, NULL);
    }
    rm_tree(g_tmpdir);
    cfg_free(&g_cfg);
    return rc;
}
