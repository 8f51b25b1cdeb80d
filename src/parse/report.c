/*
 * report.c - the report under construction: recipients, arena string helpers, the public
 * bnc_report_* accessors and the parse limits taken from the configuration table.
 *
 * Does not parse anything itself (message.c, dsn.c and formats/ fill the report).
 * LIMITS: recipients per report (limits.dsn_recipients, BNC_PF_TOO_MANY_RCPTS past it),
 * diagnostic length (limits.diagnostic_length, BNC_PF_DIAG_TRUNCATED), and the arena cap
 * (limits.report_memory, BNC_PF_TRUNCATED when an allocation fails).
 * Ownership: every string lives in the report's arena and dies with bnc_report_free().
 */
#include "parse/parse.h"

#include <string.h>

#include "core/cfg.h"

static const char empty[1] = "";

void
parse_limits_default(struct parse_limits *l)
{
    l->message_size = 10u * 1024u * 1024u;
    l->header_block = 100u * 1024u;
    l->mime_depth = 32;
    l->mime_parts = 100;
    l->boundary = 2048;
    l->dsn_rcpts = 1000;
    l->diagnostic = 4096;
    l->report_memory = 64u * 1024u * 1024u;
    l->json_depth = 32;
}

void
parse_limits_from_config(struct parse_limits *l, const struct bnc_config *cfg)
{
    parse_limits_default(l);
    if (cfg == NULL) {
        return;
    }
    l->message_size = cfg->limit_message_size;
    l->header_block = cfg->limit_header_block;
    l->mime_depth = cfg->limit_mime_depth > 0 ? (size_t)cfg->limit_mime_depth : 1;
    l->mime_parts = cfg->limit_mime_parts > 0 ? (size_t)cfg->limit_mime_parts : 1;
    l->boundary = cfg->limit_boundary;
    l->dsn_rcpts = cfg->limit_dsn_rcpts > 0 ? (size_t)cfg->limit_dsn_rcpts : 1;
    l->diagnostic = cfg->limit_diagnostic;
    l->report_memory = cfg->limit_report_memory;
    l->json_depth = cfg->limit_json_depth > 0 ? (size_t)cfg->limit_json_depth : 1;
}

struct bnc_rcpt *
report_add_rcpt(struct bnc_report *r)
{
    struct bnc_rcpt *rc;

    if (r->nrcpts >= r->limits.dsn_rcpts) {
        r->flags |= BNC_PF_TOO_MANY_RCPTS;
        return NULL;
    }
    if (r->nrcpts == r->rcpt_cap) {
        size_t ncap = r->rcpt_cap ? r->rcpt_cap * 2 : 4;
        struct bnc_rcpt *n;

        if (ncap > r->limits.dsn_rcpts) {
            ncap = r->limits.dsn_rcpts;
        }
        n = arena_alloc(r->arena, ncap * sizeof(*n));
        if (n == NULL) {
            r->flags |= BNC_PF_TRUNCATED;
            return NULL;
        }
        if (r->nrcpts) {
            memcpy(n, r->rcpts, r->nrcpts * sizeof(*n));
        }
        r->rcpts = n;
        r->rcpt_cap = ncap;
    }
    rc = &r->rcpts[r->nrcpts++];
    memset(rc, 0, sizeof(*rc));
    rc->recipient = empty;
    rc->original_recipient = empty;
    rc->action = BNC_ACTION_NONE;
    rc->reason = BNC_R_UNDEFINED;
    rc->reason_hint = BNC_R_UNDEFINED;
    rc->hard = -1;
    rc->kind = BNC_KIND_UNKNOWN;
    rc->diagnostic = empty;
    rc->diagnostic_type = empty;
    rc->remote_mta = empty;
    rc->reporting_mta = empty;
    rc->date = empty;
    rc->origin = empty;
    rc->message_id = empty;
    rc->original_message_id = empty;
    rc->feedback_type = empty;
    rc->decided_by = empty;
    rc->smtp_command = empty;
    rc->status_comment = empty;
    rc->notice = empty;
    return rc;
}

static bool
ascii_eq_ci(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca >= 'A' && ca <= 'Z') {
            ca = (unsigned char)(ca + 32);
        }
        if (cb >= 'A' && cb <= 'Z') {
            cb = (unsigned char)(cb + 32);
        }
        if (ca != cb) {
            return false;
        }
        if (ca == '\0') {
            return true;
        }
    }
}

struct bnc_rcpt *
report_find_rcpt(struct bnc_report *r, const char *addr)
{
    size_t i;

    if (addr == NULL || addr[0] == '\0') {
        return NULL;
    }
    for (i = 0; i < r->nrcpts; i++) {
        if (r->rcpts[i].recipient != NULL && ascii_eq_ci(r->rcpts[i].recipient, addr)) {
            return &r->rcpts[i];
        }
    }
    return NULL;
}

