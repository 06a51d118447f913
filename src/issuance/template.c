/* template.c - the `issuingtemplates` resource (API.md 7.4): what a
 * certificate request may ask of a CA. Every pattern is checked when the
 * template is written (an invalid one is 422 then, never a failure at
 * issuance). See policy.c for how a request is judged against it. */
#include "../core/timeutil.h"
#include "../pki/certext.h"
#include "../pki/issue.h"
#include "local.h"
#include "policy.h"

#define REGEX_LIST(n, d)                                                                       \
    {                                                                                          \
        (n), T_STRLIST, A_QUERY, .max_len = POLICY_REGEXES_MAX, .doc = (d)                     \
    }

static const char *const key_usages[] = {
    "digitalSignature", "nonRepudiation",   "contentCommitment",
    "keyEncipherment",  "dataEncipherment", "keyAgreement",
    "encipherOnly",     "decipherOnly",     NULL
};

static const struct attr template_attrs[] = {
    { "name", T_STRING, A_REQUIRED | A_QUERY | A_ORDER, .pattern = "^[a-zA-Z0-9._ -]+$",
      .max_len = 256 },
    { "description", T_STRING, A_QUERY, .max_len = 1024 },
    { "certificateAuthorityID", T_STRING, A_REQUIRED | A_QUERY,
      .doc = "a CA of this namespace, or of an ancestor whose usableInSubNamespaces is true" },
    REGEX_LIST("subjectCNRegexes", "each a POSIX extended regex matched against the whole "
                                   "value; an empty list forbids the field"),
    REGEX_LIST("subjectORegexes", NULL),
    REGEX_LIST("subjectOURegexes", NULL),
    REGEX_LIST("subjectLRegexes", NULL),
    REGEX_LIST("subjectSTRegexes", NULL),
    { "subjectCValues", T_STRLIST, A_QUERY, .pattern = "^[A-Z]{2}$",
      .max_len = POLICY_REGEXES_MAX, .doc = "country codes allowed; empty forbids it" },
    REGEX_LIST("sanDNSNameRegexes", NULL),
    REGEX_LIST("sanIPAddressRegexes", NULL),
    REGEX_LIST("sanURIRegexes", NULL),
    REGEX_LIST("sanEmailRegexes", NULL),
    { "keyTypes", T_STRLIST, A_QUERY, .enums = pki_key_type_names, .max_len = 8,
      .def = "EC_P256,EC_P384,RSA_2048,RSA_3072,RSA_4096,ED25519" },
    { "maxValidity", T_STRING, 0, .max_len = 32, .def = "9552h",
      .doc = "Go duration (398 days by default); also capped by the CA's own expiry" },
    { "defaultValidity", T_STRING, 0, .max_len = 32,
      .doc = "Go duration, when a request names none; at most maxValidity (absent: 2160h, "
             "90 days, or maxValidity when that is shorter)" },
    { "keyUsages", T_STRLIST, 0, .enums = key_usages, .max_len = 9,
      .def = "digitalSignature,keyEncipherment",
      .doc = "at least one; each leaf gets those its key may carry: RSA digitalSignature, "
             "nonRepudiation, keyEncipherment, dataEncipherment; EC digitalSignature, "
             "nonRepudiation, keyAgreement (encipherOnly, decipherOnly with it); Ed25519 "
             "digitalSignature, nonRepudiation" },
    { "extendedKeyUsages", T_STRLIST, 0,
      .pattern = "^(serverAuth|clientAuth|codeSigning|emailProtection|timeStamping|"
                 "[0-2](\\.(0|[1-9][0-9]*))+)$",
      .doc = "at least one; not OCSP signing (1.3.6.1.5.5.7.3.9) nor anyExtendedKeyUsage "
             "(2.5.29.37.0): a leaf with either would answer OCSP for its CA; an OID's arcs "
             "without leading zeros",
      .max_len = 16, .def = "serverAuth" },
    { "csrUploadAllowed", T_BOOL, 0, .def = "true" },
    { "serverKeyGenerationAllowed", T_BOOL, 0, .def = "false" },
};

