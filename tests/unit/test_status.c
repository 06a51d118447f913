/* test_status.c - revocation status (pki/status.h): reason names; CRLs
 * (pki/crl.c), checked by the openssl command line and byte for byte
 * against OpenSSL's own X509_CRL encoding of the same list, for CAs of each
 * key type; the CRL signer's refusals (signer.c); OCSP requests made by
 * `openssl ocsp`, read and matched to their CA, answers signed by the
 * delegated responder and verified by `openssl ocsp`, malformed requests,
 * and the fixed error answers (pki/ocsp.c). Files go to a mkdtemp
 * directory. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki/status.h"

#define DAY_MS (86400 * (int64_t)1000)

struct fx {
    char          dir[32];
    struct ca    *ca, *other;
    X509         *leaf;
    EVP_PKEY     *leaf_key;
    char          leaf_serial[PKI_SERIAL_HEX];
    int64_t       now_ms;
    struct buf    out; /* the last command's output */
    struct errbuf eb;
};

/* ---- helpers ---------------------------------------------------------------- */

static void
file_put(struct fx *f, const char *name, const void *p, size_t len)
{
    char  path[96];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void
file_get(struct fx *f, const char *name, struct buf *b)
{
    char   path[96], chunk[4096];
    size_t n;
    FILE  *fp;

    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    fp = fopen(path, "rb");
    assert_non_null(fp);
    buf_reset(b);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        assert_int_equal(buf_append(b, chunk, n), E_OK);
    fclose(fp);
}

static int sh(struct fx *f, const char *fmt, ...) KW_PRINTF(2, 3);

/* Run a command in the fixture's directory; its output (stdout and stderr)
 * into f->out; its exit status. */
static int
sh(struct fx *f, const char *fmt, ...)
{
    char    cmd[1024], line[1200];
    va_list ap;
    FILE   *p;
    int     st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    buf_reset(&f->out);
    assert_true(strlen(cmd) + strlen(f->dir) + 32 < sizeof(line));
    snprintf(line, sizeof(line), "cd '%s' && (%s) 2>&1", f->dir, cmd);
    p = popen(line, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p) != NULL)
        assert_int_equal(buf_puts(&f->out, line), E_OK);
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
out_has(struct fx *f, const char *what)
{
    if (strstr(buf_cstr(&f->out), what) != NULL)
        return;
    fprintf(stderr, "%s\n", buf_cstr(&f->out)); /* longer than cmocka prints */
    fail_msg("no \"%s\" in the output above", what);
}

static void
out_lacks(struct fx *f, const char *what)
{
    if (strstr(buf_cstr(&f->out), what) != NULL)
        fail_msg("\"%s\" in:\n%s", what, buf_cstr(&f->out));
}

/* "0abc" -> "0ABC", as openssl prints serials. */
static const char *
upper(const char *hex, char out[PKI_SERIAL_HEX])
{
    size_t i;

    for (i = 0; hex[i] != '\0' && i + 1 < PKI_SERIAL_HEX; i++)
        out[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 32 : hex[i]);
    out[i] = '\0';
    return out;
}

static void
cert_put(struct fx *f, const char *name, X509 *x)
{
    struct buf pem;

    buf_init(&pem, 0);
    assert_int_equal(pki_cert_pem(x, &pem), E_OK);
    file_put(f, name, pem.p, pem.len);
    buf_free(&pem);
}

/* A leaf certificate of `ca` for a new P-256 key. */
static X509 *
leaf_new(const struct ca *ca, const char *cn, EVP_PKEY **key)
{
    X509         *x = X509_new();
    X509_NAME    *n = X509_NAME_new();
    struct errbuf eb = { 0 };

    *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(*key);
    assert_int_equal(
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0),
        1);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(pki_serial_random(x), E_OK);
    assert_int_equal(X509_set_subject_name(x, n), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 30 * 86400));
    assert_int_equal(X509_set_pubkey(x, *key), 1);
    assert_int_equal(pki_ext_add(x, x, NID_basic_constraints, "critical,CA:FALSE"), E_OK);
    assert_int_equal(pki_ext_add(x, x, NID_subject_key_identifier, "hash"), E_OK);
    assert_int_equal(pki_ca_sign_cert(ca, x, &eb), E_OK);
    X509_NAME_free(n);
    return x;
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct buf pem;

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/kw-status-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    buf_init(&f->out, 0);
    assert_int_equal(pki_ca_new("status", "Status CA", &f->ca, &f->eb), E_OK);
    assert_int_equal(pki_ca_new("other", "Other CA", &f->other, &f->eb), E_OK);
    f->leaf = leaf_new(f->ca, "leaf.example", &f->leaf_key);
    assert_int_equal(pki_serial_hex(f->leaf, f->leaf_serial), E_OK);
    f->now_ms = (int64_t)time(NULL) * 1000;
    file_put(f, "ca.pem", pki_ca_pem(f->ca), strlen(pki_ca_pem(f->ca)));
    file_put(f, "other.pem", pki_ca_pem(f->other), strlen(pki_ca_pem(f->other)));
    cert_put(f, "leaf.pem", f->leaf);
    buf_init(&pem, 0);
    assert_int_equal(pki_key_pem(f->leaf_key, &pem), E_OK);
    file_put(f, "leaf.key", pem.p, pem.len);
    buf_wipe(&pem);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    assert_int_equal(sh(f, "rm -rf '%s'", f->dir), 0);
    buf_free(&f->out);
    X509_free(f->leaf);
    EVP_PKEY_free(f->leaf_key);
    pki_ca_free(f->other);
    pki_ca_free(f->ca);
    free(f);
    return 0;
}

/* ---- reasons ------------------------------------------------------------------ */

static void
test_reasons(void **state)
{
    size_t n = 0;

    (void)state;
    for (; pki_reason_names[n] != NULL; n++) {
        int code = pki_reason_parse(pki_reason_names[n]);
        assert_true(code >= 0);
        assert_string_equal(pki_reason_name(code), pki_reason_names[n]);
    }
    assert_int_equal(n, 9);
    assert_int_equal(pki_reason_parse("unspecified"), PKI_REASON_UNSPECIFIED);
    assert_int_equal(pki_reason_parse("keyCompromise"), PKI_REASON_KEY_COMPROMISE);
    assert_int_equal(pki_reason_parse("privilegeWithdrawn"), PKI_REASON_PRIVILEGE_WITHDRAWN);
    assert_int_equal(pki_reason_parse("aACompromise"), PKI_REASON_AA_COMPROMISE);
    assert_int_equal(pki_reason_parse("removeFromCRL"), -1); /* delta CRLs only */
    assert_int_equal(pki_reason_parse("KeyCompromise"), -1);
    assert_int_equal(pki_reason_parse(""), -1);
    assert_int_equal(pki_reason_parse(NULL), -1);
    assert_string_equal(pki_reason_name(PKI_REASON_REMOVE_FROM_CRL), "removeFromCRL");
    assert_null(pki_reason_name(7));
    assert_null(pki_reason_name(-1));
    assert_null(pki_reason_name(11));
}