const char *
report_strndup(struct bnc_report *r, const char *p, size_t n)
{
    char *s;

    if (p == NULL || n == 0) {
        return empty;
    }
    s = arena_strndup(r->arena, p, n);
    if (s == NULL) {
        r->flags |= BNC_PF_TRUNCATED;
        return empty;
    }
    return s;
}

/* White space of a diagnostic: collapsed to one space (NUL too: the result is a C string). */
static const bool diag_ws[256] = {
    [' '] = true, ['\t'] = true, ['\r'] = true, ['\n'] = true, ['\0'] = true};

/* Are p[0..16) copied as they are by report_diag's loop: no white space but single spaces
 * between other bytes (none first or last, no two together)? SSE2; false elsewhere. */
static inline bool
diag_plain16(const char *p)
{
#if defined(__SSE2__)
    unsigned other, sp = mem_ws16(p, &other);
    return other == 0 && (sp & 0x8001u) == 0 && (sp & (sp >> 1)) == 0;
#else
    (void)p;
    return false;
#endif
}

const char *
report_diag(struct bnc_report *r, const char *p, size_t n)
{
    size_t lim = r->limits.diagnostic, i, o = 0;
    char *s;
    bool sp = false;

    if (p == NULL || n == 0) {
        return empty;
    }
    if (n > lim * 4 + 64) {
        n = lim * 4 + 64; /* white space collapses at most this much */
    }
    s = arena_alloc(r->arena, (n < lim ? n : lim) + 1);
    if (s == NULL) {
        r->flags |= BNC_PF_TRUNCATED;
        return empty;
    }
    /* runs of other bytes are copied whole; each white-space run becomes one space */
    for (i = 0; i < n;) {
        size_t j = i, run;
        if (i + 16 <= n && o + 17 < lim && diag_plain16(p + i)) {
            /* sixteen bytes that are their own output (see diag_plain16) */
            if (sp) {
                s[o++] = ' ';
                sp = false;
            }
            memcpy(s + o, p + i, 16);
            o += 16;
            i += 16;
            continue;
        }
        while (j < n && !diag_ws[(unsigned char)p[j]]) {
            j++;
        }
        run = j - i;
        if (run > 0) {
            if (sp) {
                if (o + 1 >= lim) {
                    r->flags |= BNC_PF_DIAG_TRUNCATED;
                    break;
                }
                s[o++] = ' ';
                sp = false;
            }
            if (run > lim - o) {
                memcpy(s + o, p + i, lim - o);
                o = lim;
                r->flags |= BNC_PF_DIAG_TRUNCATED;
                break;
            }
            memcpy(s + o, p + i, run);
            o += run;
        }
        while (j < n && diag_ws[(unsigned char)p[j]]) {
            sp = o > 0;
            j++;
        }
        i = j;
    }
    /* never end inside a UTF-8 sequence after a cut */
    if ((r->flags & BNC_PF_DIAG_TRUNCATED) && o > 0) {
        size_t k = o, need;
        unsigned char lead;
        while (k > 0 && ((unsigned char)s[k - 1] & 0xC0) == 0x80) {
            k--;
        }
        if (k > 0) {
            lead = (unsigned char)s[k - 1];
            need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
            if (o - (k - 1) < need) {
                o = k - 1;
            }
        }
    }
    s[o] = '\0';
    return s;
}

unsigned
bnc_report_flags(const bnc_report *r)
{
    return r ? r->flags : 0;
}

size_t
bnc_report_rcpt_count(const bnc_report *r)
{
    return r ? r->nrcpts : 0;
}

const struct bnc_rcpt *
bnc_report_rcpt(const bnc_report *r, size_t i)
{
    if (r == NULL || i >= r->nrcpts) {
        return NULL;
    }
    return &r->rcpts[i];
}

const char *
bnc_report_header(const bnc_report *r, const char *name)
{
    if (r == NULL || name == NULL || r->mime.nparts == 0) {
        return NULL;
    }
    return mime_header(r->arena, r->mime.parts[0].header, name);
}

bool
report_top_raw(const struct bnc_report *r, enum report_top k, struct bnc_slice *out)
{
    if (r == NULL || k >= REPORT_TOP_N || !r->top_found[k]) {
        return false;
    }
    *out = r->top_raw[k];
    return true;
}

const char *
report_orig_header(const struct bnc_report *r, const char *name)
{
    if (r == NULL || name == NULL || r->orig_headers.len == 0) {
        return NULL;
    }
    return mime_header(r->arena, r->orig_headers, name);
}

void
bnc_report_free(bnc_report *r)
{
    struct arena *a;

    if (r == NULL) {
        return;
    }
    a = r->arena;
    arena_free(a); /* the report itself lives in its arena */
}
