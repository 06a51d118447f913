/* test_tlsboot.c - the console's local CA, server certificate and client CA under a
 * temporary data directory and an in-memory vault (the store's stand-in):
 * creation, chain, SANs, modes, reuse, re-issue, broken files, the import of CA
 * key files left by older versions, and a lost creation race. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/seal.h"
#include "memvault.h"
#include "pki/tlsboot.h"

struct fx {
    char            dir[64];
    char            tls[128];
    struct memvault mv;
};

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/kw-tls-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->tls, sizeof(f->tls), "%s/tls", f->dir);
    mv_init(&f->mv);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    mv_free(&f->mv);
    free(f);
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static const char *
tls_path(const struct fx *f, const char *name)
{
    static char p[4][PATH_MAX];
    static int  i;

    i = (i + 1) % 4;
    snprintf(p[i], sizeof(p[i]), "%s/%s", f->tls, name);
    return p[i];
}

static void
ensure_for(const struct fx *f, const char *host, const char *public_host, struct tls_files *out)
{
    struct errbuf eb = { 0 };
    struct ca    *a = NULL, *b = NULL;
    int rc = tlsboot_ensure(&(struct tls_source){ f->dir, host, public_host }, &f->mv.v, out,
                            &a, &b, &eb);

    if (rc != E_OK)
        fail_msg("tlsboot_ensure(%s): %d %s", host, rc, eb.msg);
    assert_non_null(a);
    assert_non_null(b);
    pki_ca_free(a);
    pki_ca_free(b);
}

static void
ensure_ok(const struct fx *f, const char *host, struct tls_files *out)
{
    ensure_for(f, host, NULL, out);
}

/* The CA key kept in the vault under `name`, unsealed (PEM, to be wiped). */
static void
vault_key(const struct fx *f, const char *name, struct buf *out)
{
    char aad[64];

    snprintf(aad, sizeof(aad), "keyward/ca/%s", name);
    buf_init(out, 0);
    for (int i = 0; i < MV_MAX; i++)
        if (f->mv.name[i] != NULL && strcmp(f->mv.name[i], name) == 0) {
            assert_int_equal(unseal(f->mv.master, str_c(f->mv.sealed[i]), str_c(aad), out),
                             E_OK);
            return;
        }
    fail_msg("no CA %s in the vault", name);
}

/* Forget the vault: the store of a data directory made by an older version. */
static void
vault_forget(struct fx *f)
{
    mv_free(&f->mv);
    mv_init(&f->mv);
}

static bool
exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static X509 *
pem_nth(const struct buf *b, int nth)
{
    BIO  *bio = BIO_new_mem_buf(b->p, (int)b->len);
    X509 *x = NULL;

    for (int i = 0; i <= nth; i++) {
        X509_free(x);
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    }
    BIO_free(bio);
    return x;
}

static void
file_bytes(const char *path, struct buf *out)
{
    char buf[4096];
    int  fd = open(path, O_RDONLY);
    long n;

    assert_true(fd >= 0);
    buf_init(out, 0);
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        assert_int_equal(buf_append(out, buf, (size_t)n), E_OK);
    close(fd);
}

static void
assert_file_is(const char *path, const struct buf *want)
{
    struct buf got;

    file_bytes(path, &got);
    assert_int_equal(got.len, want->len);
    assert_memory_equal(got.p, want->p, got.len);
    buf_free(&got);
}

