/*
 * process.h - one message or event in, verdicts through policy, one store transaction out.
 *
 * The single path every ingest takes (CLI `process`, the daemon's workers, mailbox scans,
 * the HTTP `POST /bounces`, log tailers and webhooks): parse + classify (libbounced), apply
 * the hygiene policy to each verdict, and write events, contact changes, review items, audit
 * rows and the ingest reference in ONE transaction. A failure anywhere rolls the whole
 * message back. Idempotent: an input whose (source, ref) or identity (the message without
 * its trace fields, keys.h) was already committed is skipped and reported as a duplicate; a
 * verdict whose dedupe key (the failure it names, keys.h) exists changes nothing. Either way
 * the path is kept with the events it reported.
 * Ownership: a pipeline borrows its ctx and store; one pipeline per thread.
 */
#ifndef BNC_PIPELINE_PROCESS_H
#define BNC_PIPELINE_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounced.h"

struct store;
struct pipeline;

struct pipeline_input {
    const char *data; /* raw RFC 5322 message */
    size_t len;
    const char *source;  /* "smtp", "lmtp", "mailbox", "file", "api", ... */
    const char *ref;     /* spool id, file path, mailbox uid: recorded with the events */
    int64_t received_at; /* Unix seconds; 0 = now */
};

struct pipeline_result {
    size_t verdicts;
    size_t by_kind[6]; /* indexed by bnc_kind */
    size_t contacts_changed;
    size_t review_items;
    bool duplicate;  /* the whole input had been processed before */
    bool not_bounce; /* recognised as not a bounce (reply, spam, ...) and recorded */
};

bnc_status pipeline_new(bnc_ctx *ctx, struct store *st, struct pipeline **out);
void pipeline_free(struct pipeline *p); /* NULL-safe */
/* Fix "now" (tests, replays); 0 = the real clock. */
void pipeline_set_now(struct pipeline *p, int64_t now);

bnc_status pipeline_process(struct pipeline *p, const struct pipeline_input *in,
                            struct pipeline_result *out);
/* Verdicts that arrive already parsed (webhooks, logs, JSON on the API): same policy and
 * transaction rules. ref identifies the event for dedupe. */
bnc_status pipeline_process_verdicts(struct pipeline *p, const struct bnc_rcpt *v, size_t n,
                                     const char *source, const char *ref,
                                     struct pipeline_result *out);
const char *pipeline_errmsg(const struct pipeline *p);

/*
 * Group commit: n inputs in one outer transaction (one commit for all), each still
 * all-or-nothing: when any input (or the group's commit) fails, the group is rolled back and
 * every input of it is processed again in a transaction of its own (retried a few times on
 * BNC_EBUSY: a busy store or a concurrent update of the same contact), so a bad input costs
 * only itself. rcs[i] and res[i] are the outcome of input i. Returns the number of inputs that
 * failed. pipeline_errmsg() describes the last failure.
 */
size_t pipeline_process_group(struct pipeline *p, const struct pipeline_input *in, size_t n,
                              struct pipeline_result *res, /* OUT: n results */
                              bnc_status *rcs);            /* OUT: n status codes */

#endif
