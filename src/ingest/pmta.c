/*
 * pmta.c - PowerMTA accounting files (CSV with a header row): delivery (d), bounce (b),
 * remote bounce (rb), transient (t) and feedback-loop (f) records.
 *
 * Columns are found by name from the header row (type, rcpt, dsnStatus, dsnDiag, dsnMta,
 * bounceCat, timeLogged, feedbackType, envId, header_Message-Id, header_To,
 * header_Return-Path, reportedDomain), or from the layout the operator configured
 * (logs.NAME.record_fields, for a file written without its header or followed from its
 * middle), so any record-fields layout that includes them works. A feedback-loop (f)
 * record names the complaining address in rcpt when it has one, else in the original
 * message's To (header_To), else in its VERP Return-Path (header_Return-Path). PowerMTA's bounce category is the vendor's judgement:
 * bad-mailbox and bad-domain are permanent; quota, inactive mailbox, routing and the like
 * are passing; policy, spam, content and sender categories are the sender's problem and go
 * to the classifier with a hint.
 * STANDARDS: RFC 4180 (CSV), PowerMTA User's Guide "Accounting file" and bounce categories.
 * LIMITS: a line (record) of EVENTS_MAX_LINE at most; 256 columns; the recipient limit per
 * input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"
#include "ingest/events_int.h"

#define PMTA_MAX_COLS 256

static const char *const pmta_colnames[PMTA_C_N] = {
    [PMTA_C_TYPE] = "type",          [PMTA_C_RCPT] = "rcpt",
    [PMTA_C_STATUS] = "dsnStatus",   [PMTA_C_DIAG] = "dsnDiag",
    [PMTA_C_MTA] = "dsnMta",         [PMTA_C_CAT] = "bounceCat",
    [PMTA_C_TIME] = "timeLogged",    [PMTA_C_FBT] = "feedbackType",
    [PMTA_C_ENVID] = "envId",        [PMTA_C_MSGID] = "header_Message-Id",
    [PMTA_C_HTO] = "header_To",      [PMTA_C_HRP] = "header_Return-Path",
    [PMTA_C_RDOM] = "reportedDomain", [PMTA_C_ORCPT] = "orcpt",
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

/* The vendor's judgement of a record type and bounce category; false for record types
 * that are no deliverability fact (r receipt, tq queue, ...). */
static bool
pmta_judge(const char *type, const char *cat, enum ev_vendor *v, bnc_reason *hint)
{
    *hint = BNC_R_UNDEFINED;
    if (!strcmp(type, "d")) {
        *v = EV_V_DELIVERED;
    } else if (!strcmp(type, "b") || !strcmp(type, "rb")) {
        /* the category's reason is the hint; its side says how permanent PowerMTA judged
         * the failure: a dead address is permanent, a mailbox's passing problem transient,
         * a refusal of the sender no judgement about the address */
        *v = EV_V_NONE;
        if (parse_pmta_category(cat, strlen(cat), hint)) {
            bnc_side side = bnc_reason_side(*hint);
            *v = side == BNC_SIDE_DEAD      ? EV_V_PERMANENT
                 : side == BNC_SIDE_ADDRESS ? EV_V_TRANSIENT
                                            : EV_V_NONE;
        }
    } else if (!strcmp(type, "t")) {
        *v = EV_V_TRANSIENT;
    } else if (!strcmp(type, "f")) {
        *v = EV_V_COMPLAINT;
    } else {
        return false;
    }
    return true;
}

/* The address a feedback-loop record is about (see the file comment). */
static const char *
pmta_fbl_rcpt(const int *col, const char **f, size_t nf)
{
    static const enum ev_pmta_col order[] = {PMTA_C_RCPT, PMTA_C_HTO, PMTA_C_HRP};
    size_t i;

    for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        int c = col[order[i]];
        if (c >= 0 && (size_t)c < nf && f[c][0] != '\0') {
            return f[c];
        }
    }
    return "";
}

