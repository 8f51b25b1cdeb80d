/*
 * fuzz_webhooks.c - libFuzzer target for the ESP webhook payload decoders (Amazon SES via
 * SNS or event publishing, SendGrid, Mailgun, Postmark, SparkPost): the first byte picks the
 * ESP, the rest is the request body given to events_parse(), then classified by the ctx's
 * rules. Every verdict must be well formed (a recipient with an '@', bounded status and
 * reply code, an origin); any crash, leak or sanitizer report is a bug.
 * layer: ingest (links bnc_ingest and the libraries below it, nothing above)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounced.h"
#include "classify/classify.h"
#include "core/cfg.h"
#include "fuzz_events.h"
#include "ingest/events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum events_format esp[] = {EVENTS_SES, EVENTS_SENDGRID, EVENTS_MAILGUN,
                                             EVENTS_POSTMARK, EVENTS_SPARKPOST};

    if (size == 0) {
        return 0;
    }
    fuzz_events_run(esp[data[0] % (sizeof(esp) / sizeof(esp[0]))], data + 1, size - 1);
    return 0;
}
