/*
 * classify.c - fill reason, hard, kind and decided_by for every recipient of a report.
 *
 * Precedence (DESIGN §5, issue 4), first that says something wins:
 *   1. the report kind itself: delivered/relayed/expanded actions, ARF complaints and
 *      auto-replies (set by the parse layer as reason_hint with origin arf/autoreply);
 *   2. user rules, then built-in text rules, over the diagnostic (one Vectorscan pass);
 *   3. the RFC 3463 status code (subject.detail; class 4 vs 5 only changes hard for notaccept);
 *   4. the SMTP reply code;
 *   5. the format's own hint (reason_hint of a recognizer);
 *   `undefined` only when nothing matches, `onhold` for a bare failure with no signal at all.
 * Words and codes are weighed together because the text rules see the whole diagnostic
 * (status code included): "5.1.1 ... sender address rejected" is matched by a rejected rule
 * that default.rules lists before the generic user-unknown phrases.
 * Doesn't: parse anything; it reads only the fields the parse layer filled.
 * STANDARDS: RFC 3463 (enhanced status codes), RFC 5321 §4.2 (reply codes), RFC 7505 (null
 * MX: 5.1.10 / 556).
 * LIMITS: the diagnostic is already capped by the parse layer (diagnostic limit).
 * Ownership: decided_by strings are allocated from the report's arena.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify/classify.h"
#include "classify/rules.h"
#include "core/slice.h"
#include "parse/parse.h"

/* Rules see at most this much of a diagnostic (the parse layer caps it at limits.diagnostic,
 * 4 KiB by default; a larger configured limit is matched on its first CLASSIFY_DIAG_MAX). */
#define CLASSIFY_DIAG_MAX 8192

struct status_map {
    const char *sd; /* subject.detail */
    bnc_reason r;
};

/* RFC 3463 subject.detail -> reason. Codes that name no cause by themselves (x.0.0,
 * x.5.0 ...) are absent on purpose: they defer to the reply code and the format hint.
 * X.5.3 "Too many recipients" is a limit of the transaction we opened (toomanyconn, the
 * sender's side), not the address's. X.4.4 "Unable to route" is a domain the directory has
 * no route for ("a DNS lookup returning only an SOA record", RFC 3463 §3.5; Postfix's
 * 5.4.4 for NXDOMAIN and no MX/A): hostunknown, which a temporary failure turns into a
 * networkerror (adjust_temporary). */
/* clang-format off */
static const struct status_map status_table[] = {
    {"1.0", BNC_R_USERUNKNOWN},  {"1.1", BNC_R_USERUNKNOWN},  {"1.2", BNC_R_HOSTUNKNOWN},
    {"1.3", BNC_R_USERUNKNOWN},  {"1.4", BNC_R_USERUNKNOWN},  {"1.5", BNC_R_USERUNKNOWN},
    {"1.6", BNC_R_HASMOVED},     {"1.7", BNC_R_REJECTED},     {"1.8", BNC_R_REJECTED},
    {"1.9", BNC_R_NORELAYING},   {"1.10", BNC_R_NOTACCEPT},
          {"2.1", BNC_R_SUSPEND},      {"2.2", BNC_R_MAILBOXFULL},
    {"2.3", BNC_R_EXCEEDLIMIT},  {"2.4", BNC_R_SYSTEMERROR},
    {"3.0", BNC_R_SYSTEMERROR},  {"3.1", BNC_R_SYSTEMFULL},   {"3.2", BNC_R_SYSTEMERROR},
    {"3.3", BNC_R_SYSTEMERROR},  {"3.4", BNC_R_MESGTOOBIG},   {"3.5", BNC_R_SYSTEMERROR},
    {"4.0", BNC_R_NETWORKERROR}, {"4.1", BNC_R_NETWORKERROR}, {"4.2", BNC_R_NETWORKERROR},
    {"4.3", BNC_R_SYSTEMERROR}, {"4.4", BNC_R_HOSTUNKNOWN},   {"4.5", BNC_R_NETWORKERROR},
    {"4.6", BNC_R_NETWORKERROR}, {"4.7", BNC_R_EXPIRED},
    {"5.0", BNC_R_SYNTAXERROR},  {"5.1", BNC_R_SYNTAXERROR},  {"5.2", BNC_R_SYNTAXERROR},
    {"5.3", BNC_R_TOOMANYCONN},  {"5.4", BNC_R_SYNTAXERROR},  {"5.5", BNC_R_SYNTAXERROR},
    {"5.6", BNC_R_SYNTAXERROR},
    {"6.0", BNC_R_CONTENTERROR}, {"6.1", BNC_R_CONTENTERROR}, {"6.2", BNC_R_CONTENTERROR},
    {"6.3", BNC_R_CONTENTERROR}, {"6.4", BNC_R_CONTENTERROR}, {"6.5", BNC_R_CONTENTERROR},
    {"6.6", BNC_R_CONTENTERROR}, {"6.7", BNC_R_CONTENTERROR},
    {"7.2", BNC_R_POLICYVIOLATION}, {"7.3", BNC_R_SECURITYERROR},
    {"7.4", BNC_R_SECURITYERROR}, {"7.5", BNC_R_SECURITYERROR}, {"7.6", BNC_R_SECURITYERROR},
    {"7.7", BNC_R_SECURITYERROR}, {"7.8", BNC_R_SECURITYERROR}, {"7.9", BNC_R_SECURITYERROR},
    {"7.10", BNC_R_SECURITYERROR}, {"7.11", BNC_R_SECURITYERROR},
    {"7.13", BNC_R_SUSPEND},     {"7.14", BNC_R_SECURITYERROR}, {"7.15", BNC_R_SECURITYERROR},
    {"7.16", BNC_R_SECURITYERROR}, {"7.17", BNC_R_SECURITYERROR}, {"7.18", BNC_R_SUSPEND},
    {"7.20", BNC_R_AUTHFAILURE}, {"7.21", BNC_R_AUTHFAILURE},  {"7.22", BNC_R_AUTHFAILURE},
    {"7.23", BNC_R_AUTHFAILURE}, {"7.24", BNC_R_AUTHFAILURE},  {"7.25", BNC_R_REQUIREPTR},
    {"7.26", BNC_R_AUTHFAILURE}, {"7.27", BNC_R_REJECTED},     {"7.28", BNC_R_SPEEDING},
    {"7.29", BNC_R_AUTHFAILURE}, {"7.30", BNC_R_AUTHFAILURE},
};
/* clang-format on */

