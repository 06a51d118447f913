/* nconstraints.h - X.509 name constraints as OpenSSL's verifier applies
 * them (check_name_constraints in crypto/x509/x509_vfy.c): read from a CA
 * certificate, and a certificate below that CA judged by them, with
 * OpenSSL's own NAME_CONSTRAINTS_check, so that what the console issues
 * `openssl verify` accepts. Thread-safe: constraints are only read.
 */
#ifndef KW_NCONSTRAINTS_H
#define KW_NCONSTRAINTS_H

#include <openssl/x509v3.h>

#include "../core/base.h"

/* The nameConstraints extension of the (first) certificate of `pem` into
 * *out: NULL when it has none; else free it with NAME_CONSTRAINTS_free.
 * E_VALIDATION when the certificate, or its extension, does not parse. */
int pki_nc_read(struct str pem, NAME_CONSTRAINTS **out);

/* Which names of a certificate break constraints. */
enum pki_nc_part {
    PKI_NC_SUBJECT,     /* its subject as a directoryName, or an email in it */
    PKI_NC_COMMON_NAME, /* its common name, taken for a DNS name */
    PKI_NC_DNS,
    PKI_NC_IP,
    PKI_NC_URI,
    PKI_NC_EMAIL,
    PKI_NC_OTHER, /* another SAN type, or too many names to judge */
};

/* What breaks them: the part, the name as text (for a SAN or the common
 * name; "" for the subject) and OpenSSL's verdict (an X509_V_ERR_ code). */
struct pki_nc_fault {
    enum pki_nc_part part;
    int              verdict;
    char             name[256];
};

/* Judge certificate `x` by constraints `nc` of a CA above it, as OpenSSL's
 * verifier does: NAME_CONSTRAINTS_check, then, for an end-entity
 * certificate (`leaf`) without a DNS SAN, NAME_CONSTRAINTS_check_CN; a
 * self-issued CA certificate is not judged (OpenSSL skips it unless it is
 * the certificate verified). True when they hold; false with *f filled. */
bool pki_nc_check(X509 *x, NAME_CONSTRAINTS *nc, bool leaf, struct pki_nc_fault *f);

/* Whether wildcard DNS name `name` ("*.D", or OpenSSL's partial "b*.D": its
 * first label holds a '*') names a host of DNS domain `domain` as a client
 * matches it (RFC 6125 6.4.3): "bad.D", one label under D, which X.509
 * constraints, comparing names as text, do not see in "*.D". A domain with
 * a leading '.' holds only names below it, none of which the wildcard
 * matches; a domain at or above D holds the wildcard as text already. */
bool pki_wildcard_names(struct str name, struct str domain);

#endif