/* A duration attribute as milliseconds, > 0. */
static int
duration_of(const struct val *obj, const char *attr, int64_t *ms, struct errbuf *eb)
{
    return policy_duration(val_get_str(obj, attr), attr, "720h", ms, eb);
}

#define DEFAULT_VALIDITY    "2160h"
#define DEFAULT_VALIDITY_MS (INT64_C(2160) * 3600 * 1000)

/* Without a defaultValidity, 90 days, or maxValidity when that is shorter: a
 * template that only caps the validity is whole. */
static int
validities_check(struct arena *a, struct val *obj, struct errbuf *eb)
{
    int64_t max, def;
    int     rc;

    if ((rc = duration_of(obj, "maxValidity", &max, eb)) != E_OK)
        return rc;
    if (val_get_str(obj, "defaultValidity").len == 0)
        val_set(a, obj, "defaultValidity",
                max < DEFAULT_VALIDITY_MS ? *val_get(obj, "maxValidity")
                                          : val_str(str_c(DEFAULT_VALIDITY)));
    if ((rc = duration_of(obj, "defaultValidity", &def, eb)) != E_OK)
        return rc;
    if (def > max)
        return errbuf_attr(eb, E_VALIDATION, "defaultValidity",
                           "Attribute 'defaultValidity' must not exceed 'maxValidity'");
    return E_OK;
}

/* The CA a template names: of its namespace, or of an ancestor that lets the
 * namespaces below use it. */
static int
ca_check(struct hook_ctx *ctx, struct tx *tx, const struct val *obj, struct errbuf *eb)
{
    struct str id = val_get_str(obj, "certificateAuthorityID");
    struct val ca;
    int        rc = find_up(tx, &spec_certificateauthority, ctx->ns, id, ctx->a, &ca);

    if (rc == E_NOTFOUND)
        return errbuf_attr(eb, E_VALIDATION, "certificateAuthorityID",
                           "No certificate authority '%.*s' in this namespace or above",
                           STR_FMT(id));
    if (rc != E_OK)
        return errbuf_set(eb, rc, "store error");
    return policy_ca_usable(&ca, ctx->ns, "certificateAuthorityID", eb);
}

/* Purposes that would make a leaf an OCSP responder for its CA
 * (pki_eku_allowed), also written as their OIDs. */
static int
ekus_check(const struct val *obj, struct errbuf *eb)
{
    const struct val *l = val_get(obj, "extendedKeyUsages");

    for (size_t i = 0; l != NULL && l->t == V_ARR && i < l->a.n; i++) {
        char name[64];
        snprintf(name, sizeof name, "%.*s", STR_FMT(l->a.v[i].s));
        if (!pki_eku_allowed(name))
            return errbuf_attr(eb, E_VALIDATION, "extendedKeyUsages",
                               "'%s' may not be issued from a template: a certificate with it "
                               "could answer OCSP for its certificate authority",
                               name);
    }
    return E_OK;
}

static int
template_before_write(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                      struct val *obj, const struct val *old, struct errbuf *eb)
{
    int rc;

    KW_UNUSED(s);
    KW_UNUSED(old);
    if ((rc = policy_regexes_check(obj, eb)) != E_OK ||
        (rc = validities_check(ctx->a, obj, eb)) != E_OK ||
        (rc = ekus_check(obj, eb)) != E_OK || (rc = policy_usages_check(obj, eb)) != E_OK)
        return rc;
    return ca_check(ctx, tx, obj, eb);
}

static struct spec_rt template_rt;

const struct spec spec_issuingtemplate = {
    .identity = "issuingtemplate",
    .rest = "issuingtemplates",
    .attrs = template_attrs,
    .nattrs = ARRAY_LEN(template_attrs),
    .unique = "name",
    .default_order = "name",
    .ops = OP_ALL,
    .access = ACCESS_NORMAL,
    .hooks = { .before_write = template_before_write },
    .rt = &template_rt,
};
