/* certext.c - see certext.h. */
#include "certext.h"

#include <openssl/err.h>
#include <openssl/objects.h>

#include "../core/net.h"

/* GeneralName tags (RFC 5280 4.2.1.6), implicit. */
#define GN_EMAIL (DER_CONTEXT | 1)
#define GN_DNS   (DER_CONTEXT | 2)
#define GN_URI   (DER_CONTEXT | 6)
#define GN_IP    (DER_CONTEXT | 7)

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
    { "timeStamping", NID_time_stamp },
};

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

/* The 4 or 16 bytes of a textual IP address, as an X.509 iPAddress holds
 * it (its family as net.h reads the text); 0 when it is not one. */
static int
ip_bytes(const char *s, unsigned char out[16])
{
    unsigned char a[16];
    bool          v4;

    if (s == NULL || ip_parse_family(str_c(s), a, &v4) != E_OK)
        return 0;
    memcpy(out, v4 ? a + 12 : a, v4 ? 4 : 16);
    return v4 ? 4 : 16;
}

/* Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue OCTET
 * STRING }: opened up to the inside of extnValue. */
struct ext {
    size_t seq, value;
};

static struct ext
ext_open(struct der *d, int nid, bool critical)
{
    struct ext e;

    e.seq = der_open(d, DER_SEQUENCE);
    der_oid_nid(d, nid);
    if (critical)
        der_true(d);
    e.value = der_open(d, DER_OCTET_STRING);
    return e;
}

static void
ext_close(struct der *d, struct ext e)
{
    der_close(d, e.value);
    der_close(d, e.seq);
}

void
pki_ext_basic_constraints(struct der *d, bool ca, int path_len)
{
    struct ext e = ext_open(d, NID_basic_constraints, true);
    size_t     seq = der_open(d, DER_SEQUENCE);

    if (ca) {
        der_true(d);
        if (path_len >= 0) {
            unsigned char v[4] = { (unsigned char)(path_len >> 24),
                                   (unsigned char)(path_len >> 16),
                                   (unsigned char)(path_len >> 8), (unsigned char)path_len };
            der_uint(d, v, sizeof(v));
        }
    }
    der_close(d, seq);
    ext_close(d, e);
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
pki_ext_key_usage(struct der *d, const char *const *names, size_t n, struct errbuf *eb)
{
    unsigned      bits = 0; /* bit 0 of RFC 5280 is 0x8000 */
    int           top = -1, bit;
    unsigned char v[3];
    struct ext    e;

    for (size_t i = 0; i < n; i++) {
        if ((bit = key_usage_bit(names[i])) < 0)
            return invalid(eb, "keyUsages",
                           "must hold RFC 5280 key usage names (digitalSignature, "
                           "keyEncipherment, keyAgreement, ...)");
        bits |= 0x8000u >> bit;
        top = bit > top ? bit : top;
    }
    if (top < 0)
        return E_OK;
    /* DER drops trailing zero bits: the unused bits of the last byte. */
    v[0] = (unsigned char)(7 - top % 8);
    v[1] = (unsigned char)(bits >> 8);
    v[2] = (unsigned char)bits;
    e = ext_open(d, NID_key_usage, true);
    der_tlv(d, DER_BIT_STRING, v, (size_t)(top / 8 + 2));
    ext_close(d, e);
    return E_OK;
}

/* Purposes a certificate a template issues may not carry: a leaf with
 * OCSPSigning, signed by the CA, is a delegated OCSP responder for every
 * certificate of that CA (RFC 6960 4.2.2.2) - a sub-namespace's editor could
 * answer "good" for what the CA's owner revoked; anyExtendedKeyUsage is
 * every purpose. The console's own responders are made apart (ocsp.c). */
bool
pki_eku_allowed(const char *name)
{
    ASN1_OBJECT *o;
    int          nid;

    if (strcmp(name, "OCSPSigning") == 0)
        return false;
    if (!pki_oid_valid(name, strlen(name)) || (o = OBJ_txt2obj(name, 1)) == NULL)
        return true; /* not an OID: a name, judged by eku_write */
    nid = OBJ_obj2nid(o);
    ASN1_OBJECT_free(o);
    return nid != NID_OCSP_sign && nid != NID_anyExtendedKeyUsage;
}

/* One KeyPurposeId; false for a name that is none, or one not allowed. */
static bool
eku_write(struct der *d, const char *name)
{
    ASN1_OBJECT *o;

    if (!pki_eku_allowed(name))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(EXT_KEY_USAGES); i++)
        if (strcmp(name, EXT_KEY_USAGES[i].name) == 0) {
            der_oid_nid(d, EXT_KEY_USAGES[i].nid);
            return true;
        }
    if (!pki_oid_valid(name, strlen(name)) || (o = OBJ_txt2obj(name, 1)) == NULL)
        return false;
    der_tlv(d, DER_OID, OBJ_get0_data(o), (size_t)OBJ_length(o));
    ASN1_OBJECT_free(o);
    return true;
}

