/* policy.c - see policy.h. Patterns are POSIX extended regular expressions
 * matched against the whole value: the match regexec finds (leftmost, then
 * longest) must span it. Wrapping a pattern in ^( )$ instead would let a
 * pattern with a stray parenthesis ("a)|(b") escape the anchors. */
#include <arpa/inet.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>

#include "../core/net.h"
#include "../core/nspath.h"
#include "../core/regex.h"
#include "../core/timeutil.h"
#include "../pki/nconstraints.h"
#include "policy.h"

/* A subject field or SAN type: the request's name for it, the template's
 * list, and where its values are in struct pki_names. */
struct field {
    const char *ask;     /* csrAttributes' name: commonName ... */
    const char *list;    /* the template's attribute */
    bool        exact;   /* the list holds values, not patterns (subjectCValues) */
    size_t      one;     /* offset of a `const char *` (a subject field), or */
    size_t      many, n; /* offsets of a `const char **` and its count */
};

#define ONE(f)     offsetof(struct pki_names, f)
#define MANY(f, n) 0, offsetof(struct pki_names, f), offsetof(struct pki_names, n)

/* The SANs first: a name refused in both the SAN and the CN is told by its
 * SAN, the name clients check (API.md 7.4's example, "csr.dnsNames"). */
static const struct field fields[] = {
    { "dnsNames", "sanDNSNameRegexes", false, MANY(dns, ndns) },
    { "ipAddresses", "sanIPAddressRegexes", false, MANY(ip, nip) },
    { "uris", "sanURIRegexes", false, MANY(uri, nuri) },
    { "emails", "sanEmailRegexes", false, MANY(email, nemail) },
    { "commonName", "subjectCNRegexes", false, ONE(cn), 0, 0 },
    { "organization", "subjectORegexes", false, ONE(o), 0, 0 },
    { "organizationalUnit", "subjectOURegexes", false, ONE(ou), 0, 0 },
    { "locality", "subjectLRegexes", false, ONE(l), 0, 0 },
    { "state", "subjectSTRegexes", false, ONE(st), 0, 0 },
    { "country", "subjectCValues", true, ONE(c), 0, 0 },
};

/* ---- patterns ------------------------------------------------------------------- */

/* The patterns of one template together, in regex_weight's nodes: each is
 * compiled when a request is judged, so that their sum bounds what a request
 * costs (a single pattern's 512 nodes compile in up to ~25 ms; a template
 * holds up to 250 patterns a list). Realistic templates weigh tens to a few
 * hundred. */
#define TEMPLATE_REGEX_BUDGET 2048

/* A template's pattern compiled, its weight added to *weight; REG_ESPACE,
 * without compiling it, when it would cost too much (regex_weight: a template
 * is written by a namespace editor, and glibc grew to 23 GB compiling
 * `a{1,1000}{1,1000}{1,1000}`). */
static int
pattern_compile(regex_t *re, struct str p, int *weight)
{
    char buf[1024 + 1];
    int  w;

    if (p.len >= sizeof buf)
        return REG_ESIZE;
    memcpy(buf, p.p, p.len);
    buf[p.len] = '\0';
    if ((w = regex_weight(buf)) < 0)
        return REG_ESPACE;
    *weight += w;
    return regcomp(re, buf, REG_EXTENDED);
}

int
policy_regexes_check(const struct val *t, struct errbuf *eb)
{
    int weight = 0;

    for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
        struct val *l = val_get(t, fields[i].list);
        for (size_t j = 0; !fields[i].exact && l != NULL && j < l->a.n; j++) {
            regex_t re;
            int     rc = pattern_compile(&re, l->a.v[j].s, &weight);
            if (rc == 0 && weight > TEMPLATE_REGEX_BUDGET) {
                regfree(&re);
                return errbuf_attr(eb, E_VALIDATION, fields[i].list,
                                   "The template's patterns are too complex together (about "
                                   "%d compiled nodes with pattern %zu of '%s'; at most %d)",
                                   weight, j + 1, fields[i].list, TEMPLATE_REGEX_BUDGET);
            }
            if (rc == REG_ESPACE)
                return errbuf_attr(
                    eb, E_VALIDATION, fields[i].list,
                    "Pattern %zu of '%s' is too complex (size, nesting, anchors, "
                    "a repeated empty match or a backreference)",
                    j + 1, fields[i].list);
            if (rc != 0) {
                char why[128];
                regerror(rc, NULL, why, sizeof why);
                return errbuf_attr(eb, E_VALIDATION, fields[i].list,
                                   "Pattern %zu of '%s' is not a POSIX extended regex: %s",
                                   j + 1, fields[i].list, why);
            }
            regfree(&re);
        }
    }
    return E_OK;
}

