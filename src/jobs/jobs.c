/* jobs.c - see jobs.h.
 *
 * Threads: `nworkers` workers, each claiming and running one item at a time,
 * and one keeper renewing the leases of the items being run. Every store
 * write (claim, renew, finish, enqueue) is a small writer job of one
 * statement the database settles by itself (store_run_independent), so with
 * SQLite it joins the group commit of the requests' writes, and on
 * PostgreSQL it runs beside the other servers' creates. A worker with
 * nothing due sleeps until the earliest run_at in the store, at most
 * POLL_MS (items queued by other servers are seen within that), or until
 * jobs_enqueue() wakes it.
 */
#include "jobs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "../core/rnd.h"
#include "../core/timeutil.h"

#define POLL_MS          1000
#define DEF_RETRY_MS     1000
#define DEF_RETRY_MAX_MS 3600000
#define DEF_ATTEMPTS     10
#define OWNER_MAX        64

static _Atomic int64_t default_lease_ms = 30000;

void
jobs_set_default_lease(int64_t ms)
{
    if (ms > 0)
        default_lease_ms = ms;
}

/* A kind's lease: its own, or the default at the time of asking. */
static int64_t
lease_of(const struct job_kind *k)
{
    return k->lease_ms > 0 ? k->lease_ms : default_lease_ms;
}

struct jobs *kw_jobs;

/* One worker and what it is running; busy..progress are guarded by jobs->mu. */
struct slot {
    struct jobs     *j;
    pthread_t        thread;
    bool             busy, lost, dirty, yielded;
    int64_t          yield_ms; /* a yielded item is due this much later */
    struct job_lease lease;
    int64_t          lease_ms, renew_at;
    char             progress[JOB_PROGRESS_MAX];
};

struct jobs {
    struct store   *st;
    char            owner[OWNER_MAX];
    struct job_kind kinds[JOBS_KINDS_MAX];
    const char     *names[JOBS_KINDS_MAX];
    size_t          nkinds;
    pthread_mutex_t mu;
    pthread_cond_t  work_cv, keep_cv;
    bool            started, stopping, keeper_stopping;
    uint64_t        wakes; /* bumped by jobs_wake(): a worker about to sleep looks again */
    _Atomic int64_t clock_offset; /* the store's clock minus this machine's (ms) */
    _Atomic int64_t clock_synced; /* when it was measured (time_mono_ms), 0: never */
    struct slot    *slots;
    size_t          nslots;
    pthread_t       keeper;
};

/* ---- helpers ------------------------------------------------------------ */

/* Leases, due times and retries are times of the store's clock, one for every
 * server sharing the store (a server whose clock ran ahead would otherwise
 * take live leases over): the offset of this machine's clock from it is
 * measured at the start and then at most every CLOCK_SYNC_MS. */
#define CLOCK_SYNC_MS 10000

#define CLOCK_WARN_MS 1000 /* an offset told at start (docs/postgres.md) */

static void
clock_sync(struct jobs *j)
{
    int64_t before = time_now_ms(), store, after, offset;

    if (store_clock_ms(j->st, &store) != E_OK)
        return; /* the store is away: keep the last offset */
    after = time_now_ms();
    offset = store - (before + (after - before) / 2);
    if (atomic_load(&j->clock_synced) == 0 && llabs(offset) > CLOCK_WARN_MS)
        log_warn("jobs: this machine's clock is %lld ms %s the store's: background work "
                 "follows the store's, but tokens this server issues may be refused by others "
                 "(nbf) and expire early or late; synchronise the clocks (NTP)",
                 (long long)llabs(offset), offset > 0 ? "behind" : "ahead of");
    atomic_store(&j->clock_offset, offset);
    atomic_store(&j->clock_synced, time_mono_ms());
}

/* Measured again when due (worker threads only: never inside a write). */
static void
clock_check(struct jobs *j)
{
    int64_t synced = atomic_load(&j->clock_synced);

    if (synced == 0 || time_mono_ms() - synced > CLOCK_SYNC_MS)
        clock_sync(j);
}

static int64_t
jobs_now(struct jobs *j)
{
    return time_now_ms() + atomic_load(&j->clock_offset);
}

int64_t
job_now(const struct job_ctx *ctx)
{
    return jobs_now(ctx->jobs);
}

static const struct job_kind *
kind_find(const struct jobs *j, struct str name)
{
    for (size_t i = 0; i < j->nkinds; i++)
        if (str_eq_c(name, j->kinds[i].name))
            return &j->kinds[i];
    return NULL;
}

