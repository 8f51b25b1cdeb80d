/*
 * cmd_parse.c - `bounced parse FILE|DIR|-`: parse and classify bounce messages and print one
 * verdict per recipient (JSON lines as DESIGN §5, a readable table, or the canonical dump
 * used by the golden tests).
 *
 * Directories are walked recursively in sorted order, skipping dot files; a file that begins
 * with "From " is an mbox and each of its messages is parsed ("mbox_index" in the output).
 * Does not touch the store (`bounced process` does).
 * Threads: with --jobs N > 1 (default: one per online core) the files are parsed by N
 * workers. The main thread walks the inputs in the serial order and hands them to a bounded
 * queue as numbered work items of up to PARSE_BATCH files each (one hand-over, one wake-up
 * per batch rather than per file); a worker parses a batch into the item's own output and
 * error buffers, remembering where each file's part ends; the main thread writes the items
 * strictly in sequence (a reorder window of PARSE_WINDOW_PER_JOB * N items, the walk waits
 * when it is full), file by file as the serial run would, so stdout and stderr carry the
 * same bytes. Shared between workers: the ctx (read-only; its compiled rule database is
 * shared, Vectorscan scratch is per thread in rules.c and formats/scan.c, charset converters
 * are per thread in charset.c). `-` (stdin) among the inputs, or -j 1, takes the serial
 * path.
 * I/O: a file is read with one open, one fstat and read() into a buffer each worker reuses;
 * the walk takes an entry's type from readdir() and calls stat() only when the directory
 * does not say (symbolic links, file systems without d_type).
 * LIMITS: each input file is read up to limits.message_size; a bigger one is reported on
 * stderr and counted as unreadable. Directory depth is capped at PARSE_DIR_DEPTH; --jobs at
 * PARSE_JOBS_MAX; at most PARSE_WINDOW_PER_JOB * jobs work items (each of at most
 * PARSE_BATCH files) wait to be written.
 * Exit: 0 all inputs read, 1 some could not be read (each reported), 2 usage error,
 * 3 configuration error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classify/classify.h"
#include "cli.h"
#include "core/buf.h"
#include "core/xmalloc.h"
#include "parse/mbox.h"
#include "parse/parse.h"

#define PARSE_DIR_DEPTH      64
#define PARSE_JOBS_MAX       256
#define PARSE_WINDOW_PER_JOB 4
#define PARSE_BATCH          16         /* files per work item */
#define PARSE_KEEP_BUF       (1u << 20) /* a bigger item buffer is freed once written */

enum parse_fmt { FMT_JSON, FMT_TEXT, FMT_DUMP };

struct parse_pool;

/* One stream of work: the serial run (direct: written as it goes), a worker's item, or the
 * walk of a parallel run (its errors become items of their own). */
struct parse_run {
    bnc_ctx *ctx;
    enum parse_fmt fmt;
    size_t max_size;
    int unreadable;
    bool direct;             /* write out/err to stdout/stderr as they come */
    struct buf out;          /* verdicts */
    struct buf err;          /* error lines (when not direct) */
    struct parse_pool *pool; /* the walk of a parallel run: files go to the pool */
    struct buf batch;        /* the walk: "path\0name\0" of the files not yet queued */
    size_t nbatch;
    char *rbuf; /* read buffer, reused from file to file */
    size_t rcap;
};

/* Files to parse ("path\0name\0" each; or, pre, only walk errors to print), and their
 * results once done: out and err hold the files' parts in order, file i's ending at
 * ends[2i] (out) and ends[2i + 1] (err). Slots keep their storage from item to item. */
struct parse_item {
    bool pre, done;
    int unreadable;
    struct buf files;
    size_t nfiles;
    struct buf out, err;
    size_t *ends;
    size_t ends_cap;
};

/* Workers, the queue of items and the reorder window: item seq lives in
 * slots[seq % window] from submission until it is written. Items are taken in sequence
 * order; [emit, take) are being parsed or done, [take, next) wait for a worker. */
struct parse_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv_work; /* an item to take, or closing */
    pthread_cond_t cv_done; /* an item finished */
    struct parse_item *slots;
    size_t window;
    unsigned long next, take, emit;
    bool closing;
    const struct parse_run *proto; /* ctx, format, limits */
    pthread_t *threads;
    size_t nthreads;
    int unreadable; /* summed over written items */
};

