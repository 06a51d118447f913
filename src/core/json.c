/* json.c - JSON bodies to struct val (json-c) and back (our own writer).
 *
 * json-c 0.16 checks the structure and does the nesting limit without recursion,
 * but its strict mode was measured to accept things RFC 8259 does not: NaN,
 * Infinity and -Infinity, "1." and "1.e5", "-01", raw control characters in
 * strings, \f and \v as whitespace; it saturates integers outside int64 instead
 * of failing; it keeps object keys as C strings, so "\u0000" in a key silently
 * truncates it; and its UTF-8 check lets overlongs and surrogates through. So
 * after json-c accepts a body, lex_check() scans the text once more for exactly
 * those, and the conversion checks every string and key with utf8_valid().
 *
 * json-c keeps a duplicate key's last value: json_decode counts the keys of
 * the text and of the result, and refuses a body where they differ. Kept on
 * purpose: a lone surrogate escape such as "\ud800" decodes to U+FFFD.
 */
#include "codec.h"

#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* json-c allocates its parse stack for the whole depth up front. */
#define JSON_DEPTH_CAP 4096

static bool
is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static size_t
skip_digits(const char *p, size_t i, size_t end)
{
    while (i < end && is_digit(p[i]))
        i++;
    return i;
}

/* RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool
number_valid(const char *p, size_t len, bool *is_int)
{
    size_t i = 0, j;

    if (i < len && p[i] == '-')
        i++;
    if (i < len && p[i] == '0')
        i++;
    else if (i < len && p[i] >= '1' && p[i] <= '9')
        i = skip_digits(p, i, len);
    else
        return false;
    *is_int = true;
    if (i < len && p[i] == '.') {
        j = skip_digits(p, i + 1, len);
        if (j == i + 1)
            return false;
        i = j;
        *is_int = false;
    }
    if (i < len && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < len && (p[i] == '+' || p[i] == '-'))
            i++;
        j = skip_digits(p, i, len);
        if (j == i)
            return false;
        i = j;
        *is_int = false;
    }
    return i == len;
}

/* A string starting at the quote p[i]; returns the index after the closing
 * quote, or 0 on a raw control character or a "\u0000" key. */
static size_t
lex_string(const char *p, size_t len, size_t i, struct errbuf *eb)
{
    bool has_nul = false;

    for (i++; i < len && p[i] != '"'; i++) {
        if ((unsigned char)p[i] < 0x20) {
            errbuf_set(eb, E_BADREQ, "control character in string at offset %zu", i);
            return 0;
        }
        if (p[i] == '\\') {
            if (len - i > 5 && memcmp(p + i + 1, "u0000", 5) == 0)
                has_nul = true;
            i++; /* the escaped character cannot close the string */
        }
    }
    if (i >= len) {
        errbuf_set(eb, E_BADREQ, "unterminated string");
        return 0;
    }
    size_t k = i + 1;
    while (has_nul && k < len && is_ws(p[k]))
        k++;
    if (has_nul && k < len && p[k] == ':') {
        errbuf_set(eb, E_BADREQ, "object key contains U+0000");
        return 0;
    }
    return i + 1;
}

/* A number token at p[i]; returns the index after it, or 0. */
static size_t
lex_number(const char *p, size_t len, size_t i, struct errbuf *eb)
{
    size_t j = i;
    bool   is_int = false;

    while (j < len && (is_digit(p[j]) || p[j] == '-' || p[j] == '+' || p[j] == '.' ||
                       p[j] == 'e' || p[j] == 'E'))
        j++;
    if (!number_valid(p + i, j - i, &is_int)) {
        errbuf_set(eb, E_BADREQ, "invalid number at offset %zu", i);
        return 0;
    }
    int64_t v;
    if (is_int && str_to_i64((struct str){ p + i, j - i }, &v) != E_OK) {
        errbuf_set(eb, E_BADREQ, "integer out of range at offset %zu", i);
        return 0;
    }
    return j;
}

