/* audit.h - the audit log: every write and every token request, allowed or
 * not, with who, what, when, from where, the answer's status and trace id.
 * Never a secret: principals are claims, bodies are not recorded. */
#ifndef KW_AUDIT_H
#define KW_AUDIT_H

#include "../store/store.h"
#include "req.h"

/* Who a token request claims to be (an account, a client ID, a certificate's
 * name) or, in the Token realm, the claims of the token it presents: the
 * entry's principal, copied into the request's arena. */
void audit_claimed(struct req *r, const struct str *claims, size_t n);
/* True when this request must be audited (writes, /issue, /oauth2). */
bool audit_wanted(const struct req *r);
/* Inside a write's transaction: record it with status and object ID, atomically
 * with the write itself. Marks the request audited. */
int audit_in_tx(struct req *r, struct tx *tx, const char *operation, struct str id);
/* Once the answer is known (request thread): record a request not yet recorded
 * (failures, denials, tokens) with an asynchronous write. */
void audit_after(struct req *r);

#endif
