/* ocsp.c - see status.h: OCSP requests read, and answers signed by a
 * delegated responder (RFC 6960 4.2.2.2) whose key never leaves this
 * process's memory; only its certificate is signed by the CA (signer.c). */
#include "status.h"

#include <limits.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#define BACKDATE_MS  (3600 * 1000) /* relying parties whose clocks run a little slow */
#define RESPONSE_MAX (64 * 1024)   /* 16 SingleResponses and the responder certificate */
#define CN_MAX       4096

static ASN1_TIME *
time_of(int64_t ms)
{
    if (ms < 0)
        return NULL;
    return ASN1_TIME_set(NULL, (time_t)(ms / 1000));
}

/* ---- requests ------------------------------------------------------------------ */

/* One CertID's fields into q. */
static int
certid_read(OCSP_CERTID *id, struct pki_ocsp_query *q, struct errbuf *eb)
{
    ASN1_OCTET_STRING *name = NULL, *key = NULL;
    ASN1_OBJECT       *md = NULL;
    ASN1_INTEGER      *serial = NULL;
    int                len;

    if (OCSP_id_get0_info(&name, &md, &key, &serial, id) != 1)
        return errbuf_set(eb, E_BADREQ, "ocsp: the request names no certificate");
    len = ASN1_STRING_length(name);
    if (len < 0 || len > (int)sizeof(q->name_hash) || ASN1_STRING_length(key) != len)
        return errbuf_set(eb, E_BADREQ, "ocsp: the request's hashes are not of one algorithm");
    if (pki_asn1_serial_hex(serial, q->serial) != E_OK)
        return errbuf_set(eb, E_BADREQ, "ocsp: the serial number is longer than %d bytes",
                          PKI_SERIAL_MAX);
    q->hash_nid = OBJ_obj2nid(md);
    q->hash_len = (size_t)len;
    memcpy(q->name_hash, ASN1_STRING_get0_data(name), q->hash_len);
    memcpy(q->key_hash, ASN1_STRING_get0_data(key), q->hash_len);
    /* the copy is encoded and read back: a CertID that does not survive it
     * (odd algorithm parameters) could not be echoed in an answer either */
    if ((q->certid = OCSP_CERTID_dup(id)) == NULL)
        return errbuf_set(eb, E_BADREQ, "ocsp: the request's CertID cannot be answered");
    return E_OK;
}

int
pki_ocsp_request_read(const unsigned char *der, size_t len, struct pki_ocsp_request *req,
                      struct errbuf *eb)
{
    const unsigned char *p = der;
    OCSP_REQUEST        *ocsp = NULL;
    OCSP_ONEREQ         *one;
    int                  n = 0, rc = E_OK;

    memset(req, 0, sizeof(*req));
    if (der == NULL || len == 0 || len > LONG_MAX ||
        (ocsp = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL || p != der + len) {
        rc = errbuf_set(eb, E_BADREQ, "ocsp: the request is not an OCSPRequest in DER");
        goto out;
    }
    if ((n = OCSP_request_onereq_count(ocsp)) < 1) {
        rc = errbuf_set(eb, E_BADREQ, "ocsp: the request names no certificate");
        goto out;
    }
    if (n > PKI_OCSP_CERTIDS_MAX) {
        rc = errbuf_set(eb, E_BADREQ, "ocsp: the request names %d certificates, more than %d",
                        n, PKI_OCSP_CERTIDS_MAX);
        goto out;
    }
    for (int i = 0; i < n && rc == E_OK; i++) {
        if ((one = OCSP_request_onereq_get0(ocsp, i)) == NULL)
            rc = errbuf_set(eb, E_BADREQ, "ocsp: the request names no certificate");
        else if ((rc = certid_read(OCSP_onereq_get0_id(one), &req->q[i], eb)) == E_OK)
            req->n++;
    }
out:
    if (rc != E_OK)
        pki_ocsp_request_free(req);
    OCSP_REQUEST_free(ocsp);
    ERR_clear_error();
    return rc;
}

void
pki_ocsp_request_free(struct pki_ocsp_request *req)
{
    for (size_t i = 0; i < ARRAY_LEN(req->q); i++)
        pki_ocsp_query_free(&req->q[i]);
    memset(req, 0, sizeof(*req));
}

void
pki_ocsp_query_free(struct pki_ocsp_query *q)
{
    OCSP_CERTID_free(q->certid);
    memset(q, 0, sizeof(*q));
}

bool
pki_ocsp_query_is_for(const struct pki_ocsp_query *q, const struct ca *ca)
{
    const X509   *x = pki_ca_cert(ca);
    const EVP_MD *md = EVP_get_digestbynid(q->hash_nid);
    unsigned char name[EVP_MAX_MD_SIZE], key[EVP_MAX_MD_SIZE];
    unsigned int  name_len = 0, key_len = 0;
    bool          same;

    if (md == NULL || q->hash_len == 0)
        return false;
    /* the key hash covers the subjectPublicKey BIT STRING's value (RFC 6960
     * 4.1.1), as X509_pubkey_digest computes it */
    same = X509_NAME_digest(X509_get_subject_name(x), md, name, &name_len) == 1 &&
           X509_pubkey_digest(x, md, key, &key_len) == 1 && name_len == q->hash_len &&
           key_len == q->hash_len && CRYPTO_memcmp(name, q->name_hash, q->hash_len) == 0 &&
           CRYPTO_memcmp(key, q->key_hash, q->hash_len) == 0;
    ERR_clear_error();
    return same;
}

/* ---- the responder --------------------------------------------------------------- */

/* "<old CN> OCSP Responder" into cn; the CA's name for a CA without a CN. */
static bool
responder_cn(const struct ca *ca, const X509_NAME_ENTRY *old, struct buf *cn)
{
    unsigned char *utf8 = NULL;
    int len = old != NULL ? ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(old)) : -1;
    int rc = len >= 0 ? buf_append(cn, utf8, (size_t)len) : buf_puts(cn, pki_ca_name(ca));

