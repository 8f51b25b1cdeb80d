/*
 * overview.c - GET /api/v1/overview: what the dashboard's first screen shows, for one time
 * range (since/until, or all time when both are absent) and one optional filter (reason,
 * kind, domain), so every panel tells the same story: totals, events by class (hard, soft
 * address-side, soft sender-side, complaint, other), by reason, kind and domain, a series
 * per day, ISO week (from Monday) or calendar month (?bucket=) with every bucket of the
 * range present (zeros included), how many stored events lie outside the range, and the
 * contacts by hygiene status (now: a state, not an event).
 *
 * The class of a soft event follows policy.sender_reasons, as the hygiene policy does.
 * LIMITS: a series of at most API_SERIES_MAX buckets (400 past it, with the advice to pick a
 * coarser bucket or a shorter range); API_OVERVIEW_ROWS domains.
 * Ownership: replies go to r->out; the day array is freed before returning.
 */
#include "routes_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cfg.h"
#include "core/date.h"
#include "core/xmalloc.h"
#include "hygiene/policy.h"
#include "store/model.h"
#include "store/model_dash.h"

#define API_SERIES_MAX    3700
#define API_OVERVIEW_ROWS 50

enum ov_class { OV_HARD, OV_SOFT_ADDRESS, OV_SOFT_SENDER, OV_COMPLAINT, OV_OTHER, OV__COUNT };
static const char *const ov_class_names[OV__COUNT] = {"hard", "soft_address", "soft_sender",
                                                      "complaint", "other"};
#define OV_KINDS (BNC_KIND_DELIVERED + 1)

enum ov_bucket { OV_DAY, OV_WEEK, OV_MONTH };
static const char *const ov_bucket_names[] = {"day", "week", "month"};

struct ov_acc {
    const struct bnc_config *cfg;
    enum ov_bucket bucket;
    int64_t first; /* bucket number of days[0] */
    size_t ndays;  /* buckets */
    int64_t (*days)[OV__COUNT];
    int64_t by_class[OV__COUNT];
    int64_t by_reason[BNC_R__COUNT];
    int64_t by_kind[OV_KINDS];
    int64_t total;
};

static enum ov_class
ov_class_of(const struct bnc_config *cfg, const char *kind, const char *reason)
{
    if (strcmp(kind, "hard") == 0) {
        return OV_HARD;
    }
    if (strcmp(kind, "complaint") == 0) {
        return OV_COMPLAINT;
    }
    if (strcmp(kind, "soft") == 0) {
        return cfg_list_has(cfg->policy_sender_reasons, reason) ? OV_SOFT_SENDER : OV_SOFT_ADDRESS;
    }
    return OV_OTHER;
}

/* The bucket a UTC day number falls in: the day, the ISO week (weeks start on Monday; day 0,
 * 1970-01-01, was a Thursday) or the month (year * 12 + month - 1). */
static int64_t
ov_bucket_of(enum ov_bucket b, int64_t day)
{
    time_t t;
    struct tm tm;

    switch (b) {
    case OV_WEEK:
        return day + 3 >= 0 ? (day + 3) / 7 : (day + 3 - 6) / 7;
    case OV_MONTH:
        t = (time_t)(day * POLICY_DAY);
        gmtime_r(&t, &tm);
        return (int64_t)(tm.tm_year + 1900) * 12 + tm.tm_mon;
    default:
        return day;
    }
}

/* The first UTC day number of bucket n. */
static int64_t
ov_bucket_day(enum ov_bucket b, int64_t n)
{
    switch (b) {
    case OV_WEEK:
        return n * 7 - 3;
    case OV_MONTH:
        return date_days_from_civil(n / 12, n % 12 + 1, 1);
    default:
        return n;
    }
}

static int
ov_series_cb(void *ud, int64_t day, const char *kind, const char *reason, int64_t count)
{
    struct ov_acc *a = ud;
    enum ov_class c = ov_class_of(a->cfg, kind, reason);
    bnc_reason rs;
    bnc_kind k;

    a->total += count;
    a->by_class[c] += count;
    if (bnc_reason_from_name(reason, &rs)) {
        a->by_reason[rs] += count;
    }
    if (bnc_kind_from_name(kind, &k) && (int)k < OV_KINDS) {
        a->by_kind[k] += count;
    }
    day = ov_bucket_of(a->bucket, day);
    if (day >= a->first && (size_t)(day - a->first) < a->ndays) {
        a->days[day - a->first][c] += count;
    }
    return 0;
}

