/* test_core.c - unit tests for src/core: strings, UTF-8, errors, arena, buf, val,
 * time, durations, ids and base64url. Many small table-driven cases. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/base.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/net.h"
#include "core/rnd.h"
#include "core/timeutil.h"
#include "core/val.h"

/* ---- strings ---------------------------------------------------------- */

static void
test_str_eq_nocase(void **state)
{
    (void)state;
    assert_true(str_eq_nocase(STR("Application/JSON"), "application/json"));
    assert_true(str_eq_nocase(STR(""), ""));
    assert_false(str_eq_nocase(STR("json"), "jsonx"));
    assert_false(str_eq_nocase(STR("jsonx"), "json"));
    assert_false(str_eq_nocase(STR("a"), "b"));
    /* Only ASCII folds: bytes above 0x7f compare exactly. */
    assert_false(str_eq_nocase(STR("\xc3\x84"), "\xc3\xa4"));
    assert_false(str_eq_nocase(STR("@"), "`"));
}

static void
test_str_trim(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "", "" },         { "   ", "" },        { "\t a \t", "a" }, { "a b", "a b" },
        { " a b ", "a b" }, { "\na\n", "\na\n" }, { "x", "x" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct str t = str_trim(str_c(cases[i].in));
        assert_true(str_eq_c(t, cases[i].out));
    }
}

static void
test_str_cut(void **state)
{
    struct str head, rest;
    (void)state;

    rest = str_cut(STR("key=value=x"), '=', &head);
    assert_true(str_eq_c(head, "key"));
    assert_true(str_eq_c(rest, "value=x"));
    rest = str_cut(STR("novalue"), '=', &head);
    assert_null(rest.p);
    assert_int_equal(rest.len, 0);
    assert_true(str_eq_c(head, "novalue"));
    rest = str_cut(STR("k="), '=', &head);
    assert_non_null(rest.p);
    assert_int_equal(rest.len, 0);
    assert_true(str_eq_c(head, "k"));
    rest = str_cut(STR("=v"), '=', &head);
    assert_int_equal(head.len, 0);
    assert_true(str_eq_c(rest, "v"));
    rest = str_cut(STR_NULL, '=', &head);
    assert_null(rest.p);
    assert_int_equal(head.len, 0);
}

static void
test_str_to_i64(void **state)
{
    static const struct {
        const char *in;
        int         rc;
        int64_t     v;
    } cases[] = {
        { "0", E_OK, 0 },
        { "-0", E_OK, 0 },
        { "42", E_OK, 42 },
        { "-42", E_OK, -42 },
        { "007", E_OK, 7 },
        { "9223372036854775807", E_OK, INT64_MAX },
        { "-9223372036854775808", E_OK, INT64_MIN },
        { "9223372036854775808", E_BADREQ, 0 },
        { "-9223372036854775809", E_BADREQ, 0 },
        { "99999999999999999999", E_BADREQ, 0 },
        { "", E_BADREQ, 0 },
        { "-", E_BADREQ, 0 },
        { "+1", E_BADREQ, 0 },
        { " 1", E_BADREQ, 0 },
        { "1 ", E_BADREQ, 0 },
        { "1a", E_BADREQ, 0 },
        { "0x10", E_BADREQ, 0 },
        { "1.5", E_BADREQ, 0 },
        { "--1", E_BADREQ, 0 },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int64_t v = 12345;
        int     rc = str_to_i64(str_c(cases[i].in), &v);
        if (rc != cases[i].rc)
            fail_msg("str_to_i64(\"%s\") = %d", cases[i].in, rc);
        if (rc == E_OK)
            assert_true(v == cases[i].v);
        else
            assert_true(v == 12345);
    }
}

/* utf8_decode, and the cut of a client's text into an error (review 11: a
 * 63-byte cut inside an "é" made the error list invalid UTF-8). */
