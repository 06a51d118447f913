/* oauth2.c - POST /oauth2/access_token: OAuth 2.0 client credentials for
 * service accounts (RFC 6749 sections 2.3.1, 4.4, 5). Answers and errors follow
 * the RFC, not the console's error list, so stock OAuth 2.0 clients work. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>

#include "../../auth/authn.h"
#include "../../core/config.h"
#include "../../core/digest.h"
#include "../../core/log.h"
#include "../../core/nspath.h"
#include "../../core/rnd.h"
#include "../../core/timeutil.h"
#include "../../model/specs.h"
#include "../../store/store.h"
#include "../audit.h"
#include "issue.h"
#include "throttle.h"

#define TOKEN_VALIDITY_S 3600
#define FIELD_MAX        1024

struct client_req {
    struct str id, secret, grant, scope;
    bool       basic;
};

/* RFC 6749 5.2: {"error", "error_description"}; 401 for invalid_client. */
/* RFC 6749 5.1: tokens, and errors about them, are not cached. */
static void
no_cache(struct req *r)
{
    api_header(r, "Cache-Control", "no-store");
    api_header(r, "Pragma", "no-cache");
}

static void
oauth_error(struct req *r, int status, const char *error, const char *desc)
{
    struct val e = val_map();

    val_set(r->a, &e, "error", val_cstr(error));
    /* desc may live on the caller's stack (an errbuf): the answer is encoded later. */
    val_set(r->a, &e, "error_description", val_cstr(arena_strndup(r->a, desc, strlen(desc))));
    r->status = status;
    r->resp = e;
    r->has_resp = true;
    no_cache(r);
    if (status == 401)
        api_header(r, "WWW-Authenticate", "Basic realm=\"keyward\"");
    log_info("trace=%s oauth2: %s: %s", r->trace, error, desc);
}

/* application/x-www-form-urlencoded decoding ('+' is a space, %XX a byte)
 * into a NUL-terminated copy; false unless it is UTF-8 without NUL. */
static bool
form_decode(struct arena *a, struct str in, struct str *out)
{
    char *p = arena_strndup(a, in.p, in.len);

    *out = (struct str){ p, in.len };
    if (!pct_decode(out, true))
        return false;
    p[out->len] = '\0';
    return utf8_valid(p, out->len) && memchr(p, '\0', out->len) == NULL;
}

/* Each field at most once (RFC 6749 3.2: parameters must not repeat). */
static bool
form_parse(struct req *r, struct client_req *c)
{
    struct str rest = buf_str(&r->body), pair, k, v;
    struct {
        const char *name;
        struct str *dst;
    } fields[] = { { "grant_type", &c->grant },
                   { "scope", &c->scope },
                   { "client_id", &c->id },
                   { "client_secret", &c->secret } };

    while (rest.p != NULL && rest.len > 0) {
        rest = str_cut(rest, '&', &pair);
        struct str raw = str_cut(pair, '=', &k);
        if (raw.p == NULL || raw.len > FIELD_MAX || !form_decode(r->a, raw, &v))
            return false;
        for (size_t i = 0; i < ARRAY_LEN(fields); i++)
            if (str_eq_c(k, fields[i].name)) {
                if (fields[i].dst->p != NULL)
                    return false;
                *fields[i].dst = v;
            }
    }
    return true;
}

/* "Basic base64(urlencode(id):urlencode(secret))" (RFC 6749 2.3.1). */
static bool
basic_parse(struct req *r, struct client_req *c)
{
    struct str h = str_trim(r->authorization), user, pass;
    size_t     n;

    if (h.len < 6 || !str_eq_nocase((struct str){ h.p, 6 }, "Basic "))
        return false;
    h = str_trim((struct str){ h.p + 6, h.len - 6 });
    if (h.len == 0 || h.len > 4 * FIELD_MAX || h.len % 4 != 0)
        return false;
    unsigned char *dec = arena_alloc(r->a, h.len / 4 * 3 + 1);
    int            m = EVP_DecodeBlock(dec, (const unsigned char *)h.p, (int)h.len);
    if (m < 0)
        return false;
    n = (size_t)m;
    for (size_t i = h.len; i > 0 && h.p[i - 1] == '=' && n > 0; i--)
        n--; /* EVP_DecodeBlock counts padding as zero bytes */
    struct str all = { (const char *)dec, n };
    pass = str_cut(all, ':', &user);
    return pass.p != NULL && form_decode(r->a, user, &c->id) &&
           form_decode(r->a, pass, &c->secret);
}

