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
 *
 * This file: the parameters, connections and statements, values from results,
 * the reads, and the store's operations. The transaction's operations and the
 * writer thread are in pg_tx.c, work items in pg_jobs.c, cursors and
 * aggregates in pg_cursor.c, the schema in pg_schema.c, reads by ID made
 * together in pg_batch.c (pg_local.h).
 */
#include <libpq-fe.h>
#include <poll.h>
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

/* ---- connections and statements ---------------------------------------- */

/* The held-back statements are gone: sent, or their connection lost. */
static void
deferred_clear(struct pconn *c)
{
    for (int i = 0; i < c->ndeferred; i++)
        if (c->deferred[i].cmd == NULL)
            arena_free(c->deferred[i].p.a);
    c->ndeferred = 0;
    c->job_mark = 0; /* what the running job holds back from now on */
}

/* ---- a hopeful transaction's savepoints, opened only when needed ---------
 * In a hopeful transaction (pg_tx.c) a job's savepoint is opened only once
 * something of it is about to reach the server before it ends: one of its
 * held-back statements, or a statement that may write. A job that ends with
 * nothing of it sent needs none: should it fail, its held-back statements
 * are dropped unsent (pq_job_drop). A create is such a job: SAVEPOINT and
 * RELEASE were two of its four statements. */

static bool
is_read(const char *sql)
{
    return strncmp(sql, "SELECT ", 7) == 0;
}

/* Before a round trip that sends a statement (`writes`: one that may write)
 * with the held-back ones: the running job's savepoint, put before the first
 * of its held-back statements, when any of them or `writes` would reach the
 * server without one. DEFERRED_ROOM keeps a slot free for it. */
static void
job_savepoint(struct pconn *c, bool writes)
{
    int n = c->ndeferred - c->job_mark;

    if (!c->lazy_sp || c->job < 0 || c->sp_open || (!writes && n == 0))
        return;
    memmove(&c->deferred[c->job_mark + 1], &c->deferred[c->job_mark],
            (size_t)n * sizeof c->deferred[0]);
    c->deferred[c->job_mark] = (struct deferred){ .cmd = "SAVEPOINT job", .job = c->job };
    c->ndeferred++;
    c->sp_open = true;
}

/* The running job failed with nothing of it sent and no savepoint opened:
 * what it held back is dropped, as ROLLBACK TO would have undone it. A SET
 * of the plan mode among them was never run: the mode is then unknown. */
void
pq_job_drop(struct pconn *c)
{
    for (int i = c->job_mark; i < c->ndeferred; i++)
        if (c->deferred[i].cmd == NULL)
            arena_free(c->deferred[i].p.a);
        else
            c->plan = PLAN_UNKNOWN;
    c->ndeferred = c->job_mark;
}

void
pg_conn_close(struct pconn *c)
{
    PQfinish(c->pg);
    for (size_t i = 0; i < STMT_CACHE; i++)
        free(c->cache[i].sql);
    memset(c->cache, 0, sizeof c->cache);
    c->pg = NULL;
    deferred_clear(c);
    if (c->follow == FOLLOW_ARMED)
        c->follow = FOLLOW_FAILED; /* the settle reads the generation itself */
}

/* Whether c, idle between two uses, is still connected; when the server
 * closed it meanwhile (PostgreSQL stopped or restarted: every session is
 * ended), it is closed here and false, so that the caller makes a new one
 * instead of failing the request the connection is for. libpq notices a
 * closed connection only when it reads: its socket is then readable (the
 * server's last words, 57P01, then its end), which an idle connection's
 * never is otherwise. Never waits; a live connection is left as it is (what
 * it read waits in libpq's buffer for the next result). */
bool
pg_conn_alive(struct pconn *c)
{
    struct pollfd pfd;

    if (c->pg == NULL)
        return false;
    pfd = (struct pollfd){ PQsocket(c->pg), POLLIN, 0 };
    for (int i = 0; i < 4 && PQstatus(c->pg) == CONNECTION_OK; i++)
        if (poll(&pfd, 1, 0) <= 0 || !PQconsumeInput(c->pg))
            break;
    if (PQstatus(c->pg) == CONNECTION_OK)
        return true;
    log_info("postgres: a connection the server closed while it was idle is made again");
    pg_conn_close(c);
    return false;
}

