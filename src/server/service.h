/*
 * service.h - how `bounced serve` lives under a service manager or an init script: the
 * switch from root to smtp.user around the binding of the listeners, and the systemd
 * readiness and watchdog notifications (sd_notify(3)).
 *
 * Order of calls: service_enter() before anything is opened (files are then created as the
 * user), service_bind_begin() just before the listeners bind, service_drop() right after,
 * before any worker thread starts. Without smtp.user the three do nothing.
 * Ownership: a struct service is the caller's (usually inside struct serve); it holds no
 * memory of its own.
 */
#ifndef BNC_SERVER_SERVICE_H
#define BNC_SERVER_SERVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct event;

struct service {
    bool switching; /* started as root with smtp.user set: the ids below are the target */
    uid_t uid;
    gid_t gid;
    char user[64];
    struct event *watchdog; /* WATCHDOG=1 timer on the loop; NULL when systemd asks none */
};

/* Look up user (empty = stay who we are) and, as root, take its ids as the effective ones so
 * the store and spool are created as that user. Not root: user must be the current user.
 * 0, or -1 with a sentence in err. */
int service_enter(struct service *svc, const char *user, char *err, size_t errlen);
/* Root again (effective only) so the listeners may bind ports below 1024: 0 or -1. */
int service_bind_begin(struct service *svc, char *err, size_t errlen);
/* Give root up for good (real, effective and saved ids, supplementary groups) and check that
 * it cannot be taken back: 0, or -1 with a sentence in err. */
int service_drop(struct service *svc, char *err, size_t errlen);

/* READY=1 and a STATUS line to systemd (no-op without NOTIFY_SOCKET); then the watchdog
 * timer on base, at half the interval systemd asks for (WATCHDOG_USEC). */
void service_ready(struct service *svc, struct event_base *base, const char *status);
/* STOPPING=1 (no-op without NOTIFY_SOCKET). */
void service_stopping(void);
/* Free the watchdog timer; safe when none was made. */
void service_close(struct service *svc);

#endif
