/*
 * cfg.c - the typed configuration table and its parsers (INI via inih, environment).
 *
 * Each row names one setting; nothing else in bounced reads configuration from anywhere but
 * a struct bnc_config filled here. Limits are validated against min/max on every path (file,
 * environment, CLI) so a typo cannot disable a bound on untrusted input.
 */
#include "cfg.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"

#define KIB ((int64_t)1024)
#define MIB ((int64_t)1024 * 1024)
#define GIB ((int64_t)1024 * 1024 * 1024)
#define DAY ((int64_t)86400)

#define OFF(f) offsetof(struct bnc_config, f)

#define ADDRESS_REASONS                                                                        \
    "mailboxfull,suspend,expired,systemerror,systemfull,networkerror,mailererror,exceedlimit," \
    "filtered,suppressed,notaccept"
#define SENDER_REASONS                                                                       \
    "blocked,rejected,badreputation,spamdetected,virusdetected,policyviolation,authfailure," \
    "requireptr,securityerror,failedstarttls,contenterror,notcompliantrfc,mesgtoobig,"       \
    "norelaying,syntaxerror,speeding,toomanyconn"

/* clang-format off */
static const struct cfg_param params[] = {
    /* limits (DESIGN §9): every one has a test at the bound and one past it */
    {"limits.message_size", CFG_SIZE, "10M", 1024, 1 * GIB, OFF(limit_message_size), true, false,
     "largest message parsed; larger input is refused with BNC_ELIMIT"},
    {"limits.header_block", CFG_SIZE, "100k", 1024, 64 * MIB, OFF(limit_header_block), true, false,
     "largest header block of one MIME entity; the rest is cut and flagged"},
    {"limits.mime_depth", CFG_INT, "32", 1, 1024, OFF(limit_mime_depth), true, false,
     "deepest multipart/message nesting walked"},
    {"limits.mime_parts", CFG_INT, "100", 1, 100000, OFF(limit_mime_parts), true, false,
     "most MIME parts walked in one message"},
    {"limits.boundary_length", CFG_SIZE, "2048", 70, 65536, OFF(limit_boundary), true, false,
     "longest multipart boundary accepted"},
    {"limits.dsn_recipients", CFG_INT, "1000", 1, 1000000, OFF(limit_dsn_rcpts), true, false,
     "most recipients taken from one bounce message; one with more is refused whole (held), "
     "never cut (webhooks and logs are not limited by it)"},
    {"limits.diagnostic_length", CFG_SIZE, "4096", 64, 1 * MIB, OFF(limit_diagnostic), true, false,
     "longest diagnostic text kept per recipient"},
    {"limits.report_memory", CFG_SIZE, "64M", 1 * MIB, 4 * GIB, OFF(limit_report_memory), true,
     false, "memory one parsed message may use (its arena cap)"},
    {"limits.json_depth", CFG_INT, "32", 2, 1024, OFF(limit_json_depth), true, false,
     "deepest JSON nesting accepted in API and webhook bodies"},
    {"limits.webhook_body", CFG_SIZE, "1M", 1024, 1 * GIB, OFF(limit_webhook_body), true, false,
     "largest webhook body accepted"},

    /* hygiene policy (DESIGN §6) */
    {"policy.soft_threshold", CFG_INT, "3", 1, 1000, OFF(policy_soft_threshold), true, false,
     "soft strikes (days) after which a contact is treated as hard bounced"},
    {"policy.soft_decay_days", CFG_INT, "30", 1, 3650, OFF(policy_soft_decay_days), true, false,
     "quiet days after which the soft count resets and the contact is ACTIVE again"},
    {"policy.address_reasons", CFG_STRING, ADDRESS_REASONS, 0, 0, OFF(policy_address_reasons),
     true, false, "soft reasons that count a strike against the address"},
    {"policy.sender_reasons", CFG_STRING, SENDER_REASONS, 0, 0, OFF(policy_sender_reasons), true,
     false, "soft reasons that are the sender's problem: recorded, never penalised"},

    /* store */
    {"store.url", CFG_STRING, "./var/bounced.db", 0, 0, OFF(store_url), false, false,
     "database: a SQLite path or postgresql://..."},
    {"store.busy_timeout_ms", CFG_INT, "5000", 0, 600000, OFF(store_busy_timeout), false, false,
     "SQLite busy timeout"},

    /* rules */
    {"rules.dir", CFG_PATH, "rules.d", 0, 0, OFF(rules_dir), true, false,
     "directory of user *.rules files, checked before the built-in rules"},
    {"rules.file", CFG_PATH, "", 0, 0, OFF(rules_file), true, false,
     "one more user rules file"},
    {"rules.cache_dir", CFG_PATH, "auto", 0, 0, OFF(rules_cache_dir), true, false,
     "compiled rule databases are kept here so a start skips the compile; auto = "
     "$XDG_CACHE_HOME/bounced or ~/.cache/bounced, empty = off"},

    /* smtp */
    {"smtp.listen", CFG_STRING, "127.0.0.1:2525", 0, 0, OFF(smtp_listen), false, false,
     "SMTP listen address (host:port); empty = off"},
    {"smtp.lmtp_listen", CFG_STRING, "", 0, 0, OFF(smtp_lmtp_listen), false, false,
     "LMTP listen address (host:port or unix:/path); empty = off"},
    {"smtp.domains", CFG_STRING, "", 0, 0, OFF(smtp_domains), true, false,
     "return-path domains mail is accepted for (comma list); empty = any local part of localhost"},
    {"smtp.hostname", CFG_STRING, "", 0, 0, OFF(smtp_hostname), false, false,
     "name in the greeting; empty = the host name"},
    {"smtp.max_message_size", CFG_SIZE, "10M", 1024, 1 * GIB, OFF(smtp_max_size), true, false,
     "SIZE limit announced and enforced (552 past it)"},
    {"smtp.max_recipients", CFG_INT, "100", 1, 100000, OFF(smtp_max_rcpts), true, false,
     "recipients per transaction"},
    {"smtp.max_connections", CFG_INT, "1000", 1, 100000, OFF(smtp_max_conns), true, false,
     "concurrent SMTP connections"},
    {"smtp.max_commands", CFG_INT, "1000", 10, 1000000, OFF(smtp_max_cmds), true, false,
     "commands per connection"},
    {"smtp.idle_timeout", CFG_DURATION, "5m", 1, DAY, OFF(smtp_idle), true, false,
     "idle time before a connection is closed"},
    {"smtp.command_deadline", CFG_DURATION, "5m", 1, DAY, OFF(smtp_cmd_deadline), true, false,
     "time a client has for each command line, from the reply before it to its end, however "
     "slowly the bytes trickle in (421 4.4.2 and close past it)"},
    {"smtp.transaction_deadline", CFG_DURATION, "10m", 1, DAY, OFF(smtp_txn_deadline), true,
     false, "time from MAIL FROM to the end of the data (421 4.4.2 and close past it)"},
    {"smtp.max_connections_per_ip", CFG_INT, "50", 0, 100000, OFF(smtp_max_per_ip), true, false,
     "concurrent connections from one client address (an IPv6 client by its /64); 0 = off"},
    {"smtp.connection_limit_exempt", CFG_STRING, "127.0.0.0/8, ::1", 0, 0,
     OFF(smtp_per_ip_exempt), true, false,
     "addresses and CIDR prefixes (comma list) not held to smtp.max_connections_per_ip, "
     "such as the MTA relaying to bounced"},
    {"smtp.tls_cert", CFG_PATH, "", 0, 0, OFF(smtp_tls_cert), false, false,
     "PEM certificate; STARTTLS is offered when set"},
    {"smtp.tls_key", CFG_PATH, "", 0, 0, OFF(smtp_tls_key), false, true, "PEM private key"},
    {"smtp.user", CFG_STRING, "", 0, 0, OFF(smtp_user), false, false,
     "started as root: serve works as this user and gives root up right after binding the "
     "listeners; empty = stay who started it (a systemd unit sets User= instead)"},

    /* spool and workers */
    {"spool.dir", CFG_PATH, "./var/spool", 0, 0, OFF(spool_dir), false, false,
     "durable spool directory"},
    {"spool.keep_days", CFG_INT, "7", 0, 3650, OFF(spool_keep_days), true, false,
     "days processed messages are kept; 0 = delete at once"},
    {"spool.workers", CFG_INT, "0", 0, 256, OFF(workers), false, false,
     "worker threads; 0 = one per core"},

    /* http */
    {"http.listen", CFG_STRING, "127.0.0.1:8025", 0, 0, OFF(http_listen), false, false,
     "HTTP API and dashboard listen address; empty = off"},
    {"http.threads", CFG_INT, "0", 0, 256, OFF(http_threads), false, false,
     "HTTP thread pool; 0 = one per core"},
    {"http.body_limit", CFG_SIZE, "1M", 1024, 1 * GIB, OFF(http_body_limit), true, false,
     "largest request body (413 past it)"},
    {"http.rate_limit", CFG_INT, "0", 0, 10000000, OFF(http_rate_limit), true, false,
     "requests per second per token; 0 = unlimited"},
    {"http.auth_failure_limit", CFG_INT, "30", 0, 1000000, OFF(http_auth_fail_limit), true, false,
     "failed authentications per minute from one client address (an IPv6 client by its /64) "
     "before its requests get 429; 0 = unlimited"},
    {"http.timeout", CFG_DURATION, "30s", 1, 3600, OFF(http_timeout), false, false,
     "request timeout"},
    {"http.cors_origin", CFG_STRING, "", 0, 0, OFF(http_cors_origin), true, false,
     "allowed CORS origin; empty = CORS off"},
    {"http.metrics_token", CFG_STRING, "", 0, 0, OFF(http_metrics_token), false, true,
     "when set, GET /metrics wants Authorization: Bearer with this secret; empty = open"},
    {"verify.ttl", CFG_DURATION, "7d", 60, 365 * DAY, OFF(verify_ttl), true, false,
     "lifetime of a re-verification link"},
    {"verify.base_url", CFG_STRING, "http://127.0.0.1:8025", 0, 0, OFF(verify_base_url), true,
     false, "base of the re-verification links"},

    /* mailbox scanning and periodic work */
    {"mailbox.source", CFG_STRING, "", 0, 0, OFF(mailbox_source), true, false,
     "mailbox scanned by serve: mbox:PATH, maildir:PATH, imap://... or imaps://..."},
    {"mailbox.interval", CFG_DURATION, "0", 0, 30 * DAY, OFF(mailbox_interval), true, false,
     "seconds between mailbox scans; 0 = off"},
    {"mailbox.user", CFG_STRING, "", 0, 0, OFF(mailbox_user), true, false, "IMAP user"},
    {"mailbox.password", CFG_STRING, "", 0, 0, OFF(mailbox_password), true, true,
     "IMAP password"},
    {"sweep.interval", CFG_DURATION, "1h", 0, 30 * DAY, OFF(sweep_interval), true, false,
     "seconds between decay sweeps; 0 = off"},

    /* logging */
    {"log.level", CFG_STRING, "info", 0, 0, OFF(log_level), true, false,
     "error, warn, info or debug"},
    {"log.syslog", CFG_BOOL, "no", 0, 0, OFF(log_syslog), false, false,
     "log to syslog instead of stderr"},

    /* webhooks: every request must prove itself (a vendor signature or the shared token) */
    {"webhook.token", CFG_STRING, "", 0, 0, OFF(webhook_token), true, true,
     "shared secret for POST /webhooks/{esp}: Authorization Bearer, or the Basic-auth password"},
    {"webhook.mailgun_signing_key", CFG_STRING, "", 0, 0, OFF(webhook_mailgun_key), true, true,
     "Mailgun webhook signing key (HMAC check of every Mailgun call)"},
    {"webhook.sendgrid_public_key", CFG_STRING, "", 0, 0, OFF(webhook_sendgrid_pubkey), true,
     false, "SendGrid signed-webhook verification key (base64 DER)"},
    {"webhook.max_age", CFG_DURATION, "10m", 1, DAY, OFF(webhook_max_age), true, false,
     "oldest signature timestamp accepted (replay window)"},
    {"webhook.sns_certificate", CFG_PATH, "", 0, 0, OFF(webhook_sns_cert), true, false,
     "PEM file of the SNS signing certificate(s): SES-over-SNS messages must be signed by one"},
    {"webhook.postmark_basic_auth", CFG_STRING, "", 0, 0, OFF(webhook_postmark_basic), true, true,
     "user:password of the Postmark webhook URL (https://user:password@host/webhooks/postmark)"},
    {"webhook.postmark_header", CFG_STRING, "", 0, 0, OFF(webhook_postmark_header), true, true,
     "\"Name: value\" custom header every Postmark call must carry"},
    {"webhook.sparkpost_basic_auth", CFG_STRING, "", 0, 0, OFF(webhook_sparkpost_basic), true,
     true, "user:password of the SparkPost webhook's basic authentication"},
    {"webhook.sparkpost_header", CFG_STRING, "", 0, 0, OFF(webhook_sparkpost_header), true, true,
     "\"Name: value\" custom header every SparkPost call must carry"},

    /* log followers: [logs.NAME] sections (path, format, record_fields, rotated_dir) */
    {"follow.inotify", CFG_BOOL, "yes", 0, 0, OFF(follow_inotify), false, false,
     "wake the log followers on inotify as well as once a second (no: poll only)"},

    /* guards (DESIGN §10): outages, spike alerts; defaults explained in docs/guards.md */
    {"guard.enabled", CFG_BOOL, "yes", 0, 0, OFF(guard_enabled), true, false,
     "hold the penalties of a burst of hard bounces at one domain (an outage)"},
    {"guard.window", CFG_DURATION, "10m", 60, DAY, OFF(guard_window), true, false,
     "window in which a burst of hard bounces at one domain is counted"},
    {"guard.min_count", CFG_INT, "50", 2, 10000000, OFF(guard_min_count), true, false,
     "hard bounces at one domain within guard.window before it can be an outage"},
    {"guard.ratio", CFG_INT, "10", 1, 100000, OFF(guard_ratio), true, false,
     "times the domain's usual hard bounces per window that make a burst"},
    {"guard.baseline", CFG_DURATION, "7d", 3600, 90 * DAY, OFF(guard_baseline), true, false,
     "history before the window that gives a domain's usual rate"},
    {"guard.decide_after", CFG_DURATION, "1d", 0, 90 * DAY, OFF(guard_decide_after), true,
     false, "after a domain recovered: how long held addresses are watched before deciding"},
    {"guard.max_hold", CFG_DURATION, "3d", 3600, 365 * DAY, OFF(guard_max_hold), true, false,
     "a burst that lasts this long is no outage: the held penalties are applied"},
    {"guard.reputation_min", CFG_INT, "50", 2, 10000000, OFF(guard_reputation_min), true, false,
     "sender-side refusals at one domain within guard.window that raise a reputation alert"},
    {"guard.campaign_headers", CFG_STRING, "X-Campaign-ID,X-Campaign,X-Mailer-Campaign,List-Id",
     0, 0, OFF(guard_campaign_headers), true, false,
     "headers of the returned message that name its campaign (first one found wins)"},
    {"guard.spike_period", CFG_DURATION, "1h", 60, 7 * DAY, OFF(guard_spike_period), true,
     false, "period over which bounce and complaint rates are computed"},
    {"guard.spike_complaint_bp", CFG_INT, "10", 1, 10000, OFF(guard_complaint_bp), true, false,
     "complaints per 10,000 sends that raise an alert (10 = 0.1%)"},
    {"guard.spike_hard_bp", CFG_INT, "200", 1, 10000, OFF(guard_hard_bp), true, false,
     "hard bounces per 10,000 bounces plus sends that raise an alert (200 = 2%)"},
    {"guard.spike_complaints", CFG_INT, "10", 1, 10000000, OFF(guard_complaints_abs), true,
     false, "complaints per period that raise an alert when no send counts were posted"},
    {"guard.spike_hard", CFG_INT, "100", 1, 10000000, OFF(guard_hard_abs), true, false,
     "hard bounces per period that raise an alert when no send counts were posted"},
    {"guard.alert_cooldown", CFG_DURATION, "1d", 60, 30 * DAY, OFF(guard_alert_cooldown), true,
     false, "one alert per campaign, domain and metric within this time"},
    {"guard.pause_campaigns", CFG_BOOL, "yes", 0, 0, OFF(guard_pause_campaigns), true, false,
     "campaign alerts ask the sender's system to pause the campaign (\"request\": \"pause\")"},
    {"alerts.webhook_url", CFG_STRING, "", 0, 0, OFF(alerts_webhook_url), true, false,
     "URL alerts are POSTed to (signed); empty = syslog and metrics only"},
    {"alerts.webhook_secret", CFG_STRING, "", 0, 0, OFF(alerts_webhook_secret), true, true,
     "shared secret of the X-Bounced-Signature HMAC-SHA256"},
    {"alerts.max_attempts", CFG_INT, "8", 1, 100, OFF(alerts_max_attempts), true, false,
     "deliveries tried before an alert goes to the dead-letter list"},
    {"alerts.retry_base", CFG_DURATION, "30s", 1, DAY, OFF(alerts_retry_base), true, false,
     "first retry delay; doubled after every failure (capped at 1h)"},
    {"alerts.timeout", CFG_DURATION, "10s", 1, 600, OFF(alerts_timeout), true, false,
     "time one delivery may take"},
    {"alerts.syslog", CFG_BOOL, "yes", 0, 0, OFF(alerts_syslog), true, false,
     "write every alert to syslog (LOG_MAIL, warning)"},

    /* suppression sync with the ESPs' APIs (docs/guards.md) */
    {"esp.ses_url", CFG_STRING, "https://email.us-east-1.amazonaws.com", 0, 0, OFF(esp_ses_url),
     true, false, "SES API v2 endpoint"},
    {"esp.ses_region", CFG_STRING, "us-east-1", 0, 0, OFF(esp_ses_region), true, false,
     "SES region (AWS Signature Version 4)"},
    {"esp.ses_access_key", CFG_STRING, "", 0, 0, OFF(esp_ses_access_key), true, false,
     "SES access key id"},
    {"esp.ses_secret_key", CFG_STRING, "", 0, 0, OFF(esp_ses_secret_key), true, true,
     "SES secret access key"},
    {"esp.sendgrid_url", CFG_STRING, "https://api.sendgrid.com", 0, 0, OFF(esp_sendgrid_url),
     true, false, "SendGrid v3 API endpoint"},
    {"esp.sendgrid_key", CFG_STRING, "", 0, 0, OFF(esp_sendgrid_key), true, true,
     "SendGrid API key (Bearer)"},
    {"esp.mailgun_url", CFG_STRING, "https://api.mailgun.net", 0, 0, OFF(esp_mailgun_url), true,
     false, "Mailgun API endpoint (https://api.eu.mailgun.net in the EU)"},
    {"esp.mailgun_domain", CFG_STRING, "", 0, 0, OFF(esp_mailgun_domain), true, false,
     "Mailgun sending domain whose bounce list is synced"},
    {"esp.mailgun_key", CFG_STRING, "", 0, 0, OFF(esp_mailgun_key), true, true,
     "Mailgun private API key (Basic auth, user api)"},
    {"esp.postmark_url", CFG_STRING, "https://api.postmarkapp.com", 0, 0, OFF(esp_postmark_url),
     true, false, "Postmark API endpoint"},
    {"esp.postmark_token", CFG_STRING, "", 0, 0, OFF(esp_postmark_token), true, true,
     "Postmark server token"},
    {"esp.postmark_stream", CFG_STRING, "outbound", 0, 0, OFF(esp_postmark_stream), true, false,
     "Postmark message stream whose suppressions are synced"},
};
/* clang-format on */

