"""API authorizations, exhaustively: each built-in role x where the request goes (its own
namespace, a child, the parent, a sibling, another tenant) x each operation x each resource.
Allowed exactly where API.md section 5 says; 403 otherwise; and 404, never 403, for an
object that lives in a namespace the request does not target. The inventory's resources
(certificates, certificateimports, monitoringpolicies) and the certificates' contents
are in it, and so is issuance (API.md 7.4): certificate authorities are managed by
administrators only (editors and viewers read them, as they read API authorizations,
accounts and the audit log: none of them answers a secret), issuing
templates by editors, and certificate requests are what certificate.requester makes.
Discoveries and their runs (API.md 7.5) need discovery,post and discoveryrun,post:
editors and administrators, never certificate.requester."""
import itertools
import time

import pytest

from certmaker import make_cert
from kwtest import assert_error, rand
from webhooktest import import_expired, need_certificates, wait_for, webhook_body

NORMAL, SECRET, ADMIN = 0, 1, 2
WRITES = frozenset({"create", "update", "delete"})
# resource -> (sensitivity, body factory(namespace) for a new object, the writes it has)
RESOURCES = {
    "namespaces": (NORMAL, lambda ns: {"name": "m" + rand(8)}, WRITES),
    # (read, write) sensitivities: read like any resource, written by administrators
    "accounts": ((NORMAL, ADMIN), lambda ns: {"name": "a" + rand(10), "password": "pw-" + rand(12)},
                 WRITES),
    "apiauthorizations": ((NORMAL, ADMIN), lambda ns: {
        "name": "p" + rand(6), "subject": [["@auth:realm=vince", "@auth:account=nobody"]],
        "authorizedIdentities": ["@auth:role=namespace.viewer"], "authorizedNamespace": ns},
        WRITES),
    "serviceaccounts": (ADMIN, lambda ns: {"name": "s" + rand(8)}, WRITES),
    "appcredentials": (ADMIN, lambda ns: {"name": "c" + rand(8)}, WRITES),
    "auditlogs": (NORMAL, None, frozenset()),
    # Identity providers shape the identities authorizations trust: administrators only
    # (an editor pointing one at a directory of its own became administrator: review).
    "ldapproviders": (ADMIN, lambda ns: {
        "name": "l" + rand(6), "address": "127.0.0.1:1", "bindDN": "cn=reader,dc=example",
        "bindPassword": "pw-" + rand(8), "baseDN": "dc=example"}, WRITES),
    "oidcproviders": (ADMIN, lambda ns: {
        "name": "o" + rand(6), "endpoint": "https://127.0.0.1:1", "clientID": "c" + rand(4),
        "clientSecret": "s-" + rand(8)}, WRITES),
    # A new certificate for every create, so that none is answered by dedupe.
    "certificates": (NORMAL, lambda ns: {
        "certificate": make_cert("m%s.matrix.test" % rand(8), days=30).pem}, WRITES),
    # Kept records of bulk imports: no update.
    "certificateimports": (NORMAL, lambda ns: {
        "contents": make_cert("i%s.matrix.test" % rand(8), days=30).pem},
        frozenset({"create", "delete"})),
    # At most one per namespace (ONE_PER_NAMESPACE).
    "monitoringpolicies": (NORMAL, lambda ns: {"description": "p-" + rand(6)}, WRITES),
    "webhooks": (SECRET, lambda ns: webhook_body("https://127.0.0.1:1/hook"), WRITES),
    "webhookdeliveries": (NORMAL, None, frozenset()),
    # Issuance (API.md 7.4). A new root for every create; templates and requests use the
    # namespace's own CA (and template), made once by the administrator.
    "certificateauthorities": ((NORMAL, ADMIN), lambda ns: {
        "name": "ca" + rand(8), "keyType": "EC_P256", "subject": "CN=Matrix CA %s" % rand(6)},
        WRITES),
    "issuingtemplates": (NORMAL, lambda ns: {
        "name": "t" + rand(8), "certificateAuthorityID": issuing_ca(ns),
        "subjectCNRegexes": [r".*\.matrix\.test"], "sanDNSNameRegexes": [r".*\.matrix\.test"],
        "keyTypes": ["EC_P256"], "serverKeyGenerationAllowed": True}, WRITES),
    # A request is a record of what was asked and decided: made, read, never rewritten.
    "certificaterequests": (NORMAL, lambda ns: {
        "issuingTemplateID": issuing_template(ns),
        "csrAttributes": {"commonName": "r%s.matrix.test" % rand(8), "keyType": "EC_P256"}},
        frozenset({"create"})),
    # Discovery (API.md 7.5): scanning is a strong power, but not a secret one; a run is
    # started (create) and canceled (update), never deleted. Each run gets a discovery of
    # its own (one run of a discovery at a time), of a closed loopback port.
    "discoveries": (NORMAL, lambda ns: {
        "name": "d" + rand(8), "targets": ["127.0.0.1"], "ports": ["1"]}, WRITES),
    "discoveryruns": (NORMAL, lambda ns: {"discoveryID": fresh_discovery(ns)},
                      frozenset({"create", "update"})),
}

