/* der.c - see der.h. */
#include "der.h"

#include <time.h>

#include <openssl/objects.h>

#define LEN_ROOM 4 /* 0x83 and three length bytes */

void
der_init(struct der *d, struct buf *b)
{
    d->b = b;
    d->err = E_OK;
}

static void
fail(struct der *d, int err)
{
    if (d->err == E_OK)
        d->err = err;
}

void
der_raw(struct der *d, const void *p, size_t n)
{
    int rc;

    if (d->err == E_OK && (rc = buf_append(d->b, p, n)) != E_OK)
        fail(d, rc);
}

/* The definite length n as DER writes it; 0 bytes when it will not fit. */
static size_t
len_encode(size_t n, unsigned char out[LEN_ROOM])
{
    if (n < 0x80) {
        out[0] = (unsigned char)n;
        return 1;
    }
    if (n >= 1u << 24)
        return 0;
    size_t k = n < 0x100 ? 1 : n < 0x10000 ? 2 : 3;
    out[0] = (unsigned char)(0x80 | k);
    for (size_t i = 0; i < k; i++)
        out[k - i] = (unsigned char)(n >> (8 * i));
    return k + 1;
}

void
der_tlv(struct der *d, unsigned char tag, const void *p, size_t n)
{
    unsigned char len[LEN_ROOM];
    size_t        k = len_encode(n, len);

    if (k == 0)
        fail(d, E_TOOBIG);
    der_raw(d, &tag, 1);
    der_raw(d, len, k);
    if (n > 0)
        der_raw(d, p, n);
}

size_t
der_open(struct der *d, unsigned char tag)
{
    unsigned char head[1 + LEN_ROOM] = { tag };
    size_t        at = d->b->len;

    der_raw(d, head, sizeof(head));
    return at;
}

void
der_close(struct der *d, size_t at)
{
    size_t        body = at + 1 + LEN_ROOM, n, k;
    unsigned char len[LEN_ROOM];

    if (d->err != E_OK)
        return;
    n = d->b->len - body;
    if ((k = len_encode(n, len)) == 0) {
        fail(d, E_TOOBIG);
        return;
    }
    memcpy(d->b->p + at + 1, len, k);
    memmove(d->b->p + at + 1 + k, d->b->p + body, n);
    d->b->len -= LEN_ROOM - k;
    d->b->p[d->b->len] = '\0'; /* a buf stays NUL-terminated */
}

void
der_oid_nid(struct der *d, int nid)
{
    const ASN1_OBJECT *o = OBJ_nid2obj(nid);
    int                n = o != NULL ? OBJ_length(o) : 0;

    if (n <= 0) {
        fail(d, E_INTERNAL);
        return;
    }
    der_tlv(d, DER_OID, OBJ_get0_data(o), (size_t)n);
}

void
der_uint(struct der *d, const unsigned char *p, size_t n)
{
    size_t at;

    while (n > 1 && p[0] == 0) {
        p++;
        n--;
    }
    at = der_open(d, DER_INTEGER);
    if (n == 0 || p[0] & 0x80)
        der_raw(d, "", 1);
    der_raw(d, p, n);
    der_close(d, at);
}

void
der_true(struct der *d)
{
    der_tlv(d, DER_BOOLEAN, "\xff", 1);
}

void
der_time(struct der *d, int64_t ms)
{
    time_t    s = (time_t)(ms / 1000 - (ms % 1000 < 0));
    struct tm tm;
    char      text[32];
    int       year, n;

    if (ms < DER_TIME_MIN_MS || ms > DER_TIME_MAX_MS || gmtime_r(&s, &tm) == NULL ||
        (year = tm.tm_year + 1900) < 0 || year > 9999) {
        fail(d, E_VALIDATION);
        return;
    }
    if (year >= 1950 && year < 2050)
        n = snprintf(text, sizeof(text), "%02d%02d%02d%02d%02d%02dZ", year % 100, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    else
        n = snprintf(text, sizeof(text), "%04d%02d%02d%02d%02d%02dZ", year, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    der_tlv(d, year >= 1950 && year < 2050 ? DER_UTCTIME : DER_GENTIME, text, (size_t)n);
}
