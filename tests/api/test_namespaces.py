"""Namespaces and the generic CRUD engine (API.md sections 4 and 6, the seed's flows)."""

import threading
import time

import msgpack
import pytest

from kwtest import HEX24, MSGPACK_CT, RFC3339_MS, assert_error, parse_time, rand

DUP = ("Duplicate Key", "Another object exists with the same key")


@pytest.fixture
def box(admin, ns):
    """An empty namespace of its own for a test that lists."""
    return admin.mkns(ns, "b" + rand(8))["name"]


def make(admin, parent, *names, **attrs):
    return [admin.mkns(parent, n, **attrs) for n in names]


# -- create --------------------------------------------------------------------------

def test_create_bare_name_gives_full_path(admin, ns):
    name = "web-" + rand(6)
    r = admin.post("/namespaces", {"name": name}, ns=ns)
    assert r.status == 200, r
    o = r.data
    assert o["name"] == ns + "/" + name
    assert o["namespace"] == ns
    assert o["object"] == "namespace"
    assert HEX24.match(o["ID"])
    assert RFC3339_MS.match(o["createTime"]) and RFC3339_MS.match(o["updateTime"])
    assert o["createTime"] == o["updateTime"]
    assert abs(parse_time(o["createTime"]).timestamp() - time.time()) < 120
    assert o["protected"] is False
    # Readable back, identical.
    g = admin.get("/namespaces/" + o["ID"], ns=ns)
    assert g.status == 200 and g.data == o


def test_create_under_root(admin):
    name = "r" + rand(10)
    o = admin.mkns("/", name)
    assert o["name"] == "/" + name and o["namespace"] == "/"
    assert admin.delete("/namespaces/" + o["ID"], ns="/").status == 200


def test_child_namespace_is_usable_as_x_namespace(admin, ns):
    a = admin.mkns(ns, "a")
    b = admin.mkns(a["name"], "b")
    assert b["name"] == ns + "/a/b" and b["namespace"] == ns + "/a"
    assert admin.names("namespaces", a["name"]) == [ns + "/a/b"]


@pytest.mark.parametrize("name", ["a/b", "../x", "a b", "a.b", "", "/abs", "é", "a\nb",
                                  "x" * 1000, "a*", "a%2Fb"])
def test_bad_names_are_422(admin, ns, name):
    r = admin.post("/namespaces", {"name": name}, ns=ns)
    e = assert_error(r, 422)
    assert e.get("data", {}).get("attribute") == "name", r


def test_good_name_characters(admin, ns):
    o = admin.mkns(ns, "Az09_-" + rand(4))
    assert o["name"].startswith(ns + "/Az09_-")


def test_duplicate_name_is_duplicate_key(admin, ns):
    name = "dup-" + rand(6)
    admin.mkns(ns, name)
    r = admin.post("/namespaces", {"name": name}, ns=ns, fields="ID")
    e = assert_error(r, 422, *DUP)
    assert set(e) <= {"code", "title", "description", "subject", "data", "trace"}
    assert e["data"] == {"attribute": "name"}, e  # which key is taken
    # The same name elsewhere is fine.
    other = admin.mkns(ns)
    assert admin.mkns(other["name"], name)["name"] == other["name"] + "/" + name


def test_x_fields_on_create(admin, ns):
    r = admin.post("/namespaces", {"name": "xf-" + rand(6)}, ns=ns, fields="ID")
    assert r.status == 200
    assert list(r.data) == ["ID"] and HEX24.match(r.data["ID"])
    r = admin.post("/namespaces", {"name": "xf-" + rand(6)}, ns=ns, fields="name")
    assert r.data == {"name": r.data["name"]} and r.data["name"].startswith(ns + "/xf-")


def test_unknown_attribute_is_422(admin, ns):
    name = "ua-" + rand(6)
    r = admin.post("/namespaces", {"name": name, "bogusAttribute": 1}, ns=ns)
    e = assert_error(r, 422, "Validation Error")
    assert e["data"]["attribute"] == "bogusAttribute"
    assert ns + "/" + name not in admin.names("namespaces", ns)


@pytest.mark.parametrize("attr,value", [("description", 5), ("protected", "yes"),
                                        ("name", 7), ("metadata", "a=b"),
                                        ("associatedTags", [1, 2]), ("description", ["x"]),
                                        ("annotations", "x")])
def test_wrong_type_is_422(admin, ns, attr, value):
    body = {"name": "wt-" + rand(6)}
    body[attr] = value
    r = admin.post("/namespaces", body, ns=ns)
    e = assert_error(r, 422, "Validation Error")
    assert e.get("data", {}).get("attribute") == attr, r


def test_missing_name_is_422(admin, ns):
    e = assert_error(admin.post("/namespaces", {}, ns=ns), 422, "Validation Error",
                     "Attribute 'name' is required")
    assert e["data"]["attribute"] == "name"