    OPENSSL_free(utf8);
    return rc == E_OK && buf_puts(cn, " OCSP Responder") == E_OK;
}

/* `base` with the responder's CN in place of its CN (appended when it has
 * none); the CN is made from the CA's own (responder_cn). */
static X509_NAME *
responder_name(const struct ca *ca, const X509_NAME *base)
{
    const X509_NAME *ca_name = X509_get_subject_name(pki_ca_cert(ca));
    int              ca_at = X509_NAME_get_index_by_NID(ca_name, NID_commonName, -1);
    X509_NAME       *n = X509_NAME_dup(base);
    int              at = n != NULL ? X509_NAME_get_index_by_NID(n, NID_commonName, -1) : -1;
    X509_NAME_ENTRY *old = at >= 0 ? X509_NAME_delete_entry(n, at) : NULL;
    struct buf       cn;
    bool             ok;

    buf_init(&cn, CN_MAX);
    ok = n != NULL &&
         responder_cn(ca, ca_at >= 0 ? X509_NAME_get_entry(ca_name, ca_at) : NULL, &cn) &&
         X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_UTF8STRING,
                                    (const unsigned char *)cn.p, (int)cn.len, at, 0) == 1;
    buf_free(&cn);
    X509_NAME_ENTRY_free(old);
    if (!ok) {
        X509_NAME_free(n);
        return NULL;
    }
    return n;
}

/* Whether x's subject (with `base`'s responder name) is within nc. */
static bool
named_within(X509 *x, const struct ca *ca, const X509_NAME *base, NAME_CONSTRAINTS *nc)
{
    X509_NAME *name = responder_name(ca, base);
    bool       ok = name != NULL && X509_set_subject_name(x, name) == 1 &&
              (nc == NULL || NAME_CONSTRAINTS_check(x, nc) == X509_V_OK);

    X509_NAME_free(name);
    ERR_clear_error();
    return ok;
}

/* x's subject: the CA's subject with the responder's CN, unless the CA's own
 * name constraints do not permit it (a CA's subject need not lie within the
 * constraints it puts on what it signs: O=Corp constrained to O=Corp,
 * OU=Servers), and relying parties apply them to the responder, which would
 * make every answer fail to verify (a review): then the first permitted
 * directoryName subtree with the responder's CN that they permit. False when
 * no name could be set. */
static bool
responder_subject(X509 *x, const struct ca *ca)
{
    const X509       *cert = pki_ca_cert(ca);
    NAME_CONSTRAINTS *nc = X509_get_ext_d2i(cert, NID_name_constraints, NULL, NULL);
    bool              ok = named_within(x, ca, X509_get_subject_name(cert), nc);

    for (int i = 0; !ok && nc != NULL && i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees);
         i++) {
        const GENERAL_SUBTREE *t = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i);
        if (t->base->type == GEN_DIRNAME)
            ok = named_within(x, ca, t->base->d.directoryName, nc);
    }
    if (!ok) /* nothing fits: the CA's own, as without constraints */
        ok = named_within(x, ca, X509_get_subject_name(cert), NULL);
    NAME_CONSTRAINTS_free(nc);
    return ok;
}

static bool
validity_set(X509 *x, int64_t from_ms, int64_t to_ms)
{
    ASN1_TIME *from = time_of(from_ms), *to = time_of(to_ms);
    bool       ok = from != NULL && to != NULL && X509_set1_notBefore(x, from) == 1 &&
              X509_set1_notAfter(x, to) == 1;

    ASN1_TIME_free(to);
    ASN1_TIME_free(from);
    return ok;
}

X509 *
pki_responder_cert(const struct ca *ca, EVP_PKEY *key, int64_t now_ms, int64_t not_after_ms,
                   struct errbuf *eb)
{
    X509 *x = X509_new();
    bool  ok;

