/* housekeeping.h - the server's own periodic jobs: expiry of idempotency
 * answers, quota counters and login states, and audit log retention. */
#ifndef KW_HOUSEKEEPING_H
#define KW_HOUSEKEEPING_H

#include "jobs/jobs.h"

/* Register the kinds "expire" and "auditlog.purge" (every expire_interval)
 * with `j`, before jobs_start(). */
int housekeeping_register(struct jobs *j, struct errbuf *eb);

#endif
