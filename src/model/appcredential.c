/* appcredential.c - app credentials (API.md section 3, realm Certificate): a
 * TLS client certificate from the console's client CA, whose holder gets
 * tokens at POST /issue, and the API authorization its roles become.
 *
 * The certificate's CN is "app:credential:<ID>:<name>", its O the namespace.
 * A generated private key is in the creation's answer only: never stored,
 * never shown again. Revocation is by serial number: the realm (auth/cert.c)
 * accepts only the certificate whose serial is the credential's current one,
 * so a renewal (PUT with a new csr) or a deletion revokes the old certificate
 * at once, with no CRL to distribute.
 */
#include "../core/config.h"
#include "../core/rnd.h"
#include "../core/timeutil.h"
#include "../pki/signer.h"
#include "../store/store.h"
#include "linked.h"
#include "specs.h"

#define CSR_MAX   (16 * 1024) /* an RSA-8192 CSR is about 3.5 KiB of PEM */
#define CN_PREFIX "app:credential:"
#define CN_FMT    CN_PREFIX "%.*s:%.*s"

static const struct attr appcredential_attrs[] = {
    { "name", T_STRING, A_REQUIRED | A_CREATIONONLY | A_QUERY | A_ORDER,
      .pattern = "^[a-zA-Z0-9._@-]+$", .max_len = 128,
      .doc = "unique in its namespace; in the certificate's CN, so it cannot change" },
    { "description", T_STRING, A_QUERY, .max_len = 1024 },
    { "roles", T_STRLIST, A_QUERY, .max_len = 64,
      .doc = "roles (@auth:role=...) and permissions granted in its namespace" },
    { "authorizedSubnets", T_STRLIST, A_QUERY, .max_len = 64,
      .doc = "CIDRs its tokens may be used from (empty: anywhere)" },
    { "csr", T_STRING, A_WRITEONLY, .max_len = CSR_MAX,
      .doc = "PEM certificate request: on creation (else a key is generated) or, on "
             "update, to renew; never stored" },
    { "certificate", T_STRING, A_READONLY, .doc = "PEM of the current certificate" },
    { "serialNumber", T_STRING, A_READONLY | A_QUERY, .format = F_HEX,
      .doc = "of the current certificate, lowercase hex" },
    { "expiryTime", T_TIME, A_READONLY | A_QUERY | A_ORDER,
      .doc = "the current certificate's notAfter" },
    { "authorizationID", T_STRING, A_READONLY, .doc = "the API authorization of its roles" },
    { "credentials", T_ANY, A_READONLY | A_DERIVED,
      .doc = "in the answer to the creation or renewal only: certificate, privateKey "
             "(generated keys), certificateAuthority, APIURL, namespace; never stored; "
             "ignored when sent back" },
};

/* The client CA's certificate ("" before start-up registered it). */
static const char *
client_ca_pem(void)
{
    const struct ca *ca = pki_ca_find(PKI_CA_CLIENT);

    return ca != NULL ? pki_ca_pem(ca) : "";
}

/* What the holder needs to call the API, shown once. The private key's copy in
 * the request's arena is wiped with the answer once it is sent (ctx->secret). */
static struct val
credentials(struct hook_ctx *ctx, const struct client_cert *cc)
{
    struct val c = val_map();

    val_set(ctx->a, &c, "certificate", val_str(arena_str(ctx->a, buf_str(&cc->cert_pem))));
    if (cc->key_pem.len > 0) {
        ctx->secret = arena_str(ctx->a, buf_str(&cc->key_pem));
        val_set(ctx->a, &c, "privateKey", val_str(ctx->secret));
    }
    val_set(ctx->a, &c, "certificateAuthority", val_cstr(client_ca_pem()));
    val_set(ctx->a, &c, "APIURL", val_cstr(cfg.public_url));
    val_set(ctx->a, &c, "namespace", val_str(ctx->ns));
    return c;
}

/* Sign for credential `id` named `name` in the request's namespace; the new
 * certificate's attributes go into `into` (the object, or the renewal stash),
 * the credentials into ctx->once. */
static int
issue(struct hook_ctx *ctx, struct str id, struct str name, struct str csr, struct val *into,
      struct errbuf *eb)
{
    struct client_cert cc;
    const char        *cn = arena_printf(ctx->a, CN_FMT, STR_FMT(id), STR_FMT(name));
    const char        *o = arena_strndup(ctx->a, ctx->ns.p, ctx->ns.len);
    int                rc = pki_sign_client(pki_ca_find(PKI_CA_CLIENT), cn, o, csr, &cc, eb);

