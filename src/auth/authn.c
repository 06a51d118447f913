/* authn.c - bearer tokens: verified once, then found by hash.
 *
 * One ES256 verification costs more than a whole HTTPS request, so a verified
 * token's principal is kept in a fixed-size table keyed by the SHA-256 of the
 * token, until it expires or another token takes its slot. The table is split in
 * stripes with their own locks so threads rarely wait on each other.
 */
#include "authn.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>

#include "../core/config.h"
#include "../core/log.h"
#include "../core/rnd.h"
#include "../core/digest.h"
#include "../core/seal.h"
#include "../core/timeutil.h"
#include "../store/store.h"

#define STRIPES       64
#define META_JWT_KEY  "jwt_key"
#define TOKEN_MAX     8192

struct slot {
    unsigned char     hash[32];
    struct principal *p;
};

static struct {
    struct jwt_key *key;
    struct slot    *slots;
    size_t          mask;
    pthread_mutex_t locks[STRIPES];
} A;

/* ---- principals ---------------------------------------------------------- */

void
principal_put(struct principal *p)
{
    if (p != NULL && __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0)
        arena_free(p->a);
}

static struct principal *
principal_get(struct principal *p)
{
    __atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
    return p;
}

static int
cmp_str(const void *x, const void *y)
{
    const struct str *a = x, *b = y;
    size_t            n = a->len < b->len ? a->len : b->len;
    int               c = memcmp(a->p, b->p, n);

    return c != 0 ? c : (a->len > b->len) - (a->len < b->len);
}

bool
principal_has(const struct principal *p, struct str c)
{
    return bsearch(&c, p->claims, p->nclaims, sizeof c, cmp_str) != NULL;
}

static void
add_claim(struct principal *p, size_t *cap, struct str k, const struct val *v)
{
    struct str s;

    if (v->t == V_STR)
        s = str_c(arena_printf(p->a, "@auth:%.*s=%.*s", STR_FMT(k), STR_FMT(v->s)));
    else if (v->t == V_BOOL)
        s = str_c(arena_printf(p->a, "@auth:%.*s=%s", STR_FMT(k), v->b ? "true" : "false"));
    else if (v->t == V_INT)
        s = str_c(arena_printf(p->a, "@auth:%.*s=%lld", STR_FMT(k), (long long)v->i));
    else if (v->t == V_ARR) {
        for (size_t i = 0; i < v->a.n; i++)
            add_claim(p, cap, k, &v->a.v[i]);
        return;
    } else
        return;
    if (p->nclaims == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        p->claims = arena_realloc(p->a, p->claims, *cap * sizeof *p->claims,
                                  ncap * sizeof *p->claims);
        *cap = ncap;
    }
    p->claims[p->nclaims++] = s;
}

/* The identity of a verified payload: claims, restrictions, quota. */
static int
principal_build(struct principal *p, struct errbuf *eb)
{
    const struct val *pl = &p->payload, *data = val_get(pl, "data"), *v;
    size_t            cap = 0;

    p->jti = val_get_str(pl, "jti");
    p->sub = val_get_str(pl, "sub");
    p->realm = val_get_str(pl, "realm");
    if (p->jti.len == 0 || p->realm.len == 0 || data == NULL || data->t != V_MAP)
        return errbuf_set(eb, E_UNAUTH, "token without jti, realm or data");
    if ((v = val_get(pl, "exp")) != NULL && v->t == V_INT)
        p->exp_ms = v->i * 1000;
    if ((v = val_get(pl, "quota")) != NULL && v->t == V_INT)
        p->quota = v->i;
    add_claim(p, &cap, STR("subject"), &(struct val){ .t = V_STR, .s = p->sub });
    for (size_t i = 0; i < data->m.n; i++)
        add_claim(p, &cap, data->m.kv[i].k, &data->m.kv[i].v);
    qsort(p->claims, p->nclaims, sizeof *p->claims, cmp_str);
    const struct val *rs = val_get(pl, "restrictions");
    if (rs != NULL && rs->t == V_MAP) {
        p->restricted_ns = val_get_str(rs, "namespace");
        if ((v = val_get(rs, "perms")) != NULL && v->t == V_ARR) {
            p->restricted_perms = arena_calloc(p->a, v->a.n + 1, sizeof(struct str));
            for (size_t i = 0; i < v->a.n; i++)
                if (v->a.v[i].t == V_STR)
                    p->restricted_perms[p->nrestricted_perms++] = v->a.v[i].s;
        }
        if ((v = val_get(rs, "networks")) != NULL && v->t == V_ARR && v->a.n > 0) {
            /* A token restricted to networks none of which parses is usable nowhere. */
            p->restricted_nets = arena_calloc(p->a, v->a.n, sizeof(struct cidr));
            for (size_t i = 0; i < v->a.n; i++)
                if (v->a.v[i].t == V_STR &&
                    cidr_parse(v->a.v[i].s, &p->restricted_nets[p->nrestricted_nets]) == E_OK)
                    p->nrestricted_nets++;
        }
    }
    return E_OK;
}

