/* certparse.c - inv_parse() per second on one core (no HTTP, no store):
 *   1. every root of Debian's CA bundle (self-signed: the selfSigned check runs);
 *   2. N generated EC P-256 leaves issued by one CA (what a bulk import holds);
 *   3. N generated RSA 2048 leaves issued by the same CA;
 * each next to d2i_X509 alone on the same certificates.
 *
 *   make B=build build/bench/certparse && build/bench/certparse [N] [SECONDS] [SETS]
 *
 * N is 3000 by default, SECONDS (per measurement) 2, SETS a comma-separated
 * subset of bundle,ec,rsa (all three by default). Prints rates only; asserts
 * nothing. Results: docs/performance.md, "Certificate parsing". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/arena.h"
#include "inventory/certparse.h"
#include "pki/certutil.h"

#define CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

struct set {
    const char     *key;
    const char     *name;
    unsigned char **der;
    size_t         *len;
    size_t          n;
};

static void
die(const char *what)
{
    fprintf(stderr, "certparse bench: %s\n", what);
    exit(1);
}

static double
now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
set_add(struct set *s, const unsigned char *der, size_t len)
{
    s->der = realloc(s->der, (s->n + 1) * sizeof(*s->der));
    s->len = realloc(s->len, (s->n + 1) * sizeof(*s->len));
    if (s->der == NULL || s->len == NULL || (s->der[s->n] = malloc(len)) == NULL)
        die("out of memory");
    memcpy(s->der[s->n], der, len);
    s->len[s->n++] = len;
}

static void
load_bundle(struct set *s)
{
    FILE             *f = fopen(CA_BUNDLE, "rb");
    struct arena     *a = arena_new(1 << 16);
    struct inv_blocks b;
    struct errbuf     eb = { 0 };
    char             *p;
    long              n = 0;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0)
        die("cannot read " CA_BUNDLE);
    rewind(f);
    if ((p = malloc((size_t)n)) == NULL || fread(p, 1, (size_t)n, f) != (size_t)n)
        die("cannot read " CA_BUNDLE);
    fclose(f);
    if (inv_split(a, (struct str){ p, (size_t)n }, false, &b, &eb) != E_OK)
        die("the bundle does not split");
    for (size_t i = 0; i < b.n; i++)
        set_add(s, b.v[i].der, b.v[i].len);
    free(p);
    arena_free(a);
}

static void
name_add(X509_NAME *nm, const char *field, const char *value)
{
    if (X509_NAME_add_entry_by_txt(nm, field, MBSTRING_UTF8, (const unsigned char *)value, -1,
                                   -1, 0) != 1)
        die("X509_NAME_add_entry_by_txt");
}

static void
ext_add(X509 *x, X509 *issuer, int nid, const char *value)
{
    if (pki_ext_add(x, issuer, nid, value) != E_OK)
        die("pki_ext_add");
}

static X509 *
cert_make(EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, const char *cn)
{
    X509 *x = X509_new();
    char  san[256];

    if (x == NULL || X509_set_version(x, 2) != 1 || pki_serial_random(x) != E_OK)
        die("X509_new");
    name_add(X509_get_subject_name(x), "C", "FR");
    name_add(X509_get_subject_name(x), "O", "Bench Corp");
    name_add(X509_get_subject_name(x), "CN", cn);
    if (X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x)) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 90L * 86400) == NULL ||
        X509_set_pubkey(x, key) != 1)
        die("X509_set_*");
    ext_add(x, issuer ? issuer : x, NID_basic_constraints,
            issuer ? "critical,CA:FALSE" : "critical,CA:TRUE");
    ext_add(x, issuer ? issuer : x, NID_key_usage,
            issuer ? "critical,digitalSignature,keyEncipherment" : "critical,keyCertSign");
    ext_add(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
    ext_add(x, issuer ? issuer : x, NID_authority_key_identifier, "keyid:always");
    if (issuer != NULL) {
        snprintf(san, sizeof(san), "DNS:%s,DNS:www.%s", cn, cn);
        ext_add(x, issuer, NID_subject_alt_name, san);
        ext_add(x, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
    }
    if (X509_sign(x, ikey ? ikey : key, EVP_sha256()) <= 0)
        die("X509_sign");
    return x;
}

static void
make_leaves(struct set *s, X509 *ca, EVP_PKEY *cakey, size_t n, bool rsa)
{
    EVP_PKEY *k = NULL;

    for (size_t i = 0; i < n; i++) {
        X509          *x;
        unsigned char *der = NULL;
        int            len;
        char           cn[64];

        /* A fresh EC key each; RSA keys are slow to make, so one in 50. */
        if (!rsa || i % 50 == 0) {
            EVP_PKEY_free(k);
            k = rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                    : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
            if (k == NULL)
                die("keygen");
        }
        snprintf(cn, sizeof(cn), "host%zu.bench.example", i);
        x = cert_make(k, ca, cakey, cn);
        if ((len = i2d_X509(x, &der)) <= 0)
            die("i2d_X509");
        set_add(s, der, (size_t)len);
        OPENSSL_free(der);
        X509_free(x);
    }
    EVP_PKEY_free(k);
}

