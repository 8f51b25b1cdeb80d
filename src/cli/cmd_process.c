/*
 * cmd_process.c - `bounced process FILE|DIR|-`: parse, classify and apply the hygiene policy
 * to the store, one transaction per message (pipeline/process.c), then print a summary.
 *
 * Messages are committed in groups (--batch, default 64: group commit); a message that fails
 * rolls its group back and the group is redone one transaction per message, so every message
 * is all-or-nothing and a bad one costs only itself.
 * A directory is walked recursively in name order (hidden entries skipped); each regular
 * file is one message whose reference is its absolute path, so processing the same directory
 * twice is a no-op (every message is a duplicate the second time). A file (or standard
 * input) that starts with an mbox "From " line is split as `scan mbox:` splits it, each
 * message one input (ref "mbox:<absolute path>@<offset>"; a message both commands saw is a
 * duplicate by its content identity). `-` reads one message (or an mbox) from standard
 * input (its reference is its content identity).
 * --requeue [--spool DIR] processes the daemon's spool/hold/ instead: each held message is
 * moved back to new/, processed as the daemon would (source smtp, ref = spool id, so one
 * the daemon applied already is a duplicate), then moved to done/ (or deleted, as
 * spool.keep_days says); one that fails on its content again goes back to hold/ with its
 * reason; on a store failure it stays in new/ for the daemon's next start.
 * What it does not do: retry busy stores.
 * Exit: 0 all inputs processed (duplicates included), 1 some inputs could not be read or
 * processed, 2 usage error, 3 configuration or store failure.
 * LIMITS: a file larger than limits.message_size is refused unread (counted as failed),
 * except an mbox file, which is mapped: each of its messages is held to the limit alone;
 * standard input is read whole, up to limits.message_size.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classify/classify.h"
#include "cli.h"
#include "core/dirlist.h"
#include "core/xmalloc.h"
#include "hygiene_cli.h"
#include "ingest/spool.h"
#include "parse/mbox.h"
#include "pipeline/process.h"

#define GROUP_BYTES (16u * 1024 * 1024) /* a group holds at most this much input */

struct pending {
    char *data;
    size_t len;
    char *ref; /* NULL: content hash */
    char *name;
};

struct proc_run {
    struct pipeline *pl;
    struct pending *pend;
    size_t npend, pend_bytes, batch;
    const char *source;
    size_t limit;
    int64_t received_at;
    size_t messages, duplicates, not_bounce, failed;
    size_t verdicts, by_kind[6], changed, review;
    bool quiet;
};

static void
process_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced process [--source NAME] [--batch N] [--quiet] FILE|DIR|-\n"
                "       bounced process --requeue [--spool DIR]\n\n"
                "Parse bounces, classify them and apply the hygiene policy to the store; each\n"
                "message is all-or-nothing. Processing the same input again changes nothing.\n\n"
                "  --source NAME  source recorded with the events (default: file, or stdin)\n"
                "  --batch N      messages per commit (default 64; a failing message rolls\n"
                "                 its group back, which is then redone one message per\n"
                "                 transaction); 1 = one commit per message\n"
                "  -q, --quiet    no per-file errors on stderr, only the summary\n"
                "  --requeue      process the daemon's spool/hold/ (messages held for their\n"
                "                 content) again: applied ones move to done/, the others\n"
                "                 go back to hold/ with their reason\n"
                "  --spool DIR    the spool of --requeue (default: spool.dir)\n\n"
                "Exit: 0 done, 1 some inputs could not be read or processed, 3 store failure.\n");
}

static bool
read_all(FILE *fp, size_t limit, char **out, size_t *len)
{
    size_t cap = 65536, n = 0, r;
    char *p = xmalloc(cap);

    for (;;) {
        if (n == cap) {
            if (cap > limit) {
                free(p);
                errno = EFBIG;
                return false;
            }
            cap *= 2;
            p = xrealloc(p, cap);
        }
        r = fread(p + n, 1, cap - n, fp);
        n += r;
        if (r == 0) {
            break;
        }
    }
    if (ferror(fp) || n > limit) {
        free(p);
        errno = ferror(fp) ? EIO : EFBIG;
        return false;
    }
    *out = p;
    *len = n;
    return true;
}

