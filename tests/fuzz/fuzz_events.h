/*
 * fuzz_events.h - what fuzz_webhooks.c and fuzz_mtalogs.c share: run one input through
 * events_parse() with a ctx built once (small limits, so the fuzzer reaches them), check
 * every verdict and free the report. Aborts on a malformed verdict.
 * Ownership: the ctx lives for the process (libFuzzer runs one input after another).
 */
#ifndef BNC_TESTS_FUZZ_EVENTS_H
#define BNC_TESTS_FUZZ_EVENTS_H

#include <stdlib.h>
#include <string.h>

#include "bounced.h"
#include "classify/classify.h"
#include "core/cfg.h"
#include "ingest/events.h"

static bnc_ctx *fz_events_ctx;

static void
fuzz_events_check(const struct bnc_rcpt *rc)
{
    if (rc->recipient == NULL || strchr(rc->recipient, '@') == NULL || rc->origin == NULL ||
        rc->diagnostic == NULL || rc->decided_by == NULL ||
        strnlen(rc->status, sizeof(rc->status)) >= sizeof(rc->status) ||
        strnlen(rc->replycode, sizeof(rc->replycode)) >= sizeof(rc->replycode)) {
        abort();
    }
}

static void
fuzz_events_run(enum events_format f, const uint8_t *data, size_t size)
{
    bnc_report *r = NULL;
    char err[256];
    size_t i;

    if (fz_events_ctx == NULL) {
        struct bnc_config cfg;
        cfg_init(&cfg);
        cfg.limit_dsn_rcpts = 16;
        cfg.limit_diagnostic = 512;
        if (bnc_ctx_new_config(&cfg, &fz_events_ctx) != BNC_OK) {
            cfg_free(&cfg);
            return;
        }
        cfg_free(&cfg);
    }
    err[0] = '\0';
    if (events_parse(fz_events_ctx, f, (const char *)data, size, &r, err, sizeof(err)) != BNC_OK) {
        if (strnlen(err, sizeof(err)) >= sizeof(err)) {
            abort();
        }
        bnc_report_free(r);
        return;
    }
    for (i = 0; i < bnc_report_rcpt_count(r); i++) {
        fuzz_events_check(bnc_report_rcpt(r, i));
    }
    bnc_report_free(r);
}

#endif
