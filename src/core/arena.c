/* arena.c - block-chained bump allocator.
 *
 * Blocks form a list, newest first, the head serving small allocations. An
 * allocation too large for an ordinary block gets a block of its own, linked
 * behind the head so that the head keeps its free space. arena_reset() keeps
 * only the first block, wherever it sits in the list.
 */
#include "arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define ALIGN     16u
#define MIN_BLOCK 256u
#define MAX_BLOCK ((size_t)1 << 20) /* ordinary blocks stop doubling here */

struct block {
    struct block *next;
    char         *cur; /* next free byte (not yet aligned) */
    char         *end;
    size_t        size;
};

struct arena {
    struct block *head;  /* block serving small allocations */
    struct block *first; /* kept by arena_reset() */
    size_t        next_size;
    size_t        used;
    char         *last; /* most recent allocation in head, for in-place realloc */
};

static _Noreturn void
oom(const char *why)
{
    fprintf(stderr, "arena: %s\n", why);
    abort();
}

static struct block *
block_new(size_t size)
{
    struct block *b;

    /* ALIGN spare bytes let the first allocation be aligned whatever malloc gave. */
    if (size > SIZE_MAX - sizeof *b - ALIGN)
        oom("allocation size overflows");
    b = malloc(sizeof *b + size + ALIGN);
    if (b == NULL)
        oom("out of memory");
    b->next = NULL;
    b->cur = (char *)(b + 1);
    b->end = b->cur + size + ALIGN;
    b->size = size;
    return b;
}

/* Take n aligned bytes from b, or NULL when they do not fit. */
static char *
bump(struct block *b, size_t n)
{
    size_t pad = (ALIGN - ((uintptr_t)b->cur & (ALIGN - 1))) & (ALIGN - 1);

    if ((size_t)(b->end - b->cur) < pad || (size_t)(b->end - b->cur) - pad < n)
        return NULL;
    char *p = b->cur + pad;
    b->cur = p + n;
    return p;
}

struct arena *
arena_new(size_t first_block)
{
    struct arena *a = malloc(sizeof *a);

    if (a == NULL)
        oom("out of memory");
    if (first_block < MIN_BLOCK)
        first_block = MIN_BLOCK;
    if (first_block > MAX_BLOCK)
        first_block = MAX_BLOCK;
    a->first = a->head = block_new(first_block);
    a->next_size = first_block;
    a->used = 0;
    a->last = NULL;
    return a;
}

void
arena_free(struct arena *a)
{
    if (a == NULL)
        return;
    for (struct block *b = a->head, *next; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void
arena_reset(struct arena *a)
{
    for (struct block *b = a->head, *next; b != NULL; b = next) {
        next = b->next;
        if (b != a->first)
            free(b);
    }
    a->head = a->first;
    a->head->next = NULL;
    a->head->cur = (char *)(a->head + 1);
    a->next_size = a->first->size;
    a->used = 0;
    a->last = NULL;
}

/* Slow path: n did not fit into the head block. */
static char *
alloc_slow(struct arena *a, size_t n)
{
    struct block *b;

    if (n > a->next_size / 4) {
        b = block_new(n);
        b->next = a->head->next;
        a->head->next = b;
        a->last = NULL;
        return bump(b, n);
    }
    if (a->next_size < MAX_BLOCK)
        a->next_size *= 2;
    b = block_new(a->next_size);
    b->next = a->head;
    a->head = b;
    return a->last = bump(b, n);
}

void *
arena_alloc(struct arena *a, size_t n)
{
    /* n == 0 still consumes a byte, which keeps pointers unique. */
    size_t want = n ? n : 1;
    char  *p = bump(a->head, want);

    if (p != NULL)
        a->last = p;
    else
        p = alloc_slow(a, want);
    if (p == NULL)
        oom("internal error: fresh block too small");
    a->used = a->used > SIZE_MAX - want ? SIZE_MAX : a->used + want;
    return p;
}

void *
arena_calloc(struct arena *a, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        oom("calloc size overflows");
    void *p = arena_alloc(a, count * size);
    memset(p, 0, count * size);
    return p;
}

void *
arena_realloc(struct arena *a, void *old, size_t old_n, size_t new_n)
{
    /* The latest allocation in the head block can grow where it stands. */
    if (old != NULL && old == a->last) {
        char *o = old;
        if (new_n <= old_n || (size_t)(a->head->end - o) >= new_n) {
            size_t keep = new_n ? new_n : 1;
            a->head->cur = o + keep;
            if (new_n > old_n)
                a->used =
                    a->used > SIZE_MAX - (new_n - old_n) ? SIZE_MAX : a->used + (new_n - old_n);
            return old;
        }
    }
    void *p = arena_alloc(a, new_n);
    if (old != NULL && old_n > 0)
        memcpy(p, old, old_n < new_n ? old_n : new_n);
    return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        oom("strndup size overflows");
    char *p = arena_alloc(a, n + 1);
    if (n > 0)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

struct str
arena_str(struct arena *a, struct str s)
{
    return (struct str){ arena_strndup(a, s.p, s.len), s.len };
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    int     n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom("printf format error");
    char *p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

size_t
arena_used(const struct arena *a)
{
    return a->used;
}
