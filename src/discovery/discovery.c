/* discovery.c - the `discoveries` resource (API.md 7.5): what to scan, checked
 * when it is written (targets, excludes, ports, time-out, schedule, the cap
 * on address-and-port pairs, the networks a tenant may scan), and the
 * schedule: a periodic job that starts the runs whose time has come. */
#include <inttypes.h>
#include <stdio.h>

#include "../core/config.h"
#include "../core/timeutil.h"
#include "../model/validate.h"
#include "../store/filter.h"
#include "local.h"

#define SCHEDULE_EVERY_MS 5000 /* how often schedules are looked at */
#define SCHEDULE_BATCH    100

static const char *const discovery_children[] = { "discoveryruns", "certificateinstances",
                                                  NULL };

static const struct attr discovery_attrs[] = {
    { "name", T_STRING, A_REQUIRED | A_QUERY | A_ORDER, .pattern = "^[a-zA-Z0-9._ -]+$",
      .max_len = 256 },
    { "description", T_STRING, A_QUERY, .max_len = 1024 },
    { "targets", T_STRLIST, A_REQUIRED | A_QUERY, .max_len = TARGETS_MAX,
      .doc = "host names, IPv4 and IPv6 addresses, CIDR ranges" },
    { "excludes", T_STRLIST, A_QUERY, .max_len = EXCLUDES_MAX, .format = F_CIDR,
      .doc = "addresses and CIDR ranges never scanned" },
    { "ports", T_STRLIST, A_QUERY, .max_len = PORTS_MAX, .def = "443",
      .doc = "ports (\"443\") and ranges (\"8443-8450\")" },
    { "serverNames", T_STRLIST, A_QUERY, .max_len = 64,
      .pattern = "^[A-Za-z0-9*]([A-Za-z0-9.-]{0,252})$",
      .doc = "SNI names tried at every address besides the target's own name" },
    { "timeout", T_STRING, 0, .max_len = 32, .def = "5s",
      .doc = "Go duration, connect plus handshake, from 100ms to 5m" },
    { "concurrency", T_INT, 0, .def = "1000", .min = 1, .max = CONCURRENCY_MAX,
      .doc = "handshakes in flight at most" },
    { "schedule", T_STRING, A_QUERY, .max_len = 128, .def = "",
      .doc = "cron, 5 fields, UTC; empty: on demand only" },
    { "pairsTotal", T_INT, A_READONLY | A_DERIVED | A_QUERY,
      .doc = "address-and-port pairs (a host name counts as one address per name tried)" },
    { "nextRunTime", T_TIME, A_READONLY | A_DERIVED | A_QUERY | A_ORDER,
      .doc = "when the schedule starts the next run" },
};

/* ---- checks ------------------------------------------------------------------ */

static struct str *
strs_of(struct arena *a, const struct val *obj, const char *attr, size_t *n)
{
    const struct val *l = val_get(obj, attr);
    struct str       *out;

    *n = l != NULL && l->t == V_ARR ? l->a.n : 0;
    out = arena_calloc(a, *n ? *n : 1, sizeof *out);
    for (size_t i = 0; i < *n; i++)
        out[i] = l->a.v[i].s;
    return out;
}

int
discovery_targets(struct arena *a, const struct val *d, struct target_set *out,
                  struct errbuf *eb)
{
    size_t      nt, ne, np;
    struct str *t = strs_of(a, d, "targets", &nt), *e = strs_of(a, d, "excludes", &ne),
               *p = strs_of(a, d, "ports", &np);

    uint64_t max = (uint64_t)cfg.discovery_max_pairs, pairs;
    size_t   nn;
    int      rc = target_set_build(a, t, nt, e, ne, p, np, max, out, eb);

    /* Each pair is tried without a name (or with its own) and with each of
     * serverNames, and each answer is an instance row: the cap bounds those
     * (a security review: 1,024 pairs and 64 names made 66,560 rows). */
    strs_of(a, d, "serverNames", &nn);
    if (rc == E_OK && nn > 0 && (pairs = target_set_pairs(out)) > max / (nn + 1))
        return errbuf_attr(eb, E_VALIDATION, "targets",
                           "The targets and ports make %" PRIu64 " address-and-port pairs, "
                           "each tried with %zu server names: %" PRIu64 " handshakes, more "
                           "than discovery_max_pairs (%" PRIu64 ")",
                           pairs, nn + 1, pairs * (nn + 1), max);
    return rc;
}

/* Every address and range target inside one of the allowed networks (two
 * CIDR ranges nest or are apart: a range lies inside a network that holds
 * its first address and is no narrower). */
