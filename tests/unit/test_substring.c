/* test_substring.c - substring indexes (A_SUBSTRING) against a real store (SQLite
 * file in a temporary directory): every write path keeps the trigram table
 * exactly equal to the rows' values (insert, update, delete, a namespace delete
 * and its purge, the start that creates it), and `contains` answers what strstr
 * answers over the objects, from the index or not, in several scopes.
 *
 * certificates' subjectCN (a bulk resource) stands for an indexed string. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "inventory/inventory.h"
#include "model/specs.h"
#include "store/filter.h"
#include "store/store.h"

#define NOBJ   12000
#define CERTS  (&spec_certificate)
#define FTS_OF "certificates__subjectCN_fts"

/* Values: overlapping substrings, case, FTS5 syntax, quotes, UTF-8, short ones;
 * NULL: no subjectCN at all. */
static const char *const names[] = {
    "www.example.com",
    "api.example.com",
    "Example Corp",
    "mail.EXAMPLE.org",
    "say \"hi\" there",
    "a*b (c) AND NEAR",
    "\u00e9-t\u00eate.fr",
    "ab",
    "x",
    "",
    NULL,
};
#define NNAMES ARRAY_LEN(names)

/* What is searched: index lookups (3 characters or more) and scans. */
static const char *const needles[] = {
    "example",  "xam", "Example", "EXAMPLE",   "\"hi\"",          "say \"",
    "AND NEAR", "(c)", "a*b",     "t\u00eate", "\u00e9-t",        "ab",
    "x",        "",    "nothing", ".example.", "www.example.com", "www.example.com.",
    "NEAR(",
};

struct obj {
    char        id[25];
    const char *ns;
    char        nsid[25]; /* the ID of the namespace it was created in */
    const char *cn;
    bool        stored;
};

struct fx {
    char          dir[64], path[128], uri[160];
    struct store *st;
    struct arena *a;
    struct obj   *o;
    size_t        n;
    uint64_t      rnd;
    unsigned      serial;
    char          live[8][25]; /* IDs of the namespaces that exist */
    size_t        nlive;
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
    f->o = calloc(NOBJ, sizeof *f->o);
    assert_non_null(f->o);
    snprintf(f->dir, sizeof f->dir, "/tmp/kw-substr-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/keyward.db", f->dir);
    snprintf(f->uri, sizeof f->uri, "sqlite:%s", f->path);
    if (store_open(f->uri, &f->st, &eb) != E_OK)
        fail_msg("store_open: %s", eb.msg);
    f->a = arena_new(1 << 16);
    f->rnd = 7;
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
    free(f->o);
    free(f);
    return 0;
}

/* ---- writes, each one store transaction -------------------------------- */

struct wr {
    struct fx         *f;
    struct obj       **o;
    size_t             n;
    bool               insert;
    const struct spec *s;
    struct str         id, ns;
    int64_t            deleted;
};

static struct val
doc_of(struct fx *f, const struct obj *o)
{
    struct val d = val_map();

    val_set(f->a, &d, "ID", val_cstr(o->id));
    val_set(f->a, &d, "namespace", val_cstr(o->ns));
    val_set(f->a, &d, "createTime", val_cstr("2026-01-02T00:00:00Z"));
    val_set(f->a, &d, "updateTime", val_cstr("2026-01-02T00:00:00Z"));
    if (o->cn != NULL)
        val_set(f->a, &d, "subjectCN", val_cstr(o->cn));
    return d;
}

