/*
 * keys.c - the identity of a bounce message and the dedupe key of a verdict (see keys.h).
 *
 * A bounce is counted once however many times and by however many paths it arrives: an MTA
 * retrying after our crash between the spool commit and the 250 (the retry carries a new
 * Received line and a new spool id), the same DSN posted to POST /api/v1/bounces, the same
 * failure as a DSN and as a Postfix log line. So neither the bytes as received nor the
 * source may be part of what identifies it:
 *   - a message's identity is hashed without the trace fields each hop adds (RFC 5321 §4.4
 *     Return-Path and Received; the Delivered-To / X-Original-To / Envelope-To lines MTAs
 *     write at final delivery; the Authentication-Results / ARC / Received-SPF fields of the
 *     receiving side), with line ends canonical (CRLF and LF alike) and trailing blank lines
 *     dropped, since the DATA terminator and an HTTP body differ there;
 *   - an event's key names the failure: the original message, the recipient, the status and
 *     the day (a retry storm of the same delayed message in one day is one event, which is
 *     what the policy counts anyway), falling back to the message's identity, then to what
 *     a log line or vendor event says about itself (queue id, time).
 * What it does not do: decide which path counts (the store keeps every path that reported
 * an event) or look anything up.
 * STANDARDS: RFC 5321 §4.4 (trace information), RFC 5322 §3.6.4 (Message-ID), §3.6.7 (trace
 * fields), RFC 7601 (Authentication-Results), RFC 8617 (ARC).
 * LIMITS: keys longer than KEY_MAX - 1 bytes are hashed; a header field name longer than
 * 64 bytes is never a trace field.
 */
#include "pipeline/keys.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"
#include "store/model.h"

#define KEY_DAY 86400

/* Header fields added in transit or at delivery, not by whoever wrote the bounce. */
static const char *const trace_fields[] = {
    "received",         "return-path",    "x-original-to",
    "delivered-to",     "x-delivered-to", "envelope-to",
    "x-envelope-to",    "x-envelope-from", "received-spf",
    "authentication-results", "arc-seal", "arc-message-signature",
    "arc-authentication-results", "x-received",
};

