/*
 * store_int.h - shared by the store backends (store.c, sqlite.c, pg.c, fault.c) only; other
 * directories use store.h. Holds the backend tables, the per-connection statement cache and
 * the parameter checks every backend applies alike.
 *
 * The statement cache maps (SQL pointer, parameter-type signature) to a backend handle. The
 * SQL text is copied and compared too, so a caller that reuses one buffer for different SQL
 * gets a miss, never the wrong statement. It is bounded: when STORE_CACHE_MAX entries are in
 * use the backend finalizes them all and starts again. Ownership: the cache owns its entries'
 * text copies; the handles belong to the backend (store_cache_clear hands each one back).
 */
#ifndef BNC_STORE_STORE_INT_H
#define BNC_STORE_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_pg_backend;

#define STORE_NEST_MAX    4   /* row callbacks may run statements this deep */
#define STORE_CACHE_SLOTS 512 /* power of two */
#define STORE_CACHE_MAX   256 /* entries before a flush: keeps probes short */

struct store_cache_ent {
    const char *key; /* the caller's SQL pointer; NULL = empty slot */
    uint64_t sig;    /* backend-defined parameter signature */
    char *text;      /* copy of the SQL */
    void *h;         /* backend statement */
};

struct store_cache {
    struct store_cache_ent *ents; /* STORE_CACHE_SLOTS, allocated on first put */
    size_t n;
};

/* The handle cached for (sql, sig), or NULL. */
void *store_cache_get(const struct store_cache *c, const char *sql, uint64_t sig);
/* Remember h for (sql, sig); the caller has checked store_cache_full() first. */
void store_cache_put(struct store_cache *c, const char *sql, uint64_t sig, void *h);
int store_cache_full(const struct store_cache *c);
/* Drop every entry, passing each handle to fin (may be NULL); the cache stays usable. */
void store_cache_clear(struct store_cache *c, void (*fin)(void *ud, void *h), void *ud);
void store_cache_free(struct store_cache *c, void (*fin)(void *ud, void *h), void *ud);

/*
 * Check the parameters against the portability rules of store.h: text is valid UTF-8 and has
 * no NUL byte. Returns BNC_OK or BNC_EINVAL with detail in err.
 */
bnc_status store_check_params(const struct store_value *params, size_t nparams, char *err,
                              size_t errlen);

/* The largest N of the $N parameters in sql (0 when none); -1 when the SQL uses another
 * parameter style (?, :name, @name) which the portable dialect does not allow. Quoted
 * strings, quoted identifiers and comments are skipped. */
long store_sql_max_param(const char *sql);

/* Steps of migration `version` that SQL cannot do, run in its transaction after its SQL
 * (model_renorm.c). BNC_OK when it has none. */
bnc_status store_migration_code(struct store *st, const char *version);

#endif
