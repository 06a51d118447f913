/* certparse-rate.c - the reference for the inventory's bulk import rate: how many
 * certificates per second plain OpenSSL reads out of a PEM file on THREADS
 * threads (the console's cores). Not part of keyward.
 *
 *   make B=build build/bench/certparse-rate
 *   build/bench/certparse-rate [-t THREADS] [-d SECONDS] FILE.pem
 *
 * Per certificate: base64 of the PEM block to DER (EVP_Decode*), d2i_X509, then
 * about what the inventory extracts (API.md 7.1): SHA-256 and SHA-1 of the DER,
 * the serial in hex, subject and issuer as RFC 4514 strings, the subject's CN, O,
 * OU, L, ST, C and the issuer's CN as UTF-8, the SANs (DNS, IP as text, URI,
 * email), SKI and AKI in hex, basic constraints, the key's algorithm, size and
 * curve, the signature algorithm's name, key usage, extended key usage, and
 * both validity times as struct tm. Nothing is stored: the strings are only
 * produced (and their lengths summed, so the work is not optimized away).
 *
 * The file is read into memory first; the blocks are shared out in chunks of
 * 256. It makes passes over the file until at least 3 seconds have gone (a
 * small file is read several times), and stops after the pass that ends past
 * them, or at SECONDS (default 10), whichever comes first. One line:
 *   RESULT certs=N failed=F seconds=S rate=R threads=T
 * where failed counts blocks that did not decode or parse (0 for certgen's). */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 256

static const char BEGIN[] = "-----BEGIN CERTIFICATE-----";
static const char END[] = "-----END CERTIFICATE-----";

struct block {
    const char *p; /* the base64 between the BEGIN and END lines */
    size_t      len;
};

struct job {
    struct block *v;
    size_t        n;
    int           threads;
    double        least, deadline;
    size_t        chunks; /* in a pass */
    atomic_size_t next;   /* next chunk, over all passes */
    atomic_size_t done;   /* certificates parsed */
    atomic_size_t failed; /* blocks that did not */
    atomic_size_t bytes;  /* of strings produced */
};

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
    fprintf(stderr, "certparse-rate: %s\n", what);
    exit(1);
}

static char *
read_file(const char *path, size_t *len)
{
    FILE  *f = fopen(path, "rb");
    char  *buf = NULL;
    size_t cap = 0, n = 0, r;

    if (f == NULL)
        die(path);
    do {
        if (n == cap && (buf = realloc(buf, cap = cap ? 2 * cap : 1 << 20)) == NULL)
            die("out of memory");
        r = fread(buf + n, 1, cap - n, f);
        n += r;
    } while (r > 0);
    if (ferror(f))
        die(path);
    fclose(f);
    *len = n;
    return buf;
}

/* Every CERTIFICATE block of the file, in order. */
static struct block *
split(const char *buf, size_t len, size_t *count)
{
    struct block *v = NULL;
    size_t        n = 0, cap = 0;
    const char   *p = buf, *end = buf + len, *b, *e;

    while ((b = memmem(p, (size_t)(end - p), BEGIN, sizeof BEGIN - 1)) != NULL) {
        b += sizeof BEGIN - 1;
        if ((e = memmem(b, (size_t)(end - b), END, sizeof END - 1)) == NULL)
            break;
        if (n == cap && (v = realloc(v, (cap = cap ? 2 * cap : 1024) * sizeof *v)) == NULL)
            die("out of memory");
        v[n++] = (struct block){ b, (size_t)(e - b) };
        p = e + sizeof END - 1;
    }
    *count = n;
    return v;
}

static int
b64_der(const struct block *bl, unsigned char *der, int *len)
{
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    int             n = 0, m = 0, ok;

    if (ctx == NULL)
        return 0;
    EVP_DecodeInit(ctx);
    ok = EVP_DecodeUpdate(ctx, der, &n, (const unsigned char *)bl->p, (int)bl->len) >= 0 &&
         EVP_DecodeFinal(ctx, der + n, &m) == 1;
    EVP_ENCODE_CTX_free(ctx);
    *len = n + m;
    return ok;
}

static size_t
hex_len(const unsigned char *p, int n)
{
    static const char digits[] = "0123456789abcdef";
    char              s[2 * 64 + 1];
    int               k = 0;

    for (int i = 0; i < n && k < 128; i++) {
        s[k++] = digits[p[i] >> 4];
        s[k++] = digits[p[i] & 15];
    }
    s[k] = '\0';
    return strlen(s);
}