bnc_reason
classify_reason_from_status(const char *st)
{
    size_t i;
    const char *sd;

    if (st == NULL || (st[0] != '4' && st[0] != '5') || st[1] != '.') {
        return BNC_R_UNDEFINED;
    }
    sd = st + 2;
    /* A pseudo status (x.0.9NN) carries no extra information: the reason it came from is
     * what produced it. */
    if (strncmp(sd, "0.9", 3) == 0) {
        return BNC_R_UNDEFINED;
    }
    /* 4.3.0, a transient "other or undefined mail system status", names no cause (5.3.0,
     * its permanent twin, is a broken destination system) */
    if (st[0] == '4' && strcmp(sd, "3.0") == 0) {
        return BNC_R_UNDEFINED;
    }
    /* X.7.1 "Delivery not authorized, message refused" (RFC 3463 §3.8): a policy of the
     * receiving side refused us. With no words naming the cause, a transient refusal is
     * taken as one of our host (blocked: greylisting, a soft reject, a throttled IP) and a
     * permanent one as an authorization failure (securityerror); both are the sender's side */
    if (strcmp(sd, "7.1") == 0) {
        return st[0] == '4' ? BNC_R_BLOCKED : BNC_R_SECURITYERROR;
    }
    for (i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++) {
        if (strcmp(status_table[i].sd, sd) == 0) {
            return status_table[i].r;
        }
    }
    return BNC_R_UNDEFINED;
}

/* RFC 5321 reply codes that name a cause by themselves. */
bnc_reason
classify_reason_from_reply(const char *rc)
{
    static const struct {
        const char *code;
        bnc_reason r;
    } map[] = {
        {"452", BNC_R_MAILBOXFULL},   {"500", BNC_R_SYNTAXERROR},   {"501", BNC_R_SYNTAXERROR},
        {"502", BNC_R_SYNTAXERROR},   {"503", BNC_R_SYNTAXERROR},   {"504", BNC_R_SYNTAXERROR},
        {"521", BNC_R_NOTACCEPT},     {"523", BNC_R_MESGTOOBIG},    {"530", BNC_R_SECURITYERROR},
        {"534", BNC_R_SECURITYERROR}, {"535", BNC_R_SECURITYERROR}, {"538", BNC_R_SECURITYERROR},
        {"551", BNC_R_HASMOVED},      {"552", BNC_R_MAILBOXFULL},   {"553", BNC_R_USERUNKNOWN},
        {"555", BNC_R_SYNTAXERROR},   {"556", BNC_R_NOTACCEPT},
    };
    size_t i;
    if (rc == NULL || rc[0] == '\0') {
        return BNC_R_UNDEFINED;
    }
    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(map[i].code, rc) == 0) {
            return map[i].r;
        }
    }
    return BNC_R_UNDEFINED;
}

int
classify_hard(bnc_reason reason, bool temporary)
{
    switch (reason) {
    case BNC_R_USERUNKNOWN:
    case BNC_R_HASMOVED:
        return 1;
    case BNC_R_HOSTUNKNOWN: /* a temporary one is a 4.1.2 the MTA retries (adjust_temporary) */
    case BNC_R_NOTACCEPT:
        return temporary ? 0 : 1;
    default:
        return 0;
    }
}

bnc_kind
classify_kind(bnc_reason reason, int hard)
{
    switch (reason) {
    case BNC_R_DELIVERED:
        return BNC_KIND_DELIVERED;
    case BNC_R_FEEDBACK:
        return BNC_KIND_COMPLAINT;
    case BNC_R_VACATION:
        return BNC_KIND_AUTOREPLY;
    case BNC_R_UNDEFINED:
    case BNC_R_ONHOLD:
        return BNC_KIND_UNKNOWN;
    default:
        return hard == 1 ? BNC_KIND_HARD : BNC_KIND_SOFT;
    }
}

static const char *
classify_decided(struct bnc_report *r, const char *prefix, const char *what, unsigned line)
{
    char tmp[512];
    int n;
    if (line > 0) {
        n = snprintf(tmp, sizeof(tmp), "%s%s:%u", prefix, what, line);
    } else {
        n = snprintf(tmp, sizeof(tmp), "%s%s", prefix, what);
    }
    if (n < 0) {
        return "";
    }
    if ((size_t)n >= sizeof(tmp)) {
        n = (int)sizeof(tmp) - 1;
    }
    return report_strndup(r, tmp, (size_t)n);
}

/* The base name of a rule's origin (decided_by names the file, not its directory). */
static const char *
classify_origin_name(const char *origin)
{
    const char *slash = strrchr(origin, '/');
    return slash ? slash + 1 : origin;
}

static bool
classify_addr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '+' || c == '=' || c == '%' || c >= 0x80;
}

/* The reply code at t[0..3) when it opens a token: three digits, 2xx to 5xx, then '-' or
 * ' ' (a continuation line's "550-" or the last line's "550 "). */
static bool
classify_reply_lead(const char *t, size_t left)
{
    return left >= 4 && t[0] >= '2' && t[0] <= '5' && t[1] >= '0' && t[1] <= '9' && t[2] >= '0' &&
           t[2] <= '9' && (t[3] == '-' || t[3] == ' ');
}

/* Length of an enhanced status code "d.ddd.ddd" at t (RFC 3463), 0 when none. */
static size_t
classify_enhanced_len(const char *t, size_t left)
{
    size_t i = 0, part;
    int dots = 0;
    if (left < 5 || t[0] < '2' || t[0] > '5' || t[1] != '.') {
        return 0;
    }
    i = 2;
    for (;;) {
        for (part = 0; i < left && part < 3 && t[i] >= '0' && t[i] <= '9'; part++) {
            i++;
        }
        if (part == 0) {
            return 0;
        }
        if (++dots == 2) {
            return i;
        }
        if (i >= left || t[i] != '.') {
            return 0;
        }
        i++;
    }
}

/* A multi-line SMTP reply ("550-5.1.1 The email account that you tried to reach does not\n
 * 550-5.1.1 exist. ...\n550 5.1.1 ...", RFC 5321 §4.2.1) is one text: the code that opens
 * each continuation line is dropped, so that a phrase wrapped across lines still reads as
 * one. The first line's code stays ("550 5.1.1 The email ... exist. ..."). t[0..n) is the
 * normalized text (one space between words); returns the new length. */
