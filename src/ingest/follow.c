/*
 * follow.c - log followers and the line streamer of `bounced ingest` (see follow.h).
 *
 * A source (struct fl_src) is one open file or pipe, read FOLLOW_CHUNK at a time into a
 * buffer that holds at most one unfinished line besides: the complete lines of each read
 * are parsed (events_stream_parse, whose stream keeps the state one line leaves for the
 * next) and applied, and the position moves past them only when that worked.
 *
 * Identity of a file: its device and inode, and the SHA-256 of its first head_len bytes
 * (head_len = the bytes consumed, up to FOLLOW_HEAD). A saved position belongs to a file
 * when the hash of that file's first head_len bytes is the saved one (and, with nothing
 * consumed yet, when device and inode are the same): so the file is found again after a
 * rename (same inode), a copy (copytruncate's copy) or a gzip (the decompressed text hashes
 * alike), and a file truncated and rewritten is not taken for the old one.
 * Rotations, seen on each poll:
 *   - the path names another inode: the file was renamed away (move-to, logrotate create):
 *     the open handle is read to its end, its last line taken even without a newline, then
 *     the new file from its start;
 *   - the path's file is shorter than the position, or its first bytes changed: it was
 *     truncated (copytruncate): what was not read yet is in the copy, which is looked for
 *     among the rotated files (identity as above) and read from the position; then the
 *     truncated file from its start;
 *   - on start, the saved position's file is looked for the same way: the path first, then
 *     the rotated files (FOLLOW_MAX_CANDIDATES of them at most, newest first).
 * Exactly once: each batch's verdicts and the position after it are one transaction
 * (ingest_pos_set inside the batch's store_begin/commit), so a crash anywhere leaves either
 * both or neither; a verdict applied twice anyway (the same log fed again) is a duplicate.
 * STANDARDS: RFC 1952 (gzip, through zlib).
 * LIMITS: a line of EVENTS_MAX_LINE (longer ones are skipped, counted and logged, never cut
 * into pieces); FOLLOW_CHUNK bytes per read; FOLLOW_MAX_CANDIDATES rotated files looked at.
 * Memory is FOLLOW_CHUNK + EVENTS_MAX_LINE per follower plus the stream's queue ids,
 * whatever the size of the log.
 */
#include "ingest/follow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "pipeline/process.h"
#include "store/ingest_state.h"
#include "store/store.h"

#define FOLLOW_MAX_CANDIDATES 256
#define FL_BUFCAP             (FOLLOW_CHUNK + EVENTS_MAX_LINE + 2)

/* One open input. */
struct fl_src {
    int fd;
    gzFile gz; /* set when the file is read through zlib (then fd belongs to it) */
    char *buf;
    size_t len;       /* bytes in buf not consumed yet */
    bool skipping;    /* inside an over-long line: its bytes up to a newline are dropped */
    int64_t pos;      /* bytes consumed */
    int64_t dev, ino; /* of the open file */
    unsigned char head[FOLLOW_HEAD];
    size_t head_len;
};

/* What the next batch is: drop skip bytes, parse n bytes (whole lines), then skipping. */
struct fl_plan {
    size_t skip, n;
    bool skipping;
};

typedef bnc_status (*fl_fn)(void *ud, const bnc_report *r, const struct ingest_pos *after);

struct follower {
    char *name, *path, *dir, *stem, *record_fields;
    char source[300];
    enum events_format fmt;
    struct events_stream *es;
    struct fl_src cur;
    bool open; /* cur is open */
    bool old;  /* cur is a rotated file to finish before the path */
};

static void
fl_src_init(struct fl_src *s)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->buf = xmalloc(FL_BUFCAP);
}

static void
fl_src_close(struct fl_src *s)
{
    if (s->gz != NULL) {
        (void)gzclose(s->gz);
    } else if (s->fd >= 0) {
        close(s->fd);
    }
    s->gz = NULL;
    s->fd = -1;
    s->len = 0;
    s->skipping = false;
    s->pos = 0;
    s->head_len = 0;
}

static void
fl_src_free(struct fl_src *s)
{
    fl_src_close(s);
    free(s->buf);
    s->buf = NULL;
}

static bool
fl_is_gz(const char *path)
{
    size_t n = strlen(path);
    return n > 3 && strcmp(path + n - 3, ".gz") == 0;
}

