/* scanrun.c - one discovery run, as a job (API.md 7.5).
 *
 * Two threads. The scanner thread runs scan_run() (scan.h) over the run's
 * probes: every address-and-port pair from the checkpoint on, each tried
 * without a server name (or with the target's own host name) and with each
 * of the discovery's serverNames. It keeps, per pair, how many probes are
 * still out; a pair is done when the last one ends, and the checkpoint is
 * the number of pairs done in order (pairs end out of order: a silent host
 * holds the checkpoint back until its time-out). The job's thread takes what
 * the scanner found every FLUSH_MS and writes it in one transaction: the
 * certificates into the inventory (deduplicated by fingerprint before they
 * are parsed), the instances, the run's counters (every pair done, so that
 * they move even while a silent host holds the checkpoint back) and its
 * `resume`: the checkpoint with the counters of the pairs before it only, so
 * that a resume from the checkpoint counts nothing twice. The same transaction reads the run's
 * status: a CANCELED (or deleted) run stops the scanner.
 *
 * Host names are resolved before the scan starts, on the job's thread, so
 * the scanner's loop never blocks; an address outside
 * discovery_allowed_networks or inside `excludes` is not probed.
 *
 * Runs take turns on the discovery workers (docs/discovery.md, "Taking
 * turns"): once a run has scanned for discovery_slice while another job of
 * the workers' waits, it starts no new pair, lets the probes in flight end,
 * writes its checkpoint (every pair started is then done: it is exact) and
 * gives its job back without counting an attempt. It stays RUNNING, and its
 * next turn is a resume from that checkpoint, with nothing probed again.
 */
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/buf.h"
#include "../core/config.h"
#include "../core/digest.h"
#include "../core/log.h"
#include "../core/rnd.h"
#include "../core/strmap.h"
#include "../inventory/inventory.h"
#include "../notify/webhook.h"
#include "../store/filter.h"
#include "local.h"
#include "scan.h"
#include "trust.h"

#define FLUSH_MS       100
#define BATCH_MAX      512   /* handshakes written per transaction at most */
#define NAME_ADDRS_MAX 16    /* addresses tried per host name */
#define CACHE_MAX      65536 /* fingerprints remembered before the cache starts over */

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

