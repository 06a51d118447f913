/* pg_cursor.c - the PostgreSQL store's long reads: cursors, a list read row by
 * row on a connection of its own (an export), and aggregates, every part from
 * one snapshot of the thread's read connection.
 */
#include <stdlib.h>

#include "pg_local.h"

/* ---- cursors: long reads on a connection of their own ------------------ */

/* A list read row by row (store.h cursor_open): one REPEATABLE READ
 * transaction on a connection of its own (the count and every row from one
 * snapshot), the rows streamed in single-row mode. */
struct store_cursor {
    struct pconn c;
    bool         done;
    struct listq q; /* its projection (in the caller's arena) */
};

/* A read: nothing to lose. Closing the connection ends the snapshot and drops
 * the rows not read yet (the backend stops at its next send); no cancel
 * request, which would wait for a database that stopped answering. */
void
pg_st_cursor_close(struct store_cursor *cur)
{
    if (cur == NULL)
        return;
    pg_conn_close(&cur->c);
    free(cur);
}

int
pg_st_cursor_open(struct store *base, const struct spec *s, const struct listq *q,
                  struct arena *a, struct store_cursor **out, int64_t *total, struct errbuf *eb)
{
    struct pg_store     *st = (struct pg_store *)base;
    struct store_cursor *cur = calloc(1, sizeof *cur);
    struct sqlparams     ps = { 0 };
    struct pargs         p = { .a = a };
    struct buf           sql;
    char                 name[24];
    int                  rc;

    *out = NULL;
    if (cur == NULL)
        return errbuf_set(eb, E_INTERNAL, "out of memory");
    cur->done = true;
    buf_init(&sql, SQL_MAX);
    /* An export streams as fast as its client reads: no statement timeout. */
    if ((rc = pg_conn_open(&cur->c, st, false, eb)) != E_OK ||
        (rc = pq_exec(&cur->c, "SET statement_timeout = 0")) != E_OK ||
        (rc = pq_exec(&cur->c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) != E_OK)
        goto out;
    if (q->want_total) {
        if ((rc = sql_count(&sql, s, q, SQL_POSTGRES, a, &ps, eb)) != E_OK ||
            (rc = pg_count_rows(&cur->c, buf_cstr(&sql), &ps, a, total)) != E_OK)
            goto out;
        buf_reset(&sql);
        ps.n = 0;
    }
    if ((rc = sql_select(&sql, s, q, SQL_POSTGRES, a, &ps, eb)) != E_OK)
        goto out;
    pg_args_from(&p, &ps);
    if (pg_conn_prepare(&cur->c, buf_cstr(&sql), &p, name) == NULL ||
        !PQsendQueryPrepared(cur->c.pg, name, p.n, p.v, p.len, p.fmt, 1) ||
        !PQsetSingleRowMode(cur->c.pg)) {
        rc = E_UNAVAILABLE;
        goto out;
    }
    cur->done = false;
    cur->q = *q;
    *out = cur;
    cur = NULL;
out:
    buf_free(&sql);
    pg_st_cursor_close(cur);
    if (rc != E_OK && (int)eb->code != rc)
        errbuf_set(eb, rc, "store error");
    return rc;
}

int
pg_st_cursor_next(struct store_cursor *cur, struct arena *a, struct val *out)
{
    PGresult *r;
    int       rc;

    if (cur->done)
        return 0;
    r = pq_next(&cur->c); /* each row within the read's wait, not the whole export */
    if (r != NULL && PQresultStatus(r) == PGRES_SINGLE_TUPLE) {
        rc = pg_read_row(r, 0, &cur->q, a, out) == E_OK ? 1 : -(int)E_INTERNAL;
        PQclear(r);
        return rc;
    }
    cur->done = true;
    rc = r != NULL && PQresultStatus(r) != PGRES_TUPLES_OK ? -pq_err(&cur->c, r, "cursor")
         : cur->c.pg == NULL                               ? -(int)E_UNAVAILABLE /* no answer */
                                                           : 0;
    PQclear(r);
    while ((r = pq_next(&cur->c)) != NULL)
        PQclear(r);
    return rc;
}

/* A column of an aggregate's row as a value (in `a`). */
static struct val
column_val(const PGresult *r, int row, int col, struct arena *a)
{
    if (PQgetisnull(r, row, col))
        return val_null();
    switch (PQftype(r, col)) {
    case OID_INT8:
    case OID_INT4:
    case OID_INT2:
        return val_int(pg_col_int(r, row, col));
    case OID_BOOL: /* as SQLite keeps booleans */
        return val_int(pg_col_int(r, row, col));
    case OID_FLOAT8:
    case OID_FLOAT4:
        return val_float(pg_col_float(r, row, col));
    default:
        return val_str(pg_col_str(r, row, col, a));
    }
}

static int
aggregate_part(struct pconn *c, const char *sql, const struct sqlparams *ps, size_t ncols,
               struct arena *a, struct val *out)
{
    struct pargs p = { .a = a };
    PGresult    *r;
    int          rc;

    pg_args_from(&p, ps);
    if ((rc = pq_rows(c, sql, &p, "aggregate", &r)) != E_OK)
        return rc;
    *out = val_arr();
    for (int i = 0; i < PQntuples(r); i++) {
        struct val row = val_arr();
        for (size_t k = 0; k < ncols; k++)
            val_push(a, &row, column_val(r, i, (int)k, a));
        val_push(a, out, row);
    }
    PQclear(r);
    return E_OK;
}

int
pg_st_aggregate(struct store *base, const struct spec *s, const struct scope *sc,
                const struct fnode *filter, struct agg_part *parts, size_t nparts,
                struct arena *a, struct errbuf *eb)
{
    struct pconn    *c = pg_reader((struct pg_store *)base);
    struct buf       sql;
    struct sqlparams ps = { 0 };
    int              rc;

    if (c == NULL)
        return errbuf_set(eb, E_UNAVAILABLE, "store unavailable");
    /* one snapshot for every part */
    if ((rc = pq_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) != E_OK)
        return errbuf_set(eb, rc, "store error");
    buf_init(&sql, SQL_MAX);
    for (size_t i = 0; i < nparts && rc == E_OK; i++) {
        buf_reset(&sql);
        ps.n = 0;
        rc = sql_aggregate(&sql, s, sc, filter, &parts[i], SQL_POSTGRES, a, &ps, eb);
        if (rc == E_OK)
            rc = aggregate_part(c, buf_cstr(&sql), &ps, parts[i].nby + 1, a, &parts[i].out);
    }
    pq_exec(c, rc == E_OK ? "COMMIT" : "ROLLBACK");
    buf_free(&sql);
    if (rc != E_OK && (int)eb->code != rc)
        errbuf_set(eb, rc, "store error");
    return rc;
}
