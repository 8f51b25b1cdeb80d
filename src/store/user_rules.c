/*
 * user_rules.c - the rules table of 0002_api.sql: classification rules a person stored
 * through the API (POST /api/v1/rules), loaded by the daemon before the built-in ones.
 *
 * It stores rule lines as text and does not check them (the API checks a line with the
 * classifier before storing it). Portable SQL only.
 * LIMITS: api_rule_list returns at most API_RULES_MAX rows.
 * Ownership: see api_store.h; api_rule_list hands the caller a heap array.
 */
#include "api_store.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "store.h"

#define API_RULES_MAX 10000

bnc_status
api_rule_insert(struct store *st, const char *pattern, const char *created_by, const char *note,
                int64_t now, int64_t *id_out)
{
    static const char sql[] = "INSERT INTO rules (pattern, created_at, created_by, note) "
                              "VALUES ($1, $2, $3, $4) RETURNING id";
    struct store_value p[4];

    p[0] = sv_text(pattern);
    p[1] = sv_int(now);
    p[2] = sv_text(created_by != NULL ? created_by : "");
    p[3] = sv_text(note != NULL ? note : "");
    return store_query_int(st, sql, p, 4, id_out);
}

bnc_status
api_rule_delete(struct store *st, int64_t id)
{
    static const char sql[] = "DELETE FROM rules WHERE id = $1";
    struct store_value p[1];
    int64_t changed = 0;
    bnc_status rc;

    p[0] = sv_int(id);
    rc = store_exec(st, sql, p, 1, NULL, NULL, &changed);
    if (rc == BNC_OK && changed == 0) {
        rc = BNC_ENOTFOUND;
    }
    return rc;
}

struct api_rules_ud {
    struct api_rule_row *rows;
    size_t n, alloc;
};

static int
api_rules_cb(void *ud, const struct store_row *row)
{
    struct api_rules_ud *r = ud;
    struct api_rule_row *x;

    if (row->ncols < 5) {
        return 0;
    }
    if (r->n >= API_RULES_MAX) {
        return 1;
    }
    if (r->n == r->alloc) {
        r->alloc = r->alloc == 0 ? 16 : r->alloc * 2;
        r->rows = xrealloc(r->rows, r->alloc * sizeof(*r->rows));
    }
    x = &r->rows[r->n++];
    x->id = sv_as_int(&row->cols[0]);
    x->pattern = sv_dup(&row->cols[1]);
    x->created_at = sv_as_int(&row->cols[2]);
    x->created_by = sv_dup(&row->cols[3]);
    x->note = sv_dup(&row->cols[4]);
    return 0;
}

bnc_status
api_rule_list(struct store *st, struct api_rule_row **rows_out, size_t *n_out)
{
    static const char sql[] =
        "SELECT id, pattern, created_at, created_by, note FROM rules ORDER BY id";
    struct api_rules_ud r = {NULL, 0, 0};
    bnc_status rc;

    rc = store_exec(st, sql, NULL, 0, api_rules_cb, &r, NULL);
    if (rc != BNC_OK) {
        api_rule_rows_free(r.rows, r.n);
        *rows_out = NULL;
        *n_out = 0;
        return rc;
    }
    *rows_out = r.rows;
    *n_out = r.n;
    return BNC_OK;
}

void
api_rule_rows_free(struct api_rule_row *rows, size_t n)
{
    size_t i;

    if (rows == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        free(rows[i].pattern);
        free(rows[i].created_by);
        free(rows[i].note);
    }
    free(rows);
}
