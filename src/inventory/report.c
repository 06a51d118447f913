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
    P_ISSUER_EXPIRED, /* EXPIRED_ISSUER due and not stored yet: added to P_WEAKNESS */
    P_RETIRED_IN,     /* without a filter: the retired certificates of each bucket
                         (the last parts: a filtered report asks the others only) */
    P__COUNT = P_RETIRED_IN + ARRAY_LEN(buckets)
};

/* Without a filter, P_STATUS.. holds the stored statuses (from the counts) and
 * the moves the clock made since they were stored (each a short index range,
 * since the sweep stores them every monitor_interval). */
enum { S_STORED = P_STATUS, S_ACTIVE_EXPIRING, S_ACTIVE_EXPIRED, S_EXPIRING_EXPIRED };

/* validityEnd within bucket i. */
static struct fnode *
range_filter(struct arena *a, size_t i, int64_t now)
{
    struct fnode *f = NULL;
    struct fval   t = { .t = FV_TIME };

    if (buckets[i].lo != INT64_MIN) {
        t.i = now + buckets[i].lo * DAY_MS;
        f = filter_cmp(a, "validityEnd", F_GT, t);
    }
    if (buckets[i].hi != INT64_MAX) {
        t.i = now + buckets[i].hi * DAY_MS;
        struct fnode *le = filter_cmp(a, "validityEnd", F_LE, t);
        f = f != NULL ? filter_bool(a, F_AND, f, le) : le;
    }
    return f;
}

static struct fnode *
bucket_filter(struct arena *a, size_t i, int64_t now)
{
    struct fnode *live = filter_cmp(a, "retired", F_EQ, (struct fval){ .t = FV_BOOL, .i = 0 });

    return filter_bool(a, F_AND, live, range_filter(a, i, now));
}

static void
plan_dimensions(struct agg_part *p)
{
    p[P_SOURCE] = (struct agg_part){ .by = { cert_attr("source") }, .nby = 1 };
    p[P_SIGALG] = (struct agg_part){ .by = { cert_attr("signatureAlgorithm") }, .nby = 1 };
    p[P_WEAKNESS] = (struct agg_part){ .by = { cert_attr("weaknesses") }, .nby = 1 };
    p[P_ISSUER] = (struct agg_part){ .by = { cert_attr("issuer"), cert_attr("issuerCN") },
                                     .nby = 2,
                                     .limit = TOP_ISSUER };
    p[P_KEYALG] = (struct agg_part){ .by = { cert_attr("keyAlgorithm"), cert_attr("keySize") },
                                     .nby = 2 };
}

/* P_WEAKNESS counts the stored weaknesses (from the counts without a filter):
 * the certificates whose issuer has ended since they were stored have
 * EXPIRED_ISSUER too, counted from their rows (few: the sweep stores it). */
static void
plan_issuer_expired(struct arena *a, struct agg_part *p, int64_t now)
{
    p[P_ISSUER_EXPIRED].filter = inv_issuer_expired_cond(a, now);
}

static struct fnode *
stored(struct arena *a, const char *status)
{
    return filter_cmp(a, "status", F_EQ, text(status));
}

static struct fnode *
at(struct arena *a, const char *field, enum fop op, int64_t t)
{
    return filter_cmp(a, field, op, (struct fval){ .t = FV_TIME, .i = t });
}

/* A plan read mostly from the store's counts (spec.counted): no scan. */
static void
plan_counted(struct arena *a, struct agg_part *p, int64_t now)
{
    struct fnode *f;

    p[S_STORED] = (struct agg_part){ .by = { cert_attr("status") }, .nby = 1 };
    f = filter_bool(a, F_AND, stored(a, "ACTIVE"), at(a, "expiringTime", F_LE, now));
    p[S_ACTIVE_EXPIRING].filter = filter_bool(a, F_AND, f, at(a, "validityEnd", F_GT, now));
    p[S_ACTIVE_EXPIRED].filter =
        filter_bool(a, F_AND, stored(a, "ACTIVE"), at(a, "validityEnd", F_LE, now));
    p[S_EXPIRING_EXPIRED].filter =
        filter_bool(a, F_AND, stored(a, "EXPIRING"), at(a, "validityEnd", F_LE, now));
    for (size_t i = 0; i + 1 < ARRAY_LEN(buckets); i++) {
        p[P_BUCKET + i].filter = range_filter(a, i, now);
        p[P_RETIRED_IN + i].filter =
            filter_bool(a, F_AND, stored(a, "RETIRED"), range_filter(a, i, now));
    }
    plan_dimensions(p);
    plan_issuer_expired(a, p, now);
}

