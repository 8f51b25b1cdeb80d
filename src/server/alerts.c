/*
 * alerts.c - the alerts' way out (contract in alerts.h): syslog and /metrics once per
 * alert, then a signed POST to alerts.webhook_url until the receiver answers 2xx, with
 * exponential back-off between tries and the dead-letter list (state "dead") after
 * alerts.max_attempts failures.
 *
 * The signature is HMAC-SHA256 over "<timestamp>.<body>" with alerts.webhook_secret, sent as
 * X-Bounced-Signature: v1=<hex> with X-Bounced-Timestamp: <unix seconds>; a receiver
 * recomputes it and refuses a stale timestamp (replay). The body never changes between
 * tries, so "id" deduplicates; only the timestamp and signature are new on each try.
 * What it does not do: decide that something is worth an alert (store/model_alerts.c).
 * STANDARDS: RFC 2104 (HMAC), FIPS 180-4 (SHA-256), RFC 9110 (HTTP semantics), RFC 5424
 * (syslog severities).
 * LIMITS: 100 alerts per call; a receiver's answer is read up to 64 KiB (more is an error,
 * never silently cut), a delivery takes at most alerts.timeout; errors recorded up to 512
 * bytes; http and https only, no redirects.
 * Ownership: see alerts.h.
 */
#include "server/alerts.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "ingest/http_client.h"
#include "store/guards.h"

#define ALERTS_BATCH     100
#define ALERTS_REPLY_MAX (64u * 1024u)

/* One due alert, copied out of the store's callback. */
struct due {
    int64_t id, attempts;
    bool announced, pending;
    char kind[16], scope[16], metric[32], key[GUARD_KEY_MAX + 1];
    int64_t value, threshold;
    char *payload;
};

struct due_list {
    struct due v[ALERTS_BATCH];
    size_t n;
};

void
alerts_sign(const char *secret, int64_t ts, const char *body, size_t len, char out[68])
{
    static const char hx[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;
    char prefix[32];
    int pn = snprintf(prefix, sizeof(prefix), "%lld.", (long long)ts);
    char *msg = xmalloc((size_t)pn + len + 1);

    memcpy(msg, prefix, (size_t)pn);
    memcpy(msg + pn, body, len);
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg,
             (size_t)pn + len, md, &mdlen) == NULL) {
        mdlen = 0;
    }
    free(msg);
    memcpy(out, "v1=", 3);
    for (i = 0; i < mdlen && i < 32; i++) {
        out[3 + 2 * i] = hx[md[i] >> 4];
        out[3 + 2 * i + 1] = hx[md[i] & 15];
    }
    out[3 + 2 * i] = '\0';
}

int64_t
alerts_backoff(int64_t base, int64_t attempt)
{
    int64_t d = base > 0 ? base : 1;

    while (attempt-- > 1 && d < ALERTS_BACKOFF_MAX) {
        d *= 2;
    }
    return d < ALERTS_BACKOFF_MAX ? d : ALERTS_BACKOFF_MAX;
}

static int
due_cb(void *ud, const struct guard_alert *a)
{
    struct due_list *dl = ud;
    struct due *d;

    if (dl->n == ALERTS_BATCH) {
        return 1;
    }
    d = &dl->v[dl->n++];
    d->id = a->id;
    d->attempts = a->attempts;
    d->announced = a->announced;
    d->pending = strcmp(a->state, "pending") == 0;
    snprintf(d->kind, sizeof(d->kind), "%s", a->kind);
    snprintf(d->scope, sizeof(d->scope), "%s", a->scope);
    snprintf(d->metric, sizeof(d->metric), "%s", a->metric);
    snprintf(d->key, sizeof(d->key), "%s", a->key);
    d->value = a->value;
    d->threshold = a->threshold;
    d->payload = xstrdup(a->payload);
    return 0;
}

/* syslog and metrics, once per alert */
static bnc_status
announce(struct store *st, const struct bnc_config *cfg, const struct due *d)
{
    char labels[128];

    if (cfg->alerts_syslog) {
        syslog(LOG_MAIL | LOG_WARNING,
               "bounced alert id=%lld type=%s scope=%s key=%s metric=%s value=%lld "
               "threshold=%lld",
               (long long)d->id, d->kind, d->scope, d->key, d->metric, (long long)d->value,
               (long long)d->threshold);
    }
    snprintf(labels, sizeof(labels), "type=\"%s\",metric=\"%s\"", d->kind, d->metric);
    metrics_counter_add("bounced_alerts_total", labels, 1);
    return guard_alert_announced(st, d->id);
}

