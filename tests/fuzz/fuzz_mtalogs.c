/*
 * fuzz_mtalogs.c - libFuzzer target for the MTA log line parsers: PowerMTA accounting and
 * FBL CSV (header row, quoted fields, record types b/t/rb/f/d) and Postfix maillog lines
 * (smtp/lmtp/local/bounce status lines, NOQUEUE rejects, queue ids): the first byte picks
 * the format (even: PowerMTA, odd: maillog), the rest is a chunk of log text for
 * events_parse(). Verdicts are checked as in fuzz_webhooks.c.
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
    fuzz_events_run(data[0] % 2 == 0 ? EVENTS_PMTA : EVENTS_MAILLOG, data + 1, size - 1);
    return 0;
}
