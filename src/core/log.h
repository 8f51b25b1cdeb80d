/*
 * log.h - one line per event, key=value fields, to stderr or syslog (OpenSMTPD log.h shape).
 *
 * log_init() once at startup; the functions are thread-safe (one write(2) per line).
 * fatal()/fatalx() are for main() and startup only: never reachable from parse/, classify/,
 * or store/. Recipient addresses are PII: log them at debug level only, or use log_addr_hash().
 */
#ifndef BNC_CORE_LOG_H
#define BNC_CORE_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

#define BNC_TRACE_PARSE    0x01u
#define BNC_TRACE_CLASSIFY 0x02u
#define BNC_TRACE_STORE    0x04u
#define BNC_TRACE_SMTP     0x08u
#define BNC_TRACE_HTTP     0x10u

void log_init(int use_syslog, enum log_level level, unsigned trace_mask);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_level_parse(const char *s, enum log_level *out); /* 0 ok */

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* + strerror */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_trace(unsigned subsys, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Programmer error: log and abort (core dump). Never call it on input data. */
void bnc_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Short keyed hash of an address for info-level logs ("h:3f2a9c1e"); out must hold 16. */
void log_addr_hash(const char *addr, char out[16]);

#define BNC_ASSERT(x)                                                                              \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            bnc_panic("assertion failed: %s at %s:%d", #x, __FILE__, __LINE__);                       \
        }                                                                                          \
    } while (0)

#endif
