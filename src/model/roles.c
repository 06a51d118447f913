/* roles.c - the built-in roles, as data. */
#include "roles.h"

#include "../core/net.h"

#include "specs.h"

#define ALL_VERBS (VERB_GET | VERB_POST | VERB_PUT | VERB_DELETE)
#define ANY(v, acc)                                                                            \
    {                                                                                          \
        { "*", 1 }, (v), (acc)                                                                 \
    }
#define ONE(id, v)                                                                             \
    {                                                                                          \
        STR(id), (v), ACCESS_ADMIN                                                             \
    }

const struct role roles[] = {
    /* in name order: GET /roles lists them so (API.md 6) */
    { "certificate.requester",
      "Request certificates; read certificates and issuing templates",
      { ONE("certificaterequest", VERB_POST | VERB_GET), ONE("certificate", VERB_GET),
        ONE("issuingtemplate", VERB_GET) },
      3 },
    { "namespace.administrator",
      "Everything in the namespace and below",
      { ANY(ALL_VERBS, ACCESS_ADMIN) },
      1 },
    { "namespace.editor",
      "Everything but API authorizations, credentials, identity providers and certificate "
      "authorities (it reads authorizations and certificate authorities)",
      { ANY(ALL_VERBS, ACCESS_SECRET) },
      1 },
    { "namespace.viewer",
      "Read everything but secrets (credentials, webhooks, identity providers)",
      { ANY(VERB_GET, ACCESS_NORMAL) },
      1 },
};
const size_t nroles = ARRAY_LEN(roles);

static const struct {
    const char *name;
    unsigned    bit;
} verbs[] = {
    { "get", VERB_GET },       { "post", VERB_POST }, { "put", VERB_PUT },
    { "delete", VERB_DELETE }, { "*", ALL_VERBS },
};

static int
parse_role(struct str name, struct grant *out, size_t *n, struct errbuf *eb)
{
    for (size_t i = 0; i < nroles; i++)
        if (str_eq_c(name, roles[i].name)) {
            for (size_t j = 0; j < roles[i].ngrants; j++)
                out[(*n)++] = roles[i].grants[j];
            return E_OK;
        }
    return errbuf_attr(eb, E_VALIDATION, "authorizedIdentities", "Unknown role '%.*s'",
                       (int)(name.len > 64 ? 64 : name.len), name.p);
}

/* "identity,verb,verb": identity is "*" or a resource identity. */
static int
parse_permission(struct arena *a, struct str entry, struct grant *out, size_t *n,
                 struct errbuf *eb)
{
    struct str   id, rest = str_cut(entry, ',', &id), v;
    struct grant g = { arena_str(a, str_trim(id)), 0, ACCESS_ADMIN };

    if (!str_eq_c(g.identity, "*") && spec_by_identity(g.identity) == NULL)
        return errbuf_attr(eb, E_VALIDATION, "authorizedIdentities",
                           "Unknown identity '%.*s' in permission",
                           (int)(g.identity.len > 64 ? 64 : g.identity.len), g.identity.p);
    while (rest.p != NULL) {
        rest = str_cut(rest, ',', &v);
        v = str_trim(v);
        unsigned bit = 0;
        for (size_t i = 0; i < ARRAY_LEN(verbs); i++)
            if (str_eq_c(v, verbs[i].name))
                bit = verbs[i].bit;
        if (bit == 0)
            return errbuf_attr(eb, E_VALIDATION, "authorizedIdentities",
                               "Unknown verb '%.*s' in permission",
                               (int)(v.len > 16 ? 16 : v.len), v.p);
        g.verbs |= bit;
    }
    if (g.verbs == 0)
        return errbuf_attr(eb, E_VALIDATION, "authorizedIdentities",
                           "A permission needs at least one verb: 'identity,get'");
    out[(*n)++] = g;
    return E_OK;
}

int
roles_parse_identity(struct arena *a, struct str entry, struct grant *out, size_t *n,
                     struct errbuf *eb)
{
    static const struct str role = STR("@auth:role=");

    if (str_starts(entry, role))
        return parse_role((struct str){ entry.p + role.len, entry.len - role.len }, out, n, eb);
    return parse_permission(a, entry, out, n, eb);
}

/* The networks a grant is used from: its subnets, or everywhere (::/0). */
struct reach {
    struct cidr nets[64];
    size_t      n;
};

static int
reach_of(const struct val *subnets, struct reach *to, const char *attr, struct errbuf *eb)
{
    to->n = 0;
    for (size_t i = 0; subnets != NULL && subnets->t == V_ARR && i < subnets->a.n; i++) {
        if (to->n == ARRAY_LEN(to->nets) || subnets->a.v[i].t != V_STR ||
            cidr_parse(subnets->a.v[i].s, &to->nets[to->n]) != E_OK)
            return errbuf_attr(eb, E_VALIDATION, attr, "Attribute '%s': bad subnets", attr);
        to->n++;
    }
    if (to->n == 0)
        to->nets[to->n++] = (struct cidr){ .bits = 0 }; /* ::/0 */
    return E_OK;
}

/* Every operation `g` allows must be one the caller may do in `ns`, from
 * every address the grant is used from (else a caller whose rights hold only
 * from 127.0.0.2 made an administrator service account, used from anywhere:
 * a third look). */
