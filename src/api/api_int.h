/*
 * api_int.h - what the files of src/api share. Not for use outside src/api.
 *
 * The files call one way, top to bottom, never back:
 *   http.c      transport (libmicrohttpd): listen, read the request, send the reply
 *   dispatch.c  one request: match a route, CORS preflight, 404/405/413, authenticate, run
 *   routes.c    the route table
 *   <resource>.c handlers, one file per resource (routes_int.h names them)
 *   service.c   what a handler reaches beyond its request: this thread's store and pipeline
 *   req.c       the request/reply layer: accessors, JSON bodies and errors, paging
 *   json.c      JSON helpers over plain buffers
 * Nothing below http.c includes <microhttpd.h>: a request reaches its transport only
 * through the lookup function http.c puts into it.
 * Ownership: a struct api_req lives for one HTTP request (req.c creates and frees it, http.c
 * holds it); everything a handler puts in it (out, hdrs) is freed with it.
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

struct MHD_Daemon;
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

/* What the transport's lookup function is asked for. */
enum api_lookup { API_LOOKUP_QUERY, API_LOOKUP_HEADER };

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
    /* per-thread state registry (service.c), closed at stop */
    void *threads_mu; /* pthread_mutex_t, kept opaque here */
    struct api_thread **threads;
    size_t nthreads, athreads;
};

/* One pool thread's store connection and pipeline (thread-local, see service.c). */
struct api_thread {
    struct store *st;
    struct pipeline *pipe;
    bnc_ctx *pipe_ctx; /* the ctx pipe was built with */
};

/* The transport's accessor: a query argument or a request header of conn, borrowed until
 * the request ends; NULL when absent. */
typedef const char *(*api_lookup_fn)(void *conn, enum api_lookup what, const char *key);