static bool
secret_matches(const struct val *sa, struct str secret)
{
    static const char dummy[65] =
        "0000000000000000000000000000000000000000000000000000000000000000";
    char              hex[65];
    const struct val *h = sa != NULL ? val_get(sa, "secretHash") : NULL;
    const char       *want = h != NULL && h->t == V_STR && h->s.len == 64 ? h->s.p : dummy;

    /* Always hash and compare, so unknown clients take as long as known ones. */
    digest_sha256_hex(secret.p, secret.len, hex);
    return mem_equal_ct(hex, want, 64) && want != dummy;
}

/* scope "tsg_id:<namespace ID>": that namespace, the account's own or below it.
 * Absent: the account's own namespace. */
static int
scope_namespace(struct req *r, const struct client_req *c, struct str home, struct str *ns)
{
    static const struct str pfx = STR("tsg_id:");
    struct val              obj;
    struct errbuf           eb;

    *ns = home;
    if (c->scope.p == NULL || c->scope.len == 0)
        return E_OK;
    if (!str_starts(c->scope, pfx))
        return E_BADREQ;
    struct str id = { c->scope.p + pfx.len, c->scope.len - pfx.len };
    int rc = kw_store->ops->find(kw_store, &spec_namespace, NULL, "ID", id, r->a, &obj, &eb);
    if (rc != E_OK)
        return rc == E_UNAVAILABLE ? E_UNAVAILABLE : E_BADREQ;
    struct val *name = val_get(&obj, "name");
    if (name == NULL || name->t != V_STR || !nspath_within(name->s, home))
        return E_BADREQ;
    *ns = name->s;
    return E_OK;
}

static struct val
token_claims(struct req *r, const struct val *sa, struct str ns)
{
    struct val    c = val_map(), data = val_map(), rs = val_map();
    int64_t       now = time_now_ms() / 1000;
    char          jti[33];
    unsigned char raw[16];

    rnd_id_bytes(raw, sizeof raw); /* jti */
    hex_encode(raw, sizeof raw, jti);
    val_set(r->a, &data, "realm", val_cstr("serviceaccount"));
    val_set(r->a, &data, "serviceaccount", *val_get(sa, "name"));
    val_set(r->a, &data, "clientid", *val_get(sa, "ID"));
    val_set(r->a, &data, "organization", *val_get(sa, "namespace"));
    val_set(r->a, &rs, "namespace", val_str(ns));
    val_set(r->a, &c, "realm", val_cstr("ServiceAccount"));
    val_set(r->a, &c, "data", data);
    val_set(r->a, &c, "quota", val_int(0)); /* every field of API.md 3, as /issue */
    val_set(r->a, &c, "opaque", val_map());
    val_set(r->a, &c, "restrictions", rs);
    val_set(r->a, &c, "aud", val_cstr(cfg.public_url));
    val_set(r->a, &c, "exp", val_int(now + TOKEN_VALIDITY_S));
    val_set(r->a, &c, "iat", val_int(now));
    val_set(r->a, &c, "iss", val_cstr(cfg.public_url));
    val_set(r->a, &c, "jti", val_cstr(arena_strndup(r->a, jti, 32)));
    val_set(r->a, &c, "nbf", val_int(now));
    val_set(r->a, &c, "sub", *val_get(sa, "ID"));
    return c;
}

/* The scope granted (RFC 6749 5.1): the one asked, else the account's own
 * namespace's, "tsg_id:<ID>" ("/" has no ID: then none is said). */
static void
granted_scope(struct req *r, const struct client_req *c, struct str ns, struct val *out)
{
    struct val    obj;
    struct errbuf eb = { 0 };
    struct val   *id;

    if (c->scope.len > 0) {
        val_set(r->a, out, "scope", val_str(c->scope));
        return;
    }
    if (kw_store->ops->find(kw_store, &spec_namespace, NULL, "name", ns, r->a, &obj, &eb) !=
            E_OK ||
        (id = val_get(&obj, "ID")) == NULL || id->t != V_STR)
        return;
    val_set(r->a, out, "scope", val_cstr(arena_printf(r->a, "tsg_id:%.*s", STR_FMT(id->s))));
}

