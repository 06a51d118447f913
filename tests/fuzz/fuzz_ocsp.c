/* fuzz_ocsp.c - libFuzzer target: the OCSP responder's path as far as it
 * reads what a client sends (POST /pki/:caID/ocsp, API.md 7.4), without
 * HTTP and the cache. The input is the request's DER.
 *
 * Checks, beyond "no crash, leak or sanitizer report": pki_ocsp_query_read
 * answers E_OK or E_BADREQ with a reason; a refused query is left zeroed
 * (nothing to free); a read one has its CertID, a hash of at most 64 bytes
 * and a serial in pki_serial_hex's form. Every query read is matched
 * against the CA (pki_ocsp_query_is_for) and answered, signed by the CA's
 * responder, as the server would answer it (unknown when it is not the
 * CA's): the answer parses, is successful, and names the query's CertID.
 *
 *   clang -std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *       tests/fuzz/fuzz_ocsp.c src/pki/{ocsp,crl,certutil,signer,keys,leaf,der,certext,\
 *       cacert,subject}.c src/core/{base,arena,buf,seal,digest,fileio,rnd}.c \
 *       $(pkg-config --cflags --libs openssl) -lm -lpthread -o fuzz_ocsp
 *   ./fuzz_ocsp -max_len=4096 -timeout=10 corpus/
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
zeroed(const struct pki_ocsp_query *q)
{
    static const struct pki_ocsp_query zero;

    return memcmp(q, &zero, sizeof(zero)) == 0;
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

/* The answer parses, is a successful one, and names the query's CertID. */
static void
check_answer(const struct buf *der, const struct pki_ocsp_query *q)
{
    const unsigned char *p = (const unsigned char *)der->p;
    OCSP_RESPONSE       *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)der->len);
    OCSP_BASICRESP      *bs = resp != NULL ? OCSP_response_get1_basic(resp) : NULL;
    OCSP_SINGLERESP     *one = bs != NULL ? OCSP_resp_get0(bs, 0) : NULL;

    if (one == NULL || p != (const unsigned char *)der->p + der->len ||
        OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
        OCSP_resp_count(bs) != 1 ||
        OCSP_id_cmp(OCSP_SINGLERESP_get0_id(one), (OCSP_CERTID *)q->certid) != 0)
        abort();
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct pki_ocsp_query q;
    struct errbuf         eb = { 0 };
    struct buf            der;
    enum pki_cert_status  st;
    int                   rc;

    once();
    rc = pki_ocsp_query_read(data, size, &q, &eb);
    if (rc != E_OK) {
        if (rc != E_BADREQ || eb.msg[0] == '\0' || !zeroed(&q))
            abort();
        return 0;
    }
    check_query(&q);
    st = pki_ocsp_query_is_for(&q, ca) ? PKI_STATUS_REVOKED : PKI_STATUS_UNKNOWN;
    buf_init(&der, 64 * 1024);
    if (pki_ocsp_sign(responder, &q, st, now_ms - DAY_MS, PKI_REASON_KEY_COMPROMISE, now_ms,
                      now_ms + DAY_MS, &der, &eb) != E_OK)
        abort();
    check_answer(&der, &q);
    buf_free(&der);
    pki_ocsp_query_free(&q);
    return 0;
}
