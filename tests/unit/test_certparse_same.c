/* test_certparse_same.c - inv_parse() (inventory/certparse.c: its own ASN.1
 * templates, the key sized without OpenSSL's decoder) against the d2i_X509
 * implementation it replaced (certparse_d2i.h): the same return code, the same
 * message, and the same map, every field equal and in the same order, for
 *   (a) every certificate of Debian's CA bundle;
 *   (b) leaves (issued by a CA) and self-signed certificates made with the openssl
 *       command line: RSA 2048/3072/4096, RSA-PSS with and without restrictions,
 *       EC P-256/P-384/P-521, P-224, P-192, secp256k1, brainpoolP256r1, an EC key
 *       with explicit parameters and one with a compressed point, SM2, Ed25519,
 *       Ed448, X25519, X448 and DSA;
 *   (c) odd public keys set by hand: points off the curve, at infinity, hybrid;
 *       RSA INTEGERs non-minimal, negative, empty; parameters where none belong;
 *       unknown algorithms; each named unlike and like its issuer;
 *   (d) every one-byte corruption and every truncation of three certificates.
 * Also prints inv_parse per second against the old implementation (no
 * assertion on it; bench/certparse.c measures properly). */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certparse_d2i.h"
#include "core/buf.h"
#include "core/codec.h"
#include "inventory/certparse.h"

#define CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

static struct arena *A;
static size_t        compared, parsed;

static int
setup(void **state)
{
    (void)state;
    A = arena_new(1 << 16);
    return A == NULL;
}

static int
teardown(void **state)
{
    (void)state;
    arena_free(A);
    A = NULL;
    return 0;
}

static const char *
json_of(const struct val *v, struct buf *b)
{
    buf_reset(b);
    assert_int_equal(json_encode(v, b), E_OK);
    return buf_cstr(b);
}

/* The first field whose value differs, for the failure message. */
static const char *
first_difference(const struct val *x, const struct val *y)
{
    for (size_t i = 0; i < x->m.n || i < y->m.n; i++) {
        if (i >= x->m.n || i >= y->m.n)
            return "(a field missing at the end)";
        if (!str_eq(x->m.kv[i].k, y->m.kv[i].k) || !val_equal(&x->m.kv[i].v, &y->m.kv[i].v))
            return arena_strndup(A, x->m.kv[i].k.p, x->m.kv[i].k.len);
    }
    return "(none)";
}