static const char *const end_names[END_N] = {
    NULL,           "REFUSED",          "TIMEOUT",
    "UNREACHABLE",  "HANDSHAKE_FAILED", "ERROR",
    "NOT_RESOLVED", "NOT_ALLOWED",      NULL /* excluded addresses are not errors */,
    "EXCLUDED", /* but a name asked for that is not scanned at all is told */
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
    struct allowed    allowed; /* discovery_allowed_networks, as the run started */
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

/* ---- the pairs: a window from the checkpoint on -------------------------- */

static bool
window_room(struct run *r)
{
    if (r->next_seq - r->base < r->cap)
        return true;
    size_t    cap = r->cap ? r->cap * 2 : 4096;
    uint32_t *p = realloc(r->pending, cap * sizeof *p);
    if (p == NULL)
        return false;
    r->pending = p;
    unsigned char *e = realloc(r->end, cap);
    if (e == NULL)
        return false;
    r->end = e;
    r->cap = cap;
    return true;
}

/* Where pair `seq` is kept: the window starts at the first pair not done. */
static size_t
slot_of(const struct run *r, uint64_t seq)
{
    return (size_t)(seq - r->base);
}

static void
fold_end(struct counters *c, enum pair_end e)
{
    c->scanned++;
    if (e == END_TLS)
        c->responded++;
    else
        c->errors[e]++;
}

/* Pairs at the front of the window that are done (every probe issued and
 * ended) move into the counters and the checkpoint. The open pair (its
 * probes still being issued) is never done, but moves with the window. */
static void
advance(struct run *r)
{
    size_t k = 0, closed = (size_t)(r->next_seq - r->base);
    size_t span = closed + (r->in_pair ? 1 : 0);

    pthread_mutex_lock(&r->mu);
    while (k < closed && r->pending[k] == 0)
        fold_end(&r->done, (enum pair_end)r->end[k++]);
    r->base += k;
    r->checkpoint += k;
    pthread_mutex_unlock(&r->mu);
    if (k == 0)
        return;
    memmove(r->pending, r->pending + k, (span - k) * sizeof *r->pending);
    memmove(r->end, r->end + k, span - k);
}

/* A pair's last probe ended: clients see it at the next write. */
static void
pair_done(struct run *r, enum pair_end e)
{
    pthread_mutex_lock(&r->mu);
    fold_end(&r->live, e);
    pthread_mutex_unlock(&r->mu);
}

static void
pair_probe_ended(struct run *r, uint64_t seq, enum pair_end e)
{
    size_t s = slot_of(r, seq);

    /* The best end of its probes: a handshake wins, else the first failure. */
    if (e == END_TLS || r->end[s] == END_N)
        r->end[s] = (unsigned char)e;
    if (--r->pending[s] != 0)
        return;
    pair_done(r, (enum pair_end)r->end[s]);
    if (seq == r->base)
        advance(r);
}

/* The open pair has had all its probes: it is closed, and may be done. */
static void
pair_close(struct run *r)
{
    r->in_pair = false;
    r->next_seq++;
    advance(r);
}

/* A pair with no probe at all (nothing to try): done at once. */
static void
pair_skipped(struct run *r, enum pair_end e)
{
    size_t s = slot_of(r, r->next_seq);

    r->pending[s] = 0;
    r->end[s] = (unsigned char)e;
    pair_done(r, e);
    pair_close(r);
}

/* ---- the scanner's callbacks ---------------------------------------------- */

static bool
address_ok(const struct run *r, const unsigned char ip[16], enum pair_end *why)
{
    if (target_set_excluded(&r->ts, ip)) {
        *why = END_EXCLUDED;
        return false;
    }
    if (!allowed_has(&r->allowed, ip)) {
        *why = END_NOT_ALLOWED;
        return false;
    }
    return true;
}

/* The server names a pair is probed with: none (an address) or the target's
 * own name, then each of serverNames that is not that name. */
static void
pair_snis(struct run *r, const struct target *t)
{
    r->nprobe_snis = 0;
    r->probe_snis[r->nprobe_snis++] = t->is_name ? t->name : NULL;
    for (size_t i = 0; i < r->nsnis; i++)
        if (!t->is_name || strcasecmp(r->snis[i], t->name) != 0)
            r->probe_snis[r->nprobe_snis++] = r->snis[i];
}

/* Start the next pair: its addresses (one, or a name's) and its probes. */
static bool
start_pair(struct run *r)
{
    size_t ti;

    while (!r->in_pair) {
        if (!r->cursor_done && !window_room(r)) {
            r->window_oom = true; /* the run's thread reports it: eb is its own */
            r->cursor_done = true;
        }
        if (r->cursor_done || !target_cursor_next(&r->cur, &ti, r->cur_addr, &r->cur_port)) {
            r->cursor_done = true;
            return false;
        }
        const struct target *t = &r->ts.targets[ti];
        r->ti = ti;
        r->addrs = t->is_name ? (const unsigned char(*)[16])r->names[ti].addr
                              : (const unsigned char(*)[16])r->cur_addr;
        r->naddr = t->is_name ? r->names[ti].n : 1;
        pair_snis(r, t);
        r->addr_i = r->sni_i = 0;
        enum pair_end why = t->is_name ? END_NOT_RESOLVED : END_ERROR;
        uint32_t      probes = 0;
        for (size_t i = 0; i < r->naddr; i++)
            if (address_ok(r, r->addrs[i], &why))
                probes += (uint32_t)r->nprobe_snis;
        if (probes == 0) {
            pair_skipped(r, t->is_name && why == END_EXCLUDED ? END_NAME_EXCLUDED : why);
            continue;
        }
        r->pending[slot_of(r, r->next_seq)] = probes;
        r->end[slot_of(r, r->next_seq)] = END_N;
        r->in_pair = true;
    }
    return true;
}

static bool
feed_next(void *arg, struct scan_target *st)
{
    struct run   *r = arg;
    enum pair_end why;

    for (;;) {
        if (!r->in_pair && atomic_load(&r->turn_over))
            return false; /* the run's turn is over: the pairs started end, no new one */
        if (!start_pair(r))
            return false;
        if (r->addr_i >= r->naddr) {
            pair_close(r);
            continue;
        }
        const unsigned char *ip = r->addrs[r->addr_i];
        if (!address_ok(r, ip, &why)) {
            r->addr_i++;
            continue;
        }
        memcpy(st->addr, ip, 16);
        st->port = r->cur_port;
        st->sni = r->probe_snis[r->sni_i];
        st->user = (void *)(uintptr_t)r->next_seq;
        if (++r->sni_i == r->nprobe_snis) {
            r->sni_i = 0;
            r->addr_i++;
        }
        return true;
    }
}

static enum pair_end
end_of(enum scan_outcome o)
{
    switch (o) {
    case SCAN_TLS:
        return END_TLS;
    case SCAN_REFUSED:
        return END_REFUSED;
    case SCAN_TIMEOUT:
        return END_TIMEOUT;
    case SCAN_UNREACHABLE:
        return END_UNREACHABLE;
    case SCAN_HANDSHAKE:
        return END_HANDSHAKE;
    default:
        return END_ERROR;
    }
}

static struct found *
found_copy(const struct scan_result *res)
{
    struct found *f = calloc(1, sizeof *f);

    if (f == NULL)
        return NULL;
    memcpy(f->addr, res->target->addr, 16);
    f->port = res->target->port;
    snprintf(f->sni, sizeof f->sni, "%s", res->target->sni ? res->target->sni : "");
    snprintf(f->version, sizeof f->version, "%s", res->tls_version ? res->tls_version : "");
    snprintf(f->cipher, sizeof f->cipher, "%s", res->cipher ? res->cipher : "");
    for (size_t i = 0; i < res->nchain && f->nchain < ARRAY_LEN(f->der); i++) {
        unsigned char *d = malloc(res->der_len[i]);
        if (d == NULL)
            break;
        memcpy(d, res->der[i], res->der_len[i]);
        f->der[f->nchain] = d;
        f->der_len[f->nchain++] = res->der_len[i];
    }
    return f;
}

static void
found_free(struct found *f)
{
    while (f != NULL) {
        struct found *next = f->next;
        for (size_t i = 0; i < f->nchain; i++)
            free(f->der[i]);
        free(f);
        f = next;
    }
}

static void
feed_done(void *arg, const struct scan_result *res)
{
    struct run   *r = arg;
    uint64_t      seq = (uint64_t)(uintptr_t)res->target->user;
    enum pair_end e = end_of(res->outcome);
    struct found *f = NULL;

    if (e == END_TLS && res->nchain > 0 && (f = found_copy(res)) == NULL)
        e = END_ERROR;
    if (f != NULL) {
        pthread_mutex_lock(&r->mu);
        *r->found_tail = f;
        r->found_tail = &f->next;
        if (++r->nfound >= BATCH_MAX)
            pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
    pair_probe_ended(r, seq, e);
}

static bool
feed_canceled(void *arg)
{
    struct run *r = arg;

    return atomic_load(&r->stop);
}

/* Handshakes one run may have under way: its share of
 * discovery_handshake_memory, whatever its servers announce. */
static uint32_t
handshakes_max(void)
{
    int64_t n = cfg.discovery_handshake_memory / cfg.discovery_workers / SCAN_HANDSHAKE_MEMORY;

    return n < 1 ? 1 : n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

static void *
scanner_main(void *arg)
{
    struct run      *r = arg;
    struct scan_opts o = { .concurrency = (unsigned)val_get_int(&r->disc, "concurrency", 1000),
                           .timeout_ms = discovery_timeout_ms(&r->disc),
                           .handshakes_max = handshakes_max() };
    struct errbuf    eb = { 0 };
    int              rc = scan_run(&o, feed_next, feed_done, feed_canceled, r, &eb);

    pthread_mutex_lock(&r->mu);
    r->scan_rc = rc;
    if (rc != E_OK)
        errbuf_set(&r->eb, rc, "the scanner stopped: %s", eb.msg);
    r->scan_over = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- writing what was found ------------------------------------------------- */

struct flush {
    struct run      *r;
    struct inv_batch batch; /* the namespace's policy and issuers, once per write */
    struct found    *found;
    struct counters  done, live;
    uint64_t         checkpoint;
    const char      *final;   /* NULL, or the status the run ends with */
    bool             partial; /* more batches follow: no counters yet */
    struct arena    *a;
};

/* On the run's thread, before the write: each certificate's fingerprint,
 * the parse of those the run has not stored yet, and the chain's validation
 * (the store's one writer must not spend its time on X.509). */
static void
prepare_found(struct run *r, struct arena *a, struct found *f)
{
    struct errbuf eb = { 0 };

    for (size_t i = 0; i < f->nchain; i++) {
        digest_sha256_hex(f->der[i], f->der_len[i], f->fp[i]);
        if (strmap_get(&r->cache, str_c(f->fp[i])) != NULL)
            continue;
        f->cert[i] = arena_calloc(a, 1, sizeof *f->cert[i]);
        if (inv_cert_of_der(a, f->der[i], f->der_len[i], f->cert[i], &eb) != E_OK)
            f->unreadable = true;
    }
    f->chain_error = trust_check(r->trust, (const unsigned char *const *)f->der, f->der_len,
                                 f->nchain, f->sni, f->addr);
}

/* The run has stored (or found stored) the certificate with fingerprint fp:
 * its next sightings need no parse. */
static void
remember(struct run *r, const char *fp)
{
    if (r->cache.n >= CACHE_MAX) {
        arena_reset(r->cache_a);
        strmap_init(&r->cache, r->cache_a);
    }
    strmap_put(&r->cache, str_c(fp), r);
}

/* What r->born says of a certificate this run put into the inventory as a
 * CA of a chain (only the addresses matter). */
static char born_ca, born_leaf;

/* Whether chain member i of f, found in the inventory, is still new to the
 * namespace: a leaf that this run itself stored first as a CA of another
 * server's chain was in no inventory before the run. It counts and is
 * announced once, whichever server was scanned first (a self-signed CA used
 * as a server's certificate and sent in another's chain was new only when
 * that server came first: a black-box review). */
static bool
born_here(struct run *r, const struct found *f, size_t i, bool dup)
{
    if (i > 0) {
        if (!dup && r->born.n < CACHE_MAX * 16)
            strmap_put(&r->born, str_c(f->fp[i]), &born_ca);
        return !dup;
    }
    if (!dup)
        return true;
    if (strmap_get(&r->born, str_c(f->fp[0])) != &born_ca)
        return false;
    strmap_put(&r->born, str_c(f->fp[0]), &born_leaf);
    return true;
}

/* The ID of chain member i of f in the run's namespace, put into the
 * inventory when it is not there (*is_new, or stored by this run as a CA:
 * born_here; a new leaf is announced as certificate.discovered, the CAs of
 * its chain are not). Always looked up in the transaction: a user may have
 * deleted it since the run last saw it (the run's memory of fingerprints only
 * spares parsing). */
static int
put_cert(struct tx *tx, struct flush *fl, const struct found *f, size_t i, struct str *id,
         bool *is_new)
{
    struct run      *r = fl->r;
    struct scope     sc = { r->ns, false };
    struct inv_cert *c = f->cert[i];
    struct val       obj;
    bool             dup = true;
    int              rc;

    *is_new = false;
    rc = tx->ops->find(tx, &spec_certificate, &sc, "fingerprint", str_c(f->fp[i]), fl->a, &obj);
    if (rc == E_NOTFOUND && c == NULL) { /* seen before, so not parsed; deleted since */
        c = arena_calloc(fl->a, 1, sizeof *c);
        if (inv_cert_of_der(fl->a, f->der[i], f->der_len[i], c, &r->eb) != E_OK)
            return errbuf_set(&r->eb, E_INTERNAL, "a certificate read before does not parse");
    }
    if (rc == E_NOTFOUND)
        rc = inv_put(tx, fl->a, r->ns, c, "DISCOVERED", &fl->batch, &obj, &dup, &r->eb);
    if (rc != E_OK)
        return rc;
    *is_new = born_here(r, f, i, dup);
    *id = val_get_str(&obj, "ID");
    remember(r, f->fp[i]);
    if (*is_new && i == 0)
        return webhook_emit(tx, fl->a, r->ns, "certificate.discovered", &obj, "certificate",
                            &r->eb);
    return E_OK;
}

/* One handshake: its chain (issuers first, so that each links to the one
 * above), then the leaf's instance. */
static int
record_found(struct tx *tx, struct flush *fl, const struct found *f, int64_t now)
{
    struct run          *r = fl->r;
    struct instance_seen s = { .ns = r->ns,
                               .discovery_id = r->disc_id,
                               .run_id = r->id,
                               .port = f->port,
                               .server_name = f->sni,
                               .tls_version = f->version,
                               .cipher = f->cipher,
                               .chain_error = f->chain_error };
    bool                 is_new = false;
    int                  rc = E_OK;

    if (f->unreadable || f->nchain == 0)
        return E_OK;
    for (size_t i = f->nchain; i-- > 0 && rc == E_OK;)
        if (i == 0 || strcmp(f->fp[i], f->fp[0]) != 0) /* the leaf sent again: as the leaf */
            rc = put_cert(tx, fl, f, i, &s.certificate_id, &is_new);
    if (rc != E_OK)
        return rc;
    if (is_new)
        r->new_leaves++;
    memcpy(s.addr, f->addr, 16);
    return instance_record(tx, fl->a, &s, now, &r->eb);
}

/* Counters as a run shows them (targetsScanned, endpointsResponded,
 * errors), into map m: the run itself, or its `resume`. */
static void
counters_put(struct arena *a, struct val *m, const struct counters *c)
{
    struct val errors = val_map();

    for (size_t i = 0; i < END_N; i++)
        if (end_names[i] != NULL && c->errors[i] > 0)
            val_set(a, &errors, end_names[i], val_int(c->errors[i]));
    val_set(a, m, "targetsScanned", val_int(c->scanned));
    val_set(a, m, "endpointsResponded", val_int(c->responded));
    val_set(a, m, "errors", errors);
}

/* The counters counters_put wrote into m (none: zero). */
static void
counters_of(const struct val *m, struct counters *c)
{
    const struct val *errors = val_get(m, "errors");

    c->scanned = val_get_int(m, "targetsScanned", 0);
    c->responded = val_get_int(m, "endpointsResponded", 0);
    for (size_t i = 0; i < END_N; i++)
        if (end_names[i] != NULL && errors != NULL)
            c->errors[i] = val_get_int(errors, end_names[i], 0);
}

static void
counters_add(struct counters *to, const struct counters *c)
{
    to->scanned += c->scanned;
    to->responded += c->responded;
    for (size_t i = 0; i < END_N; i++)
        to->errors[i] += c->errors[i];
}

/* A resumed run's distinct leaves, counted when it ends from its instances
 * (the memory of an earlier attempt is gone; its instances are not). */
static int
count_found(struct tx *tx, struct flush *fl)
{
    struct run   *r = fl->r;
    struct fval   v = { .t = FV_STR, .s = r->id };
    struct listq  q = { .scope = { r->ns, false },
                        .filter = filter_cmp(fl->a, "discoveryRunID", F_EQ, v),
                        .limit = 1000 };
    struct strmap ids;
    struct val    items;
    int           rc;

    strmap_init(&ids, fl->a);
    do {
        if ((rc = tx->ops->list(tx, &spec_certificateinstance, &q, fl->a, &items)) != E_OK)
            return rc;
        for (size_t i = 0; i < items.a.n; i++)
            strmap_put(&ids, val_get_str(&items.a.v[i], "certificateID"), r);
        q.offset += 1000;
    } while (items.a.n == 1000);
    r->found_leaves = (int64_t)ids.n;
    return E_OK;
}

static int
flush_tx(struct tx *tx, void *arg)
{
    struct flush *fl = arg;
    struct run   *r = fl->r;
    struct val    run;
    int64_t       now = time_now_ms();
    int           rc = job_fence_tx(r->job, tx); /* still ours: nothing written else */

    if (rc == E_CONFLICT)
        r->canceled = true; /* another server took the run over and goes on with it */
    if (rc != E_OK)
        return rc;
    rc = tx->ops->find(tx, &spec_discoveryrun, NULL, "ID", r->id, fl->a, &run);
    if (rc == E_NOTFOUND) {
        r->canceled = true; /* deleted with its discovery: nothing more is kept */
        return E_OK;
    }
    if (rc == E_OK && !str_eq_c(val_get_str(&run, "status"), "RUNNING")) {
        r->canceled = true; /* canceled: what was found until now is kept */
        fl->final = NULL;
    }
    if (rc == E_OK && fl->found != NULL)
        rc = inv_batch_begin(tx, fl->a, r->ns, &fl->batch);
    if (rc != E_OK)
        return rc;
    for (const struct found *f = fl->found; f != NULL && rc == E_OK; f = f->next)
        rc = record_found(tx, fl, f, now);
    if (rc != E_OK || r->canceled || fl->partial)
        return rc;
    if (fl->final != NULL && r->resumed && (rc = count_found(tx, fl)) != E_OK)
        return rc;
    /* Clients see every pair done; a resume starts from the pairs done in
     * order, with their counters only, so that it counts nothing twice. */
    struct counters seen = r->stored, exact = r->stored;
    struct val      resume = val_map();
    counters_add(&seen, &fl->live);
    counters_add(&exact, &fl->done);
    counters_put(fl->a, &run, &seen);
    counters_put(fl->a, &resume, &exact);
    val_set(fl->a, &resume, "checkpoint", val_int((int64_t)fl->checkpoint));
    val_set(fl->a, &resume, "pairs", val_cstr(r->pairs_hash));
    val_set(fl->a, &run, "resume", resume);
    /* A resumed run sees again only the leaves past its checkpoint: until its
     * final count (count_found, exact), it shows no fewer than were shown. */
    int64_t found = fl->final != NULL || r->found_leaves > r->found_before ? r->found_leaves
                                                                           : r->found_before;
    val_set(fl->a, &run, "certificatesFound", val_int(found));
    val_set(fl->a, &run, "newCertificates", val_int(r->new_leaves));
    if (fl->final != NULL) {
        val_set(fl->a, &run, "status", val_cstr(fl->final));
        val_set(fl->a, &run, "endTime", val_time(fl->a, now));
        if (r->eb.code != E_OK)
            val_set(fl->a, &run, "failureReason", val_cstr(r->eb.msg));
    }
    /* Status and progress are the server's (API.md 6): updateTime stays, so
     * that a client's cancel, or any PUT sent with the run as it read it,
     * never loses a race with them. */
    return tx->ops->update(tx, &spec_discoveryrun, &run, NULL);
}

/* ---- the sweep: what this run did not see turns MISSING -------------------------- */

struct sweep {
    struct run   *r;
    struct arena *a;
    size_t        marked; /* by the last transaction */
};

/* Up to discovery_sweep_batch instances of this discovery that this run did
 * not see (the last run that saw them is another: exact, whatever the clocks
 * say) turn MISSING, in a transaction of their own, fenced by the run's lease
 * and only while the run is RUNNING. The oldest first, from the index on
 * (discoveryID, status, lastSeen): those marked leave it, those this run saw
 * come last, so that a batch reads little more than it marks. */
static int
sweep_tx(struct tx *tx, void *arg)
{
    struct sweep *sw = arg;
    struct run   *r = sw->r;
    struct arena *a = sw->a;
    struct val    run, items;
    struct fval d = { .t = FV_STR, .s = r->disc_id }, act = { .t = FV_STR, .s = STR("ACTIVE") };
    struct fval seen = { .t = FV_STR, .s = r->id };
    struct order_key oldest = { spec_attr(&spec_certificateinstance, STR("lastSeen")), false };
    struct listq     q = {
            .scope = { r->ns, false },
            .filter = filter_bool(a, F_AND, filter_cmp(a, "discoveryID", F_EQ, d),
                                  filter_bool(a, F_AND, filter_cmp(a, "status", F_EQ, act),
                                              filter_cmp(a, "discoveryRunID", F_NE, seen))),
            .order = &oldest,
            .norder = 1,
            .limit = cfg.discovery_sweep_batch,
    };
    int rc = job_fence_tx(r->job, tx);

    sw->marked = 0;
    if (rc == E_CONFLICT)
        r->canceled = true; /* another server took the run over: it sweeps */
    if (rc != E_OK)
        return rc;
    rc = tx->ops->find(tx, &spec_discoveryrun, NULL, "ID", r->id, a, &run);
    if (rc == E_NOTFOUND || (rc == E_OK && !str_eq_c(val_get_str(&run, "status"), "RUNNING"))) {
        r->canceled = true; /* deleted, or canceled: what was marked stays */
        return E_OK;
    }
    if (rc != E_OK ||
        (rc = tx->ops->list(tx, &spec_certificateinstance, &q, a, &items)) != E_OK)
        return rc;
    for (size_t i = 0; i < items.a.n && rc == E_OK; i++) {
        val_set(a, &items.a.v[i], "status", val_cstr("MISSING"));
        rc = tx->ops->update(tx, &spec_certificateinstance, &items.a.v[i], NULL);
    }
    if (rc == E_OK)
        sw->marked = items.a.n;
    return rc;
}

/* Every instance this run did not see turns MISSING, discovery_sweep_batch
 * per transaction (the sweep of a /16, or of pairs with many server names, was
 * one transaction at the end of the run, and every tenant's writes waited
 * behind it: 1.5 s for 16,640 instances, a black-box review), before the run
 * is marked SUCCEEDED: a run is RUNNING while it sweeps, so no other run of
 * the discovery marks instances meanwhile. A server that stops (or dies)
 * mid-sweep leaves the run RUNNING with its checkpoint past every pair: its
 * resume probes nothing and sweeps what is left, the same query finding the
 * same rows. */
static int
sweep_missing(struct run *r)
{
    struct sweep sw = { .r = r, .a = arena_new(64 * 1024) };
    int64_t      marked = 0, batches = 0;
    int          rc = E_OK;

    if (sw.a == NULL)
        return E_INTERNAL;
    do {
        if (job_canceled(r->job)) {
            rc = E_UNAVAILABLE; /* the resume sweeps the rest */
            break;
        }
        int64_t t0 = time_mono_ms();
        rc = store_run(r->job->st, sweep_tx, &sw);
        r->write_ms += time_mono_ms() - t0;
        marked += (int64_t)sw.marked;
        batches++;
        arena_reset(sw.a);
    } while (rc == E_OK && !r->canceled && (int64_t)sw.marked == cfg.discovery_sweep_batch);
    arena_free(sw.a);
    log_debug("discovery run %.*s: %lld instances MISSING in %lld transactions", STR_FMT(r->id),
              (long long)marked, (long long)batches);
    return rc;
}

static int
finish_tx(struct tx *tx, void *arg)
{
    struct flush *fl = arg;
    struct run   *r = fl->r;
    int           rc = flush_tx(tx, arg);
    struct val    run;

    if (rc != E_OK || r->canceled || !str_eq_c(str_c(fl->final), "SUCCEEDED"))
        return rc;
    if ((rc = tx->ops->find(tx, &spec_discoveryrun, NULL, "ID", r->id, fl->a, &run)) != E_OK)
        return rc;
    return webhook_emit(tx, fl->a, r->ns, "discovery.finished", &run, "discoveryRun", &r->eb);
}

/* Distinct leaves seen (counted up to CACHE_MAX * 16 of them). */
static void
count_leaf(struct run *r, const struct found *f)
{
    char fp[2 * SHA256_LEN + 1];

    if (f->nchain == 0 || r->leaves.n >= CACHE_MAX * 16)
        return;
    digest_sha256_hex(f->der[0], f->der_len[0], fp);
    if (strmap_get(&r->leaves, str_c(fp)) == NULL) {
        strmap_put(&r->leaves, str_c(fp), r);
        r->found_leaves++;
    }
}

/* The first BATCH_MAX of *list, cut off it. */
static struct found *
cut_batch(struct found **list)
{
    struct found *batch = *list, **cut = list;
    size_t        n = 0;

    while (*cut != NULL && n++ < BATCH_MAX)
        cut = &(*cut)->next;
    *list = *cut;
    *cut = NULL;
    return batch;
}

/* Take what the scanner has found so far and write it, BATCH_MAX handshakes
 * per transaction (the writer serves everyone); the counters and the
 * checkpoint go with the last. */
static int
flush(struct run *r, const char *final)
{
    struct flush  fl = { .r = r, .a = arena_new(64 * 1024) };
    struct found *all;
    int           rc = E_OK;

    if (fl.a == NULL)
        return E_INTERNAL;
    pthread_mutex_lock(&r->mu);
    all = r->found;
    r->found = NULL;
    r->found_tail = &r->found;
    r->nfound = 0;
    fl.done = r->done;
    fl.live = r->live;
    fl.checkpoint = r->checkpoint;
    pthread_mutex_unlock(&r->mu);
    do {
        fl.found = cut_batch(&all);
        fl.partial = all != NULL;
        fl.final = fl.partial ? NULL : final;
        for (struct found *f = fl.found; f != NULL; f = f->next) {
            prepare_found(r, fl.a, f);
            count_leaf(r, f);
        }
        int64_t t0 = time_mono_ms();
        rc = store_run(r->job->st, fl.final != NULL ? finish_tx : flush_tx, &fl);
        r->write_ms += time_mono_ms() - t0;
        found_free(fl.found);
        arena_reset(fl.a);
    } while (rc == E_OK && all != NULL && !r->canceled);
    found_free(all);
    arena_free(fl.a);
    if (r->canceled)
        atomic_store(&r->stop, true);
    return rc;
}

/* ---- the job ------------------------------------------------------------------- */

static void
add_address(struct names *nm, const struct sockaddr *sa)
{
    unsigned char ip[16] = { 0 };

    if (sa->sa_family == AF_INET) {
        ip[10] = ip[11] = 0xff;
        memcpy(ip + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6)
        memcpy(ip, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
    else
        return;
    for (size_t i = 0; i < nm->n; i++)
        if (memcmp(nm->addr[i], ip, 16) == 0)
            return;
    if (nm->n < NAME_ADDRS_MAX)
        memcpy(nm->addr[nm->n++], ip, 16);
}

/* While names resolve (each may take seconds): whether the run was canceled
 * or deleted meanwhile (r->canceled), read at most every RESOLVE_CHECK_MS -
 * the writer sees it only at its first batch, after the resolution, and a
 * canceled run of 4,096 names that do not resolve held a discovery worker for
 * minutes (a black-box review). */
#define RESOLVE_CHECK_MS 250

static void
check_canceled(struct run *r, int64_t *last_ms)
{
    struct arena *a;
    struct val    run;
    struct errbuf eb = { 0 };
    int           rc;

    if (time_mono_ms() - *last_ms < RESOLVE_CHECK_MS)
        return;
    *last_ms = time_mono_ms();
    a = arena_new(4096);
    rc = r->job->st->ops->find(r->job->st, &spec_discoveryrun, NULL, "ID", r->id, a, &run, &eb);
    if (rc == E_NOTFOUND || (rc == E_OK && !str_eq_c(val_get_str(&run, "status"), "RUNNING")))
        r->canceled = true;
    arena_free(a);
}

/* The addresses of the host name targets from target `first` on (none when
 * a name does not resolve). */
static void
resolve_names(struct run *r, size_t first)
{
    /* No AI_ADDRCONFIG: a name's IPv6 addresses are tried even where only loopback
     * has IPv6 (a pair counts by its best probe). */
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
    int64_t         checked = time_mono_ms();

    r->names = arena_calloc(r->a, r->ts.ntargets ? r->ts.ntargets : 1, sizeof *r->names);
    for (size_t i = first; i < r->ts.ntargets && !job_canceled(r->job) && !r->canceled; i++) {
        struct addrinfo *res = NULL;
        check_canceled(r, &checked);
        if (!r->ts.targets[i].is_name)
            continue;
        r->names[i].addr = arena_calloc(r->a, NAME_ADDRS_MAX, 16);
        if (getaddrinfo(r->ts.targets[i].name, NULL, &hints, &res) != 0)
            continue;
        for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
            add_address(&r->names[i], ai->ai_addr);
        freeaddrinfo(res);
    }
}

static void
server_names(struct run *r)
{
    const struct val *l = val_get(&r->disc, "serverNames");

    r->nsnis = l != NULL && l->t == V_ARR ? l->a.n : 0;
    r->snis = arena_calloc(r->a, r->nsnis ? r->nsnis : 1, sizeof *r->snis);
    r->probe_snis = arena_calloc(r->a, 1 + r->nsnis, sizeof *r->probe_snis);
    size_t n = 0;
    for (size_t i = 0; i < r->nsnis; i++) {
        char *name = arena_strndup(r->a, l->a.v[i].s.p, l->a.v[i].s.len);
        for (char *c = name; *c != '\0'; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp(r->snis[k], name) == 0;
        if (!seen)
            r->snis[n++] = name; /* SNI names are case-insensitive: one probe each */
    }
    r->nsnis = n;
}

/* What a checkpoint is a position in: the discovery's targets, excludes and
 * ports as this run reads them. */
static void
pairs_hash(struct run *r)
{
    static const char *const lists[] = { "targets", "excludes", "ports" };
    struct str               parts[3 * 2];
    size_t                   n = 0;

    for (size_t i = 0; i < ARRAY_LEN(lists); i++) {
        struct buf        b = { 0 };
        const struct val *l = val_get(&r->disc, lists[i]);
        for (size_t k = 0; l != NULL && l->t == V_ARR && k < l->a.n; k++) {
            buf_append(&b, l->a.v[k].s.p, l->a.v[k].s.len);
            buf_append(&b, "\n", 1);
        }
        parts[n++] = str_c(lists[i]);
        parts[n++] = (struct str){ arena_strndup(r->a, b.p ? b.p : "", b.len), b.len };
        buf_free(&b);
    }
    unsigned char d[SHA256_LEN];
    digest_sha256_parts(parts, n, d);
    hex_encode(d, sizeof d, r->pairs_hash);
}

/* Mark the run RUNNING (when it was QUEUED: its startTime too). */
static int
begin_tx(struct tx *tx, void *arg)
{
    struct run *r = arg;
    struct val  run;
    int         rc = job_fence_tx(r->job, tx);

    if (rc == E_OK)
        rc = tx->ops->find(tx, &spec_discoveryrun, NULL, "ID", r->id, r->a, &run);
    if (rc != E_OK)
        return rc;
    if (!str_eq_c(val_get_str(&run, "status"), "QUEUED") &&
        !str_eq_c(val_get_str(&run, "status"), "RUNNING"))
        return E_CONFLICT; /* canceled while queued */
    int64_t now = time_now_ms();
    if (str_eq_c(val_get_str(&run, "status"), "QUEUED")) {
        val_set(r->a, &run, "status", val_cstr("RUNNING"));
        val_set(r->a, &run, "startTime", val_time(r->a, now)); /* updateTime stays */
        if ((rc = tx->ops->update(tx, &spec_discoveryrun, &run, NULL)) != E_OK)
            return rc;
    }
    r->obj = run;
    return E_OK;
}

/* The run and its discovery, read; E_CONFLICT when it has ended or is gone. */
static int
load(struct run *r)
{
    struct scope sc;
    int          rc = store_run(r->job->st, begin_tx, r);

    if (rc != E_OK)
        return rc == E_NOTFOUND ? E_CONFLICT : rc;
    r->ns = val_get_str(&r->obj, "namespace");
    r->disc_id = val_get_str(&r->obj, "discoveryID");
    sc = (struct scope){ r->ns, false };
    rc = r->job->st->ops->find(r->job->st, &spec_discovery, &sc, "ID", r->disc_id, r->a,
                               &r->disc, &r->eb);
    if (rc == E_NOTFOUND)
        return errbuf_set(&r->eb, E_NOTFOUND, "the discovery was deleted");
    return rc;
}

/* The run's turn is over once it has scanned for discovery_slice and another
 * job of the discovery workers has waited for one since (job_others_waiting:
 * on any server sharing the store), looked for at most every TURN_CHECK_MS.
 * Alone, a run keeps its worker to the end. */
#define TURN_CHECK_MS 250

static void
check_turn(struct run *r)
{
    int64_t now = time_mono_ms();

    if (atomic_load(&r->turn_over) || now - r->began_ms < cfg.discovery_slice ||
        now - r->turn_checked < TURN_CHECK_MS)
        return;
    r->turn_checked = now;
    if (job_others_waiting(r->job)) {
        atomic_store(&r->turn_over, true);
        log_debug("discovery run %.*s: its turn is over, others wait", STR_FMT(r->id));
    }
}

/* Scan until the scanner is done or stopped, writing every FLUSH_MS. */
static int
scan_and_write(struct run *r)
{
    pthread_t th;
    int       rc = E_OK;

    if (pthread_create(&th, NULL, scanner_main, r) != 0)
        return errbuf_set(&r->eb, E_INTERNAL, "cannot start the scanner");
    for (bool over = false; !over;) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += FLUSH_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&r->mu);
        if (!r->scan_over && r->nfound < BATCH_MAX)
            pthread_cond_timedwait(&r->cv, &r->mu, &until);
        over = r->scan_over;
        pthread_mutex_unlock(&r->mu);
        if (job_canceled(r->job))
            atomic_store(&r->stop, true);
        if (!over && rc == E_OK && (rc = flush(r, NULL)) != E_OK)
            atomic_store(&r->stop, true);
        if (!over)
            check_turn(r);
        char progress[96];
        pthread_mutex_lock(&r->mu);
        snprintf(progress, sizeof progress, "%llu pairs done in order",
                 (unsigned long long)r->checkpoint);
        pthread_mutex_unlock(&r->mu);
        job_progress(r->job, progress);
    }
    pthread_join(th, NULL);
    return rc;
}

static int
fail_tx(struct tx *tx, void *arg)
{
    struct run *r = arg;
    struct val  run;
    int         rc = job_fence_tx(r->job, tx); /* a server that lost the run fails nothing */

    if (rc == E_OK)
        rc = tx->ops->find(tx, &spec_discoveryrun, NULL, "ID", r->id, r->a, &run);
    if (rc != E_OK || (!str_eq_c(val_get_str(&run, "status"), "RUNNING") &&
                       !str_eq_c(val_get_str(&run, "status"), "QUEUED")))
        return rc == E_NOTFOUND ? E_OK : rc;
    int64_t now = time_now_ms();
    val_set(r->a, &run, "status", val_cstr("FAILED"));
    val_set(r->a, &run, "failureReason", val_cstr(r->eb.msg[0] ? r->eb.msg : "failed"));
    val_set(r->a, &run, "endTime", val_time(r->a, now)); /* updateTime stays */
    struct errbuf eb = { 0 };
    if ((rc = tx->ops->update(tx, &spec_discoveryrun, &run, NULL)) != E_OK)
        return rc;
    return webhook_emit(tx, r->a, val_get_str(&run, "namespace"), "discovery.finished", &run,
                        "discoveryRun", &eb);
}

static int
run_scan(struct run *r)
{
    int rc;

    if ((rc = discovery_targets(r->a, &r->disc, &r->ts, &r->eb)) != E_OK ||
        (rc = trust_open(r->job->st, r->ns, &r->trust, &r->eb)) != E_OK)
        return rc;
    server_names(r);
    allowed_load(&r->allowed);
    const struct val *resume = val_get(&r->obj, "resume");
    pairs_hash(r);
    if (resume != NULL && !str_eq_c(val_get_str(resume, "pairs"), r->pairs_hash))
        resume = NULL; /* the discovery's pairs changed since: its checkpoint means nothing */
    r->resumed = resume != NULL;
    counters_of(resume, &r->stored);
    r->found_leaves = 0;
    r->found_before = r->resumed ? val_get_int(&r->obj, "certificatesFound", 0) : 0;
    r->new_leaves = val_get_int(&r->obj, "newCertificates", 0);
    r->checkpoint = (uint64_t)val_get_int(resume, "checkpoint", 0);
    r->base = r->next_seq = r->resumed_at = r->checkpoint;
    target_cursor_init(&r->cur, &r->ts, r->checkpoint);
    /* The names of the targets the checkpoint has passed are not needed: a
     * run that takes many turns resolves each name for the turns that reach
     * it only. */
    resolve_names(r, r->cur.done ? r->ts.ntargets : r->cur.ti);
    if (job_canceled(r->job))
        return E_UNAVAILABLE; /* names not resolved yet are resolved at the resume */
    if (r->canceled)
        return E_OK; /* canceled (or deleted) while its names resolved: nothing to keep */
    r->began_ms = time_mono_ms(); /* a turn's slice is of scanning, names resolved */
    if ((rc = scan_and_write(r)) != E_OK)
        return rc;
    if (job_canceled(r->job)) {
        (void)flush(r, NULL); /* what was found is kept; the run resumes at the next start */
        return E_UNAVAILABLE;
    }
    if (r->scan_rc != E_OK)
        return r->scan_rc;
    if (r->window_oom)
        return errbuf_set(&r->eb, E_INTERNAL, "out of memory for the pairs in flight");
    if (r->eb.code != E_OK)
        return r->eb.code;
    if (atomic_load(&r->turn_over) && !r->cursor_done && !r->canceled) {
        /* Every pair started has ended: the checkpoint is all of them. */
        if ((rc = flush(r, NULL)) == E_OK && !r->canceled)
            job_yield(r->job);
        log_debug("discovery run %.*s: %llu pairs in its turn of %lld ms", STR_FMT(r->id),
                  (unsigned long long)(r->checkpoint - r->resumed_at),
                  (long long)(time_mono_ms() - r->began_ms));
        return rc;
    }
    /* Everything found and the checkpoint past every pair first, then the
     * sweep in batches, then the end: a crash in between resumes at the sweep. */
    rc = flush(r, NULL);
    if (rc == E_OK && !r->canceled)
        rc = sweep_missing(r);
    if (rc == E_OK && !r->canceled)
        rc = flush(r, "SUCCEEDED");
    log_info("discovery run %.*s: %llu pairs in %lld ms (%lld ms waiting for the store)",
             STR_FMT(r->id), (unsigned long long)(r->checkpoint - r->resumed_at),
             (long long)(time_mono_ms() - r->began_ms), (long long)r->write_ms);
    return rc;
}

static void
run_free(struct run *r)
{
    found_free(r->found);
    free(r->pending);
    free(r->end);
    trust_close(r->trust);
    arena_free(r->cache_a);
    arena_free(r->leaves_a);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
}

int
discovery_run_job(struct job_ctx *ctx)
{
    struct run r = { .job = ctx, .a = ctx->a, .id = ctx->payload };
    int        rc;

    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    r.found_tail = &r.found;
    r.cache_a = arena_new(256 * 1024);
    r.leaves_a = arena_new(256 * 1024);
    strmap_init(&r.cache, r.cache_a);
    strmap_init(&r.leaves, r.leaves_a);
    strmap_init(&r.born, r.leaves_a);
    if (ctx->kind->max_attempts > 0 && ctx->attempt >= ctx->kind->max_attempts)
        rc = errbuf_set(&r.eb, E_INTERNAL, "gave up after %lld attempts",
                        (long long)ctx->attempt); /* never left RUNNING */
    else if ((rc = load(&r)) == E_OK)
        rc = run_scan(&r);
    if (rc == E_CONFLICT)
        rc = E_OK; /* it had ended, or is gone */
    else if (rc != E_OK && rc != E_UNAVAILABLE) {
        log_warn("discovery run %.*s failed: %s", STR_FMT(r.id), r.eb.msg);
        rc = store_run(ctx->st, fail_tx, &r);
    }
    run_free(&r);
    return rc;
}