/* ---- CRLs -------------------------------------------------------------------- */

static int
crl_write(struct fx *f, const struct ca *ca, const struct pki_revoked *v, size_t n,
          uint64_t number, struct buf *der)
{
    int rc;

    buf_reset(der);
    rc = pki_crl_build(ca, v, n, f->now_ms, f->now_ms + DAY_MS, number, der, &f->eb);
    if (rc != E_OK)
        print_message("pki_crl_build: %s\n", f->eb.msg);
    return rc;
}

static void
test_crl_openssl(void **state)
{
    struct fx               *f = *state;
    const struct pki_revoked v[] = {
        { f->leaf_serial, f->now_ms - DAY_MS, PKI_REASON_KEY_COMPROMISE },
        { "4a0b0c0d0e0f10111213141516171819", f->now_ms - 2 * DAY_MS, PKI_REASON_SUPERSEDED },
        { "0123", f->now_ms - 3 * DAY_MS, PKI_REASON_UNSPECIFIED },
    };
    char                 up[PKI_SERIAL_HEX], line[160];
    struct buf           der;
    X509_CRL            *crl;
    const unsigned char *p;

    buf_init(&der, 0);
    assert_int_equal(crl_write(f, f->ca, v, ARRAY_LEN(v), 42, &der), E_OK);
    file_put(f, "crl.der", der.p, der.len);
    assert_int_equal(sh(f, "openssl crl -in crl.der -inform DER -CAfile ca.pem -noout -text"),
                     0);
    out_has(f, "verify OK");
    out_has(f, "Version 2 (0x1)");
    out_has(f, "Signature Algorithm: ecdsa-with-SHA256");
    out_has(f, "Issuer: O = Keyward, CN = Status CA");
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        snprintf(line, sizeof(line), "Serial Number: %s", upper(v[i].serial, up));
        out_has(f, line);
    }
    out_has(f, "Key Compromise");
    out_has(f, "Superseded");
    out_lacks(f, "Unspecified"); /* left out of its entry */
    out_has(f, "X509v3 CRL Number: \n                42\n");
    out_has(f, "X509v3 Authority Key Identifier: \n");
    /* the key identifier is the CA's SKI */
    assert_int_equal(sh(f,
                        "openssl x509 -in ca.pem -noout -ext subjectKeyIdentifier | tail -1 | "
                        "tr -d ' \\n' > ski.txt && openssl crl -in crl.der -inform DER -noout "
                        "-text | grep -A1 'Authority Key Identifier' | tail -1 | tr -d ' \\n' "
                        "| cmp - ski.txt"),
                     0);
    /* another CA's key does not verify it */
    assert_int_not_equal(sh(f, "openssl crl -in crl.der -inform DER -CAfile other.pem -noout"),
                         0);

    /* sorted by serial: 0123, then the two 16-byte serials in order */
    p = (const unsigned char *)der.p;
    crl = d2i_X509_CRL(NULL, &p, (long)der.len);
    assert_non_null(crl);
    STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
    assert_int_equal(sk_X509_REVOKED_num(rev), 3);
    for (int i = 1; i < 3; i++)
        assert_true(ASN1_INTEGER_cmp(
                        X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rev, i - 1)),
                        X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rev, i))) < 0);
    assert_int_equal(X509_REVOKED_get_ext_count(sk_X509_REVOKED_value(rev, 0)), 0);
    X509_CRL_free(crl);
    buf_free(&der);
}

/* ---- the same CRL, by OpenSSL's X509_CRL ----------------------------------------- */

/* The TBSCertList of a DER CRL. */
static struct str
tbs_of(const struct buf *der)
{
    const unsigned char *p = (const unsigned char *)der->p, *start;
    long                 len;
    int                  tag, cls;

    assert_int_equal(ASN1_get_object(&p, &len, &tag, &cls, (long)der->len), V_ASN1_CONSTRUCTED);
    start = p;
    assert_int_equal(ASN1_get_object(&p, &len, &tag, &cls, (long)der->len), V_ASN1_CONSTRUCTED);
    return (struct str){ (const char *)start, (size_t)(p - start) + (size_t)len };
}

static void
ref_entry_add(X509_CRL *crl, const struct pki_revoked *r)
{
    X509_REVOKED    *e = X509_REVOKED_new();
    BIGNUM          *bn = NULL;
    ASN1_INTEGER    *sn;
    ASN1_TIME       *t = ASN1_TIME_set(NULL, (time_t)(r->time_ms / 1000));
    ASN1_ENUMERATED *why = ASN1_ENUMERATED_new();

    assert_true(BN_hex2bn(&bn, r->serial) > 0);
    sn = BN_to_ASN1_INTEGER(bn, NULL);
    assert_int_equal(X509_REVOKED_set_serialNumber(e, sn), 1);
    assert_int_equal(X509_REVOKED_set_revocationDate(e, t), 1);
    assert_int_equal(ASN1_ENUMERATED_set(why, r->reason), 1);
    if (r->reason != PKI_REASON_UNSPECIFIED)
        assert_int_equal(X509_REVOKED_add1_ext_i2d(e, NID_crl_reason, why, 0, 0), 1);
    assert_int_equal(X509_CRL_add0_revoked(crl, e), 1);
    ASN1_ENUMERATED_free(why);
    ASN1_TIME_free(t);
    ASN1_INTEGER_free(sn);
    BN_free(bn);
}

/* The TBSCertList OpenSSL writes for the same CRL (signed by a throw-away
 * key of the CA's type, so that the signature field is the same). */
