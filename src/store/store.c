/*
 * store.c - the backend-independent half of the store: store_open() dispatch on the URL,
 * nesting transactions, exec wrappers, the statement cache shared by the backends and the
 * migration runner.
 *
 * It does not talk to a database itself: every database call goes through the backend
 * vtable (sqlite.c, pg.c, fault.c). It does not know the schema beyond schema_migrations.
 *
 * Transactions nest by counting. Only the outermost begin/commit reach the backend; a
 * rollback at any depth rolls the backend transaction back at once, and the outer levels
 * then fail (commit returns BNC_ESTORE) until they unwind. A failed exec inside a
 * transaction dooms it the same way, because PostgreSQL aborts the transaction on any
 * error and both backends must behave alike.
 *
 * Migrations: numbered files embedded at build time (core/embedded.h), applied in name
 * order, each in its own transaction together with its row in schema_migrations, re-checked
 * inside the transaction so concurrent first starts apply each file once (PostgreSQL also
 * holds an advisory lock for the whole run).
 *
 * LIMITS: statement cache STORE_CACHE_MAX entries per connection; migration version names up
 * to 127 bytes.
 * Ownership: store_open() returns a store the caller closes with store_close().
 */
#include "store/store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/embedded.h"
#include "core/log.h"
#include "core/utf8.h"
#include "core/xmalloc.h"
#include "store/store_int.h"

#define STORE_VERSION_MAX 128

static const char SQL_MIGRATIONS_TABLE[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, "
    "applied_at BIGINT NOT NULL)";
static const char SQL_MIGRATION_APPLIED[] = "SELECT 1 FROM schema_migrations WHERE version = $1";
static const char SQL_MIGRATION_INSERT[] =
    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)";
static const char SQL_MIGRATION_LIST[] =
    "SELECT version, applied_at FROM schema_migrations ORDER BY version";

static struct store_base *
base_of(struct store *st)
{
    return (struct store_base *)(void *)st;
}

static const struct store_base *
cbase_of(const struct store *st)
{
    return (const struct store_base *)(const void *)st;
}

struct store_value
sv_text(const char *s)
{
    if (s == NULL) {
        return sv_null();
    }
    return sv_textn(s, strlen(s));
}

struct store_value
sv_textn(const char *s, size_t len)
{
    struct store_value v = {SV_TEXT, 0, s, len};
    if (s == NULL) {
        return sv_null();
    }
    return v;
}

int64_t
sv_as_int(const struct store_value *v)
{
    return v->type == SV_INT ? v->i : 0;
}

void
sv_copy(char *dst, size_t dstlen, const struct store_value *v)
{
    size_t n = 0;

    if (v->type == SV_TEXT && v->s != NULL) {
        n = v->len < dstlen - 1 ? v->len : dstlen - 1;
        memcpy(dst, v->s, n);
    }
    dst[n] = '\0';
}

char *
sv_dup(const struct store_value *v)
{
    if (v->type != SV_TEXT || v->s == NULL) {
        return xstrdup("");
    }
    return xstrndup(v->s, v->len);
}

static int
has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

bnc_status
store_open_ex(const char *url, const struct bnc_config *cfg, unsigned flags, struct store **out,
              char *err, size_t errlen)
{
    const struct store_backend *be;
    const char *target = url, *scheme_end;
    struct store *st = NULL;
    char dummy[8];
    bnc_status rc;

    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    *out = NULL;
    if (url == NULL || url[0] == '\0') {
        snprintf(err, errlen, "store: empty store URL (set store.url or --db)");
        return BNC_ECONFIG;
    }
    if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://")) {
        be = &store_pg_backend;
    } else if (has_prefix(url, "sqlite://")) {
        be = &store_sqlite_backend;
        target = url + strlen("sqlite://");
    } else if (has_prefix(url, "sqlite:")) {
        be = &store_sqlite_backend;
        target = url + strlen("sqlite:");
    } else if ((scheme_end = strstr(url, "://")) != NULL) {
        /* the scheme only: the rest may hold a password */
        snprintf(err, errlen,
                 "store: unsupported store URL scheme '%.*s://' (a path for SQLite, or "
                 "postgresql://...)",
                 (int)(scheme_end - url < 32 ? scheme_end - url : 32), url);
        return BNC_ECONFIG;
    } else {
        be = &store_sqlite_backend;
    }
    if ((rc = be->open(target, cfg, &st, err, errlen)) != BNC_OK) {
        return rc;
    }
    if ((flags & STORE_OPEN_NO_MIGRATE) == 0 && (rc = store_migrate(st, err, errlen)) != BNC_OK) {
        store_close(st);
        return rc;
    }
    *out = st;
    return BNC_OK;
}

