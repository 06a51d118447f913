/* ldapprovider.c - the directories the LDAP realm binds to (API.md section 3).
 * The realm itself is auth/ldap.c; this file only describes and checks the
 * configuration. */

#include "../pki/pemcheck.h"
#include "roles.h"
#include "specs.h"

#define CA_PEM_MAX   (64 * 1024)
#define CA_CERTS_MAX 64
#define PORT_MAX     65535

static const char *const conn_protocols[] = { "TLS", "InbandTLS", "None", NULL };

static const struct attr ldapprovider_attrs[] = {
    { "name", T_STRING, A_REQUIRED | A_QUERY | A_ORDER, .pattern = "^[a-zA-Z0-9._-]+$",
      .max_len = 256 },
    { "description", T_STRING, A_QUERY, .max_len = 1024 },
    { "address", T_STRING, A_REQUIRED | A_QUERY,
      .pattern = "^([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\]):[0-9]{1,5}$", .max_len = 300,
      .doc = "host:port of the directory" },
    { "connSecurityProtocol", T_STRING, A_QUERY, .enums = conn_protocols, .def = "TLS",
      .doc = "TLS (ldaps://), InbandTLS (StartTLS) or None" },
    { "certificateAuthority", T_STRING, 0, .max_len = CA_PEM_MAX,
      .doc = "PEM certificates trusted for the directory; empty: the system's" },
    { "bindDN", T_STRING, A_REQUIRED | A_QUERY, .max_len = 1024,
      .doc = "the service account that searches users" },
    { "bindPassword", T_STRING, A_REQUIRED | A_WRITEONLY | A_SECRET | A_SEALED, .max_len = 1024,
      .doc = "write-only; sealed at rest; sent again with a change of where it goes",
      .kept_with = "address,connSecurityProtocol,certificateAuthority,bindDN" },
    { "baseDN", T_STRING, A_REQUIRED | A_QUERY, .max_len = 1024 },
    { "bindSearchFilter", T_STRING, 0, .def = "uid={USERNAME}", .max_len = 1024,
      .doc = "LDAP filter; {USERNAME} is replaced by the escaped user name" },
    { "subjectKey", T_STRING, 0, .pattern = "^[A-Za-z][A-Za-z0-9-]*$", .def = "uid",
      .max_len = 128, .doc = "the attribute whose value is the token's subject" },
    { "ignoredKeys", T_STRLIST, 0, .pattern = "^[A-Za-z0-9;._-]+$", .max_len = 128,
      .doc = "attributes never turned into claims (userPassword never is)" },
    { "default", T_BOOL, A_QUERY, .def = "false",
      .doc = "used when /issue names no provider (the first by name if several)" },
};

/* The port of "host:port" (the pattern checked the shape, not the range). */
static int
check_address(struct str addr, struct errbuf *eb)
{
    struct str rest = addr, port = STR_NULL;
    int64_t    n = 0;

    for (size_t i = addr.len; i > 0; i--)
        if (addr.p[i - 1] == ':') {
            port = (struct str){ addr.p + i, addr.len - i };
            rest.len = i - 1;
            break;
        }
    if (rest.len == 0 || str_to_i64(port, &n) != E_OK || n < 1 || n > PORT_MAX)
        return errbuf_attr(eb, E_VALIDATION, "address",
                           "Attribute 'address' must be host:port with a port from 1 to %d",
                           PORT_MAX);
    return E_OK;
}

static int
check_filter(struct str f, struct errbuf *eb)
{
    static const struct str key = STR("{USERNAME}");

    for (size_t i = 0; i + key.len <= f.len; i++)
        if (memcmp(f.p + i, key.p, key.len) == 0)
            return E_OK;
    return errbuf_attr(eb, E_VALIDATION, "bindSearchFilter",
                       "Attribute 'bindSearchFilter' must contain {USERNAME}");
}

/* Checks the generic validation cannot express. They need no stored state, so
 * they run on the request's thread. */
static int
ldapprovider_prepare(struct hook_ctx *ctx, const struct spec *s, struct val *obj, bool create,
                     struct errbuf *eb)
{
    struct str address = val_get_str(obj, "address"),
               filter = val_get_str(obj, "bindSearchFilter");
    int rc;

    if (roles_check_admin(ctx, s, ctx->ns, eb) != E_OK)
        return E_FORBIDDEN;
    /* An update's body is checked before defaults apply: what it leaves out
     * gets the default (filter) or is reported missing by the generic checks. */
    if ((create || address.len > 0) && (rc = check_address(address, eb)) != E_OK)
        return rc;
    if ((create || filter.len > 0) && (rc = check_filter(filter, eb)) != E_OK)
        return rc;
    return pem_clean_certs(ctx->a, obj, "certificateAuthority", CA_CERTS_MAX, eb);
}

static struct spec_rt ldapprovider_rt;

const struct spec spec_ldapprovider = {
    .identity = "ldapprovider",
    .rest = "ldapproviders",
    .announced = true, /* their tokens are refused once they go (auth/accounts.c) */
    .attrs = ldapprovider_attrs,
    .nattrs = ARRAY_LEN(ldapprovider_attrs),
    .unique = "name",
    .default_order = "name",
    .ops = OP_ALL,
    .access = ACCESS_ADMIN, /* who shapes the identities authorizations trust: administrators
                               (API.md 5) */
    .hooks = { .prepare = ldapprovider_prepare },
    .rt = &ldapprovider_rt,
};
