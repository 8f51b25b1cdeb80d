/*
 * cmd_rules_lint.c - `bounced rules lint [FILE ...]`: report the rules that cannot do what
 * they say: lines that do not load (syntax, unknown reason, bad regex flags, a pattern that
 * does not compile), duplicates, rules an earlier rule shadows, and rules that no diagnostic
 * can match once the classifier has put it in its normal form.
 *
 * Method. Each rule's compiled expression (rules_expr: a phrase is an escaped literal, a
 * regex has the white-space rewrite applied) is expanded into a few example texts: the
 * shortest expansion, plus one variant for each alternation branch, each optional or
 * repeated group taken once, and a second representative of each character class. The
 * examples are then matched through the ruleset's own Vectorscan database, raw and in the
 * classifier's normal form (classify_rules_matching: white-space runs as one space, U+2019
 * as an apostrophe, e-mail addresses blanked). The examples a rule matches in normal form
 * stand for the texts it matches:
 *  - duplicate: the same literal text (phrases and regexes without metacharacters, compared
 *    caseless) or the same expression;
 *  - shadowed: one earlier rule matches every one of those examples, and no example was
 *    dropped for the LINT_SAMPLES cap;
 *  - never-matching: the rule matches some example raw but none in normal form (it needs a
 *    tab, two spaces, U+2019 or an e-mail address), or no example can satisfy its anchors.
 * This is a check by examples, not a proof: a rule that matches texts none of its examples
 * resembles (a class member other than the two tried, a second repetition) may be reported
 * as shadowed although some text reaches it; docs/internals/classify.md says so.
 * Doesn't: change a rules file.
 * LIMITS: at most LINT_SAMPLES examples of at most LINT_SAMPLE_MAX bytes per rule; a
 * repetition count above LINT_REPEAT_MAX, group nesting beyond LINT_DEPTH_MAX, and
 * constructs the expansion does not model (lookaround, inline flags, backreferences, POSIX
 * and Unicode classes) leave the rule unchecked for shadowing and matching (a --verbose
 * note). Rule files are read up to the loader's own limits.
 * Exit: 0 nothing found, 1 something reported, 2 usage error or a file unreadable,
 * 3 the rules could not be compiled at all.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify/classify.h"
#include "classify/rules.h"
#include "cli.h"
#include "core/buf.h"
#include "core/embedded.h"
#include "core/load.h"
#include "core/xmalloc.h"

#define LINT_SAMPLES    32
#define LINT_SAMPLE_MAX 8192
#define LINT_REPEAT_MAX 64
#define LINT_DEPTH_MAX  64
#define LINT_FILES_MAX  256
#define LINT_SHOW_MAX   160 /* bytes of an example quoted in a report */

/* Zero-width assertions travel inside an example as these bytes until it is finished. */
#define LINT_MK_BOL 1 /* ^ \A */
#define LINT_MK_EOL 2 /* $ \z \Z */
#define LINT_MK_WB  3 /* \b */
#define LINT_MK_NWB 4 /* \B */

/* A set of example texts (owned strings). */
struct lint_sset {
    char *s[LINT_SAMPLES];
    size_t len[LINT_SAMPLES];
    size_t n;
};

/* Expansion state over one expression. */
struct lint_gen {
    const char *p, *end;
    const char *bad; /* why the expression is not modelled; NULL while it is */
    bool trunc;      /* an example was dropped for the cap */
    bool literal;    /* no metacharacter so far: the expression is one fixed text */
    bool byte_class; /* a class lists a byte of a UTF-8 sequence (see lint_class) */
    int depth;
};

/* What the lint knows about one rule. */
struct lint_rule {
    char *key; /* duplicate key: "L:" + folded text, or "R:" + folded expression */
    struct lint_sset ex;
    bool anchored_ok[LINT_SAMPLES]; /* the example satisfies its own anchors */
    bool raw[LINT_SAMPLES];         /* the rule matches the example as written */
    bool norm[LINT_SAMPLES];        /* ... and in the classifier's normal form */
    const char *bad;
    bool trunc;
    bool byte_class;
};

/* The text of each origin, to quote a rule line as written. */
struct lint_src {
    const char *origin;
    struct rule_src own; /* a file read here to quote from; empty otherwise */
    const char *p;
    size_t len;
};

struct lint_run {
    const struct bnc_ruleset *rs;
    struct lint_src src[LINT_FILES_MAX + 1];
    size_t nsrc;
    bool verbose;
    unsigned errors, dups, shadowed, never, notes;
};

/* ---- example sets ---- */

static void
sset_free(struct lint_sset *ss)
{
    size_t i;
    for (i = 0; i < ss->n; i++) {
        free(ss->s[i]);
    }
    ss->n = 0;
}

static void
sset_add(struct lint_gen *g, struct lint_sset *ss, const char *a, size_t alen, const char *b,
         size_t blen)
{
    char *s;
    if (ss->n == LINT_SAMPLES) {
        g->trunc = true;
        return;
    }
    if (alen + blen > LINT_SAMPLE_MAX) {
        g->bad = "an example longer than the lint's limit";
        return;
    }
    s = xmalloc(alen + blen + 1);
    memcpy(s, a, alen);
    memcpy(s + alen, b, blen);
    s[alen + blen] = '\0';
    ss->s[ss->n] = s;
    ss->len[ss->n++] = alen + blen;
}

/* out = a then b: the two first examples together, then each other example of one side
 * with the first of the other (1 + (na - 1) + (nb - 1) examples, not na * nb). */