bnc_status
store_open(const char *url, const struct bnc_config *cfg, struct store **out, char *err,
           size_t errlen)
{
    return store_open_ex(url, cfg, 0, out, err, errlen);
}

void
store_close(struct store *st)
{
    struct store_base *b;

    if (st == NULL) {
        return;
    }
    b = base_of(st);
    if (b->txn_depth > 0 && !b->txn_dead) {
        (void)b->be->rollback(st);
    }
    b->be->close(st);
}

const char *
store_backend_name(const struct store *st)
{
    return cbase_of(st)->be->name;
}

const char *
store_errmsg(const struct store *st)
{
    const char *m;
    if (st == NULL) {
        return "no store";
    }
    m = cbase_of(st)->be->errmsg(st);
    return m != NULL ? m : "";
}

uint64_t
store_prepare_count(const struct store *st)
{
    return cbase_of(st)->prepares;
}

static bnc_status
txn_begin(struct store *st, bool read)
{
    struct store_base *b = base_of(st);
    bnc_status rc;

    if (b->txn_depth > 0) {
        if (b->txn_err != BNC_OK) {
            return b->txn_err;
        }
        if (b->txn_read && !read) {
            return BNC_EINVAL; /* a read-only transaction cannot become a write one */
        }
        b->txn_depth++;
        return BNC_OK;
    }
    if (read && b->be->begin_read != NULL) {
        rc = b->be->begin_read(st);
    } else {
        rc = b->be->begin(st);
    }
    if (rc != BNC_OK) {
        return rc;
    }
    b->txn_depth = 1;
    b->txn_err = BNC_OK;
    b->txn_dead = false;
    b->txn_read = read;
    return BNC_OK;
}

bnc_status
store_begin(struct store *st)
{
    return txn_begin(st, false);
}

bnc_status
store_begin_read(struct store *st)
{
    return txn_begin(st, true);
}

/* End the transaction state after the outermost level is gone. */
static void
txn_reset(struct store_base *b)
{
    b->txn_depth = 0;
    b->txn_err = BNC_OK;
    b->txn_dead = false;
    b->txn_read = false;
}

bnc_status
store_commit(struct store *st)
{
    struct store_base *b = base_of(st);
    bnc_status rc;

    if (b->txn_depth <= 0) {
        return BNC_EINVAL;
    }
    if (b->txn_err != BNC_OK) {
        /* Doomed: roll back (once) and report the original failure at every level. */
        rc = b->txn_err;
        if (!b->txn_dead) {
            (void)b->be->rollback(st);
            b->txn_dead = true;
        }
        if (--b->txn_depth == 0) {
            txn_reset(b);
        }
        return rc;
    }
    if (b->txn_depth > 1) {
        b->txn_depth--;
        return BNC_OK;
    }
    rc = b->be->commit(st);
    if (rc != BNC_OK) {
        /* A failed COMMIT leaves nothing applied; make sure the backend is out of it. */
        (void)b->be->rollback(st);
    }
    txn_reset(b);
    return rc;
}

bnc_status
store_rollback(struct store *st)
{
    struct store_base *b = base_of(st);
    bnc_status rc = BNC_OK;

    if (b->txn_depth <= 0) {
        return BNC_EINVAL;
    }
    if (!b->txn_dead) {
        rc = b->be->rollback(st);
        b->txn_dead = true;
    }
    if (b->txn_err == BNC_OK) {
        b->txn_err = BNC_ESTORE; /* outer levels must not commit half a transaction */
    }
    if (--b->txn_depth == 0) {
        txn_reset(b);
    }
    return rc;
}

