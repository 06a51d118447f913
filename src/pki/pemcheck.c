/* pemcheck.c - see pemcheck.h. */
#include "pemcheck.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static int
bad(struct errbuf *eb, const char *attr, const char *why)
{
    ERR_clear_error();
    return errbuf_attr(eb, E_VALIDATION, attr, "Attribute '%s' %s", attr, why);
}

static int
check_block(const char *name, const unsigned char *der, long len, const char *attr,
            struct errbuf *eb)
{
    const unsigned char *p = der;
    X509                *x = NULL;
    int                  rc = E_OK;

    if (strcmp(name, "CERTIFICATE") != 0)
        return bad(eb, attr, "must hold only PEM certificates");
    x = d2i_X509(NULL, &p, len);
    if (x == NULL || p != der + len)
        rc = bad(eb, attr, "holds a certificate that does not parse");
    X509_free(x);
    return rc;
}

int
pem_check_certs(struct str pem, int max, const char *attr, struct errbuf *eb)
{
    BIO           *bio = NULL;
    char          *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long           len = 0;
    int            rc = E_OK, n = 0;

    if (pem.len > INT32_MAX || (bio = BIO_new_mem_buf(pem.p, (int)pem.len)) == NULL)
        return errbuf_set(eb, E_INTERNAL, "out of memory");
    while (rc == E_OK && PEM_read_bio(bio, &name, &header, &der, &len) == 1) {
        rc = ++n > max ? bad(eb, attr, "holds too many certificates")
                       : check_block(name, der, len, attr, eb);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(der);
        name = header = NULL;
        der = NULL;
    }
    BIO_free(bio);
    ERR_clear_error(); /* the end of the input is reported as an error */
    if (rc == E_OK && n == 0)
        rc = bad(eb, attr, "must hold PEM certificates");
    return rc;
}
