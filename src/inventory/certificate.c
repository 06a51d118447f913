/* certificate.c - the `certificates` resource (API.md 7.1): import, dedupe,
 * chains, status as time passes, contents. See inventory.h. */
#include <stdio.h>

#include "../core/rnd.h"
#include "../core/timeutil.h"
#include "../model/validate.h"
#include "../pki/status.h"
#include "../store/filter.h"
#include "certparse.h"
#include "inventory.h"

static const char *const statuses[] = { "ACTIVE",  "EXPIRING", "EXPIRED",
                                        "REVOKED", "RETIRED",  NULL };
static const char *const sources[] = { "ISSUED", "IMPORTED", "DISCOVERED", NULL };
static const char *const weaknesses[] = { "WEAK_KEY", "WEAK_SIGNATURE", "VALIDITY_TOO_LONG",
                                          "EXPIRED_ISSUER", NULL };

#define PARSED   (A_READONLY | A_QUERY)
#define PARSED_O (A_READONLY | A_QUERY | A_ORDER)
#define KEPT     (A_READONLY | A_DERIVED | A_QUERY) /* maintained by the server */

static const struct attr certificate_attrs[] = {
    { "certificate", T_STRING, A_CREATIONONLY | A_WRITEONLY, .max_len = INV_INPUT_MAX,
      .doc = "on create: PEM (one certificate or a chain), base64 DER or base64 PKCS#7; "
             "not returned (GET /certificates/:id/contents)" },
    { "description", T_STRING, A_QUERY, .max_len = 1024 },
    { "retired", T_BOOL, A_QUERY, .def = "false",
      .doc = "true: status RETIRED, left out of alerts and active counts" },
    { "fingerprint", T_STRING, PARSED_O, .format = F_HEX, .doc = "SHA-256 of the DER, hex" },
    { "fingerprintSHA1", T_STRING, PARSED, .format = F_HEX, .doc = "SHA-1 of the DER, hex" },
    { "serialNumber", T_STRING, PARSED_O, .format = F_HEX,
      .doc = "hex, as encoded (may be negative)" },
    { "subject", T_STRING, PARSED_O, .doc = "RFC 4514" },
    { "issuer", T_STRING, PARSED_O, .doc = "RFC 4514" },
    { "subjectCN", T_STRING, PARSED_O | A_SUBSTRING,
      .doc = "contains is answered from a trigram index (3 characters or more)" },
    { "subjectO", T_STRING, PARSED_O },
    { "subjectOU", T_STRING, PARSED },
    { "subjectL", T_STRING, PARSED },
    { "subjectST", T_STRING, PARSED },
    { "subjectC", T_STRING, PARSED_O },
    { "issuerCN", T_STRING, PARSED_O },
    { "dnsNames", T_STRLIST, PARSED | A_INDEXED, .max_len = INV_LIST_MAX,
      .doc = "subject alternative names: DNS" },
    { "ipAddresses", T_STRLIST, PARSED | A_INDEXED, .format = F_IP, .max_len = INV_LIST_MAX },
    { "uris", T_STRLIST, PARSED, .max_len = INV_LIST_MAX },
    { "emails", T_STRLIST, PARSED, .max_len = INV_LIST_MAX },
    { "subjectKeyIdentifier", T_STRING, PARSED, .format = F_HEX },
    { "authorityKeyIdentifier", T_STRING, PARSED, .format = F_HEX },
    { "issuerCertificateID", T_STRING, KEPT,
      .doc = "the issuer's object in the same namespace, when known" },
    { "selfSigned", T_BOOL, PARSED },
    { "isCA", T_BOOL, PARSED },
    { "pathLength", T_INT, PARSED },
    { "keyAlgorithm", T_STRING, PARSED_O, .doc = "RSA, EC, ED25519, ED448 or DSA" },
    { "keySize", T_INT, PARSED_O, .doc = "bits" },
    { "keyCurve", T_STRING, PARSED, .doc = "P256, P384 or P521" },
    { "signatureAlgorithm", T_STRING, PARSED_O, .doc = "OpenSSL's long name" },
    { "keyUsages", T_STRLIST, PARSED },
    { "extendedKeyUsages", T_STRLIST, PARSED },
    { "validityStart", T_TIME, PARSED_O },
    { "validityEnd", T_TIME, PARSED_O },
    { "truncated", T_BOOL, A_READONLY,
      .doc = "true when a list of names was cut at 10,000 entries" },
    { "source", T_STRING, PARSED_O, .enums = sources },
    { "status", T_STRING, KEPT | A_COMPUTED, .enums = statuses,
      .doc = "as of the time it is read or filtered on", .needs = "expiringTime,validityEnd" },
    { "weaknesses", T_STRLIST, KEPT | A_INDEXED | A_COMPUTED, .enums = weaknesses,
      .doc = "as of the time it is read or filtered on (EXPIRED_ISSUER follows the clock)",
      .needs = "issuerValidityEnd,issuerCertificateID" },
    { "revocationReason", T_STRING, KEPT, .enums = pki_reason_names },
    { "revocationTime", T_TIME, KEPT | A_ORDER },
    { "certificateAuthorityID", T_STRING, PARSED,
      .doc = "the console CA that issued it, if one did" },
    { "der", T_STRING, A_INTERNAL, .doc = "the DER, base64" },
    { "expiringTime", T_TIME, A_INTERNAL | A_COLUMN,
      .doc = "when it becomes EXPIRING under its policy" },
    { "issuerValidityEnd", T_TIME, A_INTERNAL | A_COLUMN,
      .doc = "its issuer's validityEnd while EXPIRED_ISSUER is not stored: when it has it" },
};

/* ---- reading what a client sends --------------------------------------- */

static struct str
der_b64(struct arena *a, const unsigned char *der, size_t len)
{
    char *out = arena_alloc(a, b64_len(len) + 1);

    b64_encode(der, len, out);
    return str_c(out);
}

int
inv_cert_of_der(struct arena *a, const unsigned char *der, size_t len, struct inv_cert *out,
                struct errbuf *eb)
{
    int rc = inv_parse(a, der, len, &out->fields, eb);

    if (rc == E_OK)
        out->der = der_b64(a, der, len);
    return rc;
}

