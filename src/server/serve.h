/*
 * serve.h - the `bounced serve` daemon: SMTP/LMTP listeners, spool, worker threads, the HTTP
 * API, periodic decay sweep, spool purge and mailbox scans, signals.
 *
 * serve_run() blocks until SIGTERM/SIGINT, then stops accepting, lets open SMTP transactions
 * finish (bounded), processes what is queued, and returns an exit code. SIGHUP re-reads the
 * configuration file and the rules and swaps in a new classification context.
 * Ownership: the options are borrowed for the whole call.
 */
#ifndef BNC_SERVER_SERVE_H
#define BNC_SERVER_SERVE_H

#include <stdint.h>

#include "core/cfg.h"

struct serve_options {
    const struct bnc_config *cfg; /* the loaded configuration (copied) */
    const char *config_path;      /* re-read on SIGHUP; may be NULL */
    const char *db_url;           /* --db, re-applied on reload; may be NULL */
    /* command-line settings, re-applied over the file on reload: key, value, key, value... */
    const char *const *overrides;
    size_t noverrides;  /* number of strings (twice the number of settings) */
    int64_t now;        /* fixed clock for tests; 0 = real */
    int shutdown_grace; /* seconds open SMTP transactions may take at shutdown */
};

/* Run the daemon; returns 0 after a clean shutdown, 3 on a startup failure. */
int serve_run(const struct serve_options *o);

#endif
