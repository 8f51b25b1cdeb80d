/*
 * esp_sync.c - suppression sync with an ESP (contract in esp_sync.h).
 *
 * Each vendor is a row of esp_vendors: how to authenticate, list its suppressions (with its
 * own pagination), add a batch and remove one address. The sync itself is the same for all:
 *   remote R (the ESP's list), local L (bounced's suppressions), agreed A (esp_suppressions);
 *   in R not L: in A -> lifted in bounced since: remove at the ESP; else import;
 *   in L not R: push (also when in A: bounced's suppression stands, the ESP lost it);
 *   in both: agreed; in A only: forgotten.
 * Endpoints (vendor documentation, cited in docs/guards.md):
 *   SES API v2: GET/PUT /v2/email/suppression/addresses, DELETE .../{EmailAddress},
 *     signed with AWS Signature Version 4 (libcurl's CURLOPT_AWS_SIGV4);
 *   SendGrid v3: GET /v3/suppression/unsubscribes (limit, offset), POST
 *     /v3/asm/suppressions/global {"recipient_emails"}, DELETE .../global/{email};
 *   Mailgun v3: GET /v3/{domain}/bounces (paging.next), POST /v3/{domain}/bounces (a JSON
 *     array of up to 1000), DELETE /v3/{domain}/bounces/{address};
 *   Postmark: GET /message-streams/{stream}/suppressions/dump, POST .../suppressions and
 *     .../suppressions/delete {"Suppressions":[{"EmailAddress"}]}, 50 per request.
 * Everything an API answers is untrusted: replies are capped, JSON is parsed with a depth
 * limit by jansson, addresses are normalised (unusable ones counted, never imported), and a
 * "next page" URL must lie under the configured endpoint.
 * What it does not do: schedule itself (the CLI runs it), or touch contacts (an imported
 * address is a suppression; a contact with that address is then not sendable).
 * STANDARDS: RFC 9110 (HTTP), RFC 3986 §2.1 (percent-encoding), RFC 8259 (JSON), RFC 5322
 * §3.3 (Mailgun's dates).
 * LIMITS: ESP_SYNC_MAX addresses per side; a reply of ESP_REPLY_MAX bytes; ESP_PAGES_MAX
 * pages; 60 s per request (ingest/http_client.c). Each is an error when hit, never a
 * silent cut.
 * Ownership: see esp_sync.h.
 */
#include "ingest/esp_sync.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "core/xmalloc.h"
#include "ingest/http_client.h"
#include "store/guards.h"
#include "store/model.h"
#include "store/store.h"

#define ESP_REPLY_MAX (32u * 1024u * 1024u)
#define ESP_PAGES_MAX 10000
#define ESP_URL_MAX   2048

/* A set of addresses: appended, then sorted and deduplicated once (aset_sort). */
struct aset {
    char **v;
    size_t n, cap;
};

struct esp_conn {
    const struct bnc_config *cfg;
    const struct esp_vendor *v;
    struct aset *remote; /* fetch fills it */
    size_t invalid;
    char *err;
    size_t errlen;
};

struct esp_vendor {
    const char *name;
    bool (*configured)(const struct bnc_config *cfg);
    /* credentials into rq; a header, when the vendor wants one, written into hdr */
    void (*auth)(const struct esp_conn *c, struct http_client_req *rq, char *hdr, size_t hdrlen);
    bnc_status (*fetch)(struct esp_conn *c);
    bnc_status (*add)(struct esp_conn *c, char *const *addrs, size_t n,
                      const struct aset *complaints);
    bnc_status (*remove)(struct esp_conn *c, const char *address);
};

/* ---- address sets ---- */

