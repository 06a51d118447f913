"""Issuance, the certificate authorities (API.md 7.4): roots and intermediates of every key
type, imported CAs, path lengths, validity bounds, their place in the inventory, the CA's
own policy (name constraints, sub-namespaces, disabled) and deletion; never a private key
in any answer, list, audit entry, nor in clear at rest.

Relying-party checks use `openssl` (verify, x509 -text), not the server's own code."""

import base64
import datetime
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kwtest import HEX24, assert_error, make_ca, rand
from certmaker import make_cert
from pkitest import (KEY_TYPES, ca_body, count, der_of, ext, issue, list_caps, load, make_csr,
                     mk_ca, mk_template, not_before_after, openssl, public, refused_and_kept,
                     request, sha256_pem, split_pem, text_of, tmpdir, utcnow, verify, write)

HOUR = 3600


@pytest.fixture(scope="module")
def space(admin):
    return admin.mkns("/", "ica-" + rand(8))["name"]


def fresh(admin, space):
    return admin.mkns(space, "n" + rand(8))["name"]


def lifetime_hours(pem):
    nb, na = not_before_after(pem)
    return (na - nb).total_seconds() / HOUR


def hours_left(pem):
    return (not_before_after(pem)[1] - utcnow()).total_seconds() / HOUR


def create(admin, ns, **kw):
    return admin.post("/certificateauthorities", ca_body(**kw), ns=ns)


def attr_of(r):
    e = assert_error(r, 422)
    return (e.get("data") or {}).get("attribute")


# ---- roots -------------------------------------------------------------------------------


def test_root_answer(server, admin, space):
    name = "root-" + rand(6)
    r = create(admin, space, name=name, subject="CN=Acme Root CA,O=Acme,C=US")
    assert r.status == 200, r
    ca = r.data
    assert ca["object"] == "certificateauthority" and HEX24.match(ca["ID"])
    assert ca["name"] == name and ca["namespace"] == space and ca["keyType"] == "EC_P256"
    pems = split_pem(ca["certificate"])
    assert len(pems) == 1, ca["certificate"]
    cert = load(pems[0])
    assert cert.subject.rfc4514_string() == "CN=Acme Root CA,O=Acme,C=US"
    assert cert.issuer == cert.subject
    assert ca["fingerprint"] == sha256_pem(pems[0])
    assert ca["validityEnd"].startswith(cert.not_valid_after.strftime("%Y-%m-%dT%H:%M:%S"))
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca is True
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
    assert ext(pems[0], x509.SubjectKeyIdentifier) is not None
    verify(pems[0], pems[0])  # self-signed, and openssl takes it as a trust anchor
    base = "%s/pki/%s/" % (server.url, ca["ID"])  # public_url defaults to https://LISTEN
    assert ca["crlURL"] == base + "crl", ca
    assert ca["ocspURL"] == base + "ocsp", ca
    assert ca["caIssuersURL"] == base + "ca.crt", ca
    assert b"PRIVATE KEY" not in r.content and "privateKey" not in ca
    got = admin.ok(admin.get("/certificateauthorities/" + ca["ID"], ns=space))
    for k in ("certificate", "certificateID", "fingerprint", "validityEnd", "crlURL",
              "ocspURL", "caIssuersURL", "name", "keyType"):
        assert got[k] == ca[k], k


def test_certificates_are_strict_der(server, admin, space):
    """RFC 5280 certificates, CRLs and OCSP answers are DER: strict parsers (Go's
    crypto/x509, python3-cryptography's) must read every one of them. (A BOOLEAN TRUE is
    0xFF in DER; 0x01 is BER only.)"""
    from cryptography.x509 import ocsp
    from pkitest import openssl, tmpdir, write
    ns = fresh(admin, space)
    root = mk_ca(admin, ns, pathLength=2)
    inter = mk_ca(admin, ns, parentID=root["ID"], permittedDNSDomains=["example.com"])
    tpl = mk_template(admin, ns, inter["ID"])
    req = issue(admin, ns, tpl["ID"], csr=make_csr(cn="der.example.com",
                                                  dns=["der.example.com"])[0])
    for pem in [root["certificate"], inter["certificate"]] + split_pem(req["certificateChain"]):
        for e in load(pem).extensions:  # every extension decoded
            assert e.oid is not None
    crl = public(server, "/pki/%s/crl" % inter["ID"])
    assert crl.status_code == 200
    x509.load_der_x509_crl(crl.content).extensions
    d = tmpdir()
    openssl("ocsp", "-issuer", write(d, "i.pem", inter["certificate"]), "-cert",
            write(d, "l.pem", split_pem(req["certificateChain"])[0]), "-reqout", d / "q.der",
            "-no_nonce")
    r = public(server, "/pki/%s/ocsp" % inter["ID"], "POST", data=(d / "q.der").read_bytes(),
               headers={"Content-Type": "application/ocsp-request"})
    assert r.status_code == 200
    resp = ocsp.load_der_ocsp_response(r.content)
    assert resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD
    for c in resp.certificates:
        for e in c.extensions:
            assert e.oid is not None


def test_root_default_validity_is_ten_years(admin, space):
    ca = mk_ca(admin, space)
    assert abs(lifetime_hours(ca["certificate"]) - 87600) < 25, text_of(ca["certificate"])
    short = mk_ca(admin, space, validity="240h")
    assert abs(lifetime_hours(short["certificate"]) - 240) < 2


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_every_key_type(admin, space, key_type):
    ca = mk_ca(admin, space, key_type=key_type)
    pem = ca["certificate"]
    text = text_of(pem)
    want = {"EC_P256": ("id-ecPublicKey", "256 bit"), "EC_P384": ("id-ecPublicKey", "384 bit"),
            "RSA_2048": ("rsaEncryption", "2048 bit"), "RSA_3072": ("rsaEncryption", "3072 bit"),
            "RSA_4096": ("rsaEncryption", "4096 bit"), "ED25519": ("ED25519", "")}[key_type]
    assert "Public Key Algorithm: " + want[0] in text and want[1] in text, text
    assert ca["keyType"] == key_type
    verify(pem, pem)
    # ...and it signs what it issues: a P-256 leaf under every kind of CA key.
    tpl = mk_template(admin, space, ca["ID"])
    csr, _ = make_csr("EC_P256", dns=["kt.test.example"])
    req = issue(admin, space, tpl["ID"], csr=csr)
    leaf = split_pem(req["certificateChain"])[0]
    verify(pem, leaf)


def test_subject_and_key_type_are_validated(admin, space):
    assert attr_of(create(admin, space, key_type="RSA_1024")) == "keyType"
    assert attr_of(create(admin, space, key_type="")) == "keyType"
    for bad in ("", "nonsense", "XX=unknown attribute", "CN=a,,O=b", "CN=a,O"):
        assert attr_of(create(admin, space, subject=bad)) == "subject", bad
    for bad in ("abc", "-1h", "1y", "87600"):
        assert attr_of(create(admin, space, validity=bad)) == "validity", bad
    # Past Go's largest duration (a black-box review read "must be positive" for 90000000h):
    # the message gives the range.
    for bad in ("90000000h", "2562048h"):
        r = create(admin, space, validity=bad)
        assert attr_of(r) == "validity" and "2562047h" in r.data[0]["description"], (bad, r)
    assert attr_of(create(admin, space, pathLength=-2)) == "pathLength"
    assert attr_of(create(admin, space, pathLength="1")) == "pathLength"
    assert attr_of(create(admin, space, permittedIPRanges=["not-a-cidr"])) == \
        "permittedIPRanges"
    assert attr_of(create(admin, space, permittedIPRanges=["10.0.0.0/33"])) == \
        "permittedIPRanges"
    assert attr_of(create(admin, space, permittedDNSDomains=["exa mple.com"])) == \
        "permittedDNSDomains"
    assert attr_of(create(admin, space, usableInSubNamespaces="yes")) == \
        "usableInSubNamespaces"
    body = ca_body()
    del body["name"]
    assert attr_of(admin.post("/certificateauthorities", body, ns=space)) == "name"
    body = ca_body()
    del body["subject"]
    assert attr_of(admin.post("/certificateauthorities", body, ns=space)) == "subject"
    # read-only answers cannot be forced in
    assert attr_of(create(admin, space, fingerprint="00" * 32)) == "fingerprint"


def test_names_are_unique_per_namespace(admin, space):
    ns = fresh(admin, space)
    name = "dup-" + rand(6)
    mk_ca(admin, ns, name=name)
    assert_error(create(admin, ns, name=name), 422, "Duplicate Key")
    mk_ca(admin, fresh(admin, space), name=name)


@pytest.mark.parametrize("attribute,item", [
    ("permittedDNSDomains", "d%d.example.com"), ("excludedDNSDomains", "x%d.example.com"),
    ("permittedIPRanges", "10.%d.0.0/16")])
