/*
 * webhook_sns.c - Amazon SNS, the envelope of SES notifications sent over HTTP: message
 * signatures, the hosts a message may name, and subscription confirmations.
 *
 * Signatures: SNS signs the canonical text of a message ("Key\nvalue\n" for Message,
 * MessageId, Subject (when present), Timestamp, TopicArn, Type of a Notification; Message,
 * MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type of a (Un)SubscriptionConfirmation)
 * with RSA, SHA1 for SignatureVersion 1 and SHA256 for 2. bounced never fetches the
 * certificate a message points to (a URL named by untrusted input): the operator places
 * the SNS signing certificate(s) in a PEM file (webhook.sns_certificate), and a message
 * verifies when its SigningCertURL is an https URL of an SNS host and one of those
 * certificates checks its signature.
 * Confirmation: a SubscriptionConfirmation is stored with its SubscribeURL (an SNS host
 * only); `bounced webhook confirm` fetches it when an operator says so.
 * STANDARDS: Amazon SNS developer guide, "Verifying the signatures of Amazon SNS messages"
 * and "Parsing message formats"; RFC 3986 (the host of a URL).
 * LIMITS: the body is bounded by the HTTP layer; a canonical text of 256 KiB; 16 certificates.
 */
#include "ingest/webhook_sns.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "ingest/events_int.h"

#define SNS_CANON_MAX (256u * 1024u)
#define SNS_CERTS_MAX 16

bool
sns_host_ok(const char *url)
{
    static const char *const suffixes[] = {".amazonaws.com", ".amazonaws.com.cn"};
    const char *h, *e;
    size_t n, i;

    if (url == NULL || strncasecmp(url, "https://", 8) != 0) {
        return false;
    }
    h = url + 8;
    e = h + strcspn(h, "/?#:@");
    if (*e == '@' || *e == ':') {
        return false; /* no userinfo, no port: SNS serves neither */
    }
    n = (size_t)(e - h);
    if (n < 5 || strncasecmp(h, "sns.", 4) != 0) {
        return false;
    }
    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        size_t sl = strlen(suffixes[i]);
        if (n > 4 + sl && strncasecmp(e - sl, suffixes[i], sl) == 0) {
            /* sns.<region>.amazonaws.com: the region is one label of letters, digits, '-' */
            const char *r = h + 4, *re = e - sl;
            for (; r < re; r++) {
                if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-')) {
                    return false;
                }
            }
            return true;
        }
    }
    return false;
}

/* The canonical text SNS signs; false when a field it needs is missing. */
static bool
sns_canonical(const json_t *j, struct buf *b)
{
    static const char *const notif[] = {"Message",  "MessageId", "Subject", "Timestamp",
                                        "TopicArn", "Type",      NULL};
    static const char *const sub[] = {"Message", "MessageId", "SubscribeURL", "Timestamp",
                                      "Token",   "TopicArn",  "Type",         NULL};
    const char *type = ev_jstr(j, "Type");
    const char *const *k;

    if (!strcmp(type, "Notification")) {
        k = notif;
    } else if (!strcmp(type, "SubscriptionConfirmation") ||
               !strcmp(type, "UnsubscribeConfirmation")) {
        k = sub;
    } else {
        return false;
    }
    for (; *k != NULL; k++) {
        const json_t *v = json_object_get(j, *k);
        if (!json_is_string(v)) {
            if (!strcmp(*k, "Subject")) {
                continue; /* the one optional field */
            }
            return false;
        }
        if (buf_adds(b, *k) != BNC_OK || buf_add(b, "\n", 1) != BNC_OK ||
            buf_add(b, json_string_value(v), json_string_length(v)) != BNC_OK ||
            buf_add(b, "\n", 1) != BNC_OK) {
            return false;
        }
    }
    return true;
}

