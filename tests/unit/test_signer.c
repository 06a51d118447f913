/* test_signer.c - client certificates: signing from a CSR or a generated key
 * (pki/signer.c) and their verification as the HTTP layer does it (http/peer.c),
 * with a client CA made by tlsboot in a temporary data directory; CA handles
 * (pki/ca.h): several at once, sealing, import checks, the registry. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "http/peer.h"
#include "memvault.h"
#include "pki/signer.h"
#include "pki/tlsboot.h"

struct fx {
    char             dir[64];
    struct tls_files tls;
    struct memvault  mv;
    struct ca       *tls_ca, *ca; /* ca: the client CA */
    struct arena    *a;
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
    struct fx    *f = calloc(1, sizeof(*f));
    struct errbuf eb = { 0 };

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/kw-sign-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    mv_init(&f->mv);
    assert_int_equal(tlsboot_ensure(&(struct tls_source){ f->dir, "127.0.0.1", NULL }, &f->mv.v,
                                    &f->tls, &f->tls_ca, &f->ca, &eb),
                     E_OK);
    assert_int_equal(peer_init(buf_cstr(&f->tls.client_ca_pem), &eb), E_OK);
    f->a = arena_new(4096);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    peer_fini();
    pki_ca_free(f->ca);
    pki_ca_free(f->tls_ca);
    mv_free(&f->mv);
    tls_files_free(&f->tls);
    arena_free(f->a);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static X509 *
cert_of(const struct buf *pem)
{
    BIO  *bio = BIO_new_mem_buf(pem->p, (int)pem->len);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

    BIO_free(bio);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *
key_of(const struct buf *pem)
{
    BIO      *bio = BIO_new_mem_buf(pem->p, (int)pem->len);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

    BIO_free(bio);
    assert_non_null(k);
    return k;
}

/* A PEM CSR for `key`, with a subject the console must ignore. */
static struct str
csr_for(struct arena *a, EVP_PKEY *key, bool tamper)
{
    X509_REQ  *req = X509_REQ_new();
    X509_NAME *n = X509_NAME_new();
    BIO       *bio = BIO_new(BIO_s_mem());
    char      *p = NULL;
    long       len;

    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"evil", -1, -1, 0);
    X509_REQ_set_subject_name(req, n);
    X509_REQ_set_pubkey(req, key);
    assert_true(X509_REQ_sign(req, key, EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256()) >
                0);
    if (tamper) { /* a different key after signing: the self-signature breaks */
        EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        X509_REQ_set_pubkey(req, other);
        EVP_PKEY_free(other);
    }
    PEM_write_bio_X509_REQ(bio, req);
    len = BIO_get_mem_data(bio, &p);
    struct str out = arena_str(a, (struct str){ p, (size_t)len });
    BIO_free(bio);
    X509_NAME_free(n);
    X509_REQ_free(req);
    return out;
}

static const struct peer_cert *
check_pem(struct arena *a, const struct buf *pem)
{
    X509                   *x = cert_of(pem);
    unsigned char          *der = NULL;
    int                     n = i2d_X509(x, &der);
    const struct peer_cert *p = peer_check(a, der, (size_t)n);

    OPENSSL_free(der);
    X509_free(x);
    return p;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_generated_key(void **state)
{
    struct fx         *f = *state;
    struct client_cert cc;
    struct errbuf      eb = { 0 };
    X509              *x;
    EVP_PKEY          *k;
    char               cn[256], o[256];

    assert_int_equal(pki_sign_client(f->ca, "app:credential:0123456789abcdef01234567:payments",
                                     "/acme", STR_NULL, &cc, &eb),
                     E_OK);
    assert_non_null(strstr(cc.key_pem.p, "-----BEGIN PRIVATE KEY-----"));
    x = cert_of(&cc.cert_pem);
    k = key_of(&cc.key_pem);
    assert_int_equal(X509_check_private_key(x, k), 1);
    assert_int_equal(EVP_PKEY_get_bits(k), 256);
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationName, o, sizeof(o));
    assert_string_equal(cn, "app:credential:0123456789abcdef01234567:payments");
    assert_string_equal(o, "/acme");
    assert_int_equal(X509_check_ca(x), 0);
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
    assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
    assert_non_null(X509_get0_subject_key_id(x));
    assert_non_null(X509_get0_authority_key_id(x));
    assert_int_equal(strlen(cc.serial), 32);
    {
        char hex[PKI_SERIAL_HEX];
        assert_int_equal(pki_serial_hex(x, hex), E_OK);
        assert_string_equal(hex, cc.serial);
    }
    /* One year, give or take the hour of backdating. */
    assert_true(cc.not_after_ms > ((int64_t)time(NULL) + 364 * 86400LL) * 1000);
    assert_true(cc.not_after_ms <= ((int64_t)time(NULL) + 366 * 86400LL) * 1000);
    /* As the HTTP layer sees it. */
    const struct peer_cert *p = check_pem(f->a, &cc.cert_pem);
    assert_true(p->verified);
    assert_null(p->reason);
    assert_string_equal(p->cn, cn);
    assert_string_equal(p->o, "/acme");
    assert_int_equal(p->nou, 0);
    assert_string_equal(p->serial, cc.serial);
    assert_true(p->not_after_ms == cc.not_after_ms);
    X509_free(x);
    EVP_PKEY_free(k);
    pki_client_cert_free(&cc);
    assert_int_equal(cc.key_pem.len, 0);
    pki_client_cert_free(&cc); /* twice is harmless */
}

