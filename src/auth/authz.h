/* authz.h - API authorizations evaluated for a request (API.md section 5). */
#ifndef KW_AUTHZ_H
#define KW_AUTHZ_H

#include "../model/spec.h"
#include "authn.h"

/* Who asks, where and from where: what evaluation needs of a request. */
struct authz_query {
    struct arena           *a;
    const struct principal *who;
    struct str              ns, client_ip;
    /* Not NULL: judged for every address of this network instead of
     * client_ip (what a caller may hand on to be used from there; ::/0:
     * from anywhere). Only policies and token restrictions whose networks
     * hold all of it count. */
    const struct cidr *from;
};
/* E_OK when the API authorizations in q->ns and above grant `verb` on `s` to
 * q->who (from q->client_ip), within the token's restrictions; E_FORBIDDEN
 * otherwise; E_UNAUTH for a token whose account is disabled or gone
 * (accounts.h). Thread-safe. */
int authz_check(const struct authz_query *q, const struct spec *s, unsigned verb,
                struct errbuf *eb);
/* Rebuild everything from the store on next use: after a committed delete of a
 * namespace (its cascade deletes policies nobody noted one by one). */
void authz_invalidate(void);

/* Follow the store's committed changes (store_observe): call once at start-up,
 * after the store is open and before the first write. */
void authz_start(void);
/* Changes whenever authz_invalidate() is called: what was derived from policies
 * or namespaces under an older generation may be stale. */
uint64_t authz_generation(void);
/* Parse one authorizedIdentities entry; E_VALIDATION if it is neither a known
 * role ("@auth:role=namespace.viewer") nor "identity,verb,verb...". */
int  authz_check_identity(struct str entry, struct errbuf *eb);
void authz_shutdown(void);

#endif
