/*
 * cmd_contacts.c - `bounced contacts import|export|show|set`: the contact records.
 *
 *   import FILE.csv [--list NAME]  the header row names the columns; `email` is required;
 *                                  `attributes` (a JSON object) and `lists` (a JSON array of
 *                                  names to subscribe to) are read as export writes them;
 *                                  a column named like a hygiene field
 *                                  (model_is_hygiene_field: export's own columns) is
 *                                  bounced's and skipped with a warning; every other column
 *                                  becomes a string
 *                                  attribute (merged into an existing contact's attributes);
 *                                  --list subscribes every imported contact to NAME. FILE
 *                                  may be `-`.
 *   export [--status S] [--list L] [--reason R] [--since TIME]
 *                                  CSV: email, hygiene fields, suppression, lists (JSON
 *                                  array), attributes (JSON object); the filters are the
 *                                  API's (GET /api/v1/contacts), status as decay leaves it.
 *                                  What export writes, import reads back unchanged.
 *   show ADDRESS                   one JSON object (with lazy decay applied)
 *   set ADDRESS key=value...       attributes (merged); `email=new@x` changes the address,
 *                                  which returns the contact to ACTIVE (DESIGN §6); a
 *                                  hygiene field name is refused (usage error)
 * What it does not do: touch hygiene state on import (a re-import never reactivates).
 * STANDARDS: RFC 4180 (CSV: quoted fields, doubled quotes, CRLF or LF line ends).
 * LIMITS: CSV_FIELD_MAX bytes per field, CSV_FIELDS_MAX columns; imports commit every
 * IMPORT_BATCH rows.
 * Exit: 0 done, 1 some rows rejected / no such contact, 2 usage error, 3 store failure.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "core/buf.h"
#include "core/xmalloc.h"
#include "hygiene_cli.h"
#include "store/model.h"

#define CSV_FIELD_MAX  (64 * 1024)
#define CSV_FIELDS_MAX 1000
#define IMPORT_BATCH   1000

static void
contacts_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced contacts import FILE.csv [--list NAME]\n"
                "       bounced contacts export [--status S] [--list L] [--reason R] "
                "[--since TIME]\n"
                "       bounced contacts show ADDRESS\n"
                "       bounced contacts set ADDRESS key=value...\n\n"
                "import: an `email` column plus attribute columns (RFC 4180 CSV; - = stdin);\n"
                "        --list NAME subscribes the imported contacts to list NAME.\n"
                "        columns attributes (JSON object) and lists (JSON array) as export\n"
                "        writes them; export's hygiene columns are skipped.\n"
                "export: contacts as CSV (filters: status, list, last reason, last bounce\n"
                "        since); import reads it back unchanged.   show: one contact as JSON.\n"
                "set:    merge attributes; email=NEW changes the address (back to ACTIVE).\n");
}

/* ---- CSV ---- */

struct csv_rec {
    char **f;
    size_t n, cap;
    bool toolong;
};

static void
csv_rec_clear(struct csv_rec *r)
{
    size_t i;
    for (i = 0; i < r->n; i++) {
        free(r->f[i]);
    }
    r->n = 0;
    r->toolong = false;
}

static void
csv_push(struct csv_rec *r, struct buf *b)
{
    if (r->n >= CSV_FIELDS_MAX) {
        r->toolong = true;
        buf_reset(b);
        return;
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->f = xrealloc(r->f, r->cap * sizeof(*r->f));
    }
    r->f[r->n++] = xstrndup(b->p ? b->p : "", b->len);
    buf_reset(b);
}

