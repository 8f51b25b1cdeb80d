/*
 * ops.c - the operational routes: /healthz (the store answers), /metrics (Prometheus), the
 * OpenAPI document and the dashboard's assets (embedded in the binary), and POST
 * /webhooks/{esp}, handed to the daemon's webhook receiver with the headers ESPs sign.
 *
 * /metrics is open unless http.metrics_token is set (then a bearer of that secret).
 * STANDARDS: Prometheus text format 0.0.4 (/metrics); RFC 6750 (bearer); CSP (the dashboard loads nothing from
 * elsewhere).
 * LIMITS: a webhook reply 4 KiB; forwarded headers 64 KiB; the body was bounded by http.c.
 * Ownership: static assets are served from the binary without a copy.
 */
#include "routes_int.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "classify/classify.h"

#include "core/cfg.h"
#include "core/embedded.h"
#include "core/metrics.h"
#include "store/store.h"

int
h_healthz(struct api_req *r)
{
    struct store *st = api_store(r);
    int64_t one = 0;

    if (st == NULL || store_query_int(st, "SELECT 1", NULL, 0, &one) != BNC_OK) {
        return api_unavailable(r);
    }
    buf_adds(&r->out, "{\"status\":\"ok\"}\n");
    return 200;
}

/* http.metrics_token set: the scraper proves it with "Authorization: Bearer <token>". The
 * secret is compared in constant time over its own length so a timing probe learns nothing. */
static bool
metrics_token_ok(struct api_req *r, const char *want)
{
    const char *h = api_header(r, "Authorization");
    size_t wl = strlen(want);

    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        return false;
    }
    h += 7;
    while (*h == ' ') {
        h++;
    }
    return strlen(h) == wl && CRYPTO_memcmp(h, want, wl) == 0;
}

int
h_metrics(struct api_req *r)
{
    const char *want = r->srv->cfg->http_metrics_token;

    if (want != NULL && want[0] != '\0' && !metrics_token_ok(r, want)) {
        api_add_header(r, "WWW-Authenticate", "Bearer realm=\"bounced-metrics\"");
        return api_error(r, 401, "unauthorized", "/metrics wants the http.metrics_token bearer");
    }
    metrics_render(&r->out);
    r->ctype = "text/plain; version=0.0.4; charset=utf-8";
    return 200;
}

static const struct bnc_embedded *
api_asset(const char *name)
{
    const struct bnc_embedded *e;

    for (e = bnc_web_assets; e->name != NULL; e++) {
        if (strcmp(e->name, name) == 0) {
            return e;
        }
    }
    return NULL;
}

static const char *
api_asset_type(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot == NULL) {
        return "application/octet-stream";
    }
    if (strcmp(dot, ".html") == 0) {
        return "text/html; charset=utf-8";
    }
    if (strcmp(dot, ".js") == 0) {
        return "text/javascript; charset=utf-8";
    }
    if (strcmp(dot, ".css") == 0) {
        return "text/css; charset=utf-8";
    }
    if (strcmp(dot, ".svg") == 0) {
        return "image/svg+xml";
    }
    if (strcmp(dot, ".yaml") == 0) {
        return "application/yaml; charset=utf-8";
    }
    return "application/octet-stream";
}

static int
api_serve_asset(struct api_req *r, const char *name)
{
    const struct bnc_embedded *e = api_asset(name);

    if (e == NULL) {
        return api_error(r, 404, "not_found", "no such file");
    }
    r->static_out = true;
    r->out_static = e->data;
    r->out_static_len = e->len;
    r->ctype = api_asset_type(name);
    if (strstr(r->ctype, "html") != NULL) {
        /* the dashboard loads nothing from elsewhere */
        api_add_header(r, "Content-Security-Policy",
                       "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
        api_add_header(r, "Referrer-Policy", "no-referrer");
    }
    return 200;
}

int
h_openapi(struct api_req *r)
{
    return api_serve_asset(r, "openapi.yaml");
}

int
h_index(struct api_req *r)
{
    return api_serve_asset(r, "index.html");
}

int
h_static(struct api_req *r)
{
    return api_serve_asset(r, r->seg[1]);
}

/* The custom headers Postmark and SparkPost are configured to send (webhook.*_header is
 * "Name: value"): forwarded by name, like the fixed ones. */
static void
webhook_custom_headers(struct api_req *r, struct buf *hdrs)
{
    bnc_ctx *ctx = r->srv->o.get_ctx != NULL ? r->srv->o.get_ctx(r->srv->o.ud) : NULL;
    const struct bnc_config *cfg = ctx != NULL ? bnc_ctx_config(ctx) : r->srv->o.cfg;
    const char *conf[2];
    size_t i;

    if (cfg == NULL) {
        return;
    }
    conf[0] = cfg->webhook_postmark_header;
    conf[1] = cfg->webhook_sparkpost_header;
    for (i = 0; i < 2; i++) {
        const char *colon = conf[i] != NULL ? strchr(conf[i], ':') : NULL;
        char name[128];
        const char *v;
        if (colon == NULL || colon == conf[i] || (size_t)(colon - conf[i]) >= sizeof(name)) {
            continue;
        }
        memcpy(name, conf[i], (size_t)(colon - conf[i]));
        name[colon - conf[i]] = '\0';
        if ((v = api_header(r, name)) != NULL) {
            buf_printf(hdrs, "%s: %s\n", name, v);
        }
    }
}

int
h_webhook(struct api_req *r)
{
    struct api_server *s = r->srv;
    char reply[4096];
    struct buf hdrs;
    int status;
    static const char *names[] = {"Content-Type",
                                  "X-Amz-Sns-Message-Type",
                                  "X-Twilio-Email-Event-Webhook-Signature",
                                  "X-Twilio-Email-Event-Webhook-Timestamp",
                                  "X-Mailgun-Signature",
                                  "X-Postmark-Signature",
                                  "X-MessageSystems-Webhook-Token",
                                  "Authorization"};
    size_t i;

    if (s->o.webhook == NULL) {
        return api_error(r, 404, "not_found", "webhooks are not enabled in this server");
    }
    buf_init(&hdrs, 64 * 1024);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = api_header(r, names[i]);
        if (v != NULL) {
            buf_printf(&hdrs, "%s: %s\n", names[i], v);
        }
    }
    webhook_custom_headers(r, &hdrs);
    reply[0] = '\0';
    status = s->o.webhook(s->o.ud, r->seg[1], r->body.p != NULL ? r->body.p : "", r->body.len,
                          hdrs.p != NULL ? hdrs.p : "", reply, sizeof(reply));
    buf_free(&hdrs);
    if (status < 200 || status > 599) {
        status = 500;
    }
    if (status == 503) {
        api_add_header(r, "Retry-After", API_RETRY_AFTER); /* the ESP retries then */
    }
    buf_adds(&r->out, reply);
    return status;
}
