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

/* One log follower: the [logs.NAME] section (cfg_logs.c). */
struct cfg_log {
    char *name;          /* NAME: letters, digits, '-', '_' */
    char *path;          /* logs.NAME.path: the live file */
    char *format;        /* logs.NAME.format: pmta | pmta-fbl | maillog | exim */
    char *record_fields; /* logs.NAME.record_fields: PowerMTA layout, "" = the header row */
    char *rotated_dir;   /* logs.NAME.rotated_dir: "" = the directory of path */
};
#define CFG_LOGS_MAX 64

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
    char *store_url;            /* store.url: path or postgresql://... */
    int64_t store_busy_timeout; /* store.busy_timeout_ms */

    /* rules */
    char *rules_dir;       /* rules.dir: directory of *.rules */
    char *rules_file;      /* rules.file: one extra rules file */
    char *rules_cache_dir; /* rules.cache_dir: "auto", a directory, or "" (off) */

    /* smtp listener */
    char *smtp_listen;         /* smtp.listen */
    char *smtp_lmtp_listen;    /* smtp.lmtp_listen: host:port or unix:/path */
    char *smtp_domains;        /* smtp.domains: comma list of return-path domains */
    char *smtp_hostname;       /* smtp.hostname */
    size_t smtp_max_size;      /* smtp.max_message_size */
    int64_t smtp_max_rcpts;    /* smtp.max_recipients */
    int64_t smtp_max_conns;    /* smtp.max_connections */
    int64_t smtp_max_cmds;     /* smtp.max_commands */
    int64_t smtp_idle;         /* smtp.idle_timeout (seconds) */
    int64_t smtp_cmd_deadline; /* smtp.command_deadline (seconds) */
    int64_t smtp_txn_deadline; /* smtp.transaction_deadline (seconds) */
    int64_t smtp_max_per_ip;   /* smtp.max_connections_per_ip: 0 = off */
    char *smtp_per_ip_exempt;  /* smtp.connection_limit_exempt: addresses and CIDR prefixes */
    char *smtp_tls_cert;       /* smtp.tls_cert */
    char *smtp_tls_key;        /* smtp.tls_key */
    char *smtp_user;         /* smtp.user: drop root to this user after binding */

    /* spool and workers */
    char *spool_dir;         /* spool.dir */
    int64_t spool_keep_days; /* spool.keep_days */
    int64_t workers;         /* spool.workers: 0 = one per core */

    /* http */
    char *http_listen;            /* http.listen */
    int64_t http_threads;         /* http.threads: 0 = one per core */
    size_t http_body_limit;       /* http.body_limit */
    int64_t http_rate_limit;      /* http.rate_limit: requests/s per token, 0 = off */
    int64_t http_auth_fail_limit; /* http.auth_failure_limit: per address per minute, 0 = off */
    int64_t http_timeout;         /* http.timeout (seconds) */
    char *http_cors_origin;       /* http.cors_origin: "" = CORS off */
    int64_t verify_ttl;           /* verify.ttl (seconds) */
    char *verify_base_url;        /* verify.base_url */
    char *http_metrics_token; /* http.metrics_token: "" = /metrics open */

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
    char *webhook_sns_cert;        /* webhook.sns_certificate: PEM file of SNS signing certs */
    char *webhook_postmark_basic;  /* webhook.postmark_basic_auth: user:password */
    char *webhook_postmark_header; /* webhook.postmark_header: "Name: value" */
    char *webhook_sparkpost_basic; /* webhook.sparkpost_basic_auth: user:password */
    char *webhook_sparkpost_header; /* webhook.sparkpost_header: "Name: value" */

    /* log followers (`serve`) */
    bool follow_inotify;   /* follow.inotify: wake on inotify as well as every second */
    struct cfg_log *logs;  /* [logs.NAME] sections, in the order first named */
    size_t nlogs;

    /* guards (DESIGN §10, docs/guards.md) */
    bool guard_enabled;             /* guard.enabled */
    int64_t guard_window;           /* guard.window (seconds) */
    int64_t guard_min_count;        /* guard.min_count */
    int64_t guard_ratio;            /* guard.ratio */
    int64_t guard_baseline;         /* guard.baseline (seconds) */
    int64_t guard_decide_after;     /* guard.decide_after (seconds) */
    int64_t guard_max_hold;         /* guard.max_hold (seconds) */
    int64_t guard_reputation_min;   /* guard.reputation_min */
    char *guard_campaign_headers;   /* guard.campaign_headers: comma list */
    int64_t guard_spike_period;     /* guard.spike_period (seconds) */
    int64_t guard_complaint_bp;     /* guard.spike_complaint_bp: per 10,000 sends */
    int64_t guard_hard_bp;          /* guard.spike_hard_bp: per 10,000 bounces + sends */
    int64_t guard_complaints_abs;   /* guard.spike_complaints */
    int64_t guard_hard_abs;         /* guard.spike_hard */
    int64_t guard_alert_cooldown;   /* guard.alert_cooldown (seconds) */
    bool guard_pause_campaigns;     /* guard.pause_campaigns */
    char *alerts_webhook_url;       /* alerts.webhook_url */
    char *alerts_webhook_secret;    /* alerts.webhook_secret */
    int64_t alerts_max_attempts;    /* alerts.max_attempts */
    int64_t alerts_retry_base;      /* alerts.retry_base (seconds) */
    int64_t alerts_timeout;         /* alerts.timeout (seconds) */
    bool alerts_syslog;             /* alerts.syslog */

    /* suppression sync with ESPs (bounced suppressions sync ESP) */
    char *esp_ses_url;              /* esp.ses_url */
    char *esp_ses_region;           /* esp.ses_region */
    char *esp_ses_access_key;       /* esp.ses_access_key */
    char *esp_ses_secret_key;       /* esp.ses_secret_key */
    char *esp_sendgrid_url;         /* esp.sendgrid_url */
    char *esp_sendgrid_key;         /* esp.sendgrid_key */
    char *esp_mailgun_url;          /* esp.mailgun_url */
    char *esp_mailgun_domain;       /* esp.mailgun_domain */
    char *esp_mailgun_key;          /* esp.mailgun_key */
    char *esp_postmark_url;         /* esp.postmark_url */
    char *esp_postmark_token;       /* esp.postmark_token */
    char *esp_postmark_stream;      /* esp.postmark_stream */
};

enum cfg_type { CFG_BOOL, CFG_INT, CFG_SIZE, CFG_DURATION, CFG_STRING, CFG_PATH };

struct cfg_param {
    const char *name;
    enum cfg_type type;
    const char *def;  /* default, as text */
    int64_t min, max; /* bounds for INT, SIZE, DURATION */
    size_t offset;    /* into struct bnc_config */
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
/* The [logs.NAME] sections (cfg_logs.c): set "NAME.key" (path, format, record_fields,
 * rotated_dir); free; deep copy; print as `logs.NAME.key = value` lines. */
bnc_status cfg_logs_set(struct bnc_config *c, const char *name_key, const char *value, char *err,
                        size_t errlen);
void cfg_logs_free(struct bnc_config *c);
void cfg_logs_copy(struct bnc_config *dst, const struct bnc_config *src);
void cfg_logs_show(const struct bnc_config *c, FILE *fp);
/* Is `item` in the comma-separated `list` (case-insensitive, spaces ignored)? */
bool cfg_list_has(const char *list, const char *item);

#endif
