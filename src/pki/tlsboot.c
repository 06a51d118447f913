/* tlsboot.c - the console's own TLS material: a local CA and a server certificate.
 *
 * Files under <datadir>/tls:
 *   ca.pem      CA certificate, 0644 (handed to clients)
 *   ca.key      CA private key, 0600
 *   server.pem  leaf certificate followed by the CA certificate, 0644
 *   server.key  leaf private key, 0600
 *
 * The private keys are unencrypted PKCS#8 PEM. The data directory is the trust
 * boundary: whoever can read it can also read the master key and the database, so
 * a passphrase stored next to the key would add nothing. Every file is written
 * atomically (temporary file, fsync, rename), the key before its certificate, so a
 * crash leaves either the old pair or a certificate-less key, never a certificate
 * whose key is missing. ca.pem is written last of the CA pair: its presence means
 * the CA is complete.
 */
#include "tlsboot.h"

#include "../core/fileio.h"
#include "../core/pem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define FILE_MAX (256 * 1024) /* PEM files here are a few KiB */
#define CA_DAYS 3652          /* ten years */
#define LEAF_DAYS 397         /* the CA/Browser Forum ceiling, so browsers accept it */
#define RENEW_S (30L * 86400)
#define BACKDATE_S 3600 /* tolerate clients whose clocks run a little slow */
#define SERIAL_LEN 16
#define CN_MAX 64    /* ub-common-name (RFC 5280) */
#define HOST_MAX 253 /* longest DNS name */

struct paths {
    char dir[PATH_MAX];
    char ca[PATH_MAX];
    char ca_key[PATH_MAX];
    char srv[PATH_MAX];
    char srv_key[PATH_MAX];
};

/* The listen host, normalised: IPv6 brackets removed, kind decided once. */
struct host {
    char name[HOST_MAX + 1];
    bool is_ip;
};

/* ---- names and paths -------------------------------------------------------- */

/* LDH labels of 1-63 characters. '_' is tolerated because container and compose
 * host names use it and refusing to start over it would help nobody. */
static bool
dns_name_valid(const char *s)
{
    size_t len = strlen(s), label = 0, i;

    if (len == 0 || len > HOST_MAX)
        return false;
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
        if ((c == '-' && label == 0) || ++label > 63)
            return false;
    }
    return label > 0 && s[len - 1] != '-';
}

static bool
ip_literal(const char *s)
{
    unsigned char bin[16];

    return inet_pton(AF_INET, s, bin) == 1 || inet_pton(AF_INET6, s, bin) == 1;
}

static int
host_parse(const char *in, struct host *h, struct errbuf *eb)
{
    size_t len;

    if (in == NULL || in[0] == '\0')
        in = "localhost";
    len = strlen(in);
    if (len > 2 && in[0] == '[' && in[len - 1] == ']') { /* "[::1]" as in a URL */
        in++;
        len -= 2;
    }
    if (len > HOST_MAX)
        return errbuf_set(eb, E_INTERNAL, "tls: listen host is longer than %d bytes", HOST_MAX);
    memcpy(h->name, in, len);
    h->name[len] = '\0';
    h->is_ip = ip_literal(h->name);
    if (!h->is_ip && !dns_name_valid(h->name))
        return errbuf_set(eb, E_INTERNAL,
                          "tls: listen host \"%.64s\" is neither an IP address nor a DNS name",
                          h->name);
    return E_OK;
}

static int
path_join(char out[PATH_MAX], const char *dir, const char *name, struct errbuf *eb)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

    if (n < 0 || n >= PATH_MAX)
        return errbuf_set(eb, E_INTERNAL, "tls: data directory path too long");
    return E_OK;
}

static int
paths_init(struct paths *p, const char *datadir, struct errbuf *eb)
{
    if (datadir == NULL || datadir[0] == '\0')
        return errbuf_set(eb, E_INTERNAL, "tls: no data directory");
    if (path_join(p->dir, datadir, "tls", eb) != E_OK ||
        path_join(p->ca, p->dir, "ca.pem", eb) != E_OK ||
        path_join(p->ca_key, p->dir, "ca.key", eb) != E_OK ||
        path_join(p->srv, p->dir, "server.pem", eb) != E_OK ||
        path_join(p->srv_key, p->dir, "server.key", eb) != E_OK)
        return E_INTERNAL;
    return E_OK;
}

