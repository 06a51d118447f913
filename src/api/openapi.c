/* openapi.c - GET /openapi.json (openapi.h): the OpenAPI 3.1 document of the
 * console, generated from the route table and the resource specs, so that it
 * cannot drift from what the server answers. Built once (pthread_once) into an
 * encoded JSON buffer that every request copies into its reply. */
#include "openapi.h"

#include "../model/validate.h"

#include <pthread.h>
#include <stdlib.h>

#include "../core/config.h"
#include "../core/log.h"
#include "../model/spec.h"
#include "routes.h"

#define M(m) (1u << (m))

static struct arena  *oa; /* holds the tree while it is built */
static struct buf     doc_json;
static bool           doc_ok;
static pthread_once_t doc_once = PTHREAD_ONCE_INIT;

/* ---- small builders ------------------------------------------------------ */

static void
set(struct val *m, const char *k, struct val v)
{
    val_set(oa, m, k, v);
}

static struct val
map1(const char *k, struct val v)
{
    struct val m = val_map();

    set(&m, k, v);
    return m;
}

static struct val
ref(const char *kind, const char *name)
{
    return map1("$ref", val_cstr(arena_printf(oa, "#/components/%s/%s", kind, name)));
}

static struct val
type(const char *t)
{
    return map1("type", val_cstr(t));
}

static struct val
str_array(void)
{
    struct val a = type("array");

    set(&a, "items", type("string"));
    return a;
}

/* Media types of a route (enum media) to a content map holding `schema`. */
static struct val
content(unsigned media, struct val schema)
{
    struct val c = val_map();

    if (media & MT_JSON)
        set(&c, "application/json", map1("schema", schema));
    if (media & MT_MSGPACK)
        set(&c, "application/msgpack", map1("schema", schema));
    if (media & MT_FORM)
        set(&c, "application/x-www-form-urlencoded", map1("schema", schema));
    if (media & MT_ANY) /* the handler reads Content-Type itself */
        set(&c, "*/*", map1("schema", schema));
    return c;
}

/* ---- errors (API.md 2) --------------------------------------------------- */

/* The statuses an error list may carry, as API.md 2 lists them. */
static const int error_statuses[] = { 400, 401, 403, 404, 405, 409, 413, 414, 415,
                                      417, 422, 429, 431, 500, 501, 503, 505 };

static struct val
error_schemas(struct val *schemas)
{
    struct val e = type("object"), p = val_map(), req = val_arr(), list = type("array");

    set(&p, "code", map1("type", val_cstr("integer")));
    set(val_get(&p, "code"), "description", val_cstr("the HTTP status"));
    set(&p, "title", type("string"));
    set(&p, "description", type("string"));
    set(&p, "subject", type("string"));
    set(&p, "data", type("object"));
    set(val_get(&p, "data"), "description",
        val_cstr("details where they help, e.g. {\"attribute\": \"name\"}"));
    set(&p, "trace", type("string"));
    set(val_get(&p, "trace"), "description",
        val_cstr("the request's trace id, also in X-Trace-Id and the server log"));
    set(val_get(&p, "trace"), "pattern", val_cstr("^[0-9a-f]{16}$"));
    set(&e, "properties", p);
    val_push(oa, &req, val_cstr("code"));
    val_push(oa, &req, val_cstr("title"));
    val_push(oa, &req, val_cstr("description"));
    val_push(oa, &req, val_cstr("subject"));
    val_push(oa, &req, val_cstr("trace"));
    set(&e, "required", req);
    set(schemas, "Error", e);
    set(&list, "items", ref("schemas", "Error"));
    set(&list, "minItems", val_int(1));
    set(&list, "description",
        val_cstr("Every error is a list; the HTTP status is the first "
                 "error's code"));
    set(schemas, "ErrorList", list);
    /* RFC 6749 5.2, for /oauth2/access_token */
    struct val o = type("object"), op = val_map();
    set(&op, "error", type("string"));
    set(&op, "error_description", type("string"));
    set(&o, "properties", op);
    set(&o, "required", val_arr());
    val_push(oa, val_get(&o, "required"), val_cstr("error"));
    set(schemas, "OAuth2Error", o);
    return list;
}

/* components.responses: one per status, described by the titles of the
 * errors (core/base.c) that carry it. */