/* POST one payload; true when the receiver took it (2xx). err gets why not. */
static bool
post_one(const struct bnc_config *cfg, const struct due *d, int64_t now, char *err, size_t errlen)
{
    char sig[68], hdr_sig[96], hdr_ts[64], hdr_id[64];
    struct http_client_req rq;
    struct buf reply;
    size_t nh = 0;
    long code = 0;
    bnc_status rc;

    memset(&rq, 0, sizeof(rq));
    rq.method = "POST";
    rq.url = cfg->alerts_webhook_url;
    rq.body = d->payload;
    rq.body_len = strlen(d->payload);
    rq.timeout = (long)cfg->alerts_timeout;
    snprintf(hdr_ts, sizeof(hdr_ts), ALERTS_TS_HEADER ": %lld", (long long)now);
    snprintf(hdr_id, sizeof(hdr_id), "X-Bounced-Alert-Id: %lld", (long long)d->id);
    rq.headers[nh++] = "Content-Type: application/json";
    rq.headers[nh++] = hdr_ts;
    rq.headers[nh++] = hdr_id;
    if (cfg->alerts_webhook_secret != NULL && cfg->alerts_webhook_secret[0] != '\0') {
        alerts_sign(cfg->alerts_webhook_secret, now, rq.body, rq.body_len, sig);
        snprintf(hdr_sig, sizeof(hdr_sig), ALERTS_SIG_HEADER ": %s", sig);
        rq.headers[nh++] = hdr_sig;
    }
    buf_init(&reply, ALERTS_REPLY_MAX);
    rc = http_client_do(&rq, &reply, &code, err, errlen);
    buf_free(&reply);
    if (rc == BNC_OK && (code < 200 || code > 299)) {
        snprintf(err, errlen, "receiver answered HTTP %ld", code);
        return false;
    }
    return rc == BNC_OK;
}

/* One pending alert: deliver, or schedule the next try, or give up. */
static bnc_status
deliver(struct store *st, const struct bnc_config *cfg, const struct due *d, int64_t now,
        struct alerts_stats *out)
{
    char err[512] = "";
    int64_t tries = d->attempts + 1;

    if (cfg->alerts_webhook_url == NULL || cfg->alerts_webhook_url[0] == '\0') {
        out->logged++;
        return guard_alert_update(st, d->id, "logged", d->attempts, now, "", 0);
    }
    if (post_one(cfg, d, now, err, sizeof(err))) {
        out->delivered++;
        metrics_counter_add("bounced_alert_deliveries_total", "result=\"delivered\"", 1);
        return guard_alert_update(st, d->id, "delivered", tries, now, "", now);
    }
    log_warnx("event=alert_delivery_failed id=%lld attempt=%lld detail=\"%s\"", (long long)d->id,
              (long long)tries, err);
    if (tries >= cfg->alerts_max_attempts) {
        out->dead++;
        metrics_counter_add("bounced_alert_deliveries_total", "result=\"dead\"", 1);
        return guard_alert_update(st, d->id, "dead", tries, now, err, 0);
    }
    out->retried++;
    metrics_counter_add("bounced_alert_deliveries_total", "result=\"retry\"", 1);
    return guard_alert_update(st, d->id, "pending", tries,
                              now + alerts_backoff(cfg->alerts_retry_base, tries), err, 0);
}

bnc_status
alerts_run(struct store *st, const struct bnc_config *cfg, int64_t now, struct alerts_stats *out)
{
    struct due_list *dl = xcalloc(1, sizeof(*dl));
    bnc_status rc;
    size_t i;

    memset(out, 0, sizeof(*out));
    rc = guard_alert_due(st, now, ALERTS_BATCH, due_cb, dl, NULL);
    for (i = 0; i < dl->n && rc == BNC_OK; i++) {
        if (!dl->v[i].announced && (rc = announce(st, cfg, &dl->v[i])) == BNC_OK) {
            out->announced++;
        }
        if (rc == BNC_OK && dl->v[i].pending) {
            rc = deliver(st, cfg, &dl->v[i], now, out);
        }
    }
    for (i = 0; i < dl->n; i++) {
        free(dl->v[i].payload);
    }
    free(dl);
    return rc;
}
