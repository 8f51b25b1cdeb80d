/*
 * fuzz_json.c - the API's JSON request path on arbitrary bytes: the nesting pre-check, the
 * parse the server does after it (only when the check passes, as in apij_body()), RFC 7386
 * merge patch of a second document onto the first (input split at the first NUL byte), and
 * the reply writers. Invariants: the depth check never reads past the input; whatever
 * passes it parses or fails cleanly; a merge with an object patch gives an object whose
 * compact dump parses again.
 * layer: api (links bnc_api and the libraries below it, nothing above)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/api_int.h"
#include "core/buf.h"

#define FUZZ_DEPTH 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *
fuzz_parse(const char *p, size_t n)
{
    json_error_t err;

    if (!apij_depth_ok(p, n, FUZZ_DEPTH)) {
        return NULL;
    }
    return json_loadb(p, n, JSON_REJECT_DUPLICATES, &err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    const char *nul = memchr(p, '\0', size);
    size_t n1 = nul != NULL ? (size_t)(nul - p) : size;
    json_t *a = fuzz_parse(p, n1);
    json_t *b = nul != NULL ? fuzz_parse(nul + 1, size - n1 - 1) : NULL;
    struct buf out;

    buf_init(&out, 1u << 20);
    apij_str(&out, NULL);
    if (n1 < 4096) {
        char *s = malloc(n1 + 1);
        if (s != NULL) {
            memcpy(s, p, n1);
            s[n1] = '\0';
            apij_str(&out, s); /* invalid UTF-8 becomes U+FFFD, never breaks the JSON */
            free(s);
        }
    }
    if (a != NULL && b != NULL) {
        json_t *m = apij_merge_patch(a, b);
        if (json_is_object(b) && !json_is_object(m)) {
            abort();
        }
        buf_reset(&out);
        apij_dump(&out, m);
        if (json_is_object(m) && out.p != NULL) {
            json_error_t err;
            json_t *again = json_loadb(out.p, out.len, 0, &err);
            if (again == NULL) {
                abort();
            }
            json_decref(again);
        }
        json_decref(m);
    }
    json_decref(a);
    json_decref(b);
    buf_free(&out);
    return 0;
}