static void
ref_tbs(const struct ca *ca, const struct pki_revoked *v, size_t n, int64_t this_ms,
        int64_t next_ms, uint64_t number, EVP_PKEY *key, const EVP_MD *md, struct buf *out)
{
    X509_CRL        *crl = X509_CRL_new();
    X509            *cx = (X509 *)pki_ca_cert(ca);
    ASN1_TIME       *t1 = ASN1_TIME_set(NULL, (time_t)(this_ms / 1000));
    ASN1_TIME       *t2 = ASN1_TIME_set(NULL, (time_t)(next_ms / 1000));
    ASN1_INTEGER    *num = ASN1_INTEGER_new();
    AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
    unsigned char   *p = NULL;
    int              len;

    assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_2), 1);
    assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(cx)), 1);
    assert_int_equal(X509_CRL_set1_lastUpdate(crl, t1), 1);
    assert_int_equal(X509_CRL_set1_nextUpdate(crl, t2), 1);
    for (size_t i = 0; i < n; i++)
        ref_entry_add(crl, &v[i]);
    assert_int_equal(X509_CRL_sort(crl), 1);
    aki->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(cx));
    assert_int_equal(ASN1_INTEGER_set_uint64(num, number), 1);
    assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki, 0, 0), 1);
    assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0), 1);
    assert_true(X509_CRL_sign(crl, key, md) > 0);
    len = i2d_re_X509_CRL_tbs(crl, &p);
    assert_true(len > 0);
    buf_reset(out);
    assert_int_equal(buf_append(out, p, (size_t)len), E_OK);
    OPENSSL_free(p);
    AUTHORITY_KEYID_free(aki);
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(t2);
    ASN1_TIME_free(t1);
    X509_CRL_free(crl);
}

static void
test_crl_same_as_openssl(void **state)
{
    struct fx         *f = *state;
    static const int   reasons[] = { 0, 1, 2, 3, 4, 5, 6, 9, 10 };
    static const char *serials[] = { "01",
                                     "7f",
                                     "80",
                                     "ff",
                                     "0100",
                                     "123",
                                     "00fe",
                                     "00",
                                     "4000000000000000000000000000000000000000",
                                     ("ffffffffffffffffffffffffffffffffffffffffffffffffffffff"
                                      "ffffffffff") }; /* the longest */
    const uint64_t     numbers[] = { 0, 1, 127, 128, 255, 256, (uint64_t)1 << 63, UINT64_MAX };
    const int64_t      times[] = { 0, 2524607999000, 2524608000000, f->now_ms }; /* 2049|2050 */
    struct pki_revoked v[200];
    char               hex[200][PKI_SERIAL_HEX];
    EVP_PKEY          *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    struct buf         der, ref;

    buf_init(&der, 0);
    buf_init(&ref, 0);
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        if (i < ARRAY_LEN(serials))
            snprintf(hex[i], sizeof(hex[i]), "%s", serials[i]);
        else
            snprintf(hex[i], sizeof(hex[i]), "%x%08zx", (unsigned)(i * 7919), i);
        v[i] = (struct pki_revoked){ hex[i], times[i % ARRAY_LEN(times)] + (int64_t)i * 1000,
                                     reasons[i % ARRAY_LEN(reasons)] };
    }
    for (size_t k = 0; k < ARRAY_LEN(numbers); k++) {
        size_t n = k == 0 ? 0 : k == 1 ? 1 : ARRAY_LEN(v); /* empty: no list at all */
        assert_int_equal(crl_write(f, f->ca, v, n, numbers[k], &der), E_OK);
        ref_tbs(f->ca, v, n, f->now_ms, f->now_ms + DAY_MS, numbers[k], key, EVP_sha256(),
                &ref);
        struct str tbs = tbs_of(&der);
        assert_int_equal(tbs.len, ref.len);
        assert_memory_equal(tbs.p, ref.p, ref.len);
    }
    /* GeneralizedTime dates in the CRL itself */
    buf_reset(&der);
    assert_int_equal(
        pki_crl_build(f->ca, v, 20, 2524608000000, 2524608000000 + DAY_MS, 9, &der, &f->eb),
        E_OK);
    ref_tbs(f->ca, v, 20, 2524608000000, 2524608000000 + DAY_MS, 9, key, EVP_sha256(), &ref);
    assert_int_equal(tbs_of(&der).len, ref.len);
    assert_memory_equal(tbs_of(&der).p, ref.p, ref.len);
    EVP_PKEY_free(key);
    buf_free(&ref);
    buf_free(&der);
}

/* ---- CAs of every key type ----------------------------------------------------- */

/* A CA of that key, self-signed by OpenSSL here, imported as a console CA,
 * its subject `field`=`name`; without a SKI when `ski` is false. */
static struct ca *
ca_of(const char *name, const char *field, EVP_PKEY *key, const EVP_MD *md, bool ski)
{
    X509         *x = X509_new();
    X509_NAME    *n = X509_NAME_new();
    struct buf    cert, kpem;
    struct ca    *ca = NULL;
    struct errbuf eb = { 0 };

    buf_init(&cert, 0);
    buf_init(&kpem, 0);
    assert_int_equal(X509_NAME_add_entry_by_txt(n, field, MBSTRING_ASC,
                                                (const unsigned char *)name, -1, -1, 0),
                     1);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(pki_serial_random(x), E_OK);
    assert_int_equal(X509_set_subject_name(x, n), 1);
    assert_int_equal(X509_set_issuer_name(x, n), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 365 * 86400));
    assert_int_equal(X509_set_pubkey(x, key), 1);
    assert_int_equal(pki_ext_add(x, x, NID_basic_constraints, "critical,CA:TRUE"), E_OK);
    assert_int_equal(pki_ext_add(x, x, NID_key_usage, "critical,keyCertSign,cRLSign"), E_OK);
    if (ski)
        assert_int_equal(pki_ext_add(x, x, NID_subject_key_identifier, "hash"), E_OK);
    assert_true(X509_sign(x, key, md) > 0);
    assert_int_equal(pki_cert_pem(x, &cert), E_OK);
    assert_int_equal(pki_key_pem(key, &kpem), E_OK);
    assert_int_equal(pki_ca_import(name, buf_str(&cert), buf_str(&kpem), &ca, &eb), E_OK);
    buf_wipe(&kpem);
    buf_free(&cert);
    X509_NAME_free(n);
    X509_free(x);
    return ca;
}

