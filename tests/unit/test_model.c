/*
 * test_model.c - the domain queries (src/store/model_*.c) against a fresh SQLite file per
 * test (run as `test_model pg`: a fresh PostgreSQL database per test on the server named by
 * $BNC_PG_URL or the file $BNC_PG_URL_FILE; skipped (77) without one, except under CI=true):
 * contacts and attributes, check and suppressions (with and without a contact), the
 * hygiene path of model_apply_verdict (hard, soft strikes, sender side, review, dedupe),
 * review resolution, audit list and revert, sweep, reactivation, pagination, statistics,
 * ingest records, and fault injection: a failure at any store call of a verdict leaves
 * nothing behind.
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
#include "store/fault.h"
#include "store/model.h"
#include "store/model_int.h"
#include "store/store.h"

#define DAY ((int64_t)86400)
#define T0  ((int64_t)1763856000) /* 2025-11-23 00:00:00 UTC */

static int g_pg;               /* testing PostgreSQL */
static char g_admin_url[1024]; /* PG: the fixture's database, to create/drop ours */
static int g_seq;

struct fx {
    char dir[256];
    char path[1100];
    char dbname[64];
    struct bnc_config cfg;
    struct policy_cfg pc;
    struct store *st;
};

/* Run one statement on the fixture's database (CREATE/DROP DATABASE). */
static int
admin_exec(const char *sql)
{
    struct bnc_config cfg;
    struct store *st = NULL;
    char err[256];
    int rc = -1;

    cfg_init(&cfg);
    if (store_open(g_admin_url, &cfg, &st, err, sizeof(err)) == BNC_OK) {
        rc = store_exec(st, sql, NULL, 0, NULL, NULL, NULL) == BNC_OK ? 0 : -1;
        if (rc != 0) {
            fprintf(stderr, "%s: %s\n", sql, store_errmsg(st));
        }
        store_close(st);
    } else {
        fprintf(stderr, "admin store_open: %s\n", err);
    }
    cfg_free(&cfg);
    return rc;
}