static size_t
utf8_len(const ASN1_STRING *s)
{
    unsigned char *u = NULL;
    int            n = ASN1_STRING_to_UTF8(&u, s);

    OPENSSL_free(u);
    return n > 0 ? (size_t)n : 0;
}

static size_t
name_len(const X509_NAME *nm)
{
    BIO  *bio = BIO_new(BIO_s_mem());
    char *p;
    long  n = 0;

    if (bio != NULL && X509_NAME_print_ex(bio, nm, 0, XN_FLAG_RFC2253) >= 0)
        n = BIO_get_mem_data(bio, &p);
    BIO_free(bio);
    return n > 0 ? (size_t)n : 0;
}

static size_t
attr_len(const X509_NAME *nm, int nid)
{
    int i = X509_NAME_get_index_by_NID(nm, nid, -1);

    return i < 0 ? 0 : utf8_len(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i)));
}

static size_t
names(const X509 *x)
{
    const X509_NAME *s = X509_get_subject_name(x), *i = X509_get_issuer_name(x);

    return name_len(s) + name_len(i) + attr_len(s, NID_commonName) +
           attr_len(s, NID_organizationName) + attr_len(s, NID_organizationalUnitName) +
           attr_len(s, NID_localityName) + attr_len(s, NID_stateOrProvinceName) +
           attr_len(s, NID_countryName) + attr_len(i, NID_commonName);
}

static size_t
sans(X509 *x)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    size_t         t = 0;
    char           ip[INET6_ADDRSTRLEN];

    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS || g->type == GEN_URI || g->type == GEN_EMAIL)
            t += utf8_len(g->d.ia5);
        else if (g->type == GEN_IPADD && (g->d.ip->length == 4 || g->d.ip->length == 16))
            t += strlen(inet_ntop(g->d.ip->length == 4 ? AF_INET : AF_INET6, g->d.ip->data, ip,
                                  sizeof ip));
    }
    GENERAL_NAMES_free(gens);
    return t;
}

static size_t
key_ids(X509 *x)
{
    ASN1_OCTET_STRING *ski = X509_get_ext_d2i(x, NID_subject_key_identifier, NULL, NULL);
    AUTHORITY_KEYID   *aki = X509_get_ext_d2i(x, NID_authority_key_identifier, NULL, NULL);
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
    size_t             t = bc != NULL && bc->ca;

    if (ski != NULL)
        t += hex_len(ASN1_STRING_get0_data(ski), ASN1_STRING_length(ski));
    if (aki != NULL && aki->keyid != NULL)
        t += hex_len(ASN1_STRING_get0_data(aki->keyid), ASN1_STRING_length(aki->keyid));
    ASN1_OCTET_STRING_free(ski);
    AUTHORITY_KEYID_free(aki);
    BASIC_CONSTRAINTS_free(bc);
    return t;
}

static size_t
key(X509 *x)
{
    ASN1_OBJECT *alg = NULL;
    X509_ALGOR  *pa = NULL;
    const void  *pval = NULL;
    int          ptype = V_ASN1_UNDEF;
    EVP_PKEY    *pk = X509_get0_pubkey(x);
    size_t       t = 0;

    if (X509_PUBKEY_get0_param(&alg, NULL, NULL, &pa, X509_get_X509_PUBKEY(x)) == 1)
        t += strlen(OBJ_nid2sn(OBJ_obj2nid(alg)));
    if (pk != NULL)
        t += (size_t)EVP_PKEY_get_bits(pk);
    if (pa != NULL) {
        X509_ALGOR_get0(NULL, &ptype, &pval, pa);
        if (ptype == V_ASN1_OBJECT)
            t += strlen(OBJ_nid2sn(OBJ_obj2nid(pval)));
    }
    return t;
}

static size_t
usages(X509 *x)
{
    ASN1_BIT_STRING    *ku = X509_get_ext_d2i(x, NID_key_usage, NULL, NULL);
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    size_t              t = 0;
    char                oid[128];

    for (int i = 0; ku != NULL && i < 9; i++)
        t += (size_t)ASN1_BIT_STRING_get_bit(ku, i);
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++)
        t += (size_t)OBJ_obj2txt(oid, sizeof oid, sk_ASN1_OBJECT_value(eku, i), 0);
    ASN1_BIT_STRING_free(ku);
    EXTENDED_KEY_USAGE_free(eku);
    return t;
}

