/* val.c - building, querying, copying and comparing value trees.
 *
 * Maps are arrays of key/value pairs searched linearly: request bodies have a
 * handful of keys, and insertion order is part of the contract. Codecs that may
 * meet large maps de-duplicate keys themselves.
 */
#include "val.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

#include "timeutil.h"

struct val *
val_get_s(const struct val *m, struct str key)
{
    if (m == NULL || m->t != V_MAP)
        return NULL;
    for (size_t i = 0; i < m->m.n; i++)
        if (str_eq(m->m.kv[i].k, key))
            return &m->m.kv[i].v;
    return NULL;
}

struct val *
val_get(const struct val *m, const char *key)
{
    return val_get_s(m, str_c(key));
}

/* Double a container's capacity; elem is the element size. */
static void *
grow(struct arena *a, void *old, size_t *cap, size_t elem)
{
    size_t ncap = *cap ? *cap : 4;

    if (*cap) {
        if (ncap > SIZE_MAX / 2 / elem)
            return arena_alloc(a, SIZE_MAX); /* aborts: cannot be satisfied */
        ncap *= 2;
    }
    void *p = arena_realloc(a, old, *cap * elem, ncap * elem);
    *cap = ncap;
    return p;
}

void
val_set_s(struct arena *a, struct val *m, struct str key, struct val v)
{
    struct val *old = val_get_s(m, key);

    if (old != NULL) {
        *old = v;
        return;
    }
    if (m->m.n == m->m.cap)
        m->m.kv = grow(a, m->m.kv, &m->m.cap, sizeof *m->m.kv);
    m->m.kv[m->m.n++] = (struct kv){ key, v };
}

void
val_set(struct arena *a, struct val *m, const char *key, struct val v)
{
    val_set_s(a, m, str_c(key), v);
}

void
val_del(struct val *m, const char *key)
{
    struct val *v = val_get(m, key);

    if (v == NULL)
        return;
    struct kv *kv = (struct kv *)(void *)((char *)v - offsetof(struct kv, v));
    size_t     i = (size_t)(kv - m->m.kv);
    memmove(kv, kv + 1, (m->m.n - i - 1) * sizeof *kv);
    m->m.n--;
}

void
val_push(struct arena *a, struct val *arr, struct val v)
{
    if (arr->a.n == arr->a.cap)
        arr->a.v = grow(a, arr->a.v, &arr->a.cap, sizeof *arr->a.v);
    arr->a.v[arr->a.n++] = v;
}

struct val
val_clone(struct arena *a, const struct val *v)
{
    struct val c = *v;

    switch (v->t) {
    case V_STR:
        c.s = arena_str(a, v->s);
        break;
    case V_ARR:
        c.a.v = arena_alloc(a, v->a.n * sizeof *c.a.v); /* n * size fits: it exists */
        c.a.cap = v->a.n;
        for (size_t i = 0; i < v->a.n; i++)
            c.a.v[i] = val_clone(a, &v->a.v[i]);
        break;
    case V_MAP:
        c.m.kv = arena_alloc(a, v->m.n * sizeof *c.m.kv);
        c.m.cap = v->m.n;
        for (size_t i = 0; i < v->m.n; i++) {
            c.m.kv[i].k = arena_str(a, v->m.kv[i].k);
            c.m.kv[i].v = val_clone(a, &v->m.kv[i].v);
        }
        break;
    default:
        break;
    }
    return c;
}

/* Same keys, same values, any order; the common same-order case is linear. */
static bool
map_equal(const struct val *x, const struct val *y)
{
    if (x->m.n != y->m.n)
        return false;
    for (size_t i = 0; i < x->m.n; i++) {
        const struct kv  *kx = &x->m.kv[i];
        const struct val *vy =
            str_eq(kx->k, y->m.kv[i].k) ? &y->m.kv[i].v : val_get_s(y, kx->k);
        if (vy == NULL || !val_equal(&kx->v, vy))
            return false;
    }
    return true;
}

