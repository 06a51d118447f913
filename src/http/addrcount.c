/* addrcount.c - see addrcount.h. A chained hash table with a random seed
 * (addresses are chosen by clients), entries only while connections are open:
 * at most max_connections of them. */
#include "addrcount.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rnd.h"

struct entry {
    struct entry *next;
    unsigned char key[17]; /* family, then 4 or 16 address bytes */
    size_t        n;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry  **buckets;
static size_t          nbuckets, limit;
static uint64_t        seed;

int
addrcount_init(size_t max_conns, size_t per_address)
{
    addrcount_fini();
    limit = per_address;
    if (limit == 0)
        return E_OK;
    for (nbuckets = 64; nbuckets < max_conns; nbuckets *= 2)
        ;
    buckets = calloc(nbuckets, sizeof *buckets);
    rnd_bytes(&seed, sizeof seed);
    return buckets != NULL ? E_OK : E_INTERNAL;
}

void
addrcount_fini(void)
{
    for (size_t i = 0; buckets != NULL && i < nbuckets; i++)
        while (buckets[i] != NULL) {
            struct entry *e = buckets[i];
            buckets[i] = e->next;
            free(e);
        }
    free(buckets);
    buckets = NULL;
    limit = 0;
}

static void
key_of(const struct sockaddr_storage *ss, unsigned char key[17])
{
    memset(key, 0, 17);
    key[0] = (unsigned char)ss->ss_family;
    if (ss->ss_family == AF_INET)
        memcpy(key + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    else if (ss->ss_family == AF_INET6)
        memcpy(key + 1, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
}

/* FNV-1a, seeded. */
static struct entry **
slot(const unsigned char key[17])
{
    return &buckets[hash_fnv1a(key, 17, seed) & (nbuckets - 1)];
}

static struct entry **
find(const unsigned char key[17])
{
    struct entry **p = slot(key);

    while (*p != NULL && memcmp((*p)->key, key, 17) != 0)
        p = &(*p)->next;
    return p;
}

bool
addrcount_get(const struct sockaddr_storage *ss)
{
    unsigned char  key[17];
    struct entry **p;
    bool           ok = true;

    if (limit == 0)
        return true;
    key_of(ss, key);
    pthread_mutex_lock(&mu);
    p = find(key);
    if (*p == NULL && (*p = calloc(1, sizeof **p)) != NULL)
        memcpy((*p)->key, key, 17);
    if (*p == NULL || (*p)->n >= limit)
        ok = false;
    else
        (*p)->n++;
    pthread_mutex_unlock(&mu);
    return ok;
}

void
addrcount_put(const struct sockaddr_storage *ss)
{
    unsigned char  key[17];
    struct entry **p, *e;

    if (limit == 0)
        return;
    key_of(ss, key);
    pthread_mutex_lock(&mu);
    p = find(key);
    if ((e = *p) != NULL && --e->n == 0) {
        *p = e->next;
        free(e);
    }
    pthread_mutex_unlock(&mu);
}