static bnc_status
aset_add(struct aset *s, const char *addr)
{
    if (s->n >= ESP_SYNC_MAX) {
        return BNC_ELIMIT;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = xstrdup(addr);
    return BNC_OK;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
aset_sort(struct aset *s)
{
    size_t i, k = 0;

    if (s->n > 1) {
        qsort(s->v, s->n, sizeof(*s->v), cmp_str);
    }
    for (i = 0; i < s->n; i++) {
        if (k > 0 && strcmp(s->v[k - 1], s->v[i]) == 0) {
            free(s->v[i]);
            continue;
        }
        s->v[k++] = s->v[i];
    }
    s->n = k;
}

static bool
aset_has(const struct aset *s, const char *addr)
{
    return s->n > 0 && bsearch(&addr, s->v, s->n, sizeof(*s->v), cmp_str) != NULL;
}

static void
aset_free(struct aset *s)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        free(s->v[i]);
    }
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* An address from the ESP: normalised into the remote set, or counted as unusable. */
static bnc_status
remote_add(struct esp_conn *c, const char *addr)
{
    char norm[MODEL_EMAIL_MAX + 1];

    if (addr == NULL || !model_normalize_email(addr, norm)) {
        c->invalid++;
        return BNC_OK;
    }
    if (aset_add(c->remote, norm) != BNC_OK) {
        snprintf(c->err, c->errlen, "%s lists more than %u suppressions", c->v->name, ESP_SYNC_MAX);
        return BNC_ELIMIT;
    }
    return BNC_OK;
}

/* ---- HTTP ---- */

/* One request; the reply body goes to reply (capped at ESP_REPLY_MAX). A 2xx is BNC_OK,
 * a 404 of a DELETE is BNC_ENOTFOUND (already gone), everything else BNC_EIO with detail. */
static bnc_status
esp_http(struct esp_conn *c, const char *method, const char *url, const char *body,
         struct buf *reply)
{
    struct http_client_req rq;
    char auth[512] = "";
    long code = 0;
    size_t nh = 0;
    bnc_status rc;

    memset(&rq, 0, sizeof(rq));
    rq.method = method;
    rq.url = url;
    rq.body = body;
    rq.body_len = body ? strlen(body) : 0;
    rq.timeout = 60;
    rq.headers[nh++] = "Accept: application/json";
    if (body != NULL) {
        rq.headers[nh++] = "Content-Type: application/json";
    }
    c->v->auth(c, &rq, auth, sizeof(auth));
    if (auth[0] != '\0') {
        rq.headers[nh++] = auth;
    }
    if ((rc = http_client_do(&rq, reply, &code, c->err, c->errlen)) != BNC_OK) {
        return rc;
    }
    if (code == 404 && strcmp(method, "DELETE") == 0) {
        return BNC_ENOTFOUND;
    }
    if (code < 200 || code > 299) {
        snprintf(c->err, c->errlen, "%s %s: HTTP %ld: %.200s", method, url, code,
                 reply->p ? reply->p : "");
        return BNC_EIO;
    }
    return BNC_OK;
}

/* The reply as JSON; NULL (with the error set) when it is not. */
static json_t *
esp_json(struct esp_conn *c, const struct buf *reply, const char *what)
{
    json_error_t je;
    json_t *j = json_loadb(reply->p ? reply->p : "", reply->len, JSON_REJECT_DUPLICATES, &je);

    if (j == NULL) {
        snprintf(c->err, c->errlen, "%s: %s answered no JSON: %s", what, c->v->name, je.text);
    }
    return j;
}

/* base + path (+ escaped tail), bounded. */
static bnc_status
esp_url(struct esp_conn *c, char *out, const char *base, const char *path, const char *tail)
{
    char *esc = tail ? curl_easy_escape(NULL, tail, 0) : NULL;
    int n = snprintf(out, ESP_URL_MAX, "%s%s%s", base, path, esc ? esc : "");

    curl_free(esc);
    if (n < 0 || n >= ESP_URL_MAX) {
        snprintf(c->err, c->errlen, "%s: request URL longer than %d bytes", c->v->name,
                 ESP_URL_MAX);
        return BNC_ELIMIT;
    }
    return BNC_OK;
}

/* Every string member `key` of the objects of array arr into the remote set. */
static bnc_status
take_addresses(struct esp_conn *c, json_t *arr, const char *key, size_t *count)
{
    size_t i;
    json_t *x;
    bnc_status rc = BNC_OK;

    *count = json_array_size(arr);
    json_array_foreach(arr, i, x)
    {
        if ((rc = remote_add(c, json_string_value(json_object_get(x, key)))) != BNC_OK) {
            break;
        }
    }
    return rc;
}

/* A JSON body of addresses: prefix, then {"key": a} (or a bare string when key is NULL)
 * for each, then suffix. */
static char *
json_batch(const char *prefix, const char *key, char *const *addrs, size_t n, const char *suffix)
{
    struct buf b;
    size_t i;

    buf_init(&b, 0);
    buf_adds(&b, prefix);
    for (i = 0; i < n; i++) {
        buf_adds(&b, i > 0 ? "," : "");
        if (key != NULL) {
            buf_printf(&b, "{\"%s\":", key);
        }
        buf_add_json_str(&b, addrs[i], strlen(addrs[i]));
        buf_adds(&b, key != NULL ? "}" : "");
    }
    buf_adds(&b, suffix);
    return buf_take(&b);
}

/* DELETE base + path + the escaped address. */
static bnc_status
delete_one(struct esp_conn *c, const char *base, const char *path, const char *address)
{
    char url[ESP_URL_MAX];
    struct buf reply;
    bnc_status rc;

    buf_init(&reply, ESP_REPLY_MAX);
    if ((rc = esp_url(c, url, base, path, address)) == BNC_OK) {
        rc = esp_http(c, "DELETE", url, NULL, &reply);
    }
    buf_free(&reply);
    return rc;
}

/* ---- SES (API v2) ---- */

static bool
ses_configured(const struct bnc_config *cfg)
{
    return cfg->esp_ses_access_key[0] != '\0' && cfg->esp_ses_secret_key[0] != '\0';
}

static void
ses_auth(const struct esp_conn *c, struct http_client_req *rq, char *hdr, size_t hdrlen)
{
    static _Thread_local char sig[128]; /* lives until the request is done */

    (void)hdr;
    (void)hdrlen;
    snprintf(sig, sizeof(sig), "aws:amz:%s:ses", c->cfg->esp_ses_region);
    rq->aws_sigv4 = sig;
    rq->user = c->cfg->esp_ses_access_key;
    rq->password = c->cfg->esp_ses_secret_key;
}

static bnc_status
ses_fetch(struct esp_conn *c)
{
    char url[ESP_URL_MAX], *token = NULL;
    struct buf reply;
    bnc_status rc = BNC_OK;
    size_t page, n;
    json_t *j;

    buf_init(&reply, ESP_REPLY_MAX);
    for (page = 0; page < ESP_PAGES_MAX && rc == BNC_OK; page++) {
        rc = esp_url(c, url, c->cfg->esp_ses_url,
                     token ? "/v2/email/suppression/addresses?PageSize=1000&NextToken="
                           : "/v2/email/suppression/addresses?PageSize=1000",
                     token);
        free(token);
        token = NULL;
        if (rc != BNC_OK || (rc = esp_http(c, "GET", url, NULL, &reply)) != BNC_OK) {
            break;
        }
        if ((j = esp_json(c, &reply, "list")) == NULL) {
            rc = BNC_EIO;
            break;
        }
        rc = take_addresses(c, json_object_get(j, "SuppressedDestinationSummaries"), "EmailAddress",
                            &n);
        if (json_string_value(json_object_get(j, "NextToken")) != NULL) {
            token = xstrdup(json_string_value(json_object_get(j, "NextToken")));
        }
        json_decref(j);
        if (token == NULL) {
            break;
        }
    }
    free(token);
    buf_free(&reply);
    if (rc == BNC_OK && page == ESP_PAGES_MAX) {
        snprintf(c->err, c->errlen, "ses: more than %d pages of suppressions", ESP_PAGES_MAX);
        rc = BNC_ELIMIT;
    }
    return rc;
}

static bnc_status
ses_add(struct esp_conn *c, char *const *addrs, size_t n, const struct aset *complaints)
{
    char url[ESP_URL_MAX], *body;
    struct buf reply, b;
    bnc_status rc;
    size_t i;

    rc = esp_url(c, url, c->cfg->esp_ses_url, "/v2/email/suppression/addresses", NULL);
    buf_init(&reply, ESP_REPLY_MAX);
    for (i = 0; i < n && rc == BNC_OK; i++) {
        buf_init(&b, 0);
        buf_adds(&b, "{\"EmailAddress\":");
        buf_add_json_str(&b, addrs[i], strlen(addrs[i]));
        buf_printf(&b, ",\"Reason\":\"%s\"}",
                   aset_has(complaints, addrs[i]) ? "COMPLAINT" : "BOUNCE");
        body = buf_take(&b);
        rc = esp_http(c, "PUT", url, body, &reply);
        free(body);
    }
    buf_free(&reply);
    return rc;
}

static bnc_status
ses_remove(struct esp_conn *c, const char *address)
{
    return delete_one(c, c->cfg->esp_ses_url, "/v2/email/suppression/addresses/", address);
}

/* ---- SendGrid (v3, global suppressions) ---- */

static bool
sendgrid_configured(const struct bnc_config *cfg)
{
    return cfg->esp_sendgrid_key[0] != '\0';
}

static void
sendgrid_auth(const struct esp_conn *c, struct http_client_req *rq, char *hdr, size_t hdrlen)
{
    (void)rq;
    snprintf(hdr, hdrlen, "Authorization: Bearer %s", c->cfg->esp_sendgrid_key);
}

static bnc_status
sendgrid_fetch(struct esp_conn *c)
{
    char url[ESP_URL_MAX], path[96];
    struct buf reply;
    bnc_status rc = BNC_OK;
    size_t page, n = 0;
    json_t *j;

    buf_init(&reply, ESP_REPLY_MAX);
    for (page = 0; page < ESP_PAGES_MAX && rc == BNC_OK; page++) {
        snprintf(path, sizeof(path), "/v3/suppression/unsubscribes?limit=500&offset=%zu",
                 page * 500);
        if ((rc = esp_url(c, url, c->cfg->esp_sendgrid_url, path, NULL)) != BNC_OK ||
            (rc = esp_http(c, "GET", url, NULL, &reply)) != BNC_OK) {
            break;
        }
        if ((j = esp_json(c, &reply, "list")) == NULL || !json_is_array(j)) {
            json_decref(j);
            snprintf(c->err, c->errlen, "sendgrid: the list is no JSON array");
            rc = BNC_EIO;
            break;
        }
        rc = take_addresses(c, j, "email", &n);
        json_decref(j);
        if (n < 500) {
            break;
        }
    }
    buf_free(&reply);
    if (rc == BNC_OK && page == ESP_PAGES_MAX) {
        snprintf(c->err, c->errlen, "sendgrid: more than %d pages", ESP_PAGES_MAX);
        rc = BNC_ELIMIT;
    }
    return rc;
}

/* POST batches of up to `per` addresses: body = prefix, items, suffix. */
static bnc_status
post_batches(struct esp_conn *c, const char *url, const char *prefix, const char *key,
             const char *suffix, char *const *addrs, size_t n, size_t per)
{
    struct buf reply;
    bnc_status rc = BNC_OK;
    size_t i, k;
    char *body;

    buf_init(&reply, ESP_REPLY_MAX);
    for (i = 0; i < n && rc == BNC_OK; i += k) {
        k = n - i < per ? n - i : per;
        body = json_batch(prefix, key, addrs + i, k, suffix);
        rc = esp_http(c, "POST", url, body, &reply);
        free(body);
    }
    buf_free(&reply);
    return rc;
}

static bnc_status
sendgrid_add(struct esp_conn *c, char *const *addrs, size_t n, const struct aset *complaints)
{
    char url[ESP_URL_MAX];
    bnc_status rc = esp_url(c, url, c->cfg->esp_sendgrid_url, "/v3/asm/suppressions/global", NULL);

    (void)complaints;
    return rc != BNC_OK
               ? rc
               : post_batches(c, url, "{\"recipient_emails\":[", NULL, "]}", addrs, n, 1000);
}

static bnc_status
sendgrid_remove(struct esp_conn *c, const char *address)
{
    return delete_one(c, c->cfg->esp_sendgrid_url, "/v3/asm/suppressions/global/", address);
}

/* ---- Mailgun (v3 bounces of one domain) ---- */

static bool
mailgun_configured(const struct bnc_config *cfg)
{
    return cfg->esp_mailgun_key[0] != '\0' && cfg->esp_mailgun_domain[0] != '\0';
}

static void
mailgun_auth(const struct esp_conn *c, struct http_client_req *rq, char *hdr, size_t hdrlen)
{
    (void)hdr;
    (void)hdrlen;
    rq->user = "api";
    rq->password = c->cfg->esp_mailgun_key;
}

/* "/v3/<domain>/bounces" + rest, the domain escaped. */
static bnc_status
mailgun_path(struct esp_conn *c, char *url, const char *rest, const char *tail)
{
    char path[ESP_URL_MAX];
    char *dom = curl_easy_escape(NULL, c->cfg->esp_mailgun_domain, 0);
    int n = snprintf(path, sizeof(path), "/v3/%s/bounces%s", dom ? dom : "", rest);

    curl_free(dom);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        snprintf(c->err, c->errlen, "mailgun: domain name too long");
        return BNC_ELIMIT;
    }
    return esp_url(c, url, c->cfg->esp_mailgun_url, path, tail);
}