static size_t
misc(X509 *x, const unsigned char *der, int len)
{
    unsigned char       md[EVP_MAX_MD_SIZE];
    unsigned int        mdlen = 0;
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    const X509_ALGOR   *sig = NULL;
    const ASN1_OBJECT  *sigobj = NULL;
    struct tm           tm;
    char                name[128];
    size_t              t = 0;

    if (EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) == 1)
        t += hex_len(md, (int)mdlen);
    if (EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha1(), NULL) == 1)
        t += hex_len(md, (int)mdlen);
    t += hex_len(ASN1_STRING_get0_data(sn), ASN1_STRING_length(sn));
    X509_get0_signature(NULL, &sig, x);
    X509_ALGOR_get0(&sigobj, NULL, NULL, sig);
    t += (size_t)OBJ_obj2txt(name, sizeof name, sigobj, 0);
    t += ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1 ? (size_t)tm.tm_year : 0;
    t += ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1 ? (size_t)tm.tm_year : 0;
    if (X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0)
        t += X509_verify(x, X509_get0_pubkey(x)) == 1;
    return t;
}

/* One certificate, as far as OpenSSL takes it: 0 when it does not parse. */
static size_t
parse_one(const struct block *bl, unsigned char *der)
{
    const unsigned char *p = der;
    int                  len;
    X509                *x;
    size_t               t;

    if (!b64_der(bl, der, &len) || (x = d2i_X509(NULL, &p, len)) == NULL)
        return 0;
    t = 1 + misc(x, der, len) + names(x) + sans(x) + key_ids(x) + key(x) + usages(x);
    X509_free(x);
    return t;
}

/* Go on with chunk c? A new pass starts only while the first 3 seconds last. */
static bool
more(const struct job *j, size_t c)
{
    double t = now_s();

    return t < j->deadline && (c % j->chunks != 0 || c == 0 || t < j->least);
}

static void *
worker(void *arg)
{
    struct job    *j = arg;
    unsigned char *der = NULL;
    size_t         cap = 0, c, done = 0, failed = 0, bytes = 0;

    while (more(j, (c = atomic_fetch_add(&j->next, 1)))) {
        size_t from = c % j->chunks * CHUNK, end = from + CHUNK < j->n ? from + CHUNK : j->n;
        for (size_t i = from; i < end; i++) {
            size_t t;
            if (j->v[i].len > cap && (der = realloc(der, cap = j->v[i].len)) == NULL)
                die("out of memory");
            if ((t = parse_one(&j->v[i], der)) == 0)
                failed++;
            else
                done++, bytes += t;
            ERR_clear_error();
        }
    }
    free(der);
    atomic_fetch_add(&j->done, done);
    atomic_fetch_add(&j->failed, failed);
    atomic_fetch_add(&j->bytes, bytes);
    return NULL;
}

static long
num_arg(const char *s, long min, long max, const char *what)
{
    char *end;
    long  v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "certparse-rate: %s: not a number in [%ld, %ld]: %s\n", what, min, max,
                s);
        exit(2);
    }
    return v;
}

int
main(int argc, char **argv)
{
    static struct job j;
    pthread_t         th[64];
    size_t            len;
    char             *buf;
    double            secs = 10, t0, el;
    int               c;

    j.threads = 2;
    while ((c = getopt(argc, argv, "t:d:")) != -1) {
        if (c == 't')
            j.threads = (int)num_arg(optarg, 1, 64, "-t");
        else if (c == 'd')
            secs = (double)num_arg(optarg, 1, 86400, "-d");
        else
            die("usage: certparse-rate [-t THREADS] [-d SECONDS] FILE.pem");
    }
    if (optind + 1 != argc)
        die("usage: certparse-rate [-t THREADS] [-d SECONDS] FILE.pem");
    buf = read_file(argv[optind], &len);
    j.v = split(buf, len, &j.n);
    if (j.n == 0)
        die("no CERTIFICATE block in the file");
    j.chunks = (j.n + CHUNK - 1) / CHUNK;
    t0 = now_s();
    j.least = t0 + (secs < 3 ? secs : 3);
    j.deadline = t0 + secs;
    for (int t = 0; t < j.threads; t++)
        if (pthread_create(&th[t], NULL, worker, &j) != 0)
            die("cannot start a thread");
    for (int t = 0; t < j.threads; t++)
        pthread_join(th[t], NULL);
    el = now_s() - t0;
    printf("RESULT certs=%zu failed=%zu seconds=%.3f rate=%.0f threads=%d bytes=%zu\n",
           atomic_load(&j.done), atomic_load(&j.failed), el, (double)atomic_load(&j.done) / el,
           j.threads, atomic_load(&j.bytes));
    free(j.v);
    free(buf);
    return 0;
}