static int
check_allowed(const struct target_set *ts, struct errbuf *eb)
{
    struct netallow al;

    netallow_load(&al, cfg.discovery_allowed_networks);
    for (size_t i = 0; i < ts->ntargets; i++) {
        const struct target *t = &ts->targets[i];
        if (!t->is_name && !netallow_has_range(&al, &t->range))
            return errbuf_attr(eb, E_VALIDATION, "targets",
                               "Attribute 'targets': item %zu is outside "
                               "discovery_allowed_networks%s",
                               i,
                               al.all ? " (empty: every address but link-local, multicast and "
                                        "0.0.0.0/8 ones)"
                                      : "");
    }
    return E_OK;
}

int64_t
discovery_timeout_ms(const struct val *d)
{
    int64_t ms = 0;

    if (duration_parse(val_get_str(d, "timeout"), &ms) != E_OK)
        return 5000;
    return ms;
}

static int
check_timeout(const struct val *d, struct errbuf *eb)
{
    int64_t ms = 0;

    if (duration_parse(val_get_str(d, "timeout"), &ms) != E_OK || ms < TIMEOUT_MIN_MS ||
        ms > TIMEOUT_MAX_MS)
        return errbuf_attr(eb, E_VALIDATION, "timeout",
                           "Attribute 'timeout' must be a Go duration from 100ms to 5m");
    return E_OK;
}

/* The schedule's next run after `now`, into nextRunTime (removed when there
 * is no schedule). */
static int
check_schedule(struct arena *a, struct val *d, int64_t now, struct errbuf *eb)
{
    struct str    text = val_get_str(d, "schedule");
    struct cron   c;
    struct errbuf why = { 0 }; /* apart: eb's message is written from it */
    int64_t       next;

    if (str_trim(text).len == 0) {
        val_del(d, "nextRunTime");
        return E_OK;
    }
    if (cron_parse(text, &c, &why) != E_OK)
        return errbuf_attr(eb, E_VALIDATION, "schedule",
                           "Attribute 'schedule' must be a cron expression of 5 fields "
                           "(minute hour day-of-month month day-of-week): %s",
                           why.msg);
    if ((next = cron_next(&c, now)) < 0)
        return errbuf_attr(eb, E_VALIDATION, "schedule",
                           "Attribute 'schedule' never matches a date");
    val_set(a, d, "nextRunTime", val_time(a, next));
    return E_OK;
}

/* Each of serverNames is a host name as SNI carries it (RFC 6066 3: no
 * address, no wildcard, no trailing dot). */
static int
check_server_names(const struct val *d, struct errbuf *eb)
{
    const struct val *l = val_get(d, "serverNames");
    unsigned char     ip[16];
    const char       *why;

    for (size_t i = 0; l != NULL && l->t == V_ARR && i < l->a.n; i++) {
        struct str n = l->a.v[i].t == V_STR ? l->a.v[i].s : STR_NULL;
        if (ip_parse(n, ip) == E_OK)
            why = "an address is not a server name";
        else if (n.len > 0 && n.p[n.len - 1] == '.')
            why = "a server name has no trailing dot";
        else
            why = target_name_check(n);
        if (why != NULL)
            return errbuf_attr(eb, E_VALIDATION, "serverNames",
                               "Attribute 'serverNames': entry %zu: %s", i, why);
    }
    return E_OK;
}

static int
discovery_before_write(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                       struct val *obj, const struct val *old, struct errbuf *eb)
{
    struct target_set ts;
    int               rc;

    KW_UNUSED(s);
    KW_UNUSED(tx);
    KW_UNUSED(old);
    if ((rc = check_server_names(obj, eb)) != E_OK ||
        (rc = discovery_targets(ctx->a, obj, &ts, eb)) != E_OK ||
        (rc = check_allowed(&ts, eb)) != E_OK || (rc = check_timeout(obj, eb)) != E_OK ||
        (rc = check_schedule(ctx->a, obj, time_now_ms(), eb)) != E_OK)
        return rc;
    uint64_t pairs = target_set_pairs(&ts);
    val_set(ctx->a, obj, "pairsTotal", val_int(pairs > INT64_MAX ? INT64_MAX : (int64_t)pairs));
    return E_OK;
}

/* Its runs go with it (a running one stops at its next write); the
 * certificates and instances it found stay in the inventory. */
static int
discovery_after_delete(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                       const struct val *obj, struct errbuf *eb)
{
    struct scope sc = { ctx->ns, false };
    int          rc;

    KW_UNUSED(s);
    rc = store_delete_where(tx, &spec_discoveryrun, &sc, "discoveryID", val_get_str(obj, "ID"),
                            ctx->a, NULL);
    return rc == E_OK ? E_OK : errbuf_set(eb, rc, "store error");
}