static bnc_status
mailgun_fetch(struct esp_conn *c)
{
    char url[ESP_URL_MAX];
    const char *next;
    struct buf reply;
    size_t page, n = 0, blen = strlen(c->cfg->esp_mailgun_url);
    bnc_status rc = mailgun_path(c, url, "?limit=1000", NULL);
    json_t *j;

    buf_init(&reply, ESP_REPLY_MAX);
    for (page = 0; page < ESP_PAGES_MAX && rc == BNC_OK; page++) {
        if ((rc = esp_http(c, "GET", url, NULL, &reply)) != BNC_OK) {
            break;
        }
        if ((j = esp_json(c, &reply, "list")) == NULL) {
            rc = BNC_EIO;
            break;
        }
        rc = take_addresses(c, json_object_get(j, "items"), "address", &n);
        next = json_string_value(json_object_get(json_object_get(j, "paging"), "next"));
        /* the next page must be under the endpoint configured, never elsewhere */
        if (rc == BNC_OK && n > 0 && next != NULL &&
            (strncmp(next, c->cfg->esp_mailgun_url, blen) != 0 ||
             (next[blen] != '/' && next[blen] != '?') || strlen(next) >= ESP_URL_MAX)) {
            snprintf(c->err, c->errlen, "mailgun: paging.next leaves %s", c->cfg->esp_mailgun_url);
            rc = BNC_EIO;
        } else if (rc == BNC_OK && n > 0 && next != NULL) {
            snprintf(url, sizeof(url), "%s", next);
        } else {
            n = 0;
        }
        json_decref(j);
        if (n == 0) {
            break;
        }
    }
    buf_free(&reply);
    if (rc == BNC_OK && page == ESP_PAGES_MAX) {
        snprintf(c->err, c->errlen, "mailgun: more than %d pages", ESP_PAGES_MAX);
        rc = BNC_ELIMIT;
    }
    return rc;
}

