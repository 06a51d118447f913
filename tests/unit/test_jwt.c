/* test_jwt.c - ES256 tokens: round trip, every rejection path of jwt_verify, key
 * PEMs, kid thumbprints and the JWKS. Hostile tokens are forged here with a raw
 * EVP signature so that a rejection is shown to come from the check under test and
 * not from a bad signature. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "auth/jwt.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/rnd.h"
#include "core/val.h"

#define NOW_MS  1700000000000LL
#define NOW_S   (NOW_MS / 1000)
#define ISSUER  "https://keyward.test"
#define JWT_MAX 8192

struct fx {
    struct jwt_key *k1, *k2;
    EVP_PKEY       *pk1; /* k1 as a plain OpenSSL key, to forge tokens */
    struct arena   *a;
};

/* ---- helpers ------------------------------------------------------------ */

static EVP_PKEY *
evp_from_jwt(const struct jwt_key *k)
{
    struct buf pem;
    BIO       *bio;
    EVP_PKEY  *p;

    buf_init(&pem, 0);
    assert_int_equal(jwt_key_to_pem(k, &pem), E_OK);
    bio = BIO_new_mem_buf(pem.p, (int)pem.len);
    p = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    buf_wipe(&pem);
    assert_non_null(p);
    return p;
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(jwt_key_generate(&f->k1), E_OK);
    assert_int_equal(jwt_key_generate(&f->k2), E_OK);
    f->pk1 = evp_from_jwt(f->k1);
    f->a = arena_new(4096);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    jwt_key_free(f->k1);
    jwt_key_free(f->k2);
    EVP_PKEY_free(f->pk1);
    arena_free(f->a);
    free(f);
    return 0;
}

static void
b64_append(struct buf *b, const void *p, size_t n)
{
    char *s = malloc(b64url_len(n) + 1);

    assert_non_null(s);
    b64url_encode(p, n, s);
    assert_int_equal(buf_puts(b, s), E_OK);
    free(s);
}

/* header.payload from two JSON texts. */
static void
signing_input(struct buf *t, const char *hdr, const char *payload)
{
    b64_append(t, hdr, strlen(hdr));
    assert_int_equal(buf_putc(t, '.'), E_OK);
    b64_append(t, payload, strlen(payload));
}

/* Appends ".<signature>" by `pk` over everything already in t. */
static void
sign_raw(struct buf *t, EVP_PKEY *pk)
{
    EVP_MD_CTX          *ctx = EVP_MD_CTX_new();
    unsigned char        der[80], raw[64];
    const unsigned char *p = der;
    size_t               dlen = sizeof(der);
    ECDSA_SIG           *sig;
    const BIGNUM        *r, *s;

    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk), 1);
    assert_int_equal(EVP_DigestSign(ctx, der, &dlen, (unsigned char *)t->p, t->len), 1);
    EVP_MD_CTX_free(ctx);
    sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
    assert_non_null(sig);
    ECDSA_SIG_get0(sig, &r, &s);
    assert_int_equal(BN_bn2binpad(r, raw, 32), 32);
    assert_int_equal(BN_bn2binpad(s, raw + 32, 32), 32);
    ECDSA_SIG_free(sig);
    assert_int_equal(buf_putc(t, '.'), E_OK);
    b64_append(t, raw, sizeof(raw));
}

/* A token with a genuine ES256 signature by `pk` over arbitrary header/payload. */
static void
forge(struct buf *t, EVP_PKEY *pk, const char *hdr, const char *payload)
{
    signing_input(t, hdr, payload);
    sign_raw(t, pk);
}

static char *
es_header(const struct jwt_key *k, const char *alg)
{
    static char h[256];

    snprintf(h, sizeof(h), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg,
             jwt_key_kid(k));
    return h;
}

static char *
payload_exp(long long exp)
{
    static char p[256];

    snprintf(p, sizeof(p), "{\"sub\":\"alice\",\"iss\":\"" ISSUER "\",\"exp\":%lld}", exp);
    return p;
}

static int
verify1(struct fx *f, struct str tok, const char *issuer, struct val *claims, struct errbuf *eb)
{
    const struct jwt_key *keys[] = { f->k1, f->k2 };

    memset(eb, 0, sizeof(*eb));
    return jwt_verify(keys, 2, tok, NOW_MS, issuer, f->a, claims, eb);
}

