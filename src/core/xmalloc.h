/*
 * xmalloc.h - allocation wrappers that abort on failure.
 *
 * Input-driven growth is capped everywhere (cfg.h limits), so running out of memory is a
 * system condition, not an attack: these log and abort instead of threading ENOMEM through
 * every caller. Ownership: the caller owns what they return and frees it with free().
 */
#ifndef BNC_CORE_XMALLOC_H
#define BNC_CORE_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