static bnc_status
mailgun_add(struct esp_conn *c, char *const *addrs, size_t n, const struct aset *complaints)
{
    char url[ESP_URL_MAX], when[48], suffix[160];
    time_t now = time(NULL);
    struct tm tm;
    bnc_status rc = mailgun_path(c, url, "", NULL);

    (void)complaints;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    snprintf(suffix, sizeof(suffix),
             ",\"code\":\"550\",\"error\":\"suppressed by bounced\",\"created_at\":\"%s\"}", when);
    if (rc != BNC_OK) {
        return rc;
    }
    /* [{"address": a, "code", "error", "created_at"}, ...]: the batch helper writes
     * {"address": a} items; the extra members follow each one */
    {
        struct buf reply, b;
        size_t i, k, j;
        char *body;

        buf_init(&reply, ESP_REPLY_MAX);
        for (i = 0; i < n && rc == BNC_OK; i += k) {
            k = n - i < 1000 ? n - i : 1000;
            buf_init(&b, 0);
            for (j = 0; j < k; j++) {
                buf_adds(&b, j == 0 ? "[{\"address\":" : ",{\"address\":");
                buf_add_json_str(&b, addrs[i + j], strlen(addrs[i + j]));
                buf_adds(&b, suffix);
            }
            buf_adds(&b, "]");
            body = buf_take(&b);
            rc = esp_http(c, "POST", url, body, &reply);
            free(body);
        }
        buf_free(&reply);
    }
    return rc;
}

