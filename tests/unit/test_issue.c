/* test_issue.c - issuance's X.509 (pki/issue.h): key types; CSRs made by the
 * openssl command line, and the ones pki_csr_read refuses; leaves signed by
 * a root and by intermediates of every key type, checked by `openssl verify`
 * and field by field through OpenSSL's parser; name constraints; RFC 4514
 * subjects. Files go to a mkdtemp directory, removed at the end. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/issue.h"
#include "pki/nconstraints.h"

#define DAY_MS  86400000LL
#define NTYPES  6
#define CMD_MAX 16384

/* One key of each type (index: enum pki_key_type - 1), made once: RSA
 * 4096 takes a second or more. */
struct fx {
    char          dir[64];
    struct arena *a;
    EVP_PKEY     *keys[NTYPES];
    struct ca    *root;
    int64_t       now_ms;
};

static struct fx F;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static struct pki_ca_req
ca_req(const char *subject, enum pki_key_type t)
{
    return (struct pki_ca_req){ .subject = subject,
                                .type = t,
                                .not_before_ms = F.now_ms - 3600000,
                                .not_after_ms = F.now_ms + 3650 * DAY_MS,
                                .path_len = -1 };
}

static int
group_setup(void **state)
{
    struct pki_ca_req p;
    struct errbuf     eb = { 0 };

    (void)state;
    snprintf(F.dir, sizeof(F.dir), "/tmp/kw-issue-XXXXXX");
    if (mkdtemp(F.dir) == NULL)
        return -1;
    F.a = arena_new(65536);
    F.now_ms = (int64_t)time(NULL) * 1000;
    p = ca_req("CN=Test Root,O=Keyward Tests", PKI_KEY_EC_P256);
    for (int t = 1; t <= NTYPES; t++)
        if ((F.keys[t - 1] = pki_key_generate((enum pki_key_type)t)) == NULL)
            return -1;
    if (pki_ca_create("root", &p, NULL, &F.root, &eb) != E_OK) {
        fprintf(stderr, "root: %s\n", eb.msg);
        return -1;
    }
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NTYPES; i++)
        EVP_PKEY_free(F.keys[i]);
    pki_ca_free(F.root);
    arena_free(F.a);
    nftw(F.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

/* Run a shell command in the temporary directory, quietly; its exit code. */
static int sh(const char *fmt, ...) KW_PRINTF(1, 2);

static int
sh(const char *fmt, ...)
{
    char    what[CMD_MAX], cmd[CMD_MAX + 128];
    int     n, rc;
    va_list ap;

    va_start(ap, fmt);
    n = vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && n < (int)sizeof(what));
    snprintf(cmd, sizeof(cmd), "cd %s && %s >/dev/null 2>&1", F.dir, what);
    rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *
path_of(const char *name)
{
    return arena_printf(F.a, "%s/%s", F.dir, name);
}

static struct str
file_read(const char *name)
{
    FILE  *fp = fopen(path_of(name), "rb");
    char  *p = arena_alloc(F.a, 1 << 20);
    size_t n;

    assert_non_null(fp);
    n = fread(p, 1, (1 << 20) - 1, fp);
    fclose(fp);
    p[n] = '\0';
    return (struct str){ p, n };
}

static void
file_write(const char *name, const char *p, size_t n)
{
    FILE *fp = fopen(path_of(name), "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    fclose(fp);
}

static X509 *
cert_of(const struct buf *der)
{
    const unsigned char *p = (const unsigned char *)der->p;
    X509                *x = d2i_X509(NULL, &p, (long)der->len);

    assert_non_null(x);
    assert_ptr_equal(p, (const unsigned char *)der->p + der->len);
    return x;
}

static void
cert_write(const char *name, X509 *x)
{
    FILE *fp = fopen(path_of(name), "wb");

    assert_non_null(fp);
    assert_int_equal(PEM_write_X509(fp, x), 1);
    fclose(fp);
}

static void
ca_write(const char *name, const struct ca *ca)
{
    file_write(name, pki_ca_pem(ca), strlen(pki_ca_pem(ca)));
}

/* A PEM block of `label` around der. */
static struct str
pem_of(const char *label, const unsigned char *der, long len)
{
    BIO       *bio = BIO_new(BIO_s_mem());
    char      *p = NULL;
    long       n;
    struct str s;

    assert_true(PEM_write_bio(bio, label, "", der, len) > 0);
    n = BIO_get_mem_data(bio, &p);
    s = arena_str(F.a, (struct str){ p, (size_t)n });
    BIO_free(bio);
    return s;
}

static struct str
csr_pem_of(X509_REQ *req)
{
    unsigned char *der = NULL;
    int            n = i2d_X509_REQ(req, &der);
    struct str     s = pem_of("CERTIFICATE REQUEST", der, n);

    OPENSSL_free(der);
    return s;
}

/* ---- key types ---------------------------------------------------------- */

/* RFC 3279 2.3.1, RFC 5480 3 and RFC 8813, RFC 8410 5. */
static void
test_key_usage_fits(void **state)
{
    static const struct {
        const char *usage;
        bool        rsa, ec, ed;
    } fits[] = {
        { "digitalSignature", true, true, true },   { "nonRepudiation", true, true, true },
        { "contentCommitment", true, true, true },  { "keyEncipherment", true, false, false },
        { "dataEncipherment", true, false, false }, { "keyAgreement", false, true, false },
        { "encipherOnly", false, true, false },     { "decipherOnly", false, true, false },
        { "keyCertSign", false, false, false },     { "signEverything", false, false, false },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(fits); i++) {
        assert_int_equal(pki_key_usage_fits(PKI_KEY_RSA_3072, fits[i].usage), fits[i].rsa);
        assert_int_equal(pki_key_usage_fits(PKI_KEY_EC_P384, fits[i].usage), fits[i].ec);
        assert_int_equal(pki_key_usage_fits(PKI_KEY_ED25519, fits[i].usage), fits[i].ed);
        assert_false(pki_key_usage_fits(PKI_KEY_NONE, fits[i].usage));
    }
    assert_false(pki_key_usage_fits(PKI_KEY_EC_P256, NULL));
}

static void
test_key_types(void **state)
{
    EVP_PKEY *other;

    (void)state;
    for (int t = 1; t <= NTYPES; t++) {
        const char *name = pki_key_type_names[t - 1];
        assert_int_equal(pki_key_type_parse(name), t);
        assert_string_equal(pki_key_type_name((enum pki_key_type)t), name);
        assert_int_equal(pki_key_type_of(F.keys[t - 1]), t);
        assert_int_equal(pki_key_type_slow((enum pki_key_type)t), strncmp(name, "RSA", 3) == 0);
    }
    assert_null(pki_key_type_names[NTYPES]);
    assert_int_equal(pki_key_type_parse("EC_P521"), PKI_KEY_NONE);
    assert_int_equal(pki_key_type_parse("ec_p256"), PKI_KEY_NONE);
    assert_int_equal(pki_key_type_parse(NULL), PKI_KEY_NONE);
    assert_string_equal(pki_key_type_name(PKI_KEY_NONE), "");
    assert_null(pki_key_generate(PKI_KEY_NONE));
    assert_int_equal(pki_key_type_of(NULL), PKI_KEY_NONE);
    other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    assert_int_equal(pki_key_type_of(other), PKI_KEY_NONE);
    EVP_PKEY_free(other);
    other = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    assert_int_equal(pki_key_type_of(other), PKI_KEY_NONE);
    EVP_PKEY_free(other);
    other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    assert_int_equal(pki_key_type_of(other), PKI_KEY_NONE);
    EVP_PKEY_free(other);
}

/* ---- CSRs --------------------------------------------------------------- */

#define SUBJ "/C=US/ST=California/L=San Francisco/O=Acme, Inc./OU=Ops/CN=a.example"
#define SANS                                                                                   \
    "subjectAltName=DNS:a.example,DNS:b.example,IP:192.0.2.1,IP:2001:db8::1,URI:https://x,"    \
    "email:a@b"

/* `openssl req` makes key and CSR files <base>.key, <base>.csr. */
static struct str
openssl_csr(const char *base, const char *newkey, const char *subj, const char *addext)
{
    assert_int_equal(sh("openssl req -new -newkey %s -nodes -keyout %s.key -out %s.csr "
                        "-subj '%s' %s%s%s",
                        newkey, base, base, subj, addext ? "-addext '" : "",
                        addext ? addext : "", addext ? "'" : ""),
                     0);
    return file_read(arena_printf(F.a, "%s.csr", base));
}

static void
test_csr_openssl(void **state)
{
    static const struct {
        const char       *newkey;
        enum pki_key_type type;
        int               bits;
    } kinds[] = {
        { "ec -pkeyopt ec_paramgen_curve:P-256", PKI_KEY_EC_P256, 256 },
        { "ec -pkeyopt ec_paramgen_curve:P-384", PKI_KEY_EC_P384, 384 },
        { "rsa:2048", PKI_KEY_RSA_2048, 2048 },
        { "ed25519", PKI_KEY_ED25519, 256 },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(kinds); i++) {
        struct pki_csr c;
        struct errbuf  eb = { 0 };
        struct str     pem = openssl_csr("k", kinds[i].newkey, SUBJ, SANS);

        assert_int_equal(pki_csr_read(F.a, pem, &c, &eb), E_OK);
        assert_int_equal(c.type, kinds[i].type);
        assert_int_equal(c.bits, kinds[i].bits);
        assert_non_null(c.key);
        assert_string_equal(c.names.cn, "a.example");
        assert_string_equal(c.names.o, "Acme, Inc.");
        assert_string_equal(c.names.ou, "Ops");
        assert_string_equal(c.names.l, "San Francisco");
        assert_string_equal(c.names.st, "California");
        assert_string_equal(c.names.c, "US");
        assert_int_equal(c.names.ndns, 2);
        assert_string_equal(c.names.dns[0], "a.example");
        assert_string_equal(c.names.dns[1], "b.example");
        assert_int_equal(c.names.nip, 2);
        assert_string_equal(c.names.ip[0], "192.0.2.1");
        assert_string_equal(c.names.ip[1], "2001:db8::1");
        assert_int_equal(c.names.nuri, 1);
        assert_string_equal(c.names.uri[0], "https://x");
        assert_int_equal(c.names.nemail, 1);
        assert_string_equal(c.names.email[0], "a@b");
        pki_csr_free(&c);
        assert_null(c.key);
        pki_csr_free(&c); /* twice is harmless */
    }
}

/* Fewer names: absent fields stay NULL; "NEW CERTIFICATE REQUEST" is read. */
static void
test_csr_minimal(void **state)
{
    struct pki_csr c;
    struct errbuf  eb = { 0 };
    struct str  pem = openssl_csr("m", "ec -pkeyopt ec_paramgen_curve:P-256", "/CN=only", NULL);
    const char *body = strchr(pem.p, '\n'); /* from the end of the BEGIN line */
    char       *renamed;

    (void)state;
    assert_int_equal(pki_csr_read(F.a, pem, &c, &eb), E_OK);
    assert_string_equal(c.names.cn, "only");
    assert_null(c.names.o);
    assert_null(c.names.c);
    assert_int_equal(c.names.ndns + c.names.nip + c.names.nuri + c.names.nemail, 0);
    assert_null(c.names.dns);
    pki_csr_free(&c);
    /* the older label, with blank lines around */
    renamed = arena_printf(F.a,
                           "\n\n-----BEGIN NEW CERTIFICATE REQUEST-----%.*s"
                           "-----END NEW CERTIFICATE REQUEST-----\n\n  \n",
                           (int)(strstr(body, "-----END") - body), body);
    assert_int_equal(pki_csr_read(F.a, str_c(renamed), &c, &eb), E_OK);
    assert_string_equal(c.names.cn, "only");
    pki_csr_free(&c);
}

static void
expect_bad(struct str pem, const char *why)
{
    struct pki_csr c;
    struct errbuf  eb = { 0 };

    assert_int_equal(pki_csr_read(F.a, pem, &c, &eb), E_VALIDATION);
    assert_string_equal(eb.attr, "csr");
    assert_null(c.key);
    if (strstr(eb.msg, why) == NULL)
        fail_msg("expected '%s' in '%s'", why, eb.msg);
    assert_int_equal(ERR_peek_error(), 0);
}

/* A byte of the signature flipped: the proof of possession fails. */
static void
test_csr_tampered(void **state)
{
    struct str     pem = openssl_csr("t", "ec -pkeyopt ec_paramgen_curve:P-256", SUBJ, SANS);
    BIO           *bio = BIO_new_mem_buf(pem.p, (int)pem.len);
    X509_REQ      *req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
    unsigned char *der = NULL;
    int            n = i2d_X509_REQ(req, &der);

    (void)state;
    der[n - 5] ^= 0x01;
    expect_bad(pem_of("CERTIFICATE REQUEST", der, n), "signature");
    OPENSSL_free(der);
    X509_REQ_free(req);
    BIO_free(bio);
}

static void
test_csr_duplicate_subject(void **state)
{
    (void)state;
    expect_bad(openssl_csr("d", "ed25519", "/CN=a/O=x/CN=b", NULL),
               "more than one common name (CN)");
    expect_bad(openssl_csr("d", "ed25519", "/C=US/C=DE/CN=b", NULL), "more than one country");
}

/* 100 names of a type is the limit; 101 is refused. */
static void
test_csr_san_limit(void **state)
{
    char          *ext = arena_alloc(F.a, 8192);
    size_t         n = 0;
    struct pki_csr c;
    struct errbuf  eb = { 0 };

    (void)state;
    n += (size_t)snprintf(ext + n, 8192 - n, "subjectAltName=DNS:h0.example");
    for (int i = 1; i < PKI_SAN_MAX; i++)
        n += (size_t)snprintf(ext + n, 8192 - n, ",DNS:h%d.example", i);
    n += (size_t)snprintf(ext + n, 8192 - n, ",IP:192.0.2.1");
    assert_int_equal(pki_csr_read(F.a, openssl_csr("l", "ed25519", "/CN=x", ext), &c, &eb),
                     E_OK);
    assert_int_equal(c.names.ndns, PKI_SAN_MAX);
    assert_string_equal(c.names.dns[99], "h99.example");
    assert_int_equal(c.names.nip, 1);
    pki_csr_free(&c);
    snprintf(ext + n, 8192 - n, ",DNS:one-more.example");
    expect_bad(openssl_csr("l", "ed25519", "/CN=x", ext), "more than 100 DNS names");
}

static void
test_csr_san_types(void **state)
{
    (void)state;
    expect_bad(openssl_csr("s", "ed25519", "/CN=x", "subjectAltName=DNS:a.example,RID:1.2.3.4"),
               "type other than DNS");
    expect_bad(openssl_csr("s", "ed25519", "/CN=x", "subjectAltName=otherName:1.2.3.4;UTF8:x"),
               "type other than DNS");
}

/* Two subjectAltName extensions in one request. */
static void
test_csr_duplicate_extension(void **state)
{
    X509_REQ *req = X509_REQ_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509V3_CTX ctx;

    (void)state;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
    sk_X509_EXTENSION_push(
        exts, X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "DNS:a.example"));
    sk_X509_EXTENSION_push(
        exts, X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "DNS:b.example"));
    assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
    assert_int_equal(X509_REQ_set_pubkey(req, F.keys[PKI_KEY_EC_P256 - 1]), 1);
    assert_true(X509_REQ_sign(req, F.keys[PKI_KEY_EC_P256 - 1], EVP_sha256()) > 0);
    expect_bad(csr_pem_of(req), "extension twice");
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
}

