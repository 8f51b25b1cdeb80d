/*
 * cmd_rules.c - `bounced rules list|test|check|lint` (lint in cmd_rules_lint.c; and add|remove|list-db, which the store
 * side implements in cli_rules_db): show the loaded classification rules and explain, for
 * each verdict of a set of bounces, which rule or which code decided it.
 *
 * The rule set is the one a ctx loads from the configuration (rules.dir, rules.file) plus
 * `--rules FILE` (repeatable), before the built-in rules. Bad rules are reported on stderr
 * with file:line and the rest load.
 * Doesn't: change rule files or the database (add/remove go to cli_rules_db).
 * LIMITS: input files are read up to limits.message_size; directories are walked to depth
 * RULES_DIR_DEPTH, sorted, dot files skipped.
 * Exit: 0 done, 1 some inputs unreadable or `check` found the rule bad, 2 usage error,
 * 3 configuration error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "classify/classify.h"
#include "classify/rules.h"
#include "cli.h"
#include "core/buf.h"
#include "core/dirlist.h"
#include "core/load.h"
#include "core/xmalloc.h"
#include "parse/mbox.h"
#include "store/store.h"

#define RULES_DIR_DEPTH 64
#define RULES_MAX_EXTRA 256

/* cmd_rules_lint.c */
int rules_lint(struct cli_globals *g, int argc, char **argv);

/* Implemented by the store side (cmd_rules_db.c); absent in a build without it. */
int cli_rules_db(struct cli_globals *g, int argc, char **argv) __attribute__((weak));

/* The rules stored through the API (api/api.h); weak so this file builds without the API. */
struct api_rule_line {
    char *text;
    char *origin;
};
bnc_status api_rules_load(struct store *st, struct api_rule_line **rules_out, size_t *n_out)
    __attribute__((weak));
void api_rules_free(struct api_rule_line *rules, size_t n) __attribute__((weak));

struct rules_run {
    bnc_ctx *ctx;
    bool json;
    bool all; /* --all: every rule that matched, not only the one that decided */
    size_t max_size;
    int unreadable;
};

static void
rules_usage(FILE *fp)
{
    fprintf(fp,
            "usage: bounced rules list [--rules FILE]... [--with-db]\n"
            "       bounced rules test [--rules FILE]... [--with-db] [--json] [--all] FILE|DIR|- "
            "...\n"
            "       bounced rules check 'RULE LINE'\n"
            "       bounced rules lint [--no-builtin] [--verbose] [FILE ...]\n"
            "       bounced rules add 'RULE LINE' [NOTE] | remove ID | list-db\n\n"
            "Classification rules, one a line: 'TEXT ==> hard|soft[:reason]' or\n"
            "'/REGEX/i ==> ...' (a bare reason is allowed too). User rules (rules.dir,\n"
            "rules.file, --rules, the database) are checked before the built-in ones.\n\n"
            "  list    every loaded rule: origin:line, tier, pattern, verdict\n"
            "  test    parse and classify; print for each verdict what decided it\n"
            "  check   validate one rule line (syntax, reason, the pattern compiles)\n"
            "  lint    find bad, duplicate, shadowed and never-matching rules in the\n"
            "          loaded set (see bounced rules lint --help)\n"
            "  --rules FILE   add a rules file (repeatable)\n"
            "  --with-db      add the rules stored in the database (rules add)\n"
            "  --json         JSON lines instead of a table (test)\n"
            "  --all          also every other rule that matched each diagnostic, in the\n"
            "                 order they rank (test): why a rule did not win\n");
}

static int
rules_list(bnc_ctx *ctx)
{
    const struct bnc_ruleset *rs = bnc_ctx_rules(ctx);
    size_t i, n = rules_count(rs);

    printf("%-28s %-8s %-22s %s\n", "ORIGIN:LINE", "TIER", "VERDICT", "PATTERN");
    for (i = 0; i < n; i++) {
        const struct rule_info *ri = rules_get(rs, i);
        char where[512], verdict[64];
        snprintf(where, sizeof(where), "%s:%u", ri->origin, ri->line);
        rules_verdict_text(ri, verdict, sizeof(verdict));
        printf("%-28s %-8s %-22s %s\n", where, ri->tier == RULES_TIER_USER ? "user" : "builtin",
               verdict, ri->pattern);
    }
    printf("%zu rules\n", n);
    return CLI_EXIT_OK;
}