static bool
whole_match(struct str pattern, const char *value)
{
    regex_t    re;
    regmatch_t m;
    bool       ok;
    int        weight = 0;

    if (pattern_compile(&re, pattern, &weight) != 0)
        return false;
    ok = regexec(&re, value, 1, &m, 0) == 0 && m.rm_so == 0 && (size_t)m.rm_eo == strlen(value);
    regfree(&re);
    return ok;
}

/* True when one entry of list `l` allows `value`. */
static bool
allowed(const struct val *l, bool exact, const char *value)
{
    for (size_t i = 0; l != NULL && l->t == V_ARR && i < l->a.n; i++)
        if (exact ? str_eq_c(l->a.v[i].s, value) : whole_match(l->a.v[i].s, value))
            return true;
    return false;
}

static int refuse(struct errbuf *eb, const struct policy_ask *ask, const char *what,
                  const char *fmt, ...) KW_PRINTF(4, 5);

static int
refuse(struct errbuf *eb, const struct policy_ask *ask, const char *what, const char *fmt, ...)
{
    char    attr[64], msg[sizeof eb->msg];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(attr, sizeof attr, "%s.%s", ask->prefix, what);
    return errbuf_attr(eb, E_VALIDATION, attr, "%s", msg);
}

/* ---- the template ----------------------------------------------------------------- */

static int
field_check(const struct val *t, const struct field *f, const struct policy_ask *ask,
            struct errbuf *eb)
{
    const char *base = (const char *)ask->names;
    const char *one = NULL, *const *many = NULL;
    size_t      n = 1;

    if (f->many == 0)
        one = *(const char *const *)(base + f->one);
    else {
        many = *(const char *const *const *)(base + f->many);
        n = *(const size_t *)(base + f->n);
    }
    for (size_t i = 0; i < n; i++) {
        const char *v = many != NULL ? many[i] : one;
        if (v != NULL && !allowed(val_get(t, f->list), f->exact, v))
            return refuse(eb, ask, f->ask, "The issuing template does not allow '%s'", v);
    }
    return E_OK;
}

static int
key_check(const struct val *t, const struct policy_ask *ask, struct errbuf *eb)
{
    const char *name = pki_key_type_name(ask->type);

    if (ask->type == PKI_KEY_NONE)
        return refuse(eb, ask, "keyType", "%s",
                      "The key is not one of EC_P256, EC_P384, RSA_2048, RSA_3072, "
                      "RSA_4096 or ED25519");
    if (!allowed(val_get(t, "keyTypes"), true, name))
        return refuse(eb, ask, "keyType", "The issuing template does not allow %s keys", name);
    return E_OK;
}

/* ---- key usages ------------------------------------------------------------------- */

/* Whether usage u of list l goes into a leaf whose key is of `type`. */
static bool
usage_kept(const struct val *l, struct str u, enum pki_key_type type)
{
    char name[32];

    if (u.len >= sizeof name)
        return false;
    memcpy(name, u.p, u.len);
    name[u.len] = '\0';
    if (!pki_key_usage_fits(type, name))
        return false;
    if (strcmp(name, "encipherOnly") == 0 || strcmp(name, "decipherOnly") == 0)
        return val_list_has(l, STR("keyAgreement")) && pki_key_usage_fits(type, "keyAgreement");
    return true;
}

const char **
policy_key_usages(struct arena *a, const struct val *t, enum pki_key_type type, size_t *n)
{
    const struct val *l = val_get(t, "keyUsages");
    size_t            len = l != NULL && l->t == V_ARR ? l->a.n : 0;
    const char      **out = arena_calloc(a, len + 1, sizeof *out);

    *n = 0;
    for (size_t i = 0; i < len; i++)
        if (usage_kept(l, l->a.v[i].s, type))
            out[(*n)++] = arena_strndup(a, l->a.v[i].s.p, l->a.v[i].s.len);
    return out;
}