static bool
name_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > 64)
        return false;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
              *s == '-'))
            return false;
    return true;
}

/* Wait on `cv` for at most `ms` (monotonic clock; see jobs_new). */
static void
cv_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, mu, &ts);
}

static int64_t
token_new(void)
{
    uint64_t t;

    rnd_id_bytes(&t, sizeof t);
    return (int64_t)(t >> 1); /* positive: stored as a signed integer */
}

/* retry_base * 2^(attempt-1), at most retry_max. */
int64_t
job_retry_delay_ms(const struct job_kind *k, int64_t attempt)
{
    int64_t d = k->retry_base_ms;

    for (int64_t i = 1; i < attempt && d < k->retry_max_ms; i++)
        d *= 2;
    return d < k->retry_max_ms ? d : k->retry_max_ms;
}

/* ---- store writes, each one writer job ---------------------------------- */

struct op {
    struct jobs            *j;
    const struct job_new   *nw;
    const struct job_lease *lease;
    const struct job_end   *end;
    int64_t                 now, until, *id;
    struct str              progress;
    struct arena           *a;
    struct job_row         *row;
};

static int
op_enqueue(struct tx *tx, void *arg)
{
    struct op *o = arg;

    return tx->ops->job_enqueue(tx, o->nw, o->now, o->id);
}

static int
op_claim(struct tx *tx, void *arg)
{
    struct op *o = arg;

    return tx->ops->job_claim(tx, o->j->names, o->j->nkinds, o->lease, o->now, o->a, o->row);
}

static int
op_renew(struct tx *tx, void *arg)
{
    struct op *o = arg;

    return tx->ops->job_renew(tx, o->lease, o->until, o->progress);
}

static int
op_finish(struct tx *tx, void *arg)
{
    struct op *o = arg;

    return tx->ops->job_finish(tx, o->lease, o->end, o->progress);
}

/* ---- public: set-up ----------------------------------------------------- */

/* Items queued inside a writer transaction (jobs_enqueue_tx) wake the
 * workers once it commits: the store tells its observers of the commit.
 * Every started runtime is woken (the server's, the webhook deliveries'):
 * the change does not say which kind was queued, and a runtime that finds
 * nothing of its kinds due goes back to sleep. */
#define WOKEN_MAX 4
static struct jobs *_Atomic woken_by_commits[WOKEN_MAX];

static void
on_commit(const struct change *ch, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ch[i].job) {
            for (size_t k = 0; k < WOKEN_MAX; k++) {
                struct jobs *j = woken_by_commits[k];
                if (j != NULL)
                    jobs_wake(j);
            }
            return;
        }
}

/* From now on commits wake `j` (a runtime past WOKEN_MAX polls only). */
static void
wake_on_commits(struct jobs *j)
{
    for (size_t k = 0; k < WOKEN_MAX; k++) {
        if (woken_by_commits[k] == j)
            return;
        if (atomic_compare_exchange_strong(&woken_by_commits[k], &(struct jobs *){ NULL }, j))
            return;
    }
}

static void
observe_commits(void)
{
    store_observe(on_commit);
}

struct jobs *
jobs_new(struct store *st, const char *owner)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    struct jobs       *j = calloc(1, sizeof *j);
    pthread_condattr_t ca;
    unsigned char      r[8];

    if (j == NULL)
        return NULL;
    pthread_once(&once, observe_commits);
    j->st = st;
    if (owner != NULL)
        snprintf(j->owner, sizeof j->owner, "%s", owner);
    else {
        rnd_id_bytes(r, sizeof r);
        hex_encode(r, sizeof r, j->owner);
    }
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->work_cv, &ca);
    pthread_cond_init(&j->keep_cv, &ca);
    pthread_condattr_destroy(&ca);
    return j;
}

const char *
jobs_owner(const struct jobs *j)
{
    return j->owner;
}

struct jobs *
jobs_new_with(struct store *st, const struct job_kind *kinds, size_t n, struct errbuf *eb)
{
    struct jobs *j = jobs_new(st, NULL);
    int          rc = j != NULL ? E_OK : errbuf_set(eb, E_INTERNAL, "out of memory");

    for (size_t i = 0; i < n && rc == E_OK; i++)
        rc = jobs_register(j, &kinds[i], eb);
    if (rc != E_OK) {
        jobs_free(j);
        return NULL;
    }
    return j;
}

