/* pg.c - the PostgreSQL store (libpq): several Keyward servers on one database.
 *
 * The same shape as sqlite.c. Readers: one connection per thread, made on
 * first use. Writer: one connection owned by one thread, which runs every job
 * queued so far in one transaction (each in a savepoint) and commits before
 * calling back (group commit). Every write transaction first takes one
 * transaction-scoped advisory lock, so that the writes of all servers on the
 * database are serialised as SQLite serialises them: every check-then-write
 * the engine makes in a job (unique names, idempotency keys, a CA created
 * once) stays right across servers (docs/postgres.md, section 2).
 *
 * Values go as text parameters (values are copied NUL-terminated; a string
 * holding NUL is refused before it reaches the store), documents as binary
 * BYTEA; results come back in binary format. A parameter is typed where the
 * statement cannot say its type itself (a row's columns, the write
 * conditions), untyped elsewhere (the filter's values take their column's).
 * Statements are prepared once per connection and kept in a small cache.
 */
#include <libpq-fe.h>
#include <pthread.h>
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

#define STMT_CACHE 128
/* At most this many jobs share a transaction: each savepoint that writes
 * takes a subtransaction ID, and a backend caches 64 of them; past that every
 * snapshot of every session looks into pg_subtrans while it is open. */
#define BATCH_MAX 60
#define SQL_MAX   (64 * 1024)
/* The advisory lock every write transaction takes (docs/postgres.md 2). */
#define WRITE_LOCK "SELECT pg_advisory_xact_lock(7022514356401)"
/* The lock migrations and the spec tables' sync take at start. */
#define SCHEMA_LOCK  "SELECT pg_advisory_xact_lock(7022514356402)"
#define RECONNECT_MS 250

/* Type OIDs (catalog/pg_type_d.h is a server header). */
#define OID_BOOL   16
#define OID_BYTEA  17
#define OID_INT8   20
#define OID_INT2   21
#define OID_INT4   23
#define OID_TEXT   25
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_JSONB  3802

struct stmt_slot {
    uint64_t hash;
    char    *sql;
    unsigned name; /* prepared as "k<name>": names are never reused */
};

struct pconn {
    PGconn          *pg;
    struct stmt_slot cache[STMT_CACHE];
    unsigned         next_evict, next_name;
    int64_t          failed_at; /* last failed connect (ms): no reconnect storm */
    struct pconn    *next;      /* in the store's list of readers */
};

struct pg_store {
    struct store    base; /* first: (struct store *) casts are valid */
    char           *url;
    char            shown[512]; /* the URL without its password, for messages */
    struct pconn    writer;
    pthread_key_t   reader_key;
    pthread_mutex_t readers_mu;
    struct pconn   *readers;
    pthread_t       thread;
    struct wqueue   q;
    int64_t         announced_seen; /* kw_generation's announced row as last seen (atomic) */
};

struct pg_tx {
    struct tx        base;
    struct pg_store *st;
    struct changelog log;
};

static const struct tx_ops tx_ops;

/* ---- parameters --------------------------------------------------------- */

struct pargs {
    struct arena *a;
    int           n, cap;
    const char  **v;
    int          *len, *fmt;
    Oid          *type;
};

static void
arg_add(struct pargs *p, Oid type, int fmt, const char *v, int len)
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

static void
arg_str(struct pargs *p, struct str s, Oid type)
{
    if (s.p == NULL)
        return arg_add(p, type, 0, NULL, 0);
    arg_add(p, type, 0, arena_strndup(p->a, s.p, s.len), (int)s.len);
}

static void
arg_cstr(struct pargs *p, const char *s)
{
    arg_add(p, OID_TEXT, 0, s, (int)strlen(s));
}

static void
arg_int(struct pargs *p, int64_t i, Oid type)
{
    arg_add(p, type, 0, arena_printf(p->a, "%lld", (long long)i), 0);
}

static void
arg_bool(struct pargs *p, bool b)
{
    arg_add(p, OID_BOOL, 0, b ? "t" : "f", 1);
}

static void
arg_bytes(struct pargs *p, const void *v, size_t n)
{
    arg_add(p, OID_BYTEA, 1, n > 0 ? v : "", (int)n);
}

static void
arg_null(struct pargs *p, Oid type)
{
    arg_add(p, type, 0, NULL, 0);
}

/* A filter's parameters, untyped: each takes its column's type. */
static void
args_from(struct pargs *p, const struct sqlparams *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        const struct sqlparam *q = &ps->v[i];
        if (q->t == SQLP_INT)
            arg_int(p, q->i, 0);
        else if (q->t == SQLP_FLOAT)
            arg_add(p, 0, 0, arena_printf(p->a, "%.17g", q->f), 0);
        else
            arg_str(p, q->s, 0);
    }
}

/* ---- connections and statements ---------------------------------------- */

static void
conn_close(struct pconn *c)
{
    PQfinish(c->pg);
    for (size_t i = 0; i < STMT_CACHE; i++)
        free(c->cache[i].sql);
    memset(c->cache, 0, sizeof c->cache);
    c->pg = NULL;
}

static int
conn_open(struct pconn *c, const struct pg_store *st, bool writer, struct errbuf *eb)
{
    /* Defaults first: the URL's own parameters override them (but text is
     * always UTF-8). A database that stops answering is noticed within
     * seconds (keepalives, unacknowledged data), never waited on for ever. */
    const char *keys[] = { "connect_timeout",
                           "application_name",
                           "keepalives_idle",
                           "keepalives_interval",
                           "keepalives_count",
                           "tcp_user_timeout",
                           "dbname",
                           "client_encoding",
                           NULL };
    const char *vals[] = { "5", "keyward", "10", "5", "2", "20000", st->url, "UTF8", NULL };

    conn_close(c);
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", PQerrorMessage(c->pg));
        why[strcspn(why, "\n")] = '\0';
        conn_close(c);
        c->failed_at = time_now_ms();
        return errbuf_set(eb, E_UNAVAILABLE, "store %s: %s", st->shown, why);
    }
    /* A statement that runs this long is a database in trouble: the request
     * is answered 503 rather than held. Every execution of a prepared statement
     * is planned for its values and the table as it is: a generic plan made
     * while a table was small (an import's first rows, in the transaction
     * that fills it) would scan a whole namespace per row ever after. */
    const char *setup =
        !writer ? "SET default_transaction_read_only = on; SET statement_timeout = 30000;"
                  " SET plan_cache_mode = force_custom_plan"
        : strcmp(cfg.sync, "normal") == 0
            ? "SET synchronous_commit = off; SET statement_timeout = 60000;"
              " SET plan_cache_mode = force_custom_plan"
            : "SET synchronous_commit = on; SET statement_timeout = 60000;"
              " SET plan_cache_mode = force_custom_plan";
    PGresult *r = PQexec(c->pg, setup);
    bool      ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        conn_close(c);
        return errbuf_set(eb, E_UNAVAILABLE, "store %s: cannot set up the connection",
                          st->shown);
    }
    return E_OK;
}

