/* strmap.c - see strmap.h. The table doubles when it is half full. */
#include "strmap.h"

#define STRMAP_MIN 64

static struct strmap_slot *
find_slot(struct strmap_slot *slots, size_t cap, struct str key)
{
    size_t i = (size_t)hash_fnv1a(key.p, key.len, 0) & (cap - 1);

    while (slots[i].value != NULL && !str_eq(slots[i].key, key))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

void
strmap_init(struct strmap *m, struct arena *a)
{
    *m = (struct strmap){ .a = a };
}

void *
strmap_get(const struct strmap *m, struct str key)
{
    return m->cap == 0 ? NULL : find_slot(m->slots, m->cap, key)->value;
}

static void
grow(struct strmap *m)
{
    size_t              cap = m->cap ? m->cap * 2 : STRMAP_MIN;
    struct strmap_slot *slots = arena_calloc(m->a, cap, sizeof *slots);

    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].value != NULL)
            *find_slot(slots, cap, m->slots[i].key) = m->slots[i];
    m->slots = slots;
    m->cap = cap;
}

void
strmap_put(struct strmap *m, struct str key, void *value)
{
    if ((m->n + 1) * 2 > m->cap)
        grow(m);
    struct strmap_slot *s = find_slot(m->slots, m->cap, key);

    if (s->value == NULL) {
        s->key =
            (struct str){ arena_strndup(m->a, key.p != NULL ? key.p : "", key.len), key.len };
        m->n++;
    }
    s->value = value;
}
