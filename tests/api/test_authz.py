"""API authorizations, roles and accounts (API.md section 5, the seed's /company example)."""

import json

import pytest

from kwtest import assert_error, rand

FORBIDDEN = ("Forbidden", "You are not allowed to access this resource.")
DUP = ("Duplicate Key", "Another object exists with the same key")
VIEWER = "@auth:role=namespace.viewer"
EDITOR = "@auth:role=namespace.editor"
ADMIN = "@auth:role=namespace.administrator"


def user_with(admin, server, home, identities, authorized_ns=None, subject=None,
              policy_ns=None):
    """A new account living in `home`, granted `identities` on `authorized_ns` by a policy
    stored in `policy_ns`; returns a Client holding its token."""
    name, pw, _ = admin.mkaccount(home)
    subj = subject if subject is not None else [["@auth:realm=vince", "@auth:account=" + name]]
    if identities is not None:
        admin.mkauthz(policy_ns or home, subj, identities, authorized_ns or policy_ns or home)
    c = server.client(server.token(name, pw))
    c.account = name
    return c


def forbidden(r):
    return assert_error(r, 403, *FORBIDDEN)


# -- the seed's example --------------------------------------------------------------

@pytest.fixture(scope="module")
def company(admin):
    r = admin.post("/namespaces", {"name": "company"}, ns="/")
    assert r.status == 200, r
    for n in ("ns1", "ns2"):
        admin.mkns("/company", n)
    admin.mkns("/company/ns1", "myns")
    admin.mkns("/company/ns1", "myotherns")
    admin.mkns("/company/ns2", "secret")
    return "/company"


def test_seed_company_example(admin, server, company):
    alice = user_with(admin, server, "/company", [VIEWER], authorized_ns="/company/ns1")
    r = alice.get("/namespaces", ns="/company/ns1", fields="name",
                  content_type="application/json")
    assert r.status == 200, r
    assert r.data == [{"name": "/company/ns1/myns"}, {"name": "/company/ns1/myotherns"}]
    r = alice.get("/namespaces", ns="/company/ns2", fields="name",
                  content_type="application/json")
    e = forbidden(r)
    assert e["code"] == 403
    assert "secret" not in r.content.decode()
    # Nor the parent where the policy lives.
    forbidden(alice.get("/namespaces", ns="/company"))
    forbidden(alice.get("/namespaces", ns="/"))


# -- inheritance ---------------------------------------------------------------------

def test_grant_inherited_by_descendants(admin, server, ns):
    top = admin.mkns(ns)["name"]
    a = admin.mkns(top, "a")["name"]
    abc = admin.mkns(admin.mkns(a, "b")["name"], "c")["name"]
    sib = admin.mkns(top, "sib")["name"]
    u = user_with(admin, server, top, [VIEWER], authorized_ns=a)
    assert u.get("/namespaces", ns=a).status == 200
    assert u.get("/namespaces", ns=a + "/b").status == 200
    assert u.get("/namespaces", ns=abc).status == 200
    forbidden(u.get("/namespaces", ns=top))
    forbidden(u.get("/namespaces", ns=sib))
    forbidden(u.get("/namespaces", ns=ns))


def test_policy_below_does_not_grant_above(admin, server, ns):
    top = admin.mkns(ns)["name"]
    low = admin.mkns(top, "low")["name"]
    u = user_with(admin, server, top, [VIEWER], policy_ns=low)
    assert u.get("/namespaces", ns=low).status == 200
    forbidden(u.get("/namespaces", ns=top))


def test_missing_namespace_under_grant_is_404_elsewhere_403(admin, server, ns):
    top = admin.mkns(ns)["name"]
    u = user_with(admin, server, top, [VIEWER])
    assert_error(u.get("/namespaces", ns=top + "/nosuch"), 404)
    forbidden(u.get("/namespaces", ns="/nosuch-" + rand(8)))


def test_policy_deleted_revokes(admin, server, ns):
    top = admin.mkns(ns)["name"]
    name, pw, _ = admin.mkaccount(top)
    az = admin.mkauthz(top, [["@auth:realm=vince", "@auth:account=" + name]], [VIEWER])
    u = server.client(server.token(name, pw))
    assert u.get("/namespaces", ns=top).status == 200
    assert admin.delete("/apiauthorizations/" + az["ID"], ns=top).status == 200
    forbidden(u.get("/namespaces", ns=top))


