/* nconstraints.c - see nconstraints.h. The verdict is always OpenSSL's, on
 * the whole certificate; only when it is a refusal are the names judged one
 * at a time, each in a certificate of its own, to say which one breaks the
 * constraints. */
#include "nconstraints.h"

#include <arpa/inet.h>
#include <limits.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "../core/pem.h"

int
pki_nc_read(struct str pem, NAME_CONSTRAINTS **out)
{
    BIO  *bio = NULL;
    X509 *x = NULL;
    int   crit = -1, rc = E_VALIDATION;

    *out = NULL;
    if (pem.len > 0 && pem.len <= INT_MAX)
        bio = BIO_new_mem_buf(pem.p, (int)pem.len);
    if (bio != NULL && (x = PEM_read_bio_X509(bio, NULL, pem_no_passphrase, NULL)) != NULL) {
        *out = X509_get_ext_d2i(x, NID_name_constraints, &crit, NULL);
        rc = *out != NULL || crit == -1 ? E_OK : E_VALIDATION; /* absent, or read */
    }
    X509_free(x);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

/* As x509_vfy.c's has_san_id(x, GEN_DNS). */
static bool
has_dns_san(X509 *x)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    bool           found = false;

    for (int i = 0; !found && i < sk_GENERAL_NAME_num(gens); i++)
        found = sk_GENERAL_NAME_value(gens, i)->type == GEN_DNS;
    GENERAL_NAMES_free(gens);
    return found;
}

/* Printable ASCII of an IA5 or UTF-8 string, '?' for the rest. */
static void
text_of(const ASN1_STRING *s, char out[256])
{
    int                  n = ASN1_STRING_length(s);
    const unsigned char *p = ASN1_STRING_get0_data(s);
    int                  i;

    for (i = 0; i < n && i < 255; i++)
        out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
    out[i] = '\0';
}

static void
name_of(const GENERAL_NAME *g, struct pki_nc_fault *f)
{
    const ASN1_OCTET_STRING *ip = g->d.iPAddress;

    f->name[0] = '\0';
    switch (g->type) {
    case GEN_DNS:
        f->part = PKI_NC_DNS;
        text_of(g->d.dNSName, f->name);
        break;
    case GEN_URI:
        f->part = PKI_NC_URI;
        text_of(g->d.uniformResourceIdentifier, f->name);
        break;
    case GEN_EMAIL:
        f->part = PKI_NC_EMAIL;
        text_of(g->d.rfc822Name, f->name);
        break;
    case GEN_IPADD:
        f->part = PKI_NC_IP;
        if (inet_ntop(ip->length == 4 ? AF_INET : AF_INET6, ip->data, f->name,
                      sizeof f->name) == NULL ||
            (ip->length != 4 && ip->length != 16))
            f->name[0] = '\0';
        break;
    default:
        f->part = PKI_NC_OTHER;
    }
}

/* A certificate holding only `subject` or only the SAN `gen`: one name
 * judged alone. NULL when out of memory. */
static X509 *
names_only(const X509_NAME *subject, const GENERAL_NAME *gen)
{
    X509          *t = X509_new();
    GENERAL_NAMES *gens = NULL;
    GENERAL_NAME  *g = NULL;
    bool           ok = t != NULL;

    if (ok && subject != NULL)
        ok = X509_set_subject_name(t, subject) == 1;
    if (ok && gen != NULL) {
        g = GENERAL_NAME_dup(gen);
        if ((gens = sk_GENERAL_NAME_new_null()) == NULL || g == NULL ||
            sk_GENERAL_NAME_push(gens, g) <= 0) {
            GENERAL_NAME_free(g);
            ok = false;
        }
        ok = ok && X509_add1_ext_i2d(t, NID_subject_alt_name, gens, 0, 0) == 1;
    }
    GENERAL_NAMES_free(gens);
    if (ok)
        X509_get_extension_flags(t); /* caches the SANs NAME_CONSTRAINTS_check reads */
    else {
        X509_free(t);
        t = NULL;
    }
    return t;
}

static bool
breaks(X509 *t, NAME_CONSTRAINTS *nc)
{
    bool bad = t != NULL && NAME_CONSTRAINTS_check(t, nc) != X509_V_OK;

    X509_free(t);
    return bad;
}

/* Which name NAME_CONSTRAINTS_check refused: the subject, as it judges the
 * subject first, else the first SAN refused alone; PKI_NC_OTHER when none
 * is (too many names to judge). */
