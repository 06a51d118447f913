/* linked.c - see linked.h. */
#include "linked.h"

#include <stdio.h>

#include "../core/net.h"
#include "../store/store.h"
#include "roles.h"
#include "specs.h"
#include "validate.h"

static struct val
subject(struct arena *a, const struct linked_subject *who)
{
    struct val line = val_arr(), subj = val_arr();

    val_push(a, &line, val_cstr(arena_printf(a, "@auth:realm=%s", who->realm)));
    val_push(a, &line,
             val_cstr(arena_printf(a, "@auth:%s=%.*s", who->key, STR_FMT(who->value))));
    val_push(a, &subj, line);
    return subj;
}

static int
check_roles(struct arena *a, const struct val *granted, struct errbuf *eb)
{
    struct grant g[ROLE_GRANTS_MAX];

    for (size_t i = 0; granted != NULL && i < granted->a.n; i++) {
        size_t n = 0;
        int    rc = roles_parse_identity(a, granted->a.v[i].s, g, &n, eb);
        if (rc != E_OK) {
            snprintf(eb->attr, sizeof eb->attr, "roles");
            return rc;
        }
    }
    return E_OK;
}

/* The owner's subnets become the authorization's: checked here because a
 * linked authorization bypasses the API authorization's own checks. */
static int
check_subnets(const struct val *nets, struct errbuf *eb)
{
    return cidr_list_check(nets, "authorizedSubnets", eb);
}

static struct val *
field(const struct val *o, const char *k)
{
    static struct val empty = { .t = V_STR };
    struct val       *v = val_get(o, k);

    return v != NULL ? v : &empty;
}

/* The roles the owner held before this write, when it gives them to no one
 * new and nowhere new: the owner was there (`old`), keeps its subnets, and
 * hands no credential on (a renewal, reissue: who->reissued). */
static const struct val *
held_before(const struct val *old, const struct linked_subject *who)
{
    const struct val *nets = old != NULL ? val_get(old, "authorizedSubnets") : NULL;
    bool              same_nets = (nets == NULL || nets->a.n == 0)
                                      ? who->subnets == NULL || who->subnets->a.n == 0
                                      : who->subnets != NULL && val_equal(nets, who->subnets);

    return old != NULL && same_nets && !who->reissued ? val_get(old, "roles") : NULL;
}

int
linked_policy_put(struct hook_ctx *ctx, struct tx *tx, struct val *owner, const struct val *old,
                  const struct linked_subject *who, struct errbuf *eb)
{
    struct val *granted = val_get(owner, "roles"), *pid = val_get(owner, "authorizationID");
    struct str  ns = field(owner, "namespace")->s;
    struct val  in = val_map(), pol;
    int         rc;

    if ((rc = check_roles(ctx->a, granted, eb)) != E_OK ||
        (rc = check_subnets(who->subnets, eb)) != E_OK ||
        (rc = roles_check_held(ctx, granted, held_before(old, who), ns, who->subnets, "roles",
                               eb)) != E_OK)
        return rc;
    if (granted == NULL || granted->a.n == 0) { /* no roles: no authorization */
        rc = linked_policy_del(tx, owner, eb);
        val_set(ctx->a, owner, "authorizationID", val_cstr(""));
        return rc;
    }
    val_set(ctx->a, &in, "name",
            val_cstr(
                arena_printf(ctx->a, "%s %.*s", who->label, STR_FMT(field(owner, "name")->s))));
    val_set(ctx->a, &in, "description",
            val_cstr("Managed by its owner: change the owner's roles"));
    val_set(ctx->a, &in, "subject", subject(ctx->a, who));
    if (who->subnets != NULL && who->subnets->t == V_ARR && who->subnets->a.n > 0)
        val_set(ctx->a, &in, "authorizedSubnets", *who->subnets);
    val_set(ctx->a, &in, "authorizedIdentities", granted != NULL ? *granted : val_arr());
    val_set(ctx->a, &in, "authorizedNamespace", val_str(ns));
    val_set(ctx->a, &in, "protected", val_bool(true));
    if ((rc = object_new(ctx->a, &spec_apiauthorization, ns, &in, &pol, eb)) != E_OK)
        return rc;
    struct val fresh = *val_get(&pol, "ID");
    if (pid != NULL && pid->t == V_STR && pid->s.len > 0) {
        val_set(ctx->a, &pol, "ID", *pid); /* the same object, new content */
        tags_normalize(ctx->a, &spec_apiauthorization, &pol);
        rc = tx->ops->update(tx, &spec_apiauthorization, &pol, NULL);
        if (rc != E_NOTFOUND)
            return rc == E_OK ? E_OK : errbuf_set(eb, rc, "store error");
        val_set(ctx->a, &pol, "ID", fresh); /* deleted with ?override: create it again */
    }
    tags_normalize(ctx->a, &spec_apiauthorization, &pol);
    rc = tx->ops->insert(tx, &spec_apiauthorization, &pol);
    if (rc == E_NOTFOUND) /* its namespace was deleted before this transaction */
        return errbuf_set(eb, rc, "Namespace '%.*s' does not exist", STR_FMT(ns));
    if (rc != E_OK)
        return errbuf_set(eb, rc, "store error");
    val_set(ctx->a, owner, "authorizationID", *val_get(&pol, "ID"));
    return E_OK;
}

int
linked_policy_del(struct tx *tx, const struct val *owner, struct errbuf *eb)
{
    struct val *pid = val_get(owner, "authorizationID");

    if (pid == NULL || pid->t != V_STR || pid->s.len == 0)
        return E_OK;
    int rc = tx->ops->del(tx, &spec_apiauthorization, pid->s, NULL);
    return rc == E_OK || rc == E_NOTFOUND ? E_OK : errbuf_set(eb, rc, "store error");
}