def test_policy_lists_cap_and_one_past(admin, space, attribute, item):
    cap = list_caps(admin, "certificateauthority")[attribute]
    assert isinstance(cap, int) and 0 < cap <= 250, "a published cap: %r" % cap
    ns = fresh(admin, space)
    ca = mk_ca(admin, ns, **{attribute: [item % i for i in range(cap)]})
    assert len(ca[attribute]) == cap
    assert attr_of(create(admin, ns, **{attribute: [item % i for i in range(cap + 1)]})) == \
        attribute
    r = admin.put("/certificateauthorities/" + ca["ID"], dict(
        ca, **{attribute: [item % i for i in range(cap + 1)]}), ns=ns)
    assert attr_of(r) == attribute


# ---- intermediates -----------------------------------------------------------------------


def test_chain_of_depth_four_verifies(admin, space):
    ns = fresh(admin, space)
    root = mk_ca(admin, ns, subject="CN=Depth Root")
    inter = mk_ca(admin, ns, subject="CN=Depth Inter 1", parentID=root["ID"])
    inter2 = mk_ca(admin, ns, subject="CN=Depth Inter 2", parentID=inter["ID"],
                   key_type="RSA_2048")
    for child, parent in ((inter, root), (inter2, inter)):
        c, p = load(child["certificate"]), load(parent["certificate"])
        assert c.issuer == p.subject
        aki = c.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        ski = p.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        assert aki.key_identifier == ski.digest
        assert c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    verify(root["certificate"], inter["certificate"])
    verify(root["certificate"], inter2["certificate"], [inter["certificate"]])
    tpl = mk_template(admin, ns, inter2["ID"])
    csr, _ = make_csr("EC_P256", dns=["deep.test.example"])
    req = issue(admin, ns, tpl["ID"], csr=csr)
    chain = split_pem(req["certificateChain"])
    assert [sha256_pem(p) for p in chain[1:]] == \
        [inter2["fingerprint"], inter["fingerprint"], root["fingerprint"]]
    verify(root["certificate"], chain[0], [inter2["certificate"], inter["certificate"]],
           purpose="sslserver")


def test_intermediate_default_validity_and_parent_bound(admin, space):
    ns = fresh(admin, space)
    root = mk_ca(admin, ns)
    inter = mk_ca(admin, ns, parentID=root["ID"])
    assert abs(lifetime_hours(inter["certificate"]) - 43800) < 25
    # Under a short-lived root the default is clipped to the root's own end...
    short = mk_ca(admin, ns, validity="100h")
    clipped = mk_ca(admin, ns, parentID=short["ID"])
    assert not_before_after(clipped["certificate"])[1] <= \
        not_before_after(short["certificate"])[1]
    verify(short["certificate"], clipped["certificate"])
    # ...but an explicit validity beyond the parent's is refused (422 on validity, nothing
    # kept), as a leaf's is beyond its CA's: never a certificate that outlives its issuer.
    n = count(admin, "certificateauthorities", ns)
    r = create(admin, ns, parentID=short["ID"], validity="200h")
    e = assert_error(r, 422)
    assert e["data"]["attribute"] == "validity" and "parent" in e["description"], e
    assert count(admin, "certificateauthorities", ns) == n
    ok = mk_ca(admin, ns, parentID=short["ID"], validity="50h")
    assert abs(lifetime_hours(ok["certificate"]) - 50) < 2


def test_path_length(admin, space):
    ns = fresh(admin, space)
    leafonly = mk_ca(admin, ns, pathLength=0)
    assert "CA:TRUE, pathlen:0" in text_of(leafonly["certificate"])
    assert attr_of(create(admin, ns, parentID=leafonly["ID"])) in ("parentID", "pathLength")
    # ...but it issues leaves
    tpl = mk_template(admin, ns, leafonly["ID"])
    issue(admin, ns, tpl["ID"], csr=make_csr(dns=["pl.test.example"])[0])
    one = mk_ca(admin, ns, pathLength=1)
    assert attr_of(create(admin, ns, parentID=one["ID"], pathLength=1)) in \
        ("parentID", "pathLength")
    inter = mk_ca(admin, ns, parentID=one["ID"], pathLength=0)
    assert "CA:TRUE, pathlen:0" in text_of(inter["certificate"])
    assert attr_of(create(admin, ns, parentID=inter["ID"])) in ("parentID", "pathLength")
    # A child of a CA allowing one level, asking for no limit, gets none past its parent:
    free = mk_ca(admin, ns, parentID=one["ID"])
    assert attr_of(create(admin, ns, parentID=free["ID"])) in ("parentID", "pathLength")


def test_parent_must_be_of_this_namespace_or_an_ancestor(admin, space):
    top = fresh(admin, space)
    child = admin.mkns(top, "child")["name"]
    sibling = admin.mkns(top, "sibling")["name"]
    root = mk_ca(admin, top, usableInSubNamespaces=True)  # an ancestor's CA: it must say so
    inter = mk_ca(admin, child, parentID=root["ID"])
    verify(root["certificate"], inter["certificate"])
    assert attr_of(create(admin, top, parentID=inter["ID"])) == "parentID"  # a descendant's
    assert attr_of(create(admin, sibling, parentID=inter["ID"])) == "parentID"
    assert attr_of(create(admin, top, parentID="0" * 24)) == "parentID"
    assert attr_of(create(admin, top, parentID="not an id")) == "parentID"


def test_a_parent_of_an_ancestor_must_be_usable_in_sub_namespaces(admin, space):
    """parentID follows the rule of a template's certificateAuthorityID: a CA of this
    namespace, or of an ancestor whose usableInSubNamespaces is true. Otherwise a child
    namespace could sign itself an intermediate under its parent's private CA and issue
    from it: 422 on parentID, nothing kept, the same refusal a template gets."""
    top = fresh(admin, space)
    child = admin.mkns(top, "child")["name"]
    grandchild = admin.mkns(child, "gc")["name"]
    private = mk_ca(admin, top)
    shared = mk_ca(admin, top, usableInSubNamespaces=True)
    tpl = admin.post("/issuingtemplates", {"name": "t" + rand(6),
                                           "certificateAuthorityID": private["ID"]}, ns=child)
    assert attr_of(tpl) == "certificateAuthorityID"
    for ns in (child, grandchild):
        n = count(admin, "certificateauthorities", ns)
        r = create(admin, ns, parentID=private["ID"])
        assert attr_of(r) == "parentID"
        assert r.data[0]["description"] == tpl.data[0]["description"], r
        assert count(admin, "certificateauthorities", ns) == n
    inter = mk_ca(admin, grandchild, parentID=shared["ID"])
    verify(shared["certificate"], inter["certificate"])
    mk_ca(admin, top, parentID=private["ID"])  # its own namespace's CA: always


def test_a_ca_of_another_namespace_is_not_found(admin, space):
    a, b = fresh(admin, space), fresh(admin, space)
    ca = mk_ca(admin, a)
    assert_error(admin.get("/certificateauthorities/" + ca["ID"], ns=b), 404)
    assert ca["ID"] not in [x["ID"] for x in admin.list("certificateauthorities", b)]
    assert ca["ID"] in [x["ID"] for x in admin.list("certificateauthorities", a)]


# ---- in the inventory --------------------------------------------------------------------


def test_a_created_ca_is_in_the_inventory(admin, space):
    ns = fresh(admin, space)
    root = mk_ca(admin, ns)
    inter = mk_ca(admin, ns, parentID=root["ID"])
    for ca in (root, inter):
        obj = admin.ok(admin.get("/certificates/" + ca["certificateID"], ns=ns))
        assert obj["fingerprint"] == ca["fingerprint"] and obj["isCA"] is True, obj
        assert obj["source"] == "ISSUED", obj
    got = admin.ok(admin.get("/certificates/" + inter["certificateID"], ns=ns))
    assert got["certificateAuthorityID"] == root["ID"], got
    assert got["issuerCertificateID"] == root["certificateID"], got
    r = admin.get("/certificates/%s/contents" % root["certificateID"], ns=ns)
    assert r.status == 200 and der_of(r.content.decode()) == der_of(root["certificate"])


def test_a_ca_modification_keeps_what_was_created(admin, space):
    ns = fresh(admin, space)
    ca = mk_ca(admin, ns)
    for k, v in (("subject", "CN=Other"), ("keyType", "EC_P384"), ("certificate", "x"),
                 ("fingerprint", "00" * 32)):
        r = admin.put("/certificateauthorities/" + ca["ID"], dict(ca, **{k: v}), ns=ns)
        assert_error(r, 422)
    r = admin.put("/certificateauthorities/" + ca["ID"], dict(ca, disabled=True), ns=ns)
    assert r.status == 200 and r.data["disabled"] is True, r
    assert r.data["certificate"] == ca["certificate"] and r.data["updateTime"] > ca["updateTime"]


# ---- import ------------------------------------------------------------------------------


