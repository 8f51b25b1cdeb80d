/*
 * spool.c - durable message spool: tmp/ -> new/ -> done/ (or hold/), Maildir style.
 *
 * spool_write() creates tmp/<id> (O_EXCL), writes the trace headers and the message, fsyncs
 * the file, renames it into new/ and fsyncs new/: only then does the caller reply 250.
 * spool_write_batch() does the same for many messages at once (a group commit): every file is
 * written and its writeback started, then each is fdatasync'd (the first call commits the
 * journal for the whole batch), all are renamed, and new/ is fsync'd once. Each message is
 * still fsync'd on its own (POSIX durability, no filesystem-specific shortcut), but a batch
 * costs about one commit, which is what lets the listener keep up on a slow disk. Several
 * threads may call either at once. Moving a processed file to done/ is not fsync'd on
 * purpose: if that rename is lost in a crash, the worker reprocesses the file and the pipeline
 * skips it as a duplicate (same spool id = same ingest ref).
 *
 * Doesn't: parse or interpret messages, keep an index (the directory is the queue), or lock
 * files (one daemon owns a spool directory; ids never repeat, so writers never collide).
 *
 * STANDARDS: RFC 5321 4.4 (trace information: Return-Path and Received), RFC 5322 3.3 (date).
 *
 * LIMITS: ids are at most SPOOL_ID_MAX-1 characters of [0-9a-f.]; spool_read() refuses files
 * larger than 1 GiB (the largest smtp.max_message_size); trace header values are cut at 256
 * octets and control characters are replaced.
 *
 * Ownership: the struct spool owns its path and directory descriptors.
 */
#define _GNU_SOURCE /* sync_file_range(2): Linux */
#include "ingest/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/dirlist.h"
#include "core/xmalloc.h"

#define SPOOL_READ_MAX  ((size_t)1 << 30)
#define SPOOL_TRACE_MAX 256

struct spool {
    char *dir;
    int newfd; /* new/, fsync'd after each rename into it */
    atomic_uint seq;
};

static bnc_status mkdir_p(const char *path, char *err, size_t errlen);
static void path_of(const struct spool *sp, const char *sub, const char *id, char *out,
                    size_t outlen);
static void add_trace_value(struct buf *b, const char *s);
static bool spool_keep_id_ud(const char *name, void *ud);
static void add_trace(struct buf *hdr, const struct spool_envelope *env, int64_t now,
                      const char *id);

bnc_status
spool_open(const char *dir, struct spool **out, char *err, size_t errlen)
{
    static const char *const subs[] = {"tmp", "new", "done", "hold"};
    struct spool *sp;
    char path[4096];
    size_t i;
    bnc_status rc;

    *out = NULL;
    if (dir == NULL || dir[0] == '\0' || strlen(dir) > 3000) {
        snprintf(err, errlen, "spool: bad directory");
        return BNC_ECONFIG;
    }
    if ((rc = mkdir_p(dir, err, errlen)) != BNC_OK) {
        return rc;
    }
    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, subs[i]);
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "spool: mkdir %s: %s", path, strerror(errno));
            return BNC_EIO;
        }
    }
    sp = xcalloc(1, sizeof(*sp));
    sp->dir = xstrdup(dir);
    snprintf(path, sizeof(path), "%s/new", dir);
    sp->newfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sp->newfd < 0) {
        snprintf(err, errlen, "spool: open %s: %s", path, strerror(errno));
        free(sp->dir);
        free(sp);
        return BNC_EIO;
    }
    atomic_init(&sp->seq, 0);
    *out = sp;
    return BNC_OK;
}

void
spool_close(struct spool *sp)
{
    if (sp == NULL) {
        return;
    }
    close(sp->newfd);
    free(sp->dir);
    free(sp);
}

const char *
spool_dir(const struct spool *sp)
{
    return sp->dir;
}

bool
spool_id_valid(const char *s)
{
    size_t i;

    if (s == NULL || s[0] == '\0' || s[0] == '.') {
        return false;
    }
    for (i = 0; s[i] != '\0'; i++) {
        if (i >= SPOOL_ID_MAX - 1) {
            return false;
        }
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || s[i] == '.')) {
            return false;
        }
    }
    return true;
}

