/* role.c - GET /roles: the built-in roles (auth/roles.c), not stored. */
#include "roles.h"
#include "specs.h"

static const struct attr role_attrs[] = {
    { "name", T_STRING, A_READONLY, .doc = "role name" },
    { "key", T_STRING, A_READONLY, .doc = "the authorizedIdentities entry naming it" },
    { "description", T_STRING, A_READONLY },
    { "authorizations", T_ANY, A_READONLY, .doc = "identities and operations granted" },
};

static struct spec_rt role_rt;

const struct spec spec_role = {
    .identity = "role",
    .rest = "roles",
    .attrs = role_attrs,
    .nattrs = ARRAY_LEN(role_attrs),
    .ops = OP_LIST | OP_GET,
    .not_namespaced = true,
    .hooks = { .list_static = roles_list },
    .rt = &role_rt,
};
