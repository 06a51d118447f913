/* signer.h - TLS client certificates for app credentials, signed by the client
 * CA (DIR/tls/client-ca.pem). This module is the only user of that CA's private
 * key: it parses it once at start-up and keeps it to itself.
 */
#ifndef KW_SIGNER_H
#define KW_SIGNER_H

#include "../core/buf.h"
#include "certutil.h"

/* Client certificates last one year from their signature (backdated an hour
 * for clients whose clocks run slow). */
#define PKI_CLIENT_DAYS 365

/* Take the client CA (PEM certificate and key, from tlsboot_ensure). The key is
 * parsed into memory only this module sees; the caller wipes its copy. Call
 * once, before any thread signs. E_INTERNAL with a one-line reason. */
int  pki_signer_init(const struct buf *ca_pem, const struct buf *key_pem, struct errbuf *eb);
void pki_signer_fini(void);
/* The client CA certificate as PEM ("" before init): what clients and the TLS
 * layer trust. Valid until pki_signer_fini. */
const char *pki_client_ca_pem(void);

/* A signed client certificate. Owned by the caller: pki_client_cert_free. */
struct client_cert {
    struct buf cert_pem;
    struct buf key_pem; /* the generated key (PKCS#8 PEM), empty for a CSR; secret */
    char       serial[PKI_SERIAL_HEX]; /* lowercase hex, as pki_serial_hex */
    int64_t    not_after_ms;
};

/* Sign a client certificate with subject CN=`cn`, O=`o` (both UTF-8; the
 * console sets them, a CSR's own subject is ignored): for the public key of
 * `csr_pem` (whose self-signature must verify; EC P-256, P-384 or RSA of 2048
 * to 8192 bits), or, when `csr_pem` is empty, for a new P-256 key returned in
 * out->key_pem. E_VALIDATION (attribute "csr") for an unusable CSR, E_INTERNAL
 * otherwise; `out` is then empty. Thread-safe. */
int pki_sign_client(const char *cn, const char *o, struct str csr_pem, struct client_cert *out,
                    struct errbuf *eb);
/* Free, wiping the key. Safe on a zeroed or already freed struct. */
void pki_client_cert_free(struct client_cert *c);

#endif
