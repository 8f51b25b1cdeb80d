/*
 * mailbox.c - one pass over a mailbox that collects bounces: mbox, Maildir, IMAP(S).
 *
 * Every message goes through pipeline_process() (source "mailbox") and is marked only after
 * its transaction committed; a message that fails stays as it was for the next pass:
 *   - Maildir: new/NAME and cur/NAME without the S flag are read; after the commit the file
 *     is renamed to cur/NAME:2,<flags>S (the Maildir "seen" convention). ref = "maildir:" +
 *     the unique part of the name, so a renamed file is still the same message.
 *   - mbox: the file is read from the offset saved in ingest_offsets (source "mbox:PATH") and
 *     the offset moves past each committed message, saved in its own small transaction right
 *     after the message's. A crash between the two reprocesses one message, which the
 *     pipeline skips as a duplicate (ref = "mbox:PATH@OFFSET" and the content hash). A file
 *     that shrank (rewritten, compacted) is read again from the start, on the same guarantee.
 *     mbox is never modified.
 *   - IMAP(S) through libcurl: "UID SEARCH UNSEEN" lists the messages, each is fetched by UID
 *     (ref = "imap:UIDVALIDITY/UID" when the server says it, else the URL and UID), then after
 *     the commit flagged \Seen (or moved with UID MOVE when move_to is set). libcurl's fetch
 *     uses BODY[], which sets \Seen on the server as a side effect; a message whose processing
 *     fails is therefore unflagged again at once (UID STORE -FLAGS). Only a crash in between
 *     can leave a fetched message seen but unprocessed: XXX: needs BODY.PEEK, which libcurl's
 *     URL interface cannot ask for.
 *
 * Doesn't: delete mail, write mbox, or follow IMAP folders other than the one in the URL.
 *
 * STANDARDS: RFC 4155 (mbox), the Maildir specification (cr.yp.to/proto/maildir.html, "2,"
 * info and flags), RFC 3501 (IMAP4rev1: 6.4.4 SEARCH, 6.4.6 STORE, 2.3.1.1 UIDVALIDITY),
 * RFC 6851 (MOVE), RFC 5092 (IMAP URLs, ";UID=").
 *
 * LIMITS: a message larger than limits.message_size is counted as failed and skipped (the
 * pipeline would refuse it); an mbox file is mapped, not read, so its size is bounded by the
 * address space only; an IMAP fetch stops at limits.message_size + 1 bytes; at most
 * MAILBOX_IMAP_MAX UIDs are taken per pass (the rest wait for the next one).
 *
 * Ownership: everything is borrowed for the call; buffers are freed before return.
 */
#include "ingest/mailbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "classify/classify.h"
#include "core/buf.h"
#include "core/metrics.h"
#include "core/xmalloc.h"
#include "parse/mbox.h"
#include "pipeline/process.h"
#include "store/model.h"
#include "store/store.h"

#define MAILBOX_IMAP_MAX 100000

struct progress {
    bool on;
    size_t total;
    size_t done;
    time_t last;
};

static bnc_status scan_mbox(struct pipeline *p, struct store *st, const struct mailbox_opts *o,
                            const char *path, struct mailbox_stats *ms, char *err, size_t errlen);
static bnc_status scan_maildir(struct pipeline *p, const struct mailbox_opts *o, const char *path,
                               struct mailbox_stats *ms, char *err, size_t errlen);
static bnc_status scan_imap(struct pipeline *p, const struct mailbox_opts *o,
                            struct mailbox_stats *ms, char *err, size_t errlen);
static bnc_status one(struct pipeline *p, const struct mailbox_opts *o, const char *data,
                      size_t len, const char *ref, struct mailbox_stats *ms);
static void progress_init(struct progress *pg, const struct mailbox_opts *o, size_t total);
static void progress_step(struct progress *pg);
static void progress_end(struct progress *pg);

int
mailbox_kind(const char *source)
{
    if (source == NULL) {
        return -1;
    }
    if (strncmp(source, "mbox:", 5) == 0) {
        return 0;
    }
    if (strncmp(source, "maildir:", 8) == 0) {
        return 1;
    }
    if (strncmp(source, "imap://", 7) == 0 || strncmp(source, "imaps://", 8) == 0) {
        return 2;
    }
    return -1;
}

