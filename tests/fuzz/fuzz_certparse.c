/* fuzz_certparse.c - libFuzzer target: the inventory's certificate reader
 * (inventory/certparse.c). Every input goes through inv_split; every certificate it
 * yields through inv_parse, and the raw input through inv_parse as well (a DER
 * that d2i_X509 half-accepts). Checks: no crash or leak, the results agree
 * with the return codes, every string produced is valid UTF-8, and inv_parse
 * gives what the d2i_X509 implementation it replaced gives (certparse_d2i.h):
 * the same return code and the same map, field for field, in the same order.
 * inv_split only looks at a certificate's first two headers, so what it hands
 * out need not parse.
 *
 * make fuzz        (builds build/fuzz/fuzz_certparse, and every other target)
 *
 * Seeds: a few PEM, DER and PKCS#7 files, e.g. split from
 * /etc/ssl/certs/ca-certificates.crt (see docs/inventory.md).
 */
#include <stdlib.h>

#include "../unit/certparse_d2i.h"
#include "inventory/certparse.h"

static void
check(const struct val *v)
{
    switch (v->t) {
    case V_STR:
        if (!utf8_valid(v->s.p, v->s.len))
            abort();
        break;
    case V_ARR:
        for (size_t i = 0; i < v->a.n; i++)
            check(&v->a.v[i]);
        break;
    case V_MAP:
        for (size_t i = 0; i < v->m.n; i++)
            check(&v->m.kv[i].v);
        break;
    default:
        break;
    }
}

static bool
same_map(const struct val *x, const struct val *y)
{
    if (x->m.n != y->m.n)
        return false;
    for (size_t i = 0; i < x->m.n; i++)
        if (!str_eq(x->m.kv[i].k, y->m.kv[i].k) || !val_equal(&x->m.kv[i].v, &y->m.kv[i].v))
            return false;
    return true;
}

/* inv_parse, checked, and against the reference. */
static void
parse(struct arena *a, const unsigned char *der, size_t len)
{
    struct errbuf eb = { 0 }, rb = { 0 };
    struct val    m, r;
    int           rc = inv_parse(a, der, len, &m, &eb);

    if (rc != ref_inv_parse(a, der, len, &r, &rb))
        abort();
    if (rc != E_OK)
        return;
    check(&m);
    if (!same_map(&m, &r))
        abort();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct arena     *a = arena_new(1 << 14);
    struct inv_blocks b;
    struct errbuf     eb = { 0 };
    int               rc;

    rc = inv_split(a, (struct str){ (const char *)data, size }, false, &b, &eb);
    if ((rc == E_OK) != (b.ok > 0) || (b.reason != INV_R_OK && (rc == E_OK || b.n != 0)))
        abort();
    for (size_t i = 0; i < b.n; i++) {
        if (b.v[i].index != i || (b.v[i].reason == INV_R_OK) != (b.v[i].der != NULL))
            abort();
        if (b.v[i].der != NULL)
            parse(a, b.v[i].der, b.v[i].len);
    }
    parse(a, data, size);
    arena_free(a);
    return 0;
}
