/*
 * fuzz_config.c - libFuzzer target for the config reader: the input as an INI file
 * (cfg_load_text: sections, key = value, comments, continuation, every row's value
 * parser: sizes, durations, booleans, lists, addresses), over the defaults; then the values
 * are formatted back and the config copied and freed. An error must come with a message;
 * any crash, leak or sanitizer report is a bug.
 * layer: core (links bnc_core and the libraries below it, nothing above)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bnc_config c, copy;
    char err[512], *text;
    bnc_status rc;

    if (size > 64 * 1024) {
        return 0; /* a config file is small; inih reads line by line anyway */
    }
    text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    cfg_init(&c);
    err[0] = '\0';
    rc = cfg_load_text(&c, "fuzz.conf", text, err, sizeof(err));
    if (rc != BNC_OK && (err[0] == '\0' || strnlen(err, sizeof(err)) >= sizeof(err))) {
        abort();
    }
    {
        size_t i, n;
        const struct cfg_param *params = cfg_params(&n);
        char v[4096];
        for (i = 0; i < n; i++) {
            cfg_format(&c, &params[i], v, sizeof(v));
            if (strnlen(v, sizeof(v)) >= sizeof(v)) {
                abort();
            }
        }
    }
    memset(&copy, 0, sizeof(copy));
    cfg_copy(&copy, &c);
    cfg_free(&copy);
    cfg_free(&c);
    free(text);
    return 0;
}