/* A directory's entries: relative name and the type readdir() gave (DT_UNKNOWN if none). */
struct path_ent {
    char *rel;
    unsigned char type;
};

struct path_list {
    struct path_ent *v;
    size_t n, cap;
};

static const char *const flag_names[] = {
    "no_dsn_part", "truncated",      "nesting",        "bad_status",     "heuristic",
    "no_boundary", "too_many_parts", "long_header",    "too_many_rcpts", "bad_encoding",
    "binary",      "not_bounce",     "diag_truncated",
};

static void
parse_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced parse [--format json|text] [--dump] [-j N] FILE|DIR|- ...\n\n"
                "Parse and classify bounce messages; print one verdict per recipient.\n"
                "A directory is read recursively (sorted, dot files skipped); a file that\n"
                "starts with \"From \" is an mbox; \"-\" reads one message from stdin.\n\n"
                "  --format json   JSON lines (default): file, recipient, status, replycode,\n"
                "                  reason, hard, kind, action, diagnostic, origin, ...\n"
                "  --format text   a readable table\n"
                "  --dump          canonical one-field-per-line dump (golden tests)\n"
                "  -j, --jobs N    parse with N threads (default: one per online core; 1 is\n"
                "                  serial); output is in input order either way. With \"-\"\n"
                "                  among the inputs the run is serial\n"
                "  -h, --help      this help\n\n"
                "exit: 0 all inputs read, 1 some unreadable (reported on stderr), 2 usage\n");
}

static void
json_key_str(struct buf *b, const char *key, const char *v)
{
    buf_add(b, ",\"", 2);
    buf_adds(b, key);
    buf_add(b, "\":", 2);
    buf_add_json_str(b, v ? v : "", v ? strlen(v) : 0);
}

static void
add_flags_json(struct buf *b, unsigned flags)
{
    size_t i;
    bool first = true;

    if (flags == 0) {
        return;
    }
    buf_adds(b, ",\"flags\":[");
    for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
        if (flags & (1u << i)) {
            buf_adds(b, first ? "\"" : ",\"");
            buf_adds(b, flag_names[i]);
            buf_addc(b, '"');
            first = false;
        }
    }
    buf_adds(b, "]");
}

static void
flags_text(struct buf *b, unsigned flags)
{
    size_t i;
    bool first = true;

    for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
        if (flags & (1u << i)) {
            buf_printf(b, "%s%s", first ? "" : ",", flag_names[i]);
            first = false;
        }
    }
}

/* One line, printable: control bytes escaped, UTF-8 kept. */
static void
dump_str(struct buf *b, const char *key, const char *v)
{
    const unsigned char *p = (const unsigned char *)(v ? v : "");

    buf_printf(b, "%s: ", key);
    for (; *p; p++) {
        if (*p == '\\') {
            buf_adds(b, "\\\\");
        } else if (*p < 0x20 || *p == 0x7f) {
            buf_printf(b, "\\x%02x", *p);
        } else {
            buf_addc(b, (char)*p);
        }
    }
    buf_addc(b, '\n');
}