static void
test_csr_garbage(void **state)
{
    struct str good = openssl_csr("g", "ed25519", "/CN=x", NULL);
    struct str key = file_read("g.key");
    char      *big = arena_alloc(F.a, 70000);

    (void)state;
    expect_bad(STR(""), "must be a PEM certificate request");
    expect_bad(STR("   \n"), "must be a PEM certificate request");
    expect_bad(STR("garbage"), "must be a PEM certificate request");
    expect_bad(STR("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE "
                   "REQUEST-----\n"),
               "does not parse");
    expect_bad(STR("-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n"), "not valid PEM");
    expect_bad(str_c(arena_printf(F.a, "junk\n%.*s", STR_FMT(good))),
               "must be a PEM certificate request");
    expect_bad(str_c(arena_printf(F.a, "%.*sjunk\n", STR_FMT(good))), "nothing after it");
    expect_bad(str_c(arena_printf(F.a, "%.*s%.*s", STR_FMT(good), STR_FMT(good))),
               "nothing after it");
    expect_bad(str_c(arena_printf(F.a, "%.*s%.*s", STR_FMT(good), STR_FMT(key))),
               "nothing after it");
    expect_bad(key, "not a private key");
    /* a BEGIN line with more on it is no BEGIN line: not a way to a key below */
    expect_bad(
        str_c(arena_printf(F.a, "-----BEGIN CERTIFICATE REQUEST-----x\n%.*s", STR_FMT(key))),
        "must be a PEM certificate request");
    expect_bad(
        str_c(arena_printf(F.a, "-----BEGIN CERTIFICATE REQUEST----- \r\n%.*s", STR_FMT(key))),
        "not valid PEM");
    expect_bad(str_c(pki_ca_pem(F.root)), "must be a PEM certificate request");
    /* 64 KiB is the cap: blank lines before a good CSR, up to it and one past */
    memset(big, '\n', 65536 - good.len);
    memcpy(big + 65536 - good.len, good.p, good.len);
    {
        struct pki_csr c;
        struct errbuf  eb = { 0 };
        assert_int_equal(pki_csr_read(F.a, (struct str){ big, 65536 }, &c, &eb), E_OK);
        pki_csr_free(&c);
    }
    memset(big, '\n', 65537 - good.len);
    memcpy(big + 65537 - good.len, good.p, good.len);
    expect_bad((struct str){ big, 65537 }, "too large");
}

