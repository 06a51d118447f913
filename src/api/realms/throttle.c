/* throttle.c - see throttle.h. */
#include "throttle.h"

#include "../../core/config.h"
#include "../../core/log.h"
#include "../../core/net.h"
#include "../../core/ratelimit.h"
#include "../../core/timeutil.h"

/* Keys each table tracks (48 bytes each): a flood of new names or addresses
 * evicts idle entries first and never grows memory. */
#define TABLE_KEYS 32768

static struct ratelimit *accounts, *addresses;

int
throttle_init(void)
{
    struct ratelimit_policy acct = { cfg.login_failures_max, cfg.login_failure_window,
                                     cfg.login_lockout };
    struct ratelimit_policy addr = { cfg.login_failures_per_address_max,
                                     cfg.login_failure_window, cfg.login_lockout };

    accounts = ratelimit_new(TABLE_KEYS, &acct);
    addresses = ratelimit_new(TABLE_KEYS, &addr);
    if (accounts == NULL || addresses == NULL) {
        throttle_fini();
        return E_INTERNAL;
    }
    return E_OK;
}

void
throttle_fini(void)
{
    ratelimit_free(accounts);
    ratelimit_free(addresses);
    accounts = addresses = NULL;
}

/* IPv4 addresses as they are; IPv6 by their /64, which one host usually holds
 * whole (counting single IPv6 addresses would be no limit at all). */
static struct str
address_key(struct req *r)
{
    unsigned char *ip = arena_alloc(r->a, 16);

    if (ip_parse(r->client_ip, ip) != E_OK)
        return r->client_ip;
    if (!ip_is_v4(ip))
        memset(ip + 8, 0, 8);
    return (struct str){ (const char *)ip, 16 };
}

int
throttle_refuse(struct req *r, int64_t wait_ms, const char *why, struct errbuf *eb)
{
    int64_t s = (wait_ms + 999) / 1000;

    api_header(r, "Retry-After", arena_printf(r->a, "%lld", (long long)(s > 0 ? s : 1)));
    return errbuf_set(eb, E_RATE, "%s", why);
}

int
throttle_begin(struct req *r, struct str account, struct throttle *t, struct errbuf *eb)
{
    int64_t now = time_mono_ms(), wait = 0;

    *t = (struct throttle){ .account = account, .address = address_key(r) };
    if (accounts == NULL)
        return E_OK;
    if (account.len > 0)
        wait = ratelimit_begin(accounts, account, now);
    if (wait == 0 && (wait = ratelimit_begin(addresses, t->address, now)) != 0 &&
        account.len > 0)
        ratelimit_end(accounts, account, RL_NEUTRAL, now);
    if (wait > 0)
        return throttle_refuse(r, wait, "Too many failed attempts: try again later", eb);
    t->admitted = true;
    return E_OK;
}

int
throttle_entry(struct req *r, struct throttle *t, struct str entry, struct errbuf *eb)
{
    int64_t now = time_mono_ms(), wait;

    if (!t->admitted || accounts == NULL || entry.len == 0)
        return E_OK;
    if ((wait = ratelimit_begin(accounts, entry, now)) > 0) {
        if (t->account.len > 0)
            ratelimit_end(accounts, t->account, RL_NEUTRAL, now);
        ratelimit_end(addresses, t->address, RL_NEUTRAL, now);
        t->admitted = false;
        return throttle_refuse(r, wait, "Too many failed attempts: try again later", eb);
    }
    t->entry = entry;
    return E_OK;
}

void
throttle_end(struct req *r, const struct throttle *t, int rc)
{
    enum ratelimit_outcome o = rc == E_OK       ? RL_SUCCEEDED
                               : rc == E_UNAUTH ? RL_FAILED
                                                : RL_NEUTRAL;
    int64_t                now = time_mono_ms();

    if (!t->admitted || accounts == NULL)
        return;
    /* The account is named in this trace's audit entry, not here. */
    bool locked = t->account.len > 0 && ratelimit_end(accounts, t->account, o, now);
    if (t->entry.len > 0 && ratelimit_end(accounts, t->entry, o, now))
        locked = true;
    if (locked)
        log_warn("trace=%s login: too many failures, account locked for %llds", r->trace,
                 (long long)(cfg.login_lockout / 1000));
    /* A success forgives the account, not the address: one good login must not
     * clear the failures an address made on other accounts. */
    if (ratelimit_end(addresses, t->address, o == RL_FAILED ? RL_FAILED : RL_NEUTRAL, now))
        log_warn("trace=%s login: too many failures, address %.*s locked for %llds", r->trace,
                 STR_FMT(r->client_ip), (long long)(cfg.login_lockout / 1000));
}
