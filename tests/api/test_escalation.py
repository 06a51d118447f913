"""A principal grants only what it holds (API.md 3 and 5): a service account's or an app
credential's `roles`, and an API authorization's `authorizedIdentities`, may name only
operations the caller may do in that namespace, within its token's restrictions. A review
made an administrator service account with a token narrowed to `serviceaccount,post`, and got
an unrestricted administrator token from it."""
import pytest

from kwtest import assert_error, rand
from test_authz import user_with

ADMIN = "@auth:role=namespace.administrator"
VIEWER = "@auth:role=namespace.viewer"


@pytest.fixture
def top(admin, ns):
    return admin.mkns(ns)["name"]


def restricted(server, top, perms):
    """A copy of the admin's token narrowed to `perms` (the Token realm's restriction)."""
    return server.client(server.token(restrictedPermissions=perms, restrictedNamespace=top))


def refused(r, what):
    err = assert_error(r, 403)
    assert what in err["description"], err
    return err


def test_a_narrowed_token_cannot_make_an_administrator_service_account(server, admin, top):
    t = restricted(server, top, ["serviceaccount,get,post"])
    refused(t.post("/serviceaccounts", {"name": "esc-" + rand(6), "roles": [ADMIN]}, ns=top),
            "Cannot grant '@auth:role=namespace.administrator'")
    assert admin.list("serviceaccounts", top) == []
    # What it holds, it may hand on.
    sa = t.ok(t.post("/serviceaccounts", {"name": "ok-" + rand(6),
                                          "roles": ["serviceaccount,get"]}, ns=top))
    assert sa["roles"] == ["serviceaccount,get"]


def test_a_narrowed_token_cannot_make_an_administrator_app_credential(server, admin, top):
    t = restricted(server, top, ["appcredential,post"])
    r = t.post("/appcredentials", {"name": "esc-" + rand(6), "roles": [ADMIN]}, ns=top)
    refused(r, "which the caller may not do there")
    assert admin.list("appcredentials", top) == []


def test_a_grant_of_service_accounts_alone_does_not_make_administrators(server, admin, top):
    u = user_with(admin, server, top, ["serviceaccount,get,post,put"])
    refused(u.post("/serviceaccounts", {"name": "esc-" + rand(6), "roles": [VIEWER]}, ns=top),
            "namespace.viewer")
    sa = u.ok(u.post("/serviceaccounts", {"name": "sa-" + rand(6),
                                          "roles": ["serviceaccount,get"]}, ns=top))
    # Raising its roles by PUT is the same grant.
    refused(u.put("/serviceaccounts/" + sa["ID"], dict(sa, roles=["serviceaccount,get", ADMIN]),
                  ns=top), "namespace.administrator")
    got = admin.ok(admin.get("/serviceaccounts/" + sa["ID"], ns=top))
    assert got["roles"] == ["serviceaccount,get"]
    # An administrator's grant stays as it is when someone who holds less edits the rest.
    big = admin.ok(admin.post("/serviceaccounts", {"name": "big-" + rand(6),
                                                   "roles": [ADMIN]}, ns=top))
    edited = u.ok(u.put("/serviceaccounts/" + big["ID"], dict(big, description="rotated"),
                        ns=top))
    assert edited["roles"] == [ADMIN] and edited["description"] == "rotated"


def test_an_api_authorization_grants_only_what_its_author_holds(server, admin, top):
    t = restricted(server, top, ["apiauthorization,get,post"])
    body = {"name": "esc-" + rand(6), "subject": [["@auth:realm=vince", "@auth:account=x"]],
            "authorizedNamespace": top}
    refused(t.post("/apiauthorizations", dict(body, authorizedIdentities=[ADMIN]), ns=top),
            "Cannot grant")
    assert [a["name"] for a in admin.list("apiauthorizations", top)] == []
    ok = t.ok(t.post("/apiauthorizations", dict(body, authorizedIdentities=["apiauthorization,get"]),
                     ns=top))
    assert ok["authorizedIdentities"] == ["apiauthorization,get"]


def test_an_administrator_grants_every_role(server, admin, top):
    sa = admin.ok(admin.post("/serviceaccounts", {"name": "a-" + rand(6), "roles": [ADMIN]},
                             ns=top))
    assert sa["roles"] == [ADMIN]
    u = user_with(admin, server, top, [ADMIN])
    u.ok(u.post("/apiauthorizations", {
        "name": "az-" + rand(6), "subject": [["@auth:realm=vince", "@auth:account=y"]],
        "authorizedIdentities": [ADMIN, VIEWER, "certificate,get"],
        "authorizedNamespace": top}, ns=top))


def test_an_update_that_reaches_someone_new_is_judged_whole(server, admin, top):
    """A second look: entries stored already were not judged again, so apiauthorization,put
    alone put its holder into the subject of an administrator's policy, or enabled a
    disabled one. An update that changes to whom or where a policy applies (subject,
    authorizedNamespace, authorizedSubnets, enabling it) needs every entry held."""
    u = user_with(admin, server, top, ["apiauthorization,get,put"])
    pol = admin.mkauthz(top, [["@auth:realm=vince", "@auth:account=carol"]], [ADMIN])
    mine = [["@auth:realm=vince", "@auth:account=" + u.account]]
    refused(u.put("/apiauthorizations/" + pol["ID"], dict(pol, subject=pol["subject"] + mine),
                  ns=top), "namespace.administrator")
    off = admin.mkauthz(top, mine, [ADMIN], disabled=True)
    refused(u.put("/apiauthorizations/" + off["ID"], dict(off, disabled=False), ns=top),
            "namespace.administrator")
    assert u.get("/accounts", ns=top).status == 403  # still nothing more
    # What reaches no one new passes: a description, disabling.
    u.ok(u.put("/apiauthorizations/" + pol["ID"], dict(pol, description="carol's"), ns=top))
    cur = admin.ok(admin.get("/apiauthorizations/" + pol["ID"], ns=top))
    u.ok(u.put("/apiauthorizations/" + pol["ID"], dict(cur, disabled=True), ns=top))


