/* crl.c - see status.h: revocation reasons and full CRLs (RFC 5280 section 5),
 * built with OpenSSL's X509_CRL and signed through signer.c. */
#include "status.h"

#include <limits.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#define CRL_DER_MAX ((size_t)256 << 20) /* 100,000 entries take about 4 MiB */

const char *const pki_reason_names[] = {
    "unspecified",     "keyCompromise",
    "cACompromise",    "affiliationChanged",
    "superseded",      "cessationOfOperation",
    "certificateHold", "privilegeWithdrawn",
    "aACompromise",    NULL,
};

/* Every code's name, by code (7 is unassigned). */
static const char *const reason_by_code[] = {
    "unspecified",   "keyCompromise",        "cACompromise",    "affiliationChanged",
    "superseded",    "cessationOfOperation", "certificateHold", NULL,
    "removeFromCRL", "privilegeWithdrawn",   "aACompromise",
};

int
pki_reason_parse(const char *name)
{
    for (int code = 0; code < (int)ARRAY_LEN(reason_by_code); code++)
        if (name != NULL && reason_by_code[code] != NULL &&
            code != PKI_REASON_REMOVE_FROM_CRL && strcmp(name, reason_by_code[code]) == 0)
            return code;
    return -1;
}

const char *
pki_reason_name(int code)
{
    if (code < 0 || code >= (int)ARRAY_LEN(reason_by_code))
        return NULL;
    return reason_by_code[code];
}

/* ---- pieces ------------------------------------------------------------------ */

/* A reason a full CRL may carry (removeFromCRL is for delta CRLs). */
static bool
reason_ok(int code)
{
    return pki_reason_name(code) != NULL && code != PKI_REASON_REMOVE_FROM_CRL;
}

static ASN1_TIME *
time_of(int64_t ms)
{
    if (ms < 0)
        return NULL;
    return ASN1_TIME_set(NULL, (time_t)(ms / 1000));
}

/* An INTEGER from lowercase hex (pki_serial_hex's form, positive only: the
 * console's CAs issue no other serials). */
static ASN1_INTEGER *
serial_of(const char *hex)
{
    size_t        n = hex != NULL ? strlen(hex) : 0;
    BIGNUM       *bn = NULL;
    ASN1_INTEGER *sn = NULL;

    if (n == 0 || n > 2 * PKI_SERIAL_MAX || strspn(hex, "0123456789abcdef") != n)
        return NULL;
    if (BN_hex2bn(&bn, hex) == (int)n)
        sn = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    return sn;
}

static X509_REVOKED *
entry_new(const struct pki_revoked *r)
{
    X509_REVOKED    *e = X509_REVOKED_new();
    ASN1_INTEGER    *sn = serial_of(r->serial);
    ASN1_TIME       *t = time_of(r->time_ms);
    ASN1_ENUMERATED *why = NULL;
    bool             ok = e != NULL && sn != NULL && t != NULL &&
              X509_REVOKED_set_serialNumber(e, sn) == 1 &&
              X509_REVOKED_set_revocationDate(e, t) == 1 && reason_ok(r->reason);

    if (ok && r->reason != PKI_REASON_UNSPECIFIED)
        ok = (why = ASN1_ENUMERATED_new()) != NULL &&
             ASN1_ENUMERATED_set(why, r->reason) == 1 &&
             X509_REVOKED_add1_ext_i2d(e, NID_crl_reason, why, 0, X509V3_ADD_DEFAULT) == 1;
    ASN1_ENUMERATED_free(why);
    ASN1_TIME_free(t);
    ASN1_INTEGER_free(sn);
    if (!ok) {
        X509_REVOKED_free(e);
        return NULL;
    }
    return e;
}

/* The CA's key identifier: its SKI, or, for a CA certificate without one,
 * the SHA-1 of its key (RFC 5280 4.2.1.2, method 1). */
