/* sqlite.c - the embedded store: one SQLite file in WAL mode.
 *
 * Readers: every thread gets its own read connection on first use (SQLite
 * connections must not be shared between threads without its mutexes, and with
 * one each, reads never wait on each other). Writer: one connection owned by one
 * thread, which takes every job queued so far, runs them in a single transaction
 * (each in a savepoint) and commits before calling back: one commit (and with
 * sync = full, one fsync) serves many writes (group commit).
 */
#include <pthread.h>
#include <regex.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/buf.h"
#include "../core/codec.h"
#include "../core/config.h"
#include "../core/log.h"
#include "../core/timeutil.h"
#include "sql.h"
#include "store.h"

#define STMT_CACHE 64
#define BATCH_MAX  512
#define SQL_MAX    (64 * 1024)

struct stmt_slot {
    uint64_t      hash;
    char         *sql;
    sqlite3_stmt *st;
};

struct conn {
    sqlite3         *db;
    struct stmt_slot cache[STMT_CACHE];
    unsigned         next_evict;
    struct conn     *next; /* in the store's list of readers */
};

struct sqlite_store {
    struct store    base; /* first: (struct store *) casts are valid */
    char           *path;
    struct conn     writer;
    pthread_key_t   reader_key;
    pthread_mutex_t readers_mu;
    struct conn    *readers;
    pthread_t       thread;
    struct wqueue   q;
};

/* A row whose substring entries are to follow it at the end of its job. */
struct fts_todo {
    const struct spec *s;
    int64_t            rowid;
    bool               fresh; /* inserted, and nothing else, by the job */
};

struct sqlite_tx {
    struct tx            base;
    struct sqlite_store *st;
    struct changelog     log; /* what the open transaction changed */
    struct fts_todo     *fts; /* the running job's rows with substring entries */
    size_t               nfts, capfts;
};

static const struct tx_ops tx_ops;

/* ---- connections and statements ---------------------------------------- */

static void
regfree_and_free(void *p)
{
    regfree(p);
    free(p);
}

static void
regexp_func(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    regex_t    *re = sqlite3_get_auxdata(ctx, 0);
    const char *text = (const char *)sqlite3_value_text(argv[1]);

    KW_UNUSED(argc);
    if (re == NULL) {
        const char *pat = (const char *)sqlite3_value_text(argv[0]);
        re = malloc(sizeof *re);
        if (re == NULL || pat == NULL || regcomp(re, pat, REG_EXTENDED | REG_NOSUB) != 0) {
            free(re);
            sqlite3_result_error(ctx, "invalid regular expression", -1);
            return;
        }
        sqlite3_set_auxdata(ctx, 0, re, regfree_and_free);
        re = sqlite3_get_auxdata(ctx, 0);
        if (re == NULL) /* SQLite chose not to keep it: it already freed it */
            return sqlite3_result_error(ctx, "regex cache", -1);
    }
    sqlite3_result_int(ctx, text != NULL && regexec(re, text, 0, NULL, 0) == 0);
}

static int
conn_open(struct conn *c, const char *path, bool writer, struct errbuf *eb)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);

    memset(c, 0, sizeof *c);
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
        errbuf_set(eb, E_UNAVAILABLE, "%s: %s", path, sqlite3_errmsg(c->db));
        sqlite3_close(c->db);
        c->db = NULL;
        return E_UNAVAILABLE;
    }
    sqlite3_busy_timeout(c->db, 10000);
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_create_function(c->db, "regexp", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                            regexp_func, NULL, NULL);
    /* Page caches stay small: the OS page cache holds the file anyway, and the
     * console's idle memory should stay near 20 MB. */
    const char *pragmas = writer ? "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=OFF;"
                                   "PRAGMA cache_size=-32768;"
                                 : "PRAGMA query_only=1; PRAGMA cache_size=-2048;";
    char       *msg = NULL;
    int         rc;
    /* Switching a new file to WAL takes its lock without the busy handler: a
     * second server opening the same file at that moment is told to retry. */
    for (int tries = 0;
         (rc = sqlite3_exec(c->db, pragmas, NULL, NULL, &msg)) == SQLITE_BUSY && tries < 200;
         tries++) {
        sqlite3_free(msg);
        msg = NULL;
        usleep(50 * 1000);
    }
    if (rc != SQLITE_OK) {
        errbuf_set(eb, E_UNAVAILABLE, "%s: %s", path, msg ? msg : "cannot open");
        sqlite3_free(msg);
        sqlite3_close(c->db);
        c->db = NULL;
        return E_UNAVAILABLE;
    }
    return E_OK;
}

static void
conn_close(struct conn *c)
{
    for (size_t i = 0; i < STMT_CACHE; i++) {
        sqlite3_finalize(c->cache[i].st);
        free(c->cache[i].sql);
    }
    sqlite3_close(c->db);
    memset(c, 0, sizeof *c);
}

/* A prepared statement for `sql` from the connection's cache, reset and with its
 * bindings cleared. NULL on error (logged). */
static uint64_t
sql_hash(const char *sql)
{
    return hash_fnv1a(sql, strlen(sql), 0);
}

static sqlite3_stmt *
conn_stmt(struct conn *c, const char *sql)
{
    uint64_t h = sql_hash(sql);

    for (size_t i = 0; i < STMT_CACHE; i++)
        if (c->cache[i].hash == h && c->cache[i].sql != NULL &&
            strcmp(c->cache[i].sql, sql) == 0) {
            sqlite3_reset(c->cache[i].st);
            sqlite3_clear_bindings(c->cache[i].st);
            return c->cache[i].st;
        }
    struct stmt_slot *slot = &c->cache[c->next_evict++ % STMT_CACHE];
    sqlite3_stmt     *st = NULL;
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        log_error("sqlite: prepare: %s", sqlite3_errmsg(c->db));
        return NULL;
    }
    sqlite3_finalize(slot->st);
    free(slot->sql);
    slot->sql = strdup(sql);
    slot->st = st;
    slot->hash = h;
    if (slot->sql == NULL)
        abort();
    return st;
}

static int
sqlite_err(struct conn *c, int rc, const char *what)
{
    int base = rc & 0xff;

    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return E_DUPLICATE;
    log_error("sqlite: %s: %s", what, sqlite3_errmsg(c->db));
    if (base == SQLITE_BUSY || base == SQLITE_LOCKED || base == SQLITE_IOERR ||
        base == SQLITE_FULL || base == SQLITE_CANTOPEN)
        return E_UNAVAILABLE;
    return E_INTERNAL;
}

/* Run a statement that returns no rows; E_OK or the mapped error. */
static int
step_done(struct conn *c, sqlite3_stmt *stmt, const char *what)
{
    int rc = sqlite3_step(stmt);

    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? E_OK : sqlite_err(c, rc, what);
}

static struct conn *
reader(struct sqlite_store *st)
{
    struct conn  *c = pthread_getspecific(st->reader_key);
    struct errbuf eb;

    if (c != NULL)
        return c;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    if (conn_open(c, st->path, false, &eb) != E_OK) {
        log_error("%s", eb.msg);
        free(c);
        return NULL;
    }
    pthread_mutex_lock(&st->readers_mu);
    c->next = st->readers;
    st->readers = c;
    pthread_mutex_unlock(&st->readers_mu);
    pthread_setspecific(st->reader_key, c);
    return c;
}

/* ---- binding values to columns ----------------------------------------- */

static int
bind_val(sqlite3_stmt *stmt, int idx, const struct attr *at, const struct val *v)
{
    struct buf b;
    int64_t    ms;
    int        rc;

    if (v == NULL || v->t == V_NULL)
        return sqlite3_bind_null(stmt, idx);
    switch (at->type) {
    case T_BOOL:
        return sqlite3_bind_int(stmt, idx, v->t == V_BOOL && v->b);
    case T_INT:
        return sqlite3_bind_int64(stmt, idx, v->t == V_INT ? v->i : 0);
    case T_FLOAT:
        return sqlite3_bind_double(stmt, idx, v->t == V_FLOAT ? v->f : (double)v->i);
    case T_TIME:
        if (v->t != V_STR || time_parse(v->s, &ms) != E_OK)
            return sqlite3_bind_null(stmt, idx);
        return sqlite3_bind_int64(stmt, idx, ms);
    case T_STRING:
        if (v->t != V_STR)
            return sqlite3_bind_null(stmt, idx);
        return sqlite3_bind_text(stmt, idx, v->s.p, (int)v->s.len, SQLITE_TRANSIENT);
    default: /* lists and maps: JSON text, so json_each() can look inside */
        buf_init(&b, SQL_MAX * 16);
        rc = json_encode(v, &b);
        if (rc == E_OK)
            rc = sqlite3_bind_text(stmt, idx, b.p, (int)b.len, SQLITE_TRANSIENT);
        buf_free(&b);
        return rc == E_OK ? SQLITE_OK : SQLITE_TOOBIG;
    }
}

