/* accounts.h - tokens of disabled or deleted Vince accounts are refused. */
#ifndef KW_ACCOUNTS_H
#define KW_ACCOUNTS_H

#include "authn.h"

/* E_OK unless `p` is a token of realm Vince whose account is disabled or gone
 * (E_UNAUTH), or the store cannot say (E_UNAVAILABLE). Thread-safe. */
int accounts_check(const struct principal *p, struct errbuf *eb);
/* Follow the store's committed changes: once, with authz_start(). */
void accounts_start(void);
void accounts_shutdown(void);

#endif
