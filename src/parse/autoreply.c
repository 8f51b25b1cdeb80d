/*
 * autoreply.c - auto-replies (vacation, out of office): one recipient, the person who
 * answered (the auto-reply's From), with reason_hint vacation and origin "autoreply".
 *
 * Signals, strongest first: RFC 3834 Auto-Submitted: auto-replied, the de-facto headers
 * (X-Autoreply, X-Autorespond, Precedence: auto_reply, X-Vacation),
 * then the Subject and the first lines of the body in several languages ("Out of office",
 * "Automatic reply", "Abwesenheitsnotiz", "Réponse automatique", "自動応答", "不在", ...). A
 * header alone is not enough when the message otherwise looks like a bounce (the sender is
 * MAILER-DAEMON or postmaster): bounces may carry Auto-Submitted too. X-Auto-Response-Suppress
 * is no signal: it asks the receiver not to auto-reply, and Outlook and Exchange put it on
 * ordinary messages.
 * An unsubscribe request mailed to a List-Unsubscribe address is reported here too, as an
 * opt-out complaint from its From.
 * Doesn't: treat an auto-reply as a failure; never called when the message already has
 * delivery-status recipients.
 * STANDARDS: RFC 3834 §5 (Auto-Submitted), §3.1.7 (the response's From).
 * LIMITS: only the first AR_BODY_SCAN bytes of the body are searched.
 * Ownership: strings are allocated from the report's arena.
 */
#include <string.h>

#include "parse/formats/formats_int.h"

#define AR_BODY_SCAN 2048u

static const char *const ar_subjects[] = {
    "out of office",
    "out of the office",
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto-reply",
    "auto response",
    "autoresponse",
    "auto-response",
    "vacation",
    "away from",
    "away until",
    "on leave",
    "abwesenheit",
    "automatische antwort",
    "r\xc3\xa9ponse automatique",
    "absence",
    "risposta automatica",
    "fuori ufficio",
    "respuesta autom\xc3\xa1tica",
    "fuera de la oficina",
    "afwezig",
    "automatisch antwoord",
    "resposta autom\xc3\xa1tica",
    "automatyczna odpowied",      /* Polish: automatyczna odpowiedź */
    "automatick\xc3\xa1 odpov",   /* Czech: automatická odpověď */
    "automatick\xc3\xa1 odpoved", /* Slovak: automatická odpoveď */
    "automatisk svar",            /* Danish, Norwegian, Swedish */
    "automaattinen vastaus",      /* Finnish */
    "otomatik yan",               /* Turkish: otomatik yanıt */
    "\xd0\xb0\xd0\xb2\xd1\x82\xd0\xbe\xd0\xbc\xd0\xb0\xd1\x82\xd0\xb8\xd1\x87\xd0\xb5\xd1\x81\xd0"
    "\xba\xd0\xb8\xd0\xb9 "
    "\xd0\xbe\xd1\x82\xd0\xb2\xd0\xb5\xd1\x82", /* автоматический ответ */
    "\xe8\x87\xaa\xe5\x8a\xa8\xe5\x9b\x9e\xe5\xa4\x8d",                         /* 自动回复 */
    "\xe8\x87\xaa\xe5\x8b\x95\xe5\x9b\x9e\xe8\xa6\x86",                         /* 自動回覆 */
    "\xe8\x87\xaa\xe5\x8b\x95\xe5\xbf\x9c\xe7\xad\x94",                         /* 自動応答 */
    "\xe8\x87\xaa\xe5\x8b\x95\xe8\xbf\x94\xe4\xbf\xa1",                         /* 自動返信 */
    "\xe4\xb8\x8d\xe5\x9c\xa8",                                                 /* 不在 */
    "\xe4\xbc\x91\xe6\x9a\x87",                                                 /* 休暇 */
    "\xd0\xb0\xd0\xb2\xd1\x82\xd0\xbe\xd0\xbe\xd1\x82\xd0\xb2\xd0\xb5\xd1\x82", /* автоответ */
};

static const char *const ar_bodies[] = {
    "i am out of the office",
    "i'm out of the office",
    "i am currently out of",
    "i'm currently out of",
    "i am away",
    "i'm away",
    "i will be out of",
    "i will be away",
    "i am on vacation",
    "i'm on vacation",
    "i am on leave",
    "limited access to email",
    "will respond to your message when i return",
    "ich bin bis",
    "je suis absent",
    "\xe4\xb8\x8d\xe5\x9c\xa8\xe3\x81\xa7\xe3\x81\x99", /* 不在です */
};

static bool
ar_has(const char *hay, size_t n, const char *needle)
{
    return fmt_find_ci(hay, n, needle, strlen(needle)) != NULL;
}