static mode_t
mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static bool
same(const struct buf *a, const struct buf *b)
{
    return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* The server chain as a TLS client would check it: trusting only ca.pem. */
static int
verify_chain(const struct tls_files *t, const char *ip, const char *dns)
{
    X509_STORE        *st = X509_STORE_new();
    X509_STORE_CTX    *ctx = X509_STORE_CTX_new();
    X509              *ca = pem_nth(&t->ca_pem, 0), *leaf = pem_nth(&t->cert_pem, 0);
    X509_VERIFY_PARAM *p;
    int                ok;

    assert_non_null(ca);
    assert_non_null(leaf);
    assert_int_equal(X509_STORE_add_cert(st, ca), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, st, leaf, NULL), 1);
    p = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_purpose(p, X509_PURPOSE_SSL_SERVER);
    X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_X509_STRICT);
    if (ip != NULL)
        assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(p, ip), 1);
    if (dns != NULL)
        assert_int_equal(X509_VERIFY_PARAM_set1_host(p, dns, 0), 1);
    ok = X509_verify_cert(ctx);
    if (ok != 1 && ip == NULL && dns == NULL)
        fail_msg("chain: %s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    X509_free(ca);
    X509_free(leaf);
    return ok;
}

/* The private key handed out is the one of the leaf handed out. */
static bool
key_matches(const struct tls_files *t)
{
    BIO      *bio = BIO_new_mem_buf(t->key_pem.p, (int)t->key_pem.len);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    X509     *leaf = pem_nth(&t->cert_pem, 0);
    bool      ok = key != NULL && leaf != NULL && X509_check_private_key(leaf, key) == 1;

    BIO_free(bio);
    EVP_PKEY_free(key);
    X509_free(leaf);
    return ok;
}

static long
days_left(X509 *x)
{
    int day = 0, sec = 0;

    assert_int_equal(ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notAfter(x)), 1);
    return day;
}

static void
write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
    close(fd);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_fresh(void **state)
{
    struct fx       *f = *state;
    struct tls_files t;
    X509            *leaf, *ca, *chain_ca;
    EVP_PKEY        *key;
    BIO             *bio;

    ensure_ok(f, "127.0.0.1", &t);
    /* Files and modes. */
    assert_int_equal(mode_of(f->tls), 0700);
    assert_int_equal(mode_of(tls_path(f, "ca.pem")), 0644);
    assert_false(exists(tls_path(f, "ca.key"))); /* sealed in the store */
    assert_int_equal(f->mv.puts, 2);
    assert_int_equal(mode_of(tls_path(f, "server.pem")), 0644);
    assert_int_equal(mode_of(tls_path(f, "server.key")), 0600);
    assert_file_is(tls_path(f, "ca.pem"), &t.ca_pem);
    assert_file_is(tls_path(f, "server.pem"), &t.cert_pem);
    assert_file_is(tls_path(f, "server.key"), &t.key_pem);
    assert_non_null(strstr(t.key_pem.p, "-----BEGIN PRIVATE KEY-----")); /* PKCS#8 */
    /* The chain verifies and covers the defaults and the host. */
    assert_int_equal(verify_chain(&t, NULL, NULL), 1);
    assert_int_equal(verify_chain(&t, "127.0.0.1", NULL), 1);
    assert_int_equal(verify_chain(&t, "::1", NULL), 1);
    assert_int_equal(verify_chain(&t, NULL, "localhost"), 1);
    assert_int_not_equal(verify_chain(&t, "10.0.0.1", NULL), 1);
    assert_int_not_equal(verify_chain(&t, NULL, "evil.example"), 1);
    /* server.pem is leaf then CA; the key is the leaf's. */
    leaf = pem_nth(&t.cert_pem, 0);
    chain_ca = pem_nth(&t.cert_pem, 1);
    ca = pem_nth(&t.ca_pem, 0);
    assert_int_equal(X509_cmp(chain_ca, ca), 0);
    assert_null(pem_nth(&t.cert_pem, 2));
    bio = BIO_new_mem_buf(t.key_pem.p, (int)t.key_pem.len);
    key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_int_equal(X509_check_private_key(leaf, key), 1);
    assert_true(EVP_PKEY_is_a(key, "EC"));
    assert_int_equal(EVP_PKEY_get_bits(key), 256);
    /* CA profile. */
    assert_int_equal(X509_check_ca(ca), 1);
    assert_int_equal(X509_get_pathlen(ca), 0);
    assert_int_equal(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_non_null(X509_get0_subject_key_id(ca));
    assert_true(days_left(ca) >= 3650);
    {
        char cn[64], o[64];

        X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof(cn));
        X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_organizationName, o,
                                  sizeof(o));
        assert_string_equal(cn, "Keyward Local CA");
        assert_string_equal(o, "Keyward");
        X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof(cn));
        assert_string_equal(cn, "127.0.0.1");
    }
    /* Leaf profile. */
    assert_int_equal(X509_check_ca(leaf), 0);
    assert_true(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER);
    assert_int_equal(X509_get_key_usage(leaf), KU_DIGITAL_SIGNATURE);
    assert_non_null(X509_get0_authority_key_id(leaf));
    assert_true(days_left(leaf) >= 396 && days_left(leaf) <= 397);
    {
        const ASN1_INTEGER *sn = X509_get0_serialNumber(leaf);
        BIGNUM             *bn = ASN1_INTEGER_to_BN(sn, NULL);

        assert_false(BN_is_negative(bn));
        assert_int_equal(BN_num_bytes(bn), 16);
        BN_free(bn);
    }
    EVP_PKEY_free(key);
    X509_free(leaf);
    X509_free(chain_ca);
    X509_free(ca);
    tls_files_free(&t);
}

