/* apiauthorization.c - who may do what where (API.md section 5). */
#include <ctype.h>

#include "../core/nspath.h"
#include "roles.h"
#include "specs.h"

static const struct attr apiauthorization_attrs[] = {
    { "name", T_STRING, A_REQUIRED | A_QUERY | A_ORDER, .max_len = 256 },
    { "description", T_STRING, A_QUERY, .max_len = 1024 },
    { "subject", T_SUBJECT, A_REQUIRED, .max_len = 64,
      .doc = "OR of AND lines of claims, each line with exactly one @auth:realm=" },
    { "authorizedIdentities", T_STRLIST, A_REQUIRED | A_QUERY | A_INDEXED, .max_len = 64,
      .doc = "roles (@auth:role=...) and permissions (identity,verb,...)" },
    { "authorizedNamespace", T_STRING, A_REQUIRED | A_QUERY | A_ORDER, .max_len = 1024 },
    { "authorizedSubnets", T_STRLIST, A_QUERY | A_INDEXED, .max_len = 64, .format = F_CIDR,
      .doc = "CIDRs the caller's address must be in (none: any address)" },
    { "disabled", T_BOOL, A_QUERY, .def = "false" },
};

/* "@auth:realm=Vince" as the tokens say it: realm claims are lowercase
 * (API.md 3), whatever the spelling a client took from POST /issue. */
static void
lowercase_realm(struct arena *a, struct val *claim)
{
    char *low = arena_strndup(a, claim->s.p, claim->s.len);

    for (char *p = low; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    *claim = val_str((struct str){ low, claim->s.len });
}

static int
check_line(struct arena *a, struct val *line, struct errbuf *eb)
{
    static const struct str realm = STR("@auth:realm=");
    size_t                  realms = 0;

    if (line->a.n < 2)
        return errbuf_attr(eb, E_VALIDATION, "subject",
                           "Each subject line needs at least two claims");
    for (size_t i = 0; i < line->a.n; i++) {
        struct str  c = line->a.v[i].s;
        const char *eq = memchr(c.p, '=', c.len);
        /* a token's claims are all @auth:<key>=<value>: any other never matches */
        if (eq == NULL || !str_starts(c, STR("@auth:")) || eq == c.p + 6)
            return errbuf_attr(eb, E_VALIDATION, "subject",
                               "Claim '%.*s' must be @auth:<key>=<value>",
                               (int)(c.len > 64 ? 64 : c.len), c.p);
        if (str_starts(c, realm) && c.len > realm.len) {
            realms++;
            lowercase_realm(a, &line->a.v[i]);
        }
    }
    if (realms != 1)
        return errbuf_attr(eb, E_VALIDATION, "subject",
                           "Each subject line needs exactly one @auth:realm= claim");
    return E_OK;
}

/* Whether an update grants to no one new and nowhere new: the same subject,
 * namespace and subnets, and not enabled by it. Else every entry is judged
 * again (a review put itself in the subject of an administrator's policy,
 * and enabled a disabled one, with apiauthorization,put alone). */
static bool
same_reach(const struct val *old, const struct val *obj)
{
    static const char *const keys[] = { "subject", "authorizedNamespace", "authorizedSubnets" };

    if (old == NULL || (val_get_true(old, "disabled") && !val_get_true(obj, "disabled")))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        const struct val *a = val_get(old, keys[i]), *b = val_get(obj, keys[i]);
        if ((a == NULL) != (b == NULL) || (a != NULL && !val_equal(a, b)))
            return false;
    }
    return true;
}

static int
check_policy(struct hook_ctx *ctx, struct val *obj, const struct val *old, struct errbuf *eb)
{
    struct val       *subj = val_get(obj, "subject");
    const struct val *ids = val_get(obj, "authorizedIdentities");
    struct val       *ns = val_get(obj, "authorizedNamespace");
    struct grant      g[ROLE_GRANTS_MAX];
    int               rc;

    for (size_t i = 0; i < subj->a.n; i++)
        if ((rc = check_line(ctx->a, &subj->a.v[i], eb)) != E_OK)
            return rc;
    for (size_t i = 0; i < ids->a.n; i++) {
        size_t n = 0;
        if ((rc = roles_parse_identity(ctx->a, ids->a.v[i].s, g, &n, eb)) != E_OK)
            return rc;
    }
    if (!nspath_valid(ns->s) || !nspath_within(ns->s, ctx->ns))
        return errbuf_attr(eb, E_VALIDATION, "authorizedNamespace",
                           "Attribute 'authorizedNamespace' must be '%.*s' or below it",
                           STR_FMT(ctx->ns));
    return roles_check_held(
        ctx, ids, same_reach(old, obj) ? val_get(old, "authorizedIdentities") : NULL, ns->s,
        val_get(obj, "authorizedSubnets"), "authorizedIdentities", eb);
}

static int
apiauthorization_before_write(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                              struct val *obj, const struct val *old, struct errbuf *eb)
{
    KW_UNUSED(s);
    KW_UNUSED(tx);
    return check_policy(ctx, obj, old, eb);
}

static struct spec_rt apiauthorization_rt;

const struct spec spec_apiauthorization = {
    .identity = "apiauthorization",
    .rest = "apiauthorizations",
    .attrs = apiauthorization_attrs,
    .nattrs = ARRAY_LEN(apiauthorization_attrs),
    .announced = true,
    .default_order = "name",
    .ops = OP_ALL,
    .access = ACCESS_ADMIN,
    .get_normal = true, /* who may do what: no secret */
    .hooks = { .before_write = apiauthorization_before_write },
    .rt = &apiauthorization_rt,
};
