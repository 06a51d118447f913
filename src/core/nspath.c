/* nspath.c - see nspath.h. */
#include "nspath.h"

static bool
name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

bool
nspath_valid(struct str ns)
{
    if (ns.len == 0 || ns.len > NSPATH_MAX || ns.p[0] != '/')
        return false;
    if (ns.len == 1)
        return true;
    if (ns.p[ns.len - 1] == '/')
        return false;
    for (size_t i = 1; i < ns.len; i++) {
        if (ns.p[i] == '/' ? ns.p[i - 1] == '/' : !name_char(ns.p[i]))
            return false;
    }
    return true;
}

bool
nspath_within(struct str ns, struct str root)
{
    if (root.len == 1 && root.p[0] == '/')
        return ns.len > 0 && ns.p[0] == '/';
    return str_eq(ns, root) ||
           (ns.len > root.len && str_starts(ns, root) && ns.p[root.len] == '/');
}

struct str
nspath_tenant(struct str ns)
{
    size_t n = 1;

    while (n < ns.len && ns.p[n] != '/')
        n++;
    return (struct str){ ns.p, ns.len < n ? ns.len : n };
}