static int
bind_params(sqlite3_stmt *stmt, int first, const struct sqlparams *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        const struct sqlparam *p = &ps->v[i];
        int                    idx = first + (int)i, rc;
        if (p->t == SQLP_INT)
            rc = sqlite3_bind_int64(stmt, idx, p->i);
        else if (p->t == SQLP_FLOAT)
            rc = sqlite3_bind_double(stmt, idx, p->f);
        else
            rc = sqlite3_bind_text(stmt, idx, p->s.p, (int)p->s.len, SQLITE_STATIC);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

static int
decode_doc(sqlite3_stmt *stmt, int col, struct arena *a, struct val *out)
{
    const void   *p = sqlite3_column_blob(stmt, col);
    int           n = sqlite3_column_bytes(stmt, col);
    struct errbuf eb;

    if (msgpack_decode(a, p, (size_t)n, 64, out, &eb) != E_OK) {
        log_error("store: undecodable document: %s", eb.msg);
        return E_INTERNAL;
    }
    return E_OK;
}

/* ---- reads ------------------------------------------------------------- */

static int
run_find(struct conn *c, const struct spec *s, const struct scope *sc, const char *attr,
         struct str value, struct arena *a, struct val *out)
{
    struct buf         sql;
    struct sqlparams   ps = { 0 };
    const struct attr *at = spec_attr(s, str_c(attr));
    int                rc;

    if (at == NULL || !attr_is_column(at))
        return E_INTERNAL;
    buf_init(&sql, SQL_MAX);
    sql_select_one(&sql, s, at, value, sc, SQL_SQLITE, a, &ps);
    sqlite3_stmt *stmt = conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    bind_params(stmt, 1, &ps);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        rc = decode_doc(stmt, 0, a, out);
    else if (rc == SQLITE_DONE)
        rc = E_NOTFOUND;
    else
        rc = sqlite_err(c, rc, "find");
    sqlite3_reset(stmt);
    return rc;
}

static int
st_find(struct store *base, const struct spec *s, const struct scope *sc, const char *attr,
        struct str value, struct arena *a, struct val *out, struct errbuf *eb)
{
    struct conn *c = reader((struct sqlite_store *)base);
    int          rc;

    if (c == NULL)
        return errbuf_set(eb, E_UNAVAILABLE, "store unavailable");
    rc = run_find(c, s, sc, attr, value, a, out);
    if (rc == E_NOTFOUND)
        return errbuf_set(eb, E_NOTFOUND, "Could not find the object");
    if (rc != E_OK)
        return errbuf_set(eb, rc, "store error");
    return E_OK;
}

static int
count_rows(struct conn *c, const char *sql, const struct sqlparams *ps, int64_t *total)
{
    sqlite3_stmt *stmt = conn_stmt(c, sql);
    int           rc;

    if (stmt == NULL)
        return E_INTERNAL;
    bind_params(stmt, 1, ps);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *total = sqlite3_column_int64(stmt, 0);
        rc = E_OK;
    } else
        rc = sqlite_err(c, rc, "count");
    sqlite3_reset(stmt);
    return rc;
}

static struct str
col_str(sqlite3_stmt *stmt, int col, struct arena *a)
{
    const char *p = sqlite3_column_blob(stmt, col);
    size_t      n = (size_t)sqlite3_column_bytes(stmt, col);

    if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
        return STR_NULL;
    return (struct str){ arena_strndup(a, p ? p : "", n), n };
}

/* One column of a projected row as the attribute's value (NULL: absent). */
static int
column_attr(sqlite3_stmt *stmt, int col, const struct attr *at, struct arena *a,
            struct val *out)
{
    struct errbuf eb;
    switch (at->type) {
    case T_BOOL:
        *out = val_bool(sqlite3_column_int64(stmt, col) != 0);
        return E_OK;
    case T_INT:
        *out = val_int(sqlite3_column_int64(stmt, col));
        return E_OK;
    case T_FLOAT:
        *out = val_float(sqlite3_column_double(stmt, col));
        return E_OK;
    case T_TIME:
        *out = val_time(a, sqlite3_column_int64(stmt, col));
        return E_OK;
    case T_STRING:
        *out = val_str(col_str(stmt, col, a));
        return E_OK;
    default: /* lists and maps: JSON text */
        return json_decode(a, (const char *)sqlite3_column_text(stmt, col),
                           (size_t)sqlite3_column_bytes(stmt, col), 64, out, &eb);
    }
}

/* A row as the object's map: its document, or its projected columns. */
static int
read_row(sqlite3_stmt *stmt, const struct listq *q, struct arena *a, struct val *out)
{
    if (q == NULL || q->project == NULL)
        return decode_doc(stmt, 0, a, out);
    *out = val_map();
    for (size_t i = 0; i < q->nproject; i++) {
        struct val v;
        if (sqlite3_column_type(stmt, (int)i) == SQLITE_NULL)
            continue;
        if (column_attr(stmt, (int)i, q->project[i], a, &v) != E_OK)
            return E_INTERNAL;
        val_set(a, out, q->project[i]->name, v);
    }
    return E_OK;
}

static int
fetch_rows(struct conn *c, const char *sql, const struct sqlparams *ps, const struct listq *q,
           struct arena *a, struct val *items)
{
    sqlite3_stmt *stmt = conn_stmt(c, sql);
    int           rc;

    if (stmt == NULL)
        return E_INTERNAL;
    bind_params(stmt, 1, ps);
    *items = val_arr();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct val v;
        if (read_row(stmt, q, a, &v) != E_OK) {
            sqlite3_reset(stmt);
            return E_INTERNAL;
        }
        val_push(a, items, v);
    }
    rc = rc == SQLITE_DONE ? E_OK : sqlite_err(c, rc, "list");
    sqlite3_reset(stmt);
    return rc;
}

/* A substring index answers the search for a rare value: each candidate it names
 * costs a row read, 3-9 us for the count and the page together, where a scan
 * costs 0.3-0.5 us per row of the namespace. A value with this many candidates
 * or more in the index (in every namespace: all are read) is searched by the
 * scan, as before the index: a search from the index costs at most 30-90 ms,
 * and a common value ("example.com") never costs much more than the scan. */
#define FTS_CANDIDATES_MAX 10000

static bool
has_fts(const struct spec *s)
{
    for (size_t i = 0; i < spec_ncolumns(s); i++)
        if (attr_is_substring(spec_column(s, i)))
            return true;
    return false;
}

/* Whether the index holds the value of `f` (a substring contains) fewer than
 * FTS_CANDIDATES_MAX times; a probe that fails says no (the scan is always
 * right). */
static bool
fts_rare(struct conn *c, const struct spec *s, const struct fnode *f, struct arena *a)
{
    struct str    phrase = filter_fts_phrase(a, f->v.s);
    struct buf    sql;
    sqlite3_stmt *stmt;
    bool          rare = false;

    buf_init(&sql, SQL_MAX);
    sql_fts_probe(&sql, s, spec_attr(s, f->field), SQL_SQLITE);
    stmt = conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return false;
    sqlite3_bind_text(stmt, 1, phrase.p, (int)phrase.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, FTS_CANDIDATES_MAX);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        rare = sqlite3_column_int64(stmt, 0) < FTS_CANDIDATES_MAX;
    sqlite3_reset(stmt);
    return rare;
}

/* `f` with each substring contains whose value is not rare marked `scan`,
 * copied where it changes (the caller's tree stays as it is). */
static const struct fnode *
fts_plan(struct conn *c, const struct spec *s, const struct fnode *f, struct arena *a)
{
    struct fnode *n;

    if (f == NULL || !has_fts(s))
        return f;
    if (f->op == F_AND || f->op == F_OR) {
        const struct fnode *l = fts_plan(c, s, f->l, a), *r = fts_plan(c, s, f->r, a);
        if (l == f->l && r == f->r)
            return f;
        return filter_bool(a, f->op, (struct fnode *)l, (struct fnode *)r);
    }
    if (!filter_substring_indexed(f, s) || fts_rare(c, s, f, a))
        return f;
    n = arena_alloc(a, sizeof *n);
    *n = *f;
    n->scan = true;
    return n;
}

static int
st_list(struct store *base, const struct spec *s, const struct listq *lq, struct arena *a,
        struct val *items, int64_t *total, struct errbuf *eb)
{
    struct conn     *c = reader((struct sqlite_store *)base);
    struct buf       sql;
    struct sqlparams ps = { 0 };
    int              rc;

    if (c == NULL)
        return errbuf_set(eb, E_UNAVAILABLE, "store unavailable");
    struct listq planned = *lq, *q = &planned;
    planned.filter = fts_plan(c, s, lq->filter, a);
    buf_init(&sql, SQL_MAX);
    if (q->want_total) {
        rc = sql_count(&sql, s, q, SQL_SQLITE, a, &ps, eb);
        if (rc == E_OK)
            rc = count_rows(c, buf_cstr(&sql), &ps, total);
        buf_reset(&sql);
        ps.n = 0;
    } else
        rc = E_OK;
    if (rc == E_OK)
        rc = sql_select(&sql, s, q, SQL_SQLITE, a, &ps, eb);
    if (rc == E_OK)
        rc = fetch_rows(c, buf_cstr(&sql), &ps, q, a, items);
    buf_free(&sql);
    if (rc != E_OK && (int)eb->code != rc)
        errbuf_set(eb, rc, "store error");
    return rc;
}

static int
st_meta_get(struct store *base, const char *key, struct arena *a, struct str *value)
{
    struct conn  *c = reader((struct sqlite_store *)base);
    sqlite3_stmt *stmt;
    int           rc;

    if (c == NULL || (stmt = conn_stmt(c, "SELECT value FROM meta WHERE key = ?")) == NULL)
        return E_UNAVAILABLE;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const char *p = sqlite3_column_blob(stmt, 0);
        int         n = sqlite3_column_bytes(stmt, 0);
        *value = (struct str){ arena_strndup(a, p ? p : "", (size_t)n), (size_t)n };
        rc = E_OK;
    } else
        rc = rc == SQLITE_DONE ? E_NOTFOUND : sqlite_err(c, rc, "meta");
    sqlite3_reset(stmt);
    return rc;
}

static bool
st_ping(struct store *base)
{
    struct conn  *c = reader((struct sqlite_store *)base);
    sqlite3_stmt *stmt;
    bool          ok;

    if (c == NULL || (stmt = conn_stmt(c, "SELECT 1 FROM meta LIMIT 1")) == NULL)
        return false;
    int rc = sqlite3_step(stmt);
    ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
    sqlite3_reset(stmt);
    return ok;
}

/* ---- the transaction's operations (writer thread only) ------------------ */

static struct conn *
txc(struct tx *tx)
{
    return &((struct sqlite_tx *)tx)->st->writer;
}

