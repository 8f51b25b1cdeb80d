/*
 * events.c - normalise ESP webhooks and MTA logs into verdicts (see events.h).
 *
 * Every format parser adds verdicts with ev_add(), recording the vendor's own judgement
 * (permanent, transient, complaint, ...). Then the verdicts go through the same classifier
 * as bounce messages (user rules, built-in rules, status code, reply code), and last the
 * vendor's judgement is applied where it knows more than the text:
 *   - complaint and delivered are taken as they are;
 *   - transient never becomes hard, whatever the code says (SES Transient/MailboxFull with a
 *     5.2.2 is a full mailbox, not a dead address);
 *   - permanent makes the address dead unless the classifier found a sender-side reason (a
 *     5xx for our IP or content is the sender's problem: suppressing the address would be a
 *     false positive, DESIGN §5);
 *   - undetermined goes to review.
 * STANDARDS: RFC 3463 (status codes), RFC 8259 (JSON), RFC 4180 (CSV, pmta.c).
 * LIMITS: body size limits.webhook_body (webhooks) or limits.message_size (logs); JSON
 * nesting limits.json_depth, checked on the raw bytes before jansson sees them. A webhook
 * batch or a log is a stream of independent events, not one DSN: limits.dsn_recipients does
 * not apply; the verdicts of one input are bounded by its size instead (EV_MIN_EVENT_BYTES
 * per event, which no format's event is shorter than), and an input that still has more is
 * refused whole with BNC_ELIMIT (never cut short: the caller fails loudly and nothing is
 * half-applied).
 */
#include "ingest/events.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "classify/classify.h"
#include "core/cfg.h"
#include "core/xmalloc.h"
#include "ingest/events_int.h"

/* The shortest event of any format ("a@b.c" and a status in a log line, a JSON object in a
 * batch) is longer than this: len / EV_MIN_EVENT_BYTES + 1 verdicts bound one input. */
#define EV_MIN_EVENT_BYTES 8

static const struct {
    const char *name;
    const char *origin;
} formats[EVENTS__COUNT] = {
    [EVENTS_SES] = {"ses", "webhook:ses"},
    [EVENTS_SENDGRID] = {"sendgrid", "webhook:sendgrid"},
    [EVENTS_MAILGUN] = {"mailgun", "webhook:mailgun"},
    [EVENTS_POSTMARK] = {"postmark", "webhook:postmark"},
    [EVENTS_SPARKPOST] = {"sparkpost", "webhook:sparkpost"},
    [EVENTS_PMTA] = {"pmta", "log:pmta"},
    [EVENTS_MAILLOG] = {"maillog", "log:maillog"},
    [EVENTS_PMTA_FBL] = {"pmta-fbl", "log:pmta-fbl"},
    [EVENTS_EXIM] = {"exim", "log:exim"},
};

bool
events_format_from_name(const char *name, enum events_format *out)
{
    int i;
    for (i = 0; i < EVENTS__COUNT; i++) {
        if (strcasecmp(name, formats[i].name) == 0) {
            *out = (enum events_format)i;
            return true;
        }
    }
    if (strcasecmp(name, "powermta") == 0) {
        *out = EVENTS_PMTA;
        return true;
    }
    if (strcasecmp(name, "postfix") == 0) {
        *out = EVENTS_MAILLOG;
        return true;
    }
    return false;
}

const char *
events_format_name(enum events_format f)
{
    return (unsigned)f < EVENTS__COUNT ? formats[f].name : "?";
}

const char *
events_format_origin(enum events_format f)
{
    return (unsigned)f < EVENTS__COUNT ? formats[f].origin : "";
}

bool
events_format_is_log(enum events_format f)
{
    return f == EVENTS_PMTA || f == EVENTS_MAILLOG || f == EVENTS_PMTA_FBL || f == EVENTS_EXIM;
}