/* ---- files ------------------------------------------------------------------ */

static int
dir_ensure(const char *dir, struct errbuf *eb)
{
    struct stat st;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return errbuf_set(eb, E_INTERNAL, "tls: cannot create %s: %s", dir, strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return errbuf_set(eb, E_INTERNAL, "tls: %s is not a directory", dir);
    return E_OK;
}

/* ---- PEM -------------------------------------------------------------------- */

/* The nth (0-based) certificate of a PEM bundle, or NULL. */
static X509 *
pem_cert(const struct buf *b, int nth)
{
    BIO  *bio = NULL;
    X509 *x = NULL;
    int   i;

    if (b->len == 0 || b->len > INT_MAX)
        return NULL;
    bio = BIO_new_mem_buf(b->p, (int)b->len);
    for (i = 0; bio != NULL && i <= nth; i++) {
        X509_free(x);
        x = PEM_read_bio_X509(bio, NULL, pem_no_passphrase, NULL);
        if (x == NULL)
            break;
    }
    BIO_free(bio);
    return x;
}

static EVP_PKEY *
pem_key(const struct buf *b)
{
    BIO      *bio = NULL;
    EVP_PKEY *k = NULL;

    if (b->len == 0 || b->len > INT_MAX)
        return NULL;
    bio = BIO_new_mem_buf(b->p, (int)b->len);
    if (bio != NULL)
        k = PEM_read_bio_PrivateKey(bio, NULL, pem_no_passphrase, NULL);
    BIO_free(bio);
    return k;
}

static int
bio_to_buf(BIO *bio, struct buf *out)
{
    char *p = NULL;
    long  n = BIO_get_mem_data(bio, &p);

    if (n <= 0 || p == NULL)
        return E_INTERNAL;
    return buf_append(out, p, (size_t)n);
}

static int
key_to_pem(EVP_PKEY *k, struct buf *out)
{
    BIO *bio = NULL;
    int  rc = E_INTERNAL;

    /* secmem: the BIO's copy of the private key is wiped when it is freed. */
    bio = BIO_new(BIO_s_secmem());
    if (bio != NULL && PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) == 1)
        rc = bio_to_buf(bio, out);
    BIO_free(bio);
    return rc;
}

static int
cert_to_pem(X509 *x, struct buf *out)
{
    BIO *bio = NULL;
    int  rc = E_INTERNAL;

    bio = BIO_new(BIO_s_mem());
    if (bio != NULL && PEM_write_bio_X509(bio, x) == 1)
        rc = bio_to_buf(bio, out);
    BIO_free(bio);
    return rc;
}

/* Empty a buffer that may have held a private key, keeping it usable. */
static void
buf_clear_secret(struct buf *b)
{
    if (b->p != NULL)
        OPENSSL_cleanse(b->p, b->len);
    buf_reset(b);
}

/* ---- certificates ----------------------------------------------------------- */

/* 16 random bytes, top bit clear so the INTEGER is positive and the next bit set
 * so it always encodes in exactly 16 bytes (126 bits of randomness remain). */
static int
serial_set(X509 *x)
{
    unsigned char b[SERIAL_LEN];
    BIGNUM       *bn = NULL;
    int           rc = E_INTERNAL;

    if (RAND_bytes(b, sizeof(b)) != 1)
        goto out;
    b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);
    bn = BN_bin2bn(b, sizeof(b), NULL);
    if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
        goto out;
    rc = E_OK;
out:
    BN_free(bn);
    return rc;
}

static X509_NAME *
name_new(const char *cn, const char *o)
{
    X509_NAME *n = X509_NAME_new();

    if (n == NULL)
        return NULL;
    if ((o != NULL && X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
                                                 (const unsigned char *)o, -1, -1, 0) != 1) ||
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1) {
        X509_NAME_free(n);
        return NULL;
    }
    return n;
}

/* Version, serial, names, validity and key: everything but extensions. */
static X509 *
cert_base(EVP_PKEY *key, const X509_NAME *subject, const X509_NAME *issuer, long days)
{
    X509 *x = X509_new();

    if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 || serial_set(x) != E_OK ||
        X509_set_subject_name(x, subject) != 1 || X509_set_issuer_name(x, issuer) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_S) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) == NULL ||
        X509_set_pubkey(x, key) != 1) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* One extension from its configuration-syntax value; the issuer (for AKI) and the
 * subject (for SKI) come from the certificates. */
