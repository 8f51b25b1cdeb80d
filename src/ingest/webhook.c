/*
 * webhook.c - POST /webhooks/{esp}: authenticate, normalise, apply (see webhook.h).
 *
 * Each verdict is applied in its own pipeline transaction and deduplicated by its content,
 * so an ESP that retries a delivery (they all do on timeouts) changes nothing the second
 * time. SNS subscription handshakes are answered 200 and logged with their SubscribeURL for
 * the operator to confirm: bounced never fetches URLs named by untrusted input.
 * STANDARDS: RFC 6750 (Bearer), RFC 7617 (Basic); vendor signature schemes in events.c.
 * LIMITS: the body limit is the HTTP layer's; the payload limits are events_parse()'s.
 */
#include "ingest/webhook.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "core/log.h"
#include "ingest/events.h"
#include "ingest/events_int.h"
#include "ingest/webhook_sns.h"
#include "pipeline/process.h"
#include "store/ingest_state.h"
#include "store/store.h"

#define WEBHOOK_HDR_MAX 1024

/* The outcome of a vendor's own check. */
enum wh_auth {
    WH_NONE = 0,    /* none configured for this vendor: the shared token decides */
    WH_OK,          /* configured and passed */
    WH_BAD,         /* configured and failed */
    WH_REPLAY,      /* a signature seen before */
    WH_UNAVAILABLE, /* the store could not say */
};

static pthread_key_t webhook_key;
static pthread_once_t webhook_once = PTHREAD_ONCE_INIT;

static void
webhook_store_close(void *p)
{
    store_close(p);
}

static void
webhook_key_init(void)
{
    (void)pthread_key_create(&webhook_key, webhook_store_close);
}

/* This thread's store connection, opened on first use. */
static struct store *
webhook_store(const struct bnc_config *cfg, char *err, size_t errlen)
{
    struct store *st;

    pthread_once(&webhook_once, webhook_key_init);
    if ((st = pthread_getspecific(webhook_key)) != NULL) {
        return st;
    }
    if (store_open(cfg->store_url, cfg, &st, err, errlen) != BNC_OK) {
        return NULL;
    }
    if (pthread_setspecific(webhook_key, st) != 0) {
        store_close(st);
        return NULL;
    }
    return st;
}

/* Value of header `name` in "Name: value\n" lines, copied into out; false when absent. */
static bool
webhook_header(const char *headers, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    const char *p = headers;

    while (p != NULL && *p) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l > n + 1 && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            size_t vl = l - n - 1;
            while (vl && (*v == ' ' || *v == '\t')) {
                v++;
                vl--;
            }
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' ')) {
                vl--;
            }
            if (vl >= outlen) {
                return false;
            }
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
        p = nl ? nl + 1 : NULL;
    }
    return false;
}

static bool
webhook_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la == lb && la > 0 && CRYPTO_memcmp(a, b, la) == 0;
}

/* The "user:password" of Basic credentials in the Authorization header, into out. */
static bool
webhook_basic(const char *headers, char *out, size_t outlen)
{
    char auth[WEBHOOK_HDR_MAX];
    unsigned char dec[WEBHOOK_HDR_MAX];
    const char *b64;
    size_t bl;
    int n;

    if (!webhook_header(headers, "Authorization", auth, sizeof(auth)) ||
        strncasecmp(auth, "Basic ", 6) != 0) {
        return false;
    }
    b64 = auth + 6;
    bl = strlen(b64);
    if (bl == 0 || bl % 4 != 0 || bl / 4 * 3 >= sizeof(dec)) {
        return false;
    }
    if ((n = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)bl)) <= 0) {
        return false;
    }
    while (n > 0 && b64[bl - 1] == '=' && dec[n - 1] == '\0') {
        n--; /* EVP_DecodeBlock counts padding as zero bytes */
        bl--;
    }
    if ((size_t)n >= outlen || memchr(dec, '\0', (size_t)n) != NULL) {
        return false;
    }
    memcpy(out, dec, (size_t)n);
    out[n] = '\0';
    return true;
}

