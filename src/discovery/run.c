/* run.c - the `discoveryruns` resource (API.md 7.5): POST
 * /discoveries/:id/discoveryruns queues a run and answers at once; its job
 * (scanrun.c) moves the counters while it scans; PUT with status CANCELED
 * stops it. One run of a discovery at a time: another POST while one is
 * QUEUED or RUNNING is 422. */
#include "../core/timeutil.h"
#include "../model/validate.h"
#include "../store/filter.h"
#include "local.h"

static const char *const run_statuses[] = { "QUEUED", "RUNNING",  "SUCCEEDED",
                                            "FAILED", "CANCELED", NULL };

#define KEPT (A_READONLY | A_DERIVED)

static const struct attr run_attrs[] = {
    { "discoveryID", T_STRING, A_REQUIRED | A_CREATIONONLY | A_QUERY,
      .doc = "the discovery run (set from the URL)" },
    { "status", T_STRING, A_QUERY | A_ORDER, .enums = run_statuses, .def = "QUEUED",
      .doc = "QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELED; PUT CANCELED to stop it" },
    { "targetsTotal", T_INT, A_READONLY | A_QUERY, .doc = "address-and-port pairs" },
    /* The run's progress, the server's (API.md 6): written without moving
     * updateTime, and ignored when sent back (a body read earlier has older
     * values). */
    { "targetsScanned", T_INT, KEPT, .doc = "pairs done" },
    { "endpointsResponded", T_INT, KEPT, .doc = "pairs that completed a TLS handshake" },
    { "certificatesFound", T_INT, KEPT, .doc = "distinct leaf certificates seen" },
    { "newCertificates", T_INT, KEPT, .doc = "of those, new to the inventory" },
    { "errors", T_ANY, KEPT, .doc = "pairs skipped or failed, by reason" },
    { "startTime", T_TIME, KEPT | A_QUERY | A_ORDER },
    { "endTime", T_TIME, KEPT | A_QUERY | A_ORDER },
    { "failureReason", T_STRING, KEPT },
    { "resume", T_ANY, A_INTERNAL,
      .doc = "where a resume starts: the pairs done in order, and their counters" },
};

static bool
is_active(struct str status)
{
    return str_eq_c(status, "QUEUED") || str_eq_c(status, "RUNNING");
}

/* A run of discovery `id` still QUEUED or RUNNING, in the transaction. */
static int
find_active(struct tx *tx, struct arena *a, struct str ns, struct str id, bool *found)
{
    struct fval  v = { .t = FV_STR, .s = id };
    struct fval  st[2] = { { .t = FV_STR, .s = STR("QUEUED") },
                           { .t = FV_STR, .s = STR("RUNNING") } };
    struct fval  in = { .t = FV_LIST, .items = st, .n = 2 };
    struct listq q = { .scope = { ns, false },
                       .filter = filter_bool(a, F_AND, filter_cmp(a, "discoveryID", F_EQ, v),
                                             filter_cmp(a, "status", F_IN, in)),
                       .limit = 1 };
    struct val   items;
    int          rc = tx->ops->list(tx, &spec_discoveryrun, &q, a, &items);

    *found = rc == E_OK && items.a.n > 0;
    return rc;
}

/* The fields of a new run of discovery `d`, and its job queued. */
static int
fill_new(struct tx *tx, struct arena *a, const struct val *d, struct val *run,
         struct errbuf *eb)
{
    bool busy = false;
    int  rc = find_active(tx, a, val_get_str(d, "namespace"), val_get_str(d, "ID"), &busy);

    if (rc != E_OK)
        return errbuf_set(eb, rc, "store error");
    if (busy)
        return errbuf_attr(eb, E_VALIDATION, "discoveryID",
                           "A run of this discovery is queued or running already");
    val_set(a, run, "status", val_cstr("QUEUED"));
    val_set(a, run, "targetsTotal", *val_get(d, "pairsTotal"));
    static const char *const zero[] = { "targetsScanned", "endpointsResponded",
                                        "certificatesFound", "newCertificates" };
    for (size_t i = 0; i < ARRAY_LEN(zero); i++)
        val_set(a, run, zero[i], val_int(0));
    val_set(a, run, "errors", val_map());
    if (discovery_jobs == NULL)
        return E_OK;
    struct str id = val_get_str(run, "ID");
    rc = jobs_enqueue_tx(discovery_jobs, tx, DISCOVERY_RUN_JOB, id, id, 0, NULL);
    return rc == E_OK ? E_OK : errbuf_set(eb, rc, "cannot queue the run");
}

