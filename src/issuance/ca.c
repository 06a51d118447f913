/* ca.c - the `certificateauthorities` resource (API.md 7.4): roots and
 * intermediates the console creates, and CAs imported with their key.
 *
 * Creating one happens in prepare (on the work pool when its key is RSA):
 * the key is made or read, sealed under the master key (sealedKey, internal)
 * and dropped; nothing else in the process sees it until cas_get opens the
 * sealed key in pki/signer.c. before_write puts the CA's certificate into the
 * inventory of its namespace. */
#include <stdio.h>

#include <openssl/x509.h>

#include "../core/config.h"
#include "../core/nspath.h"
#include "../core/rnd.h"
#include "../core/seal.h"
#include "../core/timeutil.h"
#include "../inventory/inventory.h"
#include "../pki/issue.h"
#include "../store/filter.h"
#include "local.h"

#define PEM_MAX        (64 * 1024)
#define ROOT_VALIDITY  "87600h" /* ten years */
#define INTER_VALIDITY "43800h" /* five years, never beyond the parent */
#define BACKDATE_MS    (3600 * 1000)
#define DOMAIN_PATTERN "^\\.?[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$"
#define CONSTRAINTS    64

static const struct attr ca_attrs[] = {
    { "name", T_STRING, A_REQUIRED | A_QUERY | A_ORDER, .pattern = "^[a-zA-Z0-9._ -]+$",
      .max_len = 256 },
    { "description", T_STRING, A_QUERY, .max_len = 1024 },
    { "keyType", T_STRING, A_CREATIONONLY | A_QUERY, .enums = pki_key_type_names,
      .def = "EC_P256",
      .doc = "EC_P256 (default), EC_P384, RSA_2048, RSA_3072, RSA_4096 or ED25519" },
    { "subject", T_STRING, A_CREATIONONLY | A_QUERY | A_ORDER, .max_len = 1024,
      .doc = "RFC 4514 (CN=Acme Issuing CA,O=Acme); required unless importing" },
    { "validity", T_STRING, A_CREATIONONLY, .max_len = 32,
      .doc = "Go duration: 87600h for a root, 43800h for an intermediate by default "
             "(clipped to the parent's end); beyond the parent's end: refused" },
    { "parentID", T_STRING, A_CREATIONONLY | A_QUERY,
      .doc = "the CA that signs it (this namespace or an ancestor); absent: a root" },
    { "pathLength", T_INT, A_CREATIONONLY | A_QUERY, .min = -1, .max = 16, .def = "-1",
      .doc = "CAs allowed below it; -1 (the default): no limit but the parent's" },
    { "certificate", T_STRING, A_CREATIONONLY, .max_len = PEM_MAX,
      .doc = "PEM; sent on create with privateKey, imports that CA" },
    { "privateKey", T_STRING, A_CREATIONONLY | A_WRITEONLY | A_SECRET, .max_len = PEM_MAX,
      .doc = "PEM, with certificate on create; sealed at rest, never returned" },
    { "sealedKey", T_STRING, A_INTERNAL, .doc = "the key sealed under the master key" },
    { "certificateChain", T_STRING, A_READONLY,
      .doc = "PEM: its certificate, then its parents' up to the root" },
    { "certificateID", T_STRING, A_READONLY | A_QUERY,
      .doc = "its certificate's object in the inventory of its namespace" },
    { "fingerprint", T_STRING, A_READONLY | A_QUERY, .format = F_HEX },
    { "serialNumber", T_STRING, A_READONLY | A_QUERY, .format = F_HEX },
    { "validityEnd", T_TIME, A_READONLY | A_QUERY | A_ORDER },
    { "crlURL", T_STRING, A_READONLY | A_DERIVED },
    { "ocspURL", T_STRING, A_READONLY | A_DERIVED },
    { "caIssuersURL", T_STRING, A_READONLY | A_DERIVED },
    { "usableInSubNamespaces", T_BOOL, A_QUERY, .def = "false",
      .doc = "templates of the namespaces below may name it" },
    { "permittedDNSDomains", T_STRLIST, 0, .pattern = DOMAIN_PATTERN, .max_len = CONSTRAINTS,
      .doc = "names it may issue (and those below); empty: any" },
    { "excludedDNSDomains", T_STRLIST, 0, .pattern = DOMAIN_PATTERN, .max_len = CONSTRAINTS },
    { "permittedIPRanges", T_STRLIST, 0, .format = F_CIDR, .max_len = CONSTRAINTS },
    { "disabled", T_BOOL, A_QUERY, .def = "false",
      .doc = "no more issuance; its CRL and OCSP go on" },
    { "revocationTime", T_TIME, A_READONLY | A_DERIVED,
      .doc = "when its certificate was revoked (by its parent): no more issuance from it "
             "nor from the CAs below it; its CRL and OCSP go on" },
    { "revocationReason", T_STRING, A_READONLY | A_DERIVED },
};

