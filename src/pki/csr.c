/* csr.c - reading a PKCS#10 certificate signing request (issue.h): one PEM
 * block, its self-signature, its subject and the subject alternative names of
 * its extensionRequest. Everything it refuses is a 422 on "csr" that says why;
 * the request's other extensions are ignored (the template decides them). */
#include "issue.h"

#include <arpa/inet.h>
#include <limits.h>

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certutil.h"

#define CSR_PEM_MAX (64 * 1024) /* a CSR with 400 names is about 20 KiB */

static const char *const CSR_LABELS[] = {
    "-----BEGIN CERTIFICATE REQUEST-----",
    "-----BEGIN NEW CERTIFICATE REQUEST-----",
};

static int
bad(struct errbuf *eb, const char *why)
{
    ERR_clear_error();
    return errbuf_attr(eb, E_VALIDATION, "csr", "Attribute 'csr' %s", why);
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct str
skip_space(struct str s)
{
    while (s.len > 0 && is_space(s.p[0])) {
        s.p++;
        s.len--;
    }
    return s;
}

/* The first line must open a CSR block, and be nothing else (OpenSSL's
 * reader would skip a line it does not take for a BEGIN line, and decode the
 * next block whatever it is); a private key is named as such, its contents
 * never decoded. */
static int
check_label(struct str s, struct errbuf *eb)
{
    const char *eol = s.len > 0 ? memchr(s.p, '\n', s.len) : NULL;
    struct str  line = { s.p, eol != NULL ? (size_t)(eol - s.p) : s.len };

    while (line.len > 0 && is_space(line.p[line.len - 1]))
        line.len--;
    for (size_t i = 0; i < ARRAY_LEN(CSR_LABELS); i++)
        if (str_eq_c(line, CSR_LABELS[i]))
            return E_OK;
    if (line.len > 0 && memmem(line.p, line.len, "PRIVATE KEY", 11) != NULL)
        return bad(eb, "must be a certificate request, not a private key");
    return bad(eb, "must be a PEM certificate request (-----BEGIN CERTIFICATE REQUEST-----)");
}

/* The DER of the one PEM block of `pem`, OPENSSL_free'd by the caller. */
static int
pem_body(struct str pem, unsigned char **der, long *len, struct errbuf *eb)
{
    BIO  *bio = NULL;
    char *name = NULL, *header = NULL, *rest = NULL;
    long  nrest;
    int   rc = E_OK;

    *der = NULL;
    pem = skip_space(pem);
    if ((rc = check_label(pem, eb)) != E_OK)
        return rc;
    if ((bio = BIO_new_mem_buf(pem.p, (int)pem.len)) == NULL)
        return errbuf_set(eb, E_INTERNAL, "csr: out of memory");
    if (PEM_read_bio(bio, &name, &header, der, len) != 1 ||
        (strcmp(name, "CERTIFICATE REQUEST") != 0 &&
         strcmp(name, "NEW CERTIFICATE REQUEST") != 0))
        rc = bad(eb, "is not valid PEM (bad base64 or no END line)");
    else if (header[0] != '\0')
        rc = bad(eb, "must not carry PEM headers (an encrypted block?)");
    else if ((nrest = BIO_get_mem_data(bio, &rest)) > 0 &&
             skip_space((struct str){ rest, (size_t)nrest }).len > 0)
        rc = bad(eb, "must hold one certificate request and nothing after it");
    if (rc != E_OK) {
        OPENSSL_free(*der);
        *der = NULL;
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    BIO_free(bio);
    return rc;
}

/* The parsed request, its signature verified. */
/* ---- the request, without OpenSSL's key decoders ------------------------------
 *
 * d2i_X509_REQ decodes the public key through OpenSSL 3's decoder framework,
 * which builds a chain of decoders for every key it reads: four fifths of an
 * issuance's time on the request's thread. The request is read here with
 * templates of its own that keep the SubjectPublicKeyInfo as it came, and the
 * common keys (EC on a named curve, RSA, Ed25519) are made from their
 * parameters; any other key goes to d2i_PUBKEY. The signature is checked by
 * ASN1_item_verify_ex over the request's info as it was encoded. */

typedef struct {
    ASN1_ENCODING    enc;
    X509_ALGOR      *algor;
    ASN1_BIT_STRING *key;
} csr_spki;

ASN1_SEQUENCE_enc(csr_spki, enc, 0) = {
    ASN1_SIMPLE(csr_spki, algor, X509_ALGOR),
    ASN1_SIMPLE(csr_spki, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END_ref(csr_spki, csr_spki)

typedef struct {
    ASN1_ENCODING enc;
    ASN1_INTEGER *version;
    X509_NAME    *subject;
    csr_spki     *spki;
    STACK_OF(X509_ATTRIBUTE) * attributes;
} csr_info;

ASN1_SEQUENCE_enc(csr_info, enc, 0) = {
    ASN1_SIMPLE(csr_info, version, ASN1_INTEGER),
    ASN1_SIMPLE(csr_info, subject, X509_NAME),
    ASN1_SIMPLE(csr_info, spki, csr_spki),
    ASN1_IMP_SET_OF_OPT(csr_info, attributes, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END_ref(csr_info, csr_info)

typedef struct {
    csr_info        *info;
    X509_ALGOR      *sig_alg;
    ASN1_BIT_STRING *signature;
} csr_req;

ASN1_SEQUENCE(csr_req) = {
    ASN1_SIMPLE(csr_req, info, csr_info),
    ASN1_SIMPLE(csr_req, sig_alg, X509_ALGOR),
    ASN1_SIMPLE(csr_req, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(csr_req)

typedef struct {
    BIGNUM *n, *e;
} csr_rsa;

ASN1_SEQUENCE(csr_rsa) = {
    ASN1_SIMPLE(csr_rsa, n, BIGNUM),
    ASN1_SIMPLE(csr_rsa, e, BIGNUM),
} static_ASN1_SEQUENCE_END(csr_rsa)

static void
req_free(csr_req *r)
{
    ASN1_item_free((ASN1_VALUE *)r, ASN1_ITEM_rptr(csr_req));
}

/* A public key from OSSL_PARAMs: `type` "EC" or "RSA". */
static EVP_PKEY *
key_from(const char *type, const OSSL_PARAM *params)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY     *k = NULL;

    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, (OSSL_PARAM *)params) != 1)
        k = NULL;
    EVP_PKEY_CTX_free(ctx);
    return k;
}

static EVP_PKEY *
ec_key(const csr_spki *spki)
{
    const ASN1_OBJECT *curve;
    const void        *pv;
    int                ptype;

    X509_ALGOR_get0(NULL, &ptype, &pv, spki->algor);
    if (ptype != V_ASN1_OBJECT || (curve = pv) == NULL)
        return NULL; /* explicit parameters: OpenSSL's way */
    int nid = OBJ_obj2nid(curve);
    if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1 && nid != NID_secp521r1)
        return NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)OBJ_nid2sn(nid), 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, spki->key->data,
                                (size_t)spki->key->length),
        OSSL_PARAM_END,
    };
    return key_from("EC", params);
}

static EVP_PKEY *
rsa_key(const csr_spki *spki)
{
    const unsigned char *p = spki->key->data;
    csr_rsa *r = (csr_rsa *)ASN1_item_d2i(NULL, &p, spki->key->length, ASN1_ITEM_rptr(csr_rsa));
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM     *params = NULL;
    EVP_PKEY       *k = NULL;

    if (r != NULL && p == spki->key->data + spki->key->length && b != NULL &&
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, r->n) == 1 &&
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, r->e) == 1 &&
        (params = OSSL_PARAM_BLD_to_param(b)) != NULL)
        k = key_from("RSA", params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    ASN1_item_free((ASN1_VALUE *)r, ASN1_ITEM_rptr(csr_rsa));
    return k;
}

