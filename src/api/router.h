/* router.h - URLs to endpoints, media types to codecs. */
#ifndef KW_ROUTER_H
#define KW_ROUTER_H

#include "req.h"

/* Resolve r->path into r->route: E_NOTFOUND for an unknown URL, E_METHOD for a
 * method the URL does not have. Accepts an optional "/v/1" prefix. */
int router_route(struct req *r, struct errbuf *eb);
/* Pick r->in from Content-Type and r->out from Accept (E_MEDIA otherwise). */
int router_negotiate(struct req *r, struct errbuf *eb);
/* The value of query parameter `k` (first occurrence), or STR_NULL. */
struct str req_param(const struct req *r, const char *k);
/* E_BADREQ naming the first query parameter not in `allowed` (NULL-terminated). */
int        req_params_check(const struct req *r, const char *const *allowed,
                            struct errbuf *eb);

#endif
