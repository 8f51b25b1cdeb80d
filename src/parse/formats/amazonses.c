/*
 * amazonses.c - Amazon SES notifications, decoded once for every way they arrive: by mail
 * (an SNS e-mail or e-mail-JSON subscription: the record, or the SNS envelope, as the text
 * of the message) and by webhook (ingest/webhook_ses.c, SNS over HTTP or event publishing).
 *
 * ses_decode() is the one decoder: the SNS envelope (Type Notification, the SES record as a
 * JSON string in Message) or the record itself; notificationType (SNS notifications) or
 * eventType (event publishing) names it. Bounce: bouncedRecipients[] with status and
 * diagnosticCode, judged by bounceType (Permanent, Transient, Undetermined), the
 * bounceSubType as a reason hint; Complaint: complainedRecipients[] and
 * complaintFeedbackType; Delivery: delivery.recipients[] and smtpResponse; DeliveryDelay:
 * delayedRecipients[] (transient). Send, Reject, Open, Click and the rest yield nothing.
 * Each caller makes verdicts of the events its own way: ses_json_apply() below for mail
 * (Transient as a delayed action, so never hard; the hint as the format's), events.c's
 * vendor judgement for webhooks.
 * STANDARDS: Amazon SES developer guide, "Notification contents" and "Event publishing";
 * RFC 8259 (JSON, through jansson).
 * LIMITS: JSON nesting limits.json_depth, checked on the raw bytes before jansson sees them;
 * the first text part only; recipients bounded by report_add_rcpt.
 * Ownership: strings are allocated from the report's arena.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "parse/formats/formats_int.h"

size_t
json_text_depth(const char *p, size_t n)
{
    size_t i, depth = 0, max = 0;
    bool in_str = false;

    for (i = 0; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_str = false;
            }
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max) {
                max = depth;
            }
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return max;
}

static const char *
ses_str(const json_t *o, const char *key)
{
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : "";
}

static bnc_reason
ses_subtype_hint(const char *sub)
{
    static const struct {
        const char *sub;
        bnc_reason r;
    } t[] = {
        {"NoEmail", BNC_R_USERUNKNOWN},
        {"Suppressed", BNC_R_SUPPRESSED},
        {"OnAccountSuppressionList", BNC_R_SUPPRESSED},
        {"MailboxFull", BNC_R_MAILBOXFULL},
        {"MessageTooLarge", BNC_R_MESGTOOBIG},
        {"ContentRejected", BNC_R_CONTENTERROR},
        {"AttachmentRejected", BNC_R_POLICYVIOLATION},
    };
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (!strcasecmp(sub, t[i].sub)) {
            return t[i].r;
        }
    }
    return BNC_R_UNDEFINED;
}

/* The events of one array of recipient objects (or, for Delivery, address strings). */
static void
ses_each(const json_t *arr, struct ses_event *e, ses_event_fn fn, void *ud)
{
    const json_t *it;
    size_t i;

    json_array_foreach(arr, i, it)
    {
        e->email = json_is_string(it) ? json_string_value(it) : ses_str(it, "emailAddress");
        if (json_is_object(it)) {
            e->status = ses_str(it, "status");
            e->diagnostic = ses_str(it, "diagnosticCode");
        }
        fn(ud, e);
    }
}

