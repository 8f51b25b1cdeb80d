/*
 * model_renorm.c - the part of a migration SQL cannot do: rewriting stored addresses into
 * the one form of core/email.h when a release changes that form (0003: IDNA A-labels, no
 * trailing dot). Without it an address suppressed in its old form ("anna@bücher.example")
 * would no longer be found under its new one and would check as sendable.
 *
 * Runs inside the migration's transaction (store.c calls store_migration_code() after the
 * file's SQL): contacts.email, suppressions.address and bounce_events.recipient/domain. A
 * contact whose new form another contact holds already is left as it is and logged by id
 * (merging two contacts' histories is a person's decision); a suppression whose new form is
 * suppressed already is dropped (the address stays suppressed).
 * What it does not do: rewrite the audit log (history keeps what was written then).
 * LIMITS: one pass over each table; only rows whose form changes are held in memory.
 * Ownership: nothing outlives the call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/email.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/model_int.h"
#include "store/store_int.h"

struct renorm_row {
    int64_t id;
    char *to;
};

struct renorm_set {
    struct renorm_row *rows;
    size_t n, cap;
};

/* Row callback over (id, address): keep the rows whose normal form differs. */
static int
renorm_collect(void *ud, const struct store_row *r)
{
    struct renorm_set *rs = ud;
    const char *addr = mrow_text(r, 1);
    char norm[EMAIL_MAX + 1];

    if (!email_normalize(addr, strlen(addr), norm, NULL) || strcmp(norm, addr) == 0) {
        return 0;
    }
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 64;
        rs->rows = xrealloc(rs->rows, rs->cap * sizeof(*rs->rows));
    }
    rs->rows[rs->n].id = mrow_int(r, 0);
    rs->rows[rs->n].to = xstrdup(norm);
    rs->n++;
    return 0;
}

static void
renorm_free(struct renorm_set *rs)
{
    size_t i;

    for (i = 0; i < rs->n; i++) {
        free(rs->rows[i].to);
    }
    free(rs->rows);
    memset(rs, 0, sizeof(*rs));
}

/* Collect with sel, then run upd ($1 = new form, $2 = id, and $3 = its domain when upd has
 * nparams 3) on each; when upd changed nothing (the new form is taken), run taken ($1 id,
 * may be NULL) and count it in *taken_n. */
static bnc_status
renorm_table(struct store *st, const char *sel, const char *upd, size_t nparams,
             const char *taken, size_t *fixed_n, size_t *taken_n)
{
    struct renorm_set rs = {0};
    struct store_value p[3];
    int64_t changes;
    bnc_status rc;
    size_t i;

    if ((rc = store_exec(st, sel, NULL, 0, renorm_collect, &rs, NULL)) != BNC_OK) {
        renorm_free(&rs);
        return rc;
    }
    for (i = 0; i < rs.n && rc == BNC_OK; i++) {
        p[0] = sv_text(rs.rows[i].to);
        p[1] = sv_int(rs.rows[i].id);
        p[2] = sv_text(strchr(rs.rows[i].to, '@') + 1);
        changes = 0;
        rc = store_exec(st, upd, p, nparams, NULL, NULL, &changes);
        if (rc == BNC_OK && changes > 0) {
            (*fixed_n)++;
        } else if (rc == BNC_OK) {
            (*taken_n)++;
            if (taken != NULL) {
                rc = store_exec(st, taken, &p[1], 1, NULL, NULL, NULL);
            } else {
                log_warnx("event=migrate_address table=contacts id=%lld status=kept detail=\"its "
                          "address in the new form belongs to another contact: merge by hand\"",
                          (long long)rs.rows[i].id);
            }
        }
    }
    renorm_free(&rs);
    return rc;
}

static bnc_status
renorm_addresses(struct store *st)
{
    static const char *c_sel = "SELECT id, email FROM contacts";
    static const char *c_upd = "UPDATE contacts SET email = $1 WHERE id = $2 AND NOT EXISTS "
                               "(SELECT 1 FROM contacts o WHERE o.email = $1)";
    static const char *s_sel = "SELECT id, address FROM suppressions";
    static const char *s_upd = "UPDATE suppressions SET address = $1 WHERE id = $2 AND NOT "
                               "EXISTS (SELECT 1 FROM suppressions o WHERE o.address = $1)";
    static const char *s_dup = "DELETE FROM suppressions WHERE id = $1";
    static const char *e_sel = "SELECT id, recipient FROM bounce_events";
    static const char *e_upd =
        "UPDATE bounce_events SET recipient = $1, domain = $3 WHERE id = $2";
    size_t fixed = 0, kept = 0, efixed = 0, enone = 0;
    bnc_status rc;

    if ((rc = renorm_table(st, c_sel, c_upd, 2, NULL, &fixed, &kept)) != BNC_OK ||
        (rc = renorm_table(st, s_sel, s_upd, 2, s_dup, &fixed, &kept)) != BNC_OK ||
        (rc = renorm_table(st, e_sel, e_upd, 3, NULL, &efixed, &enone)) != BNC_OK) {
        return rc;
    }
    if (fixed + kept + efixed > 0) {
        log_info("event=migrate_address rewritten=%zu taken=%zu events=%zu", fixed, kept,
                 efixed);
    }
    return BNC_OK;
}

bnc_status
store_migration_code(struct store *st, const char *version)
{
    const char *name = strchr(version, '_');

    /* by name, not number: the number may change when migrations are merged */
    if (name != NULL && strcmp(name, "_event_reports") == 0) {
        return renorm_addresses(st);
    }
    return BNC_OK;
}
