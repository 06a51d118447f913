"""Status as time passes and monitoring policies (API.md 7.1, 7.2): a certificate that
expires while nobody writes it reads and filters as EXPIRED at once; the sweep stores it
without moving updateTime; policies are inherited, re-evaluate what they cover, and decide
the weaknesses."""

import datetime
import time

import pytest
from cryptography.hazmat.primitives import hashes

from certmaker import make_cert, now
from kwtest import assert_error, rand


def imp(c, ns, pem):
    r = c.post("/certificates", {"certificate": pem}, ns=ns)
    assert r.status == 200, r
    return r.data


def ids(c, ns, q, **params):
    r = c.get("/certificates", ns=ns, params={"q": q, **params})
    assert r.status == 200, r
    return {x["ID"] for x in r.data}


def wait_for(fn, timeout=15):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(0.2)


def short_lived(cn, seconds):
    """A certificate that ends `seconds` from now."""
    start = now() - datetime.timedelta(days=1)
    end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return make_cert(cn, start=start, end=end.replace(microsecond=0))


def test_status_follows_the_clock_without_any_write(start_server):
    """The sweep runs once an hour here: what reads and filters say is computed."""
    s = start_server(config={"monitor_interval": "1h"})
    c = s.admin()
    ns = c.mkns("/", "clock-" + rand(6))["name"]
    soon = imp(c, ns, short_lived("soon.test", 3).pem)
    later = imp(c, ns, make_cert("later.test", days=365).pem)
    assert soon["status"] == "EXPIRING"  # within the default 30 days
    assert ids(c, ns, 'status == "EXPIRING"') == {soon["ID"]}
    time.sleep(4.5)
    got = c.ok(c.get("/certificates/" + soon["ID"], ns=ns))
    assert got["status"] == "EXPIRED"
    assert ids(c, ns, 'status == "EXPIRED"') == {soon["ID"]}
    assert ids(c, ns, 'status == "EXPIRING"') == set()
    assert ids(c, ns, 'status == "ACTIVE"') == {later["ID"]}
    assert ids(c, ns, 'status != "ACTIVE"') == {soon["ID"]}
    r = c.get("/certificates", ns=ns, accept="text/csv", fields=["ID", "status"])
    assert ("%s,EXPIRED" % soon["ID"]) in r.content.decode()
    # reports too: from the stored counts moved on by the clock, and from the rows
    for body in ({}, {"q": 'subjectCN exists'}):
        rep = c.ok(c.post("/certificatereports", body, ns=ns))
        assert rep["byStatus"] == {"ACTIVE": 1, "EXPIRING": 0, "EXPIRED": 1, "REVOKED": 0,
                                   "RETIRED": 0}, body
        assert rep["byExpiry"]["expired"] == 1 and rep["byExpiry"]["later"] == 1, body


def test_the_sweep_stores_crossings_without_moving_update_time(start_server):
    s = start_server(config={"monitor_interval": "1s"})
    c = s.admin()
    ns = c.mkns("/", "sweep-" + rand(6))["name"]
    read = imp(c, ns, short_lived("sweep.test", 2).pem)
    time.sleep(4)
    dump = wait_for(lambda: [r for r in s.store_rows("certificates")
                             if r.get("ID") == read["ID"] and r.get("status") == "EXPIRED"])
    assert dump, "the sweep did not store EXPIRED"
    got = c.ok(c.get("/certificates/" + read["ID"], ns=ns))
    assert got["updateTime"] == read["updateTime"]
    read["description"] = "edited from a stale read"
    r = c.put("/certificates/" + read["ID"], read, ns=ns)
    assert r.status == 200, r
    assert r.data["status"] == "EXPIRED"


@pytest.fixture(scope="module")
def tree(admin):
    top = admin.mkns("/", "pol-" + rand(6))["name"]
    sub = admin.mkns(top, "team")["name"]
    return top, sub


def test_policy_defaults_and_one_per_namespace(admin, tree):
    top, _ = tree
    p = admin.ok(admin.post("/monitoringpolicies", {}, ns=top))
    assert (p["expiringWithinDays"], p["minimumRSAKeySize"], p["minimumECKeySize"],
            p["maximumValidityDays"]) == (30, 2048, 256, 398)
    assert "sha1WithRSAEncryption" in p["weakSignatureAlgorithms"]
    assert_error(admin.post("/monitoringpolicies", {}, ns=top), 422)
    admin.ok(admin.delete("/monitoringpolicies/" + p["ID"], ns=top))


@pytest.mark.parametrize("field,value", [("expiringWithinDays", 0),
                                         ("expiringWithinDays", 36501),
                                         ("minimumRSAKeySize", "big"),
                                         ("weakSignatureAlgorithms", "md5"),
                                         ("weakSignatureAlgorithms", ["bogusAlg"]),
                                         ("weakSignatureAlgorithms", ["SHA1"]),  # a digest
                                         ("weakSignatureAlgorithms", ["rsaEncryption"]),
                                         ("weakSignatureAlgorithms", [""])])