/* Read one record; false at end of input (no record). */
static bool
csv_read(FILE *fp, struct csv_rec *r)
{
    struct buf b;
    bool inq = false, any = false;
    int c;

    csv_rec_clear(r);
    buf_init(&b, CSV_FIELD_MAX);
    while ((c = fgetc(fp)) != EOF) {
        any = true;
        if (inq) {
            if (c == '"') {
                int d = fgetc(fp);
                if (d == '"') {
                    r->toolong |= buf_addc(&b, '"') != BNC_OK;
                    continue;
                }
                inq = false;
                if (d == EOF) {
                    break;
                }
                c = d; /* fall through to the unquoted handling of d */
            } else {
                r->toolong |= buf_addc(&b, (char)c) != BNC_OK;
                continue;
            }
        }
        if (c == '"' && b.len == 0) {
            inq = true;
        } else if (c == ',') {
            csv_push(r, &b);
        } else if (c == '\n') {
            break;
        } else if (c == '\r') {
            int d = fgetc(fp);
            if (d != '\n' && d != EOF) {
                ungetc(d, fp);
            }
            break;
        } else {
            r->toolong |= buf_addc(&b, (char)c) != BNC_OK;
        }
    }
    if (any) {
        csv_push(r, &b);
    }
    buf_free(&b);
    return any;
}

static bool
csv_blank(const struct csv_rec *r)
{
    return r->n == 0 || (r->n == 1 && r->f[0][0] == '\0');
}

struct import_cols {
    size_t email, attrs, lists; /* (size_t)-1 when absent */
    bool *skip;                 /* per column: not an attribute */
    size_t n;
};

static const char *
import_hname(const struct csv_rec *hdr, size_t i)
{
    /* a UTF-8 byte-order mark before the first name is common in spreadsheet exports */
    const char *h = hdr->f[i];
    return i == 0 && strncmp(h, "\xEF\xBB\xBF", 3) == 0 ? h + 3 : h;
}

/* Which column is which; false when there is no email column. */
static bool
import_header(const struct csv_rec *hdr, struct import_cols *c)
{
    size_t i;

    c->email = c->attrs = c->lists = (size_t)-1;
    c->n = hdr->n;
    c->skip = xcalloc(hdr->n ? hdr->n : 1, sizeof(*c->skip));
    for (i = 0; i < hdr->n; i++) {
        const char *h = import_hname(hdr, i);
        if (strcasecmp(h, "email") == 0) {
            c->email = i;
        } else if (strcmp(h, "attributes") == 0) {
            c->attrs = i;
        } else if (strcmp(h, "lists") == 0) {
            c->lists = i;
        }
        c->skip[i] = h[0] == '\0' || i == c->email || i == c->attrs || i == c->lists;
        if (!c->skip[i] && model_is_hygiene_field(h)) {
            /* an export's hygiene columns: bounced's own state, never an attribute */
            fprintf(stderr,
                    "bounced: contacts import: column '%s' is managed by bounced: not imported\n",
                    h);
            c->skip[i] = true;
        }
    }
    return c->email != (size_t)-1;
}

/* The row's attributes (JSON text, heap) and lists (a new JSON array, or NULL); NULL and a
 * reason in *why when a cell does not parse. */
static char *
import_row(const struct import_cols *c, const struct csv_rec *hdr, const struct csv_rec *rec,
           json_t **lists_out, const char **why)
{
    json_error_t jerr;
    json_t *attrs = NULL, *lists = NULL, *v;
    char *js;
    size_t i;

    *lists_out = NULL;
    if (c->attrs < rec->n && rec->f[c->attrs][0] != '\0') {
        attrs = json_loads(rec->f[c->attrs], JSON_REJECT_DUPLICATES, &jerr);
    }
    if (attrs == NULL && (c->attrs >= rec->n || rec->f[c->attrs][0] == '\0')) {
        attrs = json_object();
    }
    if (!json_is_object(attrs)) {
        json_decref(attrs);
        *why = "the attributes column is not a JSON object";
        return NULL;
    }
    if (c->lists < rec->n && rec->f[c->lists][0] != '\0') {
        lists = json_loads(rec->f[c->lists], 0, &jerr);
        json_array_foreach(lists, i, v)
        {
            if (!model_list_name_ok(json_string_value(v))) {
                json_decref(lists);
                lists = NULL;
                break;
            }
        }
        if (!json_is_array(lists)) {
            json_decref(lists);
            json_decref(attrs);
            *why = "the lists column is not a JSON array of list names";
            return NULL;
        }
    }
    for (i = 0; i < rec->n && i < hdr->n; i++) {
        if (!c->skip[i]) {
            json_object_set_new(attrs, import_hname(hdr, i), json_string(rec->f[i]));
        }
    }
    js = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(attrs);
    *lists_out = lists;
    return js;
}

