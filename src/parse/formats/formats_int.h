/*
 * formats_int.h - shared internals of the non-RFC bounce recognizers (src/parse/formats/),
 * ARF (arf.c) and auto-replies (autoreply.c).
 *
 * formats_apply() builds one struct fmt_msg per message (the human-readable text of the
 * bounce, cut before the returned copy; the family picked from cheap signals) and hands it
 * to the family's extractor or to the generic block extractor.
 * Ownership: every slice points into the report's arena and dies with the report.
 */
#ifndef BNC_PARSE_FORMATS_INT_H
#define BNC_PARSE_FORMATS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse/parse.h"

struct fmt_family;

/* Phrase ids of the one-pass scan (scan.c): groups at fixed bases. */
#define FMT_SCAN_CUT    0   /* lines that start the returned message */
#define FMT_SCAN_DELAY  32  /* delay warnings */
#define FMT_SCAN_INTRO  64  /* "the following recipients" lines */
#define FMT_SCAN_JSON   88  /* keys of ESP notifications in JSON */
#define FMT_SCAN_FAMILY 96  /* family signature sentences, by index in the family table */
#define FMT_SCAN_HEADER 176 /* "\\nName:" of each family's header signature, same index */
#define FMT_SCAN_CMD    256 /* phrases naming the SMTP command a reply answered */
#define FMT_NEEDLES_MAX 320

struct fmt_scan {
    int32_t at[FMT_NEEDLES_MAX]; /* first offset of each phrase in the text, -1 if absent */
};

/* Which phrases the decoded From and Subject hold (scan.c, fmt_scan_fields): bit sets by id.
 * From ids: FMT_F_SENDER + i (a bounce sender's name), FMT_F_FAMILY + i (family i's From).
 * Subject ids: FMT_S_BOUNCE + i (a bounce subject), FMT_S_DELAY + i (a delay warning),
 * FMT_S_FAMILY + i (family i's Subject). */
#define FMT_F_SENDER   0
#define FMT_F_FAMILY   64
#define FMT_S_BOUNCE   0
#define FMT_S_DELAY    64
#define FMT_S_FAMILY   96
#define FMT_FIELDS_MAX 192
struct fmt_fields {
    uint64_t from[FMT_FIELDS_MAX / 64];
    uint64_t subj[FMT_FIELDS_MAX / 64];
};

static inline bool
fmt_fields_has(const uint64_t *set, size_t id)
{
    return id < FMT_FIELDS_MAX && (set[id / 64] >> (id % 64) & 1u) != 0;
}

static inline bool
fmt_fields_any(const uint64_t *set, size_t base, size_t count)
{
    size_t i;
    for (i = base; i < base + count; i++) {
        if (fmt_fields_has(set, i)) {
            return true;
        }
    }
    return false;
}

struct fmt_msg {
    struct bnc_report *r;
    struct bnc_slice text; /* bounce text (UTF-8), before the returned message */
    const struct fmt_family *family;
    bool delayed;             /* the text is a delay warning, not a final failure */
    int bounce_score;         /* > 0: looks like a bounce (sender, subject, structure) */
    const char *origin;       /* "format:<family>" or "format:heuristic" */
    struct fmt_scan scan;     /* phrase offsets in the (uncut) text */
    size_t scanned;           /* how many bytes of text the scan covered */
    struct fmt_fields fields; /* phrases of the decoded From and Subject */
    struct fmt_scan hscan;    /* the same over the top header block (header signatures) */
    const char *bounce_to;    /* the bounce's own To (the original sender), or NULL */
    const char *orig_rpath; /* the returned message's Return-Path (its envelope sender), or NULL */
};

/* A bounce family: matched by cheap signals, optionally with its own extractor. */
struct fmt_family {
    const char *name;
    const char *from;    /* substring of From (case-insensitive), or NULL */
    const char *subject; /* substring of Subject, or NULL */
    const char *body;    /* substring of the bounce text, or NULL */
    const char *header;  /* "Name" or "Name: value-substring" of the top header, or NULL */
    /* Add recipients from the text; returns how many. NULL: the generic extractor. */
    size_t (*extract)(struct fmt_msg *m);
    bnc_reason hint; /* a reason the format itself states for every recipient, or UNDEFINED */
    /* what the classifier must know of the format (BNC_FT_*, parse.h) */
    unsigned traits;
};

