/*
 * webhook_mailgun.c - Mailgun webhooks: {"signature": {...}, "event-data": {...}}.
 *
 * failed (severity permanent | temporary; reason "suppress-bounce" means Mailgun refused to
 * send to an address that bounced before; delivery-status code, enhanced-code, message,
 * description), complained, delivered. Other events yield nothing.
 * Legacy webhooks (the form-encoded ones Mailgun sent before its JSON webhooks, still
 * configured on old domains): application/x-www-form-urlencoded fields event (bounced,
 * dropped, complained, delivered), recipient, code, error, notification, reason,
 * description, Message-Id, timestamp, token, signature. bounced is permanent; dropped is
 * permanent for reason hardfail (an address Mailgun suppressed) and passing for maxfails
 * and old (given up after retries).
 * Authenticity: events_mailgun_verify() over timestamp + token of either form
 * (events_mailgun_signature() finds them).
 * STANDARDS: Mailgun "Webhooks" and "Events" API documentation, and the legacy webhooks
 * documentation; WHATWG URL "application/x-www-form-urlencoded".
 * LIMITS: a form field of MG_FIELD_MAX bytes decoded (a longer one counts as absent).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest/events_int.h"

#define MG_FIELD_MAX 4096

static int
mg_hex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The decoded value of form field key, into out; false when absent or too long. */
static bool
mg_form_get(const char *p, size_t n, const char *key, char *out, size_t outlen)
{
    const char *e = p + n, *f = p;
    size_t kl = strlen(key);

    while (f < e) {
        const char *amp = memchr(f, '&', (size_t)(e - f)), *fe = amp ? amp : e;
        if ((size_t)(fe - f) > kl && strncmp(f, key, kl) == 0 && f[kl] == '=') {
            const char *v = f + kl + 1;
            size_t o = 0;
            while (v < fe && o + 1 < outlen) {
                int hi, lo;
                if (*v == '%' && fe - v >= 3 && (hi = mg_hex(v[1])) >= 0 &&
                    (lo = mg_hex(v[2])) >= 0) {
                    out[o++] = (char)(hi << 4 | lo);
                    v += 3;
                } else {
                    out[o++] = *v == '+' ? ' ' : *v;
                    v++;
                }
            }
            out[o] = '\0';
            return v == fe && strlen(out) == o; /* cut short or a NUL inside: not taken */
        }
        f = amp ? amp + 1 : e;
    }
    return false;
}

static bool
mg_is_json(const char *p, size_t n)
{
    while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
        n--;
    }
    return n > 0 && *p == '{';
}

bool
events_mailgun_signature(const char *data, size_t len, char *ts, size_t tslen, char *tok,
                         size_t toklen, char *sig, size_t siglen)
{
    json_error_t je;
    json_t *j, *s;
    bool ok;

    if (!mg_is_json(data, len)) {
        return mg_form_get(data, len, "timestamp", ts, tslen) &&
               mg_form_get(data, len, "token", tok, toklen) &&
               mg_form_get(data, len, "signature", sig, siglen);
    }
    if ((j = json_loadb(data, len, 0, &je)) == NULL) {
        return false;
    }
    s = json_object_get(j, "signature");
    {
        static const char *const keys[3] = {"timestamp", "token", "signature"};
        char *const outs[3] = {ts, tok, sig};
        const size_t lens[3] = {tslen, toklen, siglen};
        ok = json_is_object(s) && ev_jcopy(s, keys, outs, lens, 3);
    }
    json_decref(j);
    return ok;
}