/* One contact: upsert, the lists of its row, the --list of the command. */
static bnc_status
import_write(struct store *st, const char *addr, const char *js, json_t *lists, int64_t list_id,
             int64_t now, bool *created)
{
    json_t *v;
    int64_t id, lid;
    size_t i;
    bnc_status rc = model_contact_upsert(st, addr, js, now, &id, created);

    json_array_foreach(lists, i, v)
    {
        if (rc == BNC_OK &&
            (rc = model_list_ensure(st, json_string_value(v), now, &lid)) == BNC_OK) {
            rc = model_list_subscribe(st, lid, id, now);
        }
    }
    if (rc == BNC_OK && list_id > 0) {
        rc = model_list_subscribe(st, list_id, id, now);
    }
    return rc;
}

struct import_run {
    const char *path;
    size_t line, created, updated, bad, inbatch;
};

/* One data row: checked completely before any write, so a rejected row never dooms the
 * batch. Returns the store status (BNC_OK also for a rejected row). */
static bnc_status
import_one(struct store *st, struct import_run *ir, const struct import_cols *c,
           const struct csv_rec *hdr, const struct csv_rec *rec, int64_t list_id, int64_t now)
{
    char addr[MODEL_EMAIL_MAX + 1];
    const char *why = NULL;
    json_t *lists = NULL;
    char *js = NULL;
    bool created = false;
    bnc_status rc;

    if (rec->toolong || c->email >= rec->n) {
        why = rec->toolong ? "field or row too long" : "no email";
    } else if (!model_normalize_email(rec->f[c->email], addr)) {
        why = "not a usable address";
    } else {
        js = import_row(c, hdr, rec, &lists, &why);
    }
    if (js == NULL) {
        fprintf(stderr, "bounced: contacts import: %s:%zu: %s\n", ir->path, ir->line,
                why != NULL ? why : "unusable row");
        ir->bad++;
        return BNC_OK;
    }
    if (ir->inbatch == 0 && (rc = store_begin(st)) != BNC_OK) {
        free(js);
        json_decref(lists);
        return rc;
    }
    ir->inbatch++;
    rc = import_write(st, addr, js, lists, list_id, now, &created);
    free(js);
    json_decref(lists);
    if (rc != BNC_OK) {
        store_rollback(st);
        ir->inbatch = 0;
        return rc;
    }
    ir->created += created ? 1 : 0;
    ir->updated += created ? 0 : 1;
    if (ir->inbatch >= IMPORT_BATCH) {
        ir->inbatch = 0;
        return store_commit(st);
    }
    return BNC_OK;
}

