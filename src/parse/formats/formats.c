/*
 * formats.c - the non-RFC bounce recognizers: dispatch, the bounce text, the generic block
 * extractor (the heuristic for unknown MTAs) and the enrichment of weak DSN recipients.
 *
 * formats_apply() runs once per message after the standard DSN walk:
 *   1. ARF feedback reports (arf.c) and auto-replies (autoreply.c) are decided first;
 *   2. the human-readable bounce text is taken (first text part outside the returned
 *      message) and scanned ONCE for every fixed phrase (scan.c: one Vectorscan literal
 *      database), which gives where the returned copy starts (the cut), delay-warning and
 *      recipient-list sentences, the family signatures and the ESP JSON keys;
 *   3. a family is picked by cheap signals (From, Subject, header signatures, then the
 *      scan's offsets) so that a message is not searched by every recognizer (families.c);
 *   4. when the DSN walk found recipients, their missing diagnostic, status, reply code and
 *      SMTP command are filled from the text block that names them (never a new recipient);
 *   5. otherwise the family's extractor, or the generic one, adds recipients from the text:
 *      an address standing at the start of a line opens a block ("<a@b>:" for qmail,
 *      "  a@b" for Exim, "<a@b>: host ... said:" for Postfix, "RCPT To:<a@b>" transcripts)
 *      that runs to the blank line; a block without an error text borrows the following
 *      paragraph (Gmail puts the address and the error in separate paragraphs);
 *   6. a message that has no bounce signal at all is flagged BNC_PF_NOT_BOUNCE.
 * Doesn't: classify (classify/ weighs the text, codes and hints), or decode MIME itself.
 * STANDARDS: RFC 5321 §4.2 (reply codes quoted in bounce texts), RFC 3463, RFC 3834 §3.1.
 * LIMITS: the text considered is at most FMT_TEXT_MAX bytes (the part of a bounce written by
 * the MTA is short; what follows is the returned message); a block at most FMT_BLOCK_MAX;
 * recipients are bounded by report_add_rcpt (dsn_rcpts); diagnostics by report_diag.
 * Ownership: all strings are allocated from the report's arena.
 */
#include "parse/formats/formats_int.h"
#include "parse/hsdb.h"

#include <ctype.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#define FMT_TEXT_MAX   (32u * 1024u)
#define FMT_BLOCK_MAX  2048u
#define FMT_SCAN_FIRST 4096u
#define FMT_CMD_WINDOW 512u
#define FMT_NOTICE_MAX 512u
#define FMT_ENRICH_MAX 64u

const char *
fmt_find_ci(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    return mem_find_ci(hay, hlen, needle, nlen);
}

/* Does [s, end) open with the code of a failed SMTP reply (4xx, 5xx) and the space or the
 * hyphen of a last or a continued line ("550 ...", "550-5.7.1 ...")? */
static bool
fmt_reply_lead(const char *s, const char *end)
{
    return end - s > 4 && (s[0] == '4' || s[0] == '5') && s[1] >= '0' && s[1] <= '9' &&
           s[2] >= '0' && s[2] <= '9' && (s[3] == ' ' || s[3] == '-');
}

static bool
fmt_is_addr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '+' || c == '=' || c == '%' || c == '!' || c == '#' ||
           c == '$' || c == '&' || c == '\'' || c == '*' || c == '/' || c == '?' || c == '^' ||
           c == '`' || c == '{' || c == '|' || c == '}' || c == '~' || c >= 0x80;
}

static bool
fmt_is_dom_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == '[' || c == ']' || c == ':';
}

/* Is the UTF-8 character that ends right before e (not before p) punctuation that cannot be
 * part of a local part: general punctuation (U+2000-U+206F), Latin-1 punctuation
 * (U+00A0-U+00BF), the CJK symbols (U+3000-U+303F: ideographic space, comma, full stop,
 * brackets) and the full-width ASCII punctuation (U+FF01-U+FF20, U+FF3B-U+FF40,
 * U+FF5B-U+FF65)? CJK notices write "收件人：a@b.example", the label and the address
 * joined by a full-width colon. */
static bool
fmt_utf8_punct_before(const char *p, const char *e)
{
    const unsigned char *q = (const unsigned char *)e, *lo = (const unsigned char *)p;
    unsigned cp;
    int k = 0;
    while (q > lo && k < 4 && (q[-1] & 0xC0) == 0x80) {
        q--;
        k++;
    }
    if (q == lo || k == 0) {
        return false;
    }
    q--;
    if (k == 1 && (q[0] & 0xE0) == 0xC0) {
        cp = ((unsigned)(q[0] & 0x1F) << 6) | (q[1] & 0x3F);
    } else if (k == 2 && (q[0] & 0xF0) == 0xE0) {
        cp = ((unsigned)(q[0] & 0x0F) << 12) | ((unsigned)(q[1] & 0x3F) << 6) | (q[2] & 0x3F);
    } else {
        return false;
    }
    return (cp >= 0xA0 && cp <= 0xBF) || (cp >= 0x2000 && cp <= 0x206F) ||
           (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFF01 && cp <= 0xFF20) ||
           (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65);
}

bool
fmt_find_addr(const char *p, const char *end, const char **s_out, size_t *n_out)
{
    while (p < end) {
        const char *at = memchr(p, '@', (size_t)(end - p));
        const char *s, *e, *q, *dot = NULL;
        if (at == NULL) {
            return false;
        }
        s = at;
        while (s > p && fmt_is_addr_char((unsigned char)s[-1]) &&
               ((unsigned char)s[-1] < 0x80 || !fmt_utf8_punct_before(p, s))) {
            s--;
        }
        /* a path ("/home/u/.x/a@b") is not an address: keep what follows the last slash */
        {
            const char *sl = s;
            for (q = s; q < at; q++) {
                if (*q == '/') {
                    sl = q + 1;
                }
            }
            s = sl;
        }
        /* an X.400 / Exchange "SMTP=a@b" attribute */
        if (at - s > 5 && slice_prefix_ci(slice_make(s, (size_t)(at - s)), "smtp=")) {
            s += 5;
        }
        /* a local part does not start with a dot or '=' (quoted-printable soft breaks) */
        while (s < at && (*s == '.' || *s == '=' || *s == '/' || *s == '\'')) {
            s++;
        }
        e = at + 1;
        while (e < end && fmt_is_dom_char((unsigned char)*e)) {
            if (*e == '.') {
                dot = e;
            }
            e++;
        }
        while (e > at + 1 && (e[-1] == '.' || e[-1] == '-' || e[-1] == ':' || e[-1] == ']')) {
            if (e[-1] == ']' && memchr(at, '[', (size_t)(e - at)) != NULL) {
                break;
            }
            e--;
        }
        /* the last dot inside the domain, now that a sentence's full stop after it is cut
         * ("... delivering your message to a@b.example. See ...") */
        if (dot != NULL && dot >= e) {
            dot = NULL;
            for (q = e - 1; q > at; q--) {
                if (*q == '.') {
                    dot = q;
                    break;
                }
            }
        }
        if (s < at && dot != NULL && dot < e - 1 && e - at > 3) {
            *s_out = s;
            *n_out = (size_t)(e - s);
            return true;
        }
        p = at + 1;
    }
    return false;
}

static bool
fmt_streq_ci(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z') {
            x = (char)(x - 'A' + 'a');
        }
        if (y >= 'A' && y <= 'Z') {
            y = (char)(y - 'A' + 'a');
        }
        if (x != y) {
            return false;
        }
    }
    return *a == *b;
}

/* Does the header value hold this address? */
static bool
fmt_hdr_has(const char *hdr, const char *addr)
{
    size_t n = strlen(addr);
    return hdr != NULL && n > 0 && fmt_find_ci(hdr, strlen(hdr), addr, n) != NULL;
}

static bool fmt_rcpt_strong(const char *rest, const char *le);

/* Is the address one the bounce's own headers name (its From, its To, the returned
 * message's sender)? */
static bool
fmt_self_header(const struct fmt_msg *m, const char *addr)
{
    const struct bnc_report *r = m->r;
    return fmt_hdr_has(r->from, addr) || fmt_hdr_has(r->orig_from, addr) ||
           fmt_hdr_has(m->bounce_to, addr) || fmt_hdr_has(m->orig_rpath, addr) ||
           (r->return_path[0] != '\0' && fmt_streq_ci(r->return_path, addr));
}

bool
fmt_is_self(const struct fmt_msg *m, const char *addr)
{
    return fmt_self_header(m, addr) || fmt_is_daemon(addr);
}

/* Is domain d (n bytes) the same as, or a parent or child of, domain e? */
static bool
fmt_domains_related(const char *d, size_t n, const char *e)
{
    size_t k = strlen(e);
    if (n == k) {
        return slice_mem_eq_ci(d, e, n);
    }
    if (n > k) {
        return d[n - k - 1] == '.' && slice_mem_eq_ci(d + n - k, e, k);
    }
    return e[k - n - 1] == '.' && slice_mem_eq_ci(e + k - n, d, n);
}