static void
sset_concat(struct lint_gen *g, const struct lint_sset *a, const struct lint_sset *b,
            struct lint_sset *out)
{
    size_t i;
    out->n = 0;
    if (a->n == 0 || b->n == 0) {
        return;
    }
    sset_add(g, out, a->s[0], a->len[0], b->s[0], b->len[0]);
    for (i = 1; i < a->n; i++) {
        sset_add(g, out, a->s[i], a->len[i], b->s[0], b->len[0]);
    }
    for (i = 1; i < b->n; i++) {
        sset_add(g, out, a->s[0], a->len[0], b->s[i], b->len[i]);
    }
}

/* a += b (b emptied). */
static void
sset_union(struct lint_gen *g, struct lint_sset *a, struct lint_sset *b)
{
    size_t i;
    for (i = 0; i < b->n; i++) {
        if (a->n == LINT_SAMPLES) {
            g->trunc = true;
            free(b->s[i]);
            continue;
        }
        a->s[a->n] = b->s[i];
        a->len[a->n++] = b->len[i];
    }
    b->n = 0;
}

/* out = atom repeated min times (each variant of the atom once); min 0 adds the empty text
 * first, so the shortest expansion leaves an optional group out. */
static void
sset_repeat(struct lint_gen *g, struct lint_sset *atom, unsigned min, struct lint_sset *out)
{
    struct lint_sset acc, one, tmp;
    unsigned k;

    out->n = 0;
    if (min == 0) {
        sset_add(g, out, "", 0, "", 0);
        for (k = 0; k < atom->n; k++) {
            sset_add(g, out, atom->s[k], atom->len[k], "", 0);
        }
        return;
    }
    acc.n = 0;
    one.n = 0;
    sset_add(g, &acc, "", 0, "", 0);
    for (k = 0; k < min && g->bad == NULL; k++) {
        /* the first copy carries the variants, the others are the first example */
        const struct lint_sset *use = atom;
        if (k > 0) {
            if (one.n == 0) {
                sset_add(g, &one, atom->s[0], atom->len[0], "", 0);
            }
            use = &one;
        }
        sset_concat(g, &acc, use, &tmp);
        sset_free(&acc);
        acc = tmp;
    }
    sset_free(&one);
    *out = acc;
}

/* ---- the expression ---- */

static bool
lint_is_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int
lint_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static void
set_range(bool set[256], unsigned lo, unsigned hi)
{
    unsigned c;
    for (c = lo; c <= hi && c < 256; c++) {
        set[c] = true;
    }
}

/* \d \w \s and their negations into set; false for another letter. */
static bool
set_escape_class(bool set[256], char e)
{
    bool tmp[256];
    unsigned c;
    bool neg = e == 'D' || e == 'W' || e == 'S';

    memset(tmp, 0, sizeof(tmp));
    switch (e) {
    case 'd':
    case 'D':
        set_range(tmp, '0', '9');
        break;
    case 'w':
    case 'W':
        for (c = 0; c < 256; c++) {
            tmp[c] = lint_is_word((unsigned char)c);
        }
        break;
    case 's':
    case 'S':
        set_range(tmp, '\t', '\r');
        tmp[' '] = true;
        break;
    default:
        return false;
    }
    for (c = 0; c < 256; c++) {
        if (tmp[c] != neg) {
            set[c] = true;
        }
    }
    return true;
}

enum lint_esc { ESC_BAD, ESC_CHAR, ESC_SET, ESC_MARK };

/* After a backslash: one character, a class, or an assertion (outside a class). */
static enum lint_esc
lint_escape(struct lint_gen *g, bool in_class, bool set[256], unsigned char *ch)
{
    char e;

    if (g->p >= g->end) {
        g->bad = "a trailing backslash";
        return ESC_BAD;
    }
    e = *g->p++;
    if (set_escape_class(set, e)) {
        return ESC_SET;
    }
    switch (e) {
    case 'x': {
        unsigned v = 0;
        int d, k = 0;
        if (g->p < g->end && *g->p == '{') {
            g->p++;
            while (g->p < g->end && *g->p != '}' && (d = lint_hexval(*g->p)) >= 0 && k < 8) {
                v = v * 16 + (unsigned)d;
                g->p++;
                k++;
            }
            if (g->p >= g->end || *g->p != '}' || k == 0 || v > 0xff) {
                g->bad = "a \\x{...} escape beyond one byte";
                return ESC_BAD;
            }
            g->p++;
        } else {
            while (k < 2 && g->p < g->end && (d = lint_hexval(*g->p)) >= 0) {
                v = v * 16 + (unsigned)d;
                g->p++;
                k++;
            }
        }
        *ch = (unsigned char)v;
        return ESC_CHAR;
    }
    case 't':
        *ch = '\t';
        return ESC_CHAR;
    case 'n':
        *ch = '\n';
        return ESC_CHAR;
    case 'r':
        *ch = '\r';
        return ESC_CHAR;
    case 'f':
        *ch = '\f';
        return ESC_CHAR;
    case 'v':
        *ch = '\v';
        return ESC_CHAR;
    case 'e':
        *ch = 0x1b;
        return ESC_CHAR;
    case 'a':
        *ch = 0x07;
        return ESC_CHAR;
    case 'b':
    case 'B':
    case 'A':
    case 'z':
    case 'Z':
        if (in_class) {
            break;
        }
        *ch = e == 'b' ? LINT_MK_WB : e == 'B' ? LINT_MK_NWB : e == 'A' ? LINT_MK_BOL : LINT_MK_EOL;
        return ESC_MARK;
    default:
        if (!lint_is_word((unsigned char)e) && (unsigned char)e >= 0x20) {
            *ch = (unsigned char)e; /* an escaped punctuation character is itself */
            return ESC_CHAR;
        }
        break;
    }
    g->bad = "an escape the lint does not model (backreference, \\p, \\Q, ...)";
    return ESC_BAD;
}

