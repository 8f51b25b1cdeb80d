/*
 * fuzz_mtalogs.c - libFuzzer target for the MTA log line parsers: PowerMTA accounting and
 * FBL CSV (header row, quoted fields, record types b/t/rb/f/d) and Postfix maillog lines
 * (smtp/lmtp/local/bounce status lines, NOQUEUE rejects, queue ids) and Exim main log
 * lines: the first byte picks the format (0 PowerMTA, 1 maillog, 2 Exim, 3 PowerMTA FBL,
 * modulo 4), the rest is a chunk of log text for events_parse(). Verdicts are checked as in fuzz_webhooks.c.
 * layer: ingest (links bnc_ingest and the libraries below it, nothing above)
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_events.h"
#include "ingest/events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    static const enum events_format f[4] = {EVENTS_PMTA, EVENTS_MAILLOG, EVENTS_EXIM,
                                            EVENTS_PMTA_FBL};
    fuzz_events_run(f[data[0] % 4], data + 1, size - 1);
    return 0;
}
