/*
 * bench_store.c - store-side throughput, in process, on SQLite in a temporary directory:
 *   (a) `process`: the corpus repeated through pipeline_process_group(), once with one
 *       commit per message and once with group commit (64 per commit, each message still
 *       all-or-nothing, as `bounced process` runs), each repetition made new (an X-Bench-Seq header changes the content hash,
 *       a per-repetition source changes the dedupe keys) so every message takes the whole
 *       path: parse, classify, policy, event, contact, suppression, audit, ingest record;
 *   (b) `check`: model_check() lookups of random addresses over CONTACTS contacts (one in
 *       ten suppressed), the hot path before every send: one call per lookup, and in bulk
 *       (model_check_many, 100 addresses per read transaction).
 *
 * Usage: bench_store CORPUS_DIR [SECONDS] [CONTACTS]   (defaults 3 s, 1,000,000);
 * BNC_BENCH_ONLY=process or check runs one part.
 * Prints messages/s and lookups/s. Does not measure file I/O of the inputs.
 * LIMITS: files larger than limits.message_size are skipped.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bounced.h"
#include "classify/classify.h"
#include "core/cfg.h"
#include "core/xmalloc.h"
#include "corpus.h"
#include "pipeline/process.h"
#include "store/model.h"
#include "store/store.h"

static struct bench_corpus corpus;

/* CPU time of this process: the machine may be shared, so rates are also given per CPU
 * second (what one idle core would do) next to the wall-clock rate. */
static double
cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
rm_db(const char *dir)
{
    static const char *const sfx[] = {"", "-wal", "-shm"};
    char p[512];
    size_t i;

    for (i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/bench.db%s", dir, sfx[i]);
        unlink(p);
    }
}