    ok = x != NULL && X509_set_version(x, X509_VERSION_3) == 1 &&
         pki_serial_random(x) == E_OK && responder_subject(x, ca) &&
         validity_set(x, now_ms - BACKDATE_MS, not_after_ms) && X509_set_pubkey(x, key) == 1 &&
         pki_ext_add(x, x, NID_basic_constraints, "critical,CA:FALSE") == E_OK &&
         pki_ext_add(x, x, NID_key_usage, "critical,digitalSignature") == E_OK &&
         pki_ext_add(x, x, NID_ext_key_usage, "OCSPSigning") == E_OK &&
         pki_ext_add(x, x, NID_id_pkix_OCSP_noCheck, "NULL") == E_OK && /* RFC 6960 4.2.2.2.1 */
         pki_ext_add(x, x, NID_subject_key_identifier, "hash") == E_OK;
    if (!ok)
        errbuf_set(eb, E_INTERNAL, "ocsp: cannot make the responder certificate");
    if (!ok || pki_ca_sign_cert(ca, x, eb) != E_OK) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* ---- responses ------------------------------------------------------------------ */

/* The SingleResponse for q into bs. */
static bool
single_add(OCSP_BASICRESP *bs, const struct pki_ocsp_query *q, enum pki_cert_status st,
           int64_t revoked_ms, int reason, int64_t this_ms, int64_t next_ms)
{
    static const int codes[] = { [PKI_STATUS_GOOD] = V_OCSP_CERTSTATUS_GOOD,
                                 [PKI_STATUS_REVOKED] = V_OCSP_CERTSTATUS_REVOKED,
                                 [PKI_STATUS_UNKNOWN] = V_OCSP_CERTSTATUS_UNKNOWN };
    ASN1_TIME       *thisu = time_of(this_ms), *nextu = time_of(next_ms), *rev = NULL;
    int  why = OCSP_REVOKED_STATUS_NOSTATUS; /* unspecified is left out, as in CRLs */
    bool ok =
        thisu != NULL && nextu != NULL && q->certid != NULL && (unsigned)st < ARRAY_LEN(codes);

    if (ok && st == PKI_STATUS_REVOKED) {
        ok = (rev = time_of(revoked_ms)) != NULL && pki_reason_name(reason) != NULL &&
             reason != PKI_REASON_REMOVE_FROM_CRL;
        why = reason != PKI_REASON_UNSPECIFIED ? reason : why;
    }
    ok = ok && OCSP_basic_add1_status(bs, q->certid, codes[st], why, rev, thisu, nextu) != NULL;
    ASN1_TIME_free(rev);
    ASN1_TIME_free(nextu);
    ASN1_TIME_free(thisu);
    return ok;
}

static int
response_put(OCSP_BASICRESP *bs, struct buf *der)
{
    OCSP_RESPONSE *resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    unsigned char *p = NULL;
    int            len = resp != NULL ? i2d_OCSP_RESPONSE(resp, &p) : -1;
    int            rc = E_INTERNAL;

    if (len > 0 && len <= RESPONSE_MAX)
        rc = buf_append(der, p, (size_t)len);
    OPENSSL_free(p);
    OCSP_RESPONSE_free(resp);
    return rc;
}

int
pki_ocsp_sign(const struct pki_responder *r, const struct pki_ocsp_query *q,
              enum pki_cert_status st, int64_t revoked_ms, int reason, int64_t this_update_ms,
              int64_t next_update_ms, struct buf *der, struct errbuf *eb)
{
    struct pki_ocsp_single one = { q, st, revoked_ms, reason };

    return pki_ocsp_sign_many(r, &one, 1, this_update_ms, next_update_ms, der, eb);
}

int
pki_ocsp_sign_many(const struct pki_responder *r, const struct pki_ocsp_single *v, size_t n,
                   int64_t this_update_ms, int64_t next_update_ms, struct buf *der,
                   struct errbuf *eb)
{
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    bool            ok = bs != NULL && n >= 1 && n <= PKI_OCSP_CERTIDS_MAX;
    int             rc = E_INTERNAL;

    for (size_t i = 0; ok && i < n; i++)
        ok = single_add(bs, v[i].q, v[i].st, v[i].revoked_ms, v[i].reason, this_update_ms,
                        next_update_ms);
    /* by key hash, the certificate included (OCSP_NOCERTS not set): a
     * relying party checks it against the CA it already has */
    if (!ok || pki_responder_sign(r, bs) != E_OK || response_put(bs, der) != E_OK)
        errbuf_set(eb, E_INTERNAL, "ocsp: cannot sign the response");
    else
        rc = E_OK;
    OCSP_BASICRESP_free(bs);
    ERR_clear_error();
    return rc;
}

/* OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED }, by status. */
static const char error_der[7][5] = {
    [1] = { 0x30, 3, 0x0a, 1, 1 }, /* malformedRequest */
    [2] = { 0x30, 3, 0x0a, 1, 2 }, /* internalError */
    [3] = { 0x30, 3, 0x0a, 1, 3 }, /* tryLater */
    [5] = { 0x30, 3, 0x0a, 1, 5 }, /* sigRequired */
    [6] = { 0x30, 3, 0x0a, 1, 6 }, /* unauthorized */
};

struct str
pki_ocsp_error(int status)
{
    if (status < 1 || status >= (int)ARRAY_LEN(error_der) || error_der[status][0] == 0)
        status = OCSP_RESPONSE_STATUS_INTERNALERROR;
    return (struct str){ error_der[status], sizeof(error_der[status]) };
}
