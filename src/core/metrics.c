/*
 * metrics.c - process-wide metrics registry and its Prometheus text rendering.
 *
 * Series live in one fixed open-addressing hash table guarded by one mutex: updates are a
 * hash, a probe and an add, cheap enough for the per-request path of the HTTP server. The
 * registry never allocates after a series exists; creating a series copies its name and
 * labels into fixed arrays of the slot. It does not validate label syntax beyond refusing
 * control characters (callers build label sets from fixed vocabularies, never raw input).
 *
 * STANDARDS: Prometheus text exposition format 0.0.4 (HELP/TYPE lines, histogram
 * _bucket{le=...}/_sum/_count with cumulative buckets and le="+Inf").
 * LIMITS: METRICS_MAX_SERIES series (the table has twice as many slots so probes stay
 * short); names over METRICS_NAME_MAX and label sets over METRICS_LABELS_MAX are dropped.
 * Every drop is counted in bounced_metrics_dropped_total so a full registry is visible.
 * Ownership: static storage for the life of the process.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

enum metrics_type { MT_NONE = 0, MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };

static const double metrics_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
#define METRICS_NBUCKETS (sizeof(metrics_buckets) / sizeof(metrics_buckets[0]))
#define METRICS_SLOTS    (METRICS_MAX_SERIES * 2)
#define METRICS_MAX_HELP 64

struct metrics_series {
    enum metrics_type type;
    char name[METRICS_NAME_MAX + 1];
    char labels[METRICS_LABELS_MAX + 1];
    int64_t value;                      /* counter or gauge */
    uint64_t buckets[METRICS_NBUCKETS]; /* non-cumulative counts */
    uint64_t count;
    double sum;
};

struct metrics_help {
    char name[METRICS_NAME_MAX + 1];
    const char *text;
};

static pthread_mutex_t metrics_mu = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_series metrics_tab[METRICS_SLOTS];
static size_t metrics_nseries;
static uint64_t metrics_dropped;
static struct metrics_help metrics_helps[METRICS_MAX_HELP];
static size_t metrics_nhelp;

/* The catalogue of what bounced exports: a real HELP text for each name, and the label
 * values known in advance, so that metrics_preset() can make every series exist at 0 before
 * the first event (a rate() or an alert on a series that does not exist yet sees nothing).
 * Names labelled by open sets (HTTP routes and codes) get their HELP and TYPE lines only. */
struct metrics_known {
    const char *name;
    enum metrics_type type;
    const char *help;
    const char *key1; /* NULL: one series without labels (unless nopreset) */
    const char *const *vals1;
    const char *key2; /* NULL: one label only */
    const char *const *vals2;
    bool nopreset; /* labels from an open set: no series made in advance */
};

static const char *const mk_sources[] = {"smtp", "lmtp", "mailbox", NULL};
static const char *const mk_kinds[] = {"unknown",  "hard",     "soft",       "complaint",
                                       "autoreply", "delivered", "not_bounce", "none", NULL};
static const char *const mk_protos[] = {"smtp", "lmtp", NULL};

static const struct metrics_known metrics_known[] = {
    {"bounced_ingested_total", MT_COUNTER,
     "bounce messages processed, by where they came from and the kind of verdict "
     "(not_bounce: mail that is no bounce; none: a bounce without any recipient verdict)",
     "source", mk_sources, "kind", mk_kinds, false},
    {"bounced_duplicates_total", MT_COUNTER,
     "messages skipped because the store had processed the same message already",
     "source", mk_sources, NULL, NULL, false},
    {"bounced_held_total", MT_COUNTER,
     "messages moved to spool/hold/ because they failed on their own content (see ID.reason)",
     NULL, NULL, NULL, NULL, false},
    {"bounced_processing_seconds", MT_HISTOGRAM,
     "time from taking a spooled message to committing its verdicts", NULL, NULL, NULL, NULL,
     false},
    {"bounced_queue_depth", MT_GAUGE,
     "spooled messages waiting for a worker (grows while the store is down)", NULL, NULL, NULL,
     NULL, false},
    {"bounced_store_up", MT_GAUGE,
     "1 while the workers can write the store, 0 during an outage (the listener keeps "
     "spooling)",
     NULL, NULL, NULL, NULL, false},
    {"bounced_smtp_connections_total", MT_COUNTER, "SMTP/LMTP connections accepted",
     "proto", mk_protos, NULL, NULL, false},
    {"bounced_smtp_messages_total", MT_COUNTER,
     "messages accepted into the spool (250 sent after fsync)", "proto", mk_protos, NULL, NULL,
     false},
    {"bounced_smtp_sessions", MT_GAUGE, "open SMTP/LMTP sessions", NULL, NULL, NULL, NULL,
     false},
    {"bounced_http_requests_total", MT_COUNTER,
     "HTTP requests answered, by route template and status code", NULL, NULL, NULL, NULL,
     true},
    {"bounced_http_request_seconds", MT_HISTOGRAM,
     "HTTP request latency from the first byte read to the reply, by route template", NULL,
     NULL, NULL, NULL, true},
};
#define METRICS_NKNOWN (sizeof(metrics_known) / sizeof(metrics_known[0]))

