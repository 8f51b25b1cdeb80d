/*
 * parse.h - internal seam of the parse layer: the report under construction, the MIME part
 * list, and the hooks the format recognizers (formats/), ARF and auto-reply modules use.
 *
 * message.c drives one message: copy into the report's arena, mime_scan() it, walk standard
 * DSN parts (dsn.c), then give formats_apply() the report for the non-RFC bounces, ARF and
 * auto-replies. classify/ then fills reason, hard and kind.
 * Ownership: everything hangs off the report's arena and dies with bnc_report_free().
 */
#ifndef BNC_PARSE_PARSE_H
#define BNC_PARSE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounced.h"
#include "core/arena.h"
#include "core/slice.h"

struct bnc_config;

struct parse_limits {
    size_t message_size;
    size_t header_block;
    size_t mime_depth;
    size_t mime_parts;
    size_t boundary;
    size_t dsn_rcpts;
    size_t diagnostic;
    size_t report_memory;
    size_t json_depth; /* JSON a format carries (SES notifications by mail) */
};

void parse_limits_from_config(struct parse_limits *l, const struct bnc_config *cfg);
void parse_limits_default(struct parse_limits *l);

/* One MIME entity; all slices point into the report's copy of the message. */
struct mime_part {
    int depth;               /* 0 = the message itself */
    int parent;              /* index of the enclosing part, -1 for the top */
    struct bnc_slice header; /* raw header block (without the blank line) */
    struct bnc_slice body;   /* raw body, still transfer-encoded */
    struct bnc_slice type;   /* "text", "multipart", ... (as written; compare with _ci) */
    struct bnc_slice subtype;
    struct bnc_slice boundary;
    struct bnc_slice charset;
    struct bnc_slice encoding;    /* Content-Transfer-Encoding */
    struct bnc_slice report_type; /* multipart/report's report-type parameter */
    unsigned flags;               /* BNC_PF_* found in this entity */
};

struct mime_msg {
    struct mime_part *parts; /* in document order; parts[0] is the whole message */
    size_t nparts;
    unsigned flags;
};

/* Report under construction (the public bnc_report is this struct). */
/* Fields of the top header that several recognizers read, found in the one pass over its
 * lines that reads From and Subject (message.c): bnc_report.top_raw. */
enum report_top {
    REPORT_TOP_RETURN_PATH,
    REPORT_TOP_TO,
    REPORT_TOP_FAILED_RCPTS,  /* X-Failed-Recipients */
    REPORT_TOP_PMTA_CATEGORY, /* X-PowerMTA-BounceCategory */
    REPORT_TOP_N
};

struct bnc_report {
    struct arena *arena;
    const char *raw; /* arena copy of the message */
    size_t rawlen;
    struct mime_msg mime;
    struct parse_limits limits;
    unsigned flags; /* BNC_PF_* */
    struct bnc_rcpt *rcpts;
    size_t nrcpts, rcpt_cap;
    /* top-level facts, decoded to UTF-8, "" when absent */
    const char *from;
    const char *subject;
    const char *message_id;
    const char *date;
    int64_t time;            /* the Date header as Unix seconds, 0 if unknown */
    const char *return_path; /* Return-Path / envelope sender if known */
    /* the returned original message, when found */
    const char *orig_message_id;
    const char *orig_to;
    const char *orig_from;
    const char *orig_subject;
    struct bnc_slice orig_headers; /* raw header block of the returned message */
    /* raw values (folded, not decoded) as mime_header_raw() finds them, and which are there:
     * the top header's fields by enum report_top, the returned message's Return-Path */
    struct bnc_slice top_raw[REPORT_TOP_N];
    bool top_found[REPORT_TOP_N];
    struct bnc_slice orig_rpath_raw;
    bool orig_rpath_found;
    /* the MTA or ESP family formats_apply() recognised ("qmail", "exchange2003"), NULL when
     * none, and what the classifier must know of its format (BNC_FT_*) */
    const char *family;
    unsigned family_traits;
};

