/*
 * dispatch.c - one request from its method and path to the handler's reply: split the path,
 * find the route (the first entry of routes.c whose template matches), answer a CORS
 * preflight, 404 and 405 (with Allow), 413 for a body over the limit, authenticate the
 * bearer token and check its scope (401, 403, 429), run the handler, count the request.
 *
 * It knows neither the transport (http.c reads and sends) nor any resource (the handlers
 * do the work).
 * STANDARDS: RFC 9110 (401 + WWW-Authenticate, 405 + Allow, 429 + Retry-After), RFC 6750
 * (Bearer), Fetch/CORS preflight (Access-Control-Allow-* when http.cors_origin is set).
 * LIMITS: path segments API_MAX_SEGS (404 beyond); per-token rate http.rate_limit and failed
 * authentications per client address http.auth_failure_limit (auth.c), both 429.
 * Ownership: writes only into the request.
 */
#include "api_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "core/cfg.h"
#include "core/metrics.h"
#include "core/xmalloc.h"

static unsigned api_method_bit(const char *m);
static bool api_split(struct api_req *r, const char *url);

int
api_request_open(struct api_req *r, const char *method, const char *url)
{
    r->method = api_method_bit(method);
    if (!api_split(r, url)) {
        return api_error(r, 404, "not_found", "no such route");
    }
    if (r->method == 0) {
        return api_error(r, 405, "method_not_allowed", "unknown method");
    }
    return 0;
}

static unsigned
api_method_bit(const char *m)
{
    static const struct {
        const char *name;
        unsigned bit;
    } tab[] = {{"GET", API_GET},        {"POST", API_POST},     {"PUT", API_PUT},
               {"PATCH", API_PATCH},    {"DELETE", API_DELETE}, {"HEAD", API_HEAD},
               {"OPTIONS", API_OPTIONS}};
    size_t i;

    for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        if (strcmp(tab[i].name, m) == 0) {
            return tab[i].bit;
        }
    }
    return 0;
}

/* Split the path into segments in place; false when there are too many. */
static bool
api_split(struct api_req *r, const char *url)
{
    char *p;

    r->path = xstrdup(url);
    r->nseg = 0;
    p = r->path;
    while (*p == '/') {
        p++;
    }
    while (*p != '\0') {
        char *e = strchr(p, '/');
        if (r->nseg == API_MAX_SEGS) {
            return false;
        }
        r->seg[r->nseg++] = p;
        if (e == NULL) {
            break;
        }
        *e = '\0';
        p = e + 1;
    }
    return true;
}

static bool
api_route_match(const struct api_route *rt, const struct api_req *r)
{
    const char *p = rt->path;
    size_t i = 0;

    while (*p == '/') {
        p++;
    }
    while (*p != '\0') {
        const char *e = strchr(p, '/');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        if (i >= r->nseg) {
            return false;
        }
        if (!(n == 2 && p[0] == '{' && p[1] == '}')) {
            if (strlen(r->seg[i]) != n || memcmp(r->seg[i], p, n) != 0) {
                return false;
            }
        } else if (r->seg[i][0] == '\0') {
            return false;
        }
        i++;
        p += n;
        while (*p == '/') {
            p++;
        }
    }
    return i == r->nseg;
}

static void
api_allow_header(unsigned methods, char *out, size_t outlen)
{
    static const char *names[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
    size_t i, o = 0;

    out[0] = '\0';
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if ((methods & (1u << i)) != 0) {
            int w = snprintf(out + o, outlen - o, "%s%s", o ? ", " : "", names[i]);
            if (w < 0 || (size_t)w >= outlen - o) {
                return;
            }
            o += (size_t)w;
        }
    }
}

