/* namespace.c - the namespace tree (API.md section 4). */
#include "../jobs/jobs.h"
#include "../store/filter.h"
#include "../store/store.h"
#include "specs.h"

#include "../core/timeutil.h"

/* The attributes the console this API follows has on namespaces are kept, so
 * that its documented examples (the seed's PUT) work unchanged. */
static const struct attr namespace_attrs[] = {
    { "name", T_STRING, A_REQUIRED | A_CREATIONONLY | A_QUERY | A_ORDER,
      .pattern = "^[a-zA-Z0-9_-]+$", .max_len = 256,
      .doc = "bare name on create; the full path once created" },
    { "description", T_STRING, A_QUERY | A_ORDER, .max_len = 1024 },
    { "SSHCA", T_STRING, A_READONLY, .doc = "kept for compatibility" },
    { "SSHCAEnabled", T_BOOL, 0, .def = "false" },
    { "associatedSSHCAID", T_STRING, 0, .max_len = 64 },
    { "customZoning", T_BOOL, 0, .def = "false" },
    { "localCA", T_STRING, A_READONLY, .doc = "kept for compatibility" },
    { "localCAEnabled", T_BOOL, 0, .def = "false" },
    { "networkAccessPolicyTags", T_STRLIST, 0, .max_len = 128 },
    { "serviceCertificateValidity", T_STRING, 0, .def = "1h", .max_len = 32 },
    { "zone", T_INT, A_READONLY },
    { "zoning", T_INT, 0 },
};

/* A namespace is created with its bare name and lives under the request's
 * namespace: "web" in "/acme" becomes "/acme/web". */
static int
namespace_prepare(struct hook_ctx *ctx, const struct spec *s, struct val *obj, bool create,
                  struct errbuf *eb)
{
    KW_UNUSED(s);
    if (create) {
        struct val *name = val_get(obj, "name");
        const char *sep = ctx->ns.len == 1 ? "" : "/";
        char       *full =
            arena_printf(ctx->a, "%.*s%s%.*s", STR_FMT(ctx->ns), sep, STR_FMT(name->s));
        if (strlen(full) > 1024) /* X-Namespace accepts paths up to 1024 bytes */
            return errbuf_attr(eb, E_VALIDATION, "name", "The namespace path is too long");
        name->s = str_c(full);
    }
    struct val *v = val_get(obj, "serviceCertificateValidity");
    int64_t     ms;
    if (v != NULL && v->t == V_STR && v->s.len > 0 && duration_parse(v->s, &ms) != E_OK)
        return errbuf_attr(eb, E_VALIDATION, "serviceCertificateValidity",
                           "Attribute 'serviceCertificateValidity' must be a duration");
    return E_OK;
}

/* Whether the subtree of `ns` holds an object of `s`. */
static int
subtree_holds(struct hook_ctx *ctx, struct tx *tx, const struct spec *s, struct str ns,
              bool *holds)
{
    struct listq q = { .scope = { ns, true }, .limit = 1 };
    struct val   items = val_arr();
    int          rc = tx->ops->list(tx, s, &q, ctx->a, &items);

    *holds = rc == E_OK && items.a.n > 0;
    return rc;
}

/* Deleting a namespace deletes everything in it: the caller must be one who
 * may delete each kind of object it holds. Else an editor, who may not
 * delete a service account, a CA or an API authorization, deleted them all
 * by deleting their namespace (a review). What cannot be deleted on its own
 * (audit entries, runs, deliveries) goes with its namespace. */
static int
subtree_deletable(struct hook_ctx *ctx, struct tx *tx, struct str ns, struct errbuf *eb)
{
    struct errbuf why = { 0 };
    bool          holds;
    int           rc;

    for (size_t i = 0; ctx->may != NULL && i < spec_count; i++) {
        const struct spec *s = spec_all[i];
        if (s->not_namespaced || !(s->ops & OP_DELETE) ||
            ctx->may(ctx, s, VERB_DELETE, ns, &why) == E_OK)
            continue;
        if ((rc = subtree_holds(ctx, tx, s, ns, &holds)) != E_OK)
            return errbuf_set(eb, rc, "store error");
        if (holds)
            return errbuf_set(eb, E_FORBIDDEN,
                              "Deleting '%.*s' would delete the %s in it, which the caller "
                              "may not delete",
                              STR_FMT(ns), s->rest);
    }
    return E_OK;
}

/* The protected objects of `s` in the subtree of `ns`, into *items (all of
 * them, or the first only). */
static int
subtree_protected(struct hook_ctx *ctx, struct tx *tx, const struct spec *s, struct str ns,
                  bool all, struct val *items)
{
    struct fnode *f =
        filter_cmp(ctx->a, "protected", F_EQ, (struct fval){ .t = FV_BOOL, .i = 1 });
    struct listq q = { .scope = { ns, true }, .filter = f, .limit = all ? -1 : 1 };

    *items = val_arr();
    return tx->ops->list(tx, s, &q, ctx->a, items);
}

/* Whether `pol` is the API authorization of a service account or app
 * credential in the subtree: it goes with its owner, whose own protection
 * is what counts. */
