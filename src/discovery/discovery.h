/* discovery.h - finding the certificates on a network (API.md 7.5): the specs
 * of discoveries, discoveryruns and certificateinstances, and the runtime that
 * runs discoveries in the background (docs/discovery.md).
 *
 * A discovery says what to scan; a run scans it once, on a job runtime of its
 * own (a run may last hours: it must not hold the threads of the monitoring
 * sweep or of webhook deliveries). The scanner (scan.h) drives many TLS
 * handshakes at once on one thread; the run's job thread writes what it found
 * in batches, keeps the run's counters and its checkpoint, and notices a
 * cancel. Certificates enter the inventory as DISCOVERED; each sighting is a
 * certificateinstance.
 */
#ifndef KW_DISCOVERY_H
#define KW_DISCOVERY_H

#include "../model/spec.h"
#include "../store/store.h"

extern const struct spec spec_discovery;           /* discovery.c */
extern const struct spec spec_discoveryrun;        /* run.c */
extern const struct spec spec_certificateinstance; /* instance.c */

/* The runtime of discovery runs and schedules over `st` (discovery_workers
 * threads): init before the first write (a run created queues its job),
 * start once the server is sure to run, stop before the store closes. */
int  discovery_runtime_init(struct store *st, struct errbuf *eb);
int  discovery_runtime_start(struct errbuf *eb);
void discovery_runtime_stop(void);

#endif