/* ---- leaves ------------------------------------------------------------- */

static const char *const DNS[] = { "a.example.com", "b.example.com" };
static const char *const IPS[] = { "192.0.2.10", "2001:db8::10" };
static const char *const URIS[] = { "spiffe://example.com/a" };
static const char *const EMAILS[] = { "ops@example.com" };
static const char *const KU[] = { "digitalSignature", "keyEncipherment" };
static const char *const EKU[] = { "serverAuth", "clientAuth", "1.3.6.1.4.1.11129.2.4.99" };

static struct pki_names
names_full(void)
{
    return (struct pki_names){ .cn = "a.example.com",
                               .o = "Acme, Inc.",
                               .ou = "Ops+Dev",
                               .l = "Zürich",
                               .st = "ZH",
                               .c = "CH",
                               .dns = (const char **)DNS,
                               .ndns = 2,
                               .ip = (const char **)IPS,
                               .nip = 2,
                               .uri = (const char **)URIS,
                               .nuri = 1,
                               .email = (const char **)EMAILS,
                               .nemail = 1 };
}

static struct pki_leaf
leaf_full(const struct pki_names *n, const EVP_PKEY *key)
{
    return (struct pki_leaf){ .names = n,
                              .key = key,
                              .not_before_ms = F.now_ms - 60000,
                              .not_after_ms = F.now_ms + 90 * DAY_MS,
                              .key_usages = KU,
                              .nkey_usages = 2,
                              .ext_key_usages = EKU,
                              .next_key_usages = 3,
                              .crl_url = "http://pki.example.com/pki/1/crl",
                              .ocsp_url = "http://pki.example.com/pki/1/ocsp",
                              .issuers_url = "http://pki.example.com/pki/1/ca.crt" };
}

/* The TLV at p: where its contents start, and their length. */
static size_t
tlv_len(const unsigned char *p, size_t *head)
{
    size_t n = 0, k = p[1] & 0x7f;

    if (!(p[1] & 0x80)) {
        *head = 2;
        return p[1];
    }
    for (size_t i = 0; i < k; i++)
        n = n << 8 | p[2 + i];
    *head = 2 + k;
    return n;
}

/* Each extension's value is what OpenSSL writes from what it parsed. */
static void
check_ext_values(X509 *x)
{
    for (int i = 0; i < X509_get_ext_count(x); i++) {
        X509_EXTENSION          *e = X509_get_ext(x, i);
        const X509V3_EXT_METHOD *m = X509V3_EXT_get(e);
        const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);
        void                    *parsed = X509V3_EXT_d2i(e);
        unsigned char           *re = NULL;
        int                      n;

        assert_non_null(m);
        assert_non_null(parsed);
        n = ASN1_item_i2d(parsed, &re, ASN1_ITEM_ptr(m->it));
        assert_int_equal(n, ASN1_STRING_length(v));
        assert_memory_equal(re, ASN1_STRING_get0_data(v), (size_t)n);
        OPENSSL_free(re);
        ASN1_item_free(parsed, ASN1_ITEM_ptr(m->it));
    }
}

/* The DER is canonical: the TBS as OpenSSL re-encodes it, the key as
 * i2d_PUBKEY writes it, the extensions as above. */
static void
check_canonical(X509 *x, const struct buf *der)
{
    const unsigned char *p = (const unsigned char *)der->p;
    unsigned char       *re = NULL, *key = NULL, *spki = NULL;
    size_t               head, tbs_head, tbs_len;
    int                  n, nkey, nspki;

    assert_int_equal(tlv_len(p, &head) + head, der->len);
    tbs_len = tlv_len(p + head, &tbs_head) + tbs_head;
    n = i2d_re_X509_tbs(x, &re);
    assert_int_equal(n, tbs_len);
    assert_memory_equal(re, p + head, tbs_len);
    nkey = i2d_PUBKEY(X509_get0_pubkey(x), &key);
    nspki = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
    assert_int_equal(nkey, nspki);
    assert_memory_equal(key, spki, (size_t)nkey);
    OPENSSL_free(re);
    OPENSSL_free(key);
    OPENSSL_free(spki);
    check_ext_values(x);
    /* OpenSSL re-encodes a BOOLEAN as it read it: DER's TRUE is 0xff */
    assert_non_null(memmem(p, der->len, "\x06\x03\x55\x1d\x13\x01\x01\xff", 8));
}