/* What prepare made for before_write: the CA's certificate, parsed. */
struct made {
    struct inv_cert cert;
    bool            imported;
};

/* ---- shared with the other files of issuance/ -------------------------------- */

const char *
ca_url(struct arena *a, struct str id, const char *leaf)
{
    const char *base = cfg_pki_base();

    return arena_printf(a, "%s/pki/%.*s/%s", base, STR_FMT(id), leaf);
}

bool
ca_disabled(const struct val *obj)
{
    return val_get_true(obj, "disabled");
}

int
find_up(struct tx *tx, const struct spec *s, struct str ns, struct str id, struct arena *a,
        struct val *out)
{
    struct errbuf eb = { 0 };
    int           rc = tx != NULL ? tx->ops->find(tx, s, NULL, "ID", id, a, out)
                                  : kw_store->ops->find(kw_store, s, NULL, "ID", id, a, out, &eb);

    if (rc == E_OK && !nspath_within(ns, val_get_str(out, "namespace")))
        return E_NOTFOUND;
    return rc;
}

int
ca_chain_read(struct tx *tx, struct arena *a, struct str id, struct val *chain, size_t *n)
{
    struct errbuf eb = { 0 };
    int           rc;

    for (*n = 0; id.len > 0; (*n)++) {
        if (*n == POLICY_CHAIN_MAX)
            return E_TOOBIG;
        rc = tx != NULL
                 ? tx->ops->find(tx, &spec_certificateauthority, NULL, "ID", id, a, &chain[*n])
                 : kw_store->ops->find(kw_store, &spec_certificateauthority, NULL, "ID", id, a,
                                       &chain[*n], &eb);
        if (rc != E_OK)
            return rc;
        id = val_get_str(&chain[*n], "parentID");
    }
    return E_OK;
}

/* True when the client gave `attr` a value (not null, not ""). */
static bool
given(const struct val *obj, const char *attr)
{
    const struct val *v = val_get(obj, attr);

    return v != NULL && v->t != V_NULL && (v->t != V_STR || v->s.len > 0);
}

/* ---- a list of strings from an object ------------------------------------------ */

static const char **
strs_of(struct arena *a, const struct val *obj, const char *attr, size_t *n)
{
    struct val  *v = val_get(obj, attr);
    const char **out;

    *n = v != NULL && v->t == V_ARR ? v->a.n : 0;
    out = arena_calloc(a, *n + 1, sizeof *out);
    for (size_t i = 0; i < *n; i++)
        out[i] = arena_strndup(a, v->a.v[i].s.p, v->a.v[i].s.len);
    return out;
}

/* ---- creating one -------------------------------------------------------------- */

/* The chain of `parent_id`, the parent a new intermediate is signed by: a
 * CA of this namespace, or of an ancestor that lets the namespaces below use
 * it (as a template's CA), that may sign (policy_chain_signs), with room for
 * one more level (its pathLength; POLICY_CHAIN_MAX). */
static int
parent_read(struct hook_ctx *ctx, struct str parent_id, struct val *chain, size_t *n,
            struct errbuf *eb)
{
    int rc = ca_chain_read(NULL, ctx->a, parent_id, chain, n);

