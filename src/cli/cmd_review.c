/*
 * cmd_review.c - `bounced review list [--all]` and `bounced review resolve ID hard|soft|ignore`:
 * the queue of verdicts nothing could classify (DESIGN §6). Resolving as hard applies the
 * hard path (BOUNCED_HARD, suppression, unsubscribe), as soft counts an address-side strike,
 * as ignore only closes the item. Every change is audited (actor "cli").
 * Exit: 0 done, 1 no such open item, 2 usage error, 3 store failure.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hygiene_cli.h"
#include "store/model.h"

static void
review_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced review list [--all]\n"
                "       bounced review resolve ID hard|soft|ignore\n\n"
                "List the open review items (--all: resolved ones too), or resolve one: hard\n"
                "applies the hard-bounce path, soft counts a soft strike, ignore closes it.\n");
}

static int
review_row(void *ud, const struct model_review *r)
{
    char when[32];
    int64_t *last = ud;

    printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)r->id, r->state,
           r->resolution[0] ? r->resolution : "-", hcli_time(r->event_time, when), r->recipient,
           r->status[0] ? r->status : "-", r->reason, r->diagnostic);
    *last = r->id;
    return 0;
}

static int
review_list(struct store *st, bool all)
{
    int64_t last = 0;
    size_t n = 0, total = 0;
    bnc_status rc;

    printf("id\tstate\tresolution\tevent_time\trecipient\tstatus\treason\tdiagnostic\n");
    do {
        rc = model_review_list(st, !all, last, 1000, review_row, &last, &n);
        total += n;
    } while (rc == BNC_OK && n == 1000);
    if (rc != BNC_OK) {
        hcli_store_err(st, "review", "list", rc);
        return CLI_EXIT_CONFIG;
    }
    fprintf(stderr, "%zu item%s\n", total, total == 1 ? "" : "s");
    return CLI_EXIT_OK;
}

static int
review_run(struct cli_globals *g, int argc, char **argv)
{
    struct store *st = NULL;
    struct policy_cfg pc;
    struct model_outcome o;
    bnc_status rc;
    char *end;
    long long id;
    int ex;

    if (cli_wants_help(argc, argv)) {
        review_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "list") == 0 &&
        (argc == 2 || (argc == 3 && strcmp(argv[2], "--all") == 0))) {
        if ((ex = hcli_open_existing(g, &st)) != CLI_EXIT_OK) {
            return ex;
        }
        ex = review_list(st, argc == 3);
        store_close(st);
        return ex;
    }
    if (argc != 4 || strcmp(argv[1], "resolve") != 0) {
        review_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    id = strtoll(argv[2], &end, 10);
    if (end == argv[2] || *end != '\0' || id <= 0 ||
        (strcmp(argv[3], "hard") != 0 && strcmp(argv[3], "soft") != 0 &&
         strcmp(argv[3], "ignore") != 0)) {
        review_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if ((ex = hcli_open(g, &st)) != CLI_EXIT_OK) {
        return ex;
    }
    hcli_policy(g, &pc);
    rc = model_review_resolve(st, &pc, (int64_t)id, argv[3], "cli", cli_now(g), &o);
    if (rc == BNC_ENOTFOUND || rc == BNC_ECONFLICT) {
        fprintf(stderr, "bounced: review: item %lld %s\n", id,
                rc == BNC_ENOTFOUND ? "does not exist" : "is already resolved");
        store_close(st);
        return CLI_EXIT_NEG;
    }
    if (rc != BNC_OK) {
        hcli_store_err(st, "review", "resolve", rc);
        store_close(st);
        return CLI_EXIT_CONFIG;
    }
    store_close(st);
    printf("review %lld resolved as %s%s\n", id, argv[3],
           o.contact_changed ? " (contact changed)" : "");
    return CLI_EXIT_OK;
}

const struct cli_cmd cli_cmd_review = {
    "review",
    "list or resolve bounces that need a person",
    review_run,
};