def test_a_credential_holding_roles_is_handed_on_only_by_who_holds_them(server, admin, top,
                                                                       tmp_path):
    """A second look: serviceaccount,post made an administrator service account's secret its
    own (POST .../secrets), and appcredential,put renewed an administrator's app credential
    for its own key."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from test_appcredentials import make_csr
    big = admin.ok(admin.post("/serviceaccounts", {"name": "big-" + rand(6), "roles": [ADMIN]},
                              ns=top))
    small = admin.ok(admin.post("/serviceaccounts", {"name": "small-" + rand(6),
                                                     "roles": ["serviceaccount,get"]}, ns=top))
    u = user_with(admin, server, top, ["serviceaccount,get,post", "appcredential,get,put"])
    refused(u.post("/serviceaccounts/%s/secrets" % big["ID"], {}, ns=top),
            "namespace.administrator")
    assert "clientSecret" in u.ok(u.post("/serviceaccounts/%s/secrets" % small["ID"], {},
                                         ns=top))
    ac = admin.ok(admin.post("/appcredentials", {"name": "ac-" + rand(6), "roles": [ADMIN]},
                             ns=top))
    got = admin.ok(admin.get("/appcredentials/" + ac["ID"], ns=top))
    r = u.put("/appcredentials/" + ac["ID"],
              dict(got, csr=make_csr(ec.generate_private_key(ec.SECP256R1()))), ns=top)
    refused(r, "namespace.administrator")
    still = admin.ok(admin.get("/appcredentials/" + ac["ID"], ns=top))
    assert still["serialNumber"] == ac["serialNumber"]
    # Without a new certificate, an edit is not a hand-over.
    u.ok(u.put("/appcredentials/" + ac["ID"], dict(got, description="ours"), ns=top))


def test_identities_are_written_by_who_holds_everything_there(server, admin, top):
    """A third look: account,put alone set the administrator's password, and
    ldapprovider,put alone pointed a provider at the caller's own directory; each then
    logged in as anyone. Making or changing an account or an identity provider needs
    everything namespace.administrator allows there."""
    name, pw, acct = admin.mkaccount(top)
    u = user_with(admin, server, top, ["account,get,put,post", "ldapprovider,get,put,post",
                                       "oidcprovider,get,put,post"])
    e = assert_error(u.put("/accounts/" + acct["ID"], dict(acct, password="taken-over-1"),
                           ns=top), 403)
    assert "namespace.administrator" in e["description"], e
    assert server.issue(name, pw).status == 200  # the password is still the owner's
    assert_error(u.post("/accounts", {"name": "x-" + rand(8), "password": "password-123"},
                        ns=top), 403)
    prov = admin.ok(admin.post("/ldapproviders", {
        "name": "p-" + rand(6), "address": "127.0.0.1:1", "connSecurityProtocol": "None",
        "bindDN": "cn=r", "bindPassword": "secret", "baseDN": "dc=x"}, ns=top))
    assert_error(u.put("/ldapproviders/" + prov["ID"], dict(prov, address="127.0.0.9:389",
                                                            bindPassword="mine"), ns=top), 403)
    assert admin.ok(admin.get("/ldapproviders/" + prov["ID"], ns=top))["address"] == \
        "127.0.0.1:1"
    # An administrator of the namespace does it all.
    a = user_with(admin, server, top, [ADMIN])
    a.ok(a.put("/accounts/" + acct["ID"], dict(acct, password="reset-by-admin-1"), ns=top))


def test_rights_held_from_some_networks_only_are_not_handed_on_beyond(server, admin, top):
    """A third look: a caller whose rights hold only from its own address made an
    administrator service account (used from anywhere), and an authorization for itself
    without subnets. What is handed on must be held from every address it is used from."""
    name, pw, _ = admin.mkaccount(top)
    admin.mkauthz(top, [["@auth:realm=vince", "@auth:account=" + name]], [ADMIN],
                  authorizedSubnets=["127.0.0.1/32"])
    u = server.client(server.token(name, pw))
    u.account = name
    refused(u.post("/serviceaccounts", {"name": "sa-" + rand(6), "roles": [VIEWER]}, ns=top),
            "every address")
    mine = [["@auth:realm=vince", "@auth:account=" + u.account]]
    body = {"name": "az-" + rand(6), "subject": mine, "authorizedIdentities": [VIEWER],
            "authorizedNamespace": top}
    refused(u.post("/apiauthorizations", body, ns=top), "every address")
    refused(u.post("/apiauthorizations", dict(body, authorizedSubnets=["127.0.0.0/8"]), ns=top),
            "every address")
    u.ok(u.post("/apiauthorizations", dict(body, authorizedSubnets=["127.0.0.1/32"]), ns=top))
