/* codec_roundtrip.h - the body of both codec fuzz targets: any input the
 * decoder under test accepts must survive encoding to JSON and to MessagePack
 * and decoding again, unchanged; any input it refuses must say why. A target
 * defines FUZZ_CODEC (CODEC_JSON or CODEC_MSGPACK) and includes this file. */
#include <stdlib.h>

#include "core/codec.h"

#define FUZZ_DEPTH 32

/* Encode v with codec c, decode the result, require equality. */
static void
again(struct arena *a, const struct val *v, enum codec c)
{
    struct buf    b;
    struct errbuf eb;
    struct val    w;

    buf_init(&b, 0);
    if (codec_encode(c, v, &b) != E_OK)
        abort();
    if (codec_decode(c, a, b.p, b.len, FUZZ_DEPTH, &w, &eb) != E_OK)
        abort();
    if (!val_equal(v, &w))
        abort();
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena *a = arena_new(0);
    struct errbuf eb;
    struct val    v;

    if (codec_decode(FUZZ_CODEC, a, (const char *)data, size, FUZZ_DEPTH, &v, &eb) == E_OK) {
        again(a, &v, CODEC_JSON);
        again(a, &v, CODEC_MSGPACK);
    } else if (eb.code == E_OK || eb.msg[0] == '\0') {
        abort(); /* every failure must say why */
    }
    arena_free(a);
    return 0;
}
