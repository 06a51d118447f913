/* pg.c - the PostgreSQL store (libpq): several Keyward servers on one database.
 *
 * The same shape as sqlite.c. Readers: one connection per thread, made on
 * first use. Writer: one connection owned by one thread, which runs every job
 * queued so far in one transaction (each in a savepoint) and commits before
 * calling back (group commit). Every write transaction first takes one
 * transaction-scoped advisory lock: shared by transactions of independent
 * jobs (struct wjob: creates that the unique keys and the namespace guard
 * settle, audit entries), which run beside those of the other servers;
 * whole by every other, which runs alone as SQLite serialises writes, so
 * that every check-then-write the engine makes in a job (idempotency keys, a
 * CA created once, a namespace deleted) stays right across servers
 * (docs/postgres.md, "writes" and section 2).
 *
 * Values go as text parameters (values are copied NUL-terminated; a string
 * holding NUL is refused before it reaches the store), documents as binary
 * BYTEA; results come back in binary format. A parameter is typed where the
 * statement cannot say its type itself (a row's columns, the write
 * conditions), untyped elsewhere (the filter's values take their column's).
 * Statements are prepared once per connection and kept in a small cache.
 *
 * This file: the parameters, values from results, the reads, and the store's
 * operations. Connections and statements are in pg_conn.c, the transaction's
 * operations and the writer thread in pg_tx.c, work items in pg_jobs.c, cursors and
 * aggregates in pg_cursor.c, the schema in pg_schema.c, reads by ID made
 * together in pg_batch.c (pg_local.h).
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/codec.h"
#include "../core/config.h"
#include "../core/log.h"
#include "../core/timeutil.h"
#include "pg_local.h"
#include "sql.h"
#include "store.h"

/* ---- parameters --------------------------------------------------------- */

void
pg_arg_add(struct pargs *p, Oid type, int fmt, const char *v, int len)
{
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 16;
        p->v = arena_realloc(p->a, p->v, (size_t)p->cap * sizeof *p->v,
                             (size_t)cap * sizeof *p->v);
        p->len = arena_realloc(p->a, p->len, (size_t)p->cap * sizeof(int),
                               (size_t)cap * sizeof(int));
        p->fmt = arena_realloc(p->a, p->fmt, (size_t)p->cap * sizeof(int),
                               (size_t)cap * sizeof(int));
        p->type = arena_realloc(p->a, p->type, (size_t)p->cap * sizeof(Oid),
                                (size_t)cap * sizeof(Oid));
        p->cap = cap;
    }
    p->v[p->n] = v;
    p->len[p->n] = len;
    p->fmt[p->n] = fmt;
    p->type[p->n] = type;
    p->n++;
}

void
pg_arg_str(struct pargs *p, struct str s, Oid type)
{
    if (s.p == NULL)
        return pg_arg_add(p, type, 0, NULL, 0);
    pg_arg_add(p, type, 0, arena_strndup(p->a, s.p, s.len), (int)s.len);
}

void
pg_arg_cstr(struct pargs *p, const char *s)
{
    pg_arg_add(p, OID_TEXT, 0, s, (int)strlen(s));
}

void
pg_arg_int(struct pargs *p, int64_t i, Oid type)
{
    pg_arg_add(p, type, 0, arena_printf(p->a, "%lld", (long long)i), 0);
}

void
pg_arg_bool(struct pargs *p, bool b)
{
    pg_arg_add(p, OID_BOOL, 0, b ? "t" : "f", 1);
}

void
pg_arg_bytes(struct pargs *p, const void *v, size_t n)
{
    pg_arg_add(p, OID_BYTEA, 1, n > 0 ? v : "", (int)n);
}

void
pg_arg_null(struct pargs *p, Oid type)
{
    pg_arg_add(p, type, 0, NULL, 0);
}

/* A filter's parameters, untyped: each takes its column's type. */
void
pg_args_from(struct pargs *p, const struct sqlparams *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        const struct sqlparam *q = &ps->v[i];
        if (q->t == SQLP_INT)
            pg_arg_int(p, q->i, 0);
        else if (q->t == SQLP_FLOAT)
            pg_arg_add(p, 0, 0, arena_printf(p->a, "%.17g", q->f), 0);
        else
            pg_arg_str(p, q->s, 0);
    }
}

/* ---- values from results (binary format) -------------------------------- */

static int64_t
be_int(const unsigned char *p, int n)
{
    uint64_t u = 0;

    for (int i = 0; i < n; i++)
        u = u << 8 | p[i];
    if (n < 8 && n > 0 && (p[0] & 0x80)) /* sign-extend int2, int4 */
        u |= ~(uint64_t)0 << (8 * n);
    return (int64_t)u;
}