static bool metrics_valid_name(const char *name);
static struct metrics_series *metrics_find(const char *name, const char *labels,
                                           enum metrics_type type);
static int metrics_cmp(const void *a, const void *b);
static const char *metrics_help_for(const char *name);
static void metrics_render_absent(struct buf *out, const struct metrics_series *const *list,
                                  size_t n);
static void metrics_fmt_double(char *out, size_t outlen, double d);

void
metrics_counter_add(const char *name, const char *labels, uint64_t v)
{
    struct metrics_series *s;

    pthread_mutex_lock(&metrics_mu);
    s = metrics_find(name, labels, MT_COUNTER);
    if (s != NULL) {
        s->value += (int64_t)v;
    }
    pthread_mutex_unlock(&metrics_mu);
}

void
metrics_gauge_set(const char *name, const char *labels, int64_t v)
{
    struct metrics_series *s;

    pthread_mutex_lock(&metrics_mu);
    s = metrics_find(name, labels, MT_GAUGE);
    if (s != NULL) {
        s->value = v;
    }
    pthread_mutex_unlock(&metrics_mu);
}

void
metrics_gauge_add(const char *name, const char *labels, int64_t d)
{
    struct metrics_series *s;

    pthread_mutex_lock(&metrics_mu);
    s = metrics_find(name, labels, MT_GAUGE);
    if (s != NULL) {
        s->value += d;
    }
    pthread_mutex_unlock(&metrics_mu);
}

void
metrics_observe(const char *name, const char *labels, double seconds)
{
    struct metrics_series *s;
    size_t i;

    if (!(seconds >= 0.0)) { /* also rejects NaN */
        seconds = 0.0;
    }
    pthread_mutex_lock(&metrics_mu);
    s = metrics_find(name, labels, MT_HISTOGRAM);
    if (s != NULL) {
        for (i = 0; i < METRICS_NBUCKETS; i++) {
            if (seconds <= metrics_buckets[i]) {
                s->buckets[i]++;
                break;
            }
        }
        s->count++;
        s->sum += seconds;
    }
    pthread_mutex_unlock(&metrics_mu);
}

void
metrics_describe(const char *name, const char *help)
{
    size_t i;

    if (!metrics_valid_name(name) || help == NULL) {
        return;
    }
    pthread_mutex_lock(&metrics_mu);
    for (i = 0; i < metrics_nhelp; i++) {
        if (strcmp(metrics_helps[i].name, name) == 0) {
            metrics_helps[i].text = help;
            pthread_mutex_unlock(&metrics_mu);
            return;
        }
    }
    if (metrics_nhelp < METRICS_MAX_HELP) {
        memcpy(metrics_helps[metrics_nhelp].name, name, strlen(name) + 1);
        metrics_helps[metrics_nhelp].text = help;
        metrics_nhelp++;
    }
    pthread_mutex_unlock(&metrics_mu);
}

void
metrics_preset(void)
{
    char labels[METRICS_LABELS_MAX + 1];
    size_t k, i, j;

    pthread_mutex_lock(&metrics_mu);
    for (k = 0; k < METRICS_NKNOWN; k++) {
        const struct metrics_known *m = &metrics_known[k];
        if (m->nopreset) {
            continue;
        }
        if (m->key1 == NULL) {
            (void)metrics_find(m->name, "", m->type);
            continue;
        }
        for (i = 0; m->vals1[i] != NULL; i++) {
            for (j = 0; m->key2 == NULL ? j == 0 : m->vals2[j] != NULL; j++) {
                if (m->key2 == NULL) {
                    snprintf(labels, sizeof(labels), "%s=\"%s\"", m->key1, m->vals1[i]);
                } else {
                    snprintf(labels, sizeof(labels), "%s=\"%s\",%s=\"%s\"", m->key1,
                             m->vals1[i], m->key2, m->vals2[j]);
                }
                (void)metrics_find(m->name, labels, m->type);
            }
        }
    }
    pthread_mutex_unlock(&metrics_mu);
}