def test_read_only_on_create(admin, ns):
    r = admin.post("/namespaces", {"name": "ro-" + rand(6), "ID": "a" * 24}, ns=ns)
    e = assert_error(r, 422, "Read Only Error")
    assert e["data"]["attribute"] == "ID"
    r = admin.post("/namespaces", {"name": "ro-" + rand(6),
                                   "createTime": "2019-06-17T20:31:24.681Z"}, ns=ns)
    assert_error(r, 422, "Read Only Error")
    r = admin.post("/namespaces", {"name": "ro-" + rand(6), "namespace": "/elsewhere"}, ns=ns)
    assert_error(r, 422, "Read Only Error")
    # Empty values of read-only attributes are ignored.
    r = admin.post("/namespaces", {"name": "ro-" + rand(6), "ID": "", "normalizedTags": [],
                                   "namespace": "", "createTime": ""}, ns=ns)
    assert r.status == 200, r
    assert HEX24.match(r.data["ID"]) and r.data["namespace"] == ns


def test_a_read_only_namespace_sent_with_its_value_on_create_is_accepted(admin, ns):
    # API.md 6: a read-only field is refused only "with a different value".
    r = admin.post("/namespaces", {"name": "rv-" + rand(6), "namespace": ns}, ns=ns)
    assert r.status == 200 and r.data["namespace"] == ns, r
    acct = {"name": "rv-" + rand(8), "password": "pw-" + rand(12), "namespace": ns}
    assert admin.post("/accounts", acct, ns=ns).status == 200
    e = assert_error(admin.post("/accounts", dict(acct, name="rw-" + rand(8),
                                                  namespace=ns + "/x"), ns=ns),
                     422, "Read Only Error")
    assert e["data"]["attribute"] == "namespace"


def test_metadata_and_associated_tags_kept(admin, ns):
    o = admin.mkns(ns, metadata=["Env=Prod", "team=Web"], associatedTags=["app=shop"],
                   description="d")
    g = admin.get("/namespaces/" + o["ID"], ns=ns).data
    assert g["metadata"] == ["Env=Prod", "team=Web"]
    assert g["associatedTags"] == ["app=shop"]
    assert g["description"] == "d"


def test_normalized_tags(admin, ns):
    name = "nt-" + rand(6)
    o = admin.mkns(ns, name, metadata=["Env=Prod", "Team=Web"], associatedTags=["app=shop"])
    full = ns + "/" + name
    assert o["normalizedTags"] == [
        "$identity=namespace", "$id=" + o["ID"], "$name=" + full, "$namespace=" + ns,
        "env=Prod", "team=Web", "app=shop"]


def test_normalized_tags_recomputed_on_update(admin, ns):
    o = admin.mkns(ns, associatedTags=["a=1"])
    o2 = dict(o, associatedTags=["b=2", "c=3"])
    r = admin.put("/namespaces/" + o["ID"], o2, ns=ns)
    assert r.status == 200, r
    tags = r.data["normalizedTags"]
    assert tags[4:] == ["b=2", "c=3"]
    assert tags[:4] == o["normalizedTags"][:4]


def test_normalized_tags_are_read_only(admin, ns):
    r = admin.post("/namespaces", {"name": "ntro-" + rand(6), "normalizedTags": ["x=y"]}, ns=ns)
    assert_error(r, 422, "Read Only Error")


def test_object_property(admin, ns):
    admin.mkns(ns)
    for o in admin.list("namespaces", ns):
        assert o["object"] == "namespace"


# -- X-Namespace ---------------------------------------------------------------------

@pytest.mark.parametrize("value", [None, "", "relative", "t/x", "/a/../b", "/a/./b", "/a//b",
                                   "/a/", "//", "/a b", "/a.b", "/a%2Fb", "/é", "/a\tb",
                                   "/" + "a" * 1100, "/a/b/", ".", "/.."])
def test_bad_x_namespace_is_400(admin, value):
    if value is None:
        r = admin.get("/namespaces", ns=None)
    else:
        r = admin.get("/namespaces", headers={"X-Namespace": value.encode("utf-8")})
    assert_error(r, 400)


def test_bad_x_namespace_is_400_on_write(admin, ns):
    name = "badns-" + rand(6)
    for value in ("relative", "/a/../b", "/a//b", ns + "/"):
        r = admin.post("/namespaces", {"name": name}, ns=value)
        assert_error(r, 400)
    assert ns + "/" + name not in admin.names("namespaces", ns)


def test_nonexistent_x_namespace_is_404(admin, ns):
    assert_error(admin.get("/namespaces", ns=ns + "/nosuch" + rand(4)), 404)
    assert_error(admin.post("/namespaces", {"name": "x"}, ns=ns + "/nosuch" + rand(4)), 404)
    assert_error(admin.get("/namespaces", ns="/nosuch" + rand(8) + "/deeper"), 404)


