/* status.h - revocation status as relying parties read it: CRLs (RFC 5280
 * section 5) and OCSP (RFC 6960, in the lightweight profile of RFC 5019).
 *
 * Pure X.509 and ASN.1: no store, no HTTP, no cache (issuance/ keeps the
 * signed answers and decides when to sign again). CA keys are used only
 * through signer.c (ca.h). All functions are thread-safe.
 */
#ifndef KW_STATUS_H
#define KW_STATUS_H

#include <openssl/ocsp.h>

#include "../core/arena.h"
#include "../core/buf.h"
#include "ca.h"
#include "certutil.h"

/* RFC 5280 CRLReason codes (7 is unassigned). */
enum pki_reason {
    PKI_REASON_UNSPECIFIED = 0,
    PKI_REASON_KEY_COMPROMISE = 1,
    PKI_REASON_CA_COMPROMISE = 2,
    PKI_REASON_AFFILIATION_CHANGED = 3,
    PKI_REASON_SUPERSEDED = 4,
    PKI_REASON_CESSATION_OF_OPERATION = 5,
    PKI_REASON_CERTIFICATE_HOLD = 6,
    PKI_REASON_REMOVE_FROM_CRL = 8,
    PKI_REASON_PRIVILEGE_WITHDRAWN = 9,
    PKI_REASON_AA_COMPROMISE = 10,
};
/* "unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
 * "superseded", "cessationOfOperation", "certificateHold",
 * "privilegeWithdrawn", "aACompromise": the names a revocation accepts
 * (removeFromCRL is for delta CRLs only), NULL-terminated. */
extern const char *const pki_reason_names[];
/* The code of a name of pki_reason_names, or -1 (removeFromCRL too). */
int pki_reason_parse(const char *name);
/* The name of any code ("removeFromCRL" included), or NULL. */
const char *pki_reason_name(int code);

/* One revoked certificate. */
struct pki_revoked {
    const char *serial; /* lowercase hex of the magnitude (pki_serial_hex) */
    int64_t     time_ms;
    int         reason; /* enum pki_reason */
};

/* A full CRL of `ca`, v2, signed by it (signer.c): thisUpdate and nextUpdate,
 * the CRL number `number`, the authority key identifier, and each revoked
 * certificate with its revocation date and reason code (left out for
 * unspecified, as RFC 5280 5.3.1 recommends), in serial order. Appended to
 * *der (nothing is on failure). E_INTERNAL, naming the entry, for a serial
 * that is not positive lowercase hex of at most PKI_SERIAL_MAX bytes, a
 * serial given twice, a reason no full CRL carries (7, removeFromCRL), a
 * time before 1970 or after 9999, more than 4,000,000 entries; or when *der
 * would pass its maximum. 100,000 entries: 4.5 MB, 70 ms (bench/crl.c). */
int pki_crl_build(const struct ca *ca, const struct pki_revoked *v, size_t n,
                  int64_t this_update_ms, int64_t next_update_ms, uint64_t number,
                  struct buf *der, struct errbuf *eb);

/* The most CertIDs one request may name (RFC 6960 4.1.1 sets no limit; a
 * request of several is answered afresh, each CertID looked up): more is
 * malformed. */
#define PKI_OCSP_CERTIDS_MAX 16

/* One CertID of an OCSP request. */
struct pki_ocsp_query {
    int           hash_nid; /* the CertID's hash: NID_sha1, NID_sha256 ... */
    unsigned char name_hash[64], key_hash[64];
    size_t        hash_len;
    char          serial[PKI_SERIAL_HEX]; /* lowercase hex */
    void         *certid; /* the CertID as received (OCSP_CERTID *), echoed in the answer */
};

/* A parsed OCSP request: its CertIDs, in the request's order. */
struct pki_ocsp_request {
    size_t                n; /* 1 to PKI_OCSP_CERTIDS_MAX */
    struct pki_ocsp_query q[PKI_OCSP_CERTIDS_MAX];
};

