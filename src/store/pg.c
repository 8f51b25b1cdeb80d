/*
 * pg.c - the PostgreSQL backend of the store (libpq), for several bounced nodes sharing one
 * database. Store URL: postgresql://... or postgres://... (libpq connection URI).
 *
 * One struct store is one libpq connection. Every distinct SQL text is prepared once per
 * connection (PQprepare, generated names "bnc_N") and cached by (SQL pointer, which
 * parameters are integers): integer parameters are declared int8 so "SELECT $1" and
 * arithmetic see numbers as SQLite does, the others are left for the server to infer from
 * context. Parameters travel as text. Results come back as text and are typed by column:
 * int2/int4/int8, bool and integral numeric -> SV_INT, NULL -> SV_NULL, the rest SV_TEXT.
 * Migrations run with a session advisory lock held so concurrent first starts of several
 * nodes apply each file once. A connection found broken outside a transaction is reset once
 * before the next statement (its prepared statements are gone with it).
 *
 * It does not retry transactions (BNC_EBUSY tells the caller to), pool connections, or
 * speak anything but the text protocol.
 *
 * STANDARDS: PostgreSQL >= 12 (SQLSTATE codes: 23505 unique_violation, 40001
 * serialization_failure, 40P01 deadlock_detected, 55P03 lock_not_available).
 * LIMITS: STORE_CACHE_MAX prepared statements per connection (then DEALLOCATE ALL); row
 * callbacks may run further statements on the same store STORE_NEST_MAX deep;
 * connect_timeout 10 s unless the URL sets one; lock_timeout = store.busy_timeout_ms unless
 * the URL sets options.
 * Ownership: the store owns the connection and the row arrays handed to row callbacks
 * (valid during the callback only).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/embedded.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/store.h"
#include "store/store_int.h"

/* Type OIDs (pg_type.dat; stable since forever). */
#define PG_OID_BOOL    16
#define PG_OID_INT8    20
#define PG_OID_INT2    21
#define PG_OID_INT4    23
#define PG_OID_NUMERIC 1700

#define PG_MAX_PARAMS 65535

/* The statements this backend issues itself. */
/* Write transactions read one snapshot and fail (40001 -> BNC_EBUSY, retry) when a row they
 * update was changed by a transaction that committed meanwhile: a read-modify-write (load
 * the contact, apply the policy, store it) cannot lose a concurrent node's update, matching
 * SQLite, where BEGIN IMMEDIATE runs writers one at a time. */
static const char PG_BEGIN[] = "BEGIN ISOLATION LEVEL REPEATABLE READ";
/* one snapshot for the whole read batch, as SQLite gives; read-only RR never fails 40001 */
static const char PG_BEGIN_READ[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
static const char PG_COMMIT[] = "COMMIT";
static const char PG_ROLLBACK[] = "ROLLBACK";
static const char PG_DEALLOCATE_ALL[] = "DEALLOCATE ALL";
/* Arbitrary constant key of the advisory lock that serialises migration runs. */
static const char PG_MIGRATE_LOCK[] = "SELECT pg_advisory_lock(4839201127364001)";
static const char PG_MIGRATE_UNLOCK[] = "SELECT pg_advisory_unlock(4839201127364001)";

struct pg_stmt {
    char name[24];
    int nparams;
};

/* Row arrays handed to callbacks, grown to the widest result seen. */
struct pg_rows {
    struct store_value *cols;
    const char **names;
    Oid *types;
    size_t alloc;
};

struct pg_store {
    struct store_base base;
    PGconn *conn;
    struct store_cache cache;
    unsigned next_id;
    int in_txn;    /* between a successful BEGIN and COMMIT/ROLLBACK */
    int flush;     /* cached statements went stale: flush outside a transaction */
    char state[6]; /* SQLSTATE of the last failure */
    struct pg_rows rows[STORE_NEST_MAX]; /* one per level of exec nested in row callbacks */
    int depth;
    const char **vals; /* parameter arrays */
    Oid *ptypes;
    size_t vals_alloc;
    char *scratch; /* NUL-terminated copies of the parameters */
    size_t scratch_alloc;
    char err[512];
};

static void
pg_set_err(struct pg_store *p, const char *what, const char *msg)
{
    size_t n;
    snprintf(p->err, sizeof(p->err), "postgresql: %s: %s", what, msg != NULL ? msg : "?");
    n = strlen(p->err);
    while (n > 0 && (p->err[n - 1] == '\n' || p->err[n - 1] == ' ')) {
        p->err[--n] = '\0';
    }
}

/* Map a failed result to a status and record its message. */
static bnc_status
pg_fail(struct pg_store *p, PGresult *res, const char *what)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res != NULL ? PQresultErrorMessage(res) : NULL;

    if (msg == NULL || msg[0] == '\0') {
        msg = PQerrorMessage(p->conn);
    }
    snprintf(p->state, sizeof(p->state), "%s", state != NULL ? state : "");
    if (PQstatus(p->conn) == CONNECTION_BAD) {
        pg_set_err(p, "connection lost", msg);
        return BNC_ESTORE;
    }
    pg_set_err(p, what, msg);
    if (state == NULL) {
        return BNC_ESTORE;
    }
    if (strcmp(state, "23505") == 0) {
        return BNC_ECONFLICT;
    }
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0) {
        return BNC_EBUSY;
    }
    return BNC_ESTORE;
}

