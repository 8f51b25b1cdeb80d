/*
 * model_hygiene.c - verdicts into the store: the hygiene plan (policy_apply() over the
 * stored contact), bounce events, the review queue, whole-input idempotency records, log
 * offsets and statistics.
 *
 * model_apply_verdict() is the one place a bounce changes a contact: it inserts the event
 * under its unique dedupe key first (a duplicate stops there, nothing else is written), then
 * writes the contact's hygiene fields (never its attributes), the address suppression, the
 * unsubscribes, the review item and an audit row with the state before and after, all in
 * one transaction (nested inside the caller's per-message transaction).
 * What it does not do: parse, classify, or choose dedupe keys (pipeline/process.c does).
 * STANDARDS: none beyond store.h's portable SQL.
 * LIMITS: diagnostic text is stored as given (the parser bounds it); invalid UTF-8 is
 * replaced with '?' before binding.
 * Ownership: see model.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/utf8.h"
#include "core/xmalloc.h"
#include "store/model_int.h"

/* Text safe to bind: valid UTF-8 without NUL. Returns s itself or a heap copy in *own. */
static const char *
safe_text(const char *s, char **own)
{
    size_t n, i, k;
    char *o;

    *own = NULL;
    if (s == NULL) {
        return "";
    }
    n = strlen(s);
    if (utf8_valid(s, n)) {
        return s;
    }
    o = xmalloc(n + 1);
    for (i = 0; i < n;) {
        k = utf8_valid_len((const unsigned char *)s + i, n - i);
        if (k == 0) {
            o[i++] = '?';
        } else {
            memcpy(o + i, s + i, k);
            i += k;
        }
    }
    o[n] = '\0';
    *own = o;
    return o;
}

struct plan_load {
    struct hyg_plan *plan;
    bool row;
};

static int
plan_row_cb(void *ud, const struct store_row *r)
{
    struct plan_load *pl = ud;
    struct snap *sn = &pl->plan->before;
    enum hyg_status hs;
    bnc_reason rs;

    pl->row = true;
    if (r->cols[0].type != SV_NULL) {
        pl->plan->contact_id = mrow_int(r, 0);
        sn->contact = true;
        sn->cs.status = hyg_status_from_name(mrow_text(r, 1), &hs) ? hs : HYG_ACTIVE;
        sn->cs.soft_count = mrow_int(r, 2);
        sn->cs.last_soft_day = mrow_int(r, 3);
        sn->cs.last_bounce_at = mrow_int(r, 4);
        sn->cs.last_reason = bnc_reason_from_name(mrow_text(r, 5), &rs) ? rs : BNC_R_UNDEFINED;
        mcopy(sn->last_status, sizeof(sn->last_status), mrow_text(r, 6));
    }
    if (r->cols[7].type != SV_NULL) {
        sn->suppressed = true;
        mcopy(sn->supp_reason, sizeof(sn->supp_reason), mrow_text(r, 8));
        mcopy(sn->supp_source, sizeof(sn->supp_source), mrow_text(r, 9));
        sn->supp_ref = xstrdup(mrow_text(r, 10));
        sn->supp_since = mrow_int(r, 11);
    }
    return 1;
}

bnc_status
hyg_plan_make(struct store *st, const struct policy_cfg *pc, const char *address,
              const struct policy_verdict *pv, int64_t now, struct hyg_plan *plan)
{
    /* the contact's state and the address suppression in one statement */
    static const char *q =
        "SELECT c.id, c.hygiene_status, c.soft_bounce_count, c.last_soft_day, c.last_bounce_at, "
        "c.last_reason, c.last_status, s.id, s.reason, s.source, s.ref, s.created_at FROM "
        "(SELECT CAST($1 AS TEXT) AS a) x LEFT JOIN contacts c ON c.email = x.a LEFT JOIN "
        "suppressions s ON s.address = x.a";
    struct plan_load pl = {plan, false};
    struct store_value p[1];
    bnc_status rc;

    memset(plan, 0, sizeof(*plan));
    plan->valid = model_normalize_email(address, plan->address);
    if (plan->valid) {
        p[0] = sv_text(plan->address);
        if ((rc = store_exec(st, q, p, 1, plan_row_cb, &pl, NULL)) != BNC_OK) {
            hyg_plan_free(plan);
            return rc;
        }
        plan->in = plan->before.cs;
    }
    policy_apply(pc, &plan->in, pv, now, &plan->out, &plan->acts);
    return BNC_OK;
}

void
hyg_plan_free(struct hyg_plan *plan)
{
    snap_free(&plan->before);
}

