/*
 * cmd_webhook.c - `bounced webhook list|confirm`: the SNS subscriptions that wait for an
 * operator. `serve` stores every SubscriptionConfirmation SES sends over SNS (with its
 * SubscribeURL, on an SNS host only) and never fetches it: a URL named by untrusted input
 * is fetched only when a person asks.
 *   list [--all]          pending requests (with --all, the confirmed ones too)
 *   confirm ID            GET the SubscribeURL (https, SNS host, no redirects), then mark
 *                         it confirmed
 *   confirm --done ID     mark it confirmed (the URL was opened some other way)
 * Exit: 0 done, 1 no such request or SNS refused, 2 usage, 3 store failure.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "hygiene_cli.h"
#include "ingest/webhook_sns.h"
#include "store/ingest_state.h"
#include "store/store.h"

struct wh_find {
    int64_t id;
    bool found, confirmed;
    char url[2048];
};

static void
webhook_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced webhook list [--all]\n"
                "       bounced webhook confirm [--done] ID\n\n"
                "SNS subscription confirmations stored by `serve` (SES over SNS). confirm\n"
                "fetches the SubscribeURL (an SNS host, https) and marks the request confirmed;\n"
                "--done only marks it (you opened the URL yourself).\n");
}

static void
webhook_print(void *ud, const struct ingest_sns_sub *s)
{
    char when[32];
    time_t t = (time_t)s->received_at;
    struct tm tm;

    (void)ud;
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    printf("%lld\t%s\t%s\t%s\t%s\n", (long long)s->id, when,
           s->confirmed_at ? "confirmed" : "pending", s->topic_arn, s->subscribe_url);
}

static void
webhook_find(void *ud, const struct ingest_sns_sub *s)
{
    struct wh_find *w = ud;

    if (s->id == w->id) {
        w->found = true;
        w->confirmed = s->confirmed_at != 0;
        snprintf(w->url, sizeof(w->url), "%s", s->subscribe_url);
    }
}

static int
webhook_confirm(struct cli_globals *g, struct store *st, int64_t id, bool done)
{
    struct wh_find w = {id, false, false, ""};
    char err[512];

    if (ingest_sns_list(st, false, webhook_find, &w) != BNC_OK) {
        fprintf(stderr, "bounced: webhook: %s\n", store_errmsg(st));
        return CLI_EXIT_CONFIG;
    }
    if (!w.found) {
        fprintf(stderr, "bounced: webhook: no subscription request %lld\n", (long long)id);
        return CLI_EXIT_NEG;
    }
    if (!done && sns_confirm_fetch(w.url, 30, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bounced: webhook: confirming %lld: %s\n", (long long)id, err);
        return CLI_EXIT_NEG;
    }
    if (ingest_sns_confirmed(st, id, cli_now(g)) != BNC_OK) {
        fprintf(stderr, "bounced: webhook: %s\n", store_errmsg(st));
        return CLI_EXIT_CONFIG;
    }
    printf("subscription %lld confirmed%s\n", (long long)id, done ? " (marked)" : "");
    return CLI_EXIT_OK;
}

static int
webhook_run(struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'},
        {"done", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool all = false, done = false;
    struct store *st = NULL;
    int c, ex;
    char *end;

    while ((c = getopt_long(argc, argv, "adh", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            all = true;
            break;
        case 'd':
            done = true;
            break;
        case 'h':
            webhook_usage(stdout);
            return CLI_EXIT_OK;
        default:
            webhook_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc || (strcmp(argv[optind], "list") != 0 &&
                           (strcmp(argv[optind], "confirm") != 0 || optind + 2 != argc))) {
        webhook_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if ((ex = hcli_open(g, &st)) != CLI_EXIT_OK) {
        return ex;
    }
    if (strcmp(argv[optind], "list") == 0) {
        ex = ingest_sns_list(st, !all, webhook_print, NULL) == BNC_OK ? CLI_EXIT_OK
                                                                      : CLI_EXIT_CONFIG;
    } else {
        long long id = strtoll(argv[optind + 1], &end, 10);
        ex = *end != '\0' || id <= 0 ? CLI_EXIT_USAGE : webhook_confirm(g, st, id, done);
    }
    store_close(st);
    return ex;
}

const struct cli_cmd cli_cmd_webhook = {
    "webhook",
    "SNS subscription confirmations waiting for an operator (list, confirm)",
    webhook_run,
};
