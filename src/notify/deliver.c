/* deliver.c - see deliver.h. */
#include "deliver.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../core/config.h"
#include "../core/nspath.h"
#include "../core/rnd.h"
#include "../core/timeutil.h"
#include "../model/secrets.h"
#include "../model/specs.h"
#include "webhook.h"

#define LEASE_MARGIN_MS 30000 /* beyond webhook_timeout: the keeper renews anyway */
#define RETRY_MAX_MS    3600000
#define SECRET_MAX      4096
#define PURGE_JOB       "webhookdelivery.purge"

#define POSTPONE_PAUSE_MS 50 /* a worker that postponed one claims the next after this */

static struct jobs *runtime; /* set at start-up, before any write; cleared at exit */

/* ---- the tenants' shares of the delivery threads ------------------------ */

/* A tenant (a top-level namespace) has at most half the delivery threads of
 * this server at once (one when there is one): its dead or slow receivers,
 * each holding a thread for webhook_timeout, delayed every other tenant's
 * deliveries by minutes (a review: 10 webhooks to a receiver that never
 * answers, another tenant's delivery 50 s late). A delivery past its tenant's
 * share is postponed, not attempted; others are claimed meanwhile. */
static pthread_mutex_t flight_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t       *flight; /* per thread: the tenant it delivers for, 0: none */
static size_t          nflight;

static uint64_t
tenant_of(struct str ns)
{
    struct str t = nspath_tenant(ns);

    return hash_fnv1a(t.p, t.len, 0) | 1; /* never 0 */
}

static bool
flight_take(uint64_t tenant)
{
    size_t share = nflight > 1 ? nflight / 2 : 1, held = 0, free_at = nflight;

    pthread_mutex_lock(&flight_mu);
    for (size_t i = 0; i < nflight; i++) {
        held += flight[i] == tenant;
        if (flight[i] == 0 && free_at == nflight)
            free_at = i;
    }
    bool ok = held < share && free_at < nflight;
    if (ok)
        flight[free_at] = tenant;
    pthread_mutex_unlock(&flight_mu);
    return ok;
}

/* A delivery past its tenant's share is due again about when a delivery in
 * flight must have ended (webhook_timeout, a fifth either way so that a
 * backlog spreads out), and the worker pauses before its next claim: a backlog
 * of one tenant's is not claimed and put back in a loop through the writer (a
 * review). */
static int
postpone(struct job_ctx *ctx)
{
    int64_t  t = cfg.webhook_timeout, spread = t / 5;
    uint64_t r = 0;

    rnd_bytes(&r, sizeof r);
    job_postpone(ctx, t - spread + (spread > 0 ? (int64_t)(r % (uint64_t)(2 * spread)) : 0));
    struct timespec pause = { 0, POSTPONE_PAUSE_MS * 1000000L };
    nanosleep(&pause, NULL);
    return E_OK;
}

static void
flight_put(uint64_t tenant)
{
    pthread_mutex_lock(&flight_mu);
    for (size_t i = 0; i < nflight; i++)
        if (flight[i] == tenant) {
            flight[i] = 0;
            break;
        }
    pthread_mutex_unlock(&flight_mu);
}

struct jobs *
webhook_runtime(void)
{
    return runtime;
}

/* ---- a tenant's bursts, paced ----------------------------------------------- */

/* The claim takes the item that has waited longest: a tenant's 100,000
 * deliveries, all due at once, held another tenant's behind them for 7
 * minutes (a security review), each postponed one by one past its tenant's
 * share. Per server and in memory: pacing, not accounting; two tenants that
 * share a slot reset each other's pace, which costs only fairness. */
#define PACE_SLOTS 256
static pthread_mutex_t pace_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uint64_t tenant;
    int64_t  next;
} pace[PACE_SLOTS];

int64_t
delivery_due(struct str ns, int64_t now)
{
    uint64_t t = tenant_of(ns);
    size_t   i = (size_t)(t % PACE_SLOTS);
    int64_t  due;

    pthread_mutex_lock(&pace_mu);
    if (pace[i].tenant != t || pace[i].next < now) {
        pace[i].tenant = t;
        pace[i].next = now;
    }
    due = pace[i].next;
    pace[i].next += DELIVERY_PACE_MS;
    pthread_mutex_unlock(&pace_mu);
    return due;
}

