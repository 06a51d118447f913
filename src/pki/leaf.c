/* leaf.c - leaf certificates a console CA signs (pki_leaf_sign, issue.h).
 *
 * The TBSCertificate is written as DER (der.h), not assembled through
 * OpenSSL's X509 object: on OpenSSL 3.0, X509_set_pubkey alone encodes the
 * key and decodes it back through the provider machinery, and the whole
 * assembly cost 350 to 400 us per certificate against 30 us for a P-256
 * signature. What is the CA's (signature algorithm, issuer name, key
 * identifier) comes ready-made from pki_ca_tbs; only signer.c signs. */
#include "issue.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "certext.h"
#include "der.h"

#define SPKI_POINT_MAX 133 /* an uncompressed P-521 point; P-384's is 97 */
#define RSA_BYTES_MAX  1024

/* The TBSCertificate's version field: [0] EXPLICIT INTEGER 2 (v3). */
static const unsigned char VERSION_V3[] = { 0xa0, 0x03, 0x02, 0x01, 0x02 };

/* The subject in the certificate's order; countryName as PrintableString
 * (RFC 5280 appendix A), the others UTF8String. */
static const struct {
    int           nid;
    size_t        off; /* of the field in struct pki_names */
    unsigned char tag;
    const char   *attr;
} SUBJECT[] = {
    { NID_countryName, offsetof(struct pki_names, c), DER_PRINTABLE, "csr.country" },
    { NID_stateOrProvinceName, offsetof(struct pki_names, st), DER_UTF8STRING, "csr.state" },
    { NID_localityName, offsetof(struct pki_names, l), DER_UTF8STRING, "csr.locality" },
    { NID_organizationName, offsetof(struct pki_names, o), DER_UTF8STRING, "csr.organization" },
    { NID_organizationalUnitName, offsetof(struct pki_names, ou), DER_UTF8STRING,
      "csr.organizationalUnit" },
    { NID_commonName, offsetof(struct pki_names, cn), DER_UTF8STRING, "csr.commonName" },
};

static int
invalid(struct errbuf *eb, const char *attr, const char *why)
{
    return errbuf_attr(eb, E_VALIDATION, attr, "Attribute '%s' %s", attr, why);
}

static const char *
subject_value(const struct pki_names *n, size_t i)
{
    return *(const char *const *)((const char *)n + SUBJECT[i].off);
}

static bool
subject_empty(const struct pki_names *n)
{
    for (size_t i = 0; i < ARRAY_LEN(SUBJECT); i++)
        if (subject_value(n, i) != NULL)
            return false;
    return true;
}

/* Two characters of PrintableString (ISO 3166 codes are letters). */
static bool
country_ok(const char *s)
{
    for (size_t i = 0; i < 2; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
            return false;
    return s[2] == '\0';
}

static int
subject_write(struct der *d, const struct pki_names *n, struct errbuf *eb)
{
    size_t seq = der_open(d, DER_SEQUENCE);

    for (size_t i = 0; i < ARRAY_LEN(SUBJECT); i++) {
        const char *v = subject_value(n, i);
        size_t      len = v != NULL ? strlen(v) : 0, set, atv;
        if (v == NULL)
            continue;
        if (SUBJECT[i].tag == DER_PRINTABLE ? !country_ok(v) : len == 0 || !utf8_valid(v, len))
            return invalid(eb, SUBJECT[i].attr,
                           SUBJECT[i].tag == DER_PRINTABLE ? "must be two letters (ISO 3166)"
                                                           : "must be non-empty UTF-8 text");
        set = der_open(d, DER_SET);
        atv = der_open(d, DER_SEQUENCE);
        der_oid_nid(d, SUBJECT[i].nid);
        der_tlv(d, SUBJECT[i].tag, v, len);
        der_close(d, atv);
        der_close(d, set);
    }
    der_close(d, seq);
    return E_OK;
}

static int
validity_write(struct der *d, const struct pki_leaf *p, struct errbuf *eb)
{
    size_t seq;

    if (p->not_before_ms < DER_TIME_MIN_MS || p->not_after_ms > DER_TIME_MAX_MS)
        return invalid(eb, "validity", "must lie between the years 0 and 9999");
    if (p->not_after_ms < p->not_before_ms)
        return invalid(eb, "validity", "ends before it starts");
    seq = der_open(d, DER_SEQUENCE);
    der_time(d, p->not_before_ms);
    der_time(d, p->not_after_ms);
    der_close(d, seq);
    return E_OK;
}

/* ---- the subject's public key ------------------------------------------------ */

/* The key identifier: SHA-1 of the subjectPublicKey bits (RFC 5280
 * 4.2.1.2, method 1, as OpenSSL's "hash"). */
static bool
key_id(const unsigned char *p, size_t n, unsigned char id[SHA_DIGEST_LENGTH])
{
    return EVP_Digest(p, n, id, NULL, EVP_sha1(), NULL) == 1;
}

/* AlgorithmIdentifier and BIT STRING of a key whose bits are at hand. */
static void
spki_bits(struct der *d, int alg, int param, const unsigned char *bits, size_t n)
{
    size_t seq = der_open(d, DER_SEQUENCE), aid = der_open(d, DER_SEQUENCE), bs;

    der_oid_nid(d, alg);
    if (param != NID_undef)
        der_oid_nid(d, param);
    der_close(d, aid);
    bs = der_open(d, DER_BIT_STRING);
    der_raw(d, "", 1); /* no unused bits */
    der_raw(d, bits, n);
    der_close(d, bs);
    der_close(d, seq);
}

static bool
ec_spki(struct der *d, const EVP_PKEY *k, int curve, unsigned char id[SHA_DIGEST_LENGTH])
{
    unsigned char pt[SPKI_POINT_MAX];
    size_t        n = 0;

    if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt),
                                        &n) != 1 ||
        !key_id(pt, n, id))
        return false;
    spki_bits(d, NID_X9_62_id_ecPublicKey, curve, pt, n);
    return true;
}

