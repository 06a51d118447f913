/* buf.c - growable byte buffer with a declared maximum.
 *
 * `len` never exceeds `max` (content bytes, the NUL not counted); `cap` counts the
 * allocation including the NUL. A `max` of 0 means "no limit but address space".
 * A failed append leaves the buffer as it was.
 */
#include "buf.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define BUF_FIRST 64u

void
buf_init(struct buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : SIZE_MAX - 1;
}

void
buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void
buf_wipe(struct buf *b)
{
    if (b->p != NULL)
        OPENSSL_cleanse(b->p, b->cap);
    buf_free(b);
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->p != NULL)
        b->p[0] = '\0';
}

/* Make room for n more bytes plus the NUL, doubling, never past max + 1. */
static int
buf_reserve(struct buf *b, size_t n)
{
    if (n > b->max - b->len)
        return E_TOOBIG;
    size_t need = b->len + n + 1; /* cannot overflow: len + n <= max < SIZE_MAX */
    if (need <= b->cap)
        return E_OK;
    size_t cap = b->cap ? b->cap : BUF_FIRST;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return E_INTERNAL;
    b->p = p;
    b->cap = cap;
    return E_OK;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);

    if (rc != E_OK)
        return rc;
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return E_OK;
}

int
buf_putc(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}

int
buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int     n;
    int     rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return E_INTERNAL;
    rc = buf_reserve(b, (size_t)n);
    if (rc != E_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return E_OK;
}