static PGresult *pq_last(struct pconn *c, bool sent);

/* What every connection sets (conn_open says why). */
#define SETUP_ALL " SET plan_cache_mode = force_custom_plan; SET jit = off"

/* The statement timeout of a reader (store_timeout) or of the writer (twice it). */
static int
statement_ms(bool writer)
{
    int64_t t = cfg.store_timeout > 0 ? cfg.store_timeout : 30000;

    return (int)(writer ? 2 * t : t);
}

/* A connection; `connect_s` (NULL: the URL's, or 5 s) bounds the connect
 * whatever the URL says. */
static int
conn_open(struct pconn *c, const struct pg_store *st, bool writer, const char *connect_s,
          struct errbuf *eb)
{
    /* Defaults first: the URL's own parameters override them (but text is
     * always UTF-8). A database whose host is gone is noticed within seconds
     * (keepalives, unacknowledged data); one that stops answering while its
     * host's kernel still acknowledges, by the wait for each answer
     * (pq_wait). */
    const char *keys[] = { "connect_timeout",
                           "application_name",
                           "keepalives_idle",
                           "keepalives_interval",
                           "keepalives_count",
                           "tcp_user_timeout",
                           "dbname",
                           "client_encoding",
                           connect_s != NULL ? "connect_timeout" : NULL,
                           NULL };
    const char *vals[] = { "5",     "keyward", "10",   "5",       "2",
                           "20000", st->url,   "UTF8", connect_s, NULL };
    char        setup[256];

    pg_conn_close(c);
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c->pg) != CONNECTION_OK || PQsetnonblocking(c->pg, 1) != 0) {
        char why[256], *all = strdup(PQerrorMessage(c->pg)); /* scrubbed before it is cut */
        if (all != NULL)
            pg_url_scrub(&st->secrets, all);
        snprintf(why, sizeof why, "%s", all != NULL ? all : "out of memory");
        why[strcspn(why, "\n")] = '\0';
        free(all);
        pg_conn_close(c);
        c->failed_at = time_now_ms();
        return errbuf_set(eb, E_UNAVAILABLE, "store %s: %s", st->shown, why);
    }
    /* A statement that runs this long is a database in trouble: the request
     * is answered 503 rather than held. Every execution of a prepared statement
     * is planned for its values and the table as it is: a generic plan made
     * while a table was small (an import's first rows, in the transaction
     * that fills it) would scan a whole namespace per row ever after. No
     * query is compiled (JIT): for the counts over a namespace that the
     * planner thinks costly, compiling took 100 ms and saved nothing (a report
     * part over 1,000,000 certificates: 777 ms with it, 417 without). An
     * answer is waited for a little longer than the statement may run. The
     * connection never blocks in a send (non-blocking): pq_wait flushes. */
    snprintf(setup, sizeof setup, "%s SET statement_timeout = %d;" SETUP_ALL,
             !writer                           ? "SET default_transaction_read_only = on;"
             : strcmp(cfg.sync, "normal") == 0 ? "SET synchronous_commit = off;"
                                               : "SET synchronous_commit = on;",
             statement_ms(writer));
    c->wait_ms = statement_ms(writer) + WAIT_MARGIN_MS;
    c->plan = PLAN_CUSTOM;
    PGresult *r = pq_simple(c, setup);
    bool      ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (ok && !writer) {
        r = pq_last(c, PQsendPrepare(c->pg, FOLLOW_STMT, GENERATION_SQL, 0, NULL));
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    if (!ok) {
        pg_conn_close(c);
        return errbuf_set(eb, E_UNAVAILABLE, "store %s: cannot set up the connection",
                          st->shown);
    }
    return E_OK;
}

int
pg_conn_open(struct pconn *c, const struct pg_store *st, bool writer, struct errbuf *eb)
{
    return conn_open(c, st, writer, NULL, eb);
}

/* Until the connection's next result can be taken without blocking, at most
 * c->wait_ms: false when it did not come in time. The connection is then
 * closed (the next use makes a new one, RECONNECT_MS later at the soonest):
 * a database that stops answering while its host's kernel still acknowledges
 * (the server stopped or stuck) fires neither its statement timeout nor
 * TCP's. Its socket is abandoned as it is: a cancel request would wait for
 * that database too. */
