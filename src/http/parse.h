/* parse.h - HTTP/1.1 request framing (RFC 9112), without I/O.
 *
 * The server feeds the bytes it has; the parser says "need more", "here is a
 * request head", or the status to refuse with. Framing is strict where
 * leniency lets two parties disagree on where a request ends (request
 * smuggling): conflicting Content-Length values, Content-Length together with
 * Transfer-Encoding, codings other than chunked, obsolete line folding, and
 * white space before a header's colon are all refused, and the connection is
 * then closed. Pure functions over caller-owned memory: thread-safe, fuzzed.
 */
#ifndef KW_HTTP_PARSE_H
#define KW_HTTP_PARSE_H

#include "../core/base.h"

#define HTTP_FIELDS_MAX 100 /* header lines; more is 431 */
#define HTTP_AGAIN      0   /* not enough bytes yet */
#define HTTP_HEAD_OK    1   /* a complete head; any other result is an HTTP status */

struct http_limits {
    size_t max_target; /* bytes of the request target (414 past it) */
    size_t max_fields; /* bytes of the header lines (431 past it) */
};

struct http_field {
    struct str name, value; /* slices of the input; value without surrounding space */
};

struct http_head {
    struct str        method, target; /* slices of the input */
    int               minor;          /* HTTP/1.<minor> */
    size_t            len;            /* bytes of the head, through the empty line */
    bool              keep_alive;     /* the client allows another request after this */
    bool              close_seen;     /* Connection: close, which keep-alive cannot undo */
    bool              chunked;        /* Transfer-Encoding: chunked */
    bool              has_length;
    bool              expect_continue; /* Expect: 100-continue */
    uint64_t          length;          /* Content-Length, when has_length */
    struct http_field fields[HTTP_FIELDS_MAX];
    size_t            nfields;
};

/* Parse the head at the start of `p`. HTTP_AGAIN when incomplete and within
 * the limits; HTTP_HEAD_OK with `h` filled; else the status to answer with
 * (400, 414, 431, 501, 505), after which the connection must be closed.
 * `why` (may be NULL) gets a static description. */
int http_parse_head(const char *p, size_t len, const struct http_limits *lim,
                    struct http_head *h, const char **why);

/* Decoder of a chunked body: feed it bytes, it writes the data bytes to the
 * front of the same buffer (they never get longer). */
struct http_chunked {
    uint64_t max_body; /* set by the caller: more data bytes in all is 413 */
    uint64_t total;    /* data bytes announced so far */
    int      state;
    uint64_t left;    /* data bytes left in the current chunk, or its size so far */
    size_t   linelen; /* bytes of the current size or trailer line */
    size_t   trailer; /* bytes of trailer lines so far */
    int      digits;
};

/* Start decoding a body of at most `max_body` data bytes. */
static inline void
http_chunked_init(struct http_chunked *c, uint64_t max_body)
{
    *c = (struct http_chunked){ .max_body = max_body };
}

/* Decode `*n` bytes at `p` in place. Returns 0 and sets `*n` to the data bytes
 * produced, `*used` to the input bytes consumed (less than the input only when
 * the body ended: the rest belongs to the next request), and `*done` when the
 * last chunk and the trailers have been read. Returns 400 on a framing error, 413 when a chunk
 * would take the body past `max_body`, 431 when the trailers exceed `max_trailer` bytes. */
int http_chunked_feed(struct http_chunked *c, char *p, size_t *n, size_t *used, bool *done,
                      size_t max_trailer);

#endif
