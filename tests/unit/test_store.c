/* test_store.c - the store contract a second driver must keep (store.h):
 * conditional updates and deletes decided by the write itself (updateTime,
 * protected), the namespace guard, unique keys, and the change list handed to
 * observers after a commit, against a real SQLite file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include "core/arena.h"
#include "core/codec.h"
#include "core/config.h"
#include "model/specs.h"
#include "model/validate.h"
#include "store/store.h"

static struct store *st;
static char          dir[] = "/tmp/kw-test-store-XXXXXX";
static struct arena *A;

/* One write job: run `fn` with `arg` in a transaction, return its result. */
struct op {
    int (*fn)(struct tx *tx, struct op *op);
    const struct spec *s;
    struct val        *obj;
    struct str         id;
    struct write_cond *wc;
    int64_t            n;
};

static int
run_op(struct tx *tx, void *arg)
{
    struct op *op = arg;

    return op->fn(tx, op);
}

static int
do_insert(struct tx *tx, struct op *op)
{
    return tx->ops->insert(tx, op->s, op->obj);
}

static int
do_update(struct tx *tx, struct op *op)
{
    return tx->ops->update(tx, op->s, op->obj, op->wc);
}

static int
do_del(struct tx *tx, struct op *op)
{
    return tx->ops->del(tx, op->s, op->id, op->wc);
}

static int
run(int (*fn)(struct tx *, struct op *), const struct spec *s, struct val *obj, struct str id,
    struct write_cond *wc)
{
    struct op op = { fn, s, obj, id, wc, 0 };

    return store_run(st, run_op, &op);
}

/* A namespace /name (a row) and an account in it. */
static struct val
make(const struct spec *s, struct str ns, const char *json)
{
    struct val    in, obj;
    struct errbuf eb = { 0 };

    assert_int_equal(codec_decode(CODEC_JSON, A, json, strlen(json), 32, &in, &eb), E_OK);
    if (object_new(A, s, ns, &in, &obj, &eb) != E_OK)
        fail_msg("%s: %s", json, eb.msg);
    return obj;
}

static struct val
make_namespace(const char *name)
{
    char       json[128];
    struct val o;

    snprintf(json, sizeof json, "{\"name\":\"%s\"}", name);
    o = make(&spec_namespace, STR("/"), json);
    val_set(A, &o, "name", val_cstr(arena_printf(A, "/%s", name)));
    assert_int_equal(run(do_insert, &spec_namespace, &o, STR_NULL, NULL), E_OK);
    return o;
}

static struct val
make_account(struct str ns, const char *name)
{
    char       json[160];
    struct val o;

    snprintf(json, sizeof json,
             "{\"name\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"pw-%s-123456\"}",
             name, name, name);
    o = make(&spec_account, ns, json);
    assert_int_equal(run(do_insert, &spec_account, &o, STR_NULL, NULL), E_OK);
    return o;
}

static void
test_update_needs_the_stored_update_time(void **state)
{
    struct val        ns = make_namespace("u1");
    struct val        acc = make_account(val_get_str(&ns, "name"), "ann");
    struct str        t0 = val_get_str(&acc, "updateTime");
    struct write_cond stale = { STR("2001-01-01T00:00:00.000Z"), false };
    struct write_cond now = { t0, false };
    struct write_cond any = { STR_NULL, false };

    (void)state;
    val_set(A, &acc, "description", val_cstr("x"));
    assert_int_equal(run(do_update, &spec_account, &acc, STR_NULL, &stale), E_CONFLICT);
    assert_int_equal(run(do_update, &spec_account, &acc, STR_NULL, &now), E_OK);
    /* the same expectation again: the row has not moved, so it still matches */
    assert_int_equal(run(do_update, &spec_account, &acc, STR_NULL, &now), E_OK);
    val_set(A, &acc, "updateTime", val_cstr("2030-01-01T00:00:00.000Z"));
    assert_int_equal(run(do_update, &spec_account, &acc, STR_NULL, &now), E_OK);
    assert_int_equal(run(do_update, &spec_account, &acc, STR_NULL, &now), E_CONFLICT);
    assert_int_equal(run(do_update, &spec_account, &acc, STR_NULL, &any), E_OK);
}

