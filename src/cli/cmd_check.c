/*
 * cmd_check.c - `bounced check ADDRESS`: may we send to this address? One indexed lookup of
 * the address-level suppression (plus the contact's status), printed with why and since when.
 * Exit: 0 sendable, 1 suppressed, 2 usage error or an unusable address, 3 store failure.
 * What it does not do: change anything.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hygiene_cli.h"
#include "store/model.h"

static void
check_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced check ADDRESS\n\n"
                "Exit 0 when ADDRESS may be sent to, 1 when it is suppressed (the reason and\n"
                "the time it was suppressed are printed).\n");
}

static int
check_run(struct cli_globals *g, int argc, char **argv)
{
    struct store *st = NULL;
    struct model_check ck;
    struct policy_cfg pc;
    char when[32];
    bnc_status rc;
    int ex;

    if (cli_wants_help(argc, argv)) {
        check_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc != 2) {
        check_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if ((ex = hcli_open_existing(g, &st)) != CLI_EXIT_OK) {
        return ex;
    }
    hcli_policy(g, &pc);
    rc = model_check(st, &pc, argv[1], cli_now(g), &ck);
    store_close(st);
    if (rc == BNC_EINVAL) {
        fprintf(stderr, "bounced: check: '%s' is not a usable address\n", argv[1]);
        return CLI_EXIT_USAGE;
    }
    if (rc != BNC_OK) {
        fprintf(stderr, "bounced: check: %s\n", bnc_strerror(rc));
        return CLI_EXIT_CONFIG;
    }
    if (ck.sendable) {
        printf("%s: sendable%s%s\n", argv[1], ck.known ? ", contact " : "",
               ck.known ? ck.status : "");
        return CLI_EXIT_OK;
    }
    printf("%s: suppressed: %s (%s) since %s%s%s\n", argv[1], ck.reason[0] ? ck.reason : "-",
           ck.source[0] ? ck.source : "-", hcli_time(ck.since, when), ck.known ? ", contact " : "",
           ck.known ? ck.status : "");
    return CLI_EXIT_NEG;
}

const struct cli_cmd cli_cmd_check = {
    "check",
    "may an address be sent to? (exit 0 sendable, 1 suppressed)",
    check_run,
};
