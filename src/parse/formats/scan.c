/*
 * scan.c - one pass over a bounce text for every fixed phrase the recognizers look for: the
 * lines that start the returned message, the sentences of delay warnings, the lines that
 * announce a recipient list, each family's signature sentence, and the phrases that name the
 * SMTP command a reply answered.
 *
 * The phrases are compiled once per process into a Vectorscan literal database (caseless,
 * single match, block mode; the same engine and flags as the classification rules), so a
 * message costs one scan instead of one search per phrase. The compiled databases are kept
 * in the rules cache (parse/hsdb.c, core/load.c) when a ctx names one (fmt_scan_prepare()).
 * The scan records where each phrase first occurs. Two small databases answer narrower
 * questions in one pass each: which command phrases a short window of a recipient's block
 * holds (fmt_scan_cmd_set), and where the first marker of an inline returned message lies in
 * a text part (parse_orig_marker_line, for message.c). Scratch space is per thread.
 * Doesn't: decide anything; formats.c and families.c read the offsets. When the database
 * cannot be built (it can only fail on a programming error) each phrase is searched one by
 * one instead, with the same results, and parse_tables_problem() says what went wrong
 * (nothing here prints: the ctx passes it on as its message).
 * STANDARDS: none.
 * LIMITS: FMT_NEEDLES_MAX phrases; the text is at most the bounce-text cap of formats.c.
 * Ownership: the database is process-global and immutable after the first use.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <hs/hs.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "parse/formats/formats_int.h"
#include "parse/hsdb.h"
#include "parse/parse.h"

/* Lines that start the returned copy of the original message. */
static const char *const scan_cut[] = {
    "--- Below this line is a copy of the message",
    "------ This is a copy of the message",
    "----- Original message -----",
    "------ Original message ------",
    "--- Original message follows",
    "----- Original message follows",
    "original message follow", /* "follows", and "The first 50 lines of your original message follow:" */
    "----- Unsent message follows -----",
    "--- The header of the original message is following",
    "------ Message header follows ------",
    "Original message headers:",
    "Undelivered Message Headers",
    "----- The following is a copy of the message",
    "--- Returned message ---",
    "Content-Type: message/rfc822",
    "Content-Type: text/rfc822-headers",
};

/* Lines after which a text part carries an inline copy of the returned message's header
 * (parse_orig_marker_line(), for message.c). */
static const char *const scan_orig[] = {
    "This is a copy of the message, including all the headers",
    "Below this line is a copy of the message",
    "original message follows",
    "Original message headers:",
    "----- Original message -----",
    "------ Original message ------",
    "The header of the original message is following",
    "Content-Type: message/rfc822",
    "Content-Type: text/rfc822-headers",
    "Undelivered Message Headers",
    "--- The message header follows ---",
    "Returned mail follows",
    "----- Unsent message follows -----",
    "------ Message header follows ------",
};

/* A warning that delivery is still being tried. */
static const char *const scan_delay[] = {
    "has not yet been delivered",
    "has been delayed",
    "WARNING MESSAGE ONLY",
    "Delay reason:",
    "delivery is delayed",
    "will be retried",
    "still trying",
    "will continue trying",
    "will keep trying",
    "not been delivered yet",
    "Warning: message",
    "delivery temporarily suspended",
    "attempts will continue",
    "will continue to try",
    "has been postponed",
    "advisory-only",
    "WARNING ONLY",
    "will retry for", /* Gmail: "... Gmail will retry for 46 more hours." */
    "temporary problem delivering your message",
};

/* A line announcing a list of failed recipients. */
static const char *const scan_intro[] = {
    "following recipient",
    "following address",
    "did not reach the following",
    "was not delivered to:",
    "could not be delivered to:",
    "delivery to the following",
    "undeliverable to the following",
    "failed to the following",
};

/* What the MTA says it was doing when the remote answered, first; then a session transcript.
 * The first that occurs near a reply names the command (formats.c). */