static void
attr_rename(struct errbuf *eb, const char *attr)
{
    errbuf_name(eb, attr);
}

static struct val
block_error(struct arena *a, size_t index, const char *reason)
{
    struct val e = val_map();

    val_set(a, &e, "index", val_int((int64_t)index));
    val_set(a, &e, "reason", val_cstr(reason));
    return e;
}

int
inv_read(struct arena *a, struct str input, const char *attr, bool all_or_nothing,
         struct inv_cert **certs, size_t *n, struct val *errors, struct errbuf *eb)
{
    struct inv_blocks b;
    int               rc = inv_split(a, input, !all_or_nothing, &b, eb);

    *n = 0;
    *errors = val_arr();
    if (rc != E_OK) {
        attr_rename(eb, attr);
        return rc;
    }
    *certs = arena_calloc(a, b.n, sizeof **certs);
    for (size_t i = 0; i < b.n; i++) {
        const struct inv_block *bl = &b.v[i];
        struct errbuf           pe = { 0 };
        struct inv_cert        *c = &(*certs)[*n];
        if (bl->reason == INV_R_OK && inv_parse(a, bl->der, bl->len, &c->fields, &pe) == E_OK) {
            c->der = der_b64(a, bl->der, bl->len);
            (*n)++;
            continue;
        }
        const char *why = inv_reason_str(bl->reason != INV_R_OK ? bl->reason : INV_R_NOT_CERT);
        if (all_or_nothing)
            return errbuf_attr(eb, E_VALIDATION, attr, "Entry %zu of the input %s", i, why);
        val_push(a, errors, block_error(a, i, why));
    }
    return E_OK;
}

int
inv_object(struct arena *a, struct str ns, const struct inv_cert *c, const char *source,
           struct val *obj, struct errbuf *eb)
{
    struct val in = val_map();
    int        rc = object_new(a, &spec_certificate, ns, &in, obj, eb);

    if (rc != E_OK)
        return rc;
    for (size_t i = 0; i < c->fields.m.n; i++)
        val_set_s(a, obj, c->fields.m.kv[i].k, c->fields.m.kv[i].v);
    val_set(a, obj, "der", val_str(c->der));
    val_set(a, obj, "source", val_cstr(source));
    tags_normalize(a, &spec_certificate, obj);
    return E_OK;
}

/* ---- into the store ------------------------------------------------------ */

int
inv_find_same(struct tx *tx, struct arena *a, struct str ns, const struct val *obj,
              struct val *found)
{
    struct scope sc = { ns, false };

    return tx->ops->find(tx, &spec_certificate, &sc, "fingerprint",
                         val_get_str(obj, "fingerprint"), a, found);
}

/* The batch's issuer found before for (aki, dn). */
static struct val *
batch_issuer(struct inv_batch *b, struct str aki, struct str dn)
{
    for (size_t i = 0; b != NULL && i < b->nissuers; i++)
        if (str_eq(b->issuers[i].aki, aki) && str_eq(b->issuers[i].dn, dn))
            return &b->issuers[i].obj;
    return NULL;
}

/* Keep `issuer` as the batch's for (aki, dn): the one that signed the last. */
static void
batch_keep(struct inv_batch *b, struct str aki, struct str dn, const struct val *issuer)
{
    struct val *kept = batch_issuer(b, aki, dn);

    if (kept != NULL)
        *kept = *issuer;
    else if (b != NULL && b->nissuers < INV_ISSUERS_MAX) {
        b->issuers[b->nissuers].aki = aki;
        b->issuers[b->nissuers].dn = dn;
        b->issuers[b->nissuers].obj = *issuer;
        b->nissuers++;
    }
}

/* Certificates of the namespace that may have issued one with this
 * authority key identifier and issuer name: those with both this subject key
 * identifier and this subject (a name may also be another key's, a key
 * another name's), by the subject alone when it names no key - those a scan
 * found, or the others, apart: a scan can bring any number of copies of a
 * CA's names (31 in one handshake, a black-box review), which must not crowd
 * the imported CA out of the few looked at. Of those a scan found, more are
 * looked at: each must verify, and a forged copy does not. */
#define ISSUER_CANDIDATES            8
#define DISCOVERED_ISSUER_CANDIDATES 64

static int
issuer_candidates(struct tx *tx, struct arena *a, struct str ns, struct str aki, struct str dn,
                  bool from_scans, struct val *items)
{
    struct fval   key = { .t = FV_STR, .s = aki }, name = { .t = FV_STR, .s = dn };
    struct fval   scan = { .t = FV_STR, .s = STR("DISCOVERED") };
    struct listq  q = { .scope = { ns, false },
                        .limit = from_scans ? DISCOVERED_ISSUER_CANDIDATES : ISSUER_CANDIDATES };
    struct fnode *f = filter_bool(a, F_AND, filter_cmp(a, "subject", F_EQ, name),
                                  filter_cmp(a, "source", from_scans ? F_EQ : F_NE, scan));

    q.filter = aki.len == 0
                   ? f
                   : filter_bool(a, F_AND, filter_cmp(a, "subjectKeyIdentifier", F_EQ, key), f);
    *items = val_arr();
    return tx->ops->list(tx, &spec_certificate, &q, a, items);
}

/* The first certificate of the namespace with this subject key identifier:
 * the common case (one certificate per key) in one look-up that stops at its
 * match, before the candidates are listed (a list is ordered, and SQLite
 * walked 100,000 issued leaves sharing a key for it: 1.7 ms of CPU per
 * issuance, bench part 10). */
static int
first_by_key(struct tx *tx, struct arena *a, struct str ns, struct str aki, struct val *out)
{
    struct scope sc = { ns, false };

    return tx->ops->find(tx, &spec_certificate, &sc, "subjectKeyIdentifier", aki, a, out);
}

static bool
discovered(const struct val *cert)
{
    return str_eq_c(val_get_str(cert, "source"), "DISCOVERED");
}

