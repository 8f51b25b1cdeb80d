/*
 * email.h - the one form of an e-mail address that bounced stores and compares (DESIGN §6):
 * store, API, CLI and every ingest path (DSNs, logs, webhooks) go through email_normalize(),
 * so "anna@bücher.example", "anna@xn--bcher-kva.example" and "ANNA@BÜCHER.EXAMPLE." are one
 * contact and one suppression.
 * Pure functions over caller buffers; thread-safe. Ownership: the caller owns out.
 */
#ifndef BNC_CORE_EMAIL_H
#define BNC_CORE_EMAIL_H

#include <stdbool.h>
#include <stddef.h>

#define EMAIL_MAX 320 /* longest address accepted (local 64 + @ + domain 255) */

/*
 * Normalize the address in[0..n) into out (NUL-terminated): surrounding white space
 * trimmed; the local part kept as given except that ASCII letters are lower-cased (local
 * parts compare case-insensitively, as every MTA bounced talks to treats them); the domain
 * case-folded and mapped by IDNA (UTS #46, non-transitional, through libidn2) to its ASCII
 * form (A-labels: "xn--bcher-kva.example"), one trailing dot dropped. A domain that IDNA refuses (an
 * invalid A-label, a disallowed code point) is kept as written with ASCII lower-cased.
 * Returns false (out empty) when it is not an address: empty, longer than EMAIL_MAX, not
 * UTF-8, control characters, white space, '<', '>' or ',', not exactly one '@', an empty
 * local part or domain. *len_out (may be NULL) receives strlen(out).
 */
bool email_normalize(const char *in, size_t n, char out[EMAIL_MAX + 1], size_t *len_out);

/* The same for a domain alone (the part after '@'): out holds at least EMAIL_MAX + 1
 * bytes. False when it is empty or not usable. */
bool email_normalize_domain(const char *in, size_t n, char out[EMAIL_MAX + 1]);

#endif
