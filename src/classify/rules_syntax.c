/*
 * rules_syntax.c - the rule syntax (rules.h): one rule line into a rule and the Vectorscan
 * expression it is compiled from, a whole rule text into the rules of a ruleset being built,
 * and the normal form of the text rules are matched against.
 *
 * A phrase becomes an escaped literal and a regex keeps its meaning with the white-space
 * rewrite (each run of white space in the text is one space), so that the database
 * (rules_db.c) matches mostly literals, which Vectorscan does fastest.
 * Doesn't: compile, match, or read a file (core/load.c reads the rule files; nothing in
 * classify/ does I/O, DESIGN §1).
 * STANDARDS: none (the rule syntax is ours; documented in rules.h and rules/default.rules).
 * LIMITS: a rule line is at most RULES_LINE_MAX bytes, a ruleset at most RULES_MAX rules; a
 * longer line or a rule past the cap is reported and skipped.
 * Ownership: a rule's pattern and origin strings, and its expression, belong to the ruleset
 * they are added to.
 */
#include "classify/rules_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/buf.h"
#include "core/xmalloc.h"
#include "parse/hsdb.h"

void
rules_xfree(const void *p)
{
    free((void *)(uintptr_t)p);
}

void
rules_report(rules_err_cb cb, void *ud, const char *origin, unsigned line, const char *msg)
{
    char where[512];
    if (cb == NULL) {
        return;
    }
    if (line > 0) {
        snprintf(where, sizeof(where), "%s:%u", origin, line);
    } else {
        snprintf(where, sizeof(where), "%s", origin);
    }
    cb(ud, where, msg);
}

bool
rules_parse_verdict(const char *s, size_t n, bnc_reason *reason_out, int *hard_out)
{
    char name[64];
    size_t i = 0;

    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
        n--;
    }
    if (n == 0 || n >= sizeof(name)) {
        return false;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];
        name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    name[n] = '\0';
    *reason_out = BNC_R_UNDEFINED;
    *hard_out = -1;
    if (strncmp(name, "hard", 4) == 0 && (name[4] == '\0' || name[4] == ':')) {
        *hard_out = 1;
    } else if (strncmp(name, "soft", 4) == 0 && (name[4] == '\0' || name[4] == ':')) {
        *hard_out = 0;
    }
    if (*hard_out >= 0) {
        if (name[4] == '\0') {
            return true;
        }
        return bnc_reason_from_name(name + 5, reason_out) && *reason_out != BNC_R_UNDEFINED;
    }
    return bnc_reason_from_name(name, reason_out) && *reason_out != BNC_R_UNDEFINED;
}

/* Turn a phrase into a Vectorscan expression: a plain literal (punctuation escaped; each
 * white-space run as one space, each apostrophe as the ASCII one). The text a ruleset is
 * matched against has the same normal form (classify.c: white-space runs are one space,
 * U+2019 is an apostrophe), so the phrases stay literals, which Vectorscan matches fastest. */
static char *
rules_phrase_expr(const char *p, size_t n)
{
    struct buf b;
    size_t i;
    bool ws = false;

    buf_init(&b, 0);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == ' ' || c == '\t') {
            if (!ws) {
                buf_adds(&b, "\\x20");
            }
            ws = true;
            continue;
        }
        ws = false;
        if (c == 0xe2 && i + 2 < n && (unsigned char)p[i + 1] == 0x80 &&
            (unsigned char)p[i + 2] == 0x99) {
            buf_adds(&b, "\\x27"); /* U+2019, as the text has it: an apostrophe */
            i += 2;
            continue;
        }
        hsdb_literal_byte(&b, c);
    }
    return buf_take(&b);
}

/* A regex rule as matched: the text has one space for each white-space run (the same
 * normal form as for phrases), so outside a bracket class `\s+` and `\s` are one space and
 * `\s*` an optional one; the patterns keep their meaning and lose most of their automata,
 * which Vectorscan then matches from literals. Everything else is copied as written. */