/* On a line that opens a recipient block: never a recipient, as fmt_is_self, except that a
 * postmaster of a domain unrelated to the bounce's sender is one (mail to a postmaster bounces
 * too: "<postmaster@example.org> (expanded from ...): host ... said"). */
static bool
fmt_is_self_on_rcpt_line(const struct fmt_msg *m, const char *addr)
{
    const char *at = strchr(addr, '@'), *fa, *fe;

    if (at == NULL || at - addr != 10 || !slice_mem_eq_ci(addr, "postmaster", 10) ||
        fmt_self_header(m, addr)) {
        return fmt_is_self(m, addr);
    }
    fa = strchr(m->r->from, '@');
    if (fa == NULL) {
        return true; /* no sender domain to tell them apart */
    }
    fa++;
    for (fe = fa; *fe != '\0' && *fe != '>' && *fe != ' ' && *fe != ')' && *fe != '"'; fe++) {
    }
    return fe == fa || fmt_domains_related(fa, (size_t)(fe - fa), at + 1);
}

bool
fmt_is_daemon(const char *addr)
{
    const char *at = strchr(addr, '@');
    size_t ll = at ? (size_t)(at - addr) : 0;
    return (ll == 13 && strncmp(addr, "mailer-daemon", 13) == 0) ||
           (ll == 10 && strncmp(addr, "postmaster", 10) == 0) ||
           (ll == 13 && strncmp(addr, "mail-delivery", 13) == 0);
}

/* A line that is only the address ("<a@b>:" or "a@b"): a recipient even when it is also the
 * sender (mail sent to oneself bounces too). rest is what follows the addr-spec. */
static bool
fmt_rcpt_strong(const char *rest, const char *le)
{
    if (rest < le && *rest == '>') {
        rest++;
    }
    if (rest < le && *rest == ':') {
        rest++;
    }
    while (rest < le && (*rest == ' ' || *rest == '\t' || *rest == '\r')) {
        rest++;
    }
    return rest == le;
}

struct bnc_rcpt *
fmt_rcpt(struct fmt_msg *m, const char *addr, size_t n)
{
    const char *a = addr_normalize(m->r, addr, n);
    struct bnc_rcpt *rc;

    if (a == NULL || strchr(a, '@') == NULL) {
        return NULL;
    }
    rc = report_find_rcpt(m->r, a);
    if (rc != NULL) {
        return rc;
    }
    rc = report_add_rcpt(m->r);
    if (rc == NULL) {
        return NULL;
    }
    rc->recipient = a;
    rc->action = m->delayed ? BNC_ACTION_DELAYED : BNC_ACTION_FAILED;
    rc->origin = m->origin;
    if (m->family != NULL && m->family->hint != BNC_R_UNDEFINED) {
        rc->reason_hint = m->family->hint;
    }
    return rc;
}

/* The command of the first phrase (in priority order) of a fmt_scan_cmd_set() set, or "". */
static const char *
fmt_cmd_first(uint64_t set)
{
    return set != 0 ? fmt_scan_cmd_name((size_t)__builtin_ctzll(set)) : "";
}

/* Are the sixteen bytes at p their own folded form: no tab, CR or LF, no two spaces in a row,
 * and no space first when the output so far ends in one (after_space)? (A NUL, which the
 * byte loop copies as it is, sends the sixteen bytes to that loop too.) */
static bool
fmt_unfolded16(const char *p, bool after_space)
{
#if defined(__SSE2__)
    unsigned other, sp = mem_ws16(p, &other);
    return other == 0 && (sp & (sp >> 1)) == 0 && !(after_space && (sp & 1u) != 0);
#else
    (void)p;
    (void)after_space;
    return false;
#endif
}

/* The phrase of an SMTP command that a wrapped line split ("refused to talk to\n    me",
 * "(in reply to RCPT\n    TO command)": Postfix folds its notice at word boundaries): the
 * window p[0..n) (n <= FMT_CMD_WINDOW) with each white-space run as one space, searched for
 * every phrase in one pass. Only reached when no phrase occurs as written. */
static const char *
fmt_smtp_command_wrapped(const char *p, size_t n)
{
    char w[FMT_CMD_WINDOW + 1];
    size_t wn = 0, i;
    bool folded = false;

    for (i = 0; i < n && wn < FMT_CMD_WINDOW; i++) {
        char c;
        if (i + 16 <= n && wn + 16 <= FMT_CMD_WINDOW &&
            fmt_unfolded16(p + i, wn > 0 && w[wn - 1] == ' ')) {
            /* sixteen bytes that are their own output */
            memcpy(w + wn, p + i, 16);
            wn += 16;
            i += 15;
            continue;
        }
        c = p[i];
        bool sp = c == ' ' || c == '\t' || c == '\r' || c == '\n';
        if (sp && wn > 0 && w[wn - 1] == ' ') {
            folded = true;
            continue;
        }
        folded = folded || (sp && c != ' ');
        w[wn++] = sp ? ' ' : c;
    }
    if (!folded) {
        return ""; /* nothing was folded: the literal search already saw this text */
    }
    return fmt_cmd_first(fmt_scan_cmd_set(w, wn));
}

/* Which SMTP command did the remote answer? The phrases (scan.c) are looked for in the first
 * FMT_CMD_WINDOW bytes of p[0..n): the phrase sits next to the reply it explains, and this
 * keeps the search cheap when the block is the whole bounce text. The one-pass scan of the
 * text already says which phrases occur at all and where first; only when a phrase occurs
 * before the block is the window scanned again (one pass for all the phrases). */
static const char *
fmt_smtp_command(const struct fmt_msg *m, const char *p, size_t n)
{
    size_t k, nk = fmt_scan_count(FMT_SCAN_CMD);
    bool in_scan = m != NULL && p >= m->text.p && p + n <= m->text.p + m->scanned;
    int32_t off = in_scan ? (int32_t)(p - m->text.p) : 0;

    if (n > FMT_CMD_WINDOW) {
        n = FMT_CMD_WINDOW;
    }
    if (in_scan) {
        for (k = 0; k < nk; k++) {
            int32_t at = m->scan.at[FMT_SCAN_CMD + k];
            size_t pl;
            if (at < 0 || at >= off + (int32_t)n) {
                continue; /* not in the text, or first seen after the window */
            }
            pl = strlen(fmt_scan_cmd_phrase(k));
            if (at >= off && (size_t)(at - off) + pl <= n) {
                return fmt_scan_cmd_name(k);
            }
            if (at < off) {
                break; /* seen before the window: the window itself must be searched */
            }
            /* (it starts in the window but runs past it: so does every later occurrence) */
        }
        if (k == nk) {
            return fmt_smtp_command_wrapped(p, n);
        }
    }
    {
        /* the first phrase in priority order that the window holds whole */
        const char *cmd = fmt_cmd_first(fmt_scan_cmd_set(p, n));
        return cmd[0] != '\0' ? cmd : fmt_smtp_command_wrapped(p, n);
    }
}

void
fmt_set_diag(struct fmt_msg *m, struct bnc_rcpt *rc, const char *p, size_t n)
{
    char st[16] = "", rp[4] = "";
    const char *cmd;

    if (n > FMT_BLOCK_MAX) {
        n = FMT_BLOCK_MAX;
    }
    if (rc->diagnostic == NULL || rc->diagnostic[0] == '\0') {
        rc->diagnostic = report_diag(m->r, p, n);
    }
    status_code_from_text(p, n, st, rp);
    if (rc->status[0] == '\0' && st[0] != '\0' && st[0] != '2') {
        memcpy(rc->status, st, sizeof(rc->status));
    }
    if (rc->replycode[0] == '\0' && rp[0] != '\0' && rp[0] != '2') {
        memcpy(rc->replycode, rp, sizeof(rc->replycode));
    }
    cmd = fmt_smtp_command(m, p, n);
    if ((rc->smtp_command == NULL || rc->smtp_command[0] == '\0') && cmd[0] != '\0') {
        rc->smtp_command = cmd;
    }
    if (rc->original_recipient == NULL || rc->original_recipient[0] == '\0') {
        /* Sendmail's "(expanded from: <list@example.org>)" and Postfix's "(expanded from
         * <list@example.org>)" name the address that was mailed, an alias or forward that
         * expanded to this one (RFC 3464's Original-Recipient) */
        const char *x = fmt_find_ci(p, n, "expanded from", 13), *a = NULL;
        size_t an = 0;
        const char *q = x != NULL ? x + 13 : NULL;
        if (x != NULL && fmt_find_addr(q, p + n, &a, &an)) {
            /* only white space (a wrapped line too), ':' and '<' between */
            while (q < a && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n' || *q == ':' ||
                             *q == '<')) {
                q++;
            }
        }
        if (x != NULL && q == a) {
            const char *o = addr_normalize(m->r, a, an);
            if (o != NULL && strcmp(o, rc->recipient) != 0) {
                rc->original_recipient = o;
            }
        }
    }
}

