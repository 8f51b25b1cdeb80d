/*
 * dsn.c - RFC 3464 / RFC 6533 delivery-status fields: the per-message group and one
 * recipient per per-recipient group, added to the report.
 *
 * Tolerates what MTAs really send: folded lines, comments, any case, missing or duplicated
 * fields (the first one wins), groups not separated by a blank line (a second
 * Final-Recipient or Original-Recipient starts a new group), CRLF/LF mixes, white space
 * before the colon. Does not look at the human-readable part (formats/ does).
 * STANDARDS: RFC 3464 §2.2 (per-message fields), §2.3 (per-recipient fields), §2.1.2
 * (address-type;address), RFC 6533 §3-4 (utf-8 address type, global-delivery-status),
 * RFC 3463 (Status), RFC 5321 §4.2 (reply codes in Diagnostic-Code).
 * LIMITS: recipients per report (limits.dsn_recipients via report_add_rcpt), diagnostic
 * length (limits.diagnostic_length via report_diag); one linear pass over the fields.
 * Ownership: strings are copied into the report's arena.
 */
#include "parse/parse.h"

#include <string.h>

struct dsn_group {
    struct bnc_slice final_rcpt, orig_rcpt, actual_rcpt, action, status, remote_mta, diag,
        exim_diag, last_attempt, reporting_mta;
    bool any_rcpt_field;
};

struct dsn_msg {
    struct bnc_slice reporting_mta, arrival_date, received_from;
};

static void dsn_flush(struct bnc_report *r, const struct dsn_msg *m, struct dsn_group *g,
                      size_t *added);

static bool
name_is(struct bnc_slice name, const char *lit)
{
    return slice_eq_ci(name, lit);
}

#define DSN_UNFOLDED_MAX 8u

/* Does the line [p, le) open with a field name (RFC 5322 §3.6.8: printable characters, no
 * space, here letters, digits and '-') and a colon, white space allowed before it? */
static bool
dsn_field_line(const char *p, const char *le)
{
    const char *q = p;

    while (q < le && (((*q | 32) >= 'a' && (*q | 32) <= 'z') || (*q >= '0' && *q <= '9') ||
                      *q == '-')) {
        q++;
    }
    if (q == p) {
        return false;
    }
    while (q < le && (*q == ' ' || *q == '\t')) {
        q++;
    }
    return q < le && *q == ':';
}

/* Is the line [p, le) the field `name` (lower case)? */
static bool
dsn_field_is(const char *p, const char *le, const char *name)
{
    size_t nl = strlen(name);

    return (size_t)(le - p) > nl && slice_mem_eq_ci(p, name, nl) &&
           dsn_field_line(p, le) && (p[nl] == ':' || p[nl] == ' ' || p[nl] == '\t');
}