static void
test_utf8_decode_and_cut(void **state)
{
    static const char *const cut_in[] = { "abc",        "ab\xc3\xa9",     "ab\xc3",
                                          "ab\xe2\x82", "ab\xf0\x9f\x98", "ab\xe2\x82\xac" };
    static const size_t      cut_at[] = { 3, 4, 2, 2, 2, 5 };
    uint32_t                 cp = 0;
    char                     dst[8];

    (void)state;
    assert_int_equal(utf8_decode("A", 1, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(utf8_decode("\xc3\xa9", 2, &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(utf8_decode("\xef\xbd\x81", 3, &cp), 3); /* fullwidth a */
    assert_int_equal(cp, 0xFF41);
    assert_int_equal(utf8_decode("\xf0\x9f\x98\x80", 4, &cp), 4);
    assert_int_equal(cp, 0x1F600);
    assert_int_equal(utf8_decode("\xc3", 1, &cp), 0);
    assert_int_equal(utf8_decode("\xc0\x80", 2, &cp), 0);
    assert_int_equal(utf8_decode("", 0, &cp), 0);
    for (size_t i = 0; i < ARRAY_LEN(cut_in); i++)
        assert_int_equal(utf8_cut(cut_in[i], strlen(cut_in[i])), cut_at[i]);
    /* 8 bytes hold 7 and the NUL: "aaaaaa" + "é" would end inside the "é" */
    assert_string_equal(str_copy_cut(dst, sizeof dst, STR("aaaaaa\xc3\xa9")), "aaaaaa");
    assert_string_equal(str_copy_cut(dst, sizeof dst, STR("aaaaa\xc3\xa9")), "aaaaa\xc3\xa9");
    assert_string_equal(str_copy_cut(dst, sizeof dst, STR("")), "");
}

static void
test_utf8_valid(void **state)
{
    static const struct {
        const char *bytes;
        size_t      len;
        bool        ok;
    } cases[] = {
#define U(s, ok) { s, sizeof(s) - 1, ok }
        U("", true),
        U("plain ascii", true),
        U("\x00", true),                      /* NUL is a valid code point */
        U("\xc3\xa4", true),                  /* ä */
        U("\xe2\x82\xac", true),              /* € */
        U("\xf0\x9f\x98\x80", true),          /* 😀 */
        U("\xef\xbf\xbf", true),              /* U+FFFF */
        U("\xf4\x8f\xbf\xbf", true),          /* U+10FFFF */
        U("\xed\x9f\xbf", true),              /* U+D7FF, just below surrogates */
        U("\xee\x80\x80", true),              /* U+E000, just above */
        U("\xc0\x80", false),                 /* overlong NUL */
        U("\xc1\xbf", false),                 /* overlong */
        U("\xe0\x80\xaf", false),             /* overlong '/' */
        U("\xe0\x9f\xbf", false),             /* overlong U+07FF */
        U("\xf0\x8f\xbf\xbf", false),         /* overlong U+FFFF */
        U("\xed\xa0\x80", false),             /* U+D800 surrogate */
        U("\xed\xbf\xbf", false),             /* U+DFFF surrogate */
        U("\xed\xa0\xbd\xed\xb8\x80", false), /* CESU-8 pair */
        U("\xf4\x90\x80\x80", false),         /* U+110000 */
        U("\xf5\x80\x80\x80", false),
        U("\xff", false),
        U("\xfe", false),
        U("\x80", false), /* lone continuation */
        U("a\xbf", false),
        U("\xc3", false), /* truncated */
        U("\xe2\x82", false),
        U("\xf0\x9f\x98", false),
        U("\xc3\x28", false), /* bad continuation */
        U("\xe2\x28\xa1", false),
        U("\xf0\x9f\x28\x80", false),
        U("ok\xc3\xa4ok\xe2\x82", false),
#undef U
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        if (utf8_valid(cases[i].bytes, cases[i].len) != cases[i].ok)
            fail_msg("utf8 case %zu", i);
}

/* ---- errors ----------------------------------------------------------- */

static void
test_err_table(void **state)
{
    static const struct {
        enum err    e;
        int         status;
        const char *title;
    } cases[] = {
        { E_OK, 200, "OK" },
        { E_BADREQ, 400, "Bad Request" },
        { E_UNAUTH, 401, "Unauthorized" },
        { E_FORBIDDEN, 403, "Forbidden" },
        { E_NOTFOUND, 404, "Not Found" },
        { E_METHOD, 405, "Method Not Allowed" },
        { E_CONFLICT, 409, "Conflict" },
        { E_TOOBIG, 413, "Content Too Large" },
        { E_URITOOLONG, 414, "URI Too Long" },
        { E_MEDIA, 415, "Unsupported Media Type" },
        { E_HEADERS, 431, "Request Header Fields Too Large" },
        { E_QUOTA, 417, "Quota Exceeded" },
        { E_VALIDATION, 422, "Validation Error" },
        { E_READONLY, 422, "Read Only Error" },
        { E_CREATIONONLY, 422, "Creation Only Error" },
        { E_DUPLICATE, 422, "Duplicate Key" },
        { E_PROTECTED, 422, "Protected Object" },
        { E_IDEMPOTENCY, 422, "Idempotency Key Reused" },
        { E_RATE, 429, "Too Many Requests" },
        { E_NOTIMPL, 501, "Not Implemented" },
        { E_VERSION, 505, "HTTP Version Not Supported" },
        { E_INTERNAL, 500, "Internal Server Error" },
        { E_UNAVAILABLE, 503, "Service Unavailable" },
    };
    (void)state;
    assert_int_equal(ARRAY_LEN(cases), E__COUNT);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        assert_int_equal(err_http_status(cases[i].e), cases[i].status);
        assert_string_equal(err_title(cases[i].e), cases[i].title);
    }
    assert_int_equal(err_http_status(E__COUNT), 500);
    assert_int_equal(err_http_status((enum err) - 1), 500);
}

static void
test_errbuf(void **state)
{
    struct errbuf eb;
    char          longs[600];
    (void)state;

    assert_int_equal(errbuf_set(&eb, E_BADREQ, "bad %d", 7), E_BADREQ);
    assert_int_equal(eb.code, E_BADREQ);
    assert_string_equal(eb.msg, "bad 7");
    assert_string_equal(eb.attr, "");
    assert_int_equal(errbuf_attr(&eb, E_VALIDATION, "name", "too %s", "long"), E_VALIDATION);
    assert_string_equal(eb.attr, "name");
    assert_string_equal(eb.msg, "too long");
    assert_int_equal(errbuf_set(NULL, E_NOTFOUND, "x"), E_NOTFOUND);
    memset(longs, 'x', sizeof longs - 1);
    longs[sizeof longs - 1] = '\0';
    errbuf_attr(&eb, E_VALIDATION, longs, "%s", longs);
    assert_int_equal(strlen(eb.msg), sizeof eb.msg - 1);
    assert_int_equal(strlen(eb.attr), sizeof eb.attr - 1);
    /* A later plain set clears the attribute of an earlier one. */
    errbuf_set(&eb, E_BADREQ, "x");
    assert_string_equal(eb.attr, "");
}

/* ---- arena ------------------------------------------------------------ */

static void
test_arena_alignment(void **state)
{
    struct arena *a = arena_new(0);
    void         *prev = NULL;
    (void)state;

    for (size_t n = 0; n < 300; n++) {
        char *p = arena_alloc(a, n % 37);
        assert_int_equal((uintptr_t)p % 16, 0);
        assert_ptr_not_equal(p, prev); /* unique, n == 0 included */
        memset(p, 0xab, n % 37);
        prev = p;
    }
    arena_free(a);
}

static void
test_arena_big(void **state)
{
    struct arena *a = arena_new(256);
    (void)state;

    char *small = arena_alloc(a, 10);
    memcpy(small, "abcdefghi", 10);
    char *big = arena_alloc(a, 10 << 20);
    assert_int_equal((uintptr_t)big % 16, 0);
    memset(big, 1, 10 << 20);
    char *small2 = arena_alloc(a, 10);
    assert_int_equal((uintptr_t)small2 % 16, 0);
    assert_string_equal(small, "abcdefghi");
    assert_true(arena_used(a) >= (10u << 20) + 20);
    for (int i = 0; i < 1000; i++)
        memset(arena_alloc(a, 1000), 2, 1000);
    arena_reset(a);
    assert_int_equal(arena_used(a), 0);
    char *again = arena_alloc(a, 100);
    assert_int_equal((uintptr_t)again % 16, 0);
    memset(again, 3, 100);
    arena_free(a);
    arena_free(NULL);
}

static void
test_arena_calloc_realloc(void **state)
{
    struct arena *a = arena_new(1024);
    (void)state;

    unsigned char *z = arena_calloc(a, 100, 3);
    for (int i = 0; i < 300; i++)
        assert_int_equal(z[i], 0);
    char *r = arena_realloc(a, NULL, 0, 4);
    memcpy(r, "abc", 4);
    r = arena_realloc(a, r, 4, 8); /* last allocation: grows in place */
    assert_string_equal(r, "abc");
    char *other = arena_alloc(a, 4);
    (void)other;
    char *r2 = arena_realloc(a, r, 8, 5000); /* must move */
    assert_string_equal(r2, "abc");
    assert_int_equal((uintptr_t)r2 % 16, 0);
    arena_free(a);
}

static void
test_arena_strings(void **state)
{
    struct arena *a = arena_new(64);
    (void)state;

    char *d = arena_strndup(a, "hello world", 5);
    assert_string_equal(d, "hello");
    struct str s = arena_str(a, STR("slice"));
    assert_int_equal(s.len, 5);
    assert_int_equal(s.p[5], '\0');
    char *pf = arena_printf(a, "%s-%d-%05.1f", "x", 42, 2.5);
    assert_string_equal(pf, "x-42-002.5");
    char *e = arena_strndup(a, NULL, 0);
    assert_string_equal(e, "");
    arena_free(a);
}

static void
test_arena_overflow_aborts(void **state)
{
    (void)state;
    /* A calloc whose product overflows must abort, never return a short block. */
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        struct arena *a = arena_new(0);
        freopen("/dev/null", "w", stderr);
        arena_calloc(a, SIZE_MAX / 2, 3);
        _exit(0);
    }
    int status = 0;
    assert_true(waitpid(pid, &status, 0) == pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

/* ---- buf -------------------------------------------------------------- */

static void
test_buf_basic(void **state)
{
    struct buf b;
    (void)state;

    buf_init(&b, 1000);
    assert_string_equal(buf_cstr(&b), "");
    assert_int_equal(buf_str(&b).len, 0);
    assert_int_equal(buf_puts(&b, "abc"), E_OK);
    assert_int_equal(buf_putc(&b, 'd'), E_OK);
    assert_int_equal(buf_printf(&b, "-%d-%s", 12, "x"), E_OK);
    assert_string_equal(buf_cstr(&b), "abcd-12-x");
    assert_int_equal(b.len, 9);
    assert_int_equal(buf_append(&b, "\0z", 2), E_OK);
    assert_int_equal(b.len, 11);
    assert_int_equal(b.p[11], '\0');
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_cstr(&b), "");
    for (int i = 0; i < 100; i++)
        assert_int_equal(buf_printf(&b, "%d,", i % 10), E_OK);
    assert_int_equal(b.len, 200);
    assert_int_equal(strlen(b.p), 200);
    buf_free(&b);
    buf_free(&b);
}

static void
test_buf_max(void **state)
{
    struct buf b;
    char       chunk[100];
    (void)state;

    memset(chunk, 'x', sizeof chunk);
    buf_init(&b, 250);
    assert_int_equal(buf_append(&b, chunk, 100), E_OK);
    assert_int_equal(buf_append(&b, chunk, 100), E_OK);
    assert_int_equal(buf_append(&b, chunk, 51), E_TOOBIG); /* one past */
    assert_int_equal(b.len, 200);                          /* unchanged */
    assert_int_equal(buf_append(&b, chunk, 50), E_OK);     /* exactly at max */
    assert_int_equal(b.len, 250);
    assert_int_equal(b.p[250], '\0');
    assert_true(b.cap <= 251);
    assert_int_equal(buf_putc(&b, 'y'), E_TOOBIG);
    assert_int_equal(buf_printf(&b, "%s", "z"), E_TOOBIG);
    assert_int_equal(buf_puts(&b, ""), E_OK);
    assert_int_equal(buf_append(&b, chunk, SIZE_MAX), E_TOOBIG);
    assert_int_equal(b.len, 250);
    buf_wipe(&b);
    assert_null(b.p);

    buf_init(&b, 10);
    assert_int_equal(buf_printf(&b, "%s", "0123456789"), E_OK);
    assert_int_equal(buf_printf(&b, "%s", "a"), E_TOOBIG);
    buf_reset(&b);
    assert_int_equal(buf_printf(&b, "%s", "0123456789a"), E_TOOBIG);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

/* ---- val -------------------------------------------------------------- */

static void
test_val_map(void **state)
{
    struct arena *a = arena_new(0);
    struct val    m = val_map();
    (void)state;

    for (int i = 0; i < 50; i++)
        val_set(a, &m, arena_printf(a, "k%d", i), val_int(i));
    assert_int_equal(m.m.n, 50);
    assert_int_equal(val_get(&m, "k7")->i, 7);
    val_set(a, &m, "k7", val_cstr("seven"));
    assert_int_equal(m.m.n, 50);
    assert_int_equal(val_get(&m, "k7")->t, V_STR);
    assert_true(str_eq_c(m.m.kv[7].k, "k7")); /* replaced in place */
    val_del(&m, "k0");
    val_del(&m, "absent");
    assert_int_equal(m.m.n, 49);
    assert_true(str_eq_c(m.m.kv[0].k, "k1"));
    assert_null(val_get(&m, "k0"));
    struct val i = val_int(1);
    assert_null(val_get(&i, "k1"));
    assert_null(val_get(NULL, "k1"));
    arena_free(a);
}

static void
test_val_equal_clone(void **state)
{
    struct arena *a = arena_new(0);
    struct arena *b = arena_new(0);
    struct val    x = val_map(), y = val_map(), arr = val_arr();
    (void)state;

    val_push(a, &arr, val_int(1));
    val_push(a, &arr, val_float(1.5));
    val_push(a, &arr, val_null());
    val_push(a, &arr, val_bool(true));
    val_set(a, &x, "a", arr);
    val_set(a, &x, "b", val_cstr("str"));
    /* Same content, other order: maps compare as sets. */
    val_set(a, &y, "b", val_cstr("str"));
    val_set(a, &y, "a", arr);
    assert_true(val_equal(&x, &y));
    struct val c = val_clone(b, &x);
    arena_free(a);
    assert_int_equal(c.m.n, 2);
    assert_true(str_eq_c(val_get(&c, "b")->s, "str"));
    assert_int_equal(val_get(&c, "a")->a.n, 4);

    struct val i1 = val_int(1), f1 = val_float(1.0), s1 = val_cstr("1");
    assert_false(val_equal(&i1, &f1));
    assert_false(val_equal(&i1, &s1));
    struct val n1 = val_null(), n2 = val_null();
    assert_true(val_equal(&n1, &n2));
    struct val m1 = val_map(), m2 = val_map();
    val_set(b, &m1, "a", val_int(1));
    val_set(b, &m2, "b", val_int(1));
    assert_false(val_equal(&m1, &m2));
    val_set(b, &m2, "a", val_int(1));
    assert_false(val_equal(&m1, &m2));
    arena_free(b);
}

static void
test_vtype_name(void **state)
{
    (void)state;
    assert_string_equal(vtype_name(V_STR), "string");
    assert_string_equal(vtype_name(V_MAP), "object");
    assert_string_equal(vtype_name((enum vtype)99), "unknown");
}

/* ---- time ------------------------------------------------------------- */

static void
test_time_format(void **state)
{
    static const struct {
        int64_t     ms;
        const char *s;
    } cases[] = {
        { 0, "1970-01-01T00:00:00.000Z" },
        { 1560803484681LL, "2019-06-17T20:31:24.681Z" },
        { -1, "1969-12-31T23:59:59.999Z" },
        { 951782400000LL, "2000-02-29T00:00:00.000Z" },
        { 253402300799999LL, "9999-12-31T23:59:59.999Z" },
        { INT64_MAX, "9999-12-31T23:59:59.999Z" },
        { INT64_MIN, "0000-01-01T00:00:00.000Z" },
    };
    char out[TIME_RFC3339_LEN + 1];
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        time_format(cases[i].ms, out);
        assert_string_equal(out, cases[i].s);
    }
    assert_true(time_now_ms() > 1700000000000LL);
    assert_true(time_mono_ms() >= 0);
}

static void
test_time_format_http(void **state)
{
    static const struct {
        int64_t     ms;
        const char *s;
    } cases[] = {
        { 0, "Thu, 01 Jan 1970 00:00:00 GMT" },
        { 1560803484681LL, "Mon, 17 Jun 2019 20:31:24 GMT" },
        { 784111777000LL, "Sun, 06 Nov 1994 08:49:37 GMT" }, /* RFC 9110's example */
        { -1, "Wed, 31 Dec 1969 23:59:59 GMT" },
        { 951782400999LL, "Tue, 29 Feb 2000 00:00:00 GMT" },
        { INT64_MAX, "Fri, 31 Dec 9999 23:59:59 GMT" },
    };
    char out[TIME_HTTP_LEN + 1];
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        time_format_http(cases[i].ms, out);
        assert_string_equal(out, cases[i].s);
    }
}

static void
test_time_parse(void **state)
{
    static const struct {
        const char *s;
        int64_t     ms;
    } ok[] = {
        { "2019-06-17T20:31:24.681Z", 1560803484681LL },
        { "2019-06-17t20:31:24.681z", 1560803484681LL },
        { "2019-06-17T20:31:24Z", 1560803484000LL },
        { "2019-06-17T20:31:24.6Z", 1560803484600LL },
        { "2019-06-17T20:31:24.68Z", 1560803484680LL },
        { "2019-06-17T20:31:24.681999999999Z", 1560803484681LL },
        { "2019-06-17T22:31:24.681+02:00", 1560803484681LL },
        { "2019-06-17T15:01:24.681-05:30", 1560803484681LL },
        { "2019-06-17T20:31:24.681+00:00", 1560803484681LL },
        { "2019-06-17T20:31:24.681-00:00", 1560803484681LL },
        { "2019-06-17", 1560729600000LL },
        { "2000-02-29", 951782400000LL },
        { "1970-01-01T00:00:00Z", 0 },
        { "1969-12-31T23:59:59.999Z", -1 },
        { "9999-12-31T23:59:59.999Z", 253402300799999LL },
    };
    static const char *const bad[] = {
        "",
        "2019",
        "2019-06",
        "2019-13-01",
        "2019-00-01",
        "2019-01-32",
        "2019-01-00",
        "2019-02-29",
        "1900-02-29",
        "2019-04-31",
        "2019-06-17T",
        "2019-06-17T20:31Z",
        "2019-06-17T24:00:00Z",
        "2019-06-17T23:60:00Z",
        "2019-06-17T23:59:60Z",
        "2019-06-17T20:31:24",
        "2019-06-17T20:31:24.Z",
        "2019-06-17T20:31:24.681",
        "2019-06-17T20:31:24.681+0200",
        "2019-06-17T20:31:24.681+24:00",
        "2019-06-17T20:31:24.681+02:60",
        "2019-06-17T20:31:24.681ZZ",
        "2019-06-17 20:31:24Z",
        "2019-6-17",
        "19-06-17",
        " 2019-06-17",
        "2019-06-17 ",
        "2019-06-17x",
        "+2019-06-17",
        "2019-06-1a",
        "2019-06-17T20:31:24.68a1Z",
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        int64_t ms = 0;
        if (time_parse(str_c(ok[i].s), &ms) != E_OK)
            fail_msg("time_parse(\"%s\") failed", ok[i].s);
        if (ms != ok[i].ms)
            fail_msg("time_parse(\"%s\") = %lld", ok[i].s, (long long)ms);
    }
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        int64_t ms = 0;
        if (time_parse(str_c(bad[i]), &ms) != E_BADREQ)
            fail_msg("time_parse(\"%s\") accepted", bad[i]);
    }
}

static void
test_time_roundtrip(void **state)
{
    char out[TIME_RFC3339_LEN + 1];
    (void)state;
    /* From year 0 to 9999, in uneven steps so that every field varies. */
    for (int64_t ms = -62167219200000LL; ms < 253402300799999LL;
         ms += 7777777777LL + (ms > 0 ? ms / 3 : -ms / 50)) {
        int64_t back = 0;
        time_format(ms, out);
        assert_int_equal(time_parse(str_c(out), &back), E_OK);
        assert_true(back == ms);
    }
}

/* ---- durations -------------------------------------------------------- */

#define MS_S 1000LL
#define MS_M (60 * MS_S)
#define MS_H (60 * MS_M)

static void
test_duration_parse(void **state)
{
    /* Go's time.ParseDuration tests, results truncated to milliseconds. */
    static const struct {
        const char *s;
        int64_t     ms;
    } ok[] = {
        { "0", 0 },
        { "5s", 5 * MS_S },
        { "30s", 30 * MS_S },
        { "1478s", 1478 * MS_S },
        { "-5s", -5 * MS_S },
        { "+5s", 5 * MS_S },
        { "-0", 0 },
        { "+0", 0 },
        { "5.0s", 5 * MS_S },
        { "5.6s", 5 * MS_S + 600 },
        { "5.s", 5 * MS_S },
        { ".5s", 500 },
        { "1.0s", MS_S },
        { "1.00s", MS_S },
        { "1.004s", MS_S + 4 },
        { "1.0040s", MS_S + 4 },
        { "100.00100s", 100 * MS_S + 1 },
        { "10ns", 0 },
        { "11us", 0 },
        { "12\xc2\xb5s", 0 },
        { "12\xce\xbcs", 0 },
        { "13ms", 13 },
        { "14s", 14 * MS_S },
        { "15m", 15 * MS_M },
        { "16h", 16 * MS_H },
        { "3h30m", 3 * MS_H + 30 * MS_M },
        { "10.5s4m", 4 * MS_M + 10 * MS_S + 500 },
        { "-2m3.4s", -(2 * MS_M + 3 * MS_S + 400) },
        { "1h2m3s4ms5us6ns", MS_H + 2 * MS_M + 3 * MS_S + 4 },
        { "39h9m14.425s", 39 * MS_H + 9 * MS_M + 14 * MS_S + 425 },
        { "52763797000ns", 52763 },
        { "0.3333333333333333333h", 20 * MS_M },
        { "9007199254740993ns", 9007199254 },
        { "9223372036854775807ns", 9223372036854 },
        { "9223372036854775.807us", 9223372036854 },
        { "9223372036s854ms775us807ns", 9223372036854 },
        { "-9223372036854775808ns", -9223372036854 },
        { "-9223372036854775.808us", -9223372036854 },
        { "-9223372036s854ms775us808ns", -9223372036854 },
        { "-2562047h47m16.854775808s", -9223372036854 },
        { "0.100000000000000000000h", 6 * MS_M },
        { "0.830103483285477580700h", 49 * MS_M + 48 * MS_S + 372 },
        { "1.5h", 90 * MS_M },
        { "300ms", 300 },
        { "-720h", -720 * MS_H },
        { "1500us", 1 },
        { "-1500us", -1 },
        { "0s", 0 },
        { "0.0001ms", 0 },
    };
    static const char *const bad[] = {
        "",
        "3",
        "1",
        "h",
        "-",
        "+",
        "s",
        ".",
        "-.",
        ".s",
        "+.s",
        "1d",
        "1H",
        "1 h",
        " 1h",
        "1h ",
        "1h-1m",
        "--1h",
        "1.2.3s",
        "\x85\x85",
        "\xff"
        "ff",
        "hello \xff"
        "ff world",
        "9223372036854775808ns",
        "9223372036854775.808us",
        "9223372036854ms775us808ns",
        "-9223372036854775809ns",
        "2562048h",
        "99999999999999999999999h",
        "1e3s",
        "0x",
        "00",
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        int64_t ms = 42;
        if (duration_parse(str_c(ok[i].s), &ms) != E_OK)
            fail_msg("duration_parse(\"%s\") failed", ok[i].s);
        if (ms != ok[i].ms)
            fail_msg("duration_parse(\"%s\") = %lld, want %lld", ok[i].s, (long long)ms,
                     (long long)ok[i].ms);
    }
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        int64_t ms = 0;
        if (duration_parse(str_c(bad[i]), &ms) != E_BADREQ)
            fail_msg("duration_parse(\"%s\") accepted: %lld", bad[i], (long long)ms);
    }
}

static void
test_duration_format(void **state)
{
    static const struct {
        int64_t     ms;
        const char *s;
    } cases[] = {
        { 0, "0s" },
        { 1, "1ms" },
        { 999, "999ms" },
        { -999, "-999ms" },
        { 1000, "1s" },
        { 1500, "1.5s" },
        { 1050, "1.05s" },
        { 1001, "1.001s" },
        { 90 * MS_S, "1m30s" },
        { MS_M, "1m" },
        { MS_H, "1h" },
        { 24 * MS_H, "24h" },
        { -720 * MS_H, "-720h" },
        { MS_H + 30 * MS_M, "1h30m" },
        { MS_H + 30 * MS_S, "1h0m30s" },
        { MS_H + 500, "1h0m0.5s" },
        { 2 * MS_M + 3400, "2m3.4s" },
        { -(2 * MS_M + 3400), "-2m3.4s" },
        { INT64_MAX, "2562047788015h12m55.807s" },
        { INT64_MIN, "-2562047788015h12m55.808s" },
    };
    char out[32];
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        duration_format(cases[i].ms, out);
        assert_string_equal(out, cases[i].s);
    }
}