int
policy_usages_check(const struct val *t, struct errbuf *eb)
{
    static const char *const lists[] = { "keyUsages", "extendedKeyUsages" };
    const struct val        *ku = val_get(t, "keyUsages");

    for (size_t i = 0; i < ARRAY_LEN(lists); i++) {
        const struct val *l = val_get(t, lists[i]);
        if (l != NULL && l->t == V_ARR && l->a.n == 0)
            return errbuf_attr(eb, E_VALIDATION, lists[i],
                               "Attribute '%s' must hold at least one usage: a certificate "
                               "without the extension may be used for anything",
                               lists[i]);
    }
    if ((val_list_has(ku, STR("encipherOnly")) || val_list_has(ku, STR("decipherOnly"))) &&
        !val_list_has(ku, STR("keyAgreement")))
        return errbuf_attr(eb, E_VALIDATION, "keyUsages",
                           "Attribute 'keyUsages' may hold encipherOnly or decipherOnly only "
                           "with keyAgreement (RFC 5280 4.2.1.3)");
    return E_OK;
}

/* A leaf must say what its key may do: a template whose key usages all
 * fall away for this key's type (keyEncipherment alone and an EC key)
 * would issue one without keyUsage, which restricts nothing. */
static int
usages_left(const struct val *t, const struct policy_ask *ask, struct errbuf *eb)
{
    const struct val *l = val_get(t, "keyUsages");

    for (size_t i = 0; l != NULL && l->t == V_ARR && i < l->a.n; i++)
        if (usage_kept(l, l->a.v[i].s, ask->type))
            return E_OK;
    return refuse(eb, ask, "keyType",
                  "The issuing template's keyUsages allow none that a %s key may carry "
                  "(RSA: digitalSignature, nonRepudiation, keyEncipherment, "
                  "dataEncipherment; EC: digitalSignature, nonRepudiation, keyAgreement; "
                  "Ed25519: digitalSignature, nonRepudiation)",
                  pki_key_type_name(ask->type));
}

static int
way_check(const struct val *t, const struct policy_ask *ask, struct errbuf *eb)
{
    if (ask->generated && !val_get_true(t, "serverKeyGenerationAllowed"))
        return errbuf_attr(eb, E_VALIDATION, "csrAttributes",
                           "The issuing template does not allow keys made by the server: "
                           "send a csr");
    if (!ask->generated && val_get(t, "csrUploadAllowed") != NULL &&
        !val_get_true(t, "csrUploadAllowed"))
        return errbuf_attr(eb, E_VALIDATION, "csr",
                           "The issuing template does not allow CSRs: send csrAttributes");
    return E_OK;
}

static int
validity_of(const struct val *t, const struct policy_ask *ask, int64_t *ms, struct errbuf *eb)
{
    int64_t max = 0;

    if (duration_parse(val_get_str(t, "maxValidity"), &max) != E_OK)
        return errbuf_set(eb, E_INTERNAL, "template: unreadable maxValidity");
    if (ask->validity.len == 0) {
        if (duration_parse(val_get_str(t, "defaultValidity"), ms) != E_OK)
            return errbuf_set(eb, E_INTERNAL, "template: unreadable defaultValidity");
        *ms = *ms > max ? max : *ms;
        return E_OK;
    }
    if (policy_duration(ask->validity, "validity", "720h", ms, eb) != E_OK)
        return E_VALIDATION;
    if (*ms > max)
        return errbuf_attr(eb, E_VALIDATION, "validity",
                           "Attribute 'validity' exceeds the template's maxValidity (%.*s)",
                           STR_FMT(val_get_str(t, "maxValidity")));
    return E_OK;
}

/* ---- the CAs' policy ---------------------------------------------------------------- */

int
policy_ca_usable(const struct val *ca, struct str ns, const char *attr, struct errbuf *eb)
{
    struct str own = val_get_str(ca, "namespace");

    if (str_eq(own, ns) ||
        (nspath_within(ns, own) && val_get_true(ca, "usableInSubNamespaces")))
        return E_OK;
    return errbuf_attr(eb, E_VALIDATION, attr,
                       "The certificate authority is not usable from this namespace "
                       "(usableInSubNamespaces is false)");
}

bool
policy_ca_revoked(const struct val *ca)
{
    return val_get_str(ca, "revocationTime").len > 0;
}

/* Go's largest duration, 2^63 - 1 ns, in whole hours. */
#define GO_DURATION_MAX "2562047h"

int
policy_duration(struct str s, const char *attr, const char *example, int64_t *ms,
                struct errbuf *eb)
{
    if (duration_parse(s, ms) != E_OK || *ms <= 0)
        return errbuf_attr(eb, E_VALIDATION, attr,
                           "Attribute '%s' must be a positive Go duration of at most "
                           "%s (%s)",
                           attr, GO_DURATION_MAX, example);
    return E_OK;
}

