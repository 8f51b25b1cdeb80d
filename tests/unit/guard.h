/*
 * guard.h - test helper: place input at the very end of a page followed by a PROT_NONE
 * page, so any read past the end faults even without ASan (picohttpparser's test idea).
 */
#ifndef BNC_TESTS_GUARD_H
#define BNC_TESTS_GUARD_H

#include <stddef.h>

struct guard_buf {
    void *map;
    size_t maplen;
    const char *p; /* the input, ending exactly at the guard page */
    size_t len;
};

void guard_init(struct guard_buf *g, const void *data, size_t len);
void guard_free(struct guard_buf *g);

#endif
