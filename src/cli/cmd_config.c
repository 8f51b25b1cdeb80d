/*
 * cmd_config.c - `bounced config show [-n]`: print every setting of the configuration table
 * as `name = value` after defaults, --config FILE and BOUNCED_* have been applied; -n prints
 * only the settings that differ from the defaults. Secrets are not printed (cfg_show()).
 * Exit: 0 done, 2 usage error.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void
config_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced config show [-n]\n\n"
                "Print the effective configuration (defaults < --config FILE < BOUNCED_*).\n\n"
                "  -n   only settings that differ from the defaults\n");
}

static int
config_run(struct cli_globals *g, int argc, char **argv)
{
    bool only_changed = false;
    int i;

    if (cli_wants_help(argc, argv)) {
        config_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "show") != 0) {
        config_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 || strcmp(argv[i], "--non-default") == 0) {
            only_changed = true;
        } else {
            config_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    cfg_show(&g->cfg, stdout, only_changed);
    return CLI_EXIT_OK;
}

const struct cli_cmd cli_cmd_config = {
    "config",
    "show the effective configuration",
    config_run,
};
