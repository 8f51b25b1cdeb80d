/*
 * sqlite.c - the SQLite backend of the store (the default: a file path as store URL).
 *
 * One struct store is one sqlite3 connection in WAL mode with synchronous=NORMAL,
 * foreign_keys=ON and the configured busy timeout. Every statement is prepared once per
 * connection (SQLITE_PREPARE_PERSISTENT), cached by SQL pointer (store_int.h) and reset after
 * use; parameters "$1".."$N" are bound through a per-statement map from N to SQLite's
 * parameter index, computed at prepare time. Text is bound without copying (SQLITE_STATIC:
 * the caller's buffer outlives the call). Write transactions use BEGIN IMMEDIATE so lock
 * waits happen at begin, under the busy timeout, rather than as deadlocks mid-transaction.
 *
 * It does not create the directory of the database file, does not retry BUSY itself (the
 * caller retries the transaction) and does not know the schema.
 *
 * STANDARDS: none (SQLite >= 3.35 for RETURNING).
 * LIMITS: one SQL statement per exec (trailing text is an error); STORE_CACHE_MAX cached
 * statements per connection; 999 parameters per statement; row callbacks may run further
 * statements on the same store STORE_NEST_MAX deep.
 * Errors: SQLITE_BUSY/LOCKED -> BNC_EBUSY, UNIQUE/PRIMARY KEY constraint -> BNC_ECONFLICT,
 * others -> BNC_ESTORE; detail in errmsg.
 * Ownership: the store owns the connection, its statements and the row arrays handed to row
 * callbacks (valid during the callback only).
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cfg.h"
#include "core/embedded.h"
#include "core/xmalloc.h"
#include "store/store.h"
#include "store/store_int.h"

#define SQ_MAX_PARAMS 999

/* The statements this backend issues itself. */
static const char SQ_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQ_BEGIN_READ[] = "BEGIN DEFERRED";
static const char SQ_COMMIT[] = "COMMIT";
static const char SQ_ROLLBACK[] = "ROLLBACK";
static const char SQ_PRAGMAS[] =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
    "PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824; PRAGMA temp_store=MEMORY;";

struct sq_stmt {
    sqlite3_stmt *stmt;
    int busy; /* being stepped: a nested exec of the same SQL gets its own statement */
    int readonly;
    int nparams; /* the largest N of $N */
    int map[];   /* map[N-1] = SQLite parameter index of $N, 0 when $N is not used */
};

/* Row arrays handed to callbacks, grown to the widest result seen. */
struct sq_rows {
    struct store_value *cols;
    const char **names;
    size_t alloc;
};

struct sq_store {
    struct store_base base;
    sqlite3 *db;
    struct store_cache cache;
    struct sq_rows rows[STORE_NEST_MAX]; /* one per level of exec nested in row callbacks */
    int depth;
    int read_txn; /* inside BEGIN DEFERRED from begin_read: writes are refused */
    char err[512];
};

static bnc_status
sq_status(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return BNC_EBUSY;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
            return BNC_ECONFLICT;
        }
        return BNC_ESTORE;
    default:
        return BNC_ESTORE;
    }
}

static bnc_status
sq_fail(struct sq_store *s, int rc, const char *what)
{
    snprintf(s->err, sizeof(s->err), "sqlite: %s: %s", what,
             s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    return sq_status(rc);
}

static void
sq_stmt_free(void *ud, void *h)
{
    struct sq_stmt *ps = h;
    (void)ud;
    sqlite3_finalize(ps->stmt);
    free(ps);
}

/* $N -> N, or -1 for any other parameter name. */
static int
sq_param_number(const char *name)
{
    long n = 0;
    const char *p;

    if (name == NULL || name[0] != '$' || name[1] < '1' || name[1] > '9') {
        return -1;
    }
    for (p = name + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || n > SQ_MAX_PARAMS) {
            return -1;
        }
        n = n * 10 + (*p - '0');
    }
    return n > SQ_MAX_PARAMS ? -1 : (int)n;
}

