/* authn.c - bearer tokens: verified once, then found by hash; the signing keys.
 *
 * One ES256 verification costs more than a whole HTTPS request, so a verified
 * token's principal is kept in a fixed-size table keyed by the SHA-256 of the
 * token, until it expires or another token takes its slot. The table is split in
 * stripes with their own locks so threads rarely wait on each other.
 *
 * Signing keys form a ring kept in the store (meta "jwt_keys"), one line per
 * key, newest first: "<kid> <created ms> <retired ms or 0> <sealed PKCS#8 PEM>",
 * each key sealed under the master key with associated data "jwt_key/<kid>".
 * A key is published KEY_AHEAD_MS before it signs: the newest key at least
 * that old signs (the only one, at the first start). Every server re-reads the
 * ring each tick, so by the time a token names a new kid every server knows
 * it, and a token can be judged from memory alone (authn_peek, for the body
 * limit judged with a request's head). Every key not retired longer than
 * token_max_validity (plus KEY_AHEAD_MS, while it may still sign) ago
 * verifies and is published in the JWKS. With signing_key_rotation set, the
 * main thread's tick adds a new key once the newest is that old.
 */
#include "authn.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "../core/config.h"
#include "../core/digest.h"
#include "../core/log.h"
#include "../core/nspath.h"
#include "../core/rnd.h"
#include "../core/seal.h"
#include "../core/timeutil.h"
#include "../store/store.h"

#define STRIPES       64
#define META_JWT_KEY  "jwt_key"  /* the one key of versions before the ring */
#define META_JWT_KEYS "jwt_keys" /* the ring */
#define TOKEN_MAX     8192
#define RING_MAX      32                /* keys kept; older ones beyond it are dropped */
#define RING_TEXT_MAX (RING_MAX * 1024) /* a line is about 400 bytes */
#define KEY_AHEAD_MS  3000              /* published this long before it signs: three ticks */

struct ring_key {
    struct jwt_key *key;
    int64_t         created_ms, retired_ms; /* retired 0: not retired */
};

/* The keys as last read from the store. Immutable; reference-counted so that a
 * tick can replace it while other threads sign and verify. */
struct ring {
    struct ring_key k[RING_MAX]; /* newest first */
    size_t          n;
    struct buf      text; /* its stored form, to notice changes */
    int             refs; /* atomic */
};

struct slot {
    unsigned char     hash[32];
    struct principal *p;
};

static struct {
    struct ring    *ring; /* under ring_mu */
    pthread_mutex_t ring_mu;
    unsigned char   mk[32];
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

struct str
principal_claim(const struct principal *p, const char *key)
{
    size_t n = strlen(key);

    for (size_t i = 0; i < p->nclaims; i++) {
        struct str c = p->claims[i];
        if (c.len > 7 + n && memcmp(c.p, "@auth:", 6) == 0 && memcmp(c.p + 6, key, n) == 0 &&
            c.p[6 + n] == '=')
            return (struct str){ c.p + 7 + n, c.len - 7 - n };
    }
    return STR_NULL;
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
        p->claims =
            arena_realloc(p->a, p->claims, *cap * sizeof *p->claims, ncap * sizeof *p->claims);
        *cap = ncap;
    }
    p->claims[p->nclaims++] = s;
}

/* A user of an LDAP or OIDC provider outside / is confined to the provider's
 * namespace (its data.namespace, which the console sets): /issue restricts
 * such tokens since it was found that a tenant could name a provider like an
 * ancestor's (docs/api-decisions.md), and a token minted before is confined
 * here the same way. One restricted outside that namespace is usable nowhere. */
