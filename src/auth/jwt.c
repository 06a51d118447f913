/* jwt.c - ES256 compact JWS over OpenSSL EVP: sign, verify with claim checks, JWKS.
 *
 * Everything that does not change between tokens is computed once when a key is
 * loaded (kid, JWK coordinates, the encoded protected header, initialised signing
 * and verifying contexts), so signing costs one JSON encode, one base64url pass, one
 * SHA-256 and one ECDSA signature.
 *
 * Why templates and not EVP_DigestSignInit per call: with OpenSSL 3.0 every
 * *Init fetches the signature algorithm and key manager by name, taking the method
 * store's read locks each time; the maintainers' advice is to pre-fetch (see
 * openssl/openssl#20286, #17064). A key keeps one sign and one verify EVP_PKEY_CTX,
 * initialised at load and never touched again; each call works on its own
 * EVP_PKEY_CTX_dup() of it, which takes the template as const (a read, in the terms
 * of openssl-threads(7)) and only bumps reference counts atomically. So a key is
 * immutable after load and shared freely across threads.
 */
#include "jwt.h"

#include "../core/pem.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../core/codec.h"
#include "../core/rnd.h"

#define JWT_MAX     8192 /* longest token accepted or produced */
#define JWT_DEPTH   8    /* payload nesting limit */
#define HDR_DEPTH   2    /* a header is a map of scalars ("crit" would be depth 2) */
#define SKEW_S      60   /* tolerated clock skew for nbf and iat */
#define COORD_LEN   32   /* a P-256 field element */
#define SIG_LEN     64   /* JWS ES256 signature: R || S */
#define SIG_B64_LEN 86   /* b64url_len(SIG_LEN) */
#define DER_SIG_MAX 80   /* DER ECDSA-Sig-Value for P-256 is at most 72 bytes */
#define B64_32      43   /* b64url_len(32): coordinates and thumbprints */
#define PEM_MAX     (64 * 1024)
/* The protected header is {"alg":"ES256","typ":"JWT","kid":"<43 chars>"}: 79 bytes
 * of JSON, 106 of base64url. The bounds leave room and are checked at load. */
#define HDR_JSON_MAX 128
#define HDR_B64_MAX  176

struct jwt_key {
    EVP_PKEY *pkey;
    char      kid[B64_32 + 1];
    char      x[B64_32 + 1];
    char      y[B64_32 + 1];
    char      hdr[HDR_B64_MAX]; /* base64url(protected header) followed by '.' */
    size_t    hdr_len;
    /* Initialised for EVP_PKEY_sign / EVP_PKEY_verify; only ever duplicated. */
    EVP_PKEY_CTX *sign_tmpl;
    EVP_PKEY_CTX *verify_tmpl;
};

/* SHA-256 fetched once: an explicit fetch per call would take the method store's
 * lock on every signature. Falls back to the implicit EVP_sha256() if it fails. */
static EVP_MD        *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void
sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

static const EVP_MD *
sha256(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_md != NULL ? sha256_md : EVP_sha256();
}

/* ---- base64url, strictly ---------------------------------------------------- */

/* JWS forbids padding; b64url_decode tolerates it but is otherwise strict (the
 * alphabet, and zero unused trailing bits, so one byte string has exactly one
 * accepted spelling: a verified-token cache is keyed by the token text). */
static bool
b64_unpadded(struct str s)
{
    return s.len > 0 && memchr(s.p, '=', s.len) == NULL;
}

/* Decode an unpadded part into the arena; returns its length or -1. */
static long
b64_decode_part(struct arena *a, struct str s, unsigned char **out)
{
    if (!b64_unpadded(s))
        return -1;
    *out = arena_alloc(a, s.len * 3 / 4 + 3); /* as b64url_decode asks */
    return b64url_decode(s.p, s.len, *out);
}

/* ---- signatures ------------------------------------------------------------- */