bnc_status
events_stream_new(enum events_format f, const char *record_fields, struct events_stream **out,
                  char *err, size_t errlen)
{
    struct events_stream *s;
    size_t k;

    *out = NULL;
    err[0] = '\0';
    if (!events_format_is_log(f)) {
        return BNC_EINVAL;
    }
    s = xcalloc(1, sizeof(*s));
    s->f = f;
    for (k = 0; k < PMTA_C_N; k++) {
        s->pmta_col[k] = -1;
    }
    if (record_fields != NULL && record_fields[0] != '\0') {
        if (f != EVENTS_PMTA && f != EVENTS_PMTA_FBL) {
            snprintf(err, errlen, "record_fields is a PowerMTA setting (format pmta or pmta-fbl)");
            free(s);
            return BNC_ECONFIG;
        }
        if (!ev_pmta_layout(s, record_fields, strlen(record_fields), err, errlen)) {
            free(s);
            return BNC_ECONFIG;
        }
    }
    *out = s;
    return BNC_OK;
}

void
events_stream_free(struct events_stream *s)
{
    if (s != NULL) {
        free(s->qids);
        free(s);
    }
}

void
ev_lines(struct ev_state *st, const char *data, size_t len,
         void (*fn)(struct ev_state *, const char *, size_t))
{
    const char *p = data, *end = data + len, *nl;

    while (p < end) {
        size_t n;
        nl = memchr(p, '\n', (size_t)(end - p));
        n = (size_t)((nl ? nl : end) - p);
        if (n > 0 && p[n - 1] == '\r') {
            n--;
        }
        if (n > EVENTS_MAX_LINE) {
            st->overlong++;
        } else if (n > 0) {
            fn(st, p, n);
        }
        p = nl ? nl + 1 : end;
    }
}

/* ---- queue ids: open addressing over EVENTS_QIDS slots, a short probe, the home slot
 * overwritten when the probe finds no room (the oldest ids are the likeliest to be done) ---- */

#define EV_QID_PROBE 8

static size_t
ev_qid_home(const char *q, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    size_t i;

    for (i = 0; i < n; i++) {
        h = (h ^ (unsigned char)q[i]) * 16777619u;
    }
    return h & (EVENTS_QIDS - 1);
}

static struct ev_qid *
ev_qid_find(const struct events_stream *s, const char *q, size_t n)
{
    size_t h, i;

    if (s == NULL || s->qids == NULL || n == 0 || n >= sizeof(s->qids[0].qid)) {
        return NULL;
    }
    h = ev_qid_home(q, n);
    for (i = 0; i < EV_QID_PROBE; i++) {
        struct ev_qid *e = &s->qids[(h + i) & (EVENTS_QIDS - 1)];
        if (strncmp(e->qid, q, n) == 0 && e->qid[n] == '\0') {
            return e;
        }
    }
    return NULL;
}

void
ev_qid_put(struct events_stream *s, const char *qid, size_t qlen, const char *mid, size_t mlen)
{
    struct ev_qid *e;
    size_t h, i;

    if (s == NULL || qlen == 0 || qlen >= sizeof(e->qid) || mlen == 0 || mlen > EVENTS_MSGID_MAX) {
        return; /* an id this long is not remembered: its verdicts carry no message id */
    }
    if (s->qids == NULL) {
        s->qids = xcalloc(EVENTS_QIDS, sizeof(*s->qids));
    }
    if ((e = ev_qid_find(s, qid, qlen)) == NULL) {
        h = ev_qid_home(qid, qlen);
        e = &s->qids[h];
        for (i = 0; i < EV_QID_PROBE; i++) {
            if (s->qids[(h + i) & (EVENTS_QIDS - 1)].qid[0] == '\0') {
                e = &s->qids[(h + i) & (EVENTS_QIDS - 1)];
                break;
            }
        }
    }
    memcpy(e->qid, qid, qlen);
    e->qid[qlen] = '\0';
    memcpy(e->msgid, mid, mlen);
    e->msgid[mlen] = '\0';
}

const char *
ev_qid_get(const struct events_stream *s, const char *qid, size_t qlen)
{
    const struct ev_qid *e = ev_qid_find(s, qid, qlen);
    return e != NULL ? e->msgid : "";
}

