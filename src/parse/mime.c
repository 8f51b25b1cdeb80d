/*
 * mime.c - bounded, zero-copy MIME scanner: one pass over the message, a flat part list of
 * slices into the caller's buffer, and on-demand helpers (header lookup with unfolding and
 * RFC 2047 decoding, transfer decoding, charset conversion) that allocate in an arena.
 *
 * Does not interpret bounce semantics (dsn.c, formats/) and never modifies the input.
 * Lenient by design: a missing, wrong or over-long boundary, a missing closing delimiter,
 * LF-only line ends, NUL bytes, headers without a blank line: flags on the part/message and
 * the body is kept as text; the scanner itself only fails when the arena is exhausted.
 * STANDARDS: RFC 5322 §2.2 (header fields, folding), RFC 2045 §5-6 (Content-Type,
 * Content-Transfer-Encoding, quoted-printable, base64), RFC 2046 §5.1 (multipart, boundary
 * delimiters, transport padding), RFC 2047 (encoded words), RFC 6532 / RFC 6533
 * (message/global), RFC 6522 (multipart/report, text/rfc822-headers).
 * LIMITS: limits.header_block (a longer header block or header line is cut at the limit,
 * BNC_PF_LONG_HEADER), limits.mime_depth (deeper entities are kept as opaque bodies,
 * BNC_PF_NESTING), limits.mime_parts (BNC_PF_TOO_MANY_PARTS), limits.boundary (a longer
 * boundary parameter is ignored, BNC_PF_NO_BOUNDARY). Linear time: each byte of a multipart
 * body is looked at by memchr/mem_find once per nesting level at most.
 * Ownership: parts and decoded data live in the arena; slices borrow the input buffer.
 */
#include "parse/parse.h"

#include <string.h>

#include "core/utf8.h"

#define MIME_EW_MAX 4096 /* longest single RFC 2047 encoded word decoded */

struct mime_scan_state {
    struct arena *a;
    const struct parse_limits *lim;
    struct mime_msg *m;
    size_t cap;
    bool failed;
};

static int mime_entity(struct mime_scan_state *st, const char *p, const char *end, int depth,
                       int parent);
static void mime_ctype(struct mime_part *pt, struct bnc_slice v);
static const char *mime_find_delim(const char *p, const char *end, struct bnc_slice b, bool *close,
                                   const char **next);
static size_t b64_decode(const char *in, size_t n, char *out, bool *bad);
static size_t qp_decode(const char *in, size_t n, char *out, bool *bad);
static bool is_wsp(char c);

static const char lit_text[] = "text";
static const char lit_plain[] = "plain";

bnc_status
mime_scan(struct arena *a, const struct parse_limits *lim, const char *msg, size_t len,
          struct mime_msg *out)
{
    struct mime_scan_state st;

    memset(out, 0, sizeof(*out));
    st.a = a;
    st.lim = lim;
    st.m = out;
    st.cap = 0;
    st.failed = false;
    if (memchr(msg, '\0', len) != NULL) {
        out->flags |= BNC_PF_BINARY;
    }
    mime_entity(&st, msg, msg + len, 0, -1);
    if (st.failed) {
        out->flags |= BNC_PF_TRUNCATED;
        return out->nparts ? BNC_OK : BNC_ELIMIT;
    }
    return BNC_OK;
}

static bool
is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* Add a part; NULL at the part limit or when the arena is exhausted. */
static struct mime_part *
mime_new_part(struct mime_scan_state *st)
{
    struct mime_msg *m = st->m;

    if (m->nparts >= st->lim->mime_parts) {
        m->flags |= BNC_PF_TOO_MANY_PARTS;
        return NULL;
    }
    if (m->nparts == st->cap) {
        size_t ncap = st->cap ? st->cap * 2 : 8;
        struct mime_part *n;
        if (ncap > st->lim->mime_parts) {
            ncap = st->lim->mime_parts;
        }
        n = arena_alloc(st->a, ncap * sizeof(*n));
        if (n == NULL) {
            st->failed = true;
            return NULL;
        }
        if (m->nparts) {
            memcpy(n, m->parts, m->nparts * sizeof(*n));
        }
        m->parts = n;
        st->cap = ncap;
    }
    memset(&m->parts[m->nparts], 0, sizeof(m->parts[0]));
    return &m->parts[m->nparts++];
}

