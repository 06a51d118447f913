/* store.h - where objects live. One interface (a vtable, h2o style); the
 * drivers are store/sqlite*.c and store/pg*.c.
 *
 * An object is stored as its whole document (MessagePack of the attribute map)
 * plus one column per attribute its spec marks queryable or orderable, in a table
 * named after the spec's REST name. Reads run on the calling thread (each thread
 * has its own connection). Writes are jobs run by one writer thread that groups
 * all jobs waiting into one transaction (group commit): a job's `done` callback
 * runs only once its transaction is durably committed, so "acknowledged" means
 * "survives kill -9 and power loss".
 */
#ifndef KW_STORE_H
#define KW_STORE_H

#include <pthread.h>

#include "../core/val.h"
#include "../model/spec.h"
#include "filter.h"

/* Which namespace(s) a read sees: exactly `ns`, or (recursive) `ns` and below. */
struct scope {
    struct str ns;
    bool       recursive;
};

struct order_key {
    const struct attr *attr;
    bool               desc;
};

struct listq {
    struct scope            scope;
    const struct fnode     *filter; /* NULL: everything in scope */
    const struct order_key *order;  /* ID ascending always breaks ties */
    size_t                  norder;
    int64_t                 offset;
    int64_t                 limit; /* < 0: no limit */
    struct str              after; /* cursor: the ID of the last row already seen */
    bool                    want_total;
    /* Non-NULL: each row is only these attributes, all of them columns, read
     * from their columns instead of decoding the whole document (X-Fields, a
     * CSV's columns: a certificate's DER is never read for a list of names). */
    const struct attr *const *project;
    size_t                    nproject;
};

/* One count of an aggregate (store_ops.aggregate): the rows of the query that
 * `filter` also accepts (NULL: all of them), grouped by the attributes `by`
 * (none: one count). A queryable list attribute groups by its elements (a
 * row counts once for each). `out` becomes an array of rows, each an array of
 * the group's values then its count, the largest groups first (ties in value
 * order), at most `limit` of them (0: all). */
#define AGG_BY_MAX 3
struct agg_part {
    const struct fnode *filter;
    const struct attr  *by[AGG_BY_MAX];
    size_t              nby;
    int64_t             limit;
    struct val          out;
};

struct store;
struct tx;
/* A list query's rows, read one at a time (store_ops.cursor_open). */
struct store_cursor;

/* What an update or a delete requires of the stored object. */
struct write_cond {
    struct str update_time; /* the stored updateTime the change was made from; empty: any */
    bool       override;    /* protected objects too (?override=true) */
};

/* ---- durable work items: the lease primitive under jobs/ ----------------
 *
 * A row of the `jobs` table is one unit of background work: a kind (a name
 * jobs/ registered), an optional key (at most one live item per kind and key:
 * singletons, periodic work), a payload, a state, and the time it is due. A
 * worker claims a due item by taking a lease on it (owner, a random token, an
 * expiry); while it holds the lease it renews it; it ends the claim by
 * finishing the item. An item whose lease expired (its server died or hung) is
 * due again, so any server takes it over. Every write made under a claim names
 * the lease, and does nothing once the lease was lost (E_CONFLICT), so a slow
 * old holder cannot overwrite the new holder's outcome.
 *
 * SQLite serialises claims through its one writer; PostgreSQL will claim with
 * UPDATE ... WHERE id = (SELECT id ... FOR UPDATE SKIP LOCKED LIMIT 1). */
enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED };

struct job_new {
    const char *kind;     /* the kind's name (ASCII) */
    struct str  key;      /* STR_NULL: no key, every enqueue adds an item */
    struct str  payload;  /* opaque bytes for the kind's handler */
    int64_t     run_at;   /* ms: not before */
    int64_t     lease_ms; /* the lease a claim of this item takes */
};

struct job_lease {
    int64_t     id;    /* the item (ignored by claim, which picks one) */
    const char *owner; /* the claiming server's id */
    int64_t     token; /* random, new for every claim */
};

/* How a claim ends. JOB_QUEUED: due again at run_at (a retry, a periodic
 * item's next run, or a release at stop); JOB_DONE, JOB_FAILED: finished.
 * attempts replaces the item's count (0 when a periodic item starts over). */
struct job_end {
    enum job_state state;
    int64_t        run_at;
    int64_t        attempts;
    struct str     error; /* kept as last_error; STR_NULL clears it */
};

