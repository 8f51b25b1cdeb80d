/*
 * exim.c - Exim main log lines ("mainlog"): the per-address results of a queued message,
 *   DATE TIME [TZ] [[PID]] MSGID FLAG ADDRESS [<ORIG>] [R=router T=transport ...]: TEXT
 * with FLAG "**" (delivery failed, the address bounced), "==" (delivery deferred) or "=>",
 * "->", "*>" (delivered). The arrival line "MSGID <= sender ... id=MESSAGE-ID" is remembered
 * per Exim message id (in the stream, across the pieces a followed log is read in) until
 * "MSGID Completed", so a verdict carries the original message's Message-ID. Lines without
 * a message id (SMTP rejects of mail sent *to* this host, daemon notices) yield nothing: a
 * reject of inbound mail is not a bounce of mail this host sent.
 * Time: the log's local time stamp, with its "+hhmm" when log_timezone is set (else taken
 * as UTC).
 * STANDARDS: Exim specification, "Log files" (the log line flags) and "Message
 * identification" (6-6-2 ids, and the 6-11-4 ids of Exim 4.97 and later); RFC 3463 codes in
 * the error text.
 * LIMITS: a line of EVENTS_MAX_LINE at most (longer ones are skipped and counted); the
 * message ids remembered are events.h's.
 */
#include <stdio.h>
#include <string.h>

#include "ingest/events_int.h"

/* A 6-6-2 or 6-11-4 Exim message id at p[0..n)? */
static bool
exim_is_id(const char *p, size_t n)
{
    size_t i;

    if (!((n == 16 && p[6] == '-' && p[13] == '-') || (n == 23 && p[6] == '-' && p[18] == '-'))) {
        return false;
    }
    for (i = 0; i < n; i++) {
        char c = p[i];
        if (!(c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z'))) {
            return false;
        }
    }
    return true;
}

/* The stamp "YYYY-MM-DD HH:MM:SS[.fff] [+hhmm]" at the start of the line: its time (0 when
 * there is none) and where the rest starts. */
static int64_t
exim_time(const char *p, const char *e, const char **rest)
{
    char buf[40];
    const char *q = p + 19;
    size_t k = 19;
    int64_t t = 0;

    *rest = p;
    if (e - p < 20 || p[4] != '-' || p[10] != ' ' || p[13] != ':') {
        return 0;
    }
    memcpy(buf, p, 19);
    buf[10] = 'T';
    if (q < e && *q == '.') {
        while (q < e && *q != ' ') {
            q++;
        }
    }
    if (e - q > 6 && q[0] == ' ' && (q[1] == '+' || q[1] == '-') && q[2] >= '0' && q[2] <= '9') {
        memcpy(buf + k, q + 1, 5);
        k += 5;
        q += 6;
    }
    buf[k] = '\0';
    *rest = q;
    return ev_parse_iso8601(buf, &t) == 0 ? t : 0;
}

/* The message id and what follows it, after the stamp and an optional "[pid]". */
static const char *
exim_id(const char *p, const char *e, const char **id, size_t *idn)
{
    const char *s;

    while (p < e && *p == ' ') {
        p++;
    }
    if (p < e && *p == '[') {
        const char *c = memchr(p, ']', (size_t)(e - p));
        p = c ? c + 1 : e;
        while (p < e && *p == ' ') {
            p++;
        }
    }
    s = memchr(p, ' ', (size_t)(e - p));
    if (s == NULL || !exim_is_id(p, (size_t)(s - p))) {
        return NULL;
    }
    *id = p;
    *idn = (size_t)(s - p);
    return s + 1;
}

/* "<= sender ... id=MESSAGE-ID" and "Completed": true when the line was one of them. */
static bool
exim_queue_line(struct ev_state *st, const char *id, size_t idn, const char *p, const char *e)
{
    const char *k;

    if (e - p >= 9 && memcmp(p, "Completed", 9) == 0) {
        ev_qid_forget(st->stream, id, idn);
        return true;
    }
    if (e - p < 3 || memcmp(p, "<= ", 3) != 0) {
        return false;
    }
    if ((k = text_find_ci(p, (size_t)(e - p), " id=", 4)) != NULL) {
        const char *m = k + 4, *sp = memchr(m, ' ', (size_t)(e - m));
        ev_qid_put(st->stream, id, idn, m, (size_t)((sp ? sp : e) - m));
    }
    return true;
}

static void
exim_result(struct ev_state *st, const char *p, const char *e, enum ev_vendor v,
            struct bnc_rcpt **out)
{
    const char *a = p, *ae = p, *text;
    char why[24];

    while (ae < e && *ae != ' ' && *ae != ':') {
        ae++;
    }
    if (a < ae && *a == '<' && ae[-1] == '>') {
        a++;
        ae--;
    }
    snprintf(why, sizeof(why), "%.2s", p - 3);
    if ((*out = ev_add(st, a, (size_t)(ae - a), v, why)) == NULL) {
        return;
    }
    /* the error text: after the first ": " that follows the address and its R=/T=/H= */
    text = text_find_ci(ae, (size_t)(e - ae), ": ", 2);
    if (v != EV_V_DELIVERED && text != NULL) {
        char *d = arena_strndup(st->r->arena, text + 2, (size_t)(e - text - 2));
        if (d != NULL) {
            ev_diag(st, *out, d);
        }
        if (text_find_ci(text, (size_t)(e - text), "retry timeout exceeded", 22) != NULL) {
            (*out)->reason_hint = BNC_R_EXPIRED;
        }
    }
}

static void
exim_line(struct ev_state *st, const char *p, size_t n)
{
    const char *e = p + n, *rest, *id, *mid;
    size_t idn;
    enum ev_vendor v;
    struct bnc_rcpt *rc = NULL;
    int64_t t = exim_time(p, e, &rest);

    if ((rest = exim_id(rest, e, &id, &idn)) == NULL || exim_queue_line(st, id, idn, rest, e) ||
        e - rest < 4 || rest[2] != ' ') {
        return;
    }
    if (!memcmp(rest, "**", 2)) {
        v = EV_V_NONE; /* Exim gave up: the classifier decides hard or not */
    } else if (!memcmp(rest, "==", 2)) {
        v = EV_V_TRANSIENT;
    } else if (!memcmp(rest, "=>", 2) || !memcmp(rest, "->", 2) || !memcmp(rest, "*>", 2)) {
        v = EV_V_DELIVERED;
    } else {
        return;
    }
    exim_result(st, rest + 3, e, v, &rc);
    if (rc == NULL) {
        return;
    }
    if (v == EV_V_NONE) {
        rc->action = BNC_ACTION_FAILED;
    }
    rc->message_id = report_strndup(st->r, id, idn);
    if ((mid = ev_qid_get(st->stream, id, idn))[0] != '\0') {
        rc->original_message_id = report_strndup(st->r, mid, strlen(mid));
    }
    ev_time(st, rc, t);
}

bnc_status
ev_exim(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    ev_lines(st, data, len, exim_line);
    return BNC_OK;
}
