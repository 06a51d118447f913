/* leaf.c - leaf certificates a console CA signs (pki_leaf_sign, issue.h). */
#include "issue.h"

#include <limits.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "x509ext.h"

/* The subject in the certificate's order; countryName as PrintableString
 * (RFC 5280 appendix A), the others UTF8String. */
static int
subject_set(X509 *x, const struct pki_names *n, struct errbuf *eb)
{
    const struct {
        int         nid, type;
        const char *v;
    } order[] = {
        { NID_countryName, V_ASN1_PRINTABLESTRING, n->c },
        { NID_stateOrProvinceName, V_ASN1_UTF8STRING, n->st },
        { NID_localityName, V_ASN1_UTF8STRING, n->l },
        { NID_organizationName, V_ASN1_UTF8STRING, n->o },
        { NID_organizationalUnitName, V_ASN1_UTF8STRING, n->ou },
        { NID_commonName, V_ASN1_UTF8STRING, n->cn },
    };
    X509_NAME *name = X509_get_subject_name(x);

    if (n->c != NULL && (strlen(n->c) != 2 || ASN1_PRINTABLE_type((const unsigned char *)n->c,
                                                                  2) != V_ASN1_PRINTABLESTRING))
        return errbuf_attr(eb, E_VALIDATION, "csr.country",
                           "Attribute 'csr.country' must be two letters (ISO 3166)");
    for (size_t i = 0; i < ARRAY_LEN(order); i++)
        if (order[i].v != NULL &&
            X509_NAME_add_entry_by_NID(name, order[i].nid, order[i].type,
                                       (const unsigned char *)order[i].v, -1, -1, 0) != 1) {
            ERR_clear_error();
            return errbuf_set(eb, E_INTERNAL, "leaf: cannot encode the subject");
        }
    return E_OK;
}

static int
body_set(X509 *x, const struct pki_leaf *p, struct errbuf *eb)
{
    EVP_PKEY *pub = (EVP_PKEY *)p->key; /* X509_set_pubkey only reads it */

    if (p->not_after_ms < p->not_before_ms)
        return errbuf_attr(eb, E_VALIDATION, "validity",
                           "Attribute 'validity' ends before it starts");
    if (X509_set_version(x, X509_VERSION_3) != 1 || pki_serial_random(x) != E_OK ||
        pki_time_set(X509_getm_notBefore(x), p->not_before_ms) != E_OK ||
        pki_time_set(X509_getm_notAfter(x), p->not_after_ms) != E_OK ||
        X509_set_pubkey(x, pub) != 1) {
        ERR_clear_error();
        return errbuf_set(eb, E_INTERNAL, "leaf: cannot build the certificate");
    }
    return subject_set(x, p->names, eb);
}

static int
extensions_add(X509 *x, const struct pki_leaf *p, struct errbuf *eb)
{
    int rc;

    if (pki_ext_add(x, x, NID_basic_constraints, "critical,CA:FALSE") != E_OK ||
        pki_ext_add(x, x, NID_subject_key_identifier, "hash") != E_OK) {
        ERR_clear_error();
        return errbuf_set(eb, E_INTERNAL, "leaf: cannot encode an extension");
    }
    if ((rc = pki_ext_key_usage(x, p->key_usages, p->nkey_usages, eb)) != E_OK ||
        (rc = pki_ext_eku(x, p->ext_key_usages, p->next_key_usages, eb)) != E_OK ||
        (rc = pki_ext_san(x, p->names, eb)) != E_OK ||
        (rc = pki_ext_crl_dp(x, p->crl_url, eb)) != E_OK ||
        (rc = pki_ext_aia(x, p->ocsp_url, p->issuers_url, eb)) != E_OK)
        return rc;
    return E_OK;
}

static int
der_append(X509 *x, struct buf *der)
{
    unsigned char *p = NULL;
    int            n = i2d_X509(x, &p);
    int            rc = n > 0 ? buf_append(der, p, (size_t)n) : E_INTERNAL;

    OPENSSL_free(p);
    return rc;
}

int
pki_leaf_sign(const struct ca *ca, const struct pki_leaf *p, struct buf *der,
              char serial[PKI_SERIAL_HEX], struct errbuf *eb)
{
    X509 *x = X509_new();
    int   rc;

    serial[0] = '\0';
    if (x == NULL)
        return errbuf_set(eb, E_INTERNAL, "leaf: out of memory");
    if ((rc = body_set(x, p, eb)) != E_OK || (rc = extensions_add(x, p, eb)) != E_OK ||
        (rc = pki_ca_sign_cert(ca, x, eb)) != E_OK)
        goto out;
    if (der_append(x, der) != E_OK || pki_serial_hex(x, serial) != E_OK)
        rc = errbuf_set(eb, E_INTERNAL, "leaf: cannot encode the certificate");
out:
    X509_free(x);
    ERR_clear_error();
    return rc;
}
