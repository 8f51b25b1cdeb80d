/*
 * hsdb.c - compile a Vectorscan database through the cache of compiled databases.
 *
 * The cache key is everything the compile reads: the Vectorscan version, and each
 * expression with its id and flags. core/load.c keeps the serialized database under that
 * key (and does the file I/O: this file does none, as nothing in parse/ does); a cached
 * database that Vectorscan does not accept is a miss and is compiled again.
 * Doesn't: choose the expressions (the callers do) or decide when a cache is used.
 * STANDARDS: none.
 * LIMITS: those of core/load.c (the size of a kept database).
 */
#include "parse/hsdb.h"

#include <stdlib.h>

#include "core/buf.h"
#include "core/load.h"

bool
hsdb_cache_dir(const struct bnc_config *cfg, char *out, size_t cap)
{
    return load_cache_dir(cfg, out, cap);
}

void
hsdb_literal_byte(struct buf *b, unsigned char c)
{
    if (c < 0x80 &&
        !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
        buf_printf(b, "\\x%02x", c);
    } else {
        buf_addc(b, (char)c);
    }
}

/* The key of a compile: everything it reads. */
static void
hsdb_key(struct buf *key, const char *const *exprs, const unsigned *flags, const unsigned *ids,
         unsigned n)
{
    unsigned i;

    buf_init(key, 0);
    buf_printf(key, "%s\nmulti\n%u\n", hs_version(), n);
    for (i = 0; i < n; i++) {
        buf_printf(key, "%u %u ", ids ? ids[i] : 0, flags ? flags[i] : 0);
        buf_adds(key, exprs[i]);
        buf_addc(key, '\0');
    }
}

hs_error_t
hsdb_compile_multi(const char *dir, const char *const *exprs, const unsigned *flags,
                   const unsigned *ids, unsigned n, hs_database_t **db, hs_compile_error_t **ce)
{
    struct buf key;
    char *bytes;
    size_t blen = 0;
    hs_error_t he;

    *db = NULL;
    *ce = NULL;
    if (dir == NULL || dir[0] == '\0' || n == 0) {
        return hs_compile_multi(exprs, flags, ids, n, HS_MODE_BLOCK, NULL, db, ce);
    }
    hsdb_key(&key, exprs, flags, ids, n);
    if ((bytes = load_cache_get(dir, key.p, key.len, &blen)) != NULL) {
        he = hs_deserialize_database(bytes, blen, db);
        free(bytes);
        if (he == HS_SUCCESS) {
            buf_free(&key);
            return HS_SUCCESS;
        }
        *db = NULL;
    }
    he = hs_compile_multi(exprs, flags, ids, n, HS_MODE_BLOCK, NULL, db, ce);
    if (he == HS_SUCCESS && hs_serialize_database(*db, &bytes, &blen) == HS_SUCCESS) {
        load_cache_put(dir, key.p, key.len, bytes, blen);
        free(bytes);
    }
    buf_free(&key);
    return he;
}
