"""Discovery (API.md 7.5): discoveries checked when written, runs that scan real TLS servers
nobody here wrote (Debian's nginx with a certificate per server name, an expired one, a
self-signed one, a chain of a CA the console knows; `openssl s_server`; a closed port; a port
that accepts and never speaks), their results in the inventory (`source: DISCOVERED`) and in
`certificateinstances`, classification of each chain, MISSING instances, cancel, restart,
schedules and webhooks."""
import os
import socket
import subprocess
import time

import pytest

from discoverytest import Servers, sni_cert
from certmaker import make_cert
from kwtest import Client, assert_error, free_port, rand, raw_request, silent_socket
from webhookreceiver import Receiver

RUN_END = ("SUCCEEDED", "FAILED", "CANCELED")


def body(**kw):
    b = {"name": "d-" + rand(8), "targets": ["127.0.0.1"], "ports": ["1"]}
    b.update(kw)
    return b


def refused(r, attribute):
    e = assert_error(r, 422)
    assert r.data[0]["data"]["attribute"] == attribute, r
    return e


def start_run(client, ns, disc_id):
    run = client.ok(client.post("/discoveries/%s/discoveryruns" % disc_id, {}, ns=ns))
    assert run["status"] == "QUEUED", run
    assert run["discoveryID"] == disc_id
    return run


def wait_run(client, ns, run_id, timeout=60.0, until=RUN_END):
    end = time.time() + timeout
    while True:
        run = client.ok(client.get("/discoveryruns/" + run_id, ns=ns))
        if run["status"] in until:
            return run
        assert time.time() < end, "run still %s: %r" % (run["status"], run)
        time.sleep(0.2)


def instances(client, ns, disc_id):
    return client.list("discoveries/%s/certificateinstances" % disc_id, ns, params={"pageSize": "1000"})


# ---- what a discovery may say ------------------------------------------------------------

BAD = [
    ("targets", []),
    ("targets", ["0.0.0.0/0"]),
    ("targets", ["::/0"]),
    ("targets", ["999.1.1.1"]),
    ("targets", ["bad..name"]),
    ("targets", ["10.0.0.0/33"]),
    ("ports", [str(p) for p in range(1, 10001)]),
    ("ports", ["0"]),
    ("ports", ["65536"]),
    ("ports", ["10-5"]),
    ("ports", ["https"]),
    ("excludes", ["nope"]),
    ("excludes", ["10.0.0.1\x00junk"]),
    ("targets", ["10.0.0.1\x00junk"]),
    ("excludes", ["10.0.0.0/-0"]),
    ("schedule", "0 0 * * * * *"),
    ("schedule", "61 * * * *"),
    ("schedule", "* * *"),
    ("timeout", "0s"),
    ("timeout", "100h"),
    ("timeout", "soon"),
    ("concurrency", 0),
    ("concurrency", 10001),
    ("serverNames", ["bad name"]),
    # RFC 6066 3: an SNI name is a host name - no address, wildcard, trailing dot, empty
    ("serverNames", [""]), ("serverNames", ["127.0.0.1"]), ("serverNames", ["::1"]),
    ("serverNames", ["*.disc.test"]), ("serverNames", ["a.disc.test."]),
    ("serverNames", ["a" * 64 + ".disc.test"]), ("serverNames", ["ok.disc.test", "a..b"]),
]


@pytest.mark.parametrize("attr,value", BAD, ids=["%s-%d" % (a, i) for i, (a, _) in
                                                 enumerate(BAD)])
def test_bad_discovery_is_422_naming_the_attribute(admin, ns, attr, value):
    r = admin.post("/discoveries", body(**{attr: value}), ns=ns)
    refused(r, attr)


def test_a_bad_schedule_says_why_once(admin, ns):
    # the message was written from itself (overlapping buffers): it said its first half
    # twice and lost the cron parser's reason (a conformance review)
    r = admin.post("/discoveries", body(schedule="61 * * * *"), ns=ns)
    refused(r, "schedule")
    d = r.data[0]["description"]
    assert d.count("must be a cron expression") == 1 and "61" in d, d


def test_nothing_is_kept_of_a_refused_discovery(admin, ns):
    name = "refused-" + rand(6)
    refused(admin.post("/discoveries", body(name=name, targets=["0.0.0.0/0"]), ns=ns),
            "targets")
    assert admin.list("discoveries", ns, params={"q": 'name == "%s"' % name}) == []


def test_pairs_cap_at_the_limit_and_one_past_it(admin, ns):
    # 10.0.0.0/12 is 1,048,576 addresses: exactly discovery_max_pairs with one port.
    d = admin.ok(admin.post("/discoveries", body(targets=["10.0.0.0/12"], ports=["443"]),
                            ns=ns))
    assert d["pairsTotal"] == 1048576
    r = admin.post("/discoveries", body(targets=["10.0.0.0/12", "10.16.0.1"], ports=["443"]),
                   ns=ns)
    refused(r, "targets")
    # Excludes count: the same range minus a /24 is 256 pairs fewer.
    d = admin.ok(admin.post("/discoveries", body(targets=["10.0.0.0/12"],
                                                 excludes=["10.1.2.0/24"]), ns=ns))
    assert d["pairsTotal"] == 1048576 - 256
    # Ports multiply: a /24 with a range of 8 ports and one more.
    d = admin.ok(admin.post("/discoveries", body(targets=["192.0.2.0/24"],
                                                 ports=["443", "8443-8450"]), ns=ns))
    assert d["pairsTotal"] == 256 * 9


def test_server_names_multiply_the_handshakes_the_cap_bounds(admin, ns):
    """Each pair is tried once without a name and once per serverNames entry, and each
    answer is an instance: the cap bounds the handshakes (a security review: 1,024 pairs and
    64 names made 66,560 rows). 10.0.0.0/14 is 262,144 addresses: with 3 names, 4 handshakes
    each, exactly 1,048,576; one address more is past it."""
    names = ["a.example.com", "b.example.com", "c.example.com"]
    d = admin.ok(admin.post("/discoveries", body(targets=["10.0.0.0/14"], ports=["443"],
                                                 serverNames=names), ns=ns))
    assert d["pairsTotal"] == 262144
    e = refused(admin.post("/discoveries", body(targets=["10.0.0.0/14", "10.4.0.1"],
                                                ports=["443"], serverNames=names), ns=ns),
                "targets")
    assert "server names" in e["description"], e
    admin.ok(admin.post("/discoveries", body(targets=["10.0.0.0/14", "10.4.0.1"],
                                             ports=["443"], serverNames=names[:2]), ns=ns))


def test_defaults_and_fields(admin, ns):
    d = admin.ok(admin.post("/discoveries", {"name": "defaults-" + rand(4),
                                             "targets": ["www.example.com", "2001:db8::/120"]},
                            ns=ns))
    assert d["ports"] == ["443"]
    assert d["timeout"] == "5s"
    assert d["concurrency"] == 1000
    assert d["schedule"] == ""
    assert "nextRunTime" not in d
    assert d["pairsTotal"] == 1 + 256
    got = admin.ok(admin.get("/discoveries/" + d["ID"], ns=ns))
    assert got["targets"] == ["www.example.com", "2001:db8::/120"]


def test_name_is_unique_per_namespace(admin, ns):
    b = body()
    admin.ok(admin.post("/discoveries", b, ns=ns))
    assert_error(admin.post("/discoveries", b, ns=ns), 422)