/* Does one of the certificates in pem_path verify sig over text with md? */
static bool
sns_check_certs(const char *pem_path, const EVP_MD *md, const struct buf *text,
                const unsigned char *sig, size_t siglen)
{
    FILE *fp = fopen(pem_path, "r");
    X509 *x;
    bool ok = false;
    int i;

    if (fp == NULL) {
        return false;
    }
    for (i = 0; !ok && i < SNS_CERTS_MAX && (x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL;
         i++) {
        EVP_PKEY *k = X509_get_pubkey(x);
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        ok = k != NULL && c != NULL && EVP_DigestVerifyInit(c, NULL, md, NULL, k) == 1 &&
             EVP_DigestVerify(c, sig, siglen, (const unsigned char *)text->p, text->len) == 1;
        EVP_MD_CTX_free(c);
        EVP_PKEY_free(k);
        X509_free(x);
    }
    fclose(fp);
    return ok;
}

bool
sns_verify(const char *pem_path, const char *body, size_t len, char *why, size_t whylen)
{
    json_error_t je;
    json_t *j = json_loadb(body, len, 0, &je);
    const char *ver, *sig64;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    struct buf text;
    bool ok = false;

    buf_init(&text, SNS_CANON_MAX);
    if (!json_is_object(j)) {
        snprintf(why, whylen, "not an SNS message");
        goto out;
    }
    ver = ev_jstr(j, "SignatureVersion");
    sig64 = ev_jstr(j, "Signature");
    if (!sns_host_ok(ev_jstr(j, "SigningCertURL"))) {
        snprintf(why, whylen, "SigningCertURL is not an https URL of an SNS host");
    } else if (strcmp(ver, "1") != 0 && strcmp(ver, "2") != 0) {
        snprintf(why, whylen, "unknown SignatureVersion '%.8s'", ver);
    } else if (!sns_canonical(j, &text)) {
        snprintf(why, whylen, "a signed field is missing");
    } else if ((sig = events_b64_decode(sig64, &siglen)) == NULL || siglen == 0) {
        snprintf(why, whylen, "Signature is not base64");
    } else if (!sns_check_certs(pem_path, ver[0] == '1' ? EVP_sha1() : EVP_sha256(), &text, sig,
                                siglen)) {
        snprintf(why, whylen, "signature does not verify with webhook.sns_certificate");
    } else {
        ok = true;
    }
out:
    free(sig);
    buf_free(&text);
    json_decref(j);
    return ok;
}

bool
sns_subscription(const char *body, size_t len, char *topic, size_t topiclen, char *url,
                 size_t urllen, char *msgid, size_t msgidlen)
{
    json_error_t je;
    json_t *j = json_loadb(body, len, 0, &je);
    static const char *const keys[3] = {"TopicArn", "SubscribeURL", "MessageId"};
    char *const outs[3] = {topic, url, msgid};
    const size_t lens[3] = {topiclen, urllen, msgidlen};
    bool ok = json_is_object(j) && !strcmp(ev_jstr(j, "Type"), "SubscriptionConfirmation") &&
              sns_host_ok(ev_jstr(j, "SubscribeURL")) && ev_jcopy(j, keys, outs, lens, 3);

    json_decref(j);
    return ok;
}

static size_t
sns_discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

bnc_status
sns_confirm_fetch(const char *url, long timeout_s, char *err, size_t errlen)
{
    CURL *c;
    CURLcode cc;
    long code = 0;

    if (!sns_host_ok(url)) {
        snprintf(err, errlen, "not an https URL of an SNS host: refused");
        return BNC_EINVAL;
    }
    if ((c = curl_easy_init()) == NULL) {
        snprintf(err, errlen, "libcurl: cannot start");
        return BNC_EINTERNAL;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sns_discard);
    cc = curl_easy_perform(c);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    }
    curl_easy_cleanup(c);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(cc));
        return BNC_EIO;
    }
    if (code != 200) {
        snprintf(err, errlen, "SNS answered HTTP %ld", code);
        return BNC_EIO;
    }
    return BNC_OK;
}
