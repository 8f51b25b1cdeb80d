/*
 * ratelimit.h - token buckets keyed by a short string (a token's full SHA-256, a client
 * address), in a bounded table: the API's per-token request limit and its per-address limit
 * on failed authentications.
 *
 * A key has its own bucket, whatever its hash: two keys never share or reset each other's
 * state. The table holds at most `cap` keys; when it is full, keys whose bucket has refilled
 * (they carry no state a fresh bucket would not) are dropped first, then the fullest bucket.
 * Ownership: the table owns its entries and copies every key; thread-safe (one mutex).
 */
#ifndef BNC_API_RATELIMIT_H
#define BNC_API_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATE_KEY_MAX 72 /* longest key kept: a hex SHA-256 (64) or an IPv6 address (45) */

struct rate_table;

/* rate: units per second refilled; burst: the bucket's size (both > 0). */
struct rate_table *rate_table_new(size_t cap, double rate, double burst);
void rate_table_free(struct rate_table *t); /* NULL-safe */

/* Take one unit from key's bucket at now_ms (a monotonic clock). True when there was one;
 * false (nothing taken) when the bucket is empty. A key longer than RATE_KEY_MAX is cut. */
bool rate_take(struct rate_table *t, const char *key, int64_t now_ms);
/* Is key's bucket empty at now_ms (a take would fail)? Never creates an entry. */
bool rate_exhausted(struct rate_table *t, const char *key, int64_t now_ms);
/* Keys held now (for tests). */
size_t rate_table_size(struct rate_table *t);

#endif
