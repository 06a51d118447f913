/* test_jobs.c - the store's leased work items and the jobs runtime, against a
 * real SQLite file in a temporary directory. Two store handles on one file
 * stand for two servers sharing a store. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/timeutil.h"
#include "jobs/jobs.h"
#include "model/spec.h"
#include "store/store.h"

struct fx {
    char          dir[64];
    char          path[128];
    char          uri[160];
    struct store *st;
};

static int
setup(void **state)
{
    struct fx    *f = calloc(1, sizeof *f);
    struct errbuf eb = { 0 };

    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/kw-jobs-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/keyward.db", f->dir);
    snprintf(f->uri, sizeof f->uri, "sqlite:%s", f->path);
    if (store_open(f->uri, &f->st, &eb) != E_OK)
        fail_msg("store_open: %s", eb.msg);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char       p[200];

    if (f->st != NULL)
        f->st->ops->close(f->st);
    static const char *const files[] = { "keyward.db", "keyward.db-wal", "keyward.db-shm" };
    for (size_t i = 0; i < ARRAY_LEN(files); i++) {
        snprintf(p, sizeof p, "%s/%s", f->dir, files[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct store *
open_second(struct fx *f)
{
    struct store *st = NULL;
    struct errbuf eb = { 0 };

    if (store_open(f->uri, &st, &eb) != E_OK)
        fail_msg("store_open: %s", eb.msg);
    return st;
}

/* ---- store operations, each one writer transaction ---------------------- */

struct op {
    struct job_new   nw;
    struct job_lease l;
    struct job_end   e;
    const char      *kinds[4];
    size_t           nkinds;
    int64_t          now, until, id;
    struct arena    *a;
    struct job_row   row;
};

static int
do_enqueue(struct tx *tx, void *arg)
{
    struct op *o = arg;

    return tx->ops->job_enqueue(tx, &o->nw, o->now, &o->id);
}

static int
do_claim(struct tx *tx, void *arg)
{
    struct op *o = arg;

    return tx->ops->job_claim(tx, o->kinds, o->nkinds, &o->l, o->now, o->a, &o->row);
}

static int
do_renew(struct tx *tx, void *arg)
{
    struct op *o = arg;

    return tx->ops->job_renew(tx, &o->l, o->until, STR("{\"done\":1}"));
}

static int
do_finish(struct tx *tx, void *arg)
{
    struct op *o = arg;

    return tx->ops->job_finish(tx, &o->l, &o->e, STR_NULL);
}

static int
do_purge(struct tx *tx, void *arg)
{
    struct op *o = arg;

    return tx->ops->job_purge(tx, o->now);
}

static int64_t
enqueue(struct store *st, const char *kind, const char *key, int64_t run_at, int64_t lease)
{
    struct op o = { .nw = { .kind = kind,
                            .key = key ? str_c(key) : STR_NULL,
                            .payload = STR("p"),
                            .run_at = run_at,
                            .lease_ms = lease },
                    .now = time_now_ms() };

    assert_int_equal(store_run(st, do_enqueue, &o), E_OK);
    return o.id;
}

/* Claim one item of `kind` for `owner` (fresh token); E_OK with *row. */
static int
claim(struct store *st, const char *kind, const char *owner, int64_t token, struct arena *a,
      struct job_row *row, struct job_lease *l)
{
    struct op o = { .l = { .owner = owner, .token = token },
                    .kinds = { kind },
                    .nkinds = 1,
                    .now = time_now_ms(),
                    .a = a };
    int       rc = store_run(st, do_claim, &o);

    if (rc == E_OK) {
        *row = o.row;
        *l = (struct job_lease){ row->id, owner, token };
    }
    return rc;
}

static int
finish(struct store *st, const struct job_lease *l, enum job_state state, int64_t attempts)
{
    struct op o = { .l = *l,
                    .e = { .state = state, .run_at = time_now_ms(), .attempts = attempts } };

    return store_run(st, do_finish, &o);
}