static void
account(struct proc_run *pr, const struct pending *pe, bnc_status rc,
        const struct pipeline_result *res)
{
    size_t k;

    pr->messages++;
    if (rc != BNC_OK) {
        pr->failed++;
        if (!pr->quiet) {
            fprintf(stderr, "bounced: process: %s: %s\n", pe->name, pipeline_errmsg(pr->pl));
        }
        return;
    }
    if (res->duplicate) {
        pr->duplicates++;
        return;
    }
    pr->not_bounce += res->not_bounce ? 1 : 0;
    pr->verdicts += res->verdicts;
    for (k = 0; k < 6; k++) {
        pr->by_kind[k] += res->by_kind[k];
    }
    pr->changed += res->contacts_changed;
    pr->review += res->review_items;
}

/* Process the queued inputs as one group (group commit; each input all-or-nothing). */
static void
flush(struct proc_run *pr)
{
    struct pipeline_input *in;
    struct pipeline_result *res;
    bnc_status *rcs;
    size_t i;

    if (pr->npend == 0) {
        return;
    }
    in = xcalloc(pr->npend, sizeof(*in));
    res = xcalloc(pr->npend, sizeof(*res));
    rcs = xcalloc(pr->npend, sizeof(*rcs));
    for (i = 0; i < pr->npend; i++) {
        in[i].data = pr->pend[i].data;
        in[i].len = pr->pend[i].len;
        in[i].source = pr->source;
        in[i].ref = pr->pend[i].ref;
        in[i].received_at = pr->received_at;
    }
    pipeline_process_group(pr->pl, in, pr->npend, res, rcs);
    for (i = 0; i < pr->npend; i++) {
        account(pr, &pr->pend[i], rcs[i], &res[i]);
        free(pr->pend[i].data);
        free(pr->pend[i].ref);
        free(pr->pend[i].name);
    }
    free(in);
    free(res);
    free(rcs);
    pr->npend = 0;
    pr->pend_bytes = 0;
}

/* Queue one input (takes data); flushes when the group is full. */
static void
process_one(struct proc_run *pr, char *data, size_t len, const char *ref, const char *name)
{
    if (pr->npend > 0 && pr->pend_bytes + len > GROUP_BYTES) {
        flush(pr);
    }
    pr->pend[pr->npend].data = data;
    pr->pend[pr->npend].len = len;
    pr->pend[pr->npend].ref = ref ? xstrdup(ref) : NULL;
    pr->pend[pr->npend].name = xstrdup(name);
    pr->npend++;
    pr->pend_bytes += len;
    if (pr->npend >= pr->batch) {
        flush(pr);
    }
}

/* One failed input: counted, and said on stderr unless --quiet. */
static void
input_failed(struct proc_run *pr, const char *name, const char *why)
{
    if (!pr->quiet) {
        fprintf(stderr, "bounced: process: %s: %s\n", name, why);
    }
    pr->messages++;
    pr->failed++;
}

/*
 * An mbox (RFC 4155: the buffer starts with a "From " line) is split as `scan mbox:` splits
 * it; each message is one input with the ref "mbox:<path>@<offset>" (path = where_ref, NULL
 * for stdin: the content identity then), so a message seen before by either command (the
 * same bounce, whatever ref) is a duplicate. A message over limits.message_size fails alone.
 */
static void
process_mbox(struct proc_run *pr, const char *data, size_t len, const char *where_ref,
             const char *name)
{
    struct mbox_iter it;
    struct bnc_slice m;
    char ref[PATH_MAX + 40], label[PATH_MAX + 40], *copy;

    mbox_iter_init(&it, data, len);
    while (mbox_next(&it, &m)) {
        long long off = (long long)(m.p - data);
        snprintf(label, sizeof(label), "%s@%lld", name, off);
        if (m.len > pr->limit) {
            input_failed(pr, label, "message larger than limits.message_size");
            continue;
        }
        snprintf(ref, sizeof(ref), "mbox:%s@%lld", where_ref != NULL ? where_ref : "", off);
        copy = xmalloc(m.len + 1);
        memcpy(copy, m.p, m.len);
        process_one(pr, copy, m.len, where_ref != NULL ? ref : NULL, label);
    }
}

/* An mbox file is mapped, not read: it may hold many messages, each within the limit. */
static bool
process_mapped_mbox(struct proc_run *pr, int fd, const char *path, const char *abs)
{
    struct stat sb;
    char head[5];
    void *map;

    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 5 ||
        pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
        !mbox_is(head, sizeof(head))) {
        return false;
    }
    map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        return false;
    }
    process_mbox(pr, map, (size_t)sb.st_size, abs, path);
    flush(pr); /* the queued messages are copies; the map can go */
    munmap(map, (size_t)sb.st_size);
    return true;
}

