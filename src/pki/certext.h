/* certext.h - the X.509 extensions pki/ writes, as DER (der.h), from the
 * values given and never through OpenSSL's configuration strings: values
 * come from users, and a comma in a DNS name must stay in that name. Each
 * function writes one whole Extension (extnID, critical when it is,
 * extnValue) with `d`, or nothing when it has nothing to say (no names, no
 * URL). Internal to pki/ (leaf.c, cacert.c).
 *
 * E_VALIDATION naming the attribute ("keyUsages", "csr.ipAddresses",
 * "permittedIPRanges"...) for a value that cannot be encoded; otherwise
 * errors are d->err's. Thread-safe.
 */
#ifndef KW_CERTEXT_H
#define KW_CERTEXT_H

#include "der.h"
#include "issue.h"

/* basicConstraints, critical: cA, and pathLenConstraint when path_len >= 0. */
void pki_ext_basic_constraints(struct der *d, bool ca, int path_len);
/* keyUsage, critical, from RFC 5280 names (digitalSignature, ...). */
int pki_ext_key_usage(struct der *d, const char *const *names, size_t n, struct errbuf *eb);
/* extendedKeyUsage: serverAuth, clientAuth, codeSigning, emailProtection,
 * timeStamping or dotted OIDs; never OCSP signing or anyExtendedKeyUsage
 * (pki_eku_allowed). */
int  pki_ext_eku(struct der *d, const char *const *names, size_t n, struct errbuf *eb);
bool pki_eku_allowed(const char *name);
/* subjectKeyIdentifier and authorityKeyIdentifier (keyIdentifier only). */
void pki_ext_ski(struct der *d, const unsigned char *id, size_t n);
void pki_ext_aki(struct der *d, const unsigned char *id, size_t n);
/* subjectAltName: the DNS names, IP addresses (text), URIs and emails of n;
 * critical when the subject is empty (RFC 5280 4.2.1.6). */
int pki_ext_san(struct der *d, const struct pki_names *n, bool critical, struct errbuf *eb);
/* cRLDistributionPoints with one URI; authorityInfoAccess with the OCSP
 * and caIssuers URIs that are not NULL. */
int pki_ext_crl_dp(struct der *d, const char *url, struct errbuf *eb);
int pki_ext_aia(struct der *d, const char *ocsp_url, const char *issuers_url,
                struct errbuf *eb);
/* nameConstraints, critical: p's permitted and excluded dNSName subtrees
 * and permitted iPAddress subtrees (CIDRs: "10.0.0.0/8", "2001:db8::/32"). */
int pki_ext_name_constraints(struct der *d, const struct pki_ca_req *p, struct errbuf *eb);

#endif