/* Traits of a bounce family's format (the family table, families.c). */
/* It writes its own mailbox store's answers: its "user unknown" is the directory speaking,
 * not a relay quoting a content filter. */
#define BNC_FT_MAILSTORE           (1u << 0)
/* The x.0.0 in its delivery-status part is its own placeholder, never the remote's code
 * (OpenSMTPD writes 5.0.0 for every permanent failure): a pseudo status from the reason
 * replaces it. */
#define BNC_FT_GENERIC_DSN_STATUS  (1u << 1)
/* It reports a refusal of the envelope sender per recipient ("after MAIL FROM:", Exim) though
 * no recipient was offered: without an enhanced code that recipient's status is undecided. */
#define BNC_FT_MAIL_FROM_UNDECIDED (1u << 2)
/* It is a content-filtering gateway (McAfee Email Gateway, Digital Arts m-FILTER, MX Logic):
 * its generic "user unknown" is the filter's refusal of the message, not a directory's. */
#define BNC_FT_FILTER_GATEWAY      (1u << 3)

/* Parse one message (no classification): copy into a new report's arena, scan MIME, walk
 * DSN parts, run formats_apply(). BNC_ELIMIT when len exceeds lim->message_size; otherwise
 * BNC_OK with a report (maybe no recipients, maybe flags). Caller frees with
 * bnc_report_free(). */
bnc_status parse_message(const struct parse_limits *lim, const void *msg, size_t len,
                         struct bnc_report **out);
/* Build the parse layer's compiled tables now (they are otherwise built on first use),
 * through the compiled-database cache that cfg names (rules.cache_dir), so that a start
 * loads them instead of compiling. Idempotent, thread-safe; cfg may be NULL (no cache). */
void parse_prepare(const struct bnc_config *cfg);
/* What went wrong building those tables (static storage), or NULL. Parsing then searches
 * each phrase one by one, with the same results; the parse layer never prints, the ctx
 * passes this on as its message. Builds the tables when nothing has yet. */
const char *parse_tables_problem(void);

/* Add an empty recipient (all strings "", action NONE, hard -1). NULL past the recipient
 * limit (BNC_PF_TOO_MANY_RCPTS is set) or when the arena is exhausted. */
struct bnc_rcpt *report_add_rcpt(struct bnc_report *r);
/* Find a recipient by address (case-insensitive), or NULL. */
struct bnc_rcpt *report_find_rcpt(struct bnc_report *r, const char *addr);
/* Arena copy helpers that never return NULL: "" when the arena is exhausted (and the
 * report is flagged BNC_PF_TRUNCATED). */
const char *report_strndup(struct bnc_report *r, const char *p, size_t n);
/* A header of the returned original message (e.g. a tracking header such as X-Campaign-ID),
 * unfolded and decoded into the report's arena; NULL when absent or no original was found. */
const char *report_orig_header(const struct bnc_report *r, const char *name);
/* A top-header field read with From and Subject: what mime_header_raw() of the top header
 * gives for it (value slice in *out, borrowed from the report), false when absent. */
bool report_top_raw(const struct bnc_report *r, enum report_top k, struct bnc_slice *out);
/* Store a diagnostic: unfolds white space runs to one space, trims, cuts at the limit. */
const char *report_diag(struct bnc_report *r, const char *p, size_t n);

/* ---- MIME (mime.c) ---- */
/* Scan msg[0..len) into a flat part list under the limits; never fails on bad input (flags
 * instead); BNC_ELIMIT only when the arena is exhausted. */
bnc_status mime_scan(struct arena *a, const struct parse_limits *lim, const char *msg, size_t len,
                     struct mime_msg *out);
/* Value of the first header `name` in a header block: unfolded, RFC 2047 decoded to UTF-8,
 * arena-allocated, NUL-terminated; NULL when absent. */
const char *mime_header(struct arena *a, struct bnc_slice header, const char *name);
/* Raw (still folded) value slice of the first header `name`; false when absent. */
bool mime_header_raw(struct bnc_slice header, const char *name, struct bnc_slice *out);
/* The value of a header field whose name ends at q, its first line ending at le (after the
 * '\n') and the block at end: false unless a colon follows the name (white space allowed
 * between); else the raw value over its continuation lines, trimmed at both ends. */