static bnc_status
sq_prepare(struct sq_store *s, const char *sql, struct sq_stmt **out)
{
    sqlite3_stmt *stmt = NULL;
    const char *tail = NULL;
    struct sq_stmt *ps;
    int rc, i, count, max = 0;

    rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) {
        return sq_fail(s, rc, "prepare");
    }
    if (stmt == NULL) {
        snprintf(s->err, sizeof(s->err), "sqlite: prepare: empty SQL");
        return BNC_EINVAL;
    }
    while (tail != NULL &&
           (*tail == ' ' || *tail == '\n' || *tail == '\t' || *tail == '\r' || *tail == ';')) {
        tail++;
    }
    if (tail != NULL && *tail != '\0') {
        sqlite3_finalize(stmt);
        snprintf(s->err, sizeof(s->err), "sqlite: prepare: more than one statement in exec");
        return BNC_EINVAL;
    }
    count = sqlite3_bind_parameter_count(stmt);
    for (i = 1; i <= count; i++) {
        int n = sq_param_number(sqlite3_bind_parameter_name(stmt, i));
        if (n < 0) {
            sqlite3_finalize(stmt);
            snprintf(s->err, sizeof(s->err),
                     "sqlite: prepare: parameter %d is not of the form $N (portable SQL uses "
                     "$1..$N)",
                     i);
            return BNC_EINVAL;
        }
        if (n > max) {
            max = n;
        }
    }
    s->base.prepares++;
    ps = xcalloc(1, sizeof(*ps) + (size_t)max * sizeof(int));
    ps->stmt = stmt;
    ps->readonly = sqlite3_stmt_readonly(stmt);
    ps->nparams = max;
    for (i = 1; i <= count; i++) {
        ps->map[sq_param_number(sqlite3_bind_parameter_name(stmt, i)) - 1] = i;
    }
    *out = ps;
    return BNC_OK;
}

/* The statement for sql: the cached one, or (when that one is being stepped further up the
 * stack, or the cache is full while statements are in use) a temporary one (*temp_out = 1)
 * that the caller finalizes. */
static bnc_status
sq_lookup(struct sq_store *s, const char *sql, struct sq_stmt **out, int *temp_out)
{
    struct sq_stmt *ps = store_cache_get(&s->cache, sql, 0);
    int cached_busy = ps != NULL;
    bnc_status rc;

    *temp_out = 0;
    if (ps != NULL && !ps->busy) {
        *out = ps;
        return BNC_OK;
    }
    if ((rc = sq_prepare(s, sql, &ps)) != BNC_OK) {
        return rc;
    }
    if (cached_busy || (store_cache_full(&s->cache) && s->depth > 0)) {
        *temp_out = 1;
        *out = ps;
        return BNC_OK;
    }
    if (store_cache_full(&s->cache)) {
        store_cache_clear(&s->cache, sq_stmt_free, NULL);
    }
    store_cache_put(&s->cache, sql, 0, ps);
    *out = ps;
    return BNC_OK;
}

static void
sq_grow_row(struct sq_rows *rows, size_t ncols)
{
    if (ncols <= rows->alloc) {
        return;
    }
    rows->cols = xrealloc(rows->cols, ncols * sizeof(*rows->cols));
    rows->names = xrealloc(rows->names, ncols * sizeof(*rows->names));
    rows->alloc = ncols;
}

