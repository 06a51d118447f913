/* copies.c - a certificate's copies in other namespaces (inventory.h): the
 * same certificate (serial and fingerprint) imported or discovered by other
 * tenants reads REVOKED once a console CA revoked it, whichever came first. */
#include "../store/filter.h"
#include "inventory.h"

/* The other objects of certificate `cert` (its copies in other namespaces:
 * the same serial and fingerprint), up to `limit`, into *items. Found by the
 * global serialNumber index. */
static int
copies_of(struct tx *tx, struct arena *a, const struct val *cert, size_t limit,
          struct val *items)
{
    struct fnode *f = filter_bool(
        a, F_AND,
        filter_cmp(a, "serialNumber", F_EQ,
                   (struct fval){ .t = FV_STR, .s = val_get_str(cert, "serialNumber") }),
        filter_cmp(a, "fingerprint", F_EQ,
                   (struct fval){ .t = FV_STR, .s = val_get_str(cert, "fingerprint") }));
    struct listq q = { .scope = { STR("/"), true }, .filter = f, .limit = limit };

    *items = val_arr();
    return tx->ops->list(tx, &spec_certificate, &q, a, items);
}

/* The status follows as monitor.c's inv_evaluate has it: RETIRED first. */
static void
revocation_copy(struct arena *a, const struct val *from, struct val *to)
{
    val_set(a, to, "revocationTime", *val_get(from, "revocationTime"));
    val_set(a, to, "revocationReason", *val_get(from, "revocationReason"));
    if (!val_get_true(to, "retired"))
        val_set(a, to, "status", val_cstr("REVOKED"));
}

/* Serials a look-up for revoked copies asks at once (SQL parameters). */
#define REVOKED_ASKED_MAX 500

/* Imported or discovered into another namespace, whatever chain came with
 * them: one query on the global serialNumber index per REVOKED_ASKED_MAX of
 * them, so that a bulk import pays no round trip per certificate. */
int
inv_mark_revoked(struct tx *tx, struct arena *a, struct val *objs, size_t n)
{
    for (size_t at = 0; at < n; at += REVOKED_ASKED_MAX) {
        size_t       k = n - at < REVOKED_ASKED_MAX ? n - at : REVOKED_ASKED_MAX;
        struct fval *serials = arena_calloc(a, k, sizeof *serials);
        struct val   found = val_arr();
        for (size_t i = 0; i < k; i++)
            serials[i] =
                (struct fval){ .t = FV_STR, .s = val_get_str(&objs[at + i], "serialNumber") };
        struct fnode *f =
            filter_bool(a, F_AND,
                        filter_cmp(a, "serialNumber", F_IN,
                                   (struct fval){ .t = FV_LIST, .items = serials, .n = k }),
                        filter_cmp(a, "revocationTime", F_EXISTS, (struct fval){ 0 }));
        /* the issued objects alone: one row a certificate, however many copies
         * other tenants keep (a code review) */
        f = filter_bool(
            a, F_AND, f,
            filter_cmp(a, "source", F_EQ, (struct fval){ .t = FV_STR, .s = STR("ISSUED") }));
        struct listq q = { .scope = { STR("/"), true }, .filter = f, .limit = -1 };
        int          rc = tx->ops->list(tx, &spec_certificate, &q, a, &found);
        if (rc != E_OK)
            return rc;
        for (size_t j = 0; j < found.a.n; j++)
            for (size_t i = 0; i < k; i++)
                if (str_eq(val_get_str(&found.a.v[j], "fingerprint"),
                           val_get_str(&objs[at + i], "fingerprint")) &&
                    val_get_str(&objs[at + i], "revocationTime").len == 0)
                    revocation_copy(a, &found.a.v[j], &objs[at + i]);
    }
    return E_OK;
}

int
inv_revoke_copies(struct tx *tx, struct arena *a, const struct val *cert)
{
    struct val items;
    int        rc = copies_of(tx, a, cert, INV_COPIES_MAX, &items);

    for (size_t i = 0; rc == E_OK && i < items.a.n; i++) {
        struct val *c = &items.a.v[i];
        if (str_eq(val_get_str(c, "ID"), val_get_str(cert, "ID")) ||
            val_get_str(c, "revocationTime").len > 0)
            continue;
        revocation_copy(a, cert, c);
        rc = tx->ops->update(tx, &spec_certificate, c, NULL);
    }
    return rc;
}