static int
sig_der_to_raw(const unsigned char *der, size_t len, unsigned char raw[SIG_LEN])
{
    const unsigned char *p = der;
    ECDSA_SIG           *sig = NULL;
    const BIGNUM        *r = NULL, *s = NULL;
    int                  rc = E_INTERNAL;

    sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (sig == NULL)
        goto out;
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_bn2binpad(r, raw, COORD_LEN) != COORD_LEN ||
        BN_bn2binpad(s, raw + COORD_LEN, COORD_LEN) != COORD_LEN)
        goto out;
    rc = E_OK;
out:
    ECDSA_SIG_free(sig);
    return rc;
}

static int
sig_raw_to_der(const unsigned char raw[SIG_LEN], unsigned char der[DER_SIG_MAX], size_t *len)
{
    ECDSA_SIG     *sig = NULL;
    BIGNUM        *r = NULL, *s = NULL;
    unsigned char *p = der;
    int            n, rc = E_INTERNAL;

    sig = ECDSA_SIG_new();
    r = BN_bin2bn(raw, COORD_LEN, NULL);
    s = BN_bin2bn(raw + COORD_LEN, COORD_LEN, NULL);
    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1)
        goto out;
    r = s = NULL; /* now owned by sig */
    n = i2d_ECDSA_SIG(sig, NULL);
    if (n <= 0 || n > DER_SIG_MAX || i2d_ECDSA_SIG(sig, &p) != n)
        goto out;
    *len = (size_t)n;
    rc = E_OK;
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return rc;
}

static bool
digest(const void *msg, size_t len, unsigned char md[32])
{
    unsigned int n = 0;

    return EVP_Digest(msg, len, md, &n, sha256(), NULL) == 1 && n == 32;
}

static int
es256_sign(const struct jwt_key *k, const void *msg, size_t len, unsigned char raw[SIG_LEN])
{
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char md[32], der[DER_SIG_MAX];
    size_t        dlen = sizeof(der);
    int           rc = E_INTERNAL;

    if (!digest(msg, len, md))
        goto out;
    ctx = EVP_PKEY_CTX_dup(k->sign_tmpl);
    if (ctx == NULL || EVP_PKEY_sign(ctx, der, &dlen, md, sizeof(md)) != 1)
        goto out;
    rc = sig_der_to_raw(der, dlen, raw);
out:
    EVP_PKEY_CTX_free(ctx);
    if (rc != E_OK)
        ERR_clear_error();
    return rc;
}

static bool
es256_verify(const struct jwt_key *k, const void *msg, size_t len,
             const unsigned char raw[SIG_LEN])
{
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char md[32], der[DER_SIG_MAX];
    size_t        dlen = 0;
    bool          ok = false;

    if (sig_raw_to_der(raw, der, &dlen) != E_OK || !digest(msg, len, md))
        goto out;
    ctx = EVP_PKEY_CTX_dup(k->verify_tmpl);
    if (ctx == NULL)
        goto out;
    ok = EVP_PKEY_verify(ctx, der, dlen, md, sizeof(md)) == 1;
out:
    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        ERR_clear_error(); /* bad signatures are routine input, not library errors */
    return ok;
}

/* ---- keys ------------------------------------------------------------------- */

static bool
is_p256(EVP_PKEY *pkey)
{
    char name[64];

    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC ||
        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                       NULL) != 1)
        return false;
    return strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0;
}

static int
coord_b64(EVP_PKEY *pkey, const char *param, char out[B64_32 + 1])
{
    BIGNUM       *bn = NULL;
    unsigned char bin[COORD_LEN];
    int           rc = E_INTERNAL;

    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1 ||
        BN_bn2binpad(bn, bin, COORD_LEN) != COORD_LEN)
        goto out;
    b64url_encode(bin, COORD_LEN, out);
    rc = E_OK;
out:
    BN_free(bn);
    return rc;
}

