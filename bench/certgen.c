/* certgen.c - N distinct, realistic TLS leaf certificates as PEM, for the
 * inventory benchmark (bench/inventory.py). Not part of keyward.
 *
 *   make B=build build/bench/certgen
 *   build/bench/certgen -n 1000000 -o leaves.pem -c cas.pem [-t THREADS] [-s SEED] [-T NOW]
 *
 * Certificate i (0-based) is a function of (i, SEED, NOW) and of the key pool:
 *   subject  CN=host<i>.<dept>.example.com,OU=<dept>,O=<org>,L=<city>,C=US
 *            dept = DEPTS[i % 16], org = ORGS[i % 7], city = CITIES[i % 5]
 *   SANs     1 + mix(i,1) % 5 entries: host<i>.<dept>.example.com first, then
 *            www<i>, api<i>, mail<i>, vpn<i> (same suffix); when mix(i,2) % 10 == 0
 *            and there are at least 2, the last one is the IPv4 10.x.y.z of i
 *   validity lifetime 90, 365, 398 or 825 days by mix(i,4) % 20 (< 6, < 14, < 19,
 *            else); mix(i,3) % 1000: < 80 expired (1..365 days ago), < 120 ending
 *            within 30 days, else ending 30 days or more from NOW, always started
 *            before NOW
 *   key      mix(i,5) % 100: < 45 RSA 2048, < 55 RSA 3072, < 62 RSA 4096,
 *            < 88 EC P-256, < 95 EC P-384, else Ed25519; one of a pool of
 *            keys of that type (POOL[type] keys), by mix(i,6)
 *   issuer   one of 50 self-signed CAs, Zipf-weighted by mix(i,7) (issuer k
 *            has weight 1/(k+1)); 0-39 EC P-256, 40-44 EC P-384, 45-49 RSA 2048
 *   serial   16 bytes: i, then mix(i,8)
 * with mix(i,k) = splitmix64(SEED + i * 8 + k) (bench/inventory.py has the same).
 * Extensions: basicConstraints, keyUsage, extendedKeyUsage (serverAuth,
 * clientAuth), subjectAltName, SKI, AKI, certificatePolicies, CRL distribution
 * point, authorityInfoAccess: about what a public CA issues.
 * Keys are generated at start (a pool per type, reused), so 1,000,000
 * certificates take minutes: the cost is the issuers' signatures. Output order
 * follows the threads' chunks, not i. The CAs go to -c (PEM) when given. */
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NCAS     50
#define POOL_MAX 64
#define CHUNK    1024
#define DAY      86400L

enum ktype { K_RSA2048, K_RSA3072, K_RSA4096, K_P256, K_P384, K_ED25519, K_N };

/* Keys of each type: few RSA ones, which take seconds to generate. */
static const int POOL[K_N] = { 16, 16, 8, 64, 64, 64 };

static const char *const DEPTS[16] = {
    "eng",   "ops",  "sales",  "hr",  "finance",  "legal",  "it",   "support",
    "infra", "data", "mobile", "web", "payments", "search", "mail", "corp",
};
static const char *const ORGS[7] = {
    "Example Corp",   "Example Retail", "Example Bank",  "Example Cloud",
    "Example Health", "Example Labs",   "Example Media",
};
static const char *const CITIES[5] = { "Berlin", "Paris", "Austin", "Tokyo", "Toronto" };
static const char *const CA_VENDORS[10] = {
    "Acme Trust", "Globex PKI",  "Initech CA", "Umbrella Secure", "Hooli Certs",
    "Stark Sign", "Wayne Trust", "Tyrell PKI", "Cyberdyne CA",    "Soylent Secure",
};
static const char *const SAN_HOSTS[5] = { "host", "www", "api", "mail", "vpn" };

struct ca {
    EVP_PKEY       *key;
    X509           *cert;
    X509_NAME      *name;
    const EVP_MD   *md;
    X509_EXTENSION *aki, *crldp, *aia;
};