/* Whether `ca` was withdrawn from the namespaces below it (usableInSubNamespaces
 * turned off) while `below`, a CA it signed, lives in one of them: what a
 * sub-namespace made under it while it was shared stops with it, as it
 * would with `disabled` (a black-box review). */
static bool
withdrawn_below(const struct val *ca, const struct val *below)
{
    return !str_eq(val_get_str(ca, "namespace"), val_get_str(below, "namespace")) &&
           !val_get_true(ca, "usableInSubNamespaces");
}

int
policy_chain_signs(const struct val *chain, size_t n, const char *attr, const char *who,
                   struct errbuf *eb)
{
    if (val_get_true(&chain[0], "disabled"))
        return errbuf_attr(eb, E_VALIDATION, attr, "%s is disabled", who);
    if (policy_ca_revoked(&chain[0]))
        return errbuf_attr(eb, E_VALIDATION, attr, "%s cannot sign: its certificate is revoked",
                           who);
    for (size_t i = 1; i < n; i++) {
        if (val_get_true(&chain[i], "disabled"))
            return errbuf_attr(eb, E_VALIDATION, attr,
                               "%s cannot sign: certificate authority '%.*s' above it is "
                               "disabled",
                               who, STR_FMT(val_get_str(&chain[i], "name")));
        if (policy_ca_revoked(&chain[i]))
            return errbuf_attr(eb, E_VALIDATION, attr,
                               "%s cannot sign: the certificate of certificate authority "
                               "'%.*s' above it is revoked",
                               who, STR_FMT(val_get_str(&chain[i], "name")));
        if (withdrawn_below(&chain[i], &chain[i - 1]))
            return errbuf_attr(eb, E_VALIDATION, attr,
                               "%s cannot sign: certificate authority '%.*s' above it is no "
                               "longer usableInSubNamespaces",
                               who, STR_FMT(val_get_str(&chain[i], "name")));
    }
    return E_OK;
}

/* 422 on `attr` for an empty domain: it would match every name, and an
 * intermediate could not carry it as a name constraint. */
/* A DNS name as a name constraint writes it (RFC 5280 4.2.1.10, after an
 * optional leading '.'): labels of 1 to 63 characters, not starting or ending
 * with '-', at most 253 in all. The characters are the attribute's pattern's
 * (no wildcard: a constraint has none, and "*.example" would match only
 * itself). */
static bool
domain_ok(struct str d)
{
    struct str rest = d, label;

    if (d.len > 0 && d.p[0] == '.')
        rest = (struct str){ d.p + 1, d.len - 1 };
    if (rest.len == 0 || rest.len > 253)
        return false;
    while (rest.p != NULL) {
        rest = str_cut(rest, '.', &label);
        if (label.len == 0 || label.len > 63 || label.p[0] == '-' ||
            label.p[label.len - 1] == '-')
            return false;
    }
    return true;
}

static int
domains_check(const struct val *ca, const char *attr, struct errbuf *eb)
{
    const struct val *l = val_get(ca, attr);

    for (size_t i = 0; l != NULL && l->t == V_ARR && i < l->a.n; i++)
        if (l->a.v[i].t == V_STR && !domain_ok(l->a.v[i].s))
            return errbuf_attr(eb, E_VALIDATION, attr,
                               "Attribute '%s': '%.*s' is not a DNS domain (labels of 1 to 63 "
                               "letters, digits or '-', 253 characters at most, no wildcard)",
                               attr, (int)(l->a.v[i].s.len > 64 ? 64 : l->a.v[i].s.len),
                               l->a.v[i].s.p);
    return E_OK;
}

int
policy_lists_check(const struct val *ca, struct errbuf *eb)
{
    const struct val *l = val_get(ca, "permittedIPRanges");
    int               rc;

    if ((rc = domains_check(ca, "permittedDNSDomains", eb)) != E_OK ||
        (rc = domains_check(ca, "excludedDNSDomains", eb)) != E_OK)
        return rc;
    for (size_t i = 0; l != NULL && l->t == V_ARR && i < l->a.n; i++) {
        struct cidr c;
        char        canon[CIDR_TEXT_MAX];
        if (l->a.v[i].t != V_STR || cidr_parse(l->a.v[i].s, &c) != E_OK || cidr_is_network(&c))
            continue; /* not a CIDR: the generic check of F_CIDR answers */
        cidr_format(&c, canon);
        return errbuf_attr(eb, E_VALIDATION, "permittedIPRanges",
                           "'%.*s' has address bits set past its prefix: write %s",
                           (int)(l->a.v[i].s.len > 64 ? 64 : l->a.v[i].s.len), l->a.v[i].s.p,
                           canon);
    }
    return E_OK;
}