const char *
hyg_plan_word(const struct hyg_plan *plan, bnc_kind kind)
{
    unsigned a = plan->acts;

    if (a & POLICY_A_REVIEW) {
        return "review";
    }
    if (a & POLICY_A_ESCALATED) {
        return "escalated";
    }
    if (a & POLICY_A_STRIKE) {
        return "strike";
    }
    if (a & POLICY_A_SAME_DAY) {
        return "same_day";
    }
    if (a & POLICY_A_SENDER) {
        return "sender";
    }
    if (kind == BNC_KIND_COMPLAINT) {
        return "complaint";
    }
    if (a & POLICY_A_SUPPRESS) {
        return "hard";
    }
    return "info";
}

static bnc_status
unsubscribe_all(struct store *st, int64_t contact_id, int64_t now, int64_t *changes)
{
    static const char *q = "UPDATE list_members SET status = 'unsubscribed', unsubscribed_at = $2, "
                           "unsubscribed_by = 'bounce' WHERE contact_id = $1 AND status = "
                           "'subscribed'";
    struct store_value p[2] = {sv_int(contact_id), sv_int(now)};
    return store_exec(st, q, p, 2, NULL, NULL, changes);
}

bnc_status
hyg_plan_carry_out(struct store *st, struct hyg_plan *plan, const char *reason_name,
                   const char *status_code, const char *supp_source, const char *ref,
                   const char *decided_by, const char *actor, int64_t event_id, int64_t now,
                   bool *changed_out)
{
    static const char *q_supp =
        "INSERT INTO suppressions (address, reason, source, ref, created_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (address) DO NOTHING";
    unsigned a = plan->acts;
    bool contact_changed = plan->contact_id > 0 && (a & POLICY_A_CHANGED);
    int64_t supp_changes = 0, unsub_changes = 0;
    struct store_value p[5];
    struct snap after;
    char *bj, *aj;
    bnc_status rc = BNC_OK;
    size_t i;

    if (changed_out != NULL) {
        *changed_out = false;
    }
    if (!plan->valid || !(contact_changed || (a & (POLICY_A_SUPPRESS | POLICY_A_UNSUBSCRIBE)))) {
        return BNC_OK;
    }
    /* the "before" snapshot was loaded with the plan; only the lists are still missing */
    if (plan->contact_id > 0 &&
        (rc = snap_load_lists(st, plan->contact_id, &plan->before)) != BNC_OK) {
        return rc;
    }
    if (contact_changed) {
        rc = model_write_state_if(st, plan->contact_id, &plan->in, &plan->out, status_code, now);
    }
    if (rc == BNC_OK && (a & POLICY_A_SUPPRESS)) {
        p[0] = sv_text(plan->address);
        p[1] = sv_text(reason_name);
        p[2] = sv_text(supp_source);
        p[3] = sv_text(ref ? ref : "");
        p[4] = sv_int(now);
        rc = store_exec(st, q_supp, p, 5, NULL, NULL, &supp_changes);
    }
    if (rc == BNC_OK && (a & POLICY_A_UNSUBSCRIBE) && plan->contact_id > 0 &&
        plan->before.nlists > 0) {
        rc = unsubscribe_all(st, plan->contact_id, now, &unsub_changes);
    }
    if (rc != BNC_OK || !(contact_changed || supp_changes > 0 || unsub_changes > 0)) {
        return rc;
    }
    /* "after" is "before" with what was just written: no second round of reads */
    snap_copy(&after, &plan->before);
    if (contact_changed) {
        after.cs = plan->out;
        mcopy(after.last_status, sizeof(after.last_status), status_code);
    }
    if (supp_changes > 0) {
        after.suppressed = true;
        mcopy(after.supp_reason, sizeof(after.supp_reason), reason_name);
        mcopy(after.supp_source, sizeof(after.supp_source), supp_source);
        free(after.supp_ref);
        after.supp_ref = xstrdup(ref ? ref : "");
        after.supp_since = now;
    }
    if (unsub_changes > 0) {
        for (i = 0; i < after.nlists; i++) {
            free(after.lists[i]);
        }
        after.nlists = 0;
    }
    bj = snap_json(&plan->before);
    aj = snap_json(&after);
    rc = audit_add(st, plan->contact_id, plan->address, actor, "bounce", reason_name, decided_by,
                   ref, event_id, bj, aj, now, NULL);
    free(bj);
    free(aj);
    snap_free(&after);
    if (rc == BNC_OK && changed_out != NULL) {
        *changed_out = true;
    }
    return rc;
}

static const char *
domain_of(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at ? at + 1 : "";
}