/* The request's public key; NULL when it cannot be read. */
static EVP_PKEY *
spki_key(const csr_spki *spki)
{
    const ASN1_OBJECT   *alg;
    const unsigned char *p = (const unsigned char *)spki->enc.enc;
    EVP_PKEY            *k = NULL;
    int                  ptype;

    X509_ALGOR_get0(&alg, &ptype, NULL, spki->algor);
    switch (OBJ_obj2nid(alg)) {
    case NID_X9_62_id_ecPublicKey:
        k = ec_key(spki);
        break;
    case NID_rsaEncryption:
        k = ptype == V_ASN1_NULL ? rsa_key(spki) : NULL;
        break;
    case NID_ED25519:
        if (ptype == V_ASN1_UNDEF && spki->key->length == 32)
            k = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, spki->key->data, 32);
        break;
    }
    if (k == NULL && p != NULL) /* anything else, or what failed above: OpenSSL's way */
        k = d2i_PUBKEY(NULL, &p, spki->enc.len);
    return k;
}

/* The request's extensions: its one extensionRequest attribute, parsed
 * (an empty stack when it has none). Refused: two of them, one that does
 * not parse, an extension twice. */
static int
exts_of(const csr_info *info, STACK_OF(X509_EXTENSION) * *out, struct errbuf *eb)
{
    const X509_ATTRIBUTE *ext_req = NULL;
    const ASN1_TYPE      *t;

    *out = NULL;
    for (int i = 0; i < sk_X509_ATTRIBUTE_num(info->attributes); i++) {
        X509_ATTRIBUTE *a = sk_X509_ATTRIBUTE_value(info->attributes, i);
        int             nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(a));
        if (nid != NID_ext_req && nid != NID_ms_ext_req)
            continue;
        if (ext_req != NULL)
            return bad(eb, "has more than one extension request");
        ext_req = a;
    }
    if (ext_req == NULL)
        return (*out = sk_X509_EXTENSION_new_null()) != NULL ? E_OK : bad(eb, "cannot be read");
    if (X509_ATTRIBUTE_count(ext_req) != 1 ||
        (t = X509_ATTRIBUTE_get0_type((X509_ATTRIBUTE *)ext_req, 0)) == NULL ||
        t->type != V_ASN1_SEQUENCE ||
        (*out = ASN1_item_unpack(t->value.sequence, ASN1_ITEM_rptr(X509_EXTENSIONS))) == NULL)
        return bad(eb, "has an extension request that does not parse");
    for (int j = 0; j < sk_X509_EXTENSION_num(*out); j++) {
        const ASN1_OBJECT *o = X509_EXTENSION_get_object(sk_X509_EXTENSION_value(*out, j));
        for (int k = 0; k < j; k++)
            if (OBJ_cmp(o, X509_EXTENSION_get_object(sk_X509_EXTENSION_value(*out, k))) == 0) {
                sk_X509_EXTENSION_pop_free(*out, X509_EXTENSION_free);
                *out = NULL;
                return bad(eb, "requests an extension twice");
            }
    }
    return E_OK;
}