int
jobs_register(struct jobs *j, const struct job_kind *k, struct errbuf *eb)
{
    struct job_kind *c;

    if (j->started)
        return errbuf_set(eb, E_INTERNAL, "jobs: register '%s' after start", k->name);
    if (!name_ok(k->name) || k->run == NULL || kind_find(j, str_c(k->name)) != NULL)
        return errbuf_set(eb, E_BADREQ, "jobs: bad or repeated kind '%s'",
                          k->name ? k->name : "");
    if (j->nkinds == JOBS_KINDS_MAX)
        return errbuf_set(eb, E_TOOBIG, "jobs: more than %d kinds", JOBS_KINDS_MAX);
    c = &j->kinds[j->nkinds];
    *c = *k;
    c->retry_base_ms = k->retry_base_ms > 0 ? k->retry_base_ms : DEF_RETRY_MS;
    c->retry_max_ms = k->retry_max_ms > 0 ? k->retry_max_ms : DEF_RETRY_MAX_MS;
    c->max_attempts = k->max_attempts > 0 ? k->max_attempts : DEF_ATTEMPTS;
    j->names[j->nkinds++] = c->name;
    return E_OK;
}

/* ---- public: enqueue ---------------------------------------------------- */

static int
job_new_of(struct jobs *j, const char *kind, struct str key, struct str payload, int64_t run_at,
           struct job_new *nw)
{
    const struct job_kind *k = kind_find(j, str_c(kind));

    if (k == NULL)
        return E_NOTFOUND;
    *nw = (struct job_new){ .kind = k->name,
                            .key = key,
                            .payload = payload,
                            .run_at = run_at > 0 ? run_at : jobs_now(j),
                            .lease_ms = lease_of(k) };
    return E_OK;
}

int
jobs_enqueue_tx(struct jobs *j, struct tx *tx, const char *kind, struct str key,
                struct str payload, int64_t run_at, int64_t *id)
{
    struct job_new nw;
    int            rc = job_new_of(j, kind, key, payload, run_at, &nw);

    return rc == E_OK ? tx->ops->job_enqueue(tx, &nw, jobs_now(j), id) : rc;
}

int
jobs_enqueue(struct jobs *j, const char *kind, struct str key, struct str payload,
             int64_t run_at, int64_t *id)
{
    struct job_new nw;
    struct op      o = { .j = j, .nw = &nw, .now = jobs_now(j), .id = id };
    int            rc = job_new_of(j, kind, key, payload, run_at, &nw);

    if (rc == E_OK)
        rc = store_run_independent(j->st, op_enqueue, &o);
    if (rc == E_OK)
        jobs_wake(j);
    return rc;
}

void
jobs_wake(struct jobs *j)
{
    pthread_mutex_lock(&j->mu);
    j->wakes++;
    pthread_cond_broadcast(&j->work_cv);
    pthread_mutex_unlock(&j->mu);
}

/* ---- handlers' view ----------------------------------------------------- */

int
job_fence_tx(struct job_ctx *ctx, struct tx *tx)
{
    struct slot     *s = ctx->slot;
    struct job_lease l;
    int64_t          until;
    int              rc;

    pthread_mutex_lock(&ctx->jobs->mu);
    l = s->lease;
    until = jobs_now(ctx->jobs) + s->lease_ms;
    pthread_mutex_unlock(&ctx->jobs->mu);
    rc = tx->ops->job_renew(tx, &l, until, STR_NULL);
    if (rc == E_CONFLICT) {
        pthread_mutex_lock(&ctx->jobs->mu);
        if (!s->lost)
            log_warn("jobs: #%lld: lease lost to another server", (long long)l.id);
        s->lost = true;
        pthread_mutex_unlock(&ctx->jobs->mu);
    }
    return rc;
}

bool
job_canceled(const struct job_ctx *ctx)
{
    struct slot *s = ctx->slot;
    bool         c;

    pthread_mutex_lock(&ctx->jobs->mu);
    c = ctx->jobs->stopping || s->lost;
    pthread_mutex_unlock(&ctx->jobs->mu);
    return c;
}

bool
job_others_waiting(struct job_ctx *ctx)
{
    struct jobs *j = ctx->jobs;
    bool         any = false;

    /* An item due for less than POLL_MS may be about to be claimed by an
     * idle worker (of any server: each looks at least that often): only one
     * left waiting longer shows that every worker is busy. */
    if (j->st->ops->job_waiting(j->st, j->names, j->nkinds, ctx->id, jobs_now(j) - POLL_MS,
                                &any) != E_OK)
        return false;
    return any;
}