/* inv_parse and the reference agree on `der`. */
static void
same(const unsigned char *der, size_t len, const char *label)
{
    struct val    m, r;
    struct errbuf em = { 0 }, er = { 0 };
    struct buf    bm, br;
    int           rm = inv_parse(A, der, len, &m, &em);
    int           rr = ref_inv_parse(A, der, len, &r, &er);

    compared++;
    if (rm != rr)
        fail_msg("%s: inv_parse says %d, d2i_X509 %d", label, rm, rr);
    if (rm != E_OK) {
        assert_string_equal(em.msg, er.msg);
        assert_string_equal(em.attr, er.attr);
        return;
    }
    parsed++;
    buf_init(&bm, 0);
    buf_init(&br, 0);
    if (strcmp(json_of(&m, &bm), json_of(&r, &br)) != 0)
        fail_msg("%s: field %s differs\n  inv_parse: %s\n  d2i_X509:  %s", label,
                 first_difference(&m, &r), buf_cstr(&bm), buf_cstr(&br));
    assert_true(val_equal(&m, &r));
    buf_free(&bm);
    buf_free(&br);
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p;
    long  n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* Every certificate of the PEM file `path`, byte for byte. */
static size_t
same_pem_file(const char *path, const char *label)
{
    size_t            len;
    char             *pem = slurp(path, &len);
    struct inv_blocks b;
    struct errbuf     eb = { 0 };

    assert_int_equal(inv_split(A, (struct str){ pem, len }, false, &b, &eb), E_OK);
    for (size_t i = 0; i < b.n; i++) {
        assert_int_equal(b.v[i].reason, INV_R_OK);
        same(b.v[i].der, b.v[i].len, arena_printf(A, "%s #%zu", label, i));
    }
    free(pem);
    return b.n;
}

/* ---- (a) the CA bundle ------------------------------------------------------ */

static double
now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
ca_bundle_same(void **state)
{
    size_t n;

    (void)state;
    n = same_pem_file(CA_BUNDLE, "CA bundle");
    assert_true(n >= 100);
    assert_int_equal(parsed, compared);
    print_message("CA bundle: %zu certificates, every field the same\n", n);
}

/* Not an assertion: how much faster, on this machine, now. */
static void
ca_bundle_timing(void **state)
{
    size_t            len;
    char             *pem = slurp(CA_BUNDLE, &len);
    struct inv_blocks b;
    struct errbuf     eb = { 0 };
    double            t[2];

    (void)state;
    assert_int_equal(inv_split(A, (struct str){ pem, len }, false, &b, &eb), E_OK);
    for (int k = 0; k < 2; k++) {
        double t0 = now();

        for (size_t i = 0; i < b.n; i++) {
            struct val    m;
            struct arena *a = arena_new(1 << 14);

            if (k == 0)
                assert_int_equal(inv_parse(a, b.v[i].der, b.v[i].len, &m, &eb), E_OK);
            else
                assert_int_equal(ref_inv_parse(a, b.v[i].der, b.v[i].len, &m, &eb), E_OK);
            arena_free(a);
        }
        t[k] = now() - t0;
    }
    print_message(
        "CA bundle (%zu roots, one pass): inv_parse %.0f/s, d2i_X509 version %.0f/s\n", b.n,
        (double)b.n / t[0], (double)b.n / t[1]);
    free(pem);
}

/* ---- (b) the openssl command line ------------------------------------------- */

static char dir[] = "/tmp/kw-same-XXXXXX";

static void sh(const char *fmt, ...) KW_PRINTF(1, 2);

static void
sh(const char *fmt, ...)
{
    char    cmd[2048];
    va_list ap;
    int     rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    rc = system(arena_printf(A, "cd %s && (%s) >/dev/null 2>&1", dir, cmd));
    if (rc != 0)
        fail_msg("command failed (%d): %s", rc, cmd);
}

struct kind {
    const char *name;
    const char *genpkey; /* arguments, or NULL: from `from` */
    bool        sign;    /* can sign its own request and itself */
    const char *from;    /* an earlier kind's key, re-encoded by `pub` */
    const char *pub;     /* command turning from.key into NAME.pub */
};

static const struct kind kinds[] = {
    { "rsa2048", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048", true },
    { "rsa3072", "-algorithm RSA -pkeyopt rsa_keygen_bits:3072", true },
    { "rsa4096", "-algorithm RSA -pkeyopt rsa_keygen_bits:4096", true },
    { "rsapss", "-algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048", true },
    { "rsapss-restricted",
      "-algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_pss_keygen_md:sha256 "
      "-pkeyopt rsa_pss_keygen_mgf1_md:sha256 -pkeyopt rsa_pss_keygen_saltlen:32",
      true },
    { "p256", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256", true },
    { "p384", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384", true },
    { "p521", "-algorithm EC -pkeyopt ec_paramgen_curve:P-521", true },
    { "p224", "-algorithm EC -pkeyopt ec_paramgen_curve:P-224", true },
    { "p192", "-algorithm EC -pkeyopt ec_paramgen_curve:prime192v1", true },
    { "secp256k1", "-algorithm EC -pkeyopt ec_paramgen_curve:secp256k1", true },
    { "brainpool", "-algorithm EC -pkeyopt ec_paramgen_curve:brainpoolP256r1", true },
    { "secp160r1", "-algorithm EC -pkeyopt ec_paramgen_curve:secp160r1", true },
    { "ed25519", "-algorithm ED25519", true },
    { "ed448", "-algorithm ED448", true },
    { "dsa", "-paramfile dsa.param", true },
    { "sm2", "-algorithm SM2", false },
    { "x25519", "-algorithm X25519", false },
    { "x448", "-algorithm X448", false },
    { "p256-explicit", NULL, false, "p256", "openssl ec -param_enc explicit" },
    { "p256-compressed", NULL, false, "p256", "openssl ec -conv_form compressed" },
    { "p384-explicit", NULL, false, "p384", "openssl ec -param_enc explicit" },
};

static void
make_kind(const struct kind *k, int serial)
{
    const char *n = k->name;

    if (k->genpkey != NULL)
        sh("openssl genpkey %s -out %s.key", k->genpkey, n);
    if (k->pub != NULL)
        sh("%s -in %s.key -pubout -out %s.pub", k->pub, k->from, n);
    else
        sh("openssl pkey -in %s.key -pubout -out %s.pub", n, n);
    if (k->sign) {
        sh("openssl req -new -key %s.key -subj '/O=Same/CN=%s.example' -out %s.csr", n, n, n);
        sh("openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -set_serial %d -days 30 "
           "-extfile ext.cnf -extensions leaf -out %s-leaf.pem",
           n, serial, n);
        sh("openssl req -x509 -key %s.key -subj '/CN=%s self' -days 30 -out %s-self.pem", n, n,
           n);
    } else {
        /* A key that cannot sign its request: the CA's request, this key forced. */
        sh("openssl x509 -req -in ca.csr -CA ca.pem -CAkey ca.key -force_pubkey %s.pub "
           "-set_serial %d -days 30 -extfile ext.cnf -extensions leaf -out %s-leaf.pem",
           n, serial, n);
    }
}

static void
cli_kinds_same(void **state)
{
    size_t n = 0;

    (void)state;
    assert_non_null(mkdtemp(dir));
    sh("printf '[leaf]\\nbasicConstraints=critical,CA:FALSE\\n"
       "keyUsage=critical,digitalSignature,keyEncipherment\\n"
       "extendedKeyUsage=serverAuth,clientAuth,1.2.3.4\\n"
       "subjectAltName=DNS:leaf.example,DNS:*.leaf.example,IP:192.0.2.7,IP:2001:db8::7,"
       "email:a@leaf.example,URI:https://leaf.example/\\n"
       "subjectKeyIdentifier=hash\\nauthorityKeyIdentifier=keyid:always\\n' > ext.cnf");
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
       "-subj '/C=FR/O=Same/CN=Same CA' -days 30 -out ca.pem");
    sh("openssl req -new -key ca.key -subj '/CN=forced' -out ca.csr");
    sh("openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 "
       "-out dsa.param");
    n += same_pem_file(arena_printf(A, "%s/ca.pem", dir), "CA");
    for (size_t i = 0; i < ARRAY_LEN(kinds); i++) {
        const char *base = arena_printf(A, "%s/%s", dir, kinds[i].name);

        make_kind(&kinds[i], 1000 + (int)i);
        n += same_pem_file(arena_printf(A, "%s-leaf.pem", base), kinds[i].name);
        if (kinds[i].sign)
            n += same_pem_file(arena_printf(A, "%s-self.pem", base), kinds[i].name);
    }
    print_message("openssl command line: %zu certificates of %zu kinds, every field the same\n",
                  n, ARRAY_LEN(kinds));
    assert_int_equal(parsed, compared);
    sh("rm -f *.key *.pub *.csr *.pem *.param *.cnf *.srl");
    rmdir(dir);
}

/* ---- (c) odd keys set by hand ----------------------------------------------- */

static EVP_PKEY *ca_key;

/* A leaf signed by ca_key; subject "odd" or, `self_named`, the issuer's name. */
static X509 *
odd_leaf(bool self_named)
{
    X509      *x = X509_new();
    X509_NAME *iss = X509_NAME_new(), *sub = X509_NAME_new();

    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 77), 1);
    assert_int_equal(X509_NAME_add_entry_by_txt(iss, "CN", MBSTRING_ASC,
                                                (const unsigned char *)"Odd CA", -1, -1, 0),
                     1);
    assert_int_equal(X509_NAME_add_entry_by_txt(sub, "CN", MBSTRING_ASC,
                                                (const unsigned char *)"odd", -1, -1, 0),
                     1);
    assert_int_equal(X509_set_issuer_name(x, iss), 1);
    assert_int_equal(X509_set_subject_name(x, self_named ? iss : sub), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
    assert_int_equal(X509_set_pubkey(x, ca_key), 1);
    X509_NAME_free(iss);
    X509_NAME_free(sub);
    return x;
}

/* The key of a certificate: algorithm `oid`, parameters (`ptype`: V_ASN1_UNDEF
 * for none, V_ASN1_NULL, V_ASN1_OBJECT `param_oid`, or V_ASN1_SEQUENCE whose
 * DER is `param`), and `key` as the BIT STRING. */
struct odd {
    const char          *label;
    const char          *oid;
    int                  ptype;
    const char          *param_oid;
    const unsigned char *param;
    size_t               param_len;
    const unsigned char *key;
    size_t               key_len;
};

static void
odd_same(const struct odd *o)
{
    for (int self_named = 0; self_named < 2; self_named++) {
        X509          *x = odd_leaf(self_named);
        void          *pval = NULL;
        unsigned char *key = OPENSSL_malloc(o->key_len + 1), *der = NULL;
        int            len;

        assert_non_null(key);
        memcpy(key, o->key, o->key_len);
        if (o->ptype == V_ASN1_OBJECT) {
            pval = OBJ_txt2obj(o->param_oid, 0);
            assert_non_null(pval);
        } else if (o->ptype == V_ASN1_SEQUENCE) {
            pval = ASN1_STRING_new();
            assert_int_equal(ASN1_STRING_set(pval, o->param, (int)o->param_len), 1);
        }
        assert_int_equal(X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), OBJ_txt2obj(o->oid, 0),
                                                o->ptype, pval, key, (int)o->key_len),
                         1);
        assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
        len = i2d_X509(x, &der);
        assert_true(len > 0);
        same(der, (size_t)len,
             arena_printf(A, "%s%s", o->label, self_named ? " (self-named)" : ""));
        OPENSSL_free(der);
        X509_free(x);
    }
}

