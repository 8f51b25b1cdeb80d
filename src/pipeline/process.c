/*
 * process.c - one input through parse, classify and the hygiene policy into the store, in
 * one transaction (the contract is in process.h).
 *
 * Order of work for a raw message:
 *   1. the bounce's identity (keys.c: SHA-256 without trace fields); the input's ref
 *      defaults to "sha256:<identity>";
 *   2. bnc_parse() (parse + classify), before any lock is taken;
 *   3. BEGIN; the `ingested` row (source, ref, identity) goes in first: if either unique key
 *      exists the input was committed before (by a crash-and-retry, by another path, or by a
 *      concurrent node): a duplicate; its path is kept with the events it reported, stop;
 *   4. per verdict: the recipient is the Original-Recipient when only that one is a contact
 *      (an alias or forward rewrote the final address); event time = the DSN's
 *      Arrival/Last-Attempt date, else the message Date, else received_at, else now; dedupe
 *      key = what identifies the failure (keys.h: original Message-ID + recipient + status
 *      + day, else the identity + recipient + status); model_apply_verdict(), which keeps
 *      this path next to an event that another path reported first;
 *   5. COMMIT.
 * A failure anywhere rolls the whole input back, so a crash between COMMIT and the caller's
 * spool cleanup is harmless: the retry is a duplicate.
 * Not-a-bounce mail (no verdicts, or BNC_PF_NOT_BOUNCE) is recorded in `ingested` with
 * not_bounce = 1 and never penalises a contact: only auto-reply and delivery verdicts of
 * such mail are kept, as events that change nothing.
 * What it does not do: read files or sockets (callers do), or retry on BNC_EBUSY (callers
 * decide; the transaction is gone when this returns).
 * STANDARDS: RFC 3464 §2.2.5, §2.3.5 (Arrival-Date, Last-Attempt-Date), RFC 5322 §3.6.1.
 * LIMITS: message size is bounded by bnc_parse (limits.message_size); a dedupe key longer
 * than KEY_MAX is replaced by its hash (keys.c).
 * Ownership: a pipeline borrows its ctx and store; one pipeline per thread.
 */
#include "pipeline/process.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "classify/classify.h"
#include "core/utf8.h"
#include "core/xmalloc.h"
#include "parse/parse.h"
#include "pipeline/keys.h"
#include "store/guards.h"
#include "store/model.h"
#include "store/store.h"

#define HASH_HEX      (KEY_HASH_HEX + 1)
#define GROUP_RETRIES 5 /* attempts per input on BNC_EBUSY outside a group */

struct pipeline {
    bnc_ctx *ctx;
    struct store *st;
    struct policy_cfg pc;
    int64_t now;
    char err[512];
};

bnc_status
pipeline_new(bnc_ctx *ctx, struct store *st, struct pipeline **out)
{
    struct pipeline *p;

    *out = NULL;
    if (ctx == NULL || st == NULL) {
        return BNC_EINVAL;
    }
    p = xcalloc(1, sizeof(*p));
    p->ctx = ctx;
    p->st = st;
    policy_cfg_from_config(&p->pc, bnc_ctx_config(ctx));
    *out = p;
    return BNC_OK;
}

void
pipeline_free(struct pipeline *p)
{
    free(p);
}

void
pipeline_set_now(struct pipeline *p, int64_t now)
{
    p->now = now;
}

const char *
pipeline_errmsg(const struct pipeline *p)
{
    return p ? p->err : "no pipeline";
}

static int64_t
pl_now(const struct pipeline *p)
{
    return p->now ? p->now : (int64_t)time(NULL);
}

static void
set_err(struct pipeline *p, bnc_status rc, const char *what)
{
    const char *detail = store_errmsg(p->st);
    snprintf(p->err, sizeof(p->err), "%s: %s%s%s", what, bnc_strerror(rc),
             detail && detail[0] ? ": " : "", detail ? detail : "");
}

static void
count_outcome(struct pipeline_result *res, const struct bnc_rcpt *v, const struct model_outcome *o)
{
    if (o->duplicate) {
        return;
    }
    res->verdicts++;
    if ((unsigned)v->kind < sizeof(res->by_kind) / sizeof(res->by_kind[0])) {
        res->by_kind[v->kind]++;
    }
    res->contacts_changed += o->contact_changed ? 1 : 0;
    res->review_items += o->review_created ? 1 : 0;
}

/*
 * The input was committed before (same source and ref, or the same identity by another
 * path): nothing is applied again, but this path is kept next to the events it reported.
 * Commits the caller's transaction (an outer batch stays alive).
 */
