/* test_listattrs.c - queryable list attributes and their side tables, against a
 * real store (SQLite file in a temporary directory): every write path keeps the
 * side table exactly equal to the objects' lists, and every list operator of q=
 * answers what a brute-force evaluation over the objects answers, in several
 * scopes, for a generated data set of a few hundred objects with 0-5 elements.
 *
 * apiauthorizations' authorizedIdentities (A_INDEXED) stands for an indexed
 * list. No bulk resource indexes a list yet: the certificate inventory's name
 * lists will, and bring back a test of side rows through the namespace purge
 * (the auditlog's principal was indexed once; it halved create throughput). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <regex.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "model/specs.h"
#include "store/filter.h"
#include "store/store.h"

#define NOBJ   300
#define MAXEL  5
#define NWORDS 12

/* Elements: plain words, a regex metacharacter, a quote. */
static const char *const words[NWORDS] = { "w0",  "w1",  "w2",  "w3",  "w4",   "w5",
                                           "w10", "w11", "a.b", "axb", "it's", "" };

struct obj {
    char        id[25];
    const char *ns;
    char        nsid[25]; /* bulk: the ID of the namespace it was created in */
    int         n;
    const char *v[MAXEL];
    int         day; /* createTime: 2026-01-<day> */
    bool        stored;
};

struct fx {
    char          dir[64], path[128], uri[160];
    struct store *st;
    struct arena *a;
    struct obj    o[NOBJ];
    size_t        n;
    uint64_t      rnd;
    unsigned      serial;
};

static unsigned
rnd(struct fx *f, unsigned n)
{
    f->rnd = f->rnd * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(f->rnd >> 33) % n;
}

static int
setup(void **state)
{
    struct fx    *f = calloc(1, sizeof *f);
    struct errbuf eb = { 0 };

    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/kw-lists-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/keyward.db", f->dir);
    snprintf(f->uri, sizeof f->uri, "sqlite:%s", f->path);
    if (store_open(f->uri, &f->st, &eb) != E_OK)
        fail_msg("store_open: %s", eb.msg);
    f->a = arena_new(1 << 16);
    f->rnd = 42;
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
    arena_free(f->a);
    free(f);
    return 0;
}

/* ---- writes, each one store transaction -------------------------------- */

struct wr {
    struct fx         *f;
    const struct spec *s;
    const char        *attr;
    struct obj        *o[NOBJ];
    size_t             n;
    bool               insert;
    struct str         id, ns;
    int64_t            limit, deleted, before;
};

static struct val
doc_of(struct fx *f, const struct spec *s, const char *attr, const struct obj *o)
{
    struct val d = val_map(), l = val_arr();
    char      *t = arena_printf(f->a, "2026-01-%02dT00:00:00Z", o->day);

    val_set(f->a, &d, "ID", val_cstr(o->id));
    val_set(f->a, &d, "namespace", val_cstr(o->ns));
    val_set(f->a, &d, "createTime", val_cstr(t));
    val_set(f->a, &d, "updateTime", val_cstr(t));
    val_set(f->a, &d, "name", val_cstr(o->id));
    for (int i = 0; i < o->n; i++)
        val_push(f->a, &l, val_cstr(o->v[i]));
    if (o->n > 0 || o->id[23] % 2) /* an empty list, or none at all */
        val_set(f->a, &d, attr, l);
    if (s->bulk) /* entries may point at a namespace that no longer exists */
        val_set(f->a, &d, "requestNamespace", val_cstr(o->ns));
    return d;
}

static int
do_write(struct tx *tx, void *arg)
{
    struct wr *w = arg;

    for (size_t i = 0; i < w->n; i++) {
        struct val d = doc_of(w->f, w->s, w->attr, w->o[i]);
        int        rc =
            w->insert ? tx->ops->insert(tx, w->s, &d) : tx->ops->update(tx, w->s, &d, NULL);
        if (rc != E_OK)
            return rc;
    }
    return E_OK;
}

static int
do_del(struct tx *tx, void *arg)
{
    struct wr *w = arg;

    for (size_t i = 0; i < w->n; i++) {
        int rc = tx->ops->del(tx, w->s, str_c(w->o[i]->id), NULL);
        if (rc != E_OK)
            return rc;
    }
    return E_OK;
}

static int
do_del_ns(struct tx *tx, void *arg)
{
    struct wr *w = arg;
    struct val gone = val_arr();
    int        rc = tx->ops->del(tx, &spec_namespace, w->id, NULL);

    return rc == E_OK ? tx->ops->del_subtree(tx, w->ns, w->f->a, &gone) : rc;
}

