/*
 * date.c - RFC 5322 date-time to Unix seconds, our own bounded parser.
 *
 * Lenient the way real MTAs need: optional day-of-week, 2- or 4-digit years, optional
 * seconds, numeric zones, the obsolete named zones (UT, GMT, EST..PDT, Z, military ones as
 * zero), a missing zone (read as UTC), trailing comments such as "(UTC)".
 * Does not handle non-Gregorian calendars or localized month names.
 * STANDARDS: RFC 5322 §3.3 and §4.3 (obsolete date and time).
 * LIMITS: looks at no more than the first 128 bytes of its input; no allocation.
 */
#include "parse/parse.h"

#include <string.h>

#include "core/date.h"

#define DATE_SCAN_MAX 128

static const char *const months[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};

static int
lc(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int
read_num(const char **pp, const char *end, int maxdig, int *out)
{
    const char *p = *pp;
    int v = 0, n = 0;

    while (p < end && *p >= '0' && *p <= '9' && n < maxdig) {
        v = v * 10 + (*p - '0');
        p++;
        n++;
    }
    if (n == 0) {
        return 0;
    }
    *pp = p;
    *out = v;
    return n;
}

static void
skip_sp(const char **pp, const char *end)
{
    while (*pp < end &&
           (**pp == ' ' || **pp == '\t' || **pp == '\r' || **pp == '\n' || **pp == ',')) {
        (*pp)++;
    }
}

bool
date_parse(const char *s, size_t len, int64_t *out)
{
    const char *p = s, *end = s + (len > DATE_SCAN_MAX ? DATE_SCAN_MAX : len);
    int day, mon = -1, year, hh, mm, ss = 0, nd, i;
    int64_t t, off = 0;

    skip_sp(&p, end);
    /* optional day name */
    if (p < end && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))) {
        while (p < end && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '.')) {
            p++;
        }
        skip_sp(&p, end);
    }
    if (!read_num(&p, end, 2, &day)) {
        return false;
    }
    while (p < end && (*p == ' ' || *p == '-' || *p == '\t')) {
        p++;
    }
    if (end - p < 3) {
        return false;
    }
    for (i = 0; i < 12; i++) {
        if (lc(p[0]) == months[i][0] && lc(p[1]) == months[i][1] && lc(p[2]) == months[i][2]) {
            mon = i + 1;
            break;
        }
    }
    if (mon < 0) {
        return false;
    }
    while (p < end && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '.')) {
        p++;
    }
    while (p < end && (*p == ' ' || *p == '-' || *p == '\t')) {
        p++;
    }
    nd = read_num(&p, end, 4, &year);
    if (nd == 0) {
        return false;
    }
    if (nd <= 2) {
        year += year < 50 ? 2000 : 1900;
    } else if (nd == 3) {
        year += 1900;
    }
    skip_sp(&p, end);
    if (!read_num(&p, end, 2, &hh) || p >= end || *p != ':') {
        return false;
    }
    p++;
    if (!read_num(&p, end, 2, &mm)) {
        return false;
    }
    if (p < end && *p == ':') {
        p++;
        if (!read_num(&p, end, 2, &ss)) {
            return false;
        }
    }
    if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || year < 1970 || year > 9999) {
        return false;
    }
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    if (p < end && (*p == '+' || *p == '-')) {
        int z, sign = *p == '-' ? -1 : 1;
        const char *q = p + 1;
        if (read_num(&q, end, 4, &z) == 4 && z % 100 < 60 && z / 100 < 24) {
            off = sign * ((int64_t)(z / 100) * 3600 + (int64_t)(z % 100) * 60);
        }
    } else if (end - p >= 3) {
        static const struct {
            const char *n;
            int h;
        } zones[] = {{"edt", -4}, {"est", -5}, {"cdt", -5}, {"cst", -6},
                     {"mdt", -6}, {"mst", -7}, {"pdt", -7}, {"pst", -8}};
        for (i = 0; i < 8; i++) {
            if (lc(p[0]) == zones[i].n[0] && lc(p[1]) == zones[i].n[1] &&
                lc(p[2]) == zones[i].n[2]) {
                off = (int64_t)zones[i].h * 3600;
                break;
            }
        }
    }
    t = date_days_from_civil(year, mon, day) * 86400 + (int64_t)hh * 3600 + mm * 60 + ss - off;
    *out = t;
    return true;
}