#define NPARAMS (sizeof(params) / sizeof(params[0]))

/* The field of a row in a config; through void * so no cast changes alignment (offsetof
 * of a correctly typed member is aligned for it). */
static void *
cfg_field(struct bnc_config *c, const struct cfg_param *p)
{
    return (char *)c + p->offset;
}

static const void *
cfg_cfield(const struct bnc_config *c, const struct cfg_param *p)
{
    return (const char *)c + p->offset;
}

const struct cfg_param *
cfg_params(size_t *n_out)
{
    *n_out = NPARAMS;
    return params;
}

const struct cfg_param *
cfg_find(const char *name)
{
    size_t i;
    for (i = 0; i < NPARAMS; i++) {
        if (strcasecmp(params[i].name, name) == 0) {
            return &params[i];
        }
    }
    return NULL;
}

int
cfg_parse_size(const char *s, int64_t *out)
{
    char *end;
    long long v;
    int64_t mul = 1;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || errno != 0 || v < 0) {
        return -1;
    }
    while (*end == ' ') {
        end++;
    }
    switch (tolower((unsigned char)*end)) {
    case '\0':
        break;
    case 'k':
        mul = KIB;
        end++;
        break;
    case 'm':
        mul = MIB;
        end++;
        break;
    case 'g':
        mul = GIB;
        end++;
        break;
    default:
        return -1;
    }
    if (*end == 'b' || *end == 'B') {
        end++;
    }
    if (*end != '\0' || v > INT64_MAX / mul) {
        return -1;
    }
    *out = (int64_t)v * mul;
    return 0;
}