def test_a_run_starts_with_no_body_as_the_readme_shows(admin, ns):
    d = admin.ok(admin.post("/discoveries", body(), ns=ns))
    path = "/discoveries/%s/discoveryruns" % d["ID"]
    run = admin.ok(admin.post(path, ns=ns))  # curl -X POST, no body, no Content-Type
    assert run["status"] == "QUEUED" and run["discoveryID"] == d["ID"], run
    wait_run(admin, ns, run["ID"])
    r = admin.post(path, ns=ns, data=b"{", content_type="application/json")
    assert_error(r, 400)  # a body that is there is still decoded


def test_schedule_sets_next_run_time(admin, ns):
    d = admin.ok(admin.post("/discoveries", body(schedule="30 4 * * MON"), ns=ns))
    assert d["nextRunTime"].endswith("T04:30:00.000Z"), d
    # An update that drops the schedule drops the next run.
    d["schedule"] = ""
    d2 = admin.ok(admin.put("/discoveries/" + d["ID"], d, ns=ns))
    assert "nextRunTime" not in d2


def test_allowed_networks_are_checked_at_creation_and_after_resolution(start_server):
    s = start_server(config={"discovery_allowed_networks": "127.0.0.2/32, 192.0.2.0/24",
                             "login_failures_per_address_max": 0})
    c = s.client(s.token())
    refused(c.post("/discoveries", body(targets=["10.0.0.1"]), ns="/"), "targets")
    refused(c.post("/discoveries", body(targets=["192.0.0.0/16"]), ns="/"), "targets")
    c.ok(c.post("/discoveries", body(targets=["192.0.2.0/25"]), ns="/"))
    # localhost resolves to 127.0.0.1 (and ::1): outside, skipped and counted at run time.
    d = c.ok(c.post("/discoveries", body(targets=["localhost"], ports=["443"]), ns="/"))
    run = wait_run(c, "/", start_run(c, "/", d["ID"])["ID"])
    assert run["status"] == "SUCCEEDED", run
    assert run["errors"] == {"NOT_ALLOWED": 1}, run
    assert run["endpointsResponded"] == 0


def test_by_default_every_address_but_link_local_may_be_scanned(admin, ns):
    """An empty discovery_allowed_networks (the default) still keeps link-local addresses
    out, where clouds answer their metadata services (169.254.169.254), as webhooks do: a
    review's editor recorded the certificate there."""
    for t in ("169.254.169.254", "169.254.0.0/16", "169.254.10.0/24", "fe80::1",
              "fd00:ec2::254"):  # AWS's IPv6 metadata address too
        e = refused(admin.post("/discoveries", body(targets=[t]), ns=ns), "targets")
        assert "link-local" in e["description"], e
    admin.ok(admin.post("/discoveries", body(targets=["192.0.2.0/24", "10.1.2.3"]), ns=ns))
    # Never, whatever the setting: 0.0.0.0 and :: reach the local host; multicast, broadcast.
    for t in ("0.0.0.0", "0.0.0.0/8", "::", "224.0.0.1", "239.0.0.0/8", "255.255.255.255",
              "ff02::1"):
        refused(admin.post("/discoveries", body(targets=[t]), ns=ns), "targets")


def test_an_ipv6_allowed_range_allows_no_ipv4_and_0_0_0_0_is_never_scanned(start_server):
    """A review's list "127.33.0.0/16, ::/0" let 127.0.0.1 be scanned (IPv4 addresses are
    IPv4-mapped inside); one covering 0.0.0.0/8 let 0.0.0.0 reach the console's own port."""
    s = start_server(config={"discovery_allowed_networks": "127.33.0.0/16, 0.0.0.0/5, ::/0",
                             "login_failures_per_address_max": 0})
    c = s.client(s.token())
    for t in ("127.0.0.1", "::ffff:127.0.0.1", "0.0.0.0", "0.0.0.0/8", "::"):
        refused(c.post("/discoveries", body(targets=[t]), ns="/"), "targets")
    c.ok(c.post("/discoveries", body(targets=["127.33.1.2", "::1", "2001:db8::/120"]), ns="/"))
    # At run time too: a name that resolves to 127.0.0.1 is not scanned through "::/0".
    d = c.ok(c.post("/discoveries", body(targets=["localhost"], ports=[str(s.port)]), ns="/"))
    run = wait_run(c, "/", start_run(c, "/", d["ID"])["ID"])
    assert run["errors"].get("NOT_ALLOWED", 0) >= 1 and run["endpointsResponded"] <= 1, run


# ---- scanning real servers ---------------------------------------------------------------

@pytest.fixture(scope="module")
def console_ca(admin, ns):
    """A root of the console in `ns`, and a leaf it signed (made through issuance) for
    console.disc.test, with its key."""
    ca = admin.ok(admin.post("/certificateauthorities", {
        "name": "disc-root", "keyType": "EC_P256", "subject": "CN=Discovery Console Root"},
        ns=ns))
    tpl = admin.ok(admin.post("/issuingtemplates", {
        "name": "disc-tpl", "certificateAuthorityID": ca["ID"],
        "subjectCNRegexes": [r".*\.disc\.test"], "sanDNSNameRegexes": [r".*\.disc\.test"],
        "serverKeyGenerationAllowed": True}, ns=ns))
    req = admin.ok(admin.post("/certificaterequests", {
        "issuingTemplateID": tpl["ID"],
        "csrAttributes": {"commonName": "console.disc.test", "dnsNames": ["console.disc.test"],
                          "keyType": "EC_P256"}}, ns=ns))
    return {"ca": ca, "chain": req["certificateChain"], "key": req["privateKey"],
            "certificateID": req["certificateID"]}


@pytest.fixture(scope="module")
def servers(tmp_path_factory, console_ca):
    with Servers(tmp_path_factory.mktemp("disc"),
                 console_chain=(console_ca["chain"], console_ca["key"])) as s:
        yield s


def scan_body(servers, **kw):
    ports = sorted({e["port"] for e in servers.endpoints} | {servers.closed[1],
                                                             servers.silent[1]})
    b = body(targets=sorted(servers.addresses), ports=[str(p) for p in ports],
             serverNames=["a.disc.test", "b.disc.test", "console.disc.test"], timeout="2s",
             concurrency=50)
    b.update(kw)
    return b


@pytest.fixture(scope="module")
def scanned(admin, ns, servers):
    d = admin.ok(admin.post("/discoveries", scan_body(servers), ns=ns))
    t0 = time.time()
    run = wait_run(admin, ns, start_run(admin, ns, d["ID"])["ID"])
    return {"discovery": d, "run": run, "seconds": time.time() - t0}


def test_run_finishes_despite_the_silent_port(scanned, servers):
    run, d = scanned["run"], scanned["discovery"]
    assert run["status"] == "SUCCEEDED", run
    pairs = len(servers.addresses) * len(d["ports"])
    assert run["targetsTotal"] == pairs == d["pairsTotal"]
    assert run["targetsScanned"] == pairs
    tls = {(e["address"], e["port"]) for e in servers.endpoints}
    assert run["endpointsResponded"] == len(tls)
    assert run["errors"].get("TIMEOUT") == 1, run  # the silent port, and only it
    assert run["errors"].get("REFUSED") == pairs - len(tls) - 1, run
    assert run["startTime"] <= run["endTime"]
    # About the time-out plus a little: not one time-out per probe in sequence.
    assert scanned["seconds"] < 30, scanned