static char *
rules_regex_expr(const char *p, size_t n)
{
    struct buf b;
    size_t i;
    bool cls = false;

    buf_init(&b, 0);
    for (i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            if (!cls && p[i + 1] == 's') {
                i++;
                if (i + 1 < n && p[i + 1] == '+') {
                    buf_adds(&b, "\\x20");
                    i++;
                } else if (i + 1 < n && p[i + 1] == '*') {
                    buf_adds(&b, "\\x20?");
                    i++;
                } else {
                    buf_adds(&b, "\\x20");
                    continue;
                }
                if (i + 1 < n && p[i + 1] == '?') {
                    i++; /* a lazy quantifier finds the same matches */
                }
                continue;
            }
            buf_addc(&b, c);
            buf_addc(&b, p[++i]);
            continue;
        }
        if (c == '[' && !cls) {
            cls = true;
            buf_addc(&b, c);
            if (i + 1 < n && p[i + 1] == '^') {
                buf_addc(&b, p[++i]);
            }
            if (i + 1 < n && p[i + 1] == ']') {
                buf_addc(&b, p[++i]); /* "[]...]": a leading ] is a member */
            }
            continue;
        }
        if (c == ']' && cls) {
            cls = false;
        }
        buf_addc(&b, c);
    }
    return buf_take(&b);
}

/* Parse one rule line. Returns 1 for a rule (*expr_out, fields set), 0 for a blank or comment
 * line, -1 for an error (err filled). */
int
rules_parse_line(const char *line, size_t len, struct rule_info *ri, char **expr_out, char *err,
                 size_t errlen)
{
    const char *arrow = NULL, *p;
    const char *pat;
    size_t patlen;

    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t')) {
        len--;
    }
    while (len > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        len--;
    }
    if (len == 0 || line[0] == '#') {
        return 0;
    }
    if (len > RULES_LINE_MAX) {
        snprintf(err, errlen, "rule longer than %d bytes", RULES_LINE_MAX);
        return -1;
    }
    if (memchr(line, '\0', len) != NULL) {
        snprintf(err, errlen, "NUL byte in rule");
        return -1;
    }
    for (p = line; p + 3 <= line + len; p++) {
        if (p[0] == '=' && p[1] == '=' && p[2] == '>') {
            arrow = p; /* the last arrow: a pattern may contain "==>" */
        }
    }
    if (arrow == NULL) {
        snprintf(err, errlen, "missing '==>' (expected: PATTERN ==> hard|soft[:reason])");
        return -1;
    }
    if (!rules_parse_verdict(arrow + 3, (size_t)(line + len - (arrow + 3)), &ri->reason,
                             &ri->hard)) {
        snprintf(err, errlen,
                 "bad verdict '%.*s' (expected hard, soft, hard:REASON, "
                 "soft:REASON or a reason name)",
                 (int)(line + len - (arrow + 3) > 64 ? 64 : line + len - (arrow + 3)), arrow + 3);
        return -1;
    }
    pat = line;
    patlen = (size_t)(arrow - line);
    while (patlen > 0 && (pat[patlen - 1] == ' ' || pat[patlen - 1] == '\t')) {
        patlen--;
    }
    if (patlen == 0) {
        snprintf(err, errlen, "empty pattern");
        return -1;
    }
    ri->pattern = xstrndup(pat, patlen);
    ri->regex = false;
    if (pat[0] == '/' && patlen >= 2) {
        size_t end = patlen;
        if (pat[end - 1] == 'i' && end >= 3 && pat[end - 2] == '/') {
            end--;
        }
        if (pat[end - 1] != '/' || end < 3) {
            snprintf(err, errlen, "regex must be written /REGEX/ or /REGEX/i");
            rules_xfree(ri->pattern);
            ri->pattern = NULL;
            return -1;
        }
        ri->regex = true;
        *expr_out = rules_regex_expr(pat + 1, end - 2);
    } else {
        *expr_out = rules_phrase_expr(pat, patlen);
    }
    return 1;
}

static void
rules_push(struct bnc_ruleset *rs, const struct rule_info *ri, char *expr)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 256;
        rs->rules = xrealloc(rs->rules, rs->cap * sizeof(*rs->rules));
        rs->exprs = xrealloc(rs->exprs, rs->cap * sizeof(*rs->exprs));
    }
    rs->rules[rs->n] = *ri;
    rs->exprs[rs->n] = expr;
    rs->n++;
}

/* Add every rule of one text. origin is copied. */
void
rules_add_text(struct bnc_ruleset *rs, const char *text, size_t len, const char *origin,
               enum rules_tier tier, rules_err_cb cb, void *ud)
{
    const char *p = text, *end = text + len;
    unsigned lineno = 0;
    char *orig = NULL;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        struct rule_info ri;
        char *expr = NULL;
        char err[256];
        int rc;

