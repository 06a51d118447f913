/* jws.h - reading a JWS made by someone else (an identity provider's ID token)
 * and the JWK that verifies it. Our own tokens are jwt.c's. */
#ifndef KW_JWS_H
#define KW_JWS_H

#include <openssl/evp.h>

#include "../core/val.h"

/* A compact JWS cut in its three parts (not decoded). */
struct jws {
    struct str input; /* header.payload: what the signature covers */
    struct str part[3];
};

/* Split "a.b.c"; false unless exactly three non-empty parts. */
bool jws_split(struct str t, struct jws *j);
/* Strict base64url (no padding) of a part into the arena: the decoded length, or
 * -1. */
long jws_b64(struct arena *a, struct str s, unsigned char **out);
/* The protected header: `alg` pinned to "RS256" or "ES256" (anything else,
 * "none" and HMAC included, is E_UNAUTH), `crit` refused, `kid` (STR_NULL when
 * absent). Reasons in `why` are for the log. */
int jws_header(struct arena *a, struct str part, const char **alg, struct str *kid,
               struct errbuf *why);
/* True when JWK `k` may verify `alg` signatures and has id `kid` (any id when
 * kid.p is NULL). */
bool jwk_usable(const struct val *k, const char *alg, struct str kid);
/* The public key of JWK `k` for `alg` (RSA up to 8192 bits, or EC P-256; the
 * point is checked to be on the curve), or NULL. Free with EVP_PKEY_free. */
EVP_PKEY *jwk_public_key(struct arena *a, const struct val *k, const char *alg);

#endif
