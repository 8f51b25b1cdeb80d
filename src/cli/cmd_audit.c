/*
 * cmd_audit.c - `bounced audit list [ADDRESS]` and `bounced audit revert ID`: the hygiene
 * audit log (who, what, why, the deciding rule or status code, the raw bounce reference, the
 * state before and after) and its undo: a revert restores the contact's status and counts,
 * its suppression and its list memberships as they were before entry ID, and is itself
 * audited (actor "cli"). An entry that later entries on the same contact stand on is not
 * reverted alone: the command names them and fails, unless --cascade reverts them first,
 * newest first (one transaction: all or nothing).
 * Exit: 0 done, 1 no such entry, already reverted or has dependents, 2 usage error, 3 store
 * failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hygiene_cli.h"
#include "store/model.h"

static void
audit_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced audit list [ADDRESS]\n"
                "       bounced audit revert ID [--cascade]\n\n"
                "List hygiene changes (of one address, or all), or undo one: the contact's\n"
                "status, counts, suppression and list memberships go back to how they were.\n"
                "An entry later entries depend on is refused with their ids; --cascade reverts\n"
                "those first, newest first.\n");
}

static int
audit_row(void *ud, const struct model_audit *a)
{
    char when[32];
    int64_t *last = ud;

    printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", (long long)a->id,
           hcli_time(a->created_at, when), a->address, a->actor, a->action,
           a->reason[0] ? a->reason : "-", a->decided_by[0] ? a->decided_by : "-",
           a->ref[0] ? a->ref : "-", a->before, a->after);
    if (a->reverted_at) {
        printf("\treverted %s", hcli_time(a->reverted_at, when));
    } else if (a->reverts) {
        printf("\treverts #%lld", (long long)a->reverts);
    }
    putchar('\n');
    *last = a->id;
    return 0;
}

static int
audit_revert(struct cli_globals *g, long long id, bool cascade)
{
    struct store *st = NULL;
    struct model_revert rv;
    bnc_status rc;
    size_t i;
    int ex;

    if ((ex = hcli_open(g, &st)) != CLI_EXIT_OK) {
        return ex;
    }
    memset(&rv, 0, sizeof(rv));
    rv.cascade = cascade;
    rc = model_audit_revert(st, (int64_t)id, "cli", cli_now(g), &rv);
    if (rc == BNC_ECONFLICT && rv.ndeps > 0) {
        fprintf(stderr, "bounced: audit: entry %lld has %zu later entr%s that depend on it:", id,
                rv.ndeps, rv.ndeps == 1 ? "y" : "ies");
        for (i = 0; i < rv.ndeps && i < MODEL_REVERT_DEPS_SHOWN; i++) {
            fprintf(stderr, "%s %lld", i > 0 ? "," : "", (long long)rv.deps[i]);
        }
        fprintf(stderr, "%s\nrevert them first (newest first), or use --cascade\n",
                rv.ndeps > MODEL_REVERT_DEPS_SHOWN ? ", ..." : "");
        store_close(st);
        return CLI_EXIT_NEG;
    }
    if (rc == BNC_ENOTFOUND || rc == BNC_ECONFLICT || rc == BNC_ELIMIT) {
        fprintf(stderr, "bounced: audit: entry %lld %s\n", id,
                rc == BNC_ENOTFOUND ? "does not exist"
                : rc == BNC_ELIMIT  ? "has more dependents than one cascade reverts"
                                    : "is a revert or already reverted");
        store_close(st);
        return CLI_EXIT_NEG;
    }
    if (rc != BNC_OK) {
        hcli_store_err(st, "audit", "revert", rc);
        store_close(st);
        return CLI_EXIT_CONFIG;
    }
    store_close(st);
    printf("audit %lld reverted (entry %lld", id, (long long)rv.new_id);
    if (rv.reverted > 1) {
        printf(", with %zu later entries", rv.reverted - 1);
    }
    printf(")\n");
    return CLI_EXIT_OK;
}

static int
audit_run(struct cli_globals *g, int argc, char **argv)
{
    struct store *st = NULL;
    int64_t last = 0;
    bool cascade = false;
    size_t n = 0;
    bnc_status rc;
    char *end;
    long long id;
    int ex;

    if (cli_wants_help(argc, argv)) {
        audit_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "list") == 0 && argc <= 3) {
        if ((ex = hcli_open_existing(g, &st)) != CLI_EXIT_OK) {
            return ex;
        }
        printf("id\ttime\taddress\tactor\taction\treason\tdecided_by\tref\tbefore\tafter\n");
        do {
            rc = model_audit_list(st, argc == 3 ? argv[2] : NULL, last, 1000, audit_row, &last, &n);
        } while (rc == BNC_OK && n == 1000);
        if (rc != BNC_OK) {
            hcli_store_err(st, "audit", "list", rc);
            store_close(st);
            return rc == BNC_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_CONFIG;
        }
        store_close(st);
        return CLI_EXIT_OK;
    }
    if (argc == 4 && strcmp(argv[3], "--cascade") == 0) {
        cascade = true;
        argc--;
    } else if (argc == 4 && strcmp(argv[2], "--cascade") == 0) {
        cascade = true;
        argv[2] = argv[3];
        argc--;
    }
    if (argc != 3 || strcmp(argv[1], "revert") != 0) {
        audit_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    id = strtoll(argv[2], &end, 10);
    if (end == argv[2] || *end != '\0' || id <= 0) {
        audit_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    return audit_revert(g, id, cascade);
}

const struct cli_cmd cli_cmd_audit = {
    "audit",
    "list hygiene changes or revert one",
    audit_run,
};
