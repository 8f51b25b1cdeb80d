/*
 * test_load.c - core/load.c, the loader: rule files in load order (rules.dir by name, hidden
 * and other files skipped, then rules.file), the rule-file size limit at and past it, a NUL
 * byte refused, and the cache of compiled databases (bytes back only for the very key they
 * were stored under, never from a damaged file or one others may write).
 * layer: core (links bnc_core and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cfg.h"
#include "core/dirlist.h"
#include "core/load.h"

#define RULES_FILE_MAX (4u << 20) /* LOAD_RULES_FILE_MAX */

struct seen {
    int n, nerr;
    char what[8][300]; /* "origin|text" or "ERR where|msg" */
};

static void
on_file(void *ud, const char *origin, const char *text, size_t len)
{
    struct seen *s = ud;
    if (s->n + s->nerr < 8) {
        snprintf(s->what[s->n + s->nerr], sizeof(s->what[0]), "%s|%.*s", strrchr(origin, '/'),
                 (int)(len > 100 ? 100 : len), text);
    }
    s->n++;
}

static void
on_err(void *ud, const char *where, const char *msg)
{
    struct seen *s = ud;
    if (s->n + s->nerr < 8) {
        snprintf(s->what[s->n + s->nerr], sizeof(s->what[0]), "ERR %s|%s", where, msg);
    }
    s->nerr++;
}

static void
put(const char *dir, const char *name, const char *text)
{
    char path[300];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(close(fd), 0);
}

static void
rm_rf(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void
test_rule_files_in_order(void **state)
{
    char dir[] = "/tmp/bnc_load_XXXXXX", file[300];
    struct bnc_config cfg;
    struct seen s = {0};
    (void)state;

    assert_non_null(mkdtemp(dir));
    put(dir, "b.rules", "bee ==> hard\n");
    put(dir, "a.rules", "ay ==> soft\n");
    put(dir, ".hidden.rules", "hidden ==> hard\n");
    put(dir, "notes.txt", "txt ==> hard\n");
    cfg_init(&cfg);
    free(cfg.rules_dir);
    cfg.rules_dir = strdup(dir);
    free(cfg.rules_file);
    snprintf(file, sizeof(file), "%s/b.rules", dir);
    cfg.rules_file = strdup(file);
    load_rule_files(&cfg, on_file, on_err, &s);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.nerr, 0);
    assert_string_equal(s.what[0], "/a.rules|ay ==> soft\n");
    assert_string_equal(s.what[1], "/b.rules|bee ==> hard\n");
    assert_string_equal(s.what[2], "/b.rules|bee ==> hard\n"); /* rules.file comes last */

    /* a rules.dir that does not exist is the normal case; a rules.file that does not is
     * reported, and so is a NAME.rules that is a directory */
    memset(&s, 0, sizeof(s));
    free(cfg.rules_dir);
    cfg.rules_dir = strdup("/nonexistent/rules.d");
    free(cfg.rules_file);
    cfg.rules_file = strdup("/nonexistent/x.rules");
    load_rule_files(&cfg, on_file, on_err, &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.nerr, 1);
    assert_string_equal(s.what[0], "ERR /nonexistent/x.rules|cannot open: No such file or "
                                   "directory");
    memset(&s, 0, sizeof(s));
    snprintf(file, sizeof(file), "%s/sub.rules", dir);
    assert_int_equal(mkdir(file, 0700), 0);
    free(cfg.rules_dir);
    cfg.rules_dir = strdup(dir);
    free(cfg.rules_file);
    cfg.rules_file = strdup("");
    load_rule_files(&cfg, on_file, on_err, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.nerr, 1);
    assert_non_null(strstr(s.what[2], "sub.rules|read error"));
    load_rule_files(NULL, on_file, on_err, &s); /* no config: nothing */
    cfg_free(&cfg);
    rm_rf(dir);
}