int64_t
pg_col_int(const PGresult *r, int row, int col)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    int                  n = PQgetlength(r, row, col);

    if (PQgetisnull(r, row, col))
        return 0;
    if (PQftype(r, col) == OID_BOOL)
        return n == 1 && p[0] != 0;
    return n == 2 || n == 4 || n == 8 ? be_int(p, n) : 0;
}

double
pg_col_float(const PGresult *r, int row, int col)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    union {
        uint64_t u;
        double   d;
        uint32_t u4;
        float    f;
    } x;

    if (PQgetisnull(r, row, col))
        return 0;
    if (PQftype(r, col) == OID_FLOAT4 && PQgetlength(r, row, col) == 4) {
        x.u4 = (uint32_t)be_int(p, 4);
        return x.f;
    }
    if (PQgetlength(r, row, col) != 8)
        return (double)pg_col_int(r, row, col);
    x.u = (uint64_t)be_int(p, 8);
    return x.d;
}

/* Text, BYTEA or JSONB (its version byte skipped) as bytes in `a`. */
struct str
pg_col_str(const PGresult *r, int row, int col, struct arena *a)
{
    const char *p = PQgetvalue(r, row, col);
    size_t      n = (size_t)PQgetlength(r, row, col);

    if (PQgetisnull(r, row, col))
        return STR_NULL;
    if (PQftype(r, col) == OID_JSONB && n > 0) {
        p++;
        n--;
    }
    return (struct str){ arena_strndup(a, p, n), n };
}

int
pg_col_doc(const PGresult *r, int row, int col, struct arena *a, struct val *out)
{
    struct errbuf eb;

    if (msgpack_decode(a, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col), 64, out,
                       &eb) != E_OK) {
        log_error("store: undecodable document: %s", eb.msg);
        return E_INTERNAL;
    }
    return E_OK;
}

/* One column of a projected row as the attribute's value. */
static int
column_attr(const PGresult *r, int row, int col, const struct attr *at, struct arena *a,
            struct val *out)
{
    struct errbuf eb;
    struct str    s;

    switch (at->type) {
    case T_BOOL:
        *out = val_bool(pg_col_int(r, row, col) != 0);
        return E_OK;
    case T_INT:
        *out = val_int(pg_col_int(r, row, col));
        return E_OK;
    case T_FLOAT:
        *out = val_float(pg_col_float(r, row, col));
        return E_OK;
    case T_TIME:
        *out = val_time(a, pg_col_int(r, row, col));
        return E_OK;
    case T_STRING:
        *out = val_str(pg_col_str(r, row, col, a));
        return E_OK;
    default: /* lists and maps: JSONB */
        s = pg_col_str(r, row, col, a);
        return json_decode(a, s.p, s.len, 64, out, &eb);
    }
}

/* A row as the object's map: its document, or its projected columns. */
int
pg_read_row(const PGresult *r, int row, const struct listq *q, struct arena *a, struct val *out)
{
    if (q == NULL || q->project == NULL)
        return pg_col_doc(r, row, 0, a, out);
    *out = val_map();
    for (size_t i = 0; i < q->nproject; i++) {
        struct val v;
        if (PQgetisnull(r, row, (int)i))
            continue;
        if (column_attr(r, row, (int)i, q->project[i], a, &v) != E_OK)
            return E_INTERNAL;
        val_set(a, out, q->project[i]->name, v);
    }
    return E_OK;
}

/* A query's rows, each read by `fn`; E_OK, or the mapped error. */
int
pq_rows(struct pconn *c, const char *sql, const struct pargs *p, const char *what,
        PGresult **out)
{
    PGresult *r = pq_run(c, sql, p);

    *out = NULL;
    if (r == NULL)
        return pq_err(c, NULL, what);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        int rc = pq_err(c, r, what);
        PQclear(r);
        return rc;
    }
    *out = r;
    return E_OK;
}

/* ---- reads ------------------------------------------------------------- */

int
pg_run_find(struct pconn *c, const struct spec *s, const struct scope *sc, const char *attr,
            struct str value, struct arena *a, struct val *out)
{
    struct buf         sql;
    struct sqlparams   ps = { 0 };
    struct pargs       p = { .a = a };
    const struct attr *at = spec_attr(s, str_c(attr));
    PGresult          *r;
    int                rc;