/* After '[': the members, case-folded (rules are caseless), then negated if written so. */
static bool
lint_class(struct lint_gen *g, bool set[256])
{
    bool neg = false, first = true;
    unsigned c;

    memset(set, 0, 256 * sizeof(bool));
    if (g->p < g->end && *g->p == '^') {
        neg = true;
        g->p++;
    }
    for (;;) {
        unsigned char lo, hi;
        if (g->p >= g->end) {
            g->bad = "an unterminated class";
            return false;
        }
        if (*g->p == ']' && !first) {
            g->p++;
            break;
        }
        first = false;
        if (*g->p == '[' && g->p + 1 < g->end &&
            (g->p[1] == ':' || g->p[1] == '=' || g->p[1] == '.')) {
            g->bad = "a POSIX class";
            return false;
        }
        if (*g->p == '\\') {
            g->p++;
            switch (lint_escape(g, true, set, &lo)) {
            case ESC_SET:
                continue;
            case ESC_CHAR:
                break;
            default:
                return false;
            }
        } else {
            lo = (unsigned char)*g->p++;
        }
        hi = lo;
        if (g->p + 1 < g->end && *g->p == '-' && g->p[1] != ']') {
            g->p++;
            if (*g->p == '\\') {
                bool dummy[256];
                g->p++;
                if (lint_escape(g, true, dummy, &hi) != ESC_CHAR) {
                    if (g->bad == NULL) {
                        g->bad = "a range to a class";
                    }
                    return false;
                }
            } else {
                hi = (unsigned char)*g->p++;
            }
            if (hi < lo) {
                g->bad = "a reversed range";
                return false;
            }
        }
        set_range(set, lo, hi);
        /* rules are matched byte by byte: "[oó]" is 'o' or one of the two bytes of 'ó', and
         * never the letter */
        g->byte_class = g->byte_class || hi >= 0x80;
    }
    for (c = 'a'; c <= 'z'; c++) {
        if (set[c] || set[c - 'a' + 'A']) {
            set[c] = set[c - 'a' + 'A'] = true;
        }
    }
    if (neg) {
        for (c = 0; c < 256; c++) {
            set[c] = !set[c];
        }
    }
    return true;
}

/* Representatives of a class: the first member in a readable order, and a second member
 * of a different look (the last readable one), so one example is not the whole story. */
static void
lint_class_reps(struct lint_gen *g, const bool set[256], struct lint_sset *out)
{
    static const char order[] =
        "abcdefghijklmnopqrstuvwxyz0123456789-_.:/#,;!?=+%&*()<>[]{}'\"|~^$`\\";
    const char *first = NULL, *last = NULL, *p;
    unsigned char c;
    unsigned k;

    out->n = 0;
    for (p = order; *p; p++) {
        if (set[(unsigned char)*p]) {
            if (first == NULL) {
                first = p;
            }
            last = p;
        }
    }
    if (first != NULL) {
        sset_add(g, out, first, 1, "", 0);
        if (last != first) {
            sset_add(g, out, last, 1, "", 0);
        }
        return;
    }
    /* nothing readable: '@', a space, then any byte but NUL and LF */
    if (set['@'] || set[' ']) {
        c = set['@'] ? '@' : ' ';
        sset_add(g, out, (const char *)&c, 1, "", 0);
        return;
    }
    for (k = 1; k < 256; k++) {
        if (set[k] && k != '\n' && k > LINT_MK_NWB) {
            c = (unsigned char)k;
            sset_add(g, out, (const char *)&c, 1, "", 0);
            return;
        }
    }
    g->bad = "an empty class";
}

static void lint_alt(struct lint_gen *g, struct lint_sset *out);

/* A group, after its '(': (...) or (?:...), up to and past its ')'. */
static void
lint_group(struct lint_gen *g, struct lint_sset *out)
{
    g->literal = false;
    if (g->p < g->end && *g->p == '?') {
        if (g->p + 1 < g->end && g->p[1] == ':') {
            g->p += 2;
        } else {
            g->bad = "a (?...) group other than (?:...)";
            return;
        }
    }
    if (++g->depth > LINT_DEPTH_MAX) {
        g->bad = "groups nested too deep";
        return;
    }
    lint_alt(g, out);
    g->depth--;
    if (g->bad == NULL && (g->p >= g->end || *g->p != ')')) {
        g->bad = "an unbalanced parenthesis";
    }
    if (g->bad == NULL) {
        g->p++;
    }
}

