/*
 * events_int.h - shared internals of the webhook and log normalisers (events.c,
 * webhook_<esp>.c, pmta.c, maillog.c). Not for use outside src/ingest/.
 */
#ifndef BNC_INGEST_EVENTS_INT_H
#define BNC_INGEST_EVENTS_INT_H

#include <jansson.h>
#include <stdint.h>

#include "ingest/events.h"
#include "parse/parse.h"

/* The vendor's own judgement of one event, applied after rule classification. */
enum ev_vendor {
    EV_V_NONE = 0,     /* no judgement: the classifier decides alone */
    EV_V_PERMANENT,    /* the vendor calls it permanent / hard */
    EV_V_TRANSIENT,    /* temporary, deferred, delayed */
    EV_V_UNDETERMINED, /* the vendor could not tell */
    EV_V_COMPLAINT,    /* feedback loop / spam report */
    EV_V_DELIVERED
};

struct ev_state {
    bnc_report *r;
    enum events_format f;
    unsigned char *vendor; /* per verdict, parallel to r->rcpts */
    const char **vendor_why; /* per verdict: "Permanent/General", "bounce_class 10", ... */
    size_t cap;
    size_t json_depth;
};

/* Add a verdict for the address in s[0..n) (normalised); NULL when not an address or past
 * the recipient limit. */
struct bnc_rcpt *ev_add(struct ev_state *st, const char *s, size_t n, enum ev_vendor v,
                        const char *why);
/* Diagnostic text; fills status and replycode from it when they are still empty. */
void ev_diag(struct ev_state *st, struct bnc_rcpt *rc, const char *text);
/* Copy an RFC 3463 code when valid. */
void ev_status(struct bnc_rcpt *rc, const char *s);
void ev_time(struct ev_state *st, struct bnc_rcpt *rc, int64_t t);
/* ISO 8601 "2016-08-17T07:43:12.776Z" or "2019-11-05T16:33:54.9070259Z" or "...+0200"; 0 ok */
int ev_parse_iso8601(const char *s, int64_t *out);

/* jansson helpers: string member or "" (never NULL); integer or string number member. */
const char *ev_jstr(const json_t *o, const char *key);
int64_t ev_jint(const json_t *o, const char *key);
/* Parse JSON after checking nesting depth and size; NULL + err on failure. */
json_t *ev_json_load(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen);

bnc_status ev_ses(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen);
bnc_status ev_sendgrid(struct ev_state *st, const char *data, size_t len, char *err,
                       size_t errlen);
bnc_status ev_mailgun(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen);
bnc_status ev_postmark(struct ev_state *st, const char *data, size_t len, char *err,
                       size_t errlen);
bnc_status ev_sparkpost(struct ev_state *st, const char *data, size_t len, char *err,
                        size_t errlen);
bnc_status ev_pmta(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen);
bnc_status ev_maillog(struct ev_state *st, const char *data, size_t len, char *err,
                      size_t errlen);

#endif
