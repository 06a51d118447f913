"""EXPIRED_ISSUER as time passes (API.md 7.2: "reads and filters are right at any time";
docs/inventory.md, "Status as time passes"): a certificate whose issuer in the inventory
ends while nobody writes either has EXPIRED_ISSUER at once in reads, filters, counts and
reports, not at the next monitoring sweep; the sweep then stores it without moving
updateTime."""

import datetime
import time

from certmaker import make_cert, now
from kwtest import rand

LIFE = 4  # seconds the short-lived CAs have left when imported


def ending_ca(cn, seconds):
    """A self-signed CA that ends `seconds` from now."""
    end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return make_cert(cn, ca=True, start=now() - datetime.timedelta(days=1),
                     end=end.replace(microsecond=0))


def imp(c, ns, pem):
    r = c.post("/certificates", {"certificate": pem}, ns=ns)
    assert r.status == 200, r
    return r.data


def query(c, ns, *qs, **params):
    """The IDs a filter selects; X-Count-Total must agree with the rows, and HEAD too."""
    p = {"q": list(qs), **params}
    r = c.get("/certificates", ns=ns, params=p)
    assert r.status == 200, r
    got = {x["ID"] for x in r.data}
    assert int(r.headers["X-Count-Total"]) == len(got), (qs, r.headers["X-Count-Total"])
    h = c.head("/certificates", ns=ns, params=p)
    assert int(h.headers["X-Count-Total"]) == len(got), qs
    return got


def weaknesses(c, ns, cid):
    return c.ok(c.get("/certificates/" + cid, ns=ns))["weaknesses"]


def wait_past(seconds_from, t0):
    left = t0 + seconds_from + 1.2 - time.time()
    if left > 0:
        time.sleep(left)


def test_a_child_reads_filters_and_counts_expired_issuer_once_its_ca_ends(start_server):
    """monitor_interval 1h: nothing but the clock moves between the two looks."""
    s = start_server(config={"monitor_interval": "1h"})
    c = s.admin()
    ns = c.mkns("/", "expiss-" + rand(6))["name"]
    t0 = time.time()
    ca = ending_ca("Ending CA", LIFE)
    child = imp(c, ns, make_cert("child.test", issuer=ca, days=30).pem + ca.pem)
    ca_id = child["issuerCertificateID"]
    steady_ca = make_cert("Steady CA", ca=True, days=3650)
    other = imp(c, ns, make_cert("other.test", issuer=steady_ca, days=30).pem + steady_ca.pem)
    everyone = {child["ID"], ca_id, other["ID"], other["issuerCertificateID"]}
    assert child["weaknesses"] == [] and other["weaknesses"] == []
    assert query(c, ns, 'weaknesses contains "EXPIRED_ISSUER"') == set()
    assert query(c, ns, 'weaknesses not contains "EXPIRED_ISSUER"') == everyone
    rep = c.ok(c.post("/certificatereports", {}, ns=ns))
    assert rep["byWeakness"] == {}

    wait_past(LIFE, t0)
    assert c.ok(c.get("/certificates/" + ca_id, ns=ns))["status"] == "EXPIRED"
    got = c.ok(c.get("/certificates/" + child["ID"], ns=ns))
    assert got["weaknesses"] == ["EXPIRED_ISSUER"]
    assert got["updateTime"] == child["updateTime"]
    assert weaknesses(c, ns, other["ID"]) == []
    listed = {x["ID"]: x["weaknesses"] for x in c.ok(c.get("/certificates", ns=ns))}
    assert listed[child["ID"]] == ["EXPIRED_ISSUER"] and listed[other["ID"]] == []
    # only the asked fields, computed from what they need
    r = c.get("/certificates", ns=ns, fields=["ID", "weaknesses"])
    projected = {x["ID"]: x for x in c.ok(r)}
    assert projected[child["ID"]] == {"ID": child["ID"], "weaknesses": ["EXPIRED_ISSUER"]}
    r = c.get("/certificates", ns=ns, accept="text/csv", fields=["ID", "weaknesses"])
    assert ("%s,EXPIRED_ISSUER" % child["ID"]) in r.content.decode()

    mine = {child["ID"]}
    for q in ('weaknesses contains "EXPIRED_ISSUER"', 'weaknesses == "EXPIRED_ISSUER"',
              'weaknesses in ["WEAK_KEY", "EXPIRED_ISSUER"]',
              'weaknesses contains ["EXPIRED_ISSUER"]', 'weaknesses matches "^EXPIRED_"',
              'weaknesses exists', 'weaknesses contains "EXPIRED_ISSUER" and subjectCN == '
              '"child.test"'):
        assert query(c, ns, q) == mine, q
    for q in ('weaknesses not contains "EXPIRED_ISSUER"', 'weaknesses != "EXPIRED_ISSUER"',
              'weaknesses not in ["EXPIRED_ISSUER"]', 'weaknesses not exists'):
        assert query(c, ns, q) == everyone - mine, q
    assert query(c, ns, 'weaknesses in ["WEAK_KEY"]') == set()
    assert query(c, ns, 'weaknesses matches "^WEAK"') == set()
    # OR-ed with a status branch, and as two q parameters
    assert query(c, ns, 'weaknesses contains "EXPIRED_ISSUER" or status == "EXPIRED"') == \
        {child["ID"], ca_id}
    assert query(c, ns, 'weaknesses contains "EXPIRED_ISSUER"', 'subjectCN == "other.test"') \
        == {child["ID"], other["ID"]}
    assert query(c, ns, 'weaknesses contains "EXPIRED_ISSUER"', pageSize=1) == mine

    for body in ({}, {"q": "subjectCN exists"}, {"q": 'weaknesses contains "EXPIRED_ISSUER"'}):
        rep = c.ok(c.post("/certificatereports", body, ns=ns))
        assert rep["byWeakness"] == {"EXPIRED_ISSUER": 1}, body
    rep = c.ok(c.post("/certificatereports", {"q": 'subjectCN == "other.test"'}, ns=ns))
    assert rep["byWeakness"] == {}
    # recursive, from the namespace above
    rep = c.ok(c.post("/certificatereports", {"recursive": True}, ns="/"))
    assert rep["byWeakness"].get("EXPIRED_ISSUER", 0) >= 1


