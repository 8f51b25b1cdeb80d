/*
 * message.c - parse one message: copy it into a new report's arena, scan its MIME
 * structure, read the top-level facts, walk the standard delivery-status parts (dsn.c), find
 * the returned original message, run the non-RFC recognizers (formats_apply) once, and fill
 * per-recipient defaults.
 *
 * Does not classify (classify/ fills reason, hard and kind afterwards) and does no I/O.
 * STANDARDS: RFC 6522 (multipart/report), RFC 3464 / RFC 6533 (delivery-status parts),
 * RFC 5322 §3.6 (originator, identification and trace fields), RFC 3834 §5 (VERP-style
 * return addresses are a convention, not a standard).
 * LIMITS: limits.message_size (BNC_ELIMIT, no report), limits.report_memory (the arena cap;
 * exhaustion truncates with BNC_PF_TRUNCATED), and everything mime.c and dsn.c enforce.
 * Ownership: the report owns its arena; the caller frees it with bnc_report_free().
 */
#include "parse/parse.h"

#include <string.h>

struct report_holder {
    struct bnc_report r;
    struct mime_part top; /* used when the arena could not hold a part list */
};

static const char *
msgid_clean(struct bnc_report *r, const char *v)
{
    struct bnc_slice s;
    const char *lt, *gt;

    if (v == NULL) {
        return "";
    }
    s = slice_trim(slice_make(v, strlen(v)));
    lt = memchr(s.p, '<', s.len);
    if (lt != NULL) {
        gt = memchr(lt, '>', (size_t)(s.p + s.len - lt));
        if (gt != NULL && gt > lt + 1) {
            return report_strndup(r, lt + 1, (size_t)(gt - lt - 1));
        }
    }
    /* first word only */
    {
        size_t i = 0;
        while (i < s.len && s.p[i] != ' ' && s.p[i] != '(') {
            i++;
        }
        return report_strndup(r, s.p, i);
    }
}

/* Header fields read together: one pass over the lines of a header block finds the first
 * field of each name (what mime_header_raw does for one name), instead of one search of the
 * whole block per name; the top header's Received lines are passed once, not five times. */
#define MSG_FIELDS_MAX 8

static void
message_fields(struct bnc_slice header, const char *const *names, size_t n,
               struct bnc_slice *raw_out, /* OUT: value of each name, unfolded later */
               bool *found_out)           /* OUT: whether each name was there */
{
    const char *p = header.p, *end = header.p + header.len;
    size_t nlen[MSG_FIELDS_MAX], k, left = 0;
    /* the names (bits by index) that start with each byte, either case; a line is compared
     * only with those */
    uint8_t by_first[256] = {0};
    uint8_t todo = 0;

    _Static_assert(MSG_FIELDS_MAX <= 8, "a name index must fit the bit set");
    for (k = 0; k < n && k < MSG_FIELDS_MAX; k++) {
        unsigned char c = (unsigned char)names[k][0];
        nlen[k] = strlen(names[k]);
        found_out[k] = false;
        if (nlen[k] > 0) {
            by_first[slice_lc(c)] |= (uint8_t)(1u << k);
            by_first[c >= 'a' && c <= 'z' ? c - 32 : c] |= (uint8_t)(1u << k);
            todo |= (uint8_t)(1u << k);
            left++;
        }
    }
    if (p == NULL) {
        return;
    }
    while (p < end && left > 0) {
        const char *nl = mem_nl(p, end);
        const char *le = nl ? nl + 1 : end;
        unsigned cand = by_first[(unsigned char)*p] & todo;
        while (cand != 0) {
            k = (size_t)__builtin_ctz(cand);
            cand &= cand - 1;
            if ((size_t)(le - p) <= nlen[k] || !slice_mem_eq_ci(p, names[k], nlen[k])) {
                continue;
            }
            if (mime_field_value(p + nlen[k], le, end, &raw_out[k])) {
                found_out[k] = true;
                todo &= (uint8_t)~(1u << k);
                left--;
            }
        }
        p = le;
    }
}

/* mime_header() of a field message_fields() found: unfolded and RFC 2047-decoded, or NULL */
static const char *
field_value(struct bnc_report *r, const struct bnc_slice *raw, const bool *found, size_t k)
{
    return found[k] ? mime_decode_words(r->arena, raw[k]) : NULL;
}

static const char *
diag_or_empty(struct bnc_report *r, const char *v)
{
    if (v == NULL) {
        return "";
    }
    return report_diag(r, v, strlen(v));
}

/* Might p[0..16) hold a byte field_diag() looks at: not ASCII, CR, LF, NUL or '='? SSE2
 * (elsewhere always true, which sends every byte to the byte loop). */
