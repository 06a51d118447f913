/* public.c - the routes relying parties read without a token, under
 * /pki/:caID/ (API.md 7.4): ca.pem, ca.crt, crl and the OCSP responder.
 *
 * What is signed is kept in memory per CA (struct castate) and signed again
 * only when it goes stale or a revocation of that CA commits (the store's
 * observer bumps the CA's generation before the revoking client is
 * answered): the CRL, and the OCSP answer of each serial asked about (RFC
 * 5019: pre-signed, the nonce ignored). A flood of queries therefore costs no
 * signatures, except for serials never seen: those cost one each, at most
 * UNKNOWN_PER_S a second in the whole process; beyond it the answer is the
 * unsigned tryLater. A request naming several certificates (up to
 * PKI_OCSP_CERTIDS_MAX) gets one answer signed afresh with a SingleResponse
 * for each (RFC 6960 4.2.2.3), not kept: at most MANY_PER_S such a second,
 * then tryLater too. Each process signs with its own delegated OCSP responder
 * (status.h), whose key never leaves its memory. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "../core/digest.h"
#include "../core/log.h"
#include "../core/rnd.h"
#include "../core/timeutil.h"
#include "../inventory/certparse.h"
#include "../inventory/inventory.h"
#include "../pki/status.h"
#include "../store/filter.h"
#include "issuance.h"
#include "local.h"

#define OCSP_ENTRIES   8192                 /* signed answers kept per CA (~1 MB) */
#define OCSP_VALID_MS  (4 * 3600 * 1000LL)  /* nextUpdate - thisUpdate */
#define OCSP_FRESH_MS  (1 * 3600 * 1000LL)  /* signed again after */
#define CRL_VALID_MS   (24 * 3600 * 1000LL) /* nextUpdate - thisUpdate */
#define CRL_FRESH_MS   (1 * 3600 * 1000LL)
#define RESPONDER_DAYS 7 /* a responder certificate's life; replaced at half */
#define UNKNOWN_PER_S  100
#define MANY_PER_S     100  /* fresh answers to requests of several CertIDs */
#define OCSP_MAX_AGE_S 3600 /* Cache-Control max-age, never beyond nextUpdate */
#define OCSP_REQ_MAX   (16 * 1024)

/* A signed answer, by the query's hash algorithm and serial ("64:0a1b..."):
 * the answer echoes the CertID as asked. */
#define KEY_MAX (PKI_SERIAL_HEX + 16)
struct ocsp_entry {
    char           key[KEY_MAX];
    uint64_t       gen;
    int64_t        signed_ms, next_ms; /* its thisUpdate and nextUpdate */
    unsigned char *der;
    size_t         len;
};

/* What one CA's public answers are made of. */
struct castate {
    char                  id[ID_LEN + 1];
    pthread_mutex_t       mu;     /* the OCSP half */
    pthread_mutex_t       crl_mu; /* the CRL half: a long build holds no OCSP answer up */
    uint64_t              gen;    /* bumped by each revocation of this CA */
    struct buf            crl;
    uint64_t              crl_gen, crl_number;
    int64_t               crl_built_ms;
    struct pki_responder *responder;
    struct ocsp_entry    *entries; /* open addressing by serial */
    size_t                nentries;
};

/* Answers signed, this second, in the whole process: a budget. */
struct budget {
    pthread_mutex_t mu;
    int64_t         second;
    int             signed_n;
    int             per_s;
};
static struct budget unknown = { .mu = PTHREAD_MUTEX_INITIALIZER, .per_s = UNKNOWN_PER_S };
static struct budget many = { .mu = PTHREAD_MUTEX_INITIALIZER, .per_s = MANY_PER_S };

/* Every CA answered for since the start, by ID; a state is never freed (a
 * pointer to it stays valid without a reference count), the table grows. */
static struct castate **states;
static size_t           nstates, capstates;
static pthread_mutex_t  states_mu = PTHREAD_MUTEX_INITIALIZER;

/* ---- the per-CA state ---------------------------------------------------------- */