    if (rc != E_OK && rc != E_NOTFOUND && rc != E_TOOBIG)
        return errbuf_set(eb, rc, "store error");
    if (*n == 0 || !nspath_within(ctx->ns, val_get_str(&chain[0], "namespace")))
        return errbuf_attr(eb, E_VALIDATION, "parentID",
                           "No certificate authority '%.*s' in this namespace or above",
                           STR_FMT(parent_id));
    if (rc == E_NOTFOUND)
        return errbuf_attr(eb, E_VALIDATION, "parentID",
                           "A certificate authority above the parent has been deleted");
    if (rc == E_TOOBIG || *n == POLICY_CHAIN_MAX)
        return errbuf_attr(eb, E_VALIDATION, "parentID",
                           "A chain holds at most %d certificate authorities",
                           POLICY_CHAIN_MAX);
    if ((rc = policy_ca_usable(&chain[0], ctx->ns, "parentID", eb)) != E_OK)
        return rc;
    int64_t end;
    if (time_parse(val_get_str(&chain[0], "validityEnd"), &end) == E_OK && end <= time_now_ms())
        return errbuf_attr(eb, E_VALIDATION, "parentID",
                           "The parent certificate authority has expired");
    return policy_chain_signs(chain, *n, "parentID", "The parent certificate authority", eb);
}

static int
parent_check(struct hook_ctx *ctx, struct str parent_id, const struct val *obj,
             struct val *chain, size_t *n, struct errbuf *eb)
{
    struct val *plen, *own = val_get(obj, "pathLength");
    int         rc = parent_read(ctx, parent_id, chain, n, eb);

    if (rc != E_OK)
        return rc;
    plen = val_get(&chain[0], "pathLength");
    if (plen != NULL && plen->t == V_INT && plen->i == 0)
        return errbuf_attr(
            eb, E_VALIDATION, "parentID",
            "The parent's pathLength (0) allows no certificate authority below it");
    if (plen != NULL && plen->t == V_INT && plen->i >= 0 && own != NULL && own->t == V_INT &&
        own->i >= plen->i)
        return errbuf_attr(eb, E_VALIDATION, "pathLength",
                           "Attribute 'pathLength' must be below the parent's (%lld)",
                           (long long)plen->i);
    return E_OK;
}

/* The end of its validity: now + `validity` (or the default), at most the
 * parent's end. */
static int
validity_end(const struct val *obj, const struct val *parent, int64_t now, int64_t *end,
             struct errbuf *eb)
{
    struct str v = val_get_str(obj, "validity");
    int64_t    d, pend;

    if (v.len == 0)
        v = str_c(parent != NULL ? INTER_VALIDITY : ROOT_VALIDITY);
    if (policy_duration(v, "validity", "87600h", &d, eb) != E_OK)
        return E_VALIDATION;
    *end = now + d;
    if (parent == NULL || time_parse(val_get_str(parent, "validityEnd"), &pend) != E_OK ||
        pend >= *end)
        return E_OK;
    if (val_get_str(obj, "validity").len > 0)
        return errbuf_attr(eb, E_VALIDATION, "validity",
                           "Attribute 'validity' reaches beyond the parent's own expiry");
    *end = pend; /* the default is clipped to the parent's */
    return E_OK;
}

static int
generate(struct hook_ctx *ctx, struct val *obj, const struct val *parent, struct ca **out,
         struct errbuf *eb)
{
    struct str        id = val_get_str(obj, "ID"), subj = val_get_str(obj, "subject");
    struct val       *plen = val_get(obj, "pathLength"), *pp = NULL;
    int64_t           now = time_now_ms(), end = 0;
    struct pki_ca_req p = { .subject = arena_strndup(ctx->a, subj.p, subj.len),
                            .type = pki_key_type_parse(val_cstr_of(ctx->a, obj, "keyType")),
                            .not_before_ms = now - BACKDATE_MS,
                            .path_len = plen != NULL && plen->t == V_INT ? (int)plen->i : -1 };
    const struct ca  *signer = NULL;
    int               rc;

