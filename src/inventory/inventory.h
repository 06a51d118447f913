/* inventory.h - the certificate inventory (API.md 7.1 to 7.3): the specs of
 * certificates, certificateimports, monitoringpolicies and certificatereports,
 * and what issuance and discovery use to put certificates into it.
 *
 * A certificate's stored `status` is its state when it was last evaluated (at
 * its write, by the monitoring sweep, or when a policy changed); `expiringTime`
 * (internal) is when it becomes EXPIRING under its namespace's policy. Reads
 * compute the status at the time of reading from both, and filters on it are
 * rewritten into conditions on them (certificate.c), so that a certificate
 * that expires while nobody writes it reads and filters as EXPIRED at once.
 * The sweep (monitor.c) stores the crossings and announces them once each.
 */
#ifndef KW_INVENTORY_H
#define KW_INVENTORY_H

#include "../jobs/jobs.h"
#include "../model/spec.h"
#include "../store/store.h"

extern const struct spec spec_certificate;       /* certificate.c */
extern const struct spec spec_certificateimport; /* imports.c */
extern const struct spec spec_monitoringpolicy;  /* monitor.c */
extern const struct spec spec_certificatereport; /* report.c */

/* The policy that applies to a namespace: its own monitoringpolicy, else its
 * nearest ancestor's, else the defaults of API.md 7.2. */
struct inv_policy {
    int64_t           expiring_days;
    int64_t           min_rsa, min_ec;
    int64_t           max_validity_days;
    const struct val *weak_sigs; /* an array of signature algorithm names */
};

/* The policy of namespace `ns`, read in the transaction or from the store. */
int inv_policy_tx(struct tx *tx, struct arena *a, struct str ns, struct inv_policy *p);
int inv_policy_read(struct arena *a, struct str ns, struct inv_policy *p);

/* Set `cert`'s expiringTime, weaknesses, stored status and issuerValidityEnd
 * as of `now_ms` under policy `p`; issuer_end is the validityEnd of its issuer
 * in the inventory (INV_NO_ISSUER: none known). An issuer that has ended makes
 * EXPIRED_ISSUER; one that has not is kept in issuerValidityEnd (internal), so
 * that reads and filters add EXPIRED_ISSUER once that time has passed, before
 * the sweep stores it (inv_weaknesses_at; certificate.c rewrites filters on
 * weaknesses likewise). */
#define INV_NO_ISSUER INT64_MAX
void inv_evaluate(struct arena *a, struct val *cert, const struct inv_policy *p,
                  int64_t issuer_end, int64_t now_ms);

/* Whether stored `cert` has EXPIRED_ISSUER at `now_ms` without storing it: it
 * is linked and its issuerValidityEnd has passed. */
bool inv_issuer_expired_at(const struct val *cert, int64_t now_ms);
/* Add to `cert`'s weaknesses (in `a`) the EXPIRED_ISSUER it has at `now_ms`
 * and that is not stored yet. */
void inv_weaknesses_at(struct arena *a, struct val *cert, int64_t now_ms);

/* The filter (trusted, in `a`) of the certificates that have EXPIRED_ISSUER at
 * `now_ms` without storing it: the few rows the sweep has not stored yet. */
struct fnode *inv_issuer_expired_cond(struct arena *a, int64_t now_ms);

/* The status `cert` has at `now_ms`, from its stored status, expiringTime and
 * validityEnd. */
const char *inv_status_at(const struct val *cert, int64_t now_ms);

/* One parsed certificate on its way into the inventory. */
struct inv_cert {
    struct val fields; /* inv_parse()'s map */
    struct str der;    /* the DER, base64 */
};

/* Where a certificate goes when several are stored together, so that each
 * links to its issuer: 0, self-signed (a root, also one without the CA flag:
 * X.509 v1); 1, a CA; 2, a leaf, which issues nothing. inv_order: the
 * indexes of certs[0..n) by rank, stable (in the arena). */
int     inv_rank(const struct inv_cert *c);
size_t *inv_order(struct arena *a, const struct inv_cert *certs, size_t n);

/* Parse what a client sent (`input`: PEM, base64 DER or PKCS#7) into certs
 * (in the arena, *n of them, in input order). With `all_or_nothing`, any bad
 * block refuses the whole input (422 on `attr`); otherwise bad blocks are left
 * out and listed in *errors ({index, reason} maps). */
int inv_read(struct arena *a, struct str input, const char *attr, bool all_or_nothing,
             struct inv_cert **certs, size_t *n, struct val *errors, struct errbuf *eb);

