/* password.h - Argon2id password hashes (libargon2), PHC string format.
 * Parameters: OWASP's minimum for Argon2id (m = 19 MiB, t = 2, p = 1). */
#ifndef KW_PASSWORD_H
#define KW_PASSWORD_H

#include "base.h"

#define PASSWORD_HASH_MAX 128
/* An account's password, in bytes (the API's and $KEYWARD_ADMIN_PASSWORD's). */
#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024

/* At most n Argon2id computations at once (each holds 19 MiB and a core);
 * the others wait. Default 4; set at start-up (max_concurrent_hashes). */
void password_set_slots(int64_t n);
/* Hash `pw` with a fresh 16-byte salt into out (NUL-terminated PHC string). */
int password_hash(struct str pw, char out[PASSWORD_HASH_MAX]);
/* Constant-time check. With hash == NULL (unknown account) it hashes against a
 * fixed dummy so unknown and known accounts take the same time, and returns false. */
bool password_verify(const char *hash, struct str pw);
/* The same for logins, which must not queue without bound: waits a quarter of a
 * second at most for a hashing slot, then answers E_RATE without checking.
 * Otherwise E_OK with *ok set. password_hash and password_verify wait as long
 * as it takes (accounts are written by authenticated callers). */
int password_check(const char *hash, struct str pw, bool *ok);

#endif
