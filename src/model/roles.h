/* roles.h - the built-in roles and raw permissions (API.md section 5). */
#ifndef KW_ROLES_H
#define KW_ROLES_H

#include "../core/val.h"
#include "spec.h"

/* One thing a policy grants: verbs on an identity ("*" = every identity whose
 * spec access is at most max_access; a named identity ignores access). */
struct grant {
    struct str       identity;
    unsigned         verbs; /* enum verb bits */
    enum spec_access max_access;
};

#define ROLE_GRANTS_MAX 8

struct role {
    const char  *name;
    const char  *description;
    struct grant grants[ROLE_GRANTS_MAX];
    size_t       ngrants;
};

extern const struct role roles[];
extern const size_t      nroles;

/* Parse an authorizedIdentities entry into grants appended at out[*n] (room for
 * ROLE_GRANTS_MAX more). E_VALIDATION for an unknown role, identity or verb. */
int roles_parse_identity(struct arena *a, struct str entry, struct grant *out, size_t *n,
                         struct errbuf *eb);
/* A principal grants only what it holds: every operation that an entry of
 * `granted` (authorizedIdentities, or a credential's roles) allows in `ns`
 * must be one the caller may do there (ctx->holds: its API authorizations
 * within its token's restrictions) from every address of `subnets` (a list
 * of CIDRs: where the grant is used from; NULL or empty: from anywhere).
 * Entries already in `before` (the stored object's, when the write changes
 * neither to whom nor where they apply; NULL on create, and when the write
 * hands a credential holding them on: a new secret, a renewed certificate)
 * are not judged again. E_FORBIDDEN naming `attr`. Else a token narrowed to
 * `serviceaccount,post` made an administrator service account (a review). */
int roles_check_held(const struct hook_ctx *ctx, const struct val *granted,
                     const struct val *before, struct str ns, const struct val *subnets,
                     const char *attr, struct errbuf *eb);
/* The caller must hold everything namespace.administrator allows in `ns`,
 * from anywhere: for writes of `s`'s objects that make or change an
 * identity (an account and its password, an identity provider and its
 * directory), whose tokens any policy may trust. E_FORBIDDEN otherwise (a
 * third look set the administrator's password with account,put alone, and
 * pointed a provider at its own directory with ldapprovider,put). */
int roles_check_admin(const struct hook_ctx *ctx, const struct spec *s, struct str ns,
                      struct errbuf *eb);
/* True when `g` allows `verb` on spec `s`. */
bool grant_allows(const struct grant *g, const struct spec *s, unsigned verb);
/* The role objects served by GET /roles. */
void roles_list(struct arena *a, struct val *items);

#endif