int
cfg_parse_duration(const char *s, int64_t *out)
{
    char *end;
    long long v;
    int64_t mul = 1;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || errno != 0 || v < 0) {
        return -1;
    }
    switch (*end) {
    case '\0':
    case 's':
        break;
    case 'm':
        mul = 60;
        break;
    case 'h':
        mul = 3600;
        break;
    case 'd':
        mul = DAY;
        break;
    default:
        return -1;
    }
    if (*end != '\0' && end[1] != '\0') {
        return -1;
    }
    if (v > INT64_MAX / mul) {
        return -1;
    }
    *out = (int64_t)v * mul;
    return 0;
}

static int
cfg_parse_bool(const char *s, bool *out)
{
    if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcasecmp(s, "on") ||
        !strcmp(s, "1")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcasecmp(s, "off") ||
        !strcmp(s, "0")) {
        *out = false;
        return 0;
    }
    return -1;
}

static bnc_status
cfg_apply(struct bnc_config *c, const struct cfg_param *p, const char *value, char *err,
          size_t errlen)
{
    int64_t v = 0;
    bool b;
    int r = 0;

    switch (p->type) {
    case CFG_BOOL:
        if (cfg_parse_bool(value, &b) != 0) {
            snprintf(err, errlen, "%s: expected yes or no, got '%s'", p->name, value);
            return BNC_ECONFIG;
        }
        *(bool *)cfg_field(c, p) = b;
        return BNC_OK;
    case CFG_STRING:
    case CFG_PATH: {
        char **sp = cfg_field(c, p);
        free(*sp);
        *sp = xstrdup(value);
        return BNC_OK;
    }
    case CFG_INT: {
        char *end;
        long long ll;
        errno = 0;
        ll = strtoll(value, &end, 10);
        r = (end == value || *end != '\0' || errno != 0) ? -1 : 0;
        v = ll;
        break;
    }
    case CFG_SIZE:
        r = cfg_parse_size(value, &v);
        break;
    case CFG_DURATION:
        r = cfg_parse_duration(value, &v);
        break;
    }
    if (r != 0) {
        snprintf(err, errlen, "%s: cannot parse '%s'", p->name, value);
        return BNC_ECONFIG;
    }
    if (v < p->min || v > p->max) {
        snprintf(err, errlen, "%s: %lld is out of range [%lld, %lld]", p->name, (long long)v,
                 (long long)p->min, (long long)p->max);
        return BNC_ECONFIG;
    }
    if (p->type == CFG_SIZE) {
        *(size_t *)cfg_field(c, p) = (size_t)v;
    } else {
        *(int64_t *)cfg_field(c, p) = v;
    }
    return BNC_OK;
}

