/* sqlite_local.h - what the files of the SQLite driver (sqlite*.c) share, and
 * nothing outside uses. */
#ifndef KW_STORE_SQLITE_LOCAL_H
#define KW_STORE_SQLITE_LOCAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "sql.h"
#include "store.h"

#define STMT_CACHE 64
#define SQL_MAX    (64 * 1024)

struct stmt_slot {
    uint64_t      hash;
    char         *sql;
    sqlite3_stmt *st;
};

struct conn {
    sqlite3         *db;
    struct stmt_slot cache[STMT_CACHE];
    unsigned         next_evict;
    struct conn     *next;     /* in the store's list of readers */
    int64_t          deadline; /* time_mono_ms after which a read stops; 0: none */
};
/* A reader's statements from here on stop at store_timeout (SQLITE_INTERRUPT,
 * answered 503): a costly filter cannot hold a worker without bound. */
void sqlite_conn_deadline(struct conn *c);
/* store_timeout from now, whatever the request's budget: a cursor's next row. */
void sqlite_conn_row_deadline(struct conn *c);

/* The WAL checkpointer thread (sqlite_checkpoint.c). */
struct checkpointer {
    pthread_t       thread;
    pthread_mutex_t mu;
    pthread_cond_t  cv, done; /* cv: a pass is due (or stop); done: a pass ended */
    bool            due, stop, busy, running;
    uint64_t        passes;
    struct conn     conn;
};

struct sqlite_store {
    struct store        base; /* first: (struct store *) casts are valid */
    char               *path;
    struct conn         writer;
    struct checkpointer ckpt;
    pthread_key_t       reader_key;
    pthread_mutex_t     readers_mu;
    struct conn        *readers;
    pthread_t           thread;
    struct wqueue       q;
    bool                journal_in_memory; /* the writer's temp_store (sqlite.c) */
};

/* A row whose substring entries are to follow it at the end of its job. */
struct fts_todo {
    const struct spec *s;
    int64_t            rowid;
    bool               fresh; /* inserted, and nothing else, by the job */
};

struct sqlite_tx {
    struct tx            base;
    struct sqlite_store *st;
    struct changelog     log; /* what the open transaction changed */
    struct fts_todo     *fts; /* the running job's rows with substring entries */
    size_t               nfts, capfts;
};

/* The writer's connection, on which a transaction's operations run. */
static inline struct conn *
txc(struct tx *tx)
{
    return &((struct sqlite_tx *)tx)->st->writer;
}

/* sqlite_checkpoint.c: checkpoints off the writer's thread, from the writer's
 * WAL hook on (its automatic checkpoint off); stop before closing the writer. */
int  sqlite_checkpointer_start(struct checkpointer *ck, struct conn *writer, const char *path,
                               struct errbuf *eb);
void sqlite_checkpointer_stop(struct checkpointer *ck, struct conn *writer);

/* sqlite.c: connections and statements, binding values to columns, reads. */
int  sqlite_conn_open(struct conn *c, const char *path, bool writer, struct errbuf *eb);
void sqlite_conn_close(struct conn *c);
sqlite3_stmt *sqlite_conn_stmt(struct conn *c, const char *sql);
int           sqlite_err(struct conn *c, int rc, const char *what);
int           sqlite_step_done(struct conn *c, sqlite3_stmt *stmt, const char *what);
int           sqlite_exec_simple(struct conn *c, const char *sql);
struct conn  *sqlite_reader(struct sqlite_store *st);
int sqlite_bind_val(sqlite3_stmt *stmt, int idx, const struct attr *at, const struct val *v);
int sqlite_bind_params(sqlite3_stmt *stmt, int first, const struct sqlparams *ps);
int sqlite_run_find(struct conn *c, const struct spec *s, const struct scope *sc,
                    const char *attr, struct str value, struct arena *a, struct val *out);
int sqlite_count_rows(struct conn *c, const char *sql, const struct sqlparams *ps,
                      int64_t *total);
struct str sqlite_col_str(sqlite3_stmt *stmt, int col, struct arena *a);
int        sqlite_read_row(sqlite3_stmt *stmt, const struct listq *q, struct arena *a,
                           struct val *out);
int        sqlite_fetch_rows(struct conn *c, const char *sql, const struct sqlparams *ps,
                             const struct listq *q, struct arena *a, struct val *items);
bool       sqlite_has_fts(const struct spec *s);
const struct fnode *sqlite_fts_plan(struct conn *c, const struct spec *s, const struct fnode *f,
                                    struct arena *a);

/* sqlite_tx.c: the transaction's operations and the substring indexes. */
extern const struct tx_ops sqlite_tx_ops;
int                        sqlite_fts_apply(struct sqlite_tx *t);

/* sqlite_jobs.c: work items. */
int sqlite_tx_job_enqueue(struct tx *tx, const struct job_new *j, int64_t now, int64_t *id);
int sqlite_tx_job_claim(struct tx *tx, const char *const *kinds, size_t nkinds,
                        const struct job_lease *l, int64_t now, struct arena *a,
                        struct job_row *out);
int sqlite_tx_job_renew(struct tx *tx, const struct job_lease *l, int64_t until,
                        struct str progress);
int sqlite_tx_job_finish(struct tx *tx, const struct job_lease *l, const struct job_end *e,
                         struct str progress);
int sqlite_tx_job_purge(struct tx *tx, int64_t before);
int sqlite_st_job_next(struct store *base, int64_t *when);
int sqlite_st_job_waiting(struct store *base, const char *const *kinds, size_t nkinds,
                          int64_t except, int64_t due_by, bool *any);
int sqlite_st_job_get(struct store *base, const char *kind, struct str key, struct arena *a,
                      struct job_row *out);

/* sqlite_cursor.c: cursors and aggregates. */
int  sqlite_st_cursor_open(struct store *base, const struct spec *s, const struct listq *lq,
                           struct arena *a, struct store_cursor **out, int64_t *total,
                           struct errbuf *eb);
int  sqlite_st_cursor_next(struct store_cursor *cur, struct arena *a, struct val *out);
void sqlite_st_cursor_close(struct store_cursor *cur);
int  sqlite_st_aggregate(struct store *base, const struct spec *s, const struct scope *sc,
                         const struct fnode *filter, struct agg_part *parts, size_t nparts,
                         struct arena *a, struct errbuf *eb);

/* sqlite_schema.c: the schema. */
int sqlite_exec_script(struct conn *c, const char *sql, struct errbuf *eb);
int sqlite_migrate(struct conn *c, struct errbuf *eb);
int sqlite_sync_spec_tables(struct conn *c, struct errbuf *eb);

#endif
