/*
 * fallback.c - last resort for bounces that neither a delivery-status part nor a format
 * recognizer understood: X-Failed-Recipients, then the addresses named in the
 * human-readable text before the returned message, each with the lines that follow it as
 * its diagnostic. Recipients found here carry origin "text" and BNC_PF_HEURISTIC.
 *
 * Runs only when the report has no recipient yet and the message looks like a bounce (a
 * null or daemon sender, or a failure subject); never for BNC_PF_NOT_BOUNCE.
 * Does not classify and does not know any MTA's wording beyond generic markers.
 * STANDARDS: RFC 3464 §1 (the human-readable part), RFC 5321 §4.5.5 (null reverse-path).
 * LIMITS: looks at FB_TEXT_MAX bytes of text at most, FB_MAX_RCPTS addresses, and
 * FB_DIAG_LINES lines of diagnostic per address; linear scans only.
 */
#include "parse/parse.h"

#include <string.h>

#define FB_TEXT_MAX   (64u * 1024u)
#define FB_MAX_RCPTS  16
#define FB_DIAG_LINES 4
#define FB_ADDR_MAX   320

static bool
fb_looks_like_bounce(struct bnc_report *r)
{
    static const char *const senders[] = {"mailer-daemon", "postmaster",   "mail delivery",
                                          "mail-daemon",   "mailerdaemon", "bounce"};
    static const char *const subjects[] = {"undeliver",
                                           "returned",
                                           "failure",
                                           "failed",
                                           "delivery status",
                                           "not delivered",
                                           "undelivered",
                                           "rejected",
                                           "bounce",
                                           "delivery notification",
                                           "could not be delivered",
                                           "non remis",
                                           "unzustellbar",
                                           "error",
                                           "warning: could not send",
                                           "delayed",
                                           "nondeliverable",
                                           "mail delivery"};
    size_t i, fl = strlen(r->from), sl = strlen(r->subject);
    struct bnc_slice rp;

    for (i = 0; i < sizeof(senders) / sizeof(senders[0]); i++) {
        if (text_find_ci(r->from, fl, senders[i], strlen(senders[i])) != NULL) {
            return true;
        }
    }
    for (i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
        if (text_find_ci(r->subject, sl, subjects[i], strlen(subjects[i])) != NULL) {
            return true;
        }
    }
    if (mime_header_raw(r->mime.parts[0].header, "Return-Path", &rp)) {
        rp = slice_trim(rp);
        if (rp.len == 0 || slice_eq_ci(rp, "<>")) {
            return true;
        }
    }
    return false;
}

/* Where the returned message starts inside the text (or end). */
static const char *
fb_text_end(const char *p, const char *end)
{
    static const char *const markers[] = {
        "copy of the message",          "original message",
        "message text follows",         "below this line",
        "message header follows",       "headers of the original",
        "unsent message follows",       "returned mail follows",
        "content-type: message/rfc822", "content-type: text/rfc822-headers",
        "undelivered message headers",  "header of the original message",
        "original message headers",
    };
    static const char *const keys[] = {"message", "rfc822", "returned mail", "below this line",
                                       "headers of the original"};
    const char *best, *q;

    best = text_find_marker_line(p, (size_t)(end - p), keys, sizeof(keys) / sizeof(keys[0]),
                                 markers, sizeof(markers) / sizeof(markers[0]));
    if (best == NULL) {
        best = end;
    }
    /* a header block of the returned message without any marker */
    for (q = p; q < best;) {
        const char *nl = memchr(q, '\n', (size_t)(best - q));
        if ((size_t)(best - q) > 12 &&
            (memcmp(q, "Received: ", 10) == 0 || memcmp(q, "Return-Path:", 12) == 0 ||
             memcmp(q, "Return-path:", 12) == 0)) {
            return q;
        }
        if (nl == NULL) {
            break;
        }
        q = nl + 1;
    }
    return best;
}

static bool
fb_addr_char(unsigned char c)
{
    return c > ' ' && c < 127 && c != '<' && c != '>' && c != '(' && c != ')' && c != ',' &&
           c != ';' && c != '"' && c != '[' && c != ']' && c != ':' && c != '\'';
}

static bool
fb_excluded(struct bnc_report *r, const char *a, const char *const *skip, size_t nskip)
{
    size_t i, al = strlen(a);
    const char *at = strchr(a, '@');

    if (at == NULL) {
        return true;
    }
    if (text_find_ci(a, (size_t)(at - a), "postmaster", 10) == a ||
        text_find_ci(a, (size_t)(at - a), "mailer-daemon", 13) == a ||
        text_find_ci(a, (size_t)(at - a), "mailer_daemon", 13) == a ||
        text_find_ci(a, (size_t)(at - a), "mail-daemon", 11) == a) {
        return true;
    }
    for (i = 0; i < nskip; i++) {
        if (skip[i] != NULL && strlen(skip[i]) == al && strcmp(skip[i], a) == 0) {
            return true;
        }
    }
    (void)r;
    return false;
}