/* Whether `cand` (named as obj's issuer) may be linked as obj's issuer. A
 * certificate a scan brought is untrusted material (anyone on a scanned
 * network can present one with any names): when it is on either side, obj's
 * signature must verify under cand's key, and a self-issued cand must have
 * signed itself (a copy of a CA's names and key with other dates cannot).
 * Certificates a user imported or a console CA issued are linked as they name
 * each other (docs/inventory.md). */
static bool
may_issue(const struct val *obj, const struct val *cand)
{
    struct str der = val_get_str(cand, "der");

    if (str_eq(val_get_str(cand, "ID"), val_get_str(obj, "ID")) ||
        !str_eq(val_get_str(cand, "subject"), val_get_str(obj, "issuer")))
        return false;
    if (!discovered(obj) && !discovered(cand))
        return true;
    return inv_signed_by(val_get_str(obj, "der"), der) &&
           (!str_eq(val_get_str(cand, "subject"), val_get_str(cand, "issuer")) ||
            inv_signed_by(der, der));
}

/* The issuer in the namespace, among the candidates that may issue obj: one
 * a user vouched for (imported, or issued by a console CA) before one a scan
 * found. Kept in the batch for the next certificates it signed. */
static int
link_issuer(struct tx *tx, struct arena *a, struct str ns, struct val *obj, struct val *issuer,
            struct inv_batch *b)
{
    struct val       *self = val_get(obj, "selfSigned");
    struct str        aki = val_get_str(obj, "authorityKeyIdentifier");
    struct str        dn = val_get_str(obj, "issuer");
    const struct val *known = batch_issuer(b, aki, dn), *pick = NULL;
    struct val        items = val_arr(), first;
    int               rc = E_OK;

    if (self != NULL && self->t == V_BOOL && self->b)
        return E_NOTFOUND;
    if (known != NULL && may_issue(obj, known))
        pick = known;
    else if (aki.len > 0 && (rc = first_by_key(tx, a, ns, aki, &first)) == E_OK &&
             !discovered(&first) && may_issue(obj, &first))
        pick = &first;
    else if (rc != E_OK && rc != E_NOTFOUND)
        return rc;
    for (int scans = 0; pick == NULL && scans < 2; scans++) {
        if ((rc = issuer_candidates(tx, a, ns, aki, dn, scans == 1, &items)) != E_OK)
            return rc;
        for (size_t i = 0; pick == NULL && i < items.a.n; i++)
            if (may_issue(obj, &items.a.v[i]))
                pick = &items.a.v[i];
    }
    if (pick == NULL)
        return E_NOTFOUND;
    *issuer = *pick;
    if (pick != known)
        batch_keep(b, aki, dn, issuer);
    val_set(a, obj, "issuerCertificateID", *val_get(issuer, "ID"));
    return E_OK;
}

static int64_t
end_of(const struct val *cert)
{
    int64_t end;

    return time_parse(val_get_str(cert, "validityEnd"), &end) == E_OK ? end : INV_NO_ISSUER;
}

/* The issuer's link and the policy's verdict (status, weaknesses) of obj. */
static int
evaluate(struct tx *tx, struct arena *a, struct str ns, struct val *obj,
         const struct inv_policy *p, struct inv_batch *b, struct errbuf *eb)
{
    struct inv_policy own;
    struct val        issuer;
    struct scope      sc = { ns, false };
    int64_t           now = time_now_ms();
    struct str        issuer_id = val_get_str(obj, "issuerCertificateID");
    int               rc;

    if (p == NULL) {
        if ((rc = inv_policy_tx(tx, a, ns, &own)) != E_OK)
            return errbuf_set(eb, rc, "store error");
        p = &own;
    }
    rc = E_NOTFOUND;
    if (issuer_id.len > 0)
        rc = tx->ops->find(tx, &spec_certificate, &sc, "ID", issuer_id, a, &issuer);
    if (rc == E_NOTFOUND) { /* never linked, or its issuer was deleted since */
        val_del(obj, "issuerCertificateID");
        rc = link_issuer(tx, a, ns, obj, &issuer, b);
    }
    if (rc != E_OK && rc != E_NOTFOUND)
        return errbuf_set(eb, rc, "store error");
    inv_evaluate(a, obj, p, rc == E_OK ? end_of(&issuer) : INV_NO_ISSUER, now);
    return E_OK;
}

int
inv_complete(struct tx *tx, struct arena *a, struct str ns, struct val *obj,
             const struct val *old, const struct inv_policy *p, struct errbuf *eb)
{
    int rc = evaluate(tx, a, ns, obj, p, NULL, eb);

    return rc == E_OK ? inv_announce(tx, a, ns, obj, old, eb) : rc;
}

int
inv_batch_begin(struct tx *tx, struct arena *a, struct str ns, struct inv_batch *b)
{
    b->nissuers = 0;
    return inv_policy_tx(tx, a, ns, &b->policy);
}

static bool
is_ca(const struct val *obj)
{
    struct val *v = val_get(obj, "isCA");

    return v != NULL && v->t == V_BOOL && v->b;
}

/* A certificate found by a scan and then imported (or issued) is no longer
 * only DISCOVERED: someone vouches for it, and a CA among them may then
 * anchor the validation of discovered chains (docs/discovery.md). */
static int
claim_discovered(struct tx *tx, struct arena *a, struct val *found, const char *source)
{
    if (strcmp(source, "DISCOVERED") == 0 ||
        !str_eq_c(val_get_str(found, "source"), "DISCOVERED"))
        return E_OK;
    val_set(a, found, "source", val_cstr(source));
    val_set(a, found, "updateTime", val_time(a, time_now_ms()));
    return tx->ops->update(tx, &spec_certificate, found, NULL);
}

/* What became of one certificate's insert (rc): stored, announced and, for
 * a CA, its leaves linked later; or, when its fingerprint was taken, the one
 * stored before (*dup). */
