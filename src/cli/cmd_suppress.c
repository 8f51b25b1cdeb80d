/*
 * cmd_suppress.c - `bounced suppress ADDRESS [--reason R]`: add an address-level suppression
 * (the address needs no contact). Audited with actor "cli".
 * Exit: 0 suppressed (or already was), 2 usage error, 3 store failure.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hygiene_cli.h"
#include "store/model.h"

static void
suppress_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced suppress [--reason R] ADDRESS\n\n"
                "Never send to ADDRESS again (until `bounced unsuppress`). Works for addresses\n"
                "that are not contacts. The change is audited.\n\n"
                "  --reason R   recorded reason (default: manual)\n");
}

static int
suppress_run(struct cli_globals *g, int argc, char **argv)
{
    const char *reason, *address;
    struct store *st = NULL;
    bool created = false;
    bnc_status rc;
    int ex;

    if ((ex = hcli_reason_address(argc, argv, suppress_usage, &reason, &address)) >= 0) {
        return ex;
    }
    if ((ex = hcli_open(g, &st)) != CLI_EXIT_OK) {
        return ex;
    }
    rc = model_suppress(st, address, reason, "manual", "cli", "", cli_now(g), &created);
    if (rc != BNC_OK) {
        hcli_store_err(st, "suppress", address, rc);
        store_close(st);
        return rc == BNC_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_CONFIG;
    }
    store_close(st);
    printf("%s: %s\n", address, created ? "suppressed" : "already suppressed");
    return CLI_EXIT_OK;
}

const struct cli_cmd cli_cmd_suppress = {
    "suppress",
    "suppress an address (no contact needed)",
    suppress_run,
};
