/* revoke.c - the `revocations` resource (API.md 7.1, 7.4): POST
 * /certificates/:id/revocations revokes a certificate a console CA issued.
 * The revocation is kept apart from the certificate, so that deleting the
 * certificate from the inventory never takes it off the CRL; the
 * certificate reads REVOKED. The CA's CRL and OCSP answers follow as soon
 * as it commits (public.c observes the store). */
#include "../core/nspath.h"
#include "../core/timeutil.h"
#include "../inventory/inventory.h"
#include "../notify/webhook.h"
#include "../pki/status.h"
#include "../store/filter.h"
#include "local.h"

static const struct attr revocation_attrs[] = {
    { "certificateID", T_STRING, A_REQUIRED | A_CREATIONONLY | A_QUERY,
      .doc = "the certificate revoked (set from the URL)" },
    { "reason", T_STRING, A_CREATIONONLY | A_QUERY, .enums = pki_reason_names,
      .def = "unspecified", .doc = "an RFC 5280 reason name" },
    { "certificateAuthorityID", T_STRING, A_READONLY | A_QUERY },
    { "serialNumber", T_STRING, A_READONLY | A_QUERY, .format = F_HEX },
    { "revocationTime", T_TIME, A_READONLY | A_QUERY | A_ORDER },
};

static int
not_revocable(struct errbuf *eb, const char *why)
{
    return errbuf_attr(eb, E_VALIDATION, "certificateID", "%s", why);
}

/* The certificate, in the request's namespace, issued by a console CA that
 * still exists and not revoked yet. A deleted CA has no CRL and no OCSP
 * responder, an expired one signs neither any more: a revocation nothing can
 * ever publish is refused, not kept. */
static int
find_revocable(struct hook_ctx *ctx, struct tx *tx, const struct val *obj, struct val *cert,
               struct errbuf *eb)
{
    struct scope sc = { ctx->ns, false };
    int rc = tx->ops->find(tx, &spec_certificate, &sc, "ID", val_get_str(obj, "certificateID"),
                           ctx->a, cert);

    if (rc == E_NOTFOUND)
        return errbuf_set(eb, E_NOTFOUND, "Could not find the certificate");
    if (rc != E_OK)
        return errbuf_set(eb, rc, "store error");
    if (!str_eq_c(val_get_str(cert, "source"), "ISSUED") ||
        val_get_str(cert, "certificateAuthorityID").len == 0)
        return not_revocable(eb, "Only certificates issued by a console certificate authority "
                                 "can be revoked");
    if (val_get_str(cert, "revocationTime").len > 0)
        return not_revocable(eb, "The certificate is revoked already");
    struct val ca;
    rc = tx->ops->find(tx, &spec_certificateauthority, NULL, "ID",
                       val_get_str(cert, "certificateAuthorityID"), ctx->a, &ca);
    if (rc == E_NOTFOUND)
        return not_revocable(eb, "The certificate's certificate authority has been deleted: "
                                 "no CRL or OCSP responder could publish its revocation");
    if (rc != E_OK)
        return errbuf_set(eb, rc, "store error");
    int64_t end;
    if (time_parse(val_get_str(&ca, "validityEnd"), &end) == E_OK && end <= time_now_ms())
        return not_revocable(eb, "The certificate's certificate authority has expired: it "
                                 "signs no new CRL or OCSP answer that could publish the "
                                 "revocation");
    return E_OK;
}

/* The console CA whose own certificate `cert` is, in *ca (V_NULL when it
 * is none: a leaf, or a CA deleted since). */
static int
ca_of_certificate(struct hook_ctx *ctx, struct tx *tx, const struct val *cert, struct val *ca,
                  struct errbuf *eb)
{
    struct fnode *f = filter_bool(
        ctx->a, F_AND,
        filter_cmp(
            ctx->a, "parentID", F_EQ,
            (struct fval){ .t = FV_STR, .s = val_get_str(cert, "certificateAuthorityID") }),
        filter_cmp(ctx->a, "serialNumber", F_EQ,
                   (struct fval){ .t = FV_STR, .s = val_get_str(cert, "serialNumber") }));
    struct listq q = { .scope = { STR("/"), true }, .filter = f, .limit = 1 };
    struct val   items = val_arr();
    int          rc;

    *ca = val_null();
    if (!val_get_true(cert, "isCA"))
        return E_OK;
    if ((rc = tx->ops->list(tx, &spec_certificateauthority, &q, ctx->a, &items)) != E_OK)
        return errbuf_set(eb, rc, "store error");
    if (items.a.n > 0)
        *ca = items.a.v[0];
    return E_OK;
}

/* Revoking a CA's own certificate stops that CA and every CA below it for
 * good, more than `disabled`: it takes the right to change the CA
 * (certificateauthority,put in its namespace: administrators, API.md 5),
 * not revocation,post alone. */
