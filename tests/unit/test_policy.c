/*
 * test_policy.c - table tests of the hygiene state machine (src/hygiene/policy.c): every
 * verdict kind against every contact status, the soft threshold and decay edges, one strike
 * per day, sender-side and review routing, and the config lists overriding the taxonomy.
 * layer: hygiene (links bnc_hygiene and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/cfg.h"
#include "hygiene/policy.h"

#define D(n) ((int64_t)(n)*POLICY_DAY)
#define T0   D(20000) /* a day well after 1970 */

static struct policy_cfg
defcfg(void)
{
    static struct bnc_config cfg;
    static int init;
    struct policy_cfg pc;

    if (!init) {
        cfg_init(&cfg);
        init = 1;
    }
    policy_cfg_from_config(&pc, &cfg);
    return pc;
}

struct kind_case {
    bnc_kind kind;
    bnc_reason reason;
    enum hyg_status from;
    enum hyg_status want;
    unsigned want_set;   /* bits that must be set */
    unsigned want_clear; /* bits that must be clear */
    int64_t want_count;  /* from a count of 1 on day T0-1 */
};

#define SUP (POLICY_A_SUPPRESS | POLICY_A_UNSUBSCRIBE)

/* Every kind x every status; contacts start with one strike on the day before. */
static const struct kind_case kind_cases[] = {
    /* hard */
    {BNC_KIND_HARD, BNC_R_USERUNKNOWN, HYG_ACTIVE, HYG_BOUNCED_HARD, SUP | POLICY_A_CHANGED, 0, 1},
    {BNC_KIND_HARD, BNC_R_USERUNKNOWN, HYG_SOFT_BOUNCING, HYG_BOUNCED_HARD, SUP, 0, 1},
    {BNC_KIND_HARD, BNC_R_HOSTUNKNOWN, HYG_BOUNCED_HARD, HYG_BOUNCED_HARD, SUP, 0, 1},
    {BNC_KIND_HARD, BNC_R_USERUNKNOWN, HYG_COMPLAINED, HYG_COMPLAINED, SUP, 0, 1},
    /* complaint */
    {BNC_KIND_COMPLAINT, BNC_R_FEEDBACK, HYG_ACTIVE, HYG_COMPLAINED, SUP | POLICY_A_CHANGED, 0, 1},
    {BNC_KIND_COMPLAINT, BNC_R_FEEDBACK, HYG_SOFT_BOUNCING, HYG_COMPLAINED, SUP, 0, 1},
    {BNC_KIND_COMPLAINT, BNC_R_FEEDBACK, HYG_BOUNCED_HARD, HYG_COMPLAINED, SUP, 0, 1},
    {BNC_KIND_COMPLAINT, BNC_R_FEEDBACK, HYG_COMPLAINED, HYG_COMPLAINED, SUP, 0, 1},
    /* soft, address side */
    {BNC_KIND_SOFT, BNC_R_MAILBOXFULL, HYG_ACTIVE, HYG_SOFT_BOUNCING,
     POLICY_A_STRIKE | POLICY_A_CHANGED, SUP, 2},
    {BNC_KIND_SOFT, BNC_R_MAILBOXFULL, HYG_SOFT_BOUNCING, HYG_SOFT_BOUNCING, POLICY_A_STRIKE, SUP,
     2},
    {BNC_KIND_SOFT, BNC_R_MAILBOXFULL, HYG_BOUNCED_HARD, HYG_BOUNCED_HARD, POLICY_A_INFO,
     POLICY_A_STRIKE | POLICY_A_CHANGED, 1},
    {BNC_KIND_SOFT, BNC_R_SUSPEND, HYG_COMPLAINED, HYG_COMPLAINED, POLICY_A_INFO,
     POLICY_A_STRIKE | POLICY_A_CHANGED, 1},
    /* soft, sender side */
    {BNC_KIND_SOFT, BNC_R_BLOCKED, HYG_ACTIVE, HYG_ACTIVE, POLICY_A_SENDER,
     POLICY_A_CHANGED | POLICY_A_STRIKE | SUP, 1},
    {BNC_KIND_SOFT, BNC_R_SPAMDETECTED, HYG_SOFT_BOUNCING, HYG_SOFT_BOUNCING, POLICY_A_SENDER,
     POLICY_A_CHANGED | POLICY_A_STRIKE | SUP, 1},
    {BNC_KIND_SOFT, BNC_R_AUTHFAILURE, HYG_BOUNCED_HARD, HYG_BOUNCED_HARD, POLICY_A_SENDER,
     POLICY_A_CHANGED, 1},
    {BNC_KIND_SOFT, BNC_R_POLICYVIOLATION, HYG_COMPLAINED, HYG_COMPLAINED, POLICY_A_SENDER,
     POLICY_A_CHANGED, 1},
    /* soft with no side: review */
    {BNC_KIND_SOFT, BNC_R_ONHOLD, HYG_ACTIVE, HYG_ACTIVE, POLICY_A_REVIEW, POLICY_A_CHANGED, 1},
    /* autoreply, delivered */
    {BNC_KIND_AUTOREPLY, BNC_R_VACATION, HYG_ACTIVE, HYG_ACTIVE, POLICY_A_INFO, POLICY_A_CHANGED,
     1},
    {BNC_KIND_AUTOREPLY, BNC_R_VACATION, HYG_SOFT_BOUNCING, HYG_SOFT_BOUNCING, POLICY_A_INFO,
     POLICY_A_CHANGED, 1},
    {BNC_KIND_AUTOREPLY, BNC_R_VACATION, HYG_BOUNCED_HARD, HYG_BOUNCED_HARD, POLICY_A_INFO,
     POLICY_A_CHANGED, 1},
    {BNC_KIND_AUTOREPLY, BNC_R_VACATION, HYG_COMPLAINED, HYG_COMPLAINED, POLICY_A_INFO,
     POLICY_A_CHANGED, 1},
    {BNC_KIND_DELIVERED, BNC_R_DELIVERED, HYG_ACTIVE, HYG_ACTIVE, POLICY_A_INFO, POLICY_A_CHANGED,
     1},
    {BNC_KIND_DELIVERED, BNC_R_DELIVERED, HYG_SOFT_BOUNCING, HYG_SOFT_BOUNCING, POLICY_A_INFO,
     POLICY_A_CHANGED, 1},
    {BNC_KIND_DELIVERED, BNC_R_DELIVERED, HYG_BOUNCED_HARD, HYG_BOUNCED_HARD, POLICY_A_INFO,
     POLICY_A_CHANGED, 1},
    {BNC_KIND_DELIVERED, BNC_R_DELIVERED, HYG_COMPLAINED, HYG_COMPLAINED, POLICY_A_INFO,
     POLICY_A_CHANGED, 1},
    /* unknown */
    {BNC_KIND_UNKNOWN, BNC_R_UNDEFINED, HYG_ACTIVE, HYG_ACTIVE, POLICY_A_REVIEW, POLICY_A_CHANGED,
     1},
    {BNC_KIND_UNKNOWN, BNC_R_UNDEFINED, HYG_SOFT_BOUNCING, HYG_SOFT_BOUNCING, POLICY_A_REVIEW,
     POLICY_A_CHANGED, 1},
    {BNC_KIND_UNKNOWN, BNC_R_UNDEFINED, HYG_BOUNCED_HARD, HYG_BOUNCED_HARD, POLICY_A_REVIEW,
     POLICY_A_CHANGED, 1},
    {BNC_KIND_UNKNOWN, BNC_R_UNDEFINED, HYG_COMPLAINED, HYG_COMPLAINED, POLICY_A_REVIEW,
     POLICY_A_CHANGED, 1},
};