static void
emit_dump(struct parse_run *pr, const char *name, long mbox_index, const bnc_report *r)
{
    struct buf *b = &pr->out;
    size_t i, n = bnc_report_rcpt_count(r);
    char key[64];

    dump_str(b, "file", name);
    if (mbox_index >= 0) {
        buf_printf(b, "mbox_index: %ld\n", mbox_index);
    }
    buf_adds(b, "flags: ");
    flags_text(b, bnc_report_flags(r));
    buf_addc(b, '\n');
    dump_str(b, "from", r->from);
    dump_str(b, "subject", r->subject);
    dump_str(b, "message_id", r->message_id);
    dump_str(b, "date", r->date);
    buf_printf(b, "time: %lld\n", (long long)r->time);
    dump_str(b, "return_path", r->return_path);
    dump_str(b, "orig_message_id", r->orig_message_id);
    dump_str(b, "orig_to", r->orig_to);
    dump_str(b, "orig_from", r->orig_from);
    dump_str(b, "orig_subject", r->orig_subject);
    buf_printf(b, "parts: %zu\n", r->mime.nparts);
    for (i = 0; i < r->mime.nparts; i++) {
        const struct mime_part *p = &r->mime.parts[i];
        buf_printf(b, "part[%zu]: depth=%d parent=%d type=%.*s/%.*s", i, p->depth, p->parent,
                   (int)(p->type.len > 64 ? 64 : p->type.len), p->type.p,
                   (int)(p->subtype.len > 64 ? 64 : p->subtype.len),
                   p->subtype.p ? p->subtype.p : "");
        buf_printf(b, " header=%zu body=%zu", p->header.len, p->body.len);
        if (p->flags) {
            buf_adds(b, " flags=");
            flags_text(b, p->flags);
        }
        buf_addc(b, '\n');
    }
    buf_printf(b, "rcpts: %zu\n", n);
    for (i = 0; i < n; i++) {
        const struct bnc_rcpt *rc = bnc_report_rcpt(r, i);
#define DUMP(field, val)                                      \
    do {                                                      \
        snprintf(key, sizeof(key), "rcpt[%zu].%s", i, field); \
        dump_str(b, key, val);                                \
    } while (0)
        DUMP("recipient", rc->recipient);
        DUMP("original_recipient", rc->original_recipient);
        DUMP("status", rc->status);
        DUMP("replycode", rc->replycode);
        DUMP("action", bnc_action_name(rc->action));
        DUMP("reason", bnc_reason_name(rc->reason));
        DUMP("hard", rc->hard == 1 ? "true" : rc->hard == 0 ? "false" : "null");
        DUMP("kind", bnc_kind_name(rc->kind));
        DUMP("diagnostic_type", rc->diagnostic_type);
        DUMP("diagnostic", rc->diagnostic);
        DUMP("remote_mta", rc->remote_mta);
        DUMP("reporting_mta", rc->reporting_mta);
        DUMP("date", rc->date);
        snprintf(key, sizeof(key), "rcpt[%zu].time", i);
        buf_printf(b, "%s: %lld\n", key, (long long)rc->time);
        DUMP("origin", rc->origin);
        DUMP("message_id", rc->message_id);
        DUMP("original_message_id", rc->original_message_id);
        DUMP("feedback_type", rc->feedback_type);
        DUMP("smtp_command", rc->smtp_command);
#undef DUMP
    }
}

static void
emit_json(struct parse_run *pr, const char *name, long mbox_index, const bnc_report *r)
{
    struct buf *b = &pr->out;
    size_t i, n = bnc_report_rcpt_count(r);
    unsigned flags = bnc_report_flags(r);

    for (i = 0; i < n; i++) {
        const struct bnc_rcpt *rc = bnc_report_rcpt(r, i);
        buf_adds(b, "{\"file\":");
        buf_add_json_str(b, name, strlen(name));
        if (mbox_index >= 0) {
            buf_printf(b, ",\"mbox_index\":%ld", mbox_index);
        }
        json_key_str(b, "recipient", rc->recipient);
        if (rc->original_recipient != NULL && rc->original_recipient[0] != '\0' &&
            strcmp(rc->original_recipient, rc->recipient) != 0) {
            /* the address that was mailed, when it expanded or forwarded to this one */
            json_key_str(b, "original_recipient", rc->original_recipient);
        }
        json_key_str(b, "status", rc->status);
        json_key_str(b, "replycode", rc->replycode);
        json_key_str(b, "reason", bnc_reason_name(rc->reason));
        buf_adds(b, rc->hard == 1   ? ",\"hard\":true"
                    : rc->hard == 0 ? ",\"hard\":false"
                                    : ",\"hard\":null");
        json_key_str(b, "kind", bnc_kind_name(rc->kind));
        json_key_str(b, "action", bnc_action_name(rc->action));
        json_key_str(b, "diagnostic", rc->diagnostic);
        json_key_str(b, "origin", rc->origin);
        json_key_str(b, "remote_mta", rc->remote_mta);
        json_key_str(b, "reporting_mta", rc->reporting_mta);
        json_key_str(b, "date", rc->date);
        json_key_str(b, "message_id", rc->message_id);
        json_key_str(b, "original_message_id", rc->original_message_id);
        json_key_str(b, "feedback_type", rc->feedback_type);
        json_key_str(b, "smtp_command", rc->smtp_command);
        json_key_str(b, "family", r->family ? r->family : "");
        json_key_str(b, "decided_by", rc->decided_by);
        add_flags_json(b, flags);
        buf_adds(b, "}\n");
    }
}

