/* issuance.h - the console's certificate authorities (API.md 7.4): the specs of
 * certificateauthorities, issuingtemplates and certificaterequests, revocation,
 * and the public routes relying parties read (/pki/:caID/...: the CA
 * certificate, its CRL and its OCSP responder).
 */
#ifndef KW_ISSUANCE_H
#define KW_ISSUANCE_H

#include "../api/req.h"

extern const struct spec spec_certificateauthority; /* ca.c */
extern const struct spec spec_issuingtemplate;      /* template.c */
extern const struct spec spec_certificaterequest;   /* request.c */
extern const struct spec spec_revocation;           /* revoke.c */

/* GET/HEAD/POST /pki/<rest>: public, no token; answers DER, PEM and OCSP bodies
 * (and the error list for what is not one of those routes). */
enum api_result issuance_public_serve(struct req *r);

/* At start-up, before the first write: the public answers follow every
 * revocation that commits. */
void issuance_start(void);

#endif
