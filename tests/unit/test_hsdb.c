/*
 * test_hsdb.c - the compiled-database cache of parse/hsdb.c (rules.cache_dir), which keeps
 * the phrase databases of the format recognizers.
 * layer: parse (links bnc_parse and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "parse/hsdb.h"

/* hsdb_compile_multi: the first compile writes the database to the cache directory, the next
 * one loads it and matches the same; other ids or expressions are other files; a damaged
 * file is compiled again and rewritten. */
static int
hsdb_on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int fl,
              void *ctx)
{
    unsigned *seen = ctx;
    (void)from;
    (void)to;
    (void)fl;
    *seen |= 1u << id;
    return 0;
}

static unsigned
hsdb_matches(const hs_database_t *db, const char *text)
{
    hs_scratch_t *s = NULL;
    unsigned seen = 0;
    assert_int_equal(hs_alloc_scratch(db, &s), HS_SUCCESS);
    assert_int_equal(hs_scan(db, text, (unsigned)strlen(text), 0, s, hsdb_on_match, &seen),
                     HS_SUCCESS);
    hs_free_scratch(s);
    return seen;
}

static size_t
hsdb_files(const char *dir)
{
    char cmd[512];
    size_t n = 0;
    FILE *p;
    snprintf(cmd, sizeof(cmd), "ls %s", dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(cmd, sizeof(cmd), p) != NULL) {
        n++;
    }
    pclose(p);
    return n;
}

static void
test_hsdb_cache(void **state)
{
    char dir[] = "/tmp/bnc_hsdb_XXXXXX", cmd[600];
    const char *const exprs[] = {"user\\x20unknown", "mailbox\\x20full"};
    const unsigned flags[] = {HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH,
                              HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH};
    const unsigned ids[] = {3, 5}, ids2[] = {3, 6};
    hs_database_t *db = NULL;
    hs_compile_error_t *ce = NULL;
    size_t k;
    (void)state;

    assert_non_null(mkdtemp(dir));
    for (k = 0; k < 2; k++) { /* a compile, then a load */
        assert_int_equal(hsdb_compile_multi(dir, exprs, flags, ids, 2, &db, &ce), HS_SUCCESS);
        assert_int_equal(hsdb_files(dir), 1);
        assert_int_equal(hsdb_matches(db, "550 User Unknown; Mailbox FULL"), (1u << 3) | (1u << 5));
        hs_free_database(db);
    }
    /* other ids: a file of their own, and their own ids */
    assert_int_equal(hsdb_compile_multi(dir, exprs, flags, ids2, 2, &db, &ce), HS_SUCCESS);
    assert_int_equal(hsdb_files(dir), 2);
    assert_int_equal(hsdb_matches(db, "mailbox full"), 1u << 6);
    hs_free_database(db);
    /* damaged files are not used: compiled again, same matches */
    snprintf(cmd, sizeof(cmd),
             "for f in %s/rules-*; do printf garbage | dd of=$f bs=1 seek=200 "
             "conv=notrunc 2>/dev/null; done",
             dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(hsdb_compile_multi(dir, exprs, flags, ids, 2, &db, &ce), HS_SUCCESS);
    assert_int_equal(hsdb_matches(db, "user unknown"), 1u << 3);
    hs_free_database(db);
    /* no cache directory: a plain compile; a bad expression: the compile error */
    assert_int_equal(hsdb_compile_multi(NULL, exprs, flags, ids, 2, &db, &ce), HS_SUCCESS);
    hs_free_database(db);
    {
        const char *const bad[] = {"(unclosed"};
        assert_int_not_equal(hsdb_compile_multi(dir, bad, flags, ids, 1, &db, &ce), HS_SUCCESS);
        assert_non_null(ce);
        hs_free_compile_error(ce);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hsdb_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