static void
ses_record(const json_t *rec, ses_event_fn fn, void *ud)
{
    const char *type = ses_str(rec, "notificationType");
    struct ses_event e;
    const json_t *o;
    char why[96];

    memset(&e, 0, sizeof(e));
    e.status = e.diagnostic = e.reporting_mta = e.feedback_type = "";
    e.message_id = ses_str(json_object_get(rec, "mail"), "messageId");
    e.hint = BNC_R_UNDEFINED;
    e.why = why;
    if (type[0] == '\0') {
        type = ses_str(rec, "eventType");
    }
    if (!strcasecmp(type, "Bounce")) {
        const char *bt;
        o = json_object_get(rec, "bounce");
        bt = ses_str(o, "bounceType");
        e.judgement = !strcasecmp(bt, "Permanent")   ? SES_PERMANENT
                      : !strcasecmp(bt, "Transient") ? SES_TRANSIENT
                                                     : SES_UNDETERMINED;
        e.hint = ses_subtype_hint(ses_str(o, "bounceSubType"));
        e.reporting_mta = ses_str(o, "reportingMTA");
        snprintf(why, sizeof(why), "%.40s/%.40s", bt, ses_str(o, "bounceSubType"));
        e.timestamp = ses_str(o, "timestamp");
        ses_each(json_object_get(o, "bouncedRecipients"), &e, fn, ud);
    } else if (!strcasecmp(type, "Complaint")) {
        o = json_object_get(rec, "complaint");
        e.judgement = SES_COMPLAINT;
        e.feedback_type = ses_str(o, "complaintFeedbackType");
        snprintf(why, sizeof(why), "Complaint");
        e.timestamp = ses_str(o, "timestamp");
        ses_each(json_object_get(o, "complainedRecipients"), &e, fn, ud);
    } else if (!strcasecmp(type, "Delivery")) {
        o = json_object_get(rec, "delivery");
        e.judgement = SES_DELIVERED;
        snprintf(why, sizeof(why), "Delivery");
        e.timestamp = ses_str(o, "timestamp");
        e.diagnostic = ses_str(o, "smtpResponse");
        ses_each(json_object_get(o, "recipients"), &e, fn, ud);
    } else if (!strcasecmp(type, "DeliveryDelay")) {
        o = json_object_get(rec, "deliveryDelay");
        e.judgement = SES_TRANSIENT;
        snprintf(why, sizeof(why), "DeliveryDelay/%.60s", ses_str(o, "delayType"));
        e.timestamp = ses_str(o, "timestamp");
        ses_each(json_object_get(o, "delayedRecipients"), &e, fn, ud);
    }
    /* Send, Reject, Open, Click, Rendering Failure, Subscription: not deliverability facts */
}

static json_t *
ses_load(const char *p, size_t n, size_t max_depth, char *err, size_t errlen)
{
    json_error_t je;
    json_t *j;

    if (json_text_depth(p, n) > max_depth) {
        snprintf(err, errlen, "JSON nested deeper than %zu levels", max_depth);
        return NULL;
    }
    if ((j = json_loadb(p, n, JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, &je)) == NULL) {
        snprintf(err, errlen, "bad JSON at line %d column %d: %.200s", je.line, je.column, je.text);
    }
    return j;
}

enum ses_result
ses_decode(const char *json, size_t len, size_t max_depth, ses_event_fn fn, void *ud, char *err,
           size_t errlen)
{
    json_t *j = ses_load(json, len, max_depth, err, errlen), *inner;
    enum ses_result res = SES_RECORD;
    const char *type;

    if (j == NULL) {
        return SES_INVALID;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(err, errlen, "not an SES/SNS notification: expected a JSON object");
        return SES_INVALID;
    }
    type = ses_str(j, "Type");
    if (!strcasecmp(type, "Notification")) {
        const char *msg = ses_str(j, "Message");
        char ierr[256];
        inner = ses_load(msg, strlen(msg), max_depth, ierr, sizeof(ierr));
        if (json_is_object(inner)) {
            ses_record(inner, fn, ud);
        } else {
            res = SES_FOREIGN;
        }
        json_decref(inner);
    } else if (type[0] != '\0') {
        res = SES_HANDSHAKE;
    } else {
        ses_record(j, fn, ud);
    }
    json_decref(j);
    return res;
}

/* ---- by mail ---- */

static void
ses_codes(struct bnc_rcpt *rc, const char *text)
{
    char st[16] = "", rp[4] = "";
    status_code_from_text(text, strlen(text), st, rp);
    if (rc->status[0] == '\0' && st[0] != '\0') {
        memcpy(rc->status, st, sizeof(rc->status));
    }
    if (rc->replycode[0] == '\0' && rp[0] != '\0') {
        memcpy(rc->replycode, rp, sizeof(rc->replycode));
    }
}

struct ses_mail {
    struct bnc_report *r;
    size_t added;
};