bool mime_field_value(const char *q, const char *le, const char *end, struct bnc_slice *out);
/* Body of a part, transfer-decoded and converted to UTF-8 (invalid bytes replaced). */
bnc_status mime_part_text(struct arena *a, const struct mime_part *p, struct bnc_slice *out);
/* Body transfer-decoded only (binary-safe). */
bnc_status mime_part_decoded(struct arena *a, const struct mime_part *p, struct bnc_slice *out);
/* The same, adding BNC_PF_BAD_ENCODING to *flags when the base64/QP data is broken. */
bnc_status mime_part_decoded_flags(struct arena *a, const struct mime_part *p,
                                   struct bnc_slice *out, unsigned *flags);
/* Is the part of this type (and subtype, unless NULL), ASCII case-insensitive? Inline, so that
 * the lengths of the literal names callers pass fold. */
static inline bool
mime_part_is(const struct mime_part *p, const char *type, const char *subtype)
{
    if (p == NULL || !slice_eq_ci(p->type, type)) {
        return false;
    }
    return subtype == NULL || slice_eq_ci(p->subtype, subtype);
}
/* Unfold and RFC 2047-decode a raw header value (as from mime_header_raw) into the arena,
 * NUL-terminated UTF-8; NULL when the arena is exhausted. */
const char *mime_decode_words(struct arena *a, struct bnc_slice raw);
/* Index of the enclosing part of type/subtype (subtype NULL = any) above part i, or -1. */
int mime_ancestor(const struct mime_msg *m, size_t i, const char *type, const char *subtype);

/* ---- charset.c ---- */
/* Convert to UTF-8 into the arena; unknown charsets are treated as Latin-1 when the bytes
 * are not valid UTF-8. Never fails on bad bytes (U+FFFD). */
bnc_status charset_to_utf8(struct arena *a, const char *charset, size_t charset_len, const char *in,
                           size_t inlen, struct bnc_slice *out);

/* ---- status_code.c ---- */
/* Validate an RFC 3463 code at the start of s; writes "c.s.d" to out. */
bool status_code_parse(const char *s, size_t len, char out[16], size_t *consumed_out);
/* Find the first enhanced status code and/or SMTP reply code in free text such as
 * "smtp; 550 5.1.1 <x@y>: user unknown". Either output may be left "". */
void status_code_from_text(const char *s, size_t len, char status_out[16], char reply_out[4]);

/* ---- dates (date.c) ---- */
/* Parse an RFC 5322 date-time (lenient: optional weekday, 2- or 4-digit year, optional
 * seconds, numeric or named zone, trailing comments) to Unix seconds; false when the text
 * is not a date. Bounded: looks at most at the first 128 bytes. */
bool date_parse(const char *s, size_t len, int64_t *out);

/* ---- dsn.c ---- */
/* Parse the fields of a message/delivery-status body (already transfer-decoded) and add one
 * recipient per per-recipient group to the report. Returns how many recipients it added. */
size_t dsn_parse_fields(struct bnc_report *r, const char *p, size_t n);

