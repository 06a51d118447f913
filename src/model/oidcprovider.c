/* oidcprovider.c - the OpenID Connect providers the OIDC realm logs in with
 * (API.md section 3). The realm itself is auth/oidc.c; this file describes and
 * checks the configuration. */

#include "../pki/pemcheck.h"
#include "roles.h"
#include "specs.h"

#define CA_PEM_MAX   (64 * 1024)
#define CA_CERTS_MAX 64

/* The issuer is an https URL without user info, query or fragment (OpenID
 * Connect Discovery 1.0, section 2): plain http is refused even on loopback, so
 * a provider's tokens and the client secret never cross a network in clear. */
#define ENDPOINT_PATTERN "^https://[][A-Za-z0-9.:-]+(/[^[:space:]?#]*)?$"

static const struct attr oidcprovider_attrs[] = {
    { "name", T_STRING, A_REQUIRED | A_QUERY | A_ORDER, .pattern = "^[a-zA-Z0-9._-]+$",
      .max_len = 256, .doc = "metadata.OIDCProviderName at /issue" },
    { "description", T_STRING, A_QUERY, .max_len = 1024 },
    { "endpoint", T_STRING, A_REQUIRED | A_QUERY, .pattern = ENDPOINT_PATTERN, .max_len = 1024,
      .doc = "issuer URL (https); discovery at <endpoint>/.well-known/openid-configuration" },
    { "clientID", T_STRING, A_REQUIRED | A_QUERY, .pattern = "^[!-~]+$", .max_len = 256,
      .doc = "the console's client ID at the provider" },
    { "clientSecret", T_STRING, A_REQUIRED | A_WRITEONLY | A_SECRET | A_SEALED, .max_len = 1024,
      .doc = "write-only; sealed at rest; sent again with a change of where it goes",
      .kept_with = "endpoint,certificateAuthority,clientID" },
    { "scopes", T_STRLIST, 0, .pattern = "^[A-Za-z0-9_.:/+-]+$", .max_len = 32,
      .doc = "scopes requested; default [\"openid\"]; openid is always sent" },
    { "subjects", T_STRLIST, 0, .pattern = "^[A-Za-z0-9_.:/-]+$", .max_len = 32,
      .doc = "ID token claims that become @auth: claims; default [\"sub\", \"email\"]" },
    { "certificateAuthority", T_STRING, 0, .max_len = CA_PEM_MAX,
      .doc = "PEM certificates trusted for the provider's TLS; empty: the system's" },
    { "default", T_BOOL, A_QUERY, .def = "false",
      .doc = "used when /issue names no provider (the first by name if several)" },
};

/* The engine's default for a list is the empty list; these lists have
 * meaningful defaults, filled here so that a read shows what a login uses. */
static void
default_list(struct arena *a, struct val *obj, const char *attr, const char *const *items)
{
    struct val *v = val_get(obj, attr), l = val_arr();

    if (v != NULL && v->t != V_NULL && !(v->t == V_ARR && v->a.n == 0))
        return;
    for (; *items != NULL; items++)
        val_push(a, &l, val_cstr(*items));
    val_set(a, obj, attr, l);
}

/* Runs before the generic checks on an update's body, so every value is looked
 * at only if it has the right type; the engine reports the wrong ones. */
static int
oidcprovider_prepare(struct hook_ctx *ctx, const struct spec *s, struct val *obj, bool create,
                     struct errbuf *eb)
{
    static const char *const scopes[] = { "openid", NULL };
    static const char *const subjects[] = { "sub", "email", NULL };
    const struct val        *ca = val_get(obj, "certificateAuthority");

    if (roles_check_admin(ctx, s, ctx->ns, eb) != E_OK)
        return E_FORBIDDEN;
    KW_UNUSED(create);
    default_list(ctx->a, obj, "scopes", scopes);
    default_list(ctx->a, obj, "subjects", subjects);
    if (ca != NULL && ca->t == V_STR && ca->s.len <= CA_PEM_MAX)
        return pem_clean_certs(ctx->a, obj, "certificateAuthority", CA_CERTS_MAX, eb);
    return E_OK;
}

static struct spec_rt oidcprovider_rt;

const struct spec spec_oidcprovider = {
    .identity = "oidcprovider",
    .rest = "oidcproviders",
    .announced = true, /* their tokens are refused once they go (auth/accounts.c) */
    .attrs = oidcprovider_attrs,
    .nattrs = ARRAY_LEN(oidcprovider_attrs),
    .unique = "name",
    .default_order = "name",
    .ops = OP_ALL,
    .access = ACCESS_ADMIN, /* who shapes the identities authorizations trust: administrators
                               (API.md 5) */
    .hooks = { .prepare = oidcprovider_prepare },
    .rt = &oidcprovider_rt,
};