static void
blame(X509 *x, NAME_CONSTRAINTS *nc, struct pki_nc_fault *f)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);

    f->part = PKI_NC_OTHER;
    f->name[0] = '\0';
    if (breaks(names_only(X509_get_subject_name(x), NULL), nc))
        f->part = PKI_NC_SUBJECT;
    for (int i = 0;
         f->part == PKI_NC_OTHER && f->name[0] == '\0' && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (breaks(names_only(NULL, g), nc))
            name_of(g, f);
    }
    GENERAL_NAMES_free(gens);
}

static void
blame_cn(X509 *x, struct pki_nc_fault *f)
{
    const X509_NAME *nm = X509_get_subject_name(x);
    int              i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);

    f->part = PKI_NC_COMMON_NAME;
    f->name[0] = '\0';
    if (i >= 0)
        text_of(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i)), f->name);
}

bool
pki_wildcard_names(struct str name, struct str domain)
{
    const char *dot = memchr(name.p, '.', name.len), *star = memchr(name.p, '*', name.len);
    const char *under =
        domain.len > 0 && domain.p[0] != '.' ? memchr(domain.p, '.', domain.len) : NULL;
    size_t n;

    if (dot == NULL || star == NULL || star > dot || under == NULL)
        return false;
    n = (size_t)(name.p + name.len - dot - 1);
    return (size_t)(domain.p + domain.len - under - 1) == n &&
           strncasecmp(under + 1, dot + 1, n) == 0 && memchr(dot + 1, '\0', n) == NULL;
}

static struct str
str_of(const ASN1_STRING *s)
{
    return (struct str){ (const char *)ASN1_STRING_get0_data(s),
                         (size_t)ASN1_STRING_length(s) };
}

/* A wildcard DNS name judged against the excluded subtrees: `part` and the
 * name into *f when one hits. */
static bool
wildcard_excluded(const ASN1_STRING *w, NAME_CONSTRAINTS *nc, enum pki_nc_part part,
                  struct pki_nc_fault *f)
{
    for (int i = 0; i < sk_GENERAL_SUBTREE_num(nc->excludedSubtrees); i++) {
        const GENERAL_NAME *ex = sk_GENERAL_SUBTREE_value(nc->excludedSubtrees, i)->base;
        if (ex->type == GEN_DNS && pki_wildcard_names(str_of(w), str_of(ex->d.dNSName))) {
            f->part = part;
            f->verdict = X509_V_ERR_EXCLUDED_VIOLATION;
            text_of(w, f->name);
            return true;
        }
    }
    return false;
}

/* The DNS names of `x` that are wildcards, as OpenSSL judges its names: the
 * DNS SANs, or for a leaf without one its common names. */
static bool
wildcards_excluded(X509 *x, NAME_CONSTRAINTS *nc, bool leaf, struct pki_nc_fault *f)
{
    GENERAL_NAMES   *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    const X509_NAME *nm = X509_get_subject_name(x);
    bool             hit = false, dns = false;

    for (int i = 0; !hit && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS) {
            dns = true;
            hit = wildcard_excluded(g->d.dNSName, nc, PKI_NC_DNS, f);
        }
    }
    GENERAL_NAMES_free(gens);
    for (int i = -1;
         !hit && leaf && !dns && (i = X509_NAME_get_index_by_NID(nm, NID_commonName, i)) >= 0;)
        hit = wildcard_excluded(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i)), nc,
                                PKI_NC_COMMON_NAME, f);
    return hit;
}

bool
pki_nc_check(X509 *x, NAME_CONSTRAINTS *nc, bool leaf, struct pki_nc_fault *f)
{
    uint32_t flags = X509_get_extension_flags(x); /* caches the SANs the check reads */
    int      rv;

    if (!leaf && (flags & EXFLAG_SI) != 0)
        return true;
    if ((rv = NAME_CONSTRAINTS_check(x, nc)) != X509_V_OK)
        blame(x, nc, f);
    else if (leaf && !has_dns_san(x) && (rv = NAME_CONSTRAINTS_check_CN(x, nc)) != X509_V_OK)
        blame_cn(x, f);
    else if (wildcards_excluded(x, nc, leaf, f))
        rv = f->verdict;
    f->verdict = rv;
    ERR_clear_error();
    return rv == X509_V_OK;
}