/* DER of a tag and content, in the arena. */
static struct str
tlv(unsigned char tag, const void *p, size_t n)
{
    unsigned char *d = arena_alloc(A, n + 4), *o = d;

    assert_true(n < 65536);
    *o++ = tag;
    if (n < 128) {
        *o++ = (unsigned char)n;
    } else if (n < 256) {
        *o++ = 0x81;
        *o++ = (unsigned char)n;
    } else {
        *o++ = 0x82;
        *o++ = (unsigned char)(n >> 8);
        *o++ = (unsigned char)n;
    }
    memcpy(o, p, n);
    return (struct str){ (const char *)d, (size_t)(o - d) + n };
}

static struct str
cat(struct str x, struct str y)
{
    char *d = arena_alloc(A, x.len + y.len + 1);

    memcpy(d, x.p, x.len);
    memcpy(d + x.len, y.p, y.len);
    return (struct str){ d, x.len + y.len };
}

static struct str
bin(const void *p, size_t n)
{
    return (struct str){ p, n };
}

#define LIT(s) bin((s), sizeof(s) - 1)

static struct str
pub_param(EVP_PKEY *k, const char *name)
{
    unsigned char *p = arena_alloc(A, 1024);
    size_t         n = 0;

    assert_int_equal(EVP_PKEY_get_octet_string_param(k, name, p, 1024, &n), 1);
    return (struct str){ (const char *)p, n };
}

