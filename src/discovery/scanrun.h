/* scanrun.h - what the two halves of a discovery run share: scanrun.c (the
 * scanner's pairs and callbacks, the job) and scanwrite.c (what was found,
 * written; the MISSING sweep). Nothing outside discovery/ includes it. */
#ifndef KW_DISCOVERY_SCANRUN_H
#define KW_DISCOVERY_SCANRUN_H

#include <pthread.h>
#include <stdatomic.h>

#include "../core/digest.h"
#include "../core/strmap.h"
#include "../inventory/inventory.h"
#include "local.h"
#include "scan.h"
#include "trust.h"

#define BATCH_MAX 512   /* handshakes written per transaction at most */
#define CACHE_MAX 65536 /* fingerprints remembered before the cache starts over */

/* Why a pair was not a TLS endpoint: the keys of the run's `errors`. */
enum pair_end {
    END_TLS,
    END_REFUSED,
    END_TIMEOUT,
    END_UNREACHABLE,
    END_HANDSHAKE,
    END_ERROR,
    END_NOT_RESOLVED,
    END_NOT_ALLOWED,
    END_EXCLUDED,
    END_NAME_EXCLUDED, /* a host name whose every address is excluded */
    END_N
};

/* A completed handshake, copied out of the scanner's memory. */
struct found {
    struct found  *next;
    unsigned char  addr[16];
    uint16_t       port;
    char           sni[SCAN_SNI_MAX + 1]; /* "": none */
    char           version[16], cipher[96];
    size_t         nchain;
    unsigned char *der[TRUST_CHAIN_MAX]; /* the presented chain's first (docs/discovery.md) */
    size_t         der_len[TRUST_CHAIN_MAX];
    /* prepared on the run's thread, so that the writer only writes */
    char             fp[TRUST_CHAIN_MAX][2 * SHA256_LEN + 1]; /* SHA-256 of each DER */
    struct inv_cert *cert[TRUST_CHAIN_MAX]; /* parsed, when not known to the run already */
    const char      *chain_error;
    bool             unreadable; /* a certificate OpenSSL does not read: no sighting */
};

/* Resolved addresses of the host name targets. */
struct names {
    unsigned char (*addr)[16];
    size_t n;
};

struct counters {
    int64_t scanned, responded, errors[END_N];
};

struct run {
    /* fixed for the run */
    struct job_ctx   *job;
    struct arena     *a;
    struct val        obj, disc; /* the run and its discovery, as read */
    struct str        id, ns, disc_id;
    struct target_set ts;
    struct names     *names; /* per target */
    const char      **snis;  /* serverNames */
    size_t            nsnis;
    const char      **probe_snis; /* the open pair's (pair_snis): 1 + nsnis at most */
    struct trust     *trust;
    struct netallow   allowed; /* discovery_allowed_networks, as the run started */
    /* the scanner's own */
    struct target_cursor cur;
    uint64_t             next_seq; /* pairs started (from the checkpoint) */
    uint64_t             base;     /* first pair not done */
    uint32_t            *pending;  /* probes out, per pair from base */
    unsigned char       *end;      /* best end so far, per pair from base */
    size_t               cap;
    size_t               ti, addr_i, sni_i, naddr, nprobe_snis;
    const unsigned char (*addrs)[16];
    unsigned char cur_addr[16];
    uint16_t      cur_port;
    bool          in_pair, cursor_done, window_oom;
    atomic_bool   turn_over; /* set by the run's thread: start no new pair */
    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    struct found   *found, **found_tail;
    size_t          nfound;
    struct counters done; /* pairs up to `checkpoint` */
    struct counters live; /* every pair done, in any order (what clients see) */
    uint64_t        checkpoint;
    bool            scan_over;
    atomic_bool     stop;
    int             scan_rc;
    /* the writer's */
    struct counters stored;
    int64_t         found_leaves, new_leaves;
    int64_t         found_before; /* certificatesFound an earlier attempt wrote */
    int64_t         write_ms;     /* waited for the store's writer, in all */
    int64_t         began_ms;     /* when the scan started (monotonic) */
    int64_t         turn_checked; /* when others waiting were last looked for */
    uint64_t        resumed_at;   /* the checkpoint this process started from */
    bool            resumed;      /* an earlier attempt wrote a checkpoint */
    char            pairs_hash[2 * SHA256_LEN + 1]; /* what the checkpoint counts in */
    struct arena   *cache_a;
    struct strmap   cache; /* fingerprints of the certificates stored: set */
    struct arena   *leaves_a;
    struct strmap   leaves; /* leaf fingerprints seen by this run */
    struct strmap   born;   /* stored by this run as CAs: &born_ca, &born_leaf */
    bool            canceled;
    struct errbuf   eb;
};

/* The names of the run's `errors` (NULL: not an error), per enum pair_end. */
extern const char *const end_names[END_N];

/* Free a list of found handshakes (scanrun.c). */
void found_free(struct found *f);
/* Take what the scanner has found so far and write it; `final` (NULL, or
 * the status the run ends with) goes with the last batch (scanwrite.c). */
int run_flush(struct run *r, const char *final);
/* Mark what this run did not see MISSING, in batches (scanwrite.c). */
int run_sweep_missing(struct run *r);
/* The counters of a run's `resume` (scanwrite.c). */
void run_counters_of(const struct val *m, struct counters *c);

#endif
