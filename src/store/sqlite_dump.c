/* sqlite_dump.c - the SQLite side of store_dump (store.h): every row of the
 * named tables, read through a read-only connection of its own.
 *
 * Beside a running server: the file is opened SQLITE_OPEN_READONLY (never
 * created) with query_only on, so nothing can be written, not even by mistake;
 * WAL lets this reader run while the server's writer commits (it sees the
 * snapshot of its read transaction), and the busy timeout covers the moments
 * the WAL index is being rebuilt. A read-only connection never checkpoints.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store.h"

int store_dump_sqlite(const char *path, const char *const *tables, size_t ntables,
                      dump_row_fn fn, void *arg, struct errbuf *eb);

#define DUMP_COLS_MAX 128

static int
dump_fail(sqlite3 *db, const char *path, const char *what, struct errbuf *eb)
{
    return errbuf_set(eb, E_UNAVAILABLE, "%.200s: %s: %s", path, what,
                      db ? sqlite3_errmsg(db) : "out of memory");
}

/* 1 when the store has `table`, 0 when not, -1 on error. */
static int
has_table(sqlite3 *db, const char *table)
{
    sqlite3_stmt *st = NULL;
    int           rc;

    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int
dump_table(sqlite3 *db, const char *path, const char *table, dump_row_fn fn, void *arg,
           struct errbuf *eb)
{
    const struct spec *s = spec_by_rest(str_c(table));
    struct dump_cell   cells[DUMP_COLS_MAX];
    sqlite3_stmt      *st = NULL;
    char               sql[256];
    int                rc, ncols;

    /* The name is one of store_dump's known tables: plain ASCII, quoted anyway. */
    snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" ORDER BY rowid", table);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return dump_fail(db, path, table, eb);
    ncols = sqlite3_column_count(st);
    if (ncols > DUMP_COLS_MAX) {
        sqlite3_finalize(st);
        return errbuf_set(eb, E_INTERNAL, "%.200s: %s: too many columns", path, table);
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < ncols; i++) {
            struct dump_cell *c = &cells[i];
            *c = (struct dump_cell){ .name = sqlite3_column_name(st, i) };
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_INTEGER:
                c->t = DUMP_INT;
                c->i = sqlite3_column_int64(st, i);
                break;
            case SQLITE_FLOAT:
                c->t = DUMP_FLOAT;
                c->f = sqlite3_column_double(st, i);
                break;
            case SQLITE_TEXT:
                c->t = DUMP_TEXT;
                c->bytes.p = (const char *)sqlite3_column_text(st, i);
                c->bytes.len = (size_t)sqlite3_column_bytes(st, i);
                break;
            case SQLITE_BLOB:
                c->t = DUMP_BLOB;
                c->bytes.p = sqlite3_column_blob(st, i);
                c->bytes.len = (size_t)sqlite3_column_bytes(st, i);
                if (c->bytes.p == NULL)
                    c->bytes.p = "";
                break;
            default:
                c->t = DUMP_NULL;
            }
            c->doc = s != NULL && c->t == DUMP_BLOB && strcmp(c->name, "doc") == 0;
        }
        int frc = fn(arg, table, cells, (size_t)ncols);
        if (frc != 0) {
            sqlite3_finalize(st);
            return frc;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? E_OK : dump_fail(db, path, table, eb);
}

int
store_dump_sqlite(const char *path, const char *const *tables, size_t ntables, dump_row_fn fn,
                  void *arg, struct errbuf *eb)
{
    sqlite3 *db = NULL;
    char    *msg = NULL;
    int      rc = E_OK, has;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = dump_fail(db, path, "cannot open", eb);
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 10000);
    if (sqlite3_exec(db, "PRAGMA query_only=1; BEGIN", NULL, NULL, &msg) != SQLITE_OK) {
        errbuf_set(eb, E_UNAVAILABLE, "%.200s: %s", path, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        sqlite3_close(db);
        return E_UNAVAILABLE;
    }
    /* Every release's store has meta (migration 1): without it this is some
     * other database, or an empty file. */
    has = has_table(db, "meta");
    if (has < 0)
        rc = dump_fail(db, path, "cannot read the schema", eb);
    else if (has == 0)
        rc = errbuf_set(eb, E_UNAVAILABLE, "%.200s: not a Keyward store (no meta table)", path);
    for (size_t i = 0; i < ntables && rc == E_OK; i++) {
        has = has_table(db, tables[i]);
        if (has < 0)
            rc = dump_fail(db, path, "cannot read the schema", eb);
        else if (has > 0)
            rc = dump_table(db, path, tables[i], fn, arg, eb);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}