static inline bool
field_special16(const unsigned char *p)
{
#if defined(__SSE2__)
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')),
                                          _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
                             _mm_or_si128(_mm_cmpeq_epi8(v, _mm_setzero_si128()),
                                          _mm_cmpeq_epi8(v, _mm_set1_epi8('='))));
    return _mm_movemask_epi8(_mm_or_si128(m, v)) != 0; /* (v: the high bit of each byte) */
#else
    (void)p;
    return true;
#endif
}

/* diag_or_empty(field_value()) of field k. A one-line ASCII value without an encoded word
 * needs no decoding: mime_decode_words() would only turn its tabs into spaces, which
 * report_diag() reads as spaces anyway, so it is stored straight from the header. */
static const char *
field_diag(struct bnc_report *r, const struct bnc_slice *raw, const bool *found, size_t k)
{
    const unsigned char *p = (const unsigned char *)raw[k].p;
    size_t i, n = raw[k].len;

    if (!found[k]) {
        return "";
    }
    for (i = 0; i < n; i++) {
        unsigned char c;
        if (i + 16 <= n && !field_special16(p + i)) {
            i += 15; /* (sixteen plain bytes) */
            continue;
        }
        c = p[i];
        if (c >= 0x80 || c == '\r' || c == '\n' || c == '\0' ||
            (c == '=' && i + 1 < n && p[i + 1] == '?')) {
            return diag_or_empty(r, field_value(r, raw, found, k));
        }
    }
    return report_diag(r, raw[k].p, n);
}

static void
message_top_fields(struct bnc_report *r)
{
    /* four facts, then the report_top fields in enum order (Return-Path is both) */
    static const char *const names[] = {"From",        "Subject",
                                        "Message-ID",  "Date",
                                        "Return-Path", "To",
                                        "X-Failed-Recipients", "X-PowerMTA-BounceCategory"};
    struct bnc_slice raw[4 + REPORT_TOP_N];
    bool found[4 + REPORT_TOP_N];
    size_t t;

    _Static_assert(sizeof(names) / sizeof(names[0]) == 4 + REPORT_TOP_N, "names != report_top");
    _Static_assert(4 + REPORT_TOP_N <= MSG_FIELDS_MAX, "too many top fields");
    message_fields(r->mime.parts[0].header, names, 4 + REPORT_TOP_N, raw, found);
    for (t = 0; t < REPORT_TOP_N; t++) {
        r->top_found[t] = found[4 + t];
        r->top_raw[t] = raw[4 + t];
    }
    r->from = field_diag(r, raw, found, 0);
    r->subject = field_diag(r, raw, found, 1);
    r->message_id = msgid_clean(r, field_value(r, raw, found, 2));
    r->date = field_diag(r, raw, found, 3);
    if (r->date[0] != '\0' && !date_parse(r->date, strlen(r->date), &r->time)) {
        r->time = 0;
    }
    r->return_path = "";
    if (found[4]) {
        const char *a = addr_normalize(r, raw[4].p, raw[4].len);
        r->return_path = a ? a : "";
    }
}

static void
message_set_orig(struct bnc_report *r, struct bnc_slice header)
{
    static const char *const names[] = {"Message-ID", "To", "From", "Subject", "Return-Path"};
    struct bnc_slice raw[5];
    bool found[5];

    if (header.len == 0 || r->orig_headers.len != 0) {
        return;
    }
    r->orig_headers = header;
    message_fields(header, names, 5, raw, found);
    r->orig_rpath_found = found[4];
    r->orig_rpath_raw = raw[4];
    r->orig_message_id = msgid_clean(r, field_value(r, raw, found, 0));
    r->orig_to = field_diag(r, raw, found, 1);
    r->orig_from = field_diag(r, raw, found, 2);
    r->orig_subject = field_diag(r, raw, found, 3);
}

/* Is part i inside a returned message (message/rfc822 or text/rfc822-headers)? */
static bool
inside_returned(const struct mime_msg *m, size_t i)
{
    int k;

    for (k = m->parts[i].parent; k >= 0; k = m->parts[k].parent) {
        const struct mime_part *p = &m->parts[k];
        if (mime_part_is(p, "message", NULL) || mime_part_is(p, "text", "rfc822-headers")) {
            return true;
        }
    }
    return false;
}

static bool
is_dsn_part(const struct mime_part *p)
{
    return mime_part_is(p, "message", "delivery-status") ||
           mime_part_is(p, "message", "global-delivery-status") ||
           mime_part_is(p, "text", "delivery-status") ||
           mime_part_is(p, "message", "x-delivery-status");
}

