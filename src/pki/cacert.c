/* cacert.c - see cacert.h. */
#include "cacert.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "x509ext.h"

static const char *const CA_KEY_USAGES[] = { "keyCertSign", "cRLSign" };

static int
basic_constraints_add(X509 *x, int path_len)
{
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
    int                rc = E_INTERNAL;

    if (bc == NULL)
        return E_INTERNAL;
    bc->ca = 0xFF; /* DER: TRUE is 0xFF (OpenSSL writes the value as it is) */
    if (path_len >= 0 && ((bc->pathlen = ASN1_INTEGER_new()) == NULL ||
                          ASN1_INTEGER_set(bc->pathlen, path_len) != 1))
        goto out;
    if (X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_REPLACE) == 1)
        rc = E_OK;
out:
    BASIC_CONSTRAINTS_free(bc);
    return rc;
}

static int
body_set(X509 *x, const X509_NAME *subject, const struct pki_ca_req *p, EVP_PKEY *pub,
         struct errbuf *eb)
{
    if (p->not_after_ms <= p->not_before_ms)
        return errbuf_attr(eb, E_VALIDATION, "validity",
                           "Attribute 'validity' must end after it starts");
    if (X509_set_version(x, X509_VERSION_3) != 1 || pki_serial_random(x) != E_OK ||
        X509_set_subject_name(x, subject) != 1 ||
        pki_time_set(X509_getm_notBefore(x), p->not_before_ms) != E_OK ||
        pki_time_set(X509_getm_notAfter(x), p->not_after_ms) != E_OK ||
        X509_set_pubkey(x, pub) != 1 || basic_constraints_add(x, p->path_len) != E_OK ||
        pki_ext_add(x, x, NID_subject_key_identifier, "hash") != E_OK)
        return errbuf_set(eb, E_INTERNAL, "ca: cannot build the certificate");
    return E_OK;
}

int
pki_ca_cert_new(const X509_NAME *subject, const struct pki_ca_req *p, EVP_PKEY *pub, X509 **out,
                struct errbuf *eb)
{
    X509 *x = X509_new();
    int   rc;

    *out = NULL;
    if (x == NULL)
        return errbuf_set(eb, E_INTERNAL, "ca: out of memory");
    if ((rc = body_set(x, subject, p, pub, eb)) == E_OK &&
        (rc = pki_ext_key_usage(x, CA_KEY_USAGES, ARRAY_LEN(CA_KEY_USAGES), eb)) == E_OK &&
        (rc = pki_ext_name_constraints(x, p, eb)) == E_OK &&
        (rc = pki_ext_crl_dp(x, p->crl_url, eb)) == E_OK &&
        (rc = pki_ext_aia(x, p->ocsp_url, p->issuers_url, eb)) == E_OK) {
        *out = x;
        x = NULL;
    }
    X509_free(x);
    ERR_clear_error();
    return rc;
}