static X509 *
leaf_sign(const struct ca *ca, const struct pki_leaf *p)
{
    struct buf    der;
    char          serial[PKI_SERIAL_HEX], hex[PKI_SERIAL_HEX];
    struct errbuf eb = { 0 };
    X509         *x;
    int           rc;

    buf_init(&der, 0);
    buf_append(&der, "xy", 2); /* appended to what is there */
    if ((rc = pki_leaf_sign(ca, p, &der, serial, &eb)) != E_OK)
        fail_msg("pki_leaf_sign: %d %s", rc, eb.msg);
    assert_memory_equal(der.p, "xy", 2);
    der.p += 2;
    der.len -= 2;
    x = cert_of(&der);
    check_canonical(x, &der);
    der.p -= 2;
    buf_free(&der);
    assert_int_equal(pki_serial_hex(x, hex), E_OK);
    assert_string_equal(hex, serial);
    assert_int_equal(strlen(serial), 32);
    return x;
}

static void
check_subject(X509 *x)
{
    const X509_NAME *n = X509_get_subject_name(x);
    static const int order[] = {
        NID_countryName,      NID_stateOrProvinceName,    NID_localityName,
        NID_organizationName, NID_organizationalUnitName, NID_commonName
    };
    BIO  *bio = BIO_new(BIO_s_mem());
    char *p = NULL;
    long  len;

    assert_int_equal(X509_NAME_entry_count(n), 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(n, i))),
                         order[i]);
    assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, 0))),
                     V_ASN1_PRINTABLESTRING);
    assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, 2))),
                     V_ASN1_UTF8STRING);
    X509_NAME_print_ex(bio, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    len = BIO_get_mem_data(bio, &p);
    assert_true(len > 0);
    assert_memory_equal(p, "CN=a.example.com,OU=Ops\\+Dev,O=Acme\\, Inc.,L=Zürich,ST=ZH,C=CH",
                        (size_t)len);
    BIO_free(bio);
}

static void
check_sans(X509 *x)
{
    GENERAL_NAMES             *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x10 };
    const GENERAL_NAME        *gn;

    assert_non_null(g);
    assert_int_equal(sk_GENERAL_NAME_num(g), 6);
    gn = sk_GENERAL_NAME_value(g, 0);
    assert_int_equal(gn->type, GEN_DNS);
    assert_memory_equal(ASN1_STRING_get0_data(gn->d.ia5), "a.example.com", 13);
    gn = sk_GENERAL_NAME_value(g, 2);
    assert_int_equal(gn->type, GEN_IPADD);
    assert_int_equal(ASN1_STRING_length(gn->d.ip), 4);
    assert_memory_equal(ASN1_STRING_get0_data(gn->d.ip), "\xc0\x00\x02\x0a", 4);
    gn = sk_GENERAL_NAME_value(g, 3);
    assert_int_equal(ASN1_STRING_length(gn->d.ip), 16);
    assert_memory_equal(ASN1_STRING_get0_data(gn->d.ip), v6, 16);
    assert_int_equal(sk_GENERAL_NAME_value(g, 4)->type, GEN_URI);
    assert_int_equal(sk_GENERAL_NAME_value(g, 5)->type, GEN_EMAIL);
    GENERAL_NAMES_free(g);
    assert_int_equal(X509_check_host(x, "b.example.com", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(x, "2001:db8::10", 0), 1);
    assert_int_equal(X509_check_email(x, "ops@example.com", 0, 0), 1);
}

static int
ext_critical(X509 *x, int nid)
{
    int i = X509_get_ext_by_NID(x, nid, -1);

    assert_true(i >= 0);
    return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

/* The URLs under `base` ("http://pki.example.com/pki/1"). */
static void
check_where(X509 *x, const char *base)
{
    CRL_DIST_POINTS       *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
    AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
    const GENERAL_NAME    *gn;

    assert_int_equal(sk_DIST_POINT_num(dps), 1);
    gn = sk_GENERAL_NAME_value(sk_DIST_POINT_value(dps, 0)->distpoint->name.fullname, 0);
    assert_int_equal(gn->type, GEN_URI);
    assert_string_equal((const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
                        arena_printf(F.a, "%s/crl", base));
    assert_int_equal(sk_ACCESS_DESCRIPTION_num(aia), 2);
    assert_int_equal(OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(aia, 0)->method), NID_ad_OCSP);
    assert_int_equal(OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(aia, 1)->method),
                     NID_ad_ca_issuers);
    gn = sk_ACCESS_DESCRIPTION_value(aia, 0)->location;
    assert_string_equal((const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
                        arena_printf(F.a, "%s/ocsp", base));
    gn = sk_ACCESS_DESCRIPTION_value(aia, 1)->location;
    assert_string_equal((const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
                        arena_printf(F.a, "%s/ca.crt", base));
    CRL_DIST_POINTS_free(dps);
    AUTHORITY_INFO_ACCESS_free(aia);
}

static void
check_ids(X509 *x, const struct ca *ca)
{
    unsigned char            md[EVP_MAX_MD_SIZE];
    unsigned int             n = 0;
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
    const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
    const ASN1_OCTET_STRING *ca_ski = X509_get0_subject_key_id((X509 *)pki_ca_cert(ca));

    assert_int_equal(X509_pubkey_digest(x, EVP_sha1(), md, &n), 1);
    assert_non_null(ski);
    assert_int_equal(ASN1_STRING_length(ski), 20);
    assert_memory_equal(ASN1_STRING_get0_data(ski), md, 20);
    assert_non_null(aki);
    assert_int_equal(ASN1_OCTET_STRING_cmp(aki, ca_ski), 0);
}

/* What issue.h promises of a leaf signed with leaf_full. */
static void
check_leaf(X509 *x, const struct ca *ca, const EVP_PKEY *key)
{
    (void)ca;
    assert_int_equal(X509_get_version(x), X509_VERSION_3);
    assert_int_equal(ASN1_STRING_length(X509_get0_serialNumber(x)), 16);
    assert_int_equal(ASN1_STRING_type(X509_get0_serialNumber(x)), V_ASN1_INTEGER);
    assert_int_equal(
        X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(pki_ca_cert(ca))), 0);
    check_subject(x);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), key), 1);
    assert_true(pki_time_ms(X509_get0_notBefore(x)) == F.now_ms - 60000);
    assert_true(pki_time_ms(X509_get0_notAfter(x)) == F.now_ms + 90 * DAY_MS);
    assert_int_equal(X509_check_ca(x), 0);
    assert_int_equal(ext_critical(x, NID_basic_constraints), 1);
    assert_int_equal(ext_critical(x, NID_key_usage), 1);
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
    assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER | XKU_SSL_CLIENT);
    assert_int_equal(ext_critical(x, NID_ext_key_usage), 0);
    assert_int_equal(ext_critical(x, NID_subject_alt_name), 0);
    check_sans(x);
    check_ids(x, ca);
    check_where(x, "http://pki.example.com/pki/1");
    assert_int_equal(X509_verify(x, X509_get0_pubkey(pki_ca_cert(ca))), 1);
}

