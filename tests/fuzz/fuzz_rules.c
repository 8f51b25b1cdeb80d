/*
 * fuzz_rules.c - libFuzzer target for the rule loader: the input is a rules file (any bytes,
 * any lines); it is loaded with rules_build_text() (every bad line reported and skipped),
 * each line is also validated alone with rules_check_line(), and the input is then matched
 * against the set it produced (rules_match_all() must agree with rules_match() and keep rank
 * order). Any crash, leak or sanitizer report is a bug.
 * layer: classify (links bnc_classify and the libraries below it, nothing above)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify/classify.h"
#include "classify/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_err(void *ud, const char *where, const char *msg)
{
    size_t *n = ud;
    *n += strlen(where) + strlen(msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bnc_ruleset *rs = NULL;
    struct rule_match m;
    size_t errs = 0, i, start = 0;
    char err[256];

    if (size > 16384) {
        return 0; /* compile time grows with the rules; keep iterations fast */
    }
    (void)rules_build_text((const char *)data, size, "fuzz.rules", fz_err, &errs, &rs);
    (void)rules_match(rs, (const char *)data, size, &m);
    {
        static char norm[16385];
        const struct rule_info *all[8];
        size_t n = rules_normalize((const char *)data, size, norm, sizeof(norm)), na = 0, k;
        (void)rules_match(rs, norm, n, &m);
        /* every match, capped: the first must be rules_match()'s pick, the rest in rank order */
        if (rules_match_all(rs, norm, n, all, 8, &na) == BNC_OK && na > 0) {
            if (m.rule != all[0]) {
                abort();
            }
            for (k = 1; k < na; k++) {
                if (all[k] <= all[k - 1]) {
                    abort();
                }
            }
        }
    }
    for (i = 0; i < rules_count(rs); i++) {
        const struct rule_info *ri = rules_get(rs, i);
        errs += ri->line + strlen(ri->pattern) + strlen(ri->origin);
    }
    rules_free(rs);
    /* each line alone, NUL-terminated, through the validator the API uses */
    for (i = 0; i <= size && i < 4096; i++) {
        if (i == size || data[i] == '\n') {
            size_t n = i - start;
            char *line = malloc(n + 1);
            if (line == NULL) {
                return 0;
            }
            memcpy(line, data + start, n);
            line[n] = '\0';
            (void)rules_check_line(line, err, sizeof(err));
            free(line);
            start = i + 1;
        }
    }
    return errs == (size_t)-1;
}
