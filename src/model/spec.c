/* spec.c - the attributes every object has, and what is derived from specs. */
#include "spec.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_PATTERN "^[^= ]+=.*$"

const struct attr spec_common_attrs[] = {
    { "ID", T_STRING, A_READONLY | A_QUERY | A_ORDER, .doc = "identifier (24 hex)" },
    { "namespace", T_STRING, A_READONLY | A_QUERY | A_ORDER, .doc = "namespace of the object" },
    { "annotations", T_STRMAP, 0, .max_len = 64, .doc = "user data: key to list of strings" },
    { "associatedTags", T_STRLIST, A_QUERY, .pattern = TAG_PATTERN, .max_len = 128,
      .doc = "tags (key=value)" },
    { "createTime", T_TIME, A_READONLY | A_QUERY | A_ORDER, .doc = "creation time" },
    { "metadata", T_STRLIST, A_CREATIONONLY | A_QUERY, .pattern = TAG_PATTERN, .max_len = 128,
      .doc = "creation-time tags (key=value)" },
    { "normalizedTags", T_STRLIST, A_READONLY | A_DERIVED | A_QUERY,
      .doc = "tags computed by the server" },
    { "protected", T_BOOL, A_QUERY | A_ORDER, .def = "false",
      .doc = "refuse updates and deletes without ?override=true" },
    { "updateTime", T_TIME, A_READONLY | A_QUERY | A_ORDER, .doc = "last update time" },
};
const size_t spec_ncommon_attrs = ARRAY_LEN(spec_common_attrs);

const struct attr *
spec_attr(const struct spec *s, struct str name)
{
    for (size_t i = 0; i < s->nattrs; i++)
        if (str_eq_c(name, s->attrs[i].name))
            return &s->attrs[i];
    if (s->not_namespaced)
        return NULL;
    for (size_t i = 0; i < spec_ncommon_attrs; i++)
        if (str_eq_c(name, spec_common_attrs[i].name))
            return &spec_common_attrs[i];
    return NULL;
}

const struct spec *
spec_by_rest(struct str rest)
{
    for (size_t i = 0; i < spec_count; i++)
        if (str_eq_c(rest, spec_all[i]->rest))
            return spec_all[i];
    return NULL;
}

const struct spec *
spec_by_identity(struct str identity)
{
    for (size_t i = 0; i < spec_count; i++)
        if (str_eq_c(identity, spec_all[i]->identity))
            return spec_all[i];
    return NULL;
}

static void
add_column(const struct spec *s, const struct attr *at)
{
    struct spec_rt *rt = s->rt;

    if (!attr_is_column(at))
        return;
    if (rt->ncolumns == ARRAY_LEN(rt->columns)) {
        fprintf(stderr, "spec %s: too many columns\n", s->rest);
        abort();
    }
    rt->columns[rt->ncolumns++] = at;
}

static void
check_pattern(const struct spec *s, const struct attr *at)
{
    regex_t re;

    if (at->pattern == NULL)
        return;
    if (regcomp(&re, at->pattern, REG_EXTENDED | REG_NOSUB) != 0) {
        fprintf(stderr, "spec %s.%s: bad pattern\n", s->rest, at->name);
        abort();
    }
    regfree(&re);
}

/* Every child of an object links to it by a queryable "<identity>ID". */
static void
check_children(const struct spec *s)
{
    char link[80];

    for (const char *const *c = s->children; c != NULL && *c != NULL; c++) {
        const struct spec *child = spec_by_rest(str_c(*c));
        snprintf(link, sizeof link, "%sID", s->identity);
        const struct attr *at = child != NULL ? spec_attr(child, str_c(link)) : NULL;
        if (at == NULL || !(at->flags & A_QUERY)) {
            fprintf(stderr, "spec %s: child %s has no queryable %s\n", s->rest, *c, link);
            abort();
        }
    }
}

/* Every column an index names must be one of the spec's columns. */
static void
check_indexes(const struct spec *s)
{
    for (const char *const *ix = s->indexes; ix != NULL && *ix != NULL; ix++) {
        struct str rest = str_c(*ix + (**ix == '*')), col;
        while (rest.p != NULL) {
            rest = str_cut(rest, ',', &col);
            const struct attr *at = spec_attr(s, col);
            if (at == NULL || !attr_is_column(at)) {
                fprintf(stderr, "spec %s: index %s: %.*s is not a column\n", s->rest, *ix,
                        STR_FMT(col));
                abort();
            }
        }
    }
}

void
spec_init(void)
{
    for (size_t i = 0; i < spec_count; i++) {
        const struct spec *s = spec_all[i];
        if (s->rt == NULL) {
            fprintf(stderr, "spec %s: no runtime data\n", s->rest);
            abort();
        }
        s->rt->index = i;
        s->rt->ncolumns = 0;
        if (!s->not_namespaced)
            for (size_t j = 0; j < spec_ncommon_attrs; j++)
                add_column(s, &spec_common_attrs[j]);
        for (size_t j = 0; j < s->nattrs; j++) {
            add_column(s, &s->attrs[j]);
            check_pattern(s, &s->attrs[j]);
        }
        check_children(s);
        check_indexes(s);
    }
}

bool
spec_has_child(const struct spec *parent, const struct spec *child)
{
    if (parent->parent_of_all)
        return !child->not_namespaced && (child->ops & OP_LIST) != 0;
    for (const char *const *c = parent->children; c != NULL && *c != NULL; c++)
        if (strcmp(child->rest, *c) == 0)
            return true;
    return false;
}
