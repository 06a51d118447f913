/* issue.c - POST /issue: a realm proves an identity, the console signs a token
 * (API.md section 3). POST /authn: what a token says. */
#include "issue.h"

#include <stdio.h>

#include "../../auth/authn.h"
#include "../../auth/authz.h"
#include "../../core/config.h"
#include "../../core/log.h"
#include "../../core/net.h"
#include "../../core/nspath.h"
#include "../../core/rnd.h"
#include "../../core/timeutil.h"
#include "../../model/roles.h"
#include "../../store/store.h"

#define DEFAULT_VALIDITY_MS (24 * 3600 * 1000LL)

/* The request, checked. */
struct issue_req {
    struct str        realm;
    int64_t           validity_ms;
    int64_t           quota;
    const struct val *metadata, *opaque, *audience;
    struct str        rns;
    const struct val *rperms, *rnets;
};

static const char *const issue_keys[] = {
    "realm",
    "validity",
    "quota",
    "metadata",
    "audience",
    "opaque",
    "restrictedNamespace",
    "restrictedPermissions",
    "restrictedNetworks",
    NULL,
};

static int
bad(struct errbuf *eb, const char *attr, const char *msg)
{
    return errbuf_attr(eb, E_VALIDATION, attr, "%s", msg);
}

static int
check_keys(const struct val *in, struct errbuf *eb)
{
    for (size_t i = 0; i < in->m.n; i++) {
        bool ok = false;
        for (const char *const *k = issue_keys; *k != NULL && !ok; k++)
            ok = str_eq_c(in->m.kv[i].k, *k);
        if (!ok) {
            char name[64];
            return errbuf_attr(eb, E_VALIDATION, str_copy_cut(name, sizeof name, in->m.kv[i].k),
                               "Attribute '%s' is not known", name);
        }
    }
    return E_OK;
}

static bool
strlist(const struct val *v, size_t max)
{
    if (v->t != V_ARR || v->a.n > max)
        return false;
    for (size_t i = 0; i < v->a.n; i++)
        if (v->a.v[i].t != V_STR || v->a.v[i].s.len > 1024)
            return false;
    return true;
}

static int
check_restrictions(struct issue_req *q, const struct val *in, struct errbuf *eb)
{
    const struct val *v;

    if ((v = val_get(in, "restrictedNamespace")) != NULL && v->t != V_NULL) {
        if (v->t != V_STR || (v->s.len > 0 && !nspath_valid(v->s)))
            return bad(eb, "restrictedNamespace",
                       "Attribute 'restrictedNamespace' must be "
                       "a namespace path");
        q->rns = v->s;
    }
    if ((v = val_get(in, "restrictedPermissions")) != NULL && v->t != V_NULL) {
        if (!strlist(v, 64))
            return bad(eb, "restrictedPermissions",
                       "Attribute 'restrictedPermissions' must "
                       "be a list of permissions");
        for (size_t i = 0; i < v->a.n; i++) {
            int rc = authz_check_identity(v->a.v[i].s, eb);
            if (rc != E_OK) {
                snprintf(eb->attr, sizeof eb->attr, "restrictedPermissions");
                return rc;
            }
        }
        q->rperms = v;
    }
    if ((v = val_get(in, "restrictedNetworks")) != NULL && v->t != V_NULL) {
        if (!strlist(v, 64))
            return bad(eb, "restrictedNetworks",
                       "Attribute 'restrictedNetworks' must be a "
                       "list of CIDRs");
        if (cidr_list_check(v, "restrictedNetworks", eb) != E_OK)
            return eb->code;
        q->rnets = v;
    }
    return E_OK;
}

/* Whether a duration's text says zero ("0", "0s", "0h0m"), not a span too
 * short for milliseconds ("1us"), which asks for a very short token. */
static bool
zero_text(struct str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (s.p[i] >= '1' && s.p[i] <= '9')
            return false;
    return true;
}