void
cfg_init(struct bnc_config *c)
{
    size_t i;
    char err[256];

    memset(c, 0, sizeof(*c));
    for (i = 0; i < NPARAMS; i++) {
        if (cfg_apply(c, &params[i], params[i].def, err, sizeof(err)) != BNC_OK) {
            fprintf(stderr, "bounced: internal: bad default: %s\n", err);
            abort();
        }
    }
}

void
cfg_free(struct bnc_config *c)
{
    size_t i;
    for (i = 0; i < NPARAMS; i++) {
        if (params[i].type == CFG_STRING || params[i].type == CFG_PATH) {
            char **sp = cfg_field(c, &params[i]);
            free(*sp);
            *sp = NULL;
        }
    }
    cfg_logs_free(c);
}

void
cfg_copy(struct bnc_config *dst, const struct bnc_config *src)
{
    size_t i;
    memcpy(dst, src, sizeof(*dst));
    for (i = 0; i < NPARAMS; i++) {
        if (params[i].type == CFG_STRING || params[i].type == CFG_PATH) {
            char *const *sp = cfg_cfield(src, &params[i]);
            char **dp = cfg_field(dst, &params[i]);
            *dp = *sp ? xstrdup(*sp) : NULL;
        }
    }
    cfg_logs_copy(dst, src);
}