static struct castate *
state_new(struct str id)
{
    struct castate *st;

    if (nstates == capstates) {
        size_t           cap = capstates == 0 ? 64 : 2 * capstates;
        struct castate **more = realloc(states, cap * sizeof *more);
        if (more == NULL)
            return NULL;
        states = more;
        capstates = cap;
    }
    if ((st = calloc(1, sizeof *st)) == NULL)
        return NULL;
    memcpy(st->id, id.p, ID_LEN);
    pthread_mutex_init(&st->mu, NULL);
    pthread_mutex_init(&st->crl_mu, NULL);
    buf_init(&st->crl, SIZE_MAX / 2);
    states[nstates++] = st;
    return st;
}

/* The state of CA `id` (which exists: the caller read it), made on first
 * use; NULL only when out of memory. */
static struct castate *
state_of(struct str id)
{
    struct castate *st = NULL;

    if (id.len != ID_LEN)
        return NULL;
    pthread_mutex_lock(&states_mu);
    for (size_t i = 0; i < nstates && st == NULL; i++)
        if (str_eq_c(id, states[i]->id))
            st = states[i];
    if (st == NULL)
        st = state_new(id);
    pthread_mutex_unlock(&states_mu);
    return st;
}

/* A revocation of CA `id` committed (STR_NULL: of any CA, on another
 * server): what its state has signed is stale. */
static void
state_bump(struct str id)
{
    pthread_mutex_lock(&states_mu);
    for (size_t i = 0; i < nstates; i++)
        if (id.p == NULL || str_eq_c(id, states[i]->id))
            __atomic_add_fetch(&states[i]->gen, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&states_mu);
}

/* The store's observer: a revocation committed. */
static void
on_commit(const struct change *ch, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ch[i].reset)
            state_bump(STR_NULL);
        if (ch[i].s != &spec_revocation || ch[i].obj.t != V_MAP)
            continue;
        state_bump(val_get_str(&ch[i].obj, "certificateAuthorityID"));
    }
}

void
issuance_start(void)
{
    store_observe(on_commit);
}

/* ---- answers --------------------------------------------------------------------- */

static enum api_result
reply(struct req *r, const char *type, const void *p, size_t n, const char *cache)
{
    r->status = 200;
    r->raw_reply = true;
    r->reply_type = type;
    buf_init(&r->reply, SIZE_MAX / 2);
    /* HEAD too: its Content-Length is the GET's (RFC 9110 8.6); the HTTP
     * layer sends no body */
    if (buf_append(&r->reply, p, n) != E_OK) {
        api_fail(r, E_INTERNAL, "out of memory");
        r->raw_reply = false;
        return API_DONE;
    }
    if (cache != NULL)
        api_header(r, "Cache-Control", cache);
    return API_DONE;
}

static enum api_result
fail(struct req *r, const struct errbuf *eb)
{
    api_error(r, eb);
    return API_DONE;
}

/* The DER of the CA's certificate (its PEM's one block), read as the
 * inventory reads any PEM. */
static int
ca_der(struct arena *a, const struct val *ca, struct str *der)
{
    struct inv_blocks b;
    struct errbuf     eb = { 0 };

    if (inv_split(a, val_get_str(ca, "certificate"), false, &b, &eb) != E_OK || b.ok != 1)
        return E_INTERNAL;
    *der = (struct str){ (const char *)b.v[0].der, b.v[0].len };
    return E_OK;
}

/* ---- CRL -------------------------------------------------------------------------- */

/* Every revocation of the CA, through a cursor, into `out` (malloc). */
static int
revoked_of(struct arena *a, struct str ca_id, struct pki_revoked **out, size_t *n,
           struct errbuf *eb)
{
    struct fnode *f =
        filter_cmp(a, "certificateAuthorityID", F_EQ, (struct fval){ .t = FV_STR, .s = ca_id });
    const struct attr   *cols[] = { spec_attr(&spec_revocation, STR("serialNumber")),
                                    spec_attr(&spec_revocation, STR("revocationTime")),
                                    spec_attr(&spec_revocation, STR("reason")) };
    struct listq         q = { .scope = { STR("/"), true },
                               .filter = f,
                               .limit = -1,
                               .project = cols,
                               .nproject = ARRAY_LEN(cols) };
    struct store_cursor *cur = NULL;
    struct arena        *row_a = arena_new(4096); /* one row at a time */
    struct val           row;
    size_t               cap = 1024;
    int                  rc = E_OK;

