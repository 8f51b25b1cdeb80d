/*
 * hsdb.h - the cache of compiled Vectorscan databases (rules.cache_dir), shared by the
 * classification rules (classify/rules.c) and the phrase tables of the format recognizers
 * (formats/scan.c). See hsdb.c for the file format and the safety rules.
 * Ownership: a loaded database belongs to the caller (hs_free_database()).
 */
#ifndef BNC_PARSE_HSDB_H
#define BNC_PARSE_HSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hs/hs.h>

struct bnc_config;

/* The cache directory of cfg, or false when the cache is off or has no usable place. */
bool hsdb_cache_dir(const struct bnc_config *cfg, char *out, size_t cap);

/* FNV-1a of p[0..n): names a cache file after the input it was compiled from. */
uint64_t hsdb_hash(const char *p, size_t n);

/* The database in the file at path when that file was written for exactly in[0..inlen)
 * (compared byte for byte) and is ours; NULL otherwise. */
hs_database_t *hsdb_cache_load(const char *path, const char *in, size_t inlen);

/* Write db, compiled from in[0..inlen), to dir/name (path is the two joined), through a
 * temporary file and a rename; then remove old files of other inputs. Failures are silent
 * (the next start compiles again). */
void hsdb_cache_store(const char *dir, const char *path, const char *name, const char *in,
                      size_t inlen, const hs_database_t *db);

/* hs_compile_multi() in block mode, through the cache in dir (NULL or "": no cache): the
 * database compiled from the same expressions, flags and ids is loaded when the cache has
 * it, else compiled and stored. Same result and errors as hs_compile_multi(). */
hs_error_t hsdb_compile_multi(const char *dir, const char *const *exprs, const unsigned *flags,
                              const unsigned *ids, unsigned n, hs_database_t **db,
                              hs_compile_error_t **ce);

#endif