/* `openssl verify` of leaf.pem against root.pem, with inter.pem if any. */
static int
verify(const char *leaf, bool inter)
{
    return sh("openssl verify -x509_strict -CAfile root.pem %s %s",
              inter ? "-untrusted inter.pem" : "", leaf);
}

static void
test_leaf_by_root(void **state)
{
    (void)state;
    ca_write("root.pem", F.root);
    for (int t = 1; t <= NTYPES; t++) {
        struct pki_names n = names_full();
        struct pki_leaf  p = leaf_full(&n, F.keys[t - 1]);
        X509            *x = leaf_sign(F.root, &p);

        check_leaf(x, F.root, F.keys[t - 1]);
        cert_write("leaf.pem", x);
        assert_int_equal(verify("leaf.pem", false), 0);
        X509_free(x);
    }
}

/* Keys pki_key_type_of does not name go through OpenSSL's encoder. */
static void
test_leaf_other_keys(void **state)
{
    EVP_PKEY *keys[] = { EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521"),
                         EVP_PKEY_Q_keygen(NULL, NULL, "ED448"),
                         EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024) };

    (void)state;
    ca_write("root.pem", F.root);
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        struct pki_names n = names_full();
        struct pki_leaf  p = leaf_full(&n, keys[i]);
        X509            *x;

        assert_non_null(keys[i]);
        x = leaf_sign(F.root, &p);
        check_leaf(x, F.root, keys[i]);
        cert_write("leaf.pem", x);
        assert_int_equal(verify("leaf.pem", false), 0);
        X509_free(x);
        EVP_PKEY_free(keys[i]);
    }
}

/* A CA made by the openssl command line, P-384, without a subject key
 * identifier: its leaves' AKI is the SHA-1 of its key; SHA-384 signatures. */
static void
test_leaf_by_imported_ca(void **state)
{
    struct ca       *ca = NULL;
    struct errbuf    eb = { 0 };
    struct pki_names n = names_full();
    struct pki_leaf  p = leaf_full(&n, F.keys[0]);
    unsigned char    md[EVP_MAX_MD_SIZE];
    unsigned int     len = 0;
    X509            *x;

    (void)state;
    assert_int_equal(
        sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes "
           "-keyout imp.key -out imp.pem -subj '/CN=Imported' -days 30 "
           "-addext basicConstraints=critical,CA:TRUE "
           "-addext keyUsage=critical,keyCertSign,cRLSign "
           "-addext subjectKeyIdentifier=none -addext authorityKeyIdentifier=none"),
        0);
    assert_int_equal(
        pki_ca_import("imported", file_read("imp.pem"), file_read("imp.key"), &ca, &eb), E_OK);
    assert_null(X509_get0_subject_key_id((X509 *)pki_ca_cert(ca)));
    x = leaf_sign(ca, &p);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA384);
    assert_int_equal(X509_pubkey_digest(pki_ca_cert(ca), EVP_sha1(), md, &len), 1);
    assert_int_equal(ASN1_STRING_length(X509_get0_authority_key_id(x)), (int)len);
    assert_memory_equal(ASN1_STRING_get0_data(X509_get0_authority_key_id(x)), md, len);
    cert_write("leaf.pem", x);
    assert_int_equal(sh("openssl verify -CAfile imp.pem leaf.pem"), 0);
    X509_free(x);
    pki_ca_free(ca);
}

static const char *const PERMITTED_DNS[] = { "example.com" };
static const char *const EXCLUDED_DNS[] = { "bad.example.com" };
static const char *const PERMITTED_IP[] = { "192.0.2.0/24", "2001:db8::/32" };

static void
check_name_constraints(const struct ca *ca)
{
    X509                      *x = (X509 *)pki_ca_cert(ca);
    NAME_CONSTRAINTS          *nc = X509_get_ext_d2i(x, NID_name_constraints, NULL, NULL);
    const GENERAL_NAME        *gn;
    static const unsigned char v4[8] = { 192, 0, 2, 0, 255, 255, 255, 0 };

    assert_non_null(nc);
    assert_int_equal(ext_critical(x, NID_name_constraints), 1);
    assert_int_equal(sk_GENERAL_SUBTREE_num(nc->permittedSubtrees), 3);
    gn = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, 0)->base;
    assert_int_equal(gn->type, GEN_DNS);
    assert_memory_equal(ASN1_STRING_get0_data(gn->d.ia5), "example.com", 11);
    gn = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, 1)->base;
    assert_int_equal(gn->type, GEN_IPADD);
    assert_int_equal(ASN1_STRING_length(gn->d.ip), 8);
    assert_memory_equal(ASN1_STRING_get0_data(gn->d.ip), v4, 8);
    gn = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, 2)->base;
    assert_int_equal(ASN1_STRING_length(gn->d.ip), 32);
    assert_int_equal(sk_GENERAL_SUBTREE_num(nc->excludedSubtrees), 1);
    NAME_CONSTRAINTS_free(nc);
}

static struct ca *
intermediate(enum pki_key_type t, int path_len)
{
    struct pki_ca_req p = ca_req("CN=Issuing CA \\, one,O=Keyward Tests", t);
    struct ca        *ca = NULL;
    struct errbuf     eb = { 0 };
    int               rc;

    p.path_len = path_len;
    p.permitted_dns = PERMITTED_DNS;
    p.npermitted_dns = 1;
    p.excluded_dns = EXCLUDED_DNS;
    p.nexcluded_dns = 1;
    p.permitted_ip = PERMITTED_IP;
    p.npermitted_ip = 2;
    p.crl_url = "http://pki.example.com/pki/root/crl";
    p.ocsp_url = "http://pki.example.com/pki/root/ocsp";
    p.issuers_url = "http://pki.example.com/pki/root/ca.crt";
    if ((rc = pki_ca_create("inter", &p, F.root, &ca, &eb)) != E_OK)
        fail_msg("pki_ca_create %s: %d %s", pki_key_type_name(t), rc, eb.msg);
    return ca;
}

/* The signature algorithm a CA of key type t signs with. */
static int
sig_nid_of(enum pki_key_type t)
{
    switch (t) {
    case PKI_KEY_EC_P256:
        return NID_ecdsa_with_SHA256;
    case PKI_KEY_EC_P384:
        return NID_ecdsa_with_SHA384;
    case PKI_KEY_ED25519:
        return NID_ED25519;
    default:
        return NID_sha256WithRSAEncryption;
    }
}

static void
check_intermediate(const struct ca *ca, enum pki_key_type t)
{
    X509 *x = (X509 *)pki_ca_cert(ca);

    assert_int_equal(X509_check_ca(x), 1);
    assert_int_equal(X509_get_pathlen(x), 0);
    assert_int_equal(ext_critical(x, NID_basic_constraints), 1);
    assert_int_equal(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_int_equal(pki_key_type_of(X509_get0_pubkey(x)), t);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256); /* the root's */
    assert_int_equal(
        ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
                              X509_get0_subject_key_id((X509 *)pki_ca_cert(F.root))),
        0);
    check_name_constraints(ca);
    check_where(x, "http://pki.example.com/pki/root");
    check_ext_values(x);
}

/* An intermediate of each key type under the P-256 root; a leaf of each key
 * type under each. */
