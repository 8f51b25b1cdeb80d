/*
 * fault.c - the fault-injecting test backend: wraps a real store (SQLite or PostgreSQL) and
 * makes the Nth exec call, or the next commit, fail with a chosen status.
 *
 * Every other call is passed to the inner backend's vtable directly, so the transaction
 * depth counting of store.c happens once, on the wrapper. It is not a mock: data really
 * goes to the inner store, so tests can check afterwards that a rollback left nothing.
 *
 * STANDARDS: none. LIMITS: none (test code path; counters are long).
 * Ownership: the wrapper owns the inner store; closing the wrapper closes both.
 */
#include "store/fault.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/xmalloc.h"
#include "store/store_int.h"

static const struct store_backend fault_backend;

struct fault_store {
    struct store_base base;
    struct store *inner;
    const struct store_backend *ibe;
    long count;
    long fail_at;
    bnc_status fail_rc;
    bnc_status commit_rc;
    int injected; /* the last failure came from here: errmsg is ours */
    char err[128];
};

static struct fault_store *
fault_of(struct store *st)
{
    return (struct fault_store *)(void *)st;
}

bnc_status
store_fault_wrap(struct store *inner, struct store **out)
{
    struct fault_store *f;

    *out = NULL;
    if (inner == NULL) {
        return BNC_EINVAL;
    }
    f = xcalloc(1, sizeof(*f));
    f->base.be = &fault_backend;
    f->inner = inner;
    f->ibe = ((const struct store_base *)(const void *)inner)->be;
    f->fail_rc = BNC_EIO;
    f->commit_rc = BNC_OK;
    *out = (struct store *)(void *)f;
    return BNC_OK;
}

void
store_fault_fail_at(struct store *st, long nth_exec, bnc_status rc)
{
    struct fault_store *f = fault_of(st);
    f->count = 0;
    f->fail_at = nth_exec > 0 ? nth_exec : 0;
    f->fail_rc = rc;
}

void
store_fault_fail_commit(struct store *st, bnc_status rc)
{
    fault_of(st)->commit_rc = rc;
}

long
store_fault_exec_count(const struct store *st)
{
    return ((const struct fault_store *)(const void *)st)->count;
}

struct store *
store_fault_inner(struct store *st)
{
    return fault_of(st)->inner;
}

static bnc_status
fault_open(const char *url, const struct bnc_config *cfg, struct store **out, char *err,
           size_t errlen)
{
    (void)url;
    (void)cfg;
    *out = NULL;
    snprintf(err, errlen, "fault: not opened by URL; use store_fault_wrap()");
    return BNC_EINVAL;
}

static void
fault_close(struct store *st)
{
    struct fault_store *f = fault_of(st);
    f->ibe->close(f->inner);
    free(f);
}

static bnc_status
fault_begin(struct store *st)
{
    struct fault_store *f = fault_of(st);
    f->injected = 0;
    return f->ibe->begin(f->inner);
}

static bnc_status
fault_begin_read(struct store *st)
{
    struct fault_store *f = fault_of(st);
    f->injected = 0;
    return f->ibe->begin_read != NULL ? f->ibe->begin_read(f->inner) : f->ibe->begin(f->inner);
}

static bnc_status
fault_commit(struct store *st)
{
    struct fault_store *f = fault_of(st);
    bnc_status rc;

    if (f->commit_rc != BNC_OK) {
        rc = f->commit_rc;
        f->commit_rc = BNC_OK;
        (void)f->ibe->rollback(f->inner);
        snprintf(f->err, sizeof(f->err), "fault: injected commit failure (%s)", bnc_strerror(rc));
        f->injected = 1;
        return rc;
    }
    f->injected = 0;
    return f->ibe->commit(f->inner);
}

static bnc_status
fault_rollback(struct store *st)
{
    struct fault_store *f = fault_of(st);
    return f->ibe->rollback(f->inner);
}

static bnc_status
fault_exec(struct store *st, const char *sql, const struct store_value *params, size_t nparams,
           store_row_cb cb, void *ud, int64_t *changes_out)
{
    struct fault_store *f = fault_of(st);

    f->count++;
    if (f->fail_at > 0 && f->count == f->fail_at) {
        snprintf(f->err, sizeof(f->err), "fault: injected failure at exec #%ld (%s)", f->count,
                 bnc_strerror(f->fail_rc));
        f->injected = 1;
        return f->fail_rc;
    }
    f->injected = 0;
    return f->ibe->exec(f->inner, sql, params, nparams, cb, ud, changes_out);
}

static const char *
fault_errmsg(const struct store *st)
{
    const struct fault_store *f = (const struct fault_store *)(const void *)st;
    return f->injected ? f->err : f->ibe->errmsg(f->inner);
}

static bnc_status
fault_exec_script(struct store *st, const char *sql)
{
    struct fault_store *f = fault_of(st);
    f->injected = 0;
    return f->ibe->exec_script(f->inner, sql);
}

static const struct bnc_embedded *
fault_migrations(const struct store *st)
{
    const struct fault_store *f = (const struct fault_store *)(const void *)st;
    return f->ibe->migrations(f->inner);
}

static bnc_status
fault_migrate_lock(struct store *st, bool lock)
{
    struct fault_store *f = fault_of(st);
    return f->ibe->migrate_lock != NULL ? f->ibe->migrate_lock(f->inner, lock) : BNC_OK;
}

static const struct store_backend fault_backend = {
    .name = "fault",
    .open = fault_open,
    .close = fault_close,
    .begin = fault_begin,
    .commit = fault_commit,
    .rollback = fault_rollback,
    .exec = fault_exec,
    .errmsg = fault_errmsg,
    .exec_script = fault_exec_script,
    .migrations = fault_migrations,
    .migrate_lock = fault_migrate_lock,
    .begin_read = fault_begin_read,
};