# The administrator's client, for the body factories that need objects of their own.
_ADMIN = {}
_ISSUING = {}


def issuing_ca(ns):
    """A CA of `ns`, made once by the administrator."""
    if ("ca", ns) not in _ISSUING:
        admin = _ADMIN["client"]
        _ISSUING[("ca", ns)] = admin.ok(admin.post("/certificateauthorities", {
            "name": "issuing-" + rand(6), "keyType": "EC_P256",
            "subject": "CN=Matrix Issuing CA"}, ns=ns))["ID"]
    return _ISSUING[("ca", ns)]


def fresh_discovery(ns):
    """A new discovery of `ns`, made by the administrator."""
    admin = _ADMIN["client"]
    return admin.ok(admin.post("/discoveries", RESOURCES["discoveries"][1](ns), ns=ns))["ID"]


def issuing_template(ns):
    """A template of `ns` on its CA, made once by the administrator."""
    if ("tpl", ns) not in _ISSUING:
        admin = _ADMIN["client"]
        _ISSUING[("tpl", ns)] = admin.ok(admin.post("/issuingtemplates", RESOURCES[
            "issuingtemplates"][1](ns), ns=ns))["ID"]
    return _ISSUING[("tpl", ns)]


# Resources of which a namespace holds at most one: an existing one is reused, and removed
# before a create is attempted.
ONE_PER_NAMESPACE = {"monitoringpolicies"}
READ_ONLY = [rest for rest, (_, _, writes) in RESOURCES.items() if not writes]
ROLES = {  # role -> (verbs on NORMAL, on SECRET, on ADMIN) or {resource: verbs}
    "namespace.administrator": ({"get", "post", "put", "delete"},) * 3,
    "namespace.editor": ({"get", "post", "put", "delete"}, {"get", "post", "put", "delete"},
                         set()),
    "namespace.viewer": ({"get"}, set(), set()),
    # Grants certificate requests, certificates and issuing templates by identity,
    # exactly as API.md 5 lists them: no namespaces, no certificateimports, no
    # monitoringpolicies, no CAs.
    "certificate.requester": {"certificates": {"get"},
                              "issuingtemplates": {"get"},
                              "certificaterequests": {"get", "post"}},
}
PLACES = ["own", "child", "parent", "sibling", "other"]
OPS = {"list": "get", "get": "get", "create": "post", "update": "put", "delete": "delete"}


@pytest.fixture(scope="module")
def world(server, admin):
    _ADMIN["client"] = admin
    root = admin.mkns("/", "mx-" + rand(6))["name"]
    parent = admin.mkns(root, "tenant")["name"]
    own = admin.mkns(parent, "own")["name"]
    places = {"own": own, "child": admin.mkns(own, "child")["name"], "parent": parent,
              "sibling": admin.mkns(parent, "sibling")["name"],
              "other": admin.mkns(root, "other")["name"]}
    callers = {}
    for role in ROLES:
        name, pw, _ = admin.mkaccount(root)
        admin.mkauthz(parent, [["@auth:realm=vince", "@auth:account=" + name]],
                      ["@auth:role=" + role], authorized_ns=own)
        callers[role] = server.client(server.token(name, pw))
    return {"places": places, "callers": callers}


def one_delivery(admin, ns):
    """A webhook delivery in `ns`: a webhook there hears an expired certificate's import
    (made only where the certificate inventory exists: the events' source)."""
    need_certificates(admin)
    w = admin.ok(admin.post("/webhooks", RESOURCES["webhooks"][1](ns), ns=ns))
    import_expired(admin, ns)
    got = wait_for(lambda: admin.list("webhooks/%s/webhookdeliveries" % w["ID"], ns))
    assert got, "no delivery in %s" % ns
    return got[0]


