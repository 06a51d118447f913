/* ratelimit.c - see ratelimit.h. */
#include "ratelimit.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>

#include "rnd.h"

#define WAYS 8 /* entries per set: a new key competes with 7 others only */
/* Refused because attempts in flight could reach the limit: they end within a
 * hash or a directory round trip, so a second is enough. */
#define INFLIGHT_WAIT_MS 1000

struct slot {
    uint64_t tag[2];       /* keyed hash of the key */
    int64_t  at;           /* when debt was last drained */
    int64_t  debt;         /* failures times window_ms, drained at `max` per ms */
    int64_t  locked_until; /* refused before this time */
    uint32_t inflight;     /* admitted attempts not yet ended */
    bool     used;
};

struct ratelimit {
    pthread_mutex_t         lock;
    struct ratelimit_policy p;
    unsigned char           secret[32]; /* so no one can aim keys at one set */
    size_t                  nsets;
    struct slot            *slots; /* nsets * WAYS */
};

struct ratelimit *
ratelimit_new(size_t capacity, const struct ratelimit_policy *p)
{
    struct ratelimit *rl = calloc(1, sizeof *rl);

    if (rl == NULL)
        return NULL;
    rl->p = *p;
    if (rl->p.window_ms < 1)
        rl->p.window_ms = 1;
    rl->nsets = capacity / WAYS > 0 ? capacity / WAYS : 1;
    rl->slots = calloc(rl->nsets * WAYS, sizeof *rl->slots);
    if (rl->slots == NULL) {
        free(rl);
        return NULL;
    }
    rnd_bytes(rl->secret, sizeof rl->secret);
    pthread_mutex_init(&rl->lock, NULL);
    return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl->slots);
    free(rl);
}

static void
tag_of(const struct ratelimit *rl, struct str key, uint64_t tag[2])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int  n = 0;

    HMAC(EVP_sha256(), rl->secret, sizeof rl->secret,
         (const unsigned char *)(key.len > 0 ? key.p : ""), key.len, md, &n);
    memcpy(tag, md, 2 * sizeof(uint64_t));
}

/* Forgive what the time since the last update has drained. */
static void
drain(const struct ratelimit *rl, struct slot *s, int64_t now)
{
    int64_t elapsed = now - s->at;

    if (elapsed > 0) {
        /* Compare before multiplying: elapsed * max could overflow. */
        s->debt = elapsed >= s->debt / rl->p.max + 1 ? 0 : s->debt - elapsed * rl->p.max;
        s->at = now;
    }
}

/* Whether a is worth less than b: idle entries go first, then unlocked ones
 * with the fewest failures, then locks that end soonest; entries in flight are
 * kept while others can go. */
static bool
worth_less(const struct slot *a, const struct slot *b, int64_t now)
{
    bool la = a->locked_until > now, lb = b->locked_until > now;

    if (!a->used || !b->used)
        return !a->used;
    if (la != lb)
        return !la;
    if ((a->inflight > 0) != (b->inflight > 0))
        return a->inflight == 0;
    return la ? a->locked_until < b->locked_until : a->debt < b->debt;
}

/* The key's entry, or NULL when it has none. */
static struct slot *
find(struct ratelimit *rl, const uint64_t tag[2])
{
    struct slot *set = &rl->slots[tag[0] % rl->nsets * WAYS];

    for (size_t i = 0; i < WAYS; i++)
        if (set[i].used && set[i].tag[0] == tag[0] && set[i].tag[1] == tag[1])
            return &set[i];
    return NULL;
}

/* The key's entry, made in place of the set's least valuable one if needed. */
static struct slot *
find_or_claim(struct ratelimit *rl, const uint64_t tag[2], int64_t now)
{
    struct slot *s = find(rl, tag), *set = &rl->slots[tag[0] % rl->nsets * WAYS];

    if (s != NULL) {
        drain(rl, s, now);
        return s;
    }
    s = &set[0];
    for (size_t i = 0; i < WAYS; i++) {
        if (set[i].used)
            drain(rl, &set[i], now);
        if (worth_less(&set[i], s, now))
            s = &set[i];
    }
    *s = (struct slot){ .tag = { tag[0], tag[1] }, .at = now, .used = true };
    return s;
}

/* Failures counted, a partly forgiven one as a whole. */
static int64_t
failures(const struct ratelimit *rl, const struct slot *s)
{
    return (s->debt + rl->p.window_ms - 1) / rl->p.window_ms;
}

int64_t
ratelimit_begin(struct ratelimit *rl, struct str key, int64_t now_ms)
{
    uint64_t     tag[2];
    struct slot *s;
    int64_t      wait = 0;

    if (rl->p.max <= 0)
        return 0;
    tag_of(rl, key, tag);
    pthread_mutex_lock(&rl->lock);
    s = find_or_claim(rl, tag, now_ms);
    if (s->locked_until > now_ms)
        wait = s->locked_until - now_ms;
    else if (failures(rl, s) + s->inflight >= rl->p.max)
        wait = INFLIGHT_WAIT_MS;
    else
        s->inflight++;
    pthread_mutex_unlock(&rl->lock);
    return wait;
}

static bool
count_failure(struct ratelimit *rl, struct slot *s, int64_t now)
{
    s->debt += rl->p.window_ms;
    if (s->debt <= (rl->p.max - 1) * rl->p.window_ms)
        return false;
    s->locked_until = now + rl->p.lockout_ms;
    s->debt = 0; /* the lock-out takes the place of the bucket */
    return true;
}

bool
ratelimit_end(struct ratelimit *rl, struct str key, enum ratelimit_outcome o, int64_t now_ms)
{
    uint64_t     tag[2];
    struct slot *s;
    bool         locked = false;

    if (rl->p.max <= 0)
        return false;
    tag_of(rl, key, tag);
    pthread_mutex_lock(&rl->lock);
    /* The entry may have been evicted meanwhile: a failure still counts. */
    s = o == RL_FAILED ? find_or_claim(rl, tag, now_ms) : find(rl, tag);
    if (s != NULL && s->inflight > 0)
        s->inflight--;
    if (s != NULL && o == RL_FAILED)
        locked = count_failure(rl, s, now_ms);
    else if (s != NULL && o == RL_SUCCEEDED)
        s->debt = 0;
    pthread_mutex_unlock(&rl->lock);
    return locked;
}
