/* local.h - what the files of discovery/ share, and nothing outside uses. */
#ifndef KW_DISCOVERY_LOCAL_H
#define KW_DISCOVERY_LOCAL_H

#include "../core/config.h"
#include "../core/net.h"
#include "../core/timeutil.h"
#include "../jobs/jobs.h"
#include "cron.h"
#include "discovery.h"
#include "targets.h"

#define DISCOVERY_RUN_JOB      "discovery.run"
#define DISCOVERY_SCHEDULE_JOB "discovery.schedule"
#define TIMEOUT_MIN_MS         100
#define TIMEOUT_MAX_MS         300000
#define CONCURRENCY_MAX        10000

/* The checked target set of discovery object `d` (its targets, excludes and
 * ports; E_VALIDATION naming the attribute). */
int discovery_targets(struct arena *a, const struct val *d, struct target_set *out,
                      struct errbuf *eb);

/* Discovery `d`'s time-out in ms (its `timeout`, a Go duration). */
int64_t discovery_timeout_ms(const struct val *d);

/* Create a QUEUED run of discovery `d` and queue its job, in the transaction
 * (a POST of discoveryruns does it through the engine; a schedule here).
 * The run object is *run (ID and times set). */
int discovery_run_new(struct tx *tx, struct arena *a, const struct val *d, struct val *run,
                      struct errbuf *eb);

/* One sighting of a certificate, to record as a certificateinstance. */
struct instance_seen {
    struct str    ns, discovery_id, run_id, certificate_id;
    unsigned char addr[16];
    uint16_t      port;
    const char   *server_name; /* "" for none */
    const char   *tls_version, *cipher;
    const char   *chain_error; /* NULL: the chain is valid */
};

/* Inside a transaction: insert the instance, or refresh the one there
 * (lastSeen, ACTIVE again, what the handshake said). */
int instance_record(struct tx *tx, struct arena *a, const struct instance_seen *s, int64_t now,
                    struct errbuf *eb);

/* The runtime the run jobs are queued on (NULL in tools and tests). */
extern struct jobs *discovery_jobs;

/* The job handler of one run (run.c). */
int discovery_run_job(struct job_ctx *ctx);

#endif
