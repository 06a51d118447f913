/* signer.c - see signer.h, ca.h and pki_ca_create (issue.h). CA private
 * keys live in `struct ca` below, defined only here, and nowhere else in the
 * process. */
#include "signer.h"
#include "status.h"

#include <limits.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../core/pem.h"
#include "cacert.h"
#include "issue.h"

#define CERT_MAX     (16 * 1024) /* a PEM client certificate is under 2 KiB */
#define KEY_MAX      (4 * 1024)  /* a PEM P-256 key is about 250 bytes */
#define SEALED_MAX   (8 * 1024)
#define CA_PEM_MAX   (64 * 1024)
#define BACKDATE_S   3600 /* clients whose clocks run a little slow */
#define CA_DAYS      3652 /* ten years */
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192 /* larger keys only make every verification slow */
#define CAS_MAX      16   /* CAs one process holds; a fixed table, read without locks */
#define TBS_DER_MAX  (16 * 1024)
#define SIG_MAX      1024 /* RSA 8192 */

struct ca {
    char              name[PKI_CA_NAME_MAX + 1];
    X509             *crt;
    EVP_PKEY         *key;
    EVP_MD           *md;      /* its signatures' digest, fetched once; NULL for EdDSA */
    struct buf        pem;     /* the certificate */
    struct buf        tbs_der; /* what tbs points into */
    struct pki_ca_tbs tbs;
};

static struct ca *cas[CAS_MAX];

/* ---- CA handles ------------------------------------------------------------- */

static bool
name_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > PKI_CA_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
              s[i] == '_'))
            return false;
    return true;
}

/* Associated data of a sealed CA key: binds it to the CA's name. */
static int
aad_of(const char *name, char out[PKI_CA_NAME_MAX + 16])
{
    int n = snprintf(out, PKI_CA_NAME_MAX + 16, "keyward/ca/%s", name);

    return n > 0 && n < PKI_CA_NAME_MAX + 16 ? E_OK : E_INTERNAL;
}

static struct ca *
ca_alloc(const char *name)
{
    struct ca *ca;

    if (!name_ok(name) || (ca = calloc(1, sizeof(*ca))) == NULL)
        return NULL;
    memcpy(ca->name, name, strlen(name) + 1);
    buf_init(&ca->pem, CA_PEM_MAX);
    buf_init(&ca->tbs_der, TBS_DER_MAX);
    return ca;
}

/* The digest a CA's key signs with: none for EdDSA (it hashes the message
 * itself), SHA-384 for P-384, SHA-512 for larger curves, SHA-256 otherwise
 * (P-256, RSA). */
static const char *
md_name(const EVP_PKEY *k)
{
    if (EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_is_a(k, "ED448"))
        return NULL;
    if (EVP_PKEY_is_a(k, "EC") && EVP_PKEY_get_bits(k) > 256)
        return EVP_PKEY_get_bits(k) > 384 ? "SHA2-512" : "SHA2-384";
    return "SHA2-256";
}

/* The AlgorithmIdentifier the key's signatures carry, as the provider
 * writes it (what X509_sign would put in a certificate). */
static int
sig_alg_append(EVP_PKEY *key, const EVP_MD *md, struct buf *out)
{
    EVP_MD_CTX   *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char aid[256];
    OSSL_PARAM    params[] = {
           OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid, sizeof(aid)),
           OSSL_PARAM_END,
    };
    int rc = E_INTERNAL;

    if (ctx != NULL && EVP_DigestSignInit(ctx, &pctx, md, NULL, key) == 1 &&
        EVP_PKEY_CTX_get_params(pctx, params) == 1 && OSSL_PARAM_modified(&params[0]))
        rc = buf_append(out, aid, params[0].return_size);
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* The key identifier relying parties match: the CA's SKI, else the SHA-1 of
 * its key (RFC 5280 4.2.1.2, method 1). */
static int
key_id_append(X509 *crt, struct buf *out)
{
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(crt);
    unsigned char            md[EVP_MAX_MD_SIZE];
    unsigned int             n = 0;

    if (ski != NULL)
        return buf_append(out, ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski));
    if (X509_pubkey_digest(crt, EVP_sha1(), md, &n) != 1)
        return E_INTERNAL;
    return buf_append(out, md, n);
}

