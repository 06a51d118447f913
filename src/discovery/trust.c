/* trust.c - what a discovered chain is validated against (API.md 7.5):
 * Debian's CA bundle, read by its path whatever the environment says
 * (SSL_CERT_FILE must not widen or narrow it); the console's CAs and the CA
 * certificates imported into the discovery's namespace or its ancestors
 * (inventory certificates that are CAs and were not DISCOVERED: a server's
 * own home-made chain must not vouch for itself). The chain a server presents
 * is only untrusted material between its leaf and an anchor. */
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../core/digest.h"
#include "../core/net.h"
#include "../core/rnd.h"
#include "../core/strmap.h"
#include "../inventory/inventory.h"
#include "../store/filter.h"
#include "trust.h"

#define ANCHORS_MAX 10000 /* CA certificates read per namespace */

#define VERDICTS_MAX 10000 /* distinct chains remembered per run */

/* What a chain's verification said, without the name (the same chain is
 * presented by many endpoints: it is parsed and verified once). */
struct verdict {
    X509       *leaf;  /* kept for the name checks */
    const char *error; /* NULL: the chain verifies */
};

struct trust {
    X509_STORE   *store;
    struct arena *a;
    struct strmap verdicts; /* SHA-256 of the chain's DERs -> struct verdict */
};

static void
add_der(X509_STORE *st, struct str b64, struct arena *a)
{
    unsigned char       *der = arena_alloc(a, b64.len * 3 / 4 + 3);
    long                 n = b64_decode(b64.p, b64.len, der);
    const unsigned char *p = der;
    X509                *x = n > 0 ? d2i_X509(NULL, &p, n) : NULL;

    if (x != NULL)
        X509_STORE_add_cert(st, x); /* a duplicate is refused harmlessly */
    X509_free(x);
    ERR_clear_error();
}

/* Debian's bundle, parsed once per process and again when the file changes
 * (its inode, size or time), shared by every run's store (each certificate
 * is reference-counted). Parsing its 140-odd roots costs ~20 ms. */
static pthread_mutex_t bundle_mu = PTHREAD_MUTEX_INITIALIZER;
static STACK_OF(X509) * bundle;
static struct stat bundle_st;

static bool
same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static STACK_OF(X509) * bundle_read(void)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    BIO  *in = BIO_new_file(TRUST_BUNDLE, "r");
    X509 *x;

    while (sk != NULL && in != NULL && (x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL)
        if (!sk_X509_push(sk, x))
            X509_free(x);
    BIO_free(in);
    ERR_clear_error(); /* the end of the file, or no bundle: only the console's anchors */
    return sk;
}

static void
add_bundle(X509_STORE *st)
{
    struct stat now;

    pthread_mutex_lock(&bundle_mu);
    if (stat(TRUST_BUNDLE, &now) != 0)
        memset(&now, 0, sizeof now);
    if (bundle == NULL || !same_file(&now, &bundle_st)) {
        sk_X509_pop_free(bundle, X509_free);
        bundle = bundle_read();
        bundle_st = now;
    }
    for (int i = 0; bundle != NULL && i < sk_X509_num(bundle); i++)
        X509_STORE_add_cert(st, sk_X509_value(bundle, i));
    ERR_clear_error();
    pthread_mutex_unlock(&bundle_mu);
}

/* The CA certificates of namespace `ns` itself that may vouch. */
static int
add_namespace(X509_STORE *st, struct store *db, struct str ns, struct arena *a,
              struct errbuf *eb)
{
    struct fval yes = { .t = FV_BOOL, .i = 1 }, disc = { .t = FV_STR, .s = STR("DISCOVERED") };
    struct fnode *f = filter_bool(a, F_AND, filter_cmp(a, "isCA", F_EQ, yes),
                                  filter_cmp(a, "source", F_NE, disc));
    struct listq  q = { .scope = { ns, false }, .filter = f, .limit = ANCHORS_MAX };
    struct val    items;
    int           rc = db->ops->list(db, &spec_certificate, &q, a, &items, NULL, eb);

    for (size_t i = 0; rc == E_OK && i < items.a.n; i++)
        add_der(st, val_get_str(&items.a.v[i], "der"), a);
    return rc;
}

