/* netcheck.h - where a webhook may point: its URL's shape, and the addresses
 * the setting webhook_allowed_networks lets deliveries connect to (API.md 7.2).
 * Both are pure functions of their input and the settings: thread-safe. */
#ifndef KW_NETCHECK_H
#define KW_NETCHECK_H

#include "../core/base.h"

#define WEBHOOK_URL_MAX 2048

/* E_OK when `url` is https://HOST[:PORT][/PATH][?QUERY]: scheme https (any
 * case), a host (a DNS name, an IPv4 address, or an IPv6 address in
 * brackets), a port from 1 to 65535, no user name or password, no fragment,
 * printable ASCII only. A host that is an IP address must also be allowed
 * (webhook_address_allowed); a host name is checked at each delivery, on the
 * address it resolves to. E_VALIDATION naming `attr` otherwise. */
int webhook_url_check(struct str url, const char *attr, struct errbuf *eb);

/* For a URL webhook_url_check took: E_OK when its host is an address, or a
 * name that resolves now (getaddrinfo: it may wait on DNS); E_VALIDATION
 * naming `attr` otherwise. Deliveries judge the addresses it resolves to
 * each time. */
int webhook_url_resolves(struct str url, const char *attr, struct errbuf *eb);
/* Whether a URL webhook_url_check took names its host (webhook_url_resolves
 * would wait on DNS), rather than giving its address. */
bool webhook_url_names_host(struct str url);

/* True when deliveries may connect to `ip` (16 bytes, IPv4 as IPv4-mapped
 * IPv6): inside one of the CIDRs of webhook_allowed_networks, or, when that
 * setting is empty, outside link-local 169.254.0.0/16 and fe80::/10. */
bool webhook_address_allowed(const unsigned char ip[16]);

#endif
