"""The seed's curl examples (seeds/001), run with curl itself against Keyward.

Only the host changes (and the namespace prefix, so the examples do not collide with other
tests); headers, methods and bodies are the seed's."""

import json
import subprocess

import pytest
from requests.structures import CaseInsensitiveDict

from kwtest import assert_error, rand


class Curl:
    def __init__(self, status, body, headers):
        self.status = status
        self.content = body
        self.headers = headers
        self.method = "CURL"
        self.path = ""

    @property
    def data(self):
        return json.loads(self.content) if self.content else None

    def __repr__(self):
        return "<curl %d %r>" % (self.status, self.content[:1000])


def curl(server, path, *args):
    cmd = ["curl", "-sS", "--cacert", server.ca, "-D", "-",
           "-w", "\n%{http_code}", server.url + path] + list(args)
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    p = subprocess.run(cmd, capture_output=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr.decode()
    out = p.stdout
    out, code = out.rsplit(b"\n", 1)
    head, _, body = out.partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.decode().partition(":")
        headers[k.strip()] = v.strip()
    return Curl(int(code), body, CaseInsensitiveDict(headers))


@pytest.fixture(scope="module")
def token(server):
    r = curl(server, "/issue", "-X", "POST", "-H", "Content-Type: application/json", "-d",
             json.dumps({"realm": "Vince", "metadata": {
                 "vinceAccount": "admin", "vincePassword": server.admin_password}}))
    assert r.status == 200, r
    return r.data["token"]


@pytest.fixture(scope="module")
def company(admin, ns):
    """<ns>/company with ns1 and ns2, as in the seed."""
    c = admin.mkns(ns, "company")["name"]
    admin.mkns(c, "ns1")
    admin.mkns(c, "ns2")
    return c


def test_issue_vince(server):
    r = curl(server, "/issue", "-X", "POST", "-H", "Content-Type: application/json", "-d",
             '{ "realm": "Vince", "metadata": { "vinceAccount": "admin", "vincePassword": "%s" } }'
             % server.admin_password)
    assert r.status == 200, r
    d = r.data
    assert d["realm"] == "Vince" and d["validity"] == "24h" and d["quota"] == 0
    assert d["token"].count(".") == 2


def test_issue_with_validity_and_quota(server):
    body = {"realm": "Vince", "validity": "24h", "quota": 0,
            "metadata": {"vinceAccount": "admin", "vincePassword": server.admin_password}}
    r = curl(server, "/issue", "-X", "POST", "-H", "Content-Type: application/json",
             "-d", json.dumps(body))
    assert r.status == 200, r
    assert {k: r.data[k] for k in ("quota", "realm", "validity")} == {
        "quota": 0, "realm": "Vince", "validity": "24h"}


def test_issue_seed_typo_body_is_400(server):
    """The seed's first /issue example has a stray quote ("validity: "24h"): not JSON."""
    r = curl(server, "/issue", "-X", "POST", "-H", "Content-Type: application/json", "-d",
             '{ "realm": "Vince", "validity: "24h", "quota": 0, "metadata": {} }')
    assert_error(r, 400)


def test_issue_certificate_without_certificate_is_401(server):
    r = curl(server, "/issue", "-X", "POST", "-H", "Content-Type: application/json",
             "-d", '{"realm": "Certificate"}')
    assert_error(r, 401)


def test_list_with_x_fields(server, admin, token, company):
    admin.mkns(company + "/ns1", "myns")
    admin.mkns(company + "/ns1", "myotherns")
    r = curl(server, "/namespaces", "-H", "Content-Type: application/json",
             "-H", "X-Namespace: %s/ns1" % company, "-H", "X-Fields: name",
             "-H", "Authorization: Bearer " + token)
    assert r.status == 200, r
    assert r.data == [{"name": company + "/ns1/myns"}, {"name": company + "/ns1/myotherns"}]


def test_create(server, token, company):
    r = curl(server, "/namespaces", "-X", "POST", "-H", "Content-Type: application/json",
             "-H", "X-Namespace: %s/ns1" % company, "-H", "X-Fields: name",
             "-H", "Authorization: Bearer " + token, "-d", '{ "name": "mynamespace" }')
    assert r.status == 200, r
    assert r.data == {"name": company + "/ns1/mynamespace"}


def test_duplicate_then_idempotent(server, admin, token, ns):
    where = admin.mkns(ns, "dupco")["name"]
    args = ["-X", "POST", "-H", "Content-Type: application/json", "-H", "X-Namespace: " + where,
            "-H", "Authorization: Bearer " + token, "-H", "X-Fields: ID",
            "-d", '{"name": "test-namespace-2"}']
    first = curl(server, "/namespaces", *args)
    assert first.status == 200, first
    assert list(first.data) == ["ID"]
    second = curl(server, "/namespaces", *args)
    assert second.status == 422
    assert second.data[0]["code"] == 422
    assert second.data[0]["title"] == "Duplicate Key"
    assert second.data[0]["description"] == "Another object exists with the same key"

    where2 = admin.mkns(ns, "idemco")["name"]
    args = ["-X", "POST", "-H", "Content-Type: application/json", "-H", "X-Namespace: " + where2,
            "-H", "Idempotency-Key: abcdef1234", "-H", "Authorization: Bearer " + token,
            "-H", "X-Fields: ID", "-d", '{"name": "test-namespace-2"}']
    a = curl(server, "/namespaces", *args)
    b = curl(server, "/namespaces", *args)
    assert a.status == 200, a
    assert b.status == 200 and b.content == a.content
    assert admin.names("namespaces", where2) == [where2 + "/test-namespace-2"]


def test_pagination(server, admin, token, ns):
    where = admin.mkns(ns, "pages")["name"]
    for i in range(25):
        admin.mkns(where, "p%02d" % i)
    r = curl(server, "/namespaces?page=2&pageSize=10", "-H", "Content-Type: application/json",
             "-H", "X-Namespace: " + where, "-H", "Authorization: Bearer " + token)
    assert r.status == 200, r
    assert [o["name"] for o in r.data] == [where + "/p%02d" % i for i in range(10, 20)]
    assert r.headers["X-Count-Total"] == "25"


def test_put_seed_body(server, admin, token, ns):
    o = admin.mkns(ns, "apps")
    body = ('{ "ID": "%(ID)s", "SSHCA": "", "SSHCAEnabled": false, "annotations": {}, '
            '"associatedSSHCAID": "", "associatedTags": [], "createTime": "%(ct)s", '
            '"customZoning": false, "description": "Hello world", "localCA": "", '
            '"localCAEnabled": false, "metadata": [], "name": "%(name)s", '
            '"namespace": "%(ns)s", "networkAccessPolicyTags" :[], "normalizedTags": '
            '[ "$identity=namespace", "$name=%(name)s", "$namespace=%(ns)s", "$id=%(ID)s" ], '
            '"protected": false, "serviceCertificateValidity": "1h", "updateTime": "%(ut)s", '
            '"zone": 0, "zoning": 0 }') % {"ID": o["ID"], "ct": o["createTime"],
                                            "name": o["name"], "ns": ns,
                                            "ut": o["updateTime"]}
    r = curl(server, "/namespaces/" + o["ID"], "-X", "PUT",
             "-H", "Content-Type: application/json", "-H", "X-Namespace: " + ns,
             "-H", "Authorization: Bearer " + token, "-d", body)
    assert r.status == 200, r
    assert r.data["description"] == "Hello world"
    assert r.data["updateTime"] > o["updateTime"]


def test_delete(server, admin, token, ns):
    o = admin.mkns(ns, "del-" + rand(6))
    r = curl(server, "/namespaces/" + o["ID"], "-X", "DELETE",
             "-H", "Content-Type: application/json", "-H", "X-Namespace: " + ns,
             "-H", "Authorization: Bearer " + token)
    assert r.status == 200, r
    assert r.data["ID"] == o["ID"]
    assert_error(admin.get("/namespaces/" + o["ID"], ns=ns), 404)


def test_error_example_shape(server, token, ns):
    r = curl(server, "/namespaces", "-X", "POST", "-H", "Content-Type: application/json",
             "-H", "X-Namespace: " + ns, "-H", "Authorization: Bearer " + token, "-d", "{}")
    e = assert_error(r, 422, "Validation Error", "Attribute 'name' is required")
    assert e["data"] == {"attribute": "name"}
