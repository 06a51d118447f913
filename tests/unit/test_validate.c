/* test_validate.c - a body checked against a spec (api/validate.c): types,
 * required, read-only, enums, patterns, lengths, integer bounds and CIDRs,
 * each at its limit and one past it. The test spec is its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/codec.h"
#include "model/validate.h"

static const char *const colours[] = { "red", "green", NULL };

static const struct attr test_attrs[] = {
    { "name", T_STRING, A_REQUIRED, .pattern = "^[a-z]+$", .max_len = 8 },
    { "colour", T_STRING, 0, .enums = colours, .def = "red" },
    { "port", T_INT, 0, .min = 1, .max = 65535 },
    { "count", T_INT, 0 },
    { "nets", T_STRLIST, 0, .max_len = 3, .format = F_CIDR },
    { "net", T_STRING, 0, .format = F_CIDR },
    { "stamp", T_STRING, A_READONLY },
    { "when", T_TIME, 0 },
};

static const struct spec test_spec = {
    .identity = "thing",
    .rest = "things",
    .attrs = test_attrs,
    .nattrs = sizeof test_attrs / sizeof test_attrs[0],
    .ops = 0x1f,
};

struct vcase {
    const char *json;
    int         want;
    const char *attr; /* the attribute named, when want != E_OK */
};

static const struct vcase cases[] = {
    { "{\"name\":\"abc\"}", E_OK, NULL },
    { "{}", E_VALIDATION, "name" },
    { "{\"name\":\"\"}", E_VALIDATION, "name" },
    { "{\"name\":\"abcdefgh\"}", E_OK, NULL },            /* max_len exactly */
    { "{\"name\":\"abcdefghi\"}", E_VALIDATION, "name" }, /* one past */
    { "{\"name\":\"ABC\"}", E_VALIDATION, "name" },       /* pattern */
    { "{\"name\":7}", E_VALIDATION, "name" },             /* type */
    { "{\"name\":\"a\",\"colour\":\"green\"}", E_OK, NULL },
    { "{\"name\":\"a\",\"colour\":\"blue\"}", E_VALIDATION, "colour" },
    { "{\"name\":\"a\",\"port\":1}", E_OK, NULL },
    { "{\"name\":\"a\",\"port\":65535}", E_OK, NULL },
    { "{\"name\":\"a\",\"port\":0}", E_VALIDATION, "port" },
    { "{\"name\":\"a\",\"port\":65536}", E_VALIDATION, "port" },
    { "{\"name\":\"a\",\"port\":-1}", E_VALIDATION, "port" },
    { "{\"name\":\"a\",\"port\":\"80\"}", E_VALIDATION, "port" },
    { "{\"name\":\"a\",\"count\":-9223372036854775808}", E_OK, NULL }, /* unbounded */
    { "{\"name\":\"a\",\"nets\":[\"10.0.0.0/8\",\"::1\",\"2001:db8::/32\"]}", E_OK, NULL },
    { "{\"name\":\"a\",\"nets\":[\"10.0.0.0/8\",\"::1\",\"1.2.3.4\",\"5.6.7.8\"]}",
      E_VALIDATION, "nets" }, /* 4 items, max 3 */
    { "{\"name\":\"a\",\"nets\":[\"10.0.0.0/33\"]}", E_VALIDATION, "nets" },
    { "{\"name\":\"a\",\"nets\":[\"999.1.1.1\"]}", E_VALIDATION, "nets" },
    { "{\"name\":\"a\",\"nets\":[\"example.com\"]}", E_VALIDATION, "nets" },
    { "{\"name\":\"a\",\"net\":\"192.168.0.0/16\"}", E_OK, NULL },
    { "{\"name\":\"a\",\"net\":\"192.168.0.0/\"}", E_VALIDATION, "net" },
    { "{\"name\":\"a\",\"stamp\":\"x\"}", E_READONLY, "stamp" },
    { "{\"name\":\"a\",\"when\":\"2026-01-02T03:04:05Z\"}", E_OK, NULL },
    { "{\"name\":\"a\",\"when\":\"yesterday\"}", E_VALIDATION, "when" },
    { "{\"name\":\"a\",\"other\":1}", E_VALIDATION, "other" },
};

static void
test_create_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct arena *a = arena_new(4096);
        struct val    in, obj;
        struct errbuf eb = { 0 };
        int           rc;

        if (codec_decode(CODEC_JSON, a, cases[i].json, strlen(cases[i].json), 32, &in, &eb) !=
            E_OK)
            fail_msg("case %zu does not decode: %s", i, eb.msg);
        rc = validate_create(a, &test_spec, &in, &obj, &eb);
        if (rc != cases[i].want)
            fail_msg("case %zu %s: rc %d (%s), want %d", i, cases[i].json, rc, eb.msg,
                     cases[i].want);
        if (cases[i].attr != NULL && strcmp(eb.attr, cases[i].attr) != 0)
            fail_msg("case %zu: attribute '%s', want '%s'", i, eb.attr, cases[i].attr);
        arena_free(a);
    }
}

static void
test_defaults_filled(void **state)
{
    struct arena *a = arena_new(4096);
    struct val    in, obj;
    struct errbuf eb = { 0 };

    (void)state;
    assert_int_equal(codec_decode(CODEC_JSON, a, "{\"name\":\"a\"}", 12, 32, &in, &eb), E_OK);
    assert_int_equal(validate_create(a, &test_spec, &in, &obj, &eb), E_OK);
    assert_true(str_eq_c(val_get_str(&obj, "colour"), "red"));
    arena_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_cases),
        cmocka_unit_test(test_defaults_filled),
    };
    spec_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