int
discovery_run_new(struct tx *tx, struct arena *a, const struct val *d, struct val *run,
                  struct errbuf *eb)
{
    struct val in = val_map();
    int        rc;

    val_set(a, &in, "discoveryID", *val_get(d, "ID"));
    if ((rc = object_new(a, &spec_discoveryrun, val_get_str(d, "namespace"), &in, run, eb)) !=
            E_OK ||
        (rc = fill_new(tx, a, d, run, eb)) != E_OK)
        return rc;
    rc = tx->ops->insert(tx, &spec_discoveryrun, run);
    return rc == E_OK ? E_OK : errbuf_set(eb, rc, "store error");
}

/* Whether `then` is a status the run had before the server moved it to
 * `now` (QUEUED, then RUNNING, then SUCCEEDED or FAILED): what a body read
 * before that write says. CANCELED is a client's write, which moved
 * updateTime: a body read before it is a 409 already. */
static bool
went_through(struct str then, struct str now)
{
    if (str_eq_c(now, "RUNNING"))
        return str_eq_c(then, "QUEUED");
    if (str_eq_c(now, "SUCCEEDED") || str_eq_c(now, "FAILED"))
        return is_active(then);
    return false;
}

/* PUT: only a cancel of a run that has not ended. A status the server has
 * moved on from since the client read the run is ignored (kept as stored),
 * as the server's other attributes are. */
static int
run_update(struct hook_ctx *ctx, struct val *obj, const struct val *old, struct errbuf *eb)
{
    struct str was = val_get_str(old, "status"), now = val_get_str(obj, "status");

    if (str_eq(was, now))
        return E_OK;
    if (went_through(now, was)) {
        val_set(ctx->a, obj, "status", *val_get(old, "status"));
        return E_OK;
    }
    if (!str_eq_c(now, "CANCELED") || !is_active(was))
        return errbuf_attr(eb, E_VALIDATION, "status",
                           "Attribute 'status' can only be set to CANCELED, while the run is "
                           "QUEUED or RUNNING");
    val_set(ctx->a, obj, "endTime", val_time(ctx->a, time_now_ms()));
    return E_OK;
}

static int
run_before_write(struct hook_ctx *ctx, const struct spec *s, struct tx *tx, struct val *obj,
                 const struct val *old, struct errbuf *eb)
{
    struct scope sc = { ctx->ns, false };
    struct val   d;
    int          rc;

    KW_UNUSED(s);
    if (old != NULL)
        return run_update(ctx, obj, old, eb);
    rc = tx->ops->find(tx, &spec_discovery, &sc, "ID", val_get_str(obj, "discoveryID"), ctx->a,
                       &d);
    if (rc == E_NOTFOUND)
        return errbuf_set(eb, E_NOTFOUND, "Could not find the discovery");
    if (rc != E_OK)
        return errbuf_set(eb, rc, "store error");
    return fill_new(tx, ctx->a, &d, obj, eb);
}

static const char *const run_indexes[] = { "discoveryID,status", NULL };

static const char *const run_csv[] = {
    "ID",
    "namespace",
    "discoveryID",
    "status",
    "startTime",
    "endTime",
    "targetsTotal",
    "targetsScanned",
    "endpointsResponded",
    "certificatesFound",
    "newCertificates",
    NULL,
};

static struct spec_rt run_rt;

const struct spec spec_discoveryrun = {
    .identity = "discoveryrun",
    .rest = "discoveryruns",
    .attrs = run_attrs,
    .nattrs = ARRAY_LEN(run_attrs),
    .default_order = "createTime",
    .ops = OP_LIST | OP_CREATE | OP_GET | OP_UPDATE,
    .access = ACCESS_NORMAL,
    .child_create = true,
    .hooks = { .before_write = run_before_write },
    .indexes = run_indexes,
    .csv_columns = run_csv,
    .rt = &run_rt,
};
