/*
 * test_api.c - the HTTP server in-process on a random loopback port, over raw sockets:
 * routing (404, 405 + Allow), authentication (401, 403, admin implies all), the per-token
 * rate limit (429), the body limit at and past http.body_limit (413), the JSON depth limit
 * at and past limits.json_depth, CORS only when configured, error bodies always JSON, the
 * metrics of HTTP requests; and the pure helpers: scopes, token shape, SHA-256, depth scan,
 * time parsing.
 * layer: api (links bnc_api and the libraries below it, nothing above)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/api.h"
#include "api/api_int.h"
#include "api/auth.h"
#include "api/ratelimit.h"
#include "api/routes_int.h"
#include "core/buf.h"
#include "core/cfg.h"
#include "core/metrics.h"
#include "store/api_store.h"
#include "store/store.h"

struct fx {
    char dir[64];
    char db[128];
    struct bnc_config cfg;
    struct api_server *srv;
    int port;
    char admin[AUTH_TOKEN_LEN + 1];
    char reader[AUTH_TOKEN_LEN + 1];
};

struct reply {
    int status;
    char head[4096];
    char *body;
    size_t len;
};

static void
mk_token(struct store *st, const char *name, const char *scopes, char *out)
{
    char hash[AUTH_HASH_LEN + 1];
    int64_t id;

    assert_int_equal(auth_token_generate(out, AUTH_TOKEN_LEN + 1), BNC_OK);
    auth_sha256_hex(out, strlen(out), hash);
    assert_int_equal(api_token_insert(st, name, hash, scopes, 1, &id), BNC_OK);
}

static int
fx_start(void **state, const char *extra_key, const char *extra_val)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct api_options o;
    struct store *st = NULL;
    char err[256];

    snprintf(f->dir, sizeof(f->dir), "/tmp/bnc-test-api.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/t.db", f->dir);
    cfg_init(&f->cfg);
    assert_int_equal(cfg_set(&f->cfg, "store.url", f->db, err, sizeof(err)), BNC_OK);
    assert_int_equal(cfg_set(&f->cfg, "http.listen", "127.0.0.1:0", err, sizeof(err)), BNC_OK);
    assert_int_equal(cfg_set(&f->cfg, "http.threads", "2", err, sizeof(err)), BNC_OK);
    assert_int_equal(cfg_set(&f->cfg, "http.body_limit", "4096", err, sizeof(err)), BNC_OK);
    assert_int_equal(cfg_set(&f->cfg, "limits.json_depth", "4", err, sizeof(err)), BNC_OK);
    if (extra_key != NULL) {
        assert_int_equal(cfg_set(&f->cfg, extra_key, extra_val, err, sizeof(err)), BNC_OK);
    }
    assert_int_equal(store_open(f->db, &f->cfg, &st, err, sizeof(err)), BNC_OK);
    mk_token(st, "admin", "admin", f->admin);
    mk_token(st, "reader", "contact:read", f->reader);
    store_close(st);
    memset(&o, 0, sizeof(o));
    o.cfg = &f->cfg;
    assert_int_equal(api_server_start(&o, &f->srv), BNC_OK);
    f->port = api_server_port(f->srv);
    assert_true(f->port > 0);
    *state = f;
    return 0;
}

static int
setup(void **state)
{
    return fx_start(state, NULL, NULL);
}

static int
setup_limited(void **state)
{
    return fx_start(state, "http.rate_limit", "5");
}

static int
setup_cors(void **state)
{
    return fx_start(state, "http.cors_origin", "https://app.example");
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char path[200];

    api_server_stop(f->srv);
    cfg_free(&f->cfg);
    snprintf(path, sizeof(path), "%s/t.db", f->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/t.db-wal", f->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/t.db-shm", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* One request on its own connection ("Connection: close"); the reply is read to EOF. */
