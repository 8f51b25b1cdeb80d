/*
 * load.c - the file I/O of the library's rules: reading the operator's rule files, and the
 * cache of compiled pattern databases (rules.cache_dir) that both the classification rules
 * (classify/rules_db.c) and the phrase tables of the format recognizers (parse/formats/scan.c)
 * go through, by way of parse/hsdb.c.
 *
 * Rule files. rules.dir's NAME.rules files in name order, then rules.file; each is read whole
 * and handed to the caller, which parses it (classify/rules_syntax.c). A missing rules.dir is
 * the normal case.
 *
 * The cache. Compiling the built-in rules takes about 150 ms and the phrase tables about
 * 20 ms, which a one-shot `bounced parse` or a per-message pipe would pay every time. The
 * caller names what it compiled as bytes (the key: the Vectorscan version, every expression,
 * its flags and id); the file is named after the key's FNV-1a hash and holds the key
 * verbatim, and a load compares it byte for byte before handing the database back, so a
 * hash collision, a truncated write or a file of other rules is a miss, never a wrong
 * database. Only a directory and files owned by this user and not writable by others are
 * used (a database is code for the scanner). Files are written to a temporary name and
 * renamed, so concurrent starts are safe; files of other keys go after LOAD_KEEP_DAYS
 * without use, temporary files a write left behind after a day.
 * File layout: magic[8] | u64 key length | key | u64 database length | database; the name
 * is "rules-<hash>.hsdb" whatever was compiled.
 * Doesn't: parse a rule or touch Vectorscan (the caller serializes and deserializes).
 * STANDARDS: none.
 * LIMITS: a rule file is at most LOAD_RULES_FILE_MAX bytes (a larger one is reported and
 * skipped), a cached database at most LOAD_DB_MAX bytes (a larger one is not kept).
 * Ownership: see load.h.
 */
#include "core/load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "core/dirlist.h"
#include "core/xmalloc.h"

#define LOAD_RULES_FILE_MAX (4u << 20)
#define LOAD_DB_MAX         (256u << 20)
#define LOAD_MAGIC          "BNCRULE1"
#define LOAD_KEEP_DAYS      30

static bool load_read(const char *path, size_t max, bool regular, struct buf *out, char *err,
                      size_t errlen);

/* ------------------------------------------------------------------ rule files ---- */

bnc_status
load_rule_file(const char *path, struct rule_src *out, char *err, size_t errlen)
{
    struct buf b;

    if (!load_read(path, LOAD_RULES_FILE_MAX, false, &b, err, errlen)) {
        return BNC_EIO;
    }
    if (memchr(b.p, '\0', b.len) != NULL) {
        buf_free(&b);
        snprintf(err, errlen, "NUL byte in rules file");
        return BNC_EINVAL;
    }
    out->text = buf_take(&b);
    out->origin = xstrdup(path);
    return BNC_OK;
}

void
load_rule_src_free(struct rule_src *src)
{
    free((void *)(uintptr_t)src->text);
    free((void *)(uintptr_t)src->origin);
    src->text = NULL;
    src->origin = NULL;
}

static void
load_one_rule_file(const char *path, load_rules_fn fn, rules_err_cb cb, void *ud)
{
    char err[256];
    struct buf b;

    if (!load_read(path, LOAD_RULES_FILE_MAX, false, &b, err, sizeof(err))) {
        if (cb != NULL) {
            cb(ud, path, err);
        }
        return;
    }
    fn(ud, path, b.p, b.len);
    buf_free(&b);
}

/* rules.d entries: NAME.rules, not hidden */
static bool
load_keep_rules(const char *name, void *ud)
{
    size_t l = strlen(name);
    (void)ud;
    return name[0] != '.' && l >= 7 && strcmp(name + l - 6, ".rules") == 0;
}