def test_import(admin, space):
    ns = fresh(admin, space)
    cert_pem, key_pem = make_ca("Imported Issuing CA")
    r = admin.post("/certificateauthorities", {"name": "imp-" + rand(6),
                                               "certificate": cert_pem.decode(),
                                               "privateKey": key_pem.decode()}, ns=ns)
    assert r.status == 200, r
    ca = r.data
    assert b"PRIVATE KEY" not in r.content and "privateKey" not in ca
    assert ca["fingerprint"] == sha256_pem(cert_pem.decode())
    assert der_of(ca["certificate"]) == der_of(cert_pem.decode())
    assert ca["keyType"] == "EC_P256"
    obj = admin.ok(admin.get("/certificates/" + ca["certificateID"], ns=ns))
    assert obj["source"] == "IMPORTED" and obj["fingerprint"] == ca["fingerprint"], obj
    tpl = mk_template(admin, ns, ca["ID"])
    req = issue(admin, ns, tpl["ID"], csr=make_csr(dns=["imp.test.example"])[0])
    verify(cert_pem.decode(), split_pem(req["certificateChain"])[0])
    assert [der_of(p) for p in split_pem(req["certificateChain"])[1:]] == \
        [der_of(cert_pem.decode())]


def test_a_ca_is_imported_once_in_the_whole_console(admin, space):
    # The same certificate and key as two CAs (here or in another tenant) would sign two
    # CRLs of one issuer, each hiding the other's revocations (black-box review): 422
    cert_pem, key_pem = make_ca("Twin CA")
    body = {"certificate": cert_pem.decode(), "privateKey": key_pem.decode()}
    first, other = fresh(admin, space), fresh(admin, space)
    admin.ok(admin.post("/certificateauthorities", dict(body, name="t-" + rand(6)), ns=first))
    for ns in (first, other):
        r = admin.post("/certificateauthorities", dict(body, name="t-" + rand(6)), ns=ns)
        e = assert_error(r, 422)
        assert e["data"]["attribute"] == "certificate" and "imported once" in e["description"]
    assert count(admin, "certificateauthorities", other) == 0


def test_a_ca_key_is_imported_once_whatever_its_certificate(admin, space):
    """A second certificate of one key (another serial, validity, the subject in other
    letter case, no key identifier) is the same issuer to a relying party: its CRL,
    without the first CA's revocations, verified for the first CA's certificates and its
    OCSP responder was authorized for them (black-box review 8). 422, in any tenant."""
    import datetime

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    cn = "Twin Key CA " + rand(6)
    now = datetime.datetime.now(datetime.timezone.utc)

    def cert_of(name, days, ski):
        n = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        b = (x509.CertificateBuilder().subject_name(n).issuer_name(n)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(hours=1))
             .not_valid_after(now + datetime.timedelta(days=days))
             .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True))
        if ski:
            b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                                critical=False)
        return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()

    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    first, other = fresh(admin, space), fresh(admin, space)
    admin.ok(admin.post("/certificateauthorities", {
        "name": "k-" + rand(6), "certificate": cert_of(cn, 365, True), "privateKey": key_pem},
        ns=first))
    for ns, pem in ((other, cert_of(cn, 200, True)), (other, cert_of(cn.upper(), 365, False)),
                    (first, cert_of(cn, 100, True))):
        r = admin.post("/certificateauthorities",
                       {"name": "k-" + rand(6), "certificate": pem, "privateKey": key_pem},
                       ns=ns)
        e = assert_error(r, 422)
        assert e["data"]["attribute"] == "certificate" and "imported once" in e["description"]
    assert count(admin, "certificateauthorities", other) == 0
    assert count(admin, "certificateauthorities", first) == 1


def test_a_ca_that_revoked_certificates_is_deleted_only_with_override(server, admin, space):
    """API.md 7.4: a CA that issued unexpired certificates is deleted only with
    ?override=true, revoked ones included; with it, it goes, alone or with its namespace
    (a conformance review: it stayed 422 even with the override, a rule of our own). Its
    CRL and OCSP go with it: the administrator's call (docs/issuance.md)."""
    ns = fresh(admin, space)
    root = mk_ca(admin, ns)
    inter = mk_ca(admin, ns, parentID=root["ID"])
    req = issue(admin, ns, mk_template(admin, ns, inter["ID"])["ID"],
                csr=make_csr(dns=["gone.test.example"])[0])
    admin.ok(admin.post("/certificates/%s/revocations" % req["certificateID"],
                        {"reason": "keyCompromise"}, ns=ns))
    for tpl in admin.ok(admin.get("/issuingtemplates", ns=ns)):
        admin.ok(admin.delete("/issuingtemplates/" + tpl["ID"], ns=ns))
    assert "?override=true" in assert_error(
        admin.delete("/certificateauthorities/" + inter["ID"], ns=ns), 422)["description"]
    assert public(server, "/pki/%s/crl" % inter["ID"]).status_code == 200
    r = admin.delete("/certificateauthorities/" + inter["ID"], ns=ns, params={"override": "true"})
    assert r.status == 200, r
    assert public(server, "/pki/%s/crl" % inter["ID"]).status_code == 404
    # the root, which signed the intermediate, with its namespace
    nsobj = admin.ok(admin.get("/namespaces", ns=space, params={"q": 'name == "%s"' % ns}))
    assert_error(admin.delete("/namespaces/" + nsobj[0]["ID"], ns=space), 422)
    r = admin.delete("/namespaces/" + nsobj[0]["ID"], ns=space, params={"override": "true"})
    assert r.status == 200, r
    assert public(server, "/pki/%s/crl" % root["ID"]).status_code == 404


def test_import_refusals(admin, space):
    ns = fresh(admin, space)
    n = count(admin, "certificateauthorities", ns)
    cert_pem, key_pem = make_ca("Refused CA")
    _, other_key = make_ca("Other CA")
    leaf = make_cert("leaf.test.example")

    def imp(**body):
        return admin.post("/certificateauthorities", dict({"name": "i-" + rand(6)}, **body),
                          ns=ns)
    r = imp(certificate=cert_pem.decode(), privateKey=other_key.decode())
    assert attr_of(r) == "privateKey"
    assert other_key.decode().splitlines()[1].encode() not in r.content
    assert attr_of(imp(certificate=leaf.pem, privateKey=leaf.key_pem())) == "certificate"
    assert attr_of(imp(certificate=cert_pem.decode())) == "privateKey"
    assert attr_of(imp(certificate=cert_pem.decode(), privateKey="garbage")) == "privateKey"
    assert attr_of(imp(certificate="garbage", privateKey=key_pem.decode())) == "certificate"
    r = imp(certificate=key_pem.decode(), privateKey=key_pem.decode())
    assert attr_of(r) == "certificate"
    assert key_pem.decode().splitlines()[1].encode() not in r.content
    assert count(admin, "certificateauthorities", ns) == n


def ca_cert(key_usage, cn="Imported CA", extra=()):
    """A self-signed CA:TRUE P-256 certificate with `key_usage` (an x509.KeyUsage, or None
    for no keyUsage extension at all) and the (extension, critical) pairs of `extra`:
    (certificate PEM, PKCS#8 key PEM)."""
    import datetime

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "%s %s" % (cn, rand(6)))])
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(hours=1))
         .not_valid_after(now + datetime.timedelta(days=365))
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                        critical=False))
    if key_usage is not None:
        b = b.add_extension(key_usage, critical=True)
    for e, critical in extra:
        b = b.add_extension(e, critical=critical)
    cert = b.sign(key, hashes.SHA256())
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def test_import_of_a_ca_certificate_without_keycertsign(admin, space):
    """A CA:TRUE certificate whose keyUsage lacks keyCertSign may not sign certificates
    (RFC 5280 4.2.1.3): importing it with its own key is 422 on certificate, saying so,
    not a complaint about the (matching) key; nothing is kept. A CA certificate without
    any keyUsage extension (old roots) is imported and issues."""
    ns = fresh(admin, space)
    n = count(admin, "certificateauthorities", ns)
    for ku in (x509.KeyUsage(True, False, False, False, False, False, True, False, False),
               x509.KeyUsage(True, False, False, False, False, False, False, False, False)):
        cert_pem, key_pem = ca_cert(ku)
        r = admin.post("/certificateauthorities", {"name": "nocs-" + rand(6),
                                                   "certificate": cert_pem,
                                                   "privateKey": key_pem}, ns=ns)
        e = assert_error(r, 422)
        assert e["data"]["attribute"] == "certificate", e
        assert "keyCertSign" in e["description"] and "private key" not in e["description"], e
        assert key_pem.splitlines()[1].encode() not in r.content
    assert count(admin, "certificateauthorities", ns) == n
    cert_pem, key_pem = ca_cert(None, "Old Root")
    ca = admin.ok(admin.post("/certificateauthorities", {"name": "old-" + rand(6),
                                                         "certificate": cert_pem,
                                                         "privateKey": key_pem}, ns=ns))
    tpl = mk_template(admin, ns, ca["ID"])
    req = issue(admin, ns, tpl["ID"], csr=make_csr(dns=["old.test.example"])[0])
    verify(cert_pem, split_pem(req["certificateChain"])[0])