int
pki_ext_eku(struct der *d, const char *const *names, size_t n, struct errbuf *eb)
{
    struct ext e;
    size_t     seq;

    if (n == 0)
        return E_OK;
    e = ext_open(d, NID_ext_key_usage, false);
    seq = der_open(d, DER_SEQUENCE);
    for (size_t i = 0; i < n; i++)
        if (names[i] == NULL || !eku_write(d, names[i]))
            return invalid(eb, "extendedKeyUsages",
                           "must hold serverAuth, clientAuth, codeSigning, emailProtection, "
                           "timeStamping or dotted OIDs (not OCSP signing, not "
                           "anyExtendedKeyUsage)");
    der_close(d, seq);
    ext_close(d, e);
    return E_OK;
}

void
pki_ext_ski(struct der *d, const unsigned char *id, size_t n)
{
    struct ext e = ext_open(d, NID_subject_key_identifier, false);

    der_tlv(d, DER_OCTET_STRING, id, n);
    ext_close(d, e);
}

void
pki_ext_aki(struct der *d, const unsigned char *id, size_t n)
{
    struct ext e = ext_open(d, NID_authority_key_identifier, false);
    size_t     seq = der_open(d, DER_SEQUENCE);

    der_tlv(d, DER_CONTEXT | 0, id, n); /* keyIdentifier [0] */
    der_close(d, seq);
    ext_close(d, e);
}

/* ---- names ------------------------------------------------------------------ */

static int
ia5_names(struct der *d, unsigned char tag, const char *const *v, size_t n, const char *attr,
          struct errbuf *eb)
{
    for (size_t i = 0; i < n; i++) {
        if (!ia5_ok(v[i]))
            return invalid(eb, attr, "must hold printable ASCII names");
        der_tlv(d, tag, v[i], strlen(v[i]));
    }
    return E_OK;
}

static int
ip_names(struct der *d, const char *const *v, size_t n, struct errbuf *eb)
{
    unsigned char b[16];
    int           len;

    for (size_t i = 0; i < n; i++) {
        if ((len = ip_bytes(v[i], b)) == 0)
            return invalid(eb, "csr.ipAddresses", "must hold IPv4 or IPv6 addresses");
        der_tlv(d, GN_IP, b, (size_t)len);
    }
    return E_OK;
}

int
pki_ext_san(struct der *d, const struct pki_names *n, bool critical, struct errbuf *eb)
{
    struct ext e;
    size_t     seq;
    int        rc;

    if (n->ndns + n->nip + n->nuri + n->nemail == 0)
        return E_OK;
    e = ext_open(d, NID_subject_alt_name, critical);
    seq = der_open(d, DER_SEQUENCE);
    if ((rc = ia5_names(d, GN_DNS, n->dns, n->ndns, "csr.dnsNames", eb)) != E_OK ||
        (rc = ip_names(d, n->ip, n->nip, eb)) != E_OK ||
        (rc = ia5_names(d, GN_URI, n->uri, n->nuri, "csr.uris", eb)) != E_OK ||
        (rc = ia5_names(d, GN_EMAIL, n->email, n->nemail, "csr.emails", eb)) != E_OK)
        return rc;
    der_close(d, seq);
    ext_close(d, e);
    return E_OK;
}

/* ---- where relying parties look ------------------------------------------- */

static int
url_check(const char *url, struct errbuf *eb)
{
    if (!ia5_ok(url))
        return errbuf_set(eb, E_INTERNAL, "pki: a CRL, OCSP or CA URL is not printable ASCII");
    return E_OK;
}

int
pki_ext_crl_dp(struct der *d, const char *url, struct errbuf *eb)
{
    struct ext e;
    size_t     points, point, name, full;

    if (url == NULL)
        return E_OK;
    if (url_check(url, eb) != E_OK)
        return E_INTERNAL;
    e = ext_open(d, NID_crl_distribution_points, false);
    points = der_open(d, DER_SEQUENCE);
    point = der_open(d, DER_SEQUENCE);
    name = der_open(d, DER_CONTEXT_CONS | 0); /* distributionPoint [0] */
    full = der_open(d, DER_CONTEXT_CONS | 0); /* fullName [0] GeneralNames */
    der_tlv(d, GN_URI, url, strlen(url));
    der_close(d, full);
    der_close(d, name);
    der_close(d, point);
    der_close(d, points);
    ext_close(d, e);
    return E_OK;
}