static size_t
classify_join_continuations(char *t, size_t n)
{
    size_t i = 0, o = 0;
    char code[3] = {0};
    bool have = false;

    while (i < n) {
        bool tok;
        if ((unsigned char)t[i] < '2' || (unsigned char)t[i] > '5') {
            /* no reply code starts here: copied (in place, while nothing was dropped) */
            if (o == i) {
                do {
                    i++;
                } while (i < n && ((unsigned char)t[i] < '2' || (unsigned char)t[i] > '5'));
                o = i;
            } else {
                t[o++] = t[i++];
            }
            continue;
        }
        tok = i == 0 || t[i - 1] == ' ' || t[i - 1] == ':' || t[i - 1] == '<' || t[i - 1] == '(' ||
              t[i - 1] == '"';
        if (tok && classify_reply_lead(t + i, n - i)) {
            bool cont = t[i + 3] == '-';
            if (have && memcmp(code, t + i, 3) == 0) {
                /* a later line of the same reply: drop "550-" / "550 " and its repeated
                 * enhanced code, with the space after them */
                size_t j = i + 4, el = classify_enhanced_len(t + j, n - j);
                if (el > 0 && (j + el == n || t[j + el] == ' ')) {
                    j += el + (j + el < n);
                }
                i = j;
                if (!cont) {
                    have = false; /* "550 " ends the reply */
                }
                continue;
            }
            if (cont) {
                memcpy(code, t + i, 3);
                have = true;
                memmove(t + o, t + i, 3);
                t[o + 3] = ' ';
                o += 4;
                i += 4;
                continue;
            }
        }
        t[o++] = t[i++];
    }
    if (o < n) {
        t[o] = '\0';
    }
    return o;
}

/* Copy the diagnostic into the form rules are matched against (rules_normalize: white-space
 * runs as one space, U+2019 as an apostrophe) with every e-mail address blanked out ('_'), so
 * that rules see the words of the error and not those of a local part ("filtered@",
 * "spam-reports@"). Returns the length written (the copy is cut at cap - 1). */
static size_t
classify_mask_addrs(const char *in, char *out, size_t cap)
{
    size_t n = rules_normalize(in, strlen(in), out, cap), i, k;

    n = classify_join_continuations(out, n);

    for (i = 0; i < n; i++) {
        size_t st, e;
        const char *at = memchr(out + i, '@', n - i);
        if (at == NULL) {
            break;
        }
        i = (size_t)(at - out);
        st = i;
        while (st > 0 && classify_addr_char((unsigned char)out[st - 1])) {
            st--;
        }
        /* a domain has no empty label: a dot that ends the text, the address or a run of
         * dots ("<a@example.net>...User unknown" without the brackets) is not part of it */
        e = i + 1;
        while (e < n && classify_addr_char((unsigned char)out[e]) &&
               !(out[e] == '.' &&
                 (e + 1 >= n || out[e + 1] == '.' || !classify_addr_char((unsigned char)out[e + 1])))) {
            e++;
        }
        if (st == i || e == i + 1) {
            continue;
        }
        for (k = st; k < e; k++) {
            out[k] = '_';
        }
        /* the dots after it end a sentence or run into the next word: one space (none
         * before a space), so that the words around the address read as one phrase in
         * the normalized text (one space between words) */
        if (e < n && (out[e] == '>' || out[e] == ']' || out[e] == ')') && e + 1 < n &&
            out[e + 1] == '.') {
            e++; /* "User <a@b>. does not exist": the bracket stays, its dot goes */
        }
        if (e < n && out[e] == '.') {
            size_t d = e;
            while (d < n && out[d] == '.') {
                d++;
            }
            if (d < n && out[d] != ' ') {
                out[e++] = ' ';
            }
            memmove(out + e, out + d, n - d);
            n -= d - e;
            out[n] = '\0';
        }
        i = e;
    }
    /* Sendmail names a program or file recipient in quotes before its "... " text
     * ("554 \"|exec /usr/bin/procmail\"... Service unavailable"): that is an address too. */
    for (i = 1; i + 3 < n; i++) {
        size_t st;
        const char *q = memchr(out + i, '"', n - 3 - i);
        if (q == NULL) {
            break;
        }
        i = (size_t)(q - out);
        if (memcmp(out + i + 1, "...", 3) != 0) {
            continue;
        }
        st = i;
        while (st > 0 && i - st < 512 && out[st - 1] != '"' && out[st - 1] != '\n') {
            st--;
        }
        if (st > 0 && out[st - 1] == '"') {
            for (k = st; k < i; k++) {
                out[k] = '_';
            }
        }
    }
    return n;
}

/* The diagnostic's own enhanced code is more specific than a Status field that only names
 * the class (x.0.0) or that a relay filled in; when they differ, the remote's words win. */
static void
classify_weigh_codes(struct bnc_rcpt *rc)
{
    char st[16] = "", rp[4] = "";
    if (rc->diagnostic == NULL || rc->diagnostic[0] == '\0') {
        return;
    }
    status_code_from_text(rc->diagnostic, strlen(rc->diagnostic), st, rp);
    {
        /* A reply quoted inside the text ("554 4.4.7 Message expired ...<421 4.4.2
         * Connection timed out>") is the remote's own answer: its code is the cause. */
        const char *d = rc->diagnostic, *lt = d;
        while ((lt = strchr(lt, '<')) != NULL) {
            lt++;
            if ((lt[0] == '4' || lt[0] == '5') && lt[1] >= '0' && lt[1] <= '9' && lt[2] >= '0' &&
                lt[2] <= '9' && lt[3] == ' ' && lt[4] == lt[0] && lt[5] == '.') {
                char st2[16] = "", rp2[4] = "";
                const char *gt = strchr(lt, '>');
                status_code_from_text(lt, gt ? (size_t)(gt - lt) : strlen(lt), st2, rp2);
                if (st2[0] != '\0') {
                    memcpy(st, st2, sizeof(st));
                }
                break;
            }
        }
    }
    if ((st[0] == '4' || st[0] == '5') && !(strcmp(st + 1, ".0.0") == 0 && rc->status[0] != '\0')) {
        /* (a generic x.0.0 in the text never replaces a Status field) */
        if (rc->status[0] == '\0' || strcmp(rc->status, st) != 0) {
            memcpy(rc->status, st, sizeof(rc->status));
        }
    }
    if (rc->replycode[0] == '\0' && (rp[0] == '4' || rp[0] == '5')) {
        memcpy(rc->replycode, rp, sizeof(rc->replycode));
    }
}