struct gen {
    long            n;
    uint64_t        seed;
    time_t          now;
    int             threads;
    FILE           *out;
    EVP_PKEY       *pool[K_N][POOL_MAX];
    X509_PUBKEY    *xpk[K_N][POOL_MAX]; /* encoded once: OpenSSL 3 encodes slowly */
    X509_EXTENSION *ski[K_N][POOL_MAX];
    X509_EXTENSION *bc, *ku_rsa, *ku_other, *eku, *policies;
    struct ca       ca[NCAS];
    double          zipf[NCAS]; /* cumulative, last = 1 */
    atomic_long     next;       /* next chunk (or pool key) to take */
    pthread_mutex_t lock;       /* for out */
    atomic_int      failed;
};

static uint64_t
splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t
mix(const struct gen *g, long i, int k)
{
    return splitmix64(g->seed + (uint64_t)i * 8 + (uint64_t)k);
}

static void
die(const char *what)
{
    fprintf(stderr, "certgen: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static EVP_PKEY *
keygen(enum ktype t)
{
    switch (t) {
    case K_RSA2048:
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    case K_RSA3072:
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    case K_RSA4096:
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
    case K_P256:
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    case K_P384:
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    default:
        return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    }
}

/* subjectKeyIdentifier: SHA-1 of the subjectPublicKey bits (RFC 5280, method 1). */
static X509_EXTENSION *
ski_ext(EVP_PKEY *key)
{
    X509_PUBKEY         *xpk = NULL;
    const unsigned char *bits;
    int                  nbits;
    unsigned char        md[EVP_MAX_MD_SIZE];
    unsigned int         mdlen;
    ASN1_OCTET_STRING   *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION      *ext;

    if (os == NULL || X509_PUBKEY_set(&xpk, key) != 1 ||
        X509_PUBKEY_get0_param(NULL, &bits, &nbits, NULL, xpk) != 1 ||
        EVP_Digest(bits, (size_t)nbits, md, &mdlen, EVP_sha1(), NULL) != 1 ||
        ASN1_OCTET_STRING_set(os, md, (int)mdlen) != 1)
        die("cannot compute a subject key identifier");
    ext = X509V3_EXT_i2d(NID_subject_key_identifier, 0, os);
    X509_PUBKEY_free(xpk);
    ASN1_OCTET_STRING_free(os);
    if (ext == NULL)
        die("cannot encode a subject key identifier");
    return ext;
}

static X509_EXTENSION *
aki_ext(X509_EXTENSION *ski)
{
    AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
    X509_EXTENSION  *ext;

    if (aki == NULL || (aki->keyid = X509V3_EXT_d2i(ski)) == NULL)
        die("cannot build an authority key identifier");
    ext = X509V3_EXT_i2d(NID_authority_key_identifier, 0, aki);
    AUTHORITY_KEYID_free(aki);
    if (ext == NULL)
        die("cannot encode an authority key identifier");
    return ext;
}

static X509_EXTENSION *
conf_ext(int nid, const char *value)
{
    X509V3_CTX      ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&ctx, NULL, NULL, NULL, NULL, 0);
    X509V3_set_ctx_nodb(&ctx);
    if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
        die(value);
    return ext;
}

/* certificatePolicies: the CA/Browser Forum's domain-validated policy. */
static X509_EXTENSION *
policies_ext(void)
{
    CERTIFICATEPOLICIES *cp = CERTIFICATEPOLICIES_new();
    POLICYINFO          *pi = POLICYINFO_new();
    X509_EXTENSION      *ext;

    if (cp == NULL || pi == NULL || (pi->policyid = OBJ_txt2obj("2.23.140.1.2.1", 1)) == NULL ||
        sk_POLICYINFO_push(cp, pi) <= 0)
        die("cannot build the certificate policies");
    ext = X509V3_EXT_i2d(NID_certificate_policies, 0, cp);
    CERTIFICATEPOLICIES_free(cp);
    if (ext == NULL)
        die("cannot encode the certificate policies");
    return ext;
}

/* The slowest keys (RSA 4096) are shared out first. */
static void *
pool_worker(void *arg)
{
    struct gen *g = arg;
    long        j;

    while ((j = atomic_fetch_add(&g->next, 1)) < K_N * POOL_MAX) {
        enum ktype t = (enum ktype)((K_RSA4096 + j / POOL_MAX) % K_N);
        int        k = (int)(j % POOL_MAX);
        if (k >= POOL[t])
            continue;
        if ((g->pool[t][k] = keygen(t)) == NULL)
            die("cannot generate a key");
        g->ski[t][k] = ski_ext(g->pool[t][k]);
        if (X509_PUBKEY_set(&g->xpk[t][k], g->pool[t][k]) != 1)
            die("cannot encode a key");
    }
    return NULL;
}

static void
run_threads(struct gen *g, void *(*fn)(void *))
{
    pthread_t th[64];

    atomic_store(&g->next, 0);
    for (int t = 0; t < g->threads; t++)
        if (pthread_create(&th[t], NULL, fn, g) != 0)
            die("cannot start a thread");
    for (int t = 0; t < g->threads; t++)
        pthread_join(th[t], NULL);
}

static void
add_ext(X509 *x, X509_EXTENSION *ext)
{
    if (X509_add_ext(x, ext, -1) != 1)
        die("cannot add an extension");
}

static void
set_validity(X509 *x, time_t from, time_t to)
{
    if (X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &from) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &to) == NULL)
        die("cannot set the validity");
}

