/* password.h - Argon2id password hashes (libargon2), PHC string format.
 * Parameters: OWASP's minimum for Argon2id (m = 19 MiB, t = 2, p = 1). */
#ifndef KW_PASSWORD_H
#define KW_PASSWORD_H

#include "../core/base.h"

#define PASSWORD_HASH_MAX 128

/* Hash `pw` with a fresh 16-byte salt into out (NUL-terminated PHC string). */
int  password_hash(struct str pw, char out[PASSWORD_HASH_MAX]);
/* Constant-time check. With hash == NULL (unknown account) it hashes against a
 * fixed dummy so unknown and known accounts take the same time, and returns false. */
bool password_verify(const char *hash, struct str pw);

#endif