/* An item as read or claimed; strings live in the caller's arena. While
 * running, run_at equals lease_until: an item is due when it is queued or
 * running and run_at has passed. */
struct job_row {
    int64_t        id;
    struct str     kind, key, payload, owner, last_error, progress;
    enum job_state state;
    int64_t        run_at, attempts, lease_ms, lease_until, created, updated;
};

const char *job_state_name(enum job_state s);

/* A write to run in the writer thread. run() executes inside the group's
 * transaction, in its own savepoint: an error it returns undoes only its own
 * changes. done() is called after the commit (rc is run()'s result, or
 * E_UNAVAILABLE if the commit itself failed). Both run in the writer thread.
 * `alone`: a write of many rows (a bulk import) that a store may rather run in
 * a transaction of its own than in a savepoint (SQLite copies every page a
 * savepoint's writes touch into its journal first; PostgreSQL's savepoints copy
 * nothing, so its driver ignores the flag). The answer is the same either way. */
struct wjob {
    int (*run)(struct tx *tx, void *arg);
    void (*done)(void *arg, int rc);
    void        *arg;
    struct wjob *next;  /* the store's queue link */
    bool         alone; /* writes much: may run in a transaction of its own */
    bool         small; /* writes a few rows, whatever the data: a create of a
                           bulk spec (a certificate, a request, an import's
                           rows one statement each; what fans out goes to the
                           jobs), an audit entry. A store may keep the undo
                           copies of its pages in memory (SQLite's statement
                           journal): not for a policy re-evaluating 1,000
                           certificates, say, or a namespace delete */
    bool rerun;         /* run may be called again, in the next transaction,
                           when this one was rolled back before its commit
                           (PostgreSQL: a held-back write failed, its own or
                           another job's); a PostgreSQL transaction of such
                           jobs only is hopeful: it holds back their inserts
                           too (docs/postgres.md) */
    bool independent;   /* right whatever another server's transactions do
                           meanwhile, save what the store's own constraints
                           settle (unique keys, the namespace guard): it reads
                           no other object to decide what it writes (a
                           namespace is deleted only under the whole lock).
                           PostgreSQL runs transactions of such jobs only side
                           by side, across servers (a shared write lock);
                           every other one holds the write lock alone */
};

/* What a look at the other servers' writes found (store_ops.others_wrote). */
enum others { OTHERS_NONE, OTHERS_WROTE, OTHERS_UNKNOWN };

/* One read by ID of a batch (store_ops.find_ids): what store_ops.find would
 * be asked, and what it answered (rc: E_OK with `out` in `a`, E_NOTFOUND, or
 * the error), when it was read: not when another read of the batch failed
 * first or the connection broke (then ask find). */
struct find_id {
    const struct spec *s;
    struct scope       sc;
    struct str         id;
    struct arena      *a;
    struct val         out;
    int                rc;
    bool               read;
};
#define FIND_IDS_MAX 64 /* reads by ID in one batch */

