/*
 * test_guard.c - the pure decisions of the guards (src/hygiene/guard.c): what a burst is
 * (the floor, the ratio against the domain's own baseline, rounding), what a hold leaves of
 * the policy's actions, and the spike thresholds (rates with send counts, absolute counts
 * without; at the threshold and one past it).
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
#include "hygiene/guard.h"
#include "hygiene/policy.h"

static struct guard_cfg
defaults(void)
{
    struct bnc_config cfg;
    struct guard_cfg gc;

    cfg_init(&cfg);
    guard_cfg_from_config(&gc, &cfg);
    cfg_free(&cfg);
    return gc;
}

static void
test_defaults(void **state)
{
    struct guard_cfg gc = defaults();

    (void)state;
    assert_true(gc.enabled);
    assert_int_equal(gc.window, 600);
    assert_int_equal(gc.min_count, 50);
    assert_int_equal(gc.ratio, 10);
    assert_int_equal(gc.baseline, 7 * 86400);
}

static void
test_burst(void **state)
{
    struct guard_cfg gc = defaults();
    /* 7 days / 10 minutes = 1008 windows of baseline */
    static const struct {
        int64_t win, base;
        bool burst;
    } cases[] = {
        {49, 0, false},    /* under the floor */
        {50, 0, true},     /* at the floor, quiet baseline: usual taken as 1 */
        {50, 1008, true},  /* usual 1 per window: 10 x 1 <= 50 */
        {50, 5040, true},  /* usual 5: 10 x 5 = 50 */
        {50, 5041, false}, /* usual rounds up to 6: 60 needed */
        {60, 5041, true},    {500, 50400, true}, /* usual 50: 500 */
        {499, 50400, false},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(guard_is_burst(&gc, cases[i].win, cases[i].base, gc.min_count),
                         cases[i].burst);
    }
    gc.window = 0;
    assert_false(guard_is_burst(&gc, 1000, 0, 50)); /* no window: never */
}

static void
test_hold(void **state)
{
    unsigned hard = POLICY_A_EVENT | POLICY_A_CHANGED | POLICY_A_SUPPRESS | POLICY_A_UNSUBSCRIBE;
    unsigned strike = POLICY_A_EVENT | POLICY_A_CHANGED | POLICY_A_STRIKE;

    (void)state;
    assert_true(guard_penalises(hard, BNC_KIND_HARD));
    assert_true(guard_penalises(strike, BNC_KIND_SOFT));
    assert_false(guard_penalises(hard, BNC_KIND_COMPLAINT)); /* a person's own word */
    assert_false(guard_penalises(POLICY_A_EVENT | POLICY_A_SENDER, BNC_KIND_SOFT));
    assert_false(guard_penalises(POLICY_A_EVENT | POLICY_A_REVIEW, BNC_KIND_UNKNOWN));
    assert_int_equal(guard_hold(hard), POLICY_A_EVENT | GUARD_A_HELD);
    assert_int_equal(guard_hold(strike | POLICY_A_ESCALATED), POLICY_A_EVENT | GUARD_A_HELD);
}

static void
test_spikes(void **state)
{
    struct guard_spike_cfg sc = {10, 200, 10, 100};
    struct guard_rates r;
    struct guard_breach b[2];

    /* sends, complaints, hard (= bounces): how many breaches, the first and last metric */
    static const struct {
        int64_t sends, complaint, hard;
        int n;
        enum guard_metric first, last;
    } cases[] = {
        {2000, 2, 0, 0, GUARD_M_NONE, GUARD_M_NONE}, /* 10 bp: at the threshold */
        {2000, 3, 0, 1, GUARD_M_COMPLAINT_RATE, GUARD_M_COMPLAINT_RATE},  /* 15 bp */
        {2000, 3, 41, 1, GUARD_M_COMPLAINT_RATE, GUARD_M_COMPLAINT_RATE}, /* 200 bp */
        {2000, 3, 42, 2, GUARD_M_COMPLAINT_RATE, GUARD_M_HARD_RATE},      /* 205 bp */
        {0, 9, 99, 0, GUARD_M_NONE, GUARD_M_NONE},         /* no sends: absolute, one short */
        {0, 10, 100, 2, GUARD_M_COMPLAINTS, GUARD_M_HARD}, /* at the counts */
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&r, 0, sizeof(r));
        r.sends = cases[i].sends;
        r.complaint = cases[i].complaint;
        r.hard = r.total = cases[i].hard;
        assert_int_equal(guard_spikes(&sc, &r, b), cases[i].n);
        if (cases[i].n > 0) {
            assert_int_equal(b[0].metric, cases[i].first);
            assert_int_equal(b[cases[i].n - 1].metric, cases[i].last);
        }
    }
    r.sends = 2000;
    r.complaint = 3;
    r.hard = r.total = 0;
    assert_int_equal(guard_spikes(&sc, &r, b), 1);
    assert_int_equal(b[0].value, 15);
    assert_int_equal(b[0].threshold, 10);
    assert_string_equal(guard_metric_name(GUARD_M_HARD_RATE), "hard_bounce_rate");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_burst),
        cmocka_unit_test(test_hold),
        cmocka_unit_test(test_spikes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
