/*
 * families.c - the bounce families (MTAs and ESPs) as one table, and the cheap pick.
 *
 * A family is recognised by the signals its bounces always carry: the sender (From), the
 * Subject, a top-level header (X-Mailer, X-SES-Outgoing, ...) or one fixed sentence at the
 * start of the bounce text. The pick looks at the decoded From and Subject first, then at
 * the offsets the one-pass phrase scan (scan.c) recorded for the header signatures and the
 * sentences, so picking costs no extra pass over the text and a message is never run
 * through every recognizer. The family names the origin ("format:qmail")
 * and, when its layout needs it, its own extractor; most families share the generic block
 * extractor of formats.c, which understands their "address line + error text" layout.
 * Doesn't: classify; a family's hint is used only when neither text nor codes decide.
 * STANDARDS: none (these formats are vendor conventions).
 * LIMITS: needles are searched in the bounce text, already capped by formats.c.
 * Ownership: static tables.
 */
#include <ctype.h>
#include <string.h>

#include "parse/formats/formats_int.h"

/* A list server's refusal ("you are not a member of this list <list@example.org>"): the
 * failed recipient is the list, the first address written in angle brackets. */
static size_t
fmt_extract_listserver(struct fmt_msg *m)
{
    const char *p = m->text.p, *end = m->text.p + m->text.len;
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        const char *a;
        size_t an;
        if (lt == NULL) {
            break;
        }
        if (fmt_find_addr(lt + 1, end, &a, &an) && a == lt + 1 && a + an < end && a[an] == '>') {
            struct bnc_rcpt *rc = fmt_rcpt(m, a, an);
            if (rc != NULL) {
                fmt_set_diag(m, rc, m->text.p, m->text.len);
                return 1;
            }
        }
        p = lt + 1;
    }
    return 0;
}

/* AOL: "Your mail to the following recipients could not be delivered because they are not
 * accepting mail from <sender>:" followed by one screen name a line, indented; a bare screen
 * name is an aol.com mailbox. */
static size_t
fmt_extract_aol(struct fmt_msg *m)
{
    static const char intro[] = "could not be delivered because they are not accepting mail";
    const char *p = m->text.p, *end = m->text.p + m->text.len;
    const char *hit = fmt_find_ci(p, m->text.len, intro, sizeof(intro) - 1);
    const char *diag, *nl;
    size_t added = 0, diaglen;

    if (hit == NULL || (nl = memchr(hit, '\n', (size_t)(end - hit))) == NULL) {
        return 0;
    }
    diag = hit;
    diaglen = (size_t)(nl - hit);
    p = nl + 1;
    while (p < end && added < 64) {
        const char *le = memchr(p, '\n', (size_t)(end - p)), *s = p, *e;
        struct bnc_rcpt *rc = NULL;
        if (le == NULL) {
            le = end;
        }
        if (s == le || (*s != ' ' && *s != '\t')) {
            if (added > 0 || (s < le && *s != '\r')) {
                break; /* the list is the indented lines after the sentence */
            }
            p = le + 1;
            continue;
        }
        while (s < le && (*s == ' ' || *s == '\t')) {
            s++;
        }
        e = le;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
            e--;
        }
        if (e > s && memchr(s, '@', (size_t)(e - s)) != NULL) {
            rc = fmt_rcpt(m, s, (size_t)(e - s));
        } else if (e > s && e - s <= 64 && memchr(s, ' ', (size_t)(e - s)) == NULL) {
            char a[80];
            memcpy(a, s, (size_t)(e - s));
            memcpy(a + (e - s), "@aol.com", 9);
            rc = fmt_rcpt(m, a, (size_t)(e - s) + 8);
        }
        if (rc != NULL) {
            fmt_set_diag(m, rc, diag, diaglen);
            added++;
        }
        p = le + 1;
    }
    return added;
}

/* The domains a phquery (CSO nameserver) report names for its bare names: its error detail
 * explains them with "NAME@domain" placeholders after "emailing" ("formerly reachable by
 * emailing NAME@example.edu, try emailing to NAME@cs.example.edu"). A placeholder after
 * another word ("finger NAME@directory...") is a lookup service, not a mail domain. */