static struct job_row
get(struct store *st, struct arena *a, const char *kind, const char *key)
{
    struct job_row r;

    assert_int_equal(st->ops->job_get(st, kind, str_c(key), a, &r), E_OK);
    return r;
}

/* ---- the store primitive ------------------------------------------------ */

static void
test_enqueue_claim_complete(void **state)
{
    struct fx       *f = *state;
    struct arena    *a = arena_new(1024);
    struct job_row   row;
    struct job_lease l;
    int64_t          now = time_now_ms(), when = 0;
    int64_t          id = enqueue(f->st, "k", "one", now + 60000, 5000);

    assert_int_equal(f->st->ops->job_next(f->st, &when), E_OK);
    assert_int_equal(when, now + 60000);
    /* Not due yet. */
    assert_int_equal(claim(f->st, "k", "a", 1, a, &row, &l), E_NOTFOUND);
    /* Same kind and key: the same item, due at the earlier time. */
    assert_int_equal(enqueue(f->st, "k", "one", now - 1, 5000), id);
    assert_int_equal(enqueue(f->st, "k", "one", now + 90000, 5000), id);
    assert_int_equal(get(f->st, a, "k", "one").run_at, now - 1);
    /* Another kind is not claimed by a worker that does not know it. */
    assert_int_equal(claim(f->st, "other", "a", 1, a, &row, &l), E_NOTFOUND);

    assert_int_equal(claim(f->st, "k", "a", 7, a, &row, &l), E_OK);
    assert_int_equal(row.id, id);
    assert_int_equal(row.state, JOB_RUNNING);
    assert_int_equal(row.attempts, 1);
    assert_true(str_eq_c(row.payload, "p") && str_eq_c(row.owner, "a"));
    assert_true(row.lease_until >= now + 5000 && row.run_at == row.lease_until);
    /* Leased: nobody else gets it, and enqueueing it again leaves it running. */
    assert_int_equal(claim(f->st, "k", "b", 8, a, &row, &l), E_NOTFOUND);
    assert_int_equal(enqueue(f->st, "k", "one", now - 5, 5000), id);
    assert_int_equal(get(f->st, a, "k", "one").state, JOB_RUNNING);
    assert_int_equal(claim(f->st, "k", "b", 8, a, &row, &l), E_NOTFOUND);

    struct job_lease wrong = { id, "a", 8 };
    assert_int_equal(finish(f->st, &wrong, JOB_DONE, 1), E_CONFLICT);
    l = (struct job_lease){ id, "a", 7 };
    struct op o = { .l = l, .until = time_now_ms() + 9000 };
    assert_int_equal(store_run(f->st, do_renew, &o), E_OK);
    assert_true(str_eq_c(get(f->st, a, "k", "one").progress, "{\"done\":1}"));
    assert_int_equal(finish(f->st, &l, JOB_DONE, 1), E_OK);
    assert_int_equal(finish(f->st, &l, JOB_DONE, 1), E_CONFLICT); /* the claim is over */
    /* It was enqueued while it ran (what it read may predate that enqueue's
     * write): it runs once more, due at once, before it is done. */
    row = get(f->st, a, "k", "one");
    assert_int_equal(row.state, JOB_QUEUED);
    assert_int_equal(row.attempts, 0);
    assert_true(row.run_at <= time_now_ms());
    assert_int_equal(claim(f->st, "k", "b", 9, a, &row, &l), E_OK);
    assert_int_equal(row.id, id);
    l = (struct job_lease){ id, "b", 9 };
    assert_int_equal(finish(f->st, &l, JOB_DONE, 1), E_OK);
    assert_int_equal(get(f->st, a, "k", "one").state, JOB_DONE);
    assert_int_equal(f->st->ops->job_next(f->st, &when), E_NOTFOUND);

    /* A finished item enqueued again starts over. */
    assert_int_equal(enqueue(f->st, "k", "one", now, 5000), id);
    row = get(f->st, a, "k", "one");
    assert_int_equal(row.state, JOB_QUEUED);
    assert_int_equal(row.attempts, 0);
    /* Without a key, every enqueue is a new item. */
    assert_true(enqueue(f->st, "k", NULL, now, 5000) != enqueue(f->st, "k", NULL, now, 5000));

    /* Retention drops finished items only. */
    assert_int_equal(claim(f->st, "k", "a", 9, a, &row, &l), E_OK);
    assert_int_equal(row.id, id); /* the oldest due first */
    assert_int_equal(finish(f->st, &l, JOB_FAILED, 1), E_OK);
    struct op p = { .now = time_now_ms() + 1 };
    assert_int_equal(store_run(f->st, do_purge, &p), E_OK);
    assert_int_equal(f->st->ops->job_get(f->st, "k", STR("one"), a, &row), E_NOTFOUND);
    assert_int_equal(f->st->ops->job_next(f->st, &when), E_OK); /* the queued ones stay */
    arena_free(a);
}

