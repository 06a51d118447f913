/* monitor.c - monitoring policies, the evaluation of a certificate's status
 * and weaknesses, and the background work that keeps them stored (API.md
 * 7.2). See inventory.h. */
#include <openssl/objects.h>
#include <stdio.h>

#include "../core/config.h"
#include "../core/log.h"
#include "../core/timeutil.h"
#include "../model/validate.h"
#include "../notify/webhook.h"
#include "../store/filter.h"
#include "inventory.h"

#define DAY_MS INT64_C(86400000)

/* ---- the monitoringpolicies resource ------------------------------------------ */

static const struct attr policy_attrs[] = {
    { "description", T_STRING, A_QUERY, .max_len = 1024 },
    { "expiringWithinDays", T_INT, A_QUERY, .def = "30", .min = 1, .max = 36500,
      .doc = "a certificate is EXPIRING this many days before it ends" },
    { "minimumRSAKeySize", T_INT, A_QUERY, .def = "2048", .min = 1, .max = 65536,
      .doc = "smaller RSA and DSA keys are WEAK_KEY" },
    { "minimumECKeySize", T_INT, A_QUERY, .def = "256", .min = 1, .max = 65536,
      .doc = "smaller EC keys are WEAK_KEY" },
    { "weakSignatureAlgorithms", T_STRLIST, A_QUERY, .max_len = 64,
      .def = "md2WithRSAEncryption,md4WithRSAEncryption,md5WithRSAEncryption,"
             "sha1WithRSAEncryption,shaWithRSAEncryption,sha1WithRSA,ecdsa-with-SHA1,"
             "dsaWithSHA1,dsaWithSHA1-old",
      .doc = "signature algorithms (OpenSSL long names) that are WEAK_SIGNATURE" },
    { "maximumValidityDays", T_INT, A_QUERY, .def = "398", .min = 1, .max = 36500,
      .doc = "leaves valid longer are VALIDITY_TOO_LONG" },
};

/* A signature algorithm as the inventory spells it (certparse.c): OpenSSL's
 * long name (sha1WithRSAEncryption, ED25519), also when it is given by its
 * dotted OID (a policy naming ecdsa-with-SHA256 by 1.2.840.10045.4.3.2 must
 * match what the certificates say), or the dotted OID of an algorithm
 * OpenSSL does not name. NULL when `name` is neither (buf: 65 bytes). */
static const char *
sigalg_spelling(struct str name, char *buf)
{
    int nid;

    if (name.len == 0 || name.len > 64)
        return NULL;
    memcpy(buf, name.p, name.len);
    buf[name.len] = '\0';
    if ((nid = OBJ_ln2nid(buf)) == NID_undef) {
        ASN1_OBJECT *o = OBJ_txt2obj(buf, 1);
        if (o == NULL)
            return NULL;
        nid = OBJ_obj2nid(o);
        ASN1_OBJECT_free(o);
        if (nid == NID_undef)
            return buf;
    }
    return OBJ_find_sigid_algs(nid, NULL, NULL) == 1 ? OBJ_nid2ln(nid) : NULL;
}

static int
policy_prepare(struct hook_ctx *ctx, const struct spec *s, struct val *obj, bool create,
               struct errbuf *eb)
{
    struct val *w = val_get(obj, "weakSignatureAlgorithms");
    char        buf[65];

    KW_UNUSED(s);
    KW_UNUSED(create);
    for (size_t i = 0; w != NULL && w->t == V_ARR && i < w->a.n; i++) {
        struct str  given = w->a.v[i].s;
        const char *name = sigalg_spelling(given, buf);
        if (name == NULL)
            return errbuf_attr(eb, E_VALIDATION, "weakSignatureAlgorithms",
                               "'%.*s' is not a signature algorithm: OpenSSL's long name "
                               "(sha1WithRSAEncryption, ecdsa-with-SHA1) or a dotted OID",
                               (int)(given.len > 64 ? 64 : given.len), given.p);
        if (!str_eq_c(given, name))
            w->a.v[i] = val_str(arena_str(ctx->a, str_c(name)));
    }
    return E_OK;
}

static int policy_changed(struct hook_ctx *ctx, struct tx *tx, const struct val *obj,
                          struct errbuf *eb);