static const struct {
    const char *phrase;
    const char *cmd;
} scan_cmd[] = {
    {"end of DATA", "DATA"},
    {"after DATA", "DATA"},
    {"after end of data", "DATA"},
    {"reply to DATA", "DATA"},
    {"after MAIL FROM", "MAIL"},
    {"reply to MAIL FROM", "MAIL"},
    {"after RCPT TO", "RCPT"},
    {"reply to RCPT TO", "RCPT"},
    {"after RCPT", "RCPT"}, /* Exim 3/4: "after RCPT command", "after RCPT TO:<a@b>" */
    {"RCPT command", "RCPT"},
    {"did not like our RCPT", "RCPT"}, /* DMA (net.c): "did not like our connect:", ... */
    {"did not like our connect", "CONN"},
    {"did not like our MAIL", "MAIL"},
    {"did not like our final DATA", "DATA"},
    {"did not like our DATA", "DATA"},
    {"does not like recipient", "RCPT"},
    {"RCPT_TO", "RCPT"},
    {"SMTP:RCPT", "RCPT"},
    {"after pipelined MAIL", "MAIL"},
    {"after MAIL", "MAIL"},
    {"reply to HELO", "HELO"},
    {"after HELO", "HELO"},
    {"after EHLO", "EHLO"},
    {"reply to EHLO", "EHLO"},
    {"after initial connection", "CONN"},
    {"refused to talk to me", "CONN"}, /* Postfix: the greeting was a refusal */
    {"initial greeting", "CONN"},
    {"but my name was rejected", "HELO"},
    {">>> DATA", "DATA"},
    {">>> EHLO", "EHLO"}, /* Sendmail's transcript: the command the reply answered */
    {">>> HELO", "HELO"},
    {"RCPT TO", "RCPT"},
    {"MAIL FROM", "MAIL"},
};

/* The decoded From of a bounce (a delivery daemon's name) and its Subject, in several
 * languages; then the Subject of a delay warning. */
static const char *const scan_senders[] = {
    "mailer-daemon", "postmaster",  "mail delivery", "mail-daemon", "maildaemon", "mailer_daemon",
    "mdaemon",       "post_master", "delivery",      "bounce",      "nobody@"};
static const char *const scan_subjects[] = {
    "undeliver", "undelivered", "delivery status", "delivery fail", "delivery notification",
    "failure notice", "returned mail", "mail delivery", "delivery problem", "failed mail",
    "could not send", "not delivered", "non remis", "unzustellbar", "nicht zustellbar",
    "non recapitabile", "no entregado", "message not delivered", "rejected", "delivery report",
    "warning: could not", "delayed mail", "delivery delayed", "mail system error",
    "returned to sender", "error sending", "nondeliverable", "undeliverable", "user unknown",
    "mail failure", "delivery has failed", "failed delivery",
    "\xe9\x85\x8d\xe4\xbf\xa1",             /* 配信 (delivery) */
    "\xe3\x82\xa8\xe3\x83\xa9\xe3\x83\xbc", /* エラー (error) */
    "\xe4\xb8\x8d\xe9\x81\x94",             /* 不達 (undelivered) */
    "\xd0\xbd\xd0\xb5 "
    "\xd0\xb4\xd0\xbe\xd1\x81\xd1\x82\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd\xd0"
    "\xbe", /* не доставлено */
    /* the subjects of localized Exchange/Outlook non-delivery reports */
    "onbestelbaar", "n\xc3\xa3o entregue",         /* não entregue */
    "no se puede entregar", "nedoru\xc4\x8diteln", /* nedoručitelné */
    "k\xc3\xa9zbes\xc3\xadthetetlen",              /* kézbesíthetetlen */
    "niedostarczon", "olevererbar", "kan ikke leveres", "ei voitu toimittaa", "teslim edilemedi",
    "\xe6\x97\xa0\xe6\xb3\x95\xe6\x8a\x95\xe9\x80\x92", /* 无法投递 */
    "\xe7\x84\xa1\xe6\xb3\x95\xe5\x82\xb3\xe9\x81\x9e", /* 無法傳遞 */
    "\xe9\x80\x80\xe4\xbf\xa1",                         /* 退信 (returned mail) */
    "\xeb\xb0\xb0\xeb\x8b\xac\xeb\x90\x98\xec\xa7\x80 \xec\x95\x8a\xec\x9d\x8c", /* 배달되지 않음 */
};

