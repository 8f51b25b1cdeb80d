/*
 * fault.h - a test-only store backend that wraps another store and fails chosen calls, to
 * prove that a failure in the middle of a transaction leaves nothing half-applied.
 *
 * The wrapper counts exec calls made through it (store_exec, store_query_int; begin, commit
 * and rollback are not counted) and fails the Nth one with the chosen status without running
 * it. Ownership: the wrapper owns the inner store from store_fault_wrap() on; store_close()
 * of the wrapper closes both. One thread at a time, like any store.
 */
#ifndef BNC_STORE_FAULT_H
#define BNC_STORE_FAULT_H

#include "store/store.h"

/* Wrap inner (taken over). Always succeeds for a non-NULL inner. */
bnc_status store_fault_wrap(struct store *inner, struct store **out);
/* Fail the nth exec call from now on (1 = the next one) with rc (BNC_EIO, BNC_EBUSY, ...);
 * nth <= 0 disarms. Resets the counter. */
void store_fault_fail_at(struct store *st, long nth_exec, bnc_status rc);
/* Fail the next commit with rc (the backend transaction is rolled back); BNC_OK disarms. */
void store_fault_fail_commit(struct store *st, bnc_status rc);
/* Exec calls made through the wrapper since the last store_fault_fail_at() (or the wrap):
 * run the work once unarmed to learn N, then fail each of 1..N in turn. */
long store_fault_exec_count(const struct store *st);
/* The wrapped store (borrowed). */
struct store *store_fault_inner(struct store *st);

#endif
