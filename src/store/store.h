/*
 * store.h - the storage seam: a small backend vtable (SQLite, PostgreSQL, a fault-injecting
 * test backend) and the portable SQL conventions every query of bounced follows.
 *
 * Backends offer primitives only: open, transactions, and exec of one parameterised
 * statement with a row callback. Domain queries (contacts, events, suppressions, ...) are
 * written once, over store_exec(), in portable SQL that both SQLite (>= 3.35) and
 * PostgreSQL accept:
 *   - parameters are $1, $2, ... (SQLite binds them by name, PostgreSQL natively);
 *   - times are integers, Unix seconds (BIGINT); booleans are integers 0/1; JSON is TEXT;
 *   - INSERT ... ON CONFLICT ... DO NOTHING/UPDATE and RETURNING are used freely;
 *   - no backend-specific functions in shared queries (only in migrations).
 * Each backend prepares every distinct SQL text once per connection and caches the
 * statement keyed by the SQL pointer, so queries are passed as static strings.
 *
 * Portability rules the backends enforce alike, so a query that works on SQLite works on
 * PostgreSQL: the SQL uses exactly $1..$N for nparams = N; SV_TEXT parameters must be valid
 * UTF-8 without NUL bytes (PostgreSQL text cannot hold them; BNC_EINVAL otherwise); and any
 * failed call inside a transaction dooms it (PostgreSQL aborts it): every later call fails
 * with the same status until the caller rolls back. Use ON CONFLICT instead of catching
 * BNC_ECONFLICT inside a transaction.
 * Integer parameters are bigint on PostgreSQL: where a function wants an int4, write
 * CAST($1 AS INTEGER) (portable; "::" casts are not).
 * Results: integer columns (and PostgreSQL booleans, integral numerics) come back as SV_INT,
 * NULL as SV_NULL, everything else as NUL-terminated SV_TEXT.
 * Status mapping: unique violation -> BNC_ECONFLICT; lock timeout, serialization failure,
 * deadlock -> BNC_EBUSY (retry the transaction); anything else -> BNC_ESTORE (detail in
 * store_errmsg()).
 * Internals and how to add a query or a migration: docs/internals/store.md.
 *
 * Ownership and threads: a struct store is one connection, used by one thread at a time;
 * open one per worker thread. Values passed to a row callback are borrowed for the duration
 * of the callback only.
 */
#ifndef BNC_STORE_STORE_H
#define BNC_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounced.h"

struct bnc_config;
struct bnc_embedded;
struct store;

enum store_vtype { SV_NULL = 0, SV_INT, SV_TEXT };

struct store_value {
    enum store_vtype type;
    int64_t i;     /* SV_INT */
    const char *s; /* SV_TEXT: not necessarily NUL-terminated */
    size_t len;    /* SV_TEXT */
};

static inline struct store_value
sv_int(int64_t i)
{
    struct store_value v = {SV_INT, i, NULL, 0};
    return v;
}

static inline struct store_value
sv_null(void)
{
    struct store_value v = {SV_NULL, 0, NULL, 0};
    return v;
}

struct store_value sv_text(const char *s); /* NULL gives SV_NULL */
struct store_value sv_textn(const char *s, size_t len);
/* Readers of a result value: the integer (0 unless SV_INT); the text copied into dst of
 * dstlen > 0 bytes, cut at dstlen - 1, NUL-terminated ("" unless SV_TEXT); the text as a
 * heap string the caller frees ("" unless SV_TEXT). */
int64_t sv_as_int(const struct store_value *v);
void sv_copy(char *dst, size_t dstlen, const struct store_value *v);
char *sv_dup(const struct store_value *v);

struct store_row {
    size_t ncols;
    const struct store_value *cols; /* text values are NUL-terminated here */
    const char *const *names;
};

/* Called once per result row; return non-zero to stop early (not an error). A callback may
 * run further statements on the same store (four levels deep, the same SQL too). */
typedef int (*store_row_cb)(void *ud, const struct store_row *row);