static struct val
error_responses(void)
{
    struct val rs = val_map();

    for (size_t i = 0; i < ARRAY_LEN(error_statuses); i++) {
        struct buf d;
        buf_init(&d, 4096);
        for (int e = E_OK + 1; e < E__COUNT; e++)
            if (err_http_status((enum err)e) == error_statuses[i])
                buf_printf(&d, "%s%s", d.len > 0 ? ", " : "", err_title((enum err)e));
        struct val r = val_map(), h = val_map();
        set(&r, "description",
            val_cstr(arena_strndup(oa, d.len > 0 ? d.p : "Error", d.len > 0 ? d.len : 5)));
        buf_free(&d);
        set(&h, "X-Trace-Id", map1("schema", type("string")));
        if (error_statuses[i] == 429)
            set(&h, "Retry-After", map1("schema", type("integer")));
        set(&r, "headers", h);
        set(&r, "content", content(MT_OBJECT, ref("schemas", "ErrorList")));
        set(&rs, arena_printf(oa, "E%d", error_statuses[i]), r);
    }
    return rs;
}

static void
add_error(struct val *responses, int status)
{
    set(responses, arena_printf(oa, "%d", status),
        ref("responses", arena_printf(oa, "E%d", status)));
}

/* What any request may meet on its way (framing, limits, media types, rate). */
static void
add_transport_errors(struct val *responses)
{
    static const int any[] = { 400, 413, 414, 415, 429, 431, 500, 501, 503, 505 };

    for (size_t i = 0; i < ARRAY_LEN(any); i++)
        add_error(responses, any[i]);
}

static void
add_token_errors(struct val *responses)
{
    add_error(responses, 401);
    add_error(responses, 403);
    add_error(responses, 417);
}

/* ---- resource schemas ---------------------------------------------------- */

static struct val
enum_values(const char *const *enums)
{
    struct val e = val_arr();

    for (const char *const *p = enums; *p != NULL; p++)
        val_push(oa, &e, val_cstr(*p));
    return e;
}

/* The schema of one string (of a T_STRING, or an item of a T_STRLIST). */
static struct val
string_schema(const struct attr *at, size_t max_len)
{
    struct val s = type("string");

    if (max_len > 0)
        set(&s, "maxLength", val_int((int64_t)max_len));
    if (at->pattern != NULL)
        set(&s, "pattern", val_cstr(at->pattern));
    if (at->enums != NULL)
        set(&s, "enum", enum_values(at->enums));
    return s;
}

static struct val
attr_schema(const struct attr *at)
{
    struct val s = val_map();

    switch (at->type) {
    case T_STRING:
        s = string_schema(at, at->max_len);
        break;
    case T_BOOL:
        s = type("boolean");
        break;
    case T_INT:
        s = type("integer");
        set(&s, "format", val_cstr("int64"));
        break;
    case T_FLOAT:
        s = type("number");
        break;
    case T_TIME:
        s = type("string");
        set(&s, "format", val_cstr("date-time"));
        break;
    case T_STRLIST:
        s = type("array");
        set(&s, "items", string_schema(at, 0));
        if (at->max_len > 0)
            set(&s, "maxItems", val_int((int64_t)at->max_len));
        break;
    case T_STRMAP:
        s = type("object");
        set(&s, "additionalProperties", str_array());
        if (at->max_len > 0)
            set(&s, "maxProperties", val_int((int64_t)at->max_len));
        break;
    case T_SUBJECT:
        s = type("array");
        set(&s, "items", str_array());
        if (at->max_len > 0)
            set(&s, "maxItems", val_int((int64_t)at->max_len));
        break;
    case T_ANY:
        break; /* any value */
    }
    if (at->def != NULL)
        set(&s, "default", attr_default(oa, at));
    if (at->flags & A_READONLY)
        set(&s, "readOnly", val_bool(true));
    if (at->flags & A_WRITEONLY)
        set(&s, "writeOnly", val_bool(true));
    if (at->flags & A_CREATIONONLY)
        set(&s, "x-creationOnly", val_bool(true));
    if (at->flags & (A_QUERY | A_ORDER)) {
        struct val f = val_arr();
        if (at->flags & A_QUERY)
            val_push(oa, &f, val_cstr("q"));
        if (at->flags & A_ORDER)
            val_push(oa, &f, val_cstr("order"));
        set(&s, "x-filterable", f);
    }
    const char *doc = at->doc;
    if (at->flags & A_CREATIONONLY)
        doc = arena_printf(oa, "%s%screation only: cannot change once created",
                           doc != NULL ? doc : "", doc != NULL ? "; " : "");
    if (doc != NULL)
        set(&s, "description", val_cstr(doc));
    return s;
}

