/* router.c - the three-level URL layout (API.md section 6) and content types. */
#include "router.h"

#include "../model/spec.h"
#include "routes.h"

/* Methods per URL level (collection, object, children), then the spec ops each
 * method needs at that level. */
static unsigned
level_methods(const struct spec *s, int level)
{
    unsigned m = 0;

    if (level == 0 || level == 2) {
        if (s->ops & OP_LIST)
            m |= 1u << M_GET | 1u << M_HEAD;
        if (s->ops & OP_CREATE)
            m |= 1u << M_POST;
    } else {
        if (s->ops & OP_GET)
            m |= 1u << M_GET | 1u << M_HEAD;
        if (s->ops & OP_UPDATE)
            m |= 1u << M_PUT;
        if (s->ops & OP_DELETE)
            m |= 1u << M_DELETE;
    }
    return m;
}

/* Split "/a/b/c" into at most 4 segments; false if more, or an empty segment. */
static bool
split(struct str p, struct str seg[4], size_t *n)
{
    *n = 0;
    if (p.len == 0 || p.p[0] != '/')
        return false;
    p.p++, p.len--;
    while (p.len > 0) {
        struct str head, rest = str_cut(p, '/', &head);
        if (head.len == 0 || *n == 4)
            return false;
        seg[(*n)++] = head;
        if (rest.p == NULL)
            break;
        if (rest.len == 0)
            return false; /* trailing slash */
        p = rest;
    }
    return *n > 0;
}

int
router_resource(struct req *r, struct errbuf *eb)
{
    struct str seg[4];
    size_t     n;

    if (!split(r->path, seg, &n) || n > 3)
        return errbuf_set(eb, E_NOTFOUND, "Unknown API path");
    const struct spec *s = spec_by_rest(seg[0]);
    if (s == NULL)
        return errbuf_set(eb, E_NOTFOUND, "Unknown API path");
    r->route.spec = s;
    int level = (int)n - 1;
    if (n >= 2)
        r->route.id = seg[1];
    if (n == 3 && s->actions != NULL)
        for (const struct spec_action *act = s->actions; act->name != NULL; act++)
            if (str_eq_c(seg[2], act->name)) {
                bool ok = act->read != NULL ? r->method == M_GET || r->method == M_HEAD
                                            : r->method == M_POST;
                r->route.action = act;
                if (!ok)
                    return api_not_allowed(
                        r, act->read != NULL ? 1u << M_GET | 1u << M_HEAD : 1u << M_POST, eb);
                return E_OK;
            }
    if (n == 3) {
        const struct spec *child = spec_by_rest(seg[2]);
        if (child == NULL || !spec_has_child(s, child))
            return errbuf_set(eb, E_NOTFOUND, "Unknown API path");
        r->route.parent = s;
        r->route.spec = child;
    }
    if (r->method == M_OTHER || !(level_methods(r->route.spec, level) & 1u << r->method))
        return api_not_allowed(r, level_methods(r->route.spec, level), eb);
    return E_OK;
}

/* The media type of a header value, without parameters, trimmed. */
static struct str
media_type(struct str v)
{
    struct str head;

    str_cut(v, ';', &head);
    return str_trim(head);
}

static bool
is_json(struct str t)
{
    return str_eq_nocase(t, "application/json") || str_eq_nocase(t, "application/*") ||
           str_eq_nocase(t, "*/*");
}

static bool
is_msgpack(struct str t)
{
    return str_eq_nocase(t, "application/msgpack") ||
           str_eq_nocase(t, "application/x-msgpack") ||
           str_eq_nocase(t, "application/vnd.msgpack");
}

/* An Accept item the client refuses: a q of 0 (RFC 9110 12.4.2, "not
 * acceptable"), such as "application/json;q=0". */
static bool
refused_item(struct str item)
{
    struct str param, rest = str_cut(item, ';', NULL); /* past the type */

    while (rest.p != NULL) {
        rest = str_cut(rest, ';', &param);
        struct str k, v = str_cut(param, '=', &k);
        if (v.p == NULL || !str_eq_nocase(str_trim(k), "q"))
            continue;
        v = str_trim(v);
        if (v.len == 0 || v.p[0] != '0')
            return false;
        for (size_t i = 1; i < v.len; i++)
            if (v.p[i] != '0' && v.p[i] != '.')
                return false;
        return true;
    }
    return false;
}

/* The type of `own` (NULL-terminated; NULL: none) that t is. */
static const char *
own_type(const char *const *own, struct str t)
{
    for (; own != NULL && *own != NULL; own++)
        if (str_eq_nocase(t, *own))
            return *own;
    return NULL;
}

/* First recognised type in an Accept list wins (API.md 1), but not one the
 * client refuses (q=0); text/csv is recognised only where the operation
 * produces it (a list), and the body types of a read action (`own`) only
 * there (*raw: the one named). */