int
trust_open(struct store *db, struct str ns, struct trust **out, struct errbuf *eb)
{
    struct trust *t = calloc(1, sizeof *t);
    struct arena *a = arena_new(64 * 1024);
    int           rc = E_OK;

    *out = NULL;
    if (t != NULL && (t->a = arena_new(64 * 1024)) != NULL)
        strmap_init(&t->verdicts, t->a);
    if (t == NULL || a == NULL || t->a == NULL || (t->store = X509_STORE_new()) == NULL) {
        rc = errbuf_set(eb, E_INTERNAL, "out of memory");
        goto out;
    }
    add_bundle(t->store);
    /* "/" and every ancestor of ns, then ns itself. */
    for (size_t i = 0; rc == E_OK && i <= ns.len; i++)
        if ((i == ns.len && i > 1) || (i < ns.len && ns.p[i] == '/'))
            rc = add_namespace(t->store, db, (struct str){ ns.p, i == 0 ? 1 : i }, a, eb);
out:
    arena_free(a);
    if (rc != E_OK) {
        trust_close(t);
        return rc;
    }
    *out = t;
    return E_OK;
}

void
trust_close(struct trust *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->verdicts.cap; i++)
        if (t->verdicts.slots[i].value != NULL)
            X509_free(((struct verdict *)t->verdicts.slots[i].value)->leaf);
    X509_STORE_free(t->store);
    arena_free(t->a);
    free(t);
}

static X509 *
der_x509(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;

    return len > LONG_MAX ? NULL : d2i_X509(NULL, &p, (long)len);
}

/* The name check of a leaf whose chain verified: the SNI name sent, else the
 * address (an IP Address SAN). NULL when it matches; else OpenSSL's name of
 * the error. */
static const char *
name_check(X509 *leaf, const char *host, const unsigned char ip[16])
{
    if (host != NULL && host[0] != '\0')
        return X509_check_host(leaf, host, 0, 0, NULL) == 1
                   ? NULL
                   : X509_verify_cert_error_string(X509_V_ERR_HOSTNAME_MISMATCH);
    if (ip == NULL)
        return NULL;
    bool v4 = ip_is_v4(ip);
    return X509_check_ip(leaf, v4 ? ip + 12 : ip, v4 ? 4 : 16, 0) == 1
               ? NULL
               : X509_verify_cert_error_string(X509_V_ERR_IP_ADDRESS_MISMATCH);
}

/* Verify the chain (no name) into verdict v. */
static void
verify_chain(struct trust *t, const unsigned char *const *der, const size_t *len, size_t n,
             struct verdict *v)
{
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();

    v->error = "out of memory";
    if ((v->leaf = der_x509(der[0], len[0])) == NULL)
        v->error = "the certificate does not parse";
    if (v->leaf == NULL || untrusted == NULL || ctx == NULL)
        goto out;
    for (size_t i = 1; i < n; i++) {
        X509 *x = der_x509(der[i], len[i]);
        if (x != NULL && !sk_X509_push(untrusted, x))
            X509_free(x);
    }
    if (X509_STORE_CTX_init(ctx, t->store, v->leaf, untrusted) != 1)
        goto out;
    v->error = X509_verify_cert(ctx) == 1
                   ? NULL
                   : X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
out:
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(untrusted, X509_free);
    ERR_clear_error();
}

const char *
trust_check(struct trust *t, const unsigned char *const *der, const size_t *len, size_t n,
            const char *host, const unsigned char ip[16])
{
    struct str      parts[TRUST_CHAIN_MAX];
    unsigned char   key[SHA256_LEN];
    char            hex[2 * SHA256_LEN + 1];
    struct verdict *v, once = { 0 };

    if (n == 0)
        return "the certificate does not parse";
    n = n < TRUST_CHAIN_MAX ? n : TRUST_CHAIN_MAX;
    for (size_t i = 0; i < n; i++)
        parts[i] = (struct str){ (const char *)der[i], len[i] };
    digest_sha256_parts(parts, n, key);
    hex_encode(key, sizeof key, hex);
    if ((v = strmap_get(&t->verdicts, str_c(hex))) == NULL) {
        verify_chain(t, der, len, n, &once);
        if (once.leaf != NULL && t->verdicts.n < VERDICTS_MAX) {
            v = arena_alloc(t->a, sizeof *v); /* remembered: the leaf is freed at close */
            *v = once;
            strmap_put(&t->verdicts, str_c(hex), v);
        } else
            v = &once; /* not remembered: nothing of it outlives this call */
    }
    const char *why = v->error != NULL ? v->error : name_check(v->leaf, host, ip);
    if (v == &once)
        X509_free(once.leaf);
    return why;
}