static void
emit_text(struct parse_run *pr, const char *name, long mbox_index, const bnc_report *r)
{
    struct buf *b = &pr->out;
    size_t i, n = bnc_report_rcpt_count(r);
    char label[512];

    if (mbox_index >= 0) {
        snprintf(label, sizeof(label), "%s#%ld", name, mbox_index);
    } else {
        snprintf(label, sizeof(label), "%s", name);
    }
    if (n == 0) {
        buf_printf(b, "%-40s %-36s %s", label, "(no recipient)", "");
        if (bnc_report_flags(r)) {
            buf_adds(b, " [");
            flags_text(b, bnc_report_flags(r));
            buf_adds(b, "]");
        }
        buf_addc(b, '\n');
        return;
    }
    for (i = 0; i < n; i++) {
        const struct bnc_rcpt *rc = bnc_report_rcpt(r, i);
        buf_printf(b, "%-40s %-36s %-7s %-4s %-15s %-9s %s\n", label, rc->recipient,
                   rc->status[0] ? rc->status : "-", rc->replycode[0] ? rc->replycode : "-",
                   bnc_reason_name(rc->reason), bnc_kind_name(rc->kind),
                   bnc_action_name(rc->action));
    }
}

static void
flush_out(struct parse_run *pr)
{
    if (pr->direct && pr->out.len) {
        fwrite(pr->out.p, 1, pr->out.len, stdout);
        buf_reset(&pr->out);
    }
}

/* One error line about an input: stderr now (serial), or the item's error text; counts the
 * input as unreadable either way. */
static void __attribute__((format(printf, 2, 3)))
parse_err(struct parse_run *pr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (pr->direct) {
        vfprintf(stderr, fmt, ap);
    } else {
        buf_vprintf(&pr->err, fmt, ap);
    }
    va_end(ap);
    pr->unreadable++;
}

static void
parse_one(struct parse_run *pr, const char *name, long mbox_index, const char *p, size_t n)
{
    bnc_report *r = NULL;
    bnc_status rc = bnc_parse(pr->ctx, p, n, &r);

    if (rc != BNC_OK) {
        if (mbox_index >= 0) {
            parse_err(pr, "bounced: %s (message %ld): %s\n", name, mbox_index, bnc_strerror(rc));
        } else {
            parse_err(pr, "bounced: %s: %s\n", name, bnc_strerror(rc));
        }
        return;
    }
    switch (pr->fmt) {
    case FMT_JSON:
        emit_json(pr, name, mbox_index, r);
        break;
    case FMT_TEXT:
        emit_text(pr, name, mbox_index, r);
        break;
    case FMT_DUMP:
        emit_dump(pr, name, mbox_index, r);
        break;
    }
    bnc_report_free(r);
    flush_out(pr);
}

static void
parse_buffer(struct parse_run *pr, const char *name, const char *p, size_t n)
{
    if (mbox_is(p, n)) {
        struct mbox_iter it;
        struct bnc_slice m;
        long idx = 0;
        mbox_iter_init(&it, p, n);
        while (mbox_next(&it, &m)) {
            parse_one(pr, name, idx++, m.p, m.len);
        }
        return;
    }
    parse_one(pr, name, -1, p, n);
}

/* Read a whole stream up to max bytes; -1 on error, -2 when bigger than max. */
static int
read_stream(FILE *fp, size_t max, char **out, size_t *outlen)
{
    size_t cap = 65536, len = 0;
    char *b = xmalloc(cap);

    for (;;) {
        size_t got;
        if (len == cap) {
            if (cap > max) {
                free(b);
                return -2;
            }
            cap *= 2;
            b = xrealloc(b, cap);
        }
        got = fread(b + len, 1, cap - len, fp);
        len += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(fp)) {
        free(b);
        return -1;
    }
    if (len > max) {
        free(b);
        return -2;
    }
    *out = b;
    *outlen = len;
    return 0;
}

/* Read fd to its end into pr->rbuf (size hint: what fstat said, 0 when unknown), up to
 * max_size bytes; -1 on error, -2 when bigger than max_size. */
