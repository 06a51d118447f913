/* crl.c - see status.h: revocation reasons and full CRLs (RFC 5280 section 5).
 *
 * The TBSCertList is written here as DER, and signer.c signs it. OpenSSL's
 * X509_CRL took 1.3 s and 50 MB for 100,000 entries (an object per field,
 * each encoded again for every enclosing length, twice: to sign and to
 * answer); DER is a few fixed shapes, written from a sorted array. */
#include "status.h"

#include <stdlib.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#define CRL_ENTRIES_MAX 4000000      /* per CA; beyond, a CRL of 180 MB helps nobody */
#define ENTRY_DER_MAX   80           /* SEQUENCE { INTEGER, Time, SEQUENCE { reasonCode } } */
#define TIME_DER_MAX    17           /* GeneralizedTime: 2 + "YYYYMMDDHHMMSSZ" */
#define TIME_S_MAX      253402300799 /* 9999-12-31T23:59:59Z */
#define SIG_ALG_MAX     128
#define SIG_MAX         1024 /* RSA 8192 */

enum {
    T_INTEGER = 0x02,
    T_BITSTRING = 0x03,
    T_OCTETS = 0x04,
    T_OID = 0x06,
    T_ENUMERATED = 0x0a,
    T_UTCTIME = 0x17,
    T_GENTIME = 0x18,
    T_SEQUENCE = 0x30,
    T_EXPLICIT0 = 0xa0,
    T_KEYID = 0x80
};

/* id-ce-cRLNumber, id-ce-authorityKeyIdentifier */
static const unsigned char oid_number[] = { T_OID, 3, 0x55, 0x1d, 0x14 };
static const unsigned char oid_aki[] = { T_OID, 3, 0x55, 0x1d, 0x23 };
static const unsigned char version_2[] = { T_INTEGER, 1, 1 };
/* crlEntryExtensions { Extension { id-ce-cRLReasons, OCTET STRING { ENUMERATED
 * (the code follows) } } } */
static const unsigned char reason_ext[] = {
    T_SEQUENCE, 12, T_SEQUENCE, 10, T_OID, 3, 0x55, 0x1d, 0x15, T_OCTETS, 3, T_ENUMERATED, 1
};

const char *const pki_reason_names[] = {
    "unspecified",     "keyCompromise",
    "cACompromise",    "affiliationChanged",
    "superseded",      "cessationOfOperation",
    "certificateHold", "privilegeWithdrawn",
    "aACompromise",    NULL,
};

/* Every code's name, by code (7 is unassigned). */
static const char *const reason_by_code[] = {
    "unspecified",   "keyCompromise",        "cACompromise",    "affiliationChanged",
    "superseded",    "cessationOfOperation", "certificateHold", NULL,
    "removeFromCRL", "privilegeWithdrawn",   "aACompromise",
};

int
pki_reason_parse(const char *name)
{
    for (int code = 0; name != NULL && code < (int)ARRAY_LEN(reason_by_code); code++)
        if (reason_by_code[code] != NULL && code != PKI_REASON_REMOVE_FROM_CRL &&
            strcmp(name, reason_by_code[code]) == 0)
            return code;
    return -1;
}

const char *
pki_reason_name(int code)
{
    if (code < 0 || code >= (int)ARRAY_LEN(reason_by_code))
        return NULL;
    return reason_by_code[code];
}

/* A reason a full CRL may carry (removeFromCRL is for delta CRLs). */
static bool
reason_ok(int code)
{
    return pki_reason_name(code) != NULL && code != PKI_REASON_REMOVE_FROM_CRL;
}

/* ---- DER ------------------------------------------------------------------------ */

/* Tag and definite length (X.690 8.1.3) into h[6]; returns their size. */
static size_t
head_write(unsigned char h[6], unsigned char tag, size_t len)
{
    size_t n = 0, bytes = 0;

    h[n++] = tag;
    if (len < 0x80) {
        h[n++] = (unsigned char)len;
        return n;
    }
    for (size_t l = len; l > 0; l >>= 8)
        bytes++;
    h[n++] = (unsigned char)(0x80 | bytes);
    while (bytes-- > 0)
        h[n++] = (unsigned char)(len >> (8 * bytes));
    return n;
}

static int
head_put(struct buf *b, unsigned char tag, size_t len)
{
    unsigned char h[6];

    if (len > UINT32_MAX)
        return E_TOOBIG;
    return buf_append(b, h, head_write(h, tag, len));
}

static int
tlv_put(struct buf *b, unsigned char tag, const void *p, size_t len)
{
    int rc = head_put(b, tag, len);

    return rc != E_OK ? rc : buf_append(b, p, len);
}

static size_t
head_len(size_t len)
{
    unsigned char h[6];

    return head_write(h, 0, len);
}