def test_object_in_other_namespace_is_404(admin, ns):
    a, b = admin.mkns(ns), admin.mkns(ns)
    child = admin.mkns(a["name"])
    path = "/namespaces/" + child["ID"]
    assert admin.get(path, ns=a["name"]).status == 200
    assert_error(admin.get(path, ns=b["name"]), 404)
    assert_error(admin.get(path, ns=ns), 404)       # the parent's parent: not recursive
    assert_error(admin.get(path, ns="/"), 404)
    assert_error(admin.get(path, ns=child["name"]), 404)  # a namespace is not in itself
    assert_error(admin.head(path, ns=b["name"]), 404)
    assert_error(admin.put(path, child, ns=b["name"]), 404)
    assert_error(admin.delete(path, ns=b["name"]), 404)
    assert admin.get(path, ns=a["name"]).data == child


# -- lists ---------------------------------------------------------------------------

def test_list_direct_children_in_name_order(admin, box):
    make(admin, box, "c", "a", "b")
    gc = admin.mkns(box + "/a", "deep")
    assert admin.names("namespaces", box) == [box + "/a", box + "/b", box + "/c"]
    assert gc["name"] not in admin.names("namespaces", box)


def test_x_fields_name_on_list(admin, box):
    make(admin, box, "myns", "myotherns")
    r = admin.get("/namespaces", ns=box, fields="name")
    assert r.status == 200
    assert r.data == [{"name": box + "/myns"}, {"name": box + "/myotherns"}]
    r = admin.get("/namespaces", ns=box, fields="name, ID")
    assert all(set(o) == {"name", "ID"} for o in r.data)


def test_x_fields_unknown_field(admin, box):
    make(admin, box, "a")
    r = admin.get("/namespaces", ns=box, fields="name, nosuchfield")
    assert r.status in (200, 400), r
    if r.status == 200:
        assert r.data == [{"name": box + "/a"}]


def test_page_and_page_size(admin, box):
    make(admin, box, "n1", "n2", "n3", "n4", "n5")
    full = [box + "/n%d" % i for i in range(1, 6)]
    seen = []
    for page in (1, 2, 3):
        r = admin.get("/namespaces", ns=box, params={"page": page, "pageSize": 2})
        assert r.status == 200
        assert r.headers["X-Count-Total"] == "5"
        seen += [o["name"] for o in r.data]
    assert seen == full
    r = admin.get("/namespaces", ns=box, params={"page": 4, "pageSize": 2})
    assert r.status == 200 and r.data == []
    assert r.headers["X-Count-Total"] == "5"


def test_pagesize_alias(admin, box):
    make(admin, box, "n1", "n2", "n3")
    r = admin.get("/namespaces", ns=box, params={"page": 2, "pagesize": 2})
    assert r.status == 200
    assert [o["name"] for o in r.data] == [box + "/n3"]


def test_page_size_zero_is_all(admin, box):
    make(admin, box, *["p%03d" % i for i in range(105)])
    r = admin.get("/namespaces", ns=box, params={"pageSize": 0})
    assert r.status == 200
    assert len(r.data) == 105
    assert r.headers["X-Count-Total"] == "105"
    # Default page size is 100.
    r = admin.get("/namespaces", ns=box)
    assert len(r.data) == 100 and r.headers["X-Count-Total"] == "105"
    r = admin.get("/namespaces", ns=box, params={"page": 2})
    assert [o["name"] for o in r.data] == [box + "/p%03d" % i for i in range(100, 105)]


def test_seed_pagination_url(admin, box):
    make(admin, box, *["s%02d" % i for i in range(25)])
    r = admin.get("/namespaces?page=2&pageSize=10", ns=box,
                  content_type="application/json")
    assert r.status == 200, r
    assert [o["name"] for o in r.data] == [box + "/s%02d" % i for i in range(10, 20)]


@pytest.mark.parametrize("params", [{"page": "abc"}, {"page": 0}, {"page": -1},
                                    {"pageSize": -1}, {"pageSize": "x"}, {"limit": "x"},
                                    {"limit": -1}, {"recursive": "maybe"},
                                    {"page": "1.5"}, {"pageSize": 2, "pagesize": 3}])
def test_bad_paging_values_are_400(admin, box, params):
    assert_error(admin.get("/namespaces", ns=box, params=params), 400)


def test_limit_after_cursor(admin, box):
    make(admin, box, "c1", "c2", "c3", "c4", "c5")
    full = [box + "/c%d" % i for i in range(1, 6)]
    r = admin.get("/namespaces", ns=box, params={"limit": 2})
    assert r.status == 200
    assert [o["name"] for o in r.data] == full[:2]
    assert r.headers["X-Count-Total"] == "5"
    got = [o["name"] for o in r.data]
    nxt = r.headers.get("X-Next")
    assert nxt, "no X-Next after a full first page"
    for _ in range(10):
        if not nxt:
            break
        r = admin.get("/namespaces", ns=box, params={"limit": 2, "after": nxt})
        assert r.status == 200, r
        assert len(r.data) <= 2
        got += [o["name"] for o in r.data]
        nxt = r.headers.get("X-Next")
    assert got == full
    assert not nxt


