/* test_ratelimit.c - failure buckets, lock-outs, attempts in flight, eviction,
 * threads. Time is passed in, so nothing here sleeps. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>

#include "core/ratelimit.h"

#define MIN_MS (60 * 1000)

static struct ratelimit *
mk(size_t capacity, int64_t max, int64_t window, int64_t lockout)
{
    struct ratelimit_policy p = { max, window, lockout };
    struct ratelimit       *rl = ratelimit_new(capacity, &p);

    assert_non_null(rl);
    return rl;
}

/* One attempt that fails; returns what begin answered. */
static int64_t
fail_once(struct ratelimit *rl, struct str key, int64_t now)
{
    int64_t wait = ratelimit_begin(rl, key, now);

    if (wait == 0)
        ratelimit_end(rl, key, RL_FAILED, now);
    return wait;
}

static void
test_locks_after_max_failures(void **state)
{
    struct ratelimit *rl = mk(1024, 3, 15 * MIN_MS, 2000);

    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(fail_once(rl, STR("alice"), 1000), 0);
    /* The fourth attempt is refused until the lock-out ends. */
    assert_int_equal(ratelimit_begin(rl, STR("alice"), 1000), 2000);
    assert_int_equal(ratelimit_begin(rl, STR("alice"), 2500), 500);
    assert_int_equal(ratelimit_begin(rl, STR("alice"), 2999), 1);
    /* Then a fresh bucket. */
    assert_int_equal(ratelimit_begin(rl, STR("alice"), 3000), 0);
    ratelimit_end(rl, STR("alice"), RL_SUCCEEDED, 3000);
    ratelimit_free(rl);
}

static void
test_keys_are_independent(void **state)
{
    struct ratelimit *rl = mk(1024, 2, MIN_MS, MIN_MS);

    (void)state;
    assert_int_equal(fail_once(rl, STR("a"), 0), 0);
    assert_int_equal(fail_once(rl, STR("a"), 0), 0);
    assert_true(ratelimit_begin(rl, STR("a"), 0) > 0);
    assert_int_equal(fail_once(rl, STR("b"), 0), 0);
    assert_int_equal(fail_once(rl, STR("ab"), 0), 0);
    assert_int_equal(fail_once(rl, (struct str){ "a\0", 2 }, 0), 0);
    ratelimit_free(rl);
}

static void
test_success_empties_the_bucket(void **state)
{
    struct ratelimit *rl = mk(1024, 3, MIN_MS, MIN_MS);

    (void)state;
    assert_int_equal(fail_once(rl, STR("k"), 0), 0);
    assert_int_equal(fail_once(rl, STR("k"), 0), 0);
    assert_int_equal(ratelimit_begin(rl, STR("k"), 0), 0);
    ratelimit_end(rl, STR("k"), RL_SUCCEEDED, 0);
    /* Three more failures are needed to lock again. */
    assert_int_equal(fail_once(rl, STR("k"), 0), 0);
    assert_int_equal(fail_once(rl, STR("k"), 0), 0);
    assert_int_equal(fail_once(rl, STR("k"), 0), 0);
    assert_true(ratelimit_begin(rl, STR("k"), 0) > 0);
    ratelimit_free(rl);
}

static void
test_neutral_counts_nothing(void **state)
{
    struct ratelimit *rl = mk(1024, 1, MIN_MS, MIN_MS);

    (void)state;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(ratelimit_begin(rl, STR("k"), 0), 0);
        ratelimit_end(rl, STR("k"), RL_NEUTRAL, 0);
    }
    assert_int_equal(fail_once(rl, STR("k"), 0), 0);
    assert_int_equal(ratelimit_begin(rl, STR("k"), 0), MIN_MS);
    ratelimit_free(rl);
}

/* max failures per window, spread evenly, never lock: one is forgiven every
 * window / max. */
static void
test_failures_drain(void **state)
{
    struct ratelimit *rl = mk(1024, 4, 4000, MIN_MS);
    int64_t           t = 0;

    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(fail_once(rl, STR("k"), t), 0);
    for (int i = 0; i < 20; i++) {
        t += 1000; /* one forgiven, one more */
        assert_int_equal(fail_once(rl, STR("k"), t), 0);
    }
    /* A burst now: the fourth failure in a row locks. */
    assert_int_equal(fail_once(rl, STR("k"), t), 0);
    assert_int_equal(ratelimit_begin(rl, STR("k"), t), MIN_MS);
    ratelimit_free(rl);
}

