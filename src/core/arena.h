/*
 * arena.h - chunked bump allocator with a hard byte cap.
 *
 * One arena per parsed message or per HTTP request; everything allocated from it is freed by
 * one arena_free(). When an allocation would take the arena past its cap, arena_alloc()
 * returns NULL and the caller reports BNC_ELIMIT: input can never grow memory without bound.
 * Ownership: the arena owns every block it hands out; nothing is freed individually.
 * Not thread-safe: one arena belongs to one thread at a time.
 */
#ifndef BNC_CORE_ARENA_H
#define BNC_CORE_ARENA_H

#include <stddef.h>

struct arena;

struct arena *arena_new(size_t cap); /* cap: total bytes it may hand out; 0 = no cap */
void arena_free(struct arena *a);    /* NULL-safe */
void *arena_alloc(struct arena *a, size_t n);  /* 16-aligned; NULL past the cap */
void *arena_calloc(struct arena *a, size_t n); /* zeroed; NULL past the cap */
char *arena_strndup(struct arena *a, const char *s, size_t n); /* NUL-terminated copy */
char *arena_strdup(struct arena *a, const char *s);
size_t arena_used(const struct arena *a); /* bytes handed out so far */

#endif