/* Does the text call the failure temporary? ("temporary failure", "persistent transient
 * failure", or Exim's words for a delivery retried until the retry time ran out: the error it
 * kept meeting was a temporary one.) */
static bool
classify_says_temporary(const char *diag)
{
    size_t n = strlen(diag);
    return mem_find_ci(diag, n, "temporar", 8) != NULL ||
           mem_find_ci(diag, n, "persistent", 10) != NULL ||
           mem_find_ci(diag, n, "retry timeout exceeded", 22) != NULL ||
           mem_find_ci(diag, n, "have been failing for a long time", 33) != NULL;
}

/* An x-unix diagnostic is the delivery program's exit status; sysexits.h names a few
 * (EX_NOUSER 67, EX_NOHOST 68, EX_NOPERM 77, EX_CONFIG 78). Any other status is the
 * program failing: mailererror. */
static bnc_reason
classify_reason_from_exit(const char *diag)
{
    char *end;
    long code;
    if (diag == NULL) {
        return BNC_R_MAILERERROR;
    }
    while (*diag == ' ') {
        diag++;
    }
    code = strtol(diag, &end, 10);
    if (end == diag) {
        return BNC_R_MAILERERROR;
    }
    switch (code) {
    case 67:
        return BNC_R_USERUNKNOWN;
    case 68:
        return BNC_R_HOSTUNKNOWN;
    case 77:
    case 78:
        return BNC_R_SYSTEMERROR;
    default:
        return BNC_R_MAILERERROR;
    }
}

/* x.y.0: "other or undefined" status of its subject (RFC 3463 §3) */
static bool
classify_status_is_generic(const char *st)
{
    const char *dot = strchr(st, '.');
    if (dot == NULL || (st[0] != '4' && st[0] != '5')) {
        return false;
    }
    dot = strchr(dot + 1, '.');
    return dot != NULL && strcmp(dot + 1, "0") == 0;
}

/* decided_by for a rule: "rule:FILE:LINE", with what it was read from appended (",subject") */
static const char *
classify_rule_decided(struct bnc_report *r, const struct rule_info *rule, const char *from)
{
    const char *d = classify_decided(r, "rule:", classify_origin_name(rule->origin), rule->line);
    return from != NULL ? classify_decided(r, d, from, 0) : d;
}

/* The texts one report has matched already, with their results: recipients of one bounce
 * often share a diagnostic, and a Status comment or notice may repeat one. A text is looked
 * up by its bytes (the masking and the match depend on nothing else), so each distinct text
 * costs one scan per report. */
#define CLASSIFY_MEMO 4
struct cls_memo {
    const struct bnc_ruleset *rs;
    size_t n, next;
    struct {
        const char *text; /* borrowed from the report, which outlives the classification */
        bool found;
        struct rule_match m;
    } e[CLASSIFY_MEMO];
};

/* The first rule matching text, with its addresses blanked; false when none matches. */
static bool
classify_match_text(struct cls_memo *memo, const char *text, struct rule_match *m)
{
    char masked[CLASSIFY_DIAG_MAX];
    size_t n, i;
    bool found;

    m->rule = NULL;
    m->cause = NULL;
    if (text == NULL || text[0] == '\0') {
        return false;
    }
    for (i = 0; i < memo->n; i++) {
        if (memo->e[i].text == text || strcmp(memo->e[i].text, text) == 0) {
            *m = memo->e[i].m;
            return memo->e[i].found;
        }
    }
    n = classify_mask_addrs(text, masked, sizeof(masked));
    if (n == 0) {
        found = false;
    } else if (rules_match(memo->rs, masked, n, m) != BNC_OK) {
        return false; /* (not kept: a later scan may succeed) */
    } else {
        found = m->rule != NULL;
    }
    i = memo->next;
    memo->next = (memo->next + 1) % CLASSIFY_MEMO;
    if (memo->n < CLASSIFY_MEMO) {
        memo->n++;
    }
    memo->e[i].text = text;
    memo->e[i].found = found;
    memo->e[i].m = *m;
    return found;
}

/* Match text (a Status comment, a notice) and take its rule in place of *m when it names a
 * problem of the mailbox: any address-side reason, or with only_state just the mailbox's
 * own state (suspended, full). */
static bool
classify_refine(struct cls_memo *memo, const char *text, const char *diagnostic, bool only_state,
                struct rule_match *m)
{
    struct rule_match cm = {NULL, NULL};
    bnc_reason why;

    if (text == diagnostic || !classify_match_text(memo, text, &cm)) {
        return false;
    }
    why = cm.rule->reason;
    if (only_state ? (why != BNC_R_SUSPEND && why != BNC_R_MAILBOXFULL)
                   : (why == BNC_R_USERUNKNOWN || bnc_reason_side(why) != BNC_SIDE_ADDRESS)) {
        return false;
    }
    *m = cm;
    return true;
}

/* The cause in Sendmail's Subject, "Returned mail: <cause>" (not "see transcript for
 * details", which matches no rule); only the MTA's words after the prefix are read. */
static bool
classify_subject_summary(struct cls_memo *memo, const char *subject, struct rule_match *m)
{
    static const char prefix[] = "Returned mail:";
    struct rule_match cm = {NULL, NULL};

    if (subject == NULL || !slice_prefix_ci(slice_make(subject, strlen(subject)), prefix) ||
        !classify_match_text(memo, subject + sizeof(prefix) - 1, &cm)) {
        return false;
    }
    *m = cm;
    return true;
}

/* The pseudo status (x.0.9NN) of a recipient whose bounce carries no status code, or only
 * its format's placeholder. */
