/*
 * webhook_ses.c - Amazon SES notifications: SNS-wrapped (Type: Notification, the SES record
 * as a JSON string in Message) or raw (SNS raw delivery, event publishing to a queue).
 *
 * Bounce (bounceType Permanent | Transient | Undetermined, bounceSubType, bouncedRecipients
 * with status and diagnosticCode), Complaint (complainedRecipients, complaintFeedbackType),
 * Delivery (delivery.recipients, smtpResponse), DeliveryDelay (delayedRecipients).
 * notificationType (SNS notifications) and eventType (event publishing) name the record.
 * SNS SubscriptionConfirmation / UnsubscribeConfirmation and messages that are not SES JSON
 * yield no verdict (the HTTP layer may confirm a subscription; parsing never fetches URLs).
 * A raw HTTP request (headers, blank line, body) is accepted: the headers are skipped.
 * The decoding is parse/formats/amazonses.c's ses_decode(), the one mailed notifications go
 * through too, so bounceType is judged alike both ways; this file turns its events into
 * verdicts with SES's judgement (events.c applies it after classification).
 * STANDARDS: Amazon SES developer guide, "Notification contents" and "Event publishing".
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ingest/events_int.h"

/* One decoded event (parse/formats/amazonses.c, the decoder mail uses too) as a verdict
 * with SES's judgement. */
static void
ses_webhook_event(void *ud, const struct ses_event *e)
{
    static const enum ev_vendor judged[] = {
        [SES_PERMANENT] = EV_V_PERMANENT, [SES_TRANSIENT] = EV_V_TRANSIENT,
        [SES_UNDETERMINED] = EV_V_UNDETERMINED, [SES_COMPLAINT] = EV_V_COMPLAINT,
        [SES_DELIVERED] = EV_V_DELIVERED,
    };
    struct ev_state *st = ud;
    struct bnc_rcpt *rc = ev_add(st, e->email, strlen(e->email), judged[e->judgement], e->why);
    int64_t t;

    if (rc == NULL) {
        return;
    }
    rc->reason_hint = e->hint;
    if (e->judgement == SES_COMPLAINT) {
        rc->feedback_type = report_strndup(st->r, e->feedback_type, strlen(e->feedback_type));
    } else {
        ev_status(rc, e->status);
        ev_diag(st, rc, e->diagnostic);
    }
    if (e->reporting_mta[0] != '\0') {
        rc->reporting_mta = report_strndup(st->r, e->reporting_mta, strlen(e->reporting_mta));
    }
    if (e->message_id[0] != '\0') {
        rc->original_message_id = report_strndup(st->r, e->message_id, strlen(e->message_id));
    }
    if (e->timestamp[0] != '\0' && ev_parse_iso8601(e->timestamp, &t) == 0) {
        ev_time(st, rc, t);
    }
}

/* Skip an HTTP request head when the body was saved with its headers. */
static void
ses_skip_http(const char **data, size_t *len)
{
    const char *p = *data, *e;
    size_t n = *len;

    if (n < 5 || memchr(p, '{', n < 8 ? n : 8) != NULL || memchr(p, '[', n < 8 ? n : 8) != NULL) {
        return;
    }
    if ((e = text_find_ci(p, n, "\r\n\r\n", 4)) != NULL) {
        e += 4;
    } else if ((e = text_find_ci(p, n, "\n\n", 2)) != NULL) {
        e += 2;
    } else {
        return;
    }
    *len = n - (size_t)(e - p);
    *data = e;
}

bnc_status
ev_ses(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen)
{
    ses_skip_http(&data, &len);
    switch (ses_decode(data, len, st->json_depth, ses_webhook_event, st, err, errlen)) {
    case SES_INVALID:
        return BNC_EPARSE;
    case SES_HANDSHAKE: /* SubscriptionConfirmation, UnsubscribeConfirmation: no event */
    case SES_FOREIGN:   /* an SNS message that is not SES JSON */
        st->r->flags |= BNC_PF_NOT_BOUNCE;
        return BNC_OK;
    case SES_RECORD:
        break;
    }
    return BNC_OK;
}
