/* base.c - string slices, strict number parsing, UTF-8 checks and the error table. */
#include "base.h"
#include "rnd.h"

#include <stdarg.h>
#include <stdio.h>

static int
lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

bool
str_eq_nocase(struct str a, const char *b)
{
    size_t n = b ? strlen(b) : 0;

    if (a.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)b[i]))
            return false;
    return true;
}

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

struct str
str_trim(struct str s)
{
    while (s.len > 0 && is_blank(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && is_blank(s.p[s.len - 1]))
        s.len--;
    return s;
}

struct str
str_cut(struct str s, char sep, struct str *head)
{
    const char *hit = s.len ? memchr(s.p, sep, s.len) : NULL;

    if (hit == NULL) {
        if (head)
            *head = s;
        return STR_NULL;
    }
    size_t hl = (size_t)(hit - s.p);
    if (head)
        *head = (struct str){ s.p, hl };
    return (struct str){ hit + 1, s.len - hl - 1 };
}

int
str_to_i64(struct str s, int64_t *out)
{
    bool     neg = false;
    size_t   i = 0;
    uint64_t v = 0;
    /* The magnitude limit differs by sign: INT64_MIN has one more than INT64_MAX. */
    uint64_t lim;

    if (s.len > 0 && s.p[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == s.len)
        return E_BADREQ;
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < s.len; i++) {
        unsigned d = (unsigned char)s.p[i] - (unsigned)'0';
        if (d > 9)
            return E_BADREQ;
        if (v > (lim - d) / 10)
            return E_BADREQ;
        v = v * 10 + d;
    }
    if (neg)
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return E_OK;
}

/* Length of the sequence starting at p[0], or 0 when it is not well-formed
 * (Unicode 15 table 3-7: this also rules out overlongs and surrogates). */
static size_t
utf8_seq(const unsigned char *p, size_t len)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t        n;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (len < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

size_t
utf8_decode(const char *p, size_t len, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t               n = len > 0 ? utf8_seq(u, len) : 0;

    if (n == 0)
        return 0;
    *cp = n == 1 ? u[0] : (uint32_t)(u[0] & (0x7F >> n));
    for (size_t i = 1; i < n; i++)
        *cp = *cp << 6 | (uint32_t)(u[i] & 0x3F);
    return n;
}

size_t
utf8_cut(const char *p, size_t len)
{
    size_t start = len;

    /* back to the lead byte of the last sequence (at most 3 continuations) */
    while (start > 0 && len - start < 4 && ((unsigned char)p[start - 1] & 0xC0) == 0x80)
        start--;
    if (start > 0 && utf8_seq((const unsigned char *)p + start - 1, len - start + 1) == 0 &&
        ((unsigned char)p[start - 1] & 0xC0) == 0xC0)
        return start - 1; /* a lead byte whose sequence the cut broke */
    return len;
}

bool
pct_decode(struct str *s, bool plus)
{
    char  *p = (char *)s->p;
    size_t o = 0;

    for (size_t i = 0; i < s->len; i++) {
        char c = s->p[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= s->len)
                return false;
            hi = hex_digit(s->p[i + 1]);
            lo = hex_digit(s->p[i + 2]);
            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return false;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus)
            c = ' ';
        p[o++] = c;
    }
    s->len = o;
    return true;
}

bool
utf8_valid(const char *p, size_t len)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t               i = 0;

    while (i < len) {
        /* ASCII fast path: most keys and values are plain ASCII. */
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_seq(u + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

static int errbuf_vset(struct errbuf *eb, enum err code, const char *attr, const char *fmt,
                       va_list ap) KW_PRINTF(4, 0);

static int
errbuf_vset(struct errbuf *eb, enum err code, const char *attr, const char *fmt, va_list ap)
{
    if (eb == NULL)
        return (int)code;
    eb->code = code;
    eb->attr[0] = '\0';
    if (attr)
        errbuf_name(eb, attr);
    if (vsnprintf(eb->msg, sizeof eb->msg, fmt, ap) < 0)
        eb->msg[0] = '\0';
    /* It may quote a client's text, cut to its size: never inside a
     * character, or the error list would not be UTF-8. */
    eb->msg[utf8_cut(eb->msg, strlen(eb->msg))] = '\0';
    return (int)code;
}

int
errbuf_set(struct errbuf *eb, enum err code, const char *fmt, ...)
{
    va_list ap;
    int     rc;

    va_start(ap, fmt);
    rc = errbuf_vset(eb, code, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int
errbuf_attr(struct errbuf *eb, enum err code, const char *attr, const char *fmt, ...)
{
    va_list ap;
    int     rc;

    va_start(ap, fmt);
    rc = errbuf_vset(eb, code, attr, fmt, ap);
    va_end(ap);
    return rc;
}

char *
str_copy_cut(char *dst, size_t size, struct str s)
{
    size_t n = s.len < size - 1 ? s.len : size - 1;

    memcpy(dst, s.p, n);
    dst[utf8_cut(dst, n)] = '\0';
    return dst;
}

void
errbuf_name(struct errbuf *eb, const char *attr)
{
    str_copy_cut(eb->attr, sizeof eb->attr, str_c(attr));
}

void
errbuf_attr_default(struct errbuf *eb, const char *attr)
{
    if (eb != NULL && eb->attr[0] == '\0')
        errbuf_name(eb, attr);
}

/* One table maps each error to its HTTP status and the title of API.md section 2. */
static const struct {
    int         status;
    const char *title;
} err_table[E__COUNT] = {
    [E_OK] = { 200, "OK" },
    [E_BADREQ] = { 400, "Bad Request" },
    [E_UNAUTH] = { 401, "Unauthorized" },
    [E_FORBIDDEN] = { 403, "Forbidden" },
    [E_NOTFOUND] = { 404, "Not Found" },
    [E_METHOD] = { 405, "Method Not Allowed" },
    [E_CONFLICT] = { 409, "Conflict" },
    [E_TOOBIG] = { 413, "Content Too Large" },
    [E_URITOOLONG] = { 414, "URI Too Long" },
    [E_MEDIA] = { 415, "Unsupported Media Type" },
    [E_HEADERS] = { 431, "Request Header Fields Too Large" },
    [E_QUOTA] = { 417, "Quota Exceeded" },
    [E_VALIDATION] = { 422, "Validation Error" },
    [E_READONLY] = { 422, "Read Only Error" },
    [E_CREATIONONLY] = { 422, "Creation Only Error" },
    [E_DUPLICATE] = { 422, "Duplicate Key" },
    [E_PROTECTED] = { 422, "Protected Object" },
    [E_IDEMPOTENCY] = { 422, "Idempotency Key Reused" },
    [E_RATE] = { 429, "Too Many Requests" },
    [E_NOTIMPL] = { 501, "Not Implemented" },
    [E_VERSION] = { 505, "HTTP Version Not Supported" },
    [E_INTERNAL] = { 500, "Internal Server Error" },
    [E_UNAVAILABLE] = { 503, "Service Unavailable" },
};

/* Anything out of range is a programming error; answer it as an internal one. */
int
err_http_status(enum err e)
{
    if ((unsigned)e >= E__COUNT)
        e = E_INTERNAL;
    return err_table[e].status;
}

const char *
err_title(enum err e)
{
    if ((unsigned)e >= E__COUNT)
        e = E_INTERNAL;
    return err_table[e].title;
}