/* RFC 7638: SHA-256 over the required members in lexicographic order, no spaces. */
static int
thumbprint(struct jwt_key *k)
{
    char          jwk[160];
    unsigned char md[32];
    int           n;

    n = snprintf(jwk, sizeof(jwk),
                 "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", k->x, k->y);
    if (n < 0 || (size_t)n >= sizeof(jwk) ||
        EVP_Digest(jwk, (size_t)n, md, NULL, sha256(), NULL) != 1)
        return E_INTERNAL;
    b64url_encode(md, sizeof(md), k->kid);
    return E_OK;
}

/* The protected header never changes for a key: encode it once, with the '.'. */
static int
header_encode(struct jwt_key *k)
{
    struct kv kv[3] = {
        { STR("alg"), val_cstr("ES256") },
        { STR("typ"), val_cstr("JWT") },
        { STR("kid"), val_cstr(k->kid) },
    };
    struct val h = { .t = V_MAP, .m = { .kv = kv, .n = 3, .cap = 3 } };
    struct buf json;
    int        rc = E_INTERNAL;

    buf_init(&json, HDR_JSON_MAX);
    if (json_encode(&h, &json) != E_OK || b64url_len(json.len) + 2 > sizeof(k->hdr))
        goto out;
    b64url_encode(json.p, json.len, k->hdr);
    k->hdr_len = b64url_len(json.len);
    k->hdr[k->hdr_len++] = '.';
    k->hdr[k->hdr_len] = '\0';
    rc = E_OK;
out:
    buf_free(&json);
    return rc;
}

/* Takes ownership of pkey, also on failure. */
static int
key_new(EVP_PKEY *pkey, struct jwt_key **out)
{
    struct jwt_key *k = NULL;
    int             rc = E_INTERNAL;

    *out = NULL;
    if (pkey == NULL || !is_p256(pkey))
        goto out;
    k = calloc(1, sizeof(*k));
    if (k == NULL)
        goto out;
    k->pkey = pkey;
    pkey = NULL;
    k->sign_tmpl = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    k->verify_tmpl = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    if (k->sign_tmpl == NULL || EVP_PKEY_sign_init(k->sign_tmpl) != 1 ||
        k->verify_tmpl == NULL || EVP_PKEY_verify_init(k->verify_tmpl) != 1 ||
        coord_b64(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, k->x) != E_OK ||
        coord_b64(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, k->y) != E_OK || thumbprint(k) != E_OK ||
        header_encode(k) != E_OK)
        goto out;
    *out = k;
    k = NULL;
    rc = E_OK;
out:
    EVP_PKEY_free(pkey);
    jwt_key_free(k);
    if (rc != E_OK)
        ERR_clear_error();
    return rc;
}

int
jwt_key_generate(struct jwt_key **out)
{
    return key_new(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), out);
}

int
jwt_key_from_pem(const char *pem, size_t len, struct jwt_key **out)
{
    BIO      *bio = NULL;
    EVP_PKEY *pkey = NULL;

    *out = NULL;
    if (pem == NULL || len == 0 || len > PEM_MAX)
        return E_INTERNAL;
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio != NULL)
        pkey = PEM_read_bio_PrivateKey(bio, NULL, pem_no_passphrase, NULL);
    BIO_free(bio);
    return key_new(pkey, out); /* reports pkey == NULL */
}

int
jwt_key_to_pem(const struct jwt_key *k, struct buf *out)
{
    BIO  *bio = NULL;
    char *p = NULL;
    long  n;
    int   rc = E_INTERNAL;

    /* A secure-heap BIO is wiped when freed: the PEM is the private key. */
    bio = BIO_new(BIO_s_secmem());
    if (bio == NULL || PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) != 1)
        goto out;
    n = BIO_get_mem_data(bio, &p);
    if (n <= 0 || p == NULL)
        goto out;
    rc = buf_append(out, p, (size_t)n);
