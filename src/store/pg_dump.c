/* pg_dump.c - the PostgreSQL side of store_dump (store.h): every row of the
 * named tables, read through a connection of its own.
 *
 * Beside running servers: one REPEATABLE READ READ ONLY transaction is one
 * snapshot of every table, and cannot write even by mistake. A cursor brings
 * the rows a thousand at a time, so a large table never sits in memory.
 *
 * Rows come in key order ("ID" for a spec's table, else the first column:
 * meta's key, jobs' id, ...), not in insertion order as from SQLite: a table
 * here has no rowid, and ctid is only where a row happens to lie.
 *
 * Values come in binary format, each as SQLite's dump gives the same value:
 * BOOLEAN as the 0/1 SQLite stores, integers and floats bit for bit, BYTEA as
 * its bytes. JSONB is the one exception: PostgreSQL keeps the JSON, not the
 * text written, so its text has PostgreSQL's spacing (", ", ": ") and an
 * object's keys in jsonb's order (the same JSON all the same).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/config.h"
#include "pg_local.h"
#include "store.h"

int store_dump_pg(const char *url, const char *const *tables, size_t ntables, dump_row_fn fn,
                  void *arg, struct errbuf *eb);

#define DUMP_COLS_MAX 128

/* Type OIDs (catalog/pg_type_d.h is a server header). */
#define OID_BOOL    16
#define OID_BYTEA   17
#define OID_NAME    19
#define OID_INT8    20
#define OID_INT2    21
#define OID_INT4    23
#define OID_TEXT    25
#define OID_JSON    114
#define OID_FLOAT4  700
#define OID_FLOAT8  701
#define OID_BPCHAR  1042
#define OID_VARCHAR 1043
#define OID_JSONB   3802

/* The first line of PostgreSQL's reason (hints and details follow it). */
static int
dump_fail(PGconn *pg, const PGresult *r, const char *shown, const char *what, struct errbuf *eb)
{
    const char *why = r != NULL ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

    if (why == NULL)
        why = pg != NULL ? PQerrorMessage(pg) : "out of memory";
    return errbuf_set(eb, E_UNAVAILABLE, "%.150s: %s: %.*s", shown, what,
                      (int)strcspn(why, "\n"), why);
}

/* `sql` with $1 = param (none when NULL), results in binary; NULL (eb set)
 * unless it ends as `want`. */
static PGresult *
run(PGconn *pg, const char *shown, const char *sql, const char *param, ExecStatusType want,
    const char *what, struct errbuf *eb)
{
    PGresult *r = PQexecParams(pg, sql, param != NULL, NULL, &param, NULL, NULL, 1);

    if (PQresultStatus(r) == want)
        return r;
    dump_fail(pg, r, shown, what, eb);
    PQclear(r);
    return NULL;
}

/* 1 when the store has `table`, 0 when not, -1 (eb set) on error. */
static int
has_table(PGconn *pg, const char *shown, const char *table, struct errbuf *eb)
{
    char      quoted[80];
    PGresult *r;
    int       has;

    snprintf(quoted, sizeof quoted, "\"%s\"", table);
    r = run(pg, shown, "SELECT to_regclass($1)", quoted, PGRES_TUPLES_OK,
            "cannot read the schema", eb);
    if (r == NULL)
        return -1;
    has = !PQgetisnull(r, 0, 0);
    PQclear(r);
    return has;
}

/* A big-endian integer of n (1, 2, 4, 8) bytes, sign-extended. */
static int64_t
be_int(const char *p, int n)
{
    uint64_t u = 0;

    for (int i = 0; i < n; i++)
        u = u << 8 | (unsigned char)p[i];
    return n == 2 ? (int16_t)u : n == 4 ? (int32_t)u : (int64_t)u;
}

/* A non-NULL value of type t (binary format, n bytes at p) into c; false for a
 * type no Keyward store has, or a value not of its type's size. */
static bool
cell_set(struct dump_cell *c, Oid t, const char *p, int n)
{
    union {
        uint32_t u4;
        float    f4;
        uint64_t u8;
        double   f8;
    } x;

    switch (t) {
    case OID_BOOL:
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
        c->t = DUMP_INT;
        c->i = be_int(p, n);
        return n == (t == OID_BOOL ? 1 : t == OID_INT2 ? 2 : t == OID_INT4 ? 4 : 8);
    case OID_FLOAT4:
        c->t = DUMP_FLOAT;
        x.u4 = (uint32_t)be_int(p, 4);
        c->f = x.f4;
        return n == 4;
    case OID_FLOAT8:
        c->t = DUMP_FLOAT;
        x.u8 = (uint64_t)be_int(p, 8);
        c->f = x.f8;
        return n == 8;
    case OID_JSONB: /* a version byte (1), then the text */
        if (n < 1 || p[0] != 1)
            return false;
        p++;
        n--;
        /* fallthrough */
    case OID_TEXT:
    case OID_VARCHAR:
    case OID_BPCHAR:
    case OID_NAME:
    case OID_JSON:
        c->t = DUMP_TEXT;
        c->bytes = (struct str){ p, (size_t)n };
        return true;
    case OID_BYTEA:
        c->t = DUMP_BLOB;
        c->bytes = (struct str){ p, (size_t)n };
        return true;
    default:
        return false;
    }
}

