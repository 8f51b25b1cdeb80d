/*
 * fuzz_message.c - libFuzzer target: raw bytes -> bnc_parse() (MIME scan, DSN walk,
 * formats, classification) with one ctx built on the first call, then every accessor and
 * header getter over the report. Any crash, leak or sanitizer report is a bug.
 * layer: classify (links bnc_classify and the libraries below it, nothing above)
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bounced.h"
#include "classify/classify.h"
#include "core/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bnc_ctx *fz_ctx;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bnc_report *r = NULL;
    size_t i, n;
    volatile size_t sink = 0;

    if (fz_ctx == NULL) {
        struct bnc_config cfg;
        cfg_init(&cfg);
        /* small limits so the fuzzer reaches them */
        cfg.limit_mime_depth = 8;
        cfg.limit_mime_parts = 32;
        cfg.limit_dsn_rcpts = 16;
        cfg.limit_header_block = 4096;
        cfg.limit_diagnostic = 256;
        if (bnc_ctx_new_config(&cfg, &fz_ctx) != BNC_OK) {
            cfg_free(&cfg);
            return 0;
        }
        cfg_free(&cfg);
    }
    if (bnc_parse(fz_ctx, data, size, &r) != BNC_OK) {
        return 0;
    }
    n = bnc_report_rcpt_count(r);
    for (i = 0; i < n; i++) {
        const struct bnc_rcpt *rc = bnc_report_rcpt(r, i);
        sink += strlen(rc->recipient) + strlen(rc->diagnostic) + strlen(rc->status) +
                strlen(rc->replycode) + strlen(rc->remote_mta) + strlen(rc->reporting_mta) +
                strlen(rc->date) + strlen(rc->origin) + strlen(rc->original_message_id) +
                strlen(rc->decided_by) + strlen(rc->diagnostic_type);
    }
    {
        const char *v = bnc_report_header(r, "Subject");
        sink += v ? strlen(v) : 0;
        v = bnc_report_header(r, "From");
        sink += v ? strlen(v) : 0;
    }
    (void)bnc_report_flags(r);
    bnc_report_free(r);
    (void)sink;
    return 0;
}
