/*
 * cmd_ingest.c - `bounced ingest FORMAT FILE|-`: ESP webhook payloads (ses, sendgrid,
 * mailgun, postmark, sparkpost) and MTA logs (pmta accounting CSV, postfix maillog) into the
 * same verdicts as bounce mail, then through the hygiene policy into the store.
 *
 * Each verdict is applied in its own transaction and deduplicated by its content (recipient,
 * status, reason, event time), so feeding a log file again, or a longer version of it, only
 * adds what is new. `--dry-run` prints the verdicts as JSON lines (the `parse` format) and
 * touches no store. Logs (pmta, pmta-fbl, maillog, exim) are streamed (ingest/follow.h):
 * applied a read at a time as their lines arrive (`tail -F maillog | bounced ingest maillog
 * -` works), with no limit on the size of the whole; a .gz file is read through zlib.
 * Exit: 0 all inputs read, 1 some could not be read or were not of that format, 2 usage,
 * 3 configuration or store failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify/classify.h"
#include "cli.h"
#include "core/buf.h"
#include "core/xmalloc.h"
#include "hygiene_cli.h"
#include "ingest/events.h"
#include "ingest/follow.h"
#include "pipeline/process.h"

struct ingest_run {
    bnc_ctx *ctx;
    struct pipeline *pl;
    enum events_format fmt;
    bool dry_run;
    const char *record_fields;
    const char *name; /* the input being read */
    size_t inputs, failed, verdicts, duplicates, by_kind[6], changed, review;
};

static void
ingest_usage(FILE *fp)
{
    fprintf(fp,
            "usage: bounced ingest [--dry-run] [--record-fields LAYOUT] FORMAT FILE|-...\n\n"
            "Read ESP webhook payloads or MTA logs, turn them into verdicts and apply the\n"
            "hygiene policy (or, with --dry-run, print the verdicts as JSON lines).\n\n"
            "FORMAT: ses (SNS notifications or SES event records), sendgrid (Event Webhook\n"
            "        batches), mailgun, postmark, sparkpost (message-event batches),\n"
            "        pmta (PowerMTA accounting CSV), pmta-fbl (its feedback-loop file),\n"
            "        maillog (Postfix log lines), exim (Exim main log)\n\n"
            "  -n, --dry-run               print verdicts, change nothing\n"
            "  -f, --record-fields LAYOUT  PowerMTA columns (\"type,timeLogged,rcpt,...\") of a\n"
            "                              file without its header row\n\n"
            "Logs are applied as their lines arrive (a pipe or stdin is read as it grows);\n"
            "FILE.gz is decompressed.\n\n"
            "Exit: 0 done, 1 some inputs unreadable or not of FORMAT, 2 usage, 3 store failure.\n");
}

static bool
ingest_read(FILE *fp, size_t limit, char **out, size_t *len)
{
    struct buf b;
    char tmp[65536];
    size_t n;

    buf_init(&b, limit);
    while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0) {
        if (buf_add(&b, tmp, n) != BNC_OK) {
            buf_free(&b);
            errno = EFBIG;
            return false;
        }
    }
    if (ferror(fp)) {
        buf_free(&b);
        return false;
    }
    *len = b.len;
    *out = buf_take(&b);
    return true;
}

static void
ingest_print(const char *name, const struct bnc_rcpt *v)
{
    struct buf b;
    const char *hard = v->hard == 1 ? "true" : v->hard == 0 ? "false" : "null";

    buf_init(&b, 0);
    buf_adds(&b, "{\"file\":");
    buf_add_json_str(&b, name, strlen(name));
    buf_adds(&b, ",\"recipient\":");
    buf_add_json_str(&b, v->recipient, strlen(v->recipient));
    buf_printf(&b, ",\"status\":\"%s\",\"replycode\":\"%s\",\"reason\":\"%s\",\"hard\":%s,"
                   "\"kind\":\"%s\",\"action\":\"%s\",\"diagnostic\":",
               v->status, v->replycode, bnc_reason_name(v->reason), hard,
               bnc_kind_name(v->kind), bnc_action_name(v->action));
    buf_add_json_str(&b, v->diagnostic, strlen(v->diagnostic));
    buf_adds(&b, ",\"origin\":");
    buf_add_json_str(&b, v->origin, strlen(v->origin));
    buf_adds(&b, ",\"date\":");
    buf_add_json_str(&b, v->date, strlen(v->date));
    buf_adds(&b, ",\"original_message_id\":");
    buf_add_json_str(&b, v->original_message_id, strlen(v->original_message_id));
    buf_adds(&b, ",\"feedback_type\":");
    buf_add_json_str(&b, v->feedback_type, strlen(v->feedback_type));
    buf_adds(&b, ",\"decided_by\":");
    buf_add_json_str(&b, v->decided_by, strlen(v->decided_by));
    buf_adds(&b, "}\n");
    fwrite(b.p, 1, b.len, stdout);
    buf_free(&b);
}

/* Print or apply the verdicts of one parsed input (or batch of lines). */
static bnc_status
ingest_report(void *ud, const bnc_report *r)
{
    struct ingest_run *ir = ud;
    size_t i, n = bnc_report_rcpt_count(r);
    bnc_status rc;

    for (i = 0; i < n; i++) {
        const struct bnc_rcpt *v = bnc_report_rcpt(r, i);
        struct pipeline_result res;
        if (ir->dry_run) {
            ingest_print(ir->name, v);
            ir->verdicts++;
            ir->by_kind[v->kind]++;
            continue;
        }
        rc = pipeline_process_verdicts(ir->pl, v, 1, events_format_origin(ir->fmt), NULL, &res);
        if (rc != BNC_OK) {
            fprintf(stderr, "bounced: ingest: %s: %s\n", ir->name, pipeline_errmsg(ir->pl));
            return rc;
        }
        if (res.duplicate) {
            ir->duplicates++;
            continue;
        }
        ir->verdicts += res.verdicts;
        ir->by_kind[v->kind]++;
        ir->changed += res.contacts_changed;
        ir->review += res.review_items;
    }
    if (ir->dry_run) {
        fflush(stdout); /* a followed pipe shows each batch as it is read */
    }
    return BNC_OK;
}