static int
read_fd(struct parse_run *pr, int fd, size_t hint, size_t *outlen)
{
    size_t max = pr->max_size, len = 0;
    size_t want = (hint < max ? hint : max) + 1; /* + 1: the read that sees the end */

    if (want < 4096) {
        want = 4096;
    }
    if (pr->rcap < want) {
        free(pr->rbuf);
        pr->rbuf = xmalloc(want);
        pr->rcap = want;
    }
    for (;;) {
        ssize_t got;
        if (len == pr->rcap) {
            size_t ncap;
            if (pr->rcap > max) {
                return -2;
            }
            ncap = pr->rcap > max / 2 ? max + 1 : pr->rcap * 2;
            pr->rbuf = xrealloc(pr->rbuf, ncap);
            pr->rcap = ncap;
        }
        got = read(fd, pr->rbuf + len, pr->rcap - len);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        if (got == 0) {
            break;
        }
        len += (size_t)got;
    }
    if (len > max) {
        return -2;
    }
    *outlen = len;
    return 0;
}

static void
parse_file(struct parse_run *pr, const char *path, const char *name)
{
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (strcmp(path, "-") == 0) {
        rc = read_stream(stdin, pr->max_size, &data, &len);
    } else {
        struct stat st;
        size_t hint = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            parse_err(pr, "bounced: %s: %s\n", path, strerror(errno));
            return;
        }
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            if ((size_t)st.st_size > pr->max_size) {
                close(fd);
                parse_err(pr, "bounced: %s: larger than limits.message_size (%zu bytes)\n", path,
                          pr->max_size);
                return;
            }
            hint = (size_t)st.st_size;
        }
        rc = read_fd(pr, fd, hint, &len);
        close(fd);
        data = pr->rbuf;
    }
    if (rc == -2) {
        parse_err(pr, "bounced: %s: larger than limits.message_size (%zu bytes)\n", path,
                  pr->max_size);
        return;
    }
    if (rc != 0) {
        parse_err(pr, "bounced: %s: read error\n", path);
        return;
    }
    parse_buffer(pr, name, data, len);
    if (data != pr->rbuf) {
        free(data);
    }
}

static void
paths_add(struct path_list *l, char *s, unsigned char type)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n].rel = s;
    l->v[l->n].type = type;
    l->n++;
}

static int
path_cmp(const void *a, const void *b)
{
    return strcmp(((const struct path_ent *)a)->rel, ((const struct path_ent *)b)->rel);
}

/* Collect the entries under dir/rel (rel "" for the top), relative names. */
static void
collect(struct parse_run *pr, const char *dir, const char *rel, struct path_list *l)
{
    DIR *d;
    struct dirent *e;
    struct buf full;
    size_t rl = strlen(rel);

    buf_init(&full, 0);
    buf_printf(&full, "%s%s%s", dir, rel[0] ? "/" : "", rel);
    d = opendir(full.p);
    if (d == NULL) {
        parse_err(pr, "bounced: %s: %s\n", full.p, strerror(errno));
        buf_free(&full);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        size_t nl;
        char *sub;
        if (e->d_name[0] == '.') {
            continue;
        }
        nl = strlen(e->d_name);
        sub = xmalloc(rl + (rl ? 1 : 0) + nl + 1);
        memcpy(sub, rel, rl);
        if (rl) {
            sub[rl] = '/';
        }
        memcpy(sub + rl + (rl ? 1 : 0), e->d_name, nl + 1);
        paths_add(l, sub, e->d_type);
    }
    closedir(d);
    buf_free(&full);
}

/* ---- the parallel run ---- */

/* Write item seq (done) to stdout and stderr, file by file, and empty its slot (keeping
 * storage of a modest size). Called by the main thread only, without the lock: a done item
 * is no longer touched by a worker. */
static void
pool_write(struct parse_pool *pl, struct parse_item *it)
{
    size_t i, o = 0, e = 0, n = it->pre ? 1 : it->nfiles;

    for (i = 0; i < n; i++) {
        size_t oe = it->pre ? it->out.len : it->ends[2 * i];
        size_t ee = it->pre ? it->err.len : it->ends[2 * i + 1];
        if (oe > o) {
            fwrite(it->out.p + o, 1, oe - o, stdout);
        }
        if (ee > e) {
            fflush(stdout);
            fwrite(it->err.p + e, 1, ee - e, stderr);
        }
        o = oe;
        e = ee;
    }
    pl->unreadable += it->unreadable;
    it->pre = false;
    it->done = false;
    it->unreadable = 0;
    it->nfiles = 0;
    if (it->out.alloc > PARSE_KEEP_BUF) {
        buf_free(&it->out);
    }
    if (it->err.alloc > PARSE_KEEP_BUF) {
        buf_free(&it->err);
    }
    buf_reset(&it->out);
    buf_reset(&it->err);
    buf_reset(&it->files);
}