/* A legacy form-encoded webhook (see the file comment). */
static bnc_status
mg_legacy(struct ev_state *st, const char *data, size_t len)
{
    char ev[64], rcpt[MG_FIELD_MAX], reason[64], text[MG_FIELD_MAX], code[16], mid[1024], why[96];
    enum ev_vendor v;
    struct bnc_rcpt *rc;

    if (!mg_form_get(data, len, "event", ev, sizeof(ev)) ||
        !mg_form_get(data, len, "recipient", rcpt, sizeof(rcpt))) {
        return BNC_OK; /* not an event with a recipient: nothing */
    }
    if (!mg_form_get(data, len, "reason", reason, sizeof(reason))) {
        reason[0] = '\0';
    }
    if (!strcasecmp(ev, "bounced")) {
        v = EV_V_PERMANENT;
    } else if (!strcasecmp(ev, "dropped")) {
        v = !strcasecmp(reason, "hardfail") ? EV_V_PERMANENT : EV_V_TRANSIENT;
    } else if (!strcasecmp(ev, "complained")) {
        v = EV_V_COMPLAINT;
    } else if (!strcasecmp(ev, "delivered")) {
        v = EV_V_DELIVERED;
    } else {
        return BNC_OK;
    }
    snprintf(why, sizeof(why), "legacy/%.30s/%.30s", ev, reason);
    if ((rc = ev_add(st, rcpt, strlen(rcpt), v, why)) == NULL) {
        return BNC_OK;
    }
    if (!strcasecmp(ev, "dropped")) {
        rc->reason_hint = v == EV_V_PERMANENT ? BNC_R_SUPPRESSED : BNC_R_EXPIRED;
    }
    if (v != EV_V_COMPLAINT && v != EV_V_DELIVERED) {
        if (mg_form_get(data, len, "code", code, sizeof(code)) && strlen(code) == 3 &&
            code[0] >= '2' && code[0] <= '5') {
            memcpy(rc->replycode, code, 4);
        }
        if (mg_form_get(data, len, "error", text, sizeof(text)) ||
            mg_form_get(data, len, "description", text, sizeof(text)) ||
            mg_form_get(data, len, "notification", text, sizeof(text))) {
            ev_diag(st, rc, text);
        }
    }
    if (mg_form_get(data, len, "Message-Id", mid, sizeof(mid))) {
        rc->original_message_id = report_strndup(st->r, mid, strlen(mid));
    }
    if (mg_form_get(data, len, "timestamp", code, sizeof(code))) {
        ev_time(st, rc, (int64_t)strtoll(code, NULL, 10));
    }
    return BNC_OK;
}

bnc_status
ev_mailgun(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen)
{
    json_t *j;
    const json_t *ed, *ds, *hdrs;
    const char *event, *rcpt, *sev, *reason, *mid;
    enum ev_vendor v;
    struct bnc_rcpt *rc;
    char why[96], diag[1024], code[8];
    int64_t c;

    if (!mg_is_json(data, len)) {
        if (memchr(data, '=', len) == NULL) {
            snprintf(err, errlen, "not a Mailgun webhook: neither JSON nor a form");
            return BNC_EPARSE;
        }
        return mg_legacy(st, data, len);
    }
    if ((j = ev_json_load(st, data, len, err, errlen)) == NULL) {
        return BNC_EPARSE;
    }
    ed = json_object_get(j, "event-data");
    if (!json_is_object(ed)) {
        json_decref(j);
        snprintf(err, errlen, "not a Mailgun webhook: no \"event-data\" object");
        return BNC_EPARSE;
    }
    event = ev_jstr(ed, "event");
    rcpt = ev_jstr(ed, "recipient");
    sev = ev_jstr(ed, "severity");
    reason = ev_jstr(ed, "reason");
    ds = json_object_get(ed, "delivery-status");
    if (!strcasecmp(event, "failed")) {
        v = !strcasecmp(sev, "temporary") ? EV_V_TRANSIENT : EV_V_PERMANENT;
    } else if (!strcasecmp(event, "complained")) {
        v = EV_V_COMPLAINT;
    } else if (!strcasecmp(event, "delivered")) {
        v = EV_V_DELIVERED;
    } else {
        json_decref(j);
        return BNC_OK;
    }
    snprintf(why, sizeof(why), "%.30s/%.30s/%.30s", event, sev, reason);
    if ((rc = ev_add(st, rcpt, strlen(rcpt), v, why)) != NULL) {
        if (!strcasecmp(reason, "suppress-bounce")) {
            rc->reason_hint = BNC_R_SUPPRESSED;
        }
        if (v != EV_V_COMPLAINT) {
            ev_status(rc, ev_jstr(ds, "enhanced-code"));
            c = ev_jint(ds, "code");
            if (c >= 200 && c <= 599) {
                snprintf(code, sizeof(code), "%d", (int)c);
                memcpy(rc->replycode, code, 4);
            }
            snprintf(diag, sizeof(diag), "%s%s%s", ev_jstr(ds, "message"),
                     ev_jstr(ds, "description")[0] ? " " : "", ev_jstr(ds, "description"));
            ev_diag(st, rc, diag);
        }
        hdrs = json_object_get(json_object_get(ed, "message"), "headers");
        mid = ev_jstr(hdrs, "message-id");
        if (mid[0]) {
            rc->original_message_id = report_strndup(st->r, mid, strlen(mid));
        }
        ev_time(st, rc, ev_jint(ed, "timestamp"));
    }
    json_decref(j);
    return BNC_OK;
}