/* Forged with k1's real key: must be rejected and the reason must match. */
static void
expect_forged(struct fx *f, const char *hdr, const char *payload, const char *reason)
{
    struct buf    t;
    struct val    c;
    struct errbuf eb;

    buf_init(&t, 0);
    forge(&t, f->pk1, hdr, payload);
    assert_int_equal(verify1(f, buf_str(&t), ISSUER, &c, &eb), E_UNAUTH);
    assert_int_equal(c.t, V_NULL);
    if (strstr(eb.msg, reason) == NULL)
        fail_msg("reason \"%s\" not in \"%s\"", reason, eb.msg);
    buf_free(&t);
}

static void
expect_text(struct fx *f, const char *tok, const char *reason)
{
    struct val    c;
    struct errbuf eb;

    assert_int_equal(verify1(f, str_c(tok), NULL, &c, &eb), E_UNAUTH);
    if (reason != NULL && strstr(eb.msg, reason) == NULL)
        fail_msg("%s: reason \"%s\" not in \"%s\"", tok, reason, eb.msg);
}

static void
claims_basic(struct arena *a, struct val *c, int64_t exp)
{
    struct val data = val_map();

    *c = val_map();
    val_set(a, c, "sub", val_cstr("alice"));
    val_set(a, c, "iss", val_cstr(ISSUER));
    val_set(a, c, "exp", val_int(exp));
    val_set(a, c, "iat", val_int(NOW_S));
    val_set(a, &data, "realm", val_cstr("vince"));
    val_set(a, &data, "email", val_cstr("alice@example.com"));
    val_set(a, c, "data", data);
}

