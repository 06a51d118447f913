/* test_http_parse.c - HTTP/1.1 framing (http/parse.c): many small cases, as
 * data. Each head is parsed whole and also byte by byte, which must give the
 * same answer (HTTP_AGAIN until the last byte). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/parse.h"

static const struct http_limits lim = { .max_target = 64, .max_fields = 256 };

struct head_case {
    const char *in;
    int         want;
};

static const struct head_case head_cases[] = {
    { "GET / HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_HEAD_OK },
    { "GET / HTTP/1.1\nHost: x\n\n", HTTP_HEAD_OK },           /* bare LF tolerated */
    { "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_HEAD_OK }, /* leading empty line */
    { "GET / HTTP/1.0\r\n\r\n", HTTP_HEAD_OK },                /* 1.0 needs no Host */
    { "GET / HTTP/1.9\r\nHost: x\r\n\r\n", HTTP_HEAD_OK },     /* a later 1.x is 1.1 */
    { "GET / HTTP/1.1\r\n\r\n", 400 },                         /* no Host */
    { "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
    { "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505 },
    { "GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505 },
    { "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505 },
    { "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400 },
    { "GET / HTTP/11\r\nHost: x\r\n\r\n", 400 },
    { "GET / http/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET /\r\nHost: x\r\n\r\n", 400 },
    { "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { "G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { " GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET /a\rb HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET /"
      "0123456789012345678901234567890123456789012345678901234567890123"
      " HTTP/1.1\r\nHost: x\r\n\r\n",
      414 },
    { "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\n: empty-name\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nX-A: caf\xc3\xa9\r\n\r\n", HTTP_HEAD_OK }, /* obs-text */
    { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", HTTP_HEAD_OK },
    { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", HTTP_HEAD_OK },
    { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
      HTTP_HEAD_OK },
    { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 15\r\n\r\n", 400 },
    { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\n", 400 },
    { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n", 400 },
    { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400 },
    { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", 400 },
    { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400 },
    { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999999999999999\r\n\r\n",
      HTTP_HEAD_OK }, /* 19 digits: framed, refused later as too large */
    { "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_HEAD_OK },
    { "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n", HTTP_HEAD_OK },
    { "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
      400 },
    { "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
    { "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", 501 },
    { "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501 },
    { "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 501 },
    { "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
      "Transfer-Encoding: chunked\r\n\r\n",
      501 },
    { "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n", 501 },
};

static void
test_heads(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof head_cases / sizeof head_cases[0]; i++) {
        const char      *in = head_cases[i].in;
        struct http_head h;
        int              rc = http_parse_head(in, strlen(in), &lim, &h, NULL);

        if (rc != head_cases[i].want)
            fail_msg("case %zu (%s): got %d, want %d", i, in, rc, head_cases[i].want);
        if (rc == HTTP_HEAD_OK)
            assert_int_equal(h.len, strlen(in));
    }
}

/* Fed one byte more at a time, every prefix is HTTP_AGAIN or already the
 * final answer (for refusals found before the end), never something else. */
static void
test_heads_byte_by_byte(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof head_cases / sizeof head_cases[0]; i++) {
        const char      *in = head_cases[i].in;
        struct http_head h;
        size_t           n = strlen(in);

        for (size_t k = 0; k < n; k++) {
            int rc = http_parse_head(in, k, &lim, &h, NULL);
            if (rc != HTTP_AGAIN && rc != head_cases[i].want)
                fail_msg("case %zu at %zu bytes: got %d, want %d", i, k, rc,
                         head_cases[i].want);
            if (rc == HTTP_HEAD_OK)
                fail_msg("case %zu: a complete head after only %zu of %zu bytes", i, k, n);
        }
    }
}

static void
test_head_fields_and_flags(void **state)
{
    const char      *in = "POST /a?b=c HTTP/1.1\r\nHost: x\r\nContent-Length:  7 \r\n"
                          "Expect: 100-continue\r\nConnection: close\r\n\r\nbody...";
    struct http_head h;

    (void)state;
    assert_int_equal(http_parse_head(in, strlen(in), &lim, &h, NULL), HTTP_HEAD_OK);
    assert_true(h.method.len == 4 && memcmp(h.method.p, "POST", 4) == 0);
    assert_true(h.target.len == 6 && memcmp(h.target.p, "/a?b=c", 6) == 0);
    assert_true(h.has_length);
    assert_int_equal(h.length, 7);
    assert_true(h.expect_continue);
    assert_false(h.keep_alive);
    assert_int_equal(h.nfields, 4);
    assert_true(h.fields[1].value.len == 1 && h.fields[1].value.p[0] == '7');
    assert_int_equal(h.len, strlen(in) - strlen("body..."));
}

static void
test_http10_keep_alive(void **state)
{
    const char      *a = "GET / HTTP/1.0\r\n\r\n";
    const char      *b = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    struct http_head h;

    (void)state;
    assert_int_equal(http_parse_head(a, strlen(a), &lim, &h, NULL), HTTP_HEAD_OK);
    assert_false(h.keep_alive);
    assert_int_equal(http_parse_head(b, strlen(b), &lim, &h, NULL), HTTP_HEAD_OK);
    assert_true(h.keep_alive);
}

/* Header bytes: at the limit accepted, one past it 431, whether complete or not. */
static void
test_field_limit(void **state)
{
    char             in[1024];
    struct http_head h;
    size_t           fixed = strlen("Host: x\r\nX: \r\n");

    (void)state;
    for (int extra = 0; extra <= 1; extra++) {
        size_t pad = lim.max_fields - fixed + (size_t)extra;
        int n = snprintf(in, sizeof in, "GET / HTTP/1.1\r\nHost: x\r\nX: %*s\r\n\r\n", (int)pad,
                         "");
        /* trailing spaces are trimmed from the value but count as header bytes */
        assert_int_equal(http_parse_head(in, (size_t)n, &lim, &h, NULL),
                         extra ? 431 : HTTP_HEAD_OK);
    }
    memset(in, 'a', sizeof in);
    memcpy(in, "GET / HTTP/1.1\r\nX-A: ", 21);
    assert_int_equal(http_parse_head(in, sizeof in, &lim, &h, NULL), 431);
    memset(in, 'a', sizeof in); /* a request line that never ends */
    memcpy(in, "GET /", 5);
    assert_int_equal(http_parse_head(in, sizeof in, &lim, &h, NULL), 414);
}

static void
test_too_many_fields(void **state)
{
    static char        in[8192];
    struct http_limits big = { 64, sizeof in };
    struct http_head   h;
    size_t             n = (size_t)snprintf(in, sizeof in, "GET / HTTP/1.1\r\nHost: x\r\n");

    (void)state;
    for (int i = 0; i < HTTP_FIELDS_MAX; i++)
        n += (size_t)snprintf(in + n, sizeof in - n, "X: %d\r\n", i);
    n += (size_t)snprintf(in + n, sizeof in - n, "\r\n");
    assert_int_equal(http_parse_head(in, n, &big, &h, NULL), 431);
}

/* ---- chunked ------------------------------------------------------------- */

static int
feed_all(const char *in, size_t max_body, char *out, size_t *outlen, size_t *used, bool *done)
{
    struct http_chunked c;
    char                buf[512];
    size_t              n = strlen(in);
    int                 rc;

    http_chunked_init(&c, max_body);
    memcpy(buf, in, n);
    rc = http_chunked_feed(&c, buf, &n, used, done, 64);
    memcpy(out, buf, n);
    *outlen = n;
    return rc;
}

static void
test_chunked_good(void **state)
{
    char        out[512];
    size_t      n, used;
    bool        done;
    const char *in = "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\nNEXT";

    (void)state;
    assert_int_equal(feed_all(in, 100, out, &n, &used, &done), 0);
    assert_true(done);
    assert_int_equal(n, 11);
    assert_memory_equal(out, "hello world", 11);
    assert_int_equal(used, strlen(in) - 4); /* "NEXT" is the next request's */
}

static void
test_chunked_split_everywhere(void **state)
{
    const char *in = "a\r\n0123456789\r\n1F\r\n0123456789abcdef0123456789abcde\r\n0\r\n\r\n";
    char        expect[] = "01234567890123456789abcdef0123456789abcde";

    (void)state;
    for (size_t step = 1; step <= 7; step++) {
        struct http_chunked c;
        char                body[128], buf[16];
        size_t              got = 0, off = 0;
        bool                done = false;

        http_chunked_init(&c, 1000);
        while (off < strlen(in) && !done) {
            size_t n = strlen(in) - off < step ? strlen(in) - off : step, used;
            memcpy(buf, in + off, n);
            assert_int_equal(http_chunked_feed(&c, buf, &n, &used, &done, 64), 0);
            memcpy(body + got, buf, n);
            got += n;
            off += used;
        }
        assert_true(done);
        assert_int_equal(got, strlen(expect));
        assert_memory_equal(body, expect, got);
    }
}

static void
test_chunked_bad(void **state)
{
    static const struct {
        const char *in;
        int         want;
    } cases[] = {
        { "zz\r\n", 400 },
        { "\r\n", 400 },
        { ";ext\r\n", 400 },
        { "5\r\nhelloXX", 400 },
        { "5\r\nhello\rX", 400 },
        { "5\r\r", 400 },
        { "fffffffffffffffff\r\n", 400 }, /* 17 digits */
        { "ffffffffffffffff\r\n", 413 },  /* fits in 64 bits, not in the body */
        { "65\r\n", 413 },                /* 101 > 100 */
        { "64\r\n", 0 },                  /* exactly 100: wants the data */
        { "0\r\nX: "
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
          431 },
        { "0\r\n\rX", 400 },
        /* framing read strictly (RFC 9112 7.1): a proxy may end the body elsewhere */
        { "5\nhello\r\n0\r\n\r\n", 400 },          /* lone LF after the size */
        { "5;a=b\nhello\r\n0\r\n\r\n", 400 },      /* ... after an extension */
        { "5\r\nhello\n0\r\n\r\n", 400 },          /* ... after the data */
        { "0\r\n\n", 400 },                        /* ... ending the trailers */
        { "0\r\nX-T: 1\n\r\n", 400 },              /* ... ending a trailer */
        { "0\r\nX-T: a\rb\r\n\r\n", 400 },         /* a bare CR in a trailer */
        { "0\r\nno colon\r\n\r\n", 400 },          /* not a field line */
        { "0\r\nX-T: 1\r\n folded\r\n\r\n", 400 }, /* obs-fold */
        { "0\r\n: v\r\n\r\n", 400 },               /* no field name */
        { "5;a=\x01\r\nhello\r\n0\r\n\r\n", 400 }, /* a control in an extension */
        { "5;a=\x7f\r\nhello\r\n0\r\n\r\n", 400 },
        { "5;a=\"\xc3\xa9\"\r\nhello\r\n0\r\n\r\n", 0 }, /* obs-text is fine */
        { "0\r\nX-T: \xc3\xa9\t!\r\n\r\n", 0 },
    };
    char   out[512];
    size_t n, used;
    bool   done;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = feed_all(cases[i].in, 100, out, &n, &used, &done);
        if (rc != cases[i].want)
            fail_msg("chunked case %zu (%s): got %d, want %d", i, cases[i].in, rc,
                     cases[i].want);
    }
}

static void
test_chunked_total_limit(void **state)
{
    char   out[512];
    size_t n, used;
    bool   done;

    (void)state;
    assert_int_equal(feed_all("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 5, out, &n, &used, &done), 0);
    assert_true(done);
    assert_int_equal(feed_all("3\r\nabc\r\n3\r\n", 5, out, &n, &used, &done), 413);
}

static void
test_unescape(void **state)
{
    char       a[] = "a%20b+c%2Fd", b[] = "%zz", c[] = "x%00", d[] = "%4", e[] = "a+b";
    struct str s = { a, strlen(a) }, t = { b, 3 }, u = { c, 4 }, v = { d, 2 }, w = { e, 3 };

    (void)state;
    assert_true(pct_decode(&s, true));
    assert_true(s.len == 7 && memcmp(s.p, "a b c/d", 7) == 0);
    assert_false(pct_decode(&t, false));
    assert_false(pct_decode(&u, false));
    assert_false(pct_decode(&v, false));
    assert_true(pct_decode(&w, false));
    assert_true(w.len == 3 && memcmp(w.p, "a+b", 3) == 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heads),
        cmocka_unit_test(test_heads_byte_by_byte),
        cmocka_unit_test(test_head_fields_and_flags),
        cmocka_unit_test(test_http10_keep_alive),
        cmocka_unit_test(test_field_limit),
        cmocka_unit_test(test_too_many_fields),
        cmocka_unit_test(test_chunked_good),
        cmocka_unit_test(test_chunked_split_everywhere),
        cmocka_unit_test(test_chunked_bad),
        cmocka_unit_test(test_chunked_total_limit),
        cmocka_unit_test(test_unescape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