static void
classify_pseudo_status(const struct bnc_report *r, struct bnc_rcpt *rc, bnc_reason reason)
{
    bool placeholder = rc->status[0] != '\0' && strcmp(rc->status + 1, ".0.0") == 0 &&
                       (r->family_traits & BNC_FT_GENERIC_DSN_STATUS) != 0;
    bool temp;
    char pseudo[16];

    if (rc->status[0] != '\0' && !placeholder) {
        return;
    }
    if (placeholder) {
        /* the format's own placeholder, not the remote's code: the reason's pseudo status
         * of the same class says more (OpenSMTPD's "Status: 5.0.0" of "Domain does not
         * exist" is 5.0.912) */
        temp = rc->status[0] == '4';
    } else {
        /* The class: temporary for a delay notice (RFC 3464 §2.3.3 gives delayed
         * recipients a 4.X.X status) and when a 4xx reply or the words say so ("temporary
         * failure", a retry time that ran out), else permanent. */
        temp = rc->replycode[0] == '4' || rc->action == BNC_ACTION_DELAYED ||
               (rc->diagnostic != NULL && classify_says_temporary(rc->diagnostic));
        if (rc->smtp_command != NULL && strcmp(rc->smtp_command, "MAIL") == 0 &&
            (r->family_traits & BNC_FT_MAIL_FROM_UNDECIDED) != 0) {
            /* Exim's "SMTP error from remote mail server after MAIL FROM:": the remote
             * refused the session's sender before any recipient was offered, so this
             * recipient's own status is undecided. Its pseudo status is onhold's (x.0.901,
             * the convention of Sisimai's Exim reports), while the reason still comes from
             * the words ("Unroutable sender address" is rejected). */
            reason = BNC_R_ONHOLD;
        }
    }
    reason_pseudo_status(reason, temp, pseudo);
    if (pseudo[0] != '\0' || !placeholder) {
        memcpy(rc->status, pseudo, sizeof(rc->status));
    }
}

/* ---- the decision table ----
 *
 * A recipient's verdict is decided by walking classify_steps in order: each step reads the
 * facts the parse layer reported (action, status, reply code, SMTP command, diagnostic,
 * notice, the family's traits) and either decides the reason or passes. The first step
 * that decides names itself in decided_by; a rule step that forces only hard/soft leaves
 * the reason to the later steps but keeps decided_by. Then every step of classify_adjust
 * runs once: they move a decided reason to the side of the failure the report states (the
 * SMTP stage, the message rather than the address, a temporary failure).
 * docs/internals/classify.md lists both tables; test_classify checks the doc against them. */
struct cls_state {
    struct cls_memo *memo; /* the report's matched texts; memo->rs is the ruleset */
    struct bnc_report *r;
    struct bnc_rcpt *rc;
    bool temporary;      /* the failure is temporary by its status, reply or action */
    bool decided_set;    /* a step has named itself in decided_by */
    bnc_reason reason;   /* BNC_R_UNDEFINED until a step decides */
    int forced_hard;     /* a rule's hard:/soft: (-1: none) */
    const char *decided; /* decided_by */
    struct rule_match m; /* the rule that matched the diagnostic, if any */
};

/* Set the reason; decided_by only when no earlier step named itself (a rule that forced
 * only hard/soft). A step that found nothing (an exit status that names no cause) names
 * itself until a later step decides. */
static bool
cls_decide(struct cls_state *s, bnc_reason reason, const char *prefix, const char *what)
{
    s->reason = reason;
    if (!s->decided_set) {
        s->decided = classify_decided(s->r, prefix, what, 0);
        s->decided_set = reason != BNC_R_UNDEFINED;
    }
    return reason != BNC_R_UNDEFINED;
}

/* A delivered, relayed or expanded recipient (RFC 3464 action) is no failure. */
static bool
step_action(struct cls_state *s)
{
    bnc_action a = s->rc->action;
    if (a != BNC_ACTION_DELIVERED && a != BNC_ACTION_RELAYED && a != BNC_ACTION_EXPANDED) {
        return false;
    }
    return cls_decide(s, BNC_R_DELIVERED, "action:", bnc_action_name(a));
}

/* What the message is: an ARF report or unsubscribe request (feedback), an auto-reply
 * (vacation), a delivery receipt; the parse layer says so through the recipient's hint. */
static bool
step_report(struct cls_state *s)
{
    const struct bnc_rcpt *rc = s->rc;
    bnc_reason h = rc->reason_hint;
    if (h != BNC_R_FEEDBACK && h != BNC_R_VACATION && h != BNC_R_DELIVERED) {
        return false;
    }
    return cls_decide(s, h, "",
                      h == BNC_R_FEEDBACK   ? (rc->origin[0] ? rc->origin : "arf")
                      : h == BNC_R_VACATION ? "autoreply"
                                            : "format");
}

/* An RFC 3464 Diagnostic-Code of type x-unix: a local delivery program's exit. */
static bool
classify_is_exit_status(const char *type)
{
    return type != NULL && strcasecmp(type, "x-unix") == 0;
}

/* A queue expiry ("retry timeout exceeded") whose quoted reply no rule explains: the
 * reply's enhanced status decides when it names a cause of the mailbox, the mail system, the
 * protocol, the content or a policy (X.2-X.7 except X.4: "451 4.3.5 Server configuration
 * error: retry timeout exceeded" is systemerror). A network or addressing status (X.4.x "no
 * answer from host", X.1.x) is how a queue comes to expire, so it stays expired. */
static bool
step_rule_expiry(struct cls_state *s)
{
    const struct rule_info *expiry = s->m.rule;
    bnc_reason why = classify_reason_from_status(s->rc->status);
    char subject = s->rc->status[0] != '\0' ? s->rc->status[2] : '\0';

    s->forced_hard = expiry->hard;
    s->decided_set = true;

    if (why != BNC_R_UNDEFINED && why != BNC_R_EXPIRED && why != BNC_R_ONHOLD && subject >= '2' &&
        subject <= '7' && subject != '4' && s->rc->status[3] == '.' &&
        strstr(s->rc->diagnostic, s->rc->status) != NULL) {
        s->reason = why;
        s->decided = classify_decided(s->r, classify_rule_decided(s->r, expiry, ",status:"),
                                      s->rc->status, 0);
        return true;
    }
    s->reason = BNC_R_EXPIRED;
    s->decided = classify_rule_decided(s->r, expiry, NULL);
    return true;
}

/* The rules over the diagnostic (user rules first, then default.rules; one Vectorscan
 * pass). A generic "user unknown" is refined by the reporting MTA's own words when they
 * name a state of the mailbox: its comment on the Status field (PowerMTA: "5.2.1 (mailbox
 * disabled, not accepting messages)"), or the sentence its notice puts above the recipient
 * list (au: "The user(s) account is disabled."). */