/* Does the line at p look like the start of a header field ("Name:")? */
static bool
mime_is_field_start(const char *p, const char *end)
{
    const char *q = p;

    while (q < end && q - p < 128) {
        unsigned char c = (unsigned char)*q;
        if (c == ':') {
            return q > p;
        }
        if (c <= ' ' || c >= 127) {
            /* "Name :" with white space before the colon is tolerated */
            if (is_wsp((char)c) && q > p) {
                while (q < end && is_wsp(*q)) {
                    q++;
                }
                return q < end && *q == ':';
            }
            return false;
        }
        q++;
    }
    return false;
}

/* The first '\n' in [p, lim) that a blank line follows ("\n", or "\r\n" read up to end), or
 * NULL: where a header block ends, found sixteen positions at a time (SSE2) instead of a
 * line at a time. */
static const char *
mime_blank_after(const char *p, const char *lim, const char *end)
{
#if defined(__SSE2__)
    const __m128i nl = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
    while (lim - p >= 16 && end - p >= 18) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));
        __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(p + 2));
        __m128i blank = _mm_or_si128(_mm_cmpeq_epi8(b, nl),
                                     _mm_and_si128(_mm_cmpeq_epi8(b, cr), _mm_cmpeq_epi8(c, nl)));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, nl), blank));
        if (m != 0) {
            return p + __builtin_ctz(m);
        }
        p += 16;
    }
#endif
    for (; p < lim; p++) {
        if (*p == '\n' && p + 1 < end &&
            (p[1] == '\n' || (p[1] == '\r' && p + 2 < end && p[2] == '\n'))) {
            return p;
        }
    }
    return NULL;
}

/*
 * Split [p, end) into header block and body. The header ends at the first empty line; a
 * header that does not start with a field is empty. Over the limit: cut, flag.
 */
static void
mime_split_header(struct mime_scan_state *st, const char *p, const char *end, struct mime_part *pt)
{
    const char *line = p, *lim_end;
    size_t hlim = st->lim->header_block;

    if (p >= end || *p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
        /* empty header block */
        pt->header = slice_make(p, 0);
        if (p < end) {
            p += (*p == '\n') ? 1 : 2;
        }
        pt->body = slice_make(p, (size_t)(end - p));
        return;
    }
    if (!mime_is_field_start(p, end)) {
        pt->header = slice_make(p, 0);
        pt->body = slice_make(p, (size_t)(end - p));
        return;
    }
    lim_end = (size_t)(end - p) > hlim ? p + hlim : end;
    {
        /* the common case: a blank line ends the block within the limit (the walk below
         * would stop at the same line end) */
        const char *bl = mime_blank_after(p, lim_end, end);
        if (bl != NULL) {
            const char *next = bl + 1;
            pt->header = slice_make(p, (size_t)(next - p));
            next += (*next == '\n') ? 1 : 2;
            pt->body = slice_make(next, (size_t)(end - next));
            return;
        }
    }
    for (;;) {
        const char *nl = mem_nl(line, lim_end);
        const char *next;
        if (nl == NULL) {
            if (lim_end < end) {
                /* header block or header line over the limit: cut at the last line end */
                pt->flags |= BNC_PF_LONG_HEADER;
                st->m->flags |= BNC_PF_LONG_HEADER;
                pt->header = slice_make(p, (size_t)(line - p));
                nl = memchr(lim_end, '\n', (size_t)(end - lim_end));
                /* the rest of the oversized block is skipped up to its blank line, if any */
                while (nl != NULL && nl + 1 < end) {
                    const char *q = nl + 1;
                    if (*q == '\n') {
                        q++;
                        pt->body = slice_make(q, (size_t)(end - q));
                        return;
                    }
                    if (*q == '\r' && q + 1 < end && q[1] == '\n') {
                        q += 2;
                        pt->body = slice_make(q, (size_t)(end - q));
                        return;
                    }
                    nl = memchr(q, '\n', (size_t)(end - q));
                }
                pt->body = slice_make(end, 0);
                return;
            }
            /* headers only, no body */
            pt->header = slice_make(p, (size_t)(end - p));
            pt->body = slice_make(end, 0);
            return;
        }
        next = nl + 1;
        if (next < end && (*next == '\n' || (*next == '\r' && next + 1 < end && next[1] == '\n'))) {
            pt->header = slice_make(p, (size_t)(next - p));
            next += (*next == '\n') ? 1 : 2;
            pt->body = slice_make(next, (size_t)(end - next));
            return;
        }
        if (next >= end) {
            pt->header = slice_make(p, (size_t)(end - p));
            pt->body = slice_make(end, 0);
            return;
        }
        line = next;
    }
}