static int
do_write(struct tx *tx, void *arg)
{
    struct wr *w = arg;

    for (size_t i = 0; i < w->n; i++) {
        struct val d = doc_of(w->f, w->o[i]);
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
        int rc = tx->ops->del(tx, CERTS, str_c(w->o[i]->id), NULL);
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

static int
do_purge(struct tx *tx, void *arg)
{
    struct wr *w = arg;

    return tx->ops->purge_nsid(tx, CERTS, w->id, 7, &w->deleted);
}

static void
new_id(struct fx *f, char *id)
{
    snprintf(id, 25, "%08x%016x", 0x5eedu, ++f->serial);
}

static int
do_insert_one(struct tx *tx, void *arg)
{
    struct val *d = arg;

    return tx->ops->insert(tx, &spec_namespace, d);
}

/* A namespace `path` under "/" (its ID into nsid, among the live ones). */
static void
make_ns(struct fx *f, const char *path, char *nsid)
{
    struct obj o = { .ns = "/" };
    struct val d;

    new_id(f, o.id);
    d = doc_of(f, &o);
    val_set(f->a, &d, "name", val_cstr(path));
    assert_int_equal(store_run(f->st, do_insert_one, &d), E_OK);
    memcpy(nsid, o.id, 25);
    memcpy(f->live[f->nlive++], o.id, 25);
}

/* Delete namespace `path`: its certificates vanish at once, their rows (and
 * entries) stay until purged. */
static void
delete_ns(struct fx *f, const char *path, const char *nsid)
{
    struct wr w = { .f = f, .id = str_c(nsid), .ns = str_c(path) };

    assert_int_equal(store_run(f->st, do_del_ns, &w), E_OK);
    for (size_t i = 0; i < f->nlive; i++)
        if (strcmp(f->live[i], nsid) == 0)
            memcpy(f->live[i], f->live[--f->nlive], 25);
}

/* Purge a deleted namespace's rows, a few per transaction, checking the index
 * after each batch. */
static void check_fts_exact(struct fx *f);

static void
purge_ns(struct fx *f, const char *nsid)
{
    struct wr w = { .f = f, .id = str_c(nsid) };

    do {
        assert_int_equal(store_run(f->st, do_purge, &w), E_OK);
        check_fts_exact(f);
    } while (w.deleted > 0);
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->o[i].nsid, nsid) == 0)
            f->o[i].stored = false;
}

static const char *
random_cn(struct fx *f)
{
    return names[rnd(f, NNAMES)];
}

/* Add n certificates in the namespaces given (round robin), in one transaction;
 * with `cn`, all with that subjectCN. */
static void
add_objects(struct fx *f, size_t n, const char *const *ns, const char *const *nsid, size_t nns,
            const char *cn)
{
    struct wr w = { .f = f, .insert = true, .s = CERTS };

    w.o = calloc(n, sizeof *w.o);
    for (size_t i = 0; i < n; i++) {
        struct obj *o = &f->o[f->n++];
        size_t      k = rnd(f, (unsigned)nns);
        new_id(f, o->id);
        o->ns = ns[k];
        snprintf(o->nsid, sizeof o->nsid, "%s", nsid[k]);
        o->cn = cn != NULL ? arena_printf(f->a, "%s%zu", cn, i) : random_cn(f);
        o->stored = true;
        w.o[w.n++] = o;
    }
    assert_int_equal(store_run(f->st, do_write, &w), E_OK);
    free(w.o);
}

/* Rewrite n stored objects: a new subjectCN (or none) for most, the same for
 * some (their entry stays as it is). */
static void
update_some(struct fx *f, size_t n)
{
    struct wr w = { .f = f, .s = CERTS };

    w.o = calloc(n, sizeof *w.o);
    while (w.n < n) {
        struct obj *o = &f->o[rnd(f, (unsigned)f->n)];
        bool        dup = false;
        for (size_t i = 0; i < w.n; i++)
            dup = dup || w.o[i] == o;
        if (!o->stored || dup)
            continue;
        if (rnd(f, 4) > 0)
            o->cn = random_cn(f);
        w.o[w.n++] = o;
    }
    assert_int_equal(store_run(f->st, do_write, &w), E_OK);
    free(w.o);
}

static void
delete_some(struct fx *f, size_t n)
{
    struct wr w = { .f = f, .s = CERTS };

    w.o = calloc(n, sizeof *w.o);
    while (w.n < n) {
        struct obj *o = &f->o[rnd(f, (unsigned)f->n)];
        if (!o->stored)
            continue;
        o->stored = false;
        w.o[w.n++] = o;
    }
    assert_int_equal(store_run(f->st, do_del, &w), E_OK);
    free(w.o);
}

/* ---- checks ------------------------------------------------------------- */

/* Every row with a subjectCN has one entry, under its rowid, with its value;
 * there is no other entry. */