static int
contacts_import(struct cli_globals *g, struct store *st, const char *path, const char *list)
{
    struct csv_rec hdr = {0}, rec = {0};
    struct import_cols cols = {0};
    struct import_run ir = {path, 1, 0, 0, 0, 0};
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    int64_t list_id = 0, now = cli_now(g);
    bnc_status rc = BNC_OK;
    int ex = CLI_EXIT_CONFIG;

    if (fp == NULL) {
        perror(path);
        return CLI_EXIT_NEG;
    }
    if (!csv_read(fp, &hdr) || !import_header(&hdr, &cols)) {
        fprintf(stderr, "bounced: contacts import: %s: %s\n", path,
                hdr.n == 0 ? "empty file" : "no 'email' column in the header");
        ex = hdr.n == 0 ? CLI_EXIT_NEG : CLI_EXIT_USAGE;
        goto out;
    }
    if (list != NULL && (rc = model_list_ensure(st, list, now, &list_id)) != BNC_OK) {
        hcli_store_err(st, "contacts import", list, rc);
        goto out;
    }
    while (rc == BNC_OK && csv_read(fp, &rec)) {
        ir.line++;
        if (!csv_blank(&rec)) {
            rc = import_one(st, &ir, &cols, &hdr, &rec, list_id, now);
        }
    }
    if (rc == BNC_OK && ir.inbatch > 0) {
        rc = store_commit(st);
    }
    if (rc != BNC_OK) {
        hcli_store_err(st, "contacts import", path, rc);
        goto out;
    }
    printf("imported: %zu new, %zu updated, %zu rejected%s%s\n", ir.created, ir.updated, ir.bad,
           list ? ", list " : "", list ? list : "");
    ex = ir.bad > 0 ? CLI_EXIT_NEG : CLI_EXIT_OK;
out:
    free(cols.skip);
    csv_rec_clear(&hdr);
    csv_rec_clear(&rec);
    free(hdr.f);
    free(rec.f);
    if (fp != stdin) {
        fclose(fp);
    }
    return ex;
}

struct export_ctx {
    struct store *st;
    int64_t last;
    bnc_status rc;
    json_t *lists;
};

static int
export_list_cb(void *ud, const struct model_membership *m)
{
    struct export_ctx *ec = ud;

    if (m->subscribed) {
        json_array_append_new(ec->lists, json_string(m->list));
    }
    return 0;
}

static int
export_row(void *ud, const struct model_contact *c)
{
    struct export_ctx *ec = ud;
    char n[32], *lists;

    ec->lists = json_array();
    if ((ec->rc = model_contact_memberships(ec->st, c->id, export_list_cb, ec)) != BNC_OK) {
        json_decref(ec->lists);
        return 1;
    }
    lists = json_dumps(ec->lists, JSON_COMPACT);
    json_decref(ec->lists);
    hcli_csv_field(stdout, c->email);
    printf(",%s,%lld,", hyg_status_name(c->status), (long long)c->soft_count);
    snprintf(n, sizeof(n), "%lld", (long long)c->last_bounce_at);
    printf("%s,", c->last_bounce_at ? n : "");
    hcli_csv_field(stdout, c->last_reason);
    putchar(',');
    hcli_csv_field(stdout, c->last_status);
    printf(",%s,", c->suppressed ? "1" : "0");
    hcli_csv_field(stdout, c->supp_reason);
    putchar(',');
    hcli_csv_field(stdout, lists != NULL ? lists : "[]");
    putchar(',');
    hcli_csv_field(stdout, c->attributes);
    printf("\r\n");
    free(lists);
    ec->last = c->id;
    return 0;
}

/* export's filters: --status S --list L --reason R --since TIME. -1 to go on, else exit. */
static int
export_args(int argc, char **argv, struct model_contact_filter *f)
{
    int i;

    memset(f, 0, sizeof(*f));
    for (i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        enum hyg_status hs;
        if (v == NULL || o[0] != '-') {
            contacts_usage(stderr);
            return CLI_EXIT_USAGE;
        }
        i++;
        if (strcmp(o, "--status") == 0 && hyg_status_from_name(v, &hs)) {
            f->status = hyg_status_name(hs);
        } else if (strcmp(o, "--list") == 0 && model_list_name_ok(v)) {
            f->list = v;
        } else if (strcmp(o, "--reason") == 0 && v[0] != '\0') {
            f->reason = v;
        } else if (strcmp(o, "--since") == 0 && cli_parse_time(v, &f->since) == 0) {
            continue;
        } else {
            fprintf(stderr,
                    "bounced: contacts export: bad %s '%s' (status: ACTIVE, "
                    "SOFT_BOUNCING, BOUNCED_HARD or COMPLAINED)\n",
                    o, v);
            return CLI_EXIT_USAGE;
        }
    }
    return -1;
}