def test_a_cursor_whose_object_went_is_400_not_an_empty_last_page(admin, box):
    objs = make(admin, box, "d1", "d2", "d3", "d4")
    r = admin.get("/namespaces", ns=box, params={"limit": 2})
    assert r.headers["X-Next"] == objs[1]["ID"]
    admin.ok(admin.delete("/namespaces/" + objs[1]["ID"], ns=box))
    e = assert_error(admin.get("/namespaces", ns=box, params={"limit": 2, "after": objs[1]["ID"]}),
                     400)
    assert "after" in e["description"]
    # A cursor of another namespace names nothing of this list either.
    other = admin.mkns(box, "elsewhere")
    assert_error(admin.get("/namespaces", ns=box + "/d1", params={"limit": 2,
                                                                   "after": other["ID"]}), 400)
    # With recursive, the subtree is the list: a cursor from below is one of its objects.
    r = admin.get("/namespaces", ns=box, params={"limit": 2, "after": objs[0]["ID"],
                                                  "recursive": "true"})
    assert r.status == 200, r


def test_order(admin, box):
    make(admin, box, "b", "a", "c")
    names = lambda **p: [o["name"] for o in admin.list("namespaces", box, params=p)]  # noqa
    assert names(order="name") == [box + "/a", box + "/b", box + "/c"]
    assert names(order="-name") == [box + "/c", box + "/b", box + "/a"]


def test_repeated_order(admin, box):
    make(admin, box, "a", "b", description="x")
    make(admin, box, "c", "d", description="w")
    r = admin.get("/namespaces", ns=box, params=[("order", "description"), ("order", "-name")])
    assert r.status == 200, r
    assert [o["name"] for o in r.data] == [box + "/d", box + "/c", box + "/b", box + "/a"]
    r = admin.get("/namespaces", ns=box, params=[("order", "-description"), ("order", "name")])
    assert [o["name"] for o in r.data] == [box + "/a", box + "/b", box + "/c", box + "/d"]


def test_order_by_time(admin, box):
    for n in ("z", "y", "x"):
        admin.mkns(box, n)
        time.sleep(0.005)
    r = admin.get("/namespaces", ns=box, params={"order": "-createTime"})
    assert r.status == 200
    assert [o["name"] for o in r.data][0] == box + "/x"


@pytest.mark.parametrize("field", ["nosuchfield", "annotations", "name;DROP TABLE x",
                                   "-", "--name"])
def test_order_on_unknown_or_unorderable_field_is_400(admin, box, field):
    assert_error(admin.get("/namespaces", ns=box, params={"order": field}), 400)


def test_recursive(admin, box):
    make(admin, box, "a", "b")
    admin.mkns(box + "/a", "c")
    admin.mkns(box + "/a/c", "d")
    assert sorted(admin.names("namespaces", box)) == [box + "/a", box + "/b"]
    r = admin.get("/namespaces", ns=box, params={"recursive": "true"})
    assert r.status == 200
    assert sorted(o["name"] for o in r.data) == [box + "/a", box + "/a/c", box + "/a/c/d",
                                                 box + "/b"]
    assert r.headers["X-Count-Total"] == "4"
    r = admin.get("/namespaces", ns=box + "/a", params={"recursive": "true"})
    assert sorted(o["name"] for o in r.data) == [box + "/a/c", box + "/a/c/d"]


def test_unknown_query_parameter_is_400(admin, box):
    assert_error(admin.get("/namespaces", ns=box, params={"foo": "bar"}), 400)
    r = admin.post("/namespaces", {"name": "qp-" + rand(6)}, ns=box, params={"foo": "bar"})
    assert_error(r, 400)
    assert admin.names("namespaces", box) == []


def test_count_total(admin, box):
    make(admin, box, "a", "b", "c")
    r = admin.get("/namespaces", ns=box, params={"pageSize": 1})
    assert r.headers["X-Count-Total"] == "3" and len(r.data) == 1


# -- HEAD ----------------------------------------------------------------------------

def test_head_list(admin, box):
    make(admin, box, "a", "b")
    r = admin.head("/namespaces", ns=box)
    assert r.status == 204
    assert r.headers["X-Count-Total"] == "2"
    assert r.content == b""
    r = admin.head("/namespaces", ns=box, params={"q": 'name == "%s/a"' % box})
    assert r.status == 204 and r.headers["X-Count-Total"] == "1"


def test_head_object(admin, ns):
    o = admin.mkns(ns)
    r = admin.head("/namespaces/" + o["ID"], ns=ns)
    assert r.status == 204 and r.content == b""
    r = admin.head("/namespaces/" + "0" * 24, ns=ns)
    assert r.status == 404 and r.content == b""


# -- update --------------------------------------------------------------------------