static void
test_crl_key_types(void **state)
{
    struct fx *f = *state;
    struct {
        const char   *name, *alg, *param, *sig;
        const EVP_MD *md;
        bool          ski;
    } kinds[] = {
        { "p384", "EC", "P-384", "ecdsa-with-SHA384", EVP_sha384(), false },
        { "rsa", "RSA", NULL, "sha256WithRSAEncryption", EVP_sha256(), true },
        { "ed25519", "ED25519", NULL, "ED25519", NULL, true },
    };
    const struct pki_revoked v[] = { { "0abc", f->now_ms, PKI_REASON_CA_COMPROMISE } };
    struct buf               der, ref;
    char                     line[96];

    buf_init(&der, 0);
    buf_init(&ref, 0);
    for (size_t i = 0; i < ARRAY_LEN(kinds); i++) {
        EVP_PKEY  *key = kinds[i].param != NULL
                             ? EVP_PKEY_Q_keygen(NULL, NULL, kinds[i].alg, kinds[i].param)
                         : strcmp(kinds[i].alg, "RSA") == 0
                             ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                             : EVP_PKEY_Q_keygen(NULL, NULL, kinds[i].alg);
        struct ca *ca = ca_of(kinds[i].name, "CN", key, kinds[i].md, kinds[i].ski);

        assert_int_equal(crl_write(f, ca, v, ARRAY_LEN(v), 7, &der), E_OK);
        file_put(f, "k.der", der.p, der.len);
        file_put(f, "k.pem", pki_ca_pem(ca), strlen(pki_ca_pem(ca)));
        assert_int_equal(sh(f, "openssl crl -in k.der -inform DER -CAfile k.pem -noout -text"),
                         0);
        out_has(f, "verify OK");
        snprintf(line, sizeof(line), "Signature Algorithm: %s", kinds[i].sig);
        out_has(f, line);
        out_has(f, "CA Compromise");
        if (kinds[i].ski) { /* ED25519 signatures differ: compare where they repeat */
            ref_tbs(ca, v, ARRAY_LEN(v), f->now_ms, f->now_ms + DAY_MS, 7, key, kinds[i].md,
                    &ref);
            assert_int_equal(tbs_of(&der).len, ref.len);
            assert_memory_equal(tbs_of(&der).p, ref.p, ref.len);
        } else { /* no SKI: the key identifier is the SHA-1 of the key */
            unsigned char        md[20];
            unsigned int         len = 0;
            const unsigned char *p = (const unsigned char *)der.p;
            X509_CRL            *crl = d2i_X509_CRL(NULL, &p, (long)der.len);
            AUTHORITY_KEYID     *aki =
                X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
            assert_int_equal(X509_pubkey_digest(pki_ca_cert(ca), EVP_sha1(), md, &len), 1);
            assert_non_null(aki);
            assert_int_equal(ASN1_STRING_length(aki->keyid), 20);
            assert_memory_equal(ASN1_STRING_get0_data(aki->keyid), md, 20);
            AUTHORITY_KEYID_free(aki);
            X509_CRL_free(crl);
        }
        pki_ca_free(ca);
        EVP_PKEY_free(key);
    }
    buf_free(&ref);
    buf_free(&der);
}

/* ---- refusals -------------------------------------------------------------------- */

static void
test_crl_refusals(void **state)
{
    struct fx         *f = *state;
    static const char *bad_serials[] = {
        "",
        "xyz",
        "0ABC",
        "-01",
        " 01",
        "01 ",
        "01234567890123456789012345678901234567890123456789012345678901234", /* 65 digits */
    };
    const struct {
        int     reason;
        int64_t time_ms;
    } bad[] = { { 7, f->now_ms },  { 8, f->now_ms }, { 11, f->now_ms },
                { -1, f->now_ms }, { 0, -1000 },     { 0, (int64_t)253402300800 * 1000 } };
    struct pki_revoked v[2] = { { "01", f->now_ms, 0 }, { "02", f->now_ms, 0 } };
    struct buf         der, tiny;
    char               max_hex[2 * PKI_SERIAL_MAX + 1];

    buf_init(&der, 0);
    assert_int_equal(buf_puts(&der, "kept"), E_OK);
    for (size_t i = 0; i < ARRAY_LEN(bad_serials); i++) {
        v[1].serial = bad_serials[i];
        assert_int_equal(
            pki_crl_build(f->ca, v, 2, f->now_ms, f->now_ms + DAY_MS, 1, &der, &f->eb),
            E_INTERNAL);
        assert_string_equal(f->eb.msg, "crl: revoked entry 1: the serial is not positive "
                                       "lowercase hex of at most 32 bytes");
    }
    v[1].serial = NULL;
    assert_int_equal(pki_crl_build(f->ca, v, 2, f->now_ms, f->now_ms + DAY_MS, 1, &der, &f->eb),
                     E_INTERNAL);
    v[1].serial = "001"; /* the same number as "01" */
    assert_int_equal(pki_crl_build(f->ca, v, 2, f->now_ms, f->now_ms + DAY_MS, 1, &der, &f->eb),
                     E_INTERNAL);
    assert_string_equal(f->eb.msg, "crl: a serial is revoked twice");
    v[1].serial = "02";
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        v[1].reason = bad[i].reason;
        v[1].time_ms = bad[i].time_ms;
        assert_int_equal(
            pki_crl_build(f->ca, v, 2, f->now_ms, f->now_ms + DAY_MS, 1, &der, &f->eb),
            E_INTERNAL);
    }
    v[1] = (struct pki_revoked){ "02", f->now_ms, 0 };
    assert_int_equal(pki_crl_build(f->ca, v, 2, -1, f->now_ms, 1, &der, &f->eb), E_INTERNAL);
    assert_string_equal(der.p, "kept"); /* nothing appended by a failure */
    /* the longest serial, and one past it */
    memset(max_hex, 'f', 2 * PKI_SERIAL_MAX);
    max_hex[2 * PKI_SERIAL_MAX] = '\0';
    v[1].serial = max_hex;
    assert_int_equal(pki_crl_build(f->ca, v, 2, f->now_ms, f->now_ms + DAY_MS, 1, &der, &f->eb),
                     E_OK);
    assert_memory_equal(der.p, "kept", 4);
    /* more entries than a CRL takes: refused before any is read */
    assert_int_equal(
        pki_crl_build(f->ca, v, 4000001, f->now_ms, f->now_ms + DAY_MS, 1, &der, &f->eb),
        E_INTERNAL);
    /* an output buffer too small: nothing appended */
    buf_init(&tiny, 100);
    assert_int_equal(buf_puts(&tiny, "kept"), E_OK);
    assert_int_equal(
        pki_crl_build(f->ca, v, 2, f->now_ms, f->now_ms + DAY_MS, 1, &tiny, &f->eb),
        E_INTERNAL);
    assert_int_equal(tiny.len, 4);
    assert_string_equal(tiny.p, "kept");
    buf_free(&tiny);
    buf_free(&der);
}