static int
name_append(X509 *crt, struct buf *out)
{
    unsigned char *der = NULL;
    int            n = i2d_X509_NAME(X509_get_subject_name(crt), &der);
    int            rc = n > 0 ? buf_append(out, der, (size_t)n) : E_INTERNAL;

    OPENSSL_free(der);
    return rc;
}

/* The digest of the CA's signatures, fetched once (none for EdDSA). */
static int
md_fetch(struct ca *ca)
{
    const char *name = md_name(ca->key);

    if (name == NULL || ca->md != NULL)
        return E_OK;
    return (ca->md = EVP_MD_fetch(NULL, name, NULL)) != NULL ? E_OK : E_INTERNAL;
}

/* What signing needs, made once: the digest, and pki_ca_tbs's DER. */
static int
ca_ready(struct ca *ca)
{
    size_t alg, name;

    if (md_fetch(ca) != E_OK)
        return E_INTERNAL;
    buf_reset(&ca->tbs_der);
    if (sig_alg_append(ca->key, ca->md, &ca->tbs_der) != E_OK)
        return E_INTERNAL;
    alg = ca->tbs_der.len;
    if (name_append(ca->crt, &ca->tbs_der) != E_OK)
        return E_INTERNAL;
    name = ca->tbs_der.len;
    if (key_id_append(ca->crt, &ca->tbs_der) != E_OK)
        return E_INTERNAL;
    ca->tbs.sig_alg = (struct str){ ca->tbs_der.p, alg };
    ca->tbs.name = (struct str){ ca->tbs_der.p + alg, name - alg };
    ca->tbs.key_id = (struct str){ ca->tbs_der.p + name, ca->tbs_der.len - name };
    return E_OK;
}

/* A CA certificate we can sign with: a CA, not expired, `key` its own. The
 * certificate's cached extension data is filled now, while one thread runs:
 * later signers only read it. */
static int
ca_check(struct ca *ca, struct errbuf *eb)
{
    if (ca->crt == NULL)
        return errbuf_set(eb, E_INTERNAL, "ca %s: the certificate is not PEM", ca->name);
    if (ca->key == NULL)
        return errbuf_set(eb, E_INTERNAL, "ca %s: the key is not a PEM private key", ca->name);
    if (X509_check_private_key(ca->crt, ca->key) != 1)
        return errbuf_set(eb, E_INTERNAL, "ca %s: the key does not match the certificate",
                          ca->name);
    if (X509_check_ca(ca->crt) < 1)
        return errbuf_set(eb, E_INTERNAL, "ca %s: not a CA certificate", ca->name);
    if (X509_cmp_current_time(X509_get0_notAfter(ca->crt)) <= 0)
        return errbuf_set(eb, E_INTERNAL, "ca %s: the certificate has expired", ca->name);
    X509_check_purpose(ca->crt, -1, 0);
    if (ca_ready(ca) != E_OK)
        return errbuf_set(eb, E_INTERNAL, "ca %s: cannot prepare its signatures", ca->name);
    return E_OK;
}

static X509_NAME *
ca_name_new(const char *cn)
{
    X509_NAME *n = X509_NAME_new();

    if (n == NULL ||
        X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"Keyward", -1,
                                   -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1) {
        X509_NAME_free(n);
        return NULL;
    }
    return n;
}

/* A copy of a key's public half, for code that must not hold the private one. */
static EVP_PKEY *
public_of(const EVP_PKEY *k)
{
    unsigned char       *der = NULL;
    const unsigned char *p;
    int                  n = i2d_PUBKEY(k, &der);
    EVP_PKEY            *pub = NULL;

    if (n > 0) {
        p = der;
        pub = d2i_PUBKEY(NULL, &p, n);
    }
    OPENSSL_free(der);
    return pub;
}

static int
self_sign(struct ca *ca, X509 *x, struct errbuf *eb)
{
    if (md_fetch(ca) != E_OK || X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
        X509_sign(x, ca->key, ca->md) <= 0)
        return errbuf_set(eb, E_INTERNAL, "ca %s: cannot sign its certificate", ca->name);
    return E_OK;
}