static void
test_kind_by_status(void **state)
{
    struct policy_cfg pc = defcfg();
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(kind_cases) / sizeof(kind_cases[0]); i++) {
        const struct kind_case *c = &kind_cases[i];
        struct contact_state in = {c->from, 1, T0 / POLICY_DAY - 1, T0 - POLICY_DAY,
                                   BNC_R_MAILBOXFULL};
        struct contact_state out;
        struct policy_verdict v = {c->kind, c->reason, T0 + 3600, BNC_SIDE_UNKNOWN};
        unsigned acts = 0;
        char what[128];

        snprintf(what, sizeof(what), "case %zu: %s/%s from %s", i, bnc_kind_name(c->kind),
                 bnc_reason_name(c->reason), hyg_status_name(c->from));
        policy_apply(&pc, &in, &v, T0 + 7200, &out, &acts);
        if (out.status != c->want || (acts & c->want_set) != c->want_set ||
            (acts & c->want_clear) != 0 || out.soft_count != c->want_count ||
            !(acts & POLICY_A_EVENT)) {
            fail_msg("%s: got %s acts=0x%x count=%lld", what, hyg_status_name(out.status), acts,
                     (long long)out.soft_count);
        }
        /* a review never touches the contact */
        if (acts & POLICY_A_REVIEW) {
            /* field by field: the structs' padding bytes are indeterminate */
            assert_int_equal(in.status, out.status);
            assert_int_equal(in.soft_count, out.soft_count);
            assert_int_equal(in.last_soft_day, out.last_soft_day);
            assert_int_equal(in.last_bounce_at, out.last_bounce_at);
            assert_int_equal(in.last_reason, out.last_reason);
        }
    }
}

