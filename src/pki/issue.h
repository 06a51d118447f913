/* issue.h - what issuance needs of X.509, in one place: key types and key
 * generation, reading a certificate signing request (PKCS#10), and building
 * the certificates a console CA signs (leaves and intermediate CAs).
 *
 * No store, no HTTP, no policy: the callers (issuance/) decide what may be
 * issued; these functions build exactly what they are given. Only signer.c
 * touches a CA's private key (ca.h); a generated leaf key is the caller's
 * until it answers it once. All functions are thread-safe.
 */
#ifndef KW_ISSUE_H
#define KW_ISSUE_H

#include <openssl/evp.h>

#include "../core/arena.h"
#include "../core/buf.h"
#include "ca.h"
#include "certutil.h"

/* The key types of API.md 7.4, as spelt there (pki_key_type_name). */
enum pki_key_type {
    PKI_KEY_NONE, /* not one of them (an RSA key of another size, a DSA key) */
    PKI_KEY_EC_P256,
    PKI_KEY_EC_P384,
    PKI_KEY_RSA_2048,
    PKI_KEY_RSA_3072,
    PKI_KEY_RSA_4096,
    PKI_KEY_ED25519,
};

/* "EC_P256" ... "ED25519", NULL-terminated (the enums of the specs). */
extern const char *const pki_key_type_names[];
/* The type of that name, or PKI_KEY_NONE. */
enum pki_key_type pki_key_type_parse(const char *name);
/* The name of a type ("" for PKI_KEY_NONE). */
const char *pki_key_type_name(enum pki_key_type t);
/* The type of a (public) key; PKI_KEY_NONE for any other key. */
enum pki_key_type pki_key_type_of(const EVP_PKEY *k);
/* The type of the public key of the first certificate of PEM `pem` (a CA
 * certificate to import); PKI_KEY_NONE when it is none of the types (an EC
 * key with explicit curve parameters too), or when `pem` holds no
 * certificate OpenSSL reads. *weak_sig: whether that certificate is signed
 * with MD5 or SHA-1 (pki_sig_weak). */
enum pki_key_type pki_cert_key_type(struct str pem, bool *weak_sig);
/* True when a key of type `t` may carry key usage `usage` (an RFC 5280 name,
 * digitalSignature ...): RSA signs and enciphers (RFC 3279 2.3.1), EC signs
 * and agrees on keys (RFC 5480 3; RFC 8813: never encipherment), Ed25519
 * only signs (RFC 8410 5). encipherOnly and decipherOnly say something only
 * beside keyAgreement (RFC 5280 4.2.1.3): the caller keeps them only then.
 * False for PKI_KEY_NONE and for a name it does not know. */
bool pki_key_usage_fits(enum pki_key_type t, const char *usage);
/* True when generating such a key takes long enough (RSA: 100 ms to
 * seconds) that it must not run on a request thread. */
bool pki_key_type_slow(enum pki_key_type t);
/* A new key of that type, or NULL (E_INTERNAL). Free with EVP_PKEY_free. */
EVP_PKEY *pki_key_generate(enum pki_key_type t);

/* Names of a subject and its subject alternative names, UTF-8, each NULL
 * when absent (a subject with an attribute twice is refused by the reader). */
#define PKI_SAN_MAX 100 /* entries of one SAN type */
struct pki_names {
    const char  *cn, *o, *ou, *l, *st, *c;
    const char **dns, **ip, **uri, **email; /* ip: textual (192.0.2.1, 2001:db8::1) */
    size_t       ndns, nip, nuri, nemail;
};

/* A CSR that parsed and whose self-signature verified. */
struct pki_csr {
    EVP_PKEY         *key; /* its public key: pki_csr_free */
    enum pki_key_type type;
    int               bits;  /* as EVP_PKEY_get_bits */
    struct pki_names  names; /* subject and the SANs of its extensionRequest */
};

/* Read a PEM CSR (one "CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST"
 * block, nothing else but whitespace around it, 64 KiB at most), verify its
 * signature (proof of possession) and read its names (strings in the arena;
 * subject attributes UTF-8 without NULs, SANs printable ASCII). E_VALIDATION
 * on attribute "csr" with a reason a user understands: too large, not PEM,
 * a private key, not a CSR, bad signature, more than one of a subject
 * attribute, duplicate extensions, more than PKI_SAN_MAX names of a type, a
 * SAN type other than DNS, IP, URI and email. The key may be of any type
 * (type PKI_KEY_NONE): the caller's policy decides. */
