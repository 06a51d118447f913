/* housekeeping.c - see housekeeping.h. Each kind is one writer transaction per
 * run: the deletes are bounded by what expired within one interval. */
#include "housekeeping.h"

#include "core/config.h"
#include "core/timeutil.h"
#include "model/specs.h"

/* By the store's clock (job_now): on a shared store, a server whose clock ran
 * ahead deleted other servers' token quota counters and login states before
 * they expired, and a quota-2 token got its uses back at each run (a review). */
static int
expire_tx(struct tx *tx, void *arg)
{
    return tx->ops->expire(tx, job_now(arg));
}

static int
purge_tx(struct tx *tx, void *arg)
{
    return tx->ops->purge(tx, &spec_auditlog, job_now(arg) - cfg.audit_retention);
}

static int
run_tx(struct job_ctx *ctx, int (*fn)(struct tx *, void *))
{
    int rc = store_run(ctx->st, fn, ctx);

    if (rc != E_OK)
        return errbuf_set(&ctx->eb, rc, "store error %d", rc);
    return E_OK;
}

static int
jobs_purge_tx(struct tx *tx, void *arg)
{
    return tx->ops->job_purge(tx, job_now(arg) - cfg.job_retention);
}

/* Idempotency answers, token quota counters and login states past their
 * expiry (reads already ignore them; this keeps the tables small). */
static int
expire_run(struct job_ctx *ctx)
{
    return run_tx(ctx, expire_tx);
}

/* Audit entries older than audit_retention. */
static int
purge_run(struct job_ctx *ctx)
{
    return run_tx(ctx, purge_tx);
}

/* Finished background jobs older than job_retention. */
static int
jobs_purge_run(struct job_ctx *ctx)
{
    return run_tx(ctx, jobs_purge_tx);
}

/* ---- the purge of a deleted namespace's bulk rows -------------------------- */

#define PURGE_BATCH 1000 /* rows per transaction: a few ms of the writer each */

struct purge_step {
    const struct spec *s;
    struct str         nsid;
    int64_t            deleted;
};

static int
purge_step_tx(struct tx *tx, void *arg)
{
    struct purge_step *p = arg;

    return tx->ops->purge_nsid(tx, p->s, p->nsid, PURGE_BATCH, &p->deleted);
}

/* Every row of every bulk spec created in the namespaces of the payload, one
 * batch per transaction, so other writes pass in between. Idempotent: a run
 * cut short is simply run again. */
static int
namespace_purge_run(struct job_ctx *ctx)
{
    struct str rest = ctx->payload, nsid;
    int64_t    total = 0;

    while (rest.p != NULL && !job_canceled(ctx)) {
        rest = str_cut(rest, ',', &nsid);
        for (size_t i = 0; i < spec_count && !job_canceled(ctx); i++) {
            struct purge_step p = { spec_all[i], nsid, PURGE_BATCH };
            while (spec_all[i]->bulk && p.deleted == PURGE_BATCH && !job_canceled(ctx)) {
                int rc = store_run(ctx->st, purge_step_tx, &p);
                if (rc != E_OK)
                    return errbuf_set(&ctx->eb, rc, "store error %d", rc);
                total += p.deleted;
            }
        }
        job_progress(ctx, arena_printf(ctx->a, "%lld rows purged", (long long)total));
    }
    return job_canceled(ctx) ? errbuf_set(&ctx->eb, E_UNAVAILABLE, "stopped") : E_OK;
}

int
housekeeping_register(struct jobs *j, struct errbuf *eb)
{
    const struct job_kind kinds[] = {
        { .name = "expire",
          .run = expire_run,
          .interval_ms = cfg.expire_interval,
          .max_attempts = 3 },
        { .name = "auditlog.purge",
          .run = purge_run,
          .interval_ms = cfg.expire_interval,
          .max_attempts = 3 },
        { .name = "jobs.purge",
          .run = jobs_purge_run,
          .interval_ms = cfg.expire_interval,
          .max_attempts = 3 },
        { .name = NAMESPACE_PURGE_JOB,
          .run = namespace_purge_run,
          .lease_ms = 60000,
          .max_attempts = 1000 },
    };
    int rc = E_OK;

    for (size_t i = 0; i < ARRAY_LEN(kinds) && rc == E_OK; i++)
        rc = jobs_register(j, &kinds[i], eb);
    return rc;
}