/* mailboxfull on days 1..5: SOFT_BOUNCING 1,2,3 then BOUNCED_HARD at the 4th (threshold 3) */
static void
test_threshold(void **state)
{
    struct policy_cfg pc = defcfg();
    struct contact_state s = {HYG_ACTIVE, 0, 0, 0, BNC_R_UNDEFINED};
    struct policy_verdict v = {BNC_KIND_SOFT, BNC_R_MAILBOXFULL, 0, BNC_SIDE_UNKNOWN};
    unsigned acts;
    int day;

    (void)state;
    for (day = 1; day <= 3; day++) {
        v.time = T0 + D(day) + 100;
        policy_apply(&pc, &s, &v, v.time, &s, &acts);
        assert_int_equal(s.status, HYG_SOFT_BOUNCING);
        assert_int_equal(s.soft_count, day);
        assert_false(acts & POLICY_A_SUPPRESS);
    }
    v.time = T0 + D(4) + 100;
    policy_apply(&pc, &s, &v, v.time, &s, &acts);
    assert_int_equal(s.status, HYG_BOUNCED_HARD);
    assert_int_equal(s.soft_count, 4);
    assert_int_equal(s.last_reason, BNC_R_MAILBOXFULL); /* reason kept */
    assert_true(acts & POLICY_A_ESCALATED);
    assert_true(acts & POLICY_A_SUPPRESS);
    assert_true(acts & POLICY_A_UNSUBSCRIBE);

    /* threshold 1: the second day escalates */
    pc.soft_threshold = 1;
    memset(&s, 0, sizeof(s));
    v.time = T0;
    policy_apply(&pc, &s, &v, T0, &s, &acts);
    assert_int_equal(s.status, HYG_SOFT_BOUNCING);
    v.time = T0 + D(1);
    policy_apply(&pc, &s, &v, T0, &s, &acts);
    assert_int_equal(s.status, HYG_BOUNCED_HARD);
}

/* five soft bounces on one UTC day are one strike; the next day is the second */
static void
test_one_strike_per_day(void **state)
{
    struct policy_cfg pc = defcfg();
    struct contact_state s = {HYG_ACTIVE, 0, 0, 0, BNC_R_UNDEFINED};
    struct policy_verdict v = {BNC_KIND_SOFT, BNC_R_MAILBOXFULL, 0, BNC_SIDE_UNKNOWN};
    unsigned acts;
    int i;

    (void)state;
    for (i = 0; i < 5; i++) {
        v.time = T0 + i * 3600; /* 00:00 .. 04:00 */
        policy_apply(&pc, &s, &v, T0 + D(2), &s, &acts);
        assert_int_equal(s.soft_count, 1);
        if (i > 0) {
            assert_true(acts & POLICY_A_SAME_DAY);
            assert_false(acts & POLICY_A_CHANGED);
        }
    }
    v.time = T0 + POLICY_DAY - 1; /* 23:59:59 the same day */
    policy_apply(&pc, &s, &v, T0, &s, &acts);
    assert_int_equal(s.soft_count, 1);
    v.time = T0 + POLICY_DAY; /* midnight: next day */
    policy_apply(&pc, &s, &v, T0, &s, &acts);
    assert_int_equal(s.soft_count, 2);
    /* the event time decides the day, not the processing clock */
    v.time = 0;
    policy_apply(&pc, &s, &v, T0 + POLICY_DAY + 60, &s, &acts);
    assert_int_equal(s.soft_count, 2);
    policy_apply(&pc, &s, &v, T0 + D(2) + 60, &s, &acts);
    assert_int_equal(s.soft_count, 3);
}

/* decay: 30 quiet days keep the count, 31 reset it */
static void
test_decay_edges(void **state)
{
    struct policy_cfg pc = defcfg();
    struct contact_state s = {HYG_SOFT_BOUNCING, 2, T0 / POLICY_DAY, T0 + 60, BNC_R_MAILBOXFULL};
    struct contact_state out;
    struct policy_verdict v = {BNC_KIND_SOFT, BNC_R_MAILBOXFULL, 0, BNC_SIDE_UNKNOWN};
    unsigned acts;

    (void)state;
    assert_false(policy_decay(&pc, &s, T0 + D(30) + 86399, &out));
    assert_int_equal(out.soft_count, 2);
    assert_int_equal(out.status, HYG_SOFT_BOUNCING);
    assert_true(policy_decay(&pc, &s, T0 + D(31), &out));
    assert_int_equal(out.soft_count, 0);
    assert_int_equal(out.status, HYG_ACTIVE);

    /* a strike 31 days later restarts at 1, and says it decayed first */
    v.time = T0 + D(31);
    policy_apply(&pc, &s, &v, v.time, &out, &acts);
    assert_int_equal(out.soft_count, 1);
    assert_int_equal(out.status, HYG_SOFT_BOUNCING);
    assert_true(acts & POLICY_A_DECAYED);
    /* 30 days later it adds up */
    v.time = T0 + D(30);
    policy_apply(&pc, &s, &v, v.time, &out, &acts);
    assert_int_equal(out.soft_count, 3);
    assert_false(acts & POLICY_A_DECAYED);

    /* hard and complained contacts never decay */
    s.status = HYG_BOUNCED_HARD;
    assert_false(policy_decay(&pc, &s, T0 + D(400), &out));
    s.status = HYG_COMPLAINED;
    assert_false(policy_decay(&pc, &s, T0 + D(400), &out));

    /* a configured decay of 1 day */
    pc.soft_decay_days = 1;
    s.status = HYG_SOFT_BOUNCING;
    assert_false(policy_decay(&pc, &s, T0 + D(1), &out));
    assert_true(policy_decay(&pc, &s, T0 + D(2), &out));
}

