/* engine.h - the generic CRUD engine and its helpers. */
#ifndef KW_ENGINE_H
#define KW_ENGINE_H

#include "req.h"

/* Serve r->route (EP_RESOURCE): authenticate first (api.c), then namespace,
 * authorization, operation. Errors become the answer. */
enum api_result engine_serve(struct req *r, struct errbuf *eb);
/* api_batch: the reads by ID of requests engine_serve answered API_LATER. */
void engine_batch(struct req **rs, size_t n);
/* Resources that are not stored (roles): list and get from static data. */
int engine_static(struct req *r, const struct spec *s, struct errbuf *eb);
/* Validate X-Namespace into r->ns (E_BADREQ). */
int namespace_header(struct req *r, struct errbuf *eb);

#endif