static int
api_authenticate(struct api_req *r, unsigned need)
{
    const char *h = api_header(r, "Authorization");
    const char *tok = NULL;
    size_t len = 0;
    struct store *st;
    enum auth_result ar;

    if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
        tok = h + 7;
        while (*tok == ' ') {
            tok++;
        }
        len = strlen(tok);
        while (len > 0 && tok[len - 1] == ' ') {
            len--;
        }
    }
    if (tok == NULL || len == 0) {
        api_add_header(r, "WWW-Authenticate", "Bearer realm=\"bounced\"");
        return api_error(r, 401, "unauthorized", "a bearer token is required");
    }
    st = api_store(r);
    if (st == NULL) {
        return api_unavailable(r);
    }
    ar = auth_check(r->srv->auth, st, tok, len, r->peer[0] != '\0' ? r->peer : NULL,
                    api_mono_ns() / 1000000, api_now(r), &r->token_id, &r->scopes);
    switch (ar) {
    case AUTH_OK:
        break;
    case AUTH_RATE_LIMITED:
    case AUTH_BLOCKED: {
        char ra[24];
        snprintf(ra, sizeof(ra), "%lld", (long long)auth_retry_after(r->srv->auth, ar));
        api_add_header(r, "Retry-After", ra);
        return ar == AUTH_BLOCKED
                   ? api_error(r, 429, "auth_rate_limited",
                               "too many failed authentications from this address")
                   : api_error(r, 429, "rate_limited", "too many requests for this token");
    }
    case AUTH_FAULT:
        /* the token could not be looked up: the store's fault, not the client's */
        if (!api_store_answers(r)) {
            return api_unavailable(r);
        }
        return api_error(r, 500, "internal", "token lookup failed");
    default:
        api_add_header(r, "WWW-Authenticate", "Bearer realm=\"bounced\", error=\"invalid_token\"");
        return api_error(r, 401, "unauthorized", "the token is not valid");
    }
    if (!auth_scopes_allow(r->scopes, need)) {
        char want[128];
        auth_scopes_format(need, want, sizeof(want));
        return api_error(r, 403, "forbidden", "this token lacks the scope %s", want);
    }
    return 0;
}

void
api_dispatch(struct api_req *r)
{
    size_t n, i;
    const struct api_route *routes = api_routes(&n);
    unsigned allowed = 0;
    unsigned m = r->method;

    for (i = 0; i < n; i++) {
        if (!api_route_match(&routes[i], r)) {
            continue;
        }
        allowed |= routes[i].methods;
        if ((routes[i].methods & m) != 0 || (m == API_HEAD && (routes[i].methods & API_GET))) {
            r->route = &routes[i];
            break;
        }
    }
    if (r->route == NULL) {
        if (allowed != 0 && m == API_OPTIONS && r->srv->cfg->http_cors_origin[0] != '\0') {
            char allow[96];
            api_allow_header(allowed | API_OPTIONS, allow, sizeof(allow));
            api_add_header(r, "Access-Control-Allow-Methods", allow);
            api_add_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
            api_add_header(r, "Access-Control-Max-Age", "600");
            r->status = 204;
            return;
        }
        if (allowed != 0) {
            char allow[96];
            api_allow_header(allowed, allow, sizeof(allow));
            api_add_header(r, "Allow", allow);
            api_error(r, 405, "method_not_allowed", "method not allowed here (allowed: %s)", allow);
            return;
        }
        api_error(r, 404, "not_found", "no such route");
        return;
    }
    if (r->body_too_big) {
        api_error(r, 413, "too_large", "the request body is over %zu bytes",
                  r->srv->cfg->http_body_limit);
        return;
    }
    if (r->route->scope != 0 && api_authenticate(r, r->route->scope) != 0) {
        return;
    }
    r->status = r->route->fn(r);
}

void
api_count(const struct api_req *r)
{
    char labels[160];
    double secs = (double)(api_mono_ns() - r->start_ns) / 1e9;
    const char *route = r->route != NULL ? r->route->label : "unmatched";

    snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%d\"", route, r->status);
    metrics_counter_add("bounced_http_requests_total", labels, 1);
    snprintf(labels, sizeof(labels), "route=\"%s\"", route);
    metrics_observe("bounced_http_request_seconds", labels, secs);
}
