/*
 * cmd_stats.c - `bounced stats [--since T] [--until T] [--top N]`: totals (contacts by
 * status, suppressions, events, open review items, messages) and bounce events counted by
 * reason, kind, recipient domain and UTC day.
 * Exit: 0 done, 2 usage error, 3 store failure.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hygiene_cli.h"
#include "store/model.h"

static void
stats_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced stats [--since TIME] [--until TIME] [--top N]\n\n"
                "Totals, then bounce events by reason, kind, domain and day.\n"
                "TIME is 2026-11-23, 2026-11-23T10:00:00Z or Unix seconds.\n");
}

static int
stat_line(void *ud, const char *key, int64_t n)
{
    (void)ud;
    printf("  %-32s %lld\n", key[0] ? key : "(none)", (long long)n);
    return 0;
}

static void
stats_totals(const struct model_totals *t)
{
    size_t i;

    printf("contacts: %lld (", (long long)t->contacts);
    for (i = 0; i < HYG__COUNT; i++) {
        printf("%s%s %lld", i ? ", " : "", hyg_status_name((enum hyg_status)i),
               (long long)t->by_status[i]);
    }
    printf(")\nsuppressions: %lld\nevents: %lld\nopen review items: %lld\n"
           "messages: %lld (not bounces %lld)\n",
           (long long)t->suppressions, (long long)t->events, (long long)t->review_open,
           (long long)t->messages, (long long)t->not_bounce);
}

static int
stats_run(struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"since", required_argument, NULL, 's'},
        {"until", required_argument, NULL, 'u'},
        {"top", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const struct {
        enum model_stat_dim dim;
        const char *title;
    } dims[] = {
        {MODEL_STAT_REASON, "events by reason"},
        {MODEL_STAT_KIND, "events by kind"},
        {MODEL_STAT_DOMAIN, "events by domain"},
        {MODEL_STAT_DAY, "events by day"},
    };
    struct model_totals t;
    struct policy_cfg pc;
    struct store *st = NULL;
    int64_t since = 0, until = 0;
    long top = 20;
    bnc_status rc;
    size_t i;
    int c, ex;

    while ((c = getopt_long(argc, argv, "s:u:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
        case 'u':
            if (cli_parse_time(optarg, c == 's' ? &since : &until) != 0) {
                fprintf(stderr, "bounced: stats: cannot parse time '%s'\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 't':
            top = strtol(optarg, NULL, 10);
            if (top <= 0 || top > MODEL_LIMIT_MAX) {
                stats_usage(stderr);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'h':
            stats_usage(stdout);
            return CLI_EXIT_OK;
        default:
            stats_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        stats_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if ((ex = hcli_open_existing(g, &st)) != CLI_EXIT_OK) {
        return ex;
    }
    hcli_policy(g, &pc);
    if ((rc = model_totals(st, &pc, cli_now(g), &t)) != BNC_OK) {
        hcli_store_err(st, "stats", "totals", rc);
        store_close(st);
        return CLI_EXIT_CONFIG;
    }
    stats_totals(&t);
    for (i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
        printf("%s:\n", dims[i].title);
        rc = model_stats(st, &pc, cli_now(g), dims[i].dim, since, until, (size_t)top, stat_line,
                         NULL);
        if (rc != BNC_OK) {
            hcli_store_err(st, "stats", dims[i].title, rc);
            store_close(st);
            return CLI_EXIT_CONFIG;
        }
    }
    store_close(st);
    return CLI_EXIT_OK;
}

const struct cli_cmd cli_cmd_stats = {
    "stats",
    "bounce statistics by reason, kind, domain and day",
    stats_run,
};