static AUTHORITY_KEYID *
aki_of(const struct ca *ca)
{
    const X509        *x = pki_ca_cert(ca);
    ASN1_OCTET_STRING *ski = X509_get_ext_d2i(x, NID_subject_key_identifier, NULL, NULL);
    unsigned char      md[EVP_MAX_MD_SIZE];
    unsigned int       len = 0;
    AUTHORITY_KEYID   *aki = AUTHORITY_KEYID_new();

    if (aki != NULL && ski != NULL) {
        aki->keyid = ski;
        ski = NULL;
    } else if (aki == NULL || X509_pubkey_digest(x, EVP_sha1(), md, &len) != 1 ||
               (aki->keyid = ASN1_OCTET_STRING_new()) == NULL ||
               ASN1_OCTET_STRING_set(aki->keyid, md, (int)len) != 1) {
        AUTHORITY_KEYID_free(aki);
        aki = NULL;
    }
    ASN1_OCTET_STRING_free(ski);
    return aki;
}

static bool
crl_exts_add(X509_CRL *crl, const struct ca *ca, uint64_t number)
{
    ASN1_INTEGER    *num = ASN1_INTEGER_new();
    AUTHORITY_KEYID *aki = aki_of(ca);
    bool ok = num != NULL && aki != NULL && ASN1_INTEGER_set_uint64(num, number) == 1 &&
              X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki, 0,
                                    X509V3_ADD_DEFAULT) == 1 &&
              X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, X509V3_ADD_DEFAULT) == 1;

    AUTHORITY_KEYID_free(aki);
    ASN1_INTEGER_free(num);
    return ok;
}

static bool
crl_dates_set(X509_CRL *crl, int64_t this_ms, int64_t next_ms)
{
    ASN1_TIME *t = time_of(this_ms), *n = time_of(next_ms);
    bool       ok = t != NULL && n != NULL && X509_CRL_set1_lastUpdate(crl, t) == 1 &&
              X509_CRL_set1_nextUpdate(crl, n) == 1;

    ASN1_TIME_free(n);
    ASN1_TIME_free(t);
    return ok;
}

static int
crl_entries_add(X509_CRL *crl, const struct pki_revoked *v, size_t n, struct errbuf *eb)
{
    for (size_t i = 0; i < n; i++) {
        X509_REVOKED *e = entry_new(&v[i]);
        if (e == NULL || X509_CRL_add0_revoked(crl, e) != 1) {
            X509_REVOKED_free(e);
            return errbuf_set(eb, E_INTERNAL, "crl: revoked entry %zu (serial %s) is not valid",
                              i, v[i].serial != NULL ? v[i].serial : "(none)");
        }
    }
    return X509_CRL_sort(crl) == 1 ? E_OK : errbuf_set(eb, E_INTERNAL, "crl: cannot sort");
}

static int
crl_der(X509_CRL *crl, struct buf *der, struct errbuf *eb)
{
    unsigned char *p = NULL;
    int            len = i2d_X509_CRL(crl, &p);
    int            rc;

    if (len <= 0 || (size_t)len > CRL_DER_MAX)
        rc = errbuf_set(eb, E_INTERNAL, "crl: cannot encode it");
    else
        rc = buf_append(der, p, (size_t)len);
    OPENSSL_free(p);
    return rc;
}

int
pki_crl_build(const struct ca *ca, const struct pki_revoked *v, size_t n,
              int64_t this_update_ms, int64_t next_update_ms, uint64_t number, struct buf *der,
              struct errbuf *eb)
{
    X509_CRL *crl = X509_CRL_new();
    int       rc = E_INTERNAL;

    if (crl == NULL || X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
        !crl_dates_set(crl, this_update_ms, next_update_ms) || !crl_exts_add(crl, ca, number)) {
        errbuf_set(eb, E_INTERNAL, "crl: cannot prepare it");
        goto out;
    }
    if ((rc = crl_entries_add(crl, v, n, eb)) != E_OK ||
        (rc = pki_ca_sign_crl(ca, crl, eb)) != E_OK)
        goto out;
    rc = crl_der(crl, der, eb);
out:
    X509_CRL_free(crl);
    ERR_clear_error();
    return rc;
}