static bnc_status
review_insert(struct store *st, int64_t event_id, const struct hyg_plan *plan,
              const char *recipient, const struct bnc_rcpt *v, const char *diag, const char *source,
              const char *ref, int64_t event_time, int64_t now)
{
    static const char *q =
        "INSERT INTO review_items (event_id, contact_id, recipient, reason, status, diagnostic, "
        "source, ref, event_time, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
        "'open', $10)";
    struct store_value p[10];

    p[0] = sv_int(event_id);
    p[1] = plan->contact_id > 0 ? sv_int(plan->contact_id) : sv_null();
    p[2] = sv_text(recipient);
    p[3] = sv_text(bnc_reason_name(v->reason));
    p[4] = sv_text(v->status);
    p[5] = sv_text(diag);
    p[6] = sv_text(source);
    p[7] = sv_text(ref);
    p[8] = sv_int(event_time);
    p[9] = sv_int(now);
    return store_exec(st, q, p, 10, NULL, NULL, NULL);
}

/* One more path that reported the event of dedupe_key (none when it is the first one). */
static bnc_status
event_report_add(struct store *st, const char *dedupe_key, const char *source, const char *ref,
                 const char *origin, int64_t now)
{
    static const char *q =
        "INSERT INTO event_reports (event_id, source, ref, origin, reported_at) SELECT id, $2, "
        "$3, $4, $5 FROM bounce_events WHERE dedupe_key = $1 AND NOT (source = $2 AND ref = $3) "
        "ON CONFLICT DO NOTHING";
    struct store_value p[5] = {sv_text(dedupe_key), sv_text(source ? source : ""),
                               sv_text(ref ? ref : ""), sv_text(origin ? origin : ""),
                               sv_int(now)};

    return store_exec(st, q, p, 5, NULL, NULL, NULL);
}

/* The 21 parameters of the event row; texts that are not valid UTF-8 are bound as copies
 * kept in own[1..9] (the caller frees them). */
static void
event_params(struct store_value p[21], char *own[10], const struct bnc_rcpt *v,
             const struct hyg_plan *plan, const char *recipient, const char *dedupe_key,
             const char *source, const char *ref, int64_t event_time, int64_t now)
{
    p[0] = sv_text(safe_text(dedupe_key, &own[1]));
    p[1] = plan->contact_id > 0 ? sv_int(plan->contact_id) : sv_null();
    p[2] = sv_text(recipient);
    p[3] = sv_text(domain_of(recipient));
    p[4] = sv_text(safe_text(v->status, &own[2]));
    p[5] = sv_text(safe_text(v->replycode, &own[3]));
    p[6] = sv_text(bnc_reason_name(v->reason));
    p[7] = sv_text(bnc_kind_name(v->kind));
    p[8] = sv_int(v->hard);
    p[9] = sv_text(bnc_action_name(v->action));
    p[10] = sv_text(safe_text(v->diagnostic, &own[4]));
    p[11] = sv_text(safe_text(v->origin, &own[5]));
    p[12] = sv_text(source ? source : "");
    p[13] = sv_text(ref ? ref : "");
    p[14] = sv_text(safe_text(v->decided_by, &own[6]));
    p[15] = sv_text(hyg_plan_word(plan, v->kind));
    p[16] = sv_int(event_time);
    p[17] = sv_int(now);
    p[18] = sv_text(safe_text(v->message_id, &own[7]));
    p[19] = sv_text(safe_text(v->original_message_id, &own[8]));
    p[20] = sv_text(safe_text(v->feedback_type, &own[9]));
}