/* The fixture URL with its database replaced by dbname. */
static void
pg_url_for(const char *dbname, char *out, size_t outlen)
{
    const char *p = strstr(g_admin_url, "://");
    const char *slash = p ? strchr(p + 3, '/') : NULL;
    const char *q = slash ? strchr(slash, '?') : NULL;
    size_t head = slash ? (size_t)(slash - g_admin_url) : strlen(g_admin_url);

    snprintf(out, outlen, "%.*s/%s%s", (int)head, g_admin_url, dbname, q ? q : "");
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[256];
    const char *tmp = getenv("TMPDIR");

    if (g_pg) {
        char sql[128];
        snprintf(f->dbname, sizeof(f->dbname), "hyg_model_%d_%d", (int)getpid(), ++g_seq);
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", f->dbname);
        if (admin_exec(sql) != 0) {
            return -1;
        }
        pg_url_for(f->dbname, f->path, sizeof(f->path));
    } else {
        snprintf(f->dir, sizeof(f->dir), "%s/test_model.XXXXXX", tmp ? tmp : "/tmp");
        if (mkdtemp(f->dir) == NULL) {
            return -1;
        }
        snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    }
    cfg_init(&f->cfg);
    policy_cfg_from_config(&f->pc, &f->cfg);
    if (store_open(f->path, &f->cfg, &f->st, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "store_open: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char p[400];

    store_close(f->st);
    cfg_free(&f->cfg);
    if (g_pg) {
        snprintf(p, sizeof(p), "DROP DATABASE IF EXISTS %s", f->dbname);
        admin_exec(p);
        free(f);
        return 0;
    }
    snprintf(p, sizeof(p), "%s/t.db", f->dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/t.db-wal", f->dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/t.db-shm", f->dir);
    unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct bnc_rcpt
verdict(const char *rcpt, bnc_kind kind, bnc_reason reason, const char *status)
{
    struct bnc_rcpt v;

    memset(&v, 0, sizeof(v));
    v.recipient = rcpt;
    v.original_recipient = "";
    snprintf(v.status, sizeof(v.status), "%s", status);
    snprintf(v.replycode, sizeof(v.replycode), "%s", status[0] == '5' ? "550" : "452");
    v.action = BNC_ACTION_FAILED;
    v.reason = reason;
    v.kind = kind;
    v.hard = kind == BNC_KIND_HARD ? 1 : kind == BNC_KIND_UNKNOWN ? -1 : 0;
    v.diagnostic = "smtp; 550 test";
    v.diagnostic_type = "smtp";
    v.remote_mta = v.reporting_mta = v.date = "";
    v.origin = "dsn";
    v.message_id = v.original_message_id = v.feedback_type = "";
    v.decided_by = "status:test";
    v.smtp_command = "";
    return v;
}

static int64_t
count(struct store *st, const char *sql)
{
    int64_t n = -1;
    assert_int_equal(store_query_int(st, sql, NULL, 0, &n), BNC_OK);
    return n;
}

static int64_t
new_contact_on_list(struct fx *f, const char *email, const char *list)
{
    int64_t id = 0, lid = 0;
    assert_int_equal(model_contact_create(f->st, email, "{\"plan\":\"gold\"}", T0, &id), BNC_OK);
    assert_int_equal(model_list_ensure(f->st, list, T0, &lid), BNC_OK);
    assert_int_equal(model_list_subscribe(f->st, lid, id, T0), BNC_OK);
    return id;
}

static void
test_contacts_and_attributes(void **state)
{
    struct fx *f = *state;
    struct model_contact c;
    int64_t id = 0, id2 = 0;
    bool created = false;

    assert_int_equal(model_contact_create(f->st, "Alice@Example.COM", "{\"a\":1}", T0, &id),
                     BNC_OK);
    assert_int_equal(model_contact_create(f->st, "alice@example.com", NULL, T0, &id2),
                     BNC_ECONFLICT);
    assert_int_equal(model_contact_create(f->st, "not-an-address", NULL, T0, &id2), BNC_EINVAL);
    assert_int_equal(model_contact_create(f->st, "b@example.com", "[1]", T0, &id2), BNC_EINVAL);
    assert_int_equal(model_contact_find(f->st, &f->pc, "ALICE@example.com", T0, &c), BNC_OK);
    assert_int_equal(c.id, id);
    assert_string_equal(c.email, "alice@example.com");
    assert_int_equal(c.status, HYG_ACTIVE);
    assert_string_equal(c.attributes, "{\"a\":1}");
    model_contact_free(&c);

    /* merge: keys replace, null removes, others stay */
    assert_int_equal(model_contact_set_attributes(f->st, id, "{\"b\":\"x\",\"a\":null}", true, T0),
                     BNC_OK);
    assert_int_equal(model_contact_get(f->st, NULL, id, T0, &c), BNC_OK);
    assert_string_equal(c.attributes, "{\"b\":\"x\"}");
    model_contact_free(&c);
    assert_int_equal(model_contact_set_attributes(f->st, id, "{\"c\":2}", false, T0), BNC_OK);
    assert_int_equal(model_contact_get(f->st, NULL, id, T0, &c), BNC_OK);
    assert_string_equal(c.attributes, "{\"c\":2}");
    model_contact_free(&c);
    assert_int_equal(model_contact_set_attributes(f->st, 999, "{}", true, T0), BNC_ENOTFOUND);

    /* upsert merges */
    assert_int_equal(
        model_contact_upsert(f->st, "alice@example.com", "{\"d\":3}", T0, &id2, &created), BNC_OK);
    assert_false(created);
    assert_int_equal(id2, id);
    assert_int_equal(model_contact_get(f->st, NULL, id, T0, &c), BNC_OK);
    assert_string_equal(c.attributes, "{\"c\":2,\"d\":3}");
    model_contact_free(&c);
    assert_int_equal(model_contact_upsert(f->st, "new@example.com", NULL, T0, &id2, &created),
                     BNC_OK);
    assert_true(created);

    assert_int_equal(model_contact_delete(f->st, id2), BNC_OK);
    assert_int_equal(model_contact_delete(f->st, id2), BNC_ENOTFOUND);
}

static void
test_suppression_without_contact(void **state)
{
    struct fx *f = *state;
    struct model_check ck;
    bool created = false;

    assert_int_equal(model_check(f->st, NULL, "nobody@example.org", 0, &ck), BNC_OK);
    assert_true(ck.sendable);
    assert_false(ck.known);
    assert_int_equal(
        model_suppress(f->st, "Nobody@example.org", "manual", "manual", "admin", "", T0, &created),
        BNC_OK);
    assert_true(created);
    assert_int_equal(
        model_suppress(f->st, "nobody@example.org", "manual", "manual", "admin", "", T0, &created),
        BNC_OK);
    assert_false(created);
    assert_int_equal(model_check(f->st, NULL, "nobody@example.org", 0, &ck), BNC_OK);
    assert_false(ck.sendable);
    assert_string_equal(ck.reason, "manual");
    assert_int_equal(ck.since, T0);
    assert_int_equal(model_unsuppress(f->st, "nobody@example.org", "admin", "test", T0 + 1),
                     BNC_OK);
    assert_int_equal(model_check(f->st, NULL, "nobody@example.org", 0, &ck), BNC_OK);
    assert_true(ck.sendable);
    assert_int_equal(model_unsuppress(f->st, "nobody@example.org", "admin", "test", T0 + 1),
                     BNC_ENOTFOUND);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_log"), 2);

    /* bulk: one read transaction, per-address results */
    {
        const char *addrs[3] = {"nobody@example.org", "bad address", "gone@example.org"};
        struct model_check out[3];
        bnc_status rcs[3];
        assert_int_equal(model_suppress(f->st, "gone@example.org", "userunknown", "bounce",
                                        "bounce", "", T0, NULL),
                         BNC_OK);
        assert_int_equal(model_check_many(f->st, NULL, addrs, 3, 0, out, rcs), BNC_OK);
        assert_int_equal(rcs[0], BNC_OK);
        assert_true(out[0].sendable);
        assert_int_equal(rcs[1], BNC_EINVAL);
        assert_int_equal(rcs[2], BNC_OK);
        assert_false(out[2].sendable);
        assert_string_equal(out[2].reason, "userunknown");
    }
}

static void
test_hard_path_and_revert(void **state)
{
    struct fx *f = *state;
    struct bnc_rcpt v = verdict("a@example.com", BNC_KIND_HARD, BNC_R_USERUNKNOWN, "5.1.1");
    struct model_outcome o;
    struct model_contact c;
    struct model_check ck;
    char lists[128];
    int64_t id = new_contact_on_list(f, "a@example.com", "news");
    int64_t audit_id, rid = 0;
    struct model_revert rv;

    memset(&rv, 0, sizeof(rv));
    assert_int_equal(model_apply_verdict(f->st, &f->pc, &v, "file", "a.eml", "k1", T0 + 10,
                                         "bounce", T0 + 20, &o),
                     BNC_OK);
    assert_false(o.duplicate);
    assert_true(o.contact_changed);
    assert_int_equal(o.contact_id, id);
    assert_int_equal(model_contact_get(f->st, &f->pc, id, T0 + 20, &c), BNC_OK);
    assert_int_equal(c.status, HYG_BOUNCED_HARD);
    assert_true(c.suppressed);
    assert_string_equal(c.last_reason, "userunknown");
    assert_string_equal(c.last_status, "5.1.1");
    assert_string_equal(c.attributes, "{\"plan\":\"gold\"}"); /* never touched */
    model_contact_free(&c);
    assert_int_equal(model_contact_lists(f->st, id, lists, sizeof(lists)), BNC_OK);
    assert_string_equal(lists, "");
    assert_int_equal(model_check(f->st, NULL, "a@example.com", 0, &ck), BNC_OK);
    assert_false(ck.sendable);
    assert_string_equal(ck.status, "BOUNCED_HARD");

    /* the same verdict again changes nothing */
    assert_int_equal(model_apply_verdict(f->st, &f->pc, &v, "file", "a.eml", "k1", T0 + 10,
                                         "bounce", T0 + 30, &o),
                     BNC_OK);
    assert_true(o.duplicate);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM bounce_events"), 1);
    audit_id = count(f->st, "SELECT MAX(id) FROM audit_log WHERE action = 'bounce'");
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_log"), 1);

    /* revert: sendable again and back on news */
    assert_int_equal(model_audit_revert(f->st, audit_id, "admin", T0 + 40, &rv), BNC_OK);
    rid = rv.new_id;
    assert_true(rid > audit_id);
    assert_int_equal(rv.reverted, 1);
    assert_int_equal(model_check(f->st, NULL, "a@example.com", 0, &ck), BNC_OK);
    assert_true(ck.sendable);
    assert_string_equal(ck.status, "ACTIVE");
    assert_int_equal(model_contact_lists(f->st, id, lists, sizeof(lists)), BNC_OK);
    assert_string_equal(lists, "news");
    assert_int_equal(model_audit_revert(f->st, audit_id, "admin", T0 + 41, &rv), BNC_ECONFLICT);
    assert_int_equal(rv.ndeps, 0);
    assert_int_equal(model_audit_revert(f->st, rid, "admin", T0 + 41, &rv), BNC_ECONFLICT);
    assert_int_equal(model_audit_revert(f->st, 9999, "admin", T0 + 41, &rv), BNC_ENOTFOUND);
}

static void
test_soft_strikes_sender_and_sweep(void **state)
{
    struct fx *f = *state;
    struct bnc_rcpt v = verdict("b@example.com", BNC_KIND_SOFT, BNC_R_MAILBOXFULL, "4.2.2");
    struct bnc_rcpt s = verdict("b@example.com", BNC_KIND_SOFT, BNC_R_BLOCKED, "5.7.1");
    struct model_outcome o;
    struct model_contact c;
    char key[32];
    int64_t id = new_contact_on_list(f, "b@example.com", "news");
    size_t n = 0;
    int i;

    /* five the same day: one strike */
    for (i = 0; i < 5; i++) {
        snprintf(key, sizeof(key), "same-%d", i);
        assert_int_equal(model_apply_verdict(f->st, &f->pc, &v, "file", key, key, T0 + i * 600,
                                             "bounce", T0 + DAY, &o),
                         BNC_OK);
    }
    assert_int_equal(model_contact_get(f->st, &f->pc, id, T0 + DAY, &c), BNC_OK);
    assert_int_equal(c.status, HYG_SOFT_BOUNCING);
    assert_int_equal(c.soft_count, 1);
    model_contact_free(&c);
    /* sender side: recorded, no change */
    assert_int_equal(
        model_apply_verdict(f->st, &f->pc, &s, "file", "s", "s1", T0 + DAY, "bounce", T0 + DAY, &o),
        BNC_OK);
    assert_false(o.contact_changed);
    assert_true(o.actions & POLICY_A_SENDER);
    /* lazy decay on read 31 days later, persisted by the sweep */
    assert_int_equal(model_contact_get(f->st, &f->pc, id, T0 + 31 * DAY, &c), BNC_OK);
    assert_int_equal(c.status, HYG_ACTIVE);
    assert_int_equal(c.soft_count, 0);
    model_contact_free(&c);
    assert_int_equal(model_sweep(f->st, &f->pc, T0 + 30 * DAY, &n), BNC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(model_sweep(f->st, &f->pc, T0 + 31 * DAY, &n), BNC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(model_contact_get(f->st, NULL, id, T0, &c), BNC_OK);
    assert_int_equal(c.status, HYG_ACTIVE);
    assert_int_equal(c.soft_count, 0);
    model_contact_free(&c);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_log WHERE action = 'sweep'"), 1);
}

static void
test_review_resolve(void **state)
{
    struct fx *f = *state;
    struct bnc_rcpt v = verdict("r@example.com", BNC_KIND_UNKNOWN, BNC_R_UNDEFINED, "");
    struct model_outcome o;
    struct model_contact c;
    int64_t id = new_contact_on_list(f, "r@example.com", "news");
    int64_t rid;

    assert_int_equal(
        model_apply_verdict(f->st, &f->pc, &v, "file", "r", "r1", T0, "bounce", T0, &o), BNC_OK);
    assert_true(o.review_created);
    assert_false(o.contact_changed);
    assert_int_equal(model_contact_get(f->st, NULL, id, T0, &c), BNC_OK);
    assert_int_equal(c.status, HYG_ACTIVE);
    model_contact_free(&c);
    rid = count(f->st, "SELECT MAX(id) FROM review_items WHERE state = 'open'");
    assert_int_equal(model_review_resolve(f->st, &f->pc, rid, "maybe", "admin", T0, NULL),
                     BNC_EINVAL);
    assert_int_equal(model_review_resolve(f->st, &f->pc, rid, "hard", "admin", T0 + 5, &o), BNC_OK);
    assert_true(o.contact_changed);
    assert_int_equal(model_contact_get(f->st, NULL, id, T0, &c), BNC_OK);
    assert_int_equal(c.status, HYG_BOUNCED_HARD);
    assert_true(c.suppressed);
    model_contact_free(&c);
    assert_int_equal(model_review_resolve(f->st, &f->pc, rid, "hard", "admin", T0 + 5, NULL),
                     BNC_ECONFLICT);
    assert_int_equal(model_review_resolve(f->st, &f->pc, 999, "ignore", "admin", T0, NULL),
                     BNC_ENOTFOUND);
}

static int
count_cb(void *ud, const struct model_contact *c)
{
    (void)c;
    (*(int *)ud)++;
    return 0;
}

static int
stat_cb(void *ud, const char *key, int64_t n)
{
    char *out = ud;
    size_t l = strlen(out);
    snprintf(out + l, 256 - l, "%s=%lld;", key, (long long)n);
    return 0;
}

static void
test_list_stats_email_change(void **state)
{
    struct fx *f = *state;
    struct model_contact_filter flt = {NULL, "news"};
    struct bnc_rcpt v = verdict("p2@example.com", BNC_KIND_HARD, BNC_R_USERUNKNOWN, "5.1.1");
    struct model_outcome o;
    struct model_contact c;
    char buf[256] = "", em[32];
    int64_t id = 0, last = 0;
    size_t n;
    int i, seen = 0;

    for (i = 0; i < 25; i++) {
        snprintf(em, sizeof(em), "p%d@example.com", i);
        id = new_contact_on_list(f, em, "news");
    }
    /* pagination: pages of 10 */
    do {
        assert_int_equal(model_contact_list(f->st, &f->pc, &flt, last, 10, T0, count_cb, &seen, &n),
                         BNC_OK);
        last += (int64_t)n;
    } while (n == 10);
    assert_int_equal(seen, 25);
    assert_int_equal(
        model_apply_verdict(f->st, &f->pc, &v, "file", "x", "x1", T0, "bounce", T0, &o), BNC_OK);
    seen = 0;
    assert_int_equal(model_contact_list(f->st, &f->pc, &flt, 0, 100, T0, count_cb, &seen, &n),
                     BNC_OK);
    assert_int_equal(seen, 24); /* unsubscribed */
    assert_int_equal(model_stats(f->st, NULL, 0, MODEL_STAT_REASON, 0, 0, 10, stat_cb, buf),
                     BNC_OK);
    assert_string_equal(buf, "userunknown=1;");
    buf[0] = '\0';
    assert_int_equal(model_stats(f->st, NULL, 0, MODEL_STAT_DAY, 0, 0, 10, stat_cb, buf), BNC_OK);
    assert_string_equal(buf, "2025-11-23=1;");
    buf[0] = '\0';
    assert_int_equal(model_stats(f->st, NULL, 0, MODEL_STAT_STATUS, 0, 0, 10, stat_cb, buf),
                     BNC_OK);
    assert_string_equal(buf, "ACTIVE=24;BOUNCED_HARD=1;");

    /* a new address reactivates */
    assert_int_equal(model_contact_find(f->st, NULL, "p2@example.com", T0, &c), BNC_OK);
    id = c.id;
    model_contact_free(&c);
    assert_int_equal(model_contact_set_email(f->st, id, "p1@example.com", "admin", T0),
                     BNC_ECONFLICT);
    assert_int_equal(model_contact_set_email(f->st, id, "P2new@example.com", "admin", T0), BNC_OK);
    assert_int_equal(model_contact_get(f->st, NULL, id, T0, &c), BNC_OK);
    assert_string_equal(c.email, "p2new@example.com");
    assert_int_equal(c.status, HYG_ACTIVE);
    assert_false(c.suppressed);
    model_contact_free(&c);
    /* the old address stays suppressed (address-level) */
    {
        struct model_check ck;
        assert_int_equal(model_check(f->st, NULL, "p2@example.com", 0, &ck), BNC_OK);
        assert_false(ck.sendable);
    }
    /* reactivation through re-verification */
    assert_int_equal(
        model_apply_verdict(f->st, &f->pc, &v, "file", "y", "y1", T0, "bounce", T0, &o), BNC_OK);
    v.recipient = "p3@example.com";
    assert_int_equal(
        model_apply_verdict(f->st, &f->pc, &v, "file", "z", "z1", T0, "bounce", T0, &o), BNC_OK);
    assert_int_equal(model_contact_reactivate(f->st, o.contact_id, "verify", "link used", T0),
                     BNC_OK);
    assert_int_equal(model_contact_get(f->st, NULL, o.contact_id, T0, &c), BNC_OK);
    assert_int_equal(c.status, HYG_ACTIVE);
    assert_false(c.suppressed);
    model_contact_free(&c);
}

/* How many contacts the list filter returns for one status at `now`. */
static int
n_with_status(struct fx *f, const char *status, int64_t now)
{
    struct model_contact_filter flt;
    int seen = 0;
    size_t n;

    memset(&flt, 0, sizeof(flt));
    flt.status = status;
    assert_int_equal(model_contact_list(f->st, &f->pc, &flt, 0, 100, now, count_cb, &seen, &n),
                     BNC_OK);
    return seen;
}

static void
test_decay_on_every_read(void **state)
{
    struct fx *f = *state;
    struct bnc_rcpt v = verdict("d@example.com", BNC_KIND_SOFT, BNC_R_MAILBOXFULL, "4.2.2");
    struct model_outcome o;
    struct model_contact c;
    struct model_check ck;
    struct model_totals t;
    char buf[256];
    int64_t id = new_contact_on_list(f, "d@example.com", "news"), day;

    assert_int_equal(
        model_apply_verdict(f->st, &f->pc, &v, "file", "d", "d1", T0, "bounce", T0, &o), BNC_OK);
    /* the day after: every read says SOFT_BOUNCING; 31 days on (no sweep ran): every read
     * says ACTIVE, the contact itself, the check, the status filter, the stats, the totals */
    for (day = 1; day <= 31; day += 30) {
        const char *want = day == 1 ? "SOFT_BOUNCING" : "ACTIVE";
        int64_t now = T0 + day * DAY;
        assert_int_equal(model_contact_get(f->st, &f->pc, id, now, &c), BNC_OK);
        assert_string_equal(hyg_status_name(c.status), want);
        model_contact_free(&c);
        assert_int_equal(model_check(f->st, &f->pc, "d@example.com", now, &ck), BNC_OK);
        assert_string_equal(ck.status, want);
        assert_int_equal(n_with_status(f, want, now), 1);
        assert_int_equal(n_with_status(f, day == 1 ? "ACTIVE" : "SOFT_BOUNCING", now), 0);
        buf[0] = '\0';
        assert_int_equal(model_stats(f->st, &f->pc, now, MODEL_STAT_STATUS, 0, 0, 10, stat_cb, buf),
                         BNC_OK);
        assert_true(strncmp(buf, want, strlen(want)) == 0 && strchr(buf, ';')[1] == '\0');
        assert_int_equal(model_totals(f->st, &f->pc, now, &t), BNC_OK);
        assert_int_equal(t.by_status[HYG_SOFT_BOUNCING], day == 1 ? 1 : 0);
        assert_int_equal(t.by_status[HYG_ACTIVE], day == 1 ? 0 : 1);
    }
    /* the reason and since filters */
    {
        struct model_contact_filter flt = {NULL, NULL, "mailboxfull", T0};
        int seen = 0;
        size_t n;
        assert_int_equal(model_contact_list(f->st, &f->pc, &flt, 0, 100, T0, count_cb, &seen, &n),
                         BNC_OK);
        assert_int_equal(seen, 1);
        flt.since = T0 + 1;
        assert_int_equal(model_contact_list(f->st, &f->pc, &flt, 0, 100, T0, count_cb, &seen, &n),
                         BNC_OK);
        assert_int_equal(seen, 1); /* unchanged: none after T0 */
        flt.since = 0;
        flt.reason = "userunknown";
        assert_int_equal(model_contact_list(f->st, &f->pc, &flt, 0, 100, T0, count_cb, &seen, &n),
                         BNC_OK);
        assert_int_equal(seen, 1);
    }
}

static void
test_revert_dependents(void **state)
{
    struct fx *f = *state;
    struct bnc_rcpt v = verdict("r@example.com", BNC_KIND_HARD, BNC_R_USERUNKNOWN, "5.1.1");
    struct bnc_rcpt w = verdict("w@example.com", BNC_KIND_HARD, BNC_R_USERUNKNOWN, "5.1.1");
    struct model_outcome o;
    struct model_revert rv;
    struct model_check ck;
    char lists[128];
    int64_t id = new_contact_on_list(f, "r@example.com", "news"), bounce, unsupp, other;

    new_contact_on_list(f, "w@example.com", "news");
    assert_int_equal(
        model_apply_verdict(f->st, &f->pc, &v, "file", "r", "r1", T0, "bounce", T0, &o), BNC_OK);
    bounce = count(f->st, "SELECT MAX(id) FROM audit_log");
    assert_int_equal(model_unsuppress(f->st, "r@example.com", "admin", "checked", T0 + 10), BNC_OK);
    unsupp = count(f->st, "SELECT MAX(id) FROM audit_log");
    assert_int_equal(
        model_apply_verdict(f->st, &f->pc, &w, "file", "w", "w1", T0 + 20, "bounce", T0 + 20, &o),
        BNC_OK);
    other = count(f->st, "SELECT MAX(id) FROM audit_log");
    assert_int_equal(
        model_suppress(f->st, "r@example.com", "manual", "manual", "admin", "", T0 + 30, NULL),
        BNC_OK);
    /* the bounce has two later entries on its contact (not w's): refused, nothing changed */
    memset(&rv, 0, sizeof(rv));
    assert_int_equal(model_audit_revert(f->st, bounce, "admin", T0 + 40, &rv), BNC_ECONFLICT);
    assert_int_equal(rv.ndeps, 2);
    assert_true(rv.deps[0] > unsupp && rv.deps[1] == unsupp);
    assert_true(rv.deps[0] != other && rv.deps[1] != other);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_log WHERE reverted_at IS NOT NULL"),
                     0);
    /* reverting the newest alone is fine; the bounce still has the unsuppress on top */
    assert_int_equal(model_audit_revert(f->st, rv.deps[0], "admin", T0 + 41, &rv), BNC_OK);
    assert_int_equal(model_audit_revert(f->st, bounce, "admin", T0 + 42, &rv), BNC_ECONFLICT);
    assert_int_equal(rv.ndeps, 1);
    assert_int_equal(rv.deps[0], unsupp);
    /* cascade: the unsuppress, then the bounce, newest first, in one go */
    rv.cascade = true;
    assert_int_equal(model_audit_revert(f->st, bounce, "admin", T0 + 43, &rv), BNC_OK);
    assert_int_equal(rv.reverted, 2);
    assert_int_equal(model_check(f->st, &f->pc, "r@example.com", T0 + 43, &ck), BNC_OK);
    assert_true(ck.sendable);
    assert_string_equal(ck.status, "ACTIVE");
    assert_int_equal(model_contact_lists(f->st, id, lists, sizeof(lists)), BNC_OK);
    assert_string_equal(lists, "news");
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_log WHERE action = 'revert'"), 3);
    /* w's bounce had nothing on top of it */
    rv.cascade = false;
    assert_int_equal(model_audit_revert(f->st, other, "admin", T0 + 44, &rv), BNC_OK);
    assert_int_equal(rv.reverted, 1);
    /* an entry of an address with no contact */
    assert_int_equal(model_suppress(f->st, "nocontact@example.com", "manual", "manual", "admin", "",
                                    T0 + 50, NULL),
                     BNC_OK);
    assert_int_equal(model_audit_revert(f->st, count(f->st, "SELECT MAX(id) FROM audit_log"),
                                        "admin", T0 + 51, &rv),
                     BNC_OK);
    assert_int_equal(model_check(f->st, &f->pc, "nocontact@example.com", T0 + 51, &ck), BNC_OK);
    assert_true(ck.sendable);
}

struct members {
    char out[512];
};

static int
member_cb(void *ud, const struct model_membership *m)
{
    struct members *mb = ud;
    size_t l = strlen(mb->out);
    snprintf(mb->out + l, sizeof(mb->out) - l, "%s:%s:%s;", m->list, m->subscribed ? "in" : "out",
             m->unsubscribed_by);
    return 0;
}

static int
list_cb(void *ud, const struct model_list *l)
{
    char *out = ud;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s=%lld/%lld;", l->name, (long long)l->subscribed,
             (long long)l->unsubscribed);
    return 0;
}

static void
test_lists_and_reverification(void **state)
{
    struct fx *f = *state;
    struct bnc_rcpt v = verdict("l@example.com", BNC_KIND_HARD, BNC_R_USERUNKNOWN, "5.1.1");
    const char *both[] = {"news", "promo", "promo"}, *promo[] = {"promo"}, *bad[] = {"a\nb"};
    struct model_outcome o;
    struct members mb;
    char buf[256] = "";
    bool changed = false;
    int64_t id = new_contact_on_list(f, "l@example.com", "news");

    assert_int_equal(model_contact_set_lists(f->st, id, both, 3, "api", "api", T0, &changed),
                     BNC_OK);
    assert_true(changed);
    assert_int_equal(model_contact_set_lists(f->st, id, both, 2, "api", "api", T0, &changed),
                     BNC_OK);
    assert_false(changed); /* the same set: no audit row */
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_log WHERE action = 'lists'"), 1);
    assert_int_equal(model_contact_set_lists(f->st, id, promo, 1, "api", "api", T0 + 1, NULL),
                     BNC_OK);
    assert_int_equal(model_contact_set_lists(f->st, id, bad, 1, "api", "api", T0 + 1, NULL),
                     BNC_EINVAL);
    assert_int_equal(model_contact_set_lists(f->st, 9999, promo, 1, "api", "api", T0, NULL),
                     BNC_ENOTFOUND);
    /* the hard bounce takes it off promo; re-verification puts it back on promo, not news */
    assert_int_equal(
        model_apply_verdict(f->st, &f->pc, &v, "file", "l", "l1", T0 + 2, "bounce", T0 + 2, &o),
        BNC_OK);
    memset(&mb, 0, sizeof(mb));
    assert_int_equal(model_contact_memberships(f->st, id, member_cb, &mb), BNC_OK);
    assert_string_equal(mb.out, "news:out:api;promo:out:bounce;");
    assert_int_equal(model_contact_reactivate(f->st, id, "verify", "link", T0 + 3), BNC_OK);
    memset(&mb, 0, sizeof(mb));
    assert_int_equal(model_contact_memberships(f->st, id, member_cb, &mb), BNC_OK);
    assert_string_equal(mb.out, "news:out:api;promo:in:;");
    assert_int_equal(model_lists(f->st, 0, 10, list_cb, buf, NULL), BNC_OK);
    assert_string_equal(buf, "news=0/1;promo=1/0;");
    assert_int_equal(model_contact_memberships(f->st, 9999, member_cb, &mb), BNC_ENOTFOUND);
}

static void
test_ingested_and_offsets(void **state)
{
    struct fx *f = *state;
    bool found = true;
    int64_t pos = -1;

    assert_int_equal(model_ingested_find(f->st, "file", "a", "h1", &found), BNC_OK);
    assert_false(found);
    assert_int_equal(model_ingested_add(f->st, "file", "a", "h1", 1, false, T0), BNC_OK);
    assert_int_equal(model_ingested_add(f->st, "file", "a", "h2", 1, false, T0), BNC_ECONFLICT);
    assert_int_equal(model_ingested_find(f->st, "smtp", "b", "h1", &found), BNC_OK);
    assert_true(found);
    assert_int_equal(model_ingested_find(f->st, "file", "a", "zz", &found), BNC_OK);
    assert_true(found);
    assert_int_equal(model_offset_get(f->st, "maillog", &pos), BNC_OK);
    assert_int_equal(pos, 0);
    assert_int_equal(model_offset_set(f->st, "maillog", 1234, T0), BNC_OK);
    assert_int_equal(model_offset_set(f->st, "maillog", 5678, T0), BNC_OK);
    assert_int_equal(model_offset_get(f->st, "maillog", &pos), BNC_OK);
    assert_int_equal(pos, 5678);
}

/* A failure at any one store call inside model_apply_verdict leaves no trace. */
static void
test_fault_injection(void **state)
{
    struct fx *f = *state;
    struct bnc_rcpt v = verdict("fa@example.com", BNC_KIND_HARD, BNC_R_USERUNKNOWN, "5.1.1");
    struct model_outcome o;
    struct store *fs;
    const char *tables[] = {"bounce_events", "suppressions", "audit_log", "review_items"};
    int64_t before[4];
    long n, k;
    size_t t;
    int64_t id = new_contact_on_list(f, "fa@example.com", "news");

    (void)id;
    assert_int_equal(store_fault_wrap(f->st, &fs), BNC_OK);
    f->st = fs;
    /* learn how many calls the work makes, on a scratch verdict */
    {
        struct bnc_rcpt w = verdict("other@example.com", BNC_KIND_HARD, BNC_R_USERUNKNOWN, "5.1.1");
        int64_t oid = new_contact_on_list(f, "other@example.com", "news");
        (void)oid;
        store_fault_fail_at(fs, 0, BNC_OK);
        assert_int_equal(
            model_apply_verdict(fs, &f->pc, &w, "file", "w", "w1", T0, "bounce", T0, &o), BNC_OK);
        n = store_fault_exec_count(fs);
        assert_true(n > 5);
    }
    for (t = 0; t < 4; t++) {
        char q[80];
        snprintf(q, sizeof(q), "SELECT COUNT(*) FROM %s", tables[t]);
        before[t] = count(fs, q);
    }
    for (k = 1; k <= n; k++) {
        store_fault_fail_at(fs, k, BNC_EIO);
        assert_int_not_equal(
            model_apply_verdict(fs, &f->pc, &v, "file", "f", "f1", T0, "bounce", T0, &o), BNC_OK);
        store_fault_fail_at(fs, 0, BNC_OK);
        for (t = 0; t < 4; t++) {
            char q[80];
            snprintf(q, sizeof(q), "SELECT COUNT(*) FROM %s", tables[t]);
            if (count(fs, q) != before[t]) {
                fail_msg("failure at call %ld left rows in %s", k, tables[t]);
            }
        }
        {
            struct model_check ck;
            assert_int_equal(model_check(fs, NULL, "fa@example.com", 0, &ck), BNC_OK);
            assert_true(ck.sendable);
            assert_string_equal(ck.status, "ACTIVE");
        }
    }
    /* and unarmed it goes through */
    assert_int_equal(model_apply_verdict(fs, &f->pc, &v, "file", "f", "f1", T0, "bounce", T0, &o),
                     BNC_OK);
    assert_true(o.contact_changed);
}

/* A state write based on a stale read is refused (optimistic concurrency between nodes). */
static void
test_state_write_is_conditional(void **state)
{
    struct fx *f = *state;
    struct contact_state seen = {HYG_ACTIVE, 0, 0, 0, BNC_R_UNDEFINED};
    struct contact_state next = {HYG_SOFT_BOUNCING, 1, 20000, T0, BNC_R_MAILBOXFULL};
    struct contact_state other = {HYG_SOFT_BOUNCING, 1, 20001, T0 + DAY, BNC_R_MAILBOXFULL};
    struct model_contact c;
    int64_t id = new_contact_on_list(f, "cas@example.com", "news");

    /* node 1 and node 2 both read ACTIVE/0; node 2 writes first */
    assert_int_equal(model_write_state_if(f->st, id, &seen, &other, "4.2.2", T0), BNC_OK);
    assert_int_equal(model_write_state_if(f->st, id, &seen, &next, "4.2.2", T0), BNC_EBUSY);
    assert_int_equal(model_contact_get(f->st, NULL, id, T0, &c), BNC_OK);
    assert_int_equal(c.last_soft_day, 20001);
    model_contact_free(&c);
    /* from the fresh state it goes through */
    next.soft_count = 2;
    assert_int_equal(model_write_state_if(f->st, id, &other, &next, "4.2.2", T0), BNC_OK);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_contacts_and_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suppression_without_contact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hard_path_and_revert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_soft_strikes_sender_and_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_review_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_stats_email_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decay_on_every_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revert_dependents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lists_and_reverification, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ingested_and_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_injection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_write_is_conditional, setup, teardown),
    };
    if (argc > 1 && strcmp(argv[1], "pg") == 0) {
        const char *url = getenv("BNC_PG_URL");
        const char *file = getenv("BNC_PG_URL_FILE");
        const char *ci = getenv("CI");
        g_pg = 1;
        if ((url == NULL || url[0] == '\0') && file != NULL) {
            FILE *fp = fopen(file, "r");
            if (fp != NULL) {
                if (fgets(g_admin_url, sizeof(g_admin_url), fp) == NULL) {
                    g_admin_url[0] = '\0';
                }
                fclose(fp);
                g_admin_url[strcspn(g_admin_url, "\r\n")] = '\0';
            }
        } else if (url != NULL) {
            snprintf(g_admin_url, sizeof(g_admin_url), "%s", url);
        }
        if (g_admin_url[0] == '\0' || admin_exec("SELECT 1") != 0) {
            if (ci != NULL && strcmp(ci, "true") == 0) {
                fprintf(stderr, "test_model pg: no PostgreSQL server under CI\n");
                return 1;
            }
            fprintf(stderr, "test_model pg: no PostgreSQL server; skipped\n");
            return 77;
        }
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