static int
after_insert(struct tx *tx, struct arena *a, struct str ns, const char *source, int rc,
             struct val *out, bool *dup, struct errbuf *eb)
{
    if (rc == E_DUPLICATE && (rc = inv_find_same(tx, a, ns, out, out)) == E_OK) {
        *dup = true;
        rc = claim_discovered(tx, a, out, source);
        return rc == E_OK ? E_OK : errbuf_set(eb, rc, "store error");
    }
    if (rc != E_OK)
        return errbuf_set(eb, rc == E_NOTFOUND ? E_NOTFOUND : rc,
                          rc == E_NOTFOUND ? "Namespace '%.*s' does not exist" : "store error",
                          STR_FMT(ns));
    if ((rc = inv_announce(tx, a, ns, out, NULL, eb)) != E_OK)
        return rc;
    if (is_ca(out) && (rc = inv_link_later(tx, ns, val_get_str(out, "ID"))) != E_OK)
        return errbuf_set(eb, rc, "cannot queue the linking job");
    return E_OK;
}

/* Each certificate is inserted first and looked up only when its fingerprint
 * was taken, so that a new certificate costs the store one statement, and
 * the inserts go together (a round trip per 128 on PostgreSQL), not a
 * look-up and an insert each. Announced once stored. */
int
inv_put_each(struct tx *tx, struct arena *a, struct str ns, const struct inv_cert *const *c,
             size_t n, const char *source, struct inv_batch *b, struct val *out, bool *dup,
             struct errbuf *eb)
{
    int *rcs = arena_calloc(a, n > 0 ? n : 1, sizeof *rcs);
    int  rc;

    for (size_t i = 0; i < n; i++) {
        dup[i] = false;
        if ((rc = inv_object(a, ns, c[i], source, &out[i], eb)) != E_OK)
            return rc;
    }
    if (strcmp(source, "ISSUED") != 0 && (rc = inv_mark_revoked(tx, a, out, n)) != E_OK)
        return errbuf_set(eb, rc, "store error");
    for (size_t i = 0; i < n; i++)
        if ((rc = evaluate(tx, a, ns, &out[i], b != NULL ? &b->policy : NULL, b, eb)) != E_OK)
            return rc;
    if ((rc = store_insert_each(tx, &spec_certificate, out, n, rcs)) != E_OK)
        return errbuf_set(eb, rc, "store error");
    for (size_t i = 0; i < n; i++)
        if ((rc = after_insert(tx, a, ns, source, rcs[i], &out[i], &dup[i], eb)) != E_OK)
            return rc;
    return E_OK;
}

int
inv_put(struct tx *tx, struct arena *a, struct str ns, const struct inv_cert *c,
        const char *source, struct inv_batch *b, struct val *out, bool *dup, struct errbuf *eb)
{
    return inv_put_each(tx, a, ns, &c, 1, source, b, out, dup, eb);
}

/* ---- hooks ------------------------------------------------------------------ */

/* What prepare read for before_write: the chain's other certificates. */
struct chain {
    struct inv_cert *certs;
    size_t           n;
};

static int
cert_prepare(struct hook_ctx *ctx, const struct spec *s, struct val *obj, bool create,
             struct errbuf *eb)
{
    struct chain *ch = arena_calloc(ctx->a, 1, sizeof *ch);
    struct val    errors, parsed;
    int           rc;

    KW_UNUSED(s);
    if (!create)
        return E_OK;
    struct str input = val_get_str(obj, "certificate");
    if (input.len == 0)
        return errbuf_attr(eb, E_VALIDATION, "certificate",
                           "Attribute 'certificate' is required");
    rc = inv_read(ctx->a, input, "certificate", true, &ch->certs, &ch->n, &errors, eb);
    if (rc != E_OK)
        return rc;
    val_del(obj, "certificate");
    if ((rc = inv_object(ctx->a, ctx->ns, &ch->certs[0], "IMPORTED", &parsed, eb)) != E_OK)
        return rc;
    for (size_t i = 0; i < parsed.m.n; i++) /* keep the request's ID, times and tags */
        if (val_get_s(obj, parsed.m.kv[i].k) == NULL)
            val_set_s(ctx->a, obj, parsed.m.kv[i].k, parsed.m.kv[i].v);
    ctx->data = ch;
    return E_OK;
}

int
inv_rank(const struct inv_cert *c)
{
    struct val *self = val_get(&c->fields, "selfSigned");

    return self != NULL && self->t == V_BOOL && self->b ? 0 : is_ca(&c->fields) ? 1 : 2;
}

/* Whether CA `c` is issued by one of order[from..to) (its subject). */
static bool
issued_among(const struct inv_cert *certs, const size_t *order, size_t from, size_t to,
             const struct inv_cert *c)
{
    struct str issuer = val_get_str(&c->fields, "issuer");

    for (size_t j = from; j < to; j++)
        if (&certs[order[j]] != c &&
            str_eq(val_get_str(&certs[order[j]].fields, "subject"), issuer))
            return true;
    return false;
}

/* The CAs order[from..to) with each after the one that issued it ([leaf,
 * int2, int1, root] gives int1 before int2: a code review), when they are
 * few (quadratic); a loop of CAs keeps its order. */
#define ORDER_CAS_MAX 64
static void
order_cas(const struct inv_cert *certs, size_t *order, size_t from, size_t to)
{
    if (to - from > ORDER_CAS_MAX)
        return;
    for (size_t k = from; k < to; k++) {
        size_t pick = k;
        for (size_t j = k; j < to; j++)
            if (!issued_among(certs, order, k, to, &certs[order[j]])) {
                pick = j;
                break;
            }
        size_t chosen = order[pick];
        memmove(order + k + 1, order + k, (pick - k) * sizeof *order);
        order[k] = chosen;
    }
}

size_t *
inv_order(struct arena *a, const struct inv_cert *certs, size_t n)
{
    size_t *order = arena_calloc(a, n ? n : 1, sizeof *order), k = 0, cas = 0;

    for (int r = 0; r <= 2; r++) { /* three passes: stable */
        if (r == 1)
            cas = k;
        for (size_t i = 0; i < n; i++)
            if (inv_rank(&certs[i]) == r)
                order[k++] = i;
        if (r == 1)
            order_cas(certs, order, cas, k);
    }
    return order;
}

/* The chain's other certificates, issuers first (inv_order), so that each
 * links to the one above it, whatever order the chain came in; the first one
 * (answered: `first`, stored or to be stored in this transaction) is known to
 * the batch as an issuer, so that those it issued link to it too (a chain
 * sent root first linked nothing until the background caught up: an
 * acceptance check). A member that is the first one again is not stored
 * twice. */