def test_put_full_replace(admin, ns):
    o = admin.mkns(ns, description="old", associatedTags=["a=b"], metadata=["m=1"])
    o2 = dict(o, description="new", associatedTags=[])
    r = admin.put("/namespaces/" + o["ID"], o2, ns=ns)
    assert r.status == 200, r
    u = r.data
    assert u["description"] == "new" and u["associatedTags"] == []
    assert u["metadata"] == ["m=1"]
    assert u["ID"] == o["ID"] and u["name"] == o["name"]
    assert u["createTime"] == o["createTime"]
    assert parse_time(u["updateTime"]) > parse_time(o["updateTime"])
    assert admin.get("/namespaces/" + o["ID"], ns=ns).data == u


def test_update_time_strictly_forward_on_quick_updates(admin, ns):
    o = admin.mkns(ns)
    times = [parse_time(o["updateTime"])]
    for i in range(5):
        o = admin.ok(admin.put("/namespaces/" + o["ID"], dict(o, description=str(i)), ns=ns))
        times.append(parse_time(o["updateTime"]))
    assert all(b > a for a, b in zip(times, times[1:])), times


def test_put_seed_example_body(admin, ns):
    """The seed's PUT example, with this object's identity and times."""
    name = "apps-" + rand(6)
    o = admin.mkns(ns, name)
    body = {
        "ID": o["ID"], "SSHCA": "", "SSHCAEnabled": False, "annotations": {},
        "associatedSSHCAID": "", "associatedTags": [], "createTime": o["createTime"],
        "customZoning": False, "description": "Hello world", "localCA": "",
        "localCAEnabled": False, "metadata": [], "name": o["name"], "namespace": ns,
        "networkAccessPolicyTags": [],
        "normalizedTags": ["$identity=namespace", "$name=" + o["name"], "$namespace=" + ns,
                           "$id=" + o["ID"]],
        "protected": False, "serviceCertificateValidity": "1h",
        "updateTime": o["updateTime"], "zone": 0, "zoning": 0}
    r = admin.put("/namespaces/" + o["ID"], body, ns=ns, content_type="application/json")
    assert r.status == 200, r
    assert r.data["description"] == "Hello world"
    assert parse_time(r.data["updateTime"]) > parse_time(o["updateTime"])


def test_put_stale_update_time_is_409(admin, ns):
    o = admin.mkns(ns)
    first = admin.ok(admin.put("/namespaces/" + o["ID"], dict(o, description="one"), ns=ns))
    r = admin.put("/namespaces/" + o["ID"], dict(o, description="two"), ns=ns)
    assert_error(r, 409)
    assert admin.get("/namespaces/" + o["ID"], ns=ns).data == first


def test_put_concurrent_only_one_wins(admin, ns):
    o = admin.mkns(ns)
    results = []
    barrier = threading.Barrier(8)

    def worker(i):
        c = admin.server.client(admin.token)
        barrier.wait()
        results.append(c.put("/namespaces/" + o["ID"], dict(o, description="w%d" % i),
                             ns=ns).status)

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    [t.start() for t in ts]
    [t.join(60) for t in ts]
    assert sorted(results) == [200] + [409] * 7, results


def test_put_without_update_time(admin, ns):
    o = admin.mkns(ns)
    body = {k: v for k, v in o.items() if k != "updateTime"}
    body["description"] = "x"
    r = admin.put("/namespaces/" + o["ID"], body, ns=ns)
    assert r.status in (409, 422), r


def test_put_change_name_is_creation_only_error(admin, ns):
    o = admin.mkns(ns)
    for newname in (o["name"] + "x", "bare"):
        r = admin.put("/namespaces/" + o["ID"], dict(o, name=newname), ns=ns)
        e = assert_error(r, 422, "Creation Only Error")
        assert e["data"]["attribute"] == "name"
    assert admin.get("/namespaces/" + o["ID"], ns=ns).data == o


def test_put_read_only_change_is_422(admin, ns):
    o = admin.mkns(ns)
    r = admin.put("/namespaces/" + o["ID"], dict(o, createTime="2019-06-17T20:31:24.681Z"),
                  ns=ns)
    assert_error(r, 422, "Read Only Error")
    r = admin.put("/namespaces/" + o["ID"], dict(o, ID="f" * 24), ns=ns)
    assert r.status in (400, 422), r
    assert admin.get("/namespaces/" + o["ID"], ns=ns).data == o


def test_put_unknown_attribute_is_422(admin, ns):
    o = admin.mkns(ns)
    e = assert_error(admin.put("/namespaces/" + o["ID"], dict(o, bogus=1), ns=ns), 422)
    assert e["data"]["attribute"] == "bogus"


def test_put_missing_object_is_404(admin, ns):
    o = admin.mkns(ns)
    assert_error(admin.put("/namespaces/" + "0" * 24, dict(o, ID="0" * 24), ns=ns), 404)


def test_put_msgpack(admin, ns):
    o = admin.mkns(ns)
    r = admin.put("/namespaces/" + o["ID"], dict(o, description="mp"), ns=ns, fmt="msgpack")
    assert r.status == 200, r
    assert msgpack.unpackb(r.content, raw=False)["description"] == "mp"


# -- protected -----------------------------------------------------------------------