/* A token for another audience is not for us. */
static bool
audience_ok(const struct val *pl)
{
    const struct val *aud = val_get(pl, "aud");

    if (aud == NULL || aud->t == V_NULL || (aud->t == V_STR && aud->s.len == 0))
        return true;
    if (aud->t == V_STR)
        return str_eq_c(aud->s, cfg.public_url);
    if (aud->t == V_ARR)
        for (size_t i = 0; i < aud->a.n; i++)
            if (aud->a.v[i].t == V_STR && str_eq_c(aud->a.v[i].s, cfg.public_url))
                return true;
    return false;
}

static int
verify_new(struct str token, const unsigned char hash[32], struct principal **out,
           struct errbuf *eb)
{
    struct principal    *p;
    const struct jwt_key *keys[] = { A.key };
    int                  rc;

    struct arena *a = arena_new(2048);
    p = arena_calloc(a, 1, sizeof *p);
    p->a = a;
    p->refs = 1;
    rc = jwt_verify(keys, ARRAY_LEN(keys), token, time_now_ms(), cfg.public_url, a, &p->payload,
                    eb);
    if (rc == E_OK && !audience_ok(&p->payload))
        rc = errbuf_set(eb, E_UNAUTH, "token for another audience");
    if (rc == E_OK)
        rc = principal_build(p, eb);
    if (rc != E_OK) {
        arena_free(a);
        return E_UNAUTH;
    }
    char *hex = arena_alloc(a, 65);
    hex_encode(hash, 32, hex);
    p->token_hash = (struct str){ hex, 64 };
    *out = p;
    return E_OK;
}

int
authn_token(struct str token, struct principal **out, struct errbuf *eb)
{
    unsigned char hash[32];
    size_t        idx;
    struct slot  *sl;

    if (token.len == 0 || token.len > TOKEN_MAX)
        return errbuf_set(eb, E_UNAUTH, "token missing or too long");
    digest_sha256(token.p, token.len, hash);
    memcpy(&idx, hash, sizeof idx);
    idx &= A.mask;
    sl = &A.slots[idx];
    pthread_mutex_t *mu = &A.locks[idx % STRIPES];
    pthread_mutex_lock(mu);
    if (sl->p != NULL && memcmp(sl->hash, hash, 32) == 0 && sl->p->exp_ms > time_now_ms()) {
        *out = principal_get(sl->p);
        pthread_mutex_unlock(mu);
        return E_OK;
    }
    pthread_mutex_unlock(mu);
    if (verify_new(token, hash, out, eb) != E_OK)
        return E_UNAUTH;
    pthread_mutex_lock(mu);
    principal_put(sl->p);
    memcpy(sl->hash, hash, 32);
    sl->p = principal_get(*out);
    pthread_mutex_unlock(mu);
    return E_OK;
}

struct spend {
    struct principal *p;
};

static int
spend_run(struct tx *tx, void *arg)
{
    struct spend *s = arg;

    return tx->ops->quota_spend(tx, s->p->jti, s->p->quota, s->p->exp_ms);
}