static void
add_attr(struct val *props, struct val *required, const struct attr *at)
{
    /* Server-internal (neither accepted nor returned): not part of the API. */
    if ((at->flags & (A_READONLY | A_WRITEONLY)) == (A_READONLY | A_WRITEONLY))
        return;
    set(props, at->name, attr_schema(at));
    if (at->flags & A_REQUIRED)
        val_push(oa, required, val_cstr(at->name));
}

static struct val
spec_schema(const struct spec *s)
{
    struct val sc = type("object"), props = val_map(), req = val_arr();
    struct val obj = type("string");

    set(&obj, "const", val_cstr(s->identity));
    set(&obj, "readOnly", val_bool(true));
    set(&obj, "description", val_cstr("the object's identity"));
    set(&props, "object", obj);
    if (!s->not_namespaced)
        for (size_t i = 0; i < spec_ncommon_attrs; i++)
            add_attr(&props, &req, &spec_common_attrs[i]);
    for (size_t i = 0; i < s->nattrs; i++)
        add_attr(&props, &req, &s->attrs[i]);
    set(&sc, "properties", props);
    if (req.a.n > 0)
        set(&sc, "required", req);
    if (s->unique != NULL)
        set(&sc, "description",
            val_cstr(
                arena_printf(oa, "%s: `%s` is unique %s", s->identity, s->unique,
                             s->unique_global ? "across all namespaces" : "per namespace")));
    return sc;
}

/* ---- resource operations (API.md 6) ------------------------------------- */

static struct val
param(const char *name, const char *in, bool required, struct val schema, const char *doc)
{
    struct val p = val_map();

    set(&p, "name", val_cstr(name));
    set(&p, "in", val_cstr(in));
    if (required)
        set(&p, "required", val_bool(true));
    set(&p, "schema", schema);
    if (doc != NULL)
        set(&p, "description", val_cstr(doc));
    return p;
}

static struct val
int_schema(int64_t min)
{
    struct val s = type("integer");

    set(&s, "minimum", val_int(min));
    return s;
}

static struct val
bool_schema(void)
{
    struct val s = type("boolean");

    set(&s, "default", val_bool(false));
    return s;
}

/* Names of the attributes that carry `flag`, as an enum (order: with "-"). */
static struct val
attr_names(const struct spec *s, unsigned flag, bool signed_order)
{
    struct val e = val_arr();

    for (int neg = 0; neg <= (signed_order ? 1 : 0); neg++) {
        for (size_t i = 0; i < spec_ncommon_attrs && !s->not_namespaced; i++)
            if (spec_common_attrs[i].flags & flag)
                val_push(oa, &e,
                         val_cstr(arena_printf(oa, "%s%s", neg ? "-" : "",
                                               spec_common_attrs[i].name)));
        for (size_t i = 0; i < s->nattrs; i++)
            if (s->attrs[i].flags & flag)
                val_push(oa, &e,
                         val_cstr(arena_printf(oa, "%s%s", neg ? "-" : "", s->attrs[i].name)));
    }
    return e;
}

static struct val
list_params(const struct spec *s)
{
    struct val ps = val_arr(), order = type("array"), q = str_array(), os = type("string");

    val_push(oa, &ps, param("page", "query", false, int_schema(1), "page number, from 1"));
    val_push(oa, &ps,
             param("pageSize", "query", false, int_schema(0),
                   "items per page (0: all, up to the configured cap; default "
                   "100); `pagesize` is accepted too"));
    if (s->not_namespaced)
        return ps; /* served from memory: pages only */
    val_push(oa, &ps,
             param("limit", "query", false, int_schema(1),
                   "cursor paging: at most this many items after `after`; "
                   "X-Next holds the next cursor"));
    val_push(oa, &ps,
             param("after", "query", false, type("string"),
                   "cursor paging: the ID of the last item seen"));
    set(&os, "enum", attr_names(s, A_ORDER, true));
    set(&order, "items", os);
    struct val p = param("order", "query", false, order,
                         "sort by this attribute (`-name`: descending); repeatable");
    set(&p, "explode", val_bool(true));
    val_push(oa, &ps, p);
    p = param("q", "query", false, q,
              "filter (`field op value`, and/or, parentheses; API.md 6); repeatable, "
              "OR-ed. Queryable attributes are marked x-filterable");
    set(&p, "explode", val_bool(true));
    val_push(oa, &ps, p);
    val_push(oa, &ps,
             param("recursive", "query", false, bool_schema(),
                   "include the namespaces below X-Namespace"));
    return ps;
}