def test_policy_validation(admin, tree, field, value):
    top, _ = tree
    r = admin.post("/monitoringpolicies", {field: value}, ns=top)
    assert_error(r, 422)
    assert r.data[0]["data"]["attribute"] == field


def test_policy_takes_openssl_signature_names_and_oids(admin, tree):
    top, _ = tree
    algs = ["sha1WithRSAEncryption", "ecdsa-with-SHA1", "ED25519", "rsassaPss",
            "sha256WithRSAEncryption", "1.2.3.4.5"]
    p = admin.ok(admin.post("/monitoringpolicies", {"weakSignatureAlgorithms": algs}, ns=top))
    assert p["weakSignatureAlgorithms"] == algs
    admin.ok(admin.delete("/monitoringpolicies/" + p["ID"], ns=top))


def test_a_policy_naming_an_algorithm_by_its_oid_flags_what_it_signed(admin):
    # The OID of an algorithm OpenSSL names is kept as its long name, the spelling of the
    # certificates' signatureAlgorithm: 1.2.840.10045.4.3.2 matched nothing before (review).
    ns = admin.mkns("/", "oid-" + rand(6))["name"]
    root = make_cert("OID Root", ca=True, days=3650)
    leaf = imp(admin, ns, make_cert("oid.test", issuer=root).pem)
    assert leaf["signatureAlgorithm"] == "ecdsa-with-SHA256" and leaf["weaknesses"] == []
    p = admin.ok(admin.post("/monitoringpolicies", {
        "weakSignatureAlgorithms": ["1.2.840.10045.4.3.2", "1.2.3.4.5"]}, ns=ns))
    assert p["weakSignatureAlgorithms"] == ["ecdsa-with-SHA256", "1.2.3.4.5"]
    assert wait_for(lambda: admin.ok(admin.get("/certificates/" + leaf["ID"], ns=ns))
                    ["weaknesses"] == ["WEAK_SIGNATURE"])
    assert_error(admin.post("/monitoringpolicies", {
        "weakSignatureAlgorithms": ["1.2.840.113549.1.1.1"]}, ns=ns), 422)  # rsaEncryption


def test_policy_limits_at_the_cap(admin, tree):
    top, _ = tree
    p = admin.ok(admin.post("/monitoringpolicies", {"expiringWithinDays": 36500}, ns=top))
    admin.ok(admin.delete("/monitoringpolicies/" + p["ID"], ns=top))


def test_a_policy_change_re_evaluates_below_it(admin, tree):
    top, sub = tree
    c90 = imp(admin, sub, make_cert("ninety.test", days=90).pem)
    assert c90["status"] == "ACTIVE"
    p = admin.ok(admin.post("/monitoringpolicies", {"expiringWithinDays": 120}, ns=top))
    assert wait_for(lambda: admin.ok(admin.get("/certificates/" + c90["ID"], ns=sub))
                    ["status"] == "EXPIRING"), "the policy of the parent was not applied"
    assert ids(admin, sub, 'status == "EXPIRING"') >= {c90["ID"]}
    # a namespace's own policy wins over its parent's
    own = admin.ok(admin.post("/monitoringpolicies", {"expiringWithinDays": 10}, ns=sub))
    assert wait_for(lambda: admin.ok(admin.get("/certificates/" + c90["ID"], ns=sub))
                    ["status"] == "ACTIVE")
    admin.ok(admin.delete("/monitoringpolicies/" + own["ID"], ns=sub))
    assert wait_for(lambda: admin.ok(admin.get("/certificates/" + c90["ID"], ns=sub))
                    ["status"] == "EXPIRING")
    admin.ok(admin.delete("/monitoringpolicies/" + p["ID"], ns=top))
    assert wait_for(lambda: admin.ok(admin.get("/certificates/" + c90["ID"], ns=sub))
                    ["status"] == "ACTIVE")
    # the certificate's own updateTime never moved
    assert admin.ok(admin.get("/certificates/" + c90["ID"], ns=sub))["updateTime"] == \
        c90["updateTime"]


def count(c, ns, q, **params):
    r = c.head("/certificates", ns=ns, params={"q": q, **params})
    assert r.status in (200, 204), r  # 204: nothing matches
    return int(r.headers["X-Count-Total"])