#define RACE_ITEMS 300

struct claimer {
    struct store *st;
    const char   *owner;
    int64_t       ids[RACE_ITEMS];
    size_t        n;
};

static void *
claimer_main(void *arg)
{
    struct claimer  *c = arg;
    struct arena    *a = arena_new(4096);
    struct job_row   row;
    struct job_lease l;
    int              rc;

    for (int64_t t = 1; (rc = claim(c->st, "race", c->owner, t, a, &row, &l)) == E_OK; t++) {
        c->ids[c->n++] = row.id;
        if (finish(c->st, &l, JOB_DONE, row.attempts) != E_OK)
            break;
        arena_reset(a);
    }
    arena_free(a);
    return NULL;
}

static void
test_two_claimers_never_share(void **state)
{
    struct fx     *f = *state;
    struct store  *st2 = open_second(f);
    struct claimer c[2] = { { .st = f->st, .owner = "a" }, { .st = st2, .owner = "b" } };
    pthread_t      th[2];
    static char    seen[RACE_ITEMS + 1];
    int64_t        first = 0;

    for (int i = 0; i < RACE_ITEMS; i++) {
        int64_t id = enqueue(f->st, "race", NULL, time_now_ms(), 60000);
        if (i == 0)
            first = id;
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, claimer_main, &c[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(c[0].n + c[1].n, RACE_ITEMS);
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < c[i].n; k++) {
            int64_t x = c[i].ids[k] - first;
            assert_true(x >= 0 && x < RACE_ITEMS);
            assert_int_equal(seen[x], 0); /* claimed twice */
            seen[x] = 1;
        }
    st2->ops->close(st2);
}

static void
test_expired_lease_is_claimed_again(void **state)
{
    struct fx       *f = *state;
    struct store    *st2 = open_second(f);
    struct arena    *a = arena_new(1024);
    struct job_row   row;
    struct job_lease la, lb;
    int64_t          id = enqueue(f->st, "k", "x", time_now_ms(), 150);

    assert_int_equal(claim(f->st, "k", "dead", 1, a, &row, &la), E_OK);
    assert_int_equal(claim(st2, "k", "b", 2, a, &row, &lb), E_NOTFOUND);
    usleep(200 * 1000);
    assert_int_equal(claim(st2, "k", "b", 2, a, &row, &lb), E_OK);
    assert_int_equal(row.id, id);
    assert_int_equal(row.attempts, 2);
    /* The old holder can neither renew nor finish any more. */
    struct op o = { .l = la, .until = time_now_ms() + 1000 };
    assert_int_equal(store_run(f->st, do_renew, &o), E_CONFLICT);
    assert_int_equal(finish(f->st, &la, JOB_DONE, 1), E_CONFLICT);
    assert_int_equal(finish(st2, &lb, JOB_DONE, 2), E_OK);
    assert_true(str_eq_c(get(f->st, a, "k", "x").owner, "b"));
    arena_free(a);
    st2->ops->close(st2);
}

/* ---- the runtime -------------------------------------------------------- */

struct counter {
    atomic_int runs;
    atomic_int attempts[8];
    int64_t    times[16];
    int        fail_until; /* fail while runs < this */
    bool       until_canceled;
};

static int
count_run(struct job_ctx *ctx)
{
    struct counter *c = ctx->arg;
    int             n = atomic_fetch_add(&c->runs, 1);

    if (n < 16)
        c->times[n] = time_mono_ms();
    if (ctx->attempt < 8)
        atomic_fetch_add(&c->attempts[ctx->attempt], 1);
    job_progress(ctx, "{\"step\":1}");
    while (c->until_canceled && !job_canceled(ctx))
        usleep(10 * 1000);
    if (c->until_canceled)
        return errbuf_set(&ctx->eb, E_UNAVAILABLE, "canceled");
    if (n < c->fail_until)
        return errbuf_set(&ctx->eb, E_UNAVAILABLE, "boom %d", n);
    return E_OK;
}

static bool
wait_state(struct store *st, const char *kind, const char *key, enum job_state want,
           int64_t timeout_ms)
{
    struct arena *a = arena_new(1024);
    int64_t       end = time_mono_ms() + timeout_ms;
    bool          ok = false;

    while (!ok && time_mono_ms() < end) {
        struct job_row r;
        ok = st->ops->job_get(st, kind, str_c(key), a, &r) == E_OK && r.state == want;
        if (!ok)
            usleep(20 * 1000);
    }
    arena_free(a);
    return ok;
}

static struct jobs *
runtime(struct store *st, const char *owner, const struct job_kind *k, int workers)
{
    struct jobs  *j = jobs_new(st, owner);
    struct errbuf eb = { 0 };

    assert_non_null(j);
    assert_int_equal(jobs_register(j, k, &eb), E_OK);
    assert_int_equal(jobs_register(j, k, &eb), E_BADREQ); /* a name once */
    assert_int_equal(jobs_start(j, workers, &eb), E_OK);
    return j;
}

static void
test_retries_back_off_and_stop(void **state)
{
    struct fx      *f = *state;
    struct arena   *a = arena_new(1024);
    struct counter  c = { .fail_until = 100 };
    struct job_kind k = {
        .name = "flaky", .run = count_run, .arg = &c, .retry_base_ms = 100, .max_attempts = 3
    };
    struct jobs *j = runtime(f->st, "a", &k, 2);

    assert_int_equal(jobs_enqueue(j, "flaky", STR("f"), STR_NULL, 0, NULL), E_OK);
    assert_true(wait_state(f->st, "flaky", "f", JOB_FAILED, 10000));
    jobs_free(j);
    struct job_row r = get(f->st, a, "flaky", "f");
    assert_int_equal(atomic_load(&c.runs), 3);
    assert_int_equal(r.attempts, 3);
    assert_true(str_eq_c(r.last_error, "boom 2"));
    assert_true(str_eq_c(r.progress, "{\"step\":1}"));
    /* 100 ms, then 200 ms (timer slack aside). */
    assert_true(c.times[1] - c.times[0] >= 95);
    assert_true(c.times[2] - c.times[1] >= 195);
    /* A failure that heals: done at the second attempt. */
    struct counter c2 = { .fail_until = 1 };
    k = (struct job_kind){ .name = "heals", .run = count_run, .arg = &c2, .retry_base_ms = 20 };
    j = runtime(f->st, "a", &k, 1);
    assert_int_equal(jobs_enqueue(j, "heals", STR("h"), STR_NULL, 0, NULL), E_OK);
    assert_true(wait_state(f->st, "heals", "h", JOB_DONE, 10000));
    jobs_free(j);
    r = get(f->st, a, "heals", "h");
    assert_int_equal(r.attempts, 2);
    assert_int_equal(r.last_error.p, NULL);
    arena_free(a);
}

static void
test_periodic_is_queued_again(void **state)
{
    struct fx      *f = *state;
    struct arena   *a = arena_new(1024);
    struct counter  c = { .fail_until = 2 }; /* failures do not stop a periodic kind */
    struct job_kind k = { .name = "tick",
                          .run = count_run,
                          .arg = &c,
                          .interval_ms = 100,
                          .retry_base_ms = 10,
                          .max_attempts = 1 };
    struct jobs    *j = runtime(f->st, "a", &k, 1);
    int64_t         end = time_mono_ms() + 5000;

    while (atomic_load(&c.runs) < 5 && time_mono_ms() < end)
        usleep(20 * 1000);
    jobs_free(j);
    assert_true(atomic_load(&c.runs) >= 5);
    /* Every run took a fresh first attempt: the item starts over each period. */
    assert_int_equal(atomic_load(&c.attempts[1]), atomic_load(&c.runs));
    assert_true(c.times[4] - c.times[3] >= 95);
    struct job_row r = get(f->st, a, "tick", "tick");
    assert_int_equal(r.state, JOB_QUEUED);
    assert_int_equal(r.attempts, 0);
    /* Registering again (a restart) keeps one item. */
    j = runtime(f->st, "b", &k, 1);
    jobs_free(j);
    assert_int_equal(get(f->st, a, "tick", "tick").id, r.id);
    arena_free(a);
}

/* A server killed while running an item leaves it `running` under its lease;
 * another server takes it once the lease has expired, and runs it to the end. */
static void
test_dead_servers_job_is_taken_over(void **state)
{
    struct fx       *f = *state;
    struct store    *st2 = open_second(f);
    struct arena    *a = arena_new(1024);
    struct job_row   row;
    struct job_lease l;
    struct counter   c = { 0 };
    struct job_kind  k = { .name = "scan", .run = count_run, .arg = &c, .lease_ms = 300 };
    int64_t          t0;

    enqueue(f->st, "scan", "s", time_now_ms(), 300);
    assert_int_equal(claim(f->st, "scan", "killed", 1, a, &row, &l), E_OK);
    f->st->ops->close(f->st); /* the dead server's store goes with it */
    f->st = NULL;
    t0 = time_mono_ms();
    struct jobs *j = runtime(st2, "b", &k, 1);
    assert_true(wait_state(st2, "scan", "s", JOB_DONE, 10000));
    assert_true(time_mono_ms() - t0 >= 150); /* not before the lease ran out */
    jobs_free(j);
    row = get(st2, a, "scan", "s");
    assert_int_equal(atomic_load(&c.runs), 1);
    assert_int_equal(row.attempts, 2);
    assert_true(str_eq_c(row.owner, "b"));
    arena_free(a);
    f->st = st2;
}

/* Stopping releases a running item at once: queued again, the attempt not
 * counted, and the next runtime runs it without waiting for a lease. */
static void
test_stop_releases_running_job(void **state)
{
    struct fx      *f = *state;
    struct arena   *a = arena_new(1024);
    struct counter  c = { .until_canceled = true };
    struct job_kind k = { .name = "long", .run = count_run, .arg = &c, .lease_ms = 60000 };
    struct jobs    *j = runtime(f->st, "a", &k, 1);
    int64_t         end = time_mono_ms() + 5000;

    assert_int_equal(jobs_enqueue(j, "long", STR("l"), STR_NULL, 0, NULL), E_OK);
    while (atomic_load(&c.runs) == 0 && time_mono_ms() < end)
        usleep(10 * 1000);
    assert_int_equal(atomic_load(&c.runs), 1);
    int64_t t0 = time_mono_ms();
    jobs_free(j);
    assert_true(time_mono_ms() - t0 < 2000);
    struct job_row r = get(f->st, a, "long", "l");
    assert_int_equal(r.state, JOB_QUEUED);
    assert_int_equal(r.attempts, 0);
    assert_true(r.run_at <= time_now_ms());
    c.until_canceled = false;
    j = runtime(f->st, "b", &k, 1);
    assert_true(wait_state(f->st, "long", "l", JOB_DONE, 3000));
    jobs_free(j);
    assert_int_equal(get(f->st, a, "long", "l").attempts, 1);
    arena_free(a);
}

/* Items take turns: the one running sees another wait (due for longer than
 * an idle worker takes) and yields; the waiting one runs next, then the
 * yielded one again, whose attempts do not count the turn it gave up. */
struct turns {
    atomic_int n;
    char       order[8];
    bool       saw_none; /* nothing waited before the other was queued */
    int        enqueued;
};

static int
turn_run(struct job_ctx *ctx)
{
    struct turns *t = ctx->arg;
    int           n = atomic_fetch_add(&t->n, 1);
    int64_t       end = time_mono_ms() + 5000;

    if (n < (int)sizeof t->order - 1)
        t->order[n] = (char)ctx->key.p[0];
    if (n > 0)
        return E_OK;
    t->saw_none = !job_others_waiting(ctx);
    /* The other item, due 2 s ago: no idle worker took it, so it waits. */
    t->enqueued =
        jobs_enqueue(ctx->jobs, "turn", STR("v"), STR_NULL, time_now_ms() - 2000, NULL);
    while (!job_others_waiting(ctx) && time_mono_ms() < end)
        usleep(10 * 1000);
    job_yield(ctx);
    return E_OK;
}

static void
test_a_yield_gives_the_worker_to_a_waiting_item(void **state)
{
    struct fx      *f = *state;
    struct arena   *a = arena_new(1024);
    struct turns    t = { 0 };
    struct job_kind k = { .name = "turn", .run = turn_run, .arg = &t };
    struct jobs    *j = runtime(f->st, "a", &k, 1);

    assert_int_equal(jobs_enqueue(j, "turn", STR("h"), STR_NULL, 0, NULL), E_OK);
    assert_true(wait_state(f->st, "turn", "h", JOB_DONE, 5000));
    assert_true(wait_state(f->st, "turn", "v", JOB_DONE, 5000));
    jobs_free(j);
    assert_true(t.saw_none);
    assert_int_equal(t.enqueued, E_OK);
    assert_string_equal(t.order, "hvh");
    assert_int_equal(get(f->st, a, "turn", "h").attempts, 1);
    assert_int_equal(get(f->st, a, "turn", "v").attempts, 1);
    arena_free(a);
}

/* An item queued with a shorter lease than this server's kind (by a server
 * with another job_lease) is renewed on its own lease's schedule: nobody can
 * take it while it runs. */
static void
test_an_item_keeps_the_lease_it_was_queued_with(void **state)
{
    struct fx       *f = *state;
    struct store    *st2 = open_second(f);
    struct arena    *a = arena_new(1024);
    struct counter   c = { .until_canceled = true };
    struct job_kind  k = { .name = "long", .run = count_run, .arg = &c, .lease_ms = 60000 };
    struct job_row   row;
    struct job_lease l;

    enqueue(f->st, "long", "x", time_now_ms(), 300);
    struct jobs *j = runtime(f->st, "a", &k, 1);
    assert_true(wait_state(f->st, "long", "x", JOB_RUNNING, 5000));
    usleep(1000 * 1000); /* three of the item's leases */
    assert_int_equal(claim(st2, "long", "b", 2, a, &row, &l), E_NOTFOUND);
    assert_true(str_eq_c(get(st2, a, "long", "x").owner, "a"));
    jobs_free(j);
    arena_free(a);
    st2->ops->close(st2);
}

struct in_tx {
    struct jobs *j;
    int          rc; /* what the rest of the transaction returns */
};

static int
enqueue_in_tx(struct tx *tx, void *arg)
{
    struct in_tx *t = arg;
    int           rc = jobs_enqueue_tx(t->j, tx, "deliver", STR("d"), STR("body"), 0, NULL);

    return rc != E_OK ? rc : t->rc;
}

/* An item enqueued inside a write commits with it, or not at all. */
static void
test_enqueue_in_transaction(void **state)
{
    struct fx      *f = *state;
    struct arena   *a = arena_new(1024);
    struct counter  c = { 0 };
    struct job_kind k = { .name = "deliver", .run = count_run, .arg = &c };
    struct jobs    *j = runtime(f->st, "a", &k, 1);
    struct job_row  r;
    struct in_tx    t = { j, E_DUPLICATE };

    assert_int_equal(store_run(f->st, enqueue_in_tx, &t), E_DUPLICATE);
    assert_int_equal(f->st->ops->job_get(f->st, "deliver", STR("d"), a, &r), E_NOTFOUND);
    t.rc = E_OK;
    assert_int_equal(store_run(f->st, enqueue_in_tx, &t), E_OK);
    jobs_wake(j);
    assert_true(wait_state(f->st, "deliver", "d", JOB_DONE, 5000));
    assert_int_equal(jobs_enqueue(j, "unknown", STR("x"), STR_NULL, 0, NULL), E_NOTFOUND);
    jobs_free(j);
    assert_int_equal(atomic_load(&c.runs), 1);
    arena_free(a);
}

/* ---- migrations --------------------------------------------------------- */

static void
exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

static int64_t
scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t       v = -1;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* A store made before migrations were recorded (its side tables as release
 * ac79bd2 created them, with data) is taken over as it is. */
static void
test_old_store_is_migrated(void **state)
{
    struct fx *f = *state;
    char       path[200];
    sqlite3   *db = NULL;

    f->st->ops->close(f->st);
    f->st = NULL;
    snprintf(path, sizeof path, "%s/old.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    exec_sql(db, "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);"
                 "CREATE TABLE idempotency (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,"
                 " status INTEGER NOT NULL, body BLOB NOT NULL, expires INTEGER NOT NULL);"
                 "CREATE INDEX idempotency_expires ON idempotency (expires);"
                 "CREATE TABLE token_uses (jti TEXT PRIMARY KEY, used INTEGER NOT NULL,"
                 " expires INTEGER NOT NULL);"
                 "CREATE TABLE ephemeral (key TEXT PRIMARY KEY, value BLOB NOT NULL,"
                 " expires INTEGER NOT NULL);"
                 "INSERT INTO meta VALUES ('signing-key', x'0102');"
                 "INSERT INTO idempotency VALUES ('k', 'fp', 200, x'00', 99999999999999);");
    sqlite3_close(db);

    char          uri[220];
    struct errbuf eb = { 0 };
    struct store *st = NULL;
    snprintf(uri, sizeof uri, "sqlite:%s", path);
    for (int round = 0; round < 2; round++) { /* the second open finds nothing to do */
        if (store_open(uri, &st, &eb) != E_OK)
            fail_msg("store_open: %s", eb.msg);
        st->ops->close(st);
    }
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(scalar(db, "SELECT count(*) FROM schema_migrations"), 2);
    assert_int_equal(scalar(db, "SELECT max(version) FROM schema_migrations"), 2);
    assert_int_equal(scalar(db, "SELECT count(*) FROM meta WHERE key = 'signing-key'"), 1);
    assert_int_equal(scalar(db, "SELECT count(*) FROM idempotency"), 1);
    assert_int_equal(scalar(db, "SELECT count(*) FROM jobs"), 0);
    /* A store from a newer release is refused, not half understood. */
    exec_sql(db, "INSERT INTO schema_migrations VALUES (999, 0)");
    sqlite3_close(db);
    assert_int_equal(store_open(uri, &st, &eb), E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "newer"));
    static const char *const sfx[] = { "", "-wal", "-shm" };
    for (size_t i = 0; i < ARRAY_LEN(sfx); i++) {
        snprintf(uri, sizeof uri, "%s%s", path, sfx[i]);
        unlink(uri);
    }
}