static bnc_status
mailgun_remove(struct esp_conn *c, const char *address)
{
    char url[ESP_URL_MAX];
    struct buf reply;
    bnc_status rc;

    buf_init(&reply, ESP_REPLY_MAX);
    if ((rc = mailgun_path(c, url, "/", address)) == BNC_OK) {
        rc = esp_http(c, "DELETE", url, NULL, &reply);
    }
    buf_free(&reply);
    return rc;
}

/* ---- Postmark (suppressions of one message stream) ---- */

static bool
postmark_configured(const struct bnc_config *cfg)
{
    return cfg->esp_postmark_token[0] != '\0' && cfg->esp_postmark_stream[0] != '\0';
}

static void
postmark_auth(const struct esp_conn *c, struct http_client_req *rq, char *hdr, size_t hdrlen)
{
    (void)rq;
    snprintf(hdr, hdrlen, "X-Postmark-Server-Token: %s", c->cfg->esp_postmark_token);
}

static bnc_status
postmark_url(struct esp_conn *c, char *url, const char *rest)
{
    char path[ESP_URL_MAX];
    char *stream = curl_easy_escape(NULL, c->cfg->esp_postmark_stream, 0);
    int n = snprintf(path, sizeof(path), "/message-streams/%s/suppressions%s", stream ? stream : "",
                     rest);

    curl_free(stream);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        snprintf(c->err, c->errlen, "postmark: stream name too long");
        return BNC_ELIMIT;
    }
    return esp_url(c, url, c->cfg->esp_postmark_url, path, NULL);
}