static void
test_duration_roundtrip(void **state)
{
    char out[32];
    (void)state;
    /* Within Go's range, format then parse is the identity. */
    for (int64_t ms = -9223372036854LL; ms <= 9223372036854LL; ms += 123456789LL) {
        int64_t back = 0;
        duration_format(ms, out);
        assert_int_equal(duration_parse(str_c(out), &back), E_OK);
        assert_true(back == ms);
    }
}

/* ---- ids, hex, base64url ---------------------------------------------- */

static void
test_id_new(void **state)
{
    char a[ID_LEN + 1], b[ID_LEN + 1], now[9];
    (void)state;

    id_new(a);
    id_new(b);
    assert_int_equal(strlen(a), ID_LEN);
    assert_true(id_valid(str_c(a)));
    assert_string_not_equal(a, b);
    snprintf(now, sizeof now, "%08x", (unsigned)time(NULL));
    /* The first 8 characters are the creation second (allow a tick). */
    unsigned long ts =
        strtoul((char[9]){ a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], 0 }, NULL, 16);
    unsigned long tn = strtoul(now, NULL, 16);
    assert_true(tn - ts <= 1);
    assert_false(id_valid(STR("0123456789abcdef0123456")));
    assert_false(id_valid(STR("0123456789abcdef012345678")));
    assert_false(id_valid(STR("0123456789ABCDEF01234567")));
    assert_false(id_valid(STR("0123456789abcdef0123456g")));
    assert_true(id_valid(STR("0123456789abcdef01234567")));
}

