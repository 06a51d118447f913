/* fuzz_csr.c - libFuzzer target: reading a certificate signing request
 * (pki_csr_read, pki/csr.c) and issuing from what it read (pki_leaf_sign).
 *
 * The first byte chooses how the rest goes in (its value modulo 3): 0, as
 * the PEM text a client sends; 1, as the DER of a request, which the target
 * wraps in a PEM block (so that mutations reach the ASN.1 and not only the
 * base64); 2, as the DER of a request that the target parses, signs again
 * with a key of its own and wraps (so that mutated subjects and extensions
 * get past the signature check and reach the name readers). Checks, beyond
 * "no crash, leak or sanitizer report": a refusal is E_VALIDATION on "csr"
 * with a message, leaves nothing allocated and no OpenSSL error queued; an
 * accepted request has its key, a type agreeing with pki_key_type_of, at most
 * PKI_SAN_MAX names of a type, UTF-8 subject attributes without NULs,
 * printable ASCII DNS names, URIs and emails, IP addresses that inet_pton
 * reads back; and a leaf for it (its key, its names) signs, parses, and holds
 * as many SANs, unless its country is not two letters (E_VALIDATION on
 * "csr.country": the CSR reader does not judge country codes).
 *
 *   make fuzz        (builds build/fuzz/fuzz_csr, and every other target)
 *   build/fuzz/fuzz_csr -max_len=70000 -timeout=10 corpus/
 *
 * Seeds: CSRs made by `openssl req` (EC P-256 and P-384, RSA 2048, Ed25519,
 * with subjects and SANs of every kind), each as PEM (first byte 0x00) and
 * as DER (first bytes 0x01 and 0x02).
 */
#include <arpa/inet.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki/issue.h"

static struct ca *ca;
static EVP_PKEY  *resign_key;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct errbuf eb = { 0 };

    (void)argc;
    (void)argv;
    if (pki_ca_new("fuzz", "Fuzz CA", &ca, &eb) != E_OK ||
        (resign_key = pki_key_generate(PKI_KEY_EC_P256)) == NULL)
        abort();
    return 0;
}

/* The DER wrapped in a PEM block, in the arena. */
static struct str
pem_of(struct arena *a, const unsigned char *der, size_t len)
{
    BIO       *bio = BIO_new(BIO_s_mem());
    char      *p = NULL;
    long       n;
    struct str s = STR_NULL;

    if (bio == NULL || len > 60000)
        abort();
    if (PEM_write_bio(bio, "CERTIFICATE REQUEST", "", der, (long)len) > 0 &&
        (n = BIO_get_mem_data(bio, &p)) > 0)
        s = arena_str(a, (struct str){ p, (size_t)n });
    BIO_free(bio);
    ERR_clear_error();
    return s;
}

/* The request of that DER signed again by resign_key, as PEM; STR_NULL
 * when the DER is no request. */
static struct str
resigned(struct arena *a, const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    X509_REQ            *req = d2i_X509_REQ(NULL, &p, (long)len);
    unsigned char       *out = NULL;
    int                  n = 0;
    struct str           s = STR_NULL;

    if (req != NULL && X509_REQ_set_pubkey(req, resign_key) == 1 &&
        X509_REQ_sign(req, resign_key, EVP_sha256()) > 0 && (n = i2d_X509_REQ(req, &out)) > 0)
        s = pem_of(a, out, (size_t)n);
    OPENSSL_free(out);
    X509_REQ_free(req);
    ERR_clear_error();
    return s;
}

static void
check_subject(const char *v)
{
    if (v != NULL && (v[0] == '\0' || !utf8_valid(v, strlen(v))))
        abort();
}

static void
check_ia5(const char *const *v, size_t n)
{
    if (n > PKI_SAN_MAX || (n > 0 && v == NULL))
        abort();
    for (size_t i = 0; i < n; i++) {
        if (v[i] == NULL || v[i][0] == '\0')
            abort();
        for (const char *c = v[i]; *c != '\0'; c++)
            if (*c < 0x20 || *c > 0x7e)
                abort();
    }
}

static void
check_ips(const char *const *v, size_t n)
{
    unsigned char b[16];

    if (n > PKI_SAN_MAX || (n > 0 && v == NULL))
        abort();
    for (size_t i = 0; i < n; i++)
        if (inet_pton(AF_INET, v[i], b) != 1 && inet_pton(AF_INET6, v[i], b) != 1)
            abort();
}

static void
check_read(const struct pki_csr *c)
{
    const struct pki_names *n = &c->names;

    if (c->key == NULL || c->type != pki_key_type_of(c->key) || c->bits <= 0)
        abort();
    check_subject(n->cn);
    check_subject(n->o);
    check_subject(n->ou);
    check_subject(n->l);
    check_subject(n->st);
    check_subject(n->c);
    check_ia5(n->dns, n->ndns);
    check_ia5(n->uri, n->nuri);
    check_ia5(n->email, n->nemail);
    check_ips(n->ip, n->nip);
}

/* What was read can be issued, and the leaf holds it. */
static void
check_issue(const struct pki_csr *c)
{
    struct pki_leaf      p = { .names = &c->names,
                               .key = c->key,
                               .not_before_ms = 1700000000000LL,
                               .not_after_ms = 1800000000000LL };
    struct buf           der;
    char                 serial[PKI_SERIAL_HEX];
    struct errbuf        eb = { 0 };
    const unsigned char *q;
    X509                *x;
    GENERAL_NAMES       *g;
    size_t               nsans = c->names.ndns + c->names.nip + c->names.nuri + c->names.nemail;
    int                  rc;

    buf_init(&der, 0);
    rc = pki_leaf_sign(ca, &p, &der, serial, &eb);
    if (rc != E_OK) {
        if (rc != E_VALIDATION || strcmp(eb.attr, "csr.country") != 0 || der.len != 0)
            abort();
        buf_free(&der);
        return;
    }
    q = (const unsigned char *)der.p;
    if ((x = d2i_X509(NULL, &q, (long)der.len)) == NULL ||
        q != (const unsigned char *)der.p + der.len)
        abort();
    g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    if ((g == NULL) != (nsans == 0) || (g != NULL && (size_t)sk_GENERAL_NAME_num(g) != nsans))
        abort();
    GENERAL_NAMES_free(g);
    X509_free(x);
    buf_free(&der);
    ERR_clear_error();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct arena  *a;
    struct pki_csr c;
    struct errbuf  eb = { 0 };
    struct str     in;

    if (size == 0)
        return 0;
    a = arena_new(1 << 14);
    switch (data[0] % 3) {
    case 0:
        in = (struct str){ (const char *)data + 1, size - 1 };
        break;
    case 1:
        in = pem_of(a, data + 1, size - 1);
        break;
    default:
        in = resigned(a, data + 1, size - 1);
    }
    if (pki_csr_read(a, in, &c, &eb) == E_OK) {
        check_read(&c);
        check_issue(&c);
    } else if (eb.code != E_VALIDATION || strcmp(eb.attr, "csr") != 0 || eb.msg[0] == '\0' ||
               c.key != NULL || ERR_peek_error() != 0) {
        abort();
    }
    pki_csr_free(&c);
    arena_free(a);
    return 0;
}
