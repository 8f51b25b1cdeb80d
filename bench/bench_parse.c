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
#include "parse/parse.h"

#define BENCH_SECONDS 3.0

struct msg {
    char *p;
    size_t len;
};

static struct msg *msgs;
static size_t nmsgs, capmsgs, total_bytes;

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
load_file(const char *path, size_t max)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    char *b;

    if (fp == NULL) {
        return;
    }
    if (fstat(fileno(fp), &st) != 0 || (size_t)st.st_size > max || st.st_size == 0) {
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
    if (nmsgs == capmsgs) {
        capmsgs = capmsgs ? capmsgs * 2 : 256;
        msgs = xrealloc(msgs, capmsgs * sizeof(*msgs));
    }
    msgs[nmsgs].p = b;
    msgs[nmsgs].len = (size_t)st.st_size;
    nmsgs++;
    total_bytes += (size_t)st.st_size;
}

static void
load_dir(const char *dir, size_t max, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (d == NULL || depth > 16) {
        if (d != NULL) {
            closedir(d);
        }
        return;
    }
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            load_dir(path, max, depth + 1);
        } else if (S_ISREG(st.st_mode) && l > 4 && strcmp(e->d_name + l - 4, ".eml") == 0) {
            load_file(path, max);
        }
    }
    closedir(d);
}

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
    load_dir(argv[1], lim.message_size, 0);
    if (nmsgs == 0) {
        fprintf(stderr, "bench_parse: no .eml files under %s\n", argv[1]);
        return 1;
    }
    printf("corpus: %zu messages, %.1f KiB\n", nmsgs, (double)total_bytes / 1024.0);

    /* (a) MIME scanner alone */
    n = 0;
    bytes = 0;
    t0 = now_s();
    do {
        for (i = 0; i < nmsgs; i++) {
            struct arena *a = arena_new(lim.report_memory);
            struct mime_msg m;
            mime_scan(a, &lim, msgs[i].p, msgs[i].len, &m);
            parts += m.nparts;
            arena_free(a);
            bytes += msgs[i].len;
        }
        n += nmsgs;
        t = now_s() - t0;
    } while (t < secs);
    printf("mime_scan:  %10.0f messages/s  %8.1f MB/s  (%zu parts/pass)\n", (double)n / t,
           (double)bytes / t / 1e6, parts / (n / nmsgs));

    if (bnc_ctx_new_config(&cfg, &ctx) != BNC_OK) {
        fprintf(stderr, "bench_parse: %s\n", bnc_ctx_errmsg(ctx));
        return 1;
    }
    /* (b) parse without classification */
    n = 0;
    bytes = 0;
    t0 = now_s();
    do {
        for (i = 0; i < nmsgs; i++) {
            bnc_report *r = NULL;
            if (bnc_parse_only(ctx, msgs[i].p, msgs[i].len, &r) == BNC_OK) {
                bnc_report_free(r);
            }
            bytes += msgs[i].len;
        }
        n += nmsgs;
        t = now_s() - t0;
    } while (t < secs);
    printf("parse only: %10.0f messages/s  %8.1f MB/s\n", (double)n / t, (double)bytes / t / 1e6);

    /* (c) whole parse + classify */
    n = 0;
    bytes = 0;
    t0 = now_s();
    do {
        for (i = 0; i < nmsgs; i++) {
            bnc_report *r = NULL;
            if (bnc_parse(ctx, msgs[i].p, msgs[i].len, &r) == BNC_OK) {
                rcpts += bnc_report_rcpt_count(r);
                bnc_report_free(r);
            }
            bytes += msgs[i].len;
        }
        n += nmsgs;
        t = now_s() - t0;
    } while (t < secs);
    printf("bnc_parse:  %10.0f messages/s  %8.1f MB/s  (%zu recipients/pass)\n", (double)n / t,
           (double)bytes / t / 1e6, rcpts / (n / nmsgs));
    bnc_ctx_free(ctx);
    cfg_free(&cfg);
    for (i = 0; i < nmsgs; i++) {
        free(msgs[i].p);
    }
    free(msgs);
    return 0;
}