def ended_run(admin, ns, run):
    """The run as read once it has ended (its scan of a closed port takes milliseconds),
    so that an update sent with it meets the updateTime it was read with."""
    for _ in range(200):
        run = admin.ok(admin.get("/discoveryruns/" + run["ID"], ns=ns))
        if run["status"] not in ("QUEUED", "RUNNING"):
            return run
        time.sleep(0.05)
    raise AssertionError("the run did not end: %r" % run)


def one_object(admin, rest, ns):
    """An object of `rest` living in `ns`, made by the administrator."""
    sens, body, writes = RESOURCES[rest]
    if rest in ONE_PER_NAMESPACE:
        there = admin.list(rest, ns)
        if there:
            return there[0]
    if rest == "discoveryruns":
        return ended_run(admin, ns, admin.ok(admin.post("/" + rest, body(ns), ns=ns)))
    if "create" in writes:
        return admin.ok(admin.post("/" + rest, body(ns), ns=ns))
    if rest == "webhookdeliveries":
        return one_delivery(admin, ns)
    admin.mkns(ns, "touch" + rand(6))  # leaves an audit entry in ns
    for _ in range(50):
        items = admin.list(rest, ns)
        if items:
            return items[0]
    raise AssertionError("no %s in %s" % (rest, ns))


def allowed(role, rest, op, place):
    if place not in ("own", "child"):
        return False
    grants = ROLES[role]
    if isinstance(grants, dict):  # grants by identity
        return OPS[op] in grants.get(rest, set())
    sens = RESOURCES[rest][0]
    if isinstance(sens, tuple):
        sens = sens[0] if OPS[op] == "get" else sens[1]
    return OPS[op] in grants[sens]


def attempt(admin, caller, rest, op, ns):
    sens, body, writes = RESOURCES[rest]
    if op == "list":
        return caller.get("/" + rest, ns=ns)
    if op == "create":
        if rest in ONE_PER_NAMESPACE:  # make room, so that an allowed create is a 200
            for o in admin.list(rest, ns):
                admin.ok(admin.delete("/%s/%s" % (rest, o["ID"]), ns=ns))
        return caller.post("/" + rest, body(ns), ns=ns)
    obj = one_object(admin, rest, ns)
    if op == "get":
        return caller.get("/%s/%s" % (rest, obj["ID"]), ns=ns)
    if op == "update":
        return caller.put("/%s/%s" % (rest, obj["ID"]), obj, ns=ns)
    return caller.delete("/%s/%s" % (rest, obj["ID"]), ns=ns)


CASES = [(role, rest, op, place)
         for role, rest, op, place in itertools.product(ROLES, RESOURCES, OPS, PLACES)
         if op in ("list", "get") or op in RESOURCES[rest][2]]


@pytest.mark.parametrize("role,rest,op,place", CASES,
                         ids=["-".join(c) for c in CASES])
def test_matrix(admin, world, role, rest, op, place):
    r = attempt(admin, world["callers"][role], rest, op, world["places"][place])
    if allowed(role, rest, op, place):
        assert r.status == 200, r
    else:
        assert_error(r, 403)


def test_read_only_resources_refuse_writes(admin, world):
    for role, op, rest in itertools.product(ROLES, ("create", "update", "delete"), READ_ONLY):
        c = world["callers"][role]
        own = world["places"]["own"]
        r = (c.post("/" + rest, {}, ns=own) if op == "create" else
             c.put("/%s/%s" % (rest, "0" * 24), {}, ns=own) if op == "update"
             else c.delete("/%s/%s" % (rest, "0" * 24), ns=own))
        assert_error(r, 405)
    # a certificate request's record is kept as it was: no update, whoever asks
    made = one_object(admin, "certificaterequests", world["places"]["own"])
    req = admin.ok(admin.get("/certificaterequests/" + made["ID"], ns=world["places"]["own"]))
    assert req["status"] == "ISSUED" and "privateKey" not in req
    for role in ROLES:
        r = world["callers"][role].put("/certificaterequests/" + req["ID"], req,
                                       ns=world["places"]["own"])
        assert_error(r, 405)
    # an import's record is kept as it was: no update, whoever asks
    rec = one_object(admin, "certificateimports", world["places"]["own"])
    for role in ROLES:
        r = world["callers"][role].put("/certificateimports/" + rec["ID"], rec,
                                       ns=world["places"]["own"])
        assert_error(r, 405)


