/* certparse_d2i.h - the reference for inventory/certparse.c's inv_parse(): the
 * implementation it replaced (commit 426bcff), which reads the certificate with
 * d2i_X509 and sizes the key with EVP_PKEY_get_bits on the key OpenSSL decodes.
 * Copied verbatim but for the name of its entry point, ref_inv_parse(), which
 * must give exactly the map inv_parse() gives. Included by
 * tests/unit/test_certparse_same.c and tests/fuzz/fuzz_certparse.c only. */
#ifndef KW_TEST_CERTPARSE_D2I_H
#define KW_TEST_CERTPARSE_D2I_H

#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/digest.h"
#include "core/timeutil.h"
#include "inventory/certparse.h"

/* ---- parsing -------------------------------------------------------------- */

static const char hexd[] = "0123456789abcdef";

static struct val
hex_val(struct arena *a, const unsigned char *p, size_t n)
{
    char *s = arena_alloc(a, 2 * n + 1);

    for (size_t i = 0; i < n; i++) {
        s[2 * i] = hexd[p[i] >> 4];
        s[2 * i + 1] = hexd[p[i] & 15];
    }
    s[2 * n] = '\0';
    return val_str((struct str){ s, 2 * n });
}

/* A copy that is valid UTF-8: each byte of an ill-formed sequence, and NUL,
 * becomes U+FFFD. Certificates carry whatever their issuer wrote. */
static struct val
utf8_val(struct arena *a, const unsigned char *p, size_t n)
{
    char  *s;
    size_t o = 0;

    if (utf8_valid((const char *)p, n) && memchr(p, 0, n) == NULL)
        return val_str(arena_str(a, (struct str){ (const char *)p, n }));
    s = arena_alloc(a, 3 * n + 1);
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        while (k <= 4 && i + k <= n && !utf8_valid((const char *)p + i, k))
            k++;
        if (p[i] != 0 && k <= 4 && i + k <= n) {
            memcpy(s + o, p + i, k);
            o += k;
            i += k;
        } else {
            memcpy(s + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    s[o] = '\0';
    return val_str((struct str){ s, o });
}

static struct val
asn1_str_val(struct arena *a, const ASN1_STRING *as)
{
    unsigned char *u = NULL;
    int            n = ASN1_STRING_to_UTF8(&u, as);
    struct val     v;

    /* A string that does not convert (a BMPString of odd length, say) is kept
     * as its raw bytes, cleaned. */
    if (n >= 0)
        v = utf8_val(a, u, (size_t)n);
    else
        v = utf8_val(a, ASN1_STRING_get0_data(as), (size_t)ASN1_STRING_length(as));
    OPENSSL_free(u);
    return v;
}

static struct val
obj_val(struct arena *a, const ASN1_OBJECT *o, int no_name)
{
    char small[128], *s = small;
    int  n = OBJ_obj2txt(small, sizeof(small), o, no_name);

    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(small)) {
        s = arena_alloc(a, (size_t)n + 1);
        OBJ_obj2txt(s, n + 1, o, no_name);
    }
    return val_str(arena_str(a, (struct str){ s, (size_t)n }));
}

/* OpenSSL's short name of an OID (prime256v1, X25519), or its dotted form. */
static struct val
sn_val(struct arena *a, const ASN1_OBJECT *o)
{
    int nid = OBJ_obj2nid(o);

    if (nid != NID_undef && OBJ_nid2sn(nid) != NULL)
        return val_cstr(OBJ_nid2sn(nid));
    return obj_val(a, o, 1);
}

/* RFC 4514 as OpenSSL writes it (XN_FLAG_RFC2253: non-ASCII escaped as \XX).
 * A name whose strings do not convert to UTF-8 is written with every value
 * dumped as #hex of its DER, which OpenSSL cannot fail at. */
static struct val
name_val(struct arena *a, const X509_NAME *nm)
{
    static const unsigned long dump =
        (XN_FLAG_RFC2253 & ~(unsigned long)ASN1_STRFLGS_UTF8_CONVERT) | ASN1_STRFLGS_DUMP_ALL;
    BIO       *bio = NULL;
    char      *p = NULL;
    long       n = 0;
    struct val v = val_cstr("");

    if ((bio = BIO_new(BIO_s_mem())) == NULL)
        goto out;
    if (X509_NAME_print_ex(bio, nm, 0, XN_FLAG_RFC2253) < 0) {
        BIO_reset(bio);
        if (X509_NAME_print_ex(bio, nm, 0, dump) < 0)
            goto out;
    }
    if ((n = BIO_get_mem_data(bio, &p)) > 0 && p != NULL)
        v = utf8_val(a, (const unsigned char *)p, (size_t)n);
out:
    BIO_free(bio);
    return v;
}

/* The first value of attribute `nid` in DER order. */
static void
set_attr(struct arena *a, struct val *m, const char *key, const X509_NAME *nm, int nid)
{
    int i = X509_NAME_get_index_by_NID(nm, nid, -1);

    if (i >= 0)
        val_set(a, m, key,
                asn1_str_val(a, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i))));
}

