/*
 * settings.c - what the server tells a client about itself: GET /api/v1/whoami (the
 * token's id and scopes, so the dashboard hides what the token may not do) and GET
 * /api/v1/settings (the effective configuration, read-only: every parameter that is not a
 * secret, with its default and whether it differs).
 *
 * Secrets (cfg rows marked secret: signing keys) are never listed, and a password inside a
 * URL value (store.url) is shown as "***".
 * Ownership: replies go to r->out.
 */
#include "routes_int.h"

#include <string.h>

#include "auth.h"
#include "core/cfg.h"

int
h_whoami(struct api_req *r)
{
    static const struct {
        unsigned bit;
        const char *name;
    } scopes[] = {{AUTH_S_CONTACT_READ, "contact:read"},
                  {AUTH_S_CONTACT_WRITE, "contact:write"},
                  {AUTH_S_BOUNCE_WRITE, "bounce:write"},
                  {AUTH_S_ADMIN, "admin"}};
    size_t i, n = 0;

    buf_printf(&r->out, "{\"token_id\":%lld,\"scopes\":[", (long long)r->token_id);
    for (i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
        if (auth_scopes_allow(r->scopes, scopes[i].bit)) {
            buf_adds(&r->out, n++ > 0 ? ",\"" : "\"");
            buf_adds(&r->out, scopes[i].name);
            buf_addc(&r->out, '"');
        }
    }
    buf_adds(&r->out, "]}\n");
    return 200;
}

/* A password inside a URL or conninfo value ("://user:PASS@", "password=PASS") as "***". */
static void
api_mask_password(char *v, size_t cap)
{
    char *s = strstr(v, "://"), *at, *colon, *kw;
    char tail[1024];

    if (s != NULL && (at = strchr(s + 3, '@')) != NULL) {
        colon = memchr(s + 3, ':', (size_t)(at - (s + 3)));
        if (colon != NULL) {
            snprintf(tail, sizeof(tail), "%s", at);
            snprintf(colon + 1, cap - (size_t)(colon + 1 - v), "***%s", tail);
        }
    }
    if ((kw = strstr(v, "password=")) != NULL) {
        char *end = kw + 9 + strcspn(kw + 9, " &");
        snprintf(tail, sizeof(tail), "%s", end);
        snprintf(kw + 9, cap - (size_t)(kw + 9 - v), "***%s", tail);
    }
}

int
h_settings(struct api_req *r)
{
    const struct cfg_param *p;
    struct bnc_config d;
    char value[1024], def[1024];
    size_t i, n, k = 0;

    p = cfg_params(&n);
    cfg_init(&d); /* the defaults, formatted as the values are */
    buf_adds(&r->out, "{\"data\":[");
    for (i = 0; i < n; i++) {
        if (p[i].secret) {
            continue;
        }
        cfg_format(r->srv->cfg, &p[i], value, sizeof(value));
        cfg_format(&d, &p[i], def, sizeof(def));
        buf_adds(&r->out, k++ > 0 ? ",{\"name\":" : "{\"name\":");
        apij_str(&r->out, p[i].name);
        buf_printf(&r->out, ",\"changed\":%s,\"reloadable\":%s",
                   strcmp(value, def) != 0 ? "true" : "false", p[i].reloadable ? "true" : "false");
        api_mask_password(value, sizeof(value));
        api_mask_password(def, sizeof(def));
        apij_kv_str(&r->out, "value", value);
        apij_kv_str(&r->out, "default", def);
        apij_kv_str(&r->out, "help", p[i].help);
        buf_addc(&r->out, '}');
    }
    cfg_free(&d);
    buf_adds(&r->out, "]}\n");
    return 200;
}
