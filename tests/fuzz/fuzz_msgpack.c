/* fuzz_msgpack.c - libFuzzer target: MessagePack bodies (see codec_roundtrip.h).
 *
 * clang -fsanitize=fuzzer,address,undefined -Isrc -Itests/fuzz tests/fuzz/fuzz_msgpack.c \
 *     src/core/{base,arena,buf,val,log,timeutil,rnd,json,msgpack}.c \
 *     $(pkg-config --cflags --libs openssl json-c msgpack) -lm
 */
#define FUZZ_CODEC CODEC_MSGPACK
#include "codec_roundtrip.h"