static bool
owned(const struct val *owners, const struct val *pol)
{
    struct str id = val_get_str(pol, "ID");

    for (size_t i = 0; i < owners->a.n; i++)
        if (str_eq(val_get_str(&owners->a.v[i], "authorizationID"), id))
            return true;
    return false;
}

static int
owners_of(struct hook_ctx *ctx, struct tx *tx, struct str ns, struct val *owners)
{
    static const struct spec *const kinds[] = { &spec_serviceaccount, &spec_appcredential };
    struct listq                    q = { .scope = { ns, true }, .limit = -1 };
    int                             rc = E_OK;

    *owners = val_arr();
    for (size_t k = 0; k < ARRAY_LEN(kinds) && rc == E_OK; k++) {
        struct val got = val_arr();
        if ((rc = tx->ops->list(tx, kinds[k], &q, ctx->a, &got)) == E_OK)
            for (size_t i = 0; i < got.a.n; i++)
                val_push(ctx->a, owners, got.a.v[i]);
    }
    return rc;
}

/* A protected object goes with its namespace only with ?override=true, as it
 * would alone (API.md 4): a review deleted a protected namespace and a
 * protected service account by deleting their unprotected parent. */
static int
subtree_unprotected(struct hook_ctx *ctx, struct tx *tx, struct str ns, struct errbuf *eb)
{
    struct val owners = val_arr(), items;
    int        rc = E_OK;

    for (size_t i = 0; !ctx->override && i < spec_count && rc == E_OK; i++) {
        const struct spec *s = spec_all[i];
        bool               pol = s == &spec_apiauthorization;
        if (s->not_namespaced || !(s->ops & OP_DELETE))
            continue;
        if ((rc = subtree_protected(ctx, tx, s, ns, pol, &items)) == E_OK && pol &&
            items.a.n > 0)
            rc = owners_of(ctx, tx, ns, &owners);
        for (size_t j = 0; rc == E_OK && j < items.a.n; j++)
            if (!pol || !owned(&owners, &items.a.v[j]))
                return errbuf_set(eb, E_PROTECTED,
                                  "'%.*s' holds the protected %s '%.*s': use ?override=true to "
                                  "delete it",
                                  STR_FMT(ns), s->identity,
                                  STR_FMT(val_get_str(&items.a.v[j], "name")));
    }
    return rc == E_OK ? E_OK : errbuf_set(eb, rc, "store error");
}

/* Before it goes: the caller may delete what it holds, and what a resource
 * keeps of the subtree moves out of it (spec_hooks.outlive). */
static int
namespace_before_delete(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                        const struct val *obj, struct errbuf *eb)
{
    struct str name = val_get_str(obj, "name");
    int        rc = subtree_deletable(ctx, tx, name, eb);

    if (rc == E_OK)
        rc = subtree_unprotected(ctx, tx, name, eb);

    KW_UNUSED(s);
    for (size_t i = 0; i < spec_count && rc == E_OK; i++)
        if (spec_all[i]->hooks.outlive != NULL)
            rc = spec_all[i]->hooks.outlive(ctx, spec_all[i], tx, name, eb);
    return rc;
}

/* Everything below goes with it, in the same transaction. */
static int
namespace_after_delete(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                       const struct val *obj, struct errbuf *eb)
{
    struct str name = val_get_str(obj, "name"), id = val_get_str(obj, "ID");
    struct val gone = val_arr();
    struct buf ids;
    int        rc;

    KW_UNUSED(s);
    if (name.p == NULL || id.p == NULL)
        return errbuf_set(eb, E_INTERNAL, "namespace without a name");
    if ((rc = tx->ops->del_subtree(tx, name, ctx->a, &gone)) != E_OK)
        return errbuf_set(eb, rc, "store error");
    if (kw_jobs == NULL)
        return E_OK; /* no runtime (tools, tests): the rows stay, invisible */
    /* The bulk rows of these namespaces are purged in batches, in the background
     * (housekeeping.c), committed with this delete or not at all. */
    buf_init(&ids, SIZE_MAX / 2);
    buf_append(&ids, id.p, id.len);
    for (size_t i = 0; i < gone.a.n; i++)
        buf_printf(&ids, ",%.*s", STR_FMT(gone.a.v[i].s));
    rc = jobs_enqueue_tx(kw_jobs, tx, NAMESPACE_PURGE_JOB, id, buf_str(&ids), 0, NULL);
    buf_free(&ids);
    return rc == E_OK ? E_OK
                      : errbuf_set(eb, rc, "cannot queue the purge of '%.*s'", STR_FMT(name));
}

static struct spec_rt namespace_rt;

const struct spec spec_namespace = {
    .identity = "namespace",
    .rest = "namespaces",
    .attrs = namespace_attrs,
    .nattrs = ARRAY_LEN(namespace_attrs),
    .unique = "name",
    .unique_global = true,
    .announced = true,
    .creates_unannounced = true, /* the namespace caches hold namespaces found */
    .default_order = "name",
    .ops = OP_ALL,
    .cascades = true,
    .parent_of_all = true,
    .hooks = { .prepare = namespace_prepare,
               .before_delete = namespace_before_delete,
               .after_delete = namespace_after_delete },
    .rt = &namespace_rt,
};