/* RFC 5280 4.2.1.10: "example.com" covers it and the names below it;
 * ".example.com" only the names below. */
static bool
in_domain(const char *name, struct str d)
{
    size_t n = strlen(name);

    if (d.len > 0 && d.p[0] == '.')
        return n > d.len && strncasecmp(name + n - d.len, d.p, d.len) == 0;
    if (n == d.len)
        return strncasecmp(name, d.p, n) == 0;
    return n > d.len && name[n - d.len - 1] == '.' &&
           strncasecmp(name + n - d.len, d.p, d.len) == 0;
}

static bool
in_any_domain(const char *name, const struct val *l)
{
    for (size_t i = 0; l != NULL && l->t == V_ARR && i < l->a.n; i++)
        if (in_domain(name, l->a.v[i].s))
            return true;
    return false;
}

/* Whether `name`, or a host its wildcard matches, is in one of the domains
 * `l`: what excludedDNSDomains refuses. */
static bool
reaches_any_domain(const char *name, const struct val *l)
{
    for (size_t i = 0; l != NULL && l->t == V_ARR && i < l->a.n; i++)
        if (pki_wildcard_names(str_c(name), l->a.v[i].s))
            return true;
    return in_any_domain(name, l);
}

static int
dns_check(const struct val *ca, const char *name, const char *what,
          const struct policy_ask *ask, struct errbuf *eb)
{
    struct val *permitted = val_get(ca, "permittedDNSDomains");

    if (permitted != NULL && permitted->t == V_ARR && permitted->a.n > 0 &&
        !in_any_domain(name, permitted))
        return refuse(eb, ask, what,
                      "'%s' is outside the certificate authority's permittedDNSDomains", name);
    if (reaches_any_domain(name, val_get(ca, "excludedDNSDomains")))
        return refuse(eb, ask, what,
                      "'%s' is in the certificate authority's excludedDNSDomains", name);
    return E_OK;
}

static int
ip_check(const struct val *ca, const char *ip, const struct policy_ask *ask, struct errbuf *eb)
{
    struct val   *l = val_get(ca, "permittedIPRanges");
    unsigned char addr[16];
    bool          v4;

    if (l == NULL || l->t != V_ARR || l->a.n == 0)
        return E_OK;
    if (ip_parse_family(str_c(ip), addr, &v4) == E_OK)
        for (size_t i = 0; i < l->a.n; i++) {
            struct cidr c;
            if (cidr_parse(l->a.v[i].s, &c) == E_OK && cidr_holds(&c, addr, v4))
                return E_OK;
        }
    return refuse(eb, ask, "ipAddresses",
                  "'%s' is outside the certificate authority's permittedIPRanges", ip);
}

static bool
dns_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

/* Whether OpenSSL takes common name `s` for a DNS name, and so holds it to
 * DNS name constraints (cn2dnsid in crypto/x509/v3_ncons.c, OpenSSL 3.0):
 * letters, digits and '_' anywhere; '-' and '.' never first nor last; no '.'
 * beside another '.' or a '-'; at least one '.'. */
static bool
cn_is_dns(const char *s)
{
    size_t n = strlen(s);
    bool   dot = false;

    for (size_t i = 0; i < n; i++) {
        if (dns_char(s[i]))
            continue;
        if (i == 0 || i == n - 1)
            return false;
        if (s[i] == '.' && s[i + 1] != '.' && s[i + 1] != '-' && s[i - 1] != '-')
            dot = true;
        else if (s[i] != '-')
            return false;
    }
    return dot;
}

/* D of a wildcard name "L.D" whose first label L holds a '*' ("*.D", or
 * the partial "b*.D" OpenSSL's host check also honours); NULL for a name
 * that is none. */
static const char *
wildcard_base(const char *name)
{
    const char *dot = strchr(name, '.'), *star = strchr(name, '*');

    return dot != NULL && star != NULL && star < dot ? dot + 1 : NULL;
}

/* A common name clients may read a host name from: OpenSSL's rule, and a
 * wildcard ("*.bad.example.com", "b*.example.com"), which OpenSSL's name
 * constraints pass by but its host name check (X509_check_host) honours in
 * a common name. */
static bool
cn_is_hostname(const char *s)
{
    const char *base = wildcard_base(s);

    if (base == NULL)
        return cn_is_dns(s);
    for (const char *p = s; p < base - 1; p++)
        if (!dns_char(*p) && *p != '-' && *p != '*')
            return false;
    return cn_is_dns(base);
}