static void
load_rules_dir(const char *dir, load_rules_fn fn, rules_err_cb cb, void *ud)
{
    char **names;
    size_t n, i;

    if (dir_names(dir, load_keep_rules, NULL, &names, &n) != BNC_OK) {
        if (errno != ENOENT && cb != NULL) {
            cb(ud, dir, strerror(errno));
        }
        return; /* no rules directory is the normal case */
    }
    for (i = 0; i < n; i++) {
        struct buf path;
        buf_init(&path, 0);
        buf_printf(&path, "%s/%s", dir, names[i]);
        load_one_rule_file(path.p, fn, cb, ud);
        buf_free(&path);
    }
    dir_names_free(names, n);
}

void
load_rule_files(const struct bnc_config *cfg, load_rules_fn fn, rules_err_cb cb, void *ud)
{
    if (cfg == NULL) {
        return;
    }
    if (cfg->rules_dir != NULL && cfg->rules_dir[0] != '\0') {
        load_rules_dir(cfg->rules_dir, fn, cb, ud);
    }
    if (cfg->rules_file != NULL && cfg->rules_file[0] != '\0') {
        load_one_rule_file(cfg->rules_file, fn, cb, ud);
    }
}

/* -------------------------------------------------------- the database cache ---- */

bool
load_cache_dir(const struct bnc_config *cfg, char *out, size_t cap)
{
    const char *d = cfg != NULL ? cfg->rules_cache_dir : NULL;
    int n;

    if (d == NULL || d[0] == '\0') {
        return false;
    }
    if (strcmp(d, "auto") == 0) {
        const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
        if (x != NULL && x[0] == '/') {
            n = snprintf(out, cap, "%s/bounced", x);
        } else if (h != NULL && h[0] == '/') {
            n = snprintf(out, cap, "%s/.cache/bounced", h);
        } else {
            return false;
        }
    } else {
        n = snprintf(out, cap, "%s", d);
    }
    return n > 0 && (size_t)n < cap;
}

/* Is path a directory (or, file true, a regular file) of ours that no one else may write? */
static bool
load_owned(const char *path, bool file)
{
    struct stat st;
    if (lstat(path, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
        return false;
    }
    return file ? S_ISREG(st.st_mode) : S_ISDIR(st.st_mode);
}

/* FNV-1a of p[0..n): names a cache file after the key it was compiled from. */
static uint64_t
load_hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;
    for (i = 0; i < n; i++) {
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    }
    return h;
}

/* The file name for key into name[0..64) and its path in dir into path[0..cap); false when
 * the path does not fit. */
static bool
load_cache_path(const char *dir, const char *key, size_t keylen, char name[64], char *path,
                size_t cap)
{
    snprintf(name, 64, "rules-%016llx.hsdb", (unsigned long long)load_hash(key, keylen));
    return (size_t)snprintf(path, cap, "%s/%s", dir, name) < cap;
}

char *
load_cache_get(const char *dir, const char *key, size_t keylen, size_t *len_out)
{
    const size_t head = 8 + sizeof(uint64_t);
    char name[64], path[4200], err[128], *db = NULL;
    struct buf f;
    uint64_t n;

    if (!load_cache_path(dir, key, keylen, name, path, sizeof(path)) || !load_owned(path, true) ||
        !load_read(path, head + keylen + sizeof(n) + LOAD_DB_MAX, true, &f, err, sizeof(err))) {
        return NULL;
    }
    if (f.len < head + keylen + sizeof(n) || memcmp(f.p, LOAD_MAGIC, 8) != 0) {
        goto out;
    }
    memcpy(&n, f.p + 8, sizeof(n));
    if (n != keylen || memcmp(f.p + head, key, keylen) != 0) {
        goto out; /* the file of another key */
    }
    memcpy(&n, f.p + head + keylen, sizeof(n));
    if (n == 0 || n > LOAD_DB_MAX || n > f.len - (head + keylen + sizeof(n))) {
        goto out;
    }
    memmove(f.p, f.p + head + keylen + sizeof(n), (size_t)n);
    *len_out = (size_t)n;
    db = buf_take(&f);
out:
    buf_free(&f);
    return db;
}

