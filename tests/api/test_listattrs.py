"""Filters on list attributes (API.md section 6), answered from the store's side
tables: they follow creates, updates that change the list, deletes and namespace
deletes, and a namespace created again under the same path sees none of the old."""

from kwtest import rand

SUBJ = [["@auth:realm=vince", "@auth:account=nobody"]]


def mk(admin, ns, subnets, tags=()):
    return admin.mkauthz(ns, SUBJ, ["auditlog,get"], authorizedSubnets=list(subnets),
                         associatedTags=list(tags))


def ids(admin, ns, *filters, recursive=False):
    params = [("q", f) for f in filters] + [("pageSize", "0")]
    if recursive:
        params.append(("recursive", "true"))
    r = admin.get("/apiauthorizations", ns=ns, params=params)
    assert r.status == 200, r
    assert r.headers.get("X-Count-Total") == str(len(r.data))
    return {o["ID"] for o in r.data}


def test_create_update_delete(admin, ns):
    box = admin.mkns(ns, "l" + rand(8))["name"]
    a = mk(admin, box, ["10.0.0.0/8", "192.168.1.0/24"], ["k=a"])
    b = mk(admin, box, ["10.0.0.0/8"], ["k=b", "k=a"])
    c = mk(admin, box, [], ["k=c"])
    A, B, C = a["ID"], b["ID"], c["ID"]

    assert ids(admin, box, 'authorizedSubnets == "10.0.0.0/8"') == {A, B}
    assert ids(admin, box, 'authorizedSubnets contains "192.168.1.0/24"') == {A}
    assert ids(admin, box, 'authorizedSubnets in ["192.168.1.0/24", "nothing"]') == {A}
    assert ids(admin, box, 'authorizedSubnets != "192.168.1.0/24"') == {B, C}
    assert ids(admin, box, 'authorizedSubnets not in ["10.0.0.0/8"]') == {C}
    assert ids(admin, box, 'authorizedSubnets exists') == {A, B}
    assert ids(admin, box, 'authorizedSubnets not exists') == {C}
    assert ids(admin, box, 'authorizedSubnets matches "^192[.]"') == {A}
    assert ids(admin, box, 'associatedTags == "k=a" and authorizedSubnets == "10.0.0.0/8"') == {A, B}
    assert ids(admin, box, 'associatedTags == "k=c" or authorizedSubnets == "192.168.1.0/24"') == {A, C}

    # An update that changes the list: the old element no longer finds it.
    got = admin.ok(admin.get("/apiauthorizations/" + A, ns=box))
    got["authorizedSubnets"] = ["172.16.0.0/12"]
    admin.ok(admin.put("/apiauthorizations/" + A, got, ns=box))
    assert ids(admin, box, 'authorizedSubnets == "10.0.0.0/8"') == {B}
    assert ids(admin, box, 'authorizedSubnets == "192.168.1.0/24"') == set()
    assert ids(admin, box, 'authorizedSubnets == "172.16.0.0/12"') == {A}
    got = admin.ok(admin.get("/apiauthorizations/" + B, ns=box))
    got["authorizedSubnets"] = []
    admin.ok(admin.put("/apiauthorizations/" + B, got, ns=box))
    assert ids(admin, box, 'authorizedSubnets == "10.0.0.0/8"') == set()
    assert ids(admin, box, 'authorizedSubnets not exists') == {B, C}

    # A delete takes it out of every answer.
    assert admin.delete("/apiauthorizations/" + A, ns=box).status == 200
    assert ids(admin, box, 'authorizedSubnets == "172.16.0.0/12"') == set()
    assert ids(admin, box, 'associatedTags == "k=a"') == {B}


def test_namespace_delete_and_recreate(admin, ns):
    box = admin.mkns(ns, "l" + rand(8))["name"]
    name = "s" + rand(8)
    sub = admin.mkns(box, name)
    inner = admin.mkns(sub["name"], "inner")["name"]
    old = {mk(admin, sub["name"], ["10.1.0.0/16"])["ID"],
           mk(admin, inner, ["10.1.0.0/16"])["ID"]}
    keep = mk(admin, box, ["10.1.0.0/16"])["ID"]
    assert ids(admin, box, 'authorizedSubnets == "10.1.0.0/16"', recursive=True) == old | {keep}

    assert admin.delete("/namespaces/" + sub["ID"], ns=box).status == 200
    assert ids(admin, box, 'authorizedSubnets == "10.1.0.0/16"', recursive=True) == {keep}
    assert ids(admin, box, 'authorizedSubnets not exists', recursive=True) == set()

    again = admin.mkns(box, name)
    assert again["ID"] != sub["ID"]
    assert ids(admin, again["name"], 'authorizedSubnets == "10.1.0.0/16"', recursive=True) == set()
    new = mk(admin, again["name"], ["10.1.0.0/16"])["ID"]
    assert ids(admin, again["name"], 'authorizedSubnets == "10.1.0.0/16"') == {new}
    assert ids(admin, box, 'authorizedSubnets == "10.1.0.0/16"', recursive=True) == {keep, new}