static ssize_t
fl_read(struct fl_src *s, void *dst, size_t n)
{
    if (s->gz != NULL) {
        int r = gzread(s->gz, dst, (unsigned)n);
        return r < 0 ? -1 : (ssize_t)r;
    }
    for (;;) {
        ssize_t r = read(s->fd, dst, n);
        if (r >= 0 || errno != EINTR) {
            return r;
        }
    }
}

/* Read the first n bytes of a file into out (fewer when it is shorter): how many, or -1. */
static ssize_t
fl_read_start(struct fl_src *s, void *out, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = s->gz != NULL ? fl_read(s, (char *)out + got, n - got)
                                  : pread(s->fd, (char *)out + got, n - got, (off_t)got);
        if (r < 0) {
            return -1;
        }
        if (r == 0) {
            break;
        }
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static void
fl_hash_hex(const unsigned char *p, size_t n, char out[INGEST_HEAD_HEX])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    unsigned int i;

    out[0] = '\0';
    if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        return;
    }
    for (i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

/* Open path (through zlib when gz) positioned at `at`, with its head loaded. */
static bnc_status
fl_open_at(struct fl_src *s, const char *path, int64_t at, char *err, size_t errlen)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    fl_src_close(s);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return BNC_EIO;
    }
    s->fd = fd;
    s->dev = (int64_t)sb.st_dev;
    s->ino = (int64_t)sb.st_ino;
    if (fl_is_gz(path) && (s->gz = gzdopen(fd, "rb")) == NULL) {
        close(fd);
        s->fd = -1;
        snprintf(err, errlen, "%s: not readable as gzip", path);
        return BNC_EIO;
    }
    if (at > 0) {
        size_t hl = at < (int64_t)FOLLOW_HEAD ? (size_t)at : FOLLOW_HEAD;
        ssize_t r = fl_read_start(s, s->head, hl);
        s->head_len = r > 0 ? (size_t)r : 0;
        if ((s->gz != NULL && gzseek(s->gz, (z_off_t)at, SEEK_SET) < 0) ||
            (s->gz == NULL && lseek(fd, (off_t)at, SEEK_SET) < 0)) {
            snprintf(err, errlen, "%s: cannot seek to %lld", path, (long long)at);
            fl_src_close(s);
            return BNC_EIO;
        }
    }
    s->pos = at;
    return BNC_OK;
}

/* A PowerMTA file opened past its start: its header row (when it has one) gives the layout
 * of the records that follow, as it did when the file was read from the start. */
static void
fl_reheader(struct follower *f, bnc_ctx *ctx, const char *path, int64_t at)
{
    struct fl_src s;
    bnc_report *r = NULL;
    char *line, err[256];
    const char *nl;
    ssize_t n;

    if ((f->fmt != EVENTS_PMTA && f->fmt != EVENTS_PMTA_FBL) || at <= 0) {
        return;
    }
    memset(&s, 0, sizeof(s));
    s.fd = -1;
    if (fl_open_at(&s, path, 0, err, sizeof(err)) != BNC_OK) {
        return;
    }
    line = xmalloc(EVENTS_MAX_LINE + 1);
    n = fl_read_start(&s, line, EVENTS_MAX_LINE + 1);
    fl_src_close(&s);
    if (n > 0 && (nl = memchr(line, '\n', (size_t)n)) != NULL &&
        events_pmta_is_header(line, (size_t)(nl - line)) &&
        events_stream_parse(ctx, f->es, line, (size_t)(nl - line), &r, NULL, err, sizeof(err)) ==
            BNC_OK) {
        bnc_report_free(r);
    }
    free(line);
}

/* Does the file at path hold the position saved in p (see the file comment)? */
static bool
fl_matches(const char *path, const struct ingest_pos *p)
{
    struct fl_src s;
    unsigned char head[FOLLOW_HEAD];
    char hex[INGEST_HEAD_HEX], err[128];
    struct stat sb;
    bool ok = false;
    ssize_t r;

    if (p->head_len < 0 || p->head_len > (int64_t)FOLLOW_HEAD || stat(path, &sb) != 0 ||
        !S_ISREG(sb.st_mode) || (!fl_is_gz(path) && sb.st_size < p->position)) {
        return false;
    }
    if (p->head_len == 0) {
        return (int64_t)sb.st_dev == p->dev && (int64_t)sb.st_ino == p->ino;
    }
    memset(&s, 0, sizeof(s));
    s.fd = -1;
    if (fl_open_at(&s, path, 0, err, sizeof(err)) != BNC_OK) {
        return false;
    }
    r = fl_read_start(&s, head, (size_t)p->head_len);
    if (r == (ssize_t)p->head_len) {
        fl_hash_hex(head, (size_t)r, hex);
        ok = strcmp(hex, p->head_hash) == 0;
    }
    fl_src_close(&s);
    return ok;
}

