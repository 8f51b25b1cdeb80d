/*
 * cmd_rules_db.c - `bounced rules add|remove|list-db`: the classification rules stored in the
 * database (the same table the HTTP API's /api/v1/rules edits), dispatched from cmd_rules.c.
 *
 * add validates the line exactly as the API does (syntax, reason, pattern compiles) before
 * storing it. A running server picks changes up on its next rules reload (SIGHUP, or at once
 * when the change is made through the API). It does not edit rule files.
 * Exit: 0 done, 1 remove found no such rule, 2 usage error or bad rule, 3 store failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify/classify.h"
#include "cli.h"
#include "store/api_store.h"
#include "store/store.h"

int cli_rules_db(struct cli_globals *g, int argc, char **argv);

static void
rules_db_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced rules add 'RULE LINE' [NOTE]\n"
                "       bounced rules remove ID\n"
                "       bounced rules list-db\n\n"
                "Rules stored in the database are checked before the built-in ones, like\n"
                "rules.d files. Example: bounced rules add '550 5.7.1 Unfortunately ==> "
                "soft:blocked'\n");
}

int
cli_rules_db(struct cli_globals *g, int argc, char **argv)
{
    struct store *st = NULL;
    char err[512];
    bnc_status rc;
    int ret = CLI_EXIT_OK;

    if (argc < 2 || cli_wants_help(argc, argv)) {
        rules_db_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "add") == 0) {
        if (argc < 3 || argc > 4) {
            rules_db_usage(stderr);
            return CLI_EXIT_USAGE;
        }
        err[0] = '\0';
        if (strchr(argv[2], '\n') != NULL ||
            rules_check_line(argv[2], err, sizeof(err)) != BNC_OK) {
            fprintf(stderr, "bounced rules: bad rule: %s\n", err[0] ? err : "one line expected");
            return CLI_EXIT_USAGE;
        }
    } else if (strcmp(argv[1], "remove") == 0) {
        if (argc != 3) {
            rules_db_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    } else if (strcmp(argv[1], "list-db") != 0 || argc != 2) {
        rules_db_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    err[0] = '\0';
    if (store_open(g->cfg.store_url, &g->cfg, &st, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bounced rules: cannot open the store %s: %s\n", g->cfg.store_url, err);
        return CLI_EXIT_CONFIG;
    }
    if (strcmp(argv[1], "add") == 0) {
        int64_t id = 0;
        rc = api_rule_insert(st, argv[2], "cli", argc == 4 ? argv[3] : "", cli_now(g), &id);
        if (rc == BNC_OK) {
            printf("rule %lld added\n", (long long)id);
        } else {
            fprintf(stderr, "bounced rules: %s\n", store_errmsg(st));
            ret = CLI_EXIT_CONFIG;
        }
    } else if (strcmp(argv[1], "remove") == 0) {
        char *end = NULL;
        long long id = strtoll(argv[2], &end, 10);
        if (end == argv[2] || *end != '\0' || id <= 0) {
            fprintf(stderr, "bounced rules: remove takes a rule id (see list-db)\n");
            ret = CLI_EXIT_USAGE;
        } else if ((rc = api_rule_delete(st, (int64_t)id)) == BNC_ENOTFOUND) {
            fprintf(stderr, "bounced rules: no rule %lld\n", id);
            ret = CLI_EXIT_NEG;
        } else if (rc != BNC_OK) {
            fprintf(stderr, "bounced rules: %s\n", store_errmsg(st));
            ret = CLI_EXIT_CONFIG;
        } else {
            printf("rule %lld removed\n", id);
        }
    } else {
        struct api_rule_row *rows = NULL;
        size_t n = 0, i;
        rc = api_rule_list(st, &rows, &n);
        if (rc != BNC_OK) {
            fprintf(stderr, "bounced rules: %s\n", store_errmsg(st));
            ret = CLI_EXIT_CONFIG;
        }
        for (i = 0; i < n; i++) {
            printf("%lld\t%s%s%s\n", (long long)rows[i].id, rows[i].pattern,
                   rows[i].note[0] ? "\t# " : "", rows[i].note);
        }
        api_rule_rows_free(rows, n);
    }
    store_close(st);
    return ret;
}
