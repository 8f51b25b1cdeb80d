/*
 * events.h - synchronous bounces and complaints that do not arrive as mail: ESP webhooks
 * (Amazon SES via SNS or event publishing, SendGrid, Mailgun, Postmark, SparkPost) and MTA
 * logs (PowerMTA accounting/FBL CSV, Postfix maillog), normalised into the same verdicts
 * (struct bnc_rcpt) that bounce messages produce.
 *
 * events_parse() is pure: bytes in, a report of verdicts out, no I/O. Each verdict carries
 * the vendor's own judgement (permanent/transient, bounce class, bounce category) as a hint
 * and is then classified by the ctx's rules like any diagnostic, so one rule set decides
 * reasons everywhere. Events that are not deliverability facts (opens, clicks, processed,
 * SNS subscription handshakes) yield no verdict.
 * Ownership: the returned report owns every string; free it with bnc_report_free().
 * Thread-safety: as bnc_parse(): many threads may share one ctx.
 */
#ifndef BNC_INGEST_EVENTS_H
#define BNC_INGEST_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "bounced.h"

enum events_format {
    EVENTS_SES = 0,
    EVENTS_SENDGRID,
    EVENTS_MAILGUN,
    EVENTS_POSTMARK,
    EVENTS_SPARKPOST,
    EVENTS_PMTA,
    EVENTS_MAILLOG,
    EVENTS_PMTA_FBL, /* a PowerMTA accounting file of feedback-loop (f) records */
    EVENTS_EXIM,     /* Exim main log */
    EVENTS__COUNT
};

/* "ses", "sendgrid", "mailgun", "postmark", "sparkpost", "pmta", "maillog", "pmta-fbl",
 * "exim" (and "powermta", "postfix"). */
bool events_format_from_name(const char *name, enum events_format *out);
const char *events_format_name(enum events_format f);
/* origin of its verdicts: "webhook:ses", ..., "log:pmta", "log:maillog" */
const char *events_format_origin(enum events_format f);
/* A log format (read line by line, followable), not a webhook payload. */
bool events_format_is_log(enum events_format f);

/*
 * Parse one webhook body or one chunk of log text. Returns BNC_OK with a report (possibly
 * with no verdicts), BNC_EPARSE when the input is not of that format at all (err says why),
 * BNC_ELIMIT when it exceeds the webhook body limit (webhooks) or message size (logs).
 */
bnc_status events_parse(bnc_ctx *ctx, enum events_format f, const char *data, size_t len,
                        bnc_report **out, char *err, size_t errlen);

/*
 * A log read line by line: the state one line leaves for the next (the PowerMTA column
 * layout from the header row or from record_fields; the Postfix and Exim queue ids' message
 * ids), so a log parsed in pieces gives the verdicts it gives whole.
 * events_stream_new: record_fields (may be NULL or "") is a PowerMTA layout
 * "type,timeLogged,rcpt,..." used until the file's own header row says otherwise; BNC_EINVAL
 * for a format that is not a log, BNC_ECONFIG (err says why) for a bad layout. The caller
 * frees with events_stream_free() (NULL-safe).
 * events_stream_parse: data[0..len) is whole lines (the last may lack its newline); a line
 * longer than EVENTS_MAX_LINE yields nothing and is counted in *overlong_out (may be NULL).
 * Otherwise as events_parse(), without its size limit: the caller bounds len.
 * LIMITS: EVENTS_QIDS queue ids remembered (the oldest is forgotten first), message ids of
 * at most EVENTS_MSGID_MAX bytes remembered.
 * Thread-safety: one stream per thread; the ctx may be shared.
 */
#define EVENTS_MAX_LINE  (64u * 1024u)
#define EVENTS_QIDS      16384u
#define EVENTS_MSGID_MAX 250u
struct events_stream;
bnc_status events_stream_new(enum events_format f, const char *record_fields,
                             struct events_stream **out, char *err, size_t errlen);
void events_stream_free(struct events_stream *s);
bnc_status events_stream_parse(bnc_ctx *ctx, struct events_stream *s, const char *data,
                               size_t len, bnc_report **out, /* OUT */
                               size_t *overlong_out,        /* OUT: may be NULL */
                               char *err, size_t errlen);
/* Is this line a PowerMTA header row (first field "type")? */
bool events_pmta_is_header(const char *line, size_t len);

/*
 * Webhook authenticity. Each returns true only when the signature verifies.
 *  - Mailgun: HMAC-SHA256(signing_key, timestamp || token) == hex signature.
 *  - SendGrid: ECDSA P-256 / SHA-256 over (timestamp || body), base64 DER signature, with
 *    the base64 DER SubjectPublicKeyInfo public key shown in the SendGrid settings.
 */
/* The timestamp, token and signature of a Mailgun webhook, JSON ("signature" object) or
 * legacy form fields; false when one is missing or longer than its buffer. */
bool events_mailgun_signature(const char *data, size_t len, char *ts, size_t tslen, char *tok,
                              size_t toklen, char *sig, size_t siglen);
bool events_mailgun_verify(const char *signing_key, const char *timestamp, const char *token,
                           const char *signature_hex);
bool events_sendgrid_verify(const char *pubkey_b64, const char *timestamp, const char *body,
                            size_t body_len, const char *signature_b64);

#endif
