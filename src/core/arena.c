/*
 * arena.c - chunked bump allocator with a hard byte cap.
 *
 * Chunks grow geometrically from 8 KiB up to 1 MiB; a request larger than a chunk gets a
 * chunk of its own. The cap counts bytes handed out (not chunk overhead), so the same input
 * always hits the limit at the same place.
 * LIMITS: arena_new(cap); requests past the cap fail with NULL.
 */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define ARENA_ALIGN     16
#define ARENA_MIN_CHUNK (8u * 1024u)
#define ARENA_MAX_CHUNK (1024u * 1024u)

struct arena_chunk {
    struct arena_chunk *next;
    size_t size; /* usable bytes in data[] */
    size_t used;
    _Alignas(16) unsigned char data[];
};

struct arena {
    struct arena_chunk *head;
    size_t cap;
    size_t handed; /* bytes handed out */
    size_t next_chunk;
};

struct arena *
arena_new(size_t cap)
{
    struct arena *a = xcalloc(1, sizeof(*a));
    a->cap = cap;
    a->next_chunk = ARENA_MIN_CHUNK;
    return a;
}

void
arena_free(struct arena *a)
{
    struct arena_chunk *c, *n;

    if (a == NULL) {
        return;
    }
    for (c = a->head; c != NULL; c = n) {
        n = c->next;
        free(c);
    }
    free(a);
}

void *
arena_alloc(struct arena *a, size_t n)
{
    struct arena_chunk *c;
    size_t need, csize;
    void *p;

    if (n == 0) {
        n = 1;
    }
    if (n > SIZE_MAX - ARENA_ALIGN) {
        return NULL;
    }
    need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (a->cap != 0 && (a->handed > a->cap || need > a->cap - a->handed)) {
        return NULL;
    }
    c = a->head;
    if (c == NULL || c->size - c->used < need) {
        csize = a->next_chunk;
        if (csize < need) {
            csize = need;
        }
        c = xmalloc(sizeof(*c) + csize);
        c->size = csize;
        c->used = 0;
        c->next = a->head;
        a->head = c;
        if (a->next_chunk < ARENA_MAX_CHUNK) {
            a->next_chunk *= 2;
        }
    }
    p = c->data + c->used;
    c->used += need;
    a->handed += need;
    return p;
}

void *
arena_calloc(struct arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    if (p != NULL) {
        memset(p, 0, n);
    }
    return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p;

    if (n == SIZE_MAX) {
        return NULL;
    }
    p = arena_alloc(a, n + 1);
    if (p == NULL) {
        return NULL;
    }
    if (n) {
        memcpy(p, s, n);
    }
    p[n] = '\0';
    return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

size_t
arena_used(const struct arena *a)
{
    return a->handed;
}