bnc_status
model_apply_verdict(struct store *st, const struct policy_cfg *pc, const struct bnc_rcpt *v,
                    const char *source, const char *ref, const char *dedupe_key, int64_t event_time,
                    const char *actor, int64_t now, struct model_outcome *out)
{
    static const char *q_ev =
        "INSERT INTO bounce_events (dedupe_key, contact_id, recipient, domain, status, replycode, "
        "reason, kind, hard, action, diagnostic, origin, source, ref, decided_by, policy, "
        "event_time, created_at, message_id, original_message_id, feedback_type) VALUES ($1, $2, "
        "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) "
        "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id";
    struct policy_verdict pv;
    struct hyg_plan plan;
    struct store_value p[21];
    char *own[10] = {0};
    const char *recipient, *supp_source;
    int64_t event_id = 0;
    bnc_status rc;
    bool changed = false;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (event_time == 0) {
        event_time = now;
    }
    pv.kind = v->kind;
    pv.reason = v->reason;
    pv.time = event_time;
    pv.side = BNC_SIDE_UNKNOWN;
    if ((rc = store_begin(st)) != BNC_OK) {
        return rc;
    }
    if ((rc = hyg_plan_make(st, pc, v->recipient ? v->recipient : "", &pv, now, &plan)) != BNC_OK) {
        store_rollback(st);
        return rc;
    }
    recipient = plan.valid ? plan.address : safe_text(v->recipient, &own[0]);
    event_params(p, own, v, &plan, recipient, dedupe_key, source, ref, event_time, now);
    rc = store_query_int(st, q_ev, p, 21, &event_id);
    if (rc == BNC_ENOTFOUND) {
        /* the dedupe key exists: this failure was applied before, maybe by another path */
        out->duplicate = true;
        rc = event_report_add(st, p[0].s, source, ref, p[11].s, now);
        goto done;
    }
    if (rc != BNC_OK) {
        goto done;
    }
    out->event_id = event_id;
    out->contact_id = plan.contact_id;
    if (plan.valid && (rc = guard_on_verdict(st, pc, v, domain_of(recipient), event_id, event_time,
                                             now, &plan.acts)) != BNC_OK) {
        goto done;
    }
    out->actions = plan.acts;
    supp_source = v->kind == BNC_KIND_COMPLAINT ? "complaint" : "bounce";
    rc = hyg_plan_carry_out(st, &plan, bnc_reason_name(v->reason), v->status, supp_source, ref,
                            v->decided_by ? v->decided_by : "", actor ? actor : "bounce", event_id,
                            now, &changed);
    out->contact_changed = changed && plan.contact_id > 0;
    if (rc == BNC_OK && (plan.acts & POLICY_A_REVIEW)) {
        rc = review_insert(st, event_id, &plan, recipient, v, p[10].s, source ? source : "",
                           ref ? ref : "", event_time, now);
        out->review_created = rc == BNC_OK;
    }
done:
    hyg_plan_free(&plan);
    for (i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        free(own[i]);
    }
    if (rc != BNC_OK) {
        store_rollback(st);
        memset(out, 0, sizeof(*out));
        return rc;
    }
    return store_commit(st);
}

/* ---- events ---- */

struct ev_ctx {
    model_event_cb cb;
    void *ud;
    size_t n;
};

void
mrow_event(const struct store_row *r, struct model_event *e)
{
    e->id = mrow_int(r, 0);
    e->contact_id = mrow_int(r, 1);
    e->dedupe_key = mrow_text(r, 2);
    e->recipient = mrow_text(r, 3);
    e->domain = mrow_text(r, 4);
    e->status = mrow_text(r, 5);
    e->replycode = mrow_text(r, 6);
    e->reason = mrow_text(r, 7);
    e->kind = mrow_text(r, 8);
    e->hard = (int)mrow_int(r, 9);
    e->action = mrow_text(r, 10);
    e->diagnostic = mrow_text(r, 11);
    e->origin = mrow_text(r, 12);
    e->source = mrow_text(r, 13);
    e->ref = mrow_text(r, 14);
    e->decided_by = mrow_text(r, 15);
    e->policy = mrow_text(r, 16);
    e->event_time = mrow_int(r, 17);
    e->created_at = mrow_int(r, 18);
    e->message_id = mrow_text(r, 19);
    e->original_message_id = mrow_text(r, 20);
    e->feedback_type = mrow_text(r, 21);
    e->reports = mrow_int(r, 22);
}

static int
ev_row_cb(void *ud, const struct store_row *r)
{
    struct ev_ctx *ec = ud;
    struct model_event e;

    mrow_event(r, &e);
    ec->n++;
    return ec->cb(ec->ud, &e);
}