static int
put_members(struct hook_ctx *ctx, struct tx *tx, const struct chain *ch,
            const struct val *first, struct inv_batch *b, struct errbuf *eb)
{
    struct str fp = val_get_str(first, "fingerprint");
    size_t    *order = inv_order(ctx->a, ch->certs + 1, ch->n - 1);
    struct val member;
    bool       dup;
    int        rc;

    batch_keep(b, val_get_str(first, "subjectKeyIdentifier"), val_get_str(first, "subject"),
               first);
    for (size_t k = 0; k + 1 < ch->n; k++) {
        const struct inv_cert *c = &ch->certs[1 + order[k]];
        if (str_eq(val_get_str(&c->fields, "fingerprint"), fp))
            continue;
        if ((rc = inv_put(tx, ctx->a, ctx->ns, c, "IMPORTED", b, &member, &dup, eb)) != E_OK)
            return rc;
    }
    return E_OK;
}

/* A create stores the chain's other certificates (put_members), and the first
 * one unless the namespace has it already: then that one is the answer. */
static int
cert_create(struct hook_ctx *ctx, struct tx *tx, struct val *obj, struct errbuf *eb)
{
    struct chain     *ch = ctx->data;
    struct inv_batch *b = arena_calloc(ctx->a, 1, sizeof *b);
    int               rc;

    if ((rc = inv_batch_begin(tx, ctx->a, ctx->ns, b)) != E_OK)
        return errbuf_set(eb, rc, "store error");
    rc = inv_find_same(tx, ctx->a, ctx->ns, obj, &ctx->found);
    if (rc == E_OK && (rc = claim_discovered(tx, ctx->a, &ctx->found, "IMPORTED")) != E_OK)
        return errbuf_set(eb, rc, "store error");
    if (rc != E_OK && rc != E_NOTFOUND)
        return errbuf_set(eb, rc, "store error");
    if (rc == E_OK)
        return put_members(ctx, tx, ch, &ctx->found, b, eb);
    ctx->found = val_null();
    if ((rc = put_members(ctx, tx, ch, obj, b, eb)) != E_OK)
        return rc;
    if ((rc = inv_mark_revoked(tx, ctx->a, obj, 1)) != E_OK)
        return errbuf_set(eb, rc, "store error");
    if ((rc = evaluate(tx, ctx->a, ctx->ns, obj, &b->policy, b, eb)) != E_OK ||
        (rc = inv_announce(tx, ctx->a, ctx->ns, obj, NULL, eb)) != E_OK)
        return rc;
    if (is_ca(obj) && (rc = inv_link_later(tx, ctx->ns, val_get_str(obj, "ID"))) != E_OK)
        return errbuf_set(eb, rc, "cannot queue the linking job");
    return E_OK;
}

static int
cert_before_write(struct hook_ctx *ctx, const struct spec *s, struct tx *tx, struct val *obj,
                  const struct val *old, struct errbuf *eb)
{
    KW_UNUSED(s);
    if (old == NULL)
        return cert_create(ctx, tx, obj, eb);
    return inv_complete(tx, ctx->a, ctx->ns, obj, old, NULL, eb); /* retired, say */
}

static void
cert_present(struct arena *a, const struct spec *s, struct val *obj, int64_t now)
{
    KW_UNUSED(s);
    if (val_get(obj, "status") != NULL)
        val_set(a, obj, "status", val_cstr(inv_status_at(obj, now)));
    /* weaknesses asked for (or the whole object): its inputs were read too */
    if (val_get(obj, "weaknesses") != NULL || val_get(obj, "issuerValidityEnd") != NULL)
        inv_weaknesses_at(a, obj, now);
}

/* ---- status in filters ------------------------------------------------------ */

static struct fnode *
stored_is(struct arena *a, const char *status)
{
    return filter_cmp(a, "status", F_EQ, (struct fval){ .t = FV_STR, .s = str_c(status) });
}

static struct fnode *
time_cmp(struct arena *a, const char *field, enum fop op, int64_t now)
{
    return filter_cmp(a, field, op, (struct fval){ .t = FV_TIME, .i = now });
}

#define AND(x, y) filter_bool(a, F_AND, (x), (y))
#define OR(x, y)  filter_bool(a, F_OR, (x), (y))

/* Rows stored in an earlier state that the clock has moved on: the sweep stores
 * them within monitor_interval, so there are few. */
static struct fnode *
caught_up(struct fnode *f)
{
    f->few = true;
    return f;
}

/* The rows whose status is `st` at `now`: stored states only move forward
 * (ACTIVE, EXPIRING, EXPIRED) as time passes, so a row is in `st` when it was
 * stored so and has not moved on since, or was stored in an earlier state and
 * has reached `st` since. Each branch is a range of a (status, time) index. */
static struct fnode *
status_cond(struct arena *a, const char *st, int64_t now)
{
    if (strcmp(st, "ACTIVE") == 0)
        return AND(stored_is(a, "ACTIVE"), time_cmp(a, "expiringTime", F_GT, now));
    if (strcmp(st, "EXPIRING") == 0)
        return OR(
            AND(stored_is(a, "EXPIRING"), time_cmp(a, "validityEnd", F_GT, now)),
            caught_up(AND(AND(stored_is(a, "ACTIVE"), time_cmp(a, "expiringTime", F_LE, now)),
                          time_cmp(a, "validityEnd", F_GT, now))));
    if (strcmp(st, "EXPIRED") == 0)
        return OR(
            stored_is(a, "EXPIRED"),
            OR(caught_up(AND(stored_is(a, "ACTIVE"), time_cmp(a, "validityEnd", F_LE, now))),
               caught_up(
                   AND(stored_is(a, "EXPIRING"), time_cmp(a, "validityEnd", F_LE, now)))));
    return stored_is(a, st); /* REVOKED, RETIRED: no clock */
}

static bool
listed(const struct fval *v, const char *st)
{
    const struct fval *items = v->t == FV_LIST ? v->items : v;
    size_t             n = v->t == FV_LIST ? v->n : 1;

    for (size_t i = 0; i < n; i++)
        if (items[i].t == FV_STR && str_eq_c(items[i].s, st))
            return true;
    return false;
}

