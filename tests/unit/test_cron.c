/* test_cron.c - 5-field cron schedules (discovery/cron.c): what parses and into
 * which values, what is refused and why, and cron_next on known dates (month
 * ends, leap years, year ends, the day-of-month / day-of-week rule), then
 * checked against a brute-force search minute by minute. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/base.h"
#include "core/timeutil.h"
#include "discovery/cron.h"

static int64_t
at(const char *rfc3339)
{
    int64_t ms = 0;

    assert_int_equal(time_parse(str_c(rfc3339), &ms), E_OK);
    return ms;
}

static struct cron
parsed(const char *text)
{
    struct cron   c;
    struct errbuf eb = { 0 };

    if (cron_parse(str_c(text), &c, &eb) != E_OK)
        fail_msg("'%s': %s", text, eb.msg);
    return c;
}

/* ---- parsing ----------------------------------------------------------- */

static void
test_parse_values(void **state)
{
    static const struct {
        const char *in;
        uint64_t    minute, hour, dom, month, dow;
        bool        dom_star, dow_star;
    } cases[] = {
        { "* * * * *", 0xfffffffffffffff, 0xffffff, 0xfffffffe, 0x1ffe, 0x7f, true, true },
        { "0 0 * * *", 1, 1, 0xfffffffe, 0x1ffe, 0x7f, true, true },
        { "59 23 31 12 6", 1ull << 59, 1u << 23, 1u << 31, 1u << 12, 1u << 6, false, false },
        { "*/15 * * * *", 1 | 1ull << 15 | 1ull << 30 | 1ull << 45, 0xffffff, 0xfffffffe,
          0x1ffe, 0x7f, true, true },
        { "10-20/5 1,2,3 1-3 1 0", 1u << 10 | 1u << 15 | 1u << 20, 0xe, 0xe, 2, 1, false,
          false },
        { "0 0 * * 7", 1, 1, 0xfffffffe, 0x1ffe, 1, true, false },
        { "0 0 * * 0,7", 1, 1, 0xfffffffe, 0x1ffe, 1, true, false },
        { "0 0 * * 5-7", 1, 1, 0xfffffffe, 0x1ffe, 0x61, true, false },
        { "0 0 * * 0-7", 1, 1, 0xfffffffe, 0x1ffe, 0x7f, true, false },
        { "0 0 * * */2", 1, 1, 0xfffffffe, 0x1ffe, 0x55, true, true },
        { "0 0 */2 * *", 1, 1, 0xaaaaaaaa, 0x1ffe, 0x7f, true, true },
        { "0 0 1 jan,Jul,DEC *", 1, 1, 2, 1u << 1 | 1u << 7 | 1u << 12, 0x7f, false, true },
        { "0 0 * FEB-apr/2 *", 1, 1, 0xfffffffe, 1u << 2 | 1u << 4, 0x7f, true, true },
        { "0 0 * * MON-FRI", 1, 1, 0xfffffffe, 0x1ffe, 0x3e, true, false },
        { "0 0 * * sun,Sat", 1, 1, 0xfffffffe, 0x1ffe, 0x41, true, false },
        { "00 05 01 01 00", 1, 1u << 5, 2, 2, 1, false, false },
        { "  0\t0  *   * *\t ", 1, 1, 0xfffffffe, 0x1ffe, 0x7f, true, true },
        { "0-59/59 0-23/23 1-31/31 1-12/12 0-7/7", 1 | 1ull << 59, 1 | 1u << 23, 2, 2, 1, false,
          false },
        { "*/59 */23 */31 */12 */7", 1 | 1ull << 59, 1 | 1u << 23, 2, 2, 1, true, true },
        { "5,5,1-10 * * * *", 0x7fe, 0xffffff, 0xfffffffe, 0x1ffe, 0x7f, true, true },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct cron c = parsed(cases[i].in);
        assert_int_equal(c.minute, cases[i].minute);
        assert_int_equal(c.hour, cases[i].hour);
        assert_int_equal(c.dom, cases[i].dom);
        assert_int_equal(c.month, cases[i].month);
        assert_int_equal(c.dow, cases[i].dow);
        assert_int_equal(c.dom_star, cases[i].dom_star);
        assert_int_equal(c.dow_star, cases[i].dow_star);
    }
}