def test_a_policy_change_shows_in_the_next_read(admin):
    """API.md 7.2: reads and filters are right at any time. A policy over at most 1,000
    certificates re-evaluates them in its own write, so the answer after it is already
    the new state: status, weaknesses, filters and reports, with no wait."""
    top = admin.mkns("/", "now-" + rand(6))["name"]
    sub = admin.mkns(top, "team")["name"]
    c90 = imp(admin, sub, make_cert("ninety.test", days=90).pem)
    rsa = imp(admin, sub, make_cert("rsa2048.test", key="RSA_2048").pem)
    assert c90["status"] == "ACTIVE" and rsa["weaknesses"] == []

    def read(cert):
        return admin.ok(admin.get("/certificates/" + cert["ID"], ns=sub))

    p = admin.ok(admin.post("/monitoringpolicies", {"expiringWithinDays": 120,
                                                    "minimumRSAKeySize": 3072}, ns=top))
    assert read(c90)["status"] == "EXPIRING"
    assert read(rsa)["weaknesses"] == ["WEAK_KEY"]
    assert ids(admin, top, 'status == "EXPIRING"', recursive="true") >= {c90["ID"]}
    assert count(admin, sub, 'weaknesses contains "WEAK_KEY"') == 1
    rep = admin.ok(admin.post("/certificatereports", {}, ns=sub))
    assert rep["byStatus"]["EXPIRING"] >= 1 and rep["byWeakness"].get("WEAK_KEY") == 1
    p["expiringWithinDays"] = 60  # an update, below the parent's own
    admin.ok(admin.put("/monitoringpolicies/" + p["ID"], p, ns=top))
    assert read(c90)["status"] == "ACTIVE"
    own = admin.ok(admin.post("/monitoringpolicies", {"expiringWithinDays": 100}, ns=sub))
    assert read(c90)["status"] == "EXPIRING" and read(rsa)["weaknesses"] == []
    admin.ok(admin.delete("/monitoringpolicies/" + own["ID"], ns=sub))
    assert read(c90)["status"] == "ACTIVE" and read(rsa)["weaknesses"] == ["WEAK_KEY"]
    admin.ok(admin.delete("/monitoringpolicies/" + p["ID"], ns=top))
    assert read(rsa)["weaknesses"] == [] and count(admin, sub, 'status == "EXPIRING"') == 0
    assert read(c90)["updateTime"] == c90["updateTime"]


@pytest.mark.parametrize("n", [1000, 1001])
def test_a_policy_over_many_certificates(admin, n):
    """At the cap of the re-evaluation done in the write, and one past it (then in the
    background): either way every certificate ends in the new state."""
    ns = admin.mkns("/", "many-" + rand(6))["name"]
    pems = "".join(make_cert("n%d.test" % i, days=90).pem for i in range(n))
    assert admin.ok(admin.post("/certificateimports", {"contents": pems}, ns=ns))["imported"] == n
    admin.ok(admin.post("/monitoringpolicies", {"expiringWithinDays": 120}, ns=ns))
    if n == 1000:
        assert count(admin, ns, 'status == "EXPIRING"') == n
    assert wait_for(lambda: count(admin, ns, 'status == "EXPIRING"') == n)


def test_weaknesses(admin):
    ns = admin.mkns("/", "weak-" + rand(6))["name"]
    rsa = imp(admin, ns, make_cert("rsa1024.test", key="RSA_1024").pem)
    assert rsa["weaknesses"] == ["WEAK_KEY"]
    ok = imp(admin, ns, make_cert("rsa2048.test", key="RSA_2048").pem)
    assert ok["weaknesses"] == []
    root = make_cert("SHA1 Root", ca=True, days=3650, key="RSA_2048", hash_alg=hashes.SHA1())
    r = imp(admin, ns, root.pem)
    assert "WEAK_SIGNATURE" not in r["weaknesses"], "a self-signed root's signature is moot"
    leaf = imp(admin, ns, make_cert("sha1.test", issuer=root, hash_alg=hashes.SHA1()).pem)
    assert leaf["weaknesses"] == ["WEAK_SIGNATURE"]
    # a self-signed leaf is no root: its signature is what a client pinning it checks
    # (API.md 7.2 spares roots only; a conformance review)
    lone = imp(admin, ns, make_cert("self.sha1.test", hash_alg=hashes.SHA1(), key="RSA_2048").pem)
    assert lone["selfSigned"] and not lone["isCA"] and lone["weaknesses"] == ["WEAK_SIGNATURE"]
    long_leaf = imp(admin, ns, make_cert("long.test", days=500).pem)
    assert long_leaf["weaknesses"] == ["VALIDITY_TOO_LONG"]
    long_ca = imp(admin, ns, make_cert("Long CA", ca=True, days=5000).pem)
    assert long_ca["weaknesses"] == []
    assert ids(admin, ns, 'weaknesses == "WEAK_KEY"') == {rsa["ID"]}
    assert ids(admin, ns, 'weaknesses exists') == {rsa["ID"], leaf["ID"], lone["ID"],
                                                   long_leaf["ID"]}
    # a stricter policy makes the 2048-bit key weak too
    admin.ok(admin.post("/monitoringpolicies", {"minimumRSAKeySize": 3072}, ns=ns))
    assert wait_for(lambda: admin.ok(admin.get("/certificates/" + ok["ID"], ns=ns))
                    ["weaknesses"] == ["WEAK_KEY"])


def test_expired_issuer(admin):
    ns = admin.mkns("/", "issuer-" + rand(6))["name"]
    root = make_cert("Old Root", ca=True, days=3650)
    start = now() - datetime.timedelta(days=400)
    inter = make_cert("Dead Intermediate", issuer=root, ca=True, start=start, days=300)
    leaf = make_cert("orphan.test", issuer=inter, days=90)
    obj = imp(admin, ns, leaf.pem + inter.pem + root.pem)
    assert obj["weaknesses"] == ["EXPIRED_ISSUER"]
    assert ids(admin, ns, 'status == "EXPIRED"') == {obj["issuerCertificateID"]}
