/* report.c - `certificatereports` (API.md 7.3): counts over the inventory of
 * the request's namespace (and below, with recursive), optionally filtered,
 * computed when created and kept, so that trends can be followed. The counts
 * are one store aggregate (one snapshot) made on the request's thread before
 * the write. */
#include <stdio.h>

#include "../core/timeutil.h"
#include "../store/filter.h"
#include "inventory.h"

#define DAY_MS     INT64_C(86400000)
#define TOP_ISSUER 20

static const struct attr report_attrs[] = {
    { "recursive", T_BOOL, A_CREATIONONLY | A_QUERY, .def = "false",
      .doc = "count the namespaces below too" },
    { "q", T_STRING, A_CREATIONONLY, .max_len = 4096,
      .doc = "a filter on certificates (API.md 6), as in GET /certificates?q=" },
    { "description", T_STRING, A_QUERY, .max_len = 1024 },
    { "total", T_INT, A_READONLY | A_QUERY | A_ORDER },
    { "byStatus", T_ANY, A_READONLY, .doc = "status -> count" },
    { "bySource", T_ANY, A_READONLY, .doc = "source -> count" },
    { "bySignatureAlgorithm", T_ANY, A_READONLY, .doc = "signature algorithm -> count" },
    { "byWeakness", T_ANY, A_READONLY, .doc = "weakness -> certificates that have it" },
    { "byExpiry", T_ANY, A_READONLY,
      .doc = "expired, within7Days, within30Days, within90Days, later: certificates not "
             "retired, by when they end" },
    { "byIssuer", T_ANY, A_READONLY, .doc = "the 20 largest issuers: issuer, issuerCN, count" },
    { "byKeyAlgorithm", T_ANY, A_READONLY, .doc = "keyAlgorithm, keySize, count" },
};

static const struct attr *
cert_attr(const char *name)
{
    return spec_attr(&spec_certificate, str_c(name));
}

static struct fval
text(const char *s)
{
    return (struct fval){ .t = FV_STR, .s = str_c(s) };
}

/* ---- the parts of a report --------------------------------------------------- */

static const char *const statuses[] = { "ACTIVE", "EXPIRING", "EXPIRED", "REVOKED", "RETIRED" };

/* byExpiry's buckets: validityEnd in (lo, hi] days from now; the first has no lower
 * bound, the last no upper. */
static const struct {
    const char *name;
    int64_t     lo, hi;
} buckets[] = {
    { "expired", INT64_MIN, 0 }, { "within7Days", 0, 7 },    { "within30Days", 7, 30 },
    { "within90Days", 30, 90 },  { "later", 90, INT64_MAX },
};

enum {
    P_TOTAL,
    P_STATUS,
    P_BUCKET = P_STATUS + ARRAY_LEN(statuses),
    P_SOURCE = P_BUCKET + ARRAY_LEN(buckets),
    P_SIGALG,
    P_WEAKNESS,
    P_ISSUER,
    P_KEYALG,
    P__COUNT
};

static struct fnode *
bucket_filter(struct arena *a, size_t i, int64_t now)
{
    struct fnode *f = filter_cmp(a, "retired", F_EQ, (struct fval){ .t = FV_BOOL, .i = 0 });
    struct fval   t = { .t = FV_TIME };

    if (buckets[i].lo != INT64_MIN) {
        t.i = now + buckets[i].lo * DAY_MS;
        f = filter_bool(a, F_AND, f, filter_cmp(a, "validityEnd", F_GT, t));
    }
    if (buckets[i].hi != INT64_MAX) {
        t.i = now + buckets[i].hi * DAY_MS;
        f = filter_bool(a, F_AND, f, filter_cmp(a, "validityEnd", F_LE, t));
    }
    return f;
}

static int
plan(struct arena *a, struct agg_part *p, int64_t now, struct errbuf *eb)
{
    int rc;

    for (size_t i = 0; i < ARRAY_LEN(statuses); i++) {
        struct fnode *f = filter_bool(a, F_EQ, NULL, NULL);
        f->field = str_c("status");
        f->v = text(statuses[i]);
        if ((rc = filter_rewrite(a, &f, &spec_certificate, now, eb)) != E_OK)
            return rc;
        p[P_STATUS + i].filter = f;
    }
    for (size_t i = 0; i < ARRAY_LEN(buckets); i++)
        p[P_BUCKET + i].filter = bucket_filter(a, i, now);
    p[P_SOURCE] = (struct agg_part){ .by = { cert_attr("source") }, .nby = 1 };
    p[P_SIGALG] = (struct agg_part){ .by = { cert_attr("signatureAlgorithm") }, .nby = 1 };
    p[P_WEAKNESS] = (struct agg_part){ .by = { cert_attr("weaknesses") }, .nby = 1 };
    p[P_ISSUER] = (struct agg_part){ .by = { cert_attr("issuer"), cert_attr("issuerCN") },
                                     .nby = 2,
                                     .limit = TOP_ISSUER };
    p[P_KEYALG] = (struct agg_part){ .by = { cert_attr("keyAlgorithm"), cert_attr("keySize") },
                                     .nby = 2 };
    return E_OK;
}

