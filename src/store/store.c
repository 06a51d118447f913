/* store.c - what every driver shares: opening by URI, synchronous writes. */
#include "store.h"

#include "../core/config.h"
#include "../core/timeutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct store *kw_store;

int store_open_sqlite(const char *path, struct store **out, struct errbuf *eb);
int store_open_pg(const char *url, struct store **out, struct errbuf *eb);
int store_lock_sqlite(const char *path, struct errbuf *eb);

/* A PostgreSQL connection URI (libpq's two spellings). */
static bool
is_pg_uri(struct str u)
{
    return str_starts(u, STR("postgres://")) || str_starts(u, STR("postgresql://"));
}

int
store_open(const char *uri, struct store **out, struct errbuf *eb)
{
    static const struct str sqlite = STR("sqlite:");
    struct str              u = str_c(uri);

    if (str_starts(u, sqlite) && u.len > sqlite.len)
        return store_open_sqlite(uri + sqlite.len, out, eb);
    if (is_pg_uri(u))
        return store_open_pg(uri, out, eb);
    char shown[512];

    config_url_redacted(uri, shown, sizeof shown); /* a URL's password is never shown */
    return errbuf_set(eb, E_BADREQ, "unsupported store '%s': use sqlite:PATH or postgres://...",
                      shown);
}

int
store_lock_server(const char *uri, struct errbuf *eb)
{
    static const struct str sqlite = STR("sqlite:");
    struct str              u = str_c(uri);

    return str_starts(u, sqlite) && u.len > sqlite.len ? store_lock_sqlite(uri + sqlite.len, eb)
                                                       : E_OK;
}

/* ---- what drivers share ------------------------------------------------- */

static const char *const job_state_names[] = { "queued", "running", "done", "failed" };

const char *
job_state_name(enum job_state st)
{
    return (size_t)st < ARRAY_LEN(job_state_names) ? job_state_names[st] : "?";
}

enum job_state
job_state_parse(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(job_state_names); i++)
        if (name != NULL && strcmp(name, job_state_names[i]) == 0)
            return (enum job_state)i;
    return JOB_FAILED;
}

/* Why a conditional write changed nothing: the object is gone, protected, or
 * was updated since (read inside the same transaction, so it is exact). */
int
store_why_unchanged(struct tx *tx, const struct spec *s, struct str id,
                    const struct write_cond *wc)
{
    struct arena *a = arena_new(4096);
    struct val    old;
    int           rc = tx->ops->find(tx, s, NULL, "ID", id, a, &old);

    if (rc == E_OK && wc != NULL) {
        const struct val *p = val_get(&old, "protected");
        struct str        t = val_get_str(&old, "updateTime");
        if (p != NULL && p->t == V_BOOL && p->b && !wc->override)
            rc = E_PROTECTED;
        else if (wc->update_time.len > 0 && !str_eq(t, wc->update_time))
            rc = E_CONFLICT;
        else
            rc = E_NOTFOUND; /* its namespace is gone */
    }
    arena_free(a);
    return rc == E_OK ? E_NOTFOUND : rc;
}

struct sync_job {
    struct wjob job;
    int (*run)(struct tx *, void *);
    void           *arg;
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    bool            done;
    int             rc;
};

static int
sync_run(struct tx *tx, void *arg)
{
    struct sync_job *s = arg;

    return s->run(tx, s->arg);
}