/* ---- the schedule ------------------------------------------------------------- */

/* In the writer: start a run of each discovery due, and move its
 * nextRunTime on. Each due discovery is read again in the transaction, so
 * that two servers never start the same one twice. */
struct due {
    struct arena *a;
    struct val    ids;
    int64_t       now;
    struct errbuf eb;
};

static int
start_due(struct tx *tx, struct arena *a, struct str id, int64_t now, struct errbuf *eb)
{
    struct val  d, run;
    struct cron c;
    int64_t     next = 0;
    int         rc = tx->ops->find(tx, &spec_discovery, NULL, "ID", id, a, &d);

    if (rc == E_NOTFOUND)
        return E_OK;
    if (rc != E_OK)
        return rc;
    struct val *when = val_get(&d, "nextRunTime");
    if (when == NULL || when->t != V_STR || time_parse(when->s, &next) != E_OK || next > now)
        return E_OK; /* started already, or rescheduled */
    if (cron_parse(val_get_str(&d, "schedule"), &c, eb) != E_OK ||
        (next = cron_next(&c, now)) < 0)
        val_del(&d, "nextRunTime");
    else
        val_set(a, &d, "nextRunTime", val_time(a, next));
    if ((rc = tx->ops->update(tx, &spec_discovery, &d, NULL)) != E_OK)
        return rc;
    rc = discovery_run_new(tx, a, &d, &run, eb);
    return rc == E_VALIDATION ? E_OK : rc; /* one is running: this time is skipped */
}

static int
start_due_tx(struct tx *tx, void *arg)
{
    struct due *due = arg;
    int         rc = E_OK;

    for (size_t i = 0; i < due->ids.a.n && rc == E_OK; i++)
        rc = start_due(tx, due->a, due->ids.a.v[i].s, due->now, &due->eb);
    return rc;
}

static int
schedule_run(struct job_ctx *ctx)
{
    struct due   due = { .a = ctx->a, .now = time_now_ms() };
    struct fval  v = { .t = FV_TIME, .i = due.now };
    struct listq q = { .scope = { STR("/"), true },
                       .filter = filter_cmp(ctx->a, "nextRunTime", F_LE, v),
                       .limit = SCHEDULE_BATCH };
    int rc = ctx->st->ops->list(ctx->st, &spec_discovery, &q, ctx->a, &due.ids, NULL, &ctx->eb);

    if (rc != E_OK || due.ids.a.n == 0)
        return rc;
    for (size_t i = 0; i < due.ids.a.n; i++)
        due.ids.a.v[i] = val_str(val_get_str(&due.ids.a.v[i], "ID"));
    if ((rc = store_run(ctx->st, start_due_tx, &due)) != E_OK)
        return errbuf_set(&ctx->eb, rc, "store error %d: %s", rc, due.eb.msg);
    jobs_wake(discovery_jobs);
    return E_OK;
}

/* ---- the runtime ---------------------------------------------------------------- */

struct jobs *discovery_jobs;

int
discovery_runtime_init(struct store *st, struct errbuf *eb)
{
    const struct job_kind kinds[] = {
        { .name = DISCOVERY_RUN_JOB, .run = discovery_run_job, .max_attempts = 100 },
        { .name = DISCOVERY_SCHEDULE_JOB,
          .run = schedule_run,
          .interval_ms = SCHEDULE_EVERY_MS,
          .max_attempts = 3 },
    };
    discovery_jobs = jobs_new_with(st, kinds, ARRAY_LEN(kinds), eb);
    return discovery_jobs != NULL ? E_OK : eb->code;
}

int
discovery_runtime_start(struct errbuf *eb)
{
    return jobs_start(discovery_jobs, (int)cfg.discovery_workers, eb);
}

void
discovery_runtime_stop(void)
{
    struct jobs *j = discovery_jobs;

    jobs_stop(j); /* its handlers may still read discovery_jobs */
    discovery_jobs = NULL;
    jobs_free(j);
}

static const char *const discovery_indexes[] = { "*nextRunTime", NULL };

static struct spec_rt discovery_rt;

const struct spec spec_discovery = {
    .identity = "discovery",
    .rest = "discoveries",
    .attrs = discovery_attrs,
    .nattrs = ARRAY_LEN(discovery_attrs),
    .unique = "name",
    .default_order = "name",
    .ops = OP_ALL,
    .access = ACCESS_NORMAL,
    .children = discovery_children,
    .hooks = { .before_write = discovery_before_write, .after_delete = discovery_after_delete },
    .indexes = discovery_indexes,
    .rt = &discovery_rt,
};