static size_t
fmt_phquery_domains(const char *p, const char *end, const char **dom, size_t *dlen, size_t max)
{
    size_t n = 0;
    while (p < end && n < max) {
        const char *hit = fmt_find_ci(p, (size_t)(end - p), "emailing ", 9);
        const char *s, *e;
        if (hit == NULL) {
            break;
        }
        s = hit + 9;
        if (end - s > 3 && strncmp(s, "to ", 3) == 0) {
            s += 3;
        }
        if (end - s > 5 && strncmp(s, "NAME@", 5) == 0) {
            s += 5;
            e = s;
            while (e < end && (isalnum((unsigned char)*e) || *e == '-' || *e == '.')) {
                e++;
            }
            while (e > s && e[-1] == '.') {
                e--; /* the sentence's full stop */
            }
            if (e > s && memchr(s, '.', (size_t)(e - s)) != NULL) {
                dom[n] = s;
                dlen[n] = (size_t)(e - s);
                n++;
            }
        }
        p = hit + 9;
    }
    return n;
}

/* phquery: "Message not delivered to the following:" then one line a recipient, the name
 * the nameserver could not resolve and why ("userx    No matches to nameserver query"),
 * up to the next "--------" rule or blank line. A bare name is a mailbox at each domain the error detail
 * names; without such a domain it is left out rather than guessed. */
static size_t
fmt_extract_phquery(struct fmt_msg *m)
{
    static const char intro[] = "Message not delivered to the following:";
    const char *end = m->text.p + m->text.len;
    const char *hit = fmt_find_ci(m->text.p, m->text.len, intro, sizeof(intro) - 1);
    const char *dom[4], *p;
    size_t dlen[4], nd, added = 0;

    if (hit == NULL) {
        return 0;
    }
    nd = fmt_phquery_domains(hit, end, dom, dlen, 4);
    p = memchr(hit, '\n', (size_t)(end - hit));
    while (p != NULL && ++p < end && added < 64) {
        const char *le = memchr(p, '\n', (size_t)(end - p)), *s = p, *e, *d;
        if (le == NULL) {
            le = end;
        }
        while (s < le && (*s == ' ' || *s == '\t')) {
            s++;
        }
        if (le - s >= 4 && strncmp(s, "----", 4) == 0) {
            break; /* the error detail starts */
        }
        if ((s == le || (*s == '\r' && s + 1 == le)) && added > 0) {
            break; /* the list ends at its first blank line */
        }
        e = s;
        while (e < le && *e != ' ' && *e != '\t' && *e != '\r') {
            e++;
        }
        d = e;
        while (d < le && (*d == ' ' || *d == '\t')) {
            d++;
        }
        if (e > s && e - s <= 64) {
            if (memchr(s, '@', (size_t)(e - s)) != NULL) {
                struct bnc_rcpt *rc = fmt_rcpt(m, s, (size_t)(e - s));
                if (rc != NULL) {
                    fmt_set_diag(m, rc, d, (size_t)(le - d));
                    added++;
                }
            } else {
                size_t k;
                for (k = 0; k < nd; k++) {
                    char a[256];
                    struct bnc_rcpt *rc;
                    if ((size_t)(e - s) + 1 + dlen[k] >= sizeof(a)) {
                        continue;
                    }
                    memcpy(a, s, (size_t)(e - s));
                    a[e - s] = '@';
                    memcpy(a + (e - s) + 1, dom[k], dlen[k]);
                    rc = fmt_rcpt(m, a, (size_t)(e - s) + 1 + dlen[k]);
                    if (rc != NULL) {
                        fmt_set_diag(m, rc, d, (size_t)(le - d));
                        added++;
                    }
                }
            }
        }
        p = le;
    }
    return added;
}

/* PowerMTA's bounce categories (its User's Guide, "bounce categories"): the cause the
 * sending MTA itself assigned. "other" names none. */
/* clang-format off */
static const struct {
    const char *cat;
    bnc_reason reason;
} pmta_categories[] = {
    {"bad-mailbox",         BNC_R_USERUNKNOWN},
    {"bad-domain",          BNC_R_HOSTUNKNOWN},
    {"inactive-mailbox",    BNC_R_SUSPEND},
    {"quota-issues",        BNC_R_MAILBOXFULL},
    {"message-expired",     BNC_R_EXPIRED},
    {"no-answer-from-host", BNC_R_NETWORKERROR},
    {"routing-errors",      BNC_R_NETWORKERROR},
    {"bad-connection",      BNC_R_NETWORKERROR},
    {"bad-configuration",   BNC_R_SYSTEMERROR},
    {"policy-related",      BNC_R_POLICYVIOLATION},
    {"spam-related",        BNC_R_SPAMDETECTED},
    {"virus-related",       BNC_R_VIRUSDETECTED},
    {"content-related",     BNC_R_CONTENTERROR},
    {"invalid-sender",      BNC_R_REJECTED},
    {"relaying-issues",     BNC_R_NORELAYING},
    {"protocol-errors",     BNC_R_SYNTAXERROR},
    {"other",               BNC_R_UNDEFINED},
};
/* clang-format on */

