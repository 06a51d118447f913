/* api.c - the API's front door: negotiation, routing, authentication, the
 * error list and the encoding of every answer. */
#include <stdio.h>
#include <stdlib.h>

#include "../auth/accounts.h"
#include "../auth/authn.h"
#include "../auth/authz.h"
#include "../core/config.h"
#include "../core/digest.h"
#include "../core/log.h"
#include "../core/nspath.h"
#include "../store/store.h"
#include "audit.h"
#include "csv.h"
#include "engine.h"
#include "router.h"
#include "routes.h"

static struct val
error_list(struct req *r, const struct errbuf *eb)
{
    struct val e = val_map(), list = val_arr();
    enum err   code = eb->code == E_OK ? E_INTERNAL : eb->code;
    /* Internal faults keep their detail in the log only (API.md 2). */
    const char *desc = code == E_INTERNAL ? "An internal error occurred" : eb->msg;

    val_set(r->a, &e, "code", val_int(err_http_status(code)));
    val_set(r->a, &e, "title", val_cstr(err_title(code)));
    val_set(r->a, &e, "description", val_cstr(arena_strndup(r->a, desc, strlen(desc))));
    val_set(r->a, &e, "subject", val_cstr("keyward"));
    if (eb->attr[0] != '\0') {
        struct val d = val_map();
        val_set(r->a, &d, "attribute",
                val_cstr(arena_strndup(r->a, eb->attr, strlen(eb->attr))));
        val_set(r->a, &e, "data", d);
    }
    val_set(r->a, &e, "trace", val_cstr(r->trace));
    val_push(r->a, &list, e);
    return list;
}

void
api_error(struct req *r, const struct errbuf *eb)
{
    enum err code = eb->code == E_OK ? E_INTERNAL : eb->code;

    log_at(code >= E_INTERNAL ? LOG_ERROR : LOG_INFO, "trace=%s %d %s: %s", r->trace,
           err_http_status(code), err_title(code), eb->msg);
    r->status = err_http_status(code);
    r->resp = error_list(r, eb);
    r->has_resp = true;
    r->list_resp = false;
    if (r->status == 503) /* RFC 9110 10.2.3: when a script may try again */
        api_header(r, "Retry-After", "1");
}

int
api_not_allowed(struct req *r, unsigned methods, struct errbuf *eb)
{
    char   allow[64] = "";
    size_t n = 0;

    for (int m = M_GET; m < M_OTHER; m++)
        if (methods & 1u << m)
            n += (size_t)snprintf(allow + n, sizeof allow - n, "%s%s", n > 0 ? ", " : "",
                                  method_name((enum method)m));
    api_header(r, "Allow", arena_strndup(r->a, allow, n));
    return errbuf_set(eb, E_METHOD, "Method not allowed on this URL");
}

void
api_fail(struct req *r, enum err code, const char *msg)
{
    struct errbuf eb = { 0 };

    errbuf_set(&eb, code, "%s", msg);
    api_error(r, &eb);
}

int
api_header(struct req *r, const char *k, const char *v)
{
    struct resp_header *h;
    size_t              n = 0;

    for (h = r->headers; h != NULL; h = h->next)
        n++;
    if (n >= RESP_HEADERS_MAX || strpbrk(v, "\r\n") != NULL || strpbrk(k, "\r\n: ") != NULL) {
        log_error("trace=%s: response header %s refused", r->trace, k);
        return E_INTERNAL;
    }
    h = arena_calloc(r->a, 1, sizeof *h);
    *h = (struct resp_header){ k, v, NULL };
    if (r->headers_tail == NULL)
        r->headers_tail = &r->headers;
    *r->headers_tail = h;
    r->headers_tail = &h->next;
    return E_OK;
}

/* X-Fields: keep only the named attributes. Nothing is added implicitly. */
static void
keep_fields(struct req *r, struct val *obj)
{
    struct val out = val_map();

    if (obj->t != V_MAP)
        return;
    for (size_t i = 0; i < r->nfields; i++) {
        struct val *v = val_get_s(obj, r->fields[i]);
        if (v != NULL)
            val_set_s(r->a, &out, r->fields[i], *v);
    }
    *obj = out;
}

static void
apply_fields(struct req *r)
{
    if (r->nfields == 0 || r->status >= 300)
        return;
    if (!r->list_resp) {
        keep_fields(r, &r->resp);
        return;
    }
    for (size_t i = 0; i < r->resp.a.n; i++)
        keep_fields(r, &r->resp.a.v[i]);
}

void
api_finish(struct req *r)
{
    audit_after(r);
    if (r->raw_reply || r->stream != NULL)
        return; /* the handler wrote reply (or streams it) and reply_type itself */
    buf_init(&r->reply, SIZE_MAX / 2);
    r->reply_type = r->csv && r->status < 300 ? CSV_TYPE /* HEAD: what GET would say */
                    : r->out == CODEC_MSGPACK ? "application/msgpack"
                                              : "application/json; charset=UTF-8";
    if (!r->has_resp)
        return;
    apply_fields(r);
    if (codec_encode(r->out, &r->resp, &r->reply) != E_OK) {
        log_error("trace=%s: cannot encode the answer", r->trace);
        buf_reset(&r->reply);
        r->status = 500;
    }
}

void
api_release(struct req *r)
{
    if (r->who != NULL)
        principal_put(r->who);
    r->who = NULL;
    if (r->hook.secret.len > 0) {
        mem_wipe((void *)r->hook.secret.p, r->hook.secret.len);
        r->hook.secret = STR_NULL;
        buf_wipe(&r->reply);
        buf_wipe(&r->body); /* it may have carried the secret (an imported CA's key) */
    }
    buf_free(&r->reply);
}