    if (subj.len == 0)
        return errbuf_attr(eb, E_VALIDATION, "subject", "Attribute 'subject' is required");
    if (p.type == PKI_KEY_NONE)
        return errbuf_attr(eb, E_VALIDATION, "keyType",
                           "Attribute 'keyType' must be one of EC_P256, EC_P384, RSA_2048, "
                           "RSA_3072, RSA_4096, ED25519");
    if ((rc = validity_end(obj, parent, now, &end, eb)) != E_OK)
        return rc;
    p.not_after_ms = end;
    if (parent != NULL && p.path_len < 0 && (pp = val_get(parent, "pathLength")) != NULL &&
        pp->t == V_INT && pp->i > 0)
        p.path_len = (int)pp->i - 1; /* at most one level less than its parent */
    if (parent != NULL) {
        struct str pid = val_get_str(parent, "ID");
        /* the parent's policy, written into what it signs (its own is
         * enforced when it issues, and written into the CAs below it) */
        p.permitted_dns = strs_of(ctx->a, parent, "permittedDNSDomains", &p.npermitted_dns);
        p.excluded_dns = strs_of(ctx->a, parent, "excludedDNSDomains", &p.nexcluded_dns);
        p.permitted_ip = strs_of(ctx->a, parent, "permittedIPRanges", &p.npermitted_ip);
        p.crl_url = ca_url(ctx->a, pid, "crl");
        p.ocsp_url = ca_url(ctx->a, pid, "ocsp");
        p.issuers_url = ca_url(ctx->a, pid, "ca.crt");
        if ((rc = cas_get(parent, &signer, eb)) != E_OK)
            return rc;
    }
    char name[ID_LEN + 1];
    snprintf(name, sizeof name, "%.*s", STR_FMT(id));
    rc = pki_ca_create(name, &p, signer, out, eb);
    if (signer != NULL)
        cas_put(signer);
    return rc;
}

/* RFC 5280 4.2.1.3: a CA certificate whose keyUsage extension is present
 * must assert keyCertSign to sign certificates. One without the extension
 * (old roots) may sign anything, as OpenSSL's X509_check_ca also holds. */
static bool
signs_certificates(const struct val *fields)
{
    const struct val *ku = val_get(fields, "keyUsages");

    if (ku == NULL || ku->t != V_ARR)
        return true;
    for (size_t i = 0; i < ku->a.n; i++)
        if (str_eq_c(ku->a.v[i].s, "keyCertSign"))
            return true;
    return false;
}

/* The key of an imported CA's certificate must be of one of the types a
 * console CA is made with (API.md 7.4): a CA of another type would answer a
 * keyType the contract does not have and sign with a key the monitoring
 * policy calls weak (RSA-1024, P-224) or that its CRLs cannot use (Ed448). */
static int
import_key_type(struct str pem, const struct val *f, struct errbuf *eb)
{
    struct str alg = val_get_str(f, "keyAlgorithm"), curve = val_get_str(f, "keyCurve");
    int64_t    bits = val_get_int(f, "keySize", 0);

    bool weak_sig;

    if (pki_cert_key_type(pem, &weak_sig) == PKI_KEY_NONE)
        return errbuf_attr(
            eb, E_VALIDATION, "certificate",
            "The certificate's key (%.*s%s%.*s, %lld bits) is not one of the key "
            "types of a certificate authority: EC_P256, EC_P384, RSA_2048, "
            "RSA_3072, RSA_4096 or ED25519 (EC keys by their curve's name, RSA keys as "
            "rsaEncryption, not RSA-PSS)",
            (int)(alg.len > 32 ? 32 : alg.len), alg.p, curve.len > 0 ? " " : "",
            (int)(curve.len > 32 ? 32 : curve.len), curve.p, (long long)bits);
    /* Nobody relies on a root's own signature; an intermediate's is its issuer's word. */
    if (weak_sig && !val_get_true(f, "selfSigned"))
        return errbuf_attr(eb, E_VALIDATION, "certificate",
                           "The certificate is signed with a weak algorithm (MD5 or SHA-1): "
                           "relying parties refuse the chains it would sign");
    return E_OK;
}

/* An imported CA's certificate must be valid now: not expired, and started
 * (a CA that starts later would sign leaves that no relying party verifies
 * until it does: openssl verify says "certificate is not yet valid"). */
static int
import_validity(const struct val *f, struct errbuf *eb)
{
    int64_t start, end, now = time_now_ms();

    if (time_parse(val_get_str(f, "validityEnd"), &end) != E_OK || end <= now)
        return errbuf_attr(eb, E_VALIDATION, "certificate", "The certificate has expired");
    if (time_parse(val_get_str(f, "validityStart"), &start) != E_OK || start > now)
        return errbuf_attr(eb, E_VALIDATION, "certificate",
                           "The certificate is not valid yet (it starts at %.*s): import it "
                           "once it has started, or nothing it signs would verify until then",
                           STR_FMT(val_get_str(f, "validityStart")));
    return E_OK;
}

