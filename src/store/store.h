/* store.h - where objects live. One interface (a vtable, h2o style); the SQLite
 * driver is store/sqlite.c, PostgreSQL will sit beside it.
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
    const struct fnode     *filter;   /* NULL: everything in scope */
    const struct order_key *order;    /* ID ascending always breaks ties */
    size_t                  norder;
    int64_t                 offset;
    int64_t                 limit;    /* < 0: no limit */
    struct str              after;    /* cursor: the ID of the last row already seen */
    bool                    want_total;
};

struct store;
struct tx;

/* A write to run in the writer thread. run() executes inside the group's
 * transaction, in its own savepoint: an error it returns undoes only its own
 * changes. done() is called after the commit (rc is run()'s result, or
 * E_UNAVAILABLE if the commit itself failed). Both run in the writer thread. */
struct wjob {
    int          (*run)(struct tx *tx, void *arg);
    void         (*done)(void *arg, int rc);
    void          *arg;
    struct wjob   *next; /* the store's queue link */
};

struct store_ops {
    /* One object by the value of an attribute (usually "ID"). scope NULL: any
     * namespace. E_NOTFOUND when absent. */
    int  (*find)(struct store *st, const struct spec *s, const struct scope *sc,
                 const char *attr, struct str value, struct arena *a, struct val *out,
                 struct errbuf *eb);
    /* Matching objects into `items` (an array); *total the number of matches in
     * scope when q->want_total. */
    int  (*list)(struct store *st, const struct spec *s, const struct listq *q,
                 struct arena *a, struct val *items, int64_t *total, struct errbuf *eb);
    /* Queue a write; returns at once. */
    void (*submit)(struct store *st, struct wjob *job);
    /* A small key/value side table (signing keys, settings): read committed. */
    int  (*meta_get)(struct store *st, const char *key, struct arena *a, struct str *value);
    /* Stop the writer (after finishing queued jobs) and close everything. */
    void (*close)(struct store *st);
    /* True when the store answers (GET /health). */
    bool (*ping)(struct store *st);
};

struct store {
    const struct store_ops *ops;
};

/* Operations allowed inside wjob.run (same semantics as the reads above, but
 * seeing the transaction's own writes). */
struct tx_ops {
    int (*find)(struct tx *tx, const struct spec *s, const struct scope *sc,
                const char *attr, struct str value, struct arena *a, struct val *out);
    /* E_DUPLICATE when a unique key is taken; E_NOTFOUND (nothing written) when
     * the object's namespace does not exist, so that no write can outlive a
     * namespace delete that committed before it. */
    int (*insert)(struct tx *tx, const struct spec *s, const struct val *obj);
    /* E_NOTFOUND when the object, or its namespace, does not exist. */
    int (*update)(struct tx *tx, const struct spec *s, const struct val *obj);
    int (*del)(struct tx *tx, const struct spec *s, struct str id);
    /* Delete every object of every spec in namespace `ns` and below. */
    int (*del_subtree)(struct tx *tx, struct str ns);
    int (*meta_put)(struct tx *tx, const char *key, struct str value);
    /* Idempotency: the kept answer for `key`, E_NOTFOUND if none (or expired). */
    int (*idem_get)(struct tx *tx, struct str key, struct arena *a, struct str *fingerprint,
                    int *status, struct str *body);
    int (*idem_put)(struct tx *tx, struct str key, struct str fingerprint, int status,
                    struct str body, int64_t expires_ms);
    /* Count one use of token `jti` (created at first use); E_QUOTA once `quota`
     * uses have been counted. */
    int (*quota_spend)(struct tx *tx, struct str jti, int64_t quota, int64_t expires_ms);
    /* Short-lived single-use records (login state): put, and take (read and
     * delete at once; E_NOTFOUND when absent or expired). */
    int (*eph_put)(struct tx *tx, struct str key, struct str value, int64_t expires_ms);
    int (*eph_take)(struct tx *tx, struct str key, struct arena *a, struct str *value);
    /* Delete the objects of `s` created before `before_ms` (retention). */
    int (*purge)(struct tx *tx, const struct spec *s, int64_t before_ms);
    /* Drop expired idempotency answers, quota counters and ephemeral records. */
    int (*expire)(struct tx *tx, int64_t now_ms);
};

struct tx {
    const struct tx_ops *ops;
};

/* One committed write, as observers see it (store_observe). */
struct change {
    const struct spec *s;   /* NULL: the namespace `ns` and everything below it went */
    struct str         id;
    struct val         obj; /* as written (its parts valid during the call); null:
                               deleted */
    struct str         ns;
};

/* Called in the writer thread after every commit with the changes of the jobs
 * that committed, in order, before their done(): what a process keeps in
 * memory (the authorization snapshot) follows the store before any caller is
 * answered, whoever wrote (a request, a hook, a background job). */
typedef void (*store_observer)(const struct change *ch, size_t n);
/* Register an observer; at start-up, before the first write. At most 8. */
void store_observe(store_observer fn);

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
int  store_open(const char *uri, struct store **out, struct errbuf *eb);

/* Submit `job` and wait for its done(); for rare writes made outside a request
 * (bootstrap, quota). Returns run()'s result. */
int  store_run(struct store *st, int (*run)(struct tx *, void *), void *arg);

/* The process's store (set once at start-up). */
extern struct store *kw_store;

#endif