/* Write the oldest item, waiting until it is done; false when there is none. */
static bool
pool_write_head(struct parse_pool *pl)
{
    struct parse_item *it;

    pthread_mutex_lock(&pl->mu);
    if (pl->emit == pl->next) {
        pthread_mutex_unlock(&pl->mu);
        return false;
    }
    it = &pl->slots[pl->emit % pl->window];
    while (!it->done) {
        pthread_cond_wait(&pl->cv_done, &pl->mu);
    }
    pthread_mutex_unlock(&pl->mu);
    pool_write(pl, it);
    pthread_mutex_lock(&pl->mu);
    pl->emit++;
    pthread_mutex_unlock(&pl->mu);
    return true;
}

/* Parse the files of item it with w (the worker's own run: its read buffer lives on). */
static void
pool_parse_item(struct parse_run *w, struct parse_item *it)
{
    const char *f = it->files.p;
    size_t i;

    if (it->nfiles > it->ends_cap) {
        it->ends_cap = it->nfiles;
        it->ends = xrealloc(it->ends, 2 * it->ends_cap * sizeof(*it->ends));
    }
    w->out = it->out;
    w->err = it->err;
    w->unreadable = 0;
    for (i = 0; i < it->nfiles; i++) {
        const char *path = f, *name = f + strlen(f) + 1;
        parse_file(w, path, name);
        it->ends[2 * i] = w->out.len;
        it->ends[2 * i + 1] = w->err.len;
        f = name + strlen(name) + 1;
    }
    it->out = w->out;
    it->err = w->err;
    it->unreadable = w->unreadable;
}

static void *
pool_worker(void *arg)
{
    struct parse_pool *pl = arg;
    struct parse_run w;

    memset(&w, 0, sizeof(w));
    w.ctx = pl->proto->ctx;
    w.fmt = pl->proto->fmt;
    w.max_size = pl->proto->max_size;
    for (;;) {
        struct parse_item *it;

        pthread_mutex_lock(&pl->mu);
        while (pl->take == pl->next && !pl->closing) {
            pthread_cond_wait(&pl->cv_work, &pl->mu);
        }
        if (pl->take == pl->next) {
            pthread_mutex_unlock(&pl->mu);
            free(w.rbuf);
            return NULL;
        }
        it = &pl->slots[pl->take % pl->window];
        pl->take++;
        pthread_mutex_unlock(&pl->mu);

        if (!it->pre) {
            pool_parse_item(&w, it);
        }
        pthread_mutex_lock(&pl->mu);
        it->done = true;
        pthread_cond_broadcast(&pl->cv_done);
        pthread_mutex_unlock(&pl->mu);
    }
}

/* Queue one item: the walk's batch of files, or (pre) only the walk's pending errors. The
 * walk waits, writing the oldest results, while the window is full. */
static void
pool_submit(struct parse_pool *pl, struct parse_run *walk, bool pre)
{
    struct parse_item *it;
    struct buf t;

    for (;;) {
        bool full;
        pthread_mutex_lock(&pl->mu);
        full = pl->next - pl->emit >= pl->window;
        pthread_mutex_unlock(&pl->mu);
        if (!full) {
            break;
        }
        (void)pool_write_head(pl);
    }
    /* the slot is free (written, or never used): no worker looks at it until next moves */
    it = &pl->slots[pl->next % pl->window];
    if (pre) {
        /* the walk's errors so far, in their place in the order */
        it->pre = true; /* a worker marks it done in its turn, so emit never passes take */
        t = it->err;
        it->err = walk->err;
        walk->err = t;
        buf_reset(&walk->err);
        it->unreadable = walk->unreadable;
        walk->unreadable = 0;
    } else {
        t = it->files;
        it->files = walk->batch;
        walk->batch = t;
        buf_reset(&walk->batch);
        it->nfiles = walk->nbatch;
        walk->nbatch = 0;
    }
    pthread_mutex_lock(&pl->mu);
    pl->next++;
    pthread_cond_signal(&pl->cv_work);
    pthread_mutex_unlock(&pl->mu);
}

/* Queue the walk's pending batch, if any. */
static void
pool_flush_batch(struct parse_run *walk)
{
    if (walk->nbatch > 0) {
        pool_submit(walk->pool, walk, false);
    }
}