/* The shared token: "Bearer TOKEN" or "Basic base64(user:TOKEN)". */
static bool
webhook_token_ok(const struct bnc_config *cfg, const char *headers)
{
    char auth[WEBHOOK_HDR_MAX];
    const char *colon;

    if (cfg->webhook_token == NULL || cfg->webhook_token[0] == '\0') {
        return false;
    }
    if (webhook_header(headers, "Authorization", auth, sizeof(auth)) &&
        strncasecmp(auth, "Bearer ", 7) == 0) {
        return webhook_eq(auth + 7, cfg->webhook_token);
    }
    if (webhook_basic(headers, auth, sizeof(auth)) && (colon = strchr(auth, ':')) != NULL) {
        return webhook_eq(colon + 1, cfg->webhook_token);
    }
    return false;
}

static bool
webhook_fresh(const struct bnc_config *cfg, int64_t ts, int64_t now)
{
    int64_t d = now - ts;
    return ts > 0 && d <= cfg->webhook_max_age && -d <= cfg->webhook_max_age;
}

/* Mailgun signs every body (JSON "signature" object, or the legacy form's fields); a token
 * seen before in the replay window is a replay. token_out: the token, to remember. */
static enum wh_auth
webhook_mailgun_ok(const struct bnc_config *cfg, struct store *st, const char *body, size_t len,
                   int64_t now, char *token_out, size_t tokenlen)
{
    char ts[32], sig[130];
    bool seen = false;

    if (!events_mailgun_signature(body, len, ts, sizeof(ts), token_out, tokenlen, sig,
                                  sizeof(sig)) ||
        !webhook_fresh(cfg, (int64_t)strtoll(ts, NULL, 10), now) ||
        !events_mailgun_verify(cfg->webhook_mailgun_key, ts, token_out, sig)) {
        return WH_BAD;
    }
    if (ingest_replay_seen(st, "mailgun", token_out, now, cfg->webhook_max_age, &seen) !=
        BNC_OK) {
        return WH_UNAVAILABLE;
    }
    return seen ? WH_REPLAY : WH_OK;
}

static bool
webhook_sendgrid_ok(const struct bnc_config *cfg, const char *body, size_t len,
                    const char *headers, int64_t now)
{
    char sig[WEBHOOK_HDR_MAX], ts[64];
    char *end;
    long long t;

    if (cfg->webhook_sendgrid_pubkey == NULL || cfg->webhook_sendgrid_pubkey[0] == '\0' ||
        !webhook_header(headers, "X-Twilio-Email-Event-Webhook-Signature", sig, sizeof(sig)) ||
        !webhook_header(headers, "X-Twilio-Email-Event-Webhook-Timestamp", ts, sizeof(ts))) {
        return false;
    }
    t = strtoll(ts, &end, 10);
    if (*end != '\0' || !webhook_fresh(cfg, (int64_t)t, now)) {
        return false;
    }
    return events_sendgrid_verify(cfg->webhook_sendgrid_pubkey, ts, body, len, sig);
}

/* Postmark and SparkPost: every configured credential must be there: Basic auth of
 * "user:password" and a "Name: value" custom header. */
static enum wh_auth
webhook_shared_ok(const char *basic, const char *header, const char *headers)
{
    char got[WEBHOOK_HDR_MAX], name[256];
    const char *colon;
    bool have_b = basic != NULL && basic[0] != '\0', have_h = header != NULL && header[0] != '\0';

    if (!have_b && !have_h) {
        return WH_NONE;
    }
    if (have_b && !(webhook_basic(headers, got, sizeof(got)) && webhook_eq(got, basic))) {
        return WH_BAD;
    }
    if (have_h) {
        const char *v;
        if ((colon = strchr(header, ':')) == NULL || (size_t)(colon - header) >= sizeof(name)) {
            return WH_BAD;
        }
        memcpy(name, header, (size_t)(colon - header));
        name[colon - header] = '\0';
        for (v = colon + 1; *v == ' '; v++) {
        }
        if (!webhook_header(headers, name, got, sizeof(got)) || !webhook_eq(got, v)) {
            return WH_BAD;
        }
    }
    return WH_OK;
}