static void
sign_basic(struct fx *f, const struct jwt_key *k, struct buf *out)
{
    struct val c;

    claims_basic(f->a, &c, NOW_S + 3600);
    buf_init(out, 0);
    assert_int_equal(jwt_sign(k, &c, out), E_OK);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_roundtrip(void **state)
{
    struct fx    *f = *state;
    struct buf    t;
    struct val    c, h, *v;
    struct errbuf eb;
    unsigned char raw[256];
    const char   *dot;
    long          n;

    sign_basic(f, f->k1, &t);
    assert_int_equal(verify1(f, buf_str(&t), ISSUER, &c, &eb), E_OK);
    assert_int_equal(c.t, V_MAP);
    v = val_get(&c, "sub");
    assert_non_null(v);
    assert_true(str_eq_c(v->s, "alice"));
    v = val_get(val_get(&c, "data"), "email");
    assert_non_null(v);
    assert_true(str_eq_c(v->s, "alice@example.com"));
    /* The protected header is exactly the documented one. */
    dot = strchr(t.p, '.');
    n = b64url_decode(t.p, (size_t)(dot - t.p), raw);
    assert_true(n > 0);
    assert_int_equal(json_decode(f->a, (char *)raw, (size_t)n, 2, &h, NULL), E_OK);
    assert_int_equal(h.m.n, 3);
    assert_true(str_eq_c(val_get(&h, "alg")->s, "ES256"));
    assert_true(str_eq_c(val_get(&h, "typ")->s, "JWT"));
    assert_true(str_eq_c(val_get(&h, "kid")->s, jwt_key_kid(f->k1)));
    /* Without an issuer to pin, any iss passes. */
    assert_int_equal(verify1(f, buf_str(&t), NULL, &c, &eb), E_OK);
    buf_free(&t);
}

static void
test_sign_appends(void **state)
{
    struct fx    *f = *state;
    struct buf    t;
    struct val    c, bad = val_arr();
    struct errbuf eb;

    buf_init(&t, 0);
    assert_int_equal(buf_puts(&t, "Bearer "), E_OK);
    claims_basic(f->a, &c, NOW_S + 60);
    assert_int_equal(jwt_sign(f->k2, &c, &t), E_OK);
    assert_true(strncmp(t.p, "Bearer ", 7) == 0);
    assert_int_equal(verify1(f, str_c(t.p + 7), ISSUER, &c, &eb), E_OK);
    /* Claims must be a map; a failed sign appends nothing. */
    buf_reset(&t);
    assert_int_not_equal(jwt_sign(f->k1, &bad, &t), E_OK);
    assert_int_equal(t.len, 0);
    buf_free(&t);
}

static void
test_tampered_payload(void **state)
{
    struct fx    *f = *state;
    struct buf    t, forged;
    struct val    c;
    struct errbuf eb;
    const char   *p1, *p2;

    sign_basic(f, f->k1, &t);
    p1 = strchr(t.p, '.');
    p2 = strchr(p1 + 1, '.');
    /* Same header and signature, a different (admin) payload. */
    buf_init(&forged, 0);
    assert_int_equal(buf_append(&forged, t.p, (size_t)(p1 - t.p) + 1), E_OK);
    b64_append(&forged, payload_exp(NOW_S + 3600), strlen(payload_exp(NOW_S + 3600)));
    assert_int_equal(buf_puts(&forged, p2), E_OK);
    assert_int_equal(verify1(f, buf_str(&forged), NULL, &c, &eb), E_UNAUTH);
    assert_non_null(strstr(eb.msg, "signature"));
    /* One character changed inside the payload. */
    t.p[(p1 - t.p) + 5] ^= 1;
    assert_int_equal(verify1(f, buf_str(&t), NULL, &c, &eb), E_UNAUTH);
    buf_free(&forged);
    buf_free(&t);
}

static void
test_tampered_signature(void **state)
{
    struct fx    *f = *state;
    struct buf    t;
    struct val    c;
    struct errbuf eb;
    char         *sig;

    sign_basic(f, f->k1, &t);
    sig = strrchr(t.p, '.') + 1;
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    assert_int_equal(verify1(f, buf_str(&t), NULL, &c, &eb), E_UNAUTH);
    assert_non_null(strstr(eb.msg, "bad signature"));
    /* All-zero R and S (a classic: r = 0 must not verify anything). */
    memset(sig, 'A', 86);
    assert_int_equal(verify1(f, buf_str(&t), NULL, &c, &eb), E_UNAUTH);
    buf_free(&t);
}

static void
test_alg_none(void **state)
{
    struct fx *f = *state;
    struct buf t;
    char       zeros[64] = { 0 };

    buf_init(&t, 0);
    signing_input(&t, es_header(f->k1, "none"), payload_exp(NOW_S + 3600));
    assert_int_equal(buf_putc(&t, '.'), E_OK);
    expect_text(f, t.p, "three parts"); /* "h.p." has an empty signature */
    b64_append(&t, zeros, sizeof(zeros));
    expect_text(f, t.p, "alg");
    buf_free(&t);
}

/* The libjwt trap from DECISIONS.md: HS256 keyed with the ES256 public key PEM. */
static void
test_alg_hs256_pubkey(void **state)
{
    struct fx    *f = *state;
    struct buf    t;
    BIO          *bio = BIO_new(BIO_s_mem());
    char         *pem = NULL;
    long          pemlen;
    unsigned char mac[32];
    unsigned int  maclen = sizeof(mac);

    assert_int_equal(PEM_write_bio_PUBKEY(bio, f->pk1), 1);
    pemlen = BIO_get_mem_data(bio, &pem);
    buf_init(&t, 0);
    signing_input(&t, es_header(f->k1, "HS256"), payload_exp(NOW_S + 3600));
    assert_non_null(
        HMAC(EVP_sha256(), pem, (int)pemlen, (unsigned char *)t.p, t.len, mac, &maclen));
    assert_int_equal(buf_putc(&t, '.'), E_OK);
    b64_append(&t, mac, maclen);
    expect_text(f, t.p, "alg");
    BIO_free(bio);
    buf_free(&t);
}

static void
test_alg_pinned(void **state)
{
    static const char *const algs[] = { "RS256", "ES256 ", " ES256", "es256", "ES384",
                                        "HS256", "none",   "",       "ES2560" };
    struct fx               *f = *state;
    size_t                   i;

    for (i = 0; i < ARRAY_LEN(algs); i++)
        expect_forged(f, es_header(f->k1, algs[i]), payload_exp(NOW_S + 3600), "alg");
    /* alg must be a string, and present. */
    expect_forged(f, "{\"alg\":[\"ES256\"]}", payload_exp(NOW_S + 3600), "alg");
    expect_forged(f, "{\"typ\":\"JWT\"}", payload_exp(NOW_S + 3600), "alg");
    /* The control: the same forge with the right alg passes. */
    {
        struct buf    t;
        struct val    c;
        struct errbuf eb;

        buf_init(&t, 0);
        forge(&t, f->pk1, es_header(f->k1, "ES256"), payload_exp(NOW_S + 3600));
        assert_int_equal(verify1(f, buf_str(&t), ISSUER, &c, &eb), E_OK);
        buf_free(&t);
    }
}

static void
test_header_other(void **state)
{
    struct fx *f = *state;
    char       h[256];

    snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"crit\":[\"exp\"]}",
             jwt_key_kid(f->k1));
    expect_forged(f, h, payload_exp(NOW_S + 3600), "crit");
    expect_forged(f, "[1,2]", payload_exp(NOW_S + 3600), "header");
    expect_forged(f, "not json", payload_exp(NOW_S + 3600), "header");
}

