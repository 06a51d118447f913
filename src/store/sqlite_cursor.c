/* sqlite_cursor.c - the SQLite store's long reads: cursors, a list read row by
 * row on a connection of its own (store.h cursor_open), and aggregates, every
 * part of one read in one snapshot of the thread's reader.
 */
#include <stdlib.h>

#include "../core/buf.h"
#include "sqlite_local.h"

/* ---- cursors: long reads on a connection of their own ------------------ */

/* A list read row by row (store.h cursor_open). Its connection is its own, so
 * its read transaction (one snapshot for the count and every row) never pins
 * the thread's reader: the thread's other requests see new commits meanwhile. */
struct store_cursor {
    struct conn   c;
    sqlite3_stmt *stmt; /* in c's statement cache: sqlite_conn_close finalizes it */
    bool          done;
    struct listq  q; /* its projection (in the caller's arena) */
};

void
sqlite_st_cursor_close(struct store_cursor *cur)
{
    if (cur == NULL)
        return;
    if (cur->stmt != NULL)
        sqlite3_reset(cur->stmt);
    if (cur->c.db != NULL && !sqlite3_get_autocommit(cur->c.db))
        sqlite_exec_simple(&cur->c, "COMMIT"); /* a read: nothing to lose, ends the snapshot */
    sqlite_conn_close(&cur->c);
    free(cur);
}

int
sqlite_st_cursor_open(struct store *base, const struct spec *s, const struct listq *lq,
                      struct arena *a, struct store_cursor **out, int64_t *total,
                      struct errbuf *eb)
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
    if ((rc = sqlite_conn_open(&cur->c, st->path, false, eb)) != E_OK)
        goto out;
    if ((rc = sqlite_exec_simple(&cur->c, "BEGIN")) != E_OK)
        goto out;
    planned.filter = sqlite_fts_plan(&cur->c, s, lq->filter, a);
    if (q->want_total) {
        if ((rc = sql_count(&sql, s, q, SQL_SQLITE, a, &ps, eb)) != E_OK ||
            (rc = sqlite_count_rows(&cur->c, buf_cstr(&sql), &ps, total)) != E_OK)
            goto out;
        buf_reset(&sql);
        ps.n = 0;
    }
    if ((rc = sql_select(&sql, s, q, SQL_SQLITE, a, &ps, eb)) != E_OK)
        goto out;
    if ((cur->stmt = sqlite_conn_stmt(&cur->c, buf_cstr(&sql))) == NULL ||
        sqlite_bind_params(cur->stmt, 1, &ps) != SQLITE_OK) {
        rc = E_INTERNAL;
        goto out;
    }
    cur->q = *q;
    *out = cur;
    cur = NULL;
out:
    buf_free(&sql);
    sqlite_st_cursor_close(cur);
    if (rc != E_OK && (int)eb->code != rc)
        errbuf_set(eb, rc, "store error");
    return rc;
}

int
sqlite_st_cursor_next(struct store_cursor *cur, struct arena *a, struct val *out)
{
    int rc;

    if (cur->done)
        return 0;                      /* stepping a finished statement would start it over */
    sqlite_conn_row_deadline(&cur->c); /* each row is waited for as a read's answer */
    rc = sqlite3_step(cur->stmt);
    if (rc == SQLITE_ROW)
        return sqlite_read_row(cur->stmt, &cur->q, a, out) == E_OK ? 1 : -(int)E_INTERNAL;
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
        return val_str(sqlite_col_str(stmt, col, a));
    }
}

/* The rows of an aggregate's statement, each [by..., count] to its part: to
 * parts[0], or (`tagged`: sql_aggregate_once) to the part its first column
 * names. */
static int
aggregate_rows(struct conn *c, const char *sql, const struct sqlparams *ps,
               struct agg_part *parts, size_t nparts, bool tagged, struct arena *a)
{
    sqlite3_stmt *stmt = sqlite_conn_stmt(c, sql);
    int           rc;

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite_bind_params(stmt, 1, ps);
    for (size_t i = 0; i < nparts; i++)
        parts[i].out = val_arr();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t    i = tagged ? sqlite3_column_int64(stmt, 0) : 0;
        struct val row = val_arr();
        if (i < 0 || (size_t)i >= nparts)
            continue;
        for (size_t k = 0; k <= parts[i].nby; k++)
            val_push(a, &row, column_val(stmt, (int)(k + tagged), a));
        val_push(a, &parts[i].out, row);
    }
    rc = rc == SQLITE_DONE ? E_OK : sqlite_err(c, rc, "aggregate");
    sqlite3_reset(stmt);
    return rc;
}

int
sqlite_st_aggregate(struct store *base, const struct spec *s, const struct scope *sc,
                    const struct fnode *filter, struct agg_part *parts, size_t nparts,
                    struct arena *a, struct errbuf *eb)
{
    struct conn     *c = sqlite_reader((struct sqlite_store *)base);
    struct buf       sql;
    struct sqlparams ps = { 0 };
    int              rc;

    if (c == NULL)
        return errbuf_set(eb, E_UNAVAILABLE, "store unavailable");
    if ((rc = sqlite_exec_simple(c, "BEGIN")) != E_OK) /* one snapshot for every part */
        return errbuf_set(eb, rc, "store error");
    filter = sqlite_fts_plan(c, s, filter, a);
    buf_init(&sql, SQL_MAX);
    if (filter != NULL) { /* the filtered rows read once, not once per part */
        rc = sql_aggregate_once(&sql, s, sc, filter, parts, nparts, a, &ps, eb);
        if (rc == E_OK)
            rc = aggregate_rows(c, buf_cstr(&sql), &ps, parts, nparts, true, a);
        nparts = 0;
    }
    for (size_t i = 0; i < nparts && rc == E_OK; i++) {
        buf_reset(&sql);
        ps.n = 0;
        rc = sql_aggregate(&sql, s, sc, filter, &parts[i], SQL_SQLITE, a, &ps, eb);
        if (rc == E_OK)
            rc = aggregate_rows(c, buf_cstr(&sql), &ps, &parts[i], 1, false, a);
    }
    sqlite_exec_simple(c, "COMMIT");
    buf_free(&sql);
    if (rc != E_OK && (int)eb->code != rc)
        errbuf_set(eb, rc, "store error");
    return rc;
}
