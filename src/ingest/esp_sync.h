/*
 * esp_sync.h - suppression sync with an ESP's own suppression list over its API (SES,
 * SendGrid, Mailgun, Postmark; docs/guards.md): addresses bounced suppressed and the ESP
 * does not have are pushed; addresses the ESP has and bounced never saw are imported (as
 * suppressions with source "esp:<name>"); an address bounced lifted since the last sync is
 * removed at the ESP. What both sides last agreed on is kept in the store
 * (esp_suppressions), so a second run with nothing changed does nothing.
 * Ownership: borrows the store and config for the call; one sync per store at a time.
 */
#ifndef BNC_INGEST_ESP_SYNC_H
#define BNC_INGEST_ESP_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounced.h"

struct store;
struct bnc_config;

#define ESP_SYNC_MAX (1000u * 1000u) /* addresses per side; more fails the sync */

struct esp_sync_stats {
    size_t remote, local;             /* addresses on each side before the sync */
    size_t pushed, removed, imported; /* what the sync did (or, dry run, would do) */
    size_t invalid;                   /* remote entries that are no usable address */
};

/* What the sync does (or would do), one call per address: action is "push", "remove" or
 * "import". */
typedef void (*esp_sync_note_fn)(void *ud, const char *action, const char *address);

/* Sync with esp ("ses", "sendgrid", "mailgun", "postmark"). dry_run reads both sides and
 * reports through note, changing nothing. BNC_EINVAL for an unknown ESP, BNC_ECONFIG when
 * its credentials are not configured, BNC_EIO for an API failure, BNC_ELIMIT past
 * ESP_SYNC_MAX or a reply larger than its cap; err gets the detail. */
bnc_status esp_sync(struct store *st, const struct bnc_config *cfg, const char *esp, bool dry_run,
                    int64_t now, esp_sync_note_fn note, void *ud, /* may be NULL */
                    struct esp_sync_stats *out,                   /* OUT */
                    char *err, size_t errlen);

#endif