    if (rc != E_OK)
        return rc;
    val_set(ctx->a, into, "certificate", val_str(arena_str(ctx->a, buf_str(&cc.cert_pem))));
    val_set(ctx->a, into, "serialNumber",
            val_cstr(arena_strndup(ctx->a, cc.serial, strlen(cc.serial))));
    val_set(ctx->a, into, "expiryTime", val_time(ctx->a, cc.not_after_ms));
    if (ctx->once.t != V_MAP)
        ctx->once = val_map();
    val_set(ctx->a, &ctx->once, "credentials", credentials(ctx, &cc));
    pki_client_cert_free(&cc);
    return E_OK;
}

/* A PUT with a csr renews. The name in the CN is the stored one (it cannot
 * change); the new certificate waits in ctx->once for before_write, which
 * applies it only if the update itself is valid. */
static int
renew(struct hook_ctx *ctx, const struct spec *s, struct str csr, struct errbuf *eb)
{
    struct scope  sc = { ctx->ns, false };
    struct errbuf feb = { 0 };
    struct val    old;
    int           rc = kw_store->ops->find(kw_store, s, &sc, "ID", ctx->id, ctx->a, &old, &feb);

    if (rc == E_NOTFOUND)
        return errbuf_set(eb, E_NOTFOUND, "Could not find the object");
    if (rc != E_OK)
        return errbuf_set(eb, E_UNAVAILABLE, "The store is unavailable");
    ctx->once = val_map();
    return issue(ctx, ctx->id, val_get_str(&old, "name"), csr, &ctx->once, eb);
}

static int
appcredential_prepare(struct hook_ctx *ctx, const struct spec *s, struct val *obj, bool create,
                      struct errbuf *eb)
{
    const struct val *csr = val_get(obj, "csr");

    /* On update obj is the raw body: a csr that is not a string, or too long,
     * is left for the validation to refuse. */
    if (!create)
        return csr != NULL && csr->t == V_STR && csr->s.len > 0 && csr->s.len <= CSR_MAX
                   ? renew(ctx, s, csr->s, eb)
                   : E_OK;
    struct str pem = csr != NULL && csr->t == V_STR ? csr->s : STR_NULL;
    int        rc = issue(ctx, val_get_str(obj, "ID"), val_get_str(obj, "name"), pem, obj, eb);
    val_del(obj, "csr"); /* a request is not worth keeping */
    return rc;
}

/* A renewal's certificate, signed by prepare, replaces the stored one. */
static void
apply_renewal(struct hook_ctx *ctx, struct val *obj)
{
    static const char *const keys[] = { "certificate", "serialNumber", "expiryTime" };

    for (size_t i = 0; ctx->once.t == V_MAP && i < ARRAY_LEN(keys); i++) {
        const struct val *v = val_get(&ctx->once, keys[i]);
        if (v != NULL)
            val_set(ctx->a, obj, keys[i], *v);
    }
}

static int
appcredential_before_write(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                           struct val *obj, const struct val *old, struct errbuf *eb)
{
    struct str id = val_get_str(obj, "ID"), name = val_get_str(obj, "name");

    /* A renewal hands the credential, and its roles, to whoever holds the new
     * certificate's key: only someone who holds them may renew (a review took
     * over an administrator's credential with appcredential,put alone). */
    bool renewed = old != NULL && ctx->once.t == V_MAP && val_get(&ctx->once, "certificate");

    KW_UNUSED(s);
    val_del(obj, "csr");
    val_del(obj, "credentials");
    if (old != NULL)
        apply_renewal(ctx, obj);
    const struct linked_subject who = {
        "appcredential",
        "certificate",
        "commonname",
        str_c(arena_printf(ctx->a, CN_FMT, STR_FMT(id), STR_FMT(name))),
        val_get(obj, "authorizedSubnets"),
        renewed,
    };
    return linked_policy_put(ctx, tx, obj, old, &who, eb);
}

static int
appcredential_after_delete(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                           const struct val *obj, struct errbuf *eb)
{
    KW_UNUSED(ctx);
    KW_UNUSED(s);
    return linked_policy_del(tx, obj, eb);
}

static struct spec_rt appcredential_rt;

bool
appcredential_cn_id(struct str cn, struct str *id)
{
    struct str prefix = STR(CN_PREFIX);

    if (!str_starts(cn, prefix) || cn.len < prefix.len + ID_LEN + 2)
        return false;
    *id = (struct str){ cn.p + prefix.len, ID_LEN };
    return id_valid(*id) && cn.p[prefix.len + ID_LEN] == ':';
}

const struct spec spec_appcredential = {
    .identity = "appcredential",
    .rest = "appcredentials",
    .attrs = appcredential_attrs,
    .nattrs = ARRAY_LEN(appcredential_attrs),
    .unique = "name",
    .default_order = "name",
    .ops = OP_ALL,
    .access = ACCESS_ADMIN,
    .announced = true, /* their tokens are refused once they go (auth/accounts.c) */
    .hooks = { .prepare = appcredential_prepare,
               .before_write = appcredential_before_write,
               .after_delete = appcredential_after_delete },
    .rt = &appcredential_rt,
};
