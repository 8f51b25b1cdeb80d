/*
 * fuzz_dsn_fields.c - libFuzzer target: bytes as the body of a message/delivery-status part
 * (dsn_parse_fields), and as a header block (mime_header / mime_header_raw with unfolding
 * and RFC 2047 decoding).
 * layer: parse (links bnc_parse and the libraries below it, nothing above)
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parse/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"Final-Recipient", "Status", "Subject", "From",
                                        "Diagnostic-Code", "X"};
    struct parse_limits lim;
    struct bnc_report *r = NULL;
    size_t i;
    volatile size_t sink = 0;

    parse_limits_default(&lim);
    lim.dsn_rcpts = 16;
    lim.diagnostic = 256;
    if (parse_message(&lim, "", 0, &r) != BNC_OK) {
        return 0;
    }
    dsn_parse_fields(r, (const char *)data, size);
    for (i = 0; i < r->nrcpts; i++) {
        sink += strlen(r->rcpts[i].recipient) + strlen(r->rcpts[i].diagnostic) +
                strlen(r->rcpts[i].status) + strlen(r->rcpts[i].date);
    }
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct bnc_slice raw;
        const char *v = mime_header(r->arena, slice_make((const char *)data, size), names[i]);
        sink += v ? strlen(v) : 0;
        if (mime_header_raw(slice_make((const char *)data, size), names[i], &raw)) {
            sink += raw.len;
        }
    }
    bnc_report_free(r);
    (void)sink;
    return 0;
}