static struct str
bn_param(EVP_PKEY *k, const char *name)
{
    BIGNUM        *bn = NULL;
    unsigned char *p;
    int            n;

    assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
    n = BN_num_bytes(bn);
    p = arena_alloc(A, (size_t)n + 1);
    p[0] = 0; /* a leading zero when the top bit is set: minimal DER */
    BN_bn2bin(bn, p + 1);
    BN_free(bn);
    return (p[1] & 0x80) ? bin(p, (size_t)n + 1) : bin(p + 1, (size_t)n);
}

static void
odd(const char *label, const char *oid, int ptype, const char *param_oid, struct str param,
    struct str key)
{
    struct odd o = { label,
                     oid,
                     ptype,
                     param_oid,
                     (const unsigned char *)param.p,
                     param.len,
                     (const unsigned char *)key.p,
                     key.len };

    odd_same(&o);
}

#define NONE     bin("", 0)
#define RSA_OID  "1.2.840.113549.1.1.1"
#define PSS_OID  "1.2.840.113549.1.1.10"
#define EC_OID   "1.2.840.10045.2.1"
#define P256_OID "1.2.840.10045.3.1.7"
#define DSA_OID  "1.2.840.10040.4.1"
#define SEQ(s)   tlv(0x30, (s).p, (s).len)
#define INT(s)   tlv(0x02, (s).p, (s).len)

