/*
 * webhook_mailgun.c - Mailgun webhooks: {"signature": {...}, "event-data": {...}}.
 *
 * failed (severity permanent | temporary; reason "suppress-bounce" means Mailgun refused to
 * send to an address that bounced before; delivery-status code, enhanced-code, message,
 * description), complained, delivered. Other events yield nothing.
 * Authenticity: events_mailgun_verify() over signature.timestamp + signature.token.
 * STANDARDS: Mailgun "Webhooks" and "Events" API documentation.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ingest/events_int.h"

bnc_status
ev_mailgun(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen)
{
    json_t *j = ev_json_load(st, data, len, err, errlen);
    const json_t *ed, *ds, *hdrs;
    const char *event, *rcpt, *sev, *reason, *mid;
    enum ev_vendor v;
    struct bnc_rcpt *rc;
    char why[96], diag[1024], code[8];
    int64_t c;

    if (j == NULL) {
        return BNC_EPARSE;
    }
    ed = json_object_get(j, "event-data");
    if (!json_is_object(ed)) {
        json_decref(j);
        snprintf(err, errlen, "not a Mailgun webhook: no \"event-data\" object");
        return BNC_EPARSE;
    }
    event = ev_jstr(ed, "event");
    rcpt = ev_jstr(ed, "recipient");
    sev = ev_jstr(ed, "severity");
    reason = ev_jstr(ed, "reason");
    ds = json_object_get(ed, "delivery-status");
    if (!strcasecmp(event, "failed")) {
        v = !strcasecmp(sev, "temporary") ? EV_V_TRANSIENT : EV_V_PERMANENT;
    } else if (!strcasecmp(event, "complained")) {
        v = EV_V_COMPLAINT;
    } else if (!strcasecmp(event, "delivered")) {
        v = EV_V_DELIVERED;
    } else {
        json_decref(j);
        return BNC_OK;
    }
    snprintf(why, sizeof(why), "%.30s/%.30s/%.30s", event, sev, reason);
    if ((rc = ev_add(st, rcpt, strlen(rcpt), v, why)) != NULL) {
        if (!strcasecmp(reason, "suppress-bounce")) {
            rc->reason_hint = BNC_R_SUPPRESSED;
        }
        if (v != EV_V_COMPLAINT) {
            ev_status(rc, ev_jstr(ds, "enhanced-code"));
            c = ev_jint(ds, "code");
            if (c >= 200 && c <= 599) {
                snprintf(code, sizeof(code), "%d", (int)c);
                memcpy(rc->replycode, code, 4);
            }
            snprintf(diag, sizeof(diag), "%s%s%s", ev_jstr(ds, "message"),
                     ev_jstr(ds, "description")[0] ? " " : "", ev_jstr(ds, "description"));
            ev_diag(st, rc, diag);
        }
        hdrs = json_object_get(json_object_get(ed, "message"), "headers");
        mid = ev_jstr(hdrs, "message-id");
        if (mid[0]) {
            rc->original_message_id = report_strndup(st->r, mid, strlen(mid));
        }
        ev_time(st, rc, ev_jint(ed, "timestamp"));
    }
    json_decref(j);
    return BNC_OK;
}