static const char *const scan_dsubjects[] = {"delayed", "delay)", "delivery warning",
                                             "warning: could not"};

#define SCAN_NSEND  (sizeof(scan_senders) / sizeof(scan_senders[0]))
#define SCAN_NSUBJ  (sizeof(scan_subjects) / sizeof(scan_subjects[0]))
#define SCAN_NDSUBJ (sizeof(scan_dsubjects) / sizeof(scan_dsubjects[0]))
_Static_assert(SCAN_NSUBJ <= FMT_S_DELAY - FMT_S_BOUNCE, "bounce subjects overflow their ids");
_Static_assert(SCAN_NDSUBJ <= FMT_S_FAMILY - FMT_S_DELAY, "delay subjects overflow their ids");
_Static_assert(SCAN_NSEND <= FMT_F_FAMILY - FMT_F_SENDER, "bounce senders overflow their ids");

/* Keys of ESP notifications sent as JSON. */
static const char *const scan_json[] = {"notificationType", "eventType"};

#define SCAN_NJSON  (sizeof(scan_json) / sizeof(scan_json[0]))
#define SCAN_NCUT   (sizeof(scan_cut) / sizeof(scan_cut[0]))
#define SCAN_NDELAY (sizeof(scan_delay) / sizeof(scan_delay[0]))
#define SCAN_NINTRO (sizeof(scan_intro) / sizeof(scan_intro[0]))
#define SCAN_NCMD   (sizeof(scan_cmd) / sizeof(scan_cmd[0]))
#define SCAN_NORIG  (sizeof(scan_orig) / sizeof(scan_orig[0]))
/* each group fits below the next group's base (struct fmt_scan holds FMT_NEEDLES_MAX ids) */
_Static_assert(SCAN_NCUT <= FMT_SCAN_DELAY - FMT_SCAN_CUT, "cut phrases overflow their ids");
_Static_assert(SCAN_NDELAY <= FMT_SCAN_INTRO - FMT_SCAN_DELAY, "delay phrases overflow their ids");
_Static_assert(SCAN_NINTRO <= FMT_SCAN_JSON - FMT_SCAN_INTRO, "intro phrases overflow their ids");
_Static_assert(SCAN_NJSON <= FMT_SCAN_FAMILY - FMT_SCAN_JSON, "JSON keys overflow their ids");
_Static_assert(SCAN_NCMD <= FMT_NEEDLES_MAX - FMT_SCAN_CMD, "command phrases overflow their ids");

static const char *scan_text_of[FMT_NEEDLES_MAX]; /* id -> phrase (NULL: unused id) */
static size_t scan_len_of[FMT_NEEDLES_MAX];       /* id -> strlen of the phrase */
static size_t scan_nids;
/* the From and Subject phrases, by fmt_fields id; and their databases */
static const char *scan_from_of[FMT_FIELDS_MAX], *scan_subj_of[FMT_FIELDS_MAX];
/* one database of both: id i a From phrase, FMT_FIELDS_MAX + i a Subject phrase (every
 * match reported, not only the first, so that each field's own are told apart by offset) */
#define SCAN_FS_MAX (2 * FMT_FIELDS_MAX)
static const char *scan_fs_of[SCAN_FS_MAX];
static size_t scan_fs_len[SCAN_FS_MAX];
static hs_database_t *scan_fsdb;
/* the largest table a database is compiled from */
#define SCAN_TABLE_MAX (SCAN_FS_MAX > FMT_NEEDLES_MAX ? SCAN_FS_MAX : FMT_NEEDLES_MAX)
/* the SMTP command phrases by index, and their database (scanned over short windows) */
static const char *scan_cmd_of[FMT_FIELDS_MAX];
static hs_database_t *scan_cdb;
/* the returned-message markers by index, and their database */
static const char *scan_orig_of[FMT_FIELDS_MAX];
static hs_database_t *scan_odb;
_Static_assert(SCAN_NCMD <= 64, "the command phrases overflow their bit set");
/* two databases: the phrases of the bounce text, and the header-field names of the family
 * signatures (scanned over the top header block only) */
