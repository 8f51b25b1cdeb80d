/*
 * test_model_dash.c - the dashboard's queries (src/store/model_dash.c) on a fresh SQLite
 * store: newest-first paging with a time+id cursor (ties inside one second neither repeat
 * nor skip), the filters, per-day series, top domains, the span of history, suppression
 * search (LIKE metacharacters in the search are literal), the diagnostic walk across pages,
 * and reopening a review item (its hygiene change reverted, the item open, the second
 * reopen refused).
 * layer: store (links bnc_store and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cfg.h"
#include "store/model.h"
#include "store/model_dash.h"
#include "store/store.h"

#define T1 ((int64_t)1764547200) /* 2025-12-01 00:00:00 UTC */
#define D  ((int64_t)86400)

struct dash_fx {
    char dir[256];
    char db[300];
    struct bnc_config cfg;
    struct policy_cfg pc;
    struct store *st;
};

static int
fx_open(void **state)
{
    struct dash_fx *x = calloc(1, sizeof(*x));
    const char *tmp = getenv("TMPDIR");
    char err[256];

    snprintf(x->dir, sizeof(x->dir), "%s/test_model_dash.XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(x->dir) == NULL) {
        return -1;
    }
    snprintf(x->db, sizeof(x->db), "%s/d.db", x->dir);
    cfg_init(&x->cfg);
    policy_cfg_from_config(&x->pc, &x->cfg);
    if (store_open(x->db, &x->cfg, &x->st, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "store_open: %s\n", err);
        return -1;
    }
    *state = x;
    return 0;
}

static int
fx_close(void **state)
{
    static const char *const tails[] = {"", "-wal", "-shm"};
    struct dash_fx *x = *state;
    char p[320];
    size_t i;

    store_close(x->st);
    cfg_free(&x->cfg);
    for (i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", x->db, tails[i]);
        unlink(p);
    }
    rmdir(x->dir);
    free(x);
    return 0;
}

/* One verdict for rcpt at time t, applied as a bounce would be. */
static void
add(struct dash_fx *x, const char *rcpt, bnc_kind kind, bnc_reason reason, int64_t t,
    const char *diag)
{
    static int seq;
    struct bnc_rcpt v;
    struct model_outcome o;
    char key[64];

    memset(&v, 0, sizeof(v));
    v.recipient = rcpt;
    v.original_recipient = v.remote_mta = v.reporting_mta = v.date = v.smtp_command = "";
    v.message_id = v.original_message_id = v.feedback_type = v.diagnostic_type = "";
    snprintf(v.status, sizeof(v.status), "%s", kind == BNC_KIND_HARD ? "5.1.1" : "4.2.2");
    v.action = BNC_ACTION_FAILED;
    v.reason = reason;
    v.kind = kind;
    v.hard = kind == BNC_KIND_HARD ? 1 : kind == BNC_KIND_UNKNOWN ? -1 : 0;
    v.diagnostic = diag;
    v.origin = "dsn";
    v.decided_by = "status:test";
    snprintf(key, sizeof(key), "dash-%d", ++seq);
    assert_int_equal(
        model_apply_verdict(x->st, &x->pc, &v, "file", key, key, t, "bounce", T1 + 40 * D, &o),
        BNC_OK);
}

struct seen {
    int64_t id[64];
    int64_t time[64];
    size_t n;
};

static int
seen_cb(void *ud, const struct model_event *e)
{
    struct seen *s = ud;

    if (s->n < 64) {
        s->id[s->n] = e->id;
        s->time[s->n++] = e->event_time;
    }
    return 0;
}

