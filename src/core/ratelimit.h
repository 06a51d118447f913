/* ratelimit.h - failures counted per key, with lock-outs, in a table of fixed
 * size. Knows nothing of HTTP or realms: a key is any byte string (an account, a
 * client address).
 *
 * Each key has a leaky bucket: a failure adds one, the bucket drains at `max`
 * per `window_ms` (one failure is forgiven every window_ms / max). When the
 * bucket reaches `max` the key is locked for `lockout_ms` and the bucket starts
 * empty again. An attempt is admitted only while its key is not locked and the
 * failures counted plus the attempts still in flight stay below `max`, so
 * concurrent attempts cannot try more than `max` times before the lock.
 *
 * Memory is fixed at creation: keys are stored as a keyed 128-bit hash in a
 * set-associative table; a new key evicts the least valuable entry of its set
 * (idle first, locked last), so a flood of new keys cannot grow memory nor
 * choose which entries it evicts. Thread-safe.
 */
#ifndef KW_RATELIMIT_H
#define KW_RATELIMIT_H

#include "base.h"

struct ratelimit;

struct ratelimit_policy {
    int64_t max;        /* failures that lock a key; 0: never locked */
    int64_t window_ms;  /* the bucket drains `max` failures per window (>= 1) */
    int64_t lockout_ms; /* how long a locked key is refused */
};

enum ratelimit_outcome {
    RL_NEUTRAL,   /* no verdict (the backend was down): the attempt only ends */
    RL_FAILED,    /* counts one failure, which may lock the key */
    RL_SUCCEEDED, /* empties the key's bucket (a lock already set stays) */
};

/* A table of about `capacity` keys (at least one set). NULL when out of
 * memory. The policy is copied. */
struct ratelimit *ratelimit_new(size_t capacity, const struct ratelimit_policy *p);
void              ratelimit_free(struct ratelimit *rl);
/* Admit one attempt for `key` at `now_ms` (a monotonic clock): 0 when admitted
 * (the caller must then call ratelimit_end once), else the milliseconds to wait
 * before trying again (> 0). */
int64_t ratelimit_begin(struct ratelimit *rl, struct str key, int64_t now_ms);
/* The outcome of an admitted attempt. True when this failure locked the key. */
bool ratelimit_end(struct ratelimit *rl, struct str key, enum ratelimit_outcome o,
                   int64_t now_ms);

#endif
