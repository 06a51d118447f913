/* test_codec.c - JSON and MessagePack codecs: round trips, every reject, limits. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/codec.h"

#define DEPTH 32

/* Decode JSON text with max_depth; returns the code and fills *v. */
static int
jdec(struct arena *a, const char *s, size_t len, int depth, struct val *v, struct errbuf *eb)
{
    memset(eb, 0, sizeof *eb);
    return json_decode(a, s, len, depth, v, eb);
}

/* JSON text -> val -> msgpack -> val -> JSON: every step must agree. */
static void
roundtrip(const char *in, const char *canon)
{
    struct arena *a = arena_new(0);
    struct errbuf eb;
    struct val    v1, v2, v3;
    struct buf    j1, m, j2;

    buf_init(&j1, 1 << 20);
    buf_init(&m, 1 << 20);
    buf_init(&j2, 1 << 20);
    if (jdec(a, in, strlen(in), DEPTH, &v1, &eb) != E_OK)
        fail_msg("decode %s: %s", in, eb.msg);
    assert_int_equal(json_encode(&v1, &j1), E_OK);
    if (strcmp(buf_cstr(&j1), canon) != 0)
        fail_msg("encode %s: got %s want %s", in, buf_cstr(&j1), canon);
    assert_int_equal(msgpack_encode(&v1, &m), E_OK);
    if (msgpack_decode(a, m.p, m.len, DEPTH, &v2, &eb) != E_OK)
        fail_msg("msgpack decode of %s: %s", in, eb.msg);
    assert_true(val_equal(&v1, &v2));
    assert_int_equal(json_encode(&v2, &j2), E_OK);
    assert_string_equal(buf_cstr(&j2), canon);
    assert_int_equal(jdec(a, j2.p, j2.len, DEPTH, &v3, &eb), E_OK);
    assert_true(val_equal(&v1, &v3));
    buf_free(&j1);
    buf_free(&m);
    buf_free(&j2);
    arena_free(a);
}

