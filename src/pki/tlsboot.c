/* tlsboot.c - the console's own TLS material: two CAs and a server certificate.
 *
 * Files under <datadir>/tls:
 *   ca.pem         the TLS CA's certificate, 0644 (handed to clients)
 *   client-ca.pem  the client CA's certificate, 0644
 *   server.pem     leaf certificate followed by the CA certificate, 0644
 *   server.key     leaf private key, 0600 (unencrypted PKCS#8 PEM)
 * and, from versions before the CAs moved into the store, ca.key and
 * client-ca.key: imported once, then overwritten and removed.
 *
 * The CAs' keys live in the store, sealed (see tlsboot.h). The server's key
 * stays a file: it belongs to this server alone, is replaced whenever the
 * certificate is re-issued, and whoever can read the data directory can read
 * the master key as well, so sealing it would add nothing. Every file is
 * written atomically (temporary file, fsync, rename), the key before its
 * certificate, so a crash leaves either the old pair or a certificate-less
 * key, never a certificate whose key is missing.
 */
#include "tlsboot.h"

#include "../core/fileio.h"
#include "../core/log.h"
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

#define FILE_MAX   (256 * 1024) /* PEM files here are a few KiB */
#define CA_DAYS    3652         /* ten years */
#define LEAF_DAYS  397          /* the CA/Browser Forum ceiling, so browsers accept it */
#define RENEW_S    (30L * 86400)
#define BACKDATE_S 3600 /* tolerate clients whose clocks run a little slow */
#define CN_MAX     64   /* ub-common-name (RFC 5280) */
#define HOST_MAX   253  /* longest DNS name */

struct paths {
    char dir[PATH_MAX];
    char ca[PATH_MAX];
    char ca_key[PATH_MAX];
    char srv[PATH_MAX];
    char srv_key[PATH_MAX];
    char cca[PATH_MAX];
    char cca_key[PATH_MAX];
};