static bool
step_rule(struct cls_state *s)
{
    struct bnc_rcpt *rc = s->rc;
    const char *refined = NULL;

    if (!classify_match_text(s->memo, rc->diagnostic, &s->m)) {
        return false;
    }
    if (s->m.rule->tier == RULES_TIER_BUILTIN && s->m.rule->reason == BNC_R_ONHOLD &&
        s->m.rule->hard < 0 && classify_is_exit_status(rc->diagnostic_type)) {
        /* words that name no cause ("temporary failure", Postfix's text for EX_TEMPFAIL)
         * of a local delivery program: its exit status says more (step exit-status) */
        s->m.rule = NULL;
        return false;
    }
    if (s->m.rule->tier == RULES_TIER_BUILTIN && s->m.rule->reason == BNC_R_EXPIRED) {
        if (s->m.cause == NULL) {
            return step_rule_expiry(s);
        }
        /* the queue ran out on a reply that names its cause ("421 Sender address blocked:
         * retry timeout exceeded"): the expiry is the outcome, the reply says why */
        s->m.rule = s->m.cause;
        refined = ",cause";
    }
    if (s->m.rule->tier == RULES_TIER_BUILTIN && s->m.rule->hard < 0 &&
        s->m.rule->reason == BNC_R_USERUNKNOWN) {
        if (classify_refine(s->memo, rc->status_comment, rc->diagnostic, false, &s->m)) {
            refined = ",status-comment";
        } else if (classify_refine(s->memo, rc->notice, rc->diagnostic, true, &s->m)) {
            refined = ",notice";
        }
    }
    s->forced_hard = s->m.rule->hard;
    s->reason = s->m.rule->reason;
    s->decided = classify_rule_decided(s->r, s->m.rule, refined);
    s->decided_set = true;
    return s->reason != BNC_R_UNDEFINED;
}

/* RFC 3464 x-unix: the exit status of the local delivery program (sysexits.h). */
static bool
step_exit_status(struct cls_state *s)
{
    if (!classify_is_exit_status(s->rc->diagnostic_type)) {
        return false;
    }
    return cls_decide(s, classify_reason_from_exit(s->rc->diagnostic),
                      "diagnostic-type:", "x-unix");
}

/* A delay notice whose status names no cause (none, or x.y.0): the message is still
 * queued, so the cause is that it has not gone out yet. */
static bool
step_delayed(struct cls_state *s)
{
    const struct bnc_rcpt *rc = s->rc;
    if (rc->action != BNC_ACTION_DELAYED ||
        (rc->status[0] != '\0' && !classify_status_is_generic(rc->status))) {
        return false;
    }
    return cls_decide(s, BNC_R_EXPIRED, "action:", "delayed");
}

/* The RFC 3463 status code (x.1.1 user unknown, x.2.2 mailbox full, ...). */
static bool
step_status(struct cls_state *s)
{
    bnc_reason why = classify_reason_from_status(s->rc->status);
    return why != BNC_R_UNDEFINED && cls_decide(s, why, "status:", s->rc->status);
}

/* The family's own statement, more specific than a bare reply code: a qmail or Exchange
 * message type, a list server's "not a member", PowerMTA's category in its DSN. */
static bool
step_format(struct cls_state *s)
{
    const struct bnc_rcpt *rc = s->rc;
    if (rc->reason_hint == BNC_R_UNDEFINED) {
        return false;
    }
    if (strncmp(rc->origin, "format:", 7) == 0) {
        return cls_decide(s, rc->reason_hint, "", rc->origin);
    }
    if (s->r->family != NULL && s->r->family[0] != '\0') {
        return cls_decide(s, rc->reason_hint, "format:", s->r->family);
    }
    return cls_decide(s, rc->reason_hint, "format:", rc->origin[0] ? rc->origin : "hint");
}

/* The RFC 5321 reply code (552 mailbox full, 553, 556, ...). */
static bool
step_reply(struct cls_state *s)
{
    bnc_reason why = classify_reason_from_reply(s->rc->replycode);
    /* an enhanced status of the security or policy subject (X.7.Y, RFC 3463 §3.8) says the
     * message was refused for who or what it is; 552's "exceeded storage allocation" does
     * not turn that into a full mailbox ("552-5.7.0 Our system detected an illegal
     * attachment") */
    if (why == BNC_R_MAILBOXFULL && strncmp(s->rc->status + 1, ".7.", 3) == 0) {
        return false;
    }
    return why != BNC_R_UNDEFINED && cls_decide(s, why, "reply:", s->rc->replycode);
}

/* Sendmail sums the failure up in its Subject ("Returned mail: User unknown"): the last
 * word for a one-recipient report whose own text named no cause. */
static bool
step_subject(struct cls_state *s)
{
    if (s->m.rule != NULL || s->r->nrcpts != 1 ||
        !classify_subject_summary(s->memo, s->r->subject, &s->m)) {
        return false;
    }
    s->reason = s->m.rule->reason;
    s->forced_hard = s->m.rule->hard;
    s->decided = classify_rule_decided(s->r, s->m.rule, ",subject");
    s->decided_set = true;
    return s->reason != BNC_R_UNDEFINED;
}

/* A failure the report states (a failure code, a failed or delayed action) whose cause
 * nothing named: onhold, for a person or a new rule. A delivery-status part that holds no
 * fields for this recipient (Postfix's "--- Delivery report unavailable ---") states no
 * failure of its own: undefined. */
static bool
step_onhold(struct cls_state *s)
{
    const struct bnc_rcpt *rc = s->rc;
    if (s->m.rule != NULL ||
        !(rc->status[0] == '5' || rc->status[0] == '4' || rc->replycode[0] == '5' ||
          rc->replycode[0] == '4' || rc->action == BNC_ACTION_FAILED ||
          rc->action == BNC_ACTION_DELAYED)) {
        return false;
    }
    if (rc->status[0] == '\0' && rc->replycode[0] == '\0' &&
        (s->r->flags & BNC_PF_NO_DSN_PART) == 0 && strcmp(rc->origin, "dsn") != 0) {
        s->decided = "dsn:no-recipient-fields";
        s->decided_set = true;
        return true;
    }
    if (rc->status[0] != '\0') {
        return cls_decide(s, BNC_R_ONHOLD, "status:", rc->status);
    }
    if (rc->replycode[0] != '\0') {
        return cls_decide(s, BNC_R_ONHOLD, "reply:", rc->replycode);
    }
    return cls_decide(s, BNC_R_ONHOLD, "action:", bnc_action_name(rc->action));
}