static void
test_json_roundtrip(void **state)
{
    static const struct {
        const char *in, *canon;
    } cases[] = {
        { "null", "null" },
        { "true", "true" },
        { " false ", "false" },
        { "0", "0" },
        { "-0", "0" },
        { "42", "42" },
        { "-42", "-42" },
        { "9223372036854775807", "9223372036854775807" },
        { "-9223372036854775808", "-9223372036854775808" },
        { "1.5", "1.5" },
        { "1.0", "1.0" },
        { "-0.0", "-0.0" },
        { "0.1", "0.1" },
        { "1e2", "100.0" },
        { "1E-2", "0.01" },
        { "1.5e300", "1.5e+300" },
        { "5e-324", "4.94065645841247e-324" }, /* 15 digits already read back */
        { "0.3333333333333333", "0.3333333333333333" },
        { "1e-400", "0.0" },
        { "9007199254740993.0", "9007199254740992.0" },
        { "\"\"", "\"\"" },
        { "\"h\\u00e9llo\"", "\"h\xc3\xa9llo\"" },
        { "\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"" },
        { "\"\\uDBFF\\uDFFF\"", "\"\xf4\x8f\xbf\xbf\"" },
        { "\"a\\/b\"", "\"a/b\"" },
        { "\"q\\\"b\\\\s\"", "\"q\\\"b\\\\s\"" },
        { "\"\\b\\f\\n\\r\\t\"", "\"\\b\\f\\n\\r\\t\"" },
        { "\"\\u0000\\u0001\\u001f\\u007f\"", "\"\\u0000\\u0001\\u001f\x7f\"" },
        { "[]", "[]" },
        { "{}", "{}" },
        { "[1, 2.5, \"x\", null, true, [], {}]", "[1,2.5,\"x\",null,true,[],{}]" },
        { "{\"b\": 1, \"a\": [1, {\"c\": null}]}", "{\"b\":1,\"a\":[1,{\"c\":null}]}" },
        { "{\"\xc3\xa9\":\"\xe2\x82\xac\"}", "{\"\xc3\xa9\":\"\xe2\x82\xac\"}" },
        { "\r\n\t [ 1 ] \r\n\t", "[1]" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        roundtrip(cases[i].in, cases[i].canon);
}

/* The decoded shapes behind some of the round trips. */
static void
test_json_types(void **state)
{
    struct arena *a = arena_new(0);
    struct errbuf eb;
    struct val    v;
    (void)state;

    assert_int_equal(jdec(a, "1", 1, 0, &v, &eb), E_OK);
    assert_int_equal(v.t, V_INT);
    assert_int_equal(jdec(a, "1.0", 3, 0, &v, &eb), E_OK);
    assert_int_equal(v.t, V_FLOAT);
    assert_int_equal(jdec(a, "\"a\\u0000b\"", 10, 0, &v, &eb), E_OK);
    assert_int_equal(v.s.len, 3);
    assert_memory_equal(v.s.p, "a\0b", 3);
    /* json-c 0.16 turns a lone surrogate escape into U+FFFD; we keep that. */
    static const char *const lone[] = { "\"\\ud800\"", "\"\\udc00\"", "\"\\ud83d\"" };
    for (size_t i = 0; i < ARRAY_LEN(lone); i++) {
        assert_int_equal(jdec(a, lone[i], strlen(lone[i]), 0, &v, &eb), E_OK);
        assert_int_equal(v.s.len, 3);
        assert_memory_equal(v.s.p, "\xef\xbf\xbd", 3);
    }
    assert_int_equal(jdec(a, "\"\\ud800x\"", 9, 0, &v, &eb), E_OK);
    assert_memory_equal(v.s.p, "\xef\xbf\xbdx", 4);
    assert_int_equal(jdec(a, "\"\\ud800\\u0041\"", 14, 0, &v, &eb), E_OK);
    assert_memory_equal(v.s.p,
                        "\xef\xbf\xbd"
                        "A",
                        4);
    /* A key twice in one object is refused, at any depth; the same key in two
     * objects, or a ':' inside a string, is not a duplicate. */
    static const char *const dups[] = { "{\"a\":1,\"b\":2,\"a\":3}",
                                        "[{\"x\":{\"p\":true,\"p\":false}}]",
                                        "{\"a\":{},\"a\":{}}" };
    for (size_t i = 0; i < sizeof dups / sizeof dups[0]; i++)
        assert_int_equal(jdec(a, dups[i], strlen(dups[i]), 4, &v, &eb), E_BADREQ);
    const char *twins = "[{\"a\":\"x:y\"},{\"a\":\":\"}]";
    assert_int_equal(jdec(a, twins, strlen(twins), 4, &v, &eb), E_OK);
    arena_free(a);
}

static void
test_json_rejects(void **state)
{
    static const struct {
        const char *in;
        size_t      len; /* 0: strlen */
        const char *msg; /* substring of the reason */
    } cases[] = {
        { "", 0, "empty body" },
        { " ", 0, "invalid JSON" },
        { "\n\t", 0, "invalid JSON" },
        { "nul", 0, "invalid JSON" },
        { "True", 0, "invalid JSON" },
        { "[1,]", 0, "invalid JSON" },
        { "{\"a\":1,}", 0, "invalid JSON" },
        { "[1 2]", 0, "invalid JSON" },
        { "{\"a\" 1}", 0, "invalid JSON" },
        { "{1:2}", 0, "invalid JSON" },
        { "'a'", 0, "invalid JSON" },
        { "/*c*/1", 0, "invalid JSON" },
        { "[", 0, "invalid JSON" },
        { "\"abc", 0, "invalid JSON" },
        { "\"\\x\"", 0, "invalid JSON" },
        { "\"\\u12\"", 0, "invalid JSON" },
        { "+1", 0, "invalid JSON" },
        { ".5", 0, "invalid JSON" },
        { "01", 0, "invalid JSON" },
        { "1e", 0, "invalid JSON" },
        { "-", 0, "invalid JSON" },
        { "\xef\xbb\xbf[1]", 0, "invalid JSON" }, /* BOM */
        { "\f1", 0, "invalid JSON" },
        { "[1] x", 0, "" },
        { "1 2", 0, "" },
        { "[1]]", 0, "" },
        { "{}{}", 0, "" },
        { "[1]\0", 4, "" },
        { "1\0", 2, "" },
        { "[1,\0 2]", 7, "" },
        /* accepted by json-c's strict mode, refused by lex_check() */
        { "NaN", 0, "" },
        { "[NaN]", 0, "unexpected character" },
        { "[Infinity]", 0, "unexpected character" },
        { "[-Infinity]", 0, "invalid number" },
        { "-01", 0, "invalid number" },
        { "[-01]", 0, "invalid number" },
        { "1.", 0, "invalid number" },
        { "[1.]", 0, "invalid number" },
        { "1.e5", 0, "invalid number" },
        { "\"a\tb\"", 0, "control character" },
        { "\"a\nb\"", 0, "control character" },
        { "{\"a\\u0000b\":1}", 0, "U+0000" },
        { "{\"a\\u0000\" : 1}", 0, "U+0000" },
        /* numbers out of range */
        { "9223372036854775808", 0, "integer out of range" },
        { "-9223372036854775809", 0, "integer out of range" },
        { "[99999999999999999999999]", 0, "integer out of range" },
        { "-99999999999999999999999", 0, "integer out of range" },
        { "1e400", 0, "number out of range" },
        { "[-1e400]", 0, "number out of range" },
        /* UTF-8: bad bytes in strings and keys, raw and well-formed-looking */
        { "\"\xff\"", 0, "" },
        { "\"\xc0\x80\"", 0, "invalid UTF-8" },
        { "\"\xed\xa0\x80\"", 0, "invalid UTF-8" },
        { "\"\xf4\x90\x80\x80\"", 0, "invalid UTF-8" },
        { "\"\xe2\x82\"", 0, "" },
        { "{\"\xc0\x80\":1}", 0, "invalid UTF-8 in object key" },
        { "{\"\xed\xbf\xbf\":1}", 0, "invalid UTF-8 in object key" },
        { "{\"k\":[\"\xc1\xbf\"]}", 0, "invalid UTF-8" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct arena *a = arena_new(0);
        struct errbuf eb;
        struct val    v;
        size_t        len = cases[i].len ? cases[i].len : strlen(cases[i].in);
        int           rc = jdec(a, cases[i].in, len, DEPTH, &v, &eb);
        if (rc != E_BADREQ)
            fail_msg("case %zu (%s): rc %d", i, cases[i].in, rc);
        assert_int_equal(eb.code, E_BADREQ);
        if (strstr(eb.msg, cases[i].msg) == NULL)
            fail_msg("case %zu (%s): message \"%s\" lacks \"%s\"", i, cases[i].in, eb.msg,
                     cases[i].msg);
        arena_free(a);
    }
}

/* Nested arrays: depth n; with `scalar`, the innermost holds a 1. */
static char *
nest(const char *open, const char *close, int n, const char *inner)
{
    size_t ol = strlen(open), cl = strlen(close), il = strlen(inner);
    char  *s = malloc((size_t)n * (ol + cl) + il + 1), *p = s;

    for (int i = 0; i < n; i++, p += ol)
        memcpy(p, open, ol);
    memcpy(p, inner, il);
    p += il;
    for (int i = 0; i < n; i++, p += cl)
        memcpy(p, close, cl);
    *p = '\0';
    return s;
}

/* `inner` has nesting inner_depth; each open/close pair adds one level. */
static void
check_depth_json(int max, const char *open, const char *close, const char *inner,
                 int inner_depth)
{
    struct arena *a = arena_new(0);
    struct errbuf eb;
    struct val    v;
    char          want[64];

    if (max >= inner_depth && (max > 0 || *inner != '\0')) {
        char *at = nest(open, close, max - inner_depth, inner);
        if (jdec(a, at, strlen(at), max, &v, &eb) != E_OK)
            fail_msg("depth %d rejected: %s (%s)", max, eb.msg, at);
        free(at);
    }
    if (max + 1 >= inner_depth) {
        char *past = nest(open, close, max + 1 - inner_depth, inner);
        assert_int_equal(jdec(a, past, strlen(past), max, &v, &eb), E_BADREQ);
        snprintf(want, sizeof want, "body nesting is deeper than %d", max);
        if (strcmp(eb.msg, want) != 0)
            fail_msg("depth %d+1 (%s): %s", max, past, eb.msg);
        free(past);
    }
    arena_free(a);
}

static void
test_json_depth(void **state)
{
    (void)state;
    for (int max = 0; max <= 40; max++) {
        check_depth_json(max, "[", "]", "", 0);
        check_depth_json(max, "[", "]", "1", 0);
        check_depth_json(max, "[", "]", "\"s\"", 0);
        check_depth_json(max, "{\"k\":", "}", "null", 0);
        check_depth_json(max, "[1,", "]", "2", 0);
        check_depth_json(max, "{\"a\":1,\"k\":", "}", "{}", 1);
        check_depth_json(max, "[", "]", "[[],{}]", 2);
        check_depth_json(max, "[", "]", "{\"x\":[1]}", 2);
    }
    check_depth_json(1000, "[", "]", "1", 0);
}

static void
test_json_deep_attack(void **state)
{
    struct arena *a = arena_new(0);
    struct errbuf eb;
    struct val    v;
    size_t        n = 1 << 20;
    char         *s = malloc(n);
    (void)state;

    memset(s, '[', n);
    clock_t t0 = clock();
    assert_int_equal(jdec(a, s, n, DEPTH, &v, &eb), E_BADREQ);
    assert_string_equal(eb.msg, "body nesting is deeper than 32");
    memset(s, '{', n);
    assert_int_equal(jdec(a, s, n, DEPTH, &v, &eb), E_BADREQ);
    for (size_t i = 0; i + 5 <= n; i += 5)
        memcpy(s + i, "{\"a\":", 5);
    assert_int_equal(jdec(a, s, n - n % 5, DEPTH, &v, &eb), E_BADREQ);
    assert_string_equal(eb.msg, "body nesting is deeper than 32");
    assert_true((clock() - t0) < CLOCKS_PER_SEC);
    free(s);
    arena_free(a);
}

static void
test_json_encode(void **state)
{
    struct arena *a = arena_new(0);
    struct buf    b;
    struct val    m = val_map(), arr = val_arr();
    (void)state;

    buf_init(&b, 1000);
    val_set(a, &m, "s", val_str((struct str){ "a\x01\x1f\"\\/\x7f", 7 }));
    val_set(a, &m, "i", val_int(INT64_MIN));
    val_push(a, &arr, val_float(1e21));
    val_push(a, &arr, val_float(-2.0));
    val_push(a, &arr, val_float(123456789.0));
    val_push(a, &arr, val_float(0.1 + 0.2));
    val_set(a, &m, "f", arr);
    assert_int_equal(json_encode(&m, &b), E_OK);
    assert_string_equal(buf_cstr(&b), "{\"s\":\"a\\u0001\\u001f\\\"\\\\/\x7f\","
                                      "\"i\":-9223372036854775808,"
                                      "\"f\":[1e+21,-2.0,123456789.0,0.30000000000000004]}");
    /* Non-finite floats cannot be written; nothing is left behind. */
    buf_reset(&b);
    buf_puts(&b, "pre");
    struct val bad = val_arr();
    val_push(a, &bad, val_int(1));
    val_push(a, &bad, val_float(NAN));
    assert_int_equal(json_encode(&bad, &b), E_INTERNAL);
    assert_string_equal(buf_cstr(&b), "pre");
    struct val inf = val_float(INFINITY);
    assert_int_equal(json_encode(&inf, &b), E_INTERNAL);
    buf_free(&b);

    /* The buffer's max: exactly fitting, then one byte short. */
    struct val s = val_cstr("12345678");
    buf_init(&b, 10);
    assert_int_equal(json_encode(&s, &b), E_OK);
    assert_int_equal(b.len, 10);
    buf_free(&b);
    buf_init(&b, 9);
    assert_int_equal(json_encode(&s, &b), E_TOOBIG);
    assert_int_equal(b.len, 0);
    buf_free(&b);
    arena_free(a);
}

static void
test_json_many_keys(void **state)
{
    struct arena *a = arena_new(0);
    struct buf    in, out;
    struct errbuf eb;
    struct val    v;
    (void)state;

    buf_init(&in, 0);
    buf_init(&out, 0);
    buf_putc(&in, '{');
    for (int i = 0; i < 15000; i++)
        buf_printf(&in, "%s\"k%d\":%d", i ? "," : "", i, i);
    buf_putc(&in, '}');
    assert_int_equal(jdec(a, in.p, in.len, DEPTH, &v, &eb), E_OK);
    assert_int_equal(v.m.n, 15000);
    assert_int_equal(val_get(&v, "k0")->i, 0);
    assert_int_equal(val_get(&v, "k14999")->i, 14999);
    assert_int_equal(msgpack_encode(&v, &out), E_OK);
    struct val w;
    assert_int_equal(msgpack_decode(a, out.p, out.len, DEPTH, &w, &eb), E_OK);
    assert_true(val_equal(&v, &w));
    buf_free(&in);
    buf_free(&out);
    arena_free(a);
}

/* ---- MessagePack ------------------------------------------------------ */

static int
mdec(struct arena *a, const char *s, size_t len, int depth, struct val *v, struct errbuf *eb)
{
    memset(eb, 0, sizeof *eb);
    return msgpack_decode(a, s, len, depth, v, eb);
}

#define M(lit) lit, sizeof(lit) - 1

static void
test_msgpack_scalars(void **state)
{
    static const struct {
        const char *in;
        size_t      len;
        const char *json;
    } cases[] = {
        { M("\xc0"), "null" },
        { M("\xc2"), "false" },
        { M("\xc3"), "true" },
        { M("\x00"), "0" },
        { M("\x7f"), "127" },
        { M("\xff"), "-1" },
        { M("\xe0"), "-32" },
        { M("\xcc\xff"), "255" },
        { M("\xcd\xff\xff"), "65535" },
        { M("\xce\xff\xff\xff\xff"), "4294967295" },
        { M("\xcf\x7f\xff\xff\xff\xff\xff\xff\xff"), "9223372036854775807" },
        { M("\xd0\x80"), "-128" },
        { M("\xd1\x80\x00"), "-32768" },
        { M("\xd2\x80\x00\x00\x00"), "-2147483648" },
        { M("\xd3\x80\x00\x00\x00\x00\x00\x00\x00"), "-9223372036854775808" },
        { M("\xd0\x05"), "5" },
        { M("\xca\x3f\xc0\x00\x00"), "1.5" },
        { M("\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"), "1.5" },
        { M("\xcb\x80\x00\x00\x00\x00\x00\x00\x00"), "-0.0" },
        { M("\xa0"), "\"\"" },
        { M("\xa3"
            "abc"),
          "\"abc\"" },
        { M("\xd9\x03"
            "abc"),
          "\"abc\"" },
        { M("\xda\x00\x03"
            "abc"),
          "\"abc\"" },
        { M("\xdb\x00\x00\x00\x03"
            "abc"),
          "\"abc\"" },
        { M("\xa4\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"" },
        { M("\xa1\x00"), "\"\\u0000\"" },
        { M("\x90"), "[]" },
        { M("\x80"), "{}" },
        { M("\xdc\x00\x02\x01\x02"), "[1,2]" },
        { M("\xdd\x00\x00\x00\x01\xc0"), "[null]" },
        { M("\xde\x00\x01\xa1"
            "a\x01"),
          "{\"a\":1}" },
        { M("\xdf\x00\x00\x00\x01\xa1"
            "a\x90"),
          "{\"a\":[]}" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct arena *a = arena_new(0);
        struct errbuf eb;
        struct val    v;
        struct buf    b;
        buf_init(&b, 1000);
        if (mdec(a, cases[i].in, cases[i].len, DEPTH, &v, &eb) != E_OK)
            fail_msg("msgpack case %zu: %s", i, eb.msg);
        assert_int_equal(json_encode(&v, &b), E_OK);
        if (strcmp(buf_cstr(&b), cases[i].json) != 0)
            fail_msg("msgpack case %zu: %s, want %s", i, buf_cstr(&b), cases[i].json);
        buf_free(&b);
        arena_free(a);
    }
}

/* Bytes are read as the base64 of their contents (a DER sent raw). */
static void
test_msgpack_bin_is_base64(void **state)
{
    static const struct {
        const char *in;
        size_t      len;
        const char *b64;
    } cases[] = {
        { M("\xc4\x00"), "" },
        { M("\xc4\x01\x00"), "AA==" },
        { M("\xc4\x03\xff\xfe\xfd"), "//79" },
        { M("\xc5\x00\x02\x30\x82"), "MII=" },
        { M("\xc6\x00\x00\x00\x01\x41"), "QQ==" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct arena *a = arena_new(1024);
        struct errbuf eb = { 0 };
        struct val    v;
        assert_int_equal(msgpack_decode(a, cases[i].in, cases[i].len, DEPTH, &v, &eb), E_OK);
        assert_int_equal(v.t, V_STR);
        assert_true(str_eq_c(v.s, cases[i].b64));
        arena_free(a);
    }
}

static void
test_msgpack_rejects(void **state)
{
    static const struct {
        const char *in;
        size_t      len;
        const char *msg;
    } cases[] = {
        { "", 0, "empty body" },
        { M("\xc1"), "0xc1" },
        { M("\xc4\x02\x00"), "truncated" },             /* bin 8 */
        { M("\xc5\x00"), "truncated" },                 /* bin 16 */
        { M("\xc6\xff\xff\xff\xff\x00"), "truncated" }, /* bin 32 */
        { M("\x81\xc4\x01"
            "a\x02"),
          "map key is not a string" },
        { M("\xc7\x01\x05\x00"), "unsupported msgpack type" }, /* ext 8 */
        { M("\xd4\x05\x00"), "unsupported msgpack type" },     /* fixext 1 */
        { M("\xd8\x05"
            "0123456789abcdef"),
          "unsupported msgpack type" },
        { M("\x01\x02"), "trailing data" },
        { M("\x90\x90"), "trailing data" },
        { M("\x92\x01"), "truncated" },
        { M("\xa3"
            "ab"),
          "truncated" },
        { M("\xd9"), "truncated" },
        { M("\xd9\x05"
            "abc"),
          "truncated" },
        { M("\xdb\xff\xff\xff\xff"), "truncated" },
        { M("\xdc\x00"), "truncated" },
        { M("\xdd\xff\xff\xff\xff"), "truncated" },
        { M("\xdf\xff\xff\xff\xff\x00"), "truncated" },
        { M("\x9f"), "truncated" },
        { M("\x81\xa1"
            "a"),
          "truncated" },
        { M("\xcd\x01"), "truncated" },
        { M("\xcb\x00\x00\x00"), "truncated" },
        { M("\xcf\x80\x00\x00\x00\x00\x00\x00\x00"), "integer out of range" },
        { M("\xcf\xff\xff\xff\xff\xff\xff\xff\xff"), "integer out of range" },
        { M("\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"), "number out of range" }, /* NaN */
        { M("\xcb\xff\xf0\x00\x00\x00\x00\x00\x00"), "number out of range" }, /* -Inf */
        { M("\xca\x7f\x80\x00\x00"), "number out of range" },                 /* Inf32 */
        { M("\x81\x01\x02"), "map key is not a string" },
        { M("\x81\xc0\x02"), "map key is not a string" },
        { M("\x81\x90\x02"), "map key is not a string" },
        { M("\xa2\xc0\x80"), "invalid UTF-8 in string" },
        { M("\xa3\xed\xa0\x80"), "invalid UTF-8 in string" },
        { M("\xa1\xff"), "invalid UTF-8 in string" },
        { M("\x91\xa2\xe2\x82"), "invalid UTF-8 in string" },
        { M("\x81\xa2\xc0\x80\x01"), "invalid UTF-8 in map key" },
        { M("\x81\xa3\xed\xbf\xbf\x01"), "invalid UTF-8 in map key" },
        { M("\x81\xa3"
            "a\x00"
            "b\x01"),
          "U+0000" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct arena *a = arena_new(0);
        struct errbuf eb;
        struct val    v;
        int           rc = mdec(a, cases[i].in, cases[i].len, DEPTH, &v, &eb);
        if (rc != E_BADREQ)
            fail_msg("msgpack reject %zu: rc %d", i, rc);
        if (strstr(eb.msg, cases[i].msg) == NULL)
            fail_msg("msgpack reject %zu: \"%s\" lacks \"%s\"", i, eb.msg, cases[i].msg);
        arena_free(a);
    }
}

/* n nested fixarrays (or 1-entry maps) around one positive fixint. */
static size_t
mp_nest(char *out, int n, bool maps, bool scalar)
{
    size_t k = 0;

    for (int i = 0; i < n; i++) {
        if (maps) {
            out[k++] = (char)0x81;
            out[k++] = (char)0xa1;
            out[k++] = 'k';
        } else {
            out[k++] = (char)(i == n - 1 && !scalar ? 0x90 : 0x91);
        }
    }
    if (scalar || n == 0 || maps)
        out[k++] = 0x01;
    return k;
}

static void
check_depth_msgpack(int max, bool maps, bool scalar)
{
    struct arena *a = arena_new(0);
    struct errbuf eb;
    struct val    v;
    char          buf[400], want[64];
    size_t        n;

    n = mp_nest(buf, max, maps, scalar);
    if (mdec(a, buf, n, max, &v, &eb) != E_OK)
        fail_msg("msgpack depth %d rejected: %s", max, eb.msg);
    n = mp_nest(buf, max + 1, maps, scalar);
    assert_int_equal(mdec(a, buf, n, max, &v, &eb), E_BADREQ);
    snprintf(want, sizeof want, "body nesting is deeper than %d", max);
    assert_string_equal(eb.msg, want);
    arena_free(a);
}

static void
test_msgpack_depth(void **state)
{
    (void)state;
    for (int max = 0; max <= 32; max++) {
        check_depth_msgpack(max, false, true);
        check_depth_msgpack(max, false, false);
        check_depth_msgpack(max, true, true);
    }
}

/* msgpack-c stops at 32 levels, so a larger max_depth is enforced as 32. */
static void
test_msgpack_depth_library_cap(void **state)
{
    struct arena *a = arena_new(0);
    struct errbuf eb;
    struct val    v;
    char          buf[64];
    size_t        n = mp_nest(buf, 33, false, true);
    (void)state;

    assert_int_equal(mdec(a, buf, n, 100, &v, &eb), E_BADREQ);
    assert_string_equal(eb.msg, "body nesting is deeper than 32");
    n = mp_nest(buf, 32, false, true);
    assert_int_equal(mdec(a, buf, n, 100, &v, &eb), E_OK);
    arena_free(a);
}

static void
test_msgpack_deep_attack(void **state)
{
    struct arena *a = arena_new(0);
    struct errbuf eb;
    struct val    v;
    size_t        n = 1 << 20;
    char         *s = malloc(n);
    (void)state;

    clock_t t0 = clock();
    memset(s, 0x91, n);
    assert_int_equal(mdec(a, s, n, DEPTH, &v, &eb), E_BADREQ);
    assert_string_equal(eb.msg, "body nesting is deeper than 32");
    memset(s, 0xdc, n); /* array16 headers all the way down */
    assert_int_equal(mdec(a, s, n, DEPTH, &v, &eb), E_BADREQ);
    for (size_t i = 0; i + 3 <= n; i += 3)
        memcpy(s + i, "\x81\xa0\x91", 3);
    assert_int_equal(mdec(a, s, n - n % 3, DEPTH, &v, &eb), E_BADREQ);
    assert_string_equal(eb.msg, "body nesting is deeper than 32");
    assert_true((clock() - t0) < CLOCKS_PER_SEC);
    free(s);
    arena_free(a);
}

static void
test_msgpack_encode(void **state)
{
    static const struct {
        int64_t     i;
        const char *enc;
        size_t      len;
    } ints[] = {
        { 0, M("\x00") },
        { 127, M("\x7f") },
        { 128, M("\xcc\x80") },
        { 255, M("\xcc\xff") },
        { 256, M("\xcd\x01\x00") },
        { 65536, M("\xce\x00\x01\x00\x00") },
        { 4294967296LL, M("\xcf\x00\x00\x00\x01\x00\x00\x00\x00") },
        { -1, M("\xff") },
        { -32, M("\xe0") },
        { -33, M("\xd0\xdf") },
        { -129, M("\xd1\xff\x7f") },
        { INT64_MIN, M("\xd3\x80\x00\x00\x00\x00\x00\x00\x00") },
    };
    struct buf b;
    (void)state;

    for (size_t i = 0; i < ARRAY_LEN(ints); i++) {
        struct val v = val_int(ints[i].i);
        buf_init(&b, 100);
        assert_int_equal(msgpack_encode(&v, &b), E_OK);
        assert_int_equal(b.len, ints[i].len);
        assert_memory_equal(b.p, ints[i].enc, ints[i].len);
        buf_free(&b);
    }
    struct val s = val_cstr("abc");
    buf_init(&b, 4);
    assert_int_equal(msgpack_encode(&s, &b), E_OK);
    assert_memory_equal(b.p,
                        "\xa3"
                        "abc",
                        4);
    buf_free(&b);
    buf_init(&b, 3);
    assert_int_equal(msgpack_encode(&s, &b), E_TOOBIG);
    assert_int_equal(b.len, 0);
    buf_free(&b);
    struct val nan = val_float(NAN);
    buf_init(&b, 100);
    assert_int_equal(msgpack_encode(&nan, &b), E_INTERNAL);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void
test_msgpack_dup_keys_large(void **state)
{
    struct arena *a = arena_new(0);
    struct buf    b;
    struct errbuf eb;
    struct val    v;
    (void)state;

    /* 40 entries over 30 distinct keys: the hash-table path. */
    buf_init(&b, 0);
    buf_putc(&b, (char)0xde);
    buf_putc(&b, 0);
    buf_putc(&b, 40);
    for (int i = 0; i < 40; i++) {
        char k[8];
        int  kl = snprintf(k, sizeof k, "k%d", i % 30);
        buf_putc(&b, (char)(0xa0 | kl));
        buf_append(&b, k, (size_t)kl);
        buf_putc(&b, (char)i);
    }
    assert_int_equal(mdec(a, b.p, b.len, DEPTH, &v, &eb), E_BADREQ); /* k0 again at 30 */
    /* a small map (no hash table) with a key twice, as JSON refuses it */
    static const char small[] = "\x83\xa1"
                                "a\x01\xa1"
                                "b\x02\xa1"
                                "a\x03";
    assert_int_equal(mdec(a, small, sizeof small - 1, DEPTH, &v, &eb), E_BADREQ);
    buf_free(&b);
    arena_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_roundtrip),
        cmocka_unit_test(test_json_types),
        cmocka_unit_test(test_json_rejects),
        cmocka_unit_test(test_json_depth),
        cmocka_unit_test(test_json_deep_attack),
        cmocka_unit_test(test_json_encode),
        cmocka_unit_test(test_json_many_keys),
        cmocka_unit_test(test_msgpack_scalars),
        cmocka_unit_test(test_msgpack_rejects),
        cmocka_unit_test(test_msgpack_bin_is_base64),
        cmocka_unit_test(test_msgpack_depth),
        cmocka_unit_test(test_msgpack_depth_library_cap),
        cmocka_unit_test(test_msgpack_deep_attack),
        cmocka_unit_test(test_msgpack_encode),
        cmocka_unit_test(test_msgpack_dup_keys_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
