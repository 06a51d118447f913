/* msgpack.c - MessagePack bodies to struct val (msgpack-c) and back.
 *
 * msgpack-c allocates a container's whole element array as soon as it reads the
 * header, so a 5-byte body claiming 2^32 elements would ask for ~100 GB; and
 * its parser stops at MSGPACK_EMBED_STACK_SIZE (32) levels. So scan() walks the
 * body first, without recursion or allocation beyond one counter per level:
 * it checks that every header fits the bytes left, that container counts are
 * plausible (each element takes at least one byte), the nesting limit, types we
 * refuse (ext, the unused 0xc1) and trailing bytes. Only then does
 * msgpack-c build its tree, which convert() copies into the arena, checking
 * UTF-8, key types, integer range and finite floats.
 *
 * Nesting: msgpack-c cannot go deeper than 32, so a max_depth above that is
 * enforced as 32 for MessagePack bodies. A map with a key twice is refused,
 * as JSON is (json.c); so is a key holding U+0000, as in JSON.
 *
 * Bytes (`bin`) are read as the base64 of their contents, a string: what the
 * API takes where it takes bytes in JSON (a certificate's DER, a bundle), so
 * a MessagePack client sends them raw and a JSON client as base64, and both
 * mean the same (docs/api-decisions.md).
 */
#include "codec.h"

#include <math.h>
#include <msgpack.h>

#include "rnd.h"

#define MP_LIB_DEPTH 32 /* MSGPACK_EMBED_STACK_SIZE in Debian's msgpack-c 4.0 */

/* ---- pre-scan --------------------------------------------------------- */

struct scan {
    const unsigned char *p;
    size_t               len, off;
};

static uint64_t
be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* One header at s->off: *skip = bytes to step over (header and payload),
 * *items = child values that follow (0 for scalars), *container true for
 * arrays and maps. Returns E_OK or a reason in eb. */
static int
scan_head(struct scan *s, size_t *skip, uint64_t *items, bool *container, struct errbuf *eb)
{
    unsigned char c = s->p[s->off];
    size_t        left = s->len - s->off, lenbytes = 0;

    *items = 0;
    *container = false;
    *skip = 1;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
        return E_OK;
    if (c <= 0x9f) { /* fixmap, fixarray */
        *container = true;
        *items = c <= 0x8f ? (uint64_t)(c & 0x0f) * 2 : (uint64_t)(c & 0x0f);
    } else if (c <= 0xbf) {
        *skip = 1 + (size_t)(c & 0x1f);
    } else if (c == 0xca || c == 0xcb) {
        *skip = c == 0xca ? 5 : 9;
    } else if (c >= 0xcc && c <= 0xd3) {
        *skip = 1 + ((size_t)1 << ((c - 0xcc) & 3));
    } else if ((c >= 0xd9 && c <= 0xdb) || (c >= 0xc4 && c <= 0xc6)) {
        lenbytes = (size_t)1 << (c >= 0xd9 ? c - 0xd9 : c - 0xc4); /* str, bin 8/16/32 */
        if (left < 1 + lenbytes)
            return errbuf_set(eb, E_BADREQ, "truncated msgpack");
        uint64_t n = be(s->p + s->off + 1, lenbytes);
        if (n > left - 1 - lenbytes)
            return errbuf_set(eb, E_BADREQ, "truncated msgpack");
        *skip = 1 + lenbytes + (size_t)n;
    } else if (c >= 0xdc && c <= 0xdf) {
        lenbytes = (c & 1) ? 4 : 2; /* array 16/32, map 16/32 */
        if (left < 1 + lenbytes)
            return errbuf_set(eb, E_BADREQ, "truncated msgpack");
        *items = be(s->p + s->off + 1, lenbytes) * (c >= 0xde ? 2 : 1);
        *container = true;
        *skip = 1 + lenbytes;
    } else if (c == 0xc1) {
        return errbuf_set(eb, E_BADREQ, "invalid msgpack byte 0xc1");
    } else {
        return errbuf_set(eb, E_BADREQ, "unsupported msgpack type"); /* ext */
    }
    if (*skip > left)
        return errbuf_set(eb, E_BADREQ, "truncated msgpack");
    /* Every element takes at least one byte: more than are left is a lie. */
    if (*items > left - *skip)
        return errbuf_set(eb, E_BADREQ, "truncated msgpack");
    return E_OK;
}