static int
dump_table(PGconn *pg, const char *shown, const char *table, dump_row_fn fn, void *arg,
           struct errbuf *eb)
{
    const struct spec *s = spec_by_rest(str_c(table));
    struct dump_cell   cells[DUMP_COLS_MAX];
    char               sql[256];
    PGresult          *r;
    int                rc = E_OK, nrows;

    /* The name is one of store_dump's known tables: plain ASCII, quoted anyway.
     * ORDER BY 1: the first column. */
    snprintf(sql, sizeof sql,
             "DECLARE kw_dump NO SCROLL CURSOR FOR SELECT * FROM \"%s\" ORDER BY %s", table,
             s != NULL ? "\"ID\"" : "1");
    if ((r = run(pg, shown, sql, NULL, PGRES_COMMAND_OK, table, eb)) == NULL)
        return E_UNAVAILABLE;
    PQclear(r);
    do {
        if ((r = run(pg, shown, "FETCH 1000 FROM kw_dump", NULL, PGRES_TUPLES_OK, table, eb)) ==
            NULL)
            return E_UNAVAILABLE;
        nrows = PQntuples(r);
        int ncols = PQnfields(r);
        if (ncols > DUMP_COLS_MAX)
            rc = errbuf_set(eb, E_INTERNAL, "%.150s: %s: too many columns", shown, table);
        for (int row = 0; row < nrows && rc == E_OK; row++) {
            for (int i = 0; i < ncols && rc == E_OK; i++) {
                struct dump_cell *c = &cells[i];
                *c = (struct dump_cell){ .name = PQfname(r, i), .t = DUMP_NULL };
                if (!PQgetisnull(r, row, i) &&
                    !cell_set(c, PQftype(r, i), PQgetvalue(r, row, i), PQgetlength(r, row, i)))
                    rc = errbuf_set(eb, E_INTERNAL,
                                    "%.150s: %s.%s: a value of type %u, "
                                    "which no Keyward store has",
                                    shown, table, c->name, PQftype(r, i));
                c->doc = s != NULL && c->t == DUMP_BLOB && strcmp(c->name, "doc") == 0;
            }
            if (rc == E_OK)
                rc = fn(arg, table, cells, (size_t)ncols);
        }
        PQclear(r);
    } while (rc == E_OK && nrows > 0);
    if (rc != E_OK)
        return rc;
    /* Frees its name for the next table's cursor. */
    if ((r = run(pg, shown, "CLOSE kw_dump", NULL, PGRES_COMMAND_OK, table, eb)) == NULL)
        return E_UNAVAILABLE;
    PQclear(r);
    return E_OK;
}

int
store_dump_pg(const char *url, const char *const *tables, size_t ntables, dump_row_fn fn,
              void *arg, struct errbuf *eb)
{
    /* Defaults first: the URL's own parameters override them; not the encoding,
     * which must be the store's (UTF8) for text to come out as stored. */
    const char *keys[] = { "connect_timeout", "application_name", "dbname", "client_encoding",
                           NULL };
    const char *vals[] = { "5", "keyward store-dump", url, "UTF8", NULL };
    char        shown[256];
    struct pg_secrets sec = { 0 };
    PGconn           *pg;
    PGresult         *r;
    int               rc = E_OK, has;

    /* Never the password: a URL libpq cannot read is refused with our words
     * (libpq's quote it), and libpq's reason for a failed connection is
     * scrubbed of it (pg_url.c). */
    config_url_redacted(url, shown, sizeof shown);
    if ((rc = pg_url_secrets(&sec, url, shown, eb)) != E_OK) {
        pg_url_forget(&sec);
        return rc;
    }
    pg_url_scrub(&sec, shown);
    pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(pg) != CONNECTION_OK) {
        char *why = strdup(PQerrorMessage(pg));
        if (why != NULL)
            pg_url_scrub(&sec, why);
        rc = errbuf_set(eb, E_UNAVAILABLE, "%.150s: cannot connect: %.*s", shown,
                        why != NULL ? (int)strcspn(why, "\n") : 0, why != NULL ? why : "");
        free(why);
    } else if ((r = run(pg, shown, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL,
                        PGRES_COMMAND_OK, "cannot begin", eb)) == NULL)
        rc = E_UNAVAILABLE;
    else {
        PQclear(r);
        /* Every release's store has meta (migration 1): without it this is some
         * other database, or an empty one. */
        has = has_table(pg, shown, "meta", eb);
        if (has < 0)
            rc = E_UNAVAILABLE;
        else if (has == 0)
            rc = errbuf_set(eb, E_UNAVAILABLE, "%.150s: not a Keyward store (no meta table)",
                            shown);
    }
    for (size_t i = 0; i < ntables && rc == E_OK; i++) {
        has = has_table(pg, shown, tables[i], eb);
        if (has < 0)
            rc = E_UNAVAILABLE;
        else if (has > 0)
            rc = dump_table(pg, shown, tables[i], fn, arg, eb);
    }
    /* Closing ends the read-only transaction: there is nothing to commit. */
    PQfinish(pg);
    pg_url_forget(&sec);
    return rc;
}