# -- roles ---------------------------------------------------------------------------

def test_viewer(admin, server, ns):
    top = admin.mkns(ns)["name"]
    obj = admin.mkns(top, "x")
    u = user_with(admin, server, top, [VIEWER])
    path = "/namespaces/" + obj["ID"]
    assert u.get("/namespaces", ns=top).status == 200
    assert u.get(path, ns=top).data == obj
    assert u.head(path, ns=top).status == 204
    assert u.head("/namespaces", ns=top).status == 204
    forbidden(u.post("/namespaces", {"name": "y"}, ns=top))
    forbidden(u.put(path, dict(obj, description="changed"), ns=top))
    forbidden(u.delete(path, ns=top))
    assert admin.get(path, ns=top).data == obj
    assert admin.names("namespaces", top) == [top + "/x"]


def test_editor(admin, server, ns):
    top = admin.mkns(ns)["name"]
    u = user_with(admin, server, top, [EDITOR])
    o = u.ok(u.post("/namespaces", {"name": "e"}, ns=top))
    o = u.ok(u.put("/namespaces/" + o["ID"], dict(o, description="ed"), ns=top))
    assert o["description"] == "ed"
    assert u.delete("/namespaces/" + o["ID"], ns=top).status == 200
    forbidden(u.post("/apiauthorizations", {
        "name": "esc-" + rand(6), "subject": [["@auth:realm=vince", "@auth:account=" + u.account]],
        "authorizedIdentities": [ADMIN], "authorizedNamespace": top}, ns=top))
    forbidden(u.post("/accounts", {"name": "acc-" + rand(8), "password": "password-123"},
                     ns=top))
    other, _, acct = admin.mkaccount(top)
    forbidden(u.put("/accounts/" + acct["ID"], dict(acct, password="hijacked-pass"), ns=top))
    forbidden(u.delete("/accounts/" + acct["ID"], ns=top))


def test_administrator(admin, server, ns):
    top = admin.mkns(ns)["name"]
    u = user_with(admin, server, top, [ADMIN])
    o = u.ok(u.post("/namespaces", {"name": "adm"}, ns=top))
    name, pw = "acc-" + rand(8), "password-" + rand(8)
    u.ok(u.post("/accounts", {"name": name, "password": pw}, ns=o["name"]))
    az = u.ok(u.post("/apiauthorizations", {
        "name": "az-" + rand(6), "subject": [["@auth:realm=vince", "@auth:account=" + name]],
        "authorizedIdentities": [VIEWER], "authorizedNamespace": o["name"]}, ns=o["name"]))
    assert az["object"] == "apiauthorization"
    v = server.client(server.token(name, pw))
    assert v.get("/namespaces", ns=o["name"]).status == 200
    forbidden(v.post("/namespaces", {"name": "no"}, ns=o["name"]))
    # Still nothing outside its namespace.
    forbidden(u.get("/namespaces", ns=ns))
    forbidden(u.post("/accounts", {"name": "x-" + rand(8), "password": "password-123"}, ns=ns))


def test_raw_permissions(admin, server, ns):
    top = admin.mkns(ns)["name"]
    obj = admin.mkns(top, "x")
    u = user_with(admin, server, top, ["namespace,get,post"])
    assert u.get("/namespaces", ns=top).status == 200
    assert u.get("/namespaces/" + obj["ID"], ns=top).status == 200
    assert u.post("/namespaces", {"name": "made"}, ns=top).status == 200
    forbidden(u.put("/namespaces/" + obj["ID"], dict(obj, description="x"), ns=top))
    forbidden(u.delete("/namespaces/" + obj["ID"], ns=top))
    forbidden(u.get("/accounts", ns=top))
    forbidden(u.get("/apiauthorizations", ns=top))