/* ---- fencing: a server that stalled past its lease ----------------------- */

struct fenced {
    atomic_int  stage; /* test -> handler: 2 write, 4 write again; handler: 1, 3, 5 */
    int         rc[2]; /* the two fenced writes' */
    bool        canceled;
    const char *key;
};

static int
fenced_write(struct tx *tx, void *arg)
{
    struct job_ctx *ctx = arg;
    struct fenced  *fz = ctx->arg;
    struct job_new  nw = { .kind = "marker",
                           .key = str_c(fz->key),
                           .payload = STR("late"),
                           .run_at = time_now_ms(),
                           .lease_ms = 1000 };
    int64_t         id;
    int             rc = job_fence_tx(ctx, tx);

    return rc != E_OK ? rc : tx->ops->job_enqueue(tx, &nw, time_now_ms(), &id);
}

static void
wait_stage(atomic_int *stage, int want)
{
    for (int i = 0; i < 1000 && atomic_load(stage) != want; i++)
        usleep(10 * 1000);
    assert_int_equal(atomic_load(stage), want);
}

static int
fenced_run(struct job_ctx *ctx)
{
    struct fenced *fz = ctx->arg;

    atomic_store(&fz->stage, 1);
    for (int n = 0; n < 2; n++) {
        wait_stage(&fz->stage, 2 + 2 * n);
        fz->key = n == 0 ? "before" : "after";
        fz->rc[n] = store_run(ctx->st, fenced_write, ctx);
        atomic_store(&fz->stage, 3 + 2 * n);
    }
    fz->canceled = job_canceled(ctx);
    return E_OK;
}