static void
sync_done(void *arg, int rc)
{
    struct sync_job *s = arg;

    pthread_mutex_lock(&s->mu);
    s->rc = rc;
    s->done = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static int
run_sync(struct store *st, int (*run)(struct tx *, void *), void *arg, bool independent)
{
    struct sync_job s = { .run = run, .arg = arg };

    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    s.job = (struct wjob){
        .run = sync_run, .done = sync_done, .arg = &s, .independent = independent
    };
    st->ops->submit(st, &s.job);
    pthread_mutex_lock(&s.mu);
    while (!s.done)
        pthread_cond_wait(&s.cv, &s.mu);
    pthread_mutex_unlock(&s.mu);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    return s.rc;
}

int
store_run(struct store *st, int (*run)(struct tx *, void *), void *arg)
{
    return run_sync(st, run, arg, false);
}

int
store_run_independent(struct store *st, int (*run)(struct tx *, void *), void *arg)
{
    return run_sync(st, run, arg, true);
}

/* ---- changes and their observers ---------------------------------------- */

#define OBSERVERS_MAX 8

static store_observer observers[OBSERVERS_MAX];
static size_t         nobservers;

void
store_observe(store_observer fn)
{
    if (nobservers == OBSERVERS_MAX)
        abort(); /* a programming error: the table is sized for the modules we have */
    observers[nobservers++] = fn;
}

void
changelog_add(struct changelog *l, const struct change *c)
{
    if (l->n == l->cap) {
        size_t         cap = l->cap ? 2 * l->cap : 64;
        struct change *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            abort();
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *c;
}

void
changelog_truncate(struct changelog *l, size_t n)
{
    if (n < l->n)
        l->n = n;
}

void
changelog_publish(struct changelog *l)
{
    for (size_t i = 0; i < nobservers && l->n > 0; i++)
        observers[i](l->v, l->n);
    l->n = 0;
}

void
wqueue_init(struct wqueue *q)
{
    *q = (struct wqueue){ .head = NULL };
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
}

void
wqueue_push(struct wqueue *q, struct wjob *job)
{
    job->next = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->tail != NULL)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

struct wjob *
wqueue_take(struct wqueue *q)
{
    struct wjob *batch;

    pthread_mutex_lock(&q->mu);
    while (q->head == NULL && !q->stopping)
        pthread_cond_wait(&q->cv, &q->mu);
    batch = q->head;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->mu);
    return batch;
}

void
wqueue_stop(struct wqueue *q)
{
    pthread_mutex_lock(&q->mu);
    q->stopping = true;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

void
store_observers_reset(void)
{
    struct change reset = { .reset = true };

    for (size_t i = 0; i < nobservers; i++)
        observers[i](&reset, 1);
}

int
store_follow(struct store *st)
{
    enum others o =
        st != NULL && st->ops->others_wrote != NULL ? st->ops->others_wrote(st) : OTHERS_NONE;

    return o == OTHERS_UNKNOWN ? E_UNAVAILABLE : E_OK;
}

int
store_list_all(struct store *st, const struct spec *s, struct arena *a, struct val *items,
               struct errbuf *eb)
{
    struct listq q = { .scope = { STR("/"), true }, .limit = -1 };

    return st->ops->list(st, s, &q, a, items, NULL, eb);
}

bool
store_follow_later(struct store *st)
{
    if (st == NULL || st->ops->follow_later == NULL)
        return false;
    st->ops->follow_later(st);
    return true;
}

enum others
store_follow_settle(struct store *st)
{
    return st->ops->follow_settle(st);
}

enum others
store_find_ids(struct store *st, struct find_id *f, size_t n)
{
    return st->ops->find_ids(st, f, n);
}

int
store_insert_later(struct tx *tx, const struct spec *s, const struct val *obj)
{
    if (tx->ops->insert_later != NULL)
        return tx->ops->insert_later(tx, s, obj);
    return tx->ops->insert(tx, s, obj);
}

int
store_insert_each(struct tx *tx, const struct spec *s, const struct val *objs, size_t n,
                  int *rcs)
{
    if (tx->ops->insert_each != NULL)
        return tx->ops->insert_each(tx, s, objs, n, rcs);
    for (size_t i = 0; i < n; i++) {
        rcs[i] = tx->ops->insert(tx, s, &objs[i]);
        if (rcs[i] != E_OK && rcs[i] != E_DUPLICATE && rcs[i] != E_NOTFOUND)
            return rcs[i];
    }
    return E_OK;
}

static _Thread_local int64_t budget_deadline;

void
store_budget_begin(void)
{
    budget_deadline = time_mono_ms() + cfg.store_timeout;
}

void
store_budget_end(void)
{
    budget_deadline = 0;
}

int64_t
store_budget(void)
{
    return budget_deadline;
}

int
store_clock_ms(struct store *st, int64_t *now)
{
    if (st != NULL && st->ops->clock_ms != NULL)
        return st->ops->clock_ms(st, now);
    *now = time_now_ms();
    return E_OK;
}

void
changelog_free(struct changelog *l)
{
    free(l->v);
    *l = (struct changelog){ 0 };
}

/* ---- dump ---------------------------------------------------------------- */

const char *const store_side_tables[] = {
    "meta", "jobs", "idempotency", "token_uses", "ephemeral", "schema_migrations", NULL,
};

/* `tables`: every name known (a spec's table or a side table). */
int store_dump_sqlite(const char *path, const char *const *tables, size_t ntables,
                      dump_row_fn fn, void *arg, struct errbuf *eb);
int store_dump_pg(const char *url, const char *const *tables, size_t ntables, dump_row_fn fn,
                  void *arg, struct errbuf *eb);

static bool
dump_table_known(const char *name)
{
    const struct spec *s = spec_by_rest(str_c(name));

    if (s != NULL && !s->not_namespaced)
        return true;
    for (size_t i = 0; store_side_tables[i] != NULL; i++)
        if (strcmp(store_side_tables[i], name) == 0)
            return true;
    return false;
}

int
store_dump(const char *uri, const char *const *tables, size_t ntables, dump_row_fn fn,
           void *arg, struct errbuf *eb)
{
    static const struct str sqlite = STR("sqlite:");
    struct str              u = str_c(uri);
    const char             *all[128];
    size_t                  n = 0;

    for (size_t i = 0; i < ntables; i++)
        if (!dump_table_known(tables[i]))
            return errbuf_set(eb, E_NOTFOUND, "no table '%.100s' in the store", tables[i]);
    if (ntables == 0) {
        for (size_t i = 0; i < spec_count && n < ARRAY_LEN(all); i++)
            if (!spec_all[i]->not_namespaced)
                all[n++] = spec_all[i]->rest;
        for (size_t i = 0; store_side_tables[i] != NULL && n < ARRAY_LEN(all); i++)
            all[n++] = store_side_tables[i];
        tables = all;
        ntables = n;
    }
    if (str_starts(u, sqlite) && u.len > sqlite.len)
        return store_dump_sqlite(uri + sqlite.len, tables, ntables, fn, arg, eb);
    if (is_pg_uri(u))
        return store_dump_pg(uri, tables, ntables, fn, arg, eb);
    char shown[512];

    config_url_redacted(uri, shown, sizeof shown);
    return errbuf_set(eb, E_BADREQ, "unsupported store '%s': use sqlite:PATH or postgres://...",
                      shown);
}

int
store_delete_where(struct tx *tx, const struct spec *s, const struct scope *sc,
                   const char *attr, struct str value, struct arena *a, int64_t *n)
{
    struct fval  v = { .t = FV_STR, .s = value };
    struct listq q = { .scope = *sc, .filter = filter_cmp(a, attr, F_EQ, v), .limit = 1000 };
    struct val   items;
    int          rc;

    do {
        if ((rc = tx->ops->list(tx, s, &q, a, &items)) != E_OK)
            return rc;
        for (size_t i = 0; i < items.a.n && rc == E_OK; i++) {
            struct write_cond wc = { STR_NULL, true };
            rc = tx->ops->del(tx, s, val_get_str(&items.a.v[i], "ID"), &wc);
            if (rc == E_OK && n != NULL)
                (*n)++;
        }
    } while (rc == E_OK && items.a.n == 1000);
    return rc;
}
