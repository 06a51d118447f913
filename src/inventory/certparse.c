/* certparse.c - see certparse.h and docs/inventory.md.
 *
 * Splitting is done by hand rather than with PEM_read_bio: OpenSSL's reader
 * decodes every block it meets, a private key included, into memory it does not
 * wipe, and skips text between blocks silently. Here a private key block is
 * recognised by its BEGIN line and never decoded, and anything but whitespace
 * outside the blocks refuses the input.
 */
#include "certparse.h"

#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../core/digest.h"
#include "../core/rnd.h"
#include "../core/timeutil.h"

static const char *const reasons[] = {
    [INV_R_OK] = "ok",
    [INV_R_EMPTY] = "is empty",
    [INV_R_TOO_BIG] = "is too large",
    [INV_R_TOO_MANY] = "holds too many certificates",
    [INV_R_PRIVATE_KEY] = "holds a private key, which is not accepted",
    [INV_R_GARBAGE] = "is not PEM, base64 or DER, or has text outside its PEM blocks",
    [INV_R_TRUNCATED] = "has a PEM block without its END line",
    [INV_R_BAD_BASE64] = "has a PEM block whose body is not base64",
    [INV_R_UNSUPPORTED] = "has a PEM block that is neither CERTIFICATE nor PKCS7",
    [INV_R_NOT_CERT] = "is not an X.509 certificate",
    [INV_R_BAD_PKCS7] = "is a PKCS#7 structure that is not certs-only SignedData",
    [INV_R_EMPTY_PKCS7] = "is a PKCS#7 bundle without certificates",
};

const char *
inv_reason_str(enum inv_reason r)
{
    if ((size_t)r >= ARRAY_LEN(reasons) || reasons[r] == NULL)
        return "is invalid";
    return reasons[r];
}

/* ---- splitting ------------------------------------------------------------ */

#define BEGIN "-----BEGIN "
#define END   "-----END "
#define DASH5 "-----"

static bool
is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Strict standard base64 with padding, whitespace ignored anywhere. Decodes into
 * the arena; false when anything else is found. */
static bool
pem_b64_decode(struct arena *a, const char *p, size_t len, unsigned char **out, size_t *outlen)
{
    unsigned char *d = arena_alloc(a, len / 4 * 3 + 3);
    size_t         n = 0, chars = 0, pad = 0;
    uint32_t       acc = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        int           v;

        if (is_ws(c))
            continue;
        if (c == '=') {
            if (++pad > 2)
                return false;
            v = 0;
        } else if (pad > 0 || (v = b64_digit((char)c, false)) < 0) {
            return false; /* data after padding, or not base64 */
        }
        acc = acc << 6 | (uint32_t)v;
        if (++chars % 4 == 0) {
            d[n++] = (unsigned char)(acc >> 16);
            d[n++] = (unsigned char)(acc >> 8);
            d[n++] = (unsigned char)acc;
            acc = 0;
        }
    }
    if (chars == 0 || chars % 4 != 0)
        return false;
    *out = d;
    *outlen = n - pad;
    return true;
}

static const char *
find(const char *p, const char *end, const char *needle)
{
    size_t n = strlen(needle);

    if ((size_t)(end - p) < n)
        return NULL;
    return memmem(p, (size_t)(end - p), needle, n);
}

/* The label of the BEGIN line at `p` (just past "-----BEGIN "), up to its closing
 * dashes on the same line; false when the line has none. */
static bool
pem_label(const char *p, const char *end, struct str *label, const char **after)
{
    for (const char *q = p; q < end && *q != '\n' && *q != '\r'; q++) {
        if (*q == '-') {
            if ((size_t)(end - q) < 5 || memcmp(q, DASH5, 5) != 0)
                return false;
            *label = (struct str){ p, (size_t)(q - p) };
            *after = q + 5;
            return true;
        }
    }
    return false;
}

/* Any BEGIN line whose label names a private key ("PRIVATE KEY", "RSA PRIVATE
 * KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY", ...), wherever it is.
 * Checked first, so that a key always gets its own refusal. */
static bool
has_private_key(struct str in)
{
    const char *p = in.p, *end = in.p + in.len, *after;
    struct str  label;

    if (find(p, end, "PRIVATE KEY" DASH5) != NULL)
        return true; /* an END line, or a BEGIN line with an odd label */
    while ((p = find(p, end, BEGIN)) != NULL) {
        p += strlen(BEGIN);
        if (pem_label(p, end, &label, &after) &&
            memmem(label.p, label.len, "PRIVATE KEY", 11) != NULL)
            return true;
    }
    return false;
}