static bnc_status
duplicate_input(struct pipeline *p, const char *hash, const char *source, const char *ref,
                int64_t now)
{
    bnc_status rc = model_event_reports_copy(p->st, hash, source, ref, now);

    if (rc != BNC_OK) {
        set_err(p, rc, "event paths");
        store_rollback(p->st);
        return rc;
    }
    return store_commit(p->st);
}

/*
 * The event's time: the bounce's own (DSN dates, else the Date header), else when it was
 * received, else now. A time more than a day in the future (a wrong clock or a forged Date)
 * would put strikes on days that have not happened: it is replaced by the fallback.
 */
static int64_t
event_time(int64_t from_bounce, int64_t received_at, int64_t now)
{
    int64_t fallback = received_at > 0 ? received_at : now;

    if (from_bounce <= 0 || from_bounce > now + 86400) {
        return fallback;
    }
    return from_bounce;
}

/* Verdict kinds kept for mail that is not a bounce: they change nothing. */
static bool
harmless_kind(bnc_kind k)
{
    return k == BNC_KIND_AUTOREPLY || k == BNC_KIND_DELIVERED;
}

/*
 * The address the sender knows. A DSN names the mailbox that failed (Final-Recipient), which
 * an alias or a forward may have rewritten; Original-Recipient is the address the message was
 * sent to (RFC 3464 §2.3.1). When the final address is no contact and the original one is,
 * the verdict belongs to the original: *alias becomes a copy of v with that recipient. Else
 * alias->recipient is NULL and v is used as it is.
 */
/*
 * The spike alerts' tags of a bounce: its campaign (the first of guard.campaign_headers the
 * returned message carries; a List-Id's <id> part, RFC 2919 §3) and its sending domain (the
 * domain of the returned message's From). "" when absent.
 */
static void
copy_tag(char *out, size_t outlen, const char *s, size_t n)
{
    const char *lt = memchr(s, '<', n), *gt;

    if (lt != NULL && (gt = memchr(lt, '>', n - (size_t)(lt - s))) != NULL && gt > lt + 1) {
        s = lt + 1;
        n = (size_t)(gt - s);
    }
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    n = n < outlen - 1 ? n : outlen - 1;
    n = utf8_valid(s, n) ? n : 0; /* a cut inside a character, or bytes that are not text */
    memcpy(out, s, n);
    out[n] = '\0';
}

static void
guard_tags(const struct pipeline *p, const bnc_report *r, char campaign[GUARD_KEY_MAX + 1],
           char sender[GUARD_KEY_MAX + 1])
{
    const char *list = bnc_ctx_config(p->ctx)->guard_campaign_headers;
    const char *at, *v;
    char name[128];
    size_t n;

    campaign[0] = sender[0] = '\0';
    while (list != NULL && *list != '\0' && campaign[0] == '\0') {
        n = strcspn(list, ",");
        if (n > 0 && n < sizeof(name)) {
            memcpy(name, list, n);
            name[n] = '\0';
            if ((v = report_orig_header(r, name)) != NULL) {
                copy_tag(campaign, GUARD_KEY_MAX + 1, v, strlen(v));
            }
        }
        list += n + (list[n] == ',' ? 1 : 0);
    }
    if (r->orig_from != NULL && (at = strrchr(r->orig_from, '@')) != NULL) {
        n = strcspn(at + 1, "> \t;,");
        copy_tag(sender, GUARD_KEY_MAX + 1, at + 1, n);
        for (n = 0; sender[n] != '\0'; n++) {
            sender[n] = (char)(sender[n] >= 'A' && sender[n] <= 'Z' ? sender[n] + 32 : sender[n]);
        }
    }
}

static bnc_status
known_recipient(struct pipeline *p, const struct bnc_rcpt *v, int64_t now, struct bnc_rcpt *alias)
{
    struct model_contact c;
    bnc_status rc;

    alias->recipient = NULL;
    if (v->original_recipient == NULL || v->original_recipient[0] == '\0' ||
        v->recipient == NULL || strcasecmp(v->original_recipient, v->recipient) == 0) {
        return BNC_OK;
    }
    rc = model_contact_find(p->st, NULL, v->recipient, now, &c);
    if (rc == BNC_OK) {
        model_contact_free(&c);
        return BNC_OK;
    }
    if (rc != BNC_ENOTFOUND) {
        return rc;
    }
    rc = model_contact_find(p->st, NULL, v->original_recipient, now, &c);
    if (rc == BNC_ENOTFOUND) {
        return BNC_OK;
    }
    if (rc != BNC_OK) {
        return rc;
    }
    model_contact_free(&c);
    *alias = *v;
    alias->recipient = v->original_recipient;
    return BNC_OK;
}