static void
check_fts_exact(struct fx *f)
{
    static const char *const q[2] = {
        "SELECT rowid, v FROM \"" FTS_OF "\" ORDER BY rowid",
        "SELECT rowid, \"subjectCN\" FROM certificates WHERE \"subjectCN\" IS NOT NULL"
        " ORDER BY rowid",
    };
    struct buf    got[2];
    sqlite3      *db;
    sqlite3_stmt *st;

    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    for (int k = 0; k < 2; k++) {
        buf_init(&got[k], 0);
        assert_int_equal(sqlite3_prepare_v2(db, q[k], -1, &st, NULL), SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW)
            buf_printf(&got[k], "%lld|%s\n", (long long)sqlite3_column_int64(st, 0),
                       (const char *)sqlite3_column_text(st, 1));
        sqlite3_finalize(st);
    }
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO \"" FTS_OF "\" (\"" FTS_OF
                                  "\") VALUES ('integrity-check')",
                                  NULL, NULL, NULL),
                     SQLITE_READONLY);
    sqlite3_close(db);
    if (strcmp(buf_cstr(&got[0]), buf_cstr(&got[1])) != 0)
        fail_msg("substring index:\n got %s\nwant %s", buf_cstr(&got[0]), buf_cstr(&got[1]));
    buf_free(&got[0]);
    buf_free(&got[1]);
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

/* Visible: stored, and created in a namespace that still exists. */
static bool
live(const struct fx *f, const struct obj *o)
{
    if (!o->stored)
        return false;
    if (strcmp(o->nsid, "/") == 0)
        return true;
    for (size_t i = 0; i < f->nlive; i++)
        if (strcmp(f->live[i], o->nsid) == 0)
            return true;
    return false;
}

static bool
has(const struct obj *o, const char *needle)
{
    return o->cn != NULL && strstr(o->cn, needle) != NULL;
}

/* The model's answer to q (one of the shapes check_ops asks). */
enum shape { S_HAS, S_HAS_NOT, S_EITHER, S_BOTH };

static bool
model(enum shape sh, const struct obj *o, const char *x, const char *y)
{
    switch (sh) {
    case S_HAS:
        return has(o, x);
    case S_HAS_NOT:
        return !has(o, x);
    case S_EITHER:
        return has(o, x) || has(o, y);
    default:
        return has(o, x) && has(o, y);
    }
}

/* A filter string with `x` quoted for q= (\" and \\ escaped). */
static const char *
quoted(struct fx *f, const char *x)
{
    struct buf b;
    char      *out;

    buf_init(&b, 0);
    buf_putc(&b, '"');
    for (; *x; x++) {
        if (*x == '"' || *x == '\\')
            buf_putc(&b, '\\');
        buf_putc(&b, *x);
    }
    buf_putc(&b, '"');
    out = arena_strndup(f->a, b.p, b.len);
    buf_free(&b);
    return out;
}

static const char *
query_of(struct fx *f, enum shape sh, const char *x, const char *y)
{
    switch (sh) {
    case S_HAS:
        return arena_printf(f->a, "subjectCN contains %s", quoted(f, x));
    case S_HAS_NOT:
        return arena_printf(f->a, "subjectCN not contains %s", quoted(f, x));
    case S_EITHER:
        return arena_printf(f->a, "subjectCN contains %s or subjectCN contains %s",
                            quoted(f, x), quoted(f, y));
    default:
        return arena_printf(f->a, "subjectCN contains %s and subjectCN contains %s",
                            quoted(f, x), quoted(f, y));
    }
}

/* The page of the list (IDs in order, at most `limit`) and the total against the
 * model, for one query in one scope. */
