/* jobs.h - background work: kinds registered as data, run by a few worker
 * threads of their own (never the HTTP threads), over the store's durable,
 * leased work items (store.h).
 *
 * A kind is a name, a handler and its limits. An item of a kind is claimed by
 * one worker of one server at a time: the claim is a lease, renewed by a
 * keeper thread while the handler runs, so that an item whose server died is
 * taken again once its lease has run out. A handler that fails is retried
 * with exponential back-off up to max_attempts; a periodic kind has one item
 * (keyed by its name) that is queued again `interval_ms` after each run, and
 * never stops for good. Handlers must therefore be idempotent: after a crash
 * an item runs again from its start (or from what its progress says).
 *
 * Thread safety: register kinds before jobs_start(); jobs_enqueue() and
 * jobs_wake() from any thread at any time.
 */
#ifndef KW_JOBS_H
#define KW_JOBS_H

#include "../core/arena.h"
#include "../store/store.h"

#define JOBS_KINDS_MAX   32
#define JOB_PROGRESS_MAX 1024 /* bytes of progress text kept per item */

struct jobs;
struct job_ctx;

struct job_kind {
    const char *name; /* [a-z0-9._-], at most 64 bytes; stored in every item */
    /* Do the work of one item. E_OK: done. Anything else fails this attempt,
     * with the reason in ctx->eb. Long handlers check job_canceled() between
     * steps and return when it is true (the item is then released, or its
     * lease was lost to another server). */
    int (*run)(struct job_ctx *ctx);
    void   *arg;           /* for the handler: ctx->arg */
    int64_t lease_ms;      /* 0: the default (jobs_set_default_lease, 30 s) */
    int64_t retry_base_ms; /* first retry delay, doubled each attempt; 0: 1 s */
    int64_t retry_max_ms;  /* 0: 1 h */
    int64_t max_attempts;  /* 0: 10 */
    int64_t interval_ms;   /* > 0: periodic, every interval_ms after a run */
};

/* What a handler sees. Everything is valid for the run only. */
struct job_ctx {
    struct jobs           *jobs;
    const struct job_kind *kind;
    void                  *arg; /* kind->arg */
    struct store          *st;
    int64_t                id;
    struct str             key, payload;
    struct str             progress; /* as stored when the item was claimed */
    int64_t                attempt;  /* 1 for the first */
    struct arena          *a;        /* freed after the run */
    struct errbuf          eb;       /* a failure's reason, kept as last_error */
    void                  *slot;     /* private to jobs.c */
};

/* A runtime over `st` for server `owner` (NULL: a random id). NULL when out of
 * memory. Owned by the caller: jobs_free(). */
struct jobs *jobs_new(struct store *st, const char *owner);
/* The lease of kinds that do not size their own (the job_lease setting). */
void jobs_set_default_lease(int64_t ms);
/* jobs_new() with `n` kinds registered: a runtime of its own for one
 * module's work (webhook deliveries, discovery runs). NULL with the reason in
 * eb. */
struct jobs *jobs_new_with(struct store *st, const struct job_kind *kinds, size_t n,
                           struct errbuf *eb);
/* Add a kind (the struct is copied). E_BADREQ for a bad or repeated name,
 * E_TOOBIG past JOBS_KINDS_MAX; only before jobs_start(). */
int jobs_register(struct jobs *j, const struct job_kind *k, struct errbuf *eb);
/* Queue every periodic kind's item (due after its interval, or earlier if one
 * is already queued sooner) and start `nworkers` workers and the lease keeper. */
int jobs_start(struct jobs *j, int nworkers, struct errbuf *eb);
/* Stop: no new claims; running handlers see job_canceled() and their items
 * are released (queued again, the attempt not counted) when they return;
 * then the threads are joined. An item whose handler does not return keeps
 * its lease until it expires (another server takes it then). Idempotent. */
void jobs_stop(struct jobs *j);
/* jobs_stop(), then free. NULL is fine. */
void jobs_free(struct jobs *j);
/* The server id its leases carry. */
const char *jobs_owner(const struct jobs *j);

/* Queue an item of registered `kind` (store.h job_enqueue: idempotent by kind
 * and key), due at run_at (ms; 0: now), and wake a worker. *id may be NULL. */
int jobs_enqueue(struct jobs *j, const char *kind, struct str key, struct str payload,
                 int64_t run_at, int64_t *id);
/* The same inside a writer transaction, so the item commits with the write
 * that asks for it; call jobs_wake() after the commit. */
int  jobs_enqueue_tx(struct jobs *j, struct tx *tx, const char *kind, struct str key,
                     struct str payload, int64_t run_at, int64_t *id);
void jobs_wake(struct jobs *j);

/* How long after failed attempt `attempt` (1 for the first) an item of kind
 * `k` (as registered: ctx->kind) is due again: retry_base_ms doubled per
 * attempt, at most retry_max_ms. For handlers that show when they retry. */
int64_t job_retry_delay_ms(const struct job_kind *k, int64_t attempt);

/* True once the handler should stop: the runtime is stopping, or the item's
 * lease was lost (another server may be running it). */
bool job_canceled(const struct job_ctx *ctx);
/* Now by the store's clock (Unix ms): the same on every server of a shared
 * store, whatever the machines' clocks say; for what a job compares with
 * times other servers wrote (expiries, retention). */
int64_t job_now(const struct job_ctx *ctx);
/* Inside a write transaction of the handler's: E_OK while this server still
 * holds the item's lease (extended by the same transaction), E_CONFLICT once
 * another server has taken the item over (job_canceled() is then true). A
 * handler that writes results calls it first and writes nothing on an error:
 * a server that stalled past its lease (a pause, a slow disk) cannot write
 * over the work of the server that took over, however late it notices. */
int job_fence_tx(struct job_ctx *ctx, struct tx *tx);
/* Whether another item of this runtime's kinds, on any server sharing the
 * store, has waited for a worker longer than an idle one takes to claim it
 * (so that no worker is free for it): a long handler that takes turns asks
 * it, then checkpoints and calls job_yield(). False when the store cannot
 * tell. Reads the store: not inside a transaction. */
bool job_others_waiting(struct job_ctx *ctx);
/* Give the item back when the handler returns E_OK: queued again, due at
 * once but behind the items already waiting (they were due earlier), its
 * attempt not counted, its progress kept. The handler must have written
 * what a later run of the item starts from. */
void job_yield(struct job_ctx *ctx);
/* job_yield, due `ms` later: a handler that may not run now (its share of the
 * workers is taken) and must not be claimed again at once, in a loop. */
void job_postpone(struct job_ctx *ctx, int64_t ms);
/* Keep `text` (truncated to JOB_PROGRESS_MAX - 1 bytes) as the item's
 * progress: written with the next lease renewal and when the run ends. */
void job_progress(struct job_ctx *ctx, const char *text);

/* The process's runtime (set once at start-up, like kw_store). */
extern struct jobs *kw_jobs;

#endif