def test_protected(admin, ns):
    o = admin.mkns(ns, protected=True)
    assert o["protected"] is True
    path = "/namespaces/" + o["ID"]
    assert_error(admin.put(path, dict(o, description="x"), ns=ns), 422)
    assert_error(admin.delete(path, ns=ns), 422)
    assert admin.get(path, ns=ns).data == o
    r = admin.put(path, dict(o, description="x"), ns=ns, params={"override": "true"})
    assert r.status == 200, r
    assert r.data["protected"] is True and r.data["description"] == "x"
    assert_error(admin.delete(path, ns=ns), 422)
    assert_error(admin.delete(path, ns=ns, params={"override": "false"}), 422)
    r = admin.delete(path, ns=ns, params={"override": "true"})
    assert r.status == 200, r
    assert_error(admin.get(path, ns=ns), 404)


def test_unprotect_needs_override(admin, ns):
    o = admin.mkns(ns, protected=True)
    path = "/namespaces/" + o["ID"]
    assert_error(admin.put(path, dict(o, protected=False), ns=ns), 422)
    u = admin.ok(admin.put(path, dict(o, protected=False), ns=ns, params={"override": "true"}))
    assert u["protected"] is False
    assert admin.delete(path, ns=ns).status == 200


def test_protected_child_blocks_parent_delete(admin, ns):
    """Deleting a namespace deletes everything below it; a protected object below stops
    that, or is removed too: either way nothing is half-deleted."""
    p = admin.mkns(ns)
    c = admin.mkns(p["name"], protected=True)
    r = admin.delete("/namespaces/" + p["ID"], ns=ns)
    if r.status == 200:
        assert_error(admin.get("/namespaces/" + c["ID"], ns=p["name"]), 404)
    else:
        assert_error(r, 422)
        assert admin.get("/namespaces/" + p["ID"], ns=ns).status == 200
        assert admin.get("/namespaces/" + c["ID"], ns=p["name"]).status == 200


# -- delete --------------------------------------------------------------------------

def test_delete_returns_deleted_object(admin, ns):
    o = admin.mkns(ns, description="bye")
    r = admin.delete("/namespaces/" + o["ID"], ns=ns)
    assert r.status == 200
    assert r.data == o
    assert_error(admin.get("/namespaces/" + o["ID"], ns=ns), 404)
    assert_error(admin.delete("/namespaces/" + o["ID"], ns=ns), 404)
    assert o["name"] not in admin.names("namespaces", ns)


def test_delete_cascades(server, admin, ns):
    top = admin.mkns(ns)
    a = admin.mkns(top["name"], "a")
    b = admin.mkns(a["name"], "b")
    uname, upass, acct = admin.mkaccount(b["name"])
    az = admin.mkauthz(a["name"], [["@auth:realm=vince", "@auth:account=" + uname]],
                       ["@auth:role=namespace.viewer"])
    assert server.issue(uname, upass).status == 200
    r = admin.delete("/namespaces/" + top["ID"], ns=ns)
    assert r.status == 200, r
    for path in (top["name"], a["name"], b["name"]):
        assert_error(admin.get("/namespaces", ns=path), 404)
    everything = admin.get("/namespaces", ns=ns, params={"recursive": "true", "pageSize": 0})
    assert not [o for o in everything.data if o["name"].startswith(top["name"])]
    assert_error(server.issue(uname, upass), 401)
    accts = admin.get("/accounts", ns="/", params={"recursive": "true", "pageSize": 0})
    assert accts.status == 200, accts
    assert uname not in [o["name"] for o in accts.data]
    azs = admin.get("/apiauthorizations", ns="/",
                    params={"recursive": "true", "pageSize": 0})
    assert az["ID"] not in [o["ID"] for o in azs.data]
    # The name can be reused: nothing is left behind.
    assert admin.mkns(ns, top["name"].rsplit("/", 1)[1])["name"] == top["name"]
    assert admin.mkaccount(ns, name=uname)[0] == uname


# -- idempotency ---------------------------------------------------------------------

def test_idempotency_same_key_twice(admin, box):
    key = "abcdef1234-" + rand(8)
    name = "test-namespace-2"
    r1 = admin.post("/namespaces", {"name": name}, ns=box, idem=key, fields="ID")
    r2 = admin.post("/namespaces", {"name": name}, ns=box, idem=key, fields="ID")
    assert r1.status == 200, r1
    assert r2.status == r1.status
    assert r2.content == r1.content
    assert list(r1.data) == ["ID"]
    assert admin.names("namespaces", box) == [box + "/" + name]
    # Without the key, the same request is a duplicate.
    r3 = admin.post("/namespaces", {"name": name}, ns=box, fields="ID")
    assert_error(r3, 422, *DUP)


def test_idempotency_key_reused_with_other_body_is_422(admin, box):
    key = "k-" + rand(8)
    assert admin.post("/namespaces", {"name": "one"}, ns=box, idem=key).status == 200
    r = admin.post("/namespaces", {"name": "two"}, ns=box, idem=key)
    assert_error(r, 422)
    assert admin.names("namespaces", box) == [box + "/one"]