static int
scan(struct arena *a, const char *p, size_t len, int max_depth, struct errbuf *eb)
{
    struct scan s = { (const unsigned char *)p, len, 0 };
    /* left[d]: values still to read at level d; level 0 holds the body itself. */
    uint64_t *left = arena_alloc(a, ((size_t)max_depth + 1) * sizeof *left);
    int       d = 0;

    left[0] = 1;
    while (d >= 0) {
        if (left[d] == 0) {
            d--;
            continue;
        }
        left[d]--;
        if (s.off >= s.len)
            return errbuf_set(eb, E_BADREQ, "truncated msgpack");
        size_t   skip;
        uint64_t items;
        bool     container;
        int      rc = scan_head(&s, &skip, &items, &container, eb);
        if (rc != E_OK)
            return rc;
        s.off += skip;
        if (container) {
            if (d + 1 > max_depth)
                return errbuf_set(eb, E_BADREQ, "body nesting is deeper than %d", max_depth);
            left[++d] = items;
        }
    }
    if (s.off != s.len)
        return errbuf_set(eb, E_BADREQ, "trailing data at offset %zu", s.off);
    return E_OK;
}

/* ---- conversion ------------------------------------------------------- */

static int convert(struct arena *a, const msgpack_object *o, int depth, int max_depth,
                   struct val *out, struct errbuf *eb);

static int
convert_str(struct arena *a, const msgpack_object *o, struct str *out, struct errbuf *eb)
{
    if (!utf8_valid(o->via.str.ptr, o->via.str.size))
        return errbuf_set(eb, E_BADREQ, "invalid UTF-8 in string");
    *out = arena_str(a, (struct str){ o->via.str.ptr, o->via.str.size });
    return E_OK;
}

/* Index of key k in the open-addressing table, inserting idx when absent.
 * Returns the index already stored for an equal key, or idx. */
static size_t
dedup(const struct val *m, size_t *tab, size_t mask, struct str k, size_t idx)
{
    for (size_t h = (size_t)hash_fnv1a(k.p, k.len, 0) & mask;; h = (h + 1) & mask) {
        if (tab[h] == 0) {
            tab[h] = idx + 1;
            return idx;
        }
        if (str_eq(m->m.kv[tab[h] - 1].k, k))
            return tab[h] - 1;
    }
}

static int
convert_map(struct arena *a, const msgpack_object *o, int depth, int max_depth, struct val *out,
            struct errbuf *eb)
{
    size_t n = o->via.map.size, mask = 0, *tab = NULL;

    *out = val_map();
    out->m.kv = arena_calloc(a, n, sizeof *out->m.kv);
    out->m.cap = n;
    /* Large maps get a hash table so duplicate detection stays linear. */
    if (n > 16) {
        for (mask = 31; mask < n * 2; mask = mask * 2 + 1)
            ;
        tab = arena_calloc(a, mask + 1, sizeof *tab);
    }
    for (size_t i = 0; i < n; i++) {
        const msgpack_object_kv *src = &o->via.map.ptr[i];
        struct kv                kv;
        if (src->key.type != MSGPACK_OBJECT_STR)
            return errbuf_set(eb, E_BADREQ, "map key is not a string");
        if (convert_str(a, &src->key, &kv.k, eb) != E_OK)
            return errbuf_set(eb, E_BADREQ, "invalid UTF-8 in map key");
        /* Refused in JSON keys too (json-c keeps keys as C strings): a body must
         * mean the same in both codecs. */
        if (kv.k.len > 0 && memchr(kv.k.p, 0, kv.k.len) != NULL)
            return errbuf_set(eb, E_BADREQ, "object key contains U+0000");
        int rc = convert(a, &src->val, depth + 1, max_depth, &kv.v, eb);
        if (rc != E_OK)
            return rc;
        struct val *dup = NULL;
        if (tab != NULL) {
            size_t at = dedup(out, tab, mask, kv.k, out->m.n);
            if (at != out->m.n)
                dup = &out->m.kv[at].v;
        } else {
            dup = val_get_s(out, kv.k);
        }
        if (dup != NULL) /* as in JSON (json.c, json_decode) */
            return errbuf_set(eb, E_BADREQ, "a map of the body has a key twice");
        out->m.kv[out->m.n++] = kv;
    }
    return E_OK;
}

static int
convert_array(struct arena *a, const msgpack_object *o, int depth, int max_depth,
              struct val *out, struct errbuf *eb)
{
    size_t n = o->via.array.size;

    *out = val_arr();
    out->a.v = arena_calloc(a, n, sizeof *out->a.v);
    out->a.cap = n;
    for (size_t i = 0; i < n; i++) {
        int rc = convert(a, &o->via.array.ptr[i], depth + 1, max_depth, &out->a.v[i], eb);
        if (rc != E_OK)
            return rc;
        out->a.n++;
    }
    return E_OK;
}

