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
#include "pipeline/process.h"
#include "store/store.h"

#define WEBHOOK_HDR_MAX 1024

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

/* The shared token: "Bearer TOKEN" or "Basic base64(user:TOKEN)". */
static bool
webhook_token_ok(const struct bnc_config *cfg, const char *headers)
{
    char auth[WEBHOOK_HDR_MAX];
    unsigned char dec[WEBHOOK_HDR_MAX];
    int n;

    if (cfg->webhook_token == NULL || cfg->webhook_token[0] == '\0' ||
        !webhook_header(headers, "Authorization", auth, sizeof(auth))) {
        return false;
    }
    if (strncasecmp(auth, "Bearer ", 7) == 0) {
        return webhook_eq(auth + 7, cfg->webhook_token);
    }
    if (strncasecmp(auth, "Basic ", 6) == 0) {
        const char *b64 = auth + 6;
        size_t bl = strlen(b64);
        char *colon;
        if (bl == 0 || bl % 4 != 0 || bl / 4 * 3 >= sizeof(dec)) {
            return false;
        }
        n = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)bl);
        if (n <= 0) {
            return false;
        }
        while (n > 0 && b64[bl - 1] == '=' && dec[n - 1] == '\0') {
            n--; /* EVP_DecodeBlock counts padding as zero bytes */
            bl--;
        }
        dec[n] = '\0';
        if ((colon = strchr((char *)dec, ':')) == NULL) {
            return false;
        }
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

/* Mailgun signs every body: {"signature": {"timestamp", "token", "signature"}}. */
static bool
webhook_mailgun_ok(const struct bnc_config *cfg, const char *body, size_t len, int64_t now)
{
    json_t *j, *sig;
    json_error_t je;
    bool ok = false;

    if (cfg->webhook_mailgun_key == NULL || cfg->webhook_mailgun_key[0] == '\0') {
        return false;
    }
    if ((j = json_loadb(body, len, 0, &je)) == NULL) {
        return false;
    }
    sig = json_object_get(j, "signature");
    ok = webhook_fresh(cfg, ev_jint(sig, "timestamp"), now) &&
         events_mailgun_verify(cfg->webhook_mailgun_key, ev_jstr(sig, "timestamp"),
                               ev_jstr(sig, "token"), ev_jstr(sig, "signature"));
    json_decref(j);
    return ok;
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

int
webhook_receive(bnc_ctx *ctx, const struct bnc_config *cfg, const char *esp, const char *body,
                size_t len, const char *headers, int64_t now, char *reply, size_t replylen)
{
    enum events_format f;
    bnc_report *r = NULL;
    struct store *st;
    struct pipeline *pl = NULL;
    char err[512];
    bool authed;
    size_t i, n, applied = 0, dups = 0;
    bnc_status rc;

    reply[0] = '\0';
    if (!events_format_from_name(esp, &f) || events_format_is_log(f)) {
        snprintf(reply, replylen,
                 "{\"error\":{\"code\":\"not_found\",\"message\":\"no webhook for '%.40s'; "
                 "one of ses, sendgrid, mailgun, postmark, sparkpost\"}}",
                 esp);
        return 404;
    }
    if ((cfg->webhook_token == NULL || cfg->webhook_token[0] == '\0') &&
        (cfg->webhook_mailgun_key == NULL || cfg->webhook_mailgun_key[0] == '\0') &&
        (cfg->webhook_sendgrid_pubkey == NULL || cfg->webhook_sendgrid_pubkey[0] == '\0')) {
        snprintf(reply, replylen,
                 "{\"error\":{\"code\":\"forbidden\",\"message\":\"webhooks are off: set "
                 "webhook.token (or a vendor signing key)\"}}");
        return 403;
    }
    authed = webhook_token_ok(cfg, headers) ||
             (f == EVENTS_MAILGUN && webhook_mailgun_ok(cfg, body, len, now)) ||
             (f == EVENTS_SENDGRID && webhook_sendgrid_ok(cfg, body, len, headers, now));
    if (!authed) {
        snprintf(reply, replylen,
                 "{\"error\":{\"code\":\"unauthorized\",\"message\":\"no valid webhook token "
                 "or %s signature\"}}",
                 events_format_name(f));
        return 401;
    }
    rc = events_parse(ctx, f, body, len, &r, err, sizeof(err));
    if (rc != BNC_OK) {
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
    if ((st = webhook_store(cfg, err, sizeof(err))) == NULL) {
        log_warnx("event=webhook esp=%s status=store_unavailable detail=\"%s\"",
                  events_format_name(f), err);
        bnc_report_free(r);
        snprintf(reply, replylen,
                 "{\"error\":{\"code\":\"unavailable\",\"message\":\"store unavailable\"}}");
        return 503;
    }
    if (pipeline_new(ctx, st, &pl) != BNC_OK) {
        bnc_report_free(r);
        snprintf(reply, replylen, "{\"error\":{\"code\":\"internal\",\"message\":\"pipeline\"}}");
        return 500;
    }
    pipeline_set_now(pl, now);
    n = bnc_report_rcpt_count(r);
    for (i = 0; i < n; i++) {
        struct pipeline_result res;
        rc = pipeline_process_verdicts(pl, bnc_report_rcpt(r, i), 1, events_format_origin(f),
                                       NULL, &res);
        if (rc != BNC_OK) {
            log_warnx("event=webhook esp=%s status=store_failed detail=\"%s\"",
                      events_format_name(f), pipeline_errmsg(pl));
            pipeline_free(pl);
            bnc_report_free(r);
            /* a 5xx makes the ESP retry later; what was applied is deduplicated then */
            snprintf(reply, replylen,
                     "{\"error\":{\"code\":\"store_failed\",\"message\":\"retry later\"}}");
            return rc == BNC_EBUSY || rc == BNC_ESTORE || rc == BNC_EIO ? 503 : 500;
        }
        if (res.duplicate) {
            dups++;
        } else {
            applied++;
        }
    }
    if (n == 0 && (bnc_report_flags(r) & BNC_PF_NOT_BOUNCE)) {
        log_info("event=webhook esp=%s status=no_event (subscription handshake or foreign "
                 "message; confirm SNS subscriptions from the SubscribeURL in the payload)",
                 events_format_name(f));
    }
    log_info("event=webhook esp=%s verdicts=%zu applied=%zu duplicates=%zu",
             events_format_name(f), n, applied, dups);
    snprintf(reply, replylen, "{\"verdicts\":%zu,\"applied\":%zu,\"duplicates\":%zu}", n,
             applied, dups);
    pipeline_free(pl);
    bnc_report_free(r);
    return 200;
}