static void
ov_day_key(int64_t day, char out[16])
{
    time_t t = (time_t)(day * POLICY_DAY);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

/* {"key":..,"count":..} rows of the non-zero counts, largest first. */
static void
ov_counts(struct buf *b, const char *name, const int64_t *n, size_t count,
          const char *(*key)(size_t))
{
    size_t i, j, order[BNC_R__COUNT > OV_KINDS ? BNC_R__COUNT : OV_KINDS];
    size_t k = 0;

    for (i = 0; i < count; i++) {
        if (n[i] > 0) {
            for (j = k++; j > 0 && n[order[j - 1]] < n[i]; j--) {
                order[j] = order[j - 1];
            }
            order[j] = i;
        }
    }
    buf_printf(b, ",\"%s\":[", name);
    for (i = 0; i < k; i++) {
        buf_adds(b, i > 0 ? ",{\"key\":" : "{\"key\":");
        apij_str(b, key(order[i]));
        buf_printf(b, ",\"count\":%lld}", (long long)n[order[i]]);
    }
    buf_addc(b, ']');
}

static const char *
ov_reason_key(size_t i)
{
    return bnc_reason_name((bnc_reason)i);
}

static const char *
ov_kind_key(size_t i)
{
    return bnc_kind_name((bnc_kind)i);
}

static const char *
ov_class_key(size_t i)
{
    return ov_class_names[i];
}

static void
ov_series_json(struct buf *b, const struct ov_acc *a)
{
    char key[16];
    size_t i, c;

    buf_printf(b, ",\"bucket\":\"%s\",\"classes\":[", ov_bucket_names[a->bucket]);
    for (c = 0; c < OV__COUNT; c++) {
        buf_adds(b, c > 0 ? ",\"" : "\"");
        buf_adds(b, ov_class_names[c]);
        buf_addc(b, '"');
    }
    buf_adds(b, "],\"series\":[");
    for (i = 0; i < a->ndays; i++) {
        ov_day_key(ov_bucket_day(a->bucket, a->first + (int64_t)i), key);
        buf_printf(b, "%s{\"day\":\"%s\"", i > 0 ? "," : "", key);
        for (c = 0; c < OV__COUNT; c++) {
            buf_printf(b, ",\"%s\":%lld", ov_class_names[c], (long long)a->days[i][c]);
        }
        buf_addc(b, '}');
    }
    buf_addc(b, ']');
}

static int
ov_count_cb(void *ud, const char *key, int64_t count)
{
    struct api_list *l = ud;
    struct buf *b = api_list_item(l, 1);

    buf_adds(b, "{\"key\":");
    apij_str(b, key);
    buf_printf(b, ",\"count\":%lld}", (long long)count);
    return 0;
}

/* The range and filter arguments (events.c's, since/until 0 = open) with until after since:
 * 0, or the 400 written. */
static int
ov_args(struct api_req *r, struct model_event_filter *f)
{
    if (api_event_filter(r, f) != 0) {
        return r->status;
    }
    if (f->since != 0 && f->until != 0 && f->until <= f->since) {
        return api_error(r, 400, "bad_request", "\"until\" must be after \"since\"");
    }
    return 0;
}

/* The buckets the series covers: the range, or for all time the span of stored events. */
static int
ov_days(struct api_req *r, const struct model_event_filter *f, const struct model_span *sp,
        struct ov_acc *a)
{
    int64_t lo = f->since != 0 ? f->since : sp->first;
    int64_t hi = f->until != 0 ? f->until - 1 : (sp->last > 0 ? sp->last : api_now(r));

    if (f->since == 0 && sp->count == 0) {
        lo = hi;
    }
    if (hi < lo) {
        hi = lo;
    }
    a->first = ov_bucket_of(a->bucket, lo / POLICY_DAY);
    a->ndays = (size_t)(ov_bucket_of(a->bucket, hi / POLICY_DAY) - a->first + 1);
    if (a->ndays > API_SERIES_MAX) {
        return api_error(r, 400, "range_too_long",
                         "a series has at most %d buckets: choose bucket=week or month, or a "
                         "shorter range",
                         API_SERIES_MAX);
    }
    a->days = xcalloc(a->ndays, sizeof(*a->days));
    return 0;
}

/* Everything but the series: counts now and outside the range. */
static bnc_status
ov_totals(struct api_req *r, struct store *st, const struct model_event_filter *f,
          const struct model_span *sp, const struct ov_acc *a)
{
    struct policy_cfg pc;
    struct model_event_filter range;
    struct model_supp_filter sf;
    struct model_totals t;
    int64_t in_range = 0, supp_added = 0;
    bnc_status rc;

    memset(&range, 0, sizeof(range));
    range.since = f->since;
    range.until = f->until;
    memset(&sf, 0, sizeof(sf));
    sf.since = f->since;
    sf.until = f->until;
    policy_cfg_from_config(&pc, r->srv->cfg);
    if ((rc = model_event_count(st, &range, &in_range)) != BNC_OK ||
        (rc = model_supp_count(st, &sf, &supp_added)) != BNC_OK ||
        (rc = model_totals(st, &pc, api_now(r), &t)) != BNC_OK) {
        return rc;
    }
    buf_printf(&r->out,
               ",\"stored\":{\"events\":%lld,\"first\":%lld,\"last\":%lld,\"outside_range\":%lld"
               "},\"totals\":{\"events\":%lld,\"events_in_range\":%lld,\"suppressions_added\":"
               "%lld,\"suppressions\":%lld,\"contacts\":%lld,\"review_open\":%lld}",
               (long long)sp->count, (long long)sp->first, (long long)sp->last,
               (long long)(sp->count - in_range), (long long)a->total, (long long)in_range,
               (long long)supp_added, (long long)t.suppressions, (long long)t.contacts,
               (long long)t.review_open);
    return BNC_OK;
}

static bnc_status
ov_lists(struct api_req *r, struct store *st, const struct model_event_filter *f,
         const struct ov_acc *a)
{
    struct policy_cfg pc;
    struct api_list l = {&r->out, 0, 0};
    bnc_status rc;

    ov_counts(&r->out, "by_class", a->by_class, OV__COUNT, ov_class_key);
    ov_counts(&r->out, "by_reason", a->by_reason, BNC_R__COUNT, ov_reason_key);
    ov_counts(&r->out, "by_kind", a->by_kind, OV_KINDS, ov_kind_key);
    buf_adds(&r->out, ",\"by_domain\":[");
    if ((rc = model_event_domains(st, f, API_OVERVIEW_ROWS, ov_count_cb, &l)) != BNC_OK) {
        return rc;
    }
    buf_adds(&r->out, "],\"by_status\":[");
    l.n = 0;
    policy_cfg_from_config(&pc, r->srv->cfg);
    rc = model_stats(st, &pc, api_now(r), MODEL_STAT_STATUS, 0, 0, API_OVERVIEW_ROWS, ov_count_cb,
                     &l);
    buf_addc(&r->out, ']');
    return rc;
}

static int
ov_bucket_arg(struct api_req *r, enum ov_bucket *out)
{
    const char *b = api_qopt(r, "bucket");
    size_t i;

    *out = OV_DAY;
    if (b == NULL) {
        return 0;
    }
    for (i = 0; i < sizeof(ov_bucket_names) / sizeof(ov_bucket_names[0]); i++) {
        if (strcmp(b, ov_bucket_names[i]) == 0) {
            *out = (enum ov_bucket)i;
            return 0;
        }
    }
    return api_error(r, 400, "bad_request", "\"bucket\" must be day, week or month");
}

int
h_overview(struct api_req *r)
{
    struct model_event_filter f;
    struct model_span sp;
    struct ov_acc a;
    struct store *st;
    bnc_status rc;

    memset(&a, 0, sizeof(a));
    a.cfg = r->srv->cfg;
    if (ov_args(r, &f) != 0 || ov_bucket_arg(r, &a.bucket) != 0 ||
        (st = api_need_store(r)) == NULL) {
        return r->status;
    }
    if ((rc = model_event_span(st, &sp)) != BNC_OK) {
        return api_error_status(r, rc, "overview");
    }
    if (ov_days(r, &f, &sp, &a) != 0) {
        return r->status;
    }
    rc = model_event_series(st, &f, ov_series_cb, &a);
    if (rc == BNC_OK) {
        buf_adds(&r->out, "{\"since\":");
        apij_int_or_null(&r->out, f.since);
        buf_adds(&r->out, ",\"until\":");
        apij_int_or_null(&r->out, f.until);
        buf_printf(&r->out, ",\"all_time\":%s", f.since == 0 && f.until == 0 ? "true" : "false");
        rc = ov_totals(r, st, &f, &sp, &a);
    }
    if (rc == BNC_OK) {
        rc = ov_lists(r, st, &f, &a);
    }
    if (rc == BNC_OK) {
        ov_series_json(&r->out, &a);
        buf_adds(&r->out, "}\n");
    }
    free(a.days);
    if (rc != BNC_OK) {
        buf_reset(&r->out);
        return api_error_status(r, rc, "overview");
    }
    return 200;
}