/* Whether an update leaves every rule as it was (its description, say). */
static bool
same_rules(const struct val *obj, const struct val *old)
{
    for (size_t i = 0; i < ARRAY_LEN(policy_attrs); i++) {
        const char *k = policy_attrs[i].name;
        if (strcmp(k, "description") == 0)
            continue;
        const struct val *a = val_get(obj, k), *b = val_get(old, k);
        if ((a == NULL) != (b == NULL) || (a != NULL && !val_equal(a, b)))
            return false;
    }
    return true;
}

/* A change of a policy's rules changes what the certificates below it are. */
static int
policy_before_write(struct hook_ctx *ctx, const struct spec *s, struct tx *tx, struct val *obj,
                    const struct val *old, struct errbuf *eb)
{
    KW_UNUSED(s);
    if (old != NULL && same_rules(obj, old))
        return E_OK; /* nothing to re-evaluate (a code review) */
    return policy_changed(ctx, tx, obj, eb);
}

static int
policy_after_delete(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                    const struct val *obj, struct errbuf *eb)
{
    KW_UNUSED(s);
    KW_UNUSED(obj);
    return policy_changed(ctx, tx, NULL, eb); /* its row is gone: the parent's rules */
}

static struct spec_rt policy_rt;

static const char *const policy_csv[] = {
    "ID",
    "namespace",
    "createTime",
    "updateTime",
    "description",
    "expiringWithinDays",
    "minimumRSAKeySize",
    "minimumECKeySize",
    "weakSignatureAlgorithms",
    "maximumValidityDays",
    NULL,
};

const struct spec spec_monitoringpolicy = {
    .identity = "monitoringpolicy",
    .rest = "monitoringpolicies",
    .attrs = policy_attrs,
    .nattrs = ARRAY_LEN(policy_attrs),
    .unique = "namespace", /* at most one per namespace */
    .unique_global = true,
    .ops = OP_ALL,
    .access = ACCESS_NORMAL,
    .hooks = { .prepare = policy_prepare,
               .before_write = policy_before_write,
               .after_delete = policy_after_delete },
    .csv_columns = policy_csv,
    .rt = &policy_rt,
};

/* ---- the policy of a namespace ---------------------------------------------- */

static void
policy_of(struct arena *a, const struct val *obj, struct inv_policy *p)
{
    const struct attr *weak = &policy_attrs[4];
    struct val        *w = obj != NULL ? val_get(obj, "weakSignatureAlgorithms") : NULL;
    struct val        *def = arena_alloc(a, sizeof *def);

    p->expiring_days = val_get_int(obj, "expiringWithinDays", 30);
    p->min_rsa = val_get_int(obj, "minimumRSAKeySize", 2048);
    p->min_ec = val_get_int(obj, "minimumECKeySize", 256);
    p->max_validity_days = val_get_int(obj, "maximumValidityDays", 398);
    if (w != NULL && w->t == V_ARR) {
        p->weak_sigs = w;
        return;
    }
    *def = attr_default(a, weak);
    p->weak_sigs = def;
}

/* "/a/b" -> "/a" -> "/": false after "/". */
static bool
parent_ns(struct str *ns)
{
    if (ns->len <= 1)
        return false;
    while (ns->len > 1 && ns->p[ns->len - 1] != '/')
        ns->len--;
    if (ns->len > 1)
        ns->len--; /* the slash */
    return true;
}

/* A namespace's own policy, read in a transaction or from the store. */
typedef int policy_find_fn(void *src, struct arena *a, struct str ns, struct val *out);

static int
find_in_tx(void *src, struct arena *a, struct str ns, struct val *out)
{
    struct tx   *tx = src;
    struct scope sc = { ns, false };

    return tx->ops->find(tx, &spec_monitoringpolicy, &sc, "namespace", ns, a, out);
}

static int
find_in_store(void *src, struct arena *a, struct str ns, struct val *out)
{
    struct scope  sc = { ns, false };
    struct errbuf eb = { 0 };

    KW_UNUSED(src);
    return kw_store->ops->find(kw_store, &spec_monitoringpolicy, &sc, "namespace", ns, a, out,
                               &eb);
}