static int
ext_add(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX      ctx;
    X509_EXTENSION *ext = NULL;
    int             rc = E_INTERNAL;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext != NULL && X509_add_ext(x, ext, -1) == 1)
        rc = E_OK;
    X509_EXTENSION_free(ext);
    return rc;
}

static int
ca_new(EVP_PKEY **key, X509 **crt)
{
    X509_NAME *name = NULL;
    int        rc = E_INTERNAL;

    *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    name = name_new("Keyward Local CA", "Keyward");
    if (*key == NULL || name == NULL)
        goto out;
    *crt = cert_base(*key, name, name, CA_DAYS);
    if (*crt == NULL ||
        ext_add(*crt, *crt, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != E_OK ||
        ext_add(*crt, *crt, NID_key_usage, "critical,keyCertSign,cRLSign") != E_OK ||
        ext_add(*crt, *crt, NID_subject_key_identifier, "hash") != E_OK ||
        X509_sign(*crt, *key, EVP_sha256()) <= 0)
        goto out;
    rc = E_OK;
out:
    X509_NAME_free(name);
    return rc;
}

/* Appends a SAN unless an equal one is already there (host may be "localhost"). */
static int
san_push(GENERAL_NAMES *gens, bool ip, const char *value)
{
    GENERAL_NAME      *gn = NULL;
    ASN1_IA5STRING    *dns = NULL;
    ASN1_OCTET_STRING *addr = NULL;
    int                i, rc = E_INTERNAL;

    gn = GENERAL_NAME_new();
    if (gn == NULL)
        goto out;
    if (ip) {
        addr = a2i_IPADDRESS(value);
        if (addr == NULL)
            goto out;
        GENERAL_NAME_set0_value(gn, GEN_IPADD, addr);
    } else {
        dns = ASN1_IA5STRING_new();
        if (dns == NULL || ASN1_STRING_set(dns, value, -1) != 1) {
            ASN1_IA5STRING_free(dns);
            goto out;
        }
        GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
    }
    for (i = 0; i < sk_GENERAL_NAME_num(gens); i++)
        if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(gens, i), gn) == 0) {
            rc = E_OK;
            goto out;
        }
    if (sk_GENERAL_NAME_push(gens, gn) <= 0)
        goto out;
    gn = NULL;
    rc = E_OK;
out:
    GENERAL_NAME_free(gn);
    return rc;
}

/* localhost, both loopbacks, the listen host and, when it is a usable DNS name,
 * the machine's own name (so https://<hostname>:port works from the LAN). */
static int
san_add(X509 *x, const struct host *h)
{
    GENERAL_NAMES *gens = NULL;
    char           self[HOST_MAX + 2] = {0};
    int            rc = E_INTERNAL;

    gens = sk_GENERAL_NAME_new_null();
    if (gens == NULL || san_push(gens, false, "localhost") != E_OK ||
        san_push(gens, true, "127.0.0.1") != E_OK || san_push(gens, true, "::1") != E_OK ||
        san_push(gens, h->is_ip, h->name) != E_OK)
        goto out;
    if (gethostname(self, sizeof(self) - 1) == 0 && dns_name_valid(self) &&
        san_push(gens, false, self) != E_OK)
        goto out;
    if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_REPLACE) != 1)
        goto out;
    rc = E_OK;
out:
    GENERAL_NAMES_free(gens);
    return rc;
}

static int
leaf_new(X509 *ca, EVP_PKEY *ca_key, const struct host *h, EVP_PKEY **key, X509 **crt)
{
    X509_NAME *name = NULL;
    int        rc = E_INTERNAL;

    *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    /* A CN is limited to 64 characters; the SANs are what clients check anyway. */
    name = name_new(strlen(h->name) <= CN_MAX ? h->name : "Keyward", NULL);
    if (*key == NULL || name == NULL)
        goto out;
    *crt = cert_base(*key, name, X509_get_subject_name(ca), LEAF_DAYS);
    if (*crt == NULL || ext_add(*crt, ca, NID_basic_constraints, "critical,CA:FALSE") != E_OK ||
        ext_add(*crt, ca, NID_key_usage, "critical,digitalSignature") != E_OK ||
        ext_add(*crt, ca, NID_ext_key_usage, "serverAuth") != E_OK ||
        ext_add(*crt, ca, NID_subject_key_identifier, "hash") != E_OK ||
        ext_add(*crt, ca, NID_authority_key_identifier, "keyid:always") != E_OK ||
        san_add(*crt, h) != E_OK || X509_sign(*crt, ca_key, EVP_sha256()) <= 0)
        goto out;
    rc = E_OK;
out:
    X509_NAME_free(name);
    return rc;
}