/* Bind, step and hand rows of ps to cb, using the row arrays of this nesting level. */
static bnc_status
sq_run(struct sq_store *s, struct sq_stmt *ps, struct sq_rows *rows,
       const struct store_value *params, size_t nparams, store_row_cb cb, void *ud,
       int64_t *changes_out)
{
    struct store_row row;
    sqlite3_stmt *stmt;
    bnc_status rc;
    int src, stop = 0, first = 1;
    size_t i, ncols = 0;
    sqlite3_int64 total_before;

    if (s->read_txn && !ps->readonly) {
        snprintf(s->err, sizeof(s->err), "sqlite: write inside a read-only transaction");
        return BNC_EINVAL;
    }
    if ((size_t)ps->nparams != nparams) {
        snprintf(s->err, sizeof(s->err), "sqlite: SQL uses $1..$%d but %zu parameters given",
                 ps->nparams, nparams);
        return BNC_EINVAL;
    }
    stmt = ps->stmt;
    total_before = sqlite3_total_changes64(s->db);
    for (i = 0; i < nparams; i++) {
        int idx = ps->map[i];
        const struct store_value *v = &params[i];
        if (idx == 0) {
            continue;
        }
        if (v->type == SV_INT) {
            src = sqlite3_bind_int64(stmt, idx, (sqlite3_int64)v->i);
        } else if (v->type == SV_TEXT) {
            src = sqlite3_bind_text64(stmt, idx, v->len > 0 ? v->s : "", (sqlite3_uint64)v->len,
                                      SQLITE_STATIC, SQLITE_UTF8);
        } else {
            src = sqlite3_bind_null(stmt, idx);
        }
        if (src != SQLITE_OK) {
            rc = sq_fail(s, src, "bind");
            sqlite3_reset(stmt);
            return rc;
        }
    }
    for (;;) {
        src = sqlite3_step(stmt);
        if (src == SQLITE_DONE) {
            break;
        }
        if (src != SQLITE_ROW) {
            rc = sq_fail(s, src, "step");
            sqlite3_reset(stmt);
            return rc;
        }
        if (cb == NULL || stop) {
            if (ps->readonly) {
                break;
            }
            continue; /* a writing statement runs to completion, as on PostgreSQL */
        }
        if (first) {
            ncols = (size_t)sqlite3_column_count(stmt);
            sq_grow_row(rows, ncols);
            for (i = 0; i < ncols; i++) {
                rows->names[i] = sqlite3_column_name(stmt, (int)i);
            }
            first = 0;
        }
        for (i = 0; i < ncols; i++) {
            struct store_value *v = &rows->cols[i];
            switch (sqlite3_column_type(stmt, (int)i)) {
            case SQLITE_INTEGER:
                v->type = SV_INT;
                v->i = (int64_t)sqlite3_column_int64(stmt, (int)i);
                v->s = NULL;
                v->len = 0;
                break;
            case SQLITE_NULL:
                v->type = SV_NULL;
                v->i = 0;
                v->s = NULL;
                v->len = 0;
                break;
            default:
                v->type = SV_TEXT;
                v->i = 0;
                v->s = (const char *)sqlite3_column_text(stmt, (int)i);
                v->len = (size_t)sqlite3_column_bytes(stmt, (int)i);
                if (v->s == NULL) {
                    v->s = "";
                    v->len = 0;
                }
                break;
            }
        }
        row.ncols = ncols;
        row.cols = rows->cols;
        row.names = rows->names;
        if (cb(ud, &row) != 0) {
            stop = 1;
            if (ps->readonly) {
                break;
            }
        }
    }
    if (changes_out != NULL) {
        /* sqlite3_changes64() keeps the count of the last DML: DDL must not report it */
        *changes_out = ps->readonly || sqlite3_total_changes64(s->db) == total_before
                           ? 0
                           : (int64_t)sqlite3_changes64(s->db);
    }
    sqlite3_reset(stmt);
    return BNC_OK;
}

static bnc_status
sq_exec(struct store *st, const char *sql, const struct store_value *params, size_t nparams,
        store_row_cb cb, void *ud, int64_t *changes_out)
{
    struct sq_store *s = (struct sq_store *)(void *)st;
    struct sq_stmt *ps;
    bnc_status rc;
    int temp;

    if (s->depth >= STORE_NEST_MAX) {
        snprintf(s->err, sizeof(s->err),
                 "sqlite: statements nested deeper than %d in row "
                 "callbacks",
                 STORE_NEST_MAX);
        return BNC_EINVAL;
    }
    if ((rc = store_check_params(params, nparams, s->err, sizeof(s->err))) != BNC_OK) {
        return rc;
    }
    if ((rc = sq_lookup(s, sql, &ps, &temp)) != BNC_OK) {
        return rc;
    }
    ps->busy = 1;
    s->depth++;
    rc = sq_run(s, ps, &s->rows[s->depth - 1], params, nparams, cb, ud, changes_out);
    s->depth--;
    ps->busy = 0;
    if (temp) {
        sq_stmt_free(NULL, ps);
    }
    return rc;
}

static bnc_status
sq_simple(struct sq_store *s, const char *sql)
{
    return sq_exec((struct store *)(void *)s, sql, NULL, 0, NULL, NULL, NULL);
}

static bnc_status
sq_begin(struct store *st)
{
    return sq_simple((struct sq_store *)(void *)st, SQ_BEGIN);
}

static bnc_status
sq_begin_read(struct store *st)
{
    struct sq_store *s = (struct sq_store *)(void *)st;
    bnc_status rc = sq_simple(s, SQ_BEGIN_READ);

    s->read_txn = rc == BNC_OK;
    return rc;
}