/* An imported CA: its certificate must be a CA's that may sign certificates,
 * valid now, its key of one of the key types; its key must be that
 * certificate's (checked by signer.c, the only one to read it). The
 * certificate is judged first, so that a refusal of the key is about the
 * key. */
static int
import(struct hook_ctx *ctx, struct val *obj, struct ca **out, struct errbuf *eb)
{
    struct str       id = val_get_str(obj, "ID"), pem = val_get_str(obj, "certificate");
    struct str       key = val_get_str(obj, "privateKey");
    char             name[ID_LEN + 1];
    struct inv_cert *certs;
    struct val       errors;
    size_t           n;
    int              rc;

    if (given(obj, "parentID") || given(obj, "subject") || given(obj, "validity"))
        return errbuf_attr(eb, E_VALIDATION, "certificate",
                           "An imported certificate authority takes its subject, key type "
                           "and validity from its certificate");
    if (key.len == 0)
        return errbuf_attr(eb, E_VALIDATION, "privateKey",
                           "Attribute 'privateKey' is required with 'certificate'");
    if ((rc = inv_read(ctx->a, pem, "certificate", true, &certs, &n, &errors, eb)) != E_OK)
        return rc;
    if (n != 1 || !val_get_true(&certs[0].fields, "isCA"))
        return errbuf_attr(eb, E_VALIDATION, "certificate",
                           "Attribute 'certificate' must be one CA certificate (CA:TRUE)");
    if (!signs_certificates(&certs[0].fields))
        return errbuf_attr(eb, E_VALIDATION, "certificate",
                           "The certificate's keyUsage does not allow keyCertSign: a CA "
                           "certificate must, to sign certificates (RFC 5280 4.2.1.3)");
    if ((rc = import_validity(&certs[0].fields, eb)) != E_OK ||
        (rc = import_key_type(pem, &certs[0].fields, eb)) != E_OK)
        return rc;
    snprintf(name, sizeof name, "%.*s", STR_FMT(id));
    if (pki_ca_import(name, pem, key, out, eb) != E_OK)
        return errbuf_attr(eb, E_VALIDATION, "privateKey",
                           "Attribute 'privateKey' must be the certificate's private key, "
                           "as unencrypted PEM");
    return E_OK;
}

/* The answer's fields from the CA's certificate, and the inventory object
 * that before_write stores. */
static int
describe(struct hook_ctx *ctx, struct val *obj, const struct ca *ca, const struct val *parent,
         struct made *m, struct errbuf *eb)
{
    struct str       pem = str_c(pki_ca_pem(ca));
    struct inv_cert *certs;
    struct val       errors;
    size_t           n;
    int              rc = inv_read(ctx->a, pem, "certificate", true, &certs, &n, &errors, eb);

    if (rc != E_OK)
        return rc;
    m->cert = certs[0];
    const struct val        *f = &m->cert.fields;
    static const char *const copied[] = { "fingerprint", "serialNumber", "subject",
                                          "validityEnd", "pathLength" };
    for (size_t i = 0; i < ARRAY_LEN(copied); i++) {
        struct val *v = val_get(f, copied[i]);
        val_set(ctx->a, obj, copied[i], v != NULL ? *v : val_int(-1)); /* pathLength */
    }
    val_set(ctx->a, obj, "keyType",
            val_cstr(pki_key_type_name(pki_key_type_of(X509_get0_pubkey(pki_ca_cert(ca))))));
    val_set(ctx->a, obj, "certificate", val_str(arena_str(ctx->a, pem)));
    struct str chain = parent != NULL ? val_get_str(parent, "certificateChain") : STR("");
    val_set(ctx->a, obj, "certificateChain",
            val_cstr(arena_printf(ctx->a, "%.*s%.*s", STR_FMT(pem), STR_FMT(chain))));
    if (parent != NULL)
        val_set(ctx->a, &m->cert.fields, "certificateAuthorityID", *val_get(parent, "ID"));
    return E_OK;
}

static int
seal_key(struct hook_ctx *ctx, struct val *obj, const struct ca *ca, struct errbuf *eb)
{
    struct buf sealed;
    int        rc;

    buf_init(&sealed, PEM_MAX);
    if ((rc = pki_ca_seal(ca, seal_master(), &sealed)) != E_OK) {
        buf_free(&sealed);
        return errbuf_set(eb, E_INTERNAL, "cannot seal the key");
    }
    char *b64 = arena_alloc(ctx->a, b64_len(sealed.len) + 1);
    b64_encode(sealed.p, sealed.len, b64);
    buf_free(&sealed);
    val_set(ctx->a, obj, "sealedKey", val_cstr(b64));
    return E_OK;
}

