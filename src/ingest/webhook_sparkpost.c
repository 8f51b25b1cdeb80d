/*
 * webhook_sparkpost.c - SparkPost message-event webhooks: a JSON array of {"msys": {
 * "message_event" | "track_event" | ...: {...}}} (a single object is accepted too).
 *
 * bounce and out_of_band carry a bounce_class: 10 (invalid recipient) and 30 (generic
 * bounce, no RCPT) are permanent; the others are temporary or the sender's problem, with
 * the class as a hint (21 DNS, 22 mailbox full, 23 too large, 50-54 blocks, ...). delay is
 * temporary, delivery delivered, spam_complaint a complaint (fbtype). Other events
 * (injection, policy_rejection, generation failures, opens, clicks) yield nothing.
 * STANDARDS: SparkPost "Webhook event reference", "Bounce classification codes".
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ingest/events_int.h"

struct sp_class {
    int cls;
    enum ev_vendor v;
    bnc_reason hint;
};

/* clang-format off */
static const struct sp_class sp_classes[] = {
    {1,   EV_V_TRANSIENT, BNC_R_UNDEFINED},      /* undetermined */
    {10,  EV_V_PERMANENT, BNC_R_USERUNKNOWN},    /* invalid recipient */
    {20,  EV_V_TRANSIENT, BNC_R_UNDEFINED},      /* soft bounce */
    {21,  EV_V_TRANSIENT, BNC_R_NETWORKERROR},   /* DNS failure */
    {22,  EV_V_TRANSIENT, BNC_R_MAILBOXFULL},    /* mailbox full */
    {23,  EV_V_TRANSIENT, BNC_R_MESGTOOBIG},     /* too large */
    {24,  EV_V_TRANSIENT, BNC_R_EXPIRED},        /* timeout */
    {25,  EV_V_TRANSIENT, BNC_R_POLICYVIOLATION},/* admin failure */
    {30,  EV_V_PERMANENT, BNC_R_USERUNKNOWN},    /* generic bounce: no RCPT */
    {40,  EV_V_TRANSIENT, BNC_R_UNDEFINED},      /* generic bounce */
    {50,  EV_V_TRANSIENT, BNC_R_BLOCKED},        /* mail block */
    {51,  EV_V_TRANSIENT, BNC_R_BLOCKED},        /* spam block */
    {52,  EV_V_TRANSIENT, BNC_R_SPAMDETECTED},   /* spam content */
    {53,  EV_V_TRANSIENT, BNC_R_POLICYVIOLATION},/* prohibited attachment */
    {54,  EV_V_TRANSIENT, BNC_R_NORELAYING},     /* relaying denied */
    {60,  EV_V_NONE,      BNC_R_VACATION},       /* auto-reply */
    {70,  EV_V_TRANSIENT, BNC_R_UNDEFINED},      /* transient failure */
    {100, EV_V_TRANSIENT, BNC_R_FILTERED},       /* challenge-response */
};
/* clang-format on */

static void
sparkpost_event(struct ev_state *st, const json_t *ev)
{
    const char *type = ev_jstr(ev, "type");
    const char *rcpt = ev_jstr(ev, "rcpt_to");
    const char *mid = ev_jstr(ev, "message_id");
    enum ev_vendor v = EV_V_NONE;
    bnc_reason hint = BNC_R_UNDEFINED;
    struct bnc_rcpt *rc;
    char why[64], code[8];
    int64_t cls = ev_jint(ev, "bounce_class"), ec;
    size_t i;

    if (!strcasecmp(type, "bounce") || !strcasecmp(type, "out_of_band") ||
        !strcasecmp(type, "delay")) {
        v = !strcasecmp(type, "delay") ? EV_V_TRANSIENT : EV_V_UNDETERMINED;
        for (i = 0; i < sizeof(sp_classes) / sizeof(sp_classes[0]); i++) {
            if (sp_classes[i].cls == cls) {
                if (strcasecmp(type, "delay") != 0 || sp_classes[i].v != EV_V_PERMANENT) {
                    v = sp_classes[i].v;
                }
                hint = sp_classes[i].hint;
            }
        }
        if (cls == 80 || cls == 90) {
            return; /* list (un)subscribe requests sent as mail: not a delivery failure */
        }
        snprintf(why, sizeof(why), "%.20s/class %lld", type, (long long)cls);
    } else if (!strcasecmp(type, "delivery")) {
        v = EV_V_DELIVERED;
        snprintf(why, sizeof(why), "delivery");
    } else if (!strcasecmp(type, "spam_complaint")) {
        v = EV_V_COMPLAINT;
        snprintf(why, sizeof(why), "spam_complaint");
    } else {
        return;
    }
    if ((rc = ev_add(st, rcpt, strlen(rcpt), v, why)) == NULL) {
        return;
    }
    rc->reason_hint = hint;
    if (v == EV_V_COMPLAINT) {
        const char *fbt = ev_jstr(ev, "fbtype");
        rc->feedback_type = report_strndup(st->r, fbt[0] ? fbt : "abuse", strlen(fbt[0] ? fbt : "abuse"));
    } else {
        const char *raw = ev_jstr(ev, "raw_reason");
        ev_diag(st, rc, raw[0] ? raw : ev_jstr(ev, "reason"));
        ec = ev_jint(ev, "error_code");
        if (ec >= 200 && ec <= 599) {
            snprintf(code, sizeof(code), "%d", (int)ec);
            memcpy(rc->replycode, code, 4);
        }
    }
    if (mid[0]) {
        rc->original_message_id = report_strndup(st->r, mid, strlen(mid));
    }
    ev_time(st, rc, ev_jint(ev, "timestamp"));
}

static void
sparkpost_wrapper(struct ev_state *st, const json_t *w)
{
    json_t *msys = json_object_get(w, "msys"), *ev;
    const char *key;

    if (!json_is_object(msys)) {
        return;
    }
    json_object_foreach(msys, key, ev)
    {
        if (json_is_object(ev)) {
            sparkpost_event(st, ev);
        }
    }
}

bnc_status
ev_sparkpost(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen)
{
    json_t *j = ev_json_load(st, data, len, err, errlen), *it;
    size_t i;

    if (j == NULL) {
        return BNC_EPARSE;
    }
    if (json_is_array(j)) {
        json_array_foreach(j, i, it)
        {
            sparkpost_wrapper(st, it);
        }
    } else if (json_is_object(j)) {
        sparkpost_wrapper(st, j);
    } else {
        json_decref(j);
        snprintf(err, errlen, "not a SparkPost event batch: expected a JSON array");
        return BNC_EPARSE;
    }
    json_decref(j);
    return BNC_OK;
}
