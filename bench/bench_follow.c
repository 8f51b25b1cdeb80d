/*
 * bench_follow.c - log followers, in process, on SQLite in a temporary directory: a Postfix
 * maillog and a PowerMTA accounting CSV written in full, then followed to their end through
 * follow_poll() (read, parse, classify, policy, one transaction per batch with the saved
 * position), as `serve` follows them.
 *   maillog: per bounce the three lines Postfix writes (cleanup message-id, smtp
 *            status=bounced, qmgr removed), every recipient new;
 *   pmta:    one b record per bounce, every recipient new.
 * Usage: bench_follow [BOUNCES]   (default 50,000 per format).
 * Prints lines/s (maillog), records/s (pmta) and verdicts/s applied, per wall-clock second
 * and per CPU second (the machine may be shared).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bounced.h"
#include "classify/classify.h"
#include "core/cfg.h"
#include "ingest/follow.h"
#include "pipeline/process.h"
#include "store/store.h"

static double
now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Write the log of n bounces; returns its lines. */
static size_t
write_log(const char *path, enum events_format f, size_t n)
{
    FILE *fp = fopen(path, "w");
    size_t i, lines = 0;

    if (fp == NULL) {
        return 0;
    }
    if (f == EVENTS_PMTA) {
        fputs("type,timeLogged,orig,rcpt,dsnAction,dsnStatus,dsnDiag,dsnMta,bounceCat\n", fp);
    }
    for (i = 0; i < n; i++) {
        if (f == EVENTS_PMTA) {
            fprintf(fp,
                    "b,%zu,bounces@sender.example,r%zu@bench.example,failed,5.1.1,"
                    "\"smtp;550 5.1.1 <r%zu@bench.example>: user unknown\","
                    "mx.bench.example,bad-mailbox\n",
                    1700000000 + i, i, i);
            lines++;
            continue;
        }
        fprintf(fp,
                "Mar  5 10:00:00 mx postfix/cleanup[11]: Q%zuX: message-id=<m%zu@sender.example>\n"
                "Mar  5 10:00:01 mx postfix/smtp[12]: Q%zuX: to=<r%zu@bench.example>, "
                "relay=mx.bench.example[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, "
                "status=bounced (host mx.bench.example said: 550 5.1.1 user unknown (in reply "
                "to RCPT TO command))\n"
                "Mar  5 10:00:01 mx postfix/qmgr[13]: Q%zuX: removed\n",
                i, i, i, i, i);
        lines += 3;
    }
    fclose(fp);
    return lines;
}

static int
bench_one(const struct bnc_config *cfg, bnc_ctx *ctx, const char *dir, enum events_format f,
          size_t n)
{
    char path[512], db[512], err[512];
    struct follow_opts o = {events_format_name(f), path, f, NULL, NULL};
    struct follow_stats stats;
    struct follower *fl = NULL;
    struct store *st = NULL;
    struct pipeline *pl = NULL;
    double w0, c0, w, c;
    size_t lines;

    snprintf(path, sizeof(path), "%s/%s.log", dir, events_format_name(f));
    snprintf(db, sizeof(db), "%s/%s.db", dir, events_format_name(f));
    if ((lines = write_log(path, f, n)) == 0 ||
        store_open(db, cfg, &st, err, sizeof(err)) != BNC_OK ||
        pipeline_new(ctx, st, &pl) != BNC_OK || follow_new(&o, &fl, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bench follow: %s\n", err);
        return 1;
    }
    memset(&stats, 0, sizeof(stats));
    w0 = now_s(CLOCK_MONOTONIC);
    c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    if (follow_poll(fl, ctx, st, pl, 0, &stats, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bench follow: %s\n", err);
        return 1;
    }
    w = now_s(CLOCK_MONOTONIC) - w0;
    c = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("   %-8s %8zu %s, %zu verdicts applied in %.2f s: %.0f %s/s, %.0f verdicts/s "
           "(per CPU second: %.0f %s/s)\n",
           events_format_name(f), lines, f == EVENTS_PMTA ? "records" : "lines", stats.applied, w,
           (double)lines / w, f == EVENTS_PMTA ? "records" : "lines", (double)stats.applied / w,
           (double)lines / c, f == EVENTS_PMTA ? "records" : "lines");
    follow_free(fl);
    pipeline_free(pl);
    store_close(st);
    unlink(path);
    unlink(db);
    for (const char *sfx = "-wal"; sfx != NULL; sfx = strcmp(sfx, "-wal") == 0 ? "-shm" : NULL) {
        char p[600];
        snprintf(p, sizeof(p), "%s%s", db, sfx);
        unlink(p);
    }
    return stats.applied == n ? 0 : 1;
}

int
main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 50000;
    char dir[] = "/tmp/bnc-bench-follow-XXXXXX";
    struct bnc_config cfg;
    bnc_ctx *ctx = NULL;
    int rc;

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    cfg_init(&cfg);
    if (bnc_ctx_new_config(&cfg, &ctx) != BNC_OK) {
        fprintf(stderr, "bench follow: %s\n", bnc_ctx_errmsg(ctx));
        return 1;
    }
    printf("== follow: logs followed into SQLite (one thread, %zu bounces each)\n", n);
    rc = bench_one(&cfg, ctx, dir, EVENTS_MAILLOG, n) | bench_one(&cfg, ctx, dir, EVENTS_PMTA, n);
    bnc_ctx_free(ctx);
    cfg_free(&cfg);
    rmdir(dir);
    return rc;
}
