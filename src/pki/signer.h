/* signer.h - TLS client certificates for app credentials, signed by a CA handle
 * (ca.h; the console uses the one named PKI_CA_CLIENT). signer.c implements
 * both headers: it is the only file that uses CA private keys.
 */
#ifndef KW_SIGNER_H
#define KW_SIGNER_H

#include "../core/buf.h"
#include "ca.h"
#include "certutil.h"

/* Client certificates last one year from their signature (backdated an hour
 * for clients whose clocks run slow). */
#define PKI_CLIENT_DAYS 365

/* A signed client certificate. Owned by the caller: pki_client_cert_free. */
struct client_cert {
    struct buf cert_pem;
    struct buf key_pem; /* the generated key (PKCS#8 PEM), empty for a CSR; secret */
    char       serial[PKI_SERIAL_HEX]; /* lowercase hex, as pki_serial_hex */
    int64_t    not_after_ms;
};

/* Sign, with `ca`, a client certificate with subject CN=`cn`, O=`o` (both UTF-8; the
 * console sets them, a CSR's own subject is ignored): for the public key of
 * `csr_pem` (whose self-signature must verify; EC P-256, P-384 or RSA of 2048
 * to 8192 bits), or, when `csr_pem` is empty, for a new P-256 key returned in
 * out->key_pem. E_VALIDATION (attribute "csr") for an unusable CSR, E_INTERNAL
 * otherwise; `out` is then empty. Thread-safe. */
int pki_sign_client(const struct ca *ca, const char *cn, const char *o, struct str csr_pem,
                    struct client_cert *out, struct errbuf *eb);
/* Free, wiping the key. Safe on a zeroed or already freed struct. */
void pki_client_cert_free(struct client_cert *c);

#endif
