/*
 * arena.c - chunked bump allocator with a hard byte cap.
 *
 * Chunks grow geometrically from 8 KiB up to 1 MiB; a request larger than a chunk gets a
 * chunk of its own. The cap counts bytes handed out (not chunk overhead), so the same input
 * always hits the limit at the same place.
 * A thread keeps the arena header and a few chunks of the common sizes (8 KiB to 64 KiB) that
 * an arena_free() gave back, and the next arena of that thread takes them again: a parse
 * then calls malloc() for none of them. (Not under AddressSanitizer, so that a use after
 * arena_free() is still reported.)
 * LIMITS: arena_new(cap); requests past the cap fail with NULL. The per-thread cache holds
 * at most ARENA_CACHE_PER_CLASS chunks of each size class and one header, about 240 KiB.
 */
#include "arena.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define ARENA_ALIGN     16
#define ARENA_MIN_CHUNK (8u * 1024u)
#define ARENA_MAX_CHUNK (1024u * 1024u)

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_NO_CACHE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_NO_CACHE 1
#endif
#endif
/* chunks of ARENA_MIN_CHUNK << k (k < ARENA_CACHE_CLASSES) are kept for reuse */
#define ARENA_CACHE_CLASSES   4
#define ARENA_CACHE_PER_CLASS 2

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

#ifndef ARENA_NO_CACHE
/* This thread's spare header and chunks (each class a list through next, at most
 * ARENA_CACHE_PER_CLASS long); freed when the thread exits. */
struct arena_cache {
    struct arena *spare;
    struct arena_chunk *chunks[ARENA_CACHE_CLASSES];
    unsigned count[ARENA_CACHE_CLASSES];
};

static _Thread_local struct arena_cache arena_tls;
static _Thread_local int arena_tls_keyed;
static pthread_key_t arena_tls_key;
static pthread_once_t arena_tls_once = PTHREAD_ONCE_INIT;

static void
arena_cache_drain(void *p)
{
    struct arena_cache *ac = p;
    size_t k;

    free(ac->spare);
    ac->spare = NULL;
    for (k = 0; k < ARENA_CACHE_CLASSES; k++) {
        while (ac->chunks[k] != NULL) {
            struct arena_chunk *c = ac->chunks[k];
            ac->chunks[k] = c->next;
            free(c);
        }
        ac->count[k] = 0;
    }
}

static void
arena_tls_init(void)
{
    (void)pthread_key_create(&arena_tls_key, arena_cache_drain);
}

/* The size class of a chunk of csize usable bytes, or -1 when chunks of that size are not
 * kept. */
static int
arena_class(size_t csize)
{
    int k;
    for (k = 0; k < ARENA_CACHE_CLASSES; k++) {
        if (csize == (size_t)ARENA_MIN_CHUNK << k) {
            return k;
        }
    }
    return -1;
}
#endif

struct arena *
arena_new(size_t cap)
{
    struct arena *a;

#ifndef ARENA_NO_CACHE
    if (arena_tls.spare != NULL) {
        a = arena_tls.spare;
        arena_tls.spare = NULL;
        memset(a, 0, sizeof(*a));
    } else
#endif
    {
        a = xcalloc(1, sizeof(*a));
    }
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
#ifndef ARENA_NO_CACHE
    if (!arena_tls_keyed) {
        /* (registered once per thread, so that its exit frees what it kept) */
        (void)pthread_once(&arena_tls_once, arena_tls_init);
        (void)pthread_setspecific(arena_tls_key, &arena_tls);
        arena_tls_keyed = 1;
    }
    for (c = a->head; c != NULL; c = n) {
        int k = arena_class(c->size);
        n = c->next;
        if (k >= 0 && arena_tls.count[k] < ARENA_CACHE_PER_CLASS) {
            c->next = arena_tls.chunks[k];
            arena_tls.chunks[k] = c;
            arena_tls.count[k]++;
        } else {
            free(c);
        }
    }
    if (arena_tls.spare == NULL) {
        arena_tls.spare = a;
    } else {
        free(a);
    }
#else
    for (c = a->head; c != NULL; c = n) {
        n = c->next;
        free(c);
    }
    free(a);
#endif
}

/* A chunk of csize usable bytes: a kept one of that size, else a new one. */
static struct arena_chunk *
arena_chunk_new(size_t csize)
{
    struct arena_chunk *c;
#ifndef ARENA_NO_CACHE
    int k = arena_class(csize);
    if (k >= 0 && arena_tls.chunks[k] != NULL) {
        c = arena_tls.chunks[k];
        arena_tls.chunks[k] = c->next;
        arena_tls.count[k]--;
        return c;
    }
#endif
    c = xmalloc(sizeof(*c) + csize);
    c->size = csize;
    return c;
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
        c = arena_chunk_new(csize);
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
