/*
 * cmd_sweep.c - `bounced sweep`: persist soft-bounce decay (DESIGN §6): every contact whose
 * last strike is older than policy.soft_decay_days gets a count of 0 and ACTIVE, audited with
 * actor "sweep". `serve` runs the same work every sweep.interval.
 * Exit: 0 done, 2 usage error, 3 store failure.
 */
#include <stdio.h>

#include "cli.h"
#include "hygiene_cli.h"
#include "store/model.h"

static int
sweep_run(struct cli_globals *g, int argc, char **argv)
{
    struct policy_cfg pc;
    struct store *st = NULL;
    size_t n = 0;
    bnc_status rc;
    int ex;

    if (cli_wants_help(argc, argv)) {
        printf("usage: bounced sweep\n\nReset the soft-bounce count of contacts whose last soft "
               "bounce is older than\npolicy.soft_decay_days; they return to ACTIVE. Audited.\n");
        return CLI_EXIT_OK;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: bounced sweep\n");
        return CLI_EXIT_USAGE;
    }
    if ((ex = hcli_open(g, &st)) != CLI_EXIT_OK) {
        return ex;
    }
    hcli_policy(g, &pc);
    rc = model_sweep(st, &pc, cli_now(g), &n);
    if (rc != BNC_OK) {
        hcli_store_err(st, "sweep", "decay", rc);
        store_close(st);
        return CLI_EXIT_CONFIG;
    }
    store_close(st);
    printf("sweep: %zu contact%s decayed to ACTIVE\n", n, n == 1 ? "" : "s");
    return CLI_EXIT_OK;
}

const struct cli_cmd cli_cmd_sweep = {
    "sweep",
    "reset soft-bounce counts older than policy.soft_decay_days",
    sweep_run,
};
