/* rnd.h - identifiers and randomness (OpenSSL's CSPRNG). */
#ifndef KW_RND_H
#define KW_RND_H

#include "base.h"

#define ID_LEN 24

/* Cryptographically random bytes; aborts if the CSPRNG fails. For keys, salts,
 * nonces and secrets. */
void rnd_bytes(void *p, size_t n);
/* The same, cheaper for small amounts, for identifiers that must be unique and
 * unguessable but are not secrets (object IDs, trace ids, token ids). */
void rnd_id_bytes(void *p, size_t n);
/* A new object ID: 24 lowercase hex characters plus NUL. The first 8 are the
 * creation second (so IDs sort roughly by age, keeping B-tree inserts local),
 * the rest random. */
void id_new(char out[ID_LEN + 1]);
/* True for exactly 24 lowercase hex characters. */
bool id_valid(struct str s);
/* The value of one hex digit (either case), or -1. */
int hex_digit(char c);
/* Lowercase hex of n bytes into out (2n+1 bytes with NUL). */
void hex_encode(const void *p, size_t n, char *out);
/* The value of a base64 digit (RFC 4648: the URL alphabet when `url`, else the
 * standard one), or -1. */
int b64_digit(char c, bool url);
/* base64url without padding. out must hold b64url_len(n) + 1. */
size_t b64url_len(size_t n);
void   b64url_encode(const void *p, size_t n, char *out);
/* base64 (RFC 4648 section 4) with padding. out must hold b64_len(n) + 1. */
size_t b64_len(size_t n);
void   b64_encode(const void *p, size_t n, char *out);
/* Decodes base64url (padding optional); returns decoded length or -1. out must
 * hold len*3/4 + 3 bytes. */
long b64url_decode(const char *s, size_t len, unsigned char *out);
/* The same for base64 (RFC 4648 section 4, padding optional). */
long b64_decode(const char *s, size_t len, unsigned char *out);

#endif
