/* oidc.c - the OIDC realm: an OpenID Connect authorization-code login with PKCE
 * (OpenID Connect Core 1.0 section 3.1, RFC 7636) at an `oidcprovider`, in two
 * calls of POST /issue.
 *
 * Step 1 (metadata without `code`): the provider's discovery document is read,
 * then a state, a nonce and a PKCE verifier are made and kept server-side for ten
 * minutes under the state (sealed, in the store's single-use records), and the
 * answer is a 302 to the provider's authorization endpoint. Step 2 ({code,
 * state}): the state is taken (read and deleted at once, so a replay finds
 * nothing), the code is exchanged at the token endpoint with the verifier, and
 * the ID token is verified: the signature with a key from the provider's JWKS
 * (RS256 or ES256 only, with a key of that algorithm's type: "none" and HMAC never
 * verify), then iss, aud, azp, exp, iat, nbf and nonce. Only then are its claims
 * trusted.
 *
 * Every call to the provider is HTTPS through libcurl: no redirects followed,
 * 5 s time-outs, answers of at most HTTP_MAX bytes, trusting only the provider's
 * certificateAuthority when it is set. The calls block the request's thread:
 * logins are rare, and a provider that hangs costs at most three time-outs.
 *
 * Whatever fails in a login is one answer to the client, 401 "Invalid
 * credentials" (503 when the provider cannot be reached); the reason goes to the
 * log with the trace id. Codes, tokens, secrets, nonces and verifiers never do.
 */
#include <pthread.h>
#include <stdlib.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "../../auth/jws.h"
#include "../../auth/jwt.h"
#include "../../core/codec.h"
#include "../../core/digest.h"
#include "../../core/log.h"
#include "../../core/nspath.h"
#include "../../core/rnd.h"
#include "../../core/seal.h"
#include "../../core/timeutil.h"
#include "../../model/secrets.h"
#include "../../model/specs.h"
#include "../../store/store.h"
#include "issue.h"

#define HTTP_TIMEOUT_MS 5000
#define HTTP_MAX        (256 * 1024) /* a discovery document, a JWKS or a token answer */
#define JSON_DEPTH      16
#define URL_MAX         2048
#define LOCATION_MAX    (4 * URL_MAX)
#define RAND_LEN        32 /* state, nonce and PKCE verifier: 256 bits each */
#define RAND_B64        43 /* b64url_len(RAND_LEN) */
#define STATE_TTL_MS    (10 * 60 * 1000)
#define CODE_MAX        2048
#define IDTOKEN_MAX     (16 * 1024)
#define SUB_MAX         255 /* OpenID Connect Core 2: sub is at most 255 ASCII characters */
#define CLAIM_MAX       1024
#define CLAIM_ITEMS_MAX 64
#define CLAIMS_BUDGET   4096 /* all mapped claims: our token must stay under 8 KiB */
#define SKEW_S          60   /* tolerated clock skew for iat and nbf, as jwt.c does */
#define FORM_MAX        (32 * 1024)
#define RECORD_MAX      (16 * 1024) /* a login state's record in JSON */

/* A provider as stored, with the fields a login uses. */
struct provider {
    struct val        obj;
    struct str        id, ns, name, endpoint, client_id, ca;
    const struct val *scopes, *subjects;
};

/* What the provider's discovery document says (OpenID Connect Discovery 1.0). */
struct discovery {
    struct str issuer, authz, token, jwks;
    bool       post; /* client_secret_post: the provider does not take Basic */
};

/* What step 1 keeps for step 2, under the state. */
struct login {
    struct str provider_id, ns, nonce, verifier, redirect;
};

/* ---- HTTPS to the provider ------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* libcurl 7.88 is built thread-safe, but its global set-up is done once anyway,
 * before the first handle. */
static void
curl_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        log_error("oidc: curl_global_init failed");
}

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;

    /* Returning less than was given aborts the transfer: the answer is too big. */
    return buf_append(b, p, size * n) == E_OK ? size * n : 0;
}

/* Only HTTPS, no redirects, bounded in time and size; with a certificateAuthority
 * only it is trusted, else the system's store (libcurl ignores CURL_CA_BUNDLE). */
static bool
http_setup(CURL *c, const struct provider *p, const char *url, struct buf *out, char *err)
{
    struct curl_blob ca = { (void *)p->ca.p, p->ca.len, CURL_BLOB_COPY };
    bool             ok;

    ok = curl_easy_setopt(c, CURLOPT_URL, url) == CURLE_OK &&
         curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK &&
         curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
         curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
         curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)HTTP_TIMEOUT_MS) == CURLE_OK &&
         curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)HTTP_TIMEOUT_MS) == CURLE_OK &&
         curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_MAX) == CURLE_OK &&
         curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK &&
         curl_easy_setopt(c, CURLOPT_USERAGENT, "keyward") == CURLE_OK &&
         curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err) == CURLE_OK &&
         curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK &&
         curl_easy_setopt(c, CURLOPT_WRITEDATA, out) == CURLE_OK;
    if (ok && p->ca.len > 0)
        ok = curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_CAPATH, NULL) == CURLE_OK;
    return ok;
}

/* One request: a GET, or a POST of `form` when form.p != NULL. The answer's body
 * goes to `out` (its max applies); transport failures are E_UNAVAILABLE. */
