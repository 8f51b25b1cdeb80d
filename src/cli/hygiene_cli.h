/*
 * hygiene_cli.h - helpers shared by the hygiene subcommands (process, check, contacts,
 * suppress, unsuppress, review, audit, stats, sweep): opening the store named by the
 * configuration, time formatting and JSON/CSV output.
 * Ownership: the caller closes what hcli_open() returns with store_close().
 */
#ifndef BNC_CLI_HYGIENE_CLI_H
#define BNC_CLI_HYGIENE_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "hygiene/policy.h"
#include "store/store.h"

/* Open store.url (migrating it); prints the error and returns CLI_EXIT_CONFIG on failure. */
int hcli_open(struct cli_globals *g, struct store **st);
/* For read-only commands (check, stats, review list, contacts show/export, audit list): the
 * same, but a SQLite store that does not exist is refused (CLI_EXIT_CONFIG, says so) instead
 * of created: a mistyped --db must not answer "sendable" from an empty database. */
int hcli_open_existing(struct cli_globals *g, struct store **st);
void hcli_policy(const struct cli_globals *g, struct policy_cfg *pc);
/* The ctx of the commands that apply bounces (process, scan, ingest): the configuration's
 * rules plus those stored with `rules add` / the API, exactly as `serve` builds its ctx.
 * st may be NULL (no stored rules). Prints the error as "bounced: <cmd>: ..." and returns
 * CLI_EXIT_CONFIG on failure; the caller frees *ctx with bnc_ctx_free(). */
int hcli_ctx(struct cli_globals *g, struct store *st, const char *cmd, bnc_ctx **ctx);
/* "2026-11-23T10:00:00Z", or "-" for 0. */
const char *hcli_time(int64_t t, char buf[32]);
/* Write s as a JSON string literal / as one RFC 4180 CSV field. */
void hcli_json_str(FILE *fp, const char *s);
void hcli_csv_field(FILE *fp, const char *s);
/* Options of the commands that take `[--reason R] ADDRESS` (suppress, unsuppress): sets
 * *reason (default "manual") and *address. Returns -1 to go on, else the exit code (help
 * printed, or a usage error). usage() prints the command's help to the stream given. */
int hcli_reason_address(int argc, char **argv, void (*usage)(FILE *), const char **reason,
                        const char **address);
/* Print "bounced: <cmd>: <what>: <status>" with the store's detail. */
void hcli_store_err(struct store *st, const char *cmd, const char *what, bnc_status rc);

#endif
