/*
 * stats.c - GET /api/v1/stats: counts of events by reason, kind, recipient domain, day and
 * hygiene status over a time window (default: the last 30 UTC days), and the store's totals.
 *
 * LIMITS: API_STATS_ROWS rows per dimension, 400 for days.
 * Ownership: replies go to r->out.
 */
#include "routes_int.h"

#include <string.h>

#include "hygiene/policy.h"
#include "store/model.h"

#define API_STATS_ROWS 50

struct api_stat_ud {
    struct buf *b;
    size_t n;
};

static int
api_stat_cb(void *ud, const char *key, int64_t count)
{
    struct api_stat_ud *s = ud;

    if (s->n++ > 0) {
        buf_addc(s->b, ',');
    }
    buf_adds(s->b, "{\"key\":");
    apij_str(s->b, key);
    buf_printf(s->b, ",\"count\":%lld}", (long long)count);
    return 0;
}

int
h_stats(struct api_req *r)
{
    static const struct {
        const char *name;
        enum model_stat_dim dim;
        size_t limit;
    } dims[] = {{"by_reason", MODEL_STAT_REASON, API_STATS_ROWS},
                {"by_kind", MODEL_STAT_KIND, API_STATS_ROWS},
                {"by_domain", MODEL_STAT_DOMAIN, API_STATS_ROWS},
                {"by_day", MODEL_STAT_DAY, 400},
                {"by_status", MODEL_STAT_STATUS, API_STATS_ROWS}};
    struct store *st;
    struct model_totals t;
    struct policy_cfg pc;
    int64_t now = api_now(r), since = 0, until = 0;
    size_t i;
    int s;
    bnc_status rc;

    if (api_time_arg(r, "since", &since) != 0 || api_time_arg(r, "until", &until) != 0) {
        return r->status;
    }
    if (since == 0) {
        since = (now / 86400 - 29) * 86400; /* the last 30 UTC days */
    }
    if (until == 0) {
        until = (now / 86400 + 1) * 86400;
    }
    if (until <= since) {
        return api_error(r, 400, "bad_request", "\"until\" must be after \"since\"");
    }
    if ((st = api_need_store(r)) == NULL) {
        return r->status;
    }
    policy_cfg_from_config(&pc, r->srv->cfg);
    buf_printf(&r->out, "{\"since\":%lld,\"until\":%lld", (long long)since, (long long)until);
    for (i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
        struct api_stat_ud u = {&r->out, 0};
        buf_printf(&r->out, ",\"%s\":[", dims[i].name);
        rc = model_stats(st, &pc, now, dims[i].dim, since, until, dims[i].limit, api_stat_cb, &u);
        if (rc != BNC_OK) {
            return api_error_status(r, rc, "stats");
        }
        buf_addc(&r->out, ']');
    }
    memset(&t, 0, sizeof(t));
    if ((rc = model_totals(st, &pc, now, &t)) != BNC_OK) {
        return api_error_status(r, rc, "stats");
    }
    buf_printf(&r->out,
               ",\"totals\":{\"contacts\":%lld,\"suppressions\":%lld,\"events\":%lld,"
               "\"review_open\":%lld,\"messages\":%lld,\"not_bounce\":%lld,"
               "\"by_status\":{",
               (long long)t.contacts, (long long)t.suppressions, (long long)t.events,
               (long long)t.review_open, (long long)t.messages, (long long)t.not_bounce);
    for (s = 0; s < HYG__COUNT; s++) {
        buf_printf(&r->out, "%s\"%s\":%lld", s > 0 ? "," : "", hyg_status_name((enum hyg_status)s),
                   (long long)t.by_status[s]);
    }
    buf_adds(&r->out, "}}}\n");
    return 200;
}