def self_signed_ca(key, sign_hash="sha256", not_before=None, cn="Imported CA"):
    """A self-signed CA certificate (CA:TRUE, keyCertSign and cRLSign) of `key` (a
    cryptography private key), starting at `not_before` (an hour ago by default), for a
    year: (certificate PEM, PKCS#8 key PEM)."""
    import datetime

    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    start = not_before or now - datetime.timedelta(hours=1)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "%s %s" % (cn, rand(6)))])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(key, {"sha256": hashes.SHA256(), None: None}[sign_hash]))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def test_import_of_a_key_of_another_type_is_refused(admin, space):
    """A CA is of the six key types of API.md 7.4, imported or made: a review imported
    RSA-1024, P-224, P-521 and Ed448 CAs (keyType "", signing leaves; the Ed448 CA's CRL
    was a 500). 422 on certificate naming the types, nothing kept; the key types of the
    contract are imported (EC_P384 and ED25519 here, EC_P256 in test_import)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    ns = fresh(admin, space)
    n = count(admin, "certificateauthorities", ns)
    for key, sign_hash in ((rsa.generate_private_key(65537, 1024), "sha256"),
                           (ec.generate_private_key(ec.SECP224R1()), "sha256"),
                           (ec.generate_private_key(ec.SECP521R1()), "sha256"),
                           (ec.generate_private_key(ec.SECP256K1()), "sha256"),
                           (ed448.Ed448PrivateKey.generate(), None)):
        cert_pem, key_pem = self_signed_ca(key, sign_hash)
        r = admin.post("/certificateauthorities", {"name": "kt-" + rand(6),
                                                   "certificate": cert_pem,
                                                   "privateKey": key_pem}, ns=ns)
        e = assert_error(r, 422)
        assert e["data"]["attribute"] == "certificate", (key, e)
        assert "EC_P256, EC_P384, RSA_2048, RSA_3072, RSA_4096 or ED25519" in \
            e["description"], e
        assert key_pem.splitlines()[1].encode() not in r.content
    assert count(admin, "certificateauthorities", ns) == n
    for key, sign_hash, key_type in ((ec.generate_private_key(ec.SECP384R1()), "sha256",
                                      "EC_P384"),
                                     (ed25519.Ed25519PrivateKey.generate(), None, "ED25519")):
        cert_pem, key_pem = self_signed_ca(key, sign_hash)
        ca = admin.ok(admin.post("/certificateauthorities", {"name": "kt-" + rand(6),
                                                             "certificate": cert_pem,
                                                             "privateKey": key_pem}, ns=ns))
        assert ca["keyType"] == key_type, ca


def test_import_of_a_ca_not_yet_valid_is_refused(admin, space):
    """A CA certificate that starts later would sign leaves no relying party verifies
    until it does (a review: openssl verify "certificate is not yet valid"): 422 on
    certificate, as an expired one is, nothing kept."""
    import datetime

    from cryptography.hazmat.primitives.asymmetric import ec

    ns = fresh(admin, space)
    n = count(admin, "certificateauthorities", ns)
    later = utcnow() + datetime.timedelta(days=10)
    cert_pem, key_pem = self_signed_ca(ec.generate_private_key(ec.SECP256R1()),
                                       not_before=later)
    r = admin.post("/certificateauthorities", {"name": "later-" + rand(6),
                                               "certificate": cert_pem,
                                               "privateKey": key_pem}, ns=ns)
    e = assert_error(r, 422)
    assert e["data"]["attribute"] == "certificate" and "not valid yet" in e["description"], e
    assert count(admin, "certificateauthorities", ns) == n


def test_no_private_key_in_answers_lists_or_audit(admin, space):
    ns = fresh(admin, space)
    cert_pem, key_pem = make_ca("Audited CA")
    key_line = key_pem.decode().splitlines()[1]
    answers = [admin.post("/certificateauthorities", {
        "name": "aud-imp", "certificate": cert_pem.decode(), "privateKey": key_pem.decode()},
        ns=ns)]
    for kt in ("EC_P256", "RSA_2048", "ED25519"):
        answers.append(create(admin, ns, key_type=kt))
    assert all(a.status == 200 for a in answers), answers
    ids = [a.data["ID"] for a in answers]
    answers.append(admin.get("/certificateauthorities", ns=ns))
    answers.append(admin.get("/certificateauthorities", ns=ns, accept="text/csv"))
    answers.append(admin.get("/certificateauthorities", ns=ns, fmt="msgpack"))
    answers += [admin.get("/certificateauthorities/" + i, ns=ns) for i in ids]
    for _ in range(50):  # entries may be written just after the answer
        audit = admin.get("/auditlogs", ns=ns, params={"pageSize": "0"})
        if audit.status != 200 or len([e for e in audit.data if e.get(
                "identity") == "certificateauthority"]) >= 4:
            break
        time.sleep(0.05)
    answers.append(audit)
    for a in answers:
        assert a.status == 200, a
        assert b"PRIVATE KEY" not in a.content and b"privateKey" not in a.content, a
        assert key_line.encode() not in a.content, a
    audit = answers[-1].data
    assert len([e for e in audit if e.get("identity") == "certificateauthority"]) >= 4, audit


def test_ca_keys_are_sealed_at_rest(start_server):
    s = start_server(config={"login_failures_per_address_max": 0})
    c = s.admin()
    cert_pem, key_pem = make_ca("Sealed CA")
    c.ok(c.post("/certificateauthorities", {"name": "sealed", "certificate": cert_pem.decode(),
                                            "privateKey": key_pem.decode()}, ns="/"))
    key = serialization.load_pem_private_key(key_pem, None)
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    at_rest = s.store_bytes()
    assert scalar not in at_rest and pkcs8 not in at_rest
    assert key_pem.decode().splitlines()[1].encode() not in at_rest
    assert base64.b64encode(scalar) not in at_rest


# ---- the CA's own policy -----------------------------------------------------------------


def test_name_constraints_are_written_into_intermediates(admin, space):
    ns = fresh(admin, space)
    root = mk_ca(admin, ns, permittedDNSDomains=["example.com"],
                 excludedDNSDomains=["bad.example.com"], permittedIPRanges=["192.0.2.0/24"])
    inter = mk_ca(admin, ns, parentID=root["ID"])
    text = text_of(inter["certificate"])
    nc = ext(inter["certificate"], x509.NameConstraints)
    assert nc is not None and nc.critical, text
    assert "X509v3 Name Constraints: critical" in text
    assert [n.value for n in nc.value.permitted_subtrees if isinstance(n, x509.DNSName)] == \
        ["example.com"], text
    assert [n.value for n in nc.value.excluded_subtrees if isinstance(n, x509.DNSName)] == \
        ["bad.example.com"], text
    assert [str(n.value) for n in nc.value.permitted_subtrees
            if isinstance(n, x509.IPAddress)] == ["192.0.2.0/24"], text
    # The intermediate is bound by its parent's policy too: what the constraints forbid,
    # it does not issue (a relying party would refuse the certificate).
    tpl = mk_template(admin, ns, inter["ID"], sanDNSNameRegexes=[".*"],
                      sanIPAddressRegexes=[".*"])
    refused_and_kept(admin, ns, request(admin, ns, tpl["ID"], csr=make_csr(
        cn="a.example.com", dns=["evil.org"])[0]), "csr.dnsNames")
    req = issue(admin, ns, tpl["ID"], csr=make_csr(cn="a.example.com", dns=["a.example.com"],
                                                  ips=["192.0.2.5"])[0])
    verify(root["certificate"], split_pem(req["certificateChain"])[0], [inter["certificate"]])


@pytest.fixture(scope="module")
def constrained(admin, space):
    ns = fresh(admin, space)
    ca = mk_ca(admin, ns, permittedDNSDomains=["example.com"],
               excludedDNSDomains=["bad.example.com"], permittedIPRanges=["192.0.2.0/24"])
    tpl = mk_template(admin, ns, ca["ID"], subjectCNRegexes=[".*"], sanDNSNameRegexes=[".*"],
                      sanIPAddressRegexes=[".*"])
    return ns, ca, tpl


@pytest.mark.parametrize("names", [["a.example.com"], ["example.com"],
                                   ["a.b.example.com", "www.example.com"]])
def test_ca_policy_permits(admin, constrained, names):
    ns, ca, tpl = constrained
    req = issue(admin, ns, tpl["ID"], csr=make_csr(cn=names[0], dns=names)[0])
    leaf = split_pem(req["certificateChain"])[0]
    assert load(leaf).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == names


@pytest.mark.parametrize("names", [["evil.org"], ["notexample.com"], ["example.com.evil.org"],
                                   ["a.example.com", "evil.org"], ["bad.example.com"],
                                   ["x.bad.example.com"]])
def test_ca_policy_refuses_dns_names(admin, constrained, names):
    ns, ca, tpl = constrained
    n = count(admin, "certificates", ns)
    r = request(admin, ns, tpl["ID"], csr=make_csr(cn="a.example.com", dns=names)[0])
    refused_and_kept(admin, ns, r, "csr.dnsNames")
    r = request(admin, ns, tpl["ID"], attrs={"commonName": "a.example.com", "dnsNames": names,
                                             "keyType": "EC_P256"})
    refused_and_kept(admin, ns, r, "csrAttributes.dnsNames")
    assert count(admin, "certificates", ns) == n


@pytest.mark.parametrize("cn,names,attribute", [
    ("a.example.com", ["*.example.com"], "dnsNames"),
    ("a.example.com", ["a.example.com", "*.example.com"], "dnsNames"),
    ("*.example.com", [], "commonName"),
    ("b*.example.com", [], "commonName"),
])
def test_ca_policy_refuses_wildcards_that_match_an_excluded_host(admin, constrained, cn, names,
                                                                attribute):
    """*.example.com names bad.example.com for every TLS client (RFC 6125 6.4.3), and
    OpenSSL's host check takes b*.example.com for it too, though X.509 compares the names
    as text and lets both pass bad.example.com's exclusion: the CA's policy refuses them,
    as a SAN and as a common name, however the request is made."""
    ns, ca, tpl = constrained
    n = count(admin, "certificates", ns)
    csr = make_csr(cn=cn, dns=names)[0]
    e, _ = refused_and_kept(admin, ns, request(admin, ns, tpl["ID"], csr=csr))
    assert e["data"]["attribute"] in ("csr." + attribute, "csr.dnsNames"), e
    if names:
        r = request(admin, ns, tpl["ID"], attrs={"commonName": cn, "dnsNames": names,
                                                 "keyType": "EC_P256"})
        refused_and_kept(admin, ns, r, "csrAttributes.dnsNames")
    assert count(admin, "certificates", ns) == n


@pytest.mark.parametrize("names", [["*.a.example.com"], ["*.www.example.com", "a.example.com"]])
def test_ca_policy_issues_wildcards_that_match_no_excluded_host(admin, constrained, names):
    """A wildcard none of whose hosts is in the excluded subtree is issued."""
    ns, ca, tpl = constrained
    req = issue(admin, ns, tpl["ID"], csr=make_csr(cn=names[-1], dns=names)[0])
    leaf = split_pem(req["certificateChain"])[0]
    assert load(leaf).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == names


def test_a_partial_wildcard_common_name_is_judged_but_not_made_a_san(admin, constrained):
    """b*.a.example.com names no excluded host and is issued; as a partial wildcard it is
    not a name a SAN may carry, so it is not copied into one (a "*." name is)."""
    ns, ca, tpl = constrained
    req = issue(admin, ns, tpl["ID"], csr=make_csr(cn="b*.a.example.com")[0])
    leaf = load(split_pem(req["certificateChain"])[0])
    with pytest.raises(x509.ExtensionNotFound):
        leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    req = issue(admin, ns, tpl["ID"], csr=make_csr(cn="*.a.example.com")[0])
    leaf = load(split_pem(req["certificateChain"])[0])
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
        .get_values_for_type(x509.DNSName) == ["*.a.example.com"]


def test_ca_policy_ip_ranges(admin, constrained):
    ns, ca, tpl = constrained
    issue(admin, ns, tpl["ID"], csr=make_csr(cn="a.example.com", ips=["192.0.2.77"])[0])
    r = request(admin, ns, tpl["ID"], csr=make_csr(cn="a.example.com",
                                                   ips=["198.51.100.1"])[0])
    refused_and_kept(admin, ns, r, "csr.ipAddresses")
    r = request(admin, ns, tpl["ID"], csr=make_csr(cn="a.example.com", ips=["2001:db8::1"])[0])
    refused_and_kept(admin, ns, r, "csr.ipAddresses")


@pytest.mark.parametrize("ranges,outside,inside", [
    (["10.0.0.0/8"], ["::ffff:10.0.0.1"], ["10.0.0.1"]),
    (["::/0"], ["10.0.0.1"], ["2001:db8::1", "::ffff:10.0.0.1"]),
    (["0.0.0.0/0"], ["::ffff:1.2.3.4", "2001:db8::1"], ["1.2.3.4"]),
])
def test_ca_policy_ip_ranges_hold_addresses_of_their_own_family(admin, space, ranges, outside,
                                                                inside):
    """X.509 compares an iPAddress only with a range of its own length (RFC 5280 4.2.1.10;
    OpenSSL's nc_ip): ::ffff:10.0.0.1 is a 16-byte IPv6 address, outside 10.0.0.0/8, and
    10.0.0.1 is outside ::/0. The CA's policy judges so too: refused on a template of the
    CA itself (its certificate carries no constraint), and what it issues through an
    intermediate carrying the range as a name constraint, openssl verify accepts."""
    ns = fresh(admin, space)
    root = mk_ca(admin, ns, permittedIPRanges=ranges)
    inter = mk_ca(admin, ns, parentID=root["ID"])
    for ca in (root, inter):
        tpl = mk_template(admin, ns, ca["ID"], sanIPAddressRegexes=[".*"])
        for ip in outside:
            r = request(admin, ns, tpl["ID"], attrs={"commonName": "ip", "ipAddresses": [ip],
                                                     "keyType": "EC_P256"})
            refused_and_kept(admin, ns, r, "csrAttributes.ipAddresses")
        for ip in inside:
            req = issue(admin, ns, tpl["ID"], attrs={"commonName": "ip", "ipAddresses": [ip],
                                                     "keyType": "EC_P256"})
            verify(root["certificate"], split_pem(req["certificateChain"])[0],
                   split_pem(req["certificateChain"])[1:-1])


@pytest.mark.parametrize("cn", ["a_b.bad.example.com", "_x.bad.example.com", "a_b.other.org",
                                "*.bad.example.com"])
def test_ca_policy_holds_common_names_openssl_takes_for_dns_names(admin, constrained, cn):
    """A common name is held to the DNS constraints when OpenSSL takes it for a DNS name
    (cn2dnsid, v3_ncons.c: letters, digits, '_', inner '-' and '.', two labels or more),
    '_' included; a wildcard one too (OpenSSL's host name check honours it)."""
    ns, ca, tpl = constrained
    r = request(admin, ns, tpl["ID"], attrs={"commonName": cn, "keyType": "EC_P256"})
    refused_and_kept(admin, ns, r, "csrAttributes.commonName")


@pytest.mark.parametrize("cn", ["bad_example", "a..bad.example.com", "my host.bad.example.com"])
def test_ca_policy_leaves_common_names_that_openssl_does_not_take_for_dns_names(
        admin, constrained, cn):
    ns, ca, tpl = constrained
    issue(admin, ns, tpl["ID"], attrs={"commonName": cn, "keyType": "EC_P256"})


def test_ca_policy_lists_are_checked_when_written(admin, space):
    """A range with address bits past its prefix, or a domain that is none (empty, a
    wildcard, a label over 63 characters), could never be written as a name constraint: refused on create and on PUT (422 on that list, the
    range meant said), not later at every intermediate's creation. A bare address is a
    /32 (or /128)."""
    ns = fresh(admin, space)
    ca = mk_ca(admin, ns)
    n = count(admin, "certificateauthorities", ns)
    for body, attribute, meant in (
            ({"permittedIPRanges": ["10.0.0.1/8"]}, "permittedIPRanges", "10.0.0.0/8"),
            ({"permittedIPRanges": ["2001:db8::1/32"]}, "permittedIPRanges", "2001:db8::/32"),
            ({"excludedDNSDomains": [""]}, "excludedDNSDomains", None),
            ({"permittedDNSDomains": ["example.com", ""]}, "permittedDNSDomains", None),
            # A review: a wildcard, or a label over 63, was written into intermediates
            # (after which only the literal "*.example" could be issued).
            ({"permittedDNSDomains": ["*.example"]}, "permittedDNSDomains", "*.example"),
            ({"permittedDNSDomains": ["a" * 64 + ".example"]}, "permittedDNSDomains", None),
            ({"excludedDNSDomains": ["-x.example"]}, "excludedDNSDomains", None),
            ({"excludedDNSDomains": ["a..example"]}, "excludedDNSDomains", None),
            ({"permittedDNSDomains": [("a" * 60 + ".") * 5 + "ex"]}, "permittedDNSDomains",
             "253")):
        for r in (create(admin, ns, **body),
                  admin.put("/certificateauthorities/" + ca["ID"], dict(ca, **body), ns=ns)):
            e = assert_error(r, 422)
            assert e["data"]["attribute"] == attribute, e
            assert meant is None or meant in e["description"], e
    assert count(admin, "certificateauthorities", ns) == n
    got = admin.ok(admin.get("/certificateauthorities/" + ca["ID"], ns=ns))
    assert got["updateTime"] == ca["updateTime"], got
    top = mk_ca(admin, ns, permittedIPRanges=["192.0.2.7", "10.0.0.0/8"],
                permittedDNSDomains=["example.com"])
    inter = mk_ca(admin, ns, parentID=top["ID"])
    assert "IP:192.0.2.7/255.255.255.255" in text_of(inter["certificate"])


# ---- the constraints written in the chain's certificates ------------------------------------


def verify_refuses(root_pem, leaf_pem, intermediates=()):
    """`openssl verify` of a certificate that must fail: its output."""
    d = tmpdir()
    args = ["verify", "-CAfile", write(d, "root.pem", root_pem)]
    if intermediates:
        args += ["-untrusted", write(d, "inter.pem", "".join(intermediates))]
    r = openssl(*(args + [write(d, "leaf.pem", leaf_pem)]), check=False)
    assert r.returncode != 0, r.stdout
    return r.stdout + r.stderr


def test_constraints_in_the_chain_bind_after_the_policy_is_emptied(admin, space):
    """An intermediate's certificate keeps the name constraints its parent's policy wrote
    into it; relying parties judge a leaf by them, whatever the parent's policy lists say
    now. Emptied lists therefore free nothing: a leaf outside the constraints of a
    certificate of its chain is refused (422 naming the attribute, kept FAILED), as
    `openssl verify` would refuse it; what they allow still issues and verifies."""
    ns = fresh(admin, space)
    root = mk_ca(admin, ns, subject="CN=NC Root")
    pol = mk_ca(admin, ns, parentID=root["ID"], subject="CN=NC Policy",
                permittedDNSDomains=["example.com"], excludedDNSDomains=["bad.example.com"],
                permittedIPRanges=["10.0.0.0/8"])
    iss = mk_ca(admin, ns, parentID=pol["ID"], subject="CN=NC Issuing")
    assert "DNS:example.com" in text_of(iss["certificate"])
    tpl = mk_template(admin, ns, iss["ID"], sanIPAddressRegexes=[".*"])
    r = admin.put("/certificateauthorities/" + pol["ID"], dict(
        pol, permittedDNSDomains=[], excludedDNSDomains=[], permittedIPRanges=[]), ns=ns)
    assert r.status == 200 and not r.data.get("permittedDNSDomains"), r
    n = count(admin, "certificates", ns)
    for attrs, attribute in (
            ({"commonName": "other.org", "dnsNames": ["other.org"]}, "dnsNames"),
            ({"commonName": "other.org"}, "commonName"),
            ({"commonName": "a_b.other.org"}, "commonName"),
            ({"commonName": "x", "dnsNames": ["x.bad.example.com"]}, "dnsNames"),
            # *.example.com names bad.example.com for a client; X.509 lets it pass as text
            ({"commonName": "x", "dnsNames": ["*.example.com"]}, "dnsNames"),
            ({"commonName": "*.example.com"}, "commonName"),
            ({"commonName": "x", "ipAddresses": ["192.0.2.1"]}, "ipAddresses")):
        r = request(admin, ns, tpl["ID"], attrs=dict(attrs, keyType="EC_P256"))
        _, got = refused_and_kept(admin, ns, r, "csrAttributes." + attribute)
        assert iss["name"] in got["failureReason"], got
        assert "subtree violation" in got["failureReason"], got
    r = request(admin, ns, tpl["ID"], csr=make_csr(cn="www.example.com", dns=["other.org"])[0])
    refused_and_kept(admin, ns, r, "csr.dnsNames")
    assert count(admin, "certificates", ns) == n
    chain = [iss["certificate"], pol["certificate"]]
    for attrs in ({"commonName": "a.example.com", "dnsNames": ["a.example.com"],
                   "ipAddresses": ["10.1.2.3"]}, {"commonName": "my server"},
                  {"commonName": "other"}):
        req = issue(admin, ns, tpl["ID"], attrs=dict(attrs, keyType="EC_P256"))
        verify(root["certificate"], split_pem(req["certificateChain"])[0], chain)


def constrained_import(admin, ns, nc, cn="Constrained Import"):
    """A CA imported with its key, its certificate carrying name constraints `nc`
    (critical): (the CA object, certificate PEM, key PEM)."""
    ku = x509.KeyUsage(True, False, False, False, False, True, True, False, False)
    cert_pem, key_pem = ca_cert(ku, cn, extra=[(nc, True)])
    ca = admin.ok(admin.post("/certificateauthorities", {
        "name": "nc-" + rand(6), "certificate": cert_pem, "privateKey": key_pem}, ns=ns))
    return ca, cert_pem, key_pem


def leaf_signed_by(ca_pem, key_pem, dns):
    """A leaf for DNS name `dns` signed with a CA's key outside the console: PEM."""
    import datetime

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca, key = load(ca_pem), serialization.load_pem_private_key(key_pem.encode(), None)
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns)]))
            .issuer_name(ca.subject).public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_an_imported_cas_own_name_constraints_bind_what_it_issues(admin, space):
    """An imported CA whose certificate says nameConstraints permitted DNS:example.com
    issues nothing outside example.com, as OpenSSL would refuse it (its verdict and
    error are the refusal's). Its policy lists stay the console's own, empty: the
    certificate's constraints apply on top of them (docs/issuance.md)."""
    ns = fresh(admin, space)
    nc = x509.NameConstraints(permitted_subtrees=[x509.DNSName("example.com")],
                              excluded_subtrees=None)
    ca, cert_pem, key_pem = constrained_import(admin, ns, nc)
    assert not ca.get("permittedDNSDomains"), ca
    tpl = mk_template(admin, ns, ca["ID"])
    r = request(admin, ns, tpl["ID"], csr=make_csr(cn="www.other.org", dns=["www.other.org"])[0])
    _, got = refused_and_kept(admin, ns, r, "csr.dnsNames")
    assert "permitted subtree violation" in got["failureReason"], got
    r = request(admin, ns, tpl["ID"], attrs={"commonName": "www.other.org", "keyType": "EC_P256"})
    refused_and_kept(admin, ns, r, "csrAttributes.commonName")
    out = verify_refuses(cert_pem, leaf_signed_by(cert_pem, key_pem, "www.other.org"))
    assert "permitted subtree violation" in out, out
    req = issue(admin, ns, tpl["ID"], csr=make_csr(cn="www.example.com",
                                                  dns=["www.example.com"])[0])
    verify(cert_pem, split_pem(req["certificateChain"])[0])