/* One atom into out; *mark set when it is a zero-width assertion. */
static void
lint_atom(struct lint_gen *g, struct lint_sset *out, bool *mark)
{
    unsigned char c = (unsigned char)*g->p++, ch;
    bool set[256];

    out->n = 0;
    *mark = false;
    memset(set, 0, sizeof(set));
    switch (c) {
    case '(':
        lint_group(g, out);
        return;
    case '[':
        g->literal = false;
        if (lint_class(g, set)) {
            lint_class_reps(g, set, out);
        }
        return;
    case '.':
        g->literal = false;
        set_range(set, 0, 255);
        set['\n'] = false;
        lint_class_reps(g, set, out);
        return;
    case '^':
    case '$':
        g->literal = false;
        *mark = true;
        ch = c == '^' ? LINT_MK_BOL : LINT_MK_EOL;
        sset_add(g, out, (const char *)&ch, 1, "", 0);
        return;
    case '\\':
        switch (lint_escape(g, false, set, &ch)) {
        case ESC_CHAR:
            break;
        case ESC_SET:
            g->literal = false;
            lint_class_reps(g, set, out);
            return;
        case ESC_MARK:
            g->literal = false;
            *mark = true;
            sset_add(g, out, (const char *)&ch, 1, "", 0);
            return;
        default:
            return;
        }
        c = ch;
        break;
    case '*':
    case '+':
    case '?':
        g->bad = "a quantifier with nothing to repeat";
        return;
    default:
        break;
    }
    if (c >= LINT_MK_BOL && c <= LINT_MK_NWB) {
        g->bad = "a control byte the lint uses itself";
        return;
    }
    sset_add(g, out, (const char *)&c, 1, "", 0);
}

/* A quantifier after an atom, if any: *min_out, true when one was read. */
static bool
lint_quantifier(struct lint_gen *g, unsigned long *min_out)
{
    const char *q = g->p;
    unsigned long min = 0;

    if (q >= g->end) {
        return false;
    }
    if (*q == '*' || *q == '?') {
        min = 0;
        q++;
    } else if (*q == '+') {
        min = 1;
        q++;
    } else if (*q == '{') {
        const char *d = ++q;
        while (q < g->end && *q >= '0' && *q <= '9' && min <= LINT_REPEAT_MAX + 1) {
            min = min * 10 + (unsigned long)(*q++ - '0');
        }
        if (q == d) {
            return false; /* "{" that is not a count is a literal */
        }
        while (q < g->end && *q >= '0' && *q <= '9') {
            q++;
        }
        if (q < g->end && *q == ',') {
            q++;
            while (q < g->end && *q >= '0' && *q <= '9') {
                q++;
            }
        }
        if (q >= g->end || *q != '}') {
            return false;
        }
        q++;
    } else {
        return false;
    }
    if (q < g->end && (*q == '?' || *q == '+')) {
        q++; /* lazy or possessive: the same texts match */
    }
    g->p = q;
    *min_out = min;
    return true;
}

static void
lint_concat(struct lint_gen *g, struct lint_sset *out)
{
    struct lint_sset acc, atom, rep, tmp;

    acc.n = 0;
    sset_add(g, &acc, "", 0, "", 0);
    while (g->bad == NULL && g->p < g->end && *g->p != '|' && *g->p != ')') {
        unsigned long min;
        bool mark;
        lint_atom(g, &atom, &mark);
        if (g->bad != NULL) {
            sset_free(&atom);
            break;
        }
        if (lint_quantifier(g, &min)) {
            g->literal = false;
            if (mark) {
                g->bad = "a repeated assertion";
            } else if (min > LINT_REPEAT_MAX) {
                g->bad = "a repetition count above the lint's limit";
            }
            if (g->bad != NULL) {
                sset_free(&atom);
                break;
            }
            sset_repeat(g, &atom, (unsigned)min, &rep);
            sset_free(&atom);
            atom = rep;
        }
        sset_concat(g, &acc, &atom, &tmp);
        sset_free(&acc);
        sset_free(&atom);
        acc = tmp;
    }
    *out = acc;
}

static void
lint_alt(struct lint_gen *g, struct lint_sset *out)
{
    struct lint_sset more;

    lint_concat(g, out);
    while (g->bad == NULL && g->p < g->end && *g->p == '|') {
        g->p++;
        g->literal = false;
        lint_concat(g, &more);
        sset_union(g, out, &more);
    }
}

/* Strip the assertion bytes from an example; false when one of them cannot hold there. */
static bool
lint_finish(char *s, size_t *len)
{
    size_t i, o = 0, n = *len;
    bool ok = true;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t j;
        bool before, after;
        if (c > LINT_MK_NWB || c == 0) {
            s[o++] = s[i];
            continue;
        }
        for (j = i + 1; j < n && (unsigned char)s[j] >= 1 && (unsigned char)s[j] <= LINT_MK_NWB;
             j++) {
        }
        before = o > 0 && lint_is_word((unsigned char)s[o - 1]);
        after = j < n && lint_is_word((unsigned char)s[j]);
        if ((c == LINT_MK_BOL && o != 0) || (c == LINT_MK_EOL && j != n) ||
            (c == LINT_MK_WB && before == after) || (c == LINT_MK_NWB && before != after)) {
            ok = false;
        }
    }
    s[o] = '\0';
    *len = o;
    return ok;
}