/* Server a stalls (its lease runs out unrenewed: set here in the file, as a
 * paused process would let it); server b claims the item. What a writes
 * afterwards, in a transaction that fences itself, is refused and rolled back,
 * and a learns that it lost the item. */
static void
test_a_write_after_the_lease_was_taken_over_is_refused(void **state)
{
    struct fx       *f = *state;
    struct store    *st2 = open_second(f);
    struct arena    *a = arena_new(1024);
    struct fenced    fz = { 0 };
    struct job_kind  k = { .name = "fenced", .run = fenced_run, .arg = &fz, .lease_ms = 60000 };
    struct job_row   row;
    struct job_lease lb;
    char             path[200];
    sqlite3         *db = NULL;

    enqueue(f->st, "fenced", "x", time_now_ms(), 60000);
    struct jobs *j = runtime(f->st, "a", &k, 1);
    wait_stage(&fz.stage, 1);
    atomic_store(&fz.stage, 2);
    wait_stage(&fz.stage, 3);
    assert_int_equal(fz.rc[0], E_OK); /* held: written */
    assert_int_equal(st2->ops->job_get(st2, "marker", STR("before"), a, &row), E_OK);

    snprintf(path, sizeof path, "%s/keyward.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    exec_sql(db, "UPDATE jobs SET lease_until = 0, run_at = 0 WHERE kind = 'fenced'");
    sqlite3_close(db);
    assert_int_equal(claim(st2, "fenced", "b", 2, a, &row, &lb), E_OK);

    atomic_store(&fz.stage, 4);
    wait_stage(&fz.stage, 5);
    assert_int_equal(fz.rc[1], E_CONFLICT);
    assert_int_equal(st2->ops->job_get(st2, "marker", STR("after"), a, &row), E_NOTFOUND);
    jobs_free(j);
    assert_true(fz.canceled);
    assert_true(str_eq_c(get(st2, a, "fenced", "x").owner, "b"));
    assert_int_equal(finish(st2, &lb, JOB_DONE, 2), E_OK); /* b's lease is intact */
    arena_free(a);
    st2->ops->close(st2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enqueue_claim_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_claimers_never_share, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_lease_is_claimed_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_back_off_and_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_periodic_is_queued_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_servers_job_is_taken_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_releases_running_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_yield_gives_the_worker_to_a_waiting_item, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_an_item_keeps_the_lease_it_was_queued_with, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_enqueue_in_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_store_is_migrated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_write_after_the_lease_was_taken_over_is_refused,
                                        setup, teardown),
    };

    config_defaults(&cfg);
    config_set(&cfg, "sync", "normal", NULL);
    spec_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
