/* openapi.h - GET /openapi.json: an OpenAPI 3.1 document generated from the
 * route table (routes.c) and the resource specs (model/registry.c). Built once,
 * at the first request, and kept encoded. */
#ifndef KW_OPENAPI_H
#define KW_OPENAPI_H

#include "req.h"

/* The version the document announces (info.version); `keyward version` prints
 * the same (tests/api/test_openapi.py checks that they agree). */
#include "../core/version.h"

/* The handler of the /openapi.json row. */
enum api_result openapi_serve(struct req *r);

/* The document, encoded as JSON, built on first use (thread-safe); NULL when
 * it could not be built. */
const struct buf *openapi_document(void);

#endif
