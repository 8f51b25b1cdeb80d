/*
 * arf.c - abuse feedback reports (ARF, RFC 5965) and the complaint notices that providers
 * send without the machine-readable part (a "complaint about message from" with the
 * message attached, or the reported message itself with Microsoft's
 * X-HmXmrOriginalRecipient). Amazon SES complaints in JSON are read by formats/amazonses.c.
 *
 * Every complaining recipient becomes one recipient with reason_hint feedback, origin "arf"
 * and feedback_type from Feedback-Type. The recipient is each Original-Rcpt-To field, else
 * Removal-Recipient, else X-HmXmrOriginalRecipient, else the returned message's To.
 * Doesn't: classify (classify.c maps reason_hint feedback to the complaint kind); does not
 * treat a delivery-status report as a complaint.
 * STANDARDS: RFC 5965 §3.1-3.2 (message/feedback-report fields), RFC 6650 (reporting),
 * RFC 6522 (multipart/report).
 * LIMITS: the feedback part is walked once, line by line; recipients are bounded by
 * report_add_rcpt (dsn_rcpts).
 * Ownership: strings are allocated from the report's arena.
 */
#include <string.h>

#include "parse/formats/formats_int.h"

static struct bnc_rcpt *
arf_add(struct bnc_report *r, const char *p, size_t n, const char *ftype)
{
    const char *a = addr_normalize(r, p, n);
    struct bnc_rcpt *rc;

    if (a == NULL || strchr(a, '@') == NULL) {
        return NULL;
    }
    rc = report_find_rcpt(r, a);
    if (rc == NULL) {
        rc = report_add_rcpt(r);
        if (rc == NULL) {
            return NULL;
        }
        rc->recipient = a;
    }
    rc->reason_hint = BNC_R_FEEDBACK;
    rc->origin = "arf";
    rc->feedback_type = ftype;
    return rc;
}

/* Walk the fields of a message/feedback-report body. */
static size_t
arf_fields(struct bnc_report *r, struct bnc_slice body)
{
    const char *p = body.p, *end = body.p + body.len;
    const char *ftype = "";
    struct bnc_slice v;
    size_t added = 0;
    struct bnc_slice hdr = slice_make(body.p, body.len);
    const char *date = NULL, *mta = NULL;

    if (mime_header_raw(hdr, "Feedback-Type", &v)) {
        v = slice_trim(v);
        ftype = report_strndup(r, v.p, v.len);
    }
    if (mime_header_raw(hdr, "Arrival-Date", &v) || mime_header_raw(hdr, "Received-Date", &v)) {
        v = slice_trim(v);
        date = report_strndup(r, v.p, v.len);
    }
    if (mime_header_raw(hdr, "Reporting-MTA", &v)) {
        v = slice_trim(v);
        mta = report_strndup(r, v.p, v.len);
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        struct bnc_slice line = slice_make(p, (size_t)(le - p));
        if (slice_prefix_ci(line, "Original-Rcpt-To:")) {
            struct bnc_rcpt *rc = arf_add(r, p + 17, (size_t)(le - p - 17), ftype);
            if (rc != NULL) {
                added++;
                if (date != NULL) {
                    rc->date = date;
                }
                if (mta != NULL) {
                    rc->reporting_mta = mta;
                }
            }
        }
        p = nl ? nl + 1 : end;
    }
    if (added == 0 && mime_header_raw(hdr, "Removal-Recipient", &v)) {
        added += arf_add(r, v.p, v.len, ftype) != NULL;
    }
    if (added == 0 && r->orig_to[0] != '\0') {
        added += arf_add(r, r->orig_to, strlen(r->orig_to), ftype) != NULL;
    }
    return added;
}

/* A returned message's To, read from the first message/rfc822 part. */
static const char *
arf_returned_to(struct bnc_report *r)
{
    size_t i;
    if (r->orig_to[0] != '\0') {
        return r->orig_to;
    }
    for (i = 0; i + 1 < r->mime.nparts; i++) {
        if (mime_part_is(&r->mime.parts[i], "message", "rfc822") &&
            r->mime.parts[i + 1].parent == (int)i) {
            const char *to = mime_header(r->arena, r->mime.parts[i + 1].header, "To");
            return to ? to : "";
        }
    }
    return "";
}

bool
arf_apply(struct bnc_report *r)
{
    size_t i, added = 0;
    bool is_arf = false;

    for (i = 0; i < r->mime.nparts; i++) {
        const struct mime_part *p = &r->mime.parts[i];
        struct bnc_slice body;
        if (!mime_part_is(p, "message", "feedback-report")) {
            continue;
        }
        is_arf = true;
        if (mime_part_decoded(r->arena, p, &body) != BNC_OK) {
            r->flags |= BNC_PF_TRUNCATED;
        }
        /* fields may sit in the part "header" when the blank line is missing */
        if (body.len == 0 || fmt_find_ci(body.p, body.len, "Feedback-Type", 13) == NULL) {
            body = slice_make(p->header.p, (size_t)(p->body.p + p->body.len - p->header.p));
        }
        added += arf_fields(r, body);
    }
    if (!is_arf && r->mime.nparts > 0 &&
        slice_eq_ci(r->mime.parts[0].report_type, "feedback-report")) {
        is_arf = true;
    }
    if (!is_arf && fmt_find_ci(r->subject, strlen(r->subject), "complaint about message", 23)) {
        const char *to = arf_returned_to(r);
        is_arf = true;
        if (to[0] != '\0' && arf_add(r, to, strlen(to), "abuse") != NULL) {
            added++;
        }
    }
    if (!is_arf && r->mime.nparts > 0) {
        /* Microsoft's earlier junk mail reports (JMRP) returned the reported message itself,
         * from staff@hotmail.com, with the complaining mailbox in X-HmXmrOriginalRecipient */
        const char *who =
            mime_header(r->arena, r->mime.parts[0].header, "X-HmXmrOriginalRecipient");
        if (who != NULL && who[0] != '\0') {
            is_arf = true;
            if (arf_add(r, who, strlen(who), "abuse") != NULL) {
                added++;
            }
        }
    }
    if (is_arf && added == 0) {
        const char *to = arf_returned_to(r);
        if (to[0] != '\0') {
            arf_add(r, to, strlen(to), "");
        }
    }
    return is_arf;
}