static bool
covers_host(X509 *x, const struct host *h)
{
    if (h->is_ip)
        return X509_check_ip_asc(x, h->name, 0) == 1;
    return X509_check_host(x, h->name, 0,
                           X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                           NULL) == 1;
}

/* Still good: our key, signed by the current CA (also the one bundled after it),
 * more than 30 days left, covering the listen host. Anything else is re-issued. */
static bool
leaf_usable(const struct buf *pem, EVP_PKEY *key, X509 *ca, const struct host *h)
{
    X509     *leaf = pem_cert(pem, 0), *chain = pem_cert(pem, 1);
    EVP_PKEY *ca_pub = X509_get0_pubkey(ca);
    time_t    limit = time(NULL) + RENEW_S;
    bool      ok;

    ok = leaf != NULL && chain != NULL && ca_pub != NULL && X509_cmp(chain, ca) == 0 &&
         X509_check_private_key(leaf, key) == 1 && X509_check_issued(ca, leaf) == X509_V_OK &&
         X509_verify(leaf, ca_pub) == 1 &&
         X509_cmp_time(X509_get0_notAfter(leaf), &limit) > 0 && covers_host(leaf, h);
    X509_free(leaf);
    X509_free(chain);
    return ok;
}

/* ---- the two halves --------------------------------------------------------- */

static int
ca_create(const struct paths *p, struct tls_files *out, X509 **crt, EVP_PKEY **key,
          struct errbuf *eb)
{
    struct buf kpem;
    int        rc;

    buf_init(&kpem, FILE_MAX);
    buf_reset(&out->ca_pem);
    if (ca_new(key, crt) != E_OK || key_to_pem(*key, &kpem) != E_OK ||
        cert_to_pem(*crt, &out->ca_pem) != E_OK) {
        rc = errbuf_set(eb, E_INTERNAL, "tls: cannot create the local CA");
        goto out;
    }
    rc = file_write_atomic(p->ca_key, buf_str(&kpem), 0600, eb);
    if (rc == E_OK)
        rc = file_write_atomic(p->ca, buf_str(&out->ca_pem), 0644, eb);
out:
    buf_wipe(&kpem);
    return rc;
}

static int
ca_load(const struct paths *p, struct tls_files *out, X509 **crt, EVP_PKEY **key,
        struct errbuf *eb)
{
    struct buf kpem;
    bool       missing;
    int        rc;

    rc = file_read_all(p->ca, &out->ca_pem, &missing, eb);
    if (rc != E_OK || missing)
        return rc != E_OK ? rc : ca_create(p, out, crt, key, eb);
    buf_init(&kpem, FILE_MAX);
    *crt = pem_cert(&out->ca_pem, 0);
    if (*crt == NULL) {
        rc = errbuf_set(eb, E_INTERNAL, "tls: %s is not a PEM certificate", p->ca);
        goto out;
    }
    rc = file_read_all(p->ca_key, &kpem, &missing, eb);
    if (rc != E_OK)
        goto out;
    *key = missing ? NULL : pem_key(&kpem);
    if (*key == NULL)
        rc = errbuf_set(eb, E_INTERNAL, "tls: %s is %s", p->ca_key,
                        missing ? "missing" : "not a PEM private key");
    else if (X509_check_private_key(*crt, *key) != 1)
        rc = errbuf_set(eb, E_INTERNAL, "tls: %s does not match %s", p->ca_key, p->ca);
    else if (X509_check_ca(*crt) < 1)
        rc = errbuf_set(eb, E_INTERNAL, "tls: %s is not a CA certificate", p->ca);
    else if (X509_cmp_current_time(X509_get0_notAfter(*crt)) <= 0)
        rc = errbuf_set(eb, E_INTERNAL, "tls: %s has expired; move %s aside to make a new CA",
                        p->ca, p->dir);
out:
    buf_wipe(&kpem);
    return rc;
}

