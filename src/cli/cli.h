/*
 * cli.h - the `bounced` command line: one file per subcommand (cmd_<name>.c), each
 * exporting one `const struct cli_cmd cli_cmd_<name>`; main.c dispatches.
 *
 * Exit codes: 0 success, 1 the command ran and reports a negative result or partial
 * failure (documented per command), 2 usage error, 3 configuration or store failure.
 */
#ifndef BNC_CLI_CLI_H
#define BNC_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "bounced.h"
#include "core/cfg.h"

#define CLI_EXIT_OK     0
#define CLI_EXIT_NEG    1
#define CLI_EXIT_USAGE  2
#define CLI_EXIT_CONFIG 3

/* Global options, parsed by main.c before the subcommand. */
struct cli_globals {
    const char *config_path; /* --config FILE */
    const char *db_url;      /* --db URL (overrides store.url) */
    int64_t now;             /* --now / BOUNCED_NOW, 0 = real clock */
    bool verbose;
    struct bnc_config cfg;   /* defaults < file < environment < --db */
};

struct cli_cmd {
    const char *name;
    const char *summary; /* one line for `bounced --help` */
    /* argv[0] is the subcommand name; getopt state is reset before the call */
    int (*run)(struct cli_globals *g, int argc, char **argv);
};

/* Parse "2026-11-23", "2026-11-23T10:00:00Z" or Unix seconds; 0 ok. */
int cli_parse_time(const char *s, int64_t *out);
/* The clock: g->now when fixed, else time(NULL). */
int64_t cli_now(const struct cli_globals *g);
/* True when argv has -h/--help at [1]. */
bool cli_wants_help(int argc, char **argv);

#endif
