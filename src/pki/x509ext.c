/* x509ext.c - see x509ext.h. */
#include "x509ext.h"

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* RFC 5280 4.2.1.3, bit numbers as named there (contentCommitment is the
 * newer name of nonRepudiation). */
static const struct {
    const char *name;
    int         bit;
} KEY_USAGES[] = {
    { "digitalSignature", 0 }, { "nonRepudiation", 1 },   { "contentCommitment", 1 },
    { "keyEncipherment", 2 },  { "dataEncipherment", 3 }, { "keyAgreement", 4 },
    { "keyCertSign", 5 },      { "cRLSign", 6 },          { "encipherOnly", 7 },
    { "decipherOnly", 8 },
};

static const struct {
    const char *name;
    int         nid;
} EXT_KEY_USAGES[] = {
    { "serverAuth", NID_server_auth },  { "clientAuth", NID_client_auth },
    { "codeSigning", NID_code_sign },   { "emailProtection", NID_email_protect },
    { "timeStamping", NID_time_stamp }, { "OCSPSigning", NID_OCSP_sign },
};

static int
internal(struct errbuf *eb)
{
    ERR_clear_error();
    return errbuf_set(eb, E_INTERNAL, "pki: cannot encode an extension");
}

static int
invalid(struct errbuf *eb, const char *attr, const char *why)
{
    ERR_clear_error();
    return errbuf_attr(eb, E_VALIDATION, attr, "Attribute '%s' %s", attr, why);
}

/* Printable ASCII, non-empty: what an IA5String name may hold here. */
static bool
ia5_ok(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* A GENERAL_NAME of an IA5String type (GEN_DNS, GEN_URI, GEN_EMAIL); the
 * caller has checked ia5_ok. */
static GENERAL_NAME *
gn_ia5(int type, const char *s)
{
    GENERAL_NAME   *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *v = ASN1_IA5STRING_new();

    if (gn == NULL || v == NULL || ASN1_STRING_set(v, s, (int)strlen(s)) != 1) {
        GENERAL_NAME_free(gn);
        ASN1_IA5STRING_free(v);
        return NULL;
    }
    GENERAL_NAME_set0_value(gn, type, v);
    return gn;
}

static GENERAL_NAME *
gn_octets(const unsigned char *p, int n)
{
    GENERAL_NAME      *gn = GENERAL_NAME_new();
    ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();

    if (gn == NULL || v == NULL || ASN1_OCTET_STRING_set(v, p, n) != 1) {
        GENERAL_NAME_free(gn);
        ASN1_OCTET_STRING_free(v);
        return NULL;
    }
    GENERAL_NAME_set0_value(gn, GEN_IPADD, v);
    return gn;
}

/* The 4 or 16 bytes of a textual IP address; 0 when it is not one. */
static int
ip_bytes(const char *s, unsigned char out[16])
{
    if (inet_pton(AF_INET, s, out) == 1)
        return 4;
    if (inet_pton(AF_INET6, s, out) == 1)
        return 16;
    return 0;
}

static int
push(GENERAL_NAMES *g, GENERAL_NAME *gn, struct errbuf *eb)
{
    if (gn == NULL || sk_GENERAL_NAME_push(g, gn) <= 0) {
        GENERAL_NAME_free(gn);
        return internal(eb);
    }
    return E_OK;
}

static int
push_ia5s(GENERAL_NAMES *g, int type, const char *const *v, size_t n, const char *attr,
          struct errbuf *eb)
{
    int rc = E_OK;

    for (size_t i = 0; rc == E_OK && i < n; i++)
        rc = ia5_ok(v[i]) ? push(g, gn_ia5(type, v[i]), eb)
                          : invalid(eb, attr, "must hold printable ASCII names");
    return rc;
}

static int
push_ips(GENERAL_NAMES *g, const char *const *v, size_t n, struct errbuf *eb)
{
    unsigned char b[16];
    int           len, rc = E_OK;

    for (size_t i = 0; rc == E_OK && i < n; i++)
        rc = (len = ip_bytes(v[i], b)) > 0
                 ? push(g, gn_octets(b, len), eb)
                 : invalid(eb, "csr.ipAddresses", "must hold IPv4 or IPv6 addresses");
    return rc;
}

static bool
subject_empty(const struct pki_names *n)
{
    return !n->cn && !n->o && !n->ou && !n->l && !n->st && !n->c;
}

int
pki_ext_san(X509 *x, const struct pki_names *n, struct errbuf *eb)
{
    GENERAL_NAMES *g = NULL;
    int            rc;

    if (n->ndns + n->nip + n->nuri + n->nemail == 0)
        return E_OK;
    if ((g = GENERAL_NAMES_new()) == NULL)
        return internal(eb);
    if ((rc = push_ia5s(g, GEN_DNS, n->dns, n->ndns, "csr.dnsNames", eb)) == E_OK &&
        (rc = push_ips(g, n->ip, n->nip, eb)) == E_OK &&
        (rc = push_ia5s(g, GEN_URI, n->uri, n->nuri, "csr.uris", eb)) == E_OK &&
        (rc = push_ia5s(g, GEN_EMAIL, n->email, n->nemail, "csr.emails", eb)) == E_OK &&
        X509_add1_ext_i2d(x, NID_subject_alt_name, g, subject_empty(n), X509V3_ADD_REPLACE) !=
            1)
        rc = internal(eb);
    GENERAL_NAMES_free(g);
    return rc;
}

static int
key_usage_bit(const char *name)
{
    for (size_t i = 0; name != NULL && i < ARRAY_LEN(KEY_USAGES); i++)
        if (strcmp(name, KEY_USAGES[i].name) == 0)
            return KEY_USAGES[i].bit;
    return -1;
}

int
pki_ext_key_usage(X509 *x, const char *const *names, size_t n, struct errbuf *eb)
{
    ASN1_BIT_STRING *bits = NULL;
    int              rc = E_OK, bit;

    if (n == 0)
        return E_OK;
    if ((bits = ASN1_BIT_STRING_new()) == NULL)
        return internal(eb);
    for (size_t i = 0; rc == E_OK && i < n; i++)
        if ((bit = key_usage_bit(names[i])) < 0)
            rc = invalid(eb, "keyUsages",
                         "must hold RFC 5280 key usage names "
                         "(digitalSignature, keyEncipherment, ...)");
        else if (ASN1_BIT_STRING_set_bit(bits, bit, 1) != 1)
            rc = internal(eb);
    if (rc == E_OK && X509_add1_ext_i2d(x, NID_key_usage, bits, 1, X509V3_ADD_REPLACE) != 1)
        rc = internal(eb);
    ASN1_BIT_STRING_free(bits);
    return rc;
}

/* "serverAuth"... or a dotted OID (numeric form only). */
static ASN1_OBJECT *
eku_object(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(EXT_KEY_USAGES); i++)
        if (strcmp(name, EXT_KEY_USAGES[i].name) == 0)
            return OBJ_nid2obj(EXT_KEY_USAGES[i].nid);
    if (!pki_oid_valid(name, strlen(name)))
        return NULL;
    return OBJ_txt2obj(name, 1);
}