bnc_status
mailbox_ingest(struct pipeline *p, struct store *st, const struct mailbox_opts *o,
               struct mailbox_stats *ms, char *err, size_t errlen)
{
    memset(ms, 0, sizeof(*ms));
    err[0] = '\0';
    switch (mailbox_kind(o->source)) {
    case 0:
        return scan_mbox(p, st, o, o->source + 5, ms, err, errlen);
    case 1:
        return scan_maildir(p, o, o->source + 8, ms, err, errlen);
    case 2:
        return scan_imap(p, o, ms, err, errlen);
    default:
        snprintf(err, errlen,
                 "unknown mailbox source '%s' (mbox:PATH, maildir:PATH, imap://, imaps://)",
                 o->source != NULL ? o->source : "");
        return BNC_EINVAL;
    }
}

/* ---- one message ---- */

static bnc_status
one(struct pipeline *p, const struct mailbox_opts *o, const char *data, size_t len, const char *ref,
    struct mailbox_stats *ms)
{
    struct pipeline_input in;
    struct pipeline_result res;
    bnc_status rc;

    ms->seen++;
    memset(&in, 0, sizeof(in));
    memset(&res, 0, sizeof(res));
    in.data = data;
    in.len = len;
    in.source = "mailbox";
    in.ref = ref;
    in.received_at = o->received_at;
    rc = pipeline_process(p, &in, &res);
    if (rc != BNC_OK) {
        ms->failed++;
        return rc;
    }
    ms->processed++;
    ms->verdicts += res.verdicts;
    if (res.duplicate) {
        ms->duplicates++;
        metrics_counter_add("bounced_duplicates_total", "source=\"mailbox\"", 1);
    } else if (res.not_bounce) {
        ms->not_bounce++;
        metrics_counter_add("bounced_ingested_total", "source=\"mailbox\",kind=\"not_bounce\"", 1);
    } else {
        static const char *const kinds[] = {"unknown",   "hard",      "soft",
                                            "complaint", "autoreply", "delivered"};
        char labels[96];
        size_t k;
        for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
            if (res.by_kind[k] > 0) {
                snprintf(labels, sizeof(labels), "source=\"mailbox\",kind=\"%s\"", kinds[k]);
                metrics_counter_add("bounced_ingested_total", labels, res.by_kind[k]);
            }
        }
    }
    return BNC_OK;
}

/* ---- mbox ---- */

static bnc_status
scan_mbox(struct pipeline *p, struct store *st, const struct mailbox_opts *o, const char *path,
          struct mailbox_stats *ms, char *err, size_t errlen)
{
    char source[4200], ref[4300];
    struct mbox_iter it;
    struct bnc_slice m;
    struct progress pg;
    struct stat sb;
    int64_t start = 0, committed;
    const char *base;
    bool advance = true;
    size_t total = 0;
    void *map;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "mbox %s: %s", path, strerror(errno));
        return BNC_EIO;
    }
    if (fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "mbox %s: %s", path, strerror(errno));
        close(fd);
        return BNC_EIO;
    }
    if (sb.st_size == 0) {
        close(fd);
        return BNC_OK;
    }
    map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "mbox %s: mmap: %s", path, strerror(errno));
        return BNC_EIO;
    }
    base = map;
    snprintf(source, sizeof(source), "mbox:%s", path);
    if (st != NULL && model_offset_get(st, source, &start) == BNC_OK &&
        (start < 0 || start > (int64_t)sb.st_size)) {
        start = 0; /* the file was rewritten */
    }
    if (!mbox_is(base, (size_t)sb.st_size)) {
        /* a single message, not an mbox */
        snprintf(ref, sizeof(ref), "mbox:%s@0", path);
        (void)one(p, o, base, (size_t)sb.st_size, ref, ms);
        munmap(map, (size_t)sb.st_size);
        return BNC_OK;
    }
    if (o->progress) {
        mbox_iter_init(&it, base + start, (size_t)sb.st_size - (size_t)start);
        while (mbox_next(&it, &m)) {
            total++;
        }
    }
    progress_init(&pg, o, total);
    committed = start;
    mbox_iter_init(&it, base + start, (size_t)sb.st_size - (size_t)start);
    while (mbox_next(&it, &m)) {
        int64_t off = (int64_t)(m.p - base);
        bnc_status rc;

        snprintf(ref, sizeof(ref), "mbox:%s@%lld", path, (long long)off);
        rc = one(p, o, m.p, m.len, ref, ms);
        progress_step(&pg);
        if (rc != BNC_OK) {
            advance = false; /* this one must be seen again next pass */
        } else if (advance) {
            committed = (int64_t)(it.p - base);
            if (st != NULL && store_begin(st) == BNC_OK) {
                if (model_offset_set(st, source, committed, (int64_t)time(NULL)) == BNC_OK) {
                    (void)store_commit(st);
                } else {
                    (void)store_rollback(st);
                }
            }
        }
        if (o->limit > 0 && ms->seen >= o->limit) {
            break;
        }
    }
    progress_end(&pg);
    munmap(map, (size_t)sb.st_size);
    return BNC_OK;
}

