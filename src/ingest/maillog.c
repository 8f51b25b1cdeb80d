/*
 * maillog.c - Postfix delivery log lines (syslog "maillog"): the delivery agents' (smtp,
 * lmtp, local, virtual, pipe, error, ...) per-recipient results
 *   QUEUEID: to=<rcpt>, [orig_to=<...>,] relay=..., delay=..., dsn=X.Y.Z, status=S (text)
 * with S one of sent, bounced, deferred, expired (the syslog prefix may be absent). Everything else in the log (connections,
 * qmgr, smtpd NOQUEUE rejects of *inbound* mail) yields no verdict: a reject of mail sent to
 * us is not a bounce of mail we sent.
 * A verdict carries the original message's Message-ID when the log named it earlier: the
 * cleanup(8) line "QUEUEID: message-id=<...>" is remembered per queue id (in the stream, so
 * across the pieces a followed log is read in) until qmgr's "QUEUEID: removed".
 * Time: RFC 3339 syslog stamps, or the classic "Mmm dd hh:mm:ss" (no year: the most recent
 * such date not in the future).
 * STANDARDS: Postfix bounce(8)/smtp(8) log format; RFC 3463 dsn= codes.
 * LIMITS: a line of EVENTS_MAX_LINE at most (longer ones are skipped and counted); the
 * queue ids remembered are events.h's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ingest/events_int.h"

/* Find "key" in [p, e) and return the start of its value, or NULL. */
static const char *
ml_field(const char *p, const char *e, const char *key)
{
    const char *k = e > p ? text_find_ci(p, (size_t)(e - p), key, strlen(key)) : NULL;
    return k ? k + strlen(key) : NULL;
}

