/*
 * log.c - line-oriented logging to stderr or syslog.
 *
 * Each line is formatted into a stack buffer and written with one write(2), so lines from
 * several threads never interleave. Lines longer than LOG_LINE_MAX are cut.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static int log_syslog;
static enum log_level log_level = LOG_LVL_INFO;
static unsigned log_trace_mask;
static uint64_t log_hash_key = 0x9e3779b97f4a7c15ull;

void
log_init(int use_syslog, enum log_level level, unsigned trace_mask)
{
    log_syslog = use_syslog;
    log_level = level;
    log_trace_mask = trace_mask;
    log_hash_key ^= (uint64_t)getpid() * 0x100000001b3ull ^ (uint64_t)time(NULL);
    if (use_syslog) {
        openlog("bounced", LOG_PID | LOG_NDELAY, LOG_MAIL);
    }
}

void
log_set_level(enum log_level level)
{
    log_level = level;
}

enum log_level
log_get_level(void)
{
    return log_level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    size_t i;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

static void log_vemit(enum log_level lvl, const char *errstr, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
log_vemit(enum log_level lvl, const char *errstr, const char *fmt, va_list ap)
{
    static const char *lvlname[] = {"error", "warn", "info", "debug"};
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    char line[LOG_LINE_MAX];
    size_t n = 0;
    int r;
    struct timespec ts;
    struct tm tm;

    if (!log_syslog) {
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
        r = snprintf(line + n, sizeof(line) - n, ".%03ldZ level=%s ", ts.tv_nsec / 1000000L,
                     lvlname[lvl]);
        if (r > 0) {
            n += (size_t)r;
        }
    }
    r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    if (r > 0) {
        n += (size_t)r;
    }
    if (n > sizeof(line) - 2) {
        n = sizeof(line) - 2;
    }
    if (errstr != NULL) {
        r = snprintf(line + n, sizeof(line) - n, " error=\"%s\"", errstr);
        if (r > 0) {
            n += (size_t)r;
        }
        if (n > sizeof(line) - 2) {
            n = sizeof(line) - 2;
        }
    }
    if (log_syslog) {
        line[n] = '\0';
        syslog(prio[lvl], "%s", line);
        return;
    }
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, n);
}

#define LOG_BODY(lvl, errstr)                                                                      \
    do {                                                                                           \
        va_list ap;                                                                                \
        if ((lvl) > log_level) {                                                                   \
            return;                                                                                \
        }                                                                                          \
        va_start(ap, fmt);                                                                         \
        log_vemit((lvl), (errstr), fmt, ap);                                                       \
        va_end(ap);                                                                                \
    } while (0)

void
log_warn(const char *fmt, ...)
{
    const char *e = strerror(errno);
    LOG_BODY(LOG_LVL_WARN, e);
}

void
log_warnx(const char *fmt, ...)
{
    LOG_BODY(LOG_LVL_WARN, NULL);
}

void
log_info(const char *fmt, ...)
{
    LOG_BODY(LOG_LVL_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
    LOG_BODY(LOG_LVL_DEBUG, NULL);
}

void
log_trace(unsigned subsys, const char *fmt, ...)
{
    if ((log_trace_mask & subsys) == 0) {
        return;
    }
    LOG_BODY(LOG_LVL_DEBUG, NULL);
}

void
fatal(const char *fmt, ...)
{
    va_list ap;
    const char *e = strerror(errno);
    va_start(ap, fmt);
    log_vemit(LOG_LVL_ERROR, e, fmt, ap);
    va_end(ap);
    exit(1);
}

void
fatalx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vemit(LOG_LVL_ERROR, NULL, fmt, ap);
    va_end(ap);
    exit(1);
}

void
bnc_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vemit(LOG_LVL_ERROR, NULL, fmt, ap);
    va_end(ap);
    abort();
}

void
log_addr_hash(const char *addr, char out[16])
{
    /* FNV-1a keyed with a per-process secret: stable within one run, not reversible by a
     * dictionary built elsewhere. */
    uint64_t h = 0xcbf29ce484222325ull ^ log_hash_key;
    const unsigned char *p = (const unsigned char *)addr;
    while (*p) {
        h ^= (*p >= 'A' && *p <= 'Z') ? (uint64_t)(*p + 32) : *p;
        h *= 0x100000001b3ull;
        p++;
    }
    snprintf(out, 16, "h:%08x", (unsigned)(h ^ (h >> 32)));
}