def test_every_served_certificate_is_found_with_its_server_name(admin, ns, scanned, servers):
    got = instances(admin, ns, scanned["discovery"]["ID"])
    assert all(i["status"] == "ACTIVE" for i in got)
    by_endpoint = {}
    for i in got:
        cert = admin.ok(admin.get("/certificates/" + i["certificateID"], ns=ns))
        by_endpoint[(i["address"], i["port"], i["serverName"])] = cert["fingerprint"]
    for e in servers.endpoints:
        if e["kind"] == "s_server" and e["server_name"]:
            continue
        key = (e["address"], e["port"], e["server_name"])
        assert by_endpoint.get(key) == e["fingerprint"], (key, e["kind"])
    # The server's own answer agrees (a check of the fixture, through Python's ssl).
    a = next(e for e in servers.endpoints if e["kind"] == "sni-a")
    assert sni_cert(a["address"], a["port"], "a.disc.test") == a["fingerprint"]
    # Each leaf seen is counted once.
    leaves = {e["fingerprint"] for e in servers.endpoints}
    assert scanned["run"]["certificatesFound"] == len(leaves)
    assert scanned["run"]["newCertificates"] == len(leaves) - 1  # the console's leaf was known


def test_discovered_certificates_enter_the_inventory(admin, ns, scanned, servers):
    for e in servers.endpoints:
        got = admin.list("certificates", ns, params={"q": 'fingerprint == "%s"' % e["fingerprint"]})
        assert len(got) == 1, e
        want = "ISSUED" if e["kind"] == "console-ca" else "DISCOVERED"
        assert got[0]["source"] == want, (e["kind"], got[0]["source"])
    # The chain's CA came too, and the leaves link to it.
    roots = admin.list("certificates", ns, params={"q": 'subjectCN == "Disc Test Root"'})
    assert len(roots) == 1 and roots[0]["source"] == "DISCOVERED"
    a = next(e for e in servers.endpoints if e["kind"] == "sni-a")
    leaf = admin.list("certificates", ns, params={"q": 'fingerprint == "%s"' % a["fingerprint"]})[0]
    assert leaf["issuerCertificateID"] == roots[0]["ID"]


def test_instances_filter_by_address_however_it_is_written(admin, ns, scanned, servers):
    """An instance's address is where the connection went, IPv4 as IPv4: a filter finds it
    written as IPv4 or in its IPv4-mapped IPv6 form (a code review)."""
    e = servers.endpoints[0]
    rows = admin.list("certificateinstances", ns, params={"q": 'address == "%s"' % e["address"]})
    assert rows and all(i["address"] == e["address"] for i in rows), rows
    mapped = admin.list("certificateinstances", ns,
                        params={"q": 'address == "::ffff:%s"' % e["address"]})
    assert {i["ID"] for i in mapped} == {i["ID"] for i in rows}


def test_chains_are_classified(admin, ns, scanned, servers):
    got = {(i["address"], i["port"], i["serverName"]): i
           for i in instances(admin, ns, scanned["discovery"]["ID"])}

    def inst(kind, name=""):
        e = next(e for e in servers.endpoints if e["kind"] == kind)
        return got[(e["address"], e["port"], name)]

    expired = inst("expired")
    assert expired["chainValid"] is False
    assert expired["chainError"] in ("certificate has expired",
                                     "self-signed certificate in certificate chain",
                                     "unable to get local issuer certificate"), expired
    self_signed = inst("self-signed")
    assert self_signed["chainValid"] is False
    assert self_signed["chainError"] == "self-signed certificate"
    # A home-made root in the presented chain does not vouch for itself.
    a = inst("sni-a", "a.disc.test")
    assert a["chainValid"] is False
    assert a["chainError"] == "self-signed certificate in certificate chain", a
    # The console's CA does vouch, for the right name only.
    good = inst("console-ca", "console.disc.test")
    assert good["chainValid"] is True, good
    assert good["chainError"] == ""  # always there (it was absent: a conformance review)
    wrong = inst("console-ca", "a.disc.test")
    assert wrong["chainValid"] is False
    assert wrong["chainError"] == "hostname mismatch"
    noname = inst("console-ca")
    assert noname["chainValid"] is False
    assert noname["chainError"] == "IP address mismatch"
    # What the handshake said.
    assert good["tlsVersion"] == "TLSv1.3"
    assert good["cipherSuite"].startswith("TLS_"), good
    assert good["firstSeen"] <= good["lastSeen"]


def sni_a_instance(client, ns, servers, **kw):
    """Run a discovery of the sni-a endpoint in `ns` and answer its instance for
    a.disc.test."""
    a = servers.endpoint("sni-a")
    d = client.ok(client.post("/discoveries", body(
        targets=[a["address"]], ports=[str(a["port"])], serverNames=["a.disc.test"], **kw),
        ns=ns))
    run = wait_run(client, ns, start_run(client, ns, d["ID"])["ID"])
    assert run["status"] == "SUCCEEDED", run
    return next(i for i in instances(client, ns, d["ID"]) if i["serverName"] == "a.disc.test")


def test_an_imported_ca_vouches_below_its_namespace_a_discovered_one_does_not(admin, ns,
                                                                              servers):
    parent = admin.mkns(ns, "p" + rand(6))["name"]
    child = admin.mkns(parent, "c")["name"]
    sibling = admin.mkns(ns, "s" + rand(6))["name"]
    # Discovered first: the root the server sends along is in the inventory, DISCOVERED.
    before = sni_a_instance(admin, child, servers)
    assert before["chainValid"] is False
    assert before["chainError"] == "self-signed certificate in certificate chain"
    # Imported into an ancestor: it vouches, for the name the probe sent.
    admin.ok(admin.post("/certificates", {"certificate": servers.root.pem}, ns=parent))
    after = sni_a_instance(admin, child, servers)
    assert after["chainValid"] is True and after["chainError"] == "", after
    # Not for another tenant's namespace.
    other = sni_a_instance(admin, sibling, servers)
    assert other["chainValid"] is False, other
    # Imported where it had been discovered: the same object, now IMPORTED, and it vouches.
    found = admin.list("certificates", sibling, params={"q": 'subjectCN == "Disc Test Root"'})
    assert [c["source"] for c in found] == ["DISCOVERED"]
    imported = admin.ok(admin.post("/certificates", {"certificate": servers.root.pem},
                                   ns=sibling))
    assert imported["ID"] == found[0]["ID"] and imported["source"] == "IMPORTED", imported
    assert sni_a_instance(admin, sibling, servers)["chainValid"] is True


def test_the_environment_does_not_change_what_is_trusted(start_server, servers, tmp_path):
    # SSL_CERT_FILE and SSL_CERT_DIR name the test's own root: Debian's bundle is read by
    # its path, so the chain stays unverified.
    root = tmp_path / "root.pem"
    root.write_text(servers.root.pem)
    s = start_server(config={"login_failures_per_address_max": 0},
                     env={"SSL_CERT_FILE": str(root), "SSL_CERT_DIR": str(tmp_path)})
    c = s.client(s.token())
    got = sni_a_instance(c, "/", servers)
    assert got["chainValid"] is False, got
    assert got["chainError"] == "self-signed certificate in certificate chain"


def test_instances_are_listed_under_their_certificate(admin, ns, scanned, console_ca):
    got = admin.list("certificates/%s/certificateinstances" % console_ca["certificateID"], ns)
    assert got and all(i["certificateID"] == console_ca["certificateID"] for i in got)
    runs = admin.list("discoveries/%s/discoveryruns" % scanned["discovery"]["ID"], ns)
    assert [r["ID"] for r in runs] == [scanned["run"]["ID"]]


