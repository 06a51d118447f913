/* trust.h - validating the chains servers present (trust.c). One trust per
 * run; X509_STORE is safe to read from one thread at a time here. */
#ifndef KW_TRUST_H
#define KW_TRUST_H

#include "../store/store.h"

#define TRUST_CHAIN_MAX 32 /* certificates of a presented chain kept and validated */
#define TRUST_BUNDLE    "/etc/ssl/certs/ca-certificates.crt" /* Debian's, by its path */

struct trust;

/* The anchors for a discovery of namespace `ns`: Debian's bundle, and the
 * CA certificates of ns and its ancestors that were not DISCOVERED. */
int  trust_open(struct store *db, struct str ns, struct trust **out, struct errbuf *eb);
void trust_close(struct trust *t);

/* Validate a presented chain (DER, leaf first) for `host` (the SNI name; NULL
 * or "": the address `ip`, 16 bytes, IPv4 mapped; NULL: no name check). NULL
 * when valid; else OpenSSL's name of the error ("certificate has expired",
 * "self-signed certificate", "hostname mismatch", ...), static: the chain's
 * own problem when it has one, else a name mismatch. A chain is verified
 * once per trust (as of that moment), then only the name is checked. */
const char *trust_check(struct trust *t, const unsigned char *const *der, const size_t *len,
                        size_t n, const char *host, const unsigned char ip[16]);

#endif
