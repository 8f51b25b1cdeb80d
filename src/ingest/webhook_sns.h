/*
 * webhook_sns.h - Amazon SNS envelopes of SES notifications (webhook_sns.c): signature
 * verification against operator-placed certificates, the SNS-host rule for the URLs a
 * message names, and subscription confirmations.
 * Ownership: everything is borrowed for the call; outputs go to the caller's buffers.
 * Thread-safety: all reentrant.
 */
#ifndef BNC_INGEST_WEBHOOK_SNS_H
#define BNC_INGEST_WEBHOOK_SNS_H

#include <stdbool.h>
#include <stddef.h>

#include "bounced.h"

/* Is url an https URL of an SNS host (sns.<region>.amazonaws.com[.cn]), with no userinfo
 * or port? */
bool sns_host_ok(const char *url);
/* Does the SNS message body verify with one of the certificates of the PEM file pem_path
 * (and name an SNS host as its SigningCertURL)? why says what failed. */
bool sns_verify(const char *pem_path, const char *body, size_t len, char *why, size_t whylen);
/* A SubscriptionConfirmation with an SNS SubscribeURL: its topic, URL and message id. */
bool sns_subscription(const char *body, size_t len, char *topic, size_t topiclen, char *url,
                      size_t urllen, char *msgid, size_t msgidlen);
/* GET a SubscribeURL (SNS hosts only, https, no redirects): BNC_OK on HTTP 200. */
bnc_status sns_confirm_fetch(const char *url, long timeout_s, char *err, size_t errlen);

#endif
