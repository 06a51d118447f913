/* tlsboot.c - the console's own TLS material: a local CA and a server certificate.
 *
 * Files under <datadir>/tls:
 *   ca.pem      CA certificate, 0644 (handed to clients)
 *   ca.key      CA private key, 0600
 *   server.pem  leaf certificate followed by the CA certificate, 0644
 *   server.key  leaf private key, 0600
 *   client-ca.pem  the CA of app credentials (TLS client certificates), 0644
 *   client-ca.key  its private key, 0600; only pki/signer.c signs with it
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
#include "certutil.h"

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
#define CN_MAX 64    /* ub-common-name (RFC 5280) */
#define HOST_MAX 253 /* longest DNS name */

struct paths {
    char dir[PATH_MAX];
    char ca[PATH_MAX];
    char ca_key[PATH_MAX];
    char srv[PATH_MAX];
    char srv_key[PATH_MAX];
    char cca[PATH_MAX];
    char cca_key[PATH_MAX];
};

/* One CA: its two files and its name. */
struct ca_files {
    const char *crt, *key, *dir;
    const char *cn;
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
        path_join(p->srv_key, p->dir, "server.key", eb) != E_OK ||
        path_join(p->cca, p->dir, "client-ca.pem", eb) != E_OK ||
        path_join(p->cca_key, p->dir, "client-ca.key", eb) != E_OK)
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

/* Empty a buffer that may have held a private key, keeping it usable. */
static void
buf_clear_secret(struct buf *b)
{
    if (b->p != NULL)
        OPENSSL_cleanse(b->p, b->len);
    buf_reset(b);
}

/* ---- certificates ----------------------------------------------------------- */

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

    if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 || pki_serial_random(x) != E_OK ||
        X509_set_subject_name(x, subject) != 1 || X509_set_issuer_name(x, issuer) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_S) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) == NULL ||
        X509_set_pubkey(x, key) != 1) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int