/* A parent whose pathLenConstraint is 0 may sign no CA: the chain would not
 * verify. */
static int
parent_allows(const struct ca *parent, struct errbuf *eb)
{
    if (parent != NULL && X509_get_pathlen(parent->crt) == 0)
        return errbuf_attr(eb, E_VALIDATION, "parentID",
                           "Attribute 'parentID' names a CA whose pathLength (0) allows no "
                           "CA below it");
    return E_OK;
}

/* The new key, its certificate signed by `parent` or by itself. */
static int
ca_cert_make(struct ca *ca, const X509_NAME *subject, const struct pki_ca_req *p,
             const struct ca *parent, struct errbuf *eb)
{
    EVP_PKEY *pub = NULL;
    X509     *x = NULL;
    int       rc;

    if ((ca->key = pki_key_generate(p->type)) == NULL || (pub = public_of(ca->key)) == NULL) {
        rc = errbuf_set(eb, E_INTERNAL, "ca %s: cannot generate its key", ca->name);
        goto out;
    }
    if ((rc = pki_ca_cert_new(subject, p, pub, &x, eb)) != E_OK)
        goto out;
    rc = parent != NULL ? pki_ca_sign_cert(parent, x, eb) : self_sign(ca, x, eb);
    if (rc == E_OK && pki_cert_pem(x, &ca->pem) != E_OK)
        rc = errbuf_set(eb, E_INTERNAL, "ca %s: cannot encode its certificate", ca->name);
    if (rc == E_OK) {
        ca->crt = x;
        x = NULL;
    }
out:
    X509_free(x);
    EVP_PKEY_free(pub);
    return rc;
}

static int
ca_create(const char *name, const X509_NAME *subject, const struct pki_ca_req *p,
          const struct ca *parent, struct ca **out, struct errbuf *eb)
{
    struct ca *ca = NULL;
    int        rc;

    *out = NULL;
    if (p->type == PKI_KEY_NONE)
        return errbuf_attr(eb, E_VALIDATION, "keyType",
                           "Attribute 'keyType' is not a key type");
    if ((rc = parent_allows(parent, eb)) != E_OK)
        return rc;
    if ((ca = ca_alloc(name)) == NULL)
        return errbuf_set(eb, E_INTERNAL, "ca: bad name or out of memory");
    if ((rc = ca_cert_make(ca, subject, p, parent, eb)) == E_OK &&
        (rc = ca_check(ca, eb)) == E_OK) {
        *out = ca;
        ca = NULL;
    }
    pki_ca_free(ca);
    ERR_clear_error();
    return rc;
}

int
pki_ca_create(const char *name, const struct pki_ca_req *p, const struct ca *parent,
              struct ca **out, struct errbuf *eb)
{
    X509_NAME *subject = NULL;
    int        rc;

    *out = NULL;
    if ((rc = pki_subject_parse(p->subject, "subject", &subject, eb)) == E_OK)
        rc = ca_create(name, subject, p, parent, out, eb);
    X509_NAME_free(subject);
    return rc;
}

int
pki_ca_new(const char *name, const char *cn, struct ca **out, struct errbuf *eb)
{
    int64_t           now_ms = (int64_t)time(NULL) * 1000;
    struct pki_ca_req p = {
        .type = PKI_KEY_EC_P256,
        .not_before_ms = now_ms - BACKDATE_S * 1000LL,
        .not_after_ms = now_ms + CA_DAYS * 86400000LL,
        .path_len = 0,
    };
    X509_NAME *subject = ca_name_new(cn);
    int        rc;

    *out = NULL;
    if (subject == NULL)
        rc = errbuf_set(eb, E_INTERNAL, "ca %s: cannot create it", name);
    else
        rc = ca_create(name, subject, &p, NULL, out, eb);
    X509_NAME_free(subject);
    return rc;
}

