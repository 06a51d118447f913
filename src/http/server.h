/* server.h - the HTTPS listener. */
#ifndef KW_SERVER_H
#define KW_SERVER_H

#include "../pki/tlsboot.h"

/* E_BADREQ unless `listen` is IP:PORT (checked before anything is created). */
int http_check_listen(const char *listen, struct errbuf *eb);
/* Listen on cfg.listen with the console's certificate; E_UNAVAILABLE with a
 * one-line reason when the address cannot be used. */
int http_start(const struct tls_files *tls, struct errbuf *eb);
/* Stop accepting, let requests in flight finish (up to grace_ms), close. */
void http_stop(int64_t grace_ms);

#endif