/* The policies as a transaction sees them, but for the one it is writing in
 * namespace `ns` and has not stored yet (obj; NULL: none pending). */
struct pending_policy {
    struct tx        *tx;
    struct str        ns;
    const struct val *obj;
};

static int
find_pending(void *src, struct arena *a, struct str ns, struct val *out)
{
    struct pending_policy *pp = src;

    if (pp->obj != NULL && str_eq(ns, pp->ns)) {
        *out = *pp->obj;
        return E_OK;
    }
    return find_in_tx(pp->tx, a, ns, out);
}

/* The nearest policy from `ns` up to "/", else the defaults. */
static int
policy_lookup(policy_find_fn *find, void *src, struct arena *a, struct str ns,
              struct inv_policy *p)
{
    struct val obj;

    do {
        int rc = find(src, a, ns, &obj);
        if (rc == E_OK) {
            policy_of(a, &obj, p);
            return E_OK;
        }
        if (rc != E_NOTFOUND)
            return rc;
    } while (parent_ns(&ns));
    policy_of(a, NULL, p);
    return E_OK;
}

int
inv_policy_tx(struct tx *tx, struct arena *a, struct str ns, struct inv_policy *p)
{
    return policy_lookup(find_in_tx, tx, a, ns, p);
}

int
inv_policy_read(struct arena *a, struct str ns, struct inv_policy *p)
{
    return policy_lookup(find_in_store, NULL, a, ns, p);
}

/* ---- evaluation --------------------------------------------------------------- */

static int64_t
time_of(const struct val *cert, const char *k, int64_t def)
{
    int64_t ms;

    return time_parse(val_get_str(cert, k), &ms) == E_OK ? ms : def;
}

static bool
flag(const struct val *cert, const char *k)
{
    struct val *v = val_get(cert, k);

    return v != NULL && v->t == V_BOOL && v->b;
}

static bool
weak_key(const struct val *cert, const struct inv_policy *p)
{
    struct str alg = val_get_str(cert, "keyAlgorithm");
    int64_t    bits = val_get_int(cert, "keySize", 0);

    if (bits <= 0)
        return false; /* unknown size: nothing to judge */
    if (str_eq_c(alg, "RSA") || str_eq_c(alg, "DSA"))
        return bits < p->min_rsa;
    if (str_eq_c(alg, "EC"))
        return bits < p->min_ec;
    return false;
}

static struct val
weaknesses_of(struct arena *a, const struct val *cert, const struct inv_policy *p,
              bool issuer_expired)
{
    struct val w = val_arr();
    int64_t    start = time_of(cert, "validityStart", 0), end = time_of(cert, "validityEnd", 0);

    if (weak_key(cert, p))
        val_push(a, &w, val_cstr("WEAK_KEY"));
    /* Nobody relies on a self-signed root's own signature (API.md 7.2); a
     * self-signed leaf is no root: its signature is what a client pinning
     * it checks. */
    if (!(flag(cert, "selfSigned") && flag(cert, "isCA")) &&
        val_list_has(p->weak_sigs, val_get_str(cert, "signatureAlgorithm")))
        val_push(a, &w, val_cstr("WEAK_SIGNATURE"));
    if (!flag(cert, "isCA") && end - start > p->max_validity_days * DAY_MS)
        val_push(a, &w, val_cstr("VALIDITY_TOO_LONG"));
    if (issuer_expired)
        val_push(a, &w, val_cstr("EXPIRED_ISSUER"));
    return w;
}

static const char *
time_status(int64_t now, int64_t expiring, int64_t end)
{
    if (end <= now)
        return "EXPIRED";
    return expiring <= now ? "EXPIRING" : "ACTIVE";
}

