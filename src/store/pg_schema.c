/* pg_schema.c - the PostgreSQL store's schema, brought up to date when the
 * store opens (pg.c store_open_pg): the numbered migrations, then the spec
 * tables, each in a transaction under the schema lock.
 */
#include <stdio.h>
#include <string.h>

#include "../core/digest.h"
#include "../core/log.h"
#include "../core/rnd.h"
#include "../core/timeutil.h"
#include "pg_local.h"

/* The lock migrations and the spec tables' sync take at start. */
#define SCHEMA_LOCK "SELECT pg_advisory_xact_lock(7022514356402)"

/* ---- schema ------------------------------------------------------------ */

/* Several statements in one simple-protocol message. */
static int
exec_script(struct pconn *c, const char *sql, struct errbuf *eb)
{
    PGresult *r = pq_simple(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

    if (!ok) {
        char why[300];
        snprintf(why, sizeof why, "%s",
                 r != NULL       ? PQresultErrorMessage(r)
                 : c->pg != NULL ? PQerrorMessage(c->pg)
                                 : "the database did not answer in time");
        why[strcspn(why, "\n")] = '\0';
        errbuf_set(eb, E_UNAVAILABLE, "store: %s", why);
    }
    PQclear(r);
    return ok ? E_OK : E_UNAVAILABLE;
}

/* Numbered migrations, as sqlite_schema.c's: the same numbers mean the same schema
 * step, in PostgreSQL's own words. Each runs in one transaction under the
 * schema lock: a second server starting at the same moment waits, then finds
 * it applied. PostgreSQL's DDL is transactional. */
struct migration {
    int64_t     version;
    const char *sql;
};

static const struct migration migrations[] = {
    /* pg_trgm: a trusted extension, which the database's owner may create. */
    { 1, "CREATE EXTENSION IF NOT EXISTS pg_trgm;"
         "CREATE TABLE IF NOT EXISTS meta (key TEXT COLLATE \"C\" PRIMARY KEY,"
         " value BYTEA NOT NULL);"
         "CREATE TABLE IF NOT EXISTS idempotency (key TEXT COLLATE \"C\" PRIMARY KEY,"
         " fingerprint TEXT NOT NULL, status INTEGER NOT NULL, body BYTEA NOT NULL,"
         " expires BIGINT NOT NULL);"
         "CREATE INDEX IF NOT EXISTS idempotency_expires ON idempotency (expires);"
         "CREATE TABLE IF NOT EXISTS token_uses (jti TEXT COLLATE \"C\" PRIMARY KEY,"
         " used BIGINT NOT NULL, expires BIGINT NOT NULL);"
         "CREATE TABLE IF NOT EXISTS ephemeral (key TEXT COLLATE \"C\" PRIMARY KEY,"
         " value BYTEA NOT NULL, expires BIGINT NOT NULL);" },
    { 2, "CREATE TABLE jobs (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
         " kind TEXT COLLATE \"C\" NOT NULL, key TEXT COLLATE \"C\", payload BYTEA NOT NULL,"
         " state TEXT NOT NULL, run_at BIGINT NOT NULL, attempts BIGINT NOT NULL,"
         " lease_ms BIGINT NOT NULL, lease_owner TEXT, lease_token BIGINT,"
         " lease_until BIGINT, last_error TEXT, progress TEXT, created BIGINT NOT NULL,"
         " updated BIGINT NOT NULL);"
         "CREATE UNIQUE INDEX jobs_kind_key ON jobs (kind, key);"
         "CREATE INDEX jobs_due ON jobs (run_at) WHERE state IN ('queued', 'running');"
         "CREATE INDEX jobs_finished ON jobs (updated) WHERE state IN ('done', 'failed');" },
    /* What several servers share beyond the rows (docs/postgres.md 3): the
     * generation of announced writes (store_ops.others_wrote). */
    { 3, "CREATE TABLE kw_generation (topic TEXT COLLATE \"C\" PRIMARY KEY,"
         " n BIGINT NOT NULL);"
         "INSERT INTO kw_generation (topic, n) VALUES ('announced', 0);" },
};

/* 1 when applied, 0 when not, and the newest applied version. */
static int
migration_applied(struct pconn *c, int64_t version, bool *applied, int64_t *newest)
{
    struct arena *a = arena_new(256);
    struct pargs  p = { .a = a };
    PGresult     *r;
    int           rc;

    pg_arg_int(&p, version, OID_INT8);
    rc = pq_rows(c,
                 "SELECT count(*) FILTER (WHERE version = $1), coalesce(max(version), 0)"
                 " FROM schema_migrations",
                 &p, "schema_migrations", &r);
    arena_free(a);
    if (rc != E_OK)
        return rc;
    *applied = pg_col_int(r, 0, 0) > 0;
    *newest = pg_col_int(r, 0, 1);
    PQclear(r);
    return E_OK;
}

static int
migrate_one(struct pconn *c, const struct migration *m, struct errbuf *eb)
{
    int64_t newest = 0, last = migrations[ARRAY_LEN(migrations) - 1].version;
    bool    applied = false;
    int     rc = exec_script(c,
                             "BEGIN; " SCHEMA_LOCK "; CREATE TABLE IF NOT EXISTS schema_migrations"
                                 " (version BIGINT PRIMARY KEY, applied BIGINT NOT NULL);",
                             eb);

    if (rc != E_OK)
        return rc;
    if ((rc = migration_applied(c, m->version, &applied, &newest)) != E_OK)
        errbuf_set(eb, rc, "store: cannot read schema_migrations");
    else if (newest > last)
        rc = errbuf_set(eb, E_UNAVAILABLE,
                        "store: schema version %lld is newer than this release knows (%lld)",
                        (long long)newest, (long long)last);
    else if (!applied && (rc = exec_script(c, m->sql, eb)) == E_OK) {
        struct arena *a = arena_new(256);
        struct pargs  p = { .a = a };
        pg_arg_int(&p, m->version, OID_INT8);
        pg_arg_int(&p, time_now_ms(), OID_INT8);
        rc = pq_do(c, "INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)", &p,
                   "migration", NULL);
        arena_free(a);
        if (rc == E_OK)
            log_info("store: applied migration %lld", (long long)m->version);
    }
    if (rc == E_OK)
        return exec_script(c, "COMMIT", eb);
    pq_exec(c, "ROLLBACK");
    return rc;
}

static bool
has_relation(struct pconn *c, const char *name)
{
    struct arena *a = arena_new(256);
    struct pargs  p = { .a = a };
    PGresult     *r;
    bool          found = false;

    pg_arg_cstr(&p, arena_printf(a, "\"%s\"", name));
    if (pq_rows(c, "SELECT to_regclass($1) IS NOT NULL", &p, "schema", &r) == E_OK) {
        found = pg_col_int(r, 0, 0) != 0;
        PQclear(r);
    }
    arena_free(a);
    return found;
}

static bool
has_column(struct pconn *c, const char *table, const char *col)
{
    struct arena *a = arena_new(256);
    struct pargs  p = { .a = a };
    PGresult     *r;
    bool          found = false;

    pg_arg_cstr(&p, table);
    pg_arg_cstr(&p, col);
    if (pq_rows(c,
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = $1 AND column_name = $2",
                &p, "schema", &r) == E_OK) {
        found = PQntuples(r) > 0;
        PQclear(r);
    }
    arena_free(a);
    return found;
}

/* True when spec `s`'s counts, or their changes not folded yet, have a row of
 * dimension `dim`. */
static bool
has_dim(struct pconn *c, const struct spec *s, const char *dim)
{
    WITH_ARGS(a, p);
    PGresult *r;
    bool      found = false;
    char      q[512];

    snprintf(q, sizeof q,
             "SELECT 1 FROM \"%s__counts\" WHERE dim = $1"
             " UNION ALL SELECT 1 FROM \"%s__count_deltas\" WHERE dim = $1 LIMIT 1",
             s->rest, s->rest);
    pg_arg_cstr(&p, dim);
    if (pq_rows(c, q, &p, "schema", &r) == E_OK) {
        found = PQntuples(r) > 0;
        PQclear(r);
    }
    arena_free(a);
    return found;
}

/* The fill of a dimension a spec added since its counts were filled. */
static int
fill_dim(struct pconn *c, const struct spec *s, const char *dim, struct errbuf *eb)
{
    struct buf sql;
    int        rc;

    buf_init(&sql, SQL_MAX);
    sql_counts_fill_dim(&sql, s, dim, SQL_POSTGRES);
    rc = exec_script(c, buf_cstr(&sql), eb);
    buf_free(&sql);
    return rc;
}

static int
run_sql(struct pconn      *c, void (*gen)(struct buf *, const struct spec *, enum sql_dialect),
        const struct spec *s, struct errbuf *eb)
{
    struct buf sql;
    int        rc;

    buf_init(&sql, SQL_MAX);
    gen(&sql, s, SQL_POSTGRES);
    rc = exec_script(c, buf_cstr(&sql), eb);
    buf_free(&sql);
    return rc;
}

/* A spec's table and its columns; then, once its nsid is there, its indexes
 * and its count table: what sync_spec runs and what the schema hash covers. */
static void
table_ddl(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    sql_create_table(sql, s, d);
    for (size_t i = 0; i < spec_ncolumns(s); i++)
        sql_add_column(sql, s, spec_column(s, i), d);
}

static void
index_ddl(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    sql_create_indexes(sql, s, d);
    if (s->counted != NULL)
        sql_counts_create(sql, s, d);
}

/* The spec tables (sqlite_schema.c sqlite_sync_spec_tables): no side or substring tables,
 * list attributes are JSONB columns with GIN indexes. */
static int
sync_spec(struct pconn *c, const struct spec *s, struct errbuf *eb)
{
    char counts[256];
    int  rc = run_sql(c, table_ddl, s, eb);

    if (rc == E_OK && s->bulk && !has_column(c, s->rest, "nsid"))
        rc = run_sql(c, sql_add_nsid, s, eb);
    snprintf(counts, sizeof counts, "%s__counts", s->rest);
    bool fill = s->counted != NULL && !has_relation(c, counts);
    if (rc == E_OK)
        rc = run_sql(c, index_ddl, s, eb);
    if (rc == E_OK && fill)
        rc = run_sql(c, sql_counts_fill, s, eb);
    for (const char *const *dim = s->counted; !fill && dim && *dim && rc == E_OK; dim++)
        if (!has_dim(c, s, *dim))
            rc = fill_dim(c, s, *dim, eb);
    return rc;
}

/* The spec tables' DDL as this binary writes it, hashed, is kept in meta once
 * it has run: a start (or a store-dump) on a database already at this schema
 * runs no DDL at all. DDL takes ACCESS EXCLUSIVE locks even when it changes
 * nothing (ADD COLUMN IF NOT EXISTS): a server starting while others serve
 * would queue behind their transactions and deadlock with their writes. */
#define SCHEMA_KEY "spec_tables"

static void
spec_schema_hash(char hex[2 * SHA256_LEN + 1])
{
    struct buf    all;
    unsigned char d[SHA256_LEN];

    buf_init(&all, 64u << 20);
    for (size_t i = 0; i < spec_count; i++) {
        const struct spec *s = spec_all[i];
        if (s->not_namespaced)
            continue;
        table_ddl(&all, s, SQL_POSTGRES);
        if (s->bulk)
            sql_add_nsid(&all, s, SQL_POSTGRES);
        index_ddl(&all, s, SQL_POSTGRES);
    }
    digest_sha256(all.p, all.len, d);
    hex_encode(d, sizeof d, hex);
    buf_free(&all);
}

/* Whether meta says the spec tables are those of hash `hex`. */
static bool
schema_is(struct pconn *c, const char *hex)
{
    WITH_ARGS(a, p);
    PGresult *r;
    bool      same = false;

    pg_arg_cstr(&p, SCHEMA_KEY);
    if (pq_rows(c, "SELECT value FROM meta WHERE key = $1", &p, "schema", &r) == E_OK) {
        same = PQntuples(r) == 1 && (size_t)PQgetlength(r, 0, 0) == strlen(hex) &&
               memcmp(PQgetvalue(r, 0, 0), hex, strlen(hex)) == 0;
        PQclear(r);
    }
    arena_free(a);
    return same;
}

static int
schema_mark(struct pconn *c, const char *hex, struct errbuf *eb)
{
    WITH_ARGS(a, p);
    int rc;

    pg_arg_cstr(&p, SCHEMA_KEY);
    pg_arg_bytes(&p, hex, strlen(hex));
    rc = pq_do(c,
               "INSERT INTO meta (key, value) VALUES ($1, $2) "
               "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
               &p, "schema", NULL);
    arena_free(a);
    return rc == E_OK ? E_OK : errbuf_set(eb, rc, "postgres: cannot record the schema");
}

static int
sync_spec_tables(struct pconn *c, struct errbuf *eb)
{
    char want[2 * SHA256_LEN + 1];
    int  rc = exec_script(c, "BEGIN; " SCHEMA_LOCK, eb);

    spec_schema_hash(want);
    if (rc == E_OK && schema_is(c, want))
        return exec_script(c, "COMMIT", eb); /* already this binary's tables */
    for (size_t i = 0; i < spec_count && rc == E_OK; i++)
        if (!spec_all[i]->not_namespaced)
            rc = sync_spec(c, spec_all[i], eb);
    if (rc == E_OK)
        rc = schema_mark(c, want, eb);
    if (rc == E_OK)
        return exec_script(c, "COMMIT", eb);
    pq_exec(c, "ROLLBACK");
    return rc;
}

/* The migrations, then the spec tables, on the writer connection `c`. */
int
pg_schema_update(struct pconn *c, struct errbuf *eb)
{
    /* Quiet: IF NOT EXISTS says "already exists, skipping" at every start. */
    int rc = exec_script(c, "SET client_min_messages = warning", eb);

    for (size_t i = 0; i < ARRAY_LEN(migrations) && rc == E_OK; i++)
        rc = migrate_one(c, &migrations[i], eb);
    if (rc == E_OK)
        rc = sync_spec_tables(c, eb);
    return rc;
}