static void
pg_stmt_free(void *ud, void *h)
{
    (void)ud;
    free(h);
}

static void
pg_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("postgresql: %s", message);
}

/* One command without parameters or result rows. */
static bnc_status
pg_command(struct pg_store *p, const char *sql, const char *what)
{
    PGresult *res = PQexec(p->conn, sql);
    bnc_status rc = BNC_OK;
    ExecStatusType es = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;

    if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
        rc = pg_fail(p, res, what);
    }
    PQclear(res);
    return rc;
}

/* Before a statement outside a transaction: reconnect a broken connection once. */
static bnc_status
pg_ensure(struct pg_store *p)
{
    if (PQstatus(p->conn) == CONNECTION_OK) {
        return BNC_OK;
    }
    if (p->in_txn) {
        pg_set_err(p, "connection lost inside a transaction", PQerrorMessage(p->conn));
        return BNC_ESTORE;
    }
    PQreset(p->conn);
    store_cache_clear(&p->cache, pg_stmt_free, NULL); /* the session's statements are gone */
    if (PQstatus(p->conn) != CONNECTION_OK) {
        pg_set_err(p, "reconnect failed", PQerrorMessage(p->conn));
        return BNC_ESTORE;
    }
    log_info("postgresql: reconnected");
    return BNC_OK;
}

/*
 * A schema change can invalidate a cached plan ("cached plan must not change result type",
 * 0A000) and a pooler may drop prepared statements (26000). Both fail before anything runs,
 * so outside a transaction the statement is retried once after a flush.
 */
static int
pg_stale(const struct pg_store *p)
{
    return strcmp(p->state, "0A000") == 0 || strcmp(p->state, "26000") == 0;
}

static bnc_status
pg_flush(struct pg_store *p)
{
    bnc_status rc;

    if (!p->flush || p->in_txn) {
        return BNC_OK;
    }
    if ((rc = pg_command(p, PG_DEALLOCATE_ALL, "deallocate")) != BNC_OK) {
        return rc;
    }
    store_cache_clear(&p->cache, pg_stmt_free, NULL);
    p->flush = 0;
    return BNC_OK;
}

static uint64_t
pg_signature(const struct store_value *params, size_t nparams)
{
    uint64_t sig = 0;
    size_t i;
    for (i = 0; i < nparams && i < 64; i++) {
        if (params[i].type == SV_INT) {
            sig |= (uint64_t)1 << i;
        }
    }
    return sig;
}

static void
pg_grow_params(struct pg_store *p, size_t n)
{
    if (n <= p->vals_alloc) {
        return;
    }
    p->vals = xrealloc(p->vals, n * sizeof(*p->vals));
    p->ptypes = xrealloc(p->ptypes, n * sizeof(*p->ptypes));
    p->vals_alloc = n;
}

static bnc_status
pg_lookup(struct pg_store *p, const char *sql, const struct store_value *params, size_t nparams,
          struct pg_stmt **out)
{
    uint64_t sig = pg_signature(params, nparams);
    struct pg_stmt *ps = store_cache_get(&p->cache, sql, sig);
    PGresult *res;
    bnc_status rc;
    long maxp;
    size_t i;

