/* deliver.h - webhook deliveries sent in the background (API.md 7.2).
 *
 * Every webhookdelivery that webhook_emit records comes with a durable
 * work item of kind webhook.deliver (its key the delivery's ID, its payload
 * the JSON body). The items run on a job runtime of their own
 * (webhook_workers threads), apart from the server's other jobs: a receiver
 * that is slow or gone holds a delivery thread for at most webhook_timeout,
 * and never delays the housekeeping or a namespace purge, nor any request.
 *
 * Each attempt writes its outcome into the delivery (attempts, responseCode,
 * lastError, nextAttemptTime, status) without moving its updateTime (API.md
 * 6). A failed attempt is retried after webhook_retry_delay, doubled each
 * time up to 1 h, until webhook_max_attempts: then FAILED. A 2xx answer is
 * DELIVERED. The items are leased like any job: a delivery cut short by a
 * crash or kill -9 is tried again once the lease expires, so a receiver may
 * see one body twice (same X-Keyward-Delivery): deliveries are at least once.
 * Deliveries older than webhook_delivery_retention are deleted
 * (webhookdelivery.purge, every expire_interval).
 */
#ifndef KW_DELIVER_H
#define KW_DELIVER_H

#include "../jobs/jobs.h"

#define WEBHOOK_DELIVER_JOB "webhook.deliver"

/* At start-up, after store_open and before the first write: the runtime (no
 * thread yet) and its kinds. Its threads are woken after each commit that
 * queued an item (jobs.c), so new deliveries go out at once. */
int webhook_runtime_init(struct store *st, struct errbuf *eb);
/* Start the delivery threads (cfg.webhook_workers). */
int webhook_runtime_start(struct errbuf *eb);
/* Stop the threads (an attempt in flight is aborted within a second and its
 * item released) and free the runtime; before the store closes. Idempotent. */
void webhook_runtime_stop(void);
/* The runtime, NULL before webhook_runtime_init or after _stop (tools). */
struct jobs *webhook_runtime(void);
/* When a new delivery of namespace `ns` is due, from `now`: a tenant's burst
 * (thousands of certificates crossing a threshold at once, times its
 * webhooks) is paced, one every DELIVERY_PACE_MS, so that another tenant's
 * delivery queued after it is due before most of it, not behind all of it. */
#define DELIVERY_PACE_MS 10
int64_t delivery_due(struct str ns, int64_t now);

#endif
