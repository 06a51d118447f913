/* account.c - the users of the Vince realm (API.md section 3). */
#include "../core/password.h"
#include "roles.h"
#include "specs.h"

static const struct attr account_attrs[] = {
    { "name", T_STRING, A_REQUIRED | A_CREATIONONLY | A_QUERY | A_ORDER,
      .pattern = "^[a-zA-Z0-9._@-]+$", .max_len = 128 },
    { "email", T_STRING, A_QUERY | A_ORDER, .pattern = "^[^@[:space:]]+@[^@[:space:]]+$",
      .max_len = 254 },
    { "password", T_STRING, A_REQUIRED | A_WRITEONLY | A_SECRET, .max_len = 1024,
      .doc = "write-only; stored as an Argon2id hash" },
    { "disabled", T_BOOL, A_QUERY, .def = "false" },
    { "description", T_STRING, A_QUERY, .max_len = 1024 },
};

/* Hash the password here, on the request's thread: Argon2id takes tens of
 * milliseconds and must not hold the writer. On update an absent or empty
 * password keeps the stored hash (validate_update does that). */
static int
account_prepare(struct hook_ctx *ctx, const struct spec *s, struct val *obj, bool create,
                struct errbuf *eb)
{
    struct val *pw = val_get(obj, "password");
    char        hash[PASSWORD_HASH_MAX];

    if (roles_check_admin(ctx, s, ctx->ns, eb) != E_OK)
        return E_FORBIDDEN;
    KW_UNUSED(create);
    if (pw == NULL || pw->t == V_NULL || (pw->t == V_STR && pw->s.len == 0))
        return E_OK;
    if (pw->t != V_STR)
        return errbuf_attr(eb, E_VALIDATION, "password",
                           "Attribute 'password' must be a string");
    if (pw->s.len < PASSWORD_MIN || pw->s.len > PASSWORD_MAX)
        return errbuf_attr(eb, E_VALIDATION, "password",
                           "Attribute 'password' must be %d to %d bytes long", PASSWORD_MIN,
                           PASSWORD_MAX);
    if (password_hash(pw->s, hash) != E_OK)
        return errbuf_set(eb, E_INTERNAL, "password hashing failed");
    *pw = val_str(arena_str(ctx->a, str_c(hash)));
    return E_OK;
}

static struct spec_rt account_rt;

const struct spec spec_account = {
    .identity = "account",
    .rest = "accounts",
    .attrs = account_attrs,
    .nattrs = ARRAY_LEN(account_attrs),
    .unique = "name",
    .unique_global = true,
    .default_order = "name",
    .ops = OP_ALL,
    .access = ACCESS_ADMIN,
    .get_normal = true, /* its password is write-only */
    .announced = true,  /* tokens of a disabled or deleted account are refused
                           at once on every server (auth/accounts.c) */
    .hooks = { .prepare = account_prepare },
    .rt = &account_rt,
};