def test_idempotency_key_reused_on_other_path_is_422(admin, box):
    key = "kp-" + rand(8)
    assert admin.post("/namespaces", {"name": "one"}, ns=box, idem=key).status == 200
    uname = "idem-" + rand(8)
    r = admin.post("/accounts", {"name": uname, "password": "long-enough-pw"}, ns=box, idem=key)
    assert_error(r, 422)
    accts = admin.get("/accounts", ns=box)
    assert accts.status == 200 and uname not in [o["name"] for o in accts.data]


def test_idempotency_key_scoped_by_namespace(admin, box):
    key = "ks-" + rand(8)
    a = admin.mkns(box, "a")["name"]
    b = admin.mkns(box, "b")["name"]
    r1 = admin.post("/namespaces", {"name": "same"}, ns=a, idem=key)
    r2 = admin.post("/namespaces", {"name": "same"}, ns=b, idem=key)
    assert r1.status == 200 and r2.status == 200, (r1, r2)
    assert r1.data["ID"] != r2.data["ID"]


def test_idempotency_concurrent(admin, box):
    key = "conc-" + rand(8)
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(10)

    def worker():
        c = admin.server.client(admin.token)
        barrier.wait()
        r = c.post("/namespaces", {"name": "once"}, ns=box, idem=key)
        with lock:
            results.append(r)

    ts = [threading.Thread(target=worker) for _ in range(10)]
    [t.start() for t in ts]
    [t.join(60) for t in ts]
    assert len(results) == 10
    assert admin.names("namespaces", box) == [box + "/once"]
    ok = [r for r in results if r.status == 200]
    assert ok, results
    assert len({r.data["ID"] for r in ok}) == 1
    for r in results:
        assert r.status < 500 and r.status != 422, r


def test_idempotency_msgpack_replay(admin, box):
    key = "mpk-" + rand(8)
    r1 = admin.post("/namespaces", {"name": "m"}, ns=box, idem=key, fmt="msgpack")
    r2 = admin.post("/namespaces", {"name": "m"}, ns=box, idem=key, fmt="msgpack")
    assert r1.status == 200 and r2.status == 200
    assert r1.data == r2.data


def test_idempotency_compares_what_a_body_says_not_its_bytes(admin, box):
    # The same request re-serialized by a retrying client (other spacing, other key order,
    # MessagePack instead of JSON) is the same request: replayed, not 422.
    key = "canon-" + rand(8)
    first = b'{"name":"canon","description":"d"}'
    r1 = admin.post("/namespaces", ns=box, idem=key, data=first,
                    content_type="application/json")
    assert r1.status == 200, r1
    for data, ctype in ((b'{ "description" : "d",\n  "name": "canon" }', "application/json"),
                        (msgpack.packb({"description": "d", "name": "canon"}),
                         "application/msgpack")):
        r = admin.post("/namespaces", ns=box, idem=key, data=data, content_type=ctype)
        assert r.status == 200 and r.data["ID"] == r1.data["ID"], r
    r = admin.post("/namespaces", ns=box, idem=key, data=b'{"name":"canon","description":"e"}',
                   content_type="application/json")
    assert_error(r, 422)  # what it says differs
    assert admin.names("namespaces", box) == [box + "/canon"]


def test_no_idempotency_key_creates_each_time(admin, box):
    r1 = admin.post("/namespaces", {"name": "x1"}, ns=box)
    r2 = admin.post("/namespaces", {"name": "x2"}, ns=box)
    assert r1.status == r2.status == 200
    assert r1.data["ID"] != r2.data["ID"]


# -- IDs and times -------------------------------------------------------------------

def test_ids_unique_and_hex(admin, box):
    objs = make(admin, box, *["i%d" % i for i in range(10)])
    ids = [o["ID"] for o in objs]
    assert len(set(ids)) == 10
    assert all(HEX24.match(i) for i in ids)


def test_list_objects_equal_get(admin, box):
    make(admin, box, "a", "b")
    for o in admin.list("namespaces", box):
        assert admin.get("/namespaces/" + o["ID"], ns=box).data == o


def test_msgpack_create_and_list(admin, box):
    r = admin.post("/namespaces", {"name": "mp"}, ns=box, fmt="msgpack")
    assert r.status == 200
    r = admin.get("/namespaces", ns=box, accept=MSGPACK_CT)
    assert [o["name"] for o in r.data] == [box + "/mp"]


# -- children URLs -------------------------------------------------------------------