static void
set_time(struct arena *a, struct val *m, const char *key, const ASN1_TIME *t)
{
    struct tm tm;
    char      s[TIME_RFC3339_LEN + 1];

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return; /* a time OpenSSL cannot read: the field is absent */
    time_format((int64_t)timegm(&tm) * 1000, s);
    val_set(a, m, key, val_str(arena_str(a, str_c(s))));
}

/* Lowercase hex of the magnitude, two digits a byte, "-" first when negative:
 * `openssl x509 -serial` in lowercase, and pki_serial_hex without its cap. */
static struct val
serial_val(struct arena *a, const ASN1_INTEGER *sn)
{
    const unsigned char *p = ASN1_STRING_get0_data(sn);
    int                  n = ASN1_STRING_length(sn);
    bool                 neg = ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER;
    struct val           h;
    char                *s;

    if (p == NULL || n <= 0)
        return val_cstr("00");
    h = hex_val(a, p, (size_t)n);
    if (!neg)
        return h;
    s = arena_alloc(a, h.s.len + 2);
    s[0] = '-';
    memcpy(s + 1, h.s.p, h.s.len + 1);
    return val_str((struct str){ s, h.s.len + 1 });
}

static void
set_san(struct arena *a, struct val *m, X509 *x, bool *truncated)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    struct val     dns = val_arr(), ips = val_arr(), uris = val_arr(), emails = val_arr();
    size_t         kept = 0;
    int            n = sk_GENERAL_NAME_num(gens);

    for (int i = 0; i < n; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        const ASN1_STRING  *s;
        char                ip[INET6_ADDRSTRLEN];
        struct val         *list;

        switch (g->type) {
        case GEN_DNS:
            list = &dns, s = g->d.dNSName;
            break;
        case GEN_EMAIL:
            list = &emails, s = g->d.rfc822Name;
            break;
        case GEN_URI:
            list = &uris, s = g->d.uniformResourceIdentifier;
            break;
        case GEN_IPADD:
            list = &ips, s = g->d.iPAddress;
            /* Other lengths (a network and mask belong in name constraints)
             * are not addresses: left out. */
            if (s->length != 4 && s->length != 16)
                continue;
            break;
        default:
            continue; /* otherName, directoryName, ...: not kept */
        }
        if (kept == INV_LIST_MAX) {
            *truncated = true;
            break;
        }
        kept++;
        if (list != &ips) {
            val_push(a, list, asn1_str_val(a, s));
        } else {
            inet_ntop(s->length == 4 ? AF_INET : AF_INET6, s->data, ip, sizeof(ip));
            val_push(a, list, val_str(arena_str(a, str_c(ip))));
        }
    }
    GENERAL_NAMES_free(gens);
    if (dns.a.n > 0)
        val_set(a, m, "dnsNames", dns);
    if (ips.a.n > 0)
        val_set(a, m, "ipAddresses", ips);
    if (uris.a.n > 0)
        val_set(a, m, "uris", uris);
    if (emails.a.n > 0)
        val_set(a, m, "emails", emails);
}

