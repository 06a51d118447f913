/* housekeeping.h - the server's own periodic jobs: expiry of idempotency
 * answers, quota counters and login states, audit log retention, and the
 * retention of finished jobs. */
#ifndef KW_HOUSEKEEPING_H
#define KW_HOUSEKEEPING_H

#include "jobs/jobs.h"

/* Register the kinds "expire", "auditlog.purge" and "jobs.purge" (finished
 * jobs past job_retention), every expire_interval, with `j`, before
 * jobs_start(). */
int housekeeping_register(struct jobs *j, struct errbuf *eb);

#endif