/* ---------------------------------------------------------------- the bounce text ---- */

static bool
fmt_inside_returned(const struct mime_msg *mm, size_t i)
{
    int k;
    for (k = mm->parts[i].parent; k >= 0; k = mm->parts[k].parent) {
        const struct mime_part *p = &mm->parts[k];
        if (mime_part_is(p, "message", NULL) || mime_part_is(p, "text", "rfc822-headers")) {
            return true;
        }
    }
    return false;
}

/* The first '\n' in [p, lim) that byte a or b follows (read before lim), or NULL; sixteen
 * positions at a time with SSE2. */
static const char *
fmt_nl_then(const char *p, const char *lim, char a, char b)
{
#if defined(__SSE2__)
    const __m128i nl = _mm_set1_epi8('\n'), va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
    while (lim - p >= 17) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(x, nl),
                          _mm_or_si128(_mm_cmpeq_epi8(y, va), _mm_cmpeq_epi8(y, vb))));
        if (m != 0) {
            return p + __builtin_ctz(m);
        }
        p += 16;
    }
#endif
    for (; lim - p >= 2; p++) {
        if (*p == '\n' && (p[1] == a || p[1] == b)) {
            return p;
        }
    }
    return NULL;
}

/* Where the bounce text ends: the first returned-message marker, or an inline copy's first
 * "Received:"/"Return-Path:" line after the first paragraph. */
static struct bnc_slice
fmt_cut_text(struct bnc_slice t, const struct fmt_scan *sc)
{
    int32_t at = fmt_scan_first(sc, FMT_SCAN_CUT, fmt_scan_count(FMT_SCAN_CUT), (int32_t)t.len);
    const char *cut = at >= 0 ? t.p + at : t.p + t.len;
    const char *p;

    /* only lines after the first, starting with 'R' or 'D', can be the copy's first field */
    for (p = t.p; (p = fmt_nl_then(p, cut, 'R', 'D')) != NULL;) {
        p++;
        if (cut - p > 9 &&
            ((*p == 'R' &&
              (strncmp(p, "Received: ", 10) == 0 || strncmp(p, "Return-Path: ", 13) == 0 ||
               strncmp(p, "Return-path: ", 13) == 0)) ||
             (*p == 'D' && strncmp(p, "DKIM-Signature: ", 16) == 0))) {
            cut = p;
            break;
        }
    }
    /* or the copy quoted the way a reply quotes ("> Received: from ...") */
    for (p = t.p; (p = fmt_nl_then(p, cut, '>', '>')) != NULL;) {
        p++;
        if ((cut - p >= 12 && memcmp(p, "> Received: ", 12) == 0) ||
            (cut - p >= 11 && memcmp(p, ">Received: ", 11) == 0)) {
            cut = p;
            break;
        }
    }
    return slice_make(t.p, (size_t)(cut - t.p));
}

/* Crude text from HTML: tags dropped, a few entities decoded, block ends become newlines. */
static struct bnc_slice
fmt_html_text(struct bnc_report *r, struct bnc_slice h)
{
    char *o = arena_alloc(r->arena, h.len + 1);
    size_t i, n = 0;
    if (o == NULL) {
        return slice_make("", 0);
    }
    for (i = 0; i < h.len; i++) {
        char c = h.p[i];
        if (c == '<') {
            const char *gt = memchr(h.p + i, '>', h.len - i);
            bool block = i + 3 < h.len && (((h.p[i + 1] | 32) == 'b' && (h.p[i + 2] | 32) == 'r') ||
                                           (h.p[i + 1] | 32) == 'p' ||
                                           ((h.p[i + 1] | 32) == 'd' && (h.p[i + 2] | 32) == 'i') ||
                                           ((h.p[i + 1] | 32) == 't' && (h.p[i + 2] | 32) == 'r') ||
                                           (h.p[i + 1] == '/' && (h.p[i + 2] | 32) == 'p'));
            if (gt == NULL) {
                break;
            }
            i = (size_t)(gt - h.p);
            o[n++] = block ? '\n' : ' ';
            continue;
        }
        if (c == '&') {
            static const struct {
                const char *ent;
                char ch;
            } ents[] = {{"&lt;", '<'},   {"&gt;", '>'},   {"&amp;", '&'},
                        {"&nbsp;", ' '}, {"&quot;", '"'}, {"&#64;", '@'}};
            size_t k;
            bool done = false;
            for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
                size_t l = strlen(ents[k].ent);
                if (i + l <= h.len && strncmp(h.p + i, ents[k].ent, l) == 0) {
                    o[n++] = ents[k].ch;
                    i += l - 1;
                    done = true;
                    break;
                }
            }
            if (done) {
                continue;
            }
        }
        o[n++] = c;
    }
    o[n] = '\0';
    return slice_make(o, n);
}

static bool
fmt_is_dsn_part(const struct mime_part *p)
{
    return mime_part_is(p, "message", "delivery-status") ||
           mime_part_is(p, "message", "global-delivery-status") ||
           mime_part_is(p, "text", "delivery-status") ||
           mime_part_is(p, "message", "feedback-report");
}

static struct bnc_slice
fmt_bounce_text(struct bnc_report *r)
{
    const struct mime_msg *mm = &r->mime;
    size_t i;
    int html = -1;
    struct bnc_slice t = {"", 0};

    for (i = 0; i < mm->nparts; i++) {
        const struct mime_part *p = &mm->parts[i];
        bool container = i + 1 < mm->nparts && mm->parts[i + 1].parent == (int)i;
        if (container || fmt_inside_returned(mm, i) || fmt_is_dsn_part(p) ||
            mime_part_is(p, "message", NULL) || mime_part_is(p, "text", "rfc822-headers")) {
            continue;
        }
        if (mime_part_is(p, "text", "html")) {
            if (html < 0) {
                html = (int)i;
            }
            continue;
        }
        if (p->type.len == 0 || mime_part_is(p, "text", NULL) || (p->flags & BNC_PF_NO_BOUNDARY)) {
            if (mime_part_text(r->arena, p, &t) == BNC_OK && t.len > 0) {
                break;
            }
        }
    }
    if (t.len == 0 && html >= 0) {
        if (mime_part_text(r->arena, &mm->parts[html], &t) == BNC_OK) {
            t = fmt_html_text(r, t);
        }
    }
    if (t.len > FMT_TEXT_MAX) {
        t.len = FMT_TEXT_MAX;
    }
    return t;
}

/* ------------------------------------------------------------- bounce signals ---- */

/* A warning that delivery is still being tried (the message is not lost yet). */
static bool
fmt_is_delay_notice(const struct fmt_msg *m)
{
    if (fmt_fields_any(m->fields.subj, FMT_S_DELAY, fmt_fields_count(true, FMT_S_DELAY))) {
        return true;
    }
    return fmt_scan_first(&m->scan, FMT_SCAN_DELAY, fmt_scan_count(FMT_SCAN_DELAY),
                          (int32_t)m->text.len) >= 0;
}

static int
fmt_bounce_score(const struct fmt_msg *m)
{
    const struct bnc_report *r = m->r;
    int score = 0;

    if (fmt_fields_any(m->fields.from, FMT_F_SENDER, fmt_fields_count(false, FMT_F_SENDER))) {
        score += 2;
    }
    if (fmt_fields_any(m->fields.subj, FMT_S_BOUNCE, fmt_fields_count(true, FMT_S_BOUNCE))) {
        score += 2;
    }
    if (r->mime.nparts > 0 && mime_part_is(&r->mime.parts[0], "multipart", "report")) {
        score += 2;
    }
    {
        struct bnc_slice rp;
        if (report_top_raw(r, REPORT_TOP_RETURN_PATH, &rp)) {
            struct bnc_slice t = slice_trim(rp);
            if (t.len == 2 && t.p[0] == '<' && t.p[1] == '>') {
                score += 1;
            }
        }
    }
    if (r->orig_headers.len > 0) {
        score += 1;
    }
    return score;
}

/* ------------------------------------------------------------ generic extractor ---- */

struct fmt_line {
    const char *p;
    size_t len; /* without the newline */
};

static bool
fmt_blank(const char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
            return false;
        }
    }
    return true;
}

/* Does [s, end) open with a reply code and the address's '<' ("554 <a@b>... reason")? */
static bool
fmt_code_lead(const char *s, const char *end)
{
    return end - s > 5 && fmt_reply_lead(s, end) && s[3] == ' ' && s[4] == '<';
}

/* The labels that may stand before a recipient's address on its line, tried in this order. */
#define LEAD(s)          \
    {                    \
        s, sizeof(s) - 1 \
    }
