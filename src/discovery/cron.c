/* cron.c - 5-field cron expressions: parsing and the next matching minute. */
#include "cron.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

/* ---- parsing ----------------------------------------------------------- */

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun",
                                           "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

/* One of the five fields: its values min..max, and names for min, min + 1, ... */
struct field {
    const char        *name;
    unsigned           min, max;
    const char *const *names;
    size_t             nnames;
};

static const struct field fields[5] = {
    { "minute", 0, 59, NULL, 0 },
    { "hour", 0, 23, NULL, 0 },
    { "day-of-month", 1, 31, NULL, 0 },
    { "month", 1, 12, month_names, ARRAY_LEN(month_names) },
    { "day-of-week", 0, 7, day_names, ARRAY_LEN(day_names) },
};

static const struct {
    const char *name, *expr;
} macros[] = {
    { "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
    { "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
    { "@hourly", "0 * * * *" },
};

#define SHOW_MAX 40

/* A piece of the text as a message quotes it: printable ASCII, cut at SHOW_MAX. */
struct shown {
    char s[SHOW_MAX + 4];
};

static struct shown
show(struct str v)
{
    struct shown out;
    size_t       n = v.len > SHOW_MAX ? SHOW_MAX : v.len;

    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v.p[i];
        out.s[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    memcpy(out.s + n, v.len > n ? "..." : "", v.len > n ? 4 : 1);
    return out;
}

/* E_VALIDATION: "The <field> field '<text>' is wrong: <why>". */
KW_PRINTF(4, 5)
static int
field_error(const struct field *f, struct str text, struct errbuf *eb, const char *fmt, ...)
{
    char    why[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return errbuf_set(eb, E_VALIDATION, "The %s field '%s' is wrong: %s", f->name, show(text).s,
                      why);
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A number (at most 9 digits, so no overflow) or, in a field with names, a
 * three-letter name; then checked against the field's range. */
static int
value_parse(const struct field *f, struct str text, struct str v, unsigned *out,
            struct errbuf *eb)
{
    unsigned n = 0;

    for (size_t i = 0; i < f->nnames && v.len == 3; i++)
        if (str_eq_nocase(v, f->names[i])) {
            *out = f->min + (unsigned)i;
            return E_OK;
        }
    if (v.len == 0)
        return field_error(f, text, eb, "a value is missing");
    for (size_t i = 0; i < v.len; i++) {
        if (!is_digit(v.p[i]))
            return field_error(f, text, eb, "'%s' is not a number%s", show(v).s,
                               f->names != NULL ? " or a name" : "");
        if (i == 9)
            return field_error(f, text, eb, "'%s' is too large", show(v).s);
        n = n * 10 + (unsigned)(v.p[i] - '0');
    }
    if (n < f->min || n > f->max)
        return field_error(f, text, eb, "%u is outside %u-%u", n, f->min, f->max);
    *out = n;
    return E_OK;
}

/* The step after '/': 1 to the field's largest value. */
static int
step_parse(const struct field *f, struct str text, struct str v, unsigned *out,
           struct errbuf *eb)
{
    unsigned n = 0;

    if (v.len == 0 || v.len > 9)
        return field_error(f, text, eb, "a step is a number from 1 to %u", f->max);
    for (size_t i = 0; i < v.len; i++) {
        if (!is_digit(v.p[i]))
            return field_error(f, text, eb, "a step is a number from 1 to %u", f->max);
        n = n * 10 + (unsigned)(v.p[i] - '0');
    }
    if (n == 0 || n > f->max)
        return field_error(f, text, eb, "a step is a number from 1 to %u", f->max);
    *out = n;
    return E_OK;
}

/* One list item: "*", "n", "a-b", "* /n" or "a-b/n" (no space), into *bits. */
static int
item_parse(const struct field *f, struct str text, struct str item, uint64_t *bits,
           struct errbuf *eb)
{
    struct str range, step_s = str_cut(item, '/', &range);
    struct str a_s, b_s = str_cut(range, '-', &a_s);
    unsigned   lo = f->min, hi = f->max, step = 1;
    int        rc;

    if (item.len == 0)
        return field_error(f, text, eb, "a list item is empty");
    if (!str_eq_c(range, "*")) {
        if ((rc = value_parse(f, text, a_s, &lo, eb)) != E_OK)
            return rc;
        hi = lo;
        if (b_s.p != NULL && (rc = value_parse(f, text, b_s, &hi, eb)) != E_OK)
            return rc;
        if (lo > hi)
            return field_error(f, text, eb, "a range goes from low to high");
        if (b_s.p == NULL && step_s.p != NULL)
            return field_error(f, text, eb, "a step follows '*' or a range (a-b/n)");
    }
    if (step_s.p != NULL && (rc = step_parse(f, text, step_s, &step, eb)) != E_OK)
        return rc;
    for (unsigned v = lo; v <= hi; v += step)
        *bits |= (uint64_t)1 << (f == &fields[4] && v == 7 ? 0 : v); /* 7: Sunday */
    return E_OK;
}

/* A comma-separated list of items into *bits. */
static int
field_parse(const struct field *f, struct str text, uint64_t *bits, struct errbuf *eb)
{
    struct str rest = text, item;
    int        rc;

    *bits = 0;
    do {
        rest = str_cut(rest, ',', &item);
        if ((rc = item_parse(f, text, item, bits, eb)) != E_OK)
            return rc;
    } while (rest.p != NULL);
    return E_OK;
}

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Split `s` at runs of blanks into at most 5 fields; returns how many there are. */
static size_t
fields_split(struct str s, struct str out[5])
{
    size_t n = 0, i = 0;

    while (i < s.len) {
        size_t start = i;
        while (i < s.len && !is_blank(s.p[i]))
            i++;
        if (n < 5)
            out[n] = (struct str){ s.p + start, i - start };
        n++;
        while (i < s.len && is_blank(s.p[i]))
            i++;
    }
    return n;
}

static int
fields_parse(struct str s, struct cron *out, struct errbuf *eb)
{
    struct str text[5];
    uint64_t   bits[5];
    size_t     n = fields_split(s, text);
    int        rc;

    if (n != 5)
        return errbuf_set(eb, E_VALIDATION,
                          "A schedule has 5 fields (minute hour day-of-month month "
                          "day-of-week), not %zu",
                          n);
    for (size_t i = 0; i < 5; i++)
        if ((rc = field_parse(&fields[i], text[i], &bits[i], eb)) != E_OK)
            return rc;
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->dom = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    out->dow = (uint8_t)bits[4];
    out->dom_star = text[2].p[0] == '*';
    out->dow_star = text[4].p[0] == '*';
    return E_OK;
}

int
cron_parse(struct str s, struct cron *out, struct errbuf *eb)
{
    memset(out, 0, sizeof *out);
    s = str_trim(s);
    if (s.len == 0)
        return errbuf_set(eb, E_VALIDATION, "A schedule cannot be empty");
    if (s.p[0] != '@')
        return fields_parse(s, out, eb);
    for (size_t i = 0; i < ARRAY_LEN(macros); i++)
        if (str_eq_nocase(s, macros[i].name))
            return fields_parse(str_c(macros[i].expr), out, eb);
    return errbuf_set(eb, E_VALIDATION,
                      "'%s' is not a schedule macro (@hourly, @daily, @weekly, @monthly, "
                      "@yearly)",
                      show(s).s);
}

/* ---- civil dates (proleptic Gregorian, after Howard Hinnant's algorithms) ---- */

static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t  era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t  era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned
days_in_month(int64_t y, unsigned m)
{
    static const unsigned char n[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool                       leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);

    return m == 2 && leap ? 29 : n[m - 1];
}

/* ---- the next match ---------------------------------------------------- */

#define MS_MINUTE  60000
#define CRON_YEARS 5
/* 9999-12-31T23:59:59.999Z */
#define CRON_MS_MAX INT64_C(253402300799999)

/* The cursor of the search: a day (days since 1970-01-01, and as a date) and a
 * time in it. */
struct when {
    int64_t  days, y;
    unsigned m, d, h, mi;
};

static bool
has(uint64_t bits, unsigned v)
{
    return (bits >> v & 1) != 0;
}

/* The first value from `from` to `max` in `bits`, or -1. */
static int
first_from(uint64_t bits, unsigned from, unsigned max)
{
    for (unsigned v = from; v <= max; v++)
        if (has(bits, v))
            return (int)v;
    return -1;
}

static bool
day_matches(const struct cron *c, const struct when *w)
{
    bool dom = has(c->dom, w->d);
    bool dow = has(c->dow, (unsigned)((w->days % 7 + 11) % 7)); /* 1970-01-01: Thursday */

    return c->dom_star || c->dow_star ? dom && dow : dom || dow;
}

static void
next_day(struct when *w)
{
    w->days++;
    w->h = w->mi = 0;
    if (++w->d <= days_in_month(w->y, w->m))
        return;
    w->d = 1;
    if (++w->m > 12) {
        w->m = 1;
        w->y++;
    }
}

static void
next_month(struct when *w)
{
    w->h = w->mi = 0;
    w->d = 1;
    if (++w->m > 12) {
        w->m = 1;
        w->y++;
    }
    w->days = days_from_civil(w->y, w->m, 1);
}

int64_t
cron_next(const struct cron *c, int64_t after_ms)
{
    struct when w;
    int64_t     t, limit;
    int         h = 0, mi = 0;

    if (after_ms < 0 || after_ms > CRON_MS_MAX)
        return -1;
    t = after_ms / MS_MINUTE + 1; /* minutes; after_ms >= 0 */
    w.days = t / 1440;
    w.h = (unsigned)(t % 1440 / 60);
    w.mi = (unsigned)(t % 60);
    civil_from_days(w.days, &w.y, &w.m, &w.d);
    limit = days_from_civil(w.y + CRON_YEARS, w.m, w.d);
    if (limit > days_from_civil(10000, 1, 1))
        limit = days_from_civil(10000, 1, 1);
    while (w.days < limit) {
        if (!has(c->month, w.m)) {
            next_month(&w);
        } else if (!day_matches(c, &w) || (h = first_from(c->hour, w.h, 23)) < 0) {
            next_day(&w);
        } else if ((unsigned)h != w.h) {
            w.h = (unsigned)h;
            w.mi = 0;
        } else if ((mi = first_from(c->minute, w.mi, 59)) >= 0) {
            return ((w.days * 1440) + h * 60 + mi) * MS_MINUTE;
        } else if (++w.h < 24) {
            w.mi = 0;
        } else {
            next_day(&w);
        }
    }
    return -1;
}