static bool
all_strings(const struct fval *v)
{
    const struct fval *items = v->t == FV_LIST ? v->items : v;
    size_t             n = v->t == FV_LIST ? v->n : 1;

    for (size_t i = 0; i < n; i++)
        if (items[i].t != FV_STR)
            return false;
    return true;
}

/* status ==, !=, in, not in, exists, not exists: the union of the matching
 * statuses' conditions (they partition the rows). */
static int
status_rewrite(struct arena *a, const struct fnode *cmp, int64_t now, struct fnode **out,
               struct errbuf *eb)
{
    bool          negate = cmp->op == F_NE || cmp->op == F_NOT_IN || cmp->op == F_NOT_EXISTS;
    struct fnode *u = NULL;

    if (cmp->op != F_EQ && cmp->op != F_NE && cmp->op != F_IN && cmp->op != F_NOT_IN &&
        cmp->op != F_EXISTS && cmp->op != F_NOT_EXISTS)
        return errbuf_attr(eb, E_BADREQ, "status",
                           "field 'status' takes ==, !=, in, not in, exists and not exists");
    bool any = cmp->op == F_EXISTS || cmp->op == F_NOT_EXISTS;
    if (!any && (cmp->op == F_IN || cmp->op == F_NOT_IN) != (cmp->v.t == FV_LIST))
        return errbuf_attr(eb, E_BADREQ, "status", "field 'status' must be compared with %s",
                           cmp->v.t == FV_LIST ? "a string" : "a list");
    if (!any && !all_strings(&cmp->v)) /* status == 1 matched nothing, != 1 everything */
        return errbuf_attr(eb, E_BADREQ, "status",
                           "field 'status' must be compared with a string");
    for (const char *const *st = statuses; *st != NULL; st++) {
        if (!any && listed(&cmp->v, *st) == negate)
            continue;
        if (any && negate)
            continue;
        struct fnode *c = status_cond(a, *st, now);
        u = u == NULL ? c : OR(u, c);
    }
    *out = u != NULL ? u : filter_cmp(a, "ID", F_NOT_EXISTS, (struct fval){ .t = FV_NONE });
    return E_OK;
}

/* Linked to an issuer whose end has passed since the row was stored: it has
 * EXPIRED_ISSUER, not stored yet (its issuerValidityEnd is absent once it is;
 * inv_evaluate). A range of the (issuerValidityEnd) index: the sweep stores
 * them within monitor_interval, so there are few. */
struct fnode *
inv_issuer_expired_cond(struct arena *a, int64_t now)
{
    struct fnode *linked = filter_cmp(a, "issuerCertificateID", F_EXISTS, (struct fval){ 0 });

    return caught_up(AND(time_cmp(a, "issuerValidityEnd", F_LE, now), linked));
}

/* Its negation: rows that do not have it without storing it. */
static struct fnode *
issuer_not_expired(struct arena *a, int64_t now)
{
    struct fnode *unlinked =
        filter_cmp(a, "issuerCertificateID", F_NOT_EXISTS, (struct fval){ 0 });
    struct fnode *none = filter_cmp(a, "issuerValidityEnd", F_NOT_EXISTS, (struct fval){ 0 });

    return OR(OR(none, time_cmp(a, "issuerValidityEnd", F_GT, now)), unlinked);
}

/* Whether the comparison `cmp` on weaknesses holds for an element
 * EXPIRED_ISSUER (==, contains, in, matches) or refuses it (!=, not contains,
 * not in); exists and not exists: for any element. */
static bool
names_expired_issuer(struct arena *a, const struct fnode *cmp)
{
    switch (cmp->op) {
    case F_EXISTS:
    case F_NOT_EXISTS:
        return true;
    case F_MATCHES:
        return cmp->v.t == FV_STR && filter_regex_matches(a, cmp->v.s, "EXPIRED_ISSUER");
    default:
        return listed(&cmp->v, "EXPIRED_ISSUER");
    }
}

/* weaknesses: the stored list, and EXPIRED_ISSUER where it is due and not
 * stored yet (inv_weaknesses_at): a comparison that accepts that element also
 * takes those rows, one that refuses it leaves them out. Others, and an
 * operator lists do not take, are the stored list's (the compiler answers). */
static int
weakness_rewrite(struct arena *a, const struct fnode *cmp, int64_t now, struct fnode **out)
{
    struct fnode *stored = arena_alloc(a, sizeof *stored);

    *stored = *cmp;
    stored->trusted = true; /* on the stored column, as a client wrote it */
    *out = stored;
    if (!names_expired_issuer(a, cmp))
        return E_OK;
    switch (cmp->op) {
    case F_EQ:
    case F_CONTAINS:
    case F_IN:
    case F_MATCHES:
    case F_EXISTS:
        *out = OR(stored, inv_issuer_expired_cond(a, now));
        break;
    case F_NE:
    case F_NOT_CONTAINS:
    case F_NOT_IN:
    case F_NOT_EXISTS:
        *out = AND(stored, issuer_not_expired(a, now));
        break;
    default:
        break;
    }
    return E_OK;
}

static int
cert_rewrite(struct arena *a, const struct spec *s, const struct fnode *cmp, int64_t now,
             struct fnode **out, struct errbuf *eb)
{
    KW_UNUSED(s);
    if (str_eq_c(cmp->field, "weaknesses"))
        return weakness_rewrite(a, cmp, now, out);
    return status_rewrite(a, cmp, now, out, eb);
}

#undef AND
#undef OR

/* ---- GET /certificates/:id/contents ------------------------------------------ */

int
inv_pem_append(struct buf *out, struct str b64)
{
    int rc = buf_puts(out, "-----BEGIN CERTIFICATE-----\n");

    for (size_t i = 0; i < b64.len && rc == E_OK; i += 64) {
        rc = buf_append(out, b64.p + i, b64.len - i < 64 ? b64.len - i : 64);
        if (rc == E_OK)
            rc = buf_putc(out, '\n');
    }
    return rc == E_OK ? buf_puts(out, "-----END CERTIFICATE-----\n") : rc;
}

#define CHAIN_MAX 16