int64_t
metrics_value(const char *name, const char *labels)
{
    int64_t v = 0;
    size_t i;

    if (labels == NULL) {
        labels = "";
    }
    pthread_mutex_lock(&metrics_mu);
    for (i = 0; i < METRICS_SLOTS; i++) {
        const struct metrics_series *s = &metrics_tab[i];
        if (s->type != MT_NONE && strcmp(s->name, name) == 0 && strcmp(s->labels, labels) == 0) {
            v = s->type == MT_HISTOGRAM ? (int64_t)s->count : s->value;
            break;
        }
    }
    pthread_mutex_unlock(&metrics_mu);
    return v;
}

void
metrics_reset(void)
{
    pthread_mutex_lock(&metrics_mu);
    memset(metrics_tab, 0, sizeof(metrics_tab));
    metrics_nseries = 0;
    metrics_dropped = 0;
    pthread_mutex_unlock(&metrics_mu);
}

void
metrics_render(struct buf *out)
{
    const struct metrics_series **list;
    size_t n = 0, i, b;
    const char *prev = NULL;
    uint64_t dropped;
    char num[64];

    /* Rendering holds the lock: a scrape is rare and formatting ~1k lines is quick. */
    list = xmalloc(sizeof(*list) * (METRICS_MAX_SERIES + 1));
    pthread_mutex_lock(&metrics_mu);
    for (i = 0; i < METRICS_SLOTS; i++) {
        if (metrics_tab[i].type != MT_NONE) {
            list[n++] = &metrics_tab[i];
        }
    }
    dropped = metrics_dropped;
    qsort(list, n, sizeof(*list), metrics_cmp);
    for (i = 0; i < n; i++) {
        const struct metrics_series *s = list[i];
        const char *lb = s->labels;
        bool has = lb[0] != '\0';

        if (prev == NULL || strcmp(prev, s->name) != 0) {
            const char *help = metrics_help_for(s->name);
            if (help != NULL) {
                buf_printf(out, "# HELP %s %s\n", s->name, help);
            } else {
                buf_printf(out, "# HELP %s bounced metric %s\n", s->name, s->name);
            }
            buf_printf(out, "# TYPE %s %s\n", s->name,
                       s->type == MT_COUNTER ? "counter"
                       : s->type == MT_GAUGE ? "gauge"
                                             : "histogram");
            prev = s->name;
        }
        if (s->type != MT_HISTOGRAM) {
            buf_printf(out, "%s%s%s%s %lld\n", s->name, has ? "{" : "", lb, has ? "}" : "",
                       (long long)s->value);
            continue;
        }
        {
            uint64_t cum = 0;
            for (b = 0; b < METRICS_NBUCKETS; b++) {
                cum += s->buckets[b];
                metrics_fmt_double(num, sizeof(num), metrics_buckets[b]);
                buf_printf(out, "%s_bucket{%s%sle=\"%s\"} %llu\n", s->name, lb, has ? "," : "", num,
                           (unsigned long long)cum);
            }
            buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", s->name, lb, has ? "," : "",
                       (unsigned long long)s->count);
            metrics_fmt_double(num, sizeof(num), s->sum);
            buf_printf(out, "%s_sum%s%s%s %s\n", s->name, has ? "{" : "", lb, has ? "}" : "", num);
            buf_printf(out, "%s_count%s%s%s %llu\n", s->name, has ? "{" : "", lb, has ? "}" : "",
                       (unsigned long long)s->count);
        }
    }
    metrics_render_absent(out, list, n);
    pthread_mutex_unlock(&metrics_mu);
    free(list);
    buf_adds(out, "# HELP bounced_metrics_dropped_total metric updates dropped because the "
                  "registry was full or a name/label set was invalid\n"
                  "# TYPE bounced_metrics_dropped_total counter\n");
    buf_printf(out, "bounced_metrics_dropped_total %llu\n", (unsigned long long)dropped);
}

/* ---- statics ---- */

