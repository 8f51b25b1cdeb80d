/*
 * verify.c - re-verification links (DESIGN §6, reactivation): POST
 * /api/v1/contacts/{id}/reverify makes a link token valid verify.ttl seconds, GET
 * /verify/{token} (no API token: the person whose address it is clicks it) uses it once and
 * returns the contact to ACTIVE.
 *
 * A link token looks like an API token with the prefix "vfy_"; only its SHA-256 is stored.
 * A browser (Accept: text/html) gets a small page, anything else JSON.
 * STANDARDS: RFC 9110 (201, 410 for a used or expired link).
 * LIMITS: the link URL 4 KiB (verify.base_url + the token).
 * Ownership: replies go to r->out.
 */
#include "routes_int.h"

#include <string.h>

#include "auth.h"
#include "core/cfg.h"
#include "store/api_store.h"
#include "store/model.h"
#include "store/store.h"

int
h_contact_reverify(struct api_req *r)
{
    struct store *st;
    struct model_contact c;
    char tok[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_LEN + 1];
    int64_t id, now = api_now(r), exp;
    const char *base = r->srv->cfg->verify_base_url;
    size_t bl;
    bnc_status rc;

    if (!api_path_id(r, 3, "contact", &id) || (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    memset(&c, 0, sizeof(c));
    rc = model_contact_get(st, NULL, id, now, &c);
    model_contact_free(&c);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "contact");
    }
    if (auth_token_generate(tok, sizeof(tok)) != BNC_OK) {
        return api_error(r, 500, "internal", "no randomness available");
    }
    memcpy(tok, "vfy_", 4); /* tells a link token from an API token at a glance */
    auth_sha256_hex(tok, strlen(tok), hash);
    exp = now + r->srv->cfg->verify_ttl;
    rc = api_verif_insert(st, id, hash, now, exp);
    if (rc != BNC_OK) {
        return api_error_status(r, rc, "verification");
    }
    bl = base != NULL ? strlen(base) : 0;
    while (bl > 0 && base[bl - 1] == '/') {
        bl--;
    }
    buf_adds(&r->out, "{\"token\":");
    apij_str(&r->out, tok);
    buf_adds(&r->out, ",\"url\":");
    {
        struct buf u;
        buf_init(&u, 4096);
        buf_add(&u, base != NULL ? base : "", bl);
        buf_printf(&u, "/verify/%s", tok);
        apij_str(&r->out, u.p);
        buf_free(&u);
    }
    buf_printf(&r->out, ",\"contact_id\":%lld,\"expires_at\":%lld}\n", (long long)id,
               (long long)exp);
    return 201;
}

static bool
api_wants_html(struct api_req *r)
{
    const char *accept = api_header(r, "Accept");

    return accept != NULL && strstr(accept, "text/html") != NULL;
}

int
h_verify(struct api_req *r)
{
    struct store *st;
    const char *tok = r->seg[1];
    char hash[AUTH_HASH_LEN + 1];
    int64_t cid = 0, now = api_now(r);
    bnc_status rc;

    if (strlen(tok) != AUTH_TOKEN_LEN || strncmp(tok, "vfy_", 4) != 0) {
        return api_error(r, 404, "not_found", "unknown verification link");
    }
    if ((st = api_need_store(r)) == NULL) {
        return r->status;
    }
    auth_sha256_hex(tok, strlen(tok), hash);
    rc = store_begin(st);
    if (rc == BNC_OK) {
        rc = api_verif_consume(st, hash, now, &cid);
    }
    if (rc == BNC_OK) {
        rc = model_contact_reactivate(st, cid, "verify", "re-verification link", now);
    }
    if (rc == BNC_OK) {
        rc = store_commit(st);
    } else {
        store_rollback(st);
    }
    switch (rc) {
    case BNC_OK:
        break;
    case BNC_ENOTFOUND:
        return api_error(r, 404, "not_found", "unknown verification link");
    case BNC_ECONFLICT:
        return api_error(r, 410, "gone", "this verification link was already used");
    case BNC_ELIMIT:
        return api_error(r, 410, "gone", "this verification link has expired");
    default:
        return api_error_status(r, rc, "verification");
    }
    if (api_wants_html(r)) {
        /* a person clicked the link in a mail client or browser */
        buf_adds(&r->out, "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">"
                          "<title>Address confirmed</title><body><h1>Thank you</h1>"
                          "<p>Your address is confirmed; you will receive our mail again.</p>"
                          "</body></html>\n");
        r->ctype = "text/html; charset=utf-8";
        return 200;
    }
    buf_printf(&r->out, "{\"status\":\"reactivated\",\"contact_id\":%lld}\n", (long long)cid);
    return 200;
}
