/*
 * metrics.h - a small process-wide registry of counters, gauges and histograms, rendered in
 * the Prometheus text exposition format (version 0.0.4) for GET /metrics.
 *
 * A series is (name, labels): labels is the text between the braces, e.g.
 * `source="smtp",kind="hard"`, or NULL/"" for none. The registry holds at most
 * METRICS_MAX_SERIES series; an update that would create one more is dropped and counted in
 * bounced_metrics_dropped_total. Histograms use one fixed set of latency buckets (seconds).
 * Thread-safety: every function may be called from any thread at any time.
 * Ownership: names and labels are copied; the caller keeps its strings.
 */
#ifndef BNC_CORE_METRICS_H
#define BNC_CORE_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define METRICS_MAX_SERIES 1024
#define METRICS_NAME_MAX   96  /* longer names are dropped */
#define METRICS_LABELS_MAX 256 /* longer label sets are dropped */

/* Add v to a counter (created at 0 on first use). */
void metrics_counter_add(const char *name, const char *labels, uint64_t v);
/* Set a gauge. */
void metrics_gauge_set(const char *name, const char *labels, int64_t v);
/* Add d (may be negative) to a gauge. */
void metrics_gauge_add(const char *name, const char *labels, int64_t d);
/* Record one observation, in seconds, into a fixed-bucket histogram. */
void metrics_observe(const char *name, const char *labels, double seconds);
/* HELP text for a metric name (static string, borrowed forever), over the catalogue's one
 * (metrics.c); a name in neither gets a generic line. Registering a name again replaces
 * its text. */
void metrics_describe(const char *name, const char *help);
/* Make every series bounced exports (the catalogue in metrics.c) exist at 0, so rates and
 * alerts see them before the first event; serve calls it at start. Idempotent. */
void metrics_preset(void);
/* Append the whole registry to out in Prometheus text format, sorted by name then labels.
 * If out's cap is hit, what fit is kept. */
void metrics_render(struct buf *out);
/* Current value of a counter or gauge (0 when absent): for tests and health checks. */
int64_t metrics_value(const char *name, const char *labels);
/* Forget every series (tests only). */
void metrics_reset(void);

#endif