/* The CRL signer signs nothing but a TBSCertList of its own CA. */
static void
test_sign_crl_refusals(void **state)
{
    struct fx         *f = *state;
    struct pki_revoked v[] = { { "01", f->now_ms, 0 } };
    struct buf         der, other, sig;
    unsigned char     *p = NULL;
    int                len;
    char               copy[4096];
    struct str         tbs;

    buf_init(&der, 0);
    buf_init(&other, 0);
    buf_init(&sig, 0);
    assert_int_equal(crl_write(f, f->ca, v, 1, 1, &der), E_OK);
    tbs = tbs_of(&der);
    assert_int_equal(pki_ca_sign_crl(f->ca, tbs, &sig, &f->eb), E_OK);
    assert_true(sig.len > 60);
    /* another CA's CRL, a certificate's TBS, garbage, a cut or padded TBS */
    assert_int_equal(crl_write(f, f->other, v, 1, 1, &other), E_OK);
    assert_int_equal(pki_ca_sign_crl(f->ca, tbs_of(&other), &sig, &f->eb), E_INTERNAL);
    len = i2d_re_X509_tbs(f->leaf, &p);
    assert_true(len > 0);
    assert_int_equal(
        pki_ca_sign_crl(f->ca, (struct str){ (const char *)p, (size_t)len }, &sig, &f->eb),
        E_INTERNAL);
    OPENSSL_free(p);
    assert_int_equal(pki_ca_sign_crl(f->ca, STR("garbage"), &sig, &f->eb), E_INTERNAL);
    assert_int_equal(pki_ca_sign_crl(f->ca, STR_NULL, &sig, &f->eb), E_INTERNAL);
    assert_int_equal(pki_ca_sign_crl(f->ca, (struct str){ tbs.p, tbs.len - 1 }, &sig, &f->eb),
                     E_INTERNAL);
    assert_true(tbs.len + 1 < sizeof(copy));
    memcpy(copy, tbs.p, tbs.len);
    copy[tbs.len] = 0;
    assert_int_equal(pki_ca_sign_crl(f->ca, (struct str){ copy, tbs.len + 1 }, &sig, &f->eb),
                     E_INTERNAL);
    copy[4] = 2; /* version v3 */
    assert_int_equal(pki_ca_sign_crl(f->ca, (struct str){ copy, tbs.len }, &sig, &f->eb),
                     E_INTERNAL);
    buf_free(&sig);
    buf_free(&other);
    buf_free(&der);
}

/* ---- OCSP requests ------------------------------------------------------------- */

/* A request of one CertID: it, into q (zeroed when the read fails). */
static int
query_read(const void *der, size_t len, struct pki_ocsp_query *q, struct errbuf *eb)
{
    struct pki_ocsp_request req;
    int                     rc = pki_ocsp_request_read(der, len, &req, eb);

    memset(q, 0, sizeof(*q));
    if (rc == E_OK) {
        assert_int_equal(req.n, 1);
        *q = req.q[0];
        memset(&req.q[0], 0, sizeof(req.q[0])); /* q owns its CertID now */
        pki_ocsp_request_free(&req);
    }
    return rc;
}

static void
query_of(struct fx *f, const char *args, struct pki_ocsp_query *q)
{
    struct buf der;

    buf_init(&der, 0);
    if (sh(f, "openssl ocsp -issuer ca.pem %s -reqout req.der", args) != 0)
        fail_msg("openssl ocsp %s:\n%s", args, buf_cstr(&f->out));
    file_get(f, "req.der", &der);
    assert_int_equal(query_read(der.p, der.len, q, &f->eb), E_OK);
    buf_free(&der);
}

static void
test_ocsp_query(void **state)
{
    struct fx            *f = *state;
    struct pki_ocsp_query q;
    char                  args[128];

    query_of(f, "-cert leaf.pem -no_nonce", &q);
    assert_string_equal(q.serial, f->leaf_serial);
    assert_int_equal(q.hash_nid, NID_sha1);
    assert_int_equal(q.hash_len, 20);
    assert_non_null(q.certid);
    assert_true(pki_ocsp_query_is_for(&q, f->ca));
    assert_false(pki_ocsp_query_is_for(&q, f->other));
    pki_ocsp_query_free(&q);
    assert_null(q.certid);
    pki_ocsp_query_free(&q); /* twice is fine */

    snprintf(args, sizeof(args), "-serial 0x%s -no_nonce", f->leaf_serial);
    query_of(f, args, &q);
    assert_string_equal(q.serial, f->leaf_serial);
    assert_true(pki_ocsp_query_is_for(&q, f->ca));
    pki_ocsp_query_free(&q);

    /* SHA-256 CertID, a nonce */
    query_of(f, "-sha256 -cert leaf.pem", &q);
    assert_int_equal(q.hash_nid, NID_sha256);
    assert_int_equal(q.hash_len, 32);
    assert_string_equal(q.serial, f->leaf_serial);
    assert_true(pki_ocsp_query_is_for(&q, f->ca));
    assert_false(pki_ocsp_query_is_for(&q, f->other));
    pki_ocsp_query_free(&q);

    /* a signed request: its signature is not looked at */
    query_of(f, "-cert leaf.pem -signer leaf.pem -signkey leaf.key -no_nonce", &q);
    assert_string_equal(q.serial, f->leaf_serial);
    pki_ocsp_query_free(&q);

    /* a query whose issuer is the other CA */
    query_of(f, "-serial 0x0abc -no_nonce", &q);
    assert_string_equal(q.serial, "0abc");
    assert_true(pki_ocsp_query_is_for(&q, f->ca));
    pki_ocsp_query_free(&q);
    assert_int_equal(sh(f, "openssl ocsp -issuer other.pem -cert leaf.pem -no_nonce "
                           "-reqout req.der"),
                     0);
    struct buf der;
    buf_init(&der, 0);
    file_get(f, "req.der", &der);
    assert_int_equal(query_read(der.p, der.len, &q, &f->eb), E_OK);
    /* openssl hashes the leaf's issuer name with the other CA's key: neither
     * CA is named by both */
    assert_false(pki_ocsp_query_is_for(&q, f->ca));
    assert_false(pki_ocsp_query_is_for(&q, f->other));
    pki_ocsp_query_free(&q);
    assert_int_equal(sh(f, "openssl ocsp -issuer other.pem -serial 0x0abc -no_nonce "
                           "-reqout req.der"),
                     0);
    file_get(f, "req.der", &der);
    assert_int_equal(query_read(der.p, der.len, &q, &f->eb), E_OK);
    assert_false(pki_ocsp_query_is_for(&q, f->ca));
    assert_true(pki_ocsp_query_is_for(&q, f->other));
    pki_ocsp_query_free(&q);
    buf_free(&der);
}

/* A DER OCSPRequest for the leaf, with the CertID's hashes cut or padded to
 * these lengths (-1: as computed) and the serial `serial_hex` (NULL: the
 * leaf's); with no CertID at all when `none`. */