/* The examples of one expression, and its duplicate key. */
static void
lint_expand(const char *expr, struct lint_rule *lr)
{
    struct lint_gen g;
    size_t i;

    memset(&g, 0, sizeof(g));
    g.p = expr;
    g.end = expr + strlen(expr);
    g.literal = true;
    lint_alt(&g, &lr->ex);
    if (g.bad == NULL && g.p < g.end) {
        g.bad = "an unbalanced parenthesis";
    }
    lr->bad = g.bad;
    lr->trunc = g.trunc;
    lr->byte_class = g.byte_class;
    if (g.bad != NULL) {
        sset_free(&lr->ex);
    }
    for (i = 0; i < lr->ex.n; i++) {
        lr->anchored_ok[i] = lint_finish(lr->ex.s[i], &lr->ex.len[i]);
    }
    {
        struct buf k;
        const char *p;
        buf_init(&k, 0);
        if (g.bad == NULL && g.literal && lr->ex.n == 1) {
            buf_adds(&k, "L:");
            for (p = lr->ex.s[0]; *p; p++) {
                buf_addc(&k, (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p);
            }
        } else {
            buf_adds(&k, "R:");
            for (p = expr; *p; p++) {
                buf_addc(&k, (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p);
                if (*p == '\\' && p[1] != '\0') {
                    buf_addc(&k, *++p); /* \S is not \s */
                }
            }
        }
        lr->key = buf_take(&k);
    }
}

/* ---- reporting ---- */

/* Line `line` of origin's text, trimmed, into b; false when the text is not at hand. */
static bool
lint_line_text(struct lint_run *lr, const char *origin, unsigned line, struct buf *b)
{
    size_t i;
    struct lint_src *s = NULL;
    const char *p, *end, *nl;
    unsigned k = 1;

    for (i = 0; i < lr->nsrc; i++) {
        if (strcmp(lr->src[i].origin, origin) == 0) {
            s = &lr->src[i];
            break;
        }
    }
    if (s == NULL && lr->nsrc < sizeof(lr->src) / sizeof(lr->src[0])) {
        struct rule_src rsrc;
        char err[256];
        if (load_rule_file(origin, &rsrc, err, sizeof(err)) != BNC_OK) {
            return false;
        }
        s = &lr->src[lr->nsrc++];
        s->own = rsrc; /* kept: freed with the run */
        s->origin = rsrc.origin;
        s->p = rsrc.text;
        s->len = strlen(rsrc.text);
    }
    if (s == NULL || line == 0) {
        return false;
    }
    p = s->p;
    end = s->p + s->len;
    while (k < line && p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
        k++;
    }
    if (p >= end) {
        return false;
    }
    nl = memchr(p, '\n', (size_t)(end - p));
    end = nl ? nl : end;
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) {
        end--;
    }
    buf_add(b, p, (size_t)(end - p));
    return true;
}

static void
lint_rule_text(struct lint_run *lr, const struct rule_info *ri, struct buf *b)
{
    char v[64];
    if (!lint_line_text(lr, ri->origin, ri->line, b)) {
        rules_verdict_text(ri, v, sizeof(v));
        buf_printf(b, "%s ==> %s", ri->pattern, v);
    }
}

/* An example, quoted and printable. */
static void
lint_quote(struct buf *b, const char *s, size_t n)
{
    size_t i;
    buf_addc(b, '\'');
    for (i = 0; i < n && i < LINT_SHOW_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            buf_printf(b, "\\x%02x", c);
        } else {
            buf_addc(b, (char)c);
        }
    }
    if (n > LINT_SHOW_MAX) {
        buf_adds(b, "...");
    }
    buf_addc(b, '\'');
}

/* "KIND: where: text: explanation", one line. */
static void
lint_print(const char *where, const char *kind, const char *text, const char *why)
{
    printf("%s: %s: %s: %s\n", where, kind, text, why);
}

static void
lint_print_rule(struct lint_run *lr, const struct rule_info *ri, const char *kind, const char *why)
{
    struct buf t;
    char where[512];
    buf_init(&t, 0);
    lint_rule_text(lr, ri, &t);
    snprintf(where, sizeof(where), "%s:%u", ri->origin, ri->line);
    lint_print(where, kind, t.p ? t.p : "", why);
    buf_free(&t);
}

/* Errors from loading and compiling: a line that did not become a rule. */
struct lint_errs {
    struct lint_run *lr;
    struct buf out;
};

static void
lint_on_error(void *ud, const char *where, const char *msg)
{
    struct lint_errs *le = ud;
    const char *colon = strrchr(where, ':');
    char origin[512];
    unsigned long line = 0;
    struct buf t;

    buf_init(&t, 0);
    if (colon != NULL && colon[1] >= '0' && colon[1] <= '9') {
        line = strtoul(colon + 1, NULL, 10);
        snprintf(origin, sizeof(origin), "%.*s", (int)(colon - where), where);
        if (!lint_line_text(le->lr, origin, (unsigned)line, &t)) {
            buf_adds(&t, "?");
        }
    } else {
        buf_adds(&t, "-");
    }
    buf_printf(&le->out, "%s: error: %s: %s\n", where, t.p, msg);
    buf_free(&t);
    le->lr->errors++;
}

/* Why an example the rule matches as written no longer matches in the normal form. */
static void
lint_why_normal(const char *s, size_t n, struct buf *b)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') {
            buf_adds(b, "it needs a tab or line break, and the classifier turns every run of "
                        "white space into one space");
            return;
        }
        if (c == ' ' && i + 1 < n && s[i + 1] == ' ') {
            buf_adds(b, "it needs two spaces in a row, and the classifier turns every run of "
                        "white space into one space");
            return;
        }
        if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
            (unsigned char)s[i + 2] == 0x99) {
            buf_adds(b, "it needs U+2019, and the classifier turns it into an apostrophe");
            return;
        }
        if (c == '@' && i > 0 && i + 1 < n) {
            buf_adds(b, "it contains an e-mail address, and the classifier blanks addresses "
                        "before the rules run");
            return;
        }
        if (c == '"' && i + 3 < n && memcmp(s + i + 1, "...", 3) == 0) {
            buf_adds(b, "it contains a quoted program or file recipient (\"...\"...), which "
                        "the classifier blanks like an address");
            return;
        }
        if (c == 0) {
            buf_adds(b, "it needs a NUL byte, which a diagnostic never holds");
            return;
        }
    }
    buf_adds(b, "its example ");
    lint_quote(b, s, n);
    buf_adds(b, " no longer matches once the classifier has normalised it");
}