static void
http(struct fx *f, const char *method, const char *path, const char *token, const char *body,
     size_t bodylen, const char *extra_headers, struct reply *r)
{
    struct sockaddr_in sa;
    struct buf req, resp;
    char chunk[8192], *sep;
    ssize_t n;
    size_t off = 0;
    int fd;

    memset(r, 0, sizeof(*r));
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)f->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    buf_init(&req, 0);
    buf_printf(&req, "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n", method, path);
    if (token != NULL) {
        buf_printf(&req, "Authorization: Bearer %s\r\n", token);
    }
    if (extra_headers != NULL) {
        buf_adds(&req, extra_headers);
    }
    if (body != NULL) {
        buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n", bodylen);
    }
    buf_adds(&req, "\r\n");
    if (body != NULL) {
        buf_add(&req, body, bodylen);
    }
    while (off < req.len) {
        n = send(fd, req.p + off, req.len - off, MSG_NOSIGNAL);
        if (n <= 0) {
            break; /* the server may answer early and close */
        }
        off += (size_t)n;
    }
    buf_free(&req);
    buf_init(&resp, 0);
    while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0) {
        buf_add(&resp, chunk, (size_t)n);
    }
    close(fd);
    assert_non_null(resp.p);
    assert_true(strncmp(resp.p, "HTTP/1.1 ", 9) == 0);
    r->status = (int)strtol(resp.p + 9, NULL, 10);
    sep = strstr(resp.p, "\r\n\r\n");
    assert_non_null(sep);
    memcpy(r->head, resp.p,
           (size_t)(sep - resp.p) < sizeof(r->head) - 1 ? (size_t)(sep - resp.p)
                                                        : sizeof(r->head) - 1);
    r->len = resp.len - (size_t)(sep + 4 - resp.p);
    r->body = calloc(1, r->len + 1);
    memcpy(r->body, sep + 4, r->len);
    buf_free(&resp);
}

static void
reply_free(struct reply *r)
{
    free(r->body);
}

static void
assert_json_error(const struct reply *r, const char *code)
{
    char want[64];

    assert_non_null(strstr(r->head, "Content-Type: application/json"));
    snprintf(want, sizeof(want), "{\"error\":{\"code\":\"%s\"", code);
    if (strstr(r->body, want) == NULL) {
        fail_msg("expected error %s, got %d %s", code, r->status, r->body);
    }
}

