/* registry.c - every resource the console serves. Adding a resource is adding
 * its spec here. It sits at the top of the tree: it knows every module's specs. */
#include "discovery/discovery.h"
#include "inventory/inventory.h"
#include "issuance/issuance.h"
#include "model/specs.h"

const struct spec *const spec_all[] = {
    &spec_namespace,         &spec_account,
    &spec_apiauthorization,  &spec_role,
    &spec_serviceaccount,    &spec_appcredential,
    &spec_auditlog,          &spec_ldapprovider,
    &spec_oidcprovider,      &spec_certificate,
    &spec_certificateimport, &spec_monitoringpolicy,
    &spec_certificatereport, &spec_webhook,
    &spec_webhookdelivery,   &spec_certificateauthority,
    &spec_issuingtemplate,   &spec_certificaterequest,
    &spec_revocation,        &spec_discovery,
    &spec_discoveryrun,      &spec_certificateinstance,
};
const size_t spec_count = ARRAY_LEN(spec_all);
