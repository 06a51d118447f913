/* scanrun.c - one discovery run, as a job (API.md 7.5).
 *
 * Two threads. The scanner thread runs scan_run() (scan.h) over the run's
 * probes: every address-and-port pair from the checkpoint on, each tried
 * without a server name (or with the target's own host name) and with each
 * of the discovery's serverNames. It keeps, per pair, how many probes are
 * still out; a pair is done when the last one ends, and the checkpoint is
 * the number of pairs done in order (pairs end out of order: a silent host
 * holds the checkpoint back until its time-out). The job's thread takes what
 * the scanner found every FLUSH_MS and writes it (scanwrite.c): the
 * certificates, the instances, the run's counters (every pair done, so that
 * they move even while a silent host holds the checkpoint back) and its
 * `resume`: the checkpoint with the counters of the pairs before it only, so
 * that a resume from the checkpoint counts nothing twice. The same
 * transaction reads the run's status: a CANCELED (or deleted) run stops the
 * scanner.
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
#include "../core/log.h"
#include "../core/rnd.h"
#include "../notify/webhook.h"
#include "scanrun.h"

#define FLUSH_MS       100
#define NAME_ADDRS_MAX 16 /* addresses tried per host name */

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
    if (!netallow_has(&r->allowed, ip)) {
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

void
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
        if (!over && rc == E_OK && (rc = run_flush(r, NULL)) != E_OK)
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
    netallow_load(&r->allowed, cfg.discovery_allowed_networks);
    const struct val *resume = val_get(&r->obj, "resume");
    pairs_hash(r);
    if (resume != NULL && !str_eq_c(val_get_str(resume, "pairs"), r->pairs_hash))
        resume = NULL; /* the discovery's pairs changed since: its checkpoint means nothing */
    r->resumed = resume != NULL;
    run_counters_of(resume, &r->stored);
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
        (void)run_flush(r,
                        NULL); /* what was found is kept; the run resumes at the next start */
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
        if ((rc = run_flush(r, NULL)) == E_OK && !r->canceled)
            job_yield(r->job);
        log_debug("discovery run %.*s: %llu pairs in its turn of %lld ms", STR_FMT(r->id),
                  (unsigned long long)(r->checkpoint - r->resumed_at),
                  (long long)(time_mono_ms() - r->began_ms));
        return rc;
    }
    /* Everything found and the checkpoint past every pair first, then the
     * sweep in batches, then the end: a crash in between resumes at the sweep. */
    rc = run_flush(r, NULL);
    if (rc == E_OK && !r->canceled)
        rc = run_sweep_missing(r);
    if (rc == E_OK && !r->canceled)
        rc = run_flush(r, "SUCCEEDED");
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