static hs_database_t *scan_db, *scan_hdb;
static pthread_once_t scan_once = PTHREAD_ONCE_INIT;
/* the compiled-database cache the build uses: set by fmt_scan_prepare() around the build */
static const char *_Atomic scan_cache_dir;
/* what went wrong in the build (first problem), "" when nothing did; written once, inside
 * scan_once, and read after it */
static char scan_problem[256];
static _Thread_local hs_scratch_t *scan_scratch;
/* Frees a thread's scratch when the thread exits (daemon workers, HTTP pool threads). */
static pthread_key_t scan_tls_key;
static pthread_once_t scan_tls_once = PTHREAD_ONCE_INIT;

static void
scan_tls_free(void *p)
{
    hs_free_scratch(p);
}

static void
scan_tls_init(void)
{
    (void)pthread_key_create(&scan_tls_key, scan_tls_free);
}

static bool
scan_scratch_get(void)
{
    if (scan_scratch != NULL) {
        return true;
    }
    if (hs_alloc_scratch(scan_db, &scan_scratch) != HS_SUCCESS ||
        (scan_hdb != NULL && hs_alloc_scratch(scan_hdb, &scan_scratch) != HS_SUCCESS) ||
        (scan_fsdb != NULL && hs_alloc_scratch(scan_fsdb, &scan_scratch) != HS_SUCCESS) ||
        (scan_cdb != NULL && hs_alloc_scratch(scan_cdb, &scan_scratch) != HS_SUCCESS) ||
        (scan_odb != NULL && hs_alloc_scratch(scan_odb, &scan_scratch) != HS_SUCCESS)) {
        return false;
    }
    (void)pthread_once(&scan_tls_once, scan_tls_init);
    (void)pthread_setspecific(scan_tls_key, scan_scratch);
    return true;
}

static char *
scan_literal_expr(const char *s)
{
    struct buf b;
    buf_init(&b, 0);
    for (; *s; s++) {
        hsdb_literal_byte(&b, (unsigned char)*s);
    }
    return buf_take(&b);
}

static bool
scan_is_header_id(size_t id)
{
    return id >= FMT_SCAN_HEADER && id < FMT_SCAN_CMD;
}

/* A database of the phrases text_of[0..n) (NULL entries skipped), id = index; single-match
 * unless every match is wanted (all). */
static hs_database_t *
scan_compile_table(const char *const *text_of, size_t n, bool all)
{
    char *exprs[SCAN_TABLE_MAX] = {NULL};
    unsigned flags[SCAN_TABLE_MAX] = {0}, ids[SCAN_TABLE_MAX] = {0};
    size_t i, ne = 0;
    hs_database_t *db = NULL;
    hs_compile_error_t *ce = NULL;

    for (i = 0; i < n && i < SCAN_TABLE_MAX; i++) {
        if (text_of[i] == NULL || text_of[i][0] == '\0') {
            continue;
        }
        exprs[ne] = scan_literal_expr(text_of[i]);
        flags[ne] = all ? HS_FLAG_CASELESS : HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH;
        ids[ne] = (unsigned)i;
        ne++;
    }
    if (ne > 0 && hsdb_compile_multi(scan_cache_dir, (const char *const *)exprs, flags, ids,
                                     (unsigned)ne, &db, &ce) != HS_SUCCESS) {
        if (scan_problem[0] == '\0') {
            snprintf(scan_problem, sizeof(scan_problem), "phrase database: %s",
                     ce ? ce->message : "?");
        }
        hs_free_compile_error(ce);
        db = NULL;
    }
    for (i = 0; i < ne; i++) {
        free(exprs[i]);
    }
    return db;
}