/* Does the line at ln hold a parameter of the Content-Type value [v, ln) that lost its
 * folding white space ("...; differences=Content-Type;\nboundary=\"b\"")? Only after a value
 * that ends with ';', and only a token directly followed by '='. */
static bool
mime_unfolded_param(const char *v, const char *ln, const char *end)
{
    const char *e = ln, *t = ln;

    while (e > v && (e[-1] == '\n' || e[-1] == '\r' || is_wsp(e[-1]))) {
        e--;
    }
    if (e == v || e[-1] != ';') {
        return false;
    }
    while (t < end && t - ln < 40 &&
           (((*t | 32) >= 'a' && (*t | 32) <= 'z') || (*t >= '0' && *t <= '9') || *t == '-')) {
        t++;
    }
    return t > ln && t < end && *t == '=';
}

/* Scan the header lines for Content-Type and Content-Transfer-Encoding in one pass. */
static void
mime_content_headers(struct mime_part *pt)
{
    const char *p = pt->header.p, *end = pt->header.p + pt->header.len;
    bool have_ct = false, have_cte = false;

    /* only lines starting with "Content-" matter: they are searched for (one pass) instead of
     * walking every line of a header that may hold dozens of Received fields */
    while (p < end && !(have_ct && have_cte)) {
        const char *hit = mem_find_ci(p, (size_t)(end - p), "content-", 8), *nl, *le;
        if (hit == NULL) {
            break;
        }
        nl = mem_nl(hit, end);
        le = nl ? nl + 1 : end;
        if (hit > pt->header.p && hit[-1] != '\n') {
            p = le; /* inside a line: the next candidate is on a later line */
            continue;
        }
        p = hit;
        if ((*p == 'C' || *p == 'c') && (size_t)(end - p) > 13 && (p[1] == 'o' || p[1] == 'O') &&
            (p[7] == '-')) {
            struct bnc_slice name = slice_make(p, (size_t)(le - p));
            bool ct = !have_ct && slice_prefix_ci(name, "content-type");
            bool cte = !have_cte && slice_prefix_ci(name, "content-transfer-encoding");
            if (ct || cte) {
                const char *q = p + (ct ? 12 : 25), *ve;
                while (q < le && is_wsp(*q)) {
                    q++;
                }
                if (q < le && *q == ':') {
                    q++;
                    /* extend over continuation lines */
                    ve = le;
                    while (ve < end && (is_wsp(*ve) || (ct && mime_unfolded_param(q, ve, end)))) {
                        const char *n2 = mem_nl(ve, end);
                        ve = n2 ? n2 + 1 : end;
                    }
                    if (ct) {
                        have_ct = true;
                        mime_ctype(pt, slice_make(q, (size_t)(ve - q)));
                    } else {
                        const char *s = q, *e;
                        while (s < ve && (is_wsp(*s) || *s == '\r' || *s == '\n')) {
                            s++;
                        }
                        e = s;
                        while (e<ve && * e> ' ' && *e != ';' && *e != '(' && *e != 127) {
                            e++;
                        }
                        if (e > s && *s == '"') {
                            s++;
                        }
                        if (e > s && e[-1] == '"') {
                            e--;
                        }
                        have_cte = true;
                        pt->encoding = slice_make(s, (size_t)(e - s));
                    }
                    le = ve;
                }
            }
        }
        p = le;
    }
    if (!have_ct || pt->type.len == 0) {
        pt->type = slice_make(lit_text, 4);
        pt->subtype = slice_make(lit_plain, 5);
    }
}

