/* signer.c - see signer.h. The client CA's key lives in `ca_key` below and
 * nowhere else in the process. */
#include "signer.h"

#include <limits.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../core/pem.h"

#define CERT_MAX (16 * 1024) /* a PEM client certificate is under 2 KiB */
#define KEY_MAX (4 * 1024)   /* a PEM P-256 key is about 250 bytes */
#define BACKDATE_S 3600      /* clients whose clocks run a little slow */
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192 /* larger keys only make every verification slow */

static X509      *ca_crt;
static EVP_PKEY  *ca_key;
static struct buf ca_pem_copy;

/* ---- the CA ----------------------------------------------------------------- */

int
pki_signer_init(const struct buf *ca_pem, const struct buf *key_pem, struct errbuf *eb)
{
    int rc = E_INTERNAL;

    pki_signer_fini();
    buf_init(&ca_pem_copy, CERT_MAX);
    ca_crt = pki_pem_cert(ca_pem, 0);
    ca_key = pki_pem_key(key_pem);
    if (ca_crt == NULL || ca_key == NULL || X509_check_private_key(ca_crt, ca_key) != 1 ||
        buf_append(&ca_pem_copy, ca_pem->p, ca_pem->len) != E_OK) {
        errbuf_set(eb, E_INTERNAL, "signer: the client CA or its key is unusable");
        goto out;
    }
    /* Fill the certificate's cached extension data now, while one thread runs:
     * later signers only read it. */
    X509_check_purpose(ca_crt, -1, 0);
    rc = E_OK;
out:
    if (rc != E_OK) {
        pki_signer_fini();
        ERR_clear_error();
    }
    return rc;
}

void
pki_signer_fini(void)
{
    EVP_PKEY_free(ca_key); /* OpenSSL clears the private scalar as it frees it */
    X509_free(ca_crt);
    buf_free(&ca_pem_copy);
    ca_key = NULL;
    ca_crt = NULL;
}

const char *
pki_client_ca_pem(void)
{
    return buf_cstr(&ca_pem_copy);
}

/* ---- the request ------------------------------------------------------------ */

static bool
ec_group_ok(EVP_PKEY *k)
{
    char   name[64];
    size_t len = 0;

    if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                       &len) != 1)
        return false;
    return strcmp(name, "prime256v1") == 0 || strcmp(name, "secp384r1") == 0;
}

static bool
key_ok(EVP_PKEY *k)
{
    if (EVP_PKEY_is_a(k, "EC"))
        return ec_group_ok(k);
    if (EVP_PKEY_is_a(k, "RSA"))
        return EVP_PKEY_get_bits(k) >= RSA_MIN_BITS && EVP_PKEY_get_bits(k) <= RSA_MAX_BITS;
    return false;
}

static int
bad_csr(struct errbuf *eb, const char *why)
{
    return errbuf_attr(eb, E_VALIDATION, "csr", "Attribute 'csr' %s", why);
}

/* The public key of a PEM CSR whose self-signature verifies (proof that the
 * requester holds the private key). */