static size_t
message_dsn_part(struct bnc_report *r, const struct mime_part *p)
{
    struct bnc_slice d;
    size_t added;

    if (mime_part_decoded_flags(r->arena, p, &d, &r->flags) != BNC_OK) {
        r->flags |= BNC_PF_TRUNCATED;
    }
    added = dsn_parse_fields(r, d.p, d.len);
    if (added == 0 && p->header.len > 0 &&
        text_find_ci(p->header.p, p->header.len, "recipient", 9) != NULL) {
        /* the blank line between the part header and the fields is missing */
        added = dsn_parse_fields(r, p->header.p, (size_t)(p->body.p + p->body.len - p->header.p));
    }
    return added;
}

/* Does p[0..n) hold "Final-Recipient" or "Original-Recipient" (ASCII case-insensitive)? One
 * search for the "-recipient" they share, each hit checked for either name before it. */
static bool
message_has_rcpt_field(const char *p, size_t n)
{
    const char *q = p, *end = p + n, *h;

    while (q < end && (h = text_find_ci(q, (size_t)(end - q), "-recipient", 10)) != NULL) {
        if ((h - p >= 5 && slice_mem_eq_ci(h - 5, "final", 5)) ||
            (h - p >= 8 && slice_mem_eq_ci(h - 8, "original", 8))) {
            return true;
        }
        q = h + 1;
    }
    return false;
}

bool
message_is_read_receipt(struct bnc_report *r)
{
    const struct mime_msg *m = &r->mime;
    size_t i;

    if (m->nparts == 0 || !mime_part_is(&m->parts[0], "multipart", "report") ||
        !slice_eq_ci(m->parts[0].report_type, "disposition-notification")) {
        return false;
    }
    for (i = 1; i < m->nparts; i++) {
        const struct mime_part *p = &m->parts[i];
        struct bnc_slice d, v;
        const char *f, *semi;
        if (!mime_part_is(p, "message", "disposition-notification") &&
            !mime_part_is(p, "message", "global-disposition-notification")) {
            continue;
        }
        if (mime_part_decoded_flags(r->arena, p, &d, &r->flags) != BNC_OK || d.len == 0) {
            return false;
        }
        /* "Disposition: manual-action/MDN-sent-manually; displayed" */
        f = text_find_ci(d.p, d.len, "\ndisposition:", 13);
        if (f == NULL && d.len >= 12 && slice_mem_eq_ci(d.p, "disposition:", 12)) {
            f = d.p - 1;
        }
        if (f == NULL) {
            return false;
        }
        v = slice_make(f + 13, (size_t)(d.p + d.len - f - 13));
        semi = memchr(v.p, ';', v.len < 128 ? v.len : 128);
        if (semi == NULL) {
            return false;
        }
        v = slice_trim(slice_make(semi + 1, (size_t)(v.p + v.len - semi - 1)));
        return slice_prefix_ci(v, "displayed") || slice_prefix_ci(v, "dispatched") ||
               slice_prefix_ci(v, "processed");
    }
    return false;
}

static void
message_walk_dsn(struct bnc_report *r)
{
    const struct mime_msg *m = &r->mime;
    bool found = false;
    size_t i, added = 0;
    int pass;

    if (message_is_read_receipt(r)) {
        return; /* its Final-Recipient read the message: no failure to find */
    }

    /* pass 0: reports of this message; pass 1: reports nested in a returned message */
    for (pass = 0; pass < 2 && added == 0; pass++) {
        for (i = 0; i < m->nparts; i++) {
            const struct mime_part *p = &m->parts[i];
            if (!is_dsn_part(p) || inside_returned(m, i) != (pass == 1)) {
                continue;
            }
            found = true;
            added += message_dsn_part(r, p);
        }
    }
    if (!found) {
        r->flags |= BNC_PF_NO_DSN_PART;
    }
    if (added > 0) {
        return;
    }
    /* delivery-status fields pasted into a text part, or a multipart whose boundary is lost */
    for (i = 0; i < m->nparts; i++) {
        const struct mime_part *p = &m->parts[i];
        struct bnc_slice d;
        bool seen = false; /* the body as it is holds a recipient field */
        if (inside_returned(m, i) || (i + 1 < m->nparts && m->parts[i + 1].parent == (int)i)) {
            continue;
        }
        if (!mime_part_is(p, "text", NULL) && !(p->flags & BNC_PF_NO_BOUNDARY) &&
            !mime_part_is(p, "message", NULL)) {
            continue;
        }
        if (p->encoding.len == 0 || slice_eq_ci(p->encoding, "7bit") ||
            slice_eq_ci(p->encoding, "8bit") || slice_eq_ci(p->encoding, "binary")) {
            /* not transfer-encoded: look before decoding anything */
            if (!message_has_rcpt_field(p->body.p, p->body.len)) {
                continue;
            }
            seen = true;
        }
        if (mime_part_decoded_flags(r->arena, p, &d, &r->flags) != BNC_OK) {
            r->flags |= BNC_PF_TRUNCATED;
        }
        /* (a quoted-printable soft line break may split a field name: look after decoding,
         * unless decoding gave the body back as it is) */
        if (!(seen && d.p == p->body.p && d.len == p->body.len) &&
            !message_has_rcpt_field(d.p, d.len)) {
            continue;
        }
        added += dsn_parse_fields(r, d.p, d.len);
        if (added > 0) {
            break;
        }
    }
}

