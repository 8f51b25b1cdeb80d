/*
 * embedded.h - data files compiled into the binary by cmake/embed.cmake: the built-in
 * rules, the store migrations and the dashboard's web assets. Read-only, static storage.
 */
#ifndef BNC_CORE_EMBEDDED_H
#define BNC_CORE_EMBEDDED_H

#include <stddef.h>

struct bnc_embedded {
    const char *name; /* file name, no directory */
    const unsigned char *data; /* NUL-terminated for convenience; len excludes the NUL */
    size_t len;
};

extern const unsigned char bnc_default_rules[];
extern const size_t bnc_default_rules_len;
extern const struct bnc_embedded bnc_pg_migrations[];     /* sorted by name, {NULL} ends */
extern const struct bnc_embedded bnc_sqlite_migrations[]; /* sorted by name, {NULL} ends */
extern const struct bnc_embedded bnc_web_assets[];        /* sorted by name, {NULL} ends */

#endif
