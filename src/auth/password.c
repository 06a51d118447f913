/* password.c - Argon2id hashing and verification (libargon2, PHC strings). */
#include "password.h"

#include <pthread.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#define T_COST 2
#define M_COST 19456 /* KiB */
#define PARALLEL 1
#define SALT_LEN 16
#define HASH_LEN 32
/* Longer inputs are refused before hashing: Argon2 would accept them, but a
 * megabyte "password" is a cheap way to make the server hash megabytes. */
#define PW_MAX 1024

/* Verifying against this for unknown accounts makes them cost what a known
 * account costs, so response time does not tell which user names exist. */
static char           dummy_hash[PASSWORD_HASH_MAX];
static bool           dummy_ok;
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

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
    rc = argon2id_hash_encoded(T_COST, M_COST, PARALLEL, pw.len ? pw.p : "", pw.len, salt,
                               sizeof(salt), HASH_LEN, out, PASSWORD_HASH_MAX);
    OPENSSL_cleanse(salt, sizeof(salt));
    if (rc != ARGON2_OK) {
        OPENSSL_cleanse(out, PASSWORD_HASH_MAX);
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
        password_hash((struct str){(const char *)secret, sizeof(secret)}, dummy_hash) == E_OK;
    OPENSSL_cleanse(secret, sizeof(secret));
}

static bool
verify_dummy(struct str pw)
{
    unsigned char out[HASH_LEN];
    unsigned char salt[SALT_LEN] = {0};

    pthread_once(&dummy_once, dummy_init);
    if (dummy_ok) {
        (void)argon2id_verify(dummy_hash, pw.len ? pw.p : "", pw.len);
        return false;
    }
    /* No dummy (the CSPRNG failed at start): spend the same work another way. */
    (void)argon2id_hash_raw(T_COST, M_COST, PARALLEL, pw.len ? pw.p : "", pw.len, salt,
                            sizeof(salt), out, sizeof(out));
    OPENSSL_cleanse(out, sizeof(out));
    return false;
}

bool
password_verify(const char *hash, struct str pw)
{
    if (pw.len > PW_MAX)
        return false;
    if (hash == NULL)
        return verify_dummy(pw);
    /* argon2id_verify recomputes with the parameters in the string and compares in
     * constant time; it wipes its own working memory. */
    return argon2id_verify(hash, pw.len ? pw.p : "", pw.len) == ARGON2_OK;
}