def test_raw_permission_wildcards(admin, server, ns):
    top = admin.mkns(ns)["name"]
    obj = admin.mkns(top, "x")
    u = user_with(admin, server, top, ["namespace,*"])
    assert u.put("/namespaces/" + obj["ID"], dict(obj, description="w"), ns=top).status == 200
    forbidden(u.get("/accounts", ns=top))
    g = user_with(admin, server, top, ["*,get"])
    assert g.get("/namespaces", ns=top).status == 200
    forbidden(g.post("/namespaces", {"name": "no"}, ns=top))


def test_two_policies_union(admin, server, ns):
    top = admin.mkns(ns)["name"]
    name, pw, _ = admin.mkaccount(top)
    subj = [["@auth:realm=vince", "@auth:account=" + name]]
    admin.mkauthz(top, subj, ["namespace,get"])
    admin.mkauthz(top, subj, ["namespace,post"])
    u = server.client(server.token(name, pw))
    assert u.get("/namespaces", ns=top).status == 200
    assert u.post("/namespaces", {"name": "both"}, ns=top).status == 200
    o = admin.mkns(top)
    forbidden(u.delete("/namespaces/" + o["ID"], ns=top))


# -- subjects ------------------------------------------------------------------------

@pytest.mark.parametrize("subject", [
    [["@auth:realm=vince"]],
    [["@auth:account=x", "@auth:email=y"]],
    [["@auth:realm=vince", "@auth:realm=certificate"]],
    [["@auth:realm=vince", "@auth:account=a"], ["@auth:account=b"]],
    [[]],
    [],
    "@auth:realm=vince",
    # no token has a claim but @auth:<key>=<value>: such a line could never match
    [["@auth:realm=vince", "account=alice"]],
    [["@auth:realm=vince", "@auth:=alice"]],
    [["@auth:realm=vince", "@auth:account"]],
])
def test_bad_subjects_are_422(admin, ns, subject):
    r = admin.post("/apiauthorizations", {"name": "bad-" + rand(6), "subject": subject,
                                          "authorizedIdentities": [VIEWER],
                                          "authorizedNamespace": ns}, ns=ns)
    e = assert_error(r, 422)
    assert e.get("data", {}).get("attribute") == "subject", r


def test_non_matching_subject_grants_nothing(admin, server, ns):
    top = admin.mkns(ns)["name"]
    name, pw, _ = admin.mkaccount(top, email="me@example.com")
    admin.mkauthz(top, [["@auth:realm=vince", "@auth:account=someone-else"]], [ADMIN])
    admin.mkauthz(top, [["@auth:realm=vince", "@auth:account=" + name,
                         "@auth:email=other@example.com"]], [ADMIN])
    admin.mkauthz(top, [["@auth:realm=certificate", "@auth:account=" + name]], [ADMIN])
    admin.mkauthz(top, [["@auth:realm=vince", "@auth:account=" + name.upper()]], [ADMIN])
    u = server.client(server.token(name, pw))
    forbidden(u.get("/namespaces", ns=top))


def test_subject_or_of_and_lines(admin, server, ns):
    top = admin.mkns(ns)["name"]
    name, pw, _ = admin.mkaccount(top, email="me@example.com")
    admin.mkauthz(top, [["@auth:realm=vince", "@auth:account=nobody"],
                        ["@auth:realm=vince", "@auth:email=me@example.com",
                         "@auth:organization=" + top]], [VIEWER])
    u = server.client(server.token(name, pw))
    assert u.get("/namespaces", ns=top).status == 200


def test_authorized_namespace_outside_is_422(admin, ns):
    top = admin.mkns(ns)["name"]
    a = admin.mkns(top, "a")["name"]
    b = admin.mkns(top, "b")["name"]
    subj = [["@auth:realm=vince", "@auth:account=x"]]
    for target in (b, top, "/", a + "x"):
        r = admin.post("/apiauthorizations", {"name": "o-" + rand(6), "subject": subj,
                                              "authorizedIdentities": [VIEWER],
                                              "authorizedNamespace": target}, ns=a)
        e = assert_error(r, 422)
        assert e.get("data", {}).get("attribute") == "authorizedNamespace", r
    assert admin.mkauthz(a, subj, [VIEWER], authorized_ns=a)
    sub = admin.mkns(a, "sub")["name"]
    assert admin.mkauthz(a, subj, [VIEWER], authorized_ns=sub)


