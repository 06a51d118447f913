/* der.h - a DER writer for what pki/ encodes itself (leaf certificates and
 * the extensions of every certificate it makes): definite lengths, one-byte
 * tags, the few universal types X.509 needs. Internal to pki/.
 *
 * Writes append to a struct buf (whose maximum holds). A constructed value
 * is opened with der_open, which leaves room for a length of up to 16 MiB,
 * and closed with der_close, which writes the length and moves the contents
 * down over the room it did not need. Errors are sticky: a writer that
 * failed (buffer full, value too long, bad argument) ignores what follows;
 * check d->err once at the end. Not thread-safe (one writer, one thread).
 */
#ifndef KW_DER_H
#define KW_DER_H

#include "../core/buf.h"

/* Universal tags, and the bits of context-specific ones. */
#define DER_BOOLEAN      0x01
#define DER_INTEGER      0x02
#define DER_BIT_STRING   0x03
#define DER_OCTET_STRING 0x04
#define DER_NULL         0x05
#define DER_OID          0x06
#define DER_UTF8STRING   0x0c
#define DER_PRINTABLE    0x13
#define DER_IA5STRING    0x16
#define DER_UTCTIME      0x17
#define DER_GENTIME      0x18
#define DER_SEQUENCE     0x30
#define DER_SET          0x31
#define DER_CONTEXT      0x80 /* [n] primitive: DER_CONTEXT | n */
#define DER_CONTEXT_CONS 0xa0 /* [n] constructed: DER_CONTEXT_CONS | n */

struct der {
    struct buf *b;
    int         err; /* E_OK, or the first failure */
};

void der_init(struct der *d, struct buf *b);
/* Open a constructed value of `tag`; the returned position goes to der_close. */
size_t der_open(struct der *d, unsigned char tag);
void   der_close(struct der *d, size_t at);
/* A primitive value of `tag` with contents p[0..n). */
void der_tlv(struct der *d, unsigned char tag, const void *p, size_t n);
/* Bytes that are DER already. */
void der_raw(struct der *d, const void *p, size_t n);
/* An OBJECT IDENTIFIER known to OpenSSL by NID. */
void der_oid_nid(struct der *d, int nid);
/* A non-negative INTEGER from its big-endian magnitude (leading zeros are
 * dropped, a zero is prepended when the top bit is set). */
void der_uint(struct der *d, const unsigned char *p, size_t n);
/* A BOOLEAN TRUE (DER leaves FALSE out as the default). */
void der_true(struct der *d);
/* A Time of RFC 5280 4.1.2.5 from Unix milliseconds (rounded down to the
 * second): UTCTime from 1950 to 2049, GeneralizedTime otherwise; years 0 to
 * 9999 only, DER_TIME_MIN_MS to DER_TIME_MAX_MS (else d->err is
 * E_VALIDATION). */
#define DER_TIME_MIN_MS (-62167219200000LL) /* 0000-01-01T00:00:00Z */
#define DER_TIME_MAX_MS 253402300799999LL   /* 9999-12-31T23:59:59.999Z */
void der_time(struct der *d, int64_t ms);

#endif
