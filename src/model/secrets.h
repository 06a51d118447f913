/* secrets.h - write-only attributes kept encrypted at rest (A_SEALED).
 *
 * The engine seals them before a write; only the code that needs the clear value
 * (a realm binding to its directory, say) opens them, for as long as it needs
 * them. A sealed value is bound to its resource, attribute and object ID, so it
 * cannot be copied to another object and opened there. */
#ifndef KW_SECRETS_H
#define KW_SECRETS_H

#include "../core/buf.h"
#include "spec.h"

/* Seal every non-empty A_SEALED attribute of `obj` (a create's object or an
 * update's body) for object `id`. */
int secrets_seal(struct arena *a, const struct spec *s, struct val *obj, struct str id,
                 struct errbuf *eb);
/* The clear value of attribute `attr` of stored object `obj` into `out` (a
 * secret: buf_wipe it). E_NOTFOUND when absent or empty. */
int secrets_open(const struct spec *s, const struct val *obj, const char *attr, struct buf *out,
                 struct errbuf *eb);

#endif