bnc_status
cfg_set(struct bnc_config *c, const char *name, const char *value, char *err, size_t errlen)
{
    const struct cfg_param *p = cfg_find(name);
    if (p == NULL && strncasecmp(name, "logs.", 5) == 0) {
        return cfg_logs_set(c, name + 5, value, err, errlen);
    }
    if (p == NULL) {
        snprintf(err, errlen, "unknown setting '%.200s'", name);
        return BNC_ECONFIG;
    }
    return cfg_apply(c, p, value, err, errlen);
}

struct cfg_ini_state {
    struct bnc_config *c;
    char *err;
    size_t errlen;
    bnc_status rc;
    const char *path;
};

static bnc_status cfg_ini_done(struct cfg_ini_state *st, int r);

static int
cfg_ini_cb(void *user, const char *section, const char *name, const char *value)
{
    struct cfg_ini_state *st = user;
    char full[256], e[256];

    if (section != NULL && section[0] != '\0') {
        snprintf(full, sizeof(full), "%.120s.%.120s", section, name);
    } else {
        snprintf(full, sizeof(full), "%s", name);
    }
    if (cfg_set(st->c, full, value, e, sizeof(e)) != BNC_OK) {
        if (st->rc == BNC_OK) {
            snprintf(st->err, st->errlen, "%.200s: [%.60s] %.200s", st->path,
                     section ? section : "", e);
            st->rc = BNC_ECONFIG;
        }
    }
    return 1;
}

