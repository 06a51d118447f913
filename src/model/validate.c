/* validate.c - generic checks every spec gets for free. */
#include "validate.h"

#include "../core/net.h"

#include <ctype.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

#include "../core/rnd.h"
#include "../core/timeutil.h"

#define STRING_MAX 4096
#define LIST_MAX   1024
#define ITEM_MAX   1024

bool
val_is_empty(const struct val *v)
{
    switch (v->t) {
    case V_NULL:
        return true;
    case V_BOOL:
        return !v->b;
    case V_INT:
        return v->i == 0;
    case V_FLOAT:
        return v->f == 0;
    case V_STR:
        return v->s.len == 0;
    case V_ARR:
        return v->a.n == 0;
    case V_MAP:
        return v->m.n == 0;
    }
    return false;
}

static int
bad_type(struct errbuf *eb, const struct attr *at, const char *what)
{
    return errbuf_attr(eb, E_VALIDATION, at->name, "Attribute '%s' must be %s", at->name, what);
}

/* Regexes are compiled on first use and kept: specs are static. */
static bool
matches(const char *pattern, struct str s)
{
    enum { SLOTS = 128 };
    static struct {
        const char *pat;
        regex_t     re;
    } cache[SLOTS];
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    regex_t               *re = NULL;
    char                   tmp[ITEM_MAX + 1];
    size_t                 h = ((uintptr_t)pattern >> 4) % SLOTS;

    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < SLOTS && re == NULL; i++) {
        size_t k = (h + i) % SLOTS;
        if (cache[k].pat == pattern)
            re = &cache[k].re;
        else if (cache[k].pat == NULL) {
            if (regcomp(&cache[k].re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
                abort(); /* spec_init() checked every pattern */
            cache[k].pat = pattern;
            re = &cache[k].re;
        }
    }
    pthread_mutex_unlock(&mu);
    if (re == NULL || s.len > ITEM_MAX || memchr(s.p, '\0', s.len) != NULL)
        return false;
    memcpy(tmp, s.p, s.len);
    tmp[s.len] = '\0';
    return regexec(re, tmp, 0, NULL, 0) == 0;
}

static bool
enum_value(const struct attr *at, struct str s)
{
    for (const char *const *e = at->enums; *e != NULL; e++)
        if (str_eq_c(s, *e))
            return true;
    return false;
}

/* The value refused, and the ones accepted when they fit the message. */
static int
unsupported(const struct attr *at, struct str s, struct errbuf *eb)
{
    char   list[176] = "";
    size_t n = 0;

    for (const char *const *e = at->enums; *e != NULL && n < sizeof list; e++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", *e);
    return errbuf_attr(eb, E_VALIDATION, at->name,
                       n < sizeof list ? "Attribute '%s' has an unsupported value '%.*s' (one "
                                         "of: %s)"
                                       : "Attribute '%s' has an unsupported value '%.*s'%.0s",
                       at->name, (int)(s.len > 64 ? 64 : s.len), s.p, list);
}

static int
check_string(const struct attr *at, struct str s, size_t max, struct errbuf *eb)
{
    if (s.len > max)
        return errbuf_attr(eb, E_VALIDATION, at->name,
                           "Attribute '%s' must be at most %zu bytes long", at->name, max);
    /* Valid UTF-8, but no store keeps it the same everywhere (PostgreSQL's
     * text cannot hold it), and no name or value of this console needs it. */
    if (memchr(s.p, '\0', s.len) != NULL)
        return errbuf_attr(eb, E_VALIDATION, at->name,
                           "Attribute '%s' must not contain the character U+0000", at->name);
    if (at->enums != NULL && s.len > 0 && !enum_value(at, s))
        return unsupported(at, s, eb);
    if (at->format == F_CIDR && cidr_parse(s, &(struct cidr){ 0 }) != E_OK)
        return errbuf_attr(eb, E_VALIDATION, at->name, "'%.*s' is not a CIDR",
                           (int)(s.len > 64 ? 64 : s.len), s.p);
    if (at->pattern != NULL && s.len > 0 && !matches(at->pattern, s))
        return errbuf_attr(eb, E_VALIDATION, at->name,
                           "Attribute '%s' has an invalid value '%.*s'", at->name,
                           (int)(s.len > 64 ? 64 : s.len), s.p);
    return E_OK;
}

static int
check_strlist(const struct attr *at, const struct val *v, struct errbuf *eb)
{
    size_t max = at->max_len ? at->max_len : LIST_MAX;

    if (v->t != V_ARR)
        return bad_type(eb, at, "a list of strings");
    if (v->a.n > max)
        return errbuf_attr(eb, E_VALIDATION, at->name,
                           "Attribute '%s' must have at most %zu items", at->name, max);
    for (size_t i = 0; i < v->a.n; i++) {
        if (v->a.v[i].t != V_STR)
            return bad_type(eb, at, "a list of strings");
        if (at->enums != NULL && v->a.v[i].s.len == 0) /* no name is empty */
            return unsupported(at, v->a.v[i].s, eb);
        int rc = check_string(at, v->a.v[i].s, ITEM_MAX, eb);
        if (rc != E_OK)
            return rc;
    }
    return E_OK;
}

static int
check_strmap(const struct attr *at, const struct val *v, struct errbuf *eb)
{
    size_t max = at->max_len ? at->max_len : LIST_MAX;

    if (v->t != V_MAP)
        return bad_type(eb, at, "a map of string lists");
    if (v->m.n > max)
        return errbuf_attr(eb, E_VALIDATION, at->name,
                           "Attribute '%s' must have at most %zu keys", at->name, max);
    for (size_t i = 0; i < v->m.n; i++) {
        const struct val *l = &v->m.kv[i].v;
        if (l->t != V_ARR || l->a.n > LIST_MAX)
            return bad_type(eb, at, "a map of string lists");
        if (memchr(v->m.kv[i].k.p, '\0', v->m.kv[i].k.len) != NULL)
            return bad_type(eb, at, "a map of string lists");
        for (size_t j = 0; j < l->a.n; j++)
            if (l->a.v[j].t != V_STR || l->a.v[j].s.len > ITEM_MAX ||
                memchr(l->a.v[j].s.p, '\0', l->a.v[j].s.len) != NULL)
                return bad_type(eb, at, "a map of string lists");
    }
    return E_OK;
}

/* At most max_len lines of at most max_len claims each. */
static int
check_subject(const struct attr *at, const struct val *v, struct errbuf *eb)
{
    if (v->t != V_ARR)
        return bad_type(eb, at, "a list of lists of strings");
    if (v->a.n > at->max_len)
        return errbuf_attr(eb, E_VALIDATION, at->name,
                           "Attribute '%s' must have at most %zu lines", at->name, at->max_len);
    for (size_t i = 0; i < v->a.n; i++) {
        if (v->a.v[i].t != V_ARR)
            return bad_type(eb, at, "a list of lists of strings");
        int rc = check_strlist(at, &v->a.v[i], eb);
        if (rc != E_OK)
            return rc;
    }
    return E_OK;
}

/* Check `v` against the attribute's type and constraints; normalises in place
 * (times to the canonical form, ints to floats). */
static int
check_value(struct arena *a, const struct attr *at, struct val *v, struct errbuf *eb)
{
    int64_t ms;

    switch (at->type) {
    case T_STRING:
        if (v->t != V_STR)
            return bad_type(eb, at, "a string");
        return check_string(at, v->s, at->max_len ? at->max_len : STRING_MAX, eb);
    case T_BOOL:
        return v->t == V_BOOL ? E_OK : bad_type(eb, at, "a boolean");
    case T_INT:
        if (v->t != V_INT)
            return bad_type(eb, at, "an integer");
        if ((at->min != 0 || at->max != 0) && (v->i < at->min || v->i > at->max))
            return errbuf_attr(eb, E_VALIDATION, at->name,
                               "Attribute '%s' must be between %lld and %lld", at->name,
                               (long long)at->min, (long long)at->max);
        return E_OK;
    case T_FLOAT:
        if (v->t == V_INT)
            *v = val_float((double)v->i);
        return v->t == V_FLOAT ? E_OK : bad_type(eb, at, "a number");
    case T_TIME:
        if (v->t != V_STR || time_parse(v->s, &ms) != E_OK)
            return bad_type(eb, at, "an RFC 3339 time");
        *v = val_time(a, ms);
        return E_OK;
    case T_STRLIST:
        return check_strlist(at, v, eb);
    case T_STRMAP:
        return check_strmap(at, v, eb);
    case T_SUBJECT:
        return check_subject(at, v, eb);
    case T_ANY:
        return E_OK;
    }
    return E_INTERNAL;
}

/* The default value of an attribute when the body has none. */
/* A list's default is its items, comma-separated. */
static struct val
list_default(struct arena *a, const char *def)
{
    struct val l = val_arr();
    struct str rest = str_c(def != NULL ? def : ""), item;

    while (rest.len > 0) {
        rest = str_cut(rest, ',', &item);
        val_push(a, &l, val_str(str_trim(item)));
        if (rest.p == NULL)
            break;
    }
    return l;
}

struct val
attr_default(struct arena *a, const struct attr *at)
{
    int64_t i = 0;

    switch (at->type) {
    case T_BOOL:
        return val_bool(at->def != NULL && strcmp(at->def, "true") == 0);
    case T_INT:
        if (at->def != NULL)
            str_to_i64(str_c(at->def), &i);
        return val_int(i);
    case T_FLOAT:
        return val_float(at->def != NULL ? strtod(at->def, NULL) : 0);
    case T_STRING:
        return val_cstr(at->def != NULL ? at->def : "");
    case T_STRLIST:
        return list_default(a, at->def);
    case T_SUBJECT:
        return val_arr();
    case T_STRMAP:
        return val_map();
    case T_TIME:
    case T_ANY:
        return val_null();
    }
    return val_null();
}

/* "object" is no stored attribute but the identity every answer carries, so a
 * client sends it back with the object it read: it is read-only like the others,
 * accepted when it is the resource's identity (or empty), 422 otherwise. */
static int
check_object(const struct spec *s, const struct val *v, struct errbuf *eb)
{
    if (val_is_empty(v) || (v->t == V_STR && str_eq_c(v->s, s->identity)))
        return E_OK;
    return errbuf_attr(eb, E_READONLY, "object", "Attribute 'object' is read only");
}

/* Every key of the body must be an attribute (or "object"). */
static int
check_known(const struct spec *s, const struct val *in, struct errbuf *eb)
{
    if (in->t != V_MAP)
        return errbuf_set(eb, E_BADREQ, "The body must be an object");
    for (size_t i = 0; i < in->m.n; i++) {
        struct str k = in->m.kv[i].k;
        if (str_eq_c(k, "object")) {
            int rc = check_object(s, &in->m.kv[i].v, eb);
            if (rc != E_OK)
                return rc;
            continue;
        }
        if (spec_attr(s, k) == NULL) {
            char name[64];
            return errbuf_attr(eb, E_VALIDATION, str_copy_cut(name, sizeof name, k),
                               "Attribute '%s' is not known", name);
        }
    }
    return E_OK;
}

static int
required(const struct attr *at, const struct val *v, struct errbuf *eb)
{
    if ((at->flags & A_REQUIRED) && (v == NULL || val_is_empty(v)))
        return errbuf_attr(eb, E_VALIDATION, at->name, "Attribute '%s' is required", at->name);
    return E_OK;
}

/* Visit every attribute of a spec: the common ones (if namespaced), then its own. */
#define FOREACH_ATTR(s, at)                                                                    \
    for (size_t i_ = 0, n_ = ((s)->not_namespaced ? 0 : spec_ncommon_attrs) + (s)->nattrs;     \
         i_ < n_ && ((at) = i_ < n_ - (s)->nattrs ? &spec_common_attrs[i_]                     \
                                                  : &(s)->attrs[i_ - (n_ - (s)->nattrs)],      \
                    1);                                                                        \
         i_++)

static int
take(struct arena *a, const struct attr *at, const struct val *in, struct val *obj,
     struct errbuf *eb)
{
    struct val *v = val_get(in, at->name);
    struct val  x = v != NULL && v->t != V_NULL ? *v : attr_default(a, at);
    int         rc;

    if (v != NULL && v->t != V_NULL && (rc = check_value(a, at, &x, eb)) != E_OK)
        return rc;
    if ((rc = required(at, &x, eb)) != E_OK)
        return rc;
    if (x.t != V_NULL)
        val_set(a, obj, at->name, x);
    return E_OK;
}

int
validate_create(struct arena *a, const struct spec *s, const struct val *in, struct val *obj,
                struct errbuf *eb)
{
    const struct attr *at;
    int                rc = check_known(s, in, eb);

    *obj = val_map();
    if (rc != E_OK)
        return rc;
    FOREACH_ATTR(s, at)
    {
        struct val *v = val_get(in, at->name);
        if (at->flags & A_READONLY) {
            if (v != NULL && !val_is_empty(v))
                return errbuf_attr(eb, E_READONLY, at->name, "Attribute '%s' is read only",
                                   at->name);
            continue;
        }
        if ((rc = take(a, at, in, obj, eb)) != E_OK)
            return rc;
    }
    return E_OK;
}

static int
check_unchanged(struct arena *a, const struct attr *at, const struct val *in,
                const struct val *old, struct errbuf *eb)
{
    struct val *v = val_get(in, at->name), x;
    struct val *o = val_get(old, at->name);
    struct val  empty = val_null();
    int64_t     ms;

    if (v == NULL && strcmp(at->name, "updateTime") == 0)
        return errbuf_attr(eb, E_VALIDATION, at->name,
                           "Attribute 'updateTime' is required: send the object as read");
    if (v == NULL)
        return E_OK;
    x = *v;
    if (at->type == T_TIME && x.t == V_STR && time_parse(x.s, &ms) == E_OK) {
        x = val_time(a, ms);
    }
    if (val_equal(&x, o != NULL ? o : &empty) || (o == NULL && val_is_empty(&x)))
        return E_OK;
    if (strcmp(at->name, "updateTime") == 0)
        return errbuf_attr(eb, E_CONFLICT, at->name,
                           "The object was updated by someone else: read it again");
    if (at->flags & A_READONLY)
        return errbuf_attr(eb, E_READONLY, at->name, "Attribute '%s' is read only", at->name);
    return errbuf_attr(eb, E_CREATIONONLY, at->name,
                       "Attribute '%s' can only be set at creation", at->name);
}

/* Whether attribute `name` of obj is as stored (absent and empty alike). */
static bool
as_stored(const struct val *obj, const struct val *old, const char *name)
{
    const struct val *v = val_get(obj, name), *o = val_get(old, name);
    bool              ve = v == NULL || val_is_empty(v), oe = o == NULL || val_is_empty(o);

    return ve || oe ? ve && oe : val_equal(v, o);
}

/* A stored secret kept by an update that omits it (A_WRITEONLY) stays only
 * where it was sent: should one of at->kept_with change (a directory's or a
 * provider's address), the secret must come again, or whoever may edit the
 * object (an editor) could point it at a host of theirs and receive the
 * secret at the next login (a black-box review did, and logged in as an
 * administrator of the directory it then served). */
static int
kept_with_check(struct arena *a, const struct attr *at, const struct val *in,
                const struct val *old, const struct val *obj, struct errbuf *eb)
{
    const struct val *v = val_get(in, at->name);
    char             *list, *save = NULL;

    if (at->kept_with == NULL || (v != NULL && !val_is_empty(v)))
        return E_OK;
    list = arena_strndup(a, at->kept_with, strlen(at->kept_with));
    for (char *n = strtok_r(list, ",", &save); n != NULL; n = strtok_r(NULL, ",", &save))
        if (!as_stored(obj, old, n))
            return errbuf_attr(eb, E_VALIDATION, at->name,
                               "Attribute '%s' must be sent again when '%s' changes", at->name,
                               n);
    return E_OK;
}

int
validate_update(struct arena *a, const struct spec *s, const struct val *in,
                const struct val *old, struct val *obj, struct errbuf *eb)
{
    const struct attr *at;
    int                rc = check_known(s, in, eb);

    *obj = val_map();
    if (rc != E_OK)
        return rc;
    FOREACH_ATTR(s, at)
    {
        /* Derived attributes a client sends back are ignored: they may be stale
         * (normalizedTags after an edit of associatedTags). */
        bool ignored = (at->flags & A_DERIVED) != 0;
        if (at->flags & (A_READONLY | A_CREATIONONLY)) {
            if (!ignored && (rc = check_unchanged(a, at, in, old, eb)) != E_OK)
                return rc;
            struct val *o = val_get(old, at->name);
            if (o != NULL)
                val_set(a, obj, at->name, *o);
            continue;
        }
        struct val *v = val_get(in, at->name);
        if ((at->flags & A_WRITEONLY) && (v == NULL || val_is_empty(v))) {
            struct val *o = val_get(old, at->name);
            if (o != NULL)
                val_set(a, obj, at->name, *o);
            continue;
        }
        if ((rc = take(a, at, in, obj, eb)) != E_OK)
            return rc;
    }
    FOREACH_ATTR(s, at)
    {
        if ((rc = kept_with_check(a, at, in, old, obj, eb)) != E_OK)
            return rc;
    }
    return E_OK;
}

static void
push_tag(struct arena *a, struct val *tags, const char *k, const struct val *v)
{
    if (v == NULL || v->t != V_STR)
        return;
    val_push(a, tags, val_cstr(arena_printf(a, "$%s=%.*s", k, STR_FMT(v->s))));
}

/* "Key=Value" with the key lower-cased. */
static void
push_lower_key(struct arena *a, struct val *tags, struct str t)
{
    char *p = arena_strndup(a, t.p, t.len);

    for (size_t i = 0; i < t.len && p[i] != '='; i++)
        p[i] = (char)tolower((unsigned char)p[i]);
    val_push(a, tags, val_str((struct str){ p, t.len }));
}

void
tags_normalize(struct arena *a, const struct spec *s, struct val *obj)
{
    struct val  tags = val_arr();
    struct val *l;

    val_push(a, &tags, val_cstr(arena_printf(a, "$identity=%s", s->identity)));
    push_tag(a, &tags, "id", val_get(obj, "ID"));
    push_tag(a, &tags, "name", val_get(obj, "name"));
    push_tag(a, &tags, "namespace", val_get(obj, "namespace"));
    if ((l = val_get(obj, "metadata")) != NULL && l->t == V_ARR)
        for (size_t i = 0; i < l->a.n; i++)
            push_lower_key(a, &tags, l->a.v[i].s);
    if ((l = val_get(obj, "associatedTags")) != NULL && l->t == V_ARR)
        for (size_t i = 0; i < l->a.n; i++)
            val_push(a, &tags, l->a.v[i]);
    val_set(a, obj, "normalizedTags", tags);
}

void
object_present(struct arena *a, const struct spec *s, struct val *obj)
{
    if (s->hooks.present != NULL) /* from stored attributes, internal ones too */
        s->hooks.present(a, s, obj, time_now_ms());
    for (size_t i = 0; i < s->nattrs; i++)
        if (s->attrs[i].flags & A_WRITEONLY)
            val_del(obj, s->attrs[i].name);
    val_set(a, obj, "object", val_cstr(s->identity));
}

/* `in` without its `namespace` when that is the one the object is created in:
 * an object read and posted again carries it, and a read-only attribute sent
 * with its value is accepted (API.md 6). */
static const struct val *
own_namespace_dropped(struct arena *a, const struct val *in, struct str ns, struct val *copy)
{
    const struct val *v = in->t == V_MAP ? val_get(in, "namespace") : NULL;

    if (v == NULL || v->t != V_STR || !str_eq(v->s, ns))
        return in;
    *copy = val_map();
    for (size_t i = 0; i < in->m.n; i++)
        if (!str_eq_c(in->m.kv[i].k, "namespace"))
            val_set_s(a, copy, in->m.kv[i].k, in->m.kv[i].v);
    return copy;
}

int
object_new(struct arena *a, const struct spec *s, struct str ns, const struct val *in,
           struct val *obj, struct errbuf *eb)
{
    char       id[ID_LEN + 1];
    struct val copy;
    int        rc = validate_create(a, s, own_namespace_dropped(a, in, ns, &copy), obj, eb);

    if (rc != E_OK)
        return rc;
    id_new(id);
    struct val now = val_time(a, time_now_ms());
    val_set(a, obj, "ID", val_str(arena_str(a, str_c(id))));
    val_set(a, obj, "namespace", val_str(ns));
    val_set(a, obj, "createTime", now);
    val_set(a, obj, "updateTime", now);
    return E_OK;
}
