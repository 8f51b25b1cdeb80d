/*
 * cmd_outage.c - `bounced outage list [--all]`, `bounced outage apply ID`, `bounced outage
 * release ID` and `bounced outage evaluate`: the outage guard from the command line
 * (DESIGN §10, docs/guards.md). An outage holds the penalties of a burst of hard bounces at
 * one recipient domain; apply carries them out (audited, actor "cli"), release drops them
 * (the events stay, marked released); evaluate does now what serve does every few seconds
 * (ends, settles or applies outages, raises spike alerts).
 * Exit: 0 done, 1 no such outage or it was already decided, 2 usage error, 3 store failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hygiene_cli.h"
#include "store/guards.h"

static void
outage_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced outage list [--all]\n"
                "       bounced outage apply ID\n"
                "       bounced outage release ID\n"
                "       bounced outage evaluate\n\n"
                "List the outages that still hold penalties and the open reputation incidents\n"
                "(--all: decided ones too); apply the held penalties of outage ID, or release\n"
                "them (contacts stay untouched); evaluate outages and spike alerts now.\n");
}

struct ol_print {
    bool all;
    int64_t last;
};

static int
outage_row(void *ud, const struct guard_outage *o)
{
    struct ol_print *op = ud;
    char opened[32], seen[32], decided[32];

    op->last = o->id;
    if (!op->all && strcmp(o->state, "open") != 0 && strcmp(o->state, "recovered") != 0) {
        return 0;
    }
    printf("%lld\t%s\t%s\t%s\t%s\t%s\t%lld\t%lld\t%lld\t%lld\t%lld\t%s\t%s\n", (long long)o->id,
           o->kind, o->domain, o->state, hcli_time(o->opened_at, opened),
           hcli_time(o->last_seen_at, seen), (long long)o->window_count, (long long)o->baseline,
           (long long)o->held, (long long)o->applied, (long long)o->released,
           hcli_time(o->decided_at, decided), o->decided_by[0] ? o->decided_by : "-");
    return 0;
}

static int
outage_list(struct store *st, bool all)
{
    struct ol_print op = {all, 0};
    size_t n = 0;
    bnc_status rc;

    printf("id\tkind\tdomain\tstate\topened_at\tlast_seen_at\twindow_count\tbaseline\theld\t"
           "applied\treleased\tdecided_at\tdecided_by\n");
    do {
        rc = guard_outage_list(st, NULL, op.last, 1000, outage_row, &op, &n);
    } while (rc == BNC_OK && n == 1000);
    if (rc != BNC_OK) {
        hcli_store_err(st, "outage", "list", rc);
        return CLI_EXIT_CONFIG;
    }
    return CLI_EXIT_OK;
}

static int
outage_evaluate(struct cli_globals *g, struct store *st)
{
    struct policy_cfg pc;
    struct guard_eval ge;
    bnc_status rc;

    hcli_policy(g, &pc);
    if ((rc = guard_evaluate(st, &pc, &g->cfg, cli_now(g), &ge)) != BNC_OK) {
        hcli_store_err(st, "outage", "evaluate", rc);
        return CLI_EXIT_CONFIG;
    }
    printf("recovered %zu, settled %zu, applied %zu, reputation incidents closed %zu, spike "
           "alerts %zu\n",
           ge.recovered, ge.settled, ge.applied, ge.closed, ge.alerts);
    return CLI_EXIT_OK;
}

static int
outage_decide(struct cli_globals *g, struct store *st, bool apply, int64_t id)
{
    struct policy_cfg pc;
    size_t n = 0;
    bnc_status rc;

    hcli_policy(g, &pc);
    rc = apply ? guard_outage_apply(st, &pc, id, "cli", cli_now(g), &n)
               : guard_outage_release(st, id, "cli", cli_now(g), &n);
    if (rc == BNC_ENOTFOUND || rc == BNC_ECONFLICT) {
        fprintf(stderr, "bounced: outage: %lld %s\n", (long long)id,
                rc == BNC_ENOTFOUND ? "does not exist"
                                    : "was already decided, or is a reputation incident");
        return CLI_EXIT_NEG;
    }
    if (rc != BNC_OK) {
        hcli_store_err(st, "outage", apply ? "apply" : "release", rc);
        return CLI_EXIT_CONFIG;
    }
    printf("outage %lld %s: %zu held penalt%s\n", (long long)id, apply ? "applied" : "released", n,
           n == 1 ? "y" : "ies");
    return CLI_EXIT_OK;
}

static int
outage_run(struct cli_globals *g, int argc, char **argv)
{
    struct store *st = NULL;
    long long id = 0;
    char *end = NULL;
    int ex;
    bool list = argc >= 2 && strcmp(argv[1], "list") == 0 &&
                (argc == 2 || (argc == 3 && strcmp(argv[2], "--all") == 0));
    bool eval = argc == 2 && strcmp(argv[1], "evaluate") == 0;
    bool decide = argc == 3 && (strcmp(argv[1], "apply") == 0 || strcmp(argv[1], "release") == 0);

    if (cli_wants_help(argc, argv)) {
        outage_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (decide) {
        id = strtoll(argv[2], &end, 10);
    }
    if (!(list || eval || decide) || (decide && (end == argv[2] || *end != '\0' || id <= 0))) {
        outage_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if ((ex = list ? hcli_open_existing(g, &st) : hcli_open(g, &st)) != CLI_EXIT_OK) {
        return ex;
    }
    if (list) {
        ex = outage_list(st, argc == 3);
    } else if (eval) {
        ex = outage_evaluate(g, st);
    } else {
        ex = outage_decide(g, st, strcmp(argv[1], "apply") == 0, (int64_t)id);
    }
    store_close(st);
    return ex;
}

const struct cli_cmd cli_cmd_outage = {
    "outage",
    "list outages that hold penalties; apply or release them",
    outage_run,
};
