/*
 * webhook_postmark.c - Postmark webhooks: Bounce (Type: HardBounce, SoftBounce, Transient,
 * SpamNotification, DnsError, Blocked, BadEmailAddress, ManuallyDeactivated, AutoResponder,
 * Unknown, ...), SpamComplaint and Delivery records, told apart by RecordType (older
 * payloads without it are bounces).
 * STANDARDS: Postmark "Bounce webhook", "Spam complaint webhook", "Bounce types".
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ingest/events_int.h"

struct pm_type {
    const char *type;
    enum ev_vendor v;
    bnc_reason hint;
};

/* clang-format off */
static const struct pm_type pm_types[] = {
    {"HardBounce",          EV_V_PERMANENT,    BNC_R_UNDEFINED},
    {"BadEmailAddress",     EV_V_PERMANENT,    BNC_R_USERUNKNOWN},
    {"ManuallyDeactivated", EV_V_PERMANENT,    BNC_R_SUPPRESSED},
    {"SoftBounce",          EV_V_TRANSIENT,    BNC_R_UNDEFINED},
    {"Transient",           EV_V_TRANSIENT,    BNC_R_UNDEFINED},
    {"DnsError",            EV_V_TRANSIENT,    BNC_R_NETWORKERROR},
    {"SpamNotification",    EV_V_TRANSIENT,    BNC_R_SPAMDETECTED},
    {"Blocked",             EV_V_TRANSIENT,    BNC_R_BLOCKED},
    {"ContentRelated",      EV_V_TRANSIENT,    BNC_R_CONTENTERROR},
    {"VirusNotification",   EV_V_TRANSIENT,    BNC_R_VIRUSDETECTED},
    {"ChallengeVerification", EV_V_TRANSIENT,  BNC_R_FILTERED},
    {"AutoResponder",       EV_V_NONE,         BNC_R_VACATION},
    {"Unknown",             EV_V_UNDETERMINED, BNC_R_UNDEFINED},
    {"SpamComplaint",       EV_V_COMPLAINT,    BNC_R_FEEDBACK},
};
/* clang-format on */

bnc_status
ev_postmark(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen)
{
    json_t *j = ev_json_load(st, data, len, err, errlen);
    const char *rt, *type, *email, *mid, *at;
    const struct pm_type *pt = NULL;
    struct bnc_rcpt *rc;
    char diag[2048], why[96];
    int64_t t;
    size_t i;

    if (j == NULL) {
        return BNC_EPARSE;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(err, errlen, "not a Postmark webhook: expected a JSON object");
        return BNC_EPARSE;
    }
    rt = ev_jstr(j, "RecordType");
    type = ev_jstr(j, "Type");
    email = ev_jstr(j, "Email");
    if (!strcasecmp(rt, "Delivery")) {
        email = ev_jstr(j, "Recipient");
        type = "Delivery";
    } else if (!strcasecmp(rt, "SpamComplaint")) {
        type = "SpamComplaint";
    } else if (rt[0] != '\0' && strcasecmp(rt, "Bounce") != 0) {
        json_decref(j); /* Open, Click, SubscriptionChange: not deliverability facts */
        return BNC_OK;
    }
    if (!strcasecmp(type, "Delivery")) {
        static const struct pm_type delivered = {"Delivery", EV_V_DELIVERED, BNC_R_DELIVERED};
        pt = &delivered;
    }
    for (i = 0; pt == NULL && i < sizeof(pm_types) / sizeof(pm_types[0]); i++) {
        if (!strcasecmp(type, pm_types[i].type)) {
            pt = &pm_types[i];
        }
    }
    if (pt == NULL) {
        json_decref(j); /* Unsubscribe, SubscriptionChange, SMTPApiError, ...: no verdict */
        return BNC_OK;
    }
    snprintf(why, sizeof(why), "%.40s/%lld", type, (long long)ev_jint(j, "TypeCode"));
    if ((rc = ev_add(st, email, strlen(email), pt->v, why)) != NULL) {
        rc->reason_hint = pt->hint;
        if (pt->v != EV_V_COMPLAINT) {
            snprintf(diag, sizeof(diag), "%s%s%s", ev_jstr(j, "Details"),
                     ev_jstr(j, "Details")[0] && ev_jstr(j, "Description")[0] ? " " : "",
                     ev_jstr(j, "Description"));
            ev_diag(st, rc, diag);
        } else {
            rc->feedback_type = "abuse";
        }
        mid = ev_jstr(j, "MessageID");
        if (mid[0]) {
            rc->original_message_id = report_strndup(st->r, mid, strlen(mid));
        }
        at = ev_jstr(j, "BouncedAt");
        if (at[0] == '\0') {
            at = ev_jstr(j, "DeliveredAt");
        }
        if (at[0] && ev_parse_iso8601(at, &t) == 0) {
            ev_time(st, rc, t);
        }
    }
    json_decref(j);
    return BNC_OK;
}