static bnc_status
postmark_fetch(struct esp_conn *c)
{
    char url[ESP_URL_MAX];
    struct buf reply;
    size_t n = 0;
    json_t *j;
    bnc_status rc = postmark_url(c, url, "/dump");

    buf_init(&reply, ESP_REPLY_MAX);
    if (rc == BNC_OK && (rc = esp_http(c, "GET", url, NULL, &reply)) == BNC_OK) {
        if ((j = esp_json(c, &reply, "dump")) == NULL) {
            rc = BNC_EIO;
        } else {
            rc = take_addresses(c, json_object_get(j, "Suppressions"), "EmailAddress", &n);
            json_decref(j);
        }
    }
    buf_free(&reply);
    return rc;
}

static bnc_status
postmark_add(struct esp_conn *c, char *const *addrs, size_t n, const struct aset *complaints)
{
    char url[ESP_URL_MAX];
    bnc_status rc = postmark_url(c, url, "");

    (void)complaints;
    return rc != BNC_OK
               ? rc
               : post_batches(c, url, "{\"Suppressions\":[", "EmailAddress", "]}", addrs, n, 50);
}

static bnc_status
postmark_remove(struct esp_conn *c, const char *address)
{
    char url[ESP_URL_MAX], a[MODEL_EMAIL_MAX + 1];
    char *const one[1] = {a};
    bnc_status rc = postmark_url(c, url, "/delete");

    snprintf(a, sizeof(a), "%s", address);
    return rc != BNC_OK
               ? rc
               : post_batches(c, url, "{\"Suppressions\":[", "EmailAddress", "]}", one, 1, 1);
}