void
job_yield(struct job_ctx *ctx)
{
    job_postpone(ctx, 0);
}

void
job_postpone(struct job_ctx *ctx, int64_t ms)
{
    struct slot *s = ctx->slot;

    pthread_mutex_lock(&ctx->jobs->mu);
    s->yielded = true;
    s->yield_ms = ms > 0 ? ms : 0;
    pthread_mutex_unlock(&ctx->jobs->mu);
}

void
job_progress(struct job_ctx *ctx, const char *text)
{
    struct slot *s = ctx->slot;

    pthread_mutex_lock(&ctx->jobs->mu);
    snprintf(s->progress, sizeof s->progress, "%s", text);
    s->dirty = true;
    pthread_mutex_unlock(&ctx->jobs->mu);
}

/* ---- a run -------------------------------------------------------------- */

/* How the claim ends, from the handler's result. A failure while stopping,
 * and a handler's yield, are a release: due at once, the attempt not counted.
 * A periodic item never ends for good: its last retry failing queues the next
 * period. */
static struct job_end
outcome(const struct job_kind *k, const struct job_row *row, int rc, bool stopping,
        bool yielded, int64_t yield_ms, struct str error, int64_t now)
{
    struct job_end e = { .error = error, .attempts = row->attempts };

    if (rc == E_OK && yielded) {
        e.state = JOB_QUEUED;
        e.run_at = now + yield_ms;
        e.attempts = row->attempts - 1;
        return e;
    }
    if (rc == E_OK) {
        e.error = STR_NULL;
        e.state = k->interval_ms > 0 ? JOB_QUEUED : JOB_DONE;
        e.run_at = k->interval_ms > 0 ? now + k->interval_ms : now;
        e.attempts = k->interval_ms > 0 ? 0 : row->attempts;
        return e;
    }
    if (stopping) {
        e.state = JOB_QUEUED;
        e.run_at = now;
        e.attempts = row->attempts - 1;
        return e;
    }
    if (row->attempts < k->max_attempts) {
        e.state = JOB_QUEUED;
        e.run_at = now + job_retry_delay_ms(k, row->attempts);
        e.attempts = row->attempts;
        return e;
    }
    e.state = k->interval_ms > 0 ? JOB_QUEUED : JOB_FAILED;
    e.run_at = k->interval_ms > 0 ? now + k->interval_ms : now;
    e.attempts = k->interval_ms > 0 ? 0 : row->attempts;
    return e;
}

static void
run_claimed(struct slot *s, struct job_row *row, struct arena *a)
{
    struct jobs           *j = s->j;
    const struct job_kind *k = kind_find(j, row->kind);
    struct job_ctx         ctx = { .jobs = j,
                                   .kind = k,
                                   .st = j->st,
                                   .id = row->id,
                                   .key = row->key,
                                   .payload = row->payload,
                                   .progress = row->progress,
                                   .attempt = row->attempts,
                                   .a = a,
                                   .slot = s };
    struct job_end         e;
    struct op              o = { .j = j, .lease = &s->lease, .end = &e };
    bool                   lost, stopping, dirty, yielded;
    int64_t                yield_ms;
    int                    rc;
    char                   progress[JOB_PROGRESS_MAX];

    ctx.arg = k->arg;
    if (row->attempts > k->max_attempts) /* its servers died in it every time */
        rc = errbuf_set(&ctx.eb, E_UNAVAILABLE, "lease expired in each of %lld attempts",
                        (long long)row->attempts - 1);
    else
        rc = k->run(&ctx);
    if (rc != E_OK && ctx.eb.msg[0] == '\0')
        errbuf_set(&ctx.eb, rc, "failed (%d)", rc);
    pthread_mutex_lock(&j->mu);
    s->busy = false;
    lost = s->lost;
    stopping = j->stopping;
    dirty = s->dirty;
    yielded = s->yielded;
    yield_ms = s->yield_ms;
    memcpy(progress, s->progress, sizeof progress);
    pthread_mutex_unlock(&j->mu);
    if (row->attempts > k->max_attempts)
        stopping = yielded = false; /* not a release: give up */
    e = outcome(k, row, rc, stopping, yielded, yield_ms,
                rc == E_OK ? STR_NULL : str_c(ctx.eb.msg), jobs_now(j));
    o.progress = dirty ? str_c(progress) : STR_NULL;
    if (lost || (rc = store_run_independent(j->st, op_finish, &o)) == E_CONFLICT)
        log_warn("jobs: %s #%lld: lease lost; its outcome is dropped", k->name,
                 (long long)row->id);
    else if (rc != E_OK)
        log_error("jobs: %s #%lld: cannot record the outcome (%d); the lease will expire",
                  k->name, (long long)row->id, rc);
    else if (e.state == JOB_FAILED)
        log_error("jobs: %s #%lld failed for good after %lld attempts: %s", k->name,
                  (long long)row->id, (long long)row->attempts, ctx.eb.msg);
    else if (e.error.p != NULL && !stopping)
        log_warn("jobs: %s #%lld attempt %lld failed: %s", k->name, (long long)row->id,
                 (long long)row->attempts, ctx.eb.msg);
}

