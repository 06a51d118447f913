/* sqlite.c - the embedded store: one SQLite file in WAL mode.
 *
 * Readers: every thread gets its own read connection on first use (SQLite
 * connections must not be shared between threads without its mutexes, and with
 * one each, reads never wait on each other). Writer: one connection owned by one
 * thread, which takes every job queued so far, runs them in a single transaction
 * (each in a savepoint) and commits before calling back: one commit (and with
 * sync = full, one fsync) serves many writes (group commit).
 *
 * Here: the connections and their statements, the reads, the writer thread and
 * the opening of a store. The transaction's operations are in sqlite_tx.c, the
 * work items in sqlite_jobs.c, the cursors and aggregates in sqlite_cursor.c, the
 * schema in sqlite_schema.c; what they share is in sqlite_local.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../core/buf.h"
#include "../core/codec.h"
#include "../core/config.h"
#include "../core/log.h"
#include "../core/regex.h"
#include "../core/timeutil.h"
#include "sqlite_local.h"

#define BATCH_MAX 512

/* ---- connections and statements ---------------------------------------- */

static void
regfree_and_free(void *p)
{
    regfree(p);
    free(p);
}

/* Every 1,000 virtual-machine steps of a reader's statement: past its
 * deadline, SQLite stops it. */
static int
past_deadline(void *arg)
{
    const struct conn *c = arg;

    return c->deadline != 0 && time_mono_ms() > c->deadline;
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
    /* one value's regexec cannot be stopped: the deadline is looked at before
     * each (a costly pattern takes about 70 ms on a value of REGEX_TEXT_MAX) */
    if (past_deadline(sqlite3_user_data(ctx))) {
        sqlite3_result_error_code(ctx, SQLITE_INTERRUPT);
        return;
    }
    sqlite3_result_int(ctx, text != NULL && sqlite3_value_bytes(argv[1]) <= REGEX_TEXT_MAX &&
                                regexec(re, text, 0, NULL, 0) == 0);
}

void
sqlite_conn_deadline(struct conn *c)
{
    int64_t budget = store_budget();

    sqlite_conn_row_deadline(c);
    if (budget != 0 && budget < c->deadline)
        c->deadline = budget; /* the request's reads share store_timeout */
}

void
sqlite_conn_row_deadline(struct conn *c)
{
    c->deadline = time_mono_ms() + cfg.store_timeout;
}

