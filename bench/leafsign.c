/* leafsign.c - the cost of pki_leaf_sign (no HTTP, no store): a P-256 leaf
 * with a realistic profile (CN, O, two DNS names and an IP address,
 * keyUsage, serverAuth and clientAuth, CRL distribution point, OCSP and
 * caIssuers) signed by a P-256 root made by pki_ca_create, next to the
 * ECDSA P-256 signature alone (EVP_DigestSign of as many bytes, by another
 * key: only signer.c touches a CA's).
 *
 *   make B=build build/bench/leafsign && build/bench/leafsign [N] [THREADS]
 *
 * N (per thread) is 20000 by default, THREADS 1. Prints microseconds per
 * certificate and certificates per second; asserts nothing. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "pki/issue.h"

#define THREADS_MAX 64

static const char *const DNS[] = { "host1.example.com", "www.host1.example.com" };
static const char *const IPS[] = { "192.0.2.1" };
static const char *const KU[] = { "digitalSignature" };
static const char *const EKU[] = { "serverAuth", "clientAuth" };

struct job {
    const struct ca       *ca;
    const struct pki_leaf *leaf;
    EVP_PKEY              *key; /* for the bare signature */
    long                   n;
    size_t                 der_len;
    double                 sign_s, bare_s;
};

static void
die(const char *what)
{
    fprintf(stderr, "leafsign bench: %s\n", what);
    exit(1);
}

static double
now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long
arg(int argc, char **argv, int i, long dflt)
{
    char *end;
    long  v;

    if (argc <= i)
        return dflt;
    v = strtol(argv[i], &end, 10);
    if (*end != '\0' || v <= 0)
        die("usage: leafsign [N] [THREADS]");
    return v;
}

static void
sign_loop(struct job *j)
{
    struct buf    der;
    char          serial[PKI_SERIAL_HEX];
    struct errbuf eb = { 0 };
    double        t0 = now();

    buf_init(&der, 0);
    for (long i = 0; i < j->n; i++) {
        buf_reset(&der);
        if (pki_leaf_sign(j->ca, j->leaf, &der, serial, &eb) != E_OK)
            die(eb.msg);
    }
    j->sign_s = now() - t0;
    j->der_len = der.len;
    buf_free(&der);
}

static void
bare_loop(struct job *j)
{
    unsigned char msg[1024] = { 0 }, sig[128];
    size_t        siglen;
    double        t0 = now();

    for (long i = 0; i < j->n; i++) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        siglen = sizeof(sig);
        msg[0] = (unsigned char)i;
        if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, j->key) != 1 ||
            EVP_DigestSign(ctx, sig, &siglen, msg, j->der_len - 80) != 1)
            die("EVP_DigestSign");
        EVP_MD_CTX_free(ctx);
    }
    j->bare_s = now() - t0;
}

static void *
run(void *arg_)
{
    struct job *j = arg_;

    sign_loop(j);
    bare_loop(j);
    return NULL;
}

static struct ca *
root_new(void)
{
    int64_t           t = (int64_t)time(NULL) * 1000;
    struct pki_ca_req p = { .subject = "CN=Bench Root,O=Keyward",
                            .type = PKI_KEY_EC_P256,
                            .not_before_ms = t - 3600000,
                            .not_after_ms = t + 3650LL * 86400000,
                            .path_len = -1 };
    struct ca        *ca = NULL;
    struct errbuf     eb = { 0 };

    if (pki_ca_create("bench", &p, NULL, &ca, &eb) != E_OK)
        die(eb.msg);
    return ca;
}

static void
report(const struct job *jobs, long threads)
{
    double sign = 0, bare = 0, wall = 0;
    long   n = 0;

    for (long i = 0; i < threads; i++) {
        sign += jobs[i].sign_s;
        bare += jobs[i].bare_s;
        n += jobs[i].n;
        if (jobs[i].sign_s > wall)
            wall = jobs[i].sign_s;
    }
    printf("pki_leaf_sign, P-256 root, P-256 leaf, %ld thread(s), %zu-byte certificates:\n",
           threads, jobs[0].der_len);
    printf("  %8.1f us/cert per thread, %9.0f certs/s in all\n", sign / (double)n * 1e6,
           (double)n / wall);
    printf("  %8.1f us per bare ECDSA P-256 signature (SHA-256 over %zu bytes)\n",
           bare / (double)n * 1e6, jobs[0].der_len - 80);
}

int
main(int argc, char **argv)
{
    long             n = arg(argc, argv, 1, 20000), threads = arg(argc, argv, 2, 1);
    int64_t          t = (int64_t)time(NULL) * 1000;
    struct pki_names names = { .cn = "host1.example.com",
                               .o = "Example Corp",
                               .c = "US",
                               .dns = (const char **)DNS,
                               .ndns = 2,
                               .ip = (const char **)IPS,
                               .nip = 1 };
    struct pki_leaf  leaf = { .names = &names,
                              .not_before_ms = t,
                              .not_after_ms = t + 90LL * 86400000,
                              .key_usages = KU,
                              .nkey_usages = 1,
                              .ext_key_usages = EKU,
                              .next_key_usages = 2,
                              .crl_url = "http://pki.example.com/pki/0123/crl",
                              .ocsp_url = "http://pki.example.com/pki/0123/ocsp",
                              .issuers_url = "http://pki.example.com/pki/0123/ca.crt" };
    struct job       jobs[THREADS_MAX];
    pthread_t        tid[THREADS_MAX];
    struct ca       *ca = root_new();
    EVP_PKEY        *key = pki_key_generate(PKI_KEY_EC_P256);

    if (threads > THREADS_MAX || key == NULL)
        die("too many threads, or no key");
    leaf.key = key;
    jobs[0] = (struct job){ .ca = ca, .leaf = &leaf, .key = key, .n = 200 };
    run(&jobs[0]); /* warm up */
    for (long i = 0; i < threads; i++) {
        jobs[i] = (struct job){ .ca = ca, .leaf = &leaf, .key = key, .n = n };
        if (pthread_create(&tid[i], NULL, run, &jobs[i]) != 0)
            die("pthread_create");
    }
    for (long i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    report(jobs, threads);
    EVP_PKEY_free(key);
    pki_ca_free(ca);
    return 0;
}
