/* pool.c - see pool.h. */
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>

#define POOL_THREADS_MAX 16

struct item {
    void (*fn)(void *arg);
    void *arg;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    struct item     q[POOL_QUEUE_MAX];
    size_t          head, len;
    bool            running;
    pthread_t       th[POOL_THREADS_MAX];
    size_t          nth;
} pool = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void *
pool_main(void *arg)
{
    KW_UNUSED(arg);
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (pool.len == 0 && pool.running)
            pthread_cond_wait(&pool.cv, &pool.mu);
        if (pool.len == 0)
            break;
        struct item it = pool.q[pool.head];
        pool.head = (pool.head + 1) % POOL_QUEUE_MAX;
        pool.len--;
        pthread_mutex_unlock(&pool.mu);
        it.fn(it.arg);
        pthread_mutex_lock(&pool.mu);
    }
    pthread_mutex_unlock(&pool.mu);
    return NULL;
}

int
pool_start(size_t n, struct errbuf *eb)
{
    n = n == 0 ? 1 : n > POOL_THREADS_MAX ? POOL_THREADS_MAX : n;
    pthread_mutex_lock(&pool.mu);
    pool.running = true;
    pthread_mutex_unlock(&pool.mu);
    for (pool.nth = 0; pool.nth < n; pool.nth++)
        if (pthread_create(&pool.th[pool.nth], NULL, pool_main, NULL) != 0) {
            pool_stop();
            return errbuf_set(eb, E_INTERNAL, "cannot start the work pool");
        }
    return E_OK;
}

int
pool_submit(void (*fn)(void *arg), void *arg)
{
    int rc = E_UNAVAILABLE;

    pthread_mutex_lock(&pool.mu);
    if (pool.running && pool.len < POOL_QUEUE_MAX) {
        pool.q[(pool.head + pool.len) % POOL_QUEUE_MAX] = (struct item){ fn, arg };
        pool.len++;
        pthread_cond_signal(&pool.cv);
        rc = E_OK;
    }
    pthread_mutex_unlock(&pool.mu);
    return rc;
}

void
pool_stop(void)
{
    pthread_mutex_lock(&pool.mu);
    pool.running = false;
    pthread_cond_broadcast(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
    for (size_t i = 0; i < pool.nth; i++)
        pthread_join(pool.th[i], NULL);
    pool.nth = 0;
}
