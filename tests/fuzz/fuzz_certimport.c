/* fuzz_certimport.c - libFuzzer target: the bulk import's path as far as it
 * is the parser's (POST /certificateimports, API.md 7.1), without the store.
 *
 * The input is the `contents` a client sends. When it is UTF-8 it travels as the
 * JSON body {"contents": ...} does: encoded, decoded, read back (it must come
 * back unchanged); otherwise it goes in raw, as a raw body to POST /certificates
 * does. Then inv_split, and inv_parse on every certificate that came out, and the
 * import's bookkeeping: entries deduplicated by fingerprint, the answer
 * {"object":"certificateimport", total, imported, duplicates, failed, errors,
 * certificateIDs} built, and the answer and every parsed certificate encoded
 * to JSON and MessagePack and decoded again. Checks, beyond "no crash, leak or
 * sanitizer report": what inv_split hands out either parses or is refused
 * with a reason (inv_split only frames the DER; the import then counts the
 * block as failed, as src/inventory/certificate.c does); the caps hold (entries,
 * DER size); every parsed certificate has its fingerprint (the SHA-256 of its
 * DER, 64 lowercase hex digits), serialNumber, subject and issuer; every
 * string is UTF-8; imported + duplicates + failed = total; every failed entry
 * has a reason phrase; the codecs give back what they were given.
 *
 *   make fuzz        (builds build/fuzz/fuzz_certimport, and every other target)
 *   build/fuzz/fuzz_certimport -max_len=65536 -timeout=10 corpus/
 *
 * Seeds: PEM files (one or several blocks) of /etc/ssl/certs, some of
 * bench/certgen's output, and a DER and a PKCS#7 of each kind (docs/inventory.md).
 */
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/digest.h"
#include "inventory/certparse.h"

#define FUZZ_DEPTH 32

/* Encode v with codec c, decode the result, require equality. */
static void
again(struct arena *a, const struct val *v, enum codec c)
{
    struct buf    b;
    struct errbuf eb = { 0 };
    struct val    w;

    buf_init(&b, 0);
    if (codec_encode(c, v, &b) != E_OK ||
        codec_decode(c, a, b.p, b.len, FUZZ_DEPTH, &w, &eb) != E_OK || !val_equal(v, &w))
        abort();
    buf_free(&b);
}

static void
roundtrip(struct arena *a, const struct val *v)
{
    again(a, v, CODEC_JSON);
    again(a, v, CODEC_MSGPACK);
}

static void
check_utf8(const struct val *v)
{
    switch (v->t) {
    case V_STR:
        if (!utf8_valid(v->s.p, v->s.len))
            abort();
        break;
    case V_ARR:
        for (size_t i = 0; i < v->a.n; i++)
            check_utf8(&v->a.v[i]);
        break;
    case V_MAP:
        for (size_t i = 0; i < v->m.n; i++)
            check_utf8(&v->m.kv[i].v);
        break;
    default:
        break;
    }
}

/* The contents as the handler gets them: through a JSON body when they can be. */
static struct str
contents(struct arena *a, const unsigned char *data, size_t size)
{
    struct str    in = { (const char *)data, size };
    struct val    body = val_map(), got;
    struct buf    b;
    struct errbuf eb = { 0 };
    struct str    out;

    if (!utf8_valid(in.p, in.len))
        return in;
    val_set(a, &body, "contents", val_str(in));
    buf_init(&b, 0);
    if (json_encode(&body, &b) != E_OK ||
        json_decode(a, b.p, b.len, FUZZ_DEPTH, &got, &eb) != E_OK)
        abort();
    out = arena_str(a, val_get_str(&got, "contents"));
    buf_free(&b);
    if (out.len != in.len || memcmp(out.p, in.p, in.len) != 0)
        abort();
    return out;
}