/* Claim one due item and run it. E_NOTFOUND when nothing was due. */
static int
claim_and_run(struct slot *s)
{
    struct jobs   *j = s->j;
    struct arena  *a = arena_new(4096);
    struct job_row row;
    struct op      o = { .j = j, .a = a, .row = &row };
    bool           stopping;
    int            rc;

    pthread_mutex_lock(&j->mu);
    s->lease = (struct job_lease){ .owner = j->owner, .token = token_new() };
    pthread_mutex_unlock(&j->mu);
    o.lease = &s->lease;
    clock_check(j);
    o.now = jobs_now(j);
    rc = store_run_independent(j->st, op_claim, &o);
    pthread_mutex_lock(&j->mu);
    stopping = j->stopping;
    pthread_mutex_unlock(&j->mu);
    if (rc == E_OK && stopping) { /* claimed as the stop began: hand it back */
        struct job_end e = { .state = JOB_QUEUED,
                             .run_at = jobs_now(j),
                             .attempts = row.attempts - 1 };
        s->lease.id = row.id;
        o.end = &e;
        store_run_independent(j->st, op_finish, &o);
    } else if (rc == E_OK) {
        const struct job_kind *k = kind_find(j, row.kind);
        pthread_mutex_lock(&j->mu);
        s->lease.id = row.id;
        s->busy = true;
        s->lost = s->dirty = s->yielded = false;
        s->yield_ms = 0;
        s->progress[0] = '\0';
        /* The claim took the item's own lease (set when it was queued, maybe
         * by a server with another job_lease): renewals keep to it. */
        s->lease_ms = row.lease_ms > 0 ? row.lease_ms : lease_of(k);
        s->renew_at = time_mono_ms() + s->lease_ms / 3;
        pthread_cond_signal(&j->keep_cv);
        pthread_mutex_unlock(&j->mu);
        run_claimed(s, &row, a);
    }
    arena_free(a);
    return rc;
}

/* How long to sleep when nothing could be claimed: until the earliest item
 * is due, within [0, POLL_MS]. An item that is due but was not ours to take
 * (an unknown kind, another server's) must not make us spin. */
static int64_t
idle_ms(struct jobs *j, int claim_rc)
{
    int64_t when, wait;

    if (claim_rc != E_NOTFOUND || j->st->ops->job_next(j->st, &when) != E_OK)
        return POLL_MS;
    wait = when - jobs_now(j);
    return wait <= 0 ? POLL_MS : wait < POLL_MS ? wait : POLL_MS;
}

