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
 * STANDARDS: Amazon SES developer guide, "Notification contents" and "Event publishing".
 */
#include <string.h>
#include <strings.h>

#include "ingest/events_int.h"

static bnc_reason
ses_subtype_hint(const char *sub)
{
    if (!strcasecmp(sub, "NoEmail")) {
        return BNC_R_USERUNKNOWN;
    }
    if (!strcasecmp(sub, "Suppressed") || !strcasecmp(sub, "OnAccountSuppressionList")) {
        return BNC_R_SUPPRESSED;
    }
    if (!strcasecmp(sub, "MailboxFull")) {
        return BNC_R_MAILBOXFULL;
    }
    if (!strcasecmp(sub, "MessageTooLarge")) {
        return BNC_R_MESGTOOBIG;
    }
    if (!strcasecmp(sub, "ContentRejected")) {
        return BNC_R_CONTENTERROR;
    }
    if (!strcasecmp(sub, "AttachmentRejected")) {
        return BNC_R_POLICYVIOLATION;
    }
    return BNC_R_UNDEFINED;
}

static void
ses_common(struct ev_state *st, struct bnc_rcpt *rc, const json_t *mail, const char *ts)
{
    int64_t t;
    const char *mid = ev_jstr(mail, "messageId");

    if (mid[0]) {
        rc->original_message_id = report_strndup(st->r, mid, strlen(mid));
    }
    if (ts[0] && ev_parse_iso8601(ts, &t) == 0) {
        ev_time(st, rc, t);
    }
}

static void
ses_record(struct ev_state *st, const json_t *rec)
{
    const char *type = ev_jstr(rec, "notificationType");
    const json_t *mail = json_object_get(rec, "mail");
    const json_t *o, *arr, *it;
    size_t i;
    char why[96];

    if (type[0] == '\0') {
        type = ev_jstr(rec, "eventType");
    }
    if (!strcasecmp(type, "Bounce")) {
        const char *bt, *sub, *rmta;
        enum ev_vendor v;
        o = json_object_get(rec, "bounce");
        bt = ev_jstr(o, "bounceType");
        sub = ev_jstr(o, "bounceSubType");
        rmta = ev_jstr(o, "reportingMTA");
        v = !strcasecmp(bt, "Permanent")   ? EV_V_PERMANENT
            : !strcasecmp(bt, "Transient") ? EV_V_TRANSIENT
                                           : EV_V_UNDETERMINED;
        snprintf(why, sizeof(why), "%.40s/%.40s", bt, sub);
        arr = json_object_get(o, "bouncedRecipients");
        json_array_foreach(arr, i, it)
        {
            const char *a = ev_jstr(it, "emailAddress");
            struct bnc_rcpt *rc = ev_add(st, a, strlen(a), v, why);
            if (rc == NULL) {
                continue;
            }
            ev_status(rc, ev_jstr(it, "status"));
            ev_diag(st, rc, ev_jstr(it, "diagnosticCode"));
            rc->reason_hint = ses_subtype_hint(sub);
            if (rmta[0]) {
                rc->reporting_mta = report_strndup(st->r, rmta, strlen(rmta));
            }
            ses_common(st, rc, mail, ev_jstr(o, "timestamp"));
        }
    } else if (!strcasecmp(type, "Complaint")) {
        const char *fbt;
        o = json_object_get(rec, "complaint");
        fbt = ev_jstr(o, "complaintFeedbackType");
        arr = json_object_get(o, "complainedRecipients");
        json_array_foreach(arr, i, it)
        {
            const char *a = ev_jstr(it, "emailAddress");
            struct bnc_rcpt *rc = ev_add(st, a, strlen(a), EV_V_COMPLAINT, "Complaint");
            if (rc == NULL) {
                continue;
            }
            rc->feedback_type = report_strndup(st->r, fbt, strlen(fbt));
            ses_common(st, rc, mail, ev_jstr(o, "timestamp"));
        }
    } else if (!strcasecmp(type, "Delivery")) {
        o = json_object_get(rec, "delivery");
        arr = json_object_get(o, "recipients");
        json_array_foreach(arr, i, it)
        {
            const char *a = json_is_string(it) ? json_string_value(it) : "";
            struct bnc_rcpt *rc = ev_add(st, a, strlen(a), EV_V_DELIVERED, "Delivery");
            if (rc == NULL) {
                continue;
            }
            ev_diag(st, rc, ev_jstr(o, "smtpResponse"));
            ses_common(st, rc, mail, ev_jstr(o, "timestamp"));
        }
    } else if (!strcasecmp(type, "DeliveryDelay")) {
        o = json_object_get(rec, "deliveryDelay");
        snprintf(why, sizeof(why), "DeliveryDelay/%.60s", ev_jstr(o, "delayType"));
        arr = json_object_get(o, "delayedRecipients");
        json_array_foreach(arr, i, it)
        {
            const char *a = ev_jstr(it, "emailAddress");
            struct bnc_rcpt *rc = ev_add(st, a, strlen(a), EV_V_TRANSIENT, why);
            if (rc == NULL) {
                continue;
            }
            ev_status(rc, ev_jstr(it, "status"));
            ev_diag(st, rc, ev_jstr(it, "diagnosticCode"));
            ses_common(st, rc, mail, ev_jstr(o, "timestamp"));
        }
    }
    /* Send, Reject, Open, Click, Rendering Failure, Subscription: not deliverability facts */
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
    json_t *j, *inner = NULL;
    const char *type;

    ses_skip_http(&data, &len);
    if ((j = ev_json_load(st, data, len, err, errlen)) == NULL) {
        return BNC_EPARSE;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(err, errlen, "not an SES/SNS notification: expected a JSON object");
        return BNC_EPARSE;
    }
    type = ev_jstr(j, "Type");
    if (!strcasecmp(type, "Notification")) {
        const char *msg = ev_jstr(j, "Message");
        char ierr[256];
        inner = ev_json_load(st, msg, strlen(msg), ierr, sizeof(ierr));
        if (json_is_object(inner)) {
            ses_record(st, inner);
        } else {
            st->r->flags |= BNC_PF_NOT_BOUNCE; /* an SNS message that is not SES JSON */
        }
        json_decref(inner);
    } else if (type[0] != '\0') {
        /* SubscriptionConfirmation, UnsubscribeConfirmation: a handshake, no event */
        st->r->flags |= BNC_PF_NOT_BOUNCE;
    } else {
        ses_record(st, j);
    }
    json_decref(j);
    return BNC_OK;
}