struct store_ops {
    /* One object by the value of an attribute (usually "ID"). scope NULL: any
     * namespace. E_NOTFOUND when absent. */
    int (*find)(struct store *st, const struct spec *s, const struct scope *sc,
                const char *attr, struct str value, struct arena *a, struct val *out,
                struct errbuf *eb);
    /* Matching objects into `items` (an array); *total the number of matches in
     * scope when q->want_total. */
    int (*list)(struct store *st, const struct spec *s, const struct listq *q, struct arena *a,
                struct val *items, int64_t *total, struct errbuf *eb);
    /* Queue a write; returns at once. */
    void (*submit)(struct store *st, struct wjob *job);
    /* A small key/value side table (signing keys, settings): read committed. */
    int (*meta_get)(struct store *st, const char *key, struct arena *a, struct str *value);
    /* Stop the writer (after finishing queued jobs) and close everything. */
    void (*close)(struct store *st);
    /* True when the store answers (GET /health). */
    bool (*ping)(struct store *st);
    /* The earliest run_at of the queued or running items (E_NOTFOUND: none):
     * when a worker should look again. */
    int (*job_next)(struct store *st, int64_t *when);
    /* *any: whether an item of one of `kinds`, other than item `except`, has
     * been due since `due_by` and waits for a worker (queued, or running with
     * its lease run out), committed state. For a handler that takes turns
     * (jobs.h job_others_waiting). */
    int (*job_waiting)(struct store *st, const char *const *kinds, size_t nkinds,
                       int64_t except, int64_t due_by, bool *any);
    /* The item of `kind` with `key` (E_NOTFOUND), committed state. */
    int (*job_get)(struct store *st, const char *kind, struct str key, struct arena *a,
                   struct job_row *out);
    /* The matches of q (its paging applies; q->limit < 0: all of them) as a
     * cursor, for answers too large to hold (CSV exports). The cursor reads
     * in one read transaction of a connection of its own, never the calling
     * thread's reader: *total (when q->want_total) and every row come from one
     * snapshot, while the thread's other requests go on seeing new commits.
     * Filter values, q's strings and its projection must live (in `a`) until
     * cursor_close.
     * One thread at a time; a long-lived cursor keeps the WAL from being
     * checkpointed past its snapshot, so close it as soon as it is done. */
    int (*cursor_open)(struct store *st, const struct spec *s, const struct listq *q,
                       struct arena *a, struct store_cursor **out, int64_t *total,
                       struct errbuf *eb);
    /* The next row into *out (the document as find answers it, in `a`): 1 for
     * a row, 0 at the end, minus an enum err on a failure (logged). A
     * three-way result, as sqlite3_step's, since "no more rows" is no error. */
    int (*cursor_next)(struct store_cursor *cur, struct arena *a, struct val *out);
    /* End the read transaction and free the cursor (NULL is fine). */
    void (*cursor_close)(struct store_cursor *cur);
    /* Counts over the objects of `s` in scope `sc` that `filter` accepts
     * (NULL: all), one per part, all from one snapshot (reports). */
    int (*aggregate)(struct store *st, const struct spec *s, const struct scope *sc,
                     const struct fnode *filter, struct agg_part *parts, size_t nparts,
                     struct arena *a, struct errbuf *eb);
    /* OTHERS_WROTE when another server sharing the store committed, since the
     * last call, a write to an announced spec (spec.announced) or a namespace
     * subtree delete; OTHERS_UNKNOWN when the store could not say. One read of
     * the store. Before it answers, the observers follow what it found
     * (store_observers_reset, once per move, whichever thread saw it: no thread
     * is answered "none" before that is done). NULL: only this process writes
     * the store (its observers see every change). See store_follow. */
    enum others (*others_wrote)(struct store *st);
    /* others_wrote's read, sent with this thread's next read of the store in
     * one round trip (after it): follow_later arms it; follow_settle answers
     * OTHERS_WROTE when the observers moved since it was armed (what was
     * judged meanwhile may be stale), from that read, or with a read of its own
     * when none came, and disarms it. NULL: only others_wrote. */
    void (*follow_later)(struct store *st);
    enum others (*follow_settle)(struct store *st);
    /* Reads by ID of several requests (at most FIND_IDS_MAX) after one look
     * at the other servers' writes, in one round trip: what others_wrote
     * would answer, each f[i].rc as find's. NULL: reads go one by one. */
    enum others (*find_ids)(struct store *st, struct find_id *f, size_t n);
    /* The store's clock (ms since the epoch), one for every server sharing
     * the store: for numbers that must grow across servers whatever their own
     * clocks say (CRL numbers). NULL: only this process uses the store, its
     * clock is the store's. Use store_clock_ms. */
    int (*clock_ms)(struct store *st, int64_t *now);
};

struct store {
    const struct store_ops *ops;
};

/* Operations allowed inside wjob.run (same semantics as the reads above, but
 * seeing the transaction's own writes). */