bool
val_list_has(const struct val *list, struct str s)
{
    for (size_t i = 0; list != NULL && list->t == V_ARR && i < list->a.n; i++)
        if (list->a.v[i].t == V_STR && str_eq(list->a.v[i].s, s))
            return true;
    return false;
}

bool
val_equal(const struct val *x, const struct val *y)
{
    if (x->t != y->t)
        return false;
    switch (x->t) {
    case V_NULL:
        return true;
    case V_BOOL:
        return x->b == y->b;
    case V_INT:
        return x->i == y->i;
    case V_FLOAT:
        return x->f == y->f;
    case V_STR:
        return str_eq(x->s, y->s);
    case V_ARR:
        if (x->a.n != y->a.n)
            return false;
        for (size_t i = 0; i < x->a.n; i++)
            if (!val_equal(&x->a.v[i], &y->a.v[i]))
                return false;
        return true;
    case V_MAP:
        return map_equal(x, y);
    }
    return false;
}

/* Names as API error messages use them ("must be a string"). */
static const char *const vtype_names[] = {
    [V_NULL] = "null",  [V_BOOL] = "boolean", [V_INT] = "integer", [V_FLOAT] = "float",
    [V_STR] = "string", [V_ARR] = "array",    [V_MAP] = "object",
};

const char *
vtype_name(enum vtype t)
{
    return (unsigned)t < ARRAY_LEN(vtype_names) ? vtype_names[t] : "unknown";
}

struct str
val_get_str(const struct val *m, const char *key)
{
    const struct val *v = val_get(m, key);

    return v != NULL && v->t == V_STR ? v->s : STR_NULL;
}

struct val
val_time(struct arena *a, int64_t ms)
{
    char *t = arena_alloc(a, TIME_RFC3339_LEN + 1);

    time_format(ms, t);
    return val_cstr(t);
}

static int
canon_tag(struct buf *b, char tag, uint64_t n)
{
    int rc = buf_append(b, &tag, 1);

    return rc == E_OK ? buf_append(b, &n, sizeof n) : rc;
}

static int
cmp_kv(const void *x, const void *y)
{
    const struct kv *a = *(const struct kv *const *)x, *b = *(const struct kv *const *)y;
    size_t           n = a->k.len < b->k.len ? a->k.len : b->k.len;
    int              c = memcmp(a->k.p, b->k.p, n);

    return c != 0 ? c : (a->k.len > b->k.len) - (a->k.len < b->k.len);
}

static int
canon_map(struct buf *b, const struct val *v)
{
    const struct kv **kv = malloc((v->m.n ? v->m.n : 1) * sizeof *kv);
    int               rc = kv != NULL ? canon_tag(b, 'm', v->m.n) : E_INTERNAL;

    for (size_t i = 0; kv != NULL && i < v->m.n; i++)
        kv[i] = &v->m.kv[i];
    if (kv != NULL)
        qsort(kv, v->m.n, sizeof *kv, cmp_kv);
    for (size_t i = 0; rc == E_OK && i < v->m.n; i++) {
        rc = canon_tag(b, 's', kv[i]->k.len);
        if (rc == E_OK)
            rc = buf_append(b, kv[i]->k.p, kv[i]->k.len);
        if (rc == E_OK)
            rc = val_canonical(b, &kv[i]->v);
    }
    free(kv);
    return rc;
}

int
val_canonical(struct buf *b, const struct val *v)
{
    int rc;

    switch (v->t) {
    case V_BOOL:
        return canon_tag(b, 'b', v->b);
    case V_INT:
        return canon_tag(b, 'i', (uint64_t)v->i);
    case V_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &v->f, sizeof bits);
        return canon_tag(b, 'f', bits);
    }
    case V_STR:
        rc = canon_tag(b, 's', v->s.len);
        return rc == E_OK ? buf_append(b, v->s.p, v->s.len) : rc;
    case V_ARR:
        rc = canon_tag(b, 'a', v->a.n);
        for (size_t i = 0; rc == E_OK && i < v->a.n; i++)
            rc = val_canonical(b, &v->a.v[i]);
        return rc;
    case V_MAP:
        return canon_map(b, v);
    default:
        return canon_tag(b, 'n', 0);
    }
}