static void
request_of(struct fx *f, bool none, int name_len, int key_len, const char *serial_hex,
           struct buf *out)
{
    static const unsigned char zeros[80];
    X509                      *cx = (X509 *)pki_ca_cert(f->ca);
    OCSP_REQUEST              *req = OCSP_REQUEST_new();
    OCSP_CERTID               *id =
        OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(cx), X509_get0_pubkey_bitstr(cx),
                         X509_get0_serialNumber(f->leaf));
    ASN1_OCTET_STRING *nh, *kh;
    ASN1_OBJECT       *md;
    ASN1_INTEGER      *sn;
    BIGNUM            *bn = NULL;
    unsigned char     *p = NULL;
    int                len;

    assert_int_equal(OCSP_id_get0_info(&nh, &md, &kh, &sn, id), 1);
    if (name_len >= 0)
        assert_int_equal(ASN1_OCTET_STRING_set(nh, zeros, name_len), 1);
    if (key_len >= 0)
        assert_int_equal(ASN1_OCTET_STRING_set(kh, zeros, key_len), 1);
    if (serial_hex != NULL) {
        assert_true(BN_hex2bn(&bn, serial_hex) > 0);
        assert_non_null(BN_to_ASN1_INTEGER(bn, sn));
    }
    if (none)
        OCSP_CERTID_free(id);
    else
        assert_non_null(OCSP_request_add0_id(req, id));
    len = i2d_OCSP_REQUEST(req, &p);
    assert_true(len > 0);
    buf_reset(out);
    assert_int_equal(buf_append(out, p, (size_t)len), E_OK);
    OPENSSL_free(p);
    BN_free(bn);
    OCSP_REQUEST_free(req);
}

static void
bad_request(struct fx *f, const void *der, size_t len)
{
    static const struct pki_ocsp_request zero;
    struct pki_ocsp_request              req;

    memset(&req, 0x5a, sizeof(req));
    assert_int_equal(pki_ocsp_request_read(der, len, &req, &f->eb), E_BADREQ);
    assert_memory_equal(&req, &zero, sizeof(req)); /* zeroed: nothing to free */
    pki_ocsp_request_free(&req);
}

static void
test_ocsp_malformed(void **state)
{
    struct fx            *f = *state;
    struct pki_ocsp_query q;
    struct buf            der, req;
    char                  long_serial[2 * PKI_SERIAL_MAX + 3];

    buf_init(&der, 0);
    buf_init(&req, 0);
    bad_request(f, "garbage", 7);
    bad_request(f, "", 0);
    bad_request(f, NULL, 0);
    bad_request(f, "\x30\x00", 2);
    bad_request(f, "\x30\x80\x00\x00", 4); /* indefinite length */
    query_of(f, "-cert leaf.pem -no_nonce", &q);
    pki_ocsp_query_free(&q);
    file_get(f, "req.der", &req);
    for (size_t n = 0; n < req.len; n++) /* every truncation */
        bad_request(f, req.p, n);
    assert_int_equal(buf_putc(&req, 0), E_OK); /* a byte after it */
    bad_request(f, req.p, req.len);
    for (size_t i = 0; i < req.len - 1; i++) { /* every one-byte corruption reads or fails */
        char keep = req.p[i];
        req.p[i] = (char)(keep ^ 0x41);
        if (query_read(req.p, req.len - 1, &q, &f->eb) == E_OK)
            pki_ocsp_query_free(&q);
        req.p[i] = keep;
    }
    /* a CertID whose algorithm parameters do not survive being encoded again
     * (found by fuzz_ocsp): it could not be echoed in an answer */
    static const unsigned char odd_params[] = { 0x30, 0x1c, 0x30, 0x1a, 0x30, 0x18, 0x30, 0x16,
                                                0x30, 0x14, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                                0x03, 0x02, 0x1a, 0x20, 0x00, 0x04, 0x01, 0x00,
                                                0x04, 0x01, 0x00, 0x02, 0x01, 0x01 };
    const unsigned char       *op = odd_params;
    OCSP_REQUEST              *odd = d2i_OCSP_REQUEST(NULL, &op, sizeof(odd_params));
    assert_non_null(odd); /* OpenSSL reads it */
    OCSP_REQUEST_free(odd);
    bad_request(f, odd_params, sizeof(odd_params));
    request_of(f, true, -1, -1, NULL, &der); /* no CertID */
    bad_request(f, der.p, der.len);
    request_of(f, false, 20, 32, NULL, &der); /* hashes of two lengths */
    bad_request(f, der.p, der.len);
    request_of(f, false, 65, 65, NULL, &der); /* longer than any digest */
    bad_request(f, der.p, der.len);
    request_of(f, false, 64, 64, NULL, &der); /* SHA-512's length: read, not ours */
    assert_int_equal(query_read(der.p, der.len, &q, &f->eb), E_OK);
    assert_false(pki_ocsp_query_is_for(&q, f->ca));
    pki_ocsp_query_free(&q);
    /* the longest serial, and one past it */
    memset(long_serial, 'f', 2 * PKI_SERIAL_MAX);
    long_serial[2 * PKI_SERIAL_MAX] = '\0';
    request_of(f, false, -1, -1, long_serial, &der);
    assert_int_equal(query_read(der.p, der.len, &q, &f->eb), E_OK);
    assert_string_equal(q.serial, long_serial);
    assert_true(pki_ocsp_query_is_for(&q, f->ca));
    pki_ocsp_query_free(&q);
    memcpy(long_serial + 2 * PKI_SERIAL_MAX, "ff", 3);
    request_of(f, false, -1, -1, long_serial, &der);
    bad_request(f, der.p, der.len);
    buf_free(&req);
    buf_free(&der);
}

/* ---- OCSP responses ----------------------------------------------------------- */

/* Sign an answer to the leaf's query, and have openssl verify it. */
static void
answer_check(struct fx *f, const struct pki_responder *r, enum pki_cert_status st, int reason,
             const char *status_line)
{
    struct pki_ocsp_query q;
    struct buf            der;

    buf_init(&der, 0);
    query_of(f, "-cert leaf.pem -no_nonce", &q);
    assert_int_equal(pki_ocsp_sign(r, &q, st, f->now_ms - DAY_MS, reason, f->now_ms - 60000,
                                   f->now_ms + DAY_MS, &der, &f->eb),
                     E_OK);
    file_put(f, "resp.der", der.p, der.len);
    if (sh(f, "openssl ocsp -respin resp.der -issuer ca.pem -CAfile ca.pem -resp_text "
              "-cert leaf.pem") != 0)
        fail_msg("openssl ocsp:\n%s", buf_cstr(&f->out));
    out_has(f, "Response verify OK");
    out_has(f, status_line);
    out_has(f, "Responder Id: "); /* by key: a hash follows, not a name */
    out_lacks(f, "Responder Id: O=");
    out_has(f, "OCSP Signing");
    out_has(f, "OCSP No Check");
    out_has(f, "Subject: O=Keyward, CN=Status CA OCSP Responder");
    out_lacks(f, "Status times invalid");
    out_lacks(f, "Nonce");
    pki_ocsp_query_free(&q);
    buf_free(&der);
}

