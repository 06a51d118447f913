/* webhook.c - where and how the console tells a receiver about events
 * (API.md 7.2). This file describes and checks the configuration; deliveries
 * are notify/: made by webhook_emit, sent by notify/deliver.c. */
#include "../core/nspath.h"
#include "../notify/netcheck.h"
#include "../pki/pemcheck.h"
#include "../store/store.h"
#include "specs.h"

#define CA_PEM_MAX   (64 * 1024)
#define CA_CERTS_MAX 16
#define SECRET_MIN   16 /* an HMAC key is only as strong as its secret */

const char *const webhook_events[] = {
    "certificate.expiring", "certificate.expired",
    "certificate.weak",     "certificate.discovered",
    "certificate.issued",   "certificate.revoked",
    "discovery.finished",   NULL,
};

static const char *const webhook_children[] = { "webhookdeliveries", NULL };

static const struct attr webhook_attrs[] = {
    { "name", T_STRING, A_REQUIRED | A_QUERY | A_ORDER, .pattern = "^[a-zA-Z0-9._-]+$",
      .max_len = 256 },
    { "description", T_STRING, A_QUERY, .max_len = 1024 },
    { "url", T_STRING, A_REQUIRED | A_QUERY, .max_len = WEBHOOK_URL_MAX,
      .doc = "https://host[:port][/path][?query], no user name or password" },
    { "events", T_STRLIST, A_REQUIRED | A_QUERY, .enums = webhook_events, .max_len = 16,
      .doc = "the events delivered, of this namespace and the ones below" },
    { "secret", T_STRING, A_REQUIRED | A_WRITEONLY | A_SECRET | A_SEALED, .max_len = 1024,
      .doc = "write-only, sealed at rest, at least 16 characters: the key of "
             "X-Keyward-Signature (HMAC-SHA256 of the body)" },
    { "caCertificate", T_STRING, 0, .max_len = CA_PEM_MAX,
      .doc = "PEM certificates trusted for the receiver; empty: the system's" },
    { "disabled", T_BOOL, A_QUERY, .def = "false",
      .doc = "no new deliveries; pending ones end FAILED" },
};

/* Checks the generic validation cannot express; no stored state needed. A
 * created webhook's host name must resolve (issue 8: an unresolvable host is
 * 422 on url), which may wait on DNS: on the work pool (webhook_slow). An
 * update is not resolved: it would wait on the request's thread, and a
 * client PUTs the URL back unchanged (disabling a webhook whose host has
 * gone must work); deliveries judge it. An update's body is checked before
 * its defaults apply: what it leaves out is reported missing by the generic
 * checks. */
static int
webhook_prepare(struct hook_ctx *ctx, const struct spec *s, struct val *obj, bool create,
                struct errbuf *eb)
{
    struct str url = val_get_str(obj, "url");
    struct str secret = val_get_str(obj, "secret");
    int        rc;

    KW_UNUSED(s);
    if ((create || url.len > 0) && (rc = webhook_url_check(url, "url", eb)) != E_OK)
        return rc;
    if (create && (rc = webhook_url_resolves(url, "url", eb)) != E_OK)
        return rc;
    if (secret.p != NULL && secret.len < SECRET_MIN)
        return errbuf_attr(eb, E_VALIDATION, "secret",
                           "Attribute 'secret' must be at least %d characters long",
                           SECRET_MIN);
    return pem_clean_certs(ctx->a, obj, "caCertificate", CA_CERTS_MAX, eb);
}

/* A create whose URL names a host waits on DNS. */
static bool
webhook_slow(const struct spec *s, const struct val *obj)
{
    KW_UNUSED(s);
    return webhook_url_names_host(val_get_str(obj, "url"));
}

/* A tenant (a namespace under "/" with everything below it) holds at most
 * WEBHOOKS_MAX webhooks, and "/" itself as many: an event is heard by the
 * webhooks of its namespace and the ones above, so that one event makes at
 * most 2 x WEBHOOKS_MAX deliveries (a security review: 2,000 webhooks and one
 * import of 50 expiring certificates wrote 100,000 deliveries in one
 * transaction, holding every tenant's writes for 10 s). */
#define WEBHOOKS_MAX 100

static int
webhook_before_write(struct hook_ctx *ctx, const struct spec *s, struct tx *tx, struct val *obj,
                     const struct val *old, struct errbuf *eb)
{
    struct str   tenant = nspath_tenant(ctx->ns);
    struct listq q = { .scope = { tenant, tenant.len > 1 }, .limit = WEBHOOKS_MAX };
    struct val   items;
    int          rc;

    KW_UNUSED(obj);
    if (old != NULL)
        return E_OK;
    if ((rc = tx->ops->list(tx, s, &q, ctx->a, &items)) != E_OK)
        return errbuf_set(eb, rc, "store error");
    if (items.a.n >= WEBHOOKS_MAX)
        return errbuf_set(eb, E_VALIDATION,
                          "'%.*s' holds %d webhooks already, the most a tenant may have "
                          "(docs/webhooks.md)",
                          STR_FMT(q.scope.ns), WEBHOOKS_MAX);
    return E_OK;
}

static struct spec_rt webhook_rt;

const struct spec spec_webhook = {
    .identity = "webhook",
    .rest = "webhooks",
    .attrs = webhook_attrs,
    .nattrs = ARRAY_LEN(webhook_attrs),
    .unique = "name",
    .default_order = "name",
    .ops = OP_ALL,
    .access = ACCESS_SECRET, /* its URL is often a credential itself (a token in the path) */
    .children = webhook_children,
    .hooks = { .prepare = webhook_prepare,
               .slow = webhook_slow,
               .before_write = webhook_before_write },
    .rt = &webhook_rt,
};