static void
new_id(struct fx *f, char *id)
{
    snprintf(id, 25, "%08x%016x", 0x5eedu, ++f->serial);
}

struct one {
    const struct spec *s;
    struct val         d;
};

static int
do_insert_one(struct tx *tx, void *arg)
{
    struct one *o = arg;

    return tx->ops->insert(tx, o->s, &o->d);
}

/* A namespace `path` (its parent must exist); its ID into nsid. */
static void
make_ns(struct fx *f, const char *path, char *nsid)
{
    struct obj  o = { .ns = "/", .day = 1 };
    const char *slash = strrchr(path, '/');

    new_id(f, o.id);
    if (slash != path)
        o.ns = arena_strndup(f->a, path, (size_t)(slash - path));
    struct one one = { &spec_namespace, doc_of(f, &spec_namespace, "associatedTags", &o) };
    val_set(f->a, &one.d, "name", val_cstr(path));
    assert_int_equal(store_run(f->st, do_insert_one, &one), E_OK);
    memcpy(nsid, o.id, 25);
}

static void
delete_ns(struct fx *f, const char *path, const char *nsid)
{
    struct wr w = { .f = f, .id = str_c(nsid), .ns = str_c(path) };

    assert_int_equal(store_run(f->st, do_del_ns, &w), E_OK);
}

/* A random list: 0-5 elements, duplicates possible. */
static void
random_list(struct fx *f, struct obj *o)
{
    o->n = (int)rnd(f, MAXEL + 1);
    for (int i = 0; i < o->n; i++)
        o->v[i] = words[rnd(f, NWORDS)];
}

/* Add n objects in the namespaces given (round robin), in one transaction. */
static void
add_objects(struct fx *f, const struct spec *s, const char *attr, size_t n,
            const char *const *ns, const char *const *nsid, size_t nns)
{
    struct wr w = { .f = f, .s = s, .attr = attr, .insert = true };

    for (size_t i = 0; i < n; i++) {
        struct obj *o = &f->o[f->n++];
        size_t      k = rnd(f, (unsigned)nns);
        new_id(f, o->id);
        o->ns = ns[k];
        snprintf(o->nsid, sizeof o->nsid, "%s", nsid[k]);
        o->day = 1 + (int)rnd(f, 28);
        o->stored = true;
        random_list(f, o);
        w.o[w.n++] = o;
    }
    assert_int_equal(store_run(f->st, do_write, &w), E_OK);
}

/* ---- checks ------------------------------------------------------------- */

static int
cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static bool
has(const struct obj *o, const char *v)
{
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->v[i], v) == 0)
            return true;
    return false;
}

/* The side table holds one (oid, namespace, v) row per distinct element of
 * every stored object, nothing else. */
