/* registry.c - every resource the console serves. Adding a resource is adding
 * its spec here. */
#include "specs.h"

const struct spec *const spec_all[] = {
    &spec_namespace,      &spec_account,       &spec_apiauthorization, &spec_role,
    &spec_serviceaccount, &spec_appcredential, &spec_auditlog,         &spec_ldapprovider,
    &spec_oidcprovider,   &spec_webhook,       &spec_webhookdelivery,
};
const size_t spec_count = ARRAY_LEN(spec_all);