static bool
seen_in(const struct str *ids, int n, struct str id)
{
    for (int i = 0; i < n; i++)
        if (str_eq(ids[i], id))
            return true;
    return false;
}

/* The issuers above obj, linked within its own namespace (which a recursive
 * read may have found below X-Namespace), each once: two CAs that certify
 * each other end the chain where it would come back. */
static int
contents_chain(struct hook_ctx *ctx, const struct val *obj, struct buf *out)
{
    struct scope  sc = { val_get_str(obj, "namespace"), false };
    struct val    cur = *obj;
    struct errbuf eb = { 0 };
    struct str    ids[CHAIN_MAX] = { val_get_str(obj, "ID") };
    int           rc = E_OK;

    for (int depth = 1; depth < CHAIN_MAX && rc == E_OK; depth++) {
        struct str up = val_get_str(&cur, "issuerCertificateID");
        if (up.len == 0 || seen_in(ids, depth, up))
            break;
        ids[depth] = up;
        rc = kw_store->ops->find(kw_store, &spec_certificate, &sc, "ID", up, ctx->a, &cur, &eb);
        if (rc == E_NOTFOUND)
            return E_OK; /* deleted since: the chain ends here */
        if (rc == E_OK)
            rc = inv_pem_append(out, val_get_str(&cur, "der"));
    }
    return rc;
}

static int
cert_contents(struct hook_ctx *ctx, const struct spec *s, const struct val *obj,
              struct val *answer, struct errbuf *eb)
{
    struct str format = val_get_str(&ctx->params, "format");
    struct str chain = val_get_str(&ctx->params, "chain");
    struct buf out;
    bool       der = str_eq_nocase(format, "DER");
    int        rc;

    if (format.len == 0) /* Accept: application/pkix-cert asks for DER */
        der = ctx->accepted != NULL && strcmp(ctx->accepted, "application/pkix-cert") == 0;

    KW_UNUSED(s);
    KW_UNUSED(answer);
    if (format.len > 0 && !der && !str_eq_nocase(format, "PEM"))
        return errbuf_attr(eb, E_BADREQ, "format",
                           "Query parameter 'format' must be PEM or DER");
    if (chain.p != NULL && !str_eq_c(chain, "true") && !str_eq_c(chain, "false"))
        return errbuf_attr(eb, E_BADREQ, "chain",
                           "Query parameter 'chain' must be true or false");
    if (der && str_eq_c(chain, "true"))
        return errbuf_attr(eb, E_BADREQ, "format",
                           "A chain is PEM only: use format=PEM with chain=true");
    struct str b64 = val_get_str(obj, "der");
    if (der) {
        unsigned char *bin = arena_alloc(ctx->a, b64.len);
        long           n = b64_decode(b64.p, b64.len, bin);
        if (n < 0)
            return errbuf_set(eb, E_INTERNAL, "stored certificate undecodable");
        ctx->body = (struct str){ (const char *)bin, (size_t)n };
        ctx->body_type = "application/pkix-cert";
        return E_OK;
    }
    buf_init(&out, SIZE_MAX / 2);
    rc = inv_pem_append(&out, b64);
    if (rc == E_OK && str_eq_c(chain, "true"))
        rc = contents_chain(ctx, obj, &out);
    if (rc != E_OK) {
        buf_free(&out);
        return errbuf_set(eb, E_INTERNAL, "cannot write the certificate");
    }
    ctx->body = arena_str(ctx->a, buf_str(&out));
    buf_free(&out);
    ctx->body_type = "application/pem-certificate-chain";
    return E_OK;
}

static const char *const contents_params[] = { "format", "chain", NULL };

static const char *const contents_types[] = { "application/pem-certificate-chain",
                                              "application/pkix-cert", NULL };

static const struct spec_action certificate_actions[] = {
    { .name = "contents",
      .verb = VERB_GET,
      .read = cert_contents,
      .params = contents_params,
      .produces = contents_types },
    { 0 },
};

/* "*status,ID,validityEnd": the pages of a status in ID order, walked (sql.c
 * branches_page) instead of sorting every match. */
/* The sweep's and the status filters' ranges of (status, time): with the
 * other time in the index, a status's rows the sweep has not caught up with
 * (stored ACTIVE, expiringTime passed, validityEnd not) are counted from the
 * index alone; PostgreSQL, which cannot know that they are few, scanned the
 * table for them (350 ms at 1,000,000; 0.1 ms so). */
static const char *const certificate_indexes[] = {
    "*status,validityEnd",
    "*status,expiringTime,validityEnd",
    "*status,ID,validityEnd",
    "validityEnd",
    "subjectCN",
    "subject",
    "subjectKeyIdentifier",
    "issuerCertificateID",
    /* a serial in any namespace: OCSP's look-up of what a CA issued (public.c), and
     * searches by serial */
    "*serialNumber",
    /* the rows that have EXPIRED_ISSUER without storing it (inv_issuer_expired_cond):
     * for the sweep, and found first by filters and reports on weaknesses */
    "*issuerValidityEnd",
    NULL,
};

static const char *const certificate_dropped_indexes[] = {
    "*status,expiringTime", /* before validityEnd joined it */
    NULL,
};

/* What reports count (report.c): kept by the store as certificates are written. */
/* The counts per stored status and day of validityEnd or expiringTime are also
 * what the counts of lists filtered on status and validityEnd read
 * (sql_counts.c); reports' counts per status are their sums. */
static const char *const certificate_counted[] = {
    "source",     "signatureAlgorithm",     "keyAlgorithm,keySize",    "issuer,issuerCN",
    "weaknesses", "status,validityEnd/day", "status,expiringTime/day", NULL,
};

static const char *const certificate_csv[] = {
    "ID",          "namespace",    "subjectCN", "issuerCN",           "serialNumber",
    "fingerprint", "keyAlgorithm", "keySize",   "signatureAlgorithm", "validityStart",
    "validityEnd", "status",       "source",    "dnsNames",           "weaknesses",
    NULL,
};

static const char *const certificate_raw[] = { "application/pem-certificate-chain",
                                               "application/x-pem-file",
                                               "application/pkix-cert", NULL };