/* Certificates per second over the set, for about `secs` seconds. */
static double
rate(const struct set *s, double secs, bool d2i_only)
{
    struct arena *a = arena_new(1 << 16);
    double        t0 = now(), t;
    size_t        done = 0;

    do {
        for (size_t i = 0; i < s->n; i++) {
            struct val    m;
            struct errbuf eb = { 0 };

            if (d2i_only) {
                const unsigned char *p = s->der[i];
                X509                *x = d2i_X509(NULL, &p, (long)s->len[i]);

                if (x == NULL)
                    die("d2i_X509 failed");
                X509_free(x);
            } else if (inv_parse(a, s->der[i], s->len[i], &m, &eb) != E_OK) {
                die("inv_parse failed");
            }
            arena_reset(a);
        }
        done += s->n;
    } while ((t = now() - t0) < secs);
    arena_free(a);
    return (double)done / t;
}

int
main(int argc, char **argv)
{
    size_t      n = argc > 1 ? strtoul(argv[1], NULL, 10) : 3000;
    double      secs = argc > 2 ? strtod(argv[2], NULL) : 2.0;
    const char *only = argc > 3 ? argv[3] : "bundle,ec,rsa";
    struct set  sets[3] = { { .key = "bundle", .name = "CA bundle (roots)" },
                            { .key = "ec", .name = "EC P-256 leaves" },
                            { .key = "rsa", .name = "RSA 2048 leaves" } };
    EVP_PKEY   *cakey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509       *ca;

    if (cakey == NULL)
        die("keygen");
    ca = cert_make(cakey, NULL, NULL, "Bench CA");
    if (strstr(only, "bundle") != NULL)
        load_bundle(&sets[0]);
    if (strstr(only, "ec") != NULL)
        make_leaves(&sets[1], ca, cakey, n, false);
    if (strstr(only, "rsa") != NULL)
        make_leaves(&sets[2], ca, cakey, n, true);
    printf("%-20s %6s %14s %14s\n", "set", "certs", "inv_parse/s", "d2i_X509/s");
    for (size_t i = 0; i < 3; i++) {
        double parse, d2i;

        if (sets[i].n == 0)
            continue;
        parse = rate(&sets[i], secs, false);
        d2i = rate(&sets[i], secs, true);

        printf("%-20s %6zu %14.0f %14.0f\n", sets[i].name, sets[i].n, parse, d2i);
        for (size_t k = 0; k < sets[i].n; k++)
            free(sets[i].der[k]);
        free(sets[i].der);
        free(sets[i].len);
    }
    X509_free(ca);
    EVP_PKEY_free(cakey);
    return 0;
}