static void
set_key_ids(struct arena *a, struct val *m, X509 *x)
{
    ASN1_OCTET_STRING *ski = X509_get_ext_d2i(x, NID_subject_key_identifier, NULL, NULL);
    AUTHORITY_KEYID   *aki = X509_get_ext_d2i(x, NID_authority_key_identifier, NULL, NULL);

    if (ski != NULL)
        val_set(a, m, "subjectKeyIdentifier",
                hex_val(a, ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski)));
    if (aki != NULL && aki->keyid != NULL)
        val_set(a, m, "authorityKeyIdentifier",
                hex_val(a, ASN1_STRING_get0_data(aki->keyid),
                        (size_t)ASN1_STRING_length(aki->keyid)));
    ASN1_OCTET_STRING_free(ski);
    AUTHORITY_KEYID_free(aki);
}

static void
set_constraints(struct arena *a, struct val *m, X509 *x)
{
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
    int64_t            pl;

    val_set(a, m, "isCA", val_bool(bc != NULL && bc->ca));
    /* Absent when the certificate sets none (no limit), or one past int64. */
    if (bc != NULL && bc->pathlen != NULL && ASN1_INTEGER_get_int64(&pl, bc->pathlen) == 1)
        val_set(a, m, "pathLength", val_int(pl));
    BASIC_CONSTRAINTS_free(bc);
}

static const char *
curve_name(int nid)
{
    switch (nid) {
    case NID_X9_62_prime256v1:
        return "P256";
    case NID_secp384r1:
        return "P384";
    case NID_secp521r1:
        return "P521";
    default:
        return NULL;
    }
}

/* The algorithm and curve come from the SubjectPublicKeyInfo OIDs, so they are
 * known even for a key OpenSSL cannot decode; the size needs the decoded key. */
static void
set_key(struct arena *a, struct val *m, X509 *x)
{
    X509_PUBKEY *xpk = X509_get_X509_PUBKEY(x);
    ASN1_OBJECT *alg = NULL;
    X509_ALGOR  *pa = NULL;
    const void  *pval = NULL;
    int          ptype = V_ASN1_UNDEF, nid;
    EVP_PKEY    *pk;
    const char  *name = NULL;

    if (xpk == NULL || X509_PUBKEY_get0_param(&alg, NULL, NULL, &pa, xpk) != 1)
        return;
    switch ((nid = OBJ_obj2nid(alg))) {
    case NID_rsaEncryption:
    case NID_rsassaPss:
        name = "RSA";
        break;
    case NID_X9_62_id_ecPublicKey:
        name = "EC";
        break;
    case NID_ED25519:
        name = "ED25519";
        break;
    case NID_ED448:
        name = "ED448";
        break;
    case NID_dsa:
        name = "DSA";
        break;
    }
    val_set(a, m, "keyAlgorithm", name != NULL ? val_cstr(name) : sn_val(a, alg));
    if ((pk = X509_get0_pubkey(x)) != NULL && EVP_PKEY_get_bits(pk) > 0)
        val_set(a, m, "keySize", val_int(EVP_PKEY_get_bits(pk)));
    if (nid != NID_X9_62_id_ecPublicKey || pa == NULL)
        return;
    X509_ALGOR_get0(NULL, &ptype, &pval, pa);
    if (ptype != V_ASN1_OBJECT || pval == NULL)
        return; /* explicit curve parameters: no name to give */
    name = curve_name(OBJ_obj2nid(pval));
    val_set(a, m, "keyCurve", name != NULL ? val_cstr(name) : sn_val(a, pval));
}

static void
set_key_usage(struct arena *a, struct val *m, X509 *x)
{
    static const char *const names[] = {
        "digitalSignature", "nonRepudiation", "keyEncipherment",
        "dataEncipherment", "keyAgreement",   "keyCertSign",
        "cRLSign",          "encipherOnly",   "decipherOnly",
    };
    ASN1_BIT_STRING *ku = X509_get_ext_d2i(x, NID_key_usage, NULL, NULL);
    struct val       l = val_arr();

    if (ku == NULL)
        return;
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (ASN1_BIT_STRING_get_bit(ku, (int)i))
            val_push(a, &l, val_cstr(names[i]));
    ASN1_BIT_STRING_free(ku);
    val_set(a, m, "keyUsages", l);
}