static bool
ar_header_is(struct bnc_slice hdr, const char *name, const char *value)
{
    struct bnc_slice v;
    if (!mime_header_raw(hdr, name, &v)) {
        return false;
    }
    return value == NULL || fmt_find_ci(v.p, v.len, value, strlen(value)) != NULL;
}

/* The one recipient of an auto-reply or unsubscribe request: its From, with the Subject as
 * the diagnostic. NULL when the From is no address or the report is full. */
static struct bnc_rcpt *
ar_from_rcpt(struct bnc_report *r, bnc_reason hint, const char *origin, const char *subj, size_t sl)
{
    const char *a = addr_normalize(r, r->from, strlen(r->from));
    struct bnc_rcpt *rc;

    if (a == NULL || strchr(a, '@') == NULL || (rc = report_add_rcpt(r)) == NULL) {
        return NULL;
    }
    rc->recipient = a;
    rc->reason_hint = hint;
    rc->origin = origin;
    rc->diagnostic = sl ? report_diag(r, subj, sl) : "";
    return rc;
}

/* An unsubscribe request sent to a List-Unsubscribe mailto: address (RFC 2369 §3.2; mail
 * clients send it with the Subject "unsubscribe", Apple Mail marks it X-Apple-Unsubscribe).
 * The person who asked is the From; it is reported as an opt-out complaint. */
static bool
ar_unsubscribe(struct bnc_report *r)
{
    struct bnc_slice hdr = r->mime.parts[0].header;
    struct bnc_slice subj = slice_trim(slice_make(r->subject, strlen(r->subject)));
    struct bnc_rcpt *rc;

    if (!ar_header_is(hdr, "X-Apple-Unsubscribe", "true") &&
        !(subj.len == 11 && slice_prefix_ci(subj, "unsubscribe"))) {
        return false;
    }
    rc = ar_from_rcpt(r, BNC_R_FEEDBACK, "unsubscribe", subj.p, subj.len);
    if (rc == NULL) {
        return false;
    }
    rc->feedback_type = "opt-out";
    return true;
}

bool
autoreply_apply(struct bnc_report *r)
{
    struct bnc_slice hdr = r->mime.parts[0].header;
    const char *subj = r->subject, *from = r->from;
    bool header_sig, subject_sig = false, body_sig = false, bouncy;
    size_t i;

    bouncy = ar_has(from, strlen(from), "mailer-daemon") ||
             ar_has(from, strlen(from), "postmaster") || ar_has(subj, strlen(subj), "undeliver") ||
             ar_has(subj, strlen(subj), "failure") ||
             ar_has(subj, strlen(subj), "delivery status") ||
             (r->mime.nparts > 0 && mime_part_is(&r->mime.parts[0], "multipart", "report")) ||
             ar_header_is(hdr, "X-Failed-Recipients", NULL); /* a header only bounces carry */
    if (bouncy) {
        return false; /* checked first: it is cheap and settles most messages */
    }
    if (ar_unsubscribe(r)) {
        return true;
    }
    header_sig =
        ar_header_is(hdr, "Auto-Submitted", "auto-replied") ||
        ar_header_is(hdr, "X-Autoreply", NULL) || ar_header_is(hdr, "X-Autorespond", NULL) ||
        ar_header_is(hdr, "Precedence", "auto_reply") || ar_header_is(hdr, "X-Vacation", NULL);
    for (i = 0; i < sizeof(ar_subjects) / sizeof(ar_subjects[0]); i++) {
        if (ar_has(subj, strlen(subj), ar_subjects[i])) {
            subject_sig = true;
            break;
        }
    }

    if (!header_sig && !subject_sig) {
        /* the body alone: only for a message whose first lines say so */
        for (i = 0; i < r->mime.nparts; i++) {
            const struct mime_part *p = &r->mime.parts[i];
            struct bnc_slice t;
            size_t k;
            if (!mime_part_is(p, "text", "plain") && !(i == 0 && p->type.len == 0)) {
                continue;
            }
            if (mime_part_text(r->arena, p, &t) != BNC_OK) {
                break;
            }
            if (t.len > AR_BODY_SCAN) {
                t.len = AR_BODY_SCAN;
            }
            for (k = 0; k < sizeof(ar_bodies) / sizeof(ar_bodies[0]); k++) {
                if (fmt_find_ci(t.p, t.len, ar_bodies[k], strlen(ar_bodies[k])) != NULL) {
                    body_sig = true;
                    break;
                }
            }
            break;
        }
        if (!body_sig) {
            return false;
        }
    }
    return ar_from_rcpt(r, BNC_R_VACATION, "autoreply", subj, strlen(subj)) != NULL;
}
