/*
 * hsdb.h - Vectorscan compiles through the cache of compiled databases (rules.cache_dir,
 * core/load.c), shared by the classification rules (classify/rules_db.c) and the phrase
 * tables of the format recognizers (formats/scan.c).
 * Ownership: a database handed back belongs to the caller (hs_free_database()).
 */
#ifndef BNC_PARSE_HSDB_H
#define BNC_PARSE_HSDB_H

#include <stdbool.h>
#include <stddef.h>

#include <hs/hs.h>

struct bnc_config;
struct buf;

/* The cache directory cfg names (rules.cache_dir, as core/load.c's load_cache_dir() finds
 * it), or false when the cache is off or has no usable place. */
bool hsdb_cache_dir(const struct bnc_config *cfg, char *out, size_t cap);

/* Append byte c to a Vectorscan expression so that it stands for itself: ASCII other than
 * letters and digits escaped as \xHH, every other byte as it is. How the phrase tables and
 * the phrase rules turn text into literals. */
void hsdb_literal_byte(struct buf *b, unsigned char c);

/* hs_compile_multi() in block mode, through the cache in dir (NULL or "": no cache): the
 * database compiled from the same expressions, flags and ids by the same Vectorscan is
 * loaded when the cache has it, else compiled and stored. Same result and errors as
 * hs_compile_multi(). */
hs_error_t hsdb_compile_multi(const char *dir, const char *const *exprs, const unsigned *flags,
                              const unsigned *ids, unsigned n, hs_database_t **db,
                              hs_compile_error_t **ce);

#endif