static struct val
operation(const char *opid, const char *summary, const char *tag, bool token)
{
    struct val op = val_map(), tags = val_arr(), sec = val_arr();

    set(&op, "operationId", val_cstr(opid));
    set(&op, "summary", val_cstr(summary));
    val_push(oa, &tags, val_cstr(tag));
    set(&op, "tags", tags);
    if (token)
        val_push(oa, &sec, map1("bearer", val_arr()));
    set(&op, "security", sec);
    set(&op, "parameters", val_arr());
    set(&op, "responses", val_map());
    return op;
}

static void
add_param(struct val *op, struct val p)
{
    val_push(oa, val_get(op, "parameters"), p);
}

static void
add_fields(struct val *op)
{
    add_param(op, param("X-Fields", "header", false, type("string"),
                        "comma-separated attributes: the answer holds only those"));
}

static void
add_idem(struct val *op)
{
    add_param(op, param("Idempotency-Key", "header", false, type("string"),
                        "a repeat with the same key answers the kept answer (API.md 6)"));
}

static struct val
count_headers(bool next)
{
    struct val h = val_map();

    set(&h, "X-Count-Total", map1("schema", type("integer")));
    set(val_get(&h, "X-Count-Total"), "description", val_cstr("the number of matches"));
    if (next) {
        set(&h, "X-Next", map1("schema", type("string")));
        set(val_get(&h, "X-Next"), "description",
            val_cstr("the next cursor (limit/after paging)"));
    }
    return h;
}

static struct val
ok_response(const char *desc, struct val schema, struct val headers)
{
    struct val r = val_map();

    set(&r, "description", val_cstr(desc));
    if (headers.t == V_MAP && headers.m.n > 0)
        set(&r, "headers", headers);
    set(&r, "content", content(MT_OBJECT, schema));
    return r;
}

static struct val
no_content(const char *desc, struct val headers)
{
    struct val r = val_map();

    set(&r, "description", val_cstr(desc));
    if (headers.t == V_MAP && headers.m.n > 0)
        set(&r, "headers", headers);
    return r;
}

static void
resource_errors(struct val *op, bool write, bool put)
{
    struct val *rs = val_get(op, "responses");

    add_transport_errors(rs);
    add_token_errors(rs);
    add_error(rs, 404);
    if (write)
        add_error(rs, 422);
    if (put)
        add_error(rs, 409);
}

/* Bodies of named media types (a PEM file): a string schema each. */
static struct val
raw_content(const char *const *types, struct val c)
{
    for (const char *const *t = types; t != NULL && *t != NULL; t++)
        set(&c, *t, map1("schema", type("string")));
    return c;
}

static struct val
body(const struct spec *s)
{
    struct val b = val_map();

    set(&b, "required", val_bool(true));
    set(&b, "content",
        raw_content(s->raw_types, content(MT_OBJECT, ref("schemas", s->identity))));
    return b;
}

/* GET/HEAD (list, count) and POST (create) of `s` at a collection URL. */
static void
collection_item(struct val *item, const struct spec *s, const char *opid, const char *where)
{
    if (s->ops & OP_LIST) {
        struct val op =
            operation(arena_printf(oa, "list%s", opid),
                      arena_printf(oa, "List %s%s", s->rest, where), s->identity, true);
        struct val ps = list_params(s), arr = type("array");
        for (size_t i = 0; i < ps.a.n; i++)
            add_param(&op, ps.a.v[i]);
        add_fields(&op);
        set(&arr, "items", ref("schemas", s->identity));
        set(val_get(&op, "responses"), "200",
            ok_response("the matching objects (a bare array)", arr, count_headers(true)));
        resource_errors(&op, false, false);
        set(item, "get", op);

        op = operation(arena_printf(oa, "count%s", opid),
                       arena_printf(oa, "Count %s%s", s->rest, where), s->identity, true);
        for (size_t i = 0; i < ps.a.n; i++)
            add_param(&op, ps.a.v[i]);
        set(val_get(&op, "responses"), "204",
            no_content("the count only, in X-Count-Total", count_headers(false)));
        resource_errors(&op, false, false);
        set(item, "head", op);
    }
    if (s->ops & OP_CREATE) {
        struct val op =
            operation(arena_printf(oa, "create%s", opid),
                      arena_printf(oa, "Create a %s%s", s->identity, where), s->identity, true);
        add_fields(&op);
        add_idem(&op);
        set(&op, "requestBody", body(s));
        set(val_get(&op, "responses"), "200",
            ok_response("the created object", ref("schemas", s->identity), val_null()));
        resource_errors(&op, true, false);
        set(item, "post", op);
    }
}