/* The batch the buffer holds now (see struct fl_plan); final: the input has ended. */
static struct fl_plan
fl_ready(const struct fl_src *s, bool final)
{
    struct fl_plan pl = {0, 0, s->skipping};
    const char *b = s->buf;
    size_t i, rest;

    if (pl.skipping) {
        const char *nl = memchr(b, '\n', s->len);
        if (nl == NULL) {
            pl.skip = s->len;
            return pl;
        }
        pl.skip = (size_t)(nl - b) + 1;
        pl.skipping = false;
    }
    for (i = s->len; i > pl.skip && b[i - 1] != '\n'; i--) {
    }
    pl.n = i - pl.skip;
    rest = s->len - i;
    if (final || rest > EVENTS_MAX_LINE) {
        /* the unfinished line is taken as a line: the last one of a file, or one already
         * over the limit, which the parser counts and skips (its rest is dropped next) */
        pl.skipping = !final && rest > 0;
        pl.n += rest;
    }
    return pl;
}

/* The position after consuming k more bytes of buf. */
static void
fl_after(const struct fl_src *s, size_t k, struct ingest_pos *after, unsigned char *head,
         size_t *head_len)
{
    size_t hl = s->head_len;

    memcpy(head, s->head, hl);
    if (hl < FOLLOW_HEAD && s->pos == (int64_t)hl) {
        size_t add = FOLLOW_HEAD - hl < k ? FOLLOW_HEAD - hl : k;
        memcpy(head + hl, s->buf, add);
        hl += add;
    }
    *head_len = hl;
    memset(after, 0, sizeof(*after));
    after->position = s->pos + (int64_t)k;
    after->dev = s->dev;
    after->ino = s->ino;
    after->head_len = (int64_t)hl;
    fl_hash_hex(head, hl, after->head_hash);
}

/* Parse and apply the batch the buffer holds; on success consume it. */
static bnc_status
fl_batch(struct fl_src *s, struct events_stream *es, bnc_ctx *ctx, bool final, fl_fn fn, void *ud,
         size_t *overlong, char *err, size_t errlen)
{
    struct fl_plan pl = fl_ready(s, final);
    size_t k = pl.skip + pl.n, ol = 0;
    unsigned char head[FOLLOW_HEAD];
    struct ingest_pos after;
    bnc_report *r = NULL;
    size_t hl;
    bnc_status rc;

    if (k == 0) {
        return BNC_OK;
    }
    rc = events_stream_parse(ctx, es, s->buf + pl.skip, pl.n, &r, &ol, err, errlen);
    if (rc != BNC_OK) {
        return rc;
    }
    fl_after(s, k, &after, head, &hl);
    rc = fn(ud, r, &after);
    bnc_report_free(r);
    if (rc != BNC_OK) {
        return rc;
    }
    memcpy(s->head, head, hl);
    s->head_len = hl;
    s->pos = after.position;
    memmove(s->buf, s->buf + k, s->len - k);
    s->len -= k;
    s->skipping = pl.skipping;
    *overlong += ol;
    return BNC_OK;
}

/* Read s to its end (for now), applying each read's lines. */
static bnc_status
fl_drain(struct fl_src *s, struct events_stream *es, bnc_ctx *ctx, bool final, fl_fn fn, void *ud,
         size_t *overlong, char *err, size_t errlen)
{
    bnc_status rc;

    for (;;) {
        size_t room = FL_BUFCAP - s->len;
        ssize_t r = fl_read(s, s->buf + s->len, room < FOLLOW_CHUNK ? room : FOLLOW_CHUNK);
        if (r < 0) {
            snprintf(err, errlen, "read: %s", strerror(errno));
            return BNC_EIO;
        }
        s->len += (size_t)r;
        rc = fl_batch(s, es, ctx, final && r == 0, fn, ud, overlong, err, errlen);
        if (rc != BNC_OK || r == 0) {
            return rc;
        }
    }
}

/* ---- streaming once (`bounced ingest`) ---- */

struct fl_once {
    follow_apply_fn fn;
    void *ud;
};