/* ---- the checks ---- */

static size_t
lint_index(const struct bnc_ruleset *rs, const struct rule_info *ri)
{
    return (size_t)(ri - rules_get(rs, 0));
}

/* Does rule j match s (as written with raw, else in the classifier's normal form)? */
static bool
lint_matches(const struct bnc_ruleset *rs, const char *s, size_t n, bool raw, size_t j,
             const struct rule_info **list, size_t cap)
{
    size_t k, got = 0;
    bnc_status st = raw ? rules_match_all(rs, s, n, list, cap, &got)
                        : classify_rules_matching(rs, s, list, cap, &got);
    if (st != BNC_OK) {
        return false;
    }
    for (k = 0; k < got; k++) {
        if (lint_index(rs, list[k]) == j) {
            return true;
        }
    }
    return false;
}

/* hard/soft as the rule gives it: a bare reason is hard only for the reasons DESIGN §5 names
 * (the 5xx-only condition of notaccept is the classifier's, not the rule's). */
static int
lint_hardness(const struct rule_info *ri)
{
    if (ri->hard >= 0) {
        return ri->hard;
    }
    return ri->reason == BNC_R_USERUNKNOWN || ri->reason == BNC_R_HOSTUNKNOWN ||
           ri->reason == BNC_R_HASMOVED || ri->reason == BNC_R_NOTACCEPT;
}

static bool
lint_same_verdict(const struct rule_info *a, const struct rule_info *b)
{
    return a->reason == b->reason && lint_hardness(a) == lint_hardness(b);
}

static void
lint_note(struct lint_run *lr, const struct rule_info *ri, const char *why)
{
    lr->notes++;
    if (lr->verbose) {
        lint_print_rule(lr, ri, "note", why);
    }
}

/* Another rule, as "origin:line ('text')". */
static void
lint_other(struct lint_run *lr, struct buf *b, const struct rule_info *o)
{
    buf_printf(b, "%s:%u (", o->origin, o->line);
    lint_rule_text(lr, o, b);
    buf_adds(b, ")");
}

static void
lint_check_dup(struct lint_run *lr, struct lint_rule *all, size_t j, bool *dup_out)
{
    const struct rule_info *ri = rules_get(lr->rs, j), *o;
    struct buf b;
    size_t i;
    char v1[64], v2[64];

    *dup_out = false;
    for (i = 0; i < j; i++) {
        if (strcmp(all[i].key, all[j].key) == 0) {
            break;
        }
    }
    if (i == j) {
        return;
    }
    *dup_out = true;
    o = rules_get(lr->rs, i);
    buf_init(&b, 0);
    buf_adds(&b, "the same pattern as ");
    lint_other(lr, &b, o);
    rules_verdict_text(o, v1, sizeof(v1));
    rules_verdict_text(ri, v2, sizeof(v2));
    if (lint_same_verdict(o, ri)) {
        buf_printf(&b, "; verdicts agree (%s), so this line is redundant", v1);
    } else {
        buf_printf(&b, "; verdicts conflict (%s there, %s here) and the earlier one wins", v1, v2);
    }
    if (o->tier == ri->tier) {
        lr->dups++;
        lint_print_rule(lr, ri, "duplicate", b.p);
    } else {
        buf_adds(&b, " (a user rule overriding a built-in one)");
        lint_note(lr, ri, b.p);
    }
    buf_free(&b);
}

/* Never-matching; true when reported. */
static bool
lint_check_never(struct lint_run *lr, struct lint_rule *r, size_t j)
{
    const struct rule_info *ri = rules_get(lr->rs, j);
    struct buf b;
    size_t k;
    bool any_raw = false, any_anchor = false;

    for (k = 0; k < r->ex.n; k++) {
        if (r->norm[k]) {
            return false;
        }
        any_raw = any_raw || r->raw[k];
        any_anchor = any_anchor || r->anchored_ok[k];
    }
    buf_init(&b, 0);
    if (any_raw) {
        for (k = 0; k < r->ex.n && !r->raw[k]; k++) {
        }
        lint_why_normal(r->ex.s[k], r->ex.len[k], &b);
    } else if (!any_anchor && r->ex.n > 0) {
        buf_adds(&b, "an anchor or word boundary (^, $, \\b, \\B) cannot hold where it stands");
    } else {
        buf_adds(&b, "not checked: no example the lint built matches the rule");
        lint_note(lr, ri, b.p);
        buf_free(&b);
        return true;
    }
    lr->never++;
    lint_print_rule(lr, ri, "never-matching", b.p);
    buf_free(&b);
    return true;
}