static void
test_kid(void **state)
{
    struct fx *f = *state;
    char       h[256];

    expect_forged(f, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", payload_exp(NOW_S + 3600),
                  "no kid");
    expect_forged(f, "{\"alg\":\"ES256\",\"kid\":7}", payload_exp(NOW_S + 3600), "no kid");
    expect_forged(f, "{\"alg\":\"ES256\",\"kid\":\"nope\"}", payload_exp(NOW_S + 3600),
                  "unknown kid");
    /* A prefix of a real kid is not that kid. */
    snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"%.42s\"}", jwt_key_kid(f->k1));
    expect_forged(f, h, payload_exp(NOW_S + 3600), "unknown kid");
    /* k1's signature under k2's kid fails on the signature. */
    expect_forged(f, es_header(f->k2, "ES256"), payload_exp(NOW_S + 3600), "bad signature");
}

static void
test_exp(void **state)
{
    struct fx  *f = *state;
    const char *h = es_header(f->k1, "ES256");

    expect_forged(f, h, payload_exp(NOW_S - 1), "expired");
    expect_forged(f, h, payload_exp(NOW_S), "expired"); /* exp must be > now */
    expect_forged(f, h, "{\"sub\":\"alice\",\"iss\":\"" ISSUER "\"}", "no exp");
    expect_forged(f, h, "{\"iss\":\"" ISSUER "\",\"exp\":\"99999999999\"}", "exp");
    expect_forged(f, h, "{\"iss\":\"" ISSUER "\",\"exp\":9999999999.5}", "exp");
    expect_forged(f, h, "{\"iss\":\"" ISSUER "\",\"exp\":null}", "exp");
    /* Far future and INT64_MAX do not overflow into the past. */
    {
        struct buf    t;
        struct val    c;
        struct errbuf eb;

        buf_init(&t, 0);
        forge(&t, f->pk1, h, payload_exp(INT64_MAX));
        assert_int_equal(verify1(f, buf_str(&t), ISSUER, &c, &eb), E_OK);
        buf_reset(&t);
        forge(&t, f->pk1, h, payload_exp(NOW_S + 1));
        assert_int_equal(verify1(f, buf_str(&t), ISSUER, &c, &eb), E_OK);
        buf_free(&t);
    }
}

static void
forge_time(struct fx *f, const char *name, long long value, int want)
{
    char          p[256];
    struct buf    t;
    struct val    c;
    struct errbuf eb;

    snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"exp\":%lld,\"%s\":%lld}",
             (long long)NOW_S + 3600, name, value);
    buf_init(&t, 0);
    forge(&t, f->pk1, es_header(f->k1, "ES256"), p);
    assert_int_equal(verify1(f, buf_str(&t), ISSUER, &c, &eb), want);
    buf_free(&t);
}

static void
test_nbf_iat(void **state)
{
    static const char *const names[] = { "nbf", "iat" };
    struct fx               *f = *state;
    size_t                   i;

    for (i = 0; i < ARRAY_LEN(names); i++) {
        forge_time(f, names[i], NOW_S - 100, E_OK);
        forge_time(f, names[i], NOW_S + 60, E_OK); /* the skew limit */
        forge_time(f, names[i], NOW_S + 61, E_UNAUTH);
        forge_time(f, names[i], NOW_S + 3600, E_UNAUTH);
    }
    expect_forged(f, es_header(f->k1, "ES256"),
                  "{\"iss\":\"" ISSUER "\",\"exp\":9999999999,\"nbf\":\"0\"}", "nbf");
}

