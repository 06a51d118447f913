/* parse.c - see parse.h. */
#include "parse.h"

#include "../core/rnd.h"

#include <string.h>

#define EXT_MAX      4096 /* bytes of chunk extensions on one size line */
#define LEADING_CRLF 8    /* empty lines tolerated before a request line */
#define METHOD_MAX   32
#define VERSION_LEN  8 /* "HTTP/1.1" */

enum {
    CS_SIZE,
    CS_EXT,
    CS_SIZE_LF,
    CS_DATA,
    CS_DATA_CR,
    CS_DATA_LF,
    CS_TRAILER,
    CS_TRAILER_NAME,
    CS_TRAILER_VALUE,
    CS_TRAILER_LF,
    CS_END_LF,
    CS_DONE
};

/* RFC 9110 5.6.2: tchar. */
static bool
is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
is_token(struct str s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (!is_tchar((unsigned char)s.p[i]))
            return false;
    return true;
}

/* A control character other than tab: never in a field value (RFC 9110 5.5)
 * nor in a chunk's extension. */
static bool
is_ctl(unsigned char ch)
{
    return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

/* A field value: visible characters, obs-text, space and tab (RFC 9110 5.5). */
static bool
value_ok(struct str v)
{
    for (size_t i = 0; i < v.len; i++)
        if (is_ctl((unsigned char)v.p[i]))
            return false;
    return true;
}

static struct str
trim_ows(struct str s)
{
    while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t'))
        s.p++, s.len--;
    while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

/* The line starting at `p`: its length without CR LF (or LF), and through
 * the LF in *next. False when no LF is in the buffer yet; a CR not followed
 * by LF makes *bad true. */
static bool
next_line(const char *p, const char *end, struct str *line, const char **next, bool *bad)
{
    const char *lf = memchr(p, '\n', (size_t)(end - p));
    size_t      n;

    if (lf == NULL)
        return false;
    n = (size_t)(lf - p);
    if (n > 0 && p[n - 1] == '\r')
        n--;
    *bad = memchr(p, '\r', n) != NULL;
    *line = (struct str){ p, n };
    *next = lf + 1;
    return true;
}

static int
parse_version(struct str v, struct http_head *h)
{
    if (v.len != VERSION_LEN || memcmp(v.p, "HTTP/", 5) != 0 || v.p[6] != '.' ||
        hex_digit(v.p[5]) < 0 || hex_digit(v.p[7]) < 0 || v.p[5] > '9' || v.p[7] > '9')
        return 400;
    if (v.p[5] != '1')
        return 505;
    h->minor = v.p[7] - '0' > 1 ? 1 : v.p[7] - '0';
    h->keep_alive = h->minor >= 1;
    return HTTP_HEAD_OK;
}

static int
parse_request_line(struct str line, const struct http_limits *lim, struct http_head *h,
                   const char **why)
{
    const char *sp1 = memchr(line.p, ' ', line.len), *sp2;
    int         rc;

    if (sp1 == NULL)
        return *why = "malformed request line", 400;
    h->method = (struct str){ line.p, (size_t)(sp1 - line.p) };
    sp2 = memchr(sp1 + 1, ' ', line.len - h->method.len - 1);
    if (sp2 == NULL)
        return *why = "malformed request line", 400;
    h->target = (struct str){ sp1 + 1, (size_t)(sp2 - sp1 - 1) };
    if (h->target.len > lim->max_target)
        return *why = "the URL is too long", 414;
    if (!is_token(h->method) || h->method.len > METHOD_MAX || h->target.len == 0)
        return *why = "malformed request line", 400;
    for (size_t i = 0; i < h->target.len; i++)
        if ((unsigned char)h->target.p[i] <= 0x20 || h->target.p[i] == 0x7f)
            return *why = "malformed request target", 400;
    rc = parse_version((struct str){ sp2 + 1, (size_t)(line.p + line.len - sp2 - 1) }, h);
    if (rc != HTTP_HEAD_OK)
        *why = rc == 505 ? "HTTP version not supported" : "malformed HTTP version";
    return rc;
}

/* Content-Length: a list of equal decimal values (RFC 9110 8.6). */
static int
add_length(struct http_head *h, struct str v)
{
    struct str item, rest = v;

    while (rest.p != NULL) {
        uint64_t n = 0;
        rest = str_cut(rest, ',', &item);
        item = trim_ows(item);
        if (item.len == 0 || item.len > 19)
            return 400;
        for (size_t i = 0; i < item.len; i++) {
            if (item.p[i] < '0' || item.p[i] > '9')
                return 400;
            n = n * 10 + (uint64_t)(item.p[i] - '0');
        }
        if (h->has_length && h->length != n)
            return 400;
        h->has_length = true;
        h->length = n;
    }
    return HTTP_HEAD_OK;
}

/* Transfer-Encoding: only "chunked", alone (RFC 9112 6.1, 7). */
static int
add_coding(struct http_head *h, struct str v, int *codings)
{
    struct str item, rest = v;

    while (rest.p != NULL) {
        rest = str_cut(rest, ',', &item);
        item = trim_ows(item);
        if (item.len == 0)
            continue;
        if (!str_eq_nocase(item, "chunked") || h->chunked)
            (*codings)++;
        else
            h->chunked = true;
    }
    return HTTP_HEAD_OK;
}

static void
add_connection(struct http_head *h, struct str v)
{
    struct str item, rest = v;

    while (rest.p != NULL) {
        rest = str_cut(rest, ',', &item);
        item = trim_ows(item);
        if (str_eq_nocase(item, "close")) {
            h->keep_alive = false;
            h->close_seen = true; /* whatever else is said (RFC 9112 9.6) */
        } else if (str_eq_nocase(item, "keep-alive") && h->minor == 0 && !h->close_seen)
            h->keep_alive = true;
    }
}

struct seen {
    int  hosts, codings;
    bool te;
};

static int
add_field(struct http_head *h, struct str line, struct seen *seen, const char **why)
{
    const char *colon = memchr(line.p, ':', line.len);
    struct str  name, value;

    if (line.p[0] == ' ' || line.p[0] == '\t')
        return *why = "obsolete line folding", 400;
    if (colon == NULL)
        return *why = "malformed header line", 400;
    name = (struct str){ line.p, (size_t)(colon - line.p) };
    value = trim_ows((struct str){ colon + 1, line.len - name.len - 1 });
    if (!is_token(name) || !value_ok(value))
        return *why = "malformed header line", 400;
    if (h->nfields == HTTP_FIELDS_MAX)
        return *why = "too many header lines", 431;
    h->fields[h->nfields++] = (struct http_field){ name, value };
    if (str_eq_nocase(name, "Content-Length")) {
        if (add_length(h, value) != HTTP_HEAD_OK)
            return *why = "invalid or conflicting Content-Length", 400;
    } else if (str_eq_nocase(name, "Transfer-Encoding")) {
        seen->te = true;
        add_coding(h, value, &seen->codings);
    } else if (str_eq_nocase(name, "Connection"))
        add_connection(h, value);
    else if (str_eq_nocase(name, "Host"))
        seen->hosts++;
    else if (str_eq_nocase(name, "Expect") && str_eq_nocase(value, "100-continue"))
        h->expect_continue = h->minor >= 1;
    return HTTP_HEAD_OK;
}

/* The framing rules that need every header (RFC 9112 6.1, 6.3, 3.2). */
static int
check_framing(struct http_head *h, const struct seen *seen, const char **why)
{
    if (seen->te && (h->has_length || h->minor == 0))
        return *why = "Transfer-Encoding with Content-Length or in HTTP/1.0", 400;
    if (seen->te && (seen->codings > 0 || !h->chunked))
        return *why = "only the chunked transfer coding is implemented", 501;
    if (h->minor >= 1 && seen->hosts != 1)
        return *why = "an HTTP/1.1 request needs exactly one Host header", 400;
    return HTTP_HEAD_OK;
}

int
http_parse_head(const char *p, size_t len, const struct http_limits *lim, struct http_head *h,
                const char **why)
{
    const char *end = p + len, *cur = p, *next, *fields;
    struct str  line;
    struct seen seen = { 0 };
    const char *dummy;
    bool        bad;
    int         rc;

    why = why != NULL ? why : &dummy;
    *why = "";
    memset(h, 0, offsetof(struct http_head, fields));
    h->nfields = 0;
    for (int i = 0; i < LEADING_CRLF && cur < end && (*cur == '\r' || *cur == '\n'); i++)
        cur += *cur == '\r' && cur + 1 < end && cur[1] == '\n' ? 2 : 1;
    if (!next_line(cur, end, &line, &next, &bad))
        return (size_t)(end - cur) > lim->max_target + METHOD_MAX + VERSION_LEN + 4
                   ? (*why = "the URL is too long", 414)
                   : HTTP_AGAIN;
    if (bad)
        return *why = "stray CR in the request line", 400;
    if ((rc = parse_request_line(line, lim, h, why)) != HTTP_HEAD_OK)
        return rc;
    fields = cur = next;
    for (;;) {
        if (!next_line(cur, end, &line, &next, &bad))
            return (size_t)(end - fields) > lim->max_fields + 2
                       ? (*why = "the request headers are too large", 431)
                       : HTTP_AGAIN;
        if ((size_t)(next - fields) > lim->max_fields + 2)
            return *why = "the request headers are too large", 431;
        if (bad)
            return *why = "stray CR in a header line", 400;
        cur = next;
        if (line.len == 0)
            break;
        if ((rc = add_field(h, line, &seen, why)) != HTTP_HEAD_OK)
            return rc;
    }
    if ((rc = check_framing(h, &seen, why)) != HTTP_HEAD_OK)
        return rc;
    h->len = (size_t)(cur - p);
    return HTTP_HEAD_OK;
}

/* ---- chunked bodies ---------------------------------------------------- */

static int
size_digit(struct http_chunked *c, unsigned char ch)
{
    int v = hex_digit((char)ch);

    if (v < 0 || c->digits == 16)
        return 400;
    c->left = c->left << 4 | (uint64_t)v;
    c->digits++;
    return 0;
}

/* The size line ended: data follows, or the last chunk's trailers. */
static int
size_end(struct http_chunked *c)
{
    if (c->digits == 0)
        return 400;
    if (c->left > c->max_body - c->total)
        return 413;
    c->total += c->left;
    c->state = c->left == 0 ? CS_TRAILER : CS_DATA;
    c->digits = 0;
    c->linelen = 0;
    return 0;
}

/* The framing of a chunked body is read strictly (RFC 9112 7.1): every line
 * ends in CRLF, extensions and trailers hold no control characters, a trailer
 * is a field line. The head's parser tolerates a lone LF, but a server that
 * ends a body where a proxy in front does not is the start of request
 * smuggling (a review: a lone LF, a bare CR in a trailer, a trailer without a
 * colon all passed here). */

static int
on_size(struct http_chunked *c, unsigned char ch)
{
    switch (c->state) {
    case CS_SIZE:
        if (hex_digit((char)ch) >= 0)
            return size_digit(c, ch);
        if (c->digits == 0)
            return 400;
        if (ch == '\r')
            break;
        if (ch != ';' && ch != ' ' && ch != '\t')
            return 400;
        c->state = CS_EXT;
        return 0;
    case CS_EXT:
        if (ch == '\r')
            break;
        /* quoted-string values may hold obs-text; no control character */
        return is_ctl(ch) || ++c->linelen > EXT_MAX ? 400 : 0;
    default: /* CS_SIZE_LF */
        return ch == '\n' ? size_end(c) : 400;
    }
    c->state = CS_SIZE_LF;
    return 0;
}

/* Trailers are read and dropped; each must still be a field line. */
static int
on_trailer(struct http_chunked *c, unsigned char ch, size_t max_trailer)
{
    if (++c->trailer > max_trailer)
        return 431;
    switch (c->state) {
    case CS_TRAILER: /* a line begins: a field name, or the CR of the end */
        if (ch == '\r')
            c->state = CS_END_LF;
        else if (is_tchar(ch))
            c->state = CS_TRAILER_NAME;
        else
            return 400;
        return 0;
    case CS_TRAILER_NAME:
        if (ch == ':')
            c->state = CS_TRAILER_VALUE;
        else if (!is_tchar(ch))
            return 400;
        return 0;
    case CS_TRAILER_VALUE:
        if (ch == '\r')
            c->state = CS_TRAILER_LF;
        else if (is_ctl(ch))
            return 400;
        return 0;
    case CS_TRAILER_LF:
        if (ch != '\n')
            return 400;
        c->state = CS_TRAILER;
        return 0;
    default: /* CS_END_LF */
        if (ch != '\n')
            return 400;
        c->state = CS_DONE;
        return 0;
    }
}

int
http_chunked_feed(struct http_chunked *c, char *p, size_t *n, size_t *used, bool *done,
                  size_t max_trailer)
{
    size_t in = *n, out = 0, i = 0;
    int    rc = 0;

    while (i < in && c->state != CS_DONE && rc == 0) {
        unsigned char ch = (unsigned char)p[i];
        if (c->state == CS_DATA) {
            size_t k = in - i < c->left ? in - i : (size_t)c->left;
            memmove(p + out, p + i, k);
            out += k, i += k;
            c->left -= k;
            if (c->left == 0)
                c->state = CS_DATA_CR;
            continue;
        }
        i++;
        if (c->state == CS_DATA_CR || c->state == CS_DATA_LF) {
            if (ch == '\n' && c->state == CS_DATA_LF)
                c->state = CS_SIZE;
            else if (ch == '\r' && c->state == CS_DATA_CR)
                c->state = CS_DATA_LF;
            else
                rc = 400;
        } else if (c->state >= CS_TRAILER)
            rc = on_trailer(c, ch, max_trailer);
        else
            rc = on_size(c, ch);
    }
    *n = out;
    *used = i;
    *done = c->state == CS_DONE;
    return rc;
}