static int
exec_simple(struct conn *c, const char *sql)
{
    sqlite3_stmt *stmt = conn_stmt(c, sql);

    return stmt == NULL ? E_INTERNAL : step_done(c, stmt, sql);
}

static int
tx_find(struct tx *tx, const struct spec *s, const struct scope *sc, const char *attr,
        struct str value, struct arena *a, struct val *out)
{
    return run_find(txc(tx), s, sc, attr, value, a, out);
}

static int
tx_list(struct tx *tx, const struct spec *s, const struct listq *q, struct arena *a,
        struct val *items)
{
    struct buf       sql;
    struct sqlparams ps = { 0 };
    struct errbuf    eb;
    int              rc;

    buf_init(&sql, SQL_MAX);
    rc = sql_select(&sql, s, q, SQL_SQLITE, a, &ps, &eb);
    if (rc == E_OK)
        rc = fetch_rows(txc(tx), buf_cstr(&sql), &ps, q, a, items);
    buf_free(&sql);
    return rc;
}

/* Bind every column of `obj` in spec order, then its document. Returns the next
 * parameter index, or -1 on error. */
static int
bind_row(sqlite3_stmt *stmt, const struct spec *s, const struct val *obj)
{
    struct buf doc;
    int        idx = 1;

    for (size_t i = 0; i < spec_ncolumns(s); i++) {
        const struct attr *at = spec_column(s, i);
        if (bind_val(stmt, idx++, at, val_get(obj, at->name)) != SQLITE_OK)
            return -1;
    }
    buf_init(&doc, SIZE_MAX / 2);
    if (msgpack_encode(obj, &doc) != E_OK ||
        sqlite3_bind_blob(stmt, idx++, doc.p, (int)doc.len, SQLITE_TRANSIENT) != SQLITE_OK)
        idx = -1;
    buf_free(&doc);
    return idx;
}

typedef void side_sql_fn(struct buf *, const struct spec *, const struct attr *,
                         enum sql_dialect);

/* Run once the statement `gen` makes for attribute `at` of `s`, with `ps`. */
static int
run_generated(struct conn *c, side_sql_fn *gen, const struct spec *s, const struct attr *at,
              const struct sqlparams *ps, const char *what)
{
    struct buf    sql;
    sqlite3_stmt *stmt;

    buf_init(&sql, SQL_MAX);
    gen(&sql, s, at, SQL_SQLITE);
    stmt = conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    if (bind_params(stmt, 1, ps) != SQLITE_OK) {
        sqlite3_reset(stmt);
        return E_INTERNAL;
    }
    return step_done(c, stmt, what);
}

/* Run the side-table statement `gen` makes for each queryable list attribute of
 * `s`, with the parameters `ps`. */
static int
side_each(struct conn *c, const struct spec *s, side_sql_fn *gen, const struct sqlparams *ps,
          const struct val *obj)
{
    for (size_t i = 0; i < spec_ncolumns(s); i++) {
        const struct attr *at = spec_column(s, i);
        int                rc;
        if (!attr_is_indexed_list(at))
            continue;
        if (obj != NULL) { /* inserting `obj`'s elements: none, nothing to do */
            const struct val *l = val_get(obj, at->name);
            if (l == NULL || l->t != V_ARR || l->a.n == 0)
                continue;
        }
        if ((rc = run_generated(c, gen, s, at, ps, "list attribute")) != E_OK)
            return rc;
    }
    return E_OK;
}

static int
side_by_id(struct conn *c, const struct spec *s, struct str id, side_sql_fn *gen,
           const struct val *obj)
{
    struct sqlparam p = { .t = SQLP_TEXT, .s = id };

    return side_each(c, s, gen, &(struct sqlparams){ &p, 1, 1 }, obj);
}

/* The elements of one list attribute of `obj`, one prepared insert each: no
 * JSON parsing and no join (reading them back from the row just written made
 * a create three times slower). */
static int
side_insert_list(struct conn *c, const struct spec *s, const struct attr *at,
                 const struct val *obj)
{
    const struct val *l = val_get(obj, at->name);
    struct str        ns = val_get_str(obj, "namespace"), id = val_get_str(obj, "ID");
    struct buf        sql;
    sqlite3_stmt     *stmt;
    int               rc = E_OK;

    if (l == NULL || l->t != V_ARR || l->a.n == 0)
        return E_OK;
    buf_init(&sql, SQL_MAX);
    sql_side_insert_one(&sql, s, at, SQL_SQLITE);
    stmt = conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    for (size_t i = 0; i < l->a.n && rc == E_OK; i++) {
        if (l->a.v[i].t != V_STR)
            continue;
        sqlite3_bind_text(stmt, 1, l->a.v[i].s.p, (int)l->a.v[i].s.len, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, ns.p, (int)ns.len, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, id.p, (int)id.len, SQLITE_STATIC);
        rc = step_done(c, stmt, "list attribute");
    }
    return rc;
}

/* The side rows follow the row just written: an update first drops the old
 * elements, then both insert the object's elements. */
static int
write_side(struct conn *c, const struct spec *s, const struct val *obj, bool insert)
{
    struct str id = val_get_str(obj, "ID");
    int        rc = E_OK;

    if (!insert)
        rc = side_by_id(c, s, id, sql_side_delete, NULL);
    for (size_t i = 0; i < spec_ncolumns(s) && rc == E_OK; i++)
        if (attr_is_indexed_list(spec_column(s, i)))
            rc = side_insert_list(c, s, spec_column(s, i), obj);
    return rc;
}

/* ---- substring indexes (sql.h sql_fts_*) --------------------------------- */

/* Run the statement `gen` makes for each substring index of `s`, with `ps`. */
static int
fts_each(struct conn *c, const struct spec *s, side_sql_fn *gen, const struct sqlparams *ps)
{
    for (size_t i = 0; i < spec_ncolumns(s); i++) {
        int rc;
        if (!attr_is_substring(spec_column(s, i)))
            continue;
        if ((rc = run_generated(c, gen, s, spec_column(s, i), ps, "substring index")) != E_OK)
            return rc;
    }
    return E_OK;
}

/* The rowid of the row whose ID is `id` (its entries' rowid): E_NOTFOUND when
 * there is none. */
static int
rowid_of(struct conn *c, const struct spec *s, struct str id, int64_t *rowid)
{
    struct buf    sql;
    sqlite3_stmt *stmt;
    int           rc;

    buf_init(&sql, SQL_MAX);
    sql_rowid_by_id(&sql, s, SQL_SQLITE);
    stmt = conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, id.p, (int)id.len, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *rowid = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW    ? E_OK
           : rc == SQLITE_DONE ? E_NOTFOUND
                               : sqlite_err(c, rc, "rowid");
}

/* The statement `gen` makes for `at`, with the rowid bound as ?1. */
static sqlite3_stmt *
fts_stmt(struct conn *c, const struct spec *s, const struct attr *at, side_sql_fn *gen,
         int64_t rowid)
{
    struct buf    sql;
    sqlite3_stmt *stmt;

    buf_init(&sql, SQL_MAX);
    gen(&sql, s, at, SQL_SQLITE);
    stmt = conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt != NULL)
        sqlite3_bind_int64(stmt, 1, rowid);
    return stmt;
}

/* True (1) when `at` has an entry for `rowid`, 0 when not, or -(the error). */
static int
fts_has(struct conn *c, const struct spec *s, const struct attr *at, int64_t rowid)
{
    sqlite3_stmt *stmt = fts_stmt(c, s, at, sql_fts_has, rowid);
    int           rc;

    if (stmt == NULL)
        return -E_INTERNAL;
    rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -sqlite_err(c, rc, "substring index");
}

/* The row's value of `at` (a copy to free), or NULL when it has none (or is gone). */
static int
fts_value(struct conn *c, const struct spec *s, const struct attr *at, int64_t rowid,
          char **out, int *len)
{
    sqlite3_stmt *stmt = fts_stmt(c, s, at, sql_fts_value, rowid);
    int           rc;

    *out = NULL;
    if (stmt == NULL)
        return E_INTERNAL;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) == SQLITE_TEXT) {
        *len = sqlite3_column_bytes(stmt, 0);
        if ((*out = malloc((size_t)*len + 1)) == NULL)
            abort();
        memcpy(*out, sqlite3_column_text(stmt, 0), (size_t)*len + 1);
    }
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? E_OK : sqlite_err(c, rc, "substring index");
}

/* The entry of `at` for the row `rowid` made to hold the row's value: a stale one
 * dropped, a missing one added (a `fresh` row has none yet). */
static int
fts_row(struct conn *c, const struct spec *s, const struct attr *at, int64_t rowid, bool fresh)
{
    sqlite3_stmt *stmt;
    char         *v;
    int           rc, len = 0;

    if (!fresh) {
        if ((stmt = fts_stmt(c, s, at, sql_fts_drop_stale, rowid)) == NULL)
            return E_INTERNAL;
        if ((rc = step_done(c, stmt, "substring index")) != E_OK)
            return rc;
        if ((rc = fts_has(c, s, at, rowid)) != 0)
            return rc > 0 ? E_OK : -rc; /* it holds the value already */
    }
    if ((rc = fts_value(c, s, at, rowid, &v, &len)) != E_OK || v == NULL)
        return rc;
    if ((stmt = fts_stmt(c, s, at, sql_fts_insert, rowid)) == NULL)
        rc = E_INTERNAL;
    else {
        sqlite3_bind_text(stmt, 2, v, len, SQLITE_STATIC);
        rc = step_done(c, stmt, "substring index");
    }
    free(v);
    return rc;
}

/* A row written or deleted by the running job: its entries follow it when the
 * job ends (fts_apply). Not at once: in SQLite 3.40, FTS5 writes its pending
 * entries out at every statement savepoint, which the row inserts open, so
 * entries written one by one between them became a segment each (an import
 * spent a tenth of its time there); written together, they are one. */