static void
scan_build_fields(const struct fmt_family *fam, size_t nf)
{
    size_t i;
    for (i = 0; i < SCAN_NSEND; i++) {
        scan_from_of[FMT_F_SENDER + i] = scan_senders[i];
    }
    for (i = 0; i < SCAN_NSUBJ; i++) {
        scan_subj_of[FMT_S_BOUNCE + i] = scan_subjects[i];
    }
    for (i = 0; i < SCAN_NDSUBJ; i++) {
        scan_subj_of[FMT_S_DELAY + i] = scan_dsubjects[i];
    }
    if (FMT_S_FAMILY + nf > FMT_FIELDS_MAX && scan_problem[0] == '\0') {
        snprintf(scan_problem, sizeof(scan_problem), "%zu families, only %d fit the field phrases",
                 nf, FMT_FIELDS_MAX - FMT_S_FAMILY);
    }
    for (i = 0; i < nf && FMT_F_FAMILY + i < FMT_FIELDS_MAX; i++) {
        scan_from_of[FMT_F_FAMILY + i] = fam[i].from;
    }
    for (i = 0; i < nf && FMT_S_FAMILY + i < FMT_FIELDS_MAX; i++) {
        scan_subj_of[FMT_S_FAMILY + i] = fam[i].subject;
    }
    for (i = 0; i < FMT_FIELDS_MAX; i++) {
        scan_fs_of[i] = scan_from_of[i];
        scan_fs_of[FMT_FIELDS_MAX + i] = scan_subj_of[i];
    }
    for (i = 0; i < SCAN_FS_MAX; i++) {
        scan_fs_len[i] = scan_fs_of[i] != NULL ? strlen(scan_fs_of[i]) : 0;
    }
    scan_fsdb = scan_compile_table(scan_fs_of, SCAN_FS_MAX, true);
    for (i = 0; i < SCAN_NCMD; i++) {
        scan_cmd_of[i] = scan_cmd[i].phrase;
    }
    scan_cdb = scan_compile_table(scan_cmd_of, FMT_FIELDS_MAX, false);
    for (i = 0; i < SCAN_NORIG; i++) {
        scan_orig_of[i] = scan_orig[i];
    }
    scan_odb = scan_compile_table(scan_orig_of, FMT_FIELDS_MAX, false);
}

/* The database of the header-field phrases (header) or of all the others. */
static hs_database_t *
scan_compile(bool header)
{
    const char *sel[FMT_NEEDLES_MAX];
    size_t i;
    for (i = 0; i < FMT_NEEDLES_MAX; i++) {
        sel[i] = scan_is_header_id(i) == header ? scan_text_of[i] : NULL;
    }
    return scan_compile_table(sel, FMT_NEEDLES_MAX, false);
}