def test_bad_identities_are_422(admin, ns):
    subj = [["@auth:realm=vince", "@auth:account=x"]]
    for ids in (["@auth:role=no.such.role"], ["namespace,fly"], "x", [1]):
        r = admin.post("/apiauthorizations", {"name": "i-" + rand(6), "subject": subj,
                                              "authorizedIdentities": ids,
                                              "authorizedNamespace": ns}, ns=ns)
        assert_error(r, 422)


# -- roles list ----------------------------------------------------------------------

def test_roles_list(admin):
    r = admin.get("/roles")
    assert r.status == 200, r
    assert isinstance(r.data, list)
    text = json.dumps(r.data)
    for role in ("namespace.administrator", "namespace.editor", "namespace.viewer",
                 "certificate.requester"):
        assert role in [o.get("name") for o in r.data if isinstance(o, dict)] or \
            ('"%s"' % role) in text, role


def test_roles_need_only_a_token(admin, server, ns):
    u = user_with(admin, server, admin.mkns(ns)["name"], None)
    assert u.get("/roles", ns=ns).status == 200
    assert_error(server.client().get("/roles", token=None), 401)


def test_roles_need_x_namespace_and_page_like_any_list(admin, ns):
    assert_error(admin.get("/roles", ns=None), 400)  # API.md 4: every request names one
    all_ = admin.ok(admin.get("/roles", ns=ns))
    # API.md 6: a named resource lists in name order (a conformance review)
    assert [o["name"] for o in all_] == sorted(o["name"] for o in all_)
    r = admin.get("/roles", ns=ns, params={"page": 2, "pageSize": 1})
    assert r.status == 200 and r.headers["X-Count-Total"] == str(len(all_)), r
    assert [o["name"] for o in r.data] == [all_[1]["name"]]
    assert admin.ok(admin.get("/roles", ns=ns, params={"pagesize": 0})) == all_
    assert_error(admin.get("/roles", ns=ns, params={"q": 'name == "x"'}), 400)


def test_roles_spell_out_what_they_grant(admin, ns):
    roles = {o["name"]: o for o in admin.ok(admin.get("/roles", ns=ns))}
    viewer = roles["namespace.viewer"]["authorizations"][0]["resources"]
    editor = roles["namespace.editor"]["authorizations"][0]["resources"]
    # API.md 5: viewers get everything but secrets; editors all but API authorizations,
    # credentials and CAs, which they read as viewers do
    for identity in ("namespace", "certificate", "apiauthorization", "account",
                     "certificateauthority", "auditlog"):
        assert viewer[identity] == ["get"], (identity, viewer)
    for identity in ("appcredential", "serviceaccount", "webhook", "ldapprovider"):
        assert identity not in viewer, identity
    assert set(editor["certificate"]) == {"get", "post", "put", "delete"}
    for identity in ("apiauthorization", "account", "certificateauthority"):
        assert editor[identity] == ["get"], (identity, editor)
    assert "appcredential" not in editor


# -- accounts ------------------------------------------------------------------------

def test_password_never_returned(admin, ns):
    pw = "Secret-" + rand(12)
    name = "pw-" + rand(8)
    r = admin.post("/accounts", {"name": name, "password": pw, "email": "a@b.c"}, ns=ns)
    assert r.status == 200, r
    responses = [r]
    obj = r.data
    responses.append(admin.get("/accounts/" + obj["ID"], ns=ns))
    responses.append(admin.get("/accounts", ns=ns))
    responses.append(admin.get("/accounts", ns=ns, accept="application/msgpack"))
    responses.append(admin.put("/accounts/" + obj["ID"], dict(obj, description="d"), ns=ns))
    obj2 = responses[-1].data
    responses.append(admin.put("/accounts/" + obj2["ID"],
                               dict(obj2, password="New-" + pw), ns=ns))
    responses.append(admin.delete("/accounts/" + obj["ID"], ns=ns))
    for x in responses:
        assert x.status == 200, x
        assert pw.encode() not in x.content, x
        items = x.data if isinstance(x.data, list) else [x.data]
        for o in items:
            assert "password" not in o, x
    assert obj["object"] == "account"