static int
check_validity(struct issue_req *q, const struct val *in, struct errbuf *eb)
{
    const struct val *v = val_get(in, "validity");

    q->validity_ms = DEFAULT_VALIDITY_MS;
    if (v != NULL && v->t != V_NULL && !(v->t == V_STR && v->s.len == 0) &&
        !(v->t == V_INT && v->i == 0)) {
        if (v->t != V_STR || duration_parse(v->s, &q->validity_ms) != E_OK ||
            q->validity_ms < 0)
            return bad(eb, "validity",
                       "Attribute 'validity' must be a duration like "
                       "'90s', '1h30m' or '24h'");
        if (q->validity_ms == 0 && !zero_text(v->s))
            return bad(eb, "validity", "Attribute 'validity' must be at least 1s");
        if (q->validity_ms == 0)
            q->validity_ms = DEFAULT_VALIDITY_MS;
        if (q->validity_ms < 1000)
            return bad(eb, "validity", "Attribute 'validity' must be at least 1s");
    }
    if (q->validity_ms > cfg.token_max_validity)
        q->validity_ms = cfg.token_max_validity;
    return E_OK;
}

static int
check_request(struct issue_req *q, const struct val *in, struct errbuf *eb)
{
    const struct val *v;
    int               rc;

    memset(q, 0, sizeof *q);
    if (in->t != V_MAP)
        return errbuf_set(eb, E_BADREQ, "The body must be an object");
    if ((rc = check_keys(in, eb)) != E_OK)
        return rc;
    if ((v = val_get(in, "realm")) == NULL || v->t != V_STR || v->s.len == 0)
        return bad(eb, "realm", "Attribute 'realm' is required");
    q->realm = v->s;
    if ((v = val_get(in, "quota")) != NULL && v->t != V_NULL) {
        if (v->t != V_INT || v->i < 0)
            return bad(eb, "quota", "Attribute 'quota' must be a positive integer or 0");
        q->quota = v->i;
    }
    q->metadata = val_get(in, "metadata");
    if (q->metadata != NULL && q->metadata->t != V_MAP && q->metadata->t != V_NULL)
        return bad(eb, "metadata", "Attribute 'metadata' must be an object");
    q->opaque = val_get(in, "opaque");
    if (q->opaque != NULL && q->opaque->t != V_MAP && q->opaque->t != V_NULL)
        return bad(eb, "opaque", "Attribute 'opaque' must be an object");
    q->audience = val_get(in, "audience");
    if (q->audience != NULL && q->audience->t != V_STR && q->audience->t != V_NULL)
        return bad(eb, "audience", "Attribute 'audience' must be a string");
    if ((rc = check_validity(q, in, eb)) != E_OK)
        return rc;
    return check_restrictions(q, in, eb);
}

static struct val
restrictions(struct arena *a, const struct issue_req *q)
{
    struct val m = val_map();

    if (q->rns.len > 0)
        val_set(a, &m, "namespace", val_str(q->rns));
    if (q->rperms != NULL)
        val_set(a, &m, "perms", *q->rperms);
    if (q->rnets != NULL)
        val_set(a, &m, "networks", *q->rnets);
    return m;
}

static struct val
claims(struct req *r, const struct issue_req *q, const struct identity *id)
{
    struct arena *a = r->a;
    struct val    c = val_map();
    int64_t       now = time_now_ms() / 1000;
    unsigned char jti[16];
    char          jhex[33];

    rnd_id_bytes(jti, sizeof jti);
    hex_encode(jti, sizeof jti, jhex);
    val_set(a, &c, "realm", val_str(id->realm.len > 0 ? id->realm : q->realm));
    val_set(a, &c, "data", id->data);
    /* every field of API.md 3, also when empty: 0 is no quota, {} no restriction,
     * and the audience is this console's unless the request named another */
    val_set(a, &c, "quota", val_int(q->quota));
    val_set(a, &c, "opaque",
            q->opaque != NULL && q->opaque->t == V_MAP ? *q->opaque : val_map());
    val_set(a, &c, "restrictions", restrictions(a, q));
    val_set(a, &c, "aud",
            q->audience != NULL && q->audience->t == V_STR && q->audience->s.len > 0
                ? *q->audience
                : val_cstr(cfg.public_url));
    val_set(a, &c, "exp", val_int(now + q->validity_ms / 1000));
    val_set(a, &c, "iat", val_int(now));
    val_set(a, &c, "iss", val_cstr(cfg.public_url));
    val_set(a, &c, "jti", val_cstr(arena_strndup(a, jhex, 32)));
    val_set(a, &c, "nbf", val_int(now));
    val_set(a, &c, "sub", val_str(id->sub));
    return c;
}