bool
parse_pmta_category(const char *s, size_t n, bnc_reason *out)
{
    size_t i;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
        n--;
    }
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    for (i = 0; i < sizeof(pmta_categories) / sizeof(pmta_categories[0]); i++) {
        if (strlen(pmta_categories[i].cat) == n && slice_mem_eq_ci(s, pmta_categories[i].cat, n)) {
            *out = pmta_categories[i].reason;
            return true;
        }
    }
    return false;
}

/* MS: the family is the recipient's own mail store (BNC_FT_MAILSTORE); FG: a content-filtering
 * gateway (BNC_FT_FILTER_GATEWAY) */
#define MS BNC_FT_MAILSTORE
#define FG BNC_FT_FILTER_GATEWAY

/* clang-format off */
static const struct fmt_family families[] = {
    /* ESPs and providers: identified by headers or sender first */
    {"amazonses",   NULL, NULL, NULL, "X-SES-Outgoing", NULL, BNC_R_UNDEFINED, 0},
    {"amazonses",   "amazonses.com", NULL, NULL, NULL, NULL, BNC_R_UNDEFINED, 0},
    {"amazonworkmail", NULL, NULL, NULL, "X-Mailer: Amazon WorkMail", NULL, BNC_R_UNDEFINED, 0},
    {"sendgrid",    NULL, NULL, NULL, "X-SendGrid-Eid", NULL, BNC_R_UNDEFINED, 0},
    {"sendgrid",    NULL, "Undelivered Mail Returned to Sender", "SendGrid", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"office365",   NULL, NULL, NULL, "X-MS-Exchange-Message-Is-Ndr", NULL, BNC_R_UNDEFINED, 0},
    {"office365",   NULL, NULL, NULL, "X-MS-Exchange-Organization-SCL", NULL, BNC_R_UNDEFINED, 0},
    {"exchange2003", NULL, NULL, NULL, "X-MS-Embedded-Report", NULL, BNC_R_UNDEFINED, MS},
    {"exchange2003", NULL, NULL, NULL, "X-Mailer: Internet Mail Service", NULL, BNC_R_UNDEFINED, MS},
    {"googlegroups", "googlemail.com", NULL, "groups.google.com", NULL, NULL, BNC_R_REJECTED, 0},
    {"googlegroups", NULL, NULL, "Google Groups", "X-Failed-Recipients", NULL, BNC_R_REJECTED, 0},
    {"gmail",       "googlemail.com", NULL, NULL, NULL, NULL, BNC_R_UNDEFINED, 0},
    {"gmail",       "@gmail.com", NULL, NULL, NULL, NULL, BNC_R_UNDEFINED, 0},
    {"yahoo",       NULL, NULL, NULL, "X-YMailISG", NULL, BNC_R_UNDEFINED, 0},
    {"yahoo",       NULL, "Failure Notice", "Sorry, we were unable to deliver your message", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"aol",         "@aol.com", NULL, "not accepting mail from", NULL, fmt_extract_aol, BNC_R_FILTERED, 0},
    {"aol",         NULL, NULL, NULL, "X-AOL-IP", NULL, BNC_R_UNDEFINED, 0},
    {"mailru",      "mail.ru", NULL, NULL, NULL, NULL, BNC_R_UNDEFINED, 0},
    {"mailru",      NULL, NULL, "Message was not delivered", "X-Failed-Recipients", NULL, BNC_R_UNDEFINED, 0},
    {"yandex",      "yandex", NULL, NULL, NULL, NULL, BNC_R_UNDEFINED, 0},
    {"zoho",        NULL, NULL, NULL, "X-ZohoMail", NULL, BNC_R_UNDEFINED, 0},
    {"gmx",         "gmx.", NULL, NULL, NULL, NULL, BNC_R_UNDEFINED, 0},
    {"einsundeins", NULL, NULL, "Mail could not be delivered", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"messagelabs", NULL, NULL, NULL, "X-Msg-Ref", NULL, BNC_R_UNDEFINED, MS},
    {"mimecast",    NULL, NULL, NULL, "X-MC-Unique", NULL, BNC_R_UNDEFINED, 0},
    {"barracuda",   NULL, NULL, NULL, "X-Barracuda-Spam-Score", NULL, BNC_R_UNDEFINED, 0},
    {"mcafee",      NULL, NULL, NULL, "X-NAI-Header", NULL, BNC_R_UNDEFINED, FG},
    {"trendmicro",  NULL, NULL, "TREND MICRO", NULL, NULL, BNC_R_UNDEFINED, MS},
    {"trendmicro",  NULL, NULL, "InterScan Messaging Security", NULL, NULL, BNC_R_UNDEFINED, MS},
    {"trendmicro",  NULL, NULL, NULL, "X-TM-AS-Product-Ver", NULL, BNC_R_UNDEFINED, MS},
    {"mxlogic",     NULL, NULL, NULL, "X-MXL-Hash", NULL, BNC_R_UNDEFINED, FG},
    {"mxlogic",     "mxlogic.net", NULL, NULL, NULL, NULL, BNC_R_UNDEFINED, FG},
    {"mfilter",     NULL, NULL, NULL, "X-Mailer: m-FILTER", NULL, BNC_R_UNDEFINED, FG},
    {"mailmarshal", NULL, NULL, "MailMarshal", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"activehunter", NULL, NULL, NULL, "X-AHMAILID", NULL, BNC_R_UNDEFINED, 0},
    {"imailserver", NULL, NULL, NULL, "X-Mailer: <SMTP32", NULL, BNC_R_UNDEFINED, MS},
    {"kddi",        NULL, NULL, "au one net", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"kddi",        "dion.ne.jp", NULL, NULL, NULL, NULL, BNC_R_UNDEFINED, 0},
    {"ezweb",       "ezweb.ne.jp", NULL, NULL, NULL, NULL, BNC_R_UNDEFINED, 0},
    {"docomo",      "docomo.ne.jp", NULL, NULL, NULL, NULL, BNC_R_UNDEFINED, 0},
    {"biglobe",     "biglobe.ne.jp", NULL, NULL, NULL, NULL, BNC_R_UNDEFINED, 0},
    {"verizon",     NULL, NULL, NULL, "X-Mailer: MessagingServer", NULL, BNC_R_UNDEFINED, MS},
    {"verizon",     "vzwpix.com", NULL, NULL, NULL, NULL, BNC_R_UNDEFINED, MS},
    {"apachejames", NULL, NULL, NULL, "X-Mailer: Apache James", NULL, BNC_R_UNDEFINED, 0},
    {"notes",       NULL, NULL, NULL, "X-Mailer: Lotus Notes", NULL, BNC_R_UNDEFINED, MS},
    {"domino",      NULL, NULL, "not listed in Domino Directory", NULL, NULL, BNC_R_UNDEFINED, MS},
    {"domino",      NULL, "DELIVERY FAILURE:", NULL, NULL, NULL, BNC_R_UNDEFINED, MS},
    {"phquery",     NULL, NULL, "Error Detail (phquery", NULL, fmt_extract_phquery, BNC_R_USERUNKNOWN, MS},
    {"fml",         NULL, NULL, NULL, "X-MLServer: fml", fmt_extract_listserver, BNC_R_REJECTED, 0},
    /* MTAs: identified by their fixed sentences */
    {"qmail",       NULL, NULL, "This is the qmail-send program", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"qmail",       NULL, NULL, "I'm afraid I wasn't able to deliver your message", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"vpopmail",    NULL, NULL, "vdelivermail", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"exim",        NULL, NULL, "This message was created automatically by mail delivery software", NULL, NULL, BNC_R_UNDEFINED, BNC_FT_MAIL_FROM_UNDECIDED},
    {"exim",        NULL, NULL, NULL, "X-Failed-Recipients", NULL, BNC_R_UNDEFINED, BNC_FT_MAIL_FROM_UNDECIDED},
    {"postfix",     NULL, NULL, "This is the mail system at host", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"postfix",     NULL, "Undelivered Mail Returned to Sender", NULL, NULL, NULL, BNC_R_UNDEFINED, 0},
    {"sendmail",    NULL, NULL, "----- Transcript of session follows -----", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"sendmail",    NULL, "Returned mail:", NULL, NULL, NULL, BNC_R_UNDEFINED, 0},
    {"courier",     NULL, NULL, "Courier mail server", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"opensmtpd",   NULL, NULL, "This is the MAILER-DAEMON, please DO NOT REPLY", NULL, NULL, BNC_R_UNDEFINED, BNC_FT_GENERIC_DSN_STATUS},
    {"opensmtpd",   NULL, NULL, "An error has occurred while attempting to deliver a message", NULL, NULL, BNC_R_UNDEFINED, BNC_FT_GENERIC_DSN_STATUS},
    {"dragonfly",   NULL, NULL, "This message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"dragonfly",   NULL, NULL, "There was an error delivering your mail", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"messagingserver", NULL, NULL, "This report relates to a message you sent", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"exchange2007", NULL, NULL, "Delivery has failed to these recipients or groups", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"exchange2007", NULL, NULL, "Your message did not reach some or all of the intended recipients", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"exchange2003", NULL, NULL, "did not reach the following recipient(s)", NULL, NULL, BNC_R_UNDEFINED, MS},
    {"x1",          NULL, NULL, "The following recipients returned permanent errors", NULL, NULL, BNC_R_UNDEFINED, 0},
    {"powermta",    NULL, NULL, NULL, "X-PowerMTA-BounceCategory", NULL, BNC_R_UNDEFINED, 0},
};
/* clang-format on */

const struct fmt_family *
fmt_families(size_t *n_out)
{
    *n_out = sizeof(families) / sizeof(families[0]);
    return families;
}

/* Does the bounce text (before the returned message) hold family i's sentence? */
static bool
fmt_body_has(const struct fmt_msg *m, size_t i)
{
    return i + FMT_SCAN_FAMILY < FMT_NEEDLES_MAX && m->scan.at[FMT_SCAN_FAMILY + i] >= 0 &&
           (size_t)m->scan.at[FMT_SCAN_FAMILY + i] < m->text.len;
}

/* "Name" (present) or "Name: value" (present and holding value). */
static bool
fmt_header_sig(const struct fmt_msg *m, size_t idx, const char *sig)
{
    const struct bnc_report *r = m->r;
    const char *colon = strchr(sig, ':');
    char name[64];
    size_t n = colon ? (size_t)(colon - sig) : strlen(sig);
    struct bnc_slice v;

    if (n == 0 || n >= sizeof(name)) {
        return false;
    }
    if (idx + FMT_SCAN_HEADER < FMT_SCAN_CMD && m->hscan.at[FMT_SCAN_HEADER + idx] < 0) {
        return false; /* the one-pass scan saw no such field */
    }
    if (colon == NULL) {
        return true;
    }
    memcpy(name, sig, n);
    name[n] = '\0';
    if (!mime_header_raw(r->mime.parts[0].header, name, &v)) {
        return false;
    }
    if (colon == NULL) {
        return true;
    }
    colon++;
    while (*colon == ' ') {
        colon++;
    }
    return fmt_find_ci(v.p, v.len, colon, strlen(colon)) != NULL;
}

/* a family sentence at least this long is a bounce by itself (shorter ones are product names) */
#define FMT_STRONG_SENTENCE 25

bool
fmt_text_says_bounce(const struct fmt_msg *m)
{
    size_t i;

    for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        const struct fmt_family *f = &families[i];
        if (f->from == NULL && f->subject == NULL && f->header == NULL && f->body != NULL &&
            strlen(f->body) >= FMT_STRONG_SENTENCE && fmt_body_has(m, i)) {
            return true;
        }
    }
    return false;
}

const struct fmt_family *
fmt_pick_family(const struct fmt_msg *m)
{
    size_t i;

    /* pass 1: headers only (short, decoded) */
    for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        const struct fmt_family *f = &families[i];
        bool any = false;
        if (f->from == NULL && f->subject == NULL && f->header == NULL) {
            continue;
        }
        if (f->from != NULL) {
            if (!fmt_fields_has(m->fields.from, FMT_F_FAMILY + i)) {
                continue;
            }
            any = true;
        }
        if (f->subject != NULL) {
            if (!fmt_fields_has(m->fields.subj, FMT_S_FAMILY + i)) {
                continue;
            }
            any = true;
        }
        if (f->header != NULL) {
            if (!fmt_header_sig(m, i, f->header)) {
                continue;
            }
            any = true;
        }
        if (f->body != NULL && !fmt_body_has(m, i)) {
            continue;
        }
        if (any) {
            return f;
        }
    }
    /* pass 2: one fixed sentence of the text */
    for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        const struct fmt_family *f = &families[i];
        if (f->from != NULL || f->subject != NULL || f->header != NULL || f->body == NULL) {
            continue;
        }
        if (fmt_body_has(m, i)) {
            return f;
        }
    }
    return NULL;
}