static void
test_hex(void **state)
{
    char out[9];
    (void)state;
    hex_encode("\x00\x01\xab\xff", 4, out);
    assert_string_equal(out, "0001abff");
    hex_encode("", 0, out);
    assert_string_equal(out, "");
}

static void
test_b64url_vectors(void **state)
{
    /* RFC 4648 section 10, in the URL alphabet, unpadded. */
    static const struct {
        const char *raw, *enc;
    } cases[] = {
        { "", "" },
        { "f", "Zg" },
        { "fo", "Zm8" },
        { "foo", "Zm9v" },
        { "foob", "Zm9vYg" },
        { "fooba", "Zm9vYmE" },
        { "foobar", "Zm9vYmFy" },
        { "\xfb\xff", "-_8" },
    };
    char          enc[32];
    unsigned char dec[32];
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        size_t n = strlen(cases[i].raw);
        assert_int_equal(b64url_len(n), strlen(cases[i].enc));
        b64url_encode(cases[i].raw, n, enc);
        assert_string_equal(enc, cases[i].enc);
        long d = b64url_decode(enc, strlen(enc), dec);
        assert_int_equal(d, (long)n);
        assert_memory_equal(dec, cases[i].raw, n);
    }
    assert_int_equal(b64url_decode("Zg==", 4, dec), 1);
    assert_int_equal(b64url_decode("Zm8=", 4, dec), 2);
    static const char *const bad[] = { "Z",    "Zg=",   "Zg===", "Z===",   "Zh",
                                       "Zm9",  "Zm+v",  "Zm/v",  "Zm9v\n", "=Zg",
                                       "Zg=a", "Zm 9v", "====" };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (b64url_decode(bad[i], strlen(bad[i]), dec) != -1)
            fail_msg("b64url_decode(\"%s\") accepted", bad[i]);
}

