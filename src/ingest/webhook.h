/*
 * webhook.h - the receiving end of POST /webhooks/{ses|sendgrid|mailgun|postmark|sparkpost}:
 * authenticate the call, normalise the payload (events.h), and apply every verdict through
 * the pipeline. The HTTP layer (src/api) calls it through struct api_options.webhook.
 *
 * Authenticity is mandatory: a call is accepted when the vendor's signature verifies
 * (Mailgun HMAC with webhook.mailgun_signing_key, SendGrid ECDSA with
 * webhook.sendgrid_public_key, within webhook.max_age) or when it carries the shared secret
 * webhook.token (Authorization: Bearer TOKEN, or Basic auth with TOKEN as the password, which
 * is what SNS subscriptions to https://user:TOKEN@host/webhooks/ses send). With neither
 * configured every call is refused: unauthenticated input must never suppress addresses.
 * Thread-safety: callable from many threads at once; each thread keeps its own store
 * connection (closed when the thread exits).
 */
#ifndef BNC_INGEST_WEBHOOK_H
#define BNC_INGEST_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "bounced.h"

struct bnc_config;

/*
 * Handle one call. esp: the path segment; body/len: the raw body; headers: "Name: value\n"
 * lines. Writes a small JSON reply into reply and returns the HTTP status: 200 (applied,
 * with counts), 400 (not that vendor's format), 401 (not authenticated), 403 (webhooks not
 * configured), 404 (unknown vendor), 413 (too large), 500/503 (store failure).
 */
int webhook_receive(bnc_ctx *ctx, const struct bnc_config *cfg, const char *esp,
                    const char *body, size_t len, const char *headers, int64_t now,
                    char *reply, size_t replylen);

#endif
