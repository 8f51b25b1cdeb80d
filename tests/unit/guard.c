/*
 * guard.c - guard-page input buffers for parser unit tests.
 */
#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void
guard_init(struct guard_buf *g, const void *data, size_t len)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t body = (len + pg - 1) / pg * pg;
    char *m;

    if (body == 0) {
        body = pg;
    }
    g->maplen = body + pg;
    m = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("mmap");
        abort();
    }
    if (mprotect(m + body, pg, PROT_NONE) != 0) {
        perror("mprotect");
        abort();
    }
    g->map = m;
    g->p = m + body - len;
    g->len = len;
    if (len) {
        memcpy(m + body - len, data, len);
    }
}

void
guard_free(struct guard_buf *g)
{
    munmap(g->map, g->maplen);
    g->map = NULL;
}
