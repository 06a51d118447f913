/* net.h - IP addresses and CIDR ranges (authorizedSubnets, restrictedNetworks). */
#ifndef KW_NET_H
#define KW_NET_H

#include "base.h"

/* Addresses are kept as 16 bytes; IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d). */
struct cidr {
    unsigned char addr[16];
    unsigned      bits; /* prefix length over the 128 bits */
    bool          v4;   /* written as IPv4 ("10.0.0.0/8"), not as IPv6 */
};

#define IP_TEXT_MAX   46                /* INET6_ADDRSTRLEN: an address as text, with its NUL */
#define CIDR_TEXT_MAX (IP_TEXT_MAX + 4) /* and "/128" */

/* True when the 16 bytes are an IPv4-mapped address (::ffff:a.b.c.d). */
bool ip_is_v4(const unsigned char ip[16]);
/* The address as text: dotted IPv4 for a mapped one, else IPv6. */
void ip_format(const unsigned char ip[16], char out[IP_TEXT_MAX]);

/* "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). */
int  cidr_parse(struct str s, struct cidr *out);
int  ip_parse(struct str s, unsigned char out[16]);
bool cidr_contains(const struct cidr *c, const unsigned char ip[16]);

/* Address `s` as inet_ntop writes it, in the family it was written in
 * ("::ffff:10.0.0.1" stays IPv6: an X.509 iPAddress), or with `mapped_as_v4`
 * as ip_format writes it (IPv4-mapped as IPv4: where a connection went);
 * false when `s` is no address. */
bool ip_canonical(struct str s, bool mapped_as_v4, char out[IP_TEXT_MAX]);
/* As ip_parse; *v4 says whether the text is an IPv4 address (4 bytes in an
 * X.509 iPAddress) or an IPv6 one (16 bytes, "::ffff:10.0.0.1" included). */
int ip_parse_family(struct str s, unsigned char out[16], bool *v4);
/* True when address `ip` (IPv4 when v4) is of the family of range `c` and
 * lies in it: an IPv4 range holds IPv4 addresses only and an IPv6 range IPv6
 * ones only, as X.509 name constraints compare them (RFC 5280 4.2.1.10,
 * OpenSSL's nc_ip). cidr_contains, for client addresses, lets an IPv4 range
 * hold the IPv4-mapped form of its addresses. */
bool cidr_holds(const struct cidr *c, const unsigned char ip[16], bool v4);
/* True when no address bit past the prefix is set ("10.0.0.0/8", not
 * "10.0.0.1/8"). */
bool cidr_is_network(const struct cidr *c);
/* The range as text with the address bits past its prefix cleared, in its
 * family ("10.0.0.0/8", "2001:db8::/32", "::ffff:10.0.0.0/104"). */
void cidr_format(const struct cidr *c, char out[CIDR_TEXT_MAX]);

/* The CIDRs of `text`, separated by commas and/or spaces, into out[0..max);
 * *n how many (0 for an empty text). E_BADREQ for an item cidr_parse refuses,
 * E_TOOBIG past `max` items. Settings hold CIDR lists this way. */
int cidr_text_parse(struct str text, struct cidr *out, size_t max, size_t *n);
/* Link-local networks, where clouds answer their metadata services
 * (169.254.169.254), and AWS's IPv6 one: what an empty *_allowed_networks
 * setting still refuses. */
#define NET_LINK_LOCAL "169.254.0.0/16, fe80::/10, fd00:ec2::254"
/* Addresses no setting allows: "this network" (a connection to 0.0.0.0 or
 * :: reaches the local host), multicast and the broadcast address. */
#define NET_NEVER "0.0.0.0/8, 224.0.0.0/4, 255.255.255.255, ::/128, ff00::/8"

/* An allow-list setting (webhook_allowed_networks, discovery_allowed_networks),
 * read once per check or per run. */
#define NET_ALLOW_MAX 64
struct netallow {
    struct cidr nets[NET_ALLOW_MAX];
    size_t      n;
    bool        all; /* the setting is empty: every address but those in nets
                        (NET_LINK_LOCAL) */
};
/* The CIDRs of `setting` (checked when it was read: one that fails to parse
 * now allows nothing). */
void netallow_load(struct netallow *al, const char *setting);
/* True when a connection to `ip` (16 bytes; IPv4 mapped) is allowed: never
 * to NET_NEVER; an IPv4 address (IPv4-mapped included: that is where the
 * connection goes) lies only in IPv4 ranges or IPv6 ranges within
 * ::ffff:0:0/96, so that "::/0" allows IPv6 only. */
bool netallow_has(const struct netallow *al, const unsigned char ip[16]);
/* The same for a whole range `r` (a discovery's target): false when it lies
 * in no allowed network, or in a refused one (NET_NEVER, or NET_LINK_LOCAL
 * when the setting is empty); a range partly refused is allowed, its refused
 * addresses being judged one by one (netallow_has). */
bool netallow_has_range(const struct netallow *al, const struct cidr *r);

struct val;
/* E_OK when every item of the list `v` (which may be NULL: no list) is a string
 * that cidr_parse accepts; otherwise E_VALIDATION naming attribute `attr`. The
 * one check of CIDR lists (authorizedSubnets, restrictedNetworks, ...). */
int cidr_list_check(const struct val *v, const char *attr, struct errbuf *eb);

#endif