    if (ps != NULL && !p->flush) {
        *out = ps;
        return BNC_OK;
    }
    if (p->flush && !p->in_txn) {
        if ((rc = pg_flush(p)) != BNC_OK) {
            return rc;
        }
    } else if (ps != NULL) {
        *out = ps; /* inside a transaction: flushed after it */
        return BNC_OK;
    }
    maxp = store_sql_max_param(sql);
    if (maxp < 0 || maxp > PG_MAX_PARAMS) {
        pg_set_err(p, "prepare", "parameters must be of the form $N (portable SQL uses $1..$N)");
        return BNC_EINVAL;
    }
    if ((size_t)maxp != nparams) {
        snprintf(p->err, sizeof(p->err), "postgresql: SQL uses $1..$%ld but %zu parameters given",
                 maxp, nparams);
        return BNC_EINVAL;
    }
    if (store_cache_full(&p->cache)) {
        if ((rc = pg_command(p, PG_DEALLOCATE_ALL, "deallocate")) != BNC_OK) {
            return rc;
        }
        store_cache_clear(&p->cache, pg_stmt_free, NULL);
    }
    pg_grow_params(p, nparams);
    for (i = 0; i < nparams; i++) {
        p->ptypes[i] = (i < 64 && params[i].type == SV_INT) ? PG_OID_INT8 : 0;
    }
    ps = xcalloc(1, sizeof(*ps));
    snprintf(ps->name, sizeof(ps->name), "bnc_%u", p->next_id++);
    ps->nparams = (int)nparams;
    res = PQprepare(p->conn, ps->name, sql, (int)nparams, nparams > 0 ? p->ptypes : NULL);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = pg_fail(p, res, "prepare");
        PQclear(res);
        free(ps);
        return rc;
    }
    PQclear(res);
    p->base.prepares++;
    store_cache_put(&p->cache, sql, sig, ps);
    *out = ps;
    return BNC_OK;
}

/* Point p->vals at NUL-terminated text copies of the parameters (libpq's text format). */
static void
pg_fill_params(struct pg_store *p, const struct store_value *params, size_t nparams)
{
    size_t i, need = 0, off = 0;

    for (i = 0; i < nparams; i++) {
        need += params[i].type == SV_TEXT ? params[i].len + 1 : 24;
    }
    if (need > p->scratch_alloc) {
        p->scratch = xrealloc(p->scratch, need);
        p->scratch_alloc = need;
    }
    for (i = 0; i < nparams; i++) {
        const struct store_value *v = &params[i];
        char *dst = p->scratch + off;
        if (v->type == SV_NULL) {
            p->vals[i] = NULL;
        } else if (v->type == SV_INT) {
            off += (size_t)snprintf(dst, 24, "%lld", (long long)v->i) + 1;
            p->vals[i] = dst;
        } else {
            if (v->len > 0) {
                memcpy(dst, v->s, v->len);
            }
            dst[v->len] = '\0';
            off += v->len + 1;
            p->vals[i] = dst;
        }
    }
}

static void
pg_grow_row(struct pg_rows *rows, size_t ncols)
{
    if (ncols <= rows->alloc) {
        return;
    }
    rows->cols = xrealloc(rows->cols, ncols * sizeof(*rows->cols));
    rows->names = xrealloc(rows->names, ncols * sizeof(*rows->names));
    rows->types = xrealloc(rows->types, ncols * sizeof(*rows->types));
    rows->alloc = ncols;
}

static void
pg_value(struct store_value *v, Oid type, const char *s, size_t len)
{
    char *end;
    long long n;

    v->s = NULL;
    v->len = 0;
    v->i = 0;
    switch (type) {
    case PG_OID_BOOL:
        v->type = SV_INT;
        v->i = s[0] == 't' ? 1 : 0;
        return;
    case PG_OID_INT2:
    case PG_OID_INT4:
    case PG_OID_INT8:
    case PG_OID_NUMERIC:
        n = strtoll(s, &end, 10);
        if (end != s && *end == '\0') {
            v->type = SV_INT;
            v->i = (int64_t)n;
            return;
        }
        break; /* a fractional numeric stays text */
    default:
        break;
    }
    v->type = SV_TEXT;
    v->s = s;
    v->len = len;
}

