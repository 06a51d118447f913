/* router.h - URLs to endpoints, media types to codecs. */
#ifndef KW_ROUTER_H
#define KW_ROUTER_H

#include "req.h"

/* The resource tree (/things[/id[/child|action]]): fill r->route's spec, id,
 * parent and action from r->path; E_NOTFOUND for an unknown URL, E_METHOD for
 * a method the URL does not have. */
int router_resource(struct req *r, struct errbuf *eb);
/* Pick r->out from Accept when the route produces MessagePack as well as JSON
 * (else JSON), and r->csv when it produces MT_CSV and text/csv comes first;
 * r->in from Content-Type when it consumes JSON or
 * MessagePack (enum media); E_MEDIA otherwise. */
int router_negotiate(struct req *r, unsigned consumes, unsigned produces, struct errbuf *eb);
/* The value of query parameter `k` (first occurrence), or STR_NULL. */
struct str req_param(const struct req *r, const char *k);
/* A parameter that means one value, in *v (STR_NULL when absent): given more
 * than once, E_BADREQ (which one was meant is not guessed). */
int req_param_once(const struct req *r, const char *k, struct str *v, struct errbuf *eb);
/* A true/false parameter (given alone, "" or "true": true; absent: false), once. */
int req_param_bool(const struct req *r, const char *k, bool *out, struct errbuf *eb);
/* E_BADREQ naming the first query parameter not in `allowed` (NULL-terminated). */
int req_params_check(const struct req *r, const char *const *allowed, struct errbuf *eb);

#endif