static int64_t
ml_time(const char *p, size_t n)
{
    static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char buf[40];
    struct tm tm, now_tm;
    time_t now;
    int64_t t;
    int m;

    if (n >= 19 && p[4] == '-' && p[10] == 'T') {
        size_t k = n < sizeof(buf) - 1 ? n : sizeof(buf) - 1;
        const char *sp = memchr(p, ' ', k);
        if (sp != NULL) {
            k = (size_t)(sp - p);
        }
        memcpy(buf, p, k);
        buf[k] = '\0';
        return ev_parse_iso8601(buf, &t) == 0 ? t : 0;
    }
    if (n < 15) {
        return 0;
    }
    for (m = 0; m < 12; m++) {
        if (strncmp(p, mon + 3 * m, 3) == 0) {
            break;
        }
    }
    if (m == 12) {
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    memcpy(buf, p + 4, 11);
    buf[11] = '\0';
    if (strptime(buf, "%d %H:%M:%S", &tm) == NULL) {
        return 0;
    }
    now = time(NULL);
    gmtime_r(&now, &now_tm);
    tm.tm_mon = m;
    tm.tm_year = now_tm.tm_year;
    t = (int64_t)timegm(&tm);
    if (t > (int64_t)now + 86400) {
        tm.tm_year--;
        t = (int64_t)timegm(&tm);
    }
    return t;
}

/* The queue id: the token that ends at q_end (just before ": "). */
static size_t
ml_qid(const char *p, const char *q_end, const char **q_out)
{
    const char *q = q_end;

    while (q > p && q[-1] != ' ') {
        q--;
    }
    *q_out = q;
    return (size_t)(q_end - q);
}

/* "QUEUEID: message-id=<...>" and "QUEUEID: removed": true when the line was one of them. */
static bool
ml_queue_line(struct ev_state *st, const char *p, const char *e)
{
    const char *k, *q, *m, *gt;
    size_t qn;

    if ((k = ml_field(p, e, ": message-id=")) != NULL) {
        qn = ml_qid(p, k - 13, &q);
        m = k < e && *k == '<' ? k + 1 : k;
        gt = memchr(m, m > k ? '>' : ' ', (size_t)(e - m));
        ev_qid_put(st->stream, q, qn, m, (size_t)((gt ? gt : e) - m));
        return true;
    }
    if (e - p > 9 && memcmp(e - 9, ": removed", 9) == 0) {
        qn = ml_qid(p, e - 9, &q);
        ev_qid_forget(st->stream, q, qn);
        return true;
    }
    return false;
}

/* The "(text)" after the status: the diagnostic, up to the last ')' of the line. */
static void
ml_text(struct ev_state *st, struct bnc_rcpt *rc, const char *paren, const char *e)
{
    const char *close = e;
    char *text;

    while (paren < e && *paren == ' ') {
        paren++;
    }
    if (paren >= e || *paren != '(') {
        return;
    }
    while (close > paren + 1 && close[-1] != ')') {
        close--;
    }
    if (close > paren + 1 &&
        (text = arena_strndup(st->r->arena, paren + 1, (size_t)(close - 1 - paren - 1))) != NULL) {
        ev_diag(st, rc, text);
    }
}

static void
ml_line(struct ev_state *st, const char *p, size_t n)
{
    const char *e = p + n, *to, *gt, *status, *dsn, *qid_end, *qid, *relay;
    enum ev_vendor v;
    struct bnc_rcpt *rc;
    char why[32];
    size_t sl;

    /* "QUEUEID: to=<rcpt>, ..." (the address is bracketed in current Postfix, bare in
     * older releases and some agents), then ", status=". The syslog prefix is optional so
     * that the message part alone (as log shippers store it) parses too. */
    if (ml_queue_line(st, p, e) || (to = ml_field(p, e, ": to=")) == NULL) {
        return;
    }
    if (to < e && *to == '<') {
        to++;
        gt = memchr(to, '>', (size_t)(e - to));
    } else {
        gt = memchr(to, ',', (size_t)(e - to));
    }
    if (gt == NULL || gt == to || (status = ml_field(gt, e, " status=")) == NULL) {
        return;
    }
    sl = 0;
    while (status + sl < e && status[sl] >= 'a' && status[sl] <= 'z') {
        sl++;
    }
    if (sl == 4 && !strncmp(status, "sent", 4)) {
        v = EV_V_DELIVERED;
    } else if (sl == 7 && !strncmp(status, "bounced", 7)) {
        v = EV_V_NONE; /* Postfix gave up: the classifier decides hard or not */
    } else if ((sl == 8 && !strncmp(status, "deferred", 8))) {
        v = EV_V_TRANSIENT;
    } else if (sl == 7 && !strncmp(status, "expired", 7)) {
        v = EV_V_NONE;
    } else {
        return;
    }
    snprintf(why, sizeof(why), "status=%.*s", (int)sl, status);
    if ((rc = ev_add(st, to, (size_t)(gt - to), v, why)) == NULL) {
        return;
    }
    if (v != EV_V_DELIVERED && v != EV_V_TRANSIENT) {
        rc->action = BNC_ACTION_FAILED;
    }
    if (sl == 7 && !strncmp(status, "expired", 7)) {
        rc->reason_hint = BNC_R_EXPIRED;
    }
    if ((dsn = ml_field(p, gt, ", dsn=")) != NULL || (dsn = ml_field(gt, status, ", dsn=")) != NULL) {
        char code[16];
        size_t used;
        if (status_code_parse(dsn, (size_t)(e - dsn), code, &used)) {
            memcpy(rc->status, code, sizeof(rc->status));
        }
    }
    ml_text(st, rc, status + sl, e);
    if ((relay = ml_field(gt, status, ", relay=")) != NULL) {
        const char *c = memchr(relay, ',', (size_t)(status - relay));
        size_t rl = c ? (size_t)(c - relay) : 0;
        if (rl && !(rl == 4 && !strncmp(relay, "none", 4))) {
            rc->remote_mta = report_strndup(st->r, relay, rl);
        }
    }
    /* queue id: the token before ": to=<" */
    qid_end = to - (to[-1] == '<' ? 6 : 5);
    if (ml_qid(p, qid_end, &qid) > 0) {
        const char *mid = ev_qid_get(st->stream, qid, (size_t)(qid_end - qid));
        rc->message_id = report_strndup(st->r, qid, (size_t)(qid_end - qid));
        if (mid[0] != '\0') {
            rc->original_message_id = report_strndup(st->r, mid, strlen(mid));
        }
    }
    ev_time(st, rc, ml_time(p, n));
}

bnc_status
ev_maillog(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    ev_lines(st, data, len, ml_line);
    return BNC_OK;
}
