/*
 * corpus.h - what every in-process benchmark needs: a directory of messages read into
 * memory once (sorted, recursively, dot files and metadata files skipped), and clocks.
 * Ownership: bench_corpus_free() releases the messages.
 */
#ifndef BNC_BENCH_CORPUS_H
#define BNC_BENCH_CORPUS_H

#include <stddef.h>

struct bench_msg {
    char *p;
    size_t len;
};

struct bench_corpus {
    struct bench_msg *msgs;
    size_t n, cap;
    size_t bytes;
};

/* Load every regular file under dir no larger than max bytes; returns the count. */
size_t bench_corpus_load(struct bench_corpus *c, const char *dir, size_t max);
void bench_corpus_free(struct bench_corpus *c);
double bench_now(void); /* monotonic wall clock, seconds */
double bench_cpu(void); /* this thread's CPU time, seconds: independent of machine load */

#endif