    *n = 0;
    if (row_a == NULL)
        return errbuf_set(eb, E_INTERNAL, "out of memory");
    *out = malloc(cap * sizeof **out);
    if (*out == NULL || (rc = kw_store->ops->cursor_open(kw_store, &spec_revocation, &q, a,
                                                         &cur, NULL, eb)) != E_OK) {
        arena_free(row_a);
        return *out == NULL ? errbuf_set(eb, E_INTERNAL, "out of memory") : rc;
    }
    while (arena_reset(row_a), (rc = kw_store->ops->cursor_next(cur, row_a, &row)) == 1) {
        int64_t t = 0;
        if (*n == cap) {
            struct pki_revoked *more = realloc(*out, 2 * cap * sizeof **out);
            if (more == NULL)
                break;
            *out = more;
            cap *= 2;
        }
        struct str s = val_get_str(&row, "serialNumber");
        time_parse(val_get_str(&row, "revocationTime"), &t);
        (*out)[(*n)++] = (struct pki_revoked){
            .serial = arena_strndup(a, s.p, s.len),
            .time_ms = t,
            .reason = pki_reason_parse(val_cstr_of(row_a, &row, "reason")),
        };
        if ((*out)[*n - 1].reason < 0) /* checked when written: never, but never a 500 */
            (*out)[*n - 1].reason = PKI_REASON_UNSPECIFIED;
    }
    kw_store->ops->cursor_close(cur);
    arena_free(row_a);
    return rc == 0 ? E_OK : errbuf_set(eb, E_INTERNAL, "cannot read the revocations");
}

/* Sign a new CRL into st (crl_mu held). */
static int
crl_build(struct castate *st, const struct val *ca_obj, uint64_t gen, struct errbuf *eb)
{
    struct arena       *a = arena_new(64 * 1024);
    struct pki_revoked *v = NULL;
    const struct ca    *ca = NULL;
    size_t              n = 0;
    int64_t             now = 0;
    int                 rc = revoked_of(a, val_get_str(ca_obj, "ID"), &v, &n, eb);

    /* The store's clock, for thisUpdate and the number: a later CRL is
     * numbered higher and dated no earlier whichever server signs it (RFC
     * 5280 5.2.3), whatever the servers' own clocks say. */
    if (rc == E_OK && store_clock_ms(kw_store, &now) != E_OK)
        rc = errbuf_set(eb, E_UNAVAILABLE, "the store's clock cannot be read");
    if (rc == E_OK && (rc = cas_get(ca_obj, &ca, eb)) == E_OK) {
        uint64_t number = (uint64_t)now > st->crl_number ? (uint64_t)now : st->crl_number + 1;
        buf_reset(&st->crl);
        rc = pki_crl_build(ca, v, n, now, now + CRL_VALID_MS, number, &st->crl, eb);
        cas_put(ca);
        if (rc == E_OK) {
            st->crl_number = number;
            st->crl_gen = gen;
            st->crl_built_ms = time_now_ms();
        } else
            st->crl_built_ms = 0;
    }
    free(v);
    arena_free(a);
    return rc;
}

static bool
ca_expired(const struct val *ca_obj)
{
    int64_t end;

    return time_parse(val_get_str(ca_obj, "validityEnd"), &end) == E_OK && end <= time_now_ms();
}

/* An expired CA signs no new CRL (its key is not opened any more; every
 * certificate it issued has expired with it): the last one built, else 404. */
