/* token.c - the Token realm: a narrower copy of a token the caller holds. The
 * copy has the same identity; issue.c makes sure its restrictions only shrink,
 * it never outlives the original, and its quota comes out of the original's. */
#include "../../auth/accounts.h"
#include "../../auth/authn.h"
#include "../../store/store.h"
#include "../audit.h"
#include "issue.h"

int
token_honoured(struct str tok, struct principal **out, struct errbuf *eb)
{
    struct principal *p;
    int               rc;

    if (authn_token(tok, &p, eb) != E_OK)
        return errbuf_set(eb, E_UNAUTH, "Invalid or expired token");
    /* an account disabled on another server counts here too */
    if ((rc = store_follow(kw_store)) != E_OK)
        errbuf_set(eb, rc, "The store is unavailable");
    else
        rc = accounts_check(p, eb);
    if (rc != E_OK) {
        principal_put(p);
        return rc;
    }
    *out = p;
    return E_OK;
}

int
realm_token(struct req *r, const struct val *md, struct identity *id, struct errbuf *eb)
{
    const struct val *t = val_get(md, "token");
    struct principal *p;
    int               rc;

    if (t == NULL || t->t != V_STR)
        return errbuf_set(eb, E_UNAUTH, "Invalid credentials");
    if ((rc = token_honoured(t->s, &p, eb)) != E_OK)
        return rc == E_UNAUTH ? errbuf_set(eb, E_UNAUTH, "Invalid credentials") : rc;
    /* Copy what we need into the request: the principal may be evicted. The
     * verified principal has data, realm and exp (principal_build checks). */
    struct val *payload = arena_alloc(r->a, sizeof *payload);
    *payload = val_clone(r->a, &p->payload);
    id->data = *val_get(payload, "data");
    id->sub = arena_str(r->a, p->sub);
    id->realm = arena_str(r->a, p->realm);
    id->not_after_ms = p->exp_ms;
    id->restrictions = val_get(payload, "restrictions");
    id->quota = p->quota;
    id->quota_jti = arena_str(r->a, p->jti);
    audit_claimed(r, p->claims, p->nclaims); /* the audit entry says whose token it was */
    principal_put(p);
    return E_OK;
}
