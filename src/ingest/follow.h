/*
 * follow.h - MTA logs read as they grow, the way `tail -F` reads them: a log follower keeps
 * its place in one file (path) across appends, renames (PowerMTA's move-interval/move-to,
 * logrotate's create), copytruncate and compressed rotations (.gz), and across restarts,
 * and applies each batch of complete lines in ONE store transaction together with the
 * position it reached, so every event of the log is applied exactly once.
 *
 * The same reader streams a file or a pipe once (`bounced ingest FORMAT FILE|-`): lines are
 * applied as they arrive, with no size limit on the whole (a line is bounded, a log is not).
 * What it does not do: watch for changes (the caller polls, woken by inotify or a timer;
 * follow_poll() is cheap when nothing changed) or parse (events.h does).
 * Ownership: a follower owns its file handles and buffers; it borrows the ctx, store and
 * pipeline it is given for the duration of a call. One follower per thread at a time.
 */
#ifndef BNC_INGEST_FOLLOW_H
#define BNC_INGEST_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounced.h"
#include "ingest/events.h"

struct store;
struct pipeline;
struct follower;

#define FOLLOW_HEAD  1024u          /* bytes of a file's start that identify it */
#define FOLLOW_CHUNK (256u * 1024u) /* bytes read (and applied) at a time */

struct follow_opts {
    const char *name;          /* logs.NAME: the position is saved as "follow:NAME" */
    const char *path;          /* the live file */
    enum events_format fmt;    /* a log format (events_format_is_log) */
    const char *record_fields; /* PowerMTA layout, or NULL */
    const char *rotated_dir;   /* where rotated files go; NULL or "" = path's directory */
};

struct follow_stats {
    size_t batches, verdicts, applied, duplicates, overlong, rotations;
};

/* BNC_ECONFIG (err says why) for a bad format, path or layout. Free with follow_free(). */
bnc_status follow_new(const struct follow_opts *o, struct follower **out, char *err, size_t errlen);
void follow_free(struct follower *f); /* NULL-safe */
const char *follow_path(const struct follower *f);
const char *follow_dir(const struct follower *f); /* the directory to watch for rotations */

/*
 * Read what is new (finishing first the file the live one was rotated from) and apply it
 * through pl on st, saving the position in the same transaction. BNC_OK when everything
 * readable was applied (also when the file does not exist yet); a store failure returns its
 * status with nothing of the failed batch applied: the next call tries again from there.
 * stats (may be NULL) is added to.
 */
bnc_status follow_poll(struct follower *f, bnc_ctx *ctx, struct store *st, struct pipeline *pl,
                       int64_t now, struct follow_stats *stats, char *err, size_t errlen);

/* What follow_stream() does with each parsed batch: BNC_OK to go on. */
typedef bnc_status (*follow_apply_fn)(void *ud, const bnc_report *r);

/*
 * Read fd (a file, a pipe, stdin; gz: through zlib) to its end, parsing each read's
 * complete lines as soon as it arrives and handing their verdicts to fn. record_fields as
 * in struct follow_opts. Returns BNC_OK, BNC_EIO (read error), BNC_EPARSE (not that
 * format), or fn's failure; *overlong_out (may be NULL) counts lines longer than
 * EVENTS_MAX_LINE, skipped.
 */
bnc_status follow_stream(int fd, bool gz, bnc_ctx *ctx, enum events_format fmt,
                         const char *record_fields, follow_apply_fn fn, void *ud,
                         size_t *overlong_out, /* OUT: may be NULL */
                         char *err, size_t errlen);

#endif
