/* test_validate_update.c - the PUT rules of model/validate.c (API.md section 6):
 * a full object replaces the stored one; read-only and creation-only attributes
 * must be unchanged (absent means unchanged, and the stored value is kept);
 * derived ones are ignored; write-only ones absent keep the stored value;
 * others absent fall back to their defaults; a different updateTime is a
 * conflict. Creation is test_validate.c's; the test spec here is its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/codec.h"
#include "model/validate.h"

static const char *const colours[] = { "red", "green", "blue", NULL };

static const struct attr test_attrs[] = {
    { "name", T_STRING, A_REQUIRED },
    { "colour", T_STRING, 0, .enums = colours, .def = "red" },
    { "size", T_INT, 0, .def = "3", .min = 1, .max = 10 },
    { "enabled", T_BOOL, 0, .def = "true" },
    { "tags", T_STRLIST, 0 },
    { "code", T_STRING, A_CREATIONONLY },
    { "secret", T_STRING, A_WRITEONLY },
    { "serial", T_STRING, A_READONLY },
};

static const struct spec test_spec = {
    .identity = "thing",
    .rest = "things",
    .attrs = test_attrs,
    .nattrs = sizeof test_attrs / sizeof test_attrs[0],
    .ops = 0x1f,
};

#define T0 "2026-01-02T03:04:05.678Z"

/* The stored object, as the engine keeps it (times in canonical form). */
static const char stored[] =
    "{\"ID\":\"0123456789abcdef01234567\",\"namespace\":\"/acme\","
    "\"createTime\":\"2026-01-01T00:00:00.000Z\",\"updateTime\":\"" T0 "\","
    "\"name\":\"a\",\"colour\":\"green\",\"size\":7,\"enabled\":false,\"tags\":[\"x\"],"
    "\"code\":\"C1\",\"secret\":\"s3cret\",\"serial\":\"42\","
    "\"metadata\":[\"k=v\"],\"normalizedTags\":[\"$identity=thing\",\"k=v\"],"
    "\"annotations\":{},\"associatedTags\":[],\"protected\":false}";

/* What a client sends back after reading it (no secret: write-only). */
#define READ_BACK                                                                              \
    "\"ID\":\"0123456789abcdef01234567\",\"namespace\":\"/acme\","                             \
    "\"createTime\":\"2026-01-01T00:00:00.000Z\",\"updateTime\":\"" T0 "\","                   \
    "\"name\":\"a\",\"colour\":\"green\",\"size\":7,\"enabled\":false,\"tags\":[\"x\"],"       \
    "\"code\":\"C1\",\"serial\":\"42\",\"metadata\":[\"k=v\"],"                                \
    "\"normalizedTags\":[\"$identity=thing\",\"k=v\"],\"object\":\"thing\""

#define UT "\"updateTime\":\"" T0 "\""

struct ucase {
    const char *body;
    int         want;
    const char *attr;   /* the attribute named, when want != E_OK */
    const char *expect; /* E_OK: a map whose every key the result must hold, equal */
};