struct split {
    struct arena      *a;
    struct inv_blocks *out;
    size_t             cap;
    size_t             source;
    bool               bulk; /* a bundle: a PRIVATE KEY block is a failed entry, and
                                text outside the blocks is skipped */
};

static int
push(struct split *s, enum inv_reason r, const unsigned char *der, size_t len)
{
    struct inv_blocks *o = s->out;

    if (o->n == INV_CERTS_MAX)
        return INV_R_TOO_MANY;
    if (o->n == s->cap) {
        size_t ncap = s->cap ? 2 * s->cap : 8;
        o->v = arena_realloc(s->a, o->v, s->cap * sizeof(*o->v), ncap * sizeof(*o->v));
        s->cap = ncap;
    }
    o->v[o->n] = (struct inv_block){ .index = o->n,
                                     .source = s->source,
                                     .reason = r,
                                     .der = r == INV_R_OK ? der : NULL,
                                     .len = r == INV_R_OK ? len : 0 };
    o->n++;
    if (r == INV_R_OK)
        o->ok++;
    return INV_R_OK;
}

/* The certificates of a PKCS#7 SignedData, each re-encoded (i2d) into the arena. */
static int
push_pkcs7(struct split *s, PKCS7 *p7)
{
    STACK_OF(X509) *certs = NULL;
    int r, n;

    if (!PKCS7_type_is_signed(p7) || p7->d.sign == NULL)
        return push(s, INV_R_BAD_PKCS7, NULL, 0);
    certs = p7->d.sign->cert;
    if ((n = sk_X509_num(certs)) <= 0)
        return push(s, INV_R_EMPTY_PKCS7, NULL, 0);
    for (int i = 0; i < n; i++) {
        X509          *x = sk_X509_value(certs, i);
        int            len = i2d_X509(x, NULL);
        unsigned char *der, *q;

        if (len <= 0 || (size_t)len > INV_DER_MAX) {
            r = push(s, len <= 0 ? INV_R_NOT_CERT : INV_R_TOO_BIG, NULL, 0);
        } else {
            der = q = arena_alloc(s->a, (size_t)len);
            r = i2d_X509(x, &q) == len ? push(s, INV_R_OK, der, (size_t)len)
                                       : push(s, INV_R_NOT_CERT, NULL, 0);
        }
        if (r != INV_R_OK)
            return r;
    }
    return INV_R_OK;
}

/* One DER item: a certificate (the bytes kept as they are) or a PKCS#7 bundle.
 * `pkcs7_only` for PEM PKCS7 blocks. `prefix_ok` for TRUSTED CERTIFICATE blocks,
 * whose certificate is followed by OpenSSL's trust settings. */
/* Whether the DER looks like a certificate: a definite-length SEQUENCE whose
 * first element is a SEQUENCE (the TBSCertificate; a PKCS#7 ContentInfo starts
 * with an OID). *total is the outer value's length. Only the two headers are
 * read: decoding a certificate (its public key above all) is OpenSSL 3's most
 * expensive step, and inv_parse() does it once, for good. */
static bool
looks_like_cert(const unsigned char *der, size_t len, size_t *total)
{
    const unsigned char *p = der, *q;
    long                 n, m;
    int                  tag, cls, r;

    r = ASN1_get_object(&p, &n, &tag, &cls, (long)len);
    if ((r & 0x80) || r != V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE ||
        cls != V_ASN1_UNIVERSAL)
        return false;
    *total = (size_t)(p - der) + (size_t)n;
    q = p;
    r = ASN1_get_object(&q, &m, &tag, &cls, n);
    return !(r & 0x80) && r == V_ASN1_CONSTRUCTED && tag == V_ASN1_SEQUENCE &&
           cls == V_ASN1_UNIVERSAL;
}

static int
push_der(struct split *s, const unsigned char *der, size_t len, bool pkcs7_only, bool prefix_ok)
{
    const unsigned char *p = der;
    PKCS7               *p7 = NULL;
    size_t               total = 0;
    int                  r;

    if (len > INV_DER_MAX || len > LONG_MAX)
        return push(s, INV_R_TOO_BIG, NULL, 0);
    if (!pkcs7_only && looks_like_cert(der, len, &total) && (total == len || prefix_ok))
        return push(s, INV_R_OK, der, total);
    p7 = d2i_PKCS7(NULL, &p, (long)len);
    if (p7 != NULL && p == der + len)
        r = push_pkcs7(s, p7);
    else
        r = push(s, pkcs7_only ? INV_R_BAD_PKCS7 : INV_R_NOT_CERT, NULL, 0);
    PKCS7_free(p7);
    return r;
}

