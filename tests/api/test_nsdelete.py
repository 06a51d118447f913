"""Deleting a namespace deletes everything in it (API.md 4), so it asks what deleting each
thing would: the caller must be one who may delete every kind of object the subtree holds,
and a protected object goes only with ?override=true. A review deleted an administrator's
service accounts, API authorizations and CA as an editor, and protected objects with their
unprotected parent, by deleting the namespace."""
from kwtest import assert_error, rand
from test_authz import EDITOR, user_with


def child(admin, parent):
    return admin.mkns(parent, "d-" + rand(6))


def gone(admin, parent, ns):
    return ns["name"] not in admin.names("namespaces", parent)


def test_an_editor_cannot_delete_what_only_administrators_may(server, admin, ns):
    top = admin.mkns(ns)["name"]
    ed = user_with(admin, server, top, [EDITOR])
    sub = child(admin, top)
    sa = admin.ok(admin.post("/serviceaccounts", {"name": "sa-" + rand(6)}, ns=sub["name"]))
    e = assert_error(ed.delete("/namespaces/" + sub["ID"], ns=top), 403)
    assert "serviceaccounts" in e["description"], e
    assert not gone(admin, top, sub)
    assert admin.get("/serviceaccounts/" + sa["ID"], ns=sub["name"]).status == 200
    # What an editor may delete, it deletes with its namespace.
    plain = child(admin, top)
    admin.mkns(plain["name"], "inner")
    assert ed.delete("/namespaces/" + plain["ID"], ns=top).status == 200
    assert gone(admin, top, plain)
    # An administrator deletes the first.
    admin.ok(admin.delete("/namespaces/" + sub["ID"], ns=top))
    assert gone(admin, top, sub)


def test_a_protected_object_goes_with_its_namespace_only_with_override(admin, ns):
    top = admin.mkns(ns)["name"]
    for make in (lambda p: admin.mkns(p, "keep", protected=True),
                 lambda p: admin.ok(admin.post("/serviceaccounts", {
                     "name": "psa", "protected": True}, ns=p))):
        sub = child(admin, top)
        make(sub["name"])
        assert_error(admin.delete("/namespaces/" + sub["ID"], ns=top), 422, "Protected Object")
        assert not gone(admin, top, sub)
        admin.ok(admin.delete("/namespaces/" + sub["ID"] + "?override=true", ns=top))
        assert gone(admin, top, sub)


def test_a_credentials_own_authorization_goes_with_it(admin, ns):
    """A service account's API authorization is protected against being deleted apart from
    its owner; it does not hold the namespace back."""
    top = admin.mkns(ns)["name"]
    sub = child(admin, top)
    admin.ok(admin.post("/serviceaccounts", {"name": "sa-" + rand(6),
                                             "roles": ["@auth:role=namespace.viewer"]},
                        ns=sub["name"]))
    assert [a["protected"] for a in admin.list("apiauthorizations", sub["name"])] == [True]
    admin.ok(admin.delete("/namespaces/" + sub["ID"], ns=top))
    assert gone(admin, top, sub)