static enum api_result
serve_crl(struct req *r, struct castate *st, const struct val *ca_obj)
{
    struct errbuf eb = { 0 };
    uint64_t      gen = __atomic_load_n(&st->gen, __ATOMIC_ACQUIRE);
    int           rc = E_OK;

    pthread_mutex_lock(&st->crl_mu);
    if (ca_expired(ca_obj) && st->crl_built_ms == 0)
        rc = errbuf_set(&eb, E_NOTFOUND,
                        "The certificate authority has expired: it signs no new CRL");
    else if (!ca_expired(ca_obj) && (st->crl_built_ms == 0 || st->crl_gen != gen ||
                                     time_now_ms() - st->crl_built_ms > CRL_FRESH_MS))
        rc = crl_build(st, ca_obj, gen, &eb);
    if (rc == E_OK)
        reply(r, "application/pkix-crl", st->crl.p, st->crl.len, "max-age=60");
    pthread_mutex_unlock(&st->crl_mu);
    return rc == E_OK ? API_DONE : fail(r, &eb);
}

/* ---- OCSP ------------------------------------------------------------------------- */

static uint64_t
serial_hash(const char *s)
{
    return hash_fnv1a(s, strlen(s), 0);
}

/* The entry of `serial` (found, or the empty slot it goes into); the table
 * is cleared when three quarters full. st locked. */
static struct ocsp_entry *
entry_of(struct castate *st, const char *key)
{
    if (st->entries == NULL &&
        (st->entries = calloc(OCSP_ENTRIES, sizeof *st->entries)) == NULL)
        return NULL;
    if (st->nentries >= OCSP_ENTRIES / 4 * 3) {
        for (size_t i = 0; i < OCSP_ENTRIES; i++)
            free(st->entries[i].der);
        memset(st->entries, 0, OCSP_ENTRIES * sizeof *st->entries);
        st->nentries = 0;
    }
    for (size_t i = serial_hash(key) % OCSP_ENTRIES;; i = (i + 1) % OCSP_ENTRIES)
        if (st->entries[i].der == NULL || strcmp(st->entries[i].key, key) == 0)
            return &st->entries[i];
}

/* One point lookup: the object of `s` in any namespace whose `key` is id and
 * whose serialNumber is serial. */
static int
find_serial(struct arena *a, const struct spec *s, const char *key, struct str id,
            const char *serial, struct val *out)
{
    struct fnode *f = filter_bool(
        a, F_AND, filter_cmp(a, key, F_EQ, (struct fval){ .t = FV_STR, .s = id }),
        filter_cmp(a, "serialNumber", F_EQ, (struct fval){ .t = FV_STR, .s = str_c(serial) }));
    struct listq  q = { .scope = { STR("/"), true }, .filter = f, .limit = 1 };
    struct val    items = val_arr();
    struct errbuf eb = { 0 };
    int           rc = kw_store->ops->list(kw_store, s, &q, a, &items, NULL, &eb);

    if (rc == E_OK && items.a.n == 0)
        return E_NOTFOUND;
    if (rc == E_OK)
        *out = items.a.v[0];
    return rc;
}

/* What the store says of a serial of this CA: revoked, issued (a leaf's
 * request, an intermediate, or a certificate of the inventory it issued), or
 * unknown. Each is one look-up by index (serialNumber). */
static int
status_of(struct arena *a, struct str ca_id, const char *serial, enum pki_cert_status *st,
          int64_t *when, int *reason)
{
    struct val v;
    int rc = find_serial(a, &spec_revocation, "certificateAuthorityID", ca_id, serial, &v);

    if (rc == E_OK) {
        *st = PKI_STATUS_REVOKED;
        *reason = pki_reason_parse(val_cstr_of(a, &v, "reason"));
        return time_parse(val_get_str(&v, "revocationTime"), when);
    }
    if (rc == E_NOTFOUND)
        rc = find_serial(a, &spec_certificaterequest, "certificateAuthorityID", ca_id, serial,
                         &v);
    if (rc == E_NOTFOUND)
        rc = find_serial(a, &spec_certificateauthority, "parentID", ca_id, serial, &v);
    /* an intermediate whose CA object was deleted keeps its certificate in the
     * inventory: still this CA's, good until revoked (a review saw unknown) */
    if (rc == E_NOTFOUND)
        rc = find_serial(a, &spec_certificate, "certificateAuthorityID", ca_id, serial, &v);
    *st = rc == E_OK ? PKI_STATUS_GOOD : PKI_STATUS_UNKNOWN;
    return rc == E_NOTFOUND ? E_OK : rc;
}