bnc_status
model_event_list(struct store *st, const struct model_event_filter *f, int64_t after_id,
                 size_t limit, model_event_cb cb, void *ud, size_t *n_out)
{
    static const char *q =
        "SELECT " MODEL_EVENT_COLS " FROM bounce_events WHERE id > $1 AND ($2 = '' OR recipient = "
                                   "$2) AND ($3 = '' OR domain = $3) AND ($4 = '' OR reason "
        "= $4) AND ($5 = '' OR kind = $5) AND ($6 = 0 OR contact_id = $6) AND ($7 = 0 OR "
        "event_time >= $7) AND ($8 = 0 OR event_time < $8) ORDER BY id LIMIT $9";
    char addr[MODEL_EMAIL_MAX + 1], dom[MODEL_EMAIL_MAX + 1];
    struct ev_ctx ec = {cb, ud, 0};
    struct store_value p[9];
    bnc_status rc;

    addr[0] = '\0';
    if (f != NULL && f->recipient != NULL && f->recipient[0] != '\0' &&
        !model_normalize_email(f->recipient, addr)) {
        mcopy(addr, sizeof(addr), f->recipient);
    }
    p[0] = sv_int(after_id);
    p[1] = sv_text(addr);
    dom[0] = '\0';
    if (f != NULL && f->domain != NULL && f->domain[0] != '\0' &&
        !email_normalize_domain(f->domain, strlen(f->domain), dom)) {
        mcopy(dom, sizeof(dom), f->domain);
    }
    p[2] = sv_text(dom);
    p[3] = sv_text(f && f->reason ? f->reason : "");
    p[4] = sv_text(f && f->kind ? f->kind : "");
    p[5] = sv_int(f ? f->contact_id : 0);
    p[6] = sv_int(f ? f->since : 0);
    p[7] = sv_int(f ? f->until : 0);
    p[8] = sv_int((int64_t)mlimit(limit));
    rc = store_exec(st, q, p, 9, ev_row_cb, &ec, NULL);
    if (n_out != NULL) {
        *n_out = ec.n;
    }
    return rc;
}

/* ---- review ---- */

#define REVIEW_COLS                                                                         \
    "id, event_id, contact_id, recipient, reason, status, diagnostic, source, ref, state, " \
    "resolution, resolved_by, event_time, resolved_at, created_at"

struct rv_ctx {
    model_review_cb cb;
    void *ud;
    size_t n;
};

static void
rv_fill(const struct store_row *r, struct model_review *v)
{
    v->id = mrow_int(r, 0);
    v->event_id = mrow_int(r, 1);
    v->contact_id = mrow_int(r, 2);
    v->recipient = mrow_text(r, 3);
    v->reason = mrow_text(r, 4);
    v->status = mrow_text(r, 5);
    v->diagnostic = mrow_text(r, 6);
    v->source = mrow_text(r, 7);
    v->ref = mrow_text(r, 8);
    v->state = mrow_text(r, 9);
    v->resolution = mrow_text(r, 10);
    v->resolved_by = mrow_text(r, 11);
    v->event_time = mrow_int(r, 12);
    v->resolved_at = mrow_int(r, 13);
    v->created_at = mrow_int(r, 14);
}

static int
rv_row_cb(void *ud, const struct store_row *r)
{
    struct rv_ctx *rc = ud;
    struct model_review v;

    rv_fill(r, &v);
    rc->n++;
    return rc->cb(rc->ud, &v);
}

bnc_status
model_review_list(struct store *st, bool open_only, int64_t after_id, size_t limit,
                  model_review_cb cb, void *ud, size_t *n_out)
{
    static const char *q = "SELECT " REVIEW_COLS " FROM review_items WHERE id > $1 AND ($2 = 0 OR "
                           "state = 'open') ORDER BY id LIMIT $3";
    struct rv_ctx rc = {cb, ud, 0};
    struct store_value p[3];
    bnc_status s;

    p[0] = sv_int(after_id);
    p[1] = sv_int(open_only ? 1 : 0);
    p[2] = sv_int((int64_t)mlimit(limit));
    s = store_exec(st, q, p, 3, rv_row_cb, &rc, NULL);
    if (n_out != NULL) {
        *n_out = rc.n;
    }
    return s;
}

struct rv_one {
    bool found;
    bool open;
    int64_t event_id;
    int64_t event_time;
    char recipient[MODEL_EMAIL_MAX + 1];
    char reason[32];
    char status[16];
    char ref[512];
};

static int
rv_one_cb(void *ud, const struct store_row *r)
{
    struct rv_one *o = ud;
    struct model_review v;

    rv_fill(r, &v);
    o->found = true;
    o->open = strcmp(v.state, "open") == 0;
    o->event_id = v.event_id;
    o->event_time = v.event_time;
    mcopy(o->recipient, sizeof(o->recipient), v.recipient);
    mcopy(o->reason, sizeof(o->reason), v.reason);
    mcopy(o->status, sizeof(o->status), v.status);
    mcopy(o->ref, sizeof(o->ref), v.ref);
    return 1;
}

/* A hard or soft resolution: the policy over the item's verdict, carried out. */
static bnc_status
resolve_apply(struct store *st, const struct policy_cfg *pc, const struct rv_one *one,
              struct policy_verdict *pv, int64_t id, const char *actor, int64_t now,
              struct model_outcome *o)
{
    struct hyg_plan plan;
    char decided[48];
    bnc_reason reason;
    bool changed = false;
    bnc_status rc;

