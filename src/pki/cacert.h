/* cacert.h - the certificate of a new CA before it is signed (pki_ca_create,
 * signer.c, signs it). Internal to pki/. It sees the CA's public key only. */
#ifndef KW_CACERT_H
#define KW_CACERT_H

#include "issue.h"

/* Version 3, a random serial, `subject`, p's validity, `pub`,
 * basicConstraints CA:TRUE critical (pathLenConstraint p->path_len when >= 0),
 * keyUsage keyCertSign and cRLSign critical, the SKI, name constraints, CRL
 * distribution point and AIA as p says. The issuer and the AKI are the
 * signer's. E_VALIDATION naming the attribute of p that cannot be encoded
 * ("validity", "permittedIPRanges"...), E_INTERNAL. */
int pki_ca_cert_new(const X509_NAME *subject, const struct pki_ca_req *p, EVP_PKEY *pub,
                    X509 **out, struct errbuf *eb);

#endif