static EVP_PKEY *
new_key(const char *type, const char *param)
{
    if (strcmp(type, "RSA") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)strtoul(param, NULL, 10));
    if (strcmp(type, "EC") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
    return EVP_PKEY_Q_keygen(NULL, NULL, type);
}

/* Accepted keys are certified as they are; others are 422 on "csr". */
static void
test_csr_keys(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *type, *param;
        int         rc;
    } keys[] = {
        { "EC", "P-256", E_OK },         { "EC", "P-384", E_OK },
        { "RSA", "2048", E_OK },         { "EC", "P-521", E_VALIDATION },
        { "RSA", "1024", E_VALIDATION }, { "ED25519", NULL, E_VALIDATION },
    };

    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        EVP_PKEY          *k = new_key(keys[i].type, keys[i].param);
        struct client_cert cc;
        struct errbuf      eb = { 0 };

        assert_non_null(k);
        int rc = pki_sign_client(f->ca, "app:credential:x:y", "/", csr_for(f->a, k, false), &cc,
                                 &eb);
        if (rc != keys[i].rc)
            fail_msg("%s %s: %d %s", keys[i].type, keys[i].param, rc, eb.msg);
        if (rc == E_OK) {
            X509 *x = cert_of(&cc.cert_pem);
            char  cn[64];
            assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), k), 1);
            assert_int_equal(cc.key_pem.len, 0);
            X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
            assert_string_equal(cn, "app:credential:x:y");
            assert_true(check_pem(f->a, &cc.cert_pem)->verified);
            X509_free(x);
        } else {
            assert_string_equal(eb.attr, "csr");
            assert_int_equal(cc.cert_pem.len, 0);
        }
        pki_client_cert_free(&cc);
        EVP_PKEY_free(k);
    }
}

static void
test_bad_csrs(void **state)
{
    struct fx               *f = *state;
    struct client_cert       cc;
    struct errbuf            eb = { 0 };
    EVP_PKEY                *k = new_key("EC", "P-256");
    static const char *const junk[] = {
        "",
        "not a csr",
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE "
        "REQUEST-----\n",
    };

    assert_int_equal(pki_sign_client(f->ca, "cn", "/", csr_for(f->a, k, true), &cc, &eb),
                     E_VALIDATION);
    assert_non_null(strstr(eb.msg, "signature"));
    for (size_t i = 1; i < ARRAY_LEN(junk); i++) {
        assert_int_equal(pki_sign_client(f->ca, "cn", "/", str_c(junk[i]), &cc, &eb),
                         E_VALIDATION);
        assert_string_equal(eb.attr, "csr");
    }
    EVP_PKEY_free(k);
}

/* What peer_check refuses: another CA, self-signed, a server certificate, junk. */
static void
test_peer_refusals(void **state)
{
    struct fx                 *f = *state;
    const struct peer_cert    *p;
    static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

    p = check_pem(f->a, &f->tls.cert_pem); /* signed by the server CA */
    assert_false(p->verified);
    assert_non_null(p->reason);
    assert_string_equal(p->cn, "");
    p = check_pem(f->a, &f->tls.client_ca_pem); /* the CA itself, self-signed */
    assert_false(p->verified);
    p = peer_check(f->a, junk, sizeof(junk));
    assert_false(p->verified);
    p = peer_check(f->a, NULL, 0);
    assert_false(p->verified);
}

static void
test_not_initialised(void **state)
{
    struct client_cert cc;
    struct errbuf      eb = { 0 };

    (void)state;
    assert_int_equal(pki_sign_client(NULL, "cn", "/", STR_NULL, &cc, &eb), E_INTERNAL);
    assert_int_equal(cc.cert_pem.len, 0);
}

/* ---- CA handles --------------------------------------------------------- */

/* Does `cert_pem` verify under `ca` alone? */
static bool
issued_by(const struct ca *ca, const struct buf *cert_pem)
{
    X509     *x = cert_of(cert_pem);
    EVP_PKEY *pub = X509_get0_pubkey(pki_ca_cert(ca));
    bool      ok = X509_verify(x, pub) == 1;

    X509_free(x);
    return ok;
}