#define RULES_SHOW_MAX 32

/* --all: the rules that matched rc's diagnostic, as a JSON array or indented lines. */
static void
rules_add_matched(struct rules_run *rr, struct buf *b, const struct bnc_rcpt *rc)
{
    const struct rule_info *m[RULES_SHOW_MAX];
    size_t k, nm = 0;

    if (classify_rules_matching(bnc_ctx_rules(rr->ctx), rc->diagnostic, m, RULES_SHOW_MAX, &nm) !=
        BNC_OK) {
        nm = 0;
    }
    if (rr->json) {
        buf_adds(b, ",\"matched\":[");
    }
    for (k = 0; k < nm; k++) {
        char where[512], verdict[64];
        snprintf(where, sizeof(where), "%s:%u", m[k]->origin, m[k]->line);
        rules_verdict_text(m[k], verdict, sizeof(verdict));
        if (rr->json) {
            buf_adds(b, k ? ",{\"rule\":" : "{\"rule\":");
            buf_add_json_str(b, where, strlen(where));
            buf_adds(b, ",\"verdict\":");
            buf_add_json_str(b, verdict, strlen(verdict));
            buf_adds(b, ",\"pattern\":");
            buf_add_json_str(b, m[k]->pattern, strlen(m[k]->pattern));
            buf_adds(b, "}");
        } else {
            buf_printf(b, "\t%s %-28s %-22s %s\n", k == 0 ? "first" : "then ", where, verdict,
                       m[k]->pattern);
        }
    }
    if (rr->json) {
        buf_adds(b, "]");
    }
}

static void
rules_print_report(struct rules_run *rr, const char *name, bnc_report *rep)
{
    size_t i, n = bnc_report_rcpt_count(rep);
    struct buf b;

    buf_init(&b, 0);
    for (i = 0; i < n; i++) {
        const struct bnc_rcpt *rc = bnc_report_rcpt(rep, i);
        const char *hard = rc->hard == 1 ? "true" : rc->hard == 0 ? "false" : "null";
        buf_reset(&b);
        if (rr->json) {
            buf_adds(&b, "{\"file\":");
            buf_add_json_str(&b, name, strlen(name));
            buf_adds(&b, ",\"recipient\":");
            buf_add_json_str(&b, rc->recipient, strlen(rc->recipient));
            buf_printf(&b,
                       ",\"status\":\"%s\",\"replycode\":\"%s\",\"reason\":\"%s\",\"hard\":%s,"
                       "\"kind\":\"%s\",\"decided_by\":",
                       rc->status, rc->replycode, bnc_reason_name(rc->reason), hard,
                       bnc_kind_name(rc->kind));
            buf_add_json_str(&b, rc->decided_by, strlen(rc->decided_by));
            buf_adds(&b, ",\"diagnostic\":");
            buf_add_json_str(&b, rc->diagnostic, strlen(rc->diagnostic));
            if (rr->all) {
                rules_add_matched(rr, &b, rc);
            }
            buf_adds(&b, "}\n");
        } else {
            buf_printf(&b, "%s\t%s\t%s\t%s\thard=%s\t%s\n", name, rc->recipient,
                       bnc_reason_name(rc->reason), rc->status, hard,
                       rc->decided_by[0] ? rc->decided_by : "-");
            if (rr->all) {
                rules_add_matched(rr, &b, rc);
            }
        }
        fwrite(b.p, 1, b.len, stdout);
    }
    if (n == 0 && !rr->json) {
        printf("%s\t-\t(no verdict%s)\n", name,
               (bnc_report_flags(rep) & BNC_PF_NOT_BOUNCE) ? ": not a bounce" : "");
    }
    buf_free(&b);
}

static void
rules_test_bytes(struct rules_run *rr, const char *name, const char *p, size_t n)
{
    bnc_report *rep = NULL;
    bnc_status st = bnc_parse(rr->ctx, p, n, &rep);
    if (st != BNC_OK) {
        fprintf(stderr, "bounced rules: %s: %s\n", name, bnc_strerror(st));
        rr->unreadable++;
        return;
    }
    rules_print_report(rr, name, rep);
    bnc_report_free(rep);
}