/* A refusal of MAIL FROM, HELO or the connection came before any recipient was offered:
 * words that would name the address's state (unknown, moved, disabled, full, no mail
 * accepted, filtered) are said of our sender (MAIL FROM: rejected) or of our host (HELO,
 * the greeting: blocked), and so is a refusal whose cause nothing named (onhold). At the
 * greeting, a transient refusal with no cause is the server's "421 Service not available"
 * (RFC 5321 §3.8: systemerror), and a permanent one is a refusal of our connection
 * (blocked; RFC 5321 §3.1's 554, RFC 7504's 521) whatever state of the server its words
 * give; answered with a syntax-class reply (stage_syntax_reply), the refusal is of our
 * command: syntaxerror. The sender-side reasons a rule found stay as they are. */
/* A reply of the syntax class: RFC 5321's 500, 501, 502, 504 or RFC 3463's x.5.1 (invalid
 * command), x.5.2 (syntax error), x.5.4 (invalid arguments). Answered to HELO/EHLO (Postfix
 * reports both the greeting and HELO as "refused to talk to me"), it says our command, its
 * host name, was malformed ("501 5.5.4 Invalid domain name"), not that our host is refused. */
static bool
stage_syntax_reply(const struct bnc_rcpt *rc)
{
    const char *st = rc->status;
    if (strcmp(rc->replycode, "500") == 0 || strcmp(rc->replycode, "501") == 0 ||
        strcmp(rc->replycode, "502") == 0 || strcmp(rc->replycode, "504") == 0) {
        return true;
    }
    return st[0] != '\0' && strncmp(st + 1, ".5.", 3) == 0 &&
           (st[4] == '1' || st[4] == '2' || st[4] == '4') && st[5] == '\0';
}

static void
adjust_stage(struct cls_state *s)
{
    const char *cmd = s->rc->smtp_command;
    bnc_reason why = s->reason;
    bool of_address = why == BNC_R_USERUNKNOWN || why == BNC_R_HOSTUNKNOWN ||
                      why == BNC_R_NOTACCEPT || why == BNC_R_HASMOVED || why == BNC_R_SUSPEND;
    bool greeting, helo, transient;

    if (cmd == NULL) {
        return;
    }
    greeting = strcmp(cmd, "CONN") == 0;
    helo = strcmp(cmd, "HELO") == 0 || strcmp(cmd, "EHLO") == 0;
    /* the greeting's own class: its reply code (Exim's expiry reports 5.0.0 for a 421) */
    transient = s->rc->replycode[0] != '\0' ? s->rc->replycode[0] == '4' : s->temporary;
    if (strcmp(cmd, "MAIL") == 0 && (of_address || why == BNC_R_ONHOLD)) {
        s->reason = BNC_R_REJECTED;
    } else if (greeting && transient && why == BNC_R_ONHOLD) {
        s->reason = BNC_R_SYSTEMERROR;
    } else if (greeting && !transient &&
               (why == BNC_R_SYSTEMERROR || why == BNC_R_SYSTEMFULL ||
                why == BNC_R_SECURITYERROR)) {
        s->reason = BNC_R_BLOCKED;
    } else if ((greeting || helo) && (of_address || why == BNC_R_REJECTED || why == BNC_R_ONHOLD ||
                                      why == BNC_R_MAILBOXFULL || why == BNC_R_FILTERED)) {
        s->reason = stage_syntax_reply(s->rc) ? BNC_R_SYNTAXERROR : BNC_R_BLOCKED;
    }
    if (s->reason != why) {
        /* a rule's hard: spoke of the recipient; the refusal was of our sender or host */
        s->forced_hard = -1;
        s->decided =
            classify_decided(s->r, classify_decided(s->r, s->decided, ",stage:", 0), cmd, 0);
    }
}

/* RFC 3463's X.1.7 ("bad sender's mailbox address syntax") and X.1.8 ("bad sender's system
 * address") say the address refused was our sender's: the generic words of a dead address
 * a built-in rule found ("550 5.1.7 Invalid address", "553 5.1.8 Domain does not exist")
 * are said of it, rejected. Operator rules are taken as they are. */
static void
adjust_sender_status(struct cls_state *s)
{
    const char *st = s->rc->status;
    bnc_reason why = s->reason;

    if (s->m.rule == NULL || s->m.rule->tier != RULES_TIER_BUILTIN || st[0] == '\0' ||
        (strcmp(st + 1, ".1.7") != 0 && strcmp(st + 1, ".1.8") != 0) ||
        !(why == BNC_R_USERUNKNOWN || why == BNC_R_HOSTUNKNOWN || why == BNC_R_HASMOVED ||
          why == BNC_R_NOTACCEPT)) {
        return;
    }
    s->reason = BNC_R_REJECTED;
    s->forced_hard = -1;
    s->decided = classify_decided(s->r, s->decided, ",sender-status", 0);
}

/* A mailbox that does not exist is dead whichever SMTP command was answered. The generic
 * "user unknown" phrases (built-in rules whose verdict is a bare `userunknown`) are also
 * what content filters say when they refuse a message, so the refusal is the message's
 * (filtered, soft; decided_by ends in ",after-data" or ",not-address") when the report
 * itself says so:
 * - it answered DATA or the end of data, after the recipient had been accepted;
 * - not in answer to RCPT TO (the stage is not known): its status names a policy (x.7.y)
 *   or the state of a mailbox that exists (x.2.y, RFC 3463 §3.3: "the destination mailbox
 *   exists"), or the bounce comes from a content-filtering gateway (BNC_FT_FILTER_GATEWAY).
 * Postfix's answer to RCPT TO ("Recipient address rejected:") is about the address whatever
 * stage the report names (a relay's that names none, a pipelining transcript's DATA).
 * The recipient's own mail store (BNC_FT_MAILSTORE), an address status x.1.y, phrases that
 * only a directory says (`hard:userunknown`) and operator rules are taken as they are. */