static void
test_leaf_by_intermediate(void **state)
{
    (void)state;
    ca_write("root.pem", F.root);
    for (int t = 1; t <= NTYPES; t++) {
        struct ca *ca = intermediate((enum pki_key_type)t, 0);

        check_intermediate(ca, (enum pki_key_type)t);
        ca_write("inter.pem", ca);
        for (int k = 1; k <= NTYPES; k++) {
            struct pki_names n = names_full();
            struct pki_leaf  p = leaf_full(&n, F.keys[k - 1]);
            X509            *x = leaf_sign(ca, &p);

            check_leaf(x, ca, F.keys[k - 1]);
            assert_int_equal(X509_get_signature_nid(x), sig_nid_of((enum pki_key_type)t));
            cert_write("leaf.pem", x);
            if (verify("leaf.pem", true) != 0)
                fail_msg("openssl verify: CA %s, leaf %s", pki_key_type_name(t),
                         pki_key_type_name(k));
            X509_free(x);
        }
        pki_ca_free(ca);
    }
}

/* Names outside the intermediate's constraints do not verify; a CA with
 * pathLength 0 signs no CA. */
static void
test_name_constraints_hold(void **state)
{
    static const char *const outside[] = { "a.example.org", "x.bad.example.com" };
    static const char *const ip_outside[] = { "198.51.100.1" };
    struct ca               *ca = intermediate(PKI_KEY_EC_P256, 0), *below = NULL;
    struct pki_ca_req        p = ca_req("CN=Below", PKI_KEY_EC_P256);
    struct errbuf            eb = { 0 };

    (void)state;
    ca_write("root.pem", F.root);
    ca_write("inter.pem", ca);
    for (size_t i = 0; i < 3; i++) {
        struct pki_names n = { .cn = "x" };
        struct pki_leaf  l = leaf_full(&n, F.keys[0]);
        X509            *x;
        if (i < 2) {
            n.dns = (const char **)&outside[i];
            n.ndns = 1;
        } else {
            n.ip = (const char **)ip_outside;
            n.nip = 1;
        }
        x = leaf_sign(ca, &l);
        cert_write("out.pem", x);
        assert_int_not_equal(verify("out.pem", true), 0);
        X509_free(x);
    }
    assert_int_equal(pki_ca_create("below", &p, ca, &below, &eb), E_VALIDATION);
    assert_string_equal(eb.attr, "parentID");
    assert_null(below);
    pki_ca_free(ca);
}

/* pki_nc_check judges a leaf by the constraints of the CA above it as
 * `openssl verify` does, and says which name breaks them. */
static void
test_nc_check_agrees_with_openssl(void **state)
{
    static const struct {
        const char      *cn, *dns, *ip;
        bool             ok;
        enum pki_nc_part part;
        int              verdict;
    } cases[] = {
        { "a.example.com", "a.example.com", NULL, true, 0, X509_V_OK },
        { "x", "a.example.org", NULL, false, PKI_NC_DNS, X509_V_ERR_PERMITTED_VIOLATION },
        { "x", "x.bad.example.com", NULL, false, PKI_NC_DNS, X509_V_ERR_EXCLUDED_VIOLATION },
        { "x", NULL, "198.51.100.1", false, PKI_NC_IP, X509_V_ERR_PERMITTED_VIOLATION },
        { "x", NULL, "::ffff:192.0.2.1", false, PKI_NC_IP, X509_V_ERR_PERMITTED_VIOLATION },
        { "x", NULL, "192.0.2.1", true, 0, X509_V_OK },
        { "a_b.example.org", NULL, NULL, false, PKI_NC_COMMON_NAME,
          X509_V_ERR_PERMITTED_VIOLATION },
        { "my host", NULL, NULL, true, 0, X509_V_OK },
    };
    struct ca        *ca = intermediate(PKI_KEY_EC_P256, 0);
    NAME_CONSTRAINTS *nc = NULL;

    (void)state;
    ca_write("root.pem", F.root);
    ca_write("inter.pem", ca);
    assert_int_equal(pki_nc_read(str_c(pki_ca_pem(ca)), &nc), E_OK);
    assert_non_null(nc);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct pki_names    n = { .cn = cases[i].cn };
        struct pki_leaf     l = leaf_full(&n, F.keys[0]);
        struct pki_nc_fault f = { 0 };
        X509               *x;
        n.dns = cases[i].dns != NULL ? (const char **)&cases[i].dns : NULL;
        n.ndns = cases[i].dns != NULL;
        n.ip = cases[i].ip != NULL ? (const char **)&cases[i].ip : NULL;
        n.nip = cases[i].ip != NULL;
        x = leaf_sign(ca, &l);
        cert_write("nc.pem", x);
        if (pki_nc_check(x, nc, true, &f) != cases[i].ok ||
            (verify("nc.pem", true) == 0) != cases[i].ok)
            fail_msg("case %zu: pki_nc_check and openssl verify disagree with %d", i,
                     cases[i].ok);
        if (!cases[i].ok &&
            (f.part != cases[i].part || f.verdict != cases[i].verdict || f.name[0] == '\0'))
            fail_msg("case %zu: part %d verdict %d name '%s'", i, f.part, f.verdict, f.name);
        X509_free(x);
    }
    NAME_CONSTRAINTS_free(nc);
    assert_int_equal(pki_nc_read(str_c(pki_ca_pem(F.root)), &nc), E_OK);
    assert_null(nc);
    pki_ca_free(ca);
}

static void
expect_leaf_error(struct pki_leaf *p, const char *attr)
{
    struct buf    der;
    char          serial[PKI_SERIAL_HEX] = "x";
    struct errbuf eb = { 0 };

    buf_init(&der, 0);
    assert_int_equal(pki_leaf_sign(F.root, p, &der, serial, &eb), E_VALIDATION);
    assert_string_equal(eb.attr, attr);
    assert_int_equal(der.len, 0);
    assert_string_equal(serial, "");
    assert_int_equal(ERR_peek_error(), 0);
    buf_free(&der);
}

static void
test_leaf_refusals(void **state)
{
    static const char *const bad_ku[] = { "digitalSignature", "signEverything" };
    static const char *const bad_eku[] = { "serverAuth", "1..2" };
    static const char *const bad_ip[] = { "192.0.2.300" };
    static const char *const bad_dns[] = { "caf\xc3\xa9.example" };
    struct pki_names         n = names_full();
    struct pki_leaf          p = leaf_full(&n, F.keys[0]);

    (void)state;
    p.key_usages = bad_ku;
    expect_leaf_error(&p, "keyUsages");
    p = leaf_full(&n, F.keys[0]);
    p.ext_key_usages = bad_eku;
    p.next_key_usages = 2;
    expect_leaf_error(&p, "extendedKeyUsages");
    p = leaf_full(&n, F.keys[0]);
    n.ip = (const char **)bad_ip;
    n.nip = 1;
    expect_leaf_error(&p, "csr.ipAddresses");
    n = names_full();
    n.dns = (const char **)bad_dns;
    n.ndns = 1;
    expect_leaf_error(&p, "csr.dnsNames");
    n = names_full();
    n.c = "USA";
    expect_leaf_error(&p, "csr.country");
    n = names_full();
    p.not_after_ms = p.not_before_ms - 1000;
    expect_leaf_error(&p, "validity");
}

/* A comma in a DNS name stays in that name: it cannot add another. Nothing
 * but the names given: no subject (so the SANs are critical), no usages, no
 * URLs. */