static void *
worker_main(void *arg)
{
    struct slot *s = arg;
    struct jobs *j = s->j;

    pthread_mutex_lock(&j->mu);
    while (!j->stopping) {
        uint64_t seen = j->wakes;
        pthread_mutex_unlock(&j->mu);
        int     rc = claim_and_run(s);
        int64_t wait = rc == E_OK ? 0 : idle_ms(j, rc);
        pthread_mutex_lock(&j->mu);
        if (wait > 0 && !j->stopping && j->wakes == seen)
            cv_wait_ms(&j->work_cv, &j->mu, wait);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* ---- the keeper: renews the leases of running items --------------------- */

static void
renew_slot(struct jobs *j, struct slot *s)
{
    struct job_lease l = s->lease;
    char             progress[JOB_PROGRESS_MAX];
    bool             dirty = s->dirty;
    struct op        o = { .j = j, .lease = &l, .until = jobs_now(j) + s->lease_ms };
    int              rc;

    memcpy(progress, s->progress, sizeof progress);
    s->dirty = false;
    s->renew_at = time_mono_ms() + s->lease_ms / 3;
    o.progress = dirty ? str_c(progress) : STR_NULL;
    pthread_mutex_unlock(&j->mu);
    rc = store_run_independent(j->st, op_renew, &o);
    pthread_mutex_lock(&j->mu);
    if (!s->busy || s->lease.token != l.token)
        return; /* that run ended meanwhile */
    if (rc == E_CONFLICT) {
        s->lost = true;
        log_warn("jobs: #%lld: lease lost to another server", (long long)l.id);
    } else if (rc != E_OK) {
        s->dirty = s->dirty || dirty;
        s->renew_at = time_mono_ms() + 1000; /* the store is unwell: try again soon */
    }
}

static void *
keeper_main(void *arg)
{
    struct jobs *j = arg;

    pthread_mutex_lock(&j->mu);
    while (!j->keeper_stopping) {
        int64_t now = time_mono_ms(), next = now + POLL_MS;
        for (size_t i = 0; i < j->nslots; i++) {
            struct slot *s = &j->slots[i];
            if (s->busy && !s->lost && s->renew_at <= now)
                renew_slot(j, s); /* unlocks while it writes */
            if (s->busy && !s->lost && s->renew_at < next)
                next = s->renew_at;
        }
        now = time_mono_ms();
        if (next > now)
            cv_wait_ms(&j->keep_cv, &j->mu, next - now);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* ---- start and stop ----------------------------------------------------- */

int
jobs_start(struct jobs *j, int nworkers, struct errbuf *eb)
{
    int64_t now;

    if (j->started)
        return errbuf_set(eb, E_INTERNAL, "jobs: started twice");
    clock_sync(j);
    now = jobs_now(j);
    wake_on_commits(j);
    for (size_t i = 0; i < j->nkinds; i++) {
        const struct job_kind *k = &j->kinds[i];
        if (k->interval_ms <= 0)
            continue;
        int rc = jobs_enqueue(j, k->name, str_c(k->name), STR_NULL, now + k->interval_ms, NULL);
        if (rc != E_OK)
            return errbuf_set(eb, rc, "jobs: cannot queue periodic '%s'", k->name);
    }
    free(j->slots); /* from an earlier start and stop */
    j->slots = calloc((size_t)(nworkers > 0 ? nworkers : 1), sizeof *j->slots);
    if (j->slots == NULL)
        return errbuf_set(eb, E_INTERNAL, "jobs: out of memory");
    j->nslots = 0;
    j->stopping = j->keeper_stopping = false;
    j->started = true;
    if (pthread_create(&j->keeper, NULL, keeper_main, j) != 0) {
        j->started = false;
        return errbuf_set(eb, E_INTERNAL, "jobs: cannot start the lease keeper");
    }
    for (int i = 0; i < (nworkers > 0 ? nworkers : 1); i++) {
        struct slot *s = &j->slots[i];
        s->j = j;
        if (pthread_create(&s->thread, NULL, worker_main, s) != 0) {
            jobs_stop(j);
            return errbuf_set(eb, E_INTERNAL, "jobs: cannot start a worker");
        }
        pthread_mutex_lock(&j->mu); /* the keeper walks the slots */
        j->nslots++;
        pthread_mutex_unlock(&j->mu);
    }
    log_debug("jobs: %zu kinds, %zu workers, server id %s", j->nkinds, j->nslots, j->owner);
    return E_OK;
}

void
jobs_stop(struct jobs *j)
{
    if (j == NULL || !j->started)
        return;
    pthread_mutex_lock(&j->mu);
    j->stopping = true;
    pthread_cond_broadcast(&j->work_cv);
    pthread_mutex_unlock(&j->mu);
    for (size_t i = 0; i < j->nslots; i++)
        pthread_join(j->slots[i].thread, NULL);
    /* The keeper renews until the last handler has returned. */
    pthread_mutex_lock(&j->mu);
    j->keeper_stopping = true;
    pthread_cond_signal(&j->keep_cv);
    pthread_mutex_unlock(&j->mu);
    pthread_join(j->keeper, NULL);
    j->started = false;
}

void
jobs_free(struct jobs *j)
{
    if (j == NULL)
        return;
    jobs_stop(j);
    for (size_t k = 0; k < WOKEN_MAX; k++)
        atomic_compare_exchange_strong(&woken_by_commits[k], &(struct jobs *){ j }, NULL);
    free(j->slots);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->work_cv);
    pthread_cond_destroy(&j->keep_cv);
    free(j);
}
