/* fuzz_msgpack.c - libFuzzer target: MessagePack bodies (see codec_roundtrip.h).
 *
 * make fuzz        (builds build/fuzz/fuzz_msgpack, and every other target)
 */
#define FUZZ_CODEC CODEC_MSGPACK
#include "codec_roundtrip.h"