static void
scan_build(void)
{
    size_t i, nf = 0;
    const struct fmt_family *fam = fmt_families(&nf);

    for (i = 0; i < SCAN_NCUT; i++) {
        scan_text_of[FMT_SCAN_CUT + i] = scan_cut[i];
    }
    for (i = 0; i < SCAN_NDELAY; i++) {
        scan_text_of[FMT_SCAN_DELAY + i] = scan_delay[i];
    }
    for (i = 0; i < SCAN_NINTRO; i++) {
        scan_text_of[FMT_SCAN_INTRO + i] = scan_intro[i];
    }
    for (i = 0; i < SCAN_NJSON; i++) {
        scan_text_of[FMT_SCAN_JSON + i] = scan_json[i];
    }
    for (i = 0; i < SCAN_NCMD && FMT_SCAN_CMD + i < FMT_NEEDLES_MAX; i++) {
        scan_text_of[FMT_SCAN_CMD + i] = scan_cmd[i].phrase;
    }
    for (i = 0; i < nf && FMT_SCAN_FAMILY + i < FMT_SCAN_HEADER; i++) {
        scan_text_of[FMT_SCAN_FAMILY + i] = fam[i].body;
    }
    for (i = 0; i < nf && FMT_SCAN_HEADER + i < FMT_SCAN_CMD; i++) {
        /* "\nName:" - the field name of a header signature, at a line start */
        const char *h = fam[i].header, *colon;
        size_t n;
        char *t;
        if (h == NULL) {
            continue;
        }
        colon = strchr(h, ':');
        n = colon ? (size_t)(colon - h) : strlen(h);
        t = xmalloc(n + 3); /* lives as long as the process, like the database */
        t[0] = '\n';
        memcpy(t + 1, h, n);
        t[n + 1] = ':';
        t[n + 2] = '\0';
        scan_text_of[FMT_SCAN_HEADER + i] = t;
    }
    scan_nids = FMT_NEEDLES_MAX;
    for (i = 0; i < FMT_NEEDLES_MAX; i++) {
        scan_len_of[i] = scan_text_of[i] != NULL ? strlen(scan_text_of[i]) : 0;
    }
    scan_db = scan_compile(false);
    scan_hdb = scan_compile(true);
    scan_build_fields(fam, nf);
    if (scan_db == NULL || scan_hdb == NULL || scan_fsdb == NULL || scan_cdb == NULL ||
        scan_odb == NULL) {
        /* all or none: the fallback searches every phrase one by one */
        hs_free_database(scan_db);
        hs_free_database(scan_hdb);
        hs_free_database(scan_fsdb);
        hs_free_database(scan_cdb);
        hs_free_database(scan_odb);
        scan_db = scan_hdb = scan_fsdb = scan_cdb = scan_odb = NULL;
    }
}

void
fmt_scan_prepare(const char *cache_dir)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

    pthread_mutex_lock(&mu);
    scan_cache_dir = cache_dir;
    (void)pthread_once(&scan_once, scan_build);
    scan_cache_dir = NULL;
    pthread_mutex_unlock(&mu);
}

const char *
parse_tables_problem(void)
{
    (void)pthread_once(&scan_once, scan_build);
    return scan_problem[0] != '\0' ? scan_problem : NULL;
}

/* Where each phrase of a table first occurs in a scanned text: at[id] (-1 when absent). */
struct scan_hits {
    const char *const *text_of; /* id -> phrase (NULL: unused id) */
    const size_t *len_of;       /* id -> its length, when the table has one (else NULL) */
    size_t n;                   /* ids in the table */
    int32_t *at;
};

static int
scan_on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int fl,
              void *ctx)
{
    struct scan_hits *h = ctx;
    size_t len;
    (void)from;
    (void)fl;
    if (id < h->n && h->text_of[id] != NULL) {
        len = h->len_of != NULL ? h->len_of[id] : strlen(h->text_of[id]);
        if (to >= len && (h->at[id] < 0 || (long long)(to - len) < h->at[id])) {
            h->at[id] = (int32_t)(to - len);
        }
    }
    return 0;
}

static void
scan_run(bool header, const char *p, size_t n, struct fmt_scan *s)
{
    size_t i;

    (void)pthread_once(&scan_once, scan_build);
    for (i = 0; i < FMT_NEEDLES_MAX; i++) {
        s->at[i] = -1;
    }
    if (n > INT32_MAX) {
        n = INT32_MAX;
    }
    if (scan_db != NULL && scan_scratch_get()) {
        struct scan_hits h = {scan_text_of, scan_len_of, FMT_NEEDLES_MAX, s->at};
        if (hs_scan(header ? scan_hdb : scan_db, p, (unsigned)n, 0, scan_scratch, scan_on_match,
                    &h) == HS_SUCCESS) {
            return;
        }
    }
    /* fallback: one search per phrase */
    for (i = 0; i < scan_nids; i++) {
        const char *t = scan_text_of[i], *hit;
        if (t == NULL || t[0] == '\0' || scan_is_header_id(i) != header) {
            continue;
        }
        hit = fmt_find_ci(p, n, t, strlen(t));
        s->at[i] = hit ? (int32_t)(hit - p) : -1;
    }
}