static int
confine_to_provider(struct principal *p, const struct val *data, struct errbuf *eb)
{
    struct str realm = val_get_str(data, "realm"), home = val_get_str(data, "namespace");

    if ((!str_eq_c(realm, "ldap") && !str_eq_c(realm, "oidc")) || home.len == 0 ||
        str_eq_c(home, "/"))
        return E_OK;
    if (p->restricted_ns.len == 0 || nspath_within(home, p->restricted_ns))
        p->restricted_ns = home;
    else if (!nspath_within(p->restricted_ns, home))
        return errbuf_set(eb, E_UNAUTH, "token restricted outside its provider's namespace");
    return E_OK;
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
    return confine_to_provider(p, data, eb);
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

/* ---- the key ring ---------------------------------------------------------- */

static void
ring_put(struct ring *r)
{
    if (r == NULL || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (size_t i = 0; i < r->n; i++)
        jwt_key_free(r->k[i].key);
    buf_free(&r->text);
    free(r);
}

static struct ring *
ring_get(void)
{
    struct ring *r;

    pthread_mutex_lock(&A.ring_mu);
    r = A.ring;
    if (r != NULL)
        __atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&A.ring_mu);
    return r;
}

static void
ring_set(struct ring *r)
{
    struct ring *old;

    pthread_mutex_lock(&A.ring_mu);
    old = A.ring;
    A.ring = r;
    pthread_mutex_unlock(&A.ring_mu);
    ring_put(old);
}

/* How long a retired key is kept: it may sign for KEY_AHEAD_MS more, and
 * verifies until every token it can have signed has expired. */
static int64_t
key_retention(void)
{
    return cfg.token_max_validity + KEY_AHEAD_MS;
}

static bool
key_valid(const struct ring_key *k, int64_t now)
{
    return k->retired_ms == 0 || now < k->retired_ms + key_retention();
}

/* The key that signs at `now`: the newest published KEY_AHEAD_MS ago, else
 * the oldest there is (a first start's only key). */
static const struct jwt_key *
ring_signer(const struct ring *r, int64_t now)
{
    size_t i = 0;

    while (i + 1 < r->n && now - r->k[i].created_ms < KEY_AHEAD_MS)
        i++;
    return r->k[i].key;
}

/* The keys that verify at `now`, into keys[0..RING_MAX). */
static size_t
ring_valid(const struct ring *r, int64_t now, const struct jwt_key **keys)
{
    size_t n = 0;

    for (size_t i = 0; r != NULL && i < r->n; i++)
        if (key_valid(&r->k[i], now))
            keys[n++] = r->k[i].key;
    return n;
}

/* One line of the ring: "kid created retired sealed". */
struct line {
    struct str kid, sealed;
    int64_t    created_ms, retired_ms;
};

static bool
next_field(struct str *rest, struct str *out)
{
    const char *sp = memchr(rest->p, ' ', rest->len);

    if (sp == NULL)
        return false;
    *out = (struct str){ rest->p, (size_t)(sp - rest->p) };
    rest->p = sp + 1;
    rest->len -= out->len + 1;
    return out->len > 0;
}

/* The next line of `text` (advanced past it); false at the end or on junk. */
static bool
line_next(struct str *text, struct line *l, bool *bad)
{
    const char *nl;
    struct str  rest, f;

    *bad = false;
    if (text->len == 0)
        return false;
    nl = memchr(text->p, '\n', text->len);
    rest = (struct str){ text->p, nl != NULL ? (size_t)(nl - text->p) : text->len };
    text->p += rest.len + (nl != NULL);
    text->len -= rest.len + (nl != NULL);
    if (!next_field(&rest, &l->kid) || !next_field(&rest, &f) ||
        str_to_i64(f, &l->created_ms) != E_OK || !next_field(&rest, &f) ||
        str_to_i64(f, &l->retired_ms) != E_OK || rest.len == 0) {
        *bad = true;
        return false;
    }
    l->sealed = rest;
    return true;
}

static int
line_put(struct buf *out, struct str kid, int64_t created, int64_t retired, struct str sealed)
{
    return buf_printf(out, "%.*s %lld %lld %.*s\n", STR_FMT(kid), (long long)created,
                      (long long)retired, STR_FMT(sealed));
}

static int
aad_of(struct str kid, char out[96])
{
    int n = snprintf(out, 96, "jwt_key/%.*s", STR_FMT(kid));

    return n > 0 && n < 96 ? E_OK : E_INTERNAL;
}

/* Every key of the stored ring, opened. */
static int
ring_parse(struct str text, struct ring **out, struct errbuf *eb)
{
    struct ring *r = calloc(1, sizeof *r);
    struct buf   pem;
    struct line  l;
    bool         bad = false;
    char         aad[96];
    int          rc = E_OK;

    if (r == NULL)
        abort();
    r->refs = 1;
    buf_init(&r->text, RING_TEXT_MAX);
    buf_init(&pem, 64 * 1024);
    if (buf_append(&r->text, text.p, text.len) != E_OK)
        rc = errbuf_set(eb, E_INTERNAL, "the token signing keys are too many");
    while (rc == E_OK && r->n < RING_MAX && line_next(&text, &l, &bad)) {
        buf_reset(&pem);
        if (aad_of(l.kid, aad) != E_OK || unseal(A.mk, l.sealed, str_c(aad), &pem) != E_OK ||
            jwt_key_from_pem(pem.p, pem.len, &r->k[r->n].key) != E_OK ||
            !str_eq_c(l.kid, jwt_key_kid(r->k[r->n].key))) {
            rc = errbuf_set(eb, E_INTERNAL,
                            "cannot open the token signing key %.*s: wrong master key?",
                            STR_FMT(l.kid));
            break;
        }
        r->k[r->n].created_ms = l.created_ms;
        r->k[r->n].retired_ms = l.retired_ms;
        r->n++;
    }
    if (rc == E_OK && (bad || r->n == 0))
        rc = errbuf_set(eb, E_INTERNAL, "the stored token signing keys are unreadable");
    buf_wipe(&pem);
    if (rc != E_OK) {
        ring_put(r);
        return rc;
    }
    *out = r;
    return E_OK;
}

/* A new key's line (created `now`), sealed. */
static int
key_line(const struct jwt_key *k, int64_t created, struct buf *out)
{
    struct buf pem, sealed;
    struct str kid = str_c(jwt_key_kid(k));
    char       aad[96];
    int        rc;

    buf_init(&pem, 64 * 1024);
    buf_init(&sealed, 64 * 1024);
    rc = aad_of(kid, aad);
    if (rc == E_OK)
        rc = jwt_key_to_pem(k, &pem);
    if (rc == E_OK)
        rc = seal(A.mk, buf_str(&pem), str_c(aad), &sealed);
    if (rc == E_OK)
        rc = line_put(out, kid, created, 0, buf_str(&sealed));
    buf_wipe(&pem);
    buf_free(&sealed);
    return rc;
}

/* The ring after a rotation at `now`: the new line first, the previous newest
 * retired now, keys past their retention (or beyond RING_MAX) left out. */
static int
ring_rotate_text(struct str old, struct str new_line, int64_t now, struct buf *out)
{
    struct line l;
    bool        bad, first = true;
    size_t      n = 1;
    int         rc = buf_append(out, new_line.p, new_line.len);

    while (rc == E_OK && line_next(&old, &l, &bad)) {
        if (first && l.retired_ms == 0)
            l.retired_ms = now;
        first = false;
        if (now >= l.retired_ms + key_retention() || n == RING_MAX)
            continue;
        rc = line_put(out, l.kid, l.created_ms, l.retired_ms, l.sealed);
        n++;
    }
    return rc;
}

/* The newest key's creation time in a stored ring; -1 if unreadable. */
static int64_t
text_newest(struct str text)
{
    struct line l;
    bool        bad;

    return line_next(&text, &l, &bad) ? l.created_ms : -1;
}

/* Read the ring and use it, if it changed. E_NOTFOUND when there is none. */
static int
ring_reload(struct errbuf *eb)
{
    struct arena *a = arena_new(4096);
    struct ring  *cur = ring_get(), *r = NULL;
    struct str    text;
    int           rc;

    rc = kw_store->ops->meta_get(kw_store, META_JWT_KEYS, a, &text);
    if (rc == E_OK && (cur == NULL || !str_eq(text, buf_str(&cur->text)))) {
        rc = ring_parse(text, &r, eb);
        if (rc == E_OK)
            ring_set(r);
    } else if (rc != E_OK && rc != E_NOTFOUND)
        errbuf_set(eb, rc, "cannot read the token signing keys");
    ring_put(cur);
    arena_free(a);
    return rc;
}

/* Writes of the ring. Both check the stored ring again inside the write
 * transaction (SQLite's writer holds the write lock from BEGIN IMMEDIATE, so
 * the committed state it reads cannot change under it): of two servers
 * starting or rotating at once, one writes and the other reads its result. */
struct ring_write {
    struct str text; /* the first ring; or the new key's line */
    int64_t    now;
    bool       rotate;
};

static int
ring_write_run(struct tx *tx, void *arg)
{
    struct ring_write *w = arg;
    struct arena      *a = arena_new(4096);
    struct buf         next;
    struct str         cur;
    int64_t            newest;
    int                rc;

    buf_init(&next, RING_TEXT_MAX);
    rc = kw_store->ops->meta_get(kw_store, META_JWT_KEYS, a, &cur);
    if (!w->rotate) {
        if (rc == E_OK)
            rc = E_DUPLICATE; /* another server made the first ring */
        else if (rc == E_NOTFOUND)
            rc = tx->ops->meta_put(tx, META_JWT_KEYS, w->text);
    } else if (rc == E_OK) {
        newest = text_newest(cur);
        if (newest >= 0 && w->now - newest < cfg.signing_key_rotation)
            rc = E_DUPLICATE; /* rotated by another server meanwhile */
        else if ((rc = ring_rotate_text(cur, w->text, w->now, &next)) == E_OK)
            rc = tx->ops->meta_put(tx, META_JWT_KEYS, buf_str(&next));
    }
    buf_free(&next);
    arena_free(a);
    return rc;
}

/* Verify `token` against the ring as it is now. */
static int
verify_with_ring(struct str token, int64_t now, struct arena *a, struct val *payload,
                 struct errbuf *eb)
{
    const struct jwt_key *keys[RING_MAX];
    struct ring          *r = ring_get();
    size_t                n = ring_valid(r, now, keys);
    int                   rc = jwt_verify(keys, n, token, now, cfg.public_url, a, payload, eb);

    ring_put(r);
    return rc;
}

/* A token refused by the ring may be signed by a key another server sharing
 * the store made a moment ago (the ring is re-read every second): read it
 * again now, at most once a second whatever the number of refused tokens, and
 * whether it changed. */
static bool
ring_refreshed(void)
{
    static int64_t last;
    int64_t        now = time_now_ms(), prev = __atomic_load_n(&last, __ATOMIC_ACQUIRE);
    struct errbuf  eb;
    struct ring   *before, *after;

    if (now - prev < 1000 || !__atomic_compare_exchange_n(&last, &prev, now, false,
                                                          __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return false;
    before = ring_get();
    ring_reload(&eb);
    after = ring_get();
    ring_put(before);
    ring_put(after);
    return before != after;
}

static int
verify_new(struct str token, const unsigned char hash[32], bool may_reload,
           struct principal **out, struct errbuf *eb)
{
    struct principal *p;
    int64_t           now = time_now_ms();
    int               rc;

    struct arena *a = arena_new(2048);
    p = arena_calloc(a, 1, sizeof *p);
    p->a = a;
    p->refs = 1;
    rc = verify_with_ring(token, now, a, &p->payload, eb);
    if (rc != E_OK && may_reload && ring_refreshed())
        rc = verify_with_ring(token, now, a, &p->payload, eb);
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

/* may_reload: a token the ring refuses may make it be read again (a store
 * round trip, at most once a second). */
static int
token_verify(struct str token, bool may_reload, struct principal **out, struct errbuf *eb)
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
    if (verify_new(token, hash, may_reload, out, eb) != E_OK)
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
authn_token(struct str token, struct principal **out, struct errbuf *eb)
{
    return token_verify(token, true, out, eb);
}

/* The token of an `Authorization: Bearer <token>` value. */
static int
bearer_token(struct str authorization, struct str *token, struct errbuf *eb)
{
    static const struct str bearer = STR("Bearer ");
    struct str              h = str_trim(authorization);

    if (authorization.p == NULL || h.len == 0)
        return errbuf_set(eb, E_UNAUTH, "Missing Authorization header");
    if (h.len <= bearer.len || !str_eq_nocase((struct str){ h.p, bearer.len }, "Bearer "))
        return errbuf_set(eb, E_UNAUTH, "Invalid or expired token");
    *token = str_trim((struct str){ h.p + bearer.len, h.len - bearer.len });
    return E_OK;
}

struct principal *
authn_peek(struct str authorization)
{
    struct errbuf     eb = { 0 };
    struct principal *p = NULL;
    struct str        tok;

    if (bearer_token(authorization, &tok, &eb) != E_OK ||
        token_verify(tok, false, &p, &eb) != E_OK)
        return NULL;
    return p;
}

int
authn_bearer(struct str authorization, const char *trace, struct principal **who,
             struct errbuf *eb)
{
    struct principal *p;
    struct str        tok;
    int               rc;

    if ((rc = bearer_token(authorization, &tok, eb)) != E_OK)
        return rc;
    if (authn_token(tok, &p, eb) != E_OK) {
        log_info("trace=%s token rejected: %s", trace, eb->msg);
        return errbuf_set(eb, E_UNAUTH, "Invalid or expired token");
    }
    *who = p;
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
    struct ring *r = ring_get();
    int rc = r != NULL ? jwt_sign(ring_signer(r, time_now_ms()), claims, out) : E_INTERNAL;

    ring_put(r);
    return rc;
}

int
authn_jwks(struct arena *a, struct val *out)
{
    const struct jwt_key *keys[RING_MAX];
    struct ring          *r = ring_get();
    int                   rc = jwt_jwks(keys, ring_valid(r, time_now_ms(), keys), a, out);

    ring_put(r);
    return rc;
}

/* The first ring: the key of an older version (counted as old: created 0),
 * or a new one. */
static int
ring_first(struct buf *text, struct errbuf *eb)
{
    struct arena   *a = arena_new(1024);
    struct jwt_key *k = NULL;
    struct buf      pem;
    struct str      sealed;
    int64_t         created = 0;
    int             rc;

    buf_init(&pem, 64 * 1024);
    rc = kw_store->ops->meta_get(kw_store, META_JWT_KEY, a, &sealed);
    if (rc == E_OK) {
        if (unseal(A.mk, sealed, STR(META_JWT_KEY), &pem) != E_OK ||
            jwt_key_from_pem(pem.p, pem.len, &k) != E_OK)
            rc = errbuf_set(eb, E_INTERNAL,
                            "cannot open the token signing key: wrong master key?");
    } else if (rc == E_NOTFOUND) {
        created = time_now_ms();
        if ((rc = jwt_key_generate(&k)) != E_OK)
            errbuf_set(eb, rc, "cannot create the token signing key");
    } else
        errbuf_set(eb, rc, "cannot read the token signing key");
    if (rc == E_OK && (rc = key_line(k, created, text)) != E_OK)
        errbuf_set(eb, rc, "cannot seal the token signing key");
    jwt_key_free(k);
    buf_wipe(&pem);
    arena_free(a);
    return rc;
}

static int
keys_init(struct errbuf *eb)
{
    struct buf text;
    int        rc = ring_reload(eb);

    if (rc != E_NOTFOUND)
        return rc;
    buf_init(&text, RING_TEXT_MAX);
    rc = ring_first(&text, eb);
    if (rc == E_OK) {
        struct ring_write w = { buf_str(&text), 0, false };
        rc = store_run(kw_store, ring_write_run, &w);
        if (rc == E_DUPLICATE)
            rc = E_OK; /* another server's ring is read below */
        if (rc != E_OK)
            errbuf_set(eb, rc, "cannot store the token signing key");
    }
    buf_free(&text);
    if (rc == E_OK && (rc = ring_reload(eb)) == E_NOTFOUND)
        rc = errbuf_set(eb, E_INTERNAL, "the token signing keys vanished");
    return rc;
}

int
authn_tick(int64_t now)
{
    struct errbuf   eb = { 0 };
    struct ring    *r;
    struct jwt_key *k = NULL;
    struct buf      line;
    bool            due;
    int             rc = ring_reload(&eb);

    if (rc != E_OK) {
        log_error("token signing keys: %s", eb.msg);
        return rc;
    }
    r = ring_get();
    due = cfg.signing_key_rotation > 0 && r != NULL &&
          now - r->k[0].created_ms >= cfg.signing_key_rotation;
    ring_put(r);
    if (!due)
        return E_OK;
    buf_init(&line, 64 * 1024);
    rc = jwt_key_generate(&k);
    if (rc == E_OK)
        rc = key_line(k, now, &line);
    if (rc == E_OK) {
        struct ring_write w = { buf_str(&line), now, true };
        rc = store_run(kw_store, ring_write_run, &w);
    }
    if (rc == E_OK)
        log_info("token signing key rotated: new kid %s", jwt_key_kid(k));
    if (rc == E_DUPLICATE)
        rc = E_OK;
    if (rc == E_OK)
        rc = ring_reload(&eb);
    if (rc != E_OK)
        log_error("token signing key rotation failed: %s", eb.msg[0] ? eb.msg : "store error");
    jwt_key_free(k);
    buf_free(&line);
    return rc;
}

/* The ring keeps RING_MAX keys: a rotation so frequent that more would still
 * verify tokens (token_max_validity after their retirement) would drop keys
 * whose tokens are still valid. Refused at the start rather than found out
 * by clients (a second look: with 1s and 1h, tokens failed after 40 s). */
static int
rotation_fits(struct errbuf *eb)
{
    int64_t r = cfg.signing_key_rotation, keep = key_retention();

    if (r == 0 || r * (RING_MAX - 1) >= keep - KEY_AHEAD_MS)
        return E_OK;
    return errbuf_set(eb, E_BADREQ,
                      "config: signing_key_rotation %llds is too short for token_max_validity "
                      "%llds: %d keys are kept; rotate every %llds or less often",
                      (long long)(r / 1000), (long long)(cfg.token_max_validity / 1000),
                      RING_MAX,
                      (long long)((keep - KEY_AHEAD_MS + (RING_MAX - 1) * 1000 - 1) /
                                  ((RING_MAX - 1) * 1000)));
}

int
authn_init(const unsigned char mk[32], struct errbuf *eb)
{
    size_t n = 16;

    if (rotation_fits(eb) != E_OK)
        return E_BADREQ;

    while (n < (size_t)cfg.token_cache_entries)
        n <<= 1;
    A.slots = calloc(n, sizeof *A.slots);
    if (A.slots == NULL)
        abort();
    A.mask = n - 1;
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_init(&A.locks[i], NULL);
    pthread_mutex_init(&A.ring_mu, NULL);
    memcpy(A.mk, mk, sizeof A.mk);
    return keys_init(eb);
}

void
authn_shutdown(void)
{
    for (size_t i = 0; A.slots != NULL && i <= A.mask; i++)
        principal_put(A.slots[i].p);
    free(A.slots);
    ring_set(NULL);
    mem_wipe(A.mk, sizeof A.mk);
    memset(&A, 0, sizeof A);
}
