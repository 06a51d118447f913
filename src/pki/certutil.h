/* certutil.h - small X.509 helpers shared by the certificate builders
 * (tlsboot.c, signer.c), the client certificate check (http/peer.c) and the
 * revocation status (crl.c, ocsp.c).
 * None of them touches a private key except pki_key_pem, which only encodes
 * the key it is given. All are thread-safe.
 */
#ifndef KW_CERTUTIL_H
#define KW_CERTUTIL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../core/buf.h"

/* Longest serial number we name: RFC 5280 allows 20 octets; foreign
 * certificates get some slack before they are refused. */
#define PKI_SERIAL_MAX 32
#define PKI_SERIAL_HEX (2 * PKI_SERIAL_MAX + 1)

#define PKI_SERIAL_LEN 16

/* A new random serial: 16 bytes, positive, always encoded in exactly 16 bytes
 * (126 bits of randomness). E_OK or E_INTERNAL. */
int pki_serial_random(X509 *x);
/* The same as bytes (big-endian, the first in 0x40..0x7f), for DER. */
int pki_serial_bytes(unsigned char out[PKI_SERIAL_LEN]);
/* The serial as lowercase hex of its magnitude, no separators, NUL-terminated
 * ("-" first for a negative one, which RFC 5280 forbids but parsers accept).
 * E_OK, or E_BADREQ when it is longer than PKI_SERIAL_MAX bytes. */
int pki_serial_hex(const X509 *x, char out[PKI_SERIAL_HEX]);
/* The same for any INTEGER holding a serial (an OCSP CertID's, a CRL entry's). */
int pki_asn1_serial_hex(const ASN1_INTEGER *sn, char out[PKI_SERIAL_HEX]);
/* Add one extension written in OpenSSL's configuration syntax ("critical,
 * CA:FALSE"); `issuer` provides the AKI, `x` itself the SKI. */
int pki_ext_add(X509 *x, X509 *issuer, int nid, const char *value);
/* True when a signature of algorithm `alg` is made with a digest whose
 * collisions can be made: MD2, MD4, MD5, MD5-SHA1, MDC2, SHA-1 (also as an
 * RSA-PSS signature's hash, whose default it is). Such a signature proves
 * nothing: a CSR's no possession, a certificate's no issuer. */
bool pki_sig_weak(const X509_ALGOR *alg);
/* True when s[0..n) is a dotted OID as X.509 can encode it: two arcs or
 * more, decimal without leading zeros, the first 0, 1 or 2 (and then the
 * second below 40 unless the first is 2). OBJ_txt2obj alone takes "1..2". */
bool pki_oid_valid(const char *s, size_t n);
/* Append the PEM encoding to `out`. The key's PEM passes through secure memory
 * only; `out` then holds a secret (wipe it). */
int pki_cert_pem(X509 *x, struct buf *out);
int pki_key_pem(EVP_PKEY *k, struct buf *out);
/* The nth (0-based) certificate of a PEM bundle, or NULL. */
X509 *pki_pem_cert(const struct buf *b, int nth);
/* True when the first certificates of PEM bundles a and b hold one public
 * key (compared as keys: a point compressed in one and not in the other is
 * the same key). */
bool pki_pem_same_key(struct str a, struct str b);
/* The private key of a PEM buffer, or NULL (an encrypted one fails, never
 * prompts). Free with EVP_PKEY_free. */
EVP_PKEY *pki_pem_key(const struct buf *b);
/* An ASN1_TIME as Unix milliseconds; -1 when it cannot be read. */
int64_t pki_time_ms(const ASN1_TIME *t);
/* Set `t` to Unix milliseconds (rounded down to the second): UTCTime until
 * 2049, GeneralizedTime after, as RFC 5280 4.1.2.5 wants. E_OK or E_INTERNAL. */
int pki_time_set(ASN1_TIME *t, int64_t ms);

#endif