/* Rows changed: PQcmdTuples also counts SELECT rows, which SQLite does not. */
static int64_t
pg_changes(PGresult *res)
{
    const char *cmd = PQcmdStatus(res);
    const char *tuples = PQcmdTuples(res);

    if (cmd == NULL || tuples == NULL || tuples[0] == '\0') {
        return 0;
    }
    if (strncmp(cmd, "INSERT ", 7) != 0 && strncmp(cmd, "UPDATE ", 7) != 0 &&
        strncmp(cmd, "DELETE ", 7) != 0 && strncmp(cmd, "MERGE ", 6) != 0) {
        return 0;
    }
    return (int64_t)strtoll(tuples, NULL, 10);
}

static bnc_status
pg_exec(struct store *st, const char *sql, const struct store_value *params, size_t nparams,
        store_row_cb cb, void *ud, int64_t *changes_out)
{
    struct pg_store *p = (struct pg_store *)(void *)st;
    struct store_row row;
    struct pg_stmt *ps = NULL;
    PGresult *res;
    ExecStatusType es;
    bnc_status rc;
    int r, nrows, attempt;
    size_t i, ncols;

    if (p->depth >= STORE_NEST_MAX) {
        snprintf(p->err, sizeof(p->err),
                 "postgresql: statements nested deeper than %d in row callbacks", STORE_NEST_MAX);
        return BNC_EINVAL;
    }
    if ((rc = store_check_params(params, nparams, p->err, sizeof(p->err))) != BNC_OK) {
        return rc;
    }
    if ((rc = pg_ensure(p)) != BNC_OK) {
        return rc;
    }
    if ((rc = pg_lookup(p, sql, params, nparams, &ps)) != BNC_OK) {
        return rc;
    }
    pg_grow_params(p, nparams);
    pg_fill_params(p, params, nparams);
    for (attempt = 0;; attempt++) {
        res = PQexecPrepared(p->conn, ps->name, (int)nparams, nparams > 0 ? p->vals : NULL, NULL,
                             NULL, 0);
        es = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK) {
            break;
        }
        rc = pg_fail(p, res, "exec");
        PQclear(res);
        if (!pg_stale(p)) {
            return rc;
        }
        p->flush = 1;
        if (p->in_txn || attempt > 0) {
            return rc;
        }
        if ((rc = pg_lookup(p, sql, params, nparams, &ps)) != BNC_OK) {
            return rc;
        }
    }
    if (cb != NULL && es == PGRES_TUPLES_OK) {
        /* this level's arrays: a callback may run statements of its own (nested) */
        struct pg_rows *rows = &p->rows[p->depth];
        nrows = PQntuples(res);
        ncols = (size_t)PQnfields(res);
        pg_grow_row(rows, ncols);
        for (i = 0; i < ncols; i++) {
            rows->names[i] = PQfname(res, (int)i);
            rows->types[i] = PQftype(res, (int)i);
        }
        row.ncols = ncols;
        row.cols = rows->cols;
        row.names = rows->names;
        p->depth++;
        for (r = 0; r < nrows; r++) {
            for (i = 0; i < ncols; i++) {
                if (PQgetisnull(res, r, (int)i)) {
                    rows->cols[i].type = SV_NULL;
                    rows->cols[i].i = 0;
                    rows->cols[i].s = NULL;
                    rows->cols[i].len = 0;
                } else {
                    pg_value(&rows->cols[i], rows->types[i], PQgetvalue(res, r, (int)i),
                             (size_t)PQgetlength(res, r, (int)i));
                }
            }
            if (cb(ud, &row) != 0) {
                break;
            }
        }
        p->depth--;
    }
    if (changes_out != NULL) {
        *changes_out = pg_changes(res);
    }
    PQclear(res);
    return BNC_OK;
}

static bnc_status
pg_begin_sql(struct pg_store *p, const char *sql)
{
    bnc_status rc;

    if ((rc = pg_ensure(p)) != BNC_OK || (rc = pg_flush(p)) != BNC_OK) {
        return rc;
    }
    if ((rc = pg_command(p, sql, "begin")) == BNC_OK) {
        p->in_txn = 1;
    }
    return rc;
}

