/*
 * cmd_alerts.c - `bounced alerts list [--state S]`, `bounced alerts run` and `bounced alerts
 * retry ID`: the guards' alerts (DESIGN §10, docs/guards.md). run evaluates the guards and
 * delivers what is due (syslog, metrics of this process, the signed webhook), as serve does
 * every few seconds; retry puts an alert of the dead-letter list back on the queue.
 * Exit: 0 done, 1 an alert went to the dead-letter list in this run or no such dead alert,
 * 2 usage error, 3 store failure.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hygiene_cli.h"
#include "server/alerts.h"
#include "store/guards.h"

static void
alerts_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced alerts list [--state pending|delivered|dead|logged]\n"
                "       bounced alerts run\n"
                "       bounced alerts retry ID\n\n"
                "List alerts (--state dead: the dead-letter list) with their JSON payload;\n"
                "evaluate the guards and deliver what is due; put a dead alert back.\n");
}

static int
alert_row(void *ud, const struct guard_alert *a)
{
    char when[32];
    int64_t *last = ud;

    *last = a->id;
    printf("%lld\t%s\t%s\t%s\t%s\t%lld\t%lld\t%s\t%lld\t%s\t%s\t%s\n", (long long)a->id,
           hcli_time(a->created_at, when), a->kind, a->scope, a->key, (long long)a->value,
           (long long)a->threshold, a->state, (long long)a->attempts,
           a->last_error[0] ? a->last_error : "-", a->metric, a->payload);
    return 0;
}

static int
alerts_list(struct store *st, const char *state)
{
    int64_t last = 0;
    size_t n = 0;
    bnc_status rc;

    printf("id\tcreated_at\ttype\tscope\tkey\tvalue\tthreshold\tstate\tattempts\tlast_error\t"
           "metric\tpayload\n");
    do {
        rc = guard_alert_list(st, state, last, 1000, alert_row, &last, &n);
    } while (rc == BNC_OK && n == 1000);
    if (rc != BNC_OK) {
        hcli_store_err(st, "alerts", "list", rc);
        return CLI_EXIT_CONFIG;
    }
    return CLI_EXIT_OK;
}

static int
alerts_deliver(struct cli_globals *g, struct store *st)
{
    struct policy_cfg pc;
    struct guard_eval ge;
    struct alerts_stats as;
    bnc_status rc;

    hcli_policy(g, &pc);
    if ((rc = guard_evaluate(st, &pc, &g->cfg, cli_now(g), &ge)) != BNC_OK ||
        (rc = alerts_run(st, &g->cfg, cli_now(g), &as)) != BNC_OK) {
        hcli_store_err(st, "alerts", "run", rc);
        return CLI_EXIT_CONFIG;
    }
    printf("raised %zu, announced %zu, delivered %zu, retried %zu, dead %zu, logged %zu\n",
           ge.alerts, as.announced, as.delivered, as.retried, as.dead, as.logged);
    return as.dead > 0 ? CLI_EXIT_NEG : CLI_EXIT_OK;
}

static int
alerts_retry(struct cli_globals *g, struct store *st, const char *arg)
{
    char *end;
    long long id = strtoll(arg, &end, 10);
    bnc_status rc;

    if (end == arg || *end != '\0' || id <= 0) {
        alerts_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    rc = guard_alert_retry(st, (int64_t)id, cli_now(g));
    if (rc == BNC_ENOTFOUND) {
        fprintf(stderr, "bounced: alerts: %lld is not on the dead-letter list\n", id);
        return CLI_EXIT_NEG;
    }
    if (rc != BNC_OK) {
        hcli_store_err(st, "alerts", "retry", rc);
        return CLI_EXIT_CONFIG;
    }
    printf("alert %lld queued again\n", id);
    return CLI_EXIT_OK;
}

static int
alerts_cmd_run(struct cli_globals *g, int argc, char **argv)
{
    struct store *st = NULL;
    const char *state = NULL;
    int ex;
    bool list = argc >= 2 && strcmp(argv[1], "list") == 0;

    if (cli_wants_help(argc, argv)) {
        alerts_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (list && argc == 4 && strcmp(argv[2], "--state") == 0) {
        state = argv[3];
    } else if (!(list && argc == 2) && !(argc == 2 && strcmp(argv[1], "run") == 0) &&
               !(argc == 3 && strcmp(argv[1], "retry") == 0)) {
        alerts_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if ((ex = list ? hcli_open_existing(g, &st) : hcli_open(g, &st)) != CLI_EXIT_OK) {
        return ex;
    }
    if (list) {
        ex = alerts_list(st, state);
    } else if (strcmp(argv[1], "run") == 0) {
        ex = alerts_deliver(g, st);
    } else {
        ex = alerts_retry(g, st, argv[2]);
    }
    store_close(st);
    return ex;
}

const struct cli_cmd cli_cmd_alerts = {
    "alerts",
    "list the guards' alerts, deliver them, retry dead ones",
    alerts_cmd_run,
};