static bool
label_is(struct str label, const char *name)
{
    return str_eq_c(label, name);
}

/* The first BEGIN line at or after p that starts a line, as OpenSSL's PEM
 * reader finds it (text that mentions an armour mid-line is text); `end`
 * when there is none. */
static const char *
line_begin(const char *p, const char *end)
{
    for (const char *at = p; (at = find(at, end, BEGIN)) != NULL; at++)
        if (at == p || at[-1] == '\n' || at[-1] == '\r')
            return at;
    return end;
}

/* PEM: blocks separated by whitespace only, or, in a bundle, by any text
 * (curl's cacert.pem names each root between blocks; `openssl s_client
 * -showcerts` prints subject lines), skipped as OpenSSL's PEM reader skips
 * it. Returns a whole-input reason. */
static int
split_pem(struct split *s, struct str in)
{
    const char *p = in.p, *end = in.p + in.len;

    for (;;) {
        struct str     label, elabel;
        const char    *body, *bend, *after;
        unsigned char *der;
        size_t         len;
        int            r;

        while (p < end && is_ws((unsigned char)*p))
            p++;
        if (p < end && s->bulk &&
            ((size_t)(end - p) < strlen(BEGIN) || memcmp(p, BEGIN, strlen(BEGIN)) != 0)) {
            const char *next = line_begin(p, end);
            if (memmem(p, (size_t)(next - p), "PRIVATE KEY-----", 16) != NULL)
                return INV_R_PRIVATE_KEY; /* a key's armour outside a block */
            p = next;
        }
        if (p == end)
            return INV_R_OK;
        if ((size_t)(end - p) < strlen(BEGIN) || memcmp(p, BEGIN, strlen(BEGIN)) != 0)
            return INV_R_GARBAGE;
        if (!pem_label(p + strlen(BEGIN), end, &label, &body))
            return INV_R_GARBAGE;
        /* The next five dashes must open this block's END line. */
        bend = find(body, end, DASH5);
        if (bend == NULL || (size_t)(end - bend) < strlen(END) ||
            memcmp(bend, END, strlen(END)) != 0 ||
            !pem_label(bend + strlen(END), end, &elabel, &after) || !str_eq(label, elabel))
            return INV_R_TRUNCATED;
        p = after;
        if (label_is(label, "CERTIFICATE") || label_is(label, "X509 CERTIFICATE") ||
            label_is(label, "TRUSTED CERTIFICATE") || label_is(label, "PKCS7") ||
            label_is(label, "PKCS #7 SIGNED DATA")) {
            if (!pem_b64_decode(s->a, body, (size_t)(bend - body), &der, &len))
                r = push(s, INV_R_BAD_BASE64, NULL, 0);
            else
                r = push_der(s, der, len,
                             label_is(label, "PKCS7") || label_is(label, "PKCS #7 SIGNED DATA"),
                             label_is(label, "TRUSTED CERTIFICATE"));
        } else {
            r = push(s,
                     s->bulk && memmem(label.p, label.len, "PRIVATE KEY", 11) != NULL
                         ? INV_R_PRIVATE_KEY /* never decoded */
                         : INV_R_UNSUPPORTED,
                     NULL, 0);
        }
        if (r != INV_R_OK)
            return r;
        s->source++;
    }
}

static bool
all_b64(struct str in)
{
    for (size_t i = 0; i < in.len; i++) {
        unsigned char c = (unsigned char)in.p[i];
        if (!is_ws(c) && c != '=' && b64_digit((char)c, false) < 0)
            return false;
    }
    return true;
}

static struct str
trim_ws(struct str s)
{
    while (s.len > 0 && is_ws((unsigned char)s.p[0]))
        s.p++, s.len--;
    while (s.len > 0 && is_ws((unsigned char)s.p[s.len - 1]))
        s.len--;
    return s;
}

/* Text without its surrounding whitespace, nor a UTF-8 byte-order mark
 * before it (Windows editors write one; OpenSSL's PEM reader skips it as
 * text before the block). */
static struct str
trim_text(struct str in)
{
    struct str t = trim_ws(in);

    if (t.len >= 3 && memcmp(t.p, "\xEF\xBB\xBF", 3) == 0)
        t = trim_ws((struct str){ t.p + 3, t.len - 3 });
    return t;
}