static int
http_call(const struct provider *p, const char *url, struct str form,
          const struct curl_slist *hdrs, struct buf *out, long *status, struct errbuf *why)
{
    char     err[CURL_ERROR_SIZE] = "";
    CURL    *c;
    CURLcode cc = CURLE_FAILED_INIT;

    pthread_once(&curl_once, curl_init);
    c = curl_easy_init();
    if (c != NULL && http_setup(c, p, url, out, err) &&
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) == CURLE_OK &&
        (form.p == NULL ||
         (curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)form.len) == CURLE_OK &&
          curl_easy_setopt(c, CURLOPT_POSTFIELDS, form.p) == CURLE_OK)))
        cc = curl_easy_perform(c);
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    if (cc != CURLE_OK)
        return errbuf_set(why, E_UNAVAILABLE, "%s: %s", url,
                          err[0] != '\0' ? err : curl_easy_strerror(cc));
    return E_OK;
}

/* A JSON object from the provider into the request's arena. */
static int
json_map(struct req *r, const struct buf *b, struct val *out)
{
    return json_decode(r->a, buf_cstr(b), b->len, JSON_DEPTH, out, NULL) == E_OK &&
                   out->t == V_MAP
               ? E_OK
               : E_BADREQ;
}

/* GET a JSON object; anything but a 200 with one is the provider failing. */
static int
http_get_json(struct req *r, const struct provider *p, const char *url, struct val *out,
              struct errbuf *why)
{
    struct buf body;
    long       status = 0;
    int        rc;

    buf_init(&body, HTTP_MAX);
    rc = http_call(p, url, STR_NULL, NULL, &body, &status, why);
    if (rc == E_OK && status != 200)
        rc = errbuf_set(why, E_UNAVAILABLE, "%s answered %ld", url, status);
    if (rc == E_OK && json_map(r, &body, out) != E_OK)
        rc = errbuf_set(why, E_UNAVAILABLE, "%s: not a JSON object", url);
    buf_free(&body);
    return rc;
}

/* ---- URLs and encodings ----------------------------------------------------- */

static bool
is_https_url(struct str s)
{
    if (s.len > URL_MAX || !str_starts(s, STR("https://")) || s.len == 8)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if ((unsigned char)s.p[i] <= 0x20 || (unsigned char)s.p[i] >= 0x7f)
            return false;
    return true;
}

/* Percent-encoding of everything but RFC 3986's unreserved characters: right for
 * query strings and for application/x-www-form-urlencoded bodies alike. */