static size_t
lex_literal(const char *p, size_t len, size_t i, struct errbuf *eb)
{
    static const char *const lits[] = { "true", "false", "null" };

    for (size_t k = 0; k < ARRAY_LEN(lits); k++) {
        size_t n = strlen(lits[k]);
        if (len - i >= n && memcmp(p + i, lits[k], n) == 0)
            return i + n;
    }
    errbuf_set(eb, E_BADREQ, "unexpected character at offset %zu", i);
    return 0;
}

/* Second pass over text json-c accepted: see the comment at the top. *keys is
 * the number of object keys the text has (its ':' outside strings). */
static int
lex_check(const char *p, size_t len, size_t *keys, struct errbuf *eb)
{
    size_t i = 0;

    *keys = 0;
    while (i < len) {
        char c = p[i];
        if (is_ws(c) || c == '[' || c == ']' || c == '{' || c == '}' || c == ',' || c == ':') {
            *keys += c == ':';
            i++;
            continue;
        }
        if (c == '"')
            i = lex_string(p, len, i, eb);
        else if (c == '-' || is_digit(c))
            i = lex_number(p, len, i, eb);
        else
            i = lex_literal(p, len, i, eb);
        if (i == 0)
            return E_BADREQ;
    }
    return E_OK;
}

static int
deep(struct errbuf *eb, int max_depth)
{
    return errbuf_set(eb, E_BADREQ, "body nesting is deeper than %d", max_depth);
}

static int convert(struct arena *a, struct json_object *o, int depth, int max_depth,
                   struct val *out, struct errbuf *eb);

static int
convert_str(struct arena *a, const char *s, size_t n, struct str *out, struct errbuf *eb)
{
    if (!utf8_valid(s, n))
        return errbuf_set(eb, E_BADREQ, "invalid UTF-8 in string");
    *out = arena_str(a, (struct str){ s, n });
    return E_OK;
}

static int
convert_array(struct arena *a, struct json_object *o, int depth, int max_depth, struct val *out,
              struct errbuf *eb)
{
    size_t n = json_object_array_length(o);

    *out = val_arr();
    out->a.v = arena_calloc(a, n, sizeof *out->a.v);
    out->a.cap = n;
    for (size_t i = 0; i < n; i++) {
        int rc =
            convert(a, json_object_array_get_idx(o, i), depth + 1, max_depth, &out->a.v[i], eb);
        if (rc != E_OK)
            return rc;
        out->a.n++;
    }
    return E_OK;
}

static int
convert_object(struct arena *a, struct json_object *o, int depth, int max_depth,
               struct val *out, struct errbuf *eb)
{
    size_t n = (size_t)json_object_object_length(o);
    int    rc;

    /* json-c has already merged duplicate keys, so plain appends keep keys unique. */
    *out = val_map();
    out->m.kv = arena_calloc(a, n, sizeof *out->m.kv);
    out->m.cap = n;
    json_object_object_foreach(o, key, child)
    {
        struct kv *kv = &out->m.kv[out->m.n];
        rc = convert_str(a, key, strlen(key), &kv->k, eb);
        if (rc != E_OK)
            return errbuf_set(eb, E_BADREQ, "invalid UTF-8 in object key");
        rc = convert(a, child, depth + 1, max_depth, &kv->v, eb);
        if (rc != E_OK)
            return rc;
        out->m.n++;
    }
    return E_OK;
}

/* depth is the nesting of `o` itself: 0 at top level. */
static int
convert(struct arena *a, struct json_object *o, int depth, int max_depth, struct val *out,
        struct errbuf *eb)
{
    double f;