int  pki_csr_read(struct arena *a, struct str pem, struct pki_csr *out, struct errbuf *eb);
void pki_csr_free(struct pki_csr *c);

/* What a console CA signs into a leaf certificate. */
struct pki_leaf {
    const struct pki_names *names;
    const EVP_PKEY         *key; /* the subject's public key */
    int64_t                 not_before_ms, not_after_ms;
    const char *const      *key_usages; /* RFC 5280 names: digitalSignature, ... */
    size_t                  nkey_usages;
    const char *const      *ext_key_usages; /* serverAuth, clientAuth, codeSigning,
                                               emailProtection, timeStamping,
                                               OCSPSigning, or a dotted OID */
    size_t      next_key_usages;
    const char *crl_url, *ocsp_url, *issuers_url; /* NULL: left out */
};

/* Sign a leaf (RFC 5280: version 3, a random positive serial of 16 bytes,
 * SKI and AKI, basicConstraints CA:FALSE critical, keyUsage critical when
 * given, SANs (critical when the subject is empty), CRL distribution point,
 * AIA) with `ca` into *der (appended; nothing on error). `serial` gets its
 * serial as pki_serial_hex. E_VALIDATION for a value it cannot encode, on
 * "keyUsages", "extendedKeyUsages", "validity", "csr.dnsNames",
 * "csr.ipAddresses", "csr.uris", "csr.emails", "csr.country" (not two
 * letters) or another subject field ("csr.commonName": not UTF-8);
 * E_INTERNAL otherwise. Upper bounds (a CN over 64 characters) are the
 * caller's policy. */
int pki_leaf_sign(const struct ca *ca, const struct pki_leaf *p, struct buf *der,
                  char serial[PKI_SERIAL_HEX], struct errbuf *eb);

/* A new CA. */
struct pki_ca_req {
    const char       *subject; /* RFC 4514: "CN=Acme Issuing CA,O=Acme" */
    enum pki_key_type type;
    int64_t           not_before_ms, not_after_ms;
    int               path_len; /* basicConstraints pathLenConstraint; -1: none */
    /* X.509 name constraints (critical) written into it: dNSName subtrees and
     * iPAddress subtrees (CIDRs). */
    const char *const *permitted_dns, *const *excluded_dns, *const *permitted_ip;
    size_t      npermitted_dns, nexcluded_dns, npermitted_ip;
    const char *crl_url, *ocsp_url, *issuers_url; /* the parent's, or NULL */
};

/* Parse an RFC 4514 string (attributes CN, O, OU, L, ST, C, DC, STREET,
 * UID, emailAddress, serialNumber in any case, or dotted OIDs; escapes as
 * RFC 4514; spaces around separators skipped; no "#" hex values; 4096 bytes
 * and 64 attributes at most) into an X509_NAME in the certificate's order
 * (RFC 4514 writes the last RDN first). Values take OpenSSL's string types
 * and RFC 5280's upper bounds (C two letters, CN 64 characters).
 * E_VALIDATION on `attr`. */
int pki_subject_parse(const char *rfc4514, const char *attr, X509_NAME **out,
                      struct errbuf *eb);

/* Create CA `name` (ca.h naming): a new key of p->type, its certificate
 * (a random serial, CA:TRUE critical with p->path_len, keyUsage keyCertSign
 * and cRLSign critical, SKI, name constraints, CRL distribution point and
 * AIA as p says, and AKI for an intermediate), self-signed when parent is
 * NULL, else signed by parent; signatures with the signer key's digest
 * (ca.h). E_VALIDATION on "subject", "keyType" (PKI_KEY_NONE), "validity",
 * "parentID" (a parent with pathLength 0), "permittedDNSDomains",
 * "excludedDNSDomains", "permittedIPRanges"; E_INTERNAL. */
int pki_ca_create(const char *name, const struct pki_ca_req *p, const struct ca *parent,
                  struct ca **out, struct errbuf *eb);

#endif