static bool
pq_wait(struct pconn *c)
{
    int64_t deadline = time_now_ms() + c->wait_ms;
    int     unsent;

    while ((unsent = PQflush(c->pg)) > 0 || (unsent == 0 && PQisBusy(c->pg))) {
        struct pollfd pfd = { PQsocket(c->pg), POLLIN | (unsent > 0 ? POLLOUT : 0), 0 };
        int64_t       left = deadline - time_now_ms();
        if (left <= 0) {
            log_error("postgres: no answer in %d ms: the connection is given up", c->wait_ms);
            pg_conn_close(c);
            c->failed_at = time_now_ms();
            return false;
        }
        if (poll(&pfd, 1, (int)left) > 0 && (pfd.revents & ~POLLOUT) != 0 &&
            !PQconsumeInput(c->pg))
            break; /* lost: PQgetResult says so at once */
    }
    return true;
}

/* The next result of what was sent on c, as PQgetResult, waited for at most
 * c->wait_ms (pq_wait): NULL after the last one, or when none came in time
 * (c->pg is then NULL). Every wait on the database is this one. */
PGresult *
pq_next(struct pconn *c)
{
    return c->pg != NULL && pq_wait(c) ? PQgetResult(c->pg) : NULL;
}

/* What PQexec answers, for a query sent (`sent`: its send succeeded): its last
 * result, or the failure that ended it (with failed_at, not NULL, the index
 * of the command that failed); NULL when the send failed (PQerrorMessage says
 * why) or an answer did not come in time (c->pg NULL). */
static PGresult *
pq_last_of(struct pconn *c, bool sent, int *failed_at)
{
    PGresult *last = NULL, *r;
    int       at = 0;

    while (sent && (r = pq_next(c)) != NULL) {
        if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR) {
            PQclear(r);
            continue;
        }
        PQclear(last);
        last = r;
        if (PQresultStatus(r) == PGRES_FATAL_ERROR) {
            c->plan = PLAN_UNKNOWN; /* its transaction may undo a SET (pq_plan_for) */
            if (failed_at != NULL)
                *failed_at = at;
        }
        at++;
    }
    if (c->pg == NULL) {
        PQclear(last);
        return NULL;
    }
    return last;
}

static PGresult *
pq_last(struct pconn *c, bool sent)
{
    return pq_last_of(c, sent, NULL);
}

/* `sql` (one command or several) as PQexec runs it, each answer waited for
 * at most c->wait_ms (pq_last). */
PGresult *
pq_simple(struct pconn *c, const char *sql)
{
    return pq_last(c, PQsendQuery(c->pg, sql));
}

/* The error of a failed result as an enum err (and logged unless expected). */
int
pq_err(struct pconn *c, const PGresult *r, const char *what)
{
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    if (c->pg == NULL) /* given up (pq_wait, pq_pipeline), which said why */
        return E_UNAVAILABLE;
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

/* Whether a held-back statement (pq_later) executes "k<name>". */
static bool
pinned(const struct pconn *c, unsigned name)
{
    char n[24];

    snprintf(n, sizeof n, "k%u", name);
    for (int i = 0; i < c->ndeferred; i++)
        if (c->deferred[i].cmd == NULL && strcmp(c->deferred[i].name, n) == 0)
            return true;
    return false;
}

/* The prepared statement's name for `sql` with the parameters' types,
 * prepared now if the cache does not have it; NULL on error (logged). */
const char *
pg_conn_prepare(struct pconn *c, const char *sql, const struct pargs *p, char name[24])
{
    uint64_t h = stmt_hash(sql, p);

    for (size_t i = 0; i < STMT_CACHE; i++)
        if (c->cache[i].hash == h && c->cache[i].sql != NULL &&
            strcmp(c->cache[i].sql, sql) == 0) {
            c->cache[i].batch = c->batch;
            snprintf(name, 24, "k%u", c->cache[i].name);
            return name;
        }
    struct stmt_slot *slot;
    PGresult         *r;
    do /* never one a held-back statement or the batch is still to execute */
        slot = &c->cache[c->next_evict++ % STMT_CACHE];
    while (slot->sql != NULL &&
           (pinned(c, slot->name) || (c->batch != 0 && slot->batch == c->batch)));
    if (slot->sql != NULL) { /* fails inside an aborted transaction: then it stays */
        char drop[40];
        snprintf(drop, sizeof drop, "DEALLOCATE k%u", slot->name);
        PQclear(pq_simple(c, drop));
        free(slot->sql);
        slot->sql = NULL;
    }
    slot->name = c->next_name++;
    snprintf(name, 24, "k%u", slot->name);
    r = pq_last(
        c, PQsendPrepare(c->pg, name, sql, p != NULL ? p->n : 0, p != NULL ? p->type : NULL));
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        pq_err(c, r, "prepare");
        PQclear(r);
        return NULL;
    }
    PQclear(r);
    if ((slot->sql = strdup(sql)) == NULL)
        abort();
    slot->hash = h;
    slot->batch = c->batch;
    return name;
}