static void
test_iss(void **state)
{
    struct fx    *f = *state;
    const char   *h = es_header(f->k1, "ES256");
    struct buf    t;
    struct val    c;
    struct errbuf eb;

    expect_forged(f, h, "{\"iss\":\"https://evil.test\",\"exp\":9999999999}", "issuer");
    expect_forged(f, h, "{\"iss\":\"" ISSUER "/\",\"exp\":9999999999}", "issuer");
    expect_forged(f, h, "{\"exp\":9999999999}", "issuer");
    expect_forged(f, h, "{\"iss\":1,\"exp\":9999999999}", "issuer");
    buf_init(&t, 0);
    forge(&t, f->pk1, h, "{\"exp\":9999999999}");
    assert_int_equal(verify1(f, buf_str(&t), NULL, &c, &eb), E_OK);
    buf_free(&t);
}

static void
test_payload_shape(void **state)
{
    struct fx  *f = *state;
    const char *h = es_header(f->k1, "ES256");

    expect_forged(f, h, "[1]", "payload");
    expect_forged(f, h, "\"exp\"", "payload");
    expect_forged(f, h, "{\"exp\":9999999999", "payload");
    /* Nesting: 8 levels are fine, 9 are not. */
    forge_time(f, "nbf", 0, E_OK);
    {
        struct buf    t;
        struct val    c;
        struct errbuf eb;

        buf_init(&t, 0);
        forge(&t, f->pk1, h,
              "{\"iss\":\"" ISSUER "\",\"exp\":9999999999,\"d\":[[[[[[[1]]]]]]]}");
        assert_int_equal(verify1(f, buf_str(&t), ISSUER, &c, &eb), E_OK);
        buf_free(&t);
    }
    expect_forged(f, h, "{\"iss\":\"" ISSUER "\",\"exp\":9999999999,\"d\":[[[[[[[[1]]]]]]]]}",
                  "payload");
}

static void
test_parts(void **state)
{
    struct fx *f = *state;
    struct buf t, x;

    sign_basic(f, f->k1, &t);
    expect_text(f, "", "length");
    expect_text(f, "abc", "three parts");
    expect_text(f, "a.b", "three parts");
    expect_text(f, "..", "three parts");
    expect_text(f, "a..c", "three parts");
    expect_text(f, ".b.c", "three parts");
    buf_init(&x, 0);
    assert_int_equal(buf_printf(&x, "%s.", t.p), E_OK);
    expect_text(f, x.p, "three parts");
    buf_reset(&x);
    assert_int_equal(buf_printf(&x, "%s.%s", t.p, strrchr(t.p, '.') + 1), E_OK);
    expect_text(f, x.p, "three parts");
    buf_free(&x);
    buf_free(&t);
}

static void
test_bad_base64(void **state)
{
    struct fx  *f = *state;
    struct buf  t, x;
    const char *p1, *p2;
    size_t      hl;

    sign_basic(f, f->k1, &t);
    p1 = strchr(t.p, '.');
    p2 = strrchr(t.p, '.');
    hl = (size_t)(p1 - t.p);
    buf_init(&x, 0);
    /* '+' and '/' are base64, not base64url. */
    assert_int_equal(buf_printf(&x, "%.*s+%s", (int)hl - 1, t.p, p1), E_OK);
    expect_text(f, x.p, "header");
    buf_reset(&x);
    assert_int_equal(buf_printf(&x, "%.*s/%s", (int)hl - 1, t.p, p1), E_OK);
    expect_text(f, x.p, "header");
    /* Padding is refused even where it would be "correct" base64. */
    buf_reset(&x);
    assert_int_equal(buf_printf(&x, "%.*s==%s", (int)hl, t.p, p1), E_OK);
    expect_text(f, x.p, NULL);
    buf_reset(&x);
    assert_int_equal(buf_printf(&x, "%.*s=", (int)t.len, t.p), E_OK);
    expect_text(f, x.p, "signature");
    /* Signature part: 63 and 65 bytes, a space, non-canonical trailing bits. */
    {
        unsigned char raw[65] = { 1 };
        char          s[100];

        b64url_encode(raw, 63, s);
        buf_reset(&x);
        assert_int_equal(buf_printf(&x, "%.*s.%s", (int)(p2 - t.p), t.p, s), E_OK);
        expect_text(f, x.p, "signature");
        b64url_encode(raw, 65, s);
        buf_reset(&x);
        assert_int_equal(buf_printf(&x, "%.*s.%s", (int)(p2 - t.p), t.p, s), E_OK);
        expect_text(f, x.p, "signature");
    }
    buf_reset(&x);
    assert_int_equal(buf_printf(&x, "%s", t.p), E_OK);
    x.p[x.len - 1] = x.p[x.len - 1] == 'A' ? 'B' : 'A'; /* last char has 4 unused bits */
    expect_text(f, x.p, "signature");
    buf_reset(&x);
    assert_int_equal(buf_printf(&x, "%s", t.p), E_OK);
    x.p[x.len - 5] = ' ';
    expect_text(f, x.p, "signature");
    /* Correctly padded base64url, genuinely signed: JWS still forbids it. */
    {
        const char *pl = "{\"exp\":99999999999}"; /* 19 bytes: 26 characters + "==" */

        buf_reset(&x);
        b64_append(&x, es_header(f->k1, "ES256"), strlen(es_header(f->k1, "ES256")));
        assert_int_equal(buf_putc(&x, '.'), E_OK);
        b64_append(&x, pl, strlen(pl));
        assert_int_equal(b64url_len(strlen(pl)) % 4, 2);
        assert_int_equal(buf_puts(&x, "=="), E_OK);
        sign_raw(&x, f->pk1);
        expect_text(f, x.p, "payload is not base64url");
    }
    /* NUL inside the token. */
    {
        struct val    c;
        struct errbuf eb;

        t.p[hl + 3] = '\0';
        assert_int_equal(verify1(f, buf_str(&t), NULL, &c, &eb), E_UNAUTH);
    }
    buf_free(&x);
    buf_free(&t);
}