static void
test_sans(void **state)
{
    struct fx       *f = *state;
    struct tls_files t;
    X509            *leaf;
    char             self[256] = { 0 };

    ensure_ok(f, "keyward.example.org", &t);
    assert_int_equal(verify_chain(&t, NULL, "keyward.example.org"), 1);
    assert_int_equal(verify_chain(&t, "127.0.0.1", NULL), 1);
    assert_int_not_equal(verify_chain(&t, NULL, "x.keyward.example.org"), 1);
    leaf = pem_nth(&t.cert_pem, 0);
    /* The host is a DNS name, not an IP SAN; the machine's name is there too. */
    assert_int_equal(gethostname(self, sizeof(self) - 1), 0);
    if (strchr(self, '_') == NULL && self[0] != '\0')
        assert_int_equal(
            X509_check_host(leaf, self, 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL), 1);
    X509_free(leaf);
    tls_files_free(&t);
}

static void
test_ipv6_host(void **state)
{
    struct fx       *f = *state;
    struct tls_files t;

    ensure_ok(f, "[2001:db8::5]", &t);
    assert_int_equal(verify_chain(&t, "2001:db8::5", NULL), 1);
    assert_int_equal(verify_chain(&t, "::1", NULL), 1);
    tls_files_free(&t);
    ensure_ok(f, "2001:db8::5", &t); /* same host without brackets: reused */
    tls_files_free(&t);
}

static void
test_reuse(void **state)
{
    struct fx       *f = *state;
    struct tls_files a, b;

    ensure_ok(f, "127.0.0.1", &a);
    ensure_ok(f, "127.0.0.1", &b);
    assert_true(same(&a.ca_pem, &b.ca_pem));
    assert_true(same(&a.cert_pem, &b.cert_pem));
    assert_true(same(&a.key_pem, &b.key_pem));
    tls_files_free(&b);
    /* localhost is always covered: no re-issue either. */
    ensure_ok(f, "localhost", &b);
    assert_true(same(&a.cert_pem, &b.cert_pem));
    tls_files_free(&b);
    ensure_ok(f, NULL, &b);
    assert_true(same(&a.cert_pem, &b.cert_pem));
    tls_files_free(&a);
    tls_files_free(&b);
}

static void
test_new_host(void **state)
{
    struct fx       *f = *state;
    struct tls_files a, b, c;

    ensure_ok(f, "127.0.0.1", &a);
    ensure_ok(f, "10.1.2.3", &b);
    assert_true(same(&a.ca_pem, &b.ca_pem));
    assert_false(same(&a.cert_pem, &b.cert_pem));
    assert_false(same(&a.key_pem, &b.key_pem));
    assert_int_equal(verify_chain(&b, "10.1.2.3", NULL), 1);
    assert_file_is(tls_path(f, "server.pem"), &b.cert_pem);
    assert_file_is(tls_path(f, "server.key"), &b.key_pem);
    ensure_ok(f, "console.example.net", &c);
    assert_true(same(&a.ca_pem, &c.ca_pem));
    assert_int_equal(verify_chain(&c, NULL, "console.example.net"), 1);
    tls_files_free(&a);
    tls_files_free(&b);
    tls_files_free(&c);
}

