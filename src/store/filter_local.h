/* filter_local.h - what the parser (filter_parse.c) and the compiler (filter.c)
 * of the q= filter language share, and nothing outside uses. */
#ifndef KW_FILTER_LOCAL_H
#define KW_FILTER_LOCAL_H

#include <stdbool.h>

static inline bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

#endif