def test_children_urls(server, admin, ns):
    a = admin.mkns(ns)
    admin.mkns(a["name"], "x")
    base = "/namespaces/%s/namespaces" % a["ID"]
    r = admin.get(base, ns=ns)
    assert r.status == 200, r
    assert [o["name"] for o in r.data] == [a["name"] + "/x"]
    h = admin.head(base, ns=ns)
    assert h.status == 204 and h.headers["X-Count-Total"] == "1"
    r = admin.post(base, {"name": "y"}, ns=ns)
    assert r.status == 200, r
    assert r.data["name"] == a["name"] + "/y" and r.data["namespace"] == a["name"]
    uname = "child-" + rand(8)
    r = admin.post("/namespaces/%s/accounts" % a["ID"], {"name": uname,
                                                         "password": "password-123"}, ns=ns)
    assert r.status == 200, r
    assert r.data["namespace"] == a["name"]
    assert server.issue(uname, "password-123").status == 200
    assert_error(admin.put(base, {"name": "z"}, ns=ns), 405)
    assert_error(admin.get("/namespaces/%s/nosuch" % a["ID"], ns=ns), 404)
    assert_error(admin.get("/namespaces/%s/namespaces" % ("0" * 24), ns=ns), 404)
    other = admin.mkns(ns)
    assert_error(admin.get(base, ns=other["name"]), 404)
    assert_error(admin.get("/accounts/%s/namespaces" % r.data["ID"], ns=a["name"]), 404)


def test_idempotency_on_put(admin, ns):
    o = admin.mkns(ns)
    key = "put-" + rand(8)
    body = dict(o, description="once")
    r1 = admin.put("/namespaces/" + o["ID"], body, ns=ns, idem=key)
    assert r1.status == 200, r1
    # The retry carries the old updateTime: without the key it would be a 409.
    r2 = admin.put("/namespaces/" + o["ID"], body, ns=ns, idem=key)
    assert r2.status == 200 and r2.content == r1.content, r2
    assert admin.get("/namespaces/" + o["ID"], ns=ns).data == r1.data
    assert_error(admin.put("/namespaces/" + o["ID"], body, ns=ns), 409)


def test_idempotency_key_scoped_by_principal(server, admin, box):
    name, pw, _ = admin.mkaccount(box)
    admin.mkauthz(box, [["@auth:realm=vince", "@auth:account=" + name]],
                  ["@auth:role=namespace.administrator"])
    other = server.client(server.token(name, pw))
    key = "who-" + rand(8)
    r1 = admin.post("/namespaces", {"name": "mine"}, ns=box, idem=key)
    assert r1.status == 200, r1
    r2 = other.post("/namespaces", {"name": "mine"}, ns=box, idem=key)
    # Not the first caller's kept answer: the request runs, and the name is taken.
    assert_error(r2, 422, *DUP)


def test_idempotency_key_scoped_by_account_not_its_name(server, admin, box):
    # API.md 6: a replay needs the same key, namespace and principal; a new account of the
    # same name is another account (docs/api-decisions.md). Its request runs, and is told
    # the name is taken, instead of receiving the deleted account's kept answer.
    name, pw, acct = admin.mkaccount(box)
    admin.mkauthz(box, [["@auth:realm=vince", "@auth:account=" + name]],
                  ["@auth:role=namespace.administrator"])
    key = "acct-" + rand(8)
    first = server.client(server.token(name, pw))
    assert first.post("/namespaces", {"name": "kept"}, ns=box, idem=key).status == 200
    admin.ok(admin.delete("/accounts/" + acct["ID"], ns=box))
    admin.mkaccount(box, name=name, password=pw)
    again = server.client(server.token(name, pw))
    assert_error(again.post("/namespaces", {"name": "kept"}, ns=box, idem=key), 422, *DUP)


def test_idempotency_key_does_not_outlive_its_namespace(admin, box):
    # A namespace created at the path of a deleted one starts empty (docs/api-decisions.md):
    # a kept answer of the old one is not replayed there, as it named an object that is gone.
    path = admin.mkns(box, "gone-" + rand(4))
    key = "ns-" + rand(8)
    r1 = admin.post("/namespaces", {"name": "child"}, ns=path["name"], idem=key)
    assert r1.status == 200, r1
    admin.ok(admin.delete("/namespaces/" + path["ID"], ns=box))
    admin.mkns(box, path["name"].rsplit("/", 1)[1])
    r2 = admin.post("/namespaces", {"name": "child"}, ns=path["name"], idem=key)
    assert r2.status == 200 and r2.data["ID"] != r1.data["ID"], (r1, r2)
    assert admin.get("/namespaces/" + r2.data["ID"], ns=path["name"]).status == 200


@pytest.mark.parametrize("method,path,allow", [
    ("DELETE", "/namespaces", "GET, HEAD, POST"),
    ("POST", "/namespaces/%s" % ("a" * 24), "GET, HEAD, PUT, DELETE"),
    ("PUT", "/auditlogs", "GET, HEAD"),
    ("DELETE", "/auditlogs/%s" % ("a" * 24), "GET, HEAD"),
    ("POST", "/health", "GET, HEAD"),
])
def test_405_names_the_allowed_methods(admin, ns, method, path, allow):
    """RFC 9110 15.5.6: a 405 carries Allow."""
    e = assert_error(admin.request(method, path, ns=ns), 405)
    assert e["code"] == 405
    r = admin.request(method, path, ns=ns)
    assert r.headers.get("Allow") == allow, r.headers
