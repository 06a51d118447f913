/* routes.c - the route table (routes.h) and its matching. */
#include "routes.h"

#include "../auth/authn.h"
#include "../issuance/issuance.h"
#include "../store/store.h"
#include "engine.h"
#include "openapi.h"
#include "realms/issue.h"
#include "router.h"

#define M(m)   (1u << (m))
#define M_READ (M(M_GET) | M(M_HEAD))
#define M_ANY  (M(M_GET) | M(M_HEAD) | M(M_POST) | M(M_PUT) | M(M_DELETE))

/* ---- handlers of the rows that are not resources ------------------------ */

static enum api_result
serve_health(struct req *r)
{
    struct val v = val_map();
    bool       ok = kw_store->ops->ping(kw_store);

    val_set(r->a, &v, "object", val_cstr("health")); /* API.md 1 */
    val_set(r->a, &v, "status", val_cstr(ok ? "ok" : "unavailable"));
    r->status = ok ? 200 : 503;
    r->resp = v;
    r->has_resp = true; /* HEAD: the GET's Content-Length, no body (conn.c) */
    return API_DONE;
}

static enum api_result
serve_jwks(struct req *r)
{
    struct val v;

    if (authn_jwks(r->a, &v) != E_OK) {
        api_fail(r, E_INTERNAL, "jwks");
        return API_DONE;
    }
    r->status = 200;
    r->resp = v;
    r->has_resp = true; /* HEAD: the GET's Content-Length, no body (conn.c) */
    return API_DONE;
}

static enum api_result
serve_issue(struct req *r)
{
    issue_serve(r);
    return API_DONE;
}

static enum api_result
serve_authn(struct req *r)
{
    authn_serve(r);
    return API_DONE;
}

static enum api_result
serve_oauth2(struct req *r)
{
    oauth2_serve(r); /* form bodies in, RFC 6749 answers out */
    return API_DONE;
}

static enum api_result
serve_resources(struct req *r)
{
    struct errbuf eb = { 0 };

    return engine_serve(r, &eb);
}

static const struct route_doc pki_docs[] = {
    { "/pki/{caID}/ca.pem", M_READ, "application/x-pem-file", "The CA's certificate, PEM" },
    { "/pki/{caID}/ca.crt", M_READ, "application/pkix-cert", "The CA's certificate, DER" },
    { "/pki/{caID}/crl", M_READ, "application/pkix-crl", "The CA's full CRL, DER" },
    { "/pki/{caID}/ocsp", M(M_POST), "application/ocsp-response",
      "OCSP (RFC 6960), the request as an application/ocsp-request body" },
    { "/pki/{caID}/ocsp/{request}", M_READ, "application/ocsp-response",
      "OCSP (RFC 6960), the request in base64 in the URL" },
    { NULL, 0, NULL, NULL },
};

/* ---- the table ----------------------------------------------------------- */

static const struct route_def routes[] = {
    { "/issue", M(M_POST), RA_NONE, MT_OBJECT, MT_OBJECT, 0, NULL, serve_issue, "issue",
      "Get a token from a realm (API.md 3)" },
    { "/authn", M(M_POST), RA_NONE, MT_OBJECT, MT_OBJECT, 0, NULL, serve_authn, NULL,
      "Verify a token and read its claims" },
    { "/oauth2/access_token", M(M_POST), RA_NONE, MT_ANY, MT_JSON, 0, NULL, serve_oauth2,
      "access_token", "OAuth 2.0 client credentials for service accounts (RFC 6749 4.4)" },
    { "/health", M_READ, RA_NONE, MT_OBJECT, MT_OBJECT, 0, NULL, serve_health, NULL,
      "200 when the store answers, 503 otherwise" },
    { "/.well-known/jwks.json", M_READ, RA_NONE, MT_OBJECT, MT_OBJECT, 0, NULL, serve_jwks,
      NULL, "The public keys that verify Keyward tokens" },
    { "/openapi.json", M_READ, RA_NONE, 0, MT_JSON, 0, NULL, openapi_serve, NULL,
      "This document: the API in OpenAPI 3.1" },
    { "/pki/*", M_ANY, RA_NONE, MT_ANY, MT_JSON, 0, NULL, issuance_public_serve, NULL,
      "Public, no token: a CA's certificate, CRL and OCSP responder (API.md 7.4)",
      .plain = true, .docs = pki_docs },
    /* Last: every other path is a resource URL (API.md 6). */
    { "/*", M_ANY, RA_TOKEN, MT_OBJECT, MT_OBJECT | MT_CSV, 0, router_resource, serve_resources,
      NULL, "Resources: /things, /things/:id, /things/:id/children" },
};

const struct route_def *
routes_all(size_t *n)
{
    *n = ARRAY_LEN(routes);
    return routes;
}

/* "/a/b" matches exactly; "/a/ *" (no space) matches "/a/" and what follows,
 * which goes to *rest as sent (raw: percent-escapes kept). */
static bool
path_matches(const char *pattern, struct str path, struct str raw, struct str *rest)
{
    size_t n = strlen(pattern);

    if (n >= 1 && pattern[n - 1] == '*') {
        struct str prefix = { pattern, n - 1 };
        if (!str_starts(path, prefix))
            return false;
        *rest = str_starts(raw, prefix)
                    ? (struct str){ raw.p + prefix.len, raw.len - prefix.len }
                    : STR_NULL;
        return true;
    }
    return str_eq_c(path, pattern);
}

int
routes_match(struct req *r, struct errbuf *eb)
{
    static const struct str v1 = STR("/v/1/");
    const struct route_def *d = NULL;

    if (str_starts(r->path, v1)) {
        r->path.p += v1.len - 1;
        r->path.len -= v1.len - 1;
    }
    if (str_starts(r->raw_path, v1)) {
        r->raw_path.p += v1.len - 1;
        r->raw_path.len -= v1.len - 1;
    }
    for (size_t i = 0; i < ARRAY_LEN(routes) && d == NULL; i++)
        if ((routes[i].plain || !r->plain) &&
            path_matches(routes[i].path, r->path, r->raw_path, &r->route.rest))
            d = &routes[i];
    if (d == NULL)
        return errbuf_set(eb, E_NOTFOUND, "Unknown API path");
    r->route.def = d;
    if (d->resolve != NULL)
        return d->resolve(r, eb);
    if (d->methods == M_ANY)
        return E_OK; /* its handler tells each URL's own methods (Allow) */
    if (r->method == M_OTHER || !(d->methods & M(r->method)))
        return api_not_allowed(r, d->methods, eb);
    return E_OK;
}