/* A rules file of exactly the limit loads; one byte more is refused and says so. */
static void
test_rule_file_limit(void **state)
{
    char dir[] = "/tmp/bnc_load_XXXXXX", path[300], err[256];
    struct rule_src src = {NULL, NULL};
    char *big = malloc(RULES_FILE_MAX + 1);
    FILE *f;
    (void)state;

    assert_non_null(mkdtemp(dir));
    assert_non_null(big);
    memset(big, '#', RULES_FILE_MAX + 1);
    snprintf(path, sizeof(path), "%s/big.rules", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(big, 1, RULES_FILE_MAX, f), RULES_FILE_MAX);
    fclose(f);
    assert_int_equal(load_rule_file(path, &src, err, sizeof(err)), BNC_OK);
    assert_int_equal(strlen(src.text), RULES_FILE_MAX);
    assert_string_equal(src.origin, path);
    load_rule_src_free(&src);
    assert_null(src.text);
    f = fopen(path, "a");
    assert_non_null(f);
    fputc('#', f);
    fclose(f);
    assert_int_equal(load_rule_file(path, &src, err, sizeof(err)), BNC_EIO);
    assert_string_equal(err, "file larger than 4194304 bytes");
    /* a NUL byte: refused, not cut short */
    f = fopen(path, "w");
    assert_non_null(f);
    fwrite("a ==> hard\n\0b ==> soft\n", 1, 23, f);
    fclose(f);
    assert_int_equal(load_rule_file(path, &src, err, sizeof(err)), BNC_EINVAL);
    assert_string_equal(err, "NUL byte in rules file");
    assert_int_equal(load_rule_file("/nonexistent/x.rules", &src, err, sizeof(err)), BNC_EIO);
    free(big);
    rm_rf(dir);
}

/* the cache's files, and the temporary ones a write would leave */
static bool
cache_name(const char *name, void *ud)
{
    (void)ud;
    return name[0] != '.' || strncmp(name, ".rules-", 7) == 0;
}

static size_t
count_files(const char *dir)
{
    char **names = NULL;
    size_t n = 0;

    assert_int_equal(dir_names(dir, cache_name, NULL, &names, &n), BNC_OK);
    dir_names_free(names, n);
    return n;
}

static void
test_cache(void **state)
{
    char top[] = "/tmp/bnc_load_XXXXXX", dir[300], cmd[400];
    const char key[] = "vectorscan 5\nmulti\n2\n0 0 a\0" "1 0 b\0";
    const char other[] = "vectorscan 5\nmulti\n2\n0 0 a\0" "1 0 c\0";
    const char db[] = "\x01\x02\x03 compiled bytes";
    struct bnc_config cfg;
    size_t len = 0;
    char *got;
    (void)state;

    assert_non_null(mkdtemp(top));
    snprintf(dir, sizeof(dir), "%s/cache", top); /* created on the first store */
    assert_null(load_cache_get(dir, key, sizeof(key), &len));
    load_cache_put(dir, key, sizeof(key), db, sizeof(db));
    assert_int_equal(count_files(dir), 1);
    got = load_cache_get(dir, key, sizeof(key), &len);
    assert_non_null(got);
    assert_int_equal(len, sizeof(db));
    assert_memory_equal(got, db, sizeof(db));
    free(got);
    /* another key: a miss, then a file of its own */
    assert_null(load_cache_get(dir, other, sizeof(other), &len));
    load_cache_put(dir, other, sizeof(other), db, 3);
    assert_int_equal(count_files(dir), 2);
    /* nothing to keep: nothing written */
    load_cache_put(dir, "k", 1, db, 0);
    assert_int_equal(count_files(dir), 2);
    /* a truncated file, or one others may write, is a miss */
    snprintf(cmd, sizeof(cmd), "for f in %s/rules-*; do truncate -s 30 $f; done", dir);
    assert_int_equal(system(cmd), 0);
    assert_null(load_cache_get(dir, key, sizeof(key), &len));
    load_cache_put(dir, key, sizeof(key), db, sizeof(db));
    snprintf(cmd, sizeof(cmd), "chmod 0666 %s/rules-*", dir);
    assert_int_equal(system(cmd), 0);
    assert_null(load_cache_get(dir, key, sizeof(key), &len));

    /* where the cache is: off when empty, "auto" under XDG_CACHE_HOME, else as given */
    cfg_init(&cfg);
    free(cfg.rules_cache_dir);
    cfg.rules_cache_dir = strdup("");
    assert_false(load_cache_dir(&cfg, dir, sizeof(dir)));
    free(cfg.rules_cache_dir);
    cfg.rules_cache_dir = strdup("auto");
    assert_int_equal(setenv("XDG_CACHE_HOME", "/x/cache", 1), 0);
    assert_true(load_cache_dir(&cfg, dir, sizeof(dir)));
    assert_string_equal(dir, "/x/cache/bounced");
    free(cfg.rules_cache_dir);
    cfg.rules_cache_dir = strdup("/some/dir");
    assert_true(load_cache_dir(&cfg, dir, sizeof(dir)));
    assert_string_equal(dir, "/some/dir");
    assert_false(load_cache_dir(NULL, dir, sizeof(dir)));
    cfg_free(&cfg);
    rm_rf(top);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_files_in_order),
        cmocka_unit_test(test_rule_file_limit),
        cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
