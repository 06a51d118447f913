/* request.c - the `certificaterequests` resource (API.md 7.4): the
 * certificate request API.
 *
 * Everything slow happens in prepare, on the request's thread (or on the
 * work pool when an RSA key must be generated): the CSR's signature, the
 * policy, the signature of the certificate. The writer only stores the
 * request and the certificate, in one transaction, after checking that the
 * CA is still there and enabled. A request that policy refuses is kept
 * FAILED and answered 422 (hook_ctx.refusal); one that is malformed is
 * answered 422 and not kept. */
#include <stddef.h>
#include <stdio.h>

#include "../core/net.h"
#include "../core/nspath.h"
#include "../core/timeutil.h"
#include "../inventory/inventory.h"
#include "../notify/webhook.h"
#include "../pki/issue.h"
#include "local.h"
#include "policy.h"

#define CSR_MAX      (64 * 1024)
#define BACKDATE_MS  (60 * 1000) /* clients whose clocks run slow (within the validity) */
#define NAME_MAX_LEN 1024

static const char *const statuses[] = { "ISSUED", "FAILED", NULL };

static const struct attr request_attrs[] = {
    { "issuingTemplateID", T_STRING, A_REQUIRED | A_CREATIONONLY | A_QUERY,
      .doc = "a template of this namespace" },
    { "csr", T_STRING, A_CREATIONONLY, .max_len = CSR_MAX,
      .doc = "PEM PKCS#10; or csrAttributes" },
    { "csrAttributes", T_ANY, A_CREATIONONLY,
      .doc = "commonName, organization, organizationalUnit, locality, state, country, "
             "dnsNames, ipAddresses, uris, emails, keyType: the server makes the key and "
             "answers it once, as privateKey (PKCS#8 PEM)" },
    { "validity", T_STRING, A_CREATIONONLY, .max_len = 32,
      .doc = "Go duration; default (and then read back): the template's defaultValidity, "
             "clipped to the CA's own expiry" },
    { "status", T_STRING, A_READONLY | A_QUERY, .enums = statuses },
    { "failureReason", T_STRING, A_READONLY },
    { "certificateID", T_STRING, A_READONLY | A_QUERY },
    { "certificateAuthorityID", T_STRING, A_READONLY | A_QUERY },
    { "serialNumber", T_STRING, A_READONLY | A_QUERY, .format = F_HEX },
    { "validityEnd", T_TIME, A_READONLY | A_QUERY | A_ORDER },
    { "certificateChain", T_STRING, A_READONLY,
      .doc = "PEM: the certificate, then its CAs up to the root" },
};

/* What prepare made for before_write. */
struct issued {
    struct inv_cert cert;
    struct str      ca_id;
};

/* ---- what is asked ---------------------------------------------------------------- */

/* A name as csrAttributes may give it: a string of 1 to NAME_MAX_LEN bytes
 * without U+0000, which would cut it short in the certificate (a review had
 * "Acme\u0000Evil Corp" kept in the request and issued as "Acme"). */
static bool
name_ok(const struct val *v)
{
    return v->t == V_STR && v->s.len > 0 && v->s.len <= NAME_MAX_LEN &&
           memchr(v->s.p, '\0', v->s.len) == NULL;
}

/* "csrAttributes.<k>": where a refusal of field k is told. */
static const char *
attr_name_of(char buf[64], struct str k)
{
    bool plain = k.len > 0 && k.len <= 40;

    for (size_t i = 0; plain && i < k.len; i++)
        plain = (k.p[i] >= 'a' && k.p[i] <= 'z') || (k.p[i] >= 'A' && k.p[i] <= 'Z') ||
                (k.p[i] >= '0' && k.p[i] <= '9') || k.p[i] == '_';
    if (!plain)
        return "csrAttributes";
    snprintf(buf, 64, "csrAttributes.%.*s", (int)k.len, k.p);
    return buf;
}

static const char *
attr_string(struct arena *a, const struct val *m, const char *k, struct errbuf *eb, int *rc)
{
    struct val *v = val_get(m, k);
    char        attr[64];

    if (v == NULL || *rc != E_OK)
        return NULL;
    if (!name_ok(v)) {
        *rc = errbuf_attr(eb, E_VALIDATION, attr_name_of(attr, str_c(k)),
                          "csrAttributes.%s must be a non-empty string of at most %d bytes, "
                          "without U+0000",
                          k, NAME_MAX_LEN);
        return NULL;
    }
    return arena_strndup(a, v->s.p, v->s.len);
}