    if (at == NULL || !attr_is_column(at))
        return E_INTERNAL;
    buf_init(&sql, SQL_MAX);
    sql_select_one(&sql, s, at, value, sc, SQL_POSTGRES, a, &ps);
    pg_args_from(&p, &ps);
    if (strcmp(attr, "ID") == 0) /* unique in every table: its index, whatever the data */
        pq_generic(c);
    rc = pq_rows(c, buf_cstr(&sql), &p, "find", &r);
    buf_free(&sql);
    if (rc != E_OK)
        return rc;
    rc = PQntuples(r) > 0 ? pg_col_doc(r, 0, 0, a, out) : E_NOTFOUND;
    PQclear(r);
    return rc;
}

static int
st_find(struct store *base, const struct spec *s, const struct scope *sc, const char *attr,
        struct str value, struct arena *a, struct val *out, struct errbuf *eb)
{
    struct pconn *c = pg_reader((struct pg_store *)base);
    int           rc;

    if (c == NULL)
        return errbuf_set(eb, E_UNAVAILABLE, "store unavailable");
    rc = pg_run_find(c, s, sc, attr, value, a, out);
    if (rc == E_NOTFOUND)
        return errbuf_set(eb, E_NOTFOUND, "Could not find the object");
    if (rc != E_OK)
        return errbuf_set(eb, rc, "store error");
    return E_OK;
}

int
pg_count_rows(struct pconn *c, const char *sql, const struct sqlparams *ps, struct arena *a,
              int64_t *total)
{
    struct pargs p = { .a = a };
    PGresult    *r;
    int          rc;

    pg_args_from(&p, ps);
    if ((rc = pq_rows(c, sql, &p, "count", &r)) != E_OK)
        return rc;
    *total = PQntuples(r) > 0 ? pg_col_int(r, 0, 0) : 0;
    PQclear(r);
    return E_OK;
}

static int
fetch_rows(struct pconn *c, const char *sql, const struct sqlparams *ps, const struct listq *q,
           struct arena *a, struct val *items)
{
    struct pargs p = { .a = a };
    PGresult    *r;
    int          rc;

    pg_args_from(&p, ps);
    if ((rc = pq_rows(c, sql, &p, "list", &r)) != E_OK)
        return rc;
    *items = val_arr();
    for (int i = 0; i < PQntuples(r) && rc == E_OK; i++) {
        struct val v;
        if ((rc = pg_read_row(r, i, q, a, &v)) == E_OK)
            val_push(a, items, v);
    }
    PQclear(r);
    return rc;
}

int
pg_list_on(struct pconn *c, const struct spec *s, const struct listq *q, struct arena *a,
           struct val *items, int64_t *total, struct errbuf *eb)
{
    struct buf       sql;
    struct sqlparams ps = { 0 };
    int              rc = E_OK;

    buf_init(&sql, SQL_MAX);
    if (total != NULL && q->want_total) {
        rc = sql_count(&sql, s, q, SQL_POSTGRES, a, &ps, eb);
        if (rc == E_OK)
            rc = pg_count_rows(c, buf_cstr(&sql), &ps, a, total);
        buf_reset(&sql);
        ps.n = 0;
    }
    if (rc == E_OK)
        rc = sql_select(&sql, s, q, SQL_POSTGRES, a, &ps, eb);
    if (rc == E_OK)
        rc = fetch_rows(c, buf_cstr(&sql), &ps, q, a, items);
    buf_free(&sql);
    if (rc != E_OK && (int)eb->code != rc)
        errbuf_set(eb, rc, "store error");
    return rc;
}

static int
st_list(struct store *base, const struct spec *s, const struct listq *q, struct arena *a,
        struct val *items, int64_t *total, struct errbuf *eb)
{
    struct pconn *c = pg_reader((struct pg_store *)base);

    if (c == NULL)
        return errbuf_set(eb, E_UNAVAILABLE, "store unavailable");
    /* The count and the page from one snapshot, as SQLite's one read. */
    if (q->want_total && pq_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != E_OK)
        return errbuf_set(eb, E_UNAVAILABLE, "store unavailable");
    int rc = pg_list_on(c, s, q, a, items, total, eb);
    if (q->want_total)
        pq_exec(c, rc == E_OK ? "COMMIT" : "ROLLBACK");
    return rc;
}

static int
meta_read(struct pconn *c, const char *key, struct arena *a, struct str *value)
{
    struct pargs p = { .a = a };
    PGresult    *r;
    int          rc;

    pg_arg_cstr(&p, key);
    if ((rc = pq_rows(c, "SELECT value FROM meta WHERE key = $1", &p, "meta", &r)) != E_OK)
        return rc;
    rc = PQntuples(r) > 0 ? E_OK : E_NOTFOUND;
    if (rc == E_OK)
        *value = pg_col_str(r, 0, 0, a);
    PQclear(r);
    return rc;
}

