/*
 * test_metrics.c - the metrics registry: counters, gauges, histograms, Prometheus text,
 * the series bound and concurrent updates.
 * layer: core (links bnc_core and the libraries below it, nothing above)
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/metrics.h"

static void
test_counter_gauge(void **state)
{
    struct buf b;

    (void)state;
    metrics_reset();
    metrics_describe("bounced_ingested_total", "messages ingested");
    metrics_counter_add("bounced_ingested_total", "source=\"smtp\",kind=\"hard\"", 2);
    metrics_counter_add("bounced_ingested_total", "source=\"smtp\",kind=\"hard\"", 3);
    metrics_counter_add("bounced_ingested_total", NULL, 1);
    metrics_gauge_set("bounced_queue_depth", NULL, 7);
    metrics_gauge_add("bounced_queue_depth", NULL, -2);
    assert_int_equal(metrics_value("bounced_ingested_total", "source=\"smtp\",kind=\"hard\""), 5);
    assert_int_equal(metrics_value("bounced_queue_depth", ""), 5);

    buf_init(&b, 0);
    metrics_render(&b);
    assert_non_null(strstr(b.p, "# HELP bounced_ingested_total messages ingested\n"
                                "# TYPE bounced_ingested_total counter\n"
                                "bounced_ingested_total 1\n"
                                "bounced_ingested_total{source=\"smtp\",kind=\"hard\"} 5\n"));
    assert_non_null(strstr(b.p, "# TYPE bounced_queue_depth gauge\nbounced_queue_depth 5\n"));
    /* HELP/TYPE printed once per name */
    assert_null(
        strstr(strstr(b.p, "# TYPE bounced_ingested_total") + 1, "# TYPE bounced_ingested_total"));
    buf_free(&b);
}

/* Every series of the catalogue exists at 0 after metrics_preset(), each name with a real
 * HELP line (never the generic one), names of open label sets with HELP and TYPE only. */
static void
test_preset(void **state)
{
    static const char *const zero[] = {
        "bounced_ingested_total{source=\"smtp\",kind=\"hard\"} 0\n",
        "bounced_ingested_total{source=\"mailbox\",kind=\"none\"} 0\n",
        "bounced_duplicates_total{source=\"lmtp\"} 0\n",
        "bounced_held_total 0\n",
        "bounced_queue_depth 0\n",
        "bounced_smtp_messages_total{proto=\"lmtp\"} 0\n",
        "bounced_processing_seconds_count 0\n",
        "# TYPE bounced_http_requests_total counter\n",
        "# TYPE bounced_http_request_seconds histogram\n",
    };
    struct buf b;
    size_t i;

    (void)state;
    metrics_reset();
    metrics_preset();
    metrics_preset(); /* idempotent */
    metrics_counter_add("bounced_ingested_total", "source=\"smtp\",kind=\"soft\"", 2);
    buf_init(&b, 0);
    metrics_render(&b);
    for (i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
        if (strstr(b.p, zero[i]) == NULL) {
            fail_msg("missing from a fresh registry: %s", zero[i]);
        }
    }
    assert_non_null(strstr(b.p, "bounced_ingested_total{source=\"smtp\",kind=\"soft\"} 2\n"));
    assert_null(strstr(b.p, "bounced metric ")); /* the generic HELP text */
    assert_non_null(strstr(b.p, "# HELP bounced_store_up 1 while the workers can write"));
    /* an open-label name gets no HELP/TYPE twice once it has a series */
    metrics_counter_add("bounced_http_requests_total", "route=\"/healthz\",code=\"200\"", 1);
    buf_free(&b);
    buf_init(&b, 0);
    metrics_render(&b);
    assert_null(strstr(strstr(b.p, "# TYPE bounced_http_requests_total") + 1,
                       "# TYPE bounced_http_requests_total"));
    buf_free(&b);
    metrics_reset();
}

static void
test_histogram(void **state)
{
    struct buf b;

    (void)state;
    metrics_reset();
    metrics_observe("bounced_latency_seconds", "stage=\"parse\"", 0.0004);
    metrics_observe("bounced_latency_seconds", "stage=\"parse\"", 0.003);
    metrics_observe("bounced_latency_seconds", "stage=\"parse\"", 99.0);
    metrics_observe("bounced_latency_seconds", NULL, 0.2);
    buf_init(&b, 0);
    metrics_render(&b);
    assert_non_null(strstr(b.p, "# TYPE bounced_latency_seconds histogram\n"));
    assert_non_null(
        strstr(b.p, "bounced_latency_seconds_bucket{stage=\"parse\",le=\"0.0005\"} 1\n"));
    assert_non_null(
        strstr(b.p, "bounced_latency_seconds_bucket{stage=\"parse\",le=\"0.005\"} 2\n"));
    assert_non_null(strstr(b.p, "bounced_latency_seconds_bucket{stage=\"parse\",le=\"10\"} 2\n"));
    assert_non_null(strstr(b.p, "bounced_latency_seconds_bucket{stage=\"parse\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(b.p, "bounced_latency_seconds_count{stage=\"parse\"} 3\n"));
    assert_non_null(strstr(b.p, "bounced_latency_seconds_bucket{le=\"0.25\"} 1\n"));
    assert_non_null(strstr(b.p, "bounced_latency_seconds_sum 0.2\n"));
    buf_free(&b);
}

static void
test_bounds(void **state)
{
    char labels[64];
    char longname[200];
    int i;

    (void)state;
    metrics_reset();
    for (i = 0; i < METRICS_MAX_SERIES + 10; i++) {
        snprintf(labels, sizeof(labels), "i=\"%d\"", i);
        metrics_counter_add("bounced_many_total", labels, 1);
    }
    assert_int_equal(metrics_value("bounced_many_total", "i=\"0\""), 1);
    assert_int_equal(metrics_value("bounced_many_total", "i=\"1030\""), 0);
    /* invalid names and labels are dropped, never stored */
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    metrics_counter_add(longname, NULL, 1);
    metrics_counter_add("9bad", NULL, 1);
    metrics_counter_add("bad name", NULL, 1);
    metrics_counter_add("x_total", "a=\"\n\"", 1);
    {
        struct buf b;
        buf_init(&b, 0);
        metrics_render(&b);
        assert_non_null(strstr(b.p, "bounced_metrics_dropped_total 14\n"));
        buf_free(&b);
    }
    /* one name, one type */
    metrics_reset();
    metrics_counter_add("same", NULL, 1);
    metrics_gauge_set("same", NULL, 9);
    assert_int_equal(metrics_value("same", NULL), 1);
}

static void *
bump(void *arg)
{
    int i;

    (void)arg;
    for (i = 0; i < 20000; i++) {
        metrics_counter_add("bounced_par_total", "t=\"x\"", 1);
        metrics_observe("bounced_par_seconds", NULL, 0.001);
    }
    return NULL;
}

static void
test_threads(void **state)
{
    pthread_t t[4];
    int i;

    (void)state;
    metrics_reset();
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, bump, NULL), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(metrics_value("bounced_par_total", "t=\"x\""), 80000);
    assert_int_equal(metrics_value("bounced_par_seconds", NULL), 80000);
}

static void
test_render_cap(void **state)
{
    struct buf b;

    (void)state;
    metrics_reset();
    metrics_counter_add("bounced_a_total", NULL, 1);
    buf_init(&b, 40); /* too small: keeps what fit, never overflows */
    metrics_render(&b);
    assert_true(b.len <= 40);
    buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_gauge), cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_bounds),        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_render_cap),    cmocka_unit_test(test_preset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