static struct val
path_item(const struct spec *s, bool id)
{
    struct val item = val_map(), ps = val_arr();

    if (id)
        val_push(oa, &ps, param("id", "path", true, type("string"), "the object's ID"));
    val_push(oa, &ps,
             param("X-Namespace", "header", true, type("string"),
                   s->not_namespaced ? "required, any namespace (this resource lives outside "
                                       "the namespace tree)"
                                     : "the namespace the request works in (absolute path)"));
    if (ps.a.n > 0)
        set(&item, "parameters", ps);
    return item;
}

static struct val
override_param(void)
{
    return param("override", "query", false, bool_schema(),
                 "allow changing a protected object");
}

static void
object_item(struct val *item, const struct spec *s)
{
    const char *id = s->identity;

    if (s->ops & OP_GET) {
        struct val op = operation(arena_printf(oa, "get_%s", id),
                                  arena_printf(oa, "Get a %s", id), id, true);
        if (!s->not_namespaced)
            add_param(&op, param("recursive", "query", false, bool_schema(),
                                 "look in the namespaces below X-Namespace too"));
        add_fields(&op);
        set(val_get(&op, "responses"), "200",
            ok_response("the object", ref("schemas", id), val_null()));
        resource_errors(&op, false, false);
        set(item, "get", op);

        op = operation(arena_printf(oa, "exists_%s", id),
                       arena_printf(oa, "Whether a %s exists", id), id, true);
        if (!s->not_namespaced)
            add_param(&op, param("recursive", "query", false, bool_schema(),
                                 "look in the namespaces below X-Namespace too"));
        set(val_get(&op, "responses"), "204", no_content("it exists", val_null()));
        resource_errors(&op, false, false);
        set(item, "head", op);
    }
    if (s->ops & OP_UPDATE) {
        struct val op = operation(arena_printf(oa, "update_%s", id),
                                  arena_printf(oa,
                                               "Replace a %s (updateTime must be the "
                                               "stored one)",
                                               id),
                                  id, true);
        add_param(&op, override_param());
        add_fields(&op);
        add_idem(&op);
        set(&op, "requestBody", body(s));
        set(val_get(&op, "responses"), "200",
            ok_response("the updated object", ref("schemas", id), val_null()));
        resource_errors(&op, true, true);
        set(item, "put", op);
    }
    if (s->ops & OP_DELETE) {
        struct val op = operation(arena_printf(oa, "delete_%s", id),
                                  arena_printf(oa, "Delete a %s%s", id,
                                               s->cascades ? " and everything below it" : ""),
                                  id, true);
        add_param(&op, override_param());
        add_fields(&op);
        set(val_get(&op, "responses"), "200",
            ok_response("the deleted object", ref("schemas", id), val_null()));
        resource_errors(&op, true, false);
        set(item, "delete", op);
    }
}

static void
read_action_item(struct val *item, const struct spec *s, const struct spec_action *act)
{
    struct val op = operation(arena_printf(oa, "%s_%s", act->name, s->identity),
                              arena_printf(oa, "The %s of a %s", act->name, s->identity),
                              s->identity, true);
    struct val ok = val_map();

    for (const char *const *p = act->params; p != NULL && *p != NULL; p++)
        add_param(&op, param(*p, "query", false, type("string"), "see the resource's docs"));
    set(&ok, "description", val_cstr("the answer"));
    set(&ok, "content",
        act->produces != NULL ? raw_content(act->produces, val_map())
                              : content(MT_OBJECT, type("object")));
    set(val_get(&op, "responses"), "200", ok);
    resource_errors(&op, false, false);
    set(item, "get", op);
}

