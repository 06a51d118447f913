/* certutil.c - see certutil.h. */
#include "certutil.h"

#include <limits.h>

#include <time.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "../core/pem.h"

/* Top bit clear so the INTEGER is positive, the next bit set so it always
 * encodes in exactly 16 bytes (no leading zero octet is ever dropped). */
int
pki_serial_bytes(unsigned char out[PKI_SERIAL_LEN])
{
    if (RAND_bytes(out, PKI_SERIAL_LEN) != 1)
        return E_INTERNAL;
    out[0] = (unsigned char)((out[0] & 0x7f) | 0x40);
    return E_OK;
}

int
pki_serial_random(X509 *x)
{
    unsigned char b[PKI_SERIAL_LEN];
    BIGNUM       *bn = NULL;
    int           rc = E_INTERNAL;

    if (pki_serial_bytes(b) != E_OK)
        goto out;
    bn = BN_bin2bn(b, sizeof(b), NULL);
    if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
        goto out;
    rc = E_OK;
out:
    BN_free(bn);
    return rc;
}

int
pki_asn1_serial_hex(const ASN1_INTEGER *sn, char out[PKI_SERIAL_HEX])
{
    static const char    hex[] = "0123456789abcdef";
    const unsigned char *p = ASN1_STRING_get0_data(sn);
    int                  n = ASN1_STRING_length(sn);
    size_t               o = 0;

    out[0] = '\0';
    if (p == NULL || n <= 0 || n > PKI_SERIAL_MAX)
        return E_BADREQ;
    if (ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER) {
        if (n == PKI_SERIAL_MAX)
            return E_BADREQ; /* no room for the sign */
        out[o++] = '-';
    }
    for (int i = 0; i < n; i++) {
        out[o++] = hex[p[i] >> 4];
        out[o++] = hex[p[i] & 15];
    }
    out[o] = '\0';
    return E_OK;
}

int
pki_serial_hex(const X509 *x, char out[PKI_SERIAL_HEX])
{
    return pki_asn1_serial_hex(X509_get0_serialNumber(x), out);
}

int
pki_ext_add(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX      ctx;
    X509_EXTENSION *ext = NULL;
    int             rc = E_INTERNAL;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext != NULL && X509_add_ext(x, ext, -1) == 1)
        rc = E_OK;
    X509_EXTENSION_free(ext);
    return rc;
}

/* The decimal arc at s[*i], advancing past it and its dot; -1 when there
 * is none or it has a leading zero; large arcs are capped at 40. */
static int
oid_arc(const char *s, size_t n, size_t *i)
{
    size_t start = *i;
    int    v = 0;

    while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        if (v < 40)
            v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    if (*i == start || (s[start] == '0' && *i - start > 1))
        return -1;
    if (*i < n && s[(*i)++] != '.')
        return -1;
    if (*i == n && s[n - 1] == '.')
        return -1;
    return v > 40 ? 40 : v;
}

bool
pki_oid_valid(const char *s, size_t n)
{
    size_t i = 0;
    int    first, second, arcs = 2;

    if (s == NULL || (first = oid_arc(s, n, &i)) < 0 || first > 2 || i == n ||
        (second = oid_arc(s, n, &i)) < 0 || (first < 2 && second >= 40))
        return false;
    for (; i < n; arcs++)
        if (oid_arc(s, n, &i) < 0)
            return false;
    return arcs >= 2;
}

static int
bio_to_buf(BIO *bio, struct buf *out)
{
    char *p = NULL;
    long  n = BIO_get_mem_data(bio, &p);

    if (n <= 0 || p == NULL)
        return E_INTERNAL;
    return buf_append(out, p, (size_t)n);
}

int
pki_key_pem(EVP_PKEY *k, struct buf *out)
{
    BIO *bio = NULL;
    int  rc = E_INTERNAL;

    /* secmem: the BIO's copy of the private key is wiped when it is freed. */
    bio = BIO_new(BIO_s_secmem());
    if (bio != NULL && PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) == 1)
        rc = bio_to_buf(bio, out);
    BIO_free(bio);
    return rc;
}