static int
ca_create(struct hook_ctx *ctx, struct val *obj, struct errbuf *eb)
{
    struct made *m = arena_calloc(ctx->a, 1, sizeof *m);
    struct str   parent_id = val_get_str(obj, "parentID");
    struct val   chain[POLICY_CHAIN_MAX], *pp = NULL;
    size_t       n = 0;
    struct ca   *ca = NULL;
    int          rc = E_OK;

    m->imported = given(obj, "certificate");
    if (!m->imported && parent_id.len > 0 &&
        (rc = parent_check(ctx, parent_id, obj, chain, &n, eb)) == E_OK)
        pp = &chain[0];
    if (rc == E_OK)
        rc = m->imported ? import(ctx, obj, &ca, eb) : generate(ctx, obj, pp, &ca, eb);
    if (rc == E_OK && pp != NULL) /* relying parties judge it by the chain's constraints */
        rc = ca_names_within(chain, n, (X509 *)pki_ca_cert(ca), NULL, eb);
    if (given(obj, "privateKey")) /* wiped with the request's body once answered */
        ctx->secret = val_get_str(obj, "privateKey");
    val_del(obj, "privateKey"); /* never stored, never answered */
    val_del(obj, "validity");
    if (rc == E_OK && (rc = seal_key(ctx, obj, ca, eb)) == E_OK)
        rc = describe(ctx, obj, ca, pp, m, eb);
    pki_ca_free(ca);
    ctx->data = m;
    return rc;
}

/* ---- hooks ---------------------------------------------------------------------- */

static int
ca_prepare(struct hook_ctx *ctx, const struct spec *s, struct val *obj, bool create,
           struct errbuf *eb)
{
    int rc = policy_lists_check(obj, eb);

    KW_UNUSED(s);
    return rc == E_OK && create ? ca_create(ctx, obj, eb) : rc;
}

static bool
ca_slow(const struct spec *s, const struct val *obj)
{
    KW_UNUSED(s);
    return !given(obj, "certificate") && pki_key_type_slow(val_key_type(obj, "keyType"));
}

/* E_VALIDATION when a CA of the console, in any namespace, has the key of the
 * CA `obj` imports: another certificate of one key is the same issuer to a
 * relying party (its CRLs verify, its OCSP responder is authorized), whatever
 * the serial, validity or the subject's spelling. CAs are few; their keys
 * are compared as keys (pki_pem_same_key). */
static int
key_imported(struct hook_ctx *ctx, struct tx *tx, const struct spec *s, const struct val *obj,
             struct errbuf *eb)
{
    struct str   pem = val_get_str(obj, "certificateChain"); /* its own first (describe) */
    struct listq q = { .scope = { STR("/"), true }, .limit = -1 };
    struct val   cas = val_arr();
    int          rc = tx->ops->list(tx, s, &q, ctx->a, &cas);

    if (rc != E_OK)
        return errbuf_set(eb, rc, "store error");
    for (size_t i = 0; i < cas.a.n; i++)
        if (pki_pem_same_key(val_get_str(&cas.a.v[i], "certificateChain"), pem))
            return errbuf_attr(eb, E_VALIDATION, "certificate",
                               "A certificate authority with this key is in the console "
                               "already: a CA key is imported once (two CAs of one key would "
                               "sign CRLs and OCSP answers that relying parties take for each "
                               "other's)");
    return E_OK;
}

/* A CA certificate and key are imported once in the whole console: two CAs
 * with one certificate would sign two CRLs of the same issuer, each hiding
 * the other's revocations from a relying party handed the wrong one. The
 * same holds one after the other: a CA deleted (?override=true) and imported
 * again would sign CRLs without the revocations of the first, so while the
 * inventory holds an unexpired certificate of that issuer (its name and key
 * identifier) that was revoked, the import is refused. */