bnc_status
cfg_load_file(struct bnc_config *c, const char *path, char *err, size_t errlen)
{
    struct cfg_ini_state st = {c, err, errlen, BNC_OK, path};
    FILE *fp = fopen(path, "r");
    int r;

    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return BNC_ECONFIG;
    }
    r = ini_parse_file(fp, cfg_ini_cb, &st);
    fclose(fp);
    return cfg_ini_done(&st, r);
}

bnc_status
cfg_load_text(struct bnc_config *c, const char *name, const char *text, char *err, size_t errlen)
{
    struct cfg_ini_state st = {c, err, errlen, BNC_OK, name};

    return cfg_ini_done(&st, ini_parse_string(text, cfg_ini_cb, &st));
}

/* After inih returned r (0, or the first line with a syntax error): the status. */
static bnc_status
cfg_ini_done(struct cfg_ini_state *st, int r)
{
    if (st->rc != BNC_OK) {
        return st->rc;
    }
    if (r > 0) {
        snprintf(st->err, st->errlen, "%s:%d: syntax error", st->path, r);
        return BNC_ECONFIG;
    }
    return BNC_OK;
}

bnc_status
cfg_load_env(struct bnc_config *c, char *err, size_t errlen)
{
    char env[128];
    size_t i, j;
    const char *v;
    bnc_status rc;

    for (i = 0; i < NPARAMS; i++) {
        const char *n = params[i].name;
        size_t k = (size_t)snprintf(env, sizeof(env), "BOUNCED_");
        for (j = 0; n[j] && k < sizeof(env) - 1; j++) {
            env[k++] = (n[j] == '.') ? '_' : (char)toupper((unsigned char)n[j]);
        }
        env[k] = '\0';
        if ((v = getenv(env)) != NULL) {
            if ((rc = cfg_apply(c, &params[i], v, err, errlen)) != BNC_OK) {
                char tmp[256];
                snprintf(tmp, sizeof(tmp), "%s", err);
                snprintf(err, errlen, "environment %.100s: %.300s", env, tmp);
                return rc;
            }
        }
    }
    return BNC_OK;
}

