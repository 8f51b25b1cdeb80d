/*
 * bench_parse.c - single-thread throughput of the parse path over a corpus directory: every
 * file is read into memory first, then (a) the MIME scanner alone (arena + mime_scan) and
 * (b) the parse without classification and (c) the whole bnc_parse (parse + classify) run in loops of about BENCH_SECONDS each.
 *
 * Usage: bench_parse CORPUS_DIR [SECONDS]. Prints messages/s and MB/s per stage.
 * Does not measure I/O. LIMITS: files larger than limits.message_size are skipped.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bounced.h"
#include "classify/classify.h"
#include "core/arena.h"
#include "core/cfg.h"
#include "core/xmalloc.h"
#include "corpus.h"
#include "parse/parse.h"

#define BENCH_SECONDS 3.0

static struct bench_corpus corpus;

int
main(int argc, char **argv)
{
    struct bnc_config cfg;
    struct parse_limits lim;
    bnc_ctx *ctx = NULL;
    double secs = BENCH_SECONDS, t0, t;
    size_t i, n, bytes, parts = 0, rcpts = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: bench_parse CORPUS_DIR [SECONDS]\n");
        return 2;
    }
    if (argc > 2) {
        secs = strtod(argv[2], NULL);
        if (secs <= 0) {
            secs = BENCH_SECONDS;
        }
    }
    cfg_init(&cfg);
    parse_limits_from_config(&lim, &cfg);
    bench_corpus_load(&corpus, argv[1], lim.message_size);
    if (corpus.n == 0) {
        fprintf(stderr, "bench_parse: no .eml files under %s\n", argv[1]);
        return 1;
    }
    printf("corpus: %zu messages, %.1f KiB\n", corpus.n, (double)corpus.bytes / 1024.0);

    /* (a) MIME scanner alone */
    n = 0;
    bytes = 0;
    t0 = bench_now();
    do {
        for (i = 0; i < corpus.n; i++) {
            struct arena *a = arena_new(lim.report_memory);
            struct mime_msg m;
            mime_scan(a, &lim, corpus.msgs[i].p, corpus.msgs[i].len, &m);
            parts += m.nparts;
            arena_free(a);
            bytes += corpus.msgs[i].len;
        }
        n += corpus.n;
        t = bench_now() - t0;
    } while (t < secs);
    printf("mime_scan:  %10.0f messages/s  %8.1f MB/s  (%zu parts/pass)\n", (double)n / t,
           (double)bytes / t / 1e6, parts / (n / corpus.n));

    if (bnc_ctx_new_config(&cfg, &ctx) != BNC_OK) {
        fprintf(stderr, "bench_parse: %s\n", bnc_ctx_errmsg(ctx));
        return 1;
    }
    /* (b) parse without classification */
    n = 0;
    bytes = 0;
    t0 = bench_now();
    do {
        for (i = 0; i < corpus.n; i++) {
            bnc_report *r = NULL;
            if (bnc_parse_only(ctx, corpus.msgs[i].p, corpus.msgs[i].len, &r) == BNC_OK) {
                bnc_report_free(r);
            }
            bytes += corpus.msgs[i].len;
        }
        n += corpus.n;
        t = bench_now() - t0;
    } while (t < secs);
    printf("parse only: %10.0f messages/s  %8.1f MB/s\n", (double)n / t, (double)bytes / t / 1e6);

    /* (c) whole parse + classify */
    n = 0;
    bytes = 0;
    t0 = bench_now();
    do {
        for (i = 0; i < corpus.n; i++) {
            bnc_report *r = NULL;
            if (bnc_parse(ctx, corpus.msgs[i].p, corpus.msgs[i].len, &r) == BNC_OK) {
                rcpts += bnc_report_rcpt_count(r);
                bnc_report_free(r);
            }
            bytes += corpus.msgs[i].len;
        }
        n += corpus.n;
        t = bench_now() - t0;
    } while (t < secs);
    printf("bnc_parse:  %10.0f messages/s  %8.1f MB/s  (%zu recipients/pass)\n", (double)n / t,
           (double)bytes / t / 1e6, rcpts / (n / corpus.n));
    bnc_ctx_free(ctx);
    cfg_free(&cfg);
    bench_corpus_free(&corpus);
    return 0;
}