static int
imported_once(struct hook_ctx *ctx, const struct spec *s, struct tx *tx, const struct made *m,
              const struct val *obj, struct errbuf *eb)
{
    struct fval   fp = { .t = FV_STR, .s = val_get_str(obj, "fingerprint") };
    struct fval   ski = { .t = FV_STR,
                          .s = val_get_str(&m->cert.fields, "subjectKeyIdentifier") };
    struct fval   name = { .t = FV_STR, .s = val_get_str(&m->cert.fields, "subject") };
    struct fnode *revoked = filter_bool(
        ctx->a, F_AND,
        filter_bool(ctx->a, F_AND, filter_cmp(ctx->a, "authorityKeyIdentifier", F_EQ, ski),
                    filter_cmp(ctx->a, "issuer", F_EQ, name)),
        filter_bool(ctx->a, F_AND,
                    filter_cmp(ctx->a, "revocationTime", F_EXISTS, (struct fval){ 0 }),
                    filter_cmp(ctx->a, "validityEnd", F_GT,
                               (struct fval){ .t = FV_TIME, .i = time_now_ms() })));
    struct listq q = { .scope = { STR("/"), true },
                       .filter = filter_cmp(ctx->a, "fingerprint", F_EQ, fp),
                       .limit = 1 };
    struct val   items = val_arr();
    int          rc = tx->ops->list(tx, s, &q, ctx->a, &items);

    if (rc != E_OK)
        return errbuf_set(eb, rc, "store error");
    if (items.a.n > 0 || (rc = key_imported(ctx, tx, s, obj, eb)) != E_OK)
        return rc != E_OK ? rc
                          : errbuf_attr(eb, E_VALIDATION, "certificate",
                                        "This certificate authority is in the console already: "
                                        "a CA is imported once (its CRLs would otherwise hide "
                                        "each other's revocations)");
    q.filter = revoked;
    if (ski.s.len == 0 ||
        (rc = tx->ops->list(tx, &spec_certificate, &q, ctx->a, &items)) != E_OK ||
        items.a.n == 0)
        return rc == E_OK ? E_OK : errbuf_set(eb, rc, "store error");
    return errbuf_attr(eb, E_VALIDATION, "certificate",
                       "Certificates of this certificate authority were revoked and have not "
                       "expired (certificate %.*s): imported again, it would sign CRLs "
                       "without their revocations",
                       STR_FMT(val_get_str(&items.a.v[0], "ID")));
}

static int
ca_before_write(struct hook_ctx *ctx, const struct spec *s, struct tx *tx, struct val *obj,
                const struct val *old, struct errbuf *eb)
{
    struct made *m = ctx->data;
    struct val   cert;
    bool         dup;
    int          rc;

    if (old != NULL || m == NULL)
        return E_OK;
    if (m->imported && (rc = imported_once(ctx, s, tx, m, obj, eb)) != E_OK)
        return rc;
    rc = inv_put(tx, ctx->a, ctx->ns, &m->cert, m->imported ? "IMPORTED" : "ISSUED", NULL,
                 &cert, &dup, eb);
    if (rc == E_OK)
        val_set(ctx->a, obj, "certificateID", *val_get(&cert, "ID"));
    return rc;
}

/* True when `s` has an object whose `attr` is `id`, that has not expired and
 * that `also` selects (NULL: any), in any namespace. */
static int
issued_unexpired(struct hook_ctx *ctx, struct tx *tx, const struct spec *s, const char *attr,
                 struct str id, struct fnode *also, bool *found)
{
    struct fnode *f = filter_bool(
        ctx->a, F_AND, filter_cmp(ctx->a, attr, F_EQ, (struct fval){ .t = FV_STR, .s = id }),
        filter_cmp(ctx->a, "validityEnd", F_GT,
                   (struct fval){ .t = FV_TIME, .i = time_now_ms() }));
    if (also != NULL)
        f = filter_bool(ctx->a, F_AND, f, also);
    struct listq q = { .scope = { STR("/"), true }, .filter = f, .limit = 1 };
    struct val   items = val_arr();
    int          rc = tx->ops->list(tx, s, &q, ctx->a, &items);

    *found = rc == E_OK && items.a.n > 0;
    return rc;
}

/* A CA whose certificates (intermediates included) have not all expired is
 * deleted only with ?override=true (API.md 7.4): relying parties still check
 * them. The override takes its CRL and OCSP along, with the revocations they
 * publish: the administrator's call (docs/issuance.md). */