static void
test_parse_macros(void **state)
{
    static const struct {
        const char *macro, *same;
    } cases[] = {
        { "@hourly", "0 * * * *" },   { "@daily", "0 0 * * *" },   { "@midnight", "0 0 * * *" },
        { "@weekly", "0 0 * * 0" },   { "@monthly", "0 0 1 * *" }, { "@yearly", "0 0 1 1 *" },
        { "@annually", "0 0 1 1 *" }, { "@DAILY", "0 0 * * *" },   { " @hourly ", "0 * * * *" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct cron a = parsed(cases[i].macro), b = parsed(cases[i].same);
        assert_memory_equal(&a, &b, sizeof a);
    }
}

static void
test_parse_errors(void **state)
{
    static const struct {
        const char *in, *says;
    } cases[] = {
        { "", "empty" },
        { " \t ", "empty" },
        { "* * * * * * *", "not 7" },
        { "* * * * * *", "not 6" },
        { "0 0 * * * 2025", "not 6" },
        { "* * * *", "not 4" },
        { "*", "not 1" },
        { "60 * * * *", "minute" },
        { "-1 * * * *", "minute" },
        { "* 24 * * *", "hour" },
        { "*/0 * * * *", "step" },
        { "*/60 * * * *", "step" },
        { "* */24 * * *", "step" },
        { "1-5/0 * * * *", "step" },
        { "*/ * * * *", "step" },
        { "*/x * * * *", "step" },
        { "*/-1 * * * *", "step" },
        { "* * 32 * *", "day-of-month" },
        { "* * 0 * *", "day-of-month" },
        { "* * * 13 *", "month" },
        { "* * * 0 *", "month" },
        { "* * * * 8", "day-of-week" },
        { "* * * JANUARY *", "month" },
        { "* * * * MONDAY", "day-of-week" },
        { "* * * MON *", "month" },
        { "* * * * JAN", "day-of-week" },
        { "JAN * * * *", "minute" },
        { "1,,2 * * * *", "empty" },
        { ",1 * * * *", "empty" },
        { "1, * * * *", "empty" },
        { "5-1 * * * *", "low to high" },
        { "FRI-MON * * * *", "minute" },
        { "0 0 * * FRI-MON", "low to high" },
        { "5/2 * * * *", "step follows" },
        { "1-2-3 * * * *", "number" },
        { "*-5 * * * *", "number" },
        { "1- * * * *", "missing" },
        { "-5 * * * *", "missing" },
        { "a * * * *", "number" },
        { "? * * * *", "number" },
        { "0 0 L * *", "number" },
        { "0 0 1W * *", "number" },
        { "0 0 * * 5#3", "number" },
        { "0 0 * * 5L", "number" },
        { "1234567890 * * * *", "too large" },
        { "+1 * * * *", "number" },
        { "1.5 * * * *", "number" },
        { "0 0\n* * *", "not 4" },
        { "\x01 * * * *", "minute" },
        { "@reboot", "macro" },
        { "@hourlyx", "macro" },
        { "@hourly *", "macro" },
        { "@", "macro" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct cron   c;
        struct errbuf eb = { 0 };
        if (cron_parse(str_c(cases[i].in), &c, &eb) != E_VALIDATION)
            fail_msg("'%s' was accepted", cases[i].in);
        assert_int_equal(eb.code, E_VALIDATION);
        if (strstr(eb.msg, cases[i].says) == NULL)
            fail_msg("'%s': '%s' does not say '%s'", cases[i].in, eb.msg, cases[i].says);
        for (const char *p = eb.msg; *p != '\0'; p++)
            assert_true(*p >= 0x20 && *p < 0x7f);
    }
}

/* The messages name the field, quote it and say what is wrong with it. */
static void
test_parse_messages(void **state)
{
    struct cron   c;
    struct errbuf eb = { 0 };
    (void)state;

    assert_int_equal(cron_parse(STR("0 0 32 * *"), &c, &eb), E_VALIDATION);
    assert_string_equal(eb.msg, "The day-of-month field '32' is wrong: 32 is outside 1-31");
    assert_int_equal(cron_parse(STR("*/0 * * * *"), &c, &eb), E_VALIDATION);
    assert_string_equal(eb.msg,
                        "The minute field '*/0' is wrong: a step is a number from 1 to 59");
    assert_int_equal(cron_parse(STR("0 0 1 1 * 2025 x"), &c, &eb), E_VALIDATION);
    assert_string_equal(eb.msg, "A schedule has 5 fields (minute hour day-of-month month "
                                "day-of-week), not 7");
}

/* ---- the next run ------------------------------------------------------ */

static void
test_next_known(void **state)
{
    static const struct {
        const char *cron, *after, *next;
    } cases[] = {
        /* Every minute: the next whole minute, strictly after. */
        { "* * * * *", "2025-01-01T00:00:00Z", "2025-01-01T00:01:00Z" },
        { "* * * * *", "2025-01-01T00:00:00.001Z", "2025-01-01T00:01:00Z" },
        { "* * * * *", "2025-01-01T00:00:59.999Z", "2025-01-01T00:01:00Z" },
        { "* * * * *", "2025-12-31T23:59:00Z", "2026-01-01T00:00:00Z" },
        { "* * * * *", "1970-01-01T00:00:00Z", "1970-01-01T00:01:00Z" },
        /* February 29. */
        { "0 0 29 2 *", "2025-01-01T00:00:00Z", "2028-02-29T00:00:00Z" },
        { "0 0 29 2 *", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z" },
        { "0 0 29 2 *", "2000-01-01T00:00:00Z", "2000-02-29T00:00:00Z" },
        { "0 0 29 2 *", "2024-02-28T23:59:59Z", "2024-02-29T00:00:00Z" },
        { "0 12 28-29 2 *", "2100-02-28T12:00:00Z", "2101-02-28T12:00:00Z" },
        { "0 0 1 3 *", "2024-02-29T12:00:00Z", "2024-03-01T00:00:00Z" },
        /* The 31st skips the short months. */
        { "0 0 31 * *", "2025-04-01T00:00:00Z", "2025-05-31T00:00:00Z" },
        { "0 0 31 * *", "2025-01-31T00:00:00Z", "2025-03-31T00:00:00Z" },
        { "0 0 31 * *", "2025-07-31T00:00:00Z", "2025-08-31T00:00:00Z" },
        { "0 0 31 * *", "2025-08-31T00:00:00Z", "2025-10-31T00:00:00Z" },
        { "0 0 30 * *", "2025-01-30T00:00:00Z", "2025-03-30T00:00:00Z" },
        /* Both day fields restricted: either matches (Vixie). */
        { "0 0 13 * FRI", "2025-01-01T00:00:00Z", "2025-01-03T00:00:00Z" },
        { "0 0 13 * FRI", "2025-01-10T00:00:00Z", "2025-01-13T00:00:00Z" },
        { "0 0 13 * FRI", "2025-01-13T00:00:00Z", "2025-01-17T00:00:00Z" },
        { "0 0 1-31 * FRI", "2025-01-10T00:00:00Z", "2025-01-11T00:00:00Z" },
        /* One of them starting with '*': both must match. */
        { "0 0 */1 * FRI", "2025-01-10T00:00:00Z", "2025-01-17T00:00:00Z" },
        { "0 0 13 * *", "2025-01-14T00:00:00Z", "2025-02-13T00:00:00Z" },
        { "0 0 13 * */7", "2025-01-01T00:00:00Z", "2025-04-13T00:00:00Z" },
        /* Sunday as 0 and as 7. */
        { "0 0 * * 7", "2025-01-01T00:00:00Z", "2025-01-05T00:00:00Z" },
        { "0 0 * * 0", "2025-01-01T00:00:00Z", "2025-01-05T00:00:00Z" },
        { "0 0 * * SUN", "2025-01-05T00:00:00Z", "2025-01-12T00:00:00Z" },
        /* Year ends. */
        { "59 23 31 12 *", "2025-06-01T00:00:00Z", "2025-12-31T23:59:00Z" },
        { "59 23 31 12 *", "2025-12-31T23:59:00Z", "2026-12-31T23:59:00Z" },
        { "0 0 1 1 *", "2025-12-31T23:59:59.999Z", "2026-01-01T00:00:00Z" },
        { "@yearly", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z" },
        { "0 0 1 * *", "2025-12-15T08:00:00Z", "2026-01-01T00:00:00Z" },
        /* Macros. */
        { "@hourly", "2025-03-01T10:00:00Z", "2025-03-01T11:00:00Z" },
        { "@hourly", "2025-03-01T10:59:59Z", "2025-03-01T11:00:00Z" },
        { "@hourly", "2025-12-31T23:00:00Z", "2026-01-01T00:00:00Z" },
        { "@daily", "2025-03-01T00:00:00Z", "2025-03-02T00:00:00Z" },
        { "@weekly", "2025-01-01T00:00:00Z", "2025-01-05T00:00:00Z" },
        { "@monthly", "2025-01-31T23:59:00Z", "2025-02-01T00:00:00Z" },
        /* Business hours. */
        { "*/15 9-17 * * MON-FRI", "2025-01-03T17:44:00Z", "2025-01-03T17:45:00Z" },
        { "*/15 9-17 * * MON-FRI", "2025-01-03T17:45:00Z", "2025-01-06T09:00:00Z" },
        { "*/15 9-17 * * MON-FRI", "2025-01-03T08:00:00Z", "2025-01-03T09:00:00Z" },
        { "*/15 9-17 * * MON-FRI", "2025-01-04T12:00:00Z", "2025-01-06T09:00:00Z" },
        { "*/15 9-17 * * MON-FRI", "2025-01-06T09:01:00Z", "2025-01-06T09:15:00Z" },
        /* Hours and minutes that roll over. */
        { "30 2 * * *", "2025-01-01T02:30:00Z", "2025-01-02T02:30:00Z" },
        { "30 2 * * *", "2025-01-01T02:29:00Z", "2025-01-01T02:30:00Z" },
        { "5 4 * 2-3 sun", "2025-03-30T04:05:00Z", "2026-02-01T04:05:00Z" },
        { "0 0-20/2 * * *", "2025-01-01T20:00:00Z", "2025-01-02T00:00:00Z" },
        /* Either day rule, within the months given: February's Mondays, or the 29th. */
        { "0 0 29 2 MON", "2025-01-01T00:00:00Z", "2025-02-03T00:00:00Z" },
        { "0 0 29 2 MON", "2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z" },
        /* Four years ahead is still found. */
        { "0 0 29 2 *", "2092-03-01T00:00:00Z", "2096-02-29T00:00:00Z" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct cron c = parsed(cases[i].cron);
        int64_t     got = cron_next(&c, at(cases[i].after));
        char        text[TIME_RFC3339_LEN + 1] = "-1";
        if (got >= 0)
            time_format(got, text);
        if (got != at(cases[i].next))
            fail_msg("'%s' after %s: %s, not %s", cases[i].cron, cases[i].after, text,
                     cases[i].next);
    }
}

static void
test_next_none(void **state)
{
    static const struct {
        const char *cron, *after;
    } cases[] = {
        { "0 0 30 2 *", "2025-01-01T00:00:00Z" },
        { "0 0 31 2 *", "2025-01-01T00:00:00Z" },
        { "0 0 31 4 *", "2025-01-01T00:00:00Z" },
        { "0 0 31 4,6,9,11 *", "2025-01-01T00:00:00Z" },
        /* February 29 on a Sunday, both required: 2032, more than five years on. */
        { "0 0 29 2 */7", "2025-01-01T00:00:00Z" },
        /* 2100 is not a leap year: from March 2096 the next is 2104, too far. */
        { "0 0 29 2 *", "2096-03-01T00:00:00Z" },
        /* Outside the supported times. */
        { "* * * * *", "1969-12-31T23:59:00Z" },
        { "* * * * *", "9999-12-31T23:59:59.999Z" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct cron c = parsed(cases[i].cron);
        assert_int_equal(cron_next(&c, at(cases[i].after)), -1);
    }
    struct cron every = parsed("* * * * *");
    assert_int_equal(cron_next(&every, INT64_MIN), -1);
    assert_int_equal(cron_next(&every, INT64_MAX), -1);
    assert_int_equal(cron_next(&every, -1), -1);
    assert_int_equal(cron_next(&every, 0), 60000);
    /* The last minute of the year 9999 is still found from just before it. */
    assert_int_equal(cron_next(&every, at("9999-12-31T23:58:00Z")), at("9999-12-31T23:59:00Z"));
    struct cron feb29 = parsed("0 0 29 2 *");
    assert_int_equal(cron_next(&feb29, at("2027-03-01T00:00:00Z")), at("2028-02-29T00:00:00Z"));
}

/* The reference: minute by minute (a whole day at once when the day does not
 * match), with the C library's calendar. INT64_MIN when nothing is found
 * within `days` days. */
static int64_t
brute_next(const struct cron *c, int64_t after_ms, int64_t days)
{
    int64_t t = after_ms / 60000 + 1, end = t + days * 1440;

    while (t < end) {
        time_t    secs = (time_t)(t * 60);
        struct tm tm;
        gmtime_r(&secs, &tm);
        bool dom = (c->dom >> tm.tm_mday & 1) != 0, dow = (c->dow >> tm.tm_wday & 1) != 0;
        bool day = (c->month >> (tm.tm_mon + 1) & 1) != 0 &&
                   (c->dom_star || c->dow_star ? dom && dow : dom || dow);
        if (!day) {
            t += 1440 - t % 1440;
            continue;
        }
        if ((c->hour >> tm.tm_hour & 1) != 0 && (c->minute >> tm.tm_min & 1) != 0)
            return t * 60000;
        t++;
    }
    return INT64_MIN;
}

static void
test_next_against_brute_force(void **state)
{
    static const char *const crons[] = {
        "* * * * *",
        "*/7 * * * *",
        "0 * * * *",
        "30 2 * * *",
        "0 0 1 * *",
        "0 0 31 * *",
        "0 0 29 2 *",
        "0 0 13 * FRI",
        "0 0 */2 * MON",
        "15 10 * * 1-5",
        "0 12 1,15 * *",
        "0 0 * * 0",
        "0 0 * * 7",
        "59 23 31 12 *",
        "0 0 1 1 *",
        "5 4 * 2-3 sun",
        "0 0 28-31 * *",
        "23 0-20/2 * * *",
        "0 0 1-7 * MON",
        "0 0 */10 JAN,JUL *",
        "*/15 9-17 * * MON-FRI",
        "1,2,58,59 0,23 1,31 * *",
        "0 0 29 2 1-5",
        "45 23 * * 6",
        "0 0 30 * SAT",
    };
    static const char *const starts[] = {
        "1970-01-01T00:00:00Z",     "2024-02-28T23:59:30Z", "2025-12-31T23:59:00Z",
        "2023-06-15T12:34:56.789Z", "2100-02-27T00:00:00Z", "2099-12-31T23:30:00Z",
        "2031-09-30T23:59:59Z",
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(crons); i++) {
        struct cron c = parsed(crons[i]);
        for (size_t j = 0; j < ARRAY_LEN(starts); j++) {
            int64_t from = at(starts[j]);
            int64_t want = brute_next(&c, from, 3 * 366);
            int64_t got = cron_next(&c, from);
            if (want == INT64_MIN)
                assert_true(got == -1 || got >= from + (int64_t)3 * 366 * 86400000);
            else if (got != want)
                fail_msg("'%s' after %s: %" PRId64 ", not %" PRId64, crons[i], starts[j], got,
                         want);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_values),
        cmocka_unit_test(test_parse_macros),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_messages),
        cmocka_unit_test(test_next_known),
        cmocka_unit_test(test_next_none),
        cmocka_unit_test(test_next_against_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
