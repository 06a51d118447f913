"""The inventory's limits, each at its cap and one past it (API.md 1; docs/inventory.md,
Caps): the entries of one import (INV_CERTS_MAX, 100,000, failed blocks and duplicates
counted: past what 32 MiB of certificates hold, so that a bundle of any size up to the body
limit works), the bytes of an import body (max_import_size, 32 MiB), the length of
`description` (1024 bytes) on certificates, certificateimports and monitoringpolicies,
and pageSize/limit on /certificates (page_size_max, 10,000)."""

import base64
import random
import string

import pytest

import oddcert as oc
from kwtest import assert_error, rand, raw_request

CAP = 10000  # page_size_max's default
ENTRIES = 100000  # INV_CERTS_MAX
MANY = 12000  # past the 10,000 entries an import was once capped at
PEM_CT = "application/pem-certificate-chain"


@pytest.fixture(scope="module")
def pems():
    """MANY distinct small certificates, as PEM."""
    return [oc.pem(oc.build(subject=oc.name((oc.CN, oc.UTF8, "c%05d.cap.test" % i)),
                            extensions=[]))
            for i in range(MANY)]


def post_bundle(admin, ns, body):
    return admin.request("POST", "/certificateimports", ns=ns, data=body.encode(),
                         content_type=PEM_CT, timeout=300)


def count(admin, ns, rest="certificates"):
    r = admin.head("/" + rest, ns=ns)
    assert r.status == 204, r
    return int(r.headers["X-Count-Total"])


def assert_too_many(admin, ns, r, before):
    e = assert_error(r, 422)
    assert e["data"]["attribute"] == "contents", r
    assert "too many" in e["description"], r
    assert count(admin, ns) == before, "a refused input stores nothing"


@pytest.fixture(scope="module")
def full(admin, pems):
    """A namespace holding exactly CAP (10,000) certificates, imported in one bundle."""
    ns = admin.mkns("/", "cap-" + rand(6))["name"]
    r = post_bundle(admin, ns, "".join(pems[:CAP]))
    assert r.status == 200, r
    return ns, r.data


def test_an_import_of_ten_thousand_certificates(admin, full):
    ns, rec = full
    assert (rec["total"], rec["imported"], rec["duplicates"], rec["failed"]) == (CAP, CAP, 0, 0)
    assert rec["errors"] == [] and len(rec["certificateIDs"]) == CAP
    assert len(set(rec["certificateIDs"])) == CAP
    assert count(admin, ns) == CAP
    kept = admin.ok(admin.get("/certificateimports/" + rec["ID"], ns=ns))
    assert kept["certificateIDs"] == rec["certificateIDs"]


def test_a_bundle_past_ten_thousand_certificates_is_imported(admin, pems):
    """Issue 8: a bundle of any size up to the body limit works; 12,000 certificates were
    refused whole ('too many': an acceptance check)."""
    ns = admin.mkns("/", "capmany-" + rand(6))["name"]
    r = post_bundle(admin, ns, "".join(pems))
    assert r.status == 200, r
    assert (r.data["total"], r.data["imported"]) == (MANY, MANY)
    assert count(admin, ns) == MANY


def test_failed_blocks_and_duplicates_count_toward_the_cap(admin, pems):
    """INV_CERTS_MAX entries hold more than 32 MiB of certificates; short failed blocks
    reach it: at the cap the bundle is read, one past it is refused whole."""
    ns = admin.mkns("/", "capmix-" + rand(6))["name"]
    bad = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    # a certificate, the same again, and 99,998 bad blocks: 100,000 entries
    body = pems[0] + pems[0] + bad * (ENTRIES - 2)
    r = post_bundle(admin, ns, body)
    assert r.status == 200, r
    assert (r.data["total"], r.data["imported"], r.data["duplicates"], r.data["failed"]) == \
        (ENTRIES, 1, 1, ENTRIES - 2)
    assert [e["index"] for e in r.data["errors"]] == list(range(2, ENTRIES))
    assert r.data["certificateIDs"] == [r.data["certificateIDs"][0]] * 2
    # one more block of any kind (a bad one, a duplicate, a new one) is one past the cap
    for more in (bad, pems[0], pems[1]):
        assert_too_many(admin, ns, post_bundle(admin, ns, body + more), 1)
    assert count(admin, ns, "certificateimports") == 1, "no record of a refused import"