/* RFC 2986: version 0 (v1) only; a signature not made with a digest whose
 * collisions can be made. Judged before the signature is verified. */
static int
req_form(const csr_req *req, struct errbuf *eb)
{
    if (ASN1_INTEGER_get(req->info->version) != 0)
        return bad(eb, "must be a PKCS#10 version 1 request (version 0, RFC 2986)");
    if (pki_sig_weak(req->sig_alg))
        return bad(eb, "is signed with a weak algorithm (MD5 or SHA-1): sign it with "
                       "SHA-256 or better");
    return E_OK;
}

/* Its form, its key (*key, the caller's to free), its signature. */
static int
req_verify(const csr_req *req, EVP_PKEY **key, struct errbuf *eb)
{
    int rc;

    if ((rc = req_form(req, eb)) != E_OK)
        return rc;
    if ((*key = spki_key(req->info->spki)) == NULL)
        return bad(eb, "holds a public key that cannot be read");
    if (ASN1_item_verify_ex(ASN1_ITEM_rptr(csr_info), req->sig_alg, req->signature, req->info,
                            NULL, *key, NULL, NULL) != 1)
        return bad(eb, "has a signature that does not verify");
    return E_OK;
}

static int
req_read(struct str pem, csr_req **out, EVP_PKEY **key, struct errbuf *eb)
{
    unsigned char       *der = NULL;
    const unsigned char *p;
    long                 len = 0;
    csr_req             *req = NULL;
    int                  rc;

    *out = NULL;
    *key = NULL;
    if (pem.len > CSR_PEM_MAX)
        return bad(eb, "is too large (at most 64 KiB)");
    if ((rc = pem_body(pem, &der, &len, eb)) != E_OK)
        return rc;
    p = der;
    req = (csr_req *)ASN1_item_d2i(NULL, &p, len, ASN1_ITEM_rptr(csr_req));
    if (req == NULL || p != der + len)
        rc = bad(eb, "is not a certificate request (its DER does not parse)");
    else
        rc = req_verify(req, key, eb);
    OPENSSL_free(der);
    if (rc != E_OK) {
        EVP_PKEY_free(*key);
        *key = NULL;
        req_free(req);
        return rc;
    }
    *out = req;
    return E_OK;
}

/* ---- the subject ------------------------------------------------------------ */