static int
pct_put(struct buf *b, struct str s)
{
    static const char hex[] = "0123456789ABCDEF";
    int               rc = E_OK;

    for (size_t i = 0; i < s.len && rc == E_OK; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~')
            rc = buf_putc(b, (char)c);
        else
            rc = buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
    return rc;
}

/* "&key=value" (or with `sep` '?' for the first one). */
static int
param_put(struct buf *b, char sep, const char *key, struct str v)
{
    int rc = buf_putc(b, sep);

    if (rc == E_OK)
        rc = buf_puts(b, key);
    if (rc == E_OK)
        rc = buf_putc(b, '=');
    return rc == E_OK ? pct_put(b, v) : rc;
}

static struct str
rand_b64(struct arena *a)
{
    unsigned char raw[RAND_LEN];
    char         *out = arena_alloc(a, RAND_B64 + 1);

    rnd_bytes(raw, sizeof raw);
    b64url_encode(raw, sizeof raw, out);
    OPENSSL_cleanse(raw, sizeof raw);
    return (struct str){ out, RAND_B64 };
}

/* RFC 7636 4.2: BASE64URL(SHA256(ASCII(code_verifier))). */
static struct str
pkce_challenge(struct arena *a, struct str verifier)
{
    unsigned char md[32];
    char         *out = arena_alloc(a, RAND_B64 + 1);

    digest_sha256(verifier.p, verifier.len, md);
    b64url_encode(md, sizeof md, out);
    return (struct str){ out, RAND_B64 };
}

/* Allocate a buffer's whole maximum at once: a buffer that holds a secret must
 * never grow, since realloc() would leave an unwiped copy behind. */
static int
buf_presize(struct buf *b)
{
    static const char zeros[1024];
    int               rc = E_OK;

    while (rc == E_OK && b->len < b->max)
        rc = buf_append(b, zeros,
                        b->max - b->len < sizeof zeros ? b->max - b->len : sizeof zeros);
    buf_reset(b);
    return rc;
}

/* ---- providers -------------------------------------------------------------- */

static void
provider_load(const struct val *obj, struct provider *p)
{
    p->obj = *obj;
    p->id = val_get_str(obj, "ID");
    p->ns = val_get_str(obj, "namespace");
    p->name = val_get_str(obj, "name");
    p->endpoint = val_get_str(obj, "endpoint");
    p->client_id = val_get_str(obj, "clientID");
    p->ca = val_get_str(obj, "certificateAuthority");
    p->scopes = val_get(obj, "scopes");
    p->subjects = val_get(obj, "subjects");
}

/* The namespace's default provider: the first by name of those marked default. */
static int
default_find(struct req *r, struct str ns, struct val *out, struct errbuf *eb)
{
    struct fnode    *f = NULL;
    struct order_key by_name = { spec_attr(&spec_oidcprovider, STR("name")), false };
    struct listq     q = { .scope = { ns, false }, .order = &by_name, .norder = 1, .limit = 1 };
    struct val       items;
    int64_t          total = 0;
    int              rc;

    if ((rc = filter_parse(r->a, STR("default == true"), 0, &f, eb)) != E_OK)
        return rc;
    q.filter = f;
    rc = kw_store->ops->list(kw_store, &spec_oidcprovider, &q, r->a, &items, &total, eb);
    if (rc == E_OK && (items.t != V_ARR || items.a.n == 0))
        rc = errbuf_set(eb, E_NOTFOUND, "no default provider");
    if (rc == E_OK)
        *out = items.a.v[0];
    return rc;
}

/* By name (or the default one) in `ns` for step 1, by ID for step 2. */
static int
provider_find(struct req *r, struct str ns, const char *attr, struct str value,
              struct provider *p, struct errbuf *why)
{
    struct scope  sc = { ns, false };
    struct errbuf feb = { 0 };
    struct val    obj;
    int           rc;

    if (value.len > 0)
        rc = kw_store->ops->find(kw_store, &spec_oidcprovider, &sc, attr, value, r->a, &obj,
                                 &feb);
    else
        rc = default_find(r, ns, &obj, &feb);
    if (rc == E_UNAVAILABLE)
        return errbuf_set(why, E_UNAVAILABLE, "the store is unavailable");
    if (rc != E_OK)
        return errbuf_set(why, E_UNAUTH, "no provider '%.*s' in namespace '%.*s'",
                          (int)(value.len > 64 ? 64 : value.len), value.p ? value.p : "",
                          (int)(ns.len > 256 ? 256 : ns.len), ns.p);
    provider_load(&obj, p);
    return E_OK;
}

/* ---- discovery -------------------------------------------------------------- */

static struct str
strip_slash(struct str s)
{
    if (s.len > 0 && s.p[s.len - 1] == '/')
        s.len--;
    return s;
}

/* Basic unless the provider says it does not take it (RFC 8414: the default). */
static int
auth_method(const struct val *doc, struct discovery *d, struct errbuf *why)
{
    const struct val *m = val_get(doc, "token_endpoint_auth_methods_supported");
    bool              basic = false, post = false;

    if (m == NULL || m->t != V_ARR)
        return E_OK;
    for (size_t i = 0; i < m->a.n; i++)
        if (m->a.v[i].t == V_STR) {
            basic = basic || str_eq_c(m->a.v[i].s, "client_secret_basic");
            post = post || str_eq_c(m->a.v[i].s, "client_secret_post");
        }
    if (!basic && !post)
        return errbuf_set(why, E_UNAVAILABLE,
                          "the provider takes neither "
                          "client_secret_basic nor client_secret_post");
    d->post = !basic;
    return E_OK;
}

/* The issuer must be the endpoint we asked (Discovery 4.3; a trailing '/' aside),
 * and every endpoint must be HTTPS. */
static int
discovery_check(const struct provider *p, const struct val *doc, struct discovery *d,
                struct errbuf *why)
{
    d->issuer = val_get_str(doc, "issuer");
    d->authz = val_get_str(doc, "authorization_endpoint");
    d->token = val_get_str(doc, "token_endpoint");
    d->jwks = val_get_str(doc, "jwks_uri");
    if (d->issuer.len == 0 || !str_eq(strip_slash(d->issuer), strip_slash(p->endpoint)))
        return errbuf_set(why, E_UNAVAILABLE, "the discovery issuer is not the endpoint");
    if (!is_https_url(d->authz) || !is_https_url(d->token) || !is_https_url(d->jwks))
        return errbuf_set(why, E_UNAVAILABLE,
                          "discovery: an endpoint is missing or not "
                          "an https URL");
    return auth_method(doc, d, why);
}

static int
discover(struct req *r, const struct provider *p, struct discovery *d, struct errbuf *why)
{
    struct str ep = strip_slash(p->endpoint);
    char      *url = arena_printf(r->a, "%.*s/.well-known/openid-configuration", STR_FMT(ep));
    struct val doc;
    int        rc;

    memset(d, 0, sizeof *d);
    if ((rc = http_get_json(r, p, url, &doc, why)) != E_OK)
        return rc;
    return discovery_check(p, &doc, d, why);
}

/* ---- the login state ---------------------------------------------------------- */

/* The store's key for a state: its hash, so that the table never holds a value
 * that could be presented back to us. */
static struct str
state_key(struct arena *a, struct str state)
{
    char hex[2 * SHA256_LEN + 1];

    digest_sha256_hex(state.p, state.len, hex);
    return str_c(arena_printf(a, "oidc:%s", hex));
}

struct eph_job {
    struct str    key, value;
    int64_t       expires_ms;
    struct arena *a;
};

static int
eph_put_run(struct tx *tx, void *arg)
{
    struct eph_job *j = arg;

    return tx->ops->eph_put(tx, j->key, j->value, j->expires_ms);
}

/* Runs in the writer while the request's thread waits in store_run(), so the
 * arena has one user at a time. */
static int
eph_take_run(struct tx *tx, void *arg)
{
    struct eph_job *j = arg;

    return tx->ops->eph_take(tx, j->key, j->a, &j->value);
}

static void
login_encode(struct arena *a, const struct login *l, struct val *out)
{
    *out = val_map();
    val_set(a, out, "provider", val_str(l->provider_id));
    val_set(a, out, "namespace", val_str(l->ns));
    val_set(a, out, "nonce", val_str(l->nonce));
    val_set(a, out, "verifier", val_str(l->verifier));
    val_set(a, out, "redirect", val_str(l->redirect));
}

/* Sealed under the master key, bound to the state's key: the record holds the
 * PKCE verifier, which must not be readable from the database file. */
static int
state_put(struct req *r, struct str state, const struct login *l, struct errbuf *why)
{
    struct eph_job j = { state_key(r->a, state), STR_NULL, time_now_ms() + STATE_TTL_MS, r->a };
    struct buf     plain, sealed;
    struct val     rec;
    int            rc;

    login_encode(r->a, l, &rec);
    buf_init(&plain, RECORD_MAX);
    buf_init(&sealed, 2 * RECORD_MAX);
    rc = seal_master() == NULL || j.key.len == 0 ? E_INTERNAL : buf_presize(&plain);
    if (rc == E_OK)
        rc = json_encode(&rec, &plain);
    if (rc == E_OK)
        rc = seal(seal_master(), buf_str(&plain), j.key, &sealed);
    if (rc == E_OK) {
        j.value = buf_str(&sealed);
        rc = store_run(kw_store, eph_put_run, &j);
    }
    buf_wipe(&plain);
    buf_free(&sealed);
    if (rc == E_UNAVAILABLE)
        return errbuf_set(why, E_UNAVAILABLE, "the store is unavailable");
    return rc == E_OK ? E_OK : errbuf_set(why, E_INTERNAL, "cannot keep the login state");
}

static int
login_decode(struct req *r, const struct buf *plain, struct login *l)
{
    struct val rec;

    if (json_map(r, plain, &rec) != E_OK)
        return E_INTERNAL;
    l->provider_id = val_get_str(&rec, "provider");
    l->ns = val_get_str(&rec, "namespace");
    l->nonce = val_get_str(&rec, "nonce");
    l->verifier = val_get_str(&rec, "verifier");
    l->redirect = val_get_str(&rec, "redirect");
    return l->provider_id.len > 0 && l->nonce.len > 0 && l->verifier.len > 0 ? E_OK
                                                                             : E_INTERNAL;
}

/* Read and delete at once, in one committed write: a second use finds nothing. */
static int
state_take(struct req *r, struct str state, struct login *l, struct errbuf *why)
{
    struct eph_job j = { state_key(r->a, state), STR_NULL, 0, r->a };
    struct buf     plain;
    int            rc;

    if (j.key.len == 0)
        return errbuf_set(why, E_INTERNAL, "cannot hash the state");
    rc = store_run(kw_store, eph_take_run, &j);
    if (rc == E_NOTFOUND)
        return errbuf_set(why, E_UNAUTH, "unknown, used or expired state");
    if (rc != E_OK)
        return errbuf_set(why, E_UNAVAILABLE, "the store is unavailable");
    buf_init(&plain, RECORD_MAX);
    rc = seal_master() == NULL ? E_INTERNAL : buf_presize(&plain);
    if (rc == E_OK)
        rc = unseal(seal_master(), j.value, j.key, &plain);
    if (rc == E_OK)
        rc = login_decode(r, &plain, l);
    buf_wipe(&plain);
    return rc == E_OK ? E_OK : errbuf_set(why, E_INTERNAL, "unreadable login state");
}

/* ---- step 1: to the provider ------------------------------------------------ */

/* "openid" first and always, then the configured scopes. */
static int
scope_put(struct buf *b, const struct provider *p)
{
    struct buf s;
    int        rc;

    buf_init(&s, URL_MAX);
    rc = buf_puts(&s, "openid");
    for (size_t i = 0; p->scopes != NULL && p->scopes->t == V_ARR && i < p->scopes->a.n; i++) {
        const struct val *v = &p->scopes->a.v[i];
        if (rc == E_OK && v->t == V_STR && !str_eq_c(v->s, "openid"))
            rc = buf_printf(&s, " %.*s", STR_FMT(v->s));
    }
    if (rc == E_OK)
        rc = param_put(b, '&', "scope", buf_str(&s));
    buf_free(&s);
    return rc;
}

static int
auth_url(const struct provider *p, const struct discovery *d, struct str state,
         const struct login *l, struct str challenge, struct buf *b)
{
    char sep = memchr(d->authz.p, '?', d->authz.len) != NULL ? '&' : '?';
    int  rc = buf_append(b, d->authz.p, d->authz.len);

    if (rc == E_OK)
        rc = param_put(b, sep, "response_type", STR("code"));
    if (rc == E_OK)
        rc = param_put(b, '&', "client_id", p->client_id);
    if (rc == E_OK)
        rc = param_put(b, '&', "redirect_uri", l->redirect);
    if (rc == E_OK)
        rc = scope_put(b, p);
    if (rc == E_OK)
        rc = param_put(b, '&', "state", state);
    if (rc == E_OK)
        rc = param_put(b, '&', "nonce", l->nonce);
    if (rc == E_OK)
        rc = param_put(b, '&', "code_challenge", challenge);
    if (rc == E_OK)
        rc = param_put(b, '&', "code_challenge_method", STR("S256"));
    return rc;
}

/* The client's own URL, where the provider sends the browser back; the provider
 * checks it against the client's registration, we check only its form. */
static bool
redirect_valid(struct str s)
{
    if (s.len > URL_MAX || !(str_starts(s, STR("https://")) || str_starts(s, STR("http://"))))
        return false;
    for (size_t i = 0; i < s.len; i++)
        if ((unsigned char)s.p[i] <= 0x20 || (unsigned char)s.p[i] >= 0x7f || s.p[i] == '#')
            return false;
    return true;
}

/* A provider's name as its spec allows it: [a-zA-Z0-9._-], at most 256. */
static bool
name_valid(struct str s)
{
    if (s.len > 256)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (!((s.p[i] >= 'a' && s.p[i] <= 'z') || (s.p[i] >= 'A' && s.p[i] <= 'Z') ||
              (s.p[i] >= '0' && s.p[i] <= '9') || s.p[i] == '.' || s.p[i] == '_' ||
              s.p[i] == '-'))
            return false;
    return true;
}

/* The client-facing checks of step 1: 422 naming the attribute. */
static int
start_check(const struct val *md, struct errbuf *eb)
{
    struct str ns = val_get_str(md, "namespace"), name = val_get_str(md, "OIDCProviderName");
    struct str redirect = val_get_str(md, "redirectURL");
    const struct val *n = val_get(md, "OIDCProviderName");

    if (!nspath_valid(ns))
        return errbuf_attr(eb, E_VALIDATION, "metadata.namespace",
                           "Attribute 'metadata.namespace' must be a namespace path");
    if ((n != NULL && n->t != V_STR && n->t != V_NULL) || !name_valid(name))
        return errbuf_attr(eb, E_VALIDATION, "metadata.OIDCProviderName",
                           "Attribute 'metadata.OIDCProviderName' must be a provider name");
    if (!redirect_valid(redirect))
        return errbuf_attr(eb, E_VALIDATION, "metadata.redirectURL",
                           "Attribute 'metadata.redirectURL' must be an http(s) URL");
    return E_OK;
}

static void
answer_redirect(struct req *r, const struct buf *url)
{
    r->location = arena_str(r->a, buf_str(url));
    r->status = 302;
    /* The URL in the body too: a browser's fetch() cannot read a 302's Location. */
    r->resp = val_map();
    val_set(r->a, &r->resp, "location", val_str(r->location));
    r->has_resp = true;
}

static int
login_start(struct req *r, const struct val *md, struct errbuf *why)
{
    struct provider  p;
    struct discovery d;
    struct login     l = { .ns = val_get_str(md, "namespace"),
                           .redirect = val_get_str(md, "redirectURL") };
    struct str       state, challenge;
    struct buf       url;
    int              rc;

    if ((rc = start_check(md, why)) != E_OK ||
        (rc = provider_find(r, l.ns, "name", val_get_str(md, "OIDCProviderName"), &p, why)) !=
            E_OK ||
        (rc = discover(r, &p, &d, why)) != E_OK)
        return rc;
    l.provider_id = p.id;
    state = rand_b64(r->a);
    l.nonce = rand_b64(r->a);
    l.verifier = rand_b64(r->a);
    challenge = pkce_challenge(r->a, l.verifier);
    buf_init(&url, LOCATION_MAX);
    rc = challenge.len == 0 ? E_INTERNAL : auth_url(&p, &d, state, &l, challenge, &url);
    if (rc != E_OK)
        rc = errbuf_set(why, E_UNAVAILABLE, "cannot build the authorization URL (too long?)");
    else if ((rc = state_put(r, state, &l, why)) == E_OK) {
        answer_redirect(r, &url);
        log_info("trace=%s oidc: login started at provider '%.*s' in '%.*s'", r->trace,
                 STR_FMT(p.name), STR_FMT(p.ns));
        rc = REALM_ANSWERED;
    }
    buf_free(&url);
    return rc;
}

/* ---- step 2: the token endpoint ------------------------------------------------ */

/* curl copies header strings into list nodes it never wipes: wipe them here. */
static void
headers_wipe(struct curl_slist *h)
{
    for (struct curl_slist *n = h; n != NULL; n = n->next)
        OPENSSL_cleanse(n->data, strlen(n->data));
    curl_slist_free_all(h);
}

/* RFC 6749 2.3.1: client_secret_basic is Basic over the form-encoded id and
 * secret. Percent-encoding at most triples them; base64 adds a third. */
static int
basic_header(const struct provider *p, struct str secret, struct curl_slist **hdrs)
{
    size_t             cred_max = 3 * (p->client_id.len + secret.len) + 1;
    size_t             enc_max = 4 * ((cred_max + 2) / 3) + 1; /* EVP_EncodeBlock's + NUL */
    unsigned char     *enc = malloc(enc_max);
    struct buf         cred, hdr;
    struct curl_slist *n = NULL;
    int                rc = enc == NULL ? E_INTERNAL : E_OK, len = 0;

    buf_init(&cred, cred_max);
    buf_init(&hdr, enc_max + 32);
    if (rc == E_OK && (rc = buf_presize(&cred)) == E_OK)
        rc = buf_presize(&hdr);
    if (rc == E_OK && (rc = pct_put(&cred, p->client_id)) == E_OK &&
        (rc = buf_putc(&cred, ':')) == E_OK)
        rc = pct_put(&cred, secret);
    if (rc == E_OK)
        len = EVP_EncodeBlock(enc, (const unsigned char *)cred.p, (int)cred.len);
    if (rc == E_OK)
        rc = len > 0 ? buf_printf(&hdr, "Authorization: Basic %.*s", len, (const char *)enc)
                     : E_INTERNAL;
    if (rc == E_OK)
        rc = (n = curl_slist_append(*hdrs, buf_cstr(&hdr))) == NULL ? E_INTERNAL : E_OK;
    if (n != NULL)
        *hdrs = n;
    if (enc != NULL)
        OPENSSL_cleanse(enc, enc_max);
    free(enc);
    buf_wipe(&cred);
    buf_wipe(&hdr);
    return rc;
}

static int
form_build(const struct provider *p, const struct discovery *d, struct str code,
           const struct login *l, struct str secret, struct buf *f)
{
    int rc = buf_puts(f, "grant_type=authorization_code");

    if (rc == E_OK)
        rc = param_put(f, '&', "code", code);
    if (rc == E_OK)
        rc = param_put(f, '&', "redirect_uri", l->redirect);
    if (rc == E_OK)
        rc = param_put(f, '&', "code_verifier", l->verifier);
    if (rc == E_OK && d->post)
        rc = param_put(f, '&', "client_id", p->client_id);
    if (rc == E_OK && d->post)
        rc = param_put(f, '&', "client_secret", secret);
    return rc;
}

/* The form and headers of the code exchange; both hold secrets. */
static int
token_request(const struct provider *p, const struct discovery *d, struct str code,
              const struct login *l, struct buf *form, struct curl_slist **hdrs,
              struct errbuf *why)
{
    struct buf         secret;
    struct errbuf      feb = { 0 };
    struct curl_slist *n;
    int                rc;

    buf_init(&secret, 4096);
    if (secrets_open(&spec_oidcprovider, &p->obj, "clientSecret", &secret, &feb) != E_OK) {
        buf_wipe(&secret);
        return errbuf_set(why, E_INTERNAL, "cannot open the client secret: %s", feb.msg);
    }
    rc = buf_presize(form);
    if (rc == E_OK)
        rc = form_build(p, d, code, l, buf_str(&secret), form);
    if (rc == E_OK && !d->post)
        rc = basic_header(p, buf_str(&secret), hdrs);
    if (rc == E_OK && (n = curl_slist_append(*hdrs, "Accept: application/json")) == NULL)
        rc = E_INTERNAL;
    else if (rc == E_OK)
        *hdrs = n;
    buf_wipe(&secret);
    return rc == E_OK ? E_OK : errbuf_set(why, E_INTERNAL, "cannot build the token request");
}

/* An error code of RFC 6749 5.2 is a plain token; anything else is not logged. */
static const char *
oauth_error(struct arena *a, const struct val *doc)
{
    struct str e = val_get_str(doc, "error");

    if (e.len == 0 || e.len > 64)
        return "-";
    for (size_t i = 0; i < e.len; i++)
        if (!((e.p[i] >= 'a' && e.p[i] <= 'z') || e.p[i] == '_'))
            return "-";
    return arena_strndup(a, e.p, e.len);
}

static int
token_answer(struct req *r, long status, const struct buf *body, struct str *id_token,
             struct errbuf *why)
{
    struct val doc;
    struct str t;

    if (status >= 500)
        return errbuf_set(why, E_UNAVAILABLE, "the token endpoint answered %ld", status);
    if (json_map(r, body, &doc) != E_OK)
        return errbuf_set(why, E_UNAUTH, "the token endpoint answered %ld, not JSON", status);
    if (status != 200)
        return errbuf_set(why, E_UNAUTH, "the token endpoint answered %ld %s", status,
                          oauth_error(r->a, &doc));
    t = val_get_str(&doc, "id_token");
    if (t.len == 0 || t.len > IDTOKEN_MAX)
        return errbuf_set(why, E_UNAUTH, "no usable id_token in the token answer");
    *id_token = t;
    return E_OK;
}

/* The code, the verifier and the redirect URI of step 1 for an ID token. */
static int
token_exchange(struct req *r, const struct provider *p, const struct discovery *d,
               struct str code, const struct login *l, struct str *id_token, struct errbuf *why)
{
    char              *url = arena_strndup(r->a, d->token.p, d->token.len);
    struct buf         form, body;
    struct curl_slist *hdrs = NULL;
    long               status = 0;
    int                rc;

    buf_init(&form, FORM_MAX);
    buf_init(&body, HTTP_MAX);
    rc = token_request(p, d, code, l, &form, &hdrs, why);
    if (rc == E_OK && buf_presize(&body) != E_OK)
        rc = errbuf_set(why, E_INTERNAL, "out of memory");
    if (rc == E_OK)
        rc = http_call(p, url, buf_str(&form), hdrs, &body, &status, why);
    if (rc == E_OK)
        rc = token_answer(r, status, &body, id_token, why);
    headers_wipe(hdrs);
    buf_wipe(&form);
    buf_wipe(&body);
    return rc;
}

/* ---- step 2: the ID token --------------------------------------------------- */

/* The provider's key for this token, by kid (or the only key of the algorithm's
 * type when the token names none). The JWKS is fetched at every login: logins
 * are rare, and a provider that rotated its keys is followed at once. */
static int
jwks_key(struct req *r, const struct provider *p, const struct discovery *d, const char *alg,
         struct str kid, EVP_PKEY **out, struct errbuf *why)
{
    char             *url = arena_strndup(r->a, d->jwks.p, d->jwks.len);
    const struct val *keys, *pick = NULL;
    struct val        doc;
    size_t            found = 0;
    int               rc = http_get_json(r, p, url, &doc, why);

    if (rc != E_OK)
        return rc;
    keys = val_get(&doc, "keys");
    for (size_t i = 0; keys != NULL && keys->t == V_ARR && i < keys->a.n; i++)
        if (keys->a.v[i].t == V_MAP && jwk_usable(&keys->a.v[i], alg, kid)) {
            pick = pick != NULL ? pick : &keys->a.v[i];
            found++;
        }
    if (found == 0)
        return errbuf_set(why, E_UNAUTH, "id_token: no %s key with its kid in the JWKS", alg);
    if (found > 1 && kid.p == NULL)
        return errbuf_set(why, E_UNAUTH, "id_token: no kid, and several %s keys", alg);
    *out = jwk_public_key(r->a, pick, alg);
    if (*out == NULL) {
        ERR_clear_error();
        return errbuf_set(why, E_UNAUTH, "id_token: the provider's %s key does not load", alg);
    }
    return E_OK;
}

static int
payload_decode(struct req *r, struct str part, struct val *claims, struct errbuf *why)
{
    unsigned char *raw = NULL;
    long           n = jws_b64(r->a, part, &raw);

    if (n < 0 ||
        json_decode(r->a, (const char *)raw, (size_t)n, JSON_DEPTH, claims, NULL) != E_OK ||
        claims->t != V_MAP)
        return errbuf_set(why, E_UNAUTH, "id_token: unreadable payload");
    return E_OK;
}

/* Signature first; the payload is read only once it holds. */
static int
jws_verify(struct req *r, const struct provider *p, const struct discovery *d, struct str token,
           struct val *claims, struct errbuf *why)
{
    struct jws     j;
    const char    *alg = NULL;
    struct str     kid = STR_NULL;
    EVP_PKEY      *key = NULL;
    unsigned char *sig = NULL;
    long           sl;
    int            rc;

    if (!jws_split(token, &j))
        return errbuf_set(why, E_UNAUTH, "id_token: not a compact JWS");
    if ((rc = jws_header(r->a, j.part[0], &alg, &kid, why)) != E_OK ||
        (rc = jwks_key(r, p, d, alg, kid, &key, why)) != E_OK)
        return rc;
    sl = jws_b64(r->a, j.part[2], &sig);
    if (sl <= 0 || !jwt_sig_verify(alg, key, j.input, sig, (size_t)sl))
        rc = errbuf_set(why, E_UNAUTH, "id_token: bad signature");
    else
        rc = payload_decode(r, j.part[1], claims, why);
    EVP_PKEY_free(key);
    return rc;
}

/* Core 3.1.3.7 steps 3 to 5: we are an audience, and with several audiences the
 * authorized party must be us. */
static int
aud_check(const struct val *c, struct str client_id, struct errbuf *why)
{
    const struct val *aud = val_get(c, "aud"), *azp = val_get(c, "azp");
    bool              ok = false;
    size_t            n = 1;

    if (aud != NULL && aud->t == V_STR)
        ok = str_eq(aud->s, client_id);
    else if (aud != NULL && aud->t == V_ARR) {
        n = aud->a.n;
        for (size_t i = 0; i < n && !ok; i++)
            ok = aud->a.v[i].t == V_STR && str_eq(aud->a.v[i].s, client_id);
    }
    if (!ok)
        return errbuf_set(why, E_UNAUTH, "id_token: aud is not our client ID");
    if ((n > 1 && azp == NULL) ||
        (azp != NULL && (azp->t != V_STR || !str_eq(azp->s, client_id))))
        return errbuf_set(why, E_UNAUTH, "id_token: azp is not our client ID");
    return E_OK;
}

static int
time_check(const struct val *c, struct errbuf *why)
{
    int64_t           now = time_now_ms() / 1000;
    const struct val *exp = val_get(c, "exp"), *iat = val_get(c, "iat");
    const struct val *nbf = val_get(c, "nbf");

    if (exp == NULL || exp->t != V_INT || exp->i <= now)
        return errbuf_set(why, E_UNAUTH, "id_token: expired, or no exp");
    if (iat == NULL || iat->t != V_INT || iat->i > now + SKEW_S)
        return errbuf_set(why, E_UNAUTH, "id_token: no iat, or iat in the future");
    if (nbf != NULL && (nbf->t != V_INT || nbf->i > now + SKEW_S))
        return errbuf_set(why, E_UNAUTH, "id_token: nbf in the future");
    return E_OK;
}

static int
claims_check(const struct provider *p, const struct discovery *d, const struct val *c,
             struct str nonce, struct errbuf *why)
{
    struct str n = val_get_str(c, "nonce"), sub = val_get_str(c, "sub");
    int        rc;

    if (!str_eq(val_get_str(c, "iss"), d->issuer))
        return errbuf_set(why, E_UNAUTH, "id_token: wrong issuer");
    if ((rc = aud_check(c, p->client_id, why)) != E_OK || (rc = time_check(c, why)) != E_OK)
        return rc;
    if (n.len != nonce.len || CRYPTO_memcmp(n.p, nonce.p, nonce.len) != 0)
        return errbuf_set(why, E_UNAUTH, "id_token: wrong nonce");
    if (sub.len == 0 || sub.len > SUB_MAX)
        return errbuf_set(why, E_UNAUTH, "id_token: no usable sub");
    return E_OK;
}

/* ---- step 2: the identity --------------------------------------------------- */

/* What a scalar costs of the claims budget; 0 when it is not kept. */
static size_t
claim_cost(const struct val *v, size_t budget)
{
    size_t cost = v->t == V_STR ? v->s.len : 8;

    if ((v->t == V_STR && (v->s.len == 0 || v->s.len > CLAIM_MAX)) ||
        (v->t != V_STR && v->t != V_BOOL && v->t != V_INT) || cost > budget)
        return 0;
    return cost;
}

/* Strings, booleans and integers as they are; lists keep their non-empty
 * strings. Bounded, since every value becomes part of our own token: what does
 * not fit in the budget is left out. */
static bool
claim_value(struct arena *a, const struct val *v, struct val *out, size_t *budget)
{
    size_t cost;

    if (v->t != V_ARR) {
        *out = *v;
        cost = claim_cost(v, *budget);
        *budget -= cost;
        return cost > 0;
    }
    *out = val_arr();
    for (size_t i = 0; i < v->a.n && out->a.n < CLAIM_ITEMS_MAX; i++)
        if (v->a.v[i].t == V_STR && (cost = claim_cost(&v->a.v[i], *budget)) > 0) {
            val_push(a, out, v->a.v[i]);
            *budget -= cost;
        }
    return out->a.n > 0;
}

/* Token data keys are lowercase (API.md section 3). */
static struct str
lowercase(struct arena *a, struct str s)
{
    char *p = arena_strndup(a, s.p, s.len);

    for (size_t i = 0; i < s.len; i++)
        if (p[i] >= 'A' && p[i] <= 'Z')
            p[i] = (char)(p[i] - 'A' + 'a');
    return (struct str){ p, s.len };
}

/* The console's own keys: a provider's claim of the same name never replaces
 * them, nor the subject. */
static bool
reserved(struct str k)
{
    return str_eq_c(k, "realm") || str_eq_c(k, "namespace") || str_eq_c(k, "provider") ||
           str_eq_c(k, "providerid") || str_eq_c(k, "subject");
}

static void
identity_fill(struct req *r, const struct provider *p, const struct val *c, struct identity *id)
{
    const struct val *subs = p->subjects;
    size_t            budget = CLAIMS_BUDGET;

    id->data = val_map();
    val_set(r->a, &id->data, "realm", val_cstr("oidc"));
    for (size_t i = 0; subs != NULL && subs->t == V_ARR && i < subs->a.n; i++) {
        const struct val *name = &subs->a.v[i], *v;
        struct val        out;
        if (name->t != V_STR || (v = val_get_s(c, name->s)) == NULL)
            continue;
        struct str k = lowercase(r->a, name->s);
        if (!reserved(k) && claim_value(r->a, v, &out, &budget))
            val_set_s(r->a, &id->data, k, out);
    }
    val_set(r->a, &id->data, "namespace", val_str(p->ns));
    val_set(r->a, &id->data, "provider", val_str(p->name));
    val_set(r->a, &id->data, "providerid", val_str(p->id));
    id->sub = val_get_str(c, "sub");
    id->home = p->ns;
}

/* A state is what step 1 made (43 base64url characters); anything else is not
 * worth a write to find it missing. */
static int
finish_check(const struct val *md, struct str *code, struct str *state, struct errbuf *why)
{
    *code = val_get_str(md, "code");
    *state = val_get_str(md, "state");
    if (code->len == 0 || code->len > CODE_MAX || state->len != RAND_B64)
        return errbuf_set(why, E_UNAUTH, "malformed code or state");
    return E_OK;
}

static int
login_finish(struct req *r, const struct val *md, struct identity *id, struct errbuf *why)
{
    struct str       code, state, token = STR_NULL;
    struct login     l = { 0 };
    struct provider  p = { 0 };
    struct discovery d = { 0 };
    struct val       claims;
    int              rc;

    if ((rc = finish_check(md, &code, &state, why)) != E_OK ||
        (rc = state_take(r, state, &l, why)) != E_OK ||
        (rc = provider_find(r, l.ns, "ID", l.provider_id, &p, why)) != E_OK ||
        (rc = discover(r, &p, &d, why)) != E_OK ||
        (rc = token_exchange(r, &p, &d, code, &l, &token, why)) != E_OK ||
        (rc = jws_verify(r, &p, &d, token, &claims, why)) != E_OK ||
        (rc = claims_check(&p, &d, &claims, l.nonce, why)) != E_OK)
        return rc;
    identity_fill(r, &p, &claims, id);
    log_info("trace=%s oidc: login at provider '%.*s' in '%.*s' succeeded", r->trace,
             STR_FMT(p.name), STR_FMT(p.ns));
    return E_OK;
}

/* ---- the realm -------------------------------------------------------------- */

int
realm_oidc(struct req *r, const struct val *md, struct identity *id, struct errbuf *eb)
{
    struct errbuf why = { 0 };
    int           rc =
        val_get(md, "code") == NULL ? login_start(r, md, &why) : login_finish(r, md, id, &why);

    if (rc == E_OK || rc == REALM_ANSWERED)
        return rc;
    if (rc == E_VALIDATION) { /* about the request's own metadata: safe to say */
        *eb = why;
        return rc;
    }
    log_warn("trace=%s oidc: login failed: %s", r->trace, why.msg);
    if (rc == E_UNAVAILABLE)
        return errbuf_set(eb, E_UNAVAILABLE, "The identity provider is unavailable");
    if (rc == E_INTERNAL)
        return errbuf_set(eb, E_INTERNAL, "Internal error");
    return errbuf_set(eb, E_UNAUTH, "Invalid credentials");
}