static void
test_ocsp_answers(void **state)
{
    struct fx            *f = *state;
    struct pki_responder *r = NULL;
    struct pki_ocsp_query q;
    struct buf            der;
    char                  args[128];

    buf_init(&der, 0);
    assert_int_equal(pki_responder_new(f->ca, f->now_ms, f->now_ms + 7 * DAY_MS, &r, &f->eb),
                     E_OK);
    assert_int_equal(pki_responder_not_after(r), f->now_ms + 7 * DAY_MS);
    answer_check(f, r, PKI_STATUS_GOOD, 0, "leaf.pem: good");
    answer_check(f, r, PKI_STATUS_REVOKED, PKI_REASON_KEY_COMPROMISE, "leaf.pem: revoked");
    out_has(f, "Reason: keyCompromise");
    out_has(f, "Revocation Time: ");
    answer_check(f, r, PKI_STATUS_REVOKED, PKI_REASON_UNSPECIFIED, "leaf.pem: revoked");
    out_lacks(f, "Reason:");
    answer_check(f, r, PKI_STATUS_UNKNOWN, 0, "leaf.pem: unknown");

    /* a query by serial; the response checked by serial */
    snprintf(args, sizeof(args), "-serial 0x%s -no_nonce", f->leaf_serial);
    query_of(f, args, &q);
    assert_int_equal(pki_ocsp_sign(r, &q, PKI_STATUS_REVOKED, f->now_ms, PKI_REASON_SUPERSEDED,
                                   f->now_ms, f->now_ms + DAY_MS, &der, &f->eb),
                     E_OK);
    file_put(f, "resp.der", der.p, der.len);
    assert_int_equal(sh(f,
                        "openssl ocsp -respin resp.der -issuer ca.pem -CAfile ca.pem "
                        "-serial 0x%s",
                        f->leaf_serial),
                     0);
    out_has(f, "Response verify OK");
    out_has(f, ": revoked");
    out_has(f, "Reason: superseded");
    /* no other CA vouches for it */
    assert_int_not_equal(sh(f,
                            "openssl ocsp -respin resp.der -issuer other.pem -CAfile "
                            "other.pem -serial 0x%s",
                            f->leaf_serial),
                         0);
    /* reasons no CRL carries are refused too */
    buf_reset(&der);
    assert_int_equal(pki_ocsp_sign(r, &q, PKI_STATUS_REVOKED, f->now_ms, 7, f->now_ms,
                                   f->now_ms + DAY_MS, &der, &f->eb),
                     E_INTERNAL);
    assert_int_equal(pki_ocsp_sign(r, &q, PKI_STATUS_REVOKED, f->now_ms,
                                   PKI_REASON_REMOVE_FROM_CRL, f->now_ms, f->now_ms + DAY_MS,
                                   &der, &f->eb),
                     E_INTERNAL);
    assert_int_equal(pki_ocsp_sign(r, &q, PKI_STATUS_GOOD, 0, 0, -1, f->now_ms, &der, &f->eb),
                     E_INTERNAL);
    assert_int_equal(der.len, 0);
    pki_ocsp_query_free(&q);
    pki_responder_free(r);
    buf_free(&der);
}

/* A request of several CertIDs: each read, in order, up to
 * PKI_OCSP_CERTIDS_MAX (one more is malformed); one answer for them all. */
static void
test_ocsp_several(void **state)
{
    struct fx              *f = *state;
    struct pki_responder   *r = NULL;
    struct pki_ocsp_request req;
    struct pki_ocsp_single  v[PKI_OCSP_CERTIDS_MAX + 1];
    struct buf              der, cmd;

    buf_init(&der, 0);
    buf_init(&cmd, 4096);
    assert_int_equal(sh(f, "openssl ocsp -issuer ca.pem -cert leaf.pem -serial 0x0abc "
                           "-issuer other.pem -serial 0x0abd -no_nonce -reqout req.der"),
                     0);
    file_get(f, "req.der", &der);
    assert_int_equal(pki_ocsp_request_read((const unsigned char *)der.p, der.len, &req, &f->eb),
                     E_OK);
    assert_int_equal(req.n, 3);
    assert_string_equal(req.q[0].serial, f->leaf_serial);
    assert_string_equal(req.q[1].serial, "0abc");
    assert_string_equal(req.q[2].serial, "0abd");
    assert_true(pki_ocsp_query_is_for(&req.q[1], f->ca));
    assert_true(pki_ocsp_query_is_for(&req.q[2], f->other));
    for (size_t i = 0; i < req.n; i++)
        v[i] = (struct pki_ocsp_single){ &req.q[i], PKI_STATUS_UNKNOWN, 0, 0 };
    v[0].st = PKI_STATUS_REVOKED;
    v[0].revoked_ms = f->now_ms - DAY_MS;
    v[0].reason = PKI_REASON_KEY_COMPROMISE;
    v[1].st = PKI_STATUS_GOOD;
    assert_int_equal(pki_responder_new(f->ca, f->now_ms, f->now_ms + DAY_MS, &r, &f->eb), E_OK);
    buf_reset(&der);
    /* the first two: openssl verifies a delegated responder's answer only when
     * every CertID in it names the responder's CA */
    assert_int_equal(pki_ocsp_sign_many(r, v, 2, f->now_ms, f->now_ms + DAY_MS, &der, &f->eb),
                     E_OK);
    file_put(f, "resp.der", der.p, der.len);
    if (sh(f, "openssl ocsp -respin resp.der -issuer ca.pem -CAfile ca.pem -cert leaf.pem "
              "-serial 0x0abc") != 0)
        fail_msg("openssl ocsp:\n%s", buf_cstr(&f->out));
    out_has(f, "Response verify OK");
    out_has(f, "leaf.pem: revoked");
    out_has(f, "Reason: keyCompromise");
    out_has(f, "0x0abc: good");
    out_lacks(f, "ERROR");
    /* all three, the other CA's among them */
    buf_reset(&der);
    assert_int_equal(
        pki_ocsp_sign_many(r, v, req.n, f->now_ms, f->now_ms + DAY_MS, &der, &f->eb), E_OK);
    file_put(f, "resp.der", der.p, der.len);
    assert_int_equal(sh(f, "openssl ocsp -respin resp.der -noverify -resp_text"), 0);
    out_has(f, "Serial Number: 0ABD");
    out_has(f, "Cert Status: unknown");
    buf_reset(&der);
    assert_int_equal(pki_ocsp_sign_many(r, v, 0, f->now_ms, f->now_ms + DAY_MS, &der, &f->eb),
                     E_INTERNAL);
    for (size_t i = req.n; i < ARRAY_LEN(v); i++)
        v[i] = v[2];
    assert_int_equal(
        pki_ocsp_sign_many(r, v, ARRAY_LEN(v), f->now_ms, f->now_ms + DAY_MS, &der, &f->eb),
        E_INTERNAL);
    assert_int_equal(der.len, 0);
    pki_ocsp_request_free(&req);
    pki_ocsp_request_free(&req); /* twice is fine */

    /* the cap, and one past it */
    assert_int_equal(buf_puts(&cmd, "openssl ocsp -issuer ca.pem -no_nonce -reqout req.der"),
                     E_OK);
    for (int i = 0; i < PKI_OCSP_CERTIDS_MAX; i++)
        assert_int_equal(buf_printf(&cmd, " -serial 0x%04x", 0x0b00 + i), E_OK);
    assert_int_equal(sh(f, "%s", buf_cstr(&cmd)), 0);
    file_get(f, "req.der", &der);
    assert_int_equal(pki_ocsp_request_read((const unsigned char *)der.p, der.len, &req, &f->eb),
                     E_OK);
    assert_int_equal(req.n, PKI_OCSP_CERTIDS_MAX);
    assert_string_equal(req.q[PKI_OCSP_CERTIDS_MAX - 1].serial, "0b0f");
    pki_ocsp_request_free(&req);
    assert_int_equal(buf_puts(&cmd, " -serial 0x0c00"), E_OK);
    assert_int_equal(sh(f, "%s", buf_cstr(&cmd)), 0);
    file_get(f, "req.der", &der);
    bad_request(f, der.p, der.len);
    pki_responder_free(r);
    buf_free(&cmd);
    buf_free(&der);
}

