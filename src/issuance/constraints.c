/* constraints.c - the X.509 name constraints written in the certificates of
 * the console's CAs, enforced on what they sign (local.h: ca_names_within).
 * Whatever a CA's policy lists say now, a relying party judges a certificate
 * by the constraints of every CA certificate above it, as they were written
 * (pki/nconstraints.h): those of an imported CA, those an intermediate got
 * from a parent whose lists have changed since.
 *
 * A CA's certificate never changes, so its constraints are read once per
 * process and kept by CA ID (a CA without any costs a lookup), in a table
 * that starts over when three quarters full. Judging holds the table's read
 * lock; only a new entry takes the write lock. */
#include <pthread.h>
#include <stdio.h>

#include <openssl/x509.h>

#include "../core/rnd.h" /* ID_LEN */
#include "../pki/nconstraints.h"
#include "local.h"

#define SLOTS 1024 /* CAs whose constraints are kept */

struct slot {
    char              id[ID_LEN + 1]; /* "" when free */
    NAME_CONSTRAINTS *nc;             /* NULL: the certificate has none */
    bool              unreadable;     /* it has some OpenSSL cannot read */
};

static struct slot      slots[SLOTS];
static size_t           nused;
static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;

/* The slot of `id`, or the free one it would take (lock held). */
static struct slot *
slot_at(struct str id)
{
    size_t i = (size_t)(hash_fnv1a(id.p, id.len, 0) % SLOTS);

    while (slots[i].id[0] != '\0' && !str_eq_c(id, slots[i].id))
        i = (i + 1) % SLOTS;
    return &slots[i];
}

static void
start_over(void)
{
    for (size_t i = 0; i < SLOTS; i++) {
        NAME_CONSTRAINTS_free(slots[i].nc);
        slots[i] = (struct slot){ 0 };
    }
    nused = 0;
}

/* Read CA `ca`'s constraints from its certificate, outside the lock, and
 * keep them. */
static void
slot_load(const struct val *ca, struct str id)
{
    NAME_CONSTRAINTS *nc = NULL;
    bool              unreadable = pki_nc_read(val_get_str(ca, "certificate"), &nc) != E_OK;
    struct slot      *s;

    pthread_rwlock_wrlock(&lock);
    if (nused >= SLOTS * 3 / 4)
        start_over();
    if ((s = slot_at(id))->id[0] == '\0') {
        memcpy(s->id, id.p, ID_LEN);
        s->nc = nc;
        s->unreadable = unreadable;
        nc = NULL;
        nused++;
    }
    pthread_rwlock_unlock(&lock);
    NAME_CONSTRAINTS_free(nc); /* another thread kept them first */
}

/* The slot of CA `ca`, read in if needed; returned with the read lock held
 * (NULL, unlocked, for an object without a proper ID). */
static const struct slot *
slot_held(const struct val *ca)
{
    struct str   id = val_get_str(ca, "ID");
    struct slot *s;

    if (id.len != ID_LEN)
        return NULL;
    for (;;) {
        pthread_rwlock_rdlock(&lock);
        if ((s = slot_at(id))->id[0] != '\0')
            return s;
        pthread_rwlock_unlock(&lock);
        slot_load(ca, id);
    }
}

bool
ca_chain_constrained(const struct val *chain, size_t n)
{
    bool any = false;

    for (size_t i = 0; !any && i < n; i++) {
        const struct slot *s = slot_held(&chain[i]);
        if (s != NULL) {
            any = s->nc != NULL || s->unreadable;
            pthread_rwlock_unlock(&lock);
        }
    }
    return any;
}

/* Where a fault is told: "<prefix>.dnsNames"... for a leaf, "subject" for a
 * CA (the console writes no SANs into CA certificates). */
static const char *
fault_attr(char buf[64], const char *prefix, enum pki_nc_part part)
{
    static const char *const parts[] = {
        [PKI_NC_SUBJECT] = "subject", [PKI_NC_COMMON_NAME] = "commonName",
        [PKI_NC_DNS] = "dnsNames",    [PKI_NC_IP] = "ipAddresses",
        [PKI_NC_URI] = "uris",        [PKI_NC_EMAIL] = "emails",
        [PKI_NC_OTHER] = "subject"
    };

    if (prefix == NULL)
        return "subject";
    snprintf(buf, 64, "%s.%s", prefix, parts[part]);
    return buf;
}

static int
refuse(const struct val *ca, const struct pki_nc_fault *f, const char *prefix,
       struct errbuf *eb)
{
    char attr[64], what[160];

    if (f->name[0] != '\0')
        snprintf(what, sizeof what, "'%.128s'", f->name);
    else
        snprintf(what, sizeof what, "%s", f->part == PKI_NC_SUBJECT ? "The subject" : "A name");
    return errbuf_attr(eb, E_VALIDATION, fault_attr(attr, prefix, f->part),
                       "%s breaks the name constraints in the certificate of certificate "
                       "authority '%.*s' (%s)",
                       what, STR_FMT(val_get_str(ca, "name")),
                       X509_verify_cert_error_string(f->verdict));
}

int
ca_names_within(const struct val *chain, size_t n, X509 *x, const char *prefix,
                struct errbuf *eb)
{
    for (size_t i = 0; i < n; i++) {
        struct pki_nc_fault f = { 0 };
        const struct slot  *s = slot_held(&chain[i]);
        bool                ok = true, unreadable = false;
        if (s == NULL)
            continue;
        unreadable = s->unreadable;
        if (s->nc != NULL)
            ok = pki_nc_check(x, s->nc, prefix != NULL, &f);
        pthread_rwlock_unlock(&lock);
        if (unreadable)
            return errbuf_attr(eb, E_VALIDATION,
                               prefix != NULL ? "issuingTemplateID" : "parentID",
                               "The certificate of certificate authority '%.*s' has name "
                               "constraints OpenSSL cannot read",
                               STR_FMT(val_get_str(&chain[i], "name")));
        if (!ok)
            return refuse(&chain[i], &f, prefix, eb);
    }
    return E_OK;
}

int
ca_leaf_within(const struct val *chain, size_t n, const struct buf *der, const char *prefix,
               struct errbuf *eb)
{
    const unsigned char *p = (const unsigned char *)der->p;
    X509                *x;
    int                  rc;

    if (!ca_chain_constrained(chain, n))
        return E_OK;
    if ((x = d2i_X509(NULL, &p, (long)der->len)) == NULL)
        return errbuf_set(eb, E_INTERNAL, "cannot read the certificate just signed");
    rc = ca_names_within(chain, n, x, prefix, eb);
    X509_free(x);
    return rc;
}