static void
test_sides_and_config(void **state)
{
    struct policy_cfg pc = defcfg();
    static const bnc_reason address[] = {BNC_R_MAILBOXFULL, BNC_R_SUSPEND, BNC_R_EXPIRED,
                                         BNC_R_SYSTEMERROR, BNC_R_NETWORKERROR};
    static const bnc_reason sender[] = {BNC_R_BLOCKED,     BNC_R_SPAMDETECTED,
                                        BNC_R_AUTHFAILURE, BNC_R_POLICYVIOLATION,
                                        BNC_R_REQUIREPTR,  BNC_R_BADREPUTATION};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(address) / sizeof(address[0]); i++) {
        assert_int_equal(policy_soft_side(&pc, address[i]), BNC_SIDE_ADDRESS);
    }
    for (i = 0; i < sizeof(sender) / sizeof(sender[0]); i++) {
        assert_int_equal(policy_soft_side(&pc, sender[i]), BNC_SIDE_SENDER);
    }
    assert_int_equal(policy_soft_side(&pc, BNC_R_UNDEFINED), BNC_SIDE_UNKNOWN);
    assert_int_equal(policy_soft_side(&pc, BNC_R_ONHOLD), BNC_SIDE_UNKNOWN);
    /* every reason maps to a side without crashing */
    for (i = 0; i <= BNC_R__COUNT; i++) {
        (void)policy_soft_side(&pc, (bnc_reason)i);
    }
    /* the operator moves blocked to the address side */
    pc.address_reasons = "mailboxfull, blocked";
    pc.sender_reasons = "spamdetected";
    assert_int_equal(policy_soft_side(&pc, BNC_R_BLOCKED), BNC_SIDE_ADDRESS);
    assert_int_equal(policy_soft_side(&pc, BNC_R_SPAMDETECTED), BNC_SIDE_SENDER);

    /* a forced side (review resolved as soft) counts a strike for an undefined reason */
    {
        struct policy_cfg d = defcfg();
        struct contact_state s = {HYG_ACTIVE, 0, 0, 0, BNC_R_UNDEFINED};
        struct policy_verdict v = {BNC_KIND_SOFT, BNC_R_UNDEFINED, T0, BNC_SIDE_ADDRESS};
        unsigned acts;
        policy_apply(&d, &s, &v, T0, &s, &acts);
        assert_int_equal(s.soft_count, 1);
        assert_int_equal(s.status, HYG_SOFT_BOUNCING);
        /* and DEAD forces the hard path */
        v.side = BNC_SIDE_DEAD;
        policy_apply(&d, &s, &v, T0, &s, &acts);
        assert_int_equal(s.status, HYG_BOUNCED_HARD);
    }
}

static void
test_reactivate_and_names(void **state)
{
    struct contact_state s = {HYG_BOUNCED_HARD, 4, 100, 5000, BNC_R_MAILBOXFULL};
    enum hyg_status st;
    int i;

    (void)state;
    policy_reactivate(&s, &s);
    assert_int_equal(s.status, HYG_ACTIVE);
    assert_int_equal(s.soft_count, 0);
    assert_int_equal(s.last_bounce_at, 5000);
    for (i = 0; i < HYG__COUNT; i++) {
        assert_true(hyg_status_from_name(hyg_status_name((enum hyg_status)i), &st));
        assert_int_equal(st, i);
    }
    assert_false(hyg_status_from_name("GONE", &st));
    assert_string_equal(hyg_status_name((enum hyg_status)99), "ACTIVE");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_by_status),     cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_one_strike_per_day), cmocka_unit_test(test_decay_edges),
        cmocka_unit_test(test_sides_and_config),   cmocka_unit_test(test_reactivate_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