def test_an_intermediate_outside_the_chains_constraints_is_refused(admin, space):
    """The chain's constraints bind intermediates too: under a CA whose certificate
    permits the directory name O=Acme only, an intermediate whose subject is outside is
    refused (422 on subject, nothing kept) rather than made into a chain OpenSSL
    rejects; one inside is made, and its leaves are judged by the same constraint."""
    from cryptography.x509.oid import NameOID
    ns = fresh(admin, space)
    acme = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme")])
    nc = x509.NameConstraints(permitted_subtrees=[x509.DirectoryName(acme)],
                              excluded_subtrees=None)
    ca, cert_pem, _ = constrained_import(admin, ns, nc)
    n = count(admin, "certificateauthorities", ns)
    e = assert_error(create(admin, ns, parentID=ca["ID"], subject="CN=Rogue CA,O=Other"), 422)
    assert e["data"]["attribute"] == "subject" and "subtree violation" in e["description"], e
    assert count(admin, "certificateauthorities", ns) == n
    inter = mk_ca(admin, ns, parentID=ca["ID"], subject="CN=Acme Issuing,O=Acme")
    verify(cert_pem, inter["certificate"])
    tpl = mk_template(admin, ns, inter["ID"], subjectORegexes=[".*"])
    req = issue(admin, ns, tpl["ID"], attrs={"commonName": "www.acme.test",
                                             "organization": "Acme", "keyType": "EC_P256"})
    verify(cert_pem, split_pem(req["certificateChain"])[0], [inter["certificate"]])
    r = request(admin, ns, tpl["ID"], attrs={"commonName": "www.acme.test",
                                             "keyType": "EC_P256"})
    refused_and_kept(admin, ns, r, "csrAttributes.subject")