void
ev_qid_forget(struct events_stream *s, const char *qid, size_t qlen)
{
    struct ev_qid *e = ev_qid_find(s, qid, qlen);
    if (e != NULL) {
        memset(e, 0, sizeof(*e));
    }
}

struct bnc_rcpt *
ev_add(struct ev_state *st, const char *s, size_t n, enum ev_vendor v, const char *why)
{
    const char *addr = addr_normalize_field(st->r, s, n);
    struct bnc_rcpt *rc;
    size_t i;

    if (addr == NULL || addr[0] == '\0') {
        return NULL;
    }
    if (st->r->nrcpts >= st->cap) {
        st->r->flags |= BNC_PF_TOO_MANY_RCPTS;
        return NULL;
    }
    i = st->r->nrcpts;
    if ((rc = report_add_rcpt(st->r)) == NULL) {
        return NULL;
    }
    rc->recipient = addr;
    rc->origin = events_format_origin(st->f);
    rc->action = v == EV_V_TRANSIENT     ? BNC_ACTION_DELAYED
                 : v == EV_V_DELIVERED   ? BNC_ACTION_DELIVERED
                 : v == EV_V_COMPLAINT   ? BNC_ACTION_NONE
                                         : BNC_ACTION_FAILED;
    st->vendor[i] = (unsigned char)v;
    st->vendor_why[i] = why ? report_strndup(st->r, why, strlen(why)) : "";
    return rc;
}

void
ev_status(struct bnc_rcpt *rc, const char *s)
{
    char code[16];
    size_t used;

    if (s != NULL && status_code_parse(s, strlen(s), code, &used)) {
        memcpy(rc->status, code, sizeof(rc->status));
    }
}

void
ev_diag(struct ev_state *st, struct bnc_rcpt *rc, const char *text)
{
    char status[16] = "", reply[4] = "";

    if (text == NULL || text[0] == '\0') {
        return;
    }
    rc->diagnostic = report_diag(st->r, text, strlen(text));
    status_code_from_text(rc->diagnostic, strlen(rc->diagnostic), status, reply);
    if (rc->status[0] == '\0' && status[0] != '\0') {
        memcpy(rc->status, status, sizeof(rc->status));
    }
    if (rc->replycode[0] == '\0' && reply[0] != '\0') {
        memcpy(rc->replycode, reply, sizeof(rc->replycode));
    }
}

void
ev_time(struct ev_state *st, struct bnc_rcpt *rc, int64_t t)
{
    char buf[32];
    struct tm tm;
    time_t tt = (time_t)t;

    if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
        return;
    }
    rc->time = t;
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    rc->date = report_strndup(st->r, buf, strlen(buf));
}

int
ev_parse_iso8601(const char *s, int64_t *out)
{
    struct tm tm;
    const char *p;
    int64_t t, off = 0;

    memset(&tm, 0, sizeof(tm));
    p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (p == NULL) {
        memset(&tm, 0, sizeof(tm));
        p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
    }
    if (p == NULL) {
        return -1;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, hh, mm;
        p++;
        if (!(p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9')) {
            return -1;
        }
        hh = (p[0] - '0') * 10 + (p[1] - '0');
        p += 2;
        if (*p == ':') {
            p++;
        }
        mm = (p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9')
                 ? (p[0] - '0') * 10 + (p[1] - '0')
                 : 0;
        off = sign * (hh * 3600 + mm * 60);
    }
    t = (int64_t)timegm(&tm);
    if (t < 0) {
        return -1;
    }
    *out = t - off;
    return 0;
}

const char *
ev_jstr(const json_t *o, const char *key)
{
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    return s ? s : "";
}

bool
ev_jcopy(const json_t *o, const char *const *keys, char *const *outs, const size_t *lens,
         size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strlen(ev_jstr(o, keys[i])) >= lens[i]) {
            return false;
        }
    }
    for (i = 0; i < n; i++) {
        snprintf(outs[i], lens[i], "%s", ev_jstr(o, keys[i]));
    }
    return true;
}

