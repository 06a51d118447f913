/* server.h - the HTTPS listener, and the plain-HTTP one of the public PKI
 * routes. */
#ifndef KW_SERVER_H
#define KW_SERVER_H

#include "../pki/tlsboot.h"

/* Check the listen settings and listen, before anything is created (a start
 * that cannot listen makes no store, administrator or password): cfg.listen
 * and, when set, cfg.pki_listen are IP:PORT, on different ports, and
 * pki_listen names a single address unless pki_url is set (certificates would
 * name 0.0.0.0). Call it before main.c derives pki_url's default. E_BADREQ
 * with one line for a bad setting, E_UNAVAILABLE for an address in use. */
int http_listen(struct errbuf *eb);
/* Serve the listeners: cfg.listen with the console's certificate, and
 * cfg.pki_listen (plain HTTP, the routes flagged plain only) when set. */
int http_start(const struct tls_files *tls, struct errbuf *eb);
/* Open the API's new TLS sessions with `tls` (a certificate renewed or
 * replaced); sessions open go on with theirs. On an error nothing changes. */
int http_tls_replace(const struct tls_files *tls, struct errbuf *eb);
/* Stop accepting, let requests in flight finish (up to grace_ms), close. */
void http_stop(int64_t grace_ms);

#endif
