/* fuzz_json.c - libFuzzer target: JSON bodies (see codec_roundtrip.h).
 *
 * clang -fsanitize=fuzzer,address,undefined -Isrc -Itests/fuzz tests/fuzz/fuzz_json.c \
 *     src/core/{base,arena,buf,val,log,timeutil,rnd,json,msgpack}.c \
 *     $(pkg-config --cflags --libs openssl json-c msgpack) -lm
 */
#define FUZZ_CODEC CODEC_JSON
#include "codec_roundtrip.h"