static const struct {
    const char *s;
    size_t n;
} fmt_leads[] = {LEAD("RCPT TO:"),
                 LEAD(">>> RCPT TO:"),
                 LEAD("Failed recipient:"),
                 LEAD("Recipient address:"),
                 LEAD("Original address:"),
                 LEAD("Recipient:"),
                 LEAD("Original-Recipient:"),
                 LEAD("Unknown user:"),
                 LEAD("Bad recipient:"),
                 LEAD("Invalid recipient:"),
                 LEAD("Address:"),
                 LEAD("Recipient address rejected:"),
                 LEAD("Destinataire:"),
                 LEAD("Empf\xc3\xa4nger:"),
                 LEAD("Final-Recipient:"),
                 LEAD("Could not be delivered to:"),
                 LEAD("Delivery to:")};
#undef LEAD
#define FMT_NLEADS (sizeof(fmt_leads) / sizeof(fmt_leads[0]))
_Static_assert(FMT_NLEADS <= 32, "a lead index must fit the bit set");

/* The leads (bits by index) a line starting with each byte can open with: those whose first
 * byte equals it but for bit 0x20 (what fmt_rcpt_line compares first). */
static uint32_t fmt_lead_first[256];
static pthread_once_t fmt_lead_once = PTHREAD_ONCE_INIT;

static void
fmt_lead_init(void)
{
    size_t k;
    for (k = 0; k < FMT_NLEADS; k++) {
        unsigned char c = (unsigned char)fmt_leads[k].s[0];
        fmt_lead_first[c | 32] |= (uint32_t)1 << k;
        fmt_lead_first[c & (unsigned char)~32u] |= (uint32_t)1 << k;
    }
}

/* Does this line open a recipient block? Sets the address. */
static bool
fmt_rcpt_line(const char *p, size_t n, const char **a_out, size_t *an_out)
{
    const char *s = p, *end = p + n, *a;
    size_t an;
    uint32_t cand;

    while (s < end && (*s == ' ' || *s == '\t' || *s == '>' || *s == '*' || *s == '-')) {
        s++;
    }
    /* a Postfix session transcript: " In:  RCPT TO:<addr>" */
    if (end - s > 4 && slice_prefix_ci(slice_make(s, (size_t)(end - s)), "In:")) {
        s += 3;
        while (s < end && (*s == ' ' || *s == '\t')) {
            s++;
        }
        if (!slice_prefix_ci(slice_make(s, (size_t)(end - s)), "RCPT TO:")) {
            return false;
        }
    }
    /* a Sendmail-style "554 <addr>... reason" line */
    if (fmt_code_lead(s, end)) {
        s += 4;
    }
    (void)pthread_once(&fmt_lead_once, fmt_lead_init);
    cand = s < end ? fmt_lead_first[(unsigned char)*s] : 0;
    while (cand != 0) {
        size_t k = (size_t)__builtin_ctz(cand), l = fmt_leads[k].n;
        cand &= cand - 1;
        if ((size_t)(end - s) > l && slice_mem_eq_ci(s, fmt_leads[k].s, l)) {
            s += l;
            while (s < end && (*s == ' ' || *s == '\t')) {
                s++;
            }
            break;
        }
    }
    if (s < end && (*s == '"')) {
        const char *q = memchr(s + 1, '"', (size_t)(end - s - 1));
        if (q != NULL) {
            s = q + 1;
            while (s < end && *s == ' ') {
                s++;
            }
        }
    }
    if (s < end && *s == '<') {
        s++;
    }
    if (!fmt_find_addr(s, end, &a, &an) || a != s) {
        return false;
    }
    *a_out = a;
    *an_out = an;
    return true;
}

/* Does the block quote a reply or status code? */
static bool
fmt_has_code(const char *p, size_t n)
{
    char st[16] = "", rp[4] = "";
    status_code_from_text(p, n, st, rp);
    return (st[0] != '\0' && st[0] != '2') || (rp[0] != '\0' && rp[0] != '2');
}

/* Does the block hold an error text worth classifying (a code or enough words)? */
static bool
fmt_has_error(const char *p, size_t n, size_t addrlen)
{
    char st[16] = "", rp[4] = "";
    size_t letters = 0, i;
    status_code_from_text(p, n, st, rp);
    if (st[0] != '\0' || rp[0] != '\0') {
        return true;
    }
    for (i = 0; i < n; i++) {
        if ((p[i] | 32) >= 'a' && (p[i] | 32) <= 'z') {
            letters++;
        } else if ((unsigned char)p[i] >= 0x80) {
            letters++;
        }
    }
    return letters > addrlen + 12;
}

/* Does the rest of an address line ("a@b: Envelope expired") say what went wrong? */
static bool
fmt_line_has_words(const char *p, const char *end)
{
    const char *le = memchr(p, '\n', (size_t)(end - p));
    size_t letters = 0;
    if (le == NULL) {
        le = end;
    }
    while (p < le) {
        /* word by word; a word holding '@' is the address again ("<a@b>", "<mailto:a@b>") */
        size_t l = 0;
        bool at = false;
        while (p < le && *p != ' ' && *p != '\t') {
            at = at || *p == '@';
            l += ((*p | 32) >= 'a' && (*p | 32) <= 'z') || (unsigned char)*p >= 0x80;
            p++;
        }
        if (!at) {
            letters += l;
        }
        while (p < le && (*p == ' ' || *p == '\t')) {
            p++;
        }
    }
    return letters >= 8;
}

/* The notice above a recipient list that starts at first: the paragraph right before it
 * (au: "The user(s) account is disabled."), at most FMT_NOTICE_MAX bytes; NULL when none. */
static const char *
fmt_notice_before(struct fmt_msg *m, const char *first)
{
    const char *e = first, *s, *lo = m->text.p;

    if (first - lo > (ptrdiff_t)FMT_NOTICE_MAX) {
        lo = first - FMT_NOTICE_MAX;
    }
    while (e > lo && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) {
        e--; /* the blank lines between the paragraph and the list */
    }
    for (s = e; s > lo; s--) {
        if (s[-1] == '\n' && s - 1 > lo &&
            (s[-2] == '\n' || (s[-2] == '\r' && s - 2 > lo && s[-3] == '\n'))) {
            break; /* a blank line starts the paragraph */
        }
    }
    return e > s ? report_diag(m->r, s, (size_t)(e - s)) : NULL;
}

/* Does the line at p open with a reply code right before the address at a ("554 <a@b>...")? */
static bool
fmt_coded_rcpt_line(const char *p, const char *a)
{
    while (p < a && (*p == ' ' || *p == '\t')) {
        p++;
    }
    return p + 5 == a && fmt_code_lead(p, a + 1);
}

/* Is the line at p an indented continuation of the reply that the block starting at s
 * quotes? Postfix wraps "<a@b>: host mx[ip] said: 550 5.1.1" onto indented lines, and the
 * next one may start with an address the reply names ("    <sender@example.org>:
 * unauthorized sender"); a recipient's own line is never indented there, and the paragraph
 * (no blank line since s) is still the same reply. */
static bool
fmt_wrapped_reply(const char *s, const char *p)
{
    const char *q;
    if (*p != ' ' && *p != '\t') {
        return false;
    }
    for (q = s; q + 1 < p; q++) {
        if (q[0] == '\n' && (q[1] == '\n' || (q[1] == '\r' && q + 2 < p && q[2] == '\n'))) {
            return false;
        }
    }
    return fmt_find_ci(s, (size_t)(p - s), " said:", 6) != NULL;
}

/* Does the text [s, p) end with "(expanded from" or "(expanded from:", the line of an alias
 * whose original address Postfix or Sendmail wrapped onto the next line? */
static bool
fmt_ends_expanded_from(const char *s, const char *p)
{
    while (p > s && (p[-1] == '\n' || p[-1] == '\r' || p[-1] == ' ' || p[-1] == '\t')) {
        p--;
    }
    if (p > s && p[-1] == ':') {
        p--;
    }
    return (size_t)(p - s) >= 14 && slice_mem_eq_ci(p - 14, "(expanded from", 14);
}

/* Is the address at a, on the line that starts at p, inside a server's reply that the
 * line quotes rather than the line's own recipient? Either the line opens with a reply
 * code ("550 5.1.1 <a@b>: Recipient address rejected") or the address comes after the
 * words that introduce a reply (qmail's "Remote host said: 550 5.1.1 <a@b>: ...", Exim's
 * and Postfix's "... said: 550 <a@b>"). */
static bool
fmt_quotes_reply(const char *p, const char *a)
{
    const char *s = p;
    while (s < a && (*s == '>' || *s == '-' || *s == '*')) {
        s++;
    }
    if (fmt_reply_lead(s, a)) {
        return true;
    }
    return fmt_find_ci(p, (size_t)(a - p), "said:", 5) != NULL ||
           fmt_find_ci(p, (size_t)(a - p), "said ", 5) != NULL;
}