static int
pick_accept(struct str accept, bool csv_ok, const char *const *own, enum codec *out, bool *csv,
            const char **raw)
{
    struct str rest = accept, item;

    *csv = false;
    *raw = NULL;
    if (str_trim(accept).len == 0) {
        *out = CODEC_JSON;
        return E_OK;
    }
    while (rest.p != NULL) {
        rest = str_cut(rest, ',', &item);
        struct str t = media_type(item);
        if (refused_item(item))
            continue;
        if ((*raw = own_type(own, t)) != NULL) {
            *out = CODEC_JSON; /* what errors are written in */
            return E_OK;
        }
        if (csv_ok && str_eq_nocase(t, "text/csv")) {
            *out = CODEC_JSON; /* what errors are written in */
            *csv = true;
            return E_OK;
        }
        if (is_msgpack(t)) {
            *out = CODEC_MSGPACK;
            return E_OK;
        }
        if (is_json(t)) {
            *out = CODEC_JSON;
            return E_OK;
        }
    }
    return E_MEDIA;
}

/* A type the resource takes as a raw body on create (spec.raw_types). */
static bool
raw_type(const struct spec *s, struct str ct)
{
    for (const char *const *t = s->raw_types; t != NULL && *t != NULL; t++)
        if (str_eq_nocase(ct, *t))
            return true;
    return false;
}

/* A GET, HEAD or DELETE without a body: its Content-Type describes nothing,
 * and refusing it (415) hid the answer the request has (a review). */
static bool
bodyless(const struct req *r)
{
    return (r->method == M_GET || r->method == M_HEAD || r->method == M_DELETE) &&
           r->body.len == 0;
}

/* ", or a PEM file: application/pem-certificate-chain, ..." on a create that
 * takes raw bodies. */
static const char *
raw_types_told(struct req *r)
{
    const struct spec *s = r->route.spec;
    struct buf         b;

    if (r->method != M_POST || s == NULL || s->raw_types == NULL || r->route.id.len > 0)
        return "";
    buf_init(&b, 512);
    buf_puts(&b, ", or as the raw body");
    for (const char *const *t = s->raw_types; *t != NULL; t++)
        buf_printf(&b, "%s%s", t == s->raw_types ? ": " : ", ", *t);
    const char *out = arena_strndup(r->a, b.p, b.len);
    buf_free(&b);
    return out;
}

int
router_negotiate(struct req *r, unsigned consumes, unsigned produces, struct errbuf *eb)
{
    struct str ct = media_type(r->content_type);

    const char *const *own = r->route.action != NULL ? r->route.action->produces : NULL;

    r->in = r->out = CODEC_JSON;
    r->csv = false;
    r->accepted = NULL;
    if ((produces & MT_MSGPACK) && pick_accept(r->accept, (produces & MT_CSV) != 0, own,
                                               &r->out, &r->csv, &r->accepted) != E_OK)
        return errbuf_set(eb, E_MEDIA,
                          "None of the types in Accept is supported: "
                          "use application/json or application/msgpack%s",
                          produces & MT_CSV ? " (or text/csv)" : "");
    if (!(consumes & MT_OBJECT))
        return E_OK; /* the handler reads its own body (a form, or none) */
    r->raw_body = r->method == M_POST && r->route.action == NULL && r->route.parent == NULL &&
                  r->route.spec != NULL && raw_type(r->route.spec, ct);
    if (r->raw_body)
        return E_OK;
    if (is_msgpack(ct))
        r->in = CODEC_MSGPACK;
    else if (ct.len != 0 && !is_json(ct) && !bodyless(r))
        return errbuf_set(eb, E_MEDIA,
                          "Content-Type must be application/json or "
                          "application/msgpack%s",
                          raw_types_told(r));
    return E_OK;
}

struct str
req_param(const struct req *r, const char *k)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (str_eq_c(r->params[i].k, k))
            return r->params[i].v;
    return STR_NULL;
}

int
req_param_once(const struct req *r, const char *k, struct str *v, struct errbuf *eb)
{
    size_t n = 0;

    *v = STR_NULL;
    for (size_t i = 0; i < r->nparams; i++)
        if (str_eq_c(r->params[i].k, k) && n++ == 0)
            *v = r->params[i].v;
    if (n > 1)
        return errbuf_attr(eb, E_BADREQ, k, "Query parameter '%s' is given more than once", k);
    return E_OK;
}

int
req_param_bool(const struct req *r, const char *k, bool *out, struct errbuf *eb)
{
    struct str v;

    *out = false;
    if (req_param_once(r, k, &v, eb) != E_OK)
        return E_BADREQ;
    if (v.p == NULL || str_eq_c(v, "false"))
        return E_OK;
    if (!str_eq_c(v, "true") && v.len != 0)
        return errbuf_attr(eb, E_BADREQ, k, "Query parameter '%s' must be true or false", k);
    *out = true;
    return E_OK;
}

int
req_params_check(const struct req *r, const char *const *allowed, struct errbuf *eb)
{
    for (size_t i = 0; i < r->nparams; i++) {
        bool ok = false;
        for (const char *const *a = allowed; *a != NULL && !ok; a++)
            ok = str_eq_c(r->params[i].k, *a);
        if (!ok) {
            char name[sizeof eb->attr];
            return errbuf_attr(eb, E_BADREQ, str_copy_cut(name, sizeof name, r->params[i].k),
                               "Unknown query parameter '%s'", name);
        }
    }
    return E_OK;
}
