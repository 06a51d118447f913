/* cacert.c - see cacert.h. The body is OpenSSL's X509 (a CA is made rarely;
 * speed is the leaves' concern), its extensions are certext.c's DER. */
#include "cacert.h"

#include <openssl/err.h>

#include "certext.h"

#define EXTS_MAX (64 * 1024)

static const char *const CA_KEY_USAGES[] = { "keyCertSign", "cRLSign" };

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
        X509_set_pubkey(x, pub) != 1)
        return errbuf_set(eb, E_INTERNAL, "ca: cannot build the certificate");
    return E_OK;
}

/* The extensions, one Extension after another. */
static int
exts_write(X509 *x, const struct pki_ca_req *p, struct der *d, struct errbuf *eb)
{
    unsigned char id[EVP_MAX_MD_SIZE];
    unsigned int  n = 0;
    int           rc;

    if (X509_pubkey_digest(x, EVP_sha1(), id, &n) != 1)
        return errbuf_set(eb, E_INTERNAL, "ca: cannot hash its key");
    pki_ext_basic_constraints(d, true, p->path_len);
    if ((rc = pki_ext_key_usage(d, CA_KEY_USAGES, ARRAY_LEN(CA_KEY_USAGES), eb)) != E_OK)
        return rc;
    pki_ext_ski(d, id, n);
    if ((rc = pki_ext_name_constraints(d, p, eb)) != E_OK ||
        (rc = pki_ext_crl_dp(d, p->crl_url, eb)) != E_OK ||
        (rc = pki_ext_aia(d, p->ocsp_url, p->issuers_url, eb)) != E_OK)
        return rc;
    return d->err == E_OK ? E_OK : errbuf_set(eb, E_INTERNAL, "ca: extensions too large");
}

static int
exts_add(X509 *x, const struct buf *exts, struct errbuf *eb)
{
    const unsigned char *p = (const unsigned char *)exts->p;
    const unsigned char *end = p + exts->len;

    while (p < end) {
        X509_EXTENSION *e = d2i_X509_EXTENSION(NULL, &p, end - p);
        int             ok = e != NULL && X509_add_ext(x, e, -1) == 1;
        X509_EXTENSION_free(e);
        if (!ok)
            return errbuf_set(eb, E_INTERNAL, "ca: cannot add an extension");
    }
    return E_OK;
}

int
pki_ca_cert_new(const X509_NAME *subject, const struct pki_ca_req *p, EVP_PKEY *pub, X509 **out,
                struct errbuf *eb)
{
    X509      *x = X509_new();
    struct buf exts;
    struct der d;
    int        rc;

    *out = NULL;
    if (x == NULL)
        return errbuf_set(eb, E_INTERNAL, "ca: out of memory");
    buf_init(&exts, EXTS_MAX);
    der_init(&d, &exts);
    if ((rc = body_set(x, subject, p, pub, eb)) == E_OK &&
        (rc = exts_write(x, p, &d, eb)) == E_OK && (rc = exts_add(x, &exts, eb)) == E_OK) {
        *out = x;
        x = NULL;
    }
    buf_free(&exts);
    X509_free(x);
    ERR_clear_error();
    return rc;
}
