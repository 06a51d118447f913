/* regex.h - whether a POSIX extended regular expression stays cheap to
 * compile and run with glibc's regcomp/regexec: the filter language's
 * `matches` and the issuing templates' patterns, both written by users. */
#ifndef KW_REGEX_H
#define KW_REGEX_H

#include <stdbool.h>

/* The estimated compiled nodes of a cheap pattern (at most 512), else -1. */
int  regex_weight(const char *pattern);
bool regex_cheap(const char *pattern);

#endif
