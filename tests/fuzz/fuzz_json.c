/* fuzz_json.c - libFuzzer target: JSON bodies (see codec_roundtrip.h).
 *
 * make fuzz        (builds build/fuzz/fuzz_json, and every other target)
 */
#define FUZZ_CODEC CODEC_JSON
#include "codec_roundtrip.h"