static void
test_leaf_minimal_and_no_injection(void **state)
{
    static const char *const sneaky[] = { "a.example,DNS:evil.example" };
    struct pki_names         n = { .dns = (const char **)sneaky, .ndns = 1 };
    struct pki_leaf          p = { .names = &n,
                                   .key = F.keys[0],
                                   .not_before_ms = F.now_ms,
                                   .not_after_ms = F.now_ms + DAY_MS };
    X509                    *x = leaf_sign(F.root, &p);
    GENERAL_NAMES           *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);

    (void)state;
    assert_int_equal(sk_GENERAL_NAME_num(g), 1);
    assert_int_equal(ASN1_STRING_length(sk_GENERAL_NAME_value(g, 0)->d.ia5),
                     (int)strlen(sneaky[0]));
    assert_int_equal(X509_check_host(x, "evil.example", 0, 0, NULL), 0);
    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
    assert_int_equal(X509_get_ext_by_NID(x, NID_key_usage, -1), -1);
    assert_int_equal(X509_get_ext_by_NID(x, NID_ext_key_usage, -1), -1);
    assert_int_equal(X509_get_ext_by_NID(x, NID_crl_distribution_points, -1), -1);
    assert_int_equal(X509_get_ext_by_NID(x, NID_info_access, -1), -1);
    assert_int_equal(ext_critical(x, NID_subject_alt_name), 1); /* RFC 5280 4.2.1.6 */
    GENERAL_NAMES_free(g);
    X509_free(x);
}

/* Validity beyond 2049 is a GeneralizedTime; `openssl x509 -text` reads the
 * whole leaf. */
static void
test_leaf_times_and_text(void **state)
{
    struct pki_names n = names_full();
    struct pki_leaf  p = leaf_full(&n, F.keys[0]);
    X509            *x;

    (void)state;
    p.not_after_ms = 4102444800000LL + 1999; /* 2100-01-01T00:00:01.999Z */
    x = leaf_sign(F.root, &p);
    assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(x)), V_ASN1_GENERALIZEDTIME);
    assert_int_equal(ASN1_STRING_type(X509_get0_notBefore(x)), V_ASN1_UTCTIME);
    assert_true(pki_time_ms(X509_get0_notAfter(x)) == 4102444801000LL);
    cert_write("text.pem", x);
    assert_int_equal(sh("openssl x509 -noout -text -in text.pem -out text.txt"), 0);
    {
        struct str               t = file_read("text.txt");
        static const char *const want[] = {
            "Version: 3 (0x2)",
            "Signature Algorithm: ecdsa-with-SHA256",
            "Issuer: O = Keyward Tests, CN = Test Root",
            "Not After : Jan  1 00:00:01 2100 GMT",
            "X509v3 Basic Constraints: critical",
            "CA:FALSE",
            "X509v3 Key Usage: critical",
            "Digital Signature, Key Encipherment",
            "TLS Web Server Authentication, TLS Web Client Authentication, "
            "1.3.6.1.4.1.11129.2.4.99",
            "X509v3 Subject Key Identifier",
            "X509v3 Authority Key Identifier",
            "DNS:a.example.com, DNS:b.example.com, IP Address:192.0.2.10, IP "
            "Address:2001:DB8:0:0:0:0:0:10, URI:spiffe://example.com/a, email:ops@example.com",
            "URI:http://pki.example.com/pki/1/crl",
            "OCSP - URI:http://pki.example.com/pki/1/ocsp",
            "CA Issuers - URI:http://pki.example.com/pki/1/ca.crt",
        };
        for (size_t i = 0; i < ARRAY_LEN(want); i++)
            if (strstr(t.p, want[i]) == NULL)
                fail_msg("openssl x509 -text lacks '%s':\n%s", want[i], t.p);
    }
    X509_free(x);
}

/* ---- CAs ---------------------------------------------------------------- */

static void
test_ca_refusals(void **state)
{
    /* (a bare address is a /32 or /128, as the CA's permittedIPRanges takes it) */
    static const char *const bad_cidr[] = { "10.1.0.0/8", "10.0.0.0/33", "x/8", "10.0.0.0/-1",
                                            "2001:db8::/129" };
    static const char *const bad_dns[] = { "has space.example" };
    struct pki_ca_req        p = ca_req("CN=x", PKI_KEY_EC_P256);
    struct ca               *ca = NULL;
    struct errbuf            eb = { 0 };

    (void)state;
    p.subject = "CN=";
    assert_int_equal(pki_ca_create("x", &p, NULL, &ca, &eb), E_VALIDATION);
    assert_string_equal(eb.attr, "subject");
    p = ca_req("CN=x", PKI_KEY_NONE);
    assert_int_equal(pki_ca_create("x", &p, NULL, &ca, &eb), E_VALIDATION);
    assert_string_equal(eb.attr, "keyType");
    p = ca_req("CN=x", PKI_KEY_EC_P256);
    p.not_after_ms = p.not_before_ms;
    assert_int_equal(pki_ca_create("x", &p, NULL, &ca, &eb), E_VALIDATION);
    assert_string_equal(eb.attr, "validity");
    for (size_t i = 0; i < ARRAY_LEN(bad_cidr); i++) {
        p = ca_req("CN=x", PKI_KEY_EC_P256);
        p.permitted_ip = &bad_cidr[i];
        p.npermitted_ip = 1;
        assert_int_equal(pki_ca_create("x", &p, F.root, &ca, &eb), E_VALIDATION);
        assert_string_equal(eb.attr, "permittedIPRanges");
    }
    p = ca_req("CN=x", PKI_KEY_EC_P256);
    p.excluded_dns = bad_dns;
    p.nexcluded_dns = 1;
    assert_int_equal(pki_ca_create("x", &p, F.root, &ca, &eb), E_VALIDATION);
    assert_string_equal(eb.attr, "excludedDNSDomains");
    p = ca_req("CN=x", PKI_KEY_EC_P256);
    assert_int_equal(pki_ca_create("Bad Name", &p, NULL, &ca, &eb), E_INTERNAL);
    assert_null(ca);
    assert_int_equal(ERR_peek_error(), 0);
}

/* Roots sign their own certificate with the digest of their key (the
 * larger RSA keys sign as RSA 2048 does, and take seconds to make);
 * pki_ca_new keeps its profile. */
static void
test_roots(void **state)
{
    static const enum pki_key_type types[] = { PKI_KEY_EC_P256, PKI_KEY_EC_P384,
                                               PKI_KEY_RSA_2048, PKI_KEY_ED25519 };
    struct ca                     *ca = NULL;
    struct errbuf                  eb = { 0 };
    char                           text[256];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(types); i++) {
        enum pki_key_type t = types[i];
        struct pki_ca_req p = ca_req("CN=Root,O=Keyward Tests", t);
        X509             *x;

        p.path_len = 3;
        assert_int_equal(pki_ca_create("r", &p, NULL, &ca, &eb), E_OK);
        x = (X509 *)pki_ca_cert(ca);
        assert_int_equal(X509_get_signature_nid(x), sig_nid_of(t));
        assert_int_equal(X509_get_pathlen(x), 3);
        assert_int_equal(X509_check_issued(x, x), X509_V_OK);
        assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1);
        assert_int_equal(X509_get_ext_by_NID(x, NID_name_constraints, -1), -1);
        assert_true(pki_time_ms(X509_get0_notAfter(x)) == p.not_after_ms);
        pki_ca_free(ca);
    }
    assert_int_equal(pki_ca_new("legacy", "Legacy CA", &ca, &eb), E_OK);
    X509_NAME_oneline(X509_get_subject_name(pki_ca_cert(ca)), text, sizeof(text));
    assert_string_equal(text, "/O=Keyward/CN=Legacy CA");
    assert_int_equal(X509_get_pathlen((X509 *)pki_ca_cert(ca)), 0);
    assert_int_equal(X509_get_key_usage((X509 *)pki_ca_cert(ca)),
                     KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_int_equal(pki_key_type_of(X509_get0_pubkey(pki_ca_cert(ca))), PKI_KEY_EC_P256);
    pki_ca_free(ca);
}