    snprintf(decided, sizeof(decided), "review:%lld", (long long)id);
    pv->reason = bnc_reason_from_name(one->reason, &reason) ? reason : BNC_R_UNDEFINED;
    pv->time = one->event_time;
    if ((rc = hyg_plan_make(st, pc, one->recipient, pv, now, &plan)) != BNC_OK) {
        return rc;
    }
    rc = hyg_plan_carry_out(st, &plan, one->reason, one->status, "review", one->ref, decided,
                            actor ? actor : "review", one->event_id, now, &changed);
    hyg_plan_free(&plan);
    o->actions = plan.acts;
    o->contact_id = plan.contact_id;
    o->contact_changed = changed && plan.contact_id > 0;
    return rc;
}

bnc_status
model_review_resolve(struct store *st, const struct policy_cfg *pc, int64_t id,
                     const char *resolution, const char *actor, int64_t now,
                     struct model_outcome *out)
{
    static const char *q_get = "SELECT " REVIEW_COLS " FROM review_items WHERE id = $1";
    static const char *q_upd = "UPDATE review_items SET state = 'resolved', resolution = $2, "
                               "resolved_by = $3, resolved_at = $4 WHERE id = $1 AND state = "
                               "'open'";
    static const char *q_ev = "UPDATE bounce_events SET policy = $2 WHERE id = $1";
    struct store_value p[4];
    struct rv_one one;
    struct policy_verdict pv;
    struct model_outcome o;
    char word[32];
    int64_t changes = 0;
    bnc_status rc;

    memset(&o, 0, sizeof(o));
    memset(&one, 0, sizeof(one));
    memset(&pv, 0, sizeof(pv));
    if (resolution == NULL) {
        return BNC_EINVAL;
    }
    if (strcmp(resolution, "hard") == 0) {
        pv.kind = BNC_KIND_HARD;
    } else if (strcmp(resolution, "soft") == 0) {
        pv.kind = BNC_KIND_SOFT;
        pv.side = BNC_SIDE_ADDRESS;
    } else if (strcmp(resolution, "ignore") != 0) {
        return BNC_EINVAL;
    }
    if ((rc = store_begin(st)) != BNC_OK) {
        return rc;
    }
    p[0] = sv_int(id);
    if ((rc = store_exec(st, q_get, p, 1, rv_one_cb, &one, NULL)) != BNC_OK) {
        goto fail;
    }
    if (!one.found) {
        rc = BNC_ENOTFOUND;
        goto fail;
    }
    if (!one.open) {
        rc = BNC_ECONFLICT;
        goto fail;
    }
    if (strcmp(resolution, "ignore") != 0 &&
        (rc = resolve_apply(st, pc, &one, &pv, id, actor, now, &o)) != BNC_OK) {
        goto fail;
    }
    o.event_id = one.event_id;
    p[1] = sv_text(resolution);
    p[2] = sv_text(actor ? actor : "");
    p[3] = sv_int(now);
    if ((rc = store_exec(st, q_upd, p, 4, NULL, NULL, &changes)) != BNC_OK) {
        goto fail;
    }
    if (changes == 0) {
        rc = BNC_ECONFLICT; /* resolved concurrently */
        goto fail;
    }
    if (one.event_id > 0) {
        snprintf(word, sizeof(word), "review:%s", resolution);
        p[0] = sv_int(one.event_id);
        p[1] = sv_text(word);
        if ((rc = store_exec(st, q_ev, p, 2, NULL, NULL, NULL)) != BNC_OK) {
            goto fail;
        }
    }
    if ((rc = store_commit(st)) != BNC_OK) {
        return rc;
    }
    if (out != NULL) {
        *out = o;
    }
    return BNC_OK;
fail:
    store_rollback(st);
    return rc;
}

/* ---- ingest records and offsets ---- */

bnc_status
model_ingested_find(struct store *st, const char *source, const char *ref, const char *content_hash,
                    bool *found_out)
{
    static const char *q = "SELECT id FROM ingested WHERE (source = $1 AND ref = $2) OR "
                           "content_hash = $3 LIMIT 1";
    struct store_value p[3];
    int64_t id = 0;
    bnc_status rc;

    p[0] = sv_text(source ? source : "");
    p[1] = sv_text(ref ? ref : "");
    p[2] = sv_text(content_hash ? content_hash : "");
    rc = store_query_int(st, q, p, 3, &id);
    *found_out = rc == BNC_OK;
    return rc == BNC_ENOTFOUND ? BNC_OK : rc;
}

