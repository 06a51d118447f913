/* pemcheck.h - validation of PEM certificate bundles that users paste into
 * attributes (the CA to trust for a directory or an identity provider). */
#ifndef KW_PEMCHECK_H
#define KW_PEMCHECK_H

#include "../core/base.h"

/* E_OK when `pem` holds 1 to `max` PEM certificates that parse, and nothing
 * else but white space and # comment lines between them: a private key pasted
 * by mistake, however indented or stripped of its armour, is refused, not
 * skipped, because such attributes are stored and shown in the clear.
 * E_VALIDATION naming `attr` otherwise. */
int pem_check_certs(struct str pem, int max, const char *attr, struct errbuf *eb);

#endif