static int
bench_process(const struct bnc_config *cfg, const char *path, double secs, size_t group)
{
    struct store *st = NULL;
    struct pipeline *pl = NULL;
    bnc_ctx *ctx = NULL;
    char err[256], src[32], **copies;
    struct pipeline_input *in;
    struct pipeline_result *res;
    bnc_status *rcs;
    size_t i, j, k, n = 0, verdicts = 0, dups = 0, failed = 0, rep = 0, cap = 0;
    double t0, t, c0, c;

    if (store_open(path, cfg, &st, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bench_store: %s\n", err);
        return 1;
    }
    if (bnc_ctx_new_config(cfg, &ctx) != BNC_OK) {
        fprintf(stderr, "bench_store: %s\n", bnc_ctx_errmsg(ctx));
        return 1;
    }
    pipeline_new(ctx, st, &pl);
    for (i = 0; i < corpus.n; i++) {
        cap = corpus.msgs[i].len + 64 > cap ? corpus.msgs[i].len + 64 : cap;
    }
    copies = xcalloc(group, sizeof(*copies));
    in = xcalloc(group, sizeof(*in));
    res = xcalloc(group, sizeof(*res));
    rcs = xcalloc(group, sizeof(*rcs));
    for (k = 0; k < group; k++) {
        copies[k] = xmalloc(cap);
    }
    t0 = bench_now();
    c0 = cpu_s();
    do {
        snprintf(src, sizeof(src), "bench-%zu", rep);
        for (i = 0; i < corpus.n; i += k) {
            for (k = 0; k < group && i + k < corpus.n; k++) {
                const struct bench_msg *m = &corpus.msgs[i + k];
                int h = snprintf(copies[k], 64, "X-Bench-Seq: %zu\r\n", rep);
                memcpy(copies[k] + h, m->p, m->len);
                memset(&in[k], 0, sizeof(in[k]));
                in[k].data = copies[k];
                in[k].len = (size_t)h + m->len;
                in[k].source = src;
            }
            failed += pipeline_process_group(pl, in, k, res, rcs);
            for (j = 0; j < k; j++) {
                dups += res[j].duplicate ? 1 : 0;
                verdicts += res[j].verdicts;
            }
            n += k;
        }
        rep++;
        t = bench_now() - t0;
    } while (t < secs);
    c = cpu_s() - c0;
    printf("process into SQLite, %s: %zu messages in %.2f s = %.0f messages/s wall, %.0f per "
           "CPU second (%zu verdicts, %zu duplicates, %zu failed; %zu passes)\n",
           group == 1 ? "one commit per message" : "group commit of 64", n, t, (double)n / t,
           (double)n / c, verdicts, dups, failed, rep);
    for (k = 0; k < group; k++) {
        free(copies[k]);
    }
    free(copies);
    free(in);
    free(res);
    free(rcs);
    pipeline_free(pl);
    bnc_ctx_free(ctx);
    store_close(st);
    return failed == n ? 1 : 0;
}

static int
bench_check(const struct bnc_config *cfg, const char *path, double secs, long ncontacts)
{
    static const char *q_c = "INSERT INTO contacts (email, attributes, created_at, updated_at) "
                             "VALUES ($1, '{}', $2, $2)";
    static const char *q_s = "INSERT INTO suppressions (address, reason, source, ref, created_at) "
                             "VALUES ($1, 'userunknown', 'bounce', '', $2)";
    struct store *st = NULL;
    struct store_value p[2];
    struct model_check ck;
    struct policy_cfg pc;
    char err[256], addr[64];
    long i, n = 0, suppressed = 0;
    unsigned long long x = 88172645463325252ULL;
    double t0, t, c0, c;

    if (store_open(path, cfg, &st, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bench_store: %s\n", err);
        return 1;
    }
    t0 = bench_now();
    for (i = 0; i < ncontacts; i++) {
        if (i % 50000 == 0 && store_begin(st) != BNC_OK) {
            return 1;
        }
        snprintf(addr, sizeof(addr), "user%ld@d%ld.example", i, i % 997);
        p[0] = sv_text(addr);
        p[1] = sv_int(1790000000);
        if (store_exec(st, q_c, p, 2, NULL, NULL, NULL) != BNC_OK ||
            (i % 10 == 0 && store_exec(st, q_s, p, 2, NULL, NULL, NULL) != BNC_OK)) {
            fprintf(stderr, "bench_store: insert: %s\n", store_errmsg(st));
            return 1;
        }
        if ((i % 50000 == 49999 || i == ncontacts - 1) && store_commit(st) != BNC_OK) {
            return 1;
        }
    }
    policy_cfg_from_config(&pc, cfg);
    printf("check setup: %ld contacts (%ld suppressed) loaded in %.1f s\n", ncontacts,
           (ncontacts + 9) / 10, bench_now() - t0);
    t0 = bench_now();
    c0 = cpu_s();
    do {
        for (i = 0; i < 10000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            long k = (long)(x % (unsigned long long)ncontacts);
            snprintf(addr, sizeof(addr), "user%ld@d%ld.example", k, k % 997);
            if (model_check(st, &pc, addr, 1790000000, &ck) != BNC_OK) {
                fprintf(stderr, "bench_store: check: %s\n", store_errmsg(st));
                return 1;
            }
            suppressed += ck.sendable ? 0 : 1;
            n++;
        }
        t = bench_now() - t0;
    } while (t < secs);
    c = cpu_s() - c0;
    printf("check with %ld contacts, one lookup per call: %ld lookups in %.2f s = %.0f "
           "lookups/s wall, %.0f per CPU second (%.1f%% suppressed)\n",
           ncontacts, n, t, (double)n / t, (double)n / c, 100.0 * (double)suppressed / (double)n);
    {
        /* bulk: model_check_many, 100 addresses per read transaction */
        char bufs[100][64];
        const char *addrs[100];
        struct model_check outs[100];
        bnc_status rcs[100];
        long j;
        n = 0;
        suppressed = 0;
        t0 = bench_now();
        c0 = cpu_s();
        do {
            for (i = 0; i < 100; i++) {
                for (j = 0; j < 100; j++) {
                    long k;
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    k = (long)(x % (unsigned long long)ncontacts);
                    snprintf(bufs[j], sizeof(bufs[j]), "user%ld@d%ld.example", k, k % 997);
                    addrs[j] = bufs[j];
                }
                if (model_check_many(st, &pc, addrs, 100, 1790000000, outs, rcs) != BNC_OK) {
                    fprintf(stderr, "bench_store: check_many: %s\n", store_errmsg(st));
                    return 1;
                }
                for (j = 0; j < 100; j++) {
                    suppressed += outs[j].sendable ? 0 : 1;
                }
                n += 100;
            }
            t = bench_now() - t0;
        } while (t < secs);
        c = cpu_s() - c0;
        printf("check with %ld contacts, bulk (100 per read transaction): %ld lookups in %.2f s "
               "= %.0f lookups/s wall, %.0f per CPU second (%.1f%% suppressed)\n",
               ncontacts, n, t, (double)n / t, (double)n / c,
               100.0 * (double)suppressed / (double)n);
    }
    store_close(st);
    return 0;
}

int
main(int argc, char **argv)
{
    struct bnc_config cfg;
    char dir[256], path[300];
    const char *tmp = getenv("TMPDIR");
    const char *only = getenv("BNC_BENCH_ONLY"); /* process | check */
    double secs = 3.0;
    long ncontacts = 1000000;
    int rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: bench_store CORPUS_DIR [SECONDS] [CONTACTS]\n");
        return 2;
    }
    if (argc > 2 && strtod(argv[2], NULL) > 0) {
        secs = strtod(argv[2], NULL);
    }
    if (argc > 3 && strtol(argv[3], NULL, 10) > 0) {
        ncontacts = strtol(argv[3], NULL, 10);
    }
    cfg_init(&cfg);
    bench_corpus_load(&corpus, argv[1], cfg.limit_message_size);
    if (corpus.n == 0) {
        fprintf(stderr, "bench_store: no .eml files under %s\n", argv[1]);
        return 1;
    }
    snprintf(dir, sizeof(dir), "%s/bench_store.XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/bench.db", dir);
    printf("corpus: %zu messages; store: SQLite in %s\n", corpus.n, dir);
    if (only == NULL || strcmp(only, "process") == 0) {
        rc |= bench_process(&cfg, path, secs, 1);
        rm_db(dir);
        rc |= bench_process(&cfg, path, secs, 64);
        rm_db(dir);
    }
    if (only == NULL || strcmp(only, "check") == 0) {
        rc |= bench_check(&cfg, path, secs, ncontacts);
    }
    rm_db(dir);
    rmdir(dir);
    cfg_free(&cfg);
    return rc;
}
