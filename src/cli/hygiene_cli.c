/*
 * hygiene_cli.c - helpers shared by the hygiene subcommands: store opening, the ctx with
 * the stored rules (as serve builds it), time and JSON/CSV output. What it does not do: parse arguments (each cmd_<name>.c does).
 * STANDARDS: RFC 4180 (CSV quoting), RFC 8259 (JSON strings), RFC 3339 (times).
 * LIMITS: none beyond the store's. Ownership: see hygiene_cli.h.
 */
#include "hygiene_cli.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "api/api.h"
#include "classify/classify.h"
#include "core/buf.h"

/* For a SQLite path, create its directory (one level, like ./var) when it is missing. */
static void
ensure_parent_dir(const char *url)
{
    char dir[1024];
    char *slash;

    if (url == NULL || strncmp(url, "postgres", 8) == 0 || strlen(url) >= sizeof(dir)) {
        return;
    }
    memcpy(dir, url, strlen(url) + 1);
    slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir) {
        return;
    }
    *slash = '\0';
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        return; /* store_open reports the real problem */
    }
}

int
hcli_open(struct cli_globals *g, struct store **st)
{
    char err[512];
    bnc_status rc;

    ensure_parent_dir(g->cfg.store_url);
    rc = store_open(g->cfg.store_url, &g->cfg, st, err, sizeof(err));
    if (rc != BNC_OK) {
        fprintf(stderr, "bounced: store %s: %s\n", g->cfg.store_url,
                err[0] ? err : bnc_strerror(rc));
        *st = NULL;
        return CLI_EXIT_CONFIG;
    }
    return CLI_EXIT_OK;
}

int
hcli_open_existing(struct cli_globals *g, struct store **st)
{
    const char *url = g->cfg.store_url;
    struct stat sb;

    *st = NULL;
    if (strncmp(url, "postgres", 8) != 0 && strcmp(url, ":memory:") != 0) {
        const char *path = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
        if (stat(path, &sb) != 0) {
            fprintf(stderr,
                    "bounced: store %s does not exist (check --db or store.url); nothing was "
                    "created\n",
                    path);
            return CLI_EXIT_CONFIG;
        }
    }
    return hcli_open(g, st);
}

void
hcli_policy(const struct cli_globals *g, struct policy_cfg *pc)
{
    policy_cfg_from_config(pc, &g->cfg);
}

int
hcli_ctx(struct cli_globals *g, struct store *st, const char *cmd, bnc_ctx **ctx)
{
    bnc_status rc;

    *ctx = NULL;
    if ((rc = bnc_ctx_new_config(&g->cfg, ctx)) != BNC_OK) {
        fprintf(stderr, "bounced: %s: %s\n", cmd, *ctx ? bnc_ctx_errmsg(*ctx) : bnc_strerror(rc));
        bnc_ctx_free(*ctx);
        *ctx = NULL;
        return CLI_EXIT_CONFIG;
    }
    if (st != NULL && (rc = api_rules_apply(st, *ctx)) != BNC_OK) {
        /* what serve does too: it keeps classifying with the rules it could build */
        fprintf(stderr, "bounced: %s: the stored rules (rules add) are not used: %s\n", cmd,
                rc == BNC_ESTORE || rc == BNC_EBUSY || rc == BNC_EIO ? store_errmsg(st)
                                                                      : bnc_ctx_errmsg(*ctx));
    }
    return CLI_EXIT_OK;
}

const char *
hcli_time(int64_t t, char buf[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t == 0 || gmtime_r(&tt, &tm) == NULL) {
        buf[0] = '-';
        buf[1] = '\0';
        return buf;
    }
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

void
hcli_json_str(FILE *fp, const char *s)
{
    struct buf b;

    buf_init(&b, 0);
    if (buf_add_json_str(&b, s ? s : "", s ? strlen(s) : 0) == BNC_OK) {
        fwrite(b.p, 1, b.len, fp);
    } else {
        fputs("\"\"", fp);
    }
    buf_free(&b);
}

void
hcli_csv_field(FILE *fp, const char *s)
{
    const char *p;

    if (s == NULL) {
        return;
    }
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (p = s; *p; p++) {
        if (*p == '"') {
            fputc('"', fp);
        }
        fputc(*p, fp);
    }
    fputc('"', fp);
}

void
hcli_store_err(struct store *st, const char *cmd, const char *what, bnc_status rc)
{
    const char *d = st ? store_errmsg(st) : "";
    fprintf(stderr, "bounced: %s: %s: %s%s%s\n", cmd, what, bnc_strerror(rc),
            d && d[0] && rc != BNC_ENOTFOUND && rc != BNC_EINVAL && rc != BNC_ECONFLICT ? ": " : "",
            d && d[0] && rc != BNC_ENOTFOUND && rc != BNC_EINVAL && rc != BNC_ECONFLICT ? d : "");
}

int
hcli_reason_address(int argc, char **argv, void (*usage)(FILE *), const char **reason,
                    const char **address)
{
    static const struct option opts[] = {
        {"reason", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    *reason = "manual";
    while ((c = getopt_long(argc, argv, "r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            *reason = optarg;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    *address = argv[optind];
    return -1;
}