static const char **
attr_strings(struct arena *a, const struct val *m, const char *k, size_t *n, struct errbuf *eb,
             int *rc)
{
    struct val  *v = val_get(m, k);
    const char **out;
    char         attr[64];

    *n = 0;
    if (v == NULL || *rc != E_OK)
        return NULL;
    if (v->t != V_ARR || v->a.n > PKI_SAN_MAX) {
        *rc = errbuf_attr(eb, E_VALIDATION, attr_name_of(attr, str_c(k)),
                          "csrAttributes.%s must be a list of at most %d strings", k,
                          PKI_SAN_MAX);
        return NULL;
    }
    out = arena_calloc(a, v->a.n + 1, sizeof *out);
    for (size_t i = 0; i < v->a.n; i++) {
        if (!name_ok(&v->a.v[i])) {
            *rc = errbuf_attr(eb, E_VALIDATION, attr_name_of(attr, str_c(k)),
                              "csrAttributes.%s must hold non-empty strings of at most %d "
                              "bytes, without U+0000",
                              k, NAME_MAX_LEN);
            return NULL;
        }
        out[i] = arena_strndup(a, v->a.v[i].s.p, v->a.v[i].s.len);
    }
    *n = v->a.n;
    return out;
}

static const char *const attr_keys[] = { "commonName", "organization", "organizationalUnit",
                                         "locality",   "state",        "country",
                                         "dnsNames",   "ipAddresses",  "uris",
                                         "emails",     "keyType",      NULL };

/* csrAttributes as names and a key type. 422 on csrAttributes. */
static int
ask_of_attrs(struct arena *a, const struct val *m, struct pki_names *n, enum pki_key_type *type,
             struct errbuf *eb)
{
    int  rc = E_OK;
    char attr[64];

    if (m->t != V_MAP)
        return errbuf_attr(eb, E_VALIDATION, "csrAttributes",
                           "Attribute 'csrAttributes' must be an object");
    for (size_t i = 0; i < m->m.n; i++) {
        bool known = false;
        for (const char *const *k = attr_keys; *k != NULL; k++)
            known = known || str_eq_c(m->m.kv[i].k, *k);
        if (!known)
            return errbuf_attr(eb, E_VALIDATION, attr_name_of(attr, m->m.kv[i].k),
                               "Unknown attribute 'csrAttributes.%.*s'",
                               (int)(m->m.kv[i].k.len > 64 ? 64 : m->m.kv[i].k.len),
                               m->m.kv[i].k.p);
    }
    n->cn = attr_string(a, m, "commonName", eb, &rc);
    n->o = attr_string(a, m, "organization", eb, &rc);
    n->ou = attr_string(a, m, "organizationalUnit", eb, &rc);
    n->l = attr_string(a, m, "locality", eb, &rc);
    n->st = attr_string(a, m, "state", eb, &rc);
    n->c = attr_string(a, m, "country", eb, &rc);
    n->dns = attr_strings(a, m, "dnsNames", &n->ndns, eb, &rc);
    n->ip = attr_strings(a, m, "ipAddresses", &n->nip, eb, &rc);
    n->uri = attr_strings(a, m, "uris", &n->nuri, eb, &rc);
    n->email = attr_strings(a, m, "emails", &n->nemail, eb, &rc);
    const char *kt = attr_string(a, m, "keyType", eb, &rc);
    *type = kt != NULL ? pki_key_type_parse(kt) : PKI_KEY_EC_P256;
    if (rc == E_OK && *type == PKI_KEY_NONE)
        rc = errbuf_attr(eb, E_VALIDATION, "csrAttributes.keyType",
                         "csrAttributes.keyType must be one of EC_P256, EC_P384, RSA_2048, "
                         "RSA_3072, RSA_4096, ED25519");
    return rc;
}

/* ---- well-formed names (RFC 5280 4.2.1.6), whatever a template allows ---------------- */

