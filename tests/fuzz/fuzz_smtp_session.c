/*
 * fuzz_smtp_session.c - a client byte stream into the SMTP/LMTP session state machine with
 * fake I/O: every event is acted on (messages delivered or refused, STARTTLS completed), the
 * output is drained, and the input is fed in pieces whose sizes come from the input itself.
 * The first byte picks the mode (SMTP/LMTP, TLS offered, delivery outcome, chunking).
 * layer: ingest (links bnc_ingest and the libraries below it, nothing above)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/smtp_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct smtp_session_opts o;
    struct smtp_session *s;
    const char *in;
    size_t off = 0, chunk;
    unsigned mode;
    int guard = 0;

    if (size < 1) {
        return 0;
    }
    mode = data[0];
    in = (const char *)data + 1;
    size--;
    memset(&o, 0, sizeof(o));
    o.hostname = "fuzz.test";
    o.domains = "bounce.example,b.example";
    o.max_size = 4096;
    o.max_rcpts = 4;
    o.max_cmds = 200;
    o.lmtp = (mode & 1) != 0;
    o.tls_offered = (mode & 2) != 0;
    chunk = (mode >> 4) == 0 ? size : (size_t)(mode >> 4);

    s = smtp_session_new(&o);
    smtp_session_greet(s);
    while (off < size && guard++ < 1000000) {
        size_t n = size - off < chunk ? size - off : chunk;
        size_t used = 0, olen;
        enum smtp_session_event ev = smtp_session_feed(s, in + off, n, &used);
        const char *out = smtp_session_output(s, &olen);

        if (used > n) {
            abort();
        }
        if (olen > 0 && out[olen - 1] != '\n') {
            abort(); /* replies are whole lines */
        }
        smtp_session_output_done(s, olen);
        off += used;
        if (ev == SMTP_EV_MESSAGE) {
            struct smtp_envelope env;
            size_t mlen;
            const char *m = smtp_session_message(s, &mlen);
            smtp_session_envelope(s, &env);
            if (mlen > o.max_size || env.nrcpts == 0 || env.nrcpts > o.max_rcpts ||
                (mlen > 0 && m == NULL)) {
                abort();
            }
            smtp_session_deliver(s, (mode & 4) == 0, "F00");
        } else if (ev == SMTP_EV_STARTTLS) {
            smtp_session_tls_on(s);
        } else if (ev == SMTP_EV_CLOSE) {
            break;
        }
    }
    smtp_session_timeout(s);
    smtp_session_free(s);
    return 0;
}
