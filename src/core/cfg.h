/*
 * cfg.h - the one typed configuration table of bounced.
 *
 * Every setting, including every untrusted-input limit (DESIGN §9), is a row of the table in
 * cfg.c: name, type, default, bounds, field of struct bnc_config, whether SIGHUP reloads it.
 * The same table drives the INI file parser, BOUNCED_* environment overrides (the name
 * upper-cased with '.' as '_': smtp.listen -> BOUNCED_SMTP_LISTEN), `bounced config show [-n]`
 * and docs/config.md. Ownership: a struct bnc_config owns its strings; cfg_free() releases
 * them. Not thread-safe: build a config, then share it read-only.
 */
#ifndef BNC_CORE_CFG_H
#define BNC_CORE_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bounced.h"

struct bnc_config {
    /* limits: untrusted input (DESIGN §9) */
    size_t limit_message_size;  /* limits.message_size */
    size_t limit_header_block;  /* limits.header_block */
    int64_t limit_mime_depth;   /* limits.mime_depth */
    int64_t limit_mime_parts;   /* limits.mime_parts */
    size_t limit_boundary;      /* limits.boundary_length */
    int64_t limit_dsn_rcpts;    /* limits.dsn_recipients */
    size_t limit_diagnostic;    /* limits.diagnostic_length */
    size_t limit_report_memory; /* limits.report_memory */
    int64_t limit_json_depth;   /* limits.json_depth */
    size_t limit_webhook_body;  /* limits.webhook_body */

    /* policy (DESIGN §6) */
    int64_t policy_soft_threshold;  /* policy.soft_threshold */
    int64_t policy_soft_decay_days; /* policy.soft_decay_days */
    char *policy_address_reasons;   /* policy.address_reasons: comma list */
    char *policy_sender_reasons;    /* policy.sender_reasons: comma list */

    /* store */
    char *store_url;           /* store.url: path or postgresql://... */
    int64_t store_busy_timeout; /* store.busy_timeout_ms */

    /* rules */
    char *rules_dir;  /* rules.dir: directory of *.rules */
    char *rules_file; /* rules.file: one extra rules file */
    char *rules_cache_dir; /* rules.cache_dir: "auto", a directory, or "" (off) */

    /* smtp listener */
    char *smtp_listen;       /* smtp.listen */
    char *smtp_lmtp_listen;  /* smtp.lmtp_listen: host:port or unix:/path */
    char *smtp_domains;      /* smtp.domains: comma list of return-path domains */
    char *smtp_hostname;     /* smtp.hostname */
    size_t smtp_max_size;    /* smtp.max_message_size */
    int64_t smtp_max_rcpts;  /* smtp.max_recipients */
    int64_t smtp_max_conns;  /* smtp.max_connections */
    int64_t smtp_max_cmds;   /* smtp.max_commands */
    int64_t smtp_idle;       /* smtp.idle_timeout (seconds) */
    char *smtp_tls_cert;     /* smtp.tls_cert */
    char *smtp_tls_key;      /* smtp.tls_key */
    char *smtp_user;         /* smtp.user: drop root to this user after binding */

    /* spool and workers */
    char *spool_dir;         /* spool.dir */
    int64_t spool_keep_days; /* spool.keep_days */
    int64_t workers;         /* spool.workers: 0 = one per core */

    /* http */
    char *http_listen;        /* http.listen */
    int64_t http_threads;     /* http.threads: 0 = one per core */
    size_t http_body_limit;   /* http.body_limit */
    int64_t http_rate_limit;  /* http.rate_limit: requests/s per token, 0 = off */
    int64_t http_timeout;     /* http.timeout (seconds) */
    char *http_cors_origin;   /* http.cors_origin: "" = CORS off */
    char *http_metrics_token; /* http.metrics_token: "" = /metrics open */
    int64_t verify_ttl;       /* verify.ttl (seconds) */
    char *verify_base_url;    /* verify.base_url */

    /* mailbox scanning and periodic work */
    char *mailbox_source;     /* mailbox.source: mbox:PATH | maildir:PATH | imap(s)://... */
    int64_t mailbox_interval; /* mailbox.interval (seconds), 0 = off */
    char *mailbox_user;       /* mailbox.user */
    char *mailbox_password;   /* mailbox.password */
    int64_t sweep_interval;   /* sweep.interval (seconds) */

    /* logging */
    char *log_level; /* log.level: error|warn|info|debug */
    bool log_syslog; /* log.syslog */

    /* webhooks (POST /webhooks/{esp}) */
    char *webhook_token;           /* webhook.token: shared secret (Bearer or Basic password) */
    char *webhook_mailgun_key;     /* webhook.mailgun_signing_key */
    char *webhook_sendgrid_pubkey; /* webhook.sendgrid_public_key: base64 DER */
    int64_t webhook_max_age;       /* webhook.max_age: oldest signed timestamp accepted */
};

enum cfg_type { CFG_BOOL, CFG_INT, CFG_SIZE, CFG_DURATION, CFG_STRING, CFG_PATH };

struct cfg_param {
    const char *name;
    enum cfg_type type;
    const char *def; /* default, as text */
    int64_t min, max; /* bounds for INT, SIZE, DURATION */
    size_t offset;   /* into struct bnc_config */
    bool reloadable;
    bool secret; /* not printed by config show */
    const char *help;
};

const struct cfg_param *cfg_params(size_t *n_out);
const struct cfg_param *cfg_find(const char *name);

void cfg_init(struct bnc_config *c); /* all defaults */
void cfg_free(struct bnc_config *c);
void cfg_copy(struct bnc_config *dst, const struct bnc_config *src); /* deep */
/* Set one value from text; on error fills err (file:line context is the caller's). */
bnc_status cfg_set(struct bnc_config *c, const char *name, const char *value, char *err,
                   size_t errlen);
/* INI file: "[section]" then "key = value" gives section.key; unknown keys are errors. */
bnc_status cfg_load_file(struct bnc_config *c, const char *path, char *err, size_t errlen);
/* The same over INI text in memory (NUL-terminated); name stands for the file in messages. */
bnc_status cfg_load_text(struct bnc_config *c, const char *name, const char *text, char *err,
                         size_t errlen);
/* BOUNCED_* environment variables named after the table rows. */
bnc_status cfg_load_env(struct bnc_config *c, char *err, size_t errlen);
/* The value of one row as text (owned by the caller's buffer). */
void cfg_format(const struct bnc_config *c, const struct cfg_param *p, char *out, size_t outlen);
/* `config show`: every row as `name = value`, or only non-default ones. */
void cfg_show(const struct bnc_config *c, FILE *fp, bool only_changed);
/* Parse a size ("10M", "100k", "512") / duration ("30s", "5m", "2h", "7d"); 0 ok. */
int cfg_parse_size(const char *s, int64_t *out);
int cfg_parse_duration(const char *s, int64_t *out);
/* Is `item` in the comma-separated `list` (case-insensitive, spaces ignored)? */
bool cfg_list_has(const char *list, const char *item);

#endif