static void
test_b64url_roundtrip(void **state)
{
    unsigned char raw[300], dec[300 * 3 / 4 + 3 + 100];
    char          enc[420];
    (void)state;
    for (size_t n = 0; n < sizeof raw; n++) {
        rnd_bytes(raw, n);
        b64url_encode(raw, n, enc);
        assert_int_equal(strlen(enc), b64url_len(n));
        long d = b64url_decode(enc, strlen(enc), dec);
        assert_int_equal(d, (long)n);
        assert_memory_equal(raw, dec, n);
    }
}

static void
test_log_line(void **state)
{
    int  fds[2], saved;
    char line[256];
    (void)state;

    assert_int_equal(pipe(fds), 0);
    saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    log_info("hello %s\nforged", "world");
    log_debug("not shown %d", 1);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], line, sizeof line - 1);
    close(fds[0]);
    assert_true(n > 0);
    line[n] = '\0';
    assert_int_equal(n, TIME_RFC3339_LEN + strlen(" INFO hello world forged\n"));
    assert_string_equal(line + TIME_RFC3339_LEN, " INFO hello world forged\n");
    assert_int_equal(line[10], 'T');
    assert_int_equal(line[TIME_RFC3339_LEN - 1], 'Z');
}

/* ---- addresses and CIDR ranges ----------------------------------------- */