static void
odd_rsa(void)
{
    EVP_PKEY  *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    struct str n, e, good, negn;
    char      *neg;

    assert_non_null(k);
    n = bn_param(k, OSSL_PKEY_PARAM_RSA_N);
    e = bn_param(k, OSSL_PKEY_PARAM_RSA_E);
    good = SEQ(cat(INT(n), INT(e)));
    neg = arena_strndup(A, n.p + 1, n.len - 1); /* without its leading zero: negative */
    negn = bin(neg, n.len - 1);
    odd("rsa", RSA_OID, V_ASN1_NULL, NULL, NONE, good);
    odd("rsa, no parameters", RSA_OID, V_ASN1_UNDEF, NULL, NONE, good);
    odd("rsa, an OID as parameters", RSA_OID, V_ASN1_OBJECT, P256_OID, NONE, good);
    odd("rsa, a SEQUENCE as parameters", RSA_OID, V_ASN1_SEQUENCE, NULL, SEQ(INT(e)), good);
    odd("rsa, trailing bytes", RSA_OID, V_ASN1_NULL, NULL, NONE, cat(good, LIT("\x05\x00")));
    odd("rsa, modulus with two extra zeros", RSA_OID, V_ASN1_NULL, NULL, NONE,
        SEQ(cat(INT(cat(LIT("\x00\x00"), n)), INT(e))));
    odd("rsa, negative modulus", RSA_OID, V_ASN1_NULL, NULL, NONE, SEQ(cat(INT(negn), INT(e))));
    odd("rsa, zero modulus", RSA_OID, V_ASN1_NULL, NULL, NONE,
        SEQ(cat(INT(LIT("\x00")), INT(e))));
    odd("rsa, empty modulus", RSA_OID, V_ASN1_NULL, NULL, NONE, SEQ(cat(INT(NONE), INT(e))));
    odd("rsa, empty exponent", RSA_OID, V_ASN1_NULL, NULL, NONE, SEQ(cat(INT(n), INT(NONE))));
    odd("rsa, three INTEGERs", RSA_OID, V_ASN1_NULL, NULL, NONE,
        SEQ(cat(cat(INT(n), INT(e)), INT(e))));
    odd("rsa, modulus only", RSA_OID, V_ASN1_NULL, NULL, NONE, SEQ(INT(n)));
    odd("rsa, OCTET STRING modulus", RSA_OID, V_ASN1_NULL, NULL, NONE,
        SEQ(cat(tlv(0x04, n.p, n.len), INT(e))));
    odd("rsa, indefinite length", RSA_OID, V_ASN1_NULL, NULL, NONE,
        cat(cat(LIT("\x30\x80"), cat(INT(n), INT(e))), LIT("\x00\x00")));
    odd("rsa, truncated", RSA_OID, V_ASN1_NULL, NULL, NONE, bin(good.p, good.len - 1));
    odd("rsa, empty key", RSA_OID, V_ASN1_NULL, NULL, NONE, NONE);
    odd("rsa, garbage", RSA_OID, V_ASN1_NULL, NULL, NONE, LIT("\x01\x02\x03"));
    odd("rsa-pss, no parameters", PSS_OID, V_ASN1_UNDEF, NULL, NONE, good);
    odd("rsa-pss, NULL parameters", PSS_OID, V_ASN1_NULL, NULL, NONE, good);
    odd("rsa-pss, empty SEQUENCE", PSS_OID, V_ASN1_SEQUENCE, NULL, LIT("\x30\x00"), good);
    odd("rsa-pss, garbage SEQUENCE", PSS_OID, V_ASN1_SEQUENCE, NULL, SEQ(INT(e)), good);
    odd("rsa-pss, sha256 restrictions", PSS_OID, V_ASN1_SEQUENCE, NULL,
        LIT("\x30\x34\xa0\x0f\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00"
            "\xa1\x1c\x30\x1a\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x08\x30\x0d\x06\x09"
            "\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\xa2\x03\x02\x01\x20"),
        good);
    odd("rsa-pss, negative modulus", PSS_OID, V_ASN1_UNDEF, NULL, NONE,
        SEQ(cat(INT(negn), INT(e))));
    EVP_PKEY_free(k);
}