bnc_status
store_exec(struct store *st, const char *sql, const struct store_value *params, size_t nparams,
           store_row_cb cb, void *ud, int64_t *changes_out)
{
    struct store_base *b = base_of(st);
    bnc_status rc;

    if (changes_out != NULL) {
        *changes_out = 0;
    }
    if (sql == NULL || (nparams > 0 && params == NULL)) {
        return BNC_EINVAL;
    }
    if (b->txn_depth > 0 && b->txn_err != BNC_OK) {
        return b->txn_err;
    }
    rc = b->be->exec(st, sql, params, nparams, cb, ud, changes_out);
    if (rc != BNC_OK && b->txn_depth > 0) {
        b->txn_err = rc;
    }
    return rc;
}

struct query_int {
    bool found;
    bool bad;
    int64_t v;
};

static int
query_int_cb(void *ud, const struct store_row *row)
{
    struct query_int *q = ud;
    const struct store_value *c;
    char *end;
    long long v;

    if (row->ncols == 0) {
        return 1;
    }
    c = &row->cols[0];
    if (c->type == SV_INT) {
        q->v = c->i;
        q->found = true;
    } else if (c->type == SV_TEXT) {
        v = strtoll(c->s, &end, 10);
        if (end != c->s && *end == '\0') {
            q->v = (int64_t)v;
            q->found = true;
        } else {
            q->bad = true;
        }
    }
    return 1;
}

bnc_status
store_query_int(struct store *st, const char *sql, const struct store_value *params, size_t nparams,
                int64_t *out)
{
    struct query_int q = {false, false, 0};
    bnc_status rc;

    if ((rc = store_exec(st, sql, params, nparams, query_int_cb, &q, NULL)) != BNC_OK) {
        return rc;
    }
    if (q.bad) {
        return BNC_EINVAL;
    }
    if (!q.found) {
        return BNC_ENOTFOUND; /* no row, or NULL */
    }
    *out = q.v;
    return BNC_OK;
}

static const char SQL_WRITE_PROBE[] =
    "UPDATE schema_migrations SET applied_at = applied_at WHERE 1 = 0";

bnc_status
store_check_writable(struct store *st)
{
    bnc_status rc;

    if ((rc = store_begin(st)) != BNC_OK) {
        return rc;
    }
    /* SQLite takes the write lock (and refuses a read-only file) at the first write
     * statement whatever it matches; PostgreSQL refuses it in a read-only transaction. */
    rc = store_exec(st, SQL_WRITE_PROBE, NULL, 0, NULL, NULL, NULL);
    (void)store_rollback(st);
    return rc;
}

/* ---- statement cache ---------------------------------------------------------------- */

static size_t
cache_hash(const char *sql, uint64_t sig)
{
    uint64_t h = (uint64_t)(uintptr_t)sql ^ (sig * 0x9e3779b97f4a7c15ULL);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return (size_t)(h & (STORE_CACHE_SLOTS - 1));
}

void *
store_cache_get(const struct store_cache *c, const char *sql, uint64_t sig)
{
    size_t i, n;

    if (c->ents == NULL) {
        return NULL;
    }
    i = cache_hash(sql, sig);
    for (n = 0; n < STORE_CACHE_SLOTS; n++) {
        const struct store_cache_ent *e = &c->ents[i];
        if (e->key == NULL) {
            return NULL;
        }
        if (e->key == sql && e->sig == sig && strcmp(e->text, sql) == 0) {
            return e->h;
        }
        i = (i + 1) & (STORE_CACHE_SLOTS - 1);
    }
    return NULL;
}

int
store_cache_full(const struct store_cache *c)
{
    return c->n >= STORE_CACHE_MAX;
}

void
store_cache_put(struct store_cache *c, const char *sql, uint64_t sig, void *h)
{
    size_t i;

    if (c->ents == NULL) {
        c->ents = xcalloc(STORE_CACHE_SLOTS, sizeof(*c->ents));
    }
    BNC_ASSERT(c->n < STORE_CACHE_MAX);
    i = cache_hash(sql, sig);
    while (c->ents[i].key != NULL) {
        i = (i + 1) & (STORE_CACHE_SLOTS - 1);
    }
    c->ents[i].key = sql;
    c->ents[i].sig = sig;
    c->ents[i].text = xstrdup(sql);
    c->ents[i].h = h;
    c->n++;
}

