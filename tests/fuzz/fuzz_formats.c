/*
 * fuzz_formats.c - libFuzzer target for the non-RFC bounce recognizers, ARF and auto-replies:
 * the input becomes the body (and, after a first "\n\n", the headers too) of a message that
 * carries bounce signals (a MAILER-DAEMON sender, an "Undelivered" subject, an empty
 * Return-Path), so formats_apply() runs its family pick, the generic block extractor and
 * the enrichment on arbitrary text; then the classifier runs over the result. Any crash,
 * leak or sanitizer report is a bug.
 * layer: classify (links bnc_classify and the libraries below it, nothing above)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounced.h"
#include "classify/classify.h"
#include "core/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bnc_ctx *fz_ctx;

static const char fz_head[] = "Return-Path: <>\r\n"
                              "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
                              "Subject: Undelivered Mail Returned to Sender\r\n"
                              "To: sender@example.org\r\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bnc_report *r = NULL;
    size_t i, n, hl = sizeof(fz_head) - 1;
    uint8_t *msg;
    volatile size_t sink = 0;

    if (fz_ctx == NULL) {
        struct bnc_config cfg;
        cfg_init(&cfg);
        cfg.limit_dsn_rcpts = 16;
        cfg.limit_diagnostic = 512;
        if (bnc_ctx_new_config(&cfg, &fz_ctx) != BNC_OK) {
            cfg_free(&cfg);
            return 0;
        }
        cfg_free(&cfg);
    }
    /* the input's own header lines (if it starts with one) follow ours; else a blank line */
    msg = malloc(hl + 2 + size);
    if (msg == NULL) {
        return 0;
    }
    memcpy(msg, fz_head, hl);
    n = hl;
    if (size == 0 || data[0] == '\n' || data[0] == '\r' ||
        memchr(data, ':', size < 40 ? size : 40) == NULL) {
        msg[n++] = '\r';
        msg[n++] = '\n';
    }
    if (size) {
        memcpy(msg + n, data, size);
    }
    n += size;
    if (bnc_parse(fz_ctx, msg, n, &r) == BNC_OK) {
        for (i = 0; i < bnc_report_rcpt_count(r); i++) {
            const struct bnc_rcpt *rc = bnc_report_rcpt(r, i);
            sink += strlen(rc->recipient) + strlen(rc->diagnostic) + strlen(rc->decided_by) +
                    strlen(rc->origin) + strlen(rc->status) + strlen(rc->smtp_command);
        }
        bnc_report_free(r);
    }
    free(msg);
    (void)sink;
    return 0;
}