int
inv_split(struct arena *a, struct str input, bool bulk, struct inv_blocks *out,
          struct errbuf *eb)
{
    struct split   s = { .a = a, .out = out, .bulk = bulk };
    struct str     t = trim_text(input);
    unsigned char *der = NULL;
    size_t         len = 0;
    int            r;

    *out = (struct inv_blocks){ 0 };
    if (input.len > INV_INPUT_MAX)
        r = INV_R_TOO_BIG;
    else if (t.len == 0)
        r = INV_R_EMPTY;
    else if (has_private_key(input) && !(bulk && find(t.p, t.p + t.len, BEGIN)))
        r = INV_R_PRIVATE_KEY; /* else split_pem fails its blocks alone */
    else if (find(t.p, t.p + t.len, BEGIN) != NULL)
        r = split_pem(&s, t);
    else if (all_b64(t))
        r = pem_b64_decode(a, t.p, t.len, &der, &len) && len > 0 && der[0] == 0x30
                ? push_der(&s, der, len, false, false)
                : INV_R_GARBAGE;
    else if ((unsigned char)input.p[0] == 0x30)
        r = push_der(&s, (const unsigned char *)arena_str(a, input).p, input.len, false, false);
    else
        r = INV_R_GARBAGE;
    ERR_clear_error();
    if (r != INV_R_OK) {
        out->v = NULL;
        out->n = out->ok = 0;
        out->reason = (enum inv_reason)r;
        return errbuf_attr(eb, E_VALIDATION, "certificate", "The input %s",
                           inv_reason_str(out->reason));
    }
    if (out->ok == 0) {
        enum inv_reason first = out->n > 0 ? out->v[0].reason : INV_R_GARBAGE;
        return errbuf_attr(eb, E_VALIDATION, "certificate",
                           "The input holds no certificate that parses (entry 0 %s)",
                           inv_reason_str(first));
    }
    return E_OK;
}

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

/* ---- the certificate's parts ---------------------------------------------
 *
 * d2i_X509 decodes the SubjectPublicKeyInfo into an EVP_PKEY through OpenSSL
 * 3's decoder framework on every call, which costs more than all the rest of
 * reading a certificate (docs/inventory.md, "Why not d2i_X509"). These
 * templates are OpenSSL's X509 and X509_CINF field for field, except that the
 * key is left as OpenSSL's own X509_PUBKEY holds it before decoding it: an
 * algorithm and a BIT STRING. The same DER is accepted. */

typedef struct {
    X509_ALGOR      *algor;
    ASN1_BIT_STRING *key;
    ASN1_ENCODING    enc; /* its DER, for the rare key OpenSSL must decode */
} cp_spki;

