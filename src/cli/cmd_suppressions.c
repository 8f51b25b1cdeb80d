/*
 * cmd_suppressions.c - `bounced suppressions export --format ses|sendgrid|mailgun|postmark|csv
 * [-o FILE]`: every address-level suppression in the bulk-import format of an ESP, so that
 * its own suppression list agrees with bounced (docs/guards.md cites each vendor's page):
 *   ses       CSV without a header, "address,BOUNCE|COMPLAINT" (SES API v2 CreateImportJob);
 *   sendgrid  CSV with an "email" column (the suppression uploads of the SendGrid UI);
 *   mailgun   CSV "address,code,error,created_at", created_at in RFC 2822 form
 *             (POST /v3/{domain}/bounces/import);
 *   postmark  one JSON request body per line, {"Suppressions":[{"EmailAddress":...}]} with
 *             at most 50 addresses each (POST /message-streams/{stream}/suppressions);
 *   csv       bounced's own: address,reason,source,created_at (RFC 3339).
 * A complaint's suppression is COMPLAINT for SES; the others take every address alike.
 * `bounced suppressions sync ESP [--dry-run]`: both lists agree afterwards through the ESP's
 * API (ingest/esp_sync.c): pushed, imported, and what bounced lifted removed at the ESP;
 * --dry-run prints the plan and changes nothing.
 * Exit: 0 done, 2 usage error, 3 store or API failure or the output cannot be written.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "hygiene_cli.h"
#include "ingest/esp_sync.h"
#include "store/model.h"

#define POSTMARK_BATCH 50 /* addresses per request the Postmark API takes */

enum exp_format { EXP_SES, EXP_SENDGRID, EXP_MAILGUN, EXP_POSTMARK, EXP_CSV };

struct exporter {
    FILE *fp;
    enum exp_format fmt;
    size_t n;     /* rows written */
    size_t batch; /* addresses in the open Postmark line */
    int64_t last;
};

static void
supp_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced suppressions export --format ses|sendgrid|mailgun|postmark|csv "
                "[-o FILE]\n"
                "       bounced suppressions sync ses|sendgrid|mailgun|postmark [--dry-run]\n\n"
                "export: every suppressed address in the bulk-import format of an ESP (stdout\n"
                "unless -o). sync: push, import and remove through the ESP's API (esp.* keys)\n"
                "until both lists agree. Formats, endpoints and their documentation:\n"
                "docs/guards.md.\n");
}

static bool
exp_format_from(const char *s, enum exp_format *out)
{
    static const char *const names[] = {"ses", "sendgrid", "mailgun", "postmark", "csv"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum exp_format)i;
            return true;
        }
    }
    return false;
}

static bool
is_complaint(const struct model_suppression *s)
{
    return strcmp(s->source, "complaint") == 0;
}

static void
rfc2822(int64_t t, char out[40])
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, 40, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

static int
exp_row(void *ud, const struct model_suppression *s)
{
    struct exporter *e = ud;
    char when[40];

    e->last = s->id;
    e->n++;
    switch (e->fmt) {
    case EXP_SES:
        hcli_csv_field(e->fp, s->address);
        fprintf(e->fp, ",%s\r\n", is_complaint(s) ? "COMPLAINT" : "BOUNCE");
        break;
    case EXP_SENDGRID:
        hcli_csv_field(e->fp, s->address);
        fputs("\r\n", e->fp);
        break;
    case EXP_MAILGUN:
        rfc2822(s->created_at, when);
        hcli_csv_field(e->fp, s->address);
        fprintf(e->fp, ",%s,", is_complaint(s) ? "" : "550");
        hcli_csv_field(e->fp, s->reason);
        fprintf(e->fp, ",\"%s\"\r\n", when);
        break;
    case EXP_POSTMARK:
        fputs(e->batch == 0 ? "{\"Suppressions\":[" : ",", e->fp);
        fputs("{\"EmailAddress\":", e->fp);
        hcli_json_str(e->fp, s->address);
        fputs("}", e->fp);
        if (++e->batch == POSTMARK_BATCH) {
            fputs("]}\n", e->fp);
            e->batch = 0;
        }
        break;
    case EXP_CSV:
        hcli_csv_field(e->fp, s->address);
        fputc(',', e->fp);
        hcli_csv_field(e->fp, s->reason);
        fputc(',', e->fp);
        hcli_csv_field(e->fp, s->source);
        fprintf(e->fp, ",%s\r\n", hcli_time(s->created_at, when));
        break;
    }
    return 0;
}