/* The answer: the request echoed (never its metadata) with the token. */
static struct val
echo(struct req *r, const struct issue_req *q, struct str token)
{
    struct val a = val_map();
    char       dur[32];

    duration_format(q->validity_ms, dur);
    val_set(r->a, &a, "object", val_cstr("issue")); /* API.md 1: every top-level object */
    val_set(r->a, &a, "realm", val_str(q->realm));
    val_set(r->a, &a, "validity", val_cstr(arena_strndup(r->a, dur, strlen(dur))));
    val_set(r->a, &a, "quota", val_int(q->quota));
    if (q->audience != NULL && q->audience->t == V_STR)
        val_set(r->a, &a, "audience", *q->audience);
    if (q->opaque != NULL && q->opaque->t == V_MAP)
        val_set(r->a, &a, "opaque", *q->opaque);
    if (q->rns.len > 0)
        val_set(r->a, &a, "restrictedNamespace", val_str(q->rns));
    if (q->rperms != NULL)
        val_set(r->a, &a, "restrictedPermissions", *q->rperms);
    if (q->rnets != NULL)
        val_set(r->a, &a, "restrictedNetworks", *q->rnets);
    val_set(r->a, &a, "token", val_str(token));
    return a;
}

static const struct {
    const char *name; /* compared case-insensitively */
    int (*prove)(struct req *r, const struct val *metadata, struct identity *id,
                 struct errbuf *eb);
} realms[] = {
    { "vince", realm_vince }, { "certificate", realm_certificate },
    { "token", realm_token }, { "oidc", realm_oidc },
    { "ldap", realm_ldap },
};

static int
prove(struct req *r, const struct issue_req *q, struct identity *id, struct errbuf *eb)
{
    static const struct val empty = { .t = V_MAP };
    const struct val       *md =
        q->metadata != NULL && q->metadata->t == V_MAP ? q->metadata : &empty;

    for (size_t i = 0; i < ARRAY_LEN(realms); i++)
        if (str_eq_nocase(q->realm, realms[i].name))
            return realms[i].prove(r, md, id, eb);
    return errbuf_attr(eb, E_VALIDATION, "realm", "Realm '%.*s' is not supported",
                       (int)(q->realm.len > 32 ? 32 : q->realm.len), q->realm.p);
}

static bool
cidr_within(const struct cidr *in, const struct cidr *out)
{
    return out->bits <= in->bits && cidr_contains(out, in->addr);
}

/* Every requested network must lie inside one of the original's. */
static bool
nets_within(const struct val *req, const struct val *orig)
{
    for (size_t i = 0; i < req->a.n; i++) {
        struct cidr a, b;
        bool        ok = false;
        if (cidr_parse(req->a.v[i].s, &a) != E_OK)
            return false;
        for (size_t j = 0; j < orig->a.n && !ok; j++)
            ok = orig->a.v[j].t == V_STR && cidr_parse(orig->a.v[j].s, &b) == E_OK &&
                 cidr_within(&a, &b);
        if (!ok)
            return false;
    }
    return true;
}

/* The grants of permission entries `l` (those that do not parse grant
 * nothing, as authorize judges a restricted token), at most `max`. */
static size_t
perms_grants(struct arena *a, const struct val *l, struct grant *g, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < l->a.n && n + ROLE_GRANTS_MAX <= max; i++) {
        struct errbuf eb;
        size_t        k = 0;
        if (l->a.v[i].t == V_STR &&
            roles_parse_identity(a, l->a.v[i].s, &g[n], &k, &eb) == E_OK)
            n += k;
    }
    return n;
}

static bool
grants_allow(const struct grant *g, size_t n, const struct spec *s, unsigned verb)
{
    for (size_t i = 0; i < n; i++)
        if (grant_allows(&g[i], s, verb))
            return true;
    return false;
}

/* Whether the permissions `req` allow nothing `orig` does not, judged by what
 * they allow on every resource, not by how they are written:
 * ["certificate,get,post"] is within ["certificate,get", "certificate,post"],
 * ["apiauthorization,get"] within ["*,get"]. */
