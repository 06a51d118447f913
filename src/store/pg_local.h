/* pg_local.h - what the files of the PostgreSQL driver share, and nothing outside uses. */
#ifndef KW_STORE_PG_LOCAL_H
#define KW_STORE_PG_LOCAL_H

#include <libpq-fe.h>
#include <pthread.h>

#include "sql.h"
#include "store.h"

struct pg_watch;

#define STMT_CACHE   128
#define SQL_MAX      (64 * 1024)
#define RECONNECT_MS 250
/* How long an answer is waited for past the connection's statement timeout
 * (pg_conn_open): a slow database that is alive ends the statement itself
 * first; one that does not answer at all is given up (pq_next). */
#define WAIT_MARGIN_MS 2000
/* GET /health's ping (store_ops.ping), connecting included: a load balancer
 * takes a server whose database does not answer out within seconds. */
#define PING_WAIT_S  2
#define PING_WAIT_MS (PING_WAIT_S * 1000)
/* ... as libpq's connect_timeout, in whole seconds */
#define PING_CONNECT_S PING_TEXT_(PING_WAIT_S)
#define PING_TEXT_(n)  PING_TEXT__(n)
#define PING_TEXT__(n) #n
/* A wait on the database looks at the clock (and the watch) this often. */
#define WAIT_SLICE_MS 250
/* Statements a connection holds back (pq_defer, pq_later): room for a whole
 * transaction of hopeful creates (pg_tx.c: about six statements a job). */
#define DEFERRED_MAX 400
/* ... less one slot always free: the running job's savepoint may have to be
 * put before its held-back statements (job_savepoint). */
#define DEFERRED_ROOM (DEFERRED_MAX - 1)
#define PIPE_MAX                                                                               \
    128 /* executions of one statement per pipeline (pq_do_each): the rows of                  \
           a round trip, and the arena of their parameters, stay bounded */

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
    unsigned name;  /* prepared as "k<name>": names are never reused */
    unsigned batch; /* last used for pconn.batch: kept while that is on */
};

/* The generation of announced writes (store_ops.others_wrote); every read
 * connection has it prepared as FOLLOW_STMT, outside the statement cache. */
#define GENERATION_SQL "SELECT n FROM kw_generation WHERE topic = 'announced'"
#define FOLLOW_STMT    "follow"

/* A read connection's look at the generation (store_ops.follow_later). */
enum follow { FOLLOW_OFF, FOLLOW_ARMED, FOLLOW_READ, FOLLOW_FAILED };

/* A statement's parameters (pg_arg_*), in binary or text format. */
struct pargs {
    struct arena *a;
    int           n, cap;
    const char  **v;
    int          *len, *fmt;
    Oid          *type;
};

/* A statement sent with the connection's next one (pq_defer, pq_later). */
struct deferred {
    const char  *cmd;      /* pq_defer's static command text; NULL for pq_later's: */
    char         name[24]; /* its prepared statement */
    struct pargs p;        /* its parameters, in p.a (freed once sent) */
    bool         hoped;    /* pq_hope's: writing no row is a miss, not an error */
    int          job;      /* the writer's job it was held for (pconn.job) */
};

/* How a connection's prepared statements are planned at their next
 * execution (plan_cache_mode, the session's): custom (for their values)
 * unless pq_generic asked otherwise; unknown after a failure or a rollback,
 * which may have undone a SET. */
enum plan { PLAN_CUSTOM, PLAN_GENERIC, PLAN_UNKNOWN };

struct pconn {
    PGconn          *pg;
    struct stmt_slot cache[STMT_CACHE];
    unsigned         next_evict, next_name;
    int64_t          failed_at;   /* last failed connect or wait (ms): no reconnect storm */
    int              wait_ms;     /* how long one answer is waited for (pq_next) */
    struct pg_watch *watch;       /* asked when an answer is late (pq_wait; NULL: not) */
    struct pconn    *next;        /* in the store's list of readers */
    enum follow      follow;      /* armed: the next statement brings the generation */
    int64_t          follow_n;    /* what it brought (FOLLOW_READ) */
    int64_t          follow_base; /* announced_seen when it was armed */
    struct deferred  deferred[DEFERRED_MAX]; /* held back for the next round trip */
    int              ndeferred;
    bool             later_failed; /* a held-back statement failed (pq_later) */
    bool             held_error;   /* ... more than a hopeful insert's miss (pq_hope) */
    int              job;          /* writer: the transaction's job running (-1: none) */
    int              job_mark;     /* ... deferred[job_mark..] are its held-back statements */
    bool             lazy_sp;    /* ... hopeful: its savepoint made when due (job_savepoint) */
    bool             sp_open;    /* ... and it is (always, when not lazy_sp) */
    int              failed_job; /* ... whose held-back statement failed first */
    enum plan        plan;       /* as the session has it (plan_for) */
    bool             next_generic; /* pq_generic: for the next statement */
    unsigned         batch;        /* a batch of statements is being prepared (not 0):
                                      none of its own is evicted */
};

