/*
 * maillog.c - Postfix delivery log lines (syslog "maillog"): the delivery agents' (smtp,
 * lmtp, local, virtual, pipe, error, ...) per-recipient results
 *   QUEUEID: to=<rcpt>, [orig_to=<...>,] relay=..., delay=..., dsn=X.Y.Z, status=S (text)
 * with S one of sent, bounced, deferred, expired (the syslog prefix may be absent). Everything else in the log (connections,
 * qmgr, smtpd NOQUEUE rejects of *inbound* mail) yields no verdict: a reject of mail sent to
 * us is not a bounce of mail we sent.
 * Time: RFC 3339 syslog stamps, or the classic "Mmm dd hh:mm:ss" (no year: the most recent
 * such date not in the future).
 * STANDARDS: Postfix bounce(8)/smtp(8) log format; RFC 3463 dsn= codes.
 * LIMITS: a line of 64 KiB at most (longer ones are skipped and flagged).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ingest/events_int.h"

#define MAILLOG_MAX_LINE (64u * 1024u)

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

static void
ml_line(struct ev_state *st, const char *p, size_t n)
{
    const char *e = p + n, *to, *gt, *status, *dsn, *paren, *qid_end, *qid, *relay;
    enum ev_vendor v;
    struct bnc_rcpt *rc;
    char why[32];
    size_t sl;

    /* "QUEUEID: to=<rcpt>, ..." (the address is bracketed in current Postfix, bare in
     * older releases and some agents), then ", status=". The syslog prefix is optional so
     * that the message part alone (as log shippers store it) parses too. */
    if ((to = ml_field(p, e, ": to=")) == NULL) {
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
    paren = status + sl;
    while (paren < e && *paren == ' ') {
        paren++;
    }
    if (paren < e && *paren == '(') {
        const char *close = e;
        while (close > paren + 1 && close[-1] != ')') {
            close--;
        }
        if (close > paren + 1) {
            char *text = arena_strndup(st->r->arena, paren + 1, (size_t)(close - 1 - paren - 1));
            if (text != NULL) {
                ev_diag(st, rc, text);
            }
        }
    }
    if ((relay = ml_field(gt, status, ", relay=")) != NULL) {
        const char *c = memchr(relay, ',', (size_t)(status - relay));
        size_t rl = c ? (size_t)(c - relay) : 0;
        if (rl && !(rl == 4 && !strncmp(relay, "none", 4))) {
            rc->remote_mta = report_strndup(st->r, relay, rl);
        }
    }
    /* queue id: the token before ": to=<" */
    qid_end = to - (to[-1] == '<' ? 6 : 5);
    qid = qid_end;
    while (qid > p && qid[-1] != ' ') {
        qid--;
    }
    if (qid_end > qid) {
        rc->message_id = report_strndup(st->r, qid, (size_t)(qid_end - qid));
    }
    ev_time(st, rc, ml_time(p, n));
}

bnc_status
ev_maillog(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen)
{
    const char *p = data, *end = data + len, *nl;

    (void)err;
    (void)errlen;
    while (p < end) {
        size_t n;
        nl = memchr(p, '\n', (size_t)(end - p));
        n = (size_t)((nl ? nl : end) - p);
        if (n > MAILLOG_MAX_LINE) {
            st->r->flags |= BNC_PF_TRUNCATED;
        } else if (n > 0) {
            ml_line(st, p, n);
        }
        p = nl ? nl + 1 : end;
    }
    return BNC_OK;
}
