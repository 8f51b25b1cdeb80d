/*
 * http_client.h - one outbound HTTP request over libcurl, bounded: what the ESP
 * suppression sync (esp_sync.c) and the daemon's alert deliveries (server/alerts.c) send.
 * http and https only, no redirects followed, a timeout, a capped reply.
 * Ownership: the request's strings are borrowed for the call; the reply goes to the
 * caller's buf (its cap is the reply limit).
 */
#ifndef BNC_INGEST_HTTP_CLIENT_H
#define BNC_INGEST_HTTP_CLIENT_H

#include <stddef.h>

#include "bounced.h"
#include "core/buf.h"

#define HTTP_CLIENT_HEADERS_MAX 8

struct http_client_req {
    const char *method; /* "GET", "POST", "PUT", "DELETE" */
    const char *url;
    const char *body; /* NULL = none */
    size_t body_len;
    const char *headers[HTTP_CLIENT_HEADERS_MAX]; /* "Name: value", NULL-terminated */
    const char *user, *password;                  /* Basic auth or SigV4 keys; NULL = none */
    const char *aws_sigv4;                        /* "aws:amz:REGION:SERVICE", NULL = none */
    long timeout;                                 /* seconds */
};

/* Perform rq; the reply body goes to reply (reset first). BNC_OK when an HTTP answer came
 * (its status in *code_out, whatever it is), BNC_ELIMIT when the body exceeds reply's cap
 * (never cut silently), BNC_EIO for a transport failure; err gets the detail. Thread-safe. */
bnc_status http_client_do(const struct http_client_req *rq, struct buf *reply, long *code_out,
                          char *err, size_t errlen);

#endif