void
inv_evaluate(struct arena *a, struct val *cert, const struct inv_policy *p, int64_t issuer_end,
             int64_t now)
{
    int64_t start = time_of(cert, "validityStart", INT64_MIN);
    int64_t end = time_of(cert, "validityEnd", 0);
    int64_t expiring = end - p->expiring_days * DAY_MS;

    val_set(a, cert, "expiringTime", val_time(a, expiring));
    val_set(a, cert, "weaknesses", weaknesses_of(a, cert, p, issuer_end <= now));
    /* When EXPIRED_ISSUER is not stored yet but will be due: reads and filters
     * add it from then on (inv_weaknesses_at, certificate.c), the sweep
     * stores it. Absent once stored, so that the rows still to store are few. */
    if (issuer_end != INV_NO_ISSUER && issuer_end > now)
        val_set(a, cert, "issuerValidityEnd", val_time(a, issuer_end));
    else
        val_del(cert, "issuerValidityEnd");
    if (flag(cert, "retired"))
        val_set(a, cert, "status", val_cstr("RETIRED"));
    else if (val_get_str(cert, "revocationTime").len > 0)
        val_set(a, cert, "status", val_cstr("REVOKED"));
    else if (start > end) /* a validity that ends before it starts: never valid */
        val_set(a, cert, "status", val_cstr("EXPIRED"));
    else
        val_set(a, cert, "status", val_cstr(time_status(now, expiring, end)));
}

const char *
inv_status_at(const struct val *cert, int64_t now)
{
    struct str st = val_get_str(cert, "status");

    if (str_eq_c(st, "RETIRED"))
        return "RETIRED";
    if (str_eq_c(st, "REVOKED"))
        return "REVOKED";
    /* Stored states only move forward with time: EXPIRED stays (and is stored
     * at once for a validity that ends before it starts). The filters on
     * status read it the same way (certificate.c). */
    if (str_eq_c(st, "EXPIRED"))
        return "EXPIRED";
    return time_status(now, time_of(cert, "expiringTime", INT64_MAX),
                       time_of(cert, "validityEnd", INT64_MAX));
}

bool
inv_issuer_expired_at(const struct val *cert, int64_t now)
{
    /* A link removed without a re-evaluation leaves no issuer to have expired. */
    if (val_get_str(cert, "issuerCertificateID").len == 0)
        return false;
    return time_of(cert, "issuerValidityEnd", INT64_MAX) <= now;
}

void
inv_weaknesses_at(struct arena *a, struct val *cert, int64_t now)
{
    struct val *w = val_get(cert, "weaknesses");
    struct val  out = val_arr();

    if (!inv_issuer_expired_at(cert, now) || val_list_has(w, str_c("EXPIRED_ISSUER")))
        return;
    for (size_t i = 0; w != NULL && w->t == V_ARR && i < w->a.n; i++)
        val_push(a, &out, w->a.v[i]);
    val_push(a, &out, val_cstr("EXPIRED_ISSUER"));
    val_set(a, cert, "weaknesses", out);
}

/* ---- announcements -------------------------------------------------------------- */

/* The webhooks of ns and its ancestors that listen get a delivery, written
 * in this transaction (notify/webhook.h). The certificate goes as stored:
 * webhook_emit presents it as the API answers it. */
static int
announce(struct tx *tx, struct arena *a, struct str ns, const char *event,
         const struct val *cert, struct errbuf *eb)
{
    return webhook_emit(tx, a, ns, event, cert, "certificate", eb);
}

static bool
gained_weakness(const struct val *obj, const struct val *old)
{
    struct val *now = val_get(obj, "weaknesses");
    struct val *before = old != NULL ? val_get(old, "weaknesses") : NULL;

    for (size_t i = 0; now != NULL && now->t == V_ARR && i < now->a.n; i++)
        if (!val_list_has(before, now->a.v[i].s))
            return true;
    return false;
}

int
inv_announce(struct tx *tx, struct arena *a, struct str ns, const struct val *obj,
             const struct val *old, struct errbuf *eb)
{
    struct str st = val_get_str(obj, "status");
    struct str was = old != NULL ? val_get_str(old, "status") : STR_NULL;
    int        rc = E_OK;

    if (!str_eq(st, was) && str_eq_c(st, "EXPIRING"))
        rc = announce(tx, a, ns, "certificate.expiring", obj, eb);
    else if (!str_eq(st, was) && str_eq_c(st, "EXPIRED"))
        rc = announce(tx, a, ns, "certificate.expired", obj, eb);
    /* leaving RETIRED (left out of alerts), what it has is news, as for a new one */
    if (rc == E_OK && !str_eq_c(st, "RETIRED") &&
        gained_weakness(obj, str_eq_c(was, "RETIRED") ? NULL : old))
        rc = announce(tx, a, ns, "certificate.weak", obj, eb);
    return rc;
}