static const char *
skip_cfws(const char *p, const char *end)
{
    int depth = 0;

    while (p < end) {
        char c = *p;
        if (depth > 0) {
            if (c == '\\' && p + 1 < end) {
                p += 2;
                continue;
            }
            if (c == '(') {
                depth++;
            } else if (c == ')') {
                depth--;
            }
            p++;
            continue;
        }
        if (c == '(') {
            depth = 1;
            p++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            p++;
        } else {
            break;
        }
    }
    return p;
}

static bool
is_tspecial_end(char c)
{
    return c == ';' || c == '/' || c == '=' || c == '"' || c == '(' || (unsigned char)c <= ' ' ||
           c == ',';
}

/* Content-Type: type/subtype; name=value; name="quoted" */
static void
mime_ctype(struct mime_part *pt, struct bnc_slice v)
{
    const char *p = v.p, *end = v.p + v.len, *s;

    p = skip_cfws(p, end);
    s = p;
    while (p < end && !is_tspecial_end(*p)) {
        p++;
    }
    pt->type = slice_make(s, (size_t)(p - s));
    p = skip_cfws(p, end);
    if (p < end && *p == '/') {
        p = skip_cfws(p + 1, end);
        s = p;
        while (p < end && !is_tspecial_end(*p)) {
            p++;
        }
        pt->subtype = slice_make(s, (size_t)(p - s));
    }
    while (p < end) {
        struct bnc_slice name, val;
        const char *q = memchr(p, ';', (size_t)(end - p));
        if (q == NULL) {
            break;
        }
        p = skip_cfws(q + 1, end);
        s = p;
        while (p < end && !is_tspecial_end(*p)) {
            p++;
        }
        name = slice_make(s, (size_t)(p - s));
        p = skip_cfws(p, end);
        if (p >= end || *p != '=') {
            continue;
        }
        p = skip_cfws(p + 1, end);
        if (p < end && *p == '"') {
            s = ++p;
            while (p < end && *p != '"') {
                if (*p == '\\' && p + 1 < end) {
                    p++;
                }
                p++;
            }
            val = slice_make(s, (size_t)(p - s));
            if (p < end) {
                p++;
            }
        } else {
            s = p;
            while (p < end && *p != ';' && (unsigned char)*p > ' ') {
                p++;
            }
            val = slice_make(s, (size_t)(p - s));
        }
        if (slice_eq_ci(name, "boundary")) {
            if (pt->boundary.p == NULL) {
                pt->boundary = val;
            }
        } else if (slice_eq_ci(name, "charset")) {
            pt->charset = val;
        } else if (slice_eq_ci(name, "report-type")) {
            pt->report_type = val;
        }
    }
}

/*
 * Find the next boundary delimiter line "--b" at a line start in [p, end). *close is set for
 * "--b--". *next is where the following part starts. Returns the start of the line ending
 * just before the delimiter (i.e. where the previous part's content ends), or NULL.
 */
static const char *
mime_find_delim(const char *p, const char *end, struct bnc_slice b, bool *close, const char **next)
{
    const char *q = p; /* always a line start */
    /* A boundary of RFC 2046 length (at most 70) without a line end in it is searched for
     * (mem_find, one pass; a candidate position costs at most 70 byte compares), and only its
     * hits are tried as delimiter lines; otherwise every line start is tried. Either way each
     * line is passed once: a hit that is not "--b" at a line start resumes at the next line. */
    bool search = b.len <= 70 && memchr(b.p, '\n', b.len) == NULL;

    while (q < end) {
        const char *after, *nl, *hit;
        if ((size_t)(end - q) < b.len + 2) {
            return NULL;
        }
        if (search) {
            const char *s = mem_find(q + 2, (size_t)(end - q - 2), b.p, b.len);
            if (s == NULL) {
                return NULL;
            }
            q = s - 2; /* not before the line start q: the search began at q + 2 */
            if ((q > p && q[-1] != '\n') || q[0] != '-' || q[1] != '-') {
                nl = memchr(q, '\n', (size_t)(end - q));
                if (nl == NULL) {
                    return NULL;
                }
                q = nl + 1;
                continue;
            }
        } else if (q[0] != '-' || q[1] != '-' || memcmp(q + 2, b.p, b.len) != 0) {
            nl = memchr(q, '\n', (size_t)(end - q));
            if (nl == NULL) {
                return NULL;
            }
            q = nl + 1;
            continue;
        }
        hit = q;
        after = q + 2 + b.len;
        *close = false;
        if (end - after >= 2 && after[0] == '-' && after[1] == '-') {
            *close = true;
            after += 2;
        }
        /* transport padding only up to the line end */
        while (after < end && (is_wsp(*after) || *after == '\r')) {
            after++;
        }
        nl = after < end ? memchr(after, '\n', (size_t)(end - after)) : NULL;
        if (after < end && *after != '\n' && !*close) {
            /* "--b" followed by more text: a longer boundary, not ours */
            if (nl == NULL) {
                return NULL;
            }
            q = nl + 1;
            continue;
        }
        *next = nl ? nl + 1 : end;
        /* content ends before the CRLF/LF preceding the delimiter */
        if (hit > p && hit[-1] == '\n') {
            hit--;
            if (hit > p && hit[-1] == '\r') {
                hit--;
            }
        }
        return hit;
    }
    return NULL;
}

