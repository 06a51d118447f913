/* pg_conn.c - the PostgreSQL store's connections and statements (libpq):
 * opening a connection and checking it is alive, statements prepared once per
 * connection and kept in a small cache, pipelines of them in one round trip,
 * the statements a transaction holds back until they are needed (and the
 * hopeful transactions' savepoints, opened only when needed), commit, and
 * each thread's reader connection. pg.c has the rest of the store (pg_local.h).
 */
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/buf.h"
#include "../core/config.h"
#include "../core/log.h"
#include "../core/timeutil.h"
#include "pg_local.h"
#include "sql.h"
#include "store.h"

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

/* A writer's transaction that waits on its server (stopped, stuck, its
 * machine gone) holds the write lock every server's writes take: PostgreSQL
 * ends it after this long (a review: one server paused with SIGSTOP mid-write
 * held every server's writes for 145 s). The writer's own work between two
 * statements of a transaction takes milliseconds. */
#define WRITER_IDLE_SETUP " SET idle_in_transaction_session_timeout = 10000;"

/* The statement timeout of a reader (store_timeout) or of the writer (twice it). */
static int
statement_ms(bool writer)
{
    int64_t t = cfg.store_timeout > 0 ? cfg.store_timeout : 30000;

    return (int)(writer ? 2 * t : t);
}

/* A connection; `connect_s` (NULL: the URL's, or 5 s) bounds the connect
 * whatever the URL says; `follows`: a reader's, which brings the generation
 * row with its statements (FOLLOW_STMT prepared). */
static int
conn_open(struct pconn *c, const struct pg_store *st, bool writer, bool follows,
          const char *connect_s, struct errbuf *eb)
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
    snprintf(setup, sizeof setup, "%s%s SET statement_timeout = %d;" SETUP_ALL,
             !writer                           ? "SET default_transaction_read_only = on;"
             : strcmp(cfg.sync, "normal") == 0 ? "SET synchronous_commit = off;"
                                               : "SET synchronous_commit = on;",
             writer ? WRITER_IDLE_SETUP : "", statement_ms(writer));
    /* A connection made within bounds (GET /health, the watch) is set up
     * within PING_WAIT_MS too. */
    c->wait_ms = connect_s != NULL ? PING_WAIT_MS : statement_ms(writer) + WAIT_MARGIN_MS;
    c->watch = st->watch;
    c->plan = PLAN_CUSTOM;
    PGresult *r = pq_simple(c, setup);
    bool      ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (ok && follows) {
        r = pq_last(c, PQsendPrepare(c->pg, FOLLOW_STMT, GENERATION_SQL, 0, NULL));
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    if (!ok) {
        pg_conn_close(c);
        return errbuf_set(eb, E_UNAVAILABLE, "store %s: cannot set up the connection",
                          st->shown);
    }
    c->wait_ms = statement_ms(writer) + WAIT_MARGIN_MS;
    return E_OK;
}

int
pg_conn_open(struct pconn *c, const struct pg_store *st, bool writer, struct errbuf *eb)
{
    return conn_open(c, st, writer, !writer, NULL, eb);
}

int
pg_conn_open_bare(struct pconn *c, const struct pg_store *st, const char *connect_s,
                  struct errbuf *eb)
{
    return conn_open(c, st, false, false, connect_s, eb);
}

/* Until the connection's next result can be taken without blocking, at most
 * c->wait_ms, or PING_WAIT_MS once the watch found the database silent
 * (pg_watch.c): false when it did not come in time. The connection is then
 * closed (the next use makes a new one, RECONNECT_MS later at the soonest):
 * a database that stops answering while its host's kernel still acknowledges
 * (the server stopped or stuck) fires neither its statement timeout nor
 * TCP's. Its socket is abandoned as it is: a cancel request would wait for
 * that database too. */
static bool
pq_wait(struct pconn *c)
{
    int64_t start = time_now_ms(), deadline = start + c->wait_ms;
    int     unsent;

    while ((unsent = PQflush(c->pg)) > 0 || (unsent == 0 && PQisBusy(c->pg))) {
        struct pollfd pfd = { PQsocket(c->pg), POLLIN | (unsent > 0 ? POLLOUT : 0), 0 };
        int64_t       now = time_now_ms(), left = deadline - now;
        bool          silent = false;
        if (left <= 0 ||
            (now - start >= PING_WAIT_MS && (silent = pg_watch_silent(c->watch, start)))) {
            log_error("postgres: no answer in %d ms%s: the connection is given up",
                      (int)(now - start), silent ? " (nor to the watch)" : "");
            pg_conn_close(c);
            c->failed_at = time_now_ms();
            return false;
        }
        if (poll(&pfd, 1, (int)(left < WAIT_SLICE_MS ? left : WAIT_SLICE_MS)) > 0 &&
            (pfd.revents & ~POLLOUT) != 0 && !PQconsumeInput(c->pg))
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
PGresult *
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
struct pconn *
pg_reader_within(struct pg_store *st, const char *connect_s)
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
    if (conn_open(c, st, false, true, connect_s, &eb) != E_OK) {
        log_error("%s", eb.msg);
        return NULL;
    }
    return c;
}

struct pconn *
pg_reader(struct pg_store *st)
{
    return pg_reader_within(st, NULL);
}