static const struct esp_vendor esp_vendors[] = {
    {"ses", ses_configured, ses_auth, ses_fetch, ses_add, ses_remove},
    {"sendgrid", sendgrid_configured, sendgrid_auth, sendgrid_fetch, sendgrid_add, sendgrid_remove},
    {"mailgun", mailgun_configured, mailgun_auth, mailgun_fetch, mailgun_add, mailgun_remove},
    {"postmark", postmark_configured, postmark_auth, postmark_fetch, postmark_add, postmark_remove},
};

/* ---- the sync ---- */

struct sides {
    struct aset remote, local, complaints, agreed;
    int64_t last; /* cursor over the local suppressions */
    bool too_many;
};

static int
local_cb(void *ud, const struct model_suppression *s)
{
    struct sides *sd = ud;

    sd->last = s->id;
    if (aset_add(&sd->local, s->address) != BNC_OK ||
        (strcmp(s->source, "complaint") == 0 && aset_add(&sd->complaints, s->address) != BNC_OK)) {
        sd->too_many = true;
        return 1;
    }
    return 0;
}

static int
agreed_cb(void *ud, const char *address, const char *origin)
{
    struct sides *sd = ud;

    (void)origin;
    if (aset_add(&sd->agreed, address) != BNC_OK) {
        sd->too_many = true;
        return 1;
    }
    return 0;
}

/* Both sides and what they last agreed on, sorted. */
static bnc_status
load_sides(struct store *st, struct esp_conn *c, struct sides *sd)
{
    size_t got = 0;
    bnc_status rc;

    do {
        rc = model_suppression_list(st, sd->last, MODEL_LIMIT_MAX, local_cb, sd, &got);
    } while (rc == BNC_OK && !sd->too_many && got == MODEL_LIMIT_MAX);
    if (rc == BNC_OK && !sd->too_many) {
        rc = guard_esp_list(st, c->v->name, agreed_cb, sd);
    }
    if (rc != BNC_OK) {
        snprintf(c->err, c->errlen, "store: %s", store_errmsg(st));
        return rc;
    }
    if (sd->too_many) {
        snprintf(c->err, c->errlen, "more than %u addresses on bounced's side", ESP_SYNC_MAX);
        return BNC_ELIMIT;
    }
    c->remote = &sd->remote;
    if ((rc = c->v->fetch(c)) != BNC_OK) {
        return rc;
    }
    aset_sort(&sd->remote);
    aset_sort(&sd->local);
    aset_sort(&sd->complaints);
    aset_sort(&sd->agreed);
    return BNC_OK;
}

static void
note(esp_sync_note_fn fn, void *ud, const char *action, const char *address)
{
    if (fn != NULL) {
        fn(ud, action, address);
    }
}