/* Revocations are issuance's (issuance/revoke.c), created at
 * /certificates/:id/revocations; instances are discovery's (where it was
 * seen). */
static const char *const certificate_children[] = { "revocations", "certificateinstances",
                                                    NULL };

/* How many of a deleted issuer's certificates its delete unlinks in its own
 * transaction: all of them for all but the largest CAs; those of a CA of
 * more (a million leaves) are left to a re-evaluation in the background. */
#define UNLINK_NOW 100

/* The certificates `issuer_id` (deleted) issued lose their link, and with it
 * EXPIRED_ISSUER, or link to another certificate of the namespace that
 * issued them (evaluate). Server maintenance: updateTime stays (API.md 6). */
static int
unlink_issued(struct hook_ctx *ctx, struct tx *tx, struct str issuer_id, struct errbuf *eb)
{
    struct fval       id = { .t = FV_STR, .s = issuer_id };
    struct listq      q = { .scope = { ctx->ns, false },
                            .filter = filter_cmp(ctx->a, "issuerCertificateID", F_EQ, id),
                            .limit = UNLINK_NOW };
    struct inv_batch *b = arena_calloc(ctx->a, 1, sizeof *b);
    struct val        items;
    int               rc = tx->ops->list(tx, &spec_certificate, &q, ctx->a, &items);

    if (rc == E_OK && items.a.n > 0)
        rc = inv_batch_begin(tx, ctx->a, ctx->ns, b);
    if (rc != E_OK)
        return errbuf_set(eb, rc, "store error");
    for (size_t i = 0; i < items.a.n; i++) {
        struct val *cert = &items.a.v[i], old = val_clone(ctx->a, cert);
        val_del(cert, "issuerCertificateID"); /* spares evaluate a look-up of it */
        if ((rc = evaluate(tx, ctx->a, ctx->ns, cert, &b->policy, b, eb)) != E_OK ||
            (rc = inv_announce(tx, ctx->a, ctx->ns, cert, &old, eb)) != E_OK)
            return rc;
        if ((rc = tx->ops->update(tx, &spec_certificate, cert, NULL)) != E_OK)
            return errbuf_set(eb, rc, "store error");
    }
    if (items.a.n == UNLINK_NOW && (rc = inv_unlink_later(tx, ctx->ns, issuer_id)) != E_OK)
        return errbuf_set(eb, rc, "cannot queue the re-evaluation");
    return E_OK;
}

/* A certificate a console CA issued is that CA's to revoke, through this
 * object (POST /certificates/:id/revocations): while it is valid, not revoked
 * and its CA is there, deleting it leaves nothing to revoke it by. So a leaf
 * goes (API.md 7.1) only for a caller who could have revoked it
 * (revocation,post: else an editor without it strips the CA's owner of
 * revoking), and the certificate of a CA below stays until it is revoked or
 * expires (its CA is deleted instead; docs/issuance.md). */
static int
cert_before_delete(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                   const struct val *obj, struct errbuf *eb)
{
    const struct spec *cas = spec_by_rest(STR("certificateauthorities"));
    const struct spec *revocations = spec_by_rest(STR("revocations"));
    struct str         ca_id = val_get_str(obj, "certificateAuthorityID");
    struct str         id = val_get_str(obj, "ID");
    int64_t            end = end_of(obj);
    struct val         ca;
    int                rc;

    KW_UNUSED(s);
    if (cas == NULL || ca_id.len == 0 || val_get_str(obj, "revocationTime").len > 0 ||
        end <= time_now_ms())
        return E_OK;
    rc = tx->ops->find(tx, cas, NULL, "ID", ca_id, ctx->a, &ca);
    if (rc == E_NOTFOUND)
        return E_OK; /* nothing can revoke it any more */
    if (rc != E_OK)
        return errbuf_set(eb, rc, "store error");
    if (is_ca(obj))
        return errbuf_set(eb, E_VALIDATION,
                          "The certificate of a certificate authority cannot be deleted while "
                          "it is valid: revoke it first (POST /certificates/%.*s/revocations), "
                          "or delete its certificate authority",
                          STR_FMT(id));
    if (revocations != NULL && ctx->may != NULL &&
        ctx->may(ctx, revocations, VERB_POST, ctx->ns, eb) != E_OK)
        return errbuf_set(eb, E_FORBIDDEN,
                          "Deleting a valid certificate a console certificate authority issued "
                          "leaves nothing to revoke it by: it takes revocation,post too");
    return E_OK;
}

/* A certificate leaves the inventory with its instances (API.md 7.1) and
 * its links from the certificates it issued; its revocation stays, so that
 * it never leaves its CA's CRL. */
static int
cert_after_delete(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                  const struct val *obj, struct errbuf *eb)
{
    const struct spec *inst = spec_by_rest(STR("certificateinstances"));
    struct scope       sc = { ctx->ns, false };
    int                rc;

    KW_UNUSED(s);
    if ((rc = unlink_issued(ctx, tx, val_get_str(obj, "ID"), eb)) != E_OK || inst == NULL)
        return rc;
    rc = store_delete_where(tx, inst, &sc, "certificateID", val_get_str(obj, "ID"), ctx->a,
                            NULL);
    return rc == E_OK ? E_OK : errbuf_set(eb, rc, "store error");
}

static struct spec_rt certificate_rt;

const struct spec spec_certificate = {
    .identity = "certificate",
    .rest = "certificates",
    .attrs = certificate_attrs,
    .nattrs = ARRAY_LEN(certificate_attrs),
    .unique = "fingerprint",
    .ops = OP_ALL,
    .access = ACCESS_NORMAL,
    .bulk = true,
    .actions = certificate_actions,
    .children = certificate_children,
    .hooks = { .prepare = cert_prepare,
               .before_write = cert_before_write,
               .before_delete = cert_before_delete,
               .after_delete = cert_after_delete,
               .present = cert_present,
               .rewrite = cert_rewrite },
    .csv_columns = certificate_csv,
    .indexes = certificate_indexes,
    .dropped_indexes = certificate_dropped_indexes,
    .counted = certificate_counted,
    .raw_types = certificate_raw,
    .raw_attr = "certificate",
    .rt = &certificate_rt,
};
