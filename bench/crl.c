/* crl.c - revocation status at scale, on one core (no HTTP, no store):
 *   1. pki_crl_build over N revoked certificates (random 16-byte serials, as
 *      the console issues them; one in four with reason unspecified, which
 *      the entry then leaves out): the build time and the DER size;
 *   2. the same CRL parsed back by d2i_X509_CRL and its signature verified,
 *      which is what a relying party pays;
 *   3. OCSP: a request read and matched to its CA (pki_ocsp_request_read,
 *      pki_ocsp_query_is_for), and an answer signed by the CA's responder
 *      (pki_ocsp_sign), each per second over SECONDS.
 *
 *   make B=build build/bench/crl && build/bench/crl [N] [SECONDS]
 *
 * N is 100000 by default, SECONDS 2. Prints measurements only; asserts
 * nothing beyond the CRL verifying and the OCSP calls succeeding. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/ocsp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "pki/status.h"

static void
die(const char *what)
{
    fprintf(stderr, "crl bench: %s\n", what);
    exit(1);
}

static double
now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* n entries with random serials (16 bytes, top bit clear, next one set) and
 * revocation times over the last year. */
static struct pki_revoked *
entries_new(size_t n, int64_t now_ms)
{
    static const char   hex[] = "0123456789abcdef";
    struct pki_revoked *v = calloc(n, sizeof(*v));
    char               *serials = calloc(n, 33);
    static const int    reasons[] = { PKI_REASON_UNSPECIFIED, PKI_REASON_KEY_COMPROMISE,
                                      PKI_REASON_SUPERSEDED, PKI_REASON_CESSATION_OF_OPERATION };

    if (v == NULL || serials == NULL)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        unsigned char b[16];
        char         *s = serials + 33 * i;
        if (RAND_bytes(b, sizeof(b)) != 1)
            die("RAND_bytes");
        b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);
        for (size_t k = 0; k < sizeof(b); k++) {
            s[2 * k] = hex[b[k] >> 4];
            s[2 * k + 1] = hex[b[k] & 15];
        }
        v[i].serial = s;
        v[i].time_ms = now_ms - (int64_t)(i % 365) * 86400000;
        v[i].reason = reasons[i % ARRAY_LEN(reasons)];
    }
    return v;
}

static void
verify(const struct ca *ca, const struct buf *der, size_t n)
{
    const unsigned char *p = (const unsigned char *)der->p;
    double               t0 = now();
    X509_CRL            *crl = d2i_X509_CRL(NULL, &p, (long)der->len);
    double               t1 = now();
    EVP_PKEY            *pub = X509_get0_pubkey(pki_ca_cert(ca));
    STACK_OF(X509_REVOKED) *revoked = crl != NULL ? X509_CRL_get_REVOKED(crl) : NULL;

    if (crl == NULL || X509_CRL_verify(crl, pub) != 1 ||
        (revoked != NULL ? (size_t)sk_X509_REVOKED_num(revoked) : 0) != n)
        die("the CRL does not parse back, verify or hold every entry");
    printf("  parse (d2i_X509_CRL)  %8.1f ms\n", (t1 - t0) * 1e3);
    printf("  parse + verify        %8.1f ms\n", (now() - t0) * 1e3);
    X509_CRL_free(crl);
}

/* A DER OCSPRequest (SHA-1 CertID, no nonce) for `serial` of `ca`. */
static void
request_of(const struct ca *ca, const char *serial, struct buf *out)
{
    X509          *cx = (X509 *)pki_ca_cert(ca);
    OCSP_REQUEST  *req = OCSP_REQUEST_new();
    BIGNUM        *bn = NULL;
    ASN1_INTEGER  *sn = NULL;
    OCSP_CERTID   *id = NULL;
    unsigned char *p = NULL;
    int            len;

    if (req == NULL || BN_hex2bn(&bn, serial) <= 0 ||
        (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
        (id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(cx),
                               X509_get0_pubkey_bitstr(cx), sn)) == NULL ||
        OCSP_request_add0_id(req, id) == NULL || (len = i2d_OCSP_REQUEST(req, &p)) <= 0 ||
        buf_append(out, p, (size_t)len) != E_OK)
        die("cannot make an OCSP request");
    OPENSSL_free(p);
    ASN1_INTEGER_free(sn);
    BN_free(bn);
    OCSP_REQUEST_free(req);
}

static void
ocsp(const struct ca *ca, const char *serial, int64_t now_ms, double seconds)
{
    struct errbuf           eb = { 0 };
    struct pki_responder   *r = NULL;
    struct pki_ocsp_request q;
    struct buf              req, der;
    double                  t0, t;
    long                    n;

    buf_init(&req, 0);
    buf_init(&der, 0);
    if (pki_responder_new(ca, now_ms, now_ms + 7 * 86400000LL, &r, &eb) != E_OK)
        die(eb.msg);
    request_of(ca, serial, &req);
    for (n = 0, t0 = now(); (t = now() - t0) < seconds; n++) {
        if (pki_ocsp_request_read((const unsigned char *)req.p, req.len, &q, &eb) != E_OK ||
            !pki_ocsp_query_is_for(&q.q[0], ca))
            die("the OCSP request does not read");
        pki_ocsp_request_free(&q);
    }
    printf("OCSP (P-256 responder)\n");
    printf("  read + is_for         %8.1f us (%.0f/s)\n", t / (double)n * 1e6, (double)n / t);
    if (pki_ocsp_request_read((const unsigned char *)req.p, req.len, &q, &eb) != E_OK)
        die(eb.msg);
    for (n = 0, t0 = now(); (t = now() - t0) < seconds; n++) {
        buf_reset(&der);
        if (pki_ocsp_sign(r, &q.q[0], PKI_STATUS_REVOKED, now_ms, PKI_REASON_KEY_COMPROMISE,
                          now_ms, now_ms + 86400000, &der, &eb) != E_OK)
            die(eb.msg);
    }
    printf("  sign                  %8.1f us (%.0f/s), %zu bytes\n", t / (double)n * 1e6,
           (double)n / t, der.len);
    pki_ocsp_request_free(&q);
    pki_responder_free(r);
    buf_free(&der);
    buf_free(&req);
}

int
main(int argc, char **argv)
{
    size_t              n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    double              seconds = argc > 2 ? strtod(argv[2], NULL) : 2.0;
    int64_t             now_ms = (int64_t)time(NULL) * 1000;
    struct errbuf       eb = { 0 };
    struct ca          *ca = NULL;
    struct pki_revoked *v;
    struct buf          der;
    double              t0;

    if (pki_ca_new("bench", "Bench CA", &ca, &eb) != E_OK)
        die(eb.msg);
    v = entries_new(n, now_ms);
    buf_init(&der, 0);
    t0 = now();
    if (pki_crl_build(ca, v, n, now_ms, now_ms + 86400000, 1, &der, &eb) != E_OK)
        die(eb.msg);
    printf("CRL of %zu entries (P-256 CA)\n", n);
    printf("  build                 %8.1f ms\n", (now() - t0) * 1e3);
    printf("  DER                   %8zu bytes (%.1f per entry)\n", der.len,
           n > 0 ? (double)der.len / (double)n : 0.0);
    verify(ca, &der, n);
    ocsp(ca, n > 0 ? v[0].serial : "01", now_ms, seconds);
    buf_free(&der);
    free(n > 0 ? (void *)v[0].serial : NULL);
    free(v);
    pki_ca_free(ca);
    return 0;
}