static bool
send_prepared(struct pconn *c, const char *name, const struct pargs *p)
{
    int n = p != NULL ? p->n : 0;

    return PQsendQueryPrepared(c->pg, name, n, n > 0 ? p->v : NULL, n > 0 ? p->len : NULL,
                               n > 0 ? p->fmt : NULL, 1);
}

static bool
send_deferred(struct pconn *c, const struct deferred *d)
{
    if (d->cmd != NULL)
        return PQsendQueryParams(c->pg, d->cmd, 0, NULL, NULL, NULL, NULL, 0);
    return send_prepared(c, d->name, &d->p);
}

/* Whether a held-back statement did what it was held back for: a command
 * succeeded, a pq_later write wrote its one row. Said in the log when not. */
static bool
deferred_ok(struct pconn *c, const struct deferred *d, PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);

    if (st == PGRES_FATAL_ERROR)
        pq_err(c, r, d->cmd != NULL ? d->cmd : "deferred write");
    else if (d->cmd == NULL && st == PGRES_COMMAND_OK && strcmp(PQcmdTuples(r), "1") != 0) {
        if (!d->hoped) /* a hopeful insert's miss: a taken key, no error */
            log_error("postgres: a deferred write wrote %s rows, not 1", PQcmdTuples(r));
    } else
        return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    return false;
}

/* A held-back statement d did not do what it was held back for (result r):
 * the transaction is to be refused (c->later_failed), the first such naming
 * its job (c->failed_job; those after it may have failed only because it
 * did), and c->held_error saying whether any was more than a hopeful
 * insert's miss. Not when the connection went: whether a COMMIT sent with
 * it was carried out is then unknown, which is no refusal. */
static void
held_failed(struct pconn *c, const struct deferred *d, const PGresult *r)
{
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK ||
        (PQresultStatus(r) == PGRES_FATAL_ERROR &&
         PQresultErrorField(r, PG_DIAG_SQLSTATE) == NULL)) /* libpq's own: no answer */
        return;
    if (!c->later_failed)
        c->failed_job = d->job;
    c->later_failed = true;
    if (!d->hoped || PQresultStatus(r) != PGRES_COMMAND_OK)
        c->held_error = true;
}

/* One round trip: the connection's held-back statements (pq_defer,
 * pq_later; a failure sets c->later_failed), the generation row when follow
 * is armed (into c->follow_n), then the prepared statement `name` once per
 * parameter set p[0..np) (p NULL: once, without; np 0: none) - or names[i]
 * with p[i] when names is not NULL -, out[i] the i-th execution's result (an
 * earlier failure makes it PGRES_PIPELINE_ABORTED; NULL if none came). A
 * broken pipeline closes the connection: false. */