def test_a_ca_whose_certificate_is_revoked_signs_nothing(server, admin, space):
    """Once its certificate is revoked (by its parent), a CA issues nothing and signs no
    intermediate, and neither do the CAs below it: 422 on issuingTemplateID (kept
    FAILED) or parentID, as for a disabled CA. Its CRL and OCSP go on; the CA reads
    revocationTime and revocationReason, server-maintained (a PUT of the object as read
    before goes through and keeps them)."""
    ns = fresh(admin, space)
    root = mk_ca(admin, ns)
    inter = mk_ca(admin, ns, parentID=root["ID"])
    sub = mk_ca(admin, ns, parentID=inter["ID"])
    tpls = {ca["ID"]: mk_template(admin, ns, ca["ID"]) for ca in (root, inter, sub)}
    issue(admin, ns, tpls[sub["ID"]]["ID"], csr=make_csr(dns=["before.test.example"])[0])
    r = admin.post("/certificates/%s/revocations" % inter["certificateID"],
                   {"reason": "cACompromise"}, ns=ns)
    assert r.status == 200, r
    n = count(admin, "certificates", ns)
    for ca in (inter, sub):
        for kw in ({"csr": make_csr(dns=["after.test.example"])[0]},
                   {"attrs": {"commonName": "x", "keyType": "EC_P256"}}):
            r = request(admin, ns, tpls[ca["ID"]]["ID"], **kw)
            _, failed = refused_and_kept(admin, ns, r, "issuingTemplateID")
            assert "revoked" in failed["failureReason"], failed
        e = assert_error(create(admin, ns, parentID=ca["ID"]), 422)
        assert e["data"]["attribute"] == "parentID" and "revoked" in e["description"], e
    assert count(admin, "certificates", ns) == n
    got = admin.ok(admin.get("/certificateauthorities/" + inter["ID"], ns=ns))
    assert got["revocationReason"] == "cACompromise" and got["revocationTime"], got
    assert got["updateTime"] == inter["updateTime"], got
    assert not admin.ok(admin.get("/certificateauthorities/" + sub["ID"], ns=ns)).get(
        "revocationTime")
    issue(admin, ns, tpls[root["ID"]]["ID"], csr=make_csr(dns=["root.test.example"])[0])
    mk_ca(admin, ns, parentID=root["ID"])
    for ca in (inter, sub):
        crl = public(server, "/pki/%s/crl" % ca["ID"])
        assert crl.status_code == 200 and crl.headers["Content-Type"] == "application/pkix-crl"
        x509.load_der_x509_crl(crl.content)
    r = admin.put("/certificateauthorities/" + inter["ID"], dict(inter, description="kept"),
                  ns=ns)
    assert r.status == 200 and r.data["revocationTime"] == got["revocationTime"], r
    r = request(admin, ns, tpls[inter["ID"]]["ID"], csr=make_csr(dns=["put.test.example"])[0])
    refused_and_kept(admin, ns, r, "issuingTemplateID")


