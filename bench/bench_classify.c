/*
 * bench_classify.c - single-thread parse + classify throughput (bnc_parse: MIME, DSN, the
 * non-RFC recognizers, ARF/auto-replies, the one-pass rule match) over a corpus directory.
 *
 * Every file is read into memory first (recursively, sorted; EXPECTED/SOURCES tables, LICENSE
 * and README files skipped), then the whole set is parsed in a loop for about SECONDS; the
 * figure is messages per second and the number of verdicts per pass (a sanity check that the
 * loop did real work).
 * Usage: bench_classify CORPUS_DIR [SECONDS]. Output, one line each:
 *   files N
 *   msgs_per_sec X          (wall clock)
 *   msgs_per_cpu_sec Y      (this thread's CPU time: one core, whatever else runs)
 *   verdicts_per_pass V
 * Does not measure I/O or rule compilation (timed separately as rules_build_ms).
 * LIMITS: files larger than limits.message_size are skipped.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bounced.h"
#include "core/buf.h"
#include "core/xmalloc.h"
#include "corpus.h"

static struct bench_corpus corpus;

int
main(int argc, char **argv)
{
    bnc_ctx *ctx = NULL;
    double secs = argc > 2 ? strtod(argv[2], NULL) : 3.0;
    double t0, t1, el, c0, c1;
    size_t i, passes = 0, verdicts = 0, done = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: bench_classify CORPUS_DIR [SECONDS]\n");
        return 2;
    }
    if (secs <= 0.0) {
        secs = 3.0;
    }
    bench_corpus_load(&corpus, argv[1], (size_t)10 << 20);
    if (corpus.n == 0) {
        fprintf(stderr, "bench_classify: no messages under %s\n", argv[1]);
        return 1;
    }
    /* rules_build_ms times the compile itself, not a load from the rules cache */
    setenv("BOUNCED_RULES_CACHE_DIR", "", 1);
    t0 = bench_now();
    if (bnc_ctx_new(NULL, &ctx) != BNC_OK) {
        fprintf(stderr, "bench_classify: %s\n", bnc_ctx_errmsg(ctx));
        bnc_ctx_free(ctx);
        return 1;
    }
    t1 = bench_now();
    printf("files %zu\n", corpus.n);
    printf("rules_build_ms %.1f\n", (t1 - t0) * 1000.0);
    /* one warm-up pass, counting verdicts */
    for (i = 0; i < corpus.n; i++) {
        bnc_report *r = NULL;
        if (bnc_parse(ctx, corpus.msgs[i].p, corpus.msgs[i].len, &r) == BNC_OK) {
            verdicts += bnc_report_rcpt_count(r);
        }
        bnc_report_free(r);
    }
    t0 = bench_now();
    c0 = bench_cpu();
    do {
        for (i = 0; i < corpus.n; i++) {
            bnc_report *r = NULL;
            if (bnc_parse(ctx, corpus.msgs[i].p, corpus.msgs[i].len, &r) == BNC_OK) {
                bnc_report_free(r);
            }
        }
        passes++;
        done += corpus.n;
        t1 = bench_now();
        el = t1 - t0;
    } while (el < secs);
    c1 = bench_cpu();
    printf("msgs_per_sec %.0f\n", (double)done / el);
    printf("msgs_per_cpu_sec %.0f\n", (double)done / (c1 - c0 > 0 ? c1 - c0 : el));
    printf("verdicts_per_pass %zu\n", verdicts);
    printf("passes %zu\n", passes);
    bench_corpus_free(&corpus);
    bnc_ctx_free(ctx);
    return 0;
}