bool
pq_pipeline(struct pconn *c, const char *name, const char *const *names, const struct pargs *p,
            size_t np, PGresult **out)
{
    bool      follow = c->follow == FOLLOW_ARMED, sent;
    size_t    first = (size_t)c->ndeferred, query = 0, nulls = 0;
    PGresult *r;

    if (np > 0)
        memset(out, 0, np * sizeof *out);
    if (follow)
        c->follow = FOLLOW_FAILED;
    sent = PQenterPipelineMode(c->pg);
    for (int i = 0; i < c->ndeferred && sent; i++)
        sent = send_deferred(c, &c->deferred[i]);
    for (size_t i = 0; i < np && sent; i++)
        sent = send_prepared(c, names != NULL ? names[i] : name, p != NULL ? &p[i] : NULL);
    /* the generation after the reads: what they saw was written before it */
    if (sent && follow)
        sent = PQsendQueryPrepared(c->pg, FOLLOW_STMT, 0, NULL, NULL, NULL, 1);
    if (!sent || !PQpipelineSync(c->pg)) {
        log_error("postgres: %s", PQerrorMessage(c->pg));
        pg_conn_close(c);
        return false;
    }
    /* Each query's results end with a NULL; the Sync's result ends it all. */
    while (nulls < 3 && PQstatus(c->pg) == CONNECTION_OK) {
        if ((r = pq_next(c)) == NULL) { /* also when none came in time: c->pg NULL */
            query++, nulls++;
            continue;
        }
        nulls = 0;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            c->plan = PLAN_UNKNOWN; /* a SET sent with it may be undone */
        if (query < (size_t)c->ndeferred && !deferred_ok(c, &c->deferred[query], r))
            held_failed(c, &c->deferred[query], r);
        if (follow && query == first + np && st == PGRES_TUPLES_OK && PQntuples(r) == 1) {
            c->follow_n = pg_col_int(r, 0, 0);
            c->follow = FOLLOW_READ;
        }
        if (query >= first && query - first < np && out[query - first] == NULL)
            out[query - first] = r;
        else
            PQclear(r);
    }
    deferred_clear(c);
    if (!PQexitPipelineMode(c->pg)) {
        if (c->pg != NULL)
            log_error("postgres: %s", PQerrorMessage(c->pg));
        pg_conn_close(c);
        for (size_t i = 0; i < np; i++)
            PQclear(out[i]);
        memset(out, 0, np * sizeof *out);
        return false;
    }
    return true;
}

/* The next statement on c writes one row (an INSERT, whose only lookups are
 * by unique keys) or reads one by ID (sql_select_one: the ID's index before
 * anything else): no plan of it depends on the data, so the one generic plan
 * serves every execution, without planning each
 * (planning was 26 % of PostgreSQL's CPU per create and about a third of a
 * GET's, docs/performance.md). Every other statement keeps custom plans
 * (conn_open says why). */
void
pq_generic(struct pconn *c)
{
    c->next_generic = true;
}

/* The plan mode the statement about to be sent asked for (pq_generic), set
 * with it, in its round trip, when the session's differs. A SET is undone
 * with the transaction it ran in when that fails or is rolled back (also the
 * implicit one of a pipeline): then the mode is unknown (pq_exec,
 * pq_pipeline) and set again. */
int
pq_plan_for(struct pconn *c)
{
    enum plan want = c->next_generic ? PLAN_GENERIC : PLAN_CUSTOM;

    c->next_generic = false;
    if (c->plan == want)
        return E_OK;
    c->plan = want;
    return pq_defer(c, want == PLAN_GENERIC ? "SET plan_cache_mode = force_generic_plan"
                                            : "SET plan_cache_mode = force_custom_plan");
}

/* Run `sql` with `p` (NULL: none), results in binary format; in one round
 * trip with what the connection has to send first (pq_pipeline). NULL when
 * the statement could not even be prepared; otherwise the caller checks the
 * result's status and clears it. */
static PGresult *
pq_run(struct pconn *c, const char *sql, const struct pargs *p)
{
    char        buf[24];
    const char *name;
    PGresult   *r = NULL;

    job_savepoint(c, !is_read(sql));
    name = pq_plan_for(c) == E_OK ? pg_conn_prepare(c, sql, p, buf) : NULL;
    if (name == NULL)
        return NULL;
    if (c->follow == FOLLOW_ARMED || c->ndeferred > 0)
        return pq_pipeline(c, name, NULL, p, 1, &r) ? r : NULL;
    return pq_last(c, send_prepared(c, name, p));
}

/* `sql` once per parameter set of p[0..np) (all of one statement's types),
 * in pipelines of at most PIPE_MAX executions; changed[i] the rows the i-th
 * wrote. The first failure is returned (logged): the transaction is then
 * aborted. */
