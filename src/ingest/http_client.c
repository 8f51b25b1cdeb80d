/*
 * http_client.c - one bounded outbound HTTP request (contract in http_client.h).
 * STANDARDS: RFC 9110 (HTTP semantics); AWS Signature Version 4 through libcurl.
 * LIMITS: the caller's reply cap; HTTP_CLIENT_HEADERS_MAX headers; the request timeout.
 * Ownership: see http_client.h.
 */
#include "ingest/http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>

static pthread_once_t http_client_once = PTHREAD_ONCE_INIT;

static void
http_client_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t
reply_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    size_t n = size * nmemb;
    return buf_add(ud, p, n) == BNC_OK ? n : 0; /* past the cap: curl fails the transfer */
}

static void
set_request(CURL *h, const struct http_client_req *rq, struct curl_slist *hdr)
{
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, rq->timeout > 0 ? rq->timeout : 60L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "bounced/" BOUNCED_VERSION);
    if (rq->body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    }
    if (rq->user != NULL) {
        curl_easy_setopt(h, CURLOPT_USERNAME, rq->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, rq->password ? rq->password : "");
    }
    if (rq->aws_sigv4 != NULL) {
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, rq->aws_sigv4);
    }
}

bnc_status
http_client_do(const struct http_client_req *rq, struct buf *reply, long *code_out, char *err,
               size_t errlen)
{
    char cerr[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdr = NULL;
    CURLcode cc;
    CURL *h;
    size_t i;

    pthread_once(&http_client_once, http_client_init);
    buf_reset(reply);
    *code_out = 0;
    if ((h = curl_easy_init()) == NULL) {
        snprintf(err, errlen, "curl_easy_init failed");
        return BNC_EIO;
    }
    for (i = 0; i < HTTP_CLIENT_HEADERS_MAX && rq->headers[i] != NULL; i++) {
        hdr = curl_slist_append(hdr, rq->headers[i]);
    }
    set_request(h, rq, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, reply_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code_out);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    if (cc == CURLE_WRITE_ERROR) {
        snprintf(err, errlen, "%s %s: the answer is larger than %zu bytes", rq->method, rq->url,
                 reply->cap);
        return BNC_ELIMIT;
    }
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s %s: %s", rq->method, rq->url,
                 cerr[0] ? cerr : curl_easy_strerror(cc));
        return BNC_EIO;
    }
    return BNC_OK;
}
