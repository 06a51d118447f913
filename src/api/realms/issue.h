/* issue.h - POST /issue (tokens from realms) and POST /authn (token claims). */
#ifndef KW_ISSUE_H
#define KW_ISSUE_H

#include "../req.h"

void issue_serve(struct req *r);
/* POST /oauth2/access_token (oauth2.c). */
void oauth2_serve(struct req *r);
void authn_serve(struct req *r);

/* What a realm proved: the identity attributes for the token's `data` (always
 * with "realm") and the subject. */
struct identity {
    struct val data;
    struct str sub;
    /* Set by realms that derive a token from another (Token): the original's
     * realm, expiry and restrictions, which the new token may only narrow. */
    struct str        realm;
    int64_t           not_after_ms;
    const struct val *restrictions;
    /* The original's quota (0: unlimited) and its jti: the copy's uses are
     * taken from what the original has left. */
    int64_t    quota;
    struct str quota_jti;
    /* Set by realms whose identities an object of a namespace vouches for (an
     * LDAP or OIDC provider): that namespace, to which the token is confined,
     * since its administrators could point the provider anywhere. */
    struct str home;
};

/* A realm's prove() returns E_OK with `id` filled (a token is issued), an error
 * (with eb), or REALM_ANSWERED when it answered the request itself (r->status,
 * r->resp, r->location: the redirect of an OIDC login's first step). Realms are
 * listed in the table in issue.c. */
#define REALM_ANSWERED (-1)

/* Realm Vince: metadata.vinceAccount / vincePassword against an account. */
int realm_vince(struct req *r, const struct val *metadata, struct identity *id,
                struct errbuf *eb);

/* Realm LDAP: metadata.username / password (+ namespace, provider) checked by
 * binding to the directory of an ldapprovider (auth/ldap.c). Blocks the calling
 * thread for at most a few seconds per directory round trip. */
int realm_ldap(struct req *r, const struct val *metadata, struct identity *id,
               struct errbuf *eb);

/* Realm Certificate (auth/cert.c): the TLS client certificate of the
 * connection, which must be the current certificate of an app credential;
 * metadata is not used. */
int realm_certificate(struct req *r, const struct val *metadata, struct identity *id,
                      struct errbuf *eb);

/* Realm Token: metadata.token, an existing token, for a narrower copy. */
/* A token as every request judges it: its signature and times, then whether
 * its account is still enabled, the other servers' writes counted (token.c).
 * E_UNAUTH, or E_UNAVAILABLE when the store cannot tell; *out to put back
 * (principal_put) on E_OK. */
struct principal;
int token_honoured(struct str tok, struct principal **out, struct errbuf *eb);
int realm_token(struct req *r, const struct val *metadata, struct identity *id,
                struct errbuf *eb);

/* Realm OIDC (auth/oidc.c): step 1, metadata {namespace, OIDCProviderName,
 * redirectURL}, answers a 302 to the provider (REALM_ANSWERED); step 2,
 * metadata {code, state}, proves the identity in the provider's ID token. Blocks
 * the calling thread on HTTPS calls to the provider (5 s time-outs each). */
int realm_oidc(struct req *r, const struct val *metadata, struct identity *id,
               struct errbuf *eb);

#endif
