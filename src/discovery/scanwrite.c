/* scanwrite.c - what a discovery run found, written (API.md 7.5): the
 * certificates into the inventory, deduplicated by fingerprint before they
 * are parsed, the instances, the run's counters and checkpoint, BATCH_MAX
 * handshakes per transaction; and at the end the sweep, in which what this
 * run did not see turns MISSING. The run's own thread calls these
 * (scanrun.c); the store's one writer only writes. */
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../notify/webhook.h"
#include "../store/filter.h"
#include "scanrun.h"

const char *const end_names[END_N] = {
    NULL,           "REFUSED",          "TIMEOUT",
    "UNREACHABLE",  "HANDSHAKE_FAILED", "ERROR",
    "NOT_RESOLVED", "NOT_ALLOWED",      NULL /* excluded addresses are not errors */,
    "EXCLUDED", /* but a name asked for that is not scanned at all is told */
};

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
void
run_counters_of(const struct val *m, struct counters *c)
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
int
run_sweep_missing(struct run *r)
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
int
run_flush(struct run *r, const char *final)
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