/* Every verdict of a parsed report through the policy, inside the input's transaction. */
static bnc_status
apply_report(struct pipeline *p, const bnc_report *r, const struct pipeline_input *in,
             bool not_bounce, const char *source, const char *ref, const char *hash, int64_t now,
             struct pipeline_result *out)
{
    char key[KEY_MAX], campaign[GUARD_KEY_MAX + 1], sender[GUARD_KEY_MAX + 1];
    size_t i, n = bnc_report_rcpt_count(r);
    struct model_outcome o;
    struct bnc_rcpt alias;
    bnc_status rc;
    int64_t t;

    guard_tags(p, r, campaign, sender);
    for (i = 0; i < n; i++) {
        const struct bnc_rcpt *v = bnc_report_rcpt(r, i);
        if (v == NULL || (not_bounce && !harmless_kind(v->kind))) {
            continue;
        }
        t = event_time(v->time ? v->time : r->time, in->received_at, now);
        rc = known_recipient(p, v, now, &alias);
        if (rc != BNC_OK) {
            set_err(p, rc, "contact lookup");
            return rc;
        }
        if (alias.recipient != NULL) {
            v = &alias;
        }
        key_event(key, v, hash, ref, t);
        rc = model_apply_verdict(p->st, &p->pc, v, source, ref, key, t, "bounce", now, &o);
        if (rc == BNC_OK && !o.duplicate) {
            rc = guard_count_tags(p->st, campaign, sender, v, o.actions, t);
        }
        if (rc != BNC_OK) {
            set_err(p, rc, "apply verdict");
            return rc;
        }
        count_outcome(out, v, &o);
    }
    return BNC_OK;
}

bnc_status
pipeline_process(struct pipeline *p, const struct pipeline_input *in, struct pipeline_result *out)
{
    char hash[HASH_HEX], refbuf[HASH_HEX + 32];
    const char *source, *ref;
    bnc_report *r = NULL;
    int64_t now = pl_now(p);
    size_t i, n, counted;
    bool not_bounce;
    bnc_status rc;

    memset(out, 0, sizeof(*out));
    p->err[0] = '\0';
    if (in == NULL || (in->data == NULL && in->len > 0)) {
        return BNC_EINVAL;
    }
    key_message_identity(in->data ? in->data : "", in->len, hash);
    source = in->source && in->source[0] ? in->source : "file";
    if (in->ref && in->ref[0] && utf8_valid(in->ref, strlen(in->ref))) {
        ref = in->ref;
    } else {
        /* no ref, or one that is not UTF-8 text: the content hash identifies the input */
        snprintf(refbuf, sizeof(refbuf), "sha256:%s", hash);
        ref = refbuf;
    }
    /* parse and classify first: pure work, no locks held */
    rc = bnc_parse(p->ctx, in->data ? in->data : "", in->len, &r);
    if (rc != BNC_OK) {
        snprintf(p->err, sizeof(p->err), "parse: %s", bnc_strerror(rc));
        return rc;
    }
    if ((bnc_report_flags(r) & BNC_PF_TOO_MANY_RCPTS) != 0) {
        /* more recipients than limits.dsn_recipients: applying the first ones would drop the
         * rest for good; refuse the message whole (the daemon holds it with this reason) */
        snprintf(p->err, sizeof(p->err),
                 "more recipients than limits.dsn_recipients (%zu): not applied; raise the "
                 "limit and requeue",
                 bnc_report_rcpt_count(r));
        bnc_report_free(r);
        return BNC_ELIMIT;
    }
    n = bnc_report_rcpt_count(r);
    not_bounce = n == 0 || (bnc_report_flags(r) & BNC_PF_NOT_BOUNCE) != 0;
    for (i = 0, counted = 0; i < n; i++) {
        const struct bnc_rcpt *v = bnc_report_rcpt(r, i);
        counted += v != NULL && (!not_bounce || harmless_kind(v->kind)) ? 1 : 0;
    }
    if ((rc = store_begin(p->st)) != BNC_OK) {
        set_err(p, rc, "begin");
        bnc_report_free(r);
        return rc;
    }
    /* the idempotency record first: if (source, ref) or the content hash is there, the
     * input was committed before (or by a concurrent node) and nothing is written */
    rc = model_ingested_add(p->st, source, ref, hash, (int64_t)counted, not_bounce, now);
    if (rc == BNC_ECONFLICT) {
        bnc_report_free(r);
        out->duplicate = true;
        return duplicate_input(p, hash, source, ref, now);
    }
    if (rc != BNC_OK) {
        set_err(p, rc, "ingested record");
        goto fail;
    }
    if ((rc = apply_report(p, r, in, not_bounce, source, ref, hash, now, out)) != BNC_OK) {
        goto fail;
    }
    if ((rc = store_commit(p->st)) != BNC_OK) {
        set_err(p, rc, "commit");
        bnc_report_free(r);
        memset(out, 0, sizeof(*out));
        return rc;
    }
    out->not_bounce = not_bounce;
    bnc_report_free(r);
    return BNC_OK;
fail:
    store_rollback(p->st);
    bnc_report_free(r);
    memset(out, 0, sizeof(*out));
    return rc;
}