def test_password_change_and_keep(server, admin, ns):
    name, pw, obj = admin.mkaccount(ns)
    # PUT without a password keeps the old one.
    body = {k: v for k, v in obj.items()}
    body["description"] = "kept"
    obj = admin.ok(admin.put("/accounts/" + obj["ID"], body, ns=ns))
    assert server.issue(name, pw).status == 200
    obj = admin.ok(admin.put("/accounts/" + obj["ID"], dict(obj, password=""), ns=ns))
    assert server.issue(name, pw).status == 200
    new = "Changed-" + rand(10)
    admin.ok(admin.put("/accounts/" + obj["ID"], dict(obj, password=new), ns=ns))
    assert server.issue(name, pw).status == 401
    assert server.issue(name, new).status == 200


def test_duplicate_account_name_across_namespaces(admin, ns):
    a = admin.mkns(ns)["name"]
    b = admin.mkns(ns)["name"]
    name, _, _ = admin.mkaccount(a)
    r = admin.post("/accounts", {"name": name, "password": "other-password"}, ns=b)
    assert_error(r, 422, *DUP)
    r = admin.post("/accounts", {"name": name, "password": "other-password"}, ns=a)
    assert_error(r, 422, *DUP)


@pytest.mark.parametrize("body", [
    {"name": "short-pw", "password": "1234567"},
    {"name": "no-pw"},
    {"name": "bad name", "password": "password-123"},
    {"name": "", "password": "password-123"},
    {"name": "x" * 129, "password": "password-123"},
    {"password": "password-123"},
    {"name": "big-pw", "password": "x" * 1025},
])
def test_account_validation(admin, ns, body):
    assert_error(admin.post("/accounts", body, ns=ns), 422)


def test_account_name_change_is_creation_only(admin, ns):
    name, pw, obj = admin.mkaccount(ns)
    r = admin.put("/accounts/" + obj["ID"], dict(obj, name=name + "x"), ns=ns)
    assert_error(r, 422, "Creation Only Error")


def test_disabled_account_cannot_issue(server, admin, ns):
    name, pw, _ = admin.mkaccount(ns, disabled=True)
    assert_error(server.issue(name, pw), 401, description="Invalid credentials")


def test_account_name_chars(server, admin, ns):
    name = "First.Last@example-org_" + rand(4)
    name, pw, _ = admin.mkaccount(ns, name=name)
    assert server.issue(name, pw).status == 200


# -- the bootstrap authorization ----------------------------------------------------

def test_bootstrap_authorization_visible(admin):
    r = admin.get("/apiauthorizations", ns="/")
    assert r.status == 200, r
    boot = [o for o in r.data
            if o.get("authorizedNamespace") == "/"
            and ADMIN in o.get("authorizedIdentities", [])
            and any("@auth:realm=vince" in line and "@auth:account=admin" in line
                    for line in o.get("subject", []))]
    assert boot, r.data
    o = boot[0]
    assert o["object"] == "apiauthorization"
    assert o["namespace"] == "/"
    g = admin.get("/apiauthorizations/" + o["ID"], ns="/")
    assert g.status == 200 and g.data == o


def test_admin_account_visible(admin):
    r = admin.get("/accounts", ns="/")
    assert r.status == 200, r
    assert "admin" in [o["name"] for o in r.data]


# -- subnets, disabled policies ------------------------------------------------------

def test_authorized_subnets(admin, server, ns):
    top = admin.mkns(ns)["name"]
    name, pw, _ = admin.mkaccount(top)
    subj = [["@auth:realm=vince", "@auth:account=" + name]]
    admin.mkauthz(top, subj, [VIEWER], authorizedSubnets=["10.0.0.0/8"])
    u = server.client(server.token(name, pw))
    forbidden(u.get("/namespaces", ns=top))
    admin.mkauthz(top, subj, [VIEWER], authorizedSubnets=["192.168.0.0/16", "127.0.0.0/8"])
    assert u.get("/namespaces", ns=top).status == 200


