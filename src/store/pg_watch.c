/* pg_watch.c - whether the database answers at all.
 *
 * An answer that has not come for PING_WAIT_MS may be a live database's slow
 * statement (a lock wait, a report over a million rows) or a database that
 * stopped answering while its host's kernel still acknowledges TCP (stopped,
 * stuck, swapping, a network that drops packets). In the second case every
 * thread waits its own statement's timeout plus a margin (32 s on a reader,
 * 62 s on the writer), and the connections a waiting worker holds, a load
 * balancer's GET /health among them, wait with it. So a wait that has lasted
 * PING_WAIT_MS asks here (pq_wait): one thread at a time sends `SELECT 1` on
 * the watch's own connection, at most every WATCH_EVERY_MS; when that gets no
 * answer within PING_WAIT_MS either (connecting included), every wait that
 * began before gives up, as if its own time had run out. A database that
 * answers, even with an error, is alive: its slow statements run on.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "../core/log.h"
#include "../core/timeutil.h"
#include "pg_local.h"

/* A watch's result holds this long: waiters in between reuse it. */
#define WATCH_EVERY_MS 1000

struct pg_watch {
    pthread_mutex_t        mu; /* held by the one thread watching */
    struct pconn           c;  /* its connection, made on first use */
    const struct pg_store *st;
    _Atomic int64_t        silent_at; /* when a watch last ended without an answer */
    _Atomic int64_t        ended_at;  /* when the last watch ended */
};

struct pg_watch *
pg_watch_new(const struct pg_store *st)
{
    struct pg_watch *w = calloc(1, sizeof *w);

    if (w == NULL)
        abort();
    pthread_mutex_init(&w->mu, NULL);
    w->st = st;
    return w;
}

void
pg_watch_free(struct pg_watch *w)
{
    if (w == NULL)
        return;
    pg_conn_close(&w->c);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* Whether the database answered `SELECT 1` (or refused a connection) within
 * PING_WAIT_MS. A connect that fails at once was answered; one that fails
 * only when its time is up was not. */
static bool
answered(struct pg_watch *w)
{
    struct errbuf eb;
    int64_t       start = time_now_ms();

    if (!pg_conn_alive(&w->c)) {
        if (pg_conn_open_bare(&w->c, w->st, PING_CONNECT_S, &eb) != E_OK)
            return time_now_ms() - start < PING_WAIT_MS - PING_WAIT_MS / 10;
        w->c.watch = NULL; /* its own waits do not ask the watch */
    }
    w->c.wait_ms = PING_WAIT_MS;
    if (pq_do(&w->c, "SELECT 1", NULL, "watch", NULL) == E_OK)
        return true;
    return w->c.pg != NULL; /* an error came back; NULL: given up (pq_wait) */
}

bool
pg_watch_silent(struct pg_watch *w, int64_t since)
{
    bool    silent;
    int64_t now;

    if (w == NULL)
        return false;
    if (atomic_load(&w->silent_at) >= since)
        return true;
    if (time_now_ms() - atomic_load(&w->ended_at) < WATCH_EVERY_MS ||
        pthread_mutex_trylock(&w->mu) != 0)
        return false;
    if (time_now_ms() - atomic_load(&w->ended_at) < WATCH_EVERY_MS) { /* one just ended */
        pthread_mutex_unlock(&w->mu);
        return atomic_load(&w->silent_at) >= since;
    }
    silent = !answered(w);
    now = time_now_ms();
    if (silent) {
        log_error("postgres: no answer to the watch in %d ms: waits longer than that are "
                  "given up",
                  PING_WAIT_MS);
        atomic_store(&w->silent_at, now);
    }
    atomic_store(&w->ended_at, now);
    pthread_mutex_unlock(&w->mu);
    return silent;
}

bool
pg_watch_recently_silent(struct pg_watch *w)
{
    return w != NULL && time_now_ms() - atomic_load(&w->silent_at) < WATCH_EVERY_MS;
}
