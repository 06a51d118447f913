/* tlsboot.h - the console's own TLS: a local CA and a server certificate.
 *
 * Two CAs (ca.h handles), kept in the store with their keys sealed under the
 * master key: PKI_CA_TLS signs the servers' certificates, PKI_CA_CLIENT the TLS
 * client certificates of app credentials (kept apart so that no server
 * certificate can ever pass as a client, and the trust given to clients can be
 * handed out without the server CA). Both are P-256, ten years, made once by the
 * first server to start on a store.
 *
 * The data directory gets copies of the CA certificates for users to trust:
 * tls/ca.pem (curl --cacert) and tls/client-ca.pem. The server's own
 * certificate and key stay files, tls/server.pem (leaf followed by the CA) and
 * tls/server.key (0600): each server has its own, re-issued from the TLS CA when
 * it expires within 30 days or does not cover the listen host.
 *
 * Upgrade: data directories made by earlier versions hold the CA keys as files
 * (tls/ca.key, tls/client-ca.key). When the store has no such CA yet, the
 * files are imported into it, and the key files are then overwritten and
 * removed.
 */
#ifndef KW_TLSBOOT_H
#define KW_TLSBOOT_H

#include "../core/arena.h"
#include "../core/buf.h"
#include "ca.h"

struct tls_files {
    struct buf cert_pem; /* server leaf + CA */
    struct buf key_pem;  /* secret: wipe with buf_wipe */
    struct buf ca_pem;
    struct buf client_ca_pem; /* the CA clients' certificates chain to */
};

/* Where CAs are kept: the store's meta table, reached through these callbacks
 * because pki/ sits below store/ (src/vault.c implements them). */
struct pki_vault {
    /* The CA stored under `name`: its certificate PEM and sealed key (in a).
     * E_NOTFOUND when there is none. */
    int (*get)(void *ctx, const char *name, struct arena *a, struct str *cert,
               struct str *sealed);
    /* Store a new CA unless one of that name already exists, checking again
     * inside the write transaction: E_OK when stored, E_DUPLICATE when another
     * server stored one first (read it with get). */
    int (*put_new)(void *ctx, const char *name, struct str cert, struct str sealed);
    void                *ctx;
    const unsigned char *master; /* SEAL_KEY_LEN bytes */
};

/* Where the server's certificate comes from. `host` is the listen address
 * and `public_host` public_url's host (NULL or "": none), IP literals or DNS
 * names that must be in the console's own server certificate's SANs, besides
 * localhost, 127.0.0.1 and ::1. `own_cert` and `own_key` (settings tls_cert
 * and tls_key; NULL or "": none) name the operator's own chain and key,
 * served instead, read and never written. */
struct tls_source {
    const char *datadir, *host, *public_host;
    const char *own_cert, *own_key;
};

/* Load the two CAs from the vault (importing old key files, or creating
 * them) into out's ca_pem and client_ca_pem. The CA handles are the
 * caller's (pki_ca_register or pki_ca_free). */
int tlsboot_cas(const char *datadir, const struct pki_vault *v, struct tls_files *out,
                struct ca **tls_ca, struct ca **client_ca, struct errbuf *eb);
/* The server's certificate chain and key into out (with the CA certificates
 * of `cas`, which may be out itself): the operator's own files, else the
 * console's own under datadir/tls, issued from tls_ca when missing, within
 * 30 days of expiry or not covering the hosts. At start, on SIGHUP and every
 * hour (main.c). */
int tlsboot_server(const struct tls_source *src, const struct ca *tls_ca,
                   const struct tls_files *cas, struct tls_files *out, struct errbuf *eb);
/* tlsboot_cas, then tlsboot_server. */
int  tlsboot_ensure(const struct tls_source *src, const struct pki_vault *v,
                    struct tls_files *out, struct ca **tls_ca, struct ca **client_ca,
                    struct errbuf *eb);
void tls_files_free(struct tls_files *f);

#endif
