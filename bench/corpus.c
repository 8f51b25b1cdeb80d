/*
 * corpus.c - load a benchmark corpus into memory (see corpus.h).
 */
#include "corpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/buf.h"
#include "core/dirlist.h"
#include "core/xmalloc.h"

double
bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
bench_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Metadata that lives beside the messages in the corpora (EXPECTED.tsv, LICENSE, ...). */
static int
corpus_skip(const char *name)
{
    static const char *const skip[] = {".tsv", ".md", "LICENSE", ".py", ".json"};
    size_t i;
    if (name[0] == '.') {
        return 1;
    }
    for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
        if (strstr(name, skip[i]) != NULL) {
            return 1;
        }
    }
    return 0;
}

static void
corpus_file(struct bench_corpus *c, const char *path, size_t max)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    char *b;

    if (fp == NULL) {
        return;
    }
    if (fstat(fileno(fp), &st) != 0 || st.st_size <= 0 || (size_t)st.st_size > max) {
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
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 512;
        c->msgs = xrealloc(c->msgs, c->cap * sizeof(*c->msgs));
    }
    c->msgs[c->n].p = b;
    c->msgs[c->n].len = (size_t)st.st_size;
    c->n++;
    c->bytes += (size_t)st.st_size;
}

static bool
corpus_keep(const char *name, void *ud)
{
    (void)ud;
    return !corpus_skip(name);
}

static void
corpus_dir(struct bench_corpus *c, const char *dir, size_t max, int depth)
{
    char **names;
    size_t n, i;

    if (depth > 16 || dir_names(dir, corpus_keep, NULL, &names, &n) != BNC_OK) {
        return;
    }
    for (i = 0; i < n; i++) {
        struct buf p;
        struct stat st;
        buf_init(&p, 0);
        buf_printf(&p, "%s/%s", dir, names[i]);
        if (stat(p.p, &st) != 0) {
            /* vanished or unreadable: skipped */
        } else if (S_ISDIR(st.st_mode)) {
            corpus_dir(c, p.p, max, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            corpus_file(c, p.p, max);
        }
        buf_free(&p);
    }
    dir_names_free(names, n);
}

size_t
bench_corpus_load(struct bench_corpus *c, const char *dir, size_t max)
{
    memset(c, 0, sizeof(*c));
    corpus_dir(c, dir, max, 0);
    return c->n;
}

void
bench_corpus_free(struct bench_corpus *c)
{
    size_t i;
    for (i = 0; i < c->n; i++) {
        free(c->msgs[i].p);
    }
    free(c->msgs);
    memset(c, 0, sizeof(*c));
}