/* Start up to jobs workers; false when none could start (the caller goes serial). */
static bool
pool_start(struct parse_pool *pl, const struct parse_run *proto, size_t jobs)
{
    size_t i;

    memset(pl, 0, sizeof(*pl));
    pthread_mutex_init(&pl->mu, NULL);
    pthread_cond_init(&pl->cv_work, NULL);
    pthread_cond_init(&pl->cv_done, NULL);
    pl->proto = proto;
    pl->window = jobs * PARSE_WINDOW_PER_JOB;
    pl->slots = xcalloc(pl->window, sizeof(*pl->slots));
    for (i = 0; i < pl->window; i++) {
        buf_init(&pl->slots[i].files, 0);
        buf_init(&pl->slots[i].out, 0);
        buf_init(&pl->slots[i].err, 0);
    }
    pl->threads = xcalloc(jobs, sizeof(*pl->threads));
    for (i = 0; i < jobs; i++) {
        if (pthread_create(&pl->threads[i], NULL, pool_worker, pl) != 0) {
            break;
        }
        pl->nthreads++;
    }
    if (pl->nthreads == 0) {
        free(pl->threads);
        free(pl->slots);
        pthread_mutex_destroy(&pl->mu);
        pthread_cond_destroy(&pl->cv_work);
        pthread_cond_destroy(&pl->cv_done);
        return false;
    }
    return true;
}

/* Write everything left, stop the workers; returns the unreadable count. */
static int
pool_finish(struct parse_pool *pl)
{
    size_t i;

    while (pool_write_head(pl)) {
    }
    pthread_mutex_lock(&pl->mu);
    pl->closing = true;
    pthread_cond_broadcast(&pl->cv_work);
    pthread_mutex_unlock(&pl->mu);
    for (i = 0; i < pl->nthreads; i++) {
        pthread_join(pl->threads[i], NULL);
    }
    for (i = 0; i < pl->window; i++) {
        buf_free(&pl->slots[i].files);
        buf_free(&pl->slots[i].out);
        buf_free(&pl->slots[i].err);
        free(pl->slots[i].ends);
    }
    free(pl->threads);
    free(pl->slots);
    pthread_mutex_destroy(&pl->mu);
    pthread_cond_destroy(&pl->cv_work);
    pthread_cond_destroy(&pl->cv_done);
    return pl->unreadable;
}

/* A file found by the walk: parsed now (serial) or added to the walk's batch, which is
 * queued behind the walk's errors so far (they come first in the output). */
static void
parse_path(struct parse_run *pr, const char *path, const char *name)
{
    if (pr->pool == NULL) {
        parse_file(pr, path, name);
        return;
    }
    if (pr->err.len > 0 || pr->unreadable > 0) {
        pool_flush_batch(pr);
        pool_submit(pr->pool, pr, true);
    }
    buf_add(&pr->batch, path, strlen(path) + 1);
    buf_add(&pr->batch, name, strlen(name) + 1);
    if (++pr->nbatch >= PARSE_BATCH) {
        pool_flush_batch(pr);
    }
}

static void
parse_dir(struct parse_run *pr, const char *dir, const char *rel, int depth)
{
    struct path_list l = {NULL, 0, 0};
    struct buf full;
    size_t i, dl = strlen(dir);

    if (depth > PARSE_DIR_DEPTH) {
        parse_err(pr, "bounced: %s/%s: directories nested too deep\n", dir, rel);
        return;
    }
    collect(pr, dir, rel, &l);
    if (l.n > 1) {
        qsort(l.v, l.n, sizeof(*l.v), path_cmp);
    }
    buf_init(&full, 0);
    for (i = 0; i < l.n; i++) {
        struct stat st;
        unsigned char type = l.v[i].type;
        buf_reset(&full);
        buf_add(&full, dir, dl);
        buf_addc(&full, '/');
        buf_adds(&full, l.v[i].rel);
        if (type != DT_DIR && type != DT_REG) {
            /* a link, or a file system that does not tell: ask */
            if (stat(full.p, &st) != 0) {
                parse_err(pr, "bounced: %s: %s\n", full.p, strerror(errno));
                type = DT_UNKNOWN;
            } else {
                type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
            }
        }
        if (type == DT_DIR) {
            parse_dir(pr, dir, l.v[i].rel, depth + 1);
        } else if (type == DT_REG) {
            parse_path(pr, full.p, l.v[i].rel);
        }
        free(l.v[i].rel);
    }
    buf_free(&full);
    free(l.v);
}