size_t
dsn_parse_fields(struct bnc_report *r, const char *p, size_t n)
{
    const char *end = p + n;
    struct dsn_msg m;
    struct dsn_group g;
    size_t added = 0;
    unsigned unfolded;

    memset(&m, 0, sizeof(m));
    memset(&g, 0, sizeof(g));
    while (p < end) {
        const char *nl = mem_nl(p, end);
        const char *le = nl ? nl + 1 : end, *ve, *colon, *ne;
        struct bnc_slice name, val;

        /* blank line: end of a group */
        if (*p == '\n' || (*p == '\r' && (p + 1 == end || p[1] == '\n')) ||
            ((*p == ' ' || *p == '\t') && slice_trim(slice_make(p, (size_t)(le - p))).len == 0)) {
            if (g.any_rcpt_field) {
                dsn_flush(r, &m, &g, &added);
            }
            p = le;
            continue;
        }
        /* value continues over folded lines; a Diagnostic-Code also over lines some MTAs
         * wrap it onto without folding them ("... content judged to b" / "e spam by ..."):
         * lines that are no field, at most DSN_UNFOLDED_MAX of them */
        unfolded = dsn_field_is(p, le, "diagnostic-code") ? DSN_UNFOLDED_MAX : 0;
        ve = le;
        while (ve < end) {
            const char *n2 = mem_nl(ve, end);
            const char *ne2 = n2 ? n2 + 1 : end;
            if (slice_trim(slice_make(ve, (size_t)(ne2 - ve))).len == 0) {
                break; /* a white-space-only line is a blank line */
            }
            if (*ve != ' ' && *ve != '\t') {
                if (unfolded == 0 || dsn_field_line(ve, ne2)) {
                    break;
                }
                unfolded--;
            }
            ve = ne2;
        }
        colon = memchr(p, ':', (size_t)(le - p));
        if (colon == NULL) {
            p = ve;
            continue;
        }
        ne = colon;
        while (ne > p && (ne[-1] == ' ' || ne[-1] == '\t')) {
            ne--;
        }
        name = slice_make(p, (size_t)(ne - p));
        val = slice_trim(slice_make(colon + 1, (size_t)(ve - colon - 1)));
        p = ve;
        if (name.len == 0 || name.len > 64) {
            continue;
        }

#define DSN_SET(field)           \
    do {                         \
        if (g.field.p == NULL) { \
            g.field = val;       \
        }                        \
    } while (0)

        switch (name.p[0] | 32) {
        case 'f':
            if (name_is(name, "final-recipient")) {
                if (g.final_rcpt.p != NULL) {
                    dsn_flush(r, &m, &g, &added);
                }
                g.final_rcpt = val;
                g.any_rcpt_field = true;
            }
            break;
        case 'o':
            if (name_is(name, "original-recipient")) {
                if (g.orig_rcpt.p != NULL || g.final_rcpt.p != NULL) {
                    /* RFC order is Original- then Final-: a second one is a new group */
                    if (g.orig_rcpt.p != NULL || g.action.p != NULL || g.status.p != NULL) {
                        dsn_flush(r, &m, &g, &added);
                    }
                }
                DSN_SET(orig_rcpt);
                g.any_rcpt_field = true;
            }
            break;
        case 'x':
            if (name_is(name, "x-actual-recipient")) {
                DSN_SET(actual_rcpt);
            } else if (name_is(name, "x-exim-diagnostic")) {
                /* Exim's own cause when no remote reply is quoted ("X-str; a TLS session
                 * is required, but the server did not offer TLS support"): the
                 * diagnostic unless a Diagnostic-Code gives one */
                g.exim_diag = val;
            }
            break;
        case 'a':
            if (name_is(name, "action")) {
                DSN_SET(action);
                g.any_rcpt_field = true;
            } else if (name_is(name, "arrival-date")) {
                if (m.arrival_date.p == NULL) {
                    m.arrival_date = val;
                }
            }
            break;
        case 's':
            if (name_is(name, "status")) {
                DSN_SET(status);
                g.any_rcpt_field = true;
            }
            break;
        case 'r':
            if (name_is(name, "remote-mta")) {
                DSN_SET(remote_mta);
            } else if (name_is(name, "reporting-mta")) {
                if (g.any_rcpt_field) {
                    DSN_SET(reporting_mta);
                } else if (m.reporting_mta.p == NULL) {
                    m.reporting_mta = val;
                }
            } else if (name_is(name, "received-from-mta")) {
                m.received_from = val;
            }
            break;
        case 'd':
            if (name_is(name, "diagnostic-code")) {
                DSN_SET(diag);
            }
            break;
        case 'l':
            if (name_is(name, "last-attempt-date")) {
                DSN_SET(last_attempt);
            }
            break;
        default:
            break;
        }
#undef DSN_SET
    }
    if (g.any_rcpt_field) {
        dsn_flush(r, &m, &g, &added);
    }
    return added;
}

/* "dns; mx.example.com" -> "mx.example.com" (comments dropped). */
static const char *
dsn_typed_value(struct bnc_report *r, struct bnc_slice v)
{
    const char *semi, *s, *e;

    if (v.len == 0) {
        return "";
    }
    semi = memchr(v.p, ';', v.len);
    s = semi ? semi + 1 : v.p;
    e = v.p + v.len;
    {
        const char *paren = memchr(s, '(', (size_t)(e - s));
        if (paren != NULL) {
            e = paren;
        }
    }
    {
        struct bnc_slice t = slice_trim(slice_make(s, (size_t)(e - s)));
        /* a trailing "[1.2.3.4]" stays; only white space is trimmed */
        return report_diag(r, t.p, t.len);
    }
}