        lineno++;
        memset(&ri, 0, sizeof(ri));
        rc = rules_parse_line(p, (size_t)(le - p), &ri, &expr, err, sizeof(err));
        if (rc < 0) {
            rules_report(cb, ud, origin, lineno, err);
        } else if (rc > 0 && rs->n >= RULES_MAX) {
            rules_report(cb, ud, origin, lineno, "too many rules; the rest are ignored");
            free(expr);
            rules_xfree(ri.pattern);
            return;
        } else if (rc > 0) {
            if (orig == NULL) {
                orig = xstrdup(origin); /* owned by the first rule of this origin */
                ri.origin = orig;
            } else {
                ri.origin = orig;
            }
            ri.line = lineno;
            ri.tier = tier;
            rules_push(rs, &ri, expr);
        }
        p = nl ? nl + 1 : end;
    }
}

void
rules_add_srcs(struct bnc_ruleset *rs, const struct rule_src *src, size_t n, const char *unnamed,
               rules_err_cb cb, void *ud)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (src[i].text != NULL) {
            rules_add_text(rs, src[i].text, strlen(src[i].text),
                           src[i].origin ? src[i].origin : unnamed, RULES_TIER_USER, cb, ud);
        }
    }
}

void
rules_verdict_text(const struct rule_info *ri, char *out, size_t n)
{
    if (ri->hard >= 0 && ri->reason != BNC_R_UNDEFINED) {
        snprintf(out, n, "%s:%s", ri->hard ? "hard" : "soft", bnc_reason_name(ri->reason));
    } else if (ri->hard >= 0) {
        snprintf(out, n, "%s", ri->hard ? "hard" : "soft");
    } else {
        snprintf(out, n, "%s", bnc_reason_name(ri->reason));
    }
}

/* rules_normalize's byte classes: 1 white space (and NUL), 2 the first byte of U+2019. */
static const unsigned char rules_norm_class[256] = {
    [' '] = 1, ['\t'] = 1, ['\r'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, [0] = 1, [0xe2] = 2,
};

/* Are p[0..16) their own normal form, given whether a white-space run is open (ws): no byte
 * of a class but single spaces, the first not one when a run is open? Then *ws_out says
 * whether one is open after them. SSE2; false elsewhere. */
static inline bool
rules_norm_plain16(const char *p, bool ws, bool *ws_out)
{
#if defined(__SSE2__)
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    unsigned sp = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')));
    /* the other class bytes: \t \n \v \f \r (9..13), NUL, and 0xe2 */
    __m128i ctl = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(8)),
                                _mm_cmplt_epi8(v, _mm_set1_epi8(14)));
    unsigned other = (unsigned)_mm_movemask_epi8(
        _mm_or_si128(ctl, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_setzero_si128()),
                                       _mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xe2)))));
    if (other != 0 || (sp & (sp >> 1)) != 0 || (ws && (sp & 1u))) {
        return false;
    }
    *ws_out = (sp & 0x8000u) != 0;
    return true;
#else
    (void)p;
    (void)ws;
    (void)ws_out;
    return false;
#endif
}

size_t
rules_normalize(const char *in, size_t len, char *out, size_t cap)
{
    size_t n = 0, i = 0;
    bool ws = false;

    while (i < len && n + 1 < cap) {
        unsigned char c = (unsigned char)in[i];
        unsigned char k;
        if (len - i >= 16 && n + 17 < cap && rules_norm_plain16(in + i, ws, &ws)) {
            memcpy(out + n, in + i, 16); /* (sixteen bytes that are their own form) */
            n += 16;
            i += 16;
            continue;
        }
        k = rules_norm_class[c];
        if (k == 0) {
            /* a run of other bytes, copied whole (as far as cap allows) */
            size_t j = i + 1, stop = len - i < cap - 1 - n ? len : i + (cap - 1 - n);
            while (j < stop && rules_norm_class[(unsigned char)in[j]] == 0) {
                j++;
            }
            memcpy(out + n, in + i, j - i);
            n += j - i;
            i = j;
            ws = false;
            continue;
        }
        if (k == 1) {
            if (!ws) {
                out[n++] = ' ';
            }
            ws = true;
            i++;
            continue;
        }
        ws = false;
        if (i + 2 < len && (unsigned char)in[i + 1] == 0x80 && (unsigned char)in[i + 2] == 0x99) {
            out[n++] = '\'';
            i += 3;
            continue;
        }
        out[n++] = (char)c;
        i++;
    }
    out[n] = '\0';
    return n;
}