static int
may_stop_ca(struct hook_ctx *ctx, const struct val *ca, struct errbuf *eb)
{
    struct str ns = val_get_str(ca, "namespace");
    int rc = ctx->may != NULL ? ctx->may(ctx, &spec_certificateauthority, VERB_PUT, ns, eb)
                              : E_FORBIDDEN;

    if (rc == E_FORBIDDEN)
        return errbuf_set(eb, E_FORBIDDEN,
                          "The certificate is certificate authority '%.*s''s own: revoking "
                          "it stops that certificate authority, which takes the right to "
                          "change it (certificateauthority,put in '%.*s')",
                          STR_FMT(val_get_str(ca, "name")), STR_FMT(ns));
    return rc;
}

/* The CA's object records the revocation of its certificate: nothing is
 * issued from it, nor from a CA below it, any more (policy_chain_signs).
 * Server-maintained: its updateTime stays. */
static int
mark_ca(struct hook_ctx *ctx, struct tx *tx, const struct val *cert, struct val *ca,
        struct errbuf *eb)
{
    int rc;

    if (ca->t != V_MAP)
        return E_OK;
    val_set(ctx->a, ca, "revocationTime", *val_get(cert, "revocationTime"));
    val_set(ctx->a, ca, "revocationReason", *val_get(cert, "revocationReason"));
    if ((rc = tx->ops->update(tx, &spec_certificateauthority, ca, NULL)) != E_OK)
        return errbuf_set(eb, rc, "store error");
    return E_OK;
}

static int
revocation_before_write(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                        struct val *obj, const struct val *old, struct errbuf *eb)
{
    struct val cert, ca;
    int        rc;

    KW_UNUSED(s);
    if (old != NULL)
        return E_OK;
    if (pki_reason_parse(val_cstr_of(ctx->a, obj, "reason")) < 0)
        return errbuf_attr(eb, E_VALIDATION, "reason",
                           "Attribute 'reason' must be an RFC 5280 reason: unspecified, "
                           "keyCompromise, cACompromise, affiliationChanged, superseded, "
                           "cessationOfOperation, certificateHold, privilegeWithdrawn, "
                           "aACompromise");
    if ((rc = find_revocable(ctx, tx, obj, &cert, eb)) != E_OK ||
        (rc = ca_of_certificate(ctx, tx, &cert, &ca, eb)) != E_OK ||
        (ca.t == V_MAP && (rc = may_stop_ca(ctx, &ca, eb)) != E_OK))
        return rc;
    struct val *when = val_get(obj, "createTime");
    val_set(ctx->a, obj, "certificateAuthorityID", *val_get(&cert, "certificateAuthorityID"));
    val_set(ctx->a, obj, "serialNumber", *val_get(&cert, "serialNumber"));
    val_set(ctx->a, obj, "revocationTime", *when);
    val_set(ctx->a, &cert, "revocationTime", *when);
    val_set(ctx->a, &cert, "revocationReason", *val_get(obj, "reason"));
    val_set(ctx->a, &cert, "status", val_cstr("REVOKED"));
    /* Status, reason and time are server-maintained (API.md 6): updateTime
     * stays, so a client's PUT of the certificate as read before goes through;
     * that PUT keeps them (they are ignored when sent back). */
    if ((rc = tx->ops->update(tx, &spec_certificate, &cert, NULL)) != E_OK ||
        (rc = inv_revoke_copies(tx, ctx->a, &cert)) != E_OK)
        return errbuf_set(eb, rc, "store error");
    if ((rc = mark_ca(ctx, tx, &cert, &ca, eb)) != E_OK)
        return rc;
    return webhook_emit(tx, ctx->a, ctx->ns, "certificate.revoked", &cert, "certificate", eb);
}

/* The namespace of CA `ca_id`, looked up once per CA of a run of
 * revocations (*last); empty when it is gone. */
static int
ca_namespace(struct hook_ctx *ctx, struct tx *tx, struct str ca_id, struct val *last,
             struct str *ns)
{
    int rc = E_OK;

    if (!str_eq(val_get_str(last, "ID"), ca_id)) {
        rc = tx->ops->find(tx, &spec_certificateauthority, NULL, "ID", ca_id, ctx->a, last);
        if (rc == E_NOTFOUND) {
            *last = val_map();
            rc = E_OK;
        }
    }
    *ns = val_get_str(last, "namespace");
    return rc;
}

/* An unexpired, unrevoked certificate that CA `ca` issued in subtree `ns`,
 * in *found (V_NULL: none). */
static int
ca_unexpired_certificate(struct hook_ctx *ctx, struct tx *tx, struct str ns,
                         const struct val *ca, struct val *found)
{
    struct fval   id = { .t = FV_STR, .s = val_get_str(ca, "ID") };
    struct fnode *f = filter_bool(
        ctx->a, F_AND, filter_cmp(ctx->a, "certificateAuthorityID", F_EQ, id),
        filter_bool(ctx->a, F_AND,
                    filter_cmp(ctx->a, "revocationTime", F_NOT_EXISTS, (struct fval){ 0 }),
                    filter_cmp(ctx->a, "validityEnd", F_GT,
                               (struct fval){ .t = FV_TIME, .i = time_now_ms() })));
    struct listq q = { .scope = { ns, true }, .filter = f, .limit = 1 };
    struct val   items = val_arr();
    int          rc = tx->ops->list(tx, &spec_certificate, &q, ctx->a, &items);

    *found = rc == E_OK && items.a.n > 0 ? items.a.v[0] : val_null();
    return rc;
}