static void
fts_later(struct tx *tx, const struct spec *s, int64_t rowid, bool fresh)
{
    struct sqlite_tx *t = (struct sqlite_tx *)tx;

    if (t->nfts == t->capfts) {
        t->capfts = t->capfts ? t->capfts * 2 : 64;
        if ((t->fts = realloc(t->fts, t->capfts * sizeof *t->fts)) == NULL)
            abort();
    }
    t->fts[t->nfts++] = (struct fts_todo){ s, rowid, fresh };
}

static int
cmp_todo(const void *x, const void *y)
{
    const struct fts_todo *a = x, *b = y;

    if (a->s != b->s)
        return a->s->rt->index < b->s->rt->index ? -1 : 1;
    return a->rowid < b->rowid ? -1 : a->rowid > b->rowid;
}

/* The end of a job: each row it touched gets the entries its final state needs
 * (a row the job only inserted, just added; any other made to agree). */
static int
fts_apply(struct sqlite_tx *t)
{
    struct conn *c = &t->st->writer;
    int          rc = E_OK;

    qsort(t->fts, t->nfts, sizeof *t->fts, cmp_todo);
    for (size_t i = 0, k; i < t->nfts && rc == E_OK; i = k) {
        const struct spec *s = t->fts[i].s;
        bool               fresh = t->fts[i].fresh;
        for (k = i + 1; k < t->nfts && cmp_todo(&t->fts[i], &t->fts[k]) == 0; k++)
            fresh = false;
        for (size_t a = 0; a < spec_ncolumns(s) && rc == E_OK; a++)
            if (attr_is_substring(spec_column(s, a)))
                rc = fts_row(c, s, spec_column(s, a), t->fts[i].rowid, fresh);
    }
    t->nfts = 0;
    return rc;
}

static void
bind_cond(sqlite3_stmt *stmt, int idx, const struct write_cond *wc)
{
    struct str t = wc != NULL ? wc->update_time : STR_NULL;
    int64_t    ms;

    /* Time columns hold milliseconds; an unparsable time matches nothing. */
    if (t.len == 0)
        sqlite3_bind_null(stmt, idx);
    else
        sqlite3_bind_int64(stmt, idx, time_parse(t, &ms) == E_OK ? ms : INT64_MIN);
    sqlite3_bind_int(stmt, idx + 1, wc == NULL || wc->override);
}

static int
write_row(struct tx *tx, const struct spec *s, const struct val *obj, bool insert,
          const struct write_cond *wc)
{
    struct conn  *c = txc(tx);
    struct buf    sql;
    sqlite3_stmt *stmt;
    int           idx, rc;

    buf_init(&sql, SQL_MAX);
    if (insert)
        sql_insert(&sql, s, SQL_SQLITE);
    else
        sql_update(&sql, s, SQL_SQLITE);
    stmt = conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    idx = bind_row(stmt, s, obj);
    if (idx < 0)
        return E_INTERNAL;
    if (!insert) {
        const struct val *id = val_get(obj, "ID");
        if (id == NULL || id->t != V_STR)
            return E_INTERNAL;
        sqlite3_bind_text(stmt, idx++, id->s.p, (int)id->s.len, SQLITE_STATIC);
    }
    const struct val *ns = val_get(obj, "namespace");
    if (ns == NULL || ns->t != V_STR)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, idx++, ns->s.p, (int)ns->s.len, SQLITE_STATIC);
    if (!insert)
        bind_cond(stmt, idx, wc);
    rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE)
        return sqlite_err(c, rc, insert ? "insert" : "update");
    /* Nothing written: no such object (update), or its namespace is gone. */
    if (sqlite3_changes(c->db) == 0)
        return E_NOTFOUND;
    int64_t rowid = sqlite3_last_insert_rowid(c->db);
    rc = write_side(c, s, obj, insert);
    if (rc != E_OK || !has_fts(s))
        return rc;
    if (!insert && (rc = rowid_of(c, s, val_get_str(obj, "ID"), &rowid)) != E_OK)
        return rc == E_NOTFOUND ? E_INTERNAL : rc;
    fts_later(tx, s, rowid, insert);
    return E_OK;
}

static void
log_change(struct tx *tx, const struct spec *s, struct str id, const struct val *obj)
{
    /* A copy of the value: callers pass objects on their stack. */
    changelog_add(&((struct sqlite_tx *)tx)->log,
                  &(struct change){ .s = s, .id = id, .obj = obj != NULL ? *obj : val_null() });
}

static int
tx_insert(struct tx *tx, const struct spec *s, const struct val *obj)
{
    int rc = write_row(tx, s, obj, true, NULL);

    if (rc == E_OK)
        log_change(tx, s, val_get_str(obj, "ID"), obj);
    return rc;
}

static int
tx_update(struct tx *tx, const struct spec *s, const struct val *obj,
          const struct write_cond *wc)
{
    int rc = write_row(tx, s, obj, false, wc);

    if (rc == E_OK)
        log_change(tx, s, val_get_str(obj, "ID"), obj);
    else if (rc == E_NOTFOUND)
        rc = store_why_unchanged(tx, s, val_get_str(obj, "ID"), wc);
    return rc;
}

static int
tx_del(struct tx *tx, const struct spec *s, struct str id, const struct write_cond *wc)
{
    struct conn  *c = txc(tx);
    struct buf    sql;
    sqlite3_stmt *stmt;
    int64_t       rowid = 0;
    int           rc;

    /* The rowid names the row's substring entries, gone with it below. */
    if (has_fts(s) && (rc = rowid_of(c, s, id, &rowid)) != E_OK)
        return rc == E_NOTFOUND ? store_why_unchanged(tx, s, id, wc) : rc;
    buf_init(&sql, SQL_MAX);
    sql_delete(&sql, s, SQL_SQLITE);
    stmt = conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, id.p, (int)id.len, SQLITE_STATIC);
    bind_cond(stmt, 2, wc);
    rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE)
        return sqlite_err(c, rc, "delete");
    if (sqlite3_changes(c->db) == 0)
        return store_why_unchanged(tx, s, id, wc);
    if ((rc = side_by_id(c, s, id, sql_side_delete, NULL)) != E_OK)
        return rc;
    if (has_fts(s))
        fts_later(tx, s, rowid, false);
    log_change(tx, s, id, NULL);
    return E_OK;
}

/* The IDs of the namespaces below `ns` (they go with it), into `gone`. */
static int
subtree_ids(struct conn *c, struct str ns, struct arena *a, struct val *gone)
{
    struct buf       sql;
    struct sqlparams ps = { 0 };
    struct scope     sc = { ns, true };
    sqlite3_stmt    *stmt;
    int              r;

    buf_init(&sql, SQL_MAX);
    sql_select_namespace_ids(&sql, &sc, SQL_SQLITE, a, &ps);
    stmt = conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    bind_params(stmt, 1, &ps);
    while ((r = sqlite3_step(stmt)) == SQLITE_ROW)
        val_push(a, gone,
                 val_str(arena_str(a, str_c((const char *)sqlite3_column_text(stmt, 0)))));
    sqlite3_reset(stmt);
    return r == SQLITE_DONE ? E_OK : sqlite_err(c, r, "delete subtree");
}

static int
exec_params(struct conn *c, struct buf *sql, const struct sqlparams *ps, const char *what)
{
    sqlite3_stmt *stmt = conn_stmt(c, buf_cstr(sql));
    int           r;

    buf_free(sql);
    if (stmt == NULL)
        return E_INTERNAL;
    bind_params(stmt, 1, ps);
    r = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return r == SQLITE_DONE ? E_OK : sqlite_err(c, r, what);
}

static int
tx_del_subtree(struct tx *tx, struct str ns, struct arena *ga, struct val *gone)
{
    struct conn  *c = txc(tx);
    struct arena *a = arena_new(1024);
    int           rc = subtree_ids(c, ns, ga, gone);

    /* Bulk specs' rows stay until the namespace.purge job: invisible from now on,
     * since the namespaces they name are gone. */
    for (size_t i = 0; i < spec_count && rc == E_OK; i++) {
        const struct spec *s = spec_all[i];
        struct buf         sql;
        struct sqlparams   ps = { 0 };
        struct scope       sc = { ns, true };
        if (s->not_namespaced || s->bulk)
            continue;
        for (size_t k = 0; k < spec_ncolumns(s) && rc == E_OK; k++) {
            const struct attr *at = spec_column(s, k);
            if (!attr_is_indexed_list(at) && !attr_is_substring(at))
                continue;
            ps.n = 0;
            buf_init(&sql, SQL_MAX);
            if (attr_is_substring(at))
                sql_fts_delete_scope(&sql, s, at, &sc, SQL_SQLITE, a, &ps);
            else
                sql_side_delete_scope(&sql, s, at, &sc, SQL_SQLITE, a, &ps);
            rc = exec_params(c, &sql, &ps, "delete subtree");
        }
        if (rc != E_OK)
            break;
        ps.n = 0;
        buf_init(&sql, SQL_MAX);
        sql_delete_scope(&sql, s, &sc, SQL_SQLITE, a, &ps);
        rc = exec_params(c, &sql, &ps, "delete subtree");
    }
    arena_free(a);
    if (rc == E_OK)
        changelog_add(&((struct sqlite_tx *)tx)->log, &(struct change){ .ns = ns });
    return rc;
}