static char *
rules_slurp(FILE *f, size_t max, size_t *len_out, bool *too_big)
{
    struct buf b;
    char tmp[65536];
    size_t n;

    *too_big = false;
    buf_init(&b, max);
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
        if (buf_add(&b, tmp, n) != BNC_OK) {
            *too_big = true;
            buf_free(&b);
            return NULL;
        }
    }
    *len_out = b.len;
    if (b.p == NULL) {
        buf_addc(&b, '\0');
        b.len = 0;
    }
    return buf_take(&b);
}

static void
rules_test_file(struct rules_run *rr, const char *path, const char *name)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    size_t len = 0;
    bool too_big;
    char *data;

    if (f == NULL) {
        fprintf(stderr, "bounced rules: %s: %s\n", path, strerror(errno));
        rr->unreadable++;
        return;
    }
    data = rules_slurp(f, rr->max_size + 1, &len, &too_big);
    if (f != stdin) {
        fclose(f);
    }
    if (data == NULL) {
        fprintf(stderr, "bounced rules: %s: %s\n", path,
                too_big ? "larger than limits.message_size" : "read error");
        rr->unreadable++;
        return;
    }
    if (mbox_is(data, len)) {
        struct mbox_iter it;
        struct bnc_slice msg;
        mbox_iter_init(&it, data, len);
        while (mbox_next(&it, &msg)) {
            rules_test_bytes(rr, name, msg.p, msg.len);
        }
    } else {
        rules_test_bytes(rr, name, data, len);
    }
    free(data);
}

static void
rules_test_path(struct rules_run *rr, const char *path, const char *rel, int depth)
{
    struct stat st;
    char **names;
    size_t n, i;

    if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rules_test_file(rr, path, rel);
        return;
    }
    if (depth >= RULES_DIR_DEPTH || dir_names(path, NULL, NULL, &names, &n) != BNC_OK) {
        fprintf(stderr, "bounced rules: %s: cannot read directory\n", path);
        rr->unreadable++;
        return;
    }
    for (i = 0; i < n; i++) {
        struct buf p, r;
        buf_init(&p, 0);
        buf_init(&r, 0);
        buf_printf(&p, "%s/%s", path, names[i]);
        if (rel[0] != '\0') {
            buf_printf(&r, "%s/%s", rel, names[i]);
        } else {
            buf_adds(&r, names[i]);
        }
        rules_test_path(rr, p.p, r.p, depth + 1);
        buf_free(&p);
        buf_free(&r);
    }
    dir_names_free(names, n);
}

static int
rules_check(int argc, char **argv)
{
    char err[512];
    if (argc != 2) {
        rules_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (rules_check_line(argv[1], err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bounced rules: bad rule: %s\n", err);
        return CLI_EXIT_NEG;
    }
    printf("ok\n");
    return CLI_EXIT_OK;
}

/* The extra rule sources of `rules list|test`: --rules files and, with --with-db, the rules
 * stored in the database. Owned: rules_srcs_free(). */
struct rules_srcs {
    struct rule_src extra[RULES_MAX_EXTRA];
    size_t n;
    bool with_db;
    struct api_rule_line *dbr;
    size_t ndbr;
};

static void
rules_srcs_free(struct rules_srcs *s)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        load_rule_src_free(&s->extra[i]);
    }
    if (s->dbr != NULL && api_rules_free != NULL) {
        api_rules_free(s->dbr, s->ndbr);
    }
}

/* The options of `rules list|test` (argv[0] is the subcommand) into rr and s. -1 to go on,
 * else the exit code (--help: CLI_EXIT_OK). */