/* A UTF-8 copy of an attribute's value: non-empty, no NUL. */
static int
utf8_of(struct arena *a, const ASN1_STRING *s, const char *what, const char **out,
        struct errbuf *eb)
{
    unsigned char *u = NULL;
    int            n = ASN1_STRING_to_UTF8(&u, s);
    int            rc = E_OK;

    if (n < 0)
        rc = errbuf_attr(eb, E_VALIDATION, "csr",
                         "Attribute 'csr' has a subject %s that is not a valid string", what);
    else if (n == 0 || memchr(u, 0, (size_t)n) != NULL)
        rc = errbuf_attr(eb, E_VALIDATION, "csr",
                         "Attribute 'csr' has a subject %s that is empty or holds a NUL", what);
    else
        *out = arena_strndup(a, (const char *)u, (size_t)n);
    OPENSSL_free(u);
    ERR_clear_error();
    return rc;
}

/* The subject attributes a certificate's subject is made of; others are
 * ignored. */
static const struct {
    int         nid;
    size_t      off; /* of the field in struct pki_names */
    const char *what;
} SUBJECT_FIELDS[] = {
    { NID_commonName, offsetof(struct pki_names, cn), "common name (CN)" },
    { NID_organizationName, offsetof(struct pki_names, o), "organization (O)" },
    { NID_organizationalUnitName, offsetof(struct pki_names, ou), "organizational unit (OU)" },
    { NID_localityName, offsetof(struct pki_names, l), "locality (L)" },
    { NID_stateOrProvinceName, offsetof(struct pki_names, st), "state (ST)" },
    { NID_countryName, offsetof(struct pki_names, c), "country (C)" },
};

static int
subject_field(int nid)
{
    for (size_t i = 0; i < ARRAY_LEN(SUBJECT_FIELDS); i++)
        if (SUBJECT_FIELDS[i].nid == nid)
            return (int)i;
    return -1;
}

static int
subject_read(struct arena *a, const X509_NAME *name, struct pki_names *n, struct errbuf *eb)
{
    for (int i = 0; i < X509_NAME_entry_count(name); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        int                    f = subject_field(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)));
        const char           **v;
        int                    rc;

        if (f < 0)
            continue;
        v = (const char **)((char *)n + SUBJECT_FIELDS[f].off);
        if (*v != NULL)
            return errbuf_attr(eb, E_VALIDATION, "csr",
                               "Attribute 'csr' has more than one %s in its subject",
                               SUBJECT_FIELDS[f].what);
        if ((rc = utf8_of(a, X509_NAME_ENTRY_get_data(e), SUBJECT_FIELDS[f].what, v, eb)) !=
            E_OK)
            return rc;
    }
    return E_OK;
}

/* ---- the extension request ---------------------------------------------------- */

/* The SANs of the request (NULL when there are none), each a type we take. */
static int
sans_read(const csr_info *info, GENERAL_NAMES **out, struct errbuf *eb)
{
    STACK_OF(X509_EXTENSION) *exts = NULL;
    int rc, i;

    *out = NULL;
    if ((rc = exts_of(info, &exts, eb)) != E_OK)
        return rc;
    i = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);
    if (i >= 0 && (*out = X509V3_EXT_d2i(sk_X509_EXTENSION_value(exts, i))) == NULL)
        rc = bad(eb, "has a subjectAltName that does not parse");
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return rc;
}

/* The SAN types issued, and where their names go. */
static const struct {
    int         type;
    size_t      list, count; /* offsets in struct pki_names */
    const char *what;
} SAN_FIELDS[] = {
    { GEN_DNS, offsetof(struct pki_names, dns), offsetof(struct pki_names, ndns), "DNS" },
    { GEN_IPADD, offsetof(struct pki_names, ip), offsetof(struct pki_names, nip),
      "IP address" },
    { GEN_URI, offsetof(struct pki_names, uri), offsetof(struct pki_names, nuri), "URI" },
    { GEN_EMAIL, offsetof(struct pki_names, email), offsetof(struct pki_names, nemail),
      "email" },
};

static int
san_field(int type)
{
    for (size_t i = 0; i < ARRAY_LEN(SAN_FIELDS); i++)
        if (SAN_FIELDS[i].type == type)
            return (int)i;
    return -1;
}

static const char ***
san_list(struct pki_names *n, int f)
{
    return (const char ***)((char *)n + SAN_FIELDS[f].list);
}

static size_t *
san_count(struct pki_names *n, int f)
{
    return (size_t *)((char *)n + SAN_FIELDS[f].count);
}

