/*
 * main.c - `bounced`: global options, configuration loading, subcommand dispatch.
 *
 * Configuration precedence: built-in defaults < --config FILE (or ./bounced.conf when it
 * exists) < BOUNCED_* environment < command-line flags (--db).
 * Subcommands live in cmd_<name>.c; a subcommand that this build does not contain is
 * reported as such rather than failing at link time (weak references).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core/log.h"

#define CLI_CMD(n) extern const struct cli_cmd cli_cmd_##n __attribute__((weak))
CLI_CMD(parse);
CLI_CMD(process);
CLI_CMD(serve);
CLI_CMD(scan);
CLI_CMD(ingest);
CLI_CMD(webhook);
CLI_CMD(check);
CLI_CMD(contacts);
CLI_CMD(suppress);
CLI_CMD(unsuppress);
CLI_CMD(review);
CLI_CMD(rules);
CLI_CMD(token);
CLI_CMD(audit);
CLI_CMD(stats);
CLI_CMD(sweep);
CLI_CMD(config);
CLI_CMD(migrate);
CLI_CMD(outage);
CLI_CMD(alerts);
CLI_CMD(suppressions);
CLI_CMD(doctor);

struct cli_entry {
    const char *name;
    const struct cli_cmd *cmd;
};

static const struct cli_entry commands[] = {
    {"parse", &cli_cmd_parse},       {"process", &cli_cmd_process},
    {"serve", &cli_cmd_serve},       {"scan", &cli_cmd_scan},
    {"ingest", &cli_cmd_ingest},     {"webhook", &cli_cmd_webhook},
    {"check", &cli_cmd_check},       {"contacts", &cli_cmd_contacts},
    {"suppress", &cli_cmd_suppress}, {"unsuppress", &cli_cmd_unsuppress},
    {"review", &cli_cmd_review},     {"rules", &cli_cmd_rules},
    {"token", &cli_cmd_token},       {"audit", &cli_cmd_audit},
    {"stats", &cli_cmd_stats},       {"sweep", &cli_cmd_sweep},
    {"config", &cli_cmd_config},     {"migrate", &cli_cmd_migrate},
    {"outage", &cli_cmd_outage},     {"alerts", &cli_cmd_alerts},
    {"suppressions", &cli_cmd_suppressions},
    {"doctor", &cli_cmd_doctor},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *fp)
{
    size_t i;

    fprintf(fp, "usage: bounced [--config FILE] [--db URL] [--now TIME] COMMAND [ARGS]\n\n"
                "bounced receives bounces, works out per recipient what failed and why, and\n"
                "keeps contact records clean.\n\ncommands:\n");
    for (i = 0; i < NCOMMANDS; i++) {
        if (commands[i].cmd != NULL) {
            fprintf(fp, "  %-11s %s\n", commands[i].name, commands[i].cmd->summary);
        }
    }
    fprintf(fp, "\nglobal options:\n"
                "  -c, --config FILE  configuration file (INI; default ./bounced.conf if present)\n"
                "  -d, --db URL       store: SQLite path or postgresql://... (store.url)\n"
                "      --now TIME     fix the clock (tests, replays); also BOUNCED_NOW\n"
                "  -v, --verbose      debug logging\n"
                "  -h, --help         this help; `bounced COMMAND --help` for a command\n"
                "  -V, --version      print the version\n");
}

int
cli_parse_time(const char *s, int64_t *out)
{
    struct tm tm;
    char *end;
    long long v;

    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL) {
        memset(&tm, 0, sizeof(tm));
        end = strptime(s, "%Y-%m-%d", &tm);
    }
    if (end != NULL && (*end == '\0' || ((*end == 'Z' || *end == 'z') && end[1] == '\0'))) {
        *out = (int64_t)timegm(&tm);
        return 0;
    }
    v = strtoll(s, &end, 10);
    if (end != s && *end == '\0' && v >= 0) {
        *out = (int64_t)v;
        return 0;
    }
    return -1;
}

int64_t
cli_now(const struct cli_globals *g)
{
    return g->now ? g->now : (int64_t)time(NULL);
}

bool
cli_wants_help(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            return true;
        }
        if (strcmp(argv[i], "--") == 0) {
            break;
        }
    }
    return false;
}

/* The configuration (bounced.conf or --config, the environment, --db, BOUNCED_NOW) and the
 * log: -1 when all is well, else the exit code after saying why. */
static int
cli_configure(struct cli_globals *g)
{
    char err[512];
    const char *env_now;
    enum log_level lvl;

    if (g->config_path == NULL && access("bounced.conf", R_OK) == 0) {
        g->config_path = "bounced.conf";
    }
    if (g->config_path != NULL &&
        cfg_load_file(&g->cfg, g->config_path, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bounced: %s\n", err);
        return CLI_EXIT_CONFIG;
    }
    if (cfg_load_env(&g->cfg, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bounced: %s\n", err);
        return CLI_EXIT_CONFIG;
    }
    if (g->db_url != NULL && cfg_set(&g->cfg, "store.url", g->db_url, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bounced: %s\n", err);
        return CLI_EXIT_CONFIG;
    }
    if (g->now == 0 && (env_now = getenv("BOUNCED_NOW")) != NULL && env_now[0] != '\0') {
        if (cli_parse_time(env_now, &g->now) != 0) {
            fprintf(stderr, "bounced: BOUNCED_NOW: cannot parse '%s'\n", env_now);
            return CLI_EXIT_CONFIG;
        }
    }
    if (log_level_parse(g->cfg.log_level, &lvl) != 0) {
        fprintf(stderr, "bounced: log.level: unknown level '%s'\n", g->cfg.log_level);
        return CLI_EXIT_CONFIG;
    }
    log_init(g->cfg.log_syslog, g->verbose ? LOG_LVL_DEBUG : lvl, 0);
    return -1;
}

/* The library's diagnostics (bnc_set_message_handler): bad rules, on stderr. */
static void
cli_message(const char *where, const char *msg)
{
    fprintf(stderr, "bounced: rules: %s: %s\n", where, msg);
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"db", required_argument, NULL, 'd'},
        {"now", required_argument, NULL, 'n'},    {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct cli_globals g;
    size_t i;
    int c;

    bnc_set_message_handler(cli_message);
    memset(&g, 0, sizeof(g));
    cfg_init(&g.cfg);
    while ((c = getopt_long(argc, argv, "+c:d:vhV", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            g.config_path = optarg;
            break;
        case 'd':
            g.db_url = optarg;
            break;
        case 'n':
            if (cli_parse_time(optarg, &g.now) != 0) {
                fprintf(stderr, "bounced: --now: cannot parse '%s'\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'v':
            g.verbose = true;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        case 'V':
            printf("bounced %s\n", BOUNCED_VERSION);
            return CLI_EXIT_OK;
        default:
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }

    if ((c = cli_configure(&g)) >= 0) {
        return c;
    }

    for (i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[optind], commands[i].name) == 0) {
            int rc;
            if (commands[i].cmd == NULL) {
                fprintf(stderr, "bounced: '%s' is not part of this build\n", commands[i].name);
                return CLI_EXIT_USAGE;
            }
            argc -= optind;
            argv += optind;
            optind = 0; /* reset getopt for the subcommand (glibc: 0 re-initialises) */
            rc = commands[i].cmd->run(&g, argc, argv);
            cfg_free(&g.cfg);
            return rc;
        }
    }
    fprintf(stderr, "bounced: unknown command '%s' (see bounced --help)\n", argv[optind]);
    cfg_free(&g.cfg);
    return CLI_EXIT_USAGE;
}