static bool
webhook_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* The vendor's own check for f, when one is configured (see webhook.h). */
static enum wh_auth
webhook_vendor_ok(const struct bnc_config *cfg, struct store *st, enum events_format f,
                  const char *body, size_t len, const char *headers, int64_t now, char *token,
                  size_t tokenlen)
{
    char why[160];

    switch (f) {
    case EVENTS_MAILGUN:
        return webhook_set(cfg->webhook_mailgun_key)
                   ? webhook_mailgun_ok(cfg, st, body, len, now, token, tokenlen)
                   : WH_NONE;
    case EVENTS_SENDGRID:
        return !webhook_set(cfg->webhook_sendgrid_pubkey)                  ? WH_NONE
               : webhook_sendgrid_ok(cfg, body, len, headers, now) ? WH_OK
                                                                           : WH_BAD;
    case EVENTS_SES:
        if (!webhook_set(cfg->webhook_sns_cert)) {
            return WH_NONE;
        }
        if (sns_verify(cfg->webhook_sns_cert, body, len, why, sizeof(why))) {
            return WH_OK;
        }
        log_warnx("event=webhook esp=ses status=bad_signature detail=\"%s\"", why);
        return WH_BAD;
    case EVENTS_POSTMARK:
        return webhook_shared_ok(cfg->webhook_postmark_basic, cfg->webhook_postmark_header,
                                 headers);
    case EVENTS_SPARKPOST:
        return webhook_shared_ok(cfg->webhook_sparkpost_basic, cfg->webhook_sparkpost_header,
                                 headers);
    default:
        return WH_NONE;
    }
}

/* Authenticate one call (webhook.h): 0 when it may go on, else the HTTP status (reply
 * written). token: the Mailgun token to remember once the call is applied. */
static int
webhook_auth(const struct bnc_config *cfg, struct store *st, enum events_format f,
             const char *body, size_t len, const char *headers, int64_t now, char *token,
             size_t tokenlen, char *reply, size_t replylen)
{
    enum wh_auth va = webhook_vendor_ok(cfg, st, f, body, len, headers, now, token, tokenlen);

    if (va == WH_OK || (va == WH_NONE && webhook_token_ok(cfg, headers))) {
        return 0;
    }
    if (va == WH_UNAVAILABLE) {
        snprintf(reply, replylen,
                 "{\"error\":{\"code\":\"unavailable\",\"message\":\"store unavailable\"}}");
        return 503;
    }
    snprintf(reply, replylen,
             "{\"error\":{\"code\":\"unauthorized\",\"message\":\"%s\"}}",
             va == WH_REPLAY ? "this signature was used before (replay)"
             : va == WH_BAD  ? "the vendor's signature or credentials do not verify"
                             : "no valid webhook token");
    return 401;
}

/* A parse failure as the reply: 413 too large, 400 not the vendor's format. */
static int
webhook_bad_payload(bnc_status rc, const char *err, char *reply, size_t replylen)
{
    char msg[400];
    struct buf b;

    buf_init(&b, 0);
    snprintf(msg, sizeof(msg), "%.300s", err[0] ? err : bnc_strerror(rc));
    buf_add_json_str(&b, msg, strlen(msg));
    snprintf(reply, replylen, "{\"error\":{\"code\":\"%s\",\"message\":%s}}",
             rc == BNC_ELIMIT ? "too_large" : "bad_payload", b.p ? b.p : "\"\"");
    buf_free(&b);
    return rc == BNC_ELIMIT ? 413 : 400;
}

/* Apply every verdict of r, each in its own transaction: 200, or 5xx on a store failure
 * (the ESP retries, and what was applied is deduplicated then). */
static int
webhook_apply(bnc_ctx *ctx, struct store *st, enum events_format f, const bnc_report *r,
              int64_t now, char *reply, size_t replylen)
{
    struct pipeline *pl = NULL;
    size_t i, n = bnc_report_rcpt_count(r), applied = 0, dups = 0;
    bnc_status rc;

    if (pipeline_new(ctx, st, &pl) != BNC_OK) {
        snprintf(reply, replylen, "{\"error\":{\"code\":\"internal\",\"message\":\"pipeline\"}}");
        return 500;
    }
    pipeline_set_now(pl, now);
    for (i = 0; i < n; i++) {
        struct pipeline_result res;
        rc = pipeline_process_verdicts(pl, bnc_report_rcpt(r, i), 1, events_format_origin(f),
                                       NULL, &res);
        if (rc != BNC_OK) {
            log_warnx("event=webhook esp=%s status=store_failed detail=\"%s\"",
                      events_format_name(f), pipeline_errmsg(pl));
            pipeline_free(pl);
            snprintf(reply, replylen,
                     "{\"error\":{\"code\":\"store_failed\",\"message\":\"retry later\"}}");
            return rc == BNC_EBUSY || rc == BNC_ESTORE || rc == BNC_EIO ? 503 : 500;
        }
        dups += res.duplicate ? 1 : 0;
        applied += res.duplicate ? 0 : 1;
    }
    pipeline_free(pl);
    log_info("event=webhook esp=%s verdicts=%zu applied=%zu duplicates=%zu",
             events_format_name(f), n, applied, dups);
    snprintf(reply, replylen, "{\"verdicts\":%zu,\"applied\":%zu,\"duplicates\":%zu}", n,
             applied, dups);
    return 200;
}