/* The responder's certificate, as the response carries it. */
static X509 *
responder_cert_of(const struct buf *der)
{
    const unsigned char *p = (const unsigned char *)der->p;
    OCSP_RESPONSE       *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)der->len);
    OCSP_BASICRESP      *bs = resp != NULL ? OCSP_response_get1_basic(resp) : NULL;
    X509                *x;

    assert_non_null(bs);
    assert_int_equal(sk_X509_num(OCSP_resp_get0_certs(bs)), 1);
    x = X509_dup(sk_X509_value(OCSP_resp_get0_certs(bs), 0));
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return x;
}

static void
test_responder(void **state)
{
    struct fx            *f = *state;
    struct pki_responder *r = NULL;
    struct pki_ocsp_query q;
    struct buf            der;
    X509                 *x;
    int64_t               ca_end = pki_time_ms(X509_get0_notAfter(pki_ca_cert(f->ca)));

    buf_init(&der, 0);
    /* never beyond its CA */
    assert_int_equal(pki_responder_new(f->ca, f->now_ms, ca_end + DAY_MS, &r, &f->eb), E_OK);
    assert_int_equal(pki_responder_not_after(r), ca_end);
    query_of(f, "-cert leaf.pem -no_nonce", &q);
    assert_int_equal(pki_ocsp_sign(r, &q, PKI_STATUS_GOOD, 0, 0, f->now_ms, f->now_ms + DAY_MS,
                                   &der, &f->eb),
                     E_OK);
    x = responder_cert_of(&der);
    assert_int_equal(X509_verify(x, X509_get0_pubkey(pki_ca_cert(f->ca))), 1);
    assert_int_equal(pki_time_ms(X509_get0_notAfter(x)), ca_end);
    assert_int_equal(pki_time_ms(X509_get0_notBefore(x)), f->now_ms - 3600 * 1000);
    assert_true(X509_get_extension_flags(x) & EXFLAG_XKUSAGE);
    assert_int_equal(X509_get_extended_key_usage(x), XKU_OCSP_SIGN);
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
    assert_int_equal(X509_check_ca(x), 0);
    assert_true(X509_get_ext_by_NID(x, NID_id_pkix_OCSP_noCheck, -1) >= 0);
    assert_non_null(X509_get0_subject_key_id(x));
    assert_int_equal(
        ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
                              X509_get0_subject_key_id((X509 *)pki_ca_cert(f->ca))),
        0);
    assert_true(EVP_PKEY_is_a(X509_get0_pubkey(x), "EC"));
    X509_free(x);
    pki_responder_free(r);
    /* nothing valid to make */
    assert_int_equal(pki_responder_new(f->ca, f->now_ms, f->now_ms, &r, &f->eb), E_INTERNAL);
    assert_null(r);
    assert_int_equal(pki_responder_new(f->ca, f->now_ms, f->now_ms - DAY_MS, &r, &f->eb),
                     E_INTERNAL);
    pki_responder_free(NULL);

    /* a CA without a CN: the responder's is made of the CA's name */
    EVP_PKEY  *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    struct ca *nocn = ca_of("nocn", "O", key, EVP_sha256(), true);
    char       subject[128];
    assert_int_equal(pki_responder_new(nocn, f->now_ms, f->now_ms + DAY_MS, &r, &f->eb), E_OK);
    buf_reset(&der);
    assert_int_equal(pki_ocsp_sign(r, &q, PKI_STATUS_UNKNOWN, 0, 0, f->now_ms,
                                   f->now_ms + DAY_MS, &der, &f->eb),
                     E_OK);
    x = responder_cert_of(&der);
    X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
    assert_string_equal(subject, "/O=nocn/CN=nocn OCSP Responder");
    X509_free(x);
    pki_responder_free(r);
    pki_ca_free(nocn);
    EVP_PKEY_free(key);
    pki_ocsp_query_free(&q);
    buf_free(&der);
}

static void
test_ocsp_errors(void **state)
{
    static const int statuses[] = { 1, 2, 3, 5, 6 };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(statuses); i++) {
        struct str           e = pki_ocsp_error(statuses[i]);
        const unsigned char *p = (const unsigned char *)e.p;
        OCSP_RESPONSE       *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)e.len);
        assert_non_null(resp);
        assert_int_equal(e.len, 5);
        assert_int_equal(OCSP_response_status(resp), statuses[i]);
        OCSP_RESPONSE_free(resp);
    }
    assert_memory_equal(pki_ocsp_error(1).p, "\x30\x03\x0a\x01\x01", 5);
    assert_memory_equal(pki_ocsp_error(0).p, "\x30\x03\x0a\x01\x02", 5);
    assert_memory_equal(pki_ocsp_error(4).p, "\x30\x03\x0a\x01\x02", 5);
    assert_memory_equal(pki_ocsp_error(7).p, "\x30\x03\x0a\x01\x02", 5);
    assert_memory_equal(pki_ocsp_error(-1).p, "\x30\x03\x0a\x01\x02", 5);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reasons),
        cmocka_unit_test_setup_teardown(test_crl_openssl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crl_same_as_openssl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crl_key_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crl_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_crl_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ocsp_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ocsp_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ocsp_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ocsp_several, setup, teardown),
        cmocka_unit_test_setup_teardown(test_responder, setup, teardown),
        cmocka_unit_test(test_ocsp_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