def test_a_second_run_finds_nothing_new_and_marks_what_is_gone(admin, ns, scanned, servers):
    d = scanned["discovery"]
    before = {i["ID"]: i for i in instances(admin, ns, d["ID"])}
    servers.stop_s_server()
    run = wait_run(admin, ns, start_run(admin, ns, d["ID"])["ID"])
    assert run["status"] == "SUCCEEDED", run
    assert run["newCertificates"] == 0
    after = {i["ID"]: i for i in instances(admin, ns, d["ID"])}
    assert set(after) == set(before)  # the same sightings: no duplicates
    gone = next(e for e in servers.endpoints if e["kind"] == "s_server")
    for i in after.values():
        if (i["address"], i["port"]) == (gone["address"], gone["port"]):
            assert i["status"] == "MISSING", i
        else:
            assert i["status"] == "ACTIVE", i
            assert i["lastSeen"] > before[i["ID"]]["lastSeen"]
            assert i["firstSeen"] == before[i["ID"]]["firstSeen"]


def test_deleting_a_certificate_removes_its_instances(admin, ns, scanned, servers):
    e = next(e for e in servers.endpoints if e["kind"] == "self-signed")
    cert = admin.list("certificates", ns, params={"q": 'fingerprint == "%s"' % e["fingerprint"]})[0]
    assert admin.list("certificates/%s/certificateinstances" % cert["ID"], ns)
    admin.ok(admin.delete("/certificates/" + cert["ID"], ns=ns))
    assert admin.list("certificateinstances", ns, params={"q": 'certificateID == "%s"' % cert["ID"]}) == []


# ---- runs: one at a time, cancel, restart ------------------------------------------------

def silent_body(servers, **kw):
    return body(targets=[servers.silent[0]], ports=[str(servers.silent[1])], **kw)


def put_status(client, ns, run_id, status):
    """PUT the run as read, with another status (the API's update: the whole object)."""
    run = client.ok(client.get("/discoveryruns/" + run_id, ns=ns))
    run["status"] = status
    return client.put("/discoveryruns/" + run_id, run, ns=ns)


def test_cancel_stops_a_run(admin, ns, servers):
    d = admin.ok(admin.post("/discoveries", silent_body(servers, timeout="5m"), ns=ns))
    run = start_run(admin, ns, d["ID"])
    wait_run(admin, ns, run["ID"], until=("RUNNING",))
    time.sleep(0.6)  # the run writes its progress meanwhile: a cancel must still go through
    # One run at a time.
    r = admin.post("/discoveries/%s/discoveryruns" % d["ID"], {}, ns=ns)
    refused(r, "discoveryID")
    # Only CANCELED may be asked.
    refused(put_status(admin, ns, run["ID"], "SUCCEEDED"), "status")
    got = admin.ok(put_status(admin, ns, run["ID"], "CANCELED"))
    assert got["status"] == "CANCELED" and "endTime" in got
    # A cancel is a client's write: it moves updateTime; the run's writer that then stops
    # does not.
    assert got["updateTime"] > got["createTime"], got
    canceled = got
    time.sleep(1.5)
    got = admin.ok(admin.get("/discoveryruns/" + run["ID"], ns=ns))
    assert got["status"] == "CANCELED"
    assert got["updateTime"] == canceled["updateTime"], (canceled, got)
    refused(put_status(admin, ns, run["ID"], "RUNNING"), "status")
    refused(put_status(admin, ns, run["ID"], "QUEUED"), "status")
    # The scanner let go: a new run of the same discovery starts and ends.
    d["timeout"] = "1s"
    admin.ok(admin.put("/discoveries/" + d["ID"], d, ns=ns))
    run2 = wait_run(admin, ns, start_run(admin, ns, d["ID"])["ID"])
    assert run2["status"] == "SUCCEEDED" and run2["errors"] == {"TIMEOUT": 1}, run2


def test_the_server_s_progress_moves_no_update_time(admin, ns, servers):
    """Status and progress counters are server-maintained (API.md 6): the run's own
    writes (RUNNING, the counters every 100 ms, SUCCEEDED with endTime) leave updateTime
    at createTime, and a client's PUT of its own field with the run as it read it before
    any of them is no 409, and keeps what the server wrote."""
    d = admin.ok(admin.post("/discoveries", silent_body(servers, timeout="1s"), ns=ns))
    queued = start_run(admin, ns, d["ID"])
    assert queued["updateTime"] == queued["createTime"], queued
    running = wait_run(admin, ns, queued["ID"], until=("RUNNING",))
    assert running["updateTime"] == queued["updateTime"], running
    end = wait_run(admin, ns, queued["ID"])
    assert end["status"] == "SUCCEEDED", end
    assert end["targetsScanned"] == 1 and end["errors"] == {"TIMEOUT": 1}, end
    assert end["updateTime"] == end["createTime"] == queued["updateTime"], end
    listed = admin.list("discoveries/%s/discoveryruns" % d["ID"], ns)
    assert [r["updateTime"] for r in listed] == [end["createTime"]], listed
    queued["associatedTags"] = ["review=done"]
    r = admin.put("/discoveryruns/" + queued["ID"], queued, ns=ns)
    assert r.status == 200, r
    got = r.data
    assert got["associatedTags"] == ["review=done"] and got["updateTime"] > end["updateTime"]
    for k in ("status", "targetsScanned", "endpointsResponded", "errors", "startTime",
              "endTime", "certificatesFound", "newCertificates"):
        assert got[k] == end[k], (k, got, end)
    assert admin.ok(admin.get("/discoveryruns/" + queued["ID"], ns=ns)) == got
    # The body read while it ran says RUNNING: after the client's write, that is a 409.
    running["associatedTags"] = ["review=again"]
    assert_error(admin.put("/discoveryruns/" + queued["ID"], running, ns=ns), 409)


def test_progress_moves_while_a_silent_host_holds_the_checkpoint(admin, ns, servers):
    # The silent pair comes first; the eight after it refuse at once (one of them is the
    # silent port again). A client polling sees them counted long before the time-out.
    silent_addr, silent_port = servers.silent
    d = admin.ok(admin.post("/discoveries", body(
        targets=[silent_addr, servers.base + "/29"], ports=[str(silent_port)], timeout="6s"),
        ns=ns))
    run = start_run(admin, ns, d["ID"])
    t0 = time.time()
    seen = None
    while time.time() - t0 < 4:
        got = admin.ok(admin.get("/discoveryruns/" + run["ID"], ns=ns))
        if got["status"] == "RUNNING" and got["targetsScanned"] >= 7:
            seen = got
            break
        time.sleep(0.2)
    assert seen is not None, "no progress within 4 s of a 6 s time-out: %r" % got
    assert seen["errors"].get("REFUSED", 0) >= 7
    end = wait_run(admin, ns, run["ID"])
    assert end["status"] == "SUCCEEDED"
    assert end["targetsScanned"] == 9 and end["errors"] == {"REFUSED": 7, "TIMEOUT": 2}, end


def test_a_host_name_target_is_probed_with_its_own_name_once(admin, ns, tmp_path):
    # localhost resolves here; its own name is its SNI, and a serverNames entry that is the
    # same name (in any case) is not a second probe.
    proc, port = serve_chain(tmp_path, make_cert("localhost"))
    try:
        d = admin.ok(admin.post("/discoveries", body(
            targets=["localhost"], ports=[str(port)], serverNames=["LOCALHOST", "x.disc.test"],
            timeout="2s"), ns=ns))
        run = wait_run(admin, ns, start_run(admin, ns, d["ID"])["ID"])
        assert run["status"] == "SUCCEEDED" and run["endpointsResponded"] == 1, run
        got = sorted(i["serverName"] for i in instances(admin, ns, d["ID"])
                     if i["address"] == "127.0.0.1")
        assert got == ["localhost", "x.disc.test"], got
    finally:
        proc.kill()
        proc.wait()


