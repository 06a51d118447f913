/* peer.c - see peer.h. */
#include "peer.h"

#include <limits.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../pki/certutil.h"

#define NAME_LEN_MAX 1024 /* an O holds a namespace path: at most 1024 bytes */
#define DER_MAX      (64 * 1024)

_Static_assert(sizeof(((struct peer_cert *)0)->serial) == PKI_SERIAL_HEX,
               "peer_cert.serial holds pki_serial_hex");

/* Built once by peer_init, then only read: X509_verify_cert may share it
 * between threads. */
static X509_STORE *store;

int
peer_init(const char *ca_pem, struct errbuf *eb)
{
    BIO               *bio = NULL;
    X509              *x = NULL;
    X509_VERIFY_PARAM *vp;
    int                n = 0, rc = E_INTERNAL;

    peer_fini();
    store = X509_STORE_new();
    bio = BIO_new_mem_buf(ca_pem, -1);
    if (store == NULL || bio == NULL)
        goto out;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, x) != 1)
            goto out;
        X509_free(x);
        x = NULL;
        n++;
    }
    /* Strict X.509 (RFC 5280 profile checks) and the TLS client purpose: a
     * certificate without extendedKeyUsage clientAuth does not verify. */
    vp = X509_STORE_get0_param(store);
    if (n > 0 && X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_X509_STRICT) == 1 &&
        X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_CLIENT) == 1)
        rc = E_OK;
out:
    X509_free(x);
    BIO_free(bio);
    ERR_clear_error();
    if (rc != E_OK) {
        peer_fini();
        return errbuf_set(eb, E_INTERNAL, "tls: the client CA cannot be loaded");
    }
    return E_OK;
}

void
peer_fini(void)
{
    X509_STORE_free(store);
    store = NULL;
}

/* ---- names ------------------------------------------------------------------ */

/* The entry's text as UTF-8 in `a`, or NULL when it is not clean text. */
static const char *
entry_text(struct arena *a, const X509_NAME_ENTRY *e)
{
    unsigned char *u = NULL;
    int            n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e));
    const char    *s = NULL;

    if (n >= 0 && n <= NAME_LEN_MAX && memchr(u, '\0', (size_t)n) == NULL &&
        utf8_valid((const char *)u, (size_t)n))
        s = arena_strndup(a, (const char *)u, (size_t)n);
    OPENSSL_free(u);
    return s;
}

/* The first entry of type `nid`: "" when there is none, NULL when unreadable. */
static const char *
first_text(struct arena *a, const X509_NAME *name, int nid)
{
    int i = X509_NAME_get_index_by_NID(name, nid, -1);

    return i < 0 ? "" : entry_text(a, X509_NAME_get_entry(name, i));
}

static bool
read_names(struct arena *a, X509 *x, struct peer_cert *p)
{
    const X509_NAME *name = X509_get_subject_name(x);
    int              i = -1;

    p->cn = first_text(a, name, NID_commonName);
    p->o = first_text(a, name, NID_organizationName);
    if (p->cn == NULL || p->o == NULL)
        return false;
    while ((i = X509_NAME_get_index_by_NID(name, NID_organizationalUnitName, i)) >= 0) {
        if (p->nou == PEER_OU_MAX)
            return false;
        if ((p->ou[p->nou++] = entry_text(a, X509_NAME_get_entry(name, i))) == NULL)
            return false;
    }
    return true;
}

/* ---- verification ----------------------------------------------------------- */

static const char *
verify(X509 *x)
{
    X509_STORE_CTX *ctx = NULL;
    const char     *why = "cannot verify";

    if (store == NULL || (ctx = X509_STORE_CTX_new()) == NULL ||
        X509_STORE_CTX_init(ctx, store, x, NULL) != 1)
        goto out;
    if (X509_verify_cert(ctx) == 1)
        why = NULL;
    else
        why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
out:
    X509_STORE_CTX_free(ctx);
    return why;
}

const struct peer_cert *
peer_check(struct arena *a, const unsigned char *der, size_t len)
{
    struct peer_cert    *p = arena_calloc(a, 1, sizeof *p);
    const unsigned char *q = der;
    X509                *x = NULL;

    p->cn = p->o = "";
    p->reason = "not a certificate";
    if (der == NULL || len == 0 || len > DER_MAX ||
        (x = d2i_X509(NULL, &q, (long)len)) == NULL || q != der + len)
        goto out;
    p->not_after_ms = pki_time_ms(X509_get0_notAfter(x));
    if ((p->reason = verify(x)) != NULL)
        goto out;
    p->reason = "unreadable names or serial number";
    if (!read_names(a, x, p) || pki_serial_hex(x, p->serial) != E_OK || p->not_after_ms < 0)
        goto out;
    p->reason = NULL;
    p->verified = true;
out:
    if (!p->verified) { /* names of a certificate that did not verify mean nothing */
        p->cn = p->o = "";
        p->nou = 0;
    }
    X509_free(x);
    ERR_clear_error();
    return p;
}
