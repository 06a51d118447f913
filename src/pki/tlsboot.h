/* tlsboot.h - the console's own TLS: a local CA and a server certificate.
 *
 * On first start the data directory gets tls/ca.pem (to give to clients:
 * curl --cacert), tls/ca.key, tls/server.pem (leaf followed by the CA) and
 * tls/server.key; keys are P-256, mode 0600. Later starts reuse them; the server
 * certificate is re-issued from the same CA when it expires within 30 days or does
 * not cover the listen host. A second CA, tls/client-ca.pem and client-ca.key
 * (P-256, ten years), signs the TLS client certificates of app credentials: it
 * is kept apart so that no server certificate can ever pass as a client and the
 * trust given to clients can be handed out without the server CA.
 */
#ifndef KW_TLSBOOT_H
#define KW_TLSBOOT_H

#include "../core/buf.h"

struct tls_files {
    struct buf cert_pem; /* server leaf + CA */
    struct buf key_pem;  /* secret: wipe with buf_wipe */
    struct buf ca_pem;
    struct buf client_ca_pem;     /* the CA clients' certificates chain to */
    struct buf client_ca_key_pem; /* secret: for pki_signer_init, then wiped */
};

/* Create what is missing under datadir/tls and load it. `host` is the listen
 * address (IP literal or DNS name) that must be in the server certificate's SANs,
 * besides localhost, 127.0.0.1 and ::1. */
int  tlsboot_ensure(const char *datadir, const char *host, struct tls_files *out,
                    struct errbuf *eb);
void tls_files_free(struct tls_files *f);

#endif