int
authn_request(struct req *r, struct errbuf *eb)
{
    static const struct str bearer = STR("Bearer ");
    struct str              h = str_trim(r->authorization);
    struct principal       *p;
    int                     rc;

    if (r->authorization.p == NULL || h.len == 0)
        return errbuf_set(eb, E_UNAUTH, "Missing Authorization header");
    if (h.len <= bearer.len || !str_eq_nocase((struct str){ h.p, bearer.len }, "Bearer "))
        return errbuf_set(eb, E_UNAUTH, "Invalid or expired token");
    h.p += bearer.len, h.len -= bearer.len;
    if (authn_token(str_trim(h), &p, eb) != E_OK) {
        log_info("trace=%s token rejected: %s", r->trace, eb->msg);
        return errbuf_set(eb, E_UNAUTH, "Invalid or expired token");
    }
    r->who = p;
    if (p->quota > 0) {
        struct spend s = { p };
        rc = store_run(kw_store, spend_run, &s);
        if (rc == E_QUOTA)
            return errbuf_set(eb, E_QUOTA, "The token's quota is used up");
        if (rc != E_OK)
            return errbuf_set(eb, E_UNAVAILABLE, "The store is unavailable");
    }
    return E_OK;
}

/* ---- signing keys ---------------------------------------------------------- */

int
authn_sign(const struct val *claims, struct buf *out)
{
    return jwt_sign(A.key, claims, out);
}

int
authn_jwks(struct arena *a, struct val *out)
{
    const struct jwt_key *keys[] = { A.key };

    return jwt_jwks(keys, ARRAY_LEN(keys), a, out);
}

struct key_put {
    struct str sealed;
};

static int
key_put_run(struct tx *tx, void *arg)
{
    struct key_put *k = arg;

    return tx->ops->meta_put(tx, META_JWT_KEY, k->sealed);
}

static int
create_key(const unsigned char mk[32], struct errbuf *eb)
{
    struct buf pem, sealed;
    int        rc;

    buf_init(&pem, 64 * 1024);
    buf_init(&sealed, 64 * 1024);
    rc = jwt_key_generate(&A.key);
    if (rc == E_OK)
        rc = jwt_key_to_pem(A.key, &pem);
    if (rc == E_OK)
        rc = seal(mk, buf_str(&pem), STR(META_JWT_KEY), &sealed);
    if (rc == E_OK) {
        struct key_put k = { buf_str(&sealed) };
        rc = store_run(kw_store, key_put_run, &k);
    }
    buf_wipe(&pem);
    buf_free(&sealed);
    return rc == E_OK ? E_OK : errbuf_set(eb, rc, "cannot create the token signing key");
}

static int
load_key(const unsigned char mk[32], struct str sealed, struct errbuf *eb)
{
    struct buf pem;
    int        rc;

    buf_init(&pem, 64 * 1024);
    rc = unseal(mk, sealed, STR(META_JWT_KEY), &pem);
    if (rc == E_OK)
        rc = jwt_key_from_pem(pem.p, pem.len, &A.key);
    buf_wipe(&pem);
    if (rc != E_OK)
        return errbuf_set(eb, E_INTERNAL,
                          "cannot open the token signing key: wrong master key?");
    return E_OK;
}

int
authn_init(const unsigned char mk[32], struct errbuf *eb)
{
    struct arena *a = arena_new(1024);
    struct str    sealed;
    size_t        n = 16;
    int           rc;

    while (n < (size_t)cfg.token_cache_entries)
        n <<= 1;
    A.slots = calloc(n, sizeof *A.slots);
    if (A.slots == NULL)
        abort();
    A.mask = n - 1;
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_init(&A.locks[i], NULL);
    rc = kw_store->ops->meta_get(kw_store, META_JWT_KEY, a, &sealed);
    if (rc == E_NOTFOUND)
        rc = create_key(mk, eb);
    else if (rc == E_OK)
        rc = load_key(mk, sealed, eb);
    else
        errbuf_set(eb, rc, "cannot read the token signing key");
    arena_free(a);
    return rc;
}

void
authn_shutdown(void)
{
    for (size_t i = 0; A.slots != NULL && i <= A.mask; i++)
        principal_put(A.slots[i].p);
    free(A.slots);
    jwt_key_free(A.key);
    memset(&A, 0, sizeof A);
}
