/* timeutil.c - clocks, RFC 3339 timestamps and Go-style durations. */
#include "timeutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the four-digit years RFC 3339
 * can express. Formatting clamps to them so the output width never changes. */
#define MS_MIN (-62167219200000LL)
#define MS_MAX (253402300799999LL)

static int64_t
clock_ms(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
time_now_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

int64_t
time_mono_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

static void
put_digits(char *p, int width, int v)
{
    for (int k = width - 1; k >= 0; k--, v /= 10)
        p[k] = (char)('0' + v % 10);
}

void
time_format(int64_t ms, char out[TIME_RFC3339_LEN + 1])
{
    struct tm tm;

    if (ms < MS_MIN)
        ms = MS_MIN;
    if (ms > MS_MAX)
        ms = MS_MAX;
    /* Floor division, so that instants before 1970 keep a positive millisecond. */
    int64_t sec = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        sec--;
    }
    time_t t = (time_t)sec;
    gmtime_r(&t, &tm);
    /* Fixed-width fields written by hand: the layout is the contract. */
    memcpy(out, "0000-00-00T00:00:00.000Z", TIME_RFC3339_LEN + 1);
    put_digits(out, 4, tm.tm_year + 1900);
    put_digits(out + 5, 2, tm.tm_mon + 1);
    put_digits(out + 8, 2, tm.tm_mday);
    put_digits(out + 11, 2, tm.tm_hour);
    put_digits(out + 14, 2, tm.tm_min);
    put_digits(out + 17, 2, tm.tm_sec);
    put_digits(out + 20, 3, (int)frac);
}

void
time_format_http(int64_t ms, char out[TIME_HTTP_LEN + 1])
{
    static const char days[] = "SunMonTueWedThuFriSat";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct tm         tm;

    if (ms < MS_MIN)
        ms = MS_MIN;
    if (ms > MS_MAX)
        ms = MS_MAX;
    time_t t = (time_t)(ms / 1000 - (ms % 1000 < 0)); /* floor, as time_format */
    gmtime_r(&t, &tm);
    /* by hand, not strftime: %a and %b follow the locale */
    memcpy(out, "Sun, 00 Jan 0000 00:00:00 GMT", TIME_HTTP_LEN + 1);
    memcpy(out, days + 3 * tm.tm_wday, 3);
    put_digits(out + 5, 2, tm.tm_mday);
    memcpy(out + 8, months + 3 * tm.tm_mon, 3);
    put_digits(out + 12, 4, tm.tm_year + 1900);
    put_digits(out + 17, 2, tm.tm_hour);
    put_digits(out + 20, 2, tm.tm_min);
    put_digits(out + 23, 2, tm.tm_sec);
}