/* ---- re-evaluation in the background ---------------------------------------------- */

#define REEVAL_JOB "certificate.reevaluate"
#define SWEEP_JOB  "certificate.monitor"
#define BATCH      500

/* A re-evaluation's payload: "<namespace>\n<field>\n<value>": the certificates
 * of the namespace and below, those whose field equals value when field is
 * not empty. */
static int
queue_reevaluation(struct tx *tx, struct str ns, const char *field, struct str value)
{
    struct arena *a = arena_new(512);
    char *payload = arena_printf(a, "%.*s\n%s\n%.*s", STR_FMT(ns), field, STR_FMT(value));
    int rc = jobs_enqueue_tx(kw_jobs, tx, REEVAL_JOB, str_c(payload), str_c(payload), 0, NULL);

    arena_free(a);
    return rc;
}

int
inv_reevaluate_later(struct tx *tx, struct str ns)
{
    return kw_jobs == NULL ? E_OK : queue_reevaluation(tx, ns, "", STR_NULL);
}

int
inv_link_later(struct tx *tx, struct str ns, struct str ca_id)
{
    return kw_jobs == NULL ? E_OK : queue_reevaluation(tx, ns, "issuerOf", ca_id);
}

int
inv_unlink_later(struct tx *tx, struct str ns, struct str issuer_id)
{
    return kw_jobs == NULL ? E_OK
                           : queue_reevaluation(tx, ns, "issuerCertificateID", issuer_id);
}

/* The namespaces' policies a batch has looked up. */
#define POLICIES_MAX 16

struct batch {
    struct arena                *a;
    const struct pending_policy *pending; /* NULL: the stored policies only */
    struct val                   ids;
    struct str                   ns[POLICIES_MAX];
    struct inv_policy            pol[POLICIES_MAX];
    size_t                       npol;
    struct val                   expired_cas; /* CA certificates that became EXPIRED */
    struct errbuf                eb;
};

static int
batch_policy(struct tx *tx, struct batch *b, struct str ns, const struct inv_policy **p)
{
    for (size_t i = 0; i < b->npol; i++)
        if (str_eq(b->ns[i], ns)) {
            *p = &b->pol[i];
            return E_OK;
        }
    size_t                i = b->npol < POLICIES_MAX ? b->npol++ : POLICIES_MAX - 1;
    struct pending_policy pp = b->pending != NULL ? *b->pending : (struct pending_policy){ 0 };

    b->ns[i] = ns;
    *p = &b->pol[i];
    pp.tx = tx;
    return policy_lookup(find_pending, &pp, b->a, ns, &b->pol[i]);
}

static bool
changed(const struct val *obj, const struct val *old)
{
    static const char *const kept[] = { "status", "weaknesses", "expiringTime",
                                        "issuerCertificateID", "issuerValidityEnd" };

    for (size_t i = 0; i < ARRAY_LEN(kept); i++) {
        struct val *x = val_get(obj, kept[i]), *y = val_get(old, kept[i]);
        if ((x == NULL) != (y == NULL) || (x != NULL && !val_equal(x, y)))
            return true;
    }
    return false;
}

/* Evaluate stored certificate `obj` again; write it when its state changed. */
static int
reevaluate_obj(struct tx *tx, struct batch *b, struct val *obj)
{
    const struct inv_policy *p;
    struct str               ns = val_get_str(obj, "namespace");
    struct val               old = val_clone(b->a, obj);
    int                      rc;

    if ((rc = batch_policy(tx, b, ns, &p)) != E_OK ||
        (rc = inv_complete(tx, b->a, ns, obj, &old, p, &b->eb)) != E_OK)
        return rc;
    if (!changed(obj, &old))
        return E_OK;
    if (flag(obj, "isCA") && str_eq_c(val_get_str(obj, "status"), "EXPIRED") &&
        !str_eq_c(val_get_str(&old, "status"), "EXPIRED"))
        val_push(b->a, &b->expired_cas, val_get(obj, "ID") ? *val_get(obj, "ID") : val_null());
    return tx->ops->update(tx, &spec_certificate, obj, NULL); /* updateTime stays */
}