/* ---- formats/amazonses.c: Amazon SES notifications, by mail and by webhook alike ---- */
enum ses_judgement { SES_PERMANENT, SES_TRANSIENT, SES_UNDETERMINED, SES_COMPLAINT, SES_DELIVERED };
/* One recipient event of a notification; strings borrowed for the callback only. */
struct ses_event {
    enum ses_judgement judgement; /* bounceType Permanent / Transient / Undetermined, ... */
    const char *email;
    const char *status;        /* bouncedRecipients[].status, "" */
    const char *diagnostic;    /* diagnosticCode or smtpResponse, "" */
    const char *reporting_mta; /* "" */
    const char *feedback_type; /* complaintFeedbackType, "" */
    const char *message_id;    /* mail.messageId, "" */
    const char *timestamp;     /* of the bounce, complaint, delivery or delay, "" */
    const char *why;           /* "Permanent/General", "Complaint", "DeliveryDelay/...", ... */
    bnc_reason hint;           /* the reason the bounceSubType names, or UNDEFINED */
};
typedef void (*ses_event_fn)(void *ud, const struct ses_event *e);
enum ses_result {
    SES_INVALID = 0, /* not a JSON object (or nested deeper than max_depth): err says why */
    SES_HANDSHAKE,   /* an SNS SubscriptionConfirmation / UnsubscribeConfirmation */
    SES_FOREIGN,     /* an SNS Notification whose Message is not SES JSON */
    SES_RECORD       /* an SES record: fn was called for each recipient event it has */
};
/* Decode one SES notification (SNS-wrapped: Type Notification with the record as a JSON
 * string in Message; or the record itself, notificationType or eventType). Pure. */
enum ses_result ses_decode(const char *json, size_t len, size_t max_depth, ses_event_fn fn,
                           void *ud, char *err, size_t errlen);
/* Deepest nesting of JSON text, counted outside strings on bytes not trusted to be JSON. */
size_t json_text_depth(const char *p, size_t n);

/* ---- textscan.c ---- */
/* First ASCII case-insensitive occurrence of needle in hay, or NULL; linear time (each byte
 * is passed at most twice however many partial matches there are). */
const char *text_find_ci(const char *hay, size_t hlen, const char *needle, size_t nlen);
/* Start of the first line of p[0..n) that contains one of `markers` (case-insensitive),
 * or NULL. Only lines holding one of `keys` are examined (every marker must contain a
 * key), so a few linear passes replace one pass per marker. */
const char *text_find_marker_line(const char *p, size_t n, const char *const *keys, size_t nkeys,
                                  const char *const *markers, size_t nmarkers);

/* ---- formats/scan.c ---- */
/* Start of the first line of p[0..n) that holds a marker of an inline copy of the returned
 * message ("Original message headers:", "Content-Type: message/rfc822", ...; ASCII
 * case-insensitive), or NULL. One pass over the text for all the markers. Thread-safe. */
const char *parse_orig_marker_line(const char *p, size_t n);

/* ---- fallback.c ---- */
/* Last resort when nothing found a recipient: X-Failed-Recipients and addresses named in
 * the human-readable text (origin "text", BNC_PF_HEURISTIC). Only for bounce-looking
 * messages; called by message.c after formats_apply(). */
void parse_fallback(struct bnc_report *r);

/* ---- vendor vocabularies ---- */
/* PowerMTA's bounce category ("bad-mailbox", "quota-issues", ...; case-insensitive, white
 * space around ignored): true with the reason it names (UNDEFINED for "other"), false for a
 * category it does not know. Used for the accounting log and the X-PowerMTA-BounceCategory
 * header of its DSNs. */
bool parse_pmta_category(const char *s, size_t n, bnc_reason *out);

/* ---- addresses ---- */
/* Extract and normalise an address (strip "rfc822;", angle brackets, comments; lower-case;
 * decode VERP "bounces+user=example.com@..." forms); NULL when not an address. */
const char *addr_normalize(struct bnc_report *r, const char *p, size_t n);
/* The same for a value that is an address field (DSN recipient fields, log and webhook
 * recipients): a one-label domain ("user@localhost") is accepted. */
const char *addr_normalize_field(struct bnc_report *r, const char *p, size_t n);

/* ---- non-RFC formats, ARF, auto-replies (formats/, arf.c, autoreply.c) ---- */
/* Called once by message.c after the standard DSN walk, whether or not it found recipients.
 * May add recipients, fill fields a DSN lacked, and set reason_hint/origin. */
void formats_apply(struct bnc_report *r);

/* Is the message a read receipt: an RFC 8098 disposition notification whose Disposition is
 * displayed, dispatched or processed? A Sieve reject (RFC 5429, "...; deleted") and an MDN
 * without a readable Disposition are not. (message.c) */
bool message_is_read_receipt(struct bnc_report *r);

#endif
