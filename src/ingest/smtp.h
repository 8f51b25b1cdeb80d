/*
 * smtp.h - the SMTP and LMTP listeners of `bounced serve` on a libevent loop.
 *
 * The server accepts connections (TCP host:port, or unix:/path for LMTP), runs one
 * smtp_session per connection, hands complete messages to a small pool of spool writer
 * threads (file + directory fsync in parallel), and replies 250 only after the message is
 * durable. After each successful spool write it calls on_spooled() from the writer thread, so
 * the daemon can queue the spool id for its workers.
 * Ownership: the server borrows the event base, the spool and the callbacks' ud until
 * smtp_server_free(); it copies what it needs from the config. Every function except
 * on_spooled runs on the loop's thread.
 */
#ifndef BNC_INGEST_SMTP_H
#define BNC_INGEST_SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "bounced.h"

struct bnc_config;
struct event_base;
struct spool;
struct smtp_server;

struct smtp_server_opts {
    const struct bnc_config *cfg; /* smtp.* (listen addresses, limits, domains, TLS) */
    struct event_base *base;      /* created after evthread_use_pthreads() */
    struct spool *spool;
    int writers; /* spool writer threads; 0 = 4 */
    /* Called on a writer thread once id is durable in new/; proto is "smtp" or "lmtp". */
    void (*on_spooled)(void *ud, const char *id, const char *proto);
    void *ud;
};

/* Bind the configured listeners (smtp.listen, smtp.lmtp_listen; empty = off) and start the
 * writers. err gets the reason on failure; nothing is left running then. */
bnc_status smtp_server_start(const struct smtp_server_opts *o, struct smtp_server **out, char *err,
                             size_t errlen);
/* Where a listener is bound ("127.0.0.1:2525", "unix:/run/b.sock"), or "" when off. */
const char *smtp_server_address(const struct smtp_server *s, bool lmtp);
/* Apply the reloadable smtp.* settings (domains, limits, idle timeout) to new sessions. */
void smtp_server_reload(struct smtp_server *s, const struct bnc_config *cfg);

/*
 * Shutdown, step 1: close the listeners, answer 421 to every session without an open
 * transaction and close it; sessions in a transaction finish it and are closed then.
 */
void smtp_server_drain(struct smtp_server *s);
/* Open sessions (including those waiting for a spool write). */
size_t smtp_server_sessions(const struct smtp_server *s);
/* Shutdown, step 2: close every remaining session now (421 when possible). */
void smtp_server_close_all(struct smtp_server *s);
/* Stop the writers (after finishing queued writes) and free everything. NULL-safe. */
void smtp_server_free(struct smtp_server *s);

/* Counters (loop thread): connections accepted, messages spooled, connections refused. */
size_t smtp_server_accepted_total(const struct smtp_server *s);
size_t smtp_server_messages_total(const struct smtp_server *s);

#endif
