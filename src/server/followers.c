/*
 * followers.c - the daemon's log followers ([logs.NAME] sections): one thread that polls
 * every follower (ingest/follow.h) once a second, and at once when inotify reports a change
 * in a watched directory (follow.inotify; without it, or where inotify sees nothing, such
 * as on network filesystems, the one-second poll alone keeps them going).
 *
 * The thread has its own store connection and pipeline (rebuilt when the ctx is reloaded);
 * every batch of lines and the position it reached are one transaction (follow.c), so a
 * kill -9 at any moment loses nothing and applies nothing twice.
 * The set of logs is fixed at startup: a SIGHUP changes the rules they are classified
 * with, not which files are followed.
 * LIMITS: CFG_LOGS_MAX logs; wakes at least once a second.
 * Ownership: struct followers owns its followers, store and pipeline (serve_int.h).
 */
#define _GNU_SOURCE /* pthread_setname_np(3) */
#include "server/serve_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "ingest/follow.h"
#include "pipeline/process.h"
#include "store/store.h"

#define FOLLOWERS_WATCH_MASK \
    (IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB)

struct followers {
    struct serve *sv;
    struct follower **f;
    size_t n;
    struct store *st;
    struct pipeline *pl;
    unsigned gen;
    int ino;     /* inotify descriptor, -1 without */
    int wake[2]; /* a byte on wake[1] stops the thread */
    pthread_t t;
    bool started;
};

static void *followers_main(void *arg);

static void
followers_free(struct followers *fs)
{
    size_t i;

    for (i = 0; i < fs->n; i++) {
        follow_free(fs->f[i]);
    }
    free(fs->f);
    pipeline_free(fs->pl);
    store_close(fs->st);
    if (fs->ino >= 0) {
        close(fs->ino);
    }
    if (fs->wake[0] >= 0) {
        close(fs->wake[0]);
        close(fs->wake[1]);
    }
    free(fs);
}

/* A follower for each [logs.NAME]: false (after saying why) on a bad section. */
static bool
followers_build(struct followers *fs, const struct bnc_config *cfg)
{
    size_t i;
    char err[512];

    fs->f = xcalloc(cfg->nlogs, sizeof(*fs->f));
    for (i = 0; i < cfg->nlogs; i++) {
        const struct cfg_log *l = &cfg->logs[i];
        struct follow_opts o = {l->name, l->path, EVENTS_PMTA, l->record_fields, l->rotated_dir};
        if (!events_format_from_name(l->format, &o.fmt) || !events_format_is_log(o.fmt)) {
            fprintf(stderr,
                    "bounced serve: logs.%s.format: '%s' is not one of pmta, pmta-fbl, "
                    "maillog, exim\n",
                    l->name, l->format);
            return false;
        }
        if (follow_new(&o, &fs->f[fs->n], err, sizeof(err)) != BNC_OK) {
            fprintf(stderr, "bounced serve: %s\n", err);
            return false;
        }
        fs->n++;
    }
    return true;
}

/* Watch each follower's directory and its rotated files' (errors leave polling alone). */
static void
followers_watch(struct followers *fs, const struct bnc_config *cfg)
{
    size_t i;

    if (!cfg->follow_inotify || (fs->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
        fs->ino = -1;
        return;
    }
    for (i = 0; i < fs->n; i++) {
        const char *p = follow_path(fs->f[i]), *slash = strrchr(p, '/');
        char dir[4096];
        snprintf(dir, sizeof(dir), "%.*s", slash == p ? 1 : (int)(slash - p), p);
        if (inotify_add_watch(fs->ino, dir, FOLLOWERS_WATCH_MASK) < 0 ||
            inotify_add_watch(fs->ino, follow_dir(fs->f[i]), FOLLOWERS_WATCH_MASK) < 0) {
            log_warn("event=follow_inotify dir=%s (polling once a second)", dir);
        }
    }
}

int
followers_start(struct serve *sv)
{
    const struct bnc_config *cfg = sv->cur->cfg;
    struct followers *fs;
    char err[512];

    if (cfg->nlogs == 0) {
        return 0;
    }
    fs = xcalloc(1, sizeof(*fs));
    fs->sv = sv;
    fs->ino = -1;
    fs->wake[0] = fs->wake[1] = -1;
    if (!followers_build(fs, cfg)) {
        followers_free(fs);
        return 3;
    }
    if (store_open(cfg->store_url, cfg, &fs->st, err, sizeof(err)) != BNC_OK ||
        pipe2(fs->wake, O_CLOEXEC) != 0) {
        fprintf(stderr, "bounced serve: log followers: %s\n", err);
        followers_free(fs);
        return 3;
    }
    followers_watch(fs, cfg);
    if (pthread_create(&fs->t, NULL, followers_main, fs) != 0) {
        fprintf(stderr, "bounced serve: cannot start the log followers' thread\n");
        followers_free(fs);
        return 3;
    }
    fs->started = true;
    sv->followers = fs;
    log_info("event=follow_start logs=%zu inotify=%s", fs->n, fs->ino >= 0 ? "yes" : "no");
    return 0;
}

void
followers_stop(struct serve *sv)
{
    struct followers *fs = sv->followers;

    if (fs == NULL) {
        return;
    }
    if (write(fs->wake[1], "x", 1) < 0) {
        log_warn("event=follow_stop");
    }
    pthread_join(fs->t, NULL);
    followers_free(fs);
    sv->followers = NULL;
}

/* Wait for a change, a second, or the stop byte: false to stop. */
static bool
followers_wait(struct followers *fs)
{
    struct pollfd pfd[2] = {{fs->wake[0], POLLIN, 0}, {fs->ino, POLLIN, 0}};
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

    if (poll(pfd, fs->ino >= 0 ? 2 : 1, 1000) < 0 && errno != EINTR) {
        return false;
    }
    if (pfd[0].revents != 0) {
        return false;
    }
    while (fs->ino >= 0 && read(fs->ino, buf, sizeof(buf)) > 0) {
        /* which file changed does not matter: every follower looks */
    }
    return true;
}

static void *
followers_main(void *arg)
{
    struct followers *fs = arg;
    char err[512];
    size_t i;

    (void)pthread_setname_np(pthread_self(), "bnc-follow");
    do {
        unsigned g = atomic_load(&fs->sv->gen);
        if (fs->pl == NULL || g != fs->gen) {
            struct ctx_node *n = ctx_current(fs->sv, &fs->gen);
            pipeline_free(fs->pl);
            fs->pl = NULL;
            if (pipeline_new(n->ctx, fs->st, &fs->pl) != BNC_OK) {
                continue;
            }
            if (fs->sv->o->now != 0) {
                pipeline_set_now(fs->pl, fs->sv->o->now);
            }
        }
        for (i = 0; i < fs->n; i++) {
            (void)follow_poll(fs->f[i], ctx_current(fs->sv, NULL)->ctx, fs->st, fs->pl,
                              serve_now(fs->sv), NULL, err, sizeof(err));
        }
    } while (followers_wait(fs));
    return NULL;
}
