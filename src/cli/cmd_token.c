/*
 * cmd_token.c - `bounced token create|list|revoke`: the scoped bearer tokens of the HTTP API.
 *
 * create prints the token once (it is stored only as its SHA-256); a name is unique among
 * live tokens (the store refuses a second one) and is not a number (revoke would read it as
 * an id); list shows ids, names, scopes and use times, never a token; revoke takes an id or
 * a name; bootstrap creates the first admin token. It does not talk to a running server: a
 * revoked token stops working there within a few seconds (the server's token cache
 * lifetime).
 * Exit: 0 done, 1 revoke found nothing to revoke or create found the name taken, 2 usage
 * error, 3 configuration or store failure.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/auth.h"
#include "cli.h"
#include "store/api_store.h"
#include "store/store.h"

static void
token_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced token create --name NAME --scopes LIST\n"
                "       bounced token list\n"
                "       bounced token revoke ID|NAME\n"
                "       bounced token bootstrap\n\n"
                "Manage bearer tokens of the HTTP API. Scopes (comma list): contact:read,\n"
                "contact:write, bounce:write, admin (admin implies every scope).\n"
                "create prints the token once; only its SHA-256 is stored. NAME is unique\n"
                "among live tokens and not a number.\n"
                "bootstrap creates an admin token named \"admin\" only when no token exists yet\n"
                "(what `serve` does on first start); exit 1 when one exists.\n");
}

static struct store *
token_open(struct cli_globals *g)
{
    struct store *st = NULL;
    char err[512];

    err[0] = '\0';
    if (store_open(g->cfg.store_url, &g->cfg, &st, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bounced token: cannot open the store %s: %s\n", g->cfg.store_url, err);
        return NULL;
    }
    return st;
}

static int
token_create(struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"scopes", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *name = NULL, *scopes = NULL;
    char err[256], canon[128], tok[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_LEN + 1];
    unsigned bits = 0;
    struct store *st;
    int64_t id = 0;
    size_t i;
    int c;
    bnc_status rc;

    while ((c = getopt_long(argc, argv, "n:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            name = optarg;
            break;
        case 's':
            scopes = optarg;
            break;
        case 'h':
            token_usage(stdout);
            return CLI_EXIT_OK;
        default:
            token_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (name == NULL || scopes == NULL || optind != argc) {
        token_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (name[0] == '\0' || strlen(name) > API_TOKEN_NAME_MAX) {
        fprintf(stderr, "bounced token: --name must be 1..%d characters\n", API_TOKEN_NAME_MAX);
        return CLI_EXIT_USAGE;
    }
    for (i = 0; name[i] != '\0'; i++) {
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
            fprintf(stderr, "bounced token: --name must be printable\n");
            return CLI_EXIT_USAGE;
        }
    }
    if (strspn(name, "0123456789") == strlen(name)) {
        /* 'token revoke N' takes N as an id: a name of digits could never be revoked by name */
        fprintf(stderr, "bounced token: --name must not be a number (ids are numbers)\n");
        return CLI_EXIT_USAGE;
    }
    if (auth_scopes_parse(scopes, &bits, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bounced token: %s\n", err);
        return CLI_EXIT_USAGE;
    }
    auth_scopes_format(bits, canon, sizeof(canon));
    if ((st = token_open(g)) == NULL) {
        return CLI_EXIT_CONFIG;
    }
    if ((rc = auth_token_generate(tok, sizeof(tok))) != BNC_OK) {
        store_close(st);
        fprintf(stderr, "bounced token: no randomness available\n");
        return CLI_EXIT_CONFIG;
    }
    auth_sha256_hex(tok, strlen(tok), hash);
    rc = api_token_insert(st, name, hash, canon, cli_now(g), &id);
    if (rc == BNC_ECONFLICT) {
        fprintf(stderr,
                "bounced token: a live token is already named \"%s\"; revoke it first "
                "('bounced token revoke %s') or choose another name\n",
                name, name);
        store_close(st);
        return CLI_EXIT_NEG;
    }
    if (rc != BNC_OK) {
        fprintf(stderr, "bounced token: cannot store the token: %s\n", store_errmsg(st));
        store_close(st);
        return CLI_EXIT_CONFIG;
    }
    store_close(st);
    fprintf(stderr, "token %lld \"%s\" created with scopes %s; it is shown only now:\n",
            (long long)id, name, canon);
    printf("%s\n", tok);
    return CLI_EXIT_OK;
}

