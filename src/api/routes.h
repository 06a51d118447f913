/* routes.h - every URL the console answers, as one table (in the spirit of
 * nginx's module tables): a path pattern, the methods, how the caller is
 * authenticated, the media types consumed and produced, the body limit and the
 * handler. Adding an endpoint is adding a row to routes.c; negotiation,
 * authentication and auditing follow from the row. The resource tree
 * (/things[/id[/child]]) is one row whose resolver knows the specs.
 */
#ifndef KW_ROUTES_H
#define KW_ROUTES_H

#include "req.h"

/* Media types a route consumes or produces (bit set). */
enum media {
    MT_JSON = 1 << 0,    /* application/json (also any application type, any type, or none) */
    MT_MSGPACK = 1 << 1, /* application/msgpack */
    MT_FORM = 1 << 2,    /* application/x-www-form-urlencoded */
    MT_ANY = 1 << 3,     /* the handler reads Content-Type itself */
    MT_CSV = 1 << 4,     /* text/csv: lists only (API.md 7.3); errors stay JSON */
    MT_OBJECT = MT_JSON | MT_MSGPACK,
};

enum route_auth {
    RA_NONE,  /* public: the handler authenticates, if at all (/issue, /oauth2) */
    RA_TOKEN, /* Authorization: Bearer <token> (api.c authenticates before the handler) */
};

/* One URL a "/ *" row serves, for the OpenAPI document ({name} parts are path
 * parameters, strings). */
struct route_doc {
    const char *path;
    unsigned    methods;
    const char *type; /* the answer's media type */
    const char *summary;
};

struct route_def {
    const char *path;        /* exact path, or ending in "/ *" without the space:
                                the rest (raw, undecoded) goes to r->route.rest */
    unsigned        methods; /* 1u << enum method */
    enum route_auth auth;
    unsigned        consumes; /* enum media; 0: no body is read as content */
    unsigned        produces; /* enum media */
    int64_t         body_max; /* bytes; 0: the setting max_body_size */
    /* Resolve the rest of the route (the resource tree): fill r->route, E_NOTFOUND
     * or E_METHOD. NULL: the path and methods above are the whole route. */
    int (*resolve)(struct req *r, struct errbuf *eb);
    /* Serve the request; API_PENDING when a write was queued (r->resume follows). */
    enum api_result (*serve)(struct req *r);
    const char *audit_op;         /* audited under this operation (token requests), or NULL */
    const char *summary;          /* one line, for the OpenAPI document */
    const struct route_doc *docs; /* a "/ *" row's URLs (NULL-path terminated), for it */
    /* Served on the plain-HTTP listener too (the setting pki_listen): only the
     * public PKI routes that relying parties fetch over http:// (API.md 7.4). */
    bool plain;
};

/* The table, for documents generated from it (OpenAPI). */
const struct route_def *routes_all(size_t *n);

/* Find the row for r->method and r->path (an optional "/v/1" prefix is
 * dropped): r->route.def is set whenever the path is known, even when the
 * method is not allowed, so that the route's media types apply to the error.
 * A request that came over plain HTTP (r->plain) sees only the rows flagged
 * plain: any other path is unknown there. E_NOTFOUND, E_METHOD, or what the
 * row's resolver says. */
int routes_match(struct req *r, struct errbuf *eb);

#endif