/* ---- the record of an attempt ------------------------------------------ */

static int
update_tx(struct tx *tx, void *arg)
{
    int rc = tx->ops->update(tx, &spec_webhookdelivery, arg, NULL);

    return rc == E_NOTFOUND ? E_OK : rc; /* its namespace was deleted meanwhile */
}

/* Server maintenance: unconditional, and updateTime stays (API.md 6). */
static int
save(struct job_ctx *ctx, struct val *d)
{
    int rc = store_run(ctx->st, update_tx, d);

    return rc == E_OK ? E_OK : errbuf_set(&ctx->eb, rc, "cannot record the attempt (%d)", rc);
}

static void
set_time(struct arena *a, struct val *d, const char *key, int64_t ms)
{
    val_set(a, d, key, val_time(a, ms));
}

/* The delivery will not be sent (its webhook went, or was disabled). */
static int
give_up(struct job_ctx *ctx, struct val *d, const char *why)
{
    val_set(ctx->a, d, "status", val_cstr("FAILED"));
    val_set(ctx->a, d, "lastError", val_cstr(why));
    val_del(d, "nextAttemptTime");
    return save(ctx, d);
}

/* This attempt's outcome into the delivery; the item's error (retried, or
 * failed for good) when it was not delivered. */
static int
record(struct job_ctx *ctx, struct val *d, const struct webhook_result *res, bool ok)
{
    bool last = ctx->attempt >= ctx->kind->max_attempts;
    int  rc;

    val_set(ctx->a, d, "attempts", val_int(ctx->attempt));
    if (res->code != 0)
        val_set(ctx->a, d, "responseCode", val_int(res->code));
    else
        val_del(d, "responseCode");
    val_set(ctx->a, d, "status", val_cstr(ok ? "DELIVERED" : last ? "FAILED" : "PENDING"));
    if (ok)
        val_del(d, "lastError");
    else
        val_set(ctx->a, d, "lastError",
                val_cstr(arena_strndup(ctx->a, res->error, strlen(res->error))));
    if (ok || last)
        val_del(d, "nextAttemptTime");
    else
        set_time(ctx->a, d, "nextAttemptTime",
                 time_now_ms() + job_retry_delay_ms(ctx->kind, ctx->attempt));
    if ((rc = save(ctx, d)) != E_OK || ok)
        return rc;
    return errbuf_set(&ctx->eb, E_UNAVAILABLE, "%s", res->error);
}

/* ---- an attempt ---------------------------------------------------------- */

static bool
stopping(void *arg)
{
    return job_canceled(arg);
}

/* POST the body of delivery `d` to its webhook, with the secret open for the
 * call only. A secret that cannot be opened (another master key) fails the
 * attempt like an unreachable receiver: it shows in lastError. */
static int
post_delivery(struct job_ctx *ctx, const struct val *d, const struct val *hook,
              struct webhook_result *res)
{
    struct str          url = val_get_str(hook, "url"), event = val_get_str(d, "event");
    struct webhook_post p = { .url = arena_strndup(ctx->a, url.p, url.len),
                              .body = ctx->payload,
                              .ca_pem = val_get_str(hook, "caCertificate"),
                              .event = arena_strndup(ctx->a, event.p, event.len),
                              .delivery = arena_strndup(ctx->a, ctx->key.p, ctx->key.len),
                              .timeout_ms = cfg.webhook_timeout,
                              .canceled = stopping,
                              .arg = ctx };
    struct buf          secret;
    struct errbuf       eb = { 0 };
    int                 rc;

    buf_init(&secret, SECRET_MAX);
    if (secrets_open(&spec_webhook, hook, "secret", &secret, &eb) != E_OK) {
        buf_wipe(&secret);
        *res = (struct webhook_result){ 0 };
        snprintf(res->error, sizeof res->error, "the webhook's secret cannot be opened");
        return E_UNAVAILABLE;
    }
    p.secret = buf_str(&secret);
    rc = webhook_post(&p, res);
    buf_wipe(&secret);
    return rc;
}