/* First pass: refuse other types and too many of one; size the lists. */
static int
sans_size(struct arena *a, const GENERAL_NAMES *g, struct pki_names *n, struct errbuf *eb)
{
    for (int i = 0; i < sk_GENERAL_NAME_num(g); i++) {
        int f = san_field(sk_GENERAL_NAME_value(g, i)->type);
        if (f < 0)
            return bad(eb, "has a subject alternative name of a type other than DNS, IP "
                           "address, URI and email");
        if (++*san_count(n, f) > PKI_SAN_MAX)
            return errbuf_attr(eb, E_VALIDATION, "csr",
                               "Attribute 'csr' has more than %d %s names", PKI_SAN_MAX,
                               SAN_FIELDS[f].what);
    }
    for (int f = 0; f < (int)ARRAY_LEN(SAN_FIELDS); f++)
        if (*san_count(n, f) > 0) {
            *san_list(n, f) = arena_calloc(a, *san_count(n, f), sizeof(char *));
            *san_count(n, f) = 0;
        }
    return E_OK;
}

/* Printable ASCII, as IA5String names ought to be. */
static bool
ia5_ok(const ASN1_IA5STRING *s)
{
    const unsigned char *p = ASN1_STRING_get0_data(s);
    int                  n = ASN1_STRING_length(s);

    if (n <= 0)
        return false;
    for (int i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7e)
            return false;
    return true;
}

static const char *
ip_text(struct arena *a, const ASN1_OCTET_STRING *s)
{
    char text[INET6_ADDRSTRLEN];
    int  n = ASN1_STRING_length(s);
    int  af = n == 4 ? AF_INET : n == 16 ? AF_INET6 : 0;

    if (af == 0 || inet_ntop(af, ASN1_STRING_get0_data(s), text, sizeof(text)) == NULL)
        return NULL;
    return arena_strndup(a, text, strlen(text));
}

static int
san_add(struct arena *a, const GENERAL_NAME *gn, struct pki_names *n, struct errbuf *eb)
{
    int         f = san_field(gn->type);
    const char *v;

    if (gn->type == GEN_IPADD) {
        if ((v = ip_text(a, gn->d.iPAddress)) == NULL)
            return bad(eb, "has an IP address name that is neither 4 nor 16 bytes long");
    } else if (!ia5_ok(gn->d.ia5)) {
        return errbuf_attr(eb, E_VALIDATION, "csr",
                           "Attribute 'csr' has a %s name that is empty or not printable ASCII",
                           SAN_FIELDS[f].what);
    } else {
        v = arena_strndup(a, (const char *)ASN1_STRING_get0_data(gn->d.ia5),
                          (size_t)ASN1_STRING_length(gn->d.ia5));
    }
    (*san_list(n, f))[(*san_count(n, f))++] = v;
    return E_OK;
}

static int
sans_take(struct arena *a, const GENERAL_NAMES *g, struct pki_names *n, struct errbuf *eb)
{
    int rc = sans_size(a, g, n, eb);

    for (int i = 0; rc == E_OK && i < sk_GENERAL_NAME_num(g); i++)
        rc = san_add(a, sk_GENERAL_NAME_value(g, i), n, eb);
    return rc;
}

/* ---- the request ------------------------------------------------------------ */

static int
names_read(struct arena *a, const csr_info *info, struct pki_names *n, struct errbuf *eb)
{
    GENERAL_NAMES *g = NULL;
    int            rc;

    if ((rc = subject_read(a, info->subject, n, eb)) != E_OK)
        return rc;
    if ((rc = sans_read(info, &g, eb)) == E_OK && g != NULL)
        rc = sans_take(a, g, n, eb);
    GENERAL_NAMES_free(g);
    return rc;
}

int
pki_csr_read(struct arena *a, struct str pem, struct pki_csr *out, struct errbuf *eb)
{
    csr_req  *req = NULL;
    EVP_PKEY *key = NULL;
    int       rc;

    memset(out, 0, sizeof(*out));
    if ((rc = req_read(pem, &req, &key, eb)) == E_OK &&
        (rc = names_read(a, req->info, &out->names, eb)) == E_OK) {
        out->key = key;
        out->type = pki_key_type_of(key);
        out->bits = EVP_PKEY_get_bits(key);
        key = NULL;
    } else
        memset(out, 0, sizeof(*out));
    EVP_PKEY_free(key);
    req_free(req);
    ERR_clear_error();
    return rc;
}

void
pki_csr_free(struct pki_csr *c)
{
    EVP_PKEY_free(c->key);
    c->key = NULL;
}