static int
server_issue(const struct paths *p, const struct host *h, X509 *ca, EVP_PKEY *ca_key,
             struct tls_files *out, struct errbuf *eb)
{
    EVP_PKEY *key = NULL;
    X509     *leaf = NULL;
    int       rc;

    buf_reset(&out->cert_pem);
    buf_clear_secret(&out->key_pem);
    if (leaf_new(ca, ca_key, h, &key, &leaf) != E_OK ||
        key_to_pem(key, &out->key_pem) != E_OK || cert_to_pem(leaf, &out->cert_pem) != E_OK ||
        buf_append(&out->cert_pem, out->ca_pem.p, out->ca_pem.len) != E_OK) {
        rc = errbuf_set(eb, E_INTERNAL, "tls: cannot issue the server certificate");
        goto out;
    }
    rc = file_write_atomic(p->srv_key, buf_str(&out->key_pem), 0600, eb);
    if (rc == E_OK)
        rc = file_write_atomic(p->srv, buf_str(&out->cert_pem), 0644, eb);
out:
    EVP_PKEY_free(key);
    X509_free(leaf);
    return rc;
}

static int
server_load(const struct paths *p, const struct host *h, X509 *ca, EVP_PKEY *ca_key,
            struct tls_files *out, struct errbuf *eb)
{
    EVP_PKEY *key = NULL;
    X509     *leaf = NULL;
    bool      no_crt, no_key;
    int       rc;

    rc = file_read_all(p->srv, &out->cert_pem, &no_crt, eb);
    if (rc == E_OK)
        rc = file_read_all(p->srv_key, &out->key_pem, &no_key, eb);
    if (rc != E_OK)
        return rc;
    if (no_crt || no_key) /* a crash between writing the key and the certificate */
        return server_issue(p, h, ca, ca_key, out, eb);
    leaf = pem_cert(&out->cert_pem, 0);
    key = pem_key(&out->key_pem);
    if (leaf == NULL)
        rc = errbuf_set(eb, E_INTERNAL, "tls: %s is not a PEM certificate", p->srv);
    else if (key == NULL)
        rc = errbuf_set(eb, E_INTERNAL, "tls: %s is not a PEM private key", p->srv_key);
    else if (!leaf_usable(&out->cert_pem, key, ca, h))
        rc = server_issue(p, h, ca, ca_key, out, eb);
    EVP_PKEY_free(key);
    X509_free(leaf);
    return rc;
}

/* ---- public ----------------------------------------------------------------- */

static void
files_init(struct tls_files *f)
{
    buf_init(&f->cert_pem, FILE_MAX);
    buf_init(&f->key_pem, FILE_MAX);
    buf_init(&f->ca_pem, FILE_MAX);
}

int
tlsboot_ensure(const char *datadir, const char *host, struct tls_files *out, struct errbuf *eb)
{
    struct paths *p = NULL;
    struct host   h;
    X509         *ca = NULL;
    EVP_PKEY     *ca_key = NULL;
    int           rc;

    files_init(out);
    p = calloc(1, sizeof(*p)); /* five PATH_MAX buffers: too big for a stack frame */
    if (p == NULL) {
        rc = errbuf_set(eb, E_INTERNAL, "tls: out of memory");
        goto out;
    }
    rc = host_parse(host, &h, eb);
    if (rc == E_OK)
        rc = paths_init(p, datadir, eb);
    if (rc == E_OK)
        rc = dir_ensure(p->dir, eb);
    if (rc == E_OK)
        rc = ca_load(p, out, &ca, &ca_key, eb);
    if (rc == E_OK)
        rc = server_load(p, &h, ca, ca_key, out, eb);
out:
    if (rc != E_OK) {
        tls_files_free(out);
        ERR_clear_error();
    }
    EVP_PKEY_free(ca_key);
    X509_free(ca);
    free(p);
    return rc;
}

void
tls_files_free(struct tls_files *f)
{
    buf_free(&f->cert_pem);
    buf_wipe(&f->key_pem);
    buf_free(&f->ca_pem);
    files_init(f); /* safe to free again, or to reuse */
}