static int
contacts_export(struct cli_globals *g, struct store *st, const struct model_contact_filter *f)
{
    struct policy_cfg pc;
    struct export_ctx ec = {st, 0, BNC_OK, NULL};
    size_t n = 0;
    bnc_status rc;

    hcli_policy(g, &pc);
    printf("email,hygiene_status,soft_bounce_count,last_bounce_at,last_reason,last_status,"
           "suppressed,suppression_reason,lists,attributes\r\n");
    do {
        rc = model_contact_list(st, &pc, f, ec.last, MODEL_LIMIT_MAX, cli_now(g), export_row, &ec,
                                &n);
    } while (rc == BNC_OK && ec.rc == BNC_OK && n == MODEL_LIMIT_MAX);
    if (rc == BNC_OK) {
        rc = ec.rc;
    }
    if (rc != BNC_OK) {
        hcli_store_err(st, "contacts export", "list", rc);
        return CLI_EXIT_CONFIG;
    }
    return CLI_EXIT_OK;
}

static int
contacts_show(struct cli_globals *g, struct store *st, const char *addr)
{
    struct policy_cfg pc;
    struct model_contact c;
    char lists[4096], when[32];
    char *p, *q;
    bnc_status rc;

    hcli_policy(g, &pc);
    rc = model_contact_find(st, &pc, addr, cli_now(g), &c);
    if (rc == BNC_ENOTFOUND) {
        fprintf(stderr, "bounced: contacts show: no contact '%s'\n", addr);
        return CLI_EXIT_NEG;
    }
    if (rc != BNC_OK || (rc = model_contact_lists(st, c.id, lists, sizeof(lists))) != BNC_OK) {
        hcli_store_err(st, "contacts show", addr, rc);
        model_contact_free(&c);
        return CLI_EXIT_CONFIG;
    }
    printf("{\"id\":%lld,\"email\":", (long long)c.id);
    hcli_json_str(stdout, c.email);
    printf(",\"hygiene_status\":\"%s\",\"soft_bounce_count\":%lld,\"last_bounce_at\":",
           hyg_status_name(c.status), (long long)c.soft_count);
    if (c.last_bounce_at) {
        printf("\"%s\"", hcli_time(c.last_bounce_at, when));
    } else {
        printf("null");
    }
    printf(",\"last_reason\":");
    hcli_json_str(stdout, c.last_reason);
    printf(",\"last_status\":");
    hcli_json_str(stdout, c.last_status);
    printf(",\"suppressed\":%s", c.suppressed ? "true" : "false");
    if (c.suppressed) {
        printf(",\"suppression\":{\"reason\":");
        hcli_json_str(stdout, c.supp_reason);
        printf(",\"source\":");
        hcli_json_str(stdout, c.supp_source);
        printf(",\"since\":\"%s\"}", hcli_time(c.supp_since, when));
    }
    printf(",\"lists\":[");
    for (p = lists; *p;) {
        q = strchr(p, ',');
        if (q != NULL) {
            *q = '\0';
        }
        if (p != lists) {
            putchar(',');
        }
        hcli_json_str(stdout, p);
        if (q == NULL) {
            break;
        }
        p = q + 1;
    }
    printf("],\"attributes\":%s,\"created_at\":\"%s\"", c.attributes,
           hcli_time(c.created_at, when));
    printf(",\"updated_at\":\"%s\"}\n", hcli_time(c.updated_at, when));
    model_contact_free(&c);
    return CLI_EXIT_OK;
}