void
store_cache_clear(struct store_cache *c, void (*fin)(void *ud, void *h), void *ud)
{
    size_t i;

    if (c->ents == NULL) {
        return;
    }
    for (i = 0; i < STORE_CACHE_SLOTS; i++) {
        struct store_cache_ent *e = &c->ents[i];
        if (e->key != NULL) {
            if (fin != NULL) {
                fin(ud, e->h);
            }
            free(e->text);
            memset(e, 0, sizeof(*e));
        }
    }
    c->n = 0;
}

void
store_cache_free(struct store_cache *c, void (*fin)(void *ud, void *h), void *ud)
{
    store_cache_clear(c, fin, ud);
    free(c->ents);
    c->ents = NULL;
}

/* Length of the leading run of ASCII bytes without NUL, a word at a time: most parameters
 * (addresses, status codes, JSON) are plain ASCII and need no further check. */
static size_t
ascii_prefix(const char *s, size_t len)
{
    const uint64_t high = 0x8080808080808080ULL, ones = 0x0101010101010101ULL;
    size_t i = 0;
    uint64_t w;

    for (; i + 8 <= len; i += 8) {
        memcpy(&w, s + i, 8);
        if (((w | ((w - ones) & ~w)) & high) != 0) {
            break; /* a byte >= 0x80 or a zero byte in this word */
        }
    }
    while (i < len && (unsigned char)s[i] < 0x80 && s[i] != '\0') {
        i++;
    }
    return i;
}

bnc_status
store_check_params(const struct store_value *params, size_t nparams, char *err, size_t errlen)
{
    size_t i, n;

    for (i = 0; i < nparams; i++) {
        const struct store_value *v = &params[i];
        if (v->type == SV_TEXT) {
            if (v->s == NULL && v->len > 0) {
                snprintf(err, errlen, "parameter $%zu: NULL text pointer", i + 1);
                return BNC_EINVAL;
            }
            if (v->len == 0 || (n = ascii_prefix(v->s, v->len)) == v->len) {
                continue;
            }
            if (memchr(v->s + n, '\0', v->len - n) != NULL) {
                snprintf(err, errlen, "parameter $%zu: text contains a NUL byte", i + 1);
                return BNC_EINVAL;
            }
            if (!utf8_valid(v->s + n, v->len - n)) {
                snprintf(err, errlen, "parameter $%zu: text is not valid UTF-8", i + 1);
                return BNC_EINVAL;
            }
        } else if (v->type != SV_INT && v->type != SV_NULL) {
            snprintf(err, errlen, "parameter $%zu: unknown value type", i + 1);
            return BNC_EINVAL;
        }
    }
    return BNC_OK;
}

long
store_sql_max_param(const char *sql)
{
    const char *p = sql;
    long max = 0;

    while (*p != '\0') {
        char c = *p;
        if (c == '\'' || c == '"') {
            /* quoted string or identifier; a doubled quote stays inside */
            p++;
            while (*p != '\0') {
                if (*p == c) {
                    if (p[1] == c) {
                        p += 2;
                        continue;
                    }
                    break;
                }
                p++;
            }
            if (*p != '\0') {
                p++;
            }
        } else if (c == '-' && p[1] == '-') {
            while (*p != '\0' && *p != '\n') {
                p++;
            }
        } else if (c == '/' && p[1] == '*') {
            p += 2;
            while (*p != '\0' && !(p[0] == '*' && p[1] == '/')) {
                p++;
            }
            if (*p != '\0') {
                p += 2;
            }
        } else if (c == '$' && p[1] >= '0' && p[1] <= '9') {
            long n = 0;
            p++;
            while (*p >= '0' && *p <= '9') {
                if (n < 100000) {
                    n = n * 10 + (*p - '0');
                }
                p++;
            }
            if (n > max) {
                max = n;
            }
        } else if (c == ':' && p[1] == ':') {
            p += 2; /* a PostgreSQL cast "::type", not a parameter */
        } else if (c == '?' ||
                   ((c == ':' || c == '@') && ((p[1] >= 'a' && p[1] <= 'z') ||
                                               (p[1] >= 'A' && p[1] <= 'Z') || p[1] == '_'))) {
            return -1;
        } else {
            p++;
        }
    }
    return max;
}

