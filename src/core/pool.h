/* pool.h - a few threads for work too slow for a request thread (generating
 * an RSA key takes 100 ms to seconds): the request is suspended, its work runs
 * here, and the work itself resumes it. A fixed queue: when it is full the
 * caller answers 503 rather than letting work pile up without bound.
 */
#ifndef KW_POOL_H
#define KW_POOL_H

#include "base.h"

#define POOL_QUEUE_MAX 256 /* items waiting; more is E_UNAVAILABLE */

/* Start `n` threads (at least 1). E_INTERNAL. */
int pool_start(size_t n, struct errbuf *eb);
/* Run fn(arg) on a pool thread, in submission order. E_UNAVAILABLE when the
 * queue is full or the pool is not running: fn is then not called. */
int pool_submit(void (*fn)(void *arg), void *arg);
/* Run what is queued, then stop and join the threads. */
void pool_stop(void);

#endif