static void
odd_ec(void)
{
    EVP_PKEY      *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY      *sm2 = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
    struct str     pt, x, off, hybrid;
    unsigned char *p;

    assert_non_null(k);
    assert_non_null(sm2);
    pt = pub_param(k, OSSL_PKEY_PARAM_PUB_KEY);
    assert_int_equal(pt.len, 65);
    p = arena_alloc(A, 65);
    memcpy(p, pt.p, 65);
    p[64] ^= 1;
    off = bin(p, 65);
    p = arena_alloc(A, 65);
    memcpy(p, pt.p, 65);
    p[0] = (unsigned char)(6 | (pt.p[64] & 1));
    hybrid = bin(p, 65);
    p = arena_alloc(A, 33);
    memcpy(p, pt.p, 33);
    p[0] = (unsigned char)(2 | (pt.p[64] & 1));
    x = bin(p, 33);
    odd("ec", EC_OID, V_ASN1_OBJECT, P256_OID, NONE, pt);
    odd("ec, compressed", EC_OID, V_ASN1_OBJECT, P256_OID, NONE, x);
    odd("ec, hybrid", EC_OID, V_ASN1_OBJECT, P256_OID, NONE, hybrid);
    odd("ec, off the curve", EC_OID, V_ASN1_OBJECT, P256_OID, NONE, off);
    odd("ec, at infinity", EC_OID, V_ASN1_OBJECT, P256_OID, NONE, LIT("\x00"));
    odd("ec, 0x04 alone", EC_OID, V_ASN1_OBJECT, P256_OID, NONE, LIT("\x04"));
    odd("ec, bad form", EC_OID, V_ASN1_OBJECT, P256_OID, NONE,
        cat(LIT("\x05"), bin(pt.p + 1, 64)));
    odd("ec, trailing byte", EC_OID, V_ASN1_OBJECT, P256_OID, NONE, cat(pt, LIT("\x00")));
    odd("ec, truncated", EC_OID, V_ASN1_OBJECT, P256_OID, NONE, bin(pt.p, 64));
    odd("ec, empty key", EC_OID, V_ASN1_OBJECT, P256_OID, NONE, NONE);
    odd("ec, no parameters", EC_OID, V_ASN1_UNDEF, NULL, NONE, pt);
    odd("ec, NULL parameters", EC_OID, V_ASN1_NULL, NULL, NONE, pt);
    odd("ec, unknown curve", EC_OID, V_ASN1_OBJECT, "1.2.3.4", NONE, pt);
    odd("ec, P-256 point on secp256k1", EC_OID, V_ASN1_OBJECT, "1.3.132.0.10", NONE, pt);
    odd("ec, P-256 point on P-384", EC_OID, V_ASN1_OBJECT, "1.3.132.0.34", NONE, pt);
    odd("ec, SM2 curve and point", EC_OID, V_ASN1_OBJECT, "1.2.156.10197.1.301", NONE,
        pub_param(sm2, OSSL_PKEY_PARAM_PUB_KEY));
    odd("ec, garbage explicit parameters", EC_OID, V_ASN1_SEQUENCE, NULL,
        SEQ(LIT("\x02\x01\x01")), pt);
    EVP_PKEY_free(k);
    EVP_PKEY_free(sm2);
}

