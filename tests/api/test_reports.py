"""Reports (API.md 7.3): the counts over a namespace's inventory, recursive or not, with a
filter, kept and listed."""

import datetime

import pytest
from cryptography.hazmat.primitives import hashes

from certmaker import make_cert, now
from kwtest import assert_error, rand


@pytest.fixture(scope="module")
def estate(admin):
    top = admin.mkns("/", "rep-" + rand(6))["name"]
    sub = admin.mkns(top, "team")["name"]
    ca = make_cert("Report CA", ca=True, days=3650, key="RSA_2048")
    old = now() - datetime.timedelta(days=100)

    def put(ns, cert):
        r = admin.post("/certificates", {"certificate": cert.pem}, ns=ns)
        assert r.status == 200, r
        return r.data

    made = [
        put(top, ca),  # self-signed RSA CA, ACTIVE, later
        put(top, make_cert("a.test", issuer=ca, days=5)),  # EXPIRING, within7Days
        put(top, make_cert("b.test", issuer=ca, days=20)),  # EXPIRING, within30Days
        put(top, make_cert("c.test", issuer=ca, start=old, days=10)),  # EXPIRED
        put(top, make_cert("d.test", issuer=ca, days=60, hash_alg=hashes.SHA1())),  # weak sig
        put(sub, make_cert("e.test", days=500, key="EC_P384")),  # self-signed, later, too long
    ]
    retired = dict(made[2])
    retired["retired"] = True
    r = admin.put("/certificates/" + retired["ID"], retired, ns=top)
    assert r.status == 200, r
    return top, sub, made


def report(admin, ns, **body):
    r = admin.post("/certificatereports", body, ns=ns)
    assert r.status == 200, r
    return r.data


def test_report_counts(admin, estate):
    top, _, _ = estate
    rep = report(admin, top)
    assert rep["object"] == "certificatereport" and rep["total"] == 5
    assert rep["byStatus"] == {"ACTIVE": 2, "EXPIRING": 1, "EXPIRED": 1, "REVOKED": 0,
                               "RETIRED": 1}
    assert rep["bySource"] == {"IMPORTED": 5}
    assert rep["bySignatureAlgorithm"] == {"sha256WithRSAEncryption": 4,
                                           "sha1WithRSAEncryption": 1}
    assert rep["byWeakness"] == {"WEAK_SIGNATURE": 1}
    assert rep["byExpiry"] == {"expired": 1, "within7Days": 1, "within30Days": 0,
                               "within90Days": 1, "later": 1}
    assert rep["byIssuer"] == [{"issuer": "CN=Report CA", "issuerCN": "Report CA",
                                "count": 5}]
    keys = {(k["keyAlgorithm"], k["keySize"]): k["count"] for k in rep["byKeyAlgorithm"]}
    assert keys == {("RSA", 2048): 1, ("EC", 256): 4}


def test_recursive_report(admin, estate):
    top, _, _ = estate
    rep = report(admin, top, recursive=True)
    assert rep["total"] == 6 and rep["recursive"] is True
    assert rep["byWeakness"] == {"WEAK_SIGNATURE": 1, "VALIDITY_TOO_LONG": 1}
    assert rep["byExpiry"]["later"] == 2
    assert {k["issuerCN"]: k["count"] for k in rep["byIssuer"]} == {"Report CA": 5,
                                                                    "e.test": 1}


def test_filtered_report(admin, estate):
    top, _, _ = estate
    rep = report(admin, top, q='keyAlgorithm == "EC" and status != "RETIRED"', recursive=True)
    assert rep["total"] == 4
    assert rep["byStatus"]["RETIRED"] == 0 and rep["byStatus"]["EXPIRING"] == 1
    assert rep["q"] == 'keyAlgorithm == "EC" and status != "RETIRED"'


@pytest.mark.parametrize("q", ['nosuch == 1', 'status < "A"', 'keyAlgorithm ==', 'der == "x"',
                               'status == 1', 'status != 1'])
def test_bad_filter_is_422_on_q(admin, estate, q):
    top, _, _ = estate
    n = len(admin.ok(admin.get("/certificatereports", ns=top)))
    r = admin.post("/certificatereports", {"q": q}, ns=top)
    assert_error(r, 422)
    assert r.data[0]["data"]["attribute"] == "q"
    assert len(admin.ok(admin.get("/certificatereports", ns=top))) == n