/* ---- the answer ------------------------------------------------------------------ */

static int64_t
single_count(const struct agg_part *p)
{
    const struct val *row = p->out.a.n > 0 ? &p->out.a.v[0] : NULL;

    return row != NULL && row->a.n > 0 && row->a.v[0].t == V_INT ? row->a.v[0].i : 0;
}

/* Rows [value, count] as {value: count}; a missing value is "". */
static struct val
by_value(struct arena *a, const struct agg_part *p)
{
    struct val m = val_map();

    for (size_t i = 0; i < p->out.a.n; i++) {
        const struct val *row = &p->out.a.v[i];
        struct str        k = row->a.v[0].t == V_STR ? row->a.v[0].s : str_c("");
        val_set_s(a, &m, k, row->a.v[1]);
    }
    return m;
}

/* Rows [v1, v2, count] as [{k1: v1, k2: v2, count}]. */
static struct val
by_pair(struct arena *a, const struct agg_part *p, const char *k1, const char *k2)
{
    struct val l = val_arr();

    for (size_t i = 0; i < p->out.a.n; i++) {
        const struct val *row = &p->out.a.v[i];
        struct val        m = val_map();
        if (row->a.v[0].t != V_NULL)
            val_set(a, &m, k1, row->a.v[0]);
        if (row->a.v[1].t != V_NULL)
            val_set(a, &m, k2, row->a.v[1]);
        val_set(a, &m, "count", row->a.v[2]);
        val_push(a, &l, m);
    }
    return l;
}

static void
fill(struct arena *a, struct val *obj, const struct agg_part *p)
{
    struct val status = val_map(), expiry = val_map();

    val_set(a, obj, "total", val_int(single_count(&p[P_TOTAL])));
    for (size_t i = 0; i < ARRAY_LEN(statuses); i++)
        val_set(a, &status, statuses[i], val_int(single_count(&p[P_STATUS + i])));
    for (size_t i = 0; i < ARRAY_LEN(buckets); i++)
        val_set(a, &expiry, buckets[i].name, val_int(single_count(&p[P_BUCKET + i])));
    val_set(a, obj, "byStatus", status);
    val_set(a, obj, "bySource", by_value(a, &p[P_SOURCE]));
    val_set(a, obj, "bySignatureAlgorithm", by_value(a, &p[P_SIGALG]));
    val_set(a, obj, "byWeakness", by_value(a, &p[P_WEAKNESS]));
    val_set(a, obj, "byExpiry", expiry);
    val_set(a, obj, "byIssuer", by_pair(a, &p[P_ISSUER], "issuer", "issuerCN"));
    val_set(a, obj, "byKeyAlgorithm", by_pair(a, &p[P_KEYALG], "keyAlgorithm", "keySize"));
}

static int
report_prepare(struct hook_ctx *ctx, const struct spec *s, struct val *obj, bool create,
               struct errbuf *eb)
{
    struct agg_part parts[P__COUNT] = { 0 };
    struct val     *rec = val_get(obj, "recursive");
    struct scope    sc = { ctx->ns, rec != NULL && rec->t == V_BOOL && rec->b };
    struct str      q = val_get_str(obj, "q");
    struct fnode   *filter = NULL;
    int64_t         now = time_now_ms();
    int             rc;

    KW_UNUSED(s);
    if (!create)
        return E_OK;
    if (q.len > 0 &&
        ((rc = filter_parse(ctx->a, q, now, &filter, eb)) != E_OK ||
         (rc = filter_rewrite(ctx->a, &filter, &spec_certificate, now, eb)) != E_OK)) {
        eb->code = E_VALIDATION;
        snprintf(eb->attr, sizeof eb->attr, "q");
        return E_VALIDATION;
    }
    if ((rc = plan(ctx->a, parts, now, eb)) != E_OK)
        return rc;
    rc = kw_store->ops->aggregate(kw_store, &spec_certificate, &sc, filter, parts, P__COUNT,
                                  ctx->a, eb);
    if (rc == E_BADREQ) { /* the filter names what cannot be filtered */
        eb->code = E_VALIDATION;
        snprintf(eb->attr, sizeof eb->attr, "q");
        return E_VALIDATION;
    }
    if (rc != E_OK)
        return rc;
    fill(ctx->a, obj, parts);
    return E_OK;
}

static struct spec_rt report_rt;

const struct spec spec_certificatereport = {
    .identity = "certificatereport",
    .rest = "certificatereports",
    .attrs = report_attrs,
    .nattrs = ARRAY_LEN(report_attrs),
    .default_order = "createTime",
    .ops = OP_LIST | OP_CREATE | OP_GET | OP_DELETE | OP_UPDATE,
    .access = ACCESS_NORMAL,
    .bulk = true,
    .hooks = { .prepare = report_prepare },
    .rt = &report_rt,
};