int64_t
ev_jint(const json_t *o, const char *key)
{
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (json_is_integer(v)) {
        return (int64_t)json_integer_value(v);
    }
    if (json_is_real(v)) {
        return (int64_t)json_real_value(v);
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        long long ll = strtoll(s, &end, 10);
        if (end != s && (*end == '\0' || *end == '.')) {
            return (int64_t)ll;
        }
    }
    return 0;
}

json_t *
ev_json_load(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *j;

    if (json_text_depth(data, len) > st->json_depth) {
        snprintf(err, errlen, "JSON nested deeper than %zu levels", st->json_depth);
        return NULL;
    }
    j = json_loadb(data, len, JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, &je);
    if (j == NULL) {
        snprintf(err, errlen, "bad JSON at line %d column %d: %.200s", je.line, je.column,
                 je.text);
    }
    return j;
}

/* Apply the vendor's judgement after classification (see the file comment). */
static void
ev_apply_vendor(struct ev_state *st, size_t i)
{
    struct bnc_rcpt *rc = &st->r->rcpts[i];
    enum ev_vendor v = (enum ev_vendor)st->vendor[i];
    bnc_side side = bnc_reason_side(rc->reason);
    char why[160];

    snprintf(why, sizeof(why), "vendor:%s:%s", events_format_name(st->f), st->vendor_why[i]);
    switch (v) {
    case EV_V_NONE:
        return;
    case EV_V_COMPLAINT:
        rc->reason = BNC_R_FEEDBACK;
        rc->kind = BNC_KIND_COMPLAINT;
        rc->hard = 0;
        rc->status[0] = '\0';
        break;
    case EV_V_DELIVERED:
        rc->reason = BNC_R_DELIVERED;
        rc->kind = BNC_KIND_DELIVERED;
        rc->hard = 0;
        break;
    case EV_V_TRANSIENT:
        if (rc->kind == BNC_KIND_HARD || rc->kind == BNC_KIND_UNKNOWN) {
            rc->kind = BNC_KIND_SOFT;
            rc->hard = 0; /* not final: the reason stays, the address is not dead yet */
        } else {
            return;
        }
        break;
    case EV_V_PERMANENT:
        if (side == BNC_SIDE_SENDER || side == BNC_SIDE_REPORT) {
            return; /* our problem, not the address's: never suppress for it */
        }
        if (rc->kind == BNC_KIND_HARD) {
            return;
        }
        if (side != BNC_SIDE_DEAD && rc->reason != BNC_R_SUPPRESSED) {
            /* the vendor's subtype (NoEmail, Suppressed, bad-domain, ...) when it gave one */
            rc->reason = rc->reason_hint != BNC_R_UNDEFINED &&
                                 (bnc_reason_side(rc->reason_hint) == BNC_SIDE_DEAD ||
                                  rc->reason_hint == BNC_R_SUPPRESSED)
                             ? rc->reason_hint
                             : BNC_R_USERUNKNOWN;
        }
        rc->kind = BNC_KIND_HARD;
        rc->hard = 1;
        break;
    case EV_V_UNDETERMINED:
        if (rc->kind != BNC_KIND_HARD && rc->kind != BNC_KIND_SOFT) {
            rc->kind = BNC_KIND_UNKNOWN;
            rc->hard = -1;
        }
        return;
    }
    rc->decided_by = report_strndup(st->r, why, strlen(why));
    if (strncmp(rc->status + 1, ".0.9", 4) == 0) {
        rc->status[0] = '\0'; /* a pseudo code of the reason before the vendor's judgement */
    }
    if (rc->status[0] == '\0' && v != EV_V_COMPLAINT) {
        reason_pseudo_status(rc->reason, v == EV_V_TRANSIENT, rc->status);
    }
}

/* The parse of one input by its format's parser, with st->stream the line state of a log
 * format; then classification and the vendor's judgement. */