static void
two_digits(unsigned char *out, int v)
{
    out[0] = (unsigned char)('0' + v / 10 % 10);
    out[1] = (unsigned char)('0' + v % 10);
}

/* A time a CRL can hold: from 1970 (we write no earlier one) to 9999. */
static bool
time_ok(int64_t ms)
{
    return ms >= 0 && ms / 1000 <= TIME_S_MAX;
}

/* UTCTime for the years 1950 to 2049, GeneralizedTime for the others (RFC
 * 5280 5.1.2.4), into out[TIME_DER_MAX]; returns the size, 0 when the time
 * cannot be written. */
static size_t
time_write(int64_t ms, unsigned char *out)
{
    time_t    t;
    struct tm tm;
    int       year;
    size_t    n = 2;

    if (!time_ok(ms))
        return 0;
    t = (time_t)(ms / 1000);
    if (gmtime_r(&t, &tm) == NULL)
        return 0;
    year = tm.tm_year + 1900;
    out[0] = year >= 1950 && year < 2050 ? T_UTCTIME : T_GENTIME;
    if (out[0] == T_GENTIME) {
        two_digits(out + n, year / 100);
        n += 2;
    }
    int parts[] = { year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec };
    for (size_t i = 0; i < ARRAY_LEN(parts); i++, n += 2)
        two_digits(out + n, parts[i]);
    out[n++] = 'Z';
    out[1] = (unsigned char)(n - 2);
    return n;
}

static int
time_put(struct buf *b, int64_t ms)
{
    unsigned char t[TIME_DER_MAX];
    size_t        n = time_write(ms, t);

    return n > 0 ? buf_append(b, t, n) : E_INTERNAL;
}

/* ---- entries ------------------------------------------------------------------ */

/* A revoked certificate as it is written: its serial as the INTEGER's
 * content (minimal, positive). */
struct entry {
    int64_t       time_ms;
    int           reason;
    unsigned char len;
    unsigned char serial[PKI_SERIAL_MAX + 1]; /* + the 0 octet of a high first bit */
};

static int
hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Lowercase hex of a positive serial (pki_serial_hex's form; the console's
 * CAs issue no other) into its minimal INTEGER content. */
static bool
serial_read(const char *hex, struct entry *e)
{
    unsigned char mag[PKI_SERIAL_MAX];
    size_t        n = hex != NULL ? strnlen(hex, 2 * PKI_SERIAL_MAX + 1) : 0;
    size_t        bytes = (n + 1) / 2, skip = 0;

    if (n == 0 || n > 2 * PKI_SERIAL_MAX)
        return false;
    memset(mag, 0, sizeof(mag));
    for (size_t i = 0; i < n; i++) {
        int    v = hex_val(hex[i]);
        size_t nibble = i + (n & 1); /* an odd count starts with an implicit 0 */
        if (v < 0)
            return false;
        mag[nibble / 2] |= (unsigned char)(nibble % 2 == 0 ? v << 4 : v);
    }
    while (skip + 1 < bytes && mag[skip] == 0)
        skip++;
    e->len = 0;
    if (mag[skip] & 0x80)
        e->serial[e->len++] = 0;
    memcpy(e->serial + e->len, mag + skip, bytes - skip);
    e->len = (unsigned char)(e->len + bytes - skip);
    return true;
}

/* Serial order: for minimal positive INTEGERs, shorter is smaller. */
static int
entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->serial, y->serial, x->len);
}

/* What is wrong with one of the caller's entries, or NULL; e gets it. */
static const char *
entry_read(const struct pki_revoked *r, struct entry *e)
{
    if (!serial_read(r->serial, e))
        return "the serial is not positive lowercase hex of at most 32 bytes";
    if (!reason_ok(r->reason))
        return "the reason is none a full CRL carries";
    if (!time_ok(r->time_ms))
        return "the time is before 1970 or after 9999";
    e->time_ms = r->time_ms;
    e->reason = r->reason;
    return NULL;
}

/* The caller's entries, read and sorted by serial (a relying party reads them
 * in any order; sorted, two builds of one state give the same bytes). */
static int
entries_read(const struct pki_revoked *v, size_t n, struct entry **out, struct errbuf *eb)
{
    struct entry *e = n > 0 ? calloc(n, sizeof(*e)) : NULL;
    const char   *why;

    *out = NULL;
    if (n > 0 && e == NULL)
        return errbuf_set(eb, E_INTERNAL, "crl: out of memory");
    for (size_t i = 0; i < n; i++)
        if ((why = entry_read(&v[i], &e[i])) != NULL) {
            free(e);
            return errbuf_set(eb, E_INTERNAL, "crl: revoked entry %zu: %s", i, why);
        }
    if (n > 1)
        qsort(e, n, sizeof(*e), entry_cmp);
    for (size_t i = 1; i < n; i++)
        if (entry_cmp(&e[i - 1], &e[i]) == 0) {
            free(e);
            return errbuf_set(eb, E_INTERNAL, "crl: a serial is revoked twice");
        }
    *out = e;
    return E_OK;
}