/* A signed token of exactly 8192 bytes verifies; one byte more is refused by
 * length before anything else, and jwt_sign refuses to produce it. */
static void
test_oversize(void **state)
{
    struct fx    *f = *state;
    struct buf    t;
    struct val    c;
    struct errbuf eb;
    char         *pad = calloc(JWT_MAX, 1);
    size_t        lo = 1, hi = JWT_MAX;
    int           rc;

    assert_non_null(pad);
    buf_init(&t, 0);
    /* Binary search for the longest pad that still signs. */
    while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;

        memset(pad, 'x', mid);
        pad[mid] = '\0';
        claims_basic(f->a, &c, NOW_S + 3600);
        val_set(f->a, &c, "pad", val_cstr(pad));
        buf_reset(&t);
        rc = jwt_sign(f->k1, &c, &t);
        if (rc == E_OK)
            lo = mid;
        else {
            assert_int_equal(rc, E_TOOBIG);
            hi = mid - 1;
        }
    }
    memset(pad, 'x', lo);
    pad[lo] = '\0';
    claims_basic(f->a, &c, NOW_S + 3600);
    val_set(f->a, &c, "pad", val_cstr(pad));
    buf_reset(&t);
    assert_int_equal(jwt_sign(f->k1, &c, &t), E_OK);
    assert_true(t.len <= JWT_MAX && t.len >= JWT_MAX - 3);
    assert_int_equal(verify1(f, buf_str(&t), ISSUER, &c, &eb), E_OK);
    while (t.len <= JWT_MAX)
        assert_int_equal(buf_putc(&t, 'A'), E_OK);
    expect_text(f, t.p, "length");
    buf_free(&t);
    free(pad);
}

static void
test_oversize_exact(void **state)
{
    struct fx    *f = *state;
    struct buf    t;
    struct val    c;
    struct errbuf eb;
    char          hdr[256], *payload = malloc(JWT_MAX);
    size_t        fixed, n;

    assert_non_null(payload);
    /* Forge a token of exactly JWT_MAX bytes: 8192 = b64(h) + 1 + b64(p) + 1 + 86. */
    snprintf(hdr, sizeof(hdr), "%s", es_header(f->k1, "ES256"));
    fixed = b64url_len(strlen(hdr)) + 2 + 86;
    for (n = 1; b64url_len(n) + fixed < JWT_MAX; n++)
        ;
    assert_int_equal(b64url_len(n) + fixed, JWT_MAX);
    snprintf(payload, JWT_MAX, "{\"exp\":9999999999,\"p\":\"%0*d\"}",
             (int)(n - strlen("{\"exp\":9999999999,\"p\":\"\"}")), 0);
    assert_int_equal(strlen(payload), n);
    buf_init(&t, 0);
    forge(&t, f->pk1, hdr, payload);
    assert_int_equal(t.len, JWT_MAX);
    assert_int_equal(verify1(f, buf_str(&t), NULL, &c, &eb), E_OK);
    assert_int_equal(buf_putc(&t, 'A'), E_OK);
    expect_text(f, t.p, "length");
    buf_free(&t);
    free(payload);
}