static bool
perms_within(const struct val *req, const struct val *orig)
{
    static const unsigned verbs[] = { VERB_GET, VERB_POST, VERB_PUT, VERB_DELETE };
    enum { GRANTS_MAX = 64 * ROLE_GRANTS_MAX };
    if (req->a.n > GRANTS_MAX / ROLE_GRANTS_MAX) /* lists hold 64 at most: never cut */
        return false;
    struct arena *a = arena_new(4096);
    struct grant *gr = arena_calloc(a, 2 * GRANTS_MAX, sizeof *gr), *go = gr + GRANTS_MAX;
    size_t        nr = perms_grants(a, req, gr, GRANTS_MAX);
    size_t        no = perms_grants(a, orig, go, GRANTS_MAX);
    bool          within = true;

    for (size_t i = 0; i < spec_count && within; i++)
        for (size_t k = 0; k < ARRAY_LEN(verbs) && within; k++)
            within = !grants_allow(gr, nr, spec_all[i], verbs[k]) ||
                     grants_allow(go, no, spec_all[i], verbs[k]);
    arena_free(a);
    return within;
}

struct take {
    const struct identity *id;
    int64_t                want, took;
};

static int
take_run(struct tx *tx, void *arg)
{
    struct take *t = arg;

    return tx->ops->quota_take(tx, t->id->quota_jti, t->id->quota, t->id->not_after_ms, t->want,
                               &t->took);
}

/* A copy of a token with a quota takes its uses from the original's (what it
 * asks for, or all that is left): the two together never make more requests
 * than the original could alone. A used-up original makes no copy. */
static int
take_quota(struct issue_req *q, const struct identity *id, struct errbuf *eb)
{
    struct take t = { id, q->quota, 0 };
    int         rc;

    if (id->quota <= 0)
        return E_OK;
    if ((rc = store_run(kw_store, take_run, &t)) == E_QUOTA)
        return errbuf_set(eb, E_QUOTA, "The token's quota is used up");
    if (rc != E_OK)
        return errbuf_set(eb, E_UNAVAILABLE, "The store is unavailable");
    q->quota = t.took;
    return E_OK;
}

/* The token's namespace restriction within `ns`: ns itself when none was asked
 * for, else 422 when the one asked for is not inside it. */
static int
narrow_ns(struct issue_req *q, struct str ns, const char *why, struct errbuf *eb)
{
    if (q->rns.len == 0)
        q->rns = ns;
    else if (!nspath_within(q->rns, ns))
        return bad(eb, "restrictedNamespace", why);
    return E_OK;
}

/* An identity vouched for by a namespace's provider is worth no more than that
 * namespace's administrators, who choose what the provider says: its token is
 * restricted to the namespace, so that a grant outside it (a policy naming a
 * provider or a user that a tenant can name alike) never reaches it. */
static int
confine(struct issue_req *q, const struct identity *id, struct errbuf *eb)
{
    if (id->home.len == 0 || str_eq_c(id->home, "/"))
        return E_OK;
    return narrow_ns(q, id->home,
                     "The token of a provider's user is restricted to the provider's namespace",
                     eb);
}

/* A token made from another may only be narrower: its restrictions inherit the
 * original's and may only shrink; it expires no later; its quota is taken from
 * the original's. */
static int
narrow(struct issue_req *q, const struct identity *id, struct errbuf *eb)
{
    const struct val *rs = id->restrictions, *v;

    if (id->not_after_ms > 0) {
        int64_t left = id->not_after_ms - time_now_ms();
        if (left < 1000)
            return errbuf_set(eb, E_UNAUTH, "Invalid credentials");
        if (q->validity_ms > left)
            q->validity_ms = left / 1000 * 1000;
    }
    if (rs == NULL || rs->t != V_MAP)
        return E_OK;
    if ((v = val_get(rs, "namespace")) != NULL && v->t == V_STR && v->s.len > 0 &&
        narrow_ns(q, v->s, "Restrictions can only narrow the original's", eb) != E_OK)
        return E_VALIDATION;
    /* An empty list asks for no restriction: from a restricted original, it
     * keeps the original's, as an absent one does (it widened it before). */
    if ((v = val_get(rs, "perms")) != NULL && v->t == V_ARR && v->a.n > 0) {
        if (q->rperms == NULL || q->rperms->a.n == 0)
            q->rperms = v;
        else if (!perms_within(q->rperms, v))
            return bad(eb, "restrictedPermissions",
                       "Restrictions can only narrow the original's");
    }
    if ((v = val_get(rs, "networks")) != NULL && v->t == V_ARR && v->a.n > 0) {
        if (q->rnets == NULL || q->rnets->a.n == 0)
            q->rnets = v;
        else if (!nets_within(q->rnets, v))
            return bad(eb, "restrictedNetworks", "Restrictions can only narrow the original's");
    }
    return E_OK;
}