static bnc_status
fl_once_apply(void *ud, const bnc_report *r, const struct ingest_pos *after)
{
    struct fl_once *o = ud;
    (void)after;
    return o->fn(o->ud, r);
}

bnc_status
follow_stream(int fd, bool gz, bnc_ctx *ctx, enum events_format fmt, const char *record_fields,
              follow_apply_fn fn, void *ud, size_t *overlong_out, char *err, size_t errlen)
{
    struct events_stream *es = NULL;
    struct fl_once o = {fn, ud};
    struct fl_src s;
    size_t overlong = 0;
    bnc_status rc;

    err[0] = '\0';
    if ((rc = events_stream_new(fmt, record_fields, &es, err, errlen)) != BNC_OK) {
        return rc;
    }
    fl_src_init(&s);
    s.fd = fd;
    if (gz && (s.gz = gzdopen(dup(fd), "rb")) == NULL) {
        snprintf(err, errlen, "not readable as gzip");
        rc = BNC_EIO;
    } else {
        rc = fl_drain(&s, es, ctx, true, fl_once_apply, &o, &overlong, err, errlen);
    }
    s.fd = -1; /* the caller's */
    fl_src_free(&s);
    events_stream_free(es);
    if (overlong_out != NULL) {
        *overlong_out = overlong;
    }
    return rc;
}

/* ---- followers (`serve`) ---- */

struct fl_apply {
    struct follower *f;
    struct store *st;
    struct pipeline *pl;
    int64_t now;
    struct follow_stats *stats;
    char *err;
    size_t errlen;
};

/* One batch: its verdicts and the position after it, in one transaction. */
static bnc_status
fl_store_apply(void *ud, const bnc_report *r, const struct ingest_pos *after)
{
    struct fl_apply *a = ud;
    size_t i, n = bnc_report_rcpt_count(r);
    bnc_status rc;

    if ((rc = store_begin(a->st)) != BNC_OK) {
        snprintf(a->err, a->errlen, "begin: %s", store_errmsg(a->st));
        return rc;
    }
    for (i = 0; i < n; i++) {
        struct pipeline_result res;
        rc = pipeline_process_verdicts(a->pl, bnc_report_rcpt(r, i), 1,
                                       events_format_origin(a->f->fmt), NULL, &res);
        if (rc != BNC_OK) {
            snprintf(a->err, a->errlen, "%s", pipeline_errmsg(a->pl));
            (void)store_rollback(a->st);
            return rc;
        }
        a->stats->applied += res.duplicate ? 0 : 1;
        a->stats->duplicates += res.duplicate ? 1 : 0;
    }
    if ((rc = ingest_pos_set(a->st, a->f->source, after, a->now)) != BNC_OK) {
        snprintf(a->err, a->errlen, "saving the position: %s", store_errmsg(a->st));
        (void)store_rollback(a->st);
        return rc;
    }
    if ((rc = store_commit(a->st)) != BNC_OK) {
        snprintf(a->err, a->errlen, "commit: %s", store_errmsg(a->st));
        return rc;
    }
    a->stats->batches++;
    a->stats->verdicts += n;
    return BNC_OK;
}

const char *
follow_path(const struct follower *f)
{
    return f->path;
}

const char *
follow_dir(const struct follower *f)
{
    return f->dir;
}

bnc_status
follow_new(const struct follow_opts *o, struct follower **out, char *err, size_t errlen)
{
    struct follower *f;
    const char *slash, *base, *dot;
    bnc_status rc;

    *out = NULL;
    if (o->path == NULL || o->path[0] != '/') {
        snprintf(err, errlen, "logs.%s.path: an absolute path is needed", o->name);
        return BNC_ECONFIG;
    }
    if (!events_format_is_log(o->fmt)) {
        snprintf(err, errlen, "logs.%s.format: not a log format", o->name);
        return BNC_ECONFIG;
    }
    f = xcalloc(1, sizeof(*f));
    if ((rc = events_stream_new(o->fmt, o->record_fields, &f->es, err, errlen)) != BNC_OK) {
        free(f);
        return rc;
    }
    f->name = xstrdup(o->name);
    f->path = xstrdup(o->path);
    f->fmt = o->fmt;
    slash = strrchr(o->path, '/');
    base = slash + 1;
    f->dir = o->rotated_dir != NULL && o->rotated_dir[0] != '\0'
                 ? xstrdup(o->rotated_dir)
                 : xstrndup(o->path, slash == o->path ? 1 : (size_t)(slash - o->path));
    dot = strrchr(base, '.');
    f->stem = xstrndup(base, dot != NULL && dot > base ? (size_t)(dot - base) : strlen(base));
    snprintf(f->source, sizeof(f->source), "follow:%.280s", o->name);
    fl_src_init(&f->cur);
    *out = f;
    return BNC_OK;
}

