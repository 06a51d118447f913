/* arena.h - region allocator: many small allocations, one free.
 *
 * Each request owns one arena; everything decoded or built for it lives there and
 * is released at once when the request ends. Not thread-safe: one owner at a time.
 * Allocation failure aborts the process (as redis does): a server that cannot get
 * a few KiB more is not going to recover meaningfully mid-request.
 */
#ifndef KW_ARENA_H
#define KW_ARENA_H

#include "base.h"

struct arena;

struct arena *arena_new(size_t first_block);
void          arena_free(struct arena *a);
/* Drop everything allocated but keep the first block for reuse. */
void arena_reset(struct arena *a);
/* 16-byte aligned; n == 0 returns a valid unique pointer. Aborts on overflow. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t count, size_t size);
/* Grow an earlier allocation (copying); `old` may be NULL. */
void *arena_realloc(struct arena *a, void *old, size_t old_n, size_t new_n);
/* NUL-terminated copy. */
char      *arena_strndup(struct arena *a, const char *s, size_t n);
struct str arena_str(struct arena *a, struct str s);
char      *arena_printf(struct arena *a, const char *fmt, ...) KW_PRINTF(2, 3);
/* Bytes handed out so far (for limits and tests). */
size_t arena_used(const struct arena *a);

#endif