static const struct ucase cases[] = {
    /* the object as read, sent back: nothing changes, the secret is kept */
    { "{" READ_BACK "}", E_OK, NULL,
      "{\"name\":\"a\",\"colour\":\"green\",\"size\":7,\"enabled\":false,\"code\":\"C1\","
      "\"secret\":\"s3cret\",\"serial\":\"42\",\"updateTime\":\"" T0 "\"}" },

    /* a minimal body: absent ordinary attributes take their defaults (not the
     * stored values); absent read-only, creation-only and write-only ones keep
     * theirs */
    { "{\"name\":\"b\"," UT "}", E_OK, NULL,
      "{\"name\":\"b\",\"colour\":\"red\",\"size\":3,\"enabled\":true,\"tags\":[],"
      "\"protected\":false,\"code\":\"C1\",\"secret\":\"s3cret\",\"serial\":\"42\","
      "\"ID\":\"0123456789abcdef01234567\",\"namespace\":\"/acme\","
      "\"createTime\":\"2026-01-01T00:00:00.000Z\",\"metadata\":[\"k=v\"]}" },
    { "{\"name\":\"b\",\"colour\":null,\"size\":null," UT "}", E_OK, NULL,
      "{\"colour\":\"red\",\"size\":3}" },

    /* updateTime: required, and must be the stored one (the same instant in
     * another RFC 3339 form is the same) */
    { "{\"name\":\"a\"}", E_VALIDATION, "updateTime", NULL },
    { "{\"name\":\"a\",\"updateTime\":\"2026-01-02T03:04:05.679Z\"}", E_CONFLICT, "updateTime",
      NULL },
    { "{\"name\":\"a\",\"updateTime\":\"2026-01-02T03:04:05.677Z\"}", E_CONFLICT, "updateTime",
      NULL },
    { "{\"name\":\"a\",\"updateTime\":\"2026-01-02T04:04:05.678+01:00\"}", E_OK, NULL,
      "{\"updateTime\":\"" T0 "\"}" },
    { "{\"name\":\"a\",\"updateTime\":\"\"}", E_CONFLICT, "updateTime", NULL },

    /* read-only: unchanged or absent */
    { "{\"name\":\"a\",\"serial\":\"42\"," UT "}", E_OK, NULL, "{\"serial\":\"42\"}" },
    { "{\"name\":\"a\",\"serial\":\"43\"," UT "}", E_READONLY, "serial", NULL },
    { "{\"name\":\"a\",\"serial\":\"\"," UT "}", E_READONLY, "serial", NULL },
    { "{\"name\":\"a\",\"ID\":\"0123456789abcdef01234568\"," UT "}", E_READONLY, "ID", NULL },
    { "{\"name\":\"a\",\"namespace\":\"/beta\"," UT "}", E_READONLY, "namespace", NULL },
    { "{\"name\":\"a\",\"createTime\":\"2026-01-01T00:00:00.001Z\"," UT "}", E_READONLY,
      "createTime", NULL },
    { "{\"name\":\"a\",\"createTime\":\"2026-01-01T01:00:00+01:00\"," UT "}", E_OK, NULL,
      "{\"createTime\":\"2026-01-01T00:00:00.000Z\"}" },
    { "{\"name\":\"a\",\"object\":\"other\"," UT "}", E_READONLY, "object", NULL },

    /* creation-only: unchanged or absent */
    { "{\"name\":\"a\",\"code\":\"C1\"," UT "}", E_OK, NULL, "{\"code\":\"C1\"}" },
    { "{\"name\":\"a\",\"code\":\"C2\"," UT "}", E_CREATIONONLY, "code", NULL },
    { "{\"name\":\"a\",\"metadata\":[\"k=w\"]," UT "}", E_CREATIONONLY, "metadata", NULL },
    { "{\"name\":\"a\",\"metadata\":[]," UT "}", E_CREATIONONLY, "metadata", NULL },

    /* derived: a stale value sent back is ignored, the stored one kept */
    { "{\"name\":\"a\",\"normalizedTags\":[\"junk\"]," UT "}", E_OK, NULL,
      "{\"normalizedTags\":[\"$identity=thing\",\"k=v\"]}" },

    /* write-only: a new value replaces, empty or absent keeps */
    { "{\"name\":\"a\",\"secret\":\"n3w\"," UT "}", E_OK, NULL, "{\"secret\":\"n3w\"}" },
    { "{\"name\":\"a\",\"secret\":\"\"," UT "}", E_OK, NULL, "{\"secret\":\"s3cret\"}" },
    { "{\"name\":\"a\",\"secret\":null," UT "}", E_OK, NULL, "{\"secret\":\"s3cret\"}" },

    /* ordinary attributes are validated as on create */
    { "{\"name\":\"\"," UT "}", E_VALIDATION, "name", NULL },
    { "{" UT "}", E_VALIDATION, "name", NULL },
    { "{\"name\":\"a\",\"colour\":\"pink\"," UT "}", E_VALIDATION, "colour", NULL },
    { "{\"name\":\"a\",\"size\":11," UT "}", E_VALIDATION, "size", NULL },
    { "{\"name\":\"a\",\"size\":10," UT "}", E_OK, NULL, "{\"size\":10}" },
    { "{\"name\":\"a\",\"other\":1," UT "}", E_VALIDATION, "other", NULL },
    { "[]", E_BADREQ, NULL, NULL },
};

static struct val
decode(struct arena *a, const char *json, size_t i)
{
    struct val    v;
    struct errbuf eb = { 0 };

    if (codec_decode(CODEC_JSON, a, json, strlen(json), 32, &v, &eb) != E_OK)
        fail_msg("case %zu: does not decode: %s: %s", i, eb.msg, json);
    return v;
}

static void
test_update_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct ucase *c = &cases[i];
        struct arena       *a = arena_new(8192);
        struct val          old = decode(a, stored, i), in = decode(a, c->body, i), obj;
        struct errbuf       eb = { 0 };
        int                 rc = validate_update(a, &test_spec, &in, &old, &obj, &eb);

        if (rc != c->want)
            fail_msg("case %zu %s: rc %d (%s), want %d", i, c->body, rc, eb.msg, c->want);
        if (c->attr != NULL && strcmp(eb.attr, c->attr) != 0)
            fail_msg("case %zu: attribute '%s', want '%s'", i, eb.attr, c->attr);
        if (c->expect != NULL) {
            struct val want = decode(a, c->expect, i);
            for (size_t k = 0; k < want.m.n; k++) {
                struct str  key = want.m.kv[k].k;
                struct val *got = val_get_s(&obj, key);
                if (got == NULL || !val_equal(got, &want.m.kv[k].v))
                    fail_msg("case %zu %s: '%.*s' %s", i, c->body, STR_FMT(key),
                             got == NULL ? "absent" : "differs");
            }
        }
        arena_free(a);
    }
    print_message("%zu cases\n", sizeof cases / sizeof cases[0]);
}

/* The stored object is not changed by an update computed from it: the engine
 * may still need it (hooks see old and new). */
static void
test_old_untouched(void **state)
{
    struct arena *a = arena_new(8192);
    struct val    old, copy, in, obj;
    struct errbuf eb = { 0 };

    (void)state;
    old = decode(a, stored, 0);
    copy = val_clone(a, &old);
    in = decode(a, "{\"name\":\"z\",\"secret\":\"n3w\",\"size\":9," UT "}", 0);
    assert_int_equal(validate_update(a, &test_spec, &in, &old, &obj, &eb), E_OK);
    assert_true(val_equal(&old, &copy));
    assert_true(str_eq_c(val_get_str(&obj, "name"), "z"));
    arena_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_cases),
        cmocka_unit_test(test_old_untouched),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
