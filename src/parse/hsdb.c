/*
 * hsdb.c - the cache of compiled Vectorscan databases (rules.cache_dir).
 *
 * Compiling the built-in rules takes about 150 ms and the phrase tables of the format
 * recognizers about 20 ms, which a one-shot `bounced parse` or a per-message pipe would pay
 * every time. A compiled database is therefore kept in the cache directory under a name
 * derived from everything the compile read: the Vectorscan version, each expression, its
 * flags (and its id, when the ids are not just the positions). The file holds that input verbatim, and a load compares it
 * byte for byte before trusting the database, so a hash collision, a truncated write or a
 * file from another ruleset is a miss, never a wrong database. Only a directory and a file
 * owned by this user and not writable by others are used (a database is code for the
 * scanner). Files are written to a temporary name and renamed, so concurrent starts are safe;
 * older files of other inputs are removed after HSDB_KEEP_DAYS without use.
 * Any failure falls back to compiling.
 * File layout: magic[8] | u64 input length | input | u64 database length | database; the
 * name is "rules-<FNV-1a of the input>.hsdb" whatever was compiled.
 * LIMITS: a database file is at most HSDB_MAX bytes.
 */
#include "parse/hsdb.h"

#include <errno.h>
#include <fcntl.h>
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

#define HSDB_MAGIC     "BNCRULE1"
#define HSDB_MAX       (256u << 20)
#define HSDB_KEEP_DAYS 30

/* The directory to use, or false when the cache is off or has no usable place. */
bool
hsdb_cache_dir(const struct bnc_config *cfg, char *out, size_t cap)
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
hsdb_owned(const char *path, bool file)
{
    struct stat st;
    if (lstat(path, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
        return false;
    }
    return file ? S_ISREG(st.st_mode) : S_ISDIR(st.st_mode);
}

uint64_t
hsdb_hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;
    for (i = 0; i < n; i++) {
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    }
    return h;
}

static bool
hsdb_write_all(int fd, const void *p, size_t n)
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

/* The whole file at path, up to max bytes; NULL when it cannot be read or is bigger. */
static char *
hsdb_read(const char *path, size_t max, size_t *len_out)
{
    struct stat st;
    size_t len = 0, cap;
    char *b;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        close(fd);
        return NULL;
    }
    cap = (size_t)st.st_size + 1; /* + 1: the read that sees the end */
    b = xmalloc(cap);
    for (;;) {
        ssize_t got = read(fd, b + len, cap - len);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0 || (got > 0 && len + (size_t)got == cap)) {
            /* a read error, or the file grew while being read: a miss */
            free(b);
            close(fd);
            return NULL;
        }
        if (got == 0) {
            break;
        }
        len += (size_t)got;
    }
    close(fd);
    *len_out = len;
    return b;
}

hs_database_t *
hsdb_cache_load(const char *path, const char *in, size_t inlen)
{
    const size_t head = 8 + sizeof(uint64_t);
    hs_database_t *db = NULL;
    char *f;
    size_t len = 0;
    uint64_t n;

    if (!hsdb_owned(path, true) ||
        (f = hsdb_read(path, head + inlen + sizeof(n) + HSDB_MAX, &len)) == NULL) {
        return NULL;
    }
    if (len < head + inlen + sizeof(n) || memcmp(f, HSDB_MAGIC, 8) != 0) {
        goto out;
    }
    memcpy(&n, f + 8, sizeof(n));
    if (n != inlen || memcmp(f + head, in, inlen) != 0) {
        goto out; /* the file of other rules */
    }
    memcpy(&n, f + head + inlen, sizeof(n));
    if (n == 0 || n > HSDB_MAX || n > len - (head + inlen + sizeof(n)) ||
        hs_deserialize_database(f + head + inlen + sizeof(n), (size_t)n, &db) != HS_SUCCESS) {
        db = NULL;
    }
out:
    free(f);
    return db;
}