/* public_url's host is named too (clients of other machines use it), and a
 * new one re-issues the certificate; the listen host stays covered. */
static void
test_public_host(void **state)
{
    struct fx       *f = *state;
    struct tls_files a, b, c;

    ensure_for(f, "0.0.0.0", "keyward.example.com", &a);
    assert_int_equal(verify_chain(&a, NULL, "keyward.example.com"), 1);
    assert_int_equal(verify_chain(&a, "0.0.0.0", NULL), 1);
    ensure_for(f, "0.0.0.0", "keyward.example.com", &b);
    assert_true(same(&a.cert_pem, &b.cert_pem));
    ensure_for(f, "0.0.0.0", "192.0.2.7", &c);
    assert_false(same(&a.cert_pem, &c.cert_pem));
    assert_int_equal(verify_chain(&c, "192.0.2.7", NULL), 1);
    assert_int_not_equal(verify_chain(&c, NULL, "keyward.example.com"), 1);
    tls_files_free(&a);
    tls_files_free(&b);
    tls_files_free(&c);
}

/* Replace server.pem/key with a leaf from the same CA valid for `days` only. */
static void
plant_short_leaf(const struct fx *f, long days)
{
    struct buf     capem, cakey;
    BIO           *bio;
    X509          *ca, *x = X509_new();
    EVP_PKEY      *cak, *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509_NAME     *n = X509_NAME_new();
    GENERAL_NAMES *gens;
    FILE          *fp;

    file_bytes(tls_path(f, "ca.pem"), &capem);
    vault_key(f, PKI_CA_TLS, &cakey);
    ca = pem_nth(&capem, 0);
    bio = BIO_new_mem_buf(cakey.p, (int)cakey.len);
    cak = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(cak);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (unsigned char *)"127.0.0.1", -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, X509_get_subject_name(ca));
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL);
    X509_set_pubkey(x, k);
    gens = sk_GENERAL_NAME_new_null();
    {
        GENERAL_NAME *gn = GENERAL_NAME_new();

        GENERAL_NAME_set0_value(gn, GEN_IPADD, a2i_IPADDRESS("127.0.0.1"));
        sk_GENERAL_NAME_push(gens, gn);
    }
    X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0);
    GENERAL_NAMES_free(gens);
    assert_true(X509_sign(x, cak, EVP_sha256()) > 0);
    fp = fopen(tls_path(f, "server.pem"), "w");
    PEM_write_X509(fp, x);
    PEM_write_X509(fp, ca);
    fclose(fp);
    fp = fopen(tls_path(f, "server.key"), "w");
    PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL);
    fclose(fp);
    X509_NAME_free(n);
    X509_free(x);
    X509_free(ca);
    EVP_PKEY_free(k);
    EVP_PKEY_free(cak);
    buf_free(&capem);
    buf_wipe(&cakey);
}

static void
test_expiring(void **state)
{
    struct fx       *f = *state;
    struct tls_files a, b;
    struct buf       planted;
    X509            *leaf;

    ensure_ok(f, "127.0.0.1", &a);
    /* 40 days left: still fine, kept as is. */
    plant_short_leaf(f, 40);
    file_bytes(tls_path(f, "server.pem"), &planted);
    ensure_ok(f, "127.0.0.1", &b);
    assert_true(same(&planted, &b.cert_pem));
    tls_files_free(&b);
    buf_free(&planted);
    /* 29 days left: re-issued from the same CA. */
    plant_short_leaf(f, 29);
    file_bytes(tls_path(f, "server.pem"), &planted);
    ensure_ok(f, "127.0.0.1", &b);
    assert_false(same(&planted, &b.cert_pem));
    assert_true(same(&a.ca_pem, &b.ca_pem));
    leaf = pem_nth(&b.cert_pem, 0);
    assert_true(days_left(leaf) >= 396);
    assert_int_equal(verify_chain(&b, "127.0.0.1", NULL), 1);
    X509_free(leaf);
    buf_free(&planted);
    tls_files_free(&a);
    tls_files_free(&b);
}