static int
mime_entity(struct mime_scan_state *st, const char *p, const char *end, int depth, int parent)
{
    struct mime_part *pt = mime_new_part(st);
    int idx;

    if (pt == NULL) {
        return -1;
    }
    idx = (int)(st->m->nparts - 1);
    pt->depth = depth;
    pt->parent = parent;
    mime_split_header(st, p, end, pt);
    mime_content_headers(pt);

    if (slice_eq_ci(pt->type, "multipart")) {
        struct bnc_slice b = pt->boundary;
        const char *q, *cend, *next;
        bool close = false;
        int found = 0;

        if (slice_trim(pt->body).len == 0) {
            return idx; /* headers only (text/rfc822-headers, a truncated copy): no parts */
        }
        if (b.len == 0 || b.len > st->lim->boundary) {
            st->m->parts[idx].flags |= BNC_PF_NO_BOUNDARY;
            st->m->flags |= BNC_PF_NO_BOUNDARY;
            return idx;
        }
        if ((size_t)depth + 1 > st->lim->mime_depth) {
            st->m->parts[idx].flags |= BNC_PF_NESTING;
            st->m->flags |= BNC_PF_NESTING;
            return idx;
        }
        q = pt->body.p;
        cend = pt->body.p + pt->body.len;
        /* preamble */
        if (mime_find_delim(q, cend, b, &close, &next) == NULL) {
            st->m->parts[idx].flags |= BNC_PF_NO_BOUNDARY;
            st->m->flags |= BNC_PF_NO_BOUNDARY;
            return idx;
        }
        q = next;
        while (!close && q < cend) {
            const char *pe = mime_find_delim(q, cend, b, &close, &next);
            if (pe == NULL) {
                /* no closing delimiter: the last part runs to the end */
                pe = cend;
                next = cend;
                close = true;
            }
            found++;
            if (mime_entity(st, q, pe, depth + 1, idx) < 0 && st->failed) {
                return idx;
            }
            if (st->m->nparts >= st->lim->mime_parts && !close) {
                st->m->flags |= BNC_PF_TOO_MANY_PARTS;
                return idx;
            }
            q = next;
        }
        (void)found;
        return idx;
    }
    if (slice_eq_ci(pt->type, "message") &&
        (slice_eq_ci(pt->subtype, "rfc822") || slice_eq_ci(pt->subtype, "global") ||
         slice_eq_ci(pt->subtype, "global-headers"))) {
        const char *bp = pt->body.p, *be = pt->body.p + pt->body.len;
        if ((size_t)depth + 1 > st->lim->mime_depth) {
            st->m->parts[idx].flags |= BNC_PF_NESTING;
            st->m->flags |= BNC_PF_NESTING;
            return idx;
        }
        if (pt->encoding.len && (slice_eq_ci(pt->encoding, "base64") ||
                                 slice_eq_ci(pt->encoding, "quoted-printable"))) {
            struct bnc_slice d;
            if (mime_part_decoded(st->a, pt, &d) != BNC_OK) {
                st->failed = true;
                return idx;
            }
            bp = d.p;
            be = d.p + d.len;
        }
        /* a blank line or two before the embedded message is common */
        while (bp < be && (*bp == '\n' || (*bp == '\r' && bp + 1 < be && bp[1] == '\n'))) {
            bp += (*bp == '\n') ? 1 : 2;
        }
        mime_entity(st, bp, be, depth + 1, idx);
        return idx;
    }
    if (slice_eq_ci(pt->type, "text") && slice_eq_ci(pt->subtype, "rfc822-headers")) {
        const char *bp = pt->body.p, *be = pt->body.p + pt->body.len;
        if ((size_t)depth + 1 > st->lim->mime_depth) {
            st->m->parts[idx].flags |= BNC_PF_NESTING;
            st->m->flags |= BNC_PF_NESTING;
            return idx;
        }
        while (bp < be && (*bp == '\n' || (*bp == '\r' && bp + 1 < be && bp[1] == '\n'))) {
            bp += (*bp == '\n') ? 1 : 2;
        }
        mime_entity(st, bp, be, depth + 1, idx);
        return idx;
    }
    return idx;
}