def test_a_pkcs7_bundle_past_ten_thousand(admin, pems):
    """A PKCS#7 counts its certificates, in the JSON form too; 12,000 of them are
    imported."""
    ders = [base64.b64decode("".join(p.splitlines()[1:-1])) for p in pems]

    def p7(certs):
        return base64.b64encode(oc.seq(oc.oid("1.2.840.113549.1.7.2"), oc.tlv(0xA0, oc.seq(
            oc.integer(1), oc.set_of(), oc.seq(oc.oid("1.2.840.113549.1.7.1")),
            oc.tlv(0xA0, certs), oc.set_of())))).decode()

    ns = admin.mkns("/", "capp7-" + rand(6))["name"]
    r = admin.post("/certificateimports", {"contents": p7(b"".join(ders))}, ns=ns, timeout=300)
    assert r.status == 200, r
    assert (r.data["total"], r.data["imported"]) == (MANY, MANY)


def test_import_body_at_and_past_max_import_size(admin, pems):
    """32 MiB (max_import_size's default) is read; one byte more is 413. Trailing
    whitespace is no block."""
    ns = admin.mkns("/", "capsz-" + rand(6))["name"]
    cap = 32 << 20
    body = pems[0] + "\n" * (cap - len(pems[0]))
    assert len(body) == cap
    r = post_bundle(admin, ns, body)
    assert r.status == 200, r
    assert (r.data["total"], r.data["imported"]) == (1, 1)
    r = post_bundle(admin, ns, body + "\n")
    assert_error(r, 413)
    assert count(admin, ns) == 1 and count(admin, ns, "certificateimports") == 1


def test_a_bundle_above_max_body_size_needs_a_valid_token_in_its_head(server, admin, pems):
    """max_import_size is for principals that may import: without a valid token, or
    without the right (judged with the head too), the body keeps max_body_size, refused
    with the head (413) before it is read, so nobody else makes the server hold 32 MiB
    per connection (a review: 60 connections, 2 GB). A body that fits still learns the
    401 or 403; with the right the bundle is read."""
    ns = admin.mkns("/", "authsz-" + rand(6))["name"]
    big = 4 << 20
    name, pw, _ = admin.mkaccount(ns)  # a valid token without the right to import
    admin.mkauthz(ns, [["@auth:realm=vince", "@auth:account=" + name]], ["certificate,get"])
    reader = (("Authorization", "Bearer " + server.token(name, pw)),)
    for auth in ((), (("Authorization", "Bearer not.a.token"),), reader):
        conn = server.https_conn(None, 30)
        try:
            conn.putrequest("POST", "/certificateimports", skip_accept_encoding=True)
            for k, v in auth + (("X-Namespace", ns), ("Content-Type", PEM_CT),
                                ("Content-Length", str(big))):
                conn.putheader(k, v)
            conn.endheaders()  # the head alone: no byte of the body is sent
            assert conn.getresponse().status == 413
        finally:
            conn.close()
        status, _, _ = kw_raw(server, auth, ns, (pems[0] + "\n").encode())
        assert status == (403 if auth == reader else 401), status
    body = pems[1] + "\n" * (big - len(pems[1]))
    r = post_bundle(admin, ns, body)
    assert r.status == 200 and r.data["imported"] == 1, r
    assert count(admin, ns) == 1


def kw_raw(server, auth, ns, body):
    return raw_request(server, "POST", "/certificateimports", body=body,
                       headers=list(auth) + [("X-Namespace", ns), ("Content-Type", PEM_CT)])


def test_page_size_at_and_past_page_size_max(admin, full):
    ns, _ = full
    for key in ("pageSize", "pagesize", "limit"):
        r = admin.get("/certificates", ns=ns, params={key: CAP}, fields=["ID"])
        assert r.status == 200, r
        assert len(r.data) == CAP and r.headers["X-Count-Total"] == str(CAP)
        assert_error(admin.get("/certificates", ns=ns, params={key: CAP + 1}, fields=["ID"]),
                     400)
    r = admin.get("/certificates", ns=ns, params={"pageSize": 0}, fields=["ID"])
    assert r.status == 200 and len(r.data) == CAP, r
    r = admin.get("/certificates", ns=ns, params={"pageSize": CAP - 1, "page": 2},
                  fields=["ID"])
    assert r.status == 200 and len(r.data) == 1, r
    r = admin.get("/certificates", ns=ns, accept="text/csv", params={"pageSize": 0},
                  fields=["ID"])
    assert r.status == 200 and len(r.content.decode().splitlines()) == CAP + 1


