/* pemcheck.h - validation of PEM certificate bundles that users paste into
 * attributes (the CA to trust for a webhook, a directory or an identity
 * provider). */
#ifndef KW_PEMCHECK_H
#define KW_PEMCHECK_H

#include "../core/arena.h"
#include "../core/base.h"
#include "../core/val.h"

/* When obj's string `attr` is set: E_OK when it holds 1 to `max` PEM
 * certificates that parse, and nothing else but white space and # comment
 * lines between them, and it is replaced by those certificates alone, each
 * written again as PEM (comments and anything else dropped): only
 * certificates are stored and shown, so no key material pasted by mistake
 * (in a comment, in a block's headers) is. A private key marker anywhere is
 * refused by name. E_VALIDATION naming `attr` otherwise. */
int pem_clean_certs(struct arena *a, struct val *obj, const char *attr, int max,
                    struct errbuf *eb);

#endif
