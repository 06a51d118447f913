/* throttle.h - the brake on password guessing at /issue and
 * /oauth2/access_token: failed logins are counted per account and per client
 * address (core/ratelimit.c) with the login_* settings; a locked account or
 * address is answered 429 with Retry-After, without checking the password, so
 * that a right guess during a lock-out tells nothing. */
#ifndef KW_THROTTLE_H
#define KW_THROTTLE_H

#include "../req.h"

/* One login attempt admitted by throttle_begin. */
struct throttle {
    struct str account, entry, address; /* keys (request arena); the first two may be empty */
    bool       admitted;
};

/* Make the tables from cfg (once, at start-up). E_INTERNAL when out of memory.
 * Until then, and after throttle_fini, nothing is limited. */
int  throttle_init(void);
void throttle_fini(void);
/* Admit an attempt for `account` (a key naming the realm and the account; empty:
 * the address only) from r->client_ip. E_OK: call throttle_end once with the
 * verdict. E_RATE: refused, with eb filled and Retry-After set on r. */
int throttle_begin(struct req *r, struct str account, struct throttle *t, struct errbuf *eb);
/* A second account key for an admitted attempt, for a realm that learns from
 * its backend whose attempt it is (LDAP: the entry a name finds): failures
 * count against both, a lock of either refuses. E_RATE, the attempt ended,
 * when `entry` is locked. */
int throttle_entry(struct req *r, struct throttle *t, struct str entry, struct errbuf *eb);
/* The realm's verdict: E_OK a success (the account's failures are forgiven),
 * E_UNAUTH a failure, anything else (a backend down, busy) counts nothing. */
void throttle_end(struct req *r, const struct throttle *t, int rc);
/* Answer "come back in wait_ms": E_RATE with Retry-After (whole seconds, at
 * least 1) set on r and `why` in eb. */
int throttle_refuse(struct req *r, int64_t wait_ms, const char *why, struct errbuf *eb);

#endif
