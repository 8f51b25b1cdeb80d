/*
 * check.c - the suppression check in one statement, the hot path of GET /api/v1/check: a
 * suppression row first, then a BOUNCED_HARD or COMPLAINED contact without one (the same
 * answer as model_check(), with one store round trip instead of two).
 *
 * Portable SQL only; the address must be normalized already (model_normalize_email).
 * Ownership: see api_store.h.
 */
#include "api_store.h"

#include <string.h>

#include "model.h"
#include "store.h"

static int
api_check_cb(void *ud, const struct store_row *row)
{
    struct model_check *c = ud;

    if (row->ncols < 6) {
        return 1;
    }
    if (row->cols[0].type != SV_NULL) { /* a suppression row */
        c->sendable = false;
        sv_copy(c->reason, sizeof(c->reason), &row->cols[0]);
        sv_copy(c->source, sizeof(c->source), &row->cols[1]);
        c->since = sv_as_int(&row->cols[2]);
    }
    if (row->cols[3].type != SV_NULL) { /* a contact */
        c->known = true;
        sv_copy(c->status, sizeof(c->status), &row->cols[3]);
        if (c->sendable &&
            (strcmp(c->status, "BOUNCED_HARD") == 0 || strcmp(c->status, "COMPLAINED") == 0)) {
            c->sendable = false;
            sv_copy(c->reason, sizeof(c->reason), &row->cols[4]);
            memcpy(c->source, "contact", sizeof("contact"));
            c->since = sv_as_int(&row->cols[5]);
        }
    }
    return 1;
}

bnc_status
api_check_lookup(struct store *st, const char *address, struct model_check *out)
{
    /* CAST gives PostgreSQL the parameter's type; both sides are unique indexes. */
    static const char sql[] =
        "SELECT s.reason, s.source, s.created_at, c.hygiene_status, c.last_reason, "
        "c.last_bounce_at FROM (SELECT CAST($1 AS TEXT) AS a) q "
        "LEFT JOIN suppressions s ON s.address = q.a LEFT JOIN contacts c ON c.email = q.a";
    struct store_value p[1];

    memset(out, 0, sizeof(*out));
    out->sendable = true;
    p[0] = sv_text(address);
    return store_exec(st, sql, p, 1, api_check_cb, out, NULL);
}
