/*
 * csv.c - cells and rows of the CSV exports (events, suppressions).
 *
 * A cell is quoted when it holds a comma, a double quote, CR or LF, with quotes doubled.
 * Bounce text is hostile and exports are opened in spreadsheets: a cell whose first byte
 * would make a spreadsheet evaluate it (= + - @, TAB, CR) is written with a leading
 * apostrophe, the usual defence against formula injection (OWASP "CSV Injection").
 * STANDARDS: RFC 4180 (CRLF line ends, quoting), RFC 6266 (Content-Disposition).
 * LIMITS: none here; the handlers bound the export's size.
 * Ownership: writes into the caller's buffer.
 */
#include "api_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void
apic_cell(struct buf *b, const char *s)
{
    const char *p;

    if (s == NULL) {
        return;
    }
    if (s[0] == '\0' || (strpbrk(s, ",\"\r\n") == NULL && strchr("=+-@\t\r", s[0]) == NULL)) {
        buf_adds(b, s);
        return;
    }
    buf_addc(b, '"');
    if (strchr("=+-@\t\r", s[0]) != NULL) {
        buf_addc(b, '\'');
    }
    for (p = s; *p != '\0'; p++) {
        if (*p == '"') {
            buf_addc(b, '"');
        }
        buf_addc(b, *p);
    }
    buf_addc(b, '"');
}

void
apic_int(struct buf *b, int64_t v)
{
    buf_printf(b, "%lld", (long long)v);
}

void
apic_time(struct buf *b, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char s[32];

    if (t == 0 || gmtime_r(&tt, &tm) == NULL) {
        return;
    }
    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
    buf_adds(b, s);
}

void
apic_sep(struct buf *b)
{
    buf_addc(b, ',');
}

void
apic_end(struct buf *b)
{
    buf_adds(b, "\r\n");
}

void
apic_reply(struct api_req *r, const char *name)
{
    char disp[160];

    r->ctype = "text/csv; charset=utf-8; header=present";
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
    api_add_header(r, "Content-Disposition", disp);
}

int
apic_too_large(struct api_req *r, size_t cap, const char *narrow)
{
    buf_reset(&r->out);
    return api_error(r, 413, "too_large", "the export is over %zu bytes: narrow it with %s", cap,
                     narrow);
}
