/* digest.c - see digest.h. */
#include "digest.h"

#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rnd.h"

/* A failure here means OpenSSL cannot run SHA-256 at all: nothing sensible
 * can go on (every token and secret check depends on it). */
void
digest_sha256(const void *p, size_t n, unsigned char out[SHA256_LEN])
{
    if (EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL) != 1)
        abort();
}

void
digest_sha256_parts(const struct str *parts, size_t n, unsigned char out[SHA256_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        abort();
    for (size_t i = 0; i < n; i++) {
        uint64_t len = parts[i].len;
        if (EVP_DigestUpdate(ctx, &len, sizeof len) != 1 ||
            EVP_DigestUpdate(ctx, parts[i].p, parts[i].len) != 1)
            abort();
    }
    if (EVP_DigestFinal_ex(ctx, out, NULL) != 1)
        abort();
    EVP_MD_CTX_free(ctx);
}

void
digest_sha256_hex(const void *p, size_t n, char out[2 * SHA256_LEN + 1])
{
    unsigned char md[SHA256_LEN];

    digest_sha256(p, n, md);
    hex_encode(md, sizeof md, out);
}

void
digest_hmac_sha256_hex(struct str key, const void *p, size_t n, char out[2 * SHA256_LEN + 1])
{
    unsigned char md[SHA256_LEN];
    unsigned int  len = 0;

    /* An empty key is a valid HMAC key; OpenSSL wants a non-NULL pointer. */
    if (HMAC(EVP_sha256(), key.len > 0 ? key.p : "", (int)key.len, p, n, md, &len) == NULL ||
        len != SHA256_LEN)
        abort();
    hex_encode(md, sizeof md, out);
}

bool
mem_equal_ct(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void
mem_wipe(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}