static int
scan_on_field(unsigned int id, unsigned long long from, unsigned long long to, unsigned int fl,
              void *ctx)
{
    uint64_t *set = ctx;
    (void)from;
    (void)to;
    (void)fl;
    if (id < FMT_FIELDS_MAX) {
        set[id / 64] |= (uint64_t)1 << (id % 64);
    }
    return 0;
}

/* Which phrases of text_of (a FMT_FIELDS_MAX table, db its database) occur in v[0..n): bits
 * of set by id. */
static void
scan_field(hs_database_t *db, const char *const *text_of, const char *v, size_t n, uint64_t *set)
{
    size_t i;

    memset(set, 0, FMT_FIELDS_MAX / 8);
    if (n == 0) {
        return;
    }
    if (n > INT32_MAX) {
        n = INT32_MAX;
    }
    if (db != NULL && scan_scratch_get() &&
        hs_scan(db, v, (unsigned)n, 0, scan_scratch, scan_on_field, set) == HS_SUCCESS) {
        return;
    }
    memset(set, 0, FMT_FIELDS_MAX / 8);
    for (i = 0; i < FMT_FIELDS_MAX; i++) {
        const char *t = text_of[i];
        if (t != NULL && t[0] != '\0' && fmt_find_ci(v, n, t, strlen(t)) != NULL) {
            set[i / 64] |= (uint64_t)1 << (i % 64);
        }
    }
}

/* The From and Subject phrases of one scan of "From\nSubject": a match wholly before the
 * separator is in From, one wholly after it in Subject (none holds a line break, and one
 * across the separator is neither's). */
struct scan_fs {
    size_t from_len; /* the separator's offset; SIZE_MAX: the text is Subject alone */
    size_t subj_at;  /* where Subject starts */
    struct fmt_fields *out;
};

static int
scan_on_fs(unsigned int id, unsigned long long from, unsigned long long to, unsigned int fl,
           void *ctx)
{
    struct scan_fs *f = ctx;
    size_t len;
    (void)from;
    (void)fl;
    if (id >= SCAN_FS_MAX) {
        return 0;
    }
    len = scan_fs_len[id];
    if (id < FMT_FIELDS_MAX) {
        if (f->from_len != SIZE_MAX && to <= f->from_len) {
            f->out->from[id / 64] |= (uint64_t)1 << (id % 64);
        }
    } else if (to >= len && to - len >= f->subj_at) {
        id -= FMT_FIELDS_MAX;
        f->out->subj[id / 64] |= (uint64_t)1 << (id % 64);
    }
    return 0;
}

/* One field alone through the combined database: subject says which ids count. */
static bool
scan_fs_one(const char *v, size_t n, bool subject, struct fmt_fields *out)
{
    struct scan_fs f;
    if (n == 0) {
        return true;
    }
    if (n > INT32_MAX) {
        n = INT32_MAX;
    }
    f.from_len = subject ? SIZE_MAX : n;
    f.subj_at = subject ? 0 : SIZE_MAX;
    f.out = out;
    return hs_scan(scan_fsdb, v, (unsigned)n, 0, scan_scratch, scan_on_fs, &f) == HS_SUCCESS;
}

void
fmt_scan_fields(const char *from, const char *subject, struct fmt_fields *out)
{
    char both[1024];
    size_t fn = from ? strlen(from) : 0, sn = subject ? strlen(subject) : 0;

    (void)pthread_once(&scan_once, scan_build);
    memset(out, 0, sizeof(*out));
    if (scan_fsdb != NULL && scan_scratch_get()) {
        if (fn > 0 && sn > 0 && fn + 1 + sn <= sizeof(both)) {
            struct scan_fs f = {fn, fn + 1, out};
            memcpy(both, from, fn);
            both[fn] = '\n';
            memcpy(both + fn + 1, subject, sn);
            if (hs_scan(scan_fsdb, both, (unsigned)(fn + 1 + sn), 0, scan_scratch, scan_on_fs,
                        &f) == HS_SUCCESS) {
                return;
            }
        } else if (scan_fs_one(from, fn, false, out) && scan_fs_one(subject, sn, true, out)) {
            return;
        }
        memset(out, 0, sizeof(*out));
    }
    /* fallback: one search per phrase */
    scan_field(NULL, scan_from_of, from, fn, out->from);
    scan_field(NULL, scan_subj_of, subject, sn, out->subj);
}