static void
test_server_repair(void **state)
{
    struct fx       *f = *state;
    struct tls_files a, b;

    ensure_ok(f, "127.0.0.1", &a);
    /* server.key lost (a crash between the two writes): re-issued. */
    assert_int_equal(unlink(tls_path(f, "server.key")), 0);
    ensure_ok(f, "127.0.0.1", &b);
    assert_false(same(&a.cert_pem, &b.cert_pem));
    assert_int_equal(verify_chain(&b, NULL, NULL), 1);
    assert_true(key_matches(&b));
    tls_files_free(&b);
    /* server.key from another key pair: re-issued. */
    {
        struct buf k;

        vault_key(f, PKI_CA_TLS, &k);
        write_file(tls_path(f, "server.key"), k.p);
        buf_wipe(&k);
    }
    ensure_ok(f, "127.0.0.1", &b);
    assert_int_equal(verify_chain(&b, NULL, NULL), 1);
    assert_true(key_matches(&b));
    assert_true(same(&a.ca_pem, &b.ca_pem));
    tls_files_free(&a);
    /* server.pem without the CA after the leaf: completed. */
    {
        X509 *leaf = pem_nth(&b.cert_pem, 0), *ca;
        FILE *fp = fopen(tls_path(f, "server.pem"), "w");

        assert_non_null(fp);
        PEM_write_X509(fp, leaf);
        fclose(fp);
        X509_free(leaf);
        tls_files_free(&b);
        ensure_ok(f, "127.0.0.1", &b);
        ca = pem_nth(&b.cert_pem, 1);
        assert_non_null(ca);
        assert_true(key_matches(&b));
        X509_free(ca);
    }
    tls_files_free(&b);
}

static void
expect_error(const struct fx *f, const char *host, const char *needle)
{
    struct tls_files t;
    struct ca       *a = NULL, *b = NULL;
    struct errbuf    eb = { 0 };

    assert_int_equal(
        tlsboot_ensure(&(struct tls_source){ f->dir, host, NULL }, &f->mv.v, &t, &a, &b, &eb),
        E_INTERNAL);
    if (strstr(eb.msg, needle) == NULL)
        fail_msg("\"%s\" not in \"%s\"", needle, eb.msg);
    assert_null(strchr(eb.msg, '\n'));
    assert_int_equal(t.cert_pem.len + t.key_pem.len + t.ca_pem.len, 0);
    tls_files_free(&t);
    assert_null(a);
    assert_null(b);
}

static void
test_corrupt(void **state)
{
    struct fx       *f = *state;
    struct tls_files t;
    struct buf       ca, srv;

    ensure_ok(f, "127.0.0.1", &t);
    tls_files_free(&t);
    file_bytes(tls_path(f, "ca.pem"), &ca);
    file_bytes(tls_path(f, "server.pem"), &srv);

    /* ca.pem is a copy for users: the store's CA writes it again. */
    write_file(tls_path(f, "ca.pem"), "-----BEGIN CERTIFICATE-----\ngarbage\n");
    ensure_ok(f, "127.0.0.1", &t);
    assert_file_is(tls_path(f, "ca.pem"), &ca);
    tls_files_free(&t);
    assert_int_equal(unlink(tls_path(f, "ca.pem")), 0);
    ensure_ok(f, "127.0.0.1", &t);
    assert_file_is(tls_path(f, "ca.pem"), &ca);
    tls_files_free(&t);
    /* A sealed key that does not open (another master key). */
    f->mv.master[0] ^= 1;
    expect_error(f, "127.0.0.1", "wrong master key");
    f->mv.master[0] ^= 1;

    write_file(tls_path(f, "server.pem"), "junk");
    expect_error(f, "127.0.0.1", "server.pem");
    write_file(tls_path(f, "server.pem"), srv.p);
    write_file(tls_path(f, "server.key"), "junk");
    expect_error(f, "127.0.0.1", "server.key");
    assert_int_equal(unlink(tls_path(f, "server.key")), 0);

    /* Everything back in order: the same CA still loads. */
    ensure_ok(f, "127.0.0.1", &t);
    assert_true(same(&t.ca_pem, &ca));
    tls_files_free(&t);
    buf_free(&ca);
    buf_free(&srv);
}

