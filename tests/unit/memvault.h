/* memvault.h - an in-memory pki_vault for unit tests (the store's stands in
 * src/vault.c). Entries are copied; mv_free releases them. Counts the puts so
 * tests can tell a CA made from one reused. */
#ifndef KW_TEST_MEMVAULT_H
#define KW_TEST_MEMVAULT_H

#include <stdlib.h>
#include <string.h>

#include "pki/tlsboot.h"

#define MV_MAX 8

struct memvault {
    struct pki_vault v;
    unsigned char    master[SEAL_KEY_LEN];
    char            *name[MV_MAX], *cert[MV_MAX], *sealed[MV_MAX];
    int              puts;
};

static char *
mv_dup(struct str s)
{
    char *p = malloc(s.len + 1);

    memcpy(p, s.p, s.len);
    p[s.len] = '\0';
    return p;
}

static int
mv_get(void *ctx, const char *name, struct arena *a, struct str *cert, struct str *sealed)
{
    struct memvault *m = ctx;

    for (int i = 0; i < MV_MAX; i++)
        if (m->name[i] != NULL && strcmp(m->name[i], name) == 0) {
            *cert = str_c(arena_strndup(a, m->cert[i], strlen(m->cert[i])));
            *sealed = str_c(arena_strndup(a, m->sealed[i], strlen(m->sealed[i])));
            return E_OK;
        }
    return E_NOTFOUND;
}

static int
mv_put_new(void *ctx, const char *name, struct str cert, struct str sealed)
{
    struct memvault *m = ctx;

    for (int i = 0; i < MV_MAX; i++)
        if (m->name[i] != NULL && strcmp(m->name[i], name) == 0)
            return E_DUPLICATE;
    for (int i = 0; i < MV_MAX; i++)
        if (m->name[i] == NULL) {
            m->name[i] = mv_dup(str_c(name));
            m->cert[i] = mv_dup(cert);
            m->sealed[i] = mv_dup(sealed);
            m->puts++;
            return E_OK;
        }
    return E_INTERNAL;
}

static void
mv_init(struct memvault *m)
{
    memset(m, 0, sizeof(*m));
    for (int i = 0; i < SEAL_KEY_LEN; i++)
        m->master[i] = (unsigned char)(i * 7 + 1);
    m->v.get = mv_get;
    m->v.put_new = mv_put_new;
    m->v.ctx = m;
    m->v.master = m->master;
}

static void
mv_free(struct memvault *m)
{
    for (int i = 0; i < MV_MAX; i++) {
        free(m->name[i]);
        free(m->cert[i]);
        free(m->sealed[i]);
        m->name[i] = m->cert[i] = m->sealed[i] = NULL;
    }
}

#endif