static int
rules_opts(int argc, char **argv, struct rules_run *rr, struct rules_srcs *s)
{
    static const struct option opts[] = {
        {"rules", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'},
        {"with-db", no_argument, NULL, 'd'},     {"all", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    char err[512];
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "r:jdah", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (s->n == RULES_MAX_EXTRA) {
                fprintf(stderr, "bounced rules: at most %d --rules files\n", RULES_MAX_EXTRA);
                return CLI_EXIT_USAGE;
            }
            if (load_rule_file(optarg, &s->extra[s->n], err, sizeof(err)) != BNC_OK) {
                fprintf(stderr, "bounced rules: %s: %s\n", optarg, err);
                return CLI_EXIT_CONFIG;
            }
            s->n++;
            break;
        case 'j':
            rr->json = true;
            break;
        case 'd':
            s->with_db = true;
            break;
        case 'a':
            rr->all = true;
            break;
        case 'h':
            rules_usage(stdout);
            return CLI_EXIT_OK;
        default:
            rules_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    return -1;
}

/* Add the rules stored in the database to s. -1 to go on, else the exit code. */
static int
rules_add_db(struct cli_globals *g, struct rules_srcs *s)
{
    struct store *st = NULL;
    char err[512];
    size_t i;

    if (api_rules_load == NULL) {
        fprintf(stderr, "bounced rules: --with-db: not part of this build\n");
        return CLI_EXIT_USAGE;
    }
    if (store_open(g->cfg.store_url, &g->cfg, &st, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bounced rules: cannot open the store %s: %s\n", g->cfg.store_url, err);
        return CLI_EXIT_CONFIG;
    }
    if (api_rules_load(st, &s->dbr, &s->ndbr) != BNC_OK) {
        fprintf(stderr, "bounced rules: cannot read the stored rules\n");
        store_close(st);
        return CLI_EXIT_CONFIG;
    }
    store_close(st);
    for (i = 0; i < s->ndbr && s->n < RULES_MAX_EXTRA; i++) {
        s->extra[s->n].text = xstrdup(s->dbr[i].text);
        s->extra[s->n].origin = xstrdup(s->dbr[i].origin);
        s->n++;
    }
    if (i < s->ndbr) {
        fprintf(stderr, "bounced rules: only the first %zu stored rules are used here\n", i);
    }
    return -1;
}

/* `rules list` and `rules test` (argv[0] is the subcommand). */
static int
rules_list_test(struct cli_globals *g, const char *sub, int argc, char **argv)
{
    struct rules_srcs *s = xcalloc(1, sizeof(*s));
    struct rules_run rr;
    size_t i;
    int ret;

    memset(&rr, 0, sizeof(rr));
    if ((ret = rules_opts(argc, argv, &rr, s)) >= 0) {
        goto out;
    }
    if (strcmp(sub, "test") == 0 && optind >= argc) {
        rules_usage(stderr);
        ret = CLI_EXIT_USAGE;
        goto out;
    }
    if (s->with_db && (ret = rules_add_db(g, s)) >= 0) {
        goto out;
    }
    if (bnc_ctx_new_config(&g->cfg, &rr.ctx) != BNC_OK ||
        (s->n > 0 && bnc_ctx_reload_rules(rr.ctx, s->extra, s->n) != BNC_OK)) {
        fprintf(stderr, "bounced rules: %s\n", bnc_ctx_errmsg(rr.ctx));
        ret = CLI_EXIT_CONFIG;
        goto out;
    }
    rr.max_size = g->cfg.limit_message_size;
    if (strcmp(sub, "list") == 0) {
        ret = rules_list(rr.ctx);
        goto out;
    }
    for (i = (size_t)optind; i < (size_t)argc; i++) {
        const char *base = argv[i];
        struct stat st;
        /* names inside a directory are printed relative to it, like `bounced parse` */
        if (strcmp(base, "-") != 0 && stat(base, &st) == 0 && S_ISDIR(st.st_mode)) {
            rules_test_path(&rr, base, "", 0);
        } else {
            rules_test_path(&rr, base, base, 0);
        }
    }
    ret = rr.unreadable ? CLI_EXIT_NEG : CLI_EXIT_OK;
out:
    rules_srcs_free(s);
    free(s);
    bnc_ctx_free(rr.ctx);
    return ret;
}

static int
rules_run(struct cli_globals *g, int argc, char **argv)
{
    const char *sub;

    if (argc < 2 || cli_wants_help(argc, argv)) {
        rules_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    sub = argv[1];
    if (strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0 || strcmp(sub, "list-db") == 0) {
        if (cli_rules_db == NULL) {
            fprintf(stderr, "bounced rules %s: not part of this build\n", sub);
            return CLI_EXIT_USAGE;
        }
        return cli_rules_db(g, argc, argv);
    }
    if (strcmp(sub, "check") == 0) {
        return rules_check(argc - 1, argv + 1);
    }
    if (strcmp(sub, "lint") == 0) {
        return rules_lint(g, argc - 1, argv + 1);
    }
    if (strcmp(sub, "list") != 0 && strcmp(sub, "test") != 0) {
        fprintf(stderr, "bounced rules: unknown subcommand '%s'\n", sub);
        rules_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    return rules_list_test(g, sub, argc - 1, argv + 1);
}

const struct cli_cmd cli_cmd_rules = {
    "rules",
    "show the classification rules; explain which rule or code decided each verdict",
    rules_run,
};