static bnc_status
events_run(bnc_ctx *ctx, struct ev_state *st, const char *data, size_t len, char *err,
           size_t errlen)
{
    static bnc_status (*const parsers[EVENTS__COUNT])(struct ev_state *, const char *, size_t,
                                                      char *, size_t) = {
        [EVENTS_SES] = ev_ses,           [EVENTS_SENDGRID] = ev_sendgrid,
        [EVENTS_MAILGUN] = ev_mailgun,   [EVENTS_POSTMARK] = ev_postmark,
        [EVENTS_SPARKPOST] = ev_sparkpost, [EVENTS_PMTA] = ev_pmta,
        [EVENTS_MAILLOG] = ev_maillog,   [EVENTS_PMTA_FBL] = ev_pmta,
        [EVENTS_EXIM] = ev_exim,
    };
    const struct bnc_config *cfg = bnc_ctx_config(ctx);
    struct parse_limits lim;
    bnc_report *r;
    bnc_status rc;
    size_t i;

    /* An empty message gives an empty report with its own arena: the container for the
     * verdicts, classified like those of any bounce. */
    parse_limits_from_config(&lim, cfg);
    lim.dsn_rcpts = len / EV_MIN_EVENT_BYTES + 1;
    if ((rc = parse_message(&lim, "", 0, &r)) != BNC_OK) {
        return rc;
    }
    r->flags = 0;
    st->r = r;
    st->cap = lim.dsn_rcpts;
    st->json_depth = (size_t)cfg->limit_json_depth;
    st->vendor = arena_calloc(r->arena, st->cap);
    st->vendor_why = arena_calloc(r->arena, st->cap * sizeof(*st->vendor_why));
    if (st->vendor == NULL || st->vendor_why == NULL) {
        bnc_report_free(r);
        st->r = NULL;
        return BNC_ELIMIT;
    }
    rc = parsers[st->f](st, data, len, err, errlen);
    if (rc == BNC_OK && (r->flags & (BNC_PF_TOO_MANY_RCPTS | BNC_PF_TRUNCATED)) != 0) {
        snprintf(err, errlen, "more than %zu events in one input: refused whole, split it",
                 st->cap);
        rc = BNC_ELIMIT;
    }
    if (rc != BNC_OK) {
        bnc_report_free(r);
        st->r = NULL;
        return rc;
    }
    classify_report(ctx->rules, r);
    for (i = 0; i < r->nrcpts; i++) {
        ev_apply_vendor(st, i);
    }
    return BNC_OK;
}

bnc_status
events_parse(bnc_ctx *ctx, enum events_format f, const char *data, size_t len, bnc_report **out,
             char *err, size_t errlen)
{
    struct events_stream *stream = NULL;
    struct ev_state st;
    size_t cap;
    bnc_status rc;

    *out = NULL;
    err[0] = '\0';
    if (ctx == NULL || (unsigned)f >= EVENTS__COUNT || (data == NULL && len != 0)) {
        return BNC_EINVAL;
    }
    cap = events_format_is_log(f) ? bnc_ctx_config(ctx)->limit_message_size
                                  : bnc_ctx_config(ctx)->limit_webhook_body;
    if (len > cap) {
        snprintf(err, errlen, "input of %zu bytes is over the limit of %zu", len, cap);
        return BNC_ELIMIT;
    }
    if (events_format_is_log(f) &&
        (rc = events_stream_new(f, NULL, &stream, err, errlen)) != BNC_OK) {
        return rc;
    }
    memset(&st, 0, sizeof(st));
    st.f = f;
    st.stream = stream;
    rc = events_run(ctx, &st, data, len, err, errlen);
    events_stream_free(stream);
    if (rc == BNC_OK && st.overlong > 0) {
        snprintf(err, errlen, "%zu lines longer than %u bytes: refused whole", st.overlong,
                 EVENTS_MAX_LINE);
        bnc_report_free(st.r);
        return BNC_ELIMIT;
    }
    *out = rc == BNC_OK ? st.r : NULL;
    return rc;
}