static int
convert(struct arena *a, const msgpack_object *o, int depth, int max_depth, struct val *out,
        struct errbuf *eb)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        *out = val_null();
        return E_OK;
    case MSGPACK_OBJECT_BOOLEAN:
        *out = val_bool(o->via.boolean);
        return E_OK;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return errbuf_set(eb, E_BADREQ, "integer out of range");
        *out = val_int((int64_t)o->via.u64);
        return E_OK;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = val_int(o->via.i64);
        return E_OK;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(o->via.f64))
            return errbuf_set(eb, E_BADREQ, "number out of range");
        *out = val_float(o->via.f64);
        return E_OK;
    case MSGPACK_OBJECT_STR:
        *out = val_str(STR_NULL);
        return convert_str(a, o, &out->s, eb);
    case MSGPACK_OBJECT_BIN: {
        char *b64 = arena_alloc(a, b64_len(o->via.bin.size) + 1);
        b64_encode(o->via.bin.ptr, o->via.bin.size, b64);
        *out = val_cstr(b64);
        return E_OK;
    }
    case MSGPACK_OBJECT_ARRAY:
    case MSGPACK_OBJECT_MAP:
        /* scan() already enforced this; kept so convert() is safe on its own. */
        if (depth + 1 > max_depth)
            return errbuf_set(eb, E_BADREQ, "body nesting is deeper than %d", max_depth);
        return o->type == MSGPACK_OBJECT_MAP ? convert_map(a, o, depth, max_depth, out, eb)
                                             : convert_array(a, o, depth, max_depth, out, eb);
    default:
        return errbuf_set(eb, E_BADREQ, "unsupported msgpack type");
    }
}

int
msgpack_decode(struct arena *a, const char *p, size_t len, int max_depth, struct val *out,
               struct errbuf *eb)
{
    msgpack_unpacked u;
    size_t           off = 0;
    int              rc;

    if (len == 0)
        return errbuf_set(eb, E_BADREQ, "empty body");
    if (max_depth < 0)
        max_depth = 0;
    if (max_depth > MP_LIB_DEPTH)
        max_depth = MP_LIB_DEPTH;
    rc = scan(a, p, len, max_depth, eb);
    if (rc != E_OK)
        return rc;
    msgpack_unpacked_init(&u);
    switch (msgpack_unpack_next(&u, p, len, &off)) {
    case MSGPACK_UNPACK_SUCCESS:
        rc = off == len ? convert(a, &u.data, 0, max_depth, out, eb)
                        : errbuf_set(eb, E_BADREQ, "trailing data at offset %zu", off);
        break;
    case MSGPACK_UNPACK_NOMEM_ERROR:
        rc = errbuf_set(eb, E_INTERNAL, "msgpack: out of memory");
        break;
    default:
        rc = errbuf_set(eb, E_BADREQ, "invalid msgpack");
        break;
    }
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* ---- encoder ---------------------------------------------------------- */

struct sink {
    struct buf *b;
    int         rc;
};

/* msgpack_packer's write callback: non-zero stops the packer. */
static int
sink_write(void *data, const char *p, size_t n)
{
    struct sink *s = data;

    s->rc = buf_append(s->b, p, n);
    return s->rc != E_OK ? -1 : 0;
}

static int
pack(msgpack_packer *pk, const struct val *v)
{
    switch (v->t) {
    case V_NULL:
        return msgpack_pack_nil(pk);
    case V_BOOL:
        return v->b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    case V_INT:
        return msgpack_pack_int64(pk, v->i); /* picks the smallest encoding */
    case V_FLOAT:
        if (!isfinite(v->f))
            return -1; /* the decoder would refuse it, as JSON cannot carry it */
        return msgpack_pack_double(pk, v->f);
    case V_STR:
        if (v->s.len > UINT32_MAX)
            return -1;
        return msgpack_pack_str_with_body(pk, v->s.p, v->s.len);
    case V_ARR:
        if (v->a.n > UINT32_MAX || msgpack_pack_array(pk, v->a.n) != 0)
            return -1;
        for (size_t i = 0; i < v->a.n; i++)
            if (pack(pk, &v->a.v[i]) != 0)
                return -1;
        return 0;
    case V_MAP:
        if (v->m.n > UINT32_MAX || msgpack_pack_map(pk, v->m.n) != 0)
            return -1;
        for (size_t i = 0; i < v->m.n; i++) {
            const struct kv *kv = &v->m.kv[i];
            if (kv->k.len > UINT32_MAX ||
                msgpack_pack_str_with_body(pk, kv->k.p, kv->k.len) != 0 ||
                pack(pk, &kv->v) != 0)
                return -1;
        }
        return 0;
    }
    return -1;
}

int
msgpack_encode(const struct val *v, struct buf *out)
{
    struct sink    s = { out, E_OK };
    msgpack_packer pk;
    size_t         start = out->len;

    msgpack_packer_init(&pk, &s, sink_write);
    if (pack(&pk, v) == 0)
        return E_OK;
    /* Undo the partial output; a failure not from the buffer is ours. */
    if (out->p != NULL) {
        out->len = start;
        out->p[start] = '\0';
    }
    return s.rc != E_OK ? s.rc : E_INTERNAL;
}