/* Whether subtree `ns` holds a certificate that CA `ca` (of a namespace
 * above it) issued, valid and not revoked. */
static int
holds_live_certificate(struct hook_ctx *ctx, struct tx *tx, struct str ns, const struct val *ca,
                       bool *holds)
{
    struct val found;
    int        rc = ca_unexpired_certificate(ctx, tx, ns, ca, &found);

    *holds = found.t == V_MAP;
    return rc;
}

/* A subtree that holds valid, unrevoked certificates a CA above it issued
 * leaves nothing to revoke them by once it is deleted (their objects are how
 * they are revoked). It goes (API.md 4) for a caller who could have revoked
 * them (revocation,post there), as a delete of one of them does
 * (certificate.c): else an editor without it strips the CA's owner of
 * revoking them (a review). 403 naming the CA. */
static int
refuse_unrevocable(struct hook_ctx *ctx, struct tx *tx, struct str ns, struct errbuf *eb)
{
    struct listq  q = { .scope = { STR("/"), true }, .limit = -1 };
    struct val    cas = val_arr();
    bool          holds = false;
    struct errbuf why = { 0 };
    int           rc;

    if (ctx->may == NULL || ctx->may(ctx, &spec_revocation, VERB_POST, ns, &why) == E_OK)
        return E_OK;
    rc = tx->ops->list(tx, &spec_certificateauthority, &q, ctx->a, &cas);
    for (size_t i = 0; i < cas.a.n && rc == E_OK; i++) {
        struct str home = val_get_str(&cas.a.v[i], "namespace"),
                   name = val_get_str(&cas.a.v[i], "name");
        if (!nspath_within(ns, home) || nspath_within(home, ns) ||
            (rc = holds_live_certificate(ctx, tx, ns, &cas.a.v[i], &holds)) != E_OK || !holds)
            continue;
        return errbuf_set(eb, E_FORBIDDEN,
                          "The namespace holds valid certificates that certificate "
                          "authority '%.*s' of '%.*s' issued: deleting them leaves nothing to "
                          "revoke them by, which takes revocation,post there",
                          STR_FMT(name), STR_FMT(home));
    }
    return rc == E_OK ? E_OK : errbuf_set(eb, rc, "store error");
}

/* The objects of `s` in subtree `ns` that `f` selects (NULL: all) and that a
 * CA outside the subtree issued, moved into that CA's namespace, as its
 * record; those of a CA that goes too go. */
int
ca_records_outlive(struct hook_ctx *ctx, struct tx *tx, const struct spec *s, struct str ns,
                   struct fnode *f, struct errbuf *eb)
{
    struct listq q = { .scope = { ns, true }, .filter = f, .limit = -1 };
    struct val   items = val_arr(), ca = val_map();
    struct str   home;
    int          rc = tx->ops->list(tx, s, &q, ctx->a, &items);

    for (size_t i = 0; i < items.a.n && rc == E_OK; i++) {
        struct val *rec = &items.a.v[i];
        rc = ca_namespace(ctx, tx, val_get_str(rec, "certificateAuthorityID"), &ca, &home);
        if (rc == E_OK && home.len > 0 && !nspath_within(home, ns)) {
            /* written anew: a bulk row's namespace is also its ID's column (nsid) */
            val_set(ctx->a, rec, "namespace", val_str(home));
            if ((rc = tx->ops->del(tx, s, val_get_str(rec, "ID"), NULL)) == E_OK)
                rc = tx->ops->insert(tx, s, rec);
        }
    }
    return rc == E_OK ? E_OK : errbuf_set(eb, rc, "store error");
}

/* A namespace deleted: the revocations in it of certificates a CA outside it
 * issued stay on that CA's CRL and in its OCSP answers (RFC 5280 3.3: an
 * entry is not removed before the certificate expires). Its valid
 * certificates of such a CA go only for who could have revoked them
 * (refuse_unrevocable). */
static int
revocation_outlive(struct hook_ctx *ctx, const struct spec *s, struct tx *tx, struct str ns,
                   struct errbuf *eb)
{
    int rc = refuse_unrevocable(ctx, tx, ns, eb);

    return rc == E_OK ? ca_records_outlive(ctx, tx, s, ns, NULL, eb) : rc;
}

static const char *const revocation_indexes[] = { "*certificateAuthorityID,serialNumber",
                                                  NULL };

static struct spec_rt revocation_rt;

const struct spec spec_revocation = {
    .identity = "revocation",
    .rest = "revocations",
    .attrs = revocation_attrs,
    .nattrs = ARRAY_LEN(revocation_attrs),
    .unique = "certificateID",
    .announced = true,
    .default_order = "revocationTime",
    .ops = OP_LIST | OP_CREATE | OP_GET,
    .access = ACCESS_NORMAL,
    .bulk = true,
    .child_create = true,
    .hooks = { .before_write = revocation_before_write, .outlive = revocation_outlive },
    .indexes = revocation_indexes,
    .rt = &revocation_rt,
};
