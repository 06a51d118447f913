/* vault.c - see vault.h.
 *
 * Two servers starting at once on one store must end up with one CA each
 * name, never with a CA that one of them signed with and the other then
 * replaced. put_new therefore checks again inside its write transaction that
 * no CA of that name exists. With SQLite the writer's transaction begins with
 * BEGIN IMMEDIATE, so it holds the database's write lock from its first
 * statement: the check (a read of committed state on this thread's reader
 * connection) cannot miss a commit by another process that would land before
 * ours. A PostgreSQL driver will need the same guarantee from an
 * insert-if-absent meta write (INSERT ... ON CONFLICT DO NOTHING).
 */
#include "vault.h"

#include <stdio.h>

#define META_KEY_MAX (PKI_CA_NAME_MAX + 16)

static int
meta_name(char out[META_KEY_MAX], const char *name, const char *part)
{
    int n = snprintf(out, META_KEY_MAX, "ca.%s.%s", name, part);

    return n > 0 && n < META_KEY_MAX ? E_OK : E_INTERNAL;
}

static int
get(void *ctx, const char *name, struct arena *a, struct str *cert, struct str *sealed)
{
    struct store *st = ctx;
    char          kcrt[META_KEY_MAX], kkey[META_KEY_MAX];
    int           rc;

    if (meta_name(kcrt, name, "crt") != E_OK || meta_name(kkey, name, "key") != E_OK)
        return E_INTERNAL;
    rc = st->ops->meta_get(st, kkey, a, sealed);
    if (rc == E_OK)
        rc = st->ops->meta_get(st, kcrt, a, cert);
    return rc;
}

struct put {
    struct store *st;
    char          kcrt[META_KEY_MAX], kkey[META_KEY_MAX];
    struct str    cert, sealed;
};

static int
put_run(struct tx *tx, void *arg)
{
    struct put   *p = arg;
    struct arena *a = arena_new(1024);
    struct str    v;
    int           rc;

    rc = p->st->ops->meta_get(p->st, p->kkey, a, &v); /* see the top of the file */
    arena_free(a);
    if (rc == E_OK)
        return E_DUPLICATE;
    if (rc != E_NOTFOUND)
        return rc;
    if ((rc = tx->ops->meta_put(tx, p->kcrt, p->cert)) != E_OK)
        return rc;
    return tx->ops->meta_put(tx, p->kkey, p->sealed);
}

static int
put_new(void *ctx, const char *name, struct str cert, struct str sealed)
{
    struct put p = { .st = ctx, .cert = cert, .sealed = sealed };

    if (meta_name(p.kcrt, name, "crt") != E_OK || meta_name(p.kkey, name, "key") != E_OK)
        return E_INTERNAL;
    return store_run(p.st, put_run, &p);
}

void
vault_init(struct pki_vault *v, struct store *st, const unsigned char *master)
{
    v->get = get;
    v->put_new = put_new;
    v->ctx = st;
    v->master = master;
}
