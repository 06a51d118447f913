/* issue.h - POST /issue (tokens from realms) and POST /authn (token claims). */
#ifndef KW_ISSUE_H
#define KW_ISSUE_H

#include "../api/req.h"

void issue_serve(struct req *r);
void authn_serve(struct req *r);

/* What a realm proved: the identity attributes for the token's `data` (always
 * with "realm") and the subject. */
struct identity {
    struct val data;
    struct str sub;
};

/* Realm Vince: metadata.vinceAccount / vincePassword against an account. */
int realm_vince(struct req *r, const struct val *metadata, struct identity *id,
                struct errbuf *eb);

#endif