static void
test_attempts_in_flight_count(void **state)
{
    struct ratelimit *rl = mk(1024, 3, MIN_MS, MIN_MS);

    (void)state;
    assert_int_equal(fail_once(rl, STR("k"), 0), 0);
    assert_int_equal(ratelimit_begin(rl, STR("k"), 0), 0);
    assert_int_equal(ratelimit_begin(rl, STR("k"), 0), 0);
    /* One failure and two in flight: a fourth attempt could exceed the limit. */
    assert_int_equal(ratelimit_begin(rl, STR("k"), 0), 1000);
    ratelimit_end(rl, STR("k"), RL_NEUTRAL, 0);
    assert_int_equal(ratelimit_begin(rl, STR("k"), 0), 0);
    assert_false(ratelimit_end(rl, STR("k"), RL_FAILED, 0));
    assert_true(ratelimit_end(rl, STR("k"), RL_FAILED, 0)); /* the third locks */
    assert_int_equal(ratelimit_begin(rl, STR("k"), 0), MIN_MS);
    ratelimit_free(rl);
}

static void
test_zero_max_never_locks(void **state)
{
    struct ratelimit *rl = mk(16, 0, MIN_MS, MIN_MS);

    (void)state;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(fail_once(rl, STR("k"), 0), 0);
    ratelimit_free(rl);
}

/* One set of 8: a flood of new keys evicts idle and low entries, not a lock,
 * and memory stays what it was. */
static void
test_flood_keeps_locks(void **state)
{
    struct ratelimit *rl = mk(8, 2, MIN_MS, MIN_MS);
    char              name[32];

    (void)state;
    assert_int_equal(fail_once(rl, STR("victim"), 0), 0);
    assert_int_equal(fail_once(rl, STR("victim"), 0), 0);
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(name, sizeof name, "rot-%d", i);
        assert_int_equal(fail_once(rl, (struct str){ name, (size_t)n }, 1), 0);
    }
    assert_true(ratelimit_begin(rl, STR("victim"), 2) > 0);
    ratelimit_free(rl);
}

/* With every entry locked, the lock ending first goes. */
static void
test_full_of_locks_evicts_oldest(void **state)
{
    struct ratelimit *rl = mk(8, 1, MIN_MS, MIN_MS);
    char              name[32];

    (void)state;
    for (int i = 0; i < 8; i++) {
        int n = snprintf(name, sizeof name, "k%d", i);
        assert_int_equal(fail_once(rl, (struct str){ name, (size_t)n }, i), 0);
    }
    assert_int_equal(fail_once(rl, STR("new"), 10), 0);
    assert_int_equal(ratelimit_begin(rl, STR("k0"), 11), 0); /* evicted */
    assert_true(ratelimit_begin(rl, STR("k7"), 11) > 0);
    ratelimit_free(rl);
}

struct race {
    struct ratelimit *rl;
    pthread_mutex_t   lock;
    int               admitted;
};

static void *
racer(void *arg)
{
    struct race *r = arg;

    for (int i = 0; i < 2000; i++) {
        if (ratelimit_begin(r->rl, STR("shared"), 0) != 0)
            continue;
        pthread_mutex_lock(&r->lock);
        r->admitted++;
        pthread_mutex_unlock(&r->lock);
        ratelimit_end(r->rl, STR("shared"), RL_FAILED, 0);
    }
    return NULL;
}

/* Eight threads guessing at once get exactly max attempts. */
static void
test_threads_get_max_attempts(void **state)
{
    struct race r = { .rl = mk(1024, 5, MIN_MS, MIN_MS) };
    pthread_t   t[8];

    (void)state;
    pthread_mutex_init(&r.lock, NULL);
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, racer, &r), 0);
    for (size_t i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(r.admitted, 5);
    pthread_mutex_destroy(&r.lock);
    ratelimit_free(r.rl);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_locks_after_max_failures),
        cmocka_unit_test(test_keys_are_independent),
        cmocka_unit_test(test_success_empties_the_bucket),
        cmocka_unit_test(test_neutral_counts_nothing),
        cmocka_unit_test(test_failures_drain),
        cmocka_unit_test(test_attempts_in_flight_count),
        cmocka_unit_test(test_zero_max_never_locks),
        cmocka_unit_test(test_flood_keeps_locks),
        cmocka_unit_test(test_full_of_locks_evicts_oldest),
        cmocka_unit_test(test_threads_get_max_attempts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