static void
name_add(X509_NAME *nm, int nid, const char *value)
{
    if (!X509_NAME_add_entry_by_NID(nm, nid, MBSTRING_ASC, (const unsigned char *)value, -1, -1,
                                    0))
        die("cannot build a subject");
}

static X509_NAME *
ca_name(int k)
{
    X509_NAME *nm = X509_NAME_new();
    char       cn[96];

    snprintf(cn, sizeof cn, "%s %s CA %d", CA_VENDORS[k % 10],
             k < 40   ? "ECC Issuing"
             : k < 45 ? "ECC High Assurance"
                      : "RSA Issuing",
             k);
    if (nm == NULL)
        die("out of memory");
    name_add(nm, NID_countryName, "US");
    name_add(nm, NID_organizationName, CA_VENDORS[k % 10]);
    name_add(nm, NID_commonName, cn);
    return nm;
}

static void
make_ca(struct gen *g, int k)
{
    struct ca      *ca = &g->ca[k];
    enum ktype      t = k < 40 ? K_P256 : k < 45 ? K_P384 : K_RSA2048;
    X509_EXTENSION *ski;
    X509           *x = X509_new();
    char            url[160];

    ca->key = keygen(t);
    ca->md = t == K_P384 ? EVP_sha384() : EVP_sha256();
    ca->name = ca_name(k);
    if (x == NULL || ca->key == NULL || !X509_set_version(x, 2) ||
        !ASN1_INTEGER_set(X509_get_serialNumber(x), 1000 + k) ||
        !X509_set_subject_name(x, ca->name) || !X509_set_issuer_name(x, ca->name) ||
        !X509_set_pubkey(x, ca->key))
        die("cannot build a CA");
    set_validity(x, g->now - 400 * DAY, g->now + 3650 * DAY);
    ski = ski_ext(ca->key);
    ca->aki = aki_ext(ski);
    add_ext(x, conf_ext(NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    add_ext(x, conf_ext(NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign"));
    add_ext(x, ski);
    add_ext(x, ca->aki);
    if (X509_sign(x, ca->key, ca->md) <= 0)
        die("cannot sign a CA");
    ca->cert = x;
    snprintf(url, sizeof url, "URI:http://crl.pki%d.example.net/ca%d.crl", k % 10, k);
    ca->crldp = conf_ext(NID_crl_distribution_points, url);
    snprintf(url, sizeof url,
             "OCSP;URI:http://ocsp.pki%d.example.net,caIssuers;URI:http://pki%d.example.net/"
             "ca%d.crt",
             k % 10, k % 10, k);
    ca->aia = conf_ext(NID_info_access, url);
}

static void
setup(struct gen *g)
{
    double sum = 0, acc = 0;

    g->bc = conf_ext(NID_basic_constraints, "critical,CA:FALSE");
    g->ku_rsa = conf_ext(NID_key_usage, "critical,digitalSignature,keyEncipherment");
    g->ku_other = conf_ext(NID_key_usage, "critical,digitalSignature");
    g->eku = conf_ext(NID_ext_key_usage, "serverAuth,clientAuth");
    g->policies = policies_ext();
    for (int k = 0; k < NCAS; k++)
        make_ca(g, k);
    for (int k = 0; k < NCAS; k++)
        sum += 1.0 / (k + 1);
    for (int k = 0; k < NCAS; k++)
        g->zipf[k] = (acc += 1.0 / (k + 1) / sum);
    g->zipf[NCAS - 1] = 1.0;
    run_threads(g, pool_worker);
}

static int
pick_issuer(const struct gen *g, long i)
{
    double u = (double)(mix(g, i, 7) >> 11) / 9007199254740992.0;
    int    k = 0;

    while (k < NCAS - 1 && u >= g->zipf[k])
        k++;
    return k;
}

static enum ktype
pick_type(const struct gen *g, long i)
{
    unsigned v = (unsigned)(mix(g, i, 5) % 100);

    return v < 45   ? K_RSA2048
           : v < 55 ? K_RSA3072
           : v < 62 ? K_RSA4096
           : v < 88 ? K_P256
           : v < 95 ? K_P384
                    : K_ED25519;
}

/* Started before NOW, however it ends; lifetimes from 90 days (ACME) to 825. */
static void
validity(const struct gen *g, long i, time_t *from, time_t *to)
{
    static const long life[4] = { 90, 365, 398, 825 };
    unsigned          v = (unsigned)(mix(g, i, 3) % 1000), l = (unsigned)(mix(g, i, 4) % 20);
    uint64_t          r = mix(g, i, 3) >> 16;
    long              days = life[l < 6 ? 0 : l < 14 ? 1 : l < 19 ? 2 : 3];

    if (v < 80)
        *to = g->now - DAY - (time_t)(r % (364 * DAY));
    else if (v < 120)
        *to = g->now + 3600 + (time_t)(r % (29 * DAY));
    else
        *to = g->now + 30 * DAY + (time_t)(r % ((days - 31) * DAY));
    *from = *to - days * DAY;
}

static void
set_subject(X509 *x, long i)
{
    X509_NAME *nm = X509_get_subject_name(x);
    char       cn[96];

    snprintf(cn, sizeof cn, "host%ld.%s.example.com", i, DEPTS[i % 16]);
    name_add(nm, NID_countryName, "US");
    name_add(nm, NID_localityName, CITIES[i % 5]);
    name_add(nm, NID_organizationName, ORGS[i % 7]);
    name_add(nm, NID_organizationalUnitName, DEPTS[i % 16]);
    name_add(nm, NID_commonName, cn);
}

static void
push_gen(GENERAL_NAMES *gens, int type, const void *data, int len)
{
    GENERAL_NAME      *gn = GENERAL_NAME_new();
    ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new(); /* also an IA5STRING */

    if (gn == NULL || s == NULL || ASN1_STRING_set(s, data, len) != 1)
        die("cannot build a SAN");
    if (type == GEN_DNS)
        s->type = V_ASN1_IA5STRING;
    GENERAL_NAME_set0_value(gn, type, s);
    if (sk_GENERAL_NAME_push(gens, gn) <= 0)
        die("cannot build a SAN");
}

static void
set_sans(const struct gen *g, X509 *x, long i)
{
    GENERAL_NAMES  *gens = GENERAL_NAMES_new();
    int             n = 1 + (int)(mix(g, i, 1) % 5), ndns = n;
    X509_EXTENSION *ext;
    char            host[96];

    if (gens == NULL)
        die("out of memory");
    if (n >= 2 && mix(g, i, 2) % 10 == 0)
        ndns = n - 1;
    for (int k = 0; k < ndns; k++) {
        snprintf(host, sizeof host, "%s%ld.%s.example.com", SAN_HOSTS[k], i, DEPTS[i % 16]);
        push_gen(gens, GEN_DNS, host, (int)strlen(host));
    }
    if (ndns < n) {
        unsigned char ip[4] = { 10, (unsigned char)(i >> 16), (unsigned char)(i >> 8),
                                (unsigned char)i };
        push_gen(gens, GEN_IPADD, ip, 4);
    }
    if ((ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)) == NULL)
        die("cannot encode a SAN");
    add_ext(x, ext);
    X509_EXTENSION_free(ext);
    GENERAL_NAMES_free(gens);
}

static void
set_serial(const struct gen *g, X509 *x, long i)
{
    unsigned char b[16];
    uint64_t      r = mix(g, i, 8);
    BIGNUM       *bn;

    for (int k = 0; k < 8; k++) {
        b[k] = (unsigned char)((uint64_t)i >> (56 - 8 * k));
        b[8 + k] = (unsigned char)(r >> (56 - 8 * k));
    }
    b[0] = (unsigned char)((b[0] & 0x3f) | 0x40); /* positive, 16 bytes */
    if ((bn = BN_bin2bn(b, sizeof b, NULL)) == NULL ||
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
        die("cannot set a serial");
    BN_free(bn);
}

/* X509_set_pubkey() without the encoder: a copy of the encoded key. */
static void
set_pubkey(X509 *x, const X509_PUBKEY *src)
{
    ASN1_OBJECT         *alg;
    const unsigned char *bits;
    int                  nbits, ptype;
    X509_ALGOR          *pa;
    const void          *pval;
    unsigned char       *enc;
    ASN1_OBJECT         *param = NULL;

    if (X509_PUBKEY_get0_param(&alg, &bits, &nbits, &pa, src) != 1)
        die("cannot read a key");
    X509_ALGOR_get0(NULL, &ptype, &pval, pa);
    if (ptype == V_ASN1_OBJECT && (param = OBJ_dup(pval)) == NULL)
        die("out of memory");
    if ((enc = OPENSSL_memdup(bits, (size_t)nbits)) == NULL ||
        X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), OBJ_dup(alg), ptype, param, enc,
                               nbits) != 1)
        die("cannot set a key");
}

static X509 *
make_leaf(const struct gen *g, long i)
{
    const struct ca *ca = &g->ca[pick_issuer(g, i)];
    enum ktype       t = pick_type(g, i);
    int              k = (int)(mix(g, i, 6) % (uint64_t)POOL[t]);
    X509            *x = X509_new();
    time_t           from, to;

    if (x == NULL || !X509_set_version(x, 2) || !X509_set_issuer_name(x, ca->name))
        die("cannot build a certificate");
    set_pubkey(x, g->xpk[t][k]);
    set_serial(g, x, i);
    set_subject(x, i);
    validity(g, i, &from, &to);
    set_validity(x, from, to);
    add_ext(x, g->bc);
    add_ext(x, t <= K_RSA4096 ? g->ku_rsa : g->ku_other);
    add_ext(x, g->eku);
    set_sans(g, x, i);
    add_ext(x, g->ski[t][k]);
    add_ext(x, ca->aki);
    add_ext(x, g->policies);
    add_ext(x, ca->crldp);
    add_ext(x, ca->aia);
    if (X509_sign(x, ca->key, ca->md) <= 0)
        die("cannot sign a certificate");
    return x;
}

static void
flush_bio(struct gen *g, BIO *bio)
{
    char *p;
    long  n = BIO_get_mem_data(bio, &p);

    pthread_mutex_lock(&g->lock);
    if (n > 0 && fwrite(p, 1, (size_t)n, g->out) != (size_t)n)
        atomic_store(&g->failed, 1);
    pthread_mutex_unlock(&g->lock);
    BIO_reset(bio);
}

static void *
leaf_worker(void *arg)
{
    struct gen *g = arg;
    BIO        *bio = BIO_new(BIO_s_mem());
    long        c;

    if (bio == NULL)
        die("out of memory");
    while ((c = atomic_fetch_add(&g->next, 1)) * CHUNK < g->n) {
        long end = (c + 1) * CHUNK < g->n ? (c + 1) * CHUNK : g->n;
        for (long i = c * CHUNK; i < end; i++) {
            X509 *x = make_leaf(g, i);
            if (PEM_write_bio_X509(bio, x) != 1)
                die("cannot write PEM");
            X509_free(x);
        }
        flush_bio(g, bio);
    }
    BIO_free(bio);
    return NULL;
}

static void
write_cas(const struct gen *g, const char *path)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        die(path);
    for (int k = 0; k < NCAS; k++)
        if (PEM_write_X509(f, g->ca[k].cert) != 1)
            die("cannot write a CA");
    if (fclose(f) != 0)
        die(path);
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
num_arg(const char *s, long min, long max, const char *what)
{
    char *end;
    long  v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "certgen: %s: not a number in [%ld, %ld]: %s\n", what, min, max, s);
        exit(2);
    }
    return v;
}