static int
tx_purge_nsid(struct tx *tx, const struct spec *s, struct str nsid, int64_t limit,
              int64_t *deleted)
{
    struct conn  *c = txc(tx);
    struct buf    sql;
    sqlite3_stmt *stmt;
    int           r;

    /* Side rows first: their statement picks the batch's rows by the same order
     * and limit as the main delete, so exactly those rows' elements go. */
    struct sqlparam p[2] = { { .t = SQLP_TEXT, .s = nsid }, { .t = SQLP_INT, .i = limit } };
    if ((r = side_each(c, s, sql_side_purge_nsid, &(struct sqlparams){ p, 2, 2 }, NULL)) !=
            E_OK ||
        (r = fts_each(c, s, sql_fts_purge_nsid, &(struct sqlparams){ p, 2, 2 })) != E_OK)
        return r;
    buf_init(&sql, SQL_MAX);
    sql_purge_nsid(&sql, s, SQL_SQLITE);
    stmt = conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, nsid.p, (int)nsid.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, limit);
    r = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (r != SQLITE_DONE)
        return sqlite_err(c, r, "purge");
    *deleted = sqlite3_changes(c->db);
    return E_OK;
}

static int
tx_meta_put(struct tx *tx, const char *key, struct str value)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = conn_stmt(c, "INSERT INTO meta (key, value) VALUES (?, ?) "
                                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value");

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, value.p, (int)value.len, SQLITE_STATIC);
    return step_done(c, stmt, "meta put");
}

static int
tx_idem_get(struct tx *tx, struct str key, struct arena *a, struct str *fp, int *status,
            struct str *body)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = conn_stmt(c, "SELECT fingerprint, status, body FROM idempotency "
                                      "WHERE key = ? AND expires > ?");
    int           rc;

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, key.p, (int)key.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, time_now_ms());
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const char *f = (const char *)sqlite3_column_text(stmt, 0);
        const char *b = sqlite3_column_blob(stmt, 2);
        size_t      bn = (size_t)sqlite3_column_bytes(stmt, 2);
        *fp = arena_str(a, str_c(f));
        *status = sqlite3_column_int(stmt, 1);
        *body = (struct str){ arena_strndup(a, b ? b : "", bn), bn };
        rc = E_OK;
    } else
        rc = rc == SQLITE_DONE ? E_NOTFOUND : sqlite_err(c, rc, "idempotency get");
    sqlite3_reset(stmt);
    return rc;
}

static int
tx_idem_put(struct tx *tx, struct str key, struct str fp, int status, struct str body,
            int64_t expires)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = conn_stmt(c, "INSERT OR REPLACE INTO idempotency "
                                      "(key, fingerprint, status, body, expires) "
                                      "VALUES (?, ?, ?, ?, ?)");

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, key.p, (int)key.len, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, fp.p, (int)fp.len, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, status);
    sqlite3_bind_blob(stmt, 4, body.p, (int)body.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, expires);
    return step_done(c, stmt, "idempotency put");
}

static int
tx_quota_spend(struct tx *tx, struct str jti, int64_t quota, int64_t expires)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = conn_stmt(c, "INSERT INTO token_uses (jti, used, expires) "
                                      "VALUES (?1, 1, ?3) ON CONFLICT (jti) DO UPDATE "
                                      "SET used = used + 1 WHERE used < ?2");
    int           rc;

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, jti.p, (int)jti.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, quota);
    sqlite3_bind_int64(stmt, 3, expires);
    rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE)
        return sqlite_err(c, rc, "quota");
    return sqlite3_changes(c->db) == 0 ? E_QUOTA : E_OK;
}

static int
tx_eph_put(struct tx *tx, struct str key, struct str value, int64_t expires)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = conn_stmt(c, "INSERT OR REPLACE INTO ephemeral (key, value, expires) "
                                      "VALUES (?, ?, ?)");

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, key.p, (int)key.len, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, value.p, (int)value.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, expires);
    return step_done(c, stmt, "ephemeral put");
}

static int
tx_eph_take(struct tx *tx, struct str key, struct arena *a, struct str *value)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = conn_stmt(c, "DELETE FROM ephemeral WHERE key = ? AND expires > ? "
                                      "RETURNING value");
    int           rc;

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, key.p, (int)key.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, time_now_ms());
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const char *p = sqlite3_column_blob(stmt, 0);
        size_t      n = (size_t)sqlite3_column_bytes(stmt, 0);
        *value = (struct str){ arena_strndup(a, p ? p : "", n), n };
        rc = sqlite3_step(stmt) == SQLITE_DONE ? E_OK : E_INTERNAL;
    } else
        rc = rc == SQLITE_DONE ? E_NOTFOUND : sqlite_err(c, rc, "ephemeral take");
    sqlite3_reset(stmt);
    return rc;
}

static int
tx_purge(struct tx *tx, const struct spec *s, int64_t before)
{
    struct conn    *c = txc(tx);
    struct buf      sql;
    sqlite3_stmt   *stmt;
    struct sqlparam p = { .t = SQLP_INT, .i = before };
    int             rc = side_each(c, s, sql_side_purge, &(struct sqlparams){ &p, 1, 1 }, NULL);

    if (rc == E_OK)
        rc = fts_each(c, s, sql_fts_purge, &(struct sqlparams){ &p, 1, 1 });
    if (rc != E_OK)
        return rc;
    buf_init(&sql, SQL_MAX);
    sql_purge(&sql, s, SQL_SQLITE);
    stmt = conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_int64(stmt, 1, before);
    return step_done(c, stmt, "purge");
}

static int
tx_expire(struct tx *tx, int64_t now)
{
    struct conn *c = txc(tx);
    const char  *q[] = { "DELETE FROM idempotency WHERE expires <= ?",
                         "DELETE FROM token_uses WHERE expires <= ?",
                         "DELETE FROM ephemeral WHERE expires <= ?" };

    for (size_t i = 0; i < ARRAY_LEN(q); i++) {
        sqlite3_stmt *stmt = conn_stmt(c, q[i]);
        if (stmt == NULL)
            return E_INTERNAL;
        sqlite3_bind_int64(stmt, 1, now);
        int rc = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (rc != SQLITE_DONE)
            return sqlite_err(c, rc, "expire");
    }
    return E_OK;
}

/* ---- work items (see store.h) -------------------------------------------- */

/* The columns job_row_read() expects, in its order. */
#define JOB_COLS                                                                               \
    "id, kind, key, payload, state, run_at, attempts, lease_ms, lease_owner, "                 \
    "lease_until, last_error, progress, created, updated"

static void
job_row_read(sqlite3_stmt *stmt, struct arena *a, struct job_row *r)
{
    r->id = sqlite3_column_int64(stmt, 0);
    r->kind = col_str(stmt, 1, a);
    r->key = col_str(stmt, 2, a);
    r->payload = col_str(stmt, 3, a);
    r->state = job_state_parse((const char *)sqlite3_column_text(stmt, 4));
    r->run_at = sqlite3_column_int64(stmt, 5);
    r->attempts = sqlite3_column_int64(stmt, 6);
    r->lease_ms = sqlite3_column_int64(stmt, 7);
    r->owner = col_str(stmt, 8, a);
    r->lease_until = sqlite3_column_int64(stmt, 9);
    r->last_error = col_str(stmt, 10, a);
    r->progress = col_str(stmt, 11, a);
    r->created = sqlite3_column_int64(stmt, 12);
    r->updated = sqlite3_column_int64(stmt, 13);
}

static void
bind_str_or_null(sqlite3_stmt *stmt, int idx, struct str s)
{
    if (s.p == NULL)
        sqlite3_bind_null(stmt, idx);
    else
        sqlite3_bind_text(stmt, idx, s.p, (int)s.len, SQLITE_STATIC);
}

/* At most one live item per (kind, key): a queued one becomes due at the
 * earlier time, a running one is left alone, a finished one starts again.
 * (In an upsert's SET every right-hand side sees the old row.) */
static int
tx_job_enqueue(struct tx *tx, const struct job_new *j, int64_t now, int64_t *id)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = conn_stmt(
        c, "INSERT INTO jobs (kind, key, payload, state, run_at, attempts, lease_ms, created,"
           " updated) VALUES (?1, ?2, ?3, 'queued', ?4, 0, ?5, ?6, ?6)"
           " ON CONFLICT (kind, key) DO UPDATE SET"
           " payload = CASE WHEN state IN ('done', 'failed') THEN excluded.payload"
           "  ELSE payload END,"
           " run_at = CASE WHEN state IN ('done', 'failed') THEN excluded.run_at"
           "  WHEN state = 'queued' THEN min(run_at, excluded.run_at) ELSE run_at END,"
           " attempts = CASE WHEN state IN ('done', 'failed') THEN 0 ELSE attempts END,"
           " state = CASE WHEN state IN ('done', 'failed') THEN 'queued' ELSE state END,"
           " lease_ms = excluded.lease_ms, updated = excluded.updated"
           " RETURNING id");
    int rc;

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, j->kind, -1, SQLITE_STATIC);
    bind_str_or_null(stmt, 2, j->key);
    sqlite3_bind_blob(stmt, 3, j->payload.p ? j->payload.p : "", (int)j->payload.len,
                      SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, j->run_at);
    sqlite3_bind_int64(stmt, 5, j->lease_ms);
    sqlite3_bind_int64(stmt, 6, now);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        if (id != NULL)
            *id = sqlite3_column_int64(stmt, 0);
        rc = sqlite3_step(stmt) == SQLITE_DONE ? E_OK : E_INTERNAL;
        if (rc == E_OK)
            changelog_add(&((struct sqlite_tx *)tx)->log, &(struct change){ .job = true });
    } else
        rc = sqlite_err(c, rc, "job enqueue");
    sqlite3_reset(stmt);
    return rc;
}

/* The kinds are bound as one JSON array (json_each), so the statement is
 * prepared once whatever their number. */