int
pki_ext_eku(X509 *x, const char *const *names, size_t n, struct errbuf *eb)
{
    EXTENDED_KEY_USAGE *eku = NULL;
    ASN1_OBJECT        *o;
    int                 rc = E_OK;

    if (n == 0)
        return E_OK;
    if ((eku = sk_ASN1_OBJECT_new_null()) == NULL)
        return internal(eb);
    for (size_t i = 0; rc == E_OK && i < n; i++)
        if (names[i] == NULL || (o = eku_object(names[i])) == NULL)
            rc = invalid(eb, "extendedKeyUsages",
                         "must hold serverAuth, clientAuth, codeSigning, emailProtection, "
                         "timeStamping, OCSPSigning or dotted OIDs");
        else if (sk_ASN1_OBJECT_push(eku, o) <= 0) {
            ASN1_OBJECT_free(o);
            rc = internal(eb);
        }
    if (rc == E_OK && X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_REPLACE) != 1)
        rc = internal(eb);
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    return rc;
}

/* ---- where relying parties look ------------------------------------------- */

static GENERAL_NAME *
gn_uri(const char *url)
{
    return ia5_ok(url) ? gn_ia5(GEN_URI, url) : NULL;
}

static DIST_POINT *
dist_point_new(const char *url)
{
    DIST_POINT   *dp = DIST_POINT_new();
    GENERAL_NAME *gn = gn_uri(url);

    if (dp == NULL || gn == NULL || (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
        (dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL ||
        sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn) <= 0) {
        DIST_POINT_free(dp);
        GENERAL_NAME_free(gn);
        return NULL;
    }
    dp->distpoint->type = 0; /* fullName */
    return dp;
}

int
pki_ext_crl_dp(X509 *x, const char *url, struct errbuf *eb)
{
    CRL_DIST_POINTS *dps = NULL;
    DIST_POINT      *dp = NULL;
    int              rc = E_OK;

    if (url == NULL)
        return E_OK;
    if ((dps = sk_DIST_POINT_new_null()) == NULL || (dp = dist_point_new(url)) == NULL ||
        sk_DIST_POINT_push(dps, dp) <= 0) {
        DIST_POINT_free(dp);
        rc = internal(eb);
    } else if (X509_add1_ext_i2d(x, NID_crl_distribution_points, dps, 0, X509V3_ADD_REPLACE) !=
               1)
        rc = internal(eb);
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    return rc;
}

static int
access_push(AUTHORITY_INFO_ACCESS *aia, int method, const char *url)
{
    ACCESS_DESCRIPTION *ad = NULL;
    GENERAL_NAME       *gn = NULL;

    if (url == NULL)
        return E_OK;
    if ((ad = ACCESS_DESCRIPTION_new()) == NULL || (gn = gn_uri(url)) == NULL) {
        ACCESS_DESCRIPTION_free(ad);
        return E_INTERNAL;
    }
    ASN1_OBJECT_free(ad->method);
    ad->method = OBJ_nid2obj(method);
    GENERAL_NAME_free(ad->location);
    ad->location = gn;
    if (sk_ACCESS_DESCRIPTION_push(aia, ad) <= 0) {
        ACCESS_DESCRIPTION_free(ad);
        return E_INTERNAL;
    }
    return E_OK;
}

int
pki_ext_aia(X509 *x, const char *ocsp_url, const char *issuers_url, struct errbuf *eb)
{
    AUTHORITY_INFO_ACCESS *aia = NULL;
    int                    rc = E_OK;

    if (ocsp_url == NULL && issuers_url == NULL)
        return E_OK;
    if ((aia = sk_ACCESS_DESCRIPTION_new_null()) == NULL ||
        access_push(aia, NID_ad_OCSP, ocsp_url) != E_OK ||
        access_push(aia, NID_ad_ca_issuers, issuers_url) != E_OK ||
        X509_add1_ext_i2d(x, NID_info_access, aia, 0, X509V3_ADD_REPLACE) != 1)
        rc = internal(eb);
    sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
    return rc;
}

/* ---- name constraints --------------------------------------------------------- */

/* "10.0.0.0/8" into address and mask (8 or 32 bytes); 0 when it is not a
 * CIDR whose address has no bits set past the prefix. */
static int
cidr_bytes(const char *s, unsigned char out[32])
{
    const char   *slash = s != NULL ? strchr(s, '/') : NULL;
    char          addr[INET6_ADDRSTRLEN];
    int64_t       prefix;
    int           n;
    unsigned char mask[16] = { 0 };

    if (slash == NULL || (size_t)(slash - s) >= sizeof(addr) ||
        str_to_i64(str_c(slash + 1), &prefix) != E_OK || slash[1] == '-')
        return 0;
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    if ((n = ip_bytes(addr, out)) == 0 || prefix < 0 || prefix > 8 * n)
        return 0;
    for (int i = 0; i < prefix; i++)
        mask[i / 8] |= (unsigned char)(0x80 >> (i % 8));
    for (int i = 0; i < n; i++)
        if ((out[i] & ~mask[i]) != 0)
            return 0;
    memcpy(out + n, mask, (size_t)n);
    return 2 * n;
}

static int
subtree_push(STACK_OF(GENERAL_SUBTREE) * *list, GENERAL_NAME *gn)
{
    GENERAL_SUBTREE *t = NULL;

    if (gn == NULL || (*list == NULL && (*list = sk_GENERAL_SUBTREE_new_null()) == NULL) ||
        (t = GENERAL_SUBTREE_new()) == NULL) {
        GENERAL_NAME_free(gn);
        return E_INTERNAL;
    }
    GENERAL_NAME_free(t->base);
    t->base = gn;
    if (sk_GENERAL_SUBTREE_push(*list, t) <= 0) {
        GENERAL_SUBTREE_free(t);
        return E_INTERNAL;
    }
    return E_OK;
}

static int
dns_subtrees(STACK_OF(GENERAL_SUBTREE) * *list, const char *const *v, size_t n,
             const char *attr, struct errbuf *eb)
{
    for (size_t i = 0; i < n; i++) {
        if (!ia5_ok(v[i]) || strchr(v[i], ' ') != NULL)
            return invalid(eb, attr, "must hold DNS domains (example.com)");
        if (subtree_push(list, gn_ia5(GEN_DNS, v[i])) != E_OK)
            return internal(eb);
    }
    return E_OK;
}

static int
ip_subtrees(STACK_OF(GENERAL_SUBTREE) * *list, const char *const *v, size_t n,
            struct errbuf *eb)
{
    unsigned char b[32];
    int           len;

    for (size_t i = 0; i < n; i++) {
        if ((len = cidr_bytes(v[i], b)) == 0)
            return invalid(eb, "permittedIPRanges",
                           "must hold CIDR ranges (10.0.0.0/8, 2001:db8::/32) with no bits "
                           "set past the prefix");
        if (subtree_push(list, gn_octets(b, len)) != E_OK)
            return internal(eb);
    }
    return E_OK;
}

int
pki_ext_name_constraints(X509 *x, const struct pki_ca_req *p, struct errbuf *eb)
{
    NAME_CONSTRAINTS *nc = NULL;
    int               rc;

    if (p->npermitted_dns + p->nexcluded_dns + p->npermitted_ip == 0)
        return E_OK;
    if ((nc = NAME_CONSTRAINTS_new()) == NULL)
        return internal(eb);
    if ((rc = dns_subtrees(&nc->permittedSubtrees, p->permitted_dns, p->npermitted_dns,
                           "permittedDNSDomains", eb)) == E_OK &&
        (rc = ip_subtrees(&nc->permittedSubtrees, p->permitted_ip, p->npermitted_ip, eb)) ==
            E_OK &&
        (rc = dns_subtrees(&nc->excludedSubtrees, p->excluded_dns, p->nexcluded_dns,
                           "excludedDNSDomains", eb)) == E_OK &&
        X509_add1_ext_i2d(x, NID_name_constraints, nc, 1, X509V3_ADD_REPLACE) != 1)
        rc = internal(eb);
    NAME_CONSTRAINTS_free(nc);
    return rc;
}
