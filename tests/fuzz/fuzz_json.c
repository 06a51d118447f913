/* fuzz_json.c - libFuzzer target: any JSON the decoder accepts must survive
 * encoding to JSON and to MessagePack and decoding again, unchanged.
 *
 * clang -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz/fuzz_json.c \
 *     src/core/{base,arena,buf,val,log,timeutil,rnd}.c src/api/{json,msgpack}.c \
 *     $(pkg-config --cflags --libs openssl json-c msgpack) -lm
 */
#include <stdlib.h>

#include "api/codec.h"

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

    if (json_decode(a, (const char *)data, size, FUZZ_DEPTH, &v, &eb) == E_OK) {
        again(a, &v, CODEC_JSON);
        again(a, &v, CODEC_MSGPACK);
    } else if (eb.code == E_OK || eb.msg[0] == '\0') {
        abort(); /* every failure must say why */
    }
    arena_free(a);
    return 0;
}
