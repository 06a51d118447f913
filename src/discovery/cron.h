/* cron.h - a discovery's `schedule`: a 5-field cron expression, in UTC (API.md 7.5).
 *
 * "minute hour day-of-month month day-of-week", fields separated by spaces or
 * tabs. A field is a list ("a,b,...") of items: "*", "n", "a-b", "* /n" and
 * "a-b/n" (without the space). Months may be named JAN-DEC, days SUN-SAT (three
 * letters, any case); day-of-week 0-7, 0 and 7 both Sunday. A step is 1 up to
 * the field's largest value. Macros: @hourly, @daily (@midnight), @weekly,
 * @monthly, @yearly (@annually). Not supported, so refused: "a/n" (a step
 * after a single value), '?', 'L', 'W', '#', seconds or year fields, @reboot.
 *
 * Days follow Vixie cron: when the day-of-month and day-of-week fields are both
 * restricted, a day matches if either matches; a field counts as unrestricted
 * when it starts with '*' (so "* /2" counts as unrestricted, as in Vixie cron and
 * cronie), and then a day must match both.
 *
 * Pure: no I/O, no global state; thread-safe.
 */
#ifndef KW_DISCOVERY_CRON_H
#define KW_DISCOVERY_CRON_H

#include "../core/base.h"

/* A parsed schedule: bit i of each set is value i. */
struct cron {
    uint64_t minute;             /* 0-59 */
    uint32_t hour;               /* 0-23 */
    uint32_t dom;                /* 1-31 */
    uint16_t month;              /* 1-12 */
    uint8_t  dow;                /* 0-6, Sunday 0 (a 7 in the text sets bit 0) */
    bool     dom_star, dow_star; /* the field started with '*' */
};

/* Parse `s` (surrounding spaces and tabs ignored) into *out. E_VALIDATION with
 * a message saying what is wrong (no attribute: the caller names `schedule`)
 * for an empty text, another number of fields than 5, an empty field or list
 * item, an unknown name or macro, a value out of its field's range, a range
 * going down, a step of 0 or above the field's largest value, any other character. */
int cron_parse(struct str s, struct cron *out, struct errbuf *eb);

/* The first whole minute strictly after `after_ms` (Unix ms, UTC) that `c`
 * matches, as Unix ms; -1 if there is none in the five years that follow (as
 * for "0 0 30 2 *") or before the year 10000, or if after_ms is before 1970.
 * Skips whole months, days and hours that cannot match. The five years are a
 * horizon, not a period: "0 0 29 2 *" after February 2096 gives -1, 2100 not
 * being a leap year. */
int64_t cron_next(const struct cron *c, int64_t after_ms);

#endif
