/* password.c - Argon2id hashing and verification (libargon2, PHC strings). */
#include "password.h"

#include <pthread.h>
#include <time.h>

#include <argon2.h>
#include <openssl/rand.h>

#include "digest.h"

#define T_COST   2
#define M_COST   19456 /* KiB */
#define PARALLEL 1
#define SALT_LEN 16
#define HASH_LEN 32
/* Longer inputs are refused before hashing: Argon2 would accept them, but a
 * megabyte "password" is a cheap way to make the server hash megabytes. */
#define PW_MAX 1024

/* A login waits this long for a hashing slot before it is told to come back:
 * a few hashes' time, so a short burst is absorbed but a flood is not queued. */
#define LOGIN_WAIT_MS 250

/* Hashing slots: a counting semaphore on a monotonic clock (sem_timedwait
 * would follow the wall clock). Each hash holds 19 MiB and a core. */
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  slot_freed = PTHREAD_COND_INITIALIZER;
static int64_t         slots_max = 4, slots_busy;

/* Verifying against this for unknown accounts makes them cost what a known
 * account costs, so response time does not tell which user names exist. */
static char           dummy_hash[PASSWORD_HASH_MAX];
static bool           dummy_ok;
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

void
password_set_slots(int64_t n)
{
    pthread_mutex_lock(&slot_lock);
    slots_max = n > 0 ? n : 1;
    pthread_mutex_unlock(&slot_lock);
    pthread_cond_broadcast(&slot_freed);
}

static struct timespec
deadline(int64_t wait_ms)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += (time_t)(wait_ms / 1000);
    t.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* Take a hashing slot, waiting at most wait_ms (< 0: as long as it takes). */
static bool
slot_take(int64_t wait_ms)
{
    struct timespec until = deadline(wait_ms < 0 ? 0 : wait_ms);
    bool            ok = true;

    pthread_mutex_lock(&slot_lock);
    while (ok && slots_busy >= slots_max)
        ok = (wait_ms < 0 ? pthread_cond_wait(&slot_freed, &slot_lock)
                          : pthread_cond_clockwait(&slot_freed, &slot_lock, CLOCK_MONOTONIC,
                                                   &until)) == 0;
    if (ok)
        slots_busy++;
    pthread_mutex_unlock(&slot_lock);
    return ok;
}

static void
slot_give(void)
{
    pthread_mutex_lock(&slot_lock);
    slots_busy--;
    pthread_mutex_unlock(&slot_lock);
    pthread_cond_signal(&slot_freed);
}

static int
hash_encoded(struct str pw, const unsigned char *salt, char out[PASSWORD_HASH_MAX])
{
    int rc;

    slot_take(-1);
    rc = argon2id_hash_encoded(T_COST, M_COST, PARALLEL, pw.len ? pw.p : "", pw.len, salt,
                               SALT_LEN, HASH_LEN, out, PASSWORD_HASH_MAX);
    slot_give();
    return rc;
}

int
password_hash(struct str pw, char out[PASSWORD_HASH_MAX])
{
    unsigned char salt[SALT_LEN];
    int           rc;

    out[0] = '\0';
    if (pw.len > PW_MAX)
        return E_VALIDATION;
    if (argon2_encodedlen(T_COST, M_COST, PARALLEL, SALT_LEN, HASH_LEN, Argon2_id) >
            PASSWORD_HASH_MAX ||
        RAND_bytes(salt, sizeof(salt)) != 1)
        return E_INTERNAL;
    rc = hash_encoded(pw, salt, out);
    mem_wipe(salt, sizeof(salt));
    if (rc != ARGON2_OK) {
        mem_wipe(out, PASSWORD_HASH_MAX);
        out[0] = '\0';
        return E_INTERNAL;
    }
    return E_OK;
}

static void
dummy_init(void)
{
    unsigned char secret[32];

    if (RAND_bytes(secret, sizeof(secret)) != 1)
        return;
    dummy_ok =
        password_hash((struct str){ (const char *)secret, sizeof(secret) }, dummy_hash) == E_OK;
    mem_wipe(secret, sizeof(secret));
}

static bool
verify_dummy(struct str pw)
{
    unsigned char out[HASH_LEN];
    unsigned char salt[SALT_LEN] = { 0 };

    if (dummy_ok) {
        (void)argon2id_verify(dummy_hash, pw.len ? pw.p : "", pw.len);
        return false;
    }
    /* No dummy (the CSPRNG failed at start): spend the same work another way. */
    (void)argon2id_hash_raw(T_COST, M_COST, PARALLEL, pw.len ? pw.p : "", pw.len, salt,
                            sizeof(salt), out, sizeof(out));
    mem_wipe(out, sizeof(out));
    return false;
}

/* The dummy is made before a slot is taken: making it takes one. */
static int
check(const char *hash, struct str pw, int64_t wait_ms, bool *ok)
{
    *ok = false;
    if (pw.len > PW_MAX)
        return E_OK;
    if (hash == NULL)
        pthread_once(&dummy_once, dummy_init);
    if (!slot_take(wait_ms))
        return E_RATE;
    /* argon2id_verify recomputes with the parameters in the string and compares in
     * constant time; it wipes its own working memory. */
    *ok = hash == NULL ? verify_dummy(pw)
                       : argon2id_verify(hash, pw.len ? pw.p : "", pw.len) == ARGON2_OK;
    slot_give();
    return E_OK;
}

int
password_check(const char *hash, struct str pw, bool *ok)
{
    return check(hash, pw, LOGIN_WAIT_MS, ok);
}

bool
password_verify(const char *hash, struct str pw)
{
    bool ok;

    check(hash, pw, -1, &ok);
    return ok;
}