/* Certificate and key PEM into a checked handle; key_pem is the caller's. */
static int
ca_from(const char *name, struct str cert_pem, struct str key_pem, struct ca **out,
        struct errbuf *eb)
{
    struct ca *ca = NULL;
    struct buf kb = { .p = (char *)key_pem.p, .len = key_pem.len };
    int        rc = E_INTERNAL;

    *out = NULL;
    if ((ca = ca_alloc(name)) == NULL) {
        errbuf_set(eb, E_INTERNAL, "ca: bad name or out of memory");
        goto out;
    }
    if (buf_append(&ca->pem, cert_pem.p, cert_pem.len) != E_OK) {
        errbuf_set(eb, E_INTERNAL, "ca %s: certificate too large", name);
        goto out;
    }
    ca->crt = pki_pem_cert(&ca->pem, 0);
    ca->key = key_pem.len > 0 ? pki_pem_key(&kb) : NULL;
    if ((rc = ca_check(ca, eb)) != E_OK)
        goto out;
    *out = ca;
    ca = NULL;
out:
    pki_ca_free(ca);
    ERR_clear_error();
    return rc;
}

int
pki_ca_import(const char *name, struct str cert_pem, struct str key_pem, struct ca **out,
              struct errbuf *eb)
{
    return ca_from(name, cert_pem, key_pem, out, eb);
}

int
pki_ca_open(const char *name, struct str cert_pem, struct str sealed_key,
            const unsigned char mk[SEAL_KEY_LEN], struct ca **out, struct errbuf *eb)
{
    char       aad[PKI_CA_NAME_MAX + 16];
    struct buf kpem;
    int        rc;

    *out = NULL;
    buf_init(&kpem, KEY_MAX);
    if (!name_ok(name) || aad_of(name, aad) != E_OK)
        rc = errbuf_set(eb, E_INTERNAL, "ca: bad name");
    else if (unseal(mk, sealed_key, str_c(aad), &kpem) != E_OK)
        rc = errbuf_set(eb, E_INTERNAL, "ca %s: cannot open its key: wrong master key?", name);
    else
        rc = ca_from(name, cert_pem, buf_str(&kpem), out, eb);
    buf_wipe(&kpem);
    return rc;
}

int
pki_ca_seal(const struct ca *ca, const unsigned char mk[SEAL_KEY_LEN], struct buf *out)
{
    char       aad[PKI_CA_NAME_MAX + 16];
    struct buf kpem;
    int        rc = E_INTERNAL;

    buf_init(&kpem, KEY_MAX);
    if (aad_of(ca->name, aad) == E_OK && pki_key_pem(ca->key, &kpem) == E_OK)
        rc = seal(mk, buf_str(&kpem), str_c(aad), out);
    buf_wipe(&kpem);
    return rc;
}

bool
pki_ca_key_is(const struct ca *ca, struct str key_pem)
{
    struct buf kb = { .p = (char *)key_pem.p, .len = key_pem.len };
    EVP_PKEY  *k = key_pem.len > 0 ? pki_pem_key(&kb) : NULL;
    bool       same = k != NULL && EVP_PKEY_eq(k, ca->key) == 1;

    EVP_PKEY_free(k);
    ERR_clear_error();
    return same;
}

void
pki_ca_free(struct ca *ca)
{
    if (ca == NULL)
        return;
    EVP_PKEY_free(ca->key); /* OpenSSL clears the private scalar as it frees it */
    EVP_MD_free(ca->md);
    X509_free(ca->crt);
    buf_free(&ca->pem);
    buf_free(&ca->tbs_der);
    free(ca);
}

const char *
pki_ca_name(const struct ca *ca)
{
    return ca->name;
}

const char *
pki_ca_pem(const struct ca *ca)
{
    return buf_cstr(&ca->pem);
}

const X509 *
pki_ca_cert(const struct ca *ca)
{
    return ca->crt;
}

/* The authority key identifier: the CA's key identifier (pki_ca_tbs), which
 * OpenSSL's "keyid:always" cannot find for a CA without an SKI. */