/* The ESP's side: what bounced lifted is removed there, the rest imported. */
static bnc_status
sync_remote(struct store *st, struct esp_conn *c, const struct sides *sd, bool dry, int64_t now,
            esp_sync_note_fn fn, void *ud, struct esp_sync_stats *out)
{
    char src[32];
    bnc_status rc = BNC_OK;
    size_t i;

    snprintf(src, sizeof(src), "esp:%s", c->v->name);
    for (i = 0; i < sd->remote.n && rc == BNC_OK; i++) {
        const char *a = sd->remote.v[i];
        bool lifted = aset_has(&sd->agreed, a);
        if (aset_has(&sd->local, a)) {
            rc = dry ? BNC_OK : guard_esp_mark(st, c->v->name, a, "pushed", now);
            continue;
        }
        note(fn, ud, lifted ? "remove" : "import", a);
        *(lifted ? &out->removed : &out->imported) += 1;
        if (dry) {
            continue;
        }
        if (lifted) {
            rc = c->v->remove(c, a);
            rc = rc == BNC_ENOTFOUND ? BNC_OK : rc;
            rc = rc == BNC_OK ? guard_esp_forget(st, c->v->name, a) : rc;
        } else {
            bool created = false;
            rc = model_suppress(st, a, "esp", src, "esp-sync", c->v->name, now, &created);
            rc = rc == BNC_OK ? guard_esp_mark(st, c->v->name, a, "imported", now) : rc;
        }
    }
    return rc;
}

/* bounced's side: what the ESP lacks is pushed; agreements neither side holds forgotten. */
static bnc_status
sync_local(struct store *st, struct esp_conn *c, const struct sides *sd, bool dry, int64_t now,
           esp_sync_note_fn fn, void *ud, struct esp_sync_stats *out)
{
    char **push = xcalloc(sd->local.n + 1, sizeof(*push));
    bnc_status rc = BNC_OK;
    size_t i, n = 0;

    for (i = 0; i < sd->local.n; i++) {
        if (!aset_has(&sd->remote, sd->local.v[i])) {
            push[n++] = sd->local.v[i];
            note(fn, ud, "push", sd->local.v[i]);
        }
    }
    out->pushed = n;
    if (!dry && n > 0) {
        rc = c->v->add(c, push, n, &sd->complaints);
    }
    for (i = 0; i < n && rc == BNC_OK && !dry; i++) {
        rc = guard_esp_mark(st, c->v->name, push[i], "pushed", now);
    }
    for (i = 0; i < sd->agreed.n && rc == BNC_OK && !dry; i++) {
        const char *a = sd->agreed.v[i];
        if (!aset_has(&sd->local, a) && !aset_has(&sd->remote, a)) {
            rc = guard_esp_forget(st, c->v->name, a);
        }
    }
    free(push);
    return rc;
}

bnc_status
esp_sync(struct store *st, const struct bnc_config *cfg, const char *esp, bool dry_run, int64_t now,
         esp_sync_note_fn fn, void *ud, struct esp_sync_stats *out, char *err, size_t errlen)
{
    struct esp_conn c = {cfg, NULL, NULL, 0, err, errlen};
    struct sides sd;
    bnc_status rc;
    size_t i;

    memset(out, 0, sizeof(*out));
    memset(&sd, 0, sizeof(sd));
    err[0] = '\0';
    for (i = 0; i < sizeof(esp_vendors) / sizeof(esp_vendors[0]); i++) {
        c.v = strcmp(esp, esp_vendors[i].name) == 0 ? &esp_vendors[i] : c.v;
    }
    if (c.v == NULL) {
        snprintf(err, errlen, "unknown ESP %s (ses, sendgrid, mailgun, postmark)", esp);
        return BNC_EINVAL;
    }
    if (!c.v->configured(cfg)) {
        snprintf(err, errlen, "%s: credentials not configured (esp.%s_* keys)", esp, esp);
        return BNC_ECONFIG;
    }
    if ((rc = load_sides(st, &c, &sd)) == BNC_OK) {
        out->remote = sd.remote.n;
        out->local = sd.local.n;
        out->invalid = c.invalid;
        rc = sync_remote(st, &c, &sd, dry_run, now, fn, ud, out);
    }
    if (rc == BNC_OK) {
        rc = sync_local(st, &c, &sd, dry_run, now, fn, ud, out);
    }
    if (rc != BNC_OK && err[0] == '\0') {
        snprintf(err, errlen, "store: %s", store_errmsg(st));
    }
    aset_free(&sd.remote);
    aset_free(&sd.local);
    aset_free(&sd.complaints);
    aset_free(&sd.agreed);
    return rc;
}