/* A signature that no kept answer spares (a serial never seen, a request of
 * several CertIDs) costs one of the budget's this second, whatever CA it is
 * for. */
static bool
budget_take(struct budget *b, int64_t now)
{
    bool ok;

    pthread_mutex_lock(&b->mu);
    if (now / 1000 != b->second) {
        b->second = now / 1000;
        b->signed_n = 0;
    }
    ok = b->signed_n++ < b->per_s;
    pthread_mutex_unlock(&b->mu);
    return ok;
}

static int
responder_ready(struct castate *st, const struct val *ca_obj, int64_t now, struct errbuf *eb)
{
    const struct ca *ca;
    int64_t          end, life = RESPONDER_DAYS * 86400000LL;
    int              rc;

    if (st->responder != NULL && pki_responder_not_after(st->responder) - now > life / 2)
        return E_OK;
    if (time_parse(val_get_str(ca_obj, "validityEnd"), &end) != E_OK)
        return errbuf_set(eb, E_INTERNAL, "unreadable CA validity");
    if (end <= now) /* no responder certificate can be valid now: unauthorized */
        return errbuf_set(eb, E_FORBIDDEN, "the certificate authority has expired");
    if ((rc = cas_get(ca_obj, &ca, eb)) != E_OK)
        return rc;
    struct pki_responder *fresh = NULL;
    rc = pki_responder_new(ca, now, now + life < end ? now + life : end, &fresh, eb);
    cas_put(ca);
    if (rc == E_OK) {
        pki_responder_free(st->responder);
        st->responder = fresh;
    }
    return rc;
}

/* An answer signed now is good until OCSP_VALID_MS later, but never past its
 * responder's certificate (clipped to the CA's own end): a cache keeping it
 * until its nextUpdate could not verify it after that. st locked. */
static int64_t
answer_until(const struct castate *st, int64_t now)
{
    int64_t end = pki_responder_not_after(st->responder);

    return now + OCSP_VALID_MS < end ? now + OCSP_VALID_MS : end;
}

/* Sign the answer for q into e (key: its key in the table; NULL for a
 * query about another CA, answered unknown). st locked. */
static int
ocsp_sign_entry(struct castate *st, struct arena *a, const struct val *ca_obj,
                const struct pki_ocsp_query *q, const char *key, uint64_t gen,
                struct ocsp_entry *e, struct errbuf *eb)
{
    enum pki_cert_status cs = PKI_STATUS_UNKNOWN;
    int64_t              when = 0, now = time_now_ms();
    int                  reason = 0, rc = E_OK;
    struct buf           der;

    if (key != NULL &&
        (rc = status_of(a, val_get_str(ca_obj, "ID"), q->serial, &cs, &when, &reason)) != E_OK)
        return errbuf_set(eb, rc, "store error");
    if (cs == PKI_STATUS_UNKNOWN && e->der == NULL && !budget_take(&unknown, now))
        return errbuf_set(eb, E_UNAVAILABLE, "too many unknown serials");
    if ((rc = responder_ready(st, ca_obj, now, eb)) != E_OK)
        return rc;
    buf_init(&der, 64 * 1024);
    rc =
        pki_ocsp_sign(st->responder, q, cs, when, reason, now, answer_until(st, now), &der, eb);
    if (rc == E_OK) {
        if (e->der == NULL && key != NULL)
            st->nentries++;
        free(e->der);
        snprintf(e->key, sizeof e->key, "%s", key != NULL ? key : "");
        e->der = (unsigned char *)der.p; /* the entry owns it now */
        e->len = der.len;
        e->gen = gen;
        e->signed_ms = now;
        e->next_ms = answer_until(st, now);
    } else
        buf_free(&der);
    return rc;
}