/* What libpq's messages must not show (pg_url.c). */
#define PG_SECRETS_MAX 8
struct pg_secrets {
    char  *v[PG_SECRETS_MAX];
    size_t n;
};

struct pg_store {
    struct store      base; /* first: (struct store *) casts are valid */
    char             *url;
    char              shown[512]; /* the URL without its password, for messages */
    struct pg_secrets secrets;
    struct pconn      writer;
    struct pg_watch  *watch; /* whether the database answers at all (pg_watch.c) */
    pthread_key_t     reader_key;
    pthread_mutex_t   readers_mu;
    struct pconn     *readers;
    pthread_t         thread;
    struct wqueue     q;
    pthread_mutex_t   announced_mu;
    int64_t announced_seen; /* kw_generation's announced row as the observers follow it:
                               written under announced_mu, after they did; read atomic */
};

/* Namespaces a transaction found by name, kept until it updates or deletes
 * one (or a job of it fails): a write job's re-check of its namespace costs no
 * round trip after the first of a batch. Sound because no other transaction writes the
 * namespaces table before this one commits: every write transaction holds
 * the write lock (WRITE_LOCK, docs/postgres.md 5). */
#define NS_SEEN_MAX 8

struct pg_tx {
    struct tx        base;
    struct pg_store *st;
    struct changelog log;
    bool             hopeful; /* its inserts are held back too (run_batch) */
    struct arena    *seen_a;  /* the copies below (NULL: none yet) */
    struct str       seen_name[NS_SEEN_MAX];
    struct val       seen_doc[NS_SEEN_MAX];
    size_t           nseen;
};

/* The writer's connection, on which a transaction's operations run. */
static inline struct pconn *
txc(struct tx *tx)
{
    return &((struct pg_tx *)tx)->st->writer;
}

/* ---- parameters (pg.c) ------------------------------------------------- */

void pg_arg_add(struct pargs *p, Oid type, int fmt, const char *v, int len);
void pg_arg_str(struct pargs *p, struct str s, Oid type);
void pg_arg_cstr(struct pargs *p, const char *s);
void pg_arg_int(struct pargs *p, int64_t i, Oid type);
void pg_arg_bool(struct pargs *p, bool b);
void pg_arg_bytes(struct pargs *p, const void *v, size_t n);
void pg_arg_null(struct pargs *p, Oid type);
void pg_args_from(struct pargs *p, const struct sqlparams *ps);

/* A fixed statement with its parameters, in a scratch arena. */
#define WITH_ARGS(a, p)                                                                        \
    struct arena *a = arena_new(1024);                                                         \
    struct pargs  p = { .a = a }

/* ---- the URL's secrets (pg_url.c) ---------------------------------------- */

/* Refuse a URL libpq cannot parse (its message would quote it), and keep
 * what pg_url_scrub takes out of libpq's messages. */
int  pg_url_secrets(struct pg_secrets *sec, const char *url, const char *shown,
                    struct errbuf *eb);
void pg_url_scrub(const struct pg_secrets *sec, char *msg);
void pg_url_forget(struct pg_secrets *sec);

/* ---- whether the database answers at all (pg_watch.c) ------------------ */

struct pg_watch *pg_watch_new(const struct pg_store *st);
void             pg_watch_free(struct pg_watch *w);
/* Whether the database was found silent since `since` (ms): asked on the
 * watch's connection when nobody did for a second and no other thread is. */
bool pg_watch_silent(struct pg_watch *w, int64_t since);
/* ... within the last second (GET /health answers at once). */
bool pg_watch_recently_silent(struct pg_watch *w);

/* ---- connections and statements (pg_conn.c) ---------------------------- */

void pg_conn_close(struct pconn *c);
bool pg_conn_alive(struct pconn *c);
int  pg_conn_open(struct pconn *c, const struct pg_store *st, bool writer, struct errbuf *eb);
/* A read connection that prepares nothing (the watch's: no table of ours is
 * touched), made within `connect_s` seconds and set up within PING_WAIT_MS. */
int         pg_conn_open_bare(struct pconn *c, const struct pg_store *st, const char *connect_s,
                              struct errbuf *eb);
int         pq_err(struct pconn *c, const PGresult *r, const char *what);
PGresult   *pq_next(struct pconn *c);
PGresult   *pq_simple(struct pconn *c, const char *sql);
const char *pg_conn_prepare(struct pconn *c, const char *sql, const struct pargs *p,
                            char name[24]);
int         pq_do(struct pconn *c, const char *sql, const struct pargs *p, const char *what,
                  int64_t *changed);