static void
test_key_pem(void **state)
{
    struct fx            *f = *state;
    struct jwt_key       *k = NULL;
    struct buf            pem, t;
    struct val            c;
    struct errbuf         eb;
    const struct jwt_key *only[1];

    buf_init(&pem, 0);
    assert_int_equal(jwt_key_to_pem(f->k1, &pem), E_OK);
    assert_non_null(strstr(pem.p, "-----BEGIN PRIVATE KEY-----")); /* PKCS#8 */
    assert_int_equal(jwt_key_from_pem(pem.p, pem.len, &k), E_OK);
    assert_string_equal(jwt_key_kid(k), jwt_key_kid(f->k1));
    assert_int_equal(strlen(jwt_key_kid(k)), 43);
    /* Signed by the reloaded key, verified by the original, and back. */
    sign_basic(f, k, &t);
    assert_int_equal(verify1(f, buf_str(&t), ISSUER, &c, &eb), E_OK);
    buf_reset(&t);
    claims_basic(f->a, &c, NOW_S + 3600);
    assert_int_equal(jwt_sign(f->k1, &c, &t), E_OK);
    only[0] = k;
    assert_int_equal(jwt_verify(only, 1, buf_str(&t), NOW_MS, ISSUER, f->a, &c, &eb), E_OK);
    jwt_key_free(k);
    buf_wipe(&pem);
    buf_free(&t);
}

static void
test_key_pem_bad(void **state)
{
    struct jwt_key *k = (struct jwt_key *)1;
    EVP_PKEY       *rsa, *p384;
    BIO            *bio;
    char           *p;
    long            n;

    (void)state;
    assert_int_not_equal(jwt_key_from_pem("garbage", 7, &k), E_OK);
    assert_null(k);
    assert_int_not_equal(jwt_key_from_pem("", 0, &k), E_OK);
    /* Not P-256: refused. */
    p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    assert_non_null(p384);
    assert_non_null(rsa);
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(bio, p384, NULL, NULL, 0, NULL, NULL), 1);
    n = BIO_get_mem_data(bio, &p);
    assert_int_not_equal(jwt_key_from_pem(p, (size_t)n, &k), E_OK);
    BIO_free(bio);
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(bio, rsa, NULL, NULL, 0, NULL, NULL), 1);
    n = BIO_get_mem_data(bio, &p);
    assert_int_not_equal(jwt_key_from_pem(p, (size_t)n, &k), E_OK);
    BIO_free(bio);
    /* Encrypted: fails instead of prompting for a passphrase. */
    EVP_PKEY_free(p384);
    p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(
        PEM_write_bio_PKCS8PrivateKey(bio, p384, EVP_aes_128_cbc(), "pw", 2, NULL, NULL), 1);
    n = BIO_get_mem_data(bio, &p);
    assert_int_not_equal(jwt_key_from_pem(p, (size_t)n, &k), E_OK);
    BIO_free(bio);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(rsa);
}

static void
coord(EVP_PKEY *pk, const char *param, char out[44])
{
    BIGNUM       *bn = NULL;
    unsigned char bin[32];

    assert_int_equal(EVP_PKEY_get_bn_param(pk, param, &bn), 1);
    assert_int_equal(BN_bn2binpad(bn, bin, 32), 32);
    b64url_encode(bin, 32, out);
    BN_free(bn);
}