/* A signed answer, signed at signed_ms (its thisUpdate; next_ms its
 * nextUpdate), with what HTTP caches read (RFC 5019 6.2):
 * Last-Modified the thisUpdate, Expires the nextUpdate, an ETag of its bytes,
 * and a max-age that passes neither the nextUpdate nor OCSP_MAX_AGE_S. */
static enum api_result
ocsp_reply(struct req *r, const unsigned char *der, size_t len, int64_t signed_ms, int64_t next)
{
    int64_t age = (next - time_now_ms()) / 1000;
    char    tag[2 * SHA256_LEN + 1], last[TIME_HTTP_LEN + 1], expires[TIME_HTTP_LEN + 1];

    age = age < 0 ? 0 : age > OCSP_MAX_AGE_S ? OCSP_MAX_AGE_S : age;
    digest_sha256_hex(der, len, tag);
    time_format_http(signed_ms, last);
    time_format_http(next, expires);
    reply(r, "application/ocsp-response", der, len,
          arena_printf(r->a, "max-age=%lld, public, no-transform, must-revalidate",
                       (long long)age));
    api_header(r, "Last-Modified", arena_strndup(r->a, last, TIME_HTTP_LEN));
    api_header(r, "Expires", arena_strndup(r->a, expires, TIME_HTTP_LEN));
    api_header(r, "ETag", arena_printf(r->a, "\"%s\"", tag));
    return API_DONE;
}

static enum api_result
ocsp_error(struct req *r, int status)
{
    struct str d = pki_ocsp_error(status);

    return reply(r, "application/ocsp-response", d.p, d.len, NULL);
}

static enum api_result
ocsp_answered(struct req *r, int rc, const struct errbuf *eb)
{
    if (rc == E_UNAVAILABLE)
        return ocsp_error(r, 3); /* tryLater */
    if (rc == E_FORBIDDEN) {     /* an expired CA: no answer of it could verify */
        log_info("trace=%s ocsp: %s", r->trace, eb->msg);
        return ocsp_error(r, 6); /* unauthorized */
    }
    if (rc != E_OK) {
        log_error("trace=%s ocsp: %s", r->trace, eb->msg);
        return ocsp_error(r, 2); /* internalError */
    }
    return API_DONE;
}

/* A query about this CA: the kept answer, signed again when it went stale or
 * the CA revoked something since. */
static enum api_result
ocsp_answer(struct req *r, struct castate *st, const struct val *ca_obj,
            const struct pki_ocsp_query *q)
{
    struct errbuf eb = { 0 };
    uint64_t      gen = __atomic_load_n(&st->gen, __ATOMIC_ACQUIRE);
    char          key[KEY_MAX];
    int           rc = E_OK;

    snprintf(key, sizeof key, "%d:%s", q->hash_nid, q->serial);
    pthread_mutex_lock(&st->mu);
    struct ocsp_entry *e = entry_of(st, key);
    if (e == NULL)
        rc = errbuf_set(&eb, E_INTERNAL, "out of memory");
    else if (e->der == NULL || e->gen != gen || time_now_ms() - e->signed_ms > OCSP_FRESH_MS ||
             time_now_ms() >= e->next_ms)
        rc = ocsp_sign_entry(st, r->a, ca_obj, q, key, gen, e, &eb);
    if (rc == E_OK)
        ocsp_reply(r, e->der, e->len, e->signed_ms, e->next_ms);
    pthread_mutex_unlock(&st->mu);
    return ocsp_answered(r, rc, &eb);
}

/* A query about a certificate of another CA: unknown, signed (within the
 * budget of unknown serials), not kept. */
static enum api_result
ocsp_unknown(struct req *r, struct castate *st, const struct val *ca_obj,
             const struct pki_ocsp_query *q)
{
    struct errbuf     eb = { 0 };
    struct ocsp_entry e = { 0 };
    int               rc;

    pthread_mutex_lock(&st->mu);
    rc = ocsp_sign_entry(st, r->a, ca_obj, q, NULL, 0, &e, &eb);
    pthread_mutex_unlock(&st->mu);
    if (rc == E_OK)
        ocsp_reply(r, e.der, e.len, e.signed_ms, e.next_ms);
    free(e.der);
    return ocsp_answered(r, rc, &eb);
}

