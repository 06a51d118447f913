/* jwt.h - ES256 JSON Web Tokens over OpenSSL EVP (RFC 7515, 7518, 7519).
 *
 * Keys are P-256, loaded once and shared read-only across threads. The algorithm
 * is pinned: a header whose "alg" is not exactly "ES256" (none, HS256, RS256...)
 * never verifies, whatever key it names. Signatures are the raw 64-byte R||S of
 * JWS, converted to and from DER for OpenSSL.
 */
#ifndef KW_JWT_H
#define KW_JWT_H

#include "../core/buf.h"
#include "../core/val.h"

struct jwt_key;

/* New random P-256 key. */
int jwt_key_generate(struct jwt_key **out);
/* From / to an unencrypted PKCS#8 PEM private key. to_pem output is a secret. */
int  jwt_key_from_pem(const char *pem, size_t len, struct jwt_key **out);
int  jwt_key_to_pem(const struct jwt_key *k, struct buf *out);
void jwt_key_free(struct jwt_key *k);
/* Key id: RFC 7638 JWK thumbprint (base64url SHA-256), NUL-terminated, owned by k. */
const char *jwt_key_kid(const struct jwt_key *k);

/* Sign `claims` (a map) as a compact JWS with header
 * {"alg":"ES256","typ":"JWT","kid":"<kid>"}. Appends the token to `out`. */
int jwt_sign(const struct jwt_key *k, const struct val *claims, struct buf *out);

/* Verify `token` against the key whose kid its header names (among keys[0..n)),
 * then check "exp" (required, > now), "nbf" and "iat" (if present, <= now + 60 s
 * of skew) and "iss" (must equal `issuer` when issuer != NULL). On success the
 * payload map is decoded into `claims` (arena a). Every failure is E_UNAUTH with a
 * reason in eb meant for the log, not for the client. */
int jwt_verify(const struct jwt_key *const *keys, size_t n, struct str token, int64_t now_ms,
               const char *issuer, struct arena *a, struct val *claims, struct errbuf *eb);

/* {"keys":[{"kty":"EC","crv":"P-256","x":..,"y":..,"kid":..,"alg":"ES256","use":"sig"}]} */
int jwt_jwks(const struct jwt_key *const *keys, size_t n, struct arena *a, struct val *out);

struct evp_pkey_st; /* OpenSSL's EVP_PKEY, not included here */

/* Check a JWS signature made with someone else's public key (an OpenID
 * provider's ID tokens): `input` is the signing input (header.payload), `sig` the
 * decoded third part. "ES256" takes a P-256 key and the 64-byte R||S; "RS256" an
 * RSA key of 2048 to 8192 bits and a PKCS#1 v1.5 signature; any other alg never
 * verifies. True only when the signature holds. Thread-safe: `pub` is only read. */
bool jwt_sig_verify(const char *alg, struct evp_pkey_st *pub, struct str input,
                    const unsigned char *sig, size_t sig_len);

#endif