size_t
fmt_generic(struct fmt_msg *m)
{
    const char *p = m->text.p, *end = m->text.p + m->text.len;
    struct {
        const char *a;
        size_t an;
        const char *bs;      /* block start (the address line) */
        const char *be;      /* block end */
        const char *scanned; /* the block holds a code before this point (incremental) */
        bool code;
    } blk[64];
    size_t nb = 0, i, added = 0;
    bool list_mode = false, allow_self = false;
    const char *notice = NULL;
    int32_t intro = fmt_scan_first(&m->scan, FMT_SCAN_INTRO, fmt_scan_count(FMT_SCAN_INTRO),
                                   (int32_t)m->text.len);

    /* 1: recipient lines and their blocks; when none is found, once more accepting a line
     * that is only the sender's own address (mail sent to oneself bounces too) */
again:
    while (p < end && nb < sizeof(blk) / sizeof(blk[0])) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *a;
        size_t an;
        bool is_rcpt = fmt_rcpt_line(p, (size_t)(le - p), &a, &an);
        if (!is_rcpt && intro >= 0 && intro >= (int32_t)(p - m->text.p) &&
            intro < (int32_t)(le - m->text.p)) {
            /* "did not reach the following recipient(s):" - the lines after it name them,
             * possibly after a prefix (an X.400 address, a date); or the line itself does,
             * after the phrase ("The following recipients returned permanent errors:
             * a@b.example. Reason: ...") */
            const char *ip = m->text.p + intro;
            list_mode = true;
            if (fmt_find_addr(ip, le, &a, &an) &&
                fmt_find_ci(p, (size_t)(le - p), "message-id", 10) == NULL &&
                !fmt_quotes_reply(ip, a)) {
                is_rcpt = true;
            }
        } else if (!is_rcpt && list_mode && p < le && *p != ' ' && *p != '\t' &&
                   fmt_find_addr(p, le, &a, &an) && a - p < 80 &&
                   fmt_find_ci(p, (size_t)(le - p), "message-id", 10) == NULL &&
                   !fmt_quotes_reply(p, a)) {
            size_t k;
            is_rcpt = true;
            for (k = 0; k < nb; k++) {
                if (blk[k].an == an && strncasecmp(blk[k].a, a, an) == 0) {
                    is_rcpt = false; /* the same address again inside its own block */
                }
            }
        }
        if (is_rcpt && nb > 0 && blk[nb - 1].be == NULL &&
            ((blk[nb - 1].an == an && strncmp(blk[nb - 1].a, a, an) == 0) ||
             fmt_ends_expanded_from(blk[nb - 1].bs, p) ||
             fmt_wrapped_reply(blk[nb - 1].bs, p))) {
            /* the open block's own address again: a wrapped reply that quotes it
             * ("said: 550 5.2.1\n    <a@b>... User Unknown") continues the block; so does
             * the address a wrapped "(expanded from\n    <alias>):" names, and any address
             * on an indented line of a reply the block quotes */
            is_rcpt = false;
        }
        if (is_rcpt) {
            char tmp[256];
            const char *norm;
            size_t k;
            bool dup = false;
            if (an < sizeof(tmp)) {
                memcpy(tmp, a, an);
                tmp[an] = '\0';
                norm = addr_normalize(m->r, a, an);
                if (norm != NULL && ((allow_self && fmt_rcpt_strong(a + an, le))
                                         ? !fmt_is_daemon(norm)
                                         : !fmt_is_self_on_rcpt_line(m, norm))) {
                    for (k = 0; k < nb; k++) {
                        if (blk[k].an == an && strncmp(blk[k].a, a, an) == 0) {
                            dup = true;
                        }
                    }
                    if (nb > 0 && blk[nb - 1].be == NULL) {
                        blk[nb - 1].be = p;
                    }
                    if (!dup) {
                        blk[nb].a = a;
                        blk[nb].an = an;
                        blk[nb].bs = p;
                        blk[nb].be = NULL;
                        blk[nb].scanned = p;
                        blk[nb].code = false;
                        if (nl != NULL && nl + 1 < end && nl[1] != ' ' && nl[1] != '\t' &&
                            nl[1] != '\r' && nl[1] != '\n' && fmt_coded_rcpt_line(p, a) &&
                            fmt_line_has_words(a + an, le)) {
                            /* Sendmail's "554 <a@b>... Remote protocol error" states its own
                             * error: it is the whole block when the next line is not its
                             * continuation (indented), for that line opens the next one */
                            blk[nb].be = nl + 1;
                        }
                        nb++;
                    }
                }
            }
        } else if (nb > 0 && blk[nb - 1].be == NULL && fmt_blank(p, (size_t)(le - p)) &&
                   le > blk[nb - 1].bs) {
            /* a blank line ends the block once it holds a reply or status code; only the
             * lines added since the last blank line are looked at (codes do not span a
             * paragraph break) */
            const char *bs = blk[nb - 1].bs;
            if (!blk[nb - 1].code) {
                blk[nb - 1].code =
                    fmt_has_code(blk[nb - 1].scanned, (size_t)(p - blk[nb - 1].scanned));
                blk[nb - 1].scanned = p;
            }
            if (blk[nb - 1].code || (size_t)(p - bs) > FMT_BLOCK_MAX ||
                fmt_line_has_words(blk[nb - 1].a + blk[nb - 1].an, p)) {
                blk[nb - 1].be = p;
            }
        }
        p = nl ? nl + 1 : end;
    }
    if (nb == 0 && !allow_self) {
        allow_self = true;
        list_mode = false;
        p = m->text.p;
        goto again;
    }
    if (nb > 0 && blk[nb - 1].be == NULL) {
        blk[nb - 1].be = end;
    }
    if (nb > 0) {
        notice = fmt_notice_before(m, blk[0].bs);
    }
    for (i = 0; i < nb; i++) {
        struct bnc_rcpt *rc = fmt_rcpt(m, blk[i].a, blk[i].an);
        const char *bs = blk[i].bs, *be = blk[i].be;
        if (rc == NULL) {
            continue;
        }
        added++;
        if (notice != NULL && (rc->notice == NULL || rc->notice[0] == '\0')) {
            rc->notice = notice;
        }
        if (nb == 1 && !fmt_has_code(bs, (size_t)(be - bs)) &&
            !fmt_line_has_words(blk[i].a + blk[i].an, be)) {
            /* one recipient whose block names no code: the error is elsewhere in the text
             * (Gmail, Exchange and many ESPs write it in a separate paragraph) */
            bs = m->text.p;
            be = m->text.p + m->text.len;
        }
        fmt_set_diag(m, rc, bs, (size_t)(be - bs));
    }
    if (added > 0) {
        return added;
    }
    /* 2: no recipient line: the first foreign address anywhere in the text */
    p = m->text.p;
    while (p < end) {
        const char *a;
        size_t an;
        const char *norm;
        if (!fmt_find_addr(p, end, &a, &an)) {
            break;
        }
        norm = addr_normalize(m->r, a, an);
        if (norm != NULL && !fmt_is_self(m, norm)) {
            struct bnc_rcpt *rc = fmt_rcpt(m, a, an);
            if (rc != NULL) {
                fmt_set_diag(m, rc, m->text.p, m->text.len);
                return 1;
            }
        }
        p = a + an;
    }
    return 0;
}

/* ---------------------------------------------------------- DSN enrichment ---- */


/* The white space that starts the line at p (before end). */
static size_t
fmt_indent(const char *p, const char *end)
{
    const char *q = p;
    (void)cur_skip_ws(&q, end);
    return (size_t)(q - p);
}

/* The text block that names addr: from its line to the next blank line. */
static bool
fmt_block_for(const struct fmt_msg *m, const char *addr, struct bnc_slice *out)
{
    const char *hit = fmt_find_ci(m->text.p, m->text.len, addr, strlen(addr));
    const char *s, *e, *end = m->text.p + m->text.len, *scanned;
    size_t indent;
    bool code = false;
    if (hit == NULL) {
        return false;
    }
    s = hit;
    while (s > m->text.p && s[-1] != '\n') {
        s--;
    }
    /* a session transcript names the command on the line before the reply (">>> DATA") */
    if (s > m->text.p + 1) {
        const char *ps = s - 1;
        while (ps > m->text.p && ps[-1] != '\n') {
            ps--;
        }
        if (s - ps > 4 && strncmp(ps, ">>> ", 4) == 0) {
            s = ps;
        }
    }
    scanned = s;
    indent = fmt_indent(s, end);
    e = hit;
    while (e < end) {
        const char *nl = memchr(e, '\n', (size_t)(end - e));
        if (nl == NULL) {
            e = end;
            break;
        }
        e = nl + 1;
        {
            const char *n2 = memchr(e, '\n', (size_t)(end - e));
            const char *le = n2 ? n2 : end;
            const char *a2;
            size_t an2;
            if (fmt_blank(e, (size_t)(le - e))) {
                /* only the lines since the last blank one are new (codes do not span a
                 * paragraph break) */
                code = code || fmt_has_code(scanned, (size_t)(e - scanned));
                scanned = e;
                if (code) {
                    break;
                }
            }
            /* the next recipient's line ends this one's block; a line indented deeper
             * than the block's first continues it (Postfix folds "said: 550 5.7.1\n
             *    <other@example.net>: Recipient address rejected: ...") */
            if (fmt_indent(e, le) <= indent && fmt_rcpt_line(e, (size_t)(le - e), &a2, &an2) &&
                fmt_find_ci(a2, an2, addr, strlen(addr)) == NULL) {
                break;
            }
        }
        if ((size_t)(e - s) > FMT_BLOCK_MAX) {
            break;
        }
    }
    *out = slice_make(s, (size_t)(e - s));
    return true;
}