# ---- description: 1024 bytes -------------------------------------------------------------

AT_CAP = ["d" * 1024, "\u00e9" * 512]  # 1024 bytes, ASCII and two-byte UTF-8
PAST_CAP = ["d" * 1025, "\u00e9" * 512 + "d"]


@pytest.fixture(scope="module")
def descns(admin):
    return admin.mkns("/", "capd-" + rand(6))["name"]


def fresh_pem(cn):
    return oc.pem(oc.build(subject=oc.name((oc.CN, oc.UTF8, cn))))


@pytest.mark.parametrize("i", range(2))
def test_certificate_description(admin, descns, i):
    ok, over = AT_CAP[i], PAST_CAP[i]
    before = count(admin, descns)
    r = admin.post("/certificates", {"certificate": fresh_pem("d%d.test" % i),
                                     "description": over}, ns=descns)
    e = assert_error(r, 422)
    assert e["data"]["attribute"] == "description"
    assert count(admin, descns) == before
    obj = admin.ok(admin.post("/certificates", {"certificate": fresh_pem("d%d.test" % i),
                                                "description": ok}, ns=descns))
    assert obj["description"] == ok
    obj["description"] = over
    assert_error(admin.put("/certificates/" + obj["ID"], obj, ns=descns), 422)
    obj["description"] = ok[:-1] + ("e" if i == 0 else "")
    assert admin.put("/certificates/" + obj["ID"], obj, ns=descns).status == 200


@pytest.mark.parametrize("i", range(2))
def test_certificateimport_description(admin, descns, i):
    r = admin.post("/certificateimports", {"contents": fresh_pem("i%d.test" % i),
                                           "description": PAST_CAP[i]}, ns=descns)
    e = assert_error(r, 422)
    assert e["data"]["attribute"] == "description"
    r = admin.post("/certificateimports", {"contents": fresh_pem("i%d.test" % i),
                                           "description": AT_CAP[i]}, ns=descns)
    assert r.status == 200 and r.data["description"] == AT_CAP[i], r


@pytest.mark.parametrize("i", range(2))
def test_monitoringpolicy_description(admin, descns, i):
    r = admin.post("/monitoringpolicies", {"description": PAST_CAP[i]}, ns=descns)
    e = assert_error(r, 422)
    assert e["data"]["attribute"] == "description"
    p = admin.ok(admin.post("/monitoringpolicies", {"description": AT_CAP[i]}, ns=descns))
    assert p["description"] == AT_CAP[i]
    p["description"] = PAST_CAP[i]
    assert_error(admin.put("/monitoringpolicies/" + p["ID"], p, ns=descns), 422)
    admin.ok(admin.delete("/monitoringpolicies/" + p["ID"], ns=descns))


def test_certificates_with_very_many_or_very_long_names_are_stored(admin):
    """Names are stored however many and however long OpenSSL lets a certificate carry
    them (the largest list of names went past a 1 MiB buffer as JSON and answered 500):
    1,500 names full of control characters (each escaped as six bytes in JSON), one name of
    4,000 bytes (past PostgreSQL's B-tree entry size), and a 1 MB certificate of 8,500
    names in a bundle with a small one - every one stored, found by a name, answered."""
    import certmaker as cm
    ns = admin.mkns("/", "names-" + rand(8))["name"]
    odd = ["%05d" % i + "\x01" * 120 for i in range(1500)]
    long_name = "".join(random.choice(string.ascii_lowercase) for _ in range(4000)) + ".ex"
    for names in (odd, [long_name, "short.names.test"]):
        c = cm.make_cert("many.example", days=40, dns=names)
        got = admin.ok(admin.post("/certificates", {"certificate": c.pem}, ns=ns))
        assert got["dnsNames"] == names, len(got["dnsNames"])
        found = admin.list("certificates", ns, params={"q": 'dnsNames == "%s"' % names[-1]})
        assert [f["ID"] for f in found] == [got["ID"]]
    big = cm.make_cert("big.example", days=40,
                       dns=["%05d-" % i + "a" * 110 + ".example" for i in range(8500)])
    assert len(big.der) > 1000000
    r = admin.post("/certificateimports",
                   {"contents": cm.make_cert("good.example").pem + big.pem}, ns=ns)
    rec = admin.ok(r)
    assert rec["imported"] == 2 and rec["failed"] == 0, rec
    assert len(admin.ok(admin.get("/certificates/" + rec["certificateIDs"][1],
                                  ns=ns))["dnsNames"]) == 8500