def test_reports_are_kept_and_listed(admin, estate):
    top, _, _ = estate
    first = report(admin, top, description="monday")
    second = report(admin, top, description="tuesday")
    listed = admin.ok(admin.get("/certificatereports", ns=top,
                                params={"order": "createTime"}))
    got = [r["ID"] for r in listed]
    assert got.index(first["ID"]) < got.index(second["ID"])
    kept = admin.ok(admin.get("/certificatereports/" + first["ID"], ns=top))
    assert kept["byStatus"] == first["byStatus"]


def test_making_a_report_takes_the_right_to_read_certificates(server, admin, estate):
    """A report answers any q over the certificates of its scope: a principal that may not
    read them may not make one (a review's report-only account read names back one
    bisection at a time); it may still read the reports kept."""
    top, _, _ = estate
    kept = report(admin, top, recursive=True)
    tokens = {}
    for key, perms in (("only", ["certificatereport,get,post"]),
                       ("both", ["certificatereport,get,post", "certificate,get"])):
        name, pw, _ = admin.mkaccount(top)
        admin.mkauthz(top, [["@auth:realm=vince", "@auth:account=" + name]], perms)
        tokens[key] = server.client(server.token(name, pw))
    only = tokens["only"]
    assert_error(only.get("/certificates", ns=top), 403)
    r = only.post("/certificatereports", {"q": 'subjectCN matches "^a"'}, ns=top)
    e = assert_error(r, 403)
    assert "certificate,get" in e["description"], e
    assert only.get("/certificatereports/" + kept["ID"], ns=top).status == 200
    r = tokens["both"].post("/certificatereports", {"recursive": True}, ns=top)
    assert r.status == 200 and r.data["total"] == kept["total"], r


def test_empty_namespace_report(admin):
    ns = admin.mkns("/", "empty-" + rand(6))["name"]
    rep = report(admin, ns)
    assert rep["total"] == 0 and rep["byIssuer"] == [] and rep["bySource"] == {}
    assert rep["byStatus"]["ACTIVE"] == 0


def test_counts_follow_deletes_updates_and_namespace_deletes(admin):
    top = admin.mkns("/", "cnt-" + rand(6))["name"]
    sub = admin.mkns(top, "x")["name"]
    a = admin.ok(admin.post("/certificates", {"certificate": make_cert("a.cnt").pem}, ns=top))
    admin.ok(admin.post("/certificates", {"certificate": make_cert("b.cnt").pem}, ns=sub))
    rep = report(admin, top, recursive=True)
    assert rep["total"] == 2 and rep["byStatus"]["ACTIVE"] == 2
    a["retired"] = True
    admin.ok(admin.put("/certificates/" + a["ID"], a, ns=top))
    rep = report(admin, top, recursive=True)
    assert rep["byStatus"]["RETIRED"] == 1 and rep["byStatus"]["ACTIVE"] == 1
    assert sum(rep["byExpiry"].values()) == 1
    admin.ok(admin.delete("/certificates/" + a["ID"], ns=top))
    rep = report(admin, top, recursive=True)
    assert rep["total"] == 1 and rep["byStatus"]["RETIRED"] == 0
    subobj = admin.list("namespaces", top)[0]
    admin.ok(admin.delete("/namespaces/" + subobj["ID"], ns=top))
    rep = report(admin, top, recursive=True)
    assert rep["total"] == 0 and rep["bySource"] == {}
    again = admin.mkns(top, "x")["name"]
    assert report(admin, again)["total"] == 0


def test_an_empty_issuer_name_is_reported_as_an_empty_string(admin):
    # API.md 7.3: byIssuer lists the issuer DN with each count; a certificate whose issuer
    # name is empty has issuer "" (docs/inventory.md), and so has its row of the report.
    import oddcert as oc

    ns = admin.mkns("/", "emptydn-" + rand(6))["name"]
    r = admin.post("/certificates", {"certificate": oc.pem(oc.build(subject=oc.name()))}, ns=ns)
    assert r.status == 200 and r.data["issuer"] == "", r
    assert report(admin, ns)["byIssuer"] == [{"issuer": "", "count": 1}]