static void
test_jwks(void **state)
{
    struct fx            *f = *state;
    const struct jwt_key *keys[] = { f->k1, f->k2 };
    struct val            j, *arr, *k;
    char                  x[44], y[44], tp[200], kid[44];
    unsigned char         md[32];
    struct buf            json;

    assert_int_equal(jwt_jwks(keys, 2, f->a, &j), E_OK);
    arr = val_get(&j, "keys");
    assert_non_null(arr);
    assert_int_equal(arr->t, V_ARR);
    assert_int_equal(arr->a.n, 2);
    k = &arr->a.v[0];
    coord(f->pk1, OSSL_PKEY_PARAM_EC_PUB_X, x);
    coord(f->pk1, OSSL_PKEY_PARAM_EC_PUB_Y, y);
    assert_true(str_eq_c(val_get(k, "x")->s, x));
    assert_true(str_eq_c(val_get(k, "y")->s, y));
    assert_true(str_eq_c(val_get(k, "kty")->s, "EC"));
    assert_true(str_eq_c(val_get(k, "crv")->s, "P-256"));
    assert_true(str_eq_c(val_get(k, "alg")->s, "ES256"));
    assert_true(str_eq_c(val_get(k, "use")->s, "sig"));
    assert_true(str_eq_c(val_get(k, "kid")->s, jwt_key_kid(f->k1)));
    assert_true(str_eq_c(val_get(&arr->a.v[1], "kid")->s, jwt_key_kid(f->k2)));
    /* The kid is the RFC 7638 thumbprint, recomputed independently. */
    snprintf(tp, sizeof(tp), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x,
             y);
    SHA256((unsigned char *)tp, strlen(tp), md);
    b64url_encode(md, 32, kid);
    assert_string_equal(kid, jwt_key_kid(f->k1));
    /* It encodes as JSON. */
    buf_init(&json, 0);
    assert_int_equal(json_encode(&j, &json), E_OK);
    assert_non_null(strstr(json.p, "\"use\":\"sig\""));
    buf_free(&json);
    assert_int_equal(jwt_jwks(keys, 0, f->a, &j), E_OK);
    assert_int_equal(val_get(&j, "keys")->a.n, 0);
}

static void
test_two_keys(void **state)
{
    struct fx            *f = *state;
    struct buf            t;
    struct val            c;
    struct errbuf         eb;
    const struct jwt_key *k1only[] = { f->k1 }, *rev[] = { f->k2, f->k1 };

    sign_basic(f, f->k2, &t);
    assert_int_equal(verify1(f, buf_str(&t), ISSUER, &c, &eb), E_OK);
    assert_int_equal(jwt_verify(rev, 2, buf_str(&t), NOW_MS, ISSUER, f->a, &c, &eb), E_OK);
    assert_int_equal(jwt_verify(k1only, 1, buf_str(&t), NOW_MS, ISSUER, f->a, &c, &eb),
                     E_UNAUTH);
    assert_non_null(strstr(eb.msg, "unknown kid"));
    assert_int_equal(jwt_verify(NULL, 0, buf_str(&t), NOW_MS, ISSUER, f->a, &c, &eb), E_UNAUTH);
    assert_string_not_equal(jwt_key_kid(f->k1), jwt_key_kid(f->k2));
    buf_free(&t);
}

/* Keys are shared read-only: concurrent sign and verify with the same key. */
struct thr {
    struct fx *f;
    int        fails;
};

static void *
thr_run(void *arg)
{
    struct thr           *t = arg;
    struct arena         *a = arena_new(4096);
    struct buf            tok;
    struct val            c;
    struct errbuf         eb;
    const struct jwt_key *keys[] = { t->f->k1, t->f->k2 };
    int                   i;

    buf_init(&tok, 0);
    for (i = 0; i < 100; i++) {
        arena_reset(a);
        buf_reset(&tok);
        claims_basic(a, &c, NOW_S + 3600);
        if (jwt_sign(keys[i & 1], &c, &tok) != E_OK ||
            jwt_verify(keys, 2, buf_str(&tok), NOW_MS, ISSUER, a, &c, &eb) != E_OK)
            t->fails++;
    }
    buf_free(&tok);
    arena_free(a);
    return NULL;
}

static void
test_threads(void **state)
{
    pthread_t  th[4];
    struct thr t[4];
    int        i;

    for (i = 0; i < 4; i++) {
        t[i] = (struct thr){ *state, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, thr_run, &t[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].fails, 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_sign_appends),
        cmocka_unit_test(test_tampered_payload),
        cmocka_unit_test(test_tampered_signature),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_alg_hs256_pubkey),
        cmocka_unit_test(test_alg_pinned),
        cmocka_unit_test(test_header_other),
        cmocka_unit_test(test_kid),
        cmocka_unit_test(test_exp),
        cmocka_unit_test(test_nbf_iat),
        cmocka_unit_test(test_iss),
        cmocka_unit_test(test_payload_shape),
        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_bad_base64),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_oversize_exact),
        cmocka_unit_test(test_key_pem),
        cmocka_unit_test(test_key_pem_bad),
        cmocka_unit_test(test_jwks),
        cmocka_unit_test(test_two_keys),
        cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