static int
tx_job_claim(struct tx *tx, const char *const *kinds, size_t nkinds, const struct job_lease *l,
             int64_t now, struct arena *a, struct job_row *out)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = conn_stmt(
        c,
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?1,"
        " lease_token = ?2, lease_until = ?3 + lease_ms, run_at = ?3 + lease_ms, updated = ?3"
        " WHERE id = (SELECT id FROM jobs WHERE state IN ('queued', 'running')"
        "  AND run_at <= ?3 AND kind IN (SELECT value FROM json_each(?4))"
        "  ORDER BY run_at, id LIMIT 1)"
        " RETURNING " JOB_COLS);
    struct val list = val_arr();
    struct buf json;
    int        rc;

    if (stmt == NULL)
        return E_INTERNAL;
    for (size_t i = 0; i < nkinds; i++)
        val_push(a, &list, val_cstr(kinds[i]));
    buf_init(&json, SQL_MAX);
    if (json_encode(&list, &json) != E_OK) {
        buf_free(&json);
        return E_INTERNAL;
    }
    sqlite3_bind_text(stmt, 1, l->owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, l->token);
    sqlite3_bind_int64(stmt, 3, now);
    sqlite3_bind_text(stmt, 4, json.p, (int)json.len, SQLITE_TRANSIENT);
    buf_free(&json);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        job_row_read(stmt, a, out);
        rc = sqlite3_step(stmt) == SQLITE_DONE ? E_OK : E_INTERNAL;
    } else
        rc = rc == SQLITE_DONE ? E_NOTFOUND : sqlite_err(c, rc, "job claim");
    sqlite3_reset(stmt);
    return rc;
}

static int
tx_job_renew(struct tx *tx, const struct job_lease *l, int64_t until, struct str progress)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = conn_stmt(
        c, "UPDATE jobs SET lease_until = ?4, run_at = ?4, progress = coalesce(?5, progress),"
           " updated = ?6 WHERE id = ?1 AND state = 'running' AND lease_owner = ?2"
           " AND lease_token = ?3");
    int rc;

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_int64(stmt, 1, l->id);
    sqlite3_bind_text(stmt, 2, l->owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, l->token);
    sqlite3_bind_int64(stmt, 4, until);
    bind_str_or_null(stmt, 5, progress);
    sqlite3_bind_int64(stmt, 6, time_now_ms());
    rc = step_done(c, stmt, "job renew");
    if (rc != E_OK)
        return rc;
    return sqlite3_changes(c->db) == 0 ? E_CONFLICT : E_OK;
}

/* The last owner stays (who ran it last); the token goes, so the claim is over. */
static int
tx_job_finish(struct tx *tx, const struct job_lease *l, const struct job_end *e,
              struct str progress)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = conn_stmt(
        c, "UPDATE jobs SET state = ?4, run_at = ?5, attempts = ?6, last_error = ?7,"
           " progress = coalesce(?8, progress), lease_token = NULL, lease_until = NULL,"
           " updated = ?9 WHERE id = ?1 AND state = 'running' AND lease_owner = ?2"
           " AND lease_token = ?3");
    int rc;

    if (stmt == NULL || e->state == JOB_RUNNING)
        return E_INTERNAL;
    sqlite3_bind_int64(stmt, 1, l->id);
    sqlite3_bind_text(stmt, 2, l->owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, l->token);
    sqlite3_bind_text(stmt, 4, job_state_name(e->state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, e->run_at);
    sqlite3_bind_int64(stmt, 6, e->attempts);
    bind_str_or_null(stmt, 7, e->error);
    bind_str_or_null(stmt, 8, progress);
    sqlite3_bind_int64(stmt, 9, time_now_ms());
    rc = step_done(c, stmt, "job finish");
    if (rc != E_OK)
        return rc;
    return sqlite3_changes(c->db) == 0 ? E_CONFLICT : E_OK;
}

static int
tx_job_purge(struct tx *tx, int64_t before)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = conn_stmt(c, "DELETE FROM jobs WHERE state IN ('done', 'failed')"
                                      " AND updated < ?");

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_int64(stmt, 1, before);
    return step_done(c, stmt, "job purge");
}

static int
st_job_next(struct store *base, int64_t *when)
{
    struct conn  *c = reader((struct sqlite_store *)base);
    sqlite3_stmt *stmt;
    int           rc;

    if (c == NULL || (stmt = conn_stmt(c, "SELECT min(run_at) FROM jobs"
                                          " WHERE state IN ('queued', 'running')")) == NULL)
        return E_UNAVAILABLE;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
        *when = sqlite3_column_int64(stmt, 0);
        rc = E_OK;
    } else
        rc = rc == SQLITE_ROW ? E_NOTFOUND : sqlite_err(c, rc, "job next");
    sqlite3_reset(stmt);
    return rc;
}

static int
st_job_get(struct store *base, const char *kind, struct str key, struct arena *a,
           struct job_row *out)
{
    struct conn  *c = reader((struct sqlite_store *)base);
    sqlite3_stmt *stmt;
    int           rc;

    if (c == NULL || (stmt = conn_stmt(c, "SELECT " JOB_COLS
                                          " FROM jobs WHERE kind = ? AND key = ?")) == NULL)
        return E_UNAVAILABLE;
    sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, key.p, (int)key.len, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        job_row_read(stmt, a, out);
        rc = E_OK;
    } else
        rc = rc == SQLITE_DONE ? E_NOTFOUND : sqlite_err(c, rc, "job get");
    sqlite3_reset(stmt);
    return rc;
}

static const struct tx_ops tx_ops = {
    .find = tx_find,
    .list = tx_list,
    .insert = tx_insert,
    .update = tx_update,
    .del = tx_del,
    .del_subtree = tx_del_subtree,
    .purge_nsid = tx_purge_nsid,
    .meta_put = tx_meta_put,
    .idem_get = tx_idem_get,
    .idem_put = tx_idem_put,
    .quota_spend = tx_quota_spend,
    .eph_put = tx_eph_put,
    .eph_take = tx_eph_take,
    .purge = tx_purge,
    .expire = tx_expire,
    .job_enqueue = tx_job_enqueue,
    .job_claim = tx_job_claim,
    .job_renew = tx_job_renew,
    .job_finish = tx_job_finish,
    .job_purge = tx_job_purge,
};

/* ---- the writer thread ------------------------------------------------- */

static void
run_batch(struct sqlite_store *st, struct wjob *batch)
{
    struct sqlite_tx tx = { { &tx_ops }, st, { 0 } };
    struct conn     *c = &st->writer;
    int              rcs[BATCH_MAX];
    struct wjob     *j = batch, *next;

    while (j != NULL) {
        struct wjob *first = j;
        size_t       n = 0;
        bool         began = exec_simple(c, "BEGIN IMMEDIATE") == E_OK;
        for (; j != NULL && n < BATCH_MAX; j = j->next, n++) {
            if (!began) {
                rcs[n] = E_UNAVAILABLE;
                continue;
            }
            size_t mark = tx.log.n;
            exec_simple(c, "SAVEPOINT job");
            rcs[n] = j->run(&tx.base, j->arg);
            if (rcs[n] == E_OK && tx.nfts > 0)
                rcs[n] = fts_apply(&tx);
            tx.nfts = 0;
            if (rcs[n] != E_OK) {
                exec_simple(c, "ROLLBACK TO job");
                changelog_truncate(&tx.log, mark);
            }
            exec_simple(c, "RELEASE job");
        }
        if (began && exec_simple(c, "COMMIT") != E_OK) {
            exec_simple(c, "ROLLBACK");
            for (size_t i = 0; i < n; i++)
                rcs[i] = E_UNAVAILABLE;
            changelog_truncate(&tx.log, 0);
        }
        changelog_publish(&tx.log);
        j = first;
        for (size_t i = 0; i < n; i++, j = next) {
            next = j->next;
            j->done(j->arg, rcs[i]);
        }
    }
    changelog_free(&tx.log);
    free(tx.fts);
}

/* The query planner's statistics (sqlite_stat1) follow the data: without
 * them SQLite may walk a whole namespace in ID order rather than use the index
 * a filter names. Sampled (analysis_limit), so a run takes milliseconds even
 * at millions of rows; at most once a minute, after enough changes. */
#define ANALYZE_EVERY_MS   60000
#define ANALYZE_MIN_CHANGE 1000

static int exec_script(struct conn *c, const char *sql, struct errbuf *eb);

static void
maybe_analyze(struct sqlite_store *st, int64_t *last_ms, int64_t *last_changes)
{
    int64_t now = time_now_ms(), changes = sqlite3_total_changes64(st->writer.db);

    if (now - *last_ms < ANALYZE_EVERY_MS || changes - *last_changes < ANALYZE_MIN_CHANGE)
        return;
    *last_ms = now;
    *last_changes = changes;
    struct errbuf eb = { 0 };
    if (exec_script(&st->writer, "PRAGMA analysis_limit = 2000; ANALYZE;", &eb) != E_OK)
        log_warn("store: ANALYZE failed: %s", eb.msg);
}

static void *
writer_main(void *arg)
{
    struct sqlite_store *st = arg;
    struct wjob         *batch;
    int64_t              last_ms = 0, last_changes = 0;

    while ((batch = wqueue_take(&st->q)) != NULL) {
        run_batch(st, batch);
        maybe_analyze(st, &last_ms, &last_changes);
    }
    return NULL;
}

static void
st_submit(struct store *base, struct wjob *job)
{
    wqueue_push(&((struct sqlite_store *)base)->q, job);
}

static void
st_close(struct store *base)
{
    struct sqlite_store *st = (struct sqlite_store *)base;

    wqueue_stop(&st->q);
    pthread_join(st->thread, NULL);
    for (struct conn *c = st->readers, *next; c != NULL; c = next) {
        next = c->next;
        conn_close(c);
        free(c);
    }
    pthread_key_delete(st->reader_key);
    conn_close(&st->writer);
    free(st->path);
    free(st);
}

/* ---- cursors: long reads on a connection of their own ------------------ */

