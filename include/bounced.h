/*
 * bounced.h - public API of libbounced: parse and classify bounce messages.
 *
 * A bnc_ctx holds the configuration and the compiled rule set; it is built once per process
 * and is read-only afterwards, so several threads may parse with one ctx at the same time.
 * A bnc_report is one parsed message; it owns an arena that holds every string it hands out.
 * Ownership: every pointer returned by a getter is borrowed, valid until bnc_report_free()
 * (or bnc_ctx_free() for ctx-owned data). Arguments are borrowed for the duration of a call.
 */
#ifndef BNC_BOUNCED_H
#define BNC_BOUNCED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bnc_ctx bnc_ctx;
typedef struct bnc_report bnc_report;

/* Status codes: append-only; never renumber or remove. */
typedef enum {
    BNC_OK = 0,
    BNC_EINVAL,    /* bad argument */
    BNC_ELIMIT,    /* a configured limit was hit */
    BNC_EPARSE,    /* nothing usable could be extracted */
    BNC_ESTORE,    /* the store failed */
    BNC_EBUSY,     /* the store is busy or locked; retry */
    BNC_EIO,       /* an I/O error */
    BNC_ECONFIG,   /* bad configuration */
    BNC_ENOTFOUND, /* no such object */
    BNC_EINTERNAL, /* a bug */
    BNC_ECONFLICT, /* unique key or state conflict */
    BNC__LAST      /* never use */
} bnc_status;

/* Anomalies found while parsing (bnc_report_flags). Bad input is data, not an error. */
#define BNC_PF_NO_DSN_PART  (1u << 0)  /* no message/delivery-status part */
#define BNC_PF_TRUNCATED    (1u << 1)  /* a size limit cut the input */
#define BNC_PF_NESTING      (1u << 2)  /* MIME nesting deeper than the limit */
#define BNC_PF_BAD_STATUS   (1u << 3)  /* a Status: field that is not RFC 3463 */
#define BNC_PF_HEURISTIC    (1u << 4)  /* recipients found by heuristics, not by fields */
#define BNC_PF_NO_BOUNDARY  (1u << 5)  /* multipart without (usable) boundary */
#define BNC_PF_TOO_MANY_PARTS (1u << 6) /* more MIME parts than the limit */
#define BNC_PF_LONG_HEADER  (1u << 7)  /* header block or header line over the limit */
#define BNC_PF_TOO_MANY_RCPTS (1u << 8) /* more recipients than the limit */
#define BNC_PF_BAD_ENCODING (1u << 9)  /* broken base64/QP/charset data */
#define BNC_PF_BINARY       (1u << 10) /* NUL bytes or other binary garbage */
#define BNC_PF_NOT_BOUNCE   (1u << 11) /* the message is not a bounce (reply, spam, ...) */
#define BNC_PF_DIAG_TRUNCATED (1u << 12) /* a diagnostic was cut at the limit */

/* Reasons (Sisimai's vocabulary). Append-only. */
typedef enum {
    BNC_R_UNDEFINED = 0,
    BNC_R_USERUNKNOWN,
    BNC_R_HOSTUNKNOWN,
    BNC_R_HASMOVED,
    BNC_R_NOTACCEPT,
    BNC_R_MAILBOXFULL,
    BNC_R_SUSPEND,
    BNC_R_EXPIRED,
    BNC_R_NETWORKERROR,
    BNC_R_SYSTEMERROR,
    BNC_R_SYSTEMFULL,
    BNC_R_MAILERERROR,
    BNC_R_TOOMANYCONN,
    BNC_R_EXCEEDLIMIT,
    BNC_R_MESGTOOBIG,
    BNC_R_FILTERED,
    BNC_R_REJECTED,
    BNC_R_BLOCKED,
    BNC_R_SPAMDETECTED,
    BNC_R_VIRUSDETECTED,
    BNC_R_POLICYVIOLATION,
    BNC_R_AUTHFAILURE,
    BNC_R_REQUIREPTR,
    BNC_R_BADREPUTATION,
    BNC_R_SECURITYERROR,
    BNC_R_CONTENTERROR,
    BNC_R_NORELAYING,
    BNC_R_NOTCOMPLIANTRFC,
    BNC_R_SYNTAXERROR,
    BNC_R_SPEEDING,
    BNC_R_FAILEDSTARTTLS,
    BNC_R_SUPPRESSED,
    BNC_R_ONHOLD,
    BNC_R_DELIVERED,
    BNC_R_FEEDBACK,
    BNC_R_VACATION,
    BNC_R__COUNT
} bnc_reason;

/* Whose problem a reason is (REASONS.md). */
typedef enum {
    BNC_SIDE_UNKNOWN = 0,
    BNC_SIDE_DEAD,    /* the address is gone */
    BNC_SIDE_ADDRESS, /* the mailbox has a passing problem */
    BNC_SIDE_SENDER,  /* the receiver refused us, not the address */
    BNC_SIDE_REPORT   /* not a failure */
} bnc_side;

