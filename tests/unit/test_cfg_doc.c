/*
 * test_cfg_doc.c - docs/config.md and docs/bounced.conf.sample are generated from the
 * configuration table; this test fails when either is stale. BNC_UPDATE_DOCS=1 rewrites them.
 * layer: core (links bnc_core and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "core/xmalloc.h"

static const char *
type_name(enum cfg_type t)
{
    switch (t) {
    case CFG_BOOL:
        return "bool";
    case CFG_INT:
        return "int";
    case CFG_SIZE:
        return "size";
    case CFG_DURATION:
        return "duration";
    case CFG_STRING:
        return "string";
    case CFG_PATH:
        return "path";
    }
    return "?";
}

static void
gen_markdown(struct buf *b)
{
    size_t n, i;
    const struct cfg_param *p = cfg_params(&n);

    buf_adds(b, "# bounced configuration\n\n"
                "Generated from the configuration table in `src/core/cfg.c` (a test keeps it in "
                "step). Settings come from, in increasing precedence: built-in defaults, the "
                "INI file (`--config FILE`, else `./bounced.conf` when present; `[section]` "
                "then `key = value`), `BOUNCED_*` environment variables (the name upper-cased, "
                "dots as underscores: `smtp.listen` is `BOUNCED_SMTP_LISTEN`), and command-line "
                "flags (`--db`). Sizes take k/M/G suffixes, durations s/m/h/d. "
                "`bounced config show [-n]` prints the effective values. Settings marked "
                "reloadable take effect on SIGHUP.\n\n"
                "| setting | type | default | range | reload | meaning |\n"
                "|---|---|---|---|---|---|\n");
    for (i = 0; i < n; i++) {
        char range[64] = "";
        if (p[i].type == CFG_INT || p[i].type == CFG_SIZE || p[i].type == CFG_DURATION) {
            snprintf(range, sizeof(range), "%lld..%lld", (long long)p[i].min, (long long)p[i].max);
        }
        buf_printf(b, "| `%s` | %s | `%s` | %s | %s | %s |\n", p[i].name, type_name(p[i].type),
                   p[i].def, range, p[i].reloadable ? "yes" : "no", p[i].help);
    }
}

static void
gen_sample(struct buf *b)
{
    size_t n, i;
    const struct cfg_param *p = cfg_params(&n);
    char section[64] = "";

    buf_adds(b, "# bounced.conf: every setting with its default (generated from src/core/cfg.c).\n"
                "# Uncomment and change what you need. See docs/config.md.\n");
    for (i = 0; i < n; i++) {
        const char *dot = strchr(p[i].name, '.');
        size_t sl = (size_t)(dot - p[i].name);
        if (strlen(section) != sl || strncmp(section, p[i].name, sl) != 0) {
            snprintf(section, sizeof(section), "%.*s", (int)sl, p[i].name);
            buf_printf(b, "\n[%s]\n", section);
        }
        buf_printf(b, "# %s\n# %s = %s\n", p[i].help, dot + 1, p[i].def);
    }
}

/* roff-escape a table string: backslashes and leading dots/quotes; a comma without a space
 * after it (the reason lists) gets a break point so groff can fill the line */
static void
roff_add(struct buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\') {
            buf_adds(b, "\\e");
        } else if (*s == '-') {
            buf_adds(b, "\\-");
        } else if (*s == ',' && s[1] != ' ' && s[1] != '\0') {
            buf_adds(b, ",\\:");
        } else {
            buf_addc(b, *s);
        }
    }
}

static void
gen_man5(struct buf *b)
{
    size_t n, i;
    const struct cfg_param *p = cfg_params(&n);

    buf_adds(b, ".\\\" generated from src/core/cfg.c by tests/unit/test_cfg_doc.c; do not edit\n"
                ".TH BOUNCED.CONF 5 \"\" \"bounced\" \"File Formats\"\n"
                /* left-aligned: the long reason lists cannot be justified at every width */
                ".ad l\n"
                ".SH NAME\nbounced.conf \\- configuration file of bounced(1)\n"
                ".SH DESCRIPTION\n"
                "An INI file: \\fB[section]\\fR lines, then \\fBkey = value\\fR lines; the "
                "setting \\fIsection.key\\fR. Comments start with \\fB;\\fR or \\fB#\\fR. "
                "Every setting can also be given as an environment variable: BOUNCED_ and the "
                "name upper\\-cased with dots as underscores (\\fBsmtp.listen\\fR is "
                "\\fBBOUNCED_SMTP_LISTEN\\fR). Precedence: defaults, file, environment, "
                "command line. Sizes take k, M, G suffixes; durations s, m, h, d. Settings "
                "marked reloadable take effect on SIGHUP.\n"
                ".SH SETTINGS\n");
    for (i = 0; i < n; i++) {
        buf_adds(b, ".TP\n.B ");
        roff_add(b, p[i].name);
        buf_adds(b, "\n");
        roff_add(b, p[i].help);
        buf_adds(b, ". Default: \\fB");
        roff_add(b, p[i].def[0] ? p[i].def : "(empty)");
        buf_adds(b, "\\fR");
        if (p[i].type == CFG_INT || p[i].type == CFG_SIZE || p[i].type == CFG_DURATION) {
            buf_printf(b, "; range %lld to %lld", (long long)p[i].min, (long long)p[i].max);
        }
        buf_adds(b, p[i].reloadable ? "; reloadable.\n" : ".\n");
    }
    buf_adds(b, ".SH SEE ALSO\nbounced(1)\n");
}

static char *
slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    struct buf b;
    char tmp[4096];
    size_t n;

    if (fp == NULL) {
        return NULL;
    }
    buf_init(&b, 0);
    while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0) {
        buf_add(&b, tmp, n);
    }
    fclose(fp);
    return buf_take(&b);
}

static void
check_file(const char *rel, void (*gen)(struct buf *))
{
    const char *src = getenv("BNC_SOURCE_DIR");
    char path[4096];
    struct buf b;
    char *have;

    snprintf(path, sizeof(path), "%s/%s", src ? src : ".", rel);
    buf_init(&b, 0);
    gen(&b);
    if (getenv("BNC_UPDATE_DOCS") != NULL) {
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        fwrite(b.p, 1, b.len, fp);
        fclose(fp);
    }
    have = slurp(path);
    if (have == NULL || strcmp(have, b.p) != 0) {
        fail_msg("%s is stale: run BNC_UPDATE_DOCS=1 build/dev/tests/test_cfg_doc", rel);
    }
    free(have);
    buf_free(&b);
}

static void
test_config_md(void **state)
{
    (void)state;
    check_file("docs/config.md", gen_markdown);
}

static void
test_sample_conf(void **state)
{
    (void)state;
    check_file("docs/bounced.conf.sample", gen_sample);
}

static void
test_man5(void **state)
{
    (void)state;
    check_file("docs/bounced.conf.5", gen_man5);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_md),
        cmocka_unit_test(test_sample_conf),
        cmocka_unit_test(test_man5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