static void
access_write(struct der *d, int method, const char *url)
{
    size_t seq = der_open(d, DER_SEQUENCE);

    der_oid_nid(d, method);
    der_tlv(d, GN_URI, url, strlen(url));
    der_close(d, seq);
}

int
pki_ext_aia(struct der *d, const char *ocsp_url, const char *issuers_url, struct errbuf *eb)
{
    struct ext e;
    size_t     seq;

    if (ocsp_url == NULL && issuers_url == NULL)
        return E_OK;
    if ((ocsp_url != NULL && url_check(ocsp_url, eb) != E_OK) ||
        (issuers_url != NULL && url_check(issuers_url, eb) != E_OK))
        return E_INTERNAL;
    e = ext_open(d, NID_info_access, false);
    seq = der_open(d, DER_SEQUENCE);
    if (ocsp_url != NULL)
        access_write(d, NID_ad_OCSP, ocsp_url);
    if (issuers_url != NULL)
        access_write(d, NID_ad_ca_issuers, issuers_url);
    der_close(d, seq);
    ext_close(d, e);
    return E_OK;
}

/* ---- name constraints --------------------------------------------------------- */

/* A range (net.h's cidr_parse: "10.0.0.0/8", or a bare address for a /32
 * or /128) as a name constraint holds it: address then mask, 8 bytes for
 * IPv4 and 32 for IPv6, the length returned; 0 when it is not a range or has
 * address bits set past its prefix. */
static int
cidr_bytes(const char *s, unsigned char out[32])
{
    struct cidr c;
    unsigned    n, prefix;

    if (s == NULL || cidr_parse(str_c(s), &c) != E_OK || !cidr_is_network(&c))
        return 0;
    n = c.v4 ? 4 : 16;
    prefix = c.bits - 8 * (16 - n);
    memcpy(out, c.addr + 16 - n, n);
    memset(out + n, 0, n);
    for (unsigned i = 0; i < prefix; i++)
        out[n + i / 8] |= (unsigned char)(0x80 >> (i % 8));
    return (int)(2 * n);
}

/* GeneralSubtree ::= SEQUENCE { base GeneralName } (minimum 0, no maximum). */
static void
subtree_write(struct der *d, unsigned char tag, const void *p, size_t n)
{
    size_t seq = der_open(d, DER_SEQUENCE);

    der_tlv(d, tag, p, n);
    der_close(d, seq);
}

static int
dns_subtrees(struct der *d, const char *const *v, size_t n, const char *attr, struct errbuf *eb)
{
    for (size_t i = 0; i < n; i++) {
        if (!ia5_ok(v[i]) || strchr(v[i], ' ') != NULL)
            return invalid(eb, attr, "must hold DNS domains (example.com)");
        subtree_write(d, GN_DNS, v[i], strlen(v[i]));
    }
    return E_OK;
}

static int
ip_subtrees(struct der *d, const char *const *v, size_t n, struct errbuf *eb)
{
    unsigned char b[32];
    int           len;

    for (size_t i = 0; i < n; i++) {
        if ((len = cidr_bytes(v[i], b)) == 0)
            return invalid(eb, "permittedIPRanges",
                           "must hold CIDR ranges (10.0.0.0/8, 2001:db8::/32) with no bits "
                           "set past the prefix");
        subtree_write(d, GN_IP, b, (size_t)len);
    }
    return E_OK;
}

int
pki_ext_name_constraints(struct der *d, const struct pki_ca_req *p, struct errbuf *eb)
{
    struct ext e;
    size_t     seq, permitted, excluded;
    int        rc;

    if (p->npermitted_dns + p->nexcluded_dns + p->npermitted_ip == 0)
        return E_OK;
    e = ext_open(d, NID_name_constraints, true);
    seq = der_open(d, DER_SEQUENCE);
    if (p->npermitted_dns + p->npermitted_ip > 0) {
        permitted = der_open(d, DER_CONTEXT_CONS | 0);
        if ((rc = dns_subtrees(d, p->permitted_dns, p->npermitted_dns, "permittedDNSDomains",
                               eb)) != E_OK ||
            (rc = ip_subtrees(d, p->permitted_ip, p->npermitted_ip, eb)) != E_OK)
            return rc;
        der_close(d, permitted);
    }
    if (p->nexcluded_dns > 0) {
        excluded = der_open(d, DER_CONTEXT_CONS | 1);
        if ((rc = dns_subtrees(d, p->excluded_dns, p->nexcluded_dns, "excludedDNSDomains",
                               eb)) != E_OK)
            return rc;
        der_close(d, excluded);
    }
    der_close(d, seq);
    ext_close(d, e);
    return E_OK;
}