static void
usage(void)
{
    fputs("usage: certgen [-n N] [-o OUT.pem] [-c CAS.pem] [-t THREADS] [-s SEED] [-T NOW]\n",
          stderr);
    exit(2);
}

int
main(int argc, char **argv)
{
    static struct gen g;
    const char       *out = NULL, *cas = NULL;
    long              nproc = sysconf(_SC_NPROCESSORS_ONLN);
    int               c;
    double            t0, t1;

    g.n = 1000;
    g.threads = nproc > 0 && nproc < 64 ? (int)nproc : 2;
    g.now = time(NULL);
    while ((c = getopt(argc, argv, "n:o:c:t:s:T:")) != -1) {
        switch (c) {
        case 'n':
            g.n = num_arg(optarg, 0, 100000000, "-n");
            break;
        case 'o':
            out = optarg;
            break;
        case 'c':
            cas = optarg;
            break;
        case 't':
            g.threads = (int)num_arg(optarg, 1, 64, "-t");
            break;
        case 's':
            g.seed = (uint64_t)num_arg(optarg, 0, LONG_MAX, "-s");
            break;
        case 'T':
            g.now = (time_t)num_arg(optarg, 0, LONG_MAX, "-T");
            break;
        default:
            usage();
        }
    }
    if (optind != argc)
        usage();
    g.out = out != NULL ? fopen(out, "w") : stdout;
    if (g.out == NULL)
        die(out);
    pthread_mutex_init(&g.lock, NULL);
    t0 = now_s();
    setup(&g);
    if (cas != NULL)
        write_cas(&g, cas);
    t1 = now_s();
    run_threads(&g, leaf_worker);
    if (fflush(g.out) != 0 || atomic_load(&g.failed) || (out != NULL && fclose(g.out) != 0))
        die("cannot write the certificates");
    fprintf(stderr,
            "certgen: CAs and key pool in %.1f s, %ld certificates in %.1f s (%.0f/s)\n",
            t1 - t0, g.n, now_s() - t1, (double)g.n / (now_s() - t1 + 1e-9));
    return 0;
}