/* ---- RFC 4514 ----------------------------------------------------------- */

static void
test_subject_parse(void **state)
{
    static const struct {
        const char *in, *out; /* out: printed back as RFC 2253 (NULL: refused) */
    } cases[] = {
        { "CN=Acme Issuing CA,O=Acme", "CN=Acme Issuing CA,O=Acme" },
        { "CN=a\\,b,O=x", "CN=a\\,b,O=x" },
        { "CN=a\\+b\\;c\\<d\\>e\\=", "CN=a\\+b\\;c\\<d\\>e=" },
        { "CN=\\\"q\\\"", "CN=\\\"q\\\"" },
        { "CN=back\\\\slash", "CN=back\\\\slash" },
        { "CN=caf\\C3\\a9", "CN=café" },
        { "CN=café", "CN=café" },
        { "CN=x+OU=y,O=z", "OU=y+CN=x,O=z" }, /* printed in reverse, within the RDN too */
        { "cn=lower,o=case", "CN=lower,O=case" },
        { "  CN = spaced  ,  O = out ", "CN=spaced,O=out" },
        { "CN=\\ lead\\ ", "CN=\\ lead\\ " },
        { "CN=in=side#hash", "CN=in=side#hash" },
        { "2.5.4.3=by oid,1.2.3.4=custom",
          "CN=by oid,1.2.3.4=#0C06637573746F6D" }, /* UTF8String */
        { "DC=example,DC=com,STREET=1 Main St,UID=jdoe,L=x,ST=y,C=US",
          "DC=example,DC=com,street=1 Main St,UID=jdoe,L=x,ST=y,C=US" },
        { "emailAddress=a@example.com,serialNumber=42",
          "emailAddress=a@example.com,serialNumber=42" },
        { "", NULL },
        { "   ", NULL },
        { "CN", NULL },
        { "CN=", NULL },
        { "CN= ", NULL },
        { "=x", NULL },
        { "XX=y", NULL },
        { "1.=y", NULL },
        { "1=y", NULL },
        { "CN=a,", NULL },
        { "CN=a,,O=b", NULL },
        { "CN=a+", NULL },
        { "CN=a\\", NULL },
        { "CN=a\\zz", NULL },
        { "CN=a\\4", NULL },
        { "CN=a;b", NULL },
        { "CN=<x>", NULL },
        { "CN=\"q\"", NULL },
        { "CN=\\00", NULL },
        { "CN=\\C3", NULL },
        { "CN=\xff", NULL },
        { "C=USA", NULL },
        { "CN=#0403616263", NULL },
        { "CN=x,OU=y,C=U", NULL },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        X509_NAME    *n = (X509_NAME *)1;
        struct errbuf eb = { 0 };
        int           rc = pki_subject_parse(cases[i].in, "subject", &n, &eb);

        if (cases[i].out == NULL) {
            if (rc != E_VALIDATION)
                fail_msg("'%s' is taken", cases[i].in);
            assert_string_equal(eb.attr, "subject");
            assert_null(n);
            assert_int_equal(ERR_peek_error(), 0);
            continue;
        }
        if (rc != E_OK)
            fail_msg("'%s': %s", cases[i].in, eb.msg);
        BIO  *bio = BIO_new(BIO_s_mem());
        char *p = NULL;
        X509_NAME_print_ex(bio, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
        long len = BIO_get_mem_data(bio, &p);
        if ((size_t)len != strlen(cases[i].out) || memcmp(p, cases[i].out, (size_t)len) != 0)
            fail_msg("'%s' gave '%.*s'", cases[i].in, (int)len, p);
        BIO_free(bio);
        X509_NAME_free(n);
    }
}

/* The caps: 4096 bytes, 64 attributes; and a long CN is refused (64 at most). */
static void
test_subject_limits(void **state)
{
    char         *s = arena_alloc(F.a, 8192);
    X509_NAME    *n = NULL;
    struct errbuf eb = { 0 };
    size_t        len = 0;

    (void)state;
    for (int i = 0; i < 64; i++)
        len += (size_t)snprintf(s + len, 8192 - len, "%sOU=u%d", i ? "," : "", i);
    assert_int_equal(pki_subject_parse(s, "subject", &n, &eb), E_OK);
    assert_int_equal(X509_NAME_entry_count(n), 64);
    X509_NAME_free(n);
    snprintf(s + len, 8192 - len, ",OU=one-more");
    assert_int_equal(pki_subject_parse(s, "subject", &n, &eb), E_VALIDATION);
    assert_non_null(strstr(eb.msg, "too many"));
    memset(s, 'x', 4096);
    memcpy(s, "O=", 2);
    s[4096] = '\0';
    assert_int_equal(pki_subject_parse(s, "name", &n, &eb), E_VALIDATION);
    assert_string_equal(eb.attr, "name");
    assert_non_null(strstr(eb.msg, "allow")); /* 4096 bytes are read; O is too long for X.509 */
    s[4096] = 'x';
    s[4097] = '\0';
    assert_int_equal(pki_subject_parse(s, "name", &n, &eb), E_VALIDATION);
    assert_non_null(strstr(eb.msg, "too long"));
    memcpy(s, "CN=", 3);
    s[67] = '\0';
    assert_int_equal(pki_subject_parse(s, "subject", &n, &eb), E_OK);
    X509_NAME_free(n);
    s[67] = 'x';
    s[68] = '\0';
    assert_int_equal(pki_subject_parse(s, "subject", &n, &eb), E_VALIDATION);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_types),
        cmocka_unit_test(test_key_usage_fits),
        cmocka_unit_test(test_csr_openssl),
        cmocka_unit_test(test_csr_minimal),
        cmocka_unit_test(test_csr_tampered),
        cmocka_unit_test(test_csr_duplicate_subject),
        cmocka_unit_test(test_csr_san_limit),
        cmocka_unit_test(test_csr_san_types),
        cmocka_unit_test(test_csr_duplicate_extension),
        cmocka_unit_test(test_csr_garbage),
        cmocka_unit_test(test_leaf_by_root),
        cmocka_unit_test(test_leaf_other_keys),
        cmocka_unit_test(test_leaf_by_imported_ca),
        cmocka_unit_test(test_leaf_by_intermediate),
        cmocka_unit_test(test_name_constraints_hold),
        cmocka_unit_test(test_nc_check_agrees_with_openssl),
        cmocka_unit_test(test_leaf_refusals),
        cmocka_unit_test(test_leaf_minimal_and_no_injection),
        cmocka_unit_test(test_leaf_times_and_text),
        cmocka_unit_test(test_ca_refusals),
        cmocka_unit_test(test_roots),
        cmocka_unit_test(test_subject_parse),
        cmocka_unit_test(test_subject_limits),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