struct api_req {
    struct api_server *srv;
    void *conn; /* the transport's connection, for lookup only */
    api_lookup_fn lookup;
    char peer[64]; /* the client's address (an IPv6 client by its /64), "" when unknown */
    unsigned method;
    char *path; /* copy of the request path, split in place into seg[] */
    char *seg[API_MAX_SEGS];
    size_t nseg;
    struct buf body;
    bool body_too_big;
    int64_t start_ns;
    struct store *st; /* this thread's store once api_store() opened it (error details) */
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

/* A list reply being written by a store callback. */
struct api_list {
    struct buf *b;
    size_t n;     /* elements written */
    int64_t last; /* id of the last row seen: the next page's cursor */
};

/* ---- dispatch.c ---- */
/* Take the method and path of a new request: 0, or the error status already written into
 * r (404 for too many segments, 405 for an unknown method). */
int api_request_open(struct api_req *r, const char *method, const char *url);
/* Route, authenticate and run the handler: r->status and the reply are set afterwards. */
void api_dispatch(struct api_req *r);
/* Count the finished request in the metrics (route label, status, latency). */
void api_count(const struct api_req *r);

/* ---- routes.c ---- */
const struct api_route *api_routes(size_t *n_out);

/* ---- service.c ---- */
struct store *api_store(struct api_req *r);       /* this thread's store, or NULL */
struct store *api_need_store(struct api_req *r);  /* the same; NULL after writing a 503 */
struct pipeline *api_pipeline(struct api_req *r); /* this thread's pipeline, or NULL */
bnc_ctx *api_ctx(struct api_req *r);              /* the current ctx (may be NULL) */
/* After the pool is joined: close every thread's store and pipeline. */
void api_threads_close(struct api_server *s);

/* ---- req.c ---- */
/* A request of srv read through lookup(conn, ...); caller frees with api_req_free(). */
struct api_req *api_req_new(struct api_server *srv, void *conn, api_lookup_fn lookup);
void api_req_free(struct api_req *r);                      /* NULL-safe */
int64_t api_mono_ns(void);                                 /* monotonic clock */
int64_t api_now(const struct api_req *r);                  /* Unix seconds */
const char *api_query(struct api_req *r, const char *key); /* borrowed, NULL if absent */
const char *api_qopt(struct api_req *r, const char *key);  /* the same, NULL if empty */
const char *api_header(struct api_req *r, const char *name);
void api_add_header(struct api_req *r, const char *name, const char *value);
/* Write {"error":{"code":...,"message":...}} into r->out and return status. */
int api_error(struct api_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Map a store/pipeline status to an HTTP error reply; returns the status. A store failure
 * while the store does not answer is 503 + Retry-After (api_unavailable), not 500. */
int api_error_status(struct api_req *r, bnc_status rc, const char *what);
/* 503 "unavailable" with Retry-After (API_RETRY_AFTER seconds): the store is unreachable or
 * cannot be opened; every route answers so until it is back. Returns 503. */
#define API_RETRY_AFTER "5"
int api_unavailable(struct api_req *r);
/* Does r's store answer a trivial query? false also when there is no store. */
bool api_store_answers(struct api_req *r);
/* Parse the request body as JSON: on failure writes a 400 error into r and returns NULL.
 * The caller json_decref()s the result. */
json_t *api_json_body(struct api_req *r);
/* ?after=ID&limit=N: 0 on success, else the error status already written into r. */
int api_page_args(struct api_req *r, int64_t *after_out, size_t *limit_out);
/* A page reply: {"data":[ ... ],"next":"ID"|null}. begin also prepares l for the rows. */
void api_page_begin(struct api_req *r, struct api_list *l);
void api_page_end(struct api_req *r, int64_t next_id); /* next_id 0: no next page */
/* Before writing one element of l (with this id): the separator, and the cursor. Returns
 * the buffer to write the element into. */
struct buf *api_list_item(struct api_list *l, int64_t id);
/* ?key=TIME (api_parse_time): 0, left untouched when absent, else the 400 written. */
int api_time_arg(struct api_req *r, const char *key, int64_t *out);
/* Parse Unix seconds, "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC); false when not one. */
bool api_parse_time(const char *s, int64_t *out);
/* The id in path segment seg: true, or false after writing 404 "<what>: not found". */
bool api_path_id(struct api_req *r, size_t seg, const char *what, int64_t *out);
/* "token:<id>": who did it, for the audit log. */
void api_actor(const struct api_req *r, char *out, size_t outlen);

/* ---- json.c ---- */
/* Is the JSON text's nesting (objects + arrays) at most max deep? Strings are skipped
 * correctly; bounded by n, never reads past it. */
bool apij_depth_ok(const char *p, size_t n, int64_t max);
/* Append a JSON string value or null. */
void apij_str(struct buf *b, const char *s);
/* Append ,"key": and the string value (or null); key is a plain ASCII literal. */
void apij_kv_str(struct buf *b, const char *key, const char *s);
/* Append v, or null when v is 0 (an unset id or time). */
void apij_int_or_null(struct buf *b, int64_t v);
/* Append a jansson value compactly. */
void apij_dump(struct buf *b, const json_t *v);
/* RFC 7386 MergePatch(target, patch): a new reference; target (borrowed) may be NULL. */
json_t *apij_merge_patch(json_t *target, json_t *patch);
/* Parse a non-negative decimal integer; false if not one or out of range. */
bool apij_parse_i64(const char *s, int64_t *out);

/* ---- csv.c ---- */
/* CSV exports (RFC 4180): a cell, quoted when it holds a comma, quote, CR or LF; a cell that
 * a spreadsheet would run as a formula (starting with = + - @ TAB CR) gets a leading
 * apostrophe. apic_sep() before every cell but a row's first; apic_end() ends a row. */
void apic_cell(struct buf *b, const char *s);
void apic_int(struct buf *b, int64_t v);
void apic_time(struct buf *b, int64_t t); /* "YYYY-MM-DDTHH:MM:SSZ", empty for 0 */
void apic_sep(struct buf *b);
void apic_end(struct buf *b);
/* The reply as a CSV download named name (Content-Disposition). */
void apic_reply(struct api_req *r, const char *name);
/* An export that grew past cap: the partial body dropped, 413 naming what narrows it. */
int apic_too_large(struct api_req *r, size_t cap, const char *narrow);

#endif