static void
ingest_one(struct ingest_run *ir, const char *name, const char *data, size_t len)
{
    bnc_report *r = NULL;
    char err[512];
    bnc_status rc;

    ir->inputs++;
    ir->name = name;
    rc = events_parse(ir->ctx, ir->fmt, data, len, &r, err, sizeof(err));
    if (rc != BNC_OK) {
        fprintf(stderr, "bounced: ingest: %s: %s\n", name, err[0] ? err : bnc_strerror(rc));
        ir->failed++;
        return;
    }
    if (ingest_report(ir, r) != BNC_OK) {
        ir->failed++;
    }
    bnc_report_free(r);
}

/* A webhook payload, read whole (up to the webhook body limit). */
static void
ingest_payload(struct ingest_run *ir, const char *name, size_t limit)
{
    FILE *fp = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
    char *data = NULL;
    size_t len = 0;

    if (fp == NULL || !ingest_read(fp, limit, &data, &len)) {
        fprintf(stderr, "bounced: ingest: %s: %s\n", name,
                errno == EFBIG ? "larger than the input limit" : strerror(errno));
        ir->inputs++;
        ir->failed++;
    } else {
        ingest_one(ir, name, data, len);
    }
    free(data);
    if (fp != NULL && fp != stdin) {
        fclose(fp);
    }
}

/* A log, streamed: lines applied as they are read. */
static void
ingest_log(struct ingest_run *ir, const char *name)
{
    int fd = strcmp(name, "-") == 0 ? 0 : open(name, O_RDONLY | O_CLOEXEC);
    size_t n = strlen(name), overlong = 0;
    char err[512];
    bnc_status rc;

    ir->inputs++;
    ir->name = name;
    if (fd < 0) {
        fprintf(stderr, "bounced: ingest: %s: %s\n", name, strerror(errno));
        ir->failed++;
        return;
    }
    rc = follow_stream(fd, n > 3 && strcmp(name + n - 3, ".gz") == 0, ir->ctx, ir->fmt,
                       ir->record_fields, ingest_report, ir, &overlong, err, sizeof(err));
    if (rc != BNC_OK && err[0] != '\0') {
        fprintf(stderr, "bounced: ingest: %s: %s\n", name, err);
    }
    if (overlong > 0) {
        fprintf(stderr, "bounced: ingest: %s: %zu lines longer than %u bytes skipped\n", name,
                overlong, EVENTS_MAX_LINE);
    }
    if (rc != BNC_OK || overlong > 0) {
        ir->failed++;
    }
    if (fd != 0) {
        close(fd);
    }
}

static int
ingest_run(struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"dry-run", no_argument, NULL, 'n'},
        {"record-fields", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct ingest_run ir;
    struct store *st = NULL;
    int c, i, ex;

    memset(&ir, 0, sizeof(ir));
    while ((c = getopt_long(argc, argv, "nf:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            ir.dry_run = true;
            break;
        case 'f':
            ir.record_fields = optarg;
            break;
        case 'h':
            ingest_usage(stdout);
            return CLI_EXIT_OK;
        default:
            ingest_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind < 2) {
        ingest_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!events_format_from_name(argv[optind], &ir.fmt)) {
        fprintf(stderr, "bounced: ingest: unknown format '%s' (see bounced ingest --help)\n",
                argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (!ir.dry_run && (ex = hcli_open(g, &st)) != CLI_EXIT_OK) {
        return ex;
    }
    if ((ex = hcli_ctx(g, st, "ingest", &ir.ctx)) != CLI_EXIT_OK) {
        store_close(st);
        return ex;
    }
    if (!ir.dry_run) {
        pipeline_new(ir.ctx, st, &ir.pl);
        pipeline_set_now(ir.pl, g->now);
    }
    for (i = optind + 1; i < argc; i++) {
        if (events_format_is_log(ir.fmt)) {
            ingest_log(&ir, argv[i]);
        } else {
            ingest_payload(&ir, argv[i], g->cfg.limit_webhook_body);
        }
    }
    if (!ir.dry_run) {
        printf("inputs: %zu (failed %zu)\n", ir.inputs, ir.failed);
        printf("verdicts: %zu new, %zu duplicates (hard %zu, soft %zu, complaint %zu, "
               "delivered %zu, unknown %zu)\n",
               ir.verdicts, ir.duplicates, ir.by_kind[BNC_KIND_HARD], ir.by_kind[BNC_KIND_SOFT],
               ir.by_kind[BNC_KIND_COMPLAINT], ir.by_kind[BNC_KIND_DELIVERED],
               ir.by_kind[BNC_KIND_UNKNOWN]);
        printf("contacts changed: %zu\nnew review items: %zu\n", ir.changed, ir.review);
    }
    pipeline_free(ir.pl);
    store_close(st);
    bnc_ctx_free(ir.ctx);
    return ir.failed ? CLI_EXIT_NEG : CLI_EXIT_OK;
}

const struct cli_cmd cli_cmd_ingest = {
    "ingest",
    "apply ESP webhook payloads or MTA logs (ses, sendgrid, mailgun, postmark, sparkpost, "
    "pmta, pmta-fbl, maillog, exim)",
    ingest_run,
};