/* Write tmp/<new id> with the trace headers and the message; fsync it when sync is set. */
static bnc_status
stage_tmp(struct spool *sp, const struct spool_envelope *env, const char *data, size_t len,
          int64_t now, bool sync, char id_out[SPOOL_ID_MAX], int *fd_out)
{
    static char empty[1];
    struct timespec ts;
    struct buf hdr;
    char tmp[4096];
    struct iovec iov[2];
    size_t total, done = 0;
    unsigned seq;
    int fd;

    clock_gettime(CLOCK_REALTIME, &ts);
    seq = atomic_fetch_add(&sp->seq, 1);
    /* time (sorts by arrival), microseconds, pid, per-process sequence: unique over restarts */
    snprintf(id_out, SPOOL_ID_MAX, "%010llx%05lx.%lx.%x", (unsigned long long)ts.tv_sec,
             (unsigned long)(ts.tv_nsec / 1000), (unsigned long)getpid(), seq);

    buf_init(&hdr, 0);
    if (env != NULL) {
        add_trace(&hdr, env, now ? now : (int64_t)ts.tv_sec, id_out);
    }
    path_of(sp, "tmp", id_out, tmp, sizeof(tmp));
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        buf_free(&hdr);
        return BNC_EIO;
    }
    iov[0].iov_base = hdr.p != NULL ? hdr.p : empty;
    iov[0].iov_len = hdr.len;
    iov[1].iov_base = (void *)(uintptr_t)data;
    iov[1].iov_len = len;
    total = hdr.len + len;
    while (done < total) {
        struct iovec v[2];
        int nv = 0;
        ssize_t w;
        if (done < hdr.len) {
            v[nv].iov_base = (char *)iov[0].iov_base + done;
            v[nv++].iov_len = hdr.len - done;
            v[nv].iov_base = iov[1].iov_base;
            v[nv++].iov_len = len;
        } else {
            v[nv].iov_base = (char *)iov[1].iov_base + (done - hdr.len);
            v[nv++].iov_len = total - done;
        }
        w = writev(fd, v, nv);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            goto fail;
        }
        done += (size_t)w;
    }
    if (!sync) {
        /* start the writeback now; the caller waits for it with fdatasync(fd_out) */
        (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        *fd_out = fd;
        buf_free(&hdr);
        return BNC_OK;
    }
    /* The data and the file size must be on disk before the name appears in new/. */
    if (fdatasync(fd) != 0) {
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    buf_free(&hdr);
    return BNC_OK;

fail:
    if (fd >= 0) {
        close(fd);
    }
    (void)unlink(tmp);
    buf_free(&hdr);
    return BNC_EIO;
}

bnc_status
spool_write(struct spool *sp, const struct spool_envelope *env, const char *data, size_t len,
            int64_t now, char id_out[SPOOL_ID_MAX])
{
    char tmp[4096], dst[4096];
    bnc_status rc;

    if ((rc = stage_tmp(sp, env, data, len, now, true, id_out, NULL)) != BNC_OK) {
        return rc;
    }
    path_of(sp, "tmp", id_out, tmp, sizeof(tmp));
    path_of(sp, "new", id_out, dst, sizeof(dst));
    if (rename(tmp, dst) != 0) {
        (void)unlink(tmp);
        return BNC_EIO;
    }
    if (fsync(sp->newfd) != 0) {
        (void)unlink(dst);
        return BNC_EIO;
    }
    return BNC_OK;
}

void
spool_write_batch(struct spool *sp, struct spool_msg *msgs, size_t n)
{
    char tmp[4096], dst[4096];
    size_t i;
    int fd;

    if (n == 1) {
        msgs[0].rc =
            spool_write(sp, msgs[0].env, msgs[0].data, msgs[0].len, msgs[0].now, msgs[0].id);
        return;
    }
    /* Write every file and start its writeback... */
    for (i = 0; i < n; i++) {
        msgs[i].fd = -1;
        msgs[i].rc = stage_tmp(sp, msgs[i].env, msgs[i].data, msgs[i].len, msgs[i].now, false,
                               msgs[i].id, &msgs[i].fd);
    }
    /* ...then wait for each: the first fdatasync commits the journal transaction that holds
     * the whole batch's inodes, so the others mostly find their work done. */
    for (i = 0; i < n; i++) {
        if (msgs[i].rc != BNC_OK) {
            continue;
        }
        fd = msgs[i].fd;
        msgs[i].fd = -1;
        path_of(sp, "tmp", msgs[i].id, tmp, sizeof(tmp));
        if (fdatasync(fd) != 0) {
            msgs[i].rc = BNC_EIO;
        }
        if (close(fd) != 0) {
            msgs[i].rc = BNC_EIO;
        }
        path_of(sp, "new", msgs[i].id, dst, sizeof(dst));
        if (msgs[i].rc != BNC_OK || rename(tmp, dst) != 0) {
            (void)unlink(tmp);
            msgs[i].rc = BNC_EIO;
        }
    }
    /* All the renames in one directory fsync. */
    if (fsync(sp->newfd) != 0) {
        for (i = 0; i < n; i++) {
            if (msgs[i].rc == BNC_OK) {
                path_of(sp, "new", msgs[i].id, dst, sizeof(dst));
                (void)unlink(dst);
                msgs[i].rc = BNC_EIO;
            }
        }
    }
}

/* Read sub/<id> whole (spool_read's contract). */
static bnc_status
spool_read_in(struct spool *sp, const char *sub, const char *id, char **data_out, size_t *len_out)
{
    char path[4096];
    struct stat st;
    char *p;
    size_t got = 0;
    int fd;

    *data_out = NULL;
    *len_out = 0;
    if (!spool_id_valid(id)) {
        return BNC_EINVAL;
    }
    path_of(sp, sub, id, path, sizeof(path));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? BNC_ENOTFOUND : BNC_EIO;
    }
    if (fstat(fd, &st) != 0 || st.st_size < 0 || (size_t)st.st_size > SPOOL_READ_MAX) {
        close(fd);
        return BNC_EIO;
    }
    p = xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    if (got != (size_t)st.st_size) {
        free(p);
        return BNC_EIO;
    }
    p[got] = '\0';
    *data_out = p;
    *len_out = got;
    return BNC_OK;
}