static void
pmta_record(struct ev_state *st, const int *col, const char **f, size_t nf)
{
#define FIELD(c) (col[c] >= 0 && (size_t)col[c] < nf ? f[col[c]] : "")
    const char *type = FIELD(PMTA_C_TYPE), *cat = FIELD(PMTA_C_CAT), *rcpt;
    enum ev_vendor v;
    bnc_reason hint;
    struct bnc_rcpt *rc;
    char why[160];

    if (!pmta_judge(type, cat, &v, &hint)) {
        return;
    }
    if (v == EV_V_COMPLAINT) {
        const char *dom = FIELD(PMTA_C_RDOM);
        rcpt = pmta_fbl_rcpt(col, f, nf);
        snprintf(why, sizeof(why), "f/%.40s%s%.60s", FIELD(PMTA_C_FBT)[0] ? FIELD(PMTA_C_FBT) : "abuse",
                 dom[0] ? "/" : "", dom);
    } else {
        rcpt = FIELD(PMTA_C_RCPT);
        snprintf(why, sizeof(why), "%.4s/%.40s", type, cat[0] ? cat : "-");
    }
    if ((rc = ev_add(st, rcpt, strlen(rcpt), v, why)) == NULL) {
        return;
    }
    rc->reason_hint = hint;
    if (v == EV_V_COMPLAINT) {
        const char *fbt = FIELD(PMTA_C_FBT)[0] ? FIELD(PMTA_C_FBT) : "abuse";
        rc->feedback_type = report_strndup(st->r, fbt, strlen(fbt));
    } else {
        ev_status(rc, FIELD(PMTA_C_STATUS));
        ev_diag(st, rc, FIELD(PMTA_C_DIAG));
        if (FIELD(PMTA_C_MTA)[0]) {
            rc->remote_mta = report_strndup(st->r, FIELD(PMTA_C_MTA), strlen(FIELD(PMTA_C_MTA)));
        }
    }
    if (FIELD(PMTA_C_ORCPT)[0]) {
        rc->original_recipient = report_strndup(st->r, FIELD(PMTA_C_ORCPT),
                                                strlen(FIELD(PMTA_C_ORCPT)));
    }
    if (FIELD(PMTA_C_MSGID)[0]) {
        rc->original_message_id =
            report_strndup(st->r, FIELD(PMTA_C_MSGID), strlen(FIELD(PMTA_C_MSGID)));
    } else if (FIELD(PMTA_C_ENVID)[0]) {
        rc->original_message_id =
            report_strndup(st->r, FIELD(PMTA_C_ENVID), strlen(FIELD(PMTA_C_ENVID)));
    }
    ev_time(st, rc, pmta_time(FIELD(PMTA_C_TIME)));
#undef FIELD
}

bool
events_pmta_is_header(const char *line, size_t len)
{
    return (len == 4 || (len > 4 && line[4] == ',')) && strncmp(line, "type", 4) == 0;
}

bool
ev_pmta_layout(struct events_stream *s, const char *line, size_t len, char *err, size_t errlen)
{
    const char *f[PMTA_MAX_COLS];
    char *buf;
    size_t nf, i, k;
    bool ok;

    if (len > EVENTS_MAX_LINE) {
        snprintf(err, errlen, "PowerMTA layout longer than %u bytes", EVENTS_MAX_LINE);
        return false;
    }
    buf = xmalloc(len + PMTA_MAX_COLS + 1);
    nf = pmta_split(line, len, buf, f, PMTA_MAX_COLS);
    if (strcmp(f[0], "type") != 0) {
        snprintf(err, errlen, "a PowerMTA layout starts with \"type\" (record-fields always "
                              "writes it first)");
        free(buf);
        return false;
    }
    for (k = 0; k < PMTA_C_N; k++) {
        s->pmta_col[k] = -1;
        for (i = 0; i < nf; i++) {
            if (!strcasecmp(f[i], pmta_colnames[k])) {
                s->pmta_col[k] = (int)i;
                break;
            }
        }
    }
    free(buf);
    ok = s->pmta_col[PMTA_C_RCPT] >= 0 || s->pmta_col[PMTA_C_HTO] >= 0 ||
         s->pmta_col[PMTA_C_HRP] >= 0;
    if (!ok) {
        snprintf(err, errlen, "PowerMTA accounting header has no \"rcpt\" column (nor "
                              "\"header_To\" or \"header_Return-Path\" for f records)");
    }
    s->pmta_header = ok;
    return ok;
}

struct pmta_scratch {
    const char *f[PMTA_MAX_COLS];
    char buf[EVENTS_MAX_LINE + PMTA_MAX_COLS + 1];
};

static void
pmta_line(struct ev_state *st, const char *p, size_t n)
{
    struct events_stream *s = st->stream;
    struct pmta_scratch *sc = st->scratch;
    size_t nf;

    if (st->line_rc != BNC_OK) {
        return;
    }
    if (events_pmta_is_header(p, n)) {
        if (!ev_pmta_layout(s, p, n, st->err, st->errlen)) {
            st->line_rc = BNC_EPARSE;
        }
        return;
    }
    if (!s->pmta_header) {
        snprintf(st->err, st->errlen,
                 "not a PowerMTA accounting file: the first line is not a header starting "
                 "with \"type\" (a file without one needs logs.NAME.record_fields)");
        st->line_rc = BNC_EPARSE;
        return;
    }
    nf = pmta_split(p, n, sc->buf, sc->f, PMTA_MAX_COLS);
    pmta_record(st, s->pmta_col, sc->f, nf);
}

bnc_status
ev_pmta(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen)
{
    st->scratch = arena_alloc(st->r->arena, sizeof(struct pmta_scratch));
    if (st->scratch == NULL) {
        return BNC_ELIMIT;
    }
    st->err = err;
    st->errlen = errlen;
    st->line_rc = BNC_OK;
    ev_lines(st, data, len, pmta_line);
    return st->line_rc;
}