static bnc_status
sq_commit(struct store *st)
{
    struct sq_store *s = (struct sq_store *)(void *)st;
    s->read_txn = 0;
    return sq_simple(s, SQ_COMMIT);
}

static bnc_status
sq_rollback(struct store *st)
{
    struct sq_store *s = (struct sq_store *)(void *)st;

    s->read_txn = 0;
    if (sqlite3_get_autocommit(s->db)) {
        return BNC_OK; /* SQLite already rolled back (e.g. after SQLITE_FULL) */
    }
    return sq_simple(s, SQ_ROLLBACK);
}

static bnc_status
sq_exec_script(struct store *st, const char *sql)
{
    struct sq_store *s = (struct sq_store *)(void *)st;
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK) {
        snprintf(s->err, sizeof(s->err), "sqlite: %s", msg != NULL ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return sq_status(rc);
    }
    return BNC_OK;
}

static const struct bnc_embedded *
sq_migrations(const struct store *st)
{
    (void)st;
    return bnc_sqlite_migrations;
}

static const char *
sq_errmsg(const struct store *st)
{
    return ((const struct sq_store *)(const void *)st)->err;
}

static void
sq_close(struct store *st)
{
    struct sq_store *s = (struct sq_store *)(void *)st;
    int i;

    store_cache_free(&s->cache, sq_stmt_free, NULL);
    sqlite3_close_v2(s->db);
    for (i = 0; i < STORE_NEST_MAX; i++) {
        free(s->rows[i].cols);
        free(s->rows[i].names);
    }
    free(s);
}

/* The directory that must exist for path (a file in the current directory needs none). */
static bnc_status
sq_check_dir(const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    struct stat sb;
    size_t n;

    if (slash == NULL || slash == path) {
        return BNC_OK;
    }
    n = (size_t)(slash - path);
    if (n >= sizeof(dir)) {
        snprintf(err, errlen, "sqlite: path too long: %s", path);
        return BNC_ECONFIG;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    if (stat(dir, &sb) != 0) {
        snprintf(err, errlen, "sqlite: directory '%s' for the database '%s' %s", dir, path,
                 errno == ENOENT ? "does not exist (create it first)" : strerror(errno));
        return BNC_ESTORE;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "sqlite: '%s' (for the database '%s') is not a directory", dir, path);
        return BNC_ESTORE;
    }
    return BNC_OK;
}

/* Process-wide, before SQLite initialises: no global mutex around every allocation for
 * memory statistics nobody reads. Harmless when SQLite was initialised elsewhere first. */
static void
sq_global_init(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static bnc_status
sq_open(const char *path, const struct bnc_config *cfg, struct store **out, char *err,
        size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct sq_store *s;
    char *msg = NULL;
    int rc;
    bnc_status st;

    *out = NULL;
    (void)pthread_once(&once, sq_global_init);
    if (path[0] == '\0') {
        snprintf(err, errlen, "sqlite: empty database path");
        return BNC_ECONFIG;
    }
    if (strcmp(path, ":memory:") != 0 && strncmp(path, "file:", 5) != 0 &&
        (st = sq_check_dir(path, err, errlen)) != BNC_OK) {
        return st;
    }
    s = xcalloc(1, sizeof(*s));
    s->base.be = &store_sqlite_backend;
    rc = sqlite3_open_v2(
        path, &s->db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "sqlite: cannot open '%s': %s", path,
                 s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        sq_close((struct store *)(void *)s);
        return BNC_ESTORE;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, cfg != NULL ? (int)cfg->store_busy_timeout : 5000);
    rc = sqlite3_exec(s->db, SQ_PRAGMAS, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "sqlite: cannot use '%s': %s", path,
                 msg != NULL ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        sq_close((struct store *)(void *)s);
        return sq_status(rc) == BNC_EBUSY ? BNC_EBUSY : BNC_ESTORE;
    }
    *out = (struct store *)(void *)s;
    return BNC_OK;
}

const struct store_backend store_sqlite_backend = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .exec = sq_exec,
    .errmsg = sq_errmsg,
    .exec_script = sq_exec_script,
    .migrations = sq_migrations,
    .migrate_lock = NULL,
    .begin_read = sq_begin_read,
};