/* The request: a POST body, or base64 in the URL after ".../ocsp/". */
static bool
ocsp_request_der(struct req *r, struct str tail, struct str *der)
{
    if (r->method == M_POST) {
        *der = buf_str(&r->body);
        return der->len > 0 && der->len <= OCSP_REQ_MAX;
    }
    if (tail.len == 0 || tail.len > OCSP_REQ_MAX)
        return false;
    unsigned char *out = arena_alloc(r->a, tail.len / 4 * 3 + 4);
    long           n = b64_decode(tail.p, tail.len, out);
    *der = (struct str){ (const char *)out, n > 0 ? (size_t)n : 0 };
    return n > 0;
}

/* A request naming several certificates: one answer with a SingleResponse
 * for each (RFC 6960 4.2.2.3), each saying what a query of that certificate
 * alone would be answered (unknown for another CA's), signed now by the same
 * responder, not kept; within the budget of such answers. */
static enum api_result
ocsp_many(struct req *r, struct castate *st, const struct val *ca_obj,
          const struct pki_ocsp_request *q, const bool *ours)
{
    struct pki_ocsp_single v[PKI_OCSP_CERTIDS_MAX];
    struct errbuf          eb = { 0 };
    struct buf             der;
    int64_t                now = time_now_ms();
    int                    rc = E_OK;

    if (!budget_take(&many, now))
        return ocsp_answered(r, errbuf_set(&eb, E_UNAVAILABLE, "too many requests"), &eb);
    for (size_t i = 0; i < q->n && rc == E_OK; i++) {
        v[i] = (struct pki_ocsp_single){ .q = &q->q[i], .st = PKI_STATUS_UNKNOWN };
        if (ours[i] && (rc = status_of(r->a, val_get_str(ca_obj, "ID"), q->q[i].serial,
                                       &v[i].st, &v[i].revoked_ms, &v[i].reason)) != E_OK)
            errbuf_set(&eb, rc, "store error");
    }
    buf_init(&der, 64 * 1024);
    int64_t until = now;
    if (rc == E_OK) {
        pthread_mutex_lock(&st->mu); /* the responder may be replaced */
        if ((rc = responder_ready(st, ca_obj, now, &eb)) == E_OK) {
            until = answer_until(st, now);
            rc = pki_ocsp_sign_many(st->responder, v, q->n, now, until, &der, &eb);
        }
        pthread_mutex_unlock(&st->mu);
    }
    if (rc == E_OK)
        ocsp_reply(r, (const unsigned char *)der.p, der.len, now, until);
    buf_free(&der);
    return ocsp_answered(r, rc, &eb);
}

static enum api_result
serve_ocsp(struct req *r, struct castate *st, const struct val *ca_obj, struct str tail)
{
    struct pki_ocsp_request *q = arena_alloc(r->a, sizeof *q);
    struct errbuf            eb = { 0 };
    struct str               der;
    const struct ca         *ca = NULL;
    bool                     ours[PKI_OCSP_CERTIDS_MAX];
    enum api_result          res;

    if (q == NULL)
        return ocsp_error(r, 2); /* internalError */
    if (!ocsp_request_der(r, tail, &der) ||
        pki_ocsp_request_read((const unsigned char *)der.p, der.len, q, &eb) != E_OK)
        return ocsp_error(r, 1); /* malformedRequest */
    if (ca_expired(ca_obj)) {    /* no answer of it could verify; its CRL goes on */
        pki_ocsp_request_free(q);
        return ocsp_answered(r, errbuf_set(&eb, E_FORBIDDEN, "the CA has expired"), &eb);
    }
    if (cas_get(ca_obj, &ca, &eb) != E_OK) {
        pki_ocsp_request_free(q);
        return ocsp_error(r, 2);
    }
    for (size_t i = 0; i < q->n; i++)
        ours[i] = pki_ocsp_query_is_for(&q->q[i], ca);
    cas_put(ca);
    /* one certificate, as nearly every client asks: the kept answer; another
     * CA's certificate is unknown here, whatever its serial */
    if (q->n > 1)
        res = ocsp_many(r, st, ca_obj, q, ours);
    else if (ours[0])
        res = ocsp_answer(r, st, ca_obj, &q->q[0]);
    else
        res = ocsp_unknown(r, st, ca_obj, &q->q[0]);
    pki_ocsp_request_free(q);
    return res;
}

