/* accounts.h - tokens whose source is gone are refused: a disabled or deleted
 * Vince account, a deleted provider, service account or app credential. */
#ifndef KW_ACCOUNTS_H
#define KW_ACCOUNTS_H

#include "authn.h"

/* E_OK unless `p` is a token whose source is disabled or gone (E_UNAUTH), or
 * the store cannot say (E_UNAVAILABLE). Thread-safe. */
int accounts_check(const struct principal *p, struct errbuf *eb);
/* True when the set in memory, current, says p's source is gone or disabled;
 * false when it cannot say without the store (never waits for it): for what
 * a request's head decides (api.c, the body limit). Thread-safe. */
bool accounts_gone(const struct principal *p);
/* The ID of what vouched for p's token: its account, provider, service
 * account or app credential (empty: none). With the realm and `sub`, who a
 * principal is (an Idempotency-Key's owner): two directories' "jdoe" are two. */
struct str accounts_source(const struct principal *p);
/* Follow the store's committed changes: once, with authz_start(). */
void accounts_start(void);
void accounts_shutdown(void);

#endif