static int
reevaluate_one(struct tx *tx, struct batch *b, struct str id)
{
    struct val obj;
    int        rc = tx->ops->find(tx, &spec_certificate, NULL, "ID", id, b->a, &obj);

    if (rc == E_NOTFOUND)
        return E_OK; /* deleted since */
    return rc == E_OK ? reevaluate_obj(tx, b, &obj) : rc;
}

static int
reevaluate_tx(struct tx *tx, void *arg)
{
    struct batch *b = arg;
    int           rc = E_OK;

    b->npol = 0;
    for (size_t i = 0; i < b->ids.a.n && rc == E_OK; i++)
        rc = reevaluate_one(tx, b, b->ids.a.v[i].s);
    return rc;
}

/* The children of the CAs that expired: EXPIRED_ISSUER. */
static int
queue_children_tx(struct tx *tx, void *arg)
{
    struct batch *b = arg;
    int           rc = E_OK;

    for (size_t i = 0; i < b->expired_cas.a.n && rc == E_OK; i++)
        rc = queue_reevaluation(tx, str_c("/"), "issuerCertificateID", b->expired_cas.a.v[i].s);
    return rc;
}

/* A policy change re-evaluates the certificates below it in its own
 * transaction when there are at most this many, so that reads right after it
 * show their new state (API.md 7.2); more are re-evaluated in the background. */
#define REEVAL_NOW 1000

/* The policy of ctx->ns is now obj (NULL: deleted). */
static int
policy_changed(struct hook_ctx *ctx, struct tx *tx, const struct val *obj, struct errbuf *eb)
{
    struct listq          q = { .scope = { ctx->ns, true }, .limit = REEVAL_NOW + 1 };
    struct pending_policy pp = { .ns = ctx->ns, .obj = obj };
    struct batch          b = { .a = ctx->a, .pending = &pp, .expired_cas = val_arr() };
    struct val            items;
    int                   rc = tx->ops->list(tx, &spec_certificate, &q, ctx->a, &items);

    if (rc == E_OK && items.a.n > REEVAL_NOW)
        rc = inv_reevaluate_later(tx, ctx->ns);
    for (size_t i = 0; rc == E_OK && items.a.n <= REEVAL_NOW && i < items.a.n; i++)
        rc = reevaluate_obj(tx, &b, &items.a.v[i]);
    if (rc == E_OK)
        rc = queue_children_tx(tx, &b);
    return rc == E_OK ? E_OK : errbuf_set(eb, rc, "cannot re-evaluate the certificates");
}

/* Re-evaluate the listed certificates in one transaction. */
static int
reevaluate_ids(struct job_ctx *ctx, struct batch *b)
{
    int rc;

    b->expired_cas = val_arr();
    if (b->ids.a.n == 0)
        return E_OK;
    if ((rc = store_run(ctx->st, reevaluate_tx, b)) != E_OK)
        return errbuf_set(&ctx->eb, rc, "store error %d", rc);
    if (b->expired_cas.a.n > 0 && (rc = store_run(ctx->st, queue_children_tx, b)) != E_OK)
        return errbuf_set(&ctx->eb, rc, "store error %d", rc);
    return E_OK;
}

/* Page through the certificates `filter` selects in `sc` by ID, BATCH at a
 * time, re-evaluating each page. */
static int
reevaluate_where(struct job_ctx *ctx, const struct scope *sc, const struct fnode *filter,
                 int64_t *done)
{
    struct listq  q = { .scope = *sc, .filter = filter, .limit = BATCH };
    struct arena *a = arena_new(64 * 1024);
    char          after[64] = "";
    int           rc = E_OK;

    while (rc == E_OK && !job_canceled(ctx)) {
        struct batch b = { .a = a };
        q.after = after[0] != '\0' ? str_c(after) : STR_NULL;
        rc = kw_store->ops->list(kw_store, &spec_certificate, &q, a, &b.ids, NULL, &ctx->eb);
        if (rc != E_OK)
            break;
        for (size_t i = 0; i < b.ids.a.n; i++)
            b.ids.a.v[i] = val_str(val_get_str(&b.ids.a.v[i], "ID"));
        if ((rc = reevaluate_ids(ctx, &b)) != E_OK)
            break;
        *done += (int64_t)b.ids.a.n;
        if (b.ids.a.n < BATCH)
            break;
        struct str last = b.ids.a.v[b.ids.a.n - 1].s;
        snprintf(after, sizeof after, "%.*s", STR_FMT(last));
        arena_reset(a);
        job_progress(ctx, arena_printf(ctx->a, "%lld certificates", (long long)*done));
    }
    arena_free(a);
    return rc;
}