def test_a_child_linked_after_it_was_imported_follows_its_new_issuer(start_server):
    """The CA arrives after its child: the link made in the background carries the CA's
    end, and the child has EXPIRED_ISSUER once the CA ends, before any sweep."""
    s = start_server(config={"monitor_interval": "1h"})
    c = s.admin()
    ns = c.mkns("/", "expiss-" + rand(6))["name"]
    t0 = time.time()
    ca = ending_ca("Late CA", LIFE)
    child = imp(c, ns, make_cert("late.test", issuer=ca, days=30).pem)
    assert "issuerCertificateID" not in child
    ca_obj = imp(c, ns, ca.pem)
    deadline = time.time() + 10
    while time.time() < deadline:
        got = c.ok(c.get("/certificates/" + child["ID"], ns=ns))
        if got.get("issuerCertificateID") == ca_obj["ID"]:
            break
        time.sleep(0.1)
    assert got.get("issuerCertificateID") == ca_obj["ID"], "not linked"
    assert time.time() < t0 + LIFE, "linked too late for this test"
    assert got["weaknesses"] == []
    assert query(c, ns, 'weaknesses contains "EXPIRED_ISSUER"') == set()

    wait_past(LIFE, t0)
    assert weaknesses(c, ns, child["ID"]) == ["EXPIRED_ISSUER"]
    assert query(c, ns, 'weaknesses contains "EXPIRED_ISSUER"') == {child["ID"]}
    assert query(c, ns, 'weaknesses not contains "EXPIRED_ISSUER"') == {ca_obj["ID"]}
    rep = c.ok(c.post("/certificatereports", {}, ns=ns))
    assert rep["byWeakness"] == {"EXPIRED_ISSUER": 1}


def test_the_sweep_stores_expired_issuer_once_without_moving_update_time(start_server):
    """monitor_interval 1s: the stored value converges, and reads, filters and reports
    count the certificate once, before and after it is stored."""
    s = start_server(config={"monitor_interval": "1s"})
    c = s.admin()
    ns = c.mkns("/", "expiss-" + rand(6))["name"]
    t0 = time.time()
    ca = ending_ca("Swept CA", LIFE)
    child = imp(c, ns, make_cert("swept.test", issuer=ca, days=30).pem + ca.pem)
    wait_past(LIFE, t0)
    deadline = time.time() + 15
    rows = []
    while time.time() < deadline:
        rows = [r for r in s.store_rows("certificates") if r.get("ID") == child["ID"]]
        if rows and "EXPIRED_ISSUER" in str(rows[0].get("weaknesses")):
            break
        time.sleep(0.3)
    assert rows and "EXPIRED_ISSUER" in str(rows[0].get("weaknesses")), rows
    assert rows[0].get("issuerValidityEnd") is None, rows
    got = c.ok(c.get("/certificates/" + child["ID"], ns=ns))
    assert got["weaknesses"] == ["EXPIRED_ISSUER"]
    assert got["updateTime"] == child["updateTime"]
    assert query(c, ns, 'weaknesses contains "EXPIRED_ISSUER"') == {child["ID"]}
    rep = c.ok(c.post("/certificatereports", {}, ns=ns))
    assert rep["byWeakness"] == {"EXPIRED_ISSUER": 1}
    # a client's read-modify-write of its own fields does not collide
    got["description"] = "edited after the sweep"
    r = c.put("/certificates/" + child["ID"], got, ns=ns)
    assert r.status == 200, r
    assert r.data["weaknesses"] == ["EXPIRED_ISSUER"]
