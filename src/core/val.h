/* val.h - the generic value tree every codec decodes into and encodes from.
 *
 * JSON and MessagePack bodies become a `struct val`; specs validate it; the store
 * keeps it (as MessagePack); responses are encoded from it. All nodes and strings
 * live in the arena of whoever built the tree. Map keys are unique, kept in
 * insertion order. Strings are valid UTF-8 (codecs reject anything else) but are
 * not NUL-terminated unless built with val_cstr().
 */
#ifndef KW_VAL_H
#define KW_VAL_H

#include "arena.h"
#include "base.h"

enum vtype { V_NULL, V_BOOL, V_INT, V_FLOAT, V_STR, V_ARR, V_MAP };

struct kv;

struct val {
    enum vtype t;
    union {
        bool       b;
        int64_t    i;
        double     f;
        struct str s;
        struct {
            struct val *v;
            size_t      n;
            size_t      cap;
        } a;
        struct {
            struct kv *kv;
            size_t     n;
            size_t     cap;
        } m;
    };
};

struct kv {
    struct str k;
    struct val v;
};

static inline struct val
val_null(void)
{
    return (struct val){ .t = V_NULL };
}
static inline struct val
val_bool(bool b)
{
    return (struct val){ .t = V_BOOL, .b = b };
}
static inline struct val
val_int(int64_t i)
{
    return (struct val){ .t = V_INT, .i = i };
}
static inline struct val
val_float(double f)
{
    return (struct val){ .t = V_FLOAT, .f = f };
}
static inline struct val
val_str(struct str s)
{
    return (struct val){ .t = V_STR, .s = s };
}
static inline struct val
val_cstr(const char *s)
{
    return val_str(str_c(s));
}
static inline struct val
val_arr(void)
{
    return (struct val){ .t = V_ARR };
}
static inline struct val
val_map(void)
{
    return (struct val){ .t = V_MAP };
}

/* Time `ms` as the RFC 3339 string value the API writes, in arena `a`. */
struct val val_time(struct arena *a, int64_t ms);

/* Lookup in a map (NULL when absent or `m` is not a map). */
struct val *val_get(const struct val *m, const char *key);
struct val *val_get_s(const struct val *m, struct str key);
/* The string at `key` of map `m`; STR_NULL when absent or not a string. */
struct str val_get_str(const struct val *m, const char *key);
/* True when `key` of map `m` is the boolean true. */
static inline bool
val_get_true(const struct val *m, const char *key)
{
    const struct val *v = val_get(m, key);

    return v != NULL && v->t == V_BOOL && v->b;
}
/* The integer at `key` of map `m`; `def` when absent or not an integer. */
static inline int64_t
val_get_int(const struct val *m, const char *key, int64_t def)
{
    const struct val *v = val_get(m, key);

    return v != NULL && v->t == V_INT ? v->i : def;
}
/* Set key (replacing an existing entry in place); the key is not copied. */
void val_set(struct arena *a, struct val *m, const char *key, struct val v);
void val_set_s(struct arena *a, struct val *m, struct str key, struct val v);
/* Remove key if present; keeps order of the others. */
void val_del(struct val *m, const char *key);
void val_push(struct arena *a, struct val *arr, struct val v);
/* Deep copy into arena `a` (strings copied too). */
struct val val_clone(struct arena *a, const struct val *v);
/* Structural equality (maps compare as sets of keys). */
bool val_equal(const struct val *x, const struct val *y);
/* True when `list` (NULL or not an array: none) holds the string `s`. */
bool val_list_has(const struct val *list, struct str s);
/* Appends to b bytes that are equal for values val_equal calls equal,
 * whatever the order of their maps' keys: a value's fingerprint (tagged,
 * length-prefixed; not an encoding to read back). E_OK or buf_append's error. */
struct buf;
int         val_canonical(struct buf *b, const struct val *v);
const char *vtype_name(enum vtype t);

#endif