static int
contacts_set(struct cli_globals *g, struct store *st, const char *addr, int n, char **kv)
{
    struct model_contact c;
    const char *new_email = NULL;
    json_t *attrs = json_object();
    int64_t now = cli_now(g);
    char *js;
    bnc_status rc;
    int i, ex = CLI_EXIT_OK;

    for (i = 0; i < n; i++) {
        char *eq = strchr(kv[i], '=');
        if (eq == NULL || eq == kv[i]) {
            fprintf(stderr, "bounced: contacts set: expected key=value, got '%s'\n", kv[i]);
            json_decref(attrs);
            return CLI_EXIT_USAGE;
        }
        *eq = '\0';
        if (strcmp(kv[i], "email") == 0) {
            new_email = eq + 1;
        } else if (model_is_hygiene_field(kv[i])) {
            fprintf(stderr,
                    "bounced: contacts set: '%s' is managed by bounced, not an attribute "
                    "(suppress/unsuppress and the bounces change it)\n",
                    kv[i]);
            json_decref(attrs);
            return CLI_EXIT_USAGE;
        } else {
            json_object_set_new(attrs, kv[i], json_string(eq + 1));
        }
    }
    rc = model_contact_find(st, NULL, addr, now, &c);
    if (rc == BNC_ENOTFOUND) {
        fprintf(stderr, "bounced: contacts set: no contact '%s'\n", addr);
        json_decref(attrs);
        return CLI_EXIT_NEG;
    }
    if (rc != BNC_OK) {
        hcli_store_err(st, "contacts set", addr, rc);
        json_decref(attrs);
        return CLI_EXIT_CONFIG;
    }
    js = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(attrs);
    if ((rc = store_begin(st)) == BNC_OK) {
        if (js != NULL && strcmp(js, "{}") != 0) {
            rc = model_contact_set_attributes(st, c.id, js, true, now);
        }
        if (rc == BNC_OK && new_email != NULL) {
            rc = model_contact_set_email(st, c.id, new_email, "cli", now);
        }
        if (rc == BNC_OK) {
            rc = store_commit(st);
        } else {
            store_rollback(st);
        }
    }
    free(js);
    if (rc == BNC_ECONFLICT) {
        fprintf(stderr, "bounced: contacts set: another contact has '%s'\n", new_email);
        ex = CLI_EXIT_NEG;
    } else if (rc == BNC_EINVAL) {
        fprintf(stderr, "bounced: contacts set: invalid value\n");
        ex = CLI_EXIT_USAGE;
    } else if (rc != BNC_OK) {
        hcli_store_err(st, "contacts set", addr, rc);
        ex = CLI_EXIT_CONFIG;
    } else {
        printf("%s: updated\n", new_email ? new_email : addr);
    }
    model_contact_free(&c);
    return ex;
}

static int
contacts_run(struct cli_globals *g, int argc, char **argv)
{
    struct store *st = NULL;
    struct model_contact_filter f;
    const char *list = NULL, *file = NULL;
    int ex, i;

    if (cli_wants_help(argc, argv) || argc < 2) {
        contacts_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "import") == 0) {
        for (i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--list") == 0 && i + 1 < argc) {
                list = argv[++i];
            } else if (strncmp(argv[i], "--list=", 7) == 0) {
                list = argv[i] + 7;
            } else if (file == NULL && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)) {
                file = argv[i];
            } else {
                contacts_usage(stderr);
                return CLI_EXIT_USAGE;
            }
        }
        if (file == NULL) {
            contacts_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    } else if (strcmp(argv[1], "export") == 0) {
        if ((ex = export_args(argc, argv, &f)) >= 0) {
            return ex;
        }
    } else if (!((strcmp(argv[1], "show") == 0 && argc == 3) ||
                 (strcmp(argv[1], "set") == 0 && argc >= 4))) {
        contacts_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    ex = strcmp(argv[1], "export") == 0 || strcmp(argv[1], "show") == 0 ? hcli_open_existing(g, &st)
                                                                        : hcli_open(g, &st);
    if (ex != CLI_EXIT_OK) {
        return ex;
    }
    if (strcmp(argv[1], "import") == 0) {
        ex = contacts_import(g, st, file, list);
    } else if (strcmp(argv[1], "export") == 0) {
        ex = contacts_export(g, st, &f);
    } else if (strcmp(argv[1], "show") == 0) {
        ex = contacts_show(g, st, argv[2]);
    } else {
        ex = contacts_set(g, st, argv[2], argc - 3, argv + 3);
    }
    store_close(st);
    return ex;
}

const struct cli_cmd cli_cmd_contacts = {
    "contacts",
    "import, export, show or update contacts",
    contacts_run,
};