def test_bad_subnet_is_422(admin, ns):
    r = admin.post("/apiauthorizations", {
        "name": "sn-" + rand(6), "subject": [["@auth:realm=vince", "@auth:account=x"]],
        "authorizedIdentities": [VIEWER], "authorizedNamespace": ns,
        "authorizedSubnets": ["not-a-cidr"]}, ns=ns)
    e = assert_error(r, 422)
    assert e["data"]["attribute"] == "authorizedSubnets"


def test_disabled_policy_grants_nothing(admin, server, ns):
    top = admin.mkns(ns)["name"]
    name, pw, _ = admin.mkaccount(top)
    az = admin.mkauthz(top, [["@auth:realm=vince", "@auth:account=" + name]], [VIEWER],
                       disabled=True)
    u = server.client(server.token(name, pw))
    forbidden(u.get("/namespaces", ns=top))
    admin.ok(admin.put("/apiauthorizations/" + az["ID"], dict(az, disabled=False), ns=top))
    assert u.get("/namespaces", ns=top).status == 200


def test_policy_update_takes_effect(admin, server, ns):
    top = admin.mkns(ns)["name"]
    name, pw, _ = admin.mkaccount(top)
    az = admin.mkauthz(top, [["@auth:realm=vince", "@auth:account=" + name]], [VIEWER])
    u = server.client(server.token(name, pw))
    forbidden(u.post("/namespaces", {"name": "w"}, ns=top))
    admin.ok(admin.put("/apiauthorizations/" + az["ID"], dict(az, authorizedIdentities=[EDITOR]),
                       ns=top))
    assert u.post("/namespaces", {"name": "w"}, ns=top).status == 200


def test_a_realm_claim_is_matched_as_tokens_spell_it(admin, server, ns):
    """Realm claims are lowercase (API.md 3); "@auth:realm=Vince", the realm's name as POST
    /issue takes it, was stored as sent and matched no token (a conformance review)."""
    top = admin.mkns(ns)["name"]
    name, pw, _ = admin.mkaccount(top)
    az = admin.mkauthz(top, [["@auth:realm=Vince", "@auth:account=" + name]], [VIEWER])
    assert az["subject"] == [["@auth:realm=vince", "@auth:account=" + name]], az
    u = server.client(server.token(name, pw))
    assert u.get("/namespaces", ns=top).status == 200


def test_denied_write_leaves_no_trace(admin, server, ns):
    top = admin.mkns(ns)["name"]
    u = user_with(admin, server, top, [VIEWER])
    for i in range(3):
        forbidden(u.post("/namespaces", {"name": "d%d" % i}, ns=top, idem="deny-%d" % i))
    assert admin.names("namespaces", top) == []


def test_subject_and_subnets_are_checked_as_documented(admin, ns):
    """A review: `authorizedSubnets: [""]` was stored (granting nothing), 1,000 subject lines
    passed the limit of 64, and a line of 71 claims or a 100,000-byte claim was told "must
    be a list of lists of strings"."""
    top = admin.mkns(ns)["name"]
    line = ["@auth:realm=vince", "@auth:account=x"]

    def post(**kw):
        body = {"name": "az-" + rand(6), "subject": [line], "authorizedIdentities": [VIEWER],
                "authorizedNamespace": top}
        body.update(kw)
        return admin.post("/apiauthorizations", body, ns=top)

    e = assert_error(post(authorizedSubnets=[""]), 422)
    assert e["data"]["attribute"] == "authorizedSubnets" and "not a CIDR" in e["description"]
    admin.ok(post(subject=[line] * 64))
    e = assert_error(post(subject=[line] * 65), 422)
    assert "at most 64 lines" in e["description"], e
    e = assert_error(post(subject=[line + ["@auth:k%d=v" % i for i in range(63)]]), 422)
    assert "at most 64 items" in e["description"], e
    e = assert_error(post(subject=[line + ["@auth:big=" + "x" * 100000]]), 422)
    assert "at most 1024 bytes" in e["description"], e
    e = assert_error(post(subject=[line, "not-a-line"]), 422)
    assert "list of lists of strings" in e["description"], e
    assert [a for a in admin.list("apiauthorizations", top) if len(a["subject"]) != 64] == []
