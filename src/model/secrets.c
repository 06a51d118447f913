/* secrets.c - see secrets.h. */
#include "secrets.h"

#include "../core/seal.h"

static struct str
aad(struct arena *a, const struct spec *s, const char *attr, struct str id)
{
    return str_c(arena_printf(a, "%s.%s.%.*s", s->rest, attr, STR_FMT(id)));
}

int
secrets_seal(struct arena *a, const struct spec *s, struct val *obj, struct str id,
             struct errbuf *eb)
{
    const unsigned char *key = seal_master();

    for (size_t i = 0; i < s->nattrs; i++) {
        const struct attr *at = &s->attrs[i];
        struct val        *v = val_get(obj, at->name);
        struct buf         out;
        /* Every value here comes from the client, even one that looks sealed. */
        if (!(at->flags & A_SEALED) || v == NULL || v->t != V_STR || v->s.len == 0)
            continue;
        /* an update's values are validated after they are sealed: too long a
         * one is told here, not failed by seal() (500) */
        if (at->max_len != 0 && v->s.len > at->max_len)
            return errbuf_attr(eb, E_VALIDATION, at->name,
                               "Attribute '%s' must be at most %zu bytes long", at->name,
                               (size_t)at->max_len);
        if (key == NULL)
            return errbuf_set(eb, E_INTERNAL, "no master key");
        buf_init(&out, 64 * 1024);
        int rc = seal(key, v->s, aad(a, s, at->name, id), &out);
        if (rc == E_OK)
            *v = val_str(arena_str(a, buf_str(&out)));
        buf_free(&out);
        if (rc != E_OK)
            return errbuf_set(eb, E_INTERNAL, "cannot seal '%s'", at->name);
    }
    return E_OK;
}

int
secrets_open(const struct spec *s, const struct val *obj, const char *attr, struct buf *out,
             struct errbuf *eb)
{
    const struct val    *v = val_get(obj, attr), *id = val_get(obj, "ID");
    const unsigned char *key = seal_master();
    struct arena        *a;
    int                  rc;

    if (v == NULL || v->t != V_STR || v->s.len == 0)
        return errbuf_set(eb, E_NOTFOUND, "'%s' is not set", attr);
    if (key == NULL || id == NULL || id->t != V_STR)
        return errbuf_set(eb, E_INTERNAL, "cannot open '%s'", attr);
    a = arena_new(256);
    rc = unseal(key, v->s, aad(a, s, attr, id->s), out);
    arena_free(a);
    return rc == E_OK ? E_OK : errbuf_set(eb, E_INTERNAL, "cannot open '%s'", attr);
}