static void
hex_out(const unsigned char *md, unsigned int n, char out[KEY_HASH_HEX + 1])
{
    static const char hx[] = "0123456789abcdef";
    unsigned int i;

    for (i = 0; i < n && 2 * i + 1 < KEY_HASH_HEX + 1; i++) {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[2 * i] = '\0';
}

void
key_sha256_hex(const void *data, size_t len, char out[KEY_HASH_HEX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1) {
        mdlen = 0;
    }
    hex_out(md, mdlen, out);
}

/* Is the header line p[0..n) the start of a trace field? */
static bool
is_trace_field(const char *p, size_t n)
{
    const char *colon = memchr(p, ':', n);
    size_t nl, i;

    if (colon == NULL) {
        return false;
    }
    nl = (size_t)(colon - p);
    while (nl > 0 && (p[nl - 1] == ' ' || p[nl - 1] == '\t')) {
        nl--;
    }
    if (nl == 0 || nl > 64) {
        return false;
    }
    for (i = 0; i < sizeof(trace_fields) / sizeof(trace_fields[0]); i++) {
        if (strlen(trace_fields[i]) == nl && strncasecmp(p, trace_fields[i], nl) == 0) {
            return true;
        }
    }
    return false;
}

struct ident_walk {
    EVP_MD_CTX *md;
    bool in_header;
    bool skipping;  /* inside a trace field (its continuation lines too) */
    size_t blank;   /* body blank lines not hashed yet: dropped when nothing follows */
};

static void
ident_line(struct ident_walk *w, const char *p, size_t n)
{
    if (w->in_header) {
        if (n == 0) {
            w->in_header = false;
            EVP_DigestUpdate(w->md, "\n", 1);
            return;
        }
        if (p[0] != ' ' && p[0] != '\t') {
            w->skipping = is_trace_field(p, n);
        }
        if (!w->skipping) {
            EVP_DigestUpdate(w->md, p, n);
            EVP_DigestUpdate(w->md, "\n", 1);
        }
        return;
    }
    if (n == 0) {
        w->blank++;
        return;
    }
    for (; w->blank > 0; w->blank--) {
        EVP_DigestUpdate(w->md, "\n", 1);
    }
    EVP_DigestUpdate(w->md, p, n);
    EVP_DigestUpdate(w->md, "\n", 1);
}

void
key_message_identity(const char *data, size_t len, char out[KEY_HASH_HEX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    struct ident_walk w;
    const char *p = data, *end = data + len, *nl;

    memset(&w, 0, sizeof(w));
    w.in_header = true;
    if ((w.md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(w.md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(w.md);
        key_sha256_hex(data, len, out);
        return;
    }
    while (p < end) {
        size_t n;
        nl = memchr(p, '\n', (size_t)(end - p));
        n = (size_t)((nl != NULL ? nl : end) - p);
        if (n > 0 && p[n - 1] == '\r') {
            n--;
        }
        ident_line(&w, p, n);
        p = nl != NULL ? nl + 1 : end;
    }
    if (EVP_DigestFinal_ex(w.md, md, &mdlen) != 1) {
        mdlen = 0;
    }
    EVP_MD_CTX_free(w.md);
    hex_out(md, mdlen, out);
}

/* A Message-ID as compared: white space and the angle brackets around it removed. */
static void
msgid_core(const char *s, const char **p_out, size_t *n_out)
{
    size_t n;

    *p_out = "";
    *n_out = 0;
    if (s == NULL) {
        return;
    }
    while (*s == ' ' || *s == '\t' || *s == '<') {
        s++;
    }
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                     s[n - 1] == '\n' || s[n - 1] == '>')) {
        n--;
    }
    *p_out = s;
    *n_out = n;
}

/* Format a key into out; one longer than KEY_MAX - 1 becomes "sha256:" and the hash of the
 * whole text (a long Message-ID or ref still gives a key of its own). */
static void key_format(char out[KEY_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
key_format(char out[KEY_MAX], const char *fmt, ...)
{
    char hex[KEY_HASH_HEX + 1], *big;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, KEY_MAX, fmt, ap);
    va_end(ap);
    if (n >= 0 && n < KEY_MAX) {
        return;
    }
    big = xmalloc(n > 0 ? (size_t)n + 1 : 1);
    big[0] = '\0';
    if (n > 0) {
        va_start(ap, fmt);
        (void)vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    key_sha256_hex(big, strlen(big), hex);
    free(big);
    snprintf(out, KEY_MAX, "sha256:%s", hex);
}

void
key_event(char out[KEY_MAX], const struct bnc_rcpt *v, const char *identity, const char *ref,
          int64_t t)
{
    char rcpt[MODEL_EMAIL_MAX + 1];
    const char *mid, *origin = v->origin != NULL ? v->origin : "";
    size_t midlen;
    long long day = (long long)(t / KEY_DAY);

    if (!model_normalize_email(v->recipient, rcpt)) {
        snprintf(rcpt, sizeof(rcpt), "%s", v->recipient != NULL ? v->recipient : "");
    }
    msgid_core(v->original_message_id, &mid, &midlen);
    if (midlen > 0) {
        key_format(out, "fail|%.*s|%s|%s|%lld", (int)midlen, mid, rcpt, v->status, day);
    } else if (identity != NULL && identity[0] != '\0') {
        key_format(out, "msg|%s|%s|%s", identity, rcpt, v->status);
    } else if ((v->message_id != NULL && v->message_id[0] != '\0') || v->time > 0) {
        key_format(out, "ev|%s|%s|%s|%s|%lld", origin, v->message_id != NULL ? v->message_id : "",
                   rcpt, v->status, (long long)v->time);
    } else {
        key_format(out, "ev|%s|%s|%s|%s|%lld", origin, ref != NULL ? ref : "", rcpt, v->status,
                   day);
    }
}