/* ---- formats.c: helpers the family extractors share ---- */
/* Case-insensitive (ASCII) search, linear in hlen; NULL when absent. */
const char *fmt_find_ci(const char *hay, size_t hlen, const char *needle, size_t nlen);
/* Find the next address in [p, end): s_out and n_out give the addr-spec; false when none. */
bool fmt_find_addr(const char *p, const char *end, const char **s_out, size_t *n_out);
/* Add (or find, when already present) a recipient; NULL past the limit or for a bad address. */
struct bnc_rcpt *fmt_rcpt(struct fmt_msg *m, const char *addr, size_t n);
/* Fill diagnostic, status, reply code and SMTP command of rc from text[0..n). */
void fmt_set_diag(struct fmt_msg *m, struct bnc_rcpt *rc, const char *p, size_t n);
/* Is this address one of the sender's or the bounce's own (never a failed recipient)? */
bool fmt_is_self(const struct fmt_msg *m, const char *addr);
/* MAILER-DAEMON, postmaster and the like: never a failed recipient. */
bool fmt_is_daemon(const char *addr);
/* The generic extractor (also the heuristic for unknown MTAs). */
size_t fmt_generic(struct fmt_msg *m);

/* ---- families.c ---- */
const struct fmt_family *fmt_pick_family(const struct fmt_msg *m);
/* Does the text hold an MTA's own fixed bounce sentence ("This is the qmail-send program",
 * "This message was created automatically by mail delivery software", ...)? Only the long
 * sentences of families named by their text alone count, not a product name. */
bool fmt_text_says_bounce(const struct fmt_msg *m);
const struct fmt_family *fmt_families(size_t *n_out); /* the whole table */

/* ---- scan.c ---- */
/* One pass over p[0..n): fills s->at for every phrase. Thread-safe. */
void fmt_scan_text(const char *p, size_t n, struct fmt_scan *s);
/* The same for the header-field phrases (FMT_SCAN_HEADER ids) over a header block. */
void fmt_scan_header(const char *p, size_t n, struct fmt_scan *s);
/* One pass over the decoded From and Subject together (NULL: ""), for the fmt_fields phrases. */
void fmt_scan_fields(const char *from, const char *subject, struct fmt_fields *out);
/* Build the phrase databases now, through the compiled-database cache in cache_dir (NULL:
 * none); a later call does nothing. */
void fmt_scan_prepare(const char *cache_dir);
/* How many phrases the group at base holds: FMT_F_SENDER (From), FMT_S_BOUNCE or FMT_S_DELAY
 * (subject true). */
size_t fmt_fields_count(bool subject, size_t base);
/* Lowest offset below limit among ids [base, base+count), or -1. */
int32_t fmt_scan_first(const struct fmt_scan *s, size_t base, size_t count, int32_t limit);
size_t fmt_scan_count(int group); /* phrases in FMT_SCAN_CUT, _DELAY, _INTRO, _JSON or _CMD */
/* The SMTP command phrases, in priority order (id FMT_SCAN_CMD + i), and the command each
 * one names ("DATA", "RCPT", ...). */
const char *fmt_scan_cmd_phrase(size_t i);
const char *fmt_scan_cmd_name(size_t i);
/* Which of those phrases occur whole in p[0..n) (a short window): bit i for phrase i, in one
 * pass. Thread-safe. */
uint64_t fmt_scan_cmd_set(const char *p, size_t n);

/* ---- amazonses.c ---- */
/* True when the message is an Amazon SES JSON notification (bounce, complaint, delivery);
 * its recipients are added. */
bool ses_json_apply(struct bnc_report *r);

/* ---- arf.c (RFC 5965) ---- */
/* True when the report is an ARF feedback report; adds the complaint recipient(s). */
bool arf_apply(struct bnc_report *r);

/* ---- autoreply.c (RFC 3834) ---- */
/* True when the message is an auto-reply (vacation, out of office); adds one recipient with
 * reason_hint vacation. Never called for messages with delivery-status recipients. */
bool autoreply_apply(struct bnc_report *r);

#endif