static void
process_file(struct proc_run *pr, const char *path)
{
    char abs[PATH_MAX];
    char *data = NULL;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    FILE *fp;

    if (realpath(path, abs) == NULL) {
        snprintf(abs, sizeof(abs), "%s", path);
    }
    if (fd >= 0 && process_mapped_mbox(pr, fd, path, abs)) {
        close(fd);
        return;
    }
    fp = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (fp == NULL || !read_all(fp, pr->limit, &data, &len)) {
        input_failed(pr, path, strerror(errno));
        if (fp != NULL) {
            fclose(fp);
        } else if (fd >= 0) {
            close(fd);
        }
        return;
    }
    fclose(fp);
    process_one(pr, data, len, abs, path);
}

static void
process_path(struct proc_run *pr, const char *path, int depth)
{
    struct stat sb;
    char **names;
    size_t n, i;

    if (stat(path, &sb) != 0) {
        if (!pr->quiet) {
            fprintf(stderr, "bounced: process: %s: %s\n", path, strerror(errno));
        }
        pr->messages++;
        pr->failed++;
        return;
    }
    if (!S_ISDIR(sb.st_mode)) {
        process_file(pr, path);
        return;
    }
    if (depth > 32 || dir_names(path, NULL, NULL, &names, &n) != BNC_OK) {
        if (!pr->quiet) {
            fprintf(stderr, "bounced: process: %s: cannot read directory\n", path);
        }
        pr->failed++;
        return;
    }
    for (i = 0; i < n; i++) {
        size_t l = strlen(path) + strlen(names[i]) + 2;
        char *sub = xmalloc(l);
        snprintf(sub, l, "%s/%s", path, names[i]);
        process_path(pr, sub, depth + 1);
        free(sub);
    }
    dir_names_free(names, n);
}

struct requeue_run {
    struct proc_run *pr;
    struct spool *sp;
    bool keep;
    size_t held, store_failed;
};

/* One held message: back to new/, through the pipeline as the daemon runs it, settled. */
static void
requeue_one(void *ud, const char *id)
{
    struct requeue_run *rq = ud;
    struct pipeline_input in;
    struct pipeline_result res;
    struct pending pe;
    char *data = NULL;
    char reason[600];
    size_t len = 0;
    bnc_status rc;

    memset(&pe, 0, sizeof(pe));
    pe.name = (char *)(uintptr_t)id;
    if (spool_unhold(rq->sp, id) != BNC_OK || spool_read(rq->sp, id, &data, &len) != BNC_OK) {
        fprintf(stderr, "bounced: process: hold/%s: cannot read\n", id);
        rq->pr->messages++;
        rq->pr->failed++;
        return;
    }
    memset(&in, 0, sizeof(in));
    in.data = data;
    in.len = len;
    in.source = "smtp";
    in.ref = id;
    rc = pipeline_process(rq->pr->pl, &in, &res);
    account(rq->pr, &pe, rc, &res);
    if (rc == BNC_OK) {
        (void)spool_done(rq->sp, id, rq->keep);
    } else if (rc == BNC_EBUSY || rc == BNC_ESTORE || rc == BNC_EIO || rc == BNC_ECONFLICT) {
        rq->store_failed++; /* not the message's fault: the daemon takes it at its start */
    } else {
        snprintf(reason, sizeof(reason), "status=%s detail=\"%s\"", bnc_strerror(rc),
                 pipeline_errmsg(rq->pr->pl));
        (void)spool_hold(rq->sp, id, reason);
        rq->held++;
    }
    free(data);
}

static int
requeue_hold(struct cli_globals *g, struct proc_run *pr, const char *dir)
{
    struct requeue_run rq;
    char err[512];
    size_t n;

    memset(&rq, 0, sizeof(rq));
    rq.pr = pr;
    rq.keep = g->cfg.spool_keep_days > 0;
    if (spool_open(dir, &rq.sp, err, sizeof(err)) != BNC_OK) {
        fprintf(stderr, "bounced: process: %s\n", err);
        return CLI_EXIT_CONFIG;
    }
    n = spool_scan_hold(rq.sp, requeue_one, &rq);
    spool_close(rq.sp);
    printf("held: %zu requeued, %zu held again, %zu left in new/ (store failure)\n", n, rq.held,
           rq.store_failed);
    return rq.store_failed > 0 ? CLI_EXIT_CONFIG : CLI_EXIT_OK;
}