const char *
parse_orig_marker_line(const char *p, size_t n)
{
    int32_t at[SCAN_NORIG];
    struct scan_hits h = {scan_orig_of, NULL, SCAN_NORIG, at};
    const char *ls;
    long long first = -1;
    size_t i;

    (void)pthread_once(&scan_once, scan_build);
    if (n > INT32_MAX) {
        n = INT32_MAX;
    }
    for (i = 0; i < SCAN_NORIG; i++) {
        at[i] = -1;
    }
    if (scan_odb == NULL || !scan_scratch_get() ||
        hs_scan(scan_odb, p, (unsigned)n, 0, scan_scratch, scan_on_match, &h) != HS_SUCCESS) {
        /* fallback: one search per marker */
        for (i = 0; i < SCAN_NORIG; i++) {
            const char *hit = fmt_find_ci(p, n, scan_orig[i], strlen(scan_orig[i]));
            at[i] = hit != NULL ? (int32_t)(hit - p) : -1;
        }
    }
    for (i = 0; i < SCAN_NORIG; i++) {
        if (at[i] >= 0 && (first < 0 || at[i] < first)) {
            first = at[i];
        }
    }
    if (first < 0) {
        return NULL;
    }
    /* markers hold no line break: the line of the earliest one is the first line with one */
    for (ls = p + first; ls > p && ls[-1] != '\n'; ls--) {
    }
    return ls;
}

uint64_t
fmt_scan_cmd_set(const char *p, size_t n)
{
    uint64_t set[FMT_FIELDS_MAX / 64];

    (void)pthread_once(&scan_once, scan_build);
    scan_field(scan_cdb, scan_cmd_of, p, n, set);
    return set[0];
}

size_t
fmt_fields_count(bool subject, size_t base)
{
    if (!subject) {
        return base == FMT_F_SENDER ? SCAN_NSEND : 0;
    }
    return base == FMT_S_BOUNCE ? SCAN_NSUBJ : base == FMT_S_DELAY ? SCAN_NDSUBJ : 0;
}

void
fmt_scan_text(const char *p, size_t n, struct fmt_scan *s)
{
    scan_run(false, p, n, s);
}

void
fmt_scan_header(const char *p, size_t n, struct fmt_scan *s)
{
    scan_run(true, p, n, s);
}

int32_t
fmt_scan_first(const struct fmt_scan *s, size_t base, size_t count, int32_t limit)
{
    int32_t best = -1;
    size_t i;
    for (i = base; i < base + count && i < FMT_NEEDLES_MAX; i++) {
        if (s->at[i] >= 0 && s->at[i] < limit && (best < 0 || s->at[i] < best)) {
            best = s->at[i];
        }
    }
    return best;
}

size_t
fmt_scan_count(int group)
{
    switch (group) {
    case FMT_SCAN_CUT:
        return SCAN_NCUT;
    case FMT_SCAN_DELAY:
        return SCAN_NDELAY;
    case FMT_SCAN_INTRO:
        return SCAN_NINTRO;
    case FMT_SCAN_JSON:
        return SCAN_NJSON;
    case FMT_SCAN_CMD:
        return SCAN_NCMD;
    default:
        return 0;
    }
}

const char *
fmt_scan_cmd_phrase(size_t i)
{
    return i < SCAN_NCMD ? scan_cmd[i].phrase : NULL;
}

const char *
fmt_scan_cmd_name(size_t i)
{
    return i < SCAN_NCMD ? scan_cmd[i].cmd : NULL;
}