/* Read a DER OCSPRequest (E_BADREQ when it does not parse, is followed by
 * more bytes, holds no CertID or more than PKI_OCSP_CERTIDS_MAX, or one with
 * hashes of two lengths or longer than 64 bytes, or a serial longer than
 * PKI_SERIAL_MAX bytes; signed requests are accepted and their signature
 * ignored, RFC 5019 2.1.2). The request holds what it points to until
 * pki_ocsp_request_free (which a failed read needs not, and which accepts a
 * zeroed request). */
int  pki_ocsp_request_read(const unsigned char *der, size_t len, struct pki_ocsp_request *req,
                           struct errbuf *eb);
void pki_ocsp_request_free(struct pki_ocsp_request *req);
/* Free what one CertID of a request points to; accepts a zeroed query. */
void pki_ocsp_query_free(struct pki_ocsp_query *q);
/* True when the query names `ca` as the issuer (its name and key hashes, in
 * the query's hash algorithm; false for an algorithm OpenSSL does not know). */
bool pki_ocsp_query_is_for(const struct pki_ocsp_query *q, const struct ca *ca);

/* The delegated responder of one CA (RFC 6960 4.2.2.2): a P-256 key that
 * lives only in memory, and its certificate signed by the CA (subject the
 * CA's with "<CA's CN> OCSP Responder" as CN, or a permitted directoryName
 * subtree of the CA's name constraints with that CN, extended key usage
 * OCSPSigning, id-pkix-ocsp-nocheck, valid from `now_ms` - 1 h to
 * not_after_ms, or to the CA's own notAfter when that comes first: see
 * pki_responder_not_after). A process makes its own and replaces it before
 * it expires; nothing of it is stored. E_INTERNAL. */
struct pki_responder;
int     pki_responder_new(const struct ca *ca, int64_t now_ms, int64_t not_after_ms,
                          struct pki_responder **out, struct errbuf *eb);
void    pki_responder_free(struct pki_responder *r);
int64_t pki_responder_not_after(const struct pki_responder *r);

/* For signer.c, which holds the responder's key: its certificate for `key`,
 * signed by the CA (ocsp.c); and the signature of an answer with it, by key
 * hash, the certificate included (signer.c). */
X509 *pki_responder_cert(const struct ca *ca, EVP_PKEY *key, int64_t now_ms,
                         int64_t not_after_ms, struct errbuf *eb);
int   pki_responder_sign(const struct pki_responder *r, OCSP_BASICRESP *bs);

enum pki_cert_status { PKI_STATUS_GOOD, PKI_STATUS_REVOKED, PKI_STATUS_UNKNOWN };

/* A signed BasicOCSPResponse for q (status, revocation time and reason for
 * REVOKED, the reason left out when unspecified; thisUpdate, nextUpdate;
 * responder ID by key hash; the responder certificate included; no nonce),
 * as a whole OCSPResponse appended to *der. `r` may sign from several
 * threads at once. E_INTERNAL (also for a reason pki_crl_build refuses). */
int pki_ocsp_sign(const struct pki_responder *r, const struct pki_ocsp_query *q,
                  enum pki_cert_status st, int64_t revoked_ms, int reason,
                  int64_t this_update_ms, int64_t next_update_ms, struct buf *der,
                  struct errbuf *eb);

/* What one SingleResponse says: of q, the status, and for REVOKED the
 * revocation time and reason. */
struct pki_ocsp_single {
    const struct pki_ocsp_query *q;
    enum pki_cert_status         st;
    int64_t                      revoked_ms;
    int                          reason;
};

/* As pki_ocsp_sign, one response holding a SingleResponse for each of
 * v[0..n), in order, all with the same thisUpdate and nextUpdate (RFC 6960
 * 4.2.2.3: one for each CertID of the request). E_INTERNAL also when n is 0
 * or above PKI_OCSP_CERTIDS_MAX. */
int pki_ocsp_sign_many(const struct pki_responder *r, const struct pki_ocsp_single *v, size_t n,
                       int64_t this_update_ms, int64_t next_update_ms, struct buf *der,
                       struct errbuf *eb);

/* The unsigned OCSPResponse for an error status: 1 malformedRequest,
 * 2 internalError, 3 tryLater, 5 sigRequired, 6 unauthorized (fixed bytes,
 * static; internalError's for any other status). */
struct str pki_ocsp_error(int status);

#endif
