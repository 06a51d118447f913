/* peer.h - TLS client certificates: verified against the console's client CA
 * with OpenSSL, once per connection, and read into a struct peer_cert
 * (api/req.h). The TLS handshake requests a certificate and accepts any
 * (http/transport.c): this is where an untrusted one is told apart.
 */
#ifndef KW_PEER_H
#define KW_PEER_H

#include "../api/req.h"

/* Trust the certificates of `ca_pem` (the client CA) for client certificates.
 * Once, before the listener starts. E_INTERNAL when no certificate loads. */
int  peer_init(const char *ca_pem, struct errbuf *eb);
void peer_fini(void);

/* Check a leaf certificate (DER, as the client sent it): chain to the client
 * CA (X.509 strict), validity period at this moment, purpose TLS client. The
 * result, verified or not, is allocated in `a`; never NULL. Thread-safe. */
const struct peer_cert *peer_check(struct arena *a, const unsigned char *der, size_t len);

#endif