static void
fb_add(struct bnc_report *r, const char *addr, const char *line_end, const char *end)
{
    struct bnc_rcpt *rc;
    const char *s = line_end, *e = line_end;
    int lines = 0;
    char st[16], rp[4];
    struct bnc_slice d;

    if (report_find_rcpt(r, addr) != NULL) {
        return;
    }
    rc = report_add_rcpt(r);
    if (rc == NULL) {
        return;
    }
    rc->recipient = addr;
    rc->origin = "text";
    rc->action = BNC_ACTION_FAILED;
    r->flags |= BNC_PF_HEURISTIC;
    /* the diagnostic: the rest of the address line and the lines up to a blank one */
    while (e < end && lines < FB_DIAG_LINES) {
        const char *nl = memchr(e, '\n', (size_t)(end - e));
        const char *le = nl ? nl + 1 : end;
        if (slice_trim(slice_make(e, (size_t)(le - e))).len == 0) {
            if (e > s && lines > 0) {
                break;
            }
            s = le; /* skip blank lines right after the address */
            e = le;
            continue;
        }
        e = le;
        lines++;
    }
    d = slice_trim(slice_make(s, (size_t)(e - s)));
    rc->diagnostic = report_diag(r, d.p, d.len);
    status_code_from_text(rc->diagnostic, strlen(rc->diagnostic), st, rp);
    memcpy(rc->status, st, sizeof(st));
    memcpy(rc->replycode, rp, sizeof(rp));
}

void
parse_fallback(struct bnc_report *r)
{
    const struct mime_msg *m = &r->mime;
    const char *skip[6];
    struct bnc_slice raw, text = SLICE_NULL;
    const char *p, *end;
    size_t i, nskip = 0;

    if (r->nrcpts > 0 || (r->flags & BNC_PF_NOT_BOUNCE) || !fb_looks_like_bounce(r)) {
        return;
    }
    /* Exim and others name the failed recipients in a header */
    if (mime_header_raw(m->parts[0].header, "X-Failed-Recipients", &raw)) {
        const char *q = raw.p, *qe = raw.p + raw.len;
        while (q < qe && r->nrcpts < FB_MAX_RCPTS) {
            const char *c = memchr(q, ',', (size_t)(qe - q));
            const char *ce = c ? c : qe;
            const char *a = addr_normalize(r, q, (size_t)(ce - q));
            if (a != NULL && report_find_rcpt(r, a) == NULL) {
                struct bnc_rcpt *rc = report_add_rcpt(r);
                if (rc == NULL) {
                    break;
                }
                rc->recipient = a;
                rc->origin = "text";
                rc->action = BNC_ACTION_FAILED;
                r->flags |= BNC_PF_HEURISTIC;
            }
            q = ce + 1;
        }
    }
    /* the first text part outside a returned message */
    for (i = 0; i < m->nparts; i++) {
        const struct mime_part *pt = &m->parts[i];
        int k;
        bool inside = false;
        if (i + 1 < m->nparts && m->parts[i + 1].parent == (int)i &&
            !(pt->flags & BNC_PF_NO_BOUNDARY)) {
            continue; /* a container */
        }
        for (k = pt->parent; k >= 0; k = m->parts[k].parent) {
            if (mime_part_is(&m->parts[k], "message", NULL)) {
                inside = true;
            }
        }
        if (inside || !(mime_part_is(pt, "text", NULL) || (pt->flags & BNC_PF_NO_BOUNDARY))) {
            continue;
        }
        if (mime_part_text(r->arena, pt, &text) != BNC_OK) {
            return;
        }
        if (text.len > 0 && !mime_part_is(pt, "text", "html")) {
            break;
        }
    }
    if (text.len == 0) {
        return;
    }
    skip[nskip++] = r->return_path;
    if (mime_header_raw(m->parts[0].header, "To", &raw)) {
        skip[nskip++] = addr_normalize(r, raw.p, raw.len);
    }
    if (mime_header_raw(m->parts[0].header, "From", &raw)) {
        skip[nskip++] = addr_normalize(r, raw.p, raw.len);
    }
    if (r->orig_headers.len && mime_header_raw(r->orig_headers, "From", &raw)) {
        skip[nskip++] = addr_normalize(r, raw.p, raw.len);
    }
    if (mime_header_raw(m->parts[0].header, "Reply-To", &raw)) {
        skip[nskip++] = addr_normalize(r, raw.p, raw.len);
    }
    p = text.p;
    end = text.p + (text.len > FB_TEXT_MAX ? FB_TEXT_MAX : text.len);
    end = fb_text_end(p, end);
    while (p < end && r->nrcpts < FB_MAX_RCPTS) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl + 1 : end, *at = p;
        while ((at = memchr(at, '@', (size_t)(le - at))) != NULL) {
            const char *s = at, *e = at + 1, *a;
            while (s > p && fb_addr_char((unsigned char)s[-1])) {
                s--;
            }
            while (e < le && fb_addr_char((unsigned char)*e)) {
                e++;
            }
            at = e;
            if ((size_t)(e - s) > FB_ADDR_MAX) {
                continue;
            }
            /* "MAIL FROM:<sender>" names the sender, not a recipient */
            if (s - p >= 6 && text_find_ci(s - 6, 6, "from:", 5) != NULL) {
                continue;
            }
            a = addr_normalize(r, s, (size_t)(e - s));
            if (a == NULL || fb_excluded(r, a, skip, nskip)) {
                continue;
            }
            fb_add(r, a, e, end);
        }
        p = le;
    }
}