static void
test_protected_needs_override(void **state)
{
    struct val        ns = make_namespace("p1");
    struct val        acc = make_account(val_get_str(&ns, "name"), "bob");
    struct str        id = val_get_str(&acc, "ID");
    struct write_cond plain = { STR_NULL, false }, over = { STR_NULL, true };

    (void)state;
    val_set(A, &acc, "protected", val_bool(true));
    assert_int_equal(run(do_update, &spec_account, &acc, STR_NULL, NULL), E_OK);
    val_set(A, &acc, "description", val_cstr("y"));
    assert_int_equal(run(do_update, &spec_account, &acc, STR_NULL, &plain), E_PROTECTED);
    assert_int_equal(run(do_del, &spec_account, NULL, id, &plain), E_PROTECTED);
    assert_int_equal(run(do_update, &spec_account, &acc, STR_NULL, &over), E_OK);
    assert_int_equal(run(do_del, &spec_account, NULL, id, &over), E_OK);
    assert_int_equal(run(do_del, &spec_account, NULL, id, &over), E_NOTFOUND);
    assert_int_equal(run(do_update, &spec_account, &acc, STR_NULL, &over), E_NOTFOUND);
}

static void
test_namespace_guard_and_unique_keys(void **state)
{
    struct val ns = make_namespace("g1");
    struct str path = val_get_str(&ns, "name");
    struct val acc = make_account(path, "cat"), dup;

    (void)state;
    dup = make(&spec_account, path,
               "{\"name\":\"cat\",\"email\":\"c@example.com\",\"password\":\"pw-cat-123456\"}");
    assert_int_equal(run(do_insert, &spec_account, &dup, STR_NULL, NULL), E_DUPLICATE);
    struct val lost =
        make(&spec_account, STR("/nowhere"),
             "{\"name\":\"dan\",\"email\":\"d@x.io\",\"password\":\"pw-dan-123456\"}");
    assert_int_equal(run(do_insert, &spec_account, &lost, STR_NULL, NULL), E_NOTFOUND);
    assert_int_equal(run(do_del, &spec_namespace, NULL, val_get_str(&ns, "ID"), NULL), E_OK);
    val_set(A, &acc, "description", val_cstr("z"));
    /* its namespace row is gone: the guard in the update refuses it */
    assert_int_equal(run(do_update, &spec_account, &acc, STR_NULL, NULL), E_NOTFOUND);
}

/* A list inside the transaction sees what the transaction wrote before it. */
static int
insert_then_list(struct tx *tx, struct op *op)
{
    struct listq q = { .scope = { val_get_str(op->obj, "namespace"), false }, .limit = -1 };
    struct val   items;
    int          rc = tx->ops->insert(tx, op->s, op->obj);

    if (rc == E_OK)
        rc = tx->ops->list(tx, op->s, &q, A, &items);
    op->n = rc == E_OK ? (int64_t)items.a.n : -1;
    return rc;
}

static void
test_list_in_a_transaction_sees_its_writes(void **state)
{
    struct val ns = make_namespace("l1");
    struct str path = val_get_str(&ns, "name");
    struct val b;
    struct op  op = { insert_then_list, &spec_account, &b, STR_NULL, NULL, 0 };

    (void)state;
    make_account(path, "gil");
    b = make(&spec_account, path,
             "{\"name\":\"hal\",\"email\":\"h@x.io\",\"password\":\"pw-hal-123456\"}");
    assert_int_equal(store_run(st, run_op, &op), E_OK);
    assert_int_equal(op.n, 2);
}

/* ---- the change list ------------------------------------------------------ */

static size_t seen_n;
static char   seen_ids[16][25];

static void
observe(const struct change *ch, size_t n)
{
    for (size_t i = 0; i < n && seen_n < 16; i++)
        if (ch[i].s == &spec_account)
            snprintf(seen_ids[seen_n++], 25, "%.*s", STR_FMT(ch[i].id));
}

static int
insert_then_fail(struct tx *tx, struct op *op)
{
    int rc = tx->ops->insert(tx, op->s, op->obj);

    return rc == E_OK ? E_VALIDATION : rc; /* the job fails: its savepoint is undone */
}

