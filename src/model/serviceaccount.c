/* serviceaccount.c - OAuth 2.0 clients of a namespace (API.md section 3): the
 * seed's service accounts of a tenant service group. The client ID is the object
 * ID; the secret is shown once, at creation or rotation, and stored as SHA-256
 * (it has 256 bits of entropy: a slow hash would add nothing). */

#include "../core/digest.h"
#include "../core/rnd.h"
#include "../store/store.h"
#include "linked.h"
#include "roles.h"
#include "specs.h"

#define SECRET_BYTES 32

static const struct attr serviceaccount_attrs[] = {
    { "name", T_STRING, A_REQUIRED | A_QUERY | A_ORDER, .pattern = "^[a-zA-Z0-9._@-]+$",
      .max_len = 128 },
    { "description", T_STRING, A_QUERY, .max_len = 1024 },
    { "roles", T_STRLIST, A_QUERY, .max_len = 64,
      .doc = "roles (@auth:role=...) and permissions granted in its namespace" },
    { "clientID", T_STRING, A_READONLY | A_QUERY, .doc = "OAuth 2.0 client ID (= ID)" },
    { "clientSecret", T_STRING, A_READONLY | A_DERIVED,
      .doc = "in the answer to the creation only; never stored; ignored when sent back" },
    { "secretHash", T_STRING, A_READONLY | A_WRITEONLY | A_SECRET },
    { "authorizationID", T_STRING, A_READONLY, .doc = "the API authorization of its roles" },
};

/* A new secret into ctx->once (the answer) and its hash into obj. */
static void
new_secret(struct hook_ctx *ctx, struct val *obj)
{
    unsigned char raw[SECRET_BYTES];
    char         *secret = arena_alloc(ctx->a, b64url_len(sizeof raw) + 1), hex[65];

    rnd_bytes(raw, sizeof raw);
    b64url_encode(raw, sizeof raw, secret);
    mem_wipe(raw, sizeof raw);
    digest_sha256_hex(secret, strlen(secret), hex);
    val_set(ctx->a, obj, "secretHash", val_str(arena_str(ctx->a, str_c(hex))));
    if (ctx->once.t != V_MAP)
        ctx->once = val_map();
    val_set(ctx->a, &ctx->once, "clientSecret", val_cstr(secret));
}

static int
serviceaccount_prepare(struct hook_ctx *ctx, const struct spec *s, struct val *obj, bool create,
                       struct errbuf *eb)
{
    KW_UNUSED(s);
    KW_UNUSED(eb);
    if (!create)
        return E_OK;
    val_set(ctx->a, obj, "clientID", *val_get(obj, "ID"));
    new_secret(ctx, obj);
    val_set(ctx->a, &ctx->once, "clientID", *val_get(obj, "ID"));
    return E_OK;
}

static int
serviceaccount_before_write(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                            struct val *obj, const struct val *old, struct errbuf *eb)
{
    const struct linked_subject who = { "serviceaccount", "serviceaccount", "clientid",
                                        val_get(obj, "ID")->s, NULL };

    KW_UNUSED(s);
    return linked_policy_put(ctx, tx, obj, old, &who, eb);
}

static int
serviceaccount_after_delete(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                            const struct val *obj, struct errbuf *eb)
{
    KW_UNUSED(ctx);
    KW_UNUSED(s);
    return linked_policy_del(tx, obj, eb);
}

/* POST /serviceaccounts/:id/secrets: a new secret; the old one stops working.
 * The secret carries the account's roles: only someone who holds them may
 * have it (a review made an administrator's secret its own with
 * serviceaccount,post alone). */
static int
rotate_secret(struct hook_ctx *ctx, const struct spec *s, struct tx *tx, struct val *obj,
              struct val *answer, struct errbuf *eb)
{
    int rc = roles_check_held(ctx, val_get(obj, "roles"), NULL, val_get_str(obj, "namespace"),
                              NULL, "roles", eb);

    if (rc != E_OK)
        return rc;
    new_secret(ctx, obj);
    if ((rc = tx->ops->update(tx, s, obj, NULL)) != E_OK)
        return errbuf_set(eb, rc, "store error");
    val_set(ctx->a, answer, "clientID", *val_get(obj, "ID"));
    val_set(ctx->a, answer, "clientSecret", *val_get(&ctx->once, "clientSecret"));
    return E_OK;
}

static const struct spec_action serviceaccount_actions[] = {
    { "secrets", VERB_POST, rotate_secret },
    { NULL, 0, NULL },
};

static struct spec_rt serviceaccount_rt;

const struct spec spec_serviceaccount = {
    .identity = "serviceaccount",
    .rest = "serviceaccounts",
    .attrs = serviceaccount_attrs,
    .nattrs = ARRAY_LEN(serviceaccount_attrs),
    .unique = "name",
    .default_order = "name",
    .ops = OP_ALL,
    .access = ACCESS_ADMIN,
    .announced = true, /* their tokens are refused once they go (auth/accounts.c) */
    .actions = serviceaccount_actions,
    .hooks = { .prepare = serviceaccount_prepare,
               .before_write = serviceaccount_before_write,
               .after_delete = serviceaccount_after_delete },
    .rt = &serviceaccount_rt,
};