static void
grant(struct req *r, const struct val *sa, struct str ns, const struct client_req *c)
{
    struct val claims = token_claims(r, sa, ns), out = val_map();
    struct buf tok;

    buf_init(&tok, 64 * 1024);
    if (authn_sign(&claims, &tok) != E_OK) {
        buf_free(&tok);
        oauth_error(r, 500, "server_error", "token signing failed");
        return;
    }
    val_set(r->a, &out, "access_token", val_str(arena_str(r->a, buf_str(&tok))));
    val_set(r->a, &out, "token_type", val_cstr("Bearer"));
    val_set(r->a, &out, "expires_in", val_int(TOKEN_VALIDITY_S));
    granted_scope(r, c, ns, &out);
    buf_free(&tok);
    r->status = 200;
    r->resp = out;
    r->has_resp = true;
    no_cache(r);
}

/* Failures are counted per client ID at one address, not per client ID alone:
 * secrets are 256 random bits, beyond guessing, and a lock on the ID alone
 * would let anyone stop a service account by sending wrong secrets. False when
 * the answer is made. */
static bool
client_authenticated(struct req *r, const struct client_req *c, struct val *sa)
{
    struct throttle t;
    struct errbuf   eb = { 0 };
    int             idlen = (int)(c->id.len > 64 ? 64 : c->id.len), rc;
    struct str      key =
        str_c(arena_printf(r->a, "oauth2:%.*s@%.*s", idlen, c->id.p, STR_FMT(r->client_ip)));
    bool found;

    if (throttle_begin(r, key, &t, &eb) != E_OK) {
        oauth_error(r, 429, "temporarily_unavailable", eb.msg);
        return false;
    }
    found = c->id.len == 24 && kw_store->ops->find(kw_store, &spec_serviceaccount, NULL, "ID",
                                                   c->id, r->a, sa, &eb) == E_OK;
    rc = secret_matches(found ? sa : NULL, c->secret) && found ? E_OK
         : eb.code == E_UNAVAILABLE ? E_UNAVAILABLE
                                    : E_UNAUTH;
    throttle_end(r, &t, rc);
    if (rc == E_UNAVAILABLE) /* not the client's fault: it may try again (a review) */
        oauth_error(r, 503, "temporarily_unavailable", "the store is unavailable");
    else if (rc != E_OK)
        oauth_error(r, 401, "invalid_client", "client authentication failed");
    return rc == E_OK;
}

static bool
form_body(const struct req *r)
{
    struct str ct, head;

    str_cut(r->content_type, ';', &head);
    ct = str_trim(head);
    return str_eq_nocase(ct, "application/x-www-form-urlencoded");
}

void
oauth2_serve(struct req *r)
{
    struct client_req c = { 0 };
    struct val        sa;
    struct str        ns;

    r->out = CODEC_JSON; /* RFC 6749 answers are JSON */
    if (r->nparams > 0)  /* credentials belong in the body, never in a URL */
        return oauth_error(r, 400, "invalid_request", "no query parameters: send a form body");
    if (!form_body(r) || !form_parse(r, &c))
        return oauth_error(r, 400, "invalid_request", "expected a form body");
    c.basic = r->authorization.p != NULL;
    if (c.basic && (c.id.p != NULL || c.secret.p != NULL))
        return oauth_error(r, 400, "invalid_request", "client credentials given twice");
    if (c.basic && !basic_parse(r, &c))
        return oauth_error(r, 401, "invalid_client", "malformed Basic credentials");
    if (c.grant.p == NULL)
        return oauth_error(r, 400, "invalid_request", "grant_type is required");
    if (!str_eq_c(c.grant, "client_credentials"))
        return oauth_error(r, 400, "unsupported_grant_type", "use client_credentials");
    if (c.id.len == 0 || c.secret.p == NULL)
        return oauth_error(r, 401, "invalid_client", "client authentication failed");
    if (c.id.len <= 64)
        audit_claimed(
            r,
            (struct str[]){ str_c(arena_printf(r->a, "@auth:clientid=%.*s", STR_FMT(c.id))) },
            1);
    if (!client_authenticated(r, &c, &sa))
        return;
    int rc = scope_namespace(r, &c, val_get(&sa, "namespace")->s, &ns);
    if (rc == E_UNAVAILABLE)
        return oauth_error(r, 503, "temporarily_unavailable", "the store is unavailable");
    if (rc != E_OK)
        return oauth_error(r, 400, "invalid_scope", "scope must be tsg_id:<namespace ID>");
    grant(r, &sa, ns, &c);
}