def test_disabled_ca_issues_nothing_but_still_answers(server, admin, space):
    ns = fresh(admin, space)
    ca = mk_ca(admin, ns)
    tpl = mk_template(admin, ns, ca["ID"])
    issue(admin, ns, tpl["ID"], csr=make_csr(dns=["before.test.example"])[0])
    r = admin.put("/certificateauthorities/" + ca["ID"], dict(ca, disabled=True), ns=ns)
    assert r.status == 200 and r.data["disabled"] is True, r
    n = count(admin, "certificates", ns)
    refused_and_kept(admin, ns, request(admin, ns, tpl["ID"], csr=make_csr(
        dns=["after.test.example"])[0]), "issuingTemplateID")
    refused_and_kept(admin, ns, request(admin, ns, tpl["ID"], attrs={
        "commonName": "x", "keyType": "EC_P256", "dnsNames": ["x.test.example"]}),
        "issuingTemplateID")
    assert count(admin, "certificates", ns) == n
    crl = public(server, "/pki/%s/crl" % ca["ID"])
    assert crl.status_code == 200 and crl.headers["Content-Type"] == "application/pkix-crl"
    assert public(server, "/pki/%s/ca.pem" % ca["ID"]).status_code == 200
    off = mk_ca(admin, ns, disabled=True)
    assert off["disabled"] is True
    r = admin.put("/certificateauthorities/" + ca["ID"], dict(r.data, disabled=False), ns=ns)
    assert r.status == 200, r
    issue(admin, ns, tpl["ID"], csr=make_csr(dns=["again.test.example"])[0])


def test_a_disabled_ca_stops_the_cas_below_it(admin, space):
    # A parent that disables its root means no more certificates under it: the intermediate
    # a sub-namespace made under the root issues nothing and gets no CA below it, as when
    # the root is revoked (docs/issuance.md; a black-box review saw the intermediate go on).
    top = fresh(admin, space)
    sub = admin.mkns(top, "sub")["name"]
    root = mk_ca(admin, top, usableInSubNamespaces=True)
    inter = mk_ca(admin, sub, parentID=root["ID"])
    tpl = mk_template(admin, sub, inter["ID"])
    issue(admin, sub, tpl["ID"], csr=make_csr(dns=["before.test.example"])[0])
    r = admin.put("/certificateauthorities/" + root["ID"], dict(root, disabled=True), ns=top)
    assert r.status == 200, r
    n = count(admin, "certificates", sub)
    _, got = refused_and_kept(admin, sub, request(admin, sub, tpl["ID"], csr=make_csr(
        dns=["after.test.example"])[0]), "issuingTemplateID")
    assert "disabled" in got["failureReason"], got
    assert count(admin, "certificates", sub) == n
    r = admin.post("/certificateauthorities", ca_body(parentID=inter["ID"]), ns=sub)
    assert attr_of(r) == "parentID", r
    r = admin.put("/certificateauthorities/" + root["ID"], dict(r_now(admin, root, top),
                                                                 disabled=False), ns=top)
    assert r.status == 200, r
    issue(admin, sub, tpl["ID"], csr=make_csr(dns=["again.test.example"])[0])


def r_now(admin, obj, ns):
    return admin.ok(admin.get("/certificateauthorities/" + obj["ID"], ns=ns))


def test_sub_namespace_templates(admin, space):
    top = fresh(admin, space)
    child = admin.mkns(top, "child")["name"]
    grandchild = admin.mkns(child, "gc")["name"]
    private = mk_ca(admin, top)
    shared = mk_ca(admin, top, usableInSubNamespaces=True)
    assert private["usableInSubNamespaces"] is False and shared["usableInSubNamespaces"] is True
    for ns in (child, grandchild):
        r = admin.post("/issuingtemplates", {"name": "t" + rand(6),
                                             "certificateAuthorityID": private["ID"],
                                             "sanDNSNameRegexes": [".*"]}, ns=ns)
        assert attr_of(r) == "certificateAuthorityID"
    tpl = mk_template(admin, grandchild, shared["ID"])
    req = issue(admin, grandchild, tpl["ID"], csr=make_csr(dns=["sub.test.example"])[0])
    obj = admin.ok(admin.get("/certificates/" + req["certificateID"], ns=grandchild))
    assert obj["certificateAuthorityID"] == shared["ID"] and obj["source"] == "ISSUED"
    # A template cannot be moved onto a CA it may not name.
    r = admin.put("/issuingtemplates/" + tpl["ID"], dict(tpl, certificateAuthorityID=private[
        "ID"]), ns=grandchild)
    assert attr_of(r) == "certificateAuthorityID"
    # A CA of a descendant or a sibling is never usable, whatever it says.
    sub = mk_ca(admin, child, usableInSubNamespaces=True)
    sibling = admin.mkns(top, "sib")["name"]
    for ns in (top, sibling):
        r = admin.post("/issuingtemplates", {"name": "t" + rand(6),
                                             "certificateAuthorityID": sub["ID"]}, ns=ns)
        assert attr_of(r) == "certificateAuthorityID"


def test_a_ca_withdrawn_from_sub_namespaces_stops_the_intermediates_made_below(admin, space):
    """An intermediate a sub-namespace made under its parent's shared CA stops with the
    sharing: usableInSubNamespaces set back to false, its templates' requests are refused
    (422 on issuingTemplateID, kept FAILED) and no intermediate can be made under it, as
    with disabled; the parent's own intermediates go on. Shared again, it issues again (a
    black-box review found the withdrawal reached only templates naming the CA itself)."""
    top = fresh(admin, space)
    sub = admin.mkns(top, "sub")["name"]
    root = mk_ca(admin, top, usableInSubNamespaces=True)
    own = mk_ca(admin, top, parentID=root["ID"])
    theirs = mk_ca(admin, sub, parentID=root["ID"])
    tpl, own_tpl = mk_template(admin, sub, theirs["ID"]), mk_template(admin, top, own["ID"])
    issue(admin, sub, tpl["ID"], csr=make_csr(dns=["before.test.example"])[0])
    r = admin.put("/certificateauthorities/" + root["ID"],
                  dict(root, usableInSubNamespaces=False), ns=top)
    assert r.status == 200, r
    r = request(admin, sub, tpl["ID"], csr=make_csr(dns=["after.test.example"])[0])
    _, got = refused_and_kept(admin, sub, r, "issuingTemplateID")
    assert "usableInSubNamespaces" in got["failureReason"], got
    r = admin.post("/certificateauthorities", ca_body(parentID=theirs["ID"]), ns=sub)
    assert attr_of(r) == "parentID", r
    issue(admin, top, own_tpl["ID"], csr=make_csr(dns=["own.test.example"])[0])
    now = admin.ok(admin.get("/certificateauthorities/" + root["ID"], ns=top))
    r = admin.put("/certificateauthorities/" + root["ID"],
                  dict(now, usableInSubNamespaces=True), ns=top)
    assert r.status == 200, r
    issue(admin, sub, tpl["ID"], csr=make_csr(dns=["again.test.example"])[0])