static void
exp_header(struct exporter *e)
{
    if (e->fmt == EXP_SENDGRID) {
        fputs("email\r\n", e->fp);
    } else if (e->fmt == EXP_MAILGUN) {
        fputs("address,code,error,created_at\r\n", e->fp);
    } else if (e->fmt == EXP_CSV) {
        fputs("address,reason,source,created_at\r\n", e->fp);
    }
}

static int
supp_export(struct store *st, enum exp_format fmt, const char *path)
{
    struct exporter e = {NULL, fmt, 0, 0, 0};
    size_t got = 0;
    bnc_status rc;
    bool bad;

    e.fp = path != NULL ? fopen(path, "w") : stdout;
    if (e.fp == NULL) {
        fprintf(stderr, "bounced: suppressions: cannot write %s\n", path);
        return CLI_EXIT_CONFIG;
    }
    exp_header(&e);
    do {
        rc = model_suppression_list(st, e.last, MODEL_LIMIT_MAX, exp_row, &e, &got);
    } while (rc == BNC_OK && got == MODEL_LIMIT_MAX);
    if (e.fmt == EXP_POSTMARK && e.batch > 0) {
        fputs("]}\n", e.fp);
    }
    bad = ferror(e.fp) != 0;
    if ((path != NULL ? fclose(e.fp) : fflush(e.fp)) != 0) {
        bad = true;
    }
    if (rc != BNC_OK) {
        hcli_store_err(st, "suppressions", "export", rc);
        return CLI_EXIT_CONFIG;
    }
    if (bad) {
        fprintf(stderr, "bounced: suppressions: writing %s failed\n", path ? path : "stdout");
        return CLI_EXIT_CONFIG;
    }
    fprintf(stderr, "%zu address%s\n", e.n, e.n == 1 ? "" : "es");
    return CLI_EXIT_OK;
}

static void
sync_note(void *ud, const char *action, const char *address)
{
    (void)ud;
    printf("%s\t%s\n", action, address);
}

static int
supp_sync(struct cli_globals *g, int argc, char **argv)
{
    struct esp_sync_stats ss;
    struct store *st = NULL;
    char err[1024];
    bool dry = argc == 4 && strcmp(argv[3], "--dry-run") == 0;
    bnc_status rc;
    int ex;

    if (argc != 3 && !dry) {
        supp_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if ((ex = hcli_open(g, &st)) != CLI_EXIT_OK) {
        return ex;
    }
    rc = esp_sync(st, &g->cfg, argv[2], dry, cli_now(g), sync_note, NULL, &ss, err, sizeof(err));
    store_close(st);
    if (rc != BNC_OK) {
        fprintf(stderr, "bounced: suppressions sync: %s\n", err);
        return rc == BNC_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_CONFIG;
    }
    fprintf(stderr,
            "%s%s: %zu at the ESP, %zu in bounced; pushed %zu, imported %zu, removed %zu%s\n",
            dry ? "dry run: " : "", argv[2], ss.remote, ss.local, ss.pushed, ss.imported,
            ss.removed, ss.invalid > 0 ? " (unusable addresses at the ESP skipped)" : "");
    return CLI_EXIT_OK;
}

static int
supp_run(struct cli_globals *g, int argc, char **argv)
{
    static const struct option lo[] = {{"format", required_argument, NULL, 'f'},
                                       {"output", required_argument, NULL, 'o'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    enum exp_format fmt = EXP_CSV;
    const char *path = NULL;
    struct store *st = NULL;
    bool have_fmt = false;
    int c, ex;

    if (cli_wants_help(argc, argv)) {
        supp_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc >= 3 && strcmp(argv[1], "sync") == 0) {
        return supp_sync(g, argc, argv);
    }
    if (argc < 2 || strcmp(argv[1], "export") != 0) {
        supp_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "f:o:h", lo, NULL)) != -1) {
        if (c == 'f' && exp_format_from(optarg, &fmt)) {
            have_fmt = true;
        } else if (c == 'o') {
            path = optarg;
        } else {
            supp_usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        }
    }
    if (!have_fmt || optind != argc) {
        supp_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if ((ex = hcli_open_existing(g, &st)) != CLI_EXIT_OK) {
        return ex;
    }
    ex = supp_export(st, fmt, path);
    store_close(st);
    return ex;
}

const struct cli_cmd cli_cmd_suppressions = {
    "suppressions",
    "export suppressions in an ESP's format, or sync them through its API",
    supp_run,
};