/* The command of a session transcript (">>> DATA" / ">>> RCPT To:<a>") answered by a reply
 * line that names addr, anywhere in the text; "" when there is none. */
/* The command of the last ">>> " line answered by a "<<< " line in Sendmail's transcript
 * (">>> HELO mta.example\n<<< 501 5.0.0 Invalid domain name"): the step the session failed
 * at when no reply names the recipient; "" when there is none. A reply right after the
 * "... while talking to host:" line that opens a session answered no command: it is the
 * greeting ("CONN"). */
static const char *
fmt_transcript_last_command(const struct fmt_msg *m)
{
    static const char talk[] = "... while talking to ";
    const char *p = m->text.p, *end = m->text.p + m->text.len, *last = NULL;
    size_t lastn = 0;
    bool greeting = false;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *next = nl != NULL ? nl + 1 : end;
        bool reply_next = end - next > 4 && strncmp(next, "<<< ", 4) == 0;
        if (end - p > 4 && strncmp(p, ">>> ", 4) == 0 && reply_next) {
            last = p;
            lastn = (size_t)(next - p);
            greeting = false;
        } else if ((size_t)(end - p) > sizeof(talk) - 1 &&
                   strncmp(p, talk, sizeof(talk) - 1) == 0 && reply_next) {
            greeting = true;
        }
        p = next;
    }
    if (greeting) {
        return "CONN";
    }
    return last != NULL ? fmt_smtp_command(m, last, lastn) : "";
}

/* Whether the remote's reply on the transcript line ls ("<<< 550 5.1.1 <a@b>... User
 * unknown", its "<<< 550-" continuation lines included) is followed by another reply
 * ("<<< 503 ...") before the client's next command (">>> ") or the transcript's end. */
static bool
fmt_reply_follows(const char *ls, const char *end)
{
    const char *p = ls;
    bool continued = end - ls > 7 && ls[7] == '-';
    int guard = 0;

    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL && ++p < end && guard++ < 40) {
        const char *le = memchr(p, '\n', (size_t)(end - p));
        if (le == NULL) {
            le = end;
        }
        if (le - p > 4 && strncmp(p, "<<< ", 4) == 0) {
            if (!fmt_reply_lead(p + 4, le)) {
                return false;
            }
            if (!continued) {
                return true;
            }
            continued = p[7] == '-'; /* the same reply's next line */
            continue;
        }
        if ((le - p >= 4 && strncmp(p, ">>> ", 4) == 0) ||
            (le - p >= 5 && memcmp(p, "-----", 5) == 0)) {
            return false;
        }
    }
    return false;
}

static const char *
fmt_transcript_command(const struct fmt_msg *m, const char *addr)
{
    const char *p = m->text.p, *end = m->text.p + m->text.len;
    size_t al = strlen(addr);
    int guard = 0;

    while (p < end && guard++ < 32) {
        const char *hit = fmt_find_ci(p, (size_t)(end - p), addr, al);
        const char *ls, *ps;
        if (hit == NULL) {
            break;
        }
        ls = hit;
        while (ls > m->text.p && ls[-1] != '\n') {
            ls--;
        }
        if (ls - m->text.p > 1 && strncmp(ls, "<<< ", 4) == 0) {
            ps = ls - 1;
            while (ps > m->text.p && ps[-1] != '\n') {
                ps--;
            }
            if (ls - ps > 8 && strncmp(ps, ">>> ", 4) == 0) {
                const char *cmd = fmt_smtp_command(m, ps, (size_t)(ls - ps));
                if (slice_prefix_ci(slice_make(ps + 4, (size_t)(ls - ps - 4)), "DATA")) {
                    /* a pipelining client sends RCPT TO and DATA together and reads the
                     * answers after: a reply naming the recipient, followed by one more
                     * reply (DATA's own, "503 5.0.0 Need RCPT", "554 5.5.1 Error: no valid
                     * recipients"), answered the RCPT TO */
                    return fmt_reply_follows(ls, end) ? "RCPT" : "DATA";
                }
                if (cmd[0] != '\0') {
                    return cmd;
                }
            }
        }
        p = hit + al;
    }
    return fmt_transcript_last_command(m);
}

/* The last reply line ("554 5.3.0 unknown mailer error 255") of Sendmail's "Transcript of
 * session follows" section: what the session ended with. Lines the remote host sent ("<<<")
 * or the client said (">>>") are not the MTA's own summary. */
static bool
fmt_transcript_reply(const struct fmt_msg *m, const char **line, size_t *len)
{
    static const char head[] = "Transcript of session follows";
    const char *end = m->text.p + m->text.len, *p;
    const char *hit = fmt_find_ci(m->text.p, m->text.len, head, sizeof(head) - 1);
    int guard = 0;

    *line = NULL;
    if (hit == NULL || (p = memchr(hit, '\n', (size_t)(end - hit))) == NULL) {
        return false;
    }
    while (++p < end && guard++ < 256) {
        const char *le = memchr(p, '\n', (size_t)(end - p)), *s = p, *e;
        if (le == NULL) {
            le = end;
        }
        while (s < le && (*s == ' ' || *s == '\t')) {
            s++;
        }
        if (le - s >= 5 && strncmp(s, "-----", 5) == 0) {
            break; /* "----- Unsent message follows -----" */
        }
        e = le;
        while (e > s && (e[-1] == '\r' || e[-1] == ' ')) {
            e--;
        }
        if (fmt_reply_lead(s, e)) {
            *line = s;
            *len = (size_t)(e - s);
        }
        p = le;
    }
    return *line != NULL;
}

/* The transcript lines from p to end joined with newlines into buf (cap bytes), each without
 * its leading white space and its "<<< " mark; returns the length. At most cap bytes are
 * kept: a diagnostic is bounded by FMT_BLOCK_MAX in any case. */
static size_t
fmt_unmarked(const char *p, const char *end, char *buf, size_t cap)
{
    size_t bn = 0;

    while (p < end && bn < cap) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl != NULL ? nl : end;
        size_t k;
        while (p < le && (*p == ' ' || *p == '\t')) {
            p++;
        }
        if (le - p >= 4 && memcmp(p, "<<< ", 4) == 0) {
            p += 4;
        }
        k = (size_t)(le - p);
        if (bn > 0 && bn < cap) {
            buf[bn++] = '\n';
        }
        if (k > cap - bn) {
            k = cap - bn;
        }
        memcpy(buf + bn, p, k);
        bn += k;
        p = nl != NULL ? nl + 1 : end;
    }
    return bn;
}

/* Sendmail's DSN keeps only the first line of a multi-line reply ("Diagnostic-Code: SMTP;
 * 552-5.7.0 This message was blocked because its content presents a potential"); its
 * transcript holds the rest ("<<< 552-5.7.0 security issue. ..." up to "<<< 552 5.7.0 ...").
 * When the diagnostic is such a first line and the bounce text has it, the diagnostic becomes
 * the whole reply: the lines after it that carry the same reply code, up to the last one. */
static void
fmt_complete_reply(struct fmt_msg *m, struct bnc_rcpt *rc)
{
    const char *d = rc->diagnostic, *hit, *from = m->text.p, *end = m->text.p + m->text.len;
    size_t dn;

    if (d == NULL) {
        return;
    }
    dn = strlen(d);
    if (!fmt_reply_lead(d, d + dn) || d[3] != '-') {
        return; /* the first line of a multi-line reply ("552-...") */
    }
    /* the first line may be quoted more than once ("(reason: 552-...)" before the
     * transcript): the occurrence the continuation lines follow counts */
    while (dn >= 12 && (hit = fmt_find_ci(from, (size_t)(end - from), d, dn)) != NULL) {
        const char *p = memchr(hit + dn, '\n', (size_t)(end - hit - dn)), *last = NULL;
        size_t lines = 0;
        p = p != NULL ? p + 1 : end;
        while (p < end && lines < 32) {
            const char *nl = memchr(p, '\n', (size_t)(end - p)), *q = p;
            const char *le = nl != NULL ? nl : end;
            while (q < le && (*q == ' ' || *q == '\t' || *q == '<')) {
                q++;
            }
            if (le - q < 4 || memcmp(q, d, 3) != 0 || (q[3] != '-' && q[3] != ' ')) {
                break;
            }
            last = le;
            lines++;
            if (q[3] == ' ') {
                break; /* the reply's last line */
            }
            p = nl != NULL ? nl + 1 : end;
        }
        if (lines > 0) {
            char buf[FMT_BLOCK_MAX];
            size_t bn = fmt_unmarked(hit, last, buf, sizeof(buf));
            rc->diagnostic = report_diag(m->r, buf, bn);
            return;
        }
        from = hit + dn;
    }
}