bnc_status
model_ingested_add(struct store *st, const char *source, const char *ref, const char *content_hash,
                   int64_t verdicts, bool not_bounce, int64_t now)
{
    static const char *q = "INSERT INTO ingested (source, ref, content_hash, verdicts, not_bounce, "
                           "created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
    struct store_value p[6];
    int64_t changes = 0;
    bnc_status rc;

    p[0] = sv_text(source ? source : "");
    p[1] = sv_text(ref ? ref : "");
    p[2] = sv_text(content_hash ? content_hash : "");
    p[3] = sv_int(verdicts);
    p[4] = sv_int(not_bounce ? 1 : 0);
    p[5] = sv_int(now);
    rc = store_exec(st, q, p, 6, NULL, NULL, &changes);
    if (rc == BNC_OK && changes == 0) {
        return BNC_ECONFLICT;
    }
    return rc;
}

bnc_status
model_event_reports_copy(struct store *st, const char *content_hash, const char *source,
                         const char *ref, int64_t now)
{
    /* the events the earlier input reported first, and those it reported as a later path */
    static const char *q_first =
        "INSERT INTO event_reports (event_id, source, ref, origin, reported_at) SELECT e.id, $2, "
        "$3, e.origin, $4 FROM ingested i JOIN bounce_events e ON e.ref = i.ref AND e.source = "
        "i.source WHERE i.content_hash = $1 AND NOT (e.source = $2 AND e.ref = $3) ON CONFLICT "
        "DO NOTHING";
    static const char *q_later =
        "INSERT INTO event_reports (event_id, source, ref, origin, reported_at) SELECT r.event_id, "
        "$2, $3, r.origin, $4 FROM ingested i JOIN event_reports r ON r.ref = i.ref AND r.source "
        "= i.source WHERE i.content_hash = $1 AND NOT (r.source = $2 AND r.ref = $3) AND NOT "
        "EXISTS (SELECT 1 FROM bounce_events e WHERE e.id = r.event_id AND e.source = $2 AND "
        "e.ref = $3) ON CONFLICT DO NOTHING";
    struct store_value p[4] = {sv_text(content_hash ? content_hash : ""),
                               sv_text(source ? source : ""), sv_text(ref ? ref : ""),
                               sv_int(now)};
    bnc_status rc;

    if ((rc = store_exec(st, q_first, p, 4, NULL, NULL, NULL)) != BNC_OK) {
        return rc;
    }
    return store_exec(st, q_later, p, 4, NULL, NULL, NULL);
}

struct report_ctx {
    model_report_cb cb;
    void *ud;
};

static int
report_row_cb(void *ud, const struct store_row *r)
{
    struct report_ctx *rc = ud;

    return rc->cb(rc->ud, mrow_text(r, 0), mrow_text(r, 1), mrow_text(r, 2), mrow_int(r, 3));
}

bnc_status
model_event_reports(struct store *st, int64_t event_id, model_report_cb cb, void *ud)
{
    static const char *q = "SELECT source, ref, origin, reported_at FROM event_reports WHERE "
                           "event_id = $1 ORDER BY reported_at, source, ref";
    struct report_ctx rc = {cb, ud};
    struct store_value p[1] = {sv_int(event_id)};

    return store_exec(st, q, p, 1, report_row_cb, &rc, NULL);
}

bnc_status
model_offset_get(struct store *st, const char *source, int64_t *pos_out)
{
    static const char *q = "SELECT position FROM ingest_offsets WHERE source = $1";
    struct store_value p[1] = {sv_text(source)};
    bnc_status rc = store_query_int(st, q, p, 1, pos_out);

    if (rc == BNC_ENOTFOUND) {
        *pos_out = 0;
        return BNC_OK;
    }
    return rc;
}

bnc_status
model_offset_set(struct store *st, const char *source, int64_t pos, int64_t now)
{
    static const char *q = "INSERT INTO ingest_offsets (source, position, updated_at) VALUES ($1, "
                           "$2, $3) ON CONFLICT (source) DO UPDATE SET position = "
                           "excluded.position, updated_at = excluded.updated_at";
    struct store_value p[3] = {sv_text(source), sv_int(pos), sv_int(now)};
    return store_exec(st, q, p, 3, NULL, NULL, NULL);
}

/* ---- statistics ---- */

struct stat_ctx {
    model_stat_cb cb;
    void *ud;
    bool day;
};

static int
stat_row_cb(void *ud, const struct store_row *r)
{
    struct stat_ctx *sc = ud;
    char key[32];

    if (sc->day) {
        time_t t = (time_t)(mrow_int(r, 0) * POLICY_DAY);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(key, sizeof(key), "%Y-%m-%d", &tm);
        return sc->cb(sc->ud, key, mrow_int(r, 1));
    }
    return sc->cb(sc->ud, mrow_text(r, 0), mrow_int(r, 1));
}

