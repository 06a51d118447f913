/* fuzz_http.c - libFuzzer target: HTTP/1.1 request framing (http/parse.c).
 *
 * The input is a request head, then a chunked body. Checks, beyond "no crash,
 * no sanitizer report": a complete head never claims more bytes than it was
 * given; no prefix of an accepted head is complete or refused; the chunked decoder never
 * produces more bytes than it consumed and never more than its body limit.
 *
 * make fuzz        (builds build/fuzz/fuzz_http, and every other target)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/parse.h"

static void
check_head(const char *p, size_t n)
{
    struct http_limits lim = { 512, 2048 };
    struct http_head   h;
    int                whole = http_parse_head(p, n, &lim, &h, NULL);

    if (whole == HTTP_HEAD_OK && (h.len > n || h.len == 0))
        abort();
    for (size_t k = 0; k < n && k < 600; k += 7) {
        int rc = http_parse_head(p, k, &lim, &h, NULL);
        if (rc == HTTP_HEAD_OK && whole != HTTP_HEAD_OK)
            abort();
        if (rc != HTTP_AGAIN && rc != HTTP_HEAD_OK && whole == HTTP_HEAD_OK)
            abort(); /* a prefix refused, the whole accepted */
    }
}

static void
check_chunked(const uint8_t *data, size_t n)
{
    struct http_chunked c;
    char               *buf = malloc(n + 1);
    size_t              total = 0, off = 0;
    bool                done = false;

    if (buf == NULL)
        return;
    http_chunked_init(&c, 4096);
    while (off < n && !done) {
        size_t step = (data[off] & 15) + 1, m, used;
        m = n - off < step ? n - off : step;
        memcpy(buf, data + off, m);
        size_t in = m;
        if (http_chunked_feed(&c, buf, &m, &used, &done, 256) != 0)
            break;
        if (m > used || used > in || (used == 0 && !done))
            abort();
        total += m;
        off += used;
    }
    if (total > 4096)
        abort();
    free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_head((const char *)data, size);
    check_chunked(data, size);
    return 0;
}
