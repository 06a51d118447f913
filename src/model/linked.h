/* linked.h - API authorizations owned by another object (a service account's or
 * an app credential's roles): created, updated and deleted with their owner, in
 * the same transaction. They are ordinary, visible objects, protected so that
 * they are changed through their owner. */
#ifndef KW_LINKED_H
#define KW_LINKED_H

#include "../api/req.h"
#include "spec.h"

/* Create or update the authorization of `owner` (a stored object with ID, name,
 * namespace) granting `roles` (authorizedIdentities entries) to tokens holding
 * both `@auth:realm=<realm>` and `@auth:<key>=<owner ID>`. Sets the owner's
 * authorizationID. An owner without roles has no authorization (an existing one
 * is deleted). Runs inside the writer's transaction. */
int linked_policy_put(struct req *r, struct tx *tx, struct val *owner, const char *realm,
                      const char *key, struct errbuf *eb);
/* Delete the owner's authorization (if any). */
int linked_policy_del(struct tx *tx, const struct val *owner, struct errbuf *eb);

#endif
