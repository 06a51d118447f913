/* pemcheck.c - see pemcheck.h. */
#include "pemcheck.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define BEGIN_CERT "-----BEGIN CERTIFICATE-----"
#define END_CERT   "-----END CERTIFICATE-----"

static int
bad(struct errbuf *eb, const char *attr, const char *why)
{
    ERR_clear_error();
    return errbuf_attr(eb, E_VALIDATION, attr, "Attribute '%s' %s", attr, why);
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The certificate of the block that starts at `p` (its BEGIN line), written
 * again as PEM into `out`; *next is past its END line. A block with headers
 * (Proc-Type, ...) is refused: nothing but the certificate is kept. */
static int
copy_block(const char *p, const char *end, const char **next, BIO *out, const char *attr,
           struct errbuf *eb)
{
    const char    *stop = memmem(p, (size_t)(end - p), END_CERT, strlen(END_CERT));
    BIO           *in;
    char          *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long           len = 0;
    int            rc = E_OK;

    if (stop == NULL)
        return bad(eb, attr, "holds a certificate without its END line");
    *next = stop + strlen(END_CERT);
    if ((in = BIO_new_mem_buf(p, (int)(*next - p))) == NULL)
        return errbuf_set(eb, E_INTERNAL, "out of memory");
    if (PEM_read_bio(in, &name, &header, &der, &len) != 1)
        rc = bad(eb, attr, "holds a certificate that does not parse");
    else if (strcmp(name, "CERTIFICATE") != 0 || header[0] != '\0')
        rc = bad(eb, attr, "must hold only PEM certificates, without headers");
    if (rc == E_OK) {
        const unsigned char *q = der;
        X509                *x = d2i_X509(NULL, &q, len);
        if (x == NULL || q != der + len)
            rc = bad(eb, attr, "holds a certificate that does not parse");
        else if (PEM_write_bio_X509(out, x) != 1)
            rc = errbuf_set(eb, E_INTERNAL, "out of memory");
        X509_free(x);
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(in);
    ERR_clear_error();
    return rc;
}

/* CERTIFICATE blocks with white space and # comment lines between them,
 * nothing else, each block copied into `out`. */
static int
copy_blocks(struct str pem, int max, BIO *out, const char *attr, struct errbuf *eb)
{
    const char *p = pem.p, *end = pem.p + pem.len;
    int         rc = E_OK, n = 0;

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
                       : copy_block(p, end, &p, out, attr, eb);
    }
    if (rc == E_OK && n == 0)
        rc = bad(eb, attr, "must hold PEM certificates");
    return rc;
}

int
pem_clean_certs(struct arena *a, struct val *obj, const char *attr, int max, struct errbuf *eb)
{
    struct val *v = val_get(obj, attr);
    BIO        *out;
    char       *p;
    long        n;
    int         rc;

    if (v == NULL || v->t != V_STR || v->s.len == 0)
        return E_OK; /* absent, or none: the generic checks say what is wrong */
    if (v->s.len > INT32_MAX)
        return bad(eb, attr, "is too long");
    if ((out = BIO_new(BIO_s_mem())) == NULL)
        return errbuf_set(eb, E_INTERNAL, "out of memory");
    if ((rc = copy_blocks(v->s, max, out, attr, eb)) == E_OK) {
        n = BIO_get_mem_data(out, &p);
        *v = val_str(arena_str(a, (struct str){ p, (size_t)n }));
    }
    BIO_free(out);
    return rc;
}
