/* strmap.h - a string-keyed hash table in an arena (open addressing, FNV-1a):
 * what a long job remembers by name (fingerprints already stored). Keys are
 * copied into the arena; values are the caller's pointers. Not thread-safe. */
#ifndef KW_STRMAP_H
#define KW_STRMAP_H

#include "arena.h"

struct strmap_slot {
    struct str key;
    void      *value;
};

struct strmap {
    struct arena       *a;
    struct strmap_slot *slots;
    size_t              cap, n;
};

/* An empty map whose memory is `a`'s. */
void strmap_init(struct strmap *m, struct arena *a);
/* The value stored under `key`, or NULL. */
void *strmap_get(const struct strmap *m, struct str key);
/* Store `value` (not NULL) under `key`, replacing what was there. */
void strmap_put(struct strmap *m, struct str key, void *value);

#endif