/* The error of a failed result as an enum err (and logged unless expected). */
static int
pq_err(struct pconn *c, const PGresult *r, const char *what)
{
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    if (state != NULL && strcmp(state, "23505") == 0)
        return E_DUPLICATE;
    log_error("postgres: %s: %s", what,
              r != NULL && PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r)
                                                      : PQerrorMessage(c->pg));
    if (PQstatus(c->pg) != CONNECTION_OK || state == NULL || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57P", 3) == 0 || strcmp(state, "53300") == 0 ||
        strcmp(state, "57014") == 0 || strcmp(state, "40001") == 0 ||
        strcmp(state, "40P01") == 0)
        return E_UNAVAILABLE;
    return E_INTERNAL;
}

static uint64_t
stmt_hash(const char *sql, const struct pargs *p)
{
    uint64_t h = hash_fnv1a(sql, strlen(sql), 0);

    if (p != NULL && p->n > 0)
        h = hash_fnv1a(p->type, (size_t)p->n * sizeof *p->type, h);
    return h;
}

/* The prepared statement's name for `sql` with the parameters' types,
 * prepared now if the cache does not have it; NULL on error (logged). */
static const char *
conn_prepare(struct pconn *c, const char *sql, const struct pargs *p, char name[24])
{
    uint64_t h = stmt_hash(sql, p);

    for (size_t i = 0; i < STMT_CACHE; i++)
        if (c->cache[i].hash == h && c->cache[i].sql != NULL &&
            strcmp(c->cache[i].sql, sql) == 0) {
            snprintf(name, 24, "k%u", c->cache[i].name);
            return name;
        }
    struct stmt_slot *slot = &c->cache[c->next_evict++ % STMT_CACHE];
    PGresult         *r;
    if (slot->sql != NULL) { /* fails inside an aborted transaction: then it stays */
        char drop[40];
        snprintf(drop, sizeof drop, "DEALLOCATE k%u", slot->name);
        PQclear(PQexec(c->pg, drop));
        free(slot->sql);
        slot->sql = NULL;
    }
    slot->name = c->next_name++;
    snprintf(name, 24, "k%u", slot->name);
    r = PQprepare(c->pg, name, sql, p != NULL ? p->n : 0, p != NULL ? p->type : NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        pq_err(c, r, "prepare");
        PQclear(r);
        return NULL;
    }
    PQclear(r);
    if ((slot->sql = strdup(sql)) == NULL)
        abort();
    slot->hash = h;
    return name;
}

/* Run `sql` with `p` (NULL: none), results in binary format. NULL when the
 * statement could not even be prepared; otherwise the caller checks the
 * result's status and clears it. */
static PGresult *
pq_run(struct pconn *c, const char *sql, const struct pargs *p)
{
    char        buf[24];
    const char *name = conn_prepare(c, sql, p, buf);

    if (name == NULL)
        return NULL;
    if (p == NULL || p->n == 0)
        return PQexecPrepared(c->pg, name, 0, NULL, NULL, NULL, 1);
    return PQexecPrepared(c->pg, name, p->n, p->v, p->len, p->fmt, 1);
}

/* A statement that returns no rows; *changed (may be NULL) the rows it wrote. */
static int
pq_do(struct pconn *c, const char *sql, const struct pargs *p, const char *what,
      int64_t *changed)
{
    PGresult *r = pq_run(c, sql, p);
    int       rc = E_OK;

    if (r == NULL)
        return pq_err(c, NULL, what);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        rc = pq_err(c, r, what);
    else if (changed != NULL)
        *changed = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return rc;
}

/* A plain command (BEGIN, SAVEPOINT ...), unprepared. */
static int
pq_exec(struct pconn *c, const char *sql)
{
    PGresult *r = PQexec(c->pg, sql);
    int       rc = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK
                       ? E_OK
                       : pq_err(c, r, sql);

    PQclear(r);
    return rc;
}

/* COMMIT, which PostgreSQL answers without an error, as "ROLLBACK", when the
 * transaction had failed: that is a failure too. */
static int
pq_commit(struct pconn *c)
{
    PGresult *r = PQexec(c->pg, "COMMIT");
    int       rc = PQresultStatus(r) != PGRES_COMMAND_OK   ? pq_err(c, r, "commit")
                   : strcmp(PQcmdStatus(r), "COMMIT") != 0 ? E_UNAVAILABLE
                                                           : E_OK;

    if (rc == E_UNAVAILABLE && PQresultStatus(r) == PGRES_COMMAND_OK)
        log_error("postgres: the transaction failed and was rolled back at commit");
    PQclear(r);
    return rc;
}

/* The thread's read connection, made (again) when needed; NULL while the
 * database cannot be reached. */
static struct pconn *
reader(struct pg_store *st)
{
    struct pconn *c = pthread_getspecific(st->reader_key);
    struct errbuf eb;

    if (c == NULL) {
        if ((c = calloc(1, sizeof *c)) == NULL)
            abort();
        pthread_mutex_lock(&st->readers_mu);
        c->next = st->readers;
        st->readers = c;
        pthread_mutex_unlock(&st->readers_mu);
        pthread_setspecific(st->reader_key, c);
    }
    if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
        return c;
    if (c->failed_at != 0 && time_now_ms() - c->failed_at < RECONNECT_MS)
        return NULL;
    if (conn_open(c, st, false, &eb) != E_OK) {
        log_error("%s", eb.msg);
        return NULL;
    }
    return c;
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

static int64_t
col_int(const PGresult *r, int row, int col)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    int                  n = PQgetlength(r, row, col);

    if (PQgetisnull(r, row, col))
        return 0;
    if (PQftype(r, col) == OID_BOOL)
        return n == 1 && p[0] != 0;
    return n == 2 || n == 4 || n == 8 ? be_int(p, n) : 0;
}

static double
col_float(const PGresult *r, int row, int col)
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
        return (double)col_int(r, row, col);
    x.u = (uint64_t)be_int(p, 8);
    return x.d;
}

/* Text, BYTEA or JSONB (its version byte skipped) as bytes in `a`. */
static struct str
col_str(const PGresult *r, int row, int col, struct arena *a)
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

static int
decode_doc(const PGresult *r, int row, int col, struct arena *a, struct val *out)
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
        *out = val_bool(col_int(r, row, col) != 0);
        return E_OK;
    case T_INT:
        *out = val_int(col_int(r, row, col));
        return E_OK;
    case T_FLOAT:
        *out = val_float(col_float(r, row, col));
        return E_OK;
    case T_TIME:
        *out = val_time(a, col_int(r, row, col));
        return E_OK;
    case T_STRING:
        *out = val_str(col_str(r, row, col, a));
        return E_OK;
    default: /* lists and maps: JSONB */
        s = col_str(r, row, col, a);
        return json_decode(a, s.p, s.len, 64, out, &eb);
    }
}

