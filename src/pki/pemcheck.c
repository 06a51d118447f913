/* pemcheck.c - see pemcheck.h. */
#include "pemcheck.h"

#include <string.h>

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

#define BEGIN_CERT "-----BEGIN CERTIFICATE-----"
#define END_CERT   "-----END CERTIFICATE-----"

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* One block that starts at `p` (its BEGIN line), parsed; *next is past its END
 * line. */
static int
read_block(const char *p, const char *end, const char **next, const char *attr,
           struct errbuf *eb)
{
    const char    *stop = memmem(p, (size_t)(end - p), END_CERT, strlen(END_CERT));
    BIO           *bio = NULL;
    char          *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long           len = 0;
    int            rc;

    if (stop == NULL)
        return bad(eb, attr, "holds a certificate without its END line");
    *next = stop + strlen(END_CERT);
    bio = BIO_new_mem_buf(p, (int)(*next - p));
    if (bio == NULL)
        return errbuf_set(eb, E_INTERNAL, "out of memory");
    rc = PEM_read_bio(bio, &name, &header, &der, &len) == 1
             ? check_block(name, der, len, attr, eb)
             : bad(eb, attr, "holds a certificate that does not parse");
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

/* Strict: CERTIFICATE blocks, and white space and # comment lines between
 * them, nothing else. A
 * private key anywhere is refused by name, however it was pasted (indented
 * as in YAML, its bare base64 lines): the attribute is stored and shown in the
 * clear (a review's indented key was kept and returned to every reader). */
int
pem_check_certs(struct str pem, int max, const char *attr, struct errbuf *eb)
{
    const char *p = pem.p, *end = pem.p + pem.len;
    int         rc = E_OK, n = 0;

    if (pem.len > INT32_MAX)
        return bad(eb, attr, "is too long");
    if (memmem(pem.p, pem.len, "PRIVATE KEY", 11) != NULL)
        return bad(eb, attr, "holds a private key: give the certificates only");
    while (rc == E_OK) {
        while (p < end && is_space(*p))
            p++;
        if (p < end && *p == '#') { /* a comment line, as in curl's cacert.pem */
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            p = nl != NULL ? nl : end;
            continue;
        }
        if (p == end)
            break;
        if ((size_t)(end - p) < strlen(BEGIN_CERT) || memcmp(p, BEGIN_CERT, strlen(BEGIN_CERT)))
            return bad(eb, attr,
                       "must hold only PEM certificates, nothing outside their blocks");
        rc = ++n > max ? bad(eb, attr, "holds too many certificates")
                       : read_block(p, end, &p, attr, eb);
    }
    if (rc == E_OK && n == 0)
        rc = bad(eb, attr, "must hold PEM certificates");
    return rc;
}
