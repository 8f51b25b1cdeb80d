/*
 * model_esp.c - what bounced last agreed with each ESP's suppression list (table
 * esp_suppressions): read whole for one ESP, marked after a push or an import, forgotten
 * when neither side has the address any more. The sync itself is ingest/esp_sync.c.
 * STANDARDS: none beyond store.h's portable SQL.
 * LIMITS: none here (the sync bounds how many addresses it holds).
 * Ownership: see guards.h.
 */
#include "store/guards.h"
#include "store/model_int.h"

struct esp_ctx {
    guard_esp_cb cb;
    void *ud;
};

static int
esp_row_cb(void *ud, const struct store_row *r)
{
    struct esp_ctx *c = ud;
    return c->cb(c->ud, mrow_text(r, 0), mrow_text(r, 1));
}

bnc_status
guard_esp_list(struct store *st, const char *esp, guard_esp_cb cb, void *ud)
{
    static const char *q = "SELECT address, origin FROM esp_suppressions WHERE esp = $1 ORDER "
                           "BY address";
    struct store_value p[1] = {sv_text(esp)};
    struct esp_ctx c = {cb, ud};
    return store_exec(st, q, p, 1, esp_row_cb, &c, NULL);
}

bnc_status
guard_esp_mark(struct store *st, const char *esp, const char *address, const char *origin,
               int64_t now)
{
    static const char *q = "INSERT INTO esp_suppressions (esp, address, origin, synced_at) "
                           "VALUES ($1, $2, $3, $4) ON CONFLICT (esp, address) DO UPDATE SET "
                           "synced_at = excluded.synced_at";
    struct store_value p[4] = {sv_text(esp), sv_text(address), sv_text(origin), sv_int(now)};
    return store_exec(st, q, p, 4, NULL, NULL, NULL);
}

bnc_status
guard_esp_forget(struct store *st, const char *esp, const char *address)
{
    static const char *q = "DELETE FROM esp_suppressions WHERE esp = $1 AND address = $2";
    struct store_value p[2] = {sv_text(esp), sv_text(address)};
    return store_exec(st, q, p, 2, NULL, NULL, NULL);
}