/* Exactly n decimal digits at s->p[*i], advancing *i. */
static bool
digits(struct str s, size_t *i, size_t n, int *out)
{
    int v = 0;

    if (s.len - *i < n)
        return false;
    for (size_t k = 0; k < n; k++) {
        char c = s.p[*i + k];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *i += n;
    *out = v;
    return true;
}

static bool
expect(struct str s, size_t *i, char c)
{
    if (*i >= s.len || s.p[*i] != c)
        return false;
    (*i)++;
    return true;
}

static int
days_in_month(int y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool             leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

static bool
parse_date(struct str s, size_t *i, struct tm *tm)
{
    int y, m, d;

    if (!digits(s, i, 4, &y) || !expect(s, i, '-') || !digits(s, i, 2, &m) ||
        !expect(s, i, '-') || !digits(s, i, 2, &d))
        return false;
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return false;
    tm->tm_year = y - 1900;
    tm->tm_mon = m - 1;
    tm->tm_mday = d;
    return true;
}

/* "HH:MM:SS" and an optional fraction, of which milliseconds are kept. */
static bool
parse_clock(struct str s, size_t *i, struct tm *tm, int *ms)
{
    if (!digits(s, i, 2, &tm->tm_hour) || !expect(s, i, ':') || !digits(s, i, 2, &tm->tm_min) ||
        !expect(s, i, ':') || !digits(s, i, 2, &tm->tm_sec))
        return false;
    if (tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 59)
        return false;
    *ms = 0;
    if (*i < s.len && s.p[*i] == '.') {
        size_t start = ++*i;
        while (*i < s.len && s.p[*i] >= '0' && s.p[*i] <= '9') {
            if (*i - start < 3)
                *ms = *ms * 10 + (s.p[*i] - '0');
            ++*i;
        }
        if (*i == start)
            return false;
        for (size_t k = *i - start; k < 3; k++)
            *ms *= 10;
    }
    return true;
}

/* 'Z' or ±hh:mm as seconds east of UTC. */
static bool
parse_offset(struct str s, size_t *i, int *off)
{
    int h, m, sign;

    if (*i >= s.len)
        return false;
    char c = s.p[(*i)++];
    if (c == 'Z' || c == 'z') {
        *off = 0;
        return true;
    }
    if (c != '+' && c != '-')
        return false;
    sign = c == '-' ? -1 : 1;
    if (!digits(s, i, 2, &h) || !expect(s, i, ':') || !digits(s, i, 2, &m) || h > 23 || m > 59)
        return false;
    *off = sign * (h * 3600 + m * 60);
    return true;
}

int
time_parse(struct str s, int64_t *ms)
{
    struct tm tm = { 0 };
    size_t    i = 0;
    int       frac = 0, off = 0;

    if (!parse_date(s, &i, &tm))
        return E_BADREQ;
    if (i < s.len) {
        if (s.p[i] != 'T' && s.p[i] != 't')
            return E_BADREQ;
        i++;
        if (!parse_clock(s, &i, &tm, &frac) || !parse_offset(s, &i, &off) || i != s.len)
            return E_BADREQ;
    }
    time_t t = timegm(&tm);
    *ms = ((int64_t)t - off) * 1000 + frac;
    return E_OK;
}

/* Go's time.ParseDuration, in nanoseconds, then truncated to milliseconds. */
#define NS_LIMIT ((uint64_t)1 << 63)

static const struct {
    const char *name;
    uint64_t    ns;
} units[] = {
    { "ns", 1 },
    { "us", 1000 },
    { "\xc2\xb5s", 1000 }, /* U+00B5 micro sign */
    { "\xce\xbcs", 1000 }, /* U+03BC Greek small letter mu */
    { "ms", 1000000 },
    { "s", 1000000000 },
    { "m", 60000000000ULL },
    { "h", 3600000000000ULL },
};

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Leading integer; false on overflow past 2^63 (as Go's leadingInt). */
static bool
leading_int(struct str s, size_t *i, uint64_t *v)
{
    *v = 0;
    for (; *i < s.len && is_digit(s.p[*i]); ++*i) {
        if (*v > (NS_LIMIT - 1) / 10)
            return false;
        *v = *v * 10 + (uint64_t)(s.p[*i] - '0');
        if (*v > NS_LIMIT)
            return false;
    }
    return true;
}

/* Leading fraction digits: as many as fit into f, the rest are skipped. */
static void
leading_fraction(struct str s, size_t *i, uint64_t *f, double *scale)
{
    bool overflow = false;

    *f = 0;
    *scale = 1;
    for (; *i < s.len && is_digit(s.p[*i]); ++*i) {
        if (overflow)
            continue;
        if (*f > (NS_LIMIT - 1) / 10) {
            overflow = true;
            continue;
        }
        uint64_t y = *f * 10 + (uint64_t)(s.p[*i] - '0');
        if (y > NS_LIMIT) {
            overflow = true;
            continue;
        }
        *f = y;
        *scale *= 10;
    }
}

static bool
lookup_unit(struct str u, uint64_t *ns)
{
    for (size_t k = 0; k < ARRAY_LEN(units); k++)
        if (str_eq_c(u, units[k].name)) {
            *ns = units[k].ns;
            return true;
        }
    return false;
}

/* One "<number><unit>" term, added to *d. */
static bool
duration_term(struct str s, size_t *i, uint64_t *d)
{
    uint64_t v, f = 0, unit;
    double   scale = 1;
    size_t   start = *i;
    bool     pre, post = false;

    if (!(s.p[*i] == '.' || is_digit(s.p[*i])))
        return false;
    if (!leading_int(s, i, &v))
        return false;
    pre = *i != start;
    if (*i < s.len && s.p[*i] == '.') {
        size_t fstart = ++*i;
        leading_fraction(s, i, &f, &scale);
        post = *i != fstart;
    }
    if (!pre && !post)
        return false;
    size_t ustart = *i;
    while (*i < s.len && s.p[*i] != '.' && !is_digit(s.p[*i]))
        ++*i;
    if (*i == ustart || !lookup_unit((struct str){ s.p + ustart, *i - ustart }, &unit))
        return false;
    if (v > NS_LIMIT / unit)
        return false;
    v *= unit;
    if (f > 0) {
        /* float64 arithmetic as in Go, so that results match to the nanosecond. */
        v += (uint64_t)((double)f * ((double)unit / scale));
        if (v > NS_LIMIT)
            return false;
    }
    if (v > NS_LIMIT - *d)
        return false;
    *d += v;
    return true;
}

int
duration_parse(struct str s, int64_t *ms)
{
    uint64_t d = 0;
    size_t   i = 0;
    bool     neg = false;

    if (s.len > 0 && (s.p[0] == '-' || s.p[0] == '+')) {
        neg = s.p[0] == '-';
        i = 1;
    }
    if (s.len - i == 1 && s.p[i] == '0') {
        *ms = 0;
        return E_OK;
    }
    if (i == s.len)
        return E_BADREQ;
    while (i < s.len)
        if (!duration_term(s, &i, &d))
            return E_BADREQ;
    if (!neg && d > NS_LIMIT - 1)
        return E_BADREQ;
    /* d <= 2^63 here; truncation toward zero, as integer division of Go's value. */
    int64_t v = (int64_t)(d / 1000000);
    *ms = neg ? -v : v;
    return E_OK;
}

void
duration_format(int64_t ms, char out[32])
{
    uint64_t u = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    size_t   n = 0;

    if (u == 0) {
        snprintf(out, 32, "0s");
        return;
    }
    if (ms < 0)
        out[n++] = '-';
    if (u < 1000) {
        snprintf(out + n, 32 - n, "%" PRIu64 "ms", u);
        return;
    }
    uint64_t h = u / 3600000, m = u / 60000 % 60, s = u / 1000 % 60, frac = u % 1000;
    /* Go prints every unit below the largest; we drop the trailing zero ones. */
    if (h)
        n += (size_t)snprintf(out + n, 32 - n, "%" PRIu64 "h", h);
    if (m || (h && (s || frac)))
        n += (size_t)snprintf(out + n, 32 - n, "%" PRIu64 "m", m);
    if (s || frac) {
        n += (size_t)snprintf(out + n, 32 - n, "%" PRIu64, s);
        if (frac) {
            char f[5];
            snprintf(f, sizeof f, ".%03u", (unsigned)frac);
            size_t fl = 4;
            while (f[fl - 1] == '0')
                fl--;
            n += (size_t)snprintf(out + n, 32 - n, "%.*s", (int)fl, f);
        }
        snprintf(out + n, 32 - n, "s");
    }
    out[31] = '\0';
}

int
time_parse_ms(struct str s, int64_t *ms)
{
    const char *dot = memchr(s.p, '.', s.len);
    size_t      i = dot != NULL ? (size_t)(dot - s.p) + 4 : s.len;

    for (; i < s.len && s.p[i] >= '0' && s.p[i] <= '9'; i++)
        if (s.p[i] != '0')
            return E_BADREQ;
    return time_parse(s, ms);
}
