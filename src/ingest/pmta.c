/*
 * pmta.c - PowerMTA accounting files (CSV with a header row): delivery (d), bounce (b),
 * remote bounce (rb), transient (t) and feedback-loop (f) records.
 *
 * Columns are found by name from the header row (type, rcpt, dsnStatus, dsnDiag, dsnMta,
 * bounceCat, timeLogged, feedbackType, envId, jobId, header_Message-Id), so any accounting
 * layout that includes them works. PowerMTA's bounce category is the vendor's judgement:
 * bad-mailbox and bad-domain are permanent; quota, inactive mailbox, routing and the like
 * are passing; policy, spam, content and sender categories are the sender's problem and go
 * to the classifier with a hint.
 * STANDARDS: RFC 4180 (CSV), PowerMTA User's Guide "Accounting file" and bounce categories.
 * LIMITS: a line (record) of 64 KiB at most; 256 columns; the recipient limit per input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest/events_int.h"

#define PMTA_MAX_LINE (64u * 1024u)
#define PMTA_MAX_COLS 256

enum { C_TYPE, C_RCPT, C_STATUS, C_DIAG, C_MTA, C_CAT, C_TIME, C_FBT, C_ENVID, C_MSGID, C_N };

static const char *const pmta_colnames[C_N] = {
    "type", "rcpt", "dsnStatus", "dsnDiag", "dsnMta", "bounceCat", "timeLogged",
    "feedbackType", "envId", "header_Message-Id",
};

/* Split one CSV record (RFC 4180 quoting) into fields decoded into buf; returns count. */
static size_t
pmta_split(const char *p, size_t n, char *buf, const char **fields, size_t maxf)
{
    size_t nf = 0, i = 0, o = 0;

    while (nf < maxf) {
        fields[nf++] = buf + o;
        if (i < n && p[i] == '"') {
            i++;
            while (i < n) {
                if (p[i] == '"') {
                    if (i + 1 < n && p[i + 1] == '"') {
                        buf[o++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                buf[o++] = p[i++];
            }
            while (i < n && p[i] != ',') {
                i++; /* junk after a closing quote */
            }
        } else {
            while (i < n && p[i] != ',') {
                buf[o++] = p[i++];
            }
        }
        buf[o++] = '\0';
        if (i >= n) {
            break;
        }
        i++; /* the comma */
    }
    return nf;
}

static int64_t
pmta_time(const char *s)
{
    int64_t t;
    char *end;
    long long v;

    if (s[0] == '\0') {
        return 0;
    }
    v = strtoll(s, &end, 10);
    if (*end == '\0' && v > 0) {
        return (int64_t)v;
    }
    return ev_parse_iso8601(s, &t) == 0 ? t : 0;
}

static void
pmta_record(struct ev_state *st, const int *col, const char **f, size_t nf)
{
#define FIELD(c) (col[c] >= 0 && (size_t)col[c] < nf ? f[col[c]] : "")
    const char *type = FIELD(C_TYPE), *cat = FIELD(C_CAT), *rcpt = FIELD(C_RCPT);
    enum ev_vendor v;
    bnc_reason hint = BNC_R_UNDEFINED;
    struct bnc_rcpt *rc;
    char why[96];

    if (!strcmp(type, "d")) {
        v = EV_V_DELIVERED;
    } else if (!strcmp(type, "b") || !strcmp(type, "rb")) {
        /* the category's reason is the hint; its side says how permanent PowerMTA judged
         * the failure: a dead address is permanent, a mailbox's passing problem transient,
         * a refusal of the sender no judgement about the address */
        v = EV_V_NONE;
        if (parse_pmta_category(cat, strlen(cat), &hint)) {
            bnc_side side = bnc_reason_side(hint);
            v = side == BNC_SIDE_DEAD      ? EV_V_PERMANENT
                : side == BNC_SIDE_ADDRESS ? EV_V_TRANSIENT
                                           : EV_V_NONE;
        }
    } else if (!strcmp(type, "t")) {
        v = EV_V_TRANSIENT;
    } else if (!strcmp(type, "f")) {
        v = EV_V_COMPLAINT;
    } else {
        return; /* r (receipt), tq (queue) and other record types */
    }
    snprintf(why, sizeof(why), "%.4s/%.40s", type, cat[0] ? cat : "-");
    if ((rc = ev_add(st, rcpt, strlen(rcpt), v, why)) == NULL) {
        return;
    }
    rc->reason_hint = hint;
    if (v == EV_V_COMPLAINT) {
        const char *fbt = FIELD(C_FBT);
        rc->feedback_type = report_strndup(st->r, fbt[0] ? fbt : "abuse",
                                           strlen(fbt[0] ? fbt : "abuse"));
    } else {
        ev_status(rc, FIELD(C_STATUS));
        ev_diag(st, rc, FIELD(C_DIAG));
        if (FIELD(C_MTA)[0]) {
            rc->remote_mta = report_strndup(st->r, FIELD(C_MTA), strlen(FIELD(C_MTA)));
        }
    }
    if (FIELD(C_MSGID)[0]) {
        rc->original_message_id = report_strndup(st->r, FIELD(C_MSGID), strlen(FIELD(C_MSGID)));
    } else if (FIELD(C_ENVID)[0]) {
        rc->original_message_id = report_strndup(st->r, FIELD(C_ENVID), strlen(FIELD(C_ENVID)));
    }
    ev_time(st, rc, pmta_time(FIELD(C_TIME)));
#undef FIELD
}

bnc_status
ev_pmta(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen)
{
    const char *p = data, *end = data + len, *nl;
    const char **f = arena_alloc(st->r->arena, PMTA_MAX_COLS * sizeof(*f));
    char *buf = arena_alloc(st->r->arena, PMTA_MAX_LINE + PMTA_MAX_COLS + 1);
    int col[C_N];
    bool have_header = false;
    size_t nf, i, k;

    if (f == NULL || buf == NULL) {
        return BNC_ELIMIT;
    }
    for (k = 0; k < C_N; k++) {
        col[k] = -1;
    }
    while (p < end) {
        size_t n;
        nl = memchr(p, '\n', (size_t)(end - p));
        n = (size_t)((nl ? nl : end) - p);
        if (n && p[n - 1] == '\r') {
            n--;
        }
        if (n > PMTA_MAX_LINE) {
            st->r->flags |= BNC_PF_TRUNCATED; /* an over-long record is skipped */
        } else if (n > 0) {
            nf = pmta_split(p, n, buf, f, PMTA_MAX_COLS);
            if (!have_header || !strcmp(f[0], "type")) {
                if (strcmp(f[0], "type") != 0) {
                    snprintf(err, errlen,
                             "not a PowerMTA accounting file: the first line is not a header "
                             "starting with \"type\"");
                    return BNC_EPARSE;
                }
                for (k = 0; k < C_N; k++) {
                    col[k] = -1;
                    for (i = 0; i < nf; i++) {
                        if (!strcasecmp(f[i], pmta_colnames[k])) {
                            col[k] = (int)i;
                            break;
                        }
                    }
                }
                if (col[C_RCPT] < 0) {
                    snprintf(err, errlen, "PowerMTA accounting header has no \"rcpt\" column");
                    return BNC_EPARSE;
                }
                have_header = true;
            } else {
                pmta_record(st, col, f, nf);
            }
        }
        p = nl ? nl + 1 : end;
    }
    return BNC_OK;
}
