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