out:
    BIO_free(bio);
    if (rc != E_OK)
        ERR_clear_error();
    return rc;
}

void
jwt_key_free(struct jwt_key *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_CTX_free(k->sign_tmpl);
    EVP_PKEY_CTX_free(k->verify_tmpl);
    EVP_PKEY_free(k->pkey);
    free(k);
}

const char *
jwt_key_kid(const struct jwt_key *k)
{
    return k->kid;
}

/* ---- sign ------------------------------------------------------------------- */

int
jwt_sign(const struct jwt_key *k, const struct val *claims, struct buf *out)
{
    struct buf    json;
    char         *tok = NULL;
    unsigned char sig[SIG_LEN];
    size_t        plen, n;
    int           rc = E_INTERNAL;

    buf_init(&json, JWT_MAX);
    if (claims == NULL || claims->t != V_MAP)
        goto out;
    rc = json_encode(claims, &json);
    if (rc != E_OK)
        goto out;
    /* Refuse to sign what jwt_verify would refuse to read. */
    plen = b64url_len(json.len);
    if (plen > JWT_MAX - k->hdr_len - 1 - SIG_B64_LEN) {
        rc = E_TOOBIG;
        goto out;
    }
    rc = E_INTERNAL;
    tok = malloc(JWT_MAX + 1);
    if (tok == NULL)
        goto out;
    memcpy(tok, k->hdr, k->hdr_len);
    b64url_encode(json.p, json.len, tok + k->hdr_len);
    n = k->hdr_len + plen;
    if (es256_sign(k, tok, n, sig) != E_OK)
        goto out;
    tok[n++] = '.';
    b64url_encode(sig, SIG_LEN, tok + n);
    n += SIG_B64_LEN;
    rc = buf_append(out, tok, n);
out:
    free(tok);
    buf_free(&json);
    return rc;
}

/* ---- verify ----------------------------------------------------------------- */

/* Exactly three non-empty parts; the third is the signature. */
static bool
split3(struct str t, struct str part[3])
{
    struct str rest = t;
    int        i;

    for (i = 0; i < 2; i++) {
        rest = str_cut(rest, '.', &part[i]);
        if (rest.p == NULL)
            return false;
    }
    part[2] = rest;
    return memchr(rest.p, '.', rest.len) == NULL && part[0].len > 0 && part[1].len > 0 &&
           part[2].len > 0;
}

static const struct jwt_key *
key_find(const struct jwt_key *const *keys, size_t n, struct str kid)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (keys[i] != NULL && str_eq_c(kid, keys[i]->kid))
            return keys[i];
    return NULL;
}

/* Pins the algorithm before anything else is trusted and picks the key. */
static int
header_check(const struct jwt_key *const *keys, size_t n, struct str part, struct arena *a,
             const struct jwt_key **key, struct errbuf *eb)
{
    unsigned char *raw = NULL;
    struct val     h, *alg, *kid;
    long           len;

    len = b64_decode_part(a, part, &raw);
    if (len < 0)
        return errbuf_set(eb, E_UNAUTH, "jwt: header is not base64url");
    if (json_decode(a, (const char *)raw, (size_t)len, HDR_DEPTH, &h, NULL) != E_OK ||
        h.t != V_MAP)
        return errbuf_set(eb, E_UNAUTH, "jwt: header is not a JSON object");
    alg = val_get(&h, "alg");
    if (alg == NULL || alg->t != V_STR || !str_eq_c(alg->s, "ES256"))
        return errbuf_set(eb, E_UNAUTH, "jwt: alg is not ES256");
    /* No extension is understood, so a critical one must fail (RFC 7515 4.1.11). */
    if (val_get(&h, "crit") != NULL)
        return errbuf_set(eb, E_UNAUTH, "jwt: crit header not supported");
    kid = val_get(&h, "kid");
    if (kid == NULL || kid->t != V_STR)
        return errbuf_set(eb, E_UNAUTH, "jwt: no kid in header");
    *key = key_find(keys, n, kid->s);
    if (*key == NULL)
        return errbuf_set(eb, E_UNAUTH, "jwt: unknown kid");
    return E_OK;
}