struct tx_ops {
    int (*find)(struct tx *tx, const struct spec *s, const struct scope *sc, const char *attr,
                struct str value, struct arena *a, struct val *out);
    /* The matches of q into `items` (an array), as store_ops.list answers them
     * but seeing the transaction's own writes; q->want_total is ignored. Mind
     * the writer: keep q small (a namespace's configuration, a page). */
    int (*list)(struct tx *tx, const struct spec *s, const struct listq *q, struct arena *a,
                struct val *items);
    /* E_DUPLICATE when a unique key is taken; E_NOTFOUND (nothing written) when
     * the object's namespace does not exist, so that no write can outlive a
     * namespace delete that committed before it. */
    int (*insert)(struct tx *tx, const struct spec *s, const struct val *obj);
    /* An insert that must succeed (its namespace is known to exist, it takes
     * no unique key) and whose answer may wait: should it fail after all, the
     * whole transaction fails, every job of it with E_UNAVAILABLE. NULL: as
     * insert (use store_insert_later). PostgreSQL sends it with the
     * transaction's next statement, saving a round trip. */
    int (*insert_later)(struct tx *tx, const struct spec *s, const struct val *obj);
    /* insert of each of objs[0..n), in order, rcs[i] its answer (E_OK,
     * E_DUPLICATE, E_NOTFOUND); any other failure is returned, and the
     * transaction is then lost. NULL: one insert after another (use
     * store_insert_each). PostgreSQL sends them in pipelines. */
    int (*insert_each)(struct tx *tx, const struct spec *s, const struct val *objs, size_t n,
                       int *rcs);
    /* E_NOTFOUND when the object, or its namespace, does not exist; with `wc`
     * (NULL: unconditional), E_CONFLICT when the stored updateTime is not
     * wc->update_time and E_PROTECTED when the object is protected and not
     * wc->override. The write itself checks, so no read-then-write race exists
     * even when several servers share the store. */
    int (*update)(struct tx *tx, const struct spec *s, const struct val *obj,
                  const struct write_cond *wc);
    int (*del)(struct tx *tx, const struct spec *s, struct str id, const struct write_cond *wc);
    /* Delete every object of every spec in namespace `ns` and below; the IDs of
     * the namespaces below `ns` are pushed (strings in `a`) onto the array
     * `gone`. Rows of bulk specs are left for purge_nsid: from now on no read
     * sees them. */
    int (*del_subtree)(struct tx *tx, struct str ns, struct arena *a, struct val *gone);
    /* Delete at most `limit` rows of bulk spec `s` created in the (deleted)
     * namespace whose ID is `nsid`; *deleted says how many. */
    int (*purge_nsid)(struct tx *tx, const struct spec *s, struct str nsid, int64_t limit,
                      int64_t *deleted);
    int (*meta_put)(struct tx *tx, const char *key, struct str value);
    /* Idempotency: the kept answer for `key`, E_NOTFOUND if none (or expired);
     * idem_put replaces whatever is kept and, like insert_later, may be held
     * back (its failure then fails the whole transaction). */
    int (*idem_get)(struct tx *tx, struct str key, struct arena *a, struct str *fingerprint,
                    int *status, struct str *body);
    int (*idem_put)(struct tx *tx, struct str key, struct str fingerprint, int status,
                    struct str body, int64_t expires_ms);
    /* Count one use of token `jti` (created at first use); E_QUOTA once `quota`
     * uses have been counted. */
    int (*quota_spend)(struct tx *tx, struct str jti, int64_t quota, int64_t expires_ms);
    /* Take up to `want` (0: all) of the uses token `jti` has left into *took,
     * counting them as used; E_QUOTA when none is left. */
    int (*quota_take)(struct tx *tx, struct str jti, int64_t quota, int64_t expires_ms,
                      int64_t want, int64_t *took);
    /* Short-lived single-use records (login state): put, and take (read and
     * delete at once; E_NOTFOUND when absent or expired). */
    int (*eph_put)(struct tx *tx, struct str key, struct str value, int64_t expires_ms);
    int (*eph_take)(struct tx *tx, struct str key, struct arena *a, struct str *value);
    /* Delete the objects of `s` created before `before_ms` (retention). */
    int (*purge)(struct tx *tx, const struct spec *s, int64_t before_ms);
    /* Drop expired idempotency answers, quota counters and ephemeral records. */
    int (*expire)(struct tx *tx, int64_t now_ms);
    /* Add a work item, *id its ID. With a key, at most one item per kind and
     * key is live: if one is queued, it keeps its payload and becomes due at
     * the earlier of the two run_at; if one is running, nothing changes; if
     * one has finished, it is queued again with the new payload. */
    int (*job_enqueue)(struct tx *tx, const struct job_new *j, int64_t now_ms, int64_t *id);
    /* Claim the due item of one of `kinds` that has waited longest: running,
     * attempts + 1, leased to l->owner/l->token until now + its lease_ms.
     * E_NOTFOUND when none is due. */
    int (*job_claim)(struct tx *tx, const char *const *kinds, size_t nkinds,
                     const struct job_lease *l, int64_t now_ms, struct arena *a,
                     struct job_row *out);
    /* Extend a held lease to `until`, storing `progress` unless STR_NULL.
     * E_CONFLICT when the lease was lost (expired and claimed again, or finished). */
    int (*job_renew)(struct tx *tx, const struct job_lease *l, int64_t until,
                     struct str progress);
    /* End a held claim as `e` says, storing `progress` unless STR_NULL.
     * E_CONFLICT when the lease was lost. */
    int (*job_finish)(struct tx *tx, const struct job_lease *l, const struct job_end *e,
                      struct str progress);
    /* Delete the finished (done or failed) items last updated before `before_ms`. */
    int (*job_purge)(struct tx *tx, int64_t before_ms);
};