static int
process_run(struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"source", required_argument, NULL, 's'},
        {"quiet", no_argument, NULL, 'q'},
        {"batch", required_argument, NULL, 'b'},
        {"requeue", no_argument, NULL, 'R'},
        {"spool", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct proc_run pr;
    struct store *st = NULL;
    bnc_ctx *ctx = NULL;
    int c, i, ex, rq_ex = CLI_EXIT_OK;
    bool requeue = false;
    const char *spool = NULL;

    memset(&pr, 0, sizeof(pr));
    pr.batch = 64;
    while ((c = getopt_long(argc, argv, "s:qb:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || v < 1 || v > 1000) {
                fprintf(stderr, "bounced: process: --batch wants 1..1000\n");
                return CLI_EXIT_USAGE;
            }
            pr.batch = (size_t)v;
            break;
        }
        case 's':
            pr.source = optarg;
            break;
        case 'q':
            pr.quiet = true;
            break;
        case 'R':
            requeue = true;
            break;
        case 'S':
            spool = optarg;
            break;
        case 'h':
            process_usage(stdout);
            return CLI_EXIT_OK;
        default:
            process_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if ((optind >= argc) != requeue) {
        process_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if ((ex = hcli_open(g, &st)) != CLI_EXIT_OK) {
        return ex;
    }
    if ((ex = hcli_ctx(g, st, "process", &ctx)) != CLI_EXIT_OK) {
        store_close(st);
        return ex;
    }
    pipeline_new(ctx, st, &pr.pl);
    pr.pend = xcalloc(pr.batch, sizeof(*pr.pend));
    pipeline_set_now(pr.pl, g->now);
    pr.received_at = cli_now(g);
    pr.limit = g->cfg.limit_message_size;
    if (requeue) {
        rq_ex = requeue_hold(g, &pr, spool != NULL ? spool : g->cfg.spool_dir);
    }
    for (i = optind; i < argc; i++) {
        if (strcmp(argv[i], "-") == 0) {
            char *data = NULL;
            size_t len = 0;
            const char *src = pr.source;
            if (pr.source == NULL) {
                pr.source = "stdin";
            }
            if (!read_all(stdin, pr.limit, &data, &len)) {
                fprintf(stderr, "bounced: process: stdin: %s\n", strerror(errno));
                pr.messages++;
                pr.failed++;
            } else if (mbox_is(data, len)) {
                process_mbox(&pr, data, len, NULL, "stdin");
                flush(&pr);
                free(data);
            } else {
                process_one(&pr, data, len, NULL, "stdin");
                flush(&pr);
            }
            pr.source = src;
        } else {
            const char *src = pr.source;
            if (pr.source == NULL) {
                pr.source = "file";
            }
            process_path(&pr, argv[i], 0);
            flush(&pr);
            pr.source = src;
        }
    }
    printf("messages: %zu (new %zu, duplicates %zu, not bounces %zu, failed %zu)\n", pr.messages,
           pr.messages - pr.duplicates - pr.failed, pr.duplicates, pr.not_bounce, pr.failed);
    printf("verdicts: %zu (hard %zu, soft %zu, complaint %zu, autoreply %zu, delivered %zu, "
           "unknown %zu)\n",
           pr.verdicts, pr.by_kind[BNC_KIND_HARD], pr.by_kind[BNC_KIND_SOFT],
           pr.by_kind[BNC_KIND_COMPLAINT], pr.by_kind[BNC_KIND_AUTOREPLY],
           pr.by_kind[BNC_KIND_DELIVERED], pr.by_kind[BNC_KIND_UNKNOWN]);
    printf("contacts changed: %zu\n", pr.changed);
    printf("new review items: %zu\n", pr.review);
    free(pr.pend);
    pipeline_free(pr.pl);
    bnc_ctx_free(ctx);
    store_close(st);
    if (rq_ex != CLI_EXIT_OK) {
        return rq_ex;
    }
    return pr.failed > 0 ? CLI_EXIT_NEG : CLI_EXIT_OK;
}

const struct cli_cmd cli_cmd_process = {
    "process",
    "parse bounces and apply the hygiene policy to the store",
    process_run,
};