static int
signature_check(const struct jwt_key *k, struct str token, struct str sigpart,
                struct errbuf *eb)
{
    unsigned char raw[SIG_LEN + 3];
    size_t        signed_len = (size_t)(sigpart.p - token.p) - 1;

    /* The length test comes first: it is what keeps the decode inside raw[]. */
    if (sigpart.len != SIG_B64_LEN || !b64_unpadded(sigpart) ||
        b64url_decode(sigpart.p, sigpart.len, raw) != SIG_LEN)
        return errbuf_set(eb, E_UNAUTH, "jwt: signature is not 64 bytes of base64url");
    if (!es256_verify(k, token.p, signed_len, raw))
        return errbuf_set(eb, E_UNAUTH, "jwt: bad signature");
    return E_OK;
}

/* A NumericDate claim as whole seconds; *present tells whether it was there. */
static int
time_claim(const struct val *claims, const char *name, bool *present, int64_t *sec,
           struct errbuf *eb)
{
    const struct val *v = val_get(claims, name);

    *present = v != NULL;
    if (v == NULL)
        return E_OK;
    if (v->t != V_INT)
        return errbuf_set(eb, E_UNAUTH, "jwt: %s is not an integer", name);
    *sec = v->i;
    return E_OK;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && a < 0);
}

static int
claims_check(const struct val *c, int64_t now_ms, const char *issuer, struct errbuf *eb)
{
    static const char *const early[] = { "nbf", "iat" };
    const struct val        *iss;
    int64_t                  now_s = floor_div(now_ms, 1000), sec = 0;
    bool                     present;
    size_t                   i;

    if (time_claim(c, "exp", &present, &sec, eb) != E_OK)
        return E_UNAUTH;
    if (!present)
        return errbuf_set(eb, E_UNAUTH, "jwt: no exp");
    /* exp > now, in whole seconds: exp * 1000 > now_ms without the overflow. */
    if (sec <= now_s)
        return errbuf_set(eb, E_UNAUTH, "jwt: expired");
    for (i = 0; i < ARRAY_LEN(early); i++) {
        if (time_claim(c, early[i], &present, &sec, eb) != E_OK)
            return E_UNAUTH;
        if (present && sec > now_s + SKEW_S)
            return errbuf_set(eb, E_UNAUTH, "jwt: %s is in the future", early[i]);
    }
    if (issuer != NULL) {
        iss = val_get(c, "iss");
        if (iss == NULL || iss->t != V_STR || !str_eq_c(iss->s, issuer))
            return errbuf_set(eb, E_UNAUTH, "jwt: wrong issuer");
    }
    return E_OK;
}

static int
payload_decode(struct str part, struct arena *a, struct val *claims, struct errbuf *eb)
{
    unsigned char *raw = NULL;
    long           len;

    len = b64_decode_part(a, part, &raw);
    if (len < 0)
        return errbuf_set(eb, E_UNAUTH, "jwt: payload is not base64url");
    if (json_decode(a, (const char *)raw, (size_t)len, JWT_DEPTH, claims, NULL) != E_OK ||
        claims->t != V_MAP)
        return errbuf_set(eb, E_UNAUTH, "jwt: payload is not a JSON object");
    return E_OK;
}