bool
mime_field_value(const char *q, const char *le, const char *end, struct bnc_slice *out)
{
    const char *ve = le, *s;

    while (q < le && is_wsp(*q)) {
        q++;
    }
    if (q >= le || *q != ':') {
        return false;
    }
    s = q + 1;
    while (ve < end && is_wsp(*ve)) {
        const char *n2 = mem_nl(ve, end);
        ve = n2 ? n2 + 1 : end;
    }
    while (s < ve && is_wsp(*s)) {
        s++;
    }
    while (ve > s && (ve[-1] == '\n' || ve[-1] == '\r' || is_wsp(ve[-1]))) {
        ve--;
    }
    *out = slice_make(s, (size_t)(ve - s));
    return true;
}

/* The first field named `name`: the name is searched for (mem_find_ci, one pass) rather than
 * tried at every line start; a hit counts only at the start of a line (continuation lines
 * start with white space, so they never do) and when a colon follows the name. */
bool
mime_header_raw(struct bnc_slice header, const char *name, struct bnc_slice *out)
{
    const char *p = header.p, *end = header.p + header.len, *hit;
    size_t nlen = strlen(name);

    if (p == NULL || nlen == 0) {
        return false;
    }
    while (p < end && (hit = mem_find_ci(p, (size_t)(end - p), name, nlen)) != NULL) {
        const char *nl = mem_nl(hit, end);
        const char *le = nl ? nl + 1 : end;
        if (hit > header.p && hit[-1] != '\n') {
            p = le; /* inside a line: the field can only start on a later one */
            continue;
        }
        if (mime_field_value(hit + nlen, le, end, out)) {
            return true;
        }
        p = le;
    }
    return false;
}

static int
hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Try to decode one encoded word at p: "=?cs?X?text?=". Returns its end or NULL. */
static const char *
mime_ew(struct arena *a, const char *p, const char *end, struct bnc_slice *out)
{
    const char *cs, *cse, *t, *te, *q;
    char enc, *tmp;
    size_t n, i, o = 0;
    bool bad = false;

    if (end - p < 8 || p[0] != '=' || p[1] != '?') {
        return NULL;
    }
    cs = p + 2;
    cse = memchr(cs, '?', (size_t)(end - cs) < 80 ? (size_t)(end - cs) : 80);
    if (cse == NULL || cse == cs || end - cse < 4 || cse[2] != '?') {
        return NULL;
    }
    enc = cse[1];
    if (enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q') {
        return NULL;
    }
    t = cse + 3;
    te = NULL;
    for (q = t; q + 1 < end && q - t < MIME_EW_MAX; q++) {
        if (q[0] == '?' && q[1] == '=') {
            te = q;
            break;
        }
        if (*q == '\n' || *q == '\r' || ((enc == 'Q' || enc == 'q') && *q == ' ')) {
            break;
        }
    }
    if (te == NULL) {
        return NULL;
    }
    n = (size_t)(te - t);
    tmp = arena_alloc(a, n + 1);
    if (tmp == NULL) {
        return NULL;
    }
    if (enc == 'B' || enc == 'b') {
        o = b64_decode(t, n, tmp, &bad);
    } else {
        for (i = 0; i < n; i++) {
            unsigned char c = (unsigned char)t[i];
            int h, l;
            if (c == '_') {
                tmp[o++] = ' ';
            } else if (c == '=' && i + 2 < n && (h = hexval((unsigned char)t[i + 1])) >= 0 &&
                       (l = hexval((unsigned char)t[i + 2])) >= 0) {
                tmp[o++] = (char)(h * 16 + l);
                i += 2;
            } else {
                tmp[o++] = (char)c;
            }
        }
    }
    /* strip an RFC 2231 language suffix "charset*lang" */
    {
        const char *star = memchr(cs, '*', (size_t)(cse - cs));
        if (star != NULL) {
            cse = star;
        }
    }
    if (charset_to_utf8(a, cs, (size_t)(cse - cs), tmp, o, out) != BNC_OK) {
        return NULL;
    }
    return te + 2;
}

