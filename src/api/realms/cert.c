/* cert.c - the Certificate realm: the TLS client certificate of an app
 * credential (model/appcredential.c). The HTTP layer verified the chain to the
 * client CA, the validity period and the clientAuth purpose when the
 * connection's first request came in (http/peer.c); this file decides whose
 * certificate it is and whether it is still the current one. */
#include "../../core/log.h"
#include "../../core/rnd.h"
#include "../../core/timeutil.h"
#include "../../model/specs.h"
#include "../../store/store.h"
#include "../audit.h"
#include "issue.h"

static int
deny(struct req *r, const char *why, struct errbuf *eb)
{
    log_info("trace=%s certificate realm: %s", r->trace, why);
    return errbuf_set(eb, E_UNAUTH, "Invalid credentials");
}

/* One string for one unit, a list for several (one claim per value). */
static void
set_units(struct arena *a, struct val *data, const struct peer_cert *p)
{
    struct val l = val_arr();

    if (p->nou == 1)
        val_set(a, data, "organizationalunit", val_cstr(p->ou[0]));
    if (p->nou < 2)
        return;
    for (size_t i = 0; i < p->nou; i++)
        val_push(a, &l, val_cstr(p->ou[i]));
    val_set(a, data, "organizationalunit", l);
}

static void
prove(struct req *r, const struct peer_cert *p, struct identity *id)
{
    id->data = val_map();
    val_set(r->a, &id->data, "realm", val_cstr("certificate"));
    val_set(r->a, &id->data, "commonname", val_cstr(p->cn));
    val_set(r->a, &id->data, "organization", val_cstr(p->o));
    set_units(r->a, &id->data, p);
    val_set(r->a, &id->data, "serialnumber", val_cstr(p->serial));
    id->sub = str_c(p->cn);
}

/* Revocation is by serial number: only the credential's current certificate
 * passes, so a renewal or a deletion takes effect with the next request. */
int
realm_certificate(struct req *r, const struct val *md, struct identity *id, struct errbuf *eb)
{
    const struct peer_cert *p = r->peer;
    struct errbuf           feb = { 0 };
    struct str              cid;
    struct val              ac;
    int                     rc;

    KW_UNUSED(md);
    if (p == NULL)
        return deny(r, "no client certificate", eb);
    if (!p->verified)
        return deny(r, p->reason != NULL ? p->reason : "not verified", eb);
    audit_claimed(r, (struct str[]){ str_c(arena_printf(r->a, "@auth:commonname=%s", p->cn)) },
                  1);
    if (p->not_after_ms <= time_now_ms()) /* the connection outlived the certificate */
        return deny(r, "certificate has expired", eb);
    if (!appcredential_cn_id(str_c(p->cn), &cid))
        return deny(r, "not an app credential's certificate", eb);
    rc = kw_store->ops->find(kw_store, &spec_appcredential, NULL, "ID", cid, r->a, &ac, &feb);
    if (rc == E_UNAVAILABLE)
        return errbuf_set(eb, E_UNAVAILABLE, "The store is unavailable");
    if (rc != E_OK)
        return deny(r, "no such app credential", eb);
    if (!str_eq_c(val_get_str(&ac, "serialNumber"), p->serial) ||
        !str_eq_c(val_get_str(&ac, "namespace"), p->o))
        return deny(r, "certificate replaced by a renewal", eb);
    prove(r, p, id);
    return E_OK;
}
