/* nspath.h - namespace paths: "/", "/acme", "/acme/web". */
#ifndef KW_NSPATH_H
#define KW_NSPATH_H

#include "base.h"

#define NSPATH_MAX 1024

/* An absolute path of [A-Za-z0-9_-] names: no "//", no trailing '/', no "..". */
bool nspath_valid(struct str ns);
/* True when `ns` is `root` or below it. */
bool nspath_within(struct str ns, struct str root);
/* The tenant `ns` belongs to: its first name ("/acme" of "/acme/web"), or "/"
 * for "/" itself. */
struct str nspath_tenant(struct str ns);

#endif
