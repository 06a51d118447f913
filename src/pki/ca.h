/* ca.h - certificate authorities as handles.
 *
 * A `struct ca` is one CA: a name (its ID in the process and in the store), its
 * certificate and its private key. The struct is opaque and its key can only be
 * used through the pki_ca_sign_* operations below, all in pki/signer.c, the one
 * file that touches CA private keys (so that it can later move into a process
 * of its own, as relayd's `ca` and acme-client's keyproc). Any number of CAs may
 * exist at once; a handle is immutable once made, so threads may sign with it
 * concurrently.
 *
 * At rest a CA is its certificate (public, PEM) and its key sealed under the
 * master key (core/seal.h) with associated data "keyward/ca/<name>", so a sealed
 * key copied under another CA's name does not open.
 */
#ifndef KW_CA_H
#define KW_CA_H

#include <openssl/x509.h>

#include "../core/buf.h"
#include "../core/seal.h"

/* The console's two CAs. */
#define PKI_CA_TLS      "tls"    /* signs the servers' TLS certificates: tls/ca.pem */
#define PKI_CA_CLIENT   "client" /* signs app credentials' client certificates */
#define PKI_CA_NAME_MAX 64       /* [a-z0-9_-]{1,64} */

struct ca;

/* A new CA: P-256 key, self-signed certificate "CN=<cn>, O=Keyward", ten years,
 * CA:TRUE pathlen 0, keyCertSign and cRLSign. Owned by the caller: pki_ca_free.
 * E_INTERNAL with a one-line reason. */
int pki_ca_new(const char *name, const char *cn, struct ca **out, struct errbuf *eb);
/* A CA from its certificate and unencrypted PEM key (files written by an older
 * version): checked (a CA certificate, not expired, the key its own). The
 * caller wipes key_pem. E_INTERNAL with a reason naming `what`. */
int pki_ca_import(const char *name, struct str cert_pem, struct str key_pem, struct ca **out,
                  struct errbuf *eb);
/* A CA from the store: its certificate and its key as sealed by pki_ca_seal
 * under `mk`. Checked as pki_ca_import. */
int pki_ca_open(const char *name, struct str cert_pem, struct str sealed_key,
                const unsigned char mk[SEAL_KEY_LEN], struct ca **out, struct errbuf *eb);
/* The key sealed under `mk` (appended to `out`), for the store. */
int pki_ca_seal(const struct ca *ca, const unsigned char mk[SEAL_KEY_LEN], struct buf *out);
/* True when `key_pem` is this CA's private key (a left-over key file). */
bool pki_ca_key_is(const struct ca *ca, struct str key_pem);
/* Free, the key with it (OpenSSL clears it). NULL is fine. */
void pki_ca_free(struct ca *ca);

const char *pki_ca_name(const struct ca *ca);
/* The certificate, as PEM (NUL-terminated) and parsed; valid as long as ca. */
const char *pki_ca_pem(const struct ca *ca);
const X509 *pki_ca_cert(const struct ca *ca);

/* Sign a prepared certificate (version, serial, subject, validity, public key
 * and its own extensions set): this sets the issuer name and the authority key
 * identifier, then signs with the CA key's digest (SHA-256 for P-256 and RSA,
 * SHA-384 for P-384, none for Ed25519). E_INTERNAL. Thread-safe. Signing CRLs
 * and OCSP responses will sit beside it. */
int pki_ca_sign_cert(const struct ca *ca, X509 *tbs, struct errbuf *eb);

/* What a TBSCertificate written as DER needs of its issuer, made once with
 * the handle: the AlgorithmIdentifier of the CA's signatures (the TBS's
 * `signature` field, and the certificate's signatureAlgorithm), the CA's
 * subject Name (the TBS's issuer) and its key identifier (for the authority
 * key identifier). Valid as long as ca. */
struct pki_ca_tbs {
    struct str sig_alg, name, key_id;
};
const struct pki_ca_tbs *pki_ca_tbs(const struct ca *ca);
/* Sign `len` bytes of DER (a TBSCertificate naming pki_ca_tbs's sig_alg)
 * with the CA's key in that algorithm; the signature's bytes are appended to
 * *sig. E_INTERNAL. Thread-safe. */
int pki_ca_sign_tbs(const struct ca *ca, const unsigned char *tbs, size_t len, struct buf *sig,
                    struct errbuf *eb);

/* The process's CAs by name: registered at start-up before threads start
 * (ownership passes; E_DUPLICATE for a taken name), read-only afterwards. */
int              pki_ca_register(struct ca *ca);
const struct ca *pki_ca_find(const char *name);
void             pki_ca_unregister_all(void);

/* The AlgorithmIdentifier (DER) of the CA's signatures on CRLs, appended to
 * *der: sha256WithRSAEncryption for RSA, ecdsa-with-SHA256 for P-256,
 * ecdsa-with-SHA384 for P-384, Ed25519. E_INTERNAL. Thread-safe. */
int pki_ca_sig_alg(const struct ca *ca, struct buf *der);
/* Sign a TBSCertList (DER) written for this CA: its version v2, its signature
 * field pki_ca_sig_alg's and its issuer the CA's subject, checked, so that
 * nothing but a CRL of this CA gets this signature. The signature value (the
 * BIT STRING's content) is appended to *sig. E_INTERNAL. Thread-safe. */
int pki_ca_sign_crl(const struct ca *ca, struct str tbs, struct buf *sig, struct errbuf *eb);

#endif