/* The fields every parsed certificate has, and the fingerprint its DER has. */
static void
check_cert(const struct val *m, const unsigned char *der, size_t len)
{
    static const char *const always[] = { "fingerprint", "serialNumber", "subject", "issuer" };
    char                     fp[2 * SHA256_LEN + 1];
    struct str               got = val_get_str(m, "fingerprint");

    for (size_t k = 0; k < ARRAY_LEN(always); k++) {
        const struct val *v = val_get(m, always[k]);
        if (v == NULL || v->t != V_STR)
            abort();
    }
    digest_sha256_hex(der, len, fp);
    if (got.len != 2 * SHA256_LEN || memcmp(got.p, fp, got.len) != 0)
        abort();
    check_utf8(m);
}

struct tally {
    struct val answer, errors, ids;
    int64_t    imported, duplicates, failed;
};

/* Is this fingerprint among those of the entries before it? */
static bool
seen(const struct val *ids, struct str fp)
{
    for (size_t i = 0; i < ids->a.n; i++)
        if (ids->a.v[i].s.len == fp.len && memcmp(ids->a.v[i].s.p, fp.p, fp.len) == 0)
            return true;
    return false;
}

static void
failed_entry(struct arena *a, struct tally *t, size_t index, enum inv_reason r)
{
    struct val  e = val_map();
    const char *why = inv_reason_str(r);

    if (why == NULL || why[0] == '\0' || r == INV_R_OK)
        abort();
    val_set(a, &e, "index", val_int((int64_t)index));
    val_set(a, &e, "reason", val_cstr(why));
    val_push(a, &t->errors, e);
    t->failed++;
}

static void
cert_entry(struct arena *a, struct tally *t, const struct inv_block *bl)
{
    struct errbuf eb = { 0 };
    struct val    m;
    struct str    fp;

    if (bl->len == 0 || bl->len > INV_DER_MAX)
        abort();
    /* inv_split only framed it (a SEQUENCE of a SEQUENCE): the import counts a
     * block OpenSSL then refuses as failed, "not a certificate" */
    if (inv_parse(a, bl->der, bl->len, &m, &eb) != E_OK) {
        if (eb.code != E_VALIDATION || eb.msg[0] == '\0')
            abort();
        failed_entry(a, t, bl->index, INV_R_NOT_CERT);
        return;
    }
    check_cert(&m, bl->der, bl->len);
    roundtrip(a, &m);
    fp = val_get_str(&m, "fingerprint");
    if (seen(&t->ids, fp)) {
        t->duplicates++;
        return;
    }
    val_push(a, &t->ids, val_str(fp));
    t->imported++;
}

static void
tally_blocks(struct arena *a, const struct inv_blocks *b, struct tally *t)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct inv_block *bl = &b->v[i];
        if (bl->index != i || bl->source > i || (bl->reason == INV_R_OK) != (bl->der != NULL))
            abort();
        if (bl->der == NULL)
            failed_entry(a, t, i, bl->reason);
        else
            cert_entry(a, t, bl);
    }
}

static void
answer(struct arena *a, struct tally *t, size_t total)
{
    if (t->imported + t->duplicates + t->failed != (int64_t)total)
        abort();
    t->answer = val_map();
    val_set(a, &t->answer, "object", val_cstr("certificateimport"));
    val_set(a, &t->answer, "total", val_int((int64_t)total));
    val_set(a, &t->answer, "imported", val_int(t->imported));
    val_set(a, &t->answer, "duplicates", val_int(t->duplicates));
    val_set(a, &t->answer, "failed", val_int(t->failed));
    val_set(a, &t->answer, "errors", t->errors);
    val_set(a, &t->answer, "certificateIDs", t->ids);
    roundtrip(a, &t->answer);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct arena     *a = arena_new(1 << 14);
    struct inv_blocks b;
    struct errbuf     eb = { 0 };
    struct tally      t = { .errors = val_arr(), .ids = val_arr() };
    int               rc;

    rc = inv_split(a, contents(a, data, size), true, &b, &eb);
    if ((rc == E_OK) != (b.ok > 0) || b.n > INV_CERTS_MAX ||
        (b.reason != INV_R_OK && (rc == E_OK || b.n != 0)) || (rc != E_OK && eb.msg[0] == '\0'))
        abort();
    tally_blocks(a, &b, &t);
    if (rc == E_OK)
        answer(a, &t, b.n);
    arena_free(a);
    return 0;
}