static bnc_action
dsn_action(struct bnc_slice v)
{
    v = slice_trim(v);
    if (slice_prefix_ci(v, "fail")) {
        return BNC_ACTION_FAILED;
    }
    if (slice_prefix_ci(v, "delay")) {
        return BNC_ACTION_DELAYED;
    }
    if (slice_prefix_ci(v, "deliver")) {
        return BNC_ACTION_DELIVERED;
    }
    if (slice_prefix_ci(v, "relay")) {
        return BNC_ACTION_RELAYED;
    }
    if (slice_prefix_ci(v, "expand")) {
        return BNC_ACTION_EXPANDED;
    }
    return BNC_ACTION_NONE;
}

/* Has a normalized address (always "local@domain") a domain of more than one label? */
static bool
dsn_dotted_domain(const char *addr)
{
    return strchr(strrchr(addr, '@'), '.') != NULL;
}

static void
dsn_flush(struct bnc_report *r, const struct dsn_msg *m, struct dsn_group *g, size_t *added)
{
    const char *addr = NULL;
    struct bnc_rcpt *rc;
    char st[16] = "", dst[16] = "", drc[4] = "";
    bool st_ok = false;

    if (g->final_rcpt.len) {
        addr = addr_normalize_field(r, g->final_rcpt.p, g->final_rcpt.len);
    }
    if (addr == NULL && g->actual_rcpt.len) {
        addr = addr_normalize_field(r, g->actual_rcpt.p, g->actual_rcpt.len);
    }
    if ((addr == NULL || !dsn_dotted_domain(addr)) && g->orig_rcpt.len) {
        /* (a one-label final domain is often an internal channel, "user@ims-ms-daemon":
         * an Original-Recipient with a real domain names the mailbox better) */
        const char *o = addr_normalize_field(r, g->orig_rcpt.p, g->orig_rcpt.len);
        if (addr == NULL || (o != NULL && dsn_dotted_domain(o))) {
            addr = o;
        }
    }
    if (addr == NULL) {
        memset(g, 0, sizeof(*g));
        return;
    }
    rc = report_find_rcpt(r, addr);
    if (rc != NULL && rc->action != BNC_ACTION_NONE && g->action.len &&
        dsn_action(g->action) != rc->action) {
        rc = NULL; /* the same address reported twice with different outcomes */
    }
    if (rc == NULL) {
        rc = report_add_rcpt(r);
        if (rc == NULL) {
            memset(g, 0, sizeof(*g));
            return;
        }
        rc->recipient = addr;
        rc->origin = "dsn";
        (*added)++;
    }
    if (rc->original_recipient[0] == '\0' && g->orig_rcpt.len) {
        const char *o = addr_normalize_field(r, g->orig_rcpt.p, g->orig_rcpt.len);
        rc->original_recipient = o ? o : dsn_typed_value(r, g->orig_rcpt);
    }
    if (rc->action == BNC_ACTION_NONE) {
        rc->action = dsn_action(g->action);
    }
    if (g->status.len) {
        struct bnc_slice sv = slice_trim(g->status);
        size_t used;
        st_ok = status_code_parse(sv.p, sv.len, st, &used);
        if (st_ok && used < sv.len) {
            /* "Status: 5.0.0 (recipient reached disk quota)": the reporting MTA's words */
            struct bnc_slice c = slice_trim(slice_make(sv.p + used, sv.len - used));
            if (c.len > 2 && c.p[0] == '(' && c.p[c.len - 1] == ')') {
                c = slice_trim(slice_make(c.p + 1, c.len - 2));
            }
            if (c.len > 0) {
                rc->status_comment = report_diag(r, c.p, c.len);
            }
        }
        if (!st_ok) {
            /* "5.1.1 (user unknown)" parses; "550" or "5.1" does not */
            r->flags |= BNC_PF_BAD_STATUS;
            status_code_from_text(sv.p, sv.len, st, drc);
            st_ok = st[0] != '\0';
            if (drc[0] != '\0' && rc->replycode[0] == '\0') {
                memcpy(rc->replycode, drc, 4);
            }
        }
    }
    if (g->diag.len == 0 && g->exim_diag.len > 0) {
        g->diag = g->exim_diag;
    }
    if (g->diag.len && rc->diagnostic[0] == '\0') {
        const char *semi = memchr(g->diag.p, ';', g->diag.len);
        struct bnc_slice text = g->diag;
        if (semi != NULL && semi - g->diag.p <= 24) {
            struct bnc_slice ty = slice_trim(slice_make(g->diag.p, (size_t)(semi - g->diag.p)));
            bool atom = ty.len > 0;
            size_t i;
            for (i = 0; i < ty.len; i++) {
                char c = ty.p[i];
                if (!(((c | 32) >= 'a' && (c | 32) <= 'z') || c == '-' || (c >= '0' && c <= '9'))) {
                    atom = false;
                }
            }
            if (atom) {
                rc->diagnostic_type = report_diag(r, ty.p, ty.len);
                text = slice_make(semi + 1, (size_t)(g->diag.p + g->diag.len - semi - 1));
            }
        }
        text = slice_trim(text);
        rc->diagnostic = report_diag(r, text.p, text.len);
        status_code_from_text(text.p, text.len, dst, drc);
        /* an X-Unix diagnostic carries a program's exit status, not an SMTP reply */
        if (drc[0] != '\0' && rc->replycode[0] == '\0' &&
            !slice_eq_ci(slice_make(rc->diagnostic_type, strlen(rc->diagnostic_type)), "x-unix")) {
            memcpy(rc->replycode, drc, 4);
        }
    }
    /* prefer the diagnostic's code when Status is absent, bad or generic x.0.0 */
    if (st_ok) {
        bool generic = strcmp(st + 1, ".0.0") == 0;
        if (generic && dst[0] != '\0' && dst[0] == st[0] && strcmp(dst + 1, ".0.0") != 0) {
            memcpy(rc->status, dst, sizeof(rc->status));
        } else if (rc->status[0] == '\0') {
            memcpy(rc->status, st, sizeof(rc->status));
        }
    } else if (dst[0] != '\0' && rc->status[0] == '\0') {
        memcpy(rc->status, dst, sizeof(rc->status));
    }
    /* Action is required (RFC 3464 §2.3.3); when an MTA left it out, the class says it */
    if (rc->action == BNC_ACTION_NONE) {
        char c = rc->status[0] ? rc->status[0] : rc->replycode[0];
        rc->action = c == '5'   ? BNC_ACTION_FAILED
                     : c == '4' ? BNC_ACTION_DELAYED
                     : c == '2' ? BNC_ACTION_DELIVERED
                                : BNC_ACTION_NONE;
    }
    /* a reply code of another class than the Status belongs to another step */
    if (rc->status[0] != '\0' && rc->replycode[0] != '\0' && rc->status[0] != rc->replycode[0]) {
        rc->replycode[0] = '\0';
    }
    if (rc->remote_mta[0] == '\0' && g->remote_mta.len) {
        rc->remote_mta = dsn_typed_value(r, g->remote_mta);
    }
    if (rc->reporting_mta[0] == '\0') {
        if (g->reporting_mta.len) {
            rc->reporting_mta = dsn_typed_value(r, g->reporting_mta);
        } else if (m->reporting_mta.len) {
            rc->reporting_mta = dsn_typed_value(r, m->reporting_mta);
        }
    }
    if (rc->date[0] == '\0') {
        struct bnc_slice d = g->last_attempt.len ? g->last_attempt : m->arrival_date;
        if (d.len) {
            int64_t t;
            rc->date = report_diag(r, d.p, d.len);
            if (date_parse(d.p, d.len, &t)) {
                rc->time = t;
            }
        }
    }
    memset(g, 0, sizeof(*g));
}