static int
csr_key(struct str pem, EVP_PKEY **out, struct errbuf *eb)
{
    BIO      *bio = NULL;
    X509_REQ *req = NULL;
    EVP_PKEY *pub = NULL;
    int       rc;

    *out = NULL;
    if (pem.len == 0 || pem.len > INT_MAX)
        return bad_csr(eb, "must be a PEM certificate request");
    bio = BIO_new_mem_buf(pem.p, (int)pem.len);
    req = bio != NULL ? PEM_read_bio_X509_REQ(bio, NULL, pem_no_passphrase, NULL) : NULL;
    pub = req != NULL ? X509_REQ_get_pubkey(req) : NULL;
    if (req == NULL || pub == NULL)
        rc = bad_csr(eb, "must be a PEM certificate request");
    else if (X509_REQ_verify(req, pub) != 1)
        rc = bad_csr(eb, "has a signature that does not verify");
    else if (!key_ok(pub))
        rc = bad_csr(eb, "must hold an EC P-256, EC P-384 or RSA (2048 to 8192 bits) key");
    else {
        *out = pub;
        pub = NULL;
        rc = E_OK;
    }
    EVP_PKEY_free(pub);
    X509_REQ_free(req);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

/* ---- the certificate -------------------------------------------------------- */

/* UTF8String entries set as given: OpenSSL's MBSTRING path would refuse a CN
 * or O over the 64 characters of RFC 5280's upper bounds, which the console's
 * names ("app:credential:<ID>:<name>", deep namespaces) can exceed. */
static X509_NAME *
subject_new(const char *cn, const char *o)
{
    X509_NAME *n = X509_NAME_new();

    if (n == NULL)
        return NULL;
    if (X509_NAME_add_entry_by_NID(n, NID_organizationName, V_ASN1_UTF8STRING,
                                   (const unsigned char *)o, -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_UTF8STRING,
                                   (const unsigned char *)cn, -1, -1, 0) != 1) {
        X509_NAME_free(n);
        return NULL;
    }
    return n;
}

static X509 *
cert_new(EVP_PKEY *pub, const X509_NAME *subject)
{
    X509 *x = X509_new();

    if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 || pki_serial_random(x) != E_OK ||
        X509_set_subject_name(x, subject) != 1 ||
        X509_set_issuer_name(x, X509_get_subject_name(ca_crt)) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_S) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), PKI_CLIENT_DAYS, 0, NULL) == NULL ||
        X509_set_pubkey(x, pub) != 1 ||
        pki_ext_add(x, ca_crt, NID_basic_constraints, "critical,CA:FALSE") != E_OK ||
        pki_ext_add(x, ca_crt, NID_key_usage, "critical,digitalSignature") != E_OK ||
        pki_ext_add(x, ca_crt, NID_ext_key_usage, "clientAuth") != E_OK ||
        pki_ext_add(x, ca_crt, NID_subject_key_identifier, "hash") != E_OK ||
        pki_ext_add(x, ca_crt, NID_authority_key_identifier, "keyid:always") != E_OK ||
        X509_sign(x, ca_key, EVP_sha256()) <= 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static void
client_cert_init(struct client_cert *c)
{
    buf_init(&c->cert_pem, CERT_MAX);
    buf_init(&c->key_pem, KEY_MAX);
    c->serial[0] = '\0';
    c->not_after_ms = 0;
}

int
pki_sign_client(const char *cn, const char *o, struct str csr_pem, struct client_cert *out,
                struct errbuf *eb)
{
    EVP_PKEY  *key = NULL;
    X509_NAME *name = NULL;
    X509      *crt = NULL;
    int        rc = E_INTERNAL;

    client_cert_init(out);
    if (ca_key == NULL) {
        errbuf_set(eb, E_INTERNAL, "signer: not initialised");
        goto out;
    }
    if (csr_pem.len > 0) {
        if ((rc = csr_key(csr_pem, &key, eb)) != E_OK)
            goto out;
        rc = E_INTERNAL;
    } else if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
               pki_key_pem(key, &out->key_pem) != E_OK) {
        errbuf_set(eb, E_INTERNAL, "signer: cannot generate a key");
        goto out;
    }
    if ((name = subject_new(cn, o)) == NULL || (crt = cert_new(key, name)) == NULL ||
        pki_cert_pem(crt, &out->cert_pem) != E_OK || pki_serial_hex(crt, out->serial) != E_OK ||
        (out->not_after_ms = pki_time_ms(X509_get0_notAfter(crt))) < 0) {
        errbuf_set(eb, E_INTERNAL, "signer: cannot sign the client certificate");
        goto out;
    }
    rc = E_OK;
out:
    if (rc != E_OK) {
        pki_client_cert_free(out);
        ERR_clear_error();
    }
    X509_free(crt);
    X509_NAME_free(name);
    EVP_PKEY_free(key);
    return rc;
}

void
pki_client_cert_free(struct client_cert *c)
{
    buf_free(&c->cert_pem);
    buf_wipe(&c->key_pem);
    c->serial[0] = '\0';
    c->not_after_ms = 0;
}
