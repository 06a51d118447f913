/* jws.c - see jws.h. */
#include "jws.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <string.h>

#include "../core/codec.h"
#include "../core/rnd.h"

#define RSA_N_MAX 1024 /* bytes: 8192 bits */
#define EC_COORD  32

/* Strict base64url of a JWS part (no padding) into the arena. */
long
jws_b64(struct arena *a, struct str s, unsigned char **out)
{
    if (s.len == 0 || memchr(s.p, '=', s.len) != NULL)
        return -1;
    *out = arena_alloc(a, s.len * 3 / 4 + 3);
    return b64url_decode(s.p, s.len, *out);
}

bool
jws_split(struct str t, struct jws *j)
{
    struct str rest = str_cut(t, '.', &j->part[0]);

    if (rest.p == NULL)
        return false;
    rest = str_cut(rest, '.', &j->part[1]);
    if (rest.p == NULL || memchr(rest.p, '.', rest.len) != NULL)
        return false;
    j->part[2] = rest;
    j->input = (struct str){ t.p, j->part[0].len + 1 + j->part[1].len };
    return j->part[0].len > 0 && j->part[1].len > 0 && j->part[2].len > 0;
}

/* The algorithm is pinned before anything else is read: RS256 or ES256, so
 * "none" and the HMAC family (keyed with a public key) never get further. */
int
jws_header(struct arena *a, struct str part, const char **alg, struct str *kid,
           struct errbuf *why)
{
    unsigned char    *raw = NULL;
    long              n = jws_b64(a, part, &raw);
    struct val        h;
    const struct val *al, *k;

    if (n < 0 || json_decode(a, (const char *)raw, (size_t)n, 2, &h, NULL) != E_OK ||
        h.t != V_MAP)
        return errbuf_set(why, E_UNAUTH, "id_token: unreadable header");
    al = val_get(&h, "alg");
    if (al != NULL && al->t == V_STR && str_eq_c(al->s, "RS256"))
        *alg = "RS256";
    else if (al != NULL && al->t == V_STR && str_eq_c(al->s, "ES256"))
        *alg = "ES256";
    else
        return errbuf_set(why, E_UNAUTH, "id_token: alg is not RS256 or ES256");
    /* No extension is understood, so a critical one must fail (RFC 7515 4.1.11). */
    if (val_get(&h, "crit") != NULL)
        return errbuf_set(why, E_UNAUTH, "id_token: crit header not supported");
    k = val_get(&h, "kid");
    if (k != NULL && k->t != V_STR)
        return errbuf_set(why, E_UNAUTH, "id_token: kid is not a string");
    *kid = k != NULL ? k->s : STR_NULL;
    return E_OK;
}

bool
jwk_usable(const struct val *k, const char *alg, struct str kid)
{
    struct str kty = val_get_str(k, "kty"), use = val_get_str(k, "use"),
               kalg = val_get_str(k, "alg");
    const struct val *kv = val_get(k, "kid");

    if (!str_eq_c(kty, strcmp(alg, "RS256") == 0 ? "RSA" : "EC") ||
        (use.len > 0 && !str_eq_c(use, "sig")) || (kalg.len > 0 && !str_eq_c(kalg, alg)))
        return false;
    return kid.p == NULL || (kv != NULL && kv->t == V_STR && str_eq(kv->s, kid));
}

static EVP_PKEY *
pkey_from(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM   *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY     *k = NULL;

    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
        k = NULL;
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);
    return k;
}

static EVP_PKEY *
jwk_rsa(struct arena *a, const struct val *k)
{
    unsigned char *n = NULL, *e = NULL;
    long    nl = jws_b64(a, val_get_str(k, "n"), &n), el = jws_b64(a, val_get_str(k, "e"), &e);
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY       *key = NULL;

    if (nl <= 0 || nl > RSA_N_MAX || el <= 0 || el > 8)
        return NULL;
    bn = BN_bin2bn(n, (int)nl, NULL);
    be = BN_bin2bn(e, (int)el, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (bn != NULL && be != NULL && bld != NULL &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1)
        key = pkey_from("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return key;
}

/* The point is checked to be on the curve when OpenSSL imports it. */
static EVP_PKEY *
jwk_ec(struct arena *a, const struct val *k)
{
    unsigned char *x = NULL, *y = NULL, pt[1 + 2 * EC_COORD];
    long xl = jws_b64(a, val_get_str(k, "x"), &x), yl = jws_b64(a, val_get_str(k, "y"), &y);
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY       *key = NULL;

    if (!str_eq_c(val_get_str(k, "crv"), "P-256") || xl != EC_COORD || yl != EC_COORD)
        return NULL;
    pt[0] = 0x04; /* uncompressed: 04 || x || y */
    memcpy(pt + 1, x, EC_COORD);
    memcpy(pt + 1 + EC_COORD, y, EC_COORD);
    bld = OSSL_PARAM_BLD_new();
    if (bld != NULL &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ==
            1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt) == 1)
        key = pkey_from("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    return key;
}

EVP_PKEY *
jwk_public_key(struct arena *a, const struct val *k, const char *alg)
{
    return strcmp(alg, "RS256") == 0 ? jwk_rsa(a, k) : jwk_ec(a, k);
}