/* ---- Maildir ---- */

static bool
maildir_seen(const char *name)
{
    const char *info = strstr(name, ":2,");
    return info != NULL && strchr(info + 3, 'S') != NULL;
}

static char *
read_file(const char *path, size_t *len_out)
{
    struct stat sb;
    size_t got = 0;
    char *buf;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return NULL;
    }
    if (fstat(fd, &sb) != 0 || sb.st_size < 0 || (uint64_t)sb.st_size > ((uint64_t)1 << 30)) {
        close(fd);
        return NULL;
    }
    buf = xmalloc((size_t)sb.st_size + 1);
    while (got < (size_t)sb.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *len_out = got;
    return buf;
}

struct mdent {
    char *sub; /* "new" or "cur" (static) */
    char *name;
};

static int
cmp_mdent(const void *a, const void *b)
{
    const struct mdent *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static bnc_status
scan_maildir(struct pipeline *p, const struct mailbox_opts *o, const char *path,
             struct mailbox_stats *ms, char *err, size_t errlen)
{
    static const char *const subs[] = {"new", "cur"};
    struct mdent *ents = NULL;
    size_t n = 0, cap = 0, i, k;
    struct progress pg;
    char dir[4200];

    for (k = 0; k < 2; k++) {
        struct dirent *de;
        DIR *d;
        snprintf(dir, sizeof(dir), "%s/%s", path, subs[k]);
        if ((d = opendir(dir)) == NULL) {
            if (k == 0) {
                snprintf(err, errlen, "maildir %s: %s", dir, strerror(errno));
                free(ents);
                return BNC_EIO;
            }
            continue;
        }
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.' || (k == 1 && maildir_seen(de->d_name))) {
                continue;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                ents = xrealloc(ents, cap * sizeof(*ents));
            }
            ents[n].sub = (char *)(uintptr_t)subs[k];
            ents[n].name = xstrdup(de->d_name);
            n++;
        }
        closedir(d);
    }
    if (n > 1) {
        qsort(ents, n, sizeof(*ents), cmp_mdent);
    }
    progress_init(&pg, o, n);
    for (i = 0; i < n; i++) {
        char src[4500], dst[4600], ref[300], flags[64];
        const char *colon;
        size_t len, ulen;
        char *data;

        if (o->limit > 0 && ms->seen >= o->limit) {
            break;
        }
        snprintf(src, sizeof(src), "%s/%s/%s", path, ents[i].sub, ents[i].name);
        colon = strchr(ents[i].name, ':');
        ulen = colon ? (size_t)(colon - ents[i].name) : strlen(ents[i].name);
        data = read_file(src, &len);
        progress_step(&pg);
        if (data == NULL) {
            ms->seen++;
            ms->failed++;
            continue;
        }
        snprintf(ref, sizeof(ref), "maildir:%.*s", (int)(ulen > 200 ? 200 : ulen), ents[i].name);
        if (one(p, o, data, len, ref, ms) == BNC_OK) {
            /* keep the flags it had, add S (flags are kept in ASCII order) */
            const char *old = colon && strncmp(colon, ":2,", 3) == 0 ? colon + 3 : "";
            size_t fl = 0, j;
            bool added = false;
            for (j = 0; old[j] != '\0' && fl + 2 < sizeof(flags); j++) {
                if (!added && old[j] > 'S') {
                    flags[fl++] = 'S';
                    added = true;
                }
                if (old[j] != 'S') {
                    flags[fl++] = old[j];
                }
            }
            if (!added) {
                flags[fl++] = 'S';
            }
            flags[fl] = '\0';
            snprintf(dst, sizeof(dst), "%s/cur/%.*s:2,%s", path, (int)ulen, ents[i].name, flags);
            if (rename(src, dst) != 0) {
                /* committed but not marked: the next pass sees a duplicate and marks it */
                ms->failed++;
            }
        }
        free(data);
    }
    progress_end(&pg);
    for (i = 0; i < n; i++) {
        free(ents[i].name);
    }
    free(ents);
    return BNC_OK;
}