static void
test_routing(void **state)
{
    struct fx *f = *state;
    struct reply r;

    http(f, "GET", "/healthz", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}\n");
    reply_free(&r);
    http(f, "GET", "/api/v1/nothing", f->admin, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_json_error(&r, "not_found");
    reply_free(&r);
    http(f, "GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    http(f, "PUT", "/api/v1/check/a@example.com", f->admin, "{}", 2, NULL, &r);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.head, "Allow: GET"));
    assert_json_error(&r, "method_not_allowed");
    reply_free(&r);
    http(f, "BREW", "/healthz", NULL, NULL, 0, NULL, &r);
    assert_true(r.status == 405 || r.status == 400 || r.status == 501);
    reply_free(&r);
    /* no CORS unless configured */
    http(f, "GET", "/healthz", NULL, NULL, 0, "Origin: https://evil.example\r\n", &r);
    assert_null(strstr(r.head, "Access-Control-Allow-Origin"));
    reply_free(&r);
    http(f, "GET", "/static/../../etc/passwd", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
}

static void
test_auth(void **state)
{
    struct fx *f = *state;
    struct reply r;
    char bad[AUTH_TOKEN_LEN + 1];

    http(f, "GET", "/api/v1/check/a@example.com", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.head, "WWW-Authenticate: Bearer"));
    assert_json_error(&r, "unauthorized");
    reply_free(&r);
    memcpy(bad, f->reader, sizeof(bad));
    bad[10] = bad[10] == 'a' ? 'b' : 'a';
    http(f, "GET", "/api/v1/check/a@example.com", bad, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 401);
    reply_free(&r);
    http(f, "GET", "/api/v1/check/a@example.com", "bnc_short", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 401);
    reply_free(&r);
    http(f, "GET", "/api/v1/check/a@example.com", f->reader, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"address\":\"a@example.com\",\"sendable\":true,"
                                "\"hygiene_status\":null,\"reason\":null,\"source\":null,"
                                "\"since\":null}\n");
    reply_free(&r);
    http(f, "GET", "/api/v1/suppressions", f->reader, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 403);
    assert_json_error(&r, "forbidden");
    assert_non_null(strstr(r.body, "admin"));
    reply_free(&r);
    http(f, "POST", "/api/v1/contacts", f->reader, "{}", 2, NULL, &r);
    assert_int_equal(r.status, 403);
    reply_free(&r);
    /* admin implies every scope */
    http(f, "GET", "/api/v1/check/a@example.com", f->admin, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    http(f, "GET", "/api/v1/suppressions", f->admin, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"data\":[],\"next\":null}\n");
    reply_free(&r);
    /* POST /bounces without a classification context: 503, not 500 */
    http(f, "POST", "/api/v1/bounces", f->admin, "{\"recipient\":\"a@b.example\"}", 27, NULL, &r);
    assert_int_equal(r.status, 503);
    reply_free(&r);
}

static void
test_limits(void **state)
{
    struct fx *f = *state;
    struct reply r;
    char *body = malloc(5000);
    size_t n;

    /* body_limit 4096: a body of exactly 4096 bytes is read (then refused as bad JSON) */
    memset(body, ' ', 5000);
    http(f, "POST", "/api/v1/check", f->admin, body, 4096, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_json_error(&r, "bad_json");
    reply_free(&r);
    http(f, "POST", "/api/v1/check", f->admin, body, 4097, NULL, &r);
    assert_int_equal(r.status, 413);
    assert_json_error(&r, "too_large");
    reply_free(&r);
    /* json_depth 4: depth 4 parses, 5 is refused before parsing */
    n = (size_t)snprintf(body, 5000, "{\"addresses\":[[[]]]}");
    http(f, "POST", "/api/v1/check", f->admin, body, n, NULL, &r);
    assert_int_equal(r.status, 200); /* parsed: the entry that is no string has its error */
    assert_non_null(strstr(r.body, "\"code\":\"bad_address\""));
    reply_free(&r);
    n = (size_t)snprintf(body, 5000, "{\"addresses\":[[[[]]]]}");
    http(f, "POST", "/api/v1/check", f->admin, body, n, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_json_error(&r, "too_deep");
    reply_free(&r);
    n = (size_t)snprintf(body, 5000, "{\"addresses\":[\"a@example.com\",\"b@example.org\"]}");
    http(f, "POST", "/api/v1/check", f->admin, body, n, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"b@example.org\""));
    reply_free(&r);
    http(f, "POST", "/api/v1/check", f->admin, "{\"addresses\":", 13, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_json_error(&r, "bad_json");
    reply_free(&r);
    free(body);
}

static void
test_rate_limit(void **state)
{
    struct fx *f = *state;
    struct reply r;
    int i, ok = 0, limited = 0;

    /* rate 5/s, burst 5: 12 quick requests see at least one 429 and at least 5 200s */
    for (i = 0; i < 12; i++) {
        http(f, "GET", "/api/v1/check/a@example.com", f->reader, NULL, 0, NULL, &r);
        if (r.status == 200) {
            ok++;
        } else if (r.status == 429) {
            limited++;
            assert_non_null(strstr(r.head, "Retry-After: 1"));
            assert_json_error(&r, "rate_limited");
        }
        reply_free(&r);
    }
    assert_true(ok >= 5);
    assert_true(limited >= 1);
    /* another token has its own bucket */
    http(f, "GET", "/api/v1/check/a@example.com", f->admin, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

/* The token cache's slot of a hash (auth.c: the first 8 hex digits, mod 1024 slots). Two
 * tokens on one slot used to share one rate bucket: each reset the other's. */
static unsigned
cache_slot(const char *hash)
{
    unsigned long h = strtoul(
        (char[9]){hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7], 0}, NULL,
        16);
    return (unsigned)(h % 1024);
}

/* A token (valid when name is non-NULL, stored with contact:read) on the slot of `like`. */
static void
colliding_token(struct fx *f, const char *like, const char *name, char *out)
{
    char hash[AUTH_HASH_LEN + 1], want[AUTH_HASH_LEN + 1], err[256];
    struct store *st = NULL;
    int64_t id;

    auth_sha256_hex(like, strlen(like), want);
    do {
        assert_int_equal(auth_token_generate(out, AUTH_TOKEN_LEN + 1), BNC_OK);
        auth_sha256_hex(out, strlen(out), hash);
    } while (cache_slot(hash) != cache_slot(want) || strcmp(hash, want) == 0);
    if (name != NULL) {
        assert_int_equal(store_open(f->db, &f->cfg, &st, err, sizeof(err)), BNC_OK);
        assert_int_equal(api_token_insert(st, name, hash, "contact:read", 1, &id), BNC_OK);
        store_close(st);
    }
}

static void
test_rate_limit_colliding(void **state)
{
    struct fx *f = *state;
    char other[AUTH_TOKEN_LEN + 1], junk[AUTH_TOKEN_LEN + 1];
    struct reply r;
    int i, ok_reader = 0, ok_other = 0, ok_after_junk = 0;

    /* rate 5/s, burst 5: two valid tokens on one cache slot, alternating, 40 requests */
    colliding_token(f, f->reader, "twin", other);
    for (i = 0; i < 40; i++) {
        http(f, "GET", "/api/v1/check/a@example.com", i % 2 ? other : f->reader, NULL, 0, NULL, &r);
        if (r.status == 200) {
            *(i % 2 ? &ok_other : &ok_reader) += 1;
        } else {
            assert_int_equal(r.status, 429);
        }
        reply_free(&r);
    }
    /* each has its own bucket: 5 at once plus what refills while the test runs */
    assert_true(ok_reader >= 5 && ok_reader <= 8);
    assert_true(ok_other >= 5 && ok_other <= 8);
    /* junk minted to collide with the admin token does not reset it either */
    colliding_token(f, f->admin, NULL, junk);
    for (i = 0; i < 24; i++) {
        http(f, "GET", "/api/v1/check/a@example.com", i % 2 ? junk : f->admin, NULL, 0, NULL, &r);
        if (i % 2 == 0 && r.status == 200) {
            ok_after_junk++;
        }
        reply_free(&r);
    }
    assert_true(ok_after_junk >= 5 && ok_after_junk <= 8);
}

static int
setup_auth_failures(void **state)
{
    return fx_start(state, "http.auth_failure_limit", "5");
}

static void
test_auth_failures(void **state)
{
    struct fx *f = *state;
    char junk[AUTH_TOKEN_LEN + 1];
    struct reply r;
    int i;

    assert_int_equal(auth_token_generate(junk, sizeof(junk)), BNC_OK);
    /* five failures per minute from one address: five 401s, then 429 for anything it sends */
    for (i = 0; i < 5; i++) {
        http(f, "GET", "/api/v1/check/a@example.com", i % 2 ? junk : "bnc_short", NULL, 0, NULL,
             &r);
        assert_int_equal(r.status, 401);
        reply_free(&r);
    }
    http(f, "GET", "/api/v1/check/a@example.com", junk, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 429);
    assert_json_error(&r, "auth_rate_limited");
    assert_non_null(strstr(r.head, "Retry-After: 12"));
    reply_free(&r);
    /* a guesser that finds a valid token meanwhile is not let in */
    http(f, "GET", "/api/v1/check/a@example.com", f->admin, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 429);
    reply_free(&r);
    /* routes without a token are not affected */
    http(f, "GET", "/healthz", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static void
test_rate_table(void **state)
{
    struct rate_table *t = rate_table_new(4, 1.0, 2.0);
    char key[16];
    int i;

    (void)state;
    assert_true(rate_take(t, "a", 1000));
    assert_true(rate_take(t, "a", 1000));
    assert_false(rate_take(t, "a", 1000)); /* burst 2 */
    assert_true(rate_exhausted(t, "a", 1000));
    assert_false(rate_exhausted(t, "b", 1000)); /* unknown: not created */
    assert_int_equal(rate_table_size(t), 1);
    assert_true(rate_take(t, "a", 2000)); /* 1/s refill */
    /* full table: refilled buckets go first, then the longest idle; "a" (empty) survives */
    for (i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_true(rate_take(t, key, 2000 + i));
        assert_true(rate_table_size(t) <= 4);
    }
    assert_true(rate_exhausted(t, "a", 2000 + 10));
    rate_table_free(t);
}

static void
test_cors(void **state)
{
    struct fx *f = *state;
    struct reply r;

    http(f, "GET", "/healthz", NULL, NULL, 0, "Origin: https://app.example\r\n", &r);
    assert_non_null(strstr(r.head, "Access-Control-Allow-Origin: https://app.example"));
    reply_free(&r);
    http(f, "OPTIONS", "/api/v1/contacts", NULL, NULL, 0,
         "Origin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n", &r);
    assert_int_equal(r.status, 204);
    assert_non_null(strstr(r.head, "Access-Control-Allow-Methods: GET, POST, OPTIONS"));
    assert_non_null(strstr(r.head, "Access-Control-Allow-Headers: Authorization"));
    reply_free(&r);
}

static void
test_metrics_http(void **state)
{
    struct fx *f = *state;
    struct reply r;

    http(f, "GET", "/healthz", NULL, NULL, 0, NULL, &r);
    reply_free(&r);
    http(f, "GET", "/nope", NULL, NULL, 0, NULL, &r);
    reply_free(&r);
    http(f, "GET", "/metrics", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Content-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(r.body, "bounced_http_requests_total{route=\"/healthz\",code=\"200\"}"));
    assert_non_null(
        strstr(r.body, "bounced_http_requests_total{route=\"unmatched\",code=\"404\"}"));
    assert_non_null(strstr(r.body, "# TYPE bounced_http_request_seconds histogram"));
    reply_free(&r);
}

static void
test_helpers(void **state)
{
    unsigned bits = 0;
    char err[128], out[128], hash[AUTH_HASH_LEN + 1], tok[AUTH_TOKEN_LEN + 1];
    int64_t t;

    (void)state;
    assert_int_equal(auth_scopes_parse("contact:read, bounce:write", &bits, err, sizeof(err)),
                     BNC_OK);
    assert_int_equal(bits, AUTH_S_CONTACT_READ | AUTH_S_BOUNCE_WRITE);
    auth_scopes_format(bits, out, sizeof(out));
    assert_string_equal(out, "contact:read,bounce:write");
    assert_int_equal(auth_scopes_parse("contact:read,root", &bits, err, sizeof(err)), BNC_EINVAL);
    assert_non_null(strstr(err, "root"));
    assert_int_equal(auth_scopes_parse(",", &bits, err, sizeof(err)), BNC_EINVAL);
    assert_true(auth_scopes_allow(AUTH_S_ADMIN, AUTH_S_CONTACT_WRITE));
    assert_false(auth_scopes_allow(AUTH_S_CONTACT_READ, AUTH_S_CONTACT_WRITE));
    assert_true(
        auth_scopes_allow(AUTH_S_CONTACT_READ | AUTH_S_CONTACT_WRITE, AUTH_S_CONTACT_WRITE));
    /* FIPS 180-4 example: SHA-256("abc") */
    auth_sha256_hex("abc", 3, hash);
    assert_string_equal(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(auth_token_generate(tok, sizeof(tok)), BNC_OK);
    assert_int_equal(strlen(tok), AUTH_TOKEN_LEN);
    assert_memory_equal(tok, "bnc_", 4);
    assert_int_equal(auth_token_generate(tok, AUTH_TOKEN_LEN), BNC_EINVAL);

    assert_true(apij_depth_ok("[[[]]]", 6, 3));
    assert_false(apij_depth_ok("[[[[]]]]", 8, 3));
    assert_true(apij_depth_ok("[\"[[[[[[\"]", 10, 1));   /* brackets inside strings */
    assert_true(apij_depth_ok("[\"\\\"[[[[\"]", 10, 1)); /* escaped quote */
    assert_true(apij_depth_ok("\"\\", 2, 0));            /* escape at the very end */
    assert_false(apij_depth_ok("{\"a\":{\"b\":{}}}", 13, 2));

    assert_true(api_parse_time("0", &t) && t == 0);
    assert_true(api_parse_time("2026-11-23", &t) && t == 1795392000);
    assert_true(api_parse_time("2026-11-23T01:02:03Z", &t) && t == 1795392000 + 3723);
    assert_true(api_parse_time("1970-01-01", &t) && t == 0);
    assert_true(api_parse_time("2000-03-01", &t) && t == 951868800);
    assert_false(api_parse_time("yesterday", &t));
    assert_false(api_parse_time("2026-13-01", &t));
    assert_false(api_parse_time("2026-11-23T01:02:03", &t));
    assert_false(api_parse_time("-5", &t));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helpers),
        cmocka_unit_test_setup_teardown(test_routing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup_limited, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_colliding, setup_limited, teardown),
        cmocka_unit_test_setup_teardown(test_auth_failures, setup_auth_failures, teardown),
        cmocka_unit_test(test_rate_table),
        cmocka_unit_test_setup_teardown(test_cors, setup_cors, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
