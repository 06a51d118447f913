/* engine.h - the generic CRUD engine and its helpers. */
#ifndef KW_ENGINE_H
#define KW_ENGINE_H

#include "req.h"

/* Serve r->route (EP_RESOURCE): authenticate first (api.c), then namespace,
 * authorization, operation. Errors become the answer. */
enum api_result engine_serve(struct req *r, struct errbuf *eb);
/* Resources that are not stored (roles): list and get from static data. */
int             engine_static(struct req *r, const struct spec *s, struct errbuf *eb);
/* A new object of spec `s` in namespace `ns` from body `in`: validated, with
 * defaults and the server-set ID and times (hooks and tags are the caller's). */
int             engine_new_object(struct arena *a, const struct spec *s, struct str ns,
                                  const struct val *in, struct val *obj, struct errbuf *eb);
/* Validate X-Namespace into r->ns (E_BADREQ). */
int             namespace_header(struct req *r, struct errbuf *eb);

#endif