static struct fval
fstr(struct str s)
{
    return (struct fval){ .t = FV_STR, .s = s };
}

/* payload: see queue_reevaluation. */
static int
reevaluate_run(struct job_ctx *ctx)
{
    struct str    rest = ctx->payload, ns, field, value;
    struct fnode *filter = NULL;
    struct val    ca;
    int64_t       done = 0;

    rest = str_cut(rest, '\n', &ns);
    value = str_cut(rest, '\n', &field);
    struct scope sc = { arena_str(ctx->a, ns), true };
    if (str_eq_c(field, "issuerCertificateID"))
        filter = filter_cmp(ctx->a, "issuerCertificateID", F_EQ, fstr(value));
    if (str_eq_c(field, "issuerOf")) { /* a CA arrived: its orphans */
        struct scope here = { sc.ns, false };
        int rc = kw_store->ops->find(kw_store, &spec_certificate, &here, "ID", value, ctx->a,
                                     &ca, &ctx->eb);
        if (rc == E_NOTFOUND)
            return E_OK;
        if (rc != E_OK)
            return rc;
        sc.recursive = false;
        filter =
            filter_bool(ctx->a, F_AND,
                        filter_cmp(ctx->a, "issuer", F_EQ, fstr(val_get_str(&ca, "subject"))),
                        filter_cmp(ctx->a, "issuerCertificateID", F_NOT_EXISTS,
                                   (struct fval){ .t = FV_NONE }));
    }
    return reevaluate_where(ctx, &sc, filter, &done);
}

/* Rows whose stored status the clock has overtaken (certificate.c's status
 * rewrite, in reverse): EXPIRING or EXPIRED by now; and rows whose issuer has
 * ended since they were stored (EXPIRED_ISSUER, which reads already show):
 * whatever the issuer's own status is stored as (a retired CA ends too). */
static struct fnode *
overtaken(struct arena *a, int64_t now)
{
    struct fval   t = { .t = FV_TIME, .i = now };
    struct fnode *active = filter_cmp(a, "status", F_EQ, fstr(str_c("ACTIVE")));
    struct fnode *active2 = filter_cmp(a, "status", F_EQ, fstr(str_c("ACTIVE")));
    struct fnode *expiring = filter_cmp(a, "status", F_EQ, fstr(str_c("EXPIRING")));
    struct fnode *status = filter_bool(
        a, F_OR, filter_bool(a, F_AND, active, filter_cmp(a, "expiringTime", F_LE, t)),
        filter_bool(a, F_AND, filter_bool(a, F_OR, active2, expiring),
                    filter_cmp(a, "validityEnd", F_LE, t)));

    struct fnode *issuer = filter_cmp(a, "issuerValidityEnd", F_LE, t);

    issuer->few = true; /* the rows this sweep is about to store: a short index range */
    return filter_bool(a, F_OR, status, issuer);
}

static int
sweep_run(struct job_ctx *ctx)
{
    struct scope sc = { str_c("/"), true };
    int64_t      done = 0;
    int          rc = reevaluate_where(ctx, &sc, overtaken(ctx->a, time_now_ms()), &done);

    if (rc == E_OK && done > 0)
        log_info("monitoring: %lld certificates changed state", (long long)done);
    return rc;
}

int
inventory_register(struct jobs *j, struct errbuf *eb)
{
    const struct job_kind kinds[] = {
        { .name = SWEEP_JOB,
          .run = sweep_run,
          .interval_ms = cfg.monitor_interval,
          .lease_ms = 120000,
          .max_attempts = 3 },
        { .name = REEVAL_JOB, .run = reevaluate_run, .lease_ms = 120000, .max_attempts = 20 },
    };
    int rc = E_OK;

    for (size_t i = 0; i < ARRAY_LEN(kinds) && rc == E_OK; i++)
        rc = jobs_register(j, &kinds[i], eb);
    return rc;
}
