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

struct bench_msg {
    char *p;
    size_t len;
};

static struct bench_msg *bench_msgs;
static size_t bench_n, bench_cap;

static double
bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread: the figure that does not depend on how busy the machine is. */
static double
bench_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool
bench_skip(const char *name)
{
    static const char *const skip[] = {".tsv", ".md", "LICENSE", ".py", ".json"};
    size_t i;
    if (name[0] == '.') {
        return true;
    }
    for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
        if (strstr(name, skip[i]) != NULL) {
            return true;
        }
    }
    return false;
}

static void
bench_load_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    char *b;

    if (fp == NULL) {
        return;
    }
    if (fstat(fileno(fp), &st) != 0 || st.st_size <= 0 || st.st_size > (10 << 20)) {
        fclose(fp);
        return;
    }
    b = xmalloc((size_t)st.st_size);
    if (fread(b, 1, (size_t)st.st_size, fp) != (size_t)st.st_size) {
        free(b);
        fclose(fp);
        return;
    }
    fclose(fp);
    if (bench_n == bench_cap) {
        bench_cap = bench_cap ? bench_cap * 2 : 512;
        bench_msgs = xrealloc(bench_msgs, bench_cap * sizeof(*bench_msgs));
    }
    bench_msgs[bench_n].p = b;
    bench_msgs[bench_n].len = (size_t)st.st_size;
    bench_n++;
}

static int
bench_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
bench_load(const char *dir, int depth)
{
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0, i;

    if (depth > 16 || (d = opendir(dir)) == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (bench_skip(de->d_name)) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), bench_cmp);
    for (i = 0; i < n; i++) {
        struct buf p;
        struct stat st;
        buf_init(&p, 0);
        buf_printf(&p, "%s/%s", dir, names[i]);
        if (stat(p.p, &st) == 0 && S_ISDIR(st.st_mode)) {
            bench_load(p.p, depth + 1);
        } else if (stat(p.p, &st) == 0 && S_ISREG(st.st_mode)) {
            bench_load_file(p.p);
        }
        buf_free(&p);
        free(names[i]);
    }
    free(names);
}

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
    bench_load(argv[1], 0);
    if (bench_n == 0) {
        fprintf(stderr, "bench_classify: no messages under %s\n", argv[1]);
        return 1;
    }
    t0 = bench_now();
    if (bnc_ctx_new(NULL, &ctx) != BNC_OK) {
        fprintf(stderr, "bench_classify: %s\n", bnc_ctx_errmsg(ctx));
        bnc_ctx_free(ctx);
        return 1;
    }
    t1 = bench_now();
    printf("files %zu\n", bench_n);
    printf("rules_build_ms %.1f\n", (t1 - t0) * 1000.0);
    /* one warm-up pass, counting verdicts */
    for (i = 0; i < bench_n; i++) {
        bnc_report *r = NULL;
        if (bnc_parse(ctx, bench_msgs[i].p, bench_msgs[i].len, &r) == BNC_OK) {
            verdicts += bnc_report_rcpt_count(r);
        }
        bnc_report_free(r);
    }
    t0 = bench_now();
    c0 = bench_cpu();
    do {
        for (i = 0; i < bench_n; i++) {
            bnc_report *r = NULL;
            if (bnc_parse(ctx, bench_msgs[i].p, bench_msgs[i].len, &r) == BNC_OK) {
                bnc_report_free(r);
            }
        }
        passes++;
        done += bench_n;
        t1 = bench_now();
        el = t1 - t0;
    } while (el < secs);
    c1 = bench_cpu();
    printf("msgs_per_sec %.0f\n", (double)done / el);
    printf("msgs_per_cpu_sec %.0f\n", (double)done / (c1 - c0 > 0 ? c1 - c0 : el));
    printf("verdicts_per_pass %zu\n", verdicts);
    printf("passes %zu\n", passes);
    for (i = 0; i < bench_n; i++) {
        free(bench_msgs[i].p);
    }
    free(bench_msgs);
    bnc_ctx_free(ctx);
    return 0;
}