int
sqlite_conn_open(struct conn *c, const char *path, bool writer, struct errbuf *eb)
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
    if (!writer)
        sqlite3_progress_handler(c->db, 1000, past_deadline, c);
    sqlite3_create_function(c->db, "regexp", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, c,
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

void
sqlite_conn_close(struct conn *c)
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

sqlite3_stmt *
sqlite_conn_stmt(struct conn *c, const char *sql)
{
    uint64_t h = sql_hash(sql);

    sqlite_conn_deadline(c);
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

int
sqlite_err(struct conn *c, int rc, const char *what)
{
    int base = rc & 0xff;

    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return E_DUPLICATE;
    if (base == SQLITE_INTERRUPT) {
        log_warn("sqlite: %s: stopped after store_timeout (%lld ms)", what,
                 (long long)cfg.store_timeout);
        return E_UNAVAILABLE;
    }
    log_error("sqlite: %s: %s", what, sqlite3_errmsg(c->db));
    if (base == SQLITE_BUSY || base == SQLITE_LOCKED || base == SQLITE_IOERR ||
        base == SQLITE_FULL || base == SQLITE_CANTOPEN)
        return E_UNAVAILABLE;
    return E_INTERNAL;
}

/* Run a statement that returns no rows; E_OK or the mapped error. */
int
sqlite_step_done(struct conn *c, sqlite3_stmt *stmt, const char *what)
{
    int rc = sqlite3_step(stmt);

    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? E_OK : sqlite_err(c, rc, what);
}

int
sqlite_exec_simple(struct conn *c, const char *sql)
{
    sqlite3_stmt *stmt = sqlite_conn_stmt(c, sql);

    return stmt == NULL ? E_INTERNAL : sqlite_step_done(c, stmt, sql);
}

struct conn *
sqlite_reader(struct sqlite_store *st)
{
    struct conn  *c = pthread_getspecific(st->reader_key);
    struct errbuf eb;

    if (c != NULL)
        return c;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    if (sqlite_conn_open(c, st->path, false, &eb) != E_OK) {
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

int
sqlite_bind_val(sqlite3_stmt *stmt, int idx, const struct attr *at, const struct val *v)
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
    default: /* lists and maps: JSON text, so json_each() can look inside; bounded by
                what was accepted (body size, parser caps), as the doc */
        buf_init(&b, SIZE_MAX / 2);
        rc = json_encode(v, &b);
        if (rc == E_OK)
            rc = sqlite3_bind_text(stmt, idx, b.p, (int)b.len, SQLITE_TRANSIENT);
        buf_free(&b);
        return rc == E_OK ? SQLITE_OK : SQLITE_TOOBIG;
    }
}

int
sqlite_bind_params(sqlite3_stmt *stmt, int first, const struct sqlparams *ps)
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

int
sqlite_run_find(struct conn *c, const struct spec *s, const struct scope *sc, const char *attr,
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
    sqlite3_stmt *stmt = sqlite_conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    sqlite_bind_params(stmt, 1, &ps);
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
    struct conn *c = sqlite_reader((struct sqlite_store *)base);
    int          rc;

    if (c == NULL)
        return errbuf_set(eb, E_UNAVAILABLE, "store unavailable");
    rc = sqlite_run_find(c, s, sc, attr, value, a, out);
    if (rc == E_NOTFOUND)
        return errbuf_set(eb, E_NOTFOUND, "Could not find the object");
    if (rc != E_OK)
        return errbuf_set(eb, rc, "store error");
    return E_OK;
}

int
sqlite_count_rows(struct conn *c, const char *sql, const struct sqlparams *ps, int64_t *total)
{
    sqlite3_stmt *stmt = sqlite_conn_stmt(c, sql);
    int           rc;

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite_bind_params(stmt, 1, ps);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *total = sqlite3_column_int64(stmt, 0);
        rc = E_OK;
    } else
        rc = sqlite_err(c, rc, "count");
    sqlite3_reset(stmt);
    return rc;
}

struct str
sqlite_col_str(sqlite3_stmt *stmt, int col, struct arena *a)
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
        *out = val_str(sqlite_col_str(stmt, col, a));
        return E_OK;
    default: /* lists and maps: JSON text */
        return json_decode(a, (const char *)sqlite3_column_text(stmt, col),
                           (size_t)sqlite3_column_bytes(stmt, col), 64, out, &eb);
    }
}

/* A row as the object's map: its document, or its projected columns. */
int
sqlite_read_row(sqlite3_stmt *stmt, const struct listq *q, struct arena *a, struct val *out)
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

