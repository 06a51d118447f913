"""`object` is read-only like every attribute the server sets (API.md section 6): sent back
as the resource's identity it is accepted, any other value or type is 422 Read Only Error."""

import pytest

from kwtest import assert_error, rand

WRONG = ["account", "Namespace", [1], 1, True, {"a": 1}, ["namespace"]]


def ns_body(_ns):
    return {"name": "ro" + rand(8)}


def authz_body(ns):
    return {"name": "ro-" + rand(8), "authorizedNamespace": ns,
            "subject": [["@auth:realm=vince", "@auth:account=nobody-" + rand(6)]],
            "authorizedIdentities": ["@auth:role=namespace.viewer"]}


RESOURCES = [("namespaces", "namespace", ns_body), ("apiauthorizations", "apiauthorization",
                                                     authz_body)]


def read_only(r):
    e = assert_error(r, 422, "Read Only Error")
    assert e["data"]["attribute"] == "object", r
    return e


@pytest.mark.parametrize("rest,identity,body", RESOURCES)
@pytest.mark.parametrize("wrong", WRONG)
def test_create_with_a_wrong_object_is_422(admin, ns, rest, identity, body, wrong):
    b = dict(body(ns), object=wrong)
    read_only(admin.post("/" + rest, b, ns=ns))
    name = b["name"] if rest != "namespaces" else ns + "/" + b["name"]
    assert admin.list(rest, ns, params={"q": 'name == "%s"' % name}) == []


@pytest.mark.parametrize("rest,identity,body", RESOURCES)
def test_create_with_its_identity_is_accepted(admin, ns, rest, identity, body):
    obj = admin.ok(admin.post("/" + rest, dict(body(ns), object=identity), ns=ns))
    assert obj["object"] == identity
    # msgpack carries the same rule
    obj = admin.ok(admin.post("/" + rest, dict(body(ns), object=identity), ns=ns,
                              fmt="msgpack"))
    assert obj["object"] == identity
    read_only(admin.post("/" + rest, dict(body(ns), object=[1]), ns=ns, fmt="msgpack"))


@pytest.mark.parametrize("rest,identity,body", RESOURCES)
def test_update_checks_object(admin, ns, rest, identity, body):
    obj = admin.ok(admin.post("/" + rest, body(ns), ns=ns))
    assert obj["object"] == identity
    for wrong in WRONG:
        read_only(admin.put("/%s/%s" % (rest, obj["ID"]), dict(obj, object=wrong), ns=ns))
    # unchanged by the refused updates
    assert admin.ok(admin.get("/%s/%s" % (rest, obj["ID"]), ns=ns))["updateTime"] == \
        obj["updateTime"]
    # sent back as read, or without it: accepted
    obj = admin.ok(admin.put("/%s/%s" % (rest, obj["ID"]), dict(obj, description="a"), ns=ns))
    assert obj["object"] == identity and obj["description"] == "a"
    del obj["object"]
    obj = admin.ok(admin.put("/%s/%s" % (rest, obj["ID"]), dict(obj, description="b"), ns=ns))
    assert obj["object"] == identity and obj["description"] == "b"