static bool
ed25519_spki(struct der *d, const EVP_PKEY *k, unsigned char id[SHA_DIGEST_LENGTH])
{
    unsigned char pub[32];
    size_t        n = sizeof(pub);

    if (EVP_PKEY_get_raw_public_key(k, pub, &n) != 1 || n != sizeof(pub) || !key_id(pub, n, id))
        return false;
    spki_bits(d, NID_ED25519, NID_undef, pub, n);
    return true;
}

static bool
bn_bytes(const EVP_PKEY *k, const char *param, unsigned char out[RSA_BYTES_MAX], size_t *n)
{
    BIGNUM *bn = NULL;
    bool    ok = EVP_PKEY_get_bn_param(k, param, &bn) == 1 && BN_num_bytes(bn) <= RSA_BYTES_MAX;

    if (ok)
        *n = (size_t)BN_bn2bin(bn, out);
    BN_free(bn);
    return ok;
}

/* RSAPublicKey ::= SEQUENCE { modulus, publicExponent } in the BIT STRING,
 * hashed once written (only its position moves after). */
static bool
rsa_spki(struct der *d, const EVP_PKEY *k, unsigned char id[SHA_DIGEST_LENGTH])
{
    unsigned char mod[RSA_BYTES_MAX], exp[RSA_BYTES_MAX];
    size_t        nmod = 0, nexp = 0, seq, aid, bs, key;

    if (!bn_bytes(k, OSSL_PKEY_PARAM_RSA_N, mod, &nmod) ||
        !bn_bytes(k, OSSL_PKEY_PARAM_RSA_E, exp, &nexp))
        return false;
    seq = der_open(d, DER_SEQUENCE);
    aid = der_open(d, DER_SEQUENCE);
    der_oid_nid(d, NID_rsaEncryption);
    der_tlv(d, DER_NULL, NULL, 0);
    der_close(d, aid);
    bs = der_open(d, DER_BIT_STRING);
    der_raw(d, "", 1);
    key = der_open(d, DER_SEQUENCE);
    der_uint(d, mod, nmod);
    der_uint(d, exp, nexp);
    der_close(d, key);
    if (d->err != E_OK || !key_id((const unsigned char *)d->b->p + key, d->b->len - key, id))
        return false;
    der_close(d, bs);
    der_close(d, seq);
    return true;
}

/* Any other key, through OpenSSL's encoder (slow, but rare). */
static bool
other_spki(struct der *d, const EVP_PKEY *k, unsigned char id[SHA_DIGEST_LENGTH])
{
    unsigned char       *der = NULL;
    const unsigned char *p, *bits = NULL;
    int                  n = i2d_PUBKEY(k, &der), nbits = 0;
    X509_PUBKEY         *xpk = NULL;
    bool                 ok;

    p = der;
    ok = n > 0 && (xpk = d2i_X509_PUBKEY(NULL, &p, n)) != NULL &&
         X509_PUBKEY_get0_param(NULL, &bits, &nbits, NULL, xpk) == 1 &&
         key_id(bits, (size_t)nbits, id);
    if (ok)
        der_raw(d, der, (size_t)n);
    X509_PUBKEY_free(xpk);
    OPENSSL_free(der);
    return ok;
}

static int
spki_write(struct der *d, const EVP_PKEY *k, unsigned char id[SHA_DIGEST_LENGTH],
           struct errbuf *eb)
{
    bool ok;

    switch (pki_key_type_of(k)) {
    case PKI_KEY_EC_P256:
        ok = ec_spki(d, k, NID_X9_62_prime256v1, id);
        break;
    case PKI_KEY_EC_P384:
        ok = ec_spki(d, k, NID_secp384r1, id);
        break;
    case PKI_KEY_ED25519:
        ok = ed25519_spki(d, k, id);
        break;
    case PKI_KEY_RSA_2048:
    case PKI_KEY_RSA_3072:
    case PKI_KEY_RSA_4096:
        ok = rsa_spki(d, k, id);
        break;
    default:
        ok = k != NULL && other_spki(d, k, id);
    }
    return ok ? E_OK : errbuf_set(eb, E_INTERNAL, "leaf: cannot encode the public key");
}

