/*
 * keys.h - what identifies a bounce and an event (DESIGN §6 idempotency): the identity of a
 * raw bounce message, whichever hop or path delivered it, and the dedupe key of one verdict,
 * which names the failure rather than the path that reported it.
 * Pure functions: no I/O, no store. Ownership: the caller owns every output buffer.
 */
#ifndef BNC_PIPELINE_KEYS_H
#define BNC_PIPELINE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "bounced.h"

#define KEY_HASH_HEX 64   /* SHA-256 in lower-case hex */
#define KEY_MAX      1024 /* a dedupe key, NUL included; longer ones are hashed */

/*
 * The bounce's own identity: SHA-256 (hex) of the message without its trace header fields
 * (Received, Return-Path, X-Original-To, Delivered-To, ...: what each hop adds), with CRLF and
 * LF line ends alike and trailing blank lines dropped. A retry of the same bounce after a
 * crash, or the same bounce posted to the API, has the same identity.
 */
void key_message_identity(const char *data, size_t len, char out[KEY_HASH_HEX + 1]);

/*
 * The dedupe key of verdict v, first of:
 *   fail|<original Message-ID>|<recipient>|<status>|<UTC day of t>   (the failed message is
 *        known: one failure, whichever path reported it: DSN, API, log line, webhook);
 *   msg|<identity>|<recipient>|<status>          (a raw bounce: identity from above);
 *   ev|<origin>|<message id>|<recipient>|<status>|<v->time>   (a log line or vendor event
 *        that names its own message or time: a queue id keeps same-second lines apart);
 *   ev|<origin>|<ref>|<recipient>|<status>|<UTC day of t>     (nothing else to go by).
 * identity may be NULL (verdicts that did not come as a message), ref may be NULL. The
 * recipient is normalized as the store normalizes it. A key longer than KEY_MAX - 1 is
 * replaced by "sha256:" and its hash.
 */
void key_event(char out[KEY_MAX], const struct bnc_rcpt *v, const char *identity,
               const char *ref, int64_t t);

/* SHA-256 of data in lower-case hex. */
void key_sha256_hex(const void *data, size_t len, char out[KEY_HASH_HEX + 1]);

#endif