static void
test_observers_see_committed_changes_only(void **state)
{
    struct val ns = make_namespace("o1");
    struct str path = val_get_str(&ns, "name");
    struct val a, b;

    (void)state;
    seen_n = 0;
    a = make_account(path, "eve");
    b = make(&spec_account, path,
             "{\"name\":\"fay\",\"email\":\"f@x.io\",\"password\":\"pw-fay-123456\"}");
    assert_int_equal(run(insert_then_fail, &spec_account, &b, STR_NULL, NULL), E_VALIDATION);
    assert_int_equal(seen_n, 1);
    assert_string_equal(seen_ids[0], val_get_str(&a, "ID").p);
    assert_int_equal(run(do_del, &spec_account, NULL, val_get_str(&a, "ID"), NULL), E_OK);
    assert_int_equal(seen_n, 2);
    assert_string_equal(seen_ids[1], val_get_str(&a, "ID").p);
}

/* ---- jobs that write much (wjob.alone) ------------------------------------- */

/* Five jobs queued together; the first holds the writer until all are queued,
 * so they meet in one batch. The two `alone` ones split it into transactions
 * of their own: the failing one undoes only its own insert, the others commit. */
struct qjob {
    struct wjob w;
    struct op   op;
    int         rc;
    bool        hold;
};

static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  qcv = PTHREAD_COND_INITIALIZER;
static bool            qreleased;
static int             qdone;

static int
run_qjob(struct tx *tx, void *arg)
{
    struct qjob *q = arg;

    pthread_mutex_lock(&qmu);
    while (q->hold && !qreleased)
        pthread_cond_wait(&qcv, &qmu);
    pthread_mutex_unlock(&qmu);
    return q->op.fn(tx, &q->op);
}

static void
qjob_done(void *arg, int rc)
{
    struct qjob *q = arg;

    pthread_mutex_lock(&qmu);
    q->rc = rc;
    qdone++;
    pthread_cond_broadcast(&qcv);
    pthread_mutex_unlock(&qmu);
}

static bool
account_exists(const struct val *o)
{
    struct val    out;
    struct errbuf eb = { 0 };

    return st->ops->find(st, &spec_account, NULL, "ID", val_get_str(o, "ID"), A, &out, &eb) ==
           E_OK;
}

static void
test_a_job_alone_fails_alone(void **state)
{
    struct val         ns = make_namespace("w1");
    struct str         path = val_get_str(&ns, "name");
    static const char *names[] = { "wan", "wbo", "wci", "wda", "wel" };
    struct qjob        q[5];
    struct val         obj[5];

    (void)state;
    qreleased = false;
    qdone = 0;
    for (size_t i = 0; i < 5; i++) {
        char json[160];
        snprintf(json, sizeof json,
                 "{\"name\":\"%s\",\"email\":\"%s@x.io\",\"password\":\"pw-%s-123456\"}",
                 names[i], names[i], names[i]);
        obj[i] = make(&spec_account, path, json);
        q[i] = (struct qjob){ .w = { .run = run_qjob, .done = qjob_done, .arg = &q[i] },
                              .op = { i == 2 ? insert_then_fail : do_insert, &spec_account,
                                      &obj[i], STR_NULL, NULL, 0 },
                              .rc = -1,
                              .hold = i == 0 };
    }
    q[2].w.alone = q[3].w.alone = true;
    for (size_t i = 0; i < 5; i++)
        st->ops->submit(st, &q[i].w);
    pthread_mutex_lock(&qmu);
    qreleased = true;
    pthread_cond_broadcast(&qcv);
    while (qdone < 5)
        pthread_cond_wait(&qcv, &qmu);
    pthread_mutex_unlock(&qmu);
    for (size_t i = 0; i < 5; i++) {
        if (q[i].rc != (i == 2 ? E_VALIDATION : E_OK))
            fail_msg("job %zu: %d", i, q[i].rc);
        assert_int_equal(account_exists(&obj[i]), i != 2);
    }
}

static int
setup(void **state)
{
    struct errbuf eb = { 0 };
    char          uri[128];

    (void)state;
    config_defaults(&cfg);
    spec_init();
    A = arena_new(64 * 1024);
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(uri, sizeof uri, "sqlite:%s/k.db", dir);
    store_observe(observe);
    return store_open(uri, &st, &eb) == E_OK ? 0 : -1;
}

static int
teardown(void **state)
{
    char cmd[160];

    (void)state;
    st->ops->close(st);
    arena_free(A);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_needs_the_stored_update_time),
        cmocka_unit_test(test_protected_needs_override),
        cmocka_unit_test(test_namespace_guard_and_unique_keys),
        cmocka_unit_test(test_list_in_a_transaction_sees_its_writes),
        cmocka_unit_test(test_observers_see_committed_changes_only),
        cmocka_unit_test(test_a_job_alone_fails_alone),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
