/*
 * cmd_scan.c - `bounced scan SOURCE`: read bounces from a mailbox (mbox:PATH, maildir:PATH,
 * imap://..., imaps://...) into the store, once or every N seconds.
 *
 * Each message is processed in its own transaction and marked (Maildir: moved to cur/ with
 * the S flag; IMAP: \Seen or moved; mbox: offset saved) only after it committed; see
 * ingest/mailbox.c. Exit codes: 0 every message processed, 1 some were left for the next pass,
 * 2 usage, 3 configuration, store or source failure.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify/classify.h"
#include "cli.h"
#include "hygiene_cli.h"
#include "core/log.h"
#include "ingest/mailbox.h"
#include "pipeline/process.h"
#include "store/store.h"

static volatile sig_atomic_t scan_stop;

static void
scan_on_signal(int sig)
{
    (void)sig;
    scan_stop = 1;
}

static void
scan_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced scan [options] SOURCE\n\n"
                "Process the bounces in a mailbox: mbox:PATH, maildir:PATH, imap://HOST/FOLDER or\n"
                "imaps://HOST/FOLDER. A message is marked (Maildir S flag, IMAP \\Seen or moved,\n"
                "mbox offset) only after it is committed; failures are retried next pass.\n\n"
                "options:\n"
                "  --every SECONDS   scan again every SECONDS until interrupted\n"
                "  --user USER       IMAP user (mailbox.user)\n"
                "  --password PASS   IMAP password (mailbox.password; prefer the config file)\n"
                "  --move-to FOLDER  IMAP: move processed messages there instead of \\Seen\n"
                "  --limit N         at most N messages per pass\n"
                "  --quiet           no progress bar, no summary\n"
                "  -h, --help        this help\n");
}

static int
scan_run(struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"every", required_argument, NULL, 'e'},    {"user", required_argument, NULL, 'u'},
        {"password", required_argument, NULL, 'p'}, {"move-to", required_argument, NULL, 'm'},
        {"limit", required_argument, NULL, 'l'},    {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    struct mailbox_opts mo;
    struct pipeline *p = NULL;
    struct store *st = NULL;
    bnc_ctx *ctx = NULL;
    char err[512];
    long every = 0;
    bool quiet = false, partial = false;
    int c, rc = CLI_EXIT_OK;

    memset(&mo, 0, sizeof(mo));
    mo.user = g->cfg.mailbox_user;
    mo.password = g->cfg.mailbox_password;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'e':
            every = strtol(optarg, &end, 10);
            if (*end != '\0' || every < 1 || every > 30L * 86400) {
                fprintf(stderr, "bounced scan: --every: want 1..2592000 seconds\n");
                return CLI_EXIT_USAGE;
            }
            break;
        case 'u':
            mo.user = optarg;
            break;
        case 'p':
            mo.password = optarg;
            break;
        case 'm':
            mo.move_to = optarg;
            break;
        case 'l': {
            long v = strtol(optarg, &end, 10);
            if (*end != '\0' || v < 1) {
                fprintf(stderr, "bounced scan: --limit: want a positive number\n");
                return CLI_EXIT_USAGE;
            }
            mo.limit = (size_t)v;
            break;
        }
        case 'q':
            quiet = true;
            break;
        case 'h':
            scan_usage(stdout);
            return CLI_EXIT_OK;
        default:
            scan_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        scan_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    mo.source = argv[optind];
    mo.progress = !quiet;
    if (mailbox_kind(mo.source) < 0) {
        fprintf(stderr,
                "bounced scan: unknown source '%s' (mbox:PATH, maildir:PATH, imap://, "
                "imaps://)\n",
                mo.source);
        return CLI_EXIT_USAGE;
    }
    if (store_open(g->cfg.store_url, &g->cfg, &st, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bounced scan: store %s: %s\n", g->cfg.store_url, err);
        return CLI_EXIT_CONFIG;
    }
    if (hcli_ctx(g, st, "scan", &ctx) != CLI_EXIT_OK || pipeline_new(ctx, st, &p) != BNC_OK) {
        bnc_ctx_free(ctx);
        store_close(st);
        return CLI_EXIT_CONFIG;
    }
    if (g->now != 0) {
        pipeline_set_now(p, g->now);
    }
    signal(SIGINT, scan_on_signal);
    signal(SIGTERM, scan_on_signal);
    for (;;) {
        struct mailbox_stats ms;
        if (mailbox_ingest(p, st, &mo, &ms, err, sizeof(err)) != BNC_OK) {
            fprintf(stderr, "bounced scan: %s\n", err);
            if (every == 0) {
                rc = CLI_EXIT_CONFIG;
                break;
            }
        } else {
            if (!quiet) {
                fprintf(stderr,
                        "scanned %s: %zu messages, %zu processed (%zu duplicates, %zu not "
                        "bounces), %zu verdicts, %zu left for the next pass\n",
                        mo.source, ms.seen, ms.processed, ms.duplicates, ms.not_bounce, ms.verdicts,
                        ms.failed);
            }
            log_info("event=mailbox_scan source_kind=%d seen=%zu processed=%zu duplicates=%zu "
                     "not_bounce=%zu failed=%zu",
                     mailbox_kind(mo.source), ms.seen, ms.processed, ms.duplicates, ms.not_bounce,
                     ms.failed);
            partial = ms.failed > 0;
        }
        if (every == 0 || scan_stop) {
            break;
        }
        for (long i = 0; i < every && !scan_stop; i++) {
            sleep(1);
        }
        if (scan_stop) {
            break;
        }
    }
    pipeline_free(p);
    bnc_ctx_free(ctx);
    store_close(st);
    if (rc == CLI_EXIT_OK && partial) {
        rc = CLI_EXIT_NEG;
    }
    return rc;
}

const struct cli_cmd cli_cmd_scan = {
    "scan",
    "process the bounces in a mailbox (mbox, Maildir, IMAP), once or periodically",
    scan_run,
};
