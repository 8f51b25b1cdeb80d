/*
 * cmd_contacts.c - `bounced contacts import|export|show|set`: the contact records.
 *
 *   import FILE.csv [--list NAME]  the header row names the columns; `email` is required,
 *                                  every other column becomes a string attribute (merged
 *                                  into an existing contact's attributes) except those named
 *                                  like a hygiene field (model_is_hygiene_field: an export's
 *                                  own columns), skipped with a warning; --list subscribes
 *                                  every imported contact to NAME. FILE may be `-`.
 *   export                         CSV: email, hygiene fields, suppression, attributes (JSON)
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
                "       bounced contacts export\n"
                "       bounced contacts show ADDRESS\n"
                "       bounced contacts set ADDRESS key=value...\n\n"
                "import: an `email` column plus attribute columns (RFC 4180 CSV; - = stdin);\n"
                "        --list NAME subscribes the imported contacts to list NAME.\n"
                "export: every contact as CSV.   show: one contact as JSON.\n"
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

static int
contacts_import(struct cli_globals *g, struct store *st, const char *path, const char *list)
{
    struct csv_rec hdr = {0}, rec = {0};
    char addr[MODEL_EMAIL_MAX + 1];
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    size_t email_col = (size_t)-1, i, line = 1, created = 0, updated = 0, bad = 0, inbatch = 0;
    int64_t list_id = 0, now = cli_now(g), id;
    bnc_status rc = BNC_OK;
    bool was_created;
    int ex = CLI_EXIT_OK;

    if (fp == NULL) {
        perror(path);
        return CLI_EXIT_NEG;
    }
    if (!csv_read(fp, &hdr)) {
        fprintf(stderr, "bounced: contacts import: %s: empty file\n", path);
        ex = CLI_EXIT_NEG;
        goto out;
    }
    for (i = 0; i < hdr.n; i++) {
        /* a UTF-8 byte-order mark before the first name is common in spreadsheet exports */
        const char *h = hdr.f[i];
        if (i == 0 && strncmp(h, "\xEF\xBB\xBF", 3) == 0) {
            h += 3;
        }
        if (strcasecmp(h, "email") == 0) {
            email_col = i;
        } else if (model_is_hygiene_field(h)) {
            /* an export's hygiene columns: bounced's own state, never an attribute */
            fprintf(stderr,
                    "bounced: contacts import: %s: column '%s' is managed by bounced: not "
                    "imported\n",
                    path, h);
            hdr.f[i][0] = '\0'; /* an empty name: the column is skipped below */
        }
    }
    if (email_col == (size_t)-1) {
        fprintf(stderr, "bounced: contacts import: %s: no 'email' column in the header\n", path);
        ex = CLI_EXIT_USAGE;
        goto out;
    }
    if (list != NULL && (rc = model_list_ensure(st, list, now, &list_id)) != BNC_OK) {
        hcli_store_err(st, "contacts import", list, rc);
        ex = CLI_EXIT_CONFIG;
        goto out;
    }
    while (csv_read(fp, &rec)) {
        json_t *attrs;
        char *js;

        line++;
        if (csv_blank(&rec)) {
            continue;
        }
        if (rec.toolong || email_col >= rec.n) {
            fprintf(stderr, "bounced: contacts import: %s:%zu: %s\n", path, line,
                    rec.toolong ? "field or row too long" : "no email");
            bad++;
            continue;
        }
        if (!model_normalize_email(rec.f[email_col], addr)) {
            /* checked before the write: a rejected row must not doom the batch */
            fprintf(stderr, "bounced: contacts import: %s:%zu: not a usable address: '%s'\n", path,
                    line, rec.f[email_col]);
            bad++;
            continue;
        }
        attrs = json_object();
        for (i = 0; i < rec.n && i < hdr.n; i++) {
            if (i != email_col && hdr.f[i][0] != '\0') {
                json_object_set_new(attrs, hdr.f[i], json_string(rec.f[i]));
            }
        }
        js = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(attrs);
        if (inbatch == 0 && (rc = store_begin(st)) != BNC_OK) {
            free(js);
            break;
        }
        inbatch++;
        rc = model_contact_upsert(st, addr, js, now, &id, &was_created);
        free(js);
        if (rc == BNC_OK && list_id > 0) {
            rc = model_list_subscribe(st, list_id, id, now);
        }
        if (rc != BNC_OK) {
            store_rollback(st);
            inbatch = 0;
            break;
        }
        created += was_created ? 1 : 0;
        updated += was_created ? 0 : 1;
        if (inbatch >= IMPORT_BATCH) {
            inbatch = 0;
            if ((rc = store_commit(st)) != BNC_OK) {
                break;
            }
        }
    }
    if (rc == BNC_OK && inbatch > 0) {
        rc = store_commit(st);
    }
    if (rc != BNC_OK) {
        hcli_store_err(st, "contacts import", path, rc);
        ex = CLI_EXIT_CONFIG;
        goto out;
    }
    printf("imported: %zu new, %zu updated, %zu rejected%s%s\n", created, updated, bad,
           list ? ", list " : "", list ? list : "");
    ex = bad > 0 ? CLI_EXIT_NEG : CLI_EXIT_OK;
out:
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
    int64_t last;
};

static int
export_row(void *ud, const struct model_contact *c)
{
    struct export_ctx *ec = ud;
    char n[32];

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
    hcli_csv_field(stdout, c->attributes);
    printf("\r\n");
    ec->last = c->id;
    return 0;
}

static int
contacts_export(struct cli_globals *g, struct store *st)
{
    struct policy_cfg pc;
    struct export_ctx ec = {0};
    size_t n = 0;
    bnc_status rc;

    hcli_policy(g, &pc);
    printf("email,hygiene_status,soft_bounce_count,last_bounce_at,last_reason,last_status,"
           "suppressed,suppression_reason,attributes\r\n");
    do {
        rc = model_contact_list(st, &pc, NULL, ec.last, MODEL_LIMIT_MAX, cli_now(g), export_row,
                                &ec, &n);
    } while (rc == BNC_OK && n == MODEL_LIMIT_MAX);
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
    } else if (!((strcmp(argv[1], "export") == 0 && argc == 2) ||
                 (strcmp(argv[1], "show") == 0 && argc == 3) ||
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
        ex = contacts_export(g, st);
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