/* What a user may send as an address or range (authorizedSubnets,
 * restrictedNetworks, excludes): only the text itself, nothing hidden after a
 * NUL byte (a JSON string may carry \u0000), no sign before the prefix. */
static void
test_cidr_parse_strict(void **state)
{
    static const struct {
        const char *text;
        size_t      len;
        int         rc;
    } cases[] = {
        { "10.0.0.1", 8, E_OK },         { "10.0.0.0/8", 10, E_OK },
        { "2001:db8::/32", 13, E_OK },   { "10.0.0.1\0junk", 13, E_BADREQ },
        { "10.0.0.1\0", 9, E_BADREQ },   { "::1\0", 4, E_BADREQ },
        { "10.0.0.0/-0", 11, E_BADREQ }, { "10.0.0.0/+8", 11, E_BADREQ },
        { "10.0.0.0/", 9, E_BADREQ },    { "10.0.0.0/33", 11, E_BADREQ },
        { "10.0.0.0/08", 11, E_BADREQ },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct cidr c;
        int         rc = cidr_parse((struct str){ cases[i].text, cases[i].len }, &c);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): %d, want %d", i, cases[i].text, rc, cases[i].rc);
    }
}

/* X.509 name constraints compare an address only with a range of its own
 * family (4 or 16 bytes): an IPv4-mapped IPv6 address is IPv6 there. */