const char *
mime_header(struct arena *a, struct bnc_slice header, const char *name)
{
    struct bnc_slice raw;

    if (!mime_header_raw(header, name, &raw)) {
        return NULL;
    }
    return mime_decode_words(a, raw);
}

/* Does p[0..16) hold a byte that unfolding changes (tab, CR, LF)? SSE2; elsewhere always true
 * (every byte then goes through the byte loop). */
static inline bool
mime_fold16(const char *p)
{
#if defined(__SSE2__)
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    return _mm_movemask_epi8(_mm_or_si128(
               _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')),
                            _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))),
               _mm_cmpeq_epi8(v, _mm_set1_epi8('\n')))) != 0;
#else
    (void)p;
    return true;
#endif
}

const char *
mime_decode_words(struct arena *a, struct bnc_slice raw)
{
    const char *p = raw.p, *end = raw.p + raw.len, *run;
    char *out;
    size_t o = 0, cap;
    bool last_ew = false, has_ew, eight = false;

    has_ew = false;
    run = raw.len > 0 ? memchr(p, '=', raw.len) : NULL;
    while (run != NULL && run + 1 < end) {
        if (run[1] == '?') {
            has_ew = true;
            break;
        }
        run = memchr(run + 1, '=', (size_t)(end - run - 1));
    }
    eight = !utf8_ascii(p, raw.len);
    if (!has_ew && !eight) {
        /* common case: ASCII, only unfolding (CR and LF dropped, TAB as a space) */
        out = arena_alloc(a, raw.len + 1);
        if (out == NULL) {
            return NULL;
        }
        for (; p < end; p++) {
            char c;
            if (end - p >= 16 && !mime_fold16(p)) {
                memcpy(out + o, p, 16); /* (sixteen bytes without a tab, CR or LF) */
                o += 16;
                p += 15;
                continue;
            }
            c = *p;
            out[o] = c == '\t' ? ' ' : c;
            o += (c != '\r' && c != '\n');
        }
        out[o] = '\0';
        return out;
    }
    cap = raw.len * 3 + 16;
    out = arena_alloc(a, cap + 1);
    if (out == NULL) {
        return NULL;
    }
    while (p < end) {
        struct bnc_slice d;
        const char *e;
        if (p[0] == '=' && has_ew && (e = mime_ew(a, p, end, &d)) != NULL) {
            if (o + d.len > cap) {
                break;
            }
            memcpy(out + o, d.p, d.len);
            o += d.len;
            p = e;
            last_ew = true;
            /* white space between two encoded words is dropped */
            {
                const char *w = p;
                while (w < end && (is_wsp(*w) || *w == '\r' || *w == '\n')) {
                    w++;
                }
                if (w > p && w + 1 < end && w[0] == '=' && w[1] == '?') {
                    p = w;
                }
            }
            continue;
        }
        last_ew = false;
        /* a run of plain text up to the next "=?" */
        run = p;
        while (p < end && !(p[0] == '=' && p + 1 < end && p[1] == '?' && p != run)) {
            p++;
        }
        {
            struct bnc_slice conv;
            size_t i;
            if (charset_to_utf8(a, NULL, 0, run, (size_t)(p - run), &conv) != BNC_OK) {
                break;
            }
            for (i = 0; i < conv.len && o < cap; i++) {
                char c = conv.p[i];
                if (c == '\r' || c == '\n') {
                    continue;
                }
                out[o++] = c == '\t' ? ' ' : c;
            }
        }
    }
    (void)last_ew;
    out[o] = '\0';
    return out;
}

