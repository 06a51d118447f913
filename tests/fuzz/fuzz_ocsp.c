/* fuzz_ocsp.c - libFuzzer target: the OCSP responder's path as far as it
 * reads what a client sends (POST /pki/:caID/ocsp, API.md 7.4), without
 * HTTP and the cache. The input is the request's DER.
 *
 * Checks, beyond "no crash, leak or sanitizer report": pki_ocsp_request_read
 * answers E_OK or E_BADREQ with a reason; a refused request is left zeroed
 * (nothing to free); a read one has 1 to PKI_OCSP_CERTIDS_MAX CertIDs, each
 * with a hash of at most 64 bytes and a serial in pki_serial_hex's form.
 * Every CertID read is matched against the CA (pki_ocsp_query_is_for) and
 * answered in one response, signed by the CA's responder, as the server
 * would answer it (unknown when it is not the CA's): the answer parses, is
 * successful, and names each CertID, in order.
 *
 *   make fuzz        (builds build/fuzz/fuzz_ocsp, and every other target)
 *   build/fuzz/fuzz_ocsp -max_len=4096 -timeout=10 corpus/
 *
 * Seeds: requests written by `openssl ocsp -issuer ca.pem -cert leaf.pem
 * -reqout req.der`, with and without -no_nonce, -sha256, -serial, and a
 * signed one (-signer, -signkey).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ocsp.h>

#include "pki/status.h"

#define DAY_MS (86400 * (int64_t)1000)

static struct ca            *ca;
static struct pki_responder *responder;
static int64_t               now_ms;

static void
once(void)
{
    struct errbuf eb = { 0 };

    if (ca != NULL)
        return;
    now_ms = (int64_t)time(NULL) * 1000;
    if (pki_ca_new("fuzz", "Fuzz CA", &ca, &eb) != E_OK ||
        pki_responder_new(ca, now_ms, now_ms + 30 * DAY_MS, &responder, &eb) != E_OK)
        abort();
}

static bool
zeroed(const struct pki_ocsp_request *req)
{
    static const struct pki_ocsp_request zero;

    return memcmp(req, &zero, sizeof(zero)) == 0;
}

static void
check_query(const struct pki_ocsp_query *q)
{
    const char *s = q->serial[0] == '-' ? q->serial + 1 : q->serial;
    size_t      n = strlen(s);

    if (q->certid == NULL || q->hash_len > sizeof(q->name_hash) || n == 0 || n % 2 != 0 ||
        n > 2 * PKI_SERIAL_MAX || strspn(s, "0123456789abcdef") != n)
        abort();
}

/* The answer parses, is a successful one, and names each CertID, in order. */
static void
check_answer(const struct buf *der, const struct pki_ocsp_request *req)
{
    const unsigned char *p = (const unsigned char *)der->p;
    OCSP_RESPONSE       *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)der->len);
    OCSP_BASICRESP      *bs = resp != NULL ? OCSP_response_get1_basic(resp) : NULL;

    if (bs == NULL || p != (const unsigned char *)der->p + der->len ||
        OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
        OCSP_resp_count(bs) != (int)req->n)
        abort();
    for (size_t i = 0; i < req->n; i++) {
        OCSP_SINGLERESP *one = OCSP_resp_get0(bs, (int)i);
        if (one == NULL ||
            OCSP_id_cmp(OCSP_SINGLERESP_get0_id(one), (OCSP_CERTID *)req->q[i].certid) != 0)
            abort();
    }
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct pki_ocsp_request req;
    struct pki_ocsp_single  v[PKI_OCSP_CERTIDS_MAX];
    struct errbuf           eb = { 0 };
    struct buf              der;
    int                     rc;

    once();
    rc = pki_ocsp_request_read(data, size, &req, &eb);
    if (rc != E_OK) {
        if (rc != E_BADREQ || eb.msg[0] == '\0' || !zeroed(&req))
            abort();
        return 0;
    }
    if (req.n < 1 || req.n > PKI_OCSP_CERTIDS_MAX)
        abort();
    for (size_t i = 0; i < req.n; i++) {
        check_query(&req.q[i]);
        v[i] =
            (struct pki_ocsp_single){ &req.q[i],
                                      pki_ocsp_query_is_for(&req.q[i], ca) ? PKI_STATUS_REVOKED
                                                                           : PKI_STATUS_UNKNOWN,
                                      now_ms - DAY_MS, PKI_REASON_KEY_COMPROMISE };
    }
    buf_init(&der, 64 * 1024);
    if (pki_ocsp_sign_many(responder, v, req.n, now_ms, now_ms + DAY_MS, &der, &eb) != E_OK)
        abort();
    check_answer(&der, &req);
    buf_free(&der);
    pki_ocsp_request_free(&req);
    return 0;
}