bnc_status
events_stream_parse(bnc_ctx *ctx, struct events_stream *s, const char *data, size_t len,
                    bnc_report **out, size_t *overlong_out, char *err, size_t errlen)
{
    struct ev_state st;
    bnc_status rc;

    *out = NULL;
    err[0] = '\0';
    if (overlong_out != NULL) {
        *overlong_out = 0;
    }
    if (ctx == NULL || s == NULL || (data == NULL && len != 0)) {
        return BNC_EINVAL;
    }
    memset(&st, 0, sizeof(st));
    st.f = s->f;
    st.stream = s;
    rc = events_run(ctx, &st, data, len, err, errlen);
    if (overlong_out != NULL) {
        *overlong_out = st.overlong;
    }
    *out = rc == BNC_OK ? st.r : NULL;
    return rc;
}

/* ---- signatures ---- */

static int
hexval(char c)
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

bool
events_mailgun_verify(const char *signing_key, const char *timestamp, const char *token,
                      const char *signature_hex)
{
    unsigned char mac[EVP_MAX_MD_SIZE], want[32];
    unsigned int maclen = 0;
    char msg[512];
    size_t i;
    unsigned char diff = 0;
    int n;

    if (signing_key == NULL || timestamp == NULL || token == NULL || signature_hex == NULL ||
        strlen(signature_hex) != 64) {
        return false;
    }
    n = snprintf(msg, sizeof(msg), "%s%s", timestamp, token);
    if (n < 0 || (size_t)n >= sizeof(msg)) {
        return false;
    }
    for (i = 0; i < 32; i++) {
        int hi = hexval(signature_hex[2 * i]), lo = hexval(signature_hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        want[i] = (unsigned char)(hi << 4 | lo);
    }
    if (HMAC(EVP_sha256(), signing_key, (int)strlen(signing_key), (const unsigned char *)msg,
             (size_t)n, mac, &maclen) == NULL ||
        maclen != 32) {
        return false;
    }
    for (i = 0; i < 32; i++) {
        diff |= (unsigned char)(mac[i] ^ want[i]);
    }
    return diff == 0;
}

/* Decode base64 (standard alphabet, padding optional, no white space); caller frees. */
unsigned char *
events_b64_decode(const char *s, size_t *out_len)
{
    size_t n = strlen(s), cap = n / 4 * 3 + 3;
    unsigned char *out = xmalloc(cap);
    EVP_ENCODE_CTX *c = EVP_ENCODE_CTX_new();
    int l1 = 0, l2 = 0;

    if (c == NULL) {
        free(out);
        return NULL;
    }
    EVP_DecodeInit(c);
    if (EVP_DecodeUpdate(c, out, &l1, (const unsigned char *)s, (int)n) < 0 ||
        EVP_DecodeFinal(c, out + l1, &l2) < 0) {
        EVP_ENCODE_CTX_free(c);
        free(out);
        return NULL;
    }
    EVP_ENCODE_CTX_free(c);
    *out_len = (size_t)(l1 + l2);
    return out;
}

bool
events_sendgrid_verify(const char *pubkey_b64, const char *timestamp, const char *body,
                       size_t body_len, const char *signature_b64)
{
    unsigned char *der = NULL, *sig = NULL;
    const unsigned char *dp;
    size_t der_len = 0, sig_len = 0;
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *md = NULL;
    bool ok = false;

    if (pubkey_b64 == NULL || timestamp == NULL || signature_b64 == NULL ||
        (body == NULL && body_len != 0)) {
        return false;
    }
    if ((der = events_b64_decode(pubkey_b64, &der_len)) == NULL ||
        (sig = events_b64_decode(signature_b64, &sig_len)) == NULL) {
        goto out;
    }
    dp = der;
    if ((key = d2i_PUBKEY(NULL, &dp, (long)der_len)) == NULL) {
        goto out;
    }
    if ((md = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestVerifyUpdate(md, timestamp, strlen(timestamp)) != 1 ||
        EVP_DigestVerifyUpdate(md, body, body_len) != 1) {
        goto out;
    }
    ok = EVP_DigestVerifyFinal(md, sig, sig_len) == 1;
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    free(der);
    free(sig);
    return ok;
}
