/* base.h - the few definitions every Keyward file uses: slices, sizes, errors.
 *
 * A `struct str` is a borrowed {pointer, length} slice; it is never NUL-terminated
 * unless the producer says so. Functions return 0 (E_OK) or a positive `enum err`.
 */
#ifndef KW_BASE_H
#define KW_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ARRAY_LEN(a)    (sizeof(a) / sizeof((a)[0]))
#define KW_UNUSED(x)    ((void)(x))
#define KW_PRINTF(f, a) __attribute__((format(printf, f, a)))

struct str {
    const char *p;
    size_t      len;
};

#define STR(lit) ((struct str){ (lit), sizeof(lit) - 1 })
#define STR_NULL ((struct str){ NULL, 0 })
/* printf("%.*s", STR_FMT(s)) */
#define STR_FMT(s) (int)(s).len, (s).p

static inline struct str
str_c(const char *s)
{
    return (struct str){ s, s ? strlen(s) : 0 };
}

static inline bool
str_eq(struct str a, struct str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool
str_eq_c(struct str a, const char *b)
{
    return str_eq(a, str_c(b));
}

static inline bool
str_starts(struct str a, struct str prefix)
{
    return a.len >= prefix.len && memcmp(a.p, prefix.p, prefix.len) == 0;
}

/* Case-insensitive ASCII comparison (HTTP tokens, media types). */
bool str_eq_nocase(struct str a, const char *b);
/* Trim ASCII spaces and tabs on both ends. */
struct str str_trim(struct str s);
/* Split `s` at the first `sep`: *head gets what is before, returns the rest
 * (STR_NULL with p == NULL when `sep` was absent, *head is then all of s). */
struct str str_cut(struct str s, char sep, struct str *head);
/* Strict decimal parse: optional '-', digits only, no overflow. */
int str_to_i64(struct str s, int64_t *out);
/* True when the bytes are well-formed UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const char *p, size_t len);
/* The code point of the well-formed sequence at p into *cp: its length in
 * bytes, or 0 when the bytes there are not one. */
size_t utf8_decode(const char *p, size_t len, uint32_t *cp);
/* The longest prefix of p[0..len) that does not end inside a sequence: where a
 * string cut at `len` bytes may end. */
size_t utf8_cut(const char *p, size_t len);
/* Decode %XX escapes (and '+' as a space when `plus`: form encoding) in
 * place, for URLs and application/x-www-form-urlencoded; false when an escape
 * is malformed or decodes to NUL. */
bool pct_decode(struct str *s, bool plus);

/* FNV-1a over `n` bytes, its offset basis xor `seed`: the one hash of the
 * in-memory tables (not cryptographic; seed it where clients choose keys). */
static inline uint64_t
hash_fnv1a(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *b = p;
    uint64_t             h = 14695981039346656037ULL ^ seed;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/* Every failure in the code base is one of these. core/err.c maps each to an
 * HTTP status and an error title (API.md section 2). */
enum err {
    E_OK = 0,
    E_BADREQ,       /* 400 Bad Request: malformed body, query, header */
    E_UNAUTH,       /* 401 Unauthorized */
    E_FORBIDDEN,    /* 403 Forbidden */
    E_NOTFOUND,     /* 404 Not Found */
    E_METHOD,       /* 405 Method Not Allowed */
    E_CONFLICT,     /* 409 Conflict: stale updateTime */
    E_TOOBIG,       /* 413 Content Too Large (RFC 9110) */
    E_URITOOLONG,   /* 414 URI Too Long */
    E_MEDIA,        /* 415 Unsupported Media Type */
    E_HEADERS,      /* 431 Request Header Fields Too Large */
    E_QUOTA,        /* 417 Expectation Failed: token quota spent */
    E_VALIDATION,   /* 422 Validation Error */
    E_READONLY,     /* 422 Read Only Error */
    E_CREATIONONLY, /* 422 Creation Only Error */
    E_DUPLICATE,    /* 422 Duplicate Key */
    E_PROTECTED,    /* 422 Protected Object */
    E_IDEMPOTENCY,  /* 422 Idempotency Key Reused */
    E_RATE,         /* 429 Too Many Requests */
    E_NOTIMPL,      /* 501 Not Implemented: a transfer coding other than chunked */
    E_VERSION,      /* 505 HTTP Version Not Supported */
    E_INTERNAL,     /* 500 Internal Server Error */
    E_UNAVAILABLE,  /* 503 Service Unavailable */
    E__COUNT
};

/* Detail for the one error a call reports; the API boundary turns it into the
 * error list. `attr` names the offending attribute for validation errors. */
struct errbuf {
    enum err code;
    char     msg[256];
    char     attr[64];
};

/* Fill `eb` (may be NULL) and return `code`, so callers write
 * `return errbuf_set(eb, E_BADREQ, "...")`. */
int errbuf_set(struct errbuf *eb, enum err code, const char *fmt, ...) KW_PRINTF(3, 4);
/* Same, naming the attribute (data.attribute in the error list). */
int errbuf_attr(struct errbuf *eb, enum err code, const char *attr, const char *fmt, ...)
    KW_PRINTF(4, 5);
/* `s` as a C string in dst[size], cut to fit at a character's boundary; returns dst. */
char *str_copy_cut(char *dst, size_t size, struct str s);
/* Name `attr` in the error of `eb` (cut to its size at a character). */
void errbuf_name(struct errbuf *eb, const char *attr);
/* Name `attr` where the error in `eb` (may be NULL) names none yet: the query
 * parameter whose value's own error names no field. */
void errbuf_attr_default(struct errbuf *eb, const char *attr);

int         err_http_status(enum err e);
const char *err_title(enum err e);

#endif