int
sqlite_fetch_rows(struct conn *c, const char *sql, const struct sqlparams *ps,
                  const struct listq *q, struct arena *a, struct val *items)
{
    sqlite3_stmt *stmt = sqlite_conn_stmt(c, sql);
    int           rc;

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite_bind_params(stmt, 1, ps);
    *items = val_arr();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct val v;
        if (sqlite_read_row(stmt, q, a, &v) != E_OK) {
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

bool
sqlite_has_fts(const struct spec *s)
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
    stmt = sqlite_conn_stmt(c, buf_cstr(&sql));
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
const struct fnode *
sqlite_fts_plan(struct conn *c, const struct spec *s, const struct fnode *f, struct arena *a)
{
    struct fnode *n;

    if (f == NULL || !sqlite_has_fts(s))
        return f;
    if (f->op == F_AND || f->op == F_OR) {
        const struct fnode *l = sqlite_fts_plan(c, s, f->l, a),
                           *r = sqlite_fts_plan(c, s, f->r, a);
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
    struct conn     *c = sqlite_reader((struct sqlite_store *)base);
    struct buf       sql;
    struct sqlparams ps = { 0 };
    int              rc;

    if (c == NULL)
        return errbuf_set(eb, E_UNAVAILABLE, "store unavailable");
    struct listq planned = *lq, *q = &planned;
    planned.filter = sqlite_fts_plan(c, s, lq->filter, a);
    buf_init(&sql, SQL_MAX);
    if (q->want_total) {
        rc = sql_count(&sql, s, q, SQL_SQLITE, a, &ps, eb);
        if (rc == E_OK)
            rc = sqlite_count_rows(c, buf_cstr(&sql), &ps, total);
        buf_reset(&sql);
        ps.n = 0;
    } else
        rc = E_OK;
    if (rc == E_OK)
        rc = sql_select(&sql, s, q, SQL_SQLITE, a, &ps, eb);
    if (rc == E_OK)
        rc = sqlite_fetch_rows(c, buf_cstr(&sql), &ps, q, a, items);
    buf_free(&sql);
    if (rc != E_OK && (int)eb->code != rc)
        errbuf_set(eb, rc, "store error");
    return rc;
}

static int
st_meta_get(struct store *base, const char *key, struct arena *a, struct str *value)
{
    struct conn  *c = sqlite_reader((struct sqlite_store *)base);
    sqlite3_stmt *stmt;
    int           rc;

    if (c == NULL ||
        (stmt = sqlite_conn_stmt(c, "SELECT value FROM meta WHERE key = ?")) == NULL)
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

/* Whether the file system of the database has min_free_space left: a full
 * one fails every write, audit entries included, while reads go on; a load
 * balancer reading /health sends the traffic elsewhere first. Said in the
 * log at most once a minute. */
static bool
space_left(const struct sqlite_store *st)
{
    static _Atomic int64_t told;
    struct statvfs         fs;
    char                   dir[PATH_MAX];
    const char            *slash = strrchr(st->path, '/');
    int64_t                now = time_mono_ms(), last = told;

    if (cfg.min_free_space == 0)
        return true;
    snprintf(dir, sizeof dir, "%.*s", slash != NULL ? (int)(slash - st->path) + 1 : 1,
             slash != NULL ? st->path : ".");
    if (statvfs(dir, &fs) != 0 || fs.f_frsize == 0 ||
        fs.f_bavail >= (uint64_t)cfg.min_free_space / fs.f_frsize)
        return true;
    if (now - last >= 60000 && atomic_compare_exchange_strong(&told, &last, now))
        log_error("store: %llu bytes free where %s lives, below min_free_space (%lld): "
                  "/health answers 503",
                  (unsigned long long)fs.f_bavail * fs.f_frsize, st->path,
                  (long long)cfg.min_free_space);
    return false;
}

static bool
st_ping(struct store *base)
{
    struct conn  *c = sqlite_reader((struct sqlite_store *)base);
    sqlite3_stmt *stmt;
    bool          ok;

    if (c == NULL || (stmt = sqlite_conn_stmt(c, "SELECT 1 FROM meta LIMIT 1")) == NULL)
        return false;
    int rc = sqlite3_step(stmt);
    ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
    sqlite3_reset(stmt);
    return ok && space_left((struct sqlite_store *)base);
}

/* ---- the writer thread ------------------------------------------------- */

/* One job: in the savepoint "job", or (`alone`) as the whole transaction,
 * whose rollback then undoes it. */
static int
run_job(struct sqlite_tx *tx, struct wjob *j, bool *rolled_back)
{
    struct conn *c = &tx->st->writer;
    size_t       mark = tx->log.n;
    int          rc;

    if (!j->alone)
        sqlite_exec_simple(c, "SAVEPOINT job");
    rc = j->run(&tx->base, j->arg);
    if (rc == E_OK && tx->nfts > 0)
        rc = sqlite_fts_apply(tx);
    tx->nfts = 0;
    if (rc != E_OK) {
        sqlite_exec_simple(c, j->alone ? "ROLLBACK" : "ROLLBACK TO job");
        changelog_truncate(&tx->log, mark);
        *rolled_back = j->alone;
    }
    if (!j->alone)
        sqlite_exec_simple(c, "RELEASE job");
    return rc;
}

/* Whether job j joins the transaction that `first` began, n jobs in. */
static bool
joins(const struct wjob *first, const struct wjob *j, size_t n)
{
    return j != NULL && n < BATCH_MAX && (n == 0 || !(first->alone || j->alone));
}

/* Where the transaction about to run jobs j... keeps the copies of the pages
 * its savepoints and statements may undo (the statement journal): in memory
 * when every job is small (wjob.small), else in memory up to 64 KiB and then
 * in a temporary file. Past 64 KiB - a certificate's row with its dozen
 * indexes and counts is more - SQLite wrote each statement's copies to that
 * file: six times what the WAL got, a quarter of an import's writer. Set
 * before BEGIN (SQLite reads it then); temp_store holds nothing else here. */
static void
journal_where(struct sqlite_store *st, const struct wjob *j)
{
    bool   small = true;
    size_t n = 0;

    for (const struct wjob *first = j; joins(first, j, n) && small; j = j->next, n++)
        small = j->small;
    if (small != st->journal_in_memory)
        sqlite_exec_simple(&st->writer, small ? "PRAGMA temp_store = MEMORY"
                                              : "PRAGMA temp_store = DEFAULT");
    st->journal_in_memory = small;
}

/* Runs the queued jobs, up to BATCH_MAX per transaction; a job that writes
 * much (wjob.alone) gets a transaction of its own and no savepoint, whose
 * journal would hold a copy of every page it touches. */
static void
run_batch(struct sqlite_store *st, struct wjob *batch)
{
    struct sqlite_tx tx = { { &sqlite_tx_ops }, st, { 0 } };
    struct conn     *c = &st->writer;
    int              rcs[BATCH_MAX];
    struct wjob     *j = batch, *next;

    while (j != NULL) {
        struct wjob *first = j;
        size_t       n = 0;
        journal_where(st, j);
        bool began = sqlite_exec_simple(c, "BEGIN IMMEDIATE") == E_OK;
        bool rolled_back = false;
        for (; joins(first, j, n); j = j->next, n++)
            rcs[n] = began ? run_job(&tx, j, &rolled_back) : E_UNAVAILABLE;
        if (began && !rolled_back && sqlite_exec_simple(c, "COMMIT") != E_OK) {
            sqlite_exec_simple(c, "ROLLBACK");
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
 * at millions of rows; after enough changes, once a minute - or at once when
 * the changes since the last run outnumber all those before it (a store
 * growing fast, as under a bulk import, doubling: planned on the statistics
 * of a table a hundredth its size, the import's lookups slowed to a third
 * until the minute was up). */
#define ANALYZE_EVERY_MS   60000
#define ANALYZE_MIN_CHANGE 1000

static void
maybe_analyze(struct sqlite_store *st, int64_t *last_ms, int64_t *last_changes)
{
    int64_t now = time_now_ms(), changes = sqlite3_total_changes64(st->writer.db);
    bool    doubled = changes - *last_changes > *last_changes;

    if ((now - *last_ms < ANALYZE_EVERY_MS && !doubled) ||
        changes - *last_changes < ANALYZE_MIN_CHANGE)
        return;
    *last_ms = now;
    *last_changes = changes;
    struct errbuf eb = { 0 };
    if (sqlite_exec_script(&st->writer, "PRAGMA analysis_limit = 2000; ANALYZE;", &eb) != E_OK)
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
    sqlite_checkpointer_stop(&st->ckpt, &st->writer);
    for (struct conn *c = st->readers, *next; c != NULL; c = next) {
        next = c->next;
        sqlite_conn_close(c);
        free(c);
    }
    pthread_key_delete(st->reader_key);
    sqlite_conn_close(&st->writer);
    free(st->path);
    free(st);
}

static const struct store_ops sqlite_ops = {
    .find = st_find,
    .list = st_list,
    .submit = st_submit,
    .meta_get = st_meta_get,
    .close = st_close,
    .ping = st_ping,
    .job_next = sqlite_st_job_next,
    .job_waiting = sqlite_st_job_waiting,
    .job_get = sqlite_st_job_get,
    .cursor_open = sqlite_st_cursor_open,
    .cursor_next = sqlite_st_cursor_next,
    .cursor_close = sqlite_st_cursor_close,
    .aggregate = sqlite_st_aggregate,
};

/* One process at a time on a SQLite store: a server keeps its authorization
 * snapshot, namespace cache and OCSP answers in memory and follows only its
 * own commits, so a second server on the same file would serve grants and
 * answers another one revoked (several servers: PostgreSQL, docs/postgres.md).
 * An exclusive flock on the database file itself, whatever path names it (a
 * symlink, a hard link: a review ran a second server through each), never
 * released: the kernel does when the process ends. flock and SQLite's POSIX
 * locks do not interact on Linux, and the descriptor is never closed, so
 * SQLite's locks on the file are never dropped by a close of ours. */
int
store_lock_sqlite(const char *path, struct errbuf *eb)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0)
        return errbuf_set(eb, E_UNAVAILABLE, "%s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return errbuf_set(eb, E_UNAVAILABLE,
                              "%s is in use by another keyward server: one server per "
                              "SQLite store (several servers share a PostgreSQL store, "
                              "docs/postgres.md)",
                              path);
        return errbuf_set(eb, E_UNAVAILABLE, "%s: %s", path, strerror(e));
    }
    return E_OK; /* fd stays open, and locked, for the process's life */
}

/* sync = full: every commit is fsynced (survives power loss); normal: the WAL
 * is fsynced at checkpoints only (a commit survives a crash of the process,
 * kill -9 included, but not of the machine). */
static int
set_sync(struct conn *c, struct errbuf *eb)
{
    /* full or normal: the setting's choices (config.c) */
    return sqlite_exec_script(c,
                              strcmp(cfg.sync, "normal") == 0 ? "PRAGMA synchronous=NORMAL;"
                                                              : "PRAGMA synchronous=FULL;",
                              eb);
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
    rc = sqlite_conn_open(&st->writer, path, true, eb);
    if (rc == E_OK)
        rc = set_sync(&st->writer, eb);
    if (rc == E_OK)
        rc = sqlite_exec_script(&st->writer, "SELECT count(*) FROM sqlite_schema;", eb);
    if (rc == E_OK)
        rc = sqlite_migrate(&st->writer, eb);
    if (rc == E_OK)
        rc = sqlite_exec_script(&st->writer, "BEGIN IMMEDIATE", eb);
    if (rc == E_OK) {
        rc = sqlite_sync_spec_tables(&st->writer, eb);
        sqlite_exec_script(&st->writer, rc == E_OK ? "COMMIT" : "ROLLBACK", eb);
    }
    if (rc == E_OK)
        rc = sqlite_checkpointer_start(&st->ckpt, &st->writer, path, eb);
    if (rc == E_OK && pthread_create(&st->thread, NULL, writer_main, st) != 0)
        rc = errbuf_set(eb, E_INTERNAL, "store: cannot start the writer thread");
    if (rc != E_OK) {
        sqlite_checkpointer_stop(&st->ckpt, &st->writer);
        if (strstr(eb->msg, path) == NULL) {
            char why[sizeof eb->msg];
            snprintf(why, sizeof why, "%s", eb->msg);
            snprintf(eb->msg, sizeof eb->msg, "%.100s: %.150s", path, why);
        }
        sqlite_conn_close(&st->writer);
        pthread_key_delete(st->reader_key);
        free(st->path);
        free(st);
        return rc;
    }
    *out = &st->base;
    return E_OK;
}
