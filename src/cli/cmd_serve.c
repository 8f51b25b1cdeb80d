/*
 * cmd_serve.c - `bounced serve`: run the daemon (SMTP/LMTP listener, spool, workers, HTTP API,
 * periodic sweep and mailbox scans) until SIGTERM.
 *
 * Flags override the configuration for this run: --smtp, --lmtp, --http, --spool, --workers,
 * --domains, --hostname. Everything else comes from the config file and BOUNCED_* variables.
 * Doesn't: daemonize (run it under a service manager). Exit codes: 0 clean shutdown, 2 usage,
 * 3 startup failure (bad config, cannot bind, store unreachable).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "server/serve.h"

static void
serve_usage(FILE *fp)
{
    fprintf(fp,
            "usage: bounced serve [options]\n\n"
            "Receive bounces by SMTP/LMTP into a durable spool, process them with worker\n"
            "threads, serve the HTTP API, sweep and scan mailboxes periodically.\n"
            "SIGTERM/SIGINT: stop accepting, finish open transactions and queued work, exit 0.\n"
            "SIGHUP: reload the configuration file and the rules.\n\n"
            "options (each overrides the configuration key named):\n"
            "  --smtp ADDR        SMTP listener host:port, \"\" = off        (smtp.listen)\n"
            "  --lmtp ADDR        LMTP listener host:port or unix:/path   (smtp.lmtp_listen)\n"
            "  --http ADDR        HTTP API host:port, \"\" = off            (http.listen)\n"
            "  --domains LIST     accepted recipient domains, comma list  (smtp.domains)\n"
            "  --hostname NAME    name in the greeting                     (smtp.hostname)\n"
            "  --spool DIR        spool directory                          (spool.dir)\n"
            "  --workers N        worker threads, 0 = one per core         (spool.workers)\n"
            "  --grace SECONDS    how long open SMTP transactions may take at shutdown (10)\n"
            "  -h, --help         this help\n");
}

static int
serve_run_cmd(struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"smtp", required_argument, NULL, 's'},     {"lmtp", required_argument, NULL, 'l'},
        {"http", required_argument, NULL, 'H'},     {"domains", required_argument, NULL, 'D'},
        {"hostname", required_argument, NULL, 'n'}, {"spool", required_argument, NULL, 'S'},
        {"workers", required_argument, NULL, 'w'},  {"grace", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    struct serve_options so;
    const char *ov[2 * 16];
    size_t nov = 0;
    char err[512];
    const char *key;
    long grace = 10;
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        key = NULL;
        switch (c) {
        case 's':
            key = "smtp.listen";
            break;
        case 'l':
            key = "smtp.lmtp_listen";
            break;
        case 'H':
            key = "http.listen";
            break;
        case 'D':
            key = "smtp.domains";
            break;
        case 'n':
            key = "smtp.hostname";
            break;
        case 'S':
            key = "spool.dir";
            break;
        case 'w':
            key = "spool.workers";
            break;
        case 'g': {
            char *end;
            grace = strtol(optarg, &end, 10);
            if (*end != '\0' || grace < 0 || grace > 3600) {
                fprintf(stderr, "bounced serve: --grace: want 0..3600 seconds\n");
                return CLI_EXIT_USAGE;
            }
            break;
        }
        case 'h':
            serve_usage(stdout);
            return CLI_EXIT_OK;
        default:
            serve_usage(stderr);
            return CLI_EXIT_USAGE;
        }
        if (key != NULL && cfg_set(&g->cfg, key, optarg, err, sizeof(err)) != BNC_OK) {
            fprintf(stderr, "bounced serve: %s\n", err);
            return CLI_EXIT_USAGE;
        }
        if (key != NULL && nov + 2 <= sizeof(ov) / sizeof(ov[0])) {
            ov[nov++] = key;
            ov[nov++] = optarg;
        }
    }
    if (optind < argc) {
        serve_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    memset(&so, 0, sizeof(so));
    so.cfg = &g->cfg;
    so.config_path = g->config_path;
    so.db_url = g->db_url;
    so.now = g->now;
    so.shutdown_grace = (int)grace;
    so.overrides = ov;
    so.noverrides = nov;
    return serve_run(&so);
}

const struct cli_cmd cli_cmd_serve = {
    "serve",
    "run the daemon: SMTP/LMTP listener, spool, workers, HTTP API",
    serve_run_cmd,
};