static void
test_cidr_holds_its_own_family(void **state)
{
    static const struct {
        const char *range, *ip;
        bool        holds, contains;
    } cases[] = {
        { "10.0.0.0/8", "10.1.2.3", true, true },
        { "10.0.0.0/8", "::ffff:10.0.0.1", false, true },
        { "10.0.0.0/8", "11.0.0.1", false, false },
        { "::/0", "10.0.0.1", false, true },
        { "::/0", "::ffff:10.0.0.1", true, true },
        { "0.0.0.0/0", "::ffff:1.2.3.4", false, true },
        { "0.0.0.0/0", "2001:db8::1", false, false },
        { "::ffff:10.0.0.0/104", "::ffff:10.9.9.9", true, true },
        { "::ffff:10.0.0.0/104", "10.9.9.9", false, true },
        { "192.0.2.7", "192.0.2.7", true, true },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct cidr   c;
        unsigned char ip[16];
        bool          v4;
        assert_int_equal(cidr_parse(str_c(cases[i].range), &c), E_OK);
        assert_int_equal(ip_parse_family(str_c(cases[i].ip), ip, &v4), E_OK);
        if (cidr_holds(&c, ip, v4) != cases[i].holds ||
            cidr_contains(&c, ip) != cases[i].contains)
            fail_msg("case %zu: %s in %s", i, cases[i].ip, cases[i].range);
    }
}

/* A range written with address bits past its prefix is not a network; its
 * canonical form is said in its own family. */
