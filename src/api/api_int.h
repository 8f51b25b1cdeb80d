/*
 * api_int.h - what the files of src/api share: the server, one request, the route table,
 * the reply and JSON helpers. Not for use outside src/api.
 * Ownership: a struct api_req lives for one HTTP request (http.c creates and frees it);
 * everything a handler puts in it (out, hdrs) is freed with it.
 */
#ifndef BNC_API_API_INT_H
#define BNC_API_API_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api.h"
#include "bounced.h"
#include "core/buf.h"

struct MHD_Connection;
struct pipeline;
struct store;

enum api_method {
    API_GET = 1u << 0,
    API_POST = 1u << 1,
    API_PUT = 1u << 2,
    API_PATCH = 1u << 3,
    API_DELETE = 1u << 4,
    API_HEAD = 1u << 5,
    API_OPTIONS = 1u << 6
};

#define API_MAX_SEGS 12
#define API_MAX_HDRS 6
#define API_OUT_CAP  (64u * 1024u * 1024u) /* a reply larger than this is a bug */
#define API_PAGE_MAX 1000                  /* list endpoints: largest `limit` */
#define API_PAGE_DEF 100

struct api_req;
typedef int (*api_handler)(struct api_req *r); /* returns the HTTP status */

struct api_route {
    unsigned methods; /* API_* bits this entry serves */
    const char *path; /* "/api/v1/contacts/{}" : "{}" matches one segment */
    unsigned scope;   /* AUTH_S_* needed, 0 = no token needed */
    api_handler fn;
    const char *label; /* metrics label: the path template */
};

struct api_server {
    struct api_options o;
    const struct bnc_config *cfg;
    struct MHD_Daemon *d;
    int port;
    struct auth_cache *auth;
    /* per-thread state registry, closed at stop */
    void *threads_mu; /* pthread_mutex_t, kept opaque here */
    struct api_thread **threads;
    size_t nthreads, athreads;
};

/* One pool thread's store connection and pipeline (thread-local, see http.c). */
struct api_thread {
    struct store *st;
    struct pipeline *pipe;
    bnc_ctx *pipe_ctx; /* the ctx pipe was built with */
};

struct api_req {
    struct api_server *srv;
    struct MHD_Connection *conn;
    unsigned method;
    char *path; /* copy of the request path, split in place into seg[] */
    char *seg[API_MAX_SEGS];
    size_t nseg;
    struct buf body;
    bool body_too_big;
    int64_t start_ns;
    /* set by dispatch */
    const struct api_route *route;
    int64_t token_id;
    unsigned scopes;
    /* the reply */
    int status;
    struct buf out;
    const char *ctype; /* static string */
    const char *hdr_name[API_MAX_HDRS];
    char *hdr_value[API_MAX_HDRS];
    size_t nhdr;
    bool static_out; /* out_static holds the body, not out */
    const void *out_static;
    size_t out_static_len;
};

/* routes.c */
const struct api_route *api_routes(size_t *n_out);

/* http.c: services for handlers */
struct store *api_store(struct api_req *r);                /* this thread's store, or NULL */
struct pipeline *api_pipeline(struct api_req *r);          /* this thread's pipeline, or NULL */
bnc_ctx *api_ctx(struct api_req *r);                       /* the current ctx (may be NULL) */
int64_t api_now(const struct api_req *r);                  /* Unix seconds */
const char *api_query(struct api_req *r, const char *key); /* borrowed, NULL if absent */
const char *api_header(struct api_req *r, const char *name);
void api_add_header(struct api_req *r, const char *name, const char *value);
/* Write {"error":{"code":...,"message":...}} into r->out and return status. */
int api_error(struct api_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Map a store/pipeline status to an HTTP error reply; returns the status. */
int api_error_status(struct api_req *r, bnc_status rc, const char *what);

/* json.c */
/* Is the JSON text's nesting (objects + arrays) at most max deep? Strings are skipped
 * correctly; bounded by n, never reads past it. */
bool apij_depth_ok(const char *p, size_t n, int64_t max);
/* Parse the request body as JSON: on failure writes a 400 (or 413) error into r and returns
 * NULL. The caller json_decref()s the result. */
json_t *apij_body(struct api_req *r);
/* Append a JSON string value or null. */
void apij_str(struct buf *b, const char *s);
/* Append a jansson value compactly. */
void apij_dump(struct buf *b, const json_t *v);
/* RFC 7386 MergePatch(target, patch): a new reference; target (borrowed) may be NULL. */
json_t *apij_merge_patch(json_t *target, json_t *patch);
/* Parse a non-negative decimal integer; false if not one or out of range. */
bool apij_parse_i64(const char *s, int64_t *out);

#endif