static void
test_bad_dirs_and_hosts(void **state)
{
    struct fx       *f = *state;
    struct tls_files t;
    struct ca       *a, *b;
    struct errbuf    eb = { 0 };
    char             p[PATH_MAX];

    expect_error(f, "bad host!", "host");
    expect_error(f, "-leading.example", "host");
    expect_error(f, "a..b", "host");
    assert_int_equal(
        tlsboot_ensure(&(struct tls_source){ "/nonexistent-kw/data", "127.0.0.1", NULL },
                       &f->mv.v, &t, &a, &b, &eb),
        E_INTERNAL);
    assert_non_null(strstr(eb.msg, "/nonexistent-kw/data/tls"));
    tls_files_free(&t);
    assert_int_equal(tlsboot_ensure(&(struct tls_source){ NULL, "127.0.0.1", NULL }, &f->mv.v,
                                    &t, &a, &b, &eb),
                     E_INTERNAL);
    tls_files_free(&t);
    /* tls exists but is a file. */
    snprintf(p, sizeof(p), "%s/tls", f->dir);
    write_file(p, "x");
    expect_error(f, "127.0.0.1", "not a directory");
    assert_int_equal(unlink(p), 0);
    /* An unreadable directory (meaningless for root, who reads anyway). */
    if (geteuid() != 0) {
        ensure_ok(f, "127.0.0.1", &t);
        tls_files_free(&t);
        assert_int_equal(chmod(p, 0), 0);
        expect_error(f, "127.0.0.1", "ca.pem");
        assert_int_equal(chmod(p, 0700), 0);
    }
    /* A host at the DNS name limit: CN falls back, SAN carries it. */
    {
        char long_host[254];

        memset(long_host, 'a', 253);
        for (int i = 63; i < 253; i += 64)
            long_host[i] = '.';
        long_host[253] = '\0';
        ensure_ok(f, long_host, &t);
        assert_int_equal(verify_chain(&t, NULL, long_host), 1);
        tls_files_free(&t);
    }
}