int
pq_do_each(struct pconn *c, const char *sql, const struct pargs *p, size_t np, const char *what,
           int64_t *changed)
{
    PGresult *out[PIPE_MAX];
    char      buf[24];
    int       rc;

    job_savepoint(c, !is_read(sql));
    rc = pq_plan_for(c);

    for (size_t at = 0; at < np && rc == E_OK; at += PIPE_MAX) {
        size_t      k = np - at < PIPE_MAX ? np - at : PIPE_MAX;
        const char *name = pg_conn_prepare(c, sql, &p[at], buf);
        if (name == NULL || !pq_pipeline(c, name, NULL, &p[at], k, out))
            return pq_err(c, NULL, what);
        for (size_t i = 0; i < k; i++) {
            ExecStatusType st = out[i] != NULL ? PQresultStatus(out[i]) : PGRES_FATAL_ERROR;
            if (rc == E_OK && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
                rc = pq_err(c, out[i], what);
            else if (rc == E_OK)
                changed[at + i] = strtoll(PQcmdTuples(out[i]), NULL, 10);
            PQclear(out[i]);
        }
    }
    return rc;
}

/* A command whose answer can wait: sent before the connection's next
 * statement, in its round trip (a failure then fails that statement). */
int
pq_defer(struct pconn *c, const char *cmd)
{
    if (c->ndeferred >= DEFERRED_ROOM)
        return pq_exec(c, cmd);
    c->deferred[c->ndeferred++] = (struct deferred){ .cmd = cmd, .job = c->job };
    return E_OK;
}

/* Every parameter value copied into p->a: some point into the caller's
 * memory (pg_arg_bytes, pg_arg_cstr), which may be gone once it is sent. */
static void
args_own(struct pargs *p)
{
    for (int i = 0; i < p->n; i++) {
        if (p->v[i] == NULL)
            continue;
        size_t n = p->fmt[i] == 1 ? (size_t)p->len[i] : strlen(p->v[i]);
        char  *copy = arena_alloc(p->a, n + 1);
        memcpy(copy, p->v[i], n);
        copy[n] = '\0';
        p->v[i] = copy;
    }
}

/* Hold back `sql` with p (its parameters copied into p->a, which it takes)
 * when there is room for it and its plan mode's SET (pq_plan_for): false when
 * there is not, or it cannot be prepared; nothing is then held. */
static bool
hold(struct pconn *c, const char *sql, struct pargs *p, bool hoped)
{
    char        buf[24];
    const char *name = NULL;

    if (c->ndeferred + 2 <= DEFERRED_ROOM && pq_plan_for(c) == E_OK)
        name = pg_conn_prepare(c, sql, p, buf);
    if (name == NULL)
        return false;
    struct deferred *d = &c->deferred[c->ndeferred++];
    args_own(p);
    *d = (struct deferred){ .p = *p, .hoped = hoped, .job = c->job };
    snprintf(d->name, sizeof d->name, "%s", name);
    return true;
}

/* A write of exactly one row whose answer can wait: held back and sent with
 * the connection's next statement, in its round trip. Should it fail or
 * write no row, c->later_failed says so once it is sent, and the
 * transaction is to be rolled back whole (pq_commit refuses to commit it):
 * the writes of other jobs may have followed it. */
int
pq_later(struct pconn *c, const char *sql, struct pargs *p)
{
    int64_t changed = 0;
    int     rc;

    if (hold(c, sql, p, false))
        return E_OK;
    rc = pq_do(c, sql, p, "write", &changed);
    arena_free(p->a);
    return rc == E_OK && changed != 1 ? E_INTERNAL : rc;
}

/* An insert held back in the hope that it writes its row (pg_tx.c, hopeful
 * transactions): as pq_later's, except that writing nothing is no error to
 * log (c->held_error stays false; the transaction is refused all the same). False: not
 * held (no room; p->a freed all the same), the caller writes it and waits. */
bool
pq_hope(struct pconn *c, const char *sql, struct pargs *p)
{
    if (hold(c, sql, p, true))
        return true;
    arena_free(p->a);
    return false;
}

static bool
holds_later(const struct pconn *c)
{
    for (int i = 0; i < c->ndeferred; i++)
        if (c->deferred[i].cmd == NULL)
            return true;
    return false;
}

/* The held-back statements and `sql` as one simple query: PQexec's one round
 * trip; its result is the first failure's or the last command's. pq_later's
 * are sent first, in a round trip of their own (a simple query has no
 * parameters). */
static PGresult *
pq_exec_deferred(struct pconn *c, const char *sql)
{
    struct buf text;
    PGresult  *r;

    job_savepoint(c, true);
    if (holds_later(c) && !pq_pipeline(c, NULL, NULL, NULL, 0, NULL))
        return NULL;
    if (c->ndeferred == 0)
        return pq_simple(c, sql);
    int held = c->ndeferred, failed_at = -1;
    buf_init(&text, SQL_MAX);
    for (int i = 0; i < held; i++)
        buf_printf(&text, "%s; ", c->deferred[i].cmd);
    buf_puts(&text, sql);
    c->ndeferred = 0;
    c->job_mark = 0;
    r = pq_last_of(c, PQsendQuery(c->pg, buf_cstr(&text)), &failed_at);
    buf_free(&text);
    if (failed_at >= 0 && failed_at < held) /* as pq_pipeline tells a held one's failure */
        held_failed(c, &c->deferred[failed_at], r);
    return r;
}

/* A statement that returns no rows; *changed (may be NULL) the rows it wrote. */
int
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

/* A plain command (BEGIN, SAVEPOINT ...), unprepared. A rollback, or a
 * failure, may undo the plan mode a SET chose (pq_plan_for). */
int
pq_exec(struct pconn *c, const char *sql)
{
    PGresult *r = pq_exec_deferred(c, sql);
    int       rc = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK
                       ? E_OK
                       : pq_err(c, r, sql);

    if (rc != E_OK || strstr(sql, "ROLLBACK") != NULL)
        c->plan = PLAN_UNKNOWN;
    PQclear(r);
    return rc;
}

/* COMMIT, which PostgreSQL answers without an error, as "ROLLBACK", when the
 * transaction had failed: that is a failure too. A transaction in which a
 * held-back write failed (pq_later) is not committed at all: E_UNAVAILABLE,
 * and the caller rolls it back. */
int
pq_commit(struct pconn *c)
{
    if (holds_later(c) && !pq_pipeline(c, NULL, NULL, NULL, 0, NULL))
        return E_UNAVAILABLE;
    if (c->later_failed) {
        if (!c->held_error) /* a taken name: its job runs again, and is told */
            log_debug("postgres: a hopeful insert wrote nothing: the transaction's jobs "
                      "run again, each waiting for its writes");
        else
            log_error("postgres: a deferred write failed: the transaction is rolled back");
        return E_UNAVAILABLE;
    }
    enum plan mode = c->plan; /* kept only if the transaction that set it commits */
    PGresult *r = pq_exec_deferred(c, "COMMIT");
    int       rc = PQresultStatus(r) != PGRES_COMMAND_OK   ? pq_err(c, r, "commit")
                   : strcmp(PQcmdStatus(r), "COMMIT") != 0 ? E_UNAVAILABLE
                                                           : E_OK;

    c->plan = rc == E_OK ? mode : PLAN_UNKNOWN;
    if (rc == E_UNAVAILABLE && PQresultStatus(r) == PGRES_COMMAND_OK)
        log_error("postgres: the transaction failed and was rolled back at commit");
    PQclear(r);
    return rc;
}

/* The thread's read connection, made (again) when needed - also when the
 * server closed it since its last use (pg_conn_alive) - within `connect_s`
 * (as conn_open); NULL while the database cannot be reached. */
static struct pconn *
reader(struct pg_store *st, const char *connect_s)
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
    if (pg_conn_alive(c))
        return c;
    if (c->failed_at != 0 && time_now_ms() - c->failed_at < RECONNECT_MS)
        return NULL;
    if (conn_open(c, st, false, connect_s, &eb) != E_OK) {
        log_error("%s", eb.msg);
        return NULL;
    }
    return c;
}

struct pconn *
pg_reader(struct pg_store *st)
{
    return reader(st, NULL);
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
    char          connect_s[16];
    struct pconn *c;
    int           wait_ms;
    bool          ok;

    snprintf(connect_s, sizeof connect_s, "%d", (PING_WAIT_MS + 999) / 1000);
    if ((c = reader((struct pg_store *)base, connect_s)) == NULL)
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
        pthread_key_delete(st->reader_key);
        pg_url_forget(&st->secrets);
        free(st->url);
        free(st);
        return rc;
    }
    *out = &st->base;
    return E_OK;
}