/* The cache's own files: "rules-<hash>.hsdb" and the ".rules-..." of an unfinished write. */
static bool
hsdb_name(const char *name, void *ud)
{
    (void)ud;
    return strncmp(name, "rules-", 6) == 0 || strncmp(name, ".rules-", 7) == 0;
}

/* Remove the cache files of other rulesets that have not been used for a long time, and
 * temporary files that a write interrupted more than a day ago left behind. */
static void
hsdb_prune(const char *dir, const char *keep)
{
    char **names = NULL;
    size_t n = 0, i;
    time_t now = time(NULL);

    if (dir_names(dir, hsdb_name, NULL, &names, &n) != BNC_OK) {
        return;
    }
    for (i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        time_t max_age = names[i][0] == '.' ? 86400 : (time_t)HSDB_KEEP_DAYS * 86400;
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

void
hsdb_cache_store(const char *dir, const char *path, const char *name, const char *in, size_t inlen,
                 const hs_database_t *db)
{
    char *bytes = NULL, tmp[4200];
    size_t blen = 0;
    uint64_t n;
    int fd;
    bool ok;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        /* the parent may be missing too ("~/.cache" on a fresh account) */
        char parent[4096];
        char *slash;
        snprintf(parent, sizeof(parent), "%s", dir);
        slash = strrchr(parent, '/');
        if (slash == NULL || slash == parent) {
            return;
        }
        *slash = '\0';
        if ((mkdir(parent, 0700) != 0 && errno != EEXIST) || mkdir(dir, 0700) != 0) {
            return;
        }
    }
    if (!hsdb_owned(dir, false) || hs_serialize_database(db, &bytes, &blen) != HS_SUCCESS ||
        blen > HSDB_MAX ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp)) {
        free(bytes);
        return;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        free(bytes);
        return;
    }
    n = inlen;
    ok = hsdb_write_all(fd, HSDB_MAGIC, 8) && hsdb_write_all(fd, &n, sizeof(n)) &&
         hsdb_write_all(fd, in, inlen);
    n = blen;
    ok = ok && hsdb_write_all(fd, &n, sizeof(n)) && hsdb_write_all(fd, bytes, blen);
    ok = close(fd) == 0 && ok;
    free(bytes);
    if (!ok || rename(tmp, path) != 0) {
        (void)unlink(tmp);
        return;
    }
    hsdb_prune(dir, name);
}

hs_error_t
hsdb_compile_multi(const char *dir, const char *const *exprs, const unsigned *flags,
                   const unsigned *ids, unsigned n, hs_database_t **db, hs_compile_error_t **ce)
{
    struct buf in;
    char path[4200], name[64];
    unsigned i;
    hs_error_t he;

    *db = NULL;
    *ce = NULL;
    if (dir == NULL || dir[0] == '\0' || n == 0) {
        return hs_compile_multi(exprs, flags, ids, n, HS_MODE_BLOCK, NULL, db, ce);
    }
    /* the key: everything the compile reads (a rule set's key never looks like this one:
     * its second line is a number) */
    buf_init(&in, 0);
    buf_printf(&in, "%s\nmulti\n%u\n", hs_version(), n);
    for (i = 0; i < n; i++) {
        buf_printf(&in, "%u %u ", ids ? ids[i] : 0, flags ? flags[i] : 0);
        buf_adds(&in, exprs[i]);
        buf_addc(&in, '\0');
    }
    snprintf(name, sizeof(name), "rules-%016llx.hsdb", (unsigned long long)hsdb_hash(in.p, in.len));
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
        buf_free(&in);
        return hs_compile_multi(exprs, flags, ids, n, HS_MODE_BLOCK, NULL, db, ce);
    }
    if ((*db = hsdb_cache_load(path, in.p, in.len)) != NULL) {
        buf_free(&in);
        return HS_SUCCESS;
    }
    he = hs_compile_multi(exprs, flags, ids, n, HS_MODE_BLOCK, NULL, db, ce);
    if (he == HS_SUCCESS) {
        hsdb_cache_store(dir, path, name, in.p, in.len, *db);
    }
    buf_free(&in);
    return he;
}
