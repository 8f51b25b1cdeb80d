/*
 * date.h - calendar arithmetic in UTC, once for every module: civil date to days since the
 * epoch, and the two ISO 8601 forms the API and the CLI accept.
 * Pure functions; no allocation, no time zone database, no locale.
 */
#ifndef BNC_CORE_DATE_H
#define BNC_CORE_DATE_H

#include <stdbool.h>
#include <stdint.h>

/* Days since 1970-01-01 of year y, month m (1-12), day d of the proleptic Gregorian
 * calendar; negative before the epoch. No range check: m and d are taken as given. */
int64_t date_days_from_civil(int64_t y, int64_t m, int64_t d);
/* "YYYY-MM-DD" (midnight) or "YYYY-MM-DDTHH:MM:SSZ" ('T' or ' ' between date and time),
 * UTC, to Unix seconds in *out. False (and *out untouched) when s is neither. */
bool date_parse_iso_utc(const char *s, int64_t *out);

#endif
