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

/* PowerMTA accounting columns bounced reads (pmta.c). */
enum ev_pmta_col {
    PMTA_C_TYPE, PMTA_C_RCPT, PMTA_C_STATUS, PMTA_C_DIAG, PMTA_C_MTA, PMTA_C_CAT, PMTA_C_TIME,
    PMTA_C_FBT, PMTA_C_ENVID, PMTA_C_MSGID, PMTA_C_HTO, PMTA_C_HRP, PMTA_C_RDOM, PMTA_C_ORCPT,
    PMTA_C_N
};

/* One queue id and the message id its message carries (maillog.c, exim.c). */
struct ev_qid {
    char qid[32];
    char msgid[EVENTS_MSGID_MAX + 1];
};

struct events_stream {
    enum events_format f;
    int pmta_col[PMTA_C_N]; /* column of each field, -1 when absent */
    bool pmta_header;       /* a layout is known */
    struct ev_qid *qids;    /* EVENTS_QIDS slots, open addressing; NULL until first used */
};

struct ev_state {
    bnc_report *r;
    enum events_format f;
    struct events_stream *stream; /* the line-to-line state of a log format */
    size_t overlong;              /* lines over EVENTS_MAX_LINE skipped */
    void *scratch;                /* a format parser's buffers for the lines of one input */
    bnc_status line_rc;           /* the first failure of a line callback (ev_lines) */
    char *err;                    /* where it says why */
    size_t errlen;
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
/* Copy the string members keys[0..n) of o into outs[i] (of lens[i] bytes); false when one
 * would not fit (nothing is cut: the caller treats the object as unusable). */
bool ev_jcopy(const json_t *o, const char *const *keys, char *const *outs, const size_t *lens,
              size_t n);
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
bnc_status ev_exim(struct ev_state *st, const char *data, size_t len, char *err, size_t errlen);
/* A PowerMTA layout ("type,timeLogged,...") into the stream's column map; false when it
 * names no column a verdict can be taken from (err says why). */
bool ev_pmta_layout(struct events_stream *s, const char *line, size_t len, char *err,
                    size_t errlen);

/* Queue ids (events.c): remember qid's message id; look one up ("" when unknown); forget. */
void ev_qid_put(struct events_stream *s, const char *qid, size_t qlen, const char *mid,
                size_t mlen);
const char *ev_qid_get(const struct events_stream *s, const char *qid, size_t qlen);
void ev_qid_forget(struct events_stream *s, const char *qid, size_t qlen);
/* Decode base64 (standard alphabet, no white space); caller frees; NULL when not base64. */
unsigned char *events_b64_decode(const char *s, size_t *out_len);
/* Call fn on each line of data[0..len) (CR LF or LF), skipping and counting the ones longer
 * than EVENTS_MAX_LINE in st->overlong. */
void ev_lines(struct ev_state *st, const char *data, size_t len,
              void (*fn)(struct ev_state *, const char *, size_t));

#endif