/* One DER certificate (a console CA just signed it) as an inv_cert. */
int inv_cert_of_der(struct arena *a, const unsigned char *der, size_t len, struct inv_cert *out,
                    struct errbuf *eb);

/* Append a certificate, given as the base64 of its DER (inv_cert.der, a stored
 * `der`), as a PEM block. */
int inv_pem_append(struct buf *out, struct str der_b64);

/* A new certificate object in namespace `ns` from c: its fields, source, DER
 * (ID and times set; not yet stored). */
int inv_object(struct arena *a, struct str ns, const struct inv_cert *c, const char *source,
               struct val *obj, struct errbuf *eb);

/* Inside a transaction: the stored certificate of `ns` with obj's
 * fingerprint into *found (E_NOTFOUND when there is none). */
int inv_find_same(struct tx *tx, struct arena *a, struct str ns, const struct val *obj,
                  struct val *found);

/* Inside a transaction, before obj (new, or updated) is written: link it to
 * its issuer in the namespace, evaluate it under `p` (NULL: the namespace's),
 * and queue the announcements of the states it enters (old: its stored state,
 * NULL for a new one). */
int inv_complete(struct tx *tx, struct arena *a, struct str ns, struct val *obj,
                 const struct val *old, const struct inv_policy *p, struct errbuf *eb);

/* ---- a certificate's copies in other namespaces (copies.c) ---------------- */

/* Inside a transaction: marks REVOKED, as `cert` (just revoked) is, the other
 * objects of the same certificate in any namespace (imported or discovered
 * copies), at most INV_COPIES_MAX (a retired one stays RETIRED). */
#define INV_COPIES_MAX 1000
int inv_revoke_copies(struct tx *tx, struct arena *a, const struct val *cert);
/* Inside a transaction: objs[0..n), about to be stored and not ISSUED, that
 * are copies of a certificate a console CA issued and revoked read REVOKED
 * as it does. */
int inv_mark_revoked(struct tx *tx, struct arena *a, struct val *objs, size_t n);

/* What the inv_put calls of one transaction in one namespace share: the
 * namespace's policy, read once, and the issuers found so far (a bundle's
 * leaves name the same few CAs: each is looked up and decoded once). Lives in
 * the transaction's arena; inv_batch_begin again for another transaction. */
#define INV_ISSUERS_MAX 64
struct inv_batch {
    struct inv_policy policy;
    struct {
        struct str aki, dn;
        struct val obj;
    } issuers[INV_ISSUERS_MAX];
    size_t nissuers;
};
int inv_batch_begin(struct tx *tx, struct arena *a, struct str ns, struct inv_batch *b);

/* Inside a transaction: store c in `ns` unless a certificate with its
 * fingerprint is there already (then *dup and *out is that one). `b`: the
 * batch it is part of (NULL: the policy is read for this one). */
int inv_put(struct tx *tx, struct arena *a, struct str ns, const struct inv_cert *c,
            const char *source, struct inv_batch *b, struct val *out, bool *dup,
            struct errbuf *eb);
/* inv_put of each of c[0..n), out[i] and dup[i] its answers, the inserts
 * sent together (store_insert_each). None of them may be another's issuer:
 * they are all linked before any is stored (a bundle's leaves). */
int inv_put_each(struct tx *tx, struct arena *a, struct str ns, const struct inv_cert *const *c,
                 size_t n, const char *source, struct inv_batch *b, struct val *out, bool *dup,
                 struct errbuf *eb);

/* Inside a transaction: queue the webhook events of the states obj enters
 * (old: as stored before, NULL for a new certificate): certificate.expiring,
 * certificate.expired, certificate.weak (a weakness it did not have). Each
 * crossing is announced once, by the write that stores it. */
int inv_announce(struct tx *tx, struct arena *a, struct str ns, const struct val *obj,
                 const struct val *old, struct errbuf *eb);

/* The background work of the inventory: the monitoring sweep (every
 * monitor_interval), re-evaluation after a policy changes, and linking the
 * certificates a newly imported CA issued. */
int inventory_register(struct jobs *j, struct errbuf *eb);

/* Queue the re-evaluation of every certificate in `ns` and below (a policy
 * changed), in the transaction. */
int inv_reevaluate_later(struct tx *tx, struct str ns);
/* Queue the linking of the certificates of `ns` that CA `ca` issued. */
int inv_link_later(struct tx *tx, struct str ns, struct str ca_id);
/* Queue the re-evaluation of the certificates of `ns` still linked to
 * `issuer_id`, which was deleted: each loses the link (and EXPIRED_ISSUER), or
 * links to another certificate of the namespace that issued it. */
int inv_unlink_later(struct tx *tx, struct str ns, struct str issuer_id);

#endif