int
pki_cert_pem(X509 *x, struct buf *out)
{
    BIO *bio = NULL;
    int  rc = E_INTERNAL;

    bio = BIO_new(BIO_s_mem());
    if (bio != NULL && PEM_write_bio_X509(bio, x) == 1)
        rc = bio_to_buf(bio, out);
    BIO_free(bio);
    return rc;
}

int64_t
pki_time_ms(const ASN1_TIME *t)
{
    struct tm tm;

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return -1;
    return (int64_t)timegm(&tm) * 1000;
}

int
pki_time_set(ASN1_TIME *t, int64_t ms)
{
    int64_t s = ms / 1000 - (ms % 1000 < 0);

    return ASN1_TIME_adj(t, (time_t)s, 0, 0) != NULL ? E_OK : E_INTERNAL;
}

/* The nth (0-based) certificate of a PEM bundle, or NULL. */
X509 *
pki_pem_cert(const struct buf *b, int nth)
{
    BIO  *bio = NULL;
    X509 *x = NULL;
    int   i;

    if (b->len == 0 || b->len > INT_MAX)
        return NULL;
    bio = BIO_new_mem_buf(b->p, (int)b->len);
    for (i = 0; bio != NULL && i <= nth; i++) {
        X509_free(x);
        x = PEM_read_bio_X509(bio, NULL, pem_no_passphrase, NULL);
        if (x == NULL)
            break;
    }
    BIO_free(bio);
    return x;
}

bool
pki_pem_same_key(struct str a, struct str b)
{
    struct buf ba = { (char *)a.p, a.len, a.len, a.len },
               bb = { (char *)b.p, b.len, b.len, b.len };
    X509 *xa = pki_pem_cert(&ba, 0), *xb = pki_pem_cert(&bb, 0);
    bool  same = xa != NULL && xb != NULL && X509_get0_pubkey(xa) != NULL &&
                X509_get0_pubkey(xb) != NULL &&
                EVP_PKEY_eq(X509_get0_pubkey(xa), X509_get0_pubkey(xb)) == 1;

    X509_free(xa);
    X509_free(xb);
    return same;
}

EVP_PKEY *
pki_pem_key(const struct buf *b)
{
    BIO      *bio = NULL;
    EVP_PKEY *k = NULL;

    if (b->len == 0 || b->len > INT_MAX)
        return NULL;
    bio = BIO_new_mem_buf(b->p, (int)b->len);
    if (bio != NULL)
        k = PEM_read_bio_PrivateKey(bio, NULL, pem_no_passphrase, NULL);
    BIO_free(bio);
    return k;
}

/* A digest whose collisions can be made (RFC 6151, RFC 9155; SHA-1
 * collisions since 2017). */
static bool
weak_md(int md)
{
    return md == NID_md2 || md == NID_md4 || md == NID_md5 || md == NID_md5_sha1 ||
           md == NID_mdc2 || md == NID_sha1;
}

/* The digest of an RSASSA-PSS signature's parameters: absent, SHA-1 (RFC
 * 4055 3.1); NID_undef when they cannot be read. */
static int
pss_md(const X509_ALGOR *alg)
{
    const ASN1_TYPE *param = alg->parameter;
    RSA_PSS_PARAMS  *pss;
    int              md;

    if (param == NULL || param->type != V_ASN1_SEQUENCE)
        return NID_undef;
    if ((pss = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), param)) == NULL)
        return NID_undef;
    md = pss->hashAlgorithm != NULL ? OBJ_obj2nid(pss->hashAlgorithm->algorithm) : NID_sha1;
    RSA_PSS_PARAMS_free(pss);
    return md;
}

bool
pki_sig_weak(const X509_ALGOR *alg)
{
    int nid = OBJ_obj2nid(alg->algorithm), md = NID_undef, pk = NID_undef;

    if (nid == NID_rsassaPss)
        md = pss_md(alg);
    else if (OBJ_find_sigid_algs(nid, &md, &pk) != 1)
        md = NID_undef;
    return weak_md(md);
}