def test_a_ca_withdrawn_from_sub_namespaces_refuses_and_keeps_the_request(admin, space):
    """usableInSubNamespaces is part of the CA's own policy (API.md 7.4): set back to false
    after a template below named the CA, the template's requests are refused 422 on
    issuingTemplateID and kept FAILED with failureReason, as the other CA-policy refusals
    are; nothing is issued. Set to true again, the same template issues."""
    top = fresh(admin, space)
    sub = admin.mkns(top, "sub")["name"]
    ca = mk_ca(admin, top, usableInSubNamespaces=True)
    tpl = mk_template(admin, sub, ca["ID"])
    issue(admin, sub, tpl["ID"], csr=make_csr(dns=["before.test.example"])[0])
    r = admin.put("/certificateauthorities/" + ca["ID"], dict(ca, usableInSubNamespaces=False),
                  ns=top)
    assert r.status == 200 and r.data["usableInSubNamespaces"] is False, r
    n, kept = count(admin, "certificates", sub), count(admin, "certificaterequests", sub)
    r = request(admin, sub, tpl["ID"], csr=make_csr(dns=["after.test.example"])[0])
    _, got = refused_and_kept(admin, sub, r, "issuingTemplateID")
    assert "usableInSubNamespaces" in got["failureReason"], got
    r = request(admin, sub, tpl["ID"], attrs={"commonName": "x", "keyType": "EC_P256",
                                              "dnsNames": ["x.test.example"]})
    e, _ = refused_and_kept(admin, sub, r, "issuingTemplateID")
    assert "privateKey" not in str(e)
    assert count(admin, "certificates", sub) == n
    assert count(admin, "certificaterequests", sub) == kept + 2
    now = admin.ok(admin.get("/certificateauthorities/" + ca["ID"], ns=top))
    r = admin.put("/certificateauthorities/" + ca["ID"], dict(now, usableInSubNamespaces=True),
                  ns=top)
    assert r.status == 200, r
    issue(admin, sub, tpl["ID"], csr=make_csr(dns=["again.test.example"])[0])


# ---- deletion ----------------------------------------------------------------------------


def test_delete_needs_override_once_it_issued(server, admin, space):
    ns = fresh(admin, space)
    unused = mk_ca(admin, ns)
    r = admin.delete("/certificateauthorities/" + unused["ID"], ns=ns)
    assert r.status == 200 and r.data["ID"] == unused["ID"] and b"PRIVATE KEY" not in r.content
    ca = mk_ca(admin, ns)
    tpl = mk_template(admin, ns, ca["ID"])
    issue(admin, ns, tpl["ID"], csr=make_csr(dns=["del.test.example"])[0])
    assert_error(admin.delete("/certificateauthorities/" + ca["ID"], ns=ns), 422)
    assert admin.get("/certificateauthorities/" + ca["ID"], ns=ns).status == 200
    r = admin.delete("/certificateauthorities/" + ca["ID"], ns=ns, params={"override": "true"})
    assert r.status == 200, r
    assert_error(admin.get("/certificateauthorities/" + ca["ID"], ns=ns), 404)
    assert public(server, "/pki/%s/ca.pem" % ca["ID"]).status_code == 404
    assert_error(request(admin, ns, tpl["ID"], csr=make_csr(dns=["gone.test.example"])[0]),
                 422)


def test_a_ca_whose_intermediate_ca_was_deleted_still_needs_override(admin, space):
    # The intermediate signed nothing, so its CA deletes without override; its certificate,
    # signed by the root, stays in the inventory and relying parties still check it: the
    # root is protected as long as it has not expired (docs/issuance.md; a black-box review
    # deleted the root without override).
    ns = fresh(admin, space)
    root = mk_ca(admin, ns)
    inter = mk_ca(admin, ns, parentID=root["ID"])
    assert admin.delete("/certificateauthorities/" + inter["ID"], ns=ns).status == 200
    cert = admin.ok(admin.get("/certificates/" + inter["certificateID"], ns=ns))
    assert cert["status"] == "ACTIVE", cert
    assert_error(admin.delete("/certificateauthorities/" + root["ID"], ns=ns), 422)
    r = admin.delete("/certificateauthorities/" + root["ID"], ns=ns, params={"override": "true"})
    assert r.status == 200, r


def forged_by(ca_pem, cn="forged.test.example"):
    """A leaf naming the CA as its issuer (its subject and key identifier), signed by
    another key: what anyone may make of a CA's public certificate."""
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    key = ec.generate_private_key(ec.SECP256R1())
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, cn)]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=90))
            .add_extension(x509.AuthorityKeyIdentifier(ski.digest, None, None), False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_a_forged_certificate_imported_naming_a_ca_does_not_hold_it(admin, space):
    # Linked to the CA by its names (imports are not signature-checked), it made the CA
    # ask for ?override=true as if the CA had signed it (black-box review 8, F5).
    ns = fresh(admin, space)
    root = mk_ca(admin, ns)
    inter = mk_ca(admin, ns, parentID=root["ID"])
    forged = admin.ok(admin.post("/certificates", {"certificate": forged_by(inter["certificate"])},
                                 ns=ns))
    assert forged["issuerCertificateID"] == inter["certificateID"]  # linked by its names
    r = admin.delete("/certificateauthorities/" + inter["ID"], ns=ns)
    assert r.status == 200, r
    # what the root really signed still holds it
    assert_error(admin.delete("/certificateauthorities/" + root["ID"], ns=ns), 422)


def test_certificate_requests_are_not_deletable(admin, space):
    # A request is the CA's record of what it issued: OCSP answers from it, and the CA is
    # protected while it holds unexpired ones (docs/issuance.md). Deleting one made a valid
    # certificate "unknown" to OCSP and let its CA be deleted without override.
    ns = fresh(admin, space)
    ca = mk_ca(admin, ns)
    tpl = mk_template(admin, ns, ca["ID"])
    req = issue(admin, ns, tpl["ID"], csr=make_csr(dns=["keep.test.example"])[0])
    r = admin.delete("/certificaterequests/" + req["ID"], ns=ns)
    assert r.status == 405, r
    assert admin.get("/certificaterequests/" + req["ID"], ns=ns).status == 200
    assert_error(admin.delete("/certificateauthorities/" + ca["ID"], ns=ns), 422)


def test_no_intermediate_under_an_expired_parent(admin, space):
    # Without `validity` the intermediate's end is clipped to its parent's: an expired
    # parent made a 500 (a black-box review). It is 422 on parentID, as a leaf's is.
    ns = fresh(admin, space)
    root = mk_ca(admin, ns, validity="2s")
    time.sleep(2.5)
    for body in ({}, {"validity": "1h"}):
        r = create(admin, ns, parentID=root["ID"], **body)
        assert attr_of(r) == "parentID" and "expired" in r.data[0]["description"], r


def test_validity_end_is_that_of_the_certificate(admin, space):
    ca = mk_ca(admin, space, validity="48h")
    assert 46 < hours_left(ca["certificate"]) <= 48.1


def test_import_of_a_ca_relying_parties_refuse_is_refused(admin, space, tmp_path):
    """A second look imported a P-256 CA whose key had explicit curve parameters, and an
    intermediate signed with SHA-1: both issued leaves that `openssl verify` refused
    ("explicit ECC parameters", "CA signature digest algorithm too weak"). Both are 422
    on certificate; a self-signed root's own SHA-1 signature, which nobody relies on, is
    not held against it."""
    import subprocess

    def ossl(*args):
        subprocess.run(["openssl"] + list(args), cwd=tmp_path, check=True,
                       capture_output=True)

    ca_ext = ["-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
    ns = fresh(admin, space)
    n = count(admin, "certificateauthorities", ns)
    ossl("ecparam", "-name", "prime256v1", "-param_enc", "explicit", "-genkey", "-noout",
         "-out", "x.key")
    ossl("req", "-x509", "-new", "-key", "x.key", "-subj", "/CN=Explicit", "-days", "30",
         "-out", "x.pem", *ca_ext)
    ossl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "r.key")
    ossl("req", "-x509", "-new", "-key", "r.key", "-subj", "/CN=SHA1 Root", "-days", "30",
         "-sha1", "-out", "r.pem", *ca_ext)
    ossl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "i.key")
    ossl("req", "-new", "-key", "i.key", "-subj", "/CN=SHA1 Intermediate", "-out", "i.csr")
    (tmp_path / "ext").write_text("basicConstraints=critical,CA:TRUE\n"
                                  "keyUsage=critical,keyCertSign,cRLSign\n")
    ossl("x509", "-req", "-in", "i.csr", "-CA", "r.pem", "-CAkey", "r.key", "-sha1",
         "-days", "20", "-set_serial", "7", "-extfile", "ext", "-out", "i.pem")
    for cert, key, why in (("x.pem", "x.key", "curve's name"), ("i.pem", "i.key", "weak")):
        r = admin.post("/certificateauthorities", {
            "name": "rp-" + rand(6), "certificate": (tmp_path / cert).read_text(),
            "privateKey": (tmp_path / key).read_text()}, ns=ns)
        e = assert_error(r, 422)
        assert e["data"]["attribute"] == "certificate" and why in e["description"], e
    assert count(admin, "certificateauthorities", ns) == n
    admin.ok(admin.post("/certificateauthorities", {
        "name": "sha1-root-" + rand(6), "certificate": (tmp_path / "r.pem").read_text(),
        "privateKey": (tmp_path / "r.key").read_text()}, ns=ns))
