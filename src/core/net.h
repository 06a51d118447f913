/* net.h - IP addresses and CIDR ranges (authorizedSubnets, restrictedNetworks). */
#ifndef KW_NET_H
#define KW_NET_H

#include "base.h"

/* Addresses are kept as 16 bytes; IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d). */
struct cidr {
    unsigned char addr[16];
    unsigned      bits; /* prefix length over the 128 bits */
};

#define IP_TEXT_MAX 46 /* INET6_ADDRSTRLEN: an address as text, with its NUL */

/* True when the 16 bytes are an IPv4-mapped address (::ffff:a.b.c.d). */
bool ip_is_v4(const unsigned char ip[16]);
/* The address as text: dotted IPv4 for a mapped one, else IPv6. */
void ip_format(const unsigned char ip[16], char out[IP_TEXT_MAX]);

/* "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). */
int  cidr_parse(struct str s, struct cidr *out);
int  ip_parse(struct str s, unsigned char out[16]);
bool cidr_contains(const struct cidr *c, const unsigned char ip[16]);

/* The CIDRs of `text`, separated by commas and/or spaces, into out[0..max);
 * *n how many (0 for an empty text). E_BADREQ for an item cidr_parse refuses,
 * E_TOOBIG past `max` items. Settings hold CIDR lists this way. */
int cidr_text_parse(struct str text, struct cidr *out, size_t max, size_t *n);

struct val;
/* E_OK when every item of the list `v` (which may be NULL: no list) is a string
 * that cidr_parse accepts; otherwise E_VALIDATION naming attribute `attr`. The
 * one check of CIDR lists (authorizedSubnets, restrictedNetworks, ...). */
int cidr_list_check(const struct val *v, const char *attr, struct errbuf *eb);

#endif