/* ---- the certificate --------------------------------------------------------- */

static int
exts_write(struct der *d, const struct ca *ca, const struct pki_leaf *p,
           const unsigned char key_id[SHA_DIGEST_LENGTH], struct errbuf *eb)
{
    const struct str *ca_id = &pki_ca_tbs(ca)->key_id;
    size_t            wrap = der_open(d, DER_CONTEXT_CONS | 3), seq = der_open(d, DER_SEQUENCE);
    int               rc;

    pki_ext_basic_constraints(d, false, -1);
    if ((rc = pki_ext_key_usage(d, p->key_usages, p->nkey_usages, eb)) != E_OK ||
        (rc = pki_ext_eku(d, p->ext_key_usages, p->next_key_usages, eb)) != E_OK)
        return rc;
    pki_ext_ski(d, key_id, SHA_DIGEST_LENGTH);
    pki_ext_aki(d, (const unsigned char *)ca_id->p, ca_id->len);
    if ((rc = pki_ext_san(d, p->names, subject_empty(p->names), eb)) != E_OK ||
        (rc = pki_ext_crl_dp(d, p->crl_url, eb)) != E_OK ||
        (rc = pki_ext_aia(d, p->ocsp_url, p->issuers_url, eb)) != E_OK)
        return rc;
    der_close(d, seq);
    der_close(d, wrap);
    return E_OK;
}

static int
tbs_write(struct der *d, const struct ca *ca, const struct pki_leaf *p,
          const unsigned char serial[PKI_SERIAL_LEN], struct errbuf *eb)
{
    const struct pki_ca_tbs *t = pki_ca_tbs(ca);
    unsigned char            id[SHA_DIGEST_LENGTH];
    size_t                   seq = der_open(d, DER_SEQUENCE);
    int                      rc;

    der_raw(d, VERSION_V3, sizeof(VERSION_V3));
    der_uint(d, serial, PKI_SERIAL_LEN);
    der_raw(d, t->sig_alg.p, t->sig_alg.len);
    der_raw(d, t->name.p, t->name.len);
    if ((rc = validity_write(d, p, eb)) != E_OK ||
        (rc = subject_write(d, p->names, eb)) != E_OK ||
        (rc = spki_write(d, p->key, id, eb)) != E_OK ||
        (rc = exts_write(d, ca, p, id, eb)) != E_OK)
        return rc;
    der_close(d, seq);
    return E_OK;
}

/* signatureAlgorithm and signatureValue after the TBS at d->b->p + tbs. */
static int
signature_write(struct der *d, const struct ca *ca, size_t tbs, struct errbuf *eb)
{
    const struct str *alg = &pki_ca_tbs(ca)->sig_alg;
    struct buf        sig;
    size_t            bs;
    int               rc;

    if (d->err != E_OK)
        return errbuf_set(eb, E_INTERNAL, "leaf: the certificate is too large");
    buf_init(&sig, 0);
    rc = pki_ca_sign_tbs(ca, (const unsigned char *)d->b->p + tbs, d->b->len - tbs, &sig, eb);
    der_raw(d, alg->p, alg->len);
    bs = der_open(d, DER_BIT_STRING);
    der_raw(d, "", 1);
    der_raw(d, sig.p, sig.len);
    der_close(d, bs);
    buf_free(&sig);
    return rc;
}

static void
hex_of(const unsigned char *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int
pki_leaf_sign(const struct ca *ca, const struct pki_leaf *p, struct buf *der,
              char serial[PKI_SERIAL_HEX], struct errbuf *eb)
{
    unsigned char sn[PKI_SERIAL_LEN];
    size_t        start = der->len, cert, tbs;
    struct der    d;
    int           rc;

    serial[0] = '\0';
    if (pki_serial_bytes(sn) != E_OK)
        return errbuf_set(eb, E_INTERNAL, "leaf: no random serial");
    der_init(&d, der);
    cert = der_open(&d, DER_SEQUENCE);
    tbs = der->len;
    if ((rc = tbs_write(&d, ca, p, sn, eb)) == E_OK)
        rc = signature_write(&d, ca, tbs, eb);
    der_close(&d, cert);
    if (rc == E_OK && d.err != E_OK)
        rc = errbuf_set(eb, E_INTERNAL, "leaf: the certificate is too large");
    if (rc != E_OK) {
        der->len = start;
        if (der->p != NULL)
            der->p[start] = '\0';
        ERR_clear_error();
        return rc;
    }
    hex_of(sn, sizeof(sn), serial);
    return E_OK;
}
