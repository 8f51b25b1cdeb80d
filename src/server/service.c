/*
 * service.c - privilege handling and systemd notifications of `bounced serve`.
 *
 * Privileges (smtp.user, for a start as root without systemd): the effective ids become the
 * user's before the store, the spool and the rules cache are opened, so every file the daemon
 * makes belongs to the user; root comes back (effective only) for the bind of the listeners,
 * typically port 25, and then all of root is given up with setresgid/setresuid. glibc applies
 * these calls to every thread of the process (POSIX semantics), and serve starts its workers
 * only after the drop. A daemon that could become root again would be no better than one
 * running as root, so service_drop() proves setuid(0) fails.
 *
 * Under systemd the unit runs bounced as its user from the start (User= with
 * AmbientCapabilities=CAP_NET_BIND_SERVICE) and smtp.user stays empty.
 *
 * Notifications: libsystemd's sd_notify() (READY=1, STATUS=, WATCHDOG=1, STOPPING=1); the
 * watchdog is petted from the event loop, so a loop stuck for longer than WatchdogSec gets
 * the daemon restarted.
 *
 * STANDARDS: sd_notify(3), sd_watchdog_enabled(3); POSIX setuid semantics for threads.
 * Doesn't: chroot, daemonize, write a pid file.
 */
#define _GNU_SOURCE 1 /* setresuid, setresgid */
#include "server/service.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "core/log.h"

static void service_watchdog_cb(evutil_socket_t fd, short what, void *ud);

int
service_enter(struct service *svc, const char *user, char *err, size_t errlen)
{
    struct passwd *pw;

    memset(svc, 0, sizeof(*svc));
    if (user == NULL || user[0] == '\0') {
        return 0;
    }
    if (strlen(user) >= sizeof(svc->user)) {
        snprintf(err, errlen, "smtp.user: name longer than %zu bytes", sizeof(svc->user) - 1);
        return -1;
    }
    errno = 0;
    if ((pw = getpwnam(user)) == NULL) {
        snprintf(err, errlen, "smtp.user: no such user \"%s\"%s%s", user, errno ? ": " : "",
                 errno ? strerror(errno) : "");
        return -1;
    }
    if (geteuid() != 0) {
        if (pw->pw_uid == geteuid()) {
            return 0; /* already that user (a unit with User= and smtp.user set alike) */
        }
        snprintf(err, errlen, "smtp.user = %s: switching to it needs a start as root", user);
        return -1;
    }
    if (pw->pw_uid == 0) {
        snprintf(err, errlen, "smtp.user = %s: that is root; name an unprivileged user", user);
        return -1;
    }
    memcpy(svc->user, user, strlen(user) + 1);
    svc->uid = pw->pw_uid;
    svc->gid = pw->pw_gid;
    if (initgroups(user, pw->pw_gid) != 0 || setegid(svc->gid) != 0 || seteuid(svc->uid) != 0) {
        snprintf(err, errlen, "smtp.user = %s: cannot take its ids: %s", user, strerror(errno));
        return -1;
    }
    svc->switching = true;
    return 0;
}

int
service_bind_begin(struct service *svc, char *err, size_t errlen)
{
    if (!svc->switching) {
        return 0;
    }
    if (seteuid(0) != 0) {
        snprintf(err, errlen, "cannot take root back for the bind: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int
service_drop(struct service *svc, char *err, size_t errlen)
{
    if (!svc->switching) {
        return 0;
    }
    if (setresgid(svc->gid, svc->gid, svc->gid) != 0 ||
        setresuid(svc->uid, svc->uid, svc->uid) != 0) {
        snprintf(err, errlen, "smtp.user = %s: cannot drop root: %s", svc->user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0 || seteuid(0) == 0) {
        snprintf(err, errlen, "smtp.user = %s: root could be taken back after the drop",
                 svc->user);
        return -1;
    }
    svc->switching = false;
    log_info("event=privileges_dropped user=%s uid=%ld gid=%ld", svc->user, (long)svc->uid,
             (long)svc->gid);
    return 0;
}

void
service_ready(struct service *svc, struct event_base *base, const char *status)
{
    uint64_t usec = 0;

    sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%ld", status, (long)getpid());
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) {
        return;
    }
    /* pet at half the interval, as sd_watchdog_enabled(3) recommends */
    svc->watchdog = event_new(base, -1, EV_PERSIST, service_watchdog_cb, NULL);
    if (svc->watchdog != NULL) {
        struct timeval tv = {(time_t)(usec / 2 / 1000000), (suseconds_t)(usec / 2 % 1000000)};
        event_add(svc->watchdog, &tv);
        log_info("event=watchdog interval_ms=%llu", (unsigned long long)(usec / 1000));
    }
}

void
service_stopping(void)
{
    sd_notify(0, "STOPPING=1");
}

void
service_close(struct service *svc)
{
    if (svc->watchdog != NULL) {
        event_free(svc->watchdog);
        svc->watchdog = NULL;
    }
}

static void
service_watchdog_cb(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    (void)ud;
    sd_notify(0, "WATCHDOG=1");
}