/* Header block starting at p (after blank lines), bounded; empty when none. */
static struct bnc_slice
message_header_at(const struct bnc_report *r, const char *p, const char *end)
{
    const char *s, *q;

    while (p < end && (*p == '\r' || *p == '\n' || *p == ' ' || *p == '\t')) {
        p++;
    }
    s = p;
    if ((size_t)(end - p) > r->limits.header_block) {
        end = p + r->limits.header_block;
    }
    /* must start with a field name and a colon */
    for (q = p; q < end && q - p < 80 && *q != ':' && *q > ' '; q++) {
    }
    if (q >= end || *q != ':' || q == p) {
        return slice_make(s, 0);
    }
    while (p < end) {
        const char *nl = mem_nl(p, end);
        if (nl == NULL) {
            return slice_make(s, (size_t)(end - s));
        }
        p = nl + 1;
        if (p < end && (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n'))) {
            break;
        }
    }
    return slice_make(s, (size_t)(p - s));
}

static void
message_find_orig(struct bnc_report *r)
{
    const struct mime_msg *m = &r->mime;
    size_t i, k;

    if (r->orig_headers.len != 0) {
        return;
    }
    for (i = 0; i < m->nparts; i++) {
        const struct mime_part *p = &m->parts[i];
        if ((mime_part_is(p, "message", NULL) && !is_dsn_part(p)) ||
            mime_part_is(p, "text", "rfc822-headers")) {
            if (i + 1 < m->nparts && m->parts[i + 1].parent == (int)i &&
                m->parts[i + 1].header.len > 0) {
                message_set_orig(r, m->parts[i + 1].header);
                return;
            }
        }
    }
    /* an inline copy after a marker line in a text part */
    for (i = 0; i < m->nparts; i++) {
        const struct mime_part *p = &m->parts[i];
        const char *q, *end, *line;
        if (!mime_part_is(p, "text", NULL) && !(p->flags & BNC_PF_NO_BOUNDARY)) {
            continue;
        }
        q = p->body.p;
        end = p->body.p + p->body.len;
        if (slice_eq_ci(p->encoding, "base64") || slice_eq_ci(p->encoding, "quoted-printable")) {
            /* the copy is in the decoded text (a base64 or quoted-printable text part) */
            struct bnc_slice d;
            if (mime_part_decoded(r->arena, p, &d) != BNC_OK) {
                continue;
            }
            q = d.p;
            end = d.p + d.len;
        }
        for (k = 0; k < 8 && q < end; k++) {
            const char *nl;
            struct bnc_slice h;
            line = parse_orig_marker_line(q, (size_t)(end - q));
            if (line == NULL) {
                break;
            }
            nl = memchr(line, '\n', (size_t)(end - line));
            if (nl == NULL) {
                break;
            }
            h = message_header_at(r, nl + 1, end);
            if (h.len > 0 && text_find_ci(h.p, h.len < 8 ? h.len : 8, "content-", 8) == h.p) {
                /* the rest of a MIME part header: the message follows after it */
                h = message_header_at(r, h.p + h.len, end);
            }
            if (h.len > 0) {
                message_set_orig(r, h);
                return;
            }
            q = nl + 1;
        }
    }
}

/* A bounce sent to a VERP address names the recipient in its own To. */
static void
message_verp_fallback(struct bnc_report *r)
{
    static const char *const names[] = {"X-Original-To", "Delivered-To", "To"};
    size_t i;

    if (r->nrcpts > 0 || (r->flags & BNC_PF_NOT_BOUNCE)) {
        return;
    }
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct bnc_slice raw;
        const char *at, *plus, *eq, *a;
        struct bnc_rcpt *rc;
        if (!mime_header_raw(r->mime.parts[0].header, names[i], &raw)) {
            continue;
        }
        at = memchr(raw.p, '@', raw.len);
        if (at == NULL) {
            continue;
        }
        plus = memchr(raw.p, '+', (size_t)(at - raw.p));
        eq = plus ? memchr(plus, '=', (size_t)(at - plus)) : NULL;
        if (eq == NULL) {
            continue;
        }
        a = addr_normalize(r, raw.p, raw.len);
        if (a == NULL || memchr(a, '+', strlen(a)) != NULL) {
            continue;
        }
        rc = report_add_rcpt(r);
        if (rc == NULL) {
            return;
        }
        rc->recipient = a;
        rc->origin = "verp";
        r->flags |= BNC_PF_HEURISTIC;
        return;
    }
}