/* A row as the object's map: its document, or its projected columns. */
static int
read_row(const PGresult *r, int row, const struct listq *q, struct arena *a, struct val *out)
{
    if (q == NULL || q->project == NULL)
        return decode_doc(r, row, 0, a, out);
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
static int
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

static int
run_find(struct pconn *c, const struct spec *s, const struct scope *sc, const char *attr,
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
    args_from(&p, &ps);
    rc = pq_rows(c, buf_cstr(&sql), &p, "find", &r);
    buf_free(&sql);
    if (rc != E_OK)
        return rc;
    rc = PQntuples(r) > 0 ? decode_doc(r, 0, 0, a, out) : E_NOTFOUND;
    PQclear(r);
    return rc;
}

static int
st_find(struct store *base, const struct spec *s, const struct scope *sc, const char *attr,
        struct str value, struct arena *a, struct val *out, struct errbuf *eb)
{
    struct pconn *c = reader((struct pg_store *)base);
    int           rc;

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
count_rows(struct pconn *c, const char *sql, const struct sqlparams *ps, struct arena *a,
           int64_t *total)
{
    struct pargs p = { .a = a };
    PGresult    *r;
    int          rc;

    args_from(&p, ps);
    if ((rc = pq_rows(c, sql, &p, "count", &r)) != E_OK)
        return rc;
    *total = PQntuples(r) > 0 ? col_int(r, 0, 0) : 0;
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

    args_from(&p, ps);
    if ((rc = pq_rows(c, sql, &p, "list", &r)) != E_OK)
        return rc;
    *items = val_arr();
    for (int i = 0; i < PQntuples(r) && rc == E_OK; i++) {
        struct val v;
        if ((rc = read_row(r, i, q, a, &v)) == E_OK)
            val_push(a, items, v);
    }
    PQclear(r);
    return rc;
}

static int
list_on(struct pconn *c, const struct spec *s, const struct listq *q, struct arena *a,
        struct val *items, int64_t *total, struct errbuf *eb)
{
    struct buf       sql;
    struct sqlparams ps = { 0 };
    int              rc = E_OK;

    buf_init(&sql, SQL_MAX);
    if (total != NULL && q->want_total) {
        rc = sql_count(&sql, s, q, SQL_POSTGRES, a, &ps, eb);
        if (rc == E_OK)
            rc = count_rows(c, buf_cstr(&sql), &ps, a, total);
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
    struct pconn *c = reader((struct pg_store *)base);

    if (c == NULL)
        return errbuf_set(eb, E_UNAVAILABLE, "store unavailable");
    /* The count and the page from one snapshot, as SQLite's one read. */
    if (q->want_total && pq_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != E_OK)
        return errbuf_set(eb, E_UNAVAILABLE, "store unavailable");
    int rc = list_on(c, s, q, a, items, total, eb);
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

    arg_cstr(&p, key);
    if ((rc = pq_rows(c, "SELECT value FROM meta WHERE key = $1", &p, "meta", &r)) != E_OK)
        return rc;
    rc = PQntuples(r) > 0 ? E_OK : E_NOTFOUND;
    if (rc == E_OK)
        *value = col_str(r, 0, 0, a);
    PQclear(r);
    return rc;
}

static int
st_meta_get(struct store *base, const char *key, struct arena *a, struct str *value)
{
    struct pconn *c = reader((struct pg_store *)base);

    return c == NULL ? E_UNAVAILABLE : meta_read(c, key, a, value);
}

static bool
st_ping(struct store *base)
{
    struct pconn *c = reader((struct pg_store *)base);

    return c != NULL && pq_do(c, "SELECT 1 FROM meta LIMIT 1", NULL, "ping", NULL) == E_OK;
}

/* ---- the transaction's operations (writer thread only) ------------------ */

static struct pconn *
txc(struct tx *tx)
{
    return &((struct pg_tx *)tx)->st->writer;
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
    struct errbuf eb = { 0 };

    return list_on(txc(tx), s, q, a, items, NULL, &eb);
}

static Oid
attr_oid(const struct attr *at)
{
    switch (at->type) {
    case T_BOOL:
        return OID_BOOL;
    case T_INT:
    case T_TIME:
        return OID_INT8;
    case T_FLOAT:
        return OID_FLOAT8;
    case T_STRING:
        return OID_TEXT;
    default:
        return OID_JSONB;
    }
}

/* One column's value as a typed parameter (lists and maps as JSON text). */
static int
arg_val(struct pargs *p, const struct attr *at, const struct val *v)
{
    Oid        t = attr_oid(at);
    int64_t    ms;
    struct buf b;

    if (v == NULL || v->t == V_NULL)
        return arg_null(p, t), E_OK;
    switch (at->type) {
    case T_BOOL:
        arg_bool(p, v->t == V_BOOL && v->b);
        return E_OK;
    case T_INT:
        arg_int(p, v->t == V_INT ? v->i : 0, t);
        return E_OK;
    case T_FLOAT:
        arg_add(p, t, 0, arena_printf(p->a, "%.17g", v->t == V_FLOAT ? v->f : (double)v->i), 0);
        return E_OK;
    case T_TIME:
        if (v->t != V_STR || time_parse(v->s, &ms) != E_OK)
            return arg_null(p, t), E_OK;
        arg_int(p, ms, t);
        return E_OK;
    case T_STRING:
        if (v->t != V_STR)
            return arg_null(p, t), E_OK;
        arg_str(p, v->s, t);
        return E_OK;
    default:
        buf_init(&b, SQL_MAX * 16);
        int rc = json_encode(v, &b);
        if (rc == E_OK)
            arg_str(p, (struct str){ b.p, b.len }, t);
        buf_free(&b);
        return rc;
    }
}

/* Every column of `obj` in spec order, then its document. */
static int
args_row(struct pargs *p, const struct spec *s, const struct val *obj)
{
    struct buf doc;
    int        rc = E_OK;

    for (size_t i = 0; i < spec_ncolumns(s) && rc == E_OK; i++) {
        const struct attr *at = spec_column(s, i);
        rc = arg_val(p, at, val_get(obj, at->name));
    }
    if (rc != E_OK)
        return rc;
    buf_init(&doc, SIZE_MAX / 2);
    if ((rc = msgpack_encode(obj, &doc)) == E_OK) {
        void *copy = arena_alloc(p->a, doc.len + 1);
        memcpy(copy, doc.p, doc.len);
        arg_bytes(p, copy, doc.len);
    }
    buf_free(&doc);
    return rc;
}

/* The conditions of struct write_cond: the expected updateTime (ms, NULL for
 * any) and whether protected objects may be changed. */
static void
args_cond(struct pargs *p, const struct write_cond *wc)
{
    struct str t = wc != NULL ? wc->update_time : STR_NULL;
    int64_t    ms;

    if (t.len == 0)
        arg_null(p, OID_INT8);
    else
        arg_int(p, time_parse(t, &ms) == E_OK ? ms : INT64_MIN, OID_INT8);
    arg_bool(p, wc == NULL || wc->override);
}

/* Whether the namespace `ns` exists (or is the root): why an insert that
 * wrote nothing did not. */
static int
namespace_exists(struct pconn *c, struct str ns, struct arena *a)
{
    struct pargs p = { .a = a };
    PGresult    *r;
    int          rc;

    if (str_eq_c(ns, "/"))
        return E_OK;
    arg_str(&p, ns, OID_TEXT);
    rc = pq_rows(c, "SELECT 1 FROM \"" SQL_NAMESPACE_TABLE "\" WHERE \"name\" = $1", &p,
                 "namespace", &r);
    if (rc != E_OK)
        return rc;
    rc = PQntuples(r) > 0 ? E_OK : E_NOTFOUND;
    PQclear(r);
    return rc;
}

static int
write_row(struct tx *tx, const struct spec *s, const struct val *obj, bool insert,
          const struct write_cond *wc)
{
    struct pconn     *c = txc(tx);
    struct arena     *a = arena_new(4096);
    struct pargs      p = { .a = a };
    struct buf        sql;
    const struct val *ns = val_get(obj, "namespace"), *id = val_get(obj, "ID");
    int64_t           changed = 0;
    int               rc;

    if (ns == NULL || ns->t != V_STR || id == NULL || id->t != V_STR) {
        arena_free(a);
        return E_INTERNAL;
    }
    buf_init(&sql, SQL_MAX);
    if (insert)
        sql_insert(&sql, s, SQL_POSTGRES);
    else
        sql_update(&sql, s, SQL_POSTGRES);
    rc = args_row(&p, s, obj);
    if (!insert)
        arg_str(&p, id->s, OID_TEXT);
    arg_str(&p, ns->s, OID_TEXT);
    if (!insert)
        args_cond(&p, wc);
    if (rc == E_OK)
        rc = pq_do(c, buf_cstr(&sql), &p, insert ? "insert" : "update", &changed);
    buf_free(&sql);
    /* Nothing written: a taken unique key (insert), no such object (update),
     * or its namespace is gone. */
    if (rc == E_OK && changed == 0)
        rc = insert && namespace_exists(c, ns->s, a) == E_OK ? E_DUPLICATE : E_NOTFOUND;
    arena_free(a);
    return rc;
}

static void
log_change(struct tx *tx, const struct spec *s, struct str id, const struct val *obj)
{
    changelog_add(&((struct pg_tx *)tx)->log,
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

/* An update that may take a unique key fails with an error, which aborts the
 * transaction: it runs in a savepoint of its own, so that the job sees only
 * E_DUPLICATE, as on SQLite, and may go on. */
static int
tx_update(struct tx *tx, const struct spec *s, const struct val *obj,
          const struct write_cond *wc)
{
    struct pconn *c = txc(tx);
    bool          guard = s->unique != NULL;
    int           rc;

    if (guard && (rc = pq_exec(c, "SAVEPOINT kw_update")) != E_OK)
        return rc;
    rc = write_row(tx, s, obj, false, wc);
    if (guard)
        pq_exec(c, rc == E_DUPLICATE ? "ROLLBACK TO kw_update" : "RELEASE kw_update");
    if (rc == E_OK)
        log_change(tx, s, val_get_str(obj, "ID"), obj);
    else if (rc == E_NOTFOUND)
        rc = store_why_unchanged(tx, s, val_get_str(obj, "ID"), wc);
    return rc;
}

static int
tx_del(struct tx *tx, const struct spec *s, struct str id, const struct write_cond *wc)
{
    struct arena *a = arena_new(1024);
    struct pargs  p = { .a = a };
    struct buf    sql;
    int64_t       changed = 0;
    int           rc;

    buf_init(&sql, SQL_MAX);
    sql_delete(&sql, s, SQL_POSTGRES);
    arg_str(&p, id, OID_TEXT);
    args_cond(&p, wc);
    rc = pq_do(txc(tx), buf_cstr(&sql), &p, "delete", &changed);
    buf_free(&sql);
    arena_free(a);
    if (rc != E_OK)
        return rc;
    if (changed == 0)
        return store_why_unchanged(tx, s, id, wc);
    log_change(tx, s, id, NULL);
    return E_OK;
}

static int
exec_params(struct pconn *c, struct buf *sql, const struct sqlparams *ps, struct arena *a,
            const char *what, int64_t *changed)
{
    struct pargs p = { .a = a };
    int          rc;

    args_from(&p, ps);
    rc = pq_do(c, buf_cstr(sql), &p, what, changed);
    buf_free(sql);
    return rc;
}

/* The IDs of the namespaces below `ns` (they go with it), into `gone`. */
static int
subtree_ids(struct pconn *c, struct str ns, struct arena *a, struct val *gone)
{
    struct buf       sql;
    struct sqlparams ps = { 0 };
    struct scope     sc = { ns, true };
    struct pargs     p = { .a = a };
    PGresult        *r;
    int              rc;

    buf_init(&sql, SQL_MAX);
    sql_select_namespace_ids(&sql, &sc, SQL_POSTGRES, a, &ps);
    args_from(&p, &ps);
    rc = pq_rows(c, buf_cstr(&sql), &p, "delete subtree", &r);
    buf_free(&sql);
    if (rc != E_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++)
        val_push(a, gone, val_str(col_str(r, i, 0, a)));
    PQclear(r);
    return E_OK;
}

static int
tx_del_subtree(struct tx *tx, struct str ns, struct arena *ga, struct val *gone)
{
    struct pconn *c = txc(tx);
    struct arena *a = arena_new(1024);
    int           rc = subtree_ids(c, ns, ga, gone);

    /* Bulk specs' rows stay until the namespace.purge job (sqlite.c). */
    for (size_t i = 0; i < spec_count && rc == E_OK; i++) {
        const struct spec *s = spec_all[i];
        struct buf         sql;
        struct sqlparams   ps = { 0 };
        struct scope       sc = { ns, true };
        if (s->not_namespaced || s->bulk)
            continue;
        buf_init(&sql, SQL_MAX);
        sql_delete_scope(&sql, s, &sc, SQL_POSTGRES, a, &ps);
        rc = exec_params(c, &sql, &ps, a, "delete subtree", NULL);
    }
    arena_free(a);
    if (rc == E_OK)
        changelog_add(&((struct pg_tx *)tx)->log, &(struct change){ .ns = ns });
    return rc;
}

static int
tx_purge_nsid(struct tx *tx, const struct spec *s, struct str nsid, int64_t limit,
              int64_t *deleted)
{
    struct arena *a = arena_new(1024);
    struct pargs  p = { .a = a };
    struct buf    sql;
    int           rc;

    buf_init(&sql, SQL_MAX);
    sql_purge_nsid(&sql, s, SQL_POSTGRES);
    arg_str(&p, nsid, OID_TEXT);
    arg_int(&p, limit, OID_INT8);
    rc = pq_do(txc(tx), buf_cstr(&sql), &p, "purge", deleted);
    buf_free(&sql);
    arena_free(a);
    return rc;
}

/* A fixed statement with its parameters, in a scratch arena. */
#define WITH_ARGS(a, p)                                                                        \
    struct arena *a = arena_new(1024);                                                         \
    struct pargs  p = { .a = a }

static int
tx_meta_put(struct tx *tx, const char *key, struct str value)
{
    WITH_ARGS(a, p);
    arg_cstr(&p, key);
    arg_bytes(&p, value.p, value.len);
    int rc = pq_do(txc(tx),
                   "INSERT INTO meta (key, value) VALUES ($1, $2) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                   &p, "meta put", NULL);
    arena_free(a);
    return rc;
}

static int
tx_idem_get(struct tx *tx, struct str key, struct arena *a, struct str *fp, int *status,
            struct str *body)
{
    struct pargs p = { .a = a };
    PGresult    *r;
    int          rc;

    arg_str(&p, key, OID_TEXT);
    arg_int(&p, time_now_ms(), OID_INT8);
    rc = pq_rows(txc(tx),
                 "SELECT fingerprint, status, body FROM idempotency "
                 "WHERE key = $1 AND expires > $2",
                 &p, "idempotency get", &r);
    if (rc != E_OK)
        return rc;
    rc = PQntuples(r) > 0 ? E_OK : E_NOTFOUND;
    if (rc == E_OK) {
        *fp = col_str(r, 0, 0, a);
        *status = (int)col_int(r, 0, 1);
        *body = col_str(r, 0, 2, a);
    }
    PQclear(r);
    return rc;
}

static int
tx_idem_put(struct tx *tx, struct str key, struct str fp, int status, struct str body,
            int64_t expires)
{
    WITH_ARGS(a, p);
    arg_str(&p, key, OID_TEXT);
    arg_str(&p, fp, OID_TEXT);
    arg_int(&p, status, OID_INT4);
    arg_bytes(&p, body.p, body.len);
    arg_int(&p, expires, OID_INT8);
    int rc = pq_do(txc(tx),
                   "INSERT INTO idempotency (key, fingerprint, status, body, expires) "
                   "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO UPDATE SET "
                   "fingerprint = excluded.fingerprint, status = excluded.status, "
                   "body = excluded.body, expires = excluded.expires",
                   &p, "idempotency put", NULL);
    arena_free(a);
    return rc;
}

static int
tx_quota_spend(struct tx *tx, struct str jti, int64_t quota, int64_t expires)
{
    int64_t changed = 0;

    WITH_ARGS(a, p);
    arg_str(&p, jti, OID_TEXT);
    arg_int(&p, quota, OID_INT8);
    arg_int(&p, expires, OID_INT8);
    int rc = pq_do(txc(tx),
                   "INSERT INTO token_uses (jti, used, expires) VALUES ($1, 1, $3) "
                   "ON CONFLICT (jti) DO UPDATE SET used = token_uses.used + 1 "
                   "WHERE token_uses.used < $2",
                   &p, "quota", &changed);
    arena_free(a);
    if (rc != E_OK)
        return rc;
    return changed == 0 ? E_QUOTA : E_OK;
}

static int
tx_eph_put(struct tx *tx, struct str key, struct str value, int64_t expires)
{
    WITH_ARGS(a, p);
    arg_str(&p, key, OID_TEXT);
    arg_bytes(&p, value.p, value.len);
    arg_int(&p, expires, OID_INT8);
    int rc = pq_do(txc(tx),
                   "INSERT INTO ephemeral (key, value, expires) VALUES ($1, $2, $3) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                   "expires = excluded.expires",
                   &p, "ephemeral put", NULL);
    arena_free(a);
    return rc;
}

static int
tx_eph_take(struct tx *tx, struct str key, struct arena *a, struct str *value)
{
    struct pargs p = { .a = a };
    PGresult    *r;
    int          rc;

    arg_str(&p, key, OID_TEXT);
    arg_int(&p, time_now_ms(), OID_INT8);
    rc = pq_rows(txc(tx),
                 "DELETE FROM ephemeral WHERE key = $1 AND expires > $2 RETURNING value", &p,
                 "ephemeral take", &r);
    if (rc != E_OK)
        return rc;
    rc = PQntuples(r) > 0 ? E_OK : E_NOTFOUND;
    if (rc == E_OK)
        *value = col_str(r, 0, 0, a);
    PQclear(r);
    return rc;
}

static int
tx_purge(struct tx *tx, const struct spec *s, int64_t before)
{
    struct buf sql;

    WITH_ARGS(a, p);
    buf_init(&sql, SQL_MAX);
    sql_purge(&sql, s, SQL_POSTGRES);
    arg_int(&p, before, OID_INT8);
    int rc = pq_do(txc(tx), buf_cstr(&sql), &p, "purge", NULL);
    buf_free(&sql);
    arena_free(a);
    return rc;
}

static int
tx_expire(struct tx *tx, int64_t now)
{
    const char *q[] = { "DELETE FROM idempotency WHERE expires <= $1",
                        "DELETE FROM token_uses WHERE expires <= $1",
                        "DELETE FROM ephemeral WHERE expires <= $1" };
    int         rc = E_OK;

    WITH_ARGS(a, p);
    arg_int(&p, now, OID_INT8);
    for (size_t i = 0; i < ARRAY_LEN(q) && rc == E_OK; i++)
        rc = pq_do(txc(tx), q[i], &p, "expire", NULL);
    arena_free(a);
    return rc;
}

/* ---- work items (see store.h) -------------------------------------------- */

/* The columns job_row_read() expects, in its order. */
#define JOB_COLS                                                                               \
    "id, kind, key, payload, state, run_at, attempts, lease_ms, lease_owner, "                 \
    "lease_until, last_error, progress, created, updated"

static void
job_row_read(const PGresult *r, struct arena *a, struct job_row *j)
{
    j->id = col_int(r, 0, 0);
    j->kind = col_str(r, 0, 1, a);
    j->key = col_str(r, 0, 2, a);
    j->payload = col_str(r, 0, 3, a);
    j->state = job_state_parse(col_str(r, 0, 4, a).p);
    j->run_at = col_int(r, 0, 5);
    j->attempts = col_int(r, 0, 6);
    j->lease_ms = col_int(r, 0, 7);
    j->owner = col_str(r, 0, 8, a);
    j->lease_until = col_int(r, 0, 9);
    j->last_error = col_str(r, 0, 10, a);
    j->progress = col_str(r, 0, 11, a);
    j->created = col_int(r, 0, 12);
    j->updated = col_int(r, 0, 13);
}

/* At most one live item per (kind, key) (sqlite.c tx_job_enqueue). */
static int
tx_job_enqueue(struct tx *tx, const struct job_new *j, int64_t now, int64_t *id)
{
    PGresult *r;

    WITH_ARGS(a, p);
    arg_cstr(&p, j->kind);
    arg_str(&p, j->key, OID_TEXT);
    arg_bytes(&p, j->payload.p, j->payload.len);
    arg_int(&p, j->run_at, OID_INT8);
    arg_int(&p, j->lease_ms, OID_INT8);
    arg_int(&p, now, OID_INT8);
    int rc = pq_rows(
        txc(tx),
        "INSERT INTO jobs AS o (kind, key, payload, state, run_at, attempts, lease_ms, created,"
        " updated) VALUES ($1, $2, $3, 'queued', $4, 0, $5, $6, $6)"
        " ON CONFLICT (kind, key) DO UPDATE SET"
        " payload = CASE WHEN o.state IN ('done', 'failed') THEN excluded.payload"
        "  ELSE o.payload END,"
        " run_at = CASE WHEN o.state IN ('done', 'failed') THEN excluded.run_at"
        "  WHEN o.state = 'queued' THEN LEAST(o.run_at, excluded.run_at) ELSE o.run_at END,"
        " attempts = CASE WHEN o.state IN ('done', 'failed') THEN 0 ELSE o.attempts END,"
        " state = CASE WHEN o.state IN ('done', 'failed') THEN 'queued' ELSE o.state END,"
        " lease_ms = excluded.lease_ms, updated = excluded.updated"
        " RETURNING id",
        &p, "job enqueue", &r);
    arena_free(a);
    if (rc != E_OK)
        return rc;
    if (PQntuples(r) == 1) {
        if (id != NULL)
            *id = col_int(r, 0, 0);
        changelog_add(&((struct pg_tx *)tx)->log, &(struct change){ .job = true });
    } else
        rc = E_INTERNAL;
    PQclear(r);
    return rc;
}

/* The kinds as one text array parameter: `{"a","b"}` (kinds are plain ASCII
 * names; quotes and backslashes escaped anyway). */
static const char *
kinds_array(struct arena *a, const char *const *kinds, size_t n)
{
    struct buf b;
    char      *out;

    buf_init(&b, SQL_MAX);
    buf_putc(&b, '{');
    for (size_t i = 0; i < n; i++) {
        buf_puts(&b, i > 0 ? ",\"" : "\"");
        for (const char *k = kinds[i]; *k != '\0'; k++) {
            if (*k == '"' || *k == '\\')
                buf_putc(&b, '\\');
            buf_putc(&b, *k);
        }
        buf_putc(&b, '"');
    }
    buf_putc(&b, '}');
    out = arena_strndup(a, b.p, b.len);
    buf_free(&b);
    return out;
}

static int
tx_job_claim(struct tx *tx, const char *const *kinds, size_t nkinds, const struct job_lease *l,
             int64_t now, struct arena *a, struct job_row *out)
{
    struct pargs p = { .a = a };
    PGresult    *r;
    int          rc;

    arg_cstr(&p, l->owner);
    arg_int(&p, l->token, OID_INT8);
    arg_int(&p, now, OID_INT8);
    arg_add(&p, 1009 /* text[] */, 0, kinds_array(a, kinds, nkinds), 0);
    rc = pq_rows(txc(tx),
                 "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1,"
                 " lease_token = $2, lease_until = $3 + lease_ms, run_at = $3 + lease_ms,"
                 " updated = $3 WHERE id = (SELECT id FROM jobs"
                 "  WHERE state IN ('queued', 'running') AND run_at <= $3 AND kind = ANY($4)"
                 "  ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
                 " RETURNING " JOB_COLS,
                 &p, "job claim", &r);
    if (rc != E_OK)
        return rc;
    rc = PQntuples(r) == 1 ? E_OK : E_NOTFOUND;
    if (rc == E_OK)
        job_row_read(r, a, out);
    PQclear(r);
    return rc;
}

static int
tx_job_renew(struct tx *tx, const struct job_lease *l, int64_t until, struct str progress)
{
    int64_t changed = 0;

    WITH_ARGS(a, p);
    arg_int(&p, l->id, OID_INT8);
    arg_cstr(&p, l->owner);
    arg_int(&p, l->token, OID_INT8);
    arg_int(&p, until, OID_INT8);
    arg_str(&p, progress, OID_TEXT);
    arg_int(&p, time_now_ms(), OID_INT8);
    int rc = pq_do(txc(tx),
                   "UPDATE jobs SET lease_until = $4, run_at = $4,"
                   " progress = coalesce($5, progress), updated = $6"
                   " WHERE id = $1 AND state = 'running' AND lease_owner = $2"
                   " AND lease_token = $3",
                   &p, "job renew", &changed);
    arena_free(a);
    if (rc != E_OK)
        return rc;
    return changed == 0 ? E_CONFLICT : E_OK;
}

static int
tx_job_finish(struct tx *tx, const struct job_lease *l, const struct job_end *e,
              struct str progress)
{
    int64_t changed = 0;

    if (e->state == JOB_RUNNING)
        return E_INTERNAL;
    WITH_ARGS(a, p);
    arg_int(&p, l->id, OID_INT8);
    arg_cstr(&p, l->owner);
    arg_int(&p, l->token, OID_INT8);
    arg_cstr(&p, job_state_name(e->state));
    arg_int(&p, e->run_at, OID_INT8);
    arg_int(&p, e->attempts, OID_INT8);
    arg_str(&p, e->error, OID_TEXT);
    arg_str(&p, progress, OID_TEXT);
    arg_int(&p, time_now_ms(), OID_INT8);
    int rc = pq_do(txc(tx),
                   "UPDATE jobs SET state = $4, run_at = $5, attempts = $6, last_error = $7,"
                   " progress = coalesce($8, progress), lease_token = NULL, lease_until = NULL,"
                   " updated = $9 WHERE id = $1 AND state = 'running' AND lease_owner = $2"
                   " AND lease_token = $3",
                   &p, "job finish", &changed);
    arena_free(a);
    if (rc != E_OK)
        return rc;
    return changed == 0 ? E_CONFLICT : E_OK;
}

static int
tx_job_purge(struct tx *tx, int64_t before)
{
    WITH_ARGS(a, p);
    arg_int(&p, before, OID_INT8);
    int rc =
        pq_do(txc(tx), "DELETE FROM jobs WHERE state IN ('done', 'failed') AND updated < $1",
              &p, "job purge", NULL);
    arena_free(a);
    return rc;
}

static int
st_job_next(struct store *base, int64_t *when)
{
    struct pconn *c = reader((struct pg_store *)base);
    PGresult     *r;
    int           rc;

    if (c == NULL)
        return E_UNAVAILABLE;
    rc = pq_rows(c, "SELECT min(run_at) FROM jobs WHERE state IN ('queued', 'running')", NULL,
                 "job next", &r);
    if (rc != E_OK)
        return rc;
    rc = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? E_OK : E_NOTFOUND;
    if (rc == E_OK)
        *when = col_int(r, 0, 0);
    PQclear(r);
    return rc;
}

static int
st_job_get(struct store *base, const char *kind, struct str key, struct arena *a,
           struct job_row *out)
{
    struct pconn *c = reader((struct pg_store *)base);
    struct pargs  p = { .a = a };
    PGresult     *r;
    int           rc;

    if (c == NULL)
        return E_UNAVAILABLE;
    arg_cstr(&p, kind);
    arg_str(&p, key, OID_TEXT);
    rc = pq_rows(c, "SELECT " JOB_COLS " FROM jobs WHERE kind = $1 AND key = $2", &p, "job get",
                 &r);
    if (rc != E_OK)
        return rc;
    rc = PQntuples(r) > 0 ? E_OK : E_NOTFOUND;
    if (rc == E_OK)
        job_row_read(r, a, out);
    PQclear(r);
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

/* BEGIN and the write lock, on a writer connection made again if it was lost. */
static bool
begin_write(struct pg_store *st)
{
    struct pconn *c = &st->writer;
    struct errbuf eb;

    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
        if (c->failed_at != 0 && time_now_ms() - c->failed_at < RECONNECT_MS)
            return false;
        if (conn_open(c, st, true, &eb) != E_OK) {
            log_error("%s", eb.msg);
            return false;
        }
    }
    if (pq_exec(c, "BEGIN") != E_OK)
        return false;
    if (pq_do(c, WRITE_LOCK, NULL, "write lock", NULL) == E_OK)
        return true;
    pq_exec(c, "ROLLBACK");
    return false;
}

/* One job in its savepoint. A job that went on after a failed statement (the
 * transaction is then aborted) failed, whatever it answers. */
static int
run_job(struct pg_tx *tx, struct wjob *j)
{
    struct pconn *c = &tx->st->writer;
    size_t        mark = tx->log.n;
    int           rc = pq_exec(c, "SAVEPOINT job");

    if (rc == E_OK)
        rc = j->run(&tx->base, j->arg);
    if (rc == E_OK && PQtransactionStatus(c->pg) == PQTRANS_INERROR)
        rc = E_INTERNAL;
    if (rc != E_OK) {
        pq_exec(c, "ROLLBACK TO job");
        changelog_truncate(&tx->log, mark);
    }
    pq_exec(c, "RELEASE job");
    return rc;
}

/* Whether the transaction's changes are to announce (spec.announced). */
static bool
touches_announced(const struct changelog *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (!l->v[i].job && (l->v[i].s == NULL || l->v[i].s->announced))
            return true;
    return false;
}

/* Move the generation of announced writes (store_ops.others_wrote) with the
 * transaction;
 * 0 when it did not, else its new value. */
static int64_t
bump_announced(struct pg_store *st, const struct changelog *l)
{
    PGresult *r;
    int64_t   n = 0;

    if (!touches_announced(l) ||
        pq_rows(&st->writer,
                "UPDATE kw_generation SET n = n + 1 WHERE topic = 'announced' RETURNING n",
                NULL, "generation", &r) != E_OK)
        return 0;
    if (PQntuples(r) == 1)
        n = col_int(r, 0, 0);
    PQclear(r);
    return n;
}

/* Our own commit moved the generation from n - 1 to n: the observers saw it
 * already, nothing to rebuild (unless another server's came between). */
static void
own_announced(struct pg_store *st, int64_t n)
{
    int64_t prev = n - 1;

    if (n > 0)
        __atomic_compare_exchange_n(&st->announced_seen, &prev, n, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE);
}

static bool
st_others_wrote(struct store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    struct pconn    *c = reader(st);
    PGresult        *r;
    int64_t          n, seen;

    if (c == NULL || pq_rows(c, "SELECT n FROM kw_generation WHERE topic = 'announced'", NULL,
                             "generation", &r) != E_OK)
        return false; /* the request's own reads will fail the same way */
    n = PQntuples(r) == 1 ? col_int(r, 0, 0) : 0;
    PQclear(r);
    seen = __atomic_load_n(&st->announced_seen, __ATOMIC_ACQUIRE);
    return n != seen && __atomic_compare_exchange_n(&st->announced_seen, &seen, n, false,
                                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void
run_batch(struct pg_store *st, struct wjob *batch)
{
    struct pg_tx  tx = { { &tx_ops }, st, { 0 } };
    struct pconn *c = &st->writer;
    int           rcs[BATCH_MAX];
    struct wjob  *j = batch, *next;

    while (j != NULL) {
        struct wjob *first = j;
        size_t       n = 0;
        bool         began = begin_write(st);
        for (; j != NULL && n < BATCH_MAX; j = j->next, n++)
            rcs[n] = began ? run_job(&tx, j) : E_UNAVAILABLE;
        int64_t gen = began ? bump_announced(st, &tx.log) : 0;
        /* A lost connection during COMMIT leaves the outcome unknown: the jobs
         * answer 503, honestly "unknown". */
        if (began && pq_commit(c) != E_OK) {
            pq_exec(c, "ROLLBACK");
            for (size_t i = 0; i < n; i++)
                rcs[i] = E_UNAVAILABLE;
            changelog_truncate(&tx.log, 0);
        } else
            own_announced(st, gen);
        changelog_publish(&tx.log);
        j = first;
        for (size_t i = 0; i < n; i++, j = next) {
            next = j->next;
            j->done(j->arg, rcs[i]);
        }
    }
    changelog_free(&tx.log);
}

/* The count changes the triggers appended (sql.h sql_counts_fold) folded into
 * the counts, at most once a second after writes, in a transaction of their
 * own: the appended rows stay few, whatever the rate of writes. */
#define FOLD_EVERY_MS 1000

static void
fold_counts(struct pg_store *st, int64_t *last_ms)
{
    int64_t now = time_now_ms();
    int     rc = E_OK;

    if (now - *last_ms < FOLD_EVERY_MS || !begin_write(st))
        return;
    *last_ms = now;
    for (size_t i = 0; i < spec_count && rc == E_OK; i++) {
        struct buf sql;
        if (spec_all[i]->counted == NULL || spec_all[i]->not_namespaced)
            continue;
        buf_init(&sql, SQL_MAX);
        sql_counts_fold(&sql, spec_all[i]);
        rc = pq_do(&st->writer, buf_cstr(&sql), NULL, "fold counts", NULL);
        buf_free(&sql);
    }
    pq_exec(&st->writer, rc == E_OK ? "COMMIT" : "ROLLBACK");
}

static void *
writer_main(void *arg)
{
    struct pg_store *st = arg;
    struct wjob     *batch;
    int64_t          folded_ms = 0;

    while ((batch = wqueue_take(&st->q)) != NULL) {
        run_batch(st, batch);
        fold_counts(st, &folded_ms);
    }
    return NULL;
}

static void
st_submit(struct store *base, struct wjob *job)
{
    wqueue_push(&((struct pg_store *)base)->q, job);
}

static void
st_close(struct store *base)
{
    struct pg_store *st = (struct pg_store *)base;

    wqueue_stop(&st->q);
    pthread_join(st->thread, NULL);
    for (struct pconn *c = st->readers, *next; c != NULL; c = next) {
        next = c->next;
        conn_close(c);
        free(c);
    }
    pthread_key_delete(st->reader_key);
    conn_close(&st->writer);
    free(st->url);
    free(st);
}

/* ---- cursors: long reads on a connection of their own ------------------ */

/* A list read row by row (store.h cursor_open): one REPEATABLE READ
 * transaction on a connection of its own (the count and every row from one
 * snapshot), the rows streamed in single-row mode. */
struct store_cursor {
    struct pconn c;
    bool         done;
    struct listq q; /* its projection (in the caller's arena) */
};

static void
st_cursor_close(struct store_cursor *cur)
{
    PGresult *r;

    if (cur == NULL)
        return;
    if (cur->c.pg != NULL && !cur->done) { /* drop the rest of the rows */
        PGcancel *cancel = PQgetCancel(cur->c.pg);
        char      err[64];
        if (cancel != NULL) {
            PQcancel(cancel, err, sizeof err);
            PQfreeCancel(cancel);
        }
        while ((r = PQgetResult(cur->c.pg)) != NULL)
            PQclear(r);
    }
    conn_close(&cur->c); /* a read: nothing to lose, ends the snapshot */
    free(cur);
}

static int
st_cursor_open(struct store *base, const struct spec *s, const struct listq *q, struct arena *a,
               struct store_cursor **out, int64_t *total, struct errbuf *eb)
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
    if ((rc = conn_open(&cur->c, st, false, eb)) != E_OK ||
        (rc = pq_exec(&cur->c, "SET statement_timeout = 0")) != E_OK ||
        (rc = pq_exec(&cur->c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) != E_OK)
        goto out;
    if (q->want_total) {
        if ((rc = sql_count(&sql, s, q, SQL_POSTGRES, a, &ps, eb)) != E_OK ||
            (rc = count_rows(&cur->c, buf_cstr(&sql), &ps, a, total)) != E_OK)
            goto out;
        buf_reset(&sql);
        ps.n = 0;
    }
    if ((rc = sql_select(&sql, s, q, SQL_POSTGRES, a, &ps, eb)) != E_OK)
        goto out;
    args_from(&p, &ps);
    if (conn_prepare(&cur->c, buf_cstr(&sql), &p, name) == NULL ||
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
    st_cursor_close(cur);
    if (rc != E_OK && (int)eb->code != rc)
        errbuf_set(eb, rc, "store error");
    return rc;
}

static int
st_cursor_next(struct store_cursor *cur, struct arena *a, struct val *out)
{
    PGresult *r;
    int       rc;

    if (cur->done)
        return 0;
    r = PQgetResult(cur->c.pg);
    if (r != NULL && PQresultStatus(r) == PGRES_SINGLE_TUPLE) {
        rc = read_row(r, 0, &cur->q, a, out) == E_OK ? 1 : -(int)E_INTERNAL;
        PQclear(r);
        return rc;
    }
    cur->done = true;
    rc = r == NULL || PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -pq_err(&cur->c, r, "cursor");
    PQclear(r);
    while ((r = PQgetResult(cur->c.pg)) != NULL)
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
        return val_int(col_int(r, row, col));
    case OID_BOOL: /* as SQLite keeps booleans */
        return val_int(col_int(r, row, col));
    case OID_FLOAT8:
    case OID_FLOAT4:
        return val_float(col_float(r, row, col));
    default:
        return val_str(col_str(r, row, col, a));
    }
}

static int
aggregate_part(struct pconn *c, const char *sql, const struct sqlparams *ps, size_t ncols,
               struct arena *a, struct val *out)
{
    struct pargs p = { .a = a };
    PGresult    *r;
    int          rc;

    args_from(&p, ps);
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

static int
st_aggregate(struct store *base, const struct spec *s, const struct scope *sc,
             const struct fnode *filter, struct agg_part *parts, size_t nparts, struct arena *a,
             struct errbuf *eb)
{
    struct pconn    *c = reader((struct pg_store *)base);
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

static const struct store_ops pg_ops = {
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
    .others_wrote = st_others_wrote,
};

/* ---- schema ------------------------------------------------------------ */

/* Several statements in one simple-protocol message. */
static int
exec_script(struct pconn *c, const char *sql, struct errbuf *eb)
{
    PGresult *r = PQexec(c->pg, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

    if (!ok) {
        char why[300];
        snprintf(why, sizeof why, "%s", PQresultErrorMessage(r));
        why[strcspn(why, "\n")] = '\0';
        errbuf_set(eb, E_UNAVAILABLE, "store: %s", why);
    }
    PQclear(r);
    return ok ? E_OK : E_UNAVAILABLE;
}

/* Numbered migrations, as sqlite.c's: the same numbers mean the same schema
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

    arg_int(&p, version, OID_INT8);
    rc = pq_rows(c,
                 "SELECT count(*) FILTER (WHERE version = $1), coalesce(max(version), 0)"
                 " FROM schema_migrations",
                 &p, "schema_migrations", &r);
    arena_free(a);
    if (rc != E_OK)
        return rc;
    *applied = col_int(r, 0, 0) > 0;
    *newest = col_int(r, 0, 1);
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
        arg_int(&p, m->version, OID_INT8);
        arg_int(&p, time_now_ms(), OID_INT8);
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

    arg_cstr(&p, arena_printf(a, "\"%s\"", name));
    if (pq_rows(c, "SELECT to_regclass($1) IS NOT NULL", &p, "schema", &r) == E_OK) {
        found = col_int(r, 0, 0) != 0;
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

    arg_cstr(&p, table);
    arg_cstr(&p, col);
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

/* The spec tables (sqlite.c sync_spec_tables): no side or substring tables,
 * list attributes are JSONB columns with GIN indexes. */
static int
sync_spec(struct pconn *c, const struct spec *s, struct errbuf *eb)
{
    char counts[256];
    int  rc = run_sql(c, sql_create_table, s, eb);

    for (size_t i = 0; i < spec_ncolumns(s) && rc == E_OK; i++) {
        struct buf sql;
        buf_init(&sql, SQL_MAX);
        sql_add_column(&sql, s, spec_column(s, i), SQL_POSTGRES);
        rc = exec_script(c, buf_cstr(&sql), eb);
        buf_free(&sql);
    }
    if (rc == E_OK && s->bulk && !has_column(c, s->rest, "nsid"))
        rc = run_sql(c, sql_add_nsid, s, eb);
    if (rc == E_OK)
        rc = run_sql(c, sql_create_indexes, s, eb);
    if (rc != E_OK || s->counted == NULL)
        return rc;
    snprintf(counts, sizeof counts, "%s__counts", s->rest);
    bool fill = !has_relation(c, counts);
    rc = run_sql(c, sql_counts_create, s, eb);
    if (rc == E_OK && fill)
        rc = run_sql(c, sql_counts_fill, s, eb);
    return rc;
}

static int
sync_spec_tables(struct pconn *c, struct errbuf *eb)
{
    int rc = exec_script(c, "BEGIN; " SCHEMA_LOCK, eb);

    for (size_t i = 0; i < spec_count && rc == E_OK; i++)
        if (!spec_all[i]->not_namespaced)
            rc = sync_spec(c, spec_all[i], eb);
    if (rc == E_OK)
        return exec_script(c, "COMMIT", eb);
    pq_exec(c, "ROLLBACK");
    return rc;
}

int
store_open_pg(const char *url, struct store **out, struct errbuf *eb)
{
    struct pg_store *st = calloc(1, sizeof *st);
    int              rc;

    if (st == NULL || (st->url = strdup(url)) == NULL)
        abort();
    config_url_redacted(url, st->shown, sizeof st->shown);
    st->base.ops = &pg_ops;
    wqueue_init(&st->q);
    pthread_mutex_init(&st->readers_mu, NULL);
    pthread_key_create(&st->reader_key, NULL); /* readers are closed by st_close */
    rc = conn_open(&st->writer, st, true, eb);
    /* Quiet: IF NOT EXISTS says "already exists, skipping" at every start. */
    if (rc == E_OK)
        rc = exec_script(&st->writer, "SET client_min_messages = warning", eb);
    for (size_t i = 0; i < ARRAY_LEN(migrations) && rc == E_OK; i++)
        rc = migrate_one(&st->writer, &migrations[i], eb);
    if (rc == E_OK)
        rc = sync_spec_tables(&st->writer, eb);
    if (rc == E_OK && pthread_create(&st->thread, NULL, writer_main, st) != 0)
        rc = errbuf_set(eb, E_INTERNAL, "store: cannot start the writer thread");
    if (rc != E_OK) {
        if (strstr(eb->msg, st->shown) == NULL) {
            char why[sizeof eb->msg];
            snprintf(why, sizeof why, "%s", eb->msg);
            snprintf(eb->msg, sizeof eb->msg, "%.100s: %.150s", st->shown, why);
        }
        conn_close(&st->writer);
        pthread_key_delete(st->reader_key);
        free(st->url);
        free(st);
        return rc;
    }
    *out = &st->base;
    return E_OK;
}