/* --jobs: 1..PARSE_JOBS_MAX; 0 on a bad value. */
static size_t
parse_jobs_arg(const char *s)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > PARSE_JOBS_MAX) {
        return 0;
    }
    return (size_t)v;
}

static size_t
parse_default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) {
        return 1;
    }
    return n > PARSE_JOBS_MAX ? PARSE_JOBS_MAX : (size_t)n;
}

static int
parse_run(struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"dump", no_argument, NULL, 'D'},
        {"jobs", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct parse_run pr;
    struct parse_pool pool;
    size_t jobs = parse_default_jobs();
    int c, i;

    memset(&pr, 0, sizeof(pr));
    pr.fmt = FMT_JSON;
    pr.direct = true;
    while ((c = getopt_long(argc, argv, "f:j:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "json") == 0) {
                pr.fmt = FMT_JSON;
            } else if (strcmp(optarg, "text") == 0) {
                pr.fmt = FMT_TEXT;
            } else {
                fprintf(stderr, "bounced parse: --format: expected json or text, not '%s'\n",
                        optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'D':
            pr.fmt = FMT_DUMP;
            break;
        case 'j':
            if ((jobs = parse_jobs_arg(optarg)) == 0) {
                fprintf(stderr, "bounced parse: --jobs: expected 1 to %d, not '%s'\n",
                        PARSE_JOBS_MAX, optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'h':
            parse_usage(stdout);
            return CLI_EXIT_OK;
        default:
            parse_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        parse_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    for (i = optind; i < argc; i++) {
        if (strcmp(argv[i], "-") == 0) {
            jobs = 1; /* stdin is one stream: read it in order, on this thread */
        }
    }
    if (bnc_ctx_new_config(&g->cfg, &pr.ctx) != BNC_OK) {
        fprintf(stderr, "bounced: %s\n", bnc_ctx_errmsg(pr.ctx));
        bnc_ctx_free(pr.ctx);
        return CLI_EXIT_CONFIG;
    }
    pr.max_size = g->cfg.limit_message_size;
    buf_init(&pr.out, 0);
    buf_init(&pr.err, 0);
    buf_init(&pr.batch, 0);
    if (pr.fmt == FMT_TEXT) {
        buf_printf(&pr.out, "%-40s %-36s %-7s %-4s %-15s %-9s %s\n", "FILE", "RECIPIENT", "STATUS",
                   "SMTP", "REASON", "KIND", "ACTION");
    }
    if (jobs > 1 && pool_start(&pool, &pr, jobs)) {
        if (pr.out.len > 0) {
            fwrite(pr.out.p, 1, pr.out.len, stdout);
            buf_reset(&pr.out);
        }
        pr.pool = &pool;
        pr.direct = false;
    }
    for (i = optind; i < argc; i++) {
        struct stat st;
        const char *a = argv[i];
        if (strcmp(a, "-") == 0) {
            parse_file(&pr, "-", "-");
            continue;
        }
        if (stat(a, &st) != 0) {
            parse_err(&pr, "bounced: %s: %s\n", a, strerror(errno));
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            size_t l = strlen(a);
            char *d = xstrdup(a);
            while (l > 1 && d[l - 1] == '/') {
                d[--l] = '\0';
            }
            parse_dir(&pr, d, "", 0);
            free(d);
        } else {
            parse_path(&pr, a, a);
        }
    }
    if (pr.pool != NULL) {
        pool_flush_batch(&pr);
        if (pr.err.len > 0 || pr.unreadable > 0) {
            pool_submit(pr.pool, &pr, true);
        }
        pr.unreadable += pool_finish(pr.pool);
    }
    pr.direct = true;
    flush_out(&pr);
    buf_free(&pr.out);
    buf_free(&pr.err);
    buf_free(&pr.batch);
    free(pr.rbuf);
    bnc_ctx_free(pr.ctx);
    fflush(stdout);
    return pr.unreadable ? CLI_EXIT_NEG : CLI_EXIT_OK;
}

const struct cli_cmd cli_cmd_parse = {
    "parse",
    "parse and classify bounce messages; print verdicts (JSON lines or a table)",
    parse_run,
};