/* The webhook of delivery `d`: E_NOTFOUND when it was deleted. */
static int
load_webhook(struct job_ctx *ctx, const struct val *d, struct val *hook)
{
    struct scope sc = { val_get_str(d, "namespace"), false };

    return ctx->st->ops->find(ctx->st, &spec_webhook, &sc, "ID", val_get_str(d, "webhookID"),
                              ctx->a, hook, &ctx->eb);
}

static bool
is_true(const struct val *obj, const char *key)
{
    const struct val *v = val_get(obj, key);

    return v != NULL && v->t == V_BOOL && v->b;
}

/* One attempt at one delivery (the item's key). Idempotent: a delivery that
 * is no longer PENDING (its outcome was written, but not the item's) or no
 * longer visible (its namespace was deleted, or it was purged) is done. */
static int
deliver_run(struct job_ctx *ctx)
{
    struct webhook_result res;
    struct val            d, hook;
    int rc = ctx->st->ops->find(ctx->st, &spec_webhookdelivery, NULL, "ID", ctx->key, ctx->a,
                                &d, &ctx->eb);

    if (rc == E_NOTFOUND)
        return E_OK;
    if (rc != E_OK || !str_eq_c(val_get_str(&d, "status"), "PENDING"))
        return rc;
    if ((rc = load_webhook(ctx, &d, &hook)) == E_NOTFOUND)
        return give_up(ctx, &d, "the webhook was deleted");
    if (rc != E_OK)
        return rc;
    if (is_true(&hook, "disabled"))
        return give_up(ctx, &d, "the webhook is disabled");
    uint64_t tenant = tenant_of(val_get_str(&d, "namespace"));
    if (!flight_take(tenant))
        return postpone(ctx);
    rc = post_delivery(ctx, &d, &hook, &res);
    flight_put(tenant);
    if (res.canceled) /* stopping: the item is released, this attempt not counted */
        return errbuf_set(&ctx->eb, E_UNAVAILABLE, "%s", res.error);
    return record(ctx, &d, &res, rc == E_OK);
}

/* ---- retention ------------------------------------------------------------ */

static int
purge_tx(struct tx *tx, void *arg)
{
    return tx->ops->purge(tx, &spec_webhookdelivery,
                          job_now(arg) - cfg.webhook_delivery_retention);
}

static int
purge_run(struct job_ctx *ctx)
{
    int rc = store_run(ctx->st, purge_tx, ctx);

    return rc == E_OK ? E_OK : errbuf_set(&ctx->eb, rc, "store error %d", rc);
}

/* ---- the runtime ------------------------------------------------------------ */

int
webhook_runtime_init(struct store *st, struct errbuf *eb)
{
    const struct job_kind kinds[] = {
        { .name = WEBHOOK_DELIVER_JOB,
          .run = deliver_run,
          .lease_ms = cfg.webhook_timeout + LEASE_MARGIN_MS,
          .retry_base_ms = cfg.webhook_retry_delay,
          .retry_max_ms = RETRY_MAX_MS,
          .max_attempts = cfg.webhook_max_attempts },
        { .name = PURGE_JOB,
          .run = purge_run,
          .interval_ms = cfg.expire_interval,
          .max_attempts = 3 },
    };
    nflight = (size_t)cfg.webhook_workers;
    if ((flight = calloc(nflight, sizeof *flight)) == NULL)
        return errbuf_set(eb, E_INTERNAL, "webhooks: out of memory");
    runtime = jobs_new_with(st, kinds, ARRAY_LEN(kinds), eb);
    return runtime != NULL ? E_OK : eb->code;
}

int
webhook_runtime_start(struct errbuf *eb)
{
    return jobs_start(runtime, (int)cfg.webhook_workers, eb);
}

void
webhook_runtime_stop(void)
{
    struct jobs *j = runtime;

    runtime = NULL;
    jobs_free(j);
}
