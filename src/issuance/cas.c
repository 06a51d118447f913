/* cas.c - the process's open CA handles (local.h: cas_get). A small table
 * under one lock: a CA is opened the first time it signs, and stays open
 * while it is in the store. */
#include <pthread.h>
#include <stdlib.h>

#include "../core/log.h"
#include "../core/rnd.h"
#include "../core/seal.h"
#include "local.h"

#define OPEN_MAX 1024 /* CAs open at once; the least recently used unused one goes */

struct slot {
    char       id[ID_LEN + 1];
    struct ca *ca;
    size_t     refs;
    bool       forgotten; /* freed when refs reach 0 */
    uint64_t   used;
};

static struct slot     slots[OPEN_MAX];
static uint64_t        clock_tick;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void
slot_drop(struct slot *s)
{
    pki_ca_free(s->ca);
    *s = (struct slot){ 0 };
}

/* An open slot for `id`, or NULL. */
static struct slot *
slot_of(struct str id)
{
    for (size_t i = 0; i < OPEN_MAX; i++)
        if (slots[i].ca != NULL && !slots[i].forgotten && str_eq_c(id, slots[i].id))
            return &slots[i];
    return NULL;
}

/* A free slot, making room by closing the least recently used idle CA. */
static struct slot *
slot_free(void)
{
    struct slot *lru = NULL;

    for (size_t i = 0; i < OPEN_MAX; i++) {
        if (slots[i].ca == NULL)
            return &slots[i];
        if (slots[i].refs == 0 && (lru == NULL || slots[i].used < lru->used))
            lru = &slots[i];
    }
    if (lru != NULL)
        slot_drop(lru);
    return lru;
}

static int
ca_open(const struct val *obj, struct ca **out, struct errbuf *eb)
{
    struct str    id = val_get_str(obj, "ID"), pem = val_get_str(obj, "certificate");
    struct str    b64 = val_get_str(obj, "sealedKey");
    struct arena *a = arena_new(4096);
    char          name[ID_LEN + 1];
    long          n;
    int           rc = E_INTERNAL;

    unsigned char *sealed = arena_alloc(a, b64.len / 4 * 3 + 4);
    if (id.len != ID_LEN || (n = b64_decode(b64.p, b64.len, sealed)) < 0)
        errbuf_set(eb, E_INTERNAL, "certificate authority %.*s: unreadable key", STR_FMT(id));
    else {
        memcpy(name, id.p, ID_LEN);
        name[ID_LEN] = '\0';
        rc = pki_ca_open(name, pem, (struct str){ (const char *)sealed, (size_t)n },
                         seal_master(), out, eb);
    }
    arena_free(a);
    return rc;
}

int
cas_get(const struct val *obj, const struct ca **out, struct errbuf *eb)
{
    struct str   id = val_get_str(obj, "ID");
    struct ca   *opened = NULL;
    struct slot *s;
    int          rc = E_OK;

    pthread_mutex_lock(&mu);
    if ((s = slot_of(id)) == NULL) {
        pthread_mutex_unlock(&mu); /* unsealing is slow: not under the lock */
        if ((rc = ca_open(obj, &opened, eb)) != E_OK) {
            log_error("%s", eb->msg);
            return rc;
        }
        pthread_mutex_lock(&mu);
        if ((s = slot_of(id)) == NULL && (s = slot_free()) != NULL) {
            memcpy(s->id, id.p, ID_LEN);
            s->ca = opened;
            opened = NULL;
        }
    }
    if (s != NULL) {
        s->refs++;
        s->used = ++clock_tick;
        *out = s->ca;
    } else
        rc = errbuf_set(eb, E_UNAVAILABLE, "Too many certificate authorities in use at once");
    pthread_mutex_unlock(&mu);
    pki_ca_free(opened); /* another thread opened it meanwhile */
    return rc;
}

void
cas_put(const struct ca *ca)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < OPEN_MAX; i++)
        if (slots[i].ca == ca) {
            if (--slots[i].refs == 0 && slots[i].forgotten)
                slot_drop(&slots[i]);
            break;
        }
    pthread_mutex_unlock(&mu);
}

void
cas_forget(struct str id)
{
    pthread_mutex_lock(&mu);
    struct slot *s = slot_of(id);
    if (s != NULL && s->refs == 0)
        slot_drop(s);
    else if (s != NULL)
        s->forgotten = true;
    pthread_mutex_unlock(&mu);
}