static void
test_newest_first_paging(void **state)
{
    struct dash_fx *x = *state;
    struct model_event_filter f;
    struct model_cursor cur = {0, 0};
    struct seen all, page;
    int64_t n = 0;
    size_t got, i;

    /* seven events, four of them in the same second */
    add(x, "a@one.example", BNC_KIND_HARD, BNC_R_USERUNKNOWN, T1 + 100, "550 no such user");
    add(x, "b@one.example", BNC_KIND_SOFT, BNC_R_MAILBOXFULL, T1 + 5 * D, "452 quota");
    add(x, "c@two.example", BNC_KIND_SOFT, BNC_R_MAILBOXFULL, T1 + 5 * D, "452 quota");
    add(x, "d@two.example", BNC_KIND_HARD, BNC_R_USERUNKNOWN, T1 + 5 * D, "550 unknown");
    add(x, "e@two.example", BNC_KIND_SOFT, BNC_R_BLOCKED, T1 + 5 * D, "554 blocked");
    add(x, "f@one.example", BNC_KIND_SOFT, BNC_R_BLOCKED, T1 + 2 * D, "554 blocked");
    add(x, "g@one.example", BNC_KIND_HARD, BNC_R_HOSTUNKNOWN, T1 - 30 * D, "no such host");
    memset(&all, 0, sizeof(all));
    /* pages of 2: every event once, newest event time first, ties by id descending */
    do {
        memset(&page, 0, sizeof(page));
        assert_int_equal(model_event_recent(x->st, NULL, &cur, 2, seen_cb, &page, &got), BNC_OK);
        for (i = 0; i < page.n; i++) {
            all.id[all.n] = page.id[i];
            all.time[all.n++] = page.time[i];
        }
        if (page.n > 0) {
            cur.time = page.time[page.n - 1];
            cur.id = page.id[page.n - 1];
        }
    } while (got == 2);
    assert_int_equal(all.n, 7);
    for (i = 1; i < all.n; i++) {
        assert_true(all.time[i - 1] > all.time[i] ||
                    (all.time[i - 1] == all.time[i] && all.id[i - 1] > all.id[i]));
    }
    /* filters: reason, and the range [T1, T1 + 3 days) */
    memset(&f, 0, sizeof(f));
    f.reason = "mailboxfull";
    memset(&page, 0, sizeof(page));
    assert_int_equal(model_event_recent(x->st, &f, NULL, 100, seen_cb, &page, NULL), BNC_OK);
    assert_int_equal(page.n, 2);
    memset(&f, 0, sizeof(f));
    f.since = T1;
    f.until = T1 + 3 * D;
    memset(&page, 0, sizeof(page));
    assert_int_equal(model_event_recent(x->st, &f, NULL, 100, seen_cb, &page, NULL), BNC_OK);
    assert_int_equal(page.n, 2);
    assert_int_equal(model_event_count(x->st, &f, &n), BNC_OK);
    assert_int_equal(n, 2);
    f.recipient = "F@ONE.example"; /* normalized like every address */
    assert_int_equal(model_event_count(x->st, &f, &n), BNC_OK);
    assert_int_equal(n, 1);
    /* one event by id, and a missing one */
    memset(&page, 0, sizeof(page));
    assert_int_equal(model_event_get(x->st, all.id[0], seen_cb, &page), BNC_OK);
    assert_int_equal(page.n, 1);
    assert_int_equal(model_event_get(x->st, 999999, seen_cb, &page), BNC_ENOTFOUND);
}

struct series {
    int64_t day[16];
    int64_t count[16];
    size_t n;
    int64_t total;
};

static int
series_cb(void *ud, int64_t day, const char *kind, const char *reason, int64_t count)
{
    struct series *s = ud;

    (void)kind;
    (void)reason;
    if (s->n < 16) {
        s->day[s->n] = day;
        s->count[s->n++] = count;
    }
    s->total += count;
    return 0;
}

struct top {
    char key[4][32];
    int64_t count[4];
    size_t n;
};

static int
domain_cb(void *ud, const char *key, int64_t count)
{
    struct top *t = ud;

    assert_true(t->n < 4);
    snprintf(t->key[t->n], sizeof(t->key[0]), "%s", key);
    t->count[t->n++] = count;
    return 0;
}

static void
test_series_domains_span(void **state)
{
    struct dash_fx *x = *state;
    struct model_event_filter f;
    struct model_span sp;
    struct series s;
    struct top top;

    add(x, "a@one.example", BNC_KIND_HARD, BNC_R_USERUNKNOWN, T1 + 10, "x");
    add(x, "b@one.example", BNC_KIND_HARD, BNC_R_USERUNKNOWN, T1 + 20, "x");
    add(x, "c@two.example", BNC_KIND_SOFT, BNC_R_MAILBOXFULL, T1 + 2 * D, "x");
    memset(&s, 0, sizeof(s));
    assert_int_equal(model_event_series(x->st, NULL, series_cb, &s), BNC_OK);
    assert_int_equal(s.n, 2); /* (day 0, hard, userunknown) and (day 2, soft, mailboxfull) */
    assert_int_equal(s.day[0], T1 / D);
    assert_int_equal(s.count[0], 2);
    assert_int_equal(s.day[1], T1 / D + 2);
    memset(&f, 0, sizeof(f));
    f.kind = "soft";
    memset(&s, 0, sizeof(s));
    assert_int_equal(model_event_series(x->st, &f, series_cb, &s), BNC_OK);
    assert_int_equal(s.total, 1);
    memset(&top, 0, sizeof(top));
    assert_int_equal(model_event_domains(x->st, NULL, 10, domain_cb, &top), BNC_OK);
    assert_int_equal(top.n, 2);
    assert_string_equal(top.key[0], "one.example");
    assert_int_equal(top.count[0], 2);
    assert_string_equal(top.key[1], "two.example");
    assert_int_equal(model_event_span(x->st, &sp), BNC_OK);
    assert_int_equal(sp.count, 3);
    assert_int_equal(sp.first, T1 + 10);
    assert_int_equal(sp.last, T1 + 2 * D);
}

static int
supp_cb(void *ud, const struct model_suppression *s)
{
    char *out = ud;
    size_t len = strlen(out);

    snprintf(out + len, 512 - len, "%s;", s->address);
    return 0;
}