static void
check_one(struct fx *f, const struct scope *sc, enum shape sh, const char *x, const char *y,
          int64_t limit)
{
    const char   *q = query_of(f, sh, x, y);
    struct fnode *fn;
    struct errbuf eb = { 0 };
    struct listq  lq = { .scope = *sc, .limit = limit, .want_total = true };
    struct val    items = val_arr();
    int64_t       total = -1, want_total = 0;
    struct buf    want, got;

    assert_int_equal(filter_parse(f->a, str_c(q), 0, &fn, &eb), E_OK);
    lq.filter = fn;
    if (f->st->ops->list(f->st, CERTS, &lq, f->a, &items, &total, &eb) != E_OK)
        fail_msg("%s: %s", q, eb.msg);
    buf_init(&want, 0);
    buf_init(&got, 0);
    for (size_t i = 0; i < f->n; i++) { /* IDs increase with i: the list's order */
        const struct obj *o = &f->o[i];
        if (live(f, o) && in_scope(sc, o->ns) && model(sh, o, x, y)) {
            if (limit < 0 || want_total < limit)
                buf_printf(&want, "%s ", o->id);
            want_total++;
        }
    }
    for (size_t i = 0; i < items.a.n; i++)
        buf_printf(&got, "%.*s ", STR_FMT(val_get_str(&items.a.v[i], "ID")));
    if (strcmp(buf_cstr(&want), buf_cstr(&got)) != 0)
        fail_msg("%s in %.*s%s:\n got %s\nwant %s", q, STR_FMT(sc->ns),
                 sc->recursive ? " (recursive)" : "", buf_cstr(&got), buf_cstr(&want));
    if (total != want_total)
        fail_msg("%s in %.*s%s: total %lld, want %lld", q, STR_FMT(sc->ns),
                 sc->recursive ? " (recursive)" : "", (long long)total, (long long)want_total);
    buf_free(&want);
    buf_free(&got);
}

static const struct scope scopes[] = {
    { STR("/"), true },   { STR("/"), false },  { STR("/a"), true },
    { STR("/a"), false }, { STR("/c"), false },
};

static void
check_ops(struct fx *f)
{
    for (size_t si = 0; si < ARRAY_LEN(scopes); si++) {
        for (size_t k = 0; k < ARRAY_LEN(needles); k++) {
            check_one(f, &scopes[si], S_HAS, needles[k], NULL, -1);
            check_one(f, &scopes[si], S_HAS_NOT, needles[k], NULL, -1);
        }
        check_one(f, &scopes[si], S_EITHER, "example", "Corp", -1);
        check_one(f, &scopes[si], S_EITHER, "xam", "x", -1);
        check_one(f, &scopes[si], S_BOTH, "example", "api", -1);
        check_one(f, &scopes[si], S_BOTH, "AND", "ab", -1);
    }
}

/* ---- tests -------------------------------------------------------------- */

static void
test_writes_keep_index_exact(void **state)
{
    struct fx  *f = *state;
    char        a[25], c[25];
    const char *ns[] = { "/", "/a", "/c" };

    make_ns(f, "/a", a);
    make_ns(f, "/c", c);
    const char *nsid[] = { "/", a, c };
    add_objects(f, 300, ns, nsid, 3, NULL);
    check_fts_exact(f);
    check_ops(f);

    update_some(f, 120);
    check_fts_exact(f);
    check_ops(f);

    delete_some(f, 60);
    check_fts_exact(f);
    check_ops(f);

    /* A deleted namespace's certificates are no longer found, though their
     * entries stay until the purge, which takes them batch by batch. */
    delete_ns(f, "/a", a);
    check_fts_exact(f);
    check_ops(f);
    purge_ns(f, a);
    check_ops(f);

    /* Created again, it holds only what is written in it from now on. */
    make_ns(f, "/a", a);
    const char *ns2[] = { "/a" }, *nsid2[] = { a };
    add_objects(f, 40, ns2, nsid2, 1, NULL);
    check_fts_exact(f);
    check_ops(f);
}

/* One job that inserts, rewrites and deletes the same rows, the last row's rowid
 * taken again by a new row (twice): the entries follow each row's final state. */
struct mixed {
    struct fx  *f;
    struct obj *o[5];
};

static int
put(struct tx *tx, struct fx *f, struct obj *o, bool insert)
{
    struct val d = doc_of(f, o);

    return insert ? tx->ops->insert(tx, CERTS, &d) : tx->ops->update(tx, CERTS, &d, NULL);
}