static void
lint_check_shadow(struct lint_run *lr, struct lint_rule *r, size_t j, unsigned *count,
                  const struct rule_info **list, size_t cap)
{
    const struct rule_info *ri = rules_get(lr->rs, j), *o;
    size_t k, i, nvalid = 0, got;
    struct buf b;
    char v1[64], v2[64];

    if (j == 0 || r->trunc) {
        return;
    }
    memset(count, 0, j * sizeof(*count));
    for (k = 0; k < r->ex.n; k++) {
        if (!r->norm[k]) {
            continue;
        }
        nvalid++;
        if (classify_rules_matching(lr->rs, r->ex.s[k], list, cap, &got) != BNC_OK) {
            return;
        }
        for (i = 0; i < got; i++) {
            size_t x = lint_index(lr->rs, list[i]);
            if (x < j) {
                count[x]++;
            }
        }
    }
    if (nvalid == 0) {
        return;
    }
    for (i = 0; i < j && count[i] != nvalid; i++) {
    }
    if (i == j) {
        return;
    }
    o = rules_get(lr->rs, i);
    buf_init(&b, 0);
    buf_adds(&b, "never wins: the earlier ");
    lint_other(lr, &b, o);
    buf_adds(&b, nvalid == 1 ? " matches its example " : " matches all its examples ");
    for (k = 0, got = 0; k < r->ex.n; k++) {
        if (r->norm[k]) {
            if (got++ > 0) {
                buf_adds(&b, ", ");
            }
            if (got > 4) {
                buf_adds(&b, "...");
                break;
            }
            lint_quote(&b, r->ex.s[k], r->ex.len[k]);
        }
    }
    rules_verdict_text(o, v1, sizeof(v1));
    rules_verdict_text(ri, v2, sizeof(v2));
    if (lint_same_verdict(o, ri)) {
        buf_printf(&b, "; verdicts agree (%s)", v1);
    } else {
        buf_printf(&b, "; verdicts conflict (%s there, %s here)", v1, v2);
    }
    if (o->tier == ri->tier) {
        lr->shadowed++;
        lint_print_rule(lr, ri, "shadowed", b.p);
    } else {
        buf_adds(&b, " (a user rule overriding a built-in one)");
        lint_note(lr, ri, b.p);
    }
    buf_free(&b);
}

/* A status code in the rule's example that gives the same verdict alone: a note. */
static void
lint_check_status(struct lint_run *lr, struct lint_rule *r, size_t j)
{
    const struct rule_info *ri = rules_get(lr->rs, j);
    size_t k, i;

    if (ri->reason == BNC_R_UNDEFINED || ri->hard >= 0) {
        return;
    }
    for (k = 0; k < r->ex.n; k++) {
        const char *s = r->ex.s[k];
        size_t n = r->ex.len[k];
        if (!r->norm[k]) {
            continue;
        }
        for (i = 0; i + 5 <= n; i++) {
            char code[16];
            size_t e = i + 2, d;
            if ((s[i] != '4' && s[i] != '5') || s[i + 1] != '.' ||
                (i > 0 && (lint_is_word((unsigned char)s[i - 1]) || s[i - 1] == '.'))) {
                continue;
            }
            for (d = 0; e < n && s[e] >= '0' && s[e] <= '9' && d < 3; e++, d++) {
            }
            if (d == 0 || e >= n || s[e] != '.') {
                continue;
            }
            e++;
            for (d = 0; e < n && s[e] >= '0' && s[e] <= '9' && d < 3; e++, d++) {
            }
            if (d == 0 || (e < n && (s[e] >= '0' && s[e] <= '9'))) {
                continue;
            }
            snprintf(code, sizeof(code), "%.*s", (int)(e - i), s + i);
            if (classify_reason_from_status(code) == ri->reason) {
                char why[160];
                snprintf(why, sizeof(why),
                         "its verdict (%s) is what the status code %s alone already gives",
                         bnc_reason_name(ri->reason), code);
                lint_note(lr, ri, why);
            }
            return;
        }
    }
}

static void
lint_all(struct lint_run *lr)
{
    const struct bnc_ruleset *rs = lr->rs;
    size_t n = rules_count(rs), j, k;
    struct lint_rule *all = xcalloc(n ? n : 1, sizeof(*all));
    const struct rule_info **list = xcalloc(n ? n : 1, sizeof(*list));
    unsigned *count = xcalloc(n ? n : 1, sizeof(*count));

    for (j = 0; j < n; j++) {
        struct lint_rule *r = &all[j];
        lint_expand(rules_expr(rs, j), r);
        for (k = 0; k < r->ex.n; k++) {
            r->raw[k] = lint_matches(rs, r->ex.s[k], r->ex.len[k], true, j, list, n);
            r->norm[k] = r->raw[k] && lint_matches(rs, r->ex.s[k], r->ex.len[k], false, j, list, n);
        }
    }
    for (j = 0; j < n; j++) {
        struct lint_rule *r = &all[j];
        const struct rule_info *ri = rules_get(rs, j);
        bool dup;
        lint_check_dup(lr, all, j, &dup);
        if (r->byte_class) {
            lint_print_rule(lr, ri, "error",
                            "a [...] class lists a letter outside ASCII, which matches one byte "
                            "of it and never the letter: write the letters as alternatives, "
                            "(o|\xc3\xb3)");
            lr->errors++;
        }
        if (r->bad != NULL) {
            char why[160];
            snprintf(why, sizeof(why), "not checked for shadowing or matching: %s", r->bad);
            lint_note(lr, ri, why);
            continue;
        }
        if (lint_check_never(lr, r, j)) {
            continue;
        }
        if (!dup) {
            lint_check_shadow(lr, r, j, count, list, n);
        }
        if (lr->verbose) {
            lint_check_status(lr, r, j);
        }
    }
    for (j = 0; j < n; j++) {
        sset_free(&all[j].ex);
        free(all[j].key);
    }
    free(all);
    free(list);
    free(count);
}