static void
test_supp_search(void **state)
{
    struct dash_fx *x = *state;
    struct model_supp_filter f;
    char got[512];
    int64_t n = 0;
    bool created;

    assert_int_equal(
        model_suppress(x->st, "a_b@one.example", "manual", "api", "t", "", T1, &created), BNC_OK);
    assert_int_equal(
        model_suppress(x->st, "axb@one.example", "manual", "api", "t", "", T1 + D, &created),
        BNC_OK);
    assert_int_equal(model_suppress(x->st, "c%d@two.example", "userunknown", "bounce", "t", "",
                                    T1 + 2 * D, &created),
                     BNC_OK);
    memset(&f, 0, sizeof(f));
    f.q = "A_B"; /* '_' is a literal underscore, and the search ignores case */
    got[0] = '\0';
    assert_int_equal(model_supp_search(x->st, &f, 0, 10, supp_cb, got, NULL), BNC_OK);
    assert_string_equal(got, "a_b@one.example;");
    f.q = "%";
    got[0] = '\0';
    assert_int_equal(model_supp_search(x->st, &f, 0, 10, supp_cb, got, NULL), BNC_OK);
    assert_string_equal(got, "c%d@two.example;");
    memset(&f, 0, sizeof(f));
    f.q = "@one.example";
    got[0] = '\0';
    assert_int_equal(model_supp_search(x->st, &f, 0, 1, supp_cb, got, NULL), BNC_OK);
    assert_string_equal(got, "axb@one.example;"); /* newest first */
    memset(&f, 0, sizeof(f));
    f.source = "api";
    f.since = T1 + D;
    assert_int_equal(model_supp_count(x->st, &f, &n), BNC_OK);
    assert_int_equal(n, 1);
}

static int
diag_cb(void *ud, int64_t id, const char *diagnostic, const char *reason, const char *kind)
{
    int64_t *n = ud;

    (void)id;
    (void)reason;
    (void)kind;
    if (strcmp(diagnostic, "walk") == 0) {
        (*n)++;
    }
    return 0;
}

static void
test_diagnostic_walk(void **state)
{
    struct dash_fx *x = *state;
    int64_t hits = 0;
    size_t n = 0;
    int i;

    assert_int_equal(store_begin(x->st), BNC_OK);
    for (i = 0; i < 2100; i++) { /* more than two pages of the walk */
        char addr[64];
        snprintf(addr, sizeof(addr), "w%d@walk.example", i);
        add(x, addr, BNC_KIND_SOFT, BNC_R_BLOCKED, T1 + i, "walk");
    }
    assert_int_equal(store_commit(x->st), BNC_OK);
    assert_int_equal(model_event_diagnostics(x->st, diag_cb, &hits, &n), BNC_OK);
    assert_int_equal(n, 2100);
    assert_int_equal(hits, 2100);
}

static void
test_review_reopen(void **state)
{
    struct dash_fx *x = *state;
    struct model_check c;
    int64_t item = 0;
    size_t reverted = 0;

    add(x, "who@three.example", BNC_KIND_UNKNOWN, BNC_R_UNDEFINED, T1, "something odd");
    assert_int_equal(store_query_int(x->st, "SELECT MAX(id) FROM review_items", NULL, 0, &item),
                     BNC_OK);
    assert_true(item > 0);
    assert_int_equal(model_review_reopen(x->st, item, "t", T1 + D, NULL), BNC_ECONFLICT);
    assert_int_equal(model_review_resolve(x->st, &x->pc, item, "hard", "t", T1 + D, NULL), BNC_OK);
    assert_int_equal(model_check(x->st, NULL, "who@three.example", 0, &c), BNC_OK);
    assert_false(c.sendable);
    assert_int_equal(model_review_reopen(x->st, item, "t", T1 + D, &reverted), BNC_OK);
    assert_int_equal(reverted, 1);
    assert_int_equal(model_check(x->st, NULL, "who@three.example", 0, &c), BNC_OK);
    assert_true(c.sendable);
    assert_int_equal(model_review_reopen(x->st, item, "t", T1 + D, NULL), BNC_ECONFLICT);
    /* open again: it can be resolved again */
    assert_int_equal(model_review_resolve(x->st, &x->pc, item, "ignore", "t", T1 + D, NULL),
                     BNC_OK);
    assert_int_equal(model_review_reopen(x->st, 424242, "t", T1, NULL), BNC_ENOTFOUND);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_newest_first_paging, fx_open, fx_close),
        cmocka_unit_test_setup_teardown(test_series_domains_span, fx_open, fx_close),
        cmocka_unit_test_setup_teardown(test_supp_search, fx_open, fx_close),
        cmocka_unit_test_setup_teardown(test_diagnostic_walk, fx_open, fx_close),
        cmocka_unit_test_setup_teardown(test_review_reopen, fx_open, fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
