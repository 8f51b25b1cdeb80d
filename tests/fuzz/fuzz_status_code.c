/*
 * fuzz_status_code.c - libFuzzer target: status_code_parse / status_code_from_text, the
 * RFC 5322 date parser and addr_normalize over arbitrary bytes; checks the outputs are
 * well-formed (NUL-terminated, digits and dots only).
 * layer: parse (links bnc_parse and the libraries below it, nothing above)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_code(const char *s, size_t max)
{
    size_t i, n = strlen(s);
    if (n >= max) {
        abort();
    }
    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) {
            abort();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    char st[16], rc[4];
    size_t used = 0;
    int64_t t;
    struct parse_limits lim;
    struct bnc_report *r = NULL;

    if (status_code_parse(s, size, st, &used)) {
        check_code(st, 16);
        if (used > size || used != strlen(st)) {
            abort();
        }
    }
    status_code_from_text(s, size, st, rc);
    check_code(st, 16);
    check_code(rc, 4);
    if (rc[0] != '\0' && strlen(rc) != 3) {
        abort();
    }
    (void)date_parse(s, size, &t);
    parse_limits_default(&lim);
    if (parse_message(&lim, "", 0, &r) == BNC_OK) {
        const char *a = addr_normalize(r, s, size);
        if (a != NULL && strchr(a, '@') == NULL) {
            abort();
        }
        bnc_report_free(r);
    }
    return 0;
}
