/* storedump.h - `keyward store-dump`: what the store holds, as JSON lines
 * (docs/tools.md). */
#ifndef KW_STOREDUMP_H
#define KW_STOREDUMP_H

#include <stddef.h>

/* Write every row of `tables` (all when n is 0) of the store `uri` to stdout;
 * the process's exit status (0, or 1 after a one-line error on stderr). */
int storedump_run(const char *uri, const char *const *tables, size_t n);

#endif