static int
grant_held(const struct hook_ctx *ctx, const struct grant *g, struct str ns,
           const struct reach *from, const char *attr, struct str entry, struct errbuf *eb)
{
    static const unsigned each[] = { VERB_GET, VERB_POST, VERB_PUT, VERB_DELETE };
    struct errbuf         why = { 0 };

    for (size_t i = 0; i < spec_count; i++)
        for (size_t v = 0; v < ARRAY_LEN(each); v++)
            for (size_t k = 0; k < from->n && grant_allows(g, spec_all[i], each[v]); k++)
                if (ctx->holds(ctx, spec_all[i], each[v], ns, &from->nets[k], &why) != E_OK)
                    return errbuf_attr(
                        eb, E_FORBIDDEN, attr != NULL ? attr : "",
                        "Cannot grant '%.*s' in %.*s (nor hand on a credential holding it): "
                        "it allows %s,%s, which the caller may not do there from every "
                        "address it would be used from",
                        (int)(entry.len > 64 ? 64 : entry.len), entry.p, STR_FMT(ns),
                        spec_all[i]->identity, verbs[v].name);
    return E_OK;
}

int
roles_check_held(const struct hook_ctx *ctx, const struct val *granted,
                 const struct val *before, struct str ns, const struct val *subnets,
                 const char *attr, struct errbuf *eb)
{
    struct grant g[ROLE_GRANTS_MAX];
    struct reach from;
    int          rc;

    if (ctx->holds == NULL || granted == NULL || granted->t != V_ARR)
        return E_OK; /* no caller to judge: the console's own writes */
    if ((rc = reach_of(subnets, &from, attr, eb)) != E_OK)
        return rc;
    for (size_t i = 0; i < granted->a.n; i++) {
        size_t n = 0;
        if (val_list_has(before, granted->a.v[i].s))
            continue; /* granted already: not this write's doing */
        if ((rc = roles_parse_identity(ctx->a, granted->a.v[i].s, g, &n, eb)) != E_OK)
            return rc;
        for (size_t j = 0; j < n; j++)
            if ((rc = grant_held(ctx, &g[j], ns, &from, attr, granted->a.v[i].s, eb)) != E_OK)
                return rc;
    }
    return E_OK;
}

int
roles_check_admin(const struct hook_ctx *ctx, const struct spec *s, struct str ns,
                  struct errbuf *eb)
{
    struct val all = val_arr();

    val_push(ctx->a, &all, val_cstr("@auth:role=namespace.administrator"));
    if (roles_check_held(ctx, &all, NULL, ns, NULL, NULL, eb) == E_OK)
        return E_OK;
    return errbuf_set(eb, E_FORBIDDEN,
                      "Writing %s needs everything namespace.administrator allows in %.*s, "
                      "from any address: the tokens of an identity may be trusted by any "
                      "policy",
                      s->rest, STR_FMT(ns));
}

bool
grant_allows(const struct grant *g, const struct spec *s, unsigned verb)
{
    if (!(g->verbs & verb))
        return false;
    if (str_eq_c(g->identity, "*"))
        return (verb == VERB_GET && s->get_normal ? ACCESS_NORMAL : s->access) <= g->max_access;
    return str_eq_c(g->identity, s->identity);
}

/* The operations an identity-wide grant allows on each resource that has
 * them: identity -> verbs (what "upToSensitivity" means, spelled out). */
static struct val
grant_resources(struct arena *a, const struct grant *g)
{
    static const unsigned ops_of[] = { OP_LIST | OP_GET, OP_CREATE, OP_UPDATE, OP_DELETE };
    struct val            m = val_map();

    for (size_t i = 0; i < spec_count; i++) {
        const struct spec *s = spec_all[i];
        struct val         vs = val_arr();
        for (size_t v = 0; v + 1 < ARRAY_LEN(verbs) && !s->not_namespaced; v++)
            if ((s->ops & ops_of[v]) && grant_allows(g, s, verbs[v].bit))
                val_push(a, &vs, val_cstr(verbs[v].name));
        if (vs.a.n > 0)
            val_set(a, &m, s->identity, vs);
    }
    return m;
}

static struct val
grant_val(struct arena *a, const struct grant *g)
{
    struct val m = val_map(), vs = val_arr();

    for (size_t i = 0; i + 1 < ARRAY_LEN(verbs); i++)
        if (g->verbs & verbs[i].bit)
            val_push(a, &vs, val_cstr(verbs[i].name));
    val_set(a, &m, "identity", val_str(g->identity));
    val_set(a, &m, "operations", vs);
    if (str_eq_c(g->identity, "*")) {
        static const char *const acc[] = { "normal", "secret", "admin" };
        val_set(a, &m, "upToSensitivity", val_cstr(acc[g->max_access]));
        val_set(a, &m, "resources", grant_resources(a, g));
    }
    return m;
}

void
roles_list(struct arena *a, struct val *items)
{
    *items = val_arr();
    for (size_t i = 0; i < nroles; i++) {
        struct val r = val_map(), gs = val_arr();
        val_set(a, &r, "name", val_cstr(roles[i].name));
        val_set(a, &r, "key", val_cstr(arena_printf(a, "@auth:role=%s", roles[i].name)));
        val_set(a, &r, "description", val_cstr(roles[i].description));
        for (size_t j = 0; j < roles[i].ngrants; j++)
            val_push(a, &gs, grant_val(a, &roles[i].grants[j]));
        val_set(a, &r, "authorizations", gs);
        val_set(a, &r, "object", val_cstr("role"));
        val_push(a, items, r);
    }
}