static void
check_side_exact(struct fx *f, const struct spec *s, const char *attr)
{
    char        **want = calloc(NOBJ * MAXEL, sizeof *want);
    size_t        nw = 0;
    struct buf    w, g;
    sqlite3      *db;
    sqlite3_stmt *st;
    char          sql[256];

    for (size_t i = 0; i < f->n; i++) {
        const struct obj *o = &f->o[i];
        for (int k = 0; o->stored && k < o->n; k++) {
            bool dup = false;
            for (int j = 0; j < k; j++)
                dup = dup || strcmp(o->v[j], o->v[k]) == 0;
            if (!dup)
                want[nw++] = arena_printf(f->a, "%s|%s|%s", o->id, o->ns, o->v[k]);
        }
    }
    qsort(want, nw, sizeof *want, cmp_str);
    buf_init(&w, 0);
    buf_init(&g, 0);
    for (size_t i = 0; i < nw; i++)
        buf_printf(&w, "%s\n", want[i]);
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    snprintf(sql, sizeof sql,
             "SELECT oid || '|' || \"namespace\" || '|' || v FROM \"%s__%s\" ORDER BY 1",
             s->rest, attr);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
        buf_printf(&g, "%s\n", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (strcmp(buf_cstr(&w), buf_cstr(&g)) != 0)
        fail_msg("%s.%s side table:\n got %s\nwant %s", s->rest, attr, buf_cstr(&g),
                 buf_cstr(&w));
    buf_free(&w);
    buf_free(&g);
    free(want);
}

/* What an operator means on a list (API.md 6), evaluated on the model. */
enum kind { K_HAS, K_HAS_NOT, K_ANY, K_NONE, K_MATCH, K_EXISTS, K_NOT_EXISTS };

static const struct {
    const char *op; /* after the attribute */
    enum kind   k;
    const char *v[3];
} ops[] = {
    { "== \"w1\"", K_HAS, { "w1" } },
    { "contains \"w3\"", K_HAS, { "w3" } },
    { "== \"a.b\"", K_HAS, { "a.b" } },
    { "== \"it's\"", K_HAS, { "it's" } },
    { "== \"\"", K_HAS, { "" } },
    { "== \"nowhere\"", K_HAS, { "nowhere" } },
    { "!= \"w1\"", K_HAS_NOT, { "w1" } },
    { "not contains \"w10\"", K_HAS_NOT, { "w10" } },
    { "in [\"w2\", \"w11\"]", K_ANY, { "w2", "w11" } },
    { "contains [\"w0\", \"axb\", \"zz\"]", K_ANY, { "w0", "axb", "zz" } },
    { "not in [\"w4\", \"w5\"]", K_NONE, { "w4", "w5" } },
    { "not contains [\"w0\"]", K_NONE, { "w0" } },
    { "matches \"^w1\"", K_MATCH, { "^w1" } },
    { "matches \"a.b\"", K_MATCH, { "a.b" } },
    { "matches \"^$\"", K_MATCH, { "^$" } },
    { "exists", K_EXISTS, { NULL } },
    { "not exists", K_NOT_EXISTS, { NULL } },
};

static bool
model_match(size_t c, const struct obj *o)
{
    bool any = false;

    switch (ops[c].k) {
    case K_HAS:
        return has(o, ops[c].v[0]);
    case K_HAS_NOT:
        return !has(o, ops[c].v[0]);
    case K_ANY:
    case K_NONE:
        for (int i = 0; i < 3 && ops[c].v[i] != NULL; i++)
            any = any || has(o, ops[c].v[i]);
        return ops[c].k == K_ANY ? any : !any;
    case K_MATCH: {
        regex_t re;
        assert_int_equal(regcomp(&re, ops[c].v[0], REG_EXTENDED | REG_NOSUB), 0);
        for (int i = 0; i < o->n; i++)
            any = any || regexec(&re, o->v[i], 0, NULL, 0) == 0;
        regfree(&re);
        return any;
    }
    case K_EXISTS:
        return o->n > 0;
    default:
        return o->n == 0;
    }
}

static bool
in_scope(const struct scope *sc, const char *ns)
{
    size_t n = sc->ns.len;

    if (str_eq_c(sc->ns, ns))
        return true;
    if (!sc->recursive)
        return false;
    return n == 1 || (strncmp(ns, sc->ns.p, n) == 0 && ns[n] == '/');
}

/* An object is visible when stored, in scope and (bulk) its namespace is the
 * live one of that path. */
typedef bool live_fn(struct fx *f, const struct obj *o);

static void
check_ops(struct fx *f, const struct spec *s, const char *attr, live_fn *live)
{
    static const struct scope scopes[] = {
        { STR("/"), true },   { STR("/"), false },    { STR("/a"), true },
        { STR("/a"), false }, { STR("/a/b"), false }, { STR("/c"), true },
    };

    for (size_t si = 0; si < ARRAY_LEN(scopes); si++) {
        for (size_t c = 0; c < ARRAY_LEN(ops); c++) {
            const char   *q = arena_printf(f->a, "%s %s", attr, ops[c].op);
            struct fnode *fn;
            struct errbuf eb = { 0 };
            struct listq  lq = { .scope = scopes[si], .limit = -1, .want_total = true };
            struct val    items = val_arr();
            int64_t       total = -1;
            struct buf    want, got;

            assert_int_equal(filter_parse(f->a, str_c(q), 0, &fn, &eb), E_OK);
            lq.filter = fn;
            if (f->st->ops->list(f->st, s, &lq, f->a, &items, &total, &eb) != E_OK)
                fail_msg("%s: %s", q, eb.msg);
            buf_init(&want, 0);
            buf_init(&got, 0);
            for (size_t i = 0; i < f->n; i++) { /* IDs increase with i: the list's order */
                const struct obj *o = &f->o[i];
                if (o->stored && in_scope(&scopes[si], o->ns) && live(f, o) &&
                    model_match(c, o))
                    buf_printf(&want, "%s ", o->id);
            }
            for (size_t i = 0; i < items.a.n; i++)
                buf_printf(&got, "%.*s ", STR_FMT(val_get_str(&items.a.v[i], "ID")));
            if (strcmp(buf_cstr(&want), buf_cstr(&got)) != 0)
                fail_msg("%s in %.*s%s:\n got %s\nwant %s", q, STR_FMT(scopes[si].ns),
                         scopes[si].recursive ? " (recursive)" : "", buf_cstr(&got),
                         buf_cstr(&want));
            assert_int_equal(total, (int64_t)items.a.n);
            buf_free(&want);
            buf_free(&got);
        }
    }
}

static bool
always(struct fx *f, const struct obj *o)
{
    KW_UNUSED(f);
    KW_UNUSED(o);
    return true;
}

/* ---- an ordinary resource ---------------------------------------------- */

#define AUTHZ (&spec_apiauthorization)
#define IDS   "authorizedIdentities"

static void
update_some(struct fx *f, const struct spec *s, const char *attr, size_t n)
{
    struct wr w = { .f = f, .s = s, .attr = attr };

    while (w.n < n) {
        struct obj *o = &f->o[rnd(f, (unsigned)f->n)];
        bool        dup = false;
        for (size_t i = 0; i < w.n; i++)
            dup = dup || w.o[i] == o;
        if (!o->stored || dup)
            continue;
        random_list(f, o);
        w.o[w.n++] = o;
    }
    assert_int_equal(store_run(f->st, do_write, &w), E_OK);
}

static void
delete_some(struct fx *f, const struct spec *s, size_t n)
{
    struct wr w = { .f = f, .s = s };

    while (w.n < n) {
        struct obj *o = &f->o[rnd(f, (unsigned)f->n)];
        if (!o->stored)
            continue;
        o->stored = false;
        w.o[w.n++] = o;
    }
    assert_int_equal(store_run(f->st, do_del, &w), E_OK);
}

static void
test_writes_keep_side_exact(void **state)
{
    struct fx  *f = *state;
    char        a[25], ab[25], c[25];
    const char *ns[] = { "/", "/a", "/a/b", "/c" };

    make_ns(f, "/a", a);
    make_ns(f, "/a/b", ab);
    make_ns(f, "/c", c);
    const char *nsid[] = { "/", a, ab, c };
    add_objects(f, AUTHZ, IDS, 250, ns, nsid, 4);
    check_side_exact(f, AUTHZ, IDS);
    check_ops(f, AUTHZ, IDS, always);

    update_some(f, AUTHZ, IDS, 80);
    check_side_exact(f, AUTHZ, IDS);
    check_ops(f, AUTHZ, IDS, always);

    delete_some(f, AUTHZ, 40);
    check_side_exact(f, AUTHZ, IDS);
    check_ops(f, AUTHZ, IDS, always);

    /* A namespace delete takes its subtree's objects and their elements. */
    delete_ns(f, "/a", a);
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->o[i].ns, "/a") == 0 || strcmp(f->o[i].ns, "/a/b") == 0)
            f->o[i].stored = false;
    check_side_exact(f, AUTHZ, IDS);
    check_ops(f, AUTHZ, IDS, always);

    /* Created again, it holds only what is written in it from now on. */
    make_ns(f, "/a", a);
    const char *ns2[] = { "/a" }, *nsid2[] = { a };
    add_objects(f, AUTHZ, IDS, 30, ns2, nsid2, 1);
    check_side_exact(f, AUTHZ, IDS);
    check_ops(f, AUTHZ, IDS, always);
}

/* A store made before the side tables (or before an attribute was queryable)
 * gets them filled from the rows at the next start. */
static void
test_start_fills_side_table(void **state)
{
    struct fx    *f = *state;
    const char   *ns[] = { "/" }, *nsid[] = { "/" };
    struct errbuf eb = { 0 };
    sqlite3      *db;

    add_objects(f, AUTHZ, IDS, 120, ns, nsid, 1);
    f->st->ops->close(f->st);
    f->st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP TABLE \"apiauthorizations__authorizedIdentities\"",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    if (store_open(f->uri, &f->st, &eb) != E_OK)
        fail_msg("store_open: %s", eb.msg);
    check_side_exact(f, AUTHZ, IDS);
    check_ops(f, AUTHZ, IDS, always);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writes_keep_side_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_fills_side_table, setup, teardown),
    };

    config_defaults(&cfg);
    config_set(&cfg, "sync", "normal", NULL);
    spec_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