ASN1_SEQUENCE_enc(cp_spki, enc, 0) = {
    ASN1_SIMPLE(cp_spki, algor, X509_ALGOR),
    ASN1_SIMPLE(cp_spki, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END_ref(cp_spki, cp_spki)

typedef struct {
    ASN1_INTEGER    *version;
    ASN1_INTEGER    *serial;
    X509_ALGOR      *signature;
    X509_NAME       *issuer;
    X509_VAL        *validity;
    X509_NAME       *subject;
    cp_spki         *spki;
    ASN1_BIT_STRING *issuer_uid;
    ASN1_BIT_STRING *subject_uid;
    STACK_OF(X509_EXTENSION) * extensions;
} cp_tbs;

ASN1_SEQUENCE(cp_tbs) = {
    ASN1_EXP_OPT(cp_tbs, version, ASN1_INTEGER, 0),
    ASN1_SIMPLE(cp_tbs, serial, ASN1_INTEGER),
    ASN1_SIMPLE(cp_tbs, signature, X509_ALGOR),
    ASN1_SIMPLE(cp_tbs, issuer, X509_NAME),
    ASN1_SIMPLE(cp_tbs, validity, X509_VAL),
    ASN1_SIMPLE(cp_tbs, subject, X509_NAME),
    ASN1_SIMPLE(cp_tbs, spki, cp_spki),
    ASN1_IMP_OPT(cp_tbs, issuer_uid, ASN1_BIT_STRING, 1),
    ASN1_IMP_OPT(cp_tbs, subject_uid, ASN1_BIT_STRING, 2),
    ASN1_EXP_SEQUENCE_OF_OPT(cp_tbs, extensions, X509_EXTENSION, 3),
} static_ASN1_SEQUENCE_END(cp_tbs)

typedef struct {
    cp_tbs          *tbs;
    X509_ALGOR      *sig_alg;
    ASN1_BIT_STRING *signature;
} cp_cert;

ASN1_SEQUENCE(cp_cert) = {
    ASN1_SIMPLE(cp_cert, tbs, cp_tbs),
    ASN1_SIMPLE(cp_cert, sig_alg, X509_ALGOR),
    ASN1_SIMPLE(cp_cert, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(cp_cert)

/* RSAPublicKey and DSA's Dss-Parms, as OpenSSL's own templates read them:
 * INTEGERs as unsigned magnitudes (BIGNUM). */
typedef struct {
    BIGNUM *n, *e;
} cp_rsa_pub;

ASN1_SEQUENCE(cp_rsa_pub) = {
    ASN1_SIMPLE(cp_rsa_pub, n, BIGNUM),
    ASN1_SIMPLE(cp_rsa_pub, e, BIGNUM),
} static_ASN1_SEQUENCE_END(cp_rsa_pub)

typedef struct {
    BIGNUM *p, *q, *g;
} cp_dsa_params;

ASN1_SEQUENCE(cp_dsa_params) = {
    ASN1_SIMPLE(cp_dsa_params, p, BIGNUM),
    ASN1_SIMPLE(cp_dsa_params, q, BIGNUM),
    ASN1_SIMPLE(cp_dsa_params, g, BIGNUM),
} static_ASN1_SEQUENCE_END(cp_dsa_params)

/* Exactly one certificate, all `len` bytes of it; NULL otherwise. */
static cp_cert *
cert_d2i(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    ASN1_VALUE          *v = ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(cp_cert));

    if (v != NULL && p != der + len) {
        ASN1_item_free(v, ASN1_ITEM_rptr(cp_cert));
        v = NULL;
    }
    return (cp_cert *)v;
}

/* ---- key size without decoding the key -------------------------------------
 *
 * keySize is what EVP_PKEY_get_bits says of the key d2i_X509 would decode, and
 * absent when OpenSSL cannot decode it. The common keys are sized here from
 * their DER, with the checks OpenSSL's decoding would make: the RSAPublicKey
 * parses (modulus bits); the EC point is on its named curve (the curve's order
 * bits); the DSA parameters and key parse (bits of p); an EdDSA or X25519/X448
 * key has no parameters and its fixed length (what this OpenSSL says of such a
 * key: 3.0 says 256 for Ed25519, later releases 253). Any other key, or one of
 * these that fails a check, is decoded by OpenSSL (d2i_PUBKEY over the same
 * SubjectPublicKeyInfo), which then gives the answer. Each sizer answers -1
 * for "ask OpenSSL". */

/* Named curves whose group is made once; any other curve goes to OpenSSL (SM2
 * on purpose: OpenSSL makes an SM2 key of it, by rules of its own). */
static const int ec_nids[] = {
    NID_X9_62_prime256v1, NID_secp384r1,        NID_secp521r1,
    NID_secp224r1,        NID_X9_62_prime192v1, NID_secp256k1,
    NID_brainpoolP256r1,  NID_brainpoolP384r1,  NID_brainpoolP512r1,
};

/* Fixed-size keys: the OID's last byte under 1.3.101 and the key's length. */
static const struct {
    int           nid;
    unsigned char oid_last;
    int           len;
} ecx_kinds[] = {
    { NID_X25519, 110, 32 },
    { NID_X448, 111, 56 },
    { NID_ED25519, 112, 32 },
    { NID_ED448, 113, 57 },
};

static struct {
    EC_GROUP *ec[ARRAY_LEN(ec_nids)];
    int       ec_bits[ARRAY_LEN(ec_nids)];
    int       ecx_bits[ARRAY_LEN(ecx_kinds)];
} refs;

static pthread_once_t refs_once = PTHREAD_ONCE_INIT;

/* What this OpenSSL says of a valid key of kind `k` (its length of zeros). */
static int
ecx_reference_bits(size_t k)
{
    unsigned char        spki[12 + 64] = { 0 };
    const unsigned char *p = spki;
    int                  len = ecx_kinds[k].len, bits;
    EVP_PKEY            *pk;

    memcpy(spki, "\x30\x00\x30\x05\x06\x03\x2b\x65\x00\x03\x00\x00", 12);
    spki[1] = (unsigned char)(10 + len);
    spki[8] = ecx_kinds[k].oid_last;
    spki[10] = (unsigned char)(len + 1);
    pk = d2i_PUBKEY(NULL, &p, 12 + len);
    bits = pk != NULL ? EVP_PKEY_get_bits(pk) : -1;
    EVP_PKEY_free(pk);
    return bits > 0 ? bits : -1;
}

static void
refs_init(void)
{
    for (size_t i = 0; i < ARRAY_LEN(ec_nids); i++) {
        refs.ec[i] = EC_GROUP_new_by_curve_name(ec_nids[i]);
        refs.ec_bits[i] = refs.ec[i] != NULL ? EC_GROUP_order_bits(refs.ec[i]) : -1;
    }
    for (size_t i = 0; i < ARRAY_LEN(ecx_kinds); i++)
        refs.ecx_bits[i] = ecx_reference_bits(i);
    ERR_clear_error();
}

static int
rsa_bits(const ASN1_BIT_STRING *key)
{
    const unsigned char *p = ASN1_STRING_get0_data(key);
    ASN1_VALUE          *v;
    int                  bits;

    if (p == NULL)
        return -1;
    v = ASN1_item_d2i(NULL, &p, ASN1_STRING_length(key), ASN1_ITEM_rptr(cp_rsa_pub));
    bits = v != NULL ? BN_num_bits(((cp_rsa_pub *)v)->n) : -1;
    ASN1_item_free(v, ASN1_ITEM_rptr(cp_rsa_pub));
    return bits;
}

static int
ec_bits(const ASN1_OBJECT *curve, const ASN1_BIT_STRING *key)
{
    int       nid = OBJ_obj2nid(curve), bits = -1;
    size_t    i = 0;
    EC_POINT *pt;

    while (i < ARRAY_LEN(ec_nids) && ec_nids[i] != nid)
        i++;
    if (i == ARRAY_LEN(ec_nids) || refs.ec[i] == NULL ||
        (pt = EC_POINT_new(refs.ec[i])) == NULL)
        return -1;
    if (EC_POINT_oct2point(refs.ec[i], pt, ASN1_STRING_get0_data(key),
                           (size_t)ASN1_STRING_length(key), NULL) == 1)
        bits = refs.ec_bits[i];
    EC_POINT_free(pt);
    return bits;
}

static int
dsa_bits(const ASN1_STRING *params, const ASN1_BIT_STRING *key)
{
    const unsigned char *p = ASN1_STRING_get0_data(params), *y = ASN1_STRING_get0_data(key);
    ASN1_VALUE          *v = NULL;
    ASN1_INTEGER        *pub = NULL;
    int                  bits = -1;

    if (p != NULL && y != NULL &&
        (v = ASN1_item_d2i(NULL, &p, ASN1_STRING_length(params),
                           ASN1_ITEM_rptr(cp_dsa_params))) != NULL &&
        (pub = d2i_ASN1_INTEGER(NULL, &y, ASN1_STRING_length(key))) != NULL)
        bits = BN_num_bits(((cp_dsa_params *)v)->p);
    ASN1_item_free(v, ASN1_ITEM_rptr(cp_dsa_params));
    ASN1_INTEGER_free(pub);
    return bits;
}

static int
ecx_bits(int nid, int ptype, const ASN1_BIT_STRING *key)
{
    for (size_t i = 0; i < ARRAY_LEN(ecx_kinds); i++)
        if (ecx_kinds[i].nid == nid)
            return ptype == V_ASN1_UNDEF && ASN1_STRING_length(key) == ecx_kinds[i].len
                       ? refs.ecx_bits[i]
                       : -1;
    return -1;
}

/* OpenSSL's own answer: the key decoded as d2i_X509 decodes it. */
static int
decoded_bits(const cp_spki *k)
{
    const unsigned char *p = k->enc.enc;
    EVP_PKEY            *pk;
    int                  bits;

    if (p == NULL || (pk = d2i_PUBKEY(NULL, &p, k->enc.len)) == NULL)
        return 0;
    bits = EVP_PKEY_get_bits(pk);
    EVP_PKEY_free(pk);
    return bits > 0 ? bits : 0;
}

/* keySize, 0 for none. */
static int
key_bits(const cp_spki *k)
{
    const ASN1_OBJECT *alg = NULL;
    const void        *pval = NULL;
    int                ptype = V_ASN1_UNDEF, nid, bits = -1;

    pthread_once(&refs_once, refs_init);
    X509_ALGOR_get0(&alg, &ptype, &pval, k->algor);
    switch ((nid = OBJ_obj2nid(alg))) {
    case NID_rsaEncryption:
        bits = rsa_bits(k->key); /* the parameters are not looked at */
        break;
    case NID_rsassaPss:
        if (ptype == V_ASN1_UNDEF) /* PSS restrictions: OpenSSL checks them */
            bits = rsa_bits(k->key);
        break;
    case NID_X9_62_id_ecPublicKey:
        if (ptype == V_ASN1_OBJECT) /* explicit curves: OpenSSL */
            bits = ec_bits(pval, k->key);
        break;
    case NID_dsa:
        if (ptype == V_ASN1_SEQUENCE)
            bits = dsa_bits(pval, k->key);
        break;
    default:
        bits = ecx_bits(nid, ptype, k->key);
        break;
    }
    return bits >= 0 ? bits : decoded_bits(k);
}

static void
set_san(struct arena *a, struct val *m, const STACK_OF(X509_EXTENSION) * exts, bool *truncated)
{
    GENERAL_NAMES *gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
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
set_key_ids(struct arena *a, struct val *m, const STACK_OF(X509_EXTENSION) * exts)
{
    ASN1_OCTET_STRING *ski = X509V3_get_d2i(exts, NID_subject_key_identifier, NULL, NULL);
    AUTHORITY_KEYID   *aki = X509V3_get_d2i(exts, NID_authority_key_identifier, NULL, NULL);

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
set_constraints(struct arena *a, struct val *m, const STACK_OF(X509_EXTENSION) * exts)
{
    BASIC_CONSTRAINTS *bc = X509V3_get_d2i(exts, NID_basic_constraints, NULL, NULL);
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

static const char *
key_name(int nid)
{
    switch (nid) {
    case NID_rsaEncryption:
    case NID_rsassaPss:
        return "RSA";
    case NID_X9_62_id_ecPublicKey:
        return "EC";
    case NID_ED25519:
        return "ED25519";
    case NID_ED448:
        return "ED448";
    case NID_dsa:
        return "DSA";
    default:
        return NULL;
    }
}

/* The algorithm and curve come from the SubjectPublicKeyInfo OIDs, so they are
 * known even for a key OpenSSL cannot decode; the size from key_bits(). */
static void
set_key(struct arena *a, struct val *m, const cp_spki *k)
{
    const ASN1_OBJECT *alg = NULL;
    const void        *pval = NULL;
    int                ptype = V_ASN1_UNDEF, nid, bits;
    const char        *name;

    X509_ALGOR_get0(&alg, &ptype, &pval, k->algor);
    nid = OBJ_obj2nid(alg);
    name = key_name(nid);
    val_set(a, m, "keyAlgorithm", name != NULL ? val_cstr(name) : sn_val(a, alg));
    if ((bits = key_bits(k)) > 0)
        val_set(a, m, "keySize", val_int(bits));
    if (nid != NID_X9_62_id_ecPublicKey || ptype != V_ASN1_OBJECT || pval == NULL)
        return; /* explicit curve parameters: no name to give */
    name = curve_name(OBJ_obj2nid(pval));
    val_set(a, m, "keyCurve", name != NULL ? val_cstr(name) : sn_val(a, pval));
}

static void
set_key_usage(struct arena *a, struct val *m, const STACK_OF(X509_EXTENSION) * exts)
{
    static const char *const names[] = {
        "digitalSignature", "nonRepudiation", "keyEncipherment",
        "dataEncipherment", "keyAgreement",   "keyCertSign",
        "cRLSign",          "encipherOnly",   "decipherOnly",
    };
    ASN1_BIT_STRING *ku = X509V3_get_d2i(exts, NID_key_usage, NULL, NULL);
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
set_eku(struct arena *a, struct val *m, const STACK_OF(X509_EXTENSION) * exts, bool *truncated)
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
    EXTENDED_KEY_USAGE *eku = X509V3_get_d2i(exts, NID_ext_key_usage, NULL, NULL);
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

/* Subject equal to issuer and the signature verified with the certificate's own
 * key, which needs the key decoded: done by d2i_X509 and X509_verify, for the
 * few certificates named like their issuer (roots, mostly). */
static bool
self_signed(const unsigned char *der, size_t len, const cp_tbs *t)
{
    const unsigned char *p = der;
    X509                *x;
    EVP_PKEY            *pk = NULL;
    bool                 ok;

    if (X509_NAME_cmp(t->subject, t->issuer) != 0)
        return false;
    x = d2i_X509(NULL, &p, (long)len);
    ok = x != NULL && (pk = X509_get0_pubkey(x)) != NULL && X509_verify(x, pk) == 1;
    X509_free(x);
    return ok;
}

static void
set_names(struct arena *a, struct val *out, const cp_tbs *t)
{
    val_set(a, out, "subject", name_val(a, t->subject));
    val_set(a, out, "issuer", name_val(a, t->issuer));
    set_attr(a, out, "subjectCN", t->subject, NID_commonName);
    set_attr(a, out, "subjectO", t->subject, NID_organizationName);
    set_attr(a, out, "subjectOU", t->subject, NID_organizationalUnitName);
    set_attr(a, out, "subjectL", t->subject, NID_localityName);
    set_attr(a, out, "subjectST", t->subject, NID_stateOrProvinceName);
    set_attr(a, out, "subjectC", t->subject, NID_countryName);
    set_attr(a, out, "issuerCN", t->issuer, NID_commonName);
}

/* The fields in the order of API.md 7.1. */
static void
set_fields(struct arena *a, struct val *out, const unsigned char *der, size_t len,
           const cp_cert *c)
{
    const cp_tbs      *t = c->tbs;
    const ASN1_OBJECT *sigobj = NULL;
    unsigned char      sha1[EVP_MAX_MD_SIZE];
    unsigned int       sha1len = 0;
    char               fp[2 * SHA256_LEN + 1];
    bool               truncated = false;

    digest_sha256_hex(der, len, fp);
    val_set(a, out, "fingerprint", val_str(arena_str(a, str_c(fp))));
    if (EVP_Digest(der, len, sha1, &sha1len, EVP_sha1(), NULL) == 1)
        val_set(a, out, "fingerprintSHA1", hex_val(a, sha1, sha1len));
    val_set(a, out, "serialNumber", serial_val(a, t->serial));
    set_names(a, out, t);
    set_san(a, out, t->extensions, &truncated);
    set_key_ids(a, out, t->extensions);
    val_set(a, out, "selfSigned", val_bool(self_signed(der, len, t)));
    set_constraints(a, out, t->extensions);
    set_key(a, out, t->spki);
    X509_ALGOR_get0(&sigobj, NULL, NULL, c->sig_alg);
    if (sigobj != NULL)
        val_set(a, out, "signatureAlgorithm", obj_val(a, sigobj, 0));
    set_key_usage(a, out, t->extensions);
    set_eku(a, out, t->extensions, &truncated);
    set_time(a, out, "validityStart", t->validity->notBefore);
    set_time(a, out, "validityEnd", t->validity->notAfter);
    if (truncated)
        val_set(a, out, "truncated", val_bool(true));
}

int
inv_parse(struct arena *a, const unsigned char *der, size_t len, struct val *out,
          struct errbuf *eb)
{
    cp_cert *c = NULL;
    int      rc = E_OK;

    *out = val_map();
    if (len > INV_DER_MAX)
        rc = errbuf_attr(eb, E_VALIDATION, "certificate", "The certificate %s",
                         inv_reason_str(INV_R_TOO_BIG));
    else if (der == NULL || len == 0 || (c = cert_d2i(der, len)) == NULL)
        rc = errbuf_attr(eb, E_VALIDATION, "certificate", "The input %s",
                         inv_reason_str(INV_R_NOT_CERT));
    else
        set_fields(a, out, der, len, c);
    ASN1_item_free((ASN1_VALUE *)c, ASN1_ITEM_rptr(cp_cert));
    ERR_clear_error();
    return rc;
}

/* The certificate of base64 DER `b64`, or NULL. */
static X509 *
x509_of_b64(struct str b64)
{
    size_t               cap = b64.len / 4 * 3 + 3;
    unsigned char       *der;
    const unsigned char *p;
    X509                *x = NULL;
    long                 n;

    if (b64.len == 0 || b64.len > INV_DER_MAX * 2 || (der = malloc(cap)) == NULL)
        return NULL;
    if ((n = b64_decode(b64.p, b64.len, der)) > 0) {
        p = der;
        x = d2i_X509(NULL, &p, n);
    }
    free(der);
    return x;
}

bool
inv_signed_by(struct str cert, struct str issuer)
{
    X509     *c = x509_of_b64(cert);
    X509     *i = c != NULL ? x509_of_b64(issuer) : NULL;
    EVP_PKEY *key = i != NULL ? X509_get0_pubkey(i) : NULL;
    bool      ok = key != NULL && X509_verify(c, key) == 1;

    X509_free(c);
    X509_free(i);
    ERR_clear_error();
    return ok;
}
