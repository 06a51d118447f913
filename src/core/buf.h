/* buf.h - growable byte buffer with a declared maximum (as curl's dynbuf).
 *
 * Appends fail with E_TOOBIG instead of growing past `max`; the content stays
 * NUL-terminated so it can be handed to C APIs. buf_free() wipes nothing: use
 * buf_wipe() for secrets.
 */
#ifndef KW_BUF_H
#define KW_BUF_H

#include "base.h"

struct buf {
    char  *p;
    size_t len;
    size_t cap;
    size_t max;
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* Zero the bytes (OPENSSL_cleanse) and free. */
void buf_wipe(struct buf *b);
void buf_reset(struct buf *b);
int  buf_append(struct buf *b, const void *p, size_t n);
int  buf_putc(struct buf *b, char c);
int  buf_puts(struct buf *b, const char *s);
int  buf_printf(struct buf *b, const char *fmt, ...) KW_PRINTF(2, 3);
static inline struct str
buf_str(const struct buf *b)
{
    return (struct str){ b->p ? b->p : "", b->len };
}
static inline const char *
buf_cstr(const struct buf *b)
{
    return b->p ? b->p : "";
}

#endif
