/* policy.h - whether a certificate request may be issued: the template's
 * constraints (API.md 7.4) and the policy of its CA (usable from the
 * template's namespace, disabled) and of every CA above it (name
 * constraints). Pure: the objects come read. */
#ifndef KW_POLICY_H
#define KW_POLICY_H

#include "../core/val.h"
#include "../pki/issue.h"

#define POLICY_REGEXES_MAX 64 /* patterns in one list of a template */
#define POLICY_CHAIN_MAX   16 /* CAs from the issuing one up to its root */

/* E_VALIDATION, on the list's attribute, unless every pattern of every
 * regex list of template `t` compiles. */
int policy_regexes_check(const struct val *t, struct errbuf *eb);

/* E_VALIDATION on `attr` unless CA `ca` may be used from namespace `ns`: its
 * own, or one below when it is usableInSubNamespaces. */
int policy_ca_usable(const struct val *ca, struct str ns, const char *attr, struct errbuf *eb);

/* True when the certificate of CA object `ca` has been revoked (by its
 * parent: revoke.c sets its revocationTime). */
bool policy_ca_revoked(const struct val *ca);

/* `s`, a positive Go duration, as milliseconds into *ms; else E_VALIDATION on
 * `attr`, the message giving Go's range and `example`. */
int policy_duration(struct str s, const char *attr, const char *example, int64_t *ms,
                    struct errbuf *eb);

/* E_VALIDATION on `attr` unless the CAs chain[0..n) (a CA first, then its
 * parents up to the root) may sign: chain[0] not disabled, no certificate of
 * the chain revoked, and none of the CAs above withdrawn from the namespace
 * of the CA below it (usableInSubNamespaces). `who` names chain[0] in the message
 * ("The parent certificate authority"). */
int policy_chain_signs(const struct val *chain, size_t n, const char *attr, const char *who,
                       struct errbuf *eb);

/* E_VALIDATION, on the list's attribute, unless CA object `ca`'s policy
 * lists can be written as name constraints: no empty domain, no range with
 * address bits set past its prefix (the message says the range meant).
 * Items of the wrong type are left to the generic validation. */
int policy_lists_check(const struct val *ca, struct errbuf *eb);

/* E_VALIDATION on "keyUsages" or "extendedKeyUsages" unless template `t`'s
 * lists can be issued: at least one of each (an empty list would give
 * leaves without the extension: any usage), and encipherOnly or decipherOnly
 * only beside keyAgreement (RFC 5280 4.2.1.3: their meaning is undefined
 * without it). */
int policy_usages_check(const struct val *t, struct errbuf *eb);

/* The key usages of template `t` that a key of `type` may carry
 * (pki_key_usage_fits; encipherOnly and decipherOnly only when
 * keyAgreement stays), in the arena, *n of them. policy_judge refuses a
 * request for which there is none. */
const char **policy_key_usages(struct arena *a, const struct val *t, enum pki_key_type type,
                               size_t *n);

/* What a request asks for. */
struct policy_ask {
    const struct pki_names *names;
    enum pki_key_type       type;
    const char             *prefix; /* "csr" or "csrAttributes": refusals name
                                       "<prefix>.dnsNames" ... */
    struct str validity;            /* Go duration, or empty: the default */
    bool       generated;           /* the server makes the key */
};

/* Judge `ask` against template `t` and the CAs `chain` (the issuing CA
 * first, then its parents), at `now_ms`, for a certificate starting at
 * *not_before_ms (backdated: at most now_ms; moved later, to now_ms less half
 * the validity, when the validity is shorter than twice the backdate). E_OK
 * with *not_after_ms
 * (not_before_ms plus the validity, the validity at most the template's
 * maximum, so that notAfter - notBefore never exceeds it; and at most the
 * issuing CA's end), or E_VALIDATION naming the attribute refused. */
int policy_judge(const struct val *t, const struct val *chain, size_t nchain,
                 const struct policy_ask *ask, int64_t now_ms, int64_t *not_before_ms,
                 int64_t *not_after_ms, struct errbuf *eb);

/* True when common name `cn` is a host name a DNS SAN may carry (letters,
 * digits, '-' and '.', at least one '.'; a leading "*." wildcard). */
bool policy_cn_is_dns_name(const char *cn);

#endif