static bool
dns_ok(const char *s)
{
    size_t n = strlen(s), label = 0;

    if (strncmp(s, "*.", 2) == 0) /* a wildcard, as the leftmost label only */
        s += 2, n -= 2;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i <= n; i++) {
        char c = s[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   (c == '-' && label > 0))
            label++;
        else
            return false;
    }
    return true;
}

static bool
printable(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return false;
    return true;
}

static bool
email_ok(const char *s)
{
    const char *at = strchr(s, '@');

    return at != NULL && at > s && strchr(at + 1, '@') == NULL && printable(s) &&
           dns_ok(at + 1);
}

static bool
uri_ok(const char *s)
{
    size_t i = 0;

    while (
        (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
        (i > 0 && ((s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.')))
        i++;
    return i > 0 && s[i] == ':' && s[i + 1] != '\0' && printable(s);
}

static bool
ip_ok(const char *s)
{
    unsigned char ip[16];

    return ip_parse(str_c(s), ip) == E_OK;
}

static const char *
attr_name(char buf[64], const char *prefix, const char *what)
{
    snprintf(buf, 64, "%s.%s", prefix, what);
    return buf;
}

static int
list_check(const char *const *v, size_t n, bool (*ok)(const char *), const char *prefix,
           const char *what, struct errbuf *eb)
{
    char attr[64];

    for (size_t i = 0; i < n; i++)
        if (!ok(v[i]))
            return errbuf_attr(eb, E_VALIDATION, attr_name(attr, prefix, what),
                               "'%.200s' is not a well-formed name for %s.%s", v[i], prefix,
                               what);
    return E_OK;
}

/* RFC 5280 Appendix A's upper bounds of the subject attributes a leaf
 * carries, in characters (those of a CA's subject are pki/subject.c's). */
static const struct {
    const char *field;
    size_t      off, ub;
} subject_bounds[] = {
    { "commonName", offsetof(struct pki_names, cn), 64 },
    { "organization", offsetof(struct pki_names, o), 64 },
    { "organizationalUnit", offsetof(struct pki_names, ou), 64 },
    { "locality", offsetof(struct pki_names, l), 128 },
    { "state", offsetof(struct pki_names, st), 128 },
};

static size_t
utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int
subject_check(const struct pki_names *n, const char *prefix, struct errbuf *eb)
{
    char attr[64];

    for (size_t i = 0; i < ARRAY_LEN(subject_bounds); i++) {
        const char *v = *(const char *const *)((const char *)n + subject_bounds[i].off);
        if (v != NULL && utf8_chars(v) > subject_bounds[i].ub)
            return errbuf_attr(eb, E_VALIDATION,
                               attr_name(attr, prefix, subject_bounds[i].field),
                               "The %s must be at most %zu characters (RFC 5280)",
                               subject_bounds[i].field, subject_bounds[i].ub);
    }
    return E_OK;
}

/* 422 on "<prefix>.<field>" for a name no certificate should carry. */
static int
names_check(const struct pki_names *n, const char *prefix, struct errbuf *eb)
{
    char attr[64];
    int  rc;

    if ((rc = subject_check(n, prefix, eb)) != E_OK)
        return rc;

    if ((rc = list_check(n->dns, n->ndns, dns_ok, prefix, "dnsNames", eb)) != E_OK ||
        (rc = list_check(n->ip, n->nip, ip_ok, prefix, "ipAddresses", eb)) != E_OK ||
        (rc = list_check(n->email, n->nemail, email_ok, prefix, "emails", eb)) != E_OK ||
        (rc = list_check(n->uri, n->nuri, uri_ok, prefix, "uris", eb)) != E_OK)
        return rc;
    if (n->c != NULL && !(strlen(n->c) == 2 && n->c[0] >= 'A' && n->c[0] <= 'Z' &&
                          n->c[1] >= 'A' && n->c[1] <= 'Z'))
        return errbuf_attr(eb, E_VALIDATION, attr_name(attr, prefix, "country"),
                           "The country must be a two-letter code (ISO 3166)");
    return E_OK;
}

/* ---- what it is judged by ------------------------------------------------------------ */

/* The template and the CAs from the one it names up to the root. 422 on
 * issuingTemplateID when they are not there. Whether the CA may be used from
 * the template's namespace is its policy, judged (and a refusal kept) with
 * the rest in policy_judge. */
static int
read_policy(struct hook_ctx *ctx, const struct val *obj, struct val *t, struct val *chain,
            size_t *n, struct errbuf *eb)
{
    struct str    id = val_get_str(obj, "issuingTemplateID");
    struct scope  here = { ctx->ns, false };
    struct errbuf te = { 0 };
    int           rc =
        kw_store->ops->find(kw_store, &spec_issuingtemplate, &here, "ID", id, ctx->a, t, &te);

    if (rc == E_NOTFOUND)
        return errbuf_attr(eb, E_VALIDATION, "issuingTemplateID",
                           "No issuing template '%.*s' in this namespace", STR_FMT(id));
    if (rc == E_OK)
        rc = ca_chain_read(NULL, ctx->a, val_get_str(t, "certificateAuthorityID"), chain, n);
    if (rc == E_NOTFOUND || (rc == E_OK && *n == 0))
        return errbuf_attr(eb, E_VALIDATION, "issuingTemplateID",
                           "The template's certificate authority no longer exists");
    if (rc == E_TOOBIG)
        return errbuf_attr(eb, E_VALIDATION, "issuingTemplateID",
                           "The template's certificate authority is more than %d certificate "
                           "authorities below its root",
                           POLICY_CHAIN_MAX);
    return rc == E_OK ? E_OK : errbuf_set(eb, rc, "store error");
}

/* ---- issuing ---------------------------------------------------------------------- */

/* A list of the template, as C strings in the arena. */
static const char **
list_of(struct arena *a, const struct val *t, const char *attr, size_t *n)
{
    struct val  *l = val_get(t, attr);
    size_t       len = l != NULL && l->t == V_ARR ? l->a.n : 0;
    const char **out = arena_calloc(a, len + 1, sizeof *out);

    for (*n = 0; *n < len; (*n)++)
        out[*n] = arena_strndup(a, l->a.v[*n].s.p, l->a.v[*n].s.len);
    return out;
}

static int
sign(struct hook_ctx *ctx, const struct val *t, const struct val *ca_obj,
     const struct pki_names *names, const EVP_PKEY *key, enum pki_key_type type,
     int64_t not_before, int64_t not_after, struct buf *der, struct errbuf *eb)
{
    struct str       ca_id = val_get_str(ca_obj, "ID");
    char             serial[PKI_SERIAL_HEX];
    const struct ca *ca;
    struct pki_leaf  p = { .names = names,
                           .key = key,
                           .not_before_ms = not_before,
                           .not_after_ms = not_after,
                           .crl_url = ca_url(ctx->a, ca_id, "crl"),
                           .ocsp_url = ca_url(ctx->a, ca_id, "ocsp"),
                           .issuers_url = ca_url(ctx->a, ca_id, "ca.crt") };
    int              rc;

    p.key_usages = policy_key_usages(ctx->a, t, type, &p.nkey_usages);
    p.ext_key_usages = list_of(ctx->a, t, "extendedKeyUsages", &p.next_key_usages);
    if ((rc = cas_get(ca_obj, &ca, eb)) != E_OK)
        return rc;
    rc = pki_leaf_sign(ca, &p, der, serial, eb);
    cas_put(ca);
    return rc;
}

/* The answer's fields of an issued certificate, and what before_write stores. */
static int
record(struct hook_ctx *ctx, struct val *obj, const struct val *ca_obj, const struct buf *der,
       struct errbuf *eb)
{
    struct issued *is = arena_calloc(ctx->a, 1, sizeof *is);
    int rc = inv_cert_of_der(ctx->a, (const unsigned char *)der->p, der->len, &is->cert, eb);

    if (rc != E_OK)
        return errbuf_set(eb, E_INTERNAL, "cannot read the certificate just signed");
    is->ca_id = val_get_str(ca_obj, "ID");
    val_set(ctx->a, &is->cert.fields, "certificateAuthorityID", val_str(is->ca_id));
    val_set(ctx->a, obj, "status", val_cstr("ISSUED"));
    val_set(ctx->a, obj, "certificateAuthorityID", val_str(is->ca_id));
    val_set(ctx->a, obj, "serialNumber", *val_get(&is->cert.fields, "serialNumber"));
    val_set(ctx->a, obj, "validityEnd", *val_get(&is->cert.fields, "validityEnd"));
    struct str chain = val_get_str(ca_obj, "certificateChain");
    struct buf pem;
    buf_init(&pem, SIZE_MAX / 2);
    if (inv_pem_append(&pem, is->cert.der) != E_OK ||
        buf_append(&pem, chain.p, chain.len) != E_OK) {
        buf_free(&pem);
        return errbuf_set(eb, E_INTERNAL, "out of memory");
    }
    val_set(ctx->a, obj, "certificateChain", val_str(arena_str(ctx->a, buf_str(&pem))));
    buf_free(&pem);
    ctx->data = is;
    return E_OK;
}

/* The generated key, answered once (never stored, wiped with the answer). */
static int
answer_key(struct hook_ctx *ctx, EVP_PKEY *key, struct errbuf *eb)
{
    struct buf pem;

    buf_init(&pem, 16 * 1024);
    if (pki_key_pem(key, &pem) != E_OK) {
        buf_wipe(&pem);
        return errbuf_set(eb, E_INTERNAL, "cannot encode the key");
    }
    ctx->secret = arena_str(ctx->a, buf_str(&pem));
    buf_wipe(&pem);
    if (ctx->once.t != V_MAP)
        ctx->once = val_map();
    val_set(ctx->a, &ctx->once, "privateKey", val_str(ctx->secret));
    return E_OK;
}

/* A refusal of policy (E_VALIDATION in `why`) is kept: the request is
 * stored FAILED and answered 422 (E_OK here). Any other error is returned. */
static int
refuse(struct hook_ctx *ctx, struct val *obj, const struct errbuf *why, struct errbuf *eb)
{
    if (why->code != E_VALIDATION)
        return errbuf_set(eb, why->code, "%s", why->msg);
    ctx->refusal = *why;
    ctx->refusal_key = "certificateRequestID";
    val_set(ctx->a, obj, "status", val_cstr("FAILED"));
    val_set(ctx->a, obj, "failureReason",
            val_cstr(arena_strndup(ctx->a, why->msg, strlen(why->msg))));
    return E_OK;
}

/* What is asked, in what way: a CSR or attributes. */
struct ask {
    struct pki_csr    csr;
    struct pki_names  names;
    struct policy_ask p;
};

static int
read_ask(struct hook_ctx *ctx, const struct val *obj, struct ask *k, struct errbuf *eb)
{
    struct val *csr = val_get(obj, "csr"), *attrs = val_get(obj, "csrAttributes");
    struct str  validity = val_get_str(obj, "validity");
    int64_t     ms;
    int         rc;

    if (csr != NULL && csr->t == V_STR && csr->s.len == 0)
        csr = NULL;
    if (attrs != NULL && attrs->t == V_NULL)
        attrs = NULL;
    if ((csr == NULL) == (attrs == NULL))
        return errbuf_attr(eb, E_VALIDATION, "csr",
                           csr == NULL ? "Send 'csr' (a PEM PKCS#10) or 'csrAttributes'"
                                       : "Send either 'csr' or 'csrAttributes', not both");
    /* Malformed is bad input, refused and not kept; too long is the policy's
     * refusal (policy.c validity_of), kept FAILED. */
    if (validity.len > 0 && policy_duration(validity, "validity", "720h", &ms, eb) != E_OK)
        return E_VALIDATION;
    k->p = (struct policy_ask){ .names = &k->names,
                                .prefix = csr != NULL ? "csr" : "csrAttributes",
                                .validity = val_get_str(obj, "validity"),
                                .generated = csr == NULL };
    if (csr == NULL)
        rc = ask_of_attrs(ctx->a, attrs, &k->names, &k->p.type, eb);
    else if ((rc = pki_csr_read(ctx->a, csr->s, &k->csr, eb)) == E_OK) {
        k->names = k->csr.names;
        k->p.type = k->csr.type;
    }
    return rc == E_OK ? names_check(&k->names, k->p.prefix, eb) : rc;
}

/* A request that names a host in its commonName alone (no SAN at all) gets
 * that name as its DNS SAN too, as Vault and step-ca do: TLS clients read no
 * host name from a common name any more (browsers since 2017, Go since 1.15;
 * two reviews' CI pipelines got certificates no client would accept). */
static bool
cn_as_san(struct arena *a, struct pki_names *n)
{
    if (n->ndns + n->nip + n->nuri + n->nemail > 0 || !policy_cn_is_dns_name(n->cn))
        return false;
    n->dns = arena_calloc(a, 1, sizeof *n->dns);
    n->dns[0] = n->cn;
    n->ndns = 1;
    return true;
}

/* Whether the SAN cn_as_san added (*added) is what `why` refuses: then it is
 * dropped, and the request is judged as it was asked. */
static bool
san_dropped(struct ask *k, bool *added, const struct errbuf *why)
{
    if (!*added || strstr(why->attr, "dnsNames") == NULL)
        return false;
    k->names.ndns = 0;
    k->names.dns = NULL;
    *added = false;
    return true;
}

/* The policy's verdict on k (san_dropped once). */
static int
judge(const struct val *t, const struct val *chain, size_t n, struct ask *k, int64_t now,
      int64_t *not_before, int64_t *not_after, bool *added, struct errbuf *why)
{
    int64_t start = *not_before;
    int     rc = policy_judge(t, chain, n, &k->p, now, not_before, not_after, why);

    if (rc == E_OK || !san_dropped(k, added, why))
        return rc;
    *why = (struct errbuf){ 0 };
    *not_before = start;
    return policy_judge(t, chain, n, &k->p, now, not_before, not_after, why);
}

static int
issue(struct hook_ctx *ctx, struct val *obj, struct ask *k, struct errbuf *eb)
{
    struct val    t, chain[POLICY_CHAIN_MAX];
    size_t        n = 0;
    int64_t       now = time_now_ms(), not_before = now - BACKDATE_MS, not_after;
    struct errbuf why = { 0 };
    EVP_PKEY     *key = NULL;
    struct buf    der;
    int           rc;

    if ((rc = read_policy(ctx, obj, &t, chain, &n, eb)) != E_OK)
        return rc;
    bool added = cn_as_san(ctx->a, &k->names);
    if (judge(&t, chain, n, k, now, &not_before, &not_after, &added, &why) != E_OK)
        return refuse(ctx, obj, &why, eb);
    if (k->p.validity.len == 0) /* what applied: the template's default (it read "") */
        val_set(ctx->a, obj, "validity", *val_get(&t, "defaultValidity"));
    if (k->p.generated && (key = pki_key_generate(k->p.type)) == NULL)
        return errbuf_set(eb, E_INTERNAL, "cannot generate a key");
    buf_init(&der, 64 * 1024);
    bool refused = false;
    for (int tries = 0; tries < 2; tries++) {
        buf_reset(&der);
        why = (struct errbuf){ 0 };
        rc = sign(ctx, &t, &chain[0], &k->names, key != NULL ? key : k->csr.key, k->p.type,
                  not_before, not_after, &der, eb);
        /* what relying parties check: the constraints written in the chain's
         * certificates; a SAN cn_as_san added that breaks them is dropped */
        refused = rc == E_OK && ca_leaf_within(chain, n, &der, k->p.prefix, &why) != E_OK;
        if (!refused || !san_dropped(k, &added, &why))
            break;
    }
    if (refused)
        rc = refuse(ctx, obj, &why, eb);
    else if (rc == E_OK && (rc = record(ctx, obj, &chain[0], &der, eb)) == E_OK && key != NULL)
        rc = answer_key(ctx, key, eb);
    buf_free(&der);
    EVP_PKEY_free(key);
    return rc;
}

/* ---- hooks ----------------------------------------------------------------------- */

static int
request_prepare(struct hook_ctx *ctx, const struct spec *s, struct val *obj, bool create,
                struct errbuf *eb)
{
    struct ask k = { 0 };
    int        rc;

    KW_UNUSED(s);
    if (!create)
        return E_OK;
    if ((rc = read_ask(ctx, obj, &k, eb)) == E_OK)
        rc = issue(ctx, obj, &k, eb);
    pki_csr_free(&k.csr);
    return rc;
}

static bool
request_slow(const struct spec *s, const struct val *obj)
{
    struct val *attrs = val_get(obj, "csrAttributes");

    KW_UNUSED(s);
    return attrs != NULL && pki_key_type_slow(val_key_type(attrs, "keyType"));
}

/* The CA, or one above it, may have been disabled or revoked since prepare
 * read them, or the CA deleted (a CA above deleted with ?override=true ends
 * the walk: it no longer says anything). */
static int
ca_still_issues(struct hook_ctx *ctx, struct tx *tx, struct str ca_id, struct errbuf *eb)
{
    struct val chain[POLICY_CHAIN_MAX];
    size_t     n;
    int        rc = ca_chain_read(tx, ctx->a, ca_id, chain, &n);
    bool       stops = rc == E_NOTFOUND && n == 0;

    if (rc != E_OK && rc != E_NOTFOUND && rc != E_TOOBIG)
        return errbuf_set(eb, rc, "store error");
    for (size_t i = 0; i < n && !stops; i++)
        stops = ca_disabled(&chain[i]) || policy_ca_revoked(&chain[i]);
    if (stops)
        return errbuf_attr(eb, E_VALIDATION, "issuingTemplateID",
                           "The template's certificate authority (or one above it) is "
                           "disabled, revoked or gone");
    return E_OK;
}

static int
request_before_write(struct hook_ctx *ctx, const struct spec *s, struct tx *tx, struct val *obj,
                     const struct val *old, struct errbuf *eb)
{
    struct issued *is = ctx->data;
    struct val     cert;
    bool           dup;
    int            rc;

    KW_UNUSED(s);
    if (old != NULL || is == NULL)
        return E_OK; /* a refusal is kept as it is */
    if ((rc = ca_still_issues(ctx, tx, is->ca_id, eb)) != E_OK ||
        (rc = inv_put(tx, ctx->a, ctx->ns, &is->cert, "ISSUED", NULL, &cert, &dup, eb)) != E_OK)
        return rc;
    val_set(ctx->a, obj, "certificateID", *val_get(&cert, "ID"));
    return webhook_emit(tx, ctx->a, ctx->ns, "certificate.issued", &cert, "certificate", eb);
}

static const char *const request_csv[] = { "ID",           "namespace",         "createTime",
                                           "status",       "issuingTemplateID", "certificateID",
                                           "serialNumber", "validityEnd",       NULL };
static const char *const request_indexes[] = { "*certificateAuthorityID,serialNumber", NULL };

/* A namespace deleted: its unexpired requests of a CA outside it stay that
 * CA's record, in its namespace (OCSP answers from them; they hold the CA
 * against a delete without ?override=true, as the certificates they issued
 * are still valid: a code review deleted such a CA without it). */
static int
request_outlive(struct hook_ctx *ctx, const struct spec *s, struct tx *tx, struct str ns,
                struct errbuf *eb)
{
    struct listq q = { .scope = { STR("/"), true }, .limit = -1 };
    struct val   cas = val_arr();
    int          rc = tx->ops->list(tx, &spec_certificateauthority, &q, ctx->a, &cas);

    if (rc != E_OK)
        return errbuf_set(eb, rc, "store error");
    for (size_t i = 0; i < cas.a.n && rc == E_OK; i++) { /* the CAs outside only */
        if (nspath_within(val_get_str(&cas.a.v[i], "namespace"), ns))
            continue;
        struct fval   id = { .t = FV_STR, .s = val_get_str(&cas.a.v[i], "ID") };
        struct fnode *f =
            filter_bool(ctx->a, F_AND, filter_cmp(ctx->a, "certificateAuthorityID", F_EQ, id),
                        filter_cmp(ctx->a, "validityEnd", F_GT,
                                   (struct fval){ .t = FV_TIME, .i = time_now_ms() }));
        rc = ca_records_outlive(ctx, tx, s, ns, f, eb);
    }
    return rc;
}

static struct spec_rt request_rt;

const struct spec spec_certificaterequest = {
    .identity = "certificaterequest",
    .rest = "certificaterequests",
    .attrs = request_attrs,
    .nattrs = ARRAY_LEN(request_attrs),
    .default_order = "createTime",
    /* Not deletable: the CA's record of what it issued (OCSP answers from
     * it; a CA is protected while it holds unexpired ones). */
    .ops = OP_LIST | OP_CREATE | OP_GET,
    .access = ACCESS_NORMAL,
    .bulk = true,
    .hooks = { .prepare = request_prepare,
               .slow = request_slow,
               .before_write = request_before_write,
               .outlive = request_outlive },
    .csv_columns = request_csv,
    .indexes = request_indexes,
    .rt = &request_rt,
};