static int
aki_add(const struct ca *ca, X509 *x)
{
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    int              rc = E_INTERNAL;

    if (akid != NULL && (akid->keyid = ASN1_OCTET_STRING_new()) != NULL &&
        ASN1_OCTET_STRING_set(akid->keyid, (const unsigned char *)ca->tbs.key_id.p,
                              (int)ca->tbs.key_id.len) == 1 &&
        X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, X509V3_ADD_REPLACE) == 1)
        rc = E_OK;
    AUTHORITY_KEYID_free(akid);
    return rc;
}

int
pki_ca_sign_cert(const struct ca *ca, X509 *tbs, struct errbuf *eb)
{
    if (X509_set_issuer_name(tbs, X509_get_subject_name(ca->crt)) != 1 ||
        aki_add(ca, tbs) != E_OK || X509_sign(tbs, ca->key, ca->md) <= 0) {
        ERR_clear_error();
        return errbuf_set(eb, E_INTERNAL, "ca %s: cannot sign the certificate", ca->name);
    }
    return E_OK;
}

const struct pki_ca_tbs *
pki_ca_tbs(const struct ca *ca)
{
    return &ca->tbs;
}

int
pki_ca_sign_tbs(const struct ca *ca, const unsigned char *tbs, size_t len, struct buf *sig,
                struct errbuf *eb)
{
    EVP_MD_CTX   *ctx = EVP_MD_CTX_new();
    unsigned char s[SIG_MAX];
    size_t        n = sizeof(s);
    int           rc = E_INTERNAL;

    if (ctx != NULL && EVP_PKEY_get_size(ca->key) <= (int)sizeof(s) &&
        EVP_DigestSignInit(ctx, NULL, ca->md, NULL, ca->key) == 1 &&
        EVP_DigestSign(ctx, s, &n, tbs, len) == 1)
        rc = buf_append(sig, s, n);
    EVP_MD_CTX_free(ctx);
    if (rc != E_OK) {
        ERR_clear_error();
        return errbuf_set(eb, E_INTERNAL, "ca %s: cannot sign", ca->name);
    }
    return E_OK;
}

/* ---- the process's CAs ------------------------------------------------------ */

int
pki_ca_register(struct ca *ca)
{
    for (size_t i = 0; i < CAS_MAX; i++)
        if (cas[i] != NULL && strcmp(cas[i]->name, ca->name) == 0)
            return E_DUPLICATE;
    for (size_t i = 0; i < CAS_MAX; i++)
        if (cas[i] == NULL) {
            cas[i] = ca;
            return E_OK;
        }
    return E_INTERNAL;
}

const struct ca *
pki_ca_find(const char *name)
{
    for (size_t i = 0; i < CAS_MAX; i++)
        if (cas[i] != NULL && strcmp(cas[i]->name, name) == 0)
            return cas[i];
    return NULL;
}