/* A partial wildcard ("b*.example.com") is held to the constraints as a
 * host name, but is not one a SAN may carry (only "*." is: dns_ok). */
bool
policy_cn_is_dns_name(const char *cn)
{
    return cn != NULL && cn_is_hostname(cn) && strchr(cn, '_') == NULL &&
           (strchr(cn, '*') == NULL ||
            (strncmp(cn, "*.", 2) == 0 && strchr(cn + 1, '*') == NULL));
}

static int
ca_names_check(const struct val *ca, const struct policy_ask *ask, struct errbuf *eb)
{
    const struct pki_names *n = ask->names;
    int                     rc = E_OK;

    for (size_t i = 0; rc == E_OK && i < n->ndns; i++) /* the SANs first, as fields[] */
        rc = dns_check(ca, n->dns[i], "dnsNames", ask, eb);
    for (size_t i = 0; rc == E_OK && i < n->nip; i++)
        rc = ip_check(ca, n->ip[i], ask, eb);
    if (rc == E_OK && n->cn != NULL && cn_is_hostname(n->cn))
        rc = dns_check(ca, n->cn, "commonName", ask, eb);
    return rc;
}

static bool
named(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* RFC 5280 4.1.2.6: a certificate names its subject, in the subject or in
 * the subjectAltName (then critical); one that names nobody is refused,
 * whatever the template allows (a review had a template with no list issue
 * one to csrAttributes {}). */
static int
names_someone(const struct policy_ask *ask, struct errbuf *eb)
{
    const struct pki_names *n = ask->names;

    if (named(n->cn) || named(n->o) || named(n->ou) || named(n->l) || named(n->st) ||
        named(n->c) || n->ndns + n->nip + n->nuri + n->nemail > 0)
        return E_OK;
    return refuse(eb, ask, "commonName",
                  "A certificate must name its subject: a commonName (or another subject "
                  "field) or a subject alternative name");
}

int
policy_judge(const struct val *t, const struct val *chain, size_t nchain,
             const struct policy_ask *ask, int64_t now_ms, int64_t *not_before_ms,
             int64_t *not_after_ms, struct errbuf *eb)
{
    int64_t validity = 0, ca_end;
    int     rc;

    if ((rc = policy_chain_signs(chain, nchain, "issuingTemplateID",
                                 "The template's certificate authority", eb)) != E_OK)
        return rc;
    /* checked when the template was written, but the CA's usableInSubNamespaces
     * may have been turned off since */
    if ((rc = policy_ca_usable(&chain[0], val_get_str(t, "namespace"), "issuingTemplateID",
                               eb)) != E_OK)
        return rc;
    if ((rc = way_check(t, ask, eb)) != E_OK || (rc = key_check(t, ask, eb)) != E_OK ||
        (rc = usages_left(t, ask, eb)) != E_OK || (rc = names_someone(ask, eb)) != E_OK)
        return rc;
    for (size_t i = 0; i < ARRAY_LEN(fields); i++)
        if ((rc = field_check(t, &fields[i], ask, eb)) != E_OK)
            return rc;
    for (size_t i = 0; i < nchain; i++)
        if ((rc = ca_names_check(&chain[i], ask, eb)) != E_OK)
            return rc;
    if ((rc = validity_of(t, ask, &validity, eb)) != E_OK)
        return rc;
    /* from the backdated start: the lifetime is the validity, not a minute more;
     * backdated by at most half of it, so that a short one is not born expired */
    if (now_ms - *not_before_ms > validity / 2)
        *not_before_ms = now_ms - validity / 2;
    *not_after_ms = *not_before_ms + validity;
    if (time_parse(val_get_str(&chain[0], "validityEnd"), &ca_end) != E_OK)
        return errbuf_set(eb, E_INTERNAL, "certificate authority: unreadable validityEnd");
    if (*not_after_ms > ca_end && ask->validity.len > 0)
        return errbuf_attr(eb, E_VALIDATION, "validity",
                           "Attribute 'validity' reaches beyond the certificate authority's "
                           "own expiry");
    if (*not_after_ms > ca_end)
        *not_after_ms = ca_end; /* the default is clipped to the CA's own expiry */
    if (*not_after_ms <= now_ms)
        return errbuf_attr(eb, E_VALIDATION, "issuingTemplateID",
                           "The certificate authority has expired");
    return E_OK;
}
