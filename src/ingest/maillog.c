/*
 * maillog.c - Postfix delivery log lines (syslog "maillog"): the delivery agents' (smtp,
 * lmtp, local, virtual, pipe, error, ...) per-recipient results
 *   QUEUEID: to=<rcpt>, [orig_to=<...>,] relay=..., delay=..., dsn=X.Y.Z, status=S (text)
 * with S one of sent, bounced, deferred, expired (the syslog prefix may be absent). Everything else in the log (connections,
 * qmgr, smtpd NOQUEUE rejects of *inbound* mail) yields no verdict: a reject of mail sent to
 * us is not a bounce of mail we sent.
 * A cleanup(8) line "QUEUEID: message-id=<...>" earlier in the same input gives the delivery
 * lines of that queue id their original Message-ID (the event key of the failure, so the same
 * bounce as a DSN is one event).
 * Time: RFC 3339 syslog stamps, or the classic "Mmm dd hh:mm:ss" (no year: the most recent
 * such date not in the future).
 * STANDARDS: Postfix bounce(8)/smtp(8) log format; RFC 3463 dsn= codes.
 * LIMITS: a line of 64 KiB at most (longer ones are skipped and flagged); ML_MSGIDS queue
 * ids remembered per input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/xmalloc.h"
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

/*
 * cleanup(8) logs "QUEUEID: message-id=<...>" when a message enters the queue; the delivery
 * lines of that queue id name only the queue id. Remembering the pairs lets a verdict carry
 * the original Message-ID, which is what identifies the failure whichever path reports it
 * (the same failure as a DSN is then one event). Bounded: ML_MSGIDS slots, a newer queue id
 * takes the slot of an older one (that one's lines are then keyed by queue id alone).
 */
#define ML_MSGIDS 1024

struct ml_msgids {
    const char *qid[ML_MSGIDS];
    const char *mid[ML_MSGIDS];
};

static size_t
ml_slot(const char *q, size_t n)
{
    size_t h = 5381, i;

    for (i = 0; i < n; i++) {
        h = h * 33 + (unsigned char)q[i];
    }
    return h % ML_MSGIDS;
}

/* "QUEUEID: message-id=<...>": remember the pair. */
static void
ml_note_msgid(struct ev_state *st, struct ml_msgids *t, const char *p, size_t n)
{
    const char *e = p + n, *v = ml_field(p, e, ": message-id="), *q, *ve;
    size_t slot;

    if (v == NULL || v == e) {
        return;
    }
    q = v - 13;
    while (q > p && q[-1] != ' ') {
        q--;
    }
    ve = v;
    while (ve < e && *ve != ' ' && *ve != ',') {
        ve++;
    }
    if (v - 13 <= q || ve == v) {
        return;
    }
    slot = ml_slot(q, (size_t)(v - 13 - q));
    t->qid[slot] = report_strndup(st->r, q, (size_t)(v - 13 - q));
    t->mid[slot] = report_strndup(st->r, v, (size_t)(ve - v));
}

static void
ml_join_msgid(const struct ml_msgids *t, struct bnc_rcpt *rc)
{
    size_t slot;

    if (rc->message_id == NULL || rc->message_id[0] == '\0' ||
        (rc->original_message_id != NULL && rc->original_message_id[0] != '\0')) {
        return;
    }
    slot = ml_slot(rc->message_id, strlen(rc->message_id));
    if (t->qid[slot] != NULL && strcmp(t->qid[slot], rc->message_id) == 0) {
        rc->original_message_id = t->mid[slot];
    }
}

bnc_status
ev_maillog(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen)
{
    const char *p = data, *end = data + len, *nl;
    struct ml_msgids *ids = xcalloc(1, sizeof(*ids));

    (void)err;
    (void)errlen;
    while (p < end) {
        size_t n, before = st->r->nrcpts;
        nl = memchr(p, '\n', (size_t)(end - p));
        n = (size_t)((nl ? nl : end) - p);
        if (n > MAILLOG_MAX_LINE) {
            st->r->flags |= BNC_PF_TRUNCATED;
        } else if (n > 0) {
            ml_line(st, p, n);
            if (st->r->nrcpts > before) {
                ml_join_msgid(ids, &st->r->rcpts[before]);
            } else {
                ml_note_msgid(st, ids, p, n);
            }
        }
        p = nl ? nl + 1 : end;
    }
    free(ids);
    return BNC_OK;
}
