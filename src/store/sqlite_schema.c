/* sqlite_schema.c - the SQLite store's schema, made when the store opens: the
 * numbered migrations, then the tables derived from the specs (their columns,
 * indexes, side tables, counts and substring indexes).
 */
#include <stdio.h>

#include "../core/buf.h"
#include "../core/log.h"
#include "../core/timeutil.h"
#include "sqlite_local.h"

/* ---- schema ------------------------------------------------------------ */

int
sqlite_exec_script(struct conn *c, const char *sql, struct errbuf *eb)
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
        rc = sqlite_exec_script(c, buf_cstr(&sql), eb);
        buf_free(&sql);
        if (rc != E_OK)
            return rc;
    }
    return E_OK;
}

/* Numbered migrations: hand-written schema changes, applied once each, in
 * order, each in its own transaction together with its row in
 * schema_migrations, so a crash leaves every migration applied or not. The
 * spec tables are not among them: they follow the specs (sqlite_sync_spec_tables) at
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
    int     rc = sqlite_exec_script(c,
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
    else if (!applied && (rc = sqlite_exec_script(c, m->sql, eb)) == E_OK &&
             (rc = migration_record(c, m->version)) != E_OK)
        errbuf_set(eb, rc, "store: migration %lld: %s", (long long)m->version,
                   sqlite3_errmsg(c->db));
    if (rc == E_OK && !applied)
        log_info("store: applied migration %lld", (long long)m->version);
    if (rc == E_OK)
        return sqlite_exec_script(c, "COMMIT;", eb);
    sqlite_exec_script(c, "ROLLBACK;", NULL);
    return rc;
}

int
sqlite_migrate(struct conn *c, struct errbuf *eb)
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
        rc = sqlite_exec_script(c, buf_cstr(&sql), eb);
        buf_free(&sql);
    }
    return rc;
}

/* True when the counts table `table` has a row of dimension `dim`. */
static bool
has_dim(struct conn *c, const char *table, const char *dim)
{
    sqlite3_stmt *stmt = NULL;
    char          q[320];
    bool          found = false;

    snprintf(q, sizeof q, "SELECT 1 FROM \"%s\" WHERE dim = ? LIMIT 1", table);
    if (sqlite3_prepare_v2(c->db, q, -1, &stmt, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(stmt, 1, dim, -1, SQLITE_STATIC);
    found = sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_finalize(stmt);
    return found;
}

/* The counts of a spec's counted dimensions (spec.counted), filled from the
 * rows when the table is new, and each dimension the spec added since when
 * it is not (a filled one always has a row, sql_counts_fill_dim). The
 * triggers are made again at every start, so they follow the spec. All in
 * the start's transaction. */
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
    for (const char *const *dim = s->counted; !fill && *dim != NULL; dim++)
        if (!has_dim(c, name, *dim))
            sql_counts_fill_dim(&sql, s, *dim, SQL_SQLITE);
    rc = sqlite_exec_script(c, buf_cstr(&sql), eb);
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
        rc = sqlite_exec_script(c, buf_cstr(&sql), eb);
        buf_free(&sql);
        if (rc == E_OK && fill && sqlite3_changes(c->db) > 0)
            log_info("store: substring index %s filled from %d rows", name,
                     sqlite3_changes(c->db));
    }
    return rc;
}

/* The spec tables, their new columns and indexes: derived from the specs, so
 * a new resource or a new queryable attribute needs no numbered migration. */
int
sqlite_sync_spec_tables(struct conn *c, struct errbuf *eb)
{
    int rc = E_OK;

    for (size_t i = 0; i < spec_count && rc == E_OK; i++) {
        const struct spec *s = spec_all[i];
        struct buf         sql;
        if (s->not_namespaced)
            continue;
        buf_init(&sql, SQL_MAX);
        sql_create_table(&sql, s, SQL_SQLITE);
        rc = sqlite_exec_script(c, buf_cstr(&sql), eb);
        buf_free(&sql);
        if (rc == E_OK)
            rc = add_missing_columns(c, s, eb);
        if (rc == E_OK && s->bulk && !has_column(c, s->rest, "nsid")) {
            buf_init(&sql, SQL_MAX);
            sql_add_nsid(&sql, s, SQL_SQLITE);
            rc = sqlite_exec_script(c, buf_cstr(&sql), eb);
            buf_free(&sql);
        }
        if (rc == E_OK) {
            buf_init(&sql, SQL_MAX);
            sql_create_indexes(&sql, s, SQL_SQLITE);
            rc = sqlite_exec_script(c, buf_cstr(&sql), eb);
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