/* ---- IMAP ---- */

struct imap_buf {
    struct buf b;
};

static size_t
imap_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct imap_buf *ib = ud;
    size_t n = size * nmemb;
    if (buf_add(&ib->b, ptr, n) != BNC_OK) {
        return 0; /* over the cap: abort the transfer */
    }
    return n;
}

static CURL *
imap_handle(const struct mailbox_opts *o, const char *url, struct imap_buf *ib, char *errbuf)
{
    CURL *c = curl_easy_init();
    if (c == NULL) {
        return NULL;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (o->user != NULL && o->user[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_USERNAME, o->user);
    }
    if (o->password != NULL && o->password[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_PASSWORD, o->password);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, imap_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, ib);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    /* imap:// upgrades with STARTTLS when the server offers it */
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    return c;
}

/* Run one IMAP command on the mailbox URL; the untagged responses land in ib. */
static bnc_status
imap_command(const struct mailbox_opts *o, const char *cmd, struct imap_buf *ib, char *err,
             size_t errlen)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode cc;
    CURL *c = imap_handle(o, o->source, ib, errbuf);

    if (c == NULL) {
        snprintf(err, errlen, "imap: cannot create a handle");
        return BNC_EINTERNAL;
    }
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, cmd);
    cc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "imap %s: %s", cmd, errbuf[0] ? errbuf : curl_easy_strerror(cc));
        return BNC_EIO;
    }
    return BNC_OK;
}