def test_a_certificate_deleted_during_a_run_is_stored_again(admin, ns, servers):
    # One probe at a time: the self-signed endpoint, a silent pair holding the scan for its
    # time-out, the same endpoint again. The certificate is deleted meanwhile: the second
    # sighting stores it again instead of naming the deleted object.
    e = servers.endpoint("self-signed")
    silent_addr, silent_port = servers.silent
    d = admin.ok(admin.post("/discoveries", body(
        targets=[e["address"], silent_addr, e["address"]],
        ports=[str(e["port"]), str(silent_port)], timeout="3s", concurrency=1), ns=ns))
    run = start_run(admin, ns, d["ID"])
    q = {"q": 'fingerprint == "%s"' % e["fingerprint"]}
    end = time.time() + 10
    while not instances(admin, ns, d["ID"]):
        assert time.time() < end, "the first sighting was not written"
        time.sleep(0.05)
    for c in admin.list("certificates", ns, params=q):
        admin.ok(admin.delete("/certificates/" + c["ID"], ns=ns))
    got = wait_run(admin, ns, run["ID"])
    assert got["status"] == "SUCCEEDED" and got["errors"].get("TIMEOUT") == 1, got
    insts = instances(admin, ns, d["ID"])
    assert insts, got
    for i in insts:
        assert admin.get("/certificates/" + i["certificateID"], ns=ns).status == 200, i
    assert len(admin.list("certificates", ns, params=q)) == 1


def test_an_unknown_discovery_cannot_run(admin, ns):
    assert_error(admin.post("/discoveries/%s/discoveryruns" % ("0" * 24), {}, ns=ns), 404)


def test_a_run_interrupted_by_a_restart_resumes(start_server, servers):
    s = start_server(config={"login_failures_per_address_max": 0})
    c = s.client(s.token())
    d = c.ok(c.post("/discoveries", silent_body(servers, timeout="3s"), ns="/"))
    run = start_run(c, "/", d["ID"])
    wait_run(c, "/", run["ID"], until=("RUNNING",))
    s.stop()
    s.start()
    c = s.client(s.token())
    got = wait_run(c, "/", run["ID"], timeout=60)
    assert got["status"] == "SUCCEEDED", got
    assert got["targetsScanned"] == 1 and got["errors"] == {"TIMEOUT": 1}, got


def test_deleting_a_discovery_deletes_its_runs(admin, ns):
    d = admin.ok(admin.post("/discoveries", body(), ns=ns))
    run = wait_run(admin, ns, start_run(admin, ns, d["ID"])["ID"])
    assert run["errors"] == {"REFUSED": 1}, run
    admin.ok(admin.delete("/discoveries/" + d["ID"], ns=ns))
    assert_error(admin.get("/discoveryruns/" + run["ID"], ns=ns), 404)


def test_a_schedule_starts_runs(start_server):
    s = start_server(config={"login_failures_per_address_max": 0})
    c = s.client(s.token())
    d = c.ok(c.post("/discoveries", body(schedule="* * * * *"), ns="/"))
    due = d["nextRunTime"]
    end = time.time() + 75
    while True:
        runs = c.list("discoveries/%s/discoveryruns" % d["ID"], "/")
        if runs:
            break
        assert time.time() < end, "no run started by the schedule (next %s)" % due
        time.sleep(0.5)
    assert len(runs) == 1
    assert runs[0]["createTime"] >= due
    after = c.ok(c.get("/discoveries/" + d["ID"], ns="/"))
    assert after["nextRunTime"] > due


# ---- webhooks ------------------------------------------------------------------------------

def test_webhooks_hear_discovered_certificates_and_finished_runs(admin, servers):
    ns = admin.mkns("/", "dw" + rand(6))["name"]
    rcv = Receiver().start()
    try:
        admin.ok(admin.post("/webhooks", {
            "name": "h", "url": rcv.url(), "caCertificate": rcv.ca_pem, "secret": rcv.secret,
            "events": ["certificate.discovered", "discovery.finished"]}, ns=ns))
        e = next(e for e in servers.endpoints if e["kind"] == "expired")
        d = admin.ok(admin.post("/discoveries", body(targets=[e["address"]],
                                                     ports=[str(e["port"])]), ns=ns))
        run = wait_run(admin, ns, start_run(admin, ns, d["ID"])["ID"])
        got = rcv.wait_for(2)
        events = sorted(g.json["event"] for g in got)
        assert events == ["certificate.discovered", "discovery.finished"], events
        fin = next(g.json for g in got if g.json["event"] == "discovery.finished")
        assert fin["discoveryRun"]["ID"] == run["ID"]
        assert fin["discoveryRun"]["status"] == "SUCCEEDED"
        disc = next(g.json for g in got if g.json["event"] == "certificate.discovered")
        assert disc["certificate"]["fingerprint"] == e["fingerprint"]
        assert all(g.signature_ok for g in got)
    finally:
        rcv.close()


# ---- what a scanned server presents is not trusted for links -----------------------------