static void
odd_fixed(void)
{
    static const unsigned char z[64] = { 9 };
    static const struct {
        const char *name, *oid;
        size_t      len;
    } f[] = {
        { "ed25519", "1.3.101.112", 32 },
        { "ed448", "1.3.101.113", 57 },
        { "x25519", "1.3.101.110", 32 },
        { "x448", "1.3.101.111", 56 },
    };

    for (size_t i = 0; i < ARRAY_LEN(f); i++) {
        odd(f[i].name, f[i].oid, V_ASN1_UNDEF, NULL, NONE, bin(z, f[i].len));
        odd(arena_printf(A, "%s, NULL parameters", f[i].name), f[i].oid, V_ASN1_NULL, NULL,
            NONE, bin(z, f[i].len));
        odd(arena_printf(A, "%s, one byte short", f[i].name), f[i].oid, V_ASN1_UNDEF, NULL,
            NONE, bin(z, f[i].len - 1));
        odd(arena_printf(A, "%s, one byte long", f[i].name), f[i].oid, V_ASN1_UNDEF, NULL, NONE,
            bin(z, f[i].len + 1));
        odd(arena_printf(A, "%s, empty", f[i].name), f[i].oid, V_ASN1_UNDEF, NULL, NONE, NONE);
    }
}

static void
odd_dsa(void)
{
    struct str p = LIT("\x00\xc5\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff"),
               q = LIT("\x00\xe1\x02\x03\x04\x05"), g = LIT("\x02"),
               y = INT(LIT("\x1a\x2b\x3c\x4d")), params = SEQ(cat(cat(INT(p), INT(q)), INT(g)));

    odd("dsa", DSA_OID, V_ASN1_SEQUENCE, NULL, params, y);
    odd("dsa, no parameters", DSA_OID, V_ASN1_UNDEF, NULL, NONE, y);
    odd("dsa, NULL parameters", DSA_OID, V_ASN1_NULL, NULL, NONE, y);
    odd("dsa, an OID as parameters", DSA_OID, V_ASN1_OBJECT, P256_OID, NONE, y);
    odd("dsa, two parameters", DSA_OID, V_ASN1_SEQUENCE, NULL, SEQ(cat(INT(p), INT(q))), y);
    odd("dsa, four parameters", DSA_OID, V_ASN1_SEQUENCE, NULL,
        SEQ(cat(cat(cat(INT(p), INT(q)), INT(g)), INT(g))), y);
    odd("dsa, p with extra zeros", DSA_OID, V_ASN1_SEQUENCE, NULL,
        SEQ(cat(cat(INT(cat(LIT("\x00\x00"), p)), INT(q)), INT(g))), y);
    odd("dsa, negative p", DSA_OID, V_ASN1_SEQUENCE, NULL,
        SEQ(cat(cat(INT(bin(p.p + 1, p.len - 1)), INT(q)), INT(g))), y);
    odd("dsa, zero p", DSA_OID, V_ASN1_SEQUENCE, NULL,
        SEQ(cat(cat(INT(LIT("\x00")), INT(q)), INT(g))), y);
    odd("dsa, key not minimal", DSA_OID, V_ASN1_SEQUENCE, NULL, params,
        INT(LIT("\x00\x1a\x2b")));
    odd("dsa, key empty INTEGER", DSA_OID, V_ASN1_SEQUENCE, NULL, params, INT(NONE));
    odd("dsa, key an OCTET STRING", DSA_OID, V_ASN1_SEQUENCE, NULL, params,
        tlv(0x04, "\x01", 1));
    odd("dsa, key with trailing bytes", DSA_OID, V_ASN1_SEQUENCE, NULL, params,
        cat(y, LIT("\x00")));
    odd("dsa, empty key", DSA_OID, V_ASN1_SEQUENCE, NULL, params, NONE);
}