@pytest.mark.parametrize("rest", list(RESOURCES))
@pytest.mark.parametrize("place", ["child", "parent", "sibling", "other"])
def test_object_elsewhere_is_404_never_403(admin, world, rest, place):
    """Through the caller's own namespace, an object living elsewhere does not exist."""
    obj = one_object(admin, rest, world["places"][place])
    c = world["callers"]["namespace.administrator"]
    own = world["places"]["own"]
    assert_error(c.get("/%s/%s" % (rest, obj["ID"]), ns=own), 404)
    if "update" in RESOURCES[rest][2]:
        assert_error(c.put("/%s/%s" % (rest, obj["ID"]), obj, ns=own), 404)
    if "delete" in RESOURCES[rest][2]:
        assert_error(c.delete("/%s/%s" % (rest, obj["ID"]), ns=own), 404)
    if rest == "certificates":
        assert_error(c.get("/certificates/%s/contents" % obj["ID"], ns=own), 404)
    assert admin.get("/%s/%s" % (rest, obj["ID"]), ns=world["places"][place]).status == 200


def test_recursive_reads_stay_inside_the_grant(admin, world):
    c = world["callers"]["namespace.viewer"]
    got = c.get("/namespaces", ns=world["places"]["own"], params={"recursive": "true"})
    assert got.status == 200
    assert all(o["name"].startswith(world["places"]["own"]) for o in got.data)
    assert_error(c.get("/namespaces", ns=world["places"]["parent"],
                       params={"recursive": "true"}), 403)


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("place", PLACES)
def test_certificate_contents(admin, world, role, place):
    """GET /certificates/:id/contents is a read of the certificate: every built-in role
    reads it where it reads certificates (certificate.requester included), nowhere else."""
    ns = world["places"][place]
    cert = make_cert("contents-%s.matrix.test" % rand(8))
    obj = admin.ok(admin.post("/certificates", {"certificate": cert.pem}, ns=ns))
    c = world["callers"][role]
    url = "/certificates/%s/contents" % obj["ID"]
    if place in ("own", "child"):
        r = c.get(url, ns=ns)
        assert r.status == 200 and r.content.decode() == cert.pem, r
        r = c.get(url, ns=ns, params={"format": "DER"})
        assert r.status == 200 and r.content == cert.der, r
    else:
        assert_error(c.get(url, ns=ns), 403)
        assert_error(c.get(url, ns=ns, params={"format": "DER"}), 403)


def test_requester_reads_certificates_but_writes_no_policy(admin, world):
    """certificate.requester: certificates and their contents, read only; policies and
    imports neither read nor written."""
    own = world["places"]["own"]
    c = world["callers"]["certificate.requester"]
    cert = make_cert("requester-%s.matrix.test" % rand(8))
    obj = admin.ok(admin.post("/certificates", {"certificate": cert.pem}, ns=own))
    assert c.ok(c.get("/certificates/" + obj["ID"], ns=own))["fingerprint"] == cert.fingerprint
    r = c.get("/certificates/%s/contents" % obj["ID"], ns=own, params={"format": "DER"})
    assert r.status == 200 and r.content == cert.der, r
    assert obj["ID"] in [x["ID"] for x in c.list("certificates", own)]
    pol = one_object(admin, "monitoringpolicies", own)
    assert_error(c.post("/monitoringpolicies", {}, ns=world["places"]["child"]), 403)
    assert_error(c.get("/monitoringpolicies", ns=own), 403)
    assert_error(c.get("/monitoringpolicies/" + pol["ID"], ns=own), 403)
    pol["expiringWithinDays"] = 5
    assert_error(c.put("/monitoringpolicies/" + pol["ID"], pol, ns=own), 403)
    assert_error(c.delete("/monitoringpolicies/" + pol["ID"], ns=own), 403)
    assert admin.ok(admin.get("/monitoringpolicies/" + pol["ID"], ns=own))[
        "expiringWithinDays"] != 5
    assert_error(c.post("/certificateimports", {"contents": cert.pem}, ns=own), 403)
    assert_error(c.post("/certificates", {"certificate": make_cert("x.matrix.test").pem},
                        ns=own), 403)
    assert_error(c.put("/certificates/" + obj["ID"], dict(obj, retired=True), ns=own), 403)
    assert_error(c.delete("/certificates/" + obj["ID"], ns=own), 403)
    assert admin.ok(admin.get("/certificates/" + obj["ID"], ns=own))["status"] == "ACTIVE"