static int
st_meta_get(struct store *base, const char *key, struct arena *a, struct str *value)
{
    struct pconn *c = pg_reader((struct pg_store *)base);

    return c == NULL ? E_UNAVAILABLE : meta_read(c, key, a, value);
}

/* Within PING_WAIT_MS, connecting included (libpq's connect_timeout is in
 * seconds): /health is 503 within seconds when the database stops answering. */
static bool
st_ping(struct store *base)
{
    struct pconn *c;
    int           wait_ms;
    bool          ok;

    if (pg_watch_recently_silent(((struct pg_store *)base)->watch))
        return false;
    if ((c = pg_reader_within((struct pg_store *)base, PING_CONNECT_S)) == NULL)
        return false;
    wait_ms = c->wait_ms;
    c->wait_ms = PING_WAIT_MS;
    ok = pq_do(c, "SELECT 1 FROM meta LIMIT 1", NULL, "ping", NULL) == E_OK;
    c->wait_ms = wait_ms;
    return ok;
}

/* The database server's clock: one for every Keyward server on the database. */
static int
st_clock_ms(struct store *base, int64_t *now)
{
    struct pconn *c = pg_reader((struct pg_store *)base);
    PGresult     *r;

    if (c == NULL || pq_rows(c, "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
                             NULL, "clock", &r) != E_OK)
        return E_UNAVAILABLE;
    *now = PQntuples(r) == 1 ? pg_col_int(r, 0, 0) : 0;
    PQclear(r);
    return *now > 0 ? E_OK : E_INTERNAL;
}

/* ---- the store's operations, and opening it ---------------------------- */

static const struct store_ops pg_ops = {
    .find = st_find,
    .list = st_list,
    .submit = pg_st_submit,
    .meta_get = st_meta_get,
    .close = pg_st_close,
    .ping = st_ping,
    .job_next = pg_st_job_next,
    .job_waiting = pg_st_job_waiting,
    .job_get = pg_st_job_get,
    .cursor_open = pg_st_cursor_open,
    .cursor_next = pg_st_cursor_next,
    .cursor_close = pg_st_cursor_close,
    .aggregate = pg_st_aggregate,
    .others_wrote = pg_st_others_wrote,
    .follow_later = pg_st_follow_later,
    .follow_settle = pg_st_follow_settle,
    .find_ids = pg_st_find_ids,
    .clock_ms = st_clock_ms,
};

int
store_open_pg(const char *url, struct store **out, struct errbuf *eb)
{
    struct pg_store *st = calloc(1, sizeof *st);
    int              rc;

    if (st == NULL || (st->url = strdup(url)) == NULL)
        abort();
    config_url_redacted(url, st->shown, sizeof st->shown);
    if ((rc = pg_url_secrets(&st->secrets, url, st->shown, eb)) != E_OK) {
        pg_url_forget(&st->secrets);
        free(st->url);
        free(st);
        return rc;
    }
    pg_url_scrub(&st->secrets, st->shown); /* what the redaction's reading of it missed */
    st->base.ops = &pg_ops;
    wqueue_init(&st->q);
    pthread_mutex_init(&st->readers_mu, NULL);
    pthread_mutex_init(&st->announced_mu, NULL);
    pthread_key_create(&st->reader_key, NULL); /* readers are closed by pg_st_close */
    st->watch = pg_watch_new(st);
    rc = pg_conn_open(&st->writer, st, true, eb);
    if (rc == E_OK)
        rc = pg_schema_update(&st->writer, eb);
    if (rc == E_OK && pthread_create(&st->thread, NULL, pg_writer_main, st) != 0)
        rc = errbuf_set(eb, E_INTERNAL, "store: cannot start the writer thread");
    if (rc != E_OK) {
        if (strstr(eb->msg, st->shown) == NULL) {
            char why[sizeof eb->msg];
            snprintf(why, sizeof why, "%s", eb->msg);
            snprintf(eb->msg, sizeof eb->msg, "%.100s: %.150s", st->shown, why);
        }
        pg_conn_close(&st->writer);
        pg_watch_free(st->watch);
        pthread_key_delete(st->reader_key);
        pg_url_forget(&st->secrets);
        free(st->url);
        free(st);
        return rc;
    }
    *out = &st->base;
    return E_OK;
}