void
cfg_format(const struct bnc_config *c, const struct cfg_param *p, char *out, size_t outlen)
{
    switch (p->type) {
    case CFG_BOOL:
        snprintf(out, outlen, "%s", *(const bool *)cfg_cfield(c, p) ? "yes" : "no");
        break;
    case CFG_STRING:
    case CFG_PATH: {
        const char *s = *(char *const *)cfg_cfield(c, p);
        snprintf(out, outlen, "%s", s ? s : "");
        break;
    }
    case CFG_INT:
    case CFG_DURATION:
        snprintf(out, outlen, "%lld", (long long)*(const int64_t *)cfg_cfield(c, p));
        break;
    case CFG_SIZE:
        snprintf(out, outlen, "%zu", *(const size_t *)cfg_cfield(c, p));
        break;
    }
}

void
cfg_show(const struct bnc_config *c, FILE *fp, bool only_changed)
{
    struct bnc_config d;
    char v[1024], dv[1024];
    size_t i;

    cfg_init(&d);
    for (i = 0; i < NPARAMS; i++) {
        cfg_format(c, &params[i], v, sizeof(v));
        cfg_format(&d, &params[i], dv, sizeof(dv));
        if (only_changed && strcmp(v, dv) == 0) {
            continue;
        }
        if (params[i].secret && v[0] != '\0') {
            fprintf(fp, "%s = ********\n", params[i].name);
        } else {
            fprintf(fp, "%s = %s\n", params[i].name, v);
        }
    }
    cfg_logs_show(c, fp);
    cfg_free(&d);
}

bool
cfg_list_has(const char *list, const char *item)
{
    size_t n = strlen(item);
    const char *p = list;

    while (p != NULL && *p) {
        const char *e;
        while (*p == ' ' || *p == ',') {
            p++;
        }
        e = p;
        while (*e && *e != ',') {
            e++;
        }
        {
            const char *t = e;
            while (t > p && t[-1] == ' ') {
                t--;
            }
            if ((size_t)(t - p) == n && strncasecmp(p, item, n) == 0) {
                return true;
            }
        }
        p = *e ? e + 1 : e;
    }
    return false;
}