static void
lint_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced rules lint [--no-builtin] [--verbose] [FILE ...]\n\n"
                "Check the rules as bounced loads them: the configured rules (rules.dir,\n"
                "rules.file), then each FILE, then the built-in default.rules. One line per\n"
                "finding, 'ORIGIN:LINE: KIND: RULE: explanation', where KIND is\n"
                "  error           the line does not load (syntax, unknown reason, bad regex\n"
                "                  flags, a pattern that does not compile)\n"
                "  duplicate       the same pattern as an earlier rule (after the case folding\n"
                "                  and white-space rewrite the compiler applies)\n"
                "  shadowed        an earlier rule matches every example of this one, so it\n"
                "                  never wins (the first matching rule decides)\n"
                "  never-matching  no diagnostic can match it once the classifier has\n"
                "                  normalised the text (white space, U+2019, blanked addresses)\n"
                "                  or its anchors cannot hold\n"
                "  --no-builtin    only the FILEs: no configured or built-in rules\n"
                "  -v, --verbose   also notes: user rules that override built-in ones, rules\n"
                "                  whose verdict the status code alone gives, unchecked rules\n\n"
                "exit: 0 nothing found, 1 findings, 2 usage error or unreadable FILE,\n"
                "3 the rules cannot be compiled\n");
}

/* The options of `rules lint` into lr and *builtin; -1 to go on, else the exit code. */
static int
lint_opts(int argc, char **argv, struct lint_run *lr, bool *builtin)
{
    static const struct option opts[] = {
        {"no-builtin", no_argument, NULL, 'n'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            *builtin = false;
            break;
        case 'v':
            lr->verbose = true;
            break;
        case 'h':
            lint_usage(stdout);
            return CLI_EXIT_OK;
        default:
            lint_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    return -1;
}

/* Lint the compiled set and print the findings' summary; the exit code. */
static int
lint_report(struct lint_run *lr, const struct bnc_ruleset *rs)
{
    lr->rs = rs;
    lint_all(lr);
    printf("%zu rules: %u errors, %u duplicates, %u shadowed, %u never-matching", rules_count(rs),
           lr->errors, lr->dups, lr->shadowed, lr->never);
    if (lr->notes > 0) {
        printf(" (%u notes%s)", lr->notes, lr->verbose ? "" : "; --verbose shows them");
    }
    printf("\n");
    return lr->errors + lr->dups + lr->shadowed + lr->never > 0 ? CLI_EXIT_NEG : CLI_EXIT_OK;
}

int rules_lint(struct cli_globals *g, int argc, char **argv);

int
rules_lint(struct cli_globals *g, int argc, char **argv)
{
    struct rule_src files[LINT_FILES_MAX];
    struct bnc_ruleset *rs = NULL;
    struct lint_errs le;
    struct lint_run lr;
    size_t nfiles = 0, i;
    bool builtin = true;
    int ret = CLI_EXIT_OK;
    bnc_status st;

    memset(&lr, 0, sizeof(lr));
    lr.verbose = g->verbose;
    if ((ret = lint_opts(argc, argv, &lr, &builtin)) >= 0) {
        return ret;
    }
    ret = CLI_EXIT_OK;
    if (!builtin && optind >= argc) {
        fprintf(stderr, "bounced rules lint: --no-builtin needs a FILE\n");
        return CLI_EXIT_USAGE;
    }
    if (argc - optind > LINT_FILES_MAX) {
        fprintf(stderr, "bounced rules lint: at most %d files\n", LINT_FILES_MAX);
        return CLI_EXIT_USAGE;
    }
    for (i = (size_t)optind; i < (size_t)argc; i++) {
        char err[512];
        if (load_rule_file(argv[i], &files[nfiles], err, sizeof(err)) != BNC_OK) {
            fprintf(stderr, "bounced rules lint: %s: %s\n", argv[i], err);
            ret = CLI_EXIT_USAGE;
            goto out;
        }
        lr.src[lr.nsrc].origin = files[nfiles].origin;
        lr.src[lr.nsrc].p = files[nfiles].text;
        lr.src[lr.nsrc].len = strlen(files[nfiles].text);
        lr.nsrc++;
        nfiles++;
    }
    if (builtin) {
        lr.src[lr.nsrc].origin = "default.rules";
        lr.src[lr.nsrc].p = (const char *)bnc_default_rules;
        lr.src[lr.nsrc].len = bnc_default_rules_len;
        lr.nsrc++;
    }
    le.lr = &lr;
    buf_init(&le.out, 0);
    st = builtin ? rules_build(&g->cfg, files, nfiles, lint_on_error, &le, &rs)
                 : rules_build_only(files, nfiles, lint_on_error, &le, &rs);
    if (le.out.len > 0) {
        fwrite(le.out.p, 1, le.out.len, stdout);
    }
    buf_free(&le.out);
    if (st != BNC_OK) {
        fprintf(stderr, "bounced rules lint: the rules cannot be compiled: %s\n", bnc_strerror(st));
        ret = CLI_EXIT_CONFIG;
        goto out;
    }
    ret = lint_report(&lr, rs);
out:
    rules_free(rs);
    for (i = 0; i < lr.nsrc; i++) {
        if (lr.src[i].own.text != NULL) {
            load_rule_src_free(&lr.src[i].own);
        }
    }
    for (i = 0; i < nfiles; i++) {
        load_rule_src_free(&files[i]);
    }
    return ret;
}
