/*
 * dirlist.c - read a directory's names into a sorted list (dirlist.h).
 * LIMITS: none of its own; the list grows with the directory.
 */
#include "core/dirlist.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

static int
dir_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bnc_status
dir_names(const char *path, dir_keep_fn keep, void *ud, char ***names_out, size_t *n_out)
{
    DIR *d = opendir(path);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;

    *names_out = NULL;
    *n_out = 0;
    if (d == NULL) {
        return BNC_EIO;
    }
    while ((de = readdir(d)) != NULL) {
        if (keep != NULL ? !keep(de->d_name, ud) : de->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n > 1) {
        qsort(names, n, sizeof(*names), dir_cmp);
    }
    *names_out = names;
    *n_out = n;
    return BNC_OK;
}

void
dir_names_free(char **names, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}
