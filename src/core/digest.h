/* digest.h - SHA-256, constant-time comparison and wiping: the few
 * cryptographic primitives that code outside pki/ and auth/jwt.c needs, so
 * that it does not include OpenSSL itself. Thread-safe. */
#ifndef KW_DIGEST_H
#define KW_DIGEST_H

#include "base.h"

#define SHA256_LEN 32

/* SHA-256 of `n` bytes. */
void digest_sha256(const void *p, size_t n, unsigned char out[SHA256_LEN]);
/* SHA-256 over several parts, each prefixed by its length, so that no two
 * different lists of parts give the same input. */
void digest_sha256_parts(const struct str *parts, size_t n, unsigned char out[SHA256_LEN]);
/* SHA-256 as 64 lowercase hex characters and a NUL. */
void digest_sha256_hex(const void *p, size_t n, char out[2 * SHA256_LEN + 1]);
/* HMAC-SHA256 of `n` bytes under `key`, as 64 lowercase hex characters and a
 * NUL (webhook signatures). */
void digest_hmac_sha256_hex(struct str key, const void *p, size_t n,
                            char out[2 * SHA256_LEN + 1]);
/* True when the `n` bytes are equal; the time taken does not depend on where
 * they differ. */
bool mem_equal_ct(const void *a, const void *b, size_t n);
/* Zero `n` bytes in a way the compiler cannot drop (secrets). */
void mem_wipe(void *p, size_t n);

#endif