bnc_status
spool_read(struct spool *sp, const char *id, char **data_out, size_t *len_out)
{
    return spool_read_in(sp, "new", id, data_out, len_out);
}

bnc_status
spool_read_kept(struct spool *sp, const char *id, char **data_out, size_t *len_out)
{
    static const char *const subs[] = {"done", "new", "hold"};
    bnc_status rc = BNC_ENOTFOUND;
    size_t i;

    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        rc = spool_read_in(sp, subs[i], id, data_out, len_out);
        if (rc != BNC_ENOTFOUND) {
            return rc;
        }
    }
    return rc;
}

bnc_status
spool_done(struct spool *sp, const char *id, bool keep)
{
    char src[4096], dst[4096];

    if (!spool_id_valid(id)) {
        return BNC_EINVAL;
    }
    path_of(sp, "new", id, src, sizeof(src));
    if (keep) {
        path_of(sp, "done", id, dst, sizeof(dst));
        if (rename(src, dst) == 0) {
            return BNC_OK; /* done/ ages by mtime, the time the message was spooled */
        }
    } else if (unlink(src) == 0) {
        return BNC_OK;
    }
    return errno == ENOENT ? BNC_ENOTFOUND : BNC_EIO;
}

bnc_status
spool_hold(struct spool *sp, const char *id, const char *reason)
{
    char src[4096], dst[4096], why[4200];
    int fd;

    if (!spool_id_valid(id)) {
        return BNC_EINVAL;
    }
    path_of(sp, "new", id, src, sizeof(src));
    path_of(sp, "hold", id, dst, sizeof(dst));
    if (reason != NULL) {
        /* next to the file, named so that no scan takes it for a message (not an id) */
        snprintf(why, sizeof(why), "%s.reason", dst);
        fd = open(why, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            size_t n = strlen(reason);
            ssize_t w = write(fd, reason, n);
            ssize_t w2 = write(fd, "\n", 1);
            (void)w;
            (void)w2;
            close(fd);
        }
    }
    if (rename(src, dst) == 0) {
        return BNC_OK;
    }
    return errno == ENOENT ? BNC_ENOTFOUND : BNC_EIO;
}

bnc_status
spool_unhold(struct spool *sp, const char *id)
{
    char src[4096], dst[4096], why[4200];

    if (!spool_id_valid(id)) {
        return BNC_EINVAL;
    }
    path_of(sp, "hold", id, src, sizeof(src));
    path_of(sp, "new", id, dst, sizeof(dst));
    if (rename(src, dst) != 0) {
        return errno == ENOENT ? BNC_ENOTFOUND : BNC_EIO;
    }
    snprintf(why, sizeof(why), "%s.reason", src);
    (void)unlink(why);
    (void)fsync(sp->newfd);
    return BNC_OK;
}

/* Call cb for every spool id in the sub-directory `sub`, in name order; how many. */
static size_t
spool_scan_dir(struct spool *sp, const char *sub, void (*cb)(void *ud, const char *id), void *ud)
{
    char path[4096];
    char **names;
    size_t n, i;

    path_of(sp, sub, NULL, path, sizeof(path));
    if (dir_names(path, spool_keep_id_ud, NULL, &names, &n) != BNC_OK) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        cb(ud, names[i]);
    }
    dir_names_free(names, n);
    return n;
}

size_t
spool_scan_hold(struct spool *sp, void (*cb)(void *ud, const char *id), void *ud)
{
    return spool_scan_dir(sp, "hold", cb, ud);
}

struct unhold_run {
    struct spool *sp;
    size_t moved;
};

static void
unhold_cb(void *ud, const char *id)
{
    struct unhold_run *u = ud;
    if (spool_unhold(u->sp, id) == BNC_OK) {
        u->moved++;
    }
}