/* An SNS SubscriptionConfirmation: stored for `bounced webhook confirm`, never fetched. */
static void
webhook_sns_subscription(struct store *st, const char *body, size_t len, int64_t now)
{
    char topic[512], url[2048], mid[128];

    if (!sns_subscription(body, len, topic, sizeof(topic), url, sizeof(url), mid, sizeof(mid))) {
        log_warnx("event=webhook esp=ses status=subscription_refused detail=\"a "
                  "SubscriptionConfirmation without an https SubscribeURL of an SNS host\"");
        return;
    }
    if (ingest_sns_add(st, topic, url, mid, now) != BNC_OK) {
        log_warnx("event=webhook esp=ses status=subscription_not_stored detail=\"%s\"",
                  store_errmsg(st));
        return;
    }
    log_info("event=sns_subscription topic=%s subscribe_url=%s (confirm with `bounced webhook "
             "confirm`)",
             topic, url);
}

static bool
webhook_any_auth(const struct bnc_config *cfg)
{
    return webhook_set(cfg->webhook_token) || webhook_set(cfg->webhook_mailgun_key) ||
           webhook_set(cfg->webhook_sendgrid_pubkey) || webhook_set(cfg->webhook_sns_cert) ||
           webhook_set(cfg->webhook_postmark_basic) || webhook_set(cfg->webhook_postmark_header) ||
           webhook_set(cfg->webhook_sparkpost_basic) || webhook_set(cfg->webhook_sparkpost_header);
}

int
webhook_receive(bnc_ctx *ctx, const struct bnc_config *cfg, const char *esp, const char *body,
                size_t len, const char *headers, int64_t now, char *reply, size_t replylen)
{
    enum events_format f;
    bnc_report *r = NULL;
    struct store *st;
    char err[512], token[256] = "";
    bnc_status rc;
    int status;

    reply[0] = '\0';
    if (!events_format_from_name(esp, &f) || events_format_is_log(f)) {
        snprintf(reply, replylen,
                 "{\"error\":{\"code\":\"not_found\",\"message\":\"no webhook for '%.40s'; "
                 "one of ses, sendgrid, mailgun, postmark, sparkpost\"}}",
                 esp);
        return 404;
    }
    if (!webhook_any_auth(cfg)) {
        snprintf(reply, replylen,
                 "{\"error\":{\"code\":\"forbidden\",\"message\":\"webhooks are off: set "
                 "webhook.token (or a vendor signing key)\"}}");
        return 403;
    }
    if ((st = webhook_store(cfg, err, sizeof(err))) == NULL) {
        log_warnx("event=webhook esp=%s status=store_unavailable detail=\"%s\"",
                  events_format_name(f), err);
        snprintf(reply, replylen,
                 "{\"error\":{\"code\":\"unavailable\",\"message\":\"store unavailable\"}}");
        return 503;
    }
    if ((status = webhook_auth(cfg, st, f, body, len, headers, now, token, sizeof(token), reply,
                               replylen)) != 0) {
        return status;
    }
    if ((rc = events_parse(ctx, f, body, len, &r, err, sizeof(err))) != BNC_OK) {
        return webhook_bad_payload(rc, err, reply, replylen);
    }
    if (bnc_report_rcpt_count(r) == 0 && (bnc_report_flags(r) & BNC_PF_NOT_BOUNCE) &&
        f == EVENTS_SES) {
        webhook_sns_subscription(st, body, len, now);
    }
    status = webhook_apply(ctx, st, f, r, now, reply, replylen);
    bnc_report_free(r);
    if (status == 200 && token[0] != '\0' && f == EVENTS_MAILGUN &&
        (rc = ingest_replay_check(st, "mailgun", token, now, cfg->webhook_max_age)) != BNC_OK &&
        rc != BNC_ECONFLICT) {
        log_warnx("event=webhook esp=mailgun status=token_not_remembered detail=\"%s\"",
                  store_errmsg(st));
    }
    return status;
}