static int
do_mixed(struct tx *tx, void *arg)
{
    struct mixed *m = arg;
    /* the last row, which has an entry: its rowid goes to the next new row */
    int rc = tx->ops->del(tx, CERTS, str_c(m->o[4]->id), NULL);

    if (rc == E_OK)
        rc = put(tx, m->f, m->o[0], true);
    if (rc == E_OK) /* a new row rewritten: another value */
        rc = put(tx, m->f, (m->o[0]->cn = "mixed www.example.com", m->o[0]), false);
    if (rc == E_OK) /* rewritten again: no value */
        rc = put(tx, m->f, (m->o[0]->cn = NULL, m->o[0]), false);
    if (rc == E_OK) /* back to a value */
        rc = put(tx, m->f, (m->o[0]->cn = "mixed again", m->o[0]), false);
    if (rc == E_OK)
        rc = put(tx, m->f, m->o[1], true);
    if (rc == E_OK) /* a new row deleted */
        rc = tx->ops->del(tx, CERTS, str_c(m->o[1]->id), NULL);
    if (rc == E_OK) /* its rowid (the last) taken by another */
        rc = put(tx, m->f, m->o[2], true);
    if (rc == E_OK) /* an old row rewritten with the same value */
        rc = put(tx, m->f, m->o[3], false);
    return rc;
}

static int
do_failing(struct tx *tx, void *arg)
{
    struct mixed *m = arg;
    int           rc = put(tx, m->f, m->o[0], true);

    return rc == E_OK ? E_CONFLICT : rc; /* rolled back: the row and its entry */
}

static void
test_one_job_many_changes(void **state)
{
    struct fx   *f = *state;
    const char  *ns[] = { "/" }, *nsid[] = { "/" };
    struct mixed m = { .f = f };

    add_objects(f, 20, ns, nsid, 1, NULL);
    add_objects(f, 1, ns, nsid, 1, "last-");
    m.o[4] = &f->o[f->n - 1];
    m.o[4]->stored = false;
    for (int i = 0; i < 3; i++) {
        struct obj *o = &f->o[f->n++];
        new_id(f, o->id);
        o->ns = "/";
        snprintf(o->nsid, sizeof o->nsid, "/");
        o->cn = arena_printf(f->a, "mixed-%d.example.com", i);
        m.o[i] = o;
    }
    m.o[3] = &f->o[5];
    m.o[0]->stored = m.o[2]->stored = true;
    assert_int_equal(store_run(f->st, do_mixed, &m), E_OK);
    check_fts_exact(f);
    check_ops(f);

    struct obj *o = &f->o[f->n++];
    new_id(f, o->id);
    o->ns = "/";
    snprintf(o->nsid, sizeof o->nsid, "/");
    o->cn = "never stored example";
    m.o[0] = o;
    assert_int_equal(store_run(f->st, do_failing, &m), E_CONFLICT);
    check_fts_exact(f);
    check_ops(f);
}

/* A store made before the index (or before the attribute had one) gets it
 * filled from the rows at the next start. */
static void
test_start_fills_index(void **state)
{
    struct fx    *f = *state;
    const char   *ns[] = { "/" }, *nsid[] = { "/" };
    struct errbuf eb = { 0 };
    sqlite3      *db;

    add_objects(f, 150, ns, nsid, 1, NULL);
    f->st->ops->close(f->st);
    f->st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP TABLE \"" FTS_OF "\"", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    if (store_open(f->uri, &f->st, &eb) != E_OK)
        fail_msg("store_open: %s", eb.msg);
    check_fts_exact(f);
    check_ops(f);
}

/* A value with more candidates than the index answers for is searched by a
 * scan, with the same answers; a rare one still from the index. */
static void
test_common_value(void **state)
{
    struct fx  *f = *state;
    const char *ns[] = { "/" }, *nsid[] = { "/" };

    add_objects(f, 10050, ns, nsid, 1, "common-");
    add_objects(f, 50, ns, nsid, 1, NULL);
    for (size_t si = 0; si < 2; si++) {
        check_one(f, &scopes[si], S_HAS, "common", NULL, 10);
        check_one(f, &scopes[si], S_HAS, "mon-1004", NULL, 10);
        check_one(f, &scopes[si], S_HAS, "example", NULL, 10);
        check_one(f, &scopes[si], S_BOTH, "common", "n-999", -1);
        check_one(f, &scopes[si], S_EITHER, "common-77", "Corp", -1);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writes_keep_index_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_job_many_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_fills_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_common_value, setup, teardown),
    };

    config_defaults(&cfg);
    config_set(&cfg, "sync", "normal", NULL);
    spec_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
