/* specs.h - the resource specs, one per file in model/. */
#ifndef KW_SPECS_H
#define KW_SPECS_H

#include "spec.h"

extern const struct spec spec_namespace;        /* namespace.c */
extern const struct spec spec_account;          /* account.c */
extern const struct spec spec_apiauthorization; /* apiauthorization.c */
extern const struct spec spec_ldapprovider;     /* ldapprovider.c */
extern const struct spec spec_oidcprovider;     /* oidcprovider.c */
extern const struct spec spec_role;             /* role.c (static, not stored) */
extern const struct spec spec_serviceaccount;   /* serviceaccount.c */
extern const struct spec spec_appcredential;    /* appcredential.c */
extern const struct spec spec_auditlog;         /* auditlog.c */
extern const struct spec spec_webhook;          /* webhook.c */
extern const struct spec spec_webhookdelivery;  /* webhookdelivery.c */

/* The app credential ID in a client certificate's CN, "app:credential:<ID>:<name>"
 * (appcredential.c makes it): false when cn is not of that form. */
bool appcredential_cn_id(struct str cn, struct str *id);

/* The events webhooks may ask for (webhook.c), NULL-terminated. */
extern const char *const webhook_events[];

/* The job kind that purges a deleted namespace's bulk rows (housekeeping.c);
 * its payload is the namespaces' IDs, comma-separated. */
#define NAMESPACE_PURGE_JOB "namespace.purge"

#endif