/* One CA: its name, the file of its certificate and the old key file. */
struct ca_files {
    const char *name, *cn;
    const char *crt, *key, *dir;
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
        return errbuf_set(eb, E_INTERNAL, "tls: host %.64s... is longer than %d bytes", in,
                          HOST_MAX);
    memcpy(h->name, in, len);
    h->name[len] = '\0';
    h->is_ip = ip_literal(h->name);
    if (!h->is_ip && !dns_name_valid(h->name))
        return errbuf_set(eb, E_INTERNAL,
                          "tls: host \"%.64s\" (of --listen or public_url) is neither an IP "
                          "address nor a DNS name",
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

/* localhost, both loopbacks, the listen host, public_url's host (h[1], when
 * set) and, when it is a usable DNS name, the machine's own name (so
 * https://<hostname>:port works from the LAN). */
static int
san_add(X509 *x, const struct host h[2])
{
    GENERAL_NAMES *gens = NULL;
    char           self[HOST_MAX + 2] = { 0 };
    int            rc = E_INTERNAL;

    gens = sk_GENERAL_NAME_new_null();
    if (gens == NULL || san_push(gens, false, "localhost") != E_OK ||
        san_push(gens, true, "127.0.0.1") != E_OK || san_push(gens, true, "::1") != E_OK ||
        san_push(gens, h[0].is_ip, h[0].name) != E_OK ||
        (h[1].name[0] != '\0' && san_push(gens, h[1].is_ip, h[1].name) != E_OK))
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
leaf_new(const struct ca *ca, const struct host h[2], EVP_PKEY **key, X509 **crt,
         struct errbuf *eb)
{
    X509_NAME *name = NULL;
    int        rc = E_INTERNAL;

    *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    /* A CN is limited to 64 characters; the SANs are what clients check anyway. */
    name = name_new(strlen(h[0].name) <= CN_MAX ? h[0].name : "Keyward", NULL);
    if (*key == NULL || name == NULL)
        goto out;
    *crt = cert_base(*key, name, X509_get_subject_name(pki_ca_cert(ca)), LEAF_DAYS);
    if (*crt == NULL ||
        pki_ext_add(*crt, *crt, NID_basic_constraints, "critical,CA:FALSE") != E_OK ||
        pki_ext_add(*crt, *crt, NID_key_usage, "critical,digitalSignature") != E_OK ||
        pki_ext_add(*crt, *crt, NID_ext_key_usage, "serverAuth") != E_OK ||
        pki_ext_add(*crt, *crt, NID_subject_key_identifier, "hash") != E_OK ||
        san_add(*crt, h) != E_OK || pki_ca_sign_cert(ca, *crt, eb) != E_OK)
        goto out;
    rc = E_OK;
out:
    X509_NAME_free(name);
    return rc;
}

static bool
covers_one(X509 *x, const struct host *h)
{
    if (h->is_ip)
        return X509_check_ip_asc(x, h->name, 0) == 1;
    return X509_check_host(x, h->name, 0,
                           X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                           NULL) == 1;
}

static bool
covers_hosts(X509 *x, const struct host h[2])
{
    return covers_one(x, &h[0]) && (h[1].name[0] == '\0' || covers_one(x, &h[1]));
}

/* Still good: our key, signed by the current CA (also the one bundled after it),
 * more than 30 days left, covering the listen host and public_url's. Anything
 * else is re-issued. */
static bool
leaf_usable(const struct buf *pem, EVP_PKEY *key, X509 *ca, const struct host h[2])
{
    X509     *leaf = pki_pem_cert(pem, 0), *chain = pki_pem_cert(pem, 1);
    EVP_PKEY *ca_pub = X509_get0_pubkey(ca);
    time_t    limit = time(NULL) + RENEW_S;
    bool      ok;

    ok = leaf != NULL && chain != NULL && ca_pub != NULL && X509_cmp(chain, ca) == 0 &&
         X509_check_private_key(leaf, key) == 1 && X509_check_issued(ca, leaf) == X509_V_OK &&
         X509_verify(leaf, ca_pub) == 1 &&
         X509_cmp_time(X509_get0_notAfter(leaf), &limit) > 0 && covers_hosts(leaf, h);
    X509_free(leaf);
    X509_free(chain);
    return ok;
}

/* ---- the CAs ------------------------------------------------------------------ */

/* Overwrite a key file with zeros, then remove it. On journalling or
 * copy-on-write file systems and SSDs the old blocks may survive; the key is
 * in any case no longer where the console looks. */
static int
key_file_remove(const char *path, size_t len, struct errbuf *eb)
{
    char zero[512] = { 0 };
    int  fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    int  rc = E_OK;

    if (fd >= 0) {
        for (size_t done = 0; done < len && rc == E_OK; done += sizeof(zero))
            if (fd_write_all(fd, zero, sizeof(zero)) != 0)
                rc = E_INTERNAL;
        if (rc == E_OK && fsync(fd) != 0)
            rc = E_INTERNAL;
        close(fd);
    }
    if (unlink(path) != 0 && errno != ENOENT)
        return errbuf_set(eb, E_INTERNAL, "tls: cannot remove %s: %s", path, strerror(errno));
    dir_sync_parent(path);
    return E_OK; /* a failed overwrite still leaves the file removed */
}

/* The CA of the vault, or E_NOTFOUND. */
static int
ca_get(const struct pki_vault *v, const struct ca_files *f, struct ca **out, struct errbuf *eb)
{
    struct arena *a = arena_new(4096);
    struct str    crt, sealed;
    int           rc;

    rc = v->get(v->ctx, f->name, a, &crt, &sealed);
    if (rc == E_OK)
        rc = pki_ca_open(f->name, crt, sealed, v->master, out, eb);
    else if (rc != E_NOTFOUND)
        errbuf_set(eb, rc, "tls: cannot read the %s from the store", f->cn);
    arena_free(a);
    return rc;
}

/* The CA from the files of an older version, or a new one. */
static int
ca_make(const struct ca_files *f, const struct buf *crt, bool no_crt, const struct buf *key,
        bool no_key, struct ca **out, struct errbuf *eb)
{
    int rc;

    if (no_crt && no_key)
        return pki_ca_new(f->name, f->cn, out, eb);
    if (no_key)
        return errbuf_set(eb, E_INTERNAL,
                          "tls: %s exists but its key is neither in %s nor in the store; "
                          "move %s aside to make a new CA",
                          f->crt, f->key, f->dir);
    if (no_crt)
        return errbuf_set(eb, E_INTERNAL, "tls: %s exists without %s", f->key, f->crt);
    rc = pki_ca_import(f->name, buf_str(crt), buf_str(key), out, eb);
    if (rc != E_OK) {
        char why[sizeof(eb->msg)];

        memcpy(why, eb->msg, sizeof(why));
        errbuf_set(eb, rc, "tls: %s and %s: %s", f->crt, f->key, why);
    }
    return rc;
}

/* Store a CA made here; when another server stored one first, take that one. */
static int
ca_put(const struct pki_vault *v, const struct ca_files *f, struct ca **ca, struct errbuf *eb)
{
    struct buf sealed;
    int        rc;

    buf_init(&sealed, 16 * 1024);
    rc = pki_ca_seal(*ca, v->master, &sealed);
    if (rc == E_OK)
        rc = v->put_new(v->ctx, f->name, str_c(pki_ca_pem(*ca)), buf_str(&sealed));
    buf_free(&sealed);
    if (rc == E_DUPLICATE) { /* another server was first: use its CA */
        pki_ca_free(*ca);
        *ca = NULL;
        rc = ca_get(v, f, ca, eb);
        return rc != E_NOTFOUND ? rc
                                : errbuf_set(eb, E_INTERNAL, "tls: the %s vanished", f->cn);
    }
    return rc == E_OK ? E_OK : errbuf_set(eb, rc, "tls: cannot store the %s", f->cn);
}

/* The CA named by f: from the vault; else imported from old files, or made,
 * and stored. Then no key file is left, and the certificate file is current. */
static int
ca_ensure(const struct pki_vault *v, const struct ca_files *f, struct buf *crt_pem,
          struct ca **out, struct errbuf *eb)
{
    struct ca *ca = NULL;
    struct buf crt, key;
    bool       no_crt = true, no_key = true;
    int        rc;

    *out = NULL;
    buf_init(&crt, FILE_MAX);
    buf_init(&key, FILE_MAX);
    rc = file_read_all(f->key, &key, &no_key, eb);
    if (rc == E_OK)
        rc = ca_get(v, f, &ca, eb);
    if (rc == E_NOTFOUND) {
        rc = file_read_all(f->crt, &crt, &no_crt, eb);
        if (rc == E_OK)
            rc = ca_make(f, &crt, no_crt, &key, no_key, &ca, eb);
        if (rc == E_OK)
            rc = ca_put(v, f, &ca, eb);
    }
    if (rc != E_OK)
        goto out;
    /* The store's copy is the CA; a key file left over (imported, or a crash
     * before its removal) must be that CA's, or someone should look at it. */
    if (!no_key) {
        if (!pki_ca_key_is(ca, buf_str(&key))) {
            rc = errbuf_set(eb, E_INTERNAL,
                            "tls: %s is not the key of the %s in the store; move it aside",
                            f->key, f->cn);
            goto out;
        }
        if ((rc = key_file_remove(f->key, key.len, eb)) != E_OK)
            goto out;
        log_info("tls: the %s's key is now sealed in the store; %s removed", f->cn, f->key);
    }
    buf_reset(&crt);
    if ((rc = file_read_all(f->crt, &crt, &no_crt, eb)) != E_OK)
        goto out;
    if (no_crt || strcmp(buf_cstr(&crt), pki_ca_pem(ca)) != 0)
        rc = file_write_atomic(f->crt, str_c(pki_ca_pem(ca)), 0644, eb);
    if (rc == E_OK)
        rc = buf_append(crt_pem, pki_ca_pem(ca), strlen(pki_ca_pem(ca)));
    if (rc != E_OK)
        goto out;
    *out = ca;
    ca = NULL;
out:
    pki_ca_free(ca);
    buf_wipe(&key);
    buf_free(&crt);
    return rc;
}

static int
server_issue(const struct paths *p, const struct host h[2], const struct ca *ca,
             struct tls_files *out, struct errbuf *eb)
{
    EVP_PKEY *key = NULL;
    X509     *leaf = NULL;
    int       rc;

    buf_reset(&out->cert_pem);
    buf_clear_secret(&out->key_pem);
    if (leaf_new(ca, h, &key, &leaf, eb) != E_OK || pki_key_pem(key, &out->key_pem) != E_OK ||
        pki_cert_pem(leaf, &out->cert_pem) != E_OK ||
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
server_load(const struct paths *p, const struct host h[2], const struct ca *ca,
            struct tls_files *out, struct errbuf *eb)
{
    X509     *ca_crt = pki_pem_cert(&out->ca_pem, 0);
    EVP_PKEY *key = NULL;
    X509     *leaf = NULL;
    bool      no_crt, no_key;
    int       rc;

    rc = file_read_all(p->srv, &out->cert_pem, &no_crt, eb);
    if (rc == E_OK)
        rc = file_read_all(p->srv_key, &out->key_pem, &no_key, eb);
    if (rc != E_OK)
        goto out;
    if (no_crt || no_key) { /* a crash between writing the key and the certificate */
        rc = server_issue(p, h, ca, out, eb);
        goto out;
    }
    leaf = pki_pem_cert(&out->cert_pem, 0);
    key = pki_pem_key(&out->key_pem);
    if (leaf == NULL)
        rc = errbuf_set(eb, E_INTERNAL, "tls: %s is not a PEM certificate", p->srv);
    else if (key == NULL)
        rc = errbuf_set(eb, E_INTERNAL, "tls: %s is not a PEM private key", p->srv_key);
    else if (ca_crt == NULL || !leaf_usable(&out->cert_pem, key, ca_crt, h))
        rc = server_issue(p, h, ca, out, eb);
out:
    X509_free(ca_crt);
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
}

/* The operator's own key may be read by a group (Debian's ssl-cert), not by
 * every user; and only a user the server trusts may write it (file_trusted),
 * judged by the stat of the file read. */
static int
own_key_check(const char *path, const struct stat *st, struct errbuf *eb)
{
    if (st->st_mode & S_IROTH)
        return errbuf_set(eb, E_FORBIDDEN,
                          "tls: tls_key %s is readable by every user: chmod o-r %s", path,
                          path);
    return file_trusted(path, st, eb);
}

static int
own_read(const char *path, const char *what, struct buf *out, struct errbuf *eb)
{
    struct stat st;
    int         rc = file_read_regular(path, out, &st, eb);

    if (rc == E_NOTFOUND)
        return errbuf_set(eb, E_INTERNAL, "tls: %s %s does not exist", what, path);
    if (rc != E_OK) {
        char msg[sizeof eb->msg];
        memcpy(msg, eb->msg, sizeof msg);
        return errbuf_set(eb, rc, "tls: %s: %s", what, msg);
    }
    return strcmp(what, "tls_key") == 0 ? own_key_check(path, &st, eb) : E_OK;
}

/* The operator's certificate chain and key (tls_cert, tls_key), as they are:
 * never written; the key must be the certificate's. One that has expired or
 * soon will is served all the same, and said in the log. */
static int
own_load(const struct tls_source *src, struct tls_files *out, struct errbuf *eb)
{
    X509     *leaf = NULL;
    EVP_PKEY *key = NULL;
    time_t    limit = time(NULL) + RENEW_S;
    int       rc = own_read(src->own_key, "tls_key", &out->key_pem, eb);

    if (rc == E_OK)
        rc = own_read(src->own_cert, "tls_cert", &out->cert_pem, eb);
    if (rc != E_OK)
        goto out;
    if ((leaf = pki_pem_cert(&out->cert_pem, 0)) == NULL)
        rc = errbuf_set(eb, E_INTERNAL, "tls: tls_cert %s holds no PEM certificate",
                        src->own_cert);
    else if ((key = pki_pem_key(&out->key_pem)) == NULL)
        rc = errbuf_set(eb, E_INTERNAL, "tls: tls_key %s holds no PEM private key%s",
                        src->own_key,
                        strstr(buf_cstr(&out->key_pem), "ENCRYPTED") != NULL
                            ? " without a passphrase (decrypt it: openssl pkey -in KEY -out "
                              "KEY.plain)"
                            : "");
    else if (X509_check_private_key(leaf, key) != 1)
        rc = errbuf_set(eb, E_INTERNAL, "tls: tls_key %s is not the key of tls_cert %s",
                        src->own_key, src->own_cert);
    else if (X509_cmp_time(X509_get0_notAfter(leaf), &limit) <= 0)
        log_warn("tls: tls_cert %s expires within 30 days or has expired: replace it, then "
                 "send SIGHUP",
                 src->own_cert);
out:
    X509_free(leaf);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

/* The listen host and public_url's, which the console's own certificate
 * must cover. */
static int
hosts_parse(const struct tls_source *src, struct host h[2], struct errbuf *eb)
{
    int rc = host_parse(src->host, &h[0], eb);

    if (rc == E_OK && src->public_host != NULL && src->public_host[0] != '\0' &&
        strcmp(src->public_host, h[0].name) != 0)
        rc = host_parse(src->public_host, &h[1], eb);
    return rc;
}

/* The console's own server certificate under datadir/tls (hosts checked,
 * renewed when due). */
static int
console_load(const struct tls_source *src, const struct ca *tls_ca, struct tls_files *out,
             struct errbuf *eb)
{
    struct paths *p = calloc(1, sizeof(*p)); /* PATH_MAX buffers: too big for a stack frame */
    struct host   h[2] = { 0 };
    int           rc;

    if (p == NULL)
        return errbuf_set(eb, E_INTERNAL, "tls: out of memory");
    rc = hosts_parse(src, h, eb);
    if (rc == E_OK)
        rc = paths_init(p, src->datadir, eb);
    if (rc == E_OK)
        rc = server_load(p, h, tls_ca, out, eb);
    free(p);
    return rc;
}

int
tlsboot_server(const struct tls_source *src, const struct ca *tls_ca,
               const struct tls_files *cas, struct tls_files *out, struct errbuf *eb)
{
    bool own = src->own_cert != NULL && src->own_cert[0] != '\0';
    int  rc = E_OK;

    if (out != cas) {
        files_init(out);
        if (buf_append(&out->ca_pem, cas->ca_pem.p, cas->ca_pem.len) != E_OK ||
            buf_append(&out->client_ca_pem, cas->client_ca_pem.p, cas->client_ca_pem.len) !=
                E_OK)
            rc = errbuf_set(eb, E_INTERNAL, "tls: out of memory");
    }
    buf_reset(&out->cert_pem);
    buf_clear_secret(&out->key_pem);
    if (rc == E_OK)
        rc = own ? own_load(src, out, eb) : console_load(src, tls_ca, out, eb);
    if (rc != E_OK && out != cas)
        tls_files_free(out);
    return rc;
}

int
tlsboot_cas(const char *datadir, const struct pki_vault *v, struct tls_files *out,
            struct ca **tls_ca, struct ca **client_ca, struct errbuf *eb)
{
    struct paths *p = NULL;
    int           rc;

    files_init(out);
    *tls_ca = *client_ca = NULL;
    p = calloc(1, sizeof(*p)); /* seven PATH_MAX buffers: too big for a stack frame */
    if (p == NULL) {
        rc = errbuf_set(eb, E_INTERNAL, "tls: out of memory");
        goto out;
    }
    rc = paths_init(p, datadir, eb);
    if (rc == E_OK)
        rc = dir_ensure(p->dir, eb);
    if (rc == E_OK) {
        const struct ca_files f = { PKI_CA_TLS, "Keyward Local CA", p->ca, p->ca_key, p->dir };
        rc = ca_ensure(v, &f, &out->ca_pem, tls_ca, eb);
    }
    if (rc == E_OK) {
        const struct ca_files f = { PKI_CA_CLIENT, "Keyward Client CA", p->cca, p->cca_key,
                                    p->dir };
        rc = ca_ensure(v, &f, &out->client_ca_pem, client_ca, eb);
    }
out:
    if (rc != E_OK) {
        tls_files_free(out);
        pki_ca_free(*tls_ca);
        pki_ca_free(*client_ca);
        *tls_ca = *client_ca = NULL;
        ERR_clear_error();
    }
    free(p);
    return rc;
}

int
tlsboot_ensure(const struct tls_source *src, const struct pki_vault *v, struct tls_files *out,
               struct ca **tls_ca, struct ca **client_ca, struct errbuf *eb)
{
    struct host h[2] = { 0 };
    int         rc = hosts_parse(src, h, eb); /* a bad one makes nothing */

    if (rc != E_OK) {
        files_init(out);
        *tls_ca = *client_ca = NULL;
        return rc;
    }
    rc = tlsboot_cas(src->datadir, v, out, tls_ca, client_ca, eb);
    if (rc == E_OK && (rc = tlsboot_server(src, *tls_ca, out, out, eb)) != E_OK) {
        tls_files_free(out);
        pki_ca_free(*tls_ca);
        pki_ca_free(*client_ca);
        *tls_ca = *client_ca = NULL;
    }
    return rc;
}

void
tls_files_free(struct tls_files *f)
{
    buf_free(&f->cert_pem);
    buf_wipe(&f->key_pem);
    buf_free(&f->ca_pem);
    buf_free(&f->client_ca_pem);
    files_init(f); /* safe to free again, or to reuse */
}