static bnc_status
scan_imap(struct pipeline *p, const struct mailbox_opts *o, struct mailbox_stats *ms, char *err,
          size_t errlen)
{
    static bool curl_ready;
    struct imap_buf ib;
    uint64_t *uids = NULL;
    size_t nuids = 0, cap = 0, i;
    struct progress pg;
    char validity[32] = "";
    const char *q;
    bnc_status rc;

    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT); /* not thread-safe: scans are one at a time */
        curl_ready = true;
    }
    buf_init(&ib.b, 16 * 1024 * 1024);
    /* "* SEARCH 4 7 9" */
    if ((rc = imap_command(o, "UID SEARCH UNSEEN", &ib, err, errlen)) != BNC_OK) {
        buf_free(&ib.b);
        return rc;
    }
    q = ib.b.p != NULL ? strstr(ib.b.p, "* SEARCH") : NULL;
    if (q != NULL) {
        q += 8;
        while (*q != '\0' && *q != '\r' && *q != '\n' && nuids < MAILBOX_IMAP_MAX) {
            uint64_t v = 0;
            bool any = false;
            while (*q == ' ') {
                q++;
            }
            while (*q >= '0' && *q <= '9' && v < UINT64_MAX / 10) {
                v = v * 10 + (uint64_t)(*q - '0');
                q++;
                any = true;
            }
            if (!any) {
                break;
            }
            if (nuids == cap) {
                cap = cap ? cap * 2 : 64;
                uids = xrealloc(uids, cap * sizeof(*uids));
            }
            uids[nuids++] = v;
        }
    }
    /* UIDVALIDITY makes the ref stable across servers renumbering a folder (RFC 3501 2.3.1.1) */
    buf_reset(&ib.b);
    {
        char folder[200] = "INBOX", cmd[260];
        const char *h = strstr(o->source, "://");
        const char *f = h != NULL ? strchr(h + 3, '/') : NULL;
        size_t k = 0;
        if (f != NULL && f[1] != '\0' && f[1] != ';' && f[1] != '?') {
            f++;
            while (f[k] != '\0' && f[k] != ';' && f[k] != '?' && f[k] != '/' && f[k] != '"' &&
                   k + 1 < sizeof(folder)) {
                folder[k] = f[k];
                k++;
            }
            folder[k] = '\0';
        }
        snprintf(cmd, sizeof(cmd), "STATUS \"%s\" (UIDVALIDITY)", folder);
        rc = imap_command(o, cmd, &ib, err, errlen);
    }
    if (rc == BNC_OK && ib.b.p != NULL && (q = strstr(ib.b.p, "UIDVALIDITY ")) != NULL) {
        size_t k = 0;
        q += 12;
        while (q[k] >= '0' && q[k] <= '9' && k + 1 < sizeof(validity)) {
            validity[k] = q[k];
            k++;
        }
        validity[k] = '\0';
    }
    err[0] = '\0';
    progress_init(&pg, o, nuids);
    for (i = 0; i < nuids; i++) {
        char url[2300], ref[2400], cmd[400], errbuf[CURL_ERROR_SIZE] = "";
        CURLcode cc;
        CURL *c;

        if (o->limit > 0 && ms->seen >= o->limit) {
            break;
        }
        snprintf(url, sizeof(url), "%s;UID=%llu", o->source, (unsigned long long)uids[i]);
        buf_reset(&ib.b);
        c = imap_handle(o, url, &ib, errbuf);
        if (c == NULL) {
            break;
        }
        cc = curl_easy_perform(c);
        curl_easy_cleanup(c);
        progress_step(&pg);
        if (cc != CURLE_OK) {
            ms->seen++;
            ms->failed++;
            continue;
        }
        if (validity[0] != '\0') {
            snprintf(ref, sizeof(ref), "imap:%s/%llu", validity, (unsigned long long)uids[i]);
        } else {
            snprintf(ref, sizeof(ref), "imap:%s;UID=%llu", o->source, (unsigned long long)uids[i]);
        }
        if (one(p, o, ib.b.p != NULL ? ib.b.p : "", ib.b.len, ref, ms) == BNC_OK) {
            struct imap_buf tmp;
            char e2[256];
            buf_init(&tmp.b, 64 * 1024);
            if (o->move_to != NULL && o->move_to[0] != '\0') {
                snprintf(cmd, sizeof(cmd), "UID MOVE %llu %s", (unsigned long long)uids[i],
                         o->move_to);
            } else {
                snprintf(cmd, sizeof(cmd), "UID STORE %llu +FLAGS.SILENT (\\Seen)",
                         (unsigned long long)uids[i]);
            }
            (void)imap_command(o, cmd, &tmp, e2, sizeof(e2));
            buf_free(&tmp.b);
        } else {
            /* the fetch marked it \Seen; unmark so the next pass takes it again */
            struct imap_buf tmp;
            char e2[256];
            buf_init(&tmp.b, 64 * 1024);
            snprintf(cmd, sizeof(cmd), "UID STORE %llu -FLAGS.SILENT (\\Seen)",
                     (unsigned long long)uids[i]);
            (void)imap_command(o, cmd, &tmp, e2, sizeof(e2));
            buf_free(&tmp.b);
        }
    }
    progress_end(&pg);
    free(uids);
    buf_free(&ib.b);
    return BNC_OK;
}

/* ---- progress bar (stderr, TTY only) ---- */

static void
progress_init(struct progress *pg, const struct mailbox_opts *o, size_t total)
{
    memset(pg, 0, sizeof(*pg));
    pg->on = o->progress && isatty(STDERR_FILENO) && total > 0;
    pg->total = total;
}

static void
progress_draw(const struct progress *pg)
{
    char bar[41];
    size_t fill = pg->total ? pg->done * 40 / pg->total : 0, i;
    char line[128];
    int n;

    for (i = 0; i < 40; i++) {
        bar[i] = i < fill ? '#' : '.';
    }
    bar[40] = '\0';
    n = snprintf(line, sizeof(line), "\rscan [%s] %zu/%zu", bar, pg->done, pg->total);
    if (n > 0) {
        (void)!write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    }
}

static void
progress_step(struct progress *pg)
{
    time_t now;

    if (!pg->on) {
        return;
    }
    pg->done++;
    now = time(NULL);
    if (now != pg->last || pg->done == pg->total) {
        pg->last = now;
        progress_draw(pg);
    }
}

static void
progress_end(struct progress *pg)
{
    if (pg->on) {
        progress_draw(pg);
        (void)!write(STDERR_FILENO, "\n", 1);
    }
}