typedef enum {
    BNC_ACTION_NONE = 0,
    BNC_ACTION_FAILED,
    BNC_ACTION_DELAYED,
    BNC_ACTION_DELIVERED,
    BNC_ACTION_RELAYED,
    BNC_ACTION_EXPANDED
} bnc_action;

/* What policy acts on (DESIGN §5). */
typedef enum {
    BNC_KIND_UNKNOWN = 0,
    BNC_KIND_HARD,
    BNC_KIND_SOFT,
    BNC_KIND_COMPLAINT,
    BNC_KIND_AUTOREPLY,
    BNC_KIND_DELIVERED
} bnc_kind;

/*
 * One verdict per failed (or reported) recipient. Strings are NUL-terminated, owned by the
 * report's arena, never NULL (empty when absent) once bnc_report_rcpt() returns them.
 */
struct bnc_rcpt {
    const char *recipient;          /* lower-cased addr-spec, VERP-decoded */
    const char *original_recipient; /* Original-Recipient, as found */
    char status[16];                /* RFC 3463 c.s.d, or "" */
    char replycode[4];              /* SMTP reply code, or "" */
    bnc_action action;
    bnc_reason reason;              /* set by the classifier (a format may hint: reason_hint) */
    bnc_reason reason_hint;         /* what the bounce format itself said, or UNDEFINED */
    int hard;                       /* 1, 0, or -1 unknown */
    bnc_kind kind;
    const char *diagnostic;         /* Diagnostic-Code text or the body's error text, UTF-8 */
    const char *diagnostic_type;    /* "smtp", "x-unix", ... */
    const char *remote_mta;
    const char *reporting_mta;
    const char *date;               /* Last-Attempt-Date / Arrival-Date / Date, as found */
    int64_t time;                   /* the same as Unix seconds, 0 when unknown */
    const char *origin;             /* "dsn", "format:<mta>", "arf", "autoreply", ... */
    const char *message_id;         /* the bounce's own Message-ID */
    const char *original_message_id; /* Message-ID of the returned message */
    const char *feedback_type;      /* ARF Feedback-Type */
    const char *decided_by;         /* "rule:default.rules:12", "status:5.1.1", "reply:550", ... */
    const char *smtp_command;       /* the SMTP command that failed (RCPT, DATA, ...), or "" */
    const char *status_comment;     /* the words after a DSN Status code ("5.2.2 (over quota)") */
    const char *notice;             /* the text a notice puts above its recipient list */
};

/* Library-level: names of the codes (src/core; they need no ctx and link no classifier) */
const char *bnc_strerror(bnc_status rc); /* static string */
const char *bnc_reason_name(bnc_reason r); /* static string; "undefined" for out-of-range */
bool bnc_reason_from_name(const char *name, bnc_reason *out);
bnc_side bnc_reason_side(bnc_reason r);
const char *bnc_kind_name(bnc_kind k);
const char *bnc_action_name(bnc_action a);
bool bnc_kind_from_name(const char *name, bnc_kind *out);     /* false when unknown */
bool bnc_action_from_name(const char *name, bnc_action *out); /* false when unknown */

/*
 * Context. conf_path may be NULL (defaults + BOUNCED_* environment). The ctx loads the
 * built-in rules and the user rules named by the configuration. Caller frees with
 * bnc_ctx_free(). On failure *out is still set when possible so bnc_ctx_errmsg() can be read.
 */
bnc_status bnc_ctx_new(const char *conf_path, bnc_ctx **out);
void bnc_ctx_free(bnc_ctx *ctx);                /* NULL-safe */
const char *bnc_ctx_errmsg(const bnc_ctx *ctx); /* detail of the last failure; borrowed */
/* The library never prints. What it has to say while a ctx is built or its rules reloaded
 * (each bad rule, with file:line, skipped) goes into the ctx's message (the first one) and,
 * when the program installed one, to this handler (every one, in order, on the building
 * thread). NULL, the default, drops them. Set it once at startup, before any ctx. */
typedef void (*bnc_message_fn)(const char *where, const char *msg);
void bnc_set_message_handler(bnc_message_fn fn);

/*
 * Parse and classify one message (RFC 5322 bytes, not NUL-terminated). Returns BNC_OK with a
 * report (possibly with zero recipients and anomaly flags), BNC_ELIMIT when the message is
 * larger than the message limit, BNC_EINVAL for bad arguments. Thread-safe for one ctx.
 * Caller frees *out with bnc_report_free().
 */
bnc_status bnc_parse(bnc_ctx *ctx, const void *msg, size_t len, bnc_report **out);

unsigned bnc_report_flags(const bnc_report *r);
size_t bnc_report_rcpt_count(const bnc_report *r);
const struct bnc_rcpt *bnc_report_rcpt(const bnc_report *r, size_t i); /* borrowed */
const char *bnc_report_header(const bnc_report *r, const char *name); /* top-level, decoded */
void bnc_report_free(bnc_report *r); /* NULL-safe; frees the arena */

#ifdef __cplusplus
}
#endif
#endif
