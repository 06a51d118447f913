/* listattr.c - `list == "x"` on a list attribute over many objects, at the store
 * (no HTTP): N audit entries (a bulk resource, as certificates will be) in one
 * namespace, each with 1-3 `principal` elements unique like SANs, and one that
 * every entry has;
 * then the list query a request makes (first page of 100, count included) for
 * elements picked at random, and its query plan.
 *
 *   make B=build-l build-l/bench/listattr && build-l/bench/listattr [N] [QUERIES]
 *
 * Built against the library of a commit before the side tables it measures the
 * JSON scan (json_each) instead. Prints times only; asserts nothing. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/timeutil.h"
#include "model/specs.h"
#include "store/filter.h"
#include "store/sql.h"
#include "store/store.h"

struct fill {
    struct arena *a;
    int64_t       from, to;
    const char   *nsid;
};

static const char *
elem(int64_t i, int k)
{
    static char b[3][64];
    snprintf(b[k], sizeof b[k], "host-%lld-%d.example.com", (long long)i, k);
    return b[k];
}

static int
do_fill(struct tx *tx, void *arg)
{
    struct fill *f = arg;

    for (int64_t i = f->from; i < f->to; i++) {
        struct val d = val_map(), l = val_arr();
        char       id[25];
        snprintf(id, sizeof id, "%024llx", (long long)i + 1);
        val_set(f->a, &d, "ID", val_str(arena_str(f->a, str_c(id))));
        val_set(f->a, &d, "namespace", val_cstr("/t"));
        val_set(f->a, &d, "createTime", val_cstr("2026-01-02T00:00:00Z"));
        val_set(f->a, &d, "operation", val_cstr("create"));
        for (int k = 0; k < 1 + (int)(i % 3); k++)
            val_push(f->a, &l, val_str(arena_str(f->a, str_c(elem(i, k)))));
        val_push(f->a, &l, val_cstr("@auth:realm=vince")); /* in every entry */
        val_set(f->a, &d, "principal", l);
        int rc = tx->ops->insert(tx, &spec_auditlog, &d);
        if (rc != E_OK)
            return rc;
    }
    return E_OK;
}

static int
do_ns(struct tx *tx, void *arg)
{
    struct arena *a = arg;
    struct val    d = val_map();

    val_set(a, &d, "ID", val_cstr("0000000000000000000000ff"));
    val_set(a, &d, "namespace", val_cstr("/"));
    val_set(a, &d, "name", val_cstr("/t"));
    return tx->ops->insert(tx, &spec_namespace, &d);
}

static int64_t
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

int
main(int argc, char **argv)
{
    int64_t        n = 200000, nq = 200;
    char           dir[] = "/tmp/kw-bench-listattr-XXXXXX", path[128], uri[160];
    struct store  *st;
    struct errbuf  eb = { 0 };
    struct arena  *a = arena_new(1 << 20);
    int64_t       *us, t0;

    /* [OBJECTS [QUERIES]], each a positive integer (str_to_i64: checked) */
    if ((argc > 1 && (str_to_i64(str_c(argv[1]), &n) != E_OK || n < 1)) ||
        (argc > 2 && (str_to_i64(str_c(argv[2]), &nq) != E_OK || nq < 1 || nq > 1000000))) {
        fprintf(stderr, "usage: listattr [OBJECTS [QUERIES]]\n");
        return 2;
    }
    us = calloc((size_t)nq, sizeof *us);
    config_defaults(&cfg);
    config_set(&cfg, "sync", "normal", NULL);
    spec_init();
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof path, "%s/keyward.db", dir);
    snprintf(uri, sizeof uri, "sqlite:%s", path);
    if (store_open(uri, &st, &eb) != E_OK || store_run(st, do_ns, a) != E_OK) {
        fprintf(stderr, "store: %s\n", eb.msg);
        return 1;
    }
    t0 = time_now_ms();
    for (int64_t i = 0; i < n; i += 5000) {
        struct fill f = { arena_new(1 << 20), i, i + 5000 < n ? i + 5000 : n, NULL };
        if (store_run(st, do_fill, &f) != E_OK)
            return 1;
        arena_free(f.a);
    }
    printf("inserted %lld entries in %lld ms\n", (long long)n, (long long)(time_now_ms() - t0));

    for (int common = 0; common < 2; common++) {
    int nqk = (int)(common ? (nq < 20 ? nq : 20) : nq);
    srand(7);
    for (int q = 0; q < nqk; q++) {
        int64_t       i = rand() % n;
        char          text[128];
        struct fnode *fn;
        struct order_key ok = { spec_attr(&spec_auditlog, STR("createTime")), false };
        struct listq  lq = { .scope = { STR("/t"), false }, .order = &ok, .norder = 1,
                             .limit = 100, .want_total = true };
        struct val    items = val_arr();
        int64_t       total = 0;
        snprintf(text, sizeof text, "principal == \"%s\"",
                 common ? "@auth:realm=vince" : elem(i, (int)(i % 3)));
        if (filter_parse(a, str_c(text), 0, &fn, &eb) != E_OK)
            return 1;
        lq.filter = fn;
        t0 = now_us();
        if (st->ops->list(st, &spec_auditlog, &lq, a, &items, &total, &eb) != E_OK ||
            total != (common ? n : 1) || items.a.n != (common ? (n < 100 ? (size_t)n : 100) : 1)) {
            fprintf(stderr, "list: %s (total %lld)\n", eb.msg, (long long)total);
            return 1;
        }
        us[q] = now_us() - t0;
        if (q == 0 && !common) { /* the plan of the page query */
            struct buf       sql;
            struct sqlparams ps = { 0 };
            sqlite3         *db;
            sqlite3_stmt    *s;
            buf_init(&sql, 0);
            buf_puts(&sql, "EXPLAIN QUERY PLAN ");
            sql_select(&sql, &spec_auditlog, &lq, SQL_SQLITE, a, &ps, &eb);
            printf("%s\n", buf_cstr(&sql) + 19);
            sqlite3_open(path, &db);
            sqlite3_prepare_v2(db, buf_cstr(&sql), -1, &s, NULL);
            while (sqlite3_step(s) == SQLITE_ROW)
                printf("  plan: %s\n", (const char *)sqlite3_column_text(s, 3));
            sqlite3_finalize(s);
            sqlite3_close(db);
            buf_free(&sql);
        }
    }
    qsort(us, (size_t)nqk, sizeof *us, cmp_i64);
    printf("principal == <%s> over %lld entries, %d queries (page of 100 + count): "
           "p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
           common ? "the element every entry has" : "a unique element", (long long)n, nqk,
           us[nqk / 2] / 1000.0, us[(nqk * 99) / 100] / 1000.0, us[nqk - 1] / 1000.0);
    }
    st->ops->close(st);
    static const char *const sfx[] = { "", "-wal", "-shm" };
    for (size_t k = 0; k < 3; k++) {
        snprintf(uri, sizeof uri, "%s%s", path, sfx[k]);
        unlink(uri);
    }
    rmdir(dir);
    free(us);
    arena_free(a);
    return 0;
}