/* A list read row by row (store.h cursor_open). Its connection is its own, so
 * its read transaction (one snapshot for the count and every row) never pins
 * the thread's reader: the thread's other requests see new commits meanwhile. */
struct store_cursor {
    struct conn   c;
    sqlite3_stmt *stmt; /* in c's statement cache: conn_close finalizes it */
    bool          done;
    struct listq  q; /* its projection (in the caller's arena) */
};

static void
st_cursor_close(struct store_cursor *cur)
{
    if (cur == NULL)
        return;
    if (cur->stmt != NULL)
        sqlite3_reset(cur->stmt);
    if (cur->c.db != NULL && !sqlite3_get_autocommit(cur->c.db))
        exec_simple(&cur->c, "COMMIT"); /* a read: nothing to lose, ends the snapshot */
    conn_close(&cur->c);
    free(cur);
}

static int
st_cursor_open(struct store *base, const struct spec *s, const struct listq *lq,
               struct arena *a, struct store_cursor **out, int64_t *total, struct errbuf *eb)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    struct store_cursor *cur = calloc(1, sizeof *cur);
    struct listq         planned = *lq, *q = &planned;
    struct sqlparams     ps = { 0 };
    struct buf           sql;
    int                  rc;

    *out = NULL;
    if (cur == NULL)
        return errbuf_set(eb, E_INTERNAL, "out of memory");
    buf_init(&sql, SQL_MAX);
    if ((rc = conn_open(&cur->c, st->path, false, eb)) != E_OK)
        goto out;
    if ((rc = exec_simple(&cur->c, "BEGIN")) != E_OK)
        goto out;
    planned.filter = fts_plan(&cur->c, s, lq->filter, a);
    if (q->want_total) {
        if ((rc = sql_count(&sql, s, q, SQL_SQLITE, a, &ps, eb)) != E_OK ||
            (rc = count_rows(&cur->c, buf_cstr(&sql), &ps, total)) != E_OK)
            goto out;
        buf_reset(&sql);
        ps.n = 0;
    }
    if ((rc = sql_select(&sql, s, q, SQL_SQLITE, a, &ps, eb)) != E_OK)
        goto out;
    if ((cur->stmt = conn_stmt(&cur->c, buf_cstr(&sql))) == NULL ||
        bind_params(cur->stmt, 1, &ps) != SQLITE_OK) {
        rc = E_INTERNAL;
        goto out;
    }
    cur->q = *q;
    *out = cur;
    cur = NULL;
out:
    buf_free(&sql);
    st_cursor_close(cur);
    if (rc != E_OK && (int)eb->code != rc)
        errbuf_set(eb, rc, "store error");
    return rc;
}

static int
st_cursor_next(struct store_cursor *cur, struct arena *a, struct val *out)
{
    int rc;

    if (cur->done)
        return 0; /* stepping a finished statement would start it over */
    rc = sqlite3_step(cur->stmt);
    if (rc == SQLITE_ROW)
        return read_row(cur->stmt, &cur->q, a, out) == E_OK ? 1 : -(int)E_INTERNAL;
    cur->done = true;
    return rc == SQLITE_DONE ? 0 : -sqlite_err(&cur->c, rc, "cursor");
}

/* A column of an aggregate's row as a value (in `a`). */
static struct val
column_val(sqlite3_stmt *stmt, int col, struct arena *a)
{
    switch (sqlite3_column_type(stmt, col)) {
    case SQLITE_INTEGER:
        return val_int(sqlite3_column_int64(stmt, col));
    case SQLITE_FLOAT:
        return val_float(sqlite3_column_double(stmt, col));
    case SQLITE_NULL:
        return val_null();
    default:
        return val_str(col_str(stmt, col, a));
    }
}

static int
aggregate_part(struct conn *c, const char *sql, const struct sqlparams *ps, size_t ncols,
               struct arena *a, struct val *out)
{
    sqlite3_stmt *stmt = conn_stmt(c, sql);
    int           rc;

    if (stmt == NULL)
        return E_INTERNAL;
    bind_params(stmt, 1, ps);
    *out = val_arr();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct val row = val_arr();
        for (size_t i = 0; i < ncols; i++)
            val_push(a, &row, column_val(stmt, (int)i, a));
        val_push(a, out, row);
    }
    rc = rc == SQLITE_DONE ? E_OK : sqlite_err(c, rc, "aggregate");
    sqlite3_reset(stmt);
    return rc;
}

static int
st_aggregate(struct store *base, const struct spec *s, const struct scope *sc,
             const struct fnode *filter, struct agg_part *parts, size_t nparts, struct arena *a,
             struct errbuf *eb)
{
    struct conn     *c = reader((struct sqlite_store *)base);
    struct buf       sql;
    struct sqlparams ps = { 0 };
    int              rc;

    if (c == NULL)
        return errbuf_set(eb, E_UNAVAILABLE, "store unavailable");
    if ((rc = exec_simple(c, "BEGIN")) != E_OK) /* one snapshot for every part */
        return errbuf_set(eb, rc, "store error");
    filter = fts_plan(c, s, filter, a);
    buf_init(&sql, SQL_MAX);
    for (size_t i = 0; i < nparts && rc == E_OK; i++) {
        buf_reset(&sql);
        ps.n = 0;
        rc = sql_aggregate(&sql, s, sc, filter, &parts[i], SQL_SQLITE, a, &ps, eb);
        if (rc == E_OK)
            rc = aggregate_part(c, buf_cstr(&sql), &ps, parts[i].nby + 1, a, &parts[i].out);
    }
    exec_simple(c, "COMMIT");
    buf_free(&sql);
    if (rc != E_OK && (int)eb->code != rc)
        errbuf_set(eb, rc, "store error");
    return rc;
}

static const struct store_ops sqlite_ops = {
    .find = st_find,
    .list = st_list,
    .submit = st_submit,
    .meta_get = st_meta_get,
    .close = st_close,
    .ping = st_ping,
    .job_next = st_job_next,
    .job_get = st_job_get,
    .cursor_open = st_cursor_open,
    .cursor_next = st_cursor_next,
    .cursor_close = st_cursor_close,
    .aggregate = st_aggregate,
};

/* ---- schema ------------------------------------------------------------ */

static int
exec_script(struct conn *c, const char *sql, struct errbuf *eb)
{
    char *msg = NULL;

    if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        errbuf_set(eb, E_UNAVAILABLE, "store: %s", msg ? msg : "schema error");
        sqlite3_free(msg);
        return E_UNAVAILABLE;
    }
    return E_OK;
}

static bool
has_column(struct conn *c, const char *table, const char *col)
{
    sqlite3_stmt *stmt = NULL;
    bool          found = false;

    if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM pragma_table_info(?) WHERE name = ?", -1,
                           &stmt, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, col, -1, SQLITE_STATIC);
    found = sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_finalize(stmt);
    return found;
}

/* Columns a newer spec added to an existing table are added in place; their
 * values are backfilled as objects are next written. */
static int
add_missing_columns(struct conn *c, const struct spec *s, struct errbuf *eb)
{
    for (size_t i = 0; i < spec_ncolumns(s); i++) {
        const struct attr *at = spec_column(s, i);
        struct buf         sql;
        int                rc = E_OK;
        if (has_column(c, s->rest, at->name))
            continue;
        buf_init(&sql, SQL_MAX);
        sql_add_column(&sql, s, at, SQL_SQLITE);
        rc = exec_script(c, buf_cstr(&sql), eb);
        buf_free(&sql);
        if (rc != E_OK)
            return rc;
    }
    return E_OK;
}

/* Numbered migrations: hand-written schema changes, applied once each, in
 * order, each in its own transaction together with its row in
 * schema_migrations, so a crash leaves every migration applied or not. The
 * spec tables are not among them: they follow the specs (sync_spec_tables) at
 * every start. Migration 1 is the schema of the releases before migrations
 * were recorded, written with IF NOT EXISTS, so that a store they made is
 * taken over as it is. A migration is never edited once released: a change is
 * a new number. */
struct migration {
    int64_t     version;
    const char *sql;
};

static const struct migration migrations[] = {
    { 1, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);"
         "CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY,"
         " fingerprint TEXT NOT NULL, status INTEGER NOT NULL, body BLOB NOT NULL,"
         " expires INTEGER NOT NULL);"
         "CREATE INDEX IF NOT EXISTS idempotency_expires ON idempotency (expires);"
         "CREATE TABLE IF NOT EXISTS token_uses (jti TEXT PRIMARY KEY,"
         " used INTEGER NOT NULL, expires INTEGER NOT NULL);"
         "CREATE TABLE IF NOT EXISTS ephemeral (key TEXT PRIMARY KEY, value BLOB NOT NULL,"
         " expires INTEGER NOT NULL);" },
    /* Background work items (store.h). While running, run_at is the lease's
     * end, so "due" is one range on one partial index; finished items are
     * found for their retention by another. */
    { 2, "CREATE TABLE jobs (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, key TEXT,"
         " payload BLOB NOT NULL, state TEXT NOT NULL, run_at INTEGER NOT NULL,"
         " attempts INTEGER NOT NULL, lease_ms INTEGER NOT NULL, lease_owner TEXT,"
         " lease_token INTEGER, lease_until INTEGER, last_error TEXT, progress TEXT,"
         " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
         "CREATE UNIQUE INDEX jobs_kind_key ON jobs (kind, key);"
         "CREATE INDEX jobs_due ON jobs (run_at) WHERE state IN ('queued', 'running');"
         "CREATE INDEX jobs_finished ON jobs (updated) WHERE state IN ('done', 'failed');" },
};