void
issue_serve(struct req *r)
{
    struct errbuf    eb = { 0 };
    struct issue_req q;
    struct identity  id = { 0 };
    struct val       in, c;
    struct buf       tok;
    int              rc;

    if (r->nparams > 0) {
        api_fail(r, E_BADREQ, "/issue takes no query parameters");
        return;
    }
    if (r->body.len == 0) {
        api_fail(r, E_BADREQ, "The request has no body");
        return;
    }
    if ((rc = codec_decode(r->in, r->a, r->body.p, r->body.len, (int)cfg.max_depth, &in,
                           &eb)) != E_OK ||
        (rc = check_request(&q, &in, &eb)) != E_OK || (rc = prove(r, &q, &id, &eb)) != E_OK ||
        (rc = narrow(&q, &id, &eb)) != E_OK || (rc = confine(&q, &id, &eb)) != E_OK ||
        (rc = take_quota(&q, &id, &eb)) != E_OK) {
        if (rc != REALM_ANSWERED)
            api_error(r, &eb);
        return;
    }
    c = claims(r, &q, &id);
    buf_init(&tok, 64 * 1024);
    if (authn_sign(&c, &tok) != E_OK) {
        buf_free(&tok);
        api_fail(r, E_INTERNAL, "token signing failed");
        return;
    }
    r->status = 200;
    r->resp = echo(r, &q, arena_str(r->a, buf_str(&tok)));
    r->has_resp = true;
    buf_free(&tok);
    log_info("trace=%s issued a %.*s token for '%.*s'", r->trace, STR_FMT(q.realm),
             STR_FMT(id.sub));
}

/* The token to describe: {"token": ...} in the body, else the Authorization
 * header's. */
static struct str
authn_token_of(struct req *r, struct errbuf *eb)
{
    struct val in;

    if (r->body.len > 0) {
        if (codec_decode(r->in, r->a, r->body.p, r->body.len, 4, &in, eb) != E_OK)
            return STR_NULL;
        struct val *t = val_get(&in, "token");
        if (t != NULL && t->t == V_STR)
            return t->s;
        errbuf_attr(eb, E_VALIDATION, "token", "Attribute 'token' is required");
        return STR_NULL;
    }
    struct str h = str_trim(r->authorization);
    if (h.len > 7 && str_eq_nocase((struct str){ h.p, 7 }, "Bearer "))
        return str_trim((struct str){ h.p + 7, h.len - 7 });
    errbuf_set(eb, E_UNAUTH, "Missing Authorization header");
    return STR_NULL;
}

void
authn_serve(struct req *r)
{
    struct errbuf     eb = { 0 };
    struct principal *p;
    struct str        tok = authn_token_of(r, &eb);

    if (tok.p == NULL) {
        api_error(r, &eb);
        return;
    }
    if (token_honoured(tok, &p, &eb) != E_OK) { /* an account disabled: 401 too */
        api_error(r, &eb);
        return;
    }
    struct val out = val_map(), cl = val_arr();
    val_set(r->a, &out, "object", val_cstr("authn"));
    val_set(r->a, &out, "claims", val_clone(r->a, &p->payload));
    for (size_t i = 0; i < p->nclaims; i++)
        val_push(r->a, &cl, val_str(arena_str(r->a, p->claims[i])));
    val_set(r->a, &out, "authClaims", cl);
    principal_put(p);
    r->status = 200;
    r->resp = out;
    r->has_resp = true;
}