bnc_status
model_stats(struct store *st, const struct policy_cfg *pc, int64_t now, enum model_stat_dim dim,
            int64_t since, int64_t until, size_t limit, model_stat_cb cb, void *ud)
{
#define STAT_WHERE " WHERE ($1 = 0 OR event_time >= $1) AND ($2 = 0 OR event_time < $2) "
    static const char *q_reason = "SELECT reason, COUNT(*) FROM bounce_events" STAT_WHERE
                                  "GROUP BY reason ORDER BY COUNT(*) DESC, reason LIMIT $3";
    static const char *q_kind = "SELECT kind, COUNT(*) FROM bounce_events" STAT_WHERE
                                "GROUP BY kind ORDER BY COUNT(*) DESC, kind LIMIT $3";
    static const char *q_domain = "SELECT domain, COUNT(*) FROM bounce_events" STAT_WHERE
                                  "GROUP BY domain ORDER BY COUNT(*) DESC, domain LIMIT $3";
    static const char *q_day = "SELECT event_time / 86400, COUNT(*) FROM bounce_events" STAT_WHERE
                               "GROUP BY event_time / 86400 ORDER BY 1 LIMIT $3";
    static const char *q_status = "SELECT st, COUNT(*) FROM (SELECT " MODEL_STATUS_NOW(
        "$2") " AS st FROM contacts c) x GROUP BY st ORDER BY COUNT(*) DESC, st LIMIT $1";
#undef STAT_WHERE
    struct stat_ctx sc = {cb, ud, dim == MODEL_STAT_DAY};
    struct store_value p[3];
    const char *q;

    switch (dim) {
    case MODEL_STAT_REASON:
        q = q_reason;
        break;
    case MODEL_STAT_KIND:
        q = q_kind;
        break;
    case MODEL_STAT_DOMAIN:
        q = q_domain;
        break;
    case MODEL_STAT_DAY:
        q = q_day;
        break;
    case MODEL_STAT_STATUS:
        q = q_status;
        break;
    default:
        return BNC_EINVAL;
    }
    if (dim == MODEL_STAT_STATUS) {
        p[0] = sv_int((int64_t)mlimit(limit));
        p[1] = sv_int(policy_decay_cutoff(pc, now));
        return store_exec(st, q, p, 2, stat_row_cb, &sc, NULL);
    }
    p[0] = sv_int(since);
    p[1] = sv_int(until);
    p[2] = sv_int((int64_t)mlimit(limit));
    return store_exec(st, q, p, 3, stat_row_cb, &sc, NULL);
}

static int
totals_status_cb(void *ud, const struct store_row *r)
{
    struct model_totals *t = ud;
    enum hyg_status s;

    if (hyg_status_from_name(mrow_text(r, 0), &s)) {
        t->by_status[s] += mrow_int(r, 1);
    }
    t->contacts += mrow_int(r, 1);
    return 0;
}

bnc_status
model_totals(struct store *st, const struct policy_cfg *pc, int64_t now, struct model_totals *out)
{
    static const char *q_status = "SELECT st, COUNT(*) FROM (SELECT " MODEL_STATUS_NOW(
        "$1") " AS st FROM contacts c) x GROUP BY st";
    struct store_value p[1] = {sv_int(policy_decay_cutoff(pc, now))};
    static const char *q_supp = "SELECT COUNT(*) FROM suppressions";
    static const char *q_ev = "SELECT COUNT(*) FROM bounce_events";
    static const char *q_rv = "SELECT COUNT(*) FROM review_items WHERE state = 'open'";
    static const char *q_msg = "SELECT COUNT(*) FROM ingested";
    static const char *q_nb = "SELECT COUNT(*) FROM ingested WHERE not_bounce = 1";
    bnc_status rc;

    memset(out, 0, sizeof(*out));
    if ((rc = store_exec(st, q_status, p, 1, totals_status_cb, out, NULL)) != BNC_OK ||
        (rc = store_query_int(st, q_supp, NULL, 0, &out->suppressions)) != BNC_OK ||
        (rc = store_query_int(st, q_ev, NULL, 0, &out->events)) != BNC_OK ||
        (rc = store_query_int(st, q_rv, NULL, 0, &out->review_open)) != BNC_OK ||
        (rc = store_query_int(st, q_msg, NULL, 0, &out->messages)) != BNC_OK ||
        (rc = store_query_int(st, q_nb, NULL, 0, &out->not_bounce)) != BNC_OK) {
        return rc;
    }
    return BNC_OK;
}