static void
test_two_cas(void **state)
{
    struct fx         *f = *state;
    struct ca         *b = NULL;
    struct client_cert ca1 = { 0 }, cb = { 0 };
    struct errbuf      eb = { 0 };

    assert_int_equal(pki_ca_new("tenant-b", "Tenant B CA", &b, &eb), E_OK);
    assert_string_equal(pki_ca_name(b), "tenant-b");
    assert_non_null(strstr(pki_ca_pem(b), "BEGIN CERTIFICATE"));
    assert_int_equal(pki_sign_client(f->ca, "a", "/", STR_NULL, &ca1, &eb), E_OK);
    assert_int_equal(pki_sign_client(b, "b", "/", STR_NULL, &cb, &eb), E_OK);
    assert_true(issued_by(f->ca, &ca1.cert_pem));
    assert_false(issued_by(b, &ca1.cert_pem));
    assert_true(issued_by(b, &cb.cert_pem));
    assert_false(issued_by(f->ca, &cb.cert_pem));
    assert_false(check_pem(f->a, &cb.cert_pem)->verified); /* the HTTP layer trusts f->ca */
    pki_client_cert_free(&ca1);
    pki_client_cert_free(&cb);
    pki_ca_free(b);
    assert_int_equal(pki_ca_new("Bad Name", "x", &b, &eb), E_INTERNAL);
    assert_null(b);
}

static void
test_seal_open(void **state)
{
    struct fx         *f = *state;
    struct buf         sealed;
    struct ca         *o = NULL;
    struct client_cert cc = { 0 };
    struct errbuf      eb = { 0 };
    unsigned char      other[SEAL_KEY_LEN] = { 0 };
    struct str         crt = str_c(pki_ca_pem(f->ca));

    buf_init(&sealed, 16384);
    assert_int_equal(pki_ca_seal(f->ca, f->mv.master, &sealed), E_OK);
    assert_null(strstr(buf_cstr(&sealed), "PRIVATE KEY"));
    assert_int_equal(pki_ca_open(PKI_CA_CLIENT, crt, buf_str(&sealed), f->mv.master, &o, &eb),
                     E_OK);
    assert_int_equal(pki_sign_client(o, "again", "/", STR_NULL, &cc, &eb), E_OK);
    assert_true(issued_by(f->ca, &cc.cert_pem));
    assert_true(check_pem(f->a, &cc.cert_pem)->verified);
    pki_client_cert_free(&cc);
    pki_ca_free(o);
    /* another master key, or the sealed key under another CA's name, does not open */
    assert_int_equal(pki_ca_open(PKI_CA_CLIENT, crt, buf_str(&sealed), other, &o, &eb),
                     E_INTERNAL);
    assert_null(o);
    assert_int_equal(pki_ca_open(PKI_CA_TLS, crt, buf_str(&sealed), f->mv.master, &o, &eb),
                     E_INTERNAL);
    assert_null(o);
    /* the right key with another CA's certificate */
    assert_int_equal(pki_ca_open(PKI_CA_CLIENT, str_c(pki_ca_pem(f->tls_ca)), buf_str(&sealed),
                                 f->mv.master, &o, &eb),
                     E_INTERNAL);
    assert_non_null(strstr(eb.msg, "does not match"));
    buf_free(&sealed);
}

static void
test_import(void **state)
{
    struct fx         *f = *state;
    struct ca         *o = NULL;
    struct client_cert cc = { 0 };
    struct errbuf      eb = { 0 };
    EVP_PKEY          *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    struct buf         kpem;

    buf_init(&kpem, 4096);
    assert_int_equal(pki_key_pem(k, &kpem), E_OK);
    assert_true(pki_ca_key_is(f->ca, str_c(pki_ca_pem(f->ca))) == false);
    assert_false(pki_ca_key_is(f->ca, buf_str(&kpem)));
    assert_int_equal(pki_ca_import("x", str_c(pki_ca_pem(f->ca)), buf_str(&kpem), &o, &eb),
                     E_INTERNAL);
    /* a leaf is no CA, even with its own key */
    assert_int_equal(pki_sign_client(f->ca, "leaf", "/", STR_NULL, &cc, &eb), E_OK);
    assert_int_equal(pki_ca_import("x", buf_str(&cc.cert_pem), buf_str(&cc.key_pem), &o, &eb),
                     E_INTERNAL);
    assert_non_null(strstr(eb.msg, "not a CA"));
    assert_int_equal(pki_ca_import("x", STR("junk"), buf_str(&cc.key_pem), &o, &eb),
                     E_INTERNAL);
    assert_null(o);
    pki_client_cert_free(&cc);
    buf_wipe(&kpem);
    EVP_PKEY_free(k);
}

static void
test_registry(void **state)
{
    struct fx    *f = *state;
    struct ca    *dup = NULL;
    struct errbuf eb = { 0 };

    assert_null(pki_ca_find(PKI_CA_CLIENT));
    assert_int_equal(pki_ca_register(f->ca), E_OK);
    assert_int_equal(pki_ca_register(f->tls_ca), E_OK);
    assert_ptr_equal(pki_ca_find(PKI_CA_CLIENT), f->ca);
    assert_ptr_equal(pki_ca_find(PKI_CA_TLS), f->tls_ca);
    assert_int_equal(pki_ca_new(PKI_CA_TLS, "x", &dup, &eb), E_OK);
    assert_int_equal(pki_ca_register(dup), E_DUPLICATE);
    pki_ca_free(dup);
    pki_ca_unregister_all(); /* frees what it holds */
    f->ca = f->tls_ca = NULL;
    assert_null(pki_ca_find(PKI_CA_CLIENT));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generated_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csr_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_csrs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_initialised, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_cas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seal_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
