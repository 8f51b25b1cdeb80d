/*
 * amazonses.c - Amazon SES notifications delivered by mail (SNS e-mail subscriptions): a
 * JSON object, often itself escaped inside the SNS envelope's "Message" string, whose
 * notificationType (or eventType) is Bounce, Complaint or Delivery.
 *
 * Bounce: one recipient per bouncedRecipients[].emailAddress with its status, action and
 * diagnosticCode. Complaint: complainedRecipients[] with reason feedback and the
 * complaintFeedbackType. Delivery: delivery.recipients[] with action delivered and the
 * status and reply code of smtpResponse.
 * Doesn't: a full JSON parse. The keys are found by name, tolerating one level of escaping
 * (\" inside a JSON string), which is what SNS produces; values are plain strings.
 * STANDARDS: none (Amazon SES notification contents, as documented by AWS).
 * LIMITS: scans the first text part once per key; recipients bounded by report_add_rcpt.
 * Ownership: strings are allocated from the report's arena.
 */
#include <string.h>

#include "parse/formats/formats_int.h"

/* Find "key" (optionally with escaped quotes) in [p, end); the string value that follows
 * goes to *v_out. Returns the position after the value, or NULL. */
static const char *
ses_value(const char *p, const char *end, const char *key, struct bnc_slice *v_out)
{
    size_t kl = strlen(key);
    while (p < end) {
        const char *k = fmt_find_ci(p, (size_t)(end - p), key, kl);
        const char *q, *vs;
        if (k == NULL) {
            return NULL;
        }
        q = k + kl;
        /* the key must be quoted: "key" or \"key\" */
        if (k == p || (k[-1] != '"') || q >= end || !(*q == '"' || *q == '\\')) {
            p = k + kl;
            continue;
        }
        while (q < end && (*q == '"' || *q == '\\' || *q == ' ' || *q == ':')) {
            q++;
        }
        vs = q;
        while (q < end && *q != '"' && *q != '\\' && *q != '\n') {
            q++;
        }
        *v_out = slice_make(vs, (size_t)(q - vs));
        return q;
    }
    return NULL;
}

static struct bnc_rcpt *
ses_rcpt(struct bnc_report *r, struct bnc_slice a)
{
    const char *addr = addr_normalize(r, a.p, a.len);
    struct bnc_rcpt *rc;
    if (addr == NULL || strchr(addr, '@') == NULL) {
        return NULL;
    }
    rc = report_find_rcpt(r, addr);
    if (rc == NULL && (rc = report_add_rcpt(r)) != NULL) {
        rc->recipient = addr;
        rc->origin = "format:amazonses";
    }
    return rc;
}

static void
ses_codes(struct bnc_rcpt *rc, struct bnc_slice text)
{
    char st[16] = "", rp[4] = "";
    status_code_from_text(text.p, text.len, st, rp);
    if (rc->status[0] == '\0' && st[0] != '\0') {
        memcpy(rc->status, st, sizeof(rc->status));
    }
    if (rc->replycode[0] == '\0' && rp[0] != '\0') {
        memcpy(rc->replycode, rp, sizeof(rc->replycode));
    }
}

/* Addresses of a JSON string array that starts after key. */
static size_t
ses_array(struct bnc_report *r, const char *p, const char *end, const char *key,
          struct bnc_rcpt **first)
{
    const char *k = fmt_find_ci(p, (size_t)(end - p), key, strlen(key));
    const char *close;
    size_t n = 0;
    if (k == NULL) {
        return 0;
    }
    close = memchr(k, ']', (size_t)(end - k));
    if (close == NULL) {
        return 0;
    }
    p = k + strlen(key);
    while (p < close) {
        const char *a;
        size_t an;
        struct bnc_rcpt *rc;
        if (!fmt_find_addr(p, close, &a, &an)) {
            break;
        }
        rc = ses_rcpt(r, slice_make(a, an));
        if (rc != NULL) {
            if (n == 0 && first != NULL) {
                *first = rc;
            }
            n++;
        }
        p = a + an;
    }
    return n;
}

bool
ses_json_apply(struct bnc_report *r)
{
    struct bnc_slice t, type, v;
    const char *p, *end;
    size_t i, added = 0;

    t = slice_make("", 0);
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
    if (t.len == 0 || fmt_find_ci(t.p, t.len, "notificationType", 16) == NULL) {
        if (t.len == 0 || fmt_find_ci(t.p, t.len, "eventType", 9) == NULL) {
            return false;
        }
    }
    p = t.p;
    end = t.p + t.len;
    if (ses_value(p, end, "notificationType", &type) == NULL &&
        ses_value(p, end, "eventType", &type) == NULL) {
        return false;
    }
    if (slice_eq_ci(type, "Bounce")) {
        const char *b = fmt_find_ci(p, t.len, "bouncedRecipients", 17);
        const char *stop;
        if (b == NULL) {
            return false;
        }
        stop = fmt_find_ci(b, (size_t)(end - b), "]", 1);
        stop = stop ? stop : end;
        p = b;
        while (p < stop) {
            const char *next = ses_value(p, stop, "emailAddress", &v);
            const char *objend;
            struct bnc_rcpt *rc;
            struct bnc_slice f;
            if (next == NULL) {
                break;
            }
            objend = memchr(next, '}', (size_t)(stop - next));
            objend = objend ? objend : stop;
            rc = ses_rcpt(r, v);
            if (rc != NULL) {
                added++;
                rc->action = BNC_ACTION_FAILED;
                /* fields may come before or after emailAddress within the object */
                {
                    const char *os = p;
                    if (ses_value(os, objend, "diagnosticCode", &f) != NULL) {
                        rc->diagnostic = report_diag(r, f.p, f.len);
                        ses_codes(rc, f);
                    }
                    if (ses_value(os, objend, "status", &f) != NULL && f.len < 16 &&
                        status_code_parse(f.p, f.len, rc->status, NULL)) {
                        /* the structured status wins over the one in the text */
                    }
                }
            }
            p = objend;
        }
    } else if (slice_eq_ci(type, "Complaint")) {
        struct bnc_rcpt *rc = NULL;
        const char *ft = "abuse";
        if (ses_value(p, end, "complaintFeedbackType", &v) != NULL) {
            ft = report_strndup(r, v.p, v.len);
        }
        added = ses_array(r, p, end, "complainedRecipients", &rc);
        for (i = 0; i < r->nrcpts; i++) {
            r->rcpts[i].reason_hint = BNC_R_FEEDBACK;
            r->rcpts[i].origin = "arf";
            r->rcpts[i].feedback_type = ft;
        }
    } else if (slice_eq_ci(type, "Delivery")) {
        struct bnc_rcpt *rc = NULL;
        const char *d = fmt_find_ci(p, t.len, "\"delivery\"", 10);
        if (d == NULL) {
            d = fmt_find_ci(p, t.len, "delivery\\\"", 10);
        }
        if (d == NULL) {
            return false;
        }
        added = ses_array(r, d, end, "recipients", &rc);
        if (ses_value(d, end, "smtpResponse", &v) != NULL) {
            for (i = 0; i < r->nrcpts; i++) {
                r->rcpts[i].diagnostic = report_diag(r, v.p, v.len);
                ses_codes(&r->rcpts[i], v);
            }
        }
        for (i = 0; i < r->nrcpts; i++) {
            r->rcpts[i].action = BNC_ACTION_DELIVERED;
        }
    }
    return added > 0;
}