/* HELP and TYPE of the catalogue's names that have no series yet (labels from an open set,
 * nothing observed so far), so a scrape shows every metric bounced can export. */
static void
metrics_render_absent(struct buf *out, const struct metrics_series *const *list, size_t n)
{
    size_t k, i;

    for (k = 0; k < METRICS_NKNOWN; k++) {
        const struct metrics_known *m = &metrics_known[k];
        for (i = 0; i < n && strcmp(list[i]->name, m->name) != 0; i++) {
        }
        if (i < n) {
            continue;
        }
        buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name, metrics_help_for(m->name),
                   m->name, m->type == MT_COUNTER ? "counter"
                            : m->type == MT_GAUGE ? "gauge"
                                                  : "histogram");
    }
}

static bool
metrics_valid_name(const char *name)
{
    size_t i;

    if (name == NULL || name[0] == '\0') {
        return false;
    }
    for (i = 0; name[i] != '\0'; i++) {
        char c = name[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (i >= METRICS_NAME_MAX) {
            return false;
        }
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) {
            return false;
        }
    }
    return true;
}

static bool
metrics_valid_labels(const char *labels)
{
    size_t i;

    for (i = 0; labels[i] != '\0'; i++) {
        if (i >= METRICS_LABELS_MAX || (unsigned char)labels[i] < 0x20) {
            return false;
        }
    }
    return true;
}

/* FNV-1a over name, a separator and labels. */
static uint64_t
metrics_hash(const char *name, const char *labels)
{
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *p;

    for (p = (const unsigned char *)name; *p != '\0'; p++) {
        h = (h ^ *p) * 1099511628211ULL;
    }
    h = (h ^ 0xffu) * 1099511628211ULL;
    for (p = (const unsigned char *)labels; *p != '\0'; p++) {
        h = (h ^ *p) * 1099511628211ULL;
    }
    return h;
}

/* Called with the lock held. Returns NULL (and counts a drop) when the series cannot exist:
 * bad name, bad labels, registry full, or the name is already used with another type. */
static struct metrics_series *
metrics_find(const char *name, const char *labels, enum metrics_type type)
{
    size_t i, slot;

    if (labels == NULL) {
        labels = "";
    }
    if (!metrics_valid_name(name) || !metrics_valid_labels(labels)) {
        metrics_dropped++;
        return NULL;
    }
    slot = (size_t)(metrics_hash(name, labels) % METRICS_SLOTS);
    for (i = 0; i < METRICS_SLOTS; i++) {
        struct metrics_series *s = &metrics_tab[(slot + i) % METRICS_SLOTS];
        if (s->type == MT_NONE) {
            if (metrics_nseries >= METRICS_MAX_SERIES) {
                metrics_dropped++;
                return NULL;
            }
            s->type = type;
            memcpy(s->name, name, strlen(name) + 1);
            memcpy(s->labels, labels, strlen(labels) + 1);
            metrics_nseries++;
            return s;
        }
        if (strcmp(s->name, name) == 0 && strcmp(s->labels, labels) == 0) {
            if (s->type != type) {
                metrics_dropped++;
                return NULL;
            }
            return s;
        }
    }
    metrics_dropped++;
    return NULL;
}

static int
metrics_cmp(const void *a, const void *b)
{
    const struct metrics_series *x = *(const struct metrics_series *const *)a;
    const struct metrics_series *y = *(const struct metrics_series *const *)b;
    int c = strcmp(x->name, y->name);

    return c != 0 ? c : strcmp(x->labels, y->labels);
}

static const char *
metrics_help_for(const char *name)
{
    size_t i;

    for (i = 0; i < metrics_nhelp; i++) {
        if (strcmp(metrics_helps[i].name, name) == 0) {
            return metrics_helps[i].text;
        }
    }
    for (i = 0; i < METRICS_NKNOWN; i++) {
        if (strcmp(metrics_known[i].name, name) == 0) {
            return metrics_known[i].help;
        }
    }
    return NULL;
}

static void
metrics_fmt_double(char *out, size_t outlen, double d)
{
    int prec;

    /* The shortest %g form that reads back to the same value (0.1, not 0.10000000000000001). */
    for (prec = 1; prec <= 17; prec++) {
        snprintf(out, outlen, "%.*g", prec, d);
        if (strtod(out, NULL) == d &&
            (strchr(out, 'e') == NULL || d < 1e-4 || d >= 1e15)) { /* 10, not 1e+01 */
            return;
        }
    }
}
