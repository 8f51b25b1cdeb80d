/*
 * ratelimit.c - token buckets in a bounded hash table keyed by the whole key string.
 *
 * Why the whole key: a table indexed by a few bits of the key, with one entry per slot,
 * lets a second key that lands on the same slot replace the first one's bucket with a full
 * one, so anyone holding two tokens (or able to mint junk that collides) resets his own
 * limit at will. Here a slot holds a chain of entries and a key is compared in full.
 *
 * Doesn't: decide what a key is (the caller passes a hash or an address) or what to answer.
 * STANDARDS: none (a token bucket: `burst` units, refilled at `rate` per second).
 * LIMITS: `cap` keys; a full table drops refilled buckets first, then the fullest one, so
 * memory stays fixed whatever a client sends, and flooding the table with fresh keys frees
 * nobody who is being limited. A dropped refilled bucket loses nothing.
 * Ownership: see ratelimit.h.
 */
#include "ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

#define RATE_NONE ((size_t)-1)

struct rate_entry {
    char key[RATE_KEY_MAX + 1];
    size_t next; /* next entry in the slot's chain, or on the free list */
    double bucket;
    int64_t last_ms; /* when the bucket was last refilled */
};

struct rate_table {
    pthread_mutex_t mu;
    double rate, burst;
    size_t cap, nused;
    size_t nslots; /* a power of two */
    size_t *slots; /* chain heads */
    struct rate_entry *e;
    size_t free_head;
};

static size_t
rate_hash(const char *key)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (; *key != '\0'; key++) {
        h ^= (unsigned char)*key;
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

static void
rate_refill(const struct rate_table *t, struct rate_entry *e, int64_t now_ms)
{
    if (now_ms > e->last_ms) {
        e->bucket += (double)(now_ms - e->last_ms) * t->rate / 1000.0;
        if (e->bucket > t->burst) {
            e->bucket = t->burst;
        }
        e->last_ms = now_ms;
    }
}

struct rate_table *
rate_table_new(size_t cap, double rate, double burst)
{
    struct rate_table *t = xcalloc(1, sizeof(*t));
    size_t i;

    pthread_mutex_init(&t->mu, NULL);
    t->cap = cap > 0 ? cap : 1;
    t->rate = rate > 0 ? rate : 1;
    t->burst = burst >= 1 ? burst : 1;
    for (t->nslots = 16; t->nslots < 2 * t->cap; t->nslots *= 2) {
    }
    t->slots = xmalloc(t->nslots * sizeof(*t->slots));
    for (i = 0; i < t->nslots; i++) {
        t->slots[i] = RATE_NONE;
    }
    t->e = xcalloc(t->cap, sizeof(*t->e));
    for (i = 0; i < t->cap; i++) {
        t->e[i].next = i + 1 < t->cap ? i + 1 : RATE_NONE;
    }
    t->free_head = 0;
    return t;
}

void
rate_table_free(struct rate_table *t)
{
    if (t == NULL) {
        return;
    }
    pthread_mutex_destroy(&t->mu);
    free(t->slots);
    free(t->e);
    free(t);
}

/* The entry of key, or RATE_NONE. Lock held. */
static size_t
rate_find(const struct rate_table *t, const char *key)
{
    size_t i = t->slots[rate_hash(key) & (t->nslots - 1)];

    while (i != RATE_NONE && strcmp(t->e[i].key, key) != 0) {
        i = t->e[i].next;
    }
    return i;
}

/* Unlink entry i from its chain and put it on the free list. Lock held. */
static void
rate_drop(struct rate_table *t, size_t i)
{
    size_t *pp = &t->slots[rate_hash(t->e[i].key) & (t->nslots - 1)];

    while (*pp != i) {
        pp = &t->e[*pp].next;
    }
    *pp = t->e[i].next;
    t->e[i].next = t->free_head;
    t->free_head = i;
    t->nused--;
}

/* Make room for one more key: drop every refilled bucket, else the fullest one (it holds the
 * least state; an empty bucket, a client being limited, is the last to go). */
static void
rate_make_room(struct rate_table *t, int64_t now_ms)
{
    size_t i, fullest = RATE_NONE;

    for (i = 0; i < t->cap; i++) {
        struct rate_entry *e = &t->e[i];
        if (e->key[0] == '\0') {
            continue;
        }
        rate_refill(t, e, now_ms);
        if (e->bucket >= t->burst) {
            rate_drop(t, i);
            e->key[0] = '\0';
        } else if (fullest == RATE_NONE || e->bucket > t->e[fullest].bucket) {
            fullest = i;
        }
    }
    if (t->free_head == RATE_NONE && fullest != RATE_NONE) {
        rate_drop(t, fullest);
        t->e[fullest].key[0] = '\0';
    }
}

/* The entry of key, created with a full bucket when absent. Lock held. */
static struct rate_entry *
rate_get(struct rate_table *t, const char *key, int64_t now_ms)
{
    size_t i = rate_find(t, key), slot;
    struct rate_entry *e;

    if (i != RATE_NONE) {
        return &t->e[i];
    }
    if (t->free_head == RATE_NONE) {
        rate_make_room(t, now_ms);
    }
    i = t->free_head;
    e = &t->e[i];
    t->free_head = e->next;
    memcpy(e->key, key, strlen(key) + 1);
    e->bucket = t->burst;
    e->last_ms = now_ms;
    slot = rate_hash(e->key) & (t->nslots - 1);
    e->next = t->slots[slot];
    t->slots[slot] = i;
    t->nused++;
    return e;
}

static void
rate_key(const char *key, char out[RATE_KEY_MAX + 1])
{
    size_t n = strlen(key);

    if (n > RATE_KEY_MAX) {
        n = RATE_KEY_MAX;
    }
    memcpy(out, key, n);
    out[n] = '\0';
    if (n == 0) {
        out[0] = '-'; /* an empty key is a key too; '\0' marks a free entry */
        out[1] = '\0';
    }
}

bool
rate_take(struct rate_table *t, const char *key, int64_t now_ms)
{
    char k[RATE_KEY_MAX + 1];
    struct rate_entry *e;
    bool ok;

    rate_key(key, k);
    pthread_mutex_lock(&t->mu);
    e = rate_get(t, k, now_ms);
    rate_refill(t, e, now_ms);
    ok = e->bucket >= 1.0;
    if (ok) {
        e->bucket -= 1.0;
    }
    pthread_mutex_unlock(&t->mu);
    return ok;
}

bool
rate_exhausted(struct rate_table *t, const char *key, int64_t now_ms)
{
    char k[RATE_KEY_MAX + 1];
    size_t i;
    bool empty = false;

    rate_key(key, k);
    pthread_mutex_lock(&t->mu);
    if ((i = rate_find(t, k)) != RATE_NONE) {
        rate_refill(t, &t->e[i], now_ms);
        empty = t->e[i].bucket < 1.0;
    }
    pthread_mutex_unlock(&t->mu);
    return empty;
}

size_t
rate_table_size(struct rate_table *t)
{
    size_t n;

    pthread_mutex_lock(&t->mu);
    n = t->nused;
    pthread_mutex_unlock(&t->mu);
    return n;
}