def forged(subject_of, signer_key, key=None, cn=None, days_ago=None):
    """A certificate that names `subject_of` (a Cert) as its issuer with its key identifier,
    signed by `signer_key` instead: a copy of the CA itself (cn None: its subject, its
    SKI, the forger's key, expired `days_ago`), or a leaf `cn` claiming to be issued by it."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    import certmaker
    real = subject_of.cert
    ski = real.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    key = key or signer_key
    n = certmaker.now()
    start, end = (n - datetime.timedelta(days=400), n - datetime.timedelta(days=days_ago)) \
        if days_ago else (n - datetime.timedelta(days=1), n + datetime.timedelta(days=30))
    b = (x509.CertificateBuilder()
         .subject_name(real.subject if cn is None else certmaker.name(cn))
         .issuer_name(real.subject).public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(end)
         .add_extension(x509.AuthorityKeyIdentifier(ski, None, None), False)
         .add_extension(x509.BasicConstraints(ca=cn is None, path_length=None), True))
    if cn is None:
        b = b.add_extension(x509.SubjectKeyIdentifier(ski), False)
    return certmaker.Cert(b.sign(signer_key, hashes.SHA256()), key)


def serve_chain(tmp_path, leaf, *chain, address="127.0.0.1"):
    """`openssl s_server` on `address` presenting leaf and then `chain`: (process, port)."""
    port = free_port()
    (tmp_path / "c.pem").write_text(leaf.pem)
    (tmp_path / "k.pem").write_text(leaf.key_pem())
    args = ["openssl", "s_server", "-accept", "%s:%d" % (address, port), "-cert",
            str(tmp_path / "c.pem"), "-key", str(tmp_path / "k.pem"), "-quiet", "-www"]
    if chain:
        (tmp_path / "chain.pem").write_text("".join(c.pem for c in chain))
        args += ["-cert_chain", str(tmp_path / "chain.pem")]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection((address, port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, port


def test_a_scanned_server_cannot_stand_in_for_a_ca_or_claim_one(admin, tmp_path):
    """A scanned server presents a forged copy of a CA (its subject and key identifier, the
    forger's key, expired) and a leaf that names the real CA as its issuer but was signed
    by the forger. Neither may take the real CA's place in the inventory's links: a leaf the
    real CA signed, imported later, links to the real CA (no EXPIRED_ISSUER, its chain
    without the forgery), and the forged leaf does not link to the real CA."""
    import certmaker
    real = make_cert("Victim CA " + rand(6), ca=True, days=3650)
    forger = certmaker.new_key()
    fake_ca = forged(real, forger, days_ago=1)
    claimer = forged(real, forger, key=certmaker.new_key(), cn="claims.disc.test")
    # and 30 more copies, each with a key of its own: one handshake brings 31, which crowded
    # the real CA out of the candidates looked at (8) in most runs (a black-box review)
    crowd = [forged(real, certmaker.new_key(), days_ago=1) for _ in range(30)]
    proc, port = serve_chain(tmp_path, claimer, fake_ca, *crowd)
    try:
        for real_first in (False, True):
            ns = admin.mkns("/", "forge-" + rand(8))["name"]
            if real_first:
                ca = admin.ok(admin.post("/certificates", {"certificate": real.pem}, ns=ns))
            d = admin.ok(admin.post("/discoveries", body(
                targets=["127.0.0.1"], ports=[str(port)], timeout="3s"), ns=ns))
            run = wait_run(admin, ns, start_run(admin, ns, d["ID"])["ID"])
            assert run["status"] == "SUCCEEDED" and run["endpointsResponded"] == 1, run
            if not real_first:
                ca = admin.ok(admin.post("/certificates", {"certificate": real.pem}, ns=ns))
            leaf = admin.ok(admin.post("/certificates", {"certificate": make_cert(
                "www.victim.test", issuer=real, days=200).pem}, ns=ns))
            assert leaf["issuerCertificateID"] == ca["ID"], (real_first, leaf)
            assert "EXPIRED_ISSUER" not in leaf["weaknesses"], leaf
            chain = admin.get("/certificates/%s/contents" % leaf["ID"], ns=ns,
                              params={"chain": "true"})
            assert chain.status == 200 and fake_ca.pem.strip() not in chain.content.decode()
            assert real.pem.strip() in chain.content.decode()
            got = admin.list("certificates", ns, params={
                "q": 'fingerprint == "%s"' % claimer.fingerprint})
            assert len(got) == 1 and got[0].get("issuerCertificateID") != ca["ID"], got
    finally:
        proc.kill()
        proc.wait()


def test_scans_leave_descriptors_for_the_api(start_server):
    # Two runs of 10,000 pairs each against servers that accept and never answer used the
    # process's last descriptor: the API could accept nothing until the probes timed out
    # (/health took 39 s; a black-box review). Scans now hold at most the descriptor limit
    # less twice max_connections (at least 2,048): here a limit of 4,096 leaves them 2,048,
    # and the API answers at once while they run.
    import resource
    s = start_server(config={"max_connections": 256})
    subprocess.run(["prlimit", "--pid", str(s.proc.pid), "--nofile=4096:4096"], check=True)
    admin = Client(s, s.token())
    ns = admin.mkns("/", "fd-" + rand(6))["name"]
    tarpit = socket.socket()
    tarpit.bind(("0.0.0.0", 0))  # every 127.x address reaches it
    tarpit.listen(4096)  # the kernel completes connections; nobody ever answers them
    port = tarpit.getsockname()[1]
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        runs = []
        for _ in range(2):  # one run of a discovery at a time: two discoveries
            d = admin.ok(admin.post("/discoveries", body(
                targets=["127.0.0.0/22"], ports=[str(port)], timeout="10s", concurrency=10000,
                serverNames=["n%d.fd.test" % i for i in range(16)]), ns=ns))
            runs.append(start_run(admin, ns, d["ID"])["ID"])
        most = 0
        for _ in range(20):
            t = time.monotonic()  # a new connection each time: one more descriptor
            assert raw_request(s, "GET", "/health", timeout=5)[0] == 200
            assert time.monotonic() - t < 2.0, "the API waited for a descriptor"
            most = max(most, len(os.listdir("/proc/%d/fd" % s.proc.pid)))
            time.sleep(0.2)
        assert 1500 < most <= 4096 - 2048 + 200, most  # scanning, within the budget
        for r in runs:
            admin.ok(admin.put("/discoveryruns/" + r, dict(
                admin.ok(admin.get("/discoveryruns/" + r, ns=ns)), status="CANCELED"), ns=ns))
    finally:
        tarpit.close()
        assert soft == resource.getrlimit(resource.RLIMIT_NOFILE)


def test_runs_take_turns_so_one_tenant_cannot_hold_every_worker(start_server, servers):
    # Two runs of one tenant that take hours (silent ports, concurrency 1, a long time-out)
    # held both discovery workers, and every other tenant's run stayed QUEUED until they
    # ended (a black-box review). A run that has scanned for discovery_slice while another
    # waits now ends the probes it has in flight, checkpoints and gives its worker up; it
    # stays RUNNING and goes on later from its checkpoint, its counters exact.
    s = start_server(config={"discovery_workers": 2, "discovery_slice": "500ms",
                             "login_failures_per_address_max": 0})
    c = s.client(s.token())
    a, b = (c.mkns("/", p + rand(6))["name"] for p in ("a-", "b-"))
    silent = [silent_socket() for _ in range(3)]
    try:
        hogs = []
        for _ in range(2):
            d = c.ok(c.post("/discoveries", body(
                targets=["127.0.0.1"], ports=[str(k.getsockname()[1]) for k in silent],
                timeout="1500ms", concurrency=1), ns=a))
            hogs.append(start_run(c, a, d["ID"])["ID"])
        started = {h: wait_run(c, a, h, until=("RUNNING",))["startTime"] for h in hogs}
        e = servers.endpoint("self-signed")
        d = c.ok(c.post("/discoveries", body(targets=[e["address"]], ports=[str(e["port"])],
                                             timeout="2s"), ns=b))
        victim = start_run(c, b, d["ID"])["ID"]
        seen = set()
        end = time.time() + 30
        while True:
            got = c.ok(c.get("/discoveryruns/" + victim, ns=b))
            states = [c.ok(c.get("/discoveryruns/" + h, ns=a)) for h in hogs]
            seen |= {h["status"] for h in states}
            if got["status"] in RUN_END:
                break
            assert time.time() < end, (got, states)
            time.sleep(0.1)
        assert got["status"] == "SUCCEEDED", got
        assert got["endpointsResponded"] == 1 and got["certificatesFound"] == 1, got
        assert [i["certificateID"] for i in instances(c, b, d["ID"])], got
        # The victim ran while both hogs still had pairs to scan, and they waited RUNNING.
        assert [h["status"] for h in states] == ["RUNNING", "RUNNING"], states
        assert all(h["targetsScanned"] < 3 for h in states), states
        for h in hogs:
            run = wait_run(c, a, h, timeout=30)
            seen.add(run["status"])
            assert run["status"] == "SUCCEEDED", run
            assert run["startTime"] == started[h], run
            assert run["targetsTotal"] == run["targetsScanned"] == 3, run
            assert run["errors"] == {"TIMEOUT": 3} and run["endpointsResponded"] == 0, run
        assert "QUEUED" not in seen, seen
        # Giving a worker up is not an attempt.
        rows = {r["key"]: r for r in s.store_rows("jobs") if r["kind"] == "discovery.run"}
        assert [rows[h]["attempts"] for h in hogs] == [1, 1], rows
    finally:
        for k in silent:
            k.close()


def test_a_host_name_whose_addresses_are_all_excluded_is_told(admin, ns):
    # API.md 7.5: errors count the targets skipped, by reason; a name asked for that is
    # not scanned at all was counted nowhere (a range's excluded addresses still are not)
    d = admin.ok(admin.post("/discoveries", body(
        targets=["localhost", "127.0.0.0/30"], excludes=["127.0.0.0/8", "::1/128"],
        ports=["1"], timeout="1s"), ns=ns))
    run = wait_run(admin, ns, start_run(admin, ns, d["ID"])["ID"])
    assert run["status"] == "SUCCEEDED" and run["errors"] == {"EXCLUDED": 1}, run


def test_a_long_presented_chain_is_kept_whole(admin, tmp_path):
    # API.md 7.5: every presented chain goes into certificates; a chain of 20 (a root, 18
    # intermediates, a leaf) was cut to its first 8 without a word
    cas = [make_cert("Long Root " + rand(4), ca=True, days=3650)]
    for i in range(18):
        cas.append(make_cert("Long Int %d %s" % (i, rand(4)), issuer=cas[-1], ca=True,
                             days=3000))
    leaf = make_cert("long.disc.test", issuer=cas[-1], days=30, dns=["long.disc.test"])
    proc, port = serve_chain(tmp_path, leaf, *reversed(cas))
    try:
        ns = admin.mkns("/", "long-" + rand(8))["name"]
        d = admin.ok(admin.post("/discoveries", body(
            targets=["127.0.0.1"], ports=[str(port)], timeout="3s"), ns=ns))
        run = wait_run(admin, ns, start_run(admin, ns, d["ID"])["ID"])
        assert run["status"] == "SUCCEEDED" and run["endpointsResponded"] == 1, run
        got = {c["fingerprint"] for c in admin.list("certificates", ns)}
        assert got == {c.fingerprint for c in cas + [leaf]}, len(got)
    finally:
        proc.kill()
        proc.wait()


def test_a_leaf_sent_twice_is_new_once(admin, tmp_path):
    # The "cert + fullchain" slip: the server sends leaf, leaf, intermediate, root. The leaf
    # is still one new certificate of the run (it was counted 0 and never announced)
    root = make_cert("Twice Root " + rand(4), ca=True, days=3650)
    inter = make_cert("Twice Int " + rand(4), issuer=root, ca=True, days=3000)
    leaf = make_cert("twice.disc.test", issuer=inter, days=30, dns=["twice.disc.test"])
    proc, port = serve_chain(tmp_path, leaf, leaf, inter, root)
    try:
        ns = admin.mkns("/", "twice-" + rand(8))["name"]
        d = admin.ok(admin.post("/discoveries", body(
            targets=["127.0.0.1"], ports=[str(port)], timeout="3s"), ns=ns))
        run = wait_run(admin, ns, start_run(admin, ns, d["ID"])["ID"])
        assert run["status"] == "SUCCEEDED", run
        assert run["certificatesFound"] == 1 and run["newCertificates"] == 1, run
        assert len(admin.list("certificates", ns)) == 3
    finally:
        proc.kill()
        proc.wait()


# ---- the MISSING sweep -------------------------------------------------------------------


class AnySniServer:
    """A TLS server on `nports` ports of one fresh loopback address, presenting `cert` to
    every server name: each port stays open until close_port(i) or close()."""

    def __init__(self, cert, tmp_path, nports):
        import random
        import selectors
        import ssl
        import threading
        self.address = "127.%d.%d.1" % (random.randint(20, 250), random.randint(1, 250))
        (tmp_path / "any.pem").write_text(cert.pem)
        (tmp_path / "any.key").write_text(cert.key_pem())
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(tmp_path / "any.pem"), str(tmp_path / "any.key"))
        self.socks = []
        for _ in range(nports):
            k = socket.socket()
            k.bind((self.address, 0))
            k.listen(512)
            k.setblocking(False)
            self.socks.append(k)
        self.ports = [k.getsockname()[1] for k in self.socks]
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        for k in self.socks:
            self.sel.register(k, selectors.EVENT_READ)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _one(self, c):
        try:
            c.settimeout(5)
            self.ctx.wrap_socket(c, server_side=True).close()
        except OSError:
            pass
        finally:
            c.close()

    def _serve(self):
        import threading
        while not self.stopping:
            with self.lock:
                ready = self.sel.select(0.05)
                for key, _ in ready:
                    try:
                        c, _ = key.fileobj.accept()
                    except OSError:
                        continue
                    c.setblocking(True)
                    threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def close_port(self, i):
        with self.lock:
            self.sel.unregister(self.socks[i])
            self.socks[i].close()

    def close(self):
        self.stopping = True
        self.thread.join()
        for k in self.socks:
            if k.fileno() >= 0:
                k.close()


def test_instances_turn_missing_in_short_transactions_between_other_writes(start_server,
                                                                           tmp_path):
    # Marking MISSING what a run did not see was one transaction at the end of the run: 1.5 s
    # for 16,640 instances during which no other write of any tenant went through (a
    # black-box review). It is now discovery_sweep_batch instances per transaction, the run
    # still RUNNING: another tenant's writes commit between them, and at the end every
    # instance this run did not see is MISSING, those it saw ACTIVE, the counters exact.
    s = start_server(config={"discovery_sweep_batch": 8})
    c = s.client(s.token())
    a, b = (c.mkns("/", p + rand(6))["name"] for p in ("sw-", "other-"))
    cert = make_cert("any.sweep.test", days=30, dns=["any.sweep.test"])
    srv = AnySniServer(cert, tmp_path, 8)
    names = ["s%d.sweep.test" % i for i in range(63)]
    try:
        d = c.ok(c.post("/discoveries", body(
            targets=[srv.address], ports=[str(p) for p in srv.ports], serverNames=names,
            timeout="5s", concurrency=64), ns=a))
        run = wait_run(c, a, start_run(c, a, d["ID"])["ID"], timeout=120)
        assert run["status"] == "SUCCEEDED" and run["endpointsResponded"] == 8, run
        total = 8 * 64
        assert len(instances(c, a, d["ID"])) == total
        for i in range(1, 8):  # one port of eight still answers
            srv.close_port(i)
        run2 = start_run(c, a, d["ID"])["ID"]
        between = 0  # writes of /other that committed while the sweep was half done
        end = time.time() + 120
        while True:
            c.ok(c.post("/discoveries", body(), ns=b))  # another tenant's write
            missing = int(c.get("/discoveries/%s/certificateinstances" % d["ID"], ns=a, params={
                "q": 'status == "MISSING"', "pageSize": "1"}).headers["X-Count-Total"])
            st = c.ok(c.get("/discoveryruns/" + run2, ns=a))
            if st["status"] in RUN_END:
                break
            if 0 < missing < total - 64:
                between += 1
            assert time.time() < end, st
        assert st["status"] == "SUCCEEDED", st
        assert st["targetsScanned"] == 8 and st["endpointsResponded"] == 1, st
        assert st["errors"] == {"REFUSED": 7}, st
        assert st["certificatesFound"] == 1 and st["newCertificates"] == 0, st
        assert between > 0, "no other write committed while the sweep was under way"
        got = instances(c, a, d["ID"])
        assert len(got) == total
        for i in got:
            want = "ACTIVE" if i["port"] == srv.ports[0] else "MISSING"
            assert i["status"] == want, i
            assert (i["discoveryRunID"] == run2) == (want == "ACTIVE"), i
    finally:
        srv.close()



def test_a_sweep_cut_by_a_crash_is_finished_by_the_resume(start_server, tmp_path):
    # The MISSING sweep goes in batches after everything found is written, the run still
    # RUNNING: a kill -9 in the middle leaves some instances marked, the run RUNNING with its
    # checkpoint past every pair. The next server resumes it: nothing probed again, the rest
    # swept, the counters those of a run that never stopped.
    s = start_server(config={"discovery_sweep_batch": 1, "job_lease": "3s",
                             "login_failures_per_address_max": 0})
    c = s.client(s.token())
    ns = c.mkns("/", "crash-" + rand(6))["name"]
    cert = make_cert("crash.sweep.test", days=30, dns=["crash.sweep.test"])
    srv = AnySniServer(cert, tmp_path, 8)
    try:
        d = c.ok(c.post("/discoveries", body(
            targets=[srv.address], ports=[str(p) for p in srv.ports], timeout="5s",
            serverNames=["c%d.sweep.test" % i for i in range(63)], concurrency=64), ns=ns))
        run = wait_run(c, ns, start_run(c, ns, d["ID"])["ID"], timeout=120)
        assert run["status"] == "SUCCEEDED" and len(instances(c, ns, d["ID"])) == 512, run
        for i in range(1, 8):
            srv.close_port(i)
        run2 = start_run(c, ns, d["ID"])["ID"]
        end = time.time() + 60
        while True:
            missing = int(c.get("/discoveries/%s/certificateinstances" % d["ID"], ns=ns, params={
                "q": 'status == "MISSING"', "pageSize": "1"}).headers["X-Count-Total"])
            if missing > 0:
                break
            assert time.time() < end
        s.kill()
        assert 0 < missing < 448
        s.start()
        c = s.client(s.token())
        st = wait_run(c, ns, run2, timeout=60)
        assert st["status"] == "SUCCEEDED", st
        assert st["targetsScanned"] == 8 and st["endpointsResponded"] == 1, st
        assert st["errors"] == {"REFUSED": 7}, st
        assert st["certificatesFound"] == 1 and st["newCertificates"] == 0, st
        got = instances(c, ns, d["ID"])
        assert len(got) == 512
        for i in got:
            want = "ACTIVE" if i["port"] == srv.ports[0] else "MISSING"
            assert i["status"] == want, i
    finally:
        srv.close()

def test_a_ca_of_one_chain_presented_as_another_server_s_leaf_is_new_either_way(admin,
                                                                               tmp_path):
    # A self-signed CA that one server uses as its own certificate, and another sends in
    # its chain: when the chain came first, the CA was stored as a chain member, and as a
    # leaf it was then neither counted in newCertificates nor announced (a black-box
    # review). It was in no inventory before the run: new, whatever the order (addresses
    # are scanned in order: the chain's server first, then the CA's, then the other way).
    import random
    ca = make_cert("Dual CA " + rand(6), ca=True, days=3650, dns=["dual.disc.test"])
    leaf = make_cert("dual-leaf.disc.test", issuer=ca, days=30, dns=["dual-leaf.disc.test"])
    net = "127.%d.%d." % (random.randint(20, 250), random.randint(1, 250))
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    px, portx = serve_chain(tmp_path / "x", leaf, ca, address=net + "1")
    py, porty = serve_chain(tmp_path / "y", ca, address=net + "2")
    rcv = Receiver().start()
    try:
        for targets in ([net + "1", net + "2"], [net + "2", net + "1"]):
            ns = admin.mkns("/", "dual-" + rand(8))["name"]
            admin.ok(admin.post("/webhooks", {
                "name": "h", "url": rcv.url(), "caCertificate": rcv.ca_pem,
                "secret": rcv.secret, "events": ["certificate.discovered"]}, ns=ns))
            d = admin.ok(admin.post("/discoveries", body(
                targets=targets, ports=[str(portx), str(porty)], timeout="3s",
                concurrency=1), ns=ns))
            run = wait_run(admin, ns, start_run(admin, ns, d["ID"])["ID"])
            assert run["status"] == "SUCCEEDED" and run["endpointsResponded"] == 2, run
            assert run["certificatesFound"] == 2 and run["newCertificates"] == 2, (targets, run)
            rcv.wait_for(2)
            time.sleep(0.5)  # no third one
            fps = sorted(g.json["certificate"]["fingerprint"] for g in rcv.received())
            assert fps == sorted([ca.fingerprint, leaf.fingerprint]), (targets, fps)
            with rcv._cv:
                rcv.deliveries.clear()
    finally:
        rcv.close()
        for p in (px, py):
            p.kill()
            p.wait()


def test_a_new_instance_is_not_updated_before_it_was_created(admin, tmp_path):
    # An instance's updateTime (the batch's time) was earlier than its createTime (read
    # later, when the object was made): 16 of 18 instances of a run (a black-box review).
    cert = make_cert("times.disc.test", days=30, dns=["times.disc.test"])
    srv = AnySniServer(cert, tmp_path, 2)
    try:
        ns = admin.mkns("/", "times-" + rand(8))["name"]
        d = admin.ok(admin.post("/discoveries", body(
            targets=[srv.address], ports=[str(p) for p in srv.ports], timeout="5s",
            serverNames=["t%d.times.test" % i for i in range(63)]), ns=ns))
        run = wait_run(admin, ns, start_run(admin, ns, d["ID"])["ID"])
        assert run["status"] == "SUCCEEDED" and run["endpointsResponded"] == 2, run
        got = instances(admin, ns, d["ID"])
        assert len(got) == 128
        for i in got:
            assert i["createTime"] == i["firstSeen"] == i["lastSeen"] == i["updateTime"], i
    finally:
        srv.close()


class CertHeaderServer:
    """A TLS 1.2 server in name only, on a fresh port of 127.0.0.1 each: it answers a
    ClientHello with a ServerHello and the 4-byte header of a Certificate message claiming
    `claim` bytes, then stays silent (holding the connection) until close()."""

    def __init__(self, claim):
        import threading
        body = b"\x03\x03" + os.urandom(32) + b"\x00" + b"\x00\x9c" + b"\x00" + \
            b"\x00\x05\xff\x01\x00\x01\x00"
        hello = bytes([2]) + len(body).to_bytes(3, "big") + body
        data = hello + bytes([11]) + claim.to_bytes(3, "big")
        self.answer = bytes([22, 3, 3]) + len(data).to_bytes(2, "big") + data
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
                c.settimeout(5)
                c.recv(4096)
                c.sendall(self.answer)
                self.held.append(c)
            except OSError:
                return

    def close(self):
        self.sock.close()
        for c in self.held:
            c.close()


def test_a_server_announcing_a_huge_certificate_list_fails_at_once(admin):
    # A server that announced a certificate list of 102,000 bytes (under OpenSSL's default
    # cap of 100 KiB) and went silent made this process hold about 150 KB for the probe's
    # whole time-out: 600 MB at 4,000 probes (a black-box review). Scans now take 64 KiB
    # at most (32 of the largest CAs of Debian's bundle are 49 KB): the probe fails its
    # handshake at once. A list under the cap still waits for the time-out, and ends on time.
    huge, under = CertHeaderServer(102000), CertHeaderServer(60000)
    try:
        ns = admin.mkns("/", "hdr-" + rand(8))["name"]
        for srv, want in ((huge, "HANDSHAKE_FAILED"), (under, "TIMEOUT")):
            d = admin.ok(admin.post("/discoveries", body(
                targets=["127.0.0.1"], ports=[str(srv.port)], timeout="3s"), ns=ns))
            run = wait_run(admin, ns, start_run(admin, ns, d["ID"])["ID"])
            assert run["status"] == "SUCCEEDED" and run["errors"] == {want: 1}, (want, run)
            assert run["endpointsResponded"] == 0 and run["certificatesFound"] == 0, run
            assert instances(admin, ns, d["ID"]) == []
    finally:
        huge.close()
        under.close()
