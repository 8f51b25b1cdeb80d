/*
 * webhook_sendgrid.c - SendGrid Event Webhook: a JSON array of events (a single object is
 * accepted too).
 *
 * bounce (type "bounce" = permanent, type "blocked" = temporary per SendGrid), dropped
 * ("Bounced Address" / "Invalid": the address is dead; "Spam Reporting Address": a former
 * complaint; other drop reasons are SendGrid's own and yield nothing), deferred, delivered,
 * spamreport. processed, open, click, unsubscribe and group events yield nothing.
 * Authenticity (signed webhooks): events_sendgrid_verify().
 * STANDARDS: SendGrid "Event Webhook Reference".
 */
#include <string.h>
#include <strings.h>

#include "ingest/events_int.h"

static void
sendgrid_event(struct ev_state *st, const json_t *ev)
{
    const char *event = ev_jstr(ev, "event");
    const char *email = ev_jstr(ev, "email");
    const char *reason = ev_jstr(ev, "reason");
    const char *type = ev_jstr(ev, "type");
    const char *mid = ev_jstr(ev, "sg_message_id");
    enum ev_vendor v;
    bnc_reason hint = BNC_R_UNDEFINED;
    struct bnc_rcpt *rc;
    const char *diag = reason;
    char why[96];

    if (!strcasecmp(event, "bounce")) {
        v = !strcasecmp(type, "blocked") ? EV_V_TRANSIENT : EV_V_PERMANENT;
        snprintf(why, sizeof(why), "bounce/%.40s", type[0] ? type : "bounce");
    } else if (!strcasecmp(event, "dropped")) {
        if (!strcasecmp(reason, "Bounced Address")) {
            v = EV_V_PERMANENT;
            hint = BNC_R_SUPPRESSED;
        } else if (!strncasecmp(reason, "Invalid", 7)) {
            v = EV_V_PERMANENT;
            hint = BNC_R_USERUNKNOWN;
        } else if (!strcasecmp(reason, "Spam Reporting Address")) {
            v = EV_V_COMPLAINT;
        } else {
            return;
        }
        snprintf(why, sizeof(why), "dropped/%.60s", reason);
    } else if (!strcasecmp(event, "deferred")) {
        v = EV_V_TRANSIENT;
        diag = ev_jstr(ev, "response");
        snprintf(why, sizeof(why), "deferred");
    } else if (!strcasecmp(event, "delivered")) {
        v = EV_V_DELIVERED;
        diag = ev_jstr(ev, "response");
        snprintf(why, sizeof(why), "delivered");
    } else if (!strcasecmp(event, "spamreport")) {
        v = EV_V_COMPLAINT;
        snprintf(why, sizeof(why), "spamreport");
    } else {
        return;
    }
    if ((rc = ev_add(st, email, strlen(email), v, why)) == NULL) {
        return;
    }
    rc->reason_hint = hint;
    if (v != EV_V_COMPLAINT) {
        ev_status(rc, ev_jstr(ev, "status"));
        ev_diag(st, rc, diag);
    } else {
        rc->feedback_type = "abuse";
    }
    if (mid[0]) {
        rc->original_message_id = report_strndup(st->r, mid, strlen(mid));
    }
    ev_time(st, rc, ev_jint(ev, "timestamp"));
}

bnc_status
ev_sendgrid(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen)
{
    json_t *j = ev_json_load(st, data, len, err, errlen), *it;
    size_t i;

    if (j == NULL) {
        return BNC_EPARSE;
    }
    if (json_is_object(j)) {
        sendgrid_event(st, j);
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, it)
        {
            sendgrid_event(st, it);
        }
    } else {
        json_decref(j);
        snprintf(err, errlen, "not a SendGrid event batch: expected a JSON array");
        return BNC_EPARSE;
    }
    json_decref(j);
    return BNC_OK;
}
