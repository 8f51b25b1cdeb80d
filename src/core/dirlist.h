/*
 * dirlist.h - the names in one directory, filtered and sorted: the one directory walk that
 * the CLI's recursive commands, the rules loader, the spool and the benchmarks share.
 * Ownership: the caller frees the list with dir_names_free().
 */
#ifndef BNC_CORE_DIRLIST_H
#define BNC_CORE_DIRLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "bounced.h"

/* Keep a directory entry? NULL keeps every name that does not start with '.'. */
typedef bool (*dir_keep_fn)(const char *name, void *ud);

/* The names of path's entries that keep() accepts, sorted by strcmp. BNC_OK with
 * *names_out (NULL when there are none) and *n_out; BNC_EIO when the directory cannot be
 * opened, with errno as opendir() left it. */
bnc_status dir_names(const char *path, dir_keep_fn keep, void *ud, char ***names_out,
                     size_t *n_out);
void dir_names_free(char **names, size_t n);

#endif