static void
action_item(struct val *item, const struct spec *s, const struct spec_action *act)
{
    if (act->read != NULL) {
        read_action_item(item, s, act);
        return;
    }
    struct val op =
        operation(arena_printf(oa, "%s_%s", act->name, s->identity),
                  arena_printf(oa, "%s of a %s", act->name, s->identity), s->identity, true);

    add_fields(&op);
    add_idem(&op);
    set(val_get(&op, "responses"), "200",
        ok_response("the action's answer", type("object"), val_null()));
    resource_errors(&op, true, false);
    set(item, "post", op);
}

static void
add_resource(struct val *paths, struct val *schemas, const struct spec *s)
{
    const char *base = arena_printf(oa, "/%s", s->rest);

    set(schemas, s->identity, spec_schema(s));
    if (s->ops & (OP_LIST | OP_CREATE)) {
        struct val item = path_item(s, false);
        collection_item(&item, s, arena_printf(oa, "_%s", s->rest), "");
        set(paths, base, item);
    }
    if (s->ops & (OP_GET | OP_UPDATE | OP_DELETE)) {
        struct val item = path_item(s, true);
        object_item(&item, s);
        set(paths, arena_printf(oa, "%s/{id}", base), item);
    }
    for (size_t i = 0; i < spec_count; i++) {
        const struct spec *child = spec_all[i];
        if (!spec_has_child(s, child) || !(child->ops & (OP_LIST | OP_CREATE)))
            continue;
        struct val item = path_item(child, true);
        collection_item(&item, child, arena_printf(oa, "_%s_%s", s->rest, child->rest),
                        arena_printf(oa, " in a %s", s->identity));
        set(paths, arena_printf(oa, "%s/{id}/%s", base, child->rest), item);
    }
    for (const struct spec_action *a = s->actions; a != NULL && a->name != NULL; a++) {
        struct val item = path_item(s, true);
        action_item(&item, s, a);
        set(paths, arena_printf(oa, "%s/{id}/%s", base, a->name), item);
    }
}

/* ---- the rows of the route table ---------------------------------------- */

static const char *const method_keys[] = { "get", "head", "post", "put", "delete" };

static void
add_route(struct val *paths, const struct route_def *d)
{
    struct val item = val_map();
    bool       oauth2 = strcmp(d->path, "/oauth2/access_token") == 0;

    for (int m = M_GET; m <= M_DELETE; m++) {
        if (!(d->methods & M(m)))
            continue;
        char *opid = arena_printf(oa, "%s%s", method_keys[m], d->path);
        for (char *p = opid; *p != '\0'; p++)
            if (*p == '/' || *p == '.')
                *p = '_';
        struct val op = operation(opid, d->summary != NULL ? d->summary : d->path, "console",
                                  d->auth == RA_TOKEN);
        val_del(&op, "parameters");
        if ((m == M_POST || m == M_PUT) && d->consumes != 0) {
            struct val b = val_map();
            set(&b, "content", content(d->consumes, type("object")));
            set(&op, "requestBody", b);
        }
        /* After the last change to op's keys: a pointer into its entries. */
        struct val *rs = val_get(&op, "responses");
        if (m == M_HEAD)
            set(rs, "200", no_content("as GET, without the body", val_null()));
        else {
            struct val r = val_map();
            set(&r, "description", val_cstr("OK"));
            set(&r, "content", content(d->produces, type("object")));
            set(rs, "200", r);
        }
        add_transport_errors(rs);
        if (d->auth == RA_TOKEN)
            add_token_errors(rs);
        if ((m == M_POST || m == M_PUT) && !oauth2) {
            add_error(rs, 401); /* bad credentials or token (/issue, /authn) */
            add_error(rs, 422);
        }
        if (oauth2) { /* RFC 6749 5.2 errors, not the error list */
            struct val r = val_map();
            set(&r, "description",
                val_cstr("invalid_request, invalid_client, "
                         "invalid_scope, unsupported_grant_type "
                         "(RFC 6749 5.2)"));
            set(&r, "content", content(MT_JSON, ref("schemas", "OAuth2Error")));
            set(rs, "400", r);
            set(rs, "401", r);
        }
        set(&item, method_keys[m], op);
    }
    set(paths, d->path, item);
}

