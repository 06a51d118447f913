/* imports.c - `certificateimports` (API.md 7.1, bulk): a bundle of any number
 * of certificates stored in one transaction, each block failing alone. The
 * record of the import is kept. */
#include "../core/config.h"
#include "certparse.h"
#include "inventory.h"

static const struct attr import_attrs[] = {
    { "contents", T_STRING, A_CREATIONONLY | A_WRITEONLY | A_REQUIRED, .max_len = INV_INPUT_MAX,
      .doc = "any number of PEM blocks, or base64 of a PKCS#7 bundle; not kept" },
    { "description", T_STRING, A_QUERY, .max_len = 1024 },
    { "total", T_INT, A_READONLY | A_QUERY | A_ORDER, .doc = "blocks read" },
    { "imported", T_INT, A_READONLY | A_QUERY, .doc = "certificates new to the namespace" },
    { "duplicates", T_INT, A_READONLY | A_QUERY, .doc = "certificates it had already" },
    { "failed", T_INT, A_READONLY | A_QUERY, .doc = "blocks that are no certificate" },
    { "errors", T_ANY, A_READONLY, .doc = "[{index, reason}] of the failed blocks" },
    { "certificateIDs", T_STRLIST, A_READONLY, .max_len = INV_CERTS_MAX,
      .doc = "the certificates' IDs, in the bundle's order (duplicates included)" },
};

struct bundle {
    struct inv_cert *certs;
    size_t           n;
    size_t          *order; /* issuers first (roots first), so that leaves link to them */
};

static int
import_prepare(struct hook_ctx *ctx, const struct spec *s, struct val *obj, bool create,
               struct errbuf *eb)
{
    struct bundle *b = arena_calloc(ctx->a, 1, sizeof *b);
    struct val     errors;
    int            rc;

    KW_UNUSED(s);
    if (!create)
        return E_OK;
    rc = inv_read(ctx->a, val_get_str(obj, "contents"), "contents", false, &b->certs, &b->n,
                  &errors, eb);
    if (rc != E_OK)
        return rc;
    val_del(obj, "contents");
    val_set(ctx->a, obj, "total", val_int((int64_t)(b->n + errors.a.n)));
    val_set(ctx->a, obj, "failed", val_int((int64_t)errors.a.n));
    val_set(ctx->a, obj, "errors", errors);
    b->order = inv_order(ctx->a, b->certs, b->n);
    ctx->data = b;
    return E_OK;
}

/* The bundle's certificates order[k..k+n), stored together: their IDs into
 * slot (by their place in the bundle), and counted. */
static int
put_run(struct hook_ctx *ctx, struct tx *tx, const struct bundle *b, size_t k, size_t n,
        struct inv_batch *batch, struct val *slot, int64_t *imported, int64_t *dups,
        struct errbuf *eb)
{
    const struct inv_cert **c = arena_calloc(ctx->a, n, sizeof *c);
    struct val             *stored = arena_calloc(ctx->a, n, sizeof *stored);
    bool                   *dup = arena_calloc(ctx->a, n, sizeof *dup);
    int                     rc;

    for (size_t j = 0; j < n; j++)
        c[j] = &b->certs[b->order[k + j]];
    rc = inv_put_each(tx, ctx->a, ctx->ns, c, n, "IMPORTED", batch, stored, dup, eb);
    for (size_t j = 0; j < n && rc == E_OK; j++) {
        slot[b->order[k + j]] = *val_get(&stored[j], "ID");
        dup[j] ? (*dups)++ : (*imported)++;
    }
    return rc;
}

static int
import_before_write(struct hook_ctx *ctx, const struct spec *s, struct tx *tx, struct val *obj,
                    const struct val *old, struct errbuf *eb)
{
    struct bundle    *b = ctx->data;
    struct inv_batch *batch = arena_calloc(ctx->a, 1, sizeof *batch);
    struct val        ids = val_arr();
    struct val       *slot;
    int64_t           imported = 0, dups = 0;
    int               rc;

    KW_UNUSED(s);
    if (old != NULL || b == NULL)
        return E_OK;
    if ((rc = inv_batch_begin(tx, ctx->a, ctx->ns, batch)) != E_OK)
        return errbuf_set(eb, rc, "store error");
    slot = arena_calloc(ctx->a, b->n ? b->n : 1, sizeof *slot);
    /* The issuers one by one (each may issue the next), then the leaves together. */
    for (size_t k = 0, n; k < b->n; k += n) {
        n = inv_rank(&b->certs[b->order[k]]) < 2 ? 1 : b->n - k;
        if ((rc = put_run(ctx, tx, b, k, n, batch, slot, &imported, &dups, eb)) != E_OK)
            return rc;
    }
    for (size_t i = 0; i < b->n; i++)
        val_push(ctx->a, &ids, slot[i]);
    val_set(ctx->a, obj, "imported", val_int(imported));
    val_set(ctx->a, obj, "duplicates", val_int(dups));
    val_set(ctx->a, obj, "certificateIDs", ids);
    return E_OK;
}

static const char *const import_raw[] = { "application/pem-certificate-chain",
                                          "application/x-pem-file", NULL };

static struct spec_rt import_rt;

const struct spec spec_certificateimport = {
    .identity = "certificateimport",
    .rest = "certificateimports",
    .attrs = import_attrs,
    .nattrs = ARRAY_LEN(import_attrs),
    .default_order = "createTime",
    .ops = OP_LIST | OP_CREATE | OP_GET | OP_DELETE,
    .access = ACCESS_NORMAL,
    .bulk = true,
    .hooks = { .prepare = import_prepare, .before_write = import_before_write },
    .raw_types = import_raw,
    .raw_attr = "contents",
    .body_max = &cfg.max_import_size,
    .rt = &import_rt,
};
