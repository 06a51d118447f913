/* certparse.h - the one place where X.509 certificates are read for the inventory.
 *
 * inv_split() turns what a user pastes or uploads (PEM, base64 of DER or of a
 * PKCS#7 bundle, raw DER) into a list of DER certificates; inv_parse() turns one
 * DER certificate into the parsed fields of API.md section 7.1. The import of
 * `certificates` and `certificateimports` calls both. docs/inventory.md lists
 * every accepted form, every refusal and every field.
 *
 * Private keys: a PEM private key block anywhere in the input refuses the whole
 * input (INV_R_PRIVATE_KEY); the block's base64 is never decoded, copied or
 * logged, and the error text does not quote it.
 *
 * Memory: everything produced lives in the caller's arena. Thread-safe (the
 * only global state is inv_parse's table of EC groups and reference key sizes,
 * made once under pthread_once and read-only after; OpenSSL's error queue is
 * cleared before returning).
 */
#ifndef KW_INVENTORY_PARSE_H
#define KW_INVENTORY_PARSE_H

#include "../core/arena.h"
#include "../core/base.h"
#include "../core/val.h"

/* Caps, each tested at its limit and one past it. */
#define INV_INPUT_MAX (32u << 20) /* bytes of input to inv_split */
#define INV_DER_MAX   (4u << 20)  /* bytes of one DER certificate */
#define INV_CERTS_MAX                                                                          \
    100000 /* entries (certificates and failed blocks): past the bytes of max_import_size */
#define INV_LIST_MAX 10000 /* SAN entries (all four lists together), EKUs */

/* Why an input or one of its blocks was refused. */
enum inv_reason {
    INV_R_OK = 0,
    INV_R_EMPTY,       /* nothing but whitespace */
    INV_R_TOO_BIG,     /* input over INV_INPUT_MAX, or a DER over INV_DER_MAX */
    INV_R_TOO_MANY,    /* more than INV_CERTS_MAX entries */
    INV_R_PRIVATE_KEY, /* a PEM private key block: the whole input is refused */
    INV_R_GARBAGE,     /* text outside PEM blocks; neither PEM, base64 nor DER */
    INV_R_TRUNCATED,   /* a BEGIN line without its END line */
    INV_R_BAD_BASE64,  /* a PEM block's body is not base64 */
    INV_R_UNSUPPORTED, /* a PEM block other than CERTIFICATE or PKCS7 */
    INV_R_NOT_CERT,    /* the DER is not one X.509 certificate (or trails bytes) */
    INV_R_BAD_PKCS7,   /* a PKCS#7 that does not parse or is not SignedData */
    INV_R_EMPTY_PKCS7, /* a PKCS#7 SignedData holding no certificate */
};

/* One entry of the split: a certificate, or a block that failed alone. */
struct inv_block {
    size_t               index;  /* 0-based position in inv_blocks.v */
    size_t               source; /* 0-based PEM block it came from (0 otherwise) */
    enum inv_reason      reason; /* INV_R_OK: der/len hold a certificate */
    const unsigned char *der;    /* in the arena; NULL when reason != INV_R_OK */
    size_t               len;
};

struct inv_blocks {
    struct inv_block *v; /* in the arena */
    size_t            n;
    size_t            ok;     /* entries with reason INV_R_OK */
    enum inv_reason   reason; /* whole-input refusal, INV_R_OK otherwise */
};

/* A stable English phrase for `r` ("a private key is not accepted", ...). */
const char *inv_reason_str(enum inv_reason r);

/* Split `input` into DER certificates (see docs/inventory.md for the forms).
 * A private key refuses the whole input, but in a `bulk` import (a bundle) a
 * PEM private key block is an entry of its own that failed
 * (INV_R_PRIVATE_KEY), never decoded; a bundle's text outside its PEM
 * blocks is skipped (elsewhere it refuses the whole input).
 * E_OK when at least one certificate came out: out->v then lists every entry in
 * input order, certificates and failed blocks alike (a bad PEM block, or a PKCS#7
 * block without certificates, fails alone, by index). E_VALIDATION otherwise,
 * with out->reason set for a whole-input refusal (empty, private key, text
 * outside the blocks, truncated PEM, too big) or out->v listing the blocks that
 * all failed; eb says why, never quoting the input. The DER of each certificate
 * is only known to be a SEQUENCE starting with a SEQUENCE, of the right length
 * (decoding is OpenSSL 3's costly step, done once, by inv_parse()). */
int inv_split(struct arena *a, struct str input, bool bulk, struct inv_blocks *out,
              struct errbuf *eb);

/* Fill `out` (a map, created here) with the parsed fields of the DER certificate
 * (API.md section 7.1: fingerprint, fingerprintSHA1, serialNumber, subject,
 * issuer, subjectCN ... validityEnd; plus `truncated` when a list was cut at
 * INV_LIST_MAX). Fields that a certificate does not have are absent. Strings are
 * valid UTF-8. E_VALIDATION (INV_R_NOT_CERT, INV_R_TOO_BIG) when the bytes are
 * not exactly one certificate OpenSSL parses; anything OpenSSL parses succeeds,
 * however odd. */
int inv_parse(struct arena *a, const unsigned char *der, size_t len, struct val *out,
              struct errbuf *eb);

/* Whether the signature on certificate `cert` verifies under the public key
 * of certificate `issuer` (OpenSSL's X509_verify); both as the inventory
 * keeps them, base64 of the DER. False for anything that does not parse. */
bool inv_signed_by(struct str cert, struct str issuer);

#endif
