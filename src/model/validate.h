/* validate.h - a body checked against a spec (API.md sections 2 and 6).
 *
 * Every failure names the attribute (errbuf.attr -> data.attribute) and uses the
 * contract's titles: Validation Error, Read Only Error, Creation Only Error. */
#ifndef KW_VALIDATE_H
#define KW_VALIDATE_H

#include "spec.h"

/* The object to create from body `in`: every known attribute checked, defaults
 * filled, read-only ones left for the server to set. */
int validate_create(struct arena *a, const struct spec *s, const struct val *in,
                    struct val *obj, struct errbuf *eb);
/* The object replacing `old` from body `in` (a full object): creation-only and
 * read-only attributes must be unchanged (absent means unchanged), write-only
 * ones absent keep their stored value, others absent fall back to defaults. A
 * different updateTime is E_CONFLICT. */
int validate_update(struct arena *a, const struct spec *s, const struct val *in,
                    const struct val *old, struct val *obj, struct errbuf *eb);
/* A new object of spec `s` in namespace `ns` from body `in`: validated, with
 * defaults and the server-set ID and times (hooks and tags are the caller's). */
int object_new(struct arena *a, const struct spec *s, struct str ns, const struct val *in,
               struct val *obj, struct errbuf *eb);
/* Recompute normalizedTags (API.md section 4). */
void tags_normalize(struct arena *a, const struct spec *s, struct val *obj);
/* The object as clients see it: write-only attributes removed, "object" added. */
void object_present(struct arena *a, const struct spec *s, struct val *obj);
/* An attribute's default (spec attr.def; a list's items comma-separated). */
struct val attr_default(struct arena *a, const struct attr *at);
/* True for null, "", 0, false, [] and {}. */
bool val_is_empty(const struct val *v);

#endif
