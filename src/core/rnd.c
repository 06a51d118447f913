/* rnd.c - identifiers, hex and base64url over OpenSSL's CSPRNG. */
#include "rnd.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Straight from the CSPRNG, in slices (RAND_bytes takes an int). */
static void
fill(unsigned char *u, size_t n)
{
    while (n > 0) {
        int k = n > INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(u, k) != 1) {
            /* Identifiers and keys without entropy are worse than no service. */
            fprintf(stderr, "rnd: RAND_bytes failed\n");
            abort();
        }
        u += k;
        n -= (size_t)k;
    }
}

void
rnd_bytes(void *p, size_t n)
{
    fill(p, n);
}

/* Identifiers (trace ids, object ids, jtis: several per request) come from a
 * per-thread pool filled by the same CSPRNG: one RAND_bytes call per POOL bytes
 * instead of one per identifier. Each byte is handed out once and wiped. Never
 * for secrets: those must not wait in memory before use. */
#define POOL       4096
#define POOL_SMALL 64

static _Thread_local unsigned char pool[POOL];
static _Thread_local size_t        pool_left;

void
rnd_id_bytes(void *p, size_t n)
{
    unsigned char *u = p;

    if (n > POOL_SMALL) {
        fill(u, n);
        return;
    }
    if (pool_left < n) {
        fill(pool, POOL);
        pool_left = POOL;
    }
    unsigned char *src = pool + POOL - pool_left;
    memcpy(u, src, n);
    OPENSSL_cleanse(src, n);
    pool_left -= n;
}

static const char hexdig[] = "0123456789abcdef";

void
hex_encode(const void *p, size_t n, char *out)
{
    const unsigned char *u = p;

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[u[i] >> 4];
        out[2 * i + 1] = hexdig[u[i] & 15];
    }
    out[2 * n] = '\0';
}

void
id_new(char out[ID_LEN + 1])
{
    unsigned char b[12];
    uint32_t      now = (uint32_t)time(NULL);

    /* Big-endian seconds first, so that hex order is time order. */
    b[0] = (unsigned char)(now >> 24);
    b[1] = (unsigned char)(now >> 16);
    b[2] = (unsigned char)(now >> 8);
    b[3] = (unsigned char)now;
    rnd_id_bytes(b + 4, 8);
    hex_encode(b, sizeof b, out);
}

bool
id_valid(struct str s)
{
    if (s.len != ID_LEN)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

static const char b64url_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
b64url_len(size_t n)
{
    static const size_t tail[3] = { 0, 2, 3 };

    return n / 3 * 4 + tail[n % 3];
}

static const char b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 in `alpha`, with '=' padding when `pad`. */
static void
b64_encode_with(const char *alpha, bool pad, const void *p, size_t n, char *out)
{
    const unsigned char *u = p;
    size_t               o = 0, i = 0;

    for (; n - i >= 3; i += 3) {
        uint32_t v = (uint32_t)u[i] << 16 | (uint32_t)u[i + 1] << 8 | u[i + 2];
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[v >> 12 & 63];
        out[o++] = alpha[v >> 6 & 63];
        out[o++] = alpha[v & 63];
    }
    if (n - i == 1) {
        out[o++] = alpha[u[i] >> 2];
        out[o++] = alpha[(u[i] & 3) << 4];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)u[i] << 8 | u[i + 1];
        out[o++] = alpha[v >> 10];
        out[o++] = alpha[v >> 4 & 63];
        out[o++] = alpha[(v & 15) << 2];
    }
    while (pad && o % 4 != 0)
        out[o++] = '=';
    out[o] = '\0';
}

void
b64url_encode(const void *p, size_t n, char *out)
{
    b64_encode_with(b64url_alpha, false, p, n, out);
}

size_t
b64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

void
b64_encode(const void *p, size_t n, char *out)
{
    b64_encode_with(b64_alpha, true, p, n, out);
}

int
b64_digit(char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

/* Strict: the unused low bits of the last character must be zero, so that every
 * byte string has exactly one accepted encoding (tokens compare by text). */
static long
b64_decode_with(bool url, const char *s, size_t len, unsigned char *out)
{
    size_t   o = 0, bits = 0;
    uint32_t acc = 0;

    if (len > (size_t)LONG_MAX)
        return -1;
    if (len % 4 == 0 && len > 0 && s[len - 1] == '=') {
        len -= len >= 2 && s[len - 2] == '=' ? 2 : 1;
        if (len % 4 < 2)
            return -1;
    }
    if (len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = b64_digit(s[i], url);
        if (v < 0)
            return -1;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (acc & ((1u << bits) - 1))
        return -1;
    return (long)o;
}

long
b64url_decode(const char *s, size_t len, unsigned char *out)
{
    return b64_decode_with(true, s, len, out);
}

long
b64_decode(const char *s, size_t len, unsigned char *out)
{
    return b64_decode_with(false, s, len, out);
}

int
hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
