/* codec.h - JSON (json-c) and MessagePack (msgpack-c) to and from struct val.
 *
 * Decoders validate fully: well-formed syntax, UTF-8 in every string and key,
 * string map keys only, nesting no deeper than `max_depth` (a scalar at top level
 * is depth 0, `[]` is depth 1), integers within int64. Any violation is E_BADREQ
 * with a short reason in eb. Trailing bytes after the value are an error. Output
 * uses the arena; nothing is retained by the codec. Thread-safe.
 */
#ifndef KW_CODEC_H
#define KW_CODEC_H

#include "buf.h"
#include "val.h"

enum codec { CODEC_JSON, CODEC_MSGPACK };

int json_decode(struct arena *a, const char *p, size_t len, int max_depth, struct val *out,
                struct errbuf *eb);
int msgpack_decode(struct arena *a, const char *p, size_t len, int max_depth, struct val *out,
                   struct errbuf *eb);
/* Encoders append to `out` (E_TOOBIG if its max is reached). JSON output is
 * compact, keys in map order, strings escaped per RFC 8259 (control characters as
 * \u00XX, '/' not escaped), floats with enough digits to round-trip. */
int json_encode(const struct val *v, struct buf *out);
int msgpack_encode(const struct val *v, struct buf *out);

static inline int
codec_decode(enum codec c, struct arena *a, const char *p, size_t len, int max_depth,
             struct val *out, struct errbuf *eb)
{
    return c == CODEC_MSGPACK ? msgpack_decode(a, p, len, max_depth, out, eb)
                              : json_decode(a, p, len, max_depth, out, eb);
}

static inline int
codec_encode(enum codec c, const struct val *v, struct buf *out)
{
    return c == CODEC_MSGPACK ? msgpack_encode(v, out) : json_encode(v, out);
}

#endif