static void
set_eku(struct arena *a, struct val *m, X509 *x, bool *truncated)
{
    static const struct {
        int         nid;
        const char *name;
    } known[] = {
        { NID_server_auth, "serverAuth" },
        { NID_client_auth, "clientAuth" },
        { NID_code_sign, "codeSigning" },
        { NID_email_protect, "emailProtection" },
        { NID_time_stamp, "timeStamping" },
        { NID_OCSP_sign, "OCSPSigning" },
        { NID_anyExtendedKeyUsage, "anyExtendedKeyUsage" },
    };
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    struct val          l = val_arr();
    int                 n = sk_ASN1_OBJECT_num(eku);

    if (eku == NULL)
        return;
    for (int i = 0; i < n; i++) {
        const ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
        int                nid = OBJ_obj2nid(o);
        const char        *name = NULL;

        if (i == INV_LIST_MAX) {
            *truncated = true;
            break;
        }
        for (size_t k = 0; k < ARRAY_LEN(known) && name == NULL; k++)
            if (known[k].nid == nid)
                name = known[k].name;
        val_push(a, &l, name != NULL ? val_cstr(name) : obj_val(a, o, 1));
    }
    EXTENDED_KEY_USAGE_free(eku);
    val_set(a, m, "extendedKeyUsages", l);
}

static int
ref_inv_parse(struct arena *a, const unsigned char *der, size_t len, struct val *out,
          struct errbuf *eb)
{
    const unsigned char *p = der;
    X509                *x = NULL;
    const X509_ALGOR    *sig = NULL;
    const ASN1_OBJECT   *sigobj = NULL;
    const X509_NAME     *subj, *iss;
    EVP_PKEY            *pk;
    unsigned char        sha1[EVP_MAX_MD_SIZE];
    unsigned int         sha1len = 0;
    char                 fp[2 * SHA256_LEN + 1];
    bool                 truncated = false;
    int                  rc;

    *out = val_map();
    if (len > INV_DER_MAX) {
        rc = errbuf_attr(eb, E_VALIDATION, "certificate", "The certificate %s",
                         inv_reason_str(INV_R_TOO_BIG));
        goto out;
    }
    if (der == NULL || len == 0 || (x = d2i_X509(NULL, &p, (long)len)) == NULL ||
        p != der + len) {
        rc = errbuf_attr(eb, E_VALIDATION, "certificate", "The input %s",
                         inv_reason_str(INV_R_NOT_CERT));
        goto out;
    }
    digest_sha256_hex(der, len, fp);
    val_set(a, out, "fingerprint", val_str(arena_str(a, str_c(fp))));
    if (EVP_Digest(der, len, sha1, &sha1len, EVP_sha1(), NULL) == 1)
        val_set(a, out, "fingerprintSHA1", hex_val(a, sha1, sha1len));
    val_set(a, out, "serialNumber", serial_val(a, X509_get0_serialNumber(x)));
    subj = X509_get_subject_name(x);
    iss = X509_get_issuer_name(x);
    val_set(a, out, "subject", name_val(a, subj));
    val_set(a, out, "issuer", name_val(a, iss));
    set_attr(a, out, "subjectCN", subj, NID_commonName);
    set_attr(a, out, "subjectO", subj, NID_organizationName);
    set_attr(a, out, "subjectOU", subj, NID_organizationalUnitName);
    set_attr(a, out, "subjectL", subj, NID_localityName);
    set_attr(a, out, "subjectST", subj, NID_stateOrProvinceName);
    set_attr(a, out, "subjectC", subj, NID_countryName);
    set_attr(a, out, "issuerCN", iss, NID_commonName);
    set_san(a, out, x, &truncated);
    set_key_ids(a, out, x);
    pk = X509_get0_pubkey(x);
    val_set(a, out, "selfSigned",
            val_bool(X509_NAME_cmp(subj, iss) == 0 && pk != NULL && X509_verify(x, pk) == 1));
    set_constraints(a, out, x);
    set_key(a, out, x);
    X509_get0_signature(NULL, &sig, x);
    X509_ALGOR_get0(&sigobj, NULL, NULL, sig);
    if (sigobj != NULL)
        val_set(a, out, "signatureAlgorithm", obj_val(a, sigobj, 0));
    set_key_usage(a, out, x);
    set_eku(a, out, x, &truncated);
    set_time(a, out, "validityStart", X509_get0_notBefore(x));
    set_time(a, out, "validityEnd", X509_get0_notAfter(x));
    if (truncated)
        val_set(a, out, "truncated", val_bool(true));
    rc = E_OK;
out:
    X509_free(x);
    ERR_clear_error();
    return rc;
}

#endif
