/* regex.h - whether a POSIX extended regular expression stays cheap to
 * compile and run with glibc's regcomp/regexec: the filter language's
 * `matches` and the issuing templates' patterns, both written by users. */
#ifndef KW_REGEX_H
#define KW_REGEX_H

#include <stdbool.h>

/* A filter's `matches` tests values of at most this many bytes; a longer one
 * (a subject of 68,000 characters) never matches: glibc's regexec cannot be
 * stopped, and a cheap pattern can still run for minutes on such a value
 * (a review held both workers 340 s past store_timeout). A costly pattern
 * takes about 70 ms on 2,048 bytes here, 285 ms on 4,096 (quadratic). */
#define REGEX_TEXT_MAX 2048

/* The estimated compiled nodes of a cheap pattern (at most 512), else -1. */
int  regex_weight(const char *pattern);
bool regex_cheap(const char *pattern);
/* NULL when the pattern means the same to glibc's ERE and to PostgreSQL's ARE
 * (the stores a filter's `matches` runs on), else why not, in a few words: a
 * backslash before a letter or digit (\d is a digit to one and a 'd' to the
 * other) or inside brackets, a quantifier on a quantifier (a+?, a{2}+), one
 * with nothing to repeat, a bound not of the form {m}, {m,} or {m,n}, a ')'
 * without its '('. */
const char *regex_portable(const char *pattern);

#endif