int         pq_exec(struct pconn *c, const char *sql);
int         pq_defer(struct pconn *c, const char *cmd);
int         pq_later(struct pconn *c, const char *sql, struct pargs *p);
bool        pq_hope(struct pconn *c, const char *sql, struct pargs *p);
void        pq_job_drop(struct pconn *c);
void        pq_generic(struct pconn *c);
/* The plan mode pq_generic asked for, set with the next statement. */
int pq_plan_for(struct pconn *c);
/* One round trip: held-back statements, the prepared statement `name` (or
 * names[i]) once per parameter set, then the generation row when follow is
 * armed; out[i] each execution's result. */
bool pq_pipeline(struct pconn *c, const char *name, const char *const *names,
                 const struct pargs *p, size_t np, PGresult **out);
int  pq_do_each(struct pconn *c, const char *sql, const struct pargs *p, size_t np,
                const char *what, int64_t *changed);
int  pq_commit(struct pconn *c);
/* The calling thread's reader connection, made or made again when the
 * server closed it (within connect_s seconds; NULL: the setting); NULL while
 * the database cannot be reached. */
struct pconn *pg_reader(struct pg_store *st);
struct pconn *pg_reader_within(struct pg_store *st, const char *connect_s);
/* `sql` with `p` in one round trip with what the connection holds back;
 * NULL when it could not be prepared, else the caller checks and clears. */
PGresult *pq_run(struct pconn *c, const char *sql, const struct pargs *p);

/* ---- values from results (pg.c) ---------------------------------------- */

int64_t    pg_col_int(const PGresult *r, int row, int col);
double     pg_col_float(const PGresult *r, int row, int col);
struct str pg_col_str(const PGresult *r, int row, int col, struct arena *a);
int        pg_col_doc(const PGresult *r, int row, int col, struct arena *a, struct val *out);
int        pg_read_row(const PGresult *r, int row, const struct listq *q, struct arena *a,
                       struct val *out);
int        pq_rows(struct pconn *c, const char *sql, const struct pargs *p, const char *what,
                   PGresult **out);

/* ---- reads (pg.c) ------------------------------------------------------ */

int pg_run_find(struct pconn *c, const struct spec *s, const struct scope *sc, const char *attr,
                struct str value, struct arena *a, struct val *out);
int pg_count_rows(struct pconn *c, const char *sql, const struct sqlparams *ps, struct arena *a,
                  int64_t *total);
int pg_list_on(struct pconn *c, const struct spec *s, const struct listq *q, struct arena *a,
               struct val *items, int64_t *total, struct errbuf *eb);

/* ---- the transaction and the writer thread (pg_tx.c) ------------------- */

void       *pg_writer_main(void *arg);
void        pg_st_submit(struct store *base, struct wjob *job);
void        pg_st_close(struct store *base);
enum others pg_st_others_wrote(struct store *base);
void        pg_st_follow_later(struct store *base);
enum others pg_st_follow_settle(struct store *base);
/* pg_batch.c */
enum others pg_st_find_ids(struct store *base, struct find_id *f, size_t n);

/* ---- work items (pg_jobs.c) -------------------------------------------- */

int pg_tx_job_enqueue(struct tx *tx, const struct job_new *j, int64_t now, int64_t *id);
int pg_tx_job_claim(struct tx *tx, const char *const *kinds, size_t nkinds,
                    const struct job_lease *l, int64_t now, struct arena *a,
                    struct job_row *out);
int pg_tx_job_renew(struct tx *tx, const struct job_lease *l, int64_t until,
                    struct str progress);
int pg_tx_job_finish(struct tx *tx, const struct job_lease *l, const struct job_end *e,
                     struct str progress);
int pg_tx_job_purge(struct tx *tx, int64_t before);
int pg_st_job_next(struct store *base, int64_t *when);
int pg_st_job_waiting(struct store *base, const char *const *kinds, size_t nkinds,
                      int64_t except, int64_t due_by, bool *any);
int pg_st_job_get(struct store *base, const char *kind, struct str key, struct arena *a,
                  struct job_row *out);

/* ---- cursors and aggregates (pg_cursor.c) ------------------------------ */

int  pg_st_cursor_open(struct store *base, const struct spec *s, const struct listq *q,
                       struct arena *a, struct store_cursor **out, int64_t *total,
                       struct errbuf *eb);
int  pg_st_cursor_next(struct store_cursor *cur, struct arena *a, struct val *out);
void pg_st_cursor_close(struct store_cursor *cur);
int  pg_st_aggregate(struct store *base, const struct spec *s, const struct scope *sc,
                     const struct fnode *filter, struct agg_part *parts, size_t nparts,
                     struct arena *a, struct errbuf *eb);

/* ---- schema (pg_schema.c) ---------------------------------------------- */

int pg_schema_update(struct pconn *c, struct errbuf *eb);

#endif