static void
adjust_message_refused(struct cls_state *s)
{
    const struct bnc_rcpt *rc = s->rc;
    const char *cmd = rc->smtp_command;
    bool after_data, at_rcpt, policy_status, rcpt_words;

    if (s->reason != BNC_R_USERUNKNOWN || s->m.rule == NULL ||
        s->m.rule->tier != RULES_TIER_BUILTIN || s->m.rule->hard >= 0 ||
        strncmp(rc->status + 1, ".1.", 3) == 0 || (s->r->family_traits & BNC_FT_MAILSTORE) != 0) {
        return;
    }
    /* Postfix's "<a@b>: Recipient address rejected: ..." is its answer to RCPT TO: also
     * when a relaying MTA quotes it without naming the command, and when a pipelining
     * client's transcript shows it after its DATA (Sendmail's ">>> DATA" then "<<< 550 5.7.1
     * <a@b>: Recipient address rejected: User unknown" and "554 no valid recipients") */
    rcpt_words = rc->diagnostic != NULL &&
                 mem_find_ci(rc->diagnostic, strlen(rc->diagnostic), "recipient address rejected",
                             26) != NULL;
    after_data = cmd != NULL && strcmp(cmd, "DATA") == 0 && !rcpt_words;
    at_rcpt = (cmd != NULL && strcmp(cmd, "RCPT") == 0) || rcpt_words;
    policy_status =
        strncmp(rc->status + 1, ".7.", 3) == 0 || strncmp(rc->status + 1, ".2.", 3) == 0;
    if (after_data ||
        (!at_rcpt && (policy_status || (s->r->family_traits & BNC_FT_FILTER_GATEWAY) != 0))) {
        s->reason = BNC_R_FILTERED;
        s->decided =
            classify_decided(s->r, s->decided, after_data ? ",after-data" : ",not-address", 0);
    }
}

/* A domain its resolver did not find, in a failure the reporting MTA itself calls
 * temporary (a delay notice, a 4.x.x status: Gmail retries an NXDOMAIN for a while), is a
 * name that did not resolve this time: the MTA keeps trying, so it is not dead yet. */
static void
adjust_temporary(struct cls_state *s)
{
    /* the remote's own X.1.2 in answer to RCPT TO ("bad destination system address":
     * Postfix answers 450 4.1.2 "Domain not found" for NXDOMAIN by default) names the domain,
     * not the path to it; the reporting MTA's own 4.1.2 (qmail's "couldn't find any host by
     * that name") is its resolver failing */
    const char *cmd = s->rc->smtp_command;
    bool remote_x12 = cmd != NULL && strcmp(cmd, "RCPT") == 0 &&
                      strncmp(s->rc->status + 1, ".1.2", 4) == 0;
    if (s->reason == BNC_R_HOSTUNKNOWN && s->temporary && s->forced_hard != 1 && !remote_x12) {
        s->reason = BNC_R_NETWORKERROR;
        s->decided = classify_decided(s->r, s->decided, ",temporary", 0);
    }
}

static const struct cls_step {
    const char *name;
    bool (*decide)(struct cls_state *s);
} classify_steps[] = {
    {"action", step_action},           {"report", step_report},   {"rule", step_rule},
    {"exit-status", step_exit_status}, {"delayed", step_delayed}, {"status", step_status},
    {"format", step_format},           {"reply", step_reply},     {"subject", step_subject},
    {"onhold", step_onhold},
};

static const struct cls_adjust {
    const char *name;
    void (*adjust)(struct cls_state *s);
} classify_adjust[] = {
    {"stage", adjust_stage},
    {"sender-status", adjust_sender_status},
    {"message-refused", adjust_message_refused},
    {"temporary", adjust_temporary},
};

const char *
classify_step_name(size_t i, bool adjustment)
{
    if (adjustment) {
        return i < sizeof(classify_adjust) / sizeof(classify_adjust[0]) ? classify_adjust[i].name
                                                                        : NULL;
    }
    return i < sizeof(classify_steps) / sizeof(classify_steps[0]) ? classify_steps[i].name : NULL;
}

static void
classify_rcpt(struct cls_memo *memo, struct bnc_report *r, struct bnc_rcpt *rc)
{
    struct cls_state s = {memo, r, rc, false, false, BNC_R_UNDEFINED, -1, "", {NULL, NULL}};
    size_t i;

    classify_weigh_codes(rc);
    s.temporary = rc->status[0] == '4' || (rc->status[0] == '\0' && rc->replycode[0] == '4') ||
                  rc->action == BNC_ACTION_DELAYED;
    for (i = 0; i < sizeof(classify_steps) / sizeof(classify_steps[0]); i++) {
        if (classify_steps[i].decide(&s)) {
            break;
        }
    }
    for (i = 0; i < sizeof(classify_adjust) / sizeof(classify_adjust[0]); i++) {
        classify_adjust[i].adjust(&s);
    }
    rc->reason = s.reason;
    rc->decided_by = s.decided;
    classify_pseudo_status(r, rc, s.reason);
    rc->hard = classify_hard(s.reason, s.temporary);
    if (s.forced_hard >= 0) {
        rc->hard = s.forced_hard;
    }
    rc->kind = classify_kind(s.reason, rc->hard);
    if (s.forced_hard >= 0 && s.reason != BNC_R_DELIVERED && s.reason != BNC_R_FEEDBACK &&
        s.reason != BNC_R_VACATION) {
        rc->kind = s.forced_hard ? BNC_KIND_HARD : BNC_KIND_SOFT;
    }
}

bnc_status
classify_rules_matching(const struct bnc_ruleset *rs, const char *diagnostic,
                        const struct rule_info **out, size_t cap, size_t *n_out)
{
    char masked[CLASSIFY_DIAG_MAX];
    size_t n;

    *n_out = 0;
    if (diagnostic == NULL || diagnostic[0] == '\0') {
        return BNC_OK;
    }
    n = classify_mask_addrs(diagnostic, masked, sizeof(masked));
    return rules_match_all(rs, masked, n, out, cap, n_out);
}

void
classify_report(const struct bnc_ruleset *rs, bnc_report *r)
{
    struct cls_memo memo;
    size_t i;

    memo.rs = rs;
    memo.n = memo.next = 0;
    for (i = 0; i < r->nrcpts; i++) {
        classify_rcpt(&memo, r, &r->rcpts[i]);
    }
}
