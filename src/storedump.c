/* storedump.c - `keyward store-dump`: every stored row as one JSON line
 *
 *   {"table": "ldapproviders", "row": {"ID": "...", ..., "doc": {...}}}
 *
 * through store_dump (store.h), read-only. Values are shown as stored:
 * integers and floats as numbers, text as strings, an object's document
 * (MessagePack) as the JSON of the same map, any other bytes (and text that is
 * not UTF-8, and a document that does not decode: a warning on stderr) as
 * {"base64": "..."}.
 * Nothing is decrypted: a sealed value appears as its "kw1:..." text, which is
 * the point (showing what is at rest). */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/codec.h"
#include "store/store.h"
#include "storedump.h"

#define LINE_MAX_BYTES (512u << 20)

struct dump_out {
    struct arena *a;
    struct buf    line;
    size_t        bad_docs;
};

/* {"base64": standard base64 (RFC 4648, padded)} */
static struct val
blob_val(struct arena *a, struct str bytes)
{
    struct val m = val_map();
    char      *b64 = arena_alloc(a, 4 * ((bytes.len + 2) / 3) + 1);

    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)bytes.p, (int)bytes.len);
    val_set(a, &m, "base64", val_cstr(b64));
    return m;
}

static int
print_row(void *arg, const char *table, const struct dump_cell *cells, size_t n)
{
    struct dump_out *o = arg;
    struct val       line = val_map(), row = val_map();
    struct errbuf    eb;

    arena_reset(o->a);
    buf_reset(&o->line);
    for (size_t i = 0; i < n; i++) {
        const struct dump_cell *c = &cells[i];
        struct val              v = val_null();
        switch (c->t) {
        case DUMP_INT:
            v = val_int(c->i);
            break;
        case DUMP_FLOAT:
            v = val_float(c->f);
            break;
        case DUMP_TEXT:
            v = utf8_valid(c->bytes.p, c->bytes.len) ? val_str(c->bytes)
                                                     : blob_val(o->a, c->bytes);
            break;
        case DUMP_BLOB:
            if (c->doc && msgpack_decode(o->a, c->bytes.p, c->bytes.len, 64, &v, &eb) == E_OK)
                break;
            if (c->doc) {
                fprintf(stderr,
                        "keyward: %s: a document does not decode (%s): "
                        "shown as base64\n",
                        table, eb.msg);
                o->bad_docs++;
            }
            v = blob_val(o->a, c->bytes);
            break;
        case DUMP_NULL:
            break;
        }
        val_set(o->a, &row, c->name, v);
    }
    val_set(o->a, &line, "table", val_cstr(table));
    val_set(o->a, &line, "row", row);
    if (json_encode(&line, &o->line) != E_OK || buf_putc(&o->line, '\n') != E_OK) {
        fprintf(stderr, "keyward: %s: a row is too large to print\n", table);
        return E_TOOBIG;
    }
    if (fwrite(o->line.p, 1, o->line.len, stdout) != o->line.len)
        return E_UNAVAILABLE;
    return 0;
}

int
storedump_run(const char *uri, const char *const *tables, size_t n)
{
    struct dump_out o = { .a = arena_new(64 * 1024) };
    struct errbuf   eb = { 0 };
    int             rc;

    if (o.a == NULL) {
        fputs("keyward: out of memory\n", stderr);
        return 1;
    }
    buf_init(&o.line, LINE_MAX_BYTES);
    rc = store_dump(uri, tables, n, print_row, &o, &eb);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (rc == E_OK || eb.msg[0] == '\0')
            errbuf_set(&eb, E_UNAVAILABLE, "cannot write the dump to standard output");
        rc = E_UNAVAILABLE;
    }
    buf_free(&o.line);
    arena_free(o.a);
    if (rc != E_OK) {
        if (eb.msg[0] != '\0')
            fprintf(stderr, "keyward: %s\n", eb.msg);
        return 1;
    }
    /* Shown whole (as base64) and warned about above: the dump did its job. */
    if (o.bad_docs > 0)
        fprintf(stderr, "keyward: %zu documents do not decode (shown as base64)\n", o.bad_docs);
    return 0;
}