/* SEQUENCE { userCertificate, revocationDate, crlEntryExtensions { reasonCode
 * } }; the reason left out when unspecified (RFC 5280 5.3.1). Every part
 * is short: the lengths are single octets. */
static size_t
entry_write(const struct entry *e, unsigned char out[ENTRY_DER_MAX])
{
    size_t n = 2, t;

    out[n++] = T_INTEGER;
    out[n++] = e->len;
    memcpy(out + n, e->serial, e->len);
    n += e->len;
    if ((t = time_write(e->time_ms, out + n)) == 0)
        return 0;
    n += t;
    if (e->reason != PKI_REASON_UNSPECIFIED) {
        memcpy(out + n, reason_ext, sizeof(reason_ext));
        n += sizeof(reason_ext);
        out[n++] = (unsigned char)e->reason;
    }
    out[0] = T_SEQUENCE;
    out[1] = (unsigned char)(n - 2);
    return n;
}

static int
entries_put(const struct entry *e, size_t n, struct buf *b, struct errbuf *eb)
{
    unsigned char der[ENTRY_DER_MAX];
    size_t        len;

    for (size_t i = 0; i < n; i++)
        if ((len = entry_write(&e[i], der)) == 0 || buf_append(b, der, len) != E_OK)
            return errbuf_set(eb, E_INTERNAL, "crl: cannot write the revoked entries");
    return E_OK;
}

/* ---- the CRL ------------------------------------------------------------------ */

/* The CA's key identifier: its SKI, or, for a CA certificate without one,
 * the SHA-1 of its key (RFC 5280 4.2.1.2, method 1). */
static int
keyid_put(const struct ca *ca, struct buf *b)
{
    const X509        *x = pki_ca_cert(ca);
    ASN1_OCTET_STRING *ski = X509_get_ext_d2i(x, NID_subject_key_identifier, NULL, NULL);
    unsigned char      md[EVP_MAX_MD_SIZE];
    unsigned int       len = 0;
    int                rc = E_INTERNAL;

    if (ski != NULL)
        rc = tlv_put(b, T_KEYID, ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski));
    else if (X509_pubkey_digest(x, EVP_sha1(), md, &len) == 1)
        rc = tlv_put(b, T_KEYID, md, len);
    ASN1_OCTET_STRING_free(ski);
    return rc;
}

/* Extension ::= SEQUENCE { extnID, extnValue OCTET STRING }, non-critical. */
static int
ext_put(struct buf *b, const unsigned char *oid, size_t oid_len, const struct buf *value)
{
    size_t inner = oid_len + head_len(value->len) + value->len;
    int    rc;

    if ((rc = head_put(b, T_SEQUENCE, inner)) != E_OK ||
        (rc = buf_append(b, oid, oid_len)) != E_OK)
        return rc;
    return tlv_put(b, T_OCTETS, value->p, value->len);
}

/* CRLNumber ::= INTEGER (0..MAX), up to 20 octets; a uint64_t takes 9. */
static int
number_put(struct buf *b, uint64_t number)
{
    unsigned char v[9];
    size_t        n = 0, skip = 0;

    v[n++] = 0;
    for (int i = 7; i >= 0; i--)
        v[n++] = (unsigned char)(number >> (8 * i));
    while (skip + 1 < n && v[skip] == 0 && !(v[skip + 1] & 0x80))
        skip++;
    return tlv_put(b, T_INTEGER, v + skip, n - skip);
}

/* [0] EXPLICIT Extensions { authorityKeyIdentifier, cRLNumber }. */
static int
crl_exts_put(const struct ca *ca, uint64_t number, struct buf *b)
{
    struct buf keyid, aki, num, exts;
    int        rc;

    buf_init(&keyid, 256);
    buf_init(&aki, 256);
    buf_init(&num, 16);
    buf_init(&exts, 512);
    if ((rc = keyid_put(ca, &keyid)) == E_OK &&
        (rc = tlv_put(&aki, T_SEQUENCE, keyid.p, keyid.len)) == E_OK &&
        (rc = number_put(&num, number)) == E_OK &&
        (rc = ext_put(&exts, oid_aki, sizeof(oid_aki), &aki)) == E_OK &&
        (rc = ext_put(&exts, oid_number, sizeof(oid_number), &num)) == E_OK &&
        (rc = head_put(b, T_EXPLICIT0, head_len(exts.len) + exts.len)) == E_OK)
        rc = tlv_put(b, T_SEQUENCE, exts.p, exts.len);
    buf_free(&exts);
    buf_free(&num);
    buf_free(&aki);
    buf_free(&keyid);
    return rc;
}