static void
test_cidr_network_and_format(void **state)
{
    static const struct {
        const char *in, *canon;
        bool        network;
    } cases[] = {
        { "10.0.0.0/8", "10.0.0.0/8", true },
        { "10.0.0.1/8", "10.0.0.0/8", false },
        { "10.128.0.0/9", "10.128.0.0/9", true },
        { "10.192.0.0/9", "10.128.0.0/9", false },
        { "192.0.2.7", "192.0.2.7/32", true },
        { "0.0.0.0/0", "0.0.0.0/0", true },
        { "2001:db8::1/32", "2001:db8::/32", false },
        { "2001:db8::/32", "2001:db8::/32", true },
        { "::ffff:10.0.0.1/104", "::ffff:10.0.0.0/104", false },
        { "::/0", "::/0", true },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct cidr c;
        char        out[CIDR_TEXT_MAX];
        assert_int_equal(cidr_parse(str_c(cases[i].in), &c), E_OK);
        cidr_format(&c, out);
        if (cidr_is_network(&c) != cases[i].network || strcmp(out, cases[i].canon) != 0)
            fail_msg("case %zu: %s gave %s", i, cases[i].in, out);
    }
}

/* What may be shown of a URL setting: never its password. */
static void
test_config_url_redacted(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "postgres://u:pw@h:5432/db?x=1", "postgres://u:***@h:5432/db?x=1" },
        { "postgres://u:p:w@h/db", "postgres://u:***@h/db" },
        { "postgres://u:p@w@h/db", "postgres://u:***@h/db" },
        { "postgres://u@h/db", "postgres://u@h/db" },
        { "postgres://h/db?user=a@b", "postgres://h/db?user=a@b" },
        { "postgres://h/db?password=s3cret", "postgres://h/db?password=***" },
        { "postgres://h/db?sslmode=require&password=x&user=u",
          "postgres://h/db?sslmode=require&password=***&user=u" },
        { "postgres://u:pw@h/db?password=longer-secret#f",
          "postgres://u:***@h/db?password=***#f" },
        { "postgres://h/db?xpassword=shown&password=",
          "postgres://h/db?xpassword=shown&password=***" },
        { "postgres://h/db?sslpassword=k3y&sslmode=verify-full",
          "postgres://h/db?sslpassword=***&sslmode=verify-full" },
        /* unencoded '?', '#', '/' in a password, a percent-encoded parameter name */
        { "postgres://kw:pa?ss@db:1/k", "postgres://kw:***@db:1/k" },
        { "postgres://kw:pa#ss@db/k", "postgres://kw:***@db/k" },
        { "postgres://kw:sec/ret@db/k", "postgres://kw:***@db/k" },
        /* '@' and '/' and '#' or '?' in one password (an acceptance check) */
        { "postgres://kw:Pa@ss/wo#rd123@db:1/k", "postgres://kw:***@db:1/k" },
        { "postgres://kw:S@p/er#Sec?ret:Xyz@db:1/k", "postgres://kw:***@db:1/k" },
        /* an '@' in a query value is no end of the user information (a review) */
        { "postgres://kw:pw@db/k?application_name=kw@node1",
          "postgres://kw:***@db/k?application_name=kw@node1" },
        { "postgres://kw:pw@db/k?sslcert=/etc/kw/app@db.crt",
          "postgres://kw:***@db/k?sslcert=/etc/kw/app@db.crt" },
        { "postgres://kw@db/k?%70assword=s3cret", "postgres://kw@db/k?%70assword=***" },
        { "postgres://db:5432/k?user=a@b", "postgres://db:5432/k?user=a@b" },
        /* a mistyped ':' between user and password: all of the user information */
        { "postgres://keyward?SecrtPW99@h:1/k", "postgres://***@h:1/k" },
        { "postgres://u;pw@h/k", "postgres://***@h/k" },
        { "postgres://key.ward_1%40x@h/k", "postgres://key.ward_1%40x@h/k" },
        /* libpq's key=value form (refused as a store, but named in the refusal) */
        { "host=h password=s3cret dbname=kw", "host=h password=*** dbname=kw" },
        { "host=h password='s3 cr\\'et' user=u", "host=h password=*** user=u" },
        { "sqlite:/var/lib/keyward/keyward.db", "sqlite:/var/lib/keyward/keyward.db" },
        { "", "" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char out[128];
        config_url_redacted(cases[i].in, out, sizeof out);
        if (strcmp(out, cases[i].out) != 0)
            fail_msg("case %zu: %s -> %s, want %s", i, cases[i].in, out, cases[i].out);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_eq_nocase),
        cmocka_unit_test(test_str_trim),
        cmocka_unit_test(test_str_cut),
        cmocka_unit_test(test_str_to_i64),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_decode_and_cut),
        cmocka_unit_test(test_err_table),
        cmocka_unit_test(test_errbuf),
        cmocka_unit_test(test_arena_alignment),
        cmocka_unit_test(test_arena_big),
        cmocka_unit_test(test_arena_calloc_realloc),
        cmocka_unit_test(test_arena_strings),
        cmocka_unit_test(test_arena_overflow_aborts),
        cmocka_unit_test(test_buf_basic),
        cmocka_unit_test(test_buf_max),
        cmocka_unit_test(test_val_map),
        cmocka_unit_test(test_val_equal_clone),
        cmocka_unit_test(test_vtype_name),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_time_format_http),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_time_roundtrip),
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_duration_roundtrip),
        cmocka_unit_test(test_id_new),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_b64url_vectors),
        cmocka_unit_test(test_b64url_roundtrip),
        cmocka_unit_test(test_log_line),
        cmocka_unit_test(test_cidr_parse_strict),
        cmocka_unit_test(test_cidr_holds_its_own_family),
        cmocka_unit_test(test_cidr_network_and_format),
        cmocka_unit_test(test_config_url_redacted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
