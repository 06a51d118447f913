/* local.h - what the files of issuance/ share, and nothing outside uses. */
#ifndef KW_ISSUANCE_LOCAL_H
#define KW_ISSUANCE_LOCAL_H

#include "../model/spec.h"
#include "../pki/ca.h"
#include "../pki/issue.h"
#include "../store/store.h"
#include "issuance.h"
#include "policy.h"

/* The signing handle of a stored certificateauthority, opened (its key
 * unsealed) once per process and shared; each cas_get is paired with a
 * cas_put. A CA deleted from the store is forgotten (cas_forget): its key
 * leaves memory with the last handle in use. E_INTERNAL (logged) when the
 * stored key does not open. */
int  cas_get(const struct val *ca_obj, const struct ca **out, struct errbuf *eb);
void cas_put(const struct ca *ca);
void cas_forget(struct str id);

/* The object of `s` with `id` whose namespace is `ns` or one of its
 * ancestors (read from the store, or in tx when tx is not NULL). E_NOTFOUND
 * otherwise. */
int find_up(struct tx *tx, const struct spec *s, struct str ns, struct str id, struct arena *a,
            struct val *out);

/* CA `id` and its parents up to its root, read in `tx` (NULL: from the store; any namespace),
 * into chain[0..*n), chain holding POLICY_CHAIN_MAX. E_NOTFOUND when one of
 * them is gone, E_TOOBIG when the chain is longer, or the store's error:
 * then *n says how many were read. */
int ca_chain_read(struct tx *tx, struct arena *a, struct str id, struct val *chain, size_t *n);

/* constraints.c: the X.509 name constraints written in the certificates of
 * the console's CAs, read once per CA and kept; thread-safe. */
/* True when a certificate of chain[0..n) (CA objects) carries some. */
bool ca_chain_constrained(const struct val *chain, size_t n);
/* E_OK when certificate `x`, signed below chain[0] (chain[0..n): a CA and its
 * parents up to the root), satisfies the name constraints in the
 * certificate of every one of them as OpenSSL's verifier judges it. `prefix`
 * ("csr", "csrAttributes"): x is a leaf, refusals name "<prefix>.dnsNames",
 * "<prefix>.commonName", "<prefix>.subject"...; NULL: x is an intermediate,
 * refusals name "subject". E_VALIDATION otherwise. */
int ca_names_within(const struct val *chain, size_t n, X509 *x, const char *prefix,
                    struct errbuf *eb);
/* The same for a leaf given as DER, read only when the chain has constraints. */
int ca_leaf_within(const struct val *chain, size_t n, const struct buf *der, const char *prefix,
                   struct errbuf *eb);

/* Where relying parties read CA `id`'s status: <base>/pki/<id>/crl, /ocsp,
 * /ca.crt, under pki_url when the plain-HTTP listener is on, else under
 * public_url (API.md 7.4). In the arena. */
const char *ca_url(struct arena *a, struct str id, const char *leaf);

/* The string at `key` of map `m` as a NUL-terminated copy in `a` ("" when
 * absent): what the pki/ parsers of names take (a val's strings are slices). */
static inline const char *
val_cstr_of(struct arena *a, const struct val *m, const char *key)
{
    struct str s = val_get_str(m, key);

    return arena_strndup(a, s.p != NULL ? s.p : "", s.len);
}

/* The key type named at `key` of map `m` (PKI_KEY_NONE when absent or
 * unknown), without an arena (a spec's `slow` hook has none). */
static inline enum pki_key_type
val_key_type(const struct val *m, const char *key)
{
    struct str s = val_get_str(m, key);
    char       name[16];

    if (s.p == NULL || s.len >= sizeof name)
        return PKI_KEY_NONE;
    memcpy(name, s.p, s.len);
    name[s.len] = '\0';
    return pki_key_type_parse(name);
}

/* Namespace `ns` is deleted: the objects of `s` (revocations, certificate
 * requests) in it that `f` selects (NULL: all) and that a CA outside it
 * issued move into that CA's namespace, as its record. revoke.c. */
int ca_records_outlive(struct hook_ctx *ctx, struct tx *tx, const struct spec *s, struct str ns,
                       struct fnode *f, struct errbuf *eb);

/* True when the CA object is disabled. */
bool ca_disabled(const struct val *ca_obj);

#endif
