/*
 * cfg_logs.c - the [logs.NAME] sections of the configuration: one log follower each, named
 * by the operator (so not rows of the fixed table in cfg.c):
 *   [logs.pmta]
 *   path = /var/log/pmta/acct.csv
 *   format = pmta
 * Keys: path, format, record_fields, rotated_dir. Which formats exist is the follower's to
 * say (`serve` refuses to start on an unknown one); this file only keeps the text.
 * LIMITS: CFG_LOGS_MAX sections; a NAME of 64 bytes of [A-Za-z0-9_-].
 */
#include "cfg.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"

static const char *const cfg_log_keys[] = {"path", "format", "record_fields", "rotated_dir"};
#define NKEYS (sizeof(cfg_log_keys) / sizeof(cfg_log_keys[0]))

static char **
cfg_log_field(struct cfg_log *l, size_t k)
{
    char **f[NKEYS] = {&l->path, &l->format, &l->record_fields, &l->rotated_dir};
    return f[k];
}

static bool
cfg_log_name_ok(const char *p, size_t n)
{
    size_t i;

    if (n == 0 || n > 64) {
        return false;
    }
    for (i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_')) {
            return false;
        }
    }
    return true;
}

/* The section called name[0..n), added when new; NULL past CFG_LOGS_MAX. */
static struct cfg_log *
cfg_log_get(struct bnc_config *c, const char *name, size_t n)
{
    struct cfg_log *l;
    size_t i, k;

    for (i = 0; i < c->nlogs; i++) {
        if (strlen(c->logs[i].name) == n && strncmp(c->logs[i].name, name, n) == 0) {
            return &c->logs[i];
        }
    }
    if (c->nlogs >= CFG_LOGS_MAX) {
        return NULL;
    }
    c->logs = xrealloc(c->logs, (c->nlogs + 1) * sizeof(*c->logs));
    l = &c->logs[c->nlogs++];
    memset(l, 0, sizeof(*l));
    l->name = xstrndup(name, n);
    for (k = 0; k < NKEYS; k++) {
        *cfg_log_field(l, k) = xstrdup("");
    }
    return l;
}

bnc_status
cfg_logs_set(struct bnc_config *c, const char *name_key, const char *value, char *err,
             size_t errlen)
{
    const char *dot = strrchr(name_key, '.');
    struct cfg_log *l;
    size_t k;

    if (dot == NULL || !cfg_log_name_ok(name_key, (size_t)(dot - name_key))) {
        snprintf(err, errlen,
                 "logs.%.200s: expected logs.NAME.KEY with NAME of letters, "
                 "digits, '-' and '_'",
                 name_key);
        return BNC_ECONFIG;
    }
    for (k = 0; k < NKEYS && strcasecmp(dot + 1, cfg_log_keys[k]) != 0; k++) {
    }
    if (k == NKEYS) {
        snprintf(err, errlen,
                 "logs.%.200s: unknown key (path, format, record_fields, "
                 "rotated_dir)",
                 name_key);
        return BNC_ECONFIG;
    }
    if ((l = cfg_log_get(c, name_key, (size_t)(dot - name_key))) == NULL) {
        snprintf(err, errlen, "logs.%.200s: more than %d logs", name_key, CFG_LOGS_MAX);
        return BNC_ECONFIG;
    }
    free(*cfg_log_field(l, k));
    *cfg_log_field(l, k) = xstrdup(value);
    return BNC_OK;
}

void
cfg_logs_free(struct bnc_config *c)
{
    size_t i, k;

    for (i = 0; i < c->nlogs; i++) {
        free(c->logs[i].name);
        for (k = 0; k < NKEYS; k++) {
            free(*cfg_log_field(&c->logs[i], k));
        }
    }
    free(c->logs);
    c->logs = NULL;
    c->nlogs = 0;
}

void
cfg_logs_copy(struct bnc_config *dst, const struct bnc_config *src)
{
    size_t i, k;

    dst->logs = src->nlogs > 0 ? xcalloc(src->nlogs, sizeof(*dst->logs)) : NULL;
    dst->nlogs = src->nlogs;
    for (i = 0; i < src->nlogs; i++) {
        struct cfg_log *s = &src->logs[i];
        dst->logs[i].name = xstrdup(s->name);
        for (k = 0; k < NKEYS; k++) {
            *cfg_log_field(&dst->logs[i], k) = xstrdup(*cfg_log_field(s, k));
        }
    }
}

void
cfg_logs_show(const struct bnc_config *c, FILE *fp)
{
    size_t i, k;

    for (i = 0; i < c->nlogs; i++) {
        for (k = 0; k < NKEYS; k++) {
            fprintf(fp, "logs.%s.%s = %s\n", c->logs[i].name, cfg_log_keys[k],
                    *cfg_log_field(&c->logs[i], k));
        }
    }
}
