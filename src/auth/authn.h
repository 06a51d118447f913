/* authn.h - who is calling: bearer tokens verified once and cached by hash. */
#ifndef KW_AUTHN_H
#define KW_AUTHN_H

#include "../core/arena.h"
#include "../core/base.h"
#include "../core/net.h"
#include "jwt.h"

/* A verified token. Shared by every request that presents the same token;
 * reference-counted; immutable after creation. */
struct principal {
    struct str    token_hash; /* hex SHA-256 of the token */
    struct str    jti, sub, realm;
    struct str   *claims; /* "@auth:k=v", sorted (for bsearch) */
    size_t        nclaims;
    int64_t       exp_ms;
    int64_t       quota;         /* 0: unlimited */
    struct str    restricted_ns; /* empty: none */
    struct str   *restricted_perms;
    size_t        nrestricted_perms;
    struct cidr  *restricted_nets; /* NULL: any network */
    size_t        nrestricted_nets;
    struct val    payload; /* the JWT claims, for /authn */
    struct arena *a;
    int           refs; /* atomic */
};

/* Load the signing keys from the store (creating the first on first start, or
 * taking over the single key of an older version). */
int  authn_init(const unsigned char master_key[32], struct errbuf *eb);
void authn_shutdown(void);
/* Once a second from the main thread: pick up keys another server wrote, and
 * rotate when signing_key_rotation says so. Logs its own errors. */
int authn_tick(int64_t now_ms);
/* The principal of an `Authorization: Bearer <token>` header value into *who
 * (a reference: principal_put it), spending one use of its quota (E_UNAUTH,
 * E_QUOTA, E_UNAVAILABLE). `trace` names the request in the log. */
int authn_bearer(struct str authorization, const char *trace, struct principal **who,
                 struct errbuf *eb);
/* The principal of a valid bearer token, judged from memory alone (the keys
 * as last read, no quota spent, no store): NULL otherwise. For what a
 * request's head decides (its body limit); the request itself is judged with
 * authn_bearer. A reference: principal_put it. */
struct principal *authn_peek(struct str authorization);
/* Verify a token string into a new principal reference (E_UNAUTH). */
int  authn_token(struct str token, struct principal **out, struct errbuf *eb);
void principal_put(struct principal *p);
/* The value of the principal's claim "@auth:<key>=..." (the first; empty: none). */
struct str principal_claim(const struct principal *p, const char *key);
/* True when the principal holds claim `c` exactly. */
bool principal_has(const struct principal *p, struct str c);
/* Sign a token with the newest key published long enough (authn.c). */
int authn_sign(const struct val *claims, struct buf *out);
/* The public keys that still verify, for /.well-known/jwks.json. */
int authn_jwks(struct arena *a, struct val *out);

#endif