struct store_backend {
    const char *name; /* "sqlite", "postgresql", "fault" */
    bnc_status (*open)(const char *url, const struct bnc_config *cfg, struct store **out, char *err,
                       size_t errlen);
    void (*close)(struct store *st);
    bnc_status (*begin)(struct store *st);
    bnc_status (*commit)(struct store *st);
    bnc_status (*rollback)(struct store *st);
    bnc_status (*exec)(struct store *st, const char *sql, const struct store_value *params,
                       size_t nparams, store_row_cb cb, void *ud, int64_t *changes_out);
    const char *(*errmsg)(const struct store *st);
    /* Run a multi-statement script (a migration) inside the current transaction. */
    bnc_status (*exec_script)(struct store *st, const char *sql);
    /* Migration files of this backend (sorted, {NULL}-terminated). */
    const struct bnc_embedded *(*migrations)(const struct store *st);
    /* Optional (NULL: none): serialise migration runs across processes (lock=true/false). */
    bnc_status (*migrate_lock)(struct store *st, bool lock);
    /* Optional (NULL: begin): a read-only transaction; writes inside it fail. */
    bnc_status (*begin_read)(struct store *st);
};

/* Every backend's struct store begins with this header (zeroed at open). store.c alone
 * touches the transaction fields. */
struct store_base {
    const struct store_backend *be;
    int txn_depth;
    bnc_status txn_err; /* first failure inside the open transaction, BNC_OK if none */
    bool txn_dead;      /* the backend transaction was already rolled back */
    bool txn_read;      /* the open transaction is read-only (store_begin_read) */
    uint64_t prepares;  /* statements prepared on this connection (backends count) */
};

/*
 * Open the store named by url: a path for SQLite (also "sqlite:PATH"; ":memory:" works),
 * "postgresql://..." or "postgres://..." for PostgreSQL. Runs pending migrations. Caller
 * closes with store_close(). err gets detail. The SQLite file is created when missing; its
 * directory is not.
 */
bnc_status store_open(const char *url, const struct bnc_config *cfg, struct store **out, char *err,
                      size_t errlen);
#define STORE_OPEN_NO_MIGRATE 0x1u /* store_open_ex: leave pending migrations alone */
bnc_status store_open_ex(const char *url, const struct bnc_config *cfg, unsigned flags,
                         struct store **out, /* OUT */
                         char *err, size_t errlen);
void store_close(struct store *st); /* NULL-safe */
const char *store_backend_name(const struct store *st);
const char *store_errmsg(const struct store *st);
/* Statements prepared so far on this connection: a cached query does not add to it. */
uint64_t store_prepare_count(const struct store *st);

/* Transactions nest by counting: only the outermost begin/commit reach the backend, and a
 * rollback at any depth rolls the whole transaction back. */
bnc_status store_begin(struct store *st);
/* A read-only transaction: one consistent snapshot for a batch of reads, and far cheaper
 * reads on SQLite (no file locking per statement: use it for bulk lookups). Ends with
 * store_commit() or store_rollback(). Writes inside it fail (BNC_EINVAL on SQLite, BNC_ESTORE
 * on PostgreSQL), and so does store_begin() nested in it; nested store_begin_read() and
 * store_begin_read() inside a write transaction just count. */
bnc_status store_begin_read(struct store *st);
bnc_status store_commit(struct store *st);
bnc_status store_rollback(struct store *st);

bnc_status store_exec(struct store *st, const char *sql, const struct store_value *params,
                      size_t nparams, store_row_cb cb, void *ud, int64_t *changes_out);

/* Can this connection write? A write statement that changes nothing (schema_migrations)
 * inside a transaction that is rolled back: BNC_OK, or the status a real write would get
 * (BNC_EBUSY locked, BNC_ESTORE read-only, unreachable, ...), detail in store_errmsg(). The
 * daemon's startup check and its outage probe. Not inside a transaction. */
bnc_status store_check_writable(struct store *st);

/* Convenience: the first column of the first row as an integer; BNC_ENOTFOUND if no row. */
bnc_status store_query_int(struct store *st, const char *sql, const struct store_value *params,
                           size_t nparams, int64_t *out);

/* Apply the numbered migrations of the backend; idempotent. Each file runs in its own
 * transaction; *applied_out (may be NULL) gets how many ran. Not inside a transaction. */
bnc_status store_migrate(struct store *st, char *err, size_t errlen);
bnc_status store_migrate_n(struct store *st, int *applied_out, char *err, size_t errlen);

/* One migration for store_migrate_status(): version is the file name without ".sql". */
struct store_migration_info {
    const char *version;
    bool applied;
    bool known;         /* false: applied in the database but not part of this build */
    int64_t applied_at; /* Unix seconds, 0 when pending */
};
typedef void (*store_migration_cb)(void *ud, const struct store_migration_info *m);
/* Every migration of this build and every applied one, in version order. */
bnc_status store_migrate_status(struct store *st, store_migration_cb cb, void *ud, char *err,
                                size_t errlen);

#endif