struct tx {
    const struct tx_ops *ops;
};

/* One committed write, as observers see it (store_observe). */
struct change {
    const struct spec *s; /* NULL: the namespace `ns` and everything below it went */
    struct str         id;
    struct val         obj; /* as written (its parts valid during the call); null:
                               deleted */
    struct str ns;
    bool       job; /* a background job was queued (job_enqueue); nothing else is
                       set: the job runtime wakes its workers */
    bool reset;     /* another server changed announced specs (store_follow); nothing
                       else is set: forget what was derived from them */
    bool created;   /* obj was inserted (not updated) */
};

/* Called in the writer thread after every commit with the changes of the jobs
 * that committed, in order, before their done(): what a process keeps in
 * memory (the authorization snapshot) follows the store before any caller is
 * answered, whoever wrote (a request, a hook, a background job). */
typedef void (*store_observer)(const struct change *ch, size_t n);
/* Register an observer; at start-up, before the first write. At most 8. */
void store_observe(store_observer fn);
/* Once per request, before it is judged: when another server wrote an
 * announced spec since the last look (store_ops.others_wrote), every observer
 * is called, in this thread, with one change marked `reset`. E_UNAVAILABLE
 * when the store cannot say: the request must not be judged by what may be
 * stale (an authorization revoked on another server), so it is answered 503. */
int store_follow(struct store *st);
/* The same look, taken with the request's first read (store_ops.follow_later):
 * false when the store cannot defer it (then use store_follow). A true answer
 * must be settled on the same thread: store_follow_settle is OTHERS_WROTE when
 * others wrote (the observers were reset): what was judged since then is
 * judged again; OTHERS_UNKNOWN: the answer may be stale, 503. */
/* Every object of `s`, in every namespace, into `items` (an array in `a`):
 * what a process derives from all of a resource at once (the authorization
 * snapshot, the enabled accounts). */
int  store_list_all(struct store *st, const struct spec *s, struct arena *a, struct val *items,
                    struct errbuf *eb);
bool store_follow_later(struct store *st);
enum others store_follow_settle(struct store *st);
/* store_ops.find_ids. Only for a store that has it. */
enum others store_find_ids(struct store *st, struct find_id *f, size_t n);
/* For a store's others_wrote: every observer is called, in this thread, with
 * one change marked `reset`. */
void store_observers_reset(void);
/* The store's clock (store_ops.clock_ms; this machine's when the store has
 * none) into *now; E_UNAVAILABLE when the store cannot be asked just now. */
int store_clock_ms(struct store *st, int64_t *now);
/* From store_budget_begin to store_budget_end, the calling thread's reads
 * share one deadline, store_timeout from the begin: a request of several
 * costly reads (a list and its count, a report's breakdowns) ran several
 * times store_timeout, a statement each (a review: a report 147 s past a
 * 30 s store_timeout). SQLite's; a cursor's rows are not bound by it (an
 * export streams for as long as it takes, each row within store_timeout).
 * store_budget() is the deadline (time_mono_ms), 0 outside. */
void    store_budget_begin(void);
void    store_budget_end(void);
int64_t store_budget(void);

/* tx_ops.insert_later, or insert. */
int store_insert_later(struct tx *tx, const struct spec *s, const struct val *obj);
/* tx_ops.insert_each, or one insert after another. */
int store_insert_each(struct tx *tx, const struct spec *s, const struct val *objs, size_t n,
                      int *rcs);

/* For drivers: why a conditional write changed nothing (E_NOTFOUND,
 * E_PROTECTED, E_CONFLICT), read inside the same transaction. */