void
follow_free(struct follower *f)
{
    if (f == NULL) {
        return;
    }
    fl_src_free(&f->cur);
    events_stream_free(f->es);
    free(f->name);
    free(f->path);
    free(f->dir);
    free(f->stem);
    free(f);
}

struct fl_cand {
    char path[4096];
    int64_t mtime;
};

static int
fl_cand_cmp(const void *a, const void *b)
{
    const struct fl_cand *x = a, *y = b;
    return x->mtime < y->mtime ? 1 : x->mtime > y->mtime ? -1 : 0;
}

/* The rotated file (not the live path) that holds position p, newest first; false if none. */
static bool
fl_find_rotated(const struct follower *f, const struct ingest_pos *p, char *out, size_t outlen)
{
    DIR *d = opendir(f->dir);
    struct fl_cand *c;
    struct dirent *de;
    size_t n = 0, i, sl = strlen(f->stem);
    bool found = false;

    if (d == NULL) {
        return false;
    }
    c = xcalloc(FOLLOW_MAX_CANDIDATES, sizeof(*c));
    while (n < FOLLOW_MAX_CANDIDATES && (de = readdir(d)) != NULL) {
        struct stat sb;
        if (strncmp(de->d_name, f->stem, sl) != 0) {
            continue;
        }
        snprintf(c[n].path, sizeof(c[n].path), "%s/%s", f->dir, de->d_name);
        if (strcmp(c[n].path, f->path) == 0 || stat(c[n].path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            continue;
        }
        c[n++].mtime = (int64_t)sb.st_mtime;
    }
    closedir(d);
    qsort(c, n, sizeof(*c), fl_cand_cmp);
    for (i = 0; i < n && !found; i++) {
        if ((found = fl_matches(c[i].path, p)) && strlen(c[i].path) < outlen) {
            memcpy(out, c[i].path, strlen(c[i].path) + 1);
        }
    }
    free(c);
    return found;
}

/* Open the file the saved position belongs to (the live path, a rotated file, or the live
 * path from its start when that file is gone). BNC_ENOTFOUND when there is nothing to read
 * yet. */
static bnc_status
fl_resume(struct follower *f, bnc_ctx *ctx, struct store *st, char *err, size_t errlen)
{
    struct ingest_pos p;
    char rot[4096] = "";
    bool found = false;
    bnc_status rc;

    if ((rc = ingest_pos_get(st, f->source, &p, &found)) != BNC_OK) {
        snprintf(err, errlen, "reading the position: %s", store_errmsg(st));
        return rc;
    }
    f->old = false;
    if (found && fl_matches(f->path, &p)) {
        rc = fl_open_at(&f->cur, f->path, p.position, err, errlen);
    } else if (found && fl_find_rotated(f, &p, rot, sizeof(rot))) { /* rot is set */
        log_info("event=follow_resume log=%s file=%s position=%lld (rotated)", f->name, rot,
                 (long long)p.position);
        rc = fl_open_at(&f->cur, rot, p.position, err, errlen);
        f->old = rc == BNC_OK;
    } else if (access(f->path, F_OK) != 0) {
        return BNC_ENOTFOUND;
    } else {
        if (found) {
            log_warnx("event=follow_restart log=%s path=%s detail=\"the file of the saved "
                      "position is gone; reading the log from its start\"",
                      f->name, f->path);
        }
        rc = fl_open_at(&f->cur, f->path, 0, err, errlen);
    }
    f->open = rc == BNC_OK;
    if (f->open) {
        fl_reheader(f, ctx, f->old ? rot : f->path, f->cur.pos);
    }
    return rc;
}

/* Has the live file been rotated away from under cur? 1 renamed, 2 truncated, 0 no. */
static int
fl_rotated(struct follower *f)
{
    unsigned char head[FOLLOW_HEAD];
    struct stat sb;
    ssize_t r;

    if (stat(f->path, &sb) != 0) {
        return 0; /* gone for now: keep what is open until a new file appears */
    }
    if ((int64_t)sb.st_dev != f->cur.dev || (int64_t)sb.st_ino != f->cur.ino) {
        return 1;
    }
    if (sb.st_size < f->cur.pos) {
        return 2;
    }
    r = pread(f->cur.fd, head, f->cur.head_len, 0);
    return r == (ssize_t)f->cur.head_len && memcmp(head, f->cur.head, f->cur.head_len) == 0 ? 0 : 2;
}

/* The live file was truncated: what cur had not read yet is in a copy among the rotated
 * files; finish that copy, then start the live file again. */
static bnc_status
fl_after_truncate(struct follower *f, bnc_ctx *ctx, fl_fn fn, struct fl_apply *a)
{
    struct ingest_pos p;
    char rot[4096];
    bnc_status rc;

    memset(&p, 0, sizeof(p));
    p.position = f->cur.pos;
    p.dev = f->cur.dev;
    p.ino = f->cur.ino;
    p.head_len = (int64_t)f->cur.head_len;
    fl_hash_hex(f->cur.head, f->cur.head_len, p.head_hash);
    if (p.head_len > 0 && fl_find_rotated(f, &p, rot, sizeof(rot))) {
        if ((rc = fl_open_at(&f->cur, rot, p.position, a->err, a->errlen)) != BNC_OK) {
            return rc;
        }
        fl_reheader(f, ctx, rot, p.position);
        if ((rc = fl_drain(&f->cur, f->es, ctx, true, fn, a, &a->stats->overlong, a->err,
                           a->errlen)) != BNC_OK) {
            return rc;
        }
    } else {
        log_warnx("event=follow_truncated log=%s path=%s detail=\"no rotated copy holds the "
                  "lines after position %lld\"",
                  f->name, f->path, (long long)p.position);
    }
    return BNC_OK;
}

/* cur is done (a rotated file read to its end): the live file from its start. */
static bnc_status
fl_next_file(struct follower *f, bnc_ctx *ctx, struct fl_apply *a)
{
    bnc_status rc;

    fl_src_close(&f->cur);
    f->open = false;
    f->old = false;
    a->stats->rotations++;
    if (access(f->path, F_OK) != 0) {
        return BNC_OK;
    }
    if ((rc = fl_open_at(&f->cur, f->path, 0, a->err, a->errlen)) != BNC_OK) {
        return rc;
    }
    f->open = true;
    return fl_drain(&f->cur, f->es, ctx, false, fl_store_apply, a, &a->stats->overlong, a->err,
                    a->errlen);
}

bnc_status
follow_poll(struct follower *f, bnc_ctx *ctx, struct store *st, struct pipeline *pl, int64_t now,
            struct follow_stats *stats, char *err, size_t errlen)
{
    struct follow_stats local;
    struct fl_apply a = {f, st, pl, now, stats != NULL ? stats : &local, err, errlen};
    size_t before;
    bnc_status rc;
    int how;

    memset(&local, 0, sizeof(local));
    err[0] = '\0';
    if (!f->open && (rc = fl_resume(f, ctx, st, err, errlen)) != BNC_OK) {
        return rc == BNC_ENOTFOUND ? BNC_OK : rc;
    }
    before = a.stats->overlong;
    rc = fl_drain(&f->cur, f->es, ctx, f->old, fl_store_apply, &a, &a.stats->overlong, err, errlen);
    if (rc == BNC_OK && f->old) {
        rc = fl_next_file(f, ctx, &a);
    } else if (rc == BNC_OK && (how = fl_rotated(f)) != 0) {
        if (how == 1) {
            /* renamed away: what was written to it before the rename is read to its end */
            rc = fl_drain(&f->cur, f->es, ctx, true, fl_store_apply, &a, &a.stats->overlong, err,
                          errlen);
        } else {
            rc = fl_after_truncate(f, ctx, fl_store_apply, &a);
        }
        if (rc == BNC_OK) {
            rc = fl_next_file(f, ctx, &a);
        }
    }
    if (a.stats->overlong > before) {
        log_warnx("event=follow_overlong log=%s lines=%zu detail=\"lines longer than %u bytes "
                  "skipped\"",
                  f->name, a.stats->overlong - before, EVENTS_MAX_LINE);
    }
    if (rc != BNC_OK) {
        /* the handle is kept: the next poll tries the same batch again */
        log_warnx("event=follow_failed log=%s status=%s detail=\"%s\"", f->name, bnc_strerror(rc),
                  err);
    }
    return rc;
}