/* A "/ *" row's own URLs (route_doc): public, their parameters strings. */
static void
add_route_docs(struct val *paths, const struct route_def *d)
{
    for (const struct route_doc *doc = d->docs; doc->path != NULL; doc++) {
        struct val item = val_map(), params = val_arr();
        for (const char *p = strchr(doc->path, '{'); p != NULL; p = strchr(p + 1, '{')) {
            const char *e = strchr(p, '}');
            val_push(oa, &params,
                     param(arena_strndup(oa, p + 1, (size_t)(e - p - 1)), "path", true,
                           type("string"), NULL));
        }
        for (int m = M_GET; m <= M_DELETE; m++) {
            if (!(doc->methods & M(m)))
                continue;
            char *opid = arena_printf(oa, "%s%s", method_keys[m], doc->path);
            for (char *p = opid; *p != '\0'; p++)
                if (strchr("/.{}", *p) != NULL)
                    *p = '_';
            struct val op = operation(opid, doc->summary, "pki", false);
            set(&op, "parameters", params);
            struct val *rs = val_get(&op, "responses"), r = val_map(), c = val_map();
            set(&c, doc->type, map1("schema", type("string")));
            set(&r, "description", val_cstr("OK"));
            set(&r, "content", c);
            set(rs, "200",
                m == M_HEAD ? no_content("as GET, without the body", val_null()) : r);
            add_transport_errors(rs);
            set(&item, method_keys[m], op);
        }
        set(paths, doc->path, item);
    }
}

/* ---- the document -------------------------------------------------------- */

static struct val
build(void)
{
    struct val root = val_map(), info = val_map(), paths = val_map(), comp = val_map();
    struct val schemas = val_map(), sec = val_map(), bearer = type("http");
    size_t     n;
    const struct route_def *rt = routes_all(&n);

    set(&root, "openapi", val_cstr("3.1.0"));
    set(&info, "title", val_cstr("Keyward"));
    set(&info, "version", val_cstr(KW_VERSION));
    set(&info, "description",
        val_cstr("The Keyward console API, generated from the server's route table and "
                 "resource specs. Every path is also served under /v/1. Bodies are JSON or "
                 "MessagePack; errors are lists (ErrorList). Every authenticated request "
                 "names its namespace in X-Namespace."));
    set(&root, "info", info);
    if (cfg.public_url[0] != '\0') {
        struct val servers = val_arr();
        val_push(oa, &servers, map1("url", val_cstr(cfg.public_url)));
        set(&root, "servers", servers);
    }
    error_schemas(&schemas);
    for (size_t i = 0; i < n; i++)
        if (rt[i].docs != NULL)
            add_route_docs(&paths, &rt[i]);
        else if (rt[i].resolve == NULL) /* the resource tree is described by the specs */
            add_route(&paths, &rt[i]);
    for (size_t i = 0; i < spec_count; i++)
        add_resource(&paths, &schemas, spec_all[i]);
    set(&root, "paths", paths);
    set(&comp, "schemas", schemas);
    set(&comp, "responses", error_responses());
    set(&bearer, "scheme", val_cstr("bearer"));
    set(&bearer, "bearerFormat", val_cstr("JWT"));
    set(&bearer, "description", val_cstr("a Keyward token from POST /issue (ES256 JWT)"));
    set(&sec, "bearer", bearer);
    set(&comp, "securitySchemes", sec);
    set(&root, "components", comp);
    return root;
}

static void
build_once(void)
{
    oa = arena_new(64 * 1024);
    struct val root = build();

    buf_init(&doc_json, SIZE_MAX / 2);
    doc_ok = json_encode(&root, &doc_json) == E_OK;
    if (!doc_ok) {
        log_error("openapi: cannot encode the document");
        buf_free(&doc_json);
    }
    arena_free(oa);
    oa = NULL;
}

const struct buf *
openapi_document(void)
{
    pthread_once(&doc_once, build_once);
    return doc_ok ? &doc_json : NULL;
}

enum api_result
openapi_serve(struct req *r)
{
    const struct buf *d = openapi_document();

    if (d == NULL) {
        api_fail(r, E_INTERNAL, "the OpenAPI document could not be built");
        return API_DONE;
    }
    buf_init(&r->reply, SIZE_MAX / 2);
    if (buf_append(&r->reply, d->p, d->len) != E_OK) {
        buf_free(&r->reply);
        api_fail(r, E_INTERNAL, "out of memory");
        return API_DONE;
    }
    r->raw_reply = true;
    r->reply_type = "application/json; charset=UTF-8";
    r->status = 200;
    return API_DONE;
}