/* The client CA: its own key pair, a CA, ten years, files and buffers alike. */
static void
test_client_ca(void **state)
{
    struct fx       *f = *state;
    struct tls_files t;
    X509            *cca, *ca;
    EVP_PKEY        *key;
    BIO             *bio;
    char             cn[64];
    struct buf       kpem;

    ensure_ok(f, "127.0.0.1", &t);
    assert_int_equal(mode_of(tls_path(f, "client-ca.pem")), 0644);
    assert_false(exists(tls_path(f, "client-ca.key")));
    assert_file_is(tls_path(f, "client-ca.pem"), &t.client_ca_pem);
    cca = pem_nth(&t.client_ca_pem, 0);
    ca = pem_nth(&t.ca_pem, 0);
    assert_non_null(cca);
    assert_int_not_equal(X509_cmp(cca, ca), 0);
    assert_int_not_equal(EVP_PKEY_eq(X509_get0_pubkey(cca), X509_get0_pubkey(ca)), 1);
    assert_int_equal(X509_check_ca(cca), 1);
    assert_int_equal(X509_get_pathlen(cca), 0);
    assert_int_equal(X509_get_key_usage(cca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_true(days_left(cca) >= 3650);
    X509_NAME_get_text_by_NID(X509_get_subject_name(cca), NID_commonName, cn, sizeof(cn));
    assert_string_equal(cn, "Keyward Client CA");
    vault_key(f, PKI_CA_CLIENT, &kpem);
    bio = BIO_new_mem_buf(kpem.p, (int)kpem.len);
    key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    buf_wipe(&kpem);
    assert_int_equal(X509_check_private_key(cca, key), 1);
    assert_true(EVP_PKEY_is_a(key, "EC"));
    assert_int_equal(EVP_PKEY_get_bits(key), 256);
    /* The server certificate does not chain to it. */
    {
        X509_STORE     *st = X509_STORE_new();
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        X509           *leaf = pem_nth(&t.cert_pem, 0);

        X509_STORE_add_cert(st, cca);
        X509_STORE_CTX_init(ctx, st, leaf, NULL);
        assert_int_not_equal(X509_verify_cert(ctx), 1);
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(st);
        X509_free(leaf);
    }
    EVP_PKEY_free(key);
    X509_free(cca);
    X509_free(ca);
    tls_files_free(&t);
    assert_int_equal(t.client_ca_pem.len, 0);
}

/* Kept across starts; a store from before the client CA gets one without its
 * server side changing. */
static void
test_client_ca_reuse_and_upgrade(void **state)
{
    struct fx       *f = *state;
    struct tls_files a, b;

    ensure_ok(f, "127.0.0.1", &a);
    ensure_ok(f, "127.0.0.1", &b);
    assert_true(same(&a.client_ca_pem, &b.client_ca_pem));
    assert_int_equal(f->mv.puts, 2);
    tls_files_free(&b);
    for (int i = 0; i < MV_MAX; i++) /* the store never had a client CA */
        if (f->mv.name[i] != NULL && strcmp(f->mv.name[i], PKI_CA_CLIENT) == 0) {
            free(f->mv.name[i]);
            free(f->mv.cert[i]);
            free(f->mv.sealed[i]);
            f->mv.name[i] = f->mv.cert[i] = f->mv.sealed[i] = NULL;
        }
    assert_int_equal(unlink(tls_path(f, "client-ca.pem")), 0);
    ensure_ok(f, "127.0.0.1", &b);
    assert_false(same(&a.client_ca_pem, &b.client_ca_pem));
    assert_true(same(&a.ca_pem, &b.ca_pem));
    assert_true(same(&a.cert_pem, &b.cert_pem));
    assert_file_is(tls_path(f, "client-ca.pem"), &b.client_ca_pem);
    tls_files_free(&a);
    tls_files_free(&b);
}

/* A data directory of an older version: CA keys as files and a store without
 * CAs. They are imported (same CAs), then the key files are gone. */
static void
test_import_old_files(void **state)
{
    struct fx       *f = *state;
    struct tls_files a, b;
    struct buf       key, ckey, k2, srvkey;

    ensure_ok(f, "127.0.0.1", &a);
    vault_key(f, PKI_CA_TLS, &key);
    vault_key(f, PKI_CA_CLIENT, &ckey);
    write_file(tls_path(f, "ca.key"), key.p);
    write_file(tls_path(f, "client-ca.key"), ckey.p);
    vault_forget(f);
    ensure_ok(f, "127.0.0.1", &b);
    assert_int_equal(f->mv.puts, 2);
    assert_true(same(&a.ca_pem, &b.ca_pem));
    assert_true(same(&a.client_ca_pem, &b.client_ca_pem));
    assert_true(same(&a.cert_pem, &b.cert_pem)); /* the server certificate still holds */
    assert_false(exists(tls_path(f, "ca.key")));
    assert_false(exists(tls_path(f, "client-ca.key")));
    vault_key(f, PKI_CA_TLS, &k2);
    assert_true(same(&key, &k2));
    buf_wipe(&k2);
    tls_files_free(&b);
    /* A key file left over (a crash after the import): the store's, so removed. */
    write_file(tls_path(f, "ca.key"), key.p);
    ensure_ok(f, "127.0.0.1", &b);
    assert_false(exists(tls_path(f, "ca.key")));
    tls_files_free(&b);
    /* Another key left over: refused, kept for someone to look at. */
    file_bytes(tls_path(f, "server.key"), &srvkey);
    write_file(tls_path(f, "ca.key"), srvkey.p);
    expect_error(f, "127.0.0.1", "is not the key of the Keyward Local CA in the store");
    assert_true(exists(tls_path(f, "ca.key")));
    assert_int_equal(unlink(tls_path(f, "ca.key")), 0);

    /* Broken old files, with an empty store. */
    vault_forget(f);
    write_file(tls_path(f, "ca.key"), "not a key");
    expect_error(f, "127.0.0.1", "ca.key");
    assert_int_equal(unlink(tls_path(f, "ca.key")), 0);
    expect_error(f, "127.0.0.1", "ca.key nor in the store");
    write_file(tls_path(f, "ca.key"), srvkey.p);
    expect_error(f, "127.0.0.1", "does not match");
    write_file(tls_path(f, "ca.key"), key.p);
    write_file(tls_path(f, "client-ca.key"), key.p); /* the TLS CA's key */
    expect_error(f, "127.0.0.1", "client-ca.key: ca client: the key does not match");
    /* A leaf (the server's, with its key) is not a CA. */
    {
        struct buf srv;

        file_bytes(tls_path(f, "server.pem"), &srv);
        write_file(tls_path(f, "client-ca.pem"), srv.p);
        write_file(tls_path(f, "client-ca.key"), srvkey.p);
        buf_free(&srv);
    }
    expect_error(f, "127.0.0.1", "not a CA certificate");
    write_file(tls_path(f, "client-ca.pem"), a.client_ca_pem.p);
    write_file(tls_path(f, "client-ca.key"), ckey.p);
    ensure_ok(f, "127.0.0.1", &b);
    assert_true(same(&a.ca_pem, &b.ca_pem));
    assert_true(same(&a.client_ca_pem, &b.client_ca_pem));
    assert_false(exists(tls_path(f, "ca.key")));
    assert_false(exists(tls_path(f, "client-ca.key")));
    tls_files_free(&a);
    tls_files_free(&b);
    buf_wipe(&key);
    buf_wipe(&ckey);
    buf_wipe(&srvkey);
}

/* Two servers start at once on one store: ours makes a CA, but another's was
 * stored first (put_new says E_DUPLICATE). Ours is dropped, theirs used. */
static int
hiding_get(void *ctx, const char *name, struct arena *a, struct str *cert, struct str *sealed)
{
    static int calls;

    if (calls++ % 2 == 0) /* each CA: not there yet at the first look */
        return E_NOTFOUND;
    return mv_get(ctx, name, a, cert, sealed);
}

static void
test_lost_race(void **state)
{
    struct fx       *f = *state;
    struct tls_files a, b;
    struct fx        other = *f;

    /* "The other server" made both CAs in another data directory. */
    snprintf(other.dir, sizeof(other.dir), "/tmp/kw-tls-XXXXXX");
    assert_non_null(mkdtemp(other.dir));
    snprintf(other.tls, sizeof(other.tls), "%s/tls", other.dir);
    mv_init(&other.mv);
    ensure_ok(&other, "127.0.0.1", &a);
    f->mv = other.mv;
    f->mv.v.ctx = &f->mv;
    f->mv.v.get = hiding_get;
    f->mv.puts = 0;
    ensure_ok(f, "127.0.0.1", &b);
    assert_int_equal(f->mv.puts, 0); /* both puts lost */
    assert_true(same(&a.ca_pem, &b.ca_pem));
    assert_true(same(&a.client_ca_pem, &b.client_ca_pem));
    assert_file_is(tls_path(f, "ca.pem"), &a.ca_pem);
    assert_int_equal(verify_chain(&b, "127.0.0.1", NULL), 1);
    tls_files_free(&a);
    tls_files_free(&b);
    nftw(other.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_public_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_repair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_dirs_and_hosts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_ca_reuse_and_upgrade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_old_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_race, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
