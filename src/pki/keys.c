/* keys.c - the key types of issuance (issue.h): their names, recognising a
 * key's type, generating a key. */
#include "issue.h"

#include <openssl/core_names.h>
#include <openssl/err.h>

/* Indexed by enum pki_key_type, minus PKI_KEY_NONE. */
const char *const pki_key_type_names[] = {
    "EC_P256", "EC_P384", "RSA_2048", "RSA_3072", "RSA_4096", "ED25519", NULL,
};

enum pki_key_type
pki_key_type_parse(const char *name)
{
    for (size_t i = 0; name != NULL && pki_key_type_names[i] != NULL; i++)
        if (strcmp(name, pki_key_type_names[i]) == 0)
            return (enum pki_key_type)(i + 1);
    return PKI_KEY_NONE;
}

const char *
pki_key_type_name(enum pki_key_type t)
{
    if (t <= PKI_KEY_NONE || t > PKI_KEY_ED25519)
        return "";
    return pki_key_type_names[t - 1];
}

static enum pki_key_type
ec_type_of(const EVP_PKEY *k)
{
    char   group[64];
    size_t len = 0;

    if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &len) != 1) {
        ERR_clear_error();
        return PKI_KEY_NONE;
    }
    if (strcmp(group, SN_X9_62_prime256v1) == 0)
        return PKI_KEY_EC_P256;
    if (strcmp(group, SN_secp384r1) == 0)
        return PKI_KEY_EC_P384;
    return PKI_KEY_NONE;
}

static enum pki_key_type
rsa_type_of(const EVP_PKEY *k)
{
    switch (EVP_PKEY_get_bits(k)) {
    case 2048:
        return PKI_KEY_RSA_2048;
    case 3072:
        return PKI_KEY_RSA_3072;
    case 4096:
        return PKI_KEY_RSA_4096;
    default:
        return PKI_KEY_NONE;
    }
}

/* RSA-PSS keys ("RSA-PSS") are not "RSA": PKI_KEY_NONE. */
enum pki_key_type
pki_key_type_of(const EVP_PKEY *k)
{
    if (k == NULL)
        return PKI_KEY_NONE;
    if (EVP_PKEY_is_a(k, "EC"))
        return ec_type_of(k);
    if (EVP_PKEY_is_a(k, "RSA"))
        return rsa_type_of(k);
    if (EVP_PKEY_is_a(k, "ED25519"))
        return PKI_KEY_ED25519;
    return PKI_KEY_NONE;
}

/* An EC key given by its curve's parameters rather than its name: relying
 * parties refuse certificates it signs ("Certificate public key has explicit
 * ECC parameters", RFC 5480 2.1.1). */
static bool
ec_explicit(const EVP_PKEY *k)
{
    int explicit = 0;

    if (!EVP_PKEY_is_a(k, "EC"))
        return false;
    if (EVP_PKEY_get_int_param(k, OSSL_PKEY_PARAM_EC_DECODED_FROM_EXPLICIT_PARAMS, &explicit) !=
        1)
        ERR_clear_error();
    return explicit != 0;
}

enum pki_key_type
pki_cert_key_type(struct str pem, bool *weak_sig)
{
    struct buf        b = { .p = (char *)pem.p, .len = pem.len };
    X509             *x = pki_pem_cert(&b, 0);
    const EVP_PKEY   *k = x != NULL ? X509_get0_pubkey(x) : NULL;
    enum pki_key_type t = k != NULL && !ec_explicit(k) ? pki_key_type_of(k) : PKI_KEY_NONE;
    const X509_ALGOR *alg = NULL;

    if (x != NULL)
        X509_get0_signature(NULL, &alg, x);
    *weak_sig = alg == NULL || pki_sig_weak(alg);
    X509_free(x);
    ERR_clear_error();
    return t;
}

/* Which usages each family of keys may carry (pki_key_usage_fits). */
enum { FITS_RSA = 1, FITS_EC = 2, FITS_ED = 4 };

static const struct {
    const char *name;
    int         fits;
} KEY_USAGE_FITS[] = {
    { "digitalSignature", FITS_RSA | FITS_EC | FITS_ED },
    { "nonRepudiation", FITS_RSA | FITS_EC | FITS_ED },
    { "contentCommitment", FITS_RSA | FITS_EC | FITS_ED },
    { "keyEncipherment", FITS_RSA },
    { "dataEncipherment", FITS_RSA },
    { "keyAgreement", FITS_EC },
    { "encipherOnly", FITS_EC },
    { "decipherOnly", FITS_EC },
};

bool
pki_key_usage_fits(enum pki_key_type t, const char *usage)
{
    int family = 0;

    switch (t) {
    case PKI_KEY_RSA_2048:
    case PKI_KEY_RSA_3072:
    case PKI_KEY_RSA_4096:
        family = FITS_RSA;
        break;
    case PKI_KEY_EC_P256:
    case PKI_KEY_EC_P384:
        family = FITS_EC;
        break;
    case PKI_KEY_ED25519:
        family = FITS_ED;
        break;
    case PKI_KEY_NONE:
        return false;
    }
    for (size_t i = 0; usage != NULL && i < ARRAY_LEN(KEY_USAGE_FITS); i++)
        if (strcmp(usage, KEY_USAGE_FITS[i].name) == 0)
            return (KEY_USAGE_FITS[i].fits & family) != 0;
    return false;
}

bool
pki_key_type_slow(enum pki_key_type t)
{
    return t == PKI_KEY_RSA_2048 || t == PKI_KEY_RSA_3072 || t == PKI_KEY_RSA_4096;
}

EVP_PKEY *
pki_key_generate(enum pki_key_type t)
{
    EVP_PKEY *k = NULL;

    switch (t) {
    case PKI_KEY_EC_P256:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        break;
    case PKI_KEY_EC_P384:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        break;
    case PKI_KEY_RSA_2048:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        break;
    case PKI_KEY_RSA_3072:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
        break;
    case PKI_KEY_RSA_4096:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
        break;
    case PKI_KEY_ED25519:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;
    case PKI_KEY_NONE:
        break;
    }
    if (k == NULL)
        ERR_clear_error();
    return k;
}