    switch (json_object_get_type(o)) {
    case json_type_null:
        *out = val_null();
        return E_OK;
    case json_type_boolean:
        *out = val_bool(json_object_get_boolean(o));
        return E_OK;
    case json_type_int:
        /* In range: lex_check() verified every integer literal. */
        *out = val_int(json_object_get_int64(o));
        return E_OK;
    case json_type_double:
        f = json_object_get_double(o);
        if (!isfinite(f))
            return errbuf_set(eb, E_BADREQ, "number out of range");
        *out = val_float(f);
        return E_OK;
    case json_type_string:
        *out = val_str(STR_NULL);
        return convert_str(a, json_object_get_string(o), (size_t)json_object_get_string_len(o),
                           &out->s, eb);
    case json_type_array:
        if (depth + 1 > max_depth)
            return deep(eb, max_depth);
        return convert_array(a, o, depth, max_depth, out, eb);
    case json_type_object:
        if (depth + 1 > max_depth)
            return deep(eb, max_depth);
        return convert_object(a, o, depth, max_depth, out, eb);
    }
    return errbuf_set(eb, E_INTERNAL, "json: unknown json-c type");
}

/* Run json-c over the whole body. On success *obj is the tree (NULL for null). */
static int
tokenize(const char *p, size_t len, int max_depth, struct json_object **obj, struct errbuf *eb)
{
    /* json-c counts a scalar inside a container as a level of its own, so
     * max_depth + 1 admits everything within our limit; convert() is exact. */
    struct json_tokener    *tok = json_tokener_new_ex(max_depth + 1);
    enum json_tokener_error je;
    size_t                  end;
    int                     rc = E_OK;

    if (tok == NULL)
        return errbuf_set(eb, E_INTERNAL, "json: out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    *obj = json_tokener_parse_ex(tok, p, (int)len);
    je = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    if (je == json_tokener_continue && end == len) {
        /* A number at the very end is only complete once json-c sees a NUL. */
        *obj = json_tokener_parse_ex(tok, "", 1);
        je = json_tokener_get_error(tok);
        end = len;
    }
    if (je == json_tokener_error_depth)
        rc = deep(eb, max_depth);
    else if (je != json_tokener_success)
        rc = errbuf_set(eb, E_BADREQ, "invalid JSON: %s at offset %zu",
                        json_tokener_error_desc(je), end);
    else {
        while (end < len && is_ws(p[end]))
            end++;
        if (end != len)
            rc = errbuf_set(eb, E_BADREQ, "trailing data at offset %zu", end);
    }
    json_tokener_free(tok);
    if (rc != E_OK) {
        json_object_put(*obj);
        *obj = NULL;
    }
    return rc;
}

/* The object keys of v and all it holds: fewer than the text's when json-c
 * merged a key given twice. */
static size_t
keys_of(const struct val *v)
{
    size_t n = 0;

    if (v->t == V_MAP) {
        n = v->m.n;
        for (size_t i = 0; i < v->m.n; i++)
            n += keys_of(&v->m.kv[i].v);
    } else if (v->t == V_ARR)
        for (size_t i = 0; i < v->a.n; i++)
            n += keys_of(&v->a.v[i]);
    return n;
}

/* A key given twice in one object is refused (400), in MessagePack too: a
 * proxy or filter in front that reads the first value would judge another
 * body than the one the server runs, where json-c keeps the last (a review:
 * "protected":true,"protected":false made an unprotected namespace). */
int
json_decode(struct arena *a, const char *p, size_t len, int max_depth, struct val *out,
            struct errbuf *eb)
{
    struct json_object *obj = NULL;
    size_t              keys;
    int                 rc;

    if (len == 0)
        return errbuf_set(eb, E_BADREQ, "empty body");
    if (len >= INT_MAX)
        return errbuf_set(eb, E_TOOBIG, "body too large");
    if (max_depth < 0)
        max_depth = 0;
    if (max_depth > JSON_DEPTH_CAP)
        max_depth = JSON_DEPTH_CAP;
    rc = tokenize(p, len, max_depth, &obj, eb);
    if (rc != E_OK)
        return rc;
    rc = lex_check(p, len, &keys, eb);
    if (rc == E_OK)
        rc = convert(a, obj, 0, max_depth, out, eb);
    json_object_put(obj);
    if (rc == E_OK && keys_of(out) != keys)
        return errbuf_set(eb, E_BADREQ, "an object of the body has a key twice");
    return rc;
}

/* ---- encoder ---------------------------------------------------------- */

static int
put_str(struct buf *b, struct str s)
{
    static const char hex[] = "0123456789abcdef";
    int               rc = buf_putc(b, '"');
    size_t            i = 0, run;

    while (rc == E_OK && i < s.len) {
        for (run = i; i < s.len; i++) {
            unsigned char c = (unsigned char)s.p[i];
            if (c < 0x20 || c == '"' || c == '\\')
                break;
        }
        rc = buf_append(b, s.p + run, i - run);
        if (rc != E_OK || i == s.len)
            break;
        unsigned char c = (unsigned char)s.p[i++];
        char          e[6] = { '\\', (char)c, 0, 0, 0, 0 };
        size_t        n = 2;
        switch (c) {
        case '"':
        case '\\':
            break;
        case '\b':
            e[1] = 'b';
            break;
        case '\f':
            e[1] = 'f';
            break;
        case '\n':
            e[1] = 'n';
            break;
        case '\r':
            e[1] = 'r';
            break;
        case '\t':
            e[1] = 't';
            break;
        default:
            memcpy(e + 1, "u00", 3);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            n = 6;
        }
        rc = buf_append(b, e, n);
    }
    return rc == E_OK ? buf_putc(b, '"') : rc;
}

static int
put_int(struct buf *b, int64_t v)
{
    char     d[24];
    size_t   n = sizeof d;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        d[--n] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (v < 0)
        d[--n] = '-';
    return buf_append(b, d + n, sizeof d - n);
}

/* Shortest of %.15g, %.16g, %.17g that reads back exactly; ".0" is added when
 * the text would otherwise read back as an integer. */
static int
put_float(struct buf *b, double f)
{
    char s[40];

    if (!isfinite(f))
        return E_INTERNAL; /* JSON has no NaN or Infinity */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, f);
        if (strtod(s, NULL) == f)
            break;
    }
    if (strpbrk(s, ".e") == NULL) {
        size_t n = strlen(s);
        memcpy(s + n, ".0", 3);
    }
    return buf_puts(b, s);
}