int
jwt_verify(const struct jwt_key *const *keys, size_t n, struct str token, int64_t now_ms,
           const char *issuer, struct arena *a, struct val *claims, struct errbuf *eb)
{
    const struct jwt_key *k = NULL;
    struct str            part[3];
    int                   rc;

    *claims = val_null();
    if (token.p == NULL || token.len == 0 || token.len > JWT_MAX)
        return errbuf_set(eb, E_UNAUTH, "jwt: bad token length");
    if (!split3(token, part))
        return errbuf_set(eb, E_UNAUTH, "jwt: not three parts");
    /* Cheapest checks first; the payload is parsed only once the signature holds. */
    rc = header_check(keys, n, part[0], a, &k, eb);
    if (rc == E_OK)
        rc = signature_check(k, token, part[2], eb);
    if (rc == E_OK)
        rc = payload_decode(part[1], a, claims, eb);
    if (rc == E_OK)
        rc = claims_check(claims, now_ms, issuer, eb);
    if (rc != E_OK)
        *claims = val_null();
    return rc;
}

/* ---- someone else's signatures --------------------------------------------- */

#define RSA_BITS_MIN 2048 /* NIST SP 800-131A; RFC 7518 3.3 requires it too */
#define RSA_BITS_MAX 8192 /* bounds the cost of a verification we do for anyone */

static bool
es256_verify_pub(EVP_PKEY *pub, struct str input, const unsigned char *sig, size_t sig_len)
{
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char md[32], der[DER_SIG_MAX];
    size_t        dlen = 0;
    bool          ok = false;

    if (sig_len != SIG_LEN || !is_p256(pub) || sig_raw_to_der(sig, der, &dlen) != E_OK ||
        !digest(input.p, input.len, md))
        goto out;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
         EVP_PKEY_verify(ctx, der, dlen, md, sizeof(md)) == 1;
out:
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static bool
rs256_verify_pub(EVP_PKEY *pub, struct str input, const unsigned char *sig, size_t sig_len)
{
    EVP_MD_CTX *ctx = NULL;
    int         bits = EVP_PKEY_get_bits(pub);
    bool        ok;

    if (EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA || bits < RSA_BITS_MIN ||
        bits > RSA_BITS_MAX || sig_len != (size_t)EVP_PKEY_get_size(pub))
        return false;
    ctx = EVP_MD_CTX_new();
    /* PKCS#1 v1.5 is the default padding of an RSA verification. */
    ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, sha256(), NULL, pub) == 1 &&
         EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input.p, input.len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

bool
jwt_sig_verify(const char *alg, struct evp_pkey_st *pub, struct str input,
               const unsigned char *sig, size_t sig_len)
{
    bool ok = false;

    if (alg == NULL || pub == NULL || sig == NULL)
        return false;
    if (strcmp(alg, "ES256") == 0)
        ok = es256_verify_pub(pub, input, sig, sig_len);
    else if (strcmp(alg, "RS256") == 0)
        ok = rs256_verify_pub(pub, input, sig, sig_len);
    if (!ok)
        ERR_clear_error(); /* bad signatures are routine input, not library errors */
    return ok;
}

/* ---- JWKS ------------------------------------------------------------------- */

static struct val
jwk(const struct jwt_key *k, struct arena *a)
{
    struct val m = val_map();

    /* Copied: the answer may outlive a key that is rotated out meanwhile. */
    val_set(a, &m, "kty", val_cstr("EC"));
    val_set(a, &m, "crv", val_cstr("P-256"));
    val_set(a, &m, "x", val_str(arena_str(a, str_c(k->x))));
    val_set(a, &m, "y", val_str(arena_str(a, str_c(k->y))));
    val_set(a, &m, "kid", val_str(arena_str(a, str_c(k->kid))));
    val_set(a, &m, "alg", val_cstr("ES256"));
    val_set(a, &m, "use", val_cstr("sig"));
    return m;
}

int
jwt_jwks(const struct jwt_key *const *keys, size_t n, struct arena *a, struct val *out)
{
    struct val arr = val_arr();
    size_t     i;

    for (i = 0; i < n; i++)
        if (keys[i] != NULL)
            val_push(a, &arr, jwk(keys[i], a));
    *out = val_map();
    val_set(a, out, "keys", arr);
    return E_OK;
}