static int
ca_deletable(struct hook_ctx *ctx, struct tx *tx, const struct val *ca, struct errbuf *eb)
{
    struct str id = val_get_str(ca, "ID"), cert = val_get_str(ca, "certificateID");
    bool       leaf = false, below = false, signed_cert = false;
    int        rc;

    if (ctx->override)
        return E_OK;
    /* Its requests, the CAs below it, and what the inventory holds that it
     * signed: an intermediate whose CA was deleted keeps its certificate. Not
     * what was imported naming it as issuer: that link is made by names, not
     * by its signature (docs/inventory.md), so a forgery would hold the CA. */
    struct fnode *not_imported =
        filter_cmp(ctx->a, "source", F_NE, (struct fval){ .t = FV_STR, .s = STR("IMPORTED") });

    if ((rc = issued_unexpired(ctx, tx, &spec_certificaterequest, "certificateAuthorityID", id,
                               NULL, &leaf)) != E_OK ||
        (rc = issued_unexpired(ctx, tx, &spec_certificateauthority, "parentID", id, NULL,
                               &below)) != E_OK ||
        (cert.len > 0 &&
         (rc = issued_unexpired(ctx, tx, &spec_certificate, "issuerCertificateID", cert,
                                not_imported, &signed_cert)) != E_OK))
        return errbuf_set(eb, rc, "store error");
    if (leaf || below || signed_cert)
        return errbuf_set(eb, E_PROTECTED,
                          "The certificate authority '%.*s' has issued certificates that have "
                          "not expired: use ?override=true to delete it",
                          STR_FMT(val_get_str(ca, "name")));
    return E_OK;
}

static int
ca_after_delete(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                const struct val *obj, struct errbuf *eb)
{
    int rc = ca_deletable(ctx, tx, obj, eb);

    KW_UNUSED(s);
    if (rc == E_OK)
        cas_forget(val_get_str(obj, "ID"));
    return rc;
}

/* A namespace delete takes its CAs along: each as its own delete would
 * (ca_deletable: ?override=true for one that issued what has not expired,
 * never one whose revocations must still be published). */
static int
ca_outlive(struct hook_ctx *ctx, const struct spec *s, struct tx *tx, struct str ns,
           struct errbuf *eb)
{
    struct listq q = { .scope = { ns, true }, .limit = -1 };
    struct val   cas = val_arr();
    int          rc = tx->ops->list(tx, s, &q, ctx->a, &cas);

    if (rc != E_OK)
        return errbuf_set(eb, rc, "store error");
    for (size_t i = 0; i < cas.a.n && rc == E_OK; i++)
        rc = ca_deletable(ctx, tx, &cas.a.v[i], eb);
    return rc;
}

static void
ca_present(struct arena *a, const struct spec *s, struct val *obj, int64_t now_ms)
{
    struct str id = val_get_str(obj, "ID");

    KW_UNUSED(s);
    KW_UNUSED(now_ms);
    val_set(a, obj, "crlURL", val_cstr(ca_url(a, id, "crl")));
    val_set(a, obj, "ocspURL", val_cstr(ca_url(a, id, "ocsp")));
    val_set(a, obj, "caIssuersURL", val_cstr(ca_url(a, id, "ca.crt")));
}

static const char *const ca_csv[] = { "ID",      "name",        "namespace", "subject",
                                      "keyType", "validityEnd", "disabled",  NULL };
static const char *const ca_indexes[] = { "*parentID,serialNumber", NULL };

static struct spec_rt ca_rt;

const struct spec spec_certificateauthority = {
    .identity = "certificateauthority",
    .rest = "certificateauthorities",
    .attrs = ca_attrs,
    .nattrs = ARRAY_LEN(ca_attrs),
    .unique = "name",
    .default_order = "name",
    .ops = OP_ALL,
    .access = ACCESS_ADMIN, /* its key signs: administrators only (API.md 5) */
    .get_normal = true,     /* its key is never answered */
    .hooks = { .prepare = ca_prepare,
               .slow = ca_slow,
               .before_write = ca_before_write,
               .after_delete = ca_after_delete,
               .outlive = ca_outlive,
               .present = ca_present },
    .csv_columns = ca_csv,
    .indexes = ca_indexes,
    .rt = &ca_rt,
};