static bnc_status
pg_begin(struct store *st)
{
    return pg_begin_sql((struct pg_store *)(void *)st, PG_BEGIN);
}

static bnc_status
pg_begin_read(struct store *st)
{
    return pg_begin_sql((struct pg_store *)(void *)st, PG_BEGIN_READ);
}

static bnc_status
pg_commit(struct store *st)
{
    struct pg_store *p = (struct pg_store *)(void *)st;
    PGresult *res = PQexec(p->conn, PG_COMMIT);
    bnc_status rc = BNC_OK;

    p->in_txn = 0;
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = pg_fail(p, res, "commit");
    } else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
        /* COMMIT of an aborted transaction answers ROLLBACK */
        pg_set_err(p, "commit", "the transaction was aborted and rolled back");
        rc = BNC_ESTORE;
    }
    PQclear(res);
    return rc;
}

static bnc_status
pg_rollback(struct store *st)
{
    struct pg_store *p = (struct pg_store *)(void *)st;

    p->in_txn = 0;
    if (PQstatus(p->conn) != CONNECTION_OK) {
        return BNC_OK; /* the server dropped the transaction with the connection */
    }
    return pg_command(p, PG_ROLLBACK, "rollback");
}

static bnc_status
pg_exec_script(struct store *st, const char *sql)
{
    return pg_command((struct pg_store *)(void *)st, sql, "script");
}

static bnc_status
pg_migrate_lock(struct store *st, bool lock)
{
    struct pg_store *p = (struct pg_store *)(void *)st;
    bnc_status rc;

    if (lock && (rc = pg_ensure(p)) != BNC_OK) {
        return rc;
    }
    return pg_command(p, lock ? PG_MIGRATE_LOCK : PG_MIGRATE_UNLOCK, "advisory lock");
}

static const struct bnc_embedded *
pg_migrations(const struct store *st)
{
    (void)st;
    return bnc_pg_migrations;
}

static const char *
pg_errmsg(const struct store *st)
{
    return ((const struct pg_store *)(const void *)st)->err;
}

static void
pg_close(struct store *st)
{
    struct pg_store *p = (struct pg_store *)(void *)st;
    int i;

    store_cache_free(&p->cache, pg_stmt_free, NULL);
    PQfinish(p->conn);
    for (i = 0; i < STORE_NEST_MAX; i++) {
        free(p->rows[i].cols);
        free(p->rows[i].names);
        free(p->rows[i].types);
    }
    free(p->vals);
    free(p->ptypes);
    free(p->scratch);
    free(p);
}

static bnc_status
pg_open(const char *url, const struct bnc_config *cfg, struct store **out, char *err, size_t errlen)
{
    /* Defaults first: settings in the URL (expanded from dbname) override them. */
    static const char *const keys[] = {"connect_timeout", "application_name", "client_encoding",
                                       "options",         "dbname",           NULL};
    char options[64];
    const char *vals[] = {"10", "bounced", "UTF8", options, url, NULL};
    struct pg_store *p;
    size_t n;

    /* store.busy_timeout_ms bounds lock waits as on SQLite: past it, 55P03 -> BNC_EBUSY */
    snprintf(options, sizeof(options), "-c lock_timeout=%lld",
             cfg != NULL ? (long long)cfg->store_busy_timeout : 5000LL);
    *out = NULL;
    p = xcalloc(1, sizeof(*p));
    p->base.be = &store_pg_backend;
    p->conn = PQconnectdbParams(keys, vals, 1);
    if (p->conn == NULL || PQstatus(p->conn) != CONNECTION_OK) {
        snprintf(err, errlen, "postgresql: cannot connect: %s",
                 p->conn != NULL ? PQerrorMessage(p->conn) : "out of memory");
        n = strlen(err);
        while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' ')) {
            err[--n] = '\0';
        }
        pg_close((struct store *)(void *)p);
        return BNC_ESTORE;
    }
    PQsetNoticeProcessor(p->conn, pg_notice, NULL);
    *out = (struct store *)(void *)p;
    return BNC_OK;
}

const struct store_backend store_pg_backend = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .exec = pg_exec,
    .errmsg = pg_errmsg,
    .exec_script = pg_exec_script,
    .migrations = pg_migrations,
    .migrate_lock = pg_migrate_lock,
    .begin_read = pg_begin_read,
};