int store_why_unchanged(struct tx *tx, const struct spec *s, struct str id,
                        const struct write_cond *wc);
/* For drivers: a job state stored by name. */
enum job_state job_state_parse(const char *name);

/* For drivers: the queue of submitted writes, which the writer thread takes
 * whole (everything queued so far is one group commit). */
struct wqueue {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    struct wjob    *head, *tail;
    bool            stopping;
};
void wqueue_init(struct wqueue *q);
void wqueue_push(struct wqueue *q, struct wjob *job);
/* Every job queued so far, waiting for one; NULL once stopped and empty. */
struct wjob *wqueue_take(struct wqueue *q);
/* The writer finishes what is queued, then wqueue_take answers NULL. */
void wqueue_stop(struct wqueue *q);

/* For drivers: the changes of the open transaction. */
struct changelog {
    struct change *v;
    size_t         n, cap;
};
void changelog_add(struct changelog *l, const struct change *c);
/* Forget the changes after the first `n` (a job's savepoint was rolled back). */
void changelog_truncate(struct changelog *l, size_t n);
/* The transaction committed: tell the observers, then forget. */
void changelog_publish(struct changelog *l);
void changelog_free(struct changelog *l);

/* Open the store named by `uri` ("sqlite:PATH"), creating or migrating the
 * schema for every registered spec. One-line reason in eb on failure. */
int store_open(const char *uri, struct store **out, struct errbuf *eb);
/* A server's claim on the store named by `uri`, before store_open, for the
 * process's life: a SQLite store serves one server at a time (E_UNAVAILABLE,
 * one line, when another holds it); PostgreSQL serves several (no-op). */
int store_lock_server(const char *uri, struct errbuf *eb);

/* Submit `job` and wait for its done(); for rare writes made outside a request
 * (bootstrap, quota). Returns run()'s result. */
int store_run(struct store *st, int (*run)(struct tx *, void *), void *arg);
/* The same for a run that is right beside any other server's writes (struct
 * wjob.independent): one statement the database settles by itself, such as
 * a work item's claim (FOR UPDATE SKIP LOCKED), renewal or end (conditional
 * on the lease), or an enqueue (an upsert). */
int store_run_independent(struct store *st, int (*run)(struct tx *, void *), void *arg);

/* Inside a transaction: delete every object of `s` in scope `sc` whose
 * queryable attribute `attr` equals `value` (a parent's children: a
 * certificate's instances, a discovery's runs), a thousand at a time.
 * *n (may be NULL) counts them. */
int store_delete_where(struct tx *tx, const struct spec *s, const struct scope *sc,
                       const char *attr, struct str value, struct arena *a, int64_t *n);

/* The process's store (set once at start-up). */
extern struct store *kw_store;

/* ---- dump: what is at rest, read-only (`keyward store-dump`) ------------
 *
 * Every row of the named tables as the store holds it: nothing decrypted,
 * nothing interpreted but the type of each value. The tables are every stored
 * spec's, then the side tables (store_side_tables). The store is opened
 * read-only, beside a server that may be running on it: never created,
 * migrated or written. All tables are read in one read transaction (one
 * consistent snapshot). */
enum dump_type { DUMP_NULL, DUMP_INT, DUMP_FLOAT, DUMP_TEXT, DUMP_BLOB };

struct dump_cell {
    const char    *name; /* the column */
    enum dump_type t;
    int64_t        i;
    double         f;
    struct str     bytes; /* DUMP_TEXT, DUMP_BLOB: as stored (TEXT may be any bytes) */
    bool           doc;   /* an object's whole document (MessagePack, as written) */
};

/* Called for every row, in the order of the tables, then of insertion; a
 * non-zero return stops the dump and is returned. */
typedef int (*dump_row_fn)(void *arg, const char *table, const struct dump_cell *cells,
                           size_t ncells);

/* The tables besides the specs', NULL-terminated. */
extern const char *const store_side_tables[];

/* Dump the store named by `uri`: the tables named (every table when ntables is
 * 0; E_NOTFOUND for a name that is none of them). A table the store does not
 * have yet (made by an older release) has no rows. One-line reason in eb when
 * the store cannot be read (missing, not a Keyward store, corrupt). */
int store_dump(const char *uri, const char *const *tables, size_t ntables, dump_row_fn fn,
               void *arg, struct errbuf *eb);

#endif