size_t
spool_unhold_all(struct spool *sp)
{
    struct unhold_run u = {sp, 0};

    (void)spool_scan_hold(sp, unhold_cb, &u);
    return u.moved;
}

static bool
spool_keep_id_ud(const char *name, void *ud)
{
    (void)ud;
    return spool_id_valid(name);
}

size_t
spool_scan_new(struct spool *sp, void (*cb)(void *ud, const char *id), void *ud)
{
    return spool_scan_dir(sp, "new", cb, ud);
}

size_t
spool_count_new(struct spool *sp)
{
    char path[4096];
    struct dirent *de;
    size_t n = 0;
    DIR *d;

    path_of(sp, "new", NULL, path, sizeof(path));
    if ((d = opendir(path)) == NULL) {
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        if (spool_id_valid(de->d_name)) {
            n++;
        }
    }
    closedir(d);
    return n;
}

size_t
spool_clean_tmp(struct spool *sp)
{
    char path[4096], f[4096];
    struct dirent *de;
    size_t n = 0;
    DIR *d;

    path_of(sp, "tmp", NULL, path, sizeof(path));
    if ((d = opendir(path)) == NULL) {
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        if (!spool_id_valid(de->d_name)) {
            continue;
        }
        path_of(sp, "tmp", de->d_name, f, sizeof(f));
        if (unlink(f) == 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

size_t
spool_purge(struct spool *sp, int64_t before)
{
    char path[4096], f[4096];
    struct dirent *de;
    struct stat st;
    size_t n = 0;
    DIR *d;

    path_of(sp, "done", NULL, path, sizeof(path));
    if ((d = opendir(path)) == NULL) {
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        if (!spool_id_valid(de->d_name)) {
            continue;
        }
        path_of(sp, "done", de->d_name, f, sizeof(f));
        if (stat(f, &st) == 0 && (int64_t)st.st_mtime < before && unlink(f) == 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* ---- statics ---- */

static bnc_status
mkdir_p(const char *path, char *err, size_t errlen)
{
    char tmp[4096];
    size_t i, n = strlen(path);

    if (n >= sizeof(tmp)) {
        snprintf(err, errlen, "spool: path too long");
        return BNC_ECONFIG;
    }
    memcpy(tmp, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
                snprintf(err, errlen, "spool: mkdir %s: %s", tmp, strerror(errno));
                return BNC_EIO;
            }
            tmp[i] = c;
        }
    }
    return BNC_OK;
}

static void
path_of(const struct spool *sp, const char *sub, const char *id, char *out, size_t outlen)
{
    if (id != NULL) {
        snprintf(out, outlen, "%s/%s/%s", sp->dir, sub, id);
    } else {
        snprintf(out, outlen, "%s/%s", sp->dir, sub);
    }
}

/* Return-Path, X-Original-To and Received from the envelope (RFC 5321 4.4). */
static void
add_trace(struct buf *hdr, const struct spool_envelope *env, int64_t now, const char *id)
{
    char date[64];
    struct tm tm;
    time_t t = (time_t)now;
    size_t i;

    if (env->mail_from != NULL) {
        (void)buf_adds(hdr, "Return-Path: <");
        add_trace_value(hdr, env->mail_from);
        (void)buf_adds(hdr, ">\r\n");
    }
    for (i = 0; i < env->nrcpts; i++) {
        (void)buf_adds(hdr, "X-Original-To: <");
        add_trace_value(hdr, env->rcpts[i]);
        (void)buf_adds(hdr, ">\r\n");
    }
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    (void)buf_adds(hdr, "Received: from ");
    add_trace_value(hdr, env->helo != NULL && env->helo[0] != '\0' ? env->helo : "unknown");
    if (env->peer != NULL) {
        (void)buf_adds(hdr, " ([");
        add_trace_value(hdr, env->peer);
        (void)buf_adds(hdr, "])");
    }
    (void)buf_adds(hdr, "\r\n\tby ");
    add_trace_value(hdr, env->hostname != NULL ? env->hostname : "localhost");
    (void)buf_printf(hdr, " (bounced) with %s id %s", env->proto != NULL ? env->proto : "SMTP", id);
    if (env->nrcpts == 1) {
        (void)buf_adds(hdr, "\r\n\tfor <");
        add_trace_value(hdr, env->rcpts[0]);
        (void)buf_adds(hdr, ">");
    }
    (void)buf_printf(hdr, "; %s\r\n", date);
}

/* A header value from the envelope: bounded, no CR/LF (no header injection). */
static void
add_trace_value(struct buf *b, const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0' && i < SPOOL_TRACE_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        (void)buf_addc(b, (c < 32 || c == 127) ? '?' : (char)c);
    }
}