static int
plan(struct arena *a, struct agg_part *p, int64_t now, struct errbuf *eb)
{
    int rc;

    for (size_t i = 0; i < ARRAY_LEN(statuses); i++) {
        struct fnode *f = filter_cmp(a, "status", F_EQ, text(statuses[i]));
        f->trusted = false; /* as a client writes it: rewritten below */
        if ((rc = filter_rewrite(a, &f, &spec_certificate, now, eb)) != E_OK)
            return rc;
        p[P_STATUS + i].filter = f;
    }
    for (size_t i = 0; i < ARRAY_LEN(buckets); i++)
        p[P_BUCKET + i].filter = bucket_filter(a, i, now);
    plan_dimensions(p);
    plan_issuer_expired(a, p, now);
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

/* Rows [v1, v2, count] as [{k1: v1, k2: v2, count}]; a null v1 is `k1_null`
 * (NULL: k1 left out), a null v2 leaves k2 out. The counts keep an empty
 * string as null: an empty issuer DN is "" (as the certificate has it). */
static struct val
by_pair(struct arena *a, const struct agg_part *p, const char *k1, const char *k1_null,
        const char *k2)
{
    struct val l = val_arr();

    for (size_t i = 0; i < p->out.a.n; i++) {
        const struct val *row = &p->out.a.v[i];
        struct val        m = val_map();
        if (row->a.v[0].t != V_NULL)
            val_set(a, &m, k1, row->a.v[0]);
        else if (k1_null != NULL)
            val_set(a, &m, k1, val_cstr(k1_null));
        if (row->a.v[1].t != V_NULL)
            val_set(a, &m, k2, row->a.v[1]);
        val_set(a, &m, "count", row->a.v[2]);
        val_push(a, &l, m);
    }
    return l;
}

/* byWeakness: the stored weaknesses and the EXPIRED_ISSUER not stored yet (a
 * row has it stored or due, never both: inv_evaluate). */
static struct val
by_weakness(struct arena *a, const struct agg_part *p)
{
    struct val  m = by_value(a, &p[P_WEAKNESS]);
    struct val *had = val_get(&m, "EXPIRED_ISSUER");
    int64_t     n = single_count(&p[P_ISSUER_EXPIRED]);

    if (n > 0)
        val_set(a, &m, "EXPIRED_ISSUER",
                val_int(n + (had != NULL && had->t == V_INT ? had->i : 0)));
    return m;
}

static int64_t
stored_count(const struct agg_part *p, const char *status)
{
    for (size_t i = 0; i < p->out.a.n; i++) {
        const struct val *row = &p->out.a.v[i];
        if (row->a.v[0].t == V_STR && str_eq_c(row->a.v[0].s, status))
            return row->a.v[1].t == V_INT ? row->a.v[1].i : 0;
    }
    return 0;
}

/* byStatus and byExpiry of a plan_counted: the stored statuses moved on by
 * what the clock did since; the buckets less their retired certificates. */
static void
fill_counted_times(struct arena *a, const struct agg_part *p, struct val *status,
                   struct val *expiry)
{
    int64_t ae = single_count(&p[S_ACTIVE_EXPIRING]), ax = single_count(&p[S_ACTIVE_EXPIRED]);
    int64_t ex = single_count(&p[S_EXPIRING_EXPIRED]);
    int64_t n[] = {
        stored_count(&p[S_STORED], "ACTIVE") - ae - ax,
        stored_count(&p[S_STORED], "EXPIRING") + ae - ex,
        stored_count(&p[S_STORED], "EXPIRED") + ax + ex,
        stored_count(&p[S_STORED], "REVOKED"),
        stored_count(&p[S_STORED], "RETIRED"),
    };
    int64_t rest = single_count(&p[P_TOTAL]) - n[4];

    for (size_t i = 0; i < ARRAY_LEN(statuses); i++)
        val_set(a, status, statuses[i], val_int(n[i]));
    for (size_t i = 0; i + 1 < ARRAY_LEN(buckets); i++) {
        int64_t k = single_count(&p[P_BUCKET + i]) - single_count(&p[P_RETIRED_IN + i]);
        val_set(a, expiry, buckets[i].name, val_int(k));
        rest -= k;
    }
    val_set(a, expiry, buckets[ARRAY_LEN(buckets) - 1].name, val_int(rest));
}

static void
fill(struct arena *a, struct val *obj, const struct agg_part *p, bool counted)
{
    struct val status = val_map(), expiry = val_map();

    val_set(a, obj, "total", val_int(single_count(&p[P_TOTAL])));
    if (counted)
        fill_counted_times(a, p, &status, &expiry);
    for (size_t i = 0; i < ARRAY_LEN(statuses) && !counted; i++)
        val_set(a, &status, statuses[i], val_int(single_count(&p[P_STATUS + i])));
    for (size_t i = 0; i < ARRAY_LEN(buckets) && !counted; i++)
        val_set(a, &expiry, buckets[i].name, val_int(single_count(&p[P_BUCKET + i])));
    val_set(a, obj, "byStatus", status);
    val_set(a, obj, "bySource", by_value(a, &p[P_SOURCE]));
    val_set(a, obj, "bySignatureAlgorithm", by_value(a, &p[P_SIGALG]));
    val_set(a, obj, "byWeakness", by_weakness(a, p));
    val_set(a, obj, "byExpiry", expiry);
    val_set(a, obj, "byIssuer", by_pair(a, &p[P_ISSUER], "issuer", "", "issuerCN"));
    val_set(a, obj, "byKeyAlgorithm",
            by_pair(a, &p[P_KEYALG], "keyAlgorithm", NULL, "keySize"));
}

/* A report tells what the certificates of its scope are, and any `q` may be
 * asked: an oracle on them. Making one takes the right to read them
 * (certificate,get), not certificatereport,post alone (a review's
 * report-only account read names and SANs back one bisection at a time). */
static int
may_read_certificates(struct hook_ctx *ctx, struct errbuf *eb)
{
    int rc = ctx->may != NULL ? ctx->may(ctx, &spec_certificate, VERB_GET, ctx->ns, eb)
                              : E_FORBIDDEN;

    if (rc == E_FORBIDDEN)
        return errbuf_set(eb, E_FORBIDDEN,
                          "A report counts certificates: making one takes the right to read "
                          "them (certificate,get in '%.*s')",
                          STR_FMT(ctx->ns));
    return rc;
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
    if ((rc = may_read_certificates(ctx, eb)) != E_OK)
        return rc;
    if (q.len > 0 &&
        ((rc = filter_parse(ctx->a, q, now, &filter, eb)) != E_OK ||
         (rc = filter_rewrite(ctx->a, &filter, &spec_certificate, now, eb)) != E_OK)) {
        eb->code = E_VALIDATION;
        snprintf(eb->attr, sizeof eb->attr, "q");
        return E_VALIDATION;
    }
    if (filter == NULL)
        plan_counted(ctx->a, parts, now);
    else if ((rc = plan(ctx->a, parts, now, eb)) != E_OK)
        return rc;
    /* With a filter, the P_RETIRED_IN parts (the last) are not asked. */
    rc = kw_store->ops->aggregate(kw_store, &spec_certificate, &sc, filter, parts,
                                  filter == NULL ? P__COUNT : P_RETIRED_IN, ctx->a, eb);
    if (rc == E_BADREQ) { /* the filter names what cannot be filtered */
        eb->code = E_VALIDATION;
        snprintf(eb->attr, sizeof eb->attr, "q");
        return E_VALIDATION;
    }
    if (rc != E_OK)
        return rc;
    fill(ctx->a, obj, parts, filter == NULL);
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