static int
migration_applied(struct conn *c, int64_t version, bool *applied, int64_t *newest)
{
    sqlite3_stmt *stmt = NULL;
    int           rc;

    rc = sqlite3_prepare_v2(c->db,
                            "SELECT count(*) FILTER (WHERE version = ?), max(version)"
                            " FROM schema_migrations",
                            -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, version);
        rc = sqlite3_step(stmt);
    }
    if (rc == SQLITE_ROW) {
        *applied = sqlite3_column_int64(stmt, 0) > 0;
        *newest = sqlite3_column_int64(stmt, 1);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_OK ? E_OK : E_UNAVAILABLE;
}

static int
migration_record(struct conn *c, int64_t version)
{
    sqlite3_stmt *stmt = NULL;
    int           rc;

    rc = sqlite3_prepare_v2(c->db,
                            "INSERT INTO schema_migrations (version, applied)"
                            " VALUES (?, ?)",
                            -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, version);
        sqlite3_bind_int64(stmt, 2, time_now_ms());
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? E_OK : E_UNAVAILABLE;
}

/* One migration in one transaction (BEGIN IMMEDIATE: another process opening
 * the same file waits, then finds it applied). A store a newer release
 * migrated further is refused rather than half understood. */
static int
migrate_one(struct conn *c, const struct migration *m, struct errbuf *eb)
{
    bool    applied = false;
    int64_t newest = 0;
    int     rc = exec_script(c,
                             "BEGIN IMMEDIATE;"
                                 "CREATE TABLE IF NOT EXISTS schema_migrations"
                                 " (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL);",
                             eb);

    if (rc != E_OK)
        return rc;
    rc = migration_applied(c, m->version, &applied, &newest);
    if (rc != E_OK)
        errbuf_set(eb, rc, "store: cannot read schema_migrations: %s", sqlite3_errmsg(c->db));
    else if (newest > migrations[ARRAY_LEN(migrations) - 1].version)
        rc = errbuf_set(eb, E_UNAVAILABLE,
                        "store: schema version %lld is newer than this "
                        "release knows (%lld)",
                        (long long)newest,
                        (long long)migrations[ARRAY_LEN(migrations) - 1].version);
    else if (!applied && (rc = exec_script(c, m->sql, eb)) == E_OK &&
             (rc = migration_record(c, m->version)) != E_OK)
        errbuf_set(eb, rc, "store: migration %lld: %s", (long long)m->version,
                   sqlite3_errmsg(c->db));
    if (rc == E_OK && !applied)
        log_info("store: applied migration %lld", (long long)m->version);
    if (rc == E_OK)
        return exec_script(c, "COMMIT;", eb);
    exec_script(c, "ROLLBACK;", NULL);
    return rc;
}

static int
migrate(struct conn *c, struct errbuf *eb)
{
    int rc = E_OK;

    for (size_t i = 0; i < ARRAY_LEN(migrations) && rc == E_OK; i++)
        rc = migrate_one(c, &migrations[i], eb);
    return rc;
}

static bool
has_table(struct conn *c, const char *name)
{
    sqlite3_stmt *stmt = NULL;
    bool          found = false;

    if (sqlite3_prepare_v2(c->db,
                           "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", -1,
                           &stmt, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    found = sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_finalize(stmt);
    return found;
}

/* Each queryable list attribute's side table (sql.h), created and filled from
 * the rows' columns by the start whose spec first has it; it runs in the start's
 * transaction, so a crash leaves the table whole or absent. */
static int
sync_side_tables(struct conn *c, const struct spec *s, struct errbuf *eb)
{
    int rc = E_OK;

    for (size_t i = 0; i < spec_ncolumns(s) && rc == E_OK; i++) {
        const struct attr *at = spec_column(s, i);
        struct buf         sql;
        if (!attr_is_indexed_list(at))
            continue;
        char name[256];
        snprintf(name, sizeof name, "%s__%s", s->rest, at->name);
        bool fill = !has_table(c, name);
        buf_init(&sql, SQL_MAX);
        sql_side_create(&sql, s, at, SQL_SQLITE);
        if (fill)
            sql_side_fill(&sql, s, at, SQL_SQLITE);
        rc = exec_script(c, buf_cstr(&sql), eb);
        buf_free(&sql);
    }
    return rc;
}

/* The counts of a spec's counted dimensions (spec.counted), filled from the
 * rows when the table is new. The triggers are made again at every start, so
 * they follow the spec; a dimension added to a spec that has rows needs a
 * numbered migration that fills it. */
static int
sync_counts(struct conn *c, const struct spec *s, struct errbuf *eb)
{
    char       name[256];
    struct buf sql;
    int        rc;

    snprintf(name, sizeof name, "%s__counts", s->rest);
    bool fill = !has_table(c, name);
    buf_init(&sql, SQL_MAX);
    sql_counts_create(&sql, s, SQL_SQLITE);
    if (fill)
        sql_counts_fill(&sql, s, SQL_SQLITE);
    rc = exec_script(c, buf_cstr(&sql), eb);
    buf_free(&sql);
    return rc;
}

/* Each substring index (sql.h), created and filled from the rows' columns by the
 * start whose spec first has it, in the start's transaction like the side
 * tables. */
static int
sync_fts_tables(struct conn *c, const struct spec *s, struct errbuf *eb)
{
    int rc = E_OK;

    for (size_t i = 0; i < spec_ncolumns(s) && rc == E_OK; i++) {
        const struct attr *at = spec_column(s, i);
        struct buf         sql;
        char               name[256];
        if (!attr_is_substring(at))
            continue;
        snprintf(name, sizeof name, "%s__%s_fts", s->rest, at->name);
        bool fill = !has_table(c, name);
        buf_init(&sql, SQL_MAX);
        sql_fts_create(&sql, s, at, SQL_SQLITE);
        if (fill)
            sql_fts_fill(&sql, s, at, SQL_SQLITE);
        rc = exec_script(c, buf_cstr(&sql), eb);
        buf_free(&sql);
        if (rc == E_OK && fill && sqlite3_changes(c->db) > 0)
            log_info("store: substring index %s filled from %d rows", name,
                     sqlite3_changes(c->db));
    }
    return rc;
}

/* The spec tables, their new columns and indexes: derived from the specs, so
 * a new resource or a new queryable attribute needs no numbered migration. */
static int
sync_spec_tables(struct conn *c, struct errbuf *eb)
{
    int rc = E_OK;

    for (size_t i = 0; i < spec_count && rc == E_OK; i++) {
        const struct spec *s = spec_all[i];
        struct buf         sql;
        if (s->not_namespaced)
            continue;
        buf_init(&sql, SQL_MAX);
        sql_create_table(&sql, s, SQL_SQLITE);
        rc = exec_script(c, buf_cstr(&sql), eb);
        buf_free(&sql);
        if (rc == E_OK)
            rc = add_missing_columns(c, s, eb);
        if (rc == E_OK && s->bulk && !has_column(c, s->rest, "nsid")) {
            buf_init(&sql, SQL_MAX);
            sql_add_nsid(&sql, s, SQL_SQLITE);
            rc = exec_script(c, buf_cstr(&sql), eb);
            buf_free(&sql);
        }
        if (rc == E_OK) {
            buf_init(&sql, SQL_MAX);
            sql_create_indexes(&sql, s, SQL_SQLITE);
            rc = exec_script(c, buf_cstr(&sql), eb);
            buf_free(&sql);
        }
        if (rc == E_OK)
            rc = sync_side_tables(c, s, eb);
        if (rc == E_OK && s->counted != NULL)
            rc = sync_counts(c, s, eb);
        if (rc == E_OK)
            rc = sync_fts_tables(c, s, eb);
    }
    return rc;
}

/* sync = full: every commit is fsynced (survives power loss); normal: the WAL
 * is fsynced at checkpoints only (a commit survives a crash of the process,
 * kill -9 included, but not of the machine). */
static int
set_sync(struct conn *c, struct errbuf *eb)
{
    if (strcmp(cfg.sync, "full") == 0)
        return exec_script(c, "PRAGMA synchronous=FULL;", eb);
    if (strcmp(cfg.sync, "normal") == 0)
        return exec_script(c, "PRAGMA synchronous=NORMAL;", eb);
    return errbuf_set(eb, E_BADREQ, "config: sync must be full or normal");
}

int
store_open_sqlite(const char *path, struct store **out, struct errbuf *eb)
{
    struct sqlite_store *st = calloc(1, sizeof *st);
    int                  rc;

    if (st == NULL || (st->path = strdup(path)) == NULL)
        abort();
    st->base.ops = &sqlite_ops;
    wqueue_init(&st->q);
    pthread_mutex_init(&st->readers_mu, NULL);
    pthread_key_create(&st->reader_key, NULL); /* readers are closed by st_close */
    rc = conn_open(&st->writer, path, true, eb);
    if (rc == E_OK)
        rc = set_sync(&st->writer, eb);
    if (rc == E_OK)
        rc = exec_script(&st->writer, "SELECT count(*) FROM sqlite_schema;", eb);
    if (rc == E_OK)
        rc = migrate(&st->writer, eb);
    if (rc == E_OK)
        rc = exec_script(&st->writer, "BEGIN IMMEDIATE", eb);
    if (rc == E_OK) {
        rc = sync_spec_tables(&st->writer, eb);
        exec_script(&st->writer, rc == E_OK ? "COMMIT" : "ROLLBACK", eb);
    }
    if (rc == E_OK && pthread_create(&st->thread, NULL, writer_main, st) != 0)
        rc = errbuf_set(eb, E_INTERNAL, "store: cannot start the writer thread");
    if (rc != E_OK) {
        if (strstr(eb->msg, path) == NULL) {
            char why[sizeof eb->msg];
            snprintf(why, sizeof why, "%s", eb->msg);
            snprintf(eb->msg, sizeof eb->msg, "%.100s: %.150s", path, why);
        }
        conn_close(&st->writer);
        pthread_key_delete(st->reader_key);
        free(st->path);
        free(st);
        return rc;
    }
    *out = &st->base;
    return E_OK;
}