/* Lines of white space before the first header field: a message saved by hand or cut from
 * a mailbox often starts with one. Read strictly, an empty first line ends an empty header
 * section and makes the bounce a body without From, Subject or Content-Type; no bounce is
 * sent like that, so the header starts at the first line that holds anything else. */
static void
message_skip_blank_lines(const char **pp, size_t *np)
{
    const char *p = *pp, *end = *pp + *np, *line = p;

    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        if (*p++ == '\n') {
            line = p;
        }
    }
    if (p < end) {
        *np -= (size_t)(line - *pp);
        *pp = line;
    }
}

bnc_status
parse_message(const struct parse_limits *lim, const void *msg, size_t len, struct bnc_report **out)
{
    struct arena *a;
    struct report_holder *h;
    struct bnc_report *r;
    char *raw;
    const char *scan_p;
    size_t i, scan_n;

    *out = NULL;
    if (lim == NULL || (msg == NULL && len != 0)) {
        return BNC_EINVAL;
    }
    if (len > lim->message_size) {
        return BNC_ELIMIT;
    }
    a = arena_new(lim->report_memory);
    h = arena_calloc(a, sizeof(*h));
    raw = h ? arena_alloc(a, len + 1) : NULL;
    if (raw == NULL) {
        arena_free(a);
        return BNC_ELIMIT;
    }
    if (len) {
        memcpy(raw, msg, len);
    }
    raw[len] = '\0';
    r = &h->r;
    r->arena = a;
    r->limits = *lim;
    r->raw = raw;
    r->rawlen = len;
    r->from = r->subject = r->message_id = r->date = r->return_path = "";
    r->orig_message_id = r->orig_to = r->orig_from = r->orig_subject = "";
    /* an mbox "From " envelope line before the header (RFC 4155) is not part of it */
    scan_p = raw;
    scan_n = len;
    if (len > 5 && memcmp(raw, "From ", 5) == 0) {
        const char *nl = memchr(raw, '\n', len);
        if (nl != NULL) {
            scan_n = len - (size_t)(nl + 1 - raw);
            scan_p = nl + 1;
        }
    }
    message_skip_blank_lines(&scan_p, &scan_n);
    if (mime_scan(a, lim, scan_p, scan_n, &r->mime) != BNC_OK || r->mime.nparts == 0) {
        memset(&h->top, 0, sizeof(h->top));
        h->top.parent = -1;
        h->top.header = slice_make(raw, 0);
        h->top.body = slice_make(raw, len);
        h->top.type = slice_make("text", 4);
        h->top.subtype = slice_make("plain", 5);
        r->mime.parts = &h->top;
        r->mime.nparts = 1;
        r->flags |= BNC_PF_TRUNCATED;
    }
    r->flags |= r->mime.flags;

    message_top_fields(r);
    message_walk_dsn(r);
    /* once: it reads only the MIME parts and the limits, which formats_apply() leaves alone,
     * so a second search after it would find the same (or nothing again) */
    message_find_orig(r);
    formats_apply(r);
    parse_fallback(r);
    message_verp_fallback(r);

    for (i = 0; i < r->nrcpts; i++) {
        struct bnc_rcpt *rc = &r->rcpts[i];
        if ((rc->diagnostic == NULL || rc->diagnostic[0] == '\0') && rc->status_comment != NULL &&
            rc->status_comment[0] != '\0') {
            /* no diagnostic anywhere: the Status field's own comment is the only text */
            rc->diagnostic = rc->status_comment;
        }
        if (rc->message_id == NULL || rc->message_id[0] == '\0') {
            rc->message_id = r->message_id;
        }
        if (rc->original_message_id == NULL || rc->original_message_id[0] == '\0') {
            rc->original_message_id = r->orig_message_id;
        }
        if (rc->date == NULL || rc->date[0] == '\0') {
            rc->date = r->date;
            rc->time = r->time;
        }
    }
    *out = r;
    return BNC_OK;
}
