/*
 * cmd_unsuppress.c - `bounced unsuppress ADDRESS [--reason R]`: lift the address suppression
 * and return the contact (if any) to ACTIVE with a soft count of 0 (DESIGN §6). Audited.
 * Exit: 0 done, 1 nothing to undo (not suppressed, contact already ACTIVE), 2 usage error,
 * 3 store failure.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hygiene_cli.h"
#include "store/model.h"

static void
unsuppress_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced unsuppress [--reason R] ADDRESS\n\n"
                "Lift the suppression of ADDRESS; its contact returns to ACTIVE. Audited.\n\n"
                "  --reason R   why (recorded in the audit log; default: manual)\n\n"
                "Exit: 0 done, 1 the address was not suppressed.\n");
}

static int
unsuppress_run(struct cli_globals *g, int argc, char **argv)
{
    const char *reason, *address;
    struct store *st = NULL;
    bnc_status rc;
    int ex;

    if ((ex = hcli_reason_address(argc, argv, unsuppress_usage, &reason, &address)) >= 0) {
        return ex;
    }
    if ((ex = hcli_open(g, &st)) != CLI_EXIT_OK) {
        return ex;
    }
    rc = model_unsuppress(st, address, "cli", reason, cli_now(g));
    if (rc == BNC_ENOTFOUND) {
        store_close(st);
        printf("%s: not suppressed\n", address);
        return CLI_EXIT_NEG;
    }
    if (rc != BNC_OK) {
        hcli_store_err(st, "unsuppress", address, rc);
        store_close(st);
        return rc == BNC_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_CONFIG;
    }
    store_close(st);
    printf("%s: unsuppressed, ACTIVE\n", address);
    return CLI_EXIT_OK;
}

const struct cli_cmd cli_cmd_unsuppress = {
    "unsuppress",
    "lift a suppression; the contact returns to ACTIVE",
    unsuppress_run,
};