/* The cache's own files: "rules-<hash>.hsdb" and the ".rules-..." of an unfinished write. */
static bool
load_cache_name(const char *name, void *ud)
{
    (void)ud;
    return strncmp(name, "rules-", 6) == 0 || strncmp(name, ".rules-", 7) == 0;
}

/* Remove the cache files of other keys that have not been used for a long time, and
 * temporary files that a write interrupted more than a day ago left behind. */
static void
load_cache_prune(const char *dir, const char *keep)
{
    char **names = NULL;
    size_t n = 0, i;
    time_t now = time(NULL);

    if (dir_names(dir, load_cache_name, NULL, &names, &n) != BNC_OK) {
        return;
    }
    for (i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        time_t max_age = names[i][0] == '.' ? 86400 : (time_t)LOAD_KEEP_DAYS * 86400;
        if (strcmp(names[i], keep) == 0 ||
            (size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path)) {
            continue;
        }
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
            now - (names[i][0] == '.' ? st.st_mtime : st.st_atime) > max_age) {
            (void)unlink(path);
        }
    }
    dir_names_free(names, n);
}

/* dir, and its parent when that is missing too ("~/.cache" on a fresh account); true when
 * dir is then a directory of ours. */
static bool
load_cache_mkdir(const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        char parent[4096];
        char *slash;
        snprintf(parent, sizeof(parent), "%s", dir);
        slash = strrchr(parent, '/');
        if (slash == NULL || slash == parent) {
            return false;
        }
        *slash = '\0';
        if ((mkdir(parent, 0700) != 0 && errno != EEXIST) || mkdir(dir, 0700) != 0) {
            return false;
        }
    }
    return load_owned(dir, false);
}

static bool
load_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        c += w;
        n -= (size_t)w;
    }
    return true;
}

void
load_cache_put(const char *dir, const char *key, size_t keylen, const void *db, size_t dblen)
{
    char name[64], path[4200], tmp[4200];
    uint64_t n;
    int fd;
    bool ok;

    if (dblen == 0 || dblen > LOAD_DB_MAX ||
        !load_cache_path(dir, key, keylen, name, path, sizeof(path)) || !load_cache_mkdir(dir) ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp) ||
        (fd = mkstemp(tmp)) < 0) {
        return;
    }
    n = keylen;
    ok = load_write_all(fd, LOAD_MAGIC, 8) && load_write_all(fd, &n, sizeof(n)) &&
         load_write_all(fd, key, keylen);
    n = dblen;
    ok = ok && load_write_all(fd, &n, sizeof(n)) && load_write_all(fd, db, dblen);
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        (void)unlink(tmp);
        return;
    }
    load_cache_prune(dir, name);
}

/* ---------------------------------------------------------------- reading ---- */

/* The whole file at path into *out (NUL-terminated, out->len excluding it), at most max
 * bytes; regular: refuse anything but a regular file. false with a message in err when it
 * cannot be opened or read, or is larger (also when it grows past max while being read). */
static bool
load_read(const char *path, size_t max, bool regular, struct buf *out, char *err, size_t errlen)
{
    struct stat st;
    char tmp[8192];
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return false;
    }
    if (regular && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        snprintf(err, errlen, "not a regular file");
        close(fd);
        return false;
    }
    buf_init(out, max);
    for (;;) {
        ssize_t got = read(fd, tmp, sizeof(tmp));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            close(fd);
            if (got < 0) {
                snprintf(err, errlen, "read error");
                buf_free(out);
                return false;
            }
            break;
        }
        if (buf_add(out, tmp, (size_t)got) != BNC_OK) {
            snprintf(err, errlen, "file larger than %zu bytes", max);
            close(fd);
            buf_free(out);
            return false;
        }
    }
    if (out->p == NULL) {
        buf_addc(out, '\0');
        out->len = 0;
    }
    return true;
}