/* One event of a mailed notification as a recipient of the report. */
static void
ses_mail_event(void *ud, const struct ses_event *e)
{
    struct ses_mail *m = ud;
    struct bnc_report *r = m->r;
    const char *addr = addr_normalize(r, e->email, strlen(e->email));
    struct bnc_rcpt *rc;
    size_t used;

    if (addr == NULL || strchr(addr, '@') == NULL) {
        return;
    }
    if ((rc = report_find_rcpt(r, addr)) == NULL) {
        if ((rc = report_add_rcpt(r)) == NULL) {
            return;
        }
        rc->recipient = addr;
        rc->origin = "format:amazonses";
    }
    m->added++;
    /* bounceType decides the class as it does for a webhook: a Transient bounce is a delay
     * (never hard, whatever its code), Permanent and Undetermined a failure */
    rc->action = e->judgement == SES_TRANSIENT   ? BNC_ACTION_DELAYED
                 : e->judgement == SES_DELIVERED ? BNC_ACTION_DELIVERED
                 : e->judgement == SES_COMPLAINT ? BNC_ACTION_NONE
                                                 : BNC_ACTION_FAILED;
    rc->reason_hint = e->judgement == SES_COMPLAINT ? BNC_R_FEEDBACK : e->hint;
    if (e->judgement == SES_COMPLAINT) {
        rc->origin = "arf";
        rc->feedback_type =
            report_strndup(r, e->feedback_type[0] ? e->feedback_type : "abuse",
                           strlen(e->feedback_type[0] ? e->feedback_type : "abuse"));
    }
    if (e->diagnostic[0] != '\0') {
        rc->diagnostic = report_diag(r, e->diagnostic, strlen(e->diagnostic));
        ses_codes(rc, e->diagnostic);
    }
    if (e->status[0] != '\0' && strlen(e->status) < 16) {
        (void)status_code_parse(e->status, strlen(e->status), rc->status, &used);
    }
    if (e->message_id[0] != '\0') {
        rc->original_message_id = report_strndup(r, e->message_id, strlen(e->message_id));
    }
}

/* The JSON as it was before mail transport wrapped its long lines: sendmail breaks a line
 * past 990 bytes with "!", a line break and a space; other mailers break it bare. Neither
 * can be JSON (a raw line break inside a string, or a "!" outside one), so both are undone:
 * a "!" + break + space anywhere, and a break (+ one space) inside a string. */
static size_t
ses_unwrap(const char *p, size_t n, char *out)
{
    size_t i = 0, o = 0;
    bool in_str = false;

    while (i < n) {
        char c = p[i];
        size_t k = i + 1;
        if (c == '!' || (in_str && (c == '\r' || c == '\n'))) {
            k = c == '!' ? i + 1 : i;
            k += k < n && p[k] == '\r' ? 1 : 0;
            k += k < n && p[k] == '\n' ? 1 : 0;
            if (k > i + (c == '!' ? 1 : 0)) {
                i = k + (k < n && p[k] == ' ' ? 1 : 0);
                continue;
            }
            k = i + 1;
        }
        if (in_str && c == '\\' && k < n) {
            out[o++] = c;
            c = p[k++];
        } else if (c == '"') {
            in_str = !in_str;
        }
        out[o++] = c;
        i = k;
    }
    return o;
}

bool
ses_json_apply(struct bnc_report *r)
{
    struct ses_mail m = {r, 0};
    struct bnc_slice t = slice_make("", 0);
    const char *brace;
    char err[256], *json;
    size_t i, n;

    for (i = 0; i < r->mime.nparts; i++) {
        const struct mime_part *mp = &r->mime.parts[i];
        if ((i + 1 < r->mime.nparts && r->mime.parts[i + 1].parent == (int)i) ||
            !(mp->type.len == 0 || mime_part_is(mp, "text", NULL))) {
            continue;
        }
        if (mime_part_text(r->arena, mp, &t) == BNC_OK && t.len > 0) {
            break;
        }
    }
    if (t.len == 0 ||
        (fmt_find_ci(t.p, t.len, "notificationType", 16) == NULL &&
         fmt_find_ci(t.p, t.len, "eventType", 9) == NULL) ||
        (brace = memchr(t.p, '{', t.len)) == NULL) {
        return false;
    }
    n = t.len - (size_t)(brace - t.p);
    if ((json = arena_alloc(r->arena, n + 1)) == NULL) {
        return false;
    }
    n = ses_unwrap(brace, n, json);
    (void)ses_decode(json, n, r->limits.json_depth, ses_mail_event, &m, err, sizeof(err));
    return m.added > 0;
}