/* The last reply the remote sent in a session transcript inside block b ("<<< 503 5.5.1
 * Error: need RCPT command", its "<<< 550-" continuation lines included), joined into buf
 * (FMT_BLOCK_MAX bytes) without the "<<< " marks; its length, 0 when b quotes none.
 * Sendmail follows it with its own summary ("554 5.0.0 Service unavailable", a sysexits
 * text) that names no cause. */
static size_t
fmt_transcript_remote_reply(struct bnc_slice b, char *buf)
{
    const char *p = b.p, *end = b.p + b.len, *first = NULL, *last_end = NULL;
    bool in_reply = false;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl != NULL ? nl : end;
        bool is_reply = le - p > 7 && strncmp(p, "<<< ", 4) == 0 && (p[4] == '4' || p[4] == '5') &&
                        isdigit((unsigned char)p[5]) && isdigit((unsigned char)p[6]);
        if (is_reply) {
            if (!in_reply) {
                first = p + 4; /* a new reply: the later one is what the session ended on */
            }
            last_end = le;
        }
        in_reply = is_reply;
        p = nl != NULL ? nl + 1 : end;
    }
    if (first == NULL) {
        return 0;
    }
    return fmt_unmarked(first, last_end, buf, FMT_BLOCK_MAX);
}

/* Exchange's and Office 365's "Diagnostic information for administrators" name each
 * recipient on a line of its own and, on the lines after it, the reply that recipient got:
 * "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##" (Exchange 2007), "Remote Server
 * returned '550 5.1.10 ...'" (after the remote host's name), or "<date> - Server at host
 * returned '550 5.4.316 Message expired, ...'" (the latest attempt first). The reply, without
 * its marks, in *out; false when the section does not name the recipient so. */
static bool
fmt_admin_reply(const struct fmt_msg *m, const char *addr, struct bnc_slice *out)
{
    static const char head[] = "Diagnostic information for administrators";
    const char *end = m->text.p + m->text.len, *p, *hit;
    size_t al = strlen(addr);
    int guard = 0;

    p = fmt_find_ci(m->text.p, m->text.len, head, sizeof(head) - 1);
    if (p == NULL || al == 0) {
        return false;
    }
    while (guard++ < 8 && (hit = fmt_find_ci(p, (size_t)(end - p), addr, al)) != NULL) {
        const char *ls = hit, *q = hit + al;
        int lines = 0;
        p = q;
        while (ls > m->text.p && (ls[-1] == ' ' || ls[-1] == '\t')) {
            ls--;
        }
        if (ls > m->text.p && ls[-1] != '\n') {
            continue; /* the address inside a line: not the recipient's own line */
        }
        while (q < end && lines < 3) {
            const char *le, *e, *ret;
            q = memchr(q, '\n', (size_t)(end - q));
            if (q == NULL) {
                break;
            }
            q++;
            while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')) {
                q++; /* (blank lines between them) */
            }
            le = memchr(q, '\n', (size_t)(end - q));
            le = le != NULL ? le : end;
            e = le;
            while (e > q && (e[-1] == '\r' || e[-1] == ' ')) {
                e--;
            }
            lines++;
            if (q < e && *q == '#' && fmt_reply_lead(q + 1, e)) {
                while (e > q + 1 && (e[-1] == '#' || e[-1] == ' ')) {
                    e--;
                }
                *out = slice_make(q + 1, (size_t)(e - q - 1));
                return true;
            }
            ret = fmt_find_ci(q, (size_t)(e - q), "returned '", 10);
            if (ret != NULL && fmt_find_ci(q, (size_t)(ret - q), "Server", 6) != NULL &&
                fmt_reply_lead(ret + 10, e)) {
                if (e > ret + 10 && e[-1] == '\'') {
                    e--;
                }
                *out = slice_make(ret + 10, (size_t)(e - ret - 10));
                return true;
            }
            if (memchr(q, '@', (size_t)(e - q)) != NULL) {
                break; /* the next recipient's line */
            }
        }
    }
    return false;
}

/* Does the text p[0..n) quote no SMTP reply code? */
static bool
fmt_lacks_reply(const char *p, size_t n)
{
    char st[16] = "", rp[4] = "";

    status_code_from_text(p, n, st, rp);
    return rp[0] == '\0';
}

/* A diagnostic that only explains (Exchange's text for users, "Your message was rejected by
 * the recipient email server"), with no reply in it, gives way to the reply the
 * administrators' section quotes for the recipient. */
static void
fmt_admin_replies(struct fmt_msg *m)
{
    size_t i;

    for (i = 0; i < m->r->nrcpts; i++) {
        struct bnc_rcpt *rc = &m->r->rcpts[i];
        struct bnc_slice admin;
        if (rc->action != BNC_ACTION_FAILED && rc->action != BNC_ACTION_DELAYED &&
            rc->action != BNC_ACTION_NONE) {
            continue;
        }
        if (rc->diagnostic != NULL && !fmt_lacks_reply(rc->diagnostic, strlen(rc->diagnostic))) {
            continue;
        }
        if (fmt_admin_reply(m, rc->recipient, &admin)) {
            rc->diagnostic = "";
            fmt_set_diag(m, rc, admin.p, admin.len);
        }
    }
}

static void
fmt_enrich(struct fmt_msg *m)
{
    struct bnc_slice blocks[FMT_ENRICH_MAX];
    bool found[FMT_ENRICH_MAX];
    const char *first = NULL, *notice = NULL;
    size_t i;

    /* each recipient's text block, looked up once; the earliest one ends the notice above
     * the list (the text a notice puts before its recipients) */
    for (i = 0; i < m->r->nrcpts && i < FMT_ENRICH_MAX; i++) {
        found[i] = fmt_block_for(m, m->r->rcpts[i].recipient, &blocks[i]);
        if (found[i] && (first == NULL || blocks[i].p < first)) {
            first = blocks[i].p;
        }
    }
    if (first != NULL && m->r->nrcpts <= FMT_ENRICH_MAX) {
        notice = fmt_notice_before(m, first);
    }
    for (i = 0; i < m->r->nrcpts; i++) {
        struct bnc_rcpt *rc = &m->r->rcpts[i];
        struct bnc_slice b;
        const char *tl;
        size_t tn;
        bool weak = rc->diagnostic == NULL || rc->diagnostic[0] == '\0', have_b;
        if (rc->action == BNC_ACTION_DELIVERED || rc->action == BNC_ACTION_RELAYED ||
            rc->action == BNC_ACTION_EXPANDED) {
            continue;
        }
        if (!weak) {
            fmt_complete_reply(m, rc);
        }
        if (i < FMT_ENRICH_MAX) {
            have_b = found[i];
            b = blocks[i];
        } else {
            have_b = fmt_block_for(m, rc->recipient, &b);
        }
        if (notice != NULL && (rc->notice == NULL || rc->notice[0] == '\0')) {
            rc->notice = notice;
        }
        if (m->r->nrcpts == 1 && (weak || rc->replycode[0] == '\0') &&
            fmt_transcript_reply(m, &tl, &tn)) {
            /* One recipient and a DSN without an SMTP reply (none, or an x-unix exit
             * status): the session transcript's last reply is what happened to it. */
            char st[16] = "", rp[4] = "";
            if (weak) {
                /* (unless the recipient's own block quotes a reply: that is its answer) */
                if (have_b) {
                    status_code_from_text(b.p, b.len, st, rp);
                }
                if (rp[0] == '\0' || rp[0] == '2') {
                    rc->diagnostic = "";
                    fmt_set_diag(m, rc, tl, tn);
                    continue;
                }
            } else {
                status_code_from_text(tl, tn, st, rp);
                if (rp[0] != '\0' && (rc->status[0] == '\0' || rc->status[0] == rp[0])) {
                    /* (a reply of another class than the Status answered another step) */
                    memcpy(rc->replycode, rp, sizeof(rc->replycode));
                }
                if (st[0] == rc->status[0] && strcmp(rc->status + 1, ".0.0") == 0) {
                    memcpy(rc->status, st, sizeof(rc->status)); /* generic status, made exact */
                }
            }
        }
        if (!have_b) {
            if (weak && m->r->nrcpts == 1 && m->text.len > 0 &&
                fmt_has_error(m->text.p, m->text.len, 0)) {
                b = m->text;
            } else {
                continue;
            }
        }
        if (weak) {
            char reply[FMT_BLOCK_MAX];
            size_t rn;
            rc->diagnostic = "";
            if ((rn = fmt_transcript_remote_reply(b, reply)) > 0) {
                /* the remote's own words decide, not the MTA's summary after them */
                const char *cmd = fmt_smtp_command(m, b.p, b.len);
                if (cmd[0] == '\0') {
                    cmd = fmt_transcript_command(m, rc->recipient);
                }
                if ((rc->smtp_command == NULL || rc->smtp_command[0] == '\0') && cmd[0] != '\0') {
                    rc->smtp_command = cmd;
                }
                fmt_set_diag(m, rc, reply, rn);
            } else {
                fmt_set_diag(m, rc, b.p, b.len);
            }
        } else {
            /* keep the DSN's own fields; only learn the SMTP command */
            const char *cmd = fmt_smtp_command(m, b.p, b.len);
            if (cmd[0] == '\0') {
                cmd = fmt_transcript_command(m, rc->recipient);
            }
            if ((rc->smtp_command == NULL || rc->smtp_command[0] == '\0') && cmd[0] != '\0') {
                rc->smtp_command = cmd;
            }
        }
    }
}