void
api_batch(struct req **rs, size_t n)
{
    store_budget_begin();
    engine_batch(rs, n);
    store_budget_end();
}

/* The route's serving, its reads within one store_timeout (store_budget_begin). */
static enum api_result
serve(struct req *r)
{
    enum api_result res;

    store_budget_begin();
    res = r->route.def->serve(r);
    store_budget_end();
    return res;
}

/* Authenticated already (api_handle): the route's serving again. */
enum api_result
api_handle_later(struct req *r)
{
    return serve(r);
}

int
namespace_header(struct req *r, struct errbuf *eb)
{
    if (r->x_namespace.p == NULL)
        return errbuf_set(eb, E_BADREQ, "The X-Namespace header is required");
    if (!nspath_valid(r->x_namespace))
        return errbuf_set(eb, E_BADREQ,
                          "The X-Namespace header is not a valid namespace: "
                          "an absolute path of [a-zA-Z0-9_-] names");
    r->ns = r->x_namespace;
    return E_OK;
}

/* Bodies are for principals. A body larger than anon_body_max() (or of
 * unknown length: chunked) is read for a valid token's request to a route
 * that wants one; anyone else (no token, a bad one, no route, the routes
 * that take none: logins, OCSP) is refused with 413 at once past
 * it, and the 401 is told once a body that fits is read. Else
 * anyone could make the server hold max_body_size per connection for as long
 * as body_min_rate allows (a review: about 1 GiB for 17 minutes with 1,024
 * connections). The token is judged from memory only (authn_peek: the head
 * is read by the I/O thread, which never waits for the store); the request
 * is judged again in full once its body is read (api_handle). */
static int64_t
anon_body_max(void)
{
    return cfg.max_anonymous_body_size < cfg.max_body_size ? cfg.max_anonymous_body_size
                                                           : cfg.max_body_size;
}

/* A route that takes bodies above max_body_size (a bundle of certificates)
 * takes them from a principal that may make it: the API authorizations are
 * judged with the head too (a disabled account, a principal without the
 * right or outside its networks keep max_body_size; a review's tokens
 * without the right held 1.6 GB with 50 connections). */
static void
raise_body_max(struct req *r, const struct principal *who, int64_t max)
{
    struct errbuf eb = { 0 };

    if (r->x_namespace.p == NULL || !nspath_valid(r->x_namespace))
        return;
    struct authz_query q = { r->a, who, r->x_namespace, r->client_ip };
    if (authz_check(&q, r->route.spec, VERB_POST, &eb) == E_OK)
        r->body_max = max;
}

static void
judge_body_limit(struct req *r, int64_t body_len)
{
    bool              token = r->route_err.code == E_OK && r->route.def->auth == RA_TOKEN;
    struct principal *who;

    if (body_len >= 0 && body_len <= anon_body_max())
        return; /* nothing to judge: anyone may send that much */
    who = token ? authn_peek(r->authorization) : NULL;
    if (who != NULL && accounts_gone(who)) { /* a deleted account's token, say */
        principal_put(who);
        who = NULL;
    }
    if (who == NULL) {
        r->body_max = r->body_max < anon_body_max() ? r->body_max : anon_body_max();
        return;
    }
    if (r->route.spec != NULL && r->route.spec->body_max != NULL && r->method == M_POST &&
        r->route.id.len == 0)
        raise_body_max(r, who, *r->route.spec->body_max);
    principal_put(who);
}

void
api_prepare(struct req *r, int64_t body_len)
{
    r->count_total = -1;
    r->body_max = cfg.max_body_size;
    if (routes_match(r, &r->route_err) == E_OK)
        r->route_err.code = E_OK;
    if (r->route.def != NULL && r->route.def->body_max > 0)
        r->body_max = r->route.def->body_max;
    judge_body_limit(r, body_len);
}

/* The route's media types; an unknown path answers as the resource tree does.
 * text/csv is for lists only (GET or HEAD of a collection, API.md 7.3): for
 * any other operation it is not a type the URL produces. */
static int
negotiate(struct req *r, struct errbuf *eb)
{
    const struct route_def *d = r->route.def;
    unsigned                produces = d != NULL ? d->produces : MT_OBJECT;
    bool list = r->route_err.code == E_OK && r->route.spec != NULL && r->route.action == NULL &&
                (r->route.id.len == 0 || r->route.parent != NULL) &&
                (r->method == M_GET || r->method == M_HEAD);

    if (!list)
        produces &= ~(unsigned)MT_CSV;
    return router_negotiate(r, d != NULL ? d->consumes : MT_OBJECT, produces, eb);
}

enum api_result
api_handle(struct req *r)
{
    struct errbuf eb = { 0 };

    /* An unusable Accept or Content-Type is answered before a bad method, but
     * not before a path where nothing is (404: what a client must hear first). */
    int media = negotiate(r, &eb);

    if (r->route_err.code == E_NOTFOUND || (media == E_OK && r->route_err.code != E_OK)) {
        eb = r->route_err;
        goto fail;
    }
    if (media != E_OK)
        goto fail;
    if (r->route.def->auth == RA_TOKEN &&
        authn_bearer(r->authorization, r->trace, &r->who, &eb) != E_OK)
        goto fail;
    return serve(r);
fail:
    api_error(r, &eb);
    return API_DONE;
}
