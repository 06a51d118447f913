/* x509ext.h - the X.509 extensions issuance writes, built from OpenSSL's
 * structures (GENERAL_NAMES, NAME_CONSTRAINTS, ...), never from
 * configuration strings: their values come from users, and a comma in a DNS
 * name must stay a comma. Internal to pki/ (leaf.c, signer.c).
 *
 * Each adds one extension to `x`; E_VALIDATION (naming the attribute) for a
 * value that cannot be encoded, E_INTERNAL otherwise. Thread-safe.
 */
#ifndef KW_X509EXT_H
#define KW_X509EXT_H

#include <openssl/x509.h>

#include "issue.h"

/* subjectAltName with the DNS names, IP addresses, URIs and emails of `n`
 * (left out when there are none); critical when the subject is empty (RFC
 * 5280 4.2.1.6). */
int pki_ext_san(X509 *x, const struct pki_names *n, struct errbuf *eb);
/* keyUsage, critical, from RFC 5280 names (left out when n is 0). */
int pki_ext_key_usage(X509 *x, const char *const *names, size_t n, struct errbuf *eb);
/* extendedKeyUsage from names or dotted OIDs (left out when n is 0). */
int pki_ext_eku(X509 *x, const char *const *names, size_t n, struct errbuf *eb);
/* cRLDistributionPoints with one URI; authorityInfoAccess with an OCSP and a
 * caIssuers URI. NULL URLs are left out (AIA entirely when both are). */
int pki_ext_crl_dp(X509 *x, const char *url, struct errbuf *eb);
int pki_ext_aia(X509 *x, const char *ocsp_url, const char *issuers_url, struct errbuf *eb);
/* nameConstraints, critical: permitted and excluded dNSName subtrees,
 * permitted iPAddress subtrees from CIDRs ("10.0.0.0/8", "2001:db8::/32");
 * left out when all lists are empty. */
int pki_ext_name_constraints(X509 *x, const struct pki_ca_req *p, struct errbuf *eb);

#endif
