/* linked.h - API authorizations owned by another object (a service account's or
 * an app credential's roles): created, updated and deleted with their owner, in
 * the same transaction. They are ordinary, visible objects, protected so that
 * they are changed through their owner. */
#ifndef KW_LINKED_H
#define KW_LINKED_H

#include "spec.h"

/* Whose tokens the authorization matches: those holding both
 * `@auth:realm=<realm>` and `@auth:<key>=<value>`. */
struct linked_subject {
    const char       *label; /* the authorization is named "<label> <owner name>" */
    const char       *realm;
    const char       *key;
    struct str        value;
    const struct val *subnets;  /* authorizedSubnets (CIDRs, checked here), or NULL */
    bool              reissued; /* the write hands the owner's credential on anew */
};

/* Create or update the authorization of `owner` (a stored object with ID, name,
 * namespace) granting its `roles` (authorizedIdentities entries) in its
 * namespace to the tokens `who` describes. The caller must hold the roles
 * (roles_check_held), but those `old` (the stored owner, NULL on create)
 * held already when the write reaches no one new and nowhere new. Sets the owner's
 * authorizationID. An owner without roles has no authorization (an existing one is deleted).
 * Runs inside the writer's transaction. */
int linked_policy_put(struct hook_ctx *ctx, struct tx *tx, struct val *owner,
                      const struct val *old, const struct linked_subject *who,
                      struct errbuf *eb);
/* Delete the owner's authorization (if any). */
int linked_policy_del(struct tx *tx, const struct val *owner, struct errbuf *eb);

#endif