/* version, signature, issuer, thisUpdate, nextUpdate. */
static int
crl_head_put(const struct ca *ca, int64_t this_ms, int64_t next_ms, struct buf *b)
{
    unsigned char *issuer = NULL;
    int            len = i2d_X509_NAME(X509_get_subject_name(pki_ca_cert(ca)), &issuer);
    int            rc = E_INTERNAL;

    if (len > 0 && (rc = buf_append(b, version_2, sizeof(version_2))) == E_OK &&
        (rc = pki_ca_sig_alg(ca, b)) == E_OK &&
        (rc = buf_append(b, issuer, (size_t)len)) == E_OK &&
        (rc = time_put(b, this_ms)) == E_OK)
        rc = time_put(b, next_ms);
    OPENSSL_free(issuer);
    return rc;
}

/* TBSCertList ::= SEQUENCE { head, revokedCertificates (absent when empty,
 * RFC 5280 5.1.2.6), [0] crlExtensions }. */
static int
tbs_put(const struct buf *head, const struct buf *entries, const struct buf *exts,
        struct buf *tbs)
{
    size_t list = entries->len > 0 ? head_len(entries->len) + entries->len : 0;
    int    rc;

    if ((rc = head_put(tbs, T_SEQUENCE, head->len + list + exts->len)) != E_OK ||
        (rc = buf_append(tbs, head->p, head->len)) != E_OK ||
        (entries->len > 0 && (rc = tlv_put(tbs, T_SEQUENCE, entries->p, entries->len)) != E_OK))
        return rc;
    return buf_append(tbs, exts->p, exts->len);
}

/* CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }. */
static int
crl_put(const struct ca *ca, const struct buf *tbs, struct buf *der, struct errbuf *eb)
{
    struct buf alg, sig;
    size_t     start = der->len;
    int        rc;

    buf_init(&alg, SIG_ALG_MAX);
    buf_init(&sig, SIG_MAX);
    if ((rc = pki_ca_sign_crl(ca, buf_str(tbs), &sig, eb)) != E_OK)
        goto out;
    if (pki_ca_sig_alg(ca, &alg) != E_OK ||
        head_put(der, T_SEQUENCE, tbs->len + alg.len + head_len(sig.len + 1) + sig.len + 1) !=
            E_OK ||
        buf_append(der, tbs->p, tbs->len) != E_OK || buf_append(der, alg.p, alg.len) != E_OK ||
        head_put(der, T_BITSTRING, sig.len + 1) != E_OK ||
        buf_putc(der, 0) != E_OK || /* no unused bits */
        buf_append(der, sig.p, sig.len) != E_OK)
        rc = errbuf_set(eb, E_INTERNAL, "crl: cannot write it (%zu bytes)", tbs->len);
out:
    if (rc != E_OK && der->p != NULL) { /* nothing of it appended */
        der->len = start;
        der->p[start] = '\0';
    }
    buf_free(&sig);
    buf_free(&alg);
    return rc;
}

int
pki_crl_build(const struct ca *ca, const struct pki_revoked *v, size_t n,
              int64_t this_update_ms, int64_t next_update_ms, uint64_t number, struct buf *der,
              struct errbuf *eb)
{
    struct entry *e = NULL;
    struct buf    head, entries, exts, tbs;
    int           rc;

    if (n > CRL_ENTRIES_MAX)
        return errbuf_set(eb, E_INTERNAL, "crl: more than %d revoked entries", CRL_ENTRIES_MAX);
    buf_init(&head, 4096);
    buf_init(&entries, n * ENTRY_DER_MAX + 1);
    buf_init(&exts, 1024);
    buf_init(&tbs, 0);
    if ((rc = entries_read(v, n, &e, eb)) != E_OK ||
        (rc = entries_put(e, n, &entries, eb)) != E_OK)
        goto out;
    if ((rc = crl_head_put(ca, this_update_ms, next_update_ms, &head)) != E_OK ||
        (rc = crl_exts_put(ca, number, &exts)) != E_OK ||
        (rc = tbs_put(&head, &entries, &exts, &tbs)) != E_OK) {
        rc = errbuf_set(eb, E_INTERNAL, "crl: cannot write it");
        goto out;
    }
    rc = crl_put(ca, &tbs, der, eb);
out:
    buf_free(&tbs);
    buf_free(&exts);
    buf_free(&entries);
    buf_free(&head);
    free(e);
    ERR_clear_error();
    return rc;
}