static const signed char b64_tab[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

/* Lenient base64: skips white space and junk, stops at '=' padding; out needs n bytes. */
static size_t
b64_decode(const char *in, size_t n, char *out, bool *bad)
{
    size_t i, o = 0;
    unsigned acc = 0;
    int bits = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        int v = b64_tab[c];
        if (v == 0) {
            if (c == '=') {
                /* padding ends the block; sloppy encoders start a new one on a new line */
                const char *nl = memchr(in + i, '\n', n - i);
                bits = 0;
                acc = 0;
                if (nl == NULL) {
                    break;
                }
                i = (size_t)(nl - in);
                continue;
            }
            if (c != '\r' && c != '\n' && c != ' ' && c != '\t') {
                *bad = true;
            }
            continue;
        }
        acc = (acc << 6) | (unsigned)(v - 1);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xFF);
        }
    }
    return o;
}

/* Quoted-printable; soft line breaks removed; bad escapes kept literally. */
static size_t
qp_decode(const char *in, size_t n, char *out, bool *bad)
{
    size_t i = 0, o = 0;

    while (i < n) {
        const char *eq = memchr(in + i, '=', n - i);
        size_t run = eq ? (size_t)(eq - (in + i)) : n - i;
        int h, l;
        memcpy(out + o, in + i, run);
        o += run;
        i += run;
        if (i >= n) {
            break;
        }
        /* in[i] == '=' */
        if (i + 1 < n && in[i + 1] == '\n') {
            i += 2;
        } else if (i + 2 < n && in[i + 1] == '\r' && in[i + 2] == '\n') {
            i += 3;
        } else if (i + 2 < n && (h = hexval((unsigned char)in[i + 1])) >= 0 &&
                   (l = hexval((unsigned char)in[i + 2])) >= 0) {
            out[o++] = (char)(h * 16 + l);
            i += 3;
        } else {
            /* "=" followed by trailing white space then a line end is a soft break too */
            size_t j = i + 1;
            while (j < n && is_wsp(in[j])) {
                j++;
            }
            if (j < n && (in[j] == '\n' || (in[j] == '\r' && j + 1 < n && in[j + 1] == '\n'))) {
                i = j + (in[j] == '\n' ? 1 : 2);
                continue;
            }
            if (j >= n) {
                break;
            }
            *bad = true;
            out[o++] = '=';
            i++;
        }
    }
    return o;
}

bnc_status
mime_part_decoded(struct arena *a, const struct mime_part *p, struct bnc_slice *out)
{
    return mime_part_decoded_flags(a, p, out, NULL);
}

bnc_status
mime_part_decoded_flags(struct arena *a, const struct mime_part *p, struct bnc_slice *out,
                        unsigned *flags)
{
    bool b64, qp, bad = false;
    char *buf;

    b64 = p->encoding.len && slice_eq_ci(p->encoding, "base64");
    qp = p->encoding.len && slice_eq_ci(p->encoding, "quoted-printable");
    if (!b64 && !qp) {
        *out = p->body;
        return BNC_OK;
    }
    buf = arena_alloc(a, p->body.len + 1);
    if (buf == NULL) {
        *out = slice_make(p->body.p, 0);
        return BNC_ELIMIT;
    }
    if (b64) {
        out->len = b64_decode(p->body.p, p->body.len, buf, &bad);
    } else {
        out->len = qp_decode(p->body.p, p->body.len, buf, &bad);
    }
    if (bad && flags != NULL) {
        *flags |= BNC_PF_BAD_ENCODING;
    }
    buf[out->len] = '\0';
    out->p = buf;
    return BNC_OK;
}

bnc_status
mime_part_text(struct arena *a, const struct mime_part *p, struct bnc_slice *out)
{
    struct bnc_slice d;
    bnc_status rc = mime_part_decoded(a, p, &d);

    if (rc != BNC_OK) {
        *out = d;
        return rc;
    }
    return charset_to_utf8(a, p->charset.p, p->charset.len, d.p, d.len, out);
}

int
mime_ancestor(const struct mime_msg *m, size_t i, const char *type, const char *subtype)
{
    int k;

    if (i >= m->nparts) {
        return -1;
    }
    for (k = m->parts[i].parent; k >= 0; k = m->parts[k].parent) {
        if (mime_part_is(&m->parts[k], type, subtype)) {
            return k;
        }
    }
    return -1;
}