static int encode(const struct val *v, struct buf *b);

static int
put_array(const struct val *v, struct buf *b)
{
    int rc = buf_putc(b, '[');

    for (size_t i = 0; rc == E_OK && i < v->a.n; i++) {
        if (i > 0)
            rc = buf_putc(b, ',');
        if (rc == E_OK)
            rc = encode(&v->a.v[i], b);
    }
    return rc == E_OK ? buf_putc(b, ']') : rc;
}

static int
put_map(const struct val *v, struct buf *b)
{
    int rc = buf_putc(b, '{');

    for (size_t i = 0; rc == E_OK && i < v->m.n; i++) {
        if (i > 0)
            rc = buf_putc(b, ',');
        if (rc == E_OK)
            rc = put_str(b, v->m.kv[i].k);
        if (rc == E_OK)
            rc = buf_putc(b, ':');
        if (rc == E_OK)
            rc = encode(&v->m.kv[i].v, b);
    }
    return rc == E_OK ? buf_putc(b, '}') : rc;
}

static int
encode(const struct val *v, struct buf *b)
{
    switch (v->t) {
    case V_NULL:
        return buf_append(b, "null", 4);
    case V_BOOL:
        return v->b ? buf_append(b, "true", 4) : buf_append(b, "false", 5);
    case V_INT:
        return put_int(b, v->i);
    case V_FLOAT:
        return put_float(b, v->f);
    case V_STR:
        return put_str(b, v->s);
    case V_ARR:
        return put_array(v, b);
    case V_MAP:
        return put_map(v, b);
    }
    return E_INTERNAL;
}

int
json_encode(const struct val *v, struct buf *out)
{
    size_t start = out->len;
    int    rc = encode(v, out);

    /* A half-written document is worse than none: undo the partial output. */
    if (rc != E_OK && out->p != NULL) {
        out->len = start;
        out->p[start] = '\0';
    }
    return rc;
}
