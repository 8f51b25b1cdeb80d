/*
 * smtp_session.h - the SMTP/LMTP server protocol as a pure state machine (no I/O, no clock).
 *
 * Bytes from the client go in with smtp_session_feed(); replies accumulate in an output
 * buffer the caller drains (smtp_session_output / smtp_session_output_done); things the caller
 * must act on come back as events: a complete message to spool (then smtp_session_deliver()
 * with the outcome), a STARTTLS handshake to start, a connection to close. The caller owns
 * sockets, TLS, timers and the spool; the session owns the protocol, the limits and the
 * message bytes of the current transaction.
 * Ownership: a session owns every buffer it hands out; pointers from the accessors are
 * borrowed until the next call that changes the session. Not thread-safe (one per connection).
 */
#ifndef BNC_INGEST_SMTP_SESSION_H
#define BNC_INGEST_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "bounced.h"

/* RFC 5321 4.5.3.1.4 command line (CRLF included) and 4.5.3.1.6 text line. */
#define SMTP_SESSION_CMD_LINE_MAX  512
#define SMTP_SESSION_TEXT_LINE_MAX 1000

struct smtp_session;

struct smtp_session_opts {
    const char *hostname; /* greeting and EHLO name; borrowed for the session's life */
    const char *domains;  /* comma list of accepted RCPT domains; "" = localhost only */
    size_t max_size;      /* SIZE announced and enforced on the data */
    size_t max_rcpts;     /* recipients per transaction (452 4.5.3 past it) */
    size_t max_cmds;      /* commands per connection (421 past it) */
    bool lmtp;            /* LHLO instead of EHLO/HELO; one reply per recipient after DATA */
    bool tls_offered;     /* a certificate is configured: announce STARTTLS */
};

enum smtp_session_event {
    SMTP_EV_NONE = 0, /* all input consumed; wait for more */
    SMTP_EV_MESSAGE,  /* a message is complete: spool it, then call smtp_session_deliver() */
    SMTP_EV_STARTTLS, /* flush the output, start the TLS handshake, then smtp_session_tls_on() */
    SMTP_EV_CLOSE     /* flush the output, then close the connection */
};

/* The envelope of the current transaction (borrowed; valid until the next feed/deliver). */
struct smtp_envelope {
    const char *helo;      /* EHLO/HELO/LHLO argument */
    const char *mail_from; /* reverse-path without brackets; "" for the null sender <> */
    const char *const *rcpts;
    size_t nrcpts;
    bool esmtp;
    bool tls;
};

/* lifecycle */
struct smtp_session *smtp_session_new(const struct smtp_session_opts *o);
void smtp_session_free(struct smtp_session *s); /* NULL-safe */

/* Queue the 220 greeting (or a 421 when refuse is true, followed by SMTP_EV_CLOSE). */
void smtp_session_greet(struct smtp_session *s);
void smtp_session_refuse(struct smtp_session *s, const char *reply); /* e.g. "421 4.7.0 ..." */

/*
 * Feed client bytes. Consumes input up to the first event that needs the caller and returns
 * it with *consumed_out set to the bytes used; the caller feeds the rest after acting on the
 * event. While a message or STARTTLS is pending, feed consumes nothing and returns the
 * pending event again.
 */
enum smtp_session_event smtp_session_feed(struct smtp_session *s, const char *data, size_t len,
                                          size_t *consumed_out /* OUT */);

/* The message of SMTP_EV_MESSAGE: bytes after dot-unstuffing (borrowed). */
const char *smtp_session_message(const struct smtp_session *s, size_t *len_out /* OUT */);
void smtp_session_envelope(const struct smtp_session *s, struct smtp_envelope *out /* OUT */);
/* The outcome of spooling: ok with the spool id (for the reply), or a temporary failure. */
void smtp_session_deliver(struct smtp_session *s, bool ok, const char *queue_id);
/* The TLS handshake succeeded: the session resets to the state after the greeting. */
void smtp_session_tls_on(struct smtp_session *s);

/* Connection-level conditions the I/O layer detects. */
void smtp_session_timeout(struct smtp_session *s);  /* 421 4.4.2 and SMTP_EV_CLOSE */
void smtp_session_shutdown(struct smtp_session *s); /* 421 4.3.2 and SMTP_EV_CLOSE */

/* Replies waiting to be written (borrowed) and how many the caller wrote. */
const char *smtp_session_output(const struct smtp_session *s, size_t *len_out /* OUT */);
void smtp_session_output_done(struct smtp_session *s, size_t n);

/* accessors */
bool smtp_session_closing(const struct smtp_session *s); /* QUIT seen or a fatal error */
bool smtp_session_in_data(const struct smtp_session *s);
/* A transaction is open (MAIL accepted, data being received, or a message pending). */
bool smtp_session_in_transaction(const struct smtp_session *s);
size_t smtp_session_commands(const struct smtp_session *s);
/* Counters of the session's life: messages accepted, recipients refused. */
size_t smtp_session_accepted(const struct smtp_session *s);
size_t smtp_session_refused(const struct smtp_session *s);

/* Does the address's domain belong to the comma list (case-insensitive)? "" = localhost. */
bool smtp_session_domain_ok(const char *domains, const char *addr);

#endif