static void
odd_keys_same(void **state)
{
    size_t before = compared;

    (void)state;
    ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(ca_key);
    odd_rsa();
    odd_ec();
    odd_fixed();
    odd_dsa();
    odd("unknown algorithm", "1.2.3.4.5", V_ASN1_UNDEF, NULL, NONE, LIT("\x01\x02"));
    odd("dh", "1.2.840.10046.2.1", V_ASN1_SEQUENCE, NULL, SEQ(INT(LIT("\x17"))),
        INT(LIT("\x05")));
    odd("gost", "1.2.643.7.1.1.1.1", V_ASN1_UNDEF, NULL, NONE, tlv(0x04, "\x01\x02", 2));
    print_message("odd keys: %zu certificates, every field the same\n", compared - before);
    EVP_PKEY_free(ca_key);
}

/* ---- (d) corruptions and truncations ---------------------------------------- */

static void
mutants_same(const unsigned char *der, size_t len, const char *label)
{
    static const unsigned char flips[] = { 0x01, 0x80, 0xff };
    unsigned char             *m = malloc(len);

    assert_non_null(m);
    for (size_t i = 0; i < len; i++) {
        for (size_t f = 0; f < ARRAY_LEN(flips); f++) {
            memcpy(m, der, len);
            m[i] ^= flips[f];
            same(m, len, arena_printf(A, "%s, byte %zu ^ %02x", label, i, flips[f]));
        }
        same(der, i, arena_printf(A, "%s, first %zu bytes", label, i));
        if (i % 64 == 63)
            arena_reset(A);
    }
    free(m);
}

static void
corruptions_same(void **state)
{
    static const char *const keys[][2] = { { "EC", "P-256" }, { "ED25519", NULL } };
    EVP_PKEY                *ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    size_t                   before = compared, ok = parsed;

    (void)state;
    assert_non_null(ca);
    ca_key = ca;
    for (size_t i = 0; i < ARRAY_LEN(keys) + 1; i++) {
        X509              *x = odd_leaf(i == ARRAY_LEN(keys));
        EVP_PKEY          *k = i < ARRAY_LEN(keys)
                                   ? EVP_PKEY_Q_keygen(NULL, NULL, keys[i][0], keys[i][1])
                                   : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
        BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
        unsigned char     *der = NULL;
        int                len;

        assert_non_null(k);
        assert_non_null(bc);
        assert_int_equal(X509_set_pubkey(x, k), 1);
        assert_int_equal(X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT),
                         1);
        BASIC_CONSTRAINTS_free(bc);
        assert_true(X509_sign(x, ca, EVP_sha256()) > 0);
        len = i2d_X509(x, &der);
        assert_true(len > 0);
        mutants_same(der, (size_t)len, i < ARRAY_LEN(keys) ? keys[i][0] : "RSA (self-named)");
        OPENSSL_free(der);
        X509_free(x);
        EVP_PKEY_free(k);
    }
    print_message("corruptions and truncations: %zu inputs, %zu of them parsed, all the same\n",
                  compared - before, parsed - ok);
    EVP_PKEY_free(ca);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ca_bundle_same, setup, teardown),
        cmocka_unit_test_setup_teardown(ca_bundle_timing, setup, teardown),
        cmocka_unit_test_setup_teardown(cli_kinds_same, setup, teardown),
        cmocka_unit_test_setup_teardown(odd_keys_same, setup, teardown),
        cmocka_unit_test_setup_teardown(corruptions_same, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