/* X-Failed-Recipients (Exim, Google): the failed addresses when the text names them in a
 * form the block extractor does not know (a bare local part, "save to <file>"). */
static size_t
fmt_failed_recipients(struct fmt_msg *m)
{
    struct bnc_slice v;
    const char *p, *end;
    size_t added = 0;

    if (!report_top_raw(m->r, REPORT_TOP_FAILED_RCPTS, &v)) {
        return 0;
    }
    p = v.p;
    end = v.p + v.len;
    while (p < end) {
        const char *a;
        size_t an;
        struct bnc_rcpt *rc;
        if (!fmt_find_addr(p, end, &a, &an)) {
            break;
        }
        rc = fmt_rcpt(m, a, an);
        if (rc != NULL) {
            struct bnc_slice b;
            added++;
            if (fmt_block_for(m, rc->recipient, &b)) {
                fmt_set_diag(m, rc, b.p, b.len);
            } else {
                fmt_set_diag(m, rc, m->text.p, m->text.len);
            }
        }
        p = a + an;
    }
    return added;
}

/* A recipient whose block gave no enhanced status may be named again on a line that has
 * one: Sendmail repeats the address in its transcript ("550 5.1.2 <a@b>... Host unknown"
 * after "<a@b> (reason: 550 Host unknown)"). The first such line of the same class gives
 * the status; the diagnostic stays the block's. */
static void
fmt_status_elsewhere(struct fmt_msg *m)
{
    size_t i;
    for (i = 0; i < m->r->nrcpts; i++) {
        struct bnc_rcpt *rc = &m->r->rcpts[i];
        const char *p = m->text.p, *end = m->text.p + m->text.len;
        size_t al = strlen(rc->recipient);
        int guard = 0;
        if (rc->status[0] != '\0' || al == 0 || rc->action != BNC_ACTION_FAILED) {
            continue;
        }
        while (p < end && guard++ < 16) {
            const char *hit = fmt_find_ci(p, (size_t)(end - p), rc->recipient, al);
            const char *ls, *le;
            char st[16] = "", rp[4] = "";
            if (hit == NULL) {
                break;
            }
            ls = hit;
            while (ls > m->text.p && ls[-1] != '\n') {
                ls--;
            }
            le = memchr(hit, '\n', (size_t)(end - hit));
            if (le == NULL) {
                le = end;
            }
            status_code_from_text(ls, (size_t)(le - ls), st, rp);
            if ((st[0] == '4' || st[0] == '5') && strcmp(st + 1, ".0.0") != 0 &&
                (rc->replycode[0] == '\0' || rc->replycode[0] == st[0])) {
                memcpy(rc->status, st, sizeof(rc->status));
                break;
            }
            p = le;
        }
    }
}

/* ------------------------------------------------------------------ dispatch ---- */

void
parse_prepare(const struct bnc_config *cfg)
{
    char dir[4096];
    fmt_scan_prepare(hsdb_cache_dir(cfg, dir, sizeof(dir)) ? dir : NULL);
}

void
formats_apply(struct bnc_report *r)
{
    struct fmt_msg m;
    struct bnc_slice to;
    size_t added = 0;
    char origin[64];
    bool says_bounce;

    if (r == NULL || r->mime.nparts == 0) {
        return;
    }
    if (arf_apply(r)) {
        return;
    }
    if (r->nrcpts == 0 && message_is_read_receipt(r)) {
        /* its text says what the reader did, no failure */
        r->flags |= BNC_PF_NOT_BOUNCE;
        return;
    }
    memset(&m, 0, sizeof(m));
    m.r = r;
    m.text = fmt_bounce_text(r);
    /* The MTA's own text is short: scan its first FMT_SCAN_FIRST bytes, and the rest only
     * when the returned message did not start within them (every phrase that matters lies
     * before that cut, so nothing is missed) and no delivery-status part named the
     * recipients already (the scan then only picks the family, whose sentence opens the
     * text). */
    m.scanned = m.text.len < FMT_SCAN_FIRST ? m.text.len : FMT_SCAN_FIRST;
    fmt_scan_text(m.text.p, m.scanned, &m.scan);
    if (m.text.len > FMT_SCAN_FIRST && r->nrcpts == 0 &&
        fmt_scan_first(&m.scan, FMT_SCAN_CUT, fmt_scan_count(FMT_SCAN_CUT), INT32_MAX) < 0) {
        m.scanned = m.text.len;
        fmt_scan_text(m.text.p, m.text.len, &m.scan);
    }
    if (r->nrcpts == 0 &&
        fmt_scan_first(&m.scan, FMT_SCAN_JSON, fmt_scan_count(FMT_SCAN_JSON), INT32_MAX) >= 0 &&
        ses_json_apply(r)) {
        return;
    }
    /* an MTA's own bounce sentence outweighs the Auto-Submitted header that Exim and others
     * put on their bounces too, when From and Subject say nothing */
    says_bounce = r->nrcpts == 0 && fmt_text_says_bounce(&m); /* (only read when none yet) */
    if (r->nrcpts == 0 && !says_bounce && autoreply_apply(r)) {
        return;
    }
    fmt_scan_header(r->mime.parts[0].header.p, r->mime.parts[0].header.len, &m.hscan);
    m.text = fmt_cut_text(m.text, &m.scan);
    fmt_scan_fields(r->from, r->subject, &m.fields);
    m.bounce_score = fmt_bounce_score(&m) + (says_bounce ? 2 : 0);
    m.delayed = fmt_is_delay_notice(&m);
    /* (as mime_header() and report_orig_header() give them, from the fields read before) */
    m.bounce_to = report_top_raw(r, REPORT_TOP_TO, &to) ? mime_decode_words(r->arena, to) : NULL;
    m.orig_rpath =
        r->orig_rpath_found ? mime_decode_words(r->arena, r->orig_rpath_raw) : NULL;
    m.family = fmt_pick_family(&m);
    if (m.family != NULL) {
        size_t n = strlen(m.family->name);
        if (n > sizeof(origin) - 8) {
            n = sizeof(origin) - 8;
        }
        memcpy(origin, "format:", 7);
        memcpy(origin + 7, m.family->name, n);
        origin[7 + n] = '\0';
        m.origin = report_strndup(r, origin, 7 + n);
        r->family = m.family->name;
        r->family_traits = m.family->traits;
    } else {
        m.origin = "format:heuristic";
    }

    if (r->nrcpts > 0) {
        struct bnc_slice cat;
        bnc_reason why;
        size_t i;
        fmt_enrich(&m);
        fmt_admin_replies(&m);
        /* PowerMTA names its own cause in its DSNs: a hint, for when neither the text nor
         * the codes decide */
        if (report_top_raw(r, REPORT_TOP_PMTA_CATEGORY, &cat) &&
            parse_pmta_category(cat.p, cat.len, &why)) {
            for (i = 0; i < r->nrcpts; i++) {
                if (r->rcpts[i].reason_hint == BNC_R_UNDEFINED) {
                    r->rcpts[i].reason_hint = why;
                }
            }
        }
        return;
    }
    if (m.bounce_score < 2 && (m.family == NULL || m.bounce_score < 1) &&
        !(m.family != NULL && m.family->hint != BNC_R_UNDEFINED)) {
        /* (a family that states its own cause, such as a list server's "not a member"
         * notice, is a bounce by itself) */
        r->flags |= BNC_PF_NOT_BOUNCE;
        return;
    }
    if (m.family != NULL && m.family->extract != NULL) {
        added = m.family->extract(&m);
    }
    if (added == 0) {
        added = fmt_generic(&m);
        if (added > 0 && m.family == NULL) {
            r->flags |= BNC_PF_HEURISTIC;
        }
    }
    if (added == 0) {
        added = fmt_failed_recipients(&m);
    }
    if (added > 0) {
        fmt_admin_replies(&m);
        fmt_status_elsewhere(&m);
    }
    if (added == 0 && r->orig_to[0] != '\0' && m.bounce_score >= 2) {
        /* the bounce names nobody: the returned message's To is the failed recipient */
        struct bnc_rcpt *rc = fmt_rcpt(&m, r->orig_to, strlen(r->orig_to));
        if (rc != NULL) {
            fmt_set_diag(&m, rc, m.text.p, m.text.len);
            r->flags |= BNC_PF_HEURISTIC;
        }
    }
}