/*
 * The identity of a batch of verdicts: its source and ref when the caller named one, else
 * the event keys of its verdicts (two distinct log lines of the same second differ in their
 * queue ids; the same line read twice is the same input).
 */
static void
verdicts_identity(const struct bnc_rcpt *v, size_t n, const char *source, const char *ref,
                  int64_t now, char out[HASH_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char key[KEY_MAX];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t i;

    if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        key_sha256_hex(source, strlen(source), out);
        return;
    }
    EVP_DigestUpdate(c, "verdicts|", 9);
    EVP_DigestUpdate(c, source, strlen(source));
    EVP_DigestUpdate(c, "|", 1);
    if (ref != NULL && ref[0] != '\0') {
        EVP_DigestUpdate(c, ref, strlen(ref));
    }
    for (i = 0; i < n && (ref == NULL || ref[0] == '\0'); i++) {
        key_event(key, &v[i], NULL, NULL, event_time(v[i].time, 0, now));
        EVP_DigestUpdate(c, "|", 1);
        EVP_DigestUpdate(c, key, strlen(key));
    }
    if (EVP_DigestFinal_ex(c, md, &mdlen) != 1) {
        mdlen = 0;
    }
    EVP_MD_CTX_free(c);
    key_sha256_hex(md, mdlen, out); /* a hash of the digest: fixed length, hex */
}

bnc_status
pipeline_process_verdicts(struct pipeline *p, const struct bnc_rcpt *v, size_t n,
                          const char *source, const char *ref, struct pipeline_result *out)
{
    char hash[HASH_HEX], key[KEY_MAX];
    const char *uref = ref != NULL && ref[0] != '\0' ? ref : NULL;
    struct model_outcome o;
    int64_t now = pl_now(p), t;
    bnc_status rc;
    size_t i;

    memset(out, 0, sizeof(*out));
    p->err[0] = '\0';
    if (v == NULL && n > 0) {
        return BNC_EINVAL;
    }
    source = source && source[0] ? source : "api";
    verdicts_identity(v, n, source, uref, now, hash);
    ref = uref != NULL ? uref : hash;
    if ((rc = store_begin(p->st)) != BNC_OK) {
        set_err(p, rc, "begin");
        return rc;
    }
    rc = model_ingested_add(p->st, source, ref, hash, (int64_t)n, n == 0, now);
    if (rc == BNC_ECONFLICT) {
        out->duplicate = true;
        return duplicate_input(p, hash, source, ref, now);
    }
    if (rc != BNC_OK) {
        set_err(p, rc, "ingested record");
        goto fail;
    }
    for (i = 0; i < n; i++) {
        t = event_time(v[i].time, 0, now);
        key_event(key, &v[i], NULL, uref, t);
        rc = model_apply_verdict(p->st, &p->pc, &v[i], source, ref, key, t, "bounce", now, &o);
        if (rc != BNC_OK) {
            set_err(p, rc, "apply verdict");
            goto fail;
        }
        count_outcome(out, &v[i], &o);
    }
    if ((rc = store_commit(p->st)) != BNC_OK) {
        set_err(p, rc, "commit");
        memset(out, 0, sizeof(*out));
        return rc;
    }
    out->not_bounce = n == 0;
    return BNC_OK;
fail:
    store_rollback(p->st);
    memset(out, 0, sizeof(*out));
    return rc;
}

size_t
pipeline_process_group(struct pipeline *p, const struct pipeline_input *in, size_t n,
                       struct pipeline_result *res, bnc_status *rcs)
{
    size_t i, failed = 0;
    bool ok = true;

    if (n == 0) {
        return 0;
    }
    if (n > 1 && store_begin(p->st) == BNC_OK) {
        for (i = 0; i < n && ok; i++) {
            rcs[i] = pipeline_process(p, &in[i], &res[i]);
            ok = rcs[i] == BNC_OK;
        }
        if (ok && store_commit(p->st) == BNC_OK) {
            return 0;
        }
        if (!ok) {
            store_rollback(p->st);
        }
    }
    /* one at a time: the inputs before a failure were rolled back with the group; a busy
     * store or a concurrent update of the same contact (BNC_EBUSY) is retried */
    for (i = 0; i < n; i++) {
        int tries = 0;
        do {
            rcs[i] = pipeline_process(p, &in[i], &res[i]);
        } while (rcs[i] == BNC_EBUSY && ++tries < GROUP_RETRIES);
        failed += rcs[i] != BNC_OK ? 1 : 0;
    }
    return failed;
}