void
pki_ca_unregister_all(void)
{
    for (size_t i = 0; i < CAS_MAX; i++) {
        pki_ca_free(cas[i]);
        cas[i] = NULL;
    }
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

static bool
csr_sig_weak(const X509_REQ *req)
{
    const X509_ALGOR *alg = NULL;

    X509_REQ_get0_signature(req, NULL, &alg);
    return alg == NULL || pki_sig_weak(alg);
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
    else if (X509_REQ_get_version(req) != X509_REQ_VERSION_1)
        rc = bad_csr(eb, "must be a PKCS#10 version 1 request (version 0, RFC 2986)");
    else if (csr_sig_weak(req))
        rc = bad_csr(eb, "is signed with a weak algorithm (MD5 or SHA-1): sign it with "
                         "SHA-256 or better");
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
cert_new(const struct ca *ca, EVP_PKEY *pub, const X509_NAME *subject, struct errbuf *eb)
{
    X509 *x = X509_new();

    if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 || pki_serial_random(x) != E_OK ||
        X509_set_subject_name(x, subject) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_S) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), PKI_CLIENT_DAYS, 0, NULL) == NULL ||
        X509_set_pubkey(x, pub) != 1 ||
        pki_ext_add(x, ca->crt, NID_basic_constraints, "critical,CA:FALSE") != E_OK ||
        pki_ext_add(x, ca->crt, NID_key_usage, "critical,digitalSignature") != E_OK ||
        pki_ext_add(x, ca->crt, NID_ext_key_usage, "clientAuth") != E_OK ||
        pki_ext_add(x, ca->crt, NID_subject_key_identifier, "hash") != E_OK ||
        pki_ca_sign_cert(ca, x, eb) != E_OK) {
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
pki_sign_client(const struct ca *ca, const char *cn, const char *o, struct str csr_pem,
                struct client_cert *out, struct errbuf *eb)
{
    EVP_PKEY  *key = NULL;
    X509_NAME *name = NULL;
    X509      *crt = NULL;
    int        rc = E_INTERNAL;

    client_cert_init(out);
    if (ca == NULL) {
        errbuf_set(eb, E_INTERNAL, "signer: no client CA");
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
    if ((name = subject_new(cn, o)) == NULL || (crt = cert_new(ca, key, name, eb)) == NULL ||
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

/* ---- revocation status ------------------------------------------------------ */

#define SIG_ALG_MAX 128 /* an AlgorithmIdentifier: 12 to 15 bytes for ours */

/* The digest a CA key signs with: none for Ed25519 (it hashes by itself),
 * SHA-384 for P-384 (a hash as strong as the curve), SHA-256 otherwise. */
static const EVP_MD *
digest_for(const EVP_PKEY *k)
{
    char   group[64];
    size_t len = 0;

    if (EVP_PKEY_is_a(k, "ED25519"))
        return NULL;
    if (EVP_PKEY_is_a(k, "EC") &&
        EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &len) == 1 &&
        strcmp(group, "secp384r1") == 0)
        return EVP_sha384();
    return EVP_sha256();
}

/* A signing context for the CA's key and the AlgorithmIdentifier (DER) of
 * the signatures it makes. */
static EVP_MD_CTX *
sign_ctx_new(const struct ca *ca, unsigned char alg[SIG_ALG_MAX], size_t *alg_len)
{
    EVP_MD_CTX   *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    OSSL_PARAM    params[2];

    params[0] =
        OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, alg, SIG_ALG_MAX);
    params[1] = OSSL_PARAM_construct_end();
    if (mctx == NULL ||
        EVP_DigestSignInit(mctx, &pctx, digest_for(ca->key), NULL, ca->key) != 1 ||
        EVP_PKEY_CTX_get_params(pctx, params) != 1 || !OSSL_PARAM_modified(params) ||
        params[0].return_size == 0 || params[0].return_size > SIG_ALG_MAX) {
        EVP_MD_CTX_free(mctx);
        ERR_clear_error();
        return NULL;
    }
    *alg_len = params[0].return_size;
    return mctx;
}

int
pki_ca_sig_alg(const struct ca *ca, struct buf *der)
{
    unsigned char alg[SIG_ALG_MAX];
    size_t        len = 0;
    EVP_MD_CTX   *mctx = sign_ctx_new(ca, alg, &len);
    int           rc = mctx != NULL ? buf_append(der, alg, len) : E_INTERNAL;

    EVP_MD_CTX_free(mctx);
    return rc;
}

/* True when `tbs` is a TBSCertList this CA may sign: one SEQUENCE that
 * starts with version v2, the CA's signature algorithm `alg`, its name as
 * the issuer, then a time (thisUpdate). Nothing else the CA signs starts so
 * (a TBSCertificate has a serial or [0] first and a SEQUENCE after the
 * issuer; an OCSP ResponseData a tag [0] to [2]). */
static bool
is_crl_of(const struct ca *ca, struct str tbs, const unsigned char *alg, size_t alg_len)
{
    static const unsigned char v2[] = { 0x02, 0x01, 0x01 };
    const unsigned char       *p = (const unsigned char *)tbs.p;
    unsigned char             *name = NULL;
    int                        name_len = i2d_X509_NAME(X509_get_subject_name(ca->crt), &name);
    size_t                     head = 2, len = 0, at;
    bool                       ok = false;

    if (tbs.len < 2 || p[0] != 0x30 || name_len <= 0)
        goto out;
    if (p[1] < 0x80)
        len = p[1];
    else if ((head += p[1] & 0x7f) > 6 || tbs.len < head)
        goto out;
    for (size_t i = 2; i < head; i++)
        len = len << 8 | p[i];
    at = head + sizeof(v2) + alg_len + (size_t)name_len;
    ok = len == tbs.len - head && tbs.len > at && memcmp(p + head, v2, sizeof(v2)) == 0 &&
         memcmp(p + head + sizeof(v2), alg, alg_len) == 0 &&
         memcmp(p + head + sizeof(v2) + alg_len, name, (size_t)name_len) == 0 &&
         (p[at] == 0x17 || p[at] == 0x18);
out:
    OPENSSL_free(name);
    return ok;
}

int
pki_ca_sign_crl(const struct ca *ca, struct str tbs, struct buf *sig, struct errbuf *eb)
{
    unsigned char  alg[SIG_ALG_MAX];
    size_t         alg_len = 0, len = 0;
    EVP_MD_CTX    *mctx = sign_ctx_new(ca, alg, &alg_len);
    unsigned char *s = NULL;
    int            rc = E_INTERNAL;

    if (mctx == NULL || !is_crl_of(ca, tbs, alg, alg_len)) {
        errbuf_set(eb, E_INTERNAL, "ca %s: not a CRL of this CA", ca->name);
        goto out;
    }
    if (EVP_DigestSign(mctx, NULL, &len, (const unsigned char *)tbs.p, tbs.len) != 1 ||
        (s = OPENSSL_malloc(len)) == NULL ||
        EVP_DigestSign(mctx, s, &len, (const unsigned char *)tbs.p, tbs.len) != 1 ||
        buf_append(sig, s, len) != E_OK) {
        errbuf_set(eb, E_INTERNAL, "ca %s: cannot sign the CRL", ca->name);
        goto out;
    }
    rc = E_OK;
out:
    OPENSSL_free(s);
    EVP_MD_CTX_free(mctx);
    ERR_clear_error();
    return rc;
}

/* ---- OCSP responders -------------------------------------------------------- */

/* A CA's delegated OCSP responder (status.h): its key is made here, lives in
 * memory only, and signs nothing but OCSP answers. */
struct pki_responder {
    X509     *crt;
    EVP_PKEY *key; /* P-256 */
    int64_t   not_after_ms;
};

int
pki_responder_new(const struct ca *ca, int64_t now_ms, int64_t not_after_ms,
                  struct pki_responder **out, struct errbuf *eb)
{
    struct pki_responder *r = calloc(1, sizeof(*r));
    int64_t               ca_end = pki_time_ms(X509_get0_notAfter(ca->crt));
    int                   rc = E_INTERNAL;

    *out = NULL;
    if (ca_end >= 0 && not_after_ms > ca_end)
        not_after_ms = ca_end; /* it cannot outlive its CA */
    if (r == NULL || now_ms < BACKDATE_S * 1000LL || not_after_ms <= now_ms) {
        errbuf_set(eb, E_INTERNAL, "ocsp: no responder valid from %lld to %lld ms",
                   (long long)now_ms, (long long)not_after_ms);
        goto out;
    }
    if ((r->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
        errbuf_set(eb, E_INTERNAL, "ocsp: cannot generate the responder key");
        goto out;
    }
    if ((r->crt = pki_responder_cert(ca, r->key, now_ms, not_after_ms, eb)) == NULL)
        goto out;
    r->not_after_ms = not_after_ms;
    *out = r;
    r = NULL;
    rc = E_OK;
out:
    pki_responder_free(r);
    ERR_clear_error();
    return rc;
}

void
pki_responder_free(struct pki_responder *r)
{
    if (r == NULL)
        return;
    EVP_PKEY_free(r->key); /* OpenSSL clears the private scalar as it frees it */
    X509_free(r->crt);
    free(r);
}

int64_t
pki_responder_not_after(const struct pki_responder *r)
{
    return r->not_after_ms;
}

int
pki_responder_sign(const struct pki_responder *r, OCSP_BASICRESP *bs)
{
    if (OCSP_basic_sign(bs, r->crt, r->key, EVP_sha256(), NULL, OCSP_RESPID_KEY) != 1) {
        ERR_clear_error();
        return E_INTERNAL;
    }
    return E_OK;
}