/* ---- migrations --------------------------------------------------------------------- */

static void
version_of(const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    if (n > 4 && strcmp(name + n - 4, ".sql") == 0) {
        n -= 4;
    }
    if (n >= outlen) {
        n = outlen - 1;
    }
    memcpy(out, name, n);
    out[n] = '\0';
}

struct applied_list {
    char (*v)[STORE_VERSION_MAX];
    int64_t *at;
    size_t n, alloc;
};

static int
applied_cb(void *ud, const struct store_row *row)
{
    struct applied_list *l = ud;
    size_t len;

    if (row->ncols < 2 || row->cols[0].type != SV_TEXT) {
        return 0;
    }
    if (l->n == l->alloc) {
        l->alloc = l->alloc ? l->alloc * 2 : 16;
        l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
        l->at = xrealloc(l->at, l->alloc * sizeof(*l->at));
    }
    len = row->cols[0].len < STORE_VERSION_MAX - 1 ? row->cols[0].len : STORE_VERSION_MAX - 1;
    memcpy(l->v[l->n], row->cols[0].s, len);
    l->v[l->n][len] = '\0';
    l->at[l->n] = row->cols[1].type == SV_INT ? row->cols[1].i : 0;
    l->n++;
    return 0;
}

/* Fast path of every open: one read shows that nothing is pending (no locks, no writes). */
static bool
all_applied(struct store *st)
{
    const struct bnc_embedded *m = cbase_of(st)->be->migrations(st);
    struct applied_list l = {NULL, NULL, 0, 0};
    char version[STORE_VERSION_MAX];
    bool all = true;
    size_t i;

    if (store_exec(st, SQL_MIGRATION_LIST, NULL, 0, applied_cb, &l, NULL) != BNC_OK) {
        all = false; /* no schema_migrations yet */
    }
    for (; all && m != NULL && m->name != NULL; m++) {
        version_of(m->name, version, sizeof(version));
        for (i = 0; i < l.n && strcmp(l.v[i], version) != 0; i++) {
        }
        all = i < l.n;
    }
    free(l.v);
    free(l.at);
    return all;
}

static bnc_status
migration_applied(struct store *st, const char *version, bool *applied)
{
    struct store_value p = sv_text(version);
    int64_t one;
    bnc_status rc = store_query_int(st, SQL_MIGRATION_APPLIED, &p, 1, &one);

    *applied = rc == BNC_OK;
    return rc == BNC_ENOTFOUND ? BNC_OK : rc;
}

static bnc_status
migrate_one(struct store *st, const struct bnc_embedded *m, bool *ran, char *err, size_t errlen)
{
    const struct store_backend *be = cbase_of(st)->be;
    char version[STORE_VERSION_MAX];
    struct store_value p[2];
    bool applied;
    bnc_status rc;

    *ran = false;
    version_of(m->name, version, sizeof(version));
    if ((rc = migration_applied(st, version, &applied)) != BNC_OK) {
        snprintf(err, errlen, "store: migration %s: %s", version, store_errmsg(st));
        return rc;
    }
    if (applied) {
        return BNC_OK;
    }
    if ((rc = store_begin(st)) != BNC_OK) {
        snprintf(err, errlen, "store: migration %s: begin: %s", version, store_errmsg(st));
        return rc;
    }
    /* Re-check inside the transaction: another process may have applied it meanwhile. */
    if ((rc = migration_applied(st, version, &applied)) == BNC_OK && !applied) {
        rc = be->exec_script(st, (const char *)m->data);
        if (rc == BNC_OK) {
            rc = store_migration_code(st, version);
        }
        if (rc != BNC_OK) {
            base_of(st)->txn_err = rc;
        } else {
            p[0] = sv_text(version);
            p[1] = sv_int((int64_t)time(NULL));
            rc = store_exec(st, SQL_MIGRATION_INSERT, p, 2, NULL, NULL, NULL);
        }
    }
    if (rc != BNC_OK) {
        snprintf(err, errlen, "store: migration %s failed: %s", version, store_errmsg(st));
        (void)store_rollback(st);
        return rc;
    }
    if ((rc = store_commit(st)) != BNC_OK) {
        snprintf(err, errlen, "store: migration %s: commit: %s", version, store_errmsg(st));
        return rc;
    }
    *ran = !applied;
    return BNC_OK;
}

