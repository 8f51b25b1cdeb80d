/*
 * cmd_parse.c - `bounced parse FILE|DIR|-`: parse and classify bounce messages and print one
 * verdict per recipient (JSON lines as DESIGN §5, a readable table, or the canonical dump
 * used by the golden tests).
 *
 * Directories are walked recursively in sorted order, skipping dot files; a file that begins
 * with "From " is an mbox and each of its messages is parsed ("mbox_index" in the output).
 * Does not touch the store (`bounced process` does).
 * LIMITS: each input file is read up to limits.message_size; a bigger one is reported on
 * stderr and counted as unreadable. Directory depth is capped at PARSE_DIR_DEPTH.
 * Exit: 0 all inputs read, 1 some could not be read (each reported), 2 usage error,
 * 3 configuration error.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "classify/classify.h"
#include "cli.h"
#include "core/buf.h"
#include "core/xmalloc.h"
#include "parse/mbox.h"
#include "parse/parse.h"

#define PARSE_DIR_DEPTH 64

enum parse_fmt { FMT_JSON, FMT_TEXT, FMT_DUMP };

struct parse_run {
    bnc_ctx *ctx;
    enum parse_fmt fmt;
    size_t max_size;
    int unreadable;
    struct buf out;
};

struct path_list {
    char **v;
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
    fprintf(fp, "usage: bounced parse [--format json|text] [--dump] FILE|DIR|- ...\n\n"
                "Parse and classify bounce messages; print one verdict per recipient.\n"
                "A directory is read recursively (sorted, dot files skipped); a file that\n"
                "starts with \"From \" is an mbox; \"-\" reads one message from stdin.\n\n"
                "  --format json   JSON lines (default): file, recipient, status, replycode,\n"
                "                  reason, hard, kind, action, diagnostic, origin, ...\n"
                "  --format text   a readable table\n"
                "  --dump          canonical one-field-per-line dump (golden tests)\n"
                "  -h, --help      this help\n\n"
                "exit: 0 all inputs read, 1 some unreadable (reported on stderr), 2 usage\n");
}

static void
json_key_str(struct buf *b, const char *key, const char *v)
{
    buf_printf(b, ",\"%s\":", key);
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
            buf_printf(b, "%s\"%s\"", first ? "" : ",", flag_names[i]);
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
        buf_printf(b, ",\"hard\":%s", rc->hard == 1 ? "true" : rc->hard == 0 ? "false" : "null");
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
    if (pr->out.len) {
        fwrite(pr->out.p, 1, pr->out.len, stdout);
        buf_reset(&pr->out);
    }
}

static void
parse_one(struct parse_run *pr, const char *name, long mbox_index, const char *p, size_t n)
{
    bnc_report *r = NULL;
    bnc_status rc = bnc_parse(pr->ctx, p, n, &r);

    if (rc != BNC_OK) {
        if (mbox_index >= 0) {
            fprintf(stderr, "bounced: %s (message %ld): %s\n", name, mbox_index, bnc_strerror(rc));
        } else {
            fprintf(stderr, "bounced: %s: %s\n", name, bnc_strerror(rc));
        }
        pr->unreadable++;
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

static void
parse_file(struct parse_run *pr, const char *path, const char *name)
{
    FILE *fp;
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (strcmp(path, "-") == 0) {
        rc = read_stream(stdin, pr->max_size, &data, &len);
    } else {
        struct stat st;
        fp = fopen(path, "rb");
        if (fp == NULL) {
            fprintf(stderr, "bounced: %s: %s\n", path, strerror(errno));
            pr->unreadable++;
            return;
        }
        if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) &&
            (size_t)st.st_size > pr->max_size) {
            fclose(fp);
            fprintf(stderr, "bounced: %s: larger than limits.message_size (%zu bytes)\n", path,
                    pr->max_size);
            pr->unreadable++;
            return;
        }
        rc = read_stream(fp, pr->max_size, &data, &len);
        fclose(fp);
    }
    if (rc == -2) {
        fprintf(stderr, "bounced: %s: larger than limits.message_size (%zu bytes)\n", path,
                pr->max_size);
        pr->unreadable++;
        return;
    }
    if (rc != 0) {
        fprintf(stderr, "bounced: %s: read error\n", path);
        pr->unreadable++;
        return;
    }
    parse_buffer(pr, name, data, len);
    free(data);
}

static void
paths_add(struct path_list *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = s;
}

static int
path_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect regular files under dir/rel (rel "" for the top), relative names. */
static void
collect(struct parse_run *pr, const char *dir, const char *rel, struct path_list *l)
{
    DIR *d;
    struct dirent *e;
    struct buf full;

    buf_init(&full, 0);
    buf_printf(&full, "%s%s%s", dir, rel[0] ? "/" : "", rel);
    d = opendir(full.p);
    if (d == NULL) {
        fprintf(stderr, "bounced: %s: %s\n", full.p, strerror(errno));
        pr->unreadable++;
        buf_free(&full);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        struct buf sub;
        if (e->d_name[0] == '.') {
            continue;
        }
        buf_init(&sub, 0);
        buf_printf(&sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        paths_add(l, buf_take(&sub));
    }
    closedir(d);
    buf_free(&full);
}

static void
parse_dir(struct parse_run *pr, const char *dir, const char *rel, int depth)
{
    struct path_list l = {NULL, 0, 0};
    size_t i;

    if (depth > PARSE_DIR_DEPTH) {
        fprintf(stderr, "bounced: %s/%s: directories nested too deep\n", dir, rel);
        pr->unreadable++;
        return;
    }
    collect(pr, dir, rel, &l);
    if (l.n > 1) {
        qsort(l.v, l.n, sizeof(*l.v), path_cmp);
    }
    for (i = 0; i < l.n; i++) {
        struct buf full;
        struct stat st;
        buf_init(&full, 0);
        buf_printf(&full, "%s/%s", dir, l.v[i]);
        if (stat(full.p, &st) != 0) {
            fprintf(stderr, "bounced: %s: %s\n", full.p, strerror(errno));
            pr->unreadable++;
        } else if (S_ISDIR(st.st_mode)) {
            parse_dir(pr, dir, l.v[i], depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            parse_file(pr, full.p, l.v[i]);
        }
        buf_free(&full);
        free(l.v[i]);
    }
    free(l.v);
}

static int
parse_run(struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"dump", no_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct parse_run pr;
    int c, i;

    memset(&pr, 0, sizeof(pr));
    pr.fmt = FMT_JSON;
    while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
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
    if (bnc_ctx_new_config(&g->cfg, &pr.ctx) != BNC_OK) {
        fprintf(stderr, "bounced: %s\n", bnc_ctx_errmsg(pr.ctx));
        bnc_ctx_free(pr.ctx);
        return CLI_EXIT_CONFIG;
    }
    pr.max_size = g->cfg.limit_message_size;
    buf_init(&pr.out, 0);
    if (pr.fmt == FMT_TEXT) {
        buf_printf(&pr.out, "%-40s %-36s %-7s %-4s %-15s %-9s %s\n", "FILE", "RECIPIENT", "STATUS",
                   "SMTP", "REASON", "KIND", "ACTION");
    }
    for (i = optind; i < argc; i++) {
        struct stat st;
        const char *a = argv[i];
        if (strcmp(a, "-") == 0) {
            parse_file(&pr, "-", "-");
            continue;
        }
        if (stat(a, &st) != 0) {
            fprintf(stderr, "bounced: %s: %s\n", a, strerror(errno));
            pr.unreadable++;
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
            parse_file(&pr, a, a);
        }
    }
    flush_out(&pr);
    buf_free(&pr.out);
    bnc_ctx_free(pr.ctx);
    fflush(stdout);
    return pr.unreadable ? CLI_EXIT_NEG : CLI_EXIT_OK;
}

const struct cli_cmd cli_cmd_parse = {
    "parse",
    "parse and classify bounce messages; print verdicts (JSON lines or a table)",
    parse_run,
};