ca_new(const char *cn, EVP_PKEY **key, X509 **crt)
{
    X509_NAME *name = NULL;
    int        rc = E_INTERNAL;

    *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    name = name_new(cn, "Keyward");
    if (*key == NULL || name == NULL)
        goto out;
    *crt = cert_base(*key, name, name, CA_DAYS);
    if (*crt == NULL ||
        pki_ext_add(*crt, *crt, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != E_OK ||
        pki_ext_add(*crt, *crt, NID_key_usage, "critical,keyCertSign,cRLSign") != E_OK ||
        pki_ext_add(*crt, *crt, NID_subject_key_identifier, "hash") != E_OK ||
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
    if (*crt == NULL || pki_ext_add(*crt, ca, NID_basic_constraints, "critical,CA:FALSE") != E_OK ||
        pki_ext_add(*crt, ca, NID_key_usage, "critical,digitalSignature") != E_OK ||
        pki_ext_add(*crt, ca, NID_ext_key_usage, "serverAuth") != E_OK ||
        pki_ext_add(*crt, ca, NID_subject_key_identifier, "hash") != E_OK ||
        pki_ext_add(*crt, ca, NID_authority_key_identifier, "keyid:always") != E_OK ||
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
    X509     *leaf = pki_pem_cert(pem, 0), *chain = pki_pem_cert(pem, 1);
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

/* A new CA: key first, then the certificate (whose presence means complete).
 * Its PEMs are left in crt_pem and kpem. */
static int
ca_create(const struct ca_files *f, struct buf *crt_pem, struct buf *kpem, X509 **crt,
          EVP_PKEY **key, struct errbuf *eb)
{
    int rc;

    buf_reset(crt_pem);
    buf_clear_secret(kpem);
    if (ca_new(f->cn, key, crt) != E_OK || pki_key_pem(*key, kpem) != E_OK ||
        pki_cert_pem(*crt, crt_pem) != E_OK)
        return errbuf_set(eb, E_INTERNAL, "tls: cannot create the %s", f->cn);
    rc = file_write_atomic(f->key, buf_str(kpem), 0600, eb);
    if (rc == E_OK)
        rc = file_write_atomic(f->crt, buf_str(crt_pem), 0644, eb);
    return rc;
}

static int
ca_check(const struct ca_files *f, X509 *crt, EVP_PKEY *key, bool missing, struct errbuf *eb)
{
    if (key == NULL)
        return errbuf_set(eb, E_INTERNAL, "tls: %s is %s", f->key,
                          missing ? "missing" : "not a PEM private key");
    if (X509_check_private_key(crt, key) != 1)
        return errbuf_set(eb, E_INTERNAL, "tls: %s does not match %s", f->key, f->crt);
    if (X509_check_ca(crt) < 1)
        return errbuf_set(eb, E_INTERNAL, "tls: %s is not a CA certificate", f->crt);
    if (X509_cmp_current_time(X509_get0_notAfter(crt)) <= 0)
        return errbuf_set(eb, E_INTERNAL, "tls: %s has expired; move %s aside to make a new CA",
                          f->crt, f->dir);
    return E_OK;
}

/* Load the CA (creating it when its certificate is missing) into crt_pem and
 * kpem, checked: a CA, not expired, the key its own. */
static int
ca_load(const struct ca_files *f, struct buf *crt_pem, struct buf *kpem, X509 **crt,
        EVP_PKEY **key, struct errbuf *eb)
{
    bool missing;
    int  rc;

    rc = file_read_all(f->crt, crt_pem, &missing, eb);
    if (rc != E_OK || missing)
        return rc != E_OK ? rc : ca_create(f, crt_pem, kpem, crt, key, eb);
    *crt = pki_pem_cert(crt_pem, 0);
    if (*crt == NULL)
        return errbuf_set(eb, E_INTERNAL, "tls: %s is not a PEM certificate", f->crt);
    rc = file_read_all(f->key, kpem, &missing, eb);
    if (rc != E_OK)
        return rc;
    *key = missing ? NULL : pki_pem_key(kpem);
    return ca_check(f, *crt, *key, missing, eb);
}

/* The server CA: its key stays here, to issue the server certificate. */
static int
server_ca_load(const struct paths *p, struct tls_files *out, X509 **crt, EVP_PKEY **key,
               struct errbuf *eb)
{
    const struct ca_files f = { p->ca, p->ca_key, p->dir, "Keyward Local CA" };
    struct buf            kpem;
    int                   rc;

    buf_init(&kpem, FILE_MAX);
    rc = ca_load(&f, &out->ca_pem, &kpem, crt, key, eb);
    buf_wipe(&kpem);
    return rc;
}

/* The client CA: checked here, its key handed over as PEM (pki/signer.c parses
 * it and is the only user). */
static int
client_ca_load(const struct paths *p, struct tls_files *out, struct errbuf *eb)
{
    const struct ca_files f = { p->cca, p->cca_key, p->dir, "Keyward Client CA" };
    X509                 *crt = NULL;
    EVP_PKEY             *key = NULL;
    int                   rc;

    rc = ca_load(&f, &out->client_ca_pem, &out->client_ca_key_pem, &crt, &key, eb);
    EVP_PKEY_free(key);
    X509_free(crt);
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
        pki_key_pem(key, &out->key_pem) != E_OK || pki_cert_pem(leaf, &out->cert_pem) != E_OK ||
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
    leaf = pki_pem_cert(&out->cert_pem, 0);
    key = pki_pem_key(&out->key_pem);
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
    buf_init(&f->client_ca_pem, FILE_MAX);
    buf_init(&f->client_ca_key_pem, FILE_MAX);
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
    p = calloc(1, sizeof(*p)); /* seven PATH_MAX buffers: too big for a stack frame */
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
        rc = server_ca_load(p, out, &ca, &ca_key, eb);
    if (rc == E_OK)
        rc = client_ca_load(p, out, eb);
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
    buf_free(&f->client_ca_pem);
    buf_wipe(&f->client_ca_key_pem);
    files_init(f); /* safe to free again, or to reuse */
}