bnc_status
store_migrate_n(struct store *st, int *applied_out, char *err, size_t errlen)
{
    const struct store_backend *be = cbase_of(st)->be;
    const struct bnc_embedded *m;
    char dummy[8];
    bnc_status rc, rc2;
    int n = 0;
    bool ran;

    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    if (applied_out != NULL) {
        *applied_out = 0;
    }
    if (cbase_of(st)->txn_depth > 0) {
        snprintf(err, errlen, "store: migrations cannot run inside a transaction");
        return BNC_EINVAL;
    }
    if (all_applied(st)) {
        return BNC_OK;
    }
    if (be->migrate_lock != NULL && (rc = be->migrate_lock(st, true)) != BNC_OK) {
        snprintf(err, errlen, "store: migration lock: %s", store_errmsg(st));
        return rc;
    }
    rc = store_exec(st, SQL_MIGRATIONS_TABLE, NULL, 0, NULL, NULL, NULL);
    if (rc != BNC_OK) {
        snprintf(err, errlen, "store: cannot create schema_migrations: %s", store_errmsg(st));
    }
    for (m = be->migrations(st); rc == BNC_OK && m != NULL && m->name != NULL; m++) {
        rc = migrate_one(st, m, &ran, err, errlen);
        if (rc == BNC_OK && ran) {
            n++;
        }
    }
    if (be->migrate_lock != NULL && (rc2 = be->migrate_lock(st, false)) != BNC_OK && rc == BNC_OK) {
        snprintf(err, errlen, "store: migration unlock: %s", store_errmsg(st));
        rc = rc2;
    }
    if (applied_out != NULL) {
        *applied_out = n;
    }
    return rc;
}

bnc_status
store_migrate(struct store *st, char *err, size_t errlen)
{
    return store_migrate_n(st, NULL, err, errlen);
}

bnc_status
store_migrate_status(struct store *st, store_migration_cb cb, void *ud, char *err, size_t errlen)
{
    const struct bnc_embedded *m = cbase_of(st)->be->migrations(st);
    struct applied_list l = {NULL, NULL, 0, 0};
    struct store_migration_info info;
    char version[STORE_VERSION_MAX];
    size_t ai = 0;
    bnc_status rc;

    rc = store_exec(st, SQL_MIGRATIONS_TABLE, NULL, 0, NULL, NULL, NULL);
    if (rc == BNC_OK) {
        rc = store_exec(st, SQL_MIGRATION_LIST, NULL, 0, applied_cb, &l, NULL);
    }
    if (rc != BNC_OK) {
        snprintf(err, errlen, "store: cannot read schema_migrations: %s", store_errmsg(st));
        free(l.v);
        free(l.at);
        return rc;
    }
    /* Merge two sorted lists: this build's files and the applied versions. */
    for (;;) {
        int c;
        bool have_m = m != NULL && m->name != NULL;
        if (have_m) {
            version_of(m->name, version, sizeof(version));
        }
        if (!have_m && ai >= l.n) {
            break;
        }
        c = !have_m ? 1 : ai >= l.n ? -1 : strcmp(version, l.v[ai]);
        memset(&info, 0, sizeof(info));
        if (c < 0) {
            info.version = version;
            info.known = true;
            m++;
        } else if (c > 0) {
            info.version = l.v[ai];
            info.applied = true;
            info.applied_at = l.at[ai];
            ai++;
        } else {
            info.version = version;
            info.known = true;
            info.applied = true;
            info.applied_at = l.at[ai];
            ai++;
            m++;
        }
        cb(ud, &info);
    }
    free(l.v);
    free(l.at);
    return BNC_OK;
}
