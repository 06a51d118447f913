/* test_password.c - Argon2id hashes: format, verification, unknown accounts, limits. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <time.h>

#include "core/password.h"

#define PW_MAX 1024

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_hash_verify(void **state)
{
    char h1[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];

    (void)state;
    assert_int_equal(password_hash(STR("correct horse battery staple"), h1), E_OK);
    /* PHC string with the documented parameters. */
    assert_true(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    assert_true(strlen(h1) < PASSWORD_HASH_MAX);
    assert_true(password_verify(h1, STR("correct horse battery staple")));
    /* A fresh salt each time. */
    assert_int_equal(password_hash(STR("correct horse battery staple"), h2), E_OK);
    assert_string_not_equal(h1, h2);
    assert_true(password_verify(h2, STR("correct horse battery staple")));
}

static void
test_wrong_password(void **state)
{
    char h[PASSWORD_HASH_MAX];

    (void)state;
    assert_int_equal(password_hash(STR("s3cret"), h), E_OK);
    assert_false(password_verify(h, STR("s3cre")));
    assert_false(password_verify(h, STR("s3cret ")));
    assert_false(password_verify(h, STR("S3cret")));
    assert_false(password_verify(h, STR("")));
    /* Bytes after an embedded NUL count: lengths, not C strings. */
    assert_false(password_verify(h, (struct str){ "s3cret\0x", 8 }));
    assert_true(password_verify(h, STR("s3cret")));
}

static void
test_empty_password(void **state)
{
    char h[PASSWORD_HASH_MAX];

    (void)state;
    assert_int_equal(password_hash(STR(""), h), E_OK);
    assert_true(password_verify(h, STR("")));
    assert_true(password_verify(h, STR_NULL));
    assert_false(password_verify(h, STR("x")));
}

static void
test_bad_hash(void **state)
{
    (void)state;
    assert_false(password_verify("", STR("x")));
    assert_false(password_verify("x", STR("x")));
    assert_false(password_verify("$argon2id$v=19$m=19456,t=2,p=1$", STR("x")));
    /* argon2i is not argon2id. */
    assert_false(password_verify("$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$"
                                 "RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
                                 STR("password")));
}

/* Best of three, so a busy machine does not make the comparison flaky. */
static double
verify_time(const char *hash, struct str pw, bool want)
{
    double best = 1e9, t0;
    int    i;

    for (i = 0; i < 3; i++) {
        t0 = now_s();
        assert_true(password_verify(hash, pw) == want);
        t0 = now_s() - t0;
        if (t0 < best)
            best = t0;
    }
    return best;
}

/* Unknown account: false, after about as much work as a real check. */
static void
test_null_hash(void **state)
{
    char   h[PASSWORD_HASH_MAX];
    double real, dummy;

    (void)state;
    assert_int_equal(password_hash(STR("pw"), h), E_OK);
    assert_false(password_verify(NULL, STR("pw"))); /* also builds the dummy */
    assert_false(password_verify(NULL, STR("")));
    real = verify_time(h, STR("pw"), true);
    dummy = verify_time(NULL, STR("pw"), false);
    /* Loose bounds: this is about not returning early, not about microseconds. */
    assert_true(dummy > real / 3);
    assert_true(dummy < real * 3);
}

static void
test_long_password(void **state)
{
    char  h[PASSWORD_HASH_MAX];
    char *pw = malloc(PW_MAX + 1);

    (void)state;
    assert_non_null(pw);
    memset(pw, 'p', PW_MAX + 1);
    /* At the limit: fine. */
    assert_int_equal(password_hash((struct str){ pw, PW_MAX }, h), E_OK);
    assert_true(password_verify(h, (struct str){ pw, PW_MAX }));
    /* One past: refused before any hashing, by both calls. */
    assert_int_not_equal(password_hash((struct str){ pw, PW_MAX + 1 }, h), E_OK);
    assert_string_equal(h, "");
    assert_int_equal(password_hash((struct str){ pw, PW_MAX }, h), E_OK);
    assert_false(password_verify(h, (struct str){ pw, PW_MAX + 1 }));
    assert_false(password_verify(NULL, (struct str){ pw, PW_MAX + 1 }));
    free(pw);
}

/* The login variant: same answers, with one slot (nothing else holds it here). */
static void
test_check_with_one_slot(void **state)
{
    char h[PASSWORD_HASH_MAX];
    bool ok = true;

    (void)state;
    password_set_slots(1);
    assert_int_equal(password_hash(STR("s3cret"), h), E_OK);
    assert_int_equal(password_check(h, STR("s3cret"), &ok), E_OK);
    assert_true(ok);
    assert_int_equal(password_check(h, STR("s3cre"), &ok), E_OK);
    assert_false(ok);
    ok = true;
    assert_int_equal(password_check(NULL, STR("s3cret"), &ok), E_OK);
    assert_false(ok);
    password_set_slots(4);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_verify),         cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_empty_password),      cmocka_unit_test(test_bad_hash),
        cmocka_unit_test(test_null_hash),           cmocka_unit_test(test_long_password),
        cmocka_unit_test(test_check_with_one_slot),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