static void
token_fmt_time(int64_t t, char *out, size_t outlen)
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (t == 0 || gmtime_r(&tt, &tm) == NULL) {
        snprintf(out, outlen, "-");
        return;
    }
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
token_list_line(void *ud, const struct api_token_row *t)
{
    char created[32], used[32], revoked[32];

    (void)ud;
    token_fmt_time(t->created_at, created, sizeof(created));
    token_fmt_time(t->last_used_at, used, sizeof(used));
    token_fmt_time(t->revoked_at, revoked, sizeof(revoked));
    printf("%-5lld %-20s %-45s %-20s %-20s %s\n", (long long)t->id, t->name, t->scopes, created,
           used, t->revoked_at != 0 ? revoked : "active");
}

static int
token_list(struct cli_globals *g)
{
    struct store *st = token_open(g);
    bnc_status rc;

    if (st == NULL) {
        return CLI_EXIT_CONFIG;
    }
    printf("%-5s %-20s %-45s %-20s %-20s %s\n", "ID", "NAME", "SCOPES", "CREATED", "LAST USED",
           "REVOKED");
    rc = api_token_list(st, token_list_line, NULL);
    if (rc != BNC_OK) {
        fprintf(stderr, "bounced token: %s\n", store_errmsg(st));
    }
    store_close(st);
    return rc == BNC_OK ? CLI_EXIT_OK : CLI_EXIT_CONFIG;
}

static int
token_revoke(struct cli_globals *g, const char *what)
{
    struct store *st = token_open(g);
    int64_t n = 0;
    bnc_status rc;

    if (st == NULL) {
        return CLI_EXIT_CONFIG;
    }
    rc = api_token_revoke(st, what, cli_now(g), &n);
    if (rc != BNC_OK) {
        fprintf(stderr, "bounced token: %s\n", store_errmsg(st));
        store_close(st);
        return CLI_EXIT_CONFIG;
    }
    store_close(st);
    if (n == 0) {
        fprintf(stderr, "bounced token: no active token %s\n", what);
        return CLI_EXIT_NEG;
    }
    printf("revoked %lld token%s\n", (long long)n, n == 1 ? "" : "s");
    return CLI_EXIT_OK;
}

static int
token_bootstrap(struct cli_globals *g)
{
    struct store *st = token_open(g);
    char tok[AUTH_TOKEN_LEN + 1];
    bool made;

    if (st == NULL) {
        return CLI_EXIT_CONFIG;
    }
    made = api_bootstrap_admin_token(st, tok, sizeof(tok));
    store_close(st);
    if (!made) {
        fprintf(stderr, "bounced token: tokens exist already; nothing created\n");
        return CLI_EXIT_NEG;
    }
    fprintf(stderr, "admin token created; it is shown only now:\n");
    printf("%s\n", tok);
    return CLI_EXIT_OK;
}

static int
token_run(struct cli_globals *g, int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        token_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "create") == 0) {
        return token_create(g, argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "list") == 0 && argc == 2) {
        return token_list(g);
    }
    if (strcmp(argv[1], "bootstrap") == 0 && argc == 2) {
        return token_bootstrap(g);
    }
    if (strcmp(argv[1], "revoke") == 0 && argc == 3) {
        return token_revoke(g, argv[2]);
    }
    token_usage(stderr);
    return CLI_EXIT_USAGE;
}

const struct cli_cmd cli_cmd_token = {"token", "manage API tokens (create, list, revoke)",
                                      token_run};
