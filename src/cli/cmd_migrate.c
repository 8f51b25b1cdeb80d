/*
 * cmd_migrate.c - `bounced migrate [--status]`: apply the store's pending schema migrations
 * explicitly, or list which are applied and which are pending.
 *
 * Every command that opens the store applies pending migrations anyway; this command makes
 * it an explicit deployment step and shows the state. It does not roll migrations back.
 * Exit: 0 done (or, with --status, nothing pending), 1 with --status when migrations are
 * pending, 2 usage error, 3 configuration or store failure.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "store/store.h"

struct migrate_status {
    int pending;
    int applied;
};

static void
migrate_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced migrate [--status]\n\n"
                "Apply the pending schema migrations of the store (store.url or --db).\n"
                "Each migration runs in its own transaction; running it again does nothing.\n\n"
                "  --status   list applied and pending migrations; exit 1 if any is pending\n");
}

static void
status_line(void *ud, const struct store_migration_info *m)
{
    struct migrate_status *s = ud;
    char when[32] = "";
    struct tm tm;
    time_t t;

    if (m->applied) {
        t = (time_t)m->applied_at;
        if (gmtime_r(&t, &tm) != NULL) {
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        }
        s->applied++;
        printf("applied  %-40s %s%s\n", m->version, when,
               m->known ? "" : "  (not part of this build)");
    } else {
        s->pending++;
        printf("pending  %s\n", m->version);
    }
}

static int
migrate_run(struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"status", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct migrate_status s = {0, 0};
    struct store *st = NULL;
    bool status = false;
    char err[512];
    int c, applied = 0;
    bnc_status rc;

    while ((c = getopt_long(argc, argv, "sh", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            status = true;
            break;
        case 'h':
            migrate_usage(stdout);
            return CLI_EXIT_OK;
        default:
            migrate_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        migrate_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    rc = store_open_ex(g->cfg.store_url, &g->cfg, STORE_OPEN_NO_MIGRATE, &st, err, sizeof(err));
    if (rc != BNC_OK) {
        fprintf(stderr, "bounced: %s\n", err);
        return CLI_EXIT_CONFIG;
    }
    if (status) {
        rc = store_migrate_status(st, status_line, &s, err, sizeof(err));
    } else {
        rc = store_migrate_n(st, &applied, err, sizeof(err));
    }
    store_close(st);
    if (rc != BNC_OK) {
        fprintf(stderr, "bounced: %s\n", err);
        return CLI_EXIT_CONFIG;
    }
    if (status) {
        printf("%d applied, %d pending\n", s.applied, s.pending);
        return s.pending > 0 ? CLI_EXIT_NEG : CLI_EXIT_OK;
    }
    if (applied > 0) {
        printf("applied %d migration%s\n", applied, applied == 1 ? "" : "s");
    } else {
        printf("up to date\n");
    }
    return CLI_EXIT_OK;
}

const struct cli_cmd cli_cmd_migrate = {
    .name = "migrate",
    .summary = "apply pending store migrations (--status: list them)",
    .run = migrate_run,
};
