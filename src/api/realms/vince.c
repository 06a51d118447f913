/* vince.c - the account realm: a name and a password. */
#include "../../core/password.h"
#include "../../model/specs.h"
#include "../../store/store.h"
#include "../audit.h"
#include "issue.h"
#include "throttle.h"

static void
identity_fill(struct req *r, const struct val *acct, struct identity *id)
{
    id->data = val_map();
    val_set(r->a, &id->data, "realm", val_cstr("vince"));
    val_set(r->a, &id->data, "account", val_str(val_get_str(acct, "name")));
    struct str email = val_get_str(acct, "email");
    if (email.len > 0)
        val_set(r->a, &id->data, "email", val_str(email));
    val_set(r->a, &id->data, "id", val_str(val_get_str(acct, "ID")));
    val_set(r->a, &id->data, "organization", val_str(val_get_str(acct, "namespace")));
    id->sub = val_get_str(acct, "name");
}

/* Unknown account, wrong password and disabled account are one answer, and take
 * the same time: the password is always checked against a hash. */
static int
prove(struct req *r, struct str name, struct str pw, struct identity *id, struct errbuf *eb)
{
    struct val    acct;
    struct errbuf feb = { 0 };
    const char   *hash = NULL;
    bool          found, ok;

    found = name.len > 0 && name.len <= 128 &&
            kw_store->ops->find(kw_store, &spec_account, NULL, "name", name, r->a, &acct,
                                &feb) == E_OK;
    if (!found && feb.code == E_UNAVAILABLE)
        return errbuf_set(eb, E_UNAVAILABLE, "The store is unavailable");
    if (found) {
        struct str h = val_get_str(&acct, "password");
        hash = arena_strndup(r->a, h.p, h.len);
    }
    if (password_check(hash, pw, &ok) == E_RATE)
        return throttle_refuse(r, 1000, "Too many logins at once: try again in a second", eb);
    const struct val *dis = found ? val_get(&acct, "disabled") : NULL;
    if (!found || !ok || (dis != NULL && dis->t == V_BOOL && dis->b))
        return errbuf_set(eb, E_UNAUTH, "Invalid credentials");
    identity_fill(r, &acct, id);
    return E_OK;
}

/* Failures are counted per account name, known or not, so a lock-out says
 * nothing about which names exist. */
int
realm_vince(struct req *r, const struct val *md, struct identity *id, struct errbuf *eb)
{
    struct str name = val_get_str(md, "vinceAccount"), pw = val_get_str(md, "vincePassword");
    struct str key = STR_NULL;
    struct throttle t;
    int             rc;

    if (name.len > 0 && name.len <= 128) {
        audit_claimed(
            r, (struct str[]){ str_c(arena_printf(r->a, "@auth:account=%.*s", STR_FMT(name))) },
            1);
        key = str_c(arena_printf(r->a, "vince:%.*s", STR_FMT(name)));
    }
    if ((rc = throttle_begin(r, key, &t, eb)) != E_OK)
        return rc;
    rc = prove(r, name, pw, id, eb);
    throttle_end(r, &t, rc);
    return rc;
}