/* ---- routing ---------------------------------------------------------------------- */

static bool
known_leaf(struct str what)
{
    return str_eq_c(what, "ca.pem") || str_eq_c(what, "ca.crt") || str_eq_c(what, "crl") ||
           str_eq_c(what, "ocsp");
}

enum api_result
issuance_public_serve(struct req *r)
{
    static const struct str prefix = STR("/pki/");
    struct str              rest = { r->path.p + prefix.len, r->path.len - prefix.len };
    struct str              id, what = str_cut(rest, '/', &id), tail = STR_NULL;
    struct errbuf           eb = { 0 };
    struct val              ca_obj;
    struct castate         *st;

    if (what.p != NULL && str_starts(what, STR("ocsp/"))) {
        tail = (struct str){ what.p + 5, what.len - 5 };
        what = STR("ocsp");
    }
    bool post = r->method == M_POST;
    bool ocsp = str_eq_c(what, "ocsp") &&
                (tail.p == NULL ? post : r->method == M_GET); /* its POST and GET forms */
    int rc = E_NOTFOUND;

    /* a revocation made on another server counts now; when that cannot be
     * learned, no kept answer is served: tryLater, or 503 */
    if (store_follow(kw_store) != E_OK) {
        if (ocsp)
            return ocsp_error(r, 3);
        api_fail(r, E_UNAVAILABLE, "The store is unavailable");
        return API_DONE;
    }
    if (what.p != NULL && id.len == ID_LEN)
        rc = kw_store->ops->find(kw_store, &spec_certificateauthority, NULL, "ID", id, r->a,
                                 &ca_obj, &eb);
    if (rc == E_OK && (st = state_of(id)) == NULL)
        rc = errbuf_set(&eb, E_INTERNAL, "out of memory");
    /* an OCSP client reads an OCSP response, not a JSON error: for a CA this
     * server does not answer for, unauthorized (RFC 6960 2.3, RFC 5019 2.2.3) */
    if (rc != E_OK && ocsp)
        return rc == E_NOTFOUND ? ocsp_error(r, 6) : ocsp_answered(r, rc, &eb);
    if (rc != E_OK) {
        api_fail(r, E_NOTFOUND, "Unknown certificate authority");
        return API_DONE;
    }
    if (ocsp)
        return serve_ocsp(r, st, &ca_obj, tail);
    unsigned allowed = !str_eq_c(what, "ocsp") ? 1u << M_GET | 1u << M_HEAD
                       : tail.p == NULL        ? 1u << M_POST /* the POST form */
                                               : 1u << M_GET;        /* the GET form */
    if (!known_leaf(what)) {
        api_fail(r, E_NOTFOUND, "Unknown API path");
        return API_DONE;
    }
    if (!(allowed & 1u << r->method)) { /* each URL its own methods, told in Allow */
        api_not_allowed(r, allowed, &eb);
        api_error(r, &eb);
        return API_DONE;
    }
    if (str_eq_c(what, "ca.pem")) {
        struct str pem = val_get_str(&ca_obj, "certificate");
        return reply(r, "application/x-pem-file", pem.p, pem.len, "max-age=3600");
    }
    if (str_eq_c(what, "ca.crt")) {
        struct str der;
        if (ca_der(r->a, &ca_obj, &der) != E_OK)
            return fail(r, &(struct errbuf){ .code = E_INTERNAL });
        return reply(r, "application/pkix-cert", der.p, der.len, "max-age=3600");
    }
    if (str_eq_c(what, "crl"))
        return serve_crl(r, st, &ca_obj);
    api_fail(r, E_NOTFOUND, "Unknown API path");
    return API_DONE;
}
