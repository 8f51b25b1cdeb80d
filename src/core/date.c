/*
 * date.c - UTC calendar arithmetic: Howard Hinnant's days_from_civil and a strict reader of
 * the ISO 8601 date and date-time forms of the API's query arguments.
 *
 * Doesn't: read RFC 5322 dates (parse/date.c does, with this arithmetic), know time zones
 * other than Z, or accept fractional seconds.
 * STANDARDS: ISO 8601 / RFC 3339 §5.6 (the full-date and the Z-form date-time only).
 * LIMITS: fixed-length forms (10 or 20 bytes); a leap second (:60) is accepted as RFC 3339
 * allows and counts as the next second.
 */
#include "core/date.h"

#include <string.h>

static bool date_digits(const char *s, size_t n, int64_t *out);

int64_t
date_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool
date_parse_iso_utc(const char *s, int64_t *out)
{
    int64_t y, mo, d, h = 0, mi = 0, se = 0;
    size_t n = strlen(s);

    if (n < 10 || s[4] != '-' || s[7] != '-' || !date_digits(s, 4, &y) ||
        !date_digits(s + 5, 2, &mo) || !date_digits(s + 8, 2, &d) || mo < 1 || mo > 12 || d < 1 ||
        d > 31) {
        return false;
    }
    if (n > 10) {
        if (n != 20 || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' ||
            s[19] != 'Z' || !date_digits(s + 11, 2, &h) || !date_digits(s + 14, 2, &mi) ||
            !date_digits(s + 17, 2, &se) || h > 23 || mi > 59 || se > 60) {
            return false;
        }
    }
    *out = date_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return true;
}

static bool
date_digits(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}
